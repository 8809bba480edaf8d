/* SPDX-License-Identifier: MIT
 *
 * Sessions from any store: the list (a backend's fast scan when it has one,
 * else every trace info through the accumulator), and one session turn by
 * turn - whole (ms_session_load) or streamed a chunk of traces at a time
 * (ms_session_iter) so that a 100k-turn session stays in bounded memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "model/model.h"
#include "session/session_int.h"
#include "session/transcript.h"
#include "store/store.h"
#include "util/buf.h"

#define CHUNK 256 /* traces with spans held at once by the iterator */

static ms_code nomem(struct ms_error *err)
{
    return msi_error(err, MS_E_NOMEM, "out of memory");
}

static ms_str kv_get(const ms_kv *kv, size_t n, const char *key)
{
    size_t kn = strlen(key);
    for (size_t i = 0; i < n; i++)
        if (kv[i].key.len == kn && memcmp(kv[i].key.ptr, key, kn) == 0)
            return kv[i].value;
    return (ms_str){NULL, 0};
}

static bool has_info_session(const ms_trace *t)
{
    const ms_trace_info *in = &t->info;
    return kv_get(in->metadata, in->n_metadata, "mlflow.trace.session").len ||
           kv_get(in->tags, in->n_tags, "mlflow.trace.session").len ||
           kv_get(in->tags, in->n_tags, "session_id").len;
}

/* ---- rows from traces in memory ---------------------------------------- */

static void cost_of(msx_json_parser *p, const ms_trace_info *in, struct msi_session_row *r)
{
    ms_str c = kv_get(in->metadata, in->n_metadata, "mlflow.trace.cost");
    msx_json v;
    double d;
    if (c.len && p && msx_json_parse(p, c.ptr, c.len, false, &v, NULL) == MS_OK &&
        msx_json_double(msx_json_get(v, "total_cost"), &d)) {
        r->cost = d;
        r->has_cost = true;
    }
}

static ms_code add_trace(struct msi_sacc *acc, msx_json_parser *p, const ms_trace *t,
                         const ms_sfilter *f)
{
    struct msi_session_row r = {0};
    const ms_trace_info *in = &t->info;
    r.trace_id = in->trace_id;
    r.session_id = ms_trace_session_id(t, NULL, &r.conflict);
    r.user_id = ms_trace_user_id(t);
    r.experiment_id = in->experiment_id;
    r.start_ms = in->request_time_ms;
    r.latency_ms = in->has_execution_duration ? in->execution_duration_ms : -1;
    r.state = in->state;
    r.usage = in->usage;
    r.request_preview = in->request_preview;
    r.response_preview = in->response_preview;
    cost_of(p, in, &r);
    size_t na = f ? ms_sfilter_atom_count(f) : 0;
    for (size_t i = 0; i < na; i++)
        if (ms_sfilter_atom_match(f, i, t))
            r.atoms |= (uint64_t)1 << i;
    ms_code rc = msi_sacc_add(acc, &r);
    /* session-level assessments: metadata names the session */
    for (size_t i = 0; rc == MS_OK && i < in->n_assessments; i++) {
        const ms_assessment *a = &in->assessments[i];
        ms_str sid = kv_get(a->metadata, a->n_metadata, "mlflow.trace.session");
        if (!sid.len || a->is_expectation || (a->has_valid && !a->valid))
            continue;
        int64_t when = a->has_last_update_time ? a->last_update_time_ns / 1000000
                                               : a->create_time_ns / 1000000;
        rc = msi_sacc_add_score(acc, sid, a->name, a->has_error ? (ms_str){NULL, 0} : a->value_json,
                                a->has_error, a->has_error ? a->error_message : a->rationale,
                                when);
    }
    return rc;
}

static ms_code group_traces(struct msi_sacc *acc, const ms_trace *const *traces, size_t n,
                            const ms_sfilter *f, struct ms_error *err)
{
    msx_json_parser *p = msx_json_parser_new();
    ms_code rc = p ? MS_OK : MS_E_NOMEM;
    for (size_t i = 0; rc == MS_OK && i < n; i++)
        rc = add_trace(acc, p, traces[i], f);
    msx_json_parser_free(p);
    return rc == MS_OK ? MS_OK : nomem(err);
}

ms_code ms_sessions_group(const ms_trace *const *traces, size_t n,
                          const struct ms_session_query *q, ms_session_list **out,
                          struct ms_error *err)
{
    struct msi_sacc *acc = msi_sacc_new(q);
    if (!acc)
        return nomem(err);
    ms_code rc = group_traces(acc, traces, n, q->filter, err);
    if (rc != MS_OK) {
        msi_sacc_free(acc);
        return rc;
    }
    return msi_sacc_finish(acc, out, err);
}

static bool atoms_need_spans(const ms_sfilter *f)
{
    size_t na = f ? ms_sfilter_atom_count(f) : 0;
    for (size_t i = 0; i < na; i++)
        if (ms_sfilter_atom_needs_spans(f, i))
            return true;
    return false;
}

/* Loads spans for the traces that need them: all when the filter's atoms
 * do, else those whose info names no session (the root span may). */
static ms_code spans_where_needed(ms_store *st, ms_trace_set *set, bool all,
                                  struct ms_error *err)
{
    size_t n = ms_trace_set_count(set);
    if (all)
        return n ? msi_store_load_spans(st, set, 0, n, err) : MS_OK;
    /* move the traces without a session to the front, load those */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        ms_trace *t = msi_trace_set_mut(set, i);
        if (!has_info_session(t)) {
            ms_trace tmp = *t;
            *t = *msi_trace_set_mut(set, k);
            *msi_trace_set_mut(set, k) = tmp;
            k++;
        }
    }
    if (!msi_trace_set_reindex(set))
        return nomem(err);
    return k ? msi_store_load_spans(st, set, 0, k, err) : MS_OK;
}

ms_code ms_sessions_list(ms_store *st, const struct ms_session_query *q, ms_session_list **out,
                         struct ms_error *err)
{
    struct msi_sacc *acc = msi_sacc_new(q);
    if (!acc)
        return nomem(err);
    struct msi_session_scan scan = {q->experiment_ids, q->n_experiment_ids, q->filter};
    ms_code rc = msi_store_session_scan(st, &scan, acc, err);
    if (rc == MS_E_UNSUPPORTED) {
        /* no fast scan here: every trace info, spans only where needed */
        msi_sacc_free(acc);
        acc = msi_sacc_new(q);
        ms_trace_set *set = NULL;
        rc = acc ? msi_store_scan_all(st, q->experiment_ids, q->n_experiment_ids, NULL, &set, err)
                 : nomem(err);
        if (rc == MS_OK)
            rc = spans_where_needed(st, set, atoms_need_spans(q->filter), err);
        if (rc == MS_OK) {
            size_t n = ms_trace_set_count(set);
            const ms_trace **all = malloc((n ? n : 1) * sizeof *all);
            if (!all)
                rc = nomem(err);
            for (size_t i = 0; all && i < n; i++)
                all[i] = ms_trace_set_at(set, i);
            if (rc == MS_OK)
                rc = group_traces(acc, all, n, q->filter, err);
            free(all);
        }
        ms_trace_set_free(set);
    }
    if (rc != MS_OK) {
        msi_sacc_free(acc);
        return rc;
    }
    return msi_sacc_finish(acc, out, err);
}

/* ---- finding one session's traces -------------------------------------- */

static int turn_order(const void *x, const void *y)
{
    const ms_trace *a = x, *b = y;
    if (a->info.request_time_ms != b->info.request_time_ms)
        return a->info.request_time_ms < b->info.request_time_ms ? -1 : 1;
    size_t n = a->info.trace_id.len < b->info.trace_id.len ? a->info.trace_id.len
                                                            : b->info.trace_id.len;
    int c = n ? memcmp(a->info.trace_id.ptr, b->info.trace_id.ptr, n) : 0;
    return c ? c : (a->info.trace_id.len > b->info.trace_id.len) -
                       (a->info.trace_id.len < b->info.trace_id.len);
}

static bool is_sid(const ms_trace *t, const char *sid)
{
    ms_str s = ms_trace_session_id(t, NULL, NULL);
    return s.len == strlen(sid) && memcmp(s.ptr, sid, s.len) == 0;
}

/* Appends copies of set's traces that belong to sid (and are not yet in
 * dst) to dst. */
static ms_code take(ms_trace_set *dst, const ms_trace_set *set, const char *sid, bool with_spans,
                    struct ms_error *err)
{
    struct msx_arena *a = msi_trace_set_arena(dst);
    for (size_t i = 0; i < ms_trace_set_count(set); i++) {
        const ms_trace *t = ms_trace_set_at(set, i);
        if (!is_sid(t, sid))
            continue;
        if (ms_trace_set_find(dst, t->info.trace_id.ptr))
            continue; /* found by an earlier lookup */
        ms_trace *c = msi_trace_set_append(dst);
        if (!c || !msi_info_copy(a, &c->info, &t->info) ||
            (with_spans && !msi_spans_copy(a, c, t)))
            return nomem(err);
    }
    return msi_trace_set_reindex(dst) ? MS_OK : nomem(err);
}

static bool quotable(const char *sid)
{
    for (const char *p = sid; *p; p++)
        if (*p == '\'' || *p == '"' || *p == '\\' || *p == '`' || (unsigned char)*p < 0x20)
            return false;
    return *sid && strlen(sid) < 400;
}

/* The session's trace infos (no spans), in turn order. */
static ms_code session_infos(ms_store *st, const char *const *exps, size_t n_exp,
                             const char *sid, ms_trace_set **out, struct ms_error *err)
{
    ms_trace_set *dst = msi_trace_set_new();
    if (!dst)
        return nomem(err);
    ms_code rc = MS_OK;
    if (quotable(sid)) {
        static const char *const by[] = {"metadata.`mlflow.trace.session`",
                                         "tags.`mlflow.trace.session`", "tags.session_id"};
        for (size_t k = 0; rc == MS_OK && k < 3; k++) {
            char text[512];
            snprintf(text, sizeof text, "%s = '%s'", by[k], sid);
            ms_filter *f = NULL;
            ms_trace_set *set = NULL;
            rc = ms_filter_parse(text, &f, err);
            if (rc == MS_OK)
                rc = msi_store_scan_all(st, exps, n_exp, f, &set, err);
            if (rc == MS_OK)
                rc = take(dst, set, sid, false, err);
            ms_trace_set_free(set);
            ms_filter_free(f);
        }
    }
    if (rc == MS_OK && ms_trace_set_count(dst) == 0) {
        /* named only by root-span attributes, or an id no filter can
         * quote: look at everything */
        ms_trace_set *set = NULL;
        rc = msi_store_scan_all(st, exps, n_exp, NULL, &set, err);
        if (rc == MS_OK)
            rc = spans_where_needed(st, set, false, err);
        if (rc == MS_OK)
            rc = take(dst, set, sid, false, err);
        ms_trace_set_free(set);
    }
    if (rc == MS_OK && ms_trace_set_count(dst) == 0)
        rc = msi_error(err, MS_E_NOTFOUND, "no session '%s'", sid);
    if (rc != MS_OK) {
        ms_trace_set_free(dst);
        return rc;
    }
    size_t n = ms_trace_set_count(dst);
    qsort(msi_trace_set_mut(dst, 0), n, sizeof(ms_trace), turn_order);
    if (!msi_trace_set_reindex(dst)) {
        ms_trace_set_free(dst);
        return nomem(err);
    }
    *out = dst;
    return MS_OK;
}

/* ---- turns ------------------------------------------------------------- */

static int64_t turn_end(const ms_turn *t)
{
    return t->start_ms + (t->latency_ms > 0 ? t->latency_ms : 0);
}

static void turn_init(ms_turn *t, const ms_trace *tr, int64_t index, int64_t prev_end)
{
    memset(t, 0, sizeof *t);
    t->index = index;
    t->trace = tr;
    t->start_ms = tr->info.request_time_ms;
    t->latency_ms = tr->info.has_execution_duration ? tr->info.execution_duration_ms : -1;
    t->gap_ms = index == 1 ? 0 : t->start_ms - prev_end;
}

struct session_own {
    ms_session pub;
    ms_trace_set *set;      /* when loaded from a store */
    struct msx_arena arena; /* transcripts */
};

static ms_code build(struct session_own *o, const ms_trace *const *traces, size_t n,
                     struct ms_error *err)
{
    ms_session *s = &o->pub;
    s->turns = calloc(n ? n : 1, sizeof *s->turns);
    msi_transcriber *tx = msi_transcriber_new();
    if (!s->turns || !tx) {
        msi_transcriber_free(tx);
        return nomem(err);
    }
    int64_t prev_end = 0;
    ms_code rc = MS_OK;
    for (size_t i = 0; rc == MS_OK && i < n; i++) {
        ms_turn *t = &s->turns[i];
        turn_init(t, traces[i], (int64_t)i + 1, prev_end);
        int64_t e = turn_end(t);
        if (i == 0 || e > prev_end)
            prev_end = e;
        rc = msi_transcribe_turn(tx, t, &o->arena, err);
        s->n_turns = i + 1;
    }
    msi_transcriber_free(tx);
    if (rc != MS_OK)
        return rc;
    if (n) {
        const ms_trace *first = traces[0];
        s->session_id = ms_trace_session_id(first, NULL, NULL);
        s->experiment_id = first->info.experiment_id;
        for (size_t i = 0; i < n && !s->user_id.len; i++)
            s->user_id = ms_trace_user_id(traces[i]);
        const ms_trace_info *in = &first->info;
        s->session_assessments = calloc(in->n_assessments ? in->n_assessments : 1,
                                        sizeof *s->session_assessments);
        if (!s->session_assessments)
            return nomem(err);
        for (size_t i = 0; i < in->n_assessments; i++)
            if (kv_get(in->assessments[i].metadata, in->assessments[i].n_metadata,
                       "mlflow.trace.session")
                    .len)
                s->session_assessments[s->n_session_assessments++] = &in->assessments[i];
    }
    return MS_OK;
}

void ms_session_free(ms_session *s)
{
    if (!s)
        return;
    struct session_own *o = (struct session_own *)s;
    free(s->turns);
    free(s->session_assessments);
    msx_arena_release(&o->arena);
    ms_trace_set_free(o->set);
    free(o);
}

ms_code ms_session_build(const ms_trace *const *traces, size_t n, ms_session **out,
                         struct ms_error *err)
{
    struct session_own *o = calloc(1, sizeof *o);
    const ms_trace **sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!o || !sorted) {
        free(o);
        free(sorted);
        return nomem(err);
    }
    msx_arena_init(&o->arena, 0);
    /* order by (request time, trace id): sort a copy of the pointers */
    memcpy(sorted, traces, n * sizeof *sorted);
    for (size_t i = 1; i < n; i++) /* insertion sort: sessions are short */
        for (size_t j = i; j > 0 && turn_order(sorted[j - 1], sorted[j]) > 0; j--) {
            const ms_trace *tmp = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = tmp;
        }
    ms_code rc = build(o, sorted, n, err);
    free(sorted);
    if (rc != MS_OK) {
        ms_session_free(&o->pub);
        return rc;
    }
    *out = &o->pub;
    return MS_OK;
}

ms_code ms_session_load(ms_store *st, const char *const *exps, size_t n_exp,
                        const char *session_id, ms_session **out, struct ms_error *err)
{
    ms_trace_set *set = NULL;
    ms_code rc = session_infos(st, exps, n_exp, session_id, &set, err);
    if (rc != MS_OK)
        return rc;
    size_t n = ms_trace_set_count(set);
    rc = msi_store_load_spans(st, set, 0, n, err);
    struct session_own *o = rc == MS_OK ? calloc(1, sizeof *o) : NULL;
    const ms_trace **all = o ? malloc(n * sizeof *all) : NULL;
    if (rc == MS_OK && (!o || !all))
        rc = nomem(err);
    if (rc != MS_OK) {
        free(o);
        ms_trace_set_free(set);
        return rc;
    }
    msx_arena_init(&o->arena, 0);
    o->set = set;
    for (size_t i = 0; i < n; i++)
        all[i] = ms_trace_set_at(set, i);
    rc = build(o, all, n, err);
    free(all);
    if (rc != MS_OK) {
        ms_session_free(&o->pub);
        return rc;
    }
    *out = &o->pub;
    return MS_OK;
}

/* ---- streaming --------------------------------------------------------- */

static bool id_quotable(ms_str id)
{
    for (size_t i = 0; i < id.len; i++) {
        char c = id.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return id.len > 0;
}

struct ms_session_iter {
    ms_store *st;
    ms_trace_set *infos;  /* every turn, no spans; NULL once ids holds them */
    char **ids;           /* every turn's trace id, in order: 40-odd bytes a
                             turn are all a long session keeps */
    size_t n_ids;
    struct msx_arena ids_arena;
    ms_trace_set *chunk;  /* copies of infos [chunk_from, +n) with spans */
    size_t chunk_from;
    size_t next;
    msi_transcriber *tx;
    struct msx_arena arena; /* the current turn's transcript */
    ms_turn turn;
    int64_t prev_end;
};

ms_code ms_session_iter_open(ms_store *st, const char *const *exps, size_t n_exp,
                             const char *session_id, ms_session_iter **out,
                             struct ms_error *err)
{
    ms_session_iter *it = calloc(1, sizeof *it);
    if (!it)
        return nomem(err);
    msx_arena_init(&it->arena, 0);
    it->st = st;
    it->tx = msi_transcriber_new();
    msx_arena_init(&it->ids_arena, 0);
    ms_code rc = it->tx ? session_infos(st, exps, n_exp, session_id, &it->infos, err)
                        : nomem(err);
    /* keep the ids only (when a filter can name them all): each chunk's
     * infos are read again with its spans */
    size_t n = rc == MS_OK ? ms_trace_set_count(it->infos) : 0;
    bool plain = rc == MS_OK;
    for (size_t i = 0; plain && i < n; i++)
        plain = id_quotable(ms_trace_set_at(it->infos, i)->info.trace_id);
    if (plain && n) {
        it->ids = msx_arena_calloc(&it->ids_arena, n, sizeof *it->ids);
        for (size_t i = 0; it->ids && i < n; i++) {
            ms_str id = ms_trace_set_at(it->infos, i)->info.trace_id;
            if (!(it->ids[i] = msx_arena_strndup(&it->ids_arena, id.ptr, id.len)))
                it->ids = NULL;
        }
        if (!it->ids)
            rc = nomem(err);
        it->n_ids = n;
        ms_trace_set_free(it->infos);
        it->infos = NULL;
    }
    if (rc != MS_OK) {
        ms_session_iter_close(it);
        return rc;
    }
    *out = it;
    return MS_OK;
}

static size_t iter_count(const ms_session_iter *it)
{
    return it->infos ? ms_trace_set_count(it->infos) : it->n_ids;
}

/* The infos of turns [next, next+n) by id, in turn order. */
static ms_code chunk_by_ids(ms_session_iter *it, size_t n, struct ms_error *err)
{
    struct msx_buf text;
    msx_buf_init(&text, MSX_CAP_LINE);
    msx_buf_adds(&text, "trace.request_id IN (");
    for (size_t i = 0; i < n; i++) {
        msx_buf_adds(&text, "'");
        msx_buf_adds(&text, it->ids[it->next + i]);
        msx_buf_adds(&text, "',");
    }
    msx_buf_adds(&text, ")");
    msx_buf_addc(&text, '\0');
    ms_filter *f = NULL;
    ms_code rc = msx_buf_status(&text) == MS_OK ? ms_filter_parse(text.ptr, &f, err) : nomem(err);
    if (rc == MS_OK)
        rc = msi_store_scan_all(it->st, NULL, 0, f, &it->chunk, err);
    ms_filter_free(f);
    msx_buf_release(&text);
    if (rc != MS_OK)
        return rc;
    size_t got = ms_trace_set_count(it->chunk);
    if (got)
        qsort(msi_trace_set_mut(it->chunk, 0), got, sizeof(ms_trace), turn_order);
    if (got != n) /* a trace gone since the session was listed */
        return msi_error(err, MS_E_STORE, "the session changed while it was read (%zu of %zu "
                                          "traces found)", got, n);
    return msi_trace_set_reindex(it->chunk) ? MS_OK : nomem(err);
}

int64_t ms_session_iter_turns(const ms_session_iter *it)
{
    return (int64_t)iter_count(it);
}

static ms_code load_chunk(ms_session_iter *it, struct ms_error *err)
{
    ms_trace_set_free(it->chunk);
    it->chunk = NULL;
    size_t n = iter_count(it) - it->next;
    if (n > CHUNK)
        n = CHUNK;
    if (!it->infos) {
        ms_code rc = chunk_by_ids(it, n, err);
        it->chunk_from = it->next;
        return rc == MS_OK ? msi_store_load_spans(it->st, it->chunk, 0, n, err) : rc;
    }
    it->chunk = msi_trace_set_new();
    if (!it->chunk)
        return nomem(err);
    struct msx_arena *a = msi_trace_set_arena(it->chunk);
    for (size_t i = 0; i < n; i++) {
        ms_trace *c = msi_trace_set_append(it->chunk);
        if (!c || !msi_info_copy(a, &c->info, &ms_trace_set_at(it->infos, it->next + i)->info))
            return nomem(err);
    }
    if (!msi_trace_set_reindex(it->chunk))
        return nomem(err);
    it->chunk_from = it->next;
    return msi_store_load_spans(it->st, it->chunk, 0, n, err);
}

ms_code ms_session_iter_next(ms_session_iter *it, const ms_turn **turn, struct ms_error *err)
{
    *turn = NULL;
    if (it->next >= iter_count(it))
        return MS_OK;
    if (!it->chunk || it->next >= it->chunk_from + ms_trace_set_count(it->chunk)) {
        ms_code rc = load_chunk(it, err);
        if (rc != MS_OK)
            return rc;
    }
    const ms_trace *t = ms_trace_set_at(it->chunk, it->next - it->chunk_from);
    msx_arena_release(&it->arena);
    turn_init(&it->turn, t, (int64_t)it->next + 1, it->prev_end);
    int64_t e = turn_end(&it->turn);
    if (it->next == 0 || e > it->prev_end)
        it->prev_end = e;
    it->next++;
    ms_code rc = msi_transcribe_turn(it->tx, &it->turn, &it->arena, err);
    if (rc != MS_OK)
        return rc;
    *turn = &it->turn;
    return MS_OK;
}

void ms_session_iter_close(ms_session_iter *it)
{
    if (!it)
        return;
    ms_trace_set_free(it->infos);
    ms_trace_set_free(it->chunk);
    msx_arena_release(&it->ids_arena);
    msi_transcriber_free(it->tx);
    msx_arena_release(&it->arena);
    free(it);
}

/* ---- every session of a list ------------------------------------------ */

#define BATCH_TRACES 512 /* traces fetched with spans per store query */

/* Sessions [from, to) of l: their traces by id in one query, then each
 * session built and visited. *stop when fn said so. */
static ms_code visit_batch(ms_store *st, const ms_session_list *l, size_t from, size_t to,
                           ms_session_visit_fn fn, void *ctx, bool *stop, struct ms_error *err)
{
    struct msx_buf text;
    msx_buf_init(&text, MSX_CAP_LINE);
    msx_buf_adds(&text, "trace.request_id IN (");
    size_t most = 0;
    for (size_t i = from; i < to; i++) {
        const ms_session_summary *s = ms_session_list_at(l, i);
        for (int64_t k = 0; k < s->turns; k++) {
            msx_buf_adds(&text, "'");
            msx_buf_add(&text, s->trace_ids[k].ptr, s->trace_ids[k].len);
            msx_buf_adds(&text, "',");
        }
        if ((size_t)s->turns > most)
            most = (size_t)s->turns;
    }
    msx_buf_adds(&text, ")");
    msx_buf_addc(&text, '\0');
    ms_filter *f = NULL;
    ms_trace_set *set = NULL;
    const ms_trace **turns = malloc((most ? most : 1) * sizeof *turns);
    ms_code rc = msx_buf_status(&text) == MS_OK && turns ? MS_OK : nomem(err);
    if (rc == MS_OK)
        rc = ms_filter_parse(text.ptr, &f, err);
    if (rc == MS_OK)
        rc = msi_store_scan_all(st, NULL, 0, f, &set, err);
    if (rc == MS_OK)
        rc = msi_store_load_spans(st, set, 0, ms_trace_set_count(set), err);
    for (size_t i = from; rc == MS_OK && !*stop && i < to; i++) {
        const ms_session_summary *s = ms_session_list_at(l, i);
        size_t n = 0;
        for (int64_t k = 0; k < s->turns; k++) {
            const ms_trace *t = ms_trace_set_find(set, s->trace_ids[k].ptr);
            if (t) /* gone since the list was made: left out */
                turns[n++] = t;
        }
        ms_session *sess = NULL;
        rc = ms_session_build(turns, n, &sess, err);
        if (rc == MS_OK && !fn(ctx, sess))
            *stop = true;
        ms_session_free(sess);
    }
    ms_trace_set_free(set);
    ms_filter_free(f);
    free(turns);
    msx_buf_release(&text);
    return rc;
}

ms_code ms_sessions_foreach(ms_store *st, const ms_session_list *l, ms_session_visit_fn fn,
                            void *ctx, struct ms_error *err)
{
    size_t n = ms_session_list_count(l);
    bool stop = false;
    ms_code rc = MS_OK;
    size_t i = 0;
    while (rc == MS_OK && !stop && i < n) {
        const ms_session_summary *s = ms_session_list_at(l, i);
        if (!s->trace_ids)
            return msi_error(err, MS_E_INVALID, "the session list has no trace ids");
        bool plain = true;
        for (int64_t k = 0; k < s->turns && plain; k++)
            plain = id_quotable(s->trace_ids[k]);
        if (!plain || !s->session_id.len) {
            /* an id no filter can quote, or the unsessioned bucket: alone */
            ms_session *sess = NULL;
            if (s->session_id.len && !memchr(s->session_id.ptr, 0, s->session_id.len)) {
                rc = ms_session_load(st, NULL, 0, s->session_id.ptr, &sess, err);
                if (rc == MS_OK && !fn(ctx, sess))
                    stop = true;
                ms_session_free(sess);
            }
            i++;
            continue;
        }
        size_t j = i + 1, traces = (size_t)s->turns;
        while (j < n) {
            const ms_session_summary *t = ms_session_list_at(l, j);
            bool ok = t->trace_ids && t->session_id.len;
            for (int64_t k = 0; ok && k < t->turns; k++)
                ok = id_quotable(t->trace_ids[k]);
            if (!ok || traces + (size_t)t->turns > BATCH_TRACES)
                break;
            traces += (size_t)t->turns;
            j++;
        }
        rc = visit_batch(st, l, i, j, fn, ctx, &stop, err);
        i = j;
    }
    return rc;
}
