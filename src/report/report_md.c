/* SPDX-License-Identifier: MIT
 *
 * The Markdown report: the same content as the HTML one, as text. Tables
 * for the numbers (no charts: a per-turn table holds what the charts draw),
 * findings with their evidence and cause chains, the new messages of each
 * turn, and span trees as indented lists. The overview and the numbers
 * across sessions come last (sessions stream), linked from the top. Every
 * trace-derived string goes through msi_md(): Markdown's specials and
 * HTML's < > & are escaped and control characters shown, so no trace text
 * can become markup, a link or a terminal escape.
 */
#include <stdlib.h>
#include <string.h>

#include "report/report_int.h"

#define MD_SPANS_MAX 200

static void t(struct msx_buf *b, ms_str s)
{
    msi_md(b, s, 0, false);
}

static void tc(struct msx_buf *b, ms_str s, size_t max)
{
    msi_md(b, s, max, true);
}

static void tokens(struct msx_buf *b, int64_t v)
{
    if (v < 0)
        msx_buf_adds(b, "-");
    else
        msx_buf_addf(b, "%lld", (long long)v);
}

void msi_md_head(struct ms_report *r, struct msx_buf *b)
{
    msx_buf_adds(b, "# ");
    msi_md(b, msi_s(r->o.title ? r->o.title : "mlsession report"), 0, false);
    msx_buf_adds(b, "\n\n");
    if (r->o.store) {
        msx_buf_adds(b, "Store: ");
        msi_md(b, msi_s(r->o.store), 0, false);
        msx_buf_adds(b, ". ");
    }
    msx_buf_addf(b, "mlsession %s. The [overview of the sessions](#overview) and the "
                    "[numbers across sessions](#across-sessions) are at the end.\n",
                 ms_version());
}

static void where(struct msx_buf *b, int64_t turn)
{
    if (turn > 0)
        msx_buf_addf(b, "turn %lld", (long long)turn);
    else
        msx_buf_adds(b, "session");
}

static void finding(struct msx_buf *b, const ms_finding *f)
{
    bool root = msi_is_root(f);
    msx_buf_addf(b, "- **%s** ", root ? "ROOT CAUSE" : ms_severity_name(f->severity));
    where(b, f->turn);
    msx_buf_addf(b, " `%s`: ", f->rule);
    t(b, f->message);
    msx_buf_adds(b, "\n");
    if (f->trace_id.len || f->span_id.len || f->path.len) {
        msx_buf_adds(b, "  - evidence:");
        if (f->trace_id.len) {
            msx_buf_adds(b, " trace ");
            t(b, f->trace_id);
        }
        if (f->span_id.len) {
            msx_buf_adds(b, " span ");
            t(b, f->span_id);
        }
        if (f->path.len) {
            msx_buf_adds(b, " path ");
            t(b, f->path);
        }
        msx_buf_adds(b, "\n");
    }
    if (f->excerpt.len) {
        msx_buf_adds(b, "  - excerpt: &ldquo;");
        tc(b, f->excerpt, 600);
        msx_buf_adds(b, "&rdquo;\n");
    }
    for (size_t i = 0; i < f->n_chain; i++) {
        const ms_link *l = &f->chain[i];
        msx_buf_addf(b, "  %zu. %s, ", i + 1,
                     i == 0 || l->turn == f->chain[0].turn ? "cause" : "symptom");
        where(b, l->turn);
        if (l->why.len) {
            msx_buf_adds(b, ": ");
            t(b, l->why);
        }
        if (l->span_id.len) {
            msx_buf_adds(b, " (span ");
            t(b, l->span_id);
            msx_buf_adds(b, ")");
        }
        if (l->excerpt.len) {
            msx_buf_adds(b, " &ldquo;");
            tc(b, l->excerpt, 600);
            msx_buf_adds(b, "&rdquo;");
        }
        msx_buf_adds(b, "\n");
    }
}

static void message(struct msx_buf *b, const ms_message *m)
{
    msx_buf_addf(b, "- **%s**", msi_role_name(m->role));
    if (m->role == MS_ROLE_TOOL && m->name.len) {
        msx_buf_adds(b, " (");
        t(b, m->name);
        msx_buf_adds(b, ")");
    }
    msx_buf_adds(b, ": ");
    tc(b, m->text, MSI_REPORT_TEXT_MAX);
    if (m->truncated)
        msx_buf_adds(b, " (preview, cut by MLflow)");
    msx_buf_adds(b, "\n");
}

static void span_list(struct msx_buf *b, const ms_trace *tr)
{
    size_t *order = NULL, n = 0;
    int *depth = NULL;
    if (ms_trace_span_order(tr, &order, &depth, &n) != MS_OK) {
        b->status = b->status == MS_OK ? MS_E_NOMEM : b->status;
        return;
    }
    msx_buf_addf(b, "\nSpans (%zu):\n\n", n);
    for (size_t k = 0; k < n && k < MD_SPANS_MAX; k++) {
        const ms_span *s = &tr->spans[order[k]];
        int d = depth[k] > 20 ? 20 : depth[k];
        for (int i = 0; i < d; i++)
            msx_buf_adds(b, "  ");
        msx_buf_adds(b, "- ");
        tc(b, s->name, 200);
        if (s->span_type.len) {
            msx_buf_adds(b, " (");
            tc(b, s->span_type, 60);
            msx_buf_adds(b, ")");
        }
        if (s->status == MS_STATUS_ERROR)
            msx_buf_adds(b, " **ERROR**");
        msx_buf_adds(b, " ");
        if (s->has_end && s->end_ns >= s->start_ns)
            msi_duration(b, msi_span_ms(s->start_ns, s->end_ns));
        else
            msx_buf_adds(b, "running");
        msx_buf_adds(b, "\n");
    }
    if (n > MD_SPANS_MAX)
        msx_buf_addf(b, "- … %zu more spans\n", n - MD_SPANS_MAX);
    free(order);
    free(depth);
}

static void turn(struct msx_buf *b, const ms_turn *tu, const struct msi_turn_info *ti)
{
    msx_buf_addf(b, "\n#### Turn %lld", (long long)tu->index);
    if (ti->is_cause)
        msx_buf_adds(b, " (ROOT CAUSE)");
    if (ti->is_symptom)
        msx_buf_adds(b, " (SYMPTOM)");
    if (ti->is_error)
        msx_buf_adds(b, " (ERROR)");
    msx_buf_adds(b, "\n\n");
    msi_time(b, tu->start_ms);
    msx_buf_adds(b, ", latency ");
    msi_duration(b, tu->latency_ms);
    msx_buf_adds(b, ", trace ");
    t(b, tu->trace->info.trace_id);
    msx_buf_adds(b, "\n\n");
    if (tu->first_new > 0)
        msx_buf_addf(b, "- (%zu earlier message%s resent as history)\n", tu->first_new,
                     tu->first_new == 1 ? "" : "s");
    for (size_t i = tu->first_new; i < tu->n_input; i++)
        message(b, &tu->input[i]);
    for (size_t i = 0; i < tu->n_tools; i++) {
        const ms_tool_call *c = &tu->tools[i];
        msx_buf_adds(b, "- tool ");
        tc(b, c->name, 200);
        msx_buf_adds(b, "(");
        tc(b, c->arguments, 300);
        msx_buf_adds(b, ")");
        if (c->failed) {
            msx_buf_adds(b, " **failed** ");
            tc(b, c->error, 300);
        } else if (c->result.len) {
            msx_buf_adds(b, " &rarr; ");
            tc(b, c->result, 300);
        }
        msx_buf_adds(b, "\n");
    }
    for (size_t i = 0; i < tu->n_docs; i++) {
        const ms_document *d = &tu->docs[i];
        msx_buf_addf(b, "- document #%lld ", (long long)d->rank);
        tc(b, d->uri.len ? d->uri : d->id, 200);
        msx_buf_adds(b, ": ");
        tc(b, d->text, 300);
        msx_buf_adds(b, "\n");
    }
    for (size_t i = 0; i < tu->n_output; i++)
        message(b, &tu->output[i]);
    for (size_t i = 0; i < tu->trace->info.n_assessments; i++) {
        const ms_assessment *a = &tu->trace->info.assessments[i];
        if (a->has_valid && !a->valid)
            continue;
        msx_buf_adds(b, "- assessment ");
        tc(b, a->name, 200);
        msx_buf_adds(b, " = ");
        if (a->has_error) {
            msx_buf_adds(b, "error ");
            tc(b, a->error_code, 100);
        } else {
            tc(b, a->value_json.len ? a->value_json : a->serialized_json, 300);
        }
        if (a->rationale.len) {
            msx_buf_adds(b, ": ");
            tc(b, a->rationale, 600);
        }
        msx_buf_adds(b, "\n");
    }
    span_list(b, tu->trace);
}

/* --source: the code a finding links to, as list items under it. */
static void code_lines(struct ms_report *r, struct msx_buf *b, int64_t finding)
{
    char *txt = NULL;
    size_t len = 0;
    if (!r->links || ms_code_links_format(r->links, finding, "  ", 1, &txt, &len) != MS_OK)
        return;
    msx_buf_add(b, txt, len);
    free(txt);
}

void msi_md_session(struct ms_report *r, struct msx_buf *b, const ms_session *s,
                    const ms_findings *f, const struct msi_turn_info *ti,
                    const struct msi_report_row *row)
{
    (void)r;
    msx_buf_addf(b, "\n## Session %zu: ", row->index + 1);
    t(b, s->session_id.len ? s->session_id : msi_s("(no session id)"));
    msx_buf_adds(b, "\n\n");
    if (s->user_id.len) {
        msx_buf_adds(b, "User ");
        t(b, s->user_id);
        msx_buf_adds(b, ", ");
    }
    msx_buf_addf(b, "%zu turn%s", s->n_turns, s->n_turns == 1 ? "" : "s");
    if (s->n_turns) {
        msx_buf_adds(b, " from ");
        msi_time(b, row->first_ms);
    }
    msx_buf_adds(b, ", ");
    msi_duration(b, row->duration_ms);
    msx_buf_adds(b, " (busy ");
    msi_duration(b, row->busy_ms);
    msx_buf_adds(b, ", idle ");
    msi_duration(b, row->idle_ms);
    msx_buf_adds(b, ")");
    if (row->has_tokens)
        msx_buf_addf(b, ", tokens %lld in / %lld out", (long long)row->tokens_input,
                     (long long)row->tokens_output);
    if (row->has_tokens && row->has_cached)
        msx_buf_addf(b, " / %lld cached", (long long)row->tokens_cached);
    if (row->cause_turn) {
        msx_buf_addf(b, ". **Root cause: turn %lld**", (long long)row->cause_turn);
        if (row->symptom_first == row->symptom_last && row->symptom_first)
            msx_buf_addf(b, ", symptom at turn %lld", (long long)row->symptom_first);
        else if (row->symptom_first)
            msx_buf_addf(b, ", symptoms at turns %lld-%lld", (long long)row->symptom_first,
                         (long long)row->symptom_last);
    }
    msx_buf_adds(b, ".\n");
    msx_buf_addf(b, "\n### Findings (%zu)\n\n", ms_findings_count(f));
    if (!ms_findings_count(f))
        msx_buf_adds(b, "No analyzer found anything wrong.\n");
    for (size_t i = 0; i < ms_findings_count(f); i++) {
        finding(b, ms_findings_at(f, i));
        code_lines(r, b, (int64_t)i);
    }
    if (r->links && ms_code_links_count(r->links)) {
        msx_buf_adds(b, "\nCode of the whole session:\n\n");
        code_lines(r, b, -1);
    }
    msx_buf_adds(b, "\n### Turns\n\n| turn | mark | start | idle before | latency | input | "
                    "output | cached | findings |\n|---:|---|---|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < s->n_turns; i++) {
        const ms_turn *tu = &s->turns[i];
        msx_buf_addf(b, "| %lld | %s | ", (long long)tu->index,
                     ti[i].is_cause     ? "**cause**"
                     : ti[i].is_symptom ? (ti[i].is_error ? "symptom, error" : "symptom")
                     : ti[i].is_error   ? "error"
                                        : "");
        msi_time(b, tu->start_ms);
        msx_buf_adds(b, " | ");
        if (i == 0)
            msx_buf_adds(b, "-");
        else if (tu->gap_ms < 0)
            msx_buf_adds(b, "overlap");
        else
            msi_duration(b, tu->gap_ms);
        msx_buf_adds(b, " | ");
        msi_duration(b, tu->latency_ms);
        msx_buf_adds(b, " | ");
        tokens(b, ti[i].in);
        msx_buf_adds(b, " | ");
        tokens(b, ti[i].out);
        msx_buf_adds(b, " | ");
        tokens(b, ti[i].cached);
        msx_buf_addf(b, " | %zu |\n", ti[i].n_findings);
    }
    msx_buf_adds(b, "\n### Transcript\n");
    for (size_t i = 0; i < s->n_turns; i++)
        turn(b, &s->turns[i], &ti[i]);
}

void msi_md_tail(struct ms_report *r, struct msx_buf *b, const ms_patterns_result *pr)
{
    msx_buf_addf(b, "\n## Overview\n\n%zu session%s.", r->n_rows, r->n_rows == 1 ? "" : "s");
    if (r->n_rows > r->o.max_detail)
        msx_buf_addf(b, " %zu of them are listed here only, beyond --max-detail %zu.",
                     r->n_rows - r->o.max_detail, r->o.max_detail);
    msx_buf_adds(b, "\n\n| # | session | user | turns | start | duration | idle | tokens | error "
                    "turns | findings | root cause |\n|---:|---|---|---:|---|---:|---:|---:|---:|"
                    "---|---:|\n");
    for (size_t i = 0; i < r->n_rows; i++) {
        const struct msi_report_row *w = &r->rows[i];
        msx_buf_addf(b, "| %zu | ", i + 1);
        ms_str sid = {w->session_id, w->session_id_len};
        tc(b, sid.len ? sid : msi_s("(no session id)"), 200);
        msx_buf_adds(b, " | ");
        tc(b, (ms_str){w->user_id, w->user_id_len}, 200);
        msx_buf_addf(b, " | %lld | ", (long long)w->turns);
        if (w->turns)
            msi_time(b, w->first_ms);
        msx_buf_adds(b, " | ");
        msi_duration(b, w->duration_ms);
        msx_buf_adds(b, " | ");
        msi_duration(b, w->idle_ms);
        msx_buf_adds(b, " | ");
        if (w->has_tokens)
            msx_buf_addf(b, "%lld", (long long)(w->tokens_input > INT64_MAX - w->tokens_output
                                                    ? INT64_MAX
                                                    : w->tokens_input + w->tokens_output));
        else
            msx_buf_adds(b, "-");
        msx_buf_addf(b, " | %lld | %zu error, %zu warn, %zu info | ", (long long)w->errors,
                     w->by_sev[2], w->by_sev[1], w->by_sev[0]);
        if (w->cause_turn)
            msx_buf_addf(b, "turn %lld", (long long)w->cause_turn);
        else
            msx_buf_adds(b, "-");
        msx_buf_adds(b, " |\n");
    }
    msx_buf_addf(b, "\n## Across sessions\n\n%lld session%s, %lld turn%s; %lld with an error, "
                    "%lld ended right after a problem; %zu finding%s in all.\n",
                 (long long)pr->sessions, pr->sessions == 1 ? "" : "s", (long long)pr->turns,
                 pr->turns == 1 ? "" : "s", (long long)pr->errored, (long long)pr->abandoned,
                 r->n_findings, r->n_findings == 1 ? "" : "s");
    msx_buf_adds(b, "\n### First-error rate by turn index\n\n| turn | sessions reaching it | "
                    "first error there | rate |\n|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < pr->n_by_turn && i < 100; i++) {
        const ms_pat_turn *pt = &pr->by_turn[i];
        int64_t permille = pt->reached ? msi_muldiv(pt->first_error, 1000, pt->reached) : 0;
        msx_buf_addf(b, "| %lld | %lld | %lld | %lld.%lld%% |\n", (long long)pt->turn,
                     (long long)pt->reached, (long long)pt->first_error,
                     (long long)(permille / 10), (long long)(permille % 10));
    }
    msx_buf_addf(b, "\n### Context growth\n\nGrowth of the peak input tokens per turn: median "
                    "%lld, p90 %lld; shapes: %lld linear, %lld accelerating, %lld flat, %lld "
                    "without token usage.\n",
                 (long long)pr->growth.median, (long long)pr->growth.p90,
                 (long long)pr->shape_linear, (long long)pr->shape_accelerating,
                 (long long)pr->shape_none, (long long)pr->shape_no_tokens);
    if (r->n_series) {
        msx_buf_addf(b, "\nPeak input tokens of one call per turn (the first %d sessions with "
                        "token usage):\n\n| session | tokens by turn |\n|---|---|\n",
                     MSI_REPORT_GROWTH_SESSIONS);
        for (size_t i = 0; i < r->n_series; i++) {
            const struct msi_report_series *se = &r->series[i];
            const struct msi_report_row *w = &r->rows[se->row];
            msx_buf_adds(b, "| ");
            tc(b, (ms_str){w->session_id, w->session_id_len}, 200);
            msx_buf_adds(b, " | ");
            for (size_t k = 0; k < se->n; k++) {
                if (k)
                    msx_buf_adds(b, ", ");
                tokens(b, se->peak[k]);
            }
            msx_buf_adds(b, " |\n");
        }
    }
    if (pr->n_findings) {
        msx_buf_adds(b, "\n### Commonest findings\n\n| rule | findings | sessions |\n|---|---:|---:|\n");
        for (size_t i = 0; i < pr->n_findings; i++) {
            msx_buf_adds(b, "| `");
            msx_buf_add(b, pr->findings[i].key.ptr, pr->findings[i].key.len); /* a rule id */
            msx_buf_addf(b, "` | %lld | %lld |\n", (long long)pr->findings[i].count,
                         (long long)pr->findings[i].sessions);
        }
    }
}
