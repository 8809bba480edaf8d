/* SPDX-License-Identifier: MIT
 *
 * report.h - one self-contained report of sessions, in HTML or Markdown
 * (docs/report.md): an overview table of the sessions, and per session a
 * timeline of its turns with idle gaps to scale, per-turn token and latency
 * charts, the findings with their evidence and cause chains, the transcript
 * and the span trees; across sessions, the failure rate by turn index and
 * how prompts grow.
 *
 * The HTML needs nothing outside the file: a Content-Security-Policy that
 * forbids every fetch, inline CSS, charts as inline SVG computed here with
 * exact int64 arithmetic, and a small inline script (sorting the overview)
 * that reads text only through textContent. Every string that comes from a
 * trace is escaped for the context it lands in; none goes into a script or
 * a style.
 *
 * Streaming: sessions are added one at a time (from ms_sessions_foreach),
 * each rendered and written at once; only a small row per session is kept
 * for the overview, which is written by ms_report_finish (in HTML shown
 * first by the layout; in Markdown placed at the end, linked from the top).
 * The library never opens a file: output goes to the caller's callback.
 */
#ifndef MLSESSION_REPORT_H
#define MLSESSION_REPORT_H

#include <stdbool.h>

#include "mlsession/analyze.h"
#include "mlsession/code.h"
#include "mlsession/session.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ms_report_format {
    MS_REPORT_HTML = 0,
    MS_REPORT_MD = 1,
} ms_report_format;

/* Receives the report's bytes in order; returns MS_OK or an error code
 * (MS_E_IO) that stops the report. */
typedef ms_code (*ms_report_write_fn)(void *ctx, const char *p, size_t n);

struct ms_report_options {
    int version;                               /* 1 */
    ms_report_format format;
    const char *title;                         /* NULL: "mlsession report" */
    const char *store;                         /* shown as the source (no password); may be NULL */
    /* The tracking server's base URL (http:// or https://, no user info):
     * each trace and session then links to MLflow's UI. NULL: no links. */
    const char *ui_base_url;
    const struct ms_analyze_options *analyze;  /* NULL: defaults */
    /* Sessions rendered in full; the rest are listed in the overview only,
     * with a note. 0: 300. */
    size_t max_detail;
    /* Session sections open (unfolded) at load; the rest start folded.
     * 0: 10. */
    size_t max_open;
    /* An index of the application's source (code.h, --source): each
     * finding then shows the code it links to. NULL: none. */
    const struct ms_code_index *code;
};
MS_API void ms_report_options_init(struct ms_report_options *o);

typedef struct ms_report ms_report;

/* Starts a report and writes its head. o and the strings it points to are
 * borrowed until ms_report_free(). */
MS_API ms_code ms_report_begin(const struct ms_report_options *o, ms_report_write_fn write,
                               void *ctx, ms_report **out, struct ms_error *err);
/* Analyzes s (with o->analyze) and writes its section; s may be freed after
 * the call. */
MS_API ms_code ms_report_add_session(ms_report *r, const ms_session *s, struct ms_error *err);
/* Writes the overview, the charts across sessions and the end. */
MS_API ms_code ms_report_finish(ms_report *r, struct ms_error *err);
MS_API void ms_report_free(ms_report *r); /* NULL ok */

/* Counts after finish, for the caller's summary line. */
MS_API size_t ms_report_sessions(const ms_report *r);
MS_API size_t ms_report_findings(const ms_report *r);

/* HTML-escapes n bytes of s (text and quoted-attribute contexts: & < > " '
 * and control characters; invalid UTF-8 becomes U+FFFD) into a new
 * NUL-terminated string; free with free(). NULL when out of memory. */
MS_API char *ms_html_escape(const char *s, size_t n);

#ifdef __cplusplus
}
#endif
#endif
