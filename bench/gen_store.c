// SPDX-License-Identifier: MIT
/*
 * gen_store: writes a seeded, synthetic MLflow 3.17.2 SQLite tracking store
 * for the search benchmark (bench/run_search.sh).
 *
 *   gen_store [--schema FILE] [--seed S] [--huge 0|1] OUT.db N
 *
 * The schema is MLflow's own (bench/schema/mlflow-3.17.2.sql, extracted from
 * a store real MLflow 3.17.2 created), executed as is on a NEW file; the
 * generator refuses to touch an existing one. Rows are written the way
 * MLflow 3.17.2 writes them (see tests/fixtures/sqlite/mlflow.db):
 *
 *   trace_info               request_id "tr-<32 hex>", experiment 1, status,
 *                            previews, trace_name, session_id (3.17.2 keeps
 *                            mlflow.trace.session there, not in metadata),
 *                            token columns
 *   trace_tags               mlflow.artifactLocation, mlflow.trace.spansLocation
 *                            = TRACKING_STORE
 *   trace_request_metadata   the 13 keys MLflow writes (source.*, user,
 *                            sizeBytes, sizeStats, traceInputs/Outputs, ...)
 *   spans                    one row per span, content = the span's JSON in
 *                            MLflow's format (base64 ids, JSON-encoded
 *                            attribute values, exception events)
 *
 * Shapes are modelled on the fixtures (tests/fixtures/export/exp-1.json):
 * RAG turns, agent turns (LLM/tool loops), plain chat turns; 5-13 spans and
 * 10-25 KB of span content per trace (some agent turns up to ~32 KB); sessions
 * of 1-7 turns mostly, with a tail to 60 (mean about 5.7); about 1 % of
 * traces without a session; traces
 * written in timestamp order, so a session's turns are scattered through the
 * table as in a live store. One session, "bench-sess-60", has exactly 60
 * turns. With --huge 1 (default) three runaway agent traces have 20 000,
 * 30 000 and 50 000 spans.
 *
 * Speed: one transaction, prepared statements, journal_mode=OFF and
 * synchronous=OFF on the new file, a 2 GB page cache. No malloc per row:
 * every buffer is reused. Deterministic for a given (N, seed).
 *
 * Build: cc -O2 -o gen_store bench/gen_store.c -lsqlite3
 */
#define _XOPEN_SOURCE 700
#include <sqlite3.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SESSION_60 "bench-sess-60"
#define BASE_MS 1768464600000LL /* 2026-01-15 08:10 UTC, as in the fixtures */
#define SPAN_DAYS 30LL

/* ---- random numbers (splitmix64) -------------------------------------- */

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

typedef struct { uint64_t s; } rng;
static uint64_t rnext(rng *r)
{
    r->s += 0x9e3779b97f4a7c15ULL;
    return mix64(r->s);
}
static uint32_t rbelow(rng *r, uint32_t n) { return (uint32_t)(rnext(r) % n); }
static int rrange(rng *r, int lo, int hi) { return lo + (int)rbelow(r, (uint32_t)(hi - lo + 1)); }
static double runit(rng *r) { return (double)(rnext(r) >> 11) / 9007199254740992.0; }

/* ---- growable byte buffer ----------------------------------------------- */

typedef struct { char *p; size_t n, cap; } buf;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("gen_store: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void b_need(buf *b, size_t more)
{
    if (b->n + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + more + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        die("out of memory");
    b->p = p;
    b->cap = cap;
}
static void b_clear(buf *b) { b->n = 0; if (b->p) b->p[0] = 0; }
static void b_put(buf *b, const char *s, size_t n)
{
    b_need(b, n);
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void b_puts(buf *b, const char *s) { b_put(b, s, strlen(s)); }
static void b_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[512];
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0)
        die("format");
    if ((size_t)k < sizeof tmp) {
        b_put(b, tmp, (size_t)k);
        return;
    }
    b_need(b, (size_t)k);
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}
/* a JSON string literal of s (Python json.dumps escaping for ASCII input) */
static void b_jstr_n(buf *b, const char *s, size_t n)
{
    b_need(b, n * 2 + 2);
    char *o = b->p + b->n;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': *o++ = '\\'; *o++ = '"'; break;
        case '\\': *o++ = '\\'; *o++ = '\\'; break;
        case '\n': *o++ = '\\'; *o++ = 'n'; break;
        case '\t': *o++ = '\\'; *o++ = 't'; break;
        default:
            if (c < 0x20) {
                b->n = (size_t)(o - b->p);
                b_printf(b, "\\u%04x", c);
                b_need(b, (n - i) * 2 + 2);
                o = b->p + b->n;
            } else {
                *o++ = (char)c;
            }
        }
    }
    *o++ = '"';
    b->n = (size_t)(o - b->p);
    b->p[b->n] = 0;
}
static void b_jstr(buf *b, const char *s) { b_jstr_n(b, s, strlen(s)); }

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static void b64(const unsigned char *in, int n, char *out)
{
    int o = 0;
    for (int i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        out[o++] = B64[(v >> 18) & 63];
        out[o++] = B64[(v >> 12) & 63];
        out[o++] = i + 1 < n ? B64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? B64[v & 63] : '=';
    }
    out[o] = 0;
}
static void hex(const unsigned char *in, int n, char *out)
{
    static const char H[] = "0123456789abcdef";
    for (int i = 0; i < n; i++) {
        out[2 * i] = H[in[i] >> 4];
        out[2 * i + 1] = H[in[i] & 15];
    }
    out[2 * n] = 0;
}

/* ---- text pools (from the fixtures' support-assistant domain) ----------- */

static const char *QUESTIONS[] = {
    "Hi, I bought hiking boots last week and they don't fit.",
    "Can I exchange them for a bigger size instead?",
    "How many days do I have to return them for a refund?",
    "Great. Do I need to print a return label myself?",
    "Where is my parcel? It was supposed to arrive yesterday.",
    "I moved house, can you change the delivery address on my order?",
    "The jacket I received has a broken zip. What can I do?",
    "Can you check whether the refund for my last return went through?",
    "Do you ship to Ireland, and how long does it take?",
    "I was charged twice for the same order, please help.",
    "What is the difference between the Trail 2 and the Trail 3 tent?",
    "Can I still cancel the order I placed this morning?",
    "My discount code WINTER15 is not accepted at checkout.",
    "Is the down sleeping bag suitable for minus ten degrees?",
    "The tracking page says delivered but I have nothing.",
    "Please send me an invoice with my company VAT number.",
    "Can I pick up my order from the Leeds store instead?",
    "How do I wash the merino base layer without shrinking it?",
    "Thanks, that solved it. One more thing: do you price match?",
    "I'd like to speak to a human agent, this is taking too long.",
};
#define NQ (int)(sizeof QUESTIONS / sizeof *QUESTIONS)

static const char *ANSWERS[] = {
    "Hello! I'm sorry to hear that. I can help you return or exchange them.",
    "Yes. Start an exchange from your order page and pick the new size; we reserve it for 7 days.",
    "You can return it for a full refund within 30 days of delivery. Start the return from your order page.",
    "No, we will email a prepaid return label as soon as you start the return.",
    "Your parcel is with the carrier and scheduled for delivery tomorrow before 6 pm.",
    "I have updated the delivery address. You will get a confirmation email shortly.",
    "I'm sorry about the zip. I've opened a warranty claim; a replacement ships within 2 working days.",
    "The refund of 89.00 GBP was issued on Monday and should reach your card within 5 business days.",
    "Yes, we ship to Ireland. Standard delivery takes 3-5 working days.",
    "I can see two payments; the duplicate authorisation will be released by your bank within 3 days.",
    "The Trail 3 is 400 g lighter and has two porches; the Trail 2 has a single porch and a steel frame.",
    "Your order has not been picked yet, so I have cancelled it. The refund is on its way.",
    "WINTER15 expired on 31 January. I have applied a 10 % goodwill code instead: SORRY10.",
    "It is rated to -7 C comfort and -15 C extreme, so it works for minus ten with a liner.",
    "I have opened a carrier investigation; if it is not found in 48 hours we will reship.",
    "Done: the invoice with your VAT number is attached to your order page.",
    "Yes, I have switched the order to click and collect at our Leeds store.",
    "Wash it at 30 degrees on a wool cycle and dry it flat; do not tumble dry.",
    "We match the price of UK retailers for identical items in stock; send me the link.",
    "I am handing you over to a colleague now; the average wait is 4 minutes.",
};
#define NA (int)(sizeof ANSWERS / sizeof *ANSWERS)

static const char *DOCS[] = {
    "Refund policy: you can return any item for a full refund within 30 days of delivery. To return an item and get your refund, start a return from your order page and we will email a prepaid return label. Items must be unused and in their original packaging; footwear must be tried indoors only.",
    "Refund policy (effective 2025-11-01): items may be sent back within 14 days of delivery. Refunds go to the original payment method within 5 business days. Sale items can be exchanged but not refunded. Gift cards cannot be refunded or exchanged for cash.",
    "Exchanges: to exchange an item for another size or colour, start an exchange from the order page. We reserve the replacement for 7 days and ship it as soon as the carrier scans the returned parcel. Exchanges are free of charge within the United Kingdom.",
    "Shipping: standard delivery within the UK takes 2-4 working days and is free above 50 GBP. Express delivery (next working day, order before 2 pm) costs 6.95 GBP. We ship to Ireland, France, Germany and the Netherlands in 3-5 working days.",
    "Address changes: the delivery address of an order can be changed until the order is picked in the warehouse. After that, the carrier can redirect the parcel for a fee of 3.50 GBP. Orders to parcel lockers cannot be redirected.",
    "Warranty: all outerwear carries a 2-year warranty against manufacturing defects, including zips, seams and waterproof membranes. Open a warranty claim with a photo of the defect; we repair, replace or refund at our discretion within 14 days.",
    "Payments: we accept Visa, Mastercard, American Express, PayPal and Klarna. A duplicate authorisation can appear when a payment is retried; it is released automatically by the card issuer within 3-5 days and never captured.",
    "Price match: we match the advertised price of UK retailers for identical items that are in stock, excluding marketplaces, clearance and member-only prices. Price match requests must be made before purchase or within 7 days after delivery.",
    "Product care: wash merino base layers at 30 degrees on a wool or hand-wash cycle with a wool detergent, reshape and dry flat away from direct heat. Do not tumble dry, iron or dry clean. Down items should be washed with a down wash and tumble dried on low with dryer balls.",
    "Click and collect: orders can be collected from any of our 38 stores, free of charge, usually the next working day after 12 noon. Bring the collection email and a photo ID. Uncollected orders are returned to the warehouse and refunded after 14 days.",
};
#define ND (int)(sizeof DOCS / sizeof *DOCS)

static const char SYSTEM_PROMPT[] =
    "You are the Acme support assistant. Help customers with orders, refunds, shipping and "
    "address changes. Be brief and polite. Never invent order details: use the tools to look "
    "them up. If the customer asks for a human, hand over. Answer in the customer's language. "
    "Quote policy text only from the context below and cite the document id.";

/* the tools list the agent passes to every LLM call (inner JSON) */
static const char TOOLS_JSON[] =
    "[{\"type\": \"function\", \"function\": {\"name\": \"lookup_order\", \"description\": \"Look up an order by id.\", \"parameters\": {\"type\": \"object\", \"properties\": {\"order_id\": {\"type\": \"string\"}}, \"required\": [\"order_id\"]}}}, "
    "{\"type\": \"function\", \"function\": {\"name\": \"get_refund_policy\", \"description\": \"Current refund policy.\", \"parameters\": {\"type\": \"object\", \"properties\": {}}}}, "
    "{\"type\": \"function\", \"function\": {\"name\": \"check_shipping\", \"description\": \"Carrier tracking status of an order.\", \"parameters\": {\"type\": \"object\", \"properties\": {\"order_id\": {\"type\": \"string\"}}, \"required\": [\"order_id\"]}}}, "
    "{\"type\": \"function\", \"function\": {\"name\": \"update_address\", \"description\": \"Change the delivery address of an order.\", \"parameters\": {\"type\": \"object\", \"properties\": {\"order_id\": {\"type\": \"string\"}, \"address\": {\"type\": \"string\"}, \"postcode\": {\"type\": \"string\"}}, \"required\": [\"order_id\", \"address\", \"postcode\"]}}}, "
    "{\"type\": \"function\", \"function\": {\"name\": \"issue_refund\", \"description\": \"Refund an order or part of it.\", \"parameters\": {\"type\": \"object\", \"properties\": {\"order_id\": {\"type\": \"string\"}, \"amount\": {\"type\": \"number\"}}, \"required\": [\"order_id\"]}}}, "
    "{\"type\": \"function\", \"function\": {\"name\": \"search_catalog\", \"description\": \"Search the product catalog.\", \"parameters\": {\"type\": \"object\", \"properties\": {\"query\": {\"type\": \"string\"}}, \"required\": [\"query\"]}}}]";

static const char *TOOL_NAMES[] = {"lookup_order", "check_shipping", "get_refund_policy",
                                   "update_address", "issue_refund", "search_catalog"};
#define NT 6

static const char *STATUSES[] = {"label_created", "in_transit", "out_for_delivery", "delivered",
                                 "picked", "cancelled"};

static const char *TOOL_ERRORS[][2] = {
    {"InvalidAddressError", "postcode 'ZZ9' is not a valid UK postcode"},
    {"OrderNotFoundError", "order A-0000 does not exist"},
    {"TimeoutError", "carrier API did not answer within 10 s"},
    {"PermissionError", "refund above 200 GBP needs a human approval"},
};
static const char *LLM_ERRORS[][2] = {
    {"RateLimitError", "Error code: 429 - rate limit reached for acme-large-32k"},
    {"BadRequestError", "Error code: 400 - context length exceeded (32768 tokens)"},
};

static const char STACK_FMT[] =
    "Traceback (most recent call last):\n"
    "  File \"/srv/app/.venv/lib/python3.11/site-packages/mlflow/tracing/provider.py\", line 306, in with_active_span\n"
    "    yield\n"
    "  File \"/srv/app/.venv/lib/python3.11/site-packages/mlflow/tracing/fluent.py\", line 695, in start_span\n"
    "    yield mlflow_span\n"
    "  File \"/srv/app/.venv/lib/python3.11/site-packages/mlflow/tracing/fluent.py\", line 383, in wrapper\n"
    "    return wrapping_coro.send(fn(*args, **kwargs))\n"
    "  File \"/srv/app/app.py\", line 226, in %s\n"
    "    raise %s(msg)\n"
    "app.%s: %s";

/* ---- the schedule: sessions and turns ----------------------------------- */

enum kind { K_RAG, K_AGENT, K_CHAT };

typedef struct {
    uint64_t seed;
    int64_t start_ms;
    int turns;
    uint8_t kind;
    uint8_t nosession; /* a lone trace without session id */
    int user;
} session;

typedef struct {
    int64_t ts_ms;
    uint32_t sess;
    uint16_t turn;
} slot;

static int slot_cmp(const void *a, const void *b)
{
    const slot *x = a, *y = b;
    if (x->ts_ms != y->ts_ms)
        return x->ts_ms < y->ts_ms ? -1 : 1;
    if (x->sess != y->sess)
        return x->sess < y->sess ? -1 : 1;
    return (int)x->turn - (int)y->turn;
}

/* ---- one trace ------------------------------------------------------------ */

typedef struct {
    char id_hex[17];
    char id_b64[13];
    int parent;
    const char *name;
    const char *type;
    int error;
    int64_t start_ns, end_ns;
    const char *model;
    buf content;
} span;

typedef struct {
    rng r;
    char req_id[36];     /* tr-<32 hex> */
    char trace_b64[25];
    span *spans;
    int nspans, capspans;
    buf in, out, tmp, tmp2, extra;
    int64_t in_tok, out_tok;
    const char *session_id; /* NULL: none */
} trace;

static span *new_span(trace *t, const char *name, const char *type, int parent, int64_t start_ns,
                      int64_t dur_ns)
{
    if (t->nspans == t->capspans) {
        int cap = t->capspans ? t->capspans * 2 : 32;
        span *p = realloc(t->spans, (size_t)cap * sizeof *p);
        if (!p)
            die("out of memory");
        memset(p + t->capspans, 0, (size_t)(cap - t->capspans) * sizeof *p);
        t->spans = p;
        t->capspans = cap;
    }
    span *s = &t->spans[t->nspans++];
    unsigned char id[8];
    uint64_t v = rnext(&t->r);
    memcpy(id, &v, 8);
    hex(id, 8, s->id_hex);
    b64(id, 8, s->id_b64);
    s->parent = parent;
    s->name = name;
    s->type = type;
    s->error = 0;
    s->start_ns = start_ns;
    s->end_ns = start_ns + dur_ns;
    s->model = NULL;
    b_clear(&s->content);
    return s;
}

/* Writes span i's content: MLflow's span JSON. inputs/outputs are inner JSON
 * (NULL: attribute absent); extra holds more ", key: value" attribute text. */
static void render_span(trace *t, int i, const char *fn, const char *inputs, const char *outputs,
                        const char *extra, const char *err_type, const char *err_msg, int level)
{
    span *s = &t->spans[i];
    buf *c = &s->content;
    b_clear(c);
    b_puts(c, "{\"trace_id\": \"");
    b_puts(c, t->trace_b64);
    b_puts(c, "\", \"span_id\": \"");
    b_puts(c, s->id_b64);
    b_puts(c, "\", \"parent_span_id\": ");
    if (s->parent < 0) {
        b_puts(c, "null");
    } else {
        b_puts(c, "\"");
        b_puts(c, t->spans[s->parent].id_b64);
        b_puts(c, "\"");
    }
    b_puts(c, ", \"name\": ");
    b_jstr(c, s->name);
    b_printf(c, ", \"start_time_unix_nano\": %" PRId64 ", \"end_time_unix_nano\": %" PRId64
                ", \"events\": [",
             s->start_ns, s->end_ns);
    if (err_type) {
        buf *st = &t->tmp2;
        b_clear(st);
        b_printf(st, STACK_FMT, fn ? fn : s->name, err_type, err_type, err_msg);
        b_printf(c, "{\"name\": \"exception\", \"time_unix_nano\": %" PRId64
                    ", \"attributes\": {\"exception.message\": ",
                 s->end_ns - 1000);
        b_jstr(c, err_msg);
        b_puts(c, ", \"exception.type\": ");
        b_jstr(c, err_type);
        b_puts(c, ", \"exception.stacktrace\": ");
        b_jstr_n(c, st->p, st->n);
        b_puts(c, "}}], \"status\": {\"code\": \"STATUS_CODE_ERROR\", \"message\": ");
        b_clear(st);
        b_printf(st, "%s: %s", err_type, err_msg);
        b_jstr_n(c, st->p, st->n);
        b_puts(c, "}");
    } else {
        b_puts(c, "], \"status\": {\"code\": \"STATUS_CODE_OK\", \"message\": \"\"}");
    }
    b_puts(c, ", \"attributes\": {\"mlflow.traceRequestId\": \"\\\"");
    b_puts(c, t->req_id);
    b_puts(c, "\\\"\", \"mlflow.spanType\": \"\\\"");
    b_puts(c, s->type);
    b_puts(c, "\\\"\"");
    if (fn) {
        b_puts(c, ", \"mlflow.spanFunctionName\": \"\\\"");
        b_puts(c, fn);
        b_puts(c, "\\\"\"");
    }
    if (inputs) {
        b_puts(c, ", \"mlflow.spanInputs\": ");
        b_jstr(c, inputs);
    }
    if (outputs) {
        b_puts(c, ", \"mlflow.spanOutputs\": ");
        b_jstr(c, outputs);
    }
    if (extra)
        b_puts(c, extra);
    b_printf(c, ", \"mlflow.spanLogLevel\": \"%d\"}, \"links\": []}", err_type ? 40 : level);
    s->error = err_type != NULL;
}

/* a chat-model span: messages = system (+ context) + history + question
 * [+ tool round trips]; pad adds policy text to the context */
static void chat_inputs(trace *t, buf *o, const session *se, int turn, int hist, int with_docs,
                        int pad, int tools, int tool_rounds, const char **tool_outs)
{
    b_clear(o);
    b_puts(o, "{\"model\": \"acme-large-32k\", \"messages\": [{\"role\": \"system\", \"content\": ");
    buf *sys = &t->tmp;
    b_clear(sys);
    b_puts(sys, SYSTEM_PROMPT);
    if (with_docs || pad > 0) {
        b_puts(sys, "\nContext:\n");
        rng dr = {se->seed ^ (uint64_t)turn * 7919u};
        for (int k = 0; k < with_docs; k++) {
            b_printf(sys, "[kb-%d] ", 100 + (int)rbelow(&dr, 400));
            b_puts(sys, DOCS[rbelow(&dr, ND)]);
            b_puts(sys, "\n");
        }
        while (pad > 0) {
            const char *d = DOCS[rbelow(&t->r, ND)];
            int n = (int)strlen(d);
            if (n > pad + 40)
                n = pad + 40;
            b_printf(sys, "[kb-%d] ", 100 + (int)rbelow(&t->r, 400));
            b_put(sys, d, (size_t)n);
            b_puts(sys, "\n");
            pad -= n + 10;
        }
    }
    b_jstr_n(o, sys->p, sys->n);
    b_puts(o, "}");
    int from = turn - hist < 0 ? 0 : turn - hist;
    for (int j = from; j < turn; j++) {
        uint64_t h = mix64(se->seed + (uint64_t)j);
        b_puts(o, ", {\"role\": \"user\", \"content\": ");
        b_jstr(o, QUESTIONS[h % NQ]);
        b_puts(o, "}, {\"role\": \"assistant\", \"content\": ");
        b_jstr(o, ANSWERS[(h >> 20) % NA]);
        b_puts(o, "}");
    }
    uint64_t h = mix64(se->seed + (uint64_t)turn);
    b_puts(o, ", {\"role\": \"user\", \"content\": ");
    b_jstr(o, QUESTIONS[h % NQ]);
    b_puts(o, "}");
    for (int k = 0; k < tool_rounds; k++) {
        b_printf(o, ", {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": "
                    "\"call_%08d\", \"type\": \"function\", \"function\": {\"name\": \"%s\", "
                    "\"arguments\": \"{\\\"order_id\\\": \\\"A-%04d\\\"}\"}}]}",
                 (int)(mix64(h + (uint64_t)k) % 100000000), TOOL_NAMES[(h >> (8 + k)) % NT],
                 (int)(h % 10000));
        b_printf(o, ", {\"role\": \"tool\", \"tool_call_id\": \"call_%08d\", \"content\": ",
                 (int)(mix64(h + (uint64_t)k) % 100000000));
        b_jstr(o, tool_outs[k]);
        b_puts(o, "}");
    }
    b_puts(o, "]");
    if (tools) {
        b_puts(o, ", \"tools\": ");
        b_puts(o, TOOLS_JSON);
    }
    b_puts(o, "}");
}

static void chat_extra(trace *t, int in_tok, int out_tok)
{
    b_clear(&t->extra);
    b_printf(&t->extra,
             ", \"mlflow.chat.tokenUsage\": \"{\\\"input_tokens\\\": %d, \\\"output_tokens\\\": "
             "%d, \\\"total_tokens\\\": %d}\", \"mlflow.llm.model\": \"\\\"acme-large-32k\\\"\"",
             in_tok, out_tok, in_tok + out_tok);
    t->in_tok += in_tok;
    t->out_tok += out_tok;
}

static size_t content_total(const trace *t)
{
    size_t n = 0;
    for (int i = 0; i < t->nspans; i++)
        n += t->spans[i].content.n;
    return n;
}

/* results the root reports, set by the builders */
typedef struct {
    buf req_preview, resp_preview;
    const char *trace_name;
    int error;
} result;

static const char *tool_output(trace *t, buf *o, const char *tool, int order)
{
    b_clear(o);
    if (!strcmp(tool, "get_refund_policy"))
        b_printf(o, "{\"days\": 30, \"conditions\": \"unused, original packaging\", \"label\": \"prepaid\"}");
    else if (!strcmp(tool, "search_catalog"))
        b_printf(o, "{\"results\": [{\"sku\": \"TR-%d\", \"name\": \"Trail %d tent\", \"price\": %d.00}, "
                    "{\"sku\": \"TR-%d\", \"name\": \"Trail %d tent\", \"price\": %d.00}]}",
                 order % 97, 2 + order % 2, 149 + order % 50, order % 89, 3 - order % 2, 199 + order % 40);
    else
        b_printf(o, "{\"order_id\": \"A-%04d\", \"status\": \"%s\", \"items\": %d, \"total\": %d.%02d, "
                    "\"tracking_number\": \"JD%012d\"}",
                 order, STATUSES[order % 6], 1 + order % 4, 20 + order % 300, order % 100,
                 order * 7919 % 1000000);
    (void)t;
    return o->p;
}

/* Builds the spans of one normal trace (6-16 spans, target bytes of content) */
static void build_trace(trace *t, const session *se, int turn, int64_t ts_ms, result *res)
{
    rng *r = &t->r;
    int target = 10000 + (int)(runit(r) * runit(r) * 15000.0) + rrange(r, 0, 3000);
    if (target > 25000) target = 25000;
    uint64_t h = mix64(se->seed + (uint64_t)turn);
    const char *q = QUESTIONS[h % NQ];
    const char *a = ANSWERS[(h >> 20) % NA];
    int64_t t0 = ts_ms * 1000000LL + 1000;
    int64_t now = t0 + 1000;
    buf *in = &t->in, *out = &t->out;
    t->nspans = 0;
    t->in_tok = t->out_tok = 0;
    res->error = 0;
    b_clear(&res->req_preview);
    b_clear(&res->resp_preview);

    if (se->kind == K_AGENT) {
        res->trace_name = "support_agent";
        int rounds = 2 + (int)(runit(r) * runit(r) * 4.0);
        int fail_at = runit(r) < 0.05 ? rrange(r, 1, rounds - 1) : -1;
        int llm_fail = fail_at < 0 && runit(r) < 0.01;
        int guard = runit(r) < 0.5;
        new_span(t, "support_agent", "AGENT", -1, t0, 0);
        const char *outs[8];
        static buf tool_out_store[8];
        int order = (int)(h % 10000);
        for (int k = 0; k < rounds && !res->error; k++) {
            int64_t d = rrange(r, 250, 900) * 1000000LL;
            int li = t->nspans;
            span *s = new_span(t, "call_llm", "CHAT_MODEL", 0, now, d);
            s->model = "acme-large-32k";
            now += d + 1000;
            chat_inputs(t, in, se, turn, 2, 0, 0, 1, k, outs);
            const char *tool = TOOL_NAMES[(h >> (8 + k)) % NT];
            b_clear(out);
            b_printf(out, "{\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"call_%08d\", "
                          "\"type\": \"function\", \"function\": {\"name\": \"%s\", \"arguments\": "
                          "\"{\\\"order_id\\\": \\\"A-%04d\\\"}\"}}]}",
                     (int)(mix64(h + (uint64_t)k) % 100000000), tool, order);
            chat_extra(t, (int)(in->n / 4), rrange(r, 20, 60));
            render_span(t, li, NULL, in->p, out->p, t->extra.p, NULL, NULL, 20);
            d = rrange(r, 30, 400) * 1000000LL;
            int ti = t->nspans;
            new_span(t, tool, "TOOL", 0, now, d);
            now += d + 1000;
            b_clear(in);
            b_printf(in, "{\"order_id\": \"A-%04d\"}", order);
            outs[k] = tool_output(t, &tool_out_store[k], tool, order);
            if (k == fail_at) {
                int e = (int)((h >> 40) % 4);
                render_span(t, ti, tool, in->p, NULL, NULL, TOOL_ERRORS[e][0], TOOL_ERRORS[e][1], 20);
                res->error = 1;
            } else {
                render_span(t, ti, tool, in->p, outs[k], NULL, NULL, NULL, 20);
            }
        }
        if (!res->error) {
            int64_t d = rrange(r, 400, 2500) * 1000000LL;
            int fi = t->nspans;
            span *s = new_span(t, "call_llm", "CHAT_MODEL", 0, now, d);
            s->model = "acme-large-32k";
            now += d + 1000;
            chat_inputs(t, in, se, turn, 2, 0, 0, 1, rounds, outs);
            if (llm_fail) {
                render_span(t, fi, NULL, in->p, NULL, NULL, LLM_ERRORS[h % 2][0], LLM_ERRORS[h % 2][1], 20);
                res->error = 1;
            } else {
                if (guard) {
                    d = rrange(r, 40, 200) * 1000000LL;
                    int gi = t->nspans;
                    new_span(t, "output_guardrail", "GUARDRAIL", 0, now, d);
                    now += d + 1000;
                    b_clear(out);
                    b_puts(out, "{\"text\": ");
                    b_jstr(out, a);
                    b_puts(out, "}");
                    render_span(t, gi, "check_output", out->p, "{\"passed\": true, \"violations\": []}",
                                NULL, NULL, NULL, 20);
                }
                /* the final LLM call carries the padding */
                b_clear(out);
                b_puts(out, "{\"role\": \"assistant\", \"content\": ");
                b_jstr(out, a);
                b_puts(out, "}");
                int pad = target - (int)content_total(t) - (int)in->n - (int)out->n - 900;
                if (pad > 0)
                    chat_inputs(t, in, se, turn, 2, 0, pad, 1, rounds, outs);
                chat_extra(t, (int)(in->n / 4), (int)(out->n / 4));
                render_span(t, fi, NULL, in->p, out->p, t->extra.p, NULL, NULL, 20);
            }
        }
        span *root = &t->spans[0];
        root->end_ns = now + 1000;
        b_clear(in);
        b_puts(in, "{\"message\": ");
        b_jstr(in, q);
        if (t->session_id) {
            b_puts(in, ", \"session_id\": ");
            b_jstr(in, t->session_id);
        }
        b_puts(in, "}");
        b_put(&res->req_preview, in->p, in->n);
        if (res->error) {
            render_span(t, 0, "handle", in->p, NULL, NULL, "AgentError", "a tool call failed", 20);
        } else {
            b_clear(out);
            b_jstr(out, a);
            b_put(&res->resp_preview, out->p, out->n);
            render_span(t, 0, "handle", in->p, out->p, NULL, NULL, NULL, 20);
        }
        return;
    }

    /* RAG and chat: root CHAIN, fixed pipeline of children */
    int rag = se->kind == K_RAG;
    res->trace_name = rag ? "rag_answer" : "chat_turn";
    new_span(t, res->trace_name, "CHAIN", -1, t0, 0);
    int llm_fail = runit(r) < 0.015;
    int nd = rrange(r, 3, 5);
    struct step { const char *name, *type, *fn; int lo, hi; } steps_rag[] = {
        {"rewrite_query", "LLM", "rewrite", 120, 400},
        {"embed_query", "EMBEDDING", "embed", 20, 80},
        {"search_kb", "RETRIEVER", "retrieve", 30, 120},
        {"rerank", "RERANKER", "rerank", 40, 160},
        {"generate_answer", "CHAT_MODEL", NULL, 400, 2500},
        {"format_response", "PARSER", "format", 1, 5},
    }, steps_chat[] = {
        {"moderate_input", "LLM", "moderate", 60, 200},
        {"load_history", "RETRIEVER", "load_history", 5, 30},
        {"build_prompt", "PARSER", "build_prompt", 1, 5},
        {"call_llm", "CHAT_MODEL", NULL, 400, 2500},
        {"moderate_output", "LLM", "moderate", 60, 200},
        {"save_history", "UNKNOWN", "save_history", 5, 20},
    };
    struct step *steps = rag ? steps_rag : steps_chat;
    int nsteps = 6;
    int main_llm = -1;
    int hist = rag ? 4 : 8;
    for (int k = 0; k < nsteps; k++) {
        int64_t d = rrange(r, steps[k].lo, steps[k].hi) * 1000000LL;
        int i = t->nspans;
        span *s = new_span(t, steps[k].name, steps[k].type, 0, now, d);
        now += d + 1000;
        const char *typ = steps[k].type;
        if (!strcmp(typ, "CHAT_MODEL")) {
            s->model = "acme-large-32k";
            main_llm = i;
            if (llm_fail)
                break;
            continue; /* rendered last, with padding */
        }
        b_clear(in);
        b_clear(out);
        if (!strcmp(typ, "RETRIEVER") && rag) {
            b_puts(in, "{\"query\": ");
            b_jstr(in, q);
            b_printf(in, ", \"k\": %d}", nd);
            b_puts(out, "[");
            rng dr = {se->seed ^ (uint64_t)turn * 7919u};
            for (int j = 0; j < nd; j++) {
                int kb = 100 + (int)rbelow(&dr, 400);
                b_puts(out, j ? ", {\"page_content\": " : "{\"page_content\": ");
                b_jstr(out, DOCS[rbelow(&dr, ND)]);
                b_printf(out, ", \"metadata\": {\"doc_uri\": \"kb://policies/doc-%d.md\", \"chunk_id\": \"%d\", "
                              "\"updated\": \"2025-%02d-01\", \"score\": 0.%03d}, \"id\": \"kb-%d\"}",
                         kb, j, 1 + kb % 12, 900 - 37 * j, kb);
            }
            b_puts(out, "]");
        } else if (!strcmp(typ, "RETRIEVER")) {
            b_puts(in, "{\"session_id\": ");
            b_jstr(in, t->session_id ? t->session_id : "");
            b_printf(in, ", \"limit\": %d}", hist);
            b_puts(out, "[");
            int from = turn - hist < 0 ? 0 : turn - hist;
            for (int j = from; j < turn; j++) {
                uint64_t hj = mix64(se->seed + (uint64_t)j);
                b_puts(out, j > from ? ", {\"user\": " : "{\"user\": ");
                b_jstr(out, QUESTIONS[hj % NQ]);
                b_puts(out, ", \"assistant\": ");
                b_jstr(out, ANSWERS[(hj >> 20) % NA]);
                b_puts(out, "}");
            }
            b_puts(out, "]");
        } else if (!strcmp(typ, "EMBEDDING")) {
            b_puts(in, "{\"input\": ");
            b_jstr(in, q);
            b_puts(in, ", \"model\": \"acme-embed-v2\"}");
            b_puts(out, "{\"dimensions\": 1024, \"embedding\": [");
            for (int j = 0; j < 16; j++)
                b_printf(out, j ? ", %.6f" : "%.6f", runit(r) * 2 - 1);
            b_puts(out, "]}");
        } else if (!strcmp(typ, "RERANKER")) {
            b_printf(in, "{\"query\": ");
            b_jstr(in, q);
            b_printf(in, ", \"top_n\": %d}", nd > 3 ? 3 : nd);
            b_printf(out, "[{\"id\": \"kb-%d\", \"score\": 0.91}, {\"id\": \"kb-%d\", \"score\": 0.74}]",
                     100 + (int)(h % 400), 100 + (int)((h >> 9) % 400));
        } else if (!strcmp(typ, "LLM")) {
            b_puts(in, "{\"text\": ");
            b_jstr(in, k < 2 ? q : a);
            b_puts(in, "}");
            if (!strcmp(steps[k].fn, "rewrite")) {
                b_puts(out, "{\"query\": ");
                b_jstr(out, q);
                b_puts(out, "}");
            } else {
                b_puts(out, "{\"flagged\": false, \"categories\": {\"harassment\": false, \"self_harm\": false, \"violence\": false}}");
            }
        } else {
            b_puts(in, "{\"text\": ");
            b_jstr(in, a);
            b_puts(in, "}");
            b_puts(out, "{\"ok\": true}");
        }
        render_span(t, i, steps[k].fn, in->p, out->p, NULL, NULL, NULL, 20);
    }
    /* the main LLM call, padded to the target size */
    b_clear(out);
    b_puts(out, "{\"role\": \"assistant\", \"content\": ");
    b_jstr(out, a);
    b_puts(out, "}");
    chat_inputs(t, in, se, turn, hist, rag ? nd : 0, 0, 0, 0, NULL);
    if (llm_fail) {
        render_span(t, main_llm, NULL, in->p, NULL, NULL, LLM_ERRORS[h % 2][0], LLM_ERRORS[h % 2][1], 20);
        res->error = 1;
    } else {
        int pad = target - (int)content_total(t) - (int)in->n - (int)out->n - 1400;
        if (pad > 0)
            chat_inputs(t, in, se, turn, hist, rag ? nd : 0, pad, 0, 0, NULL);
        chat_extra(t, (int)(in->n / 4), (int)(out->n / 4));
        render_span(t, main_llm, NULL, in->p, out->p, t->extra.p, NULL, NULL, 20);
    }
    t->spans[0].end_ns = now + 1000;
    b_clear(in);
    b_puts(in, "{\"question\": ");
    b_jstr(in, q);
    b_puts(in, "}");
    b_put(&res->req_preview, in->p, in->n);
    if (res->error) {
        render_span(t, 0, rag ? "answer" : "chat", in->p, NULL, NULL, LLM_ERRORS[h % 2][0],
                    LLM_ERRORS[h % 2][1], 20);
    } else {
        b_clear(out);
        b_puts(out, "{\"answer\": ");
        b_jstr(out, a);
        b_puts(out, ", \"sources\": []}");
        b_put(&res->resp_preview, out->p, out->n);
        render_span(t, 0, rag ? "answer" : "chat", in->p, out->p, NULL, NULL, NULL, 20);
    }
}

/* A runaway agent: nspans spans of small LLM/tool round trips, ends in error */
static void build_huge(trace *t, int nspans, int64_t ts_ms, result *res)
{
    rng *r = &t->r;
    int64_t t0 = ts_ms * 1000000LL + 1000, now = t0 + 1000;
    t->nspans = 0;
    t->in_tok = t->out_tok = 0;
    res->trace_name = "support_agent";
    res->error = 1;
    b_clear(&res->req_preview);
    b_clear(&res->resp_preview);
    new_span(t, "support_agent", "AGENT", -1, t0, 0);
    buf *in = &t->in;
    for (int i = 1; i < nspans; i++) {
        int tool = i % 2 == 0;
        int64_t d = (tool ? rrange(r, 5, 40) : rrange(r, 20, 120)) * 1000000LL;
        new_span(t, tool ? "check_shipping" : "call_llm", tool ? "TOOL" : "CHAT_MODEL", 0, now, d);
        now += d + 1000;
        b_clear(in);
        if (tool) {
            render_span(t, i, "check_shipping", "{\"order_id\": \"A-1100\"}",
                        "{\"order_id\": \"A-1100\", \"status\": \"label_created\", \"tracking_number\": null}",
                        NULL, NULL, NULL, 20);
        } else {
            t->spans[i].model = "acme-small-8k";
            chat_extra(t, 180, 24);
            render_span(t, i, NULL, "{\"model\": \"acme-small-8k\", \"messages\": [{\"role\": \"user\", \"content\": \"Where is my parcel? Order A-1100.\"}]}",
                        "{\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"call_1\", \"type\": \"function\", \"function\": {\"name\": \"check_shipping\", \"arguments\": \"{\\\"order_id\\\": \\\"A-1100\\\"}\"}}]}",
                        t->extra.p, NULL, NULL, 20);
        }
    }
    t->spans[0].end_ns = now + 1000;
    b_puts(&res->req_preview, "{\"message\": \"Where is my parcel? Order A-1100.\"}");
    render_span(t, 0, "handle", res->req_preview.p, NULL, NULL, "RecursionError",
                "agent exceeded the maximum number of tool calls", 20);
}

/* ---- SQLite ----------------------------------------------------------- */

static sqlite3 *db;
static void exec(const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        die("%s: %s", sql, err ? err : "?");
}
static sqlite3_stmt *prep(const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        die("prepare %s: %s", sql, sqlite3_errmsg(db));
    return st;
}
static void step(sqlite3_stmt *st)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        die("insert: %s", sqlite3_errmsg(db));
    sqlite3_reset(st);
}
static void bind_text(sqlite3_stmt *st, int i, const char *s, int n)
{
    sqlite3_bind_text(st, i, s, n, SQLITE_STATIC);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open %s: %s", path, strerror(errno));
    buf b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        b_put(&b, tmp, n);
    fclose(f);
    return b.p;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *schema_path = NULL, *out = NULL;
    uint64_t seed = 42;
    long long n = -1;
    int huge = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--schema") && i + 1 < argc)
            schema_path = argv[++i];
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--huge") && i + 1 < argc)
            huge = atoi(argv[++i]);
        else if (argv[i][0] == '-' && argv[i][1])
            die("usage: gen_store [--schema FILE] [--seed S] [--huge 0|1] OUT.db N");
        else if (!out)
            out = argv[i];
        else
            n = atoll(argv[i]);
    }
    if (!out || n < 100 || n > 100000000)
        die("usage: gen_store [--schema FILE] [--seed S] [--huge 0|1] OUT.db N   (N >= 100)");
    if (!schema_path) {
        /* default: next to this source, bench/schema/ */
        schema_path = "bench/schema/mlflow-3.17.2.sql";
    }
    struct stat stt;
    if (stat(out, &stt) == 0)
        die("%s exists; the generator only writes new files", out);
    char *schema = read_file(schema_path);
    double t_start = now_s();

    /* schedule: sessions until n turns */
    rng r = {seed * 0x2545F4914F6CDD1DULL + 1};
    size_t nses = 0, capses = 1024;
    session *ses = malloc(capses * sizeof *ses);
    long long total = 0;
    int64_t range_ms = SPAN_DAYS * 86400000LL;
    /* session 0: the known 60-turn session, in the middle of the range */
    ses[nses++] = (session){mix64(seed ^ 0x60), BASE_MS + range_ms / 2, 60, K_AGENT, 0, 4242};
    total = 60;
    while (total < n) {
        if (nses == capses) {
            capses *= 2;
            ses = realloc(ses, capses * sizeof *ses);
            if (!ses)
                die("out of memory");
        }
        session s = {0};
        s.seed = rnext(&r);
        s.start_ms = BASE_MS + (int64_t)(runit(&r) * (double)range_ms);
        double u = runit(&r);
        if (u < 0.05) {
            s.turns = 1;
            s.nosession = 1;
        } else {
            double v = runit(&r);
            s.turns = v < 0.88 ? rrange(&r, 1, 7) : v < 0.98 ? rrange(&r, 8, 20) : rrange(&r, 21, 59);
        }
        double k = runit(&r);
        s.kind = k < 0.4 ? K_RAG : k < 0.8 ? K_AGENT : K_CHAT;
        s.user = (int)rbelow(&r, 50000);
        if (total + s.turns > n)
            s.turns = (int)(n - total);
        total += s.turns;
        ses[nses++] = s;
    }
    slot *slots = malloc((size_t)n * sizeof *slots);
    if (!slots)
        die("out of memory");
    size_t ns = 0;
    for (size_t i = 0; i < nses; i++) {
        int64_t ts = ses[i].start_ms;
        for (int k = 0; k < ses[i].turns; k++) {
            slots[ns++] = (slot){ts, (uint32_t)i, (uint16_t)k};
            ts += 15000 + (int64_t)(mix64(ses[i].seed + 1000u + (uint64_t)k) % 120000);
        }
    }
    qsort(slots, ns, sizeof *slots, slot_cmp);
    /* the runaway traces: three slots of lone sessions, spread out */
    long long huge_at[3] = {-1, -1, -1};
    int huge_n[3] = {20000, 30000, 50000};
    if (huge) {
        for (int h = 0; h < 3; h++) {
            long long at = (long long)((double)ns * (0.2 + 0.3 * h)) ;
            while (at < (long long)ns && slots[at].sess == 0)
                at++;
            huge_at[h] = at < (long long)ns ? at : -1;
        }
    }

    /* the new file */
    if (sqlite3_open_v2(out, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
        die("open %s: %s", out, sqlite3_errmsg(db));
    exec("PRAGMA journal_mode=OFF");
    exec("PRAGMA synchronous=OFF");
    exec("PRAGMA locking_mode=EXCLUSIVE");
    exec("PRAGMA cache_size=-2000000");
    exec("PRAGMA temp_store=MEMORY");
    exec("BEGIN");
    exec(schema);
    {
        char abs[PATH_MAX], dir[PATH_MAX];
        if (!realpath(out, abs))
            die("realpath %s", out);
        snprintf(dir, sizeof dir, "%s", abs);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = 0;
        sqlite3_stmt *e = prep("INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage,"
                               " creation_time, last_update_time, workspace) VALUES (?1, ?2, ?3, 'active', ?4, ?4, 'default')");
        char loc[PATH_MAX + 32];
        for (int i = 0; i < 2; i++) {
            snprintf(loc, sizeof loc, "%s/mlruns/%d", dir, i);
            sqlite3_bind_int(e, 1, i);
            sqlite3_bind_text(e, 2, i ? "bench-support-prod" : "Default", -1, SQLITE_STATIC);
            sqlite3_bind_text(e, 3, loc, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(e, 4, BASE_MS - 86400000LL);
            step(e);
        }
        sqlite3_finalize(e);
        snprintf(dir + strlen(dir), sizeof dir - strlen(dir), "/mlruns/1/traces/");
        memcpy(abs, dir, strlen(dir) + 1);
        schema = realloc(schema, strlen(abs) + 1);
        strcpy(schema, abs); /* reuse: the artifact prefix */
    }
    const char *art_prefix = schema;

    sqlite3_stmt *st_info = prep(
        "INSERT INTO trace_info (request_id, experiment_id, timestamp_ms, execution_time_ms, status,"
        " client_request_id, request_preview, response_preview, db_payload_generation, trace_name,"
        " session_id, input_tokens, output_tokens, total_tokens) VALUES"
        " (?1, 1, ?2, ?3, ?4, NULL, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
    sqlite3_stmt *st_tag = prep("INSERT INTO trace_tags (key, value, request_id) VALUES (?1, ?2, ?3)");
    sqlite3_stmt *st_meta = prep("INSERT INTO trace_request_metadata (key, value, request_id) VALUES (?1, ?2, ?3)");
    sqlite3_stmt *st_span = prep(
        "INSERT INTO spans (trace_id, experiment_id, span_id, parent_span_id, name, type, status,"
        " start_time_unix_nano, end_time_unix_nano, content, model_name) VALUES"
        " (?1, 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");

    trace t = {0};
    t.r.s = mix64(seed ^ 0xabcdefULL);
    result res = {0};
    buf val = {0};
    int *sizes = NULL;
    int capsizes = 0;
    long long nspans_total = 0, nerr = 0, bytes = 0;
    char sid[48], user[32];
    for (size_t i = 0; i < ns; i++) {
        const session *se = &ses[slots[i].sess];
        int turn = slots[i].turn;
        int64_t ts = slots[i].ts_ms;
        /* ids */
        unsigned char id[16];
        uint64_t a = rnext(&t.r), b = rnext(&t.r);
        memcpy(id, &a, 8);
        memcpy(id + 8, &b, 8);
        memcpy(t.req_id, "tr-", 3);
        hex(id, 16, t.req_id + 3);
        b64(id, 16, t.trace_b64);
        /* session id */
        const char *session_id = NULL;
        if (slots[i].sess == 0) {
            session_id = SESSION_60;
        } else if (!se->nosession) {
            uint64_t s1 = mix64(se->seed), s2 = mix64(se->seed + 1);
            snprintf(sid, sizeof sid, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(s1 >> 32),
                     (unsigned)(s1 >> 16) & 0xffff, (unsigned)s1 & 0xfff,
                     0x8000 | ((unsigned)(s2 >> 48) & 0x3fff), (unsigned long long)(s2 & 0xffffffffffffULL));
            session_id = sid;
        }
        t.session_id = session_id;
        int hi = -1;
        for (int h = 0; h < 3; h++)
            if (huge_at[h] == (long long)i)
                hi = h;
        if (hi >= 0)
            build_huge(&t, huge_n[hi], ts, &res);
        else
            build_trace(&t, se, turn, ts, &res);
        snprintf(user, sizeof user, "user-%05d", se->user);
        /* spans */
        if (capsizes < t.nspans) {
            capsizes = t.nspans;
            sizes = realloc(sizes, (size_t)capsizes * sizeof *sizes);
        }
        size_t tb = 0;
        for (int k = 0; k < t.nspans; k++) {
            span *s = &t.spans[k];
            bind_text(st_span, 1, t.req_id, 35);
            bind_text(st_span, 2, s->id_hex, 16);
            if (s->parent < 0)
                sqlite3_bind_null(st_span, 3);
            else
                bind_text(st_span, 3, t.spans[s->parent].id_hex, 16);
            bind_text(st_span, 4, s->name, -1);
            bind_text(st_span, 5, s->type, -1);
            bind_text(st_span, 6, s->error ? "ERROR" : "OK", -1);
            sqlite3_bind_int64(st_span, 7, s->start_ns);
            sqlite3_bind_int64(st_span, 8, s->end_ns);
            bind_text(st_span, 9, s->content.p, (int)s->content.n);
            if (s->model)
                bind_text(st_span, 10, s->model, -1);
            else
                sqlite3_bind_null(st_span, 10);
            step(st_span);
            sizes[k] = (int)s->content.n;
            tb += s->content.n;
        }
        nspans_total += t.nspans;
        bytes += (long long)tb;
        /* trace_info */
        int64_t exec_ms = (t.spans[0].end_ns - t.spans[0].start_ns) / 1000000LL;
        bind_text(st_info, 1, t.req_id, 35);
        sqlite3_bind_int64(st_info, 2, ts);
        sqlite3_bind_int64(st_info, 3, exec_ms);
        bind_text(st_info, 4, res.error ? "ERROR" : "OK", -1);
        bind_text(st_info, 5, res.req_preview.p, (int)res.req_preview.n);
        if (res.resp_preview.n)
            bind_text(st_info, 6, res.resp_preview.p, (int)res.resp_preview.n);
        else
            sqlite3_bind_null(st_info, 6);
        sqlite3_bind_int(st_info, 7, 4);
        bind_text(st_info, 8, res.trace_name, -1);
        if (session_id)
            bind_text(st_info, 9, session_id, -1);
        else
            sqlite3_bind_null(st_info, 9);
        if (t.in_tok) {
            sqlite3_bind_int64(st_info, 10, t.in_tok);
            sqlite3_bind_int64(st_info, 11, t.out_tok);
            sqlite3_bind_int64(st_info, 12, t.in_tok + t.out_tok);
        } else {
            for (int c = 10; c <= 12; c++)
                sqlite3_bind_null(st_info, c);
        }
        step(st_info);
        nerr += res.error;
        /* tags */
        b_clear(&val);
        b_puts(&val, art_prefix);
        b_puts(&val, t.req_id);
        b_puts(&val, "/artifacts");
        bind_text(st_tag, 1, "mlflow.artifactLocation", -1);
        bind_text(st_tag, 2, val.p, (int)val.n);
        bind_text(st_tag, 3, t.req_id, 35);
        step(st_tag);
        bind_text(st_tag, 1, "mlflow.trace.spansLocation", -1);
        bind_text(st_tag, 2, "TRACKING_STORE", -1);
        step(st_tag);
        /* metadata, as MLflow writes it (session and token usage are columns) */
        qsort(sizes, (size_t)t.nspans, sizeof *sizes, cmp_int);
        size_t total_size = tb + 1250 + res.req_preview.n + res.resp_preview.n;
        char sb[32], stats[200];
        snprintf(sb, sizeof sb, "%zu", total_size);
        int m = t.nspans;
        snprintf(stats, sizeof stats,
                 "{\"total_size_bytes\": %zu, \"num_spans\": %d, \"max\": %d, \"p25\": %d, \"p50\": %d, \"p75\": %d}",
                 total_size, m, sizes[m - 1], sizes[(m - 1) / 4], sizes[(m - 1) / 2], sizes[3 * (m - 1) / 4]);
        struct { const char *k, *v; int n; } md[] = {
            {"mlflow.source.git.branch", "main", -1},
            {"mlflow.source.git.commit", "6d481fc9b720f4be4f05cef8a1fa79fda2570eb6", -1},
            {"mlflow.source.git.repoURL", "https://github.com/acme/support-assistant.git", -1},
            {"mlflow.source.name", "app.py", -1},
            {"mlflow.source.type", "LOCAL", -1},
            {"mlflow.trace.infoFinalized", "true", -1},
            {"mlflow.trace.sizeBytes", sb, -1},
            {"mlflow.trace.sizeStats", stats, -1},
            {"mlflow.trace.user", user, -1},
            {"mlflow.traceInputs", res.req_preview.p, (int)res.req_preview.n},
            {"mlflow.traceOutputs", res.resp_preview.n ? res.resp_preview.p : NULL, (int)res.resp_preview.n},
            {"mlflow.trace_schema.version", "3", -1},
            {"mlflow.user", "support-bot", -1},
        };
        for (size_t k = 0; k < sizeof md / sizeof *md; k++) {
            if (!md[k].v)
                continue;
            bind_text(st_meta, 1, md[k].k, -1);
            bind_text(st_meta, 2, md[k].v, md[k].n);
            bind_text(st_meta, 3, t.req_id, 35);
            step(st_meta);
        }
        if ((i + 1) % 100000 == 0)
            fprintf(stderr, "gen_store: %zu traces, %.1f s\n", i + 1, now_s() - t_start);
    }
    sqlite3_finalize(st_info);
    sqlite3_finalize(st_tag);
    sqlite3_finalize(st_meta);
    sqlite3_finalize(st_span);
    exec("COMMIT");
    if (sqlite3_close(db) != SQLITE_OK)
        die("close: %s", sqlite3_errmsg(db));
    int64_t mid = BASE_MS + range_ms / 2;
    printf("store %s\ntraces %zu\nspans %lld\nsessions %zu\nerror_traces %lld\nspan_bytes %lld\n"
           "session_60 %s\ntime_range_ms %lld %lld\nmid_ms %lld\nseconds %.1f\n",
           out, ns, nspans_total, nses, nerr, bytes, SESSION_60, (long long)BASE_MS,
           (long long)(BASE_MS + range_ms), (long long)mid, now_s() - t_start);
    free(slots);
    free(ses);
    return 0;
}
