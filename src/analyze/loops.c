/* SPDX-License-Identifier: MIT
 *
 * loops.c - the session going round in circles:
 *   loop.tool    the same tool with the same arguments 3 or more times in one
 *                turn, or across consecutive turns (each turn calling it)
 *   loop.error   the same error (exception type and message) raised 3 or
 *                more times in the session
 *   loop.answer  the assistant answering near-identically in consecutive
 *                turns (5+ words, word overlap >= 85%)
 * Tool calls come from the transcript (ms_turn.tools), else from the turn's
 * TOOL spans. Deterministic; never prints.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze_int.h"
#include "util/utf8.h"

#define LOOP_MIN 3             /* calls / errors / turns that make a loop */
#define ANSWER_MIN_WORDS 5
#define ANSWER_SIMILAR_PCT 85  /* word overlap (Dice) that reads as "the same" */

static const ms_rule_info rules[] = {
    {"loop.tool", "loops", MS_SEV_WARN, "the same tool with the same arguments 3+ times in a turn or across consecutive turns"},
    {"loop.error", "loops", MS_SEV_ERROR, "the same error raised 3+ times in the session"},
    {"loop.answer", "loops", MS_SEV_WARN, "the assistant answered near-identically in consecutive turns"},
};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int sfmt(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    /* cut: never half a character (buf[max] must be readable: max = size - 2) */
    if (n >= 0 && (size_t)n >= size && size > 1)
        buf[msx_utf8_cut(buf, size - 1, size - 2)] = '\0';
    return n;
}

static bool str_eq(ms_str a, ms_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static bool str_eqz(ms_str a, const char *z)
{
    return str_eq(a, msi_s(z));
}

/* ---- tool calls ---------------------------------------------------------- */

struct call {
    size_t turn;     /* index into s->turns */
    ms_str name;
    ms_str args;     /* whitespace outside strings removed */
    ms_str result;
    ms_str span_id;
    long span_index; /* in the turn's trace, or -1 */
};

/* JSON text without the whitespace between tokens, so that {"a": 1} and
 * {"a":1} compare equal. Not a parser: odd text just stays as it is. */
static ms_str squeeze(struct msx_arena *a, ms_str in)
{
    char *p = msx_arena_alloc(a, in.len + 1);
    if (!p)
        return (ms_str){NULL, 0};
    size_t n = 0;
    bool in_str = false, esc = false;
    for (size_t i = 0; i < in.len; i++) {
        char ch = in.ptr[i];
        if (in_str) {
            if (esc)
                esc = false;
            else if (ch == '\\')
                esc = true;
            else if (ch == '"')
                in_str = false;
        } else if (ch == '"') {
            in_str = true;
        } else if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') {
            continue;
        }
        p[n++] = ch;
    }
    p[n] = '\0';
    return (ms_str){p, n};
}

static ms_str decoded_attr(struct msx_arena *a, const ms_span *sp, const char *key)
{
    const ms_attr *at = ms_span_attr(sp, key);
    if (!at)
        return (ms_str){NULL, 0};
    char *txt = NULL;
    size_t len = 0;
    bool is_json = false;
    if (ms_attr_decode(at, &txt, &len, &is_json) != MS_OK)
        return at->value;
    char *copy = msx_arena_strndup(a, txt, len);
    free(txt);
    return copy ? (ms_str){copy, len} : (ms_str){NULL, 0};
}

static bool attr_is(const ms_span *sp, const char *key, const char *want)
{
    const ms_attr *a = ms_span_attr(sp, key);
    if (!a)
        return false;
    ms_str v = a->value;
    if (v.len >= 2 && v.ptr[0] == '"' && v.ptr[v.len - 1] == '"') {
        v.ptr++;
        v.len -= 2;
    }
    return str_eqz(v, want);
}

/* A tool call: MLflow's TOOL span type, OpenInference's span kind or the
 * GenAI operation. */
static bool is_tool_span(const ms_span *sp)
{
    return str_eqz(sp->span_type, "TOOL") || attr_is(sp, "openinference.span.kind", "TOOL") ||
           attr_is(sp, "gen_ai.operation.name", "execute_tool");
}


/* Every tool call of the session, in turn order. */
static ms_code collect_calls(struct msi_ctx *c, struct call **out, size_t *n_out)
{
    const ms_session *s = c->s;
    size_t cap = 0;
    for (size_t t = 0; t < s->n_turns; t++) {
        const ms_turn *tu = &s->turns[t];
        cap += tu->n_tools;
        if (tu->n_tools == 0 && tu->trace)
            cap += tu->trace->n_spans;
    }
    struct call *calls = msx_arena_calloc(c->tmp, cap ? cap : 1, sizeof *calls);
    if (!calls)
        return MS_E_NOMEM;
    size_t n = 0;
    for (size_t t = 0; t < s->n_turns; t++) {
        const ms_turn *tu = &s->turns[t];
        if (tu->n_tools) {
            struct msi_span_index ix = {NULL, NULL, NULL};
            if (tu->trace && !msi_span_index_build(c->tmp, tu->trace, &ix))
                return MS_E_NOMEM;
            for (size_t k = 0; k < tu->n_tools; k++) {
                struct call *cl = &calls[n++];
                cl->turn = t;
                cl->name = tu->tools[k].name;
                cl->args = squeeze(c->tmp, tu->tools[k].arguments);
                cl->result = tu->tools[k].result;
                cl->span_id = tu->tools[k].span_id;
                cl->span_index = msi_span_find(&ix, cl->span_id);
                if (tu->tools[k].arguments.len && !cl->args.ptr)
                    return MS_E_NOMEM;
            }
            continue;
        }
        if (!tu->trace)
            continue;
        for (size_t i = 0; i < tu->trace->n_spans; i++) {
            const ms_span *sp = &tu->trace->spans[i];
            if (!is_tool_span(sp))
                continue;
            struct call *cl = &calls[n++];
            cl->turn = t;
            cl->name = sp->name;
            ms_str in = decoded_attr(c->tmp, sp, "mlflow.spanInputs");
            cl->args = squeeze(c->tmp, in);
            cl->result = decoded_attr(c->tmp, sp, "mlflow.spanOutputs");
            cl->span_id = msi_s(sp->span_id);
            cl->span_index = (long)i;
        }
    }
    *out = calls;
    *n_out = n;
    return MS_OK;
}

static bool same_call(const struct call *a, const struct call *b)
{
    return str_eq(a->name, b->name) && str_eq(a->args, b->args);
}

static ms_str span_path(char *buf, size_t size, long i)
{
    if (i < 0)
        return (ms_str){NULL, 0};
    sfmt(buf, size, "spans[%ld].attributes.\"mlflow.spanInputs\"", i);
    return msi_s(buf);
}

static int cmp_str(ms_str a, ms_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int r = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (r)
        return r;
    return a.len < b.len ? -1 : a.len > b.len;
}

/* Same tool and arguments together, then by turn, then in session order
 * (pointer order is array order). */
static int cmp_call(const void *x, const void *y)
{
    const struct call *a = *(const struct call *const *)x, *b = *(const struct call *const *)y;
    int r = cmp_str(a->name, b->name);
    if (!r)
        r = cmp_str(a->args, b->args);
    if (r)
        return r;
    if (a->turn != b->turn)
        return a->turn < b->turn ? -1 : 1;
    return a < b ? -1 : a > b;
}

struct tool_loop {
    const struct call *first; /* the first call of the loop */
    size_t count;
    size_t first_turn, last_turn;
    bool in_turn;             /* within one turn, else across turns */
    bool same_result;
};

static int cmp_loop(const void *x, const void *y)
{
    const struct tool_loop *a = x, *b = y;
    return a->first < b->first ? -1 : a->first > b->first;
}

/* Sorting groups the calls (O(n log n)): a runaway agent makes 100k calls
 * in one turn. */
static ms_code tool_loops(struct msi_ctx *c, struct call *calls, size_t n)
{
    const ms_session *s = c->s;
    if (n < LOOP_MIN)
        return MS_OK;
    const struct call **by = msx_arena_alloc(c->tmp, n * sizeof *by);
    struct tool_loop *loops = msx_arena_alloc(c->tmp, n * sizeof *loops);
    if (!by || !loops)
        return MS_E_NOMEM;
    for (size_t i = 0; i < n; i++)
        by[i] = &calls[i];
    qsort(by, n, sizeof *by, cmp_call);
    size_t n_loops = 0;
    for (size_t g = 0; g < n;) {
        /* one tool with one set of arguments: by[g..ge) */
        size_t ge = g + 1;
        while (ge < n && same_call(by[g], by[ge]))
            ge++;
        /* within one turn */
        bool *looped = msx_arena_calloc(c->tmp, ge - g, sizeof *looped);
        if (!looped)
            return MS_E_NOMEM;
        for (size_t t = g; t < ge;) {
            size_t te = t + 1;
            bool same_result = true;
            while (te < ge && by[te]->turn == by[t]->turn) {
                if (!str_eq(by[te]->result, by[t]->result))
                    same_result = false;
                te++;
            }
            if (te - t >= LOOP_MIN) {
                loops[n_loops++] = (struct tool_loop){by[t], te - t, by[t]->turn, by[t]->turn,
                                                      true, same_result};
                for (size_t k = t; k < te; k++)
                    looped[k - g] = true;
            }
            t = te;
        }
        /* across consecutive turns that each make the call (a turn with a
         * loop of its own ends the run) */
        for (size_t r = g; r < ge;) {
            if (looped[r - g]) {
                r++;
                continue;
            }
            size_t re = r + 1;
            while (re < ge && !looped[re - g] &&
                   (by[re]->turn == by[re - 1]->turn || by[re]->turn == by[re - 1]->turn + 1))
                re++;
            if (re - r >= LOOP_MIN && by[re - 1]->turn > by[r]->turn)
                loops[n_loops++] = (struct tool_loop){by[r], re - r, by[r]->turn, by[re - 1]->turn,
                                                      false, false};
            r = re;
        }
        g = ge;
    }
    qsort(loops, n_loops, sizeof *loops, cmp_loop);
    for (size_t i = 0; i < n_loops; i++) {
        const struct tool_loop *l = &loops[i];
        const struct call *cl = l->first;
        const ms_turn *tu = &s->turns[l->first_turn];
        char path[96];
        int shown = (int)msx_utf8_cut(cl->args.ptr, cl->args.len, 80);
        const char *with = cl->args.len ? "the same arguments " : "no arguments";
        ms_str where = span_path(path, sizeof path, cl->span_index);
        if (!cl->args.len && cl->span_index >= 0) {
            sfmt(path, sizeof path, "spans[%ld]", cl->span_index);
            where = msi_s(path);
        }
        ms_finding *f;
        if (l->in_turn)
            f = msi_finding_add(c, "loop.tool", MS_SEV_WARN, tu, cl->span_id, where, cl->args,
                                "tool %.*s called %zu times in turn %lld with %s%.*s%s",
                                (int)cl->name.len, cl->name.ptr, l->count, (long long)tu->index,
                                with, shown, cl->args.ptr,
                                l->same_result ? "; the same result each time" : "");
        else
            f = msi_finding_add(c, "loop.tool", MS_SEV_WARN, tu, cl->span_id, where, cl->args,
                                "tool %.*s called with %s%.*s in %zu consecutive turns (%lld-%lld), %zu times",
                                (int)cl->name.len, cl->name.ptr, with, shown, cl->args.ptr,
                                l->last_turn - l->first_turn + 1, (long long)tu->index,
                                (long long)s->turns[l->last_turn].index, l->count);
        if (!f)
            return MS_E_NOMEM;
    }
    return MS_OK;
}

/* ---- repeated errors ------------------------------------------------------- */

struct raise {
    size_t turn;
    long span;        /* index in the turn's trace, or -1 */
    int event;        /* exception event index, or -1 */
    char key[256];    /* "Type: message" */
    ms_str name;      /* span or tool name */
    bool propagated;  /* an ancestor passing a descendant's exception on */
    bool silent;      /* no exception event, no status message */
};

static const ms_attr *event_attr(const ms_event *e, const char *key)
{
    for (size_t i = 0; i < e->n_attrs; i++)
        if (str_eqz(e->attrs[i].key, key))
            return &e->attrs[i];
    return NULL;
}

/* The failure a span records as "Type: message" (or its status message);
 * false when the span did not fail. */
static bool span_error_key(const ms_span *sp, char *key, size_t size, int *event)
{
    *event = -1;
    for (size_t i = 0; i < sp->n_events; i++) {
        if (!str_eqz(sp->events[i].name, "exception"))
            continue;
        const ms_attr *ty = event_attr(&sp->events[i], "exception.type");
        const ms_attr *ms = event_attr(&sp->events[i], "exception.message");
        *event = (int)i;
        sfmt(key, size, "%.*s%s%.*s", ty ? (int)ty->value.len : 0, ty ? ty->value.ptr : "",
             ty && ms ? ": " : "", ms ? (int)ms->value.len : 0, ms ? ms->value.ptr : "");
        return true;
    }
    if (sp->status != MS_STATUS_ERROR)
        return false;
    if (sp->status_message.len)
        sfmt(key, size, "%.*s", (int)sp->status_message.len, sp->status_message.ptr);
    else
        sfmt(key, size, "status ERROR");
    return true;
}



static int cmp_raise(const void *a, const void *b)
{
    const struct raise *x = *(const struct raise *const *)a, *y = *(const struct raise *const *)b;
    int r = strcmp(x->key, y->key);
    if (r)
        return r;
    return x < y ? -1 : x > y;
}

/* Groups by where they start in the session. */
static int cmp_slot(const void *a, const void *b)
{
    const struct raise *x = **(const struct raise *const *const *)a;
    const struct raise *y = **(const struct raise *const *const *)b;
    return x < y ? -1 : x > y;
}

static ms_code error_loops(struct msi_ctx *c)
{
    const ms_session *s = c->s;
    size_t cap = 0;
    for (size_t t = 0; t < s->n_turns; t++)
        cap += (s->turns[t].trace ? s->turns[t].trace->n_spans : 0) + s->turns[t].n_tools;
    if (cap == 0)
        return MS_OK;
    struct raise *rs = msx_arena_calloc(c->tmp, cap, sizeof *rs);
    if (!rs)
        return MS_E_NOMEM;
    size_t n = 0;
    for (size_t t = 0; t < s->n_turns; t++) {
        const ms_turn *tu = &s->turns[t];
        const ms_trace *tr = tu->trace;
        size_t from = n;
        for (size_t i = 0; tr && i < tr->n_spans; i++) {
            struct raise *r = &rs[n];
            if (!span_error_key(&tr->spans[i], r->key, sizeof r->key, &r->event))
                continue;
            r->turn = t;
            r->span = (long)i;
            r->propagated = false;
            r->silent = r->event < 0 && tr->spans[i].status_message.len == 0;
            r->name = tr->spans[i].name;
            n++;
        }
        /* an ancestor repeating a descendant's exception only passed it on */
        struct msi_span_index ix = {NULL, NULL, NULL};
        if (tr && !msi_span_index_build(c->tmp, tr, &ix))
            return MS_E_NOMEM;
        long *par = NULL, *slot = NULL;
        if (n > from + 1) {
            par = ix.par;
            slot = msx_arena_alloc(c->tmp, tr->n_spans * sizeof *slot);
            if (!slot)
                return MS_E_NOMEM;
            for (size_t i = 0; i < tr->n_spans; i++)
                slot[i] = -1;
            for (size_t a = from; a < n; a++)
                slot[rs[a].span] = (long)a;
        }
        for (size_t b = from; par && b < n; b++) {
            long p = par[rs[b].span];
            for (size_t hops = 0; p >= 0 && hops < tr->n_spans; hops++) {
                long a = slot[p];
                if (a >= 0 && (rs[a].silent || strcmp(rs[a].key, rs[b].key) == 0))
                    rs[a].propagated = true;
                p = par[p];
            }
        }
        size_t k = from;
        for (size_t a = from; a < n; a++)
            if (!rs[a].propagated)
                rs[k++] = rs[a];
        n = k;
        /* failed tool calls the spans do not show */
        for (size_t q = 0; q < tu->n_tools; q++) {
            const ms_tool_call *tc = &tu->tools[q];
            if (!tc->failed || msi_span_find(&ix, tc->span_id) >= 0)
                continue;
            struct raise *r = &rs[n++];
            r->turn = t;
            r->span = -1;
            r->event = -1;
            r->propagated = false;
            r->silent = false;
            r->name = tc->name;
            sfmt(r->key, sizeof r->key, "%.*s", (int)tc->error.len, tc->error.ptr);
        }
    }
    if (n < LOOP_MIN)
        return MS_OK;
    /* group equal keys: sort by key, then by position (pointer order is
     * array order), so each group lists its occurrences in session order */
    const struct raise **by = msx_arena_alloc(c->tmp, n * sizeof *by);
    const struct raise *const **firsts = msx_arena_alloc(c->tmp, n * sizeof *firsts);
    if (!by || !firsts)
        return MS_E_NOMEM;
    for (size_t i = 0; i < n; i++)
        by[i] = &rs[i];
    qsort(by, n, sizeof *by, cmp_raise);
    size_t n_groups = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && strcmp(by[j]->key, by[i]->key) == 0)
            j++;
        if (j - i >= LOOP_MIN && by[i]->key[0])
            firsts[n_groups++] = &by[i];
        i = j;
    }
    qsort(firsts, n_groups, sizeof *firsts, cmp_slot);
    for (size_t g = 0; g < n_groups; g++) {
        const struct raise *const *slot = firsts[g], *const *end = by + n;
        const struct raise *r0 = *slot;
        size_t count = 0, turns = 0, last_turn = (size_t)-1;
        char list[96] = "";
        size_t ll = 0;
        bool more = false;
        for (; slot < end && strcmp((*slot)->key, r0->key) == 0; slot++) {
            const struct raise *r = *slot;
            count++;
            if (r->turn == last_turn)
                continue;
            last_turn = r->turn;
            turns++;
            if (ll + 30 < sizeof list) {
                int w = sfmt(list + ll, sizeof list - ll, "%s%lld", ll ? ", " : "",
                             (long long)s->turns[r->turn].index);
                ll += w > 0 ? (size_t)w : 0;
            } else if (!more) {
                sfmt(list + ll, sizeof list - ll, ", ...");
                more = true;
            }
        }
        const ms_turn *tu = &s->turns[r0->turn];
        char path[64] = "";
        if (r0->span >= 0) {
            if (r0->event >= 0)
                sfmt(path, sizeof path, "spans[%ld].events[%d]", r0->span, r0->event);
            else
                sfmt(path, sizeof path, "spans[%ld].status", r0->span);
        }
        ms_str span = r0->span >= 0 ? msi_s(tu->trace->spans[r0->span].span_id)
                                    : (ms_str){NULL, 0};
        if (!msi_finding_add(c, "loop.error", MS_SEV_ERROR, tu, span,
                             path[0] ? msi_s(path) : (ms_str){NULL, 0}, msi_s(r0->key),
                             "the same error %zu times (%s %s): %s", count,
                             turns == 1 ? "turn" : "turns", list, r0->key))
            return MS_E_NOMEM;
    }
    return MS_OK;
}

/* ---- repeated answers ---------------------------------------------------- */

static ms_str answer_of(const ms_turn *t)
{
    for (size_t i = t->n_output; i > 0; i--)
        if (t->output[i - 1].text.len)
            return t->output[i - 1].text;
    if (t->trace && t->trace->info.response_preview.len)
        return t->trace->info.response_preview;
    return (ms_str){NULL, 0};
}

struct words {
    char **w;
    size_t n;
};

static int cmp_word(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lowercase ASCII words (letters and digits; other bytes of UTF-8 text kept
 * inside words), sorted. */
static bool split_words(struct msx_arena *a, ms_str text, struct words *out)
{
    out->n = 0;
    out->w = msx_arena_calloc(a, text.len / 2 + 1, sizeof *out->w);
    char *buf = msx_arena_alloc(a, text.len + 1);
    if (!out->w || !buf)
        return false;
    size_t i = 0, b = 0;
    while (i < text.len) {
        while (i < text.len) {
            unsigned char ch = (unsigned char)text.ptr[i];
            if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                ch >= 0x80)
                break;
            i++;
        }
        if (i >= text.len)
            break;
        char *w = buf + b;
        while (i < text.len) {
            unsigned char ch = (unsigned char)text.ptr[i];
            if (ch >= 'A' && ch <= 'Z')
                ch = (unsigned char)(ch - 'A' + 'a');
            else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch >= 0x80))
                break;
            buf[b++] = (char)ch;
            i++;
        }
        buf[b++] = '\0';
        out->w[out->n++] = w;
    }
    qsort(out->w, out->n, sizeof *out->w, cmp_word);
    return true;
}

/* Dice overlap of two sorted word multisets, in percent. */
static size_t overlap_pct(const struct words *a, const struct words *b)
{
    size_t i = 0, j = 0, common = 0;
    while (i < a->n && j < b->n) {
        int r = strcmp(a->w[i], b->w[j]);
        if (r == 0) {
            common++;
            i++;
            j++;
        } else if (r < 0) {
            i++;
        } else {
            j++;
        }
    }
    return a->n + b->n ? 200 * common / (a->n + b->n) : 0;
}

static bool contains_ci(ms_str hay, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n && i + n <= hay.len; i++) {
        size_t k = 0;
        while (k < n) {
            char ch = hay.ptr[i + k];
            if (ch >= 'A' && ch <= 'Z')
                ch = (char)(ch - 'A' + 'a');
            if (ch != needle[k])
                break;
            k++;
        }
        if (k == n)
            return true;
    }
    return false;
}

/* Does the answer ask the user for something (not the closing "anything
 * else?")? */
static bool asks_user(ms_str ans)
{
    if (!memchr(ans.ptr ? ans.ptr : "", '?', ans.len))
        return false;
    return !contains_ci(ans, "anything else");
}

static ms_code answer_loops(struct msi_ctx *c)
{
    const ms_session *s = c->s;
    if (s->n_turns < 2)
        return MS_OK;
    struct words *ws = msx_arena_calloc(c->tmp, s->n_turns, sizeof *ws);
    if (!ws)
        return MS_E_NOMEM;
    for (size_t t = 0; t < s->n_turns; t++) {
        const ms_turn *tu = &s->turns[t];
        if (!tu->trace || tu->trace->info.state == MS_STATE_ERROR)
            continue;
        if (!split_words(c->tmp, answer_of(tu), &ws[t]))
            return MS_E_NOMEM;
    }
    for (size_t t = 1; t < s->n_turns; t++) {
        if (ws[t].n < ANSWER_MIN_WORDS || ws[t - 1].n < ANSWER_MIN_WORDS)
            continue;
        size_t pct = overlap_pct(&ws[t - 1], &ws[t]);
        if (pct < ANSWER_SIMILAR_PCT)
            continue;
        /* the stretch of near-identical answers from t-1 */
        size_t last = t;
        while (last + 1 < s->n_turns && ws[last + 1].n >= ANSWER_MIN_WORDS &&
               overlap_pct(&ws[last], &ws[last + 1]) >= ANSWER_SIMILAR_PCT)
            last++;
        const ms_turn *tu = &s->turns[t];
        ms_str ans = answer_of(tu);
        /* Canned answers to questions on one topic repeat legitimately;
         * a loop is three in a row, or the assistant asking the user the
         * same question again after the user answered it. */
        bool asks = asks_user(ans);
        if (last - t + 2 < LOOP_MIN && !asks) {
            t = last;
            continue;
        }
        if (!msi_finding_add(c, "loop.answer", MS_SEV_WARN, tu, tu->io_span_id, (ms_str){NULL, 0},
                             ans,
                             last - t + 2 >= LOOP_MIN
                                 ? "the assistant repeated itself: turns %lld-%lld answer nearly the same (%zu%% of words shared)"
                                 : "the assistant asked the same again: turns %lld-%lld answer nearly the same (%zu%% of words shared)",
                             (long long)s->turns[t - 1].index, (long long)s->turns[last].index, pct))
            return MS_E_NOMEM;
        t = last;
    }
    return MS_OK;
}

static ms_code run_loops(struct msi_ctx *c)
{
    const ms_session *s = c->s;
    if (!s || s->n_turns == 0)
        return MS_OK;
    ms_code rc = MS_OK;
    if (msi_rule_selected(c->o, "loop.tool")) {
        struct call *calls = NULL;
        size_t n = 0;
        rc = collect_calls(c, &calls, &n);
        if (rc == MS_OK)
            rc = tool_loops(c, calls, n);
    }
    if (rc == MS_OK && msi_rule_selected(c->o, "loop.error"))
        rc = error_loops(c);
    if (rc == MS_OK && msi_rule_selected(c->o, "loop.answer"))
        rc = answer_loops(c);
    return rc;
}

const struct msi_analyzer msi_analyzer_loops = {"loops", rules, sizeof rules / sizeof rules[0],
                                                run_loops};
