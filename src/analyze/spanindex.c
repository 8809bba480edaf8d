/* SPDX-License-Identifier: MIT
 *
 * Spans by id for the analyzers (analyze_int.h): sorted once per trace,
 * looked up by binary search.
 */
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze_int.h"

static int cmp_span_id(const void *a, const void *b)
{
    return strcmp((*(const ms_span *const *)a)->span_id, (*(const ms_span *const *)b)->span_id);
}

static int cmp_key_span(const void *key, const void *elem)
{
    return strcmp((const char *)key, (*(const ms_span *const *)elem)->span_id);
}

long msi_span_find(const struct msi_span_index *x, ms_str id)
{
    char key[17];
    if (!x->t || id.len == 0 || id.len >= sizeof key)
        return -1;
    memcpy(key, id.ptr, id.len);
    key[id.len] = '\0';
    const ms_span *const *hit = bsearch(key, x->by, x->t->n_spans, sizeof *x->by, cmp_key_span);
    return hit ? (long)(*hit - x->t->spans) : -1;
}

bool msi_span_index_build(struct msx_arena *a, const ms_trace *t, struct msi_span_index *x)
{
    size_t n = t->n_spans;
    x->t = t;
    x->par = msx_arena_alloc(a, (n ? n : 1) * sizeof *x->par);
    x->by = msx_arena_alloc(a, (n ? n : 1) * sizeof *x->by);
    if (!x->par || !x->by)
        return false;
    for (size_t i = 0; i < n; i++)
        x->by[i] = &t->spans[i];
    qsort(x->by, n, sizeof *x->by, cmp_span_id);
    for (size_t i = 0; i < n; i++) {
        long p = t->spans[i].parent_id[0] ? msi_span_find(x, msi_s(t->spans[i].parent_id)) : -1;
        x->par[i] = p == (long)i ? -1 : p;
    }
    return true;
}
