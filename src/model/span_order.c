/* SPDX-License-Identifier: MIT
 *
 * A trace's spans as a tree, depth first, children by start time; spans
 * whose parent is not in the trace (a root that never ended) start their
 * own tree, in start order. O(n log n): a runaway agent leaves tens of
 * thousands of spans in one turn. Used by `turn`, the report and MCP.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mlsession/trace.h"

struct key {
    const char *id;
    int64_t start_ns;
    size_t idx;
};

static int cmp_key(const void *a, const void *b)
{
    const struct key *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    if (c)
        return c;
    if (x->start_ns != y->start_ns)
        return x->start_ns < y->start_ns ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static size_t lower(const struct key *keys, size_t n, const char *id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(keys[mid].id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

ms_code ms_trace_span_order(const ms_trace *t, size_t **order_out, int **depth_out, size_t *n_out)
{
    size_t n = t->n_spans, m = n ? n : 1;
    struct key *by_id = malloc(m * sizeof *by_id), *by_parent = malloc(m * sizeof *by_parent);
    struct key *roots = malloc(m * sizeof *roots);
    size_t *order = malloc(m * sizeof *order), *stack = malloc(m * sizeof *stack);
    int *depth = malloc(m * sizeof *depth), *sdepth = malloc(m * sizeof *sdepth);
    bool *done = calloc(m, sizeof *done);
    if (!by_id || !by_parent || !roots || !order || !stack || !depth || !sdepth || !done) {
        free(by_id), free(by_parent), free(roots), free(order), free(stack), free(depth),
            free(sdepth), free(done);
        return MS_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        by_id[i] = (struct key){t->spans[i].span_id, 0, i};
        by_parent[i] = (struct key){t->spans[i].parent_id, t->spans[i].start_ns, i};
    }
    qsort(by_id, n, sizeof *by_id, cmp_key);
    qsort(by_parent, n, sizeof *by_parent, cmp_key);
    size_t nr = 0;
    for (size_t i = 0; i < n; i++) {
        const ms_span *s = &t->spans[i];
        size_t at = s->parent_id[0] ? lower(by_id, n, s->parent_id) : n;
        bool has_parent = false;
        for (size_t q = at; q < n && strcmp(by_id[q].id, s->parent_id) == 0; q++)
            if (by_id[q].idx != i)
                has_parent = true;
        if (!has_parent)
            roots[nr++] = (struct key){"", s->start_ns, i};
    }
    qsort(roots, nr, sizeof *roots, cmp_key);
    size_t k = 0;
    for (size_t r = 0; r < nr; r++) {
        if (done[roots[r].idx])
            continue;
        size_t sp = 0;
        stack[sp] = roots[r].idx;
        sdepth[sp++] = 0;
        done[roots[r].idx] = true;
        while (sp > 0) {
            sp--;
            size_t cur = stack[sp];
            int d = sdepth[sp];
            order[k] = cur;
            depth[k++] = d;
            const char *id = t->spans[cur].span_id;
            size_t lo = lower(by_parent, n, id), hi = lo;
            while (hi < n && strcmp(by_parent[hi].id, id) == 0)
                hi++;
            for (size_t q = hi; q-- > lo;) {
                size_t c = by_parent[q].idx;
                if (!done[c]) {
                    done[c] = true;
                    stack[sp] = c;
                    sdepth[sp++] = d + 1;
                }
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        if (!done[i]) {
            order[k] = i;
            depth[k++] = 0;
        }
    free(by_id), free(by_parent), free(roots), free(stack), free(sdepth), free(done);
    *order_out = order;
    *depth_out = depth;
    *n_out = k;
    return MS_OK;
}
