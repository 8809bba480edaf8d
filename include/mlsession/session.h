/* SPDX-License-Identifier: MIT
 *
 * session.h - conversations: the traces of one chat session grouped, ordered
 * and numbered as turns; per-session aggregates for listing; the transcript
 * of each turn (who said what, which tools ran, which documents came back).
 *
 * The session id of a trace, first found wins: the trace's own session
 * column (newer schemas, shown as metadata) > request metadata
 * mlflow.trace.session > tag mlflow.trace.session > legacy tag session_id >
 * root-span attribute session.id / gen_ai.conversation.id. The user alike:
 * metadata mlflow.trace.user > tag mlflow.trace.user > root-span user.id.
 * Turns are ordered by request time, then trace id, numbered from 1.
 */
#ifndef MLSESSION_SESSION_H
#define MLSESSION_SESSION_H

#include <stdbool.h>

#include "mlsession/store.h"
#include "mlsession/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where a trace's session id came from. */
typedef enum ms_sid_source {
    MS_SID_NONE = 0,
    MS_SID_METADATA = 1,   /* session column or metadata mlflow.trace.session */
    MS_SID_TAG = 2,        /* tag mlflow.trace.session */
    MS_SID_LEGACY_TAG = 3, /* tag session_id */
    MS_SID_SPAN_ATTR = 4,  /* root span session.id / gen_ai.conversation.id */
} ms_sid_source;

/* The session id of t ({NULL,0} if none), from its info and, when loaded,
 * its root span (or its earliest span when the root never ended). *src may
 * be NULL. *conflict (may be NULL) is set when two sources name different
 * sessions; the first in the order above wins. Borrowed from t. */
MS_API ms_str ms_trace_session_id(const ms_trace *t, ms_sid_source *src, bool *conflict);
MS_API ms_str ms_trace_user_id(const ms_trace *t);

/* ---- listing: one row of aggregates per session -------------------- */

typedef struct ms_score {
    ms_str name;
    ms_str value_json; /* the assessment's value as JSON text; {NULL,0} on error */
    bool is_error;     /* a scorer failure: no value, never a session failure */
    ms_str rationale;
} ms_score;

typedef struct ms_session_summary {
    ms_str session_id;   /* "" for the unsessioned bucket */
    ms_str user_id;      /* of the first turn that names one */
    ms_str experiment_id;
    int64_t turns;
    ms_str first_trace_id;
    ms_str last_trace_id;
    int64_t first_ms;    /* request time of turn 1 */
    int64_t last_ms;     /* end of the last-ending turn (start if still running) */
    int64_t duration_ms; /* last_ms - first_ms */
    int64_t busy_ms;     /* sum of turn latencies */
    int64_t idle_ms;     /* sum of the gaps between one turn's end and the next start */
    int64_t idle_max_ms; /* the longest such gap */
    int64_t tokens_input, tokens_output, tokens_cached, tokens_total;
    bool has_tokens;     /* some turn recorded token usage */
    double cost;         /* money, as recorded (not a time or token count) */
    bool has_cost;
    int64_t errors;      /* turns in state ERROR */
    int64_t in_progress; /* turns still IN_PROGRESS */
    int64_t latency_p50_ms, latency_p95_ms; /* nearest rank over finished turns; -1 if none */
    ms_str first_input;  /* request preview of turn 1 */
    ms_str last_output;  /* response preview of the last turn */
    ms_score *scores;    /* session-level assessments (valid ones), by name */
    size_t n_scores;
    uint64_t atoms_any;  /* session filter: bit i set if some turn matched atom i */
    uint64_t atoms_all;  /* ... if every turn did */
    ms_str *trace_ids;   /* the turns in order, when asked for (else NULL) */
} ms_session_summary;

typedef enum ms_session_sort {
    MS_SORT_LAST = 0, /* default, newest first */
    MS_SORT_FIRST,
    MS_SORT_TURNS,
    MS_SORT_TOKENS,
    MS_SORT_ERRORS,
    MS_SORT_DURATION,
} ms_session_sort;

struct ms_sfilter; /* the session filter language: sfilter.h */

struct ms_session_query {
    int version;                       /* 1 */
    const char *const *experiment_ids; /* NULL/0 = every experiment */
    size_t n_experiment_ids;
    const struct ms_sfilter *filter;   /* NULL = all */
    ms_session_sort sort;
    bool ascending;
    int64_t limit;                     /* <= 0: no limit */
    bool include_unsessioned;          /* one row with id "" for traces with none */
    bool with_trace_ids;               /* fill ms_session_summary.trace_ids */
    /* called now and then during the scan with the traces seen so far */
    void (*progress)(void *ctx, uint64_t traces);
    void *progress_ctx;
};

typedef struct ms_session_list ms_session_list;

/* Groups every trace of the experiments into sessions in one scan of the
 * store (SQL stores read only the columns needed) and computes the
 * aggregates. Returns a new list; free with ms_session_list_free(). */
MS_API ms_code ms_sessions_list(ms_store *st, const struct ms_session_query *q,
                                ms_session_list **out, struct ms_error *err);
/* The same over traces already in memory (borrowed, any order); spans are
 * used when loaded. */
MS_API ms_code ms_sessions_group(const ms_trace *const *traces, size_t n,
                                 const struct ms_session_query *q, ms_session_list **out,
                                 struct ms_error *err);
MS_API void ms_session_list_free(ms_session_list *l); /* NULL ok */
MS_API size_t ms_session_list_count(const ms_session_list *l);
MS_API const ms_session_summary *ms_session_list_at(const ms_session_list *l, size_t i);
/* Sessions before the filter and limit, and traces seen. */
MS_API size_t ms_session_list_total(const ms_session_list *l);
MS_API size_t ms_session_list_traces(const ms_session_list *l);
/* Problems worth telling (a trace naming two sessions, ...): count, and the
 * text of the first 32. Borrowed. */
MS_API size_t ms_session_list_warning_count(const ms_session_list *l);
MS_API const char *ms_session_list_warning(const ms_session_list *l, size_t i);

/* ---- one session, turn by turn -------------------------------------- */

typedef enum ms_role {
    MS_ROLE_OTHER = 0,
    MS_ROLE_SYSTEM = 1,
    MS_ROLE_USER = 2,
    MS_ROLE_ASSISTANT = 3,
    MS_ROLE_TOOL = 4,
} ms_role;

typedef struct ms_message {
    ms_role role;
    ms_str text;      /* content; text parts joined with "\n" */
    ms_str name;      /* the tool's name for MS_ROLE_TOOL, else {NULL,0} */
    bool truncated;   /* came from a request/response preview, cut by MLflow */
} ms_message;

typedef struct ms_tool_call {
    ms_str name;
    ms_str arguments; /* JSON text as recorded */
    ms_str result;    /* the tool's output as text, {NULL,0} if none */
    ms_str span_id;   /* the TOOL span, {NULL,0} if the call is only in a message */
    bool failed;      /* span ERROR or exception event */
    ms_str error;     /* "Type: message" of the exception, if any */
} ms_tool_call;

typedef struct ms_document {
    ms_str id;        /* the document's id, {NULL,0} if none */
    ms_str uri;       /* metadata doc_uri / source, {NULL,0} if none */
    ms_str text;      /* page_content */
    ms_str span_id;   /* the RETRIEVER span */
    int64_t rank;     /* position in the retriever's answer, from 1 */
} ms_document;

typedef enum ms_io_source {
    MS_IO_NONE = 0,
    MS_IO_SPAN = 1,      /* mlflow.spanInputs / spanOutputs of a span */
    MS_IO_ATTRS = 2,     /* GenAI / OpenInference attributes of a span */
    MS_IO_PREVIEW = 3,   /* request/response previews: truncated */
} ms_io_source;

typedef struct ms_turn {
    int64_t index;          /* from 1 */
    const ms_trace *trace;  /* borrowed, with spans */
    int64_t start_ms;       /* request time */
    int64_t latency_ms;     /* -1 while in progress */
    int64_t gap_ms;         /* start - end of the previous turn; 0 for turn 1;
                               negative when turns overlap */
    /* the transcript (transcript.h fills these) */
    ms_message *input;      /* the messages the turn's input carried, in order */
    size_t n_input;
    size_t first_new;       /* input[first_new..] are new at this turn; the
                               ones before repeat earlier turns (history) */
    bool carries_history;   /* the input repeats earlier turns */
    ms_message *output;     /* the assistant's answer */
    size_t n_output;
    ms_tool_call *tools;
    size_t n_tools;
    ms_document *docs;
    size_t n_docs;
    ms_str io_span_id;      /* the span whose I/O gave the messages */
    ms_io_source io_source;
    const char *shape;      /* static: "messages", "dict", "openai.chat", ... */
} ms_turn;

typedef struct ms_session {
    ms_str session_id;
    ms_str user_id;
    ms_str experiment_id;
    ms_turn *turns;
    size_t n_turns;
    /* session-level assessments: on turn 1 with mlflow.trace.session in
     * their metadata (borrowed from turns[0].trace) */
    const ms_assessment **session_assessments;
    size_t n_session_assessments;
} ms_session;

/* Loads one session with spans and builds every turn's transcript. Looks
 * the session up by metadata, tag and legacy tag (indexed on SQL stores);
 * MS_E_NOTFOUND if no trace names it. Free with ms_session_free(). */
MS_API ms_code ms_session_load(ms_store *st, const char *const *experiment_ids, size_t n_exp,
                               const char *session_id, ms_session **out, struct ms_error *err);
/* Builds a session from traces (borrowed; they must outlive it), ordering
 * them as turns. */
MS_API ms_code ms_session_build(const ms_trace *const *traces, size_t n, ms_session **out,
                                struct ms_error *err);
MS_API void ms_session_free(ms_session *s); /* NULL ok; frees only what it owns */

/* Visits every session of l (built with with_trace_ids), each loaded with
 * spans and its turns built, fetching the traces of many sessions per
 * store query (memory bounded by the batch). The session passed is valid
 * only during the call; fn returns false to stop early. Sessions come in
 * the list's order. */
typedef bool (*ms_session_visit_fn)(void *ctx, const ms_session *s);
MS_API ms_code ms_sessions_foreach(ms_store *st, const ms_session_list *l,
                                   ms_session_visit_fn fn, void *ctx, struct ms_error *err);

/* Streaming, for sessions too long to hold: the same turns, a chunk of
 * traces at a time; memory stays bounded by the chunk. */
typedef struct ms_session_iter ms_session_iter;
MS_API ms_code ms_session_iter_open(ms_store *st, const char *const *experiment_ids,
                                    size_t n_exp, const char *session_id,
                                    ms_session_iter **out, struct ms_error *err);
/* The session's turn count, known after open. */
MS_API int64_t ms_session_iter_turns(const ms_session_iter *it);
/* The next turn, transcript filled; *turn = NULL after the last. Valid until
 * the next call. */
MS_API ms_code ms_session_iter_next(ms_session_iter *it, const ms_turn **turn,
                                    struct ms_error *err);
MS_API void ms_session_iter_close(ms_session_iter *it); /* NULL ok */

#ifdef __cplusplus
}
#endif
#endif
