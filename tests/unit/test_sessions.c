/* SPDX-License-Identifier: MIT
 *
 * Sessions: the session id of a trace (precedence of its five sources),
 * grouping and aggregates on synthetic traces with known answers, and the
 * same list from every store kind of the fixtures: the SQLite fast scan,
 * the generic path over the export and over mlruns must agree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mlsession/session.h"
#include "mlsession/sfilter.h"
#include "mlsession/store.h"
#include "testutil.h"

#define FIX MS_SOURCE_DIR "/tests/fixtures/"

static ms_str S(const char *p)
{
    return (ms_str){p, p ? strlen(p) : 0};
}

/* ---- session id precedence ------------------------------------------- */

static void test_session_id_precedence(void **state)
{
    (void)state;
    ms_kv meta[1] = {{S("mlflow.trace.session"), S("m")}};
    ms_kv tags[2] = {{S("mlflow.trace.session"), S("t")}, {S("session_id"), S("legacy")}};
    ms_attr attrs[2] = {{S("session.id"), S("\"span\""), MS_VAL_STRING},
                        {S("gen_ai.conversation.id"), S("\"conv\""), MS_VAL_STRING}};
    ms_span root = {0};
    root.attrs = attrs;
    root.n_attrs = 2;
    ms_trace t = {0};
    t.info.metadata = meta;
    t.info.n_metadata = 1;
    t.info.tags = tags;
    t.info.n_tags = 2;
    t.spans = &root;
    t.n_spans = 1;
    ms_sid_source src;
    bool clash;
    ms_str id = ms_trace_session_id(&t, &src, &clash);
    assert_int_equal(id.len, 1);
    assert_memory_equal(id.ptr, "m", 1);
    assert_int_equal(src, MS_SID_METADATA);
    assert_true(clash);
    t.info.n_metadata = 0;
    id = ms_trace_session_id(&t, &src, NULL);
    assert_memory_equal(id.ptr, "t", 1);
    assert_int_equal(src, MS_SID_TAG);
    t.info.tags = tags + 1;
    t.info.n_tags = 1;
    id = ms_trace_session_id(&t, &src, NULL);
    assert_int_equal(id.len, 6);
    assert_int_equal(src, MS_SID_LEGACY_TAG);
    t.info.n_tags = 0;
    id = ms_trace_session_id(&t, &src, &clash);
    assert_int_equal(id.len, 4);
    assert_memory_equal(id.ptr, "span", 4); /* JSON-encoded attribute, unquoted */
    assert_int_equal(src, MS_SID_SPAN_ATTR);
    assert_true(clash); /* gen_ai.conversation.id names another */
    root.n_attrs = 0;
    id = ms_trace_session_id(&t, &src, &clash);
    assert_int_equal(id.len, 0);
    assert_int_equal(src, MS_SID_NONE);
    assert_false(clash);
}

/* ---- aggregates on synthetic traces ---------------------------------- */

struct tspec {
    const char *id, *sid, *user;
    int64_t start, latency; /* latency -1: in progress */
    ms_trace_state state;
    int64_t tin, tout;
};

static void make(ms_trace *t, ms_kv *kv, const struct tspec *s)
{
    memset(t, 0, sizeof *t);
    size_t n = 0;
    if (s->sid)
        kv[n++] = (ms_kv){S("mlflow.trace.session"), S(s->sid)};
    if (s->user)
        kv[n++] = (ms_kv){S("mlflow.trace.user"), S(s->user)};
    t->info.metadata = kv;
    t->info.n_metadata = n;
    t->info.trace_id = S(s->id);
    t->info.experiment_id = S("1");
    t->info.request_time_ms = s->start;
    t->info.execution_duration_ms = s->latency;
    t->info.has_execution_duration = s->latency >= 0;
    t->info.state = s->state;
    t->info.request_preview = S(s->id);
    t->info.response_preview = S(s->id);
    if (s->tin >= 0) {
        t->info.usage.input_tokens = s->tin;
        t->info.usage.output_tokens = s->tout;
        t->info.usage.present = MS_USAGE_INPUT | MS_USAGE_OUTPUT;
    }
}

static const struct tspec SPECS[] = {
    /* session a: given out of order; turns 1 000, 2 000 (tie on start
     * with "tr-b2" < "tr-b3"), gap 40 min before the last */
    {"tr-b3", "a", NULL, 2000, 500, MS_STATE_OK, 10, 5},
    {"tr-b1", "a", "u-1", 1000, 200, MS_STATE_OK, 100, 20},
    {"tr-b2", "a", "u-2", 2000, 300, MS_STATE_ERROR, -1, 0},
    {"tr-b4", "a", NULL, 2500 + 40 * 60000, -1, MS_STATE_IN_PROGRESS, -1, 0},
    /* session b: one turn */
    {"tr-c1", "b", "u-3", 5000, 100, MS_STATE_OK, 1, 1},
    /* no session */
    {"tr-x", NULL, NULL, 7000, 10, MS_STATE_OK, -1, 0},
};

static void test_group_aggregates(void **state)
{
    (void)state;
    enum { N = TU_COUNT(SPECS) };
    ms_trace t[N];
    ms_kv kv[N][2];
    const ms_trace *p[N];
    for (size_t i = 0; i < N; i++) {
        make(&t[i], kv[i], &SPECS[i]);
        p[i] = &t[i];
    }
    struct ms_session_query q = {0};
    q.version = 1;
    q.with_trace_ids = true;
    q.sort = MS_SORT_FIRST;
    q.ascending = true;
    ms_session_list *l = NULL;
    struct ms_error err = {0};
    assert_int_equal(ms_sessions_group(p, N, &q, &l, &err), MS_OK);
    assert_int_equal(ms_session_list_count(l), 2);
    assert_int_equal(ms_session_list_traces(l), N);
    const ms_session_summary *a = ms_session_list_at(l, 0);
    assert_memory_equal(a->session_id.ptr, "a", 1);
    assert_int_equal(a->turns, 4);
    const char *order[] = {"tr-b1", "tr-b2", "tr-b3", "tr-b4"};
    for (int i = 0; i < 4; i++)
        assert_string_equal(a->trace_ids[i].ptr, order[i]);
    assert_string_equal(a->first_trace_id.ptr, "tr-b1");
    assert_string_equal(a->last_trace_id.ptr, "tr-b4");
    assert_string_equal(a->user_id.ptr, "u-1"); /* of the earliest turn naming one */
    assert_int_equal(a->first_ms, 1000);
    assert_int_equal(a->last_ms, 2500 + 40 * 60000); /* the running turn's start */
    assert_int_equal(a->busy_ms, 1000);
    /* gaps: 1200 -> 2000 = 800; ends at 2500; 2500 -> 2500+40m = 40m */
    assert_int_equal(a->idle_ms, 800 + 40 * 60000);
    assert_int_equal(a->idle_max_ms, 40 * 60000);
    assert_int_equal(a->duration_ms, 1500 + 40 * 60000);
    assert_int_equal(a->errors, 1);
    assert_int_equal(a->in_progress, 1);
    assert_true(a->has_tokens);
    assert_int_equal(a->tokens_input, 110);
    assert_int_equal(a->tokens_total, 135);
    assert_int_equal(a->latency_p50_ms, 300); /* 200 300 500: nearest rank */
    assert_int_equal(a->latency_p95_ms, 500);
    assert_string_equal(a->first_input.ptr, "tr-b1");
    assert_string_equal(a->last_output.ptr, "tr-b4");
    const ms_session_summary *b = ms_session_list_at(l, 1);
    assert_int_equal(b->turns, 1);
    assert_int_equal(b->idle_ms, 0);
    ms_session_list_free(l);

    /* unsessioned bucket, sort by turns descending, limit */
    q.include_unsessioned = true;
    q.sort = MS_SORT_TURNS;
    q.ascending = false;
    q.limit = 2;
    assert_int_equal(ms_sessions_group(p, N, &q, &l, &err), MS_OK);
    assert_int_equal(ms_session_list_total(l), 3);
    assert_int_equal(ms_session_list_count(l), 2);
    assert_int_equal(ms_session_list_at(l, 0)->turns, 4);
    ms_session_list_free(l);
}

static void test_group_filter(void **state)
{
    (void)state;
    enum { N = TU_COUNT(SPECS) };
    ms_trace t[N];
    ms_kv kv[N][2];
    const ms_trace *p[N];
    for (size_t i = 0; i < N; i++) {
        make(&t[i], kv[i], &SPECS[i]);
        p[i] = &t[i];
    }
    static const struct {
        const char *f;
        size_t n;
    } cases[] = {
        {"turns >= 2", 1},
        {"idle.max > '30m'", 1},
        {"errors = 0", 1},
        {"any(turn.status = 'ERROR')", 1},
        {"all(turn.status = 'OK')", 1},
        {"input contains 'TR-C'", 1},
        {"user = 'u-3' or turns > 3", 2},
        {"not (turns > 0)", 0},
    };
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        ms_sfilter *f = NULL;
        struct ms_error err = {0};
        assert_int_equal(ms_sfilter_parse(cases[i].f, &f, &err), MS_OK);
        struct ms_session_query q = {0};
        q.version = 1;
        q.filter = f;
        ms_session_list *l = NULL;
        assert_int_equal(ms_sessions_group(p, N, &q, &l, &err), MS_OK);
        if (ms_session_list_count(l) != cases[i].n)
            fail_msg("%s: %zu sessions, want %zu", cases[i].f, ms_session_list_count(l),
                     cases[i].n);
        ms_session_list_free(l);
        ms_sfilter_free(f);
    }
}

/* A trace naming two sessions is counted in the first by precedence and
 * reported once. */
static void test_conflict_warning(void **state)
{
    (void)state;
    ms_kv meta[1] = {{S("mlflow.trace.session"), S("a")}};
    ms_kv tags[1] = {{S("mlflow.trace.session"), S("b")}};
    ms_trace t[2];
    memset(t, 0, sizeof t);
    t[0].info.trace_id = S("tr-1");
    t[0].info.metadata = meta;
    t[0].info.n_metadata = 1;
    t[0].info.tags = tags;
    t[0].info.n_tags = 1;
    t[1].info.trace_id = S("tr-2");
    t[1].info.metadata = meta;
    t[1].info.n_metadata = 1;
    const ms_trace *p[2] = {&t[0], &t[1]};
    struct ms_session_query q = {0};
    q.version = 1;
    ms_session_list *l = NULL;
    struct ms_error err = {0};
    assert_int_equal(ms_sessions_group(p, 2, &q, &l, &err), MS_OK);
    assert_int_equal(ms_session_list_count(l), 1);
    assert_int_equal(ms_session_list_at(l, 0)->turns, 2);
    assert_int_equal(ms_session_list_warning_count(l), 1);
    assert_non_null(strstr(ms_session_list_warning(l, 0), "tr-1"));
    ms_session_list_free(l);
}

/* ---- every store kind agrees ----------------------------------------- */

static ms_session_list *list_of(const char *uri, const char *exp)
{
    ms_store *st = NULL;
    struct ms_error err = {0};
    if (ms_store_open(uri, &st, &err) != MS_OK)
        fail_msg("%s: %s", uri, err.msg);
    const char *ids[1] = {exp};
    struct ms_session_query q = {0};
    q.version = 1;
    q.experiment_ids = exp ? ids : NULL;
    q.n_experiment_ids = exp ? 1 : 0;
    q.with_trace_ids = true;
    q.sort = MS_SORT_FIRST;
    ms_session_list *l = NULL;
    if (ms_sessions_list(st, &q, &l, &err) != MS_OK)
        fail_msg("%s: %s", uri, err.msg);
    ms_store_close(st);
    return l;
}

static bool eq(ms_str a, ms_str b)
{
    return a.len == b.len && (!a.len || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static void same_lists(const ms_session_list *x, const ms_session_list *y, const char *what)
{
    if (ms_session_list_count(x) != ms_session_list_count(y))
        fail_msg("%s: %zu vs %zu sessions", what, ms_session_list_count(x),
                 ms_session_list_count(y));
    for (size_t i = 0; i < ms_session_list_count(x); i++) {
        const ms_session_summary *a = ms_session_list_at(x, i), *b = ms_session_list_at(y, i);
        const char *bad = NULL;
        if (!eq(a->session_id, b->session_id))
            bad = "session id";
        else if (a->turns != b->turns)
            bad = "turns";
        else if (!eq(a->user_id, b->user_id))
            bad = "user";
        else if (a->first_ms != b->first_ms || a->last_ms != b->last_ms)
            bad = "first/last";
        else if (a->idle_ms != b->idle_ms || a->busy_ms != b->busy_ms)
            bad = "idle/busy";
        else if (a->tokens_total != b->tokens_total || a->tokens_input != b->tokens_input)
            bad = "tokens";
        else if (a->errors != b->errors || a->in_progress != b->in_progress)
            bad = "errors";
        else if (a->latency_p50_ms != b->latency_p50_ms || a->latency_p95_ms != b->latency_p95_ms)
            bad = "latency";
        else if (a->n_scores != b->n_scores)
            bad = "scores";
        else if (!eq(a->first_input, b->first_input) || !eq(a->last_output, b->last_output))
            bad = "previews";
        for (int64_t k = 0; !bad && k < a->turns; k++)
            if (!eq(a->trace_ids[k], b->trace_ids[k]))
                bad = "turn order";
        if (bad)
            fail_msg("%s: session %.*s differs in %s", what, (int)a->session_id.len,
                     a->session_id.ptr, bad);
    }
}

static void test_store_kinds_agree(void **state)
{
    (void)state;
    /* the SQLite fast scan vs the generic path over the same traces as
     * exported by `mlflow traces search` */
    for (int e = 1; e <= 2; e++) {
        char exp[2] = {(char)('0' + e), 0};
        char path[512];
        snprintf(path, sizeof path, FIX "export/exp-%d.json", e);
        ms_session_list *sq = list_of("sqlite:///" FIX "sqlite/mlflow.db", exp);
        ms_session_list *js = list_of(path, NULL);
        same_lists(sq, js, path);
        assert_true(ms_session_list_count(sq) > 0);
        ms_session_list_free(sq);
        ms_session_list_free(js);
    }
    ms_session_list *l = list_of("sqlite:///" FIX "sqlite/mlflow.db", "1");
    assert_int_equal(ms_session_list_count(l), 15);
    assert_int_equal(ms_session_list_traces(l), 95);
    size_t scored = 0;
    for (size_t i = 0; i < ms_session_list_count(l); i++) {
        const ms_session_summary *s = ms_session_list_at(l, i);
        if (eq(s->session_id, S("sess-context-overflow")))
            assert_int_equal(s->turns, 40);
        if (eq(s->session_id, S("sess-idle-gap")))
            assert_int_equal(s->idle_max_ms, 2480040); /* fault d: 41.3 min */
        if (eq(s->session_id, S("sess-tag-only")))
            assert_int_equal(s->turns, 3); /* named by tag only */
        if (eq(s->session_id, S("sess-corrections"))) {
            assert_int_equal(s->n_scores, 2);
            scored++;
        }
    }
    assert_int_equal(scored, 1);
    ms_session_list_free(l);
}

/* ms_sessions_foreach visits every session of the list once, with the
 * same turns (and spans) as ms_session_load of each. */
struct visit {
    ms_store *st;
    size_t seen, turns;
};

static bool visit_one(void *ctx, const ms_session *s)
{
    struct visit *v = ctx;
    ms_session *one = NULL;
    struct ms_error err = {0};
    char id[256];
    snprintf(id, sizeof id, "%.*s", (int)s->session_id.len, s->session_id.ptr);
    if (ms_session_load(v->st, NULL, 0, id, &one, &err) != MS_OK)
        fail_msg("%s: %s", id, err.msg);
    assert_int_equal(one->n_turns, s->n_turns);
    for (size_t i = 0; i < s->n_turns; i++) {
        assert_true(eq(one->turns[i].trace->info.trace_id, s->turns[i].trace->info.trace_id));
        assert_int_equal(one->turns[i].trace->n_spans, s->turns[i].trace->n_spans);
        assert_int_equal(one->turns[i].n_output, s->turns[i].n_output);
    }
    ms_session_free(one);
    v->seen++;
    v->turns += s->n_turns;
    return true;
}

static void test_foreach(void **state)
{
    (void)state;
    const char *uris[] = {"sqlite:///" FIX "sqlite/mlflow.db", FIX "export/exp-1.json"};
    for (size_t u = 0; u < TU_COUNT(uris); u++) {
        ms_store *st = NULL;
        struct ms_error err = {0};
        assert_int_equal(ms_store_open(uris[u], &st, &err), MS_OK);
        struct ms_session_query q = {0};
        q.version = 1;
        q.with_trace_ids = true;
        ms_session_list *l = NULL;
        assert_int_equal(ms_sessions_list(st, &q, &l, &err), MS_OK);
        struct visit v = {st, 0, 0};
        assert_int_equal(ms_sessions_foreach(st, l, visit_one, &v, &err), MS_OK);
        assert_int_equal(v.seen, ms_session_list_count(l));
        size_t turns = 0;
        for (size_t i = 0; i < ms_session_list_count(l); i++)
            turns += (size_t)ms_session_list_at(l, i)->turns;
        assert_int_equal(v.turns, turns);
        ms_session_list_free(l);
        ms_store_close(st);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_id_precedence),
        cmocka_unit_test(test_group_aggregates),
        cmocka_unit_test(test_group_filter),
        cmocka_unit_test(test_conflict_warning),
        cmocka_unit_test(test_store_kinds_agree),
        cmocka_unit_test(test_foreach),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
