/* SPDX-License-Identifier: MIT
 *
 * The exported-JSON backend: `mlflow traces search --output json` (one page
 * or all pages one after another), `mlflow traces get`, JSON Lines. The file
 * is read once into memory; filters are evaluated here, with spans, since
 * they are at hand.
 */
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "store/store.h"

struct json_state {
    ms_trace_set *all;
};

static ms_code json_open(const char *uri, const char *path, void **state, struct ms_error *err)
{
    (void)uri;
    struct json_state *s = calloc(1, sizeof *s);
    if (!s)
        return msi_error(err, MS_E_NOMEM, "out of memory");
    ms_code rc = ms_trace_set_load_file(path, &s->all, err);
    if (rc != MS_OK) {
        free(s);
        return rc;
    }
    *state = s;
    return MS_OK;
}

static void json_close(void *state)
{
    struct json_state *s = state;
    if (!s)
        return;
    ms_trace_set_free(s->all);
    free(s);
}

static bool same(ms_str a, const char *b)
{
    size_t n = strlen(b);
    return a.ptr && a.len == n && memcmp(a.ptr, b, n) == 0;
}

/* Experiment ids compare as numbers when both are digits ("2" < "10"). */
static int cmp_ids(ms_str a, ms_str b)
{
    if (a.len != b.len)
        return a.len < b.len ? -1 : 1;
    return memcmp(a.ptr, b.ptr, a.len);
}

static ms_code json_experiments(void *state, struct msx_arena *a, ms_experiment **list,
                                size_t *n, struct ms_error *err)
{
    struct json_state *s = state;
    size_t count = ms_trace_set_count(s->all), k = 0;
    ms_experiment *l = msx_arena_calloc(a, count ? count : 1, sizeof *l);
    if (!l)
        return msi_error(err, MS_E_NOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
        ms_str id = ms_trace_set_at(s->all, i)->info.experiment_id;
        if (!id.ptr)
            continue;
        size_t j = 0;
        while (j < k && !(l[j].experiment_id.len == id.len &&
                          memcmp(l[j].experiment_id.ptr, id.ptr, id.len) == 0))
            j++;
        if (j == k) {
            l[k].experiment_id = msi_dup(a, id);
            l[k].name = msi_dup(a, (ms_str){"", 0});
            l[k].lifecycle_stage = msi_dup(a, (ms_str){"active", 6});
            k++;
        }
        l[j].trace_count++;
    }
    for (size_t i = 1; i < k; i++) /* insertion sort: few experiments */
        for (size_t j = i; j > 0 && cmp_ids(l[j].experiment_id, l[j - 1].experiment_id) < 0; j--) {
            ms_experiment t = l[j];
            l[j] = l[j - 1];
            l[j - 1] = t;
        }
    *list = l;
    *n = k;
    return MS_OK;
}

static ms_code json_scan(void *state, struct msi_scan *scan, ms_trace_set *out,
                         struct ms_error *err)
{
    struct json_state *s = state;
    struct msx_arena *a = msi_trace_set_arena(out);
    size_t n = ms_trace_set_count(s->all), m = 0;
    const ms_trace **cand = malloc((n ? n : 1) * sizeof *cand);
    bool *keep = malloc(n ? n : 1);
    ms_code rc = MS_OK;
    if (!cand || !keep) {
        rc = msi_error(err, MS_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const ms_trace *t = ms_trace_set_at(s->all, i);
        for (size_t e = 0; e < scan->n_experiment_ids; e++)
            if (same(t->info.experiment_id, scan->experiment_ids[e])) {
                cand[m++] = t;
                break;
            }
    }
    /* spans are at hand, so the filter is evaluated here, on the whole
     * candidate set (session-level assessments span traces) */
    if (!ms_filter_match_set(scan->filter, cand, m, keep)) {
        rc = msi_error(err, MS_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < m; i++) {
        if (!keep[i])
            continue;
        ms_trace *dst = msi_trace_set_append(out);
        if (!dst || !msi_info_copy(a, &dst->info, &cand[i]->info)) {
            rc = msi_error(err, MS_E_NOMEM, "out of memory");
            goto done;
        }
    }
    scan->filter_done = true;
    scan->token_when_full = true; /* exports come from SQL stores: answer as they do */
done:
    free(cand);
    free(keep);
    return rc;
}

static ms_code json_load_spans(void *state, ms_trace_set *set, size_t from, size_t to,
                               struct ms_error *err)
{
    struct json_state *s = state;
    struct msx_arena *a = msi_trace_set_arena(set);
    for (size_t i = from; i < to; i++) {
        ms_trace *t = msi_trace_set_mut(set, i);
        const ms_trace *src = ms_trace_set_find(s->all, t->info.trace_id.ptr);
        if (src && !msi_spans_copy(a, t, src))
            return msi_error(err, MS_E_NOMEM, "out of memory");
    }
    return MS_OK;
}

const struct msi_store_ops msi_store_json = {
    2, "json", json_open, json_close, json_experiments, json_scan, json_load_spans, NULL,
};
