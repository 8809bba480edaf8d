/* SPDX-License-Identifier: MIT
 *
 * Unit tests for src/filter: the parser (shape of valid filters, exact
 * offset and message of invalid ones), in-memory evaluation on synthetic
 * traces, order_by parsing and comparison, and the SQL text + parameters in
 * both dialects.
 *
 * Validity of every filter string below was checked against MLflow 3.17.2
 * (SearchTraceUtils.parse_search_filter_for_search_traces, then
 * SqlAlchemyStore.search_traces on tests/fixtures/sqlite/mlflow.db): "ok"
 * rows are accepted by MLflow with the same meaning; "err" rows are
 * rejected by MLflow too, except those marked STRICTER (MLflow accepts them
 * through sqlparse accidents; see docs/filter-language.md). The SQL and the
 * in-memory evaluator were compared with MLflow's results on that fixture
 * for ~300 filters (all equal except session-level assessment spreading,
 * which needs other traces).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "filter/filter_int.h"
#include "filter/filter_sql.h"
#include "testutil.h"

/* ---- shapes ----------------------------------------------------------- */

static const char *field_name(enum msi_field f)
{
    switch (f) {
    case MSI_F_REQUEST_ID: return "request_id";
    case MSI_F_CLIENT_REQUEST_ID: return "client_request_id";
    case MSI_F_STATUS: return "status";
    case MSI_F_TIMESTAMP: return "timestamp_ms";
    case MSI_F_EXECUTION_TIME: return "execution_time_ms";
    case MSI_F_END_TIME: return "end_time_ms";
    case MSI_F_TAG: return "tag";
    case MSI_F_METADATA: return "metadata";
    case MSI_F_PROMPT: return "prompt";
    case MSI_F_SPAN_NAME: return "span.name";
    case MSI_F_SPAN_TYPE: return "span.type";
    case MSI_F_SPAN_STATUS: return "span.status";
    case MSI_F_SPAN_ATTR: return "span.attr";
    case MSI_F_SPAN_CONTENT: return "span.content";
    case MSI_F_FEEDBACK: return "feedback";
    case MSI_F_EXPECTATION: return "expectation";
    case MSI_F_ISSUE: return "issue";
    }
    return "?";
}

static const char *cmp_text(enum msi_cmp c)
{
    static const char *names[] = {"",   "=",    "!=",    "<",     "<=", ">",      ">=",
                                  "LIKE", "ILIKE", "RLIKE", "IN", "NOT IN", "IS NULL",
                                  "IS NOT NULL"};
    return names[c];
}

/* "field[key] CMP value; ..." with strings in '', numbers bare (#.# for
 * doubles), lists as ('a','b'). */
static void shape(const ms_filter *f, struct msx_buf *b)
{
    for (size_t i = 0; i < f->n; i++) {
        const struct msi_clause *c = &f->clauses[i];
        if (i)
            msx_buf_adds(b, "; ");
        msx_buf_adds(b, field_name(c->field));
        if (c->key)
            msx_buf_addf(b, "[%s]", c->key);
        msx_buf_addf(b, " %s", cmp_text(c->cmp));
        switch (c->vkind) {
        case MSI_V_NONE: break;
        case MSI_V_STRING: msx_buf_addf(b, " '%.*s'", (int)c->str_len, c->str); break;
        case MSI_V_NUMBER:
            if (c->num_is_int)
                msx_buf_addf(b, " %lld", (long long)c->num_i);
            else
                msx_buf_addf(b, " %g", c->num_d);
            break;
        case MSI_V_LIST:
            msx_buf_adds(b, " (");
            for (size_t k = 0; k < c->n_list; k++)
                msx_buf_addf(b, "%s'%s'", k ? "," : "", c->list[k]);
            msx_buf_adds(b, ")");
            break;
        }
    }
}

struct ok_case {
    const char *filter;
    const char *shape;
};

static const struct ok_case ok_cases[] = {
    {"", ""},
    {"   ", ""},
    {"trace.status = 'OK'", "status = 'OK'"},
    {"trace.status = \"OK\"", "status = 'OK'"},
    {"status != 'OK'", "status != 'OK'"},
    {"attributes.status = 'ERROR'", "status = 'ERROR'"},
    {"attribute.status LIKE 'O%'", "status LIKE 'O%'"},
    {"trace.status ilike 'o%'", "status ILIKE 'o%'"},
    {"trace.status RLIKE '^O'", "status RLIKE '^O'"},
    {"trace.status IN ('OK', \"ERROR\")", "status IN ('OK','ERROR')"},
    {"trace.status not  in ('OK',)", "status NOT IN ('OK')"},
    {"trace.request_id = 'tr-1'", "request_id = 'tr-1'"},
    {"request_id IN ('a')", "request_id IN ('a')"},
    {"trace.client_request_id RLIKE 'x'", "client_request_id RLIKE 'x'"},
    {"trace.timestamp_ms > 5", "timestamp_ms > 5"},
    {"timestamp_ms >= -5", "timestamp_ms >= -5"},
    {"timestamp = 1733000000000", "timestamp_ms = 1733000000000"},
    {"trace.timestamp < 1.5", "timestamp_ms < 1.5"},
    {"trace.timestamp_ms <= '7'", "timestamp_ms <= 7"},
    {"trace.timestamp_ms > 1e3", "timestamp_ms > 1000"},
    {"trace.timestamp_ms != 9223372036854775807", "timestamp_ms != 9223372036854775807"},
    {"execution_time > 5000", "execution_time_ms > 5000"},
    {"trace.execution_time_ms = 0", "execution_time_ms = 0"},
    {"trace.end_time_ms < 10", "end_time_ms < 10"},
    {"end_time >= 10", "end_time_ms >= 10"},
    {"trace.name = 'chat_turn'", "tag[mlflow.traceName] = 'chat_turn'"},
    {"name LIKE 'chat%'", "tag[mlflow.traceName] LIKE 'chat%'"},
    {"trace.name IS NULL", "tag[mlflow.traceName] IS NULL"},
    {"trace.run_id = 'r1'", "metadata[mlflow.sourceRun] = 'r1'"},
    {"run_id IS NOT NULL", "metadata[mlflow.sourceRun] IS NOT NULL"},
    {"trace.prompt = 'qa/2'", "prompt = 'qa/2'"},
    {"prompt = \"qa/2\"", "prompt = 'qa/2'"},
    {"trace.text LIKE '%refund%'", "span.content LIKE '%refund%'"},
    {"tag.env = 'prod'", "tag[env] = 'prod'"},
    {"tags.env != 'prod'", "tag[env] != 'prod'"},
    {"tag.`mlflow.traceName` = 'x'", "tag[mlflow.traceName] = 'x'"},
    {"tag.mlflow.traceName = 'x'", "tag[mlflow.traceName] = 'x'"},
    {"tag.\"a b\" = 'x'", "tag[a b] = 'x'"},
    {"tag.'k' = 'x'", "tag[k] = 'x'"},
    {"`tag`.k = 'x'", "tag[k] = 'x'"},
    {"tag.1a RLIKE 'x'", "tag[1a] RLIKE 'x'"},
    {"tag.k IS NULL", "tag[k] IS NULL"},
    {"tag.k is not null", "tag[k] IS NOT NULL"},
    {"tag.NAME = 'x'", "tag[mlflow.traceName] = 'x'"},
    {"tag.timestamp = 'x'", "tag[timestamp_ms] = 'x'"},
    {"metadata.`mlflow.trace.session` = 'sess-1'", "metadata[mlflow.trace.session] = 'sess-1'"},
    {"request_metadata.`mlflow.trace.user` ILIKE 'U%'", "metadata[mlflow.trace.user] ILIKE 'U%'"},
    {"metadata.mlflow.trace.session = 's'", "metadata[mlflow.trace.session] = 's'"},
    {"metadata.`mlflow.trace.tokenUsage` IS NULL", "metadata[mlflow.trace.tokenUsage] IS NULL"},
    {"span.name = 'search'", "span.name = 'search'"},
    {"span.type IN ('LLM', 'TOOL')", "span.type IN ('LLM','TOOL')"},
    {"span.type NOT IN ('CHAIN')", "span.type NOT IN ('CHAIN')"},
    {"span.status = 'ERROR'", "span.status = 'ERROR'"},
    {"span.content ILIKE '%x%'", "span.content ILIKE '%x%'"},
    {"span.attributes.foo LIKE '%x%'", "span.attr[foo] LIKE '%x%'"},
    {"span.attributes.`mlflow.spanType` RLIKE '^LLM$'", "span.attr[mlflow.spanType] RLIKE '^LLM$'"},
    {"span.attributes.mlflow.spanType != 'x'", "span.attr[mlflow.spanType] != 'x'"},
    {"span.`attributes.a b` = 'x'", "span.attr[a b] = 'x'"},
    {"feedback.user_frustration = 'none'", "feedback[user_frustration] = 'none'"},
    {"feedback.`a.b` LIKE '%x%'", "feedback[a.b] LIKE '%x%'"},
    {"feedback.score > 0.5", "feedback[score] > 0.5"},
    {"feedback.score <= -1", "feedback[score] <= -1"},
    {"feedback.score IS NULL", "feedback[score] IS NULL"},
    {"expectation.expected = 'x'", "expectation[expected] = 'x'"},
    {"expectation.expected RLIKE 'a|b'", "expectation[expected] RLIKE 'a|b'"},
    {"issue.id = 'iss-1'", "issue = 'iss-1'"},
    /* quotes are kept as written inside values, as MLflow does */
    {"tag.k = 'it''s'", "tag[k] = 'it''s'"},
    {"tag.k = ''", "tag[k] = ''"},
    {"trace.status = 'OK' AND trace.timestamp_ms > 0",
     "status = 'OK'; timestamp_ms > 0"},
    {"trace.status='OK' and\ttag.k='v'  AnD span.type = 'LLM'",
     "status = 'OK'; tag[k] = 'v'; span.type = 'LLM'"},
};

static void test_parse_ok(void **state)
{
    (void)state;
    for (size_t i = 0; i < TU_COUNT(ok_cases); i++) {
        ms_filter *f = NULL;
        struct ms_error err = {0, 0, ""};
        ms_code rc = ms_filter_parse(ok_cases[i].filter, &f, &err);
        if (rc != MS_OK)
            fail_msg("%s: rc %d: %s at %lld", ok_cases[i].filter, rc, err.msg,
                     (long long)err.offset);
        struct msx_buf b;
        msx_buf_init(&b, MSX_CAP_LINE);
        msx_buf_adds(&b, "");
        shape(f, &b);
        tu_str_eq(ok_cases[i].filter, b.ptr, b.len, ok_cases[i].shape);
        msx_buf_release(&b);
        ms_filter_free(f);
    }
    /* NULL text matches everything */
    ms_filter *f = NULL;
    assert_int_equal(ms_filter_parse(NULL, &f, NULL), MS_OK);
    assert_int_equal(f->n, 0);
    assert_false(ms_filter_needs_spans(f));
    ms_filter_free(f);
    ms_filter_free(NULL);
}

struct err_case {
    const char *filter;
    int64_t offset;
    const char *msg;
};

static const struct err_case err_cases[] = {
    {"trace.status = 'OK' OR trace.status = 'ERROR'", 20,
     "OR is not supported: join clauses with AND"},
    {"status = OK", 9, "string values must be quoted"},
    {"trace.status", 12, "expected a comparator"},
    {"trace.status =", 14, "expected a value"},
    {"trace.status = 'OK", 15, "unterminated string"},
    {"= 'OK'", 0, "expected a field name"},
    {"'OK' = trace.status", 0, "expected a field name, not a string"},
    {"(tag.a = 'x')", 0, "parentheses are not supported: join clauses with AND"},
    {"foo.bar = 'x'", 0,
     "unknown entity 'foo': expected trace, tag, metadata, span, feedback, expectation or issue"},
    {"TRACE.status = 'OK'", 0,
     "unknown entity 'TRACE': expected trace, tag, metadata, span, feedback, expectation or "
     "issue"},
    {"trace.foo = 'x'", 6, "unknown field 'trace.foo'"},
    {"STATUS = 'OK'", 0, "unknown field 'STATUS'"},
    {"text LIKE '%x%'", 0, "unknown field 'text': use trace.text"},
    {"trace.status > 'A'", 13,
     "> is not supported for trace.status: use =, !=, LIKE, ILIKE, RLIKE, IN, NOT IN"},
    {"trace.status = 5", 15, "string values must be quoted"},
    {"trace.status IS NULL", 13,
     "IS NULL is not supported for trace.status: use =, !=, LIKE, ILIKE, RLIKE, IN, NOT IN"},
    {"trace.timestamp_ms LIKE '5'", 19,
     "LIKE is not supported for trace.timestamp_ms: use =, !=, <, <=, >, >="},
    {"trace.timestamp_ms > 'abc'", 21, "expected a number"},
    {"trace.timestamp_ms > 99999999999999999999", 21, "number out of range"},
    {"trace.timestamp_ms > 5abc", 21, "expected a number"},
    {"trace.timestamp_ms > +5", 21, "expected a number"},
    {"timestamp > 5.5", 12,
     "expected an integer after a bare timestamp (or write trace.timestamp)"},
    {"trace.request_id IN ()", 21, "expected a quoted string in the list"},
    {"trace.request_id IN (5)", 21, "expected a quoted string in the list"},
    {"trace.request_id IN 'a'", 20,
     "expected a parenthesised list of quoted strings after IN"},
    {"trace.request_id IN ('a'", 20, "unclosed '('"},
    {"trace.request_id IN ('a' 'b')", 25, "expected ',' or ')' in the list"}, /* STRICTER */
    {"trace.request_id = ('a')", 19, "a list of values needs IN or NOT IN"},
    {"trace.name IN ('a')", 11,
     "IN is not supported for trace.name: use =, !=, LIKE, ILIKE, RLIKE, IS NULL, IS NOT NULL"},
    {"trace.run_id IN ('a')", 13,
     "IN is not supported for trace.run_id: use =, !=, LIKE, ILIKE, RLIKE, IS NULL, IS NOT "
     "NULL"},
    {"trace.prompt LIKE 'a/1'", 13, "LIKE is not supported for trace.prompt: use ="},
    {"trace.prompt = 'a1'", 15, "expected a prompt as \"name/version\""},
    {"trace.text = 'x'", 11, "= is not supported for trace.text: use LIKE, ILIKE"},
    {"tag.k = 5", 8, "string values must be quoted"},
    {"tag.k > 'a'", 6,
     "> is not supported for tag.k: use =, !=, LIKE, ILIKE, RLIKE, IS NULL, IS NOT NULL"},
    {"tag.k = `v`", 8, "string values must be quoted"},
    {"tag.a-b = 'x'", 5, "unexpected '-' in a field name: quote the key with backticks"},
    {"tag. = 'x'", 4, "expected a key after 'tag.'"}, /* STRICTER */
    {"tag.a.`b` = 'x'", 6, "a quoted key must be the whole key"},
    {"tag.`a = 'x'", 4, "unterminated quoted key"},
    {"metadata.k IN ('x')", 11,
     "IN is not supported for metadata.k: use =, !=, LIKE, ILIKE, RLIKE, IS NULL, IS NOT NULL"},
    {"metadata.`mlflow.trace.tokenUsage` LIKE '%'", 35,
     "LIKE is not supported for metadata.`mlflow.trace.tokenUsage`: use =, !=, IS NULL, IS "
     "NOT NULL"},
    {"span.foo = 'x'", 5,
     "unknown span field 'foo': expected name, type, status, content or attributes.<key>"},
    {"span.attributes. = 'x'", 5, "expected an attribute name after 'span.attributes.'"},
    {"span.attributes.k IN ('a')", 18,
     "IN is not supported for span.attributes.k: use =, !=, LIKE, ILIKE, RLIKE"},
    {"span.name IS NULL", 10,
     "IS NULL is not supported for span.name: use =, !=, LIKE, ILIKE, RLIKE, IN, NOT IN"},
    {"span.name = 5", 12, "string values must be quoted"},
    {"feedback.x = 5", 13, "string values must be quoted"},
    {"feedback.x > 'a'", 13, "expected a number"},
    {"feedback.x IN ('a')", 11,
     "IN is not supported for feedback.x: use =, !=, <, <=, >, >=, LIKE, ILIKE, RLIKE, IS NULL, "
     "IS NOT NULL"},
    {"feedback. = 'x'", 9, "expected an assessment name after 'feedback.'"},
    {"issue.foo = 'x'", 6, "unknown issue field 'foo': expected issue.id"},
    {"issue.id LIKE 'x'", 9, "LIKE is not supported for issue.id: use ="},
    {"trace.status == 'OK'", 13, "unknown comparator '==': use ="},
    {"trace.status <> 'OK'", 13, "unknown comparator '<>': use !="},
    {"trace.status NOT LIKE 'a'", 13, "NOT is only supported as NOT IN"},
    {"tag.k IS 'x'", 9, "expected NULL after IS"},
    {"trace.status = 'OK';", 19, "unexpected ';': a filter is one expression"},
    {"trace.status = 'OK' -- c", 20, "comments are not supported"},
    {"trace.status = 'OK' AND", 20, "expected a clause after AND"},                  /* STRICTER */
    {"AND trace.status = 'OK'", 0, "expected a clause before AND"},                  /* STRICTER */
    {"tag.a = 'x' AND AND tag.b = 'y'", 16,
     "expected a clause after AND, not another AND"},                                /* STRICTER */
    {"tag.a = 'x' tag.b = 'y'", 12, "expected AND between clauses"},                /* STRICTER */
    {"tag.a = 'x' )", 12, "expected AND or the end of the filter"},
};

static void test_parse_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < TU_COUNT(err_cases); i++) {
        ms_filter *f = (ms_filter *)&f;
        struct ms_error err = {0, -1, ""};
        ms_code rc = ms_filter_parse(err_cases[i].filter, &f, &err);
        if (rc != MS_E_PARSE)
            fail_msg("%s: rc %d, want MS_E_PARSE", err_cases[i].filter, rc);
        assert_null(f);
        assert_int_equal(err.code, MS_E_PARSE);
        tu_str_eq(err_cases[i].filter, err.msg, strlen(err.msg), err_cases[i].msg);
        tu_i64_eq(err_cases[i].filter, err.offset, err_cases[i].offset);
    }
}

/* ---- evaluation ------------------------------------------------------- */

#define S(lit) {lit, sizeof(lit) - 1}
#define NOSTR {NULL, 0}

static ms_kv tags0[] = {{S("mlflow.traceName"), S("chat_turn")}, {S("env"), S("prod")}};
static ms_kv meta0[] = {{S("mlflow.trace.session"), S("s1")},
                        {S("mlflow.trace.user"), S("user-7")},
                        {S("mlflow.sourceRun"), S("run-1")}};
static ms_assessment as0[] = {
    {.name = S("user_frustration"), .value_json = S("\"none\""), .valid = true,
     .has_valid = true},
    {.name = S("helpfulness"), .value_json = S("5.0"), .valid = true, .has_valid = true},
    {.name = S("thumbs"), .value_json = S("true")},
};
static ms_attr sp0a[] = {{S("mlflow.spanType"), S("\"CHAIN\""), MS_VAL_STRING}};
static ms_attr sp0b[] = {
    {S("mlflow.spanType"), S("\"RETRIEVER\""), MS_VAL_STRING},
    {S("mlflow.spanInputs"), S("{\"query\": \"refund policy\"}"), MS_VAL_STRING},
};
static ms_span spans0[] = {
    {.trace_id = "0123456789abcdef0123456789abcdef", .span_id = "00000000000000a1",
     .name = S("chat_turn"), .span_type = S("CHAIN"), .start_ns = 1000000000,
     .end_ns = 1050000000, .has_end = true, .status = MS_STATUS_OK, .attrs = sp0a, .n_attrs = 1},
    {.trace_id = "0123456789abcdef0123456789abcdef", .span_id = "00000000000000a2",
     .parent_id = "00000000000000a1", .name = S("search_kb"), .span_type = S("RETRIEVER"),
     .start_ns = 1010000000, .end_ns = 1020000000, .has_end = true, .status = MS_STATUS_ERROR,
     .attrs = sp0b, .n_attrs = 2},
};

static ms_kv tags1[] = {{S("mlflow.traceName"), S("Chat")}};
static ms_kv meta1[] = {{S("mlflow.trace.session"), S("s1")}};
static ms_assessment as1[] = {
    {.name = S("user_frustration"), .value_json = S("\"unresolved\""), .valid = true,
     .has_valid = true},
    {.name = S("user_frustration"), .value_json = S("\"none\""), .valid = false,
     .has_valid = true},
    {.name = S("expected_response"), .value_json = S("\"Caf\\u00e9 opens at 9\""),
     .is_expectation = true, .valid = true, .has_valid = true},
};
static ms_attr sp1a[] = {{S("mlflow.spanType"), S("\"LLM\""), MS_VAL_STRING},
                         {S("mlflow.spanOutputs"), S("\"Café\""), MS_VAL_STRING},
                         {S("llm.token_count"), S("812"), MS_VAL_JSON}};
static ms_span spans1[] = {
    {.trace_id = "fedcba9876543210fedcba9876543210", .span_id = "00000000000000b1",
     .name = S("llm"), .span_type = S("LLM"), .start_ns = 2000000000, .has_end = false,
     .status = MS_STATUS_UNSET, .attrs = sp1a, .n_attrs = 3},
};

static ms_kv tags2[] = {{S("mlflow.linkedPrompts"), S("[{\"name\": \"qa\", \"version\": \"2\"}]")}};

static const ms_trace traces[] = {
    {.info = {.trace_id = S("tr-a"), .experiment_id = S("1"), .request_time_ms = 1000,
              .execution_duration_ms = 50, .has_execution_duration = true,
              .state = MS_STATE_OK, .tags = tags0, .n_tags = 2, .metadata = meta0,
              .n_metadata = 3, .assessments = as0, .n_assessments = 3},
     .spans = spans0, .n_spans = 2},
    {.info = {.trace_id = S("tr-b"), .experiment_id = S("1"), .request_time_ms = 2000,
              .state = MS_STATE_IN_PROGRESS, .tags = tags1, .n_tags = 1, .metadata = meta1,
              .n_metadata = 1, .assessments = as1, .n_assessments = 3},
     .spans = spans1, .n_spans = 1},
    {.info = {.trace_id = S("tr-c"), .experiment_id = S("2"), .client_request_id = S("req-1"),
              .request_time_ms = 3000, .execution_duration_ms = 10,
              .has_execution_duration = true, .state = MS_STATE_ERROR, .tags = tags2,
              .n_tags = 1}},
};

struct eval_case {
    const char *filter;
    const char *match; /* one character per trace: 'x' matches, '.' does not */
};

static const struct eval_case eval_cases[] = {
    {"", "xxx"},
    {"trace.status = 'OK'", "x.."},
    {"trace.status != 'OK'", ".xx"},
    {"trace.status IN ('OK', 'ERROR')", "x.x"},
    {"trace.status NOT IN ('OK')", ".xx"},
    {"trace.status = 'IN_PROGRESS'", ".x."},
    {"trace.status LIKE 'ok'", "..."},
    {"trace.status ILIKE 'ok'", "x.."},
    {"trace.status RLIKE 'R+O'", ".xx"},
    {"trace.request_id LIKE 'tr-_'", "xxx"},
    {"trace.request_id IN ('tr-a', 'tr-c')", "x.x"},
    {"trace.client_request_id = 'req-1'", "..x"},
    {"trace.client_request_id != 'zzz'", "..x"}, /* NULL matches nothing */
    {"trace.timestamp_ms > 1000", ".xx"},
    {"trace.timestamp_ms >= 1000 AND trace.timestamp_ms < 3000", "xx."},
    {"trace.timestamp_ms = 2000", ".x."},
    {"trace.timestamp_ms != 2000", "x.x"},
    {"trace.timestamp_ms > 1999.5", ".xx"},
    {"trace.execution_time_ms < 100", "x.x"},
    {"trace.execution_time_ms != 50", "..x"},
    {"trace.end_time_ms = 1050", "x.."},
    {"trace.end_time_ms = 2000", ".x."}, /* coalesce(NULL, 0) */
    {"trace.name = 'chat_turn'", "x.."},
    {"trace.name LIKE 'C%'", ".x."},
    {"trace.name ILIKE 'c%'", "xx."},
    {"trace.name IS NULL", "..x"},
    {"tag.env = 'prod'", "x.."},
    {"tag.env != 'dev'", "x.."},
    {"tag.env IS NULL", ".xx"},
    {"tag.env IS NOT NULL", "x.."},
    {"metadata.`mlflow.trace.session` = 's1'", "xx."},
    {"metadata.`mlflow.trace.session` IS NULL", "..x"},
    {"metadata.`mlflow.trace.user` RLIKE '^user-[0-9]+$'", "x.."},
    {"trace.run_id = 'run-1'", "x.."},
    {"trace.prompt = 'qa/2'", "..x"},
    {"trace.prompt = 'qa/1'", "..."},
    {"span.type = 'RETRIEVER'", "x.."},
    {"span.type IN ('LLM', 'TOOL')", ".x."},
    {"span.type NOT IN ('CHAIN')", "xx."},
    {"span.status = 'ERROR'", "x.."},
    {"span.status = 'UNSET'", ".x."},
    {"span.name = 'search_kb' AND span.type = 'RETRIEVER'", "x.."},
    {"span.name = 'chat_turn' AND span.type = 'RETRIEVER'", "..."}, /* one span for all */
    {"span.name RLIKE 'kb$'", "x.."},
    {"trace.timestamp_ms > 11000 AND span.name = 'llm'", "..."},  /* span start pruning */
    {"trace.timestamp_ms > 10000 AND span.name = 'llm'", "..."},
    {"trace.timestamp_ms >= 1000 AND span.name = 'llm'", ".x."},
    {"trace.text LIKE '%refund%'", "x.."},
    {"trace.text LIKE '%REFUND%'", "..."},
    {"trace.text ILIKE '%REFUND%'", "x.."},
    {"trace.text LIKE '%Café%'", ".x."},
    {"trace.text LIKE '%\"llm.token_count\": 812%'", ".x."},
    {"trace.text LIKE '%STATUS_CODE_ERROR%'", "x.."},
    {"span.attributes.`mlflow.spanType` LIKE '%LLM%'", ".x."},
    {"span.attributes.mlflow.spanType ILIKE '%retriever%'", "x.."},
    {"span.attributes.`mlflow.spanType` RLIKE '^CHAIN$'", "x.."},
    {"span.attributes.`mlflow.spanType` RLIKE '^CHAI$'", "..."},
    {"span.attributes.`mlflow.spanType` RLIKE 'AIN$'", "x.."},
    {"span.attributes.`mlflow.spanType` = 'LLM'", "..."},
    {"span.attributes.`mlflow.spanType` != 'LLM'", "xx."},
    {"feedback.user_frustration = 'none'", "x.."}, /* the invalid one on tr-b is skipped */
    {"feedback.user_frustration = '\"none\"'", "x.."},
    {"feedback.user_frustration != 'none'", ".x."},
    {"feedback.user_frustration LIKE 'none'", "..."},
    {"feedback.user_frustration LIKE '%none%'", "x.."},
    {"feedback.user_frustration IS NULL", "..x"},
    {"feedback.user_frustration IS NOT NULL", "xx."},
    {"feedback.helpfulness > 4", "x.."},
    {"feedback.helpfulness = '5'", "x.."},
    {"feedback.helpfulness < 5", "..."},
    {"feedback.thumbs = 'true'", "x.."},
    {"feedback.thumbs > 0", "..."}, /* booleans are not numeric */
    {"expectation.expected_response = 'Café opens at 9'", ".x."},
    {"expectation.expected_response ILIKE '%OPENS%'", ".x."},
    {"feedback.expected_response IS NULL", "xxx"},
    {"issue.id = 'iss-1'", "..."},
};

static void test_eval(void **state)
{
    (void)state;
    for (size_t i = 0; i < TU_COUNT(eval_cases); i++) {
        ms_filter *f = NULL;
        struct ms_error err = {0, 0, ""};
        if (ms_filter_parse(eval_cases[i].filter, &f, &err) != MS_OK)
            fail_msg("%s: %s", eval_cases[i].filter, err.msg);
        char got[8];
        for (size_t t = 0; t < TU_COUNT(traces); t++)
            got[t] = ms_filter_match(f, &traces[t]) ? 'x' : '.';
        got[TU_COUNT(traces)] = '\0';
        tu_str_eq(eval_cases[i].filter, got, strlen(got), eval_cases[i].match);
        ms_filter_free(f);
    }
    assert_true(ms_filter_match(NULL, &traces[0]));
}

static void test_needs_spans(void **state)
{
    (void)state;
    static const struct {
        const char *filter;
        bool spans;
    } cases[] = {
        {"trace.status = 'OK'", false},
        {"tag.k = 'v' AND feedback.x = 'y'", false},
        {"span.name = 'x'", true},
        {"trace.status = 'OK' AND trace.text LIKE '%x%'", true},
        {"span.attributes.k LIKE '%'", true},
    };
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        ms_filter *f = NULL;
        assert_int_equal(ms_filter_parse(cases[i].filter, &f, NULL), MS_OK);
        TU_TRUE(cases[i].filter, ms_filter_needs_spans(f) == cases[i].spans);
        ms_filter_free(f);
    }
}

/* ---- order_by --------------------------------------------------------- */

static void sorted_ids(const ms_order *o, char *out)
{
    size_t idx[TU_COUNT(traces)];
    size_t n = TU_COUNT(traces);
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && ms_order_compare(o, &traces[idx[k - 1]], &traces[idx[k]]) > 0;
             k--) {
            size_t t = idx[k];
            idx[k] = idx[k - 1];
            idx[k - 1] = t;
        }
    for (size_t i = 0; i < n; i++)
        out[i] = traces[idx[i]].info.trace_id.ptr[3];
    out[n] = '\0';
}

static void test_order(void **state)
{
    (void)state;
    static const struct {
        const char *clauses[3];
        size_t n;
        const char *order; /* last letters of the trace ids in order */
        size_t n_keys;     /* with the tie-breaks */
    } cases[] = {
        {{NULL}, 0, "cba", 2},
        {{"timestamp_ms ASC"}, 1, "abc", 2},
        {{"timestamp"}, 1, "abc", 2},
        {{"trace.timestamp_ms desc"}, 1, "cba", 2},
        {{"execution_time_ms DESC"}, 1, "acb", 3}, /* NULL last either way */
        {{"execution_time ASC"}, 1, "cab", 3},
        {{"status"}, 1, "cba", 3},                 /* ERROR < IN_PROGRESS < OK */
        {{"request_id DESC"}, 1, "cba", 2},
        {{"experiment_id DESC", "timestamp_ms ASC"}, 2, "cab", 3},
        {{"name"}, 1, "bac", 3},                   /* "Chat" < "chat_turn", none last */
        {{"tag.env DESC"}, 1, "acb", 3},
        {{"metadata.`mlflow.trace.session`", "request_id DESC"}, 2, "bac", 3},
        {{"run_id"}, 1, "acb", 3},
        {{"`status` DESC"}, 1, "abc", 3},
        {{"attributes.request_id"}, 1, "abc", 2},
    };
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        ms_order *o = NULL;
        struct ms_error err = {0, 0, ""};
        if (ms_order_parse(cases[i].clauses, cases[i].n, &o, &err) != MS_OK)
            fail_msg("order case %zu: %s", i, err.msg);
        char got[8];
        sorted_ids(o, got);
        char what[64];
        snprintf(what, sizeof what, "order case %zu (%s)", i,
                 cases[i].n ? cases[i].clauses[0] : "default");
        tu_str_eq(what, got, strlen(got), cases[i].order);
        tu_i64_eq(what, (int64_t)o->n, (int64_t)cases[i].n_keys);
        ms_order_free(o);
    }
    ms_order_free(NULL);
}

static void test_order_errors(void **state)
{
    (void)state;
    static const struct {
        const char *clauses[2];
        size_t n;
        int64_t offset;
        const char *msg;
    } cases[] = {
        {{"timestamp_ms UP"}, 1, 13, "order_by: expected ASC or DESC, not 'UP'"},
        {{"timestamp_ms ASC DESC"}, 1, 17, "order_by: expected the end after ASC or DESC"},
        {{"STATUS"}, 1, 0, "order_by: unknown order_by key 'STATUS'"},
        {{"client_request_id"}, 1, 0, "order_by: unknown order_by key 'client_request_id'"},
        {{"end_time_ms DESC"}, 1, 0, "order_by: cannot order by 'end_time_ms'"},
        {{"feedback.x"}, 1, 0,
         "order_by: cannot order by this entity: expected trace, tag or metadata, not 'feedback'"},
        {{"status", "status DESC"}, 2, 0, "order_by #2: duplicate order_by key 'status'"},
        {{"timestamp", "timestamp_ms"}, 2, 0,
         "order_by #2: duplicate order_by key 'timestamp_ms'"},
        {{"metadata.`mlflow.trace.tokenUsage`"}, 1, 9,
         "order_by: cannot order by reserved metadata 'mlflow.trace.tokenUsage'"},
        {{""}, 1, 0, "order_by: expected a key"},
        {{"tag.a-b"}, 1, 5, "order_by: unexpected character in key"},
    };
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        ms_order *o = (ms_order *)&o;
        struct ms_error err = {0, 0, ""};
        assert_int_equal(ms_order_parse(cases[i].clauses, cases[i].n, &o, &err), MS_E_PARSE);
        assert_null(o);
        tu_str_eq(cases[i].clauses[0], err.msg, strlen(err.msg), cases[i].msg);
        tu_i64_eq(cases[i].clauses[0], err.offset, cases[i].offset);
    }
}

/* ---- SQL -------------------------------------------------------------- */

static const struct msi_sql_target sqlite_new = {
    .dialect = MSI_SQL_SQLITE, .has_session_id_column = true, .has_spans_table = true,
    .has_assessments_table = true, .has_trace_name_column = true,
    .has_entity_associations_table = true, .has_assessment_aggregate_columns = true};
static const struct msi_sql_target pg_old = {
    .dialect = MSI_SQL_POSTGRES, .has_spans_table = true, .has_assessments_table = true};
static const struct msi_sql_target sqlite_bare = {.dialect = MSI_SQL_SQLITE};

static void params_text(const struct msi_sql_params *p, struct msx_buf *b)
{
    for (size_t i = 0; i < p->n; i++) {
        if (i)
            msx_buf_addc(b, ' ');
        switch (p->v[i].type) {
        case MSI_SQL_TEXT: msx_buf_addf(b, "'%s'", p->v[i].text); break;
        case MSI_SQL_INT64: msx_buf_addf(b, "%lld", (long long)p->v[i].i); break;
        case MSI_SQL_DOUBLE: msx_buf_addf(b, "%gd", p->v[i].d); break;
        }
    }
}

struct sql_case {
    const struct msi_sql_target *target;
    const char *filter;
    ms_code rc;
    const char *sql;
    const char *params;
};

static const struct sql_case sql_cases[] = {
    {&sqlite_new, "", MS_OK, "1", ""},
    {&pg_old, "", MS_OK, "TRUE", ""},
    {&sqlite_new, "trace.status = 'OK' AND trace.timestamp_ms >= 5", MS_OK,
     "t.status = ? AND t.timestamp_ms >= ?", "'OK' 5"},
    {&pg_old, "trace.status = 'OK' AND trace.timestamp_ms >= 5", MS_OK,
     "t.status = $1 AND t.timestamp_ms >= $2", "'OK' 5"},
    {&sqlite_new, "trace.request_id NOT IN ('a', 'b')", MS_OK, "(t.request_id NOT IN (?, ?))",
     "'a' 'b'"},
    {&pg_old, "trace.status ILIKE 'o%' AND trace.client_request_id RLIKE '^r'", MS_OK,
     "t.status ILIKE $1 AND t.client_request_id ~ $2", "'o%' '^r'"},
    {&sqlite_new, "trace.status ILIKE 'o%' AND trace.client_request_id RLIKE '^r'", MS_OK,
     "lower(t.status) LIKE lower(?) AND t.client_request_id REGEXP ?", "'o%' '^r'"},
    {&sqlite_new, "trace.end_time > 1.5", MS_OK,
     "(t.timestamp_ms + COALESCE(t.execution_time_ms, 0)) > ?", "1.5d"},
    {&sqlite_new, "trace.name = 'chat' AND metadata.`mlflow.trace.session` IS NULL", MS_OK,
     "t.trace_name = ? AND t.session_id IS NULL", "'chat'"},
    {&pg_old, "trace.name = 'chat' AND metadata.`mlflow.trace.session` IS NULL", MS_OK,
     "t.request_id IN (SELECT g.request_id FROM trace_tags g WHERE g.key = $1 AND "
     "g.value = $2) AND NOT EXISTS (SELECT 1 FROM trace_request_metadata m WHERE m.request_id = "
     "t.request_id AND m.key = $3)",
     "'mlflow.traceName' 'chat' 'mlflow.trace.session'"},
    {&sqlite_new, "trace.run_id = 'r1'", MS_OK,
     "(EXISTS (SELECT 1 FROM entity_associations e WHERE e.source_id = t.request_id AND "
     "e.source_type = 'trace' AND e.destination_type = 'run' AND e.destination_id = ?) OR "
     "t.request_id IN (SELECT m.request_id FROM trace_request_metadata m WHERE "
     "m.key = ? AND m.value = ?))",
     "'r1' 'mlflow.sourceRun' 'r1'"},
    {&pg_old, "span.type = 'LLM' AND trace.timestamp_ms > 20000 AND span.name LIKE 'a%'", MS_OK,
     "EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.request_id AND "
     "s.start_time_unix_nano >= $1 AND s.type = $2 AND s.name LIKE $3) AND "
     "t.timestamp_ms > $4",
     "10000000000 'LLM' 'a%' 20000"},
    {&sqlite_new, "span.attributes.`mlflow.spanType` RLIKE '^LLM$'", MS_OK,
     "EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.request_id AND "
     "s.content REGEXP ?)",
     "'\"mlflow.spanType\": \"\\\\\"LLM\\\\\"'"},
    {&sqlite_new, "span.attributes.k ILIKE '%v%'", MS_OK,
     "EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.request_id AND "
     "lower(s.content) LIKE lower(?))",
     "'%\"k\"%v%%'"},
    {&pg_old, "feedback.x = 'yes'", MS_OK,
     "(EXISTS (SELECT 1 FROM assessments a WHERE a.trace_id = t.request_id AND "
     "a.assessment_type = 'feedback' AND a.name = $1 AND a.valid = true AND (a.value = $2 OR "
     "a.value = $3)))",
     "'x' 'yes' '\"yes\"'"},
    {&pg_old, "expectation.x >= 2", MS_OK,
     "(EXISTS (SELECT 1 FROM assessments a WHERE a.trace_id = t.request_id AND "
     "a.assessment_type = 'expectation' AND a.name = $1 AND a.valid = true AND CASE WHEN "
     "lower(a.value) IN ('true', 'false', 'null', 'nan', 'infinity', '-infinity') THEN NULL "
     "WHEN substring(a.value from 1 for 1) IN ('\"', '[', '{') THEN NULL ELSE CAST(a.value AS "
     "DOUBLE PRECISION) END >= $2))",
     "'x' 2d"},
    {&sqlite_new, "feedback.x > 0.5", MS_OK,
     "(EXISTS (SELECT 1 FROM assessments a WHERE a.trace_id = t.request_id AND "
     "a.assessment_type = 'feedback' AND a.name = ? AND a.valid = 1 AND a.is_numeric_value = 1 "
     "AND a.aggregate_value > ?) OR (t.session_id IS NOT NULL AND t.session_id IN (SELECT "
     "ts.session_id FROM trace_info ts JOIN assessments a ON a.trace_id = ts.request_id WHERE "
     "ts.experiment_id = t.experiment_id AND ts.session_id IS NOT NULL AND a.assessment_type = "
     "'feedback' AND a.name = ? AND a.valid = 1 AND a.is_numeric_value = 1 AND "
     "a.aggregate_value > ? AND a.assessment_metadata IS NOT NULL AND a.assessment_metadata "
     "LIKE ?)))",
     "'x' 0.5d 'x' 0.5d '%\"mlflow.trace.session\":%'"},
    {&sqlite_new, "tag.k IS NOT NULL AND issue.id = 'i'", MS_OK,
     "EXISTS (SELECT 1 FROM trace_tags g WHERE g.request_id = t.request_id AND g.key = ?) AND "
     "EXISTS (SELECT 1 FROM assessments a WHERE a.trace_id = t.request_id AND "
     "a.assessment_type = 'issue' AND a.name = ?)",
     "'k' 'i'"},
    {&sqlite_new, "prompt = 'qa/2'", MS_OK,
     "EXISTS (SELECT 1 FROM entity_associations e WHERE e.source_id = t.request_id AND "
     "e.source_type = 'trace' AND e.destination_type = 'prompt_version' AND e.destination_id = "
     "?)",
     "'qa/2'"},
    {&sqlite_bare, "trace.status = 'OK' AND span.name = 'x'", MS_E_UNSUPPORTED, NULL, NULL},
    {&sqlite_bare, "feedback.x IS NULL", MS_E_UNSUPPORTED, NULL, NULL},
    {&sqlite_bare, "prompt = 'a/1'", MS_E_UNSUPPORTED, NULL, NULL},
    {&sqlite_new, "metadata.`mlflow.trace.cost` = '{}'", MS_E_UNSUPPORTED, NULL, NULL},
};

static void test_sql(void **state)
{
    (void)state;
    for (size_t i = 0; i < TU_COUNT(sql_cases); i++) {
        const struct sql_case *c = &sql_cases[i];
        ms_filter *f = NULL;
        struct ms_error err = {0, 0, ""};
        if (ms_filter_parse(c->filter, &f, &err) != MS_OK)
            fail_msg("%s: %s", c->filter, err.msg);
        struct msx_buf w, pb;
        msx_buf_init(&w, MSX_CAP_LINE);
        msx_buf_init(&pb, MSX_CAP_LINE);
        struct msi_sql_params p;
        msi_sql_params_init(&p);
        ms_code rc = msi_filter_to_sql(f, c->target, &w, &p, &err);
        if (rc != c->rc)
            fail_msg("%s: rc %d, want %d (%s)", c->filter, rc, c->rc, err.msg);
        if (rc == MS_OK) {
            params_text(&p, &pb);
            msx_buf_adds(&pb, "");
            tu_str_eq(c->filter, w.ptr, w.len, c->sql);
            tu_str_eq(c->filter, pb.ptr, pb.len, c->params);
        } else {
            assert_int_equal(err.code, MS_E_UNSUPPORTED);
            TU_TRUE(c->filter, err.offset >= 0);
        }
        msx_buf_release(&w);
        msx_buf_release(&pb);
        msi_sql_params_release(&p);
        ms_filter_free(f);
    }
}

static void test_order_sql(void **state)
{
    (void)state;
    static const struct {
        const struct msi_sql_target *target;
        const char *clause;
        const char *sql;
    } cases[] = {
        {&sqlite_new, NULL, "t.timestamp_ms DESC, t.request_id ASC"},
        {&sqlite_new, "execution_time_ms ASC",
         "CASE WHEN t.execution_time_ms IS NULL THEN 1 ELSE 0 END, t.execution_time_ms ASC, "
         "t.timestamp_ms DESC, t.request_id ASC"},
        {&sqlite_new, "name DESC",
         "CASE WHEN t.trace_name IS NULL THEN 1 ELSE 0 END, t.trace_name DESC, t.timestamp_ms "
         "DESC, t.request_id ASC"},
        {&pg_old, "tag.`it's\\`",
         "CASE WHEN (SELECT o.value FROM trace_tags o WHERE o.request_id = t.request_id AND "
         "o.key = E'it''s\\\\') IS NULL THEN 1 ELSE 0 END, (SELECT o.value FROM trace_tags o "
         "WHERE o.request_id = t.request_id AND o.key = E'it''s\\\\') ASC, t.timestamp_ms DESC, "
         "t.request_id ASC"},
        {&sqlite_new, "request_id DESC", "t.request_id DESC, t.timestamp_ms DESC"},
    };
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        ms_order *o = NULL;
        struct ms_error err = {0, 0, ""};
        const char *cl[1] = {cases[i].clause};
        assert_int_equal(ms_order_parse(cl, cases[i].clause ? 1 : 0, &o, &err), MS_OK);
        struct msx_buf b;
        msx_buf_init(&b, MSX_CAP_LINE);
        assert_int_equal(msi_order_to_sql(o, cases[i].target, &b), MS_OK);
        tu_str_eq(cases[i].clause ? cases[i].clause : "default", b.ptr, b.len, cases[i].sql);
        msx_buf_release(&b);
        ms_order_free(o);
    }
}

/* LIKE corner cases: '%' runs, '_' as one UTF-8 character, no escapes. */
static void test_like(void **state)
{
    (void)state;
    static const struct {
        const char *s, *pat;
        bool icase, match;
    } cases[] = {
        {"abc", "abc", false, true},   {"abc", "ABC", false, false},
        {"abc", "ABC", true, true},    {"abc", "a%", false, true},
        {"abc", "%c", false, true},    {"abc", "%b%", false, true},
        {"abc", "a_c", false, true},   {"abc", "a__c", false, false},
        {"", "%", false, true},        {"", "_", false, false},
        {"aXbXc", "a%b%c", false, true}, {"ab", "a%%%b", false, true},
        {"é", "_", false, true},       {"é", "__", false, false},
        {"É", "é", true, false}, /* SQLite's lower() is ASCII only */
        {"a\\b", "a\\b", false, true}, {"a_b", "a\\_b", false, false},
        {"mississippi", "%iss%ppi", false, true}, {"mississippi", "%iss%ppx", false, false},
    };
    for (size_t i = 0; i < TU_COUNT(cases); i++)
        TU_TRUE(cases[i].pat, msi_like(cases[i].s, strlen(cases[i].s), cases[i].pat,
                                       strlen(cases[i].pat), cases[i].icase) == cases[i].match);
}

static void test_json_dumps(void **state)
{
    (void)state;
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_LINE);
    /* json.dumps('a"b\\c\n\x01é😀') */
    const char in[] = "a\"b\\c\n\x01\xc3\xa9\xf0\x9f\x98\x80";
    msi_json_dumps_str(&b, in, sizeof in - 1, true);
    tu_str_eq("ascii", b.ptr, b.len, "\"a\\\"b\\\\c\\n\\u0001\\u00e9\\ud83d\\ude00\"");
    msx_buf_reset(&b);
    msi_json_dumps_str(&b, in, sizeof in - 1, false);
    tu_str_eq("utf8", b.ptr, b.len, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\xf0\x9f\x98\x80\"");
    msx_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),    cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_eval),        cmocka_unit_test(test_needs_spans),
        cmocka_unit_test(test_order),       cmocka_unit_test(test_order_errors),
        cmocka_unit_test(test_sql),         cmocka_unit_test(test_order_sql),
        cmocka_unit_test(test_like),        cmocka_unit_test(test_json_dumps),
    };
    return cmocka_run_group_tests_name("filter", tests, NULL, NULL);
}
