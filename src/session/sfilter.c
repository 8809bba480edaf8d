/* SPDX-License-Identifier: MIT
 *
 * The session filter language (docs/filters.md): a hand-written lexer and
 * recursive-descent parser (not > and > or) that keeps the byte offset of
 * every token for messages, and the evaluator over a session summary and,
 * for the per-turn atoms, over one trace and its spans.
 *
 * A comparison with a missing value (a null field, an absent tag, a scorer
 * error) is false whatever the operator, negated ones included; `not`
 * negates the result. The SQL of sfilter_sql.c follows the same rule with
 * COALESCE, so both paths agree. Depends on libc, util/ and filter/util.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter/filter_int.h"
#include "session/sfilter_int.h"
#include "util/buf.h"
#include "util/timefmt.h"

#define MSI_SF_MAX_LEN ((size_t)1 << 20)
#define MSI_SF_MAX_DEPTH 200
#define MSI_SF_MAX_LIST 4096
#define MSI_SF_MAX_CMP 4096

static const struct msi_sf_fdef fields[] = {
    {"id", MSI_SF_ID, MSI_SK_STR, MSI_SF_SESSION, false},
    {"session", MSI_SF_ID, MSI_SK_STR, MSI_SF_SESSION, false},
    {"user", MSI_SF_USER, MSI_SK_STR, MSI_SF_SESSION, false},
    {"experiment", MSI_SF_EXPERIMENT, MSI_SK_STR, MSI_SF_SESSION, false},
    {"turns", MSI_SF_TURNS, MSI_SK_INT, MSI_SF_SESSION, false},
    {"errors", MSI_SF_ERRORS, MSI_SK_INT, MSI_SF_SESSION, false},
    {"in_progress", MSI_SF_IN_PROGRESS, MSI_SK_INT, MSI_SF_SESSION, false},
    {"tokens.input", MSI_SF_TOK_INPUT, MSI_SK_INT, MSI_SF_SESSION, false},
    {"tokens.output", MSI_SF_TOK_OUTPUT, MSI_SK_INT, MSI_SF_SESSION, false},
    {"tokens.cached", MSI_SF_TOK_CACHED, MSI_SK_INT, MSI_SF_SESSION, false},
    {"tokens.total", MSI_SF_TOK_TOTAL, MSI_SK_INT, MSI_SF_SESSION, false},
    {"cost", MSI_SF_COST, MSI_SK_NUM, MSI_SF_SESSION, false},
    {"duration", MSI_SF_DURATION, MSI_SK_DUR, MSI_SF_SESSION, false},
    {"busy", MSI_SF_BUSY, MSI_SK_DUR, MSI_SF_SESSION, false},
    {"idle", MSI_SF_IDLE, MSI_SK_DUR, MSI_SF_SESSION, false},
    {"idle.max", MSI_SF_IDLE_MAX, MSI_SK_DUR, MSI_SF_SESSION, false},
    {"latency.p50", MSI_SF_LAT_P50, MSI_SK_DUR, MSI_SF_SESSION, false},
    {"latency.p95", MSI_SF_LAT_P95, MSI_SK_DUR, MSI_SF_SESSION, false},
    {"first", MSI_SF_FIRST, MSI_SK_TIME, MSI_SF_SESSION, false},
    {"last", MSI_SF_LAST, MSI_SK_TIME, MSI_SF_SESSION, false},
    {"first_input", MSI_SF_FIRST_INPUT, MSI_SK_STR, MSI_SF_SESSION, false},
    {"last_output", MSI_SF_LAST_OUTPUT, MSI_SK_STR, MSI_SF_SESSION, false},
    {"score", MSI_SF_SCORE, MSI_SK_SCORE, MSI_SF_SESSION, true},
    {"turn.status", MSI_TF_STATUS, MSI_SK_STATUS, MSI_SF_TURN, false},
    {"turn.latency", MSI_TF_LATENCY, MSI_SK_DUR, MSI_SF_TURN, false},
    {"turn.tokens.input", MSI_TF_TOK_INPUT, MSI_SK_INT, MSI_SF_TURN, false},
    {"turn.tokens.output", MSI_TF_TOK_OUTPUT, MSI_SK_INT, MSI_SF_TURN, false},
    {"turn.tokens.total", MSI_TF_TOK_TOTAL, MSI_SK_INT, MSI_SF_TURN, false},
    {"turn.input", MSI_TF_INPUT, MSI_SK_STR, MSI_SF_TURN, false},
    {"turn.output", MSI_TF_OUTPUT, MSI_SK_STR, MSI_SF_TURN, false},
    {"turn.name", MSI_TF_NAME, MSI_SK_STR, MSI_SF_TURN, false},
    {"tag", MSI_TF_TAG, MSI_SK_STR, MSI_SF_TURN, true},
    {"metadata", MSI_TF_METADATA, MSI_SK_STR, MSI_SF_TURN, true},
    {"span.type", MSI_PF_TYPE, MSI_SK_STR, MSI_SF_SPAN, false},
    {"span.status", MSI_PF_STATUS, MSI_SK_SPAN_STATUS, MSI_SF_SPAN, false},
    {"span.name", MSI_PF_NAME, MSI_SK_STR, MSI_SF_SPAN, false},
    {"span.duration", MSI_PF_DURATION, MSI_SK_DUR, MSI_SF_SPAN, false},
};

/* ---- lexer -------------------------------------------------------------- */

enum tk { T_EOF = 0, T_NAME, T_STR, T_NUM, T_BAREDUR, T_LP, T_RP, T_COMMA, T_OP };

struct tok {
    enum tk k;
    size_t off, len;
    enum msi_sf_op op; /* T_OP */
    bool ne;           /* T_OP != */
};

struct parser {
    const char *s;
    size_t n;
    size_t pos;
    struct tok t; /* current token */
    char *sbuf;   /* T_STR: the decoded string */
    size_t slen, scap;
    struct ms_error *err;
    ms_sfilter *f;
    int depth;
    int n_cmp;
    bool in_turn; /* inside any(...)/all(...) */
    ms_code rc;
};

static ms_code fail(struct parser *p, size_t off, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static ms_code fail(struct parser *p, size_t off, const char *fmt, ...)
{
    if (p->rc != MS_OK)
        return p->rc; /* keep the first */
    p->rc = MS_E_PARSE;
    if (p->err) {
        va_list ap;
        va_start(ap, fmt);
        p->err->code = MS_E_PARSE;
        p->err->offset = (int64_t)(off > p->n ? p->n : off);
        vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
        va_end(ap);
    }
    return MS_E_PARSE;
}

static ms_code nomem(struct parser *p)
{
    if (p->rc != MS_OK)
        return p->rc;
    p->rc = MS_E_NOMEM;
    if (p->err) {
        p->err->code = MS_E_NOMEM;
        p->err->offset = -1;
        snprintf(p->err->msg, sizeof p->err->msg, "out of memory while parsing the filter");
    }
    return MS_E_NOMEM;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_name_char(unsigned char c)
{
    return is_alpha(c) || is_digit((char)c);
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool sadd(struct parser *p, char c)
{
    if (p->slen + 1 >= p->scap) {
        size_t ncap = p->scap ? p->scap * 2 : 64;
        char *nb = realloc(p->sbuf, ncap);
        if (!nb)
            return false;
        p->sbuf = nb;
        p->scap = ncap;
    }
    p->sbuf[p->slen++] = c;
    p->sbuf[p->slen] = '\0';
    return true;
}

/* Lexes the next token at p->pos into p->t. */
static ms_code lex(struct parser *p)
{
    while (p->pos < p->n && is_ws(p->s[p->pos]))
        p->pos++;
    struct tok *t = &p->t;
    memset(t, 0, sizeof *t);
    t->off = p->pos;
    if (p->pos >= p->n) {
        t->k = T_EOF;
        return MS_OK;
    }
    const char *s = p->s;
    size_t i = p->pos;
    char c = s[i];
    if (c == '(' || c == ')' || c == ',') {
        t->k = c == '(' ? T_LP : c == ')' ? T_RP : T_COMMA;
        t->len = 1;
        p->pos++;
        return MS_OK;
    }
    if (c == '=' || c == '!' || c == '<' || c == '>') {
        t->k = T_OP;
        size_t k = 1;
        char d = i + 1 < p->n ? s[i + 1] : '\0';
        if (c == '=') {
            t->op = MSI_SO_EQ;
            if (d == '=')
                k = 2;
        } else if (c == '!') {
            if (d != '=')
                return fail(p, i, "expected '!=' here");
            t->op = MSI_SO_EQ;
            t->ne = true;
            k = 2;
        } else if (c == '<') {
            if (d == '=') {
                t->op = MSI_SO_LE;
                k = 2;
            } else if (d == '>') {
                t->op = MSI_SO_EQ;
                t->ne = true;
                k = 2;
            } else
                t->op = MSI_SO_LT;
        } else {
            t->op = d == '=' ? MSI_SO_GE : MSI_SO_GT;
            k = d == '=' ? 2 : 1;
        }
        t->len = k;
        p->pos += k;
        return MS_OK;
    }
    if (c == '\'' || c == '"') {
        p->slen = 0;
        if (!sadd(p, 'x'))
            return nomem(p);
        p->slen = 0;
        p->sbuf[0] = '\0';
        i++;
        for (;;) {
            if (i >= p->n)
                return fail(p, t->off, "unterminated string");
            char ch = s[i];
            if (ch == c) {
                i++;
                break;
            }
            if (ch == '\\') {
                if (i + 1 >= p->n)
                    return fail(p, t->off, "unterminated string");
                char e = s[i + 1];
                switch (e) {
                case 'n': ch = '\n'; break;
                case 't': ch = '\t'; break;
                case 'r': ch = '\r'; break;
                case '\\': case '\'': case '"': ch = e; break;
                default:
                    /* LIKE and regex patterns keep other escapes as written */
                    if (!sadd(p, '\\'))
                        return nomem(p);
                    ch = e;
                    break;
                }
                i += 2;
            } else {
                i++;
            }
            if (!sadd(p, ch))
                return nomem(p);
        }
        t->k = T_STR;
        t->len = i - t->off;
        p->pos = i;
        return MS_OK;
    }
    if (is_digit(c) || ((c == '-' || c == '+') && i + 1 < p->n && is_digit(s[i + 1]))) {
        i++;
        while (i < p->n && (is_digit(s[i]) || s[i] == '.'))
            i++;
        t->k = T_NUM;
        if (i < p->n && is_alpha((unsigned char)s[i])) {
            /* 10m, 1h30m: a duration written without quotes */
            while (i < p->n && is_name_char((unsigned char)s[i]))
                i++;
            t->k = T_BAREDUR;
        }
        t->len = i - t->off;
        p->pos = i;
        return MS_OK;
    }
    if (is_alpha((unsigned char)c) || c == '`') {
        while (i < p->n) {
            unsigned char ch = (unsigned char)s[i];
            if (is_name_char(ch) || ch == '.') {
                i++;
            } else if (ch == '`') {
                size_t j = i + 1;
                while (j < p->n && s[j] != '`')
                    j++;
                if (j >= p->n)
                    return fail(p, i, "unterminated `quoted name`");
                i = j + 1;
            } else {
                break;
            }
        }
        t->k = T_NAME;
        t->len = i - t->off;
        p->pos = i;
        return MS_OK;
    }
    return fail(p, i, "unexpected character '%c'", (c >= 0x20 && c < 0x7f) ? c : '?');
}

static bool is_kw(const struct parser *p, const char *kw)
{
    if (p->t.k != T_NAME)
        return false;
    size_t k = strlen(kw);
    if (p->t.len != k)
        return false;
    for (size_t i = 0; i < k; i++)
        if (lower(p->s[p->t.off + i]) != kw[i])
            return false;
    return true;
}

/* ---- nodes ---------------------------------------------------------------- */

static void node_free(struct msi_sf_node *n)
{
    if (!n)
        return;
    node_free(n->a);
    node_free(n->b);
    free(n->key);
    for (size_t i = 0; i < n->n_vals; i++)
        free(n->vals[i].s);
    free(n->vals);
    msi_regex_free(n->re);
    free(n);
}

static struct msi_sf_node *node_new(struct parser *p, enum msi_sf_ntype type, size_t off)
{
    struct msi_sf_node *n = calloc(1, sizeof *n);
    if (!n) {
        nomem(p);
        return NULL;
    }
    n->type = type;
    n->off = off;
    if (type == MSI_SN_CMP && ++p->n_cmp > MSI_SF_MAX_CMP) {
        free(n);
        fail(p, off, "too many comparisons (at most %d)", MSI_SF_MAX_CMP);
        return NULL;
    }
    return n;
}

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        if (n)
            memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* ---- field names ------------------------------------------------------------ */

static size_t edit_distance(const char *a, size_t an, const char *b, size_t bn)
{
    if (an > 40 || bn > 40)
        return 99;
    size_t row[41];
    for (size_t j = 0; j <= bn; j++)
        row[j] = j;
    for (size_t i = 1; i <= an; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= bn; j++) {
            size_t cur = row[j];
            size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
            size_t v = prev + cost;
            if (row[j] + 1 < v)
                v = row[j] + 1;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            row[j] = v;
            prev = cur;
        }
    }
    return row[bn];
}

static bool name_eq(const char *a, size_t an, const char *b)
{
    size_t bn = strlen(b);
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++)
        if (lower(a[i]) != b[i])
            return false;
    return true;
}

/* Resolves the field named by the current T_NAME token; *key and key_len get
 * the (owned) key of keyed fields. */
static const struct msi_sf_fdef *resolve(struct parser *p, char **key, size_t *key_len)
{
    const char *s = p->s + p->t.off;
    size_t n = p->t.len;
    *key = NULL;
    *key_len = 0;
    /* in a turn, turn.* may be written without the prefix */
    static const char *const turn_short[] = {"status", "latency", "input", "output", "name",
                                             "tokens.input", "tokens.output", "tokens.total"};
    if (p->in_turn) { /* the short names win inside a turn */
        for (size_t i = 0; i < sizeof turn_short / sizeof turn_short[0]; i++) {
            if (!name_eq(s, n, turn_short[i]))
                continue;
            char full[32];
            snprintf(full, sizeof full, "turn.%s", turn_short[i]);
            for (size_t j = 0; j < sizeof fields / sizeof fields[0]; j++)
                if (strcmp(fields[j].name, full) == 0)
                    return &fields[j];
        }
    }
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const struct msi_sf_fdef *fd = &fields[i];
        size_t fl = strlen(fd->name);
        if (fd->keyed) {
            if (n >= fl + 1 && s[fl] == '.' && name_eq(s, fl, fd->name)) {
                const char *k = s + fl + 1;
                size_t kl = n - fl - 1;
                if (kl >= 2 && k[0] == '`' && k[kl - 1] == '`') {
                    k++;
                    kl -= 2;
                    if (memchr(k, '`', kl)) {
                        fail(p, p->t.off, "a quoted name must be the whole key");
                        return NULL;
                    }
                } else if (memchr(k, '`', kl)) {
                    fail(p, p->t.off, "a quoted name must be the whole key");
                    return NULL;
                }
                if (kl == 0) {
                    fail(p, p->t.off + fl + 1, "expected a name after '%s.'", fd->name);
                    return NULL;
                }
                *key = dupn(k, kl);
                if (!*key) {
                    nomem(p);
                    return NULL;
                }
                *key_len = kl;
                return fd;
            }
            continue;
        }
        if (name_eq(s, n, fd->name))
            return fd;
    }
    /* unknown: suggest the nearest */
    const char *best = NULL;
    size_t bd = 99;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        size_t d = edit_distance(s, n, fields[i].name, strlen(fields[i].name));
        if (d < bd) {
            bd = d;
            best = fields[i].name;
        }
    }
    int show = n > 60 ? 60 : (int)n;
    if (best && bd <= 2)
        fail(p, p->t.off, "unknown field '%.*s' (did you mean '%s%s'?)", show, s, best,
             strcmp(best, "score") == 0 || strcmp(best, "tag") == 0 ||
                     strcmp(best, "metadata") == 0
                 ? ".NAME"
                 : "");
    else
        fail(p, p->t.off, "unknown field '%.*s'", show, s);
    return NULL;
}

/* ---- values ----------------------------------------------------------------- */

static bool parse_int(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '-' || s[i] == '+')) {
        neg = s[i] == '-';
        i++;
    }
    if (i == n)
        return false;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (!is_digit(s[i]))
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return false;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)v;
    }
    return true;
}

static bool parse_decimal(const char *s, size_t n, double *out)
{
    char tmp[64];
    if (n == 0 || n >= sizeof tmp)
        return false;
    size_t dots = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.')
            dots++;
        else if (!is_digit(s[i]) && !(i == 0 && (s[i] == '-' || s[i] == '+')))
            return false;
    }
    if (dots > 1 || s[n - 1] == '.')
        return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    *out = strtod(tmp, &end);
    return *end == '\0';
}

/* "500ms", "10s", "10m", "1h30m", "2d", "1w": components summed, in ms. */
static bool parse_duration(const char *s, size_t n, int64_t *ms)
{
    size_t i = 0;
    int64_t total = 0;
    if (n == 0)
        return false;
    while (i < n) {
        size_t st = i;
        uint64_t v = 0;
        while (i < n && is_digit(s[i])) {
            if (v > 1000000000000000ULL)
                return false;
            v = v * 10 + (uint64_t)(s[i] - '0');
            i++;
        }
        if (i == st)
            return false;
        size_t u = i;
        while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
            i++;
        int64_t mult;
        size_t ul = i - u;
        if (ul == 2 && lower(s[u]) == 'm' && lower(s[u + 1]) == 's')
            mult = 1;
        else if (ul == 1 && lower(s[u]) == 's')
            mult = 1000;
        else if (ul == 1 && lower(s[u]) == 'm')
            mult = 60000;
        else if (ul == 1 && lower(s[u]) == 'h')
            mult = 3600000;
        else if (ul == 1 && lower(s[u]) == 'd')
            mult = 86400000;
        else if (ul == 1 && lower(s[u]) == 'w')
            mult = 604800000;
        else
            return false;
        if (v > (uint64_t)(INT64_MAX / 1000000 / mult))
            return false; /* keep ns (span.duration) within int64 */
        int64_t add = (int64_t)v * mult;
        if (total > INT64_MAX / 1000000 - add)
            return false;
        total += add;
    }
    *ms = total;
    return true;
}

static const char *kind_name(enum msi_sf_kind k)
{
    switch (k) {
    case MSI_SK_STR: return "a string";
    case MSI_SK_INT: return "an integer";
    case MSI_SK_NUM: return "a number";
    case MSI_SK_DUR: return "a duration such as '500ms', '10m' or '1h30m'";
    case MSI_SK_TIME: return "an RFC 3339 time such as '2026-01-15T10:00:00Z'";
    case MSI_SK_STATUS: return "one of 'OK', 'ERROR', 'IN_PROGRESS'";
    case MSI_SK_SPAN_STATUS: return "one of 'OK', 'ERROR', 'UNSET'";
    case MSI_SK_SCORE: return "a string, number, true or false";
    }
    return "a value";
}

static bool upper_in(char *s, size_t n, const char *const *names)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 'a' && s[i] <= 'z')
            s[i] = (char)(s[i] - 'a' + 'A');
    for (size_t i = 0; names[i]; i++)
        if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0)
            return true;
    return false;
}

/* Reads the value at the current token for field fd into v. */
static ms_code parse_value(struct parser *p, const struct msi_sf_fdef *fd, struct msi_sf_val *v)
{
    static const char *const states[] = {"OK", "ERROR", "IN_PROGRESS", "STATE_UNSPECIFIED",
                                         NULL};
    static const char *const sstates[] = {"OK", "ERROR", "UNSET", NULL};
    const struct tok *t = &p->t;
    const char *raw = p->s + t->off;
    bool str = t->k == T_STR;
    const char *txt = str ? p->sbuf : raw;
    size_t tn = str ? p->slen : t->len;
    memset(v, 0, sizeof *v);
    bool boolean = t->k == T_NAME && (is_kw(p, "true") || is_kw(p, "false"));
    if (t->k != T_STR && t->k != T_NUM && t->k != T_BAREDUR && !boolean) {
        if (t->k == T_EOF)
            return fail(p, t->off, "expected a value (%s) at the end", kind_name(fd->kind));
        return fail(p, t->off, "expected a value (%s)", kind_name(fd->kind));
    }
    bool ok = false;
    switch (fd->kind) {
    case MSI_SK_STR:
        ok = str;
        break;
    case MSI_SK_STATUS:
    case MSI_SK_SPAN_STATUS:
        ok = str;
        if (ok) {
            v->s = dupn(txt, tn);
            if (!v->s)
                return nomem(p);
            v->n = tn;
            if (!upper_in(v->s, tn, fd->kind == MSI_SK_STATUS ? states : sstates))
                return fail(p, t->off, "expected %s", kind_name(fd->kind));
            return MS_OK;
        }
        break;
    case MSI_SK_INT:
        ok = t->k == T_NUM && parse_int(txt, tn, &v->i);
        break;
    case MSI_SK_NUM:
        ok = t->k == T_NUM && parse_decimal(txt, tn, &v->d);
        break;
    case MSI_SK_DUR:
        if (t->k == T_NUM)
            ok = parse_int(txt, tn, &v->i) && v->i >= 0 && v->i <= INT64_MAX / 1000000;
        else if (t->k == T_STR || t->k == T_BAREDUR)
            ok = parse_duration(txt, tn, &v->i);
        if (ok && fd->id == MSI_PF_DURATION)
            v->i *= 1000000; /* spans compare in ns; in range by the checks above */
        break;
    case MSI_SK_TIME:
        if (t->k == T_NUM) {
            ok = parse_int(txt, tn, &v->i) && v->i <= INT64_MAX / 1000000 &&
                 v->i >= INT64_MIN / 1000000;
            if (ok)
                v->i *= 1000000;
        } else if (str) {
            ok = msx_rfc3339_parse_ns(txt, tn, &v->i);
        }
        break;
    case MSI_SK_SCORE:
        if (t->k == T_NUM) {
            ok = parse_decimal(txt, tn, &v->d);
            v->is_num = true;
        } else {
            ok = str || boolean;
        }
        break;
    }
    if (!ok)
        return fail(p, t->off, "expected %s for '%s'", kind_name(fd->kind), fd->name);
    if (boolean) {
        txt = is_kw(p, "true") ? "true" : "false";
        tn = strlen(txt);
    }
    v->s = dupn(txt, tn);
    if (!v->s)
        return nomem(p);
    v->n = tn;
    return MS_OK;
}

/* ---- grammar ----------------------------------------------------------------- */

static struct msi_sf_node *parse_or(struct parser *p);

static bool op_allowed(enum msi_sf_kind k, enum msi_sf_op op)
{
    bool text = k == MSI_SK_STR || k == MSI_SK_SCORE;
    switch (op) {
    case MSI_SO_EQ:
    case MSI_SO_IN:
    case MSI_SO_IS_NULL: return true;
    case MSI_SO_LT:
    case MSI_SO_LE:
    case MSI_SO_GT:
    case MSI_SO_GE: return k != MSI_SK_STATUS && k != MSI_SK_SPAN_STATUS;
    case MSI_SO_NE: return true;
    case MSI_SO_CONTAINS:
    case MSI_SO_LIKE:
    case MSI_SO_ILIKE:
    case MSI_SO_MATCHES: return text;
    }
    return false;
}

static struct msi_sf_node *parse_cmp(struct parser *p)
{
    size_t foff = p->t.off;
    size_t flen = p->t.len;
    if (p->t.k != T_NAME) {
        if (p->t.k == T_EOF)
            fail(p, p->t.off, "expected a field name at the end");
        else
            fail(p, p->t.off, "expected a field name");
        return NULL;
    }
    char *key;
    size_t key_len;
    const struct msi_sf_fdef *fd = resolve(p, &key, &key_len);
    if (!fd)
        return NULL;
    if (!p->in_turn && fd->scope != MSI_SF_SESSION) {
        fail(p, foff,
             "'%.*s' is a per-turn field: use it inside any(...) or all(...)",
             (int)(flen > 60 ? 60 : flen), p->s + foff);
        free(key);
        return NULL;
    }
    if (p->in_turn && fd->scope == MSI_SF_SESSION) {
        fail(p, foff, "'%.*s' is a session field: it cannot be used inside any(...) or all(...)",
             (int)(flen > 60 ? 60 : flen), p->s + foff);
        free(key);
        return NULL;
    }
    struct msi_sf_node *n = node_new(p, MSI_SN_CMP, foff);
    if (!n) {
        free(key);
        return NULL;
    }
    n->fd = fd;
    n->key = key;
    n->key_len = key_len;
    if (lex(p) != MS_OK)
        goto bad;
    size_t opoff = p->t.off;
    if (p->t.k == T_OP) {
        n->op = p->t.op;
        n->neg = p->t.ne;
        if (n->neg) {
            n->op = MSI_SO_NE;
            n->neg = false;
        }
    } else if (is_kw(p, "is")) {
        if (lex(p) != MS_OK)
            goto bad;
        if (is_kw(p, "not")) {
            n->neg = true;
            if (lex(p) != MS_OK)
                goto bad;
        }
        if (!is_kw(p, "null")) {
            fail(p, p->t.off, "expected 'null' after 'is'");
            goto bad;
        }
        n->op = MSI_SO_IS_NULL;
        if (lex(p) != MS_OK)
            goto bad;
        goto done;
    } else {
        if (is_kw(p, "not")) {
            n->neg = true;
            if (lex(p) != MS_OK)
                goto bad;
        }
        if (is_kw(p, "contains"))
            n->op = MSI_SO_CONTAINS;
        else if (is_kw(p, "like"))
            n->op = MSI_SO_LIKE;
        else if (is_kw(p, "ilike"))
            n->op = MSI_SO_ILIKE;
        else if (is_kw(p, "matches"))
            n->op = MSI_SO_MATCHES;
        else if (is_kw(p, "in"))
            n->op = MSI_SO_IN;
        else {
            fail(p, p->t.off,
                 n->neg ? "expected contains, like, ilike, matches or in after 'not'"
                        : "expected an operator (= != < <= > >= contains like ilike matches "
                          "in is)");
            goto bad;
        }
    }
    if (!op_allowed(fd->kind, n->op)) {
        fail(p, opoff, "this operator does not apply to '%s' (%s)", fd->name,
             kind_name(fd->kind));
        goto bad;
    }
    if (lex(p) != MS_OK)
        goto bad;
    if (n->op == MSI_SO_IN) {
        if (p->t.k != T_LP) {
            fail(p, p->t.off, "expected '(' after 'in'");
            goto bad;
        }
        if (lex(p) != MS_OK)
            goto bad;
        for (;;) {
            if (n->n_vals >= MSI_SF_MAX_LIST) {
                fail(p, p->t.off, "too many values in the list");
                goto bad;
            }
            struct msi_sf_val *nv = realloc(n->vals, (n->n_vals + 1) * sizeof *nv);
            if (!nv) {
                nomem(p);
                goto bad;
            }
            n->vals = nv;
            if (parse_value(p, fd, &n->vals[n->n_vals]) != MS_OK) {
                free(n->vals[n->n_vals].s);
                goto bad;
            }
            n->n_vals++;
            if (lex(p) != MS_OK)
                goto bad;
            if (p->t.k == T_RP)
                break;
            if (p->t.k != T_COMMA) {
                fail(p, p->t.off, "expected ',' or ')' in the list");
                goto bad;
            }
            if (lex(p) != MS_OK)
                goto bad;
        }
    } else {
        n->vals = calloc(1, sizeof *n->vals);
        if (!n->vals) {
            nomem(p);
            goto bad;
        }
        size_t voff = p->t.off;
        if (parse_value(p, fd, &n->vals[0]) != MS_OK) {
            free(n->vals[0].s);
            goto bad;
        }
        n->n_vals = 1;
        if (n->op == MSI_SO_MATCHES) {
            n->re = msi_regex_compile(n->vals[0].s, n->vals[0].n);
            if (!n->re) {
                fail(p, voff, "invalid regular expression");
                goto bad;
            }
        }
    }
    if (lex(p) != MS_OK)
        goto bad;
done:
    return n;
bad:
    node_free(n);
    return NULL;
}

static ms_code new_atom(struct parser *p, struct msi_sf_node *pred, bool all, size_t off,
                        struct msi_sf_node **out);

/* input/output at session level: one atom any(turn.input ...) */
static bool at_shorthand(struct parser *p)
{
    if (p->in_turn || p->t.k != T_NAME)
        return false;
    return is_kw(p, "input") || is_kw(p, "output");
}

static struct msi_sf_node *parse_primary(struct parser *p)
{
    if (p->rc != MS_OK)
        return NULL;
    if (p->t.k == T_LP) {
        size_t off = p->t.off;
        if (lex(p) != MS_OK)
            return NULL;
        struct msi_sf_node *n = parse_or(p);
        if (!n)
            return NULL;
        if (p->t.k != T_RP) {
            fail(p, p->t.off, "expected ')' to close the '(' at byte %zu", off);
            node_free(n);
            return NULL;
        }
        if (lex(p) != MS_OK) {
            node_free(n);
            return NULL;
        }
        return n;
    }
    if (is_kw(p, "any") || is_kw(p, "all")) {
        size_t off = p->t.off;
        bool all = is_kw(p, "all");
        /* any/all followed by '(' only */
        size_t save = p->pos;
        struct tok st = p->t;
        if (lex(p) != MS_OK)
            return NULL;
        if (p->t.k == T_LP) {
            if (p->in_turn) {
                fail(p, off, "any(...) and all(...) do not nest");
                return NULL;
            }
            if (lex(p) != MS_OK)
                return NULL;
            p->in_turn = true;
            struct msi_sf_node *pred = parse_or(p);
            p->in_turn = false;
            if (!pred)
                return NULL;
            if (p->t.k != T_RP) {
                fail(p, p->t.off, "expected ')' to close %s( at byte %zu", all ? "all" : "any",
                     off);
                node_free(pred);
                return NULL;
            }
            struct msi_sf_node *a;
            if (new_atom(p, pred, all, off, &a) != MS_OK)
                return NULL;
            if (lex(p) != MS_OK) {
                node_free(a);
                return NULL;
            }
            return a;
        }
        p->pos = save;
        p->t = st;
    }
    if (at_shorthand(p)) {
        size_t off = p->t.off;
        p->in_turn = true;
        struct msi_sf_node *pred = parse_cmp(p);
        p->in_turn = false;
        if (!pred)
            return NULL;
        struct msi_sf_node *a;
        if (new_atom(p, pred, false, off, &a) != MS_OK)
            return NULL;
        return a;
    }
    return parse_cmp(p);
}

static struct msi_sf_node *parse_unary(struct parser *p)
{
    if (is_kw(p, "not")) {
        size_t off = p->t.off;
        if (++p->depth > MSI_SF_MAX_DEPTH) {
            fail(p, off, "the filter is nested too deeply");
            return NULL;
        }
        if (lex(p) != MS_OK)
            return NULL;
        struct msi_sf_node *a = parse_unary(p);
        p->depth--;
        if (!a)
            return NULL;
        struct msi_sf_node *n = node_new(p, MSI_SN_NOT, off);
        if (!n) {
            node_free(a);
            return NULL;
        }
        n->a = a;
        return n;
    }
    return parse_primary(p);
}

static struct msi_sf_node *parse_bin(struct parser *p, bool is_or)
{
    if (++p->depth > MSI_SF_MAX_DEPTH) {
        fail(p, p->t.off, "the filter is nested too deeply");
        return NULL;
    }
    struct msi_sf_node *l = is_or ? parse_bin(p, false) : parse_unary(p);
    while (l && is_kw(p, is_or ? "or" : "and")) {
        size_t off = p->t.off;
        if (lex(p) != MS_OK) {
            node_free(l);
            l = NULL;
            break;
        }
        struct msi_sf_node *r = is_or ? parse_bin(p, false) : parse_unary(p);
        if (!r) {
            node_free(l);
            l = NULL;
            break;
        }
        struct msi_sf_node *n = node_new(p, is_or ? MSI_SN_OR : MSI_SN_AND, off);
        if (!n) {
            node_free(l);
            node_free(r);
            l = NULL;
            break;
        }
        n->a = l;
        n->b = r;
        l = n;
    }
    p->depth--;
    return l;
}

static struct msi_sf_node *parse_or(struct parser *p)
{
    return parse_bin(p, true);
}

/* 1: uses turn fields, 2: uses span fields */
static int scope_mask(const struct msi_sf_node *n)
{
    if (!n)
        return 0;
    if (n->type == MSI_SN_CMP)
        return n->fd->scope == MSI_SF_SPAN ? 2 : 1;
    if (n->type == MSI_SN_SPAN)
        return 1;
    return scope_mask(n->a) | scope_mask(n->b);
}

static size_t chain_count(const struct msi_sf_node *n, enum msi_sf_ntype type)
{
    return n->type == type ? chain_count(n->a, type) + chain_count(n->b, type) : 1;
}

static void chain_collect(struct msi_sf_node *n, enum msi_sf_ntype type,
                          struct msi_sf_node **leaves, size_t *nl, struct msi_sf_node **inner,
                          size_t *ni)
{
    if (n->type != type) {
        leaves[(*nl)++] = n;
        return;
    }
    inner[(*ni)++] = n;
    chain_collect(n->a, type, leaves, nl, inner, ni);
    chain_collect(n->b, type, leaves, nl, inner, ni);
}

/* Joins items[0..k) with the inner nodes from *ni on (left-deep). */
static struct msi_sf_node *chain_build(struct msi_sf_node **items, size_t k,
                                       struct msi_sf_node **inner, size_t *ni)
{
    struct msi_sf_node *l = items[0];
    for (size_t i = 1; i < k; i++) {
        struct msi_sf_node *j = inner[(*ni)++];
        j->a = l;
        j->b = items[i];
        l = j;
    }
    return l;
}

/* Wraps every maximal span-only sub-expression in a SPAN node: in a chain
 * of ANDs (or ORs), all the span-only operands together, so that
 * `turn.status = 'OK' and span.type = 'TOOL' and span.status = 'ERROR'`
 * asks for one span that is both. */
static ms_code group_spans(struct parser *p, struct msi_sf_node **np, bool *any)
{
    struct msi_sf_node *n = *np;
    int mask = scope_mask(n);
    if (mask == 2) {
        struct msi_sf_node *w = node_new(p, MSI_SN_SPAN, n->off);
        if (!w)
            return MS_E_NOMEM;
        w->a = n;
        *np = w;
        *any = true;
        return MS_OK;
    }
    if (!(mask & 2))
        return MS_OK;
    if (n->type == MSI_SN_NOT)
        return group_spans(p, &n->a, any);
    if (n->type != MSI_SN_AND && n->type != MSI_SN_OR)
        return MS_OK;
    size_t k = chain_count(n, n->type);
    struct msi_sf_node **leaves = malloc(k * sizeof *leaves);
    struct msi_sf_node **inner = malloc(k * sizeof *inner);
    struct msi_sf_node **spans = malloc(k * sizeof *spans);
    struct msi_sf_node *w = node_new(p, MSI_SN_SPAN, n->off);
    if (!leaves || !inner || !spans || !w) {
        free(leaves);
        free(inner);
        free(spans);
        free(w);
        return MS_E_NOMEM;
    }
    size_t nl = 0, ni = 0, ns = 0, no = 0;
    enum msi_sf_ntype type = n->type;
    chain_collect(n, type, leaves, &nl, inner, &ni);
    ms_code rc = MS_OK;
    for (size_t i = 0; i < nl; i++) {
        if (scope_mask(leaves[i]) == 2) {
            spans[ns++] = leaves[i];
        } else {
            if (rc == MS_OK)
                rc = group_spans(p, &leaves[i], any);
            leaves[no++] = leaves[i];
        }
    }
    /* no >= 1 here: the chain mixes span-only and other operands, or
     * none is span-only (a mixed operand of the other kind) */
    size_t used = 0;
    if (ns > 0) {
        w->a = chain_build(spans, ns, inner, &used);
        *any = true;
        leaves[no++] = w;
    } else {
        free(w);
    }
    *np = chain_build(leaves, no, inner, &used);
    free(leaves);
    free(inner);
    free(spans);
    return rc;
}

static ms_code new_atom(struct parser *p, struct msi_sf_node *pred, bool all, size_t off,
                        struct msi_sf_node **out)
{
    *out = NULL;
    if (p->f->n_atoms >= MS_SFILTER_MAX_ATOMS) {
        node_free(pred);
        return fail(p, off, "too many per-turn predicates (at most %d)", MS_SFILTER_MAX_ATOMS);
    }
    bool spans = false;
    if (group_spans(p, &pred, &spans) != MS_OK) {
        node_free(pred);
        return nomem(p);
    }
    struct msi_sf_node *a = node_new(p, MSI_SN_ATOM, off);
    if (!a) {
        node_free(pred);
        return MS_E_NOMEM;
    }
    struct msi_sf_atom *at = &p->f->atoms[p->f->n_atoms];
    at->pred = pred;
    at->all = all;
    at->needs_spans = spans;
    at->off = off;
    a->atom = p->f->n_atoms++;
    *out = a;
    return MS_OK;
}

void ms_sfilter_free(ms_sfilter *f)
{
    if (!f)
        return;
    node_free(f->root);
    for (size_t i = 0; i < f->n_atoms; i++)
        node_free(f->atoms[i].pred);
    free(f->text);
    free(f);
}

ms_code ms_sfilter_parse(const char *text, ms_sfilter **out, struct ms_error *err)
{
    *out = NULL;
    struct parser p;
    memset(&p, 0, sizeof p);
    p.s = text ? text : "";
    p.n = strlen(p.s);
    p.err = err;
    if (p.n > MSI_SF_MAX_LEN) {
        if (err) {
            err->code = MS_E_TOOBIG;
            err->offset = -1;
            snprintf(err->msg, sizeof err->msg, "the filter is longer than %zu bytes",
                     MSI_SF_MAX_LEN);
        }
        return MS_E_TOOBIG;
    }
    p.f = calloc(1, sizeof *p.f);
    if (!p.f)
        return nomem(&p);
    p.f->text = dupn(p.s, p.n);
    if (!p.f->text) {
        free(p.f);
        return nomem(&p);
    }
    if (lex(&p) == MS_OK && p.t.k != T_EOF) {
        p.f->root = parse_or(&p);
        if (p.f->root && p.t.k != T_EOF) {
            if (p.t.k == T_RP)
                fail(&p, p.t.off, "unbalanced ')'");
            else
                fail(&p, p.t.off, "expected 'and', 'or' or the end of the filter");
        }
    }
    free(p.sbuf);
    if (p.rc != MS_OK) {
        ms_sfilter_free(p.f);
        return p.rc;
    }
    *out = p.f;
    return MS_OK;
}

const char *ms_sfilter_text(const ms_sfilter *f)
{
    return f ? f->text : "";
}

size_t ms_sfilter_atom_count(const ms_sfilter *f)
{
    return f ? f->n_atoms : 0;
}

bool ms_sfilter_atom_needs_spans(const ms_sfilter *f, size_t i)
{
    return f && i < f->n_atoms && f->atoms[i].needs_spans;
}

/* ---- evaluation ----------------------------------------------------------- */

/* A field's value: absent (null), a scorer error, or a value of its kind. */
struct fv {
    bool null;
    bool err;
    int64_t i;
    double d;
    bool is_num; /* scores: a JSON number (d) */
    const char *s;
    size_t n;
};

static bool icontains(const char *h, size_t hn, const char *nd, size_t nn)
{
    if (nn == 0)
        return true;
    if (nn > hn)
        return false;
    for (size_t i = 0; i + nn <= hn; i++) {
        size_t k = 0;
        while (k < nn && lower(h[i + k]) == lower(nd[k]))
            k++;
        if (k == nn)
            return true;
    }
    return false;
}

static int cmp_bytes(const char *a, size_t an, const char *b, size_t bn)
{
    size_t m = an < bn ? an : bn;
    int c = m ? memcmp(a, b, m) : 0;
    if (c)
        return c < 0 ? -1 : 1;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

static bool ord(enum msi_sf_op op, int c)
{
    switch (op) {
    case MSI_SO_EQ: return c == 0;
    case MSI_SO_NE: return c != 0;
    case MSI_SO_LT: return c < 0;
    case MSI_SO_LE: return c <= 0;
    case MSI_SO_GT: return c > 0;
    case MSI_SO_GE: return c >= 0;
    default: return false;
    }
}

static int cmp_i(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

static int cmp_d(double a, double b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

/* One value of the node against the field value (not null, not err). */
static bool cmp_one(const struct msi_sf_node *n, enum msi_sf_op op, const struct fv *v,
                    const struct msi_sf_val *lit)
{
    switch (n->fd->kind) {
    case MSI_SK_INT:
    case MSI_SK_DUR:
    case MSI_SK_TIME: return ord(op, cmp_i(v->i, lit->i));
    case MSI_SK_NUM: return ord(op, cmp_d(v->d, lit->d));
    case MSI_SK_SCORE:
        if (lit->is_num && v->is_num && op != MSI_SO_CONTAINS && op != MSI_SO_LIKE &&
            op != MSI_SO_ILIKE && op != MSI_SO_MATCHES)
            return ord(op, cmp_d(v->d, lit->d));
        break;
    default: break;
    }
    switch (op) {
    case MSI_SO_CONTAINS: return icontains(v->s, v->n, lit->s, lit->n);
    case MSI_SO_LIKE: return msi_like(v->s, v->n, lit->s, lit->n, false);
    case MSI_SO_ILIKE: return msi_like(v->s, v->n, lit->s, lit->n, true);
    case MSI_SO_MATCHES: return msi_regex_search(n->re, v->s, v->n);
    default: return ord(op, cmp_bytes(v->s, v->n, lit->s, lit->n));
    }
}

static bool compare(const struct msi_sf_node *n, const struct fv *v)
{
    if (n->op == MSI_SO_IS_NULL)
        return v->null != n->neg;
    if (v->null || v->err)
        return false;
    if (n->op == MSI_SO_IN) {
        bool hit = false;
        for (size_t i = 0; i < n->n_vals && !hit; i++)
            hit = cmp_one(n, MSI_SO_EQ, v, &n->vals[i]);
        return hit != n->neg;
    }
    if (n->op == MSI_SO_NE)
        return cmp_one(n, MSI_SO_NE, v, &n->vals[0]);
    return cmp_one(n, n->op, v, &n->vals[0]) != n->neg;
}

static void set_str(struct fv *v, ms_str s, bool empty_is_null)
{
    v->s = s.ptr ? s.ptr : "";
    v->n = s.ptr ? s.len : 0;
    v->null = !s.ptr || (empty_is_null && s.len == 0);
}

static void set_int(struct fv *v, int64_t i, bool null)
{
    v->i = i;
    v->null = null;
}

/* A JSON string's text, unquoted, into b; false if not a plain JSON string. */
static bool json_unquote(const char *s, size_t n, struct msx_buf *b)
{
    if (n < 2 || s[0] != '"' || s[n - 1] != '"')
        return false;
    for (size_t i = 1; i + 1 < n; i++) {
        char c = s[i];
        if (c != '\\') {
            msx_buf_addc(b, c);
            continue;
        }
        if (i + 2 >= n)
            return false;
        char e = s[++i];
        switch (e) {
        case 'n': msx_buf_addc(b, '\n'); break;
        case 't': msx_buf_addc(b, '\t'); break;
        case 'r': msx_buf_addc(b, '\r'); break;
        case 'b': msx_buf_addc(b, '\b'); break;
        case 'f': msx_buf_addc(b, '\f'); break;
        case 'u': {
            unsigned cp = 0;
            if (i + 4 >= n)
                return false;
            for (int k = 1; k <= 4; k++) {
                char h = s[i + (size_t)k];
                cp <<= 4;
                if (h >= '0' && h <= '9')
                    cp |= (unsigned)(h - '0');
                else if (lower(h) >= 'a' && lower(h) <= 'f')
                    cp |= (unsigned)(lower(h) - 'a' + 10);
                else
                    return false;
            }
            i += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < n && s[i + 1] == '\\' &&
                s[i + 2] == 'u') {
                unsigned lo = 0;
                bool ok = true;
                for (int k = 3; k <= 6; k++) {
                    char h = lower(s[i + (size_t)k]);
                    lo <<= 4;
                    if (h >= '0' && h <= '9')
                        lo |= (unsigned)(h - '0');
                    else if (h >= 'a' && h <= 'f')
                        lo |= (unsigned)(h - 'a' + 10);
                    else
                        ok = false;
                }
                if (ok && lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
            }
            if (cp < 0x80) {
                msx_buf_addc(b, (char)cp);
            } else if (cp < 0x800) {
                msx_buf_addc(b, (char)(0xC0 | (cp >> 6)));
                msx_buf_addc(b, (char)(0x80 | (cp & 0x3F)));
            } else if (cp < 0x10000) {
                msx_buf_addc(b, (char)(0xE0 | (cp >> 12)));
                msx_buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
                msx_buf_addc(b, (char)(0x80 | (cp & 0x3F)));
            } else {
                msx_buf_addc(b, (char)(0xF0 | (cp >> 18)));
                msx_buf_addc(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
                msx_buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
                msx_buf_addc(b, (char)(0x80 | (cp & 0x3F)));
            }
            break;
        }
        default: msx_buf_addc(b, e); break;
        }
    }
    return true;
}

static bool json_number(const char *s, size_t n, double *d)
{
    char tmp[64];
    if (n == 0 || n >= sizeof tmp)
        return false;
    if (!(is_digit(s[0]) || s[0] == '-'))
        return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    *d = strtod(tmp, &end);
    return *end == '\0';
}

static bool eval_score(const struct msi_sf_node *n, const ms_session_summary *s)
{
    const ms_score *sc = NULL;
    for (size_t i = 0; i < s->n_scores; i++) {
        if (s->scores[i].name.len == n->key_len &&
            (n->key_len == 0 || memcmp(s->scores[i].name.ptr, n->key, n->key_len) == 0)) {
            sc = &s->scores[i];
            break;
        }
    }
    struct fv v;
    memset(&v, 0, sizeof v);
    if (!sc) {
        v.null = true;
        return compare(n, &v);
    }
    if (sc->is_error || !sc->value_json.ptr) {
        v.err = true;
        return compare(n, &v);
    }
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_LINE * 16);
    const char *js = sc->value_json.ptr;
    size_t jn = sc->value_json.len;
    while (jn && is_ws(js[0])) {
        js++;
        jn--;
    }
    while (jn && is_ws(js[jn - 1]))
        jn--;
    if (json_unquote(js, jn, &b)) {
        if (msx_buf_status(&b) != MS_OK) {
            msx_buf_release(&b);
            return false;
        }
        v.s = b.ptr ? b.ptr : "";
        v.n = b.len;
    } else {
        v.s = js;
        v.n = jn;
        v.is_num = json_number(js, jn, &v.d);
    }
    bool r = compare(n, &v);
    msx_buf_release(&b);
    return r;
}

static bool eval_session_cmp(const struct msi_sf_node *n, const ms_session_summary *s)
{
    struct fv v;
    memset(&v, 0, sizeof v);
    switch (n->fd->id) {
    case MSI_SF_ID: set_str(&v, s->session_id, false); v.null = false; break;
    case MSI_SF_USER: set_str(&v, s->user_id, true); break;
    case MSI_SF_EXPERIMENT: set_str(&v, s->experiment_id, true); break;
    case MSI_SF_FIRST_INPUT: set_str(&v, s->first_input, true); break;
    case MSI_SF_LAST_OUTPUT: set_str(&v, s->last_output, true); break;
    case MSI_SF_TURNS: set_int(&v, s->turns, false); break;
    case MSI_SF_ERRORS: set_int(&v, s->errors, false); break;
    case MSI_SF_IN_PROGRESS: set_int(&v, s->in_progress, false); break;
    case MSI_SF_TOK_INPUT: set_int(&v, s->tokens_input, !s->has_tokens); break;
    case MSI_SF_TOK_OUTPUT: set_int(&v, s->tokens_output, !s->has_tokens); break;
    case MSI_SF_TOK_CACHED: set_int(&v, s->tokens_cached, !s->has_tokens); break;
    case MSI_SF_TOK_TOTAL: set_int(&v, s->tokens_total, !s->has_tokens); break;
    case MSI_SF_COST:
        v.d = s->cost;
        v.null = !s->has_cost;
        break;
    case MSI_SF_DURATION: set_int(&v, s->duration_ms, false); break;
    case MSI_SF_BUSY: set_int(&v, s->busy_ms, false); break;
    case MSI_SF_IDLE: set_int(&v, s->idle_ms, false); break;
    case MSI_SF_IDLE_MAX: set_int(&v, s->idle_max_ms, false); break;
    case MSI_SF_LAT_P50: set_int(&v, s->latency_p50_ms, s->latency_p50_ms < 0); break;
    case MSI_SF_LAT_P95: set_int(&v, s->latency_p95_ms, s->latency_p95_ms < 0); break;
    case MSI_SF_FIRST:
    case MSI_SF_LAST: {
        int64_t ms = n->fd->id == MSI_SF_FIRST ? s->first_ms : s->last_ms;
        /* compare in ns, saturating (times are far inside the range) */
        int64_t ns = ms > INT64_MAX / 1000000   ? INT64_MAX
                     : ms < INT64_MIN / 1000000 ? INT64_MIN
                                                : ms * 1000000;
        set_int(&v, ns, s->turns <= 0);
        break;
    }
    case MSI_SF_SCORE: return eval_score(n, s);
    default: return false; /* turn fields never reach here */
    }
    return compare(n, &v);
}

static const ms_kv *find_kv(const ms_kv *kv, size_t n, const char *key, size_t key_len)
{
    for (size_t i = 0; i < n; i++)
        if (kv[i].key.len == key_len && (key_len == 0 || memcmp(kv[i].key.ptr, key, key_len) == 0))
            return &kv[i];
    return NULL;
}

static bool eval_span_cmp(const struct msi_sf_node *n, const ms_span *sp)
{
    struct fv v;
    memset(&v, 0, sizeof v);
    switch (n->fd->id) {
    case MSI_PF_TYPE: set_str(&v, sp->span_type, false); break;
    case MSI_PF_NAME: set_str(&v, sp->name, false); break;
    case MSI_PF_STATUS:
        v.s = msi_span_status_name(sp->status);
        v.n = strlen(v.s);
        break;
    case MSI_PF_DURATION:
        /* ns: the parser scaled the literals */
        set_int(&v, sp->end_ns - sp->start_ns, !sp->has_end);
        break;
    default: return false;
    }
    return compare(n, &v);
}

static bool eval_span(const struct msi_sf_node *n, const ms_span *sp)
{
    switch (n->type) {
    case MSI_SN_AND: return eval_span(n->a, sp) && eval_span(n->b, sp);
    case MSI_SN_OR: return eval_span(n->a, sp) || eval_span(n->b, sp);
    case MSI_SN_NOT: return !eval_span(n->a, sp);
    case MSI_SN_CMP: return eval_span_cmp(n, sp);
    default: return false;
    }
}

static bool eval_turn_cmp(const struct msi_sf_node *n, const ms_trace *t)
{
    struct fv v;
    memset(&v, 0, sizeof v);
    const ms_trace_info *in = &t->info;
    switch (n->fd->id) {
    case MSI_TF_STATUS:
        v.s = msi_state_name(in->state);
        v.n = strlen(v.s);
        break;
    case MSI_TF_LATENCY: set_int(&v, in->execution_duration_ms, !in->has_execution_duration); break;
    case MSI_TF_TOK_INPUT:
        set_int(&v, in->usage.input_tokens, !(in->usage.present & MS_USAGE_INPUT));
        break;
    case MSI_TF_TOK_OUTPUT:
        set_int(&v, in->usage.output_tokens, !(in->usage.present & MS_USAGE_OUTPUT));
        break;
    case MSI_TF_TOK_TOTAL:
        set_int(&v, in->usage.total_tokens, !(in->usage.present & MS_USAGE_TOTAL));
        break;
    case MSI_TF_INPUT: set_str(&v, in->request_preview, false); break;
    case MSI_TF_OUTPUT: set_str(&v, in->response_preview, false); break;
    case MSI_TF_NAME:
    case MSI_TF_TAG:
    case MSI_TF_METADATA: {
        const ms_kv *kv;
        if (n->fd->id == MSI_TF_NAME)
            kv = find_kv(in->tags, in->n_tags, "mlflow.traceName", 16);
        else if (n->fd->id == MSI_TF_TAG)
            kv = find_kv(in->tags, in->n_tags, n->key, n->key_len);
        else
            kv = find_kv(in->metadata, in->n_metadata, n->key, n->key_len);
        if (kv)
            set_str(&v, kv->value, false), v.null = false;
        else
            v.null = true;
        break;
    }
    default: return false;
    }
    return compare(n, &v);
}

static bool eval_turn(const struct msi_sf_node *n, const ms_trace *t)
{
    switch (n->type) {
    case MSI_SN_AND: return eval_turn(n->a, t) && eval_turn(n->b, t);
    case MSI_SN_OR: return eval_turn(n->a, t) || eval_turn(n->b, t);
    case MSI_SN_NOT: return !eval_turn(n->a, t);
    case MSI_SN_CMP: return eval_turn_cmp(n, t);
    case MSI_SN_SPAN:
        for (size_t i = 0; i < t->n_spans; i++)
            if (eval_span(n->a, &t->spans[i]))
                return true;
        return false;
    default: return false;
    }
}

bool ms_sfilter_atom_match(const ms_sfilter *f, size_t i, const ms_trace *t)
{
    if (!f || i >= f->n_atoms || !t)
        return false;
    return eval_turn(f->atoms[i].pred, t);
}

static bool eval_session(const ms_sfilter *f, const struct msi_sf_node *n,
                         const ms_session_summary *s)
{
    switch (n->type) {
    case MSI_SN_AND: return eval_session(f, n->a, s) && eval_session(f, n->b, s);
    case MSI_SN_OR: return eval_session(f, n->a, s) || eval_session(f, n->b, s);
    case MSI_SN_NOT: return !eval_session(f, n->a, s);
    case MSI_SN_CMP: return eval_session_cmp(n, s);
    case MSI_SN_ATOM: {
        uint64_t bits = f->atoms[n->atom].all ? s->atoms_all : s->atoms_any;
        return (bits >> n->atom) & 1u;
    }
    default: return false;
    }
}

bool ms_sfilter_match(const ms_sfilter *f, const ms_session_summary *s)
{
    if (!f || !f->root)
        return true;
    if (!s)
        return false;
    return eval_session(f, f->root, s);
}
