/* SPDX-License-Identifier: MIT
 *
 * Unit tests for src/analyze/timing.c: idle gaps against the threshold
 * (default and set), overlapping turns, impossible span times, stuck turns
 * (older and newest), latency outliers with their floors, long sessions
 * (user or app). Synthetic sessions, then the fixture store (faults d and g,
 * the slow ERROR turn of sess-errors, clean sessions).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"
#include "analyze_util.h"

static struct au_session *session(size_t turns)
{
    struct au_session *a = au_new("s");
    for (size_t i = 0; i < turns; i++)
        au_turn(a, MS_STATE_OK, "q", "a");
    return a;
}

/* Moves turn i (from 0) and every later turn by delta ms. */
static void shift(struct au_session *a, size_t i, int64_t delta)
{
    for (size_t k = i; k < a->s.n_turns; k++) {
        a->turns[k].start_ms += delta;
        a->traces[k].info.request_time_ms += delta;
        for (size_t j = 0; j < a->traces[k].n_spans; j++) {
            a->spans[k][j].start_ns += delta * 1000000;
            a->spans[k][j].end_ns += delta * 1000000;
        }
    }
    a->turns[i].gap_ms += delta;
}

static void set_latency(struct au_session *a, size_t i, int64_t ms)
{
    int64_t d = ms - a->turns[i].latency_ms;
    a->turns[i].latency_ms = ms;
    a->traces[i].info.execution_duration_ms = ms;
    if (i + 1 < a->s.n_turns)
        a->turns[i + 1].gap_ms -= d;
}

static ms_findings *analyze_with(const ms_session *s, const char *rules, int64_t idle_gap_ms)
{
    struct ms_analyze_options o;
    ms_analyze_options_init(&o);
    const char *list[1] = {rules};
    o.rules = list;
    o.n_rules = 1;
    if (idle_gap_ms >= 0)
        o.idle_gap_ms = idle_gap_ms;
    ms_findings *f = NULL;
    struct ms_error err = {MS_OK, -1, ""};
    if (ms_analyze_session(s, &o, &f, &err) != MS_OK)
        fail_msg("analyze: %s", err.msg);
    return f;
}

static void test_idle_gap(void **state)
{
    (void)state;
    struct au_session *a = session(4);
    shift(a, 3, 2480040 - 59000); /* the gap before turn 4: 41.3 min */
    ms_findings *f = au_analyze(&a->s, "timing");
    assert_int_equal(au_count(f, "timing.idle_gap", -1), 1);
    const ms_finding *g = au_find(f, "timing.idle_gap");
    assert_int_equal(g->turn, 4);
    assert_int_equal(g->severity, MS_SEV_WARN);
    tu_str_eq("message", g->message.ptr, g->message.len,
              "idle 41.3 min (2480040 ms) before turn 4, over the 30 min threshold: turn 3 ended "
              "at 2026-01-15T09:02:01Z, turn 4 started at 2026-01-15T09:43:21.040Z; the session "
              "may really be two");
    ms_findings_free(f);

    /* what the transcript says of the turn after the pause */
    a->turns[2].carries_history = true;
    a->turns[3].carries_history = true;
    f = au_analyze(&a->s, "timing.idle_gap");
    g = au_find(f, "timing.idle_gap");
    tu_str_eq("resumed", g->message.ptr, g->message.len,
              "idle 41.3 min (2480040 ms) before turn 4, over the 30 min threshold: turn 3 ended "
              "at 2026-01-15T09:02:01Z, turn 4 started at 2026-01-15T09:43:21.040Z; its input "
              "still carries the earlier turns: the same conversation resumed");
    ms_findings_free(f);
    a->turns[3].carries_history = false;
    f = au_analyze(&a->s, "timing.idle_gap");
    g = au_find(f, "timing.idle_gap");
    tu_str_eq("new", g->message.ptr, g->message.len,
              "idle 41.3 min (2480040 ms) before turn 4, over the 30 min threshold: turn 3 ended "
              "at 2026-01-15T09:02:01Z, turn 4 started at 2026-01-15T09:43:21.040Z; its input no "
              "longer carries the earlier turns: likely a new conversation under the same "
              "session id");
    ms_findings_free(f);
    a->turns[2].carries_history = false;

    /* a higher threshold: nothing; a lower one: every gap of 59 s */
    f = analyze_with(&a->s, "timing.idle_gap", 60 * 60 * 1000);
    assert_int_equal(ms_findings_count(f), 0);
    ms_findings_free(f);
    f = analyze_with(&a->s, "timing.idle_gap", 45 * 1000);
    assert_int_equal(ms_findings_count(f), 3);
    ms_findings_free(f);
    /* 0 turns the rule off */
    f = analyze_with(&a->s, "timing.idle_gap", 0);
    assert_int_equal(ms_findings_count(f), 0);
    ms_findings_free(f);
    free(a);
}

static void test_overlap(void **state)
{
    (void)state;
    struct au_session *a = session(3);
    set_latency(a, 0, 70000); /* turn 1 ends 10 s after turn 2 started */
    ms_findings *f = au_analyze(&a->s, "timing");
    assert_int_equal(au_count(f, "timing.overlap", -1), 1);
    const ms_finding *g = au_find(f, "timing.overlap");
    assert_int_equal(g->turn, 2);
    tu_str_eq("message", g->message.ptr, g->message.len,
              "turn 2 started at 2026-01-15T09:01:00Z, 10 s (10000 ms) before turn 1 ended "
              "(2026-01-15T09:01:10Z): concurrent requests in one session (double submit, retry, "
              "or two conversations sharing an id)");
    ms_findings_free(f);
    free(a);
}

static void test_out_of_order(void **state)
{
    (void)state;
    struct au_session *a = session(3);
    for (size_t i = 0; i < 3; i++) {
        ms_span *r = au_span(a, i, "00000000000000a1", "", "root", "CHAIN", MS_STATUS_OK);
        r->end_ns = r->start_ns + 900000000;
        au_span(a, i, "00000000000000a2", "00000000000000a1", "llm", "CHAT_MODEL", MS_STATUS_OK);
    }
    ms_findings *f = au_analyze(&a->s, "timing.out_of_order");
    assert_int_equal(ms_findings_count(f), 0);
    ms_findings_free(f);

    a->spans[0][1].end_ns = a->spans[0][1].start_ns - 5; /* ends before it starts */
    a->spans[1][1].start_ns -= 3000000000;               /* 3 s before trace and parent */
    a->spans[2][1].end_ns += 2000000000;                 /* after its parent and the trace */
    f = au_analyze(&a->s, "timing.out_of_order");
    assert_int_equal(ms_findings_count(f), 3);
    static const char *const want[] = {
        "span llm ends 5 ns before it starts: clock skew between processes or a broken "
        "exporter; durations of this turn are unreliable",
        "span llm starts 2999 ms before its trace (1768467660000 ms): clock skew between "
        "processes or a broken exporter; durations of this turn are unreliable",
        "span llm ends 1002 ms after its trace ended: clock skew between processes or a broken "
        "exporter; durations of this turn are unreliable",
    };
    for (size_t i = 0; i < 3; i++) {
        const ms_finding *g = ms_findings_at(f, i);
        assert_int_equal(g->turn, (int64_t)i + 1);
        tu_str_eq(want[i], g->message.ptr, g->message.len, want[i]);
        tu_str_eq("span", g->span_id.ptr, g->span_id.len, "00000000000000a2");
        tu_str_eq("path", g->path.ptr, g->path.len, "spans[1]");
    }
    ms_findings_free(f);
    free(a);

    /* a trace that ends before it starts */
    a = session(2);
    a->traces[1].info.execution_duration_ms = -20;
    a->turns[1].latency_ms = -20;
    f = au_analyze(&a->s, "timing.out_of_order");
    assert_int_equal(ms_findings_count(f), 1);
    const ms_finding *g = au_find(f, "timing.out_of_order");
    tu_str_eq("negative", g->message.ptr, g->message.len,
              "the trace ends 20 ms before it starts: clock skew between processes or a broken "
              "exporter; durations of this turn are unreliable");
    tu_str_eq("path", g->path.ptr, g->path.len, "info.execution_duration_ms");
    assert_null(g->span_id.ptr);
    ms_findings_free(f);
    free(a);
}

static void test_stuck(void **state)
{
    (void)state;
    struct au_session *a = session(3);
    /* turn 2 never finished, and turn 3 started after it */
    a->traces[1].info.state = MS_STATE_IN_PROGRESS;
    a->traces[1].info.has_execution_duration = false;
    a->turns[1].latency_ms = -1;
    ms_span *sp = au_span(a, 1, "00000000000000b2", "00000000000000b1", "llm_generate",
                          "CHAT_MODEL", MS_STATUS_OK);
    sp->end_ns = sp->start_ns + 754000000;
    ms_findings *f = au_analyze(&a->s, "timing");
    assert_int_equal(au_count(f, "timing.stuck", -1), 1);
    const ms_finding *g = au_find(f, "timing.stuck");
    assert_int_equal(g->turn, 2);
    assert_int_equal(g->severity, MS_SEV_ERROR);
    tu_str_eq("older", g->message.ptr, g->message.len,
              "turn 2 never finished: trace IN_PROGRESS, no root span, 1 span recorded, the last "
              "ended 754 ms after the request, no response; later turns started after it: the "
              "worker died or the trace was never closed");
    ms_findings_free(f);
    free(a);

    /* the newest turn, its root span open: may still be running */
    a = session(2);
    a->traces[1].info.state = MS_STATE_IN_PROGRESS;
    a->traces[1].info.has_execution_duration = false;
    a->turns[1].latency_ms = -1;
    ms_span *r = au_span(a, 1, "00000000000000c1", "", "chat", "CHAIN", MS_STATUS_UNSET);
    r->has_end = false;
    f = au_analyze(&a->s, "timing");
    g = au_find(f, "timing.stuck");
    assert_int_equal(g->turn, 2);
    tu_str_eq("newest", g->message.ptr, g->message.len,
              "turn 2 never finished: trace IN_PROGRESS, root span open, 1 span recorded, none "
              "ended, no response; it is the newest turn: it may still be running if the session "
              "is live, else the worker died before the root span ended");
    ms_findings_free(f);
    free(a);
}

static void test_latency_outlier(void **state)
{
    (void)state;
    struct au_session *a = session(5);
    static const int64_t lat[] = {920, 30333, 967, 1280, 514};
    a->traces[1].info.state = MS_STATE_ERROR;
    for (size_t i = 0; i < 5; i++)
        set_latency(a, i, lat[i]);
    ms_span *r = au_span(a, 1, "00000000000000d1", "", "agent", "AGENT", MS_STATUS_ERROR);
    r->end_ns = r->start_ns + 30333000000;
    ms_span *slow = au_span(a, 1, "00000000000000d2", "00000000000000d1", "call_llm",
                            "CHAT_MODEL", MS_STATUS_ERROR);
    slow->end_ns = slow->start_ns + 30000000000;
    ms_findings *f = au_analyze(&a->s, "timing.latency_outlier");
    assert_int_equal(ms_findings_count(f), 1);
    const ms_finding *g = au_find(f, "timing.latency_outlier");
    assert_int_equal(g->turn, 2);
    tu_str_eq("message", g->message.ptr, g->message.len,
              "turn 2 took 30.3 s (30333 ms), 31x the session's median 967 ms over 5 finished "
              "turns; slowest span call_llm took 30 s; the turn failed");
    tu_str_eq("span", g->span_id.ptr, g->span_id.len, "00000000000000d2");
    ms_findings_free(f);
    free(a);

    /* floors: 20x the median but only 1.9 s slower; too few turns */
    static const struct {
        size_t n;
        int64_t lat[5];
    } quiet[] = {
        {5, {100, 100, 2000, 100, 100}},
        {2, {1000, 60000, 0, 0, 0}},
        {5, {4000, 6000, 9000, 12000, 5000}}, /* a slow app, no outlier */
    };
    for (size_t k = 0; k < TU_COUNT(quiet); k++) {
        a = session(quiet[k].n);
        for (size_t i = 0; i < quiet[k].n; i++)
            set_latency(a, i, quiet[k].lat[i]);
        f = au_analyze(&a->s, "timing.latency_outlier");
        tu_i64_eq("quiet", (int64_t)ms_findings_count(f), 0);
        ms_findings_free(f);
        free(a);
    }
}

static void test_long_session(void **state)
{
    (void)state;
    struct au_session *a = session(3);
    shift(a, 2, 40 * 60000);
    ms_findings *f = au_analyze(&a->s, "timing.long_session");
    const ms_finding *g = au_find(f, "timing.long_session");
    assert_int_equal(g->turn, 0);
    assert_int_equal(g->severity, MS_SEV_INFO);
    tu_str_eq("user", g->message.ptr, g->message.len,
              "session lasted 42 min over 3 turns: idle 42 min (99%), busy 3 s (0%); long "
              "because of the user: the longest pause was 41 min before turn 3");
    ms_findings_free(f);
    free(a);

    a = session(2);
    set_latency(a, 0, 59000);
    set_latency(a, 1, 40 * 60000);
    f = au_analyze(&a->s, "timing.long_session");
    g = au_find(f, "timing.long_session");
    tu_str_eq("app", g->message.ptr, g->message.len,
              "session lasted 41 min over 2 turns: idle 1 s (0%), busy 41 min (99%); long "
              "because of the app: the turns themselves took most of the time");
    ms_findings_free(f);
    free(a);

    a = session(5);
    f = au_analyze(&a->s, "timing");
    assert_int_equal(ms_findings_count(f), 0);
    ms_findings_free(f);
    free(a);
}

/* Times at the int64 edges: no overflow (UBSan builds trap on one), and
 * the impossible spans are told. */
static void test_int64_edges(void **state)
{
    (void)state;
    struct au_session *a = session(4);
    ms_span *r = au_span(a, 0, "00000000000000e1", "", "root", "CHAIN", MS_STATUS_OK);
    r->start_ns = INT64_MIN;
    r->end_ns = INT64_MAX;
    ms_span *k = au_span(a, 0, "00000000000000e2", "00000000000000e1", "llm", "LLM", MS_STATUS_OK);
    k->start_ns = INT64_MAX;
    k->end_ns = INT64_MIN;
    a->traces[1].info.request_time_ms = INT64_MAX;
    a->turns[1].start_ms = INT64_MAX;
    a->turns[1].gap_ms = INT64_MAX;
    a->turns[1].latency_ms = INT64_MAX;
    a->traces[1].info.execution_duration_ms = INT64_MAX;
    a->turns[2].gap_ms = INT64_MIN;
    a->turns[3].latency_ms = INT64_MAX;
    a->turns[3].start_ms = INT64_MIN;
    ms_findings *f = au_analyze(&a->s, "timing");
    assert_true(au_count(f, "timing.out_of_order", 1) == 1);
    assert_true(au_count(f, "timing.idle_gap", 2) == 1);
    for (size_t i = 0; i < ms_findings_count(f); i++)
        assert_true(ms_findings_at(f, i)->message.len > 0);
    ms_findings_free(f);
    free(a);
}

/* ---- the fixture store ------------------------------------------------------ */

static void test_fixture_faults(void **state)
{
    (void)state;
    ms_store *st;
    ms_session *s = au_load(&st, "sess-idle-gap");
    if (!s)
        skip();
    ms_findings *f = au_analyze(s, "timing");
    assert_int_equal(au_count(f, "timing.idle_gap", -1), 1);
    const ms_finding *g = au_find(f, "timing.idle_gap");
    assert_int_equal(g->turn, 4);
    tu_str_eq("fault d", g->message.ptr, g->message.len,
              "idle 41.3 min (2480040 ms) before turn 4, over the 30 min threshold: turn 3 ended "
              "at 2026-01-15T10:17:19.863Z, turn 4 started at 2026-01-15T10:58:39.903Z; the "
              "session may really be two");
    assert_int_equal(au_count(f, "timing.long_session", 0), 1);
    ms_findings_free(f);
    ms_session_free(s);
    ms_store_close(st);

    s = au_load(&st, "sess-crash");
    f = au_analyze(s, "timing");
    assert_int_equal(ms_findings_count(f), 1);
    g = au_find(f, "timing.stuck");
    assert_int_equal(g->turn, 3);
    assert_int_equal(g->severity, MS_SEV_ERROR);
    ms_findings_free(f);
    ms_session_free(s);
    ms_store_close(st);

    s = au_load(&st, "sess-errors");
    f = au_analyze(s, "timing");
    assert_int_equal(ms_findings_count(f), 1);
    assert_int_equal(au_count(f, "timing.latency_outlier", 2), 1);
    ms_findings_free(f);
    ms_session_free(s);
    ms_store_close(st);
}

static void test_fixture_clean(void **state)
{
    (void)state;
    static const char *const clean[] = {
        "sess-happy-rag", "sess-openai",       "sess-rag-outdated",
        "sess-tool-loop", "sess-history-drop", "sess-http-wrapper",
        "sess-tag-only",  "conv-7f3c2a9e",     "3e1f5b7a-9c2d-4e8f-a1b6-7d9c0e2f4a58",
        "sess-corrections", "sess-unicode"};
    for (size_t k = 0; k < TU_COUNT(clean); k++) {
        ms_store *st;
        ms_session *s = au_load(&st, clean[k]);
        if (!s)
            skip();
        ms_findings *f = au_analyze(s, "timing");
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
        cmocka_unit_test(test_idle_gap),        cmocka_unit_test(test_overlap),
        cmocka_unit_test(test_out_of_order),    cmocka_unit_test(test_stuck),
        cmocka_unit_test(test_latency_outlier), cmocka_unit_test(test_long_session),
        cmocka_unit_test(test_int64_edges),     cmocka_unit_test(test_fixture_faults),
        cmocka_unit_test(test_fixture_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
