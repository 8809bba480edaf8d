/* SPDX-License-Identifier: MIT
 *
 * errors.c - what failed, where it was raised and what it did to the
 * conversation:
 *   error.trace     a turn whose trace ended in ERROR: the span that raised
 *                   (not the ancestors that only passed the exception on),
 *                   the exception's type and message and the innermost frame
 *                   of its stack trace
 *   error.span      a span that failed inside a turn that went on (caught)
 *   error.tool      a tool call that failed
 *   error.degraded  an error followed, in the same or the next two turns, by
 *                   answers that are apologies, fallbacks or much shorter
 * Reads only the session's spans and transcript; never prints.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze_int.h"
#include "util/utf8.h"

/* snprintf that may cut (messages are bounded on purpose). */
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

static const ms_rule_info rules[] = {
    {"error.trace", "errors", MS_SEV_ERROR, "a turn's trace ended in ERROR: the span that raised, the exception and its innermost frame"},
    {"error.span", "errors", MS_SEV_WARN, "a span failed inside a turn that still answered (a caught failure)"},
    {"error.tool", "errors", MS_SEV_WARN, "a tool call failed (TOOL span in ERROR or an exception event)"},
    {"error.degraded", "errors", MS_SEV_WARN, "after an error the answers degraded: apologies, a fallback model, much shorter answers"},
};

/* What one span tells about a failure. */
struct span_err {
    bool failed;       /* status ERROR or an exception event */
    int event;         /* index of the exception event, or -1 */
    ms_str type, msg;  /* exception.type / exception.message, if any */
    ms_str stack;      /* exception.stacktrace, if any */
    ms_str status;     /* status message */
    bool propagated;   /* a descendant failed with the same exception */
    bool is_tool;
};

static bool str_eq(ms_str a, ms_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static bool str_eqz(ms_str a, const char *z)
{
    return str_eq(a, msi_s(z));
}

static const ms_attr *event_attr(const ms_event *e, const char *key)
{
    for (size_t i = 0; i < e->n_attrs; i++)
        if (str_eqz(e->attrs[i].key, key))
            return &e->attrs[i];
    return NULL;
}

static ms_str attr_val(const ms_attr *a)
{
    return a ? a->value : (ms_str){NULL, 0};
}

/* The value of a string attribute as recorded, unquoted when it is a JSON
 * string ("\"TOOL\"" and "TOOL" both read TOOL). */
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

static void read_span_err(const ms_span *sp, struct span_err *e)
{
    memset(e, 0, sizeof *e);
    e->event = -1;
    e->status = sp->status_message;
    for (size_t i = 0; i < sp->n_events; i++) {
        if (!str_eqz(sp->events[i].name, "exception"))
            continue;
        e->event = (int)i;
        e->type = attr_val(event_attr(&sp->events[i], "exception.type"));
        e->msg = attr_val(event_attr(&sp->events[i], "exception.message"));
        e->stack = attr_val(event_attr(&sp->events[i], "exception.stacktrace"));
        break;
    }
    e->failed = sp->status == MS_STATUS_ERROR || e->event >= 0;
    e->is_tool = is_tool_span(sp);
}

/* Two failures are the same exception when type and message match (or,
 * without an exception event, the status messages do). */
static void describe(const struct span_err *e, char *buf, size_t size);

/* Does ancestor anc report the same failure as its descendant desc? Yes
 * when type and message match, when anc's status message is desc's "Type:
 * message", or when anc says nothing of its own (no exception event, no
 * status message): it failed because desc did. */
static bool same_error(const struct span_err *anc, const struct span_err *desc)
{
    if (anc->event < 0 && anc->status.len == 0)
        return true;
    if (anc->event >= 0 && desc->event >= 0)
        return str_eq(anc->type, desc->type) && str_eq(anc->msg, desc->msg);
    char x[512], y[512];
    describe(anc, x, sizeof x);
    describe(desc, y, sizeof y);
    return strcmp(x, y) == 0;
}


/* Marks each failing ancestor that repeats a descendant's exception as
 * propagated: the exception was raised below it. */
static void mark_propagated(const ms_trace *t, const long *par, struct span_err *es)
{
    for (size_t i = 0; i < t->n_spans; i++) {
        if (!es[i].failed)
            continue;
        long p = par[i];
        for (size_t hops = 0; p >= 0 && hops < t->n_spans; hops++) {
            if (es[p].failed && same_error(&es[p], &es[i]))
                es[p].propagated = true;
            p = par[p];
        }
    }
}

/* The innermost frame of a Python traceback ("File \"x.py\", line 3, in f"),
 * as "x.py:3 in f", into buf; false if none. Other languages' traces: the
 * last line that starts with "at " (Java, JS). */
static bool innermost_frame(ms_str st, char *buf, size_t size)
{
    const char *best = NULL;
    size_t best_len = 0;
    bool python = false;
    const char *p = st.ptr, *end = st.ptr + st.len;
    while (p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *q = p;
        while (q < le && (*q == ' ' || *q == '\t'))
            q++;
        if ((size_t)(le - q) > 6 && memcmp(q, "File \"", 6) == 0) {
            best = q;
            best_len = (size_t)(le - q);
            python = true;
        } else if (!python && (size_t)(le - q) > 3 && memcmp(q, "at ", 3) == 0) {
            if (!best) { /* Java/JS: the first "at" line is the innermost */
                best = q;
                best_len = (size_t)(le - q);
            }
        }
        p = nl ? nl + 1 : NULL;
    }
    if (!best)
        return false;
    if (python) {
        /* File "PATH", line N, in FUNC */
        const char *q = best + 6, *e = best + best_len;
        const char *qe = memchr(q, '"', (size_t)(e - q));
        if (!qe)
            return false;
        const char *ln = qe;
        long line = -1;
        if ((size_t)(e - ln) > 8 && memcmp(ln, "\", line ", 8) == 0) {
            ln += 8;
            line = 0;
            while (ln < e && *ln >= '0' && *ln <= '9' && line < 100000000)
                line = line * 10 + (*ln++ - '0');
        }
        const char *fn = NULL;
        size_t fn_len = 0;
        if ((size_t)(e - ln) > 5 && memcmp(ln, ", in ", 5) == 0) {
            fn = ln + 5;
            fn_len = (size_t)(e - fn);
        }
        int n;
        if (fn && line >= 0)
            n = sfmt(buf, size, "%.*s:%ld in %.*s", (int)(qe - q), q, line, (int)fn_len, fn);
        else if (line >= 0)
            n = sfmt(buf, size, "%.*s:%ld", (int)(qe - q), q, line);
        else
            n = sfmt(buf, size, "%.*s", (int)(qe - q), q);
        return n > 0;
    }
    return sfmt(buf, size, "%.*s", (int)(best_len - 3), best + 3) > 0;
}

/* "Type: message" of a failure into buf (the status message when there is
 * no exception event). */
static void describe(const struct span_err *e, char *buf, size_t size)
{
    if (e->event >= 0 && e->type.len && e->msg.len)
        sfmt(buf, size, "%.*s: %.*s", (int)e->type.len, e->type.ptr, (int)e->msg.len,
                 e->msg.ptr);
    else if (e->event >= 0 && e->type.len)
        sfmt(buf, size, "%.*s", (int)e->type.len, e->type.ptr);
    else if (e->status.len)
        sfmt(buf, size, "%.*s", (int)e->status.len, e->status.ptr);
    else if (e->event >= 0 && e->msg.len)
        sfmt(buf, size, "%.*s", (int)e->msg.len, e->msg.ptr);
    else
        sfmt(buf, size, "status ERROR without a message");
}

static void evidence_path(const struct span_err *e, size_t i, char *buf, size_t size)
{
    if (e->event >= 0)
        sfmt(buf, size, "spans[%zu].events[%d]", i, e->event);
    else
        sfmt(buf, size, "spans[%zu].status", i);
}

static ms_str span_id_of(const ms_span *sp)
{
    return msi_s(sp->span_id);
}


/* ---- degraded answers ----------------------------------------------------- */

/* The assistant's answer of a turn: the transcript's output, else the
 * response preview. */
static ms_str answer_of(const ms_turn *t)
{
    for (size_t i = t->n_output; i > 0; i--)
        if (t->output[i - 1].text.len)
            return t->output[i - 1].text;
    if (t->trace && t->trace->info.response_preview.len)
        return t->trace->info.response_preview;
    return (ms_str){NULL, 0};
}

/* The user's message of a turn: the last new user message of the
 * transcript, else the request preview. */
static ms_str user_of(const ms_turn *t)
{
    for (size_t i = t->n_input; i > t->first_new && i > 0; i--)
        if (t->input[i - 1].role == MS_ROLE_USER && t->input[i - 1].text.len)
            return t->input[i - 1].text;
    if (t->trace && t->trace->info.request_preview.len)
        return t->trace->info.request_preview;
    return (ms_str){NULL, 0};
}

/* A question wants more than a one-liner; "Thanks." does not. */
static bool asks(ms_str text)
{
    return text.len && memchr(text.ptr, '?', text.len) != NULL;
}

static bool contains_ci(ms_str hay, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0 || hay.len < n)
        return false;
    for (size_t i = 0; i + n <= hay.len; i++) {
        size_t k = 0;
        while (k < n) {
            char c = hay.ptr[i + k];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (c != needle[k])
                break;
            k++;
        }
        if (k == n)
            return true;
    }
    return false;
}

/* Phrases of an answer that reports failure. Not a bare "sorry": "I'm
 * sorry to hear that" is empathy, not a failure. */
static const char *const apologies[] = {
    "unable to",          "i can't",             "i cannot",
    "i can\u2019t",       "couldn't",            "could not",
    "wasn't able",        "was not able",        "did not work",
    "didn't work",        "went wrong",          "try again later",
    "technical difficult", "temporarily unavailable", "an error occurred",
    "encountered an error", "ran into an error",  "ran into a problem",
    "there was a problem", "there was an error",  "having trouble",
    "not available right now", "is unavailable",  "are unavailable",
};

static const char *apology_in(ms_str text)
{
    for (size_t i = 0; i < sizeof apologies / sizeof apologies[0]; i++)
        if (contains_ci(text, apologies[i]))
            return apologies[i];
    return NULL;
}

static bool is_llm(const ms_span *sp)
{
    return str_eqz(sp->span_type, "LLM") || str_eqz(sp->span_type, "CHAT_MODEL");
}

/* A fallback inside a turn: a model call failed and a later model call
 * answered. Returns the failed span's index or -1. */
static long fallback_in(const ms_turn *t)
{
    const ms_trace *tr = t->trace;
    if (!tr || tr->info.state == MS_STATE_ERROR)
        return -1;
    for (size_t i = 0; i < tr->n_spans; i++) {
        struct span_err e;
        if (!is_llm(&tr->spans[i]))
            continue;
        read_span_err(&tr->spans[i], &e);
        if (!e.failed)
            continue;
        for (size_t j = 0; j < tr->n_spans; j++) {
            const ms_span *o = &tr->spans[j];
            if (j != i && is_llm(o) && o->status != MS_STATUS_ERROR &&
                o->start_ns >= tr->spans[i].start_ns && o->n_events == 0)
                return (long)i;
        }
    }
    return -1;
}

/* Answers' mean length in bytes over turns [from, to) that answered. */
static size_t mean_answer(const ms_session *s, size_t from, size_t to)
{
    size_t sum = 0, n = 0;
    for (size_t i = from; i < to; i++) {
        ms_str a = answer_of(&s->turns[i]);
        if (a.len) {
            sum += a.len;
            n++;
        }
    }
    return n ? sum / n : 0;
}

struct err_site {
    size_t turn;  /* index into s->turns */
    char what[256];
};

static bool is_site(const struct err_site *sites, size_t n_sites, size_t t)
{
    for (size_t k = 0; k < n_sites; k++)
        if (sites[k].turn == t)
            return true;
    return false;
}

/* After an error at turn e, the first of turns e+1, e+2 that answered
 * worse: a fallback model answered, or (when the turn had no error of its
 * own to explain it) the answer apologizes or is under a third of the
 * earlier answers' mean length. */
static ms_code check_degraded(struct msi_ctx *c, const struct err_site *sites, size_t n_sites)
{
    const ms_session *s = c->s;
    size_t done_until = 0; /* one finding per degraded stretch */
    for (size_t k = 0; k < n_sites; k++) {
        size_t e = sites[k].turn;
        if (e + 1 < done_until)
            continue;
        size_t before = mean_answer(s, 0, e);
        for (size_t t = e + 1; t < s->n_turns && t <= e + 2; t++) {
            const ms_turn *tu = &s->turns[t];
            if (!tu->trace || tu->trace->info.state != MS_STATE_OK)
                continue;
            ms_str ans = answer_of(tu);
            char why[160];
            const char *ap = ans.len ? apology_in(ans) : NULL;
            long fb = fallback_in(tu);
            ms_str span = {NULL, 0};
            char path[64] = "";
            if (fb >= 0) {
                struct span_err fe;
                read_span_err(&tu->trace->spans[fb], &fe);
                char d[120];
                describe(&fe, d, sizeof d);
                sfmt(why, sizeof why, "a fallback model answered after %.*s failed (%s)",
                         (int)tu->trace->spans[fb].name.len, tu->trace->spans[fb].name.ptr, d);
                span = span_id_of(&tu->trace->spans[fb]);
                evidence_path(&fe, (size_t)fb, path, sizeof path);
            } else if (is_site(sites, n_sites, t)) {
                continue; /* its own error explains it, and is reported */
            } else if (ap) {
                sfmt(why, sizeof why, "the answer reports a failure (\"%s\")", ap);
            } else if (before >= 80 && ans.len > 0 && ans.len * 3 < before &&
                       asks(user_of(tu))) {
                sfmt(why, sizeof why, "the answer is %zu bytes, under a third of the %zu-byte mean before",
                         ans.len, before);
            } else {
                continue;
            }
            if (msi_rule_selected(c->o, "error.degraded")) {
                if (!msi_finding_add(c, "error.degraded", MS_SEV_WARN, tu, span,
                                     path[0] ? msi_s(path) : (ms_str){NULL, 0}, ans,
                                     "answer degraded after the error at turn %lld (%s): %s",
                                     (long long)s->turns[e].index, sites[k].what, why))
                    return MS_E_NOMEM;
            }
            done_until = t + 1;
            break;
        }
    }
    return MS_OK;
}

/* ---- tools that answer with an error -------------------------------------- */

static ms_str trim(ms_str s)
{
    while (s.len && (*s.ptr == ' ' || *s.ptr == '\n' || *s.ptr == '\t' || *s.ptr == '\r' ||
                     *s.ptr == '"')) {
        s.ptr++;
        s.len--;
    }
    return s;
}

static bool starts_with(ms_str s, const char *p)
{
    size_t n = strlen(p);
    return s.len >= n && memcmp(s.ptr, p, n) == 0;
}

/* A tool result that is an error report: {"error": <something>} as the
 * first key, or text that starts like one ("Error: ...", a traceback). */
static bool result_is_error(ms_str r)
{
    r = trim(r);
    if (!r.len)
        return false;
    if (*r.ptr == '{') {
        ms_str k = {r.ptr + 1, r.len - 1};
        k = trim((ms_str){k.ptr, k.len});
        if (!starts_with(k, "error\"") && !starts_with(k, "Error\""))
            return false;
        k.ptr += 6;
        k.len -= 6;
        while (k.len && (*k.ptr == ' ' || *k.ptr == ':')) {
            k.ptr++;
            k.len--;
        }
        bool zero = k.len && k.ptr[0] == '0' && (k.len == 1 || k.ptr[1] < '0' || k.ptr[1] > '9');
        return !(starts_with(k, "null") || starts_with(k, "false") || starts_with(k, "\"\"") ||
                 starts_with(k, "{}") || starts_with(k, "[]") || k.len == 0 || zero);
    }
    static const char *const heads[] = {"Error:", "ERROR:", "error:", "Exception:",
                                        "Traceback (most recent call last)"};
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++)
        if (starts_with(r, heads[i]))
            return true;
    return false;
}

static ms_code tool_error_result(struct msi_ctx *c, const ms_turn *tu, ms_str name, ms_str span,
                                 long si, ms_str result, struct err_site *site, bool *has_site)
{
    char path[80] = "";
    if (si >= 0)
        sfmt(path, sizeof path, "spans[%ld].attributes.\"mlflow.spanOutputs\"", si);
    if (msi_rule_selected(c->o, "error.tool") &&
        !msi_finding_add(c, "error.tool", MS_SEV_WARN, tu, span,
                         path[0] ? msi_s(path) : (ms_str){NULL, 0}, result,
                         "tool %.*s returned an error: %.*s", (int)name.len, name.ptr,
                         (int)msx_utf8_cut(result.ptr, result.len, 120), result.ptr))
        return MS_E_NOMEM;
    if (!*has_site) {
        *has_site = true;
        sfmt(site->what, sizeof site->what, "tool %.*s returned an error", (int)name.len,
             name.ptr);
    }
    return MS_OK;
}

/* ---- per turn -------------------------------------------------------------- */

static ms_code turn_errors(struct msi_ctx *c, const ms_turn *tu, struct err_site *site,
                           bool *has_site)
{
    const ms_trace *tr = tu->trace;
    *has_site = false;
    struct span_err *es = msx_arena_calloc(c->tmp, tr->n_spans ? tr->n_spans : 1, sizeof *es);
    if (!es)
        return MS_E_NOMEM;
    struct msi_span_index ix;
    if (!msi_span_index_build(c->tmp, tr, &ix))
        return MS_E_NOMEM;
    for (size_t i = 0; i < tr->n_spans; i++)
        read_span_err(&tr->spans[i], &es[i]);
    for (size_t k = 0; k < tu->n_tools; k++) {
        long si = msi_span_find(&ix, tu->tools[k].span_id);
        if (si >= 0)
            es[si].is_tool = true;
    }
    mark_propagated(tr, ix.par, es);

    /* The span that made the trace fail: the raiser of the root's
     * exception, else the last raiser to start. */
    long origin = -1;
    if (tr->info.state == MS_STATE_ERROR) {
        long root = -1;
        for (size_t i = 0; i < tr->n_spans; i++)
            if (!tr->spans[i].parent_id[0]) {
                root = (long)i;
                break;
            }
        for (size_t i = 0; i < tr->n_spans; i++) {
            if (!es[i].failed || es[i].propagated)
                continue;
            if (root >= 0 && es[root].failed && (size_t)root != i &&
                !same_error(&es[root], &es[i]))
                continue;
            if (origin < 0 || tr->spans[i].start_ns >= tr->spans[origin].start_ns)
                origin = (long)i;
        }
        if (origin < 0)
            for (size_t i = 0; i < tr->n_spans; i++)
                if (es[i].failed && !es[i].propagated &&
                    (origin < 0 || tr->spans[i].start_ns >= tr->spans[origin].start_ns))
                    origin = (long)i;

        char d[200] = "", frame[200] = "", path[64] = "", msg[480];
        ms_str span = {NULL, 0}, excerpt = {NULL, 0};
        if (origin >= 0) {
            const ms_span *sp = &tr->spans[origin];
            describe(&es[origin], d, sizeof d);
            evidence_path(&es[origin], (size_t)origin, path, sizeof path);
            span = span_id_of(sp);
            excerpt = es[origin].msg.len ? es[origin].msg : es[origin].status;
            if (es[origin].stack.len && innermost_frame(es[origin].stack, frame, sizeof frame))
                sfmt(msg, sizeof msg, "turn failed: %s raised in span %.*s at %s", d,
                         (int)sp->name.len, sp->name.ptr, frame);
            else
                sfmt(msg, sizeof msg, "turn failed: %s in span %.*s", d, (int)sp->name.len,
                         sp->name.ptr);
        } else {
            sfmt(msg, sizeof msg, "turn failed: trace state ERROR with no failing span recorded");
            sfmt(path, sizeof path, "info.state");
        }
        if (msi_rule_selected(c->o, "error.trace") &&
            !msi_finding_add(c, "error.trace", MS_SEV_ERROR, tu, span, msi_s(path), excerpt, "%s",
                             msg))
            return MS_E_NOMEM;
        *has_site = true;
        sfmt(site->what, sizeof site->what, "%s", origin >= 0 ? d : "trace ERROR");
    }

    for (size_t i = 0; i < tr->n_spans; i++) {
        if (!es[i].failed || es[i].propagated || (long)i == origin)
            continue;
        const ms_span *sp = &tr->spans[i];
        char d[200], frame[200] = "", path[64], at[220] = "";
        describe(&es[i], d, sizeof d);
        evidence_path(&es[i], i, path, sizeof path);
        if (es[i].stack.len && innermost_frame(es[i].stack, frame, sizeof frame))
            sfmt(at, sizeof at, " at %s", frame);
        ms_str excerpt = es[i].msg.len ? es[i].msg : es[i].status;
        const char *rule = es[i].is_tool ? "error.tool" : "error.span";
        if (msi_rule_selected(c->o, rule)) {
            ms_finding *f;
            if (es[i].is_tool)
                f = msi_finding_add(c, rule, MS_SEV_WARN, tu, span_id_of(sp), msi_s(path), excerpt,
                                    "tool %.*s failed: %s%s", (int)sp->name.len, sp->name.ptr, d,
                                    at);
            else
                f = msi_finding_add(c, rule, MS_SEV_WARN, tu, span_id_of(sp), msi_s(path), excerpt,
                                    "span %.*s failed: %s%s%s", (int)sp->name.len, sp->name.ptr, d,
                                    at,
                                    tr->info.state == MS_STATE_ERROR ? ""
                                                                     : " (caught; the turn went on)");
            if (!f)
                return MS_E_NOMEM;
        }
        if (!*has_site) {
            *has_site = true;
            sfmt(site->what, sizeof site->what, "%.120s in %.*s", d,
                     (int)sp->name.len, sp->name.ptr);
        }
    }

    /* tool calls the transcript saw fail without a span to show it */
    for (size_t k = 0; k < tu->n_tools; k++) {
        const ms_tool_call *tc = &tu->tools[k];
        if (!tc->failed || tc->span_id.len)
            continue;
        if (msi_rule_selected(c->o, "error.tool") &&
            !msi_finding_add(c, "error.tool", MS_SEV_WARN, tu, (ms_str){NULL, 0}, (ms_str){NULL, 0},
                             tc->error.len ? tc->error : tc->result, "tool %.*s failed%s%.*s",
                             (int)tc->name.len, tc->name.ptr, tc->error.len ? ": " : "",
                             (int)tc->error.len, tc->error.ptr))
            return MS_E_NOMEM;
        if (!*has_site) {
            *has_site = true;
            sfmt(site->what, sizeof site->what, "tool %.*s failed", (int)tc->name.len,
                     tc->name.ptr);
        }
    }

    /* tool calls that ended OK but answered with an error */
    if (tu->n_tools) {
        for (size_t k = 0; k < tu->n_tools; k++) {
            const ms_tool_call *tc = &tu->tools[k];
            if (tc->failed || !result_is_error(tc->result))
                continue;
            long si = msi_span_find(&ix, tc->span_id);
            if (si >= 0 && es[si].failed)
                continue;
            ms_code rc = tool_error_result(c, tu, tc->name, tc->span_id, si, tc->result, site,
                                           has_site);
            if (rc != MS_OK)
                return rc;
        }
    } else {
        for (size_t i = 0; i < tr->n_spans; i++) {
            const ms_span *sp = &tr->spans[i];
            if (es[i].failed || !es[i].is_tool)
                continue;
            const ms_attr *at = ms_span_attr(sp, "mlflow.spanOutputs");
            if (!at)
                continue;
            char *txt = NULL;
            size_t len = 0;
            bool is_json = false;
            if (ms_attr_decode(at, &txt, &len, &is_json) != MS_OK)
                continue;
            ms_str res = {txt, len};
            ms_code rc = MS_OK;
            if (result_is_error(res))
                rc = tool_error_result(c, tu, sp->name, span_id_of(sp), (long)i, res, site,
                                       has_site);
            free(txt);
            if (rc != MS_OK)
                return rc;
        }
    }
    return MS_OK;
}

static ms_code run_errors(struct msi_ctx *c)
{
    const ms_session *s = c->s;
    if (!s || s->n_turns == 0)
        return MS_OK;
    struct err_site *sites = msx_arena_calloc(c->tmp, s->n_turns, sizeof *sites);
    if (!sites)
        return MS_E_NOMEM;
    size_t n_sites = 0;
    for (size_t t = 0; t < s->n_turns; t++) {
        const ms_turn *tu = &s->turns[t];
        if (!tu->trace)
            continue;
        bool has = false;
        ms_code rc = turn_errors(c, tu, &sites[n_sites], &has);
        if (rc != MS_OK)
            return rc;
        if (has)
            sites[n_sites++].turn = t;
    }
    return check_degraded(c, sites, n_sites);
}

const struct msi_analyzer msi_analyzer_errors = {"errors", rules, sizeof rules / sizeof rules[0],
                                                 run_errors};
