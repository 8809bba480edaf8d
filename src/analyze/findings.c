/* SPDX-License-Identifier: MIT
 *
 * findings.c - the ms_findings collection the analyzers fill: every string a
 * finding holds is copied into one arena the collection owns, so findings
 * outlive the session they describe. Also the order findings are reported
 * in (root causes first, then severity, turn, rule), the stable JSON form of
 * one finding (docs/rules.md) and the option defaults. No printing, no
 * clock: the same session gives the same findings, byte for byte.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/findings_int.h"
#include "json/json_write.h"
#include "util/buf.h"
#include "util/utf8.h"

#define EXCERPT_MAX 200
#define MESSAGE_MAX 400

struct ms_findings {
    struct msx_arena arena;
    ms_finding *items;
    size_t *seq;     /* insertion order, the last sort key */
    size_t n, cap;
};

ms_findings *msi_findings_new(void)
{
    ms_findings *f = calloc(1, sizeof *f);
    if (f)
        msx_arena_init(&f->arena, 0);
    return f;
}

void ms_findings_free(ms_findings *f)
{
    if (!f)
        return;
    msx_arena_release(&f->arena);
    free(f->items);
    free(f->seq);
    free(f);
}

size_t ms_findings_count(const ms_findings *f)
{
    return f ? f->n : 0;
}

const ms_finding *ms_findings_at(const ms_findings *f, size_t i)
{
    return f && i < f->n ? &f->items[i] : NULL;
}

size_t msi_findings_count(const ms_findings *f)
{
    return ms_findings_count(f);
}

const ms_finding *msi_findings_at(const ms_findings *f, size_t i)
{
    return ms_findings_at(f, i);
}

int ms_findings_max_severity(const ms_findings *f)
{
    int max = -1;
    for (size_t i = 0; f && i < f->n; i++)
        if ((int)f->items[i].severity > max)
            max = (int)f->items[i].severity;
    return max;
}

const char *ms_severity_name(ms_severity s)
{
    switch (s) {
    case MS_SEV_INFO: return "info";
    case MS_SEV_WARN: return "warn";
    case MS_SEV_ERROR: return "error";
    }
    return "?";
}

void ms_analyze_options_init(struct ms_analyze_options *o)
{
    memset(o, 0, sizeof *o);
    o->version = 1;
    o->idle_gap_ms = 30 * 60 * 1000;
}

/* ---- copying ---------------------------------------------------------- */

static bool copy_str(struct msx_arena *a, ms_str in, ms_str *out)
{
    if (!in.ptr) {
        *out = (ms_str){NULL, 0};
        return true;
    }
    char *p = msx_arena_strndup(a, in.ptr, in.len);
    if (!p)
        return false;
    *out = (ms_str){p, in.len};
    return true;
}

/* The evidence on one line: runs of whitespace (newlines included) become
 * one space, leading and trailing space goes, and text longer than
 * EXCERPT_MAX bytes is cut on a code point boundary and ends in "...". */
static bool copy_excerpt(struct msx_arena *a, ms_str in, ms_str *out)
{
    if (!in.ptr) {
        *out = (ms_str){NULL, 0};
        return true;
    }
    size_t cap = in.len < EXCERPT_MAX ? in.len : EXCERPT_MAX;
    char *p = msx_arena_alloc(a, cap + 1);
    if (!p)
        return false;
    size_t n = 0;
    bool space = false, cut = false;
    for (size_t i = 0; i < in.len; i++) {
        unsigned char ch = (unsigned char)in.ptr[i];
        if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t' || ch == '\f' || ch == '\v') {
            space = n > 0;
            continue;
        }
        if (space) {
            if (n + 1 > cap) {
                cut = true;
                break;
            }
            p[n++] = ' ';
            space = false;
        }
        if (n + 1 > cap) {
            cut = true;
            break;
        }
        p[n++] = (char)ch;
    }
    if (cut) {
        n = msx_utf8_cut(p, n, EXCERPT_MAX - 3);
        while (n > 0 && p[n - 1] == ' ')
            n--;
        memcpy(p + n, "...", 3);
        n += 3;
    }
    p[n] = '\0';
    *out = (ms_str){p, n};
    return true;
}

static bool grow(ms_findings *f)
{
    if (f->n < f->cap)
        return true;
    size_t cap = f->cap ? f->cap * 2 : 16;
    ms_finding *items = realloc(f->items, cap * sizeof *items);
    if (!items)
        return false;
    f->items = items;
    size_t *seq = realloc(f->seq, cap * sizeof *seq);
    if (!seq)
        return false;
    f->seq = seq;
    f->cap = cap;
    return true;
}

ms_finding *msi_finding_add(struct msi_ctx *c, const char *rule, ms_severity sev,
                            const ms_turn *turn, ms_str span_id, ms_str path, ms_str excerpt,
                            const char *fmt, ...)
{
    ms_findings *f = c->out;
    if (!grow(f))
        return NULL;
    struct msx_arena *a = &f->arena;
    ms_finding fi;
    memset(&fi, 0, sizeof fi);
    fi.rule = rule;
    fi.severity = sev;
    if (!copy_str(a, c->s ? c->s->session_id : (ms_str){NULL, 0}, &fi.session_id))
        return NULL;
    if (turn) {
        fi.turn = turn->index;
        if (turn->trace && !copy_str(a, turn->trace->info.trace_id, &fi.trace_id))
            return NULL;
    }
    if (!copy_str(a, span_id, &fi.span_id) || !copy_str(a, path, &fi.path) ||
        !copy_excerpt(a, excerpt, &fi.excerpt))
        return NULL;

    char line[MESSAGE_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    /* when cut, line holds MESSAGE_MAX bytes: cut again on a code point */
    size_t len = (size_t)n <= MESSAGE_MAX ? (size_t)n : msx_utf8_cut(line, MESSAGE_MAX, MESSAGE_MAX - 1);
    /* one line, always */
    for (size_t i = 0; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    if (!copy_str(a, (ms_str){line, len}, &fi.message))
        return NULL;

    f->seq[f->n] = f->n;
    f->items[f->n] = fi;
    return &f->items[f->n++];
}

bool msi_finding_link(struct msi_ctx *c, ms_finding *f, const ms_turn *turn, ms_str span_id,
                      ms_str path, ms_str excerpt, const char *why)
{
    struct msx_arena *a = &c->out->arena;
    ms_link *chain = msx_arena_alloc(a, (f->n_chain + 1) * sizeof *chain);
    if (!chain)
        return false;
    if (f->n_chain)
        memcpy(chain, f->chain, f->n_chain * sizeof *chain);
    ms_link *l = &chain[f->n_chain];
    memset(l, 0, sizeof *l);
    if (turn) {
        l->turn = turn->index;
        if (turn->trace && !copy_str(a, turn->trace->info.trace_id, &l->trace_id))
            return false;
    }
    if (!copy_str(a, span_id, &l->span_id) || !copy_str(a, path, &l->path) ||
        !copy_excerpt(a, excerpt, &l->excerpt) || !copy_str(a, msi_s(why), &l->why))
        return false;
    f->chain = chain;
    f->n_chain++;
    return true;
}

/* ---- order and selection ------------------------------------------------ */

static bool is_root(const ms_finding *f)
{
    return strcmp(f->rule, "cause.root") == 0;
}

static int cmp_finding(const ms_finding *a, size_t sa, const ms_finding *b, size_t sb)
{
    bool ra = is_root(a), rb = is_root(b);
    if (ra != rb)
        return ra ? -1 : 1;
    if (a->severity != b->severity)
        return a->severity > b->severity ? -1 : 1;
    if (a->turn != b->turn)
        return a->turn < b->turn ? -1 : 1;
    int r = strcmp(a->rule, b->rule);
    if (r)
        return r;
    return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/* Insertion sort on (item, seq) pairs: stable and deterministic, and a
 * session has tens of findings, not millions. */
void msi_findings_sort(ms_findings *f)
{
    for (size_t i = 1; i < f->n; i++) {
        ms_finding x = f->items[i];
        size_t sx = f->seq[i];
        size_t j = i;
        while (j > 0 && cmp_finding(&x, sx, &f->items[j - 1], f->seq[j - 1]) < 0) {
            f->items[j] = f->items[j - 1];
            f->seq[j] = f->seq[j - 1];
            j--;
        }
        f->items[j] = x;
        f->seq[j] = sx;
    }
}

void msi_findings_filter(ms_findings *f, const struct ms_analyze_options *o)
{
    size_t k = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (!msi_rule_selected(o, f->items[i].rule))
            continue;
        f->items[k] = f->items[i];
        f->seq[k] = f->seq[i];
        k++;
    }
    f->n = k;
}

/* ---- JSON form ---------------------------------------------------------- */

/* Compact JSON by hand: the writer's separators are Python's (", "). */
static void j_str(struct msx_buf *b, const char *key, ms_str s, bool comma)
{
    msx_buf_addf(b, "%s\"%s\":", comma ? "," : "", key);
    if (!s.ptr) {
        msx_buf_adds(b, "null");
        return;
    }
    msx_buf_addc(b, '"');
    msx_json_escape(b, s.ptr, s.len, false);
    msx_buf_addc(b, '"');
}

static void j_turn(struct msx_buf *b, int64_t turn, bool comma)
{
    msx_buf_addf(b, "%s\"turn\":", comma ? "," : "");
    if (turn > 0)
        msx_buf_addf(b, "%lld", (long long)turn);
    else
        msx_buf_adds(b, "null");
}

ms_code ms_finding_to_json(const ms_finding *f, char **out, size_t *len)
{
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_OUTPUT);
    msx_buf_addc(&b, '{');
    j_str(&b, "rule", msi_s(f->rule), false);
    j_str(&b, "severity", msi_s(ms_severity_name(f->severity)), true);
    j_str(&b, "session_id", f->session_id, true);
    j_turn(&b, f->turn, true);
    j_str(&b, "trace_id", f->trace_id, true);
    j_str(&b, "span_id", f->span_id, true);
    j_str(&b, "path", f->path, true);
    j_str(&b, "message", f->message, true);
    j_str(&b, "excerpt", f->excerpt, true);
    msx_buf_adds(&b, ",\"chain\":[");
    for (size_t i = 0; i < f->n_chain; i++) {
        const ms_link *l = &f->chain[i];
        msx_buf_adds(&b, i ? ",{" : "{");
        j_turn(&b, l->turn, false);
        j_str(&b, "trace_id", l->trace_id, true);
        j_str(&b, "span_id", l->span_id, true);
        j_str(&b, "path", l->path, true);
        j_str(&b, "excerpt", l->excerpt, true);
        j_str(&b, "why", l->why, true);
        msx_buf_addc(&b, '}');
    }
    msx_buf_adds(&b, "]}");
    ms_code rc = msx_buf_status(&b);
    if (rc == MS_OK) {
        size_t n = 0;
        char *p = msx_buf_take(&b, &n);
        if (!p)
            rc = MS_E_NOMEM;
        else {
            *out = p;
            if (len)
                *len = n;
        }
    }
    msx_buf_release(&b);
    return rc;
}
