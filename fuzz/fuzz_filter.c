/* SPDX-License-Identifier: MIT
 *
 * Fuzz target for the trace filter language: parse arbitrary bytes; when
 * they parse, evaluate the filter on a small fixed trace (spans, tags,
 * metadata, assessments) and compile it to SQL for SQLite and PostgreSQL.
 * A parse error must carry an offset inside the text and a message; the SQL
 * must have as many placeholders as parameters. abort() on any failure.
 * Depends on filter/ and util/ only.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter/filter_sql.h"
#include "mlsession/filter.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "fuzz_filter: check failed at line %d: %s\n", __LINE__, #cond); \
            abort();                                                                    \
        }                                                                               \
    } while (0)

#define S(lit) {lit, sizeof(lit) - 1}

static ms_kv tags[] = {{S("mlflow.traceName"), S("chat_turn")}, {S("env"), S("prod")},
                       {S("mlflow.linkedPrompts"), S("[{\"name\": \"qa\", \"version\": \"2\"}]")}};
static ms_kv meta[] = {{S("mlflow.trace.session"), S("s1")}, {S("mlflow.sourceRun"), S("r1")}};
static ms_assessment as[] = {
    {.name = S("user_frustration"), .value_json = S("\"none\""), .valid = true, .has_valid = true},
    {.name = S("score"), .value_json = S("0.5")},
    {.name = S("facts"), .is_expectation = true,
     .serialized_json = S("{\"serialization_format\": \"JSON_FORMAT\", \"value\": \"[1]\"}")},
};
static ms_attr attrs[] = {{S("mlflow.spanType"), S("\"LLM\""), MS_VAL_STRING},
                          {S("mlflow.spanInputs"), S("{\"q\": \"caf\xc3\xa9\"}"), MS_VAL_STRING},
                          {S("n"), S("3"), MS_VAL_JSON}};
static ms_span spans[] = {
    {.trace_id = "0123456789abcdef0123456789abcdef", .span_id = "00000000000000a1",
     .name = S("llm"), .span_type = S("LLM"), .start_ns = 1000000000, .end_ns = 2000000000,
     .has_end = true, .status = MS_STATUS_ERROR, .attrs = attrs, .n_attrs = 3},
};
static const ms_trace trace = {
    .info = {.trace_id = S("tr-0123456789abcdef0123456789abcdef"), .experiment_id = S("1"),
             .client_request_id = S("req"), .request_time_ms = 1000,
             .execution_duration_ms = 10, .has_execution_duration = true,
             .state = MS_STATE_OK, .tags = tags, .n_tags = 3, .metadata = meta,
             .n_metadata = 2, .assessments = as, .n_assessments = 3},
    .spans = spans,
    .n_spans = 1,
};

static void to_sql(const ms_filter *f, int dialect)
{
    struct msi_sql_target tg = {.dialect = dialect ? MSI_SQL_POSTGRES : MSI_SQL_SQLITE,
                                .has_session_id_column = dialect == 0,
                                .has_spans_table = true,
                                .has_assessments_table = true,
                                .has_trace_name_column = dialect == 0,
                                .has_entity_associations_table = true,
                                .has_assessment_aggregate_columns = dialect == 0};
    struct msx_buf w;
    msx_buf_init(&w, MSX_CAP_OUTPUT);
    struct msi_sql_params p;
    msi_sql_params_init(&p);
    struct ms_error err;
    ms_code rc = msi_filter_to_sql(f, &tg, &w, &p, &err);
    CHECK(rc == MS_OK || rc == MS_E_UNSUPPORTED || rc == MS_E_NOMEM || rc == MS_E_TOOBIG);
    if (rc == MS_OK && dialect == 0) {
        /* every placeholder is a ? outside the fixed literals we write */
        size_t q = 0;
        bool in_lit = false;
        for (size_t i = 0; i < w.len; i++) {
            if (w.ptr[i] == '\'')
                in_lit = !in_lit;
            else if (!in_lit && w.ptr[i] == '?')
                q++;
        }
        CHECK(q == p.n);
    }
    msx_buf_release(&w);
    msi_sql_params_release(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    if (size)
        memcpy(text, data, size);
    text[size] = '\0';
    size_t len = strlen(text);
    ms_filter *f = NULL;
    struct ms_error err = {MS_OK, -1, ""};
    ms_code rc = ms_filter_parse(text, &f, &err);
    if (rc == MS_OK) {
        CHECK(f != NULL);
        (void)ms_filter_needs_spans(f);
        (void)ms_filter_match(f, &trace);
        to_sql(f, 0);
        to_sql(f, 1);
        ms_filter_free(f);
    } else {
        CHECK(f == NULL);
        CHECK(rc == MS_E_PARSE || rc == MS_E_NOMEM || rc == MS_E_TOOBIG);
        CHECK(err.code == rc);
        CHECK(err.msg[0] != '\0');
        if (rc == MS_E_PARSE)
            CHECK(err.offset >= 0 && (size_t)err.offset <= len);
    }
    /* the same bytes as one order_by clause */
    const char *clauses[1] = {text};
    ms_order *o = NULL;
    if (ms_order_parse(clauses, 1, &o, &err) == MS_OK) {
        CHECK(ms_order_compare(o, &trace, &trace) == 0);
        struct msi_sql_target tg = {.dialect = MSI_SQL_POSTGRES};
        struct msx_buf b;
        msx_buf_init(&b, MSX_CAP_OUTPUT);
        (void)msi_order_to_sql(o, &tg, &b);
        msx_buf_release(&b);
        ms_order_free(o);
    } else {
        CHECK(o == NULL);
    }
    free(text);
    return 0;
}
