/* SPDX-License-Identifier: MIT
 *
 * msx_arena - bump allocation in chained blocks, freed all at once (git's
 * mem-pool). One arena holds one document's decoded model: spans,
 * attributes, strings. Uses only libc.
 */
#ifndef MSX_ARENA_H
#define MSX_ARENA_H

#include <stddef.h>

struct msx_arena_block;

struct msx_arena {
    struct msx_arena_block *head;
    size_t used;  /* bytes handed out, for caps and stats */
    size_t max;   /* cap on used; 0 = none */
};

void msx_arena_init(struct msx_arena *a, size_t max);
void msx_arena_release(struct msx_arena *a); /* frees every block; NULL ok */
/* Aligned for any scalar; NULL when out of memory or past the cap. */
void *msx_arena_alloc(struct msx_arena *a, size_t n);
void *msx_arena_calloc(struct msx_arena *a, size_t count, size_t size);
/* Copies n bytes and adds a NUL; NULL on failure. */
char *msx_arena_strndup(struct msx_arena *a, const char *s, size_t n);

#endif
