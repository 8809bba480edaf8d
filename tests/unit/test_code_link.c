/* SPDX-License-Identifier: MIT
 *
 * Links from sessions to code (src/code/link.c) on the fixture store and
 * the fixture application (tools/fixtures/, the tree under test): the
 * retriever search_kb of sess-rag-outdated and its root cause, every frame
 * of sess-errors' real tracebacks through /tmp/acme-support/app.py (mapped
 * by path suffix and checked against the recorded source lines), the
 * history reset behind sess-history-drop, the context code behind
 * sess-context-overflow, where the session id is set and the gap of
 * sess-tag-only. Then frames of Java, Node and Go traces and a file that
 * changed since the trace, on synthetic sessions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mlsession/code.h"
#include "mlsession/store.h"
#include "testutil.h"

#define STORE MS_SOURCE_DIR "/tests/fixtures/sqlite/mlflow.db"
#define APP MS_SOURCE_DIR "/tools/fixtures"

static ms_code_index *g_idx;
static ms_store *g_store;

static int setup(void **state)
{
    (void)state;
    struct ms_error err = {0};
    if (ms_code_scan(APP, NULL, &g_idx, &err) != MS_OK)
        return -1;
    if (ms_store_open(STORE, &g_store, &err) != MS_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ms_code_index_free(g_idx);
    ms_store_close(g_store);
    return 0;
}

/* The line of app.py holding `needle` (the first), from 1. */
static int64_t app_line(const char *needle)
{
    char *text = tu_read_file(APP "/app.py", NULL);
    char *hit = strstr(text, needle);
    assert_non_null(hit);
    int64_t line = 1;
    for (char *p = text; p < hit; p++)
        line += *p == '\n';
    free(text);
    return line;
}

struct linked {
    ms_findings *f;
    ms_code_links *l;
};

static struct linked link_session(const char *sid)
{
    struct ms_error err = {0};
    ms_session *s = NULL;
    if (ms_session_load(g_store, NULL, 0, sid, &s, &err) != MS_OK)
        fail_msg("%s: %s", sid, err.msg);
    struct ms_analyze_options o;
    ms_analyze_options_init(&o);
    struct linked r = {0};
    assert_int_equal(ms_analyze_session(s, &o, &r.f, &err), MS_OK);
    assert_int_equal(ms_code_link(g_idx, s, r.f, &r.l, &err), MS_OK);
    ms_session_free(s);
    return r;
}

static void unlink_session(struct linked *r)
{
    ms_findings_free(r->f);
    ms_code_links_free(r->l);
}

static bool is(ms_str s, const char *z)
{
    return s.len == strlen(z) && memcmp(s.ptr, z, s.len) == 0;
}

/* Does s contain z? */
static const char *has(ms_str s, const char *z)
{
    size_t n = strlen(z);
    for (size_t i = 0; i + n <= s.len; i++)
        if (memcmp(s.ptr + i, z, n) == 0)
            return s.ptr + i;
    return NULL;
}

/* The link of that kind to file:line under a finding of `rule` (NULL:
 * session-wide), or NULL. */
static const ms_code_ref *find(const struct linked *r, const char *rule, ms_code_kind kind,
                               const char *file, int64_t line)
{
    for (size_t i = 0; i < ms_code_links_count(r->l); i++) {
        const ms_code_ref *k = ms_code_links_at(r->l, i);
        if (k->kind != kind || k->line != line || !is(k->file, file))
            continue;
        if (!rule && k->finding == -1)
            return k;
        if (rule && k->finding >= 0 &&
            strcmp(ms_findings_at(r->f, (size_t)k->finding)->rule, rule) == 0)
            return k;
    }
    return NULL;
}

static void test_rag_outdated_retriever(void **state)
{
    (void)state;
    struct linked r = link_session("sess-rag-outdated");
    int64_t kb = app_line("@mlflow.trace(name=\"search_kb\"");
    const ms_code_ref *k = find(&r, "cause.root", MS_CODE_SPAN, "app.py", kb);
    assert_non_null(k);
    assert_int_equal(k->confidence, MS_CONF_HIGH);
    assert_true(is(k->subject, "search_kb"));
    assert_non_null(find(&r, "assessment.failing", MS_CODE_SPAN, "app.py", kb));
    /* app_shapes.py defines a search_kb too: kept, but low */
    bool other = false;
    for (size_t i = 0; i < ms_code_links_count(r.l); i++) {
        const ms_code_ref *x = ms_code_links_at(r.l, i);
        if (is(x->file, "app_shapes.py") && is(x->subject, "search_kb")) {
            other = true;
            assert_int_equal(x->confidence, MS_CONF_LOW);
        }
    }
    assert_true(other);
    /* the session id: the metadata dict in set_session */
    k = find(&r, NULL, MS_CODE_SESSION_ID, "app.py", app_line("md = {\"mlflow.trace.session\""));
    assert_non_null(k);
    assert_int_equal(k->confidence, MS_CONF_HIGH);
    /* spans of the session, session-wide */
    assert_non_null(find(&r, NULL, MS_CODE_SPAN, "app.py", app_line("@mlflow.trace(name=\"rag_answer\"")));
    assert_non_null(find(&r, NULL, MS_CODE_SPAN, "app.py",
                         app_line("mlflow.start_span(name=\"generate_answer\"")));
    unlink_session(&r);
}

static void test_errors_frames(void **state)
{
    (void)state;
    struct linked r = link_session("sess-errors");
    /* turn 2: UpstreamTimeoutError raised in complete, called from _call_model */
    const ms_code_ref *k = find(&r, "error.trace", MS_CODE_FRAME, "app.py", 317);
    assert_non_null(k);
    assert_int_equal(k->confidence, MS_CONF_HIGH);
    assert_true(is(k->text, "raise exc"));
    assert_non_null(has(k->reason, "recorded as /tmp/acme-support/app.py"));
    assert_non_null(has(k->reason, "the line holds the recorded source"));
    k = find(&r, "error.trace", MS_CODE_FRAME, "app.py", 589);
    assert_non_null(k);
    assert_int_equal(k->confidence, MS_CONF_HIGH);
    /* turn 3: the caught RateLimitError */
    assert_non_null(find(&r, "error.span", MS_CODE_FRAME, "app.py", 317));
    /* turn 4: the tool's own raise, and the tool's definition */
    k = find(&r, "error.tool", MS_CODE_FRAME, "app.py", 226);
    assert_non_null(k);
    assert_int_equal(k->confidence, MS_CONF_HIGH);
    k = find(&r, "error.tool", MS_CODE_TOOL, "app.py", app_line("def update_address("));
    assert_non_null(k);
    assert_int_equal(k->confidence, MS_CONF_HIGH);
    /* the outer frames of the root span's copy, session-wide, once */
    assert_non_null(find(&r, NULL, MS_CODE_FRAME, "app.py", 567));
    assert_null(find(&r, NULL, MS_CODE_FRAME, "app.py", 317));
    /* every frame in app.py was linked; the venv's were not */
    size_t linked = 0, frames = ms_code_links_frames(r.l, &linked);
    assert_true(frames > linked);
    assert_true(linked >= 9);
    for (size_t i = 0; i < ms_code_links_count(r.l); i++) {
        const ms_code_ref *x = ms_code_links_at(r.l, i);
        if (x->kind == MS_CODE_FRAME)
            assert_true(is(x->file, "app.py"));
    }
    unlink_session(&r);
}

static void test_history_and_context(void **state)
{
    (void)state;
    struct linked r = link_session("sess-history-drop");
    const ms_code_ref *k =
        find(&r, "integrity.history_dropped", MS_CODE_MEMORY, "app.py", app_line("self.history = []"));
    assert_non_null(k);
    assert_int_equal(k->confidence, MS_CONF_MEDIUM);
    /* the constructors' empty histories are not evidence */
    assert_null(find(&r, "integrity.history_dropped", MS_CODE_MEMORY, "app.py",
                     app_line("self.history: list[dict] = []")));
    unlink_session(&r);

    r = link_session("sess-context-overflow");
    assert_non_null(find(&r, "context.window", MS_CODE_CONTEXT, "app.py", app_line("rest.pop(0)")));
    assert_non_null(
        find(&r, "context.window", MS_CODE_CONTEXT, "app.py", app_line("def count_tokens(")));
    assert_non_null(find(&r, "cause.root", MS_CODE_CONTEXT, "app.py", app_line("rest.pop(0)")));
    unlink_session(&r);
}

static void test_session_id_gap(void **state)
{
    (void)state;
    struct linked r = link_session("sess-tag-only");
    bool gap = false;
    for (size_t i = 0; i < ms_code_links_count(r.l); i++) {
        const ms_code_ref *k = ms_code_links_at(r.l, i);
        if (k->kind == MS_CODE_SESSION_ID && !k->file.len) {
            gap = true;
            assert_string_equal(k->detector, "gap");
            assert_non_null(has(k->reason, "tag, not metadata"));
        }
    }
    assert_true(gap);
    const ms_code_ref *k =
        find(&r, NULL, MS_CODE_SESSION_ID, "app.py", app_line("tags = {\"mlflow.trace.session\""));
    assert_non_null(k);
    assert_int_equal(k->confidence, MS_CONF_HIGH);
    unlink_session(&r);
}

/* ---- synthetic sessions: other runtimes ------------------------------------- */

#define S(lit) {lit, sizeof(lit) - 1}

static ms_code_links *link_trace(ms_code_index *idx, const char *stack)
{
    ms_attr ea[2] = {{S("exception.type"), S("Boom"), MS_VAL_STRING},
                     {S("exception.stacktrace"), {stack, strlen(stack)}, MS_VAL_STRING}};
    ms_event ev = {S("exception"), 1, ea, 2};
    ms_span sp = {0};
    memcpy(sp.span_id, "00000000000000a1", 17);
    sp.name = (ms_str)S("step");
    sp.events = &ev;
    sp.n_events = 1;
    ms_trace t = {0};
    t.info.trace_id = (ms_str)S("tr-1");
    t.spans = &sp;
    t.n_spans = 1;
    const ms_trace *tp = &t;
    ms_session *s = NULL;
    struct ms_error err = {0};
    assert_int_equal(ms_session_build(&tp, 1, &s, &err), MS_OK);
    ms_code_links *l = NULL;
    assert_int_equal(ms_code_link(idx, s, NULL, &l, &err), MS_OK);
    ms_session_free(s);
    return l;
}

static const ms_code_ref *frame_at(const ms_code_links *l, const char *file, int64_t line)
{
    for (size_t i = 0; i < ms_code_links_count(l); i++) {
        const ms_code_ref *k = ms_code_links_at(l, i);
        if (k->kind == MS_CODE_FRAME && k->line == line && is(k->file, file))
            return k;
    }
    return NULL;
}

static void test_other_runtimes(void **state)
{
    (void)state;
    ms_code_index *idx = NULL;
    struct ms_error err = {0};
    assert_int_equal(ms_code_scan(MS_SOURCE_DIR "/tests/fixtures/code/positive", NULL, &idx, &err),
                     MS_OK);
    /* Java: the package names the folder */
    ms_code_links *l = link_trace(idx, "java.lang.IllegalStateException: boom\n"
                                       "\tat com.acme.Agent.lookupOrder(Agent.java:22)\n"
                                       "\tat com.acme.Agent.handle(Agent.java:17)\n");
    const ms_code_ref *k = frame_at(l, "com/acme/Agent.java", 22);
    assert_non_null(k);
    if (k->confidence != MS_CONF_HIGH)
        fail_msg("%.*s | %.*s", (int)k->reason.len, k->reason.ptr, (int)k->subject.len, k->subject.ptr);
    assert_int_equal(k->confidence, MS_CONF_HIGH);
    assert_int_equal(k->frame, 1);
    assert_non_null(frame_at(l, "com/acme/Agent.java", 17));
    ms_code_links_free(l);
    /* Node */
    l = link_trace(idx, "Error: boom\n    at handle (/srv/app/dist/../agent.ts:15:20)\n"
                        "    at /srv/app/agent.ts:16:5\n    at node:internal/x:1:1\n");
    k = frame_at(l, "agent.ts", 15);
    assert_non_null(k);
    assert_int_equal(k->confidence, MS_CONF_MEDIUM); /* by file name, inside handle */
    ms_code_links_free(l);
    /* Go */
    l = link_trace(idx, "goroutine 1 [running]:\nagent.Handle(0x1, 0x2)\n"
                        "\t/home/ci/src/agent/agent.go:17 +0x1d\n");
    k = frame_at(l, "agent.go", 17);
    assert_non_null(k);
    assert_int_equal(k->frame, 1);
    ms_code_links_free(l);
    /* Python, but the file changed: the recorded line is elsewhere now */
    l = link_trace(idx, "Traceback (most recent call last):\n"
                        "  File \"/opt/x/agent.py\", line 23, in answer\n"
                        "    recent = history[-99:]\n"
                        "  File \"/opt/x/nowhere.py\", line 2, in f\n"
                        "    pass\n");
    k = frame_at(l, "agent.py", 23);
    assert_non_null(k);
    assert_int_equal(k->confidence, MS_CONF_LOW);
    assert_non_null(has(k->reason, "changed"));
    size_t linked = 0;
    assert_int_equal(ms_code_links_frames(l, &linked), 2);
    assert_int_equal(linked, 1);
    /* JSON form */
    char *js = NULL;
    size_t n = 0;
    assert_int_equal(ms_code_link_to_json(k, &js, &n), MS_OK);
    assert_non_null(strstr(js, "\"kind\": \"frame\""));
    assert_non_null(strstr(js, "\"confidence\": \"low\""));
    assert_non_null(strstr(js, "\"file\": \"agent.py\","));
    assert_non_null(strstr(js, "\"line\": 23,"));
    free(js);
    /* the text lines for a report */
    assert_int_equal(ms_code_links_format(l, -1, "  ", 0, &js, &n), MS_OK);
    assert_non_null(strstr(js, "  code: agent.py:23  frame"));
    free(js);
    assert_int_equal(ms_code_links_format(l, 0, "  ", 0, &js, &n), MS_OK);
    assert_int_equal(n, 0);
    free(js);
    ms_code_links_free(l);
    ms_code_index_free(idx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rag_outdated_retriever),
        cmocka_unit_test(test_errors_frames),
        cmocka_unit_test(test_history_and_context),
        cmocka_unit_test(test_session_id_gap),
        cmocka_unit_test(test_other_runtimes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
