/* SPDX-License-Identifier: MIT
 *
 * Fuzz target for the session filter language: parse arbitrary bytes; when
 * they parse, evaluate every atom on a small fixed trace with spans, fold
 * the bits, evaluate the filter on a fixed session summary, and compile
 * every atom to SQL for SQLite and PostgreSQL (full and old schemas). A
 * parse error must carry an offset inside the text and a message; the
 * SQLite SQL must have as many ? as parameters, the PostgreSQL SQL number
 * its $n after the store's own. abort() on any failure. Depends on
 * session/sfilter*, filter/ and util/ only.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlsession/sfilter.h"
#include "session/sfilter_sql.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "fuzz_sfilter: check failed at line %d: %s\n", __LINE__, #cond); \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

#define S(lit) {lit, sizeof(lit) - 1}

static ms_kv tags[] = {{S("mlflow.traceName"), S("chat_turn")}, {S("env"), S("prod")}};
static ms_kv meta[] = {{S("mlflow.trace.user"), S("u-17")}};
static ms_span spans[] = {
    {.name = S("lookup_order"), .span_type = S("TOOL"), .start_ns = 0, .end_ns = 2000000,
     .has_end = true, .status = MS_STATUS_ERROR},
    {.name = S("llm"), .start_ns = 5, .has_end = false, .status = MS_STATUS_UNSET},
};
static const ms_trace trace = {
    .info = {.trace_id = S("tr-0123456789abcdef0123456789abcdef"), .experiment_id = S("1"),
             .request_preview = S("I want a refund caf\xc3\xa9"),
             .response_preview = S("Sorry."), .request_time_ms = 1000,
             .execution_duration_ms = 10, .has_execution_duration = true,
             .state = MS_STATE_ERROR, .tags = tags, .n_tags = 2, .metadata = meta,
             .n_metadata = 1,
             .usage = {.input_tokens = 10, .total_tokens = 12,
                       .present = MS_USAGE_INPUT | MS_USAGE_TOTAL}},
    .spans = spans,
    .n_spans = 2,
};
static ms_score scores[] = {
    {.name = S("UserFrustration"), .value_json = S("\"unresolved\"")},
    {.name = S("q"), .value_json = S("0.5")},
    {.name = S("u"), .value_json = S("\"\\ud83d\\ude00\\u00e9\\\"")},
    {.name = S("e"), .is_error = true},
};

static void to_sql(const ms_sfilter *f, size_t i, int dialect, bool full)
{
    struct msi_sql_target tg = {.dialect = dialect ? MSI_SQL_POSTGRES : MSI_SQL_SQLITE,
                                .has_session_id_column = full,
                                .has_spans_table = full,
                                .has_trace_name_column = full};
    struct msx_buf w;
    msx_buf_init(&w, MSX_CAP_OUTPUT);
    struct msi_sql_params p;
    msi_sql_params_init(&p);
    if (dialect)
        CHECK(msi_sql_params_add_int(&p, 7) == MS_OK); /* a store's own first */
    struct ms_error err = {MS_OK, -1, ""};
    ms_code rc = msi_sfilter_atom_sql(f, i, &tg, &w, &p, &err);
    CHECK(rc == MS_OK || rc == MS_E_UNSUPPORTED || rc == MS_E_NOMEM || rc == MS_E_TOOBIG);
    if (rc == MS_E_UNSUPPORTED)
        CHECK(!full);
    if (rc == MS_OK) {
        /* placeholders: outside the fixed '' literal we write */
        size_t q = 0, maxd = 0;
        bool in_lit = false;
        for (size_t k = 0; k < w.len; k++) {
            char c = w.ptr[k];
            if (c == '\'')
                in_lit = !in_lit;
            else if (!in_lit && c == '?')
                q++;
            else if (!in_lit && c == '$') {
                size_t v = 0;
                while (k + 1 < w.len && w.ptr[k + 1] >= '0' && w.ptr[k + 1] <= '9')
                    v = v * 10 + (size_t)(w.ptr[++k] - '0');
                CHECK(v == maxd + 1 || (maxd == 0 && v == 2));
                maxd = v;
            }
        }
        if (dialect)
            CHECK(q == 0 && (p.n == 1 ? maxd == 0 : maxd == p.n));
        else
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
    ms_sfilter *f = NULL;
    struct ms_error err = {MS_OK, -1, ""};
    ms_code rc = ms_sfilter_parse(text, &f, &err);
    if (rc == MS_OK) {
        CHECK(f != NULL);
        CHECK(strcmp(ms_sfilter_text(f), text) == 0);
        size_t n = ms_sfilter_atom_count(f);
        CHECK(n <= MS_SFILTER_MAX_ATOMS);
        ms_session_summary s;
        memset(&s, 0, sizeof s);
        s.session_id = (ms_str)S("s1");
        s.user_id = (ms_str)S("u-17");
        s.turns = 2;
        s.errors = 1;
        s.duration_ms = 3600000;
        s.idle_max_ms = 1000;
        s.first_ms = 1767261600000;
        s.last_ms = INT64_MAX; /* extremes must not overflow */
        s.tokens_total = INT64_MIN;
        s.has_tokens = true;
        s.latency_p50_ms = -1;
        s.scores = scores;
        s.n_scores = sizeof scores / sizeof scores[0];
        for (size_t i = 0; i < n; i++) {
            (void)ms_sfilter_atom_needs_spans(f, i);
            if (ms_sfilter_atom_match(f, i, &trace)) {
                s.atoms_any |= (uint64_t)1 << i;
                s.atoms_all |= (uint64_t)1 << i;
            }
            to_sql(f, i, 0, true);
            to_sql(f, i, 1, true);
            to_sql(f, i, 0, false);
            to_sql(f, i, 1, false);
        }
        (void)ms_sfilter_atom_match(f, n, &trace);
        (void)ms_sfilter_match(f, &s);
        ms_sfilter_free(f);
    } else {
        CHECK(f == NULL);
        CHECK(rc == MS_E_PARSE || rc == MS_E_NOMEM || rc == MS_E_TOOBIG);
        CHECK(err.code == rc);
        CHECK(err.msg[0] != '\0');
        if (rc == MS_E_PARSE)
            CHECK(err.offset >= 0 && (size_t)err.offset <= len);
    }
    free(text);
    return 0;
}
