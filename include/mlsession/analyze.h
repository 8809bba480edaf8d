/* SPDX-License-Identifier: MIT
 *
 * analyze.h - findings: what went wrong in a session, at which turn, with
 * evidence anyone can check, and the turn where it started. Analyzers are
 * deterministic functions of an ms_session (session.h); each lives in one
 * file of src/analyze/ and is registered in one table (src/analyze/rules.c).
 * Rule ids are stable and documented in docs/rules.md.
 */
#ifndef MLSESSION_ANALYZE_H
#define MLSESSION_ANALYZE_H

#include <stdbool.h>

#include "mlsession/session.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ms_severity {
    MS_SEV_INFO = 0,
    MS_SEV_WARN = 1,
    MS_SEV_ERROR = 2,
} ms_severity;

/* One link of a cause chain: a turn and what of it is carried on. */
typedef struct ms_link {
    int64_t turn;        /* from 1 */
    ms_str trace_id;
    ms_str span_id;      /* {NULL,0} if the whole turn */
    ms_str path;         /* JSON path of the evidence inside the turn */
    ms_str excerpt;      /* the carried content, abbreviated */
    ms_str why;          /* "retrieved document kb-101 reused", ... */
} ms_link;

typedef struct ms_finding {
    const char *rule;    /* static: "error.trace", "cause.root", ... */
    ms_severity severity;
    ms_str session_id;
    int64_t turn;        /* from 1; 0 for the whole session */
    ms_str trace_id;     /* {NULL,0} for the whole session */
    ms_str span_id;      /* {NULL,0} if not one span */
    ms_str path;         /* JSON path of the evidence: "spans[2].attributes.\"exception.message\"",
                            "info.assessments[0]", ... {NULL,0} if none */
    ms_str message;      /* one line */
    ms_str excerpt;      /* the evidence, abbreviated, {NULL,0} if none */
    ms_link *chain;      /* causes: cause first, symptom last */
    size_t n_chain;
} ms_finding;

/* Settings shared by the analyzers; ms_analyze_options_init() fills the
 * defaults. */
struct ms_analyze_options {
    int version;                 /* 1 */
    int64_t idle_gap_ms;         /* timing.idle_gap threshold; default 30 min */
    /* context windows by model name, overriding and extending the built-in
     * table: "acme-small-4k=4096,gpt-4o=128000" */
    const char *model_windows;
    const char *const *rules;    /* only these rules or families ("context",
                                    "error.trace"); NULL/0 = all */
    size_t n_rules;
};
MS_API void ms_analyze_options_init(struct ms_analyze_options *o);

typedef struct ms_findings ms_findings;

/* Runs every selected analyzer on the session, then the root-cause walk on
 * their symptoms. Findings are sorted: root causes first, then by severity
 * (most severe first), turn, rule. Strings are copied: the findings outlive
 * the session. Free with ms_findings_free(). */
MS_API ms_code ms_analyze_session(const ms_session *s, const struct ms_analyze_options *o,
                                  ms_findings **out, struct ms_error *err);
MS_API void ms_findings_free(ms_findings *f); /* NULL ok */
MS_API size_t ms_findings_count(const ms_findings *f);
MS_API const ms_finding *ms_findings_at(const ms_findings *f, size_t i);
/* The most severe finding's severity, or -1 when there are none. */
MS_API int ms_findings_max_severity(const ms_findings *f);

/* The registered rules, for --rules, docs and --help. */
typedef struct ms_rule_info {
    const char *id;         /* "context.window" */
    const char *analyzer;   /* "context" */
    ms_severity severity;   /* the usual severity */
    const char *summary;    /* one line */
} ms_rule_info;
MS_API size_t ms_rule_count(void);
MS_API const ms_rule_info *ms_rule_at(size_t i);

MS_API const char *ms_severity_name(ms_severity s); /* "info", "warn", "error" */

/* A finding as one JSON object (docs/rules.md, "JSON form"), appended
 * compact to a new buffer; free with free(). */
MS_API ms_code ms_finding_to_json(const ms_finding *f, char **out, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
