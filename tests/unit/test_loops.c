/* SPDX-License-Identifier: MIT
 *
 * Unit tests for src/analyze/loops.c: the same tool call 3+ times in a turn
 * or in 3+ consecutive turns (arguments compared without JSON whitespace),
 * the same error 3+ times (a propagated exception counted once), and the
 * assistant repeating itself. Synthetic sessions, then fixture fault f
 * (sess-tool-loop turn 1: check_shipping x4) and the quiet sessions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"
#include "analyze_util.h"

static ms_span *tool(struct au_session *a, size_t turn, const char *id, const char *name,
                     const char *args, const char *result)
{
    ms_span *sp = au_span(a, turn, id, "", name, "TOOL", MS_STATUS_OK);
    au_io(a, turn, sp, args, result);
    return sp;
}

static void test_tool_loop_in_turn(void **state)
{
    (void)state;
    struct au_session *a = au_new("s");
    au_turn(a, MS_STATE_OK, "where is A-1100?", "It has not shipped yet.");
    tool(a, 0, "0000000000000001", "check_shipping", "{\"order_id\": \"A-1100\"}", "{\"s\": 1}");
    tool(a, 0, "0000000000000002", "lookup_order", "{\"order_id\": \"A-1100\"}", "{}");
    tool(a, 0, "0000000000000003", "check_shipping", "{\"order_id\":\"A-1100\"}", "{\"s\": 1}");
    tool(a, 0, "0000000000000004", "check_shipping", "{ \"order_id\" : \"A-1100\" }", "{\"s\": 1}");
    ms_findings *f = au_analyze(&a->s, "loop.tool");
    assert_int_equal(ms_findings_count(f), 1);
    const ms_finding *g = au_find(f, "loop.tool");
    assert_int_equal(g->turn, 1);
    assert_int_equal(g->severity, MS_SEV_WARN);
    tu_str_eq("message", g->message.ptr, g->message.len,
              "tool check_shipping called 3 times in turn 1 with the same arguments "
              "{\"order_id\":\"A-1100\"}; the same result each time");
    tu_str_eq("span", g->span_id.ptr, g->span_id.len, "0000000000000001");
    tu_str_eq("path", g->path.ptr, g->path.len, "spans[0].attributes.\"mlflow.spanInputs\"");
    ms_findings_free(f);
    free(a);
}

static void test_tool_no_loop(void **state)
{
    (void)state;
    struct au_session *a = au_new("s");
    au_turn(a, MS_STATE_OK, "q", "a");
    /* twice the same, and a third with other arguments: no loop; a string
     * with spaces inside stays different */
    tool(a, 0, "0000000000000001", "lookup", "{\"id\": \"A 1\"}", "{}");
    tool(a, 0, "0000000000000002", "lookup", "{\"id\": \"A 1\"}", "{}");
    tool(a, 0, "0000000000000003", "lookup", "{\"id\": \"A1\"}", "{}");
    au_turn(a, MS_STATE_OK, "q", "a");
    tool(a, 1, "0000000000000004", "other", "{\"id\": \"A 1\"}", "{}");
    au_turn(a, MS_STATE_OK, "q", "a");
    tool(a, 2, "0000000000000005", "lookup", "{\"id\": \"A 1\"}", "{}");
    ms_findings *f = au_analyze(&a->s, "loop.tool");
    /* 2 in turn 1, none in turn 2: the streak breaks */
    assert_int_equal(ms_findings_count(f), 0);
    ms_findings_free(f);
    free(a);

    /* 2 in turn 1 and 1 in turn 2: 3 times across consecutive turns */
    a = au_new("s");
    au_turn(a, MS_STATE_OK, "q", "a");
    tool(a, 0, "0000000000000001", "lookup", "{\"id\": \"A1\"}", "{}");
    tool(a, 0, "0000000000000002", "lookup", "{\"id\": \"A1\"}", "{}");
    au_turn(a, MS_STATE_OK, "q", "a");
    tool(a, 1, "0000000000000003", "lookup", "{\"id\": \"A1\"}", "{}");
    f = au_analyze(&a->s, "loop.tool");
    assert_int_equal(ms_findings_count(f), 1);
    const ms_finding *g = au_find(f, "loop.tool");
    assert_int_equal(g->turn, 1);
    tu_str_eq("message", g->message.ptr, g->message.len,
              "tool lookup called with the same arguments {\"id\":\"A1\"} in 2 consecutive "
              "turns (1-2), 3 times");
    ms_findings_free(f);
    free(a);
}

static void test_tool_loop_across_turns(void **state)
{
    (void)state;
    struct au_session *a = au_new("s");
    static const char *const ids[] = {"0000000000000001", "0000000000000002",
                                      "0000000000000003", "0000000000000004"};
    for (size_t t = 0; t < 4; t++) {
        au_turn(a, MS_STATE_OK, "status?", "Still label_created.");
        /* turn 4 calls another tool: the streak is turns 1-3 */
        tool(a, t, ids[t], t == 3 ? "other" : "check_shipping", "{\"order_id\": \"A-1\"}", "{}");
    }
    ms_findings *f = au_analyze(&a->s, "loop.tool");
    assert_int_equal(ms_findings_count(f), 1);
    const ms_finding *g = au_find(f, "loop.tool");
    assert_int_equal(g->turn, 1);
    tu_str_eq("message", g->message.ptr, g->message.len,
              "tool check_shipping called with the same arguments {\"order_id\":\"A-1\"} in 3 "
              "consecutive turns (1-3), 3 times");
    ms_findings_free(f);
    free(a);
}

static void test_transcript_tools(void **state)
{
    (void)state;
    struct au_session *a = au_new("s");
    ms_turn *t = au_turn(a, MS_STATE_OK, "q", "a");
    ms_tool_call tc[3];
    for (int i = 0; i < 3; i++)
        tc[i] = (ms_tool_call){au_s("search"), au_s(i == 1 ? "{\"q\":\"x\"}" : "{\"q\": \"x\"}"),
                               au_s(i == 2 ? "2 hits" : "1 hit"), {NULL, 0}, false, {NULL, 0}};
    t->tools = tc;
    t->n_tools = 3;
    ms_findings *f = au_analyze(&a->s, "loop.tool");
    const ms_finding *g = au_find(f, "loop.tool");
    tu_str_eq("message", g->message.ptr, g->message.len,
              "tool search called 3 times in turn 1 with the same arguments {\"q\":\"x\"}");
    assert_null(g->span_id.ptr);
    assert_null(g->path.ptr);
    ms_findings_free(f);
    free(a);
}

static void test_error_loop(void **state)
{
    (void)state;
    struct au_session *a = au_new("s");
    for (size_t t = 0; t < 3; t++) {
        au_turn(a, MS_STATE_ERROR, "again", NULL);
        char root[17], child[17];
        snprintf(root, sizeof root, "%016zx", 16 * t + 1);
        snprintf(child, sizeof child, "%016zx", 16 * t + 2);
        ms_span *r = au_span(a, t, root, "", "agent", "AGENT", MS_STATUS_ERROR);
        au_exception(a, t, r, "Timeout", "no answer in 30 s", NULL);
        ms_span *c = au_span(a, t, child, root, "llm", "LLM", MS_STATUS_ERROR);
        au_exception(a, t, c, "Timeout", "no answer in 30 s", NULL);
    }
    ms_findings *f = au_analyze(&a->s, "loop.error");
    assert_int_equal(ms_findings_count(f), 1);
    const ms_finding *g = au_find(f, "loop.error");
    assert_int_equal(g->severity, MS_SEV_ERROR);
    assert_int_equal(g->turn, 1);
    /* 3, not 6: the root only passed the llm span's exception on */
    tu_str_eq("message", g->message.ptr, g->message.len,
              "the same error 3 times (turns 1, 2, 3): Timeout: no answer in 30 s");
    tu_str_eq("span", g->span_id.ptr, g->span_id.len, "0000000000000002");
    tu_str_eq("path", g->path.ptr, g->path.len, "spans[1].events[0]");
    ms_findings_free(f);

    /* silent roots (no event, no status message) only passed it on too */
    for (size_t t = 0; t < 3; t++) {
        a->spans[t][0].n_events = 0;
        a->spans[t][0].status_message = au_s("");
    }
    f = au_analyze(&a->s, "loop.error");
    assert_int_equal(ms_findings_count(f), 1);
    g = au_find(f, "loop.error");
    tu_str_eq("silent roots", g->message.ptr, g->message.len,
              "the same error 3 times (turns 1, 2, 3): Timeout: no answer in 30 s");
    ms_findings_free(f);

    /* two only: nothing */
    a->s.n_turns = 2;
    f = au_analyze(&a->s, "loop.error");
    assert_int_equal(ms_findings_count(f), 0);
    ms_findings_free(f);
    free(a);
}

/* Two errors interleaved: one finding each, in order of first occurrence. */
static void test_error_loop_interleaved(void **state)
{
    (void)state;
    struct au_session *a = au_new("s");
    for (size_t t = 0; t < 6; t++) {
        au_turn(a, MS_STATE_ERROR, "again", NULL);
        char id[17];
        snprintf(id, sizeof id, "%016zx", t + 1);
        ms_span *r = au_span(a, t, id, "", "agent", "AGENT", MS_STATUS_ERROR);
        if (t % 2)
            au_exception(a, t, r, "B", "second", NULL);
        else
            au_exception(a, t, r, "A", "first", NULL);
    }
    ms_findings *f = au_analyze(&a->s, "loop.error");
    assert_int_equal(ms_findings_count(f), 2);
    const ms_finding *g = ms_findings_at(f, 0);
    tu_str_eq("first", g->message.ptr, g->message.len,
              "the same error 3 times (turns 1, 3, 5): A: first");
    assert_int_equal(g->turn, 1);
    g = ms_findings_at(f, 1);
    tu_str_eq("second", g->message.ptr, g->message.len,
              "the same error 3 times (turns 2, 4, 6): B: second");
    assert_int_equal(g->turn, 2);
    ms_findings_free(f);
    free(a);
}

static void test_answer_loop(void **state)
{
    (void)state;
    /* the same question back after the user answered it */
    struct au_session *a = au_new("s");
    au_turn(a, MS_STATE_OK, "where is my order", "Could you tell me your order number?");
    au_turn(a, MS_STATE_OK, "A-1077", "Could you tell me your order number, please?");
    au_turn(a, MS_STATE_OK, "I told you", "Your order A-1077 is in transit.");
    ms_findings *f = au_analyze(&a->s, "loop.answer");
    assert_int_equal(ms_findings_count(f), 1);
    const ms_finding *g = au_find(f, "loop.answer");
    assert_int_equal(g->turn, 2);
    tu_str_eq("message", g->message.ptr, g->message.len,
              "the assistant asked the same again: turns 1-2 answer nearly the same (93% of "
              "words shared)");
    ms_findings_free(f);
    free(a);

    /* a canned answer twice is fine; three times is a loop */
    const char *canned = "Sure. Standard shipping takes 3-5 business days.";
    a = au_new("s");
    au_turn(a, MS_STATE_OK, "shipping?", canned);
    au_turn(a, MS_STATE_OK, "express shipping?", canned);
    f = au_analyze(&a->s, "loop.answer");
    assert_int_equal(ms_findings_count(f), 0);
    ms_findings_free(f);
    au_turn(a, MS_STATE_OK, "and to Ireland?", canned);
    f = au_analyze(&a->s, "loop.answer");
    assert_int_equal(ms_findings_count(f), 1);
    g = au_find(f, "loop.answer");
    tu_str_eq("message", g->message.ptr, g->message.len,
              "the assistant repeated itself: turns 1-3 answer nearly the same (100% of words "
              "shared)");
    ms_findings_free(f);
    free(a);

    /* short answers and the closing question never count */
    a = au_new("s");
    au_turn(a, MS_STATE_OK, "thanks", "You're welcome! Anything else I can help with?");
    au_turn(a, MS_STATE_OK, "thanks again", "You're welcome! Anything else I can help with?");
    au_turn(a, MS_STATE_OK, "ok", "Bye!");
    au_turn(a, MS_STATE_OK, "ok", "Bye!");
    au_turn(a, MS_STATE_OK, "ok", "Bye!");
    f = au_analyze(&a->s, "loop.answer");
    assert_int_equal(ms_findings_count(f), 0);
    ms_findings_free(f);
    free(a);
}

/* ---- the fixture store ----------------------------------------------- */

static void test_fixture_tool_loop(void **state)
{
    (void)state;
    ms_store *st;
    ms_session *s = au_load(&st, "sess-tool-loop");
    if (!s)
        skip();
    ms_findings *f = au_analyze(s, "loops");
    ms_session_free(s);
    ms_store_close(st);
    assert_int_equal(ms_findings_count(f), 1);
    const ms_finding *g = au_find(f, "loop.tool");
    assert_int_equal(g->turn, 1);
    tu_str_eq("trace", g->trace_id.ptr, g->trace_id.len, "tr-4778b7c92b581e02f024e5c9ac3154f9");
    tu_str_eq("message", g->message.ptr, g->message.len,
              "tool check_shipping called 4 times in turn 1 with the same arguments "
              "{\"order_id\":\"A-1100\"}; the same result each time");
    ms_findings_free(f);
}

static void test_fixture_history_drop(void **state)
{
    (void)state;
    ms_store *st;
    ms_session *s = au_load(&st, "sess-history-drop");
    if (!s)
        skip();
    ms_findings *f = au_analyze(s, "loops");
    ms_session_free(s);
    ms_store_close(st);
    /* after the dropped history the assistant asks for the order twice */
    assert_int_equal(ms_findings_count(f), 1);
    assert_int_equal(au_count(f, "loop.answer", 6), 1);
    ms_findings_free(f);
}

static void test_fixture_quiet(void **state)
{
    (void)state;
    static const char *const quiet[] = {
        "sess-rag-outdated", "sess-idle-gap", "sess-corrections", "sess-openai",
        "sess-http-wrapper", "sess-tag-only", "sess-crash",       "conv-7f3c2a9e",
        "sess-happy-rag",    "sess-unicode",  "sess-errors",
    };
    for (size_t i = 0; i < TU_COUNT(quiet); i++) {
        ms_store *st;
        ms_session *s = au_load(&st, quiet[i]);
        if (!s)
            skip();
        ms_findings *f = au_analyze(s, "loops");
        if (ms_findings_count(f) != 0) {
            au_dump(f);
            fail_msg("%s: %zu loops findings", quiet[i], ms_findings_count(f));
        }
        ms_findings_free(f);
        ms_session_free(s);
        ms_store_close(st);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tool_loop_in_turn),
        cmocka_unit_test(test_tool_no_loop),
        cmocka_unit_test(test_tool_loop_across_turns),
        cmocka_unit_test(test_transcript_tools),
        cmocka_unit_test(test_error_loop),
        cmocka_unit_test(test_error_loop_interleaved),
        cmocka_unit_test(test_answer_loop),
        cmocka_unit_test(test_fixture_tool_loop),
        cmocka_unit_test(test_fixture_history_drop),
        cmocka_unit_test(test_fixture_quiet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
