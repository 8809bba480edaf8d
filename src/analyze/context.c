/* SPDX-License-Identifier: MIT
 *
 * context.c - what the model was given to read, turn by turn:
 *   context.window   a call's input tokens passed the model's context window
 *                    (error, at the first turn), or the growth of the last
 *                    turns projects passing it within the next few (warn)
 *   context.growth   the shape of the prompt's growth per turn: linear (the
 *                    whole history resent, never trimmed) or accelerating
 *   context.drop     the prompt shrank suddenly: history cut or summarised,
 *                    and whether quality (failing scores, user corrections)
 *                    changed after it
 *   context.largest  the largest prompt of the session and its cached share
 *
 * The size of a turn's prompt is read from the LLM spans' token usage
 * (mlflow.chat.tokenUsage), else from the trace's: "first" is the turn's
 * first call (the history it carried in), "largest" its biggest call (what
 * must fit the window). Windows come from a built-in table of common models,
 * overridden and extended by options->model_windows ("name=N,..."); a dated
 * or provider-prefixed name matches its base ("gpt-4o-2024-08-06",
 * "openai/gpt-4o"). Token counts are int64; growth ratios are compared in
 * integers. Never prints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze_int.h"
#include "json/json.h"

static const ms_rule_info rules[] = {
    {"context.window", "context", MS_SEV_ERROR,
     "input tokens of a call passed the model's context window (warn: growth projects passing it within 3 turns)"},
    {"context.growth", "context", MS_SEV_INFO,
     "how the prompt grows per turn: linear (history resent, never trimmed) or accelerating"},
    {"context.drop", "context", MS_SEV_WARN,
     "the prompt shrank suddenly (history cut or summarised), and whether quality changed after"},
    {"context.largest", "context", MS_SEV_INFO, "the largest prompt of the session and its cached share"},
};

/* The next few turns of the window projection. */
#define PROJECT_TURNS 3
/* A drop: the first call's input falls by at least 40% and 100 tokens. */
#define DROP_PCT 40
#define DROP_MIN_TOKENS 100
/* The largest prompt is told from this share of its window on (or when
 * cache reads were recorded); growth from GROWTH_PCT of the window on, or
 * in sessions of GROWTH_LONG turns whose model's window is unknown. */
#define LARGEST_PCT 50
#define GROWTH_PCT 25
#define GROWTH_LONG 20
/* Growth needs this many turns with token counts. */
#define GROWTH_MIN_TURNS 5
/* ... and "accelerating" needs this many steps of growth to compare. */
#define ACCEL_MIN_STEPS 6

/* Token counts and windows are clamped to [0, TOKENS_MAX] when read, so
 * that percentages (x100) cannot overflow; sums saturate. Hostile traces
 * carry counts at the int64 edges. */
#define TOKENS_MAX ((int64_t)1 << 50)

static int64_t clamp_tokens(int64_t v)
{
    return v < 0 ? 0 : v > TOKENS_MAX ? TOKENS_MAX : v;
}

static int64_t sadd(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static int64_t smul(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return (a < 0) != (b < 0) ? INT64_MIN : INT64_MAX;
    return r;
}

/* ---- the built-in window table ---------------------------------------------- */

struct window {
    const char *model;
    int64_t tokens;
};

static const struct window builtin_windows[] = {
    /* OpenAI */
    {"gpt-4o", 128000},
    {"gpt-4o-mini", 128000},
    {"chatgpt-4o-latest", 128000},
    {"gpt-4.1", 1047576},
    {"gpt-4.1-mini", 1047576},
    {"gpt-4.1-nano", 1047576},
    {"gpt-4.5-preview", 128000},
    {"gpt-4-turbo", 128000},
    {"gpt-4", 8192},
    {"gpt-4-32k", 32768},
    {"gpt-3.5-turbo", 16385},
    {"gpt-5", 400000},
    {"gpt-5-mini", 400000},
    {"gpt-5-nano", 400000},
    {"o1", 200000},
    {"o1-mini", 128000},
    {"o1-preview", 128000},
    {"o3", 200000},
    {"o3-mini", 200000},
    {"o4-mini", 200000},
    /* Anthropic */
    {"claude-3-haiku", 200000},
    {"claude-3-sonnet", 200000},
    {"claude-3-opus", 200000},
    {"claude-3-5-haiku", 200000},
    {"claude-3-5-sonnet", 200000},
    {"claude-3-7-sonnet", 200000},
    {"claude-sonnet-4", 200000},
    {"claude-sonnet-4-5", 200000},
    {"claude-opus-4", 200000},
    {"claude-opus-4-1", 200000},
    {"claude-haiku-4-5", 200000},
    /* Google */
    {"gemini-1.5-pro", 2097152},
    {"gemini-1.5-flash", 1048576},
    {"gemini-2.0-flash", 1048576},
    {"gemini-2.5-pro", 1048576},
    {"gemini-2.5-flash", 1048576},
    /* Meta, Mistral */
    {"llama-3-8b", 8192},
    {"llama-3-70b", 8192},
    {"llama-3.1-8b", 131072},
    {"llama-3.1-70b", 131072},
    {"llama-3.1-405b", 131072},
    {"llama-3.2-1b", 131072},
    {"llama-3.2-3b", 131072},
    {"llama-3.3-70b", 131072},
    {"mistral-large", 128000},
    {"mistral-small", 32768},
    {"mixtral-8x7b", 32768},
    /* the fixture app (tools/fixtures/app.py MODEL_WINDOWS) */
    {"acme-small-4k", 4096},
    {"acme-large-32k", 32768},
};

/* ---- strings ------------------------------------------------------------------- */

static char lower(char ch)
{
    return (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
}

static bool ieqn(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++)
        if (lower(a[i]) != lower(b[i]))
            return false;
    return true;
}

/* Does name (len n) start with key, followed by the end or a version
 * separator ("gpt-4o-2024-08-06", "claude-3-5-sonnet@20240620")? */
static bool base_match(const char *name, size_t n, const char *key, size_t kn)
{
    if (kn > n)
        return false;
    if (!ieqn(name, kn, key, kn))
        return false;
    return kn == n || name[kn] == '-' || name[kn] == '@' || name[kn] == ':' || name[kn] == '_';
}

struct wtable {
    struct window *over; /* options->model_windows, parsed */
    size_t n_over;
    char *names;         /* their names, NUL-separated */
};

/* Parses "a=1, b=2"; entries that cannot be read are skipped (an analyzer
 * never fails on odd input). */
static ms_code parse_overrides(struct msi_ctx *c, struct wtable *w)
{
    memset(w, 0, sizeof *w);
    const char *s = c->o ? c->o->model_windows : NULL;
    if (!s || !*s)
        return MS_OK;
    size_t len = strlen(s), cap = 1;
    for (size_t i = 0; i < len; i++)
        cap += s[i] == ',';
    w->over = msx_arena_calloc(c->tmp, cap, sizeof *w->over);
    w->names = msx_arena_strndup(c->tmp, s, len);
    if (!w->over || !w->names)
        return MS_E_NOMEM;
    char *p = w->names;
    while (*p) {
        char *e = strchr(p, ',');
        if (e)
            *e = '\0';
        char *eq = strrchr(p, '=');
        if (eq) {
            *eq = '\0';
            char *name = p;
            while (*name == ' ' || *name == '\t')
                name++;
            char *ne = eq;
            while (ne > name && (ne[-1] == ' ' || ne[-1] == '\t'))
                *--ne = '\0';
            const char *d = eq + 1;
            while (*d == ' ')
                d++;
            int64_t v = 0;
            bool ok = *d >= '0' && *d <= '9';
            while (ok && *d >= '0' && *d <= '9') {
                if (v > (INT64_MAX - 9) / 10)
                    ok = false;
                else
                    v = v * 10 + (*d++ - '0');
            }
            while (ok && *d == ' ')
                d++;
            if (ok && *d == '\0' && v > 0 && *name)
                w->over[w->n_over++] = (struct window){name, clamp_tokens(v)};
        }
        if (!e)
            break;
        p = e + 1;
    }
    return MS_OK;
}

/* The best entry of tab for name: exact first, else the longest base. */
static const struct window *lookup_in(const struct window *tab, size_t n, const char *name,
                                      size_t len)
{
    const struct window *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t kn = strlen(tab[i].model);
        if (ieqn(name, len, tab[i].model, kn))
            return &tab[i];
        if (kn > best_len && base_match(name, len, tab[i].model, kn)) {
            best = &tab[i];
            best_len = kn;
        }
    }
    return best;
}

/* The window of a model name: overrides, then the built-in table; each
 * tried on the name, on it without a provider path ("openai/gpt-4o") and
 * after each dot-separated vendor prefix ("anthropic.claude-3-5-sonnet").
 * 0 when unknown. */
static int64_t window_of(const struct wtable *w, ms_str model)
{
    if (!model.len)
        return 0;
    const char *name = model.ptr;
    size_t len = model.len;
    for (int pass = 0; pass < 2; pass++) {
        const struct window *tab = pass == 0 ? w->over : builtin_windows;
        size_t n = pass == 0 ? w->n_over
                             : sizeof builtin_windows / sizeof builtin_windows[0];
        if (!n)
            continue;
        const struct window *hit = lookup_in(tab, n, name, len);
        if (!hit) {
            const char *slash = NULL;
            for (size_t i = 0; i < len; i++)
                if (name[i] == '/')
                    slash = name + i;
            const char *s = slash ? slash + 1 : name;
            size_t sl = len - (size_t)(s - name);
            hit = lookup_in(tab, n, s, sl);
            for (size_t i = 0; !hit && i < sl; i++)
                if (s[i] == '.')
                    hit = lookup_in(tab, n, s + i + 1, sl - i - 1);
        }
        if (hit)
            return hit->tokens;
    }
    return 0;
}

/* ---- reading a turn -------------------------------------------------------- */

/* A string attribute as plain text: MLflow JSON-encodes its values
 * ("\"gpt-4o\""), OTLP attributes are plain. Borrowed from the span, or
 * decoded into the scratch arena. */
static ms_str attr_text(struct msi_ctx *c, msx_json_parser *p, const ms_attr *a)
{
    ms_str v = a->value;
    if (a->kind != MS_VAL_STRING || v.len < 2 || v.ptr[0] != '"')
        return v;
    if (!memchr(v.ptr, '\\', v.len) && v.ptr[v.len - 1] == '"')
        return (ms_str){v.ptr + 1, v.len - 2};
    msx_json root;
    if (!p || msx_json_parse(p, v.ptr, v.len, false, &root, NULL) != MS_OK)
        return v;
    ms_str s = msx_json_str(root);
    if (!s.ptr)
        return v;
    char *cp = msx_arena_strndup(c->tmp, s.ptr, s.len);
    return cp ? (ms_str){cp, s.len} : v;
}

/* A string member of obj, by key, copied to the scratch arena; {NULL,0}
 * when absent. */
static ms_str json_member(struct msi_ctx *c, msx_json obj, const char *key)
{
    if (msx_json_type(obj) != MSX_JSON_OBJECT)
        return (ms_str){NULL, 0};
    msx_json m = msx_json_get(obj, key);
    if (msx_json_type(m) != MSX_JSON_STRING)
        return (ms_str){NULL, 0};
    ms_str v = msx_json_str(m);
    char *cp = v.len ? msx_arena_strndup(c->tmp, v.ptr, v.len) : NULL;
    return cp ? (ms_str){cp, v.len} : (ms_str){NULL, 0};
}

/* The model named in a JSON attribute of sp (inputs, outputs, invocation
 * parameters): its "model" member, or "model_name", or that of
 * invocation_params / llm_output (LangChain). MLflow JSON-encodes the
 * attribute value, so a string holding JSON is parsed once more. */
static ms_str json_model(struct msi_ctx *c, msx_json_parser *p, const ms_span *sp, const char *key)
{
    const ms_attr *a = ms_span_attr(sp, key);
    if (!p || !a || !a->value.len || a->value.len > (1u << 24))
        return (ms_str){NULL, 0};
    msx_json root;
    if (msx_json_parse(p, a->value.ptr, a->value.len, false, &root, NULL) != MS_OK)
        return (ms_str){NULL, 0};
    ms_str inner = msx_json_str(root);
    if (inner.ptr) {
        char *copy = msx_arena_strndup(c->tmp, inner.ptr, inner.len);
        if (!copy || msx_json_parse(p, copy, inner.len, false, &root, NULL) != MS_OK)
            return (ms_str){NULL, 0};
    }
    if (msx_json_type(root) != MSX_JSON_OBJECT)
        return (ms_str){NULL, 0};
    static const char *const nests[] = {NULL, "invocation_params", "llm_output",
                                        "response_metadata"};
    for (size_t i = 0; i < sizeof nests / sizeof nests[0]; i++) {
        msx_json obj = nests[i] ? msx_json_get(root, nests[i]) : root;
        ms_str m = json_member(c, obj, "model");
        if (!m.len)
            m = json_member(c, obj, "model_name");
        if (m.len)
            return m;
    }
    return (ms_str){NULL, 0};
}

/* The model a span called, or {NULL,0}. */
static ms_str span_model(struct msi_ctx *c, msx_json_parser *p, const ms_span *sp)
{
    static const char *const keys[] = {"mlflow.llm.model", "gen_ai.request.model",
                                       "gen_ai.response.model", "llm.model_name", "llm.model",
                                       "ai.model.id"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const ms_attr *a = ms_span_attr(sp, keys[i]);
        if (a && a->value.len) {
            ms_str s = attr_text(c, p, a);
            if (s.len)
                return s;
        }
    }
    /* the request's "model" (OpenAI, Anthropic), LangChain's invocation
     * parameters, then the response's "model" / llm_output.model_name */
    static const char *const json_keys[] = {"mlflow.spanInputs", "invocation_params",
                                            "mlflow.spanOutputs"};
    for (size_t i = 0; i < sizeof json_keys / sizeof json_keys[0]; i++) {
        ms_str m = json_model(c, p, sp, json_keys[i]);
        if (m.len)
            return m;
    }
    return (ms_str){NULL, 0};
}

/* One turn's prompt sizes. */
struct tinfo {
    bool has;               /* some input token count */
    int64_t first_in;       /* the first call's input tokens */
    int64_t max_in;         /* the largest call's */
    long max_span;          /* its span index, -1 for the trace's usage */
    ms_str max_model;
    /* the call nearest its window (largest in/window) */
    long worst_span;
    int64_t worst_in, worst_win;
    ms_str worst_model;
    int64_t total_in;       /* the turn's input tokens, all calls */
    int64_t cached;         /* cache reads */
    bool has_cache;
    int64_t calls;          /* calls with token counts */
};

/* The prompt's size from a usage record. MLflow counts cache reads and
 * writes inside input_tokens (OpenAI's prompt_tokens do too); a record whose
 * cache counts exceed its input_tokens follows Anthropic's raw usage, where
 * input_tokens is only the uncached part: then the parts are added. */
static int64_t prompt_tokens(const ms_token_usage *u)
{
    int64_t in = clamp_tokens(u->input_tokens), cache = 0;
    if (u->present & MS_USAGE_CACHE_READ)
        cache += clamp_tokens(u->cache_read_input_tokens);
    if (u->present & MS_USAGE_CACHE_CREATION)
        cache += clamp_tokens(u->cache_creation_input_tokens);
    return clamp_tokens(cache > in ? in + cache : in);
}

static bool is_llm(const ms_span *sp)
{
    ms_str t = sp->span_type;
    return (t.len == 3 && memcmp(t.ptr, "LLM", 3) == 0) ||
           (t.len == 10 && memcmp(t.ptr, "CHAT_MODEL", 10) == 0);
}

static bool has_usage(const ms_span *sp)
{
    return (sp->usage.present & MS_USAGE_INPUT) != 0;
}

/* Does another span with token usage have sp as its parent? Then sp's usage
 * sums its children's (a wrapper, an agent step) and counting it would
 * count them twice. Checked when a turn has few usage spans (the common
 * case); beyond, every one counts. */
#define NESTED_CHECK_MAX 256
static bool usage_below(const ms_trace *t, const ms_span *sp)
{
    for (size_t i = 0; i < t->n_spans; i++)
        if (&t->spans[i] != sp && has_usage(&t->spans[i]) &&
            strcmp(t->spans[i].parent_id, sp->span_id) == 0)
            return true;
    return false;
}

static void read_turn(struct msi_ctx *c, msx_json_parser *p, const struct wtable *w,
                      const ms_turn *tu, struct tinfo *ti)
{
    memset(ti, 0, sizeof *ti);
    ti->max_span = ti->worst_span = -1;
    const ms_trace *t = tu->trace;
    if (!t)
        return;
    /* model calls (LLM, CHAT_MODEL spans) when they carry the counts, else
     * whatever span does; the turn's model when all its calls name one */
    bool llm_usage = false;
    size_t n_usage = 0;
    ms_str one_model = {NULL, 0};
    bool many_models = false;
    for (size_t i = 0; i < t->n_spans; i++) {
        const ms_span *sp = &t->spans[i];
        n_usage += has_usage(sp);
        if (!is_llm(sp) && !has_usage(sp))
            continue;
        llm_usage = llm_usage || (is_llm(sp) && has_usage(sp));
        ms_str m = span_model(c, p, sp);
        if (!m.len)
            continue;
        if (!one_model.len)
            one_model = m;
        else if (m.len != one_model.len || memcmp(m.ptr, one_model.ptr, m.len) != 0)
            many_models = true;
    }
    ms_str any_model = many_models ? (ms_str){NULL, 0} : one_model;
    int64_t first_start = 0;
    for (size_t i = 0; i < t->n_spans; i++) {
        const ms_span *sp = &t->spans[i];
        if (!has_usage(sp) || (llm_usage && !is_llm(sp)))
            continue;
        if (n_usage <= NESTED_CHECK_MAX && usage_below(t, sp))
            continue;
        ms_str model = span_model(c, p, sp);
        if (!model.len)
            model = any_model;
        int64_t in = prompt_tokens(&sp->usage);
        ti->calls++;
        ti->total_in = sadd(ti->total_in, in);
        if (sp->usage.present & MS_USAGE_CACHE_READ) {
            ti->cached = sadd(ti->cached, clamp_tokens(sp->usage.cache_read_input_tokens));
            ti->has_cache = true;
        }
        if (!ti->has || sp->start_ns < first_start) {
            first_start = sp->start_ns;
            ti->first_in = in;
        }
        if (!ti->has || in > ti->max_in) {
            ti->max_in = in;
            ti->max_span = (long)i;
            ti->max_model = model;
        }
        ti->has = true;
        int64_t win = window_of(w, model);
        /* in/win > worst_in/worst_win (a ratio for choosing only) */
        if (win > 0 && (ti->worst_win == 0 ||
                        (double)in / (double)win > (double)ti->worst_in / (double)ti->worst_win)) {
            ti->worst_in = in;
            ti->worst_win = win;
            ti->worst_span = (long)i;
            ti->worst_model = model;
        }
    }
    const ms_token_usage *u = &t->info.usage;
    if (!ti->has && (u->present & MS_USAGE_INPUT)) {
        /* only the trace's total: one number for the whole turn */
        ti->has = true;
        ti->first_in = ti->max_in = ti->total_in = prompt_tokens(u);
        ti->calls = 1;
        ti->max_model = any_model;
        int64_t win = window_of(w, any_model);
        if (win > 0) {
            ti->worst_in = ti->max_in;
            ti->worst_win = win;
            ti->worst_model = any_model;
        }
    }
    if (u->present & MS_USAGE_INPUT)
        ti->total_in = prompt_tokens(u);
    if (u->present & MS_USAGE_CACHE_READ) {
        ti->cached = clamp_tokens(u->cache_read_input_tokens);
        ti->has_cache = true;
    }
}

static void usage_path(const ms_turn *tu, long span, char *buf, size_t size)
{
    (void)tu;
    if (span >= 0)
        snprintf(buf, size, "spans[%ld].attributes.\"mlflow.chat.tokenUsage\"", span);
    else
        snprintf(buf, size, "info.trace_metadata.\"mlflow.trace.tokenUsage\"");
}

static ms_str span_id_of(const ms_turn *tu, long span)
{
    return span >= 0 ? msi_s(tu->trace->spans[span].span_id) : (ms_str){NULL, 0};
}

static ms_str span_name_of(const ms_turn *tu, long span)
{
    return span >= 0 ? tu->trace->spans[span].name : msi_s("(trace total)");
}

/* ---- the rules --------------------------------------------------------------- */

static ms_code check_window(struct msi_ctx *c, const struct tinfo *ti)
{
    const ms_session *s = c->s;
    size_t first = s->n_turns, last = 0, over = 0, peak = 0;
    for (size_t i = 0; i < s->n_turns; i++) {
        if (!ti[i].worst_win || ti[i].worst_in <= ti[i].worst_win)
            continue;
        if (first == s->n_turns)
            first = i;
        last = i;
        if (!over++ || ti[i].worst_in >= ti[peak].worst_in)
            peak = i;
    }
    char path[96];
    if (over) {
        const ms_turn *tu = &s->turns[first];
        const struct tinfo *f = &ti[first];
        usage_path(tu, f->worst_span, path, sizeof path);
        ms_str call = span_name_of(tu, f->worst_span);
        char more[200] = "";
        if (over > 1)
            snprintf(more, sizeof more, "; %zu turns over the window (%lld-%lld), up to %lld tokens at turn %lld",
                     over, (long long)tu->index, (long long)s->turns[last].index,
                     (long long)ti[peak].worst_in, (long long)s->turns[peak].index);
        else
            snprintf(more, sizeof more, "; the only turn over it");
        char before[80] = "";
        for (size_t j = first; j-- > 0;)
            if (ti[j].has) {
                snprintf(before, sizeof before, " (%lld at turn %lld)",
                         (long long)(ti[j].worst_win ? ti[j].worst_in : ti[j].max_in),
                         (long long)s->turns[j].index);
                break;
            }
        if (!msi_finding_add(c, "context.window", MS_SEV_ERROR, tu, span_id_of(tu, f->worst_span),
                             msi_s(path), (ms_str){NULL, 0},
                             "input tokens %lld > window %lld of %.*s at turn %lld (call %.*s)%s%s; "
                             "the model sees only part of the prompt",
                             (long long)f->worst_in, (long long)f->worst_win,
                             (int)f->worst_model.len, f->worst_model.ptr, (long long)tu->index,
                             (int)call.len, call.ptr, before, more))
            return MS_E_NOMEM;
        return MS_OK;
    }
    /* not over: does the recent growth pass it within the next few turns? */
    size_t idx[5];
    size_t m = 0;
    for (size_t i = s->n_turns; i-- > 0 && m < 5;)
        if (ti[i].has && ti[i].worst_win)
            idx[m++] = i;
    if (m < 3)
        return MS_OK;
    const struct tinfo *l = &ti[idx[0]], *o = &ti[idx[m - 1]];
    if (l->worst_win != o->worst_win)
        return MS_OK;
    int64_t steps = (int64_t)(idx[0] - idx[m - 1]);
    int64_t grown = l->worst_in - o->worst_in;
    if (steps <= 0 || grown <= 0 || smul(l->worst_in, 2) < l->worst_win)
        return MS_OK;
    /* turns until passing: ceil((win - in + 1) / (grown/steps)) */
    int64_t need = l->worst_win - l->worst_in + 1;
    int64_t turns = sadd(smul(need, steps), grown - 1) / grown;
    if (turns > PROJECT_TURNS)
        return MS_OK;
    const ms_turn *tu = &s->turns[idx[0]];
    usage_path(tu, l->worst_span, path, sizeof path);
    if (!msi_finding_add(c, "context.window", MS_SEV_WARN, tu, span_id_of(tu, l->worst_span),
                         msi_s(path), (ms_str){NULL, 0},
                         "input tokens %lld at turn %lld, %lld%% of the %lld window of %.*s, grew "
                         "%lld over the last %lld turns: at this rate the window is passed in %lld "
                         "turn%s",
                         (long long)l->worst_in, (long long)tu->index,
                         (long long)(l->worst_in * 100 / l->worst_win), (long long)l->worst_win,
                         (int)l->worst_model.len, l->worst_model.ptr, (long long)grown,
                         (long long)steps, (long long)turns, turns == 1 ? "" : "s"))
        return MS_E_NOMEM;
    return MS_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static ms_code check_growth(struct msi_ctx *c, const struct tinfo *ti)
{
    const ms_session *s = c->s;
    size_t *idx = msx_arena_alloc(c->tmp, (s->n_turns + 1) * sizeof *idx);
    int64_t *inc = msx_arena_alloc(c->tmp, (s->n_turns + 1) * sizeof *inc);
    if (!idx || !inc)
        return MS_E_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < s->n_turns; i++)
        if (ti[i].has)
            idx[n++] = i;
    if (n < GROWTH_MIN_TURNS)
        return MS_OK;
    size_t pos = 0, m = n - 1;
    int64_t cum = 0;
    for (size_t k = 0; k < n; k++)
        cum = sadd(cum, ti[idx[k]].first_in);
    for (size_t k = 1; k < n; k++) {
        inc[k - 1] = ti[idx[k]].first_in - ti[idx[k - 1]].first_in;
        if (inc[k - 1] > 0)
            pos++;
    }
    const struct tinfo *a = &ti[idx[0]], *z = &ti[idx[n - 1]];
    if (z->first_in <= a->first_in || pos * 4 < m * 3)
        return MS_OK;
    /* halves of the increments: does each turn add more than the last? */
    size_t h = m / 2;
    int64_t s1 = 0, s2 = 0;
    for (size_t k = 0; k < h; k++)
        s1 = sadd(s1, inc[k]);
    for (size_t k = m - h; k < m; k++)
        s2 = sadd(s2, inc[k]);
    bool accel = m >= ACCEL_MIN_STEPS && s2 > 0 && s2 >= smul(2, s1) && s1 >= 0;
    qsort(inc, m, sizeof *inc, cmp_i64);
    int64_t med = inc[(m - 1) / 2];
    const ms_turn *t0 = &s->turns[idx[0]], *t1 = &s->turns[idx[n - 1]];
    /* worth telling when it comes near the window (or runs long with an
     * unknown one); told at the turn that passed the window, else the last */
    int64_t win = z->worst_win;
    if (win > 0 ? z->max_in * 100 < win * GROWTH_PCT : n < GROWTH_LONG)
        return MS_OK;
    const ms_turn *at = t1;
    for (size_t k = 0; k < n; k++)
        if (ti[idx[k]].worst_win && ti[idx[k]].worst_in > ti[idx[k]].worst_win) {
            at = &s->turns[idx[k]];
            break;
        }
    ms_finding *f;
    if (accel)
        f = msi_finding_add(c, "context.growth", MS_SEV_INFO, at, (ms_str){NULL, 0},
                            (ms_str){NULL, 0}, (ms_str){NULL, 0},
                            "input tokens grow faster than linearly over turns %lld-%lld, %lld -> "
                            "%lld (median +%lld/turn; the later turns add %lldx what the earlier "
                            "did): history never trimmed, and answers or tool results grow; %lld "
                            "input tokens in all",
                            (long long)t0->index, (long long)t1->index, (long long)a->first_in,
                            (long long)z->first_in, (long long)med,
                            (long long)(s1 > 0 ? s2 / s1 : 0), (long long)cum);
    else
        f = msi_finding_add(c, "context.growth", MS_SEV_INFO, at, (ms_str){NULL, 0},
                            (ms_str){NULL, 0}, (ms_str){NULL, 0},
                            "input tokens grow linearly over turns %lld-%lld, %lld -> %lld (median "
                            "+%lld/turn, %zu of %zu steps up): the history is resent every turn "
                            "and never trimmed, so the session's total grows quadratically (%lld "
                            "input tokens in all)",
                            (long long)t0->index, (long long)t1->index, (long long)a->first_in,
                            (long long)z->first_in, (long long)med, pos, m, (long long)cum);
    return f ? MS_OK : MS_E_NOMEM;
}

/* A user message at turn tu that corrects or repeats: "I told you", ... */
static bool correction_text(ms_str t)
{
    static const char *const phrases[] = {"i told you", "told you already", "i already said",
                                          "i already told", "as i said", "i said",
                                          "remind me", "you forgot", "wrong again",
                                          "that's wrong", "that is wrong", "not what i asked",
                                          "i just said", "again:", "no, "};
    for (size_t p = 0; p < sizeof phrases / sizeof phrases[0]; p++) {
        size_t n = strlen(phrases[p]);
        for (size_t i = 0; i + n <= t.len; i++) {
            size_t k = 0;
            while (k < n && lower(t.ptr[i + k]) == phrases[p][k])
                k++;
            if (k == n && (i == 0 || !((lower(t.ptr[i - 1]) >= 'a' && lower(t.ptr[i - 1]) <= 'z'))))
                return true;
        }
    }
    return false;
}

static ms_str user_text(const ms_turn *tu)
{
    for (size_t i = tu->n_input; i-- > tu->first_new && i < tu->n_input;)
        if (tu->input[i].role == MS_ROLE_USER)
            return tu->input[i].text;
    return tu->trace ? tu->trace->info.request_preview : (ms_str){NULL, 0};
}

static ms_code check_drop(struct msi_ctx *c, const struct tinfo *ti)
{
    const ms_session *s = c->s;
    size_t prev = s->n_turns;
    for (size_t i = 0; i < s->n_turns; i++) {
        if (!ti[i].has)
            continue;
        if (prev == s->n_turns) {
            prev = i;
            continue;
        }
        int64_t p = ti[prev].first_in, q = ti[i].first_in;
        size_t pi = prev;
        prev = i;
        if (p <= 0 || p - q < DROP_MIN_TOKENS || q * 100 > p * (100 - DROP_PCT))
            continue;
        const ms_turn *tu = &s->turns[i];
        /* quality after it: failing scores from turn i on, user corrections
         * in the next turns */
        size_t fail_before = 0, fail_after = 0;
        const ms_finding *first_fail = NULL;
        for (size_t k = 0; k < msi_findings_count(c->out); k++) {
            const ms_finding *f = msi_findings_at(c->out, k);
            if (strcmp(f->rule, "assessment.failing") != 0 || f->turn <= 0)
                continue;
            if (f->turn >= tu->index) {
                if (!fail_after++)
                    first_fail = f;
            } else {
                fail_before++;
            }
        }
        const ms_turn *corr = NULL;
        for (size_t k = i; k < s->n_turns && k <= i + 3; k++)
            if (correction_text(user_text(&s->turns[k]))) {
                corr = &s->turns[k];
                break;
            }
        /* the assessments analyzer runs before this one, when selected */
        bool scored = msi_rule_selected(c->o, "assessment.failing");
        char after[320];
        size_t off = 0;
        if (!fail_after && !corr)
            off += (size_t)snprintf(after, sizeof after, "%s after it",
                                    scored ? "no failing score or user correction"
                                           : "no user correction");
        else {
            off += (size_t)snprintf(after, sizeof after, "after it:");
            if (fail_after && off < sizeof after)
                off += (size_t)snprintf(after + off, sizeof after - off,
                                        " %zu failing score%s from turn %lld on (before: %zu)",
                                        fail_after, fail_after == 1 ? "" : "s",
                                        (long long)first_fail->turn, fail_before);
            if (corr && off < sizeof after) {
                ms_str ut = user_text(corr);
                snprintf(after + off, sizeof after - off,
                         "%s the user repeated or corrected at turn %lld (\"%.*s\")",
                         fail_after ? ";" : "", (long long)corr->index,
                         (int)(ut.len > 60 ? 60 : ut.len), ut.ptr ? ut.ptr : "");
            }
        }
        char hist[120] = "";
        const ms_turn *pt = &s->turns[pi];
        if (pt->carries_history && !tu->carries_history)
            snprintf(hist, sizeof hist, "; turn %lld's input repeated earlier turns, turn %lld's does not",
                     (long long)pt->index, (long long)tu->index);
        char path[96];
        long fs = -1;
        for (size_t k = 0; k < tu->trace->n_spans; k++)
            if ((tu->trace->spans[k].usage.present & MS_USAGE_INPUT) &&
                (fs < 0 || tu->trace->spans[k].start_ns < tu->trace->spans[fs].start_ns))
                fs = (long)k;
        usage_path(tu, fs, path, sizeof path);
        if (!msi_finding_add(c, "context.drop", MS_SEV_WARN, tu, span_id_of(tu, fs), msi_s(path),
                             corr ? user_text(corr) : (ms_str){NULL, 0},
                             "input tokens fell %lld -> %lld (-%lld%%) from turn %lld to turn %lld: "
                             "history cut or summarised%s; %s",
                             (long long)p, (long long)q, (long long)((p - q) * 100 / p),
                             (long long)pt->index, (long long)tu->index, hist, after))
            return MS_E_NOMEM;
    }
    return MS_OK;
}

static ms_code check_largest(struct msi_ctx *c, const struct tinfo *ti, const struct wtable *w)
{
    const ms_session *s = c->s;
    size_t best = s->n_turns;
    int64_t sum = 0, cached = 0;
    bool any_cache = false;
    for (size_t i = 0; i < s->n_turns; i++) {
        if (!ti[i].has)
            continue;
        sum = sadd(sum, ti[i].total_in);
        cached = sadd(cached, ti[i].cached);
        any_cache = any_cache || ti[i].has_cache;
        if (best == s->n_turns || ti[i].max_in > ti[best].max_in)
            best = i;
    }
    if (best == s->n_turns)
        return MS_OK;
    const ms_turn *tu = &s->turns[best];
    const struct tinfo *b = &ti[best];
    int64_t win = window_of(w, b->max_model);
    /* worth telling when the prompt came near its window or was cached */
    if (!(win > 0 && b->max_in * 100 >= win * LARGEST_PCT) && !(any_cache && cached > 0))
        return MS_OK;
    char model[200] = "";
    if (b->max_model.len && win > 0)
        snprintf(model, sizeof model, ", %.*s, %s%lld%% of its %lld window", (int)b->max_model.len,
                 b->max_model.ptr, b->max_in > 0 && b->max_in * 100 < win ? "<" : "",
                 (long long)(b->max_in * 100 < win && b->max_in > 0 ? 1 : b->max_in * 100 / win),
                 (long long)win);
    else if (b->max_model.len)
        snprintf(model, sizeof model, ", %.*s, window unknown (set it with --windows)",
                 (int)b->max_model.len, b->max_model.ptr);
    char cache[160];
    if (b->has_cache && b->total_in > 0)
        snprintf(cache, sizeof cache, "cache reads %lld of its %lld input tokens (%lld%%)",
                 (long long)b->cached, (long long)b->total_in,
                 (long long)(b->cached * 100 / b->total_in));
    else
        snprintf(cache, sizeof cache, "no cache reads recorded");
    char total[160];
    if (any_cache && sum > 0)
        snprintf(total, sizeof total, "session: %lld input tokens over %zu turn%s, %lld%% cached",
                 (long long)sum, s->n_turns, s->n_turns == 1 ? "" : "s",
                 (long long)(smul(cached, 100) / sum));
    else
        snprintf(total, sizeof total, "session: %lld input tokens over %zu turn%s", (long long)sum,
                 s->n_turns, s->n_turns == 1 ? "" : "s");
    ms_str call = span_name_of(tu, b->max_span);
    char path[96];
    usage_path(tu, b->max_span, path, sizeof path);
    if (!msi_finding_add(c, "context.largest", MS_SEV_INFO, tu, span_id_of(tu, b->max_span),
                         msi_s(path), (ms_str){NULL, 0},
                         "largest prompt: %lld input tokens at turn %lld (call %.*s%s); %s; %s",
                         (long long)b->max_in, (long long)tu->index, (int)call.len, call.ptr,
                         model, cache, total))
        return MS_E_NOMEM;
    return MS_OK;
}

static ms_code run_context(struct msi_ctx *c)
{
    const ms_session *s = c->s;
    if (!s->n_turns)
        return MS_OK;
    struct wtable w;
    ms_code rc = parse_overrides(c, &w);
    if (rc != MS_OK)
        return rc;
    struct tinfo *ti = msx_arena_calloc(c->tmp, s->n_turns, sizeof *ti);
    if (!ti)
        return MS_E_NOMEM;
    msx_json_parser *p = msx_json_parser_new(); /* NULL: no model from inputs */
    for (size_t i = 0; i < s->n_turns; i++)
        read_turn(c, p, &w, &s->turns[i], &ti[i]);
    msx_json_parser_free(p);

    if (msi_rule_selected(c->o, "context.window"))
        rc = check_window(c, ti);
    if (rc == MS_OK && msi_rule_selected(c->o, "context.growth"))
        rc = check_growth(c, ti);
    if (rc == MS_OK && msi_rule_selected(c->o, "context.drop"))
        rc = check_drop(c, ti);
    if (rc == MS_OK && msi_rule_selected(c->o, "context.largest"))
        rc = check_largest(c, ti, &w);
    return rc;
}

const struct msi_analyzer msi_analyzer_context = {"context", rules, sizeof rules / sizeof rules[0],
                                                  run_context};
