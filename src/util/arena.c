/* SPDX-License-Identifier: MIT
 *
 * msx_arena: see arena.h. Blocks double in size up to 1 MiB; a request
 * larger than that gets a block of its own.
 */
#include "util/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct msx_arena_block {
    struct msx_arena_block *next;
    size_t size;
    size_t off;
    _Alignas(max_align_t) unsigned char data[];
};

#define ALIGN (sizeof(max_align_t))
#define FIRST_BLOCK ((size_t)4096)
#define MAX_BLOCK ((size_t)1 << 20)

void msx_arena_init(struct msx_arena *a, size_t max)
{
    a->head = NULL;
    a->used = 0;
    a->max = max;
}

void msx_arena_release(struct msx_arena *a)
{
    if (!a)
        return;
    struct msx_arena_block *b = a->head;
    while (b) {
        struct msx_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used = 0;
}

void *msx_arena_alloc(struct msx_arena *a, size_t n)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - ALIGN)
        return NULL;
    n = (n + ALIGN - 1) & ~(ALIGN - 1);
    if (a->max && (n > a->max || a->used > a->max - n))
        return NULL;
    struct msx_arena_block *b = a->head;
    if (!b || b->size - b->off < n) {
        size_t size = b ? b->size * 2 : FIRST_BLOCK;
        if (size > MAX_BLOCK)
            size = MAX_BLOCK;
        if (size < n)
            size = n;
        struct msx_arena_block *nb = malloc(sizeof *nb + size);
        if (!nb)
            return NULL;
        nb->size = size;
        nb->off = 0;
        if (b && size == n && b->size - b->off >= FIRST_BLOCK) {
            /* a big one-off: keep filling the current block */
            nb->next = b->next;
            b->next = nb;
            nb->off = n;
            a->used += n;
            return nb->data;
        }
        nb->next = b;
        a->head = nb;
        b = nb;
    }
    void *p = b->data + b->off;
    b->off += n;
    a->used += n;
    return p;
}

void *msx_arena_calloc(struct msx_arena *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    void *p = msx_arena_alloc(a, count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

char *msx_arena_strndup(struct msx_arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *p = msx_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
