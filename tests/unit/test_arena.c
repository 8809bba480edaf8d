/* SPDX-License-Identifier: MIT
 *
 * Unit tests for src/util/arena.h: alignment, big allocations that get a
 * block of their own, the cap, calloc and strndup.
 */
#include <setjmp.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/arena.h"
#include "testutil.h"

/* Pointers must be aligned for any scalar type. */
#define ALIGN_BYTES (alignof(max_align_t))
/* arena.c rounds every request up to a multiple of sizeof(max_align_t)
 * (32 on x86-64, a multiple of the alignment) and counts that in used. */
#define GRAIN (sizeof(max_align_t))

static size_t round_up(size_t n)
{
    if (n == 0)
        n = 1;
    return (n + GRAIN - 1) / GRAIN * GRAIN;
}

struct piece {
    unsigned char *p;
    size_t n;
    unsigned char fill;
};

/* Every piece still holds its fill byte, and no two pieces overlap. */
static void check_pieces(const struct piece *ps, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        for (size_t k = 0; k < ps[i].n; k++)
            if (ps[i].p[k] != ps[i].fill)
                fail_msg("piece %zu (size %zu) byte %zu overwritten", i, ps[i].n, k);
        for (size_t j = i + 1; j < count; j++) {
            uintptr_t a = (uintptr_t)ps[i].p, b = (uintptr_t)ps[j].p;
            if (a < b + ps[j].n && b < a + ps[i].n && ps[i].n && ps[j].n)
                fail_msg("pieces %zu and %zu overlap", i, j);
        }
    }
}

/* A table of sizes, small and big, mixed: every pointer is aligned for any
 * scalar, writable over its whole size, distinct; used counts rounded
 * sizes; nothing earlier is clobbered by later allocations. */
static void test_alignment_and_sizes(void **state)
{
    (void)state;
    static const size_t sizes[] = {
        1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100, 0, 4000, 4095, 4096, 4097, 5,
        (size_t)1 << 20, ((size_t)1 << 20) + 1, 24, 3 << 20, 1, 8191, 65536, 13, 2000000, 7,
    };
    struct msx_arena a;
    struct piece ps[TU_COUNT(sizes)];
    size_t used = 0;
    msx_arena_init(&a, 0);
    for (size_t i = 0; i < TU_COUNT(sizes); i++) {
        unsigned char *p = msx_arena_alloc(&a, sizes[i]);
        if (!p)
            fail_msg("alloc %zu returned NULL", sizes[i]);
        if ((uintptr_t)p % ALIGN_BYTES != 0)
            fail_msg("alloc %zu: %p not aligned to %zu", sizes[i], (void *)p, ALIGN_BYTES);
        ps[i].p = p;
        ps[i].n = sizes[i];
        ps[i].fill = (unsigned char)(i * 37 + 1);
        memset(p, ps[i].fill, sizes[i]); /* valgrind checks the bounds */
        used += round_up(sizes[i]);
        if (a.used != used)
            fail_msg("after alloc %zu: used %zu, want %zu", sizes[i], a.used, used);
    }
    check_pieces(ps, TU_COUNT(sizes));
    msx_arena_release(&a);
    assert_null(a.head);
    assert_int_equal(a.used, 0);
}

/* A big allocation in the middle of a partly used block leaves the small
 * allocations around it usable (the one-off block path). */
static void test_big_between_small(void **state)
{
    (void)state;
    struct msx_arena a;
    struct piece ps[64];
    size_t n = 0;
    msx_arena_init(&a, 0);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 10; i++) {
            ps[n].n = 40;
            ps[n].p = msx_arena_alloc(&a, 40);
            assert_non_null(ps[n].p);
            ps[n].fill = (unsigned char)(n + 1);
            memset(ps[n].p, ps[n].fill, 40);
            n++;
        }
        ps[n].n = (size_t)(round + 2) << 20; /* 2, 3, 4 MiB */
        ps[n].p = msx_arena_alloc(&a, ps[n].n);
        assert_non_null(ps[n].p);
        ps[n].fill = (unsigned char)(0xA0 + n);
        memset(ps[n].p, ps[n].fill, ps[n].n);
        n++;
    }
    check_pieces(ps, n);
    msx_arena_release(&a);
    msx_arena_release(NULL); /* NULL ok */
}

/* The cap counts rounded sizes; a request past it fails and leaves the
 * arena usable for requests that still fit. */
struct cap_step {
    size_t n;
    bool ok;
};

static void test_cap(void **state)
{
    (void)state;
    const size_t A = GRAIN;
    const struct cap_step steps[] = {
        {4 * A, true},  /* used 4A */
        {4 * A, false}, /* 8A > 6A */
        {A + 1, true},  /* rounds to 2A: used 6A == cap */
        {1, false},     /* rounds to A */
        {0, false},     /* 0 is served as 1 byte */
    };
    struct msx_arena a;
    msx_arena_init(&a, 6 * A);
    for (size_t i = 0; i < TU_COUNT(steps); i++) {
        void *p = msx_arena_alloc(&a, steps[i].n);
        if ((p != NULL) != steps[i].ok)
            fail_msg("step %zu: alloc %zu gave %p", i, steps[i].n, p);
    }
    assert_int_equal(a.used, 6 * A);
    /* calloc and strndup obey the cap too */
    assert_null(msx_arena_calloc(&a, 1, 1));
    assert_null(msx_arena_strndup(&a, "x", 1));
    msx_arena_release(&a);

    /* a single request bigger than the cap */
    msx_arena_init(&a, 1000);
    assert_null(msx_arena_alloc(&a, 1001));
    assert_non_null(msx_arena_alloc(&a, 100));
    msx_arena_release(&a);

    /* sizes near SIZE_MAX never wrap into a small allocation */
    msx_arena_init(&a, 0);
    assert_null(msx_arena_alloc(&a, SIZE_MAX));
    assert_null(msx_arena_alloc(&a, SIZE_MAX - A + 2));
    assert_null(msx_arena_calloc(&a, SIZE_MAX / 2 + 1, 2)); /* count*size overflows */
    assert_null(msx_arena_calloc(&a, 2, SIZE_MAX / 2 + 1));
    assert_int_equal(a.used, 0);
    msx_arena_release(&a);
}

static void test_arena_calloc(void **state)
{
    (void)state;
    struct msx_arena a;
    msx_arena_init(&a, 0);
    /* dirty a block first, so zeroing is not an accident of fresh memory */
    for (int r = 0; r < 2; r++) {
        unsigned char *d = msx_arena_alloc(&a, 3000);
        memset(d, 0xFF, 3000);
    }
    static const size_t dims[][2] = {{1, 1}, {10, 8}, {3, 333}, {0, 8}, {8, 0}, {1000, 1000}};
    for (size_t i = 0; i < TU_COUNT(dims); i++) {
        size_t total = dims[i][0] * dims[i][1];
        unsigned char *p = msx_arena_calloc(&a, dims[i][0], dims[i][1]);
        if (!p)
            fail_msg("calloc %zu x %zu gave NULL", dims[i][0], dims[i][1]);
        assert_int_equal((uintptr_t)p % ALIGN_BYTES, 0);
        for (size_t k = 0; k < total; k++)
            if (p[k])
                fail_msg("calloc %zu x %zu: byte %zu not zero", dims[i][0], dims[i][1], k);
        memset(p, 0xEE, total);
    }
    msx_arena_release(&a);
}

struct dup_case {
    const char *s;
    size_t n;
    const char *want; /* the first n bytes, then the NUL we expect */
};

static void test_strndup(void **state)
{
    (void)state;
    static const struct dup_case cases[] = {
        {"hello", 5, "hello"},
        {"hello", 3, "hel"}, /* stops at n, not at the source's NUL */
        {"", 0, ""},
        {"a\0b", 3, "a\0b"}, /* embedded NUL kept */
        {"\xc3\xa9t\xc3\xa9", 6, "\xc3\xa9t\xc3\xa9"},
    };
    struct msx_arena a;
    msx_arena_init(&a, 0);
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        char *p = msx_arena_strndup(&a, cases[i].s, cases[i].n);
        if (!p)
            fail_msg("case %zu: NULL", i);
        if (memcmp(p, cases[i].want, cases[i].n) != 0 || p[cases[i].n] != '\0')
            fail_msg("case %zu: wrong copy", i);
        if (p == cases[i].s)
            fail_msg("case %zu: not a copy", i);
    }
    /* a source that is not NUL-terminated at all */
    char raw[4] = {'w', 'x', 'y', 'z'};
    char *p = msx_arena_strndup(&a, raw, sizeof raw);
    assert_string_equal(p, "wxyz");
    /* NULL source with n == 0 is fine (decoders pass {NULL,0} around) */
    p = msx_arena_strndup(&a, NULL, 0);
    assert_non_null(p);
    assert_string_equal(p, "");
    /* a long string goes to its own block */
    size_t big = (size_t)3 << 20;
    char *src = malloc(big);
    assert_non_null(src);
    memset(src, 'k', big);
    p = msx_arena_strndup(&a, src, big);
    assert_non_null(p);
    assert_int_equal(p[big], '\0');
    assert_int_equal(memcmp(p, src, big), 0);
    free(src);
    assert_null(msx_arena_strndup(&a, "x", SIZE_MAX));
    msx_arena_release(&a);
}

/* After release, the arena can be used again from scratch. */
static void test_reuse_after_release(void **state)
{
    (void)state;
    struct msx_arena a;
    msx_arena_init(&a, 10000);
    for (int r = 0; r < 3; r++) {
        for (int i = 0; i < 100; i++)
            assert_non_null(msx_arena_alloc(&a, 50));
        assert_int_equal(a.used, 100 * round_up(50));
        msx_arena_release(&a);
        assert_int_equal(a.used, 0);
        assert_int_equal(a.max, 10000); /* the cap survives release */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_and_sizes),
        cmocka_unit_test(test_big_between_small),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_arena_calloc),
        cmocka_unit_test(test_strndup),
        cmocka_unit_test(test_reuse_after_release),
    };
    return cmocka_run_group_tests_name("arena", tests, NULL, NULL);
}
