/* SPDX-License-Identifier: MIT
 *
 * analyze_int.h - the contract between the analyzers and the findings core.
 * One analyzer per file (errors.c, assessments.c, context.c, timing.c,
 * integrity.c, friction.c, loops.c, cause.c), each exporting one
 * struct msi_analyzer that rules.c lists in running order; cause runs last
 * and reads the symptoms the others found. Analyzers never print, never
 * fail on odd content (skip what cannot be read) and return MS_E_NOMEM
 * only.
 */
#ifndef MSI_ANALYZE_INT_H
#define MSI_ANALYZE_INT_H

#include "mlsession/analyze.h"
#include "util/arena.h"

struct msi_ctx {
    const ms_session *s;
    const struct ms_analyze_options *o;
    ms_findings *out;       /* findings so far (earlier analyzers' too) */
    struct msx_arena *tmp;  /* scratch for the analyzer; reset after it runs */
};

/* Adds a finding. turn may be NULL (whole session); span_id, path and
 * excerpt may be NULL; excerpt is abbreviated (UTF-8 safe) to 200 bytes.
 * Every string is copied. Returns the finding (valid until the next add)
 * or NULL when out of memory. */
#if defined(__GNUC__)
__attribute__((format(printf, 8, 9)))
#endif
ms_finding *msi_finding_add(struct msi_ctx *c, const char *rule, ms_severity sev,
                            const ms_turn *turn, ms_str span_id, ms_str path, ms_str excerpt,
                            const char *fmt, ...);
/* Appends a link to f's cause chain (call in order: cause first). */
bool msi_finding_link(struct msi_ctx *c, ms_finding *f, const ms_turn *turn, ms_str span_id,
                      ms_str path, ms_str excerpt, const char *why);

/* The findings so far: count and i-th (mutable, for cause.c to read). */
size_t msi_findings_count(const ms_findings *f);
const ms_finding *msi_findings_at(const ms_findings *f, size_t i);

struct msi_analyzer {
    const char *name;              /* "errors" */
    const ms_rule_info *rules;     /* the rule ids it may emit */
    size_t n_rules;
    ms_code (*run)(struct msi_ctx *c);
};

extern const struct msi_analyzer msi_analyzer_errors;
extern const struct msi_analyzer msi_analyzer_assessments;
extern const struct msi_analyzer msi_analyzer_context;
extern const struct msi_analyzer msi_analyzer_timing;
extern const struct msi_analyzer msi_analyzer_integrity;
extern const struct msi_analyzer msi_analyzer_friction;
extern const struct msi_analyzer msi_analyzer_loops;
extern const struct msi_analyzer msi_analyzer_cause;

/* Is rule id (or its family) selected by the options? */
bool msi_rule_selected(const struct ms_analyze_options *o, const char *rule);

/* Spans by id: the span ids sorted once per trace, so looking a span up
 * (a parent, a tool call's span) is O(log n), not a scan: a runaway agent
 * leaves tens of thousands of spans in one turn (spanindex.c). */
struct msi_span_index {
    const ms_span **by; /* sorted by span_id */
    long *par;          /* each span's parent index, -1 for none */
    const ms_trace *t;
};
/* Builds the index of t's spans in arena a; false when out of memory. */
bool msi_span_index_build(struct msx_arena *a, const ms_trace *t, struct msi_span_index *x);
/* Index of the span with this id (hex, as ms_span.span_id), or -1. */
long msi_span_find(const struct msi_span_index *x, ms_str id);

/* ms_str from a C string ({NULL,0} for NULL). */
static inline ms_str msi_s(const char *p)
{
    ms_str s = {p, 0};
    if (p)
        while (p[s.len])
            s.len++;
    return s;
}

#endif
