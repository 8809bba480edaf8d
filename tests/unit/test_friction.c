/* SPDX-License-Identifier: MIT
 *
 * Unit tests for src/analyze/friction.c on synthetic sessions built from
 * the public structs: the user and assistant texts of every session of
 * tests/fixtures/sqlite/manifest.json (planted fault e: corrections at
 * turns 2 and 4 of sess-corrections, then the user leaves; fault b: the
 * user repeats information at turns 6 and 7 of sess-history-drop), the
 * phrase matcher's edges, and messages quoted exactly.
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

/* ---- a synthetic session ---------------------------------------------- */

#define MAXT 48

struct fx {
    ms_session s;
    ms_turn turns[MAXT];
    ms_trace traces[MAXT];
    ms_message in[MAXT][2];
    ms_message out[MAXT];
    ms_tool_call tools[MAXT];
    char ids[MAXT][24];
};

static ms_str S(const char *p)
{
    return msi_s(p);
}

static struct fx *fx_new(const char *sid)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->s.session_id = S(sid);
    f->s.turns = f->turns;
    return f;
}

/* A turn whose input is one user message (an agent: no history); answer
 * NULL means none (the turn failed). */
static ms_turn *fx_turn(struct fx *f, const char *user, const char *answer, ms_trace_state st)
{
    size_t k = f->s.n_turns++;
    assert_true(k < MAXT);
    ms_turn *t = &f->turns[k];
    snprintf(f->ids[k], sizeof f->ids[k], "tr-%zu", k + 1);
    f->traces[k].info.trace_id = S(f->ids[k]);
    f->traces[k].info.state = st;
    t->index = (int64_t)k + 1;
    t->trace = &f->traces[k];
    t->io_source = MS_IO_SPAN;
    t->input = f->in[k];
    if (user) {
        f->in[k][0] = (ms_message){MS_ROLE_USER, S(user), {NULL, 0}, false};
        t->n_input = 1;
    }
    if (answer) {
        f->out[k] = (ms_message){MS_ROLE_ASSISTANT, S(answer), {NULL, 0}, false};
        t->output = &f->out[k];
        t->n_output = 1;
    }
    return t;
}

static ms_findings *run(const struct fx *f)
{
    struct ms_analyze_options o;
    ms_analyze_options_init(&o);
    const char *rules[] = {"friction"};
    o.rules = rules;
    o.n_rules = 1;
    ms_findings *out = NULL;
    struct ms_error err;
    assert_int_equal(ms_analyze_session(&f->s, &o, &out, &err), MS_OK);
    return out;
}

/* "rule@turn rule@turn ..." in the findings' order. */
static char *summary(const ms_findings *fs)
{
    static char buf[4096];
    size_t m = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < ms_findings_count(fs); i++) {
        const ms_finding *x = ms_findings_at(fs, i);
        m += (size_t)snprintf(buf + m, sizeof buf - m, "%s%s@%lld", m ? " " : "", x->rule,
                              (long long)x->turn);
    }
    return buf;
}

static inline const ms_finding *find(const ms_findings *fs, const char *rule, int64_t turn)
{
    for (size_t i = 0; i < ms_findings_count(fs); i++) {
        const ms_finding *x = ms_findings_at(fs, i);
        if (strcmp(x->rule, rule) == 0 && x->turn == turn)
            return x;
    }
    return NULL;
}

/* ---- the fixture texts ------------------------------------------------ */

struct ftext {
    const char *user, *reply;
};
struct fsess {
    const char *sid;
    struct ftext turns[MAXT + 1];
};

static const struct fsess fixture[] = {
    {"sess-rag-outdated", {
        {"Hi, I bought hiking boots last week and they don't fit.", "Hello! I'm sorry to hear that. I can help you return or exchange them."},
        {"Can I exchange them for a bigger size instead?", "I could not find anything about that in our help centre. Could you rephrase?"},
        {"How many days do I have to return them for a refund?", "You can return it for a full refund within 30 days of delivery. Start the return from your order page."},
        {"Great. Do I need to print a return label myself?", "According to our help centre: To return an item and get your refund, start a return from your order page and we will email a prepaid return label."},
        {"They arrived on January 2nd. Can I still send them back on January 25th?", "Yes - you are within the 30-day window, so you can still send it back for a full refund."},
        {"Perfect, thanks!", "You're welcome! Is there anything else I can help you with?"},
        {NULL, NULL}}},
    {"sess-history-drop", {
        {"Hello, I have a question about my order A-1077.", "Your order A-1077 (espresso machine) is currently in transit. It is going to 7 Quay Lane, Bristol."},
        {"When will it arrive?", "Your order A-1077 (espresso machine) is currently in transit. It is going to 7 Quay Lane, Bristol."},
        {"Can I still change the delivery address?", "Order A-1077 is already in transit, so the address can no longer be changed. Please contact the carrier instead."},
        {"OK. What is the tracking number?", "The tracking number for order A-1077 is 1Z1077X."},
        {"And if it arrives damaged, can I get it replaced?", "Could you tell me your order number? It looks like A-1234."},
        {"I told you already, it's the espresso machine order.", "Could you tell me your order number? It looks like A-1234."},
        {"A-1077.", "Your order A-1077 (espresso machine) is currently in transit. It is going to 7 Quay Lane, Bristol."},
        {"Thanks.", "You're welcome! Is there anything else I can help you with?"},
        {NULL, NULL}}},
    {"sess-context-overflow", {
        {"Hi, I ordered a desk lamp, order A-1100, and I have a few questions before it arrives, mostly about shipping, warranty and what happens if there is a problem with it.", "Sure. Electronics carry a 2 year warranty. Warranty claims need the order number and a short description of the fault."},
        {"First, how does your standard shipping work for small items like lamps, and do you deliver on Saturdays or only on working days during the week?", "Sure. Standard shipping takes 3-5 business days. Express shipping takes 1-2 business days. Tracking numbers are emailed when the parcel leaves the warehouse."},
        {"And how long does express shipping take if I decide to upgrade the delivery for my other parcels in the future?", "Sure. Standard shipping takes 3-5 business days. Express shipping takes 1-2 business days. Tracking numbers are emailed when the parcel leaves the warehouse."},
        {"What does the warranty cover for electronics, and would a lamp with a broken switch count as a fault that you would repair or replace?", "Sure. Electronics carry a 2 year warranty. Warranty claims need the order number and a short description of the fault."},
        {"If the lamp is faulty when it arrives, do I send it back myself or do you organise the pickup, and who pays for the return shipping in that case?", "Sure. Electronics carry a 2 year warranty. Warranty claims need the order number and a short description of the fault."},
        {"Can I change the delivery address if I am travelling next week and want it sent to my office instead of my flat?", "Yes, order A-1100 has not shipped yet, so the address can still be changed."},
        {"What is your refund policy if I simply change my mind after the lamp has been delivered and I have already unpacked it?", "Sure. Refund policy (effective 2025-11-01): items may be sent back within 14 days of delivery. Refunds go to the original payment method within 5 business days."},
        {"Follow-up question 8: And how long does express shipping take if I decide to upgrade the delivery for my other parcels in the future?", "Sure. Standard shipping takes 3-5 business days. Express shipping takes 1-2 business days. Tracking numbers are emailed when the parcel leaves the warehouse."},
        {"Follow-up question 9: What does the warranty cover for electronics, and would a lamp with a broken switch count as a fault that you would repair or replace?", "Sure. Electronics carry a 2 year warranty. Warranty claims need the order number and a short description of the fault."},
        {"Follow-up question 10: If the lamp is faulty when it arrives, do I send it back myself or do you organise the pickup, and who pays for the return shipping in that case?", "Sure. Electronics carry a 2 year warranty. Warranty claims need the order number and a short description of the fault."},
        {"Follow-up question 11: Can I change the delivery address if I am travelling next week and want it sent to my office instead of my flat?", "Yes, order A-1100 has not shipped yet, so the address can still be changed."},
        {"Follow-up question 12: What is your refund policy if I simply change my mind after the lamp has been delivered and I have already unpacked it?", "Sure. Refund policy (effective 2025-11-01): items may be sent back within 14 days of delivery. Refunds go to the original payment method within 5 business days."},
        {"Follow-up question 13: First, how does your standard shipping work for small items like lamps, and do you deliver on Saturdays or only on working days during the week?", "Sure. Standard shipping takes 3-5 business days. Express shipping takes 1-2 business days. Tracking numbers are emailed when the parcel leaves the warehouse."},
        {"Follow-up question 14: And how long does express shipping take if I decide to upgrade the delivery for my other parcels in the future?", "Sure. Standard shipping takes 3-5 business days. Express shipping takes 1-2 business days. Tracking numbers are emailed when the parcel leaves the warehouse."},
        {"Follow-up question 15: What does the warranty cover for electronics, and would a lamp with a broken switch count as a fault that you would repair or replace?", "Sure. Electronics carry a 2 year warranty. Warranty claims need the order number and a short description of the fault."},
        {"Follow-up question 16: If the lamp is faulty when it arrives, do I send it back myself or do you organise the pickup, and who pays for the return shipping in that case?", "Sure. Electronics carry a 2 year warranty. Warranty claims need the order number and a short description of the fault."},
        {"Follow-up question 17: Can I change the delivery address if I am travelling next week and want it sent to my office instead of my flat?", "Yes, order A-1100 has not shipped yet, so the address can still be changed."},
        {"Follow-up question 18: What is your refund policy if I simply change my mind after the lamp has been delivered and I have already unpacked it?", "Sure. Refund policy (effective 2025-11-01): items may be sent back within 14 days of delivery. Refunds go to the original payment method within 5 business days."},
        {"Follow-up question 19: First, how does your standard shipping work for small items like lamps, and do you deliver on Saturdays or only on working days during the week?", "Sure. Standard shipping takes 3-5 business days. Express shipping takes 1-2 business days. Tracking numbers are emailed when the parcel leaves the warehouse."},
        {"Follow-up question 20: And how long does express shipping take if I decide to upgrade the delivery for my other parcels in the future?", "Sure. Standard shipping takes 3-5 business days. Express shipping takes 1-2 business days. Tracking numbers are emailed when the parcel leaves the warehouse."},
        {"Follow-up question 21: What does the warranty cover for electronics, and would a lamp with a broken switch count as a fault that you would repair or replace?", "Sure. Electronics carry a 2 year warranty. Warranty claims need the order number and a short description of the fault."},
        {"Follow-up question 22: If the lamp is faulty when it arrives, do I send it back myself or do you organise the pickup, and who pays for the return shipping in that case?", "Could you tell me your order number? It looks like A-1234."},
        {"Follow-up question 23: Can I change the delivery address if I am travelling next week and want it sent to my office instead of my flat?", "Could you tell me your order number? It looks like A-1234."},
        {"Follow-up question 24: What is your refund policy if I simply change my mind after the lamp has been delivered and I have already unpacked it?", "Sure. Refund policy (effective 2025-11-01): items may be sent back within 14 days of delivery. Refunds go to the original payment method within 5 business days."},
        {"Follow-up question 25: First, how does your standard shipping work for small items like lamps, and do you deliver on Saturdays or only on working days during the week?", "Sure. Standard shipping takes 3-5 business days. Express shipping takes 1-2 business days. Tracking numbers are emailed when the parcel leaves the warehouse."},
        {"Follow-up question 26: And how long does express shipping take if I decide to upgrade the delivery for my other parcels in the future?", "Sure. Standard shipping takes 3-5 business days. Express shipping takes 1-2 business days. Tracking numbers are emailed when the parcel leaves the warehouse."},
        {"Follow-up question 27: What does the warranty cover for electronics, and would a lamp with a broken switch count as a fault that you would repair or replace?", "Sure. Electronics carry a 2 year warranty. Warranty claims need the order number and a short description of the fault."},
        {"Follow-up question 28: If the lamp is faulty when it arrives, do I send it back myself or do you organise the pickup, and who pays for the return shipping in that case?", "Could you tell me your order number? It looks like A-1234."},
        {"Follow-up question 29: Can I change the delivery address if I am travelling next week and want it sent to my office instead of my flat?", "Could you tell me your order number? It looks like A-1234."},
        {"Follow-up question 30: What is your refund policy if I simply change my mind after the lamp has been delivered and I have already unpacked it?", "Sure. Refund policy (effective 2025-11-01): items may be sent back within 14 days of delivery. Refunds go to the original payment method within 5 business days."},
        {"Follow-up question 31: First, how does your standard shipping work for small items like lamps, and do you deliver on Saturdays or only on working days during the week?", "Sure. Standard shipping takes 3-5 business days. Express shipping takes 1-2 business days. Tracking numbers are emailed when the parcel leaves the warehouse."},
        {"Follow-up question 32: And how long does express shipping take if I decide to upgrade the delivery for my other parcels in the future?", "Sure. Standard shipping takes 3-5 business days. Express shipping takes 1-2 business days. Tracking numbers are emailed when the parcel leaves the warehouse."},
        {"Follow-up question 33: What does the warranty cover for electronics, and would a lamp with a broken switch count as a fault that you would repair or replace?", "Sure. Electronics carry a 2 year warranty. Warranty claims need the order number and a short description of the fault."},
        {"Sorry, I lost track with all these questions. Can you remind me which order we are talking about and what its status is?", "Could you tell me your order number? It looks like A-1234."},
        {"Follow-up question 35: Can I change the delivery address if I am travelling next week and want it sent to my office instead of my flat?", "Could you tell me your order number? It looks like A-1234."},
        {"Follow-up question 36: What is your refund policy if I simply change my mind after the lamp has been delivered and I have already unpacked it?", "Sure. Refund policy (effective 2025-11-01): items may be sent back within 14 days of delivery. Refunds go to the original payment method within 5 business days."},
        {"Follow-up question 37: First, how does your standard shipping work for small items like lamps, and do you deliver on Saturdays or only on working days during the week?", "Sure. Standard shipping takes 3-5 business days. Express shipping takes 1-2 business days. Tracking numbers are emailed when the parcel leaves the warehouse."},
        {"Follow-up question 38: And how long does express shipping take if I decide to upgrade the delivery for my other parcels in the future?", "Sure. Standard shipping takes 3-5 business days. Express shipping takes 1-2 business days. Tracking numbers are emailed when the parcel leaves the warehouse."},
        {"Follow-up question 39: What does the warranty cover for electronics, and would a lamp with a broken switch count as a fault that you would repair or replace?", "Sure. Electronics carry a 2 year warranty. Warranty claims need the order number and a short description of the fault."},
        {"OK, thanks for your patience, that's all for today.", "You're welcome! Is there anything else I can help you with?"},
        {NULL, NULL}}},
    {"sess-idle-gap", {
        {"Where is my order A-1077?", "Order A-1077 is in transit; tracking number 1Z1077X."},
        {"What's in that order again?", "Order A-1077 is the espresso machine; status: in transit."},
        {"Can you change the address to 5 Dock Road, BS1 4QA?", "I could not change the address of order A-1077: order already in_transit."},
        {"Sorry, I was away. So what are my options now?", "I can help with orders, refunds, shipping and address changes. Could you tell me a bit more about what you need?"},
        {"Thanks, bye.", "You're welcome! Is there anything else I can help you with?"},
        {NULL, NULL}}},
    {"sess-corrections", {
        {"I ordered two things, A-1041 last week and A-1042 yesterday. What's the status of the jacket from yesterday's order?", "Order A-1041 is the wireless headphones; status: delivered, delivered on 2026-01-09."},
        {"No, that's the wrong order. I asked about the jacket, A-1042.", "Order A-1042 is the blue rain jacket; status: processing."},
        {"Please change its delivery address to 48 Harbor Road, SW1A 1AA.", "I could not change the address of order A-1041: order already delivered."},
        {"Wrong again, I said A-1042, not A-1041! Forget it, I'll call the store.", "I'm sorry about the confusion. Let me look at that again."},
        {NULL, NULL}}},
    {"sess-tool-loop", {
        {"Hi, where is my parcel? Order A-1100.", "Order A-1100 has a shipping label but the carrier has not scanned it yet, so I have no tracking update right now."},
        {"OK, what was in that order?", "Order A-1100 is the desk lamp; status: label created."},
        {"Thanks.", "You're welcome! Is there anything else I can help you with?"},
        {NULL, NULL}}},
    {"sess-openai", {
        {"Hi! Can you look up order A-1213 for me?", "Order A-1213 is the hiking boots; status: delivered, delivered on 2026-01-02."},
        {"What's your refund policy?", "Here is our current policy: Refund policy (effective 2025-11-01): items may be sent back within 14 days of delivery. Refunds go to the original payment method within 5 business days."},
        {"Where is order A-1077 right now?", "Order A-1077 is in transit; tracking number 1Z1077X."},
        {"Thanks, that's all.", "You're welcome! Is there anything else I can help you with?"},
        {NULL, NULL}}},
    {"sess-http-wrapper", {
        {"Hello!", "Hello! I'm the Acme support assistant. How can I help you today?"},
        {"What's the status of order A-1042?", "Order A-1042 is the blue rain jacket; status: processing."},
        {"Please change the address to 22 Castle Street, EH1 2NG.", "Done - order A-1042 will now be delivered to 22 Castle Street, EH1 2NG."},
        {NULL, NULL}}},
    {"sess-errors", {
        {"Where is my order A-1077?", "Order A-1077 is in transit; tracking number 1Z1077X."},
        {"Can you also look up order A-1213?", NULL},
        {"Hello? Can you look up order A-1213?", "Order A-1213 is the hiking boots; status: delivered, delivered on 2026-01-02."},
        {"Please change the address of A-1213 to 9 Mill Lane, ZZ9.", "Sorry, that did not work: InvalidAddressError: postcode 'ZZ9' is not a valid UK postcode. Could you double-check the details and try again?"},
        {"Never mind, thanks.", "You're welcome! Is there anything else I can help you with?"},
        {NULL, NULL}}},
    {"sess-tag-only", {
        {"Hi, do you ship to Ireland?", "Sure. Standard shipping takes 3-5 business days. Express shipping takes 1-2 business days. Tracking numbers are emailed when the parcel leaves the warehouse."},
        {"How long does express shipping take?", "Sure. Standard shipping takes 3-5 business days. Express shipping takes 1-2 business days. Tracking numbers are emailed when the parcel leaves the warehouse."},
        {"Thanks!", "You're welcome! Is there anything else I can help you with?"},
        {NULL, NULL}}},
    {"sess-crash", {
        {"Hello, is my order A-1042 shipped yet?", "Your order A-1042 (blue rain jacket) is currently processing. It is going to 12 Elm Street, Springfield."},
        {"Can I still change the address then?", "Yes, order A-1042 has not shipped yet, so the address can still be changed."},
        {"Great, please tell me what I need to do.", NULL},
        {NULL, NULL}}},
    {"conv-7f3c2a9e", {
        {"Hi, I need help with a warranty claim.", "Sure. Electronics carry a 2 year warranty. Warranty claims need the order number and a short description of the fault."},
        {"It's the headphones from order A-1041, the left side stopped working.", "Sure. Electronics carry a 2 year warranty. Warranty claims need the order number and a short description of the fault."},
        {"Thanks.", "You're welcome! Is there anything else I can help you with?"},
        {NULL, NULL}}},
    {"sess-happy-rag", {
        {"How long does standard shipping take?", "According to our help centre: Standard shipping takes 3-5 business days."},
        {"And how fast is express shipping?", "According to our help centre: Express shipping takes 1-2 business days."},
        {NULL, NULL}}},
    {"sess-unicode", {
        {"Hallo! Meine Bestellung A-1213 ist besch\xc3""\xa4""digt angekommen \xf0""\x9f""\x93""\xa6"" \xe2""\x80""\x93"" what can I do about the order?", "Your order A-1213 (hiking boots) is currently delivered. It is going to 90 Station Road, York."},
        {NULL, NULL}}},
    {"3e1f5b7a-9c2d-4e8f-a1b6-7d9c0e2f4a58", {
        {"Hi again, quick one: how long does express shipping take?", "Sure. Standard shipping takes 3-5 business days. Express shipping takes 1-2 business days. Tracking numbers are emailed when the parcel leaves the warehouse."},
        {"Thank you.", "You're welcome! Is there anything else I can help you with?"},
        {NULL, NULL}}},
    {"stg-sess-01", {
        {"Where is my order A-1077?", "Order A-1077 is in transit; tracking number 1Z1077X."},
        {"What's the status of order A-1042?", "Order A-1042 is the blue rain jacket; status: processing."},
        {"Thanks.", "You're welcome! Is there anything else I can help you with?"},
        {NULL, NULL}}},
    {"stg-sess-02", {
        {"What does the warranty cover for electronics?", "According to our help centre: Electronics carry a 2 year warranty."},
        {"Thanks.", "You're welcome! Is there anything else I can help you with?"},
        {NULL, NULL}}},
    {"stg-sess-03", {
        {"Can you look up order A-1042?", "Order A-1042 is the blue rain jacket; status: processing."},
        {"Where is order A-1100?", "Order A-1100 has a shipping label but the carrier has not scanned it yet, so I have no tracking update right now."},
        {NULL, NULL}}},
};

static struct fx *fx_fixture(const struct fsess *fs)
{
    struct fx *f = fx_new(fs->sid);
    for (size_t k = 0; fs->turns[k].user; k++) {
        ms_trace_state st = MS_STATE_OK;
        if (!fs->turns[k].reply)
            st = strcmp(fs->sid, "sess-crash") == 0 ? MS_STATE_IN_PROGRESS : MS_STATE_ERROR;
        fx_turn(f, fs->turns[k].user, fs->turns[k].reply, st);
    }
    /* sess-errors turn 4: update_address raised */
    if (strcmp(fs->sid, "sess-errors") == 0) {
        f->tools[3] = (ms_tool_call){S("update_address"), S("{}"), {NULL, 0}, {NULL, 0}, true,
                                     S("InvalidAddressError: postcode")};
        f->turns[3].tools = &f->tools[3];
        f->turns[3].n_tools = 1;
    }
    return f;
}

/* What friction finds on each fixture session (texts only). */
static const struct {
    const char *sid;
    const char *want;
} fixture_want[] = {
    {"sess-rag-outdated", "friction.refusal@2"}, /* "I could not find anything ... Could you rephrase?" */
    {"sess-history-drop", "friction.repeat@6 friction.repeat@7"},        /* fault b */
    {"sess-context-overflow", ""},
    {"sess-idle-gap", ""},
    {"sess-corrections", /* fault e */
     "friction.correction@2 friction.abandon@4 friction.correction@4 friction.human@4"},
    {"sess-tool-loop", ""},
    {"sess-openai", ""},
    {"sess-http-wrapper", ""},
    {"sess-errors", "friction.repeat@3 friction.abandon@5"}, /* asked again after the ERROR turn;
                                                               "Never mind" after a failed tool */
    {"sess-tag-only", ""},
    {"sess-crash", ""},
    {"conv-7f3c2a9e", ""},
    {"sess-happy-rag", ""},
    {"sess-unicode", ""},
    {"3e1f5b7a-9c2d-4e8f-a1b6-7d9c0e2f4a58", ""},
    {"stg-sess-01", ""},
    {"stg-sess-02", ""},
    {"stg-sess-03", ""},
};

static void test_fixture_sessions(void **state)
{
    (void)state;
    assert_int_equal(TU_COUNT(fixture), TU_COUNT(fixture_want));
    for (size_t i = 0; i < TU_COUNT(fixture); i++) {
        tu_str_eq(fixture[i].sid, fixture_want[i].sid, strlen(fixture_want[i].sid),
                  fixture[i].sid);
        struct fx *f = fx_fixture(&fixture[i]);
        ms_findings *fs = run(f);
        const char *got = summary(fs);
        tu_str_eq(fixture[i].sid, got, strlen(got), fixture_want[i].want);
        for (size_t j = 0; j < ms_findings_count(fs); j++)
            assert_int_equal(ms_findings_at(fs, j)->severity, MS_SEV_WARN);
        ms_findings_free(fs);
        free(f);
    }
}

static void msg_eq(const ms_findings *fs, const char *rule, int64_t turn, const char *want)
{
    const ms_finding *x = find(fs, rule, turn);
    if (!x)
        fail_msg("no %s at turn %lld in: %s", rule, (long long)turn, summary(fs));
    tu_str_eq(rule, x->message.ptr, x->message.len, want);
}

static void test_messages(void **state)
{
    (void)state;
    struct fx *f = fx_fixture(&fixture[4]); /* sess-corrections */
    ms_findings *fs = run(f);
    msg_eq(fs, "friction.correction", 2,
           "the user corrects turn 1's answer (\"that's the wrong\"): \"No, that's the wrong "
           "order. I asked about the jacket, A-1042.\"");
    msg_eq(fs, "friction.abandon", 4,
           "the session ends at turn 4 right after the user gives up (\"Forget it\"): \"Wrong "
           "again, I said A-1042, not A-1041! Forget it, I'll call the store.\"");
    const ms_finding *x = find(fs, "friction.correction", 4);
    tu_str_eq("trace", x->trace_id.ptr, x->trace_id.len, "tr-4");
    tu_str_eq("excerpt", x->excerpt.ptr, x->excerpt.len,
              "Wrong again, I said A-1042, not A-1041! Forget it, I'll call the store.");
    ms_findings_free(fs);
    free(f);

    f = fx_fixture(&fixture[1]); /* sess-history-drop */
    fs = run(f);
    msg_eq(fs, "friction.repeat", 6,
           "the user says they are repeating themselves (\"I told you\"): \"I told you already, "
           "it's the espresso machine order.\"");
    msg_eq(fs, "friction.repeat", 7,
           "the user gives A-1077 again (first given at turn 1) after turn 6 asked for it: "
           "\"Could you tell me your order number? It looks like A-1234.\"");
    ms_findings_free(fs);
    free(f);
}

/* One user message after a fixed first turn: which friction rules fire at
 * turn 2 (and, the session ending there, abandon). */
static void test_phrases(void **state)
{
    (void)state;
    static const struct {
        const char *user;
        const char *answer;
        const char *want;
    } cases[] = {
        {"No thanks, that's all.", "Bye!", ""},
        {"No, I wanted the blue one.", "Noted.", "friction.abandon@2 friction.correction@2"},
        {"I ordered the wrong size, can I swap it?", "Sure.", ""},
        {"That\xe2\x80\x99s wrong.", "Sorry.", "friction.abandon@2 friction.correction@2"},
        {"THAT IS NOT WHAT I ASKED", "Sorry.", "friction.abandon@2 friction.correction@2"},
        {"That is. Wrong answers happen", "Ok.", ""}, /* never across sentences */
        {"Nein, das ist falsch.", "Entschuldigung.", "friction.abandon@2 friction.correction@2"},
        {"Can I speak to a manager?", "Of course.", "friction.human@2"},
        {"Is this a human-readable format?", "Yes.", ""}, /* one word */
        {"Please update my address.", "I'm sorry, but I can't help with that.",
         "friction.refusal@2"},
        {"Where is it?", "I don't have access to order data.", "friction.refusal@2"},
        {"never mind", "Ok.", ""}, /* no problem before: just closing */
        {"Forget it.", "Ok.", "friction.abandon@2"},
        /* closings and ordinary requests that look like the phrases */
        {"No, I don't need anything else, thanks.", "Bye!", ""},
        {"No, that's all. Thanks!", "Bye!", ""},
        {"No, it's fine.", "Great.", ""},
        {"No, not at the moment.", "Ok.", ""},
        {"I asked for a refund last week, any news?", "It is on its way.", ""},
        {"You sent the wrong item, can I return it?", "Yes.", ""},
        {"How many times can I return an item?", "Twice.", ""},
        {"Can a person other than me pick it up?", "Yes.", ""},
        {"Ok, I'm done with the form.", "Great.", ""},
        {"This is the second time my parcel is late.", "Sorry.", ""},
        {"No, not that one: the jacket.", "Ok.", "friction.abandon@2 friction.correction@2"},
        /* ordinary messages (written apart from the tables) */
        {"Hi there, can you help me with a return?", "Ok.", ""},
        {"No, that's everything for now.", "Ok.", ""},
        {"No worries, thanks for checking.", "Ok.", ""},
        {"No problem at all.", "Ok.", ""},
        {"Nope, all good.", "Ok.", ""},
        {"I said yes to the newsletter, how do I unsubscribe?", "Ok.", ""},
        {"Is a human signature required on delivery?", "Ok.", ""},
        {"Who is the manager of the Bristol store?", "Ok.", ""},
        {"What are your customer service hours?", "Ok.", ""},
        {"Can I talk to a specialist about bulk orders?", "Ok.", "friction.human@2"},
        {"My husband will call the courier tomorrow.", "Ok.", ""},
        {"The delivery person left it at the wrong door.", "Ok.", ""},
        {"I think I typed the wrong postcode when ordering.", "Ok.", ""},
        {"The wrong size arrived, what now?", "Ok.", ""},
        {"That is correct, thank you.", "Ok.", ""},
        {"That's right.", "Ok.", ""},
        {"Yes, that's the one.", "Ok.", ""},
        {"Great, that is what I needed.", "Ok.", ""},
        {"I meant to ask: do you ship to Norway?", "Ok.", ""},
        {"What do you mean by processing?", "Ok.", ""},
        {"Can you repeat the tracking number?", "Ok.", ""},
        {"Could you say that again?", "Ok.", ""},
        {"Again, thanks a lot!", "Ok.", ""},
        {"How many items can I return at once?", "Ok.", ""},
        {"I'll wait for the email then.", "Ok.", ""},
        {"Never mind the previous question, where is order A-1100?", "Ok.",
         "friction.repeat@2"}, /* turn 1 asked the same */
        {"Whatever is fastest is fine.", "Ok.", ""},
        {"Ok I'm done, bye!", "Ok.", ""},
        {"Is this chat useful for warranty questions?", "Ok.", ""},
        {"The app is useless on my phone, can I order by email?", "Ok.", ""},
        {"Forgetting my password again, how do I reset it?", "Ok.", ""},
        {"Can you connect my account to my new email?", "Ok.", ""},
        {"Please transfer the refund to my other card.", "Ok.", ""},
        {"Does the operator of the locker charge a fee?", "Ok.", ""},
        {"I'm a representative of a small business, do you offer invoices?", "Ok.", ""},
        {"Is this an agent or a bot?", "Ok.", ""},
        {"Hallo, wo ist meine Bestellung?", "Ok.", ""},
        {"Merci beaucoup, c'est parfait.", "Ok.", ""},
        {"Gracias, eso es todo.", "Ok.", ""},
        {"Danke, das war's.", "Ok.", ""},
        {"Where is it?", "Sure, I can help with that.", ""},
        {"Where is it?", "I can't see any problem with your order; it is on its way.", ""},
        {"Where is it?", "Unfortunately the store is closed on Sundays.", ""},
        {"Where is it?", "I could not change the address: the order has already shipped.", ""},
        {"Where is it?", "You can't return opened software, but hardware is fine.", ""},
        {"Where is it?", "We don't have that model in stock right now, but it will be back next week.", ""},
        {"Where is it?", "I'm sorry to hear that. Let me check the order for you.", ""},
        {"Where is it?", "I don't see a second order on your account.", ""},
        {"Where is it?", "There is no tracking number yet.", ""},
        {"Where is it?", "I'm happy to help with anything else.", ""},
        {"Je vous ai d\xc3\xa9j\xc3\xa0 donn\xc3\xa9 le num\xc3\xa9ro.", "Merci.",
         "friction.repeat@2"},
        {"Olv\303\255dalo.", "Ok.", "friction.abandon@2"},
        {"Wo ist das Paket?", "Je n\xe2\x80\x99" "ai pas acc\xc3\xa8s aux commandes.",
         "friction.refusal@2"},
        {"As I said, the jacket.", "Ok.", "friction.repeat@2"},
        {"Where is my parcel for order A-1100?", "It is on its way.",
         "friction.repeat@2"}, /* turn 1 asked the same */
    };
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        struct fx *f = fx_new("s");
        fx_turn(f, "Where is my parcel, order A-1100?", "Which order do you mean?", MS_STATE_OK);
        fx_turn(f, cases[i].user, cases[i].answer, MS_STATE_OK);
        ms_findings *fs = run(f);
        const char *got = summary(fs);
        tu_str_eq(cases[i].user, got, strlen(got), cases[i].want);
        ms_findings_free(fs);
        free(f);
    }
}

static void test_edges(void **state)
{
    (void)state;
    /* a correction needs an earlier answer: never at turn 1 */
    struct fx *f = fx_new("s");
    fx_turn(f, "That's wrong, I said the jacket.", "Ok.", MS_STATE_OK);
    fx_turn(f, "Thanks.", "Bye.", MS_STATE_OK);
    ms_findings *fs = run(f);
    tu_str_eq("turn 1", summary(fs), strlen(summary(fs)), "");
    ms_findings_free(fs);
    free(f);

    /* the last turn failed: the user left without an answer */
    f = fx_new("s");
    fx_turn(f, "Where is my order?", "In transit.", MS_STATE_OK);
    fx_turn(f, "When will it arrive?", NULL, MS_STATE_ERROR);
    fs = run(f);
    tu_str_eq("error", summary(fs), strlen(summary(fs)), "friction.abandon@2");
    msg_eq(fs, "friction.abandon", 2,
           "the session ends at turn 2 right after its trace failed (state ERROR), leaving the "
           "user without an answer: \"When will it arrive?\"");
    ms_findings_free(fs);
    free(f);

    /* a correction after a turn without an answer */
    f = fx_new("s");
    fx_turn(f, "Where is my order?", NULL, MS_STATE_ERROR);
    fx_turn(f, "That's not what I asked, hello?", "Sorry.", MS_STATE_OK);
    fx_turn(f, "Thanks.", "Bye.", MS_STATE_OK);
    fs = run(f);
    msg_eq(fs, "friction.correction", 2,
           "the user corrects the assistant (\"That's not what I\") after turn 1, which recorded "
           "no answer: \"That's not what I asked, hello?\"");
    ms_findings_free(fs);
    free(f);

    /* "never mind" right after a refusal */
    f = fx_new("s");
    fx_turn(f, "Change my address", "I'm unable to do that.", MS_STATE_OK);
    fx_turn(f, "Never mind.", "Ok.", MS_STATE_OK);
    fs = run(f);
    tu_str_eq("weak", summary(fs), strlen(summary(fs)), "friction.refusal@1 friction.abandon@2");
    ms_findings_free(fs);
    free(f);

    /* empty, odd and missing texts: nothing, and no crash */
    f = fx_new("s");
    fx_turn(f, NULL, NULL, MS_STATE_IN_PROGRESS);
    fx_turn(f, "", "", MS_STATE_OK);
    fx_turn(f, "\xff\xfe'- -' \xe2\x80", "\xe2\x80\x99", MS_STATE_OK);
    fs = run(f);
    tu_str_eq("odd", summary(fs), strlen(summary(fs)), "");
    ms_findings_free(fs);
    free(f);

    /* an empty session */
    f = fx_new("s");
    fs = run(f);
    assert_int_equal(ms_findings_count(fs), 0);
    ms_findings_free(fs);
    free(f);
}

/* --rules friction.refusal selects that rule only. */
static void test_selection(void **state)
{
    (void)state;
    struct fx *f = fx_fixture(&fixture[4]);
    struct ms_analyze_options o;
    ms_analyze_options_init(&o);
    const char *rules[] = {"friction.human"};
    o.rules = rules;
    o.n_rules = 1;
    ms_findings *fs = NULL;
    struct ms_error err;
    assert_int_equal(ms_analyze_session(&f->s, &o, &fs, &err), MS_OK);
    tu_str_eq("human only", summary(fs), strlen(summary(fs)), "friction.human@4");
    ms_findings_free(fs);
    free(f);
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
    {"sess-history-drop", "friction.repeat@6:warn friction.repeat@7:warn"}, /* fault b */
    {"sess-corrections", /* fault e */
     "friction.correction@2:warn friction.abandon@4:warn friction.correction@4:warn "
     "friction.human@4:warn"},
    {"sess-rag-outdated", "friction.refusal@2:warn"},
    {"sess-errors", "friction.repeat@3:warn friction.abandon@5:warn"},
    {"sess-context-overflow", ""},    {"sess-idle-gap", ""},         {"sess-tool-loop", ""},
    {"sess-openai", ""},              {"sess-http-wrapper", ""},     {"sess-tag-only", ""},
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
        const char *rules[] = {"friction"};
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

/* Every session of the corpus: each expected friction finding at its turn,
 * and no friction finding that labels.json does not list as expected or
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
    const char *family = "friction.";
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
        const char *rules[] = {"friction"};
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
    printf("# corpus friction: %zu sessions, %zu/%zu expected found, %zu false alarms\n", sessions,
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
        const char *rules[] = {"friction"};
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
        cmocka_unit_test(test_fixture_sessions), cmocka_unit_test(test_messages),
        cmocka_unit_test(test_phrases),          cmocka_unit_test(test_edges),
        cmocka_unit_test(test_selection),
    };
    return cmocka_run_group_tests_name("friction", tests, NULL, NULL);
}
