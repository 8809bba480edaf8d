/* SPDX-License-Identifier: MIT
 *
 * Unit tests for src/util/buf.h: appends, long formatted appends, the cap
 * and its remembered first failure, take/release, reset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/buf.h"
#include "testutil.h"

/* Every append form yields the expected bytes, length and a NUL after them. */
static void test_appends(void **state)
{
    (void)state;
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_LINE);
    assert_int_equal(msx_buf_status(&b), MS_OK);
    assert_null(b.ptr);
    assert_int_equal(b.len, 0);

    msx_buf_add(&b, "ab", 2);
    tu_str_eq("add", b.ptr, b.len, "ab");
    msx_buf_addc(&b, 'c');
    tu_str_eq("addc", b.ptr, b.len, "abc");
    msx_buf_adds(&b, "def");
    tu_str_eq("adds", b.ptr, b.len, "abcdef");
    msx_buf_addf(&b, "-%d-%s-%05.1f", 42, "x", 2.5);
    tu_str_eq("addf", b.ptr, b.len, "abcdef-42-x-002.5");
    msx_buf_add(&b, "", 0);
    msx_buf_adds(&b, "");
    tu_str_eq("empty adds", b.ptr, b.len, "abcdef-42-x-002.5");
    /* embedded NUL bytes are kept; the contents stay NUL-terminated */
    msx_buf_add(&b, "\0z", 2);
    assert_int_equal(b.len, 19);
    assert_memory_equal(b.ptr + 17, "\0z\0", 3);
    assert_int_equal(msx_buf_status(&b), MS_OK);
    msx_buf_release(&b);
    assert_null(b.ptr);
    assert_int_equal(b.len, 0);
}

/* Many single-byte appends across several reallocations. */
static void test_addc_growth(void **state)
{
    (void)state;
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_LINE);
    for (int i = 0; i < 10000; i++)
        msx_buf_addc(&b, (char)('a' + i % 26));
    assert_int_equal(msx_buf_status(&b), MS_OK);
    assert_int_equal(b.len, 10000);
    assert_true(b.cap > b.len);
    assert_int_equal(b.ptr[10000], '\0');
    for (int i = 0; i < 10000; i++)
        if (b.ptr[i] != (char)('a' + i % 26))
            fail_msg("byte %d is %c", i, b.ptr[i]);
    msx_buf_release(&b);
}

/* addf output longer than the 256-byte stack scratch, at several lengths
 * around the boundary, into an empty and a non-empty buffer. */
static void test_addf_long(void **state)
{
    (void)state;
    static const size_t lens[] = {0, 1, 200, 254, 255, 256, 257, 300, 1000, 4095, 70000};
    char *src = malloc(70001);
    assert_non_null(src);
    for (size_t i = 0; i < 70000; i++)
        src[i] = (char)('A' + i % 23);
    src[70000] = '\0';
    for (size_t c = 0; c < TU_COUNT(lens); c++) {
        for (int prefix = 0; prefix < 2; prefix++) {
            size_t n = lens[c];
            struct msx_buf b;
            char what[64];
            snprintf(what, sizeof what, "len %zu prefix %d", n, prefix);
            msx_buf_init(&b, MSX_CAP_LINE);
            if (prefix)
                msx_buf_adds(&b, "pre:");
            /* "<%.*s>%d": the output is n + 2 + digits of 7 bytes */
            msx_buf_addf(&b, "<%.*s>%d", (int)n, src, 7);
            TU_TRUE(what, msx_buf_status(&b) == MS_OK);
            size_t want = (prefix ? 4 : 0) + n + 3;
            if (b.len != want)
                fail_msg("%s: len %zu, want %zu", what, b.len, want);
            size_t at = prefix ? 4 : 0;
            TU_TRUE(what, b.ptr[at] == '<');
            TU_TRUE(what, memcmp(b.ptr + at + 1, src, n) == 0);
            TU_TRUE(what, memcmp(b.ptr + at + 1 + n, ">7", 3) == 0); /* incl. NUL */
            if (prefix)
                TU_TRUE(what, memcmp(b.ptr, "pre:", 4) == 0);
            msx_buf_release(&b);
        }
    }
    free(src);
}

/* vaddf keeps working when called through a caller's va_list. */
static void vadd(struct msx_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    msx_buf_vaddf(b, fmt, ap);
    va_end(ap);
}

static void test_vaddf(void **state)
{
    (void)state;
    struct msx_buf b;
    char big[600];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    msx_buf_init(&b, MSX_CAP_LINE);
    vadd(&b, "%s|%lld", big, (long long)INT64_MIN);
    assert_int_equal(b.len, 599 + 1 + 20);
    assert_string_equal(b.ptr + 599, "|-9223372036854775808");
    msx_buf_release(&b);
}

/* The cap: appends that would pass it fail with MS_E_TOOBIG, leave the
 * contents alone, and every later append fails too (first failure kept). */
struct cap_case {
    const char *name;
    size_t max;
    const char *first;  /* appended first; fits */
    int op;             /* 0 add, 1 addc, 2 adds, 3 addf (long), 4 addf (short) */
    size_t need;        /* bytes the second append would add */
};

static void second_append(struct msx_buf *b, int op, size_t need)
{
    char *s = malloc(need + 1);
    assert_non_null(s);
    memset(s, 'x', need);
    s[need] = '\0';
    switch (op) {
    case 0: msx_buf_add(b, s, need); break;
    case 1: msx_buf_addc(b, 'x'); break;
    case 2: msx_buf_adds(b, s); break;
    default: msx_buf_addf(b, "%s", s); break;
    }
    free(s);
}

static void test_cap(void **state)
{
    (void)state;
    static const struct cap_case cases[] = {
        {"add past cap", 10, "12345678", 0, 3},
        {"addc at cap", 8, "12345678", 1, 1},
        {"adds past cap", 10, "1234567890", 2, 1},
        {"addf long past cap", 300, "abc", 3, 298},
        {"addf short past cap", 10, "abc", 4, 8},
        {"add far past cap", 16, "", 0, 1000},
        {"cap zero", 0, "", 1, 1},
    };
    for (size_t c = 0; c < TU_COUNT(cases); c++) {
        const struct cap_case *k = &cases[c];
        struct msx_buf b;
        msx_buf_init(&b, k->max);
        msx_buf_adds(&b, k->first);
        TU_TRUE(k->name, msx_buf_status(&b) == MS_OK);
        size_t before = b.len;
        second_append(&b, k->op, k->need);
        TU_TRUE(k->name, msx_buf_status(&b) == MS_E_TOOBIG);
        TU_TRUE(k->name, b.len == before);
        if (before)
            tu_str_eq(k->name, b.ptr, b.len, k->first);
        /* the failure is sticky: a one-byte append that would fit fails too */
        msx_buf_release(&b);

        msx_buf_init(&b, k->max);
        msx_buf_adds(&b, k->first);
        second_append(&b, k->op, k->need);
        if (b.len < k->max) {
            msx_buf_addc(&b, 'y');
            msx_buf_add(&b, "y", 1);
            msx_buf_addf(&b, "%c", 'y');
            TU_TRUE(k->name, b.len == before);
        }
        TU_TRUE(k->name, msx_buf_status(&b) == MS_E_TOOBIG);
        /* take after a failure gives NULL and frees */
        size_t len = 99;
        char *p = msx_buf_take(&b, &len);
        TU_TRUE(k->name, p == NULL);
        TU_TRUE(k->name, b.ptr == NULL);
        msx_buf_release(&b);
    }
}

/* Filling exactly to the cap is fine; one more byte is not. */
static void test_cap_exact(void **state)
{
    (void)state;
    struct msx_buf b;
    msx_buf_init(&b, 5);
    msx_buf_add(&b, "12", 2);
    msx_buf_addc(&b, '3');
    msx_buf_addf(&b, "%d", 45);
    assert_int_equal(msx_buf_status(&b), MS_OK);
    tu_str_eq("exact", b.ptr, b.len, "12345");
    msx_buf_addc(&b, '6');
    assert_int_equal(msx_buf_status(&b), MS_E_TOOBIG);
    tu_str_eq("after", b.ptr, b.len, "12345");
    /* reserve also refuses once failed */
    assert_int_equal(msx_buf_reserve(&b, 0), 0);
    msx_buf_release(&b);

    /* reserve(more) guarantees room for more bytes plus the NUL */
    msx_buf_init(&b, 1000);
    assert_int_equal(msx_buf_reserve(&b, 100), 1);
    assert_true(b.cap >= 101);
    assert_int_equal(msx_buf_reserve(&b, 1000), 1);
    assert_int_equal(msx_buf_reserve(&b, 1001), 0);
    assert_int_equal(msx_buf_status(&b), MS_E_TOOBIG);
    msx_buf_release(&b);

    /* a size so large that len + more would wrap */
    msx_buf_init(&b, SIZE_MAX);
    msx_buf_adds(&b, "abc");
    assert_int_equal(msx_buf_reserve(&b, SIZE_MAX - 1), 0);
    assert_int_equal(msx_buf_status(&b), MS_E_TOOBIG);
    msx_buf_release(&b);
}

/* With no effective cap (max = SIZE_MAX), len + more + 1 must not wrap to
 * a tiny size that reserve() then reports as available. */
static void test_reserve_no_wrap(void **state)
{
    (void)state;
    struct msx_buf b;
    msx_buf_init(&b, SIZE_MAX);
    msx_buf_adds(&b, "abc");
    /* 3 + (SIZE_MAX - 3) + 1 wraps to 0: there is no room for that */
    int got = msx_buf_reserve(&b, SIZE_MAX - 3);
    ms_code st = msx_buf_status(&b);
    msx_buf_release(&b);
    assert_int_equal(got, 0);
    assert_int_not_equal(st, MS_OK);
}

/* take() on a buffer that never held anything must still give a
 * NUL-terminated "" (buf.h: "Gives the NUL-terminated contents away"). */
static void test_take_empty(void **state)
{
    (void)state;
    struct msx_buf b;
    size_t len = 99;
    msx_buf_init(&b, MSX_CAP_LINE);
    char *p = msx_buf_take(&b, &len);
    assert_non_null(p);
    assert_int_equal(len, 0);
    assert_int_equal(p[0], '\0');
    free(p);

    /* the same after reserve() alone */
    msx_buf_init(&b, MSX_CAP_LINE);
    assert_int_equal(msx_buf_reserve(&b, 10), 1);
    p = msx_buf_take(&b, &len);
    assert_non_null(p);
    assert_int_equal(len, 0);
    assert_int_equal(p[0], '\0');
    free(p);
}

static void test_take(void **state)
{
    (void)state;
    struct msx_buf b;
    size_t len = 99;
    msx_buf_init(&b, MSX_CAP_LINE);

    msx_buf_adds(&b, "hello");
    char *p = msx_buf_take(&b, &len);
    assert_non_null(p);
    assert_int_equal(len, 5);
    assert_string_equal(p, "hello");
    /* left empty and reusable; the taken memory is the caller's */
    assert_null(b.ptr);
    assert_int_equal(b.len, 0);
    assert_int_equal(msx_buf_status(&b), MS_OK);
    msx_buf_adds(&b, "again");
    char *q = msx_buf_take(&b, NULL);
    assert_string_equal(q, "again");
    assert_string_equal(p, "hello");
    free(p);
    free(q);
    msx_buf_release(&b);
    msx_buf_release(NULL); /* NULL ok */
    msx_buf_release(&b);   /* twice ok */
}

static void test_reset(void **state)
{
    (void)state;
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_LINE);
    msx_buf_adds(&b, "some text that allocates");
    char *mem = b.ptr;
    size_t cap = b.cap;
    msx_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.ptr, mem); /* keeps memory */
    assert_int_equal(b.cap, cap);
    assert_string_equal(b.ptr, "");
    msx_buf_adds(&b, "x");
    tu_str_eq("reuse", b.ptr, b.len, "x");
    msx_buf_release(&b);

    /* reset of a never-allocated buffer */
    msx_buf_init(&b, 4);
    msx_buf_reset(&b);
    assert_null(b.ptr);
    assert_int_equal(b.len, 0);

    /* reset clears a failure, so the buffer is usable again */
    msx_buf_adds(&b, "toolong");
    assert_int_equal(msx_buf_status(&b), MS_E_TOOBIG);
    msx_buf_reset(&b);
    assert_int_equal(msx_buf_status(&b), MS_OK);
    msx_buf_adds(&b, "ok");
    tu_str_eq("after reset", b.ptr, b.len, "ok");
    msx_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appends),   cmocka_unit_test(test_addc_growth),
        cmocka_unit_test(test_addf_long), cmocka_unit_test(test_vaddf),
        cmocka_unit_test(test_cap),       cmocka_unit_test(test_cap_exact),
        cmocka_unit_test(test_reserve_no_wrap),
        cmocka_unit_test(test_take_empty),
        cmocka_unit_test(test_take),      cmocka_unit_test(test_reset),
    };
    return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
