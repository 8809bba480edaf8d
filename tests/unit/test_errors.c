/* SPDX-License-Identifier: MIT
 *
 * Unit tests for src/analyze/errors.c: error.trace names the span that
 * raised (not the ancestors that passed the exception on), the exception
 * and its innermost frame; caught failures are error.span, failed tools
 * error.tool; error.degraded after an error; nothing on clean sessions.
 * Synthetic sessions, then the fixture store's sess-errors and its clean
 * sessions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"
#include "analyze_util.h"

static const char *const STACK =
    "Traceback (most recent call last):\n"
    "  File \"/srv/app/agent.py\", line 40, in run\n"
    "    answer = call_llm(messages)\n"
    "  File \"/srv/app/llm.py\", line 317, in complete\n"
    "    raise exc\n"
    "app.UpstreamTimeoutError: model did not answer within 30 s\n";

static void contains(const char *what, ms_str s, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= s.len; i++)
        if (memcmp(s.ptr + i, needle, n) == 0)
            return;
    fail_msg("%s: '%.*s' does not contain '%s'", what, (int)s.len, s.ptr, needle);
}

static void test_trace_error_origin(void **state)
{
    (void)state;
    struct au_session *a = au_new("s");
    au_turn(a, MS_STATE_OK, "hi", "Hello, how can I help you today with your order?");
    au_turn(a, MS_STATE_ERROR, "look it up", NULL);
    ms_span *root = au_span(a, 1, "00000000000000a1", "", "support_agent", "AGENT",
                            MS_STATUS_ERROR);
    au_exception(a, 1, root, "UpstreamTimeoutError", "model did not answer within 30 s", STACK);
    au_span(a, 1, "00000000000000a2", "00000000000000a1", "call_llm", "CHAT_MODEL", MS_STATUS_OK);
    ms_span *bad = au_span(a, 1, "00000000000000a3", "00000000000000a1", "call_llm", "CHAT_MODEL",
                           MS_STATUS_ERROR);
    au_exception(a, 1, bad, "UpstreamTimeoutError", "model did not answer within 30 s", STACK);
    ms_findings *f = au_analyze(&a->s, "errors");
    assert_int_equal(au_count(f, NULL, -1), 1);
    const ms_finding *g = au_find(f, "error.trace");
    assert_int_equal(g->severity, MS_SEV_ERROR);
    assert_int_equal(g->turn, 2);
    tu_str_eq("span", g->span_id.ptr, g->span_id.len, "00000000000000a3");
    tu_str_eq("path", g->path.ptr, g->path.len, "spans[2].events[0]");
    tu_str_eq("message", g->message.ptr, g->message.len,
              "turn failed: UpstreamTimeoutError: model did not answer within 30 s raised in span "
              "call_llm at /srv/app/llm.py:317 in complete");
    tu_str_eq("excerpt", g->excerpt.ptr, g->excerpt.len, "model did not answer within 30 s");
    ms_findings_free(f);
    free(a);
}

/* A root that fails without saying why failed because its child did. */
static void test_silent_root(void **state)
{
    (void)state;
    struct au_session *a = au_new("s");
    au_turn(a, MS_STATE_ERROR, "x", NULL);
    au_span(a, 0, "00000000000000a1", "", "agent", "AGENT", MS_STATUS_ERROR);
    ms_span *c = au_span(a, 0, "00000000000000a2", "00000000000000a1", "search", "RETRIEVER",
                         MS_STATUS_ERROR);
    au_exception(a, 0, c, "IndexError", "no shard", NULL);
    ms_findings *f = au_analyze(&a->s, "errors");
    assert_int_equal(ms_findings_count(f), 1);
    const ms_finding *g = au_find(f, "error.trace");
    tu_str_eq("span", g->span_id.ptr, g->span_id.len, "00000000000000a2");
    tu_str_eq("message", g->message.ptr, g->message.len,
              "turn failed: IndexError: no shard in span search");
    ms_findings_free(f);
    free(a);

    /* the root's status message is the child's exception, as MLflow writes it */
    a = au_new("s");
    au_turn(a, MS_STATE_ERROR, "x", NULL);
    ms_span *r = au_span(a, 0, "00000000000000b1", "", "agent", "AGENT", MS_STATUS_ERROR);
    r->status_message = au_s("IndexError: no shard");
    c = au_span(a, 0, "00000000000000b2", "00000000000000b1", "search", "RETRIEVER",
                MS_STATUS_ERROR);
    au_exception(a, 0, c, "IndexError", "no shard", NULL);
    f = au_analyze(&a->s, "errors");
    assert_int_equal(ms_findings_count(f), 1);
    g = au_find(f, "error.trace");
    tu_str_eq("span", g->span_id.ptr, g->span_id.len, "00000000000000b2");
    ms_findings_free(f);
    free(a);
}

static void test_trace_error_without_spans(void **state)
{
    (void)state;
    struct au_session *a = au_new("s");
    au_turn(a, MS_STATE_ERROR, "x", NULL);
    ms_findings *f = au_analyze(&a->s, "errors");
    const ms_finding *g = au_find(f, "error.trace");
    tu_str_eq("message", g->message.ptr, g->message.len,
              "turn failed: trace state ERROR with no failing span recorded");
    tu_str_eq("path", g->path.ptr, g->path.len, "info.state");
    assert_null(g->span_id.ptr);
    ms_findings_free(f);
    free(a);
}

static void test_status_only_error(void **state)
{
    (void)state;
    struct au_session *a = au_new("s");
    au_turn(a, MS_STATE_ERROR, "x", NULL);
    ms_span *r = au_span(a, 0, "00000000000000b1", "", "chat", "CHAIN", MS_STATUS_ERROR);
    r->status_message = au_s("ValueError: bad input");
    ms_findings *f = au_analyze(&a->s, "error.trace");
    const ms_finding *g = au_find(f, "error.trace");
    tu_str_eq("message", g->message.ptr, g->message.len,
              "turn failed: ValueError: bad input in span chat");
    tu_str_eq("path", g->path.ptr, g->path.len, "spans[0].status");
    ms_findings_free(f);
    free(a);
}

static void test_caught_and_tool(void **state)
{
    (void)state;
    struct au_session *a = au_new("s");
    au_turn(a, MS_STATE_OK, "q", "Order A-1213 is the hiking boots; status: delivered.");
    au_span(a, 0, "00000000000000c1", "", "agent", "AGENT", MS_STATUS_OK);
    ms_span *rl = au_span(a, 0, "00000000000000c2", "00000000000000c1", "call_llm", "CHAT_MODEL",
                          MS_STATUS_ERROR);
    au_exception(a, 0, rl, "RateLimitError", "429 Too Many Requests", NULL);
    au_span(a, 0, "00000000000000c3", "00000000000000c1", "call_llm", "CHAT_MODEL", MS_STATUS_OK);
    au_turn(a, MS_STATE_OK, "change it", "Sorry, that did not work: the postcode is invalid.");
    au_span(a, 1, "00000000000000d1", "", "agent", "AGENT", MS_STATUS_OK);
    ms_span *tool = au_span(a, 1, "00000000000000d2", "00000000000000d1", "update_address", "TOOL",
                            MS_STATUS_ERROR);
    au_exception(a, 1, tool, "InvalidAddressError", "postcode 'ZZ9' is not valid", NULL);
    ms_findings *f = au_analyze(&a->s, "errors");
    assert_int_equal(au_count(f, "error.span", 1), 1);
    assert_int_equal(au_count(f, "error.tool", 2), 1);
    assert_int_equal(au_count(f, "error.trace", -1), 0);
    /* turn 2's apology is explained by its own failure: not "degraded" */
    assert_int_equal(au_count(f, "error.degraded", -1), 0);
    const ms_finding *g = au_find(f, "error.span");
    tu_str_eq("span message", g->message.ptr, g->message.len,
              "span call_llm failed: RateLimitError: 429 Too Many Requests (caught; the turn "
              "went on)");
    g = au_find(f, "error.tool");
    tu_str_eq("tool message", g->message.ptr, g->message.len,
              "tool update_address failed: InvalidAddressError: postcode 'ZZ9' is not valid");
    tu_str_eq("tool span", g->span_id.ptr, g->span_id.len, "00000000000000d2");
    assert_int_equal(ms_findings_max_severity(f), MS_SEV_WARN);
    ms_findings_free(f);
    free(a);
}

/* A tool call only the transcript knows failed (no TOOL span). */
static void test_transcript_tool(void **state)
{
    (void)state;
    struct au_session *a = au_new("s");
    ms_turn *t = au_turn(a, MS_STATE_OK, "q", "ok");
    ms_tool_call tc = {au_s("get_weather"), au_s("{}"), au_s("error"), {NULL, 0}, true,
                       au_s("KeyError: 'city'")};
    t->tools = &tc;
    t->n_tools = 1;
    ms_findings *f = au_analyze(&a->s, "error.tool");
    const ms_finding *g = au_find(f, "error.tool");
    tu_str_eq("message", g->message.ptr, g->message.len, "tool get_weather failed: KeyError: 'city'");
    ms_findings_free(f);
    free(a);
}

/* A tool that ends OK but answers with an error report. */
static void test_tool_error_result(void **state)
{
    (void)state;
    struct au_session *a = au_new("s");
    au_turn(a, MS_STATE_OK, "q", "I could not find that order.");
    au_span(a, 0, "0000000000000001", "", "agent", "AGENT", MS_STATUS_OK);
    ms_span *t1 = au_span(a, 0, "0000000000000002", "0000000000000001", "lookup", "TOOL",
                          MS_STATUS_OK);
    au_io(a, 0, t1, "{\"id\": \"A-9\"}", "{\"error\": \"order A-9 not found\"}");
    ms_span *t2 = au_span(a, 0, "0000000000000003", "0000000000000001", "lookup", "TOOL",
                          MS_STATUS_OK);
    au_io(a, 0, t2, "{\"id\": \"A-1\"}", "{\"error\": null, \"status\": \"ok\"}");
    ms_span *t3 = au_span(a, 0, "0000000000000004", "0000000000000001", "weather", "TOOL",
                          MS_STATUS_OK);
    au_io(a, 0, t3, "{}", "\"Error: city is required\"");
    ms_span *t4 = au_span(a, 0, "0000000000000005", "0000000000000001", "search", "TOOL",
                          MS_STATUS_OK);
    au_io(a, 0, t4, "{}", "\"No error found in the logs\"");
    ms_span *t5 = au_span(a, 0, "0000000000000006", "0000000000000001", "count", "TOOL",
                          MS_STATUS_OK);
    au_io(a, 0, t5, "{}", "{\"error\": 0, \"n\": 3}");
    ms_findings *f = au_analyze(&a->s, "error.tool");
    assert_int_equal(ms_findings_count(f), 2);
    const ms_finding *g = ms_findings_at(f, 0);
    tu_str_eq("message", g->message.ptr, g->message.len,
              "tool lookup returned an error: {\"error\": \"order A-9 not found\"}");
    tu_str_eq("path", g->path.ptr, g->path.len, "spans[1].attributes.\"mlflow.spanOutputs\"");
    g = ms_findings_at(f, 1);
    tu_str_eq("message", g->message.ptr, g->message.len,
              "tool weather returned an error: Error: city is required");
    ms_findings_free(f);
    free(a);
}

static void test_degraded(void **state)
{
    (void)state;
    static const char *const long_answer =
        "Your order A-1077 (espresso machine) is in transit and should arrive on Friday; the "
        "tracking number is 1Z1077X and you can follow it on the carrier's site.";
    /* apology after an error */
    struct au_session *a = au_new("s");
    au_turn(a, MS_STATE_OK, "where is it", long_answer);
    au_turn(a, MS_STATE_ERROR, "and the other one", NULL);
    ms_span *r = au_span(a, 1, "00000000000000e1", "", "agent", "AGENT", MS_STATUS_ERROR);
    au_exception(a, 1, r, "Timeout", "slow", NULL);
    au_turn(a, MS_STATE_OK, "hello?", "I'm sorry, I am unable to look that up right now.");
    ms_findings *f = au_analyze(&a->s, "errors");
    assert_int_equal(au_count(f, "error.degraded", 3), 1);
    const ms_finding *g = au_find(f, "error.degraded");
    tu_str_eq("message", g->message.ptr, g->message.len,
              "answer degraded after the error at turn 2 (Timeout: slow): the answer reports a "
              "failure (\"unable to\")");
    ms_findings_free(f);
    free(a);

    /* empathy is not failure */
    a = au_new("s");
    au_turn(a, MS_STATE_OK, "where is it", long_answer);
    au_turn(a, MS_STATE_ERROR, "and the other one", NULL);
    au_turn(a, MS_STATE_OK, "the boots are broken",
            "I'm sorry to hear that. I can help you return or exchange them; use SORRY10.");
    f = au_analyze(&a->s, "error.degraded");
    assert_int_equal(ms_findings_count(f), 0);
    ms_findings_free(f);
    free(a);

    /* much shorter */
    a = au_new("s");
    au_turn(a, MS_STATE_OK, "where is it", long_answer);
    au_turn(a, MS_STATE_ERROR, "and the other one", NULL);
    au_turn(a, MS_STATE_OK, "hello?", "In transit.");
    f = au_analyze(&a->s, "error.degraded");
    g = au_find(f, "error.degraded");
    contains("shorter", g->message, "the answer is 11 bytes, under a third of the");
    ms_findings_free(f);
    free(a);

    /* a short answer to "thanks" is not degraded */
    a = au_new("s");
    au_turn(a, MS_STATE_OK, "where is it", long_answer);
    au_turn(a, MS_STATE_ERROR, "and the other one", NULL);
    au_turn(a, MS_STATE_OK, "Thanks.", "You're welcome!");
    f = au_analyze(&a->s, "error.degraded");
    assert_int_equal(ms_findings_count(f), 0);
    ms_findings_free(f);
    free(a);

    /* fine answers after the error: nothing */
    a = au_new("s");
    au_turn(a, MS_STATE_OK, "where is it", long_answer);
    au_turn(a, MS_STATE_ERROR, "and the other one", NULL);
    au_turn(a, MS_STATE_OK, "hello?", long_answer);
    au_turn(a, MS_STATE_OK, "thanks", long_answer);
    f = au_analyze(&a->s, "error.degraded");
    assert_int_equal(ms_findings_count(f), 0);
    ms_findings_free(f);
    /* an apology three turns later is not tied to the error */
    au_turn(a, MS_STATE_OK, "x", "Sorry, I cannot help with that.");
    f = au_analyze(&a->s, "error.degraded");
    assert_int_equal(ms_findings_count(f), 0);
    ms_findings_free(f);
    free(a);
}

static void test_clean_synthetic(void **state)
{
    (void)state;
    struct au_session *a = au_new("s");
    au_turn(a, MS_STATE_OK, "hi", "Hello! How can I help?");
    au_span(a, 0, "00000000000000f1", "", "chat", "CHAIN", MS_STATUS_OK);
    au_span(a, 0, "00000000000000f2", "00000000000000f1", "llm", "LLM", MS_STATUS_UNSET);
    au_turn(a, MS_STATE_IN_PROGRESS, "and?", NULL);
    ms_findings *f = au_analyze(&a->s, "errors");
    assert_int_equal(ms_findings_count(f), 0);
    ms_findings_free(f);
    free(a);
}

/* ---- the fixture store ----------------------------------------------- */

static void test_fixture_sess_errors(void **state)
{
    (void)state;
    ms_store *st;
    ms_session *s = au_load(&st, "sess-errors");
    if (!s)
        skip();
    ms_findings *f = au_analyze(s, "errors");
    ms_session_free(s);
    ms_store_close(st);
    /* turn 2: the trace failed in the 2nd call_llm */
    assert_int_equal(au_count(f, "error.trace", -1), 1);
    const ms_finding *g = au_find(f, "error.trace");
    assert_int_equal(g->turn, 2);
    tu_str_eq("trace", g->trace_id.ptr, g->trace_id.len, "tr-d648cacbab6e584f6a878c149b312dd0");
    tu_str_eq("message", g->message.ptr, g->message.len,
              "turn failed: UpstreamTimeoutError: acme-large-32k did not answer within 30 s "
              "raised in span call_llm at /tmp/acme-support/app.py:317 in complete");
    tu_str_eq("path", g->path.ptr, g->path.len, "spans[3].events[0]");
    /* turn 3: caught RateLimitError, answered by the fallback */
    assert_int_equal(au_count(f, "error.span", 3), 1);
    assert_int_equal(au_count(f, "error.span", -1), 1);
    assert_int_equal(au_count(f, "error.degraded", 3), 1);
    /* turn 4: update_address failed */
    assert_int_equal(au_count(f, "error.tool", 4), 1);
    assert_int_equal(au_count(f, "error.tool", -1), 1);
    g = au_find(f, "error.tool");
    contains("tool", g->message, "tool update_address failed: InvalidAddressError: postcode 'ZZ9'");
    assert_int_equal(ms_findings_count(f), 4);
    ms_findings_free(f);
}

/* No error-level errors finding on the sessions without planted errors. */
static void test_fixture_clean(void **state)
{
    (void)state;
    static const char *const clean[] = {
        "sess-rag-outdated", "sess-history-drop", "sess-context-overflow", "sess-idle-gap",
        "sess-corrections",  "sess-tool-loop",    "sess-openai",           "sess-http-wrapper",
        "sess-tag-only",     "sess-crash",        "conv-7f3c2a9e",         "sess-happy-rag",
        "sess-unicode",      "3e1f5b7a-9c2d-4e8f-a1b6-7d9c0e2f4a58",
    };
    for (size_t i = 0; i < TU_COUNT(clean); i++) {
        ms_store *st;
        ms_session *s = au_load(&st, clean[i]);
        if (!s)
            skip();
        ms_findings *f = au_analyze(s, "errors");
        if (ms_findings_count(f) != 0) {
            au_dump(f);
            fail_msg("%s: %zu errors findings", clean[i], ms_findings_count(f));
        }
        ms_findings_free(f);
        ms_session_free(s);
        ms_store_close(st);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_error_origin),
        cmocka_unit_test(test_silent_root),
        cmocka_unit_test(test_trace_error_without_spans),
        cmocka_unit_test(test_status_only_error),
        cmocka_unit_test(test_caught_and_tool),
        cmocka_unit_test(test_transcript_tool),
        cmocka_unit_test(test_tool_error_result),
        cmocka_unit_test(test_degraded),
        cmocka_unit_test(test_clean_synthetic),
        cmocka_unit_test(test_fixture_sess_errors),
        cmocka_unit_test(test_fixture_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
