/* SPDX-License-Identifier: MIT
 *
 * Unit tests for src/analyze/cause.c (rule cause.root). Synthetic sessions
 * built from the public structs, with the other analyzers' symptoms added
 * by hand through msi_finding_add, then the cause analyzer run directly;
 * then the fixture store tests/fixtures/sqlite/mlflow.db through
 * ms_session_load + ms_analyze_session: planted fault a (outdated document
 * at turn 3 of sess-rag-outdated, wrong answer at turn 5), b (history drop
 * at turn 5 of sess-history-drop), e (wrong order looked up at turn 1 of
 * sess-corrections), no root cause on the clean sessions, and the 2.x store
 * (no assessments at all) still tracing fault a.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analyze/findings_int.h"
#include "testutil.h"

/* ---- a synthetic session ---------------------------------------------- */

#define MAXT 8
#define MAXS 4
#define MAXD 3

struct fx {
    ms_session s;
    ms_turn turns[MAXT];
    ms_trace traces[MAXT];
    ms_span spans[MAXT][MAXS];
    ms_attr attrs[MAXT][MAXS];
    ms_message in[MAXT][6];
    ms_message out[MAXT];
    ms_tool_call tools[MAXT][2];
    ms_document docs[MAXT][MAXD];
    char ids[MAXT][24];
};

static ms_str S(const char *p)
{
    return msi_s(p);
}

static struct fx *fx_new(void)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->s.session_id = S("sess-test");
    f->s.turns = f->turns;
    return f;
}

/* A turn: a root span "0000000000000k01" whose I/O gave the messages. */
static ms_turn *fx_turn(struct fx *f, const char *user, const char *answer)
{
    size_t k = f->s.n_turns++;
    assert_true(k < MAXT);
    ms_turn *t = &f->turns[k];
    ms_trace *tr = &f->traces[k];
    snprintf(f->ids[k], sizeof f->ids[k], "tr-%zu", k + 1);
    tr->info.trace_id = S(f->ids[k]);
    tr->info.state = MS_STATE_OK;
    tr->spans = f->spans[k];
    ms_span *root = &f->spans[k][tr->n_spans++];
    snprintf(root->span_id, sizeof root->span_id, "%014zx01", k + 1);
    root->name = S("root");
    t->index = (int64_t)k + 1;
    t->trace = tr;
    t->io_span_id = S(root->span_id);
    t->io_source = MS_IO_SPAN;
    if (user) {
        f->in[k][0] = (ms_message){MS_ROLE_USER, S(user), {NULL, 0}, false};
        t->input = f->in[k];
        t->n_input = 1;
    }
    if (answer) {
        f->out[k] = (ms_message){MS_ROLE_ASSISTANT, S(answer), {NULL, 0}, false};
        t->output = &f->out[k];
        t->n_output = 1;
    }
    return t;
}

/* A RETRIEVER span on turn k (from 1) whose outputs are json (documents
 * with metadata), and its documents as the transcript gives them. */
static void fx_retrieve(struct fx *f, size_t k, const char *json, const char *const *ids,
                        const char *const *uris, const char *const *texts, size_t n)
{
    ms_trace *tr = &f->traces[k - 1];
    ms_span *sp = &f->spans[k - 1][tr->n_spans];
    snprintf(sp->span_id, sizeof sp->span_id, "%014zx02", k);
    snprintf(sp->parent_id, sizeof sp->parent_id, "%014zx01", k);
    sp->name = S("search_kb");
    sp->span_type = S("RETRIEVER");
    ms_attr *at = &f->attrs[k - 1][tr->n_spans];
    at->key = S("mlflow.spanOutputs");
    at->value = S(json);
    at->kind = MS_VAL_STRING;
    sp->attrs = at;
    sp->n_attrs = 1;
    tr->n_spans++;
    ms_turn *t = &f->turns[k - 1];
    for (size_t i = 0; i < n; i++) {
        ms_document *d = &f->docs[k - 1][i];
        d->id = S(ids[i]);
        d->uri = S(uris[i]);
        d->text = S(texts[i]);
        d->span_id = S(sp->span_id);
        d->rank = (int64_t)i + 1;
    }
    t->docs = f->docs[k - 1];
    t->n_docs = n;
}

static void fx_tool(struct fx *f, size_t k, const char *name, const char *args, const char *result,
                    bool failed, const char *error)
{
    ms_trace *tr = &f->traces[k - 1];
    ms_turn *t = &f->turns[k - 1];
    ms_span *sp = &f->spans[k - 1][tr->n_spans];
    snprintf(sp->span_id, sizeof sp->span_id, "%014zx%02zx", k, tr->n_spans + 1);
    sp->name = S(name);
    sp->span_type = S("TOOL");
    sp->status = failed ? MS_STATUS_ERROR : MS_STATUS_OK;
    tr->n_spans++;
    ms_tool_call *tc = &f->tools[k - 1][t->n_tools];
    tc->name = S(name);
    tc->arguments = S(args);
    tc->result = S(result);
    tc->span_id = S(sp->span_id);
    tc->failed = failed;
    tc->error = S(error);
    t->tools = f->tools[k - 1];
    t->n_tools++;
}

/* Runs the cause analyzer after the given symptoms ("rule@turn: message"
 * strings, span-level with "rule@turn#span: message"). */
static ms_findings *run(struct fx *f, const char *const *symptoms, size_t n)
{
    ms_findings *out = msi_findings_new();
    assert_non_null(out);
    struct ms_analyze_options o;
    ms_analyze_options_init(&o);
    struct msx_arena tmp;
    msx_arena_init(&tmp, 0);
    struct msi_ctx c = {&f->s, &o, out, &tmp};
    for (size_t i = 0; i < n; i++) {
        char rule[64], span[20] = "";
        int turn = 0, used = 0;
        const char *p = symptoms[i];
        const char *at = strchr(p, '@');
        assert_non_null(at);
        snprintf(rule, sizeof rule, "%.*s", (int)(at - p), p);
        assert_int_equal(sscanf(at + 1, "%d%n", &turn, &used), 1);
        const char *q = at + 1 + used;
        if (*q == '#') {
            snprintf(span, sizeof span, "%.16s", q + 1);
            q += 17;
        }
        assert_true(*q == ':');
        /* rule ids are static in the library: keep ours alive as literals */
        static const char *const known[] = {
            "assessment.failing", "friction.correction", "friction.repeat", "friction.abandon",
            "integrity.history_dropped", "context.window", "error.trace", "error.tool",
            "context.drop", "integrity.system_prompt_changed",
            "loop.answer"};
        const char *r = NULL;
        for (size_t k = 0; k < TU_COUNT(known); k++)
            if (strcmp(known[k], rule) == 0)
                r = known[k];
        assert_non_null(r);
        assert_non_null(msi_finding_add(&c, r, MS_SEV_WARN, &f->turns[turn - 1],
                                        span[0] ? S(span) : (ms_str){NULL, 0}, (ms_str){NULL, 0},
                                        S(q + 2), "%s", q + 2));
    }
    assert_int_equal(msi_analyzer_cause.run(&c), MS_OK);
    msx_arena_release(&tmp);
    msi_findings_sort(out);
    return out;
}

static size_t count_roots(const ms_findings *f)
{
    size_t n = 0;
    for (size_t i = 0; i < ms_findings_count(f); i++)
        n += strcmp(ms_findings_at(f, i)->rule, "cause.root") == 0;
    return n;
}

static const ms_finding *root_at(const ms_findings *f, int64_t turn)
{
    for (size_t i = 0; i < ms_findings_count(f); i++) {
        const ms_finding *x = ms_findings_at(f, i);
        if (strcmp(x->rule, "cause.root") == 0 && x->turn == turn)
            return x;
    }
    return NULL;
}

static bool has(ms_str s, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; s.ptr && i + n <= s.len; i++)
        if (memcmp(s.ptr + i, needle, n) == 0)
            return true;
    return false;
}

/* Does some link of the chain at turn hold needle in its why or excerpt? */
static bool chain_has(const ms_finding *f, int64_t turn, const char *needle)
{
    for (size_t i = 0; i < f->n_chain; i++)
        if (f->chain[i].turn == turn && (has(f->chain[i].why, needle) || has(f->chain[i].excerpt, needle)))
            return true;
    return false;
}

static void dump(const ms_findings *f)
{
    for (size_t i = 0; i < ms_findings_count(f); i++) {
        char *j = NULL;
        size_t n = 0;
        if (ms_finding_to_json(ms_findings_at(f, i), &j, &n) == MS_OK)
            print_message("%s\n", j);
        free(j);
    }
}

/* ---- fault a, synthetic: an outdated document carried to turn 5 -------- */

static const char *OLD = "Refund policy: you can return any item for a full refund within 30 days "
                         "of delivery.";
static const char *NEW = "Refund policy (effective 2025-11-01): items may be sent back within 14 "
                         "days of delivery.";
static const char *RET3 =
    "[{\"page_content\": \"Refund policy: you can return any item for a full refund within 30 "
    "days of delivery.\", \"metadata\": {\"doc_uri\": \"kb://policies/refunds-2024.md\", "
    "\"updated\": \"2024-03-01\"}, \"id\": \"kb-101\"}, {\"page_content\": \"Refund policy "
    "(effective 2025-11-01): items may be sent back within 14 days of delivery.\", \"metadata\": "
    "{\"doc_uri\": \"kb://policies/refunds.md\", \"updated\": \"2025-11-01\"}, \"id\": "
    "\"kb-102\"}]";
static const char *RET5 = "[{\"page_content\": \"Refund policy (effective 2025-11-01): items may "
                          "be sent back within 14 days of delivery.\", \"metadata\": "
                          "{\"doc_uri\": \"kb://policies/refunds.md\", \"updated\": "
                          "\"2025-11-01\"}, \"id\": \"kb-102\"}]";

static struct fx *rag_session(void)
{
    struct fx *f = fx_new();
    fx_turn(f, "Hi, I bought hiking boots last week and they don't fit.",
            "Hello! I'm sorry to hear that. I can help you return or exchange them.");
    fx_turn(f, "Can I exchange them for a bigger size instead?",
            "I could not find anything about that in our help centre.");
    fx_turn(f, "How many days do I have to return them for a refund?",
            "You can return it for a full refund within 30 days of delivery.");
    const char *ids3[] = {"kb-101", "kb-102"};
    const char *uris3[] = {"kb://policies/refunds-2024.md", "kb://policies/refunds.md"};
    const char *texts3[] = {OLD, NEW};
    fx_retrieve(f, 3, RET3, ids3, uris3, texts3, 2);
    fx_turn(f, "Great. Do I need to print a return label myself?",
            "According to our help centre: we will email a prepaid return label.");
    fx_turn(f, "They arrived on January 2nd. Can I still send them back on January 25th?",
            "Yes - you are within the 30-day window, so you can still send it back.");
    const char *ids5[] = {"kb-102"};
    const char *uris5[] = {"kb://policies/refunds.md"};
    const char *texts5[] = {NEW};
    fx_retrieve(f, 5, RET5, ids5, uris5, texts5, 1);
    return f;
}

static void test_outdated_document(void **state)
{
    (void)state;
    struct fx *f = rag_session();
    const char *sy[] = {"assessment.failing@5: feedback correctness=false"};
    ms_findings *out = run(f, sy, TU_COUNT(sy));
    assert_int_equal(count_roots(out), 1);
    const ms_finding *r = root_at(out, 3);
    assert_non_null(r);
    assert_int_equal(r->severity, MS_SEV_ERROR);
    /* the cause: the outdated document, named with its date */
    TU_TRUE("excerpt names the document", has(r->excerpt, "kb://policies/refunds-2024.md"));
    TU_TRUE("excerpt has the date", has(r->excerpt, "updated 2024-03-01"));
    TU_TRUE("excerpt quotes it", has(r->excerpt, "within 30 days"));
    tu_str_eq("path", r->path.ptr, r->path.len, "spans[1].attributes.\"mlflow.spanOutputs\"[0]");
    tu_str_eq("span", r->span_id.ptr, r->span_id.len, "0000000000000302");
    TU_TRUE("message names the newer document", has(r->message, "kb://policies/refunds.md is newer"));
    TU_TRUE("message names the symptom turn", has(r->message, "turn 5"));
    /* the chain: cause first, symptom last */
    assert_true(r->n_chain >= 3);
    tu_i64_eq("first link", r->chain[0].turn, 3);
    tu_i64_eq("last link", r->chain[r->n_chain - 1].turn, 5);
    TU_TRUE("turn 3's answer", chain_has(r, 3, "answer repeats it: '30 days'"));
    TU_TRUE("turn 5 repeats", chain_has(r, 5, "answer repeats '30-day' from turn 3"));
    TU_TRUE("turn 5's own retrieval", chain_has(r, 5, "its own retrieval says '14 days'"));
    TU_TRUE("the symptom", chain_has(r, 5, "assessment.failing: feedback correctness=false"));
    ms_findings_free(out);
    free(f);
}

/* Without any assessment the contradiction alone traces it (2.x stores). */
static void test_outdated_document_no_symptom(void **state)
{
    (void)state;
    struct fx *f = rag_session();
    ms_findings *out = run(f, NULL, 0);
    assert_int_equal(count_roots(out), 1);
    const ms_finding *r = root_at(out, 3);
    assert_non_null(r);
    TU_TRUE("message", has(r->message, "an answer contradicting its own retrieval at turn 5"));
    tu_i64_eq("last link", r->chain[r->n_chain - 1].turn, 5);
    ms_findings_free(out);
    free(f);
}

/* A span-level failing assessment on turn 3's retriever and the failing
 * answer at 5 are one root, told once. */
static void test_span_assessment_merges(void **state)
{
    (void)state;
    struct fx *f = rag_session();
    const char *sy[] = {
        "assessment.failing@3#0000000000000302: retrieved_document_current=false: Top document "
        "kb://policies/refunds-2024.md is superseded",
        "assessment.failing@5: feedback correctness=false"};
    ms_findings *out = run(f, sy, TU_COUNT(sy));
    assert_int_equal(count_roots(out), 1);
    const ms_finding *r = root_at(out, 3);
    assert_non_null(r);
    TU_TRUE("span-level assessment in the chain", chain_has(r, 3, "retrieved_document_current"));
    /* the document is told once, with its token */
    size_t docs = 0;
    for (size_t i = 0; i < r->n_chain; i++)
        docs += r->chain[i].turn == 3 && has(r->chain[i].why, "retrieved kb://policies/refunds-2024.md");
    assert_int_equal(docs, 1);
    ms_findings_free(out);
    free(f);
}

/* The answer at 5 grounded in its own retrieval: nothing carried. */
static void test_own_cause_gives_nothing(void **state)
{
    (void)state;
    struct fx *f = rag_session();
    f->out[4].text = S("No - refunds are only possible within 14 days of delivery.");
    const char *sy[] = {"assessment.failing@5: feedback correctness=false",
                        "error.trace@2: turn failed: UpstreamTimeoutError"};
    ms_findings *out = run(f, sy, TU_COUNT(sy));
    assert_int_equal(count_roots(out), 0);
    ms_findings_free(out);
    free(f);
}

/* The same number said by the user is the user's, not a carried fault. */
static void test_user_number_is_own(void **state)
{
    (void)state;
    struct fx *f = rag_session();
    f->in[4][0].text = S("You said 30 days, so can I still send them back on January 25th?");
    const char *sy[] = {"assessment.failing@5: feedback correctness=false"};
    ms_findings *out = run(f, sy, TU_COUNT(sy));
    assert_int_equal(count_roots(out), 0);
    ms_findings_free(out);
    free(f);
}

/* No newer document anywhere and no retrieval at turn 5: the judged-wrong
 * answer still carries '30 days' from turn 3's retrieval. */
static void test_judged_answer_carries_document(void **state)
{
    (void)state;
    struct fx *f = rag_session();
    f->turns[4].n_docs = 0;       /* turn 5 retrieves nothing */
    f->turns[2].n_docs = 1;       /* turn 3 only the old policy */
    const char *sy[] = {"assessment.failing@5: feedback correctness=false: the policy allows 14 days"};
    ms_findings *out = run(f, sy, TU_COUNT(sy));
    assert_int_equal(count_roots(out), 1);
    const ms_finding *r = root_at(out, 3);
    assert_non_null(r);
    TU_TRUE("the document", has(r->excerpt, "kb://policies/refunds-2024.md"));
    ms_findings_free(out);
    /* without the judge's verdict nothing is claimed */
    out = run(f, NULL, 0);
    assert_int_equal(count_roots(out), 0);
    ms_findings_free(out);
    free(f);
}

/* A number carried from an earlier turn next to another number of the same
 * unit about something else is no contradiction: "2 year warranty" and
 * gift cards "valid for 3 years". */
static void test_same_unit_other_topic(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    const char *W = "Electronics carry a 2 year warranty. Warranty claims need the order number.";
    const char *G = "Gift cards are valid for 3 years and can be used for any order.";
    fx_turn(f, "How long is the warranty on headphones?", "Electronics carry a 2 year warranty.");
    const char *i1[] = {"kb-401"}, *u1[] = {"kb://help/warranty.md"}, *t1[] = {W};
    fx_retrieve(f, 1, "[{\"page_content\": \"x\", \"metadata\": {\"updated\": \"2025-01-20\"}}]",
                i1, u1, t1, 1);
    fx_turn(f, "Can I pay with a gift card?",
            "Yes, gift cards work, and your headphones still keep their 2 year warranty.");
    const char *i2[] = {"kb-501"}, *u2[] = {"kb://help/gift-cards.md"}, *t2[] = {G};
    fx_retrieve(f, 2, "[{\"page_content\": \"x\", \"metadata\": {\"updated\": \"2025-10-05\"}}]",
                i2, u2, t2, 1);
    fx_turn(f, "Thanks.", "You're welcome!");
    ms_findings *out = run(f, NULL, 0);
    assert_int_equal(count_roots(out), 0);
    ms_findings_free(out);
    free(f);
}

/* The turn's own user message stays its own even when the model's tool
 * request and the tool's answer follow it in the input. */
static void test_own_message_before_tool_request(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    fx_turn(f, "Hi.", "Hello! Order A-2000 was the last one you asked about, 30 days ago.");
    fx_turn(f, NULL, "Order A-2000 is the lamp; 30 days warranty on returns.");
    ms_turn *t = &f->turns[1];
    f->in[1][0] = (ms_message){MS_ROLE_USER, S("Hi."), {NULL, 0}, false};
    f->in[1][1] = (ms_message){MS_ROLE_ASSISTANT, S("Hello!"), {NULL, 0}, false};
    f->in[1][2] = (ms_message){MS_ROLE_USER, S("What is order A-2000? 30 days ago I bought it."),
                               {NULL, 0}, false};
    f->in[1][3] = (ms_message){MS_ROLE_ASSISTANT, S(""), {NULL, 0}, false};
    f->in[1][4] = (ms_message){MS_ROLE_TOOL, S("{\"item\": \"lamp\"}"), S("lookup_order"), false};
    t->input = f->in[1];
    t->n_input = 5;
    t->first_new = 2;
    const char *sy[] = {"assessment.failing@2: feedback correctness=false"};
    ms_findings *out = run(f, sy, TU_COUNT(sy));
    assert_int_equal(count_roots(out), 0);
    ms_findings_free(out);
    free(f);
}

/* ---- fault b, synthetic: history dropped, the user repeats ------------- */

static void test_history_drop(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    fx_turn(f, "Hello, I have a question about my order A-1077.", "Your order A-1077 is in transit.");
    fx_turn(f, "What is the tracking number?", "The tracking number for order A-1077 is 1Z1077X.");
    fx_turn(f, "And if it arrives damaged?", "Could you tell me your order number?");
    fx_turn(f, "I told you already, it's the espresso machine order.",
            "Could you tell me your order number?");
    fx_turn(f, "A-1077.", "Your order A-1077 is in transit.");
    const char *sy[] = {
        "integrity.history_dropped@3: turn 3 sent 1 message; the 4 messages of turns 1-2 are missing",
        "friction.repeat@4: the user says they are repeating themselves",
        "friction.repeat@5: the user gives A-1077 again (first given at turn 1)"};
    ms_findings *out = run(f, sy, TU_COUNT(sy));
    assert_int_equal(count_roots(out), 1);
    const ms_finding *r = root_at(out, 3);
    assert_non_null(r);
    TU_TRUE("message", has(r->message, "integrity.history_dropped"));
    tu_i64_eq("first link", r->chain[0].turn, 3);
    tu_i64_eq("last link", r->chain[r->n_chain - 1].turn, 5);
    TU_TRUE("turn 4", chain_has(r, 4, "friction.repeat"));
    ms_findings_free(out);
    free(f);
}

/* At one turn the history drop is told, not the fall in tokens it caused;
 * a changed system prompt roots what fails after it. */
static void test_structure_ranks(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    fx_turn(f, "Hello, my order is A-2305.", "Order A-2305 is the coffee grinder.");
    fx_turn(f, "It arrived with a dent.", "We can replace it under warranty.");
    fx_turn(f, "Which email address?", "Could you tell me your order number?");
    fx_turn(f, "I told you already!", "Could you tell me your order number?");
    const char *sy[] = {"context.drop@3: input tokens fell 220 -> 108",
                        "integrity.history_dropped@3: turn 3 sent 1 message",
                        "friction.repeat@4: the user says they are repeating themselves"};
    ms_findings *out = run(f, sy, TU_COUNT(sy));
    assert_int_equal(count_roots(out), 1);
    const ms_finding *r = root_at(out, 3);
    assert_non_null(r);
    TU_TRUE("the drop is the cause", has(r->message, "integrity.history_dropped"));
    TU_TRUE("the token fall is told at the root", chain_has(r, 3, "context.drop"));
    ms_findings_free(out);
    free(f);

    f = fx_new();
    fx_turn(f, "Hi.", "Hello! How can I help?");
    fx_turn(f, "My grinder broke.", "I recommend our premium grinder with an extended warranty.");
    fx_turn(f, "I just want it repaired.", "Premium grinders are on sale this week.");
    const char *sy2[] = {"integrity.system_prompt_changed@2: turn 2's system prompt differs",
                         "assessment.failing@3: feedback helpfulness=1"};
    out = run(f, sy2, TU_COUNT(sy2));
    assert_int_equal(count_roots(out), 1);
    assert_non_null(root_at(out, 2));
    ms_findings_free(out);
    free(f);
}

/* ---- fault e, synthetic: the wrong order looked up at turn 1 ----------- */

static void test_wrong_tool_argument(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    fx_turn(f, "I ordered A-1041 last week and A-1042 yesterday. What's the status of the jacket?",
            "Order A-1041 is the wireless headphones; status: delivered.");
    fx_tool(f, 1, "lookup_order", "{\"order_id\": \"A-1041\"}",
            "{\"order_id\": \"A-1041\", \"item\": \"wireless headphones\", \"status\": "
            "\"delivered\"}",
            false, NULL);
    fx_turn(f, "No, that's the wrong order. I asked about the jacket, A-1042.",
            "Order A-1042 is the blue rain jacket; status: processing.");
    fx_tool(f, 2, "lookup_order", "{\"order_id\": \"A-1042\"}",
            "{\"order_id\": \"A-1042\", \"status\": \"processing\"}", false, NULL);
    fx_turn(f, "Please change its delivery address to 48 Harbor Road, SW1A 1AA.",
            "I could not change the address of order A-1041: order already delivered.");
    fx_tool(f, 3, "update_address", "{\"order_id\": \"A-1041\", \"address\": \"48 Harbor Road\"}",
            "{\"ok\": false, \"order_id\": \"A-1041\", \"reason\": \"order already delivered\"}",
            false, NULL);
    fx_turn(f, "Wrong again, I said A-1042, not A-1041! Forget it, I'll call the store.",
            "I'm sorry about the confusion.");
    const char *sy[] = {"friction.correction@2: the user corrects turn 1's answer",
                        "friction.correction@4: the user corrects turn 3's answer",
                        "friction.abandon@4: the user gives up",
                        "assessment.failing@4: feedback user_thumbs=false"};
    ms_findings *out = run(f, sy, TU_COUNT(sy));
    assert_int_equal(count_roots(out), 1);
    const ms_finding *r = root_at(out, 1);
    assert_non_null(r);
    TU_TRUE("message: the tool call", has(r->message, "tool lookup_order was called with 'A-1041'"));
    tu_str_eq("path", r->path.ptr, r->path.len, "spans[1].attributes.\"mlflow.spanInputs\"");
    tu_i64_eq("first link", r->chain[0].turn, 1);
    tu_i64_eq("last link", r->chain[r->n_chain - 1].turn, 4);
    TU_TRUE("asked for A-1042", chain_has(r, 1, "the request named 'A-1042'"));
    TU_TRUE("turn 3 carries A-1041", chain_has(r, 3, "'A-1041' from turn 1"));
    TU_TRUE("the thumbs-down joins", chain_has(r, 4, "user_thumbs=false"));
    TU_TRUE("both corrections", chain_has(r, 2, "friction.correction") &&
                                    chain_has(r, 4, "friction.correction"));
    ms_findings_free(out);
    free(f);
}

/* Without metadata dates a document's own ("updated 2025-01-20") or the
 * year in its URI (warranty-2022.md) tells which is outdated. */
static void test_dates_from_text_and_uri(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    const char *OLDW = "Electronics carry a 1 year warranty. Claims after 12 months are declined.";
    const char *NEWW = "Warranty policy (updated 2025-01-20): electronics carry a 2 year warranty.";
    fx_turn(f, "My headphones broke after 14 months. Can I claim?",
            "Sorry, claims after 12 months are declined.");
    const char *ids[] = {"kb-400", "kb-401"};
    const char *uris[] = {"kb://help/warranty-2022.md", "kb://help/warranty.md"};
    const char *texts[] = {OLDW, NEWW};
    fx_retrieve(f, 1, "[{}, {}]", ids, uris, texts, 2);
    fx_turn(f, "That's not right, your website says 2 years.", "You are right, I apologise.");
    const char *sy[] = {"friction.correction@2: the user corrects turn 1's answer"};
    ms_findings *out = run(f, sy, TU_COUNT(sy));
    assert_int_equal(count_roots(out), 1);
    const ms_finding *r = root_at(out, 1);
    assert_non_null(r);
    TU_TRUE("dated by its name", has(r->message, "kb://help/warranty-2022.md (kb-400, rank 1, updated 2022)"));
    TU_TRUE("the newer by its text", has(r->message, "is newer (updated 2025-01-20)"));
    ms_findings_free(out);
    free(f);
}

/* A document a span-level check failed at turn 2 is the same document when
 * turn 3 retrieves it again and answers from it. */
static void test_flag_spreads_to_reuse(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    const char *D = "Returns are accepted within 30 days of delivery for a full refund.";
    const char *ids[] = {"kb-9"}, *uris[] = {"kb://policies/returns.md"}, *texts[] = {D};
    fx_turn(f, "Hi.", "Hello!");
    fx_turn(f, "What is the return window?", "Returns are accepted within 30 days of delivery.");
    fx_retrieve(f, 2, "[{}]", ids, uris, texts, 1);
    fx_turn(f, "And for sale items?", "Yes, returns are accepted within 30 days of delivery too.");
    fx_retrieve(f, 3, "[{}]", ids, uris, texts, 1);
    const char *sy[] = {"assessment.failing@2#0000000000000202: retrieved_document_current=false",
                        "assessment.failing@3: feedback correctness=false"};
    ms_findings *out = run(f, sy, TU_COUNT(sy));
    assert_int_equal(count_roots(out), 1);
    const ms_finding *r = root_at(out, 2);
    assert_non_null(r);
    TU_TRUE("flagged", has(r->message, "a failing assessment on the retriever names it"));
    TU_TRUE("turn 3 answers from it", chain_has(r, 3, "answers from kb://policies/returns.md"));
    ms_findings_free(out);
    free(f);
}

/* A verdict about another part of the answer does not blame a value the
 * answer carried correctly. */
static void test_verdict_about_something_else(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    fx_turn(f, "How long is standard shipping?", "Standard shipping takes 3-5 business days.");
    fx_turn(f, "Do you ship to Ireland?", "Yes, we ship to Ireland.");
    fx_turn(f, "And express?", "Standard takes 3-5 business days; express is not available.");
    fx_turn(f, "Thanks.", "You're welcome!");
    const char *sy[] = {"assessment.failing@3: feedback correctness=false: express shipping is available"};
    ms_findings *out = run(f, sy, TU_COUNT(sy));
    assert_int_equal(count_roots(out), 0);
    ms_findings_free(out);
    free(f);
}

/* A verdict on an answer does not blame a reference it repeats correctly:
 * the tracking number a tool gave two turns before. */
static void test_verdict_spares_references(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    fx_turn(f, "Where is order A-1077?", "Order A-1077 is in transit; tracking number 1Z1077X.");
    fx_tool(f, 1, "check_shipping", "{\"order_id\": \"A-1077\"}",
            "{\"status\": \"in_transit\", \"tracking_number\": \"1Z1077X\"}", false, NULL);
    fx_turn(f, "Can it go faster?", "Our parcels are very popular this season.");
    fx_turn(f, "So what now?", "You can follow 1Z1077X on the Parcelco website.");
    const char *sy[] = {"assessment.failing@3: feedback helpfulness=1"};
    ms_findings *out = run(f, sy, TU_COUNT(sy));
    assert_int_equal(count_roots(out), 0);
    ms_findings_free(out);
    free(f);
}

/* The answer right before a correction rested on a bad source of its own
 * turn: an outdated document (paraphrased: "after 12 months"), a failed
 * tool call. */
static void test_correction_of_bad_source(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    const char *OLDW = "Electronics carry a 1 year warranty from the date of purchase. Claims "
                       "after 12 months are declined.";
    const char *NEWW = "Electronics carry a 2 year warranty.";
    fx_turn(f, "My headphones broke after 14 months. Can I claim?",
            "Sorry, your warranty ran out: we decline claims after 12 months.");
    const char *ids[] = {"kb-400", "kb-401"};
    const char *uris[] = {"kb://help/warranty-2022.md", "kb://help/warranty.md"};
    const char *texts[] = {OLDW, NEWW};
    fx_retrieve(f, 1,
                "[{\"metadata\": {\"updated\": \"2022-02-01\"}}, {\"metadata\": {\"updated\": "
                "\"2025-01-20\"}}]",
                ids, uris, texts, 2);
    fx_turn(f, "That's not right, your website says electronics have a 2 year warranty.",
            "You are right, I apologise.");
    const char *sy[] = {"friction.correction@2: the user corrects turn 1's answer"};
    ms_findings *out = run(f, sy, TU_COUNT(sy));
    assert_int_equal(count_roots(out), 1);
    const ms_finding *r = root_at(out, 1);
    assert_non_null(r);
    TU_TRUE("the old document", has(r->message, "kb://help/warranty-2022.md"));
    ms_findings_free(out);
    free(f);

    f = fx_new();
    fx_turn(f, "Has my espresso machine shipped? Order A-1077.",
            "I have no tracking update for A-1077, so it has probably not shipped yet.");
    fx_tool(f, 1, "check_shipping", "{\"order_id\": \"A-1077\"}", NULL, true,
            "CarrierUnavailableError: HTTP 503");
    fx_turn(f, "That's wrong, I got a dispatch email yesterday.", "I'm sorry.");
    const char *sy2[] = {"error.tool@1: tool check_shipping failed: CarrierUnavailableError",
                         "friction.correction@2: the user corrects turn 1's answer"};
    out = run(f, sy2, TU_COUNT(sy2));
    assert_int_equal(count_roots(out), 1);
    r = root_at(out, 1);
    assert_non_null(r);
    TU_TRUE("the failed call", has(r->message, "error.tool"));
    ms_findings_free(out);
    free(f);
}

/* An order number the user gave and the agent looked up right at turn 1,
 * wrongly reused at turn 2: the mistake is turn 2's own, not carried. */
static void test_named_reference_used_right_before(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    fx_turn(f, "Where is my lamp, order A-1100?", "Order A-1100 has a label but no scan yet.");
    fx_tool(f, 1, "check_shipping", "{\"order_id\": \"A-1100\"}", "{\"status\": \"label_created\"}",
            false, NULL);
    fx_turn(f, "And my desk, A-2210?", "Order A-1100 has a label but no scan yet.");
    fx_tool(f, 2, "check_shipping", "{\"order_id\": \"A-1100\"}", "{\"status\": \"label_created\"}",
            false, NULL);
    fx_turn(f, "No, I asked about A-2210, not A-1100.", "Sorry. Order A-2210 is in transit.");
    fx_turn(f, "Thanks.", "You're welcome!"); /* A-1100 is not in every turn */
    const char *sy[] = {"friction.correction@3: the user corrects turn 2's answer"};
    ms_findings *out = run(f, sy, TU_COUNT(sy));
    assert_int_equal(count_roots(out), 0);
    ms_findings_free(out);
    free(f);
}

/* A quoted phrase is carried as text. */
static void test_quoted_phrase(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    fx_turn(f, "Has order A-1100 shipped?", "Its status is awaiting carrier pickup.");
    fx_tool(f, 1, "check_shipping", "{\"order_id\": \"A-1100\"}",
            "{\"order_id\": \"A-1100\", \"status\": \"awaiting carrier pickup\"}", false, NULL);
    fx_turn(f, "So it's still in the warehouse?",
            "Yes, it is still \"awaiting carrier pickup\", so it has not left.");
    fx_turn(f, "That's wrong, I got a tracking email this morning.", "Sorry about that.");
    const char *sy[] = {"friction.correction@3: the user corrects turn 2's answer"};
    ms_findings *out = run(f, sy, TU_COUNT(sy));
    assert_int_equal(count_roots(out), 1);
    const ms_finding *r = root_at(out, 1);
    assert_non_null(r);
    TU_TRUE("tool result", has(r->message, "tool check_shipping returned"));
    TU_TRUE("excerpt", has(r->excerpt, "awaiting carrier pickup"));
    ms_findings_free(out);
    free(f);
}

/* ---- structure: the context window passed, later symptoms ------------ */

static void test_context_window_run(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    for (int i = 0; i < 6; i++)
        fx_turn(f, "Tell me more about shipping.", "Standard shipping takes 3-5 business days.");
    const char *sy[] = {"context.window@3: 4224 input tokens > 4096", "context.window@4: 4424 > 4096",
                        "context.window@5: 4624 > 4096",
                        "assessment.failing@6: context_within_window=false",
                        "loop.answer@5: the assistant asked the same again"};
    ms_findings *out = run(f, sy, TU_COUNT(sy));
    assert_int_equal(count_roots(out), 1);
    const ms_finding *r = root_at(out, 3);
    assert_non_null(r);
    TU_TRUE("message", has(r->message, "context.window"));
    tu_i64_eq("last link", r->chain[r->n_chain - 1].turn, 6);
    ms_findings_free(out);
    free(f);
}

/* A symptom that is its own cause gives no root: a repeat after a failed
 * turn, a correction of an answer with nothing carried into it. */
static void test_own_causes_stay_silent(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    fx_turn(f, "Where is my order A-1077?", "Order A-1077 is in transit.");
    fx_turn(f, "Can you also look up order A-1213?", NULL);
    f->traces[1].info.state = MS_STATE_ERROR;
    fx_turn(f, "Hello? Can you look up order A-1213?", "Order A-1213 is the hiking boots.");
    fx_turn(f, "How much is express delivery?", "Express shipping takes 1-2 business days.");
    fx_turn(f, "That's not what I asked. I wanted the price.", "Express shipping costs 9.99.");
    const char *sy[] = {"error.trace@2: turn failed: UpstreamTimeoutError",
                        "friction.repeat@3: the user repeats turn 2's request",
                        "friction.correction@5: the user corrects turn 4's answer"};
    ms_findings *out = run(f, sy, TU_COUNT(sy));
    assert_int_equal(count_roots(out), 0);
    ms_findings_free(out);
    free(f);
}

/* A stale tool result at turn 2 ("delivered on 2026-01-30"), reworded by
 * turn 3 ("January 30th") and corrected at turn 4. */
static void test_stale_tool_result(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    fx_turn(f, "Hi, I have a question about my standing desk.", "Sure, what's the order number?");
    fx_turn(f, "It's order A-2210.",
            "Order A-2210 is the standing desk; status: delivered, delivered on 2026-01-30.");
    fx_tool(f, 2, "lookup_order", "{\"order_id\": \"A-2210\"}",
            "{\"order_id\": \"A-2210\", \"status\": \"delivered\", \"delivered_on\": "
            "\"2026-01-30\"}",
            false, NULL);
    fx_turn(f, "So what should I do about it?",
            "Since it was delivered on January 30th, you can start a return within 14 days.");
    fx_turn(f, "I never said I want to return it, that's wrong, it has not even arrived yet!",
            "I'm sorry. Order A-2210 is in transit; tracking number 1Z2210X.");
    fx_tool(f, 4, "check_shipping", "{\"order_id\": \"A-2210\"}",
            "{\"order_id\": \"A-2210\", \"status\": \"in_transit\"}", false, NULL);
    const char *sy[] = {"friction.correction@4: the user corrects turn 3's answer"};
    ms_findings *out = run(f, sy, TU_COUNT(sy));
    assert_int_equal(count_roots(out), 1);
    const ms_finding *r = root_at(out, 2);
    assert_non_null(r);
    TU_TRUE("the tool result", has(r->message, "tool lookup_order returned '2026-01-30'"));
    TU_TRUE("reworded at turn 3", chain_has(r, 3, "'January 30th' from turn 2"));
    tu_i64_eq("last link", r->chain[r->n_chain - 1].turn, 4);
    ms_findings_free(out);
    free(f);
}

/* The same input gives the same bytes. */
static void test_deterministic(void **state)
{
    (void)state;
    char *prev = NULL;
    for (int round = 0; round < 2; round++) {
        struct fx *f = rag_session();
        const char *sy[] = {"assessment.failing@5: feedback correctness=false"};
        ms_findings *out = run(f, sy, TU_COUNT(sy));
        const ms_finding *r = root_at(out, 3);
        assert_non_null(r);
        char *j = NULL;
        size_t n = 0;
        assert_int_equal(ms_finding_to_json(r, &j, &n), MS_OK);
        if (prev)
            assert_string_equal(prev, j);
        free(prev);
        prev = j;
        ms_findings_free(out);
        free(f);
    }
    free(prev);
}

/* Odd content: no text, no spans, a malformed retriever output, huge text. */
static void test_odd_content(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    fx_turn(f, NULL, NULL);
    fx_turn(f, "", "");
    const char *ids[] = {"kb-1"};
    const char *uris[] = {"kb://x"};
    const char *texts[] = {"30 days"};
    fx_retrieve(f, 2, "[{\"metadata\": {\"updated\": 5}}, not json", ids, uris, texts, 1);
    size_t big = 200000;
    char *huge = malloc(big + 1);
    assert_non_null(huge);
    for (size_t i = 0; i < big; i++)
        huge[i] = "30 days A-1 \"x y\" "[i % 18];
    huge[big] = '\0';
    fx_turn(f, huge, huge);
    const char *sy[] = {"assessment.failing@1: x", "friction.correction@2: y",
                        "assessment.failing@3: z", "friction.repeat@1: w"};
    ms_findings *out = run(f, sy, TU_COUNT(sy));
    ms_findings_free(out);
    free(huge);
    free(f);
}

/* A long session stays linear: 3000 turns, each with documents, a tool
 * call and text, the window passed from turn 100 on, a failing check every
 * 10th turn and a repeat every 7th. One root (the window), its chain
 * bounded. */
static void test_long_session(void **state)
{
    (void)state;
    enum { N = 3000 };
    ms_session s;
    memset(&s, 0, sizeof s);
    ms_turn *turns = calloc(N, sizeof *turns);
    ms_trace *traces = calloc(N, sizeof *traces);
    ms_message *msgs = calloc(2 * N, sizeof *msgs);
    ms_document *docs = calloc(2 * N, sizeof *docs);
    ms_tool_call *tools = calloc(N, sizeof *tools);
    char (*text)[2][160] = calloc(N, sizeof *text);
    char (*ids)[24] = calloc(N, sizeof *ids);
    ms_span *spans = calloc(N, sizeof *spans);
    ms_attr *attrs = calloc(N, sizeof *attrs);
    assert_true(turns && traces && msgs && docs && tools && text && ids && spans && attrs);
    s.session_id = S("sess-long");
    s.turns = turns;
    s.n_turns = N;
    for (size_t k = 0; k < N; k++) {
        snprintf(ids[k], sizeof ids[k], "tr-%zu", k + 1);
        traces[k].info.trace_id = S(ids[k]);
        turns[k].index = (int64_t)k + 1;
        turns[k].trace = &traces[k];
        snprintf(text[k][0], sizeof text[k][0], "Question %zu about order A-%zu, \"my parcel\", "
                 "delivered January %zu?", k + 1, 1000 + k % 50, k % 28 + 1);
        snprintf(text[k][1], sizeof text[k][1], "Answer %zu: within %zu days, order A-%zu, "
                 "delivered on 2026-01-%02zu at 7 Quay Lane.", k + 1, k % 30 + 1, 1000 + k % 40,
                 k % 28 + 1);
        msgs[2 * k] = (ms_message){MS_ROLE_USER, S(text[k][0]), {NULL, 0}, false};
        msgs[2 * k + 1] = (ms_message){MS_ROLE_ASSISTANT, S(text[k][1]), {NULL, 0}, false};
        turns[k].input = &msgs[2 * k];
        turns[k].n_input = 1;
        turns[k].output = &msgs[2 * k + 1];
        turns[k].n_output = 1;
        /* every turn retrieves the outdated policy above the current one */
        snprintf(spans[k].span_id, sizeof spans[k].span_id, "%016zx", k + 1);
        spans[k].span_type = S("RETRIEVER");
        attrs[k] = (ms_attr){S("mlflow.spanOutputs"), S(RET3), MS_VAL_STRING};
        spans[k].attrs = &attrs[k];
        spans[k].n_attrs = 1;
        traces[k].spans = &spans[k];
        traces[k].n_spans = 1;
        ms_str sid = {spans[k].span_id, 16};
        docs[2 * k] = (ms_document){S("kb-101"), S("kb://policies/refunds-2024.md"), S(OLD), sid, 1};
        docs[2 * k + 1] = (ms_document){S("kb-102"), S("kb://policies/refunds.md"), S(NEW), sid, 2};
        turns[k].docs = &docs[2 * k];
        turns[k].n_docs = 2;
        tools[k] = (ms_tool_call){S("lookup_order"), S("{\"order_id\": \"A-1077\"}"),
                                  S("{\"status\": \"delivered\"}"), {NULL, 0}, false, {NULL, 0}};
        turns[k].tools = &tools[k];
        turns[k].n_tools = 1;
    }
    ms_findings *out = msi_findings_new();
    assert_non_null(out);
    struct ms_analyze_options o;
    ms_analyze_options_init(&o);
    struct msx_arena tmp;
    msx_arena_init(&tmp, 0);
    struct msi_ctx c = {&s, &o, out, &tmp};
    for (size_t k = 0; k < N; k++) {
        if (k + 1 >= 100)
            assert_non_null(msi_finding_add(&c, "context.window", MS_SEV_ERROR, &turns[k],
                                            (ms_str){NULL, 0}, (ms_str){NULL, 0},
                                            (ms_str){NULL, 0}, "over the window"));
        if ((k + 1) % 10 == 0)
            assert_non_null(msi_finding_add(&c, "assessment.failing", MS_SEV_ERROR, &turns[k],
                                            (ms_str){NULL, 0}, (ms_str){NULL, 0},
                                            (ms_str){NULL, 0}, "correctness=false"));
        if ((k + 1) % 7 == 0)
            assert_non_null(msi_finding_add(&c, "friction.repeat", MS_SEV_WARN, &turns[k],
                                            (ms_str){NULL, 0}, (ms_str){NULL, 0},
                                            (ms_str){NULL, 0}, "the user repeats"));
    }
    assert_int_equal(msi_analyzer_cause.run(&c), MS_OK);
    msx_arena_release(&tmp);
    const ms_finding *r = root_at(out, 100);
    assert_non_null(r);
    TU_TRUE("bounded chain", r->n_chain <= 200);
    tu_i64_eq("last symptom last", r->chain[r->n_chain - 1].turn, N);
    ms_findings_free(out);
    free(turns);
    free(traces);
    free(msgs);
    free(docs);
    free(tools);
    free(text);
    free(ids);
    free(spans);
    free(attrs);
}

/* ---- the fixture store --------------------------------------------------- */

#define FIXDB MS_SOURCE_DIR "/tests/fixtures/sqlite/mlflow.db"

static ms_findings *analyze_fixture(const char *db, const char *sid)
{
    if (!tu_file_exists(db))
        return NULL;
    ms_store *st = NULL;
    struct ms_error err;
    char uri[1024];
    snprintf(uri, sizeof uri, "sqlite:///%s", db);
    if (ms_store_open(uri, &st, &err) != MS_OK)
        fail_msg("open %s: %s", uri, err.msg);
    ms_session *s = NULL;
    if (ms_session_load(st, NULL, 0, sid, &s, &err) != MS_OK)
        fail_msg("load %s: %s", sid, err.msg);
    ms_findings *f = NULL;
    if (ms_analyze_session(s, NULL, &f, &err) != MS_OK)
        fail_msg("analyze %s: %s", sid, err.msg);
    ms_session_free(s);
    ms_store_close(st);
    return f;
}

static void test_fixture_rag_outdated(void **state)
{
    (void)state;
    ms_findings *f = analyze_fixture(FIXDB, "sess-rag-outdated");
    if (!f)
        skip();
    assert_int_equal(count_roots(f), 1);
    const ms_finding *r = ms_findings_at(f, 0); /* root causes come first */
    assert_string_equal(r->rule, "cause.root");
    tu_i64_eq("root turn", r->turn, 3);
    tu_str_eq("trace", r->trace_id.ptr, r->trace_id.len, "tr-48ce3c0fe994407a47248d27711905c1");
    TU_TRUE("excerpt names the outdated document", has(r->excerpt, "kb://policies/refunds-2024.md"));
    TU_TRUE("excerpt: its date", has(r->excerpt, "updated 2024-03-01"));
    TU_TRUE("excerpt: its claim", has(r->excerpt, "within 30 days"));
    TU_TRUE("the current document", has(r->message, "kb://policies/refunds.md is newer (updated 2025-11-01)"));
    tu_i64_eq("cause first", r->chain[0].turn, 3);
    tu_i64_eq("symptom last", r->chain[r->n_chain - 1].turn, 5);
    TU_TRUE("turn 4 retrieves it again", chain_has(r, 4, "retrieves kb://policies/refunds-2024.md"));
    TU_TRUE("turn 5", chain_has(r, 5, "answer repeats '30-day' from turn 3 although its own retrieval says '14 days'"));
    TU_TRUE("the judge", chain_has(r, 5, "correctness=false"));
    TU_TRUE("the span-level check", chain_has(r, 3, "retrieved_document_current=false"));
    ms_findings_free(f);
}

static void test_fixture_history_drop(void **state)
{
    (void)state;
    ms_findings *f = analyze_fixture(FIXDB, "sess-history-drop");
    if (!f)
        skip();
    assert_int_equal(count_roots(f), 1);
    const ms_finding *r = root_at(f, 5);
    assert_non_null(r);
    TU_TRUE("the drop", has(r->message, "integrity.history_dropped"));
    TU_TRUE("turn 6", chain_has(r, 6, "friction.repeat"));
    TU_TRUE("turn 7", chain_has(r, 7, "A-1077"));
    ms_findings_free(f);
}

static void test_fixture_corrections(void **state)
{
    (void)state;
    ms_findings *f = analyze_fixture(FIXDB, "sess-corrections");
    if (!f)
        skip();
    assert_int_equal(count_roots(f), 1);
    const ms_finding *r = root_at(f, 1);
    assert_non_null(r);
    TU_TRUE("the wrong lookup", has(r->message, "lookup_order was called with 'A-1041'"));
    TU_TRUE("turn 2", chain_has(r, 2, "friction.correction"));
    TU_TRUE("turn 3", chain_has(r, 3, "'A-1041' from turn 1"));
    TU_TRUE("turn 4", chain_has(r, 4, "friction.correction"));
    ms_findings_free(f);
}

/* Fault c: the window passed at turn 22; the failing check at 40 and the
 * assistant asking again roots there. */
static void test_fixture_context_overflow(void **state)
{
    (void)state;
    ms_findings *f = analyze_fixture(FIXDB, "sess-context-overflow");
    if (!f)
        skip();
    assert_int_equal(count_roots(f), 1);
    const ms_finding *r = root_at(f, 22);
    assert_non_null(r);
    TU_TRUE("the window", has(r->message, "context.window"));
    tu_i64_eq("symptom last", r->chain[r->n_chain - 1].turn, 40);
    TU_TRUE("the check at 40", chain_has(r, 40, "context_within_window=false"));
    ms_findings_free(f);
}

/* Every root of the fixture and corpus stores keeps the chain's shape:
 * cause first at the root turn, turns never go back, the last link is a
 * later turn, every link has a trace id and a reason. */
static void check_chain(const char *sid, const ms_finding *r)
{
    if (r->n_chain < 2)
        fail_msg("%s: chain of %zu", sid, r->n_chain);
    if (r->chain[0].turn != r->turn)
        fail_msg("%s: chain starts at turn %lld, root is %lld", sid, (long long)r->chain[0].turn,
                 (long long)r->turn);
    for (size_t i = 0; i < r->n_chain; i++) {
        if (i && r->chain[i].turn < r->chain[i - 1].turn)
            fail_msg("%s: link %zu goes back", sid, i);
        if (!r->chain[i].trace_id.ptr || !r->chain[i].why.ptr || !r->chain[i].why.len)
            fail_msg("%s: link %zu lacks trace id or why", sid, i);
    }
    if (r->chain[r->n_chain - 1].turn <= r->turn)
        fail_msg("%s: the last link is not later than the root", sid);
    if (!r->excerpt.ptr || !r->message.ptr)
        fail_msg("%s: no excerpt or message", sid);
}

static void test_fixture_chain_shape(void **state)
{
    (void)state;
    static const struct {
        const char *db, *sid;
    } cases[] = {
        {FIXDB, "sess-rag-outdated"},
        {FIXDB, "sess-history-drop"},
        {FIXDB, "sess-context-overflow"},
        {FIXDB, "sess-corrections"},
        {MS_SOURCE_DIR "/tests/fixtures/corpus/mlflow.db", "corp-cause-doc-refund"},
        {MS_SOURCE_DIR "/tests/fixtures/corpus/mlflow.db", "corp-cause-doc-warranty"},
        {MS_SOURCE_DIR "/tests/fixtures/corpus/mlflow.db", "corp-cause-tool-stale"},
        {MS_SOURCE_DIR "/tests/fixtures/corpus/mlflow.db", "corp-cause-tool-error"},
        {MS_SOURCE_DIR "/tests/fixtures/corpus/mlflow.db", "corp-cause-tool-wrongorder"},
    };
    static const int64_t want[] = {3, 5, 22, 1, 2, 1, 2, 1, 1};
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        ms_findings *f = analyze_fixture(cases[i].db, cases[i].sid);
        if (!f)
            skip();
        if (count_roots(f) != 1)
            fail_msg("%s: %zu roots", cases[i].sid, count_roots(f));
        const ms_finding *r = root_at(f, want[i]);
        if (!r)
            fail_msg("%s: no root at turn %lld", cases[i].sid, (long long)want[i]);
        check_chain(cases[i].sid, r);
        ms_findings_free(f);
    }
}

/* No root cause where nothing went wrong across turns. */
static void test_fixture_clean(void **state)
{
    (void)state;
    static const char *const clean[] = {
        "sess-happy-rag", "sess-openai", "sess-http-wrapper", "sess-tag-only", "sess-unicode",
        "conv-7f3c2a9e", "3e1f5b7a-9c2d-4e8f-a1b6-7d9c0e2f4a58", "sess-idle-gap",
        "sess-tool-loop", "sess-crash", "stg-sess-01", "stg-sess-02", "stg-sess-03",
        /* failures that are their own cause: a timeout, a rejected postcode */
        "sess-errors"};
    for (size_t i = 0; i < TU_COUNT(clean); i++) {
        ms_findings *f = analyze_fixture(FIXDB, clean[i]);
        if (!f)
            skip();
        if (count_roots(f) != 0) {
            dump(f);
            fail_msg("%s: unexpected cause.root", clean[i]);
        }
        ms_findings_free(f);
    }
}

/* MLflow 2.22: no assessments, spans in artifacts; the contradiction alone
 * finds fault a. */
static void test_fixture_v2_no_assessments(void **state)
{
    (void)state;
    ms_findings *f = analyze_fixture(MS_SOURCE_DIR "/tests/fixtures/v2/mlflow.db", "old-sess-rag");
    if (!f)
        skip();
    const ms_finding *r = root_at(f, 3);
    assert_non_null(r);
    TU_TRUE("document", has(r->excerpt, "kb://policies/refunds-2024.md"));
    tu_i64_eq("symptom last", r->chain[r->n_chain - 1].turn, 5);
    ms_findings_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outdated_document),
        cmocka_unit_test(test_outdated_document_no_symptom),
        cmocka_unit_test(test_span_assessment_merges),
        cmocka_unit_test(test_own_cause_gives_nothing),
        cmocka_unit_test(test_user_number_is_own),
        cmocka_unit_test(test_own_message_before_tool_request),
        cmocka_unit_test(test_same_unit_other_topic),
        cmocka_unit_test(test_judged_answer_carries_document),
        cmocka_unit_test(test_history_drop),
        cmocka_unit_test(test_structure_ranks),
        cmocka_unit_test(test_wrong_tool_argument),
        cmocka_unit_test(test_quoted_phrase),
        cmocka_unit_test(test_named_reference_used_right_before),
        cmocka_unit_test(test_correction_of_bad_source),
        cmocka_unit_test(test_verdict_spares_references),
        cmocka_unit_test(test_verdict_about_something_else),
        cmocka_unit_test(test_flag_spreads_to_reuse),
        cmocka_unit_test(test_dates_from_text_and_uri),
        cmocka_unit_test(test_context_window_run),
        cmocka_unit_test(test_own_causes_stay_silent),
        cmocka_unit_test(test_stale_tool_result),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_odd_content),
        cmocka_unit_test(test_long_session),
        cmocka_unit_test(test_fixture_rag_outdated),
        cmocka_unit_test(test_fixture_history_drop),
        cmocka_unit_test(test_fixture_corrections),
        cmocka_unit_test(test_fixture_context_overflow),
        cmocka_unit_test(test_fixture_chain_shape),
        cmocka_unit_test(test_fixture_clean),
        cmocka_unit_test(test_fixture_v2_no_assessments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
