/* SPDX-License-Identifier: MIT
 *
 * Unit tests for the findings core (src/analyze/findings.c, rules.c):
 * strings copied so findings outlive the session, excerpts on one line and
 * cut on a code point, the report order, the stable JSON form, rule
 * selection by id, family and analyzer, and ms_analyze_session's plumbing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analyze/findings_int.h"
#include "testutil.h"
#include "analyze_util.h"

struct core {
    struct au_session *a;
    ms_findings *f;
    struct msi_ctx c;
};

static void core_init(struct core *k)
{
    k->a = au_new("sess-1");
    au_turn(k->a, MS_STATE_OK, "hi", "hello");
    au_turn(k->a, MS_STATE_OK, "and?", "well");
    au_turn(k->a, MS_STATE_OK, "so", "so");
    k->f = msi_findings_new();
    assert_non_null(k->f);
    memset(&k->c, 0, sizeof k->c);
    k->c.s = &k->a->s;
    k->c.out = k->f;
}

static void core_free(struct core *k)
{
    ms_findings_free(k->f);
    free(k->a);
}

static const ms_str NONE = {NULL, 0};

static void test_add_copies(void **state)
{
    (void)state;
    struct core k;
    core_init(&k);
    char span[] = "00000000000000aa";
    char path[] = "spans[0].events[0]";
    char ex[] = "the evidence";
    ms_finding *f = msi_finding_add(&k.c, "error.span", MS_SEV_WARN, &k.a->turns[1], au_s(span),
                                    au_s(path), au_s(ex), "span %s failed: %d", "x", 42);
    assert_non_null(f);
    memset(span, 'z', sizeof span - 1);
    memset(path, 'z', sizeof path - 1);
    memset(ex, 'z', sizeof ex - 1);
    const ms_finding *g = ms_findings_at(k.f, 0);
    assert_string_equal(g->rule, "error.span");
    assert_int_equal(g->severity, MS_SEV_WARN);
    tu_str_eq("session", g->session_id.ptr, g->session_id.len, "sess-1");
    assert_int_equal(g->turn, 2);
    tu_str_eq("trace", g->trace_id.ptr, g->trace_id.len, k.a->trace_ids[1]);
    tu_str_eq("span", g->span_id.ptr, g->span_id.len, "00000000000000aa");
    tu_str_eq("path", g->path.ptr, g->path.len, "spans[0].events[0]");
    tu_str_eq("excerpt", g->excerpt.ptr, g->excerpt.len, "the evidence");
    tu_str_eq("message", g->message.ptr, g->message.len, "span x failed: 42");
    assert_int_equal(g->n_chain, 0);
    core_free(&k);
}

static void test_add_whole_session(void **state)
{
    (void)state;
    struct core k;
    core_init(&k);
    assert_non_null(msi_finding_add(&k.c, "timing.long_session", MS_SEV_INFO, NULL, NONE, NONE,
                                    NONE, "long"));
    const ms_finding *g = ms_findings_at(k.f, 0);
    assert_int_equal(g->turn, 0);
    assert_null(g->trace_id.ptr);
    assert_null(g->span_id.ptr);
    assert_null(g->path.ptr);
    assert_null(g->excerpt.ptr);
    core_free(&k);
}

static void test_excerpt_one_line_and_cut(void **state)
{
    (void)state;
    struct core k;
    core_init(&k);
    /* whitespace runs become one space, ends trimmed */
    msi_finding_add(&k.c, "x.a", MS_SEV_INFO, NULL, NONE, NONE, au_s("  a\n\n b\t\tc  "), "m\nn");
    const ms_finding *g = ms_findings_at(k.f, 0);
    tu_str_eq("collapsed", g->excerpt.ptr, g->excerpt.len, "a b c");
    tu_str_eq("message one line", g->message.ptr, g->message.len, "m n");

    /* 300 bytes of 2-byte characters: cut to <= 200 bytes on a boundary */
    char big[301];
    for (int i = 0; i < 300; i += 2) {
        big[i] = (char)0xc3;
        big[i + 1] = (char)0xbc; /* u-umlaut */
    }
    big[300] = '\0';
    msi_finding_add(&k.c, "x.b", MS_SEV_INFO, NULL, NONE, NONE, au_s(big), "m");
    g = ms_findings_at(k.f, 1);
    assert_true(g->excerpt.len <= 200);
    assert_true(g->excerpt.len > 190);
    assert_memory_equal(g->excerpt.ptr + g->excerpt.len - 3, "...", 3);
    size_t body = g->excerpt.len - 3;
    assert_int_equal(body % 2, 0); /* never half a character */
    assert_int_equal((unsigned char)g->excerpt.ptr[body - 2], 0xc3);

    /* a long message is cut on a code point too */
    char odd[602];
    odd[0] = 'x';
    for (int i = 1; i < 601; i += 2) {
        odd[i] = (char)0xc3;
        odd[i + 1] = (char)0xbc;
    }
    odd[601] = '\0';
    msi_finding_add(&k.c, "x.m", MS_SEV_INFO, NULL, NONE, NONE, NONE, "%s", odd);
    g = ms_findings_at(k.f, 1 + 1);
    assert_true(g->message.len <= 400 && g->message.len >= 396);
    assert_int_equal((g->message.len - 1) % 2, 0);
    assert_int_equal((unsigned char)g->message.ptr[g->message.len - 2], 0xc3);

    /* exactly 200 ASCII bytes stay whole */
    char two[201];
    memset(two, 'a', 200);
    two[200] = '\0';
    msi_finding_add(&k.c, "x.c", MS_SEV_INFO, NULL, NONE, NONE, au_s(two), "m");
    g = ms_findings_at(k.f, 3);
    assert_int_equal(g->excerpt.len, 200);
    assert_int_equal(g->excerpt.ptr[199], 'a');
    core_free(&k);
}

static void test_link_chain(void **state)
{
    (void)state;
    struct core k;
    core_init(&k);
    ms_finding *f = msi_finding_add(&k.c, "cause.root", MS_SEV_ERROR, &k.a->turns[0], NONE, NONE,
                                    NONE, "root");
    assert_non_null(f);
    assert_true(msi_finding_link(&k.c, f, &k.a->turns[0], au_s("00000000000000bb"),
                                 au_s("spans[1]"), au_s("kb-101  outdated"), "retrieved"));
    assert_true(msi_finding_link(&k.c, f, &k.a->turns[2], NONE, NONE, NONE, "repeated"));
    const ms_finding *g = ms_findings_at(k.f, 0);
    assert_int_equal(g->n_chain, 2);
    assert_int_equal(g->chain[0].turn, 1);
    tu_str_eq("why", g->chain[0].why.ptr, g->chain[0].why.len, "retrieved");
    tu_str_eq("excerpt", g->chain[0].excerpt.ptr, g->chain[0].excerpt.len, "kb-101 outdated");
    tu_str_eq("trace", g->chain[1].trace_id.ptr, g->chain[1].trace_id.len, k.a->trace_ids[2]);
    assert_int_equal(g->chain[1].turn, 3);
    assert_null(g->chain[1].span_id.ptr);
    core_free(&k);
}

static void test_sort(void **state)
{
    (void)state;
    struct core k;
    core_init(&k);
    const ms_turn *t = k.a->turns;
    msi_finding_add(&k.c, "loop.answer", MS_SEV_WARN, &t[2], NONE, NONE, NONE, "1");
    msi_finding_add(&k.c, "error.trace", MS_SEV_ERROR, &t[2], NONE, NONE, NONE, "2");
    msi_finding_add(&k.c, "context.largest", MS_SEV_INFO, &t[0], NONE, NONE, NONE, "3");
    msi_finding_add(&k.c, "error.span", MS_SEV_WARN, &t[1], NONE, NONE, NONE, "4");
    msi_finding_add(&k.c, "cause.root", MS_SEV_ERROR, &t[1], NONE, NONE, NONE, "5");
    msi_finding_add(&k.c, "error.span", MS_SEV_WARN, &t[2], NONE, NONE, NONE, "6");
    msi_finding_add(&k.c, "error.span", MS_SEV_WARN, &t[1], NONE, NONE, NONE, "7");
    msi_finding_add(&k.c, "error.degraded", MS_SEV_WARN, &t[2], NONE, NONE, NONE, "8");
    msi_findings_sort(k.f);
    const char *want = "52478613";
    assert_int_equal(ms_findings_count(k.f), 8);
    for (size_t i = 0; i < 8; i++) {
        const ms_finding *g = ms_findings_at(k.f, i);
        if (g->message.ptr[0] != want[i])
            fail_msg("position %zu: got %s, want message %c", i, g->rule, want[i]);
    }
    assert_int_equal(ms_findings_max_severity(k.f), MS_SEV_ERROR);
    core_free(&k);
}

static void test_max_severity_empty(void **state)
{
    (void)state;
    ms_findings *f = msi_findings_new();
    assert_int_equal(ms_findings_max_severity(f), -1);
    assert_int_equal(ms_findings_count(f), 0);
    assert_null(ms_findings_at(f, 0));
    ms_findings_free(f);
    ms_findings_free(NULL);
    assert_int_equal(ms_findings_max_severity(NULL), -1);
}

static void test_json_form(void **state)
{
    (void)state;
    struct core k;
    core_init(&k);
    ms_finding *f = msi_finding_add(&k.c, "cause.root", MS_SEV_ERROR, &k.a->turns[2],
                                    au_s("00000000000000cc"), au_s("spans[0].events[0]"),
                                    au_s("say \"hi\"\x1b[31m"), "wrong at turn %d", 3);
    msi_finding_link(&k.c, f, &k.a->turns[0], NONE, NONE, NONE, "started here");
    msi_finding_add(&k.c, "timing.long_session", MS_SEV_INFO, NULL, NONE, NONE, NONE, "long");
    char *js = NULL;
    size_t len = 0;
    assert_int_equal(ms_finding_to_json(ms_findings_at(k.f, 0), &js, &len), MS_OK);
    tu_str_eq("json", js, len,
              "{\"rule\":\"cause.root\",\"severity\":\"error\",\"session_id\":\"sess-1\","
              "\"turn\":3,\"trace_id\":\"tr-00000000000000000000000000000003\","
              "\"span_id\":\"00000000000000cc\",\"path\":\"spans[0].events[0]\","
              "\"message\":\"wrong at turn 3\",\"excerpt\":\"say \\\"hi\\\"\\u001b[31m\","
              "\"chain\":[{\"turn\":1,\"trace_id\":\"tr-00000000000000000000000000000001\","
              "\"span_id\":null,\"path\":null,\"excerpt\":null,\"why\":\"started here\"}]}");
    free(js);
    assert_int_equal(ms_finding_to_json(ms_findings_at(k.f, 1), &js, &len), MS_OK);
    tu_str_eq("json session", js, len,
              "{\"rule\":\"timing.long_session\",\"severity\":\"info\",\"session_id\":\"sess-1\","
              "\"turn\":null,\"trace_id\":null,\"span_id\":null,\"path\":null,"
              "\"message\":\"long\",\"excerpt\":null,\"chain\":[]}");
    free(js);
    core_free(&k);
}

static void test_rule_selected(void **state)
{
    (void)state;
    struct ms_analyze_options o;
    ms_analyze_options_init(&o);
    assert_int_equal(o.version, 1);
    assert_int_equal(o.idle_gap_ms, 1800000);
    assert_null(o.model_windows);
    assert_true(msi_rule_selected(&o, "error.trace"));
    assert_true(msi_rule_selected(NULL, "loop.tool"));
    static const struct {
        const char *entry, *rule;
        bool want;
    } rows[] = {
        {"error.trace", "error.trace", true},  {"error.trace", "error.span", false},
        {"error", "error.span", true},         {"errors", "error.tool", true},
        {"loop", "loop.answer", true},         {"loops", "loop.tool", true},
        {"loops", "error.trace", false},       {"context", "context.window", true},
        {"context", "cause.root", false},      {"err", "error.trace", false},
        {"error.", "error.trace", false},      {"", "error.trace", false},
        {"timing", "timing.idle_gap", true},   {"cause", "cause.root", true},
    };
    for (size_t i = 0; i < TU_COUNT(rows); i++) {
        const char *list[1] = {rows[i].entry};
        o.rules = list;
        o.n_rules = 1;
        if (msi_rule_selected(&o, rows[i].rule) != rows[i].want)
            fail_msg("--rules %s, rule %s: want %d", rows[i].entry, rows[i].rule, rows[i].want);
    }
    const char *two[2] = {"loop.tool", "error"};
    o.rules = two;
    o.n_rules = 2;
    assert_true(msi_rule_selected(&o, "loop.tool"));
    assert_true(msi_rule_selected(&o, "error.degraded"));
    assert_false(msi_rule_selected(&o, "loop.error"));
}

static void test_registry(void **state)
{
    (void)state;
    size_t n = ms_rule_count();
    assert_true(n >= 7);
    assert_null(ms_rule_at(n));
    bool seen_trace = false, seen_loop = false;
    for (size_t i = 0; i < n; i++) {
        const ms_rule_info *r = ms_rule_at(i);
        assert_non_null(r);
        assert_non_null(strchr(r->id, '.'));
        assert_true(strlen(r->summary) > 10);
        for (size_t j = 0; j < i; j++)
            if (strcmp(ms_rule_at(j)->id, r->id) == 0)
                fail_msg("rule %s registered twice", r->id);
        if (strcmp(r->id, "error.trace") == 0) {
            seen_trace = true;
            assert_int_equal(r->severity, MS_SEV_ERROR);
            assert_string_equal(r->analyzer, "errors");
        }
        if (strcmp(r->id, "loop.tool") == 0)
            seen_loop = true;
    }
    assert_true(seen_trace && seen_loop);
    /* errors run first: its rules come first */
    assert_string_equal(ms_rule_at(0)->analyzer, "errors");
    assert_string_equal(ms_severity_name(MS_SEV_INFO), "info");
    assert_string_equal(ms_severity_name(MS_SEV_WARN), "warn");
    assert_string_equal(ms_severity_name(MS_SEV_ERROR), "error");
}

/* A session that trips error.trace, error.tool and loop.tool: the rule
 * selection keeps only what was asked for, and findings outlive it. */
static struct au_session *faulty(void)
{
    struct au_session *a = au_new("sess-f");
    au_turn(a, MS_STATE_ERROR, "look up A-1", NULL);
    ms_span *r = au_span(a, 0, "0000000000000001", "", "agent", "AGENT", MS_STATUS_ERROR);
    au_exception(a, 0, r, "Boom", "it broke", NULL);
    ms_span *l = au_span(a, 0, "0000000000000002", "0000000000000001", "llm", "CHAT_MODEL",
                         MS_STATUS_ERROR);
    au_exception(a, 0, l, "Boom", "it broke", NULL);
    au_turn(a, MS_STATE_OK, "again", "Here is your order.");
    ms_span *t1 = au_span(a, 1, "0000000000000010", "", "agent", "AGENT", MS_STATUS_OK);
    (void)t1;
    ms_span *c1 = au_span(a, 1, "0000000000000011", "0000000000000010", "lookup", "TOOL",
                          MS_STATUS_OK);
    au_io(a, 1, c1, "{\"id\": \"A-1\"}", "{\"ok\": true}");
    ms_span *c2 = au_span(a, 1, "0000000000000012", "0000000000000010", "lookup", "TOOL",
                          MS_STATUS_OK);
    au_io(a, 1, c2, "{\"id\":\"A-1\"}", "{\"ok\": true}");
    ms_span *c3 = au_span(a, 1, "0000000000000013", "0000000000000010", "lookup", "TOOL",
                          MS_STATUS_ERROR);
    au_exception(a, 1, c3, "Timeout", "slow", NULL);
    au_io(a, 1, c3, "{\"id\": \"A-1\"}", NULL);
    return a;
}

static void test_analyze_selection(void **state)
{
    (void)state;
    struct au_session *a = faulty();
    ms_findings *f = au_analyze(&a->s, NULL);
    assert_int_equal(au_count(f, "error.trace", 1), 1);
    assert_int_equal(au_count(f, "error.tool", 2), 1);
    assert_int_equal(au_count(f, "loop.tool", 2), 1);
    assert_int_equal(ms_findings_max_severity(f), MS_SEV_ERROR);
    /* the most severe first */
    assert_int_equal(ms_findings_at(f, 0)->severity, MS_SEV_ERROR);
    ms_findings_free(f);

    f = au_analyze(&a->s, "loop");
    assert_int_equal(au_count(f, NULL, -1), 1);
    assert_int_equal(au_count(f, "loop.tool", 2), 1);
    ms_findings_free(f);

    f = au_analyze(&a->s, "error.tool");
    assert_int_equal(au_count(f, NULL, -1), 1);
    const ms_finding *g = au_find(f, "error.tool");
    free(a); /* findings outlive the session */
    tu_str_eq("span", g->span_id.ptr, g->span_id.len, "0000000000000013");
    tu_str_eq("session", g->session_id.ptr, g->session_id.len, "sess-f");
    ms_findings_free(f);

    /* cause selected: the others run so it can read them, and are dropped */
    a = faulty();
    f = au_analyze(&a->s, "cause");
    for (size_t i = 0; i < ms_findings_count(f); i++)
        assert_string_equal(ms_findings_at(f, i)->rule, "cause.root");
    ms_findings_free(f);
    free(a);
}

static void test_analyze_empty(void **state)
{
    (void)state;
    struct au_session *a = au_new("empty");
    ms_findings *f = NULL;
    struct ms_error err = {MS_OK, -1, ""};
    assert_int_equal(ms_analyze_session(&a->s, NULL, &f, &err), MS_OK);
    assert_int_equal(ms_findings_count(f), 0);
    assert_int_equal(ms_findings_max_severity(f), -1);
    ms_findings_free(f);
    free(a);
    f = (ms_findings *)&err; /* overwritten with NULL */
    assert_int_equal(ms_analyze_session(NULL, NULL, &f, &err), MS_E_INVALID);
    assert_null(f);
    assert_int_equal(err.code, MS_E_INVALID);
}

/* docs/rules.md lists every registered rule (curl's test1477). */
static void test_docs_list_every_rule(void **state)
{
    (void)state;
    const char *path = MS_SOURCE_DIR "/docs/rules.md";
    if (!tu_file_exists(path))
        skip();
    char *doc = tu_read_file(path, NULL);
    for (size_t i = 0; i < ms_rule_count(); i++) {
        char want[96];
        snprintf(want, sizeof want, "[`%s`](rules/", ms_rule_at(i)->id);
        if (!strstr(doc, want))
            fail_msg("docs/rules.md does not list rule %s", ms_rule_at(i)->id);
    }
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_copies),
        cmocka_unit_test(test_add_whole_session),
        cmocka_unit_test(test_excerpt_one_line_and_cut),
        cmocka_unit_test(test_link_chain),
        cmocka_unit_test(test_sort),
        cmocka_unit_test(test_max_severity_empty),
        cmocka_unit_test(test_json_form),
        cmocka_unit_test(test_rule_selected),
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_analyze_selection),
        cmocka_unit_test(test_analyze_empty),
        cmocka_unit_test(test_docs_list_every_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
