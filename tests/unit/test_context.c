/* SPDX-License-Identifier: MIT
 *
 * Unit tests for src/analyze/context.c: model names to windows (built-in
 * table, dated and provider-prefixed names, overrides), the first turn past
 * the window and the projection before it, the shape of growth, sudden
 * drops and the quality after them, the largest prompt with its cached
 * share, the trace's own usage when spans have none. Synthetic sessions,
 * then the fixture store (fault c, the drop of fault b, clean sessions).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"
#include "analyze_util.h"

struct fx {
    struct au_session *a;
    ms_attr attrs[AU_TURNS][2];
    ms_message user[AU_TURNS];
    ms_assessment as[AU_TURNS];
};

/* n turns, each with one LLM call of model (attribute key, value as
 * recorded) and the given input tokens (-1: no usage). */
static struct fx *fx_new(size_t n, const char *key, const char *model, const int64_t *in)
{
    struct fx *x = calloc(1, sizeof *x);
    assert_non_null(x);
    x->a = au_new("s");
    for (size_t i = 0; i < n; i++) {
        au_turn(x->a, MS_STATE_OK, "question", "answer");
        ms_span *sp =
            au_span(x->a, i, "00000000000000a1", "", "llm_generate", "CHAT_MODEL", MS_STATUS_OK);
        if (key) {
            x->attrs[i][0].key = au_s(key);
            x->attrs[i][0].value = au_s(model);
            sp->attrs = x->attrs[i];
            sp->n_attrs = 1;
        }
        if (in[i] >= 0) {
            sp->usage.input_tokens = in[i];
            sp->usage.output_tokens = 50;
            sp->usage.present = MS_USAGE_INPUT | MS_USAGE_OUTPUT;
        }
    }
    return x;
}

static void fx_free(struct fx *x)
{
    free(x->a);
    free(x);
}

static ms_findings *analyze_with(const ms_session *s, const char *rules, const char *windows)
{
    struct ms_analyze_options o;
    ms_analyze_options_init(&o);
    const char *list[1] = {rules};
    o.rules = list;
    o.n_rules = 1;
    o.model_windows = windows;
    ms_findings *f = NULL;
    struct ms_error err = {MS_OK, -1, ""};
    if (ms_analyze_session(s, &o, &f, &err) != MS_OK)
        fail_msg("analyze: %s", err.msg);
    return f;
}

static void test_model_windows(void **state)
{
    (void)state;
    /* attribute key, value as recorded, input tokens, overrides, over? */
    static const struct {
        const char *key, *model;
        int64_t in;
        const char *windows;
        bool over;
    } cases[] = {
        {"mlflow.llm.model", "\"gpt-4o\"", 128001, NULL, true},
        {"mlflow.llm.model", "\"gpt-4o\"", 128000, NULL, false},
        {"mlflow.llm.model", "\"gpt-4o-2024-08-06\"", 130000, NULL, true},
        {"mlflow.llm.model", "\"GPT-4o-mini\"", 130000, NULL, true},
        {"mlflow.llm.model", "\"gpt-4.1\"", 130000, NULL, false},
        {"mlflow.llm.model", "\"gpt-4.1-mini-2025-04-14\"", 130000, NULL, false},
        {"mlflow.llm.model", "\"gpt-4-0613\"", 9000, NULL, true},
        {"gen_ai.request.model", "claude-3-5-sonnet-20241022", 200001, NULL, true},
        {"gen_ai.request.model", "anthropic.claude-3-5-sonnet-20240620-v1:0", 200001, NULL, true},
        {"gen_ai.request.model", "openai/gpt-4o-mini", 128001, NULL, true},
        {"llm.model_name", "meta-llama/Llama-3.1-8B-Instruct", 131073, NULL, true},
        {"mlflow.llm.model", "\"gemini-1.5-pro-002\"", 2000000, NULL, false},
        {"mlflow.llm.model", "\"acme-small-4k\"", 4097, NULL, true},
        {"mlflow.llm.model", "\"my-model\"", 999999999, NULL, false},
        {"mlflow.llm.model", "\"my-model\"", 1001, "my-model=1000", true},
        {"mlflow.llm.model", "\"my-model-v2\"", 1001, " other=5 , my-model = 1000", true},
        {"mlflow.llm.model", "\"gpt-4o\"", 1001, "gpt-4o=1000", true},
        {"mlflow.llm.model", "\"gpt-4o\"", 1001, "gpt-4o=x,=5,,gpt-4o", false},
        {"mlflow.spanInputs", "\"{\\\"model\\\": \\\"gpt-4o\\\", \\\"messages\\\": []}\"", 128001,
         NULL, true},
        {"mlflow.spanInputs", "{\"model\": \"gpt-4o\", \"messages\": []}", 128001, NULL, true},
        {"mlflow.spanInputs", "{\"invocation_params\": {\"model\": \"gpt-4o\"}}", 128001, NULL,
         true},
    };
    for (size_t k = 0; k < TU_COUNT(cases); k++) {
        int64_t in[1] = {cases[k].in};
        struct fx *x = fx_new(1, cases[k].key, cases[k].model, in);
        ms_findings *f = analyze_with(&x->a->s, "context.window", cases[k].windows);
        char what[200];
        snprintf(what, sizeof what, "%s %s %lld", cases[k].model,
                 cases[k].windows ? cases[k].windows : "", (long long)cases[k].in);
        tu_i64_eq(what, (int64_t)au_count(f, "context.window", 1), cases[k].over ? 1 : 0);
        ms_findings_free(f);
        fx_free(x);
    }
}

static void test_window_first_turn(void **state)
{
    (void)state;
    static const int64_t in[] = {3600, 3808, 4012, 4224, 4372, 3000};
    struct fx *x = fx_new(6, "mlflow.llm.model", "\"acme-small-4k\"", in);
    ms_findings *f = au_analyze(&x->a->s, "context.window");
    assert_int_equal(ms_findings_count(f), 1);
    const ms_finding *g = au_find(f, "context.window");
    assert_int_equal(g->turn, 4);
    assert_int_equal(g->severity, MS_SEV_ERROR);
    tu_str_eq("message", g->message.ptr, g->message.len,
              "input tokens 4224 > window 4096 of acme-small-4k at turn 4 (call llm_generate) "
              "(4012 at turn 3); 2 turns over the window (4-5), up to 4372 tokens at turn 5; the "
              "model sees only part of the prompt");
    tu_str_eq("span", g->span_id.ptr, g->span_id.len, "00000000000000a1");
    tu_str_eq("path", g->path.ptr, g->path.len, "spans[0].attributes.\"mlflow.chat.tokenUsage\"");
    ms_findings_free(f);
    fx_free(x);
}

static void test_window_projection(void **state)
{
    (void)state;
    static const int64_t in[] = {3000, 3300, 3600, 3900};
    struct fx *x = fx_new(4, "mlflow.llm.model", "\"acme-small-4k\"", in);
    ms_findings *f = au_analyze(&x->a->s, "context.window");
    assert_int_equal(ms_findings_count(f), 1);
    const ms_finding *g = au_find(f, "context.window");
    assert_int_equal(g->turn, 4);
    assert_int_equal(g->severity, MS_SEV_WARN);
    tu_str_eq("message", g->message.ptr, g->message.len,
              "input tokens 3900 at turn 4, 95% of the 4096 window of acme-small-4k, grew 900 "
              "over the last 3 turns: at this rate the window is passed in 1 turn");
    ms_findings_free(f);
    fx_free(x);

    /* slow growth, far from the window: nothing */
    static const int64_t slow[] = {1000, 1100, 1200, 1300};
    x = fx_new(4, "mlflow.llm.model", "\"acme-small-4k\"", slow);
    f = au_analyze(&x->a->s, "context.window");
    assert_int_equal(ms_findings_count(f), 0);
    ms_findings_free(f);
    fx_free(x);
}

static void test_growth(void **state)
{
    (void)state;
    static const int64_t lin[] = {200, 390, 580, 790, 980, 1170, 1370, 1560};
    struct fx *x = fx_new(8, "mlflow.llm.model", "\"m\"", lin);
    ms_findings *f = analyze_with(&x->a->s, "context.growth", "m=6000");
    const ms_finding *g = au_find(f, "context.growth");
    assert_int_equal(g->turn, 8); /* the last turn: it never passed the window */
    assert_int_equal(g->severity, MS_SEV_INFO);
    tu_str_eq("linear", g->message.ptr, g->message.len,
              "input tokens grow linearly over turns 1-8, 200 -> 1560 (median +190/turn, 7 of 7 "
              "steps up): the history is resent every turn and never trimmed, so the session's "
              "total grows quadratically (7040 input tokens in all)");
    ms_findings_free(f);

    /* far from the window (under 25% of it) or no window known: nothing */
    f = analyze_with(&x->a->s, "context.growth", "m=6241");
    assert_int_equal(ms_findings_count(f), 0);
    ms_findings_free(f);
    f = analyze_with(&x->a->s, "context.growth", NULL);
    assert_int_equal(ms_findings_count(f), 0);
    ms_findings_free(f);
    /* passed the window at turn 6: told there */
    f = analyze_with(&x->a->s, "context.growth", "m=1100");
    assert_int_equal(au_find(f, "context.growth")->turn, 6);
    ms_findings_free(f);
    fx_free(x);

    static const int64_t acc[] = {100, 110, 130, 160, 200, 250, 310, 380};
    x = fx_new(8, "mlflow.llm.model", "\"m\"", acc);
    f = analyze_with(&x->a->s, "context.growth", "m=1000");
    g = au_find(f, "context.growth");
    tu_str_eq("accelerating", g->message.ptr, g->message.len,
              "input tokens grow faster than linearly over turns 1-8, 100 -> 380 (median "
              "+40/turn; the later turns add 3x what the earlier did): history never trimmed, and "
              "answers or tool results grow; 1640 input tokens in all");
    ms_findings_free(f);
    fx_free(x);

    /* bounded (a sliding window), or too few turns: nothing */
    static const int64_t flat[] = {300, 420, 380, 410, 390, 400, 405, 395};
    x = fx_new(8, "mlflow.llm.model", "\"m\"", flat);
    f = analyze_with(&x->a->s, "context.growth", "m=1000");
    assert_int_equal(ms_findings_count(f), 0);
    ms_findings_free(f);
    fx_free(x);
    x = fx_new(4, "mlflow.llm.model", "\"m\"", lin);
    f = analyze_with(&x->a->s, "context.growth", "m=1000");
    assert_int_equal(ms_findings_count(f), 0);
    ms_findings_free(f);
    fx_free(x);
}

static void test_drop(void **state)
{
    (void)state;
    static const int64_t in[] = {112, 196, 292, 392, 116, 196};
    struct fx *x = fx_new(6, NULL, NULL, in);
    x->user[5].role = MS_ROLE_USER;
    x->user[5].text = au_s("I told you already, it's the espresso machine order.");
    x->a->turns[5].input = &x->user[5];
    x->a->turns[5].n_input = 1;
    x->a->turns[3].carries_history = true;
    ms_findings *f = au_analyze(&x->a->s, "context.drop");
    assert_int_equal(ms_findings_count(f), 1);
    const ms_finding *g = au_find(f, "context.drop");
    assert_int_equal(g->turn, 5);
    assert_int_equal(g->severity, MS_SEV_WARN);
    tu_str_eq("message", g->message.ptr, g->message.len,
              "input tokens fell 392 -> 116 (-70%) from turn 4 to turn 5: history cut or "
              "summarised; turn 4's input repeated earlier turns, turn 5's does not; after it: "
              "the user repeated or corrected at turn 6 (\"I told you already, it's the espresso "
              "machine order.\")");
    tu_str_eq("excerpt", g->excerpt.ptr, g->excerpt.len,
              "I told you already, it's the espresso machine order.");
    ms_findings_free(f);

    /* a failing score after it (the assessments analyzer runs first) */
    x->a->turns[5].n_input = 0;
    x->a->turns[5].input = NULL;
    ms_assessment *as = &x->as[5];
    as->name = au_s("correctness");
    as->value_json = au_s("false");
    as->source_type = au_s("LLM_JUDGE");
    as->valid = as->has_valid = true;
    x->a->traces[5].info.assessments = as;
    x->a->traces[5].info.n_assessments = 1;
    /* the assessments analyzer runs first when it is selected */
    struct ms_analyze_options o;
    ms_analyze_options_init(&o);
    const char *list[2] = {"assessments", "context.drop"};
    o.rules = list;
    o.n_rules = 2;
    struct ms_error err = {MS_OK, -1, ""};
    assert_int_equal(ms_analyze_session(&x->a->s, &o, &f, &err), MS_OK);
    g = au_find(f, "context.drop");
    tu_str_eq("failing after", g->message.ptr, g->message.len,
              "input tokens fell 392 -> 116 (-70%) from turn 4 to turn 5: history cut or "
              "summarised; turn 4's input repeated earlier turns, turn 5's does not; after it: 1 "
              "failing score from turn 6 on (before: 0)");
    ms_findings_free(f);
    fx_free(x);

    /* small dips and a drop of few tokens: nothing */
    static const int64_t small[] = {400, 380, 500, 350, 280, 190, 100};
    x = fx_new(7, NULL, NULL, small);
    f = au_analyze(&x->a->s, "context.drop");
    assert_int_equal(ms_findings_count(f), 0);
    ms_findings_free(f);
    fx_free(x);
}

static void test_largest_and_cache(void **state)
{
    (void)state;
    static const int64_t in[] = {1000, 5000, 3000};
    struct fx *x = fx_new(3, "mlflow.llm.model", "\"gpt-4o\"", in);
    x->a->spans[1][0].usage.cache_read_input_tokens = 4000;
    x->a->spans[1][0].usage.present |= MS_USAGE_CACHE_READ;
    ms_findings *f = au_analyze(&x->a->s, "context.largest");
    const ms_finding *g = au_find(f, "context.largest");
    assert_int_equal(g->turn, 2);
    assert_int_equal(g->severity, MS_SEV_INFO);
    tu_str_eq("message", g->message.ptr, g->message.len,
              "largest prompt: 5000 input tokens at turn 2 (call llm_generate, gpt-4o, 3% of its "
              "128000 window); cache reads 4000 of its 5000 input tokens (80%); session: 9000 "
              "input tokens over 3 turns, 44% cached");
    ms_findings_free(f);
    fx_free(x);

    /* small prompts, no cache reads: nothing worth telling */
    static const int64_t small[] = {1000, 2000};
    x = fx_new(2, "mlflow.llm.model", "\"gpt-4o\"", small);
    f = au_analyze(&x->a->s, "context.largest");
    assert_int_equal(ms_findings_count(f), 0);
    ms_findings_free(f);
    fx_free(x);

    /* Anthropic's raw usage: input_tokens without the cached part */
    static const int64_t raw[] = {100};
    x = fx_new(1, "mlflow.llm.model", "\"acme-small-4k\"", raw);
    x->a->spans[0][0].usage.cache_read_input_tokens = 4000;
    x->a->spans[0][0].usage.present |= MS_USAGE_CACHE_READ;
    f = au_analyze(&x->a->s, "context.window");
    tu_str_eq("raw", au_find(f, "context.window")->message.ptr,
              au_find(f, "context.window")->message.len,
              "input tokens 4100 > window 4096 of acme-small-4k at turn 1 (call llm_generate); the "
              "only turn over it; the model sees only part of the prompt");
    ms_findings_free(f);
    fx_free(x);
}

static void test_trace_usage_only(void **state)
{
    (void)state;
    static const int64_t none[] = {-1, -1};
    struct fx *x = fx_new(2, "mlflow.llm.model", "\"acme-small-4k\"", none);
    x->a->traces[0].info.usage.input_tokens = 1000;
    x->a->traces[0].info.usage.present = MS_USAGE_INPUT;
    x->a->traces[1].info.usage.input_tokens = 5000;
    x->a->traces[1].info.usage.present = MS_USAGE_INPUT;
    ms_findings *f = au_analyze(&x->a->s, "context");
    const ms_finding *g = au_find(f, "context.window");
    assert_int_equal(g->turn, 2);
    tu_str_eq("message", g->message.ptr, g->message.len,
              "input tokens 5000 > window 4096 of acme-small-4k at turn 2 (call (trace total)) "
              "(1000 at turn 1); the only turn over it; the model sees only part of the prompt");
    tu_str_eq("path", g->path.ptr, g->path.len,
              "info.trace_metadata.\"mlflow.trace.tokenUsage\"");
    assert_null(g->span_id.ptr);
    ms_findings_free(f);
    fx_free(x);

    /* no token counts at all: nothing */
    x = fx_new(2, NULL, NULL, none);
    f = au_analyze(&x->a->s, "context");
    assert_int_equal(ms_findings_count(f), 0);
    ms_findings_free(f);
    fx_free(x);
}

/* A wrapper span that sums its calls' usage is not a call; a call without
 * a model of its own takes the turn's one model. */
static void test_nested_usage(void **state)
{
    (void)state;
    static const int64_t none[] = {-1};
    struct fx *x = fx_new(1, NULL, NULL, none);
    ms_span *root = &x->a->spans[0][0];
    root->span_type = au_s("CHAIN");
    root->usage.input_tokens = 9000;
    root->usage.present = MS_USAGE_INPUT;
    ms_span *c1 = au_span(x->a, 0, "00000000000000b1", "00000000000000a1", "call_1", "CHAT_MODEL",
                          MS_STATUS_OK);
    c1->usage.input_tokens = 4000;
    c1->usage.present = MS_USAGE_INPUT;
    x->attrs[0][0].key = au_s("mlflow.llm.model");
    x->attrs[0][0].value = au_s("\"acme-small-4k\"");
    c1->attrs = x->attrs[0];
    c1->n_attrs = 1;
    ms_span *c2 = au_span(x->a, 0, "00000000000000b2", "00000000000000a1", "call_2", "CHAT_MODEL",
                          MS_STATUS_OK);
    c2->usage.input_tokens = 5000;
    c2->usage.present = MS_USAGE_INPUT;
    ms_findings *f = au_analyze(&x->a->s, "context");
    const ms_finding *g = au_find(f, "context.window");
    tu_str_eq("nested", g->message.ptr, g->message.len,
              "input tokens 5000 > window 4096 of acme-small-4k at turn 1 (call call_2); the only "
              "turn over it; the model sees only part of the prompt");
    g = au_find(f, "context.largest");
    tu_str_eq("largest", g->message.ptr, g->message.len,
              "largest prompt: 5000 input tokens at turn 1 (call call_2, acme-small-4k, 122% of its "
              "4096 window); no cache reads recorded; session: 9000 input tokens over 1 turn");
    ms_findings_free(f);

    /* untyped spans: the one whose child has counts too is a wrapper */
    root->span_type = au_s("UNKNOWN");
    c1->span_type = au_s("UNKNOWN");
    c2->span_type = au_s("UNKNOWN");
    c2->parent_id[0] = '\0';
    snprintf(c2->parent_id, sizeof c2->parent_id, "%s", "00000000000000b1");
    f = au_analyze(&x->a->s, "context.largest");
    g = au_find(f, "context.largest");
    tu_str_eq("untyped", g->message.ptr, g->message.len,
              "largest prompt: 5000 input tokens at turn 1 (call call_2, acme-small-4k, 122% of its "
              "4096 window); no cache reads recorded; session: 5000 input tokens over 1 turn");
    ms_findings_free(f);
    fx_free(x);
}

/* Token counts at the int64 edges and absurd windows: no overflow, no
 * division by zero; negative counts count as none. */
static void test_int64_edges(void **state)
{
    (void)state;
    static const int64_t in[] = {INT64_MAX, 0, INT64_MAX, -5, INT64_MAX, 1, INT64_MAX, 0};
    struct fx *x = fx_new(8, "mlflow.llm.model", "\"m\"", in);
    x->a->spans[0][0].usage.cache_read_input_tokens = INT64_MAX;
    x->a->spans[0][0].usage.cache_creation_input_tokens = INT64_MAX;
    x->a->spans[0][0].usage.present |= MS_USAGE_CACHE_READ | MS_USAGE_CACHE_CREATION;
    x->a->traces[2].info.usage.input_tokens = INT64_MIN;
    x->a->traces[2].info.usage.cache_read_input_tokens = INT64_MAX;
    x->a->traces[2].info.usage.present = MS_USAGE_INPUT | MS_USAGE_CACHE_READ;
    static const char *const windows[] = {NULL, "m=9223372036854775807", "m=99999999999999999999",
                                          "m=1", "m=0"};
    for (size_t k = 0; k < TU_COUNT(windows); k++) {
        ms_findings *f = analyze_with(&x->a->s, "context", windows[k]);
        for (size_t i = 0; i < ms_findings_count(f); i++)
            assert_true(ms_findings_at(f, i)->message.len > 0);
        ms_findings_free(f);
    }
    fx_free(x);
}

/* ---- the fixture store ------------------------------------------------------ */

static void test_fixture_faults(void **state)
{
    (void)state;
    ms_store *st;
    ms_session *s = au_load(&st, "sess-context-overflow");
    if (!s)
        skip();
    ms_findings *f = au_analyze(s, "context");
    assert_int_equal(au_count(f, "context.window", -1), 1);
    const ms_finding *g = au_find(f, "context.window");
    assert_int_equal(g->turn, 22);
    assert_int_equal(g->severity, MS_SEV_ERROR);
    tu_str_eq("fault c", g->message.ptr, g->message.len,
              "input tokens 4224 > window 4096 of acme-small-4k at turn 22 (call llm_generate) "
              "(4012 at turn 21); 19 turns over the window (22-40), up to 7448 tokens at turn "
              "40; the model sees only part of the prompt");
    assert_int_equal(au_count(f, "context.growth", 22), 1);
    assert_int_equal(au_count(f, "context.largest", 40), 1);
    assert_int_equal(au_count(f, "context.drop", -1), 0);
    ms_findings_free(f);
    ms_session_free(s);
    ms_store_close(st);

    s = au_load(&st, "sess-history-drop");
    f = au_analyze(s, "context.drop");
    assert_int_equal(ms_findings_count(f), 1);
    g = au_find(f, "context.drop");
    assert_int_equal(g->turn, 5);
    ms_findings_free(f);
    ms_session_free(s);
    ms_store_close(st);
}

static void test_fixture_clean(void **state)
{
    (void)state;
    static const char *const clean[] = {
        "sess-happy-rag", "sess-openai",    "sess-rag-outdated", "sess-tool-loop",
        "sess-idle-gap",  "sess-errors",    "sess-corrections",  "sess-http-wrapper",
        "sess-tag-only",  "conv-7f3c2a9e",  "sess-crash",        "sess-unicode"};
    for (size_t k = 0; k < TU_COUNT(clean); k++) {
        ms_store *st;
        ms_session *s = au_load(&st, clean[k]);
        if (!s)
            skip();
        ms_findings *f = au_analyze(s, "context");
        size_t loud = au_count(f, "context.window", -1) + au_count(f, "context.drop", -1);
        if (loud)
            au_dump(f);
        tu_i64_eq(clean[k], (int64_t)loud, 0);
        ms_findings_free(f);
        ms_session_free(s);
        ms_store_close(st);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_windows),    cmocka_unit_test(test_window_first_turn),
        cmocka_unit_test(test_window_projection), cmocka_unit_test(test_growth),
        cmocka_unit_test(test_drop),             cmocka_unit_test(test_largest_and_cache),
        cmocka_unit_test(test_trace_usage_only), cmocka_unit_test(test_nested_usage),
        cmocka_unit_test(test_int64_edges),
        cmocka_unit_test(test_fixture_faults),
        cmocka_unit_test(test_fixture_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
