/* SPDX-License-Identifier: MIT
 *
 * Unit tests for src/analyze/patterns.c: synthetic sessions with known
 * answers (turn histogram, first error and abandonment by turn, innermost
 * failing spans and their exception types, growth of the peak prompt,
 * signatures with repeats collapsed, cohorts and the small-sample guard),
 * then the fixture stores: every store gives the same JSON as its export.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"
#include "analyze_util.h"
#include "mlsession/patterns.h"
#include "mlsession/sfilter.h"
#include "mlsession/store.h"

#define FIX MS_SOURCE_DIR "/tests/fixtures/"

static ms_patterns *new_patterns(const char *by, int64_t min_cohort)
{
    struct ms_patterns_options o;
    ms_patterns_options_init(&o);
    o.by = by;
    o.min_cohort = min_cohort;
    ms_patterns *p = NULL;
    assert_int_equal(ms_patterns_new(&o, &p), MS_OK);
    return p;
}

static void add(ms_patterns *p, const ms_session *s)
{
    struct ms_error err = {MS_OK, -1, ""};
    if (ms_patterns_add(p, s, NULL, &err) != MS_OK)
        fail_msg("add: %s", err.msg);
}

static const ms_patterns_result *finish(ms_patterns *p)
{
    struct ms_error err = {MS_OK, -1, ""};
    if (ms_patterns_finish(p, &err) != MS_OK)
        fail_msg("finish: %s", err.msg);
    const ms_patterns_result *r = ms_patterns_get(p);
    assert_non_null(r);
    return r;
}

static const ms_pat_entry *entry(const ms_pat_entry *e, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (e[i].key.len == strlen(key) && memcmp(e[i].key.ptr, key, e[i].key.len) == 0)
            return &e[i];
    fail_msg("no entry '%s'", key);
    return NULL;
}

static void usage_in(ms_span *sp, int64_t in)
{
    sp->usage.input_tokens = in;
    sp->usage.output_tokens = 10;
    sp->usage.present = MS_USAGE_INPUT | MS_USAGE_OUTPUT;
}

/* three turns: llm > lookup > llm each, prompts 100, 250, 300 */
static struct au_session *clean3(const char *sid)
{
    struct au_session *a = au_new(sid);
    for (size_t i = 0; i < 3; i++) {
        au_turn(a, MS_STATE_OK, "where is my order A-1", "It ships tomorrow, order A-1.");
        au_span(a, i, "00000000000000a1", "", "agent", "AGENT", MS_STATUS_OK);
        ms_span *l1 = au_span(a, i, "00000000000000a2", "00000000000000a1", "llm", "CHAT_MODEL",
                              MS_STATUS_OK);
        au_span(a, i, "00000000000000a3", "00000000000000a1", "lookup", "TOOL", MS_STATUS_OK);
        au_span(a, i, "00000000000000a4", "00000000000000a1", "llm", "CHAT_MODEL", MS_STATUS_OK);
        static const int64_t prompts[] = {100, 250, 300};
        usage_in(l1, prompts[i]);
    }
    return a;
}

/* two turns; turn 2 fails in its tool (the agent passes the error on) */
static struct au_session *failing2(const char *sid)
{
    struct au_session *a = au_new(sid);
    au_turn(a, MS_STATE_OK, "hi", "Hello, how can I help you today?");
    au_span(a, 0, "00000000000000b1", "", "agent", "AGENT", MS_STATUS_OK);
    au_turn(a, MS_STATE_ERROR, "change my address", NULL);
    ms_span *root = au_span(a, 1, "00000000000000c1", "", "agent", "AGENT", MS_STATUS_ERROR);
    au_exception(a, 1, root, "TimeoutError", "tool timed out", NULL);
    ms_span *tool = au_span(a, 1, "00000000000000c2", "00000000000000c1", "update_address",
                            "TOOL", MS_STATUS_ERROR);
    au_exception(a, 1, tool, "TimeoutError", "tool timed out", NULL);
    return a;
}

static void test_synthetic(void **state)
{
    (void)state;
    struct au_session *s1 = clean3("s1"), *s2 = failing2("s2"), *s3 = au_new("s3");
    au_turn(s3, MS_STATE_OK, "thanks", "You are welcome.");
    ms_patterns *p = new_patterns(NULL, 0);
    add(p, &s1->s);
    add(p, &s2->s);
    add(p, &s3->s);
    const ms_patterns_result *r = finish(p);
    assert_int_equal(r->sessions, 3);
    assert_int_equal(r->turns, 6);
    /* turns per session: 1, 2, 3 */
    assert_int_equal(r->n_turn_hist, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(r->turn_hist[i].lo, (int64_t)i + 1);
        assert_int_equal(r->turn_hist[i].count, 1);
    }
    assert_int_equal(r->turns_dist.min, 1);
    assert_int_equal(r->turns_dist.median, 2);
    assert_int_equal(r->turns_dist.max, 3);
    /* by turn: everybody reaches 1; s2 fails first at 2 and ends there */
    assert_int_equal(r->n_by_turn, 3);
    assert_int_equal(r->by_turn[0].reached, 3);
    assert_int_equal(r->by_turn[0].first_error, 0);
    assert_int_equal(r->by_turn[0].ended, 1);
    assert_int_equal(r->by_turn[1].reached, 2);
    assert_int_equal(r->by_turn[1].first_error, 1);
    assert_int_equal(r->by_turn[1].ended, 1);
    assert_int_equal(r->by_turn[1].abandoned, 1);
    assert_int_equal(r->by_turn[2].reached, 1);
    assert_int_equal(r->by_turn[2].first_error, 0);
    assert_int_equal(r->errored, 1);
    assert_int_equal(r->abandoned, 1);
    assert_int_equal(r->first_error_turns.n, 1);
    assert_int_equal(r->first_error_turns.median, 2);
    /* the innermost failing span only, not the agent that passed it on */
    assert_int_equal(r->n_failing_spans, 1);
    const ms_pat_entry *e = entry(r->failing_spans, r->n_failing_spans, "update_address");
    assert_int_equal(e->count, 1);
    tu_str_eq("example", e->examples[0].ptr, e->examples[0].len, "s2");
    assert_int_equal(r->n_error_types, 1);
    assert_int_equal(entry(r->error_types, r->n_error_types, "TimeoutError")->sessions, 1);
    assert_int_equal(entry(r->findings, r->n_findings, "error.trace")->count, 1);
    /* growth of the peak prompt: +150, +50 */
    assert_int_equal(r->growth.n, 2);
    assert_int_equal(r->growth.min, 50);
    assert_int_equal(r->growth.median, 50);
    assert_int_equal(r->growth.p90, 150);
    assert_int_equal(r->growth.max, 150);
    assert_int_equal(r->growth.sum, 200);
    int64_t in_hist = 0;
    for (size_t i = 0; i < r->n_growth_hist; i++)
        in_hist += r->growth_hist[i].count;
    assert_int_equal(in_hist, 2);
    assert_int_equal(r->shape_linear + r->shape_accelerating + r->shape_none, 1);
    assert_int_equal(r->shape_no_tokens, 2);
    /* signatures: identical turns collapse to one */
    assert_int_equal(r->n_signature_clusters, 3);
    entry(r->signatures, r->n_signatures, "llm > lookup > llm");
    entry(r->signatures, r->n_signatures, "- | update_address");
    entry(r->signatures, r->n_signatures, "-");
    assert_null(r->by);
    assert_int_equal(r->n_cohorts, 0);

    char *js = NULL;
    size_t len = 0;
    assert_int_equal(ms_patterns_to_json(p, &js, &len), MS_OK);
    assert_non_null(strstr(js, "\"schema_version\": 1"));
    assert_non_null(strstr(js, "\"cohorts\": null"));
    free(js);
    ms_patterns_free(p);
    free(s1);
    free(s2);
    free(s3);
}

static void test_turn_signature(void **state)
{
    (void)state;
    struct au_session *a = au_new("s");
    au_turn(a, MS_STATE_OK, "x", "y");
    au_span(a, 0, "0000000000000001", "", "root", "CHAIN", MS_STATUS_OK);
    ms_span *late = au_span(a, 0, "0000000000000002", "0000000000000001", "answer", "LLM",
                            MS_STATUS_OK);
    au_span(a, 0, "0000000000000003", "0000000000000001", "search", "RETRIEVER", MS_STATUS_OK);
    au_span(a, 0, "0000000000000004", "0000000000000001", "search", "RETRIEVER", MS_STATUS_OK);
    au_span(a, 0, "0000000000000005", "0000000000000001", "parse", "PARSER", MS_STATUS_OK);
    late->start_ns += 1000000000; /* recorded first, started last */
    char *sig = ms_patterns_turn_signature(&a->turns[0]);
    assert_string_equal(sig, "search > answer");
    free(sig);
    au_turn(a, MS_STATE_OK, "x", "y");
    sig = ms_patterns_turn_signature(&a->turns[1]);
    assert_string_equal(sig, "-");
    free(sig);
    free(a);
}

/* n sessions with metadata app.version = v; errored ones fail at turn 1 */
static void add_cohort(ms_patterns *p, const char *v, int n, int errored, ms_kv *kv)
{
    kv->key = au_s("app.version");
    kv->value = au_s(v);
    for (int i = 0; i < n; i++) {
        char sid[32];
        snprintf(sid, sizeof sid, "%s-%02d", v, i);
        struct au_session *a = au_new(sid);
        au_turn(a, i < errored ? MS_STATE_ERROR : MS_STATE_OK, "hello there",
                i < errored ? NULL : "Hi! How can I help?");
        a->traces[0].info.metadata = kv;
        a->traces[0].info.n_metadata = 1;
        add(p, &a->s);
        free(a);
    }
}

static void test_cohorts(void **state)
{
    (void)state;
    ms_kv kv[3];
    ms_patterns *p = new_patterns("app.version", 5);
    add_cohort(p, "v2", 10, 10, &kv[0]);
    add_cohort(p, "v1", 10, 0, &kv[1]);
    struct au_session *a = au_new("untagged");
    au_turn(a, MS_STATE_OK, "hi", "Hello!");
    add(p, &a->s);
    free(a);
    const ms_patterns_result *r = finish(p);
    assert_string_equal(r->by, "app.version");
    assert_int_equal(r->n_cohorts, 3);
    /* most sessions first, then by value; a missing value last */
    tu_str_eq("c0", r->cohorts[0].value.ptr, r->cohorts[0].value.len, "v1");
    tu_str_eq("c1", r->cohorts[1].value.ptr, r->cohorts[1].value.len, "v2");
    assert_true(r->cohorts[2].missing);
    assert_int_equal(r->cohorts[1].errored, 10);
    assert_int_equal(r->cohorts[1].first_error_turns.n, 10);
    assert_int_equal(r->cohorts[1].first_error_turns.max, 1);
    assert_int_equal(r->cohorts[0].first_error_turns.n, 0);
    assert_int_equal(r->cohorts[1].abandoned, 10);
    assert_int_equal(r->cohorts[0].errored, 0);
    assert_int_equal(r->cohorts[1].n_examples, 3);
    tu_str_eq("ex", r->cohorts[1].examples[0].ptr, r->cohorts[1].examples[0].len, "v2-00");
    /* v2 errs 10/10 against 0/11: significant; v1 0/10 against 10/11 too;
     * the untagged cohort (1 session) is not judged */
    assert_true(r->n_diffs >= 2);
    assert_string_equal(r->diffs[0].metric, "error_rate");
    assert_true(r->diffs[0].significant);
    bool seen_v2 = false;
    for (size_t i = 0; i < r->n_diffs; i++) {
        const ms_pat_diff *d = &r->diffs[i];
        assert_false(r->cohorts[d->cohort].missing);
        if (strcmp(d->metric, "error_rate") == 0 && d->cohort == 1) {
            seen_v2 = true;
            assert_int_equal(d->a_num, 10);
            assert_int_equal(d->a_den, 10);
            assert_int_equal(d->b_num, 0);
            assert_int_equal(d->b_den, 11);
            assert_true(d->z > 4.0);
        }
    }
    assert_true(seen_v2);
    assert_true(r->n_diffs_small > 0);
    ms_patterns_free(p);

    /* the same with a guard of 20 sessions: nothing is judged */
    p = new_patterns("app.version", 20);
    add_cohort(p, "v2", 10, 10, &kv[0]);
    add_cohort(p, "v1", 10, 0, &kv[1]);
    r = finish(p);
    assert_int_equal(r->n_diffs, 0);
    assert_true(r->n_diffs_small >= 2);
    ms_patterns_free(p);
}

static char *patterns_json(const char *uri, const char *exp, const char *by,
                           const char *filter_text)
{
    ms_store *st = NULL;
    struct ms_error err = {MS_OK, -1, ""};
    if (ms_store_open(uri, &st, &err) != MS_OK)
        fail_msg("open %s: %s", uri, err.msg);
    struct ms_session_query q = {0};
    q.version = 1;
    const char *ids[1] = {exp};
    if (exp) {
        q.experiment_ids = ids;
        q.n_experiment_ids = 1;
    }
    ms_sfilter *f = NULL;
    if (filter_text)
        assert_int_equal(ms_sfilter_parse(filter_text, &f, &err), MS_OK);
    q.filter = f;
    struct ms_patterns_options o;
    ms_patterns_options_init(&o);
    o.by = by;
    ms_patterns *p = NULL;
    if (ms_patterns_compute(st, &q, &o, &p, &err) != MS_OK)
        fail_msg("patterns %s: %s", uri, err.msg);
    char *js = NULL;
    size_t len = 0;
    assert_int_equal(ms_patterns_to_json(p, &js, &len), MS_OK);
    ms_patterns_free(p);
    ms_sfilter_free(f);
    ms_store_close(st);
    return js;
}

static void test_fixture_sqlite(void **state)
{
    (void)state;
    ms_store *st = NULL;
    struct ms_error err = {MS_OK, -1, ""};
    assert_int_equal(ms_store_open(FIX "sqlite/mlflow.db", &st, &err), MS_OK);
    struct ms_session_query q = {0};
    q.version = 1;
    const char *ids[1] = {"1"};
    q.experiment_ids = ids;
    q.n_experiment_ids = 1;
    ms_patterns *p = NULL;
    assert_int_equal(ms_patterns_compute(st, &q, NULL, &p, &err), MS_OK);
    const ms_patterns_result *r = ms_patterns_get(p);
    assert_int_equal(r->sessions, 15);
    assert_int_equal(r->turns, 92);
    assert_int_equal(r->turns_dist.max, 40);
    /* sess-errors: turn 2 ERROR (UpstreamTimeoutError); turn 3 a caught
     * RateLimitError; turn 4 a failed tool (InvalidAddressError) */
    assert_int_equal(r->errored, 1);
    assert_int_equal(r->by_turn[1].first_error, 1);
    assert_int_equal(entry(r->error_types, r->n_error_types, "UpstreamTimeoutError")->count, 1);
    assert_int_equal(entry(r->error_types, r->n_error_types, "RateLimitError")->count, 1);
    assert_int_equal(entry(r->error_types, r->n_error_types, "InvalidAddressError")->count, 1);
    assert_int_equal(entry(r->failing_spans, r->n_failing_spans, "call_llm")->count, 2);
    /* sess-corrections (4 turns) and sess-errors (5) abandon; the context
     * overflow session ends on a failing score at turn 40 */
    assert_int_equal(r->abandoned, 3);
    assert_int_equal(r->by_turn[3].abandoned, 1);
    assert_int_equal(r->by_turn[4].abandoned, 1);
    assert_int_equal(r->by_turn[39].abandoned, 1);
    /* sess-context-overflow grows linearly */
    assert_int_equal(r->shape_linear, 1);
    const ms_pat_entry *rag = entry(r->signatures, r->n_signatures, "search_kb > generate_answer");
    assert_int_equal(rag->sessions, 2);
    tu_str_eq("rag", rag->examples[0].ptr, rag->examples[0].len, "sess-rag-outdated");
    ms_patterns_free(p);
    ms_store_close(st);
}

/* The SQLite store and its export (mlflow traces search) agree to the byte;
 * so do the 2.x, 3.5.0 and file stores with theirs. */
static void test_store_kinds_agree(void **state)
{
    (void)state;
    static const struct {
        const char *store, *exp, *export_file, *by, *filter;
    } cases[] = {
        {FIX "sqlite/mlflow.db", "1", FIX "export/exp-1.json", NULL, NULL},
        {FIX "sqlite/mlflow.db", "1", FIX "export/exp-1.json", "mlflow.trace.user", NULL},
        {FIX "sqlite/mlflow.db", "1", FIX "export/exp-1.json", "mlflow.source.git.commit",
         "turns >= 3"},
        {FIX "v2/mlflow.db", NULL, FIX "v2/export.jsonl", NULL, NULL},
        {FIX "v3_5_0/mlflow.db", NULL, FIX "v3_5_0/export-exp-1.json", NULL, NULL},
        {FIX "mlruns/mlruns", NULL, FIX "mlruns/export-exp-378547232019842178.json", NULL, NULL},
    };
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        char *a = patterns_json(cases[i].store, cases[i].exp, cases[i].by, cases[i].filter);
        char *b = patterns_json(cases[i].export_file, NULL, cases[i].by, cases[i].filter);
        tu_str_eq(cases[i].store, a, strlen(a), b);
        free(a);
        free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_synthetic),
        cmocka_unit_test(test_turn_signature),
        cmocka_unit_test(test_cohorts),
        cmocka_unit_test(test_fixture_sqlite),
        cmocka_unit_test(test_store_kinds_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
