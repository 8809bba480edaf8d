/* SPDX-License-Identifier: MIT
 *
 * The report: escaping for HTML, Markdown and URLs (escape.c), exact
 * chart arithmetic, and whole reports of the example store and the XSS
 * corpus written to memory (no markup from a trace survives, links only to
 * a web tracking server, the library writes only through the callback).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "mlsession/report.h"
#include "report/report_int.h"

static char *html_of(const char *s, size_t n, size_t max)
{
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_LINE);
    msi_html(&b, (ms_str){s, n}, max);
    msx_buf_adds(&b, "");
    return msx_buf_take(&b, NULL);
}

static void test_html_escape(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
        {"\"><img src=x onerror='a'>", "&quot;&gt;&lt;img src=x onerror=&#39;a&#39;&gt;"},
        {"a & b", "a &amp; b"},
        {"\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"},
        {"bell\a nul-free\x7f", "bell\\x07 nul-free\\x7f"},
        {"line\nnext\ttab", "line\nnext\ttab"},
        {"\xe2\x80\xae" "evil", "\\u202eevil"},       /* bidi override shown */
        {"\xc2\x85" "c1", "\\u0085c1"},                /* C1 control shown */
        {"bad \xff\xfe utf8", "bad \xef\xbf\xbd\xef\xbf\xbd utf8"},
        {"{{7*7}}", "{{7*7}}"},
        {"caf\xc3\xa9", "caf\xc3\xa9"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = html_of(cases[i].in, strlen(cases[i].in), 0);
        assert_non_null(got);
        assert_string_equal(got, cases[i].want);
        free(got);
    }
    /* a cut never splits a code point and says what was left out */
    char *got = html_of("ab\xc3\xa9xyz", 7, 3);
    assert_string_equal(got, "ab \xe2\x80\xa6 (5 more bytes)");
    free(got);
    char *pub = ms_html_escape("<b>", 3);
    assert_string_equal(pub, "&lt;b&gt;");
    free(pub);
}

static void test_md_and_url(void **state)
{
    (void)state;
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_LINE);
    const char *s = "| *x* [a](javascript:1) <b> `c` #h\n\x1b";
    msi_md(&b, msi_s(s), 0, true);
    msx_buf_adds(&b, "");
    assert_string_equal(b.ptr, "\\| \\*x\\* \\[a\\](javascript:1) &lt;b&gt; \\`c\\` \\#h<br>\\x1b");
    msx_buf_reset(&b);
    msi_url_component(&b, msi_s("tr-1 a/b?&\"<"));
    msx_buf_adds(&b, "");
    assert_string_equal(b.ptr, "tr-1%20a%2Fb%3F%26%22%3C");
    msx_buf_release(&b);
}

static void test_muldiv(void **state)
{
    (void)state;
    assert_int_equal(msi_muldiv(INT64_MAX, 1000, INT64_MAX), 1000);
    assert_int_equal(msi_muldiv(INT64_MAX - 1, 980, INT64_MAX), 979);
    assert_int_equal(msi_muldiv(5, 7, 0), 0);
    assert_int_equal(msi_muldiv(INT64_MAX, INT64_MAX, 1), INT64_MAX);
    assert_int_equal(msi_muldiv(1776556800123LL - 1776556800000LL, 980, 285000), 0);
}

struct sink {
    struct msx_buf b;
};

static ms_code to_buf(void *ctx, const char *p, size_t n)
{
    struct sink *s = ctx;
    msx_buf_add(&s->b, p, n);
    return msx_buf_status(&s->b);
}

static ms_code fail_write(void *ctx, const char *p, size_t n)
{
    (void)ctx, (void)p, (void)n;
    return MS_E_IO;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* Renders every session of the store; returns the text (free it). */
static char *render(const char *store, ms_report_format fmt, const char *ui, size_t *sessions)
{
    ms_store *st = NULL;
    struct ms_error err = {0};
    assert_int_equal(ms_store_open(store, &st, &err), MS_OK);
    struct ms_session_query q = {0};
    q.version = 1;
    q.sort = MS_SORT_FIRST;
    q.ascending = true;
    q.with_trace_ids = true;
    ms_session_list *l = NULL;
    assert_int_equal(ms_sessions_list(st, &q, &l, &err), MS_OK);
    struct ms_report_options o;
    ms_report_options_init(&o);
    o.format = fmt;
    o.ui_base_url = ui;
    struct sink s;
    msx_buf_init(&s.b, MSX_CAP_OUTPUT);
    ms_report *r = NULL;
    assert_int_equal(ms_report_begin(&o, to_buf, &s, &r, &err), MS_OK);
    for (size_t i = 0; i < ms_session_list_count(l); i++) {
        const ms_session_summary *sum = ms_session_list_at(l, i);
        char id[512];
        assert_true(sum->session_id.len < sizeof id);
        memcpy(id, sum->session_id.ptr, sum->session_id.len);
        id[sum->session_id.len] = '\0';
        ms_session *se = NULL;
        assert_int_equal(ms_session_load(st, NULL, 0, id, &se, &err), MS_OK);
        assert_int_equal(ms_report_add_session(r, se, &err), MS_OK);
        ms_session_free(se);
    }
    assert_int_equal(ms_report_finish(r, &err), MS_OK);
    *sessions = ms_report_sessions(r);
    ms_report_free(r);
    ms_session_list_free(l);
    ms_store_close(st);
    msx_buf_adds(&s.b, "");
    return msx_buf_take(&s.b, NULL);
}

static void test_example_report(void **state)
{
    (void)state;
    size_t n = 0;
    char *h = render(MS_SOURCE_DIR "/examples/mlflow.db", MS_REPORT_HTML, NULL, &n);
    assert_non_null(h);
    assert_true(n >= 1);
    assert_int_equal(count(h, "<tr class=\"srow\""), n);
    assert_int_equal(count(h, "<svg class=\"chart"), 3 * n + 2);
    assert_int_equal(count(h, "<script>"), 1);
    assert_non_null(strstr(h, "default-src 'none'"));
    assert_null(strstr(h, "href=\"http")); /* no links without a tracking server */
    assert_null(strstr(h, " src="));
    /* demo-outdated-policy: root cause at turn 3, symptoms after it */
    assert_non_null(strstr(h, "root cause: turn 3"));
    assert_non_null(strstr(h, "symptoms: turns 4&ndash;5"));
    free(h);
    char *md = render(MS_SOURCE_DIR "/examples/mlflow.db", MS_REPORT_MD, NULL, &n);
    assert_non_null(strstr(md, "**Root cause: turn 3**, symptoms at turns 4-5"));
    assert_non_null(strstr(md, "## Overview"));
    free(md);
}

static void test_xss_report(void **state)
{
    (void)state;
    size_t n = 0;
    char *h = render(MS_SOURCE_DIR "/tests/fixtures/xss/mlflow.db", MS_REPORT_HTML,
                     "http://user:pw@mlflow.example:5000/", &n);
    assert_int_equal(n, 3);
    assert_int_equal(count(h, "<script"), 1); /* ours only */
    assert_null(strstr(h, "<img"));
    assert_null(strstr(h, "<svg onload"));
    assert_null(strstr(h, "<iframe"));
    assert_null(strstr(h, "\x1b"));
    assert_null(strstr(h, "onerror=\""));
    assert_null(strstr(h, "href=\"javascript"));
    assert_non_null(strstr(h, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    /* links into MLflow's UI: MLflow 3.17.2's own trace route, ids encoded */
    assert_non_null(strstr(h, "/#/experiments/1/traces?selectedEvaluationId=tr-"));
    assert_non_null(strstr(h, "/#/experiments/1/chat-sessions/xss-%3Cscript%3Ealert%281%29"));
    free(h);
    /* anything but a web URL gives no links at all */
    h = render(MS_SOURCE_DIR "/tests/fixtures/xss/mlflow.db", MS_REPORT_HTML,
               "javascript:alert(1)//", &n);
    assert_null(strstr(h, "class=\"mlflow\""));
    assert_null(strstr(h, "javascript:alert(1)//"));
    free(h);
    char *md = render(MS_SOURCE_DIR "/tests/fixtures/xss/mlflow.db", MS_REPORT_MD, NULL, &n);
    assert_null(strstr(md, "<script"));
    assert_null(strstr(md, "<img"));
    assert_null(strstr(md, "\x1b"));
    assert_null(strstr(md, "](javascript"));
    free(md);
}

static void test_write_error(void **state)
{
    (void)state;
    struct ms_report_options o;
    ms_report_options_init(&o);
    ms_report *r = NULL;
    struct ms_error err = {0};
    assert_int_equal(ms_report_begin(&o, fail_write, NULL, &r, &err), MS_E_IO);
    assert_null(r);
    assert_non_null(strstr(err.msg, "cannot write"));
    ms_report_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_escape),   cmocka_unit_test(test_md_and_url),
        cmocka_unit_test(test_muldiv),        cmocka_unit_test(test_example_report),
        cmocka_unit_test(test_xss_report),    cmocka_unit_test(test_write_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
