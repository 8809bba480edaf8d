/* SPDX-License-Identifier: MIT
 *
 * Unit tests for src/json/json.h: value types, exact int64/uint64 edges,
 * int64 sent as digit strings, strings with NUL and UTF-8, objects and
 * arrays, parse errors with the offset of the first bad byte, and the C
 * scanner on concatenated documents.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "json/json.h"
#include "testutil.h"

static int setup(void **state)
{
    msx_json_parser *p = msx_json_parser_new();
    if (!p)
        return -1;
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    msx_json_parser_free(*state);
    return 0;
}

/* Parses a NUL-terminated literal; fails the test on error. */
static msx_json parse_ok(msx_json_parser *p, const char *text, size_t len)
{
    msx_json root;
    struct ms_error err = {MS_OK, 0, ""};
    ms_code rc = msx_json_parse(p, text, len, false, &root, &err);
    if (rc != MS_OK)
        fail_msg("parse of %.80s failed: %s at %lld", text, err.msg, (long long)err.offset);
    return root;
}

#define PARSE(p, lit) parse_ok((p), (lit), sizeof(lit) - 1)

static void test_types(void **state)
{
    msx_json_parser *p = *state;
    static const struct {
        const char *text;
        enum msx_json_type type;
    } cases[] = {
        {"null", MSX_JSON_NULL},       {"false", MSX_JSON_FALSE},
        {"true", MSX_JSON_TRUE},       {"0", MSX_JSON_INT},
        {"-0", MSX_JSON_INT},          {"42", MSX_JSON_INT},
        {"1.0", MSX_JSON_DOUBLE},      {"1e2", MSX_JSON_DOUBLE},
        {"-0.0", MSX_JSON_DOUBLE},     {"9223372036854775808", MSX_JSON_UINT},
        {"\"s\"", MSX_JSON_STRING},    {"\"\"", MSX_JSON_STRING},
        {"[]", MSX_JSON_ARRAY},        {"{}", MSX_JSON_OBJECT},
        {" \t\r\n[1] \n", MSX_JSON_ARRAY},
    };
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        msx_json v = parse_ok(p, cases[i].text, strlen(cases[i].text));
        if (msx_json_type(v) != cases[i].type)
            fail_msg("%s: type %d, want %d", cases[i].text, msx_json_type(v), cases[i].type);
        TU_TRUE(cases[i].text, msx_json_ok(v));
        TU_TRUE(cases[i].text,
                msx_json_is_null_or_none(v) == (cases[i].type == MSX_JSON_NULL));
    }
    bool b = false;
    assert_true(msx_json_bool(PARSE(p, "true"), &b));
    assert_true(b);
    assert_true(msx_json_bool(PARSE(p, "false"), &b));
    assert_false(b);
    assert_false(msx_json_bool(PARSE(p, "0"), &b));
    assert_false(msx_json_bool(PARSE(p, "\"true\""), &b));
    /* a NONE value */
    msx_json none = {NULL, 0};
    assert_int_equal(msx_json_type(none), MSX_JSON_NONE);
    assert_false(msx_json_ok(none));
    assert_true(msx_json_is_null_or_none(none));
    assert_int_equal(msx_json_count(none), 0);
    assert_null(msx_json_str(none).ptr);
}

/* Exact integers at the int64/uint64 edges; never through a double. */
struct num_case {
    const char *text;
    enum msx_json_type type;
    bool has_i;
    int64_t i;
    bool has_u;
    uint64_t u;
    double d;
};

static void test_int_edges(void **state)
{
    msx_json_parser *p = *state;
    static const struct num_case cases[] = {
        {"9223372036854775807", MSX_JSON_INT, true, INT64_MAX, true, 9223372036854775807ULL,
         9223372036854775807.0},
        {"-9223372036854775808", MSX_JSON_INT, true, INT64_MIN, false, 0,
         -9223372036854775808.0},
        {"9007199254740993", MSX_JSON_INT, true, 9007199254740993LL, true, 9007199254740993ULL,
         9007199254740992.0},
        {"1733450000123456789", MSX_JSON_INT, true, 1733450000123456789LL, true,
         1733450000123456789ULL, 1733450000123456789.0},
        {"-1", MSX_JSON_INT, true, -1, false, 0, -1.0},
        {"0", MSX_JSON_INT, true, 0, true, 0, 0.0},
        {"9223372036854775808", MSX_JSON_UINT, false, 0, true, 9223372036854775808ULL,
         9223372036854775808.0},
        {"18446744073709551615", MSX_JSON_UINT, false, 0, true, UINT64_MAX,
         18446744073709551615.0},
        {"2.5", MSX_JSON_DOUBLE, false, 0, false, 0, 2.5},
        {"1e2", MSX_JSON_DOUBLE, false, 0, false, 0, 100.0},
        {"-0.0", MSX_JSON_DOUBLE, false, 0, false, 0, -0.0},
        {"1.7976931348623157e308", MSX_JSON_DOUBLE, false, 0, false, 0, 1.7976931348623157e308},
    };
    for (size_t c = 0; c < TU_COUNT(cases); c++) {
        const struct num_case *k = &cases[c];
        msx_json v = parse_ok(p, k->text, strlen(k->text));
        if (msx_json_type(v) != k->type)
            fail_msg("%s: type %d, want %d", k->text, msx_json_type(v), k->type);
        int64_t i = 7;
        uint64_t u = 7;
        double d = 7;
        bool got_i = msx_json_int64(v, &i), got_u = msx_json_uint64(v, &u);
        if (got_i != k->has_i || (got_i && i != k->i))
            fail_msg("%s: int64 %d %lld", k->text, got_i, (long long)i);
        if (got_u != k->has_u || (got_u && u != k->u))
            fail_msg("%s: uint64 %d %llu", k->text, got_u, (unsigned long long)u);
        TU_TRUE(k->text, msx_json_double(v, &d));
        if (memcmp(&d, &k->d, sizeof d) != 0) /* bitwise: -0.0 is not 0.0 */
            fail_msg("%s: double %.17g, want %.17g", k->text, d, k->d);
    }
    /* inside a document, next to other values */
    msx_json v = PARSE(p, "[9223372036854775807,-9223372036854775808,18446744073709551615]");
    int64_t i;
    uint64_t u;
    assert_true(msx_json_int64(msx_json_at(v, 0), &i));
    assert_true(i == INT64_MAX);
    assert_true(msx_json_int64(msx_json_at(v, 1), &i));
    assert_true(i == INT64_MIN);
    assert_true(msx_json_uint64(msx_json_at(v, 2), &u));
    assert_true(u == UINT64_MAX);
    /* non-numbers are not numbers */
    double d;
    assert_false(msx_json_double(PARSE(p, "\"1\""), &d));
    assert_false(msx_json_int64(PARSE(p, "true"), &i));
    assert_false(msx_json_uint64(PARSE(p, "null"), &u));
}

/* simdjson 3.0.1 refuses integers that need more than 64 bits (it does not
 * fall back to a double): MS_E_PARSE. */
static void test_int_too_big(void **state)
{
    msx_json_parser *p = *state;
    static const char *cases[] = {
        "18446744073709551616",
        "-9223372036854775809",
        "123456789012345678901234567890",
        "[1, 18446744073709551616]",
    };
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        msx_json root;
        struct ms_error err = {MS_OK, 0, ""};
        ms_code rc = msx_json_parse(p, cases[i], strlen(cases[i]), false, &root, &err);
        if (rc != MS_E_PARSE || err.code != MS_E_PARSE)
            fail_msg("%s: rc %d code %d", cases[i], rc, err.code);
    }
}

/* int64 given as a JSON number or as a string of digits. */
struct lenient_case {
    const char *text;
    bool ok;
    int64_t v;
};

static void test_int64_lenient(void **state)
{
    msx_json_parser *p = *state;
    static const struct lenient_case cases[] = {
        {"\"1733450000123456789\"", true, 1733450000123456789LL},
        {"\"-1\"", true, -1},
        {"\"0\"", true, 0},
        {"\"-0\"", true, 0},
        {"\"007\"", true, 7},
        {"\"9223372036854775807\"", true, INT64_MAX},
        {"\"-9223372036854775808\"", true, INT64_MIN},
        {"1733450000123456789", true, 1733450000123456789LL},
        {"-42", true, -42},
        {"\"1.0\"", false, 0},
        {"\" 1\"", false, 0},
        {"\"1 \"", false, 0},
        {"\"\"", false, 0},
        {"\"+1\"", false, 0},
        {"\"-\"", false, 0},
        {"\"--1\"", false, 0},
        {"\"1e3\"", false, 0},
        {"\"0x10\"", false, 0},
        {"\"9223372036854775808\"", false, 0},
        {"\"-9223372036854775809\"", false, 0},
        {"\"18446744073709551616\"", false, 0},
        {"\"99999999999999999999\"", false, 0},
        {"\"1\\u00002\"", false, 0},
        {"\"\xd9\xa1\"", false, 0}, /* ARABIC-INDIC DIGIT ONE */
        {"1.0", false, 0},
        {"9223372036854775808", false, 0},
        {"true", false, 0},
        {"null", false, 0},
        {"[1]", false, 0},
        {"{\"a\":1}", false, 0},
    };
    for (size_t c = 0; c < TU_COUNT(cases); c++) {
        msx_json v = parse_ok(p, cases[c].text, strlen(cases[c].text));
        int64_t x = 12345;
        bool ok = msx_json_int64_lenient(v, &x);
        if (ok != cases[c].ok)
            fail_msg("%s: %s", cases[c].text, ok ? "accepted" : "rejected");
        if (ok)
            tu_i64_eq(cases[c].text, x, cases[c].v);
    }
}

struct str_case {
    const char *text;
    const char *bytes;
    size_t len;
};

static void test_strings(void **state)
{
    msx_json_parser *p = *state;
    static const struct str_case cases[] = {
        {"\"a\\u0000b\"", "a\0b", 3},
        {"\"\\u0000\"", "\0", 1},
        {"\"\\u00e9\"", "\xc3\xa9", 2},
        {"\"\xc3\xa9\"", "\xc3\xa9", 2},
        {"\"\\ud83c\\udf89\"", "\xf0\x9f\x8e\x89", 4},
        {"\"\xf0\x9f\x8e\x89\"", "\xf0\x9f\x8e\x89", 4},
        {"\"\\u2028\"", "\xe2\x80\xa8", 3},
        {"\"\\n\\t\\r\\b\\f\\\"\\\\\\/\"", "\n\t\r\b\f\"\\/", 8},
        {"\"\"", "", 0},
        {"\"<b>&amp;</b>\"", "<b>&amp;</b>", 12},
    };
    for (size_t c = 0; c < TU_COUNT(cases); c++) {
        msx_json v = parse_ok(p, cases[c].text, strlen(cases[c].text));
        ms_str s = msx_json_str(v);
        TU_TRUE(cases[c].text, s.ptr != NULL);
        tu_mem_eq(cases[c].text, s.ptr, s.len, cases[c].bytes, cases[c].len);
        TU_TRUE(cases[c].text, s.ptr[s.len] == '\0');
    }
    msx_json v = PARSE(p, "\"a\\u0000b\"");
    assert_false(msx_json_str_eq(v, "a"));
    assert_false(msx_json_str_eq(v, "ab"));
    v = PARSE(p, "\"abc\"");
    assert_true(msx_json_str_eq(v, "abc"));
    assert_false(msx_json_str_eq(v, "ab"));
    assert_false(msx_json_str_eq(v, "abcd"));
    v = PARSE(p, "1");
    assert_false(msx_json_str_eq(v, "1"));
    assert_null(msx_json_str(v).ptr);
    assert_int_equal(msx_json_str(v).len, 0);
    /* a long string (> 64 KiB) keeps its exact length */
    size_t n = 100000;
    char *big = malloc(n + 3);
    assert_non_null(big);
    big[0] = '"';
    for (size_t i = 0; i < n; i++)
        big[i + 1] = (char)('a' + i % 26);
    big[n + 1] = '"';
    big[n + 2] = '\0';
    v = parse_ok(p, big, n + 2);
    ms_str s = msx_json_str(v);
    assert_int_equal(s.len, n);
    assert_memory_equal(s.ptr, big + 1, n);
    free(big);
}

static void test_objects(void **state)
{
    msx_json_parser *p = *state;
    msx_json root = PARSE(p, "{\"a\":1,\"b\":{\"c\":[10,20,{\"d\":\"x\"}]},\"a\":2,"
                             "\"e\\u0000f\":3,\"\":4,\"n\":null}");
    assert_int_equal(msx_json_type(root), MSX_JSON_OBJECT);
    assert_int_equal(msx_json_count(root), 6); /* duplicate keys both count */
    int64_t i;
    assert_true(msx_json_int64(msx_json_get(root, "a"), &i));
    assert_int_equal(i, 1); /* first match */
    assert_true(msx_json_int64(msx_json_getn(root, "e\0f", 3), &i));
    assert_int_equal(i, 3);
    assert_false(msx_json_ok(msx_json_get(root, "e"))); /* no prefix match */
    assert_true(msx_json_int64(msx_json_get(root, ""), &i));
    assert_int_equal(i, 4);
    msx_json n = msx_json_get(root, "n");
    assert_true(msx_json_ok(n));
    assert_int_equal(msx_json_type(n), MSX_JSON_NULL);
    assert_true(msx_json_is_null_or_none(n));
    msx_json missing = msx_json_get(root, "missing");
    assert_false(msx_json_ok(missing));
    assert_int_equal(msx_json_type(missing), MSX_JSON_NONE);
    /* nested */
    msx_json c = msx_json_get(msx_json_get(root, "b"), "c");
    assert_int_equal(msx_json_type(c), MSX_JSON_ARRAY);
    assert_int_equal(msx_json_count(c), 3);
    assert_true(msx_json_int64(msx_json_at(c, 1), &i));
    assert_int_equal(i, 20);
    assert_true(msx_json_str_eq(msx_json_get(msx_json_at(c, 2), "d"), "x"));
    assert_false(msx_json_ok(msx_json_at(c, 3)));
    assert_false(msx_json_ok(msx_json_at(c, SIZE_MAX)));
    /* wrong container kinds give NONE */
    assert_false(msx_json_ok(msx_json_get(c, "d")));
    assert_false(msx_json_ok(msx_json_at(root, 0)));
    assert_false(msx_json_ok(msx_json_get(missing, "x")));
    assert_false(msx_json_ok(msx_json_get(msx_json_at(c, 0), "x")));
    /* iteration keeps document order and skips nested values whole */
    static const struct {
        const char *key;
        size_t keylen;
        enum msx_json_type type;
    } want[] = {{"a", 1, MSX_JSON_INT},   {"b", 1, MSX_JSON_OBJECT}, {"a", 1, MSX_JSON_INT},
                {"e\0f", 3, MSX_JSON_INT}, {"", 0, MSX_JSON_INT},    {"n", 1, MSX_JSON_NULL}};
    struct msx_json_iter it = msx_json_iter_init(root);
    ms_str k;
    msx_json v;
    size_t count = 0;
    while (msx_json_next(&it, &k, &v)) {
        assert_true(count < TU_COUNT(want));
        tu_mem_eq("key", k.ptr, k.len, want[count].key, want[count].keylen);
        assert_int_equal(msx_json_type(v), want[count].type);
        count++;
    }
    assert_int_equal(count, TU_COUNT(want));
    assert_false(msx_json_next(&it, &k, &v)); /* stays finished */
    /* array iteration: keys are {NULL,0} */
    it = msx_json_iter_init(c);
    count = 0;
    while (msx_json_next(&it, &k, &v)) {
        assert_null(k.ptr);
        assert_int_equal(k.len, 0);
        count++;
    }
    assert_int_equal(count, 3);
    /* iterating a scalar or an empty container yields nothing */
    it = msx_json_iter_init(msx_json_get(root, "a"));
    assert_false(msx_json_next(&it, &k, &v));
    root = PARSE(p, "[{}, [], [[]], {\"x\":{}}]");
    assert_int_equal(msx_json_count(root), 4);
    size_t want_counts[] = {0, 0, 1, 1};
    for (size_t e = 0; e < 4; e++) {
        msx_json el = msx_json_at(root, e);
        assert_int_equal(msx_json_count(el), want_counts[e]);
        it = msx_json_iter_init(el);
        size_t seen = 0;
        while (msx_json_next(&it, &k, &v))
            seen++;
        assert_int_equal(seen, want_counts[e]);
    }
    assert_int_equal(msx_json_count(PARSE(p, "\"abc\"")), 0);
    assert_int_equal(msx_json_count(PARSE(p, "5")), 0);
}

/* Counts above 16 bits and above the 2^16 / 2^20 boundaries. */
static void test_large_counts(void **state)
{
    msx_json_parser *p = *state;
    static const size_t sizes[] = {65535, 65536, 70000, 1048577};
    for (size_t c = 0; c < TU_COUNT(sizes); c++) {
        size_t n = sizes[c];
        for (int obj = 0; obj < 2; obj++) {
            struct {
                char *p;
                size_t len, cap;
            } b = {malloc(n * 32 + 16), 0, n * 32 + 16};
            assert_non_null(b.p);
            b.p[b.len++] = obj ? '{' : '[';
            for (size_t i = 0; i < n; i++) {
                if (obj)
                    b.len += (size_t)snprintf(b.p + b.len, b.cap - b.len, "%s\"k%zu\":%zu",
                                              i ? "," : "", i, i);
                else
                    b.len += (size_t)snprintf(b.p + b.len, b.cap - b.len, "%s%zu",
                                              i ? "," : "", i);
            }
            b.p[b.len++] = obj ? '}' : ']';
            msx_json v = parse_ok(p, b.p, b.len);
            if (msx_json_count(v) != n)
                fail_msg("%s of %zu: count %zu", obj ? "object" : "array", n,
                         msx_json_count(v));
            int64_t last;
            if (obj) {
                char key[32];
                snprintf(key, sizeof key, "k%zu", n - 1);
                assert_true(msx_json_int64(msx_json_get(v, key), &last));
            } else {
                assert_true(msx_json_int64(msx_json_at(v, n - 1), &last));
            }
            assert_int_equal(last, (int64_t)(n - 1));
            free(b.p);
        }
    }
}

/* A second parse on the same parser replaces the first document. */
static void test_parser_reuse_and_padding(void **state)
{
    msx_json_parser *p = *state;
    msx_json a = PARSE(p, "{\"x\": \"first\"}");
    assert_true(msx_json_str_eq(msx_json_get(a, "x"), "first"));
    msx_json b = PARSE(p, "[1, 2, 3, \"second\"]");
    assert_true(msx_json_str_eq(msx_json_at(b, 3), "second"));
    /* padded input: the caller promises MSX_JSON_PADDING readable bytes */
    const char *text = "{\"k\": [true, false, null]}";
    size_t n = strlen(text);
    char *buf = calloc(1, n + MSX_JSON_PADDING);
    assert_non_null(buf);
    memcpy(buf, text, n);
    msx_json root;
    assert_int_equal(msx_json_parse(p, buf, n, true, &root, NULL), MS_OK);
    assert_int_equal(msx_json_count(msx_json_get(root, "k")), 3);
    /* an error with a NULL ms_error is still reported */
    assert_int_equal(msx_json_parse(p, "[", 1, false, &root, NULL), MS_E_PARSE);
    /* and a good parse after an error works */
    assert_int_equal(msx_json_parse(p, buf, n, true, &root, NULL), MS_OK);
    free(buf);
}

/* Malformed input: MS_E_PARSE and the offset of the first bad byte. */
struct err_case {
    const char *text;
    size_t len; /* 0: strlen */
    int64_t offset;
};

static void run_err_cases(msx_json_parser *p, const struct err_case *cases, size_t count)
{
    for (size_t c = 0; c < count; c++) {
        size_t len = cases[c].len ? cases[c].len : strlen(cases[c].text);
        msx_json root;
        struct ms_error err = {MS_OK, -99, ""};
        ms_code rc = msx_json_parse(p, cases[c].text, len, false, &root, &err);
        if (rc != MS_E_PARSE || err.code != MS_E_PARSE)
            fail_msg("case %zu %.40s: rc %d code %d", c, cases[c].text, rc, err.code);
        if (err.offset != cases[c].offset)
            fail_msg("case %zu %.40s: offset %lld, want %lld (%s)", c, cases[c].text,
                     (long long)err.offset, (long long)cases[c].offset, err.msg);
        if (!err.msg[0])
            fail_msg("case %zu: empty message", c);
        /* the pure-C checker agrees */
        size_t off = 0;
        const char *msg = NULL;
        if (msx_json_check(cases[c].text, len, &off, &msg))
            fail_msg("case %zu: msx_json_check accepted it", c);
        if ((int64_t)off != cases[c].offset || !msg)
            fail_msg("case %zu: msx_json_check offset %zu", c, off);
    }
}

static void test_parse_errors(void **state)
{
    msx_json_parser *p = *state;
    static const struct err_case cases[] = {
        {"{\"a\": [1, 2", 0, 11},          /* truncated */
        {"", 0, 0},                        /* empty input */
        {"   ", 0, 3},                     /* only whitespace */
        {"\"ab\xff" "c\"", 0, 3},          /* invalid UTF-8 byte in a string */
        {"{\"k\": \"v\xc3\"}", 0, 8},      /* truncated 2-byte sequence */
        {"[\"\xed\xa0\x80\"]", 0, 2},      /* UTF-8 encoded surrogate */
        {"[\"\xc0\xaf\"]", 0, 2},          /* overlong */
        {"[\"\xf4\x90\x80\x80\"]", 0, 2},  /* above U+10FFFF */
        {"[\"\\x\"]", 0, 2},               /* bad escape: at its backslash */
        {"[\"\\u12g4\"]", 0, 2},           /* bad \u escape */
        {"[\"a\nb\"]", 0, 3},              /* raw control character */
        {"[\"\t\"]", 0, 2},
        {"[1] x", 0, 4},                   /* trailing garbage */
        {"{\"a\":1}}", 0, 7},
        {"[1]]", 0, 3},
        {"[1]\0", 4, 3},                   /* a NUL after the document */
        {"[1,]", 0, 3},
        {"{\"a\":1,}", 0, 7},
        {"{\"a\" 1}", 0, 5},
        {"{\"a\":", 0, 5},
        {"{1:2}", 0, 1},
        {"{\"a\":[1,2}", 0, 9},
        {"[1 2]", 0, 3},
        {"[tru]", 0, 1},
        {"nul", 0, 0},
        {"[01]", 0, 2},
        {"[1.]", 0, 3},
        {"[1e]", 0, 3},
        {"[1e+]", 0, 4},
        {"[-]", 0, 2},
        {"[.5]", 0, 1},
        {"[+1]", 0, 1},
        {"[NaN]", 0, 1},
        {"[1, \xff]", 0, 4},               /* invalid UTF-8 outside a string */
        {"\xef\xbb\xbf[1]", 0, 0},         /* a byte order mark */
        {"\"abc", 0, 4},                   /* unterminated string */
        {"'a'", 0, 0},
    };
    run_err_cases(p, cases, TU_COUNT(cases));
}

/* Nesting: 1024 levels parse, 1025 are refused at the 1025th bracket. */
static void test_depth(void **state)
{
    msx_json_parser *p = *state;
    for (size_t depth = 1024; depth <= 1025; depth++) {
        char *s = malloc(2 * depth + 1);
        assert_non_null(s);
        memset(s, '[', depth);
        memset(s + depth, ']', depth);
        s[2 * depth] = '\0';
        msx_json root;
        struct ms_error err = {MS_OK, -99, ""};
        ms_code rc = msx_json_parse(p, s, 2 * depth, false, &root, &err);
        free(s);
        if (depth == 1024) {
            assert_int_equal(rc, MS_OK);
            assert_int_equal(msx_json_count(root), 1);
        } else {
            assert_int_equal(rc, MS_E_PARSE);
            assert_int_equal(err.offset, 1024);
        }
    }
}

/* json.h promises "every parse error carries a byte offset", but these are
 * refused by simdjson only; the C checker accepts them, so the offset comes
 * back as -1. Expected: the offset of the offending token (the number, or
 * the backslash of the lone surrogate escape). */
static void test_parse_errors_simdjson_only(void **state)
{
    msx_json_parser *p = *state;
    static const struct err_case cases[] = {
        {"{\"a\": 18446744073709551616}", 0, 6}, /* integer beyond 64 bits */
        {"[-9223372036854775809]", 0, 1},
        {"[1e400]", 0, 1},                      /* double out of range */
        {"[\"\\ud800\"]", 0, 2},                /* lone high surrogate */
        {"[\"\\udc00x\"]", 0, 2},               /* lone low surrogate */
    };
    for (size_t c = 0; c < TU_COUNT(cases); c++) {
        msx_json root;
        struct ms_error err = {MS_OK, -99, ""};
        ms_code rc = msx_json_parse(p, cases[c].text, strlen(cases[c].text), false, &root, &err);
        if (rc != MS_E_PARSE)
            fail_msg("case %zu %s: rc %d", c, cases[c].text, rc);
        if (err.offset != cases[c].offset)
            fail_msg("case %zu %s: offset %lld, want %lld (%s)", c, cases[c].text,
                     (long long)err.offset, (long long)cases[c].offset, err.msg);
    }
}

/* msx_json_skip_value walks concatenated documents (pages, JSON Lines);
 * msx_json_check refuses them as one document. */
static void test_concatenated(void **state)
{
    (void)state;
    const char *buf = "{\"a\":1} [2,3]\n\"x\" 4 null{\"b\":[]}  ";
    size_t len = strlen(buf);
    static const size_t ends[] = {7, 13, 17, 19, 24, 32};
    size_t pos = 0;
    for (size_t i = 0; i < TU_COUNT(ends); i++) {
        size_t end = 0, off = 0;
        const char *msg = NULL;
        if (!msx_json_skip_value(buf, len, pos, &end, &off, &msg))
            fail_msg("doc %zu: %s at %zu", i, msg, off);
        if (end != ends[i])
            fail_msg("doc %zu: end %zu, want %zu", i, end, ends[i]);
        pos = end;
    }
    size_t end = 12345, off = 0;
    const char *msg = NULL;
    assert_int_equal(msx_json_skip_value(buf, len, pos, &end, &off, &msg), 0);
    assert_int_equal(off, len);
    assert_string_equal(msg, "empty input"); /* only whitespace left */
    assert_int_equal(end, 12345);            /* untouched on failure */

    assert_int_equal(msx_json_check(buf, len, &off, &msg), 0);
    assert_int_equal(off, 8);
    assert_string_equal(msg, "unexpected content after the document");

    assert_int_equal(msx_json_check("  [1]\n ", 7, &off, &msg), 1);
    assert_int_equal(msx_json_check("", 0, &off, &msg), 0);
    assert_int_equal(off, 0);
    assert_string_equal(msg, "empty input");

    /* an error inside the second document is found at its byte */
    const char *two = "[1]\n{\"a\": tru}\n";
    assert_int_equal(msx_json_skip_value(two, strlen(two), 0, &end, &off, &msg), 1);
    assert_int_equal(end, 3);
    assert_int_equal(msx_json_skip_value(two, strlen(two), end, &end, &off, &msg), 0);
    assert_int_equal(off, 10);
    assert_string_equal(msg, "invalid literal");

    /* JSON Lines of objects with nested strings holding brackets */
    const char *jl = "{\"s\":\"}]\\\"{\"}\n{\"t\":[\"[\"]}\n";
    assert_int_equal(msx_json_skip_value(jl, strlen(jl), 0, &end, &off, &msg), 1);
    assert_int_equal(end, 13);
    assert_int_equal(msx_json_skip_value(jl, strlen(jl), end, &end, &off, &msg), 1);
    assert_int_equal(end, 25);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_int_edges),
        cmocka_unit_test(test_int_too_big),
        cmocka_unit_test(test_int64_lenient),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_objects),
        cmocka_unit_test(test_large_counts),
        cmocka_unit_test(test_parser_reuse_and_padding),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_parse_errors_simdjson_only),
        cmocka_unit_test(test_concatenated),
    };
    return cmocka_run_group_tests_name("json", tests, setup, teardown);
}
