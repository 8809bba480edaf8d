/* SPDX-License-Identifier: MIT
 *
 * Code detectors (src/code/detect.c): each detector fires on its line of
 * the positive samples in Python, TypeScript, Java and Go
 * (tests/fixtures/code/positive/), with the name it captures; none of the
 * session, context, memory, span or tool detectors fires on the look-alikes
 * (tests/fixtures/code/negative/); the language comes from the extension;
 * generated and minified text is recognised; stack frames of every runtime
 * are parsed (through ms_code_link on a synthetic session).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mlsession/code.h"
#include "testutil.h"

#define CODE MS_SOURCE_DIR "/tests/fixtures/code/"

static ms_code_index *scan(const char *dir)
{
    ms_code_index *idx = NULL;
    struct ms_error err = {0};
    if (ms_code_scan(dir, NULL, &idx, &err) != MS_OK)
        fail_msg("%s: %s", dir, err.msg);
    return idx;
}

static const ms_code_site *find(const ms_code_index *idx, const char *file, int64_t line,
                                const char *det)
{
    for (size_t i = 0; i < ms_code_site_count(idx); i++) {
        const ms_code_site *s = ms_code_site_at(idx, i);
        if (s->line == line && strcmp(s->detector, det) == 0 && s->file.len == strlen(file) &&
            memcmp(s->file.ptr, file, s->file.len) == 0)
            return s;
    }
    return NULL;
}

struct want {
    const char *file;
    int64_t line;
    const char *detector;
    const char *name; /* NULL: no name expected */
};

static const struct want positives[] = {
    /* Python */
    {"agent.py", 4, "context.token_count", NULL},
    {"agent.py", 5, "memory.cache", NULL},
    {"agent.py", 12, "context.window_memory", NULL},
    {"agent.py", 11, "context.window_setting", NULL},
    {"agent.py", 15, "span.mlflow_trace_name", "plan_step"},
    {"agent.py", 17, "session.update_current_trace", NULL},
    {"agent.py", 22, "span.mlflow_trace_func", "answer"},
    {"agent.py", 23, "context.negative_slice", NULL},
    {"agent.py", 24, "context.trim_messages", NULL},
    {"agent.py", 24, "context.max_tokens", NULL},
    {"agent.py", 25, "span.start_span", "retrieve_docs"},
    {"agent.py", 26, "session.otel_session_id", NULL},
    {"agent.py", 31, "tool.decorator", "lookup_order"},
    {"agent.py", 35, "tool.registry", "lookup_order"},
    {"agent.py", 43, "memory.history_reset", NULL},
    {"agent.py", 46, "memory.vector_write", NULL},
    {"agent.py", 47, "session.thread_id", NULL},
    {"agent.py", 57, "session.metadata_key", NULL},
    {"agent.py", 57, "session.update_current_trace_md", NULL},
    {"agent.py", 58, "session.tracing_context", NULL},
    {"agent.py", 22, "function.python", "answer"},
    /* TypeScript */
    {"agent.ts", 5, "context.trim_messages", NULL},
    {"agent.ts", 9, "memory.cache", NULL},
    {"agent.ts", 12, "span.otel_js", "plan_step"},
    {"agent.ts", 13, "session.otel_session_id", NULL},
    {"agent.ts", 14, "session.otel_conversation_id", NULL},
    {"agent.ts", 15, "context.slice_js", NULL},
    {"agent.ts", 16, "session.metadata_key", NULL},
    {"agent.ts", 16, "session.update_current_trace_js", NULL},
    {"agent.ts", 17, "context.max_tokens", NULL},
    {"agent.ts", 22, "tool.langchain_js", "lookup_order"},
    {"agent.ts", 28, "memory.vector_write", NULL},
    {"agent.ts", 11, "function.js", "handle"},
    /* Java */
    {"com/acme/Agent.java", 11, "context.window_memory", NULL},
    {"com/acme/Agent.java", 14, "span.otel_java", "plan_step"},
    {"com/acme/Agent.java", 15, "session.otel_session_id", NULL},
    {"com/acme/Agent.java", 16, "context.sublist", NULL},
    {"com/acme/Agent.java", 17, "context.max_tokens", NULL},
    {"com/acme/Agent.java", 21, "tool.java", "lookupOrder"},
    {"com/acme/Agent.java", 13, "function.java", "handle"},
    /* Go */
    {"agent.go", 11, "tool.go", "lookup_order"},
    {"agent.go", 14, "span.otel_go", "plan_step"},
    {"agent.go", 16, "session.otel_session_id", NULL},
    {"agent.go", 17, "context.slice_go", NULL},
    {"agent.go", 18, "context.max_tokens", NULL},
    {"agent.go", 13, "function.go", "Handle"},
};

static void test_positive_samples(void **state)
{
    (void)state;
    ms_code_index *idx = scan(CODE "positive");
    /* a tree scan leaves function definitions to the links (they match
     * every function); the buffer API runs every detector */
    ms_code_index *bidx = NULL;
    assert_int_equal(ms_code_index_new(&bidx), MS_OK);
    static const char *const files[] = {"agent.py", "agent.ts", "com/acme/Agent.java", "agent.go"};
    for (size_t i = 0; i < TU_COUNT(files); i++) {
        char path[512];
        snprintf(path, sizeof path, "%s%s", CODE "positive/", files[i]);
        size_t len = 0;
        char *text = tu_read_file(path, &len);
        struct ms_error err = {0};
        assert_int_equal(ms_code_scan_buffer(bidx, files[i], text, len, &err), MS_OK);
        free(text);
    }
    for (size_t i = 0; i < TU_COUNT(positives); i++) {
        const struct want *w = &positives[i];
        bool fn = strncmp(w->detector, "function.", 9) == 0;
        if (fn)
            assert_null(find(idx, w->file, w->line, w->detector));
        else if (!find(idx, w->file, w->line, w->detector))
            fail_msg("%s:%lld: %s did not fire in the tree scan", w->file, (long long)w->line,
                     w->detector);
        const ms_code_site *s = find(bidx, w->file, w->line, w->detector);
        if (!s)
            fail_msg("%s:%lld: %s did not fire", w->file, (long long)w->line, w->detector);
        if (w->name && (s->name.len != strlen(w->name) || memcmp(s->name.ptr, w->name, s->name.len)))
            fail_msg("%s:%lld: %s named '%.*s', want '%s'", w->file, (long long)w->line,
                     w->detector, (int)s->name.len, s->name.ptr, w->name);
        assert_true(s->text.len > 0);
    }
    /* one site per detector and line */
    for (size_t i = 1; i < ms_code_site_count(idx); i++) {
        const ms_code_site *a = ms_code_site_at(idx, i - 1), *b = ms_code_site_at(idx, i);
        if (a->line == b->line && strcmp(a->detector, b->detector) == 0 && a->file.len == b->file.len &&
            memcmp(a->file.ptr, b->file.ptr, a->file.len) == 0)
            fail_msg("%.*s:%lld: %s twice", (int)a->file.len, a->file.ptr, (long long)a->line,
                     a->detector);
    }
    assert_int_equal(ms_code_index_stats(idx)->files_scanned, 4);
    ms_code_index_free(idx);
    ms_code_index_free(bidx);
}

static void test_negative_samples(void **state)
{
    (void)state;
    ms_code_index *idx = scan(CODE "negative");
    for (size_t i = 0; i < ms_code_site_count(idx); i++) {
        const ms_code_site *s = ms_code_site_at(idx, i);
        if (s->kind != MS_CODE_FUNCTION)
            fail_msg("%.*s:%lld: %s fired on a look-alike: %.*s", (int)s->file.len, s->file.ptr,
                     (long long)s->line, s->detector, (int)s->text.len, s->text.ptr);
    }
    assert_int_equal(ms_code_index_stats(idx)->files_scanned, 4);
    ms_code_index_free(idx);
}

/* ---- buffers: languages, generated text ---------------------------------- */

static size_t sites_of(const char *name, const char *text)
{
    ms_code_index *idx = NULL;
    assert_int_equal(ms_code_index_new(&idx), MS_OK);
    struct ms_error err = {0};
    assert_int_equal(ms_code_scan_buffer(idx, name, text, strlen(text), &err), MS_OK);
    size_t n = 0;
    for (size_t i = 0; i < ms_code_site_count(idx); i++)
        if (ms_code_site_at(idx, i)->kind == MS_CODE_SESSION_ID)
            n++;
    ms_code_index_free(idx);
    return n;
}

static void test_languages(void **state)
{
    (void)state;
    const char *line = "x.set(\"session.id\", sid)\n";
    assert_int_equal(sites_of("a.py", line), 1);
    assert_int_equal(sites_of("a.pyi", line), 1);
    assert_int_equal(sites_of("dir/a.tsx", line), 1);
    assert_int_equal(sites_of("a.mjs", line), 1);
    assert_int_equal(sites_of("A.java", line), 1);
    assert_int_equal(sites_of("a.go", line), 1);
    assert_int_equal(sites_of("a.rb", line), 0);
    assert_int_equal(sites_of("a.py.txt", line), 0);
    assert_int_equal(sites_of("dir.py/README", line), 0);
    assert_int_equal(sites_of("noext", line), 0);
}

static void test_buffer_edges(void **state)
{
    (void)state;
    /* empty, no final newline, NUL bytes, invalid UTF-8, a huge line */
    assert_int_equal(sites_of("a.py", ""), 0);
    assert_int_equal(sites_of("a.py", "x = {\"mlflow.trace.session\": s}"), 1);
    assert_int_equal(sites_of("a.py", "\xff\xfe x = {\"mlflow.trace.session\": s} \xc3\n"), 1);
    size_t n = 1 << 20;
    char *big = malloc(n + 64);
    assert_non_null(big);
    memset(big, 'a', n);
    memcpy(big + n, " \"session.id\"\n", 15);
    assert_int_equal(sites_of("a.js", big), 1);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positive_samples),
        cmocka_unit_test(test_negative_samples),
        cmocka_unit_test(test_languages),
        cmocka_unit_test(test_buffer_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
