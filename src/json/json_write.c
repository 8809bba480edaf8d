/* SPDX-License-Identifier: MIT
 *
 * msx_jw: see json_write.h. Containers open lazily: "{" is written at once
 * but the newline and indent only before the first member, so empty
 * containers come out as {} and [] like Python's.
 */
#include "json/json_write.h"

#include "util/utf8.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void msx_jw_init(struct msx_jw *w, struct msx_buf *out, unsigned flags)
{
    w->out = out;
    w->flags = flags;
    w->depth = 0;
    w->need_comma = false;
    w->after_key = false;
}

static void newline(struct msx_jw *w)
{
    if (!(w->flags & MSX_JW_PRETTY))
        return;
    msx_buf_addc(w->out, '\n');
    for (int i = 0; i < w->depth; i++)
        msx_buf_add(w->out, "  ", 2);
}

/* Separator before a value or key at the current level. */
static void before_item(struct msx_jw *w)
{
    /* Never write what no JSON reader here can read back: simdjson counts
     * a value inside MSX_JSON_MAX_DEPTH containers as one level too deep. */
    if (w->depth >= MSX_JSON_MAX_DEPTH && w->out->status == MS_OK)
        w->out->status = MS_E_TOOBIG;
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->need_comma)
        msx_buf_addc(w->out, ',');
    if (!(w->flags & MSX_JW_PRETTY) && w->need_comma)
        msx_buf_addc(w->out, ' ');
    if (w->depth > 0)
        newline(w);
}

static void open(struct msx_jw *w, char c)
{
    before_item(w);
    msx_buf_addc(w->out, c);
    w->depth++;
    w->need_comma = false;
}

static void close(struct msx_jw *w, char c)
{
    w->depth--;
    if (w->need_comma)
        newline(w);
    msx_buf_addc(w->out, c);
    w->need_comma = true;
}

void msx_jw_obj_begin(struct msx_jw *w) { open(w, '{'); }
void msx_jw_obj_end(struct msx_jw *w) { close(w, '}'); }
void msx_jw_arr_begin(struct msx_jw *w) { open(w, '['); }
void msx_jw_arr_end(struct msx_jw *w) { close(w, ']'); }

static void put_u(struct msx_buf *out, unsigned cp)
{
    static const char hex[] = "0123456789abcdef";
    char b[6] = {'\\', 'u', hex[(cp >> 12) & 15], hex[(cp >> 8) & 15], hex[(cp >> 4) & 15],
                 hex[cp & 15]};
    msx_buf_add(out, b, 6);
}

void msx_json_escape(struct msx_buf *out, const char *str, size_t n, bool ascii)
{
    if (n == 0)
        return;
    const unsigned char *s = (const unsigned char *)str;
    size_t run = 0; /* start of a run of bytes copied as is */
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
            i++;
            continue;
        }
        if (c >= 0x80 && !ascii) {
            unsigned cp;
            size_t len = msx_utf8_decode(s, n, i, &cp);
            if (len) {
                i += len;
                continue;
            }
        }
        msx_buf_add(out, s + run, i - run);
        switch (c) {
        case '"': msx_buf_add(out, "\\\"", 2); i++; break;
        case '\\': msx_buf_add(out, "\\\\", 2); i++; break;
        case '\n': msx_buf_add(out, "\\n", 2); i++; break;
        case '\r': msx_buf_add(out, "\\r", 2); i++; break;
        case '\t': msx_buf_add(out, "\\t", 2); i++; break;
        case '\b': msx_buf_add(out, "\\b", 2); i++; break;
        case '\f': msx_buf_add(out, "\\f", 2); i++; break;
        default:
            if (c < 0x80) {
                if (c == 0x7F && !ascii)
                    msx_buf_addc(out, 0x7F);
                else
                    put_u(out, c);
                i++;
            } else {
                unsigned cp;
                size_t len = msx_utf8_decode(s, n, i, &cp);
                if (!len) {
                    /* invalid byte: U+FFFD, never the raw byte */
                    if (ascii)
                        put_u(out, 0xFFFD);
                    else
                        msx_buf_add(out, "\xEF\xBF\xBD", 3);
                    i++;
                } else {
                    if (cp >= 0x10000) {
                        cp -= 0x10000;
                        put_u(out, 0xD800 | (cp >> 10));
                        put_u(out, 0xDC00 | (cp & 0x3FF));
                    } else
                        put_u(out, cp);
                    i += len;
                }
            }
        }
        run = i;
    }
    msx_buf_add(out, s + run, n - run);
}

void msx_jw_key(struct msx_jw *w, const char *k, size_t n)
{
    before_item(w);
    msx_buf_addc(w->out, '"');
    msx_json_escape(w->out, k, n, w->flags & MSX_JW_ASCII);
    msx_buf_add(w->out, "\": ", 3);
    w->after_key = true;
    w->need_comma = true;
}

void msx_jw_keyz(struct msx_jw *w, const char *k) { msx_jw_key(w, k, strlen(k)); }

static void scalar_begin(struct msx_jw *w)
{
    before_item(w);
    w->need_comma = true;
}

void msx_jw_str(struct msx_jw *w, const char *s, size_t n)
{
    scalar_begin(w);
    msx_buf_addc(w->out, '"');
    msx_json_escape(w->out, s, n, w->flags & MSX_JW_ASCII);
    msx_buf_addc(w->out, '"');
}

void msx_jw_strz(struct msx_jw *w, const char *s) { msx_jw_str(w, s, strlen(s)); }

void msx_jw_int(struct msx_jw *w, int64_t v)
{
    scalar_begin(w);
    msx_buf_addf(w->out, "%lld", (long long)v);
}

void msx_jw_uint(struct msx_jw *w, uint64_t v)
{
    scalar_begin(w);
    msx_buf_addf(w->out, "%llu", (unsigned long long)v);
}

void msx_json_format_double(struct msx_buf *out, double v)
{
    if (isnan(v)) {
        msx_buf_adds(out, "NaN");
        return;
    }
    if (isinf(v)) {
        msx_buf_adds(out, v < 0 ? "-Infinity" : "Infinity");
        return;
    }
    /* shortest %.*e that reads back as v */
    char tmp[40];
    int prec;
    for (prec = 0; prec < 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    if (prec == 17)
        snprintf(tmp, sizeof tmp, "%.*e", 16, v);
    /* tmp = [-]d[.ddd]e[+-]XX */
    char digits[24];
    size_t nd = 0;
    const char *p = tmp;
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    int exp = (int)strtol(p + 1, NULL, 10);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    if (neg)
        msx_buf_addc(out, '-');
    if (exp < -4 || exp >= 16) {
        msx_buf_addc(out, digits[0]);
        if (nd > 1) {
            msx_buf_addc(out, '.');
            msx_buf_add(out, digits + 1, nd - 1);
        }
        msx_buf_addf(out, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    } else if (exp < 0) {
        msx_buf_add(out, "0.", 2);
        for (int i = -1; i > exp; i--)
            msx_buf_addc(out, '0');
        msx_buf_add(out, digits, nd);
    } else {
        size_t intd = (size_t)exp + 1;
        for (size_t i = 0; i < intd; i++)
            msx_buf_addc(out, i < nd ? digits[i] : '0');
        msx_buf_addc(out, '.');
        if (nd > intd)
            msx_buf_add(out, digits + intd, nd - intd);
        else
            msx_buf_addc(out, '0');
    }
}

void msx_jw_double(struct msx_jw *w, double v)
{
    scalar_begin(w);
    msx_json_format_double(w->out, v);
}

void msx_jw_bool(struct msx_jw *w, bool v)
{
    scalar_begin(w);
    msx_buf_adds(w->out, v ? "true" : "false");
}

void msx_jw_null(struct msx_jw *w)
{
    scalar_begin(w);
    msx_buf_add(w->out, "null", 4);
}

void msx_jw_value(struct msx_jw *w, msx_json v)
{
    int64_t i;
    uint64_t u;
    double d;
    ms_str s;
    switch (msx_json_type(v)) {
    case MSX_JSON_NONE:
    case MSX_JSON_NULL: msx_jw_null(w); break;
    case MSX_JSON_FALSE: msx_jw_bool(w, false); break;
    case MSX_JSON_TRUE: msx_jw_bool(w, true); break;
    case MSX_JSON_INT: msx_json_int64(v, &i); msx_jw_int(w, i); break;
    case MSX_JSON_UINT: msx_json_uint64(v, &u); msx_jw_uint(w, u); break;
    case MSX_JSON_DOUBLE: msx_json_double(v, &d); msx_jw_double(w, d); break;
    case MSX_JSON_STRING: s = msx_json_str(v); msx_jw_str(w, s.ptr, s.len); break;
    case MSX_JSON_ARRAY:
    case MSX_JSON_OBJECT: {
        bool obj = msx_json_type(v) == MSX_JSON_OBJECT;
        if (obj)
            msx_jw_obj_begin(w);
        else
            msx_jw_arr_begin(w);
        struct msx_json_iter it = msx_json_iter_init(v);
        ms_str k;
        msx_json e;
        while (msx_json_next(&it, &k, &e)) {
            if (obj)
                msx_jw_key(w, k.ptr, k.len);
            msx_jw_value(w, e);
        }
        if (obj)
            msx_jw_obj_end(w);
        else
            msx_jw_arr_end(w);
        break;
    }
    }
}
