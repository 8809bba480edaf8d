/* SPDX-License-Identifier: MIT
 *
 * filter_int.h - the parsed form of an MLflow trace filter, shared by the
 * parser (parse.c), the in-memory evaluator (eval.c), the SQL compiler
 * (sql.c) and the order_by code (order.c). Nothing here knows a store.
 *
 * A filter is an array of clauses joined by AND. Each clause has already
 * been resolved the way MLflow resolves it: aliases (trace.timestamp ->
 * timestamp_ms, trace.name -> tag mlflow.traceName, trace.run_id -> metadata
 * mlflow.sourceRun, trace.text -> span content) are applied, and the
 * comparator and value have been checked against what MLflow's SQL store
 * accepts for that field.
 */
#ifndef MSI_FILTER_INT_H
#define MSI_FILTER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlsession/filter.h"

enum msi_field {
    MSI_F_REQUEST_ID = 1,    /* t.request_id */
    MSI_F_CLIENT_REQUEST_ID, /* t.client_request_id, nullable */
    MSI_F_STATUS,            /* t.status: OK, ERROR, IN_PROGRESS, ... */
    MSI_F_TIMESTAMP,         /* t.timestamp_ms */
    MSI_F_EXECUTION_TIME,    /* t.execution_time_ms, nullable */
    MSI_F_END_TIME,          /* timestamp_ms + coalesce(execution_time_ms, 0) */
    MSI_F_TAG,               /* trace_tags[key] */
    MSI_F_METADATA,          /* trace_request_metadata[key] */
    MSI_F_PROMPT,            /* a linked prompt "name/version" */
    MSI_F_SPAN_NAME,         /* spans.name */
    MSI_F_SPAN_TYPE,         /* spans.type (decoded mlflow.spanType) */
    MSI_F_SPAN_STATUS,       /* spans.status: OK, ERROR, UNSET */
    MSI_F_SPAN_ATTR,         /* spans.content matched around "key" */
    MSI_F_SPAN_CONTENT,      /* spans.content (trace.text) */
    MSI_F_FEEDBACK,          /* assessments of type feedback named key */
    MSI_F_EXPECTATION,       /* assessments of type expectation named key */
    MSI_F_ISSUE,             /* assessments of type issue named value */
};

enum msi_cmp {
    MSI_C_EQ = 1,
    MSI_C_NE,
    MSI_C_LT,
    MSI_C_LE,
    MSI_C_GT,
    MSI_C_GE,
    MSI_C_LIKE,
    MSI_C_ILIKE,
    MSI_C_RLIKE,
    MSI_C_IN,
    MSI_C_NOT_IN,
    MSI_C_IS_NULL,
    MSI_C_IS_NOT_NULL,
};

enum msi_vkind {
    MSI_V_NONE = 0, /* IS NULL / IS NOT NULL */
    MSI_V_STRING,
    MSI_V_NUMBER,
    MSI_V_LIST,
};

struct msi_clause {
    enum msi_field field;
    enum msi_cmp cmp;
    enum msi_vkind vkind;
    char *key;           /* tag/metadata/feedback/attribute key, NUL-terminated; else NULL */
    size_t key_len;
    char *str;           /* MSI_V_STRING: the text between the quotes, as written */
    size_t str_len;
    bool num_is_int;     /* MSI_V_NUMBER: an integer (i) or not (d) */
    int64_t num_i;
    double num_d;        /* always set for numbers */
    char **list;         /* MSI_V_LIST */
    size_t *list_len;
    size_t n_list;
    bool bare_timestamp; /* written as plain timestamp or timestamp_ms */
    void *regex;         /* RLIKE: compiled pcre2_code, NULL if it does not compile */
    /* byte offsets into the filter text, for messages */
    size_t field_off, field_len, cmp_off, cmp_len, value_off, value_len;
};

struct ms_filter {
    struct msi_clause *clauses;
    size_t n;
    char *text; /* the filter as given, for stores that take text (REST) */
};

enum msi_order_kind {
    MSI_O_TIMESTAMP = 1,
    MSI_O_EXECUTION_TIME,
    MSI_O_STATUS,
    MSI_O_REQUEST_ID,
    MSI_O_EXPERIMENT_ID,
    MSI_O_TAG,      /* key; name -> mlflow.traceName */
    MSI_O_METADATA, /* key; run_id -> mlflow.sourceRun */
};

struct msi_order_key {
    enum msi_order_kind kind;
    char *key; /* tag or metadata key, else NULL */
    size_t key_len;
    bool asc;
};

/* The user's keys first (n_user of them), then MLflow's tie-breaks. */
struct ms_order {
    struct msi_order_key *keys;
    size_t n;
    size_t n_user;
};

/* ---- helpers shared between files (util.c) ---- */

/* SQLite LIKE with PRAGMA case_sensitive_like=ON and no ESCAPE: '%' any run
 * of characters, '_' one UTF-8 character; icase folds ASCII letters only
 * (SQLite's lower()). */
bool msi_like(const char *s, size_t n, const char *pat, size_t pn, bool icase);
/* Compiles an RLIKE pattern (Python re.search semantics approximated by
 * PCRE2, UTF-8); NULL if it does not compile or memory runs out. */
void *msi_regex_compile(const char *pat, size_t n);
void msi_regex_free(void *re);
/* re.search: does the pattern match anywhere in s? false for a NULL re. */
bool msi_regex_search(void *re, const char *s, size_t n);
/* Python's json.dumps(s) appended to b; ascii = ensure_ascii. */
struct msx_buf;
void msi_json_dumps_str(struct msx_buf *b, const char *s, size_t n, bool ascii);
/* The spans.content patterns MLflow builds for span.attributes.<key>:
 * RLIKE's regex and the LIKE-style pattern of every other comparator. New
 * strings (free()), NULL when out of memory. */
char *msi_span_attr_regex(const char *key, const char *v, size_t vn, size_t *len);
char *msi_span_attr_like(const char *key, const char *v, size_t vn, size_t *len);
/* The state name as stored in trace_info.status. */
const char *msi_state_name(ms_trace_state s);
/* The span status as stored in spans.status. */
const char *msi_span_status_name(ms_status_code c);
/* Is the clause about spans (needs a span to match)? */
bool msi_field_is_span(enum msi_field f);

/* The start-time pruning MLflow applies to span filters: spans must start
 * at or after (max lower timestamp bound - 10 s). Returns false when the
 * filter has no such bound. */
bool msi_span_start_bound_ns(const ms_filter *f, int64_t *bound_ns);

#endif
