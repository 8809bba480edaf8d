/* SPDX-License-Identifier: MIT
 *
 * Unit tests for src/analyze/assessments.c: failing feedback (booleans,
 * categories, numbers on an inferred scale, inverted names), the rationale
 * always shown, session- and span-level ones, overridden feedback and
 * expectations never failing, scorer errors as info and never as failures,
 * score trends, the by-turn summary. Synthetic sessions, then the fixture
 * store (faults a and e, the scorer error of sess-history-drop, clean
 * sessions).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"
#include "analyze_util.h"

#define MAX_AS 6

struct fx {
    struct au_session *a;
    ms_assessment as[AU_TURNS][MAX_AS];
    ms_kv sess_meta;
};

static struct fx *fx_new(size_t turns)
{
    struct fx *x = calloc(1, sizeof *x);
    assert_non_null(x);
    x->a = au_new("s");
    for (size_t i = 0; i < turns; i++)
        au_turn(x->a, MS_STATE_OK, "question", "answer");
    x->sess_meta.key = au_s("mlflow.trace.session");
    x->sess_meta.value = au_s("s");
    return x;
}

static void fx_free(struct fx *x)
{
    free(x->a);
    free(x);
}

/* A feedback on turn i (from 0). */
static ms_assessment *fb(struct fx *x, size_t i, const char *name, const char *value,
                         const char *source, const char *rationale)
{
    ms_trace *t = &x->a->traces[i];
    assert_true(t->info.n_assessments < MAX_AS);
    ms_assessment *as = &x->as[i][t->info.n_assessments++];
    t->info.assessments = x->as[i];
    as->name = au_s(name);
    as->value_json = au_s(value);
    as->source_type = au_s(source);
    as->rationale = au_s(rationale);
    as->valid = true;
    as->has_valid = true;
    as->trace_id = t->info.trace_id;
    return as;
}

static void contains(const char *what, ms_str s, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= s.len; i++)
        if (memcmp(s.ptr + i, needle, n) == 0)
            return;
    fail_msg("%s: '%.*s' does not contain '%s'", what, (int)s.len, s.ptr, needle);
}

static void test_failing_values(void **state)
{
    (void)state;
    /* value, name, fails? */
    static const struct {
        const char *value, *name;
        bool fails;
    } cases[] = {
        {"false", "correctness", true},
        {"true", "correctness", false},
        {"\"no\"", "relevance_to_query", true},
        {"\"yes\"", "relevance_to_query", false},
        {"\"NO\"", "safety", true},
        {"\"unresolved\"", "user_frustration", true},
        {"\"none\"", "user_frustration", false},
        {"\"resolved\"", "user_frustration", false},
        {"\"yes\"", "user_frustration", true},
        {"true", "hallucination", true},
        {"false", "hallucination", false},
        {"\"fail\"", "guidelines", true},
        {"\"pass\"", "guidelines", false},
        {"\"maybe\"", "guidelines", false},
        {"null", "correctness", false},
        {"{\"a\": 1}", "correctness", false},
        {"0", "exact_match", true},
        {"1", "exact_match", false},
        {"0.2", "groundedness", true},
        {"0.5", "groundedness", false},
        {"\"0.2\"", "groundedness", true},
        {"\"4\"", "helpfulness", false},
        {"true", "toxicity", true},
        {"\"yes\"", "non_toxic", false},
        {"true", "hallucination_free", false},
        {"\"yes\"", "harmless", false},
        {"\"no\"", "harmless", true},
        {"true", "unbiased", false},
        {"\"none\"", "user_frustration", false},
    };
    for (size_t k = 0; k < TU_COUNT(cases); k++) {
        struct fx *x = fx_new(1);
        fb(x, 0, cases[k].name, cases[k].value, "LLM_JUDGE", "because");
        ms_findings *f = au_analyze(&x->a->s, "assessments");
        char what[128];
        snprintf(what, sizeof what, "%s=%s", cases[k].name, cases[k].value);
        tu_i64_eq(what, (int64_t)au_count(f, "assessment.failing", -1), cases[k].fails ? 1 : 0);
        /* one failing score needs no summary */
        tu_i64_eq(what, (int64_t)au_count(f, "assessment.by_turn", -1), 0);
        ms_findings_free(f);
        fx_free(x);
    }
}

static void test_numeric_scale(void **state)
{
    (void)state;
    struct fx *x = fx_new(3);
    fb(x, 0, "helpfulness", "5", "HUMAN", "great");
    fb(x, 1, "helpfulness", "2", "HUMAN", "vague");
    fb(x, 2, "helpfulness", "3", "HUMAN", "ok");
    ms_findings *f = au_analyze(&x->a->s, "assessment.failing");
    assert_int_equal(au_count(f, "assessment.failing", -1), 1);
    const ms_finding *g = au_find(f, "assessment.failing");
    assert_int_equal(g->turn, 2);
    assert_int_equal(g->severity, MS_SEV_ERROR);
    tu_str_eq("message", g->message.ptr, g->message.len,
              "feedback helpfulness=2 (below the pass mark 3 of a 1-5 scale) from HUMAN: vague");
    tu_str_eq("path", g->path.ptr, g->path.len, "info.assessments[0]");
    ms_findings_free(f);
    fx_free(x);
}

static void test_message_and_rationale(void **state)
{
    (void)state;
    struct fx *x = fx_new(5);
    ms_assessment *as = fb(x, 4, "correctness", "false", "LLM_JUDGE",
                           "Claims a 30-day refund window;\nthe current policy allows 14 days.");
    as->source_id = au_s("openai:/gpt-4o-mini");
    fb(x, 2, "correctness", "true", "LLM_JUDGE", NULL); /* no rationale, passes */
    ms_assessment *nr = fb(x, 3, "user_thumbs", "false", "HUMAN", NULL);
    (void)nr;
    ms_findings *f = au_analyze(&x->a->s, "assessment.failing");
    assert_int_equal(au_count(f, "assessment.failing", -1), 2);
    assert_int_equal(au_count(f, "assessment.failing", 5), 1);
    for (size_t i = 0; i < ms_findings_count(f); i++) {
        const ms_finding *g = ms_findings_at(f, i);
        if (g->turn == 5) {
            tu_str_eq("message", g->message.ptr, g->message.len,
                      "feedback correctness=false from LLM_JUDGE openai:/gpt-4o-mini: Claims a "
                      "30-day refund window; the current policy allows 14 days.");
            tu_str_eq("excerpt", g->excerpt.ptr, g->excerpt.len,
                      "Claims a 30-day refund window; the current policy allows 14 days.");
            tu_str_eq("trace", g->trace_id.ptr, g->trace_id.len, x->a->trace_ids[4]);
        } else {
            tu_str_eq("no rationale", g->message.ptr, g->message.len,
                      "feedback user_thumbs=false from HUMAN: (no rationale)");
        }
    }
    ms_findings_free(f);
    fx_free(x);
}

static void test_session_and_span_level(void **state)
{
    (void)state;
    struct fx *x = fx_new(3);
    ms_assessment *s1 = fb(x, 0, "user_frustration", "\"unresolved\"", "LLM_JUDGE",
                           "The user had to correct the assistant twice.");
    s1->metadata = &x->sess_meta;
    s1->n_metadata = 1;
    au_span(x->a, 1, "00000000000000a1", "", "rag", "CHAIN", MS_STATUS_OK);
    au_span(x->a, 1, "00000000000000a2", "00000000000000a1", "search_kb", "RETRIEVER",
            MS_STATUS_OK);
    ms_assessment *sp = fb(x, 1, "retrieved_document_current", "false", "CODE",
                           "Top document is outdated.");
    sp->span_id = au_s("00000000000000a2");
    ms_findings *f = au_analyze(&x->a->s, "assessments");
    assert_int_equal(au_count(f, "assessment.failing", 1), 1);
    assert_int_equal(au_count(f, "assessment.failing", 2), 1);
    for (size_t i = 0; i < ms_findings_count(f); i++) {
        const ms_finding *g = ms_findings_at(f, i);
        if (strcmp(g->rule, "assessment.failing") != 0)
            continue;
        if (g->turn == 1)
            tu_str_eq("session", g->message.ptr, g->message.len,
                      "session-level feedback user_frustration=\"unresolved\" from LLM_JUDGE: The "
                      "user had to correct the assistant twice.");
        else {
            tu_str_eq("span", g->message.ptr, g->message.len,
                      "span-level (span search_kb) feedback retrieved_document_current=false from "
                      "CODE: Top document is outdated.");
            tu_str_eq("span id", g->span_id.ptr, g->span_id.len, "00000000000000a2");
        }
    }
    const ms_finding *b = au_find(f, "assessment.by_turn");
    assert_int_equal(b->turn, 0);
    tu_str_eq("by turn", b->message.ptr, b->message.len,
              "failing scores by turn: turn 1: session-level user_frustration=\"unresolved\"; "
              "turn 2: retrieved_document_current=false");
    ms_findings_free(f);
    fx_free(x);
}

static void test_overridden_and_expectations(void **state)
{
    (void)state;
    struct fx *x = fx_new(2);
    ms_assessment *old = fb(x, 0, "correctness", "false", "LLM_JUDGE", "different model");
    old->valid = false;
    ms_assessment *nw = fb(x, 0, "correctness", "true", "HUMAN", "correct");
    nw->overrides = au_s("a-1");
    ms_assessment *ex = fb(x, 1, "expected_facts", "false", "HUMAN", NULL);
    ex->is_expectation = true;
    ms_findings *f = au_analyze(&x->a->s, "assessments");
    assert_int_equal(ms_findings_count(f), 0);
    ms_findings_free(f);
    fx_free(x);
    /* an older store: the overridden one still says valid, the override
     * names it */
    x = fx_new(1);
    ms_assessment *o1 = fb(x, 0, "correctness", "false", "LLM_JUDGE", "wrong");
    o1->assessment_id = au_s("a-1");
    o1->has_valid = false;
    ms_assessment *o2 = fb(x, 0, "correctness", "true", "HUMAN", "right");
    o2->overrides = au_s("a-1");
    o2->has_valid = false;
    f = au_analyze(&x->a->s, "assessments");
    assert_int_equal(ms_findings_count(f), 0);
    ms_findings_free(f);
    fx_free(x);
}

static void test_scorer_error(void **state)
{
    (void)state;
    struct fx *x = fx_new(2);
    ms_assessment *e = fb(x, 0, "knowledge_retention", "null", "LLM_JUDGE", NULL);
    e->has_error = true;
    e->error_code = au_s("SCORER_ERROR");
    e->error_message = au_s("Judge call failed: 429 Too Many Requests");
    /* an error with a failing-looking value is still only a scorer error */
    ms_assessment *e2 = fb(x, 1, "correctness", "false", "LLM_JUDGE", NULL);
    e2->has_error = true;
    e2->error_code = au_s("TIMEOUT");
    ms_findings *f = au_analyze(&x->a->s, "assessments");
    assert_int_equal(au_count(f, "assessment.failing", -1), 0);
    assert_int_equal(au_count(f, "assessment.scorer_error", -1), 2);
    assert_int_equal(ms_findings_max_severity(f) >= MS_SEV_ERROR, 0);
    const ms_finding *g = au_find(f, "assessment.scorer_error");
    assert_int_equal(g->severity, MS_SEV_INFO);
    assert_int_equal(g->turn, 1);
    tu_str_eq("message", g->message.ptr, g->message.len,
              "scorer knowledge_retention (LLM_JUDGE) failed: SCORER_ERROR: Judge call failed: 429 "
              "Too Many Requests; a scorer failure, not a failure of the trace");
    tu_str_eq("path", g->path.ptr, g->path.len, "info.assessments[0].error");
    ms_findings_free(f);
    fx_free(x);
}

static void test_trend(void **state)
{
    (void)state;
    struct fx *x = fx_new(6);
    fb(x, 0, "helpfulness", "5", "HUMAN", NULL);
    fb(x, 1, "helpfulness", "5", "HUMAN", NULL);
    fb(x, 2, "helpfulness", "4", "HUMAN", "a bit vague");
    fb(x, 3, "helpfulness", "4", "HUMAN", NULL);
    fb(x, 4, "helpfulness", "3", "HUMAN", NULL);
    fb(x, 5, "helpfulness", "2", "HUMAN", NULL);
    ms_findings *f = au_analyze(&x->a->s, "assessment.trend");
    assert_int_equal(ms_findings_count(f), 1);
    const ms_finding *g = au_find(f, "assessment.trend");
    assert_int_equal(g->severity, MS_SEV_WARN);
    assert_int_equal(g->turn, 3);
    tu_str_eq("message", g->message.ptr, g->message.len,
              "helpfulness trends down across turns 1-6: 5 (t1) -> 5 (t2) -> 4 (t3) -> 4 (t4) -> "
              "3 (t5) -> 2 (t6)");
    ms_findings_free(f);
    fx_free(x);

    /* noise without a trend, and a single failure at the end: no trend */
    static const char *const flat[] = {"4", "5", "4", "5", "4"};
    static const char *const one[] = {"true", "true", "true", "false"};
    x = fx_new(5);
    for (size_t i = 0; i < TU_COUNT(flat); i++)
        fb(x, i, "helpfulness", flat[i], "HUMAN", NULL);
    f = au_analyze(&x->a->s, "assessment.trend");
    assert_int_equal(ms_findings_count(f), 0);
    ms_findings_free(f);
    fx_free(x);
    x = fx_new(4);
    for (size_t i = 0; i < TU_COUNT(one); i++)
        fb(x, i, "correctness", one[i], "LLM_JUDGE", NULL);
    f = au_analyze(&x->a->s, "assessment.trend");
    assert_int_equal(ms_findings_count(f), 0);
    ms_findings_free(f);
    fx_free(x);
}

/* ---- the fixture store ------------------------------------------------------ */

static void test_fixture_faults(void **state)
{
    (void)state;
    ms_store *st;
    ms_session *s = au_load(&st, "sess-rag-outdated");
    if (!s)
        skip();
    ms_findings *f = au_analyze(s, "assessments");
    assert_int_equal(au_count(f, "assessment.failing", 3), 1); /* span-level, RETRIEVER */
    assert_int_equal(au_count(f, "assessment.failing", 5), 1); /* correctness=false */
    assert_int_equal(au_count(f, "assessment.failing", -1), 2);
    const ms_finding *g = au_find(f, "assessment.by_turn");
    tu_str_eq("by turn", g->message.ptr, g->message.len,
              "failing scores by turn: turn 3: retrieved_document_current=false; turn 5: "
              "correctness=false");
    ms_findings_free(f);
    ms_session_free(s);
    ms_store_close(st);

    s = au_load(&st, "sess-corrections");
    f = au_analyze(s, "assessments");
    assert_int_equal(au_count(f, "assessment.failing", 1), 2); /* session-level, fault e */
    assert_int_equal(au_count(f, "assessment.failing", 4), 1); /* user_thumbs=false */
    for (size_t i = 0; i < ms_findings_count(f); i++) {
        const ms_finding *x = ms_findings_at(f, i);
        if (x->turn == 1)
            contains("session-level", x->message, "session-level feedback ");
    }
    ms_findings_free(f);
    ms_session_free(s);
    ms_store_close(st);

    s = au_load(&st, "sess-history-drop");
    f = au_analyze(s, "assessments");
    assert_int_equal(au_count(f, "assessment.scorer_error", 1), 1);
    assert_int_equal(au_count(f, "assessment.failing", -1), 0);
    contains("scorer", au_find(f, "assessment.scorer_error")->message, "SCORER_ERROR");
    ms_findings_free(f);
    ms_session_free(s);
    ms_store_close(st);
}

static void test_fixture_clean(void **state)
{
    (void)state;
    /* sess-errors: the LLM judge's correctness=false was overridden */
    static const char *const clean[] = {"sess-happy-rag", "sess-openai", "sess-errors",
                                        "sess-idle-gap", "sess-tool-loop", "conv-7f3c2a9e"};
    for (size_t k = 0; k < TU_COUNT(clean); k++) {
        ms_store *st;
        ms_session *s = au_load(&st, clean[k]);
        if (!s)
            skip();
        ms_findings *f = au_analyze(s, "assessments");
        if (ms_findings_count(f))
            au_dump(f);
        tu_i64_eq(clean[k], (int64_t)ms_findings_count(f), 0);
        ms_findings_free(f);
        ms_session_free(s);
        ms_store_close(st);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failing_values),
        cmocka_unit_test(test_numeric_scale),
        cmocka_unit_test(test_message_and_rationale),
        cmocka_unit_test(test_session_and_span_level),
        cmocka_unit_test(test_overridden_and_expectations),
        cmocka_unit_test(test_scorer_error),
        cmocka_unit_test(test_trend),
        cmocka_unit_test(test_fixture_faults),
        cmocka_unit_test(test_fixture_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
