/* SPDX-License-Identifier: MIT
 *
 * Fuzz target for the JSON reader and writer (src/json/).
 *
 * 1. Differential: simdjson (msx_json_parse) and the pure-C validator
 *    (msx_json_check) must agree on whether the input is JSON. The only
 *    accepted disagreement is "simdjson rejects, the checker accepts", and
 *    only for the documented differences found by probing simdjson 3.0.1:
 *      - a \u escape that is a lone surrogate (\ud800 not followed by a low
 *        surrogate escape, or a lone \udc00..\udfff): simdjson refuses it;
 *      - a number outside what simdjson stores: an integer below INT64_MIN
 *        or above UINT64_MAX, or a float that overflows to infinity (1e400);
 *      - exactly MSX_JSON_MAX_DEPTH nested containers with a scalar inside:
 *        simdjson counts the scalar as a level, the checker does not.
 *    "simdjson accepts, the checker rejects" is always a bug. Both sides
 *    rejecting must give an error offset inside the input.
 * 2. Round trip: the parsed tree is walked (counts, at(), get(), iteration
 *    must agree), written with msx_jw compact and in MSX_JW_PYTHON style,
 *    and each output is parsed again and compared with the tree: same
 *    types and keys; int64/uint64 exact; doubles bit-equal (or both NaN);
 *    strings byte-equal whenever they are valid UTF-8.
 * Any disagreement calls abort(). Depends on json/ and util/ only.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "json/json_write.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "fuzz_json: check failed at line %d: %s\n", __LINE__, #cond); \
            abort();                                                                  \
        }                                                                             \
    } while (0)

/* ---- the documented differences --------------------------------------- */

static int hex4(const uint8_t *s, size_t n, size_t i)
{
    if (i + 4 > n)
        return -1;
    int v = 0;
    for (size_t k = 0; k < 4; k++) {
        int c = s[i + k], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Is the number token s[0..n) (valid per the checker) one simdjson refuses? */
static bool number_out_of_range(const char *s, size_t n)
{
    char tmp[64];
    bool is_int = memchr(s, '.', n) == NULL && memchr(s, 'e', n) == NULL &&
                  memchr(s, 'E', n) == NULL;
    if (is_int) {
        bool neg = s[0] == '-';
        size_t digits = n - neg;
        if (digits > 20)
            return true;
        if (digits < 19)
            return false;
        /* compare against the bounds as text of equal length */
        const char *lim = neg ? "9223372036854775808" : "18446744073709551615";
        size_t ln = strlen(lim);
        if (digits != ln)
            return digits > ln;
        return memcmp(s + neg, lim, ln) > 0;
    }
    /* a float: does it overflow? strtod needs a NUL-terminated copy */
    char *copy = n < sizeof tmp ? tmp : malloc(n + 1);
    if (!copy)
        abort();
    memcpy(copy, s, n);
    copy[n] = '\0';
    double d = strtod(copy, NULL);
    if (copy != tmp)
        free(copy);
    return isinf(d);
}

/* Scans a document the checker accepted; true if it holds one of the
 * differences listed at the top. */
static bool has_known_difference(const uint8_t *s, size_t n)
{
    int depth = 0, max_depth = 0;
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        if (c == '"') {
            for (i++; i < n && s[i] != '"';) {
                if (s[i] != '\\') {
                    i++;
                    continue;
                }
                if (i + 1 < n && s[i + 1] == 'u') {
                    int cp = hex4(s, n, i + 2);
                    i += 6;
                    if (cp >= 0xDC00 && cp <= 0xDFFF)
                        return true; /* lone low surrogate */
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        int lo = (i + 1 < n && s[i] == '\\' && s[i + 1] == 'u') ? hex4(s, n, i + 2)
                                                                                  : -1;
                        if (lo < 0xDC00 || lo > 0xDFFF)
                            return true; /* lone high surrogate */
                        i += 6;
                    }
                } else
                    i += 2;
            }
            i++;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t start = i;
            while (i < n && (s[i] == '-' || s[i] == '+' || s[i] == '.' || s[i] == 'e' ||
                             s[i] == 'E' || (s[i] >= '0' && s[i] <= '9')))
                i++;
            if (number_out_of_range((const char *)s + start, i - start))
                return true;
        } else {
            if (c == '[' || c == '{') {
                if (++depth > max_depth)
                    max_depth = depth;
            } else if (c == ']' || c == '}')
                depth--;
            i++;
        }
    }
    return max_depth >= MSX_JSON_MAX_DEPTH;
}

/* ---- the tree walk and comparison ------------------------------------- */

static bool utf8_valid(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t need;
        unsigned lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            lo = c == 0xE0 ? 0xA0 : 0x80;
            hi = c == 0xED ? 0x9F : 0xBF;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF;
        } else
            return false;
        if (n - i <= need || s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= need; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
        i += need + 1;
    }
    return true;
}

static void check_str_equal(ms_str a, ms_str b)
{
    CHECK(a.ptr && b.ptr);
    CHECK(a.ptr[a.len] == '\0' && b.ptr[b.len] == '\0');
    if (utf8_valid((const uint8_t *)a.ptr, a.len)) {
        CHECK(a.len == b.len);
        CHECK(memcmp(a.ptr, b.ptr, a.len) == 0);
    } else {
        /* the writer replaced the bad bytes with U+FFFD */
        CHECK(utf8_valid((const uint8_t *)b.ptr, b.len));
    }
}

static void check_equal(msx_json a, msx_json b, int depth)
{
    CHECK(depth <= MSX_JSON_MAX_DEPTH + 1);
    enum msx_json_type ta = msx_json_type(a), tb = msx_json_type(b);
    CHECK(ta == tb);
    switch (ta) {
    case MSX_JSON_INT: {
        int64_t x, y;
        CHECK(msx_json_int64(a, &x) && msx_json_int64(b, &y) && x == y);
        break;
    }
    case MSX_JSON_UINT: {
        uint64_t x, y;
        CHECK(msx_json_uint64(a, &x) && msx_json_uint64(b, &y) && x == y);
        CHECK(x > (uint64_t)INT64_MAX);
        break;
    }
    case MSX_JSON_DOUBLE: {
        double x, y;
        CHECK(msx_json_double(a, &x) && msx_json_double(b, &y));
        CHECK((isnan(x) && isnan(y)) || memcmp(&x, &y, sizeof x) == 0);
        break;
    }
    case MSX_JSON_STRING:
        check_str_equal(msx_json_str(a), msx_json_str(b));
        break;
    case MSX_JSON_ARRAY:
    case MSX_JSON_OBJECT: {
        CHECK(msx_json_count(a) == msx_json_count(b));
        struct msx_json_iter ia = msx_json_iter_init(a), ib = msx_json_iter_init(b);
        ms_str ka, kb;
        msx_json va, vb;
        for (;;) {
            bool more_a = msx_json_next(&ia, &ka, &va);
            bool more_b = msx_json_next(&ib, &kb, &vb);
            CHECK(more_a == more_b);
            if (!more_a)
                break;
            if (ta == MSX_JSON_OBJECT)
                check_str_equal(ka, kb);
            else
                CHECK(!ka.ptr && !kb.ptr);
            check_equal(va, vb, depth + 1);
        }
        break;
    }
    default:
        break;
    }
}

/* Reference for msx_json_int64_lenient on a string: optional '-', then
 * only digits (leading zeros allowed), within int64. Compared as text. */
static bool ref_int64(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = n > 0 && s[0] == '-';
    i = neg;
    if (i == n)
        return false;
    for (size_t k = i; k < n; k++)
        if (s[k] < '0' || s[k] > '9')
            return false;
    while (i + 1 < n && s[i] == '0')
        i++;
    size_t nd = n - i;
    const char *lim = neg ? "9223372036854775808" : "9223372036854775807";
    if (nd > 19 || (nd == 19 && memcmp(s + i, lim, 19) > 0))
        return false;
    uint64_t acc = 0;
    for (; i < n; i++)
        acc = acc * 10 + (uint64_t)(s[i] - '0');
    *out = neg ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc) : (int64_t)acc;
    return true;
}

/* Walks every value once: the accessors must agree with each other. */
static size_t walk(msx_json v, int depth)
{
    size_t nodes = 1;
    CHECK(depth <= MSX_JSON_MAX_DEPTH + 1);
    enum msx_json_type ty = msx_json_type(v);
    CHECK(ty != MSX_JSON_NONE);
    int64_t i64;
    uint64_t u64;
    double d;
    bool b;
    CHECK(msx_json_double(v, &d) == (ty == MSX_JSON_INT || ty == MSX_JSON_UINT ||
                                     ty == MSX_JSON_DOUBLE));
    CHECK(msx_json_bool(v, &b) == (ty == MSX_JSON_TRUE || ty == MSX_JSON_FALSE));
    CHECK(msx_json_is_null_or_none(v) == (ty == MSX_JSON_NULL));
    if (msx_json_int64(v, &i64))
        CHECK(ty == MSX_JSON_INT);
    if (ty == MSX_JSON_UINT)
        CHECK(msx_json_uint64(v, &u64) && u64 > (uint64_t)INT64_MAX);
    if (ty == MSX_JSON_STRING) {
        ms_str s = msx_json_str(v);
        int64_t want = 0;
        bool ok = ref_int64(s.ptr, s.len, &want);
        bool got_ok = msx_json_int64_lenient(v, &i64);
        CHECK(ok == got_ok);
        if (ok)
            CHECK(i64 == want);
    }
    if (ty == MSX_JSON_ARRAY || ty == MSX_JSON_OBJECT) {
        struct msx_json_iter it = msx_json_iter_init(v);
        ms_str k;
        msx_json e;
        size_t n = 0;
        while (msx_json_next(&it, &k, &e)) {
            if (ty == MSX_JSON_OBJECT) {
                CHECK(k.ptr != NULL);
                /* get() finds the first member with this key: at or before e */
                msx_json g = msx_json_getn(v, k.ptr, k.len);
                CHECK(msx_json_ok(g) && g.i <= e.i);
            } else if (n < 64) {
                msx_json at = msx_json_at(v, n);
                CHECK(msx_json_ok(at) && at.i == e.i);
            }
            nodes += walk(e, depth + 1);
            n++;
        }
        CHECK(n == msx_json_count(v));
        if (ty == MSX_JSON_ARRAY)
            CHECK(!msx_json_ok(msx_json_at(v, n)));
    } else
        CHECK(msx_json_count(v) == 0);
    return nodes;
}

static void round_trip(msx_json root, unsigned flags)
{
    struct msx_buf out;
    struct msx_jw w;
    msx_buf_init(&out, MSX_CAP_OUTPUT);
    msx_jw_init(&w, &out, flags);
    msx_jw_value(&w, root);
    CHECK(msx_buf_status(&out) == MS_OK);
    size_t off = 0;
    const char *msg = NULL;
    if (!msx_json_check(out.ptr, out.len, &off, &msg)) {
        fprintf(stderr, "fuzz_json: writer output (flags %u) invalid at %zu: %s\n", flags, off,
                msg);
        abort();
    }
    if (flags & MSX_JW_ASCII)
        for (size_t i = 0; i < out.len; i++)
            CHECK((unsigned char)out.ptr[i] < 0x80);
    msx_json_parser *p = msx_json_parser_new();
    CHECK(p != NULL);
    msx_json again;
    struct ms_error err;
    ms_code rc = msx_json_parse(p, out.ptr, out.len, false, &again, &err);
    if (rc != MS_OK) {
        fprintf(stderr, "fuzz_json: writer output (flags %u) does not re-parse: %s\n", flags,
                err.msg);
        abort();
    }
    check_equal(root, again, 0);
    msx_json_parser_free(p);
    msx_buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + MSX_JSON_PADDING);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    memset(buf + size, 0, MSX_JSON_PADDING);

    msx_json_parser *p = msx_json_parser_new();
    CHECK(p != NULL);
    msx_json root;
    struct ms_error err = {MS_OK, -1, ""};
    ms_code rc = msx_json_parse(p, buf, size, true, &root, &err);
    size_t off = 0;
    const char *msg = NULL;
    int checker_ok = msx_json_check((const char *)data, size, &off, &msg);

    if (rc == MS_OK) {
        if (!checker_ok) {
            fprintf(stderr, "fuzz_json: simdjson accepts, checker rejects at %zu: %s\n", off, msg);
            abort();
        }
        size_t nodes = walk(root, 0);
        CHECK(nodes >= 1);
        round_trip(root, 0);
        round_trip(root, MSX_JW_PYTHON);
        round_trip(root, MSX_JW_ASCII);
    } else if (rc == MS_E_PARSE) {
        CHECK(err.code == MS_E_PARSE && err.msg[0] != '\0');
        if (checker_ok) {
            if (!has_known_difference(data, size)) {
                fprintf(stderr, "fuzz_json: simdjson rejects (%s), checker accepts\n", err.msg);
                abort();
            }
        } else {
            CHECK(off <= size);
            CHECK(err.offset == (int64_t)off);
        }
    } else {
        CHECK(rc == MS_E_NOMEM || rc == MS_E_TOOBIG);
    }
    msx_json_parser_free(p);
    free(buf);
    return 0;
}
