/* SPDX-License-Identifier: MIT
 *
 * mlsession patterns: failure patterns across sessions (docs/patterns.md) -
 * turns per session, first error and abandonment by turn, the commonest
 * error types, failing spans and findings, context growth, sessions
 * clustered by span signature, cohorts by a tag or metadata key. Text, json
 * or md. The numbers come from the library (ms_patterns_compute); this file
 * only parses options and prints. Trace text is untrusted: control
 * characters are shown as visible escapes, invalid UTF-8 as U+FFFD.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "mlsession/patterns.h"
#include "mlsession/session.h"
#include "mlsession/sfilter.h"
#include "util/buf.h"
#include "util/utf8.h"

#define BAR_WIDTH 30
#define COL_CUT 48   /* bytes of an untrusted string shown in a column */
#define SIG_CUT 160  /* bytes of a signature shown */
#define TURN_ROWS 10 /* by-turn rows always shown */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mlsession patterns [-x EXP] [--filter EXPR] [--by KEY] [options]\n"
            "\n"
            "Failure patterns across sessions: turns per session, the turn of the first\n"
            "error (hazard: of the sessions that reached it) and of abandonment, the\n"
            "commonest error types, failing spans and findings, context growth, sessions\n"
            "clustered by their span signature, and cohorts by a tag or metadata key.\n"
            "\n"
            "Options:\n"
            "  -x, --experiment-id ID   only this experiment (repeatable)\n"
            "  --experiment-name NAME   only this experiment, by name\n"
            "  --filter EXPR            only sessions matching the session filter\n"
            "                           (see 'mlsession sessions --help')\n"
            "  --by KEY                 cohorts by this metadata key or tag of turn 1:\n"
            "                           mlflow.source.git.commit, mlflow.trace.user\n"
            "  --top N                  entries per ranked list (default 10)\n"
            "  --min-sessions N         sessions a cohort and the rest need before a\n"
            "                           difference can count as significant (default 5)\n"
            "  --format FMT             text (default), json, md\n"
            "  --json                   same as --format json\n"
            "\n"
            "Exit status: 0 success, 1 the work failed,\n"
            "2 bad usage or input (unknown option, bad --filter, store error).\n");
}

enum fmt { F_TEXT, F_JSON, F_MD };

/* ---- escaping untrusted text ------------------------------------------- */

/* Appends at most max bytes of s (0: all), escaped for a terminal (md: and
 * Markdown's specials): control characters as \xNN, C1 controls and bidi
 * overrides as \uNNNN, invalid UTF-8 as U+FFFD; "..." when cut. */
static void esc(struct msx_buf *b, ms_str s, bool md, size_t max)
{
    cli_put_text(b, s, max, md ? CLI_ESC_MD_SHOWN : CLI_ESC_SHOWN, NULL);
}

/* Display width of UTF-8 text: code points (good enough for alignment). */
static size_t width(const char *p, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)p[i] & 0xC0) != 0x80)
            w++;
    return w;
}

/* s escaped and padded to w columns (left-aligned). */
static void cell(struct msx_buf *b, ms_str s, size_t w)
{
    size_t at = b->len;
    esc(b, s, false, COL_CUT);
    size_t got = b->ptr ? width(b->ptr + at, b->len - at) : 0;
    for (; got < w; got++)
        msx_buf_addc(b, ' ');
}

static void pct(struct msx_buf *b, int64_t num, int64_t den)
{
    if (den > 0)
        msx_buf_addf(b, "%.1f%%", 100.0 * (double)num / (double)den);
    else
        msx_buf_adds(b, "-");
}

/* "3 (30.0%)" right-aligned in w columns. */
static void count_rate(struct msx_buf *b, int64_t num, int64_t den, int w)
{
    struct msx_buf t;
    msx_buf_init(&t, 64);
    msx_buf_addf(&t, "%lld (", (long long)num);
    pct(&t, num, den);
    msx_buf_addc(&t, ')');
    msx_buf_addf(b, "%*.*s", w, (int)t.len, t.ptr ? t.ptr : "");
    msx_buf_release(&t);
}

static void bar(struct msx_buf *b, int64_t v, int64_t max)
{
    int64_t n = max > 0 ? (v * BAR_WIDTH + max - 1) / max : 0;
    for (int64_t i = 0; i < BAR_WIDTH; i++)
        msx_buf_addc(b, i < n ? '#' : ' ');
}

static void examples(struct msx_buf *b, const ms_str *ex, size_t n, bool md)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            msx_buf_adds(b, ", ");
        esc(b, ex[i], md, COL_CUT);
    }
}

static size_t entries_width(const ms_pat_entry *e, size_t n, size_t minw)
{
    size_t w = minw;
    for (size_t i = 0; i < n; i++) {
        struct msx_buf t;
        msx_buf_init(&t, MSX_CAP_LINE);
        esc(&t, e[i].key, false, COL_CUT);
        size_t x = t.ptr ? width(t.ptr, t.len) : 0;
        msx_buf_release(&t);
        if (x > w)
            w = x;
    }
    return w;
}

static void cohort_label(struct msx_buf *b, const ms_pat_cohort *c, bool md)
{
    if (c->missing)
        msx_buf_adds(b, "(none)");
    else
        esc(b, c->value, md, COL_CUT);
}

static bool turn_row_shown(const ms_pat_turn *t)
{
    return t->turn <= TURN_ROWS || t->first_error || t->abandoned;
}

/* ---- text --------------------------------------------------------------- */

static void text_entries(struct msx_buf *b, const char *title, const char *col,
                         const ms_pat_entry *e, size_t n)
{
    msx_buf_addf(b, "\n%s\n", title);
    if (!n) {
        msx_buf_adds(b, "  none\n");
        return;
    }
    size_t w = entries_width(e, n, strlen(col));
    msx_buf_adds(b, "  ");
    cell(b, (ms_str){col, strlen(col)}, w);
    msx_buf_adds(b, "  count  sessions  examples\n");
    for (size_t i = 0; i < n; i++) {
        msx_buf_adds(b, "  ");
        cell(b, e[i].key, w);
        msx_buf_addf(b, "  %5lld  %8lld  ", (long long)e[i].count, (long long)e[i].sessions);
        examples(b, e[i].examples, e[i].n_examples, false);
        msx_buf_addc(b, '\n');
    }
}

static void dist_line(struct msx_buf *b, const ms_pat_dist *d)
{
    if (!d->n) {
        msx_buf_adds(b, "none");
        return;
    }
    msx_buf_addf(b, "min %lld  median %lld  p90 %lld  max %lld", (long long)d->min,
                 (long long)d->median, (long long)d->p90, (long long)d->max);
}

static void bucket_label(char *out, size_t n, const ms_pat_bucket *h)
{
    if (h->lo == INT64_MIN)
        snprintf(out, n, "< 0");
    else if (h->hi == INT64_MAX)
        snprintf(out, n, "%lld+", (long long)h->lo);
    else if (h->lo == h->hi)
        snprintf(out, n, "%lld", (long long)h->lo);
    else
        snprintf(out, n, "%lld-%lld", (long long)h->lo, (long long)h->hi);
}

static void print_text(struct msx_buf *b, const ms_patterns_result *r)
{
    msx_buf_addf(b, "%lld session%s, %lld turn%s\n", (long long)r->sessions,
                 r->sessions == 1 ? "" : "s", (long long)r->turns, r->turns == 1 ? "" : "s");
    if (!r->sessions)
        return;

    msx_buf_adds(b, "\nTurns per session: ");
    dist_line(b, &r->turns_dist);
    msx_buf_addc(b, '\n');
    int64_t hmax = 0;
    for (size_t i = 0; i < r->n_turn_hist; i++)
        if (r->turn_hist[i].count > hmax)
            hmax = r->turn_hist[i].count;
    for (size_t i = 0; i < r->n_turn_hist; i++) {
        msx_buf_addf(b, "  %5lld  ", (long long)r->turn_hist[i].lo);
        bar(b, r->turn_hist[i].count, hmax);
        msx_buf_addf(b, "  %lld\n", (long long)r->turn_hist[i].count);
    }

    msx_buf_adds(b, "\nFirst error and abandonment by turn: ");
    msx_buf_addf(b, "%lld of %lld sessions had an error (", (long long)r->errored,
                 (long long)r->sessions);
    pct(b, r->errored, r->sessions);
    msx_buf_addf(b, "), %lld abandoned (", (long long)r->abandoned);
    pct(b, r->abandoned, r->sessions);
    msx_buf_adds(b, ")\n");
    if (r->first_error_turns.n) {
        msx_buf_adds(b, "  first-error turn: ");
        dist_line(b, &r->first_error_turns);
        msx_buf_addc(b, '\n');
    }
    msx_buf_adds(b, "   turn  reached  first error  hazard   share  ended  abandoned\n");
    size_t hidden = 0;
    for (size_t i = 0; i < r->n_by_turn; i++) {
        const ms_pat_turn *t = &r->by_turn[i];
        if (!turn_row_shown(t)) {
            hidden++;
            continue;
        }
        msx_buf_addf(b, "  %5lld  %7lld  %11lld  ", (long long)t->turn, (long long)t->reached,
                     (long long)t->first_error);
        struct msx_buf c;
        msx_buf_init(&c, 64);
        pct(&c, t->first_error, t->reached);
        msx_buf_addf(b, "%6.*s  ", (int)c.len, c.ptr ? c.ptr : "");
        msx_buf_reset(&c);
        pct(&c, t->first_error, r->sessions);
        msx_buf_addf(b, "%6.*s  ", (int)c.len, c.ptr ? c.ptr : "");
        msx_buf_release(&c);
        msx_buf_addf(b, "%5lld  %9lld\n", (long long)t->ended, (long long)t->abandoned);
    }
    if (hidden)
        msx_buf_addf(b, "  (%zu later turn%s with no first error or abandonment not shown)\n",
                     hidden, hidden == 1 ? "" : "s");

    text_entries(b, "Error types (innermost failing spans)", "type", r->error_types,
                 r->n_error_types);
    text_entries(b, "Failing spans", "span", r->failing_spans, r->n_failing_spans);
    text_entries(b, "Findings", "rule", r->findings, r->n_findings);

    msx_buf_adds(b, "\nContext growth (peak input tokens, turn to turn): ");
    if (r->growth.n)
        msx_buf_addf(b, "%lld steps, ", (long long)r->growth.n);
    dist_line(b, &r->growth);
    msx_buf_addc(b, '\n');
    if (r->growth.n) {
        int64_t gmax = 0;
        for (size_t i = 0; i < r->n_growth_hist; i++)
            if (r->growth_hist[i].count > gmax)
                gmax = r->growth_hist[i].count;
        for (size_t i = 0; i < r->n_growth_hist; i++) {
            char lab[48];
            bucket_label(lab, sizeof lab, &r->growth_hist[i]);
            msx_buf_addf(b, "  %9s  ", lab);
            bar(b, r->growth_hist[i].count, gmax);
            msx_buf_addf(b, "  %lld\n", (long long)r->growth_hist[i].count);
        }
    }
    msx_buf_addf(b, "  shapes: linear %lld, accelerating %lld, no growth found %lld, "
                    "fewer than 2 turns with tokens %lld\n",
                 (long long)r->shape_linear, (long long)r->shape_accelerating,
                 (long long)r->shape_none, (long long)r->shape_no_tokens);

    msx_buf_addf(b, "\nSignatures: %lld cluster%s\n", (long long)r->n_signature_clusters,
                 r->n_signature_clusters == 1 ? "" : "s");
    for (size_t i = 0; i < r->n_signatures; i++) {
        const ms_pat_entry *e = &r->signatures[i];
        msx_buf_addf(b, "  %5lld  ", (long long)e->sessions);
        esc(b, e->key, false, SIG_CUT);
        msx_buf_adds(b, "\n         e.g. ");
        examples(b, e->examples, e->n_examples, false);
        msx_buf_addc(b, '\n');
    }

    if (!r->by)
        return;
    msx_buf_adds(b, "\nCohorts by ");
    esc(b, (ms_str){r->by, strlen(r->by)}, false, 0);
    msx_buf_addf(b, ": %zu\n", r->n_cohorts);
    size_t w = 5;
    for (size_t i = 0; i < r->n_cohorts; i++) {
        struct msx_buf t;
        msx_buf_init(&t, MSX_CAP_LINE);
        cohort_label(&t, &r->cohorts[i], false);
        size_t x = t.ptr ? width(t.ptr, t.len) : 0;
        msx_buf_release(&t);
        if (x > w)
            w = x;
    }
    msx_buf_adds(b, "  ");
    cell(b, (ms_str){"value", 5}, w);
    msx_buf_adds(b, "  sessions  turns       errored  1st err       failing     abandoned  "
                    "mean tokens  top findings\n");
    for (size_t i = 0; i < r->n_cohorts; i++) {
        const ms_pat_cohort *c = &r->cohorts[i];
        struct msx_buf t;
        msx_buf_init(&t, MSX_CAP_LINE);
        cohort_label(&t, c, false);
        msx_buf_adds(b, "  ");
        msx_buf_add(b, t.ptr ? t.ptr : "", t.len);
        for (size_t x = t.ptr ? width(t.ptr, t.len) : 0; x < w; x++)
            msx_buf_addc(b, ' ');
        msx_buf_release(&t);
        msx_buf_addf(b, "  %8lld  %5lld  ", (long long)c->sessions, (long long)c->turns);
        count_rate(b, c->errored, c->sessions, 12);
        if (c->first_error_turns.n)
            msx_buf_addf(b, "  %7lld  ", (long long)c->first_error_turns.median);
        else
            msx_buf_addf(b, "  %7s  ", "-");
        count_rate(b, c->failing, c->sessions, 12);
        msx_buf_adds(b, "  ");
        count_rate(b, c->abandoned, c->sessions, 12);
        msx_buf_adds(b, "  ");
        if (c->with_tokens)
            msx_buf_addf(b, "%11lld  ", (long long)((c->tokens + c->with_tokens / 2) /
                                                    c->with_tokens));
        else
            msx_buf_addf(b, "%11s  ", "-");
        for (size_t k = 0; k < c->n_findings; k++)
            msx_buf_addf(b, "%s%.*s (%lld)", k ? ", " : "", (int)c->findings[k].key.len,
                         c->findings[k].key.ptr, (long long)c->findings[k].sessions);
        if (!c->n_findings)
            msx_buf_adds(b, "-");
        msx_buf_addc(b, '\n');
    }
    msx_buf_addf(b, "\nDifferences (each cohort against the rest; significant: both sides "
                    ">= %lld sessions and |z| >= 1.96)\n",
                 (long long)r->min_cohort);
    if (!r->n_diffs)
        msx_buf_adds(b, "  none listed\n");
    for (size_t i = 0; i < r->n_diffs; i++) {
        const ms_pat_diff *d = &r->diffs[i];
        msx_buf_addf(b, "  %-12s  ", d->metric);
        cohort_label(b, &r->cohorts[d->cohort], false);
        bool rate = strstr(d->metric, "_rate") != NULL;
        if (rate) {
            msx_buf_addf(b, " %lld/%lld (", (long long)d->a_num, (long long)d->a_den);
            pct(b, d->a_num, d->a_den);
            msx_buf_addf(b, ") vs rest %lld/%lld (", (long long)d->b_num, (long long)d->b_den);
            pct(b, d->b_num, d->b_den);
            msx_buf_adds(b, ")");
        } else {
            msx_buf_addf(b, " %.1f (n=%lld) vs rest %.1f (n=%lld)", d->a, (long long)d->a_den,
                         d->b, (long long)d->b_den);
        }
        msx_buf_addf(b, "  z %.2f  %s\n", d->z, d->significant ? "significant" : "not significant");
    }
    if (r->n_diffs_small)
        msx_buf_addf(b, "  (%lld difference%s not judged: fewer than %lld sessions on a side)\n",
                     (long long)r->n_diffs_small, r->n_diffs_small == 1 ? "" : "s",
                     (long long)r->min_cohort);
}

/* ---- markdown ----------------------------------------------------------- */

static void md_entries(struct msx_buf *b, const char *title, const char *col,
                       const ms_pat_entry *e, size_t n)
{
    msx_buf_addf(b, "\n## %s\n\n", title);
    if (!n) {
        msx_buf_adds(b, "None.\n");
        return;
    }
    msx_buf_addf(b, "| %s | count | sessions | examples |\n|---|---:|---:|---|\n", col);
    for (size_t i = 0; i < n; i++) {
        msx_buf_adds(b, "| ");
        esc(b, e[i].key, true, 0);
        msx_buf_addf(b, " | %lld | %lld | ", (long long)e[i].count, (long long)e[i].sessions);
        examples(b, e[i].examples, e[i].n_examples, true);
        msx_buf_adds(b, " |\n");
    }
}

static void print_md(struct msx_buf *b, const ms_patterns_result *r)
{
    msx_buf_addf(b, "# Session patterns\n\n%lld session%s, %lld turn%s.\n", (long long)r->sessions,
                 r->sessions == 1 ? "" : "s", (long long)r->turns, r->turns == 1 ? "" : "s");
    if (!r->sessions)
        return;
    msx_buf_adds(b, "\n## Turns per session\n\n");
    dist_line(b, &r->turns_dist);
    msx_buf_adds(b, ".\n\n| turns | sessions |\n|---:|---:|\n");
    for (size_t i = 0; i < r->n_turn_hist; i++)
        msx_buf_addf(b, "| %lld | %lld |\n", (long long)r->turn_hist[i].lo,
                     (long long)r->turn_hist[i].count);

    msx_buf_addf(b, "\n## First error and abandonment by turn\n\n%lld of %lld sessions had an "
                    "error (",
                 (long long)r->errored, (long long)r->sessions);
    pct(b, r->errored, r->sessions);
    msx_buf_addf(b, "), %lld abandoned (", (long long)r->abandoned);
    pct(b, r->abandoned, r->sessions);
    msx_buf_adds(b, ").");
    if (r->first_error_turns.n) {
        msx_buf_adds(b, " First-error turn: ");
        dist_line(b, &r->first_error_turns);
        msx_buf_adds(b, ".");
    }
    msx_buf_adds(b, "\n\n| turn | reached | first error | hazard | share | ended | abandoned |\n"
                    "|---:|---:|---:|---:|---:|---:|---:|\n");
    size_t hidden = 0;
    for (size_t i = 0; i < r->n_by_turn; i++) {
        const ms_pat_turn *t = &r->by_turn[i];
        if (!turn_row_shown(t)) {
            hidden++;
            continue;
        }
        msx_buf_addf(b, "| %lld | %lld | %lld | ", (long long)t->turn, (long long)t->reached,
                     (long long)t->first_error);
        pct(b, t->first_error, t->reached);
        msx_buf_adds(b, " | ");
        pct(b, t->first_error, r->sessions);
        msx_buf_addf(b, " | %lld | %lld |\n", (long long)t->ended, (long long)t->abandoned);
    }
    if (hidden)
        msx_buf_addf(b, "\n%zu later turn%s with no first error or abandonment not shown.\n",
                     hidden, hidden == 1 ? "" : "s");

    md_entries(b, "Error types", "type", r->error_types, r->n_error_types);
    md_entries(b, "Failing spans", "span", r->failing_spans, r->n_failing_spans);
    md_entries(b, "Findings", "rule", r->findings, r->n_findings);

    msx_buf_adds(b, "\n## Context growth\n\nPeak input tokens, turn to turn: ");
    if (r->growth.n)
        msx_buf_addf(b, "%lld steps, ", (long long)r->growth.n);
    dist_line(b, &r->growth);
    msx_buf_adds(b, ".\n");
    if (r->growth.n) {
        msx_buf_adds(b, "\n| growth | steps |\n|---|---:|\n");
        for (size_t i = 0; i < r->n_growth_hist; i++) {
            char lab[48];
            bucket_label(lab, sizeof lab, &r->growth_hist[i]);
            msx_buf_addf(b, "| %s | %lld |\n", strcmp(lab, "< 0") == 0 ? "&lt; 0" : lab,
                         (long long)r->growth_hist[i].count);
        }
    }
    msx_buf_addf(b, "\nShapes: linear %lld, accelerating %lld, no growth found %lld, fewer than "
                    "2 turns with tokens %lld.\n",
                 (long long)r->shape_linear, (long long)r->shape_accelerating,
                 (long long)r->shape_none, (long long)r->shape_no_tokens);

    msx_buf_addf(b, "\n## Signatures\n\n%lld cluster%s.\n\n| sessions | signature | examples |\n"
                    "|---:|---|---|\n",
                 (long long)r->n_signature_clusters, r->n_signature_clusters == 1 ? "" : "s");
    for (size_t i = 0; i < r->n_signatures; i++) {
        const ms_pat_entry *e = &r->signatures[i];
        msx_buf_addf(b, "| %lld | ", (long long)e->sessions);
        esc(b, e->key, true, SIG_CUT);
        msx_buf_adds(b, " | ");
        examples(b, e->examples, e->n_examples, true);
        msx_buf_adds(b, " |\n");
    }

    if (!r->by)
        return;
    msx_buf_adds(b, "\n## Cohorts by ");
    esc(b, (ms_str){r->by, strlen(r->by)}, true, 0);
    msx_buf_adds(b, "\n\n| value | sessions | turns | errored | median first-error turn | failing "
                    "| abandoned | mean tokens | top findings |\n"
                    "|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (size_t i = 0; i < r->n_cohorts; i++) {
        const ms_pat_cohort *c = &r->cohorts[i];
        msx_buf_adds(b, "| ");
        cohort_label(b, c, true);
        msx_buf_addf(b, " | %lld | %lld | ", (long long)c->sessions, (long long)c->turns);
        count_rate(b, c->errored, c->sessions, 0);
        msx_buf_adds(b, " | ");
        if (c->first_error_turns.n)
            msx_buf_addf(b, "%lld", (long long)c->first_error_turns.median);
        else
            msx_buf_adds(b, "-");
        msx_buf_adds(b, " | ");
        count_rate(b, c->failing, c->sessions, 0);
        msx_buf_adds(b, " | ");
        count_rate(b, c->abandoned, c->sessions, 0);
        msx_buf_adds(b, " | ");
        if (c->with_tokens)
            msx_buf_addf(b, "%lld",
                         (long long)((c->tokens + c->with_tokens / 2) / c->with_tokens));
        else
            msx_buf_adds(b, "-");
        msx_buf_adds(b, " | ");
        for (size_t k = 0; k < c->n_findings; k++) {
            if (k)
                msx_buf_adds(b, ", ");
            esc(b, c->findings[k].key, true, 0);
            msx_buf_addf(b, " (%lld)", (long long)c->findings[k].sessions);
        }
        msx_buf_adds(b, " |\n");
    }
    msx_buf_addf(b, "\n### Differences\n\nEach cohort against the rest; significant when both "
                    "sides have at least %lld sessions and |z| >= 1.96.\n\n",
                 (long long)r->min_cohort);
    if (!r->n_diffs) {
        msx_buf_adds(b, "None listed.\n");
        if (r->n_diffs_small)
            msx_buf_addf(b, "\n%lld difference%s not judged: fewer than %lld sessions on a "
                            "side.\n",
                         (long long)r->n_diffs_small, r->n_diffs_small == 1 ? "" : "s",
                         (long long)r->min_cohort);
        return;
    }
    msx_buf_adds(b, "| metric | cohort | value | rest | z | verdict |\n"
                    "|---|---|---:|---:|---:|---|\n");
    for (size_t i = 0; i < r->n_diffs; i++) {
        const ms_pat_diff *d = &r->diffs[i];
        msx_buf_addf(b, "| %s | ", d->metric);
        cohort_label(b, &r->cohorts[d->cohort], true);
        if (strstr(d->metric, "_rate")) {
            msx_buf_addf(b, " | %lld/%lld (", (long long)d->a_num, (long long)d->a_den);
            pct(b, d->a_num, d->a_den);
            msx_buf_addf(b, ") | %lld/%lld (", (long long)d->b_num, (long long)d->b_den);
            pct(b, d->b_num, d->b_den);
            msx_buf_adds(b, ")");
        } else {
            msx_buf_addf(b, " | %.1f (n=%lld) | %.1f (n=%lld)", d->a, (long long)d->a_den, d->b,
                         (long long)d->b_den);
        }
        msx_buf_addf(b, " | %.2f | %s |\n", d->z, d->significant ? "significant" : "not significant");
    }
    if (r->n_diffs_small)
        msx_buf_addf(b, "\n%lld difference%s not judged: fewer than %lld sessions on a side.\n",
                     (long long)r->n_diffs_small, r->n_diffs_small == 1 ? "" : "s",
                     (long long)r->min_cohort);
}

/* ---- the command --------------------------------------------------------- */

static bool parse_count(const char *v, int64_t max, int64_t *out)
{
    int64_t n = 0;
    if (!*v)
        return false;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        n = n * 10 + (*p - '0');
        if (n > max)
            return false;
    }
    *out = n;
    return n > 0;
}

int cmd_patterns(struct cli_globals *g, int argc, char **argv)
{
    struct cli_experiments x = {0};
    struct ms_patterns_options o;
    ms_patterns_options_init(&o);
    const char *v, *filter_text = NULL;
    enum fmt fmt = F_TEXT;
    int rc = EXIT_OK;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            usage(stdout);
            return EXIT_OK;
        }
        if (a[0] != '-') {
            cli_error("patterns: unexpected argument '%s' (see 'mlsession patterns --help')", a);
            return EXIT_USAGE;
        }
        if (cli_experiment_option(&x, argc, argv, &i, &rc)) {
            if (rc)
                return rc;
            continue;
        }
        if (strcmp(a, "--json") == 0) {
            fmt = F_JSON;
            continue;
        }
        if (cli_opt_value(argc, argv, &i, "--format", &v) ||
            cli_opt_value(argc, argv, &i, "--filter", &v) ||
            cli_opt_value(argc, argv, &i, "--by", &v) ||
            cli_opt_value(argc, argv, &i, "--top", &v) ||
            cli_opt_value(argc, argv, &i, "--min-sessions", &v)) {
            if (!v) {
                cli_error("patterns: option %s needs a value", a);
                return EXIT_USAGE;
            }
            int64_t n = 0;
            if (strncmp(a, "--format", 8) == 0) {
                if (strcmp(v, "text") == 0)
                    fmt = F_TEXT;
                else if (strcmp(v, "json") == 0)
                    fmt = F_JSON;
                else if (strcmp(v, "md") == 0)
                    fmt = F_MD;
                else {
                    cli_error("patterns: unknown --format '%s' (text, json, md)", v);
                    return EXIT_USAGE;
                }
            } else if (strncmp(a, "--filter", 8) == 0) {
                filter_text = v;
            } else if (strncmp(a, "--by", 4) == 0) {
                if (!*v) {
                    cli_error("patterns: --by needs a tag or metadata key");
                    return EXIT_USAGE;
                }
                o.by = v;
            } else if (strncmp(a, "--top", 5) == 0) {
                if (!parse_count(v, 1000000, &n)) {
                    cli_error("patterns: --top wants a positive number, not '%s'", v);
                    return EXIT_USAGE;
                }
                o.top = (size_t)n;
            } else {
                if (!parse_count(v, 1000000000, &n)) {
                    cli_error("patterns: --min-sessions wants a positive number, not '%s'", v);
                    return EXIT_USAGE;
                }
                o.min_cohort = n;
            }
            continue;
        }
        cli_error("patterns: unknown option '%s' (see 'mlsession patterns --help')", a);
        return EXIT_USAGE;
    }

    struct ms_error err = {0};
    ms_sfilter *filter = NULL;
    if (filter_text && ms_sfilter_parse(filter_text, &filter, &err) != MS_OK) {
        cli_error("patterns: bad --filter: %s", err.msg);
        if (err.offset >= 0)
            fprintf(stderr, "  %s\n  %*s^\n", filter_text, (int)err.offset, "");
        return EXIT_USAGE;
    }
    ms_store *store = cli_open_store(g);
    if (!store) {
        ms_sfilter_free(filter);
        return EXIT_USAGE;
    }
    ms_patterns *p = NULL;
    if (!cli_resolve_experiments(store, &x)) {
        rc = EXIT_USAGE;
        goto done;
    }
    struct ms_session_query q = {0};
    q.version = 1;
    q.experiment_ids = x.n ? x.ptrs : NULL;
    q.n_experiment_ids = x.n;
    q.filter = filter;
    if (ms_patterns_compute(store, &q, &o, &p, &err) != MS_OK) {
        if (err.code == MS_E_NOMEM) {
            cli_error("patterns: out of memory");
            rc = EXIT_WORK;
        } else {
            cli_store_error(g, &err);
            rc = EXIT_USAGE;
        }
        goto done;
    }
    const ms_patterns_result *r = ms_patterns_get(p);
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_OUTPUT);
    if (fmt == F_JSON) {
        char *js = NULL;
        size_t len = 0;
        if (ms_patterns_to_json(p, &js, &len) == MS_OK)
            msx_buf_add(&b, js, len);
        else
            rc = EXIT_WORK;
        free(js);
    } else if (fmt == F_MD) {
        print_md(&b, r);
    } else {
        print_text(&b, r);
    }
    if (rc == EXIT_OK && msx_buf_status(&b) != MS_OK)
        rc = EXIT_WORK;
    if (rc == EXIT_OK)
        fwrite(b.ptr ? b.ptr : "", 1, b.len, stdout);
    else
        cli_error("patterns: out of memory");
    msx_buf_release(&b);
    if (fflush(stdout) != 0) {
        cli_error("patterns: cannot write the output");
        rc = EXIT_WORK;
    }
done:
    ms_patterns_free(p);
    ms_store_close(store);
    ms_sfilter_free(filter);
    return rc;
}
