/* SPDX-License-Identifier: MIT
 *
 * A strict JSON validator in plain C (RFC 8259 plus UTF-8 checking). It is
 * the slow path: simdjson parses, and only when simdjson refuses a document
 * do we run this to name the first bad byte. It also splits a buffer of
 * concatenated documents (exported pages, JSON Lines). Iterative, with an
 * explicit stack bounded by MSX_JSON_MAX_DEPTH.
 */
#include "json/json.h"
#include "util/utf8.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static size_t skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The code unit of a \uXXXX escape at s[i], or -1. */
static long read_u4(const char *s, size_t n, size_t i)
{
    long v = 0;
    for (size_t k = 2; k < 6; k++) {
        int h = i + k < n ? hexval(s[i + k]) : -1;
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* s[i] == '"'. Returns index past the closing quote, or sets *bad. */
static size_t scan_string(const char *s, size_t n, size_t i, size_t *bad, const char **msg)
{
    const unsigned char *u = (const unsigned char *)s;
    i++;
    while (i < n) {
        unsigned c = u[i];
        if (c == '"')
            return i + 1;
        if (c == '\\') {
            if (i + 1 >= n)
                break;
            char e = s[i + 1];
            if (e == 'u') {
                long cp = read_u4(s, n, i);
                if (cp < 0) {
                    *bad = i;
                    *msg = "invalid \\u escape in string";
                    return 0;
                }
                if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    *bad = i;
                    *msg = "lone low surrogate in string";
                    return 0;
                }
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    /* a high surrogate must be followed by a low one */
                    long lo = i + 7 < n && s[i + 6] == '\\' && s[i + 7] == 'u' ? read_u4(s, n, i + 6) : -1;
                    if (lo < 0xDC00 || lo > 0xDFFF) {
                        *bad = i;
                        *msg = "lone high surrogate in string";
                        return 0;
                    }
                    i += 6;
                }
                i += 6;
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || e == '\0') {
                *bad = i;
                *msg = "invalid escape in string";
                return 0;
            }
            i += 2;
            continue;
        }
        if (c < 0x20) {
            *bad = i;
            *msg = "control character in string";
            return 0;
        }
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len = msx_utf8_decode(u, n, i, NULL);
        if (!len) {
            *bad = i;
            *msg = "invalid utf-8";
            return 0;
        }
        i += len;
    }
    *bad = n;
    *msg = "unterminated string";
    return 0;
}

/* simdjson's rule: an integer literal must fit int64 (or uint64 when not
 * negative); any other number must be a finite double. */
static bool number_in_range(const char *s, size_t n)
{
    bool is_int = !memchr(s, '.', n) && !memchr(s, 'e', n) && !memchr(s, 'E', n);
    if (is_int) {
        bool neg = s[0] == '-';
        const char *d = s + neg;
        size_t nd = n - neg;
        const char *limit = neg ? "9223372036854775808" : "18446744073709551615";
        size_t nl = strlen(limit);
        return nd < nl || (nd == nl && memcmp(d, limit, nl) <= 0);
    }
    char small[128];
    char *buf = n < sizeof small ? small : malloc(n + 1);
    if (!buf)
        return true; /* cannot tell; simdjson decides */
    memcpy(buf, s, n);
    buf[n] = '\0';
    double v = strtod(buf, NULL);
    if (buf != small)
        free(buf);
    return isfinite(v);
}

static size_t scan_number(const char *s, size_t n, size_t i, size_t *bad, const char **msg)
{
    size_t start = i;
    if (i < n && s[i] == '-')
        i++;
    if (i >= n || s[i] < '0' || s[i] > '9')
        goto fail;
    if (s[i] == '0')
        i++;
    else
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || s[i] < '0' || s[i] > '9')
            goto fail;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || s[i] < '0' || s[i] > '9')
            goto fail;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (!number_in_range(s + start, i - start)) {
        *bad = start;
        *msg = "number out of range";
        return 0;
    }
    return i;
fail:
    *bad = i < n ? i : n;
    *msg = "invalid number";
    return 0;
}

int msx_json_skip_value(const char *s, size_t n, size_t start, size_t *end, size_t *offset,
                        const char **msg)
{
    char stack[MSX_JSON_MAX_DEPTH];
    size_t depth = 0;
    size_t i = skip_ws(s, n, start);
    size_t bad = 0;
    /* state: expecting a value (possibly the first of a container) */
    for (;;) {
        /* ---- parse a value at i ---- */
        i = skip_ws(s, n, i);
        if (i >= n) {
            *offset = n;
            *msg = depth ? "unexpected end of input" : "empty input";
            return 0;
        }
        char c = s[i];
        if (depth >= MSX_JSON_MAX_DEPTH) {
            /* simdjson counts the value itself as a level */
            *offset = i;
            *msg = "nesting too deep";
            return 0;
        }
        if (c == '{' || c == '[') {
            stack[depth++] = c;
            i = skip_ws(s, n, i + 1);
            if (i < n && s[i] == (c == '{' ? '}' : ']')) {
                depth--;
                i++;
                goto after_value;
            }
            if (c == '{')
                goto object_key;
            continue;
        } else if (c == '"') {
            i = scan_string(s, n, i, &bad, msg);
            if (!i)
                goto fail;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            i = scan_number(s, n, i, &bad, msg);
            if (!i)
                goto fail;
        } else if (c == 't' || c == 'f' || c == 'n') {
            const char *lit = c == 't' ? "true" : c == 'f' ? "false" : "null";
            size_t ln = strlen(lit);
            if (n - i < ln || memcmp(s + i, lit, ln) != 0) {
                bad = i;
                *msg = "invalid literal";
                goto fail;
            }
            i += ln;
        } else {
            bad = i;
            if (n - i >= 3 && memcmp(s + i, "\xEF\xBB\xBF", 3) == 0)
                *msg = "unexpected byte order mark";
            else
                *msg = (unsigned char)c >= 0x80 ? "unexpected byte" : "expected a value";
            goto fail;
        }
    after_value:
        if (depth == 0) {
            *end = i;
            return 1;
        }
        i = skip_ws(s, n, i);
        if (i >= n) {
            *offset = n;
            *msg = "unexpected end of input";
            return 0;
        }
        if (s[i] == ',') {
            i++;
            if (stack[depth - 1] == '{')
                goto object_key;
            continue;
        }
        if (s[i] == (stack[depth - 1] == '{' ? '}' : ']')) {
            depth--;
            i++;
            goto after_value;
        }
        bad = i;
        *msg = stack[depth - 1] == '{' ? "expected ',' or '}'" : "expected ',' or ']'";
        goto fail;
    object_key:
        i = skip_ws(s, n, i);
        if (i >= n) {
            *offset = n;
            *msg = "unexpected end of input";
            return 0;
        }
        if (s[i] != '"') {
            bad = i;
            *msg = "expected a string key";
            goto fail;
        }
        i = scan_string(s, n, i, &bad, msg);
        if (!i)
            goto fail;
        i = skip_ws(s, n, i);
        if (i >= n || s[i] != ':') {
            bad = i < n ? i : n;
            *msg = i < n ? "expected ':'" : "unexpected end of input";
            goto fail;
        }
        i++;
    }
fail:
    *offset = bad;
    return 0;
}

int msx_json_check(const char *buf, size_t len, size_t *offset, const char **msg)
{
    size_t end;
    if (!msx_json_skip_value(buf, len, 0, &end, offset, msg))
        return 0;
    end = skip_ws(buf, len, end);
    if (end != len) {
        *offset = end;
        *msg = "unexpected content after the document";
        return 0;
    }
    return 1;
}
