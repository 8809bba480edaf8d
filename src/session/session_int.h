/* SPDX-License-Identifier: MIT
 *
 * session_int.h - the session accumulator: every trace of a scan goes in as
 * one row (whichever store it came from), aggregates come out. Store
 * backends with a fast session scan (store_sqlite.c) feed it directly;
 * session.c feeds it from ordinary trace sets otherwise. Internal.
 */
#ifndef MSI_SESSION_INT_H
#define MSI_SESSION_INT_H

#include "mlsession/session.h"
#include "mlsession/sfilter.h"

/* One trace as the accumulator sees it. Strings are only borrowed for the
 * call: the accumulator copies what it keeps. */
struct msi_session_row {
    ms_str trace_id;
    ms_str session_id;      /* {NULL,0} or "" when none */
    ms_str user_id;
    ms_str experiment_id;
    int64_t start_ms;
    int64_t latency_ms;     /* -1 while running */
    ms_trace_state state;
    ms_token_usage usage;
    double cost;
    bool has_cost;
    bool conflict;          /* the trace names two different sessions */
    ms_str request_preview;
    ms_str response_preview;
    uint64_t atoms;         /* bit i: the trace satisfies filter atom i */
};

struct msi_sacc;

struct msi_sacc *msi_sacc_new(const struct ms_session_query *q);
void msi_sacc_free(struct msi_sacc *a); /* NULL ok */
ms_code msi_sacc_add(struct msi_sacc *a, const struct msi_session_row *r);
/* A session-level assessment (metadata mlflow.trace.session = session_id).
 * The newest valid one of each name wins. value_json {NULL,0} with
 * is_error for a scorer failure. */
ms_code msi_sacc_add_score(struct msi_sacc *a, ms_str session_id, ms_str name,
                           ms_str value_json, bool is_error, ms_str error_or_rationale,
                           int64_t time_ms);
/* A backend that leaves users out of its scan (a metadata row per trace is
 * too costly to read for every trace) fills ms_session_summary.user_id of
 * the sessions the list keeps, from their first_trace_id; strings in a. */
struct msx_arena;
typedef ms_code (*msi_user_fill_fn)(void *state, ms_session_summary *items, size_t n,
                                    struct msx_arena *a, struct ms_error *err);
void msi_sacc_set_user_fill(struct msi_sacc *a, msi_user_fill_fn fn, void *state);
/* Finishes: aggregates, filter, sort, limit. Frees a. */
ms_code msi_sacc_finish(struct msi_sacc *a, ms_session_list **out, struct ms_error *err);

/* ---- backend hook (store.h internals) ---- */
struct msi_session_scan {
    const char *const *experiment_ids; /* never empty */
    size_t n_experiment_ids;
    const ms_sfilter *filter;          /* NULL = none; every atom must
                                          compile to SQL, else unsupported */
};

/* Runs the backend's session scan if it has one: MS_E_UNSUPPORTED when it
 * has none or cannot do this one (the caller then scans generically). */
struct ms_store;
ms_code msi_store_session_scan(struct ms_store *st, const struct msi_session_scan *scan,
                               struct msi_sacc *acc, struct ms_error *err);
/* Every trace info of the experiments (NULL/0: all), no spans. */
ms_code msi_store_scan_all(struct ms_store *st, const char *const *experiment_ids, size_t n,
                           const ms_filter *filter, ms_trace_set **out, struct ms_error *err);
/* Loads spans of set's traces [from, to). */
ms_code msi_store_load_spans(struct ms_store *st, ms_trace_set *set, size_t from, size_t to,
                             struct ms_error *err);

/* The attribute's string value: a JSON-encoded string unquoted when it has
 * no escapes, a plain value as is. */
ms_str msi_attr_text(const ms_attr *a);

#endif
