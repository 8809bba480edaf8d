/* SPDX-License-Identifier: MIT
 *
 * --extract-fields, as MLflow's CLI does it (mlflow/utils/jsonpath_utils.py
 * and string_utils.format_table_cell_value in 3.17.2), on the JSON of a
 * trace:
 *   - a path is dot-separated, a `backticked` segment may hold dots, '*'
 *     expands over object keys and list items;
 *   - JSON mode keeps the original nesting: wildcards are expanded into
 *     concrete paths first, which are joined with '.' and split again, so a
 *     key holding a dot (info.tags.*) is lost exactly as in MLflow; a null or
 *     missing value is left out;
 *   - validation asks each path without '*' to yield a value on the first
 *     trace (lists are not indexed by number there, as in MLflow);
 *   - table mode prints Python's str() of the values found.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json_write.h"
#include "model/model.h"
#include "util/utf8.h"

#define MAX_PARTS 64
#define MAX_PATHS 4096

struct path {
    char *text;           /* the concrete path as text */
    char *buf;            /* the parts' bytes */
    ms_str parts[MAX_PARTS];
    size_t n;
};

/* split_path_respecting_backticks(); parts point into a malloc'd copy */
static bool split_path(const char *s, size_t len, struct path *p)
{
    p->text = malloc(len + 1);
    char *cur = malloc(len + 1);
    if (!p->text || !cur) {
        free(p->text);
        free(cur);
        p->text = NULL;
        return false;
    }
    memcpy(p->text, s, len);
    p->text[len] = '\0';
    /* parts are written into cur (owned via parts[0].ptr's buffer) */
    size_t o = 0, start = 0;
    p->n = 0;
    for (size_t i = 0; i < len;) {
        if (s[i] == '`') {
            i++;
            while (i < len && s[i] != '`')
                cur[o++] = s[i++];
            if (i < len)
                i++;
        } else if (s[i] == '.') {
            if (o > start && p->n < MAX_PARTS) {
                p->parts[p->n].ptr = cur + start;
                p->parts[p->n++].len = o - start;
            }
            start = o;
            i++;
        } else
            cur[o++] = s[i++];
    }
    if (o > start && p->n < MAX_PARTS) {
        p->parts[p->n].ptr = cur + start;
        p->parts[p->n++].len = o - start;
    }
    p->buf = cur;
    return true;
}

static void path_free(struct path *p)
{
    free(p->text);
    free(p->buf);
    memset(p, 0, sizeof *p);
}

static bool is_digits(ms_str s)
{
    if (!s.len)
        return false;
    for (size_t i = 0; i < s.len; i++)
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return false;
    return true;
}

static bool is_star(ms_str s) { return s.len == 1 && s.ptr[0] == '*'; }

/* jsonpath_extract_values(): every value the path reaches (no list indexing) */
static void extract_values(msx_json v, const ms_str *parts, size_t n, msx_json *out, size_t *count,
                           size_t max)
{
    if (n == 0) {
        if (*count < max)
            out[*count] = v;
        (*count)++;
        return;
    }
    enum msx_json_type ty = msx_json_type(v);
    if (is_star(parts[0])) {
        if (ty != MSX_JSON_OBJECT && ty != MSX_JSON_ARRAY)
            return;
        struct msx_json_iter it = msx_json_iter_init(v);
        ms_str k;
        msx_json e;
        while (msx_json_next(&it, &k, &e))
            extract_values(e, parts + 1, n - 1, out, count, max);
        return;
    }
    msx_json c = msx_json_getn(v, parts[0].ptr, parts[0].len);
    if (msx_json_ok(c))
        extract_values(c, parts + 1, n - 1, out, count, max);
}

/* find_matching_paths(): concrete textual paths for a wildcard path */
static bool find_paths(msx_json v, const ms_str *parts, size_t n, struct msx_buf *prefix,
                       char **out, size_t *count)
{
    if (n == 0) {
        if (*count >= MAX_PATHS)
            return false;
        const char *t = prefix->ptr ? prefix->ptr : "";
        while (*t == '.')
            t++;
        out[*count] = strdup(t);
        return out[(*count)++] != NULL;
    }
    size_t mark = prefix->len;
    enum msx_json_type ty = msx_json_type(v);
    if (is_star(parts[0])) {
        struct msx_json_iter it = msx_json_iter_init(v);
        ms_str k;
        msx_json e;
        size_t idx = 0;
        if (ty != MSX_JSON_OBJECT && ty != MSX_JSON_ARRAY)
            return true;
        while (msx_json_next(&it, &k, &e)) {
            prefix->len = mark;
            if (ty == MSX_JSON_OBJECT) {
                msx_buf_addc(prefix, '.');
                msx_buf_add(prefix, k.ptr, k.len);
            } else
                msx_buf_addf(prefix, ".%zu", idx++);
            if (!find_paths(e, parts + 1, n - 1, prefix, out, count))
                return false;
        }
        prefix->len = mark;
        return true;
    }
    msx_json c = msx_json_getn(v, parts[0].ptr, parts[0].len);
    if (ty != MSX_JSON_OBJECT || !msx_json_ok(c))
        return true;
    msx_buf_addc(prefix, '.');
    msx_buf_add(prefix, parts[0].ptr, parts[0].len);
    bool ok = find_paths(c, parts + 1, n - 1, prefix, out, count);
    prefix->len = mark;
    return ok;
}

/* get_nested_value_safe(); a JSON null counts as missing */
static msx_json nested_value(msx_json v, const struct path *p)
{
    msx_json none = {NULL, 0};
    for (size_t i = 0; i < p->n; i++) {
        enum msx_json_type ty = msx_json_type(v);
        if (ty == MSX_JSON_OBJECT && msx_json_ok(msx_json_getn(v, p->parts[i].ptr, p->parts[i].len)))
            v = msx_json_getn(v, p->parts[i].ptr, p->parts[i].len);
        else if (ty == MSX_JSON_ARRAY && is_digits(p->parts[i]))
            v = msx_json_at(v, strtoul(p->parts[i].ptr, NULL, 10));
        else
            return none;
        if (!msx_json_ok(v))
            return none;
    }
    return msx_json_type(v) == MSX_JSON_NULL ? none : v;
}

/* ---- the result tree (set_nested_value) ------------------------------- */

enum nkind { N_OBJ, N_ARR, N_LEAF, N_NULL };
struct node {
    enum nkind kind;
    ms_str key;
    msx_json leaf;
    struct node *kids;
    size_t n, cap;
};

static void node_free(struct node *nd)
{
    for (size_t i = 0; i < nd->n; i++)
        node_free(&nd->kids[i]);
    free(nd->kids);
}

static struct node *add_kid(struct node *nd)
{
    if (nd->n == nd->cap) {
        size_t nc = nd->cap ? nd->cap * 2 : 4;
        struct node *k = realloc(nd->kids, nc * sizeof *k);
        if (!k)
            return NULL;
        nd->kids = k;
        nd->cap = nc;
    }
    struct node *k = &nd->kids[nd->n++];
    memset(k, 0, sizeof *k);
    return k;
}

static struct node *obj_child(struct node *nd, ms_str key)
{
    for (size_t i = 0; i < nd->n; i++)
        if (nd->kids[i].key.len == key.len && memcmp(nd->kids[i].key.ptr, key.ptr, key.len) == 0)
            return &nd->kids[i];
    return NULL;
}

static bool set_nested(struct node *root, const struct path *p, msx_json value)
{
    struct node *cur = root;
    for (size_t i = 0; i + 1 < p->n; i++) {
        ms_str part = p->parts[i];
        if (is_digits(part) && cur->kind == N_ARR) {
            size_t idx = strtoul(part.ptr, NULL, 10);
            while (cur->n <= idx) {
                struct node *k = add_kid(cur);
                if (!k)
                    return false;
                k->kind = N_OBJ;
            }
            cur = &cur->kids[idx];
        } else {
            if (cur->kind != N_OBJ)
                return true; /* can't set an object key on a non-dict */
            struct node *k = obj_child(cur, part);
            if (!k) {
                if (!(k = add_kid(cur)))
                    return false;
                k->key = part;
                k->kind = is_digits(p->parts[i + 1]) ? N_ARR : N_OBJ;
            }
            cur = k;
        }
    }
    if (!p->n)
        return true;
    ms_str last = p->parts[p->n - 1];
    struct node *slot = NULL;
    if (is_digits(last) && cur->kind == N_ARR) {
        size_t idx = strtoul(last.ptr, NULL, 10);
        while (cur->n <= idx) {
            struct node *k = add_kid(cur);
            if (!k)
                return false;
            k->kind = N_NULL;
        }
        slot = &cur->kids[idx];
    } else if (cur->kind == N_OBJ) {
        slot = obj_child(cur, last);
        if (!slot) {
            if (!(slot = add_kid(cur)))
                return false;
            slot->key = last;
        }
    } else
        return true;
    node_free(slot);
    ms_str key = slot->key;
    memset(slot, 0, sizeof *slot);
    slot->key = key;
    slot->kind = N_LEAF;
    slot->leaf = value;
    return true;
}

static void emit_node(struct msx_jw *w, const struct node *nd)
{
    switch (nd->kind) {
    case N_LEAF: msx_jw_value(w, nd->leaf); return;
    case N_NULL: msx_jw_null(w); return;
    case N_ARR:
        msx_jw_arr_begin(w);
        for (size_t i = 0; i < nd->n; i++)
            emit_node(w, &nd->kids[i]);
        msx_jw_arr_end(w);
        return;
    case N_OBJ:
        msx_jw_obj_begin(w);
        for (size_t i = 0; i < nd->n; i++) {
            msx_jw_key(w, nd->kids[i].key.ptr, nd->kids[i].key.len);
            emit_node(w, &nd->kids[i]);
        }
        msx_jw_obj_end(w);
        return;
    }
}

/* ---- public ------------------------------------------------------------ */

struct ms_fields {
    struct path *paths;
    size_t n;
};

ms_code ms_fields_parse(const char *csv, ms_fields **out)
{
    ms_fields *f = calloc(1, sizeof *f);
    if (!f)
        return MS_E_NOMEM;
    for (const char *p = csv; *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *s = p;
        while (n && (*s == ' ' || *s == '\t'))
            s++, n--;
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        struct path *np = realloc(f->paths, (f->n + 1) * sizeof *np);
        if (!np || !split_path(s, n, &np[f->n])) {
            if (np)
                f->paths = np;
            ms_fields_free(f);
            return MS_E_NOMEM;
        }
        f->paths = np;
        f->n++;
        p = e ? e + 1 : p + strlen(p);
    }
    *out = f;
    return MS_OK;
}

void ms_fields_free(ms_fields *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        path_free(&f->paths[i]);
    free(f->paths);
    free(f);
}

size_t ms_fields_count(const ms_fields *f) { return f->n; }
const char *ms_fields_name(const ms_fields *f, size_t i) { return f->paths[i].text; }

/* Validates against one trace's JSON; the invalid paths, comma-separated,
 * go to bad (empty when all are valid). */
bool msi_fields_validate(const ms_fields *f, msx_json trace, struct msx_buf *bad)
{
    bool ok = true;
    for (size_t i = 0; i < f->n; i++) {
        if (strchr(f->paths[i].text, '*'))
            continue;
        size_t count = 0;
        msx_json tmp[1];
        extract_values(trace, f->paths[i].parts, f->paths[i].n, tmp, &count, 0);
        if (!count) {
            if (!ok)
                msx_buf_adds(bad, ", ");
            msx_buf_adds(bad, f->paths[i].text);
            ok = false;
        }
    }
    return ok;
}

/* filter_json_by_fields() of one trace into the writer. */
bool msi_fields_filter(const ms_fields *f, msx_json trace, struct msx_jw *w)
{
    struct node root = {N_OBJ, {NULL, 0}, {NULL, 0}, NULL, 0, 0};
    char **texts = NULL;
    size_t nt = 0;
    bool ok = true;
    struct msx_buf prefix;
    msx_buf_init(&prefix, MSX_CAP_LINE);
    texts = calloc(MAX_PATHS, sizeof *texts);
    if (!texts)
        return false;
    for (size_t i = 0; ok && i < f->n; i++) {
        if (strchr(f->paths[i].text, '*')) {
            msx_buf_reset(&prefix);
            ok = find_paths(trace, f->paths[i].parts, f->paths[i].n, &prefix, texts, &nt);
        } else if (nt < MAX_PATHS)
            ok = (texts[nt++] = strdup(f->paths[i].text)) != NULL;
    }
    struct path *ps = ok ? calloc(nt ? nt : 1, sizeof *ps) : NULL;
    size_t np = 0;
    for (size_t i = 0; ok && ps && i < nt; i++) {
        bool dup = false; /* a set in MLflow */
        for (size_t j = 0; j < i && !dup; j++)
            dup = strcmp(texts[i], texts[j]) == 0;
        if (dup)
            continue;
        if (!split_path(texts[i], strlen(texts[i]), &ps[np])) {
            ok = false;
            break;
        }
        msx_json v = nested_value(trace, &ps[np]);
        np++;
        if (msx_json_ok(v) && !set_nested(&root, &ps[np - 1], v))
            ok = false;
    }
    if (ok && ps)
        emit_node(w, &root);
    node_free(&root);
    for (size_t i = 0; ps && i < np; i++)
        path_free(&ps[i]);
    free(ps);
    for (size_t i = 0; i < nt; i++)
        free(texts[i]);
    free(texts);
    msx_buf_release(&prefix);
    return ok && ps;
}

/* Python's repr() of a string, as str(list) shows it. */
static void py_repr_str(struct msx_buf *b, ms_str s)
{
    bool has_sq = memchr(s.ptr, '\'', s.len) != NULL, has_dq = memchr(s.ptr, '"', s.len) != NULL;
    char q = has_sq && !has_dq ? '"' : '\'';
    msx_buf_addc(b, q);
    for (size_t i = 0; i < s.len;) {
        unsigned cp;
        size_t l = msx_utf8_decode((const unsigned char *)s.ptr, s.len, i, &cp);
        if (!l) {
            msx_buf_addf(b, "\\x%02x", (unsigned char)s.ptr[i]);
            i++;
            continue;
        }
        if (cp == (unsigned)q || cp == '\\')
            msx_buf_addf(b, "\\%c", (char)cp);
        else if (cp == '\n')
            msx_buf_adds(b, "\\n");
        else if (cp == '\r')
            msx_buf_adds(b, "\\r");
        else if (cp == '\t')
            msx_buf_adds(b, "\\t");
        else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
            msx_buf_addf(b, "\\x%02x", cp);
        else
            msx_buf_add(b, s.ptr + i, l);
        i += l;
    }
    msx_buf_addc(b, q);
}

/* Python's str() of a decoded JSON value (repr inside containers). */
static void py_str(struct msx_buf *b, msx_json v, bool inner)
{
    int64_t i;
    uint64_t u;
    double d;
    switch (msx_json_type(v)) {
    case MSX_JSON_NONE:
    case MSX_JSON_NULL: msx_buf_adds(b, "None"); return;
    case MSX_JSON_TRUE: msx_buf_adds(b, "True"); return;
    case MSX_JSON_FALSE: msx_buf_adds(b, "False"); return;
    case MSX_JSON_INT: msx_json_int64(v, &i); msx_buf_addf(b, "%lld", (long long)i); return;
    case MSX_JSON_UINT: msx_json_uint64(v, &u); msx_buf_addf(b, "%llu", (unsigned long long)u); return;
    case MSX_JSON_DOUBLE:
        msx_json_double(v, &d);
        if (d != d)
            msx_buf_adds(b, "nan");
        else if (d > 1e308 * 10)
            msx_buf_adds(b, "inf");
        else if (d < -1e308 * 10)
            msx_buf_adds(b, "-inf");
        else
            msx_json_format_double(b, d);
        return;
    case MSX_JSON_STRING:
        if (inner)
            py_repr_str(b, msx_json_str(v));
        else {
            ms_str s = msx_json_str(v);
            msx_buf_add(b, s.ptr, s.len);
        }
        return;
    case MSX_JSON_ARRAY:
    case MSX_JSON_OBJECT: {
        bool obj = msx_json_type(v) == MSX_JSON_OBJECT, first = true;
        msx_buf_addc(b, obj ? '{' : '[');
        struct msx_json_iter it = msx_json_iter_init(v);
        ms_str k;
        msx_json e;
        while (msx_json_next(&it, &k, &e)) {
            if (!first)
                msx_buf_adds(b, ", ");
            first = false;
            if (obj) {
                py_repr_str(b, k);
                msx_buf_adds(b, ": ");
            }
            py_str(b, e, true);
        }
        msx_buf_addc(b, obj ? '}' : ']');
        return;
    }
    }
}

/* format_table_cell_value(field, None, values) into b. */
void msi_fields_cell(const ms_fields *f, size_t col, msx_json trace, struct msx_buf *b)
{
    const struct path *p = &f->paths[col];
    msx_json vals[3];
    size_t count = 0;
    extract_values(trace, p->parts, p->n, vals, &count, 3);
    if (!count) {
        msx_buf_adds(b, "N/A");
        return;
    }
    size_t start = b->len;
    if (count == 1)
        py_str(b, vals[0], false);
    else {
        for (size_t i = 0; i < count && i < 3; i++) {
            if (i)
                msx_buf_adds(b, ", ");
            py_str(b, vals[i], false);
        }
        if (count > 3)
            msx_buf_addf(b, ", ... (+%zu more)", count - 3);
    }
    if (strcmp(p->text, "info.request_time") == 0 && count == 1) {
        /* "2026-01-15T09:00:00.123Z" -> "2026-01-15 09:00:00 UTC" */
        ms_str s = msx_json_str(vals[0]);
        if (s.ptr && s.len >= 20 && s.ptr[10] == 'T' && s.ptr[s.len - 1] == 'Z') {
            char t[32];
            snprintf(t, sizeof t, "%.10s %.8s UTC", s.ptr, s.ptr + 11);
            b->len = start;
            msx_buf_adds(b, t);
        }
    } else if (strcmp(p->text, "info.execution_duration_ms") == 0 && count == 1) {
        double d;
        if (msx_json_double(vals[0], &d)) {
            b->len = start;
            if (d < 1000)
                msx_buf_addf(b, "%lldms", (long long)d);
            else
                msx_buf_addf(b, "%.1fs", d / 1000);
        }
    } else if (strcmp(p->text, "info.request_preview") == 0 ||
               strcmp(p->text, "info.response_preview") == 0) {
        size_t n = b->len - start, cps = 0, i = 0, cut = 0;
        while (i < n) {
            size_t l = msx_utf8_decode((const unsigned char *)b->ptr + start, n, i, NULL);
            i += l ? l : 1;
            if (++cps == 17)
                cut = i;
        }
        if (cps > 20) {
            b->len = start + cut;
            msx_buf_adds(b, "...");
        }
    }
    if (b->ptr)
        b->ptr[b->len] = '\0';
}
