/* SPDX-License-Identifier: MIT
 *
 * analyze_util.h - small synthetic sessions built straight from the public
 * structs (session.h, trace.h) for the analyzer unit tests, plus loading a
 * fixture session and looking findings up. Include after <cmocka.h> and
 * testutil.h. Everything is static inline.
 */
#ifndef MS_ANALYZE_UTIL_H
#define MS_ANALYZE_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlsession/analyze.h"
#include "mlsession/session.h"

#define AU_TURNS 8
#define AU_SPANS 12

struct au_session {
    ms_session s;
    ms_turn turns[AU_TURNS];
    ms_trace traces[AU_TURNS];
    ms_span spans[AU_TURNS][AU_SPANS];
    ms_event events[AU_TURNS][AU_SPANS];
    ms_attr ev_attrs[AU_TURNS][AU_SPANS][3];
    ms_attr attrs[AU_TURNS][AU_SPANS][2];
    ms_message out[AU_TURNS];
    ms_message in[AU_TURNS];
    char trace_ids[AU_TURNS][40];
};

static inline ms_str au_s(const char *p)
{
    ms_str s = {p, p ? strlen(p) : 0};
    return s;
}

static inline struct au_session *au_new(const char *sid)
{
    struct au_session *a = calloc(1, sizeof *a);
    assert_non_null(a);
    a->s.session_id = au_s(sid);
    a->s.turns = a->turns;
    return a;
}

/* Adds a turn: state, the user's message, the assistant's answer (NULL for
 * none). Turns start a minute apart and take a second. */
static inline ms_turn *au_turn(struct au_session *a, ms_trace_state st, const char *user,
                               const char *answer)
{
    size_t i = a->s.n_turns++;
    assert_true(i < AU_TURNS);
    ms_trace *t = &a->traces[i];
    snprintf(a->trace_ids[i], sizeof a->trace_ids[i], "tr-%032zu", i + 1);
    t->info.trace_id = au_s(a->trace_ids[i]);
    t->info.state = st;
    t->info.request_time_ms = 1768467600000 + (int64_t)i * 60000;
    t->info.execution_duration_ms = 1000;
    t->info.has_execution_duration = true;
    t->spans = a->spans[i];
    ms_turn *tu = &a->turns[i];
    tu->index = (int64_t)i + 1;
    tu->trace = t;
    tu->start_ms = t->info.request_time_ms;
    tu->latency_ms = 1000;
    tu->gap_ms = i ? 59000 : 0;
    if (user) {
        a->in[i].role = MS_ROLE_USER;
        a->in[i].text = au_s(user);
        tu->input = &a->in[i];
        tu->n_input = 1;
    }
    if (answer) {
        a->out[i].role = MS_ROLE_ASSISTANT;
        a->out[i].text = au_s(answer);
        tu->output = &a->out[i];
        tu->n_output = 1;
    }
    return tu;
}

/* Adds a span to turn i (from 0): id and parent are 16 hex ("" = root). */
static inline ms_span *au_span(struct au_session *a, size_t i, const char *id, const char *parent,
                               const char *name, const char *type, ms_status_code st)
{
    ms_trace *t = &a->traces[i];
    assert_true(t->n_spans < AU_SPANS);
    ms_span *sp = &a->spans[i][t->n_spans];
    snprintf(sp->span_id, sizeof sp->span_id, "%s", id);
    snprintf(sp->parent_id, sizeof sp->parent_id, "%s", parent);
    sp->name = au_s(name);
    sp->span_type = au_s(type);
    sp->status = st;
    sp->start_ns = (a->traces[i].info.request_time_ms + (int64_t)t->n_spans) * 1000000;
    sp->end_ns = sp->start_ns + 1000000;
    sp->has_end = true;
    sp->form = MS_FORM_V3;
    t->n_spans++;
    return sp;
}

static inline size_t au_span_index(struct au_session *a, size_t i, const ms_span *sp)
{
    return (size_t)(sp - a->spans[i]);
}

/* An "exception" event on span sp of turn i. */
static inline void au_exception(struct au_session *a, size_t i, ms_span *sp, const char *type,
                                const char *msg, const char *stack)
{
    size_t k = au_span_index(a, i, sp);
    ms_event *e = &a->events[i][k];
    ms_attr *at = a->ev_attrs[i][k];
    e->name = au_s("exception");
    at[0].key = au_s("exception.type");
    at[0].value = au_s(type);
    at[1].key = au_s("exception.message");
    at[1].value = au_s(msg);
    e->n_attrs = 2;
    if (stack) {
        at[2].key = au_s("exception.stacktrace");
        at[2].value = au_s(stack);
        e->n_attrs = 3;
    }
    e->attrs = at;
    sp->events = e;
    sp->n_events = 1;
}

/* mlflow.spanInputs / spanOutputs as recorded (JSON text in a string). */
static inline void au_io(struct au_session *a, size_t i, ms_span *sp, const char *in,
                         const char *out)
{
    size_t k = au_span_index(a, i, sp);
    ms_attr *at = a->attrs[i][k];
    size_t n = 0;
    if (in) {
        at[n].key = au_s("mlflow.spanInputs");
        at[n].value = au_s(in);
        n++;
    }
    if (out) {
        at[n].key = au_s("mlflow.spanOutputs");
        at[n].value = au_s(out);
        n++;
    }
    sp->attrs = at;
    sp->n_attrs = n;
}

/* Runs the analyzers on a with the given rules (NULL: all). */
static inline ms_findings *au_analyze(const ms_session *s, const char *rules)
{
    struct ms_analyze_options o;
    ms_analyze_options_init(&o);
    const char *list[1] = {rules};
    if (rules) {
        o.rules = list;
        o.n_rules = 1;
    }
    ms_findings *f = NULL;
    struct ms_error err = {MS_OK, -1, ""};
    if (ms_analyze_session(s, &o, &f, &err) != MS_OK)
        fail_msg("analyze: %s", err.msg);
    return f;
}

/* How many findings of rule (NULL: any) at turn (-1: any). */
static inline size_t au_count(const ms_findings *f, const char *rule, int64_t turn)
{
    size_t n = 0;
    for (size_t i = 0; i < ms_findings_count(f); i++) {
        const ms_finding *x = ms_findings_at(f, i);
        if ((!rule || strcmp(x->rule, rule) == 0) && (turn < 0 || x->turn == turn))
            n++;
    }
    return n;
}

/* The first finding of rule, or fails. */
static inline const ms_finding *au_find(const ms_findings *f, const char *rule)
{
    for (size_t i = 0; i < ms_findings_count(f); i++)
        if (strcmp(ms_findings_at(f, i)->rule, rule) == 0)
            return ms_findings_at(f, i);
    fail_msg("no %s finding", rule);
    return NULL;
}

static inline void au_dump(const ms_findings *f)
{
    for (size_t i = 0; i < ms_findings_count(f); i++) {
        const ms_finding *x = ms_findings_at(f, i);
        fprintf(stderr, "# %s %s turn %lld: %.*s\n", ms_severity_name(x->severity), x->rule,
                (long long)x->turn, (int)x->message.len, x->message.ptr);
    }
}

#define AU_DB MS_SOURCE_DIR "/tests/fixtures/sqlite/mlflow.db"

/* Loads a session of the main fixture store; NULL (test skipped by the
 * caller) if the store is not there. */
static inline ms_session *au_load(ms_store **st, const char *sid)
{
    struct ms_error err = {MS_OK, -1, ""};
    *st = NULL;
    FILE *fp = fopen(AU_DB, "rb");
    if (!fp)
        return NULL;
    fclose(fp);
    if (ms_store_open("sqlite:///" AU_DB, st, &err) != MS_OK)
        fail_msg("open: %s", err.msg);
    ms_session *s = NULL;
    if (ms_session_load(*st, NULL, 0, sid, &s, &err) != MS_OK)
        fail_msg("load %s: %s", sid, err.msg);
    return s;
}

#endif
