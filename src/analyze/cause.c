/* SPDX-License-Identifier: MIT
 *
 * cause.c - the root-cause walk (rule cause.root). It runs last and reads
 * the symptoms the other analyzers found: errors (error.*), failing
 * assessments (assessment.failing), user friction (friction.*), integrity
 * breaks (integrity.*) and context.window. From each symptom it walks back
 * over the earlier turns and names the EARLIEST turn whose content is
 * carried into the symptom, with the evidence at every link:
 *
 *   content   a distinctive token (a number with its unit such as "30
 *             days", an id such as A-1041, a date, a URI, a quoted phrase,
 *             a capitalised name) that the symptom turn's answer or tool
 *             arguments hold, that none of the turn's own inputs hold
 *             (its retrieval, tool results, user message, system prompt)
 *             and that an earlier turn's documents, tool calls or answer
 *             held first. It counts only when it is suspect: the turn's
 *             own inputs say otherwise (same unit, another number, about
 *             the same thing), the user's correction names it, where it
 *             came from is already wrong (an outdated document, a failed
 *             tool call, an answer that was itself a symptom), or the
 *             answer was judged wrong (a correction, a failing assessment)
 *             and the token came from the system, not the user;
 *   document  the symptom turn answers from a document that is outdated
 *             (an older `updated` date than another document on the same
 *             topic, or a failing span-level assessment on its retriever)
 *             and that an earlier turn retrieved first;
 *   structure a history drop (integrity.*history*) or the context window
 *             passed (context.window) at or before the turn that went
 *             wrong, for friction and failing assessments;
 *   own       a symptom with none of these is its own cause; it only joins
 *             a root found for another symptom of its turn or its focus.
 *
 * A turn whose answer repeats a suspect number from an earlier turn while
 * its own retrieval says otherwise is a symptom even when no other
 * analyzer flagged it (so stores without assessments still get the walk).
 *
 * Symptoms sharing a root turn are merged into one cause.root finding whose
 * chain lists the cause first, the turns that carried it on, then the
 * symptoms. A root is told only when something crossed turns; a symptom
 * that is its own cause (an error with nothing carried in) gives no
 * cause.root: its own finding already says everything. Pure
 * function of the session and the earlier findings: no clock, no hashing
 * order, no printing. docs/rules/cause.md has the walk and its limits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze_int.h"
#include "json/json.h"
#include "util/arena.h"

/* Bounds: a runaway turn must not make the walk quadratic in megabytes. */
#define TEXT_MAX ((size_t)64 * 1024) /* bytes of one source that are read */
#define TOKS_MAX 400                 /* tokens kept per source */
#define WORDS_MAX 1500               /* words per text for phrase overlap */
#define SHINGLE 6                    /* words in a row shared = "uses the document" */
#define WHY_MAX 600
#define MEMBERS_MAX 40  /* symptoms told in one chain */
#define CARRIERS_MAX 8  /* turns in between told per symptom */
#define QUOTE_BACK 200  /* turns a quoted phrase is looked for before its symptom */

static const ms_rule_info cause_rules[] = {
    {"cause.root", "cause", MS_SEV_ERROR,
     "the earliest turn whose content (a document, a tool call, an answer) or whose history "
     "break is carried into later symptoms"},
};

/* ---- tokens ------------------------------------------------------------- */

enum tkind { TK_QTY, TK_NUM, TK_ID, TK_DATE, TK_URI, TK_QUOTE, TK_NAME };

struct tok {
    const char *norm; /* lower case, NUL-terminated: "30 day", "a-1041" */
    size_t norm_len;
    enum tkind kind;
    size_t unit;      /* TK_QTY: offset of the unit in norm */
    size_t off, len;  /* the raw bytes in the source text */
};

struct toks {
    struct tok *v;
    size_t n, cap;
};

static bool toks_push(struct msx_arena *a, struct toks *ts, const struct tok *t)
{
    if (ts->n >= TOKS_MAX)
        return true;
    for (size_t i = 0; i < ts->n; i++)
        if (ts->v[i].kind == t->kind && ts->v[i].norm_len == t->norm_len &&
            memcmp(ts->v[i].norm, t->norm, t->norm_len) == 0)
            return true; /* first occurrence kept */
    if (ts->n == ts->cap) {
        size_t cap = ts->cap ? ts->cap * 2 : 16;
        struct tok *v = msx_arena_alloc(a, cap * sizeof *v);
        if (!v)
            return false;
        if (ts->n)
            memcpy(v, ts->v, ts->n * sizeof *v);
        ts->v = v;
        ts->cap = cap;
    }
    ts->v[ts->n++] = *t;
    return true;
}

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static bool is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
static bool is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }
static bool is_alpha(unsigned char c) { return is_upper(c) || is_lower(c); }
static bool is_alnum(unsigned char c) { return is_alpha(c) || is_digit(c); }
static bool is_wordc(unsigned char c) { return is_alnum(c) || c >= 0x80; }
static char lower(char c) { return is_upper((unsigned char)c) ? (char)(c - 'A' + 'a') : c; }

static const char *const stop_words[] = {
    "a", "about", "after", "again", "all", "also", "an", "and", "any", "are", "as", "at",
    "be", "before", "but", "by", "can", "could", "did", "do", "does", "each", "for", "from",
    "had", "has", "have", "he", "her", "here", "his", "how", "i", "if", "in", "into", "is",
    "it", "its", "just", "may", "me", "might", "more", "most", "must", "my", "no", "not",
    "now", "of", "off", "on", "only", "or", "our", "out", "over", "per", "please", "she",
    "should", "since", "so", "some", "such", "than", "thanks", "that", "the", "their", "them",
    "then", "there", "these", "they", "this", "those", "to", "too", "under", "until", "up",
    "very", "via", "was", "we", "were", "what", "when", "where", "which", "who", "why",
    "will", "with", "within", "would", "yes", "you", "your",
};

static bool is_stop(const char *w, size_t n)
{
    char buf[16];
    if (n >= sizeof buf)
        return false;
    for (size_t i = 0; i < n; i++)
        buf[i] = lower(w[i]);
    buf[n] = '\0';
    size_t lo = 0, hi = sizeof stop_words / sizeof stop_words[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int r = strcmp(buf, stop_words[mid]);
        if (r == 0)
            return true;
        if (r < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return false;
}

/* A lower-case copy of p[0..n) with a NUL. */
static char *lower_dup(struct msx_arena *a, const char *p, size_t n)
{
    char *s = msx_arena_alloc(a, n + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++)
        s[i] = lower(p[i]);
    s[n] = '\0';
    return s;
}

/* "<num> <unit>" with the unit lower case and its plural s dropped. */
static bool push_qty(struct msx_arena *a, struct toks *ts, const char *num, size_t nn,
                     const char *unit, size_t un, size_t off, size_t len)
{
    if (un > 3 && lower(unit[un - 1]) == 's' && lower(unit[un - 2]) != 's')
        un--;
    char *s = msx_arena_alloc(a, nn + un + 2);
    if (!s)
        return false;
    memcpy(s, num, nn);
    s[nn] = ' ';
    for (size_t i = 0; i < un; i++)
        s[nn + 1 + i] = lower(unit[i]);
    s[nn + 1 + un] = '\0';
    struct tok t = {s, nn + 1 + un, TK_QTY, nn + 1, off, len};
    return toks_push(a, ts, &t);
}

static bool push_plain(struct msx_arena *a, struct toks *ts, enum tkind kind, const char *p,
                       size_t n, size_t off, size_t len)
{
    char *s = lower_dup(a, p, n);
    if (!s)
        return false;
    struct tok t = {s, n, kind, 0, off, len};
    return toks_push(a, ts, &t);
}

/* Is the word at i the first of a sentence (so its capital says nothing)? */
static bool sentence_start(const char *p, size_t i)
{
    while (i > 0) {
        unsigned char c = (unsigned char)p[i - 1];
        if (c == ' ' || c == '\t' || c == '"' || c == '\'' || c == '(')
            i--;
        else
            return c == '.' || c == '!' || c == '?' || c == ':' || c == '\n' || c == '\r' ||
                   c == '-' || c == '*';
    }
    return true;
}

static bool is_date(const char *w, size_t n)
{
    return n >= 10 && is_digit((unsigned char)w[0]) && is_digit((unsigned char)w[1]) &&
           is_digit((unsigned char)w[2]) && is_digit((unsigned char)w[3]) && w[4] == '-' &&
           is_digit((unsigned char)w[5]) && is_digit((unsigned char)w[6]) && w[7] == '-' &&
           is_digit((unsigned char)w[8]) && is_digit((unsigned char)w[9]);
}

/* The word starting at i: letters, digits and inner - / . _ : ' joiners. */
static size_t word_end(const char *p, size_t n, size_t i)
{
    while (i < n) {
        unsigned char c = (unsigned char)p[i];
        if (is_wordc(c)) {
            i++;
            continue;
        }
        if ((c == '-' || c == '/' || c == '.' || c == '_' || c == ':' || c == '\'') &&
            i + 1 < n && is_alnum((unsigned char)p[i + 1])) {
            i++;
            continue;
        }
        break;
    }
    return i;
}

static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                     "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const month_names[] = {"january", "february", "march",     "april",
                                          "may",     "june",     "july",      "august",
                                          "september", "october", "november", "december"};

/* 1..12 for a month's name or its three-letter abbreviation, else 0. */
static int month_of(const char *w, size_t n)
{
    char b[12];
    if (n < 3 || n >= sizeof b)
        return 0;
    for (size_t i = 0; i < n; i++)
        b[i] = lower(w[i]);
    b[n] = '\0';
    for (int m = 0; m < 12; m++)
        if ((n == 3 && memcmp(b, months[m], 3) == 0) || strcmp(b, month_names[m]) == 0 ||
            (n == 4 && strcmp(b, "sept") == 0 && m == 8))
            return m + 1;
    return 0;
}

/* A day of the month at p[j..]: 1-31 with an optional st/nd/rd/th; sets
 * *end past it. */
static int day_at(const char *p, size_t n, size_t j, size_t *end)
{
    int d = 0;
    size_t k = j;
    while (k < n && k - j < 2 && is_digit((unsigned char)p[k]))
        d = d * 10 + (p[k++] - '0');
    if (k == j || d < 1 || d > 31 || (k < n && is_digit((unsigned char)p[k])))
        return 0;
    if (k + 1 < n && is_alpha((unsigned char)p[k]) && is_alpha((unsigned char)p[k + 1])) {
        char s0 = lower(p[k]), s1 = lower(p[k + 1]);
        if (!((s0 == 's' && s1 == 't') || (s0 == 'n' && s1 == 'd') || (s0 == 'r' && s1 == 'd') ||
              (s0 == 't' && s1 == 'h')))
            return 0;
        k += 2;
    }
    if (k < n && is_alnum((unsigned char)p[k]))
        return 0;
    *end = k;
    return d;
}

/* "January 30th", "Jan 30", "30 January" -> a date without a year,
 * "xxxx-01-30", which matches 2026-01-30. */
static bool push_day(struct msx_arena *a, struct toks *ts, int month, int day, size_t off,
                     size_t len)
{
    char *s = msx_arena_alloc(a, 11);
    if (!s)
        return false;
    snprintf(s, 11, "xxxx-%02d-%02d", month, day);
    struct tok t = {s, 10, TK_DATE, 0, off, len};
    return toks_push(a, ts, &t);
}

static bool classify_word(struct msx_arena *a, struct toks *ts, const char *p, size_t n,
                          size_t i, size_t e)
{
    const char *w = p + i;
    size_t wn = e - i;
    size_t digits = 0, letters = 0;
    for (size_t k = 0; k < wn; k++) {
        if (is_digit((unsigned char)w[k]))
            digits++;
        else if (is_alpha((unsigned char)w[k]))
            letters++;
    }
    int mon = digits == 0 ? month_of(w, wn) : 0;
    if (mon && e + 1 < n && p[e] == ' ') {
        size_t end = 0;
        int day = day_at(p, n, e + 1, &end);
        if (day)
            return push_day(a, ts, mon, day, i, end - i);
    }
    if (digits == 0) {
        /* a capitalised name, not at a sentence start: "Quay Lane" */
        if (wn < 3 || !is_upper((unsigned char)w[0]) || !is_lower((unsigned char)w[1]) ||
            sentence_start(p, i) || is_stop(w, wn))
            return true;
        size_t end = e;
        while (end + 1 < n && p[end] == ' ' && is_upper((unsigned char)p[end + 1])) {
            size_t e2 = word_end(p, n, end + 1);
            if (e2 - (end + 1) < 2 || !is_lower((unsigned char)p[end + 2]))
                break;
            end = e2;
        }
        return push_plain(a, ts, TK_NAME, w, end - i, i, end - i);
    }
    if (is_date(w, wn))
        return push_plain(a, ts, TK_DATE, w, 10, i, wn);
    /* 30-day, 2-year */
    size_t k = 0;
    while (k < wn && is_digit((unsigned char)w[k]))
        k++;
    if (k > 0 && k + 2 < wn && w[k] == '-' && letters == wn - k - 1)
        return push_qty(a, ts, w, k, w + k + 1, wn - k - 1, i, wn);
    /* 30, 3-5, 1,000, 4.5 */
    bool numeric = true;
    for (k = 0; k < wn; k++)
        if (!is_digit((unsigned char)w[k]) && w[k] != '-' && w[k] != '.' && w[k] != ',')
            numeric = false;
    if (numeric) {
        /* its unit: the next word ("30 days", "5 business days") or % */
        size_t j = e;
        if (j + 1 < n && p[j] == ' ' && digits <= 2 && wn <= 2) {
            size_t me = word_end(p, n, j + 1);
            int mon2 = month_of(p + j + 1, me - j - 1);
            int day = 0;
            for (k = 0; k < wn; k++)
                day = day * 10 + (w[k] - '0');
            if (mon2 && day >= 1 && day <= 31)
                return push_day(a, ts, mon2, day, i, me - i);
        }
        if (j < n && p[j] == '%')
            return push_qty(a, ts, w, wn, "%", 1, i, wn + 1);
        if (j < n && p[j] == ' ')
            j++;
        size_t ue = j;
        while (ue < n && is_alpha((unsigned char)p[ue]))
            ue++;
        if (ue - j >= 2 && (ue >= n || !is_digit((unsigned char)p[ue])) && !is_stop(p + j, ue - j))
            return push_qty(a, ts, w, wn, p + j, ue - j, i, ue - i);
        if (digits >= 2)
            return push_plain(a, ts, TK_NUM, w, wn, i, wn);
        return true;
    }
    /* ordinals (25th) and ids (A-1041, 1Z1077X, kb-101) */
    if (wn >= 3)
        return push_plain(a, ts, TK_ID, w, wn, i, wn);
    return true;
}

/* Distinctive tokens of a text: numbers with units, ids, dates, URIs,
 * quoted phrases, capitalised names. */
static bool tokenize(struct msx_arena *a, ms_str text, struct toks *ts)
{
    const char *p = text.ptr;
    size_t n = text.len < TEXT_MAX ? text.len : TEXT_MAX;
    size_t i = 0;
    while (p && i < n) {
        unsigned char c = (unsigned char)p[i];
        /* URI: scheme:// up to a space or a quote */
        if (is_alpha(c) && (i == 0 || !is_wordc((unsigned char)p[i - 1]))) {
            size_t k = i;
            while (k < n && (is_alnum((unsigned char)p[k]) || p[k] == '+' || p[k] == '.' ||
                             p[k] == '-'))
                k++;
            if (k + 2 < n && p[k] == ':' && p[k + 1] == '/' && p[k + 2] == '/') {
                size_t e = k + 3;
                while (e < n && !strchr(" \t\r\n\"'()<>[]{},", p[e]))
                    e++;
                while (e > k + 3 && strchr(".:;", p[e - 1]))
                    e--;
                if (!push_plain(a, ts, TK_URI, p + i, e - i, i, e - i))
                    return false;
                i = e;
                continue;
            }
        }
        /* a quoted phrase of a few words: "within 30 days" */
        if (c == '"') {
            size_t k = i + 1, spaces = 0;
            while (k < n && k - i <= 81 && p[k] != '"' && p[k] != '\n') {
                spaces += p[k] == ' ';
                k++;
            }
            if (k < n && p[k] == '"' && k - i - 1 >= 5 && k - i - 1 <= 80 && spaces > 0 &&
                !push_plain(a, ts, TK_QUOTE, p + i + 1, k - i - 1, i + 1, k - i - 1))
                return false;
            i++;
            continue;
        }
        if (c == '$' && i + 1 < n && is_digit((unsigned char)p[i + 1])) {
            size_t e = i + 1;
            while (e < n && (is_digit((unsigned char)p[e]) ||
                             ((p[e] == '.' || p[e] == ',') && e + 1 < n &&
                              is_digit((unsigned char)p[e + 1]))))
                e++;
            if (!push_qty(a, ts, p + i + 1, e - i - 1, "$", 1, i, e - i))
                return false;
            i = e;
            continue;
        }
        if (!is_wordc(c)) {
            i++;
            continue;
        }
        size_t e = word_end(p, n, i);
        if (!classify_word(a, ts, p, n, i, e))
            return false;
        i = e;
    }
    return true;
}

static bool tok_eq(const struct tok *x, const struct tok *y)
{
    if (x->kind == TK_DATE && y->kind == TK_DATE && x->norm_len == 10 && y->norm_len == 10 &&
        (x->norm[0] == 'x' || y->norm[0] == 'x'))
        return memcmp(x->norm + 5, y->norm + 5, 5) == 0;
    return x->kind == y->kind && x->norm_len == y->norm_len &&
           memcmp(x->norm, y->norm, x->norm_len) == 0;
}

/* Do x and y state the same kind of fact with different values: "30 day"
 * and "14 day", A-1041 and A-1042, two dates? */
static bool tok_conflicts(const struct tok *x, const struct tok *y, bool qty_only)
{
    if (x->kind != y->kind || tok_eq(x, y))
        return false;
    if (x->kind == TK_QTY)
        return strcmp(x->norm + x->unit, y->norm + y->unit) == 0;
    if (qty_only)
        return false;
    if (x->kind == TK_DATE)
        return true;
    if (x->kind == TK_ID && x->norm_len == y->norm_len) {
        for (size_t i = 0; i < x->norm_len; i++) {
            unsigned char a = (unsigned char)x->norm[i], b = (unsigned char)y->norm[i];
            if (is_digit(a) != is_digit(b) || (!is_digit(a) && a != b))
                return false;
        }
        return true;
    }
    return false;
}

/* ---- sources: what each turn said, read, called and answered ----------- */

enum skind {
    S_ANSWER,      /* output[idx] */
    S_DOC,         /* docs[idx] */
    S_TOOL_ARGS,   /* tools[idx].arguments */
    S_TOOL_RESULT, /* tools[idx].result */
    S_TOOL_ERROR,  /* tools[idx].error */
    S_USER,        /* input[idx], the turn's own user message */
    S_SYSTEM,      /* input[idx] */
    S_INPUT_TOOL,  /* input[idx], a tool message of this turn */
    S_HISTORY,     /* input[idx], repeated from earlier turns */
};

struct src {
    enum skind kind;
    size_t idx;
    ms_str text;
    char *low; /* lower-case copy of text (capped) */
    size_t low_len;
    struct toks toks;
};

struct tinfo {
    const ms_turn *t;
    struct src *src;
    size_t n_src;
    ms_str *updated;      /* per doc: its metadata date, {NULL,0} if none */
    bool *outdated;       /* per doc */
    size_t *newer;        /* per doc when outdated: the newer doc's turn*65536+doc, or SIZE_MAX */
    bool *flagged;        /* per doc: a failing span-level assessment names it */
    bool symptom_focus;   /* some symptom went wrong here */
};

static bool add_src(struct msx_arena *a, struct tinfo *ti, size_t *cap, enum skind kind,
                    size_t idx, ms_str text)
{
    if (!text.ptr || text.len == 0)
        return true;
    if (ti->n_src == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        struct src *v = msx_arena_alloc(a, nc * sizeof *v);
        if (!v)
            return false;
        if (ti->n_src)
            memcpy(v, ti->src, ti->n_src * sizeof *v);
        ti->src = v;
        *cap = nc;
    }
    struct src *s = &ti->src[ti->n_src];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->idx = idx;
    s->text = text;
    s->low_len = text.len < TEXT_MAX ? text.len : TEXT_MAX;
    s->low = lower_dup(a, text.ptr, s->low_len);
    if (!s->low || !tokenize(a, text, &s->toks))
        return false;
    ti->n_src++;
    return true;
}

static bool build_sources(struct msx_arena *a, struct tinfo *ti)
{
    const ms_turn *t = ti->t;
    size_t cap = 0;
    /* the turn's own messages: its last user message (with the new user
     * messages right before it) and the tool results after it; what
     * comes before is history, an assistant message after it is the
     * model's own tool request */
    size_t first_new = t->first_new <= t->n_input ? t->first_new : t->n_input;
    size_t own = first_new, last_user = SIZE_MAX;
    for (size_t i = 0; i < t->n_input; i++)
        if (t->input[i].role == MS_ROLE_USER || t->input[i].role == MS_ROLE_OTHER)
            last_user = i;
    if (last_user != SIZE_MAX) {
        own = last_user;
        while (own > first_new && (t->input[own - 1].role == MS_ROLE_USER ||
                                   t->input[own - 1].role == MS_ROLE_OTHER))
            own--;
    } else {
        for (size_t i = 0; i < t->n_input; i++)
            if (t->input[i].role == MS_ROLE_ASSISTANT && i + 1 > own)
                own = i + 1;
    }
    for (size_t i = 0; i < t->n_input; i++) {
        const ms_message *m = &t->input[i];
        enum skind k;
        if (m->role == MS_ROLE_SYSTEM)
            k = S_SYSTEM;
        else if (i < own)
            k = S_HISTORY;
        else if (m->role == MS_ROLE_TOOL)
            k = S_INPUT_TOOL;
        else if (m->role == MS_ROLE_USER || m->role == MS_ROLE_OTHER)
            k = S_USER;
        else
            k = S_HISTORY;
        if (!add_src(a, ti, &cap, k, i, m->text))
            return false;
    }
    for (size_t i = 0; i < t->n_output; i++)
        if (!add_src(a, ti, &cap, S_ANSWER, i, t->output[i].text))
            return false;
    /* no answer read from the spans: MLflow's response preview (cut, but
     * better than nothing) */
    if (t->n_output == 0 && t->trace && t->trace->info.state != MS_STATE_ERROR &&
        !add_src(a, ti, &cap, S_ANSWER, SIZE_MAX, t->trace->info.response_preview))
        return false;
    for (size_t i = 0; i < t->n_docs; i++) {
        const ms_document *d = &t->docs[i];
        if (!add_src(a, ti, &cap, S_DOC, i, d->text))
            return false;
        /* the id and URI are content too: "kb-101 reused" */
        ms_str label = d->uri.ptr ? d->uri : d->id;
        if (label.ptr && !add_src(a, ti, &cap, S_DOC, i, label))
            return false;
    }
    for (size_t i = 0; i < t->n_tools; i++) {
        const ms_tool_call *tc = &t->tools[i];
        if (!add_src(a, ti, &cap, S_TOOL_ARGS, i, tc->arguments) ||
            !add_src(a, ti, &cap, S_TOOL_RESULT, i, tc->result) ||
            !add_src(a, ti, &cap, S_TOOL_ERROR, i, tc->error))
            return false;
    }
    return true;
}

/* Case-insensitive substring (needle already lower case). */
static bool low_contains(const char *hay, size_t hn, const char *needle, size_t nn)
{
    if (nn == 0 || nn > hn)
        return false;
    for (size_t i = 0; i + nn <= hn; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, nn) == 0)
            return true;
    return false;
}

/* The token of s equal to t, or NULL. Quoted phrases match as text. */
static const struct tok *src_find(const struct src *s, const struct tok *t)
{
    for (size_t i = 0; i < s->toks.n; i++)
        if (tok_eq(&s->toks.v[i], t))
            return &s->toks.v[i];
    if (t->kind == TK_QUOTE && low_contains(s->low, s->low_len, t->norm, t->norm_len)) {
        static const struct tok any = {"", 0, TK_QUOTE, 0, 0, 0};
        return &any;
    }
    return NULL;
}

static const struct src *tool_args_src(const struct tinfo *ti, size_t tool)
{
    for (size_t i = 0; i < ti->n_src; i++)
        if (ti->src[i].kind == S_TOOL_ARGS && ti->src[i].idx == tool)
            return &ti->src[i];
    return NULL;
}

/* Does the turn's own input hold t (a tool result that only echoes the
 * call's arguments does not count: the model chose those)? */
static bool own_has(const struct tinfo *ti, const struct tok *t)
{
    for (size_t i = 0; i < ti->n_src; i++) {
        const struct src *s = &ti->src[i];
        switch (s->kind) {
        case S_DOC:
        case S_USER:
        case S_SYSTEM:
        case S_INPUT_TOOL:
            if (src_find(s, t))
                return true;
            break;
        case S_TOOL_RESULT:
        case S_TOOL_ERROR:
            if (src_find(s, t)) {
                const struct src *args = tool_args_src(ti, s->idx);
                if (!args || !src_find(args, t))
                    return true;
            }
            break;
        default: break;
        }
    }
    return false;
}

/* What the system produced at a turn, in the order a cause is named:
 * documents, tool output, tool errors, tool arguments, the answer. */
static const enum skind sys_order[] = {S_DOC, S_TOOL_RESULT, S_TOOL_ERROR, S_TOOL_ARGS, S_ANSWER};

static const struct src *sys_find(const struct tinfo *ti, const struct tok *t,
                                  const struct tok **at)
{
    for (size_t o = 0; o < sizeof sys_order / sizeof sys_order[0]; o++)
        for (size_t i = 0; i < ti->n_src; i++) {
            const struct src *s = &ti->src[i];
            if (s->kind != sys_order[o])
                continue;
            if (s->kind == S_TOOL_RESULT || s->kind == S_TOOL_ERROR) {
                const struct src *args = tool_args_src(ti, s->idx);
                if (args && src_find(args, t))
                    continue; /* an echo: the arguments are the origin */
            }
            const struct tok *f = src_find(s, t);
            if (f) {
                if (at)
                    *at = f;
                return s;
            }
        }
    return NULL;
}

static const struct src *kind_find(const struct tinfo *ti, enum skind kind, const struct tok *t,
                                   const struct tok **at)
{
    for (size_t i = 0; i < ti->n_src; i++) {
        const struct src *s = &ti->src[i];
        const struct tok *f;
        if (s->kind == kind && (f = src_find(s, t)) != NULL) {
            if (at)
                *at = f;
            return s;
        }
    }
    return NULL;
}

/* Does the turn itself (not the history it was sent) hold t? */
static bool turn_has(const struct tinfo *ti, const struct tok *t)
{
    for (size_t i = 0; i < ti->n_src; i++)
        if (ti->src[i].kind != S_HISTORY && src_find(&ti->src[i], t))
            return true;
    return false;
}

/* ---- documents: dates and outdatedness ---------------------------------- */

static const char *const date_keys[] = {"updated",      "last_updated",  "updated_at",
                                        "last_modified", "modified",     "lastmod",
                                        "date",          "effective_date", "published"};

static ms_str meta_date(msx_json meta)
{
    for (size_t k = 0; k < sizeof date_keys / sizeof date_keys[0]; k++) {
        ms_str v = msx_json_str(msx_json_get(meta, date_keys[k]));
        if (v.ptr && v.len >= 4 && is_digit((unsigned char)v.ptr[0]) &&
            is_digit((unsigned char)v.ptr[3]))
            return v;
    }
    return (ms_str){NULL, 0};
}

static const ms_span *span_by_id(const ms_trace *tr, ms_str id, size_t *index)
{
    if (!tr || !id.ptr)
        return NULL;
    for (size_t i = 0; i < tr->n_spans; i++)
        if (strlen(tr->spans[i].span_id) == id.len && memcmp(tr->spans[i].span_id, id.ptr, id.len) == 0) {
            if (index)
                *index = i;
            return &tr->spans[i];
        }
    return NULL;
}

/* A date a document states about itself, borrowed from its text or URI;
 * {NULL,0} if none. */
static ms_str text_date(const ms_document *d)
{
    static const char *const cues[] = {"effective", "updated", "as of", "valid from", "revised"};
    const char *p = d->text.ptr;
    size_t n = d->text.len < TEXT_MAX ? d->text.len : TEXT_MAX;
    for (size_t i = 0; p && i < n; i++) {
        for (size_t c = 0; c < sizeof cues / sizeof cues[0]; c++) {
            size_t cl = strlen(cues[c]);
            if (i + cl > n)
                continue;
            size_t k = 0;
            while (k < cl && lower(p[i + k]) == cues[c][k])
                k++;
            if (k < cl || (i > 0 && is_alpha((unsigned char)p[i - 1])))
                continue;
            for (size_t j = i + cl; j < n && j < i + cl + 16; j++)
                if (j + 10 <= n && is_date(p + j, 10))
                    return (ms_str){p + j, 10};
        }
    }
    ms_str u = d->uri;
    size_t b = u.len;
    while (b > 0 && u.ptr[b - 1] != '/')
        b--;
    for (size_t i = b; u.ptr && i + 4 <= u.len; i++) {
        bool edge_l = i == b || !is_digit((unsigned char)u.ptr[i - 1]);
        bool edge_r = i + 4 == u.len || !is_digit((unsigned char)u.ptr[i + 4]);
        if (edge_l && edge_r && (memcmp(u.ptr + i, "19", 2) == 0 || memcmp(u.ptr + i, "20", 2) == 0) &&
            is_digit((unsigned char)u.ptr[i + 2]) && is_digit((unsigned char)u.ptr[i + 3]))
            return (ms_str){u.ptr + i, 4};
    }
    return (ms_str){NULL, 0};
}

/* Reads each document's metadata date from its RETRIEVER span's outputs
 * (the transcript keeps id, URI and text, not the metadata). */
static bool read_doc_dates(struct msx_arena *a, msx_json_parser *jp, struct tinfo *ti)
{
    const ms_turn *t = ti->t;
    size_t nd = t->n_docs;
    ti->updated = msx_arena_calloc(a, nd + 1, sizeof *ti->updated);
    ti->outdated = msx_arena_calloc(a, nd + 1, sizeof *ti->outdated);
    ti->flagged = msx_arena_calloc(a, nd + 1, sizeof *ti->flagged);
    ti->newer = msx_arena_calloc(a, nd + 1, sizeof *ti->newer);
    if (!ti->updated || !ti->outdated || !ti->flagged || !ti->newer)
        return false;
    for (size_t i = 0; i < nd; i++)
        ti->newer[i] = SIZE_MAX;
    for (size_t i = 0; i < nd; i++) {
        if (ti->updated[i].ptr)
            continue;
        const ms_span *sp = span_by_id(t->trace, t->docs[i].span_id, NULL);
        const ms_attr *at = sp ? ms_span_attr(sp, "mlflow.spanOutputs") : NULL;
        if (!at)
            continue;
        char *txt = NULL;
        size_t len = 0;
        bool is_json = false;
        ms_code rc = ms_attr_decode(at, &txt, &len, &is_json);
        if (rc == MS_E_NOMEM)
            return false;
        if (rc != MS_OK || !is_json) {
            free(txt);
            continue;
        }
        msx_json root;
        if (msx_json_parse(jp, txt, len, false, &root, NULL) == MS_OK) {
            msx_json arr = root;
            if (msx_json_type(arr) == MSX_JSON_OBJECT) /* {"documents": [...]} */
                arr = msx_json_get(root, "documents");
            /* every doc of this span, by rank */
            for (size_t j = i; j < nd; j++) {
                const ms_document *d = &t->docs[j];
                if (d->span_id.len != t->docs[i].span_id.len ||
                    memcmp(d->span_id.ptr, t->docs[i].span_id.ptr, d->span_id.len) != 0 ||
                    d->rank < 1)
                    continue;
                msx_json el = msx_json_at(arr, (size_t)(d->rank - 1));
                ms_str v = meta_date(msx_json_get(el, "metadata"));
                if (!v.ptr)
                    v = meta_date(el);
                if (v.ptr) {
                    char *cp = msx_arena_strndup(a, v.ptr, v.len);
                    if (!cp) {
                        free(txt);
                        return false;
                    }
                    ti->updated[j] = (ms_str){cp, v.len};
                }
            }
        }
        free(txt);
    }
    /* no metadata date: one the text states ("effective 2025-11-01",
     * "updated 2024-03-01"), else a year in the URI (refunds-2024.md) */
    for (size_t i = 0; i < nd; i++)
        if (!ti->updated[i].ptr)
            ti->updated[i] = text_date(&t->docs[i]);
    return true;
}

/* "kb://policies/refunds-2024.md" -> "refunds": the last path segment
 * without extension, dates, versions and separators at its ends. */
static size_t doc_stem(const ms_document *d, char *out, size_t cap)
{
    ms_str s = d->uri.ptr ? d->uri : d->id;
    if (!s.ptr)
        return 0;
    size_t b = s.len;
    while (b > 0 && s.ptr[b - 1] != '/')
        b--;
    size_t e = s.len;
    for (size_t i = s.len; i > b; i--)
        if (s.ptr[i - 1] == '.') {
            e = i - 1;
            break;
        }
    while (e > b && (is_digit((unsigned char)s.ptr[e - 1]) || s.ptr[e - 1] == '-' ||
                     s.ptr[e - 1] == '_' || s.ptr[e - 1] == 'v'))
        e--;
    size_t n = 0;
    for (size_t i = b; i < e && n + 1 < cap; i++)
        out[n++] = lower(s.ptr[i]);
    out[n] = '\0';
    return n;
}

static bool same_doc(const ms_document *x, const ms_document *y)
{
    if (x->id.ptr && y->id.ptr)
        return x->id.len == y->id.len && memcmp(x->id.ptr, y->id.ptr, x->id.len) == 0;
    if (x->uri.ptr && y->uri.ptr)
        return x->uri.len == y->uri.len && memcmp(x->uri.ptr, y->uri.ptr, x->uri.len) == 0;
    return false;
}

static int str_cmp(ms_str x, ms_str y)
{
    size_t n = x.len < y.len ? x.len : y.len;
    int r = memcmp(x.ptr, y.ptr, n);
    return r ? r : (x.len < y.len ? -1 : x.len > y.len);
}

/* One dated document of the session, for the outdatedness sort. */
struct docref {
    char stem[64];
    size_t turn, doc;
    ms_str date;
};

static int docref_cmp(const void *x, const void *y)
{
    const struct docref *a = x, *b = y;
    int r = strcmp(a->stem, b->stem);
    if (r)
        return r;
    r = str_cmp(b->date, a->date); /* newest first */
    if (r)
        return r;
    if (a->turn != b->turn)
        return a->turn < b->turn ? -1 : 1;
    return a->doc < b->doc ? -1 : a->doc > b->doc;
}

/* A document is outdated when another one on the same topic (same stem)
 * carries a later date. The reference named is a newer one of the same
 * retrieval ("ranked below it") when there is one, else the newest of the
 * session. Sorting keeps this O(d log d) for d documents. */
static bool mark_outdated(struct msx_arena *a, struct tinfo *ti, size_t n)
{
    size_t nd = 0;
    for (size_t j = 0; j < n; j++)
        nd += ti[j].t->n_docs;
    if (nd == 0)
        return true;
    struct docref *v = msx_arena_alloc(a, nd * sizeof *v);
    if (!v)
        return false;
    size_t k = 0;
    for (size_t j = 0; j < n; j++)
        for (size_t d = 0; d < ti[j].t->n_docs; d++) {
            if (d >= 65536 || !ti[j].updated[d].ptr ||
                doc_stem(&ti[j].t->docs[d], v[k].stem, sizeof v[k].stem) == 0)
                continue; /* (turn, doc) pairs are packed as turn * 65536 + doc */
            v[k].turn = j;
            v[k].doc = d;
            v[k].date = ti[j].updated[d];
            k++;
        }
    qsort(v, k, sizeof *v, docref_cmp);
    size_t g = 0;
    for (size_t i = 0; i < k; i++) {
        if (strcmp(v[i].stem, v[g].stem) != 0)
            g = i; /* the newest of this stem */
        const struct docref *x = &v[i];
        struct tinfo *tx = &ti[x->turn];
        const ms_document *dx = &tx->t->docs[x->doc];
        /* the newest different document of the stem */
        size_t ref = SIZE_MAX;
        for (size_t m = g; m < i && str_cmp(v[m].date, x->date) > 0; m++)
            if (!same_doc(dx, &ti[v[m].turn].t->docs[v[m].doc])) {
                ref = m;
                break;
            }
        if (ref == SIZE_MAX)
            continue;
        tx->outdated[x->doc] = true;
        tx->newer[x->doc] = v[ref].turn * 65536 + v[ref].doc;
        /* prefer one of the same retrieval */
        char st[64];
        for (size_t e = 0; e < tx->t->n_docs; e++) {
            const ms_document *y = &tx->t->docs[e];
            if (e == x->doc || same_doc(dx, y) || !tx->updated[e].ptr ||
                doc_stem(y, st, sizeof st) == 0 || strcmp(st, x->stem) != 0 ||
                str_cmp(tx->updated[e], x->date) <= 0)
                continue;
            tx->newer[x->doc] = x->turn * 65536 + e;
            break;
        }
    }
    return true;
}

/* ---- symptoms ------------------------------------------------------------ */

enum scls {
    C_ERROR,
    C_ASSESS,
    C_CORRECTION,
    C_REPEAT,   /* friction that follows an earlier turn: repeat, human, abandon */
    C_REFUSAL,  /* friction in the answer itself, a looping answer */
    C_INTEGRITY,
    C_STRUCT,   /* a history break or the context window: later turns inherit it */
    C_IMPLICIT, /* found here: the answer contradicts its own retrieval */
};

/* How a symptom was traced; also the order a root's evidence is told in. */
enum how { H_NONE, H_CONTENT, H_DOC, H_STRUCT, H_OWN, H_ADOPT };

struct sym {
    const char *rule;
    int64_t turn; /* from 1 */
    ms_str span_id, path, excerpt, message;
    enum scls cls;
    int64_t focus;
    /* the resolution */
    enum how how;
    int64_t root;
    const struct tok *tok;      /* content: the carried token, at the focus */
    const struct src *at_focus; /* where the focus turn says it */
    const struct src *origin;   /* where the root turn said it first */
    const struct tok *origin_tok;
    const struct src *contra;   /* an own input that says otherwise */
    const struct tok *contra_tok;
    bool named;                 /* the correction names the token */
    size_t doc;                 /* H_DOC: the document at the root turn */
    size_t sym_struct;          /* H_STRUCT: the structural symptom */
    bool failed_tool;           /* H_OWN correction: its focus turn had a failed tool call */
    struct toks vtoks;          /* the tokens of its message and excerpt, once read */
    bool vtoks_done;
};

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* Structural symptoms: what the model was sent lost, changed or gained
 * something, so every later turn inherits it. When several are at one
 * turn the higher rank is the one told: a history drop explains the fall
 * in input tokens, not the other way round. 0: not structural. */
static int struct_rank(const char *rule)
{
    static const struct {
        const char *rule;
        int rank;
    } ranks[] = {
        {"integrity.history_dropped", 5}, {"integrity.history_changed", 5},
        {"context.window", 4},            {"integrity.foreign_content", 3},
        {"integrity.system_prompt_changed", 2}, {"context.drop", 1},
    };
    for (size_t i = 0; i < sizeof ranks / sizeof ranks[0]; i++)
        if (strcmp(rule, ranks[i].rule) == 0)
            return ranks[i].rank;
    return 0;
}

static bool classify(const char *rule, enum scls *cls)
{
    if (has_prefix(rule, "error.")) {
        *cls = C_ERROR;
        return true;
    }
    if (strcmp(rule, "assessment.failing") == 0) {
        *cls = C_ASSESS;
        return true;
    }
    if (strcmp(rule, "friction.correction") == 0) {
        *cls = C_CORRECTION;
        return true;
    }
    if (strcmp(rule, "friction.refusal") == 0 || strcmp(rule, "loop.answer") == 0) {
        *cls = C_REFUSAL;
        return true;
    }
    if (has_prefix(rule, "friction.")) {
        *cls = C_REPEAT;
        return true;
    }
    if (struct_rank(rule) > 0) {
        *cls = C_STRUCT;
        return true;
    }
    if (has_prefix(rule, "integrity.")) {
        *cls = C_INTEGRITY;
        return true;
    }
    return false;
}

/* The session's token index: where each distinctive token was first said
 * by the system and by the user, and in how many turns. One pass over the
 * session instead of a walk over every earlier turn per token. Dates are
 * keyed by month and day (a date without a year matches any year);
 * quoted phrases match as text and are not indexed. */
struct tent {
    const char *key;
    size_t klen;
    enum tkind kind;
    int64_t first_sys;  /* turn from 1, 0 if never */
    int64_t first_user;
    int64_t last_turn;
    int64_t n_turns;
};

struct tindex {
    struct tent *v;
    size_t cap; /* a power of two */
    size_t n;
};

static void tok_key(const struct tok *t, const char **k, size_t *n)
{
    if (t->kind == TK_DATE && t->norm_len == 10) {
        *k = t->norm + 5;
        *n = 5;
    } else {
        *k = t->norm;
        *n = t->norm_len;
    }
}

static size_t tkey_hash(enum tkind kind, const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)kind;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)k[i]) * 1099511628211ULL;
    return (size_t)h;
}

/* The entry of t, inserted when insert is true (NULL when absent or out
 * of memory). */
static struct tent *tindex_get(struct msx_arena *a, struct tindex *ix, const struct tok *t,
                               bool insert)
{
    const char *k;
    size_t n;
    tok_key(t, &k, &n);
    if (insert && (ix->n + 1) * 2 > ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 256;
        struct tent *v = msx_arena_calloc(a, cap, sizeof *v);
        if (!v)
            return NULL;
        for (size_t i = 0; i < ix->cap; i++) {
            if (!ix->v[i].key)
                continue;
            size_t h = tkey_hash(ix->v[i].kind, ix->v[i].key, ix->v[i].klen) & (cap - 1);
            while (v[h].key)
                h = (h + 1) & (cap - 1);
            v[h] = ix->v[i];
        }
        ix->v = v;
        ix->cap = cap;
    }
    if (!ix->cap)
        return NULL;
    size_t h = tkey_hash(t->kind, k, n) & (ix->cap - 1);
    while (ix->v[h].key) {
        struct tent *e = &ix->v[h];
        if (e->kind == t->kind && e->klen == n && memcmp(e->key, k, n) == 0)
            return e;
        h = (h + 1) & (ix->cap - 1);
    }
    if (!insert)
        return NULL;
    struct tent *e = &ix->v[h];
    memset(e, 0, sizeof *e);
    e->key = k;
    e->klen = n;
    e->kind = t->kind;
    ix->n++;
    return e;
}

struct walk {
    struct msi_ctx *c;
    struct msx_arena *a;
    const ms_session *s;
    struct tinfo *ti;
    size_t n; /* turns */
    struct sym *sy;
    size_t n_sy, cap_sy;
    struct tindex ix;
    /* per turn (index turn - 1) */
    size_t *n_at;        /* symptoms other than implicit ones at the turn */
    size_t *struct_at;   /* the first structural symptom at the turn, or SIZE_MAX */
    int64_t *struct_last; /* the latest turn <= this one with a structural symptom, or 0 */
    int64_t *run_start;  /* for a turn with one: the first turn of its run */
    struct words *wx, *wy; /* scratch for answer_uses */
};

static bool is_sys_kind(enum skind k)
{
    return k == S_DOC || k == S_TOOL_RESULT || k == S_TOOL_ERROR || k == S_TOOL_ARGS ||
           k == S_ANSWER;
}

static bool build_index(struct walk *w)
{
    for (size_t j = 0; j < w->n; j++) {
        const struct tinfo *ti = &w->ti[j];
        int64_t turn = (int64_t)j + 1;
        for (size_t i = 0; i < ti->n_src; i++) {
            const struct src *s = &ti->src[i];
            if (s->kind == S_HISTORY)
                continue;
            const struct src *args = (s->kind == S_TOOL_RESULT || s->kind == S_TOOL_ERROR)
                                         ? tool_args_src(ti, s->idx)
                                         : NULL;
            for (size_t k = 0; k < s->toks.n; k++) {
                const struct tok *t = &s->toks.v[k];
                if (t->kind == TK_QUOTE)
                    continue;
                struct tent *e = tindex_get(w->a, &w->ix, t, true);
                if (!e)
                    return false;
                if (e->last_turn != turn) {
                    e->last_turn = turn;
                    e->n_turns++;
                }
                if (!e->first_sys && is_sys_kind(s->kind) && !(args && src_find(args, t)))
                    e->first_sys = turn;
                if (!e->first_user && s->kind == S_USER)
                    e->first_user = turn;
            }
        }
    }
    return true;
}

static bool push_sym(struct walk *w, const struct sym *s)
{
    if (w->n_sy == w->cap_sy) {
        size_t cap = w->cap_sy ? w->cap_sy * 2 : 16;
        struct sym *v = msx_arena_alloc(w->a, cap * sizeof *v);
        if (!v)
            return false;
        if (w->n_sy)
            memcpy(v, w->sy, w->n_sy * sizeof *v);
        w->sy = v;
        w->cap_sy = cap;
    }
    w->sy[w->n_sy++] = *s;
    return true;
}

/* Does t appear in every turn (the user's recurring words, a greeting)? */
static bool common_tok(struct walk *w, const struct tok *t)
{
    if (w->n < 3)
        return false;
    if (t->kind != TK_QUOTE) {
        const struct tent *e = tindex_get(w->a, &w->ix, t, false);
        return e && e->n_turns == (int64_t)w->n;
    }
    for (size_t j = 0; j < w->n; j++)
        if (!turn_has(&w->ti[j], t))
            return false;
    return true;
}

/* The content words of the sentence around a token: lower-case letters
 * only, 4+ letters, no stop words, cut to their first 5 letters so that
 * "refund" meets "refunds". A sentence ends at . ! ? before a space, or
 * a newline; at most SENT_MAX bytes either side are read. */
#define SENT_MAX 300
#define SENT_WORDS 24
struct near {
    char w[SENT_WORDS][6];
    size_t n;
};

static bool sentence_end(const char *p, size_t n, size_t i)
{
    if (p[i] == '\n')
        return true;
    return (p[i] == '.' || p[i] == '!' || p[i] == '?') && (i + 1 >= n || p[i + 1] == ' ' ||
                                                           p[i + 1] == '\n');
}

static void near_words(const struct src *s, const struct tok *t, struct near *nw)
{
    nw->n = 0;
    if (!t || t->off + t->len > s->low_len)
        return;
    const char *p = s->low;
    size_t n = s->low_len;
    size_t b = t->off, e = t->off + t->len;
    while (b > 0 && t->off - b < SENT_MAX && !sentence_end(p, n, b - 1))
        b--;
    while (e < n && e - t->off < SENT_MAX && !sentence_end(p, n, e))
        e++;
    size_t i = b;
    while (i < e && nw->n < SENT_WORDS) {
        while (i < e && !is_alpha((unsigned char)p[i]))
            i++;
        size_t w0 = i;
        while (i < e && is_alpha((unsigned char)p[i]))
            i++;
        if (i - w0 >= 4 && !is_stop(p + w0, i - w0)) {
            size_t k = i - w0 < 5 ? i - w0 : 5;
            memcpy(nw->w[nw->n], p + w0, k);
            nw->w[nw->n++][k] = '\0';
        }
    }
}

static bool near_share(const struct near *x, const struct near *y)
{
    for (size_t i = 0; i < x->n; i++)
        for (size_t j = 0; j < y->n; j++)
            if (strcmp(x->w[i], y->w[j]) == 0)
                return true;
    return false;
}

/* A stated value (a number, a date, a quoted phrase) can be wrong by
 * itself; an id or a name is a reference, right or wrong only by what is
 * said about it, so a verdict on the answer does not point at it. */
static bool is_value(const struct tok *t)
{
    return t->kind == TK_QTY || t->kind == TK_NUM || t->kind == TK_DATE || t->kind == TK_QUOTE;
}

/* An own input of the turn that states the same kind of fact otherwise:
 * the same unit with another number (or an id of the same shape, another
 * date). A number is compared only when the sentence it came from (at the
 * origin) and the contradicting sentence share a content word: "30 days
 * ... refund" and "14 days ... refunds" do, "2 year warranty" and gift
 * cards "valid for 3 years" do not. */
static const struct src *find_contra(const struct tinfo *ti, const struct src *origin,
                                     const struct tok *origin_tok, const struct tok *t,
                                     bool qty_only, bool retrieval_only, const struct tok **ct)
{
    struct near mine, theirs;
    near_words(origin, origin_tok, &mine);
    for (size_t i = 0; i < ti->n_src; i++) {
        const struct src *s = &ti->src[i];
        /* the user contradicting a value ("it arrived on January 2nd")
         * says the value was wrong where it came from; the user naming
         * another order says the answer picked the wrong one itself */
        bool ok = s->kind == S_DOC || s->kind == S_TOOL_RESULT || s->kind == S_INPUT_TOOL ||
                  (!retrieval_only && is_value(t) && (s->kind == S_USER || s->kind == S_SYSTEM));
        if (!ok)
            continue;
        for (size_t k = 0; k < s->toks.n; k++)
            if (tok_conflicts(t, &s->toks.v[k], qty_only)) {
                if (t->kind == TK_QTY) {
                    near_words(s, &s->toks.v[k], &theirs);
                    if (!near_share(&mine, &theirs))
                        continue;
                }
                *ct = &s->toks.v[k];
                return s;
            }
    }
    return NULL;
}

static bool origin_suspect(const struct walk *w, int64_t j, const struct src *o)
{
    const struct tinfo *ti = &w->ti[j - 1];
    if (o->kind == S_DOC && (ti->outdated[o->idx] || ti->flagged[o->idx]))
        return true;
    if ((o->kind == S_TOOL_ARGS || o->kind == S_TOOL_ERROR) && ti->t->tools[o->idx].failed)
        return true;
    return ti->symptom_focus;
}

/* The user's message at turn k. */
static bool user_says(const struct tinfo *ti, const struct tok *t)
{
    return kind_find(ti, S_USER, t, NULL) != NULL;
}


/* Did the user say t at turn j or before? */
static bool user_origin(struct walk *w, int64_t j, const struct tok *t)
{
    if (t->kind != TK_QUOTE && t->kind != TK_DATE) {
        const struct tent *e = tindex_get(w->a, &w->ix, t, false);
        return e && e->first_user && e->first_user <= j;
    }
    for (int64_t m = 1; m <= j; m++)
        if (user_says(&w->ti[m - 1], t))
            return true;
    return false;
}

/* Is a judge's verdict about t: does its rationale name t or state the
 * same kind of fact otherwise ("Claims a 30-day window; the policy allows
 * 14 days")? A verdict that names neither may be about another part of
 * the answer. The symptom's text is tokenized once. */
static bool verdict_about(struct walk *w, struct sym *s, const struct tok *t)
{
    if (!s->vtoks_done) {
        s->vtoks_done = true;
        if (!tokenize(w->a, s->message, &s->vtoks) || !tokenize(w->a, s->excerpt, &s->vtoks))
            return false;
    }
    for (size_t i = 0; i < s->vtoks.n; i++)
        if (tok_eq(&s->vtoks.v[i], t) || tok_conflicts(t, &s->vtoks.v[i], false))
            return true;
    return false;
}

/* Content walk: the earliest earlier turn that holds a suspect token of
 * the focus turn's answer or tool arguments. */
static bool walk_content(struct walk *w, struct sym *s, bool qty_only)
{
    const struct tinfo *fi = &w->ti[s->focus - 1];
    const struct tinfo *ki = &w->ti[s->turn - 1];
    int64_t best_j = 0;
    int best_q = 0;
    for (size_t i = 0; i < fi->n_src; i++) {
        const struct src *src = &fi->src[i];
        if (src->kind != S_ANSWER && src->kind != S_TOOL_ARGS)
            continue;
        for (size_t k = 0; k < src->toks.n; k++) {
            const struct tok *t = &src->toks.v[k];
            if (qty_only && t->kind != TK_QTY)
                continue;
            if (t->kind == TK_QUOTE && src->kind == S_TOOL_ARGS)
                continue;
            if (own_has(fi, t) || common_tok(w, t))
                continue;
            int64_t j = 0, from = 1;
            const struct src *o = NULL;
            const struct tok *ot = NULL;
            if (t->kind != TK_QUOTE) {
                /* the index knows the first turn (for dates: the first with
                 * that month and day; its year is checked below) */
                const struct tent *e = tindex_get(w->a, &w->ix, t, false);
                if (!e || !e->first_sys || e->first_sys >= s->focus)
                    continue;
                from = e->first_sys;
            } else if (s->focus > QUOTE_BACK) {
                from = s->focus - QUOTE_BACK; /* phrases are not indexed */
            }
            for (int64_t m = from; m < s->focus; m++) {
                o = sys_find(&w->ti[m - 1], t, &ot);
                if (o) {
                    j = m;
                    break;
                }
            }
            if (!j)
                continue;
            const struct tok *ct = NULL;
            const struct src *cs = find_contra(fi, o, ot, t, qty_only || s->cls == C_IMPLICIT,
                                               s->cls == C_IMPLICIT, &ct);
            bool anom = !qty_only && origin_suspect(w, j, o);
            /* the correction quotes it; when the user gave it first and
             * its first use was fine (an order number looked up right
             * before), the mistake is the focus turn's own, not carried */
            bool named = s->cls == C_CORRECTION && s->turn != s->focus && user_says(ki, t) &&
                         (anom || !user_origin(w, j, t));
            /* the user (or a judge) says the answer is wrong: what it
             * carried in from the system (not from the user's own words)
             * is suspect */
            bool corrected = ((s->cls == C_CORRECTION && s->turn != s->focus) ||
                              (s->cls == C_ASSESS && verdict_about(w, s, t))) &&
                             is_value(t) && !user_origin(w, j, t);
            int q = cs ? 3 : named ? 2 : (anom || corrected) ? 1 : 0;
            if (!q)
                continue;
            if (best_j == 0 || j < best_j || (j == best_j && q > best_q)) {
                best_j = j;
                best_q = q;
                s->tok = t;
                s->at_focus = src;
                s->origin = o;
                s->origin_tok = ot;
                s->contra = cs;
                s->contra_tok = ct;
                s->named = named;
            }
        }
    }
    if (!best_j)
        return false;
    s->how = H_CONTENT;
    s->root = best_j;
    return true;
}

/* Lower-case words of a text, for phrase overlap (struct walk keeps two). */
struct words {
    const char *p[WORDS_MAX];
    size_t n[WORDS_MAX];
    size_t count;
};

static void split_words(const char *low, size_t len, struct words *wd)
{
    wd->count = 0;
    size_t i = 0;
    while (i < len && wd->count < WORDS_MAX) {
        while (i < len && !is_wordc((unsigned char)low[i]))
            i++;
        size_t b = i;
        while (i < len && is_wordc((unsigned char)low[i]))
            i++;
        if (i > b) {
            wd->p[wd->count] = low + b;
            wd->n[wd->count] = i - b;
            wd->count++;
        }
    }
}

static bool words_eq(const struct words *x, size_t i, const struct words *y, size_t j)
{
    for (size_t k = 0; k < SHINGLE; k++)
        if (x->n[i + k] != y->n[j + k] || memcmp(x->p[i + k], y->p[j + k], x->n[i + k]) != 0)
            return false;
    return true;
}

/* Does the answer take SHINGLE words in a row from the document, or state
 * one of its numbers with a unit ("after 12 months")? */
static bool answer_uses(struct walk *w, const struct src *ans, const struct src *doc)
{
    for (size_t k = 0; k < ans->toks.n; k++)
        if (ans->toks.v[k].kind == TK_QTY && src_find(doc, &ans->toks.v[k]))
            return true;
    /* two word buffers for the whole walk, not two per call */
    if (!w->wx)
        w->wx = msx_arena_alloc(w->a, sizeof *w->wx);
    if (!w->wy)
        w->wy = msx_arena_alloc(w->a, sizeof *w->wy);
    struct words *x = w->wx, *y = w->wy;
    if (!x || !y)
        return false;
    split_words(ans->low, ans->low_len, x);
    split_words(doc->low, doc->low_len, y);
    for (size_t i = 0; i + SHINGLE <= x->count; i++)
        for (size_t j = 0; j + SHINGLE <= y->count; j++)
            if (words_eq(x, i, y, j))
                return true;
    return false;
}

/* Document walk: the focus turn answers from an outdated document; its
 * root is the first turn that retrieved that document. */
static bool walk_document(struct walk *w, struct sym *s)
{
    const struct tinfo *fi = &w->ti[s->focus - 1];
    for (size_t i = 0; i < fi->n_src; i++) {
        const struct src *d = &fi->src[i];
        if (d->kind != S_DOC || !(fi->outdated[d->idx] || fi->flagged[d->idx]))
            continue;
        if (d->text.ptr != fi->t->docs[d->idx].text.ptr)
            continue; /* the label source; the text one decides */
        bool used = false;
        for (size_t k = 0; k < fi->n_src && !used; k++)
            if (fi->src[k].kind == S_ANSWER)
                used = answer_uses(w, &fi->src[k], d);
        if (!used)
            continue;
        const ms_document *doc = &fi->t->docs[d->idx];
        for (int64_t j = 1; j <= s->focus; j++) {
            const struct tinfo *tj = &w->ti[j - 1];
            for (size_t e = 0; e < tj->t->n_docs; e++)
                if (same_doc(doc, &tj->t->docs[e])) {
                    s->how = H_DOC;
                    s->root = j;
                    s->doc = e;
                    return true;
                }
        }
    }
    return false;
}

/* The structural symptom (history break, context window) in force at
 * turn f: the latest at or before f, back to the start of its run. */
static bool walk_structure(struct walk *w, struct sym *s, size_t self)
{
    int64_t last = w->struct_last[s->focus - 1];
    if (!last)
        return false;
    int64_t start = w->run_start[last - 1];
    size_t best = w->struct_at[start - 1];
    if (best == self && s->cls != C_STRUCT)
        return false;
    s->how = H_STRUCT;
    s->root = start;
    s->sym_struct = best;
    return true;
}

static bool focus_has_symptom(const struct walk *w, int64_t f, size_t self)
{
    size_t n = w->n_at[f - 1];
    if (self < w->n_sy && w->sy[self].turn == f && w->sy[self].cls != C_IMPLICIT)
        n--;
    return n > 0;
}

/* Per-turn tables of the analyzers' symptoms (before implicit ones are
 * added): how many at each turn, the structural one, where its run of
 * consecutive turns with the same rule starts, the latest at or before. */
static bool turn_tables(struct walk *w)
{
    w->n_at = msx_arena_calloc(w->a, w->n, sizeof *w->n_at);
    w->struct_at = msx_arena_calloc(w->a, w->n, sizeof *w->struct_at);
    w->struct_last = msx_arena_calloc(w->a, w->n, sizeof *w->struct_last);
    w->run_start = msx_arena_calloc(w->a, w->n, sizeof *w->run_start);
    if (!w->n_at || !w->struct_at || !w->struct_last || !w->run_start)
        return false;
    for (size_t j = 0; j < w->n; j++)
        w->struct_at[j] = SIZE_MAX;
    for (size_t i = 0; i < w->n_sy; i++) {
        const struct sym *x = &w->sy[i];
        w->n_at[x->turn - 1]++;
        size_t *at = &w->struct_at[x->turn - 1];
        if (x->cls == C_STRUCT &&
            (*at == SIZE_MAX || struct_rank(x->rule) > struct_rank(w->sy[*at].rule)))
            *at = i;
    }
    for (size_t j = 0; j < w->n; j++) {
        size_t b = w->struct_at[j];
        w->struct_last[j] = b != SIZE_MAX ? (int64_t)j + 1 : (j ? w->struct_last[j - 1] : 0);
        if (b == SIZE_MAX)
            continue;
        size_t p = j ? w->struct_at[j - 1] : SIZE_MAX;
        w->run_start[j] = p != SIZE_MAX && strcmp(w->sy[p].rule, w->sy[b].rule) == 0
                              ? w->run_start[j - 1]
                              : (int64_t)j + 1;
    }
    return true;
}

/* A symptom with no root of its own that shares its turn with a traced
 * symptom belongs to the same root (the thumbs-down and the correction of
 * one turn). */
static bool adopt(struct walk *w)
{
    int64_t *minroot = msx_arena_calloc(w->a, w->n, sizeof *minroot);
    if (!minroot)
        return false;
    for (size_t k = 0; k < w->n_sy; k++) {
        const struct sym *x = &w->sy[k];
        if (x->how == H_NONE || x->how == H_ADOPT || x->root >= x->turn)
            continue;
        if (!minroot[x->turn - 1] || x->root < minroot[x->turn - 1])
            minroot[x->turn - 1] = x->root;
    }
    for (size_t i = 0; i < w->n_sy; i++) {
        struct sym *s = &w->sy[i];
        if (s->cls == C_STRUCT || !(s->how == H_NONE || (s->how == H_OWN && s->root == s->turn)))
            continue;
        /* a failure of its own (a rate limit) is not explained by its
         * neighbours; a degraded answer follows the earlier error */
        if (s->cls == C_ERROR && strcmp(s->rule, "error.degraded") != 0)
            continue;
        if (minroot[s->turn - 1]) {
            s->how = H_ADOPT;
            s->root = minroot[s->turn - 1];
        }
    }
    return true;
}

static void resolve(struct walk *w, size_t i)
{
    struct sym *s = &w->sy[i];
    s->how = H_NONE;
    s->root = s->focus;
    if (s->cls == C_STRUCT) {
        walk_structure(w, s, i);
        return;
    }
    if (s->cls != C_REPEAT && walk_content(w, s, s->cls == C_IMPLICIT))
        return;
    if (s->cls == C_IMPLICIT)
        return;
    if ((s->cls == C_ASSESS || s->cls == C_CORRECTION || s->cls == C_ERROR ||
         s->cls == C_REFUSAL) &&
        walk_document(w, s))
        return;
    if ((s->cls == C_ASSESS || s->cls == C_CORRECTION || s->cls == C_REPEAT ||
         s->cls == C_REFUSAL) &&
        walk_structure(w, s, i))
        return;
    /* its own cause: a correction blames the answer it corrects, a
     * repeated request the failed turn before it */
    if (s->cls == C_CORRECTION || s->focus == s->turn ||
        (s->cls == C_REPEAT && focus_has_symptom(w, s->focus, i)))
        s->how = H_OWN;
    /* an answer the user corrects that followed a failed tool call of its
     * own turn: the failure is the cause (a carrier error taken as "not
     * shipped") */
    if (s->cls == C_CORRECTION && s->focus < s->turn) {
        const ms_turn *ft = w->ti[s->focus - 1].t;
        for (size_t k = 0; k < ft->n_tools; k++)
            s->failed_tool |= ft->tools[k].failed;
    }
}

/* Implicit symptoms: an answer that repeats a number with a unit from an
 * earlier turn while its own retrieval or tool output says otherwise. */
static bool find_implicit(struct walk *w)
{
    for (size_t k = 1; k <= w->n; k++) {
        /* a symptom of the analyzers there carries the walk */
        if (w->n_at[k - 1] > (w->struct_at[k - 1] != SIZE_MAX ? 1u : 0u))
            continue;
        struct sym s;
        memset(&s, 0, sizeof s);
        s.rule = "cause.root";
        s.turn = s.focus = (int64_t)k;
        s.cls = C_IMPLICIT;
        if (walk_content(w, &s, true) && s.contra) {
            s.message = msi_s("the answer contradicts the turn's own retrieval");
            if (!push_sym(w, &s))
                return false;
        }
    }
    return true;
}

/* ---- evidence text ------------------------------------------------------- */

static const ms_turn *turn_at(const struct walk *w, int64_t k)
{
    return w->ti[k - 1].t;
}

/* JSON path of a source inside its turn's trace. */
static ms_str src_path(struct walk *w, int64_t k, const struct src *s, ms_str *span)
{
    const ms_turn *t = turn_at(w, k);
    char buf[160];
    size_t si = 0;
    *span = (ms_str){NULL, 0};
    buf[0] = '\0';
    switch (s->kind) {
    case S_DOC: {
        const ms_document *d = &t->docs[s->idx];
        if (span_by_id(t->trace, d->span_id, &si)) {
            *span = d->span_id;
            snprintf(buf, sizeof buf, "spans[%zu].attributes.\"mlflow.spanOutputs\"[%lld]", si,
                     (long long)(d->rank > 0 ? d->rank - 1 : 0));
        }
        break;
    }
    case S_TOOL_ARGS:
    case S_TOOL_RESULT:
    case S_TOOL_ERROR: {
        const ms_tool_call *tc = &t->tools[s->idx];
        const ms_span *sp = span_by_id(t->trace, tc->span_id, &si);
        if (sp) {
            *span = tc->span_id;
            if (s->kind == S_TOOL_ERROR) {
                size_t e = 0;
                while (e < sp->n_events && !(sp->events[e].name.len == 9 &&
                                             memcmp(sp->events[e].name.ptr, "exception", 9) == 0))
                    e++;
                if (e < sp->n_events)
                    snprintf(buf, sizeof buf, "spans[%zu].events[%zu]", si, e);
                else
                    snprintf(buf, sizeof buf, "spans[%zu].status", si);
            } else {
                snprintf(buf, sizeof buf, "spans[%zu].attributes.\"mlflow.span%s\"", si,
                         s->kind == S_TOOL_ARGS ? "Inputs" : "Outputs");
            }
        }
        break;
    }
    default: {
        bool out = s->kind == S_ANSWER;
        if (t->io_source == MS_IO_PREVIEW || (out && s->idx == SIZE_MAX) ||
            !span_by_id(t->trace, t->io_span_id, &si))
            snprintf(buf, sizeof buf, "info.%s_preview", out ? "response" : "request");
        else {
            *span = t->io_span_id;
            snprintf(buf, sizeof buf, "spans[%zu].attributes.\"mlflow.span%s\"", si,
                     out ? "Outputs" : "Inputs");
        }
        break;
    }
    }
    if (!buf[0])
        return (ms_str){NULL, 0};
    char *p = msx_arena_strndup(w->a, buf, strlen(buf));
    return p ? (ms_str){p, strlen(p)} : (ms_str){NULL, 0};
}

/* Up to ~60 bytes either side of the token, cut on word boundaries. */
static ms_str snippet_w(const struct src *s, const struct tok *t, size_t before, size_t after)
{
    const char *p = s->text.ptr;
    size_t n = s->low_len;
    size_t off = 0, len = 0;
    if (t && t->kind != TK_QUOTE && t->len && t->off + t->len <= n) {
        off = t->off;
        len = t->len;
    } else if (t && t->kind == TK_QUOTE) { /* matched as text: find it */
        for (size_t i = 0; i + t->norm_len <= n; i++)
            if (memcmp(s->low + i, t->norm, t->norm_len) == 0) {
                off = i;
                len = t->norm_len;
                break;
            }
    }
    size_t b = off > before ? off - before : 0;
    size_t e = off + len + after < n ? off + len + after : n;
    if (b > 0) {
        while (b < off && p[b] != ' ')
            b++;
        if (b < off)
            b++;
    }
    if (e < n) {
        while (e > off + len && p[e] != ' ')
            e--;
    }
    while (b < e && ((unsigned char)p[b] & 0xC0) == 0x80)
        b++;
    while (e > b && e < n && ((unsigned char)p[e] & 0xC0) == 0x80)
        e--;
    return (ms_str){p + b, e - b};
}

static ms_str snippet(const struct src *s, const struct tok *t)
{
    return snippet_w(s, t, 60, 60);
}

/* A document's evidence names it: "kb://x.md (updated 2024-03-01): '...'" */
static ms_str doc_excerpt(struct walk *w, int64_t j, const struct src *s, const struct tok *t)
{
    const struct tinfo *ti = &w->ti[j - 1];
    const ms_document *d = &ti->t->docs[s->idx];
    ms_str name = d->uri.ptr ? d->uri : d->id;
    ms_str sn = snippet_w(s, t, 30, 50);
    char buf[400];
    int n;
    if (ti->updated[s->idx].ptr)
        n = snprintf(buf, sizeof buf, "%.*s (updated %.*s): '%.*s'",
                     (int)(name.len > 100 ? 100 : name.len), name.ptr ? name.ptr : "",
                     (int)(ti->updated[s->idx].len > 25 ? 25 : ti->updated[s->idx].len),
                     ti->updated[s->idx].ptr, (int)(sn.len > 200 ? 200 : sn.len), sn.ptr);
    else
        n = snprintf(buf, sizeof buf, "%.*s: '%.*s'", (int)(name.len > 100 ? 100 : name.len),
                     name.ptr ? name.ptr : "", (int)(sn.len > 200 ? 200 : sn.len), sn.ptr);
    if (n < 0 || !name.ptr || !s->text.ptr || s->text.ptr != d->text.ptr)
        return snippet(s, t);
    size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
    char *p = msx_arena_strndup(w->a, buf, len);
    return p ? (ms_str){p, len} : snippet(s, t);
}

/* Evidence text for a source: documents name themselves. */
static ms_str src_excerpt(struct walk *w, int64_t j, const struct src *s, const struct tok *t)
{
    return s->kind == S_DOC ? doc_excerpt(w, j, s, t) : snippet(s, t);
}

/* The raw text of a token in its source, quoted for a sentence. */
static void tok_text(const struct src *s, const struct tok *t, char *buf, size_t cap)
{
    if (s && t && t->len && t->off + t->len <= s->text.len)
        snprintf(buf, cap, "%.*s", (int)(t->len > 80 ? 80 : t->len), s->text.ptr + t->off);
    else if (t)
        snprintf(buf, cap, "%.*s", (int)(t->norm_len > 80 ? 80 : t->norm_len), t->norm);
    else
        snprintf(buf, cap, "?");
}

static void doc_label(const struct tinfo *ti, size_t d, char *buf, size_t cap)
{
    const ms_document *doc = &ti->t->docs[d];
    ms_str name = doc->uri.ptr ? doc->uri : doc->id;
    int n = snprintf(buf, cap, "%.*s", (int)(name.len > 120 ? 120 : name.len),
                     name.ptr ? name.ptr : "a document");
    if (n < 0 || (size_t)n >= cap)
        return;
    char extra[96] = "";
    size_t x = 0;
    if (doc->uri.ptr && doc->id.ptr)
        x += (size_t)snprintf(extra + x, sizeof extra - x, "%.*s, ",
                              (int)(doc->id.len > 40 ? 40 : doc->id.len), doc->id.ptr);
    if (x < sizeof extra)
        x += (size_t)snprintf(extra + x, sizeof extra - x, "rank %lld", (long long)doc->rank);
    if (ti->updated[d].ptr && x < sizeof extra)
        snprintf(extra + x, sizeof extra - x, ", updated %.*s",
                 (int)(ti->updated[d].len > 25 ? 25 : ti->updated[d].len), ti->updated[d].ptr);
    snprintf(buf + n, cap - (size_t)n, " (%s)", extra);
}

/* "retrieved X (kb-101, rank 1, updated 2024-03-01); outdated: Y
 * (updated 2025-11-01) is newer and ranked below it" */
static void doc_why(const struct walk *w, int64_t j, size_t d, char *buf, size_t cap)
{
    const struct tinfo *ti = &w->ti[j - 1];
    char lab[256];
    doc_label(ti, d, lab, sizeof lab);
    int n = snprintf(buf, cap, "retrieved %s", lab);
    if (n < 0 || (size_t)n >= cap)
        return;
    if (ti->outdated[d] && ti->newer[d] != SIZE_MAX) {
        size_t mt = ti->newer[d] / 65536, me = ti->newer[d] % 65536;
        const struct tinfo *tm = &w->ti[mt];
        const ms_document *y = &tm->t->docs[me];
        ms_str yn = y->uri.ptr ? y->uri : y->id;
        const char *where = (int64_t)mt + 1 == j
                                ? (y->rank > ti->t->docs[d].rank ? " and ranked below it"
                                                                 : " in the same retrieval")
                                : "";
        char tw[40] = "";
        if ((int64_t)mt + 1 != j)
            snprintf(tw, sizeof tw, " (retrieved at turn %zu)", mt + 1);
        snprintf(buf + n, cap - (size_t)n, "; outdated: %.*s%s is newer (updated %.*s)%s",
                 (int)(yn.len > 120 ? 120 : yn.len), yn.ptr ? yn.ptr : "?", tw,
                 (int)(tm->updated[me].len > 25 ? 25 : tm->updated[me].len), tm->updated[me].ptr,
                 where);
    } else if (ti->flagged[d]) {
        snprintf(buf + n, cap - (size_t)n, "; a failing assessment on the retriever names it");
    }
}

static void tool_name(const struct walk *w, int64_t j, size_t t, char *buf, size_t cap)
{
    ms_str nm = turn_at(w, j)->tools[t].name;
    snprintf(buf, cap, "%.*s", (int)(nm.len > 60 ? 60 : nm.len), nm.ptr ? nm.ptr : "a tool");
}

/* Why the origin source holds the token. */
static void origin_why(const struct walk *w, int64_t j, const struct src *o, const char *tq,
                       char *buf, size_t cap)
{
    char nm[80];
    switch (o->kind) {
    case S_DOC: {
        char d[400];
        doc_why(w, j, o->idx, d, sizeof d);
        snprintf(buf, cap, "%s: '%s'", d, tq);
        break;
    }
    case S_TOOL_ARGS:
        tool_name(w, j, o->idx, nm, sizeof nm);
        snprintf(buf, cap, "tool %s was called with '%s'%s", nm, tq,
                 turn_at(w, j)->tools[o->idx].failed ? " and failed" : "");
        break;
    case S_TOOL_RESULT:
        tool_name(w, j, o->idx, nm, sizeof nm);
        snprintf(buf, cap, "tool %s returned '%s'", nm, tq);
        break;
    case S_TOOL_ERROR:
        tool_name(w, j, o->idx, nm, sizeof nm);
        snprintf(buf, cap, "tool %s failed: '%s'", nm, tq);
        break;
    default: snprintf(buf, cap, "the answer says '%s'", tq); break;
    }
}

/* ---- merging and output -------------------------------------------------- */

struct link {
    int64_t turn;
    int cls; /* 0 cause, 1 at the cause, 2 carried, 3 the corrected answer, 4 symptom */
    size_t seq;
    ms_str span, path, excerpt;
    char *why;
};

struct links {
    struct link *v;
    size_t n, cap;
};

static bool link_add(struct walk *w, struct links *ls, int64_t turn, int cls, ms_str span,
                     ms_str path, ms_str excerpt, const char *why)
{
    for (size_t i = 0; i < ls->n; i++) {
        const struct link *o = &ls->v[i];
        if (o->turn == turn && o->cls == cls && strcmp(o->why, why) == 0)
            return true;
        /* one piece of evidence told once: the first (most specific) wins */
        bool cause_side = o->cls <= 1 && cls <= 1;
        bool carry_side = (o->cls == 2 || o->cls == 3) && (cls == 2 || cls == 3);
        if (o->turn == turn && (cause_side || carry_side) && path.ptr && o->path.ptr &&
            o->path.len == path.len && memcmp(o->path.ptr, path.ptr, path.len) == 0)
            return true;
    }
    if (ls->n == ls->cap) {
        size_t cap = ls->cap ? ls->cap * 2 : 16;
        struct link *v = msx_arena_alloc(w->a, cap * sizeof *v);
        if (!v)
            return false;
        if (ls->n)
            memcpy(v, ls->v, ls->n * sizeof *v);
        ls->v = v;
        ls->cap = cap;
    }
    char *wy = msx_arena_strndup(w->a, why, strlen(why));
    if (!wy)
        return false;
    for (char *q = wy; *q; q++) /* one line: quoted text may hold newlines */
        if (*q == '\n' || *q == '\r' || *q == '\t')
            *q = ' ';
    ls->v[ls->n] = (struct link){turn, cls, ls->n, span, path, excerpt, wy};
    ls->n++;
    return true;
}

static int link_cmp(const void *x, const void *y)
{
    const struct link *a = x, *b = y;
    if (a->turn != b->turn)
        return a->turn < b->turn ? -1 : 1;
    if (a->cls != b->cls)
        return a->cls < b->cls ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The turns between a root r and end that are looked at for carriers: the
 * first CARRIERS_SCAN after the root and the last CARRIERS_SCAN before
 * end, so a root far back stays cheap. */
#define CARRIERS_SCAN 32
static int64_t scan_next(int64_t r, int64_t m, int64_t end)
{
    if (m - r >= CARRIERS_SCAN && end - m > CARRIERS_SCAN + 1)
        return end - CARRIERS_SCAN;
    return m + 1;
}

/* A correction names what the user wanted ("A-1042"): when the corrected
 * turn's own request named it too but neither its tool calls nor its
 * answer used it, that is the evidence of the mistake. */
static bool correction_links(struct walk *w, const struct sym *s, struct links *ls)
{
    const struct tinfo *tk = &w->ti[s->turn - 1], *tf = &w->ti[s->focus - 1];
    for (size_t i = 0; i < tk->n_src; i++) {
        const struct src *u = &tk->src[i];
        if (u->kind != S_USER)
            continue;
        for (size_t k = 0; k < u->toks.n; k++) {
            const struct tok *t = &u->toks.v[k];
            const struct tok *at = NULL;
            const struct src *asked = kind_find(tf, S_USER, t, &at);
            if (!asked || kind_find(tf, S_ANSWER, t, NULL) || kind_find(tf, S_TOOL_ARGS, t, NULL))
                continue;
            bool has_tools = false;
            for (size_t j = 0; j < tf->n_src; j++)
                has_tools |= tf->src[j].kind == S_TOOL_ARGS;
            char q[96], why[WHY_MAX];
            tok_text(asked, at, q, sizeof q);
            snprintf(why, sizeof why, "the request named '%s', which neither the answer%s used",
                     q, has_tools ? " nor the tool calls" : "");
            ms_str span, path = src_path(w, s->focus, asked, &span);
            if (!link_add(w, ls, s->focus, 1, span, path, snippet(asked, at), why))
                return false;
        }
    }
    return true;
}

/* A symptom's evidence: its excerpt, else its message. */
static ms_str sym_evidence(const struct sym *s)
{
    return s->excerpt.ptr && s->excerpt.len ? s->excerpt : s->message;
}

/* The links one symptom contributes to its root's chain. */
static bool sym_links(struct walk *w, const struct sym *s, struct links *ls, char *lead,
                      size_t lead_cap)
{
    char why[WHY_MAX], tq[96], buf[WHY_MAX / 2];
    ms_str span, path;
    int64_t r = s->root;
    if (s->how == H_CONTENT) {
        tok_text(s->origin, s->origin_tok && s->origin_tok->len ? s->origin_tok : s->tok, tq,
                 sizeof tq);
        origin_why(w, r, s->origin, tq, why, sizeof why);
        path = src_path(w, r, s->origin, &span);
        const struct tok *oq = s->origin_tok && s->origin_tok->len ? s->origin_tok : s->tok;
        if (!link_add(w, ls, r, 0, span, path, src_excerpt(w, r, s->origin, oq), why))
            return false;
        if (!lead[0]) {
            char fq0[96];
            tok_text(s->at_focus, s->tok, fq0, sizeof fq0);
            snprintf(lead, lead_cap, "%.440s; turn %lld %s '%.80s'", why, (long long)s->focus,
                     s->at_focus->kind == S_TOOL_ARGS ? "calls a tool with" : "repeats", fq0);
        }
        /* the root turn's answer passing it on */
        const struct tok *at = NULL;
        const struct src *ans = kind_find(&w->ti[r - 1], S_ANSWER, s->tok, &at);
        if (ans && ans != s->origin) {
            char aq[96];
            tok_text(ans, at, aq, sizeof aq);
            snprintf(why, sizeof why, "answer repeats it: '%s'", aq);
            path = src_path(w, r, ans, &span);
            if (!link_add(w, ls, r, 1, span, path, snippet(ans, at), why))
                return false;
        }
        /* turns between that carried it on (not for what the user said:
         * an order number the user gave is carried by every turn) */
        bool users = user_origin(w, s->focus, s->tok);
        size_t told = 0;
        for (int64_t m = r + 1; !users && m < s->focus && told < CARRIERS_MAX;
             m = scan_next(r, m, s->focus)) {
            const struct tok *mt = NULL;
            const struct src *ms = sys_find(&w->ti[m - 1], s->tok, &mt);
            if (!ms)
                continue;
            char mq[96];
            tok_text(ms, mt, mq, sizeof mq);
            if (ms->kind == S_DOC) {
                char lab[256];
                doc_label(&w->ti[m - 1], ms->idx, lab, sizeof lab);
                snprintf(why, sizeof why, "retrieves %s again: '%s'", lab, mq);
            } else {
                origin_why(w, m, ms, mq, buf, sizeof buf);
                snprintf(why, sizeof why, "carries it on: %s", buf);
            }
            path = src_path(w, m, ms, &span);
            if (!link_add(w, ls, m, 2, span, path, src_excerpt(w, m, ms, mt), why))
                return false;
            told++;
        }
        /* the turn that went wrong */
        char fq[96];
        tok_text(s->at_focus, s->tok, fq, sizeof fq);
        int n = snprintf(why, sizeof why, "%s '%s' from turn %lld",
                         s->at_focus->kind == S_TOOL_ARGS ? "calls a tool with" : "answer repeats",
                         fq, (long long)r);
        if (s->contra && n > 0 && (size_t)n < sizeof why) {
            char cq[96];
            tok_text(s->contra, s->contra_tok, cq, sizeof cq);
            const char *what = s->contra->kind == S_DOC           ? "retrieval"
                               : s->contra->kind == S_TOOL_RESULT ? "tool result"
                               : s->contra->kind == S_USER        ? "user message"
                                                                  : "input";
            n += snprintf(why + n, sizeof why - (size_t)n, " although its own %s says '%s'", what,
                          cq);
        }
        if (s->named && n > 0 && (size_t)n < sizeof why)
            n += snprintf(why + n, sizeof why - (size_t)n, "; the user's correction names it");
        bool in_history = false;
        for (size_t i = 0; i < w->ti[s->focus - 1].n_src; i++)
            if (w->ti[s->focus - 1].src[i].kind == S_HISTORY &&
                src_find(&w->ti[s->focus - 1].src[i], s->tok))
                in_history = true;
        if (in_history && n > 0 && (size_t)n < sizeof why)
            snprintf(why + n, sizeof why - (size_t)n, " (carried in the chat history it was sent)");
        path = src_path(w, s->focus, s->at_focus, &span);
        if (!link_add(w, ls, s->focus, s->focus == s->turn ? 4 : 3, span, path,
                      snippet(s->at_focus, s->tok), why))
            return false;
    } else if (s->how == H_DOC) {
        const struct tinfo *tr = &w->ti[r - 1];
        doc_why(w, r, s->doc, why, sizeof why);
        const struct src *ds = NULL;
        for (size_t i = 0; i < tr->n_src && !ds; i++)
            if (tr->src[i].kind == S_DOC && tr->src[i].idx == s->doc &&
                tr->src[i].text.ptr == tr->t->docs[s->doc].text.ptr)
                ds = &tr->src[i];
        path = ds ? src_path(w, r, ds, &span) : (ms_str){NULL, 0};
        if (!ds)
            span = (ms_str){NULL, 0};
        if (!link_add(w, ls, r, 0, span, path, ds ? src_excerpt(w, r, ds, NULL) : (ms_str){NULL, 0},
                      why))
            return false;
        if (!lead[0])
            snprintf(lead, lead_cap, "%.500s; turn %lld answers from it", why,
                     (long long)s->focus);
        const ms_document *doc = &tr->t->docs[s->doc];
        for (int64_t m = r + 1; m <= s->focus; m = scan_next(r, m, s->focus + 1)) {
            const struct tinfo *tm = &w->ti[m - 1];
            for (size_t e = 0; e < tm->t->n_docs; e++)
                if (same_doc(doc, &tm->t->docs[e])) {
                    char lab[256];
                    doc_label(tm, e, lab, sizeof lab);
                    snprintf(why, sizeof why, "%s %s again",
                             m == s->focus ? "answers from" : "retrieves", lab);
                    const struct src *es = NULL;
                    for (size_t i = 0; i < tm->n_src && !es; i++)
                        if (tm->src[i].kind == S_DOC && tm->src[i].idx == e)
                            es = &tm->src[i];
                    path = es ? src_path(w, m, es, &span) : (ms_str){NULL, 0};
                    if (!es)
                        span = (ms_str){NULL, 0};
                    if (!link_add(w, ls, m, m == s->focus ? 3 : 2, span, path,
                                  es ? src_excerpt(w, m, es, NULL) : (ms_str){NULL, 0}, why))
                        return false;
                    break;
                }
        }
    } else if (s->how == H_STRUCT) {
        const struct sym *x = &w->sy[s->sym_struct];
        snprintf(why, sizeof why, "%s: %.*s", x->rule, (int)(x->message.len > 400 ? 400 : x->message.len),
                 x->message.ptr ? x->message.ptr : "");
        if (!link_add(w, ls, x->turn, 0, x->span_id, x->path, sym_evidence(x), why))
            return false;
        if (!lead[0])
            snprintf(lead, lead_cap, "%s", why);
    } else if (s->how == H_OWN && s->focus != s->turn && focus_has_symptom(w, s->focus, SIZE_MAX)) {
        /* what went wrong at the turn it follows is the cause */
        for (size_t i = 0; i < w->n_sy; i++) {
            const struct sym *x = &w->sy[i];
            if (x->turn != s->focus || x->cls == C_IMPLICIT)
                continue;
            snprintf(why, sizeof why, "%s: %.*s", x->rule,
                     (int)(x->message.len > 400 ? 400 : x->message.len),
                     x->message.ptr ? x->message.ptr : "");
            if (!link_add(w, ls, x->turn, 0, x->span_id, x->path, sym_evidence(x), why))
                return false;
            if (!lead[0])
                snprintf(lead, lead_cap, "%s", why);
        }
    } else if (s->how == H_OWN && s->focus != s->turn) {
        /* the answer the user corrected, and the tools it called */
        const struct tinfo *tf = &w->ti[s->focus - 1];
        for (size_t i = 0; i < tf->n_src; i++) {
            const struct src *x = &tf->src[i];
            if (x->kind != S_TOOL_ARGS && x->kind != S_ANSWER)
                continue;
            if (x->kind == S_TOOL_ARGS) {
                char nm[80];
                tool_name(w, s->focus, x->idx, nm, sizeof nm);
                snprintf(why, sizeof why, "tool %s was called with %.*s", nm,
                         (int)(x->text.len > 160 ? 160 : x->text.len), x->text.ptr);
            } else {
                snprintf(why, sizeof why, "the answer that turn %lld %s",
                         (long long)s->turn,
                         s->cls == C_CORRECTION ? "corrects" : "follows");
            }
            path = src_path(w, s->focus, x, &span);
            if (!link_add(w, ls, s->focus, 0, span, path, snippet(x, NULL), why))
                return false;
            if (!lead[0])
                snprintf(lead, lead_cap, "%s", why);
        }
    }
    if (s->cls == C_CORRECTION && s->focus < s->turn && !correction_links(w, s, ls))
        return false;
    /* the symptom itself */
    if (s->cls == C_IMPLICIT)
        return true; /* its evidence is the focus link above */
    snprintf(why, sizeof why, "%s: %.*s", s->rule, (int)(s->message.len > 400 ? 400 : s->message.len),
             s->message.ptr ? s->message.ptr : "");
    if (s->how == H_ADOPT) {
        snprintf(why + strlen(why), sizeof why - strlen(why), " (same turn as another symptom of this root)");
        return link_add(w, ls, s->turn, 4, s->span_id, s->path, sym_evidence(s), why);
    }
    if (s->how == H_STRUCT && s->sym_struct < w->n_sy && &w->sy[s->sym_struct] == s)
        return true; /* the structural root itself: linked above */
    return link_add(w, ls, s->turn, s->turn == r ? 1 : 4, s->span_id, s->path, sym_evidence(s), why);
}

/* A sort record: key, then a tie-break, then the symptom's index. */
struct order {
    int64_t key, tie;
    size_t idx;
};

static int order_cmp(const void *x, const void *y)
{
    const struct order *a = x, *b = y;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    if (a->tie != b->tie)
        return a->tie < b->tie ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int64_t how_rank(enum how h)
{
    return h == H_STRUCT ? 0 : (int64_t)h;
}

static bool emit_group(struct walk *w, int64_t r, size_t *members, size_t nm)
{
    struct links ls = {NULL, 0, 0};
    char lead[WHY_MAX] = "";
    int64_t last = r;
    /* the deepest evidence first: a history break or the window passed,
     * then carried content, documents, then the symptoms' own turns */
    struct order *ord = msx_arena_alloc(w->a, nm * sizeof *ord);
    if (!ord)
        return false;
    size_t lastm = 0;
    for (size_t i = 0; i < nm; i++) {
        ord[i] = (struct order){how_rank(w->sy[members[i]].how), (int64_t)members[i], members[i]};
        if (w->sy[members[i]].turn > w->sy[members[lastm]].turn)
            lastm = i;
    }
    size_t last_idx = members[lastm];
    qsort(ord, nm, sizeof *ord, order_cmp);
    /* a long run (the window passed at every later turn) is told by its
     * first symptoms and its last */
    if (nm > MEMBERS_MAX) {
        bool has_last = false;
        for (size_t i = 0; i < MEMBERS_MAX - 1; i++)
            has_last |= ord[i].idx == last_idx;
        nm = MEMBERS_MAX;
        if (!has_last)
            ord[nm - 1].idx = last_idx;
    }
    for (size_t i = 0; i < nm; i++)
        members[i] = ord[i].idx;
    for (size_t i = 0; i < nm; i++) {
        const struct sym *s = &w->sy[members[i]];
        if (!sym_links(w, s, &ls, lead, sizeof lead))
            return false;
        if (s->turn > last)
            last = s->turn;
    }
    if (ls.n == 0 || last <= r)
        return true;
    /* a turn told as a symptom's own is not told again as a carrier */
    size_t kept = 0;
    for (size_t i = 0; i < ls.n; i++) {
        const struct link *l = &ls.v[i];
        bool dup = false;
        for (size_t k = 0; l->cls == 2 && l->path.ptr && k < ls.n && !dup; k++) {
            const struct link *o = &ls.v[k];
            dup = o->cls >= 3 && o->turn == l->turn && o->path.ptr && o->path.len == l->path.len &&
                  memcmp(o->path.ptr, l->path.ptr, l->path.len) == 0;
        }
        if (!dup)
            ls.v[kept++] = *l;
    }
    ls.n = kept;
    qsort(ls.v, ls.n, sizeof *ls.v, link_cmp);

    /* the message: which symptoms at which turns */
    char turns[200] = "", rules[400] = "";
    size_t tn = 0, rn = 0;
    int64_t prev = -1;
    for (size_t i = 0; i < ls.n; i++) {
        if (ls.v[i].cls != 4 || ls.v[i].turn == prev)
            continue;
        prev = ls.v[i].turn;
        if (tn < sizeof turns)
            tn += (size_t)snprintf(turns + tn, sizeof turns - tn, "%s%lld", tn ? ", " : "",
                                   (long long)ls.v[i].turn);
    }
    for (size_t i = 0; i < nm; i++) {
        const struct sym *s = &w->sy[members[i]];
        if (s->turn <= r || s->cls == C_STRUCT)
            continue;
        const char *rule = s->cls == C_IMPLICIT ? "an answer contradicting its own retrieval" : s->rule;
        bool seen = false;
        size_t rl = strlen(rule);
        for (const char *q = rules; (q = strstr(q, rule)) != NULL; q += rl)
            if ((q == rules || q[-1] == ' ') && (q[rl] == ',' || q[rl] == '\0'))
                seen = true;
        if (!seen && rn < sizeof rules)
            rn += (size_t)snprintf(rules + rn, sizeof rules - rn, "%s%s", rn ? ", " : "", rule);
    }
    if (!turns[0]) { /* symptoms only as corrected answers */
        for (size_t i = 0; i < ls.n; i++)
            if (ls.v[i].turn > r && tn < sizeof turns) {
                tn += (size_t)snprintf(turns + tn, sizeof turns - tn, "%s%lld", tn ? ", " : "",
                                       (long long)ls.v[i].turn);
                break;
            }
    }
    const struct link *cause = &ls.v[0];
    const ms_turn *rt = turn_at(w, r);
    ms_finding *f = msi_finding_add(w->c, "cause.root", MS_SEV_ERROR, rt, cause->span,
                                    cause->path, cause->excerpt,
                                    "turn %lld is the root cause of %s at turn%s %s: %s",
                                    (long long)r, rules[0] ? rules : "later symptoms",
                                    strchr(turns, ',') ? "s" : "", turns, lead);
    if (!f)
        return false;
    for (size_t i = 0; i < ls.n; i++) {
        const struct link *l = &ls.v[i];
        if (!msi_finding_link(w->c, f, turn_at(w, l->turn), l->span, l->path, l->excerpt,
                              l->why))
            return false;
    }
    return true;
}

/* Marks the documents a failing span-level assessment names (or the top
 * one when it names none). */
static void mark_flagged(struct walk *w)
{
    for (size_t i = 0; i < w->n_sy; i++) {
        const struct sym *s = &w->sy[i];
        if (s->cls != C_ASSESS || !s->span_id.ptr)
            continue;
        struct tinfo *ti = &w->ti[s->turn - 1];
        bool named = false;
        size_t top = SIZE_MAX;
        for (size_t d = 0; d < ti->t->n_docs; d++) {
            const ms_document *doc = &ti->t->docs[d];
            if (doc->span_id.len != s->span_id.len ||
                memcmp(doc->span_id.ptr, s->span_id.ptr, s->span_id.len) != 0)
                continue;
            if (doc->rank == 1)
                top = d;
            ms_str nm = doc->uri.ptr ? doc->uri : doc->id;
            bool in_msg = false;
            for (size_t k = 0; nm.ptr && s->message.ptr && k + nm.len <= s->message.len; k++)
                if (memcmp(s->message.ptr + k, nm.ptr, nm.len) == 0) {
                    /* a longer name that merely starts with this one does not count */
                    size_t after = k + nm.len;
                    if (after < s->message.len && (is_alnum((unsigned char)s->message.ptr[after]) ||
                                                   s->message.ptr[after] == '-'))
                        continue;
                    in_msg = true;
                    break;
                }
            if (in_msg) {
                ti->flagged[d] = true;
                named = true;
                break;
            }
        }
        if (!named && top != SIZE_MAX)
            ti->flagged[top] = true;
    }
}

/* The same document retrieved at other turns is the same document: a flag
 * on one retrieval holds for all (those flagged by an assessment are
 * gathered first, so the spread is one pass per flag). */
static bool spread_flags(struct walk *w)
{
    size_t nf = 0;
    for (size_t j = 0; j < w->n; j++)
        for (size_t d = 0; d < w->ti[j].t->n_docs; d++)
            nf += w->ti[j].flagged[d] && !w->ti[j].outdated[d];
    if (nf == 0)
        return true;
    const ms_document **orig = msx_arena_alloc(w->a, nf * sizeof *orig);
    if (!orig)
        return false;
    size_t k = 0;
    for (size_t j = 0; j < w->n; j++)
        for (size_t d = 0; d < w->ti[j].t->n_docs; d++)
            if (w->ti[j].flagged[d] && !w->ti[j].outdated[d])
                orig[k++] = &w->ti[j].t->docs[d];
    for (size_t i = 0; i < nf; i++)
        for (size_t m = 0; m < w->n; m++)
            for (size_t e = 0; e < w->ti[m].t->n_docs; e++)
                if (!w->ti[m].flagged[e] && same_doc(orig[i], &w->ti[m].t->docs[e]))
                    w->ti[m].flagged[e] = true;
    return true;
}

static ms_code run_cause(struct msi_ctx *c)
{
    if (!msi_rule_selected(c->o, "cause.root") || !c->s || c->s->n_turns == 0)
        return MS_OK;
    struct walk w;
    memset(&w, 0, sizeof w);
    w.c = c;
    w.a = c->tmp;
    w.s = c->s;
    w.n = c->s->n_turns;
    w.ti = msx_arena_calloc(w.a, w.n, sizeof *w.ti);
    msx_json_parser *jp = msx_json_parser_new();
    if (!w.ti || !jp) {
        msx_json_parser_free(jp);
        return MS_E_NOMEM;
    }
    ms_code rc = MS_E_NOMEM;
    for (size_t k = 0; k < w.n; k++) {
        w.ti[k].t = &c->s->turns[k];
        if (!build_sources(w.a, &w.ti[k]) || !read_doc_dates(w.a, jp, &w.ti[k]))
            goto done;
    }
    if (!build_index(&w))
        goto done;
    if (!mark_outdated(w.a, w.ti, w.n))
        goto done;

    /* the symptoms the other analyzers found (read before adding any) */
    size_t nf = msi_findings_count(c->out);
    for (size_t i = 0; i < nf; i++) {
        const ms_finding *f = msi_findings_at(c->out, i);
        struct sym s;
        memset(&s, 0, sizeof s);
        if (!f || !f->rule || f->turn < 1 || f->turn > (int64_t)w.n || !classify(f->rule, &s.cls))
            continue;
        s.rule = f->rule;
        s.turn = f->turn;
        s.span_id = f->span_id;
        s.path = f->path;
        s.excerpt = f->excerpt;
        s.message = f->message;
        bool follows = s.cls == C_CORRECTION || s.cls == C_REPEAT;
        s.focus = follows && s.turn > 1 ? s.turn - 1 : s.turn;
        if (follows && s.turn == 1)
            continue; /* nothing before it to follow */
        if (!push_sym(&w, &s))
            goto done;
    }
    mark_flagged(&w);
    if (!spread_flags(&w))
        goto done;
    for (size_t i = 0; i < w.n_sy; i++)
        w.ti[w.sy[i].focus - 1].symptom_focus = true;
    if (!turn_tables(&w))
        goto done;
    if (!find_implicit(&w))
        goto done;
    for (size_t i = 0; i < w.n_sy; i++)
        resolve(&w, i);
    if (!adopt(&w))
        goto done;

    /* merge by root turn, in turn order */
    struct order *ord = msx_arena_alloc(w.a, (w.n_sy + 1) * sizeof *ord);
    size_t *members = msx_arena_alloc(w.a, (w.n_sy + 1) * sizeof *members);
    if (!members || !ord)
        goto done;
    size_t no = 0;
    for (size_t i = 0; i < w.n_sy; i++)
        if (w.sy[i].how != H_NONE)
            ord[no++] = (struct order){w.sy[i].root, 0, i};
    qsort(ord, no, sizeof *ord, order_cmp);
    for (size_t g = 0; g < no;) {
        int64_t r = ord[g].key;
        size_t nm = 0;
        bool later = false;
        for (; g < no && ord[g].key == r; g++) {
            const struct sym *s = &w.sy[ord[g].idx];
            members[nm++] = ord[g].idx;
            /* a root is told only when something crossed turns: content
             * or a document carried from an earlier turn, or a history
             * break or the window passed before a later symptom, or a
             * correction of an answer that rested on a bad source. A
             * symptom that is its own cause (or a correction of the turn
             * before with nothing wrong found in it) only joins a root. */
            if (((s->how == H_CONTENT || s->how == H_DOC) && s->root < s->focus) ||
                (s->how == H_STRUCT && s->turn > s->root) ||
                /* the corrected answer rested on an outdated document or
                 * a failed tool call of its own turn */
                (s->cls == C_CORRECTION && s->turn > s->root &&
                 (s->how == H_DOC || (s->how == H_OWN && s->failed_tool))))
                later = true;
        }
        if (nm && later && !emit_group(&w, r, members, nm))
            goto done;
    }
    rc = MS_OK;
done:
    msx_json_parser_free(jp);
    return rc;
}

const struct msi_analyzer msi_analyzer_cause = {"cause", cause_rules,
                                                sizeof cause_rules / sizeof cause_rules[0],
                                                run_cause};
