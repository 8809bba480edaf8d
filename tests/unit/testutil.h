/* SPDX-License-Identifier: MIT
 *
 * testutil.h - small helpers shared by the cmocka unit tests: reading a
 * file whole, and assertions that name the table case that failed (cmocka
 * reports only a line, which is the same for every row of a table).
 *
 * Include after <cmocka.h>. Everything here is static inline so a test file
 * that uses only part of it compiles without warnings.
 */
#ifndef MS_TESTUTIL_H
#define MS_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TU_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Reads a whole file; NUL-terminated, caller frees. Fails the test if the
 * file cannot be read. */
static inline char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail_msg("cannot open %s", path);
        return NULL;
    }
    struct msx_tu_chunk {
        char *p;
        size_t n, cap;
    } b = {NULL, 0, 0};
    char tmp[65536];
    size_t got;
    while ((got = fread(tmp, 1, sizeof tmp, f)) > 0) {
        if (b.n + got + 1 > b.cap) {
            b.cap = (b.n + got + 1) * 2;
            b.p = realloc(b.p, b.cap);
            assert_non_null(b.p);
        }
        memcpy(b.p + b.n, tmp, got);
        b.n += got;
    }
    fclose(f);
    if (!b.p) {
        b.p = malloc(1);
        assert_non_null(b.p);
    }
    b.p[b.n] = '\0';
    if (len)
        *len = b.n;
    return b.p;
}

/* Does the file exist (and is readable)? */
static inline int tu_file_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    fclose(f);
    return 1;
}

/* Byte-exact comparison of (got, glen) with the NUL-terminated or sized
 * expectation; on mismatch names the case and the first differing byte. */
static inline void tu_mem_eq(const char *what, const char *got, size_t glen, const char *exp,
                             size_t elen)
{
    if (glen == elen && (elen == 0 || memcmp(got, exp, elen) == 0))
        return;
    size_t i = 0;
    while (i < glen && i < elen && got[i] == exp[i])
        i++;
    fail_msg("%s: differs at byte %zu (got len %zu, want len %zu)\n  got:  %.*s\n  want: %.*s",
             what, i, glen, elen, (int)(glen > 400 ? 400 : glen), got ? got : "",
             (int)(elen > 400 ? 400 : elen), exp ? exp : "");
}

static inline void tu_str_eq(const char *what, const char *got, size_t glen, const char *exp)
{
    tu_mem_eq(what, got, glen, exp, strlen(exp));
}

static inline void tu_i64_eq(const char *what, int64_t got, int64_t exp)
{
    if (got != exp)
        fail_msg("%s: got %lld, want %lld", what, (long long)got, (long long)exp);
}

static inline void tu_true(const char *what, int cond, const char *expr)
{
    if (!cond)
        fail_msg("%s: expected %s", what, expr);
}

#define TU_TRUE(what, cond) tu_true((what), (cond) ? 1 : 0, #cond)

#endif
