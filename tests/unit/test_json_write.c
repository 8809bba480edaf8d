/* SPDX-License-Identifier: MIT
 *
 * Unit tests for src/json/json_write.h. Every expected string was produced
 * once with Python 3 and pasted here:
 *   escaping:  json.dumps(s)[1:-1] (ensure_ascii=True) and
 *              json.dumps(s, ensure_ascii=False)[1:-1]
 *   doubles:   repr(x)
 *   documents: json.dumps(obj, indent=2) and json.dumps(obj, ensure_ascii=False)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>

#include "json/json_write.h"
#include "testutil.h"

struct esc_case {
    const char *in;
    size_t len;
    const char *ascii; /* json.dumps(s)[1:-1] */
    const char *utf8;  /* json.dumps(s, ensure_ascii=False)[1:-1] */
};

static const struct esc_case esc_cases[] = {
    {"plain text", 10, "plain text", "plain text"},
    {"\x00\x01\x1f", 3, "\\u0000\\u0001\\u001f", "\\u0000\\u0001\\u001f"},
    {"\x7f", 1, "\\u007f", "\x7f"},
    {"\xc3\xa9", 2, "\\u00e9", "\xc3\xa9"},
    {"\xf0\x9f\x8e\x89", 4, "\\ud83c\\udf89", "\xf0\x9f\x8e\x89"},
    {"\xe2\x80\xa8\xe2\x80\xa9", 6, "\\u2028\\u2029", "\xe2\x80\xa8\xe2\x80\xa9"},
    {"quote\" back\\ slash/", 19, "quote\\\" back\\\\ slash/", "quote\\\" back\\\\ slash/"},
    {"\x08\x0c\x0a\x0d\x09", 5, "\\b\\f\\n\\r\\t", "\\b\\f\\n\\r\\t"},
    {"mixed \xc3\xa9\xf0\x9f\x8e\x89\x00 end", 17, "mixed \\u00e9\\ud83c\\udf89\\u0000 end",
     "mixed \xc3\xa9\xf0\x9f\x8e\x89\\u0000 end"},
    {"", 0, "", ""},
    {"\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf", 9, "\\ud7ff\\ue000\\uffff",
     "\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf"},
    {"\xf4\x8f\xbf\xbf", 4, "\\udbff\\udfff", "\xf4\x8f\xbf\xbf"},
    {"<script>&'", 10, "<script>&'", "<script>&'"},
    {"\xc2\x80\xdf\xbf\xe0\xa0\x80", 7, "\\u0080\\u07ff\\u0800", "\xc2\x80\xdf\xbf\xe0\xa0\x80"},
    {"\x1b[31mred\x1b[0m", 12, "\\u001b[31mred\\u001b[0m", "\\u001b[31mred\\u001b[0m"},
};

/* Invalid UTF-8 becomes U+FFFD, one per bad byte here, never the raw byte
 * (Python's bytes.decode("utf-8", "replace") agrees on these inputs). */
static const struct esc_case bad_utf8_cases[] = {
    {"\xff", 1, "\\ufffd", "\xef\xbf\xbd"},
    {"a\x80" "b", 3, "a\\ufffdb", "a\xef\xbf\xbd" "b"},
    {"\xc0\xaf", 2, "\\ufffd\\ufffd", "\xef\xbf\xbd\xef\xbf\xbd"},
    {"\xed\xa0\x80", 3, "\\ufffd\\ufffd\\ufffd", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
    {"\xf5\x80", 2, "\\ufffd\\ufffd", "\xef\xbf\xbd\xef\xbf\xbd"},
    {"x\xc3", 2, "x\\ufffd", "x\xef\xbf\xbd"},
    {"\xc3(", 2, "\\ufffd(", "\xef\xbf\xbd("},
};

static void run_escape(const struct esc_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (int ascii = 0; ascii < 2; ascii++) {
            struct msx_buf b;
            char what[64];
            snprintf(what, sizeof what, "case %zu ascii=%d", i, ascii);
            msx_buf_init(&b, MSX_CAP_LINE);
            msx_buf_adds(&b, "<"); /* escape appends */
            msx_json_escape(&b, cases[i].in, cases[i].len, ascii);
            TU_TRUE(what, msx_buf_status(&b) == MS_OK);
            TU_TRUE(what, b.ptr[0] == '<');
            tu_str_eq(what, b.ptr + 1, b.len - 1, ascii ? cases[i].ascii : cases[i].utf8);
            msx_buf_release(&b);
        }
    }
}

static void test_escape(void **state)
{
    (void)state;
    run_escape(esc_cases, TU_COUNT(esc_cases));
}

static void test_escape_invalid_utf8(void **state)
{
    (void)state;
    run_escape(bad_utf8_cases, TU_COUNT(bad_utf8_cases));
}

/* msx_jw_str adds the quotes; keys are escaped the same way. */
static void test_str_and_key(void **state)
{
    (void)state;
    struct msx_buf b;
    struct msx_jw w;
    msx_buf_init(&b, MSX_CAP_LINE);
    msx_jw_init(&w, &b, MSX_JW_ASCII);
    msx_jw_obj_begin(&w);
    msx_jw_key(&w, "k\xc3\xa9\"\n", 5);
    msx_jw_str(&w, "v\0\xf0\x9f\x8e\x89", 6);
    msx_jw_keyz(&w, "n");
    msx_jw_int(&w, INT64_MIN);
    msx_jw_keyz(&w, "u");
    msx_jw_uint(&w, UINT64_MAX);
    msx_jw_keyz(&w, "d");
    msx_jw_double(&w, 1e16);
    msx_jw_obj_end(&w);
    /* json.dumps({"k\u00e9\"\n": "v\x00\U0001F389", "n": -2**63, "u": 2**64-1,
     *             "d": 1e16}) */
    tu_str_eq("object", b.ptr, b.len,
              "{\"k\\u00e9\\\"\\n\": \"v\\u0000\\ud83c\\udf89\", \"n\": -9223372036854775808, "
              "\"u\": 18446744073709551615, \"d\": 1e+16}");
    msx_buf_release(&b);
}

struct dbl_case {
    double v;
    const char *repr;
};

static void test_format_double(void **state)
{
    (void)state;
    static const struct dbl_case cases[] = {
        {0.1, "0.1"},
        {5.0, "5.0"},
        {1e-05, "1e-05"},
        {1e+16, "1e+16"},
        {1.5e+16, "1.5e+16"},
        {123456789012345.6, "123456789012345.6"},
        {0.0001, "0.0001"},
        {-0.0, "-0.0"},
        {0.0, "0.0"},
        {1e+22, "1e+22"},
        {2.5e-308, "2.5e-308"},
        {1.7976931348623157e+308, "1.7976931348623157e+308"},
        {0.30000000000000004, "0.30000000000000004"},
        {9999999999999998.0, "9999999999999998.0"},
        {1234567890123456.8, "1234567890123456.8"},
        {0.00012345, "0.00012345"},
        {1.2345e-05, "1.2345e-05"},
        {-1.5, "-1.5"},
        {100.0, "100.0"},
        {1000000000000000.0, "1000000000000000.0"},
        {1e+17, "1e+17"},
        {5e-324, "5e-324"},
        {2.2250738585072014e-308, "2.2250738585072014e-308"},
        {0.3333333333333333, "0.3333333333333333"},
        {0.6666666666666666, "0.6666666666666666"},
        {123.456, "123.456"},
        {-1e-07, "-1e-07"},
        {9007199254740992.0, "9007199254740992.0"},
        {4.35, "4.35"},
        {3.14159, "3.14159"},
        {1e+100, "1e+100"},
        {1e-100, "1e-100"},
        {1.2345678901234567e+19, "1.2345678901234567e+19"},
        {0.5, "0.5"},
        {9.223372036854776e+18, "9.223372036854776e+18"},
    };
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        struct msx_buf b;
        msx_buf_init(&b, 64);
        msx_json_format_double(&b, cases[i].v);
        tu_str_eq(cases[i].repr, b.ptr, b.len, cases[i].repr);
        msx_buf_release(&b);
    }
    /* json.dumps(float("nan")), float("inf"), float("-inf") */
    static const struct dbl_case special[] = {
        {NAN, "NaN"}, {INFINITY, "Infinity"}, {-INFINITY, "-Infinity"}};
    for (size_t i = 0; i < TU_COUNT(special); i++) {
        struct msx_buf b;
        msx_buf_init(&b, 64);
        msx_json_format_double(&b, special[i].v);
        tu_str_eq(special[i].repr, b.ptr, b.len, special[i].repr);
        msx_buf_release(&b);
    }
}

static const char doc_in[] = "{\"info\": {\"a\": [], \"b\": {}, \"n\": null, \"f\": 1.0, \"big\": 18446744073709551615, \"neg\": -9223372036854775808, \"e\": 1e-05, \"s\": \"\\u00e9\\ud83c\\udf89\\u0000\\u001f\\u007f\\\"\\\\/\"}, \"list\": [1, [2, [3, {}]], {\"k\": [true, false]}], \"x\": 0.1}";
static const char doc_pretty[] = "{\n"
    "  \"info\": {\n"
    "    \"a\": [],\n"
    "    \"b\": {},\n"
    "    \"n\": null,\n"
    "    \"f\": 1.0,\n"
    "    \"big\": 18446744073709551615,\n"
    "    \"neg\": -9223372036854775808,\n"
    "    \"e\": 1e-05,\n"
    "    \"s\": \"\\u00e9\\ud83c\\udf89\\u0000\\u001f\\u007f\\\"\\\\/\"\n"
    "  },\n"
    "  \"list\": [\n"
    "    1,\n"
    "    [\n"
    "      2,\n"
    "      [\n"
    "        3,\n"
    "        {}\n"
    "      ]\n"
    "    ],\n"
    "    {\n"
    "      \"k\": [\n"
    "        true,\n"
    "        false\n"
    "      ]\n"
    "    }\n"
    "  ],\n"
    "  \"x\": 0.1\n"
    "}";
static const char doc_compact[] = "{\"info\": {\"a\": [], \"b\": {}, \"n\": null, \"f\": 1.0, \"big\": 18446744073709551615, \"neg\": -9223372036854775808, \"e\": 1e-05, \"s\": \"\xc3\xa9\xf0\x9f\x8e\x89\\u0000\\u001f\x7f\\\"\\\\/\"}, \"list\": [1, [2, [3, {}]], {\"k\": [true, false]}], \"x\": 0.1}";
static const char built_pretty[] = "{\n"
    "  \"a\": {},\n"
    "  \"b\": [],\n"
    "  \"c\": [\n"
    "    1,\n"
    "    {\n"
    "      \"d\": []\n"
    "    },\n"
    "    [\n"
    "      []\n"
    "    ],\n"
    "    {\n"
    "      \"e\": {}\n"
    "    }\n"
    "  ],\n"
    "  \"f\": \"\\u00e9\\ud83c\\udf89\",\n"
    "  \"g\": null,\n"
    "  \"h\": true,\n"
    "  \"i\": 1.5,\n"
    "  \"j\": -9223372036854775808,\n"
    "  \"k\": 18446744073709551615,\n"
    "  \"l\": [\n"
    "    false,\n"
    "    0.1,\n"
    "    \"x\"\n"
    "  ]\n"
    "}";
static const char built_compact[] = "{\"a\": {}, \"b\": [], \"c\": [1, {\"d\": []}, [[]], {\"e\": {}}], \"f\": \"\xc3\xa9\xf0\x9f\x8e\x89\", \"g\": null, \"h\": true, \"i\": 1.5, \"j\": -9223372036854775808, \"k\": 18446744073709551615, \"l\": [false, 0.1, \"x\"]}";

static void build(struct msx_jw *w)
{
    msx_jw_obj_begin(w);
    msx_jw_keyz(w, "a");
    msx_jw_obj_begin(w);
    msx_jw_obj_end(w);
    msx_jw_keyz(w, "b");
    msx_jw_arr_begin(w);
    msx_jw_arr_end(w);
    msx_jw_keyz(w, "c");
    msx_jw_arr_begin(w);
    msx_jw_int(w, 1);
    msx_jw_obj_begin(w);
    msx_jw_keyz(w, "d");
    msx_jw_arr_begin(w);
    msx_jw_arr_end(w);
    msx_jw_obj_end(w);
    msx_jw_arr_begin(w);
    msx_jw_arr_begin(w);
    msx_jw_arr_end(w);
    msx_jw_arr_end(w);
    msx_jw_obj_begin(w);
    msx_jw_keyz(w, "e");
    msx_jw_obj_begin(w);
    msx_jw_obj_end(w);
    msx_jw_obj_end(w);
    msx_jw_arr_end(w);
    msx_jw_keyz(w, "f");
    msx_jw_strz(w, "\xc3\xa9\xf0\x9f\x8e\x89");
    msx_jw_keyz(w, "g");
    msx_jw_null(w);
    msx_jw_keyz(w, "h");
    msx_jw_bool(w, true);
    msx_jw_keyz(w, "i");
    msx_jw_double(w, 1.5);
    msx_jw_keyz(w, "j");
    msx_jw_int(w, INT64_MIN);
    msx_jw_keyz(w, "k");
    msx_jw_uint(w, UINT64_MAX);
    msx_jw_keyz(w, "l");
    msx_jw_arr_begin(w);
    msx_jw_bool(w, false);
    msx_jw_double(w, 0.1);
    msx_jw_strz(w, "x");
    msx_jw_arr_end(w);
    msx_jw_obj_end(w);
}

/* Writer calls: pretty (MSX_JW_PYTHON) equals json.dumps(obj, indent=2);
 * flags 0 equals json.dumps(obj, ensure_ascii=False). */
static void test_writer_styles(void **state)
{
    (void)state;
    static const struct {
        unsigned flags;
        const char *want;
    } styles[] = {{MSX_JW_PYTHON, built_pretty}, {0, built_compact}};
    for (size_t i = 0; i < TU_COUNT(styles); i++) {
        struct msx_buf b;
        struct msx_jw w;
        msx_buf_init(&b, MSX_CAP_LINE);
        msx_jw_init(&w, &b, styles[i].flags);
        build(&w);
        assert_int_equal(msx_buf_status(&b), MS_OK);
        tu_str_eq(i ? "compact" : "pretty", b.ptr, b.len, styles[i].want);
        msx_buf_release(&b);
    }
}

/* msx_jw_value of a parsed document, both styles. */
static void test_value_round_trip(void **state)
{
    (void)state;
    msx_json_parser *p = msx_json_parser_new();
    assert_non_null(p);
    msx_json root;
    assert_int_equal(msx_json_parse(p, doc_in, sizeof doc_in - 1, false, &root, NULL), MS_OK);
    static const struct {
        unsigned flags;
        const char *want;
    } styles[] = {{MSX_JW_PYTHON, doc_pretty}, {0, doc_compact}};
    for (size_t i = 0; i < TU_COUNT(styles); i++) {
        struct msx_buf b;
        struct msx_jw w;
        msx_buf_init(&b, MSX_CAP_LINE);
        msx_jw_init(&w, &b, styles[i].flags);
        msx_jw_value(&w, root);
        assert_int_equal(msx_buf_status(&b), MS_OK);
        tu_str_eq(i ? "compact" : "pretty", b.ptr, b.len, styles[i].want);
        msx_buf_release(&b);
    }
    msx_json_parser_free(p);
}

/* Top-level empty containers and scalars, pretty: json.dumps(x, indent=2). */
static void test_pretty_small(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *want;
    } cases[] = {
        {"{}", "{}"},
        {"[]", "[]"},
        {"[[]]", "[\n  []\n]"},
        {"[{}]", "[\n  {}\n]"},
        {"{\"a\":{\"b\":{}}}", "{\n  \"a\": {\n    \"b\": {}\n  }\n}"},
        {"[1,2]", "[\n  1,\n  2\n]"},
        {"\"x\"", "\"x\""},
        {"null", "null"},
        {"-0.0", "-0.0"},
        {"2.50", "2.5"},
        {"1E2", "100.0"},
    };
    msx_json_parser *p = msx_json_parser_new();
    assert_non_null(p);
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        msx_json root;
        assert_int_equal(msx_json_parse(p, cases[i].in, strlen(cases[i].in), false, &root, NULL),
                         MS_OK);
        struct msx_buf b;
        struct msx_jw w;
        msx_buf_init(&b, MSX_CAP_LINE);
        msx_jw_init(&w, &b, MSX_JW_PYTHON);
        msx_jw_value(&w, root);
        tu_str_eq(cases[i].in, b.ptr, b.len, cases[i].want);
        msx_buf_release(&b);
    }
    msx_json_parser_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_escape_invalid_utf8),
        cmocka_unit_test(test_str_and_key),
        cmocka_unit_test(test_format_double),
        cmocka_unit_test(test_writer_styles),
        cmocka_unit_test(test_value_round_trip),
        cmocka_unit_test(test_pretty_small),
    };
    return cmocka_run_group_tests_name("json_write", tests, NULL, NULL);
}
