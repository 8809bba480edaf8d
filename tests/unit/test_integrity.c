/* SPDX-License-Identifier: MIT
 *
 * Unit tests for src/analyze/integrity.c on synthetic sessions built from
 * the public structs: chat apps that send the whole history with every
 * turn (the shape of sess-history-drop and sess-context-overflow in
 * tests/fixtures/sqlite/manifest.json), then one fault at a time - planted
 * fault b (turn 5 sends [system, user] after four turns of history), an
 * altered, a reordered, a duplicated and a foreign message, a changed
 * system prompt, a sliding window - and the clean cases that must stay
 * silent (agents without history, failed turns, previews, dated prompts).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analyze/analyze_int.h"
#include "json/json.h"
#include "testutil.h"

#define MAXT 48
#define MAXM 100

struct fx {
    ms_session s;
    ms_turn turns[MAXT];
    ms_trace traces[MAXT];
    ms_message in[MAXT][MAXM];
    ms_message out[MAXT];
    char ids[MAXT][24];
};

static ms_str S(const char *p)
{
    return msi_s(p);
}

static ms_message M(ms_role r, const char *text)
{
    return (ms_message){r, S(text), {NULL, 0}, false};
}

/* sess-history-drop, as the users and the assistant said it */
static const char *const drop_user[] = {
    "Hello, I have a question about my order A-1077.",
    "When will it arrive?",
    "Can I still change the delivery address?",
    "OK. What is the tracking number?",
    "And if it arrives damaged, can I get it replaced?",
    "I told you already, it's the espresso machine order.",
    "A-1077.",
    "Thanks.",
};
static const char *const drop_reply[] = {
    "Your order A-1077 (espresso machine) is currently in transit. It is going to 7 Quay Lane, "
    "Bristol.",
    "Your order A-1077 (espresso machine) is currently in transit. It is going to 7 Quay Lane, "
    "Bristol.",
    "Order A-1077 is already in transit, so the address can no longer be changed. Please contact "
    "the carrier instead.",
    "The tracking number for order A-1077 is 1Z1077X.",
    "Could you tell me your order number? It looks like A-1234.",
    "Could you tell me your order number? It looks like A-1234.",
    "Your order A-1077 (espresso machine) is currently in transit. It is going to 7 Quay Lane, "
    "Bristol.",
    "You're welcome! Is there anything else I can help you with?",
};
#define SYS "You are the Acme support assistant. Be brief."

/* A chat session of n turns; turn k's input is [system, the history of
 * turns from..k-1, user k] where from = hist_from[k] (0: all). */
static struct fx *fx_chat(const char *const *user, const char *const *reply, size_t n,
                          const size_t *hist_from)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->s.session_id = S("s");
    f->s.turns = f->turns;
    f->s.n_turns = n;
    for (size_t k = 0; k < n; k++) {
        ms_turn *t = &f->turns[k];
        snprintf(f->ids[k], sizeof f->ids[k], "tr-%zu", k + 1);
        f->traces[k].info.trace_id = S(f->ids[k]);
        f->traces[k].info.state = MS_STATE_OK;
        t->index = (int64_t)k + 1;
        t->trace = &f->traces[k];
        t->io_source = MS_IO_SPAN;
        t->input = f->in[k];
        size_t m = 0;
        f->in[k][m++] = M(MS_ROLE_SYSTEM, SYS);
        for (size_t j = hist_from ? hist_from[k] : 0; j < k; j++) {
            f->in[k][m++] = M(MS_ROLE_USER, user[j]);
            if (reply[j])
                f->in[k][m++] = M(MS_ROLE_ASSISTANT, reply[j]);
        }
        f->in[k][m++] = M(MS_ROLE_USER, user[k]);
        t->n_input = m;
        t->first_new = m - 1;
        t->carries_history = m > 2;
        if (reply[k]) {
            f->out[k] = M(MS_ROLE_ASSISTANT, reply[k]);
            t->output = &f->out[k];
            t->n_output = 1;
        }
    }
    return f;
}

/* Replaces turn k's (from 1) input: "s:text", "u:text", "a:text", "t:text". */
static void fx_input(struct fx *f, size_t turn, const char *const *msgs, size_t n)
{
    ms_turn *t = &f->turns[turn - 1];
    for (size_t i = 0; i < n; i++) {
        ms_role r = msgs[i][0] == 's'   ? MS_ROLE_SYSTEM
                    : msgs[i][0] == 'u' ? MS_ROLE_USER
                    : msgs[i][0] == 'a' ? MS_ROLE_ASSISTANT
                                        : MS_ROLE_TOOL;
        f->in[turn - 1][i] = M(r, msgs[i] + 2);
    }
    t->n_input = n;
}

static ms_findings *run(const struct fx *f)
{
    struct ms_analyze_options o;
    ms_analyze_options_init(&o);
    const char *rules[] = {"integrity"};
    o.rules = rules;
    o.n_rules = 1;
    ms_findings *out = NULL;
    struct ms_error err;
    assert_int_equal(ms_analyze_session(&f->s, &o, &out, &err), MS_OK);
    return out;
}

static const char *summary(const ms_findings *fs)
{
    static char buf[4096];
    size_t m = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < ms_findings_count(fs); i++) {
        const ms_finding *x = ms_findings_at(fs, i);
        m += (size_t)snprintf(buf + m, sizeof buf - m, "%s%s@%lld:%s", m ? " " : "", x->rule,
                              (long long)x->turn, ms_severity_name(x->severity));
    }
    return buf;
}

static void want(const char *what, const struct fx *f, const char *exp, const char *msg)
{
    ms_findings *fs = run(f);
    const char *got = summary(fs);
    tu_str_eq(what, got, strlen(got), exp);
    if (msg) {
        const ms_finding *x = ms_findings_at(fs, 0);
        tu_str_eq(what, x->message.ptr, x->message.len, msg);
    }
    ms_findings_free(fs);
}

/* ---- fault b and the clean chat ---------------------------------------- */

static void test_history_drop(void **state)
{
    (void)state;
    /* turn 5 restarts the history: [system, user 5]; turns 6-8 build on it */
    static const size_t from[] = {0, 0, 0, 0, 4, 4, 4, 4};
    struct fx *f = fx_chat(drop_user, drop_reply, 8, from);
    want("fault b", f, "integrity.history_dropped@5:error",
         "turn 5 sent 2 messages; the 8 messages of turns 1-4 are missing; first missing: user "
         "message of turn 1 \"Hello, I have a question about my order A-1077.\"");
    ms_findings *fs = run(f);
    const ms_finding *x = ms_findings_at(fs, 0);
    tu_str_eq("trace", x->trace_id.ptr, x->trace_id.len, "tr-5");
    tu_str_eq("excerpt", x->excerpt.ptr, x->excerpt.len,
              "Hello, I have a question about my order A-1077.");
    ms_findings_free(fs);
    free(f);

    /* the same conversation with the whole history every turn: silent */
    f = fx_chat(drop_user, drop_reply, 8, NULL);
    want("clean", f, "", NULL);
    free(f);

    /* one exchange left out in the middle */
    static const size_t all[] = {0, 0, 0, 0, 0, 0, 0, 0};
    f = fx_chat(drop_user, drop_reply, 4, all);
    fx_input(f, 4,
             (const char *const[]){"s:" SYS, "u:Hello, I have a question about my order A-1077.",
                                   "a:Your order A-1077 (espresso machine) is currently in "
                                   "transit. It is going to 7 Quay Lane, Bristol.",
                                   "u:Can I still change the delivery address?",
                                   "a:Order A-1077 is already in transit, so the address can no "
                                   "longer be changed. Please contact the carrier instead.",
                                   "u:OK. What is the tracking number?"},
             6);
    want("middle", f, "integrity.history_dropped@4:error",
         "turn 4 sent 6 messages; the 2 messages of turn 2 are missing; first missing: user "
         "message of turn 2 \"When will it arrive?\"");
    free(f);
}

/* A history that keeps the last 4 messages: one warning, the first time. */
static void test_window(void **state)
{
    (void)state;
    static const size_t from[] = {0, 0, 0, 1, 2, 3, 4, 5};
    struct fx *f = fx_chat(drop_user, drop_reply, 8, from);
    want("window", f, "integrity.history_dropped@4:warn",
         "turn 4 sent 6 messages; the oldest 2 (turn 1) are missing while the last 4 are kept (a "
         "sliding window?); first missing: user message of turn 1 \"Hello, I have a question "
         "about my order A-1077.\"");
    free(f);
}

static void test_changed(void **state)
{
    (void)state;
    struct fx *f = fx_chat(drop_user, drop_reply, 4, NULL);
    /* turns 3 and 4 carry turn 1's answer with another city: one finding */
    for (size_t k = 2; k < 4; k++)
        f->in[k][2] = M(MS_ROLE_ASSISTANT, "Your order A-1077 (espresso machine) is currently in "
                                           "transit. It is going to 7 Quay Lane, Leeds.");
    want("changed", f, "integrity.history_changed@3:error",
         "turn 3 sent the answer of turn 1 altered: \"...to 7 Quay Lane, Leeds.\" instead of "
         "\"...to 7 Quay Lane, Bristol.\"");
    free(f);
}

static void test_reordered_duplicated(void **state)
{
    (void)state;
    struct fx *f = fx_chat(drop_user, drop_reply, 4, NULL);
    /* turn 4: [sys, u1, a1, a2, u2, u3, a3, u4] */
    ms_message tmp = f->in[3][3];
    f->in[3][3] = f->in[3][4];
    f->in[3][4] = tmp;
    want("reordered", f, "integrity.history_reordered@4:warn",
         "turn 4 sent the user message of turn 2 after the answer of turn 2: \"When will it "
         "arrive?\"");
    free(f);

    f = fx_chat(drop_user, drop_reply, 4, NULL);
    fx_input(f, 3,
             (const char *const[]){"s:" SYS, "u:Hello, I have a question about my order A-1077.",
                                   "a:The tracking number for order A-1077 is 1Z1077X.",
                                   "u:Hello, I have a question about my order A-1077.",
                                   "u:When will it arrive?",
                                   "u:Can I still change the delivery address?"},
             6);
    /* a2 == a1, so the answer kept is turn 1's; turn 1's user message twice */
    ms_findings *fs = run(f);
    TU_TRUE("dup", strstr(summary(fs), "integrity.history_duplicated@3:warn") != NULL);
    ms_findings_free(fs);
    free(f);
}

static void test_foreign(void **state)
{
    (void)state;
    struct fx *f = fx_chat(drop_user, drop_reply, 4, NULL);
    /* turn 3 carries an exchange of another session */
    fx_input(f, 3,
             (const char *const[]){"s:" SYS, "u:Hello, I have a question about my order A-1077.",
                                   "a:Your order A-1077 (espresso machine) is currently in "
                                   "transit. It is going to 7 Quay Lane, Bristol.",
                                   "u:Please refund order B-9931 to my card.",
                                   "a:Order B-9931 has been refunded.", "u:When will it arrive?",
                                   "a:Your order A-1077 (espresso machine) is currently in "
                                   "transit. It is going to 7 Quay Lane, Bristol.",
                                   "u:Can I still change the delivery address?"},
             8);
    want("foreign", f, "integrity.foreign_content@3:error",
         "turn 3's history holds a user message with B-9931, which no earlier turn of the session "
         "mentions: \"Please refund order B-9931 to my card.\"");
    free(f);

    /* a summary the app wrote, naming only what the session said: silent */
    f = fx_chat(drop_user, drop_reply, 4, NULL);
    fx_input(f, 3,
             (const char *const[]){"s:" SYS,
                                   "a:Summary so far: order A-1077 (espresso machine) is on "
                                   "its way.",
                                   "u:When will it arrive?",
                                   "a:Your order A-1077 (espresso machine) is currently in "
                                   "transit. It is going to 7 Quay Lane, Bristol.",
                                   "u:Can I still change the delivery address?"},
             5);
    want("summary", f, "integrity.history_dropped@3:warn",
         "turn 3 sent 5 messages; the oldest 2 (turn 1) are missing while the last 2 are kept "
         "(summarised); first missing: user message of turn 1 \"Hello, I have a question about "
         "my order A-1077.\"");
    free(f);

    /* a summary replacing many turns, keeping fewer than it lost */
    f = fx_chat(drop_user, drop_reply, 6, NULL);
    fx_input(f, 6,
             (const char *const[]){"s:" SYS "\nSummary of the conversation so far: order A-1077, "
                                   "espresso machine, in transit, tracking 1Z1077X.",
                                   "u:And if it arrives damaged, can I get it replaced?",
                                   "a:Could you tell me your order number? It looks like A-1234.",
                                   "u:I told you already, it's the espresso machine order."},
             4);
    want("summary 2", f, "integrity.history_dropped@6:warn",
         "turn 6 sent 4 messages; the oldest 8 (turns 1-4) are missing while the last 2 are kept "
         "(summarised); first missing: user message of turn 1 \"Hello, I have a question about "
         "my order A-1077.\"");
    free(f);
}

static void test_system_prompt(void **state)
{
    (void)state;
    struct fx *f = fx_chat(drop_user, drop_reply, 4, NULL);
    f->in[2][0] = M(MS_ROLE_SYSTEM, "You are the Acme support assistant. Be rude.");
    f->in[3][0] = f->in[2][0];
    want("changed", f, "integrity.system_prompt_changed@3:warn",
         "turn 3's system prompt differs from turn 2's (45 -> 44 bytes), from byte 39: \"rude.\"");
    free(f);

    /* only a date differs: the same prompt */
    f = fx_chat(drop_user, drop_reply, 3, NULL);
    f->in[0][0] = M(MS_ROLE_SYSTEM, "Today is 2026-01-15 09:00. Be brief.");
    f->in[1][0] = M(MS_ROLE_SYSTEM, "Today is 2026-01-15  09:59.\nBe brief.");
    f->in[2][0] = M(MS_ROLE_SYSTEM, "Today is 2026-01-16 10:00. Be brief.");
    want("dated", f, "", NULL);
    free(f);
}

/* The system prompt only in the LLM call (the app adds it there): read
 * from the first CHAT_MODEL span's inputs. Documents a RAG app pastes into
 * the prompt are not a change. */
static void test_system_prompt_llm(void **state)
{
    (void)state;
    static const char *const in[] = {
        "{\"messages\": [{\"role\": \"system\", \"content\": \"You are Acme support. Be "
        "brief.\"}, {\"role\": \"user\", \"content\": \"hi\"}]}",
        "[{\"role\": \"system\", \"content\": [{\"type\": \"text\", \"text\": \"You are "
        "Acme support. Be brief.\"}]}]",
        "{\"messages\": [{\"role\": \"system\", \"content\": \"You are Acme support. Be "
        "rude.\"}]}",
        /* RAG: the same instructions, then a retrieved document */
        "{\"messages\": [{\"role\": \"system\", \"content\": \"You are Acme support. Be "
        "rude. Context: Refund policy: you can return any item within 30 days.\"}]}",
        "{\"messages\": [{\"role\": \"system\", \"content\": \"You are Acme support. Be "
        "rude. Context: Shipping takes 3-5 business days for all parcels.\"}]}",
        "not json",
    };
    static const char *const docs[] = {NULL, NULL, NULL,
                                       "Refund policy: you can return any item within 30 days.",
                                       "Shipping takes 3-5 business days for all parcels.", NULL};
    enum { N = sizeof in / sizeof in[0] };
    static const size_t own[] = {0, 1, 2, 3, 4, 5};
    static const char *const u[] = {"a", "b", "c", "d", "e", "f"};
    static const char *const r[] = {"A", "B", "C", "D", "E", "F"};
    struct fx *f = fx_chat(u, r, N, own);
    ms_span spans[N];
    ms_attr attrs[N];
    ms_document dd[N];
    memset(spans, 0, sizeof spans);
    memset(dd, 0, sizeof dd);
    for (size_t k = 0; k < N; k++) {
        f->in[k][0] = f->in[k][1]; /* no system message in the input */
        f->turns[k].n_input = 1;
        attrs[k] = (ms_attr){S("mlflow.spanInputs"), S(in[k]), MS_VAL_STRING};
        spans[k].span_type = S("CHAT_MODEL");
        spans[k].attrs = &attrs[k];
        spans[k].n_attrs = 1;
        f->traces[k].spans = &spans[k];
        f->traces[k].n_spans = 1;
        if (docs[k]) {
            dd[k].text = S(docs[k]);
            f->turns[k].docs = &dd[k];
            f->turns[k].n_docs = 1;
        }
    }
    for (size_t k = 0; k < N; k++)
        snprintf(spans[k].span_id, sizeof spans[k].span_id, "00000000000000%02zu", k + 1);
    want("llm", f, "integrity.system_prompt_changed@3:warn",
         "turn 3's system prompt differs from turn 2's (31 -> 30 bytes), from byte 25: \"rude.\"");
    ms_findings *fs = run(f);
    tu_str_eq("span", ms_findings_at(fs, 0)->span_id.ptr, ms_findings_at(fs, 0)->span_id.len,
              "0000000000000003");
    ms_findings_free(fs);
    free(f);
}

/* A retried turn (the user sends the same message again; the app keeps one
 * copy), and a history cleared because the user asked to start over. */
static void test_retry_reset(void **state)
{
    (void)state;
    static const char *const u[] = {"Where is order A-1077?", "When will it arrive?",
                                    "When will it arrive?", "Thanks."};
    static const char *const r[] = {"In transit.", "Sorry, something went wrong.",
                                    "Tomorrow before noon.", "You're welcome!"};
    struct fx *f = fx_chat(u, r, 4, NULL);
    /* turns 3 and 4 carry only the second attempt */
    fx_input(f, 3,
             (const char *const[]){"s:" SYS, "u:Where is order A-1077?", "a:In transit.",
                                   "u:When will it arrive?"},
             4);
    fx_input(f, 4,
             (const char *const[]){"s:" SYS, "u:Where is order A-1077?", "a:In transit.",
                                   "u:When will it arrive?", "a:Tomorrow before noon.",
                                   "u:Thanks."},
             6);
    want("retry", f, "", NULL);
    free(f);

    static const char *const u2[] = {"Where is order A-1077?", "Let's start over: new topic.",
                                     "Do you sell lamps?"};
    static const char *const r2[] = {"In transit.", "Sure.", "Yes."};
    static const size_t from[] = {0, 0, 2};
    f = fx_chat(u2, r2, 3, from);
    want("reset", f, "", NULL);
    free(f);
}

/* ---- must stay silent --------------------------------------------------- */

static void test_silent(void **state)
{
    (void)state;
    /* an agent: every turn sends only its user message */
    static const size_t own[] = {0, 1, 2, 3, 4, 5, 6, 7};
    struct fx *f = fx_chat(drop_user, drop_reply, 8, own);
    want("agent", f, "", NULL);
    free(f);

    /* a failed turn (no answer) whose user message the app leaves out */
    const char *const reply[] = {drop_reply[0], NULL, drop_reply[2], drop_reply[3]};
    f = fx_chat(drop_user, reply, 4, NULL);
    f->traces[1].info.state = MS_STATE_ERROR;
    fx_input(f, 3,
             (const char *const[]){"s:" SYS, "u:Hello, I have a question about my order A-1077.",
                                   "a:Your order A-1077 (espresso machine) is currently in "
                                   "transit. It is going to 7 Quay Lane, Bristol.",
                                   "u:Can I still change the delivery address?"},
             4);
    want("failed turn", f, "", NULL);
    free(f);

    /* a turn read from previews is not judged */
    static const size_t from[] = {0, 0, 0, 0, 4, 4, 4, 4};
    f = fx_chat(drop_user, drop_reply, 8, from);
    f->turns[4].io_source = MS_IO_PREVIEW;
    want("preview", f, "integrity.history_dropped@6:error", NULL); /* seen at turn 6 instead */
    free(f);

    /* truncated history messages match as prefixes; tool messages and
     * tool-call-only answers are not history */
    f = fx_chat(drop_user, drop_reply, 3, NULL);
    f->in[2][2].text.len = 30;
    f->in[2][2].truncated = true;
    want("truncated", f, "", NULL);
    free(f);

    /* empty and odd sessions */
    f = fx_chat(drop_user, drop_reply, 1, NULL);
    want("one turn", f, "", NULL);
    f->s.n_turns = 0;
    want("none", f, "", NULL);
    f->s.n_turns = 2;
    f->turns[1].n_input = 0;
    f->turns[1].n_output = 0;
    want("empty turn", f, "", NULL);
    free(f);
}

/* An agent keeping the history server-side: each turn's input is only the
 * user message; the history shows in its LLM call's messages. Turn 4's
 * call is [system, user 4]. */
static void test_history_in_llm_call(void **state)
{
    (void)state;
    enum { N = 5 };
    static const size_t own[] = {0, 1, 2, 3, 4};
    struct fx *f = fx_chat(drop_user, drop_reply, N, own);
    static char json[N][4096];
    ms_span spans[N];
    ms_attr attrs[N];
    memset(spans, 0, sizeof spans);
    for (size_t k = 0; k < N; k++) {
        f->in[k][0] = f->in[k][1]; /* the input: the user message only */
        f->turns[k].n_input = 1;
        size_t m = (size_t)snprintf(json[k], sizeof json[k],
                                    "{\"messages\": [{\"role\": \"system\", \"content\": \"%s\"}",
                                    SYS);
        for (size_t j = k == 3 ? 3 : 0; j < k; j++)
            m += (size_t)snprintf(json[k] + m, sizeof json[k] - m,
                                  ", {\"role\": \"user\", \"content\": \"%s\"}, {\"role\": "
                                  "\"assistant\", \"content\": \"%s\"}, {\"role\": \"tool\", "
                                  "\"content\": \"{}\"}",
                                  drop_user[j], drop_reply[j]);
        snprintf(json[k] + m, sizeof json[k] - m,
                 ", {\"role\": \"user\", \"content\": \"%s\"}]}", drop_user[k]);
        attrs[k] = (ms_attr){S("mlflow.spanInputs"), S(json[k]), MS_VAL_STRING};
        spans[k].span_type = S("CHAT_MODEL");
        snprintf(spans[k].span_id, sizeof spans[k].span_id, "00000000000000%02zu", k + 1);
        spans[k].attrs = &attrs[k];
        spans[k].n_attrs = 1;
        f->traces[k].spans = &spans[k];
        f->traces[k].n_spans = 1;
    }
    /* turn 2 calls a guard model first, without the history: not a drop */
    ms_span two[2];
    ms_attr guard = {S("mlflow.spanInputs"),
                     S("[{\"role\": \"system\", \"content\": \"Is this abuse?\"}, "
                       "{\"role\": \"user\", \"content\": \"When will it arrive?\"}]"),
                     MS_VAL_STRING};
    memset(two, 0, sizeof two);
    two[0] = spans[1];
    two[0].start_ns = 20;
    two[1] = spans[1];
    two[1].start_ns = 10;
    two[1].attrs = &guard;
    snprintf(two[1].span_id, sizeof two[1].span_id, "00000000000000ff");
    f->traces[1].spans = two;
    f->traces[1].n_spans = 2;
    want("server-side", f, "integrity.history_dropped@4:error",
         "turn 4 sent 2 messages; the 6 messages of turns 1-3 are missing; first missing: user "
         "message of turn 1 \"Hello, I have a question about my order A-1077.\"");
    ms_findings *fs = run(f);
    const ms_finding *x = ms_findings_at(fs, 0);
    tu_str_eq("span", x->span_id.ptr, x->span_id.len, "0000000000000004");
    tu_str_eq("path", x->path.ptr, x->path.len, "spans[0].attributes.\"mlflow.spanInputs\"");
    ms_findings_free(fs);
    free(f);
}

/* A long chat sending its whole history every turn: turn k's input is a
 * prefix of one array [system, u1, a1, ..., un, an]. Silent, and quadratic
 * only in the cheap in-order match (2000 turns: 4M messages compared). */
static void test_long_session(void **state)
{
    (void)state;
    enum { N = 2000 };
    ms_message *all = calloc(2 * N + 1, sizeof *all);
    ms_turn *turns = calloc(N, sizeof *turns);
    ms_trace *traces = calloc(N, sizeof *traces);
    char(*text)[64] = calloc(2 * N, sizeof *text);
    assert_true(all && turns && traces && text);
    all[0] = M(MS_ROLE_SYSTEM, SYS);
    for (size_t k = 0; k < N; k++) {
        snprintf(text[2 * k], 64, "Question %zu: where is order A-%zu?", k + 1, 1000 + k);
        snprintf(text[2 * k + 1], 64, "Order A-%zu is in transit.", 1000 + k);
        all[1 + 2 * k] = M(MS_ROLE_USER, text[2 * k]);
        all[2 + 2 * k] = M(MS_ROLE_ASSISTANT, text[2 * k + 1]);
        traces[k].info.trace_id = S("tr");
        traces[k].info.state = MS_STATE_OK;
        turns[k] = (ms_turn){.index = (int64_t)k + 1, .trace = &traces[k], .input = all,
                             .n_input = 2 * k + 2, .output = &all[2 + 2 * k], .n_output = 1,
                             .io_source = MS_IO_SPAN};
    }
    ms_session s = {.session_id = S("long"), .turns = turns, .n_turns = N};
    struct ms_analyze_options o;
    ms_analyze_options_init(&o);
    const char *rules[] = {"integrity"};
    o.rules = rules;
    o.n_rules = 1;
    ms_findings *fs = NULL;
    struct ms_error err;
    assert_int_equal(ms_analyze_session(&s, &o, &fs, &err), MS_OK);
    assert_int_equal(ms_findings_count(fs), 0);
    ms_findings_free(fs);

    /* turn 1500 drops everything before turn 1000 */
    turns[1499].input = &all[1 + 2 * 999];
    turns[1499].n_input = 2 * 500 + 1;
    assert_int_equal(ms_analyze_session(&s, &o, &fs, &err), MS_OK);
    const char *got = summary(fs);
    tu_str_eq("drop", got, strlen(got), "integrity.history_dropped@1500:error");
    const ms_finding *x = ms_findings_at(fs, 0);
    tu_str_eq("msg", x->message.ptr, x->message.len,
              "turn 1500 sent 1001 messages; the 1998 messages of turns 1-999 are missing; "
              "first missing: user message of turn 1 \"Question 1: where is order A-1000?\"");
    ms_findings_free(fs);
    free(all);
    free(turns);
    free(traces);
    free(text);
}

/* ---- the SQLite fixture store, through ms_session_load ------------------ */

/* rule@turn:severity of every finding, in the findings' order */
static const char *fixture_summary(const ms_findings *fs)
{
    static char buf[4096];
    size_t m = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < ms_findings_count(fs); i++) {
        const ms_finding *x = ms_findings_at(fs, i);
        m += (size_t)snprintf(buf + m, sizeof buf - m, "%s%s@%lld:%s", m ? " " : "", x->rule,
                              (long long)x->turn, ms_severity_name(x->severity));
    }
    return buf;
}

static void test_fixture_store(void **state)
{
    (void)state;
    static const struct {
        const char *sid;
        const char *want;
    } cases[] = {
    {"sess-history-drop", "integrity.history_dropped@5:error"}, /* fault b */
    {"sess-rag-outdated", ""},        {"sess-context-overflow", ""}, {"sess-idle-gap", ""},
    {"sess-corrections", ""},         {"sess-tool-loop", ""},        {"sess-openai", ""},
    {"sess-http-wrapper", ""},        {"sess-errors", ""},           {"sess-tag-only", ""},
    {"sess-crash", ""},               {"conv-7f3c2a9e", ""},         {"sess-happy-rag", ""},
    {"sess-unicode", ""},             {"3e1f5b7a-9c2d-4e8f-a1b6-7d9c0e2f4a58", ""},
    {"stg-sess-01", ""},              {"stg-sess-02", ""},           {"stg-sess-03", ""},
    };
    const char *db = MS_SOURCE_DIR "/tests/fixtures/sqlite/mlflow.db";
    if (!tu_file_exists(db))
        skip();
    ms_store *st = NULL;
    struct ms_error err;
    assert_int_equal(ms_store_open("sqlite:///" MS_SOURCE_DIR "/tests/fixtures/sqlite/mlflow.db",
                                   &st, &err),
                     MS_OK);
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        ms_session *s = NULL;
        if (ms_session_load(st, NULL, 0, cases[i].sid, &s, &err) != MS_OK)
            fail_msg("%s: %s", cases[i].sid, err.msg);
        struct ms_analyze_options o;
        ms_analyze_options_init(&o);
        const char *rules[] = {"integrity"};
        o.rules = rules;
        o.n_rules = 1;
        ms_findings *fs = NULL;
        assert_int_equal(ms_analyze_session(s, &o, &fs, &err), MS_OK);
        const char *got = fixture_summary(fs);
        tu_str_eq(cases[i].sid, got, strlen(got), cases[i].want);
        ms_findings_free(fs);
        ms_session_free(s);
    }
    ms_store_close(st);
}

/* ---- the labelled corpus (tests/fixtures/corpus) ----------------------- */

/* Every session of the corpus: each expected integrity finding at its turn,
 * and no integrity finding that labels.json does not list as expected or
 * acceptable (at that turn, or at any when its turn is null); clean
 * sessions: none at all. */
static void test_corpus(void **state)
{
    (void)state;
    const char *labels = MS_SOURCE_DIR "/tests/fixtures/corpus/labels.json";
    if (!tu_file_exists(labels) ||
        !tu_file_exists(MS_SOURCE_DIR "/tests/fixtures/corpus/mlflow.db"))
        skip();
    size_t len;
    char *text = tu_read_file(labels, &len);
    msx_json_parser *jp = msx_json_parser_new();
    msx_json root;
    struct ms_error err;
    assert_int_equal(msx_json_parse(jp, text, len, false, &root, &err), MS_OK);
    ms_store *st = NULL;
    assert_int_equal(
        ms_store_open("sqlite:///" MS_SOURCE_DIR "/tests/fixtures/corpus/mlflow.db", &st, &err),
        MS_OK);
    const char *family = "integrity.";
    size_t expected = 0, found = 0, alarms = 0, sessions = 0;
    struct msx_json_iter it = msx_json_iter_init(msx_json_get(root, "sessions"));
    ms_str key;
    msx_json sess;
    while (msx_json_next(&it, &key, &sess)) {
        ms_str sid = msx_json_str(msx_json_get(sess, "session_id"));
        char id[128];
        snprintf(id, sizeof id, "%.*s", (int)sid.len, sid.ptr);
        ms_session *s = NULL;
        if (ms_session_load(st, NULL, 0, id, &s, &err) != MS_OK)
            fail_msg("%s: %s", id, err.msg);
        struct ms_analyze_options o;
        ms_analyze_options_init(&o);
        const char *rules[] = {"integrity"};
        o.rules = rules;
        o.n_rules = 1;
        ms_findings *fs = NULL;
        assert_int_equal(ms_analyze_session(s, &o, &fs, &err), MS_OK);
        sessions++;
        /* expected ones found at their turn */
        struct msx_json_iter ei = msx_json_iter_init(msx_json_get(sess, "expected"));
        msx_json e;
        while (msx_json_next(&ei, &key, &e)) {
            ms_str rule = msx_json_str(msx_json_get(e, "rule"));
            int64_t turn = 0;
            msx_json_int64(msx_json_get(e, "turn"), &turn);
            if (rule.len < strlen(family) || memcmp(rule.ptr, family, strlen(family)) != 0)
                continue;
            expected++;
            bool hit = false;
            for (size_t i = 0; i < ms_findings_count(fs) && !hit; i++) {
                const ms_finding *x = ms_findings_at(fs, i);
                hit = x->turn == turn && strlen(x->rule) == rule.len &&
                      memcmp(x->rule, rule.ptr, rule.len) == 0;
            }
            if (hit)
                found++;
            else
                printf("# MISSED %s: %.*s at turn %lld\n", id, (int)rule.len, rule.ptr,
                       (long long)turn);
        }
        /* every finding listed */
        for (size_t i = 0; i < ms_findings_count(fs); i++) {
            const ms_finding *x = ms_findings_at(fs, i);
            bool listed = false;
            const char *lists[] = {"expected", "acceptable"};
            for (size_t l = 0; l < 2 && !listed; l++) {
                struct msx_json_iter li = msx_json_iter_init(msx_json_get(sess, lists[l]));
                while (!listed && msx_json_next(&li, &key, &e)) {
                    int64_t turn = 0; /* absent or null: any turn */
                    bool any = !msx_json_int64(msx_json_get(e, "turn"), &turn);
                    listed = (any || turn == x->turn) &&
                             msx_json_str_eq(msx_json_get(e, "rule"), x->rule);
                }
            }
            if (!listed) {
                alarms++;
                printf("# FALSE ALARM %s: %s at turn %lld: %.*s\n", id, x->rule,
                       (long long)x->turn, (int)x->message.len, x->message.ptr);
            }
        }
        ms_findings_free(fs);
        ms_session_free(s);
    }
    printf("# corpus integrity: %zu sessions, %zu/%zu expected found, %zu false alarms\n", sessions,
           found, expected, alarms);
    ms_store_close(st);
    msx_json_parser_free(jp);
    free(text);
    assert_true(sessions >= 50);
    assert_int_equal(found, expected);
    assert_int_equal(alarms, 0);
}

/* Random bytes, roles and shapes (a fixed LCG seed): never a crash, a
 * leak or a read out of bounds (run under ASan and valgrind). */
static void test_random(void **state)
{
    (void)state;
    static const char *const words[] = {
        "no", "that's", "wrong", "I", "said", "A-1077", "\xe2\x80\x99", "again", "human",
        "forget", "it", "?", ".", "\n", "   ", "\xff", "\xc3", "-", "'", "order", "never",
        "mind", "told", "you", "sorry", "can't", "help", "1Z1077X", "\xe2\x80\xa6", "*", "^"};
    uint64_t x = 42;
#define RND() (x = x * 6364136223846793005ULL + 1442695040888963407ULL, (size_t)(x >> 33))
    enum { RT = 6, RM = 8, RW = 12 };
    for (int round = 0; round < 300; round++) {
        static char text[RT][RM + 1][RW * 12 + 1];
        ms_message in[RT][RM];
        ms_message out[RT];
        ms_turn turns[RT];
        ms_trace traces[RT];
        memset(turns, 0, sizeof turns);
        memset(traces, 0, sizeof traces);
        size_t nt = RND() % (RT + 1);
        for (size_t k = 0; k < nt; k++) {
            for (size_t m = 0; m <= RM; m++) {
                size_t len = 0, nw = RND() % RW;
                for (size_t w = 0; w < nw; w++) {
                    const char *p = words[RND() % (sizeof words / sizeof words[0])];
                    size_t l = strlen(p);
                    memcpy(text[k][m] + len, p, l);
                    len += l;
                    text[k][m][len++] = RND() % 3 ? ' ' : ',';
                }
                text[k][m][len] = '\0';
            }
            size_t ni = RND() % (RM + 1);
            for (size_t m = 0; m < ni; m++) {
                ms_role role = (ms_role)(RND() % 5);
                bool trunc = RND() % 4 == 0;
                in[k][m] = (ms_message){role, {text[k][m], strlen(text[k][m])}, {NULL, 0}, trunc};
            }
            out[k] = (ms_message){MS_ROLE_ASSISTANT, {text[k][RM], strlen(text[k][RM])},
                                  {NULL, 0}, false};
            traces[k].info.state = (ms_trace_state)(RND() % 4);
            size_t n_out = RND() % 2;
            ms_io_source src = (ms_io_source)(RND() % 4);
            turns[k] = (ms_turn){.index = (int64_t)k + 1, .trace = &traces[k], .input = in[k],
                                 .n_input = ni, .output = &out[k], .n_output = n_out,
                                 .io_source = src};
        }
        ms_session s = {.session_id = {"r", 1}, .turns = turns, .n_turns = nt};
        struct ms_analyze_options o;
        ms_analyze_options_init(&o);
        const char *rules[] = {"integrity"};
        o.rules = rules;
        o.n_rules = 1;
        ms_findings *fs = NULL;
        struct ms_error err;
        assert_int_equal(ms_analyze_session(&s, &o, &fs, &err), MS_OK);
        for (size_t i = 0; i < ms_findings_count(fs); i++)
            assert_true(ms_findings_at(fs, i)->message.len > 0);
        ms_findings_free(fs);
    }
#undef RND
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_fixture_store),
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_history_drop),  cmocka_unit_test(test_window),
        cmocka_unit_test(test_changed),       cmocka_unit_test(test_reordered_duplicated),
        cmocka_unit_test(test_foreign),       cmocka_unit_test(test_system_prompt),
        cmocka_unit_test(test_system_prompt_llm),
        cmocka_unit_test(test_retry_reset),
        cmocka_unit_test(test_history_in_llm_call),
        cmocka_unit_test(test_silent),
        cmocka_unit_test(test_long_session),
    };
    return cmocka_run_group_tests_name("integrity", tests, NULL, NULL);
}
