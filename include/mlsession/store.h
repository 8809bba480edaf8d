/* SPDX-License-Identifier: MIT
 *
 * store.h - one interface over every MLflow store, always read-only:
 * SQLite (sqlite:///path, a bare *.db path), the mlruns file store
 * (file:///path, ./mlruns), exported JSON (*.json, *.jsonl) and, later,
 * PostgreSQL and tracking servers. The URI's scheme picks the backend;
 * nothing above this header knows which one it talks to.
 */
#ifndef MLSESSION_STORE_H
#define MLSESSION_STORE_H

#include "mlsession/filter.h"
#include "mlsession/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ms_store ms_store;

typedef struct ms_experiment {
    ms_str experiment_id;     /* a string, as in MLflow's JSON */
    ms_str name;
    ms_str artifact_location; /* as recorded */
    ms_str lifecycle_stage;   /* "active" or "deleted" */
    int64_t trace_count;      /* -1 if the backend cannot tell cheaply */
} ms_experiment;

/* Opens a store by URI. Never creates, writes or locks anything in it.
 * Returns a new store; close with ms_store_close(). */
MS_API ms_code ms_store_open(const char *uri, ms_store **out, struct ms_error *err);
MS_API void ms_store_close(ms_store *st); /* NULL ok */
/* The scheme of the backend in use: "sqlite", "file", "json", ... */
MS_API const char *ms_store_scheme(const ms_store *st);

/* Active experiments, by id ascending. Borrowed: valid until the next call
 * on st or its close. */
MS_API ms_code ms_store_experiments(ms_store *st, const ms_experiment **list, size_t *n,
                                    struct ms_error *err);

/* A trace search, as `mlflow traces search` asks it. */
struct ms_search {
    int version;                           /* 1 */
    const char *const *experiment_ids;     /* NULL/0 = every experiment */
    size_t n_experiment_ids;
    const ms_filter *filter;               /* NULL = all */
    const char *const *order_by;           /* "timestamp_ms DESC", ...; NULL/0 = default */
    size_t n_order_by;
    int64_t max_results;                   /* <= 0: 100 */
    const char *page_token;                /* NULL: first page */
    bool include_spans;
};

/* One page of results, in order, with spans when asked. Returns a new set
 * (free with ms_trace_set_free()); ms_trace_set_next_page_token() tells
 * whether more pages exist. */
MS_API ms_code ms_store_search(ms_store *st, const struct ms_search *req, ms_trace_set **out,
                               struct ms_error *err);

/* One trace with its spans and assessments; MS_E_NOTFOUND if absent.
 * Returns a new one-trace set. */
MS_API ms_code ms_store_get_trace(ms_store *st, const char *trace_id, ms_trace_set **out,
                                  struct ms_error *err);

#ifdef __cplusplus
}
#endif
#endif
