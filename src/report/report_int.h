/* SPDX-License-Identifier: MIT
 *
 * Internal to src/report/: the state of a report being written, the small
 * row kept per session for the overview, escaping for each output context
 * (escape.c), and the two renderers (report_html.c, report_md.c). Nothing
 * here opens a store or a file: sessions come in, bytes go to a callback.
 */
#ifndef MS_REPORT_INT_H
#define MS_REPORT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "mlsession/patterns.h"
#include "mlsession/report.h"
#include "util/buf.h"

/* A hard cap on one rendered session section. */
#define MSI_REPORT_CAP_SECTION ((size_t)1 << 30)
/* Bytes of one message, document, attribute value shown before a cut. */
#define MSI_REPORT_TEXT_MAX 4000
/* Spans listed per turn in the span tree. */
#define MSI_REPORT_SPANS_MAX 2000
/* Sessions drawn in the context-growth chart; turns per session there. */
#define MSI_REPORT_GROWTH_SESSIONS 40
#define MSI_REPORT_GROWTH_TURNS 200

/* One overview row; strings owned. */
struct msi_report_row {
    char *session_id;
    size_t session_id_len;
    char *user_id;
    size_t user_id_len;
    char *experiment_id;
    size_t experiment_id_len;
    int64_t turns;
    int64_t first_ms, duration_ms, busy_ms, idle_ms;
    int64_t tokens_input, tokens_output, tokens_cached;
    bool has_tokens;
    bool has_cached;    /* some turn recorded cached input tokens */
    int64_t errors;     /* turns in ERROR */
    size_t by_sev[3];   /* findings by severity */
    int64_t cause_turn; /* first cause.root's cause turn, 0 if none */
    int64_t symptom_first, symptom_last; /* its symptom turns after the cause, 0 if none */
    bool detailed;      /* has a section */
    size_t index;       /* order added, from 0: anchors s<index> */
};

/* Peak input tokens per turn of one session, for the growth chart
 * (-1: no usage at that turn). */
struct msi_report_series {
    size_t row;
    int64_t *peak;
    size_t n;
};

/* Per-turn numbers and marks of the session being rendered. */
struct msi_turn_info {
    int64_t in, out, cached; /* -1 when not recorded */
    int64_t peak_in;         /* the largest input of one call in the turn, -1 if none */
    bool is_cause, is_symptom, is_error;
    size_t n_findings;
};

struct ms_report {
    struct ms_report_options o;
    struct ms_analyze_options ao;
    ms_report_write_fn write;
    void *ctx;
    ms_code status;
    struct msx_buf buf; /* one section at a time, reused */
    struct msi_report_row *rows;
    size_t n_rows, cap_rows;
    struct msi_report_series *series;
    size_t n_series;
    ms_patterns *pat;
    size_t n_findings;
    bool finished;
    ms_code_links *links; /* the session being rendered, with --source */
};

/* ---- escape.c ------------------------------------------------------------ */

/* HTML text or double-quoted attribute: & < > " ' escaped; \n and \t kept
 * (shown by white-space: pre-wrap); other control characters, C1 controls
 * and bidi overrides shown as visible \xNN / \uNNNN text; invalid UTF-8 as
 * U+FFFD. At most max bytes of s (0: all), cut on a code point, followed by
 * a note of what was left out. */
void msi_html(struct msx_buf *b, ms_str s, size_t max);
void msi_htmlz(struct msx_buf *b, const char *z);
/* Markdown text, outside code: control characters visible as above,
 * Markdown's specials and HTML's < > & escaped, newlines as "<br>" when
 * in_table else kept. */
void msi_md(struct msx_buf *b, ms_str s, size_t max, bool in_table);
/* Percent-encodes every byte but RFC 3986 unreserved ones (for one URL
 * path segment or query value). */
void msi_url_component(struct msx_buf *b, ms_str s);

/* ---- report.c: helpers shared by the renderers -------------------------- */

ms_str msi_s(const char *z);
void msi_duration(struct msx_buf *b, int64_t ms);
void msi_time(struct msx_buf *b, int64_t ms); /* RFC 3339 UTC */
bool msi_is_root(const ms_finding *f);
/* The turn's tokens: the trace's usage, else the sum of its spans'. */
void msi_turn_tokens(const ms_turn *t, struct msi_turn_info *ti);
/* a - b, saturated to int64. */
int64_t msi_sub(int64_t a, int64_t b);
/* A span's duration in ms (end >= start), exact for any int64 times. */
int64_t msi_span_ms(int64_t start_ns, int64_t end_ns);
/* a * b / c without overflow (c > 0), rounded down; clamps to int64. */
int64_t msi_muldiv(int64_t a, int64_t b, int64_t c);
/* A span's decoded inputs/outputs (owned in *owned) or the raw value. */
ms_str msi_span_io(const ms_span *s, bool output, char **owned);
const char *msi_role_name(ms_role r);

/* ---- the renderers ------------------------------------------------------- */

void msi_html_head(struct ms_report *r, struct msx_buf *b);
void msi_html_session(struct ms_report *r, struct msx_buf *b, const ms_session *s,
                      const ms_findings *f, const struct msi_turn_info *ti,
                      const struct msi_report_row *row);
void msi_html_tail(struct ms_report *r, struct msx_buf *b, const ms_patterns_result *pr);

void msi_md_head(struct ms_report *r, struct msx_buf *b);
void msi_md_session(struct ms_report *r, struct msx_buf *b, const ms_session *s,
                    const ms_findings *f, const struct msi_turn_info *ti,
                    const struct msi_report_row *row);
void msi_md_tail(struct ms_report *r, struct msx_buf *b, const ms_patterns_result *pr);

#endif
