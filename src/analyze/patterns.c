/* SPDX-License-Identifier: MIT
 *
 * patterns.c - failure patterns across sessions (include/mlsession/patterns.h,
 * docs/patterns.md). Each session is folded into counters once, with its
 * findings; finish() sorts, ranks and compares cohorts. Nothing here depends
 * on the store kind: sessions come from ms_sessions_list (a lean scan that
 * SQL stores answer in SQL) and ms_sessions_foreach, so every store gives
 * the same numbers for the same traces.
 *
 * Deterministic: counters are kept in insertion order behind a hash index
 * and sorted by (count desc, key bytes) at the end; doubles appear only for
 * derived rates, means and z statistics.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json_write.h"
#include "mlsession/patterns.h"
#include "util/arena.h"
#include "util/buf.h"

#define DEFAULT_TOP 10
#define DEFAULT_MIN_COHORT 5
#define SIG_CAP 4096      /* bytes of a session signature kept */
#define Z_CAP 99.0        /* |z| reported at most */
#define Z_SIGNIFICANT 1.96

/* ---- a string counter: entries in insertion order, hash index ---------- */

struct centry {
    ms_pat_entry e;
    int64_t last_session; /* serial of the last session counted */
    uint64_t hash;
};

struct counter {
    struct centry *v;
    size_t n, cap;
    size_t *slots; /* index + 1; 0 = empty */
    size_t n_slots;
};

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static void counter_release(struct counter *c)
{
    free(c->v);
    free(c->slots);
    memset(c, 0, sizeof *c);
}

static bool counter_rehash(struct counter *c)
{
    size_t ns = c->n_slots ? c->n_slots * 2 : 64;
    size_t *s = calloc(ns, sizeof *s);
    if (!s)
        return false;
    for (size_t i = 0; i < c->n; i++) {
        size_t k = (size_t)(c->v[i].hash & (ns - 1));
        while (s[k])
            k = (k + 1) & (ns - 1);
        s[k] = i + 1;
    }
    free(c->slots);
    c->slots = s;
    c->n_slots = ns;
    return true;
}

/* The entry for key (copied into a on first sight), or NULL when out of
 * memory. */
static struct centry *counter_get(struct counter *c, struct msx_arena *a, const char *key,
                                  size_t len)
{
    if ((c->n + 1) * 2 > c->n_slots && !counter_rehash(c))
        return NULL;
    uint64_t h = hash_bytes(key, len);
    size_t k = (size_t)(h & (c->n_slots - 1));
    while (c->slots[k]) {
        struct centry *e = &c->v[c->slots[k] - 1];
        if (e->hash == h && e->e.key.len == len && memcmp(e->e.key.ptr, key, len) == 0)
            return e;
        k = (k + 1) & (c->n_slots - 1);
    }
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 16;
        struct centry *nv = realloc(c->v, nc * sizeof *nv);
        if (!nv)
            return NULL;
        c->v = nv;
        c->cap = nc;
    }
    char *copy = msx_arena_strndup(a, key, len);
    if (!copy)
        return NULL;
    struct centry *e = &c->v[c->n];
    memset(e, 0, sizeof *e);
    e->e.key = (ms_str){copy, len};
    e->hash = h;
    e->last_session = -1;
    c->slots[k] = ++c->n;
    return e;
}

/* Counts one occurrence in session serial sid (id for the examples). */
static bool counter_hit(struct counter *c, struct msx_arena *a, const char *key, size_t len,
                        int64_t sid, ms_str id)
{
    struct centry *e = counter_get(c, a, key, len);
    if (!e)
        return false;
    e->e.count++;
    if (e->last_session != sid) {
        e->last_session = sid;
        e->e.sessions++;
        if (e->e.n_examples < MS_PAT_EXAMPLES)
            e->e.examples[e->e.n_examples++] = id;
    }
    return true;
}

static int cmp_str(ms_str a, ms_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int r = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (r)
        return r;
    return a.len < b.len ? -1 : a.len > b.len;
}

static int cmp_entry(const void *x, const void *y)
{
    const ms_pat_entry *a = x, *b = y;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    if (a->sessions != b->sessions)
        return a->sessions > b->sessions ? -1 : 1;
    return cmp_str(a->key, b->key);
}

/* The top entries, sorted, copied into a; *n = how many. */
static ms_pat_entry *counter_top(const struct counter *c, struct msx_arena *a, size_t top,
                                 size_t *n)
{
    *n = 0;
    if (!c->n)
        return NULL;
    ms_pat_entry *all = malloc(c->n * sizeof *all);
    if (!all)
        return NULL;
    for (size_t i = 0; i < c->n; i++)
        all[i] = c->v[i].e;
    qsort(all, c->n, sizeof *all, cmp_entry);
    size_t k = c->n < top ? c->n : top;
    ms_pat_entry *out = msx_arena_calloc(a, k, sizeof *out);
    if (out) {
        memcpy(out, all, k * sizeof *out);
        *n = k;
    }
    free(all);
    return out;
}

/* ---- growable int64 arrays ---------------------------------------------- */

struct ivec {
    int64_t *v;
    size_t n, cap;
};

static bool ivec_push(struct ivec *iv, int64_t x)
{
    if (iv->n == iv->cap) {
        size_t nc = iv->cap ? iv->cap * 2 : 64;
        int64_t *nv = realloc(iv->v, nc * sizeof *nv);
        if (!nv)
            return false;
        iv->v = nv;
        iv->cap = nc;
    }
    iv->v[iv->n++] = x;
    return true;
}

/* Grows to hold index i, zero-filled. */
static bool ivec_at(struct ivec *iv, size_t i)
{
    if (i < iv->n)
        return true;
    if (i >= iv->cap) {
        size_t nc = iv->cap ? iv->cap : 16;
        while (nc <= i)
            nc *= 2;
        int64_t *nv = realloc(iv->v, nc * sizeof *nv);
        if (!nv)
            return false;
        iv->v = nv;
        iv->cap = nc;
    }
    memset(iv->v + iv->n, 0, (i + 1 - iv->n) * sizeof *iv->v);
    iv->n = i + 1;
    return true;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest value with at least p% of values at or below. */
static int64_t rank_of(const int64_t *v, size_t n, int p)
{
    size_t r = (size_t)((n * (size_t)p + 99) / 100);
    if (r < 1)
        r = 1;
    return v[r - 1];
}

static void dist_of(int64_t *v, size_t n, ms_pat_dist *d)
{
    memset(d, 0, sizeof *d);
    if (!n)
        return;
    qsort(v, n, sizeof *v, cmp_i64);
    d->n = (int64_t)n;
    d->min = v[0];
    d->max = v[n - 1];
    d->median = rank_of(v, n, 50);
    d->p90 = rank_of(v, n, 90);
    for (size_t i = 0; i < n; i++)
        d->sum += v[i];
}

/* ---- state ------------------------------------------------------------ */

struct cohort_acc {
    int64_t sessions, turns, errored, failing, abandoned, with_tokens, tokens;
    double turns_sq, tokens_sq; /* sums of squares, for the variance */
    struct ivec first_err;      /* first-error turns */
    struct counter rules;       /* rule -> sessions */
    ms_str ex[MS_PAT_EXAMPLES];
    size_t n_ex;
};

struct ms_patterns {
    struct ms_patterns_options o;
    struct ms_analyze_options ao;
    char *by;
    struct msx_arena a; /* keys, session ids, result arrays */
    int64_t serial;     /* sessions added */
    int64_t turns;
    struct ivec turn_counts; /* per session */
    struct ivec ended, first_err, abandoned_at; /* by turn index */
    struct ivec first_turns; /* first-error turn per errored session */
    int64_t errored, abandoned;
    struct counter error_types, failing_spans, findings, signatures, cohort_keys;
    struct cohort_acc *cohorts; /* parallel to cohort_keys */
    size_t cap_cohorts;
    struct ivec growth;
    int64_t shape_linear, shape_accel, shape_none, shape_no_tokens;
    struct msx_buf sig, tsig, prev; /* scratch */
    ms_patterns_result *res;
};

void ms_patterns_options_init(struct ms_patterns_options *o)
{
    memset(o, 0, sizeof *o);
    o->version = 1;
    o->top = DEFAULT_TOP;
    o->min_cohort = DEFAULT_MIN_COHORT;
}

ms_code ms_patterns_new(const struct ms_patterns_options *o, ms_patterns **out)
{
    *out = NULL;
    ms_patterns *p = calloc(1, sizeof *p);
    if (!p)
        return MS_E_NOMEM;
    if (o)
        p->o = *o;
    else
        ms_patterns_options_init(&p->o);
    if (p->o.top == 0)
        p->o.top = DEFAULT_TOP;
    if (p->o.min_cohort <= 0)
        p->o.min_cohort = DEFAULT_MIN_COHORT;
    if (p->o.analyze)
        p->ao = *p->o.analyze;
    else
        ms_analyze_options_init(&p->ao);
    p->o.analyze = &p->ao;
    msx_arena_init(&p->a, MSX_CAP_OUTPUT);
    msx_buf_init(&p->sig, SIG_CAP * 2);
    msx_buf_init(&p->tsig, SIG_CAP * 2);
    msx_buf_init(&p->prev, SIG_CAP * 2);
    if (p->o.by) {
        p->by = malloc(strlen(p->o.by) + 1);
        if (!p->by) {
            ms_patterns_free(p);
            return MS_E_NOMEM;
        }
        memcpy(p->by, p->o.by, strlen(p->o.by) + 1);
        p->o.by = p->by;
    }
    *out = p;
    return MS_OK;
}

void ms_patterns_free(ms_patterns *p)
{
    if (!p)
        return;
    counter_release(&p->error_types);
    counter_release(&p->failing_spans);
    counter_release(&p->findings);
    counter_release(&p->signatures);
    for (size_t i = 0; i < p->cohort_keys.n; i++) {
        counter_release(&p->cohorts[i].rules);
        free(p->cohorts[i].first_err.v);
    }
    free(p->first_turns.v);
    counter_release(&p->cohort_keys);
    free(p->cohorts);
    free(p->turn_counts.v);
    free(p->ended.v);
    free(p->first_err.v);
    free(p->abandoned_at.v);
    free(p->growth.v);
    msx_buf_release(&p->sig);
    msx_buf_release(&p->tsig);
    msx_buf_release(&p->prev);
    msx_arena_release(&p->a);
    free(p->by);
    free(p);
}

const ms_patterns_result *ms_patterns_get(const ms_patterns *p)
{
    return p ? p->res : NULL;
}

/* ---- per turn --------------------------------------------------------- */

static bool eq_z(ms_str s, const char *z)
{
    size_t n = strlen(z);
    return s.len == n && (n == 0 || memcmp(s.ptr, z, n) == 0);
}

static bool sig_type(ms_str t)
{
    return eq_z(t, "TOOL") || eq_z(t, "RETRIEVER") || eq_z(t, "LLM") || eq_z(t, "CHAT_MODEL");
}

struct sig_span {
    int64_t start_ns;
    size_t order; /* as recorded */
    ms_str name;
};

static int cmp_sig_span(const void *x, const void *y)
{
    const struct sig_span *a = x, *b = y;
    if (a->start_ns != b->start_ns)
        return a->start_ns < b->start_ns ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* Appends the turn's signature to b. */
static bool turn_signature(const ms_turn *t, struct msx_buf *b)
{
    const ms_trace *tr = t->trace;
    size_t n = 0;
    struct sig_span *sp = NULL;
    if (tr && tr->n_spans) {
        sp = malloc(tr->n_spans * sizeof *sp);
        if (!sp)
            return false;
        for (size_t i = 0; i < tr->n_spans; i++)
            if (sig_type(tr->spans[i].span_type))
                sp[n++] = (struct sig_span){tr->spans[i].start_ns, i, tr->spans[i].name};
    }
    /* start time, then the order recorded: a total order */
    if (n > 1)
        qsort(sp, n, sizeof *sp, cmp_sig_span);
    ms_str last = {NULL, 0};
    bool any = false;
    for (size_t k = 0; k < n; k++) {
        ms_str name = sp[k].name;
        if (any && cmp_str(name, last) == 0)
            continue;
        if (b->len + name.len + 8 > SIG_CAP) {
            /* a runaway turn: its signature is cut, not the computation */
            msx_buf_adds(b, " > ...");
            break;
        }
        if (any)
            msx_buf_adds(b, " > ");
        msx_buf_add(b, name.ptr ? name.ptr : "", name.len);
        last = name;
        any = true;
    }
    if (!any)
        msx_buf_addc(b, '-');
    free(sp);
    return msx_buf_status(b) == MS_OK;
}

char *ms_patterns_turn_signature(const ms_turn *t)
{
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_OUTPUT);
    if (!turn_signature(t, &b)) {
        msx_buf_release(&b);
        return NULL;
    }
    msx_buf_addc(&b, '\0');
    char *s = msx_buf_take(&b, NULL);
    msx_buf_release(&b);
    return s;
}

/* The largest prompt of the turn: the most input tokens of one LLM call,
 * else the trace's input tokens. false when none recorded. */
static bool peak_input(const ms_turn *t, int64_t *out)
{
    const ms_trace *tr = t->trace;
    if (!tr)
        return false;
    bool has = false;
    int64_t best = 0;
    for (size_t i = 0; i < tr->n_spans; i++) {
        const ms_token_usage *u = &tr->spans[i].usage;
        if ((u->present & MS_USAGE_INPUT) && (!has || u->input_tokens > best)) {
            best = u->input_tokens;
            has = true;
        }
    }
    if (!has && (tr->info.usage.present & MS_USAGE_INPUT)) {
        best = tr->info.usage.input_tokens;
        has = true;
    }
    *out = best;
    return has;
}

/* The turn's total tokens as recorded on the trace. */
static bool turn_tokens(const ms_turn *t, int64_t *out)
{
    const ms_token_usage *u = t->trace ? &t->trace->info.usage : NULL;
    if (!u || !u->present)
        return false;
    if (u->present & MS_USAGE_TOTAL)
        *out = u->total_tokens;
    else
        *out = ((u->present & MS_USAGE_INPUT) ? u->input_tokens : 0) +
               ((u->present & MS_USAGE_OUTPUT) ? u->output_tokens : 0);
    return true;
}

static const char *attr_val(const ms_event *e, const char *key, size_t *len)
{
    for (size_t i = 0; i < e->n_attrs; i++)
        if (eq_z(e->attrs[i].key, key)) {
            *len = e->attrs[i].value.len;
            return e->attrs[i].value.ptr;
        }
    return NULL;
}

static int cmp_id16(const void *a, const void *b)
{
    return memcmp(a, b, 17);
}

/* Failing spans of one turn: the innermost spans in ERROR (no child in
 * ERROR), by name, and their exception types. */
static bool turn_errors(ms_patterns *p, const ms_turn *t, int64_t sid, ms_str id)
{
    const ms_trace *tr = t->trace;
    if (!tr)
        return true;
    size_t ne = 0;
    for (size_t i = 0; i < tr->n_spans; i++)
        if (tr->spans[i].status == MS_STATUS_ERROR)
            ne++;
    if (!ne)
        return true;
    char(*parents)[17] = malloc(ne * sizeof *parents);
    if (!parents)
        return false;
    size_t k = 0;
    for (size_t i = 0; i < tr->n_spans; i++)
        if (tr->spans[i].status == MS_STATUS_ERROR)
            memcpy(parents[k++], tr->spans[i].parent_id, 17);
    qsort(parents, ne, sizeof *parents, cmp_id16);
    bool ok = true;
    for (size_t i = 0; ok && i < tr->n_spans; i++) {
        const ms_span *s = &tr->spans[i];
        if (s->status != MS_STATUS_ERROR || bsearch(s->span_id, parents, ne, sizeof *parents,
                                                    cmp_id16))
            continue;
        ok = counter_hit(&p->failing_spans, &p->a, s->name.ptr ? s->name.ptr : "", s->name.len,
                         sid, id);
        const char *type = NULL;
        size_t tl = 0;
        for (size_t e = 0; !type && e < s->n_events; e++)
            if (eq_z(s->events[e].name, "exception"))
                type = attr_val(&s->events[e], "exception.type", &tl);
        if (!type || !tl) {
            type = "(no exception recorded)";
            tl = strlen(type);
        }
        if (ok)
            ok = counter_hit(&p->error_types, &p->a, type, tl, sid, id);
    }
    free(parents);
    return ok;
}

static bool starts(ms_str s, const char *z)
{
    size_t n = strlen(z);
    return s.len >= n && memcmp(s.ptr, z, n) == 0;
}

/* The cohort value of the session: metadata, else tag, of turn 1. */
static bool cohort_value(const ms_session *s, const char *key, ms_str *out)
{
    if (!s->n_turns || !s->turns[0].trace)
        return false;
    const ms_trace_info *in = &s->turns[0].trace->info;
    for (size_t i = 0; i < in->n_metadata; i++)
        if (eq_z(in->metadata[i].key, key)) {
            *out = in->metadata[i].value;
            return true;
        }
    for (size_t i = 0; i < in->n_tags; i++)
        if (eq_z(in->tags[i].key, key)) {
            *out = in->tags[i].value;
            return true;
        }
    return false;
}

static struct cohort_acc *cohort_get(ms_patterns *p, ms_str v, bool missing)
{
    struct msx_buf k;
    msx_buf_init(&k, MSX_CAP_OUTPUT);
    msx_buf_addc(&k, missing ? 'm' : 'v');
    if (!missing)
        msx_buf_add(&k, v.ptr ? v.ptr : "", v.len);
    if (msx_buf_status(&k) != MS_OK) {
        msx_buf_release(&k);
        return NULL;
    }
    size_t before = p->cohort_keys.n;
    struct centry *e = counter_get(&p->cohort_keys, &p->a, k.ptr, k.len);
    msx_buf_release(&k);
    if (!e)
        return NULL;
    size_t i = (size_t)(e - p->cohort_keys.v);
    if (p->cohort_keys.n > before) {
        if (p->cohort_keys.n > p->cap_cohorts) {
            size_t nc = p->cap_cohorts ? p->cap_cohorts * 2 : 8;
            struct cohort_acc *nv = realloc(p->cohorts, nc * sizeof *nv);
            if (!nv) {
                /* keep the key but no accumulator: undo the key */
                p->cohort_keys.n--;
                for (size_t s = 0; s < p->cohort_keys.n_slots; s++)
                    if (p->cohort_keys.slots[s] == p->cohort_keys.n + 1)
                        p->cohort_keys.slots[s] = 0;
                counter_rehash(&p->cohort_keys);
                return NULL;
            }
            p->cohorts = nv;
            p->cap_cohorts = nc;
        }
        memset(&p->cohorts[i], 0, sizeof p->cohorts[i]);
    }
    return &p->cohorts[i];
}

/* ---- adding a session --------------------------------------------------- */

static ms_code add_session(ms_patterns *p, const ms_session *s, const ms_findings *f)
{
    int64_t sid = p->serial++;
    ms_str id = {msx_arena_strndup(&p->a, s->session_id.ptr ? s->session_id.ptr : "",
                                   s->session_id.len),
                 s->session_id.len};
    if (!id.ptr)
        return MS_E_NOMEM;
    int64_t n = (int64_t)s->n_turns;
    p->turns += n;
    if (!ivec_push(&p->turn_counts, n))
        return MS_E_NOMEM;
    if (!ivec_at(&p->ended, (size_t)n) || !ivec_at(&p->first_err, (size_t)n) ||
        !ivec_at(&p->abandoned_at, (size_t)n))
        return MS_E_NOMEM;
    p->ended.v[n]++;

    /* first error: a turn in ERROR or an error-level finding of errors */
    int64_t first = 0;
    for (size_t i = 0; i < s->n_turns && !first; i++)
        if (s->turns[i].trace && s->turns[i].trace->info.state == MS_STATE_ERROR)
            first = s->turns[i].index;
    bool failing = false, abandon = false, failing_last = false;
    int shape = 0; /* 1 linear, 2 accelerating */
    size_t nf = f ? ms_findings_count(f) : 0;
    for (size_t i = 0; i < nf; i++) {
        const ms_finding *x = ms_findings_at(f, i);
        if (starts((ms_str){x->rule, strlen(x->rule)}, "error.") && x->severity == MS_SEV_ERROR &&
            x->turn > 0 && (!first || x->turn < first))
            first = x->turn;
        if (strcmp(x->rule, "assessment.failing") == 0) {
            failing = true;
            if (x->turn == n)
                failing_last = true;
        }
        if (strcmp(x->rule, "friction.abandon") == 0)
            abandon = true;
        if (strcmp(x->rule, "context.growth") == 0)
            shape = starts(x->message, "input tokens grow faster") ? 2 : shape ? shape : 1;
        if (!counter_hit(&p->findings, &p->a, x->rule, strlen(x->rule), sid, id))
            return MS_E_NOMEM;
    }
    if (n > 0 && s->turns[n - 1].trace && s->turns[n - 1].trace->info.state == MS_STATE_ERROR)
        abandon = true;
    if (failing_last)
        abandon = true;
    if (n == 0)
        abandon = false;
    if (first > n)
        first = 0;
    if (first) {
        p->errored++;
        p->first_err.v[first]++;
        if (!ivec_push(&p->first_turns, first))
            return MS_E_NOMEM;
    }
    if (abandon) {
        p->abandoned++;
        p->abandoned_at.v[n]++;
    }

    /* errors, tokens, growth, signature */
    int64_t tokens = 0, prev_in = 0, with_in = 0;
    bool has_tokens = false;
    msx_buf_reset(&p->sig);
    msx_buf_reset(&p->prev);
    bool sig_cut = false;
    for (size_t i = 0; i < s->n_turns; i++) {
        const ms_turn *t = &s->turns[i];
        if (!turn_errors(p, t, sid, id))
            return MS_E_NOMEM;
        int64_t v;
        if (turn_tokens(t, &v)) {
            tokens += v;
            has_tokens = true;
        }
        if (peak_input(t, &v)) {
            if (with_in && !ivec_push(&p->growth, v - prev_in))
                return MS_E_NOMEM;
            prev_in = v;
            with_in++;
        }
        msx_buf_reset(&p->tsig);
        if (!turn_signature(t, &p->tsig))
            return MS_E_NOMEM;
        if (i > 0 && p->tsig.len == p->prev.len &&
            memcmp(p->tsig.ptr, p->prev.ptr, p->tsig.len) == 0)
            continue;
        if (sig_cut)
            continue;
        if (p->sig.len + p->tsig.len + 3 > SIG_CAP) {
            msx_buf_adds(&p->sig, " | ...");
            sig_cut = true;
        } else {
            if (i > 0)
                msx_buf_adds(&p->sig, " | ");
            msx_buf_add(&p->sig, p->tsig.ptr, p->tsig.len);
        }
        msx_buf_reset(&p->prev);
        msx_buf_add(&p->prev, p->tsig.ptr, p->tsig.len);
        if (msx_buf_status(&p->sig) != MS_OK || msx_buf_status(&p->prev) != MS_OK)
            return MS_E_NOMEM;
    }
    if (shape == 1)
        p->shape_linear++;
    else if (shape == 2)
        p->shape_accel++;
    else if (with_in >= 2)
        p->shape_none++;
    else
        p->shape_no_tokens++;
    if (!counter_hit(&p->signatures, &p->a, p->sig.ptr ? p->sig.ptr : "", p->sig.len, sid, id))
        return MS_E_NOMEM;

    if (p->o.by) {
        ms_str v = {NULL, 0};
        bool has = cohort_value(s, p->o.by, &v);
        struct cohort_acc *c = cohort_get(p, v, !has);
        if (!c)
            return MS_E_NOMEM;
        c->sessions++;
        if (c->n_ex < MS_PAT_EXAMPLES)
            c->ex[c->n_ex++] = id;
        c->turns += n;
        c->turns_sq += (double)n * (double)n;
        c->errored += first ? 1 : 0;
        if (first && !ivec_push(&c->first_err, first))
            return MS_E_NOMEM;
        c->failing += failing ? 1 : 0;
        c->abandoned += abandon ? 1 : 0;
        if (has_tokens) {
            c->with_tokens++;
            c->tokens += tokens;
            c->tokens_sq += (double)tokens * (double)tokens;
        }
        for (size_t i = 0; i < nf; i++) {
            const char *r = ms_findings_at(f, i)->rule;
            struct centry *e = counter_get(&c->rules, &p->a, r, strlen(r));
            if (!e)
                return MS_E_NOMEM;
            if (e->last_session != sid) { /* ranked by sessions: count them */
                e->last_session = sid;
                e->e.count++;
                e->e.sessions++;
                if (e->e.n_examples < MS_PAT_EXAMPLES)
                    e->e.examples[e->e.n_examples++] = id;
            }
        }
    }
    return MS_OK;
}

ms_code ms_patterns_add(ms_patterns *p, const ms_session *s, const ms_findings *f,
                        struct ms_error *err)
{
    ms_findings *own = NULL;
    if (!f) {
        ms_code rc = ms_analyze_session(s, &p->ao, &own, err);
        if (rc != MS_OK)
            return rc;
        f = own;
    }
    ms_code rc = add_session(p, s, f);
    ms_findings_free(own);
    if (rc != MS_OK && err) {
        err->code = rc;
        err->offset = -1;
        snprintf(err->msg, sizeof err->msg, "patterns: %s", ms_strerror(rc));
    }
    return rc;
}

/* ---- finishing: ranks, histograms, cohorts ------------------------------ */

static double zcap(double z)
{
    if (z != z)
        return 0.0;
    return z > Z_CAP ? Z_CAP : z < -Z_CAP ? -Z_CAP : z;
}

static double z_rates(int64_t x1, int64_t n1, int64_t x2, int64_t n2)
{
    if (n1 <= 0 || n2 <= 0)
        return 0.0;
    double p1 = (double)x1 / (double)n1, p2 = (double)x2 / (double)n2;
    double pp = (double)(x1 + x2) / (double)(n1 + n2);
    double se = sqrt(pp * (1.0 - pp) * (1.0 / (double)n1 + 1.0 / (double)n2));
    if (se <= 0.0)
        return 0.0;
    return zcap((p1 - p2) / se);
}

static double z_means(double s1, double q1, int64_t n1, double s2, double q2, int64_t n2)
{
    if (n1 < 2 || n2 < 2)
        return 0.0;
    double m1 = s1 / (double)n1, m2 = s2 / (double)n2;
    double v1 = (q1 - s1 * m1) / (double)(n1 - 1), v2 = (q2 - s2 * m2) / (double)(n2 - 1);
    if (v1 < 0)
        v1 = 0;
    if (v2 < 0)
        v2 = 0;
    double se = sqrt(v1 / (double)n1 + v2 / (double)n2);
    if (se <= 0.0)
        return m1 == m2 ? 0.0 : (m1 > m2 ? Z_CAP : -Z_CAP);
    return zcap((m1 - m2) / se);
}

static double relative(double a, double b)
{
    double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return m > 0 ? fabs(a - b) / m : 0.0;
}

static const char *const metric_names[] = {"error_rate", "failing_rate", "abandon_rate",
                                           "mean_turns", "mean_tokens"};

static int metric_rank(const char *m)
{
    for (int i = 0; i < 5; i++)
        if (strcmp(metric_names[i], m) == 0)
            return i;
    return 5;
}

static int cmp_diff(const void *x, const void *y)
{
    const ms_pat_diff *a = x, *b = y;
    if (a->significant != b->significant)
        return a->significant ? -1 : 1;
    double ra = relative(a->a, a->b), rb = relative(b->a, b->b);
    if (ra != rb)
        return ra > rb ? -1 : 1;
    double za = fabs(a->z), zb = fabs(b->z);
    if (za != zb)
        return za > zb ? -1 : 1;
    int ma = metric_rank(a->metric), mb = metric_rank(b->metric);
    if (ma != mb)
        return ma - mb;
    return a->cohort < b->cohort ? -1 : a->cohort > b->cohort;
}

struct cidx {
    size_t i;
    const ms_patterns *p;
};

static int cmp_cohort(const void *x, const void *y)
{
    const struct cidx *a = x, *b = y;
    const struct cohort_acc *ca = &a->p->cohorts[a->i], *cb = &b->p->cohorts[b->i];
    if (ca->sessions != cb->sessions)
        return ca->sessions > cb->sessions ? -1 : 1;
    ms_str ka = a->p->cohort_keys.v[a->i].e.key, kb = b->p->cohort_keys.v[b->i].e.key;
    /* a missing value ('m') after every present one ('v') */
    if (ka.ptr[0] != kb.ptr[0])
        return ka.ptr[0] == 'v' ? -1 : 1;
    return cmp_str(ka, kb);
}

static ms_code finish_cohorts(ms_patterns *p, ms_patterns_result *r)
{
    size_t nc = p->cohort_keys.n;
    r->by = p->o.by;
    r->min_cohort = p->o.min_cohort;
    if (!nc)
        return MS_OK;
    struct cidx *order = malloc(nc * sizeof *order);
    if (!order)
        return MS_E_NOMEM;
    for (size_t i = 0; i < nc; i++)
        order[i] = (struct cidx){i, p};
    qsort(order, nc, sizeof *order, cmp_cohort);
    r->cohorts = msx_arena_calloc(&p->a, nc, sizeof *r->cohorts);
    if (!r->cohorts) {
        free(order);
        return MS_E_NOMEM;
    }
    r->n_cohorts = nc;
    int64_t tot_s = 0, tot_t = 0, tot_e = 0, tot_f = 0, tot_a = 0, tot_wt = 0, tot_tok = 0;
    double tot_tsq = 0, tot_ksq = 0;
    for (size_t i = 0; i < nc; i++) {
        const struct cohort_acc *c = &p->cohorts[i];
        tot_s += c->sessions;
        tot_t += c->turns;
        tot_e += c->errored;
        tot_f += c->failing;
        tot_a += c->abandoned;
        tot_wt += c->with_tokens;
        tot_tok += c->tokens;
        tot_tsq += c->turns_sq;
        tot_ksq += c->tokens_sq;
    }
    size_t max_diffs = nc * 5;
    ms_pat_diff *d = msx_arena_calloc(&p->a, max_diffs, sizeof *d);
    if (!d) {
        free(order);
        return MS_E_NOMEM;
    }
    size_t nd = 0;
    for (size_t k = 0; k < nc; k++) {
        const struct cohort_acc *c = &p->cohorts[order[k].i];
        ms_pat_cohort *o = &r->cohorts[k];
        ms_str key = p->cohort_keys.v[order[k].i].e.key;
        o->missing = key.ptr[0] == 'm';
        if (!o->missing)
            o->value = (ms_str){key.ptr + 1, key.len - 1};
        o->sessions = c->sessions;
        o->turns = c->turns;
        o->errored = c->errored;
        o->failing = c->failing;
        o->abandoned = c->abandoned;
        dist_of(p->cohorts[order[k].i].first_err.v, p->cohorts[order[k].i].first_err.n,
                &o->first_error_turns);
        o->with_tokens = c->with_tokens;
        o->tokens = c->tokens;
        memcpy(o->examples, c->ex, sizeof o->examples);
        o->n_examples = c->n_ex;
        o->findings = counter_top(&c->rules, &p->a, 3, &o->n_findings);
        if (c->rules.n && !o->findings) {
            free(order);
            return MS_E_NOMEM;
        }
        if (nc < 2)
            continue;
        int64_t rs = tot_s - c->sessions;
        bool enough = c->sessions >= p->o.min_cohort && rs >= p->o.min_cohort;
        struct {
            int64_t an, ad, bn, bd;
            bool mean;
            double asq, bsq;
        } m[5] = {
            {c->errored, c->sessions, tot_e - c->errored, rs, false, 0, 0},
            {c->failing, c->sessions, tot_f - c->failing, rs, false, 0, 0},
            {c->abandoned, c->sessions, tot_a - c->abandoned, rs, false, 0, 0},
            {c->turns, c->sessions, tot_t - c->turns, rs, true, c->turns_sq, tot_tsq - c->turns_sq},
            {c->tokens, c->with_tokens, tot_tok - c->tokens, tot_wt - c->with_tokens, true,
             c->tokens_sq, tot_ksq - c->tokens_sq},
        };
        for (int j = 0; j < 5; j++) {
            if (m[j].ad <= 0 || m[j].bd <= 0)
                continue;
            double a = (double)m[j].an / (double)m[j].ad, b = (double)m[j].bn / (double)m[j].bd;
            if (a == b)
                continue;
            /* too few sessions on a side to judge: counted, not listed */
            if (!enough || m[j].ad < p->o.min_cohort || m[j].bd < p->o.min_cohort) {
                r->n_diffs_small++;
                continue;
            }
            ms_pat_diff *x = &d[nd++];
            x->metric = metric_names[j];
            x->cohort = k;
            x->a_num = m[j].an;
            x->a_den = m[j].ad;
            x->b_num = m[j].bn;
            x->b_den = m[j].bd;
            x->a = a;
            x->b = b;
            x->z = m[j].mean ? z_means((double)m[j].an, m[j].asq, m[j].ad, (double)m[j].bn,
                                       m[j].bsq, m[j].bd)
                             : z_rates(m[j].an, m[j].ad, m[j].bn, m[j].bd);
            x->significant = fabs(x->z) >= Z_SIGNIFICANT;
        }
    }
    free(order);
    qsort(d, nd, sizeof *d, cmp_diff);
    r->diffs = d;
    r->n_diffs = nd < p->o.top ? nd : p->o.top;
    return MS_OK;
}

/* Growth histogram: < 0, 0, then powers of two: 1-63, 64-127, ..., 4096+. */
static ms_code growth_hist(ms_patterns *p, ms_patterns_result *r)
{
    static const int64_t edges[] = {1, 64, 128, 256, 512, 1024, 2048, 4096};
    size_t nb = 2 + sizeof edges / sizeof edges[0];
    ms_pat_bucket *b = msx_arena_calloc(&p->a, nb, sizeof *b);
    if (!b)
        return MS_E_NOMEM;
    b[0] = (ms_pat_bucket){INT64_MIN, -1, 0};
    b[1] = (ms_pat_bucket){0, 0, 0};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        int64_t hi = i + 1 < sizeof edges / sizeof edges[0] ? edges[i + 1] - 1 : INT64_MAX;
        b[2 + i] = (ms_pat_bucket){edges[i], hi, 0};
    }
    for (size_t i = 0; i < p->growth.n; i++) {
        int64_t v = p->growth.v[i];
        for (size_t k = 0; k < nb; k++)
            if (v >= b[k].lo && v <= b[k].hi) {
                b[k].count++;
                break;
            }
    }
    r->growth_hist = b;
    r->n_growth_hist = nb;
    return MS_OK;
}

ms_code ms_patterns_finish(ms_patterns *p, struct ms_error *err)
{
    if (p->res)
        return MS_OK;
    ms_code rc = MS_E_NOMEM;
    ms_patterns_result *r = msx_arena_calloc(&p->a, 1, sizeof *r);
    if (!r)
        goto fail;
    r->sessions = p->serial;
    r->turns = p->turns;
    /* turn counts: the histogram before the sort destroys nothing needed */
    size_t maxn = p->ended.n ? p->ended.n - 1 : 0;
    size_t distinct = 0;
    for (size_t i = 1; i < p->ended.n; i++)
        distinct += p->ended.v[i] ? 1 : 0;
    if (p->ended.n && p->ended.v[0])
        distinct++;
    if (distinct) {
        r->turn_hist = msx_arena_calloc(&p->a, distinct, sizeof *r->turn_hist);
        if (!r->turn_hist)
            goto fail;
        for (size_t i = 0; i < p->ended.n; i++)
            if (p->ended.v[i])
                r->turn_hist[r->n_turn_hist++] =
                    (ms_pat_bucket){(int64_t)i, (int64_t)i, p->ended.v[i]};
    }
    dist_of(p->turn_counts.v, p->turn_counts.n, &r->turns_dist);
    if (maxn) {
        r->by_turn = msx_arena_calloc(&p->a, maxn, sizeof *r->by_turn);
        if (!r->by_turn)
            goto fail;
        int64_t reached = p->serial - (p->ended.n ? p->ended.v[0] : 0);
        for (size_t n = 1; n <= maxn; n++) {
            ms_pat_turn *t = &r->by_turn[n - 1];
            t->turn = (int64_t)n;
            t->reached = reached;
            t->first_error = p->first_err.v[n];
            t->ended = p->ended.v[n];
            t->abandoned = p->abandoned_at.v[n];
            reached -= p->ended.v[n];
        }
        r->n_by_turn = maxn;
    }
    r->errored = p->errored;
    r->abandoned = p->abandoned;
    dist_of(p->first_turns.v, p->first_turns.n, &r->first_error_turns);
    size_t top = p->o.top;
    r->error_types = counter_top(&p->error_types, &p->a, top, &r->n_error_types);
    r->failing_spans = counter_top(&p->failing_spans, &p->a, top, &r->n_failing_spans);
    r->findings = counter_top(&p->findings, &p->a, top, &r->n_findings);
    r->signatures = counter_top(&p->signatures, &p->a, top, &r->n_signatures);
    if ((p->error_types.n && !r->error_types) || (p->failing_spans.n && !r->failing_spans) ||
        (p->findings.n && !r->findings) || (p->signatures.n && !r->signatures))
        goto fail;
    r->n_signature_clusters = (int64_t)p->signatures.n;
    dist_of(p->growth.v, p->growth.n, &r->growth);
    if (growth_hist(p, r) != MS_OK)
        goto fail;
    r->shape_linear = p->shape_linear;
    r->shape_accelerating = p->shape_accel;
    r->shape_none = p->shape_none;
    r->shape_no_tokens = p->shape_no_tokens;
    if (finish_cohorts(p, r) != MS_OK)
        goto fail;
    p->res = r;
    return MS_OK;
fail:
    if (err) {
        err->code = rc;
        err->offset = -1;
        snprintf(err->msg, sizeof err->msg, "patterns: out of memory");
    }
    return rc;
}

/* ---- over a store ------------------------------------------------------- */

struct visit {
    ms_patterns *p;
    ms_code rc;
    struct ms_error *err;
};

static bool visit(void *ctx, const ms_session *s)
{
    struct visit *v = ctx;
    v->rc = ms_patterns_add(v->p, s, NULL, v->err);
    return v->rc == MS_OK;
}

ms_code ms_patterns_compute(ms_store *st, const struct ms_session_query *q,
                            const struct ms_patterns_options *o, ms_patterns **out,
                            struct ms_error *err)
{
    *out = NULL;
    struct ms_session_query lq;
    if (q)
        lq = *q;
    else {
        memset(&lq, 0, sizeof lq);
        lq.version = 1;
    }
    lq.with_trace_ids = true;
    lq.include_unsessioned = false;
    lq.sort = MS_SORT_FIRST;
    lq.ascending = true;
    ms_patterns *p = NULL;
    ms_code rc = ms_patterns_new(o, &p);
    if (rc != MS_OK) {
        if (err) {
            err->code = rc;
            err->offset = -1;
            snprintf(err->msg, sizeof err->msg, "patterns: out of memory");
        }
        return rc;
    }
    ms_session_list *l = NULL;
    rc = ms_sessions_list(st, &lq, &l, err);
    if (rc == MS_OK) {
        struct visit v = {p, MS_OK, err};
        rc = ms_sessions_foreach(st, l, visit, &v, err);
        if (rc == MS_OK)
            rc = v.rc;
    }
    ms_session_list_free(l);
    if (rc == MS_OK)
        rc = ms_patterns_finish(p, err);
    if (rc != MS_OK) {
        ms_patterns_free(p);
        return rc;
    }
    *out = p;
    return MS_OK;
}

/* ---- JSON --------------------------------------------------------------- */

static void jw_str(struct msx_jw *w, ms_str s)
{
    msx_jw_str(w, s.ptr ? s.ptr : "", s.len);
}

static void jw_ratio(struct msx_jw *w, int64_t num, int64_t den)
{
    if (den > 0)
        msx_jw_double(w, (double)num / (double)den);
    else
        msx_jw_null(w);
}

static void jw_examples(struct msx_jw *w, const ms_str *ex, size_t n)
{
    msx_jw_keyz(w, "examples");
    msx_jw_arr_begin(w);
    for (size_t i = 0; i < n; i++)
        jw_str(w, ex[i]);
    msx_jw_arr_end(w);
}

static void jw_entries(struct msx_jw *w, const char *name, const char *keyname,
                       const ms_pat_entry *e, size_t n, bool with_count)
{
    msx_jw_keyz(w, name);
    msx_jw_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        msx_jw_obj_begin(w);
        msx_jw_keyz(w, keyname);
        jw_str(w, e[i].key);
        if (with_count) {
            msx_jw_keyz(w, "count");
            msx_jw_int(w, e[i].count);
        }
        msx_jw_keyz(w, "sessions");
        msx_jw_int(w, e[i].sessions);
        jw_examples(w, e[i].examples, e[i].n_examples);
        msx_jw_obj_end(w);
    }
    msx_jw_arr_end(w);
}

static void jw_dist(struct msx_jw *w, const ms_pat_dist *d, const char *nname)
{
    msx_jw_keyz(w, nname);
    msx_jw_int(w, d->n);
    const char *k[] = {"min", "median", "p90", "max"};
    int64_t v[] = {d->min, d->median, d->p90, d->max};
    for (int i = 0; i < 4; i++) {
        msx_jw_keyz(w, k[i]);
        if (d->n)
            msx_jw_int(w, v[i]);
        else
            msx_jw_null(w);
    }
}

static void jw_cohort_value(struct msx_jw *w, const ms_pat_cohort *c)
{
    if (c->missing)
        msx_jw_null(w);
    else
        jw_str(w, c->value);
}

ms_code ms_patterns_to_json(const ms_patterns *p, char **out, size_t *len)
{
    *out = NULL;
    if (len)
        *len = 0;
    const ms_patterns_result *r = ms_patterns_get(p);
    if (!r)
        return MS_E_INVALID;
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_OUTPUT);
    struct msx_jw w;
    msx_jw_init(&w, &b, MSX_JW_PRETTY);
    msx_jw_obj_begin(&w);
    msx_jw_keyz(&w, "schema_version");
    msx_jw_int(&w, 1);
    msx_jw_keyz(&w, "sessions");
    msx_jw_int(&w, r->sessions);
    msx_jw_keyz(&w, "turns");
    msx_jw_int(&w, r->turns);

    msx_jw_keyz(&w, "turns_per_session");
    msx_jw_obj_begin(&w);
    jw_dist(&w, &r->turns_dist, "sessions");
    msx_jw_keyz(&w, "histogram");
    msx_jw_arr_begin(&w);
    for (size_t i = 0; i < r->n_turn_hist; i++) {
        msx_jw_obj_begin(&w);
        msx_jw_keyz(&w, "turns");
        msx_jw_int(&w, r->turn_hist[i].lo);
        msx_jw_keyz(&w, "sessions");
        msx_jw_int(&w, r->turn_hist[i].count);
        msx_jw_obj_end(&w);
    }
    msx_jw_arr_end(&w);
    msx_jw_obj_end(&w);

    msx_jw_keyz(&w, "errored_sessions");
    msx_jw_int(&w, r->errored);
    msx_jw_keyz(&w, "abandoned_sessions");
    msx_jw_int(&w, r->abandoned);
    msx_jw_keyz(&w, "first_error_turn");
    msx_jw_obj_begin(&w);
    jw_dist(&w, &r->first_error_turns, "sessions");
    msx_jw_obj_end(&w);
    msx_jw_keyz(&w, "by_turn");
    msx_jw_arr_begin(&w);
    for (size_t i = 0; i < r->n_by_turn; i++) {
        const ms_pat_turn *t = &r->by_turn[i];
        msx_jw_obj_begin(&w);
        msx_jw_keyz(&w, "turn");
        msx_jw_int(&w, t->turn);
        msx_jw_keyz(&w, "reached");
        msx_jw_int(&w, t->reached);
        msx_jw_keyz(&w, "first_error");
        msx_jw_int(&w, t->first_error);
        msx_jw_keyz(&w, "hazard");
        jw_ratio(&w, t->first_error, t->reached);
        msx_jw_keyz(&w, "share");
        jw_ratio(&w, t->first_error, r->sessions);
        msx_jw_keyz(&w, "ended");
        msx_jw_int(&w, t->ended);
        msx_jw_keyz(&w, "abandoned");
        msx_jw_int(&w, t->abandoned);
        msx_jw_obj_end(&w);
    }
    msx_jw_arr_end(&w);

    jw_entries(&w, "error_types", "type", r->error_types, r->n_error_types, true);
    jw_entries(&w, "failing_spans", "span", r->failing_spans, r->n_failing_spans, true);
    jw_entries(&w, "findings", "rule", r->findings, r->n_findings, true);

    msx_jw_keyz(&w, "context_growth");
    msx_jw_obj_begin(&w);
    jw_dist(&w, &r->growth, "steps");
    msx_jw_keyz(&w, "histogram");
    msx_jw_arr_begin(&w);
    for (size_t i = 0; i < r->n_growth_hist; i++) {
        const ms_pat_bucket *h = &r->growth_hist[i];
        msx_jw_obj_begin(&w);
        msx_jw_keyz(&w, "min");
        if (h->lo == INT64_MIN)
            msx_jw_null(&w);
        else
            msx_jw_int(&w, h->lo);
        msx_jw_keyz(&w, "max");
        if (h->hi == INT64_MAX)
            msx_jw_null(&w);
        else
            msx_jw_int(&w, h->hi);
        msx_jw_keyz(&w, "steps");
        msx_jw_int(&w, h->count);
        msx_jw_obj_end(&w);
    }
    msx_jw_arr_end(&w);
    msx_jw_keyz(&w, "shapes");
    msx_jw_obj_begin(&w);
    msx_jw_keyz(&w, "linear");
    msx_jw_int(&w, r->shape_linear);
    msx_jw_keyz(&w, "accelerating");
    msx_jw_int(&w, r->shape_accelerating);
    msx_jw_keyz(&w, "none");
    msx_jw_int(&w, r->shape_none);
    msx_jw_keyz(&w, "no_tokens");
    msx_jw_int(&w, r->shape_no_tokens);
    msx_jw_obj_end(&w);
    msx_jw_obj_end(&w);

    msx_jw_keyz(&w, "signatures");
    msx_jw_obj_begin(&w);
    msx_jw_keyz(&w, "clusters");
    msx_jw_int(&w, r->n_signature_clusters);
    jw_entries(&w, "top", "signature", r->signatures, r->n_signatures, false);
    msx_jw_obj_end(&w);

    msx_jw_keyz(&w, "cohorts");
    if (!r->by) {
        msx_jw_null(&w);
    } else {
        msx_jw_obj_begin(&w);
        msx_jw_keyz(&w, "by");
        msx_jw_strz(&w, r->by);
        msx_jw_keyz(&w, "min_sessions");
        msx_jw_int(&w, r->min_cohort);
        msx_jw_keyz(&w, "cohorts");
        msx_jw_arr_begin(&w);
        for (size_t i = 0; i < r->n_cohorts; i++) {
            const ms_pat_cohort *c = &r->cohorts[i];
            msx_jw_obj_begin(&w);
            msx_jw_keyz(&w, "value");
            jw_cohort_value(&w, c);
            msx_jw_keyz(&w, "sessions");
            msx_jw_int(&w, c->sessions);
            msx_jw_keyz(&w, "turns");
            msx_jw_int(&w, c->turns);
            msx_jw_keyz(&w, "errored");
            msx_jw_int(&w, c->errored);
            msx_jw_keyz(&w, "error_rate");
            jw_ratio(&w, c->errored, c->sessions);
            msx_jw_keyz(&w, "failing");
            msx_jw_int(&w, c->failing);
            msx_jw_keyz(&w, "failing_rate");
            jw_ratio(&w, c->failing, c->sessions);
            msx_jw_keyz(&w, "abandoned");
            msx_jw_int(&w, c->abandoned);
            msx_jw_keyz(&w, "abandon_rate");
            jw_ratio(&w, c->abandoned, c->sessions);
            msx_jw_keyz(&w, "first_error_turn");
            msx_jw_obj_begin(&w);
            jw_dist(&w, &c->first_error_turns, "sessions");
            msx_jw_obj_end(&w);
            msx_jw_keyz(&w, "sessions_with_tokens");
            msx_jw_int(&w, c->with_tokens);
            msx_jw_keyz(&w, "tokens");
            msx_jw_int(&w, c->tokens);
            msx_jw_keyz(&w, "mean_tokens");
            jw_ratio(&w, c->tokens, c->with_tokens);
            msx_jw_keyz(&w, "top_findings");
            msx_jw_arr_begin(&w);
            for (size_t k = 0; k < c->n_findings; k++) {
                msx_jw_obj_begin(&w);
                msx_jw_keyz(&w, "rule");
                jw_str(&w, c->findings[k].key);
                msx_jw_keyz(&w, "sessions");
                msx_jw_int(&w, c->findings[k].sessions);
                msx_jw_obj_end(&w);
            }
            msx_jw_arr_end(&w);
            jw_examples(&w, c->examples, c->n_examples);
            msx_jw_obj_end(&w);
        }
        msx_jw_arr_end(&w);
        msx_jw_keyz(&w, "differences");
        msx_jw_arr_begin(&w);
        for (size_t i = 0; i < r->n_diffs; i++) {
            const ms_pat_diff *d = &r->diffs[i];
            msx_jw_obj_begin(&w);
            msx_jw_keyz(&w, "metric");
            msx_jw_strz(&w, d->metric);
            msx_jw_keyz(&w, "value");
            jw_cohort_value(&w, &r->cohorts[d->cohort]);
            msx_jw_keyz(&w, "cohort");
            msx_jw_double(&w, d->a);
            msx_jw_keyz(&w, "cohort_num");
            msx_jw_int(&w, d->a_num);
            msx_jw_keyz(&w, "cohort_den");
            msx_jw_int(&w, d->a_den);
            msx_jw_keyz(&w, "rest");
            msx_jw_double(&w, d->b);
            msx_jw_keyz(&w, "rest_num");
            msx_jw_int(&w, d->b_num);
            msx_jw_keyz(&w, "rest_den");
            msx_jw_int(&w, d->b_den);
            msx_jw_keyz(&w, "z");
            msx_jw_double(&w, round(d->z * 100.0) / 100.0);
            msx_jw_keyz(&w, "significant");
            msx_jw_bool(&w, d->significant);
            msx_jw_obj_end(&w);
        }
        msx_jw_arr_end(&w);
        msx_jw_keyz(&w, "differences_too_small");
        msx_jw_int(&w, r->n_diffs_small);
        msx_jw_obj_end(&w);
    }
    msx_jw_obj_end(&w);
    msx_buf_addc(&b, '\n');
    ms_code rc = msx_buf_status(&b);
    if (rc == MS_OK) {
        *out = msx_buf_take(&b, len);
        if (!*out)
            rc = MS_E_NOMEM;
    }
    msx_buf_release(&b);
    return rc;
}
