/* SPDX-License-Identifier: MIT
 *
 * friction.c - the user's side of a conversation going wrong, read from the
 * transcript alone: corrections ("No, that's the wrong order"), repeats ("I
 * told you already", the same request again, an order number given a second
 * time because the assistant asked for it again), requests for a human,
 * assistant refusals and fallbacks, and the user leaving right after a
 * problem.
 *
 * Matching is by word phrases over a normalised token stream (ASCII
 * lower-cased, apostrophes dropped so "that's" and "thats" are one word,
 * sentences kept apart), from one table per rule below; docs/rules/friction.md
 * lists the tables. No regexes, no locale, no allocation outside the
 * scratch arena: the same transcript always gives the same findings.
 * Depends on the transcript (session.h) and the findings contract only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze_int.h"
#include "util/utf8.h"

static const ms_rule_info rules[] = {
    {"friction.correction", "friction", MS_SEV_WARN,
     "the user corrects or contradicts the assistant's previous answer"},
    {"friction.repeat", "friction", MS_SEV_WARN,
     "the user repeats a request or information already given"},
    {"friction.human", "friction", MS_SEV_WARN,
     "the user asks for a human, a manager or the store"},
    {"friction.refusal", "friction", MS_SEV_WARN,
     "the assistant refuses or answers with a fallback (\"I can't\", \"could you rephrase\")"},
    {"friction.abandon", "friction", MS_SEV_WARN,
     "the session ends right after an error, a correction or the user giving up"},
};

/* ---- phrase tables ----------------------------------------------------
 *
 * A phrase is words separated by single spaces, written as the normaliser
 * leaves them: lower case, no apostrophes ("thats", "dont", "ill"). "*"
 * matches any one word; a leading "^" anchors the phrase at the start of a
 * sentence. A phrase never spans two sentences. Keep each table to phrases
 * that are a correction (etc.) on their own, whatever follows: a false
 * alarm on a clean session costs more than a missed weak signal. */

/* friction.correction: in the user's message of turn >= 2 */
static const char *const correction_phrases[] = {
    /* en */
    "thats wrong", "that is wrong", "thats not right", "that is not right", "thats not correct",
    "that is not correct", "thats incorrect", "that is incorrect", "thats not true",
    "that is not true", "thats not what i", "that is not what i", "thats the wrong",
    "that is the wrong", "thats not it", "that isnt right", "that isnt what", "not what i asked",
    "not what i meant", "not what i said", "not what i wanted", "you got it wrong",
    "you got the * wrong", "you got my * wrong", "you have the * wrong", "you wrote the * wrong",
    "you misspelled", "you misread",
    "you got that wrong", "youre wrong", "you are wrong", "wrong again", "still wrong",
    "you got the wrong", "you have the wrong", "you picked the wrong", "you checked the wrong",
    "you looked up the wrong", "you looked at the wrong", "but i said", "no i said",
    "i said * not", "i said * * not", "i said * * * not",
    "but i asked", "no i asked", "what i asked", "i asked you", "^no i meant", "i didnt ask",
    "i did not ask", "i never said", "you misunderstood", "misunderstood me", "you mixed up",
    "^no i wanted", "^no i was asking", "^no not that", "^no not the",
    /* de */
    "das ist falsch", "das stimmt nicht", "nicht das was ich", "ich sagte", "ich habe gesagt",
    "^nein das ist",
    /* fr */
    "cest faux", "ce nest pas ce que", "^non cest pas", "jai dit",
    /* es */
    "eso es incorrecto", "no es lo que", "^no eso no",
};

/* friction.repeat: the user says they are repeating themselves */
static const char *const repeat_phrases[] = {
    /* en */
    "i told you", "ive told you", "i have told you", "i already told", "i already said",
    "i already gave", "i already mentioned", "i already provided", "i already asked",
    "as i said", "like i said", "as i mentioned", "as i already", "i just said", "i just told",
    "i just gave", "how many times do i", "how many times have i", "i repeat",
    /* de */
    "hab ich doch", "habe ich doch", "habe ich schon", "hab ich schon", "wie gesagt",
    /* fr */
    "je vous ai deja", "je tai deja", "comme je lai dit", "je vous ai d\xc3\xa9j\xc3\xa0",
    "je tai d\xc3\xa9j\xc3\xa0",
    /* es */
    "ya te dije", "ya le dije", "como dije",
};

/* friction.human: the user wants a person or another channel */
static const char *const human_phrases[] = {
    /* en */
    "to a human", "want a human", "need a human", "get a human", "with a human", "human agent",
    "human being", "real human", "human please",
    "^human", "real person", "speak to someone", "talk to someone", "speak to a", "talk to a",
    "speak with a", "talk with a", "speak to an", "talk to an", "speak to your", "talk to your",
    "speak to the manager", "talk to the manager", "want a manager", "get a manager",
    "your manager", "manager please", "want a supervisor", "get a supervisor", "your supervisor",
    "supervisor please", "a representative please",
    "representative please", "customer service representative", "support representative",
    "live representative", "human operator", "operator please", "live agent",
    "real agent", "to an agent", "an agent please", "call the store", "call the shop",
    "call your", "call support", "ill call", "i will call", "contact the store",
    "put me through", "connect me to", "connect me with", "transfer me",
    "someone from your team", "someone from the team", "someone in charge",
    /* de */
    "mitarbeiter", "mensch", "echte person",
    /* fr */
    "un humain", "une vraie personne", "un conseiller",
    /* es */
    "persona real", "un humano", "un agente",
};

/* friction.refusal: in the assistant's answer */
static const char *const refusal_phrases[] = {
    /* en */
    "im sorry but i cant", "sorry i cant", "sorry i cannot", "i cant help", "i cannot help",
    "i cant assist", "i cannot assist", "im unable to", "i am unable to", "im not able to",
    "i am not able to", "i dont have access", "i do not have access", "i cannot provide",
    "i cant provide", "as an ai", "i could not find anything", "i couldnt find anything",
    "i did not find anything", "i didnt find anything", "could you rephrase",
    "can you rephrase", "please rephrase", "i dont know", "i do not know",
    "i dont have information", "i do not have information", "i dont have any information",
    "i didnt understand", "i did not understand", "i can only help with", "outside my scope",
    "i cannot answer", "i cant answer",
    /* de */
    "ich kann leider nicht", "ich kann ihnen nicht", "keinen zugriff",
    /* fr */
    "je ne peux pas", "je nai pas acces", "je nai pas acc\xc3\xa8s",
    /* es */
    "no puedo ayudar", "no tengo acceso",
};

/* friction.abandon: the user gives up, whatever came before */
static const char *const giveup_phrases[] = {
    /* en */
    "forget it", "forget about it", "i give up", "this is useless", "you are useless",
    "youre useless", "totally useless", "completely useless", "so useless", "waste of time",
    "ill call",
    "i will call", "ill go elsewhere", "screw it",
    /* de */
    "vergiss es", "ich gebe auf",
    /* fr */
    "laisse tomber", "jabandonne",
    /* es */
    "olvidalo", "olv\303\255dalo", "me rindo",
};

/* friction.abandon: gives up only after a problem (error, failed tool,
 * refusal, correction) in the turn before */
static const char *const weak_giveup_phrases[] = {
    "never mind", "nevermind", "nvm", "whatever", "schon gut", "egal", "tant pis",
    "da igual",
};

/* The assistant asks for something (for "given again" repeats). */
static const char *const ask_phrases[] = {
    "order number", "which order", "order id", "reference number", "tell me your",
    "what is your", "whats your", "give me your", "provide your", "share your", "confirm your",
};

/* Words too common to say two requests are the same one. */
static const char *const stopwords[] = {
    "a", "about", "again", "also", "am", "an", "and", "any", "are", "as", "at", "be", "but",
    "by", "can", "could", "did", "do", "does", "for", "from", "had", "has", "have", "hello",
    "hi", "how", "i", "if", "in", "is", "it", "its", "me", "my", "no", "not", "of", "ok",
    "okay", "on", "or", "our", "please", "so", "some", "thank", "thanks", "that", "the",
    "then", "there", "these", "this", "those", "to", "up", "was", "we", "were", "what",
    "when", "where", "which", "who", "why", "will", "with", "would", "yes", "you", "your",
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- tokens ------------------------------------------------------------ */

struct tok {
    const char *p;  /* the word in the original text */
    size_t len;
    char *norm;     /* lower case, no apostrophes, NUL-terminated */
    size_t sent;    /* sentence number */
    bool first;     /* first word of its sentence */
};

struct toks {
    struct tok *v;
    size_t n;
};

/* Is s[i] the start of U+2018/U+2019 (quotes used as apostrophes)? */
static bool is_uapos(const unsigned char *s, size_t n, size_t i)
{
    return i + 2 < n && s[i] == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0x98 || s[i + 2] == 0x99);
}

/* Other general punctuation (U+2000-U+203F: dashes, quotes, ellipsis). */
static bool is_upunct(const unsigned char *s, size_t n, size_t i)
{
    return i + 2 < n && s[i] == 0xE2 && s[i + 1] == 0x80;
}

static bool is_alnum(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* Splits text into words; false when out of memory. */
static bool tokenize(struct msx_arena *a, ms_str text, struct toks *out)
{
    const unsigned char *s = (const unsigned char *)text.ptr;
    size_t n = s ? text.len : 0;
    out->v = NULL;
    out->n = 0;
    size_t cap = n / 2 + 1;
    out->v = msx_arena_alloc(a, cap * sizeof *out->v);
    if (!out->v)
        return false;
    size_t sent = 0;
    bool sent_has = false;
    size_t i = 0;
    while (i < n) {
        unsigned char ch = s[i];
        bool word = is_alnum(ch) || (ch >= 0x80 && !is_upunct(s, n, i));
        if (!word) {
            bool end = ch == '.' || ch == '!' || ch == '?' || ch == ';' || ch == '\n' ||
                       (is_upunct(s, n, i) && s[i + 2] == 0xA6); /* ellipsis */
            if (end && sent_has) {
                sent++;
                sent_has = false;
            }
            i += is_upunct(s, n, i) ? 3 : 1;
            continue;
        }
        size_t start = i;
        while (i < n) {
            ch = s[i];
            if (is_alnum(ch) || ch == '\'') {
                i++;
            } else if (is_uapos(s, n, i)) {
                i += 3;
            } else if (ch >= 0x80 && !is_upunct(s, n, i)) {
                size_t l = msx_utf8_decode(s, n, i, NULL);
                i += l ? l : 1;
            } else if (ch == '-' && i + 1 < n && is_alnum(s[i + 1])) {
                i++;
            } else {
                break;
            }
        }
        size_t len = i - start;
        char *norm = msx_arena_alloc(a, len + 1);
        if (!norm)
            return false;
        size_t m = 0;
        for (size_t j = start; j < i; j++) {
            unsigned char b = s[j];
            if (b == '\'')
                continue;
            if (is_uapos(s, i, j)) {
                j += 2;
                continue;
            }
            norm[m++] = (char)(b >= 'A' && b <= 'Z' ? b + 32 : b);
        }
        norm[m] = '\0';
        if (m == 0)
            continue;
        if (out->n == cap)
            break; /* cannot happen: a word takes at least two bytes with its separator */
        out->v[out->n++] = (struct tok){(const char *)s + start, len, norm, sent, !sent_has};
        sent_has = true;
    }
    return true;
}

/* Does the word w (length wl) equal the NUL-terminated norm? */
static bool word_eq(const char *w, size_t wl, const char *norm)
{
    return strlen(norm) == wl && memcmp(w, norm, wl) == 0;
}

/* Finds phrase in t; on a match sets *first and *last to its token range. */
static bool phrase_find(const struct toks *t, const char *phrase, size_t *first, size_t *last)
{
    bool anchored = phrase[0] == '^';
    if (anchored)
        phrase++;
    for (size_t st = 0; st < t->n; st++) {
        if (anchored && !t->v[st].first)
            continue;
        const char *p = phrase;
        size_t k = st;
        bool ok = true;
        while (*p) {
            const char *e = strchr(p, ' ');
            size_t wl = e ? (size_t)(e - p) : strlen(p);
            if (k >= t->n || t->v[k].sent != t->v[st].sent ||
                !((wl == 1 && p[0] == '*') || word_eq(p, wl, t->v[k].norm))) {
                ok = false;
                break;
            }
            k++;
            p += wl;
            if (*p == ' ')
                p++;
        }
        if (ok) {
            *first = st;
            *last = k - 1;
            return true;
        }
    }
    return false;
}

/* The first phrase of the table found in t: the original words it matched. */
static bool table_find(const struct toks *t, const char *const *table, size_t n, ms_str *hit)
{
    for (size_t i = 0; i < n; i++) {
        size_t a, b;
        if (phrase_find(t, table[i], &a, &b)) {
            hit->ptr = t->v[a].p;
            hit->len = (size_t)(t->v[b].p + t->v[b].len - t->v[a].p);
            return true;
        }
    }
    return false;
}

static bool is_stopword(const char *w)
{
    for (size_t i = 0; i < N_OF(stopwords); i++)
        if (strcmp(stopwords[i], w) == 0)
            return true;
    return false;
}

/* An identifier a user gives: a word with a digit and a letter, or three
 * digits ("a-1077", "1z1077x", "12345"). */
static bool is_ident(const char *w)
{
    size_t digits = 0, letters = 0;
    for (const char *p = w; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else if (*p >= 'a' && *p <= 'z')
            letters++;
    }
    return strlen(w) >= 3 && digits >= 3 && (letters > 0 || strchr(w, '-') || digits >= 4);
}

/* Distinct content words of t (no stopwords, no one-letter words). */
static size_t content_words(const struct toks *t, const char **out)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        const char *w = t->v[i].norm;
        if (strlen(w) < 2 || is_stopword(w))
            continue;
        bool dup = false;
        for (size_t j = 0; j < n && !dup; j++)
            dup = strcmp(out[j], w) == 0;
        if (!dup)
            out[n++] = w;
    }
    return n;
}

/* ---- per turn ---------------------------------------------------------- */

struct tinfo {
    ms_str user;        /* the user's new message, {NULL,0} if none */
    ms_str answer;      /* the assistant's last non-empty answer */
    struct toks ut, at;
    const char **cw;    /* content words of user */
    size_t n_cw;
    bool correction, refusal, failed_tool, error;
};

static bool nonblank(ms_str s)
{
    for (size_t i = 0; i < s.len; i++)
        if (s.ptr[i] != ' ' && s.ptr[i] != '\n' && s.ptr[i] != '\t' && s.ptr[i] != '\r')
            return true;
    return false;
}

/* The user's message of a turn: the last user message of its input. */
static ms_str user_text(const ms_turn *t)
{
    for (size_t i = t->n_input; i > 0; i--)
        if (t->input[i - 1].role == MS_ROLE_USER && t->input[i - 1].text.ptr &&
            nonblank(t->input[i - 1].text))
            return t->input[i - 1].text;
    return (ms_str){NULL, 0};
}

static ms_str answer_text(const ms_turn *t)
{
    for (size_t i = t->n_output; i > 0; i--)
        if ((t->output[i - 1].role == MS_ROLE_ASSISTANT ||
             t->output[i - 1].role == MS_ROLE_OTHER) &&
            t->output[i - 1].text.ptr && nonblank(t->output[i - 1].text))
            return t->output[i - 1].text;
    return (ms_str){NULL, 0};
}

/* s abbreviated to max bytes for a one-line quote: whitespace runs become
 * one space, the cut is UTF-8 safe and marked "...". */
static const char *quote(struct msx_arena *a, ms_str s, size_t max)
{
    char *q = msx_arena_alloc(a, max + 4);
    if (!q)
        return "";
    size_t m = 0;
    bool sp = false;
    size_t i = 0;
    while (i < s.len &&
           (s.ptr[i] == ' ' || s.ptr[i] == '\n' || s.ptr[i] == '\t' || s.ptr[i] == '\r'))
        i++;
    for (; i < s.len && m < max; i++) {
        char ch = s.ptr[i];
        if (ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r') {
            sp = true;
            continue;
        }
        if (sp && m > 0 && m < max)
            q[m++] = ' ';
        sp = false;
        if (m < max)
            q[m++] = ch;
    }
    bool cut = i < s.len;
    if (cut) {
        /* never split a code point: drop a partial sequence at the end */
        if (((unsigned char)s.ptr[i] & 0xC0) == 0x80) {
            while (m > 0 && ((unsigned char)q[m - 1] & 0xC0) == 0x80)
                m--;
            if (m > 0 && ((unsigned char)q[m - 1] & 0xC0) == 0xC0)
                m--;
        }
        memcpy(q + m, "...", 3);
        m += 3;
    }
    q[m] = '\0';
    return q;
}

static bool has_qmark(ms_str s)
{
    return s.ptr && memchr(s.ptr, '?', s.len) != NULL;
}

/* An identifier in the user's message at turn k (index) that the user
 * already gave at an earlier turn: the word as written, and that turn's
 * index. */
static bool ident_given_before(const struct tinfo *ti, size_t k, ms_str *word, size_t *turn)
{
    const struct toks *t = &ti[k].ut;
    for (size_t i = 0; i < t->n; i++) {
        if (!is_ident(t->v[i].norm))
            continue;
        for (size_t j = 0; j < k; j++)
            for (size_t w = 0; w < ti[j].ut.n; w++)
                if (strcmp(ti[j].ut.v[w].norm, t->v[i].norm) == 0) {
                    *word = (ms_str){t->v[i].p, t->v[i].len};
                    *turn = j;
                    return true;
                }
    }
    return false;
}

/* Jaccard similarity of two content-word sets, in percent. */
static int overlap_pct(const char **a, size_t na, const char **b, size_t nb)
{
    if (na == 0 || nb == 0)
        return 0;
    size_t both = 0;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (strcmp(a[i], b[j]) == 0) {
                both++;
                break;
            }
    return (int)(both * 100 / (na + nb - both));
}

#define REPEAT_MIN_WORDS 3   /* content words each message needs */
#define REPEAT_MIN_PCT 60    /* Jaccard overlap of content words */
#define REPEAT_MAX_WORDS 25  /* longer messages are content (a pasted email,
                                a log), not a request: two pastes of similar
                                emails are not a repeat */
#define REPEAT_WINDOW 3      /* compared with the user's last 3 messages: a
                                rephrase follows the answer it did not like;
                                a question asked again 10 turns later is a
                                new topic, not friction */

/* The earlier user message (of the last REPEAT_WINDOW) most like turn
 * k's (index), if it shares at least REPEAT_MIN_PCT of the content words
 * (the earliest on ties). */
static bool similar_before(const struct tinfo *ti, size_t k, size_t *turn, int *pct)
{
    if (ti[k].n_cw < REPEAT_MIN_WORDS || ti[k].n_cw > REPEAT_MAX_WORDS)
        return false;
    int best = 0;
    for (size_t j = k > REPEAT_WINDOW ? k - REPEAT_WINDOW : 0; j < k; j++) {
        if (ti[j].n_cw < REPEAT_MIN_WORDS || ti[j].n_cw > REPEAT_MAX_WORDS)
            continue;
        int p = overlap_pct(ti[k].cw, ti[k].n_cw, ti[j].cw, ti[j].n_cw);
        if (p > best) {
            best = p;
            *turn = j;
        }
    }
    *pct = best;
    return best >= REPEAT_MIN_PCT;
}

#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static ms_code add(struct msi_ctx *c, const char *rule, const ms_turn *t, ms_str excerpt,
                   const char *fmt, ...)
{
    if (!msi_rule_selected(c->o, rule))
        return MS_OK;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* the JSON path of the evidence: the I/O span's inputs (the user's
     * message) or outputs (the answer, for refusals) */
    const char *attr = strcmp(rule, "friction.refusal") == 0 ? "mlflow.spanOutputs"
                                                             : "mlflow.spanInputs";
    char path[64];
    ms_str p = {NULL, 0};
    ms_str span = t->io_span_id;
    for (size_t i = 0; t->io_source == MS_IO_SPAN && span.len && t->trace &&
                       i < t->trace->n_spans;
         i++) {
        const ms_span *sp = &t->trace->spans[i];
        if (strlen(sp->span_id) == span.len && memcmp(sp->span_id, span.ptr, span.len) == 0) {
            if (ms_span_attr(sp, attr)) {
                int n = snprintf(path, sizeof path, "spans[%zu].attributes.\"%s\"", i, attr);
                p = (ms_str){path, n > 0 ? (size_t)n : 0};
            }
            break;
        }
    }
    ms_finding *f = msi_finding_add(c, rule, MS_SEV_WARN, t, span, p, excerpt, "%s", line);
    return f ? MS_OK : MS_E_NOMEM;
}

static ms_code abandon(struct msi_ctx *c, struct tinfo *ti, size_t n);

static ms_code run_friction(struct msi_ctx *c)
{
    const ms_session *s = c->s;
    if (!s || s->n_turns == 0)
        return MS_OK;
    struct msx_arena *a = c->tmp;
    size_t n = s->n_turns;
    struct tinfo *ti = msx_arena_calloc(a, n, sizeof *ti);
    if (!ti)
        return MS_E_NOMEM;

    for (size_t k = 0; k < n; k++) {
        const ms_turn *t = &s->turns[k];
        ti[k].user = user_text(t);
        ti[k].answer = answer_text(t);
        if (!tokenize(a, ti[k].user, &ti[k].ut) || !tokenize(a, ti[k].answer, &ti[k].at))
            return MS_E_NOMEM;
        ti[k].cw = msx_arena_alloc(a, (ti[k].ut.n + 1) * sizeof *ti[k].cw);
        if (!ti[k].cw)
            return MS_E_NOMEM;
        ti[k].n_cw = content_words(&ti[k].ut, ti[k].cw);
        ti[k].error = t->trace && t->trace->info.state == MS_STATE_ERROR;
        for (size_t i = 0; i < t->n_tools; i++)
            ti[k].failed_tool |= t->tools[i].failed;
    }

    ms_code rc = MS_OK;
    for (size_t k = 0; k < n && rc == MS_OK; k++) {
        const ms_turn *t = &s->turns[k];
        struct tinfo *cur = &ti[k];
        ms_str hit;
        const char *uq = cur->user.ptr ? quote(a, cur->user, 120) : "";

        /* correction: needs an earlier turn to correct */
        if (cur->user.ptr && k > 0 &&
            table_find(&cur->ut, correction_phrases, N_OF(correction_phrases), &hit)) {
            cur->correction = true;
            if (ti[k - 1].answer.ptr)
                rc = add(c, "friction.correction", t, cur->user,
                         "the user corrects turn %zu's answer (\"%s\"): \"%s\"", k,
                         quote(a, hit, 40), uq);
            else
                rc = add(c, "friction.correction", t, cur->user,
                         "the user corrects the assistant (\"%s\") after turn %zu, which "
                         "recorded no answer: \"%s\"",
                         quote(a, hit, 40), k, uq);
            if (rc != MS_OK)
                break;
        }

        /* repeat: said so, information given again because the assistant
         * asked for it again, or the same request again */
        if (cur->user.ptr && k > 0) {
            ms_str word;
            size_t given;
            int pct;
            if (table_find(&cur->ut, repeat_phrases, N_OF(repeat_phrases), &hit)) {
                rc = add(c, "friction.repeat", t, cur->user,
                         "the user says they are repeating themselves (\"%s\"): \"%s\"",
                         quote(a, hit, 40), uq);
            } else if (ti[k - 1].answer.ptr && has_qmark(ti[k - 1].answer) &&
                       table_find(&ti[k - 1].at, ask_phrases, N_OF(ask_phrases), &hit) &&
                       ident_given_before(ti, k, &word, &given)) {
                rc = add(c, "friction.repeat", t, cur->user,
                         "the user gives %.*s again (first given at turn %zu) after turn %zu "
                         "asked for it: \"%s\"",
                         (int)word.len, word.ptr, given + 1, k, quote(a, ti[k - 1].answer, 80));
            } else if (similar_before(ti, k, &given, &pct)) {
                rc = add(c, "friction.repeat", t, cur->user,
                         "the user repeats turn %zu's request (%d%% of the words shared): "
                         "\"%s\" after \"%s\"",
                         given + 1, pct, uq, quote(a, ti[given].user, 80));
            }
            if (rc != MS_OK)
                break;
        }

        if (cur->user.ptr && table_find(&cur->ut, human_phrases, N_OF(human_phrases), &hit)) {
            rc = add(c, "friction.human", t, cur->user,
                     "the user asks for a human or another channel (\"%s\"): \"%s\"",
                     quote(a, hit, 40), uq);
            if (rc != MS_OK)
                break;
        }

        if (cur->answer.ptr &&
            table_find(&cur->at, refusal_phrases, N_OF(refusal_phrases), &hit)) {
            cur->refusal = true;
            rc = add(c, "friction.refusal", t, cur->answer,
                     "the assistant refuses or falls back (\"%s\"): \"%s\"", quote(a, hit, 40),
                     quote(a, cur->answer, 120));
            if (rc != MS_OK)
                break;
        }
    }
    if (rc != MS_OK)
        return rc;
    return abandon(c, ti, n);
}

/* friction.abandon, judged on the last turn: the user gives up, corrects
 * the assistant and leaves, says "never mind" right after a problem, or
 * the last turn failed outright. */
static ms_code abandon(struct msi_ctx *c, struct tinfo *ti, size_t n)
{
    struct msx_arena *a = c->tmp;
    size_t L = n - 1;
    const ms_turn *last = &c->s->turns[L];
    const struct tinfo *lt = &ti[L];
    ms_str hit;
    char why[160];
    why[0] = '\0';
    if (lt->user.ptr && table_find(&lt->ut, giveup_phrases, N_OF(giveup_phrases), &hit)) {
        snprintf(why, sizeof why, "the user gives up (\"%s\")", quote(a, hit, 40));
    } else if (lt->correction) {
        snprintf(why, sizeof why, "the user's correction");
    } else if (lt->user.ptr && L > 0 &&
               table_find(&lt->ut, weak_giveup_phrases, N_OF(weak_giveup_phrases), &hit)) {
        const struct tinfo *pt = &ti[L - 1];
        const char *prob = pt->error         ? "an error"
                           : pt->failed_tool ? "a failed tool call"
                           : pt->refusal     ? "a refusal"
                           : pt->correction  ? "a correction"
                                             : NULL;
        if (prob)
            snprintf(why, sizeof why, "the user gives up (\"%s\") after %s at turn %zu",
                     quote(a, hit, 40), prob, L);
    } else if (lt->error) {
        snprintf(why, sizeof why,
                 "its trace failed (state ERROR), leaving the user without an answer");
    }
    if (!why[0])
        return MS_OK;
    if (lt->user.ptr)
        return add(c, "friction.abandon", last, lt->user,
                   "the session ends at turn %zu right after %s: \"%s\"", L + 1, why,
                   quote(a, lt->user, 120));
    return add(c, "friction.abandon", last, lt->user, "the session ends at turn %zu right after %s",
               L + 1, why);
}

const struct msi_analyzer msi_analyzer_friction = {"friction", rules, N_OF(rules), run_friction};
