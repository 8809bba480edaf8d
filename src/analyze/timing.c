/* SPDX-License-Identifier: MIT
 *
 * timing.c - when the turns happened and how long they took:
 *   timing.idle_gap         the user was away longer than the idle threshold
 *                           (options->idle_gap_ms) before a turn: the
 *                           session may really be two
 *   timing.overlap          a turn started before the previous one ended
 *   timing.out_of_order     span times that cannot be: a span ending before
 *                           it starts, outside its trace or its parent
 *   timing.stuck            a turn still IN_PROGRESS that never finished
 *   timing.latency_outlier  a turn far slower than the session's median
 *                           (median + MAD, with absolute floors so a short
 *                           session of fast turns stays quiet)
 *   timing.long_session     a session that lasted long, and whether the
 *                           user (idle time) or the app (busy time) made it so
 * Times are int64 milliseconds (turns) and nanoseconds (spans); no clock is
 * read, so "still running" can only be suggested, never measured. Never
 * prints.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze_int.h"
#include "util/timefmt.h"

static const ms_rule_info rules[] = {
    {"timing.idle_gap", "timing", MS_SEV_WARN,
     "the user was idle longer than the threshold (--idle-gap, default 30m) before a turn: the session may really be two"},
    {"timing.overlap", "timing", MS_SEV_WARN, "a turn started before the previous turn ended"},
    {"timing.out_of_order", "timing", MS_SEV_WARN,
     "span times that cannot be: a span ends before it starts, or lies outside its trace or parent"},
    {"timing.stuck", "timing", MS_SEV_ERROR,
     "a turn never finished: its trace is still IN_PROGRESS"},
    {"timing.latency_outlier", "timing", MS_SEV_WARN,
     "a turn far slower than the session's median (robust: median and MAD, floors of 3x and +5 s)"},
    {"timing.long_session", "timing", MS_SEV_INFO,
     "a long session, and whether the user (idle) or the app (busy) made it long"},
};

/* Latency outliers: at least this many finished turns, this much slower
 * than the median in absolute terms and this many times the median. */
#define OUTLIER_MIN_TURNS 3
#define OUTLIER_MIN_EXCESS_MS 5000
#define OUTLIER_MIN_FACTOR 3
/* ... and beyond median + 6 MAD (about 4 standard deviations). */
#define OUTLIER_MADS 6
/* Span times are ns, trace times ms, rounded down: allow 1 ms. */
#define SKEW_NS 1000000LL
/* An overlap names the earlier turn still running among the last few. */
#define OVERLAP_LOOKBACK 64
#define MS_NS 1000000LL

/* Saturating int64 arithmetic: hostile traces carry times at the int64
 * edges, and an overflow must neither trap nor wrap into a plausible
 * number. */
static int64_t sadd(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static int64_t ssub(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return b < 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static int64_t smul(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return (a < 0) != (b < 0) ? INT64_MIN : INT64_MAX;
    return r;
}

/* "41.3 min", "30.3 s", "754 ms", "2.5 h" into buf. */
static const char *human_ms(int64_t ms, char *buf, size_t size)
{
    const char *sign = ms < 0 ? "-" : "";
    int64_t a = ms == INT64_MIN ? INT64_MAX : ms < 0 ? -ms : ms;
    if (a < 1000) {
        snprintf(buf, size, "%s%lld ms", sign, (long long)a);
        return buf;
    }
    /* tenths of the unit, rounded; "30 min" rather than "30.0 min" */
    int64_t unit = a < 60000 ? 1000 : a < 3600000 ? 60000 : 3600000;
    const char *name = a < 60000 ? "s" : a < 3600000 ? "min" : "h";
    int64_t t = sadd(a, unit / 20) / (unit / 10);
    if (t % 10)
        snprintf(buf, size, "%s%lld.%lld %s", sign, (long long)(t / 10), (long long)(t % 10), name);
    else
        snprintf(buf, size, "%s%lld %s", sign, (long long)(t / 10), name);
    return buf;
}

/* "2026-01-15T10:17:19.863Z" into buf: exact, UTC, readable. */
static const char *iso_ms(int64_t ms, char *buf, size_t size)
{
    struct msx_buf b;
    msx_buf_init(&b, 64);
    msx_rfc3339_format_ns(&b, smul(ms, MS_NS));
    size_t n = 0;
    char *p = msx_buf_status(&b) == MS_OK ? msx_buf_take(&b, &n) : NULL;
    msx_buf_release(&b);
    snprintf(buf, size, "%s", p ? p : "?");
    free(p);
    return buf;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Lower median of v[0..n) (sorts v). */
static int64_t median(int64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_i64);
    return v[(n - 1) / 2];
}

static bool is_in_progress(const ms_turn *tu)
{
    return tu->trace && tu->trace->info.state == MS_STATE_IN_PROGRESS;
}

static bool finished(const ms_turn *tu)
{
    return tu->trace && !is_in_progress(tu) && tu->latency_ms >= 0;
}

/* ---- idle gaps and overlap ------------------------------------------- */

/* After a long pause: did the input still carry the earlier turns (the
 * transcript tells, when the app sends history), or start afresh? */
static const char *resumed_or_new(const ms_turn *prev, const ms_turn *tu)
{
    if (tu->carries_history)
        return "its input still carries the earlier turns: the same conversation resumed";
    if (prev->carries_history)
        return "its input no longer carries the earlier turns: likely a new conversation "
               "under the same session id";
    return "the session may really be two";
}

static ms_code check_gaps(struct msi_ctx *c)
{
    const ms_session *s = c->s;
    char a[32], b[32], t0[40], t1[40];
    for (size_t i = 1; i < s->n_turns; i++) {
        const ms_turn *tu = &s->turns[i], *prev = &s->turns[i - 1];
        if (c->o->idle_gap_ms > 0 && tu->gap_ms > c->o->idle_gap_ms &&
            msi_rule_selected(c->o, "timing.idle_gap")) {
            /* the earlier turn that ended last (normally the previous one) */
            int64_t prev_end = ssub(tu->start_ms, tu->gap_ms);
            const ms_turn *last = prev;
            for (size_t j = i; j-- > 0 && i - j <= OVERLAP_LOOKBACK;)
                if (s->turns[j].latency_ms >= 0 &&
                    sadd(s->turns[j].start_ms, s->turns[j].latency_ms) == prev_end) {
                    last = &s->turns[j];
                    break;
                }
            if (!msi_finding_add(c, "timing.idle_gap", MS_SEV_WARN, tu, (ms_str){NULL, 0},
                                 msi_s("info.request_time_ms"), tu->trace->info.request_preview,
                                 "idle %s (%lld ms) before turn %lld, over the %s threshold: "
                                 "turn %lld ended at %s, turn %lld started at %s; %s",
                                 human_ms(tu->gap_ms, a, sizeof a), (long long)tu->gap_ms,
                                 (long long)tu->index, human_ms(c->o->idle_gap_ms, b, sizeof b),
                                 (long long)last->index, iso_ms(prev_end, t0, sizeof t0),
                                 (long long)tu->index, iso_ms(tu->start_ms, t1, sizeof t1),
                                 resumed_or_new(prev, tu)))
                return MS_E_NOMEM;
        }
        if (tu->gap_ms < 0 && finished(prev) && msi_rule_selected(c->o, "timing.overlap")) {
            /* which earlier turn was still running */
            size_t j = i;
            int64_t prev_end = 0;
            while (j-- > 0 && i - j <= OVERLAP_LOOKBACK) {
                const ms_turn *p = &s->turns[j];
                if (p->latency_ms >= 0 && sadd(p->start_ms, p->latency_ms) > tu->start_ms) {
                    prev_end = sadd(p->start_ms, p->latency_ms);
                    break;
                }
            }
            if (j == (size_t)-1 || i - j > OVERLAP_LOOKBACK) {
                j = i - 1;
                prev_end = ssub(tu->start_ms, tu->gap_ms);
            }
            if (!msi_finding_add(c, "timing.overlap", MS_SEV_WARN, tu, (ms_str){NULL, 0},
                                 msi_s("info.request_time_ms"), (ms_str){NULL, 0},
                                 "turn %lld started at %s, %s (%lld ms) before turn %lld ended "
                                 "(%s): concurrent requests in one session (double submit, "
                                 "retry, or two conversations sharing an id)",
                                 (long long)tu->index, iso_ms(tu->start_ms, t0, sizeof t0),
                                 human_ms(ssub(prev_end, tu->start_ms), a, sizeof a),
                                 (long long)ssub(prev_end, tu->start_ms),
                                 (long long)s->turns[j].index, iso_ms(prev_end, t1, sizeof t1)))
                return MS_E_NOMEM;
        }
    }
    return MS_OK;
}

/* ---- span times --------------------------------------------------------- */

static const ms_span *find_span(const ms_trace *t, const char *id)
{
    if (!id[0])
        return NULL;
    for (size_t i = 0; i < t->n_spans; i++)
        if (strcmp(t->spans[i].span_id, id) == 0)
            return &t->spans[i];
    return NULL;
}

static ms_code check_span_times(struct msi_ctx *c, const ms_turn *tu)
{
    const ms_trace *t = tu->trace;
    int64_t t_start = smul(t->info.request_time_ms, MS_NS);
    bool has_t_end = t->info.has_execution_duration && !is_in_progress(tu) &&
                     t->info.execution_duration_ms >= 0;
    int64_t t_end = smul(sadd(t->info.request_time_ms, t->info.execution_duration_ms), MS_NS);
    size_t bad = 0, first = 0;
    char why[200] = "";
    char path[48] = "";
    if (t->info.has_execution_duration && t->info.execution_duration_ms < 0) {
        bad++;
        snprintf(why, sizeof why, "the trace ends %lld ms before it starts",
                 (long long)-t->info.execution_duration_ms);
        snprintf(path, sizeof path, "info.execution_duration_ms");
    }
    for (size_t i = 0; i < t->n_spans; i++) {
        const ms_span *sp = &t->spans[i];
        char w[200] = "";
        const ms_span *par = find_span(t, sp->parent_id);
        if (sp->has_end && sp->end_ns < sp->start_ns)
            snprintf(w, sizeof w, "span %.*s ends %lld ns before it starts", (int)sp->name.len,
                     sp->name.ptr, (long long)ssub(sp->start_ns, sp->end_ns));
        else if (sp->start_ns < ssub(t_start, SKEW_NS))
            snprintf(w, sizeof w, "span %.*s starts %lld ms before its trace (%lld ms)",
                     (int)sp->name.len, sp->name.ptr,
                     (long long)(ssub(t_start, sp->start_ns) / MS_NS), (long long)t->info.request_time_ms);
        else if (has_t_end && sp->has_end && sp->end_ns > sadd(t_end, SKEW_NS))
            snprintf(w, sizeof w, "span %.*s ends %lld ms after its trace ended", (int)sp->name.len,
                     sp->name.ptr, (long long)(ssub(sp->end_ns, t_end) / MS_NS));
        else if (par && sp->start_ns < ssub(par->start_ns, SKEW_NS))
            snprintf(w, sizeof w, "span %.*s starts %lld ms before its parent %.*s",
                     (int)sp->name.len, sp->name.ptr,
                     (long long)(ssub(par->start_ns, sp->start_ns) / MS_NS), (int)par->name.len,
                     par->name.ptr);
        else if (par && par->has_end && sp->has_end && sp->end_ns > sadd(par->end_ns, SKEW_NS))
            snprintf(w, sizeof w, "span %.*s ends %lld ms after its parent %.*s",
                     (int)sp->name.len, sp->name.ptr,
                     (long long)(ssub(sp->end_ns, par->end_ns) / MS_NS), (int)par->name.len,
                     par->name.ptr);
        if (!w[0])
            continue;
        if (!bad++) {
            first = i;
            memcpy(why, w, sizeof why);
            snprintf(path, sizeof path, "spans[%zu]", i);
        }
    }
    if (!bad)
        return MS_OK;
    char more[64] = "";
    if (bad > 1)
        snprintf(more, sizeof more, " (%zu spans out of order)", bad);
    if (!msi_finding_add(c, "timing.out_of_order", MS_SEV_WARN, tu,
                         t->n_spans && path[0] == 's' ? msi_s(t->spans[first].span_id)
                                                      : (ms_str){NULL, 0},
                         msi_s(path), (ms_str){NULL, 0},
                         "%s%s: clock skew between processes or a broken exporter; durations "
                         "of this turn are unreliable",
                         why, more))
        return MS_E_NOMEM;
    return MS_OK;
}

/* ---- stuck turns ----------------------------------------------------------- */

static ms_code check_stuck(struct msi_ctx *c, const ms_turn *tu, bool newest)
{
    const ms_trace *t = tu->trace;
    bool has_root = false;
    size_t ended = 0;
    int64_t last_end = 0;
    for (size_t i = 0; i < t->n_spans; i++) {
        const ms_span *sp = &t->spans[i];
        if (!sp->parent_id[0])
            has_root = true;
        if (sp->has_end) {
            ended++;
            if (sp->end_ns > last_end)
                last_end = sp->end_ns;
        }
    }
    char spans[160];
    if (ended)
        snprintf(spans, sizeof spans, "%zu span%s recorded, the last ended %lld ms after the request",
                 t->n_spans, t->n_spans == 1 ? "" : "s",
                 (long long)ssub(last_end / MS_NS, t->info.request_time_ms));
    else
        snprintf(spans, sizeof spans, "%zu span%s recorded, none ended", t->n_spans,
                 t->n_spans == 1 ? "" : "s");
    const char *tail =
        newest ? "; it is the newest turn: it may still be running if the session is live, "
                 "else the worker died before the root span ended"
               : "; later turns started after it: the worker died or the trace was never closed";
    if (!msi_finding_add(c, "timing.stuck", MS_SEV_ERROR, tu, (ms_str){NULL, 0},
                         msi_s("info.state"), t->info.request_preview,
                         "turn %lld never finished: trace IN_PROGRESS, %s, %s, %s%s",
                         (long long)tu->index, has_root ? "root span open" : "no root span", spans,
                         t->info.response_preview.len ? "a partial response" : "no response",
                         tail))
        return MS_E_NOMEM;
    return MS_OK;
}

/* ---- latency outliers ------------------------------------------------------ */

/* The slowest non-root span of t (NULL if none). */
static const ms_span *slowest_span(const ms_trace *t)
{
    const ms_span *best = NULL;
    for (size_t i = 0; i < t->n_spans; i++) {
        const ms_span *sp = &t->spans[i];
        if (!sp->parent_id[0] || !sp->has_end)
            continue;
        if (!best || ssub(sp->end_ns, sp->start_ns) > ssub(best->end_ns, best->start_ns))
            best = sp;
    }
    return best;
}

static ms_code check_latency(struct msi_ctx *c)
{
    const ms_session *s = c->s;
    int64_t *lat = msx_arena_alloc(c->tmp, (s->n_turns + 1) * sizeof *lat);
    if (!lat)
        return MS_E_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < s->n_turns; i++)
        if (finished(&s->turns[i]))
            lat[n++] = s->turns[i].latency_ms;
    if (n < OUTLIER_MIN_TURNS)
        return MS_OK;
    int64_t med = median(lat, n);
    for (size_t i = 0; i < n; i++)
        lat[i] = lat[i] > med ? lat[i] - med : med - lat[i];
    int64_t mad = median(lat, n);
    char a[32], b[32], d[32];
    for (size_t i = 0; i < s->n_turns; i++) {
        const ms_turn *tu = &s->turns[i];
        if (!finished(tu))
            continue;
        int64_t x = tu->latency_ms, excess = x - med;
        if (excess < OUTLIER_MIN_EXCESS_MS || x < smul(OUTLIER_MIN_FACTOR, med) ||
            excess <= smul(OUTLIER_MADS, mad))
            continue;
        const ms_span *sp = slowest_span(tu->trace);
        char slow[200] = "";
        if (sp)
            snprintf(slow, sizeof slow, "; slowest span %.*s took %s", (int)sp->name.len,
                     sp->name.ptr, human_ms(ssub(sp->end_ns, sp->start_ns) / MS_NS, d, sizeof d));
        char factor[32];
        if (med > 0)
            snprintf(factor, sizeof factor, "%lldx", (long long)(x / med));
        else
            snprintf(factor, sizeof factor, "far above");
        if (!msi_finding_add(c, "timing.latency_outlier", MS_SEV_WARN, tu,
                             sp ? msi_s(sp->span_id) : (ms_str){NULL, 0},
                             msi_s("info.execution_duration_ms"), (ms_str){NULL, 0},
                             "turn %lld took %s (%lld ms), %s the session's median %s over %zu "
                             "finished turns%s%s",
                             (long long)tu->index, human_ms(x, a, sizeof a), (long long)x, factor,
                             human_ms(med, b, sizeof b), n, slow,
                             tu->trace->info.state == MS_STATE_ERROR ? "; the turn failed" : ""))
            return MS_E_NOMEM;
    }
    return MS_OK;
}

/* ---- long sessions ------------------------------------------------------------- */

static ms_code check_long(struct msi_ctx *c)
{
    const ms_session *s = c->s;
    if (s->n_turns < 2)
        return MS_OK;
    int64_t first = s->turns[0].start_ms, last = first, busy = 0, idle = 0, idle_max = 0;
    size_t idle_turn = 0;
    for (size_t i = 0; i < s->n_turns; i++) {
        const ms_turn *tu = &s->turns[i];
        int64_t end = sadd(tu->start_ms, tu->latency_ms > 0 ? tu->latency_ms : 0);
        if (end > last)
            last = end;
        if (tu->latency_ms > 0)
            busy = sadd(busy, tu->latency_ms);
        if (i > 0 && tu->gap_ms > 0) {
            idle = sadd(idle, tu->gap_ms);
            if (tu->gap_ms > idle_max) {
                idle_max = tu->gap_ms;
                idle_turn = i;
            }
        }
    }
    int64_t dur = ssub(last, first);
    int64_t threshold = c->o->idle_gap_ms > 0 ? c->o->idle_gap_ms : 30 * 60 * 1000;
    if (dur < threshold)
        return MS_OK;
    char a[32], b[32], d[32], e[32];
    int64_t idle_pct = dur > 0 ? smul(idle, 100) / dur : 0;
    int64_t busy_pct = dur > 0 ? smul(busy, 100) / dur : 0;
    bool user = idle >= busy;
    char why[200];
    if (user)
        snprintf(why, sizeof why, "long because of the user: the longest pause was %s before turn %lld",
                 human_ms(idle_max, e, sizeof e), (long long)s->turns[idle_turn].index);
    else
        snprintf(why, sizeof why, "long because of the app: the turns themselves took most of the time");
    if (!msi_finding_add(c, "timing.long_session", MS_SEV_INFO, NULL, (ms_str){NULL, 0},
                         (ms_str){NULL, 0}, (ms_str){NULL, 0},
                         "session lasted %s over %zu turns: idle %s (%lld%%), busy %s (%lld%%); %s",
                         human_ms(dur, a, sizeof a), s->n_turns, human_ms(idle, b, sizeof b),
                         (long long)idle_pct, human_ms(busy, d, sizeof d), (long long)busy_pct, why))
        return MS_E_NOMEM;
    return MS_OK;
}

static ms_code run_timing(struct msi_ctx *c)
{
    const ms_session *s = c->s;
    ms_code rc = check_gaps(c);
    for (size_t i = 0; rc == MS_OK && i < s->n_turns; i++) {
        const ms_turn *tu = &s->turns[i];
        if (!tu->trace)
            continue;
        if (msi_rule_selected(c->o, "timing.out_of_order"))
            rc = check_span_times(c, tu);
        if (rc == MS_OK && is_in_progress(tu) && msi_rule_selected(c->o, "timing.stuck"))
            rc = check_stuck(c, tu, i + 1 == s->n_turns);
    }
    if (rc == MS_OK && msi_rule_selected(c->o, "timing.latency_outlier"))
        rc = check_latency(c);
    if (rc == MS_OK && msi_rule_selected(c->o, "timing.long_session"))
        rc = check_long(c);
    return rc;
}

const struct msi_analyzer msi_analyzer_timing = {"timing", rules, sizeof rules / sizeof rules[0],
                                                 run_timing};
