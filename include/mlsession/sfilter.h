/* SPDX-License-Identifier: MIT
 *
 * sfilter.h - the session filter language of `mlsession sessions list
 * --filter` (docs/filters.md). A filter is a boolean expression over a
 * session's aggregates (turns, tokens.total, errors, duration, idle.max,
 * user, score.NAME, ...) and over its turns through per-turn predicates
 * ("atoms": any(...), all(...), input contains '...'). Atoms are evaluated
 * once per trace - compiled to SQL where the store allows, in memory
 * otherwise - and folded into ms_session_summary.atoms_any/atoms_all; the
 * whole expression is then evaluated on the summary.
 *
 * A comparison with a missing value (no user, no tokens, an absent tag, a
 * scorer error) is false whatever its operator; `not` negates the result.
 */
#ifndef MLSESSION_SFILTER_H
#define MLSESSION_SFILTER_H

#include <stdbool.h>

#include "mlsession/session.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ms_sfilter ms_sfilter;

#define MS_SFILTER_MAX_ATOMS 64

/* Parses a session filter. NULL or blank text matches every session. On a
 * syntax error: MS_E_PARSE, err->offset = the byte at fault, err->msg says
 * what was expected. Free with ms_sfilter_free(). */
MS_API ms_code ms_sfilter_parse(const char *text, ms_sfilter **out, struct ms_error *err);
MS_API void ms_sfilter_free(ms_sfilter *f); /* NULL ok */
MS_API const char *ms_sfilter_text(const ms_sfilter *f);

/* The per-turn predicates, numbered 0..count-1 (at most
 * MS_SFILTER_MAX_ATOMS). */
MS_API size_t ms_sfilter_atom_count(const ms_sfilter *f);
/* Does atom i need the trace's spans? */
MS_API bool ms_sfilter_atom_needs_spans(const ms_sfilter *f, size_t i);
/* Does trace t (one turn) satisfy atom i? Spans loaded if needed (a span
 * predicate on a trace without spans is false). false for i >= count. */
MS_API bool ms_sfilter_atom_match(const ms_sfilter *f, size_t i, const ms_trace *t);
/* Does the session match? Uses s->atoms_any / atoms_all for the atoms. */
MS_API bool ms_sfilter_match(const ms_sfilter *f, const ms_session_summary *s);

#ifdef __cplusplus
}
#endif
#endif
