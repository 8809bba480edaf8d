/* SPDX-License-Identifier: MIT
 *
 * Fuzz target for everything above the decoder: the input is read as a
 * trace export (ms_trace_set_load_buffer); every trace becomes a turn of
 * one session (ms_session_build: ordering, schema discovery of messages,
 * history detection, tools, documents), the session is analyzed with every
 * rule (ms_analyze_session, the root-cause walk included), every finding
 * is written as JSON, and the traces are grouped (ms_sessions_group) into
 * sessions with their aggregates. Nothing may crash, leak or read out of
 * bounds; each finding must have a rule and a severity in range, and its
 * JSON must be one valid document.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "mlsession/analyze.h"
#include "mlsession/session.h"
#include "mlsession/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "fuzz_session: check failed at line %d: %s\n", __LINE__, #cond); \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ms_trace_set *set = NULL;
    struct ms_error err = {0};
    if (ms_trace_set_load_buffer((const char *)data, size, &set, &err) != MS_OK)
        return 0;
    size_t n = ms_trace_set_count(set);
    const ms_trace **traces = malloc((n ? n : 1) * sizeof *traces);
    CHECK(traces);
    for (size_t i = 0; i < n; i++)
        traces[i] = ms_trace_set_at(set, i);

    ms_session *s = NULL;
    if (ms_session_build(traces, n, &s, &err) == MS_OK) {
        CHECK(s->n_turns == n);
        for (size_t i = 0; i < s->n_turns; i++) {
            const ms_turn *t = &s->turns[i];
            CHECK(t->index == (int64_t)i + 1);
            CHECK(t->first_new <= t->n_input);
            for (size_t k = 0; k < t->n_input; k++)
                CHECK(t->input[k].text.ptr || !t->input[k].text.len);
        }
        struct ms_analyze_options o;
        ms_analyze_options_init(&o);
        ms_findings *f = NULL;
        if (ms_analyze_session(s, &o, &f, &err) == MS_OK) {
            msx_json_parser *p = msx_json_parser_new();
            for (size_t i = 0; i < ms_findings_count(f); i++) {
                const ms_finding *x = ms_findings_at(f, i);
                CHECK(x->rule && *x->rule);
                CHECK(x->severity >= MS_SEV_INFO && x->severity <= MS_SEV_ERROR);
                CHECK(x->turn >= 0 && (size_t)x->turn <= s->n_turns);
                char *json = NULL;
                size_t len = 0;
                if (ms_finding_to_json(x, &json, &len) == MS_OK) {
                    msx_json v;
                    CHECK(p && msx_json_parse(p, json, len, false, &v, NULL) == MS_OK);
                    free(json);
                }
            }
            msx_json_parser_free(p);
        }
        ms_findings_free(f);
    }
    ms_session_free(s);

    struct ms_session_query q = {0};
    q.version = 1;
    q.include_unsessioned = true;
    q.with_trace_ids = true;
    ms_session_list *l = NULL;
    if (ms_sessions_group(traces, n, &q, &l, &err) == MS_OK) {
        size_t turns = 0;
        for (size_t i = 0; i < ms_session_list_count(l); i++) {
            const ms_session_summary *x = ms_session_list_at(l, i);
            CHECK(x->turns > 0);
            CHECK(x->idle_ms >= 0 && x->idle_max_ms <= x->idle_ms);
            turns += (size_t)x->turns;
        }
        CHECK(turns == n);
    }
    ms_session_list_free(l);
    free(traces);
    ms_trace_set_free(set);
    return 0;
}
