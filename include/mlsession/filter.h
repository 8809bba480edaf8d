/* SPDX-License-Identifier: MIT
 *
 * filter.h - MLflow's trace filter language (`mlflow traces search
 * --filter-string`) and its order_by clauses, parsed once and then
 * evaluated in memory or compiled to SQL by a store.
 */
#ifndef MLSESSION_FILTER_H
#define MLSESSION_FILTER_H

#include <stdbool.h>

#include "mlsession/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ms_filter ms_filter;

/* Parses a filter string. NULL or blank text gives a filter that matches
 * every trace. On a syntax error: MS_E_PARSE, err->offset = the byte where
 * the error is, err->msg says what was expected. Returns a new filter; free
 * with ms_filter_free(). */
MS_API ms_code ms_filter_parse(const char *text, ms_filter **out, struct ms_error *err);
MS_API void ms_filter_free(ms_filter *f); /* NULL ok */
/* The filter's text as given to ms_filter_parse() ("" for none). Borrowed. */
MS_API const char *ms_filter_text(const ms_filter *f);
/* Does evaluating f need the traces' spans (span.*, trace.text)? */
MS_API bool ms_filter_needs_spans(const ms_filter *f);
/* Does trace t match? Spans must be loaded if ms_filter_needs_spans(). */
MS_API bool ms_filter_match(const ms_filter *f, const ms_trace *t);

/* Matches a whole candidate set at once (every trace of the searched
 * experiments), as MLflow's SQL store does: a session-level assessment (on
 * a session's first trace, with mlflow.trace.session in its metadata)
 * counts for every trace of that session in the set. keep[i] says whether
 * traces[i] matches. false when out of memory. */
MS_API bool ms_filter_match_set(const ms_filter *f, const ms_trace *const *traces, size_t n,
                                bool *keep);

typedef struct ms_order ms_order;
/* Parses order_by clauses ("timestamp_ms DESC", "trace.status", ...) as
 * MLflow does; MLflow's default (timestamp_ms DESC, then request_id ASC) is
 * appended as tie-break. n == 0 gives the default order. */
MS_API ms_code ms_order_parse(const char *const *clauses, size_t n, ms_order **out,
                              struct ms_error *err);
MS_API void ms_order_free(ms_order *o);
/* <0, 0, >0 like strcmp: a before b in this order. */
MS_API int ms_order_compare(const ms_order *o, const ms_trace *a, const ms_trace *b);

#ifdef __cplusplus
}
#endif
#endif
