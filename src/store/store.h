/* SPDX-License-Identifier: MIT
 *
 * The backend table behind include/mlsession/store.h (think sqlite3_vfs):
 * each backend fills one struct msi_store_ops; store.c picks it by scheme
 * and does everything a backend does not do itself (filtering, ordering and
 * paging in memory). Append fields only and bump the version.
 */
#ifndef MSI_STORE_H
#define MSI_STORE_H

#include "mlsession/store.h"
#include "util/arena.h"

/* What store.c asks a backend to list. A backend may push down the filter,
 * the order and the page (SQL stores do); it reports what it did. */
struct msi_scan {
    const char *const *experiment_ids; /* never empty: store.c resolves "all" */
    size_t n_experiment_ids;
    const ms_filter *filter;           /* may be NULL */
    const ms_order *order;             /* never NULL */
    int64_t offset, limit;             /* the page asked for; limit > 0 */
    /* set by the backend: */
    bool filter_done;  /* only matching traces were added */
    bool page_done;    /* ordered, offset applied, at most limit+1 added */
    /* MLflow's SQL store hands out a next-page token whenever a page is
     * full, even when nothing follows; its file store only when more
     * results remain. A backend sets this to answer as its MLflow twin. */
    bool token_when_full;
};

struct msi_session_scan;
struct msi_sacc;

struct msi_store_ops {
    int version; /* 1 */
    const char *scheme;
    /* uri is the full URI, path its local path part (or NULL). */
    ms_code (*open)(const char *uri, const char *path, void **state, struct ms_error *err);
    void (*close)(void *state);
    /* Active experiments, ascending by id, strings in arena a. */
    ms_code (*experiments)(void *state, struct msx_arena *a, ms_experiment **list, size_t *n,
                           struct ms_error *err);
    /* Adds trace infos (tags, metadata, assessments; no spans) to set. */
    ms_code (*scan)(void *state, struct msi_scan *scan, ms_trace_set *set, struct ms_error *err);
    /* Loads spans for set's traces [from, to) (sets their spans/n_spans). */
    ms_code (*load_spans)(void *state, ms_trace_set *set, size_t from, size_t to,
                          struct ms_error *err);
    /* version 2: one lean scan feeding the session accumulator
     * (session/session_int.h); NULL, or MS_E_UNSUPPORTED for a scan it
     * cannot do, and store.c reads every trace info instead. */
    ms_code (*session_scan)(void *state, const struct msi_session_scan *scan,
                            struct msi_sacc *acc, struct ms_error *err);
};

extern const struct msi_store_ops msi_store_json;
extern const struct msi_store_ops msi_store_sqlite;
extern const struct msi_store_ops msi_store_file;
extern const struct msi_store_ops msi_store_pg;
extern const struct msi_store_ops msi_store_rest;

/* ---- building result sets (model/trace_set.c) ---- */
ms_trace_set *msi_trace_set_new(void);
struct msx_arena *msi_trace_set_arena(ms_trace_set *set);
/* A new zeroed trace at the end, or NULL when out of memory. The pointer is
 * valid until the next append. */
ms_trace *msi_trace_set_append(ms_trace_set *set);
/* Drops the last trace (a failed append). */
void msi_trace_set_pop(ms_trace_set *set);
/* Rebuilds the id index after traces were appended, dropped or moved;
 * false when out of memory. */
bool msi_trace_set_reindex(ms_trace_set *set);
ms_trace *msi_trace_set_mut(ms_trace_set *set, size_t i);
/* Keeps traces [from, from+n) (after sorting/filtering in place). */
void msi_trace_set_slice(ms_trace_set *set, size_t from, size_t n);
bool msi_trace_set_set_token(ms_trace_set *set, const char *token);
/* Records that the answer is incomplete (e.g. a trace's spans could not be
 * read); the CLI prints these and exits non-zero. */
#define MSI_MAX_WARNINGS 32
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void msi_trace_set_warn(ms_trace_set *set, const char *fmt, ...);
/* A note that does not make the answer incomplete (an unknown newer
 * schema read as far as known); printed, exit status unchanged. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void msi_trace_set_notice(ms_trace_set *set, const char *fmt, ...);
/* Is this alembic revision one of MLflow 3.17.2's (schema_versions.c)? */
bool msi_schema_revision_known(const char *rev);

/* Set error helper for backends: formats msg with printf rules. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
ms_code msi_error(struct ms_error *err, ms_code code, const char *fmt, ...);

#endif
