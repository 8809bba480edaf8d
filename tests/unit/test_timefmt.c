/* SPDX-License-Identifier: MIT
 *
 * Unit tests for src/util/timefmt.h: RFC 3339 parse and format, exact in
 * int64 nanoseconds, and protobuf Duration JSON. Expected values were
 * computed with Python's datetime (UTC arithmetic on integers).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/timefmt.h"
#include "testutil.h"

struct parse_case {
    const char *in;
    int64_t ns;
};

static void test_rfc3339_parse(void **state)
{
    (void)state;
    static const struct parse_case cases[] = {
        {"2026-11-25T11:45:36.623Z", 1795607136623000000LL},
        {"2025-06-04T00:17:06.901Z", 1748996226901000000LL},
        {"2026-01-15T10:00:00Z", 1768471200000000000LL},            /* 0 digits */
        {"2026-01-15T10:00:00.123Z", 1768471200123000000LL},        /* 3 */
        {"2026-01-15T10:00:00.123456Z", 1768471200123456000LL},     /* 6 */
        {"2026-01-15T10:00:00.123456789Z", 1768471200123456789LL},  /* 9 */
        {"2026-01-15T10:00:00.1Z", 1768471200100000000LL},          /* 1 */
        {"2026-01-15T10:00:00.12345Z", 1768471200123450000LL},      /* 5 */
        {"2026-01-15T10:00:00.1234567891Z", 1768471200123456789LL}, /* 10: cut to ns */
        {"2026-01-15T12:00:00+02:00", 1768471200000000000LL},
        {"2026-01-15T05:30:00-05:30", 1768474800000000000LL},
        {"2026-01-16T00:30:00+14:00", 1768473000000000000LL},
        {"2026-01-15T10:00:00.123+00:00", 1768471200123000000LL},
        {"2026-01-15T10:00:00-00:00", 1768471200000000000LL},
        {"1970-01-01T00:00:00-00:01", 60000000000LL},
        {"1970-01-01T00:00:00Z", 0},
        {"1970-01-01T00:00:00.000000001Z", 1},
        {"1969-12-31T23:59:59.999Z", -1000000LL},
        {"1969-12-31T23:59:59.999999999Z", -1},
        {"1969-01-01T00:00:00Z", -31536000000000000LL},
        {"1900-01-01T00:00:00Z", -2208988800000000000LL},
        {"2024-02-29T12:00:00Z", 1709208000000000000LL},   /* leap day */
        {"2000-02-29T23:59:59.5Z", 951868799500000000LL}, /* leap day, 400-year rule */
        {"2026-01-15t10:00:00z", 1768471200000000000LL},  /* lower case */
        {"2026-01-15 10:00:00Z", 1768471200000000000LL},  /* space separator */
        {"2016-12-31T23:59:60Z", 1483228800000000000LL},  /* leap second = next second */
    };
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        int64_t ns = 12345;
        if (!msx_rfc3339_parse_ns(cases[i].in, strlen(cases[i].in), &ns))
            fail_msg("\"%s\" rejected", cases[i].in);
        tu_i64_eq(cases[i].in, ns, cases[i].ns);
    }
    /* only n bytes are read */
    const char *s = "2026-01-15T10:00:00Zgarbage";
    int64_t ns = 0;
    assert_true(msx_rfc3339_parse_ns(s, 20, &ns));
    assert_int_equal(ns, 1768471200000000000LL);
    assert_false(msx_rfc3339_parse_ns(s, 19, &ns));
}

static void test_rfc3339_bad(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "2026",
        "2026-01-15",
        "2026-01-15T10:00:00",        /* no zone */
        "2026-01-15T10:00:00.5",      /* no zone */
        "2026-13-01T00:00:00Z",
        "2026-00-10T00:00:00Z",
        "2026-01-00T00:00:00Z",
        "2026-01-32T00:00:00Z",
        "2026-01-15T24:00:00Z",
        "2026-01-15T10:60:00Z",
        "2026-01-15T10:00:61Z",
        "2026-01-15T10:00:00.Z",      /* empty fraction */
        "2026-01-15T10:00:00,5Z",
        "2026-01-15T10:00:00+0200",
        "2026-01-15T10:00:00+02:0",
        "2026-01-15T10:00:00+02",
        "2026-01-15T10:00:00+",
        "2026-01-15T10:00:00Zjunk",
        "2026-01-15T10:00:00Z ",
        " 2026-01-15T10:00:00Z",
        "2026/01/15T10:00:00Z",
        "2026-01-15X10:00:00Z",
        "-026-01-15T10:00:00Z",
        "+2026-01-15T10:00:00Z",
        "2026-1-15T10:00:00Z",
        "2026-01-15T1a:00:00Z",
        "2026-01-15T10:00:00.12a4Z",
        "2026-01-15T10:00:00+02:00Z",
    };
    for (size_t i = 0; i < TU_COUNT(bad); i++) {
        int64_t ns = 777;
        if (msx_rfc3339_parse_ns(bad[i], strlen(bad[i]), &ns))
            fail_msg("\"%s\" accepted as %lld", bad[i], (long long)ns);
    }
}

/* Dates that do not exist must be refused, not rolled into the next month
 * (2023-02-29 would silently become 2023-03-01), and offsets are hh 00-23,
 * mm 00-59 (RFC 3339 section 5.6). */
static void test_rfc3339_impossible_dates(void **state)
{
    (void)state;
    static const char *bad[] = {
        "2023-02-29T00:00:00Z", /* 2023 is not a leap year */
        "1900-02-29T00:00:00Z", /* 1900 is not a leap year */
        "2026-02-30T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-06-31T00:00:00Z",
        "2026-01-15T10:00:00+24:00",
        "2026-01-15T10:00:00+02:60",
    };
    for (size_t i = 0; i < TU_COUNT(bad); i++) {
        int64_t ns = 777;
        if (msx_rfc3339_parse_ns(bad[i], strlen(bad[i]), &ns))
            fail_msg("\"%s\" accepted as %lld", bad[i], (long long)ns);
    }
}

struct format_case {
    int64_t ns;
    const char *out;
};

static const struct format_case formats[] = {
    {0, "1970-01-01T00:00:00Z"},
    {1795607136623000000LL, "2026-11-25T11:45:36.623Z"},
    {1768471200123456000LL, "2026-01-15T10:00:00.123456Z"},
    {1768471200123456789LL, "2026-01-15T10:00:00.123456789Z"},
    {1768471200100000000LL, "2026-01-15T10:00:00.100Z"},
    {1768471200000001000LL, "2026-01-15T10:00:00.000001Z"},
    {1, "1970-01-01T00:00:00.000000001Z"},
    {-1000000LL, "1969-12-31T23:59:59.999Z"},
    {-1, "1969-12-31T23:59:59.999999999Z"},
    {-2208988800000000000LL, "1900-01-01T00:00:00Z"},
    {-31536000000000000LL, "1969-01-01T00:00:00Z"},
    {1709208000000000000LL, "2024-02-29T12:00:00Z"},
    {951868799500000000LL, "2000-02-29T23:59:59.500Z"},
    {1768473000000000000LL, "2026-01-15T10:30:00Z"},
    {INT64_MAX, "2262-04-11T23:47:16.854775807Z"},
    {INT64_MIN, "1677-09-21T00:12:43.145224192Z"},
};

static void test_rfc3339_format(void **state)
{
    (void)state;
    for (size_t i = 0; i < TU_COUNT(formats); i++) {
        struct msx_buf b;
        msx_buf_init(&b, 64);
        msx_rfc3339_format_ns(&b, formats[i].ns);
        assert_int_equal(msx_buf_status(&b), MS_OK);
        tu_str_eq(formats[i].out, b.ptr, b.len, formats[i].out);
        msx_buf_release(&b);
    }
}

/* format then parse gives the same ns (all but the two int64 extremes,
 * which test_rfc3339_extremes covers). */
static void test_rfc3339_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < TU_COUNT(formats); i++) {
        if (formats[i].ns == INT64_MAX || formats[i].ns == INT64_MIN)
            continue;
        int64_t ns = 0;
        assert_true(msx_rfc3339_parse_ns(formats[i].out, strlen(formats[i].out), &ns));
        tu_i64_eq(formats[i].out, ns, formats[i].ns);
    }
    /* a sweep of days across leap years and the epoch, at odd times */
    for (int64_t day = -800; day <= 800; day += 7) {
        int64_t want = day * 86400 * 1000000000LL * 47 + 123456789;
        struct msx_buf b;
        msx_buf_init(&b, 64);
        msx_rfc3339_format_ns(&b, want);
        int64_t got = 0;
        bool ok = msx_rfc3339_parse_ns(b.ptr, b.len, &got);
        if (!ok || got != want)
            fail_msg("%s: %s %lld, want %lld", b.ptr, ok ? "parsed as" : "rejected",
                     (long long)got, (long long)want);
        msx_buf_release(&b);
    }
}

/* The whole int64 range is representable as text and should read back;
 * one nanosecond past either end must not. */
static void test_rfc3339_extremes(void **state)
{
    (void)state;
    int64_t ns = 0;
    assert_true(msx_rfc3339_parse_ns("2262-04-11T23:47:16.854775807Z", 30, &ns));
    assert_true(ns == INT64_MAX);
    assert_true(msx_rfc3339_parse_ns("1677-09-21T00:12:43.145224192Z", 30, &ns));
    assert_true(ns == INT64_MIN);
    assert_true(msx_rfc3339_parse_ns("2262-04-11T23:47:16Z", 20, &ns));
    assert_true(ns == 9223372036000000000LL);
    assert_false(msx_rfc3339_parse_ns("2262-04-11T23:47:16.854775808Z", 30, &ns));
    assert_false(msx_rfc3339_parse_ns("1677-09-21T00:12:43.145224191Z", 30, &ns));
    assert_false(msx_rfc3339_parse_ns("9999-12-31T23:59:59Z", 20, &ns));
    assert_false(msx_rfc3339_parse_ns("0000-01-01T00:00:00Z", 20, &ns));
}

struct dur_case {
    const char *in;
    bool ok;
    int64_t ms;
};

static void test_duration(void **state)
{
    (void)state;
    static const struct dur_case cases[] = {
        {"1.840s", true, 1840},
        {"2s", true, 2000},
        {"0s", true, 0},
        {"0.000000001s", true, 0}, /* truncated to ms */
        {"0.001s", true, 1},
        {"0.0019s", true, 1},
        {"1.8409s", true, 1840},
        {"1.5s", true, 1500},
        {"-0.5s", true, -500},
        {"-1.840s", true, -1840},
        {"3600s", true, 3600000},
        {"10.000000000s", true, 10000},
        {"315576000000s", true, 315576000000000LL}, /* protobuf's max */
        {"", false, 0},
        {"s", false, 0},
        {"1.5", false, 0},
        {"1.5ms", false, 0},
        {"1 s", false, 0},
        {" 1s", false, 0},
        {"1s ", false, 0},
        {"1S", false, 0},
        {"+1s", false, 0},
        {".5s", false, 0},
        {"-s", false, 0},
        {"--1s", false, 0},
        {"1e3s", false, 0},
        {"1.2.3s", false, 0},
        {"abc", false, 0},
        {"99999999999999999999s", false, 0},
        {"9223372036854775807s", false, 0},
    };
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        int64_t ms = 4242;
        bool ok = msx_duration_parse_ms(cases[i].in, strlen(cases[i].in), &ms);
        if (ok != cases[i].ok)
            fail_msg("\"%s\": %s", cases[i].in, ok ? "accepted" : "rejected");
        if (ok)
            tu_i64_eq(cases[i].in, ms, cases[i].ms);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339_parse),
        cmocka_unit_test(test_rfc3339_bad),
        cmocka_unit_test(test_rfc3339_impossible_dates),
        cmocka_unit_test(test_rfc3339_format),
        cmocka_unit_test(test_rfc3339_round_trip),
        cmocka_unit_test(test_rfc3339_extremes),
        cmocka_unit_test(test_duration),
    };
    return cmocka_run_group_tests_name("timefmt", tests, NULL, NULL);
}
