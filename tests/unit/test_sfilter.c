/* SPDX-License-Identifier: MIT
 *
 * Unit tests for the session filter language (src/session/sfilter*.c):
 * parsing (the issue's example, precedence, every operator and field
 * kind), errors with their exact offsets, evaluation on a synthetic
 * session summary, per-turn atoms on synthetic traces and spans, the SQL
 * text and parameters of atoms in both dialects, and the SQL of atoms run
 * on tests/fixtures/sqlite/mlflow.db against the in-memory evaluation of
 * the same traces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "mlsession/sfilter.h"
#include "mlsession/store.h"
#include "session/sfilter_sql.h"
#include "testutil.h"
#include "util/buf.h"

#define FIX MS_SOURCE_DIR "/tests/fixtures/"
#define S(lit) {lit, sizeof(lit) - 1}

static const char issue_example[] =
    "turns >= 5 and tokens.total > 100000 and errors > 0 and duration > '10m' and "
    "idle.max > '30m' and user = 'u-17' and score.UserFrustration = 'unresolved' and "
    "any(span.type = 'TOOL' and span.status = 'ERROR') and input contains 'refund'";

static ms_score scores[] = {
    {.name = S("UserFrustration"), .value_json = S("\"unresolved\"")},
    {.name = S("helpful"), .value_json = S("true")},
    {.name = S("quality"), .value_json = S("0.75")},
    {.name = S("judge.v2"), .value_json = S("\"caf\\u00e9 \\\"ok\\\"\"")},
    {.name = S("broken"), .is_error = true},
};

/* the session of the issue's example: 6 turns, 2 errors, long and idle */
static ms_session_summary base_summary(void)
{
    ms_session_summary s;
    memset(&s, 0, sizeof s);
    s.session_id = (ms_str)S("sess-1");
    s.user_id = (ms_str)S("u-17");
    s.experiment_id = (ms_str)S("3");
    s.turns = 6;
    s.errors = 2;
    s.in_progress = 0;
    s.first_ms = 1767261600000; /* 2026-01-01T10:00:00Z */
    s.last_ms = s.first_ms + 2 * 3600000;
    s.duration_ms = 2 * 3600000;
    s.busy_ms = 90000;
    s.idle_ms = 3600000;
    s.idle_max_ms = 45 * 60000;
    s.tokens_input = 100000;
    s.tokens_output = 50000;
    s.tokens_cached = 0;
    s.tokens_total = 150000;
    s.has_tokens = true;
    s.cost = 1.25;
    s.has_cost = true;
    s.latency_p50_ms = 1500;
    s.latency_p95_ms = 9000;
    s.first_input = (ms_str)S("I want a Refund for order 17");
    s.last_output = (ms_str)S("Your refund is on its way.");
    s.scores = scores;
    s.n_scores = sizeof scores / sizeof scores[0];
    return s;
}

static ms_sfilter *parse_ok(const char *text)
{
    ms_sfilter *f = NULL;
    struct ms_error err = {MS_OK, -1, ""};
    ms_code rc = ms_sfilter_parse(text, &f, &err);
    if (rc != MS_OK)
        fail_msg("%s: parse failed at %lld: %s", text, (long long)err.offset, err.msg);
    assert_non_null(f);
    return f;
}

static void test_issue_example(void **state)
{
    (void)state;
    ms_sfilter *f = parse_ok(issue_example);
    assert_int_equal(ms_sfilter_atom_count(f), 2);
    assert_true(ms_sfilter_atom_needs_spans(f, 0));
    assert_false(ms_sfilter_atom_needs_spans(f, 1));
    assert_string_equal(ms_sfilter_text(f), issue_example);
    ms_session_summary s = base_summary();
    s.atoms_any = 3;
    assert_true(ms_sfilter_match(f, &s));
    s.atoms_any = 1; /* no turn mentions a refund */
    assert_false(ms_sfilter_match(f, &s));
    s.atoms_any = 3;
    s.idle_max_ms = 30 * 60000; /* not > 30m */
    assert_false(ms_sfilter_match(f, &s));
    ms_sfilter_free(f);
}

/* the examples of docs/filters.md */
static void test_doc_examples(void **state)
{
    (void)state;
    static const char *const ex[] = {
        "errors > 0 or in_progress > 0",
        "not (user is null) and turns >= 3",
        "tokens.total > 50000 and cost > 0.25",
        "first >= '2026-01-01T00:00:00Z' and last < '2026-02-01T00:00:00Z'",
        "idle.max > 1h or duration > '1d'",
        "user in ('u-17', 'u-42') and score.resolved = false",
        "score.`judge v2` is null",
        "all(turn.status = 'OK') and any(span.type = 'RETRIEVER')",
        "any(turn.latency > '30s' and span.type = 'LLM' and span.duration > '20s')",
        "any(tag.env = 'prod') and not any(metadata.`mlflow.source.type` = 'NOTEBOOK')",
        "any(span.name matches '^(lookup|update)_' and span.status = 'ERROR')",
        "output contains 'I cannot help' or last_output ilike '%sorry%'",
        "any(status = 'ERROR')",
        "input like '%x%'",
        "metadata.mlflow.trace.user = 'x' or any(metadata.mlflow.trace.user = 'x')",
    };
    for (size_t i = 0; i < TU_COUNT(ex); i++) {
        ms_sfilter *f = NULL;
        struct ms_error err = {MS_OK, -1, ""};
        ms_code rc = ms_sfilter_parse(ex[i], &f, &err);
        if (i == TU_COUNT(ex) - 1) {
            /* metadata is per turn: only inside any/all */
            TU_TRUE(ex[i], rc == MS_E_PARSE && err.offset == 0);
            continue;
        }
        if (rc != MS_OK)
            fail_msg("%s: %lld %s", ex[i], (long long)err.offset, err.msg);
        ms_sfilter_free(f);
    }
}

static void test_session_eval(void **state)
{
    (void)state;
    static const struct {
        const char *f;
        bool want;
    } cases[] = {
        {"", true},
        {"   ", true},
        /* integers */
        {"turns = 6", true},
        {"turns != 6", false},
        {"turns < 6", false},
        {"turns <= 6", true},
        {"turns > 5", true},
        {"turns >= 7", false},
        {"turns == 6", true},
        {"turns <> 6", false},
        {"turns in (1, 6)", true},
        {"turns not in (1, 6)", false},
        {"errors > 0 and in_progress = 0", true},
        {"tokens.input = 100000 and tokens.output = 50000 and tokens.cached = 0", true},
        {"tokens.total > 149999", true},
        {"tokens.total is not null", true},
        /* decimals: cost */
        {"cost > 1.2", true},
        {"cost < 1", false},
        {"cost = 1.25", true},
        {"cost >= 2", false},
        /* durations */
        {"duration > '10m'", true},
        {"duration = '2h'", true},
        {"duration = '1h60m'", true},
        {"duration > 2h", false},
        {"duration = 7200000", true},
        {"busy = '1m30s'", true},
        {"idle = '1h'", true},
        {"idle.max > '30m'", true},
        {"idle.max >= '46m'", false},
        {"latency.p50 = '1500ms' and latency.p95 > '9s'", false},
        {"latency.p50 = '1500ms' and latency.p95 >= '9s'", true},
        {"latency.p95 is null", false},
        /* times */
        {"first = '2026-01-01T10:00:00Z'", true},
        {"first > '2026-01-01T09:59:59.999Z'", true},
        {"first > '2026-01-01T10:00:00.000001Z'", false},
        {"last >= '2026-01-01T13:00:00+01:00'", true},
        {"last < '2026-01-01T12:00:00.5Z'", true},
        {"last < '2026-01-01T12:00:00Z'", false},
        {"first = 1767261600000", true},
        /* strings */
        {"user = 'u-17'", true},
        {"user = \"u-17\"", true},
        {"user != 'u-17'", false},
        {"user in ('a', 'u-17')", true},
        {"user not in ('a', 'u-17')", false},
        {"user like 'u-%'", true},
        {"user like 'U-%'", false},
        {"user ilike 'U-%'", true},
        {"user not like 'U-%'", true},
        {"user matches '^u-[0-9]+$'", true},
        {"user not matches '^u-[0-9]+$'", false},
        {"user is null", false},
        {"user is not null", true},
        {"user > 'u-1' and user < 'u-2'", true},
        {"id = 'sess-1' and session = 'sess-1' and experiment = '3'", true},
        {"first_input contains 'refund'", true},
        {"first_input not contains 'REFUND'", false},
        {"last_output contains 'ON ITS'", true},
        {"first_input like '%Refund%'", true},
        {"user = 'it\\'s'", false},
        /* scores */
        {"score.UserFrustration = 'unresolved'", true},
        {"score.UserFrustration != 'resolved'", true},
        {"score.UserFrustration contains 'RESOLV'", true},
        {"score.UserFrustration in ('unresolved', 'x')", true},
        {"score.helpful = true", true},
        {"score.helpful = false", false},
        {"score.helpful = 'true'", true},
        {"score.quality > 0.5", true},
        {"score.quality = 0.75", true},
        {"score.quality < 0.7", false},
        {"score.`judge.v2` = 'caf\xc3\xa9 \"ok\"'", true},
        {"score.`judge.v2` contains 'OK'", true},
        {"score.broken = 'x'", false},
        {"score.broken != 'x'", false},
        {"score.broken is null", false},
        {"score.broken is not null", true},
        {"score.missing is null", true},
        {"score.missing != 'x'", false},
        {"not score.missing = 'x'", true},
        /* keywords in any case, precedence: not > and > or */
        {"turns = 1 OR turns = 6 AND errors = 2", true},
        {"turns = 1 or turns = 6 and errors = 3", false},
        {"(turns = 1 or turns = 6) and errors = 2", true},
        {"turns = 6 or turns = 1 and errors = 3", true},
        {"NOT turns = 1 and errors = 2", true},
        {"not (turns = 6 and errors = 2)", false},
        {"not not turns = 6", true},
        {"((turns = 6))", true},
    };
    ms_session_summary s = base_summary();
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        ms_sfilter *f = parse_ok(cases[i].f);
        TU_TRUE(cases[i].f, ms_sfilter_match(f, &s) == cases[i].want);
        ms_sfilter_free(f);
    }
    /* nulls: no tokens, no cost, no user, no finished turn */
    s.has_tokens = false;
    s.has_cost = false;
    s.user_id = (ms_str){NULL, 0};
    s.latency_p50_ms = -1;
    static const struct {
        const char *f;
        bool want;
    } nulls[] = {
        {"tokens.total > 0", false},    {"tokens.total = 0", false},
        {"tokens.total is null", true}, {"cost is null", true},
        {"cost != 1", false},           {"user is null", true},
        {"user != 'x'", false},         {"user not contains 'x'", false},
        {"not user = 'x'", true},       {"latency.p50 is null", true},
        {"latency.p50 < '1s'", false},
    };
    for (size_t i = 0; i < TU_COUNT(nulls); i++) {
        ms_sfilter *f = parse_ok(nulls[i].f);
        TU_TRUE(nulls[i].f, ms_sfilter_match(f, &s) == nulls[i].want);
        ms_sfilter_free(f);
    }
    TU_TRUE("NULL filter", ms_sfilter_match(NULL, &s));
}

static void test_atom_bits(void **state)
{
    (void)state;
    ms_sfilter *f = parse_ok("any(turn.status = 'ERROR') and all(turn.latency < '1s') or "
                             "output contains 'sorry'");
    assert_int_equal(ms_sfilter_atom_count(f), 3);
    ms_session_summary s = base_summary();
    /* any reads atoms_any, all reads atoms_all */
    s.atoms_any = 1;
    s.atoms_all = 2;
    assert_true(ms_sfilter_match(f, &s));
    s.atoms_any = 1 | 2;
    s.atoms_all = 0;
    assert_false(ms_sfilter_match(f, &s));
    s.atoms_any = 4;
    assert_true(ms_sfilter_match(f, &s));
    ms_sfilter_free(f);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *f;
        int64_t off;
        const char *msg; /* a substring of the message */
    } cases[] = {
        {"turns > 'abc'", 8, "expected an integer for 'turns'"},
        {"turn > 5", 0, "unknown field 'turn' (did you mean 'turns'?)"},
        {"tokns.total > 5", 0, "did you mean 'tokens.total'"},
        {"scor.x = 'a'", 0, "did you mean 'score.NAME'"},
        {"bogus = 1", 0, "unknown field 'bogus'"},
        {"turns >", 7, "expected a value"},
        {"turns", 5, "expected an operator"},
        {"user = 'abc", 7, "unterminated string"},
        {"user = \"abc\\\"", 7, "unterminated string"},
        {"(turns = 1", 10, "expected ')'"},
        {"turns = 1)", 9, "unbalanced ')'"},
        {"turns = 1 turns = 2", 10, "expected 'and', 'or'"},
        {"turns = 1 and", 13, "expected a field name at the end"},
        {"duration > 'soon'", 11, "expected a duration"},
        {"duration > '10x'", 11, "expected a duration"},
        {"duration contains 'a'", 9, "does not apply to 'duration'"},
        {"first > 'yesterday'", 8, "expected an RFC 3339 time"},
        {"cost > 'a'", 7, "expected a number"},
        {"turns = 1.5", 8, "expected an integer"},
        {"user = 5", 7, "expected a string"},
        {"user matches '('", 13, "invalid regular expression"},
        {"user is 5", 8, "expected 'null'"},
        {"user not = 'a'", 9, "expected contains, like"},
        {"user in 'a'", 8, "expected '(' after 'in'"},
        {"user in ('a' 'b')", 13, "expected ',' or ')'"},
        {"span.type = 'TOOL'", 0, "per-turn field"},
        {"turn.status = 'OK'", 0, "per-turn field"},
        {"any(turns > 1)", 4, "is a session field"},
        {"any(turn.status = 'BROKEN')", 18, "expected one of 'OK', 'ERROR', 'IN_PROGRESS'"},
        {"any(span.status = 'IN_PROGRESS')", 18, "expected one of 'OK', 'ERROR', 'UNSET'"},
        {"any(turn.status > 'OK')", 16, "does not apply"},
        {"any(any(turn.status = 'OK'))", 4, "do not nest"},
        {"any(turn.status = 'OK'", 22, "expected ')' to close any("},
        {"score. = 'a'", 6, "expected a name after 'score.'"},
        {"score.`a = 'b'", 6, "unterminated `quoted name`"},
        {"user = 'a' & turns = 1", 11, "unexpected character '&'"},
        {"user ! 'a'", 5, "expected '!='"},
        {"turns = 99999999999999999999", 8, "expected an integer"},
        {"duration > '999999999999d'", 11, "expected a duration"},
    };
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        ms_sfilter *f = (ms_sfilter *)1;
        struct ms_error err = {MS_OK, -1, ""};
        ms_code rc = ms_sfilter_parse(cases[i].f, &f, &err);
        TU_TRUE(cases[i].f, rc == MS_E_PARSE);
        TU_TRUE(cases[i].f, f == NULL);
        TU_TRUE(cases[i].f, err.code == MS_E_PARSE);
        tu_i64_eq(cases[i].f, err.offset, cases[i].off);
        if (!strstr(err.msg, cases[i].msg))
            fail_msg("%s: message '%s' lacks '%s'", cases[i].f, err.msg, cases[i].msg);
    }
    /* too many atoms: the 65th */
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_LINE);
    size_t off65 = 0;
    for (int i = 0; i <= MS_SFILTER_MAX_ATOMS; i++) {
        if (i)
            msx_buf_adds(&b, " or ");
        if (i == MS_SFILTER_MAX_ATOMS)
            off65 = b.len;
        msx_buf_adds(&b, "input contains 'x'");
    }
    ms_sfilter *f = NULL;
    struct ms_error err = {MS_OK, -1, ""};
    assert_int_equal(ms_sfilter_parse(b.ptr, &f, &err), MS_E_PARSE);
    tu_i64_eq("65 atoms", err.offset, (int64_t)off65);
    assert_non_null(strstr(err.msg, "too many per-turn predicates"));
    /* 64 are fine */
    b.len = off65 - 4;
    b.ptr[b.len] = '\0';
    f = parse_ok(b.ptr);
    assert_int_equal(ms_sfilter_atom_count(f), MS_SFILTER_MAX_ATOMS);
    ms_sfilter_free(f);
    /* deep nesting is an error, not a crash */
    msx_buf_reset(&b);
    for (int i = 0; i < 10000; i++)
        msx_buf_adds(&b, "(not ");
    f = NULL;
    assert_int_equal(ms_sfilter_parse(b.ptr, &f, &err), MS_E_PARSE);
    assert_non_null(strstr(err.msg, "nested too deeply"));
    msx_buf_release(&b);
}

/* ---- atoms on synthetic traces ----------------------------------------- */

static ms_kv tags_a[] = {{S("mlflow.traceName"), S("chat_turn")}, {S("env"), S("prod")}};
static ms_kv meta_a[] = {{S("mlflow.trace.user"), S("u-17")}};

static ms_span spans_a[] = {
    /* a TOOL span that worked and an LLM span that failed: no single span
     * is both TOOL and ERROR */
    {.name = S("lookup_order"), .span_type = S("TOOL"), .start_ns = 0, .end_ns = 2000000,
     .has_end = true, .status = MS_STATUS_OK},
    {.name = S("call_llm"), .span_type = S("LLM"), .start_ns = 0, .end_ns = 1500000000,
     .has_end = true, .status = MS_STATUS_ERROR},
};
static ms_span spans_b[] = {
    {.name = S("get_refund_policy"), .span_type = S("TOOL"), .start_ns = 5, .end_ns = 10,
     .has_end = true, .status = MS_STATUS_ERROR},
    {.name = S("running"), .start_ns = 5, .has_end = false, .status = MS_STATUS_UNSET},
};

static const ms_trace trace_a = {
    .info = {.trace_id = S("tr-a"), .request_preview = S("Where is my ORDER?"),
             .response_preview = S("It ships today."), .execution_duration_ms = 800,
             .has_execution_duration = true, .state = MS_STATE_OK, .tags = tags_a,
             .n_tags = 2, .metadata = meta_a, .n_metadata = 1,
             .usage = {.input_tokens = 100, .output_tokens = 20, .total_tokens = 120,
                       .present = MS_USAGE_INPUT | MS_USAGE_OUTPUT | MS_USAGE_TOTAL}},
    .spans = spans_a,
    .n_spans = 2,
};
static const ms_trace trace_b = {
    .info = {.trace_id = S("tr-b"), .request_preview = S("I want a refund"),
             .state = MS_STATE_IN_PROGRESS},
    .spans = spans_b,
    .n_spans = 2,
};

static void test_atoms_memory(void **state)
{
    (void)state;
    static const struct {
        const char *f;
        bool a, b;
    } cases[] = {
        {"any(span.type = 'TOOL' and span.status = 'ERROR')", false, true},
        {"any(span.type = 'TOOL') and any(span.status = 'ERROR')", true, true},
        {"any(span.type = 'TOOL' or span.status = 'error')", true, true},
        {"any(not span.status = 'OK')", true, true},
        {"any(span.status = 'UNSET')", false, true},
        {"any(span.type is null)", false, true},
        {"any(span.name in ('call_llm', 'x'))", true, false},
        {"any(span.name like 'get_%')", false, true},
        {"any(span.name like 'get\\_%')", false, false}, /* no escape character */
        {"any(span.duration > '1s')", true, false},
        {"any(span.duration = 2ms)", true, false},
        {"any(span.duration is null)", false, true},
        {"any(span.duration < 1)", false, true},
        {"input contains 'refund'", false, true},
        {"input contains 'order'", true, false},
        {"input not contains 'order'", false, true},
        {"output contains 'SHIPS'", true, false},
        {"output not contains 'x'", true, false}, /* b has no output: false */
        {"any(turn.output is null)", false, true},
        {"any(output is not null)", true, false},
        {"any(turn.status = 'ok')", true, false},
        {"any(status in ('IN_PROGRESS', 'ERROR'))", false, true},
        {"any(turn.status != 'OK')", false, true},
        {"any(turn.latency > '500ms')", true, false},
        {"any(latency <= 800)", true, false},
        {"any(not turn.latency > '1s')", true, true},
        {"any(turn.latency is null)", false, true},
        {"any(turn.tokens.total >= 120 and tokens.input = 100)", true, false},
        {"any(turn.tokens.output is null)", false, true},
        {"any(turn.name = 'chat_turn')", true, false},
        {"any(name is null)", false, true},
        {"any(tag.env = 'prod')", true, false},
        {"any(tag.`mlflow.traceName` matches '^chat')", true, false},
        {"any(tag.env is null)", false, true},
        {"any(tag.env != 'dev')", true, false},
        {"any(metadata.mlflow.trace.user = 'u-17')", true, false},
        {"any(turn.input ilike '%REFUND%')", false, true},
        /* a turn field and span sub-expressions mixed */
        {"any(turn.status = 'OK' and span.type = 'TOOL' and span.status = 'OK')", true, false},
        {"any(turn.status = 'OK' and span.type = 'TOOL' and span.status = 'ERROR')", false,
         false},
        {"any(turn.status = 'OK' or span.status = 'UNSET')", true, true},
        {"all(span.type = 'TOOL')", true, true},
    };
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        ms_sfilter *f = parse_ok(cases[i].f);
        bool a = true, b = true;
        for (size_t k = 0; k < ms_sfilter_atom_count(f); k++) {
            a = a && ms_sfilter_atom_match(f, k, &trace_a);
            b = b && ms_sfilter_atom_match(f, k, &trace_b);
        }
        TU_TRUE(cases[i].f, a == cases[i].a);
        TU_TRUE(cases[i].f, b == cases[i].b);
        ms_sfilter_free(f);
    }
    /* needs_spans */
    ms_sfilter *f = parse_ok("any(turn.status = 'OK') or any(span.name = 'x' or tag.a = 'b')");
    assert_false(ms_sfilter_atom_needs_spans(f, 0));
    assert_true(ms_sfilter_atom_needs_spans(f, 1));
    assert_false(ms_sfilter_atom_needs_spans(f, 2));
    assert_false(ms_sfilter_atom_match(f, 5, &trace_a));
    ms_sfilter_free(f);
}

/* ---- SQL ------------------------------------------------------------------ */

static char *atom_sql(const char *text, size_t atom, int dialect, bool full,
                      struct msi_sql_params *p, ms_code *rc_out)
{
    ms_sfilter *f = parse_ok(text);
    struct msi_sql_target tg = {.dialect = dialect ? MSI_SQL_POSTGRES : MSI_SQL_SQLITE,
                                .has_session_id_column = full,
                                .has_spans_table = full,
                                .has_trace_name_column = full};
    struct msx_buf w;
    msx_buf_init(&w, MSX_CAP_OUTPUT);
    struct ms_error err = {MS_OK, -1, ""};
    ms_code rc = msi_sfilter_atom_sql(f, atom, &tg, &w, p, &err);
    *rc_out = rc;
    ms_sfilter_free(f);
    if (rc != MS_OK) {
        msx_buf_release(&w);
        return NULL;
    }
    return msx_buf_take(&w, NULL);
}

static void test_sql_text(void **state)
{
    (void)state;
    static const struct {
        const char *f;
        int dialect;
        const char *sql;
        const char *params; /* "T:text I:int ..." */
    } cases[] = {
        {"any(span.type = 'TOOL' and span.status = 'ERROR')", 0,
         "(EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.request_id AND "
         "(COALESCE((s.type = ?), 0) AND COALESCE((s.status = ?), 0))))",
         "T:TOOL T:ERROR"},
        {"any(span.type = 'TOOL' and span.status = 'ERROR')", 1,
         "(EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.request_id AND "
         "(COALESCE((s.type = $3), FALSE) AND COALESCE((s.status = $4), FALSE))))",
         "T:TOOL T:ERROR"},
        {"input contains 'Refund'", 0,
         "(COALESCE((instr(lower(t.request_preview), lower(?)) > 0), 0))", "T:Refund"},
        {"output not contains 'x'", 1,
         "(COALESCE((NOT (strpos(lower(t.response_preview), lower($3)) > 0)), FALSE))",
         "T:x"},
        {"any(turn.latency > '1m' or not turn.tokens.total in (1, 2))", 0,
         "((COALESCE((t.execution_time_ms > ?), 0) OR NOT (COALESCE((t.total_tokens IN (?, "
         "?)), 0))))",
         "I:60000 I:1 I:2"},
        {"any(span.duration >= '2s' and span.name ilike 'A%')", 1,
         "(EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.request_id AND "
         "(COALESCE(((s.end_time_unix_nano - s.start_time_unix_nano) >= $3), FALSE) AND "
         "COALESCE((s.name ILIKE $4 ESCAPE ''), FALSE))))",
         "I:2000000000 T:A%"},
        {"any(tag.env = 'prod' and metadata.`a.b` is null and turn.name like 'c%')", 0,
         "(((EXISTS (SELECT 1 FROM trace_tags g WHERE g.request_id = t.request_id AND g.key = "
         "? AND COALESCE((g.value = ?), 0)) AND NOT EXISTS (SELECT 1 FROM "
         "trace_request_metadata m WHERE m.request_id = t.request_id AND m.key = ?)) AND "
         "COALESCE((t.trace_name LIKE ?), 0)))",
         "T:env T:prod T:a.b T:c%"},
        {"any(turn.status = 'error' and turn.input matches 'a+' and turn.output is not null)",
         1,
         "(((COALESCE((t.status = $3), FALSE) AND COALESCE((t.request_preview ~ $4), FALSE)) "
         "AND (t.response_preview IS NOT NULL)))",
         "T:ERROR T:a+"},
        {"any(turn.input ilike '%A%')", 0, "(COALESCE((lower(t.request_preview) LIKE lower(?)), 0))",
         "T:%A%"},
    };
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        struct msi_sql_params p;
        msi_sql_params_init(&p);
        if (cases[i].dialect) {
            /* the store's own parameters come first */
            assert_int_equal(msi_sql_params_add_text(&p, "1", 1), MS_OK);
            assert_int_equal(msi_sql_params_add_int(&p, 2), MS_OK);
        }
        size_t first = p.n;
        ms_code rc;
        char *sql = atom_sql(cases[i].f, 0, cases[i].dialect, true, &p, &rc);
        TU_TRUE(cases[i].f, rc == MS_OK);
        tu_str_eq(cases[i].f, sql, strlen(sql), cases[i].sql);
        struct msx_buf b;
        msx_buf_init(&b, MSX_CAP_LINE);
        for (size_t k = first; k < p.n; k++) {
            if (k > first)
                msx_buf_addc(&b, ' ');
            if (p.v[k].type == MSI_SQL_TEXT)
                msx_buf_addf(&b, "T:%s", p.v[k].text);
            else if (p.v[k].type == MSI_SQL_INT64)
                msx_buf_addf(&b, "I:%lld", (long long)p.v[k].i);
            else
                msx_buf_addf(&b, "D:%g", p.v[k].d);
        }
        tu_str_eq(cases[i].f, b.ptr ? b.ptr : "", b.len, cases[i].params);
        msx_buf_release(&b);
        free(sql);
        msi_sql_params_release(&p);
    }
    /* older schemas */
    static const struct {
        const char *f;
        ms_code rc;
    } old[] = {
        {"any(span.type = 'TOOL')", MS_E_UNSUPPORTED},
        {"any(turn.tokens.total > 1)", MS_E_UNSUPPORTED},
        {"any(turn.status = 'OK' and span.type = 'TOOL')", MS_E_UNSUPPORTED},
        {"any(turn.name = 'x')", MS_OK},
        {"input contains 'x'", MS_OK},
    };
    for (size_t i = 0; i < TU_COUNT(old); i++) {
        struct msi_sql_params p;
        msi_sql_params_init(&p);
        ms_code rc;
        char *sql = atom_sql(old[i].f, 0, 0, false, &p, &rc);
        TU_TRUE(old[i].f, rc == old[i].rc);
        if (rc == MS_OK && strstr(old[i].f, "turn.name"))
            TU_TRUE(old[i].f, strstr(sql, "g.key = ?") != NULL);
        free(sql);
        msi_sql_params_release(&p);
    }
}

/* ---- SQL on the fixture against memory ----------------------------------- */

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_sql_fixture(void **state)
{
    (void)state;
    const char *db_path = FIX "sqlite/mlflow.db";
    if (!tu_file_exists(db_path))
        skip();
    ms_store *st = NULL;
    struct ms_error err = {MS_OK, -1, ""};
    if (ms_store_open(db_path, &st, &err) != MS_OK)
        fail_msg("open: %s", err.msg);
    struct ms_search req = {.version = 1, .max_results = 1000, .include_spans = true};
    ms_trace_set *set = NULL;
    if (ms_store_search(st, &req, &set, &err) != MS_OK)
        fail_msg("search: %s", err.msg);
    assert_null(ms_trace_set_next_page_token(set));
    size_t nt = ms_trace_set_count(set);
    assert_true(nt > 50);

    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA case_sensitive_like=ON", NULL, NULL, NULL),
                     SQLITE_OK);

    static const char *const atoms[] = {
        "any(span.type = 'TOOL' and span.status = 'ERROR')",
        "any(span.type = 'TOOL' and not span.status = 'ERROR')",
        "any(span.type = 'TOOL') ",
        "any(not span.status = 'OK')",
        "any(span.status = 'UNSET')",
        "any(span.type is null or span.type in ('AGENT', 'CHAIN'))",
        "any(span.name in ('search_kb', 'lookup_order') and turn.latency < 700)",
        "any(span.name like 'get\\_%')",
        "any(span.name like 'get_%' or span.name ilike '%LLM%')",
        "any(span.duration > '100ms')",
        "any(span.duration <= 5ms)",
        "input contains 'REFUND'",
        "input not contains 'refund'",
        "output contains 'return'",
        "any(turn.input ilike '%BOOTS%')",
        "any(turn.input like '%Boots%')",
        "any(turn.status = 'ERROR' or turn.latency > '700ms')",
        "any(turn.status in ('IN_PROGRESS'))",
        "any(turn.latency is null)",
        "any(turn.tokens.total >= 700)",
        "any(turn.tokens.input < 200 and not turn.tokens.output > 50)",
        "any(turn.tokens.total is null)",
        "any(turn.name = 'rag_answer' and output not contains 'return')",
        "any(turn.name != 'rag_answer')",
        "any(turn.output is null)",
        "any(tag.`mlflow.trace.user` like 'u%')",
        "any(tag.`mlflow.trace.user` is null)",
        "any(metadata.`mlflow.trace.user` is not null)",
        "any(metadata.mlflow.source.type = 'LOCAL')",
        "any(not (turn.status = 'OK' and span.type = 'LLM'))",
    };
    struct msi_sql_target tg = {.dialect = MSI_SQL_SQLITE,
                                .has_session_id_column = true,
                                .has_spans_table = true,
                                .has_trace_name_column = true};
    for (size_t i = 0; i < TU_COUNT(atoms); i++) {
        ms_sfilter *f = parse_ok(atoms[i]);
        assert_int_equal(ms_sfilter_atom_count(f), 1);
        struct msx_buf w;
        msx_buf_init(&w, MSX_CAP_OUTPUT);
        msx_buf_adds(&w, "SELECT t.request_id FROM trace_info t WHERE ");
        struct msi_sql_params p;
        msi_sql_params_init(&p);
        if (msi_sfilter_atom_sql(f, 0, &tg, &w, &p, &err) != MS_OK)
            fail_msg("%s: %s", atoms[i], err.msg);
        msx_buf_adds(&w, " ORDER BY t.request_id");
        sqlite3_stmt *stmt = NULL;
        if (sqlite3_prepare_v2(db, w.ptr, (int)w.len, &stmt, NULL) != SQLITE_OK)
            fail_msg("%s: %s\n%s", atoms[i], sqlite3_errmsg(db), w.ptr);
        for (size_t k = 0; k < p.n; k++) {
            if (p.v[k].type == MSI_SQL_TEXT)
                sqlite3_bind_text(stmt, (int)k + 1, p.v[k].text, (int)p.v[k].len,
                                  SQLITE_TRANSIENT);
            else if (p.v[k].type == MSI_SQL_INT64)
                sqlite3_bind_int64(stmt, (int)k + 1, p.v[k].i);
            else
                sqlite3_bind_double(stmt, (int)k + 1, p.v[k].d);
        }
        struct msx_buf got;
        msx_buf_init(&got, MSX_CAP_OUTPUT);
        size_t n_sql = 0;
        while (sqlite3_step(stmt) == SQLITE_ROW) {
            msx_buf_addf(&got, "%s\n", (const char *)sqlite3_column_text(stmt, 0));
            n_sql++;
        }
        sqlite3_finalize(stmt);
        /* memory */
        char **ids = calloc(nt ? nt : 1, sizeof *ids);
        assert_non_null(ids);
        size_t n_mem = 0;
        for (size_t k = 0; k < nt; k++) {
            const ms_trace *t = ms_trace_set_at(set, k);
            if (ms_sfilter_atom_match(f, 0, t)) {
                ids[n_mem] = calloc(1, t->info.trace_id.len + 1);
                assert_non_null(ids[n_mem]);
                memcpy(ids[n_mem], t->info.trace_id.ptr, t->info.trace_id.len);
                n_mem++;
            }
        }
        qsort(ids, n_mem, sizeof *ids, cmp_strp);
        struct msx_buf want;
        msx_buf_init(&want, MSX_CAP_OUTPUT);
        for (size_t k = 0; k < n_mem; k++) {
            msx_buf_addf(&want, "%s\n", ids[k]);
            free(ids[k]);
        }
        free(ids);
        tu_str_eq(atoms[i], got.ptr ? got.ptr : "", got.len, want.ptr ? want.ptr : "");
        msx_buf_release(&got);
        msx_buf_release(&want);
        msx_buf_release(&w);
        msi_sql_params_release(&p);
        ms_sfilter_free(f);
    }
    sqlite3_close(db);
    ms_trace_set_free(set);
    ms_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_example), cmocka_unit_test(test_session_eval),
        cmocka_unit_test(test_atom_bits),     cmocka_unit_test(test_errors),
        cmocka_unit_test(test_atoms_memory),  cmocka_unit_test(test_sql_text),
        cmocka_unit_test(test_sql_fixture),   cmocka_unit_test(test_doc_examples),
    };
    return cmocka_run_group_tests_name("sfilter", tests, NULL, NULL);
}
