/* SPDX-License-Identifier: MIT
 *
 * The filter parser: MLflow's trace filter language (`mlflow traces search
 * --filter-string`), read by hand in one pass over the text with the byte
 * offset of every token kept for messages.
 *
 * MLflow tokenises with sqlparse and accepts some strings by accident (a
 * missing or trailing AND, `==`, quotes doubled inside a value kept as two
 * quotes). We accept a subset of what MLflow 3.17.2 accepts, always with
 * MLflow's meaning, and reject at parse time what its SQL store would reject
 * only when the query runs (`trace.status > 'A'`, `tag.k IN (...)`). See
 * docs/filter-language.md for the list. Depends on libc, util/ and PCRE2
 * (through util.c) only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter/filter_int.h"
#include "util/buf.h"

/* A filter longer than this is refused: no real filter comes close. */
#define MSI_FILTER_MAX_LEN ((size_t)1 << 20)
#define MSI_FILTER_MAX_CLAUSES 4096

struct seg {
    size_t off, len;       /* the segment as written, quotes included */
    const char *in;        /* its inner text */
    size_t in_len;
    char quote;            /* 0, '`', '"' or '\'' */
};

#define MAX_SEGS 64

struct parser {
    const char *s;
    size_t n;
    size_t pos;
    struct ms_error *err;
    ms_filter *f;
};

static ms_code fail(struct parser *p, size_t off, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static ms_code fail(struct parser *p, size_t off, const char *fmt, ...)
{
    if (p->err) {
        va_list ap;
        va_start(ap, fmt);
        p->err->code = MS_E_PARSE;
        p->err->offset = (int64_t)off;
        vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
        va_end(ap);
    }
    return MS_E_PARSE;
}

static ms_code nomem(struct parser *p)
{
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

/* Characters of a bare name: sqlparse's \w plus $ (non-ASCII bytes count
 * as word characters, as Python's \w mostly does for letters). */
static bool is_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '$' || c >= 0x80;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static void skip_ws(struct parser *p)
{
    while (p->pos < p->n && is_ws(p->s[p->pos]))
        p->pos++;
}

/* Does a case-insensitive keyword start at pos, followed by a non-name
 * character? */
static bool at_word(const struct parser *p, size_t pos, const char *kw)
{
    size_t k = strlen(kw);
    if (pos + k > p->n)
        return false;
    for (size_t i = 0; i < k; i++) {
        char c = p->s[pos + i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c != kw[i])
            return false;
    }
    return pos + k == p->n || !is_name_char((unsigned char)p->s[pos + k]);
}

static size_t word_end(const struct parser *p, size_t pos)
{
    while (pos < p->n && is_name_char((unsigned char)p->s[pos]))
        pos++;
    return pos;
}

/* A quoted run starting at pos (the quote). sqlparse allows the quote
 * doubled and backslash escapes inside; the value keeps them as written.
 * Returns the offset past the closing quote, or 0 if unterminated. */
static size_t quoted_end(const struct parser *p, size_t pos)
{
    char q = p->s[pos];
    size_t i = pos + 1;
    while (i < p->n) {
        char c = p->s[i];
        if (c == '\\' && q != '`' && i + 1 < p->n) {
            i += 2;
            continue;
        }
        if (c == q) {
            if (q != '`' && i + 1 < p->n && p->s[i + 1] == q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i++;
    }
    return 0;
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

/* ---- identifiers ---------------------------------------------------- */

static ms_code read_segment(struct parser *p, struct seg *sg, bool first)
{
    size_t pos = p->pos;
    sg->off = pos;
    sg->quote = 0;
    if (pos >= p->n) {
        sg->len = 0;
        sg->in = p->s + pos;
        sg->in_len = 0;
        return MS_OK;
    }
    char c = p->s[pos];
    if (c == '`' || (!first && (c == '"' || c == '\''))) {
        size_t end = quoted_end(p, pos);
        if (!end)
            return fail(p, pos, "unterminated quoted key");
        sg->quote = c;
        sg->len = end - pos;
        sg->in = p->s + pos + 1;
        sg->in_len = sg->len - 2;
        p->pos = end;
        return MS_OK;
    }
    size_t end = word_end(p, pos);
    sg->len = end - pos;
    sg->in = p->s + pos;
    sg->in_len = sg->len;
    p->pos = end;
    return MS_OK;
}

static bool seg_is(const struct seg *sg, const char *w)
{
    return sg->in_len == strlen(w) && memcmp(sg->in, w, sg->in_len) == 0;
}

enum entity { E_ATTRIBUTE, E_TAG, E_METADATA, E_SPAN, E_FEEDBACK, E_EXPECTATION, E_ISSUE };

static bool entity_of(const struct seg *sg, enum entity *e)
{
    static const struct {
        const char *name;
        enum entity e;
    } tab[] = {
        {"attribute", E_ATTRIBUTE}, {"attributes", E_ATTRIBUTE}, {"trace", E_ATTRIBUTE},
        {"tag", E_TAG},             {"tags", E_TAG},             {"metadata", E_METADATA},
        {"request_metadata", E_METADATA}, {"span", E_SPAN},      {"feedback", E_FEEDBACK},
        {"expectation", E_EXPECTATION},   {"issue", E_ISSUE},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (seg_is(sg, tab[i].name)) {
            *e = tab[i].e;
            return true;
        }
    return false;
}

static bool ascii_ieq(const char *a, size_t n, const char *b)
{
    if (n != strlen(b))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != b[i])
            return false;
    }
    return true;
}

static bool set_key(struct msi_clause *c, const char *k, size_t n)
{
    free(c->key);
    c->key = dupn(k, n);
    c->key_len = n;
    return c->key != NULL;
}

/* Resolves the identifier into c->field and c->key. */
static ms_code parse_field(struct parser *p, struct msi_clause *c)
{
    struct seg segs[MAX_SEGS];
    size_t ns = 0;
    size_t start = p->pos;
    char c0 = start < p->n ? p->s[start] : '\0';
    if (start >= p->n)
        return fail(p, start, "expected a field name");
    if (c0 == '(')
        return fail(p, start, "parentheses are not supported: join clauses with AND");
    if (c0 == '\'' || c0 == '"')
        return fail(p, start, "expected a field name, not a string");
    if (c0 != '`' && !is_name_char((unsigned char)c0))
        return fail(p, start, "expected a field name");
    for (;;) {
        if (ns == MAX_SEGS)
            return fail(p, p->pos, "too many dots in a field name");
        ms_code rc = read_segment(p, &segs[ns], ns == 0);
        if (rc)
            return rc;
        ns++;
        if (p->pos < p->n && p->s[p->pos] == '.') {
            p->pos++;
            continue;
        }
        break;
    }
    c->field_off = start;
    c->field_len = p->pos - start;
    if (p->pos < p->n && !is_ws(p->s[p->pos]) && p->s[p->pos] != '=' && p->s[p->pos] != '!' &&
        p->s[p->pos] != '<' && p->s[p->pos] != '>')
        return fail(p, p->pos, "unexpected '%c' in a field name: quote the key with backticks",
                    p->s[p->pos]);

    enum entity ent = E_ATTRIBUTE;
    const char *key;
    size_t key_len;
    size_t key_off;
    struct msx_buf kb;
    msx_buf_init(&kb, MSI_FILTER_MAX_LEN);

    if (ns == 1) {
        key = segs[0].in;
        key_len = segs[0].in_len;
        key_off = segs[0].off;
        /* sqlparse reads a bare "timestamp" as a builtin: MLflow joins it into
         * a clause only with a plain integer after it */
        c->bare_timestamp = !segs[0].quote && key_len == 9 && !memcmp(key, "timestamp", 9);
        if (ascii_ieq(key, key_len, "text") && key_len == 4)
            return fail(p, start, "unknown field 'text': use trace.text");
    } else {
        if (!entity_of(&segs[0], &ent))
            return fail(p, segs[0].off, "unknown entity '%.*s': expected trace, tag, metadata, "
                        "span, feedback, expectation or issue", (int)segs[0].in_len, segs[0].in);
        key_off = segs[1].off;
        if (ns == 2) {
            key = segs[1].in;
            key_len = segs[1].in_len;
        } else {
            /* a dotted bare key (tag.mlflow.traceName); MLflow also allows
             * span.attributes.`dotted.key` */
            for (size_t i = 1; i < ns; i++) {
                bool span_attr_quoted = ent == E_SPAN && i == 2 && ns == 3 &&
                                        seg_is(&segs[1], "attributes") && segs[2].quote == '`';
                if (segs[i].quote && !span_attr_quoted) {
                    msx_buf_release(&kb);
                    return fail(p, segs[i].off, "a quoted key must be the whole key");
                }
                if (i > 1)
                    msx_buf_addc(&kb, '.');
                msx_buf_add(&kb, segs[i].in, segs[i].in_len);
            }
            if (msx_buf_status(&kb) != MS_OK) {
                msx_buf_release(&kb);
                return nomem(p);
            }
            key = kb.ptr;
            key_len = kb.len;
        }
    }

    ms_code rc = MS_OK;
    if (ent == E_SPAN) {
        if (key_len >= 11 && memcmp(key, "attributes.", 11) == 0) {
            if (key_len == 11) {
                rc = fail(p, key_off, "expected an attribute name after 'span.attributes.'");
            } else {
                c->field = MSI_F_SPAN_ATTR;
                if (!set_key(c, key + 11, key_len - 11))
                    rc = nomem(p);
            }
        } else if (key_len == 4 && memcmp(key, "name", 4) == 0) {
            c->field = MSI_F_SPAN_NAME;
        } else if (key_len == 4 && memcmp(key, "type", 4) == 0) {
            c->field = MSI_F_SPAN_TYPE;
        } else if (key_len == 6 && memcmp(key, "status", 6) == 0) {
            c->field = MSI_F_SPAN_STATUS;
        } else if (key_len == 7 && memcmp(key, "content", 7) == 0) {
            c->field = MSI_F_SPAN_CONTENT;
        } else {
            rc = fail(p, key_off, "unknown span field '%.*s': expected name, type, status, "
                      "content or attributes.<key>", (int)key_len, key);
        }
        msx_buf_release(&kb);
        return rc;
    }

    /* MLflow remaps these keys under every entity but span (by key.lower()) */
    if (ascii_ieq(key, key_len, "name")) {
        if (ent == E_ATTRIBUTE && !(key_len == 4 && memcmp(key, "name", 4) == 0))
            goto unknown_attr;
        c->field = MSI_F_TAG;
        rc = set_key(c, "mlflow.traceName", 16) ? MS_OK : nomem(p);
        msx_buf_release(&kb);
        return rc;
    }
    if (ascii_ieq(key, key_len, "run_id")) {
        if (ent == E_ATTRIBUTE && !(memcmp(key, "run_id", 6) == 0))
            goto unknown_attr;
        c->field = MSI_F_METADATA;
        rc = set_key(c, "mlflow.sourceRun", 16) ? MS_OK : nomem(p);
        msx_buf_release(&kb);
        return rc;
    }
    if (ascii_ieq(key, key_len, "prompt")) {
        if (ent == E_ATTRIBUTE && !(memcmp(key, "prompt", 6) == 0))
            goto unknown_attr;
        c->field = MSI_F_PROMPT;
        msx_buf_release(&kb);
        return MS_OK;
    }
    if (ascii_ieq(key, key_len, "text")) {
        if (ent == E_ATTRIBUTE && !(memcmp(key, "text", 4) == 0))
            goto unknown_attr;
        c->field = MSI_F_SPAN_CONTENT;
        msx_buf_release(&kb);
        return MS_OK;
    }

    switch (ent) {
    case E_ATTRIBUTE: {
        static const struct {
            const char *k;
            enum msi_field f;
        } attrs[] = {
            {"request_id", MSI_F_REQUEST_ID},   {"client_request_id", MSI_F_CLIENT_REQUEST_ID},
            {"status", MSI_F_STATUS},           {"timestamp", MSI_F_TIMESTAMP},
            {"timestamp_ms", MSI_F_TIMESTAMP},  {"execution_time", MSI_F_EXECUTION_TIME},
            {"execution_time_ms", MSI_F_EXECUTION_TIME}, {"end_time", MSI_F_END_TIME},
            {"end_time_ms", MSI_F_END_TIME},
        };
        for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++)
            if (key_len == strlen(attrs[i].k) && memcmp(key, attrs[i].k, key_len) == 0) {
                c->field = attrs[i].f;
                msx_buf_release(&kb);
                return MS_OK;
            }
        goto unknown_attr;
    }
    case E_TAG:
    case E_METADATA:
        if (key_len == 0) {
            rc = fail(p, key_off, "expected a key after '%.*s.'", (int)segs[0].in_len, segs[0].in);
            break;
        }
        c->field = ent == E_TAG ? MSI_F_TAG : MSI_F_METADATA;
        /* MLflow renames these keys even under tag. and metadata. */
        if (ascii_ieq(key, key_len, "timestamp"))
            rc = set_key(c, "timestamp_ms", 12) ? MS_OK : nomem(p);
        else if (ascii_ieq(key, key_len, "execution_time"))
            rc = set_key(c, "execution_time_ms", 17) ? MS_OK : nomem(p);
        else if (ascii_ieq(key, key_len, "end_time"))
            rc = set_key(c, "end_time_ms", 11) ? MS_OK : nomem(p);
        else
            rc = set_key(c, key, key_len) ? MS_OK : nomem(p);
        break;
    case E_FEEDBACK:
    case E_EXPECTATION:
        if (key_len == 0) {
            rc = fail(p, key_off, "expected an assessment name after '%.*s.'",
                      (int)segs[0].in_len, segs[0].in);
            break;
        }
        c->field = ent == E_FEEDBACK ? MSI_F_FEEDBACK : MSI_F_EXPECTATION;
        rc = set_key(c, key, key_len) ? MS_OK : nomem(p);
        break;
    case E_ISSUE:
        if (!(key_len == 2 && memcmp(key, "id", 2) == 0)) {
            rc = fail(p, key_off, "unknown issue field '%.*s': expected issue.id", (int)key_len,
                      key);
            break;
        }
        c->field = MSI_F_ISSUE;
        break;
    case E_SPAN:
        break;
    }
    msx_buf_release(&kb);
    return rc;

unknown_attr:
    rc = fail(p, ns == 1 ? start : key_off, "unknown field '%.*s'", (int)(p->pos - start),
              p->s + start);
    msx_buf_release(&kb);
    return rc;
}

/* ---- comparators ---------------------------------------------------- */

static ms_code parse_cmp(struct parser *p, struct msi_clause *c)
{
    size_t pos = p->pos;
    c->cmp_off = pos;
    if (pos >= p->n)
        return fail(p, pos, "expected a comparator");
    const char *s = p->s + pos;
    size_t left = p->n - pos;
    if (left >= 2 && s[0] == '=' && s[1] == '=')
        return fail(p, pos, "unknown comparator '==': use =");
    if (left >= 2 && s[0] == '<' && s[1] == '>')
        return fail(p, pos, "unknown comparator '<>': use !=");
    if (left >= 2 && s[0] == '!' && s[1] == '=') {
        c->cmp = MSI_C_NE;
        c->cmp_len = 2;
    } else if (left >= 2 && s[0] == '<' && s[1] == '=') {
        c->cmp = MSI_C_LE;
        c->cmp_len = 2;
    } else if (left >= 2 && s[0] == '>' && s[1] == '=') {
        c->cmp = MSI_C_GE;
        c->cmp_len = 2;
    } else if (s[0] == '=') {
        c->cmp = MSI_C_EQ;
        c->cmp_len = 1;
    } else if (s[0] == '<') {
        c->cmp = MSI_C_LT;
        c->cmp_len = 1;
    } else if (s[0] == '>') {
        c->cmp = MSI_C_GT;
        c->cmp_len = 1;
    } else if (at_word(p, pos, "LIKE")) {
        c->cmp = MSI_C_LIKE;
        c->cmp_len = 4;
    } else if (at_word(p, pos, "ILIKE")) {
        c->cmp = MSI_C_ILIKE;
        c->cmp_len = 5;
    } else if (at_word(p, pos, "RLIKE")) {
        c->cmp = MSI_C_RLIKE;
        c->cmp_len = 5;
    } else if (at_word(p, pos, "IN")) {
        c->cmp = MSI_C_IN;
        c->cmp_len = 2;
    } else if (at_word(p, pos, "NOT")) {
        size_t q = pos + 3;
        while (q < p->n && is_ws(p->s[q]))
            q++;
        if (!at_word(p, q, "IN"))
            return fail(p, pos, "NOT is only supported as NOT IN");
        c->cmp = MSI_C_NOT_IN;
        c->cmp_len = q + 2 - pos;
    } else if (at_word(p, pos, "IS")) {
        size_t q = pos + 2;
        while (q < p->n && is_ws(p->s[q]))
            q++;
        bool neg = false;
        if (at_word(p, q, "NOT")) {
            neg = true;
            q += 3;
            while (q < p->n && is_ws(p->s[q]))
                q++;
        }
        if (!at_word(p, q, "NULL"))
            return fail(p, q, "expected NULL after IS%s", neg ? " NOT" : "");
        c->cmp = neg ? MSI_C_IS_NOT_NULL : MSI_C_IS_NULL;
        c->cmp_len = q + 4 - pos;
    } else if (at_word(p, pos, "AND") || at_word(p, pos, "OR")) {
        return fail(p, pos, "expected a comparator");
    } else {
        return fail(p, pos, "expected a comparator");
    }
    p->pos = pos + c->cmp_len;
    return MS_OK;
}

static const char *cmp_name(enum msi_cmp c)
{
    switch (c) {
    case MSI_C_EQ: return "=";
    case MSI_C_NE: return "!=";
    case MSI_C_LT: return "<";
    case MSI_C_LE: return "<=";
    case MSI_C_GT: return ">";
    case MSI_C_GE: return ">=";
    case MSI_C_LIKE: return "LIKE";
    case MSI_C_ILIKE: return "ILIKE";
    case MSI_C_RLIKE: return "RLIKE";
    case MSI_C_IN: return "IN";
    case MSI_C_NOT_IN: return "NOT IN";
    case MSI_C_IS_NULL: return "IS NULL";
    case MSI_C_IS_NOT_NULL: return "IS NOT NULL";
    }
    return "?";
}

#define B(c) (1u << (c))
#define CMP_STRING_ATTR (B(MSI_C_EQ) | B(MSI_C_NE) | B(MSI_C_LIKE) | B(MSI_C_ILIKE) | \
                         B(MSI_C_RLIKE) | B(MSI_C_IN) | B(MSI_C_NOT_IN))
#define CMP_NUMERIC (B(MSI_C_EQ) | B(MSI_C_NE) | B(MSI_C_LT) | B(MSI_C_LE) | B(MSI_C_GT) | \
                     B(MSI_C_GE))
#define CMP_KV (B(MSI_C_EQ) | B(MSI_C_NE) | B(MSI_C_LIKE) | B(MSI_C_ILIKE) | B(MSI_C_RLIKE) | \
                B(MSI_C_IS_NULL) | B(MSI_C_IS_NOT_NULL))
#define CMP_RESERVED_META (B(MSI_C_EQ) | B(MSI_C_NE) | B(MSI_C_IS_NULL) | B(MSI_C_IS_NOT_NULL))
#define CMP_SPAN_ATTR (B(MSI_C_EQ) | B(MSI_C_NE) | B(MSI_C_LIKE) | B(MSI_C_ILIKE) | B(MSI_C_RLIKE))
#define CMP_CONTENT (B(MSI_C_LIKE) | B(MSI_C_ILIKE))
#define CMP_ASSESSMENT (CMP_NUMERIC | B(MSI_C_LIKE) | B(MSI_C_ILIKE) | B(MSI_C_RLIKE) | \
                        B(MSI_C_IS_NULL) | B(MSI_C_IS_NOT_NULL))
#define CMP_EQ_ONLY (B(MSI_C_EQ))

static bool is_reserved_meta(const struct msi_clause *c)
{
    return c->field == MSI_F_METADATA &&
           (strcmp(c->key, "mlflow.trace.tokenUsage") == 0 ||
            strcmp(c->key, "mlflow.trace.cost") == 0);
}

static unsigned allowed_cmps(const struct msi_clause *c, const char **hint)
{
    switch (c->field) {
    case MSI_F_REQUEST_ID:
    case MSI_F_CLIENT_REQUEST_ID:
    case MSI_F_STATUS:
    case MSI_F_SPAN_NAME:
    case MSI_F_SPAN_TYPE:
    case MSI_F_SPAN_STATUS:
        *hint = "=, !=, LIKE, ILIKE, RLIKE, IN, NOT IN";
        return CMP_STRING_ATTR;
    case MSI_F_TIMESTAMP:
    case MSI_F_EXECUTION_TIME:
    case MSI_F_END_TIME:
        *hint = "=, !=, <, <=, >, >=";
        return CMP_NUMERIC;
    case MSI_F_TAG:
    case MSI_F_METADATA:
        if (is_reserved_meta(c)) {
            *hint = "=, !=, IS NULL, IS NOT NULL";
            return CMP_RESERVED_META;
        }
        *hint = "=, !=, LIKE, ILIKE, RLIKE, IS NULL, IS NOT NULL";
        return CMP_KV;
    case MSI_F_PROMPT:
    case MSI_F_ISSUE:
        *hint = "=";
        return CMP_EQ_ONLY;
    case MSI_F_SPAN_ATTR:
        *hint = "=, !=, LIKE, ILIKE, RLIKE";
        return CMP_SPAN_ATTR;
    case MSI_F_SPAN_CONTENT:
        *hint = "LIKE, ILIKE";
        return CMP_CONTENT;
    case MSI_F_FEEDBACK:
    case MSI_F_EXPECTATION:
        *hint = "=, !=, <, <=, >, >=, LIKE, ILIKE, RLIKE, IS NULL, IS NOT NULL";
        return CMP_ASSESSMENT;
    }
    *hint = "";
    return 0;
}

/* ---- values --------------------------------------------------------- */

/* A number as sqlparse reads one: -?digits, optional fraction, optional
 * exponent, not followed by a name character. Returns its length or 0. */
static size_t number_len(const struct parser *p, size_t pos)
{
    size_t i = pos;
    if (i < p->n && p->s[i] == '-')
        i++;
    size_t d0 = i;
    while (i < p->n && is_digit(p->s[i]))
        i++;
    size_t nd = i - d0;
    if (i < p->n && p->s[i] == '.') {
        size_t j = i + 1;
        while (j < p->n && is_digit(p->s[j]))
            j++;
        if (nd == 0 && j == i + 1)
            return 0;
        nd += j - i - 1;
        i = j;
    }
    if (nd == 0)
        return 0;
    if (i < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
        size_t j = i + 1;
        if (j < p->n && (p->s[j] == '+' || p->s[j] == '-'))
            j++;
        size_t e0 = j;
        while (j < p->n && is_digit(p->s[j]))
            j++;
        if (j > e0)
            i = j;
    }
    if (i < p->n && (is_name_char((unsigned char)p->s[i]) || p->s[i] == '.'))
        return 0;
    return i - pos;
}

/* Parses text[0..n) as a number into c; false if it is not one. Integers
 * must fit int64 (MLflow's SQLite driver refuses bigger ones too). */
static bool to_number(const char *t, size_t n, struct msi_clause *c)
{
    char buf[128];
    if (n == 0 || n >= sizeof buf)
        return false;
    memcpy(buf, t, n);
    buf[n] = '\0';
    bool is_int = true;
    for (size_t i = 0; i < n; i++)
        if (!(is_digit(buf[i]) || (i == 0 && buf[i] == '-')))
            is_int = false;
    if (is_int) {
        const char *d = buf[0] == '-' ? buf + 1 : buf;
        if (!*d)
            return false;
        /* exact, digit by digit: never through a double */
        uint64_t v = 0;
        uint64_t lim = buf[0] == '-' ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        for (; *d; d++) {
            unsigned dig = (unsigned)(*d - '0');
            if (v > (lim - dig) / 10)
                return false;
            v = v * 10 + dig;
        }
        c->num_is_int = true;
        c->num_i = buf[0] == '-' ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v)
                                 : (int64_t)v;
        c->num_d = (double)c->num_i;
        return true;
    }
    char *end = NULL;
    double d = strtod(buf, &end);
    if (!end || *end != '\0')
        return false;
    c->num_is_int = false;
    c->num_d = d;
    c->num_i = 0;
    return true;
}

static ms_code read_string(struct parser *p, char **out, size_t *len)
{
    size_t pos = p->pos;
    size_t end = quoted_end(p, pos);
    if (!end)
        return fail(p, pos, "unterminated string");
    *out = dupn(p->s + pos + 1, end - pos - 2);
    if (!*out)
        return nomem(p);
    *len = end - pos - 2;
    p->pos = end;
    return MS_OK;
}

static ms_code parse_list(struct parser *p, struct msi_clause *c)
{
    size_t open = p->pos;
    p->pos++;
    size_t cap = 0;
    for (;;) {
        skip_ws(p);
        if (p->pos >= p->n)
            return fail(p, open, "unclosed '('");
        char ch = p->s[p->pos];
        if (ch == ')') {
            if (c->n_list == 0)
                return fail(p, p->pos, "expected a quoted string in the list");
            p->pos++;
            break;
        }
        if (ch != '\'' && ch != '"')
            return fail(p, p->pos, "expected a quoted string in the list");
        if (c->n_list == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            char **nl = realloc(c->list, ncap * sizeof *nl);
            if (!nl)
                return nomem(p);
            c->list = nl;
            size_t *nn = realloc(c->list_len, ncap * sizeof *nn);
            if (!nn)
                return nomem(p);
            c->list_len = nn;
            cap = ncap;
        }
        ms_code rc = read_string(p, &c->list[c->n_list], &c->list_len[c->n_list]);
        if (rc)
            return rc;
        c->n_list++;
        skip_ws(p);
        if (p->pos < p->n && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->n && p->s[p->pos] == ')')
            continue;
        if (p->pos >= p->n)
            return fail(p, open, "unclosed '('");
        return fail(p, p->pos, "expected ',' or ')' in the list");
    }
    return MS_OK;
}

static bool field_is_numeric(enum msi_field f)
{
    return f == MSI_F_TIMESTAMP || f == MSI_F_EXECUTION_TIME || f == MSI_F_END_TIME;
}

static ms_code parse_value(struct parser *p, struct msi_clause *c)
{
    size_t pos = p->pos;
    c->value_off = pos;
    if (c->cmp == MSI_C_IS_NULL || c->cmp == MSI_C_IS_NOT_NULL) {
        c->vkind = MSI_V_NONE;
        c->value_len = 0;
        return MS_OK;
    }
    if (pos >= p->n)
        return fail(p, pos, "expected a value");
    char ch = p->s[pos];
    bool assessment = c->field == MSI_F_FEEDBACK || c->field == MSI_F_EXPECTATION;
    bool want_number = field_is_numeric(c->field) ||
                       (assessment && (c->cmp == MSI_C_LT || c->cmp == MSI_C_LE ||
                                       c->cmp == MSI_C_GT || c->cmp == MSI_C_GE));
    if (c->cmp == MSI_C_IN || c->cmp == MSI_C_NOT_IN) {
        if (ch != '(')
            return fail(p, pos, "expected a parenthesised list of quoted strings after %s",
                        cmp_name(c->cmp));
        ms_code rc = parse_list(p, c);
        if (rc)
            return rc;
        c->vkind = MSI_V_LIST;
        c->value_len = p->pos - pos;
        return MS_OK;
    }
    if (ch == '(')
        return fail(p, pos, "a list of values needs IN or NOT IN");
    if (c->bare_timestamp) {
        size_t bl = number_len(p, pos);
        if (!bl || !to_number(p->s + pos, bl, c) || !c->num_is_int)
            return fail(p, pos, "expected an integer after a bare %.*s (or write trace.%.*s)",
                        (int)c->field_len, p->s + c->field_off, (int)c->field_len,
                        p->s + c->field_off);
    }
    if (ch == '\'' || ch == '"') {
        ms_code rc = read_string(p, &c->str, &c->str_len);
        if (rc)
            return rc;
        c->value_len = p->pos - pos;
        if (want_number) {
            /* MLflow passes a quoted number on to SQL, where SQLite's integer
             * affinity turns it into a number; anything else cannot match. */
            if (!field_is_numeric(c->field) || !to_number(c->str, c->str_len, c))
                return fail(p, pos, "expected a number");
            free(c->str);
            c->str = NULL;
            c->str_len = 0;
            c->vkind = MSI_V_NUMBER;
            return MS_OK;
        }
        c->vkind = MSI_V_STRING;
        return MS_OK;
    }
    size_t nl = number_len(p, pos);
    if (nl) {
        if (!want_number)
            return fail(p, pos, "string values must be quoted");
        if (!to_number(p->s + pos, nl, c))
            return fail(p, pos, "number out of range");
        c->vkind = MSI_V_NUMBER;
        c->value_len = nl;
        p->pos = pos + nl;
        return MS_OK;
    }
    if (want_number)
        return fail(p, pos, "expected a number");
    if (is_name_char((unsigned char)ch) || ch == '`')
        return fail(p, pos, "string values must be quoted");
    return fail(p, pos, "expected a value");
}

/* Checks MLflow's per-field rules that need the value. */
static ms_code check_value(struct parser *p, struct msi_clause *c)
{
    if (c->field == MSI_F_PROMPT) {
        size_t slashes = 0;
        for (size_t i = 0; i < c->str_len; i++)
            slashes += c->str[i] == '/';
        if (slashes != 1)
            return fail(p, c->value_off, "expected a prompt as \"name/version\"");
    }
    if (c->cmp == MSI_C_RLIKE && c->vkind == MSI_V_STRING) {
        /* A pattern that does not compile matches nothing, as with MLflow's
         * SQLite REGEXP function. */
        if (c->field == MSI_F_SPAN_ATTR) {
            size_t n;
            char *pat = msi_span_attr_regex(c->key, c->str, c->str_len, &n);
            if (!pat)
                return nomem(p);
            c->regex = msi_regex_compile(pat, n);
            free(pat);
        } else {
            c->regex = msi_regex_compile(c->str, c->str_len);
        }
    }
    if (c->vkind == MSI_V_NUMBER && !c->num_is_int && c->num_d != c->num_d)
        return fail(p, c->value_off, "expected a number");
    return MS_OK;
}

static void clause_release(struct msi_clause *c)
{
    free(c->key);
    free(c->str);
    for (size_t i = 0; i < c->n_list; i++)
        free(c->list[i]);
    free(c->list);
    free(c->list_len);
    msi_regex_free(c->regex);
    memset(c, 0, sizeof *c);
}

void ms_filter_free(ms_filter *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        clause_release(&f->clauses[i]);
    free(f->clauses);
    free(f->text);
    free(f);
}

const char *ms_filter_text(const ms_filter *f)
{
    return f && f->text ? f->text : "";
}

static ms_code parse_clause(struct parser *p, struct msi_clause *c)
{
    ms_code rc = parse_field(p, c);
    if (rc)
        return rc;
    skip_ws(p);
    rc = parse_cmp(p, c);
    if (rc)
        return rc;
    const char *hint;
    unsigned ok = allowed_cmps(c, &hint);
    if (!(ok & B(c->cmp)))
        return fail(p, c->cmp_off, "%s is not supported for %.*s: use %s", cmp_name(c->cmp),
                    (int)c->field_len, p->s + c->field_off, hint);
    skip_ws(p);
    rc = parse_value(p, c);
    if (rc)
        return rc;
    return check_value(p, c);
}

ms_code ms_filter_parse(const char *text, ms_filter **out, struct ms_error *err)
{
    *out = NULL;
    struct parser p = {text ? text : "", text ? strlen(text) : 0, 0, err, NULL};
    if (p.n > MSI_FILTER_MAX_LEN) {
        if (err) {
            err->code = MS_E_TOOBIG;
            err->offset = (int64_t)MSI_FILTER_MAX_LEN;
            snprintf(err->msg, sizeof err->msg, "filter longer than %zu bytes",
                     (size_t)MSI_FILTER_MAX_LEN);
        }
        return MS_E_TOOBIG;
    }
    ms_filter *f = calloc(1, sizeof *f);
    if (!f || !(f->text = malloc(p.n + 1))) {
        free(f);
        return nomem(&p);
    }
    memcpy(f->text, p.s, p.n);
    f->text[p.n] = '\0';
    p.f = f;
    size_t cap = 0;
    ms_code rc = MS_OK;
    skip_ws(&p);
    while (p.pos < p.n) {
        if (f->n == MSI_FILTER_MAX_CLAUSES) {
            rc = fail(&p, p.pos, "more than %d clauses", MSI_FILTER_MAX_CLAUSES);
            break;
        }
        if (at_word(&p, p.pos, "AND")) {
            rc = fail(&p, p.pos, f->n ? "expected a clause after AND, not another AND"
                                      : "expected a clause before AND");
            break;
        }
        if (f->n == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            struct msi_clause *nc = realloc(f->clauses, ncap * sizeof *nc);
            if (!nc) {
                rc = nomem(&p);
                break;
            }
            f->clauses = nc;
            cap = ncap;
        }
        struct msi_clause *c = &f->clauses[f->n];
        memset(c, 0, sizeof *c);
        f->n++;
        rc = parse_clause(&p, c);
        if (rc)
            break;
        skip_ws(&p);
        if (p.pos >= p.n)
            break;
        if (at_word(&p, p.pos, "AND")) {
            size_t and_pos = p.pos;
            p.pos += 3;
            skip_ws(&p);
            if (p.pos >= p.n) {
                rc = fail(&p, and_pos, "expected a clause after AND");
                break;
            }
            continue;
        }
        if (at_word(&p, p.pos, "OR")) {
            rc = fail(&p, p.pos, "OR is not supported: join clauses with AND");
            break;
        }
        char ch = p.s[p.pos];
        if (ch == ';')
            rc = fail(&p, p.pos, "unexpected ';': a filter is one expression");
        else if (ch == '-' && p.pos + 1 < p.n && p.s[p.pos + 1] == '-')
            rc = fail(&p, p.pos, "comments are not supported");
        else if (is_name_char((unsigned char)ch) || ch == '`')
            rc = fail(&p, p.pos, "expected AND between clauses");
        else
            rc = fail(&p, p.pos, "expected AND or the end of the filter");
        break;
    }
    if (rc) {
        ms_filter_free(f);
        return rc;
    }
    *out = f;
    return MS_OK;
}

bool ms_filter_needs_spans(const ms_filter *f)
{
    if (!f)
        return false;
    for (size_t i = 0; i < f->n; i++)
        if (msi_field_is_span(f->clauses[i].field))
            return true;
    return false;
}
