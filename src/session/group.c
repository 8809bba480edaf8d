/* SPDX-License-Identifier: MIT
 *
 * Grouping traces into sessions and the per-session aggregates of
 * `sessions list`: the accumulator (session_int.h) takes one row per trace
 * in any order, keeps a hash table of sessions and, per session, only what
 * the aggregates need (start and latency per turn, the first input and last
 * output cut to a few hundred bytes), so a million traces fit in a small
 * budget. The session id and user of a trace are read here too.
 */
#define _GNU_SOURCE /* memmem */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/session_int.h"
#include "store/store.h"
#include "util/arena.h"
#include "util/utf8.h"

#define PREVIEW_KEEP 100 /* bytes of first input / last output kept */
#define TID_KEEP 36      /* "tr-" + 32 hex + NUL; longer ids are cut */
#define MAX_WARNINGS 32

static const char SESSION_KEY[] = "mlflow.trace.session";
static const char USER_KEY[] = "mlflow.trace.user";

/* ---- session id and user of one trace --------------------------------- */

static ms_str kv_get(const ms_kv *kv, size_t n, const char *key)
{
    size_t kn = strlen(key);
    for (size_t i = 0; i < n; i++)
        if (kv[i].key.len == kn && memcmp(kv[i].key.ptr, key, kn) == 0)
            return kv[i].value;
    return (ms_str){NULL, 0};
}

ms_str msi_attr_text(const ms_attr *a)
{
    ms_str v = a->value;
    if (a->kind == MS_VAL_STRING && v.len >= 2 && v.ptr[0] == '"' && v.ptr[v.len - 1] == '"' &&
        !memchr(v.ptr + 1, '\\', v.len - 2))
        return (ms_str){v.ptr + 1, v.len - 2};
    return v;
}

/* The span whose attributes speak for the trace: the root, else (a turn
 * whose root never ended) the earliest span. */
static const ms_span *lead_span(const ms_trace *t)
{
    const ms_span *best = NULL;
    for (size_t i = 0; i < t->n_spans; i++) {
        const ms_span *s = &t->spans[i];
        if (!s->parent_id[0])
            return s;
        if (!best || s->start_ns < best->start_ns)
            best = s;
    }
    return best;
}

static ms_str span_attr_text(const ms_span *s, const char *key)
{
    const ms_attr *a = s ? ms_span_attr(s, key) : NULL;
    return a ? msi_attr_text(a) : (ms_str){NULL, 0};
}

static bool same(ms_str a, ms_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

ms_str ms_trace_session_id(const ms_trace *t, ms_sid_source *src, bool *conflict)
{
    const ms_trace_info *in = &t->info;
    const ms_span *lead = lead_span(t);
    ms_str cand[5] = {
        kv_get(in->metadata, in->n_metadata, SESSION_KEY),
        kv_get(in->tags, in->n_tags, SESSION_KEY),
        kv_get(in->tags, in->n_tags, "session_id"),
        span_attr_text(lead, "session.id"),
        span_attr_text(lead, "gen_ai.conversation.id"),
    };
    static const ms_sid_source from[5] = {MS_SID_METADATA, MS_SID_TAG, MS_SID_LEGACY_TAG,
                                          MS_SID_SPAN_ATTR, MS_SID_SPAN_ATTR};
    ms_str id = {NULL, 0};
    ms_sid_source s = MS_SID_NONE;
    bool clash = false;
    for (int i = 0; i < 5; i++) {
        if (!cand[i].len)
            continue;
        if (!id.len) {
            id = cand[i];
            s = from[i];
        } else if (!same(id, cand[i])) {
            clash = true;
        }
    }
    if (src)
        *src = s;
    if (conflict)
        *conflict = clash;
    return id;
}

ms_str ms_trace_user_id(const ms_trace *t)
{
    const ms_trace_info *in = &t->info;
    ms_str u = kv_get(in->metadata, in->n_metadata, USER_KEY);
    if (!u.len)
        u = kv_get(in->tags, in->n_tags, USER_KEY);
    if (!u.len)
        u = span_attr_text(lead_span(t), "user.id");
    return u;
}

/* ---- the accumulator --------------------------------------------------- */

/* One turn as the aggregates need it; with_trace_ids adds the id (then
 * ties on time order by id, as turns do). */
struct turn_rec {
    int64_t start_ms;
    int64_t latency_ms;
};
struct turn_id_rec {
    struct turn_rec r;
    ms_str trace_id;
};

struct score_rec {
    ms_score s;
    int64_t time_ms;
};

struct sess {
    uint64_t hash;
    ms_str id, user, exp;
    int64_t user_start;      /* start of the turn the user came from */
    int64_t turns;
    int64_t first_start, last_start;
    char first_tid[TID_KEEP], last_tid[TID_KEEP];
    char first_input[PREVIEW_KEEP + 4], last_output[PREVIEW_KEEP + 4];
    int64_t busy, errors, in_progress;
    int64_t tin, tout, tcached, ttotal;
    bool has_tokens, has_cost;
    double cost;
    uint64_t any, all;
    unsigned char *t; /* turn_rec or turn_id_rec, by the query */
    size_t nt, capt;
    struct score_rec *scores;
    size_t nscores;
};

struct msi_sacc {
    struct ms_session_query q;
    struct msx_arena arena; /* ids, users, trace ids, score strings */
    struct sess **slots;    /* open addressing on id */
    size_t cap, n;
    size_t traces;
    size_t n_warnings;
    char *warnings[MAX_WARNINGS];
    msi_user_fill_fn user_fill;
    void *user_state;
};

struct ms_session_list {
    struct msx_arena arena;
    struct sess **sessions; /* the accumulator's, taken over */
    size_t cap;
    ms_session_summary *items;
    size_t n, total, traces;
    size_t n_warnings;
    char *warnings[MAX_WARNINGS];
};

static uint64_t hash(ms_str s)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ s.len;
    for (size_t i = 0; i < s.len; i++)
        h = (h ^ (unsigned char)s.ptr[i]) * 0x100000001B3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

struct msi_sacc *msi_sacc_new(const struct ms_session_query *q)
{
    struct msi_sacc *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->q = *q;
    msx_arena_init(&a->arena, 0);
    a->cap = 1024;
    a->slots = calloc(a->cap, sizeof *a->slots);
    if (!a->slots) {
        free(a);
        return NULL;
    }
    return a;
}

/* The struct itself lives in the arena. */
static void sess_free(struct sess *s)
{
    if (s) {
        free(s->t);
        free(s->scores);
    }
}

void msi_sacc_set_user_fill(struct msi_sacc *a, msi_user_fill_fn fn, void *state)
{
    a->user_fill = fn;
    a->user_state = state;
}

/* Does the filter read the user? (Conservative: any mention.) */
static bool filter_reads_user(const ms_sfilter *f)
{
    return f && strstr(ms_sfilter_text(f), "user");
}

void msi_sacc_free(struct msi_sacc *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->cap; i++)
        sess_free(a->slots[i]);
    free(a->slots);
    for (size_t i = 0; i < a->n_warnings && i < MAX_WARNINGS; i++)
        free(a->warnings[i]);
    msx_arena_release(&a->arena);
    free(a);
}

static bool grow(struct msi_sacc *a)
{
    size_t cap = a->cap * 2;
    struct sess **slots = calloc(cap, sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 0; i < a->cap; i++) {
        struct sess *s = a->slots[i];
        if (!s)
            continue;
        size_t j = s->hash & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = s;
    }
    free(a->slots);
    a->slots = slots;
    a->cap = cap;
    return true;
}

static struct sess *find_or_add(struct msi_sacc *a, ms_str id)
{
    uint64_t h = hash(id);
    size_t j = h & (a->cap - 1);
    for (struct sess *s; (s = a->slots[j]); j = (j + 1) & (a->cap - 1))
        if (s->hash == h && same(s->id, id))
            return s;
    if ((a->n + 1) * 2 > a->cap) {
        if (!grow(a))
            return NULL;
        return find_or_add(a, id);
    }
    struct sess *s = msx_arena_calloc(&a->arena, 1, sizeof *s);
    char *copy = msx_arena_strndup(&a->arena, id.ptr ? id.ptr : "", id.len);
    if (!s || !copy)
        return NULL;
    s->hash = h;
    s->id = (ms_str){copy, id.len};
    s->all = ~(uint64_t)0;
    a->slots[j] = s;
    a->n++;
    return s;
}

static void warn(struct msi_sacc *a, const char *fmt, ...)
{
    if (a->n_warnings < MAX_WARNINGS) {
        char line[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        a->warnings[a->n_warnings] = strdup(line);
        if (!a->warnings[a->n_warnings])
            return;
    }
    a->n_warnings++;
}

/* A preview is the request or response as JSON, often cut at 1000 bytes
 * by MLflow: {"question": "..."}, {"messages": [...]}, a chat completion...
 * For a list the words matter more than the shape, so the text of the
 * most telling string member is taken when there is one (the last user
 * message, the answer); else the preview as is. No full parse: the JSON is
 * often cut. */
static const char *const IN_KEYS[] = {"\"question\": \"", "\"query\": \"", "\"message\": \"",
                                      "\"input\": \"", "\"prompt\": \"", NULL};
static const char *const OUT_KEYS[] = {"\"answer\": \"", "\"output\": \"", "\"response\": \"",
                                       "\"output_text\": \"", NULL};

static const char *find_last(const char *h, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    const char *last = NULL;
    for (const char *p = h; n >= m && (p = memmem(p, n - (size_t)(p - h), needle, m));
         p += m)
        last = p;
    return last;
}

/* Decodes the JSON string body at p (after its opening quote) into dst
 * (at most cap-4 bytes); true if it ended with a closing quote. */
static size_t json_body(const char *p, const char *end, char *dst, size_t cap, bool *closed)
{
    size_t n = 0;
    *closed = false;
    while (p < end && n + 4 < cap) {
        char c = *p++;
        if (c == '"') {
            *closed = true;
            break;
        }
        if (c == '\\' && p < end) {
            char e = *p++;
            switch (e) {
            case 'n':
            case 'r':
            case 't':
                c = ' ';
                break;
            case 'u': {
                unsigned v = 0;
                int k = 0;
                for (; k < 4 && p < end; k++, p++) {
                    char h = *p;
                    v = v * 16 + (unsigned)(h >= 'a' ? h - 'a' + 10 : h >= 'A' ? h - 'A' + 10 : h - '0');
                }
                if (v >= 0xD800 && v < 0xE000)
                    v = 0xFFFD; /* a surrogate half: not worth pairing here */
                if (v < 0x80) {
                    c = (char)v;
                    break;
                }
                if (v < 0x800) {
                    dst[n++] = (char)(0xC0 | (v >> 6));
                    c = (char)(0x80 | (v & 0x3F));
                } else {
                    dst[n++] = (char)(0xE0 | (v >> 12));
                    dst[n++] = (char)(0x80 | ((v >> 6) & 0x3F));
                    c = (char)(0x80 | (v & 0x3F));
                }
                break;
            }
            default:
                c = e;
            }
        }
        dst[n++] = c;
    }
    return n;
}

static void keep_text(char *dst, const char *p, size_t n, bool cut);

static bool preview_member(char *dst, ms_str s, bool output)
{
    char tmp[PREVIEW_KEEP * 2];
    bool closed;
    if (s.len > 1 && s.ptr[0] == '"') { /* a JSON string */
        size_t n = json_body(s.ptr + 1, s.ptr + s.len, tmp, sizeof tmp, &closed);
        keep_text(dst, tmp, msx_utf8_cut(tmp, n, n), !closed);
        return true;
    }
    if (!s.len || (s.ptr[0] != '{' && s.ptr[0] != '['))
        return false;
    const char *hit = NULL, *key = NULL;
    /* an answer's member comes early (and this runs for nearly every row
     * of a time-ordered scan): the first match; a request's newest user
     * message comes last */
    for (const char *const *k = output ? OUT_KEYS : IN_KEYS; *k && !hit; k++)
        if ((hit = output ? memmem(s.ptr, s.len, *k, strlen(*k)) : find_last(s.ptr, s.len, *k)))
            key = *k;
    if (!hit) {
        key = "\"content\": \"";
        hit = output ? memmem(s.ptr, s.len, key, strlen(key)) : find_last(s.ptr, s.len, key);
    }
    if (!hit) {
        key = "\"text\": \"";
        hit = output ? memmem(s.ptr, s.len, key, strlen(key)) : find_last(s.ptr, s.len, key);
    }
    if (!hit)
        return false;
    const char *from = hit + strlen(key);
    size_t n = json_body(from, s.ptr + s.len, tmp, sizeof tmp, &closed);
    if (!n)
        return false;
    keep_text(dst, tmp, msx_utf8_cut(tmp, n, n), !closed);
    return true;
}

/* Copies at most PREVIEW_KEEP bytes, cut on a character boundary, with an
 * ellipsis when cut. */
static void keep_text(char *dst, const char *p, size_t n, bool cut)
{
    if (n > PREVIEW_KEEP) {
        n = msx_utf8_cut(p, n, PREVIEW_KEEP - 3);
        cut = true;
    }
    memcpy(dst, p, n);
    if (cut)
        memcpy(dst + n, "\xe2\x80\xa6", 3), n += 3;
    dst[n] = 0;
}

static void keep_preview(char *dst, ms_str s, bool output)
{
    if (!s.ptr) {
        dst[0] = 0;
        return;
    }
    if (!preview_member(dst, s, output))
        keep_text(dst, s.ptr, s.len, false);
}

static int id_cmp(ms_str a, const char *b)
{
    size_t bn = strlen(b), n = a.len < bn ? a.len : bn;
    int c = n ? memcmp(a.ptr, b, n) : 0;
    return c ? c : (a.len > bn) - (a.len < bn);
}

/* Trace ids longer than TID_KEEP - 1 bytes (not MLflow's) are cut: they
 * then only serve ordering ties and display. */
static void keep_id(char *dst, ms_str id)
{
    size_t n = id.len < TID_KEEP - 1 ? id.len : TID_KEEP - 1;
    if (n)
        memcpy(dst, id.ptr, n);
    dst[n] = 0;
}

ms_code msi_sacc_add(struct msi_sacc *a, const struct msi_session_row *r)
{
    if ((++a->traces & 0xffff) == 0 && a->q.progress)
        a->q.progress(a->q.progress_ctx, a->traces);
    ms_str id = r->session_id.ptr ? r->session_id : (ms_str){"", 0};
    if (!id.len && !a->q.include_unsessioned)
        return MS_OK;
    if (r->conflict)
        warn(a, "trace %.*s names two different sessions; counted in '%.*s'",
             (int)r->trace_id.len, r->trace_id.ptr, (int)id.len, id.ptr);
    struct sess *s = find_or_add(a, id);
    if (!s)
        return MS_E_NOMEM;
    size_t rs = a->q.with_trace_ids ? sizeof(struct turn_id_rec) : sizeof(struct turn_rec);
    if (s->nt == s->capt) {
        size_t cap = s->capt ? s->capt * 2 : 2;
        unsigned char *t = realloc(s->t, cap * rs);
        if (!t)
            return MS_E_NOMEM;
        s->t = t;
        s->capt = cap;
    }
    struct turn_rec *tr = (struct turn_rec *)(void *)(s->t + rs * s->nt++);
    tr->start_ms = r->start_ms;
    tr->latency_ms = r->latency_ms;
    if (a->q.with_trace_ids) {
        char *c = msx_arena_strndup(&a->arena, r->trace_id.ptr ? r->trace_id.ptr : "",
                                    r->trace_id.len);
        if (!c)
            return MS_E_NOMEM;
        ((struct turn_id_rec *)(void *)tr)->trace_id = (ms_str){c, r->trace_id.len};
    }
    bool first = s->turns == 0 || r->start_ms < s->first_start ||
                 (r->start_ms == s->first_start && id_cmp(r->trace_id, s->first_tid) < 0);
    bool last = s->turns == 0 || r->start_ms > s->last_start ||
                (r->start_ms == s->last_start && id_cmp(r->trace_id, s->last_tid) > 0);
    s->turns++;
    if (first) {
        s->first_start = r->start_ms;
        keep_id(s->first_tid, r->trace_id);
        keep_preview(s->first_input, r->request_preview, false);
        if (!s->exp.len && r->experiment_id.len) {
            char *c = msx_arena_strndup(&a->arena, r->experiment_id.ptr, r->experiment_id.len);
            if (!c)
                return MS_E_NOMEM;
            s->exp = (ms_str){c, r->experiment_id.len};
        }
    }
    if (last) {
        s->last_start = r->start_ms;
        keep_id(s->last_tid, r->trace_id);
        keep_preview(s->last_output, r->response_preview, true);
    }
    if (r->user_id.len && (!s->user.len || r->start_ms < s->user_start)) {
        char *c = msx_arena_strndup(&a->arena, r->user_id.ptr, r->user_id.len);
        if (!c)
            return MS_E_NOMEM;
        s->user = (ms_str){c, r->user_id.len};
        s->user_start = r->start_ms;
    }
    if (r->latency_ms > 0)
        s->busy += r->latency_ms;
    if (r->state == MS_STATE_ERROR)
        s->errors++;
    if (r->state == MS_STATE_IN_PROGRESS)
        s->in_progress++;
    const ms_token_usage *u = &r->usage;
    if (u->present) {
        s->has_tokens = true;
        if (u->present & MS_USAGE_INPUT)
            s->tin += u->input_tokens;
        if (u->present & MS_USAGE_OUTPUT)
            s->tout += u->output_tokens;
        if (u->present & MS_USAGE_CACHE_READ)
            s->tcached += u->cache_read_input_tokens;
        if (u->present & MS_USAGE_TOTAL)
            s->ttotal += u->total_tokens;
        else
            s->ttotal += u->input_tokens + u->output_tokens;
    }
    if (r->has_cost) {
        s->has_cost = true;
        s->cost += r->cost;
    }
    s->any |= r->atoms;
    s->all &= r->atoms;
    return MS_OK;
}

ms_code msi_sacc_add_score(struct msi_sacc *a, ms_str session_id, ms_str name,
                           ms_str value_json, bool is_error, ms_str error_or_rationale,
                           int64_t time_ms)
{
    struct sess *s = find_or_add(a, session_id);
    if (!s)
        return MS_E_NOMEM;
    struct score_rec *r = NULL;
    for (size_t i = 0; i < s->nscores; i++)
        if (same(s->scores[i].s.name, name))
            r = &s->scores[i];
    if (r && r->time_ms > time_ms)
        return MS_OK;
    if (!r) {
        struct score_rec *v = realloc(s->scores, (s->nscores + 1) * sizeof *v);
        if (!v)
            return MS_E_NOMEM;
        s->scores = v;
        r = &v[s->nscores++];
        memset(r, 0, sizeof *r);
        char *c = msx_arena_strndup(&a->arena, name.ptr ? name.ptr : "", name.len);
        if (!c)
            return MS_E_NOMEM;
        r->s.name = (ms_str){c, name.len};
    }
    r->time_ms = time_ms;
    r->s.is_error = is_error;
    r->s.value_json = (ms_str){NULL, 0};
    if (value_json.len) {
        char *c = msx_arena_strndup(&a->arena, value_json.ptr, value_json.len);
        if (!c)
            return MS_E_NOMEM;
        r->s.value_json = (ms_str){c, value_json.len};
    }
    r->s.rationale = (ms_str){NULL, 0};
    if (error_or_rationale.len) {
        char *c = msx_arena_strndup(&a->arena, error_or_rationale.ptr, error_or_rationale.len);
        if (!c)
            return MS_E_NOMEM;
        r->s.rationale = (ms_str){c, error_or_rationale.len};
    }
    return MS_OK;
}

/* ---- finishing --------------------------------------------------------- */

static int turn_cmp(const void *x, const void *y)
{
    const struct turn_rec *a = x, *b = y;
    return (a->start_ms > b->start_ms) - (a->start_ms < b->start_ms);
}

static int turn_id_cmp(const void *x, const void *y)
{
    const struct turn_id_rec *a = x, *b = y;
    int c = turn_cmp(&a->r, &b->r);
    if (c)
        return c;
    size_t n = a->trace_id.len < b->trace_id.len ? a->trace_id.len : b->trace_id.len;
    c = n ? memcmp(a->trace_id.ptr, b->trace_id.ptr, n) : 0;
    return c ? c : (a->trace_id.len > b->trace_id.len) - (a->trace_id.len < b->trace_id.len);
}

static int i64_cmp(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

static int64_t rank(const int64_t *v, size_t n, int pct)
{
    if (!n)
        return -1;
    size_t k = (n * (size_t)pct + 99) / 100; /* nearest rank, ceil(p*n) */
    return v[k ? k - 1 : 0];
}

static bool summarize(struct ms_session_list *l, const struct msi_sacc *a, struct sess *s,
                      ms_session_summary *o)
{
    bool ok = true;
    memset(o, 0, sizeof *o);
    o->session_id = s->id;
    o->user_id = s->user;
    o->experiment_id = s->exp;
    o->turns = (int64_t)s->nt;
    /* these point into s, which the list keeps */
    o->first_trace_id = (ms_str){s->first_tid, strlen(s->first_tid)};
    o->last_trace_id = (ms_str){s->last_tid, strlen(s->last_tid)};
    o->first_input = (ms_str){s->first_input, strlen(s->first_input)};
    o->last_output = (ms_str){s->last_output, strlen(s->last_output)};
    bool ids = a->q.with_trace_ids;
    size_t rs = ids ? sizeof(struct turn_id_rec) : sizeof(struct turn_rec);
    int (*cmp)(const void *, const void *) = ids ? turn_id_cmp : turn_cmp;
#define TURN(i) ((const struct turn_rec *)(const void *)(s->t + rs * (i)))
    bool sorted = true;
    for (size_t i = 1; i < s->nt && sorted; i++)
        sorted = cmp(TURN(i - 1), TURN(i)) <= 0;
    if (!sorted)
        qsort(s->t, s->nt, rs, cmp);
    int64_t *lat = malloc((s->nt ? s->nt : 1) * sizeof *lat);
    if (!lat)
        return false;
    size_t nl = 0;
    int64_t end = INT64_MIN, idle = 0, idle_max = 0;
    for (size_t i = 0; i < s->nt; i++) {
        const struct turn_rec *t = TURN(i);
        if (end != INT64_MIN && t->start_ms > end) {
            idle += t->start_ms - end;
            if (t->start_ms - end > idle_max)
                idle_max = t->start_ms - end;
        }
        int64_t e = t->start_ms + (t->latency_ms > 0 ? t->latency_ms : 0);
        if (e > end)
            end = e;
        if (t->latency_ms >= 0)
            lat[nl++] = t->latency_ms;
    }
    qsort(lat, nl, sizeof *lat, i64_cmp);
    o->first_ms = s->nt ? TURN(0)->start_ms : 0;
    o->last_ms = s->nt ? end : 0;
    o->duration_ms = o->last_ms - o->first_ms;
    o->busy_ms = s->busy;
    o->idle_ms = idle;
    o->idle_max_ms = idle_max;
    o->latency_p50_ms = rank(lat, nl, 50);
    o->latency_p95_ms = rank(lat, nl, 95);
    free(lat);
    o->tokens_input = s->tin;
    o->tokens_output = s->tout;
    o->tokens_cached = s->tcached;
    o->tokens_total = s->ttotal;
    o->has_tokens = s->has_tokens;
    o->cost = s->cost;
    o->has_cost = s->has_cost;
    o->errors = s->errors;
    o->in_progress = s->in_progress;
    o->atoms_any = s->any;
    o->atoms_all = s->nt ? s->all : 0;
    if (s->nscores) {
        o->scores = msx_arena_calloc(&l->arena, s->nscores, sizeof *o->scores);
        if (!o->scores)
            return false;
        for (size_t i = 0; i < s->nscores; i++)
            o->scores[i] = s->scores[i].s;
        o->n_scores = s->nscores;
    }
    if (a->q.with_trace_ids && s->nt) {
        o->trace_ids = msx_arena_calloc(&l->arena, s->nt, sizeof *o->trace_ids);
        if (!o->trace_ids)
            return false;
        for (size_t i = 0; i < s->nt; i++)
            o->trace_ids[i] = ((const struct turn_id_rec *)(const void *)TURN(i))->trace_id;
    }
#undef TURN
    free(s->t); /* the turns are summed up */
    s->t = NULL;
    s->capt = 0;
    return ok;
}

static ms_session_sort g_sort;
static bool g_asc;

static int64_t sort_key(const ms_session_summary *s)
{
    switch (g_sort) {
    case MS_SORT_FIRST:
        return s->first_ms;
    case MS_SORT_TURNS:
        return s->turns;
    case MS_SORT_TOKENS:
        return s->tokens_total;
    case MS_SORT_ERRORS:
        return s->errors;
    case MS_SORT_DURATION:
        return s->duration_ms;
    case MS_SORT_LAST:
    default:
        return s->last_ms;
    }
}

static int summary_cmp(const void *x, const void *y)
{
    const ms_session_summary *a = x, *b = y;
    int64_t ka = sort_key(a), kb = sort_key(b);
    if (ka != kb)
        return (ka < kb) == g_asc ? -1 : 1;
    size_t n = a->session_id.len < b->session_id.len ? a->session_id.len : b->session_id.len;
    int c = n ? memcmp(a->session_id.ptr, b->session_id.ptr, n) : 0;
    return c ? c : (a->session_id.len > b->session_id.len) - (a->session_id.len < b->session_id.len);
}

ms_code msi_sacc_finish(struct msi_sacc *a, ms_session_list **out, struct ms_error *err)
{
    ms_code rc = MS_OK;
    ms_session_list *l = calloc(1, sizeof *l);
    if (!l) {
        msi_sacc_free(a);
        return msi_error(err, MS_E_NOMEM, "out of memory");
    }
    msx_arena_init(&l->arena, 0);
    /* the ids and strings stay in the accumulator's arena: take it over */
    l->arena = a->arena;
    msx_arena_init(&a->arena, 0);
    l->items = calloc(a->n ? a->n : 1, sizeof *l->items);
    if (!l->items)
        rc = MS_E_NOMEM;
    for (size_t i = 0; rc == MS_OK && i < a->cap; i++) {
        struct sess *s = a->slots[i];
        if (!s || !s->nt) /* a score for a session with no trace here */
            continue;
        if (!summarize(l, a, s, &l->items[l->n++]))
            rc = MS_E_NOMEM;
    }
    l->total = l->n;
    bool users_early = a->user_fill && filter_reads_user(a->q.filter);
    if (rc == MS_OK && users_early)
        rc = a->user_fill(a->user_state, l->items, l->n, &l->arena, err);
    if (rc == MS_OK && a->q.filter) {
        size_t kept = 0;
        for (size_t i = 0; i < l->n; i++)
            if (ms_sfilter_match(a->q.filter, &l->items[i]))
                l->items[kept++] = l->items[i];
        l->n = kept;
    }
    l->sessions = a->slots;
    l->cap = a->cap;
    a->slots = NULL;
    a->cap = 0;
    l->traces = a->traces;
    l->n_warnings = a->n_warnings;
    for (size_t i = 0; i < MAX_WARNINGS && i < a->n_warnings; i++) {
        l->warnings[i] = a->warnings[i];
        a->warnings[i] = NULL;
    }
    if (rc == MS_OK) {
        g_sort = a->q.sort;
        g_asc = a->q.ascending;
        qsort(l->items, l->n, sizeof *l->items, summary_cmp);
        if (a->q.limit > 0 && (size_t)a->q.limit < l->n)
            l->n = (size_t)a->q.limit;
        if (a->user_fill && !users_early)
            rc = a->user_fill(a->user_state, l->items, l->n, &l->arena, err);
    }
    msi_sacc_free(a);
    if (rc != MS_OK) {
        ms_session_list_free(l);
        return rc == MS_E_NOMEM ? msi_error(err, MS_E_NOMEM, "out of memory") : rc;
    }
    *out = l;
    return MS_OK;
}

void ms_session_list_free(ms_session_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < MAX_WARNINGS && i < l->n_warnings; i++)
        free(l->warnings[i]);
    for (size_t i = 0; i < l->cap; i++)
        sess_free(l->sessions[i]);
    free(l->sessions);
    free(l->items);
    msx_arena_release(&l->arena);
    free(l);
}

size_t ms_session_list_count(const ms_session_list *l)
{
    return l->n;
}

const ms_session_summary *ms_session_list_at(const ms_session_list *l, size_t i)
{
    return i < l->n ? &l->items[i] : NULL;
}

size_t ms_session_list_total(const ms_session_list *l)
{
    return l->total;
}

size_t ms_session_list_traces(const ms_session_list *l)
{
    return l->traces;
}

size_t ms_session_list_warning_count(const ms_session_list *l)
{
    return l->n_warnings;
}

const char *ms_session_list_warning(const ms_session_list *l, size_t i)
{
    return i < l->n_warnings && i < MAX_WARNINGS ? l->warnings[i] : NULL;
}
