/* SPDX-License-Identifier: MIT
 *
 * yaml_lite - the YAML subset of MLflow's file store, read into JSON text.
 *
 * What PyYAML's safe_dump(default_flow_style=False) writes for the dicts
 * MLflow stores: block mappings (sorted keys), indentless block sequences,
 * "{}" and "[]" for empty collections, and scalars in one of three styles:
 * plain (folded over several lines when long), single-quoted ('' for ') and
 * double-quoted (escapes, "\" line continuations). Block scalars (| and >)
 * are never written by safe_dump but are cheap to read, so a hand-edited
 * file still loads. Everything else is refused, never guessed.
 *
 * The reader works line by line over the buffer with one cursor: a node
 * parser leaves the cursor at the first line after its node. After "- " the
 * rest of the line is treated as a line of its own, indented to where its
 * content starts (a "virtual" line), which is how "- key: value" opens a
 * mapping inside a sequence. Recursion is bounded by MSI_YAML_MAX_DEPTH.
 */
#include "store/yaml_lite.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "json/json.h"
#include "json/json_write.h"

struct yp {
    const char *s;
    size_t len;
    size_t pos;   /* start of the current line */
    size_t line;  /* 1-based number of the current line */
    bool virt;    /* the current line starts at vpos (after "- ") */
    size_t vpos;
    const char *name;
    struct ms_error *err;
    struct msx_jw w;
    struct msx_buf tmp; /* the scalar being decoded */
    msx_json_parser *num; /* normalises numbers through the JSON reader */
    int depth;
    ms_code rc;
};

/* ---- errors ----------------------------------------------------------- */

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static ms_code fail(struct yp *p, ms_code code, size_t at, const char *fmt, ...)
{
    if (p->rc != MS_OK)
        return p->rc;
    p->rc = code;
    if (p->err) {
        char what[160];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        /* keep the end of a long path: it names the trace */
        size_t n = strlen(p->name);
        const char *name = n > 90 ? p->name + n - 87 : p->name;
        p->err->code = code;
        p->err->offset = (int64_t)at;
        snprintf(p->err->msg, sizeof p->err->msg, "%s%s:%zu: %s", n > 90 ? "..." : "", name,
                 p->line, what);
    }
    return code;
}

/* ---- lines ------------------------------------------------------------ */

static size_t line_end(const struct yp *p, size_t i)
{
    const char *nl = memchr(p->s + i, '\n', p->len - i);
    return nl ? (size_t)(nl - p->s) : p->len;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t';
}

/* Where the current line's content starts. */
static size_t content_at(const struct yp *p)
{
    if (p->virt)
        return p->vpos;
    size_t i = p->pos;
    while (i < p->len && p->s[i] == ' ')
        i++;
    return i;
}

static size_t indent_of(const struct yp *p)
{
    return content_at(p) - p->pos;
}

/* Only white space or a comment from i to the end of the line? */
static bool rest_blank(const struct yp *p, size_t i)
{
    size_t e = line_end(p, i);
    while (i < e && is_ws(p->s[i]))
        i++;
    return i == e || p->s[i] == '#';
}

static bool at_eof(const struct yp *p)
{
    return p->pos >= p->len;
}

static void next_line(struct yp *p)
{
    size_t e = line_end(p, p->pos);
    p->pos = e < p->len ? e + 1 : p->len;
    p->line++;
    p->virt = false;
}

/* Skips empty and comment-only lines (never the rest of a virtual line,
 * which holds content). Tabs in indentation are refused. */
static bool skip_blank(struct yp *p)
{
    while (!at_eof(p) && !p->virt) {
        size_t i = p->pos;
        while (i < p->len && p->s[i] == ' ')
            i++;
        if (i < p->len && p->s[i] == '\t' && !rest_blank(p, i))
            return fail(p, MS_E_PARSE, i, "tab in indentation"), false;
        if (!rest_blank(p, p->pos))
            break;
        next_line(p);
    }
    return true;
}

/* "---" or "..." at column 0 (a document marker)? */
static bool is_doc_marker(const struct yp *p, size_t i, char c)
{
    return i + 3 <= p->len && p->s[i] == c && p->s[i + 1] == c && p->s[i + 2] == c &&
           (i + 3 == p->len || p->s[i + 3] == '\n' || is_ws(p->s[i + 3]));
}

static bool is_seq_entry(const struct yp *p, size_t c)
{
    return c < p->len && p->s[c] == '-' &&
           (c + 1 == p->len || p->s[c + 1] == '\n' || is_ws(p->s[c + 1]));
}

/* ---- scalars ---------------------------------------------------------- */

static void put_utf8(struct msx_buf *b, unsigned cp)
{
    char u[4];
    if (cp >= 0xD800 && cp <= 0xDFFF)
        cp = 0xFFFD; /* a lone surrogate: not encodable */
    if (cp < 0x80) {
        msx_buf_addc(b, (char)cp);
        return;
    }
    if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        msx_buf_add(b, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        msx_buf_add(b, u, 3);
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        msx_buf_add(b, u, 4);
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* After a line break inside a quoted scalar at s[i] == '\n': moves to the
 * next content, counting empty lines, and returns the index of the first
 * non-blank character there. */
static size_t quoted_break(struct yp *p, size_t i, size_t *empties)
{
    *empties = 0;
    for (;;) {
        i++; /* past '\n' */
        p->pos = i;
        p->line++;
        p->virt = false;
        while (i < p->len && is_ws(p->s[i]))
            i++;
        if (i < p->len && p->s[i] == '\n') {
            (*empties)++;
            continue;
        }
        return i;
    }
}

/* Decodes the quoted scalar opening at s[i] into p->tmp; returns the index
 * just past the closing quote (0 on error). Folding: a line break between
 * two lines becomes a space, n empty lines become n line feeds, white space
 * around breaks goes (YAML 1.1 flow scalars). */
static size_t scan_quoted(struct yp *p, size_t i)
{
    char q = p->s[i++];
    size_t keep = p->tmp.len; /* tmp length without trailing literal blanks */
    for (;;) {
        if (i >= p->len)
            return fail(p, MS_E_PARSE, i, "unterminated %s-quoted scalar",
                        q == '"' ? "double" : "single"),
                   0;
        char c = p->s[i];
        if (c == '\n') {
            size_t empties;
            p->tmp.len = keep;
            i = quoted_break(p, i, &empties);
            if (i - p->pos == 0 && (is_doc_marker(p, i, '-') || is_doc_marker(p, i, '.')))
                return fail(p, MS_E_PARSE, i, "document marker inside a quoted scalar"), 0;
            if (empties == 0)
                msx_buf_addc(&p->tmp, ' ');
            for (size_t k = 0; k < empties; k++)
                msx_buf_addc(&p->tmp, '\n');
            keep = p->tmp.len;
            continue;
        }
        if (c == q) {
            if (q == '\'' && i + 1 < p->len && p->s[i + 1] == '\'') {
                msx_buf_addc(&p->tmp, '\'');
                keep = p->tmp.len;
                i += 2;
                continue;
            }
            return i + 1;
        }
        if (q == '"' && c == '\\') {
            if (i + 1 >= p->len)
                return fail(p, MS_E_PARSE, i, "unterminated double-quoted scalar"), 0;
            char e = p->s[i + 1];
            static const char from[] = "0abt\tnvfre \"/\\N_LP";
            static const unsigned to[] = {0,   7,   8,    9,    9,    10,     11,     12,    13,
                                          27,  ' ', '"',  '/',  '\\', 0x85,   0xA0,   0x2028,
                                          0x2029};
            const char *hit = e ? strchr(from, e) : NULL;
            if (hit) {
                put_utf8(&p->tmp, to[hit - from]);
                i += 2;
            } else if (e == '\n') {
                size_t empties;
                i = quoted_break(p, i + 1, &empties);
                for (size_t k = 0; k < empties; k++)
                    msx_buf_addc(&p->tmp, '\n');
            } else if (e == 'x' || e == 'u' || e == 'U') {
                int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                unsigned cp = 0;
                for (int k = 0; k < n; k++) {
                    int h = i + 2 + (size_t)k < p->len ? hexval(p->s[i + 2 + k]) : -1;
                    if (h < 0)
                        return fail(p, MS_E_PARSE, i, "bad \\%c escape", e), 0;
                    cp = cp * 16 + (unsigned)h;
                }
                if (cp > 0x10FFFF)
                    return fail(p, MS_E_PARSE, i, "escape beyond U+10FFFF"), 0;
                put_utf8(&p->tmp, cp);
                i += 2 + (size_t)n;
            } else
                return fail(p, MS_E_PARSE, i, "unknown escape \\%c", e), 0;
            keep = p->tmp.len;
            continue;
        }
        msx_buf_addc(&p->tmp, c);
        if (!is_ws(c))
            keep = p->tmp.len;
        i++;
    }
}

/* End of plain text on the line starting at i: before " #" and trailing
 * blanks. Refuses ": " inside (a mapping where a scalar must be). */
static size_t plain_line_end(struct yp *p, size_t i, bool *ok)
{
    size_t e = line_end(p, i), end = i;
    for (size_t k = i; k < e; k++) {
        char c = p->s[k];
        if (c == '#' && k > i && is_ws(p->s[k - 1]))
            break;
        if (c == ':' && (k + 1 == e || is_ws(p->s[k + 1]))) {
            fail(p, MS_E_PARSE, k, "mapping values are not allowed here");
            *ok = false;
            return i;
        }
        if (!is_ws(c))
            end = k + 1;
    }
    return end;
}

/* A plain scalar from s[i], continued on following lines indented more
 * than parent. Leaves the cursor on the first line after it. */
static bool scan_plain(struct yp *p, size_t i, long parent)
{
    bool ok = true;
    size_t e = plain_line_end(p, i, &ok);
    if (!ok)
        return false;
    msx_buf_add(&p->tmp, p->s + i, e - i);
    next_line(p);
    size_t empties = 0;
    while (!at_eof(p)) {
        size_t c = content_at(p);
        size_t le = line_end(p, p->pos);
        size_t k = c;
        while (k < le && is_ws(p->s[k]))
            k++;
        if (k == le) { /* an empty line: a line feed if the scalar goes on */
            empties++;
            next_line(p);
            continue;
        }
        if ((long)(c - p->pos) <= parent || p->s[k] == '#' ||
            (c == p->pos && (is_doc_marker(p, c, '-') || is_doc_marker(p, c, '.'))))
            break;
        e = plain_line_end(p, k, &ok);
        if (!ok)
            return false;
        if (empties == 0)
            msx_buf_addc(&p->tmp, ' ');
        for (; empties > 0; empties--)
            msx_buf_addc(&p->tmp, '\n');
        msx_buf_add(&p->tmp, p->s + k, e - k);
        next_line(p);
    }
    return true;
}

/* A literal (|) or folded (>) block scalar whose header starts at s[i]. */
static bool scan_block(struct yp *p, size_t i, long parent)
{
    bool folded = p->s[i] == '>';
    char chomp = 'c'; /* clip, strip (-) or keep (+) */
    long explicit_ind = 0;
    size_t e = line_end(p, i);
    for (i++; i < e && !is_ws(p->s[i]); i++) {
        char c = p->s[i];
        if ((c == '-' || c == '+') && chomp == 'c')
            chomp = c == '-' ? 's' : 'k';
        else if (c >= '1' && c <= '9' && !explicit_ind)
            explicit_ind = c - '0';
        else
            return fail(p, MS_E_PARSE, i, "bad block scalar header"), false;
    }
    if (!rest_blank(p, i))
        return fail(p, MS_E_PARSE, i, "text after a block scalar header"), false;
    next_line(p);
    long ind = explicit_ind ? (parent < 0 ? 0 : parent) + explicit_ind : -1;
    if (ind < 0) { /* auto-detect from the first non-empty line */
        for (size_t k = p->pos; k < p->len;) {
            size_t le = line_end(p, k), c = k;
            while (c < le && p->s[c] == ' ')
                c++;
            if (c < le) {
                ind = (long)(c - k);
                break;
            }
            k = le + 1;
        }
        if (ind <= parent)
            ind = parent + 1; /* empty scalar: nothing is indented enough */
    }
    size_t breaks = 0;
    bool have = false, prev_more = false;
    while (!at_eof(p)) {
        size_t le = line_end(p, p->pos), c = p->pos;
        while (c < le && p->s[c] == ' ')
            c++;
        if (c == le) {
            breaks++;
            next_line(p);
            continue;
        }
        if ((long)(c - p->pos) < ind)
            break;
        size_t t = p->pos + (size_t)ind;
        bool more = is_ws(p->s[t]);
        if (have && folded && !prev_more && !more) {
            /* folding: one break is a space, n empty lines n line feeds */
            if (breaks == 1)
                msx_buf_addc(&p->tmp, ' ');
            for (size_t k = 1; k < breaks; k++)
                msx_buf_addc(&p->tmp, '\n');
        } else
            for (size_t k = 0; k < breaks; k++)
                msx_buf_addc(&p->tmp, '\n');
        msx_buf_add(&p->tmp, p->s + t, le - t);
        have = true;
        prev_more = more;
        breaks = 1;
        next_line(p);
    }
    size_t tail = chomp == 's' ? 0 : chomp == 'k' ? breaks : (have ? 1 : 0);
    for (size_t k = 0; k < tail; k++)
        msx_buf_addc(&p->tmp, '\n');
    return true;
}

/* ---- plain scalar types (PyYAML's SafeLoader resolver, YAML 1.1) ------ */

static bool word_in(const char *s, size_t n, const char *const *list)
{
    for (; *list; list++)
        if (strlen(*list) == n && memcmp(*list, s, n) == 0)
            return true;
    return false;
}

static bool all_of(const char *s, size_t n, const char *set)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '_' && !strchr(set, s[i]))
            return false;
    return true;
}

/* Writes a JSON number given as text via the JSON reader, so doubles come
 * out the way the writer prints every other double. */
static bool put_number(struct yp *p, const char *txt, size_t n)
{
    if (!p->num && !(p->num = msx_json_parser_new()))
        return fail(p, MS_E_NOMEM, 0, "out of memory"), false;
    msx_json v;
    if (msx_json_parse(p->num, txt, n, false, &v, NULL) != MS_OK)
        return false;
    msx_jw_value(&p->w, v);
    return true;
}

/* Strips '_' and a leading '+', and drops leading zeros of the integer
 * part; out gets JSON number text. Returns its length (0 if too long). */
static size_t clean_number(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0, i = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        if (s[i] == '-')
            out[k++] = '-';
        i++;
    }
    bool lead = true;
    for (; i < n; i++) {
        char c = s[i];
        if (c == '_')
            continue;
        if (lead && c == '0' && i + 1 < n && s[i + 1] != '.' && s[i + 1] != 'e' && s[i + 1] != 'E')
            continue;
        if (lead && c == '.')
            out[k++] = '0'; /* ".5" */
        lead = false;
        if (k + 3 >= cap)
            return 0;
        out[k++] = c;
        if (c == '.') {
            if (i + 1 == n || s[i + 1] == 'e' || s[i + 1] == 'E')
                out[k++] = '0'; /* "1." */
        }
    }
    return k;
}

/* Resolves an integer in base 2, 8 or 16 (PyYAML: 0b.., 0.., 0x..). */
static bool based_int(const char *s, size_t n, int base, int64_t *out)
{
    bool neg = false;
    size_t i = 0;
    if (s[i] == '-' || s[i] == '+')
        neg = s[i++] == '-';
    i += base == 8 ? 1 : 2;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] == '_')
            continue;
        int h = hexval(s[i]);
        if (v > (UINT64_MAX - (uint64_t)h) / (uint64_t)base)
            return false;
        v = v * (uint64_t)base + (uint64_t)h;
    }
    if (v > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
        return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

static bool put_plain(struct yp *p, const char *s, size_t n, size_t at)
{
    static const char *const nulls[] = {"~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"yes", "Yes", "YES", "true", "True", "TRUE",
                                        "on",  "On",  "ON",  NULL};
    static const char *const falses[] = {"no",    "No",    "NO",  "false", "False",
                                         "FALSE", "off",   "Off", "OFF",   NULL};
    if (n == 0 || word_in(s, n, nulls)) {
        msx_jw_null(&p->w);
        return true;
    }
    if (word_in(s, n, trues) || word_in(s, n, falses)) {
        msx_jw_bool(&p->w, word_in(s, n, trues));
        return true;
    }
    size_t b = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    const char *d = s + b;
    size_t m = n - b;
    char num[128];
    int64_t iv;
    /* integers */
    if (m > 2 && d[0] == '0' && d[1] == 'b' && all_of(d + 2, m - 2, "01")) {
        if (!based_int(s, n, 2, &iv))
            return fail(p, MS_E_UNSUPPORTED, at, "integer out of range"), false;
        msx_jw_int(&p->w, iv);
        return true;
    }
    if (m > 2 && d[0] == '0' && d[1] == 'x' && all_of(d + 2, m - 2, "0123456789abcdefABCDEF")) {
        if (!based_int(s, n, 16, &iv))
            return fail(p, MS_E_UNSUPPORTED, at, "integer out of range"), false;
        msx_jw_int(&p->w, iv);
        return true;
    }
    if (m > 1 && d[0] == '0' && all_of(d + 1, m - 1, "01234567")) {
        if (!based_int(s, n, 8, &iv))
            return fail(p, MS_E_UNSUPPORTED, at, "integer out of range"), false;
        msx_jw_int(&p->w, iv);
        return true;
    }
    if ((m == 1 && d[0] == '0') || (m >= 1 && d[0] >= '1' && d[0] <= '9' &&
                                    all_of(d, m, "0123456789"))) {
        size_t k = clean_number(s, n, num, sizeof num);
        if (k && put_number(p, num, k))
            return true;
        return p->rc == MS_OK ? (fail(p, MS_E_UNSUPPORTED, at, "integer too long"), false) : false;
    }
    /* floats: [-+]?[0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)? or \.[0-9_]+(...)? */
    {
        size_t i = 0;
        bool is_float = false;
        if (m > 0 && d[0] >= '0' && d[0] <= '9') {
            while (i < m && ((d[i] >= '0' && d[i] <= '9') || d[i] == '_'))
                i++;
            if (i < m && d[i] == '.') {
                is_float = true;
                i++;
            }
        } else if (b == 0 && m > 1 && d[0] == '.' &&
                   ((d[1] >= '0' && d[1] <= '9') || d[1] == '_')) {
            is_float = true;
            i = 1;
        }
        if (is_float) {
            while (i < m && ((d[i] >= '0' && d[i] <= '9') || d[i] == '_'))
                i++;
            if (i < m) {
                size_t j = i + 2;
                if (j <= m && (d[i] == 'e' || d[i] == 'E') &&
                    (d[i + 1] == '+' || d[i + 1] == '-'))
                    while (j < m && d[j] >= '0' && d[j] <= '9')
                        j++;
                is_float = j > i + 2 && j == m && (d[i] == 'e' || d[i] == 'E') &&
                           (d[i + 1] == '+' || d[i + 1] == '-');
            }
        }
        if (is_float) {
            size_t k = clean_number(s, n, num, sizeof num);
            if (k && put_number(p, num, k))
                return true;
            return p->rc == MS_OK ? (fail(p, MS_E_UNSUPPORTED, at, "float too long"), false)
                                  : false;
        }
    }
    static const char *const special[] = {".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN", NULL};
    if (word_in(d, m, special))
        return fail(p, MS_E_UNSUPPORTED, at, "non-finite float %.*s", (int)n, s), false;
    /* sexagesimal numbers (190:20:30) are YAML 1.1 ints/floats */
    if (m > 0 && d[0] >= '0' && d[0] <= '9' && memchr(d, ':', m) &&
        all_of(d, m, "0123456789:."))
        return fail(p, MS_E_UNSUPPORTED, at, "sexagesimal number %.*s", (int)n, s), false;
    msx_jw_str(&p->w, s, n); /* timestamps too stay text */
    return true;
}

/* ---- nodes ------------------------------------------------------------ */

static bool parse_block(struct yp *p, long parent);

/* Refuses what this reader does not do, at s[i] (a node's first byte). */
static bool refuse_indicator(struct yp *p, size_t i)
{
    char c = p->s[i];
    const char *what = c == '&'   ? "anchors"
                       : c == '*' ? "aliases"
                       : c == '!' ? "tags"
                       : c == '%' ? "directives"
                       : c == '@' || c == '`' ? "reserved indicators"
                       : (c == '?' && (i + 1 == p->len || p->s[i + 1] == ' ' ||
                                       p->s[i + 1] == '\n'))
                           ? "complex keys"
                           : NULL;
    if (what)
        return fail(p, MS_E_UNSUPPORTED, i, "yaml %s are not supported", what), true;
    return false;
}

/* A scalar or empty flow collection starting at s[i] on the current line;
 * parent is the indentation continuation lines must exceed. */
static bool parse_inline(struct yp *p, size_t i, long parent)
{
    char c = p->s[i];
    if (refuse_indicator(p, i))
        return false;
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        size_t k = i + 1;
        while (k < p->len && is_ws(p->s[k]))
            k++;
        if (k < p->len && p->s[k] == close && rest_blank(p, k + 1)) {
            if (c == '{') {
                msx_jw_obj_begin(&p->w);
                msx_jw_obj_end(&p->w);
            } else {
                msx_jw_arr_begin(&p->w);
                msx_jw_arr_end(&p->w);
            }
            next_line(p);
            return true;
        }
        return fail(p, MS_E_UNSUPPORTED, i, "yaml flow collections are not supported"), false;
    }
    msx_buf_reset(&p->tmp);
    if (c == '|' || c == '>') {
        if (!scan_block(p, i, parent))
            return false;
        msx_jw_str(&p->w, p->tmp.ptr ? p->tmp.ptr : "", p->tmp.len);
        return true;
    }
    if (c == '\'' || c == '"') {
        size_t e = scan_quoted(p, i);
        if (!e)
            return false;
        if (!rest_blank(p, e))
            return fail(p, MS_E_PARSE, e, "text after a quoted scalar"), false;
        next_line(p);
        msx_jw_str(&p->w, p->tmp.ptr ? p->tmp.ptr : "", p->tmp.len);
        return true;
    }
    if (is_seq_entry(p, i))
        return fail(p, MS_E_PARSE, i, "a sequence cannot start here"), false;
    size_t line = p->line;
    if (!scan_plain(p, i, parent))
        return false;
    size_t save = p->line;
    p->line = line; /* errors about the value name its first line */
    bool ok = put_plain(p, p->tmp.ptr ? p->tmp.ptr : "", p->tmp.len, i);
    p->line = save;
    return ok;
}

/* Is the text at s[c] "key:" (+ blank or end)? Decodes the key into tmp
 * and sets *after to the byte after the colon. */
static bool scan_key(struct yp *p, size_t c, size_t *after, bool *is_key)
{
    size_t e = line_end(p, c);
    *is_key = false;
    msx_buf_reset(&p->tmp);
    if (p->s[c] == '"' || p->s[c] == '\'') {
        size_t line = p->line, pos = p->pos;
        bool virt = p->virt;
        size_t k = scan_quoted(p, c);
        if (!k)
            return false;
        if (p->line != line) { /* a multi-line quoted scalar is no key */
            p->line = line;
            p->pos = pos;
            p->virt = virt;
            return true;
        }
        while (k < e && is_ws(p->s[k]))
            k++;
        if (k < e && p->s[k] == ':' && (k + 1 == e || is_ws(p->s[k + 1]))) {
            *after = k + 1;
            *is_key = true;
        }
        return true;
    }
    for (size_t k = c; k < e; k++) {
        if (p->s[k] == '#' && k > c && is_ws(p->s[k - 1]))
            return true;
        if (p->s[k] == ':' && (k + 1 == e || is_ws(p->s[k + 1]))) {
            size_t end = k;
            while (end > c && is_ws(p->s[end - 1]))
                end--;
            msx_buf_add(&p->tmp, p->s + c, end - c);
            *after = k + 1;
            *is_key = true;
            return true;
        }
    }
    return true;
}

static bool enter(struct yp *p, size_t at)
{
    if (++p->depth > MSI_YAML_MAX_DEPTH)
        return fail(p, MS_E_TOOBIG, at, "nesting deeper than %d", MSI_YAML_MAX_DEPTH), false;
    return true;
}

/* The value after "key:" whose rest of line starts at s[i]. */
static bool parse_value(struct yp *p, size_t i, long n)
{
    while (i < p->len && is_ws(p->s[i]))
        i++;
    if (!rest_blank(p, i))
        return parse_inline(p, i, n);
    next_line(p);
    if (!skip_blank(p))
        return false;
    if (!at_eof(p) && (long)indent_of(p) == n && is_seq_entry(p, content_at(p)))
        return parse_block(p, n - 1); /* an indentless sequence */
    return parse_block(p, n);
}

static bool parse_map(struct yp *p, long n)
{
    if (!enter(p, content_at(p)))
        return false;
    msx_jw_obj_begin(&p->w);
    for (;;) {
        if (!skip_blank(p))
            return false;
        if (at_eof(p) || (long)indent_of(p) < n)
            break;
        size_t c = content_at(p);
        if ((long)indent_of(p) > n)
            return fail(p, MS_E_PARSE, c, "bad indentation of a mapping entry"), false;
        if (c == p->pos && (is_doc_marker(p, c, '-') || is_doc_marker(p, c, '.')))
            break;
        if (is_seq_entry(p, c))
            break; /* the parent decides */
        if (refuse_indicator(p, c))
            return false;
        size_t after = 0;
        bool is_key;
        if (!scan_key(p, c, &after, &is_key))
            return false;
        if (!is_key)
            return fail(p, MS_E_PARSE, c, "expected a 'key: value' line"), false;
        msx_jw_key(&p->w, p->tmp.ptr ? p->tmp.ptr : "", p->tmp.len);
        if (!parse_value(p, after, n))
            return false;
    }
    msx_jw_obj_end(&p->w);
    p->depth--;
    return true;
}

static bool parse_seq(struct yp *p, long n)
{
    if (!enter(p, content_at(p)))
        return false;
    msx_jw_arr_begin(&p->w);
    for (;;) {
        if (!skip_blank(p))
            return false;
        if (at_eof(p) || (long)indent_of(p) < n)
            break;
        size_t c = content_at(p);
        if ((long)indent_of(p) > n)
            return fail(p, MS_E_PARSE, c, "bad indentation of a sequence entry"), false;
        if (!is_seq_entry(p, c))
            break; /* the next key of an enclosing mapping, or an error there */
        size_t i = c + 1;
        while (i < p->len && is_ws(p->s[i]))
            i++;
        if (rest_blank(p, i)) {
            next_line(p);
            if (!parse_block(p, n))
                return false;
            continue;
        }
        p->virt = true; /* "- x": x opens a line of its own */
        p->vpos = i;
        if (!parse_block(p, n))
            return false;
    }
    msx_jw_arr_end(&p->w);
    p->depth--;
    return true;
}

/* The node on the current line, which must be indented more than parent;
 * null when there is none. */
static bool parse_block(struct yp *p, long parent)
{
    if (!skip_blank(p))
        return false;
    if (at_eof(p) || (long)indent_of(p) <= parent) {
        msx_jw_null(&p->w);
        return true;
    }
    size_t c = content_at(p);
    long n = (long)indent_of(p);
    if (c == p->pos && (is_doc_marker(p, c, '-') || is_doc_marker(p, c, '.'))) {
        msx_jw_null(&p->w);
        return true;
    }
    if (is_seq_entry(p, c))
        return parse_seq(p, n);
    if (refuse_indicator(p, c))
        return false;
    size_t after;
    bool is_key;
    size_t line = p->line, pos = p->pos;
    bool virt = p->virt;
    if (!scan_key(p, c, &after, &is_key))
        return false;
    p->line = line, p->pos = pos, p->virt = virt;
    if (is_key)
        return parse_map(p, n);
    return parse_inline(p, c, parent);
}

/* ---- the document ----------------------------------------------------- */

ms_code msi_yaml_to_json(const char *text, size_t len, const char *name, struct msx_buf *out,
                         struct ms_error *err)
{
    struct yp p;
    memset(&p, 0, sizeof p);
    p.name = name ? name : "yaml";
    p.err = err;
    p.line = 1;
    if (len > MSI_YAML_MAX_BYTES)
        return fail(&p, MS_E_TOOBIG, 0, "document larger than %zu bytes",
                    (size_t)MSI_YAML_MAX_BYTES);
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        len -= 3;
    }
    p.s = text;
    p.len = len;
    /* YAML 1.1 also breaks lines at CR, NEL, LS and PS; PyYAML writes the
     * last three raw inside quoted scalars. Never met in MLflow's files, so
     * refused rather than half handled. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n')
            p.line++;
        else if (c == '\r' || c == '\0' ||
                 (c == 0xC2 && i + 1 < len && (unsigned char)text[i + 1] == 0x85) ||
                 (c == 0xE2 && i + 2 < len && (unsigned char)text[i + 1] == 0x80 &&
                  ((unsigned char)text[i + 2] == 0xA8 || (unsigned char)text[i + 2] == 0xA9)))
            return fail(&p, MS_E_UNSUPPORTED, i,
                        "carriage return, NUL or unicode line break in yaml text");
    }
    p.line = 1;
    msx_buf_init(&p.tmp, MSI_YAML_MAX_BYTES);
    msx_jw_init(&p.w, out, 0);
    if (skip_blank(&p)) {
        if (!at_eof(&p) && is_doc_marker(&p, p.pos, '-')) {
            if (!rest_blank(&p, p.pos + 3))
                fail(&p, MS_E_UNSUPPORTED, p.pos, "content after '---'");
            next_line(&p);
        }
        if (p.rc == MS_OK && !at_eof(&p) && p.s[p.pos] == '%')
            fail(&p, MS_E_UNSUPPORTED, p.pos, "yaml directives are not supported");
        if (p.rc == MS_OK && parse_block(&p, -1) && skip_blank(&p)) {
            if (!at_eof(&p) && is_doc_marker(&p, p.pos, '.')) {
                next_line(&p);
                skip_blank(&p);
            }
            if (p.rc == MS_OK && !at_eof(&p)) {
                if (is_doc_marker(&p, p.pos, '-'))
                    fail(&p, MS_E_UNSUPPORTED, p.pos, "more than one yaml document");
                else
                    fail(&p, MS_E_PARSE, content_at(&p), "unexpected text after the document");
            }
        }
    }
    if (p.rc == MS_OK && (msx_buf_status(&p.tmp) != MS_OK || msx_buf_status(out) != MS_OK))
        fail(&p, msx_buf_status(out) == MS_E_TOOBIG ? MS_E_TOOBIG : MS_E_NOMEM, 0,
             "out of memory");
    msx_buf_release(&p.tmp);
    msx_json_parser_free(p.num);
    return p.rc;
}
