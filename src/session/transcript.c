/* SPDX-License-Identifier: MIT
 *
 * transcript.c - schema discovery for one turn: which span carries the
 * conversation, in which of the payload shapes LLM apps log (plain message
 * lists, question/answer dicts, OpenAI chat completions and Responses,
 * Anthropic messages, LangChain, OTel GenAI and OpenInference attributes),
 * the tool calls (TOOL spans, else the model's tool_calls) and the
 * retrieved documents (RETRIEVER spans). History detection compares the
 * input with the previous turn's conversation, kept as hashes so that the
 * memory per session stays small.
 *
 * Trace text is untrusted: anything that does not read as one of the known
 * shapes is left out, never an error. Only MS_E_NOMEM fails. Depends on the
 * trace model, the JSON reader and util/ only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "json/json_write.h"
#include "session/transcript.h"
#include "util/buf.h"

/* Bounds: spans examined when looking for the I/O span, messages of the
 * previous turn remembered, and the cap on one joined text. */
#define TX_MAX_PROBE 256
#define TX_MAX_PREV 65536
#define TX_MAX_MATCH 8192
#define TX_CAP_TEXT ((size_t)1 << 28)
#define TX_MAX_FLAT 4096 /* flattened attribute indexes (llm.input_messages.N) */

struct msi_transcriber {
    uint64_t *prev; /* hash of (role, trimmed text) of each message */
    ms_role *prev_role;
    size_t n_prev, cap_prev;
    bool has_prev;
    msx_json_parser *pin, *pout, *paux;
};

struct mvec {
    ms_message *v;
    size_t n, cap;
};
struct tvec {
    ms_tool_call *v;
    size_t n, cap;
};

struct ctx {
    struct msx_arena *a;
    bool nomem;
    const char *shape; /* refined while reading */
};

msi_transcriber *msi_transcriber_new(void)
{
    msi_transcriber *tx = calloc(1, sizeof *tx);
    if (!tx)
        return NULL;
    tx->pin = msx_json_parser_new();
    tx->pout = msx_json_parser_new();
    tx->paux = msx_json_parser_new();
    if (!tx->pin || !tx->pout || !tx->paux) {
        msi_transcriber_free(tx);
        return NULL;
    }
    return tx;
}

void msi_transcriber_free(msi_transcriber *tx)
{
    if (!tx)
        return;
    msx_json_parser_free(tx->pin);
    msx_json_parser_free(tx->pout);
    msx_json_parser_free(tx->paux);
    free(tx->prev);
    free(tx->prev_role);
    free(tx);
}

/* ---- small helpers -------------------------------------------------- */

static ms_str dup_str(struct ctx *c, const char *p, size_t n)
{
    ms_str s = {"", 0};
    if (n == 0)
        return s;
    char *d = msx_arena_strndup(c->a, p, n);
    if (!d) {
        c->nomem = true;
        return s;
    }
    s.ptr = d;
    s.len = n;
    return s;
}

static bool str_is(ms_str s, const char *z)
{
    size_t n = strlen(z);
    return s.ptr && s.len == n && memcmp(s.ptr, z, n) == 0;
}

static bool span_is_type(const ms_span *s, const char *type) { return str_is(s->span_type, type); }

static bool blank(ms_str s)
{
    for (size_t i = 0; i < s.len; i++)
        if (s.ptr[i] != ' ' && s.ptr[i] != '\n' && s.ptr[i] != '\t' && s.ptr[i] != '\r')
            return false;
    return true;
}

static bool vec_push_msg(struct ctx *c, struct mvec *v, ms_role role, ms_str text, ms_str name)
{
    if (!v)
        return true;
    if (blank(text))
        return true; /* an empty message (a bare tool-call request) says nothing */
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 8;
        ms_message *nv = realloc(v->v, nc * sizeof *nv);
        if (!nv) {
            c->nomem = true;
            return false;
        }
        v->v = nv;
        v->cap = nc;
    }
    ms_message *m = &v->v[v->n++];
    memset(m, 0, sizeof *m);
    m->role = role;
    m->text = text;
    m->name = name;
    return true;
}

static ms_tool_call *vec_push_tool(struct ctx *c, struct tvec *v)
{
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 8;
        ms_tool_call *nv = realloc(v->v, nc * sizeof *nv);
        if (!nv) {
            c->nomem = true;
            return NULL;
        }
        v->v = nv;
        v->cap = nc;
    }
    ms_tool_call *t = &v->v[v->n++];
    memset(t, 0, sizeof *t);
    return t;
}

/* Compact JSON text of a value, in the arena. */
static ms_str json_text(struct ctx *c, msx_json v)
{
    ms_str s = msx_json_str(v);
    if (s.ptr)
        return dup_str(c, s.ptr, s.len);
    struct msx_buf b;
    struct msx_jw w;
    msx_buf_init(&b, TX_CAP_TEXT);
    msx_jw_init(&w, &b, 0);
    msx_jw_value(&w, v);
    ms_str r = {"", 0};
    if (msx_buf_status(&b) == MS_E_NOMEM)
        c->nomem = true;
    else if (msx_buf_status(&b) == MS_OK)
        r = dup_str(c, b.ptr, b.len);
    msx_buf_release(&b);
    return r;
}

static ms_role role_of(ms_str r)
{
    static const struct {
        const char *name;
        ms_role role;
    } map[] = {
        {"user", MS_ROLE_USER},           {"human", MS_ROLE_USER},
        {"HumanMessage", MS_ROLE_USER},   {"HumanMessageChunk", MS_ROLE_USER},
        {"assistant", MS_ROLE_ASSISTANT}, {"ai", MS_ROLE_ASSISTANT},
        {"model", MS_ROLE_ASSISTANT},     {"AIMessage", MS_ROLE_ASSISTANT},
        {"AIMessageChunk", MS_ROLE_ASSISTANT}, {"bot", MS_ROLE_ASSISTANT},
        {"system", MS_ROLE_SYSTEM},       {"developer", MS_ROLE_SYSTEM},
        {"SystemMessage", MS_ROLE_SYSTEM}, {"tool", MS_ROLE_TOOL},
        {"function", MS_ROLE_TOOL},       {"ToolMessage", MS_ROLE_TOOL},
        {"FunctionMessage", MS_ROLE_TOOL},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (str_is(r, map[i].name))
            return map[i].role;
    return MS_ROLE_OTHER;
}

/* ---- text of a content value ---------------------------------------- */

struct textacc {
    struct msx_buf b;
    bool any;
    bool tool_result; /* an Anthropic tool_result block was seen */
    bool other;       /* a text block was seen */
};

static void acc_add(struct textacc *t, ms_str s)
{
    if (!s.ptr || s.len == 0)
        return;
    if (t->any)
        msx_buf_addc(&t->b, '\n');
    msx_buf_add(&t->b, s.ptr, s.len);
    t->any = true;
}

static void content_into(struct ctx *c, struct textacc *t, msx_json v, int depth,
                         struct tvec *tools);

static void part_into(struct ctx *c, struct textacc *t, msx_json p, int depth,
                      struct tvec *tools)
{
    enum msx_json_type ty = msx_json_type(p);
    if (ty == MSX_JSON_STRING) {
        acc_add(t, msx_json_str(p));
        t->other = true;
        return;
    }
    if (ty != MSX_JSON_OBJECT)
        return;
    msx_json fc = msx_json_get(p, "functionCall"); /* Gemini */
    if (msx_json_type(fc) == MSX_JSON_OBJECT) {
        ms_tool_call *tc = tools ? vec_push_tool(c, tools) : NULL;
        if (tc) {
            tc->name = json_text(c, msx_json_get(fc, "name"));
            msx_json args = msx_json_get(fc, "args");
            if (msx_json_ok(args) && msx_json_type(args) != MSX_JSON_NONE)
                tc->arguments = json_text(c, args);
        }
        return;
    }
    msx_json type = msx_json_get(p, "type");
    ms_str ts = msx_json_str(type);
    if (!ts.ptr || str_is(ts, "text") || str_is(ts, "input_text") ||
        str_is(ts, "output_text")) {
        msx_json x = msx_json_get(p, "text");
        if (msx_json_type(x) != MSX_JSON_STRING)
            x = msx_json_get(p, "content"); /* GenAI parts */
        if (msx_json_type(x) == MSX_JSON_STRING) {
            acc_add(t, msx_json_str(x));
            t->other = true;
        }
        return;
    }
    if (str_is(ts, "tool_result")) {
        bool other = t->other;
        t->tool_result = true;
        content_into(c, t, msx_json_get(p, "content"), depth + 1, NULL);
        t->other = other;
        return;
    }
    if (str_is(ts, "tool_use") && tools) {
        ms_tool_call *tc = vec_push_tool(c, tools);
        if (tc) {
            tc->name = json_text(c, msx_json_get(p, "name"));
            msx_json in = msx_json_get(p, "input");
            if (msx_json_ok(in) && msx_json_type(in) != MSX_JSON_NONE)
                tc->arguments = json_text(c, in);
        }
    }
}

static void content_into(struct ctx *c, struct textacc *t, msx_json v, int depth,
                         struct tvec *tools)
{
    if (depth > 4)
        return;
    enum msx_json_type ty = msx_json_type(v);
    if (ty == MSX_JSON_STRING) {
        acc_add(t, msx_json_str(v));
        t->other = true;
    } else if (ty == MSX_JSON_ARRAY) {
        struct msx_json_iter it = msx_json_iter_init(v);
        ms_str k;
        msx_json e;
        while (msx_json_next(&it, &k, &e))
            part_into(c, t, e, depth, tools);
    } else if (ty == MSX_JSON_OBJECT) {
        part_into(c, t, v, depth, tools);
    }
}

static ms_str acc_take(struct ctx *c, struct textacc *t)
{
    ms_str r = {"", 0};
    if (msx_buf_status(&t->b) == MS_E_NOMEM)
        c->nomem = true;
    else if (msx_buf_status(&t->b) == MS_OK && t->b.len)
        r = dup_str(c, t->b.ptr, t->b.len);
    msx_buf_release(&t->b);
    return r;
}

static ms_str content_text(struct ctx *c, msx_json v, bool *only_tool_result, struct tvec *tools)
{
    struct textacc t;
    memset(&t, 0, sizeof t);
    msx_buf_init(&t.b, TX_CAP_TEXT);
    content_into(c, &t, v, 0, tools);
    if (only_tool_result)
        *only_tool_result = t.tool_result && !t.other;
    return acc_take(c, &t);
}

/* OpenAI tool_calls [{function:{name, arguments}}] or LangChain
 * [{name, args}] of a message. */
static void tool_calls_of(struct ctx *c, msx_json list, struct tvec *tools)
{
    if (!tools || msx_json_type(list) != MSX_JSON_ARRAY)
        return;
    struct msx_json_iter it = msx_json_iter_init(list);
    ms_str k;
    msx_json e;
    while (msx_json_next(&it, &k, &e)) {
        if (msx_json_type(e) != MSX_JSON_OBJECT)
            continue;
        msx_json f = msx_json_get(e, "function");
        msx_json holder = msx_json_type(f) == MSX_JSON_OBJECT ? f : e;
        msx_json name = msx_json_get(holder, "name");
        if (msx_json_type(name) != MSX_JSON_STRING)
            continue;
        ms_tool_call *tc = vec_push_tool(c, tools);
        if (!tc)
            return;
        tc->name = json_text(c, name);
        msx_json args = msx_json_get(holder, "arguments");
        if (!msx_json_ok(args) || msx_json_type(args) == MSX_JSON_NONE)
            args = msx_json_get(holder, "args");
        if (msx_json_ok(args) && msx_json_type(args) != MSX_JSON_NONE)
            tc->arguments = json_text(c, args);
    }
}

/* ---- one message, any form ----------------------------------------- */

/* Reads m as a message and appends it to out (when not NULL); tool calls it
 * requests go to tools (when not NULL). Returns false if m is not a
 * message at all. *lc tells the LangChain forms apart for the shape. */
static bool read_message(struct ctx *c, msx_json m, struct mvec *out, struct tvec *tools,
                         bool *lc)
{
    enum msx_json_type ty = msx_json_type(m);
    if (ty == MSX_JSON_STRING) {
        ms_str s = msx_json_str(m);
        vec_push_msg(c, out, MS_ROLE_USER, dup_str(c, s.ptr, s.len), (ms_str){NULL, 0});
        return true;
    }
    if (ty == MSX_JSON_ARRAY && msx_json_count(m) == 2) { /* LangGraph ("user", "hi") */
        ms_str r = msx_json_str(msx_json_at(m, 0)), txt = msx_json_str(msx_json_at(m, 1));
        if (!r.ptr || !txt.ptr || role_of(r) == MS_ROLE_OTHER)
            return false;
        vec_push_msg(c, out, role_of(r), dup_str(c, txt.ptr, txt.len), (ms_str){NULL, 0});
        return true;
    }
    if (ty != MSX_JSON_OBJECT)
        return false;
    ms_str role_s = msx_json_str(msx_json_get(m, "role"));
    ms_str type_s = msx_json_str(msx_json_get(m, "type"));
    ms_role role = MS_ROLE_OTHER;
    msx_json body = m;
    bool known = false;
    if (role_s.ptr) {
        role = role_of(role_s);
        known = true;
    } else if (type_s.ptr) {
        if (str_is(type_s, "constructor")) { /* LangChain serialized */
            msx_json id = msx_json_get(m, "id");
            size_t n = msx_json_count(id);
            if (msx_json_type(id) == MSX_JSON_ARRAY && n > 0)
                role = role_of(msx_json_str(msx_json_at(id, n - 1)));
            body = msx_json_get(m, "kwargs");
            if (msx_json_type(body) != MSX_JSON_OBJECT)
                return false;
            if (lc)
                *lc = true;
            known = role != MS_ROLE_OTHER;
            ms_str r2 = msx_json_str(msx_json_get(body, "role")); /* ChatMessage */
            if (r2.ptr) {
                role = role_of(r2);
                known = true;
            }
        } else if (str_is(type_s, "function_call_output")) { /* Responses item */
            msx_json o = msx_json_get(m, "output");
            ms_str t = content_text(c, o, NULL, NULL);
            if (!t.len && msx_json_ok(o) && msx_json_type(o) != MSX_JSON_NONE)
                t = json_text(c, o);
            vec_push_msg(c, out, MS_ROLE_TOOL, t, (ms_str){NULL, 0});
            return true;
        } else if (str_is(type_s, "function_call")) { /* Responses item */
            if (tools) {
                ms_tool_call *tc = vec_push_tool(c, tools);
                if (tc) {
                    tc->name = json_text(c, msx_json_get(m, "name"));
                    msx_json args = msx_json_get(m, "arguments");
                    if (msx_json_ok(args) && msx_json_type(args) != MSX_JSON_NONE)
                        tc->arguments = json_text(c, args);
                }
            }
            return true;
        } else {
            role = role_of(type_s); /* LangChain dict: human, ai, system, tool */
            known = role != MS_ROLE_OTHER;
            if (known && lc)
                *lc = true;
        }
    }
    if (!known)
        return false;
    msx_json content = msx_json_get(body, "content");
    if (!msx_json_ok(content) || msx_json_type(content) == MSX_JSON_NONE)
        content = msx_json_get(body, "parts"); /* GenAI */
    if (!msx_json_ok(content) || msx_json_type(content) == MSX_JSON_NONE)
        content = msx_json_get(body, "text");
    bool only_tr = false;
    ms_str text = content_text(c, content, &only_tr, role == MS_ROLE_ASSISTANT ? tools : NULL);
    if (only_tr)
        role = MS_ROLE_TOOL; /* Anthropic: a user turn that only returns tool results */
    ms_str name = {NULL, 0};
    if (role == MS_ROLE_TOOL) {
        ms_str n = msx_json_str(msx_json_get(body, "name"));
        if (n.ptr)
            name = dup_str(c, n.ptr, n.len);
    }
    if (role == MS_ROLE_ASSISTANT)
        tool_calls_of(c, msx_json_get(body, "tool_calls"), tools);
    vec_push_msg(c, out, role, text, name);
    return true;
}

static size_t read_items(struct ctx *c, msx_json list, struct mvec *out, struct tvec *tools,
                         bool *lc)
{
    size_t got = 0;
    struct msx_json_iter it = msx_json_iter_init(list);
    ms_str k;
    msx_json e;
    while (msx_json_next(&it, &k, &e))
        if (read_message(c, e, out, tools, lc))
            got++;
    return got;
}

/* A list of messages; LangChain chat-model inputs nest it once ([[...]]).
 * Returns how many elements read as messages. */
static size_t read_list(struct ctx *c, msx_json list, struct mvec *out, struct tvec *tools,
                        bool *lc)
{
    if (msx_json_type(list) != MSX_JSON_ARRAY)
        return 0;
    msx_json first = msx_json_at(list, 0);
    if (msx_json_count(list) >= 1 && msx_json_type(first) == MSX_JSON_ARRAY &&
        msx_json_type(msx_json_at(first, 0)) != MSX_JSON_STRING) {
        if (lc)
            *lc = true;
        return read_items(c, first, out, tools, lc);
    }
    return read_items(c, list, out, tools, lc);
}

/* ---- inputs --------------------------------------------------------- */

static const char *const user_keys[] = {"messages", "contents", "query",      "question", "input", "message",
                                        "prompt",   "user_input", "text",     "content", "prompts",
                                        "inputs",   "request"};

static void read_input(struct ctx *c, msx_json v, struct mvec *out, int depth)
{
    if (depth > 3)
        return;
    enum msx_json_type ty = msx_json_type(v);
    bool lc = false;
    if (ty == MSX_JSON_STRING) {
        ms_str s = msx_json_str(v);
        vec_push_msg(c, out, MS_ROLE_USER, dup_str(c, s.ptr, s.len), (ms_str){NULL, 0});
        if (!c->shape)
            c->shape = "text";
        return;
    }
    if (ty == MSX_JSON_ARRAY) {
        read_list(c, v, out, NULL, &lc);
        if (!c->shape)
            c->shape = lc ? "langchain" : "messages";
        return;
    }
    if (ty != MSX_JSON_OBJECT)
        return;
    /* a single message object */
    if (msx_json_type(msx_json_get(v, "role")) == MSX_JSON_STRING ||
        msx_json_type(msx_json_get(v, "lc")) != MSX_JSON_NONE) {
        if (read_message(c, v, out, NULL, &lc)) {
            if (!c->shape)
                c->shape = lc ? "langchain" : "messages";
            return;
        }
    }
    /* system prompt given beside the messages (Anthropic, Responses) */
    msx_json sys = msx_json_get(v, "system");
    if (msx_json_type(sys) == MSX_JSON_NONE)
        sys = msx_json_get(v, "instructions");
    if (msx_json_type(sys) == MSX_JSON_STRING || msx_json_type(sys) == MSX_JSON_ARRAY)
        vec_push_msg(c, out, MS_ROLE_SYSTEM, content_text(c, sys, NULL, NULL), (ms_str){NULL, 0});
    /* LangChain chains: {"input": ..., "chat_history": [...]} */
    msx_json hist = msx_json_get(v, "chat_history");
    if (msx_json_type(hist) == MSX_JSON_NONE)
        hist = msx_json_get(v, "history");
    if (msx_json_type(hist) == MSX_JSON_ARRAY)
        read_list(c, hist, out, NULL, &lc);
    for (size_t i = 0; i < sizeof user_keys / sizeof user_keys[0]; i++) {
        msx_json x = msx_json_get(v, user_keys[i]);
        enum msx_json_type xt = msx_json_type(x);
        if (xt == MSX_JSON_NONE || xt == MSX_JSON_NULL)
            continue;
        if (i <= 1 && xt == MSX_JSON_ARRAY) { /* messages; Gemini contents */
            read_list(c, x, out, NULL, &lc);
            if (!c->shape) {
                if (lc)
                    c->shape = "langchain";
                else if (msx_json_type(msx_json_get(v, "model")) != MSX_JSON_NONE &&
                         msx_json_type(sys) != MSX_JSON_NONE)
                    c->shape = "anthropic";
                else
                    c->shape = "messages";
            }
            return;
        }
        if (xt == MSX_JSON_STRING) {
            ms_str s = msx_json_str(x);
            vec_push_msg(c, out, MS_ROLE_USER, dup_str(c, s.ptr, s.len), (ms_str){NULL, 0});
            if (!c->shape) {
                bool responses = strcmp(user_keys[i], "input") == 0 &&
                                 msx_json_type(msx_json_get(v, "model")) != MSX_JSON_NONE;
                c->shape = lc ? "langchain" : responses ? "openai.responses" : "dict";
            }
            return;
        }
        if (xt == MSX_JSON_ARRAY) {
            size_t before = out->n;
            read_list(c, x, out, NULL, &lc);
            if (out->n > before) {
                if (!c->shape)
                    c->shape = str_is((ms_str){user_keys[i], strlen(user_keys[i])}, "input")
                                   ? "openai.responses"
                                   : (lc ? "langchain" : "messages");
                return;
            }
        }
        if (xt == MSX_JSON_OBJECT) {
            size_t before = out->n;
            read_input(c, x, out, depth + 1);
            if (out->n > before)
                return;
        }
    }
}

/* ---- outputs -------------------------------------------------------- */

static const char *const answer_keys[] = {"answer", "output_text", "output", "response",
                                          "content", "text",       "result", "reply",
                                          "completion", "message"};

/* The assistant's answer in v (messages to out when not NULL) and the tool
 * calls it requests (to tools when not NULL). */
static void read_output(struct ctx *c, msx_json v, struct mvec *out, struct tvec *tools,
                        int depth)
{
    if (depth > 3)
        return;
    enum msx_json_type ty = msx_json_type(v);
    bool lc = false;
    if (ty == MSX_JSON_STRING) {
        ms_str s = msx_json_str(v);
        vec_push_msg(c, out, MS_ROLE_ASSISTANT, dup_str(c, s.ptr, s.len), (ms_str){NULL, 0});
        return;
    }
    if (ty == MSX_JSON_ARRAY) { /* messages (GenAI); keep the assistant's */
        struct mvec tmp = {NULL, 0, 0};
        read_list(c, v, &tmp, tools, &lc);
        for (size_t i = 0; i < tmp.n; i++)
            if (tmp.v[i].role == MS_ROLE_ASSISTANT || tmp.v[i].role == MS_ROLE_OTHER)
                vec_push_msg(c, out, MS_ROLE_ASSISTANT, tmp.v[i].text, (ms_str){NULL, 0});
        free(tmp.v);
        return;
    }
    if (ty != MSX_JSON_OBJECT)
        return;
    /* OpenAI chat completions */
    msx_json choices = msx_json_get(v, "choices");
    if (msx_json_type(choices) == MSX_JSON_ARRAY) {
        c->shape = "openai.chat";
        msx_json ch = msx_json_at(choices, 0);
        msx_json msg = msx_json_get(ch, "message");
        if (msx_json_type(msg) == MSX_JSON_NONE)
            msg = msx_json_get(ch, "delta");
        if (msx_json_type(msg) == MSX_JSON_OBJECT)
            read_message(c, msg, out, tools, NULL);
        else {
            msx_json t = msx_json_get(ch, "text"); /* legacy completions */
            read_output(c, t, out, tools, depth + 1);
        }
        return;
    }
    /* OpenAI Responses */
    msx_json items = msx_json_get(v, "output");
    if (msx_json_type(items) == MSX_JSON_ARRAY) {
        c->shape = "openai.responses";
        size_t before = out ? out->n : 0;
        struct msx_json_iter it = msx_json_iter_init(items);
        ms_str k;
        msx_json e;
        while (msx_json_next(&it, &k, &e))
            read_message(c, e, out, tools, NULL);
        if (out && out->n == before)
            read_output(c, msx_json_get(v, "output_text"), out, NULL, depth + 1);
        return;
    }
    /* Gemini: {"candidates": [{"content": {"role": "model", "parts": [...]}}]} */
    msx_json cands = msx_json_get(v, "candidates");
    if (msx_json_type(cands) == MSX_JSON_ARRAY) {
        c->shape = "gemini";
        msx_json msg = msx_json_get(msx_json_at(cands, 0), "content");
        if (msx_json_type(msg) == MSX_JSON_OBJECT)
            read_message(c, msg, out, tools, NULL);
        return;
    }
    /* LangChain LLMResult */
    msx_json gens = msx_json_get(v, "generations");
    if (msx_json_type(gens) == MSX_JSON_ARRAY) {
        c->shape = "langchain";
        msx_json g = msx_json_at(gens, 0);
        if (msx_json_type(g) == MSX_JSON_ARRAY)
            g = msx_json_at(g, 0);
        msx_json msg = msx_json_get(g, "message");
        if (msx_json_type(msg) == MSX_JSON_OBJECT && read_message(c, msg, out, tools, NULL))
            return;
        read_output(c, msx_json_get(g, "text"), out, NULL, depth + 1);
        return;
    }
    /* a message: OpenAI-like {role, content}, Anthropic {role, content:[blocks]},
     * LangChain {type:"ai"} or lc-serialized */
    ms_str role = msx_json_str(msx_json_get(v, "role"));
    ms_str type = msx_json_str(msx_json_get(v, "type"));
    if (role.ptr || (type.ptr && (str_is(type, "ai") || str_is(type, "constructor") ||
                                  str_is(type, "AIMessage") || str_is(type, "message")))) {
        if (msx_json_type(msx_json_get(v, "content")) == MSX_JSON_ARRAY &&
            msx_json_type(msx_json_get(v, "stop_reason")) != MSX_JSON_NONE)
            c->shape = "anthropic";
        else if (msx_json_type(msx_json_get(v, "content")) == MSX_JSON_ARRAY && str_is(type, "message"))
            c->shape = "anthropic";
        struct mvec tmp = {NULL, 0, 0};
        if (!role.ptr && str_is(type, "message")) {
            struct textacc t;
            memset(&t, 0, sizeof t);
            msx_buf_init(&t.b, TX_CAP_TEXT);
            content_into(c, &t, msx_json_get(v, "content"), 0, tools);
            vec_push_msg(c, &tmp, MS_ROLE_ASSISTANT, acc_take(c, &t), (ms_str){NULL, 0});
        } else {
            read_message(c, v, &tmp, tools, &lc);
            if (lc)
                c->shape = "langchain";
        }
        for (size_t i = 0; i < tmp.n; i++)
            vec_push_msg(c, out, MS_ROLE_ASSISTANT, tmp.v[i].text, (ms_str){NULL, 0});
        free(tmp.v);
        return;
    }
    /* {"messages": [...]} as agents return it: the trailing assistant turn */
    msx_json msgs = msx_json_get(v, "messages");
    if (msx_json_type(msgs) == MSX_JSON_ARRAY) {
        struct mvec tmp = {NULL, 0, 0};
        read_list(c, msgs, &tmp, NULL, &lc);
        size_t i = tmp.n;
        while (i > 0 && tmp.v[i - 1].role == MS_ROLE_ASSISTANT)
            i--;
        for (; i < tmp.n; i++)
            vec_push_msg(c, out, MS_ROLE_ASSISTANT, tmp.v[i].text, (ms_str){NULL, 0});
        free(tmp.v);
        return;
    }
    for (size_t i = 0; i < sizeof answer_keys / sizeof answer_keys[0]; i++) {
        msx_json x = msx_json_get(v, answer_keys[i]);
        enum msx_json_type xt = msx_json_type(x);
        if (xt == MSX_JSON_STRING) {
            read_output(c, x, out, tools, depth + 1);
            return;
        }
        if (xt == MSX_JSON_OBJECT || xt == MSX_JSON_ARRAY) {
            size_t before = out ? out->n : 0;
            read_output(c, x, out, tools, depth + 1);
            if (!out || out->n > before)
                return;
        }
    }
}

/* ---- attribute values ----------------------------------------------- */

enum val_kind { VAL_NONE = 0, VAL_JSON, VAL_TEXT };

/* The value of attribute key of s: JSON (parsed with p into *root; a JSON
 * string holding JSON text is parsed once more) or plain text (*text, in
 * the arena). */
static enum val_kind attr_value(struct ctx *c, const ms_span *s, const char *key,
                                msx_json_parser *p, msx_json *root, ms_str *text)
{
    const ms_attr *a = ms_span_attr(s, key);
    if (!a || !a->value.ptr)
        return VAL_NONE;
    struct ms_error e;
    if (msx_json_parse(p, a->value.ptr, a->value.len, false, root, &e) != MS_OK) {
        if (e.code == MS_E_NOMEM) {
            c->nomem = true;
            return VAL_NONE;
        }
        *text = dup_str(c, a->value.ptr, a->value.len); /* a plain OTel string */
        return VAL_TEXT;
    }
    ms_str inner = msx_json_str(*root);
    if (!inner.ptr)
        return VAL_JSON;
    size_t i = 0;
    while (i < inner.len && (inner.ptr[i] == ' ' || inner.ptr[i] == '\n'))
        i++;
    if (i < inner.len && (inner.ptr[i] == '{' || inner.ptr[i] == '[')) {
        char *copy = malloc(inner.len + 1);
        if (!copy) {
            c->nomem = true;
            return VAL_NONE;
        }
        memcpy(copy, inner.ptr, inner.len);
        copy[inner.len] = '\0';
        size_t n = inner.len;
        ms_code rc = msx_json_parse(p, copy, n, false, root, &e);
        if (rc == MS_OK) {
            free(copy);
            return VAL_JSON;
        }
        if (e.code == MS_E_NOMEM)
            c->nomem = true;
        *text = dup_str(c, copy, n);
        free(copy);
        return VAL_TEXT;
    }
    *text = dup_str(c, inner.ptr, inner.len);
    return VAL_TEXT;
}

/* The value text as recorded (JSON text, or the string unquoted). */
static ms_str attr_text(struct ctx *c, const ms_span *s, const char *key, msx_json_parser *p)
{
    const ms_attr *a = ms_span_attr(s, key);
    if (!a || !a->value.ptr)
        return (ms_str){NULL, 0};
    msx_json root;
    struct ms_error e;
    if (a->kind == MS_VAL_STRING &&
        msx_json_parse(p, a->value.ptr, a->value.len, false, &root, &e) == MS_OK) {
        ms_str inner = msx_json_str(root);
        if (inner.ptr)
            return dup_str(c, inner.ptr, inner.len);
    } else if (a->kind == MS_VAL_STRING && e.code == MS_E_NOMEM) {
        c->nomem = true;
        return (ms_str){NULL, 0};
    }
    return dup_str(c, a->value.ptr, a->value.len);
}

/* Flattened attributes: prefix.N.message.role / .content (OpenInference)
 * or prefix.N.role / .content (older OpenLLMetry gen_ai.prompt). */
static void read_flat(struct ctx *c, const ms_span *s, const char *prefix, bool oi,
                      msx_json_parser *p, struct mvec *out, ms_role dflt)
{
    for (size_t i = 0; i < TX_MAX_FLAT; i++) {
        char key[128];
        snprintf(key, sizeof key, "%s.%zu.%s", prefix, i, oi ? "message.role" : "role");
        ms_str role = attr_text(c, s, key, p);
        snprintf(key, sizeof key, "%s.%zu.%s", prefix, i, oi ? "message.content" : "content");
        ms_str text = attr_text(c, s, key, p);
        if (!text.ptr && oi) { /* .message.contents.0.message_content.text */
            snprintf(key, sizeof key, "%s.%zu.message.contents.0.message_content.text", prefix, i);
            text = attr_text(c, s, key, p);
        }
        if (!role.ptr && !text.ptr)
            break;
        ms_role r = role.ptr ? role_of(role) : dflt;
        if (r == MS_ROLE_OTHER)
            r = dflt;
        vec_push_msg(c, out, r, text.ptr ? text : (ms_str){"", 0}, (ms_str){NULL, 0});
        if (c->nomem)
            return;
    }
}

/* ---- the I/O of one span -------------------------------------------- */

struct io {
    struct mvec in, out;
    struct tvec calls; /* tool calls the output asks for */
    ms_io_source src;
    const char *shape;
};

static void io_release(struct io *io)
{
    free(io->in.v);
    free(io->out.v);
    free(io->calls.v);
    memset(io, 0, sizeof *io);
}

/* Reads the messages of span s; true if its input holds any. */
static bool span_io(struct ctx *c, msi_transcriber *tx, const ms_span *s, struct io *io)
{
    memset(io, 0, sizeof *io);
    msx_json root;
    ms_str text;
    c->shape = NULL;
    /* OTel GenAI semantic conventions */
    enum val_kind k = attr_value(c, s, "gen_ai.input.messages", tx->pin, &root, &text);
    if (k != VAL_NONE) {
        k = attr_value(c, s, "gen_ai.system_instructions", tx->paux, &root, &text);
        if (k == VAL_JSON)
            vec_push_msg(c, &io->in, MS_ROLE_SYSTEM, content_text(c, root, NULL, NULL),
                         (ms_str){NULL, 0});
        else if (k == VAL_TEXT)
            vec_push_msg(c, &io->in, MS_ROLE_SYSTEM, text, (ms_str){NULL, 0});
        k = attr_value(c, s, "gen_ai.input.messages", tx->pin, &root, &text);
        if (k == VAL_JSON)
            read_list(c, root, &io->in, NULL, NULL);
        else if (k == VAL_TEXT)
            vec_push_msg(c, &io->in, MS_ROLE_USER, text, (ms_str){NULL, 0});
        k = attr_value(c, s, "gen_ai.output.messages", tx->pout, &root, &text);
        if (k == VAL_JSON)
            read_output(c, root, &io->out, &io->calls, 0);
        else if (k == VAL_TEXT)
            vec_push_msg(c, &io->out, MS_ROLE_ASSISTANT, text, (ms_str){NULL, 0});
        if (io->in.n) {
            io->src = MS_IO_ATTRS;
            io->shape = "gen_ai";
            return true;
        }
        io_release(io);
    }
    /* MLflow's own span inputs / outputs */
    k = attr_value(c, s, "mlflow.spanInputs", tx->pin, &root, &text);
    if (k == VAL_JSON)
        read_input(c, root, &io->in, 0);
    else if (k == VAL_TEXT) {
        vec_push_msg(c, &io->in, MS_ROLE_USER, text, (ms_str){NULL, 0});
        c->shape = "text";
    }
    if (io->in.n) {
        const char *in_shape = c->shape;
        c->shape = NULL;
        k = attr_value(c, s, "mlflow.spanOutputs", tx->pout, &root, &text);
        if (k == VAL_JSON)
            read_output(c, root, &io->out, &io->calls, 0);
        else if (k == VAL_TEXT)
            vec_push_msg(c, &io->out, MS_ROLE_ASSISTANT, text, (ms_str){NULL, 0});
        /* the output's form names the API better than the input's, except
         * for forms only the input shows */
        const char *out_shape = c->shape;
        if (in_shape && (strcmp(in_shape, "langchain") == 0 || strcmp(in_shape, "anthropic") == 0))
            io->shape = in_shape;
        else if (out_shape)
            io->shape = out_shape;
        else
            io->shape = in_shape ? in_shape : "messages";
        /* OpenInference spans that MLflow mirrored into spanInputs */
        if (ms_span_attr(s, "openinference.span.kind") &&
            (strcmp(io->shape, "dict") == 0 || strcmp(io->shape, "messages") == 0 ||
             strcmp(io->shape, "text") == 0))
            io->shape = "openinference";
        io->src = MS_IO_SPAN;
        return true;
    }
    io_release(io);
    /* older GenAI: gen_ai.prompt / gen_ai.completion, JSON or flattened */
    k = attr_value(c, s, "gen_ai.prompt", tx->pin, &root, &text);
    if (k == VAL_JSON)
        read_input(c, root, &io->in, 0);
    else if (k == VAL_TEXT)
        vec_push_msg(c, &io->in, MS_ROLE_USER, text, (ms_str){NULL, 0});
    else
        read_flat(c, s, "gen_ai.prompt", false, tx->paux, &io->in, MS_ROLE_USER);
    if (io->in.n) {
        k = attr_value(c, s, "gen_ai.completion", tx->pout, &root, &text);
        if (k == VAL_JSON)
            read_output(c, root, &io->out, &io->calls, 0);
        else if (k == VAL_TEXT)
            vec_push_msg(c, &io->out, MS_ROLE_ASSISTANT, text, (ms_str){NULL, 0});
        else
            read_flat(c, s, "gen_ai.completion", false, tx->paux, &io->out, MS_ROLE_ASSISTANT);
        io->src = MS_IO_ATTRS;
        io->shape = "gen_ai";
        return true;
    }
    io_release(io);
    /* OpenInference */
    read_flat(c, s, "llm.input_messages", true, tx->paux, &io->in, MS_ROLE_USER);
    if (io->in.n) {
        read_flat(c, s, "llm.output_messages", true, tx->paux, &io->out, MS_ROLE_ASSISTANT);
        if (!io->out.n) {
            k = attr_value(c, s, "output.value", tx->pout, &root, &text);
            if (k == VAL_JSON)
                read_output(c, root, &io->out, &io->calls, 0);
            else if (k == VAL_TEXT)
                vec_push_msg(c, &io->out, MS_ROLE_ASSISTANT, text, (ms_str){NULL, 0});
        }
        io->src = MS_IO_ATTRS;
        io->shape = "openinference";
        return true;
    }
    io_release(io);
    c->shape = NULL;
    k = attr_value(c, s, "input.value", tx->pin, &root, &text);
    if (k == VAL_JSON)
        read_input(c, root, &io->in, 0);
    else if (k == VAL_TEXT)
        vec_push_msg(c, &io->in, MS_ROLE_USER, text, (ms_str){NULL, 0});
    if (io->in.n) {
        k = attr_value(c, s, "output.value", tx->pout, &root, &text);
        if (k == VAL_JSON)
            read_output(c, root, &io->out, &io->calls, 0);
        else if (k == VAL_TEXT)
            vec_push_msg(c, &io->out, MS_ROLE_ASSISTANT, text, (ms_str){NULL, 0});
        io->src = MS_IO_ATTRS;
        io->shape = "openinference";
        return true;
    }
    io_release(io);
    return false;
}

/* ---- finding the span ----------------------------------------------- */

static int cmp_start(const ms_span *a, size_t ia, const ms_span *b, size_t ib)
{
    if (a->start_ns != b->start_ns)
        return a->start_ns < b->start_ns ? -1 : 1;
    return ia < ib ? -1 : ia > ib ? 1 : 0;
}

/* Span indexes in start order (insertion sort for small traces, else a
 * merge sort would do; traces of thousands of spans are rare and this runs
 * once per turn). */
static size_t *start_order(struct ctx *c, const ms_trace *t)
{
    size_t n = t->n_spans;
    size_t *ord = malloc((n ? n : 1) * sizeof *ord);
    size_t *tmp = malloc((n ? n : 1) * sizeof *tmp);
    if (!ord || !tmp) {
        free(ord);
        free(tmp);
        c->nomem = true;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        ord[i] = i;
    for (size_t w = 1; w < n; w *= 2) { /* bottom-up merge sort: stable */
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = cmp_start(&t->spans[ord[j]], ord[j], &t->spans[ord[i]], ord[i]) < 0
                               ? ord[j++]
                               : ord[i++];
            while (i < mid)
                tmp[k++] = ord[i++];
            while (j < hi)
                tmp[k++] = ord[j++];
        }
        memcpy(ord, tmp, n * sizeof *ord);
    }
    free(tmp);
    return ord;
}

/* Breadth first from the root through wrapper spans; without a root (a
 * crashed turn), or when nothing under the root has I/O, the earliest span
 * with I/O. Returns the span index or -1. */
static long find_io_span(struct ctx *c, msi_transcriber *tx, const ms_trace *t, const size_t *ord,
                         struct io *io)
{
    size_t n = t->n_spans, probes = 0;
    long root = -1;
    for (size_t k = 0; k < n; k++)
        if (t->spans[ord[k]].parent_id[0] == '\0') {
            root = (long)ord[k];
            break;
        }
    if (root >= 0) {
        size_t *queue = malloc(n * sizeof *queue);
        if (!queue) {
            c->nomem = true;
            return -1;
        }
        size_t qh = 0, qt = 0;
        queue[qt++] = (size_t)root;
        while (qh < qt && probes < TX_MAX_PROBE && !c->nomem) {
            size_t si = queue[qh++];
            probes++;
            if (span_io(c, tx, &t->spans[si], io)) {
                free(queue);
                return (long)si;
            }
            for (size_t k = 0; k < n && qt < n; k++) {
                const ms_span *ch = &t->spans[ord[k]];
                if (ord[k] != si && strcmp(ch->parent_id, t->spans[si].span_id) == 0)
                    queue[qt++] = ord[k];
            }
        }
        free(queue);
        probes = 0; /* spans cut off from the root (a lost parent): any with I/O */
    }
    for (size_t k = 0; k < n && probes < TX_MAX_PROBE && !c->nomem; k++, probes++)
        if (span_io(c, tx, &t->spans[ord[k]], io))
            return (long)ord[k];
    return -1;
}

/* ---- tools and documents -------------------------------------------- */

static const ms_event *exception_event(const ms_span *s)
{
    for (size_t i = 0; i < s->n_events; i++)
        if (str_is(s->events[i].name, "exception"))
            return &s->events[i];
    return NULL;
}

static ms_str event_attr(const ms_event *e, const char *key)
{
    for (size_t i = 0; i < e->n_attrs; i++)
        if (str_is(e->attrs[i].key, key))
            return e->attrs[i].value;
    return (ms_str){NULL, 0};
}

static void tool_spans(struct ctx *c, msi_transcriber *tx, const ms_trace *t, const size_t *ord,
                       struct tvec *tools)
{
    for (size_t k = 0; k < t->n_spans && !c->nomem; k++) {
        const ms_span *s = &t->spans[ord[k]];
        if (!span_is_type(s, "TOOL"))
            continue;
        ms_tool_call *tc = vec_push_tool(c, tools);
        if (!tc)
            return;
        tc->name = dup_str(c, s->name.ptr, s->name.len);
        tc->arguments = attr_text(c, s, "mlflow.spanInputs", tx->paux);
        tc->result = attr_text(c, s, "mlflow.spanOutputs", tx->paux);
        tc->span_id = dup_str(c, s->span_id, strlen(s->span_id));
        const ms_event *e = exception_event(s);
        tc->failed = s->status == MS_STATUS_ERROR || e != NULL;
        if (e) {
            ms_str ty = event_attr(e, "exception.type"), msg = event_attr(e, "exception.message");
            struct msx_buf b;
            msx_buf_init(&b, TX_CAP_TEXT);
            if (ty.ptr)
                msx_buf_add(&b, ty.ptr, ty.len);
            if (ty.ptr && msg.ptr)
                msx_buf_adds(&b, ": ");
            if (msg.ptr)
                msx_buf_add(&b, msg.ptr, msg.len);
            if (msx_buf_status(&b) == MS_E_NOMEM)
                c->nomem = true;
            else if (b.len)
                tc->error = dup_str(c, b.ptr, b.len);
            msx_buf_release(&b);
        } else if (tc->failed && s->status_message.len) {
            tc->error = dup_str(c, s->status_message.ptr, s->status_message.len);
        }
    }
}

/* Tool calls the model asked for, when no TOOL span recorded them. */
static void model_tool_calls(struct ctx *c, msi_transcriber *tx, const ms_trace *t,
                             const size_t *ord, struct tvec *tools)
{
    const char *saved = c->shape;
    for (size_t k = 0; k < t->n_spans && !c->nomem; k++) {
        const ms_span *s = &t->spans[ord[k]];
        if (!span_is_type(s, "CHAT_MODEL") && !span_is_type(s, "LLM"))
            continue;
        msx_json root;
        ms_str text;
        if (attr_value(c, s, "mlflow.spanOutputs", tx->paux, &root, &text) == VAL_JSON)
            read_output(c, root, NULL, tools, 0);
        else if (attr_value(c, s, "gen_ai.output.messages", tx->paux, &root, &text) == VAL_JSON)
            read_output(c, root, NULL, tools, 0);
    }
    c->shape = saved;
}

static void retriever_docs(struct ctx *c, msi_transcriber *tx, const ms_trace *t,
                           const size_t *ord, ms_document **docs, size_t *n_docs)
{
    size_t n = 0, cap = 0;
    ms_document *v = NULL;
    for (size_t k = 0; k < t->n_spans && !c->nomem; k++) {
        const ms_span *s = &t->spans[ord[k]];
        if (!span_is_type(s, "RETRIEVER"))
            continue;
        msx_json root;
        ms_str text;
        if (attr_value(c, s, "mlflow.spanOutputs", tx->paux, &root, &text) != VAL_JSON)
            continue;
        if (msx_json_type(root) == MSX_JSON_OBJECT) { /* {"documents": [...]} */
            msx_json d = msx_json_get(root, "documents");
            if (msx_json_type(d) == MSX_JSON_ARRAY)
                root = d;
        }
        if (msx_json_type(root) != MSX_JSON_ARRAY)
            continue;
        struct msx_json_iter it = msx_json_iter_init(root);
        ms_str key;
        msx_json e;
        int64_t rank = 0;
        ms_str sid = dup_str(c, s->span_id, strlen(s->span_id));
        while (msx_json_next(&it, &key, &e)) {
            rank++;
            if (msx_json_type(e) != MSX_JSON_OBJECT)
                continue;
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 8;
                ms_document *nv = realloc(v, nc * sizeof *nv);
                if (!nv) {
                    c->nomem = true;
                    break;
                }
                v = nv;
                cap = nc;
            }
            ms_document *d = &v[n++];
            memset(d, 0, sizeof *d);
            d->rank = rank;
            d->span_id = sid;
            msx_json md = msx_json_get(e, "metadata");
            ms_str id = msx_json_str(msx_json_get(e, "id"));
            if (!id.ptr)
                id = msx_json_str(msx_json_get(md, "doc_id"));
            if (!id.ptr)
                id = msx_json_str(msx_json_get(md, "chunk_id"));
            if (id.ptr)
                d->id = dup_str(c, id.ptr, id.len);
            ms_str uri = msx_json_str(msx_json_get(md, "doc_uri"));
            if (!uri.ptr)
                uri = msx_json_str(msx_json_get(md, "source"));
            if (uri.ptr)
                d->uri = dup_str(c, uri.ptr, uri.len);
            ms_str pc = msx_json_str(msx_json_get(e, "page_content"));
            if (!pc.ptr)
                pc = msx_json_str(msx_json_get(e, "content"));
            if (!pc.ptr)
                pc = msx_json_str(msx_json_get(e, "text"));
            d->text = pc.ptr ? dup_str(c, pc.ptr, pc.len) : (ms_str){"", 0};
        }
    }
    if (n && !c->nomem) {
        *docs = msx_arena_calloc(c->a, n, sizeof **docs);
        if (!*docs)
            c->nomem = true;
        else {
            memcpy(*docs, v, n * sizeof *v);
            *n_docs = n;
        }
    }
    free(v);
}

/* ---- previews ------------------------------------------------------- */

/* A preview MLflow cut mid-JSON: the string value of the first of keys
 * (for "content" the last one, the newest message), unescaped as far as it
 * goes; {NULL,0} if none. */
static ms_str salvage(struct ctx *c, ms_str pv, const char *const *keys, size_t n_keys)
{
    for (size_t k = 0; k < n_keys; k++) {
        char pat[48];
        int pl = snprintf(pat, sizeof pat, "\"%s\": \"", keys[k]);
        const char *hit = NULL;
        for (size_t i = 0; i + (size_t)pl <= pv.len; i++)
            if (memcmp(pv.ptr + i, pat, (size_t)pl) == 0) {
                hit = pv.ptr + i + pl;
                if (strcmp(keys[k], "content") != 0)
                    break;
            }
        if (!hit)
            continue;
        struct msx_buf b;
        msx_buf_init(&b, TX_CAP_TEXT);
        const char *end = pv.ptr + pv.len;
        for (const char *q = hit; q < end && *q != '"'; q++) {
            if (*q != '\\') {
                msx_buf_addc(&b, *q);
                continue;
            }
            if (++q >= end)
                break;
            switch (*q) {
            case 'n': msx_buf_addc(&b, '\n'); break;
            case 't': msx_buf_addc(&b, '\t'); break;
            case 'u': q = q + 4 < end ? q + 4 : end - 1; break; /* dropped, not guessed */
            default: msx_buf_addc(&b, *q); break;
            }
        }
        ms_str r = {NULL, 0};
        if (msx_buf_status(&b) == MS_E_NOMEM)
            c->nomem = true;
        else if (b.len)
            r = dup_str(c, b.ptr, b.len);
        msx_buf_release(&b);
        if (r.ptr)
            return r;
    }
    return (ms_str){NULL, 0};
}

static void previews(struct ctx *c, msi_transcriber *tx, const ms_trace *t, struct io *io)
{
    static const char *const in_keys[] = {"question", "query", "message", "input", "prompt",
                                          "content"};
    static const char *const out_keys[] = {"answer", "output", "response", "content", "text"};
    memset(io, 0, sizeof *io);
    const ms_str rq = t->info.request_preview, rs = t->info.response_preview;
    struct ms_error e;
    msx_json root;
    c->shape = NULL;
    if (rq.len) {
        if (msx_json_parse(tx->pin, rq.ptr, rq.len, false, &root, &e) == MS_OK)
            read_input(c, root, &io->in, 0);
        if (!io->in.n && rq.ptr[0] == '{') {
            ms_str sv = salvage(c, rq, in_keys, sizeof in_keys / sizeof in_keys[0]);
            if (sv.ptr)
                vec_push_msg(c, &io->in, MS_ROLE_USER, sv, (ms_str){NULL, 0});
        }
        if (!io->in.n)
            vec_push_msg(c, &io->in, MS_ROLE_USER, dup_str(c, rq.ptr, rq.len), (ms_str){NULL, 0});
    }
    if (rs.len) {
        if (msx_json_parse(tx->pout, rs.ptr, rs.len, false, &root, &e) == MS_OK)
            read_output(c, root, &io->out, NULL, 0);
        if (!io->out.n && rs.ptr[0] == '{') {
            ms_str sv = salvage(c, rs, out_keys, sizeof out_keys / sizeof out_keys[0]);
            if (sv.ptr)
                vec_push_msg(c, &io->out, MS_ROLE_ASSISTANT, sv, (ms_str){NULL, 0});
        }
        if (!io->out.n)
            vec_push_msg(c, &io->out, MS_ROLE_ASSISTANT, dup_str(c, rs.ptr, rs.len),
                         (ms_str){NULL, 0});
    }
    for (size_t i = 0; i < io->in.n; i++)
        io->in.v[i].truncated = true;
    for (size_t i = 0; i < io->out.n; i++)
        io->out.v[i].truncated = true;
    if (io->in.n || io->out.n) {
        io->src = MS_IO_PREVIEW;
        io->shape = "preview";
    }
}

/* ---- history -------------------------------------------------------- */

static uint64_t msg_hash(const ms_message *m)
{
    const char *p = m->text.ptr;
    size_t n = m->text.len;
    while (n && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
        p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\n' || p[n - 1] == '\t' || p[n - 1] == '\r'))
        n--;
    uint64_t h = 1469598103934665603ULL;
    h = (h ^ (uint64_t)m->role) * 1099511628211ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}

/* How many of the input's messages repeat the previous conversation P:
 * after leading system messages, the longest k such that the input's
 * first k messages equal P's last k (full or windowed history), or P's
 * first k, or P's length when at least half of P's messages are found in
 * place (a history edited on the way); at least the last input message
 * stays new. */
static void detect_history(msi_transcriber *tx, ms_turn *turn, const uint64_t *h)
{
    size_t n = turn->n_input, s = 0;
    turn->first_new = 0;
    turn->carries_history = false;
    if (!tx->has_prev || n == 0)
        return;
    while (s < n && turn->input[s].role == MS_ROLE_SYSTEM)
        s++;
    size_t ps = 0;
    while (ps < tx->n_prev && tx->prev_role[ps] == MS_ROLE_SYSTEM)
        ps++;
    const uint64_t *P = tx->prev + ps;
    size_t np = tx->n_prev - ps;
    const uint64_t *I = h + s;
    size_t ni = n - s;
    size_t maxk = ni > 0 ? ni - 1 : 0;
    size_t best = 0;
    if (maxk > np)
        maxk = np;
    /* input starts with P's suffix of length k */
    size_t lo = maxk > TX_MAX_MATCH ? maxk - TX_MAX_MATCH : 0;
    for (size_t k = maxk; k > lo && best == 0; k--)
        if (memcmp(I, P + np - k, k * sizeof *I) == 0)
            best = k;
    /* or P's prefix */
    size_t pre = 0;
    while (pre < maxk && I[pre] == P[pre])
        pre++;
    if (pre > best)
        best = pre;
    /* or P with some messages edited (an app that rewrites or summarises
     * its history): same length, most messages equal in place */
    if (best < np && ni > np && np <= TX_MAX_MATCH) {
        size_t same = 0;
        for (size_t j = 0; j < np; j++)
            same += I[j] == P[j];
        if (same > 0 && 2 * same >= np)
            best = np;
    }
    if (best > 0) {
        turn->first_new = s + best;
        turn->carries_history = true;
        return;
    }
    /* a system prompt repeated from the previous turn is not new either */
    if (s > 0 && s <= ps && memcmp(h, tx->prev, s * sizeof *h) == 0)
        turn->first_new = s;
}

static ms_code remember(msi_transcriber *tx, const ms_turn *turn, const uint64_t *hin)
{
    size_t n = turn->n_input + turn->n_output;
    if (n > TX_MAX_PREV)
        n = TX_MAX_PREV;
    if (n > tx->cap_prev) {
        uint64_t *np = realloc(tx->prev, n * sizeof *np);
        if (!np)
            return MS_E_NOMEM;
        tx->prev = np;
        ms_role *nr = realloc(tx->prev_role, n * sizeof *nr);
        if (!nr)
            return MS_E_NOMEM;
        tx->prev_role = nr;
        tx->cap_prev = n;
    }
    size_t k = 0;
    for (size_t i = 0; i < turn->n_input && k < n; i++, k++) {
        tx->prev[k] = hin[i];
        tx->prev_role[k] = turn->input[i].role;
    }
    for (size_t i = 0; i < turn->n_output && k < n; i++, k++) {
        tx->prev[k] = msg_hash(&turn->output[i]);
        tx->prev_role[k] = turn->output[i].role;
    }
    tx->n_prev = k;
    tx->has_prev = true;
    return MS_OK;
}

/* ---- the turn ------------------------------------------------------- */

static bool to_arena_msgs(struct ctx *c, const struct mvec *v, ms_message **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!v->n)
        return true;
    *out = msx_arena_calloc(c->a, v->n, sizeof **out);
    if (!*out) {
        c->nomem = true;
        return false;
    }
    memcpy(*out, v->v, v->n * sizeof *v->v);
    *n = v->n;
    return true;
}

static bool has_text(const struct mvec *v)
{
    for (size_t i = 0; i < v->n; i++)
        if (v->v[i].text.len)
            return true;
    return false;
}

/* The span with the turn's input gave no answer (an agent whose first
 * model call only asked for a tool, under a root span with no I/O): the
 * answer is the text output of the latest span that has one. */
static void later_answer(struct ctx *c, msi_transcriber *tx, const ms_trace *t,
                         const size_t *ord, long si, struct io *io)
{
    size_t probes = 0;
    for (size_t k = t->n_spans; k-- > 0 && probes < TX_MAX_PROBE && !c->nomem; probes++) {
        if ((long)ord[k] == si)
            continue;
        struct io other;
        memset(&other, 0, sizeof other);
        span_io(c, tx, &t->spans[ord[k]], &other);
        if (has_text(&other.out)) {
            struct mvec keep = io->out;
            io->out = other.out;
            other.out = keep;
            io_release(&other);
            return;
        }
        io_release(&other);
    }
}

ms_code msi_transcribe_turn(msi_transcriber *tx, ms_turn *turn, struct msx_arena *a,
                            struct ms_error *err)
{
    struct ctx c = {a, false, NULL};
    const ms_trace *t = turn->trace;
    struct io io;
    struct tvec tools = {NULL, 0, 0};
    uint64_t *hin = NULL;
    memset(&io, 0, sizeof io);
    turn->input = turn->output = NULL;
    turn->n_input = turn->n_output = turn->first_new = 0;
    turn->carries_history = false;
    turn->tools = NULL;
    turn->n_tools = 0;
    turn->docs = NULL;
    turn->n_docs = 0;
    turn->io_span_id = (ms_str){NULL, 0};
    turn->io_source = MS_IO_NONE;
    turn->shape = "none";
    if (!t)
        return MS_OK;

    size_t *ord = start_order(&c, t);
    if (!ord)
        goto done;
    long si = find_io_span(&c, tx, t, ord, &io);
    if (c.nomem)
        goto done;
    if (si >= 0) {
        const ms_span *s = &t->spans[si];
        turn->io_span_id = dup_str(&c, s->span_id, strlen(s->span_id));
    } else {
        previews(&c, tx, t, &io);
    }
    if (si >= 0 && !has_text(&io.out) && !c.nomem)
        later_answer(&c, tx, t, ord, si, &io);
    turn->io_source = io.src;
    if (io.shape)
        turn->shape = io.shape;
    if (!to_arena_msgs(&c, &io.in, &turn->input, &turn->n_input) ||
        !to_arena_msgs(&c, &io.out, &turn->output, &turn->n_output))
        goto done;

    tool_spans(&c, tx, t, ord, &tools);
    if (!tools.n && !c.nomem) {
        model_tool_calls(&c, tx, t, ord, &tools);
        if (!tools.n)
            for (size_t i = 0; i < io.calls.n; i++) {
                ms_tool_call *tc = vec_push_tool(&c, &tools);
                if (tc)
                    *tc = io.calls.v[i];
            }
    }
    if (tools.n && !c.nomem) {
        turn->tools = msx_arena_calloc(a, tools.n, sizeof *turn->tools);
        if (!turn->tools)
            c.nomem = true;
        else {
            memcpy(turn->tools, tools.v, tools.n * sizeof *tools.v);
            turn->n_tools = tools.n;
        }
    }
    if (!c.nomem)
        retriever_docs(&c, tx, t, ord, &turn->docs, &turn->n_docs);
    if (c.nomem)
        goto done;

    hin = malloc((turn->n_input ? turn->n_input : 1) * sizeof *hin);
    if (!hin) {
        c.nomem = true;
        goto done;
    }
    for (size_t i = 0; i < turn->n_input; i++)
        hin[i] = msg_hash(&turn->input[i]);
    detect_history(tx, turn, hin);
    if (remember(tx, turn, hin) != MS_OK)
        c.nomem = true;

done:
    free(hin);
    free(ord);
    free(tools.v);
    io_release(&io);
    if (c.nomem) {
        if (err) {
            err->code = MS_E_NOMEM;
            err->offset = -1;
            snprintf(err->msg, sizeof err->msg, "out of memory reading the transcript of a turn");
        }
        return MS_E_NOMEM;
    }
    return MS_OK;
}
