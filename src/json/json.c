/* SPDX-License-Identifier: MIT
 *
 * Tape access in C. The tape is simdjson's documented DOM layout
 * (doc/tape.md): one 64-bit word per value, the type in the top byte; a
 * number's value in the following word; strings as a 32-bit little-endian
 * length plus bytes in the string buffer; '{' and '[' carry the index just
 * past their matching close in the low 32 bits and a saturating count in
 * bits 32..55.
 */
#include "json/json.h"

#include <string.h>

#define TYPE(w) ((unsigned)((w) >> 56))
#define PAYLOAD(w) ((w) & 0x00FFFFFFFFFFFFFFull)

static uint64_t word(msx_json v) { return v.t->tape[v.i]; }

static uint32_t after(const struct msx_json_tape *t, uint32_t i)
{
    uint64_t w = t->tape[i];
    switch (TYPE(w)) {
    case '{':
    case '[':
        return (uint32_t)w;
    case 'l':
    case 'u':
    case 'd':
        return i + 2;
    default:
        return i + 1;
    }
}

enum msx_json_type msx_json_type(msx_json v)
{
    if (!v.t)
        return MSX_JSON_NONE;
    switch (TYPE(word(v))) {
    case 'n': return MSX_JSON_NULL;
    case 'f': return MSX_JSON_FALSE;
    case 't': return MSX_JSON_TRUE;
    case 'l': return MSX_JSON_INT;
    case 'u': return MSX_JSON_UINT;
    case 'd': return MSX_JSON_DOUBLE;
    case '"': return MSX_JSON_STRING;
    case '[': return MSX_JSON_ARRAY;
    case '{': return MSX_JSON_OBJECT;
    default: return MSX_JSON_NONE;
    }
}

bool msx_json_is_null_or_none(msx_json v)
{
    enum msx_json_type ty = msx_json_type(v);
    return ty == MSX_JSON_NONE || ty == MSX_JSON_NULL;
}

static uint64_t next_word(msx_json v) { return v.t->tape[v.i + 1]; }

bool msx_json_int64(msx_json v, int64_t *out)
{
    switch (msx_json_type(v)) {
    case MSX_JSON_INT:
        *out = (int64_t)next_word(v);
        return true;
    default:
        return false; /* UINT is > INT64_MAX by construction */
    }
}

bool msx_json_uint64(msx_json v, uint64_t *out)
{
    switch (msx_json_type(v)) {
    case MSX_JSON_UINT:
        *out = next_word(v);
        return true;
    case MSX_JSON_INT: {
        int64_t i = (int64_t)next_word(v);
        if (i < 0)
            return false;
        *out = (uint64_t)i;
        return true;
    }
    default:
        return false;
    }
}

bool msx_json_double(msx_json v, double *out)
{
    uint64_t w;
    switch (msx_json_type(v)) {
    case MSX_JSON_INT:
        *out = (double)(int64_t)next_word(v);
        return true;
    case MSX_JSON_UINT:
        *out = (double)next_word(v);
        return true;
    case MSX_JSON_DOUBLE:
        w = next_word(v);
        memcpy(out, &w, sizeof *out);
        return true;
    default:
        return false;
    }
}

/* Strict decimal int64 parse: optional '-', digits only, no overflow. */
static bool parse_i64(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (n && s[0] == '-') {
        neg = true;
        i = 1;
    }
    if (i == n)
        return false;
    uint64_t acc = 0;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9)
            return false;
        if (acc > (limit - d) / 10)
            return false;
        acc = acc * 10 + d;
    }
    if (neg)
        *out = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
    else
        *out = (int64_t)acc;
    return true;
}

bool msx_json_int64_lenient(msx_json v, int64_t *out)
{
    if (msx_json_int64(v, out))
        return true;
    if (msx_json_type(v) == MSX_JSON_STRING) {
        ms_str s = msx_json_str(v);
        return parse_i64(s.ptr, s.len, out);
    }
    return false;
}

bool msx_json_bool(msx_json v, bool *out)
{
    switch (msx_json_type(v)) {
    case MSX_JSON_TRUE: *out = true; return true;
    case MSX_JSON_FALSE: *out = false; return true;
    default: return false;
    }
}

ms_str msx_json_str(msx_json v)
{
    ms_str s = {NULL, 0};
    if (msx_json_type(v) != MSX_JSON_STRING)
        return s;
    const uint8_t *p = v.t->strings + PAYLOAD(word(v));
    uint32_t n;
    memcpy(&n, p, sizeof n); /* little endian on every target simdjson supports */
    s.ptr = (const char *)p + 4;
    s.len = n;
    return s;
}

bool msx_json_str_eq(msx_json v, const char *s)
{
    ms_str a = msx_json_str(v);
    size_t n = strlen(s);
    return a.ptr && a.len == n && memcmp(a.ptr, s, n) == 0;
}

size_t msx_json_count(msx_json v)
{
    enum msx_json_type ty = msx_json_type(v);
    if (ty != MSX_JSON_ARRAY && ty != MSX_JSON_OBJECT)
        return 0;
    uint32_t c = (uint32_t)((word(v) >> 32) & 0xFFFFFF);
    if (c < 0xFFFFFF)
        return c;
    size_t n = 0; /* saturated: count by hand */
    struct msx_json_iter it = msx_json_iter_init(v);
    ms_str k;
    msx_json e;
    while (msx_json_next(&it, &k, &e))
        n++;
    return n;
}

struct msx_json_iter msx_json_iter_init(msx_json v)
{
    struct msx_json_iter it = {NULL, 0, 0, false};
    enum msx_json_type ty = msx_json_type(v);
    if (ty != MSX_JSON_ARRAY && ty != MSX_JSON_OBJECT)
        return it;
    it.t = v.t;
    it.i = v.i + 1;
    it.end = (uint32_t)word(v) - 1; /* index of the closing bracket */
    it.is_object = ty == MSX_JSON_OBJECT;
    return it;
}

bool msx_json_next(struct msx_json_iter *it, ms_str *key, msx_json *val)
{
    if (!it->t || it->i >= it->end)
        return false;
    if (it->is_object) {
        msx_json k = {it->t, it->i};
        *key = msx_json_str(k);
        it->i++;
    } else {
        key->ptr = NULL;
        key->len = 0;
    }
    val->t = it->t;
    val->i = it->i;
    it->i = after(it->t, it->i);
    return true;
}

msx_json msx_json_getn(msx_json obj, const char *key, size_t keylen)
{
    msx_json none = {NULL, 0};
    if (msx_json_type(obj) != MSX_JSON_OBJECT)
        return none;
    struct msx_json_iter it = msx_json_iter_init(obj);
    ms_str k;
    msx_json v;
    while (msx_json_next(&it, &k, &v))
        if (k.len == keylen && memcmp(k.ptr, key, keylen) == 0)
            return v;
    return none;
}

msx_json msx_json_get(msx_json obj, const char *key)
{
    return msx_json_getn(obj, key, strlen(key));
}

msx_json msx_json_at(msx_json arr, size_t i)
{
    msx_json none = {NULL, 0};
    if (msx_json_type(arr) != MSX_JSON_ARRAY)
        return none;
    struct msx_json_iter it = msx_json_iter_init(arr);
    ms_str k;
    msx_json v;
    while (msx_json_next(&it, &k, &v))
        if (i-- == 0)
            return v;
    return none;
}
