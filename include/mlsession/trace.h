/* SPDX-License-Identifier: MIT
 *
 * trace.h - the in-memory model of MLflow traces, and reading them from
 * exported JSON. One model whatever form the JSON came in: ids are lowercase
 * hex, times are exact int64, attribute values stay as recorded and are
 * decoded on request.
 *
 * Ownership: every pointer reachable from an ms_trace borrows from the
 * ms_trace_set that produced it and is valid until ms_trace_set_free().
 */
#ifndef MLSESSION_TRACE_H
#define MLSESSION_TRACE_H

#include <stdbool.h>

#include "mlsession/mlsession.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A string map entry (tags, trace metadata, assessment metadata). */
typedef struct ms_kv {
    ms_str key;
    ms_str value;
} ms_kv;

/* An attribute value as recorded. MS_VAL_STRING: value holds the string's
 * bytes; for MLflow's own attributes those bytes are themselves JSON
 * ("\"LLM\""), decode with ms_attr_decode(). MS_VAL_JSON: a non-string value
 * (number, bool, array...), value holds its compact JSON text. */
enum ms_value_kind { MS_VAL_STRING = 0, MS_VAL_JSON = 1 };

typedef struct ms_attr {
    ms_str key;
    ms_str value;
    enum ms_value_kind kind;
} ms_attr;

typedef enum ms_trace_state {
    MS_STATE_UNSPECIFIED = 0,
    MS_STATE_OK = 1,
    MS_STATE_ERROR = 2,
    MS_STATE_IN_PROGRESS = 3,
} ms_trace_state;

typedef enum ms_status_code {
    MS_STATUS_UNSET = 0,
    MS_STATUS_OK = 1,
    MS_STATUS_ERROR = 2,
} ms_status_code;

/* The JSON form a span was decoded from (reference section 3). */
typedef enum ms_span_form {
    MS_FORM_V3 = 1,     /* A: V3 dict, base64 ids (3.0-3.4, 3.5.1+) */
    MS_FORM_V3_HEX = 2, /* B: 3.5.0, tr- trace id and hex span ids */
    MS_FORM_V2 = 3,     /* C: 2.x, "context" with 0x hex ids */
    MS_FORM_OTLP = 4,   /* D: OTLP proto-JSON from REST, attribute list */
} ms_span_form;

/* Token counts; a field counts only if its bit is set in present. */
enum {
    MS_USAGE_INPUT = 1,
    MS_USAGE_OUTPUT = 2,
    MS_USAGE_TOTAL = 4,
    MS_USAGE_CACHE_READ = 8,
    MS_USAGE_CACHE_CREATION = 16,
};
typedef struct ms_token_usage {
    int64_t input_tokens;
    int64_t output_tokens;
    int64_t total_tokens;
    int64_t cache_read_input_tokens;
    int64_t cache_creation_input_tokens;
    unsigned present;
} ms_token_usage;

typedef struct ms_event {
    ms_str name;
    int64_t time_unix_nano; /* as recorded: older MLflow wrote microseconds */
    ms_attr *attrs;         /* plain values, not JSON-encoded */
    size_t n_attrs;
} ms_event;

typedef struct ms_span {
    char trace_id[33];  /* 32 lowercase hex */
    char span_id[17];   /* 16 lowercase hex */
    char parent_id[17]; /* "" for a root span */
    ms_str name;
    ms_str span_type;   /* decoded mlflow.spanType; {NULL,0} if absent */
    int64_t start_ns;
    int64_t end_ns;
    bool has_end;       /* false while the span is running */
    ms_status_code status;
    ms_str status_message;
    ms_attr *attrs;
    size_t n_attrs;
    ms_event *events;
    size_t n_events;
    ms_str links_json;  /* compact JSON array of links; {NULL,0} if none */
    ms_token_usage usage; /* from mlflow.chat.tokenUsage */
    ms_span_form form;
} ms_span;

typedef struct ms_assessment {
    ms_str assessment_id;
    ms_str name;
    ms_str trace_id;
    ms_str span_id;
    ms_str source_type; /* HUMAN, LLM_JUDGE, CODE, ... */
    ms_str source_id;
    int64_t create_time_ns;
    int64_t last_update_time_ns;
    bool has_create_time;
    bool has_last_update_time;
    bool is_expectation;   /* else feedback */
    ms_str value_json;     /* JSON text of the value; {NULL,0} if none */
    ms_str serialized_json;/* expectation.serialized_value as JSON; rare */
    bool has_error;        /* a scorer failure, never a trace failure */
    ms_str error_code;
    ms_str error_message;
    ms_str error_stack_trace;
    ms_str rationale;
    ms_kv *metadata;
    size_t n_metadata;
    ms_str overrides;
    bool valid;            /* false once overridden */
    bool has_valid;
} ms_assessment;

typedef struct ms_trace_info {
    ms_str trace_id;           /* "tr-<32 hex>" or as recorded */
    ms_str client_request_id;
    ms_str location_type;      /* "MLFLOW_EXPERIMENT" */
    ms_str experiment_id;      /* a string, as in JSON */
    ms_str location_json;      /* other locations: compact JSON; else {NULL,0} */
    ms_str request_preview;
    ms_str response_preview;
    int64_t request_time_ms;
    int64_t execution_duration_ms;
    bool has_execution_duration; /* false while running */
    ms_trace_state state;
    ms_kv *metadata;
    size_t n_metadata;
    ms_kv *tags;
    size_t n_tags;
    ms_assessment *assessments;
    size_t n_assessments;
    ms_token_usage usage;      /* from metadata mlflow.trace.tokenUsage */
} ms_trace_info;

typedef struct ms_trace {
    ms_trace_info info;
    ms_span *spans;
    size_t n_spans;
} ms_trace;

typedef struct ms_trace_set ms_trace_set;

/* Reads traces from an export file: `mlflow traces search --output json`
 * (one page or several pages one after another), `mlflow traces get`,
 * JSON Lines of either, a JSON array of traces, or REST get/batchGet replies.
 * A trace seen twice (offset paging) is kept once. Returns a new set; free
 * with ms_trace_set_free(). */
MS_API ms_code ms_trace_set_load_file(const char *path, ms_trace_set **out,
                                      struct ms_error *err);
/* The same from memory; name is used in messages only. Copies nothing it
 * does not need: the set does not keep buf. */
MS_API ms_code ms_trace_set_load_buffer(const char *buf, size_t len, ms_trace_set **out,
                                        struct ms_error *err);
MS_API void ms_trace_set_free(ms_trace_set *set); /* NULL ok */
MS_API size_t ms_trace_set_count(const ms_trace_set *set);
/* Borrowed; i < count. Traces keep file order. */
MS_API const ms_trace *ms_trace_set_at(const ms_trace_set *set, size_t i);
/* Borrowed, or NULL if the id is not there. */
MS_API const ms_trace *ms_trace_set_find(const ms_trace_set *set, const char *trace_id);

/* The token of the next page of a search result, or NULL on the last page
 * (and for sets read from files). Borrowed from the set. */
MS_API const char *ms_trace_set_next_page_token(const ms_trace_set *set);

/* Warnings attached to a search result: the answer is incomplete (a trace's
 * spans could not be read, ...). Count of all; text of the first 32
 * (borrowed). */
MS_API size_t ms_trace_set_warning_count(const ms_trace_set *set);
MS_API const char *ms_trace_set_warning(const ms_trace_set *set, size_t i);

/* A note about a search result that does not make it incomplete (the
 * store's schema is newer than this mlsession knows and was read as far as
 * known), or NULL. Borrowed. */
MS_API const char *ms_trace_set_notice(const ms_trace_set *set);

/* The attribute of that key, or NULL. */
MS_API const ms_attr *ms_span_attr(const ms_span *span, const char *key);
/* Decodes an MLflow attribute value: for MS_VAL_STRING holding JSON, the JSON
 * text inside; a JSON string inside comes back unquoted. Writes a new
 * NUL-terminated string to *out (free with free()); *is_json tells whether the
 * result is JSON text (an object, number...) or plain text. */
MS_API ms_code ms_attr_decode(const ms_attr *a, char **out, size_t *len, bool *is_json);

/* Writes the trace exactly as `mlflow traces get` prints it (Python's
 * json.dumps(trace.to_dict(), indent=2) plus a newline). New buffer in *out,
 * free with free(). */
MS_API ms_code ms_trace_to_json(const ms_trace *t, char **out, size_t *len,
                                struct ms_error *err);

/* Field selection, as `--extract-fields a,b` of MLflow's CLI: dot paths,
 * `backticked` keys with dots, '*' over keys and list items. */
typedef struct ms_fields ms_fields;
MS_API ms_code ms_fields_parse(const char *csv, ms_fields **out);
MS_API void ms_fields_free(ms_fields *f); /* NULL ok */
MS_API size_t ms_fields_count(const ms_fields *f);
MS_API const char *ms_fields_name(const ms_fields *f, size_t i);

/* A search result as `mlflow traces search --output json` prints it:
 * {"traces": [...], "next_page_token": ...}; spans as [] unless
 * include_spans; only the given fields when fields is not NULL (an invalid
 * path on the first trace: MS_E_INVALID). New buffer in *out, free with
 * free(). */
MS_API ms_code ms_search_to_json(const ms_trace_set *set, bool include_spans,
                                 const ms_fields *fields, char **out, size_t *len,
                                 struct ms_error *err);
/* The same as its table mode prints it: the default columns, or fields. */
MS_API ms_code ms_search_to_table(const ms_trace_set *set, const ms_fields *fields, char **out,
                                  size_t *len, struct ms_error *err);
/* ms_trace_to_json() with only the given fields (NULL: all). */
MS_API ms_code ms_trace_to_json_fields(const ms_trace *t, const ms_fields *fields, char **out,
                                       size_t *len, struct ms_error *err);

MS_API const char *ms_trace_state_name(ms_trace_state s);

/* The spans of t depth first, children by start time (spans whose parent
 * is not in the trace start their own tree): order[k] is an index into
 * t->spans, depth[k] its depth. New arrays in *order and *depth (free
 * both); MS_E_NOMEM only. */
MS_API ms_code ms_trace_span_order(const ms_trace *t, size_t **order, int **depth, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
