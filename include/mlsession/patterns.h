/* SPDX-License-Identifier: MIT
 *
 * patterns.h - failure patterns across sessions (docs/patterns.md): how
 * many turns sessions have, at which turn the first error comes (as a
 * hazard: of the sessions that reached turn n), where users abandon, the
 * commonest error types, failing spans and findings, how prompts grow,
 * sessions clustered by their span-name signature, and cohorts by a tag or
 * metadata key compared with a small-sample guard.
 *
 * Deterministic: every list is sorted by count, then by key bytes; no
 * clock, no hash order. Works on every store kind: sessions come from
 * ms_sessions_list (one lean scan, SQL where the store has it) and are
 * loaded in batches by ms_sessions_foreach.
 */
#ifndef MLSESSION_PATTERNS_H
#define MLSESSION_PATTERNS_H

#include <stdbool.h>

#include "mlsession/analyze.h"
#include "mlsession/session.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MS_PAT_EXAMPLES 3

struct ms_patterns_options {
    int version;                               /* 1 */
    const struct ms_analyze_options *analyze;  /* NULL: defaults, every rule */
    const char *by;   /* cohort key: a metadata key, else tag, of turn 1; NULL: none */
    size_t top;       /* entries per ranked list; 0: 10 */
    int64_t min_cohort; /* sessions a cohort needs to be compared; <= 0: 5 */
};
MS_API void ms_patterns_options_init(struct ms_patterns_options *o);

/* A ranked entry: an error type, a failing span name, a rule id, a
 * signature. count = occurrences (for signatures: sessions); sessions =
 * distinct sessions; examples = the first session ids in visiting order. */
typedef struct ms_pat_entry {
    ms_str key;
    int64_t count;
    int64_t sessions;
    ms_str examples[MS_PAT_EXAMPLES];
    size_t n_examples;
} ms_pat_entry;

/* Nearest-rank order statistics over n values (all 0 when n == 0). */
typedef struct ms_pat_dist {
    int64_t n;
    int64_t min, median, p90, max;
    int64_t sum;
} ms_pat_dist;

/* One histogram bar: values in [lo, hi] (hi == INT64_MAX: and above). */
typedef struct ms_pat_bucket {
    int64_t lo, hi;
    int64_t count;
} ms_pat_bucket;

/* Turn index n: reached = sessions with >= n turns; first_error = sessions
 * whose first error is at n; ended = sessions with exactly n turns;
 * abandoned = of those, the ones ending right after a problem. */
typedef struct ms_pat_turn {
    int64_t turn;
    int64_t reached;
    int64_t first_error;
    int64_t ended;
    int64_t abandoned;
} ms_pat_turn;

typedef struct ms_pat_cohort {
    ms_str value;       /* the key's value; {NULL,0} when missing */
    bool missing;
    int64_t sessions;
    int64_t turns;
    int64_t errored;    /* sessions with a first-error turn */
    int64_t failing;    /* sessions with an assessment.failing finding */
    int64_t abandoned;
    ms_pat_dist first_error_turns; /* over its sessions with a first error */
    int64_t with_tokens;/* sessions that recorded token usage */
    int64_t tokens;     /* their total tokens */
    ms_pat_entry *findings; /* top rules by sessions */
    size_t n_findings;
    ms_str examples[MS_PAT_EXAMPLES];
    size_t n_examples;
} ms_pat_cohort;

/* A metric of one cohort against all other sessions, listed only when both
 * sides have min_cohort sessions. Rates: a_num/a_den vs b_num/b_den. Means
 * (turns, tokens): a_num/a_den is the sum and count. z is the
 * two-proportion z statistic (rates) or Welch's (means), capped at +-99;
 * significant when |z| >= 1.96. */
typedef struct ms_pat_diff {
    const char *metric;   /* static: "error_rate", "failing_rate",
                             "abandon_rate", "mean_turns", "mean_tokens" */
    size_t cohort;        /* index into cohorts */
    int64_t a_num, a_den, b_num, b_den;
    double a, b;          /* the two rates or means */
    double z;
    bool significant;
} ms_pat_diff;

typedef struct ms_patterns_result {
    int64_t sessions;
    int64_t turns;
    ms_pat_dist turns_dist;     /* turns per session */
    ms_pat_bucket *turn_hist;   /* sessions by exact turn count, ascending */
    size_t n_turn_hist;
    ms_pat_turn *by_turn;       /* turn 1..max */
    size_t n_by_turn;
    int64_t errored;            /* sessions with a first-error turn */
    int64_t abandoned;
    ms_pat_dist first_error_turns; /* the first-error turn of those sessions */
    ms_pat_entry *error_types;  /* exception.type of failing spans */
    size_t n_error_types;
    ms_pat_entry *failing_spans;/* names of spans in ERROR */
    size_t n_failing_spans;
    ms_pat_entry *findings;     /* rule ids, by findings */
    size_t n_findings;
    ms_pat_dist growth;         /* per-turn growth of the peak input tokens */
    ms_pat_bucket *growth_hist;
    size_t n_growth_hist;
    int64_t shape_linear, shape_accelerating, shape_none, shape_no_tokens;
    ms_pat_entry *signatures;   /* clusters: key = signature, count = sessions */
    size_t n_signatures;
    int64_t n_signature_clusters; /* distinct signatures, before top */
    const char *by;             /* the cohort key, or NULL */
    ms_pat_cohort *cohorts;     /* most sessions first */
    size_t n_cohorts;
    ms_pat_diff *diffs;         /* the largest differences first */
    size_t n_diffs;
    int64_t min_cohort;
    int64_t n_diffs_small;      /* differences left out: a side had < min_cohort */
} ms_patterns_result;

typedef struct ms_patterns ms_patterns;

/* Lists the sessions of q (its filter and experiments; with_trace_ids is
 * forced), analyzes each and aggregates. Returns a new result; free with
 * ms_patterns_free(). */
MS_API ms_code ms_patterns_compute(ms_store *st, const struct ms_session_query *q,
                                   const struct ms_patterns_options *o, ms_patterns **out,
                                   struct ms_error *err);

/* The same piece by piece, for sessions already in memory: new, then add
 * each session with its findings (f may be NULL: analyzed here with
 * o->analyze), then finish. Sessions and findings are copied as needed. */
MS_API ms_code ms_patterns_new(const struct ms_patterns_options *o, ms_patterns **out);
MS_API ms_code ms_patterns_add(ms_patterns *p, const ms_session *s, const ms_findings *f,
                               struct ms_error *err);
MS_API ms_code ms_patterns_finish(ms_patterns *p, struct ms_error *err);

/* Borrowed; valid until ms_patterns_free(). NULL before finish. */
MS_API const ms_patterns_result *ms_patterns_get(const ms_patterns *p);
MS_API void ms_patterns_free(ms_patterns *p); /* NULL ok */

/* The result as JSON (docs/patterns.md, "JSON form"), 2-space indented,
 * with schema_version; new buffer, free with free(). */
MS_API ms_code ms_patterns_to_json(const ms_patterns *p, char **out, size_t *len);

/* The signature of one turn: names of its TOOL, RETRIEVER, LLM and
 * CHAT_MODEL spans by start time, consecutive repeats collapsed, joined
 * with " > "; "-" when none. New string, free with free(). */
MS_API char *ms_patterns_turn_signature(const ms_turn *t);

#ifdef __cplusplus
}
#endif
#endif
