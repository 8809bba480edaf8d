/* SPDX-License-Identifier: MIT
 *
 * integrity.c - is the conversation history an application sends with each
 * turn the conversation that actually happened? For sessions whose turns
 * carry history (the input repeats earlier user messages or answers), turn
 * k's history is compared with the user messages and answers of ALL turns
 * 1..k-1 - not only the previous turn, which is all the transcript reader
 * compares - so a cache eviction that resends [system, user] after four
 * turns is seen, and so is a history rebuilt from the wrong conversation.
 *
 * Matching: exact first (whitespace collapsed; a truncated preview matches
 * as a prefix), then a copy of a message already matched (a duplicate),
 * then word overlap >= ALTERED_MIN_PCT with a message not matched yet (an
 * altered message); what is left over is checked for identifiers (order
 * numbers, ids) that the session never mentioned before (foreign content).
 * Each problem is reported once, at the first turn that shows it. The
 * system prompt is compared turn by turn with digits masked, so a prompt
 * that carries today's date is not a change.
 *
 * Depends on the transcript (session.h) and the findings contract only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze_int.h"
#include "json/json.h"

static const ms_rule_info rules[] = {
    {"integrity.history_dropped", "integrity", MS_SEV_ERROR,
     "earlier messages are missing from the history a turn sends"},
    {"integrity.history_changed", "integrity", MS_SEV_ERROR,
     "an earlier message is sent altered in a later turn's history"},
    {"integrity.history_reordered", "integrity", MS_SEV_WARN,
     "a turn's history has earlier messages out of order"},
    {"integrity.history_duplicated", "integrity", MS_SEV_WARN,
     "a turn's history has an earlier message twice"},
    {"integrity.system_prompt_changed", "integrity", MS_SEV_WARN,
     "the system prompt changes in the middle of the session"},
    {"integrity.foreign_content", "integrity", MS_SEV_ERROR,
     "a turn's history holds content from outside the session (an id it never mentioned)"},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

#define ALTERED_MIN_PCT 50 /* word overlap for "the same message, altered" */
#define PREFIX_MIN 20      /* bytes a truncated text needs to match as a prefix */
#define WINDOW_MIN 2       /* messages a sliding window keeps at least */
#define QUOTE_MAX 80       /* bytes of a message quoted in a finding */
#define LLM_CALLS_MAX 8    /* LLM calls of a turn looked at for its history */

/* ---- text -------------------------------------------------------------- */

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r';
}

static bool is_alnum(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static bool nonblank(ms_str s)
{
    for (size_t i = 0; s.ptr && i < s.len; i++)
        if (!is_space(s.ptr[i]))
            return true;
    return false;
}

/* A cursor over text with whitespace runs collapsed to one space and
 * leading and trailing whitespace gone; with mask, a digit run reads as
 * one '#'. cur_next() returns -1 at the end. */
struct cur {
    const char *p;
    size_t n, i;
    bool mask;
};

static void cur_init(struct cur *c, ms_str s, bool mask)
{
    c->p = s.ptr;
    c->n = s.ptr ? s.len : 0;
    c->i = 0;
    c->mask = mask;
    while (c->i < c->n && is_space(c->p[c->i]))
        c->i++;
}

static int cur_next(struct cur *c)
{
    if (c->i >= c->n)
        return -1;
    char ch = c->p[c->i];
    if (is_space(ch)) {
        while (c->i < c->n && is_space(c->p[c->i]))
            c->i++;
        return c->i >= c->n ? -1 : ' ';
    }
    c->i++;
    if (c->mask && is_digit(ch)) {
        while (c->i < c->n && is_digit(c->p[c->i]))
            c->i++;
        return '#';
    }
    return (unsigned char)ch;
}

/* Compares a and b through cursors: 0 if equal; else 1 and *at = the byte
 * of b where they first differ. With prefix, a shorter a that is a prefix
 * of b is equal. */
static int cmp_text(ms_str a, ms_str b, bool mask, bool prefix, size_t *at)
{
    struct cur x, y;
    cur_init(&x, a, mask);
    cur_init(&y, b, mask);
    size_t n = 0;
    for (;;) {
        size_t ypos = y.i;
        int cx = cur_next(&x), cy = cur_next(&y);
        if (cx == -1 && (cy == -1 || (prefix && n >= PREFIX_MIN)))
            return 0;
        if (cx != cy) {
            if (at)
                *at = ypos;
            return 1;
        }
        n++;
    }
}

/* Text without a trailing "..." or U+2026 (how previews end). */
static ms_str strip_ellipsis(ms_str s)
{
    while (s.len && is_space(s.ptr[s.len - 1]))
        s.len--;
    if (s.len >= 3 && memcmp(s.ptr + s.len - 3, "...", 3) == 0)
        s.len -= 3;
    else if (s.len >= 3 && memcmp(s.ptr + s.len - 3, "\xe2\x80\xa6", 3) == 0)
        s.len -= 3;
    return s;
}

/* Is s one message, written the same way as e? A truncated side matches
 * as a prefix of the other. */
static bool same_text(ms_str a, bool a_trunc, ms_str b, bool b_trunc)
{
    if (!a_trunc && !b_trunc)
        return cmp_text(a, b, false, false, NULL) == 0;
    if (a_trunc)
        return cmp_text(strip_ellipsis(a), b, false, true, NULL) == 0;
    return cmp_text(strip_ellipsis(b), a, false, true, NULL) == 0;
}

/* Distinct lower-cased words (alphanumeric runs of 2+ bytes; other bytes
 * separate), for the overlap of two messages. */
struct words {
    char **w;
    size_t n;
};

static bool words_of(struct msx_arena *a, ms_str s, struct words *out)
{
    out->n = 0;
    out->w = msx_arena_alloc(a, (s.len / 2 + 1) * sizeof *out->w);
    if (!out->w)
        return false;
    size_t i = 0;
    while (s.ptr && i < s.len) {
        if (!is_alnum((unsigned char)s.ptr[i]) && (unsigned char)s.ptr[i] < 0x80) {
            i++;
            continue;
        }
        size_t st = i;
        while (i < s.len && (is_alnum((unsigned char)s.ptr[i]) || (unsigned char)s.ptr[i] >= 0x80))
            i++;
        if (i - st < 2)
            continue;
        char *w = msx_arena_strndup(a, s.ptr + st, i - st);
        if (!w)
            return false;
        for (char *p = w; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p + 32);
        bool dup = false;
        for (size_t j = 0; j < out->n && !dup; j++)
            dup = strcmp(out->w[j], w) == 0;
        if (!dup)
            out->w[out->n++] = w;
    }
    return true;
}

static int overlap_pct(const struct words *a, const struct words *b)
{
    if (a->n == 0 || b->n == 0)
        return 0;
    size_t both = 0;
    for (size_t i = 0; i < a->n; i++)
        for (size_t j = 0; j < b->n; j++)
            if (strcmp(a->w[i], b->w[j]) == 0) {
                both++;
                break;
            }
    return (int)(both * 100 / (a->n + b->n - both));
}

/* Identifiers: runs of letters, digits and inner '-' with 3+ digits and a
 * letter ("A-1077", "1Z1077X"), or 5+ digits without a dash ("88231907").
 * Not dates ("2026-01-28"): tools make those up freely. */
static bool is_ident(const char *p, size_t n)
{
    size_t digits = 0, letters = 0, dashes = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_digit(p[i]))
            digits++;
        else if (p[i] == '-')
            dashes++;
        else
            letters++;
    }
    return digits >= 3 && (letters > 0 || (digits >= 5 && dashes == 0));
}

/* The next identifier in s from *i on; false at the end. */
static bool next_ident(ms_str s, size_t *i, ms_str *id)
{
    while (s.ptr && *i < s.len) {
        size_t st = *i;
        if (!is_alnum((unsigned char)s.ptr[st])) {
            (*i)++;
            continue;
        }
        size_t e = st;
        while (e < s.len && (is_alnum((unsigned char)s.ptr[e]) ||
                             (s.ptr[e] == '-' && e + 1 < s.len &&
                              is_alnum((unsigned char)s.ptr[e + 1]))))
            e++;
        *i = e;
        if (is_ident(s.ptr + st, e - st)) {
            *id = (ms_str){s.ptr + st, e - st};
            return true;
        }
    }
    return false;
}

/* Does hay contain needle as a word (case-insensitive ASCII)? */
static bool mentions(ms_str hay, ms_str needle)
{
    if (!hay.ptr || needle.len == 0 || hay.len < needle.len)
        return false;
    for (size_t i = 0; i + needle.len <= hay.len; i++) {
        if (i > 0 && is_alnum((unsigned char)hay.ptr[i - 1]))
            continue;
        size_t j = 0;
        while (j < needle.len) {
            char x = hay.ptr[i + j], y = needle.ptr[j];
            if (x >= 'A' && x <= 'Z')
                x = (char)(x + 32);
            if (y >= 'A' && y <= 'Z')
                y = (char)(y + 32);
            if (x != y)
                break;
            j++;
        }
        if (j == needle.len &&
            (i + j == hay.len || !is_alnum((unsigned char)hay.ptr[i + j])))
            return true;
    }
    return false;
}

/* s as a one-line quote of at most max bytes (UTF-8 safe, "..." if cut). */
static const char *quote(struct msx_arena *a, ms_str s, size_t max)
{
    char *q = msx_arena_alloc(a, max + 4);
    if (!q)
        return "";
    struct cur c;
    cur_init(&c, s, false);
    size_t m = 0;
    int ch;
    while (m < max && (ch = cur_next(&c)) != -1)
        q[m++] = (char)ch;
    if (m == max && cur_next(&c) != -1) {
        while (m > 0 && ((unsigned char)q[m - 1] & 0xC0) == 0x80)
            m--;
        if (m > 0 && ((unsigned char)q[m - 1] & 0x80))
            m--; /* the lead byte of the cut sequence (or a lone one) */
        memcpy(q + m, "...", 3);
        m += 3;
    }
    q[m] = '\0';
    return q;
}

/* Where to start quoting two texts that differ: the start of the word
 * DIFF_CONTEXT bytes before their first difference (0 if that is near the
 * start). */
#define DIFF_CONTEXT 20
static size_t diff_from(ms_str a, ms_str b)
{
    size_t p = 0;
    while (p < a.len && p < b.len && a.ptr[p] == b.ptr[p])
        p++;
    if (p <= DIFF_CONTEXT)
        return 0;
    size_t st = p - DIFF_CONTEXT;
    while (st < p && !is_space(a.ptr[st]))
        st++;
    while (st < p && is_space(a.ptr[st]))
        st++;
    return st;
}

/* "1-4", "2, 4", "1-3, 5" from ascending turn numbers. */
static void ranges(char *buf, size_t cap, const int64_t *t, size_t n)
{
    size_t m = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && m < cap;) {
        size_t j = i;
        while (j + 1 < n && t[j + 1] <= t[j] + 1)
            j++;
        int w;
        if (t[j] == t[i])
            w = snprintf(buf + m, cap - m, "%s%lld", m ? ", " : "", (long long)t[i]);
        else
            w = snprintf(buf + m, cap - m, "%s%lld-%lld", m ? ", " : "", (long long)t[i],
                         (long long)t[j]);
        if (w < 0)
            break;
        m += (size_t)w;
        i = j + 1;
    }
}

/* Words that say a message summarises the conversation (an app trimming
 * its history with a summary). */
static const char *const summary_words[] = {
    "summary", "summarised", "summarized", "conversation so far", "earlier in this conversation",
    "previous conversation", "Zusammenfassung", "r\303\251sum\303\251", "resumen",
};

static bool mentions_summary(ms_str text)
{
    for (size_t w = 0; w < N_OF(summary_words); w++)
        if (mentions(text, msi_s(summary_words[w])))
            return true;
    return false;
}

/* ---- the transcript ---------------------------------------------------- */

/* One user message or answer as it happened: what later histories should
 * repeat. */
struct said {
    ms_role role;
    ms_str text;
    bool trunc;
    size_t turn;     /* index of the turn it belongs to */
    bool optional;   /* the user message of a failed turn: apps often drop it */
    struct words w;
    bool gone;       /* reported (or accepted) as missing */
    bool altered;    /* reported as altered */
    bool dup;        /* reported as duplicated */
};

static const char *role_name(ms_role r)
{
    return r == MS_ROLE_USER ? "user message" : r == MS_ROLE_ASSISTANT ? "answer" : "message";
}

static const char *role_article(ms_role r)
{
    return r == MS_ROLE_ASSISTANT ? "an" : "a";
}

static bool readable(const ms_turn *t)
{
    return t->n_input > 0 && t->io_source != MS_IO_PREVIEW && t->io_source != MS_IO_NONE;
}

/* Index of the user message of the turn (its last user message), or n. */
static size_t user_at(const ms_turn *t)
{
    for (size_t i = t->n_input; i > 0; i--)
        if (t->input[i - 1].role == MS_ROLE_USER && nonblank(t->input[i - 1].text))
            return i - 1;
    return t->n_input;
}

static const ms_message *answer_of(const ms_turn *t)
{
    for (size_t i = t->n_output; i > 0; i--)
        if ((t->output[i - 1].role == MS_ROLE_ASSISTANT ||
             t->output[i - 1].role == MS_ROLE_OTHER) &&
            nonblank(t->output[i - 1].text))
            return &t->output[i - 1];
    return NULL;
}

static bool failed(const ms_turn *t)
{
    return !t->trace || t->trace->info.state != MS_STATE_OK;
}

/* A message of the history: user or answer with text. */
static bool in_history(const ms_message *m)
{
    return (m->role == MS_ROLE_USER || m->role == MS_ROLE_ASSISTANT) && nonblank(m->text);
}

static bool is_llm_span(const ms_span *sp)
{
    ms_str ty = sp->span_type;
    return ty.ptr && ((ty.len == 10 && memcmp(ty.ptr, "CHAT_MODEL", 10) == 0) ||
                      (ty.len == 3 && memcmp(ty.ptr, "LLM", 3) == 0));
}

/* The text of a message's content: a string, or the first text part. */
static ms_str content_text(msx_json c)
{
    if (msx_json_type(c) == MSX_JSON_STRING)
        return msx_json_str(c);
    if (msx_json_type(c) == MSX_JSON_ARRAY) {
        struct msx_json_iter it = msx_json_iter_init(c);
        ms_str key;
        msx_json part;
        while (msx_json_next(&it, &key, &part)) {
            ms_str txt = msx_json_str(msx_json_get(part, "text"));
            if (txt.ptr)
                return txt;
        }
    }
    return (ms_str){NULL, 0};
}

/* The n-th LLM span of the turn by start time (then by position), or
 * NULL. */
static const ms_span *llm_span(const ms_turn *t, size_t nth)
{
    const ms_trace *tr = t->trace;
    const ms_span *prev = NULL;
    size_t prev_i = 0;
    for (size_t r = 0; r <= nth; r++) {
        const ms_span *best = NULL;
        size_t best_i = 0;
        for (size_t i = 0; tr && i < tr->n_spans; i++) {
            const ms_span *sp = &tr->spans[i];
            if (!is_llm_span(sp))
                continue;
            if (prev && (sp->start_ns < prev->start_ns ||
                         (sp->start_ns == prev->start_ns && i <= prev_i)))
                continue; /* at or before the previous one */
            if (!best || sp->start_ns < best->start_ns) {
                best = sp;
                best_i = i;
            }
        }
        if (!best)
            return NULL;
        prev = best;
        prev_i = best_i;
    }
    return prev;
}

static bool span_messages(const ms_span *first, msx_json_parser *jp, struct msx_arena *a,
                          ms_message **out, size_t *n, const ms_span **span);

/* first's mlflow.spanInputs as a message list or {"messages": [...]},
 * texts copied to arena a. *n = 0 when there is none. False only when out
 * of memory. */
static bool span_messages(const ms_span *first, msx_json_parser *jp, struct msx_arena *a,
                          ms_message **out, size_t *n, const ms_span **span)
{
    *out = NULL;
    *n = 0;
    *span = NULL;
    const ms_attr *in = first ? ms_span_attr(first, "mlflow.spanInputs") : NULL;
    if (!in)
        return true;
    char *txt = NULL;
    size_t len = 0;
    bool is_json = false;
    if (ms_attr_decode(in, &txt, &len, &is_json) != MS_OK || !txt) {
        free(txt);
        return true;
    }
    msx_json root;
    struct ms_error err;
    bool ok = true;
    if (is_json && msx_json_parse(jp, txt, len, false, &root, &err) == MS_OK) {
        msx_json list = msx_json_type(root) == MSX_JSON_ARRAY ? root
                                                              : msx_json_get(root, "messages");
        size_t cnt = msx_json_type(list) == MSX_JSON_ARRAY ? msx_json_count(list) : 0;
        ms_message *v = cnt ? msx_arena_calloc(a, cnt, sizeof *v) : NULL;
        ok = cnt == 0 || v != NULL;
        struct msx_json_iter it = msx_json_iter_init(list);
        ms_str key;
        msx_json m;
        while (ok && cnt && *n < cnt && msx_json_next(&it, &key, &m)) {
            msx_json r = msx_json_get(m, "role");
            ms_role role = MS_ROLE_OTHER;
            if (msx_json_str_eq(r, "system") || msx_json_str_eq(r, "developer"))
                role = MS_ROLE_SYSTEM;
            else if (msx_json_str_eq(r, "user") || msx_json_str_eq(r, "human"))
                role = MS_ROLE_USER;
            else if (msx_json_str_eq(r, "assistant") || msx_json_str_eq(r, "ai") ||
                     msx_json_str_eq(r, "model"))
                role = MS_ROLE_ASSISTANT;
            else if (msx_json_str_eq(r, "tool") || msx_json_str_eq(r, "function"))
                role = MS_ROLE_TOOL;
            ms_str c = content_text(msx_json_get(m, "content"));
            char *copy = msx_arena_strndup(a, c.ptr ? c.ptr : "", c.len);
            if (!copy) {
                ok = false;
                break;
            }
            v[(*n)++] = (ms_message){role, {copy, c.len}, {NULL, 0}, false};
        }
        *out = v;
        *span = first;
    }
    free(txt);
    return ok;
}

/* ---- the analysis ------------------------------------------------------ */

struct state {
    struct msi_ctx *c;
    struct msx_arena *a;
    struct said *said;     /* every user message and answer, in order */
    size_t n_said;
    bool carry[5];         /* by role: histories repeat such messages */
    bool window_reported;
    bool reorder_reported;
    ms_str *foreign;       /* identifiers reported as foreign */
    size_t n_foreign, cap_foreign;
    /* the histories are read from each turn's first LLM call: the turns'
     * inputs never carry one (an agent keeping the history server-side) */
    bool via_llm;
    msx_json_parser *jp; /* made on first use */
    /* work arrays of check_turn() sized by every message said, so a long
     * session needs no memory per turn */
    bool *used;
    int64_t *turns;
};

/* What a turn sent, as read here: its input, or its first LLM call's
 * messages. */
struct sent {
    const ms_message *m;
    size_t n;
    size_t u;   /* index of the user message; n if none */
    ms_str span; /* where it was read */
};

static size_t last_user(const ms_message *m, size_t n)
{
    for (size_t i = n; i > 0; i--)
        if (m[i - 1].role == MS_ROLE_USER && nonblank(m[i - 1].text))
            return i - 1;
    return n;
}

/* What turn t sent (copies in arena a, which the caller releases). x->n
 * is 0 when nothing can be read. False only when out of memory. */
static bool sent_of(struct state *st, const ms_turn *t, struct msx_arena *a, struct sent *x)
{
    *x = (struct sent){NULL, 0, 0, t->io_span_id};
    if (!st->via_llm) {
        if (readable(t)) {
            x->m = t->input;
            x->n = t->n_input;
            x->u = user_at(t);
        }
        return true;
    }
    if (!st->jp && !(st->jp = msx_json_parser_new()))
        return false;
    /* the first call; if it carries no history, a later one that does
     * (a guard or router call may come first), the one with most messages */
    for (size_t nth = 0; nth < LLM_CALLS_MAX; nth++) {
        const ms_span *cand = llm_span(t, nth);
        if (!cand)
            break;
        ms_message *m;
        size_t n;
        const ms_span *sp;
        if (!span_messages(cand, st->jp, a, &m, &n, &sp))
            return false;
        size_t u = last_user(m, n);
        if (n == 0 || u == n)
            continue;
        if (nth == 0 || n > x->n) {
            *x = (struct sent){m, n, u, {sp->span_id, strlen(sp->span_id)}};
        }
        bool hist = false;
        for (size_t i = 0; i < u && !hist; i++)
            hist = in_history(&m[i]);
        if (nth == 0 && hist)
            break;
    }
    return true;
}

#if defined(__GNUC__)
__attribute__((format(printf, 7, 8)))
#endif
static ms_code add(struct state *st, const char *rule, ms_severity sev, const ms_turn *t,
                   ms_str span, ms_str excerpt, const char *fmt, ...)
{
    if (!msi_rule_selected(st->c->o, rule))
        return MS_OK;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* the JSON path of the evidence: the inputs of the span read */
    char path[64];
    ms_str p = {NULL, 0};
    for (size_t i = 0; span.len && t->trace && i < t->trace->n_spans; i++) {
        const ms_span *sp = &t->trace->spans[i];
        if (strlen(sp->span_id) == span.len && memcmp(sp->span_id, span.ptr, span.len) == 0) {
            if (ms_span_attr(sp, "mlflow.spanInputs")) {
                int n = snprintf(path, sizeof path, "spans[%zu].attributes.\"mlflow.spanInputs\"",
                                 i);
                p = (ms_str){path, n > 0 ? (size_t)n : 0};
            }
            break;
        }
    }
    ms_finding *f = msi_finding_add(st->c, rule, sev, t, span, p, excerpt, "%s", line);
    return f ? MS_OK : MS_E_NOMEM;
}

/* Did the user send turn k's message again at turn k+1? */
static bool retried(const ms_session *s, size_t k)
{
    if (k + 1 >= s->n_turns)
        return false;
    const ms_turn *a = &s->turns[k], *b = &s->turns[k + 1];
    size_t ua = user_at(a), ub = user_at(b);
    return ua < a->n_input && ub < b->n_input &&
           same_text(a->input[ua].text, a->input[ua].truncated, b->input[ub].text,
                     b->input[ub].truncated);
}

/* The user asking to start afresh: a history dropped right after is
 * wanted. Word-bounded, ASCII case-insensitive. */
static const char *const reset_phrases[] = {
    "start over", "start again", "start from scratch", "new conversation", "new chat",
    "new topic", "/reset", "/new", "/clear", "clear the chat", "clear the history",
    "forget everything", "forget what I said", "neu anfangen", "recommencer", "empezar de nuevo",
};

static bool asks_reset(const ms_turn *t)
{
    size_t u = user_at(t);
    if (u >= t->n_input)
        return false;
    for (size_t i = 0; i < N_OF(reset_phrases); i++)
        if (mentions(t->input[u].text, msi_s(reset_phrases[i])))
            return true;
    return false;
}

/* What every turn said, in order: its user message, then its answer. */
static ms_code collect(struct state *st)
{
    const ms_session *s = st->c->s;
    st->said = msx_arena_calloc(st->a, 2 * s->n_turns + 1, sizeof *st->said);
    if (!st->said)
        return MS_E_NOMEM;
    for (size_t k = 0; k < s->n_turns; k++) {
        const ms_turn *t = &s->turns[k];
        size_t u = user_at(t);
        if (u < t->n_input) {
            struct said *x = &st->said[st->n_said++];
            x->role = MS_ROLE_USER;
            x->text = t->input[u].text;
            x->trunc = t->input[u].truncated;
            x->turn = k;
            /* a failed turn (apps often leave its message out), or one
             * the user sent again right after (a retry, a regenerated
             * answer): apps keep one copy */
            x->optional = failed(t) || retried(s, k);
            if (!words_of(st->a, x->text, &x->w))
                return MS_E_NOMEM;
        }
        const ms_message *ans = answer_of(t);
        if (ans) {
            struct said *x = &st->said[st->n_said++];
            x->optional = retried(s, k);
            x->role = MS_ROLE_ASSISTANT;
            x->text = ans->text;
            x->trunc = ans->truncated;
            x->turn = k;
            if (!words_of(st->a, x->text, &x->w))
                return MS_E_NOMEM;
        }
    }
    return MS_OK;
}

/* Said before turn k: the first index past them. */
static size_t said_before(const struct state *st, size_t k)
{
    size_t e = 0;
    while (e < st->n_said && st->said[e].turn < k)
        e++;
    return e;
}

/* Which roles do histories repeat? A turn's history (the messages before
 * its user message) repeats an earlier user message or answer exactly. */
static ms_code find_carried(struct state *st)
{
    const ms_session *s = st->c->s;
    for (size_t k = 1; k < s->n_turns; k++) {
        struct msx_arena tmp;
        msx_arena_init(&tmp, 0);
        struct sent x;
        if (!sent_of(st, &s->turns[k], &tmp, &x)) {
            msx_arena_release(&tmp);
            return MS_E_NOMEM;
        }
        size_t ne = said_before(st, k);
        for (size_t i = 0; i < x.u && i < x.n; i++) {
            const ms_message *m = &x.m[i];
            if (!in_history(m) || st->carry[m->role])
                continue;
            for (size_t e = 0; e < ne; e++)
                if (st->said[e].role == m->role &&
                    same_text(m->text, m->truncated, st->said[e].text, st->said[e].trunc)) {
                    st->carry[m->role] = true;
                    break;
                }
        }
        msx_arena_release(&tmp);
    }
    return MS_OK;
}

/* Has the session mentioned id before turn k's history was built: any text
 * of turns 1..k-1 (messages, answers, tool calls, documents), or turn k's
 * own system prompt and user message(s), in its input or in x? */
static bool mentioned(const ms_session *s, size_t k, const struct sent *x, ms_str id)
{
    for (size_t i = 0; i < x->n; i++)
        if ((i >= x->u || x->m[i].role == MS_ROLE_SYSTEM) && mentions(x->m[i].text, id))
            return true;
    for (size_t j = 0; j <= k && j < s->n_turns; j++) {
        const ms_turn *t = &s->turns[j];
        size_t u = user_at(t);
        for (size_t i = 0; i < t->n_input; i++) {
            if (j == k && i < u && t->input[i].role != MS_ROLE_SYSTEM)
                continue;
            if (mentions(t->input[i].text, id))
                return true;
        }
        if (j == k)
            break;
        for (size_t i = 0; i < t->n_output; i++)
            if (mentions(t->output[i].text, id))
                return true;
        for (size_t i = 0; i < t->n_tools; i++)
            if (mentions(t->tools[i].arguments, id) || mentions(t->tools[i].result, id))
                return true;
        for (size_t i = 0; i < t->n_docs; i++)
            if (mentions(t->docs[i].text, id) || mentions(t->docs[i].id, id) ||
                mentions(t->docs[i].uri, id))
                return true;
    }
    return false;
}

static bool foreign_known(const struct state *st, ms_str id)
{
    for (size_t i = 0; i < st->n_foreign; i++)
        if (st->foreign[i].len == id.len && mentions(st->foreign[i], id))
            return true;
    return false;
}

static bool foreign_remember(struct state *st, ms_str id)
{
    if (st->n_foreign == st->cap_foreign) {
        size_t cap = st->cap_foreign ? 2 * st->cap_foreign : 8;
        ms_str *v = msx_arena_alloc(st->a, cap * sizeof *v);
        if (!v)
            return false;
        if (st->n_foreign)
            memcpy(v, st->foreign, st->n_foreign * sizeof *v);
        st->foreign = v;
        st->cap_foreign = cap;
    }
    char *copy = msx_arena_strndup(st->a, id.ptr, id.len); /* id may live in a turn's scratch */
    if (!copy)
        return false;
    st->foreign[st->n_foreign++] = (ms_str){copy, id.len};
    return true;
}

/* Was a copy of said[e] sent in its stead: an optional message (a retried
 * turn's) with the same text that matched? */
static bool copy_sent(const struct state *st, const bool *used, size_t ne, size_t e)
{
    for (size_t o = 0; o < ne; o++)
        if (o != e && used[o] && st->said[o].optional && st->said[o].role == st->said[e].role &&
            same_text(st->said[o].text, st->said[o].trunc, st->said[e].text, st->said[e].trunc))
            return true;
    return false;
}

/* Does the history open with a summary of the conversation? */
static bool summarised(const struct sent *x)
{
    for (size_t i = 0; i < x->u && i < x->n; i++)
        if ((x->m[i].role == MS_ROLE_SYSTEM || x->m[i].role == MS_ROLE_ASSISTANT) &&
            mentions_summary(x->m[i].text))
            return true;
    return false;
}

enum { M_NONE = 0, M_EXACT, M_DUP, M_ALTERED };

/* Turn k's history (what x holds before its user message) against what
 * was said in turns 1..k-1. ta: scratch for this turn. */
static ms_code check_sent(struct state *st, size_t k, const struct sent *snt,
                            struct msx_arena *ta)
{
    const ms_session *s = st->c->s;
    const ms_turn *t = &s->turns[k];
    struct msx_arena *a = st->a;
    size_t u = snt->u;
    if (u >= snt->n)
        return MS_OK;
    size_t ne = said_before(st, k);
    if (ne == 0)
        return MS_OK;

    /* the history: messages before the user message */
    const ms_message **h = msx_arena_alloc(ta, (u + 1) * sizeof *h);
    size_t *hm = msx_arena_alloc(ta, (u + 1) * sizeof *hm); /* said index of each */
    int *kind = msx_arena_calloc(ta, u + 1, sizeof *kind);
    if (!h || !hm || !kind)
        return MS_E_NOMEM;
    bool *used = st->used;
    memset(used, 0, ne * sizeof *used);
    size_t nh = 0;
    for (size_t i = 0; i < u; i++)
        if (in_history(&snt->m[i]) && st->carry[snt->m[i].role])
            h[nh++] = &snt->m[i];

    /* exact, then copies of matched ones, then altered ones. The exact
     * search goes on from the last match, then wraps: answers repeat word
     * for word ("Your order A-1077 is in transit"), and each copy belongs
     * to the turn in order. */
    size_t next = 0;
    for (size_t i = 0; i < nh; i++)
        for (size_t j = 0; j < ne; j++) {
            size_t e = (next + j) % ne;
            if (!used[e] && st->said[e].role == h[i]->role &&
                same_text(h[i]->text, h[i]->truncated, st->said[e].text, st->said[e].trunc)) {
                used[e] = true;
                hm[i] = e;
                kind[i] = M_EXACT;
                next = e + 1;
                break;
            }
        }
    for (size_t i = 0; i < nh; i++) {
        if (kind[i] != M_NONE)
            continue;
        for (size_t e = 0; e < ne; e++)
            if (used[e] && st->said[e].role == h[i]->role &&
                same_text(h[i]->text, h[i]->truncated, st->said[e].text, st->said[e].trunc)) {
                hm[i] = e;
                kind[i] = M_DUP;
                break;
            }
    }
    for (size_t i = 0; i < nh; i++) {
        if (kind[i] != M_NONE)
            continue;
        struct words w;
        if (!words_of(a, h[i]->text, &w))
            return MS_E_NOMEM;
        int best = 0;
        size_t be = 0;
        for (size_t e = 0; e < ne; e++) {
            if (used[e] || st->said[e].role != h[i]->role)
                continue;
            int p = overlap_pct(&w, &st->said[e].w);
            if (p > best) {
                best = p;
                be = e;
            }
        }
        if (best >= ALTERED_MIN_PCT) {
            used[be] = true;
            hm[i] = be;
            kind[i] = M_ALTERED;
        }
    }

    ms_code rc = MS_OK;
    char tb[160];

    /* dropped: said before, expected, not sent, not reported yet */
    size_t n_new = 0, n_kept = 0, first_new = ne, last_new = 0, min_kept = ne;
    int64_t *turns = st->turns;
    size_t nt = 0;
    for (size_t e = 0; e < ne; e++) {
        if (used[e]) {
            n_kept++;
            if (e < min_kept)
                min_kept = e;
            continue;
        }
        if (st->said[e].optional || st->said[e].gone || !st->carry[st->said[e].role] ||
            copy_sent(st, used, ne, e))
            continue;
        n_new++;
        if (first_new == ne)
            first_new = e;
        last_new = e;
        int64_t tn = (int64_t)st->said[e].turn + 1;
        if (nt == 0 || turns[nt - 1] != tn)
            turns[nt++] = tn;
    }
    /* the user asked to start afresh at this turn or the one before */
    if (n_new > 0 && (asks_reset(t) || asks_reset(&s->turns[k - 1])))
        n_new = 0;
    if (n_new > 0) {
        ranges(tb, sizeof tb, turns, nt);
        const struct said *x = &st->said[first_new];
        /* a sliding window loses the oldest messages, a few at a time,
         * and keeps at least as many as it just lost */
        bool prefix = last_new < min_kept && n_kept > 0;
        bool summary = prefix && summarised(snt);
        bool window = prefix && ((n_kept >= WINDOW_MIN && n_kept >= n_new) || summary);
        if (window && !st->window_reported) {
            st->window_reported = true;
            rc = add(st, "integrity.history_dropped", MS_SEV_WARN, t, snt->span, x->text,
                     "turn %zu sent %zu messages; the oldest %zu (turn%s %s) are missing while "
                     "the last %zu are kept (%s); first missing: %s of turn %zu \"%s\"",
                     k + 1, snt->n, n_new, nt > 1 ? "s" : "", tb, n_kept,
                     summary ? "summarised" : "a sliding window?", role_name(x->role),
                     x->turn + 1, quote(a, x->text, QUOTE_MAX));
        } else if (!window) {
            rc = add(st, "integrity.history_dropped", MS_SEV_ERROR, t, snt->span, x->text,
                     "turn %zu sent %zu message%s; the %zu message%s of turn%s %s %s missing; "
                     "first missing: %s of turn %zu \"%s\"",
                     k + 1, snt->n, snt->n == 1 ? "" : "s", n_new, n_new == 1 ? "" : "s",
                     nt > 1 ? "s" : "", tb, n_new == 1 ? "is" : "are", role_name(x->role),
                     x->turn + 1, quote(a, x->text, QUOTE_MAX));
        }
        if (rc != MS_OK)
            return rc;
    }
    for (size_t e = 0; e < ne; e++)
        if (!used[e] && !st->said[e].optional && st->carry[st->said[e].role])
            st->said[e].gone = true;

    /* altered: one finding for the turn, naming the first */
    size_t n_alt = 0, first_alt = nh;
    for (size_t i = 0; i < nh; i++)
        if (kind[i] == M_ALTERED && !st->said[hm[i]].altered) {
            if (n_alt++ == 0)
                first_alt = i;
            st->said[hm[i]].altered = true;
        }
    if (n_alt > 0) {
        const struct said *x = &st->said[hm[first_alt]];
        char more[48] = "";
        if (n_alt > 1)
            snprintf(more, sizeof more, " (and %zu more)", n_alt - 1);
        ms_str got = h[first_alt]->text, was = x->text;
        size_t from = diff_from(got, was);
        got.ptr += from;
        got.len -= from;
        was.ptr += from;
        was.len -= from;
        const char *dots = from ? "..." : "";
        rc = add(st, "integrity.history_changed", MS_SEV_ERROR, t, snt->span, h[first_alt]->text,
                 "turn %zu sent the %s of turn %zu altered%s: \"%s%s\" instead of \"%s%s\"",
                 k + 1, role_name(x->role), x->turn + 1, more, dots, quote(a, got, QUOTE_MAX),
                 dots, quote(a, was, QUOTE_MAX));
        if (rc != MS_OK)
            return rc;
    }

    /* duplicated */
    size_t n_dup = 0, first_dup = nh;
    for (size_t i = 0; i < nh; i++)
        if (kind[i] == M_DUP && !st->said[hm[i]].dup) {
            if (n_dup++ == 0)
                first_dup = i;
            st->said[hm[i]].dup = true;
        }
    if (n_dup > 0) {
        const struct said *x = &st->said[hm[first_dup]];
        char more[48] = "";
        if (n_dup > 1)
            snprintf(more, sizeof more, " (and %zu more)", n_dup - 1);
        rc = add(st, "integrity.history_duplicated", MS_SEV_WARN, t, snt->span, x->text,
                 "turn %zu sent the %s of turn %zu twice%s: \"%s\"", k + 1, role_name(x->role),
                 x->turn + 1, more, quote(a, x->text, QUOTE_MAX));
        if (rc != MS_OK)
            return rc;
    }

    /* reordered: the first inversion, once per session */
    if (!st->reorder_reported) {
        size_t prev = nh;
        for (size_t i = 0; i < nh; i++) {
            if (kind[i] != M_EXACT && kind[i] != M_ALTERED)
                continue;
            if (prev < nh && hm[i] < hm[prev]) {
                const struct said *x = &st->said[hm[i]], *y = &st->said[hm[prev]];
                st->reorder_reported = true;
                rc = add(st, "integrity.history_reordered", MS_SEV_WARN, t, snt->span, x->text,
                         "turn %zu sent the %s of turn %zu after the %s of turn %zu: \"%s\"",
                         k + 1, role_name(x->role), x->turn + 1, role_name(y->role), y->turn + 1,
                         quote(a, x->text, QUOTE_MAX));
                break;
            }
            prev = i;
        }
        if (rc != MS_OK)
            return rc;
    }

    /* foreign: what is left, holding an id the session never mentioned.
     * Not when an earlier turn's message of that role went unrecorded:
     * the leftover may be it. */
    bool unrecorded[5] = {false};
    for (size_t j = 0; j < k; j++) {
        unrecorded[MS_ROLE_USER] |= user_at(&s->turns[j]) >= s->turns[j].n_input;
        unrecorded[MS_ROLE_ASSISTANT] |= !failed(&s->turns[j]) && !answer_of(&s->turns[j]);
    }
    for (size_t i = 0; i < nh; i++) {
        if (kind[i] != M_NONE || unrecorded[h[i]->role])
            continue;
        size_t at = 0;
        ms_str id;
        while (next_ident(h[i]->text, &at, &id)) {
            if (foreign_known(st, id) || mentioned(s, k, snt, id))
                continue;
            if (!foreign_remember(st, id))
                return MS_E_NOMEM;
            rc = add(st, "integrity.foreign_content", MS_SEV_ERROR, t, snt->span, h[i]->text,
                     "turn %zu's history holds %s %s with %.*s, which no earlier turn of the "
                     "session mentions: \"%s\"",
                     k + 1, role_article(h[i]->role), role_name(h[i]->role), (int)id.len, id.ptr,
                     quote(a, h[i]->text, QUOTE_MAX));
            if (rc != MS_OK)
                return rc;
            break; /* one per message */
        }
    }
    return MS_OK;
}

static ms_code check_turn(struct state *st, size_t k)
{
    struct msx_arena ta;
    msx_arena_init(&ta, 0);
    struct sent x;
    ms_code rc = sent_of(st, &st->c->s->turns[k], &ta, &x) ? check_sent(st, k, &x, &ta)
                                                             : MS_E_NOMEM;
    msx_arena_release(&ta);
    return rc;
}

/* The first system message of a turn's input. */
static const ms_message *system_of(const ms_turn *t)
{
    for (size_t i = 0; i < t->n_input; i++)
        if (t->input[i].role == MS_ROLE_SYSTEM && nonblank(t->input[i].text))
            return &t->input[i];
    return NULL;
}

/* The system prompt of the turn's main LLM call, when the turn's input
 * has none (apps that add it only when calling the model): its first
 * system message, copied to st->a. {NULL,0} if none; false only when out
 * of memory. */
static bool llm_system(struct state *st, const ms_turn *t, msx_json_parser *jp, ms_str *out,
                       ms_str *span)
{
    *out = (ms_str){NULL, 0};
    *span = (ms_str){NULL, 0};
    struct msx_arena tmp;
    msx_arena_init(&tmp, 0);
    /* the call with the most messages (the main one; a guard or router
     * call has its own prompt), the first on ties */
    ms_message *m = NULL;
    size_t n = 0;
    bool ok = true;
    for (size_t nth = 0; ok && nth < LLM_CALLS_MAX; nth++) {
        const ms_span *cand = llm_span(t, nth), *sp;
        if (!cand)
            break;
        ms_message *cm;
        size_t cn;
        ok = span_messages(cand, jp, &tmp, &cm, &cn, &sp);
        if (ok && cn > n) {
            m = cm;
            n = cn;
            *span = (ms_str){cand->span_id, strlen(cand->span_id)};
        }
    }
    for (size_t i = 0; ok && i < n; i++)
        if (m[i].role == MS_ROLE_SYSTEM) {
            if (nonblank(m[i].text)) {
                char *copy = msx_arena_strndup(st->a, m[i].text.ptr, m[i].text.len);
                ok = copy != NULL;
                if (copy)
                    *out = (ms_str){copy, m[i].text.len};
            }
            break;
        }
    msx_arena_release(&tmp);
    return ok;
}

/* Where the first document the turn retrieved starts inside its prompt
 * (RAG apps paste them into the system prompt), or the prompt's length. */
#define DOC_NEEDLE 40
static size_t doc_cut(ms_str prompt, const ms_turn *t)
{
    size_t cut = prompt.len;
    for (size_t d = 0; d < t->n_docs; d++) {
        ms_str dt = t->docs[d].text;
        while (dt.len && is_space(dt.ptr[0])) {
            dt.ptr++;
            dt.len--;
        }
        size_t n = dt.len < DOC_NEEDLE ? dt.len : DOC_NEEDLE;
        if (n < 8)
            continue;
        for (size_t i = 0; i + n <= cut; i++)
            if (memcmp(prompt.ptr + i, dt.ptr, n) == 0) {
                cut = i;
                break;
            }
    }
    return cut;
}

/* Do two system prompts differ (digits masked)? Retrieved documents pasted
 * into a prompt are not part of it: each prompt is cut where its turn's
 * first document starts, and when one was cut, a prompt that merely goes on
 * where the other ends ("... Context:") is the same prompt. *at: the byte
 * of b where they differ. */
static bool prompt_changed(ms_str a, const ms_turn *ta, ms_str b, const ms_turn *tb, size_t *at)
{
    size_t ca = doc_cut(a, ta), cb = doc_cut(b, tb);
    bool cut = ca < a.len || cb < b.len;
    ms_str ha = {a.ptr, ca}, hb = {b.ptr, cb};
    if (cmp_text(ha, hb, true, false, at) == 0)
        return false;
    if (cut && (cmp_text(ha, hb, true, true, NULL) == 0 || cmp_text(hb, ha, true, true, NULL) == 0))
        return false;
    /* a summary of the conversation appended to the same prompt */
    if (cmp_text(ha, hb, true, true, NULL) == 0 && mentions_summary((ms_str){b.ptr, b.len}))
        return false;
    if (cmp_text(hb, ha, true, true, NULL) == 0 && mentions_summary((ms_str){a.ptr, a.len}))
        return false;
    return true;
}

/* The system prompt against the last turn that sent one: the turn's input
 * system message, else its first LLM call's. */
static ms_code check_system(struct state *st)
{
    const ms_session *s = st->c->s;
    const ms_message *prev = NULL;
    size_t prev_k = 0;
    msx_json_parser *jp = NULL;
    ms_message *llm = msx_arena_calloc(st->a, s->n_turns, sizeof *llm);
    ms_str *spans = msx_arena_calloc(st->a, s->n_turns, sizeof *spans); /* where it was read */
    if (!llm || !spans)
        return MS_E_NOMEM;
    for (size_t k = 0; k < s->n_turns; k++) {
        const ms_turn *t = &s->turns[k];
        const ms_message *sys = readable(t) ? system_of(t) : NULL;
        if (!sys && t->trace && t->trace->n_spans) {
            if (!jp && !(jp = msx_json_parser_new()))
                return MS_E_NOMEM;
            ms_str text;
            if (!llm_system(st, t, jp, &text, &spans[k])) {
                msx_json_parser_free(jp);
                return MS_E_NOMEM;
            }
            if (text.ptr) {
                llm[k] = (ms_message){MS_ROLE_SYSTEM, text, {NULL, 0}, false};
                sys = &llm[k];
            }
        }
        if (!sys)
            continue;
        if (sys != &llm[k])
            spans[k] = t->io_span_id;
        size_t at = 0;
        if (prev && !prev->truncated && !sys->truncated &&
            prompt_changed(prev->text, &s->turns[prev_k], sys->text, t, &at)) {
            size_t w = at; /* quote from the start of the word that differs */
            while (w > 0 && !is_space(sys->text.ptr[w - 1]))
                w--;
            ms_str from = {sys->text.ptr + w, sys->text.len - w};
            ms_code rc = add(st, "integrity.system_prompt_changed", MS_SEV_WARN, t, spans[k],
                             sys->text,
                             "turn %zu's system prompt differs from turn %zu's (%zu -> %zu "
                             "bytes), from byte %zu: \"%s\"",
                             k + 1, prev_k + 1, prev->text.len, sys->text.len, at,
                             quote(st->a, from, QUOTE_MAX));
            if (rc != MS_OK) {
                msx_json_parser_free(jp);
                return rc;
            }
        }
        prev = sys;
        prev_k = k;
    }
    msx_json_parser_free(jp);
    return MS_OK;
}

static ms_code run_histories(struct state *st)
{
    const ms_session *s = st->c->s;
    ms_code rc = collect(st);
    if (rc == MS_OK)
        rc = find_carried(st);
    if (rc == MS_OK && !st->carry[MS_ROLE_USER] && !st->carry[MS_ROLE_ASSISTANT]) {
        /* no input carries history: maybe the model calls do */
        st->via_llm = true;
        rc = find_carried(st);
    }
    if (rc != MS_OK || (!st->carry[MS_ROLE_USER] && !st->carry[MS_ROLE_ASSISTANT]))
        return rc; /* the turns carry no history: nothing to compare */
    st->used = msx_arena_alloc(st->a, (st->n_said + 1) * sizeof *st->used);
    st->turns = msx_arena_alloc(st->a, (st->n_said + 1) * sizeof *st->turns);
    if (!st->used || !st->turns)
        return MS_E_NOMEM;
    for (size_t k = 1; k < s->n_turns && rc == MS_OK; k++)
        rc = check_turn(st, k);
    return rc;
}

static ms_code run_integrity(struct msi_ctx *c)
{
    const ms_session *s = c->s;
    if (!s || s->n_turns == 0)
        return MS_OK;
    struct state st;
    memset(&st, 0, sizeof st);
    st.c = c;
    st.a = c->tmp;
    ms_code rc = check_system(&st);
    if (rc == MS_OK)
        rc = run_histories(&st);
    msx_json_parser_free(st.jp);
    return rc;
}

const struct msi_analyzer msi_analyzer_integrity = {"integrity", rules, N_OF(rules),
                                                    run_integrity};
