/* SPDX-License-Identifier: MIT
 *
 * ms_trace_set: traces read from an export file. Accepts every container
 * MLflow and its users produce: `traces search --output json` pages (one, or
 * several one after another), `traces get`, JSON Lines, a JSON array, REST
 * get/batchGet replies. One arena owns everything; an open-addressing index
 * on trace id serves find() and drops duplicates from offset paging.
 */
#include "model/model.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store.h"
#include "util/buf.h"

struct ms_trace_set {
    struct msx_arena arena;
    ms_trace *traces;
    size_t n, cap;
    uint32_t *index; /* slots hold i+1; 0 = empty */
    size_t index_cap;
    char *next_page_token;
    size_t n_warnings;                 /* all of them */
    char *warnings[MSI_MAX_WARNINGS];  /* the first ones */
    char *notice;                      /* the first notice, if any */
};

static uint64_t hash_str(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Slot for id: either the slot holding it or the empty one to use. */
static size_t slot_of(const ms_trace_set *set, const char *id, size_t n)
{
    size_t mask = set->index_cap - 1;
    size_t i = (size_t)hash_str(id, n) & mask;
    for (;;) {
        uint32_t v = set->index[i];
        if (!v)
            return i;
        const ms_str *t = &set->traces[v - 1].info.trace_id;
        if (t->len == n && memcmp(t->ptr, id, n) == 0)
            return i;
        i = (i + 1) & mask;
    }
}

static bool grow_index(ms_trace_set *set)
{
    size_t ncap = set->index_cap ? set->index_cap * 2 : 64;
    uint32_t *idx = calloc(ncap, sizeof *idx);
    if (!idx)
        return false;
    free(set->index);
    set->index = idx;
    set->index_cap = ncap;
    for (size_t k = 0; k < set->n; k++) {
        const ms_str *t = &set->traces[k].info.trace_id;
        set->index[slot_of(set, t->ptr, t->len)] = (uint32_t)(k + 1);
    }
    return true;
}

static ms_code set_fail(struct ms_error *err, ms_code code, int64_t off, const char *msg)
{
    if (err) {
        err->code = code;
        err->offset = off;
        snprintf(err->msg, sizeof err->msg, "%s", msg);
    }
    return code;
}

ms_trace *msi_trace_set_append(ms_trace_set *set)
{
    if (set->n == set->cap) {
        if (set->cap >= MSI_MAX_TRACES)
            return NULL;
        size_t ncap = set->cap ? set->cap * 2 : 64;
        ms_trace *nt = realloc(set->traces, ncap * sizeof *nt);
        if (!nt)
            return NULL;
        set->traces = nt;
        set->cap = ncap;
    }
    ms_trace *t = &set->traces[set->n++];
    memset(t, 0, sizeof *t);
    return t;
}

void msi_trace_set_pop(ms_trace_set *set)
{
    if (set->n)
        set->n--;
}

ms_trace *msi_trace_set_mut(ms_trace_set *set, size_t i)
{
    return i < set->n ? &set->traces[i] : NULL;
}

struct msx_arena *msi_trace_set_arena(ms_trace_set *set)
{
    return &set->arena;
}

bool msi_trace_set_reindex(ms_trace_set *set)
{
    size_t want = 64;
    while (want < set->n * 2)
        want *= 2;
    if (want != set->index_cap) {
        uint32_t *idx = calloc(want, sizeof *idx);
        if (!idx)
            return false;
        free(set->index);
        set->index = idx;
        set->index_cap = want;
    } else
        memset(set->index, 0, want * sizeof *set->index);
    for (size_t k = 0; k < set->n; k++) {
        const ms_str *t = &set->traces[k].info.trace_id;
        set->index[slot_of(set, t->ptr, t->len)] = (uint32_t)(k + 1);
    }
    return true;
}

void msi_trace_set_slice(ms_trace_set *set, size_t from, size_t n)
{
    if (from > set->n)
        from = set->n;
    if (n > set->n - from)
        n = set->n - from;
    if (from)
        memmove(set->traces, set->traces + from, n * sizeof *set->traces);
    set->n = n;
}

bool msi_trace_set_set_token(ms_trace_set *set, const char *token)
{
    free(set->next_page_token);
    set->next_page_token = NULL;
    if (!token)
        return true;
    size_t n = strlen(token);
    set->next_page_token = malloc(n + 1);
    if (!set->next_page_token)
        return false;
    memcpy(set->next_page_token, token, n + 1);
    return true;
}

void msi_trace_set_warn(ms_trace_set *set, const char *fmt, ...)
{
    if (!set)
        return;
    if (set->n_warnings < MSI_MAX_WARNINGS) {
        char buf[300];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        set->warnings[set->n_warnings] = strdup(buf); /* NULL if out of memory */
    }
    set->n_warnings++;
}

void msi_trace_set_notice(ms_trace_set *set, const char *fmt, ...)
{
    if (!set || set->notice)
        return;
    char buf[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    set->notice = strdup(buf);
}

const char *ms_trace_set_notice(const ms_trace_set *set)
{
    return set ? set->notice : NULL;
}

size_t ms_trace_set_warning_count(const ms_trace_set *set)
{
    return set ? set->n_warnings : 0;
}

const char *ms_trace_set_warning(const ms_trace_set *set, size_t i)
{
    if (!set || i >= set->n_warnings || i >= MSI_MAX_WARNINGS)
        return NULL;
    return set->warnings[i] ? set->warnings[i] : "(out of memory)";
}

const char *ms_trace_set_next_page_token(const ms_trace_set *set)
{
    return set ? set->next_page_token : NULL;
}

ms_trace_set *msi_trace_set_new(void)
{
    ms_trace_set *set = calloc(1, sizeof *set);
    if (set)
        msx_arena_init(&set->arena, 0);
    return set;
}

/* Decodes one trace object and appends it unless its id is there already. */
static ms_code add_trace(ms_trace_set *set, struct msi_decoder *d, msx_json v)
{
    /* grow first, while the index covers exactly the traces kept so far */
    if ((set->n + 1) * 2 > set->index_cap && !grow_index(set))
        return set_fail(d->err, MS_E_NOMEM, -1, "out of memory");
    ms_trace *t = msi_trace_set_append(set);
    if (!t)
        return set_fail(d->err, set->n >= MSI_MAX_TRACES ? MS_E_TOOBIG : MS_E_NOMEM, -1,
                        set->n >= MSI_MAX_TRACES ? "more traces than the cap" : "out of memory");
    ms_code rc = msi_decode_trace(d, v, t);
    if (rc != MS_OK) {
        if (d->err) {
            char tmp[sizeof d->err->msg];
            if (t->info.trace_id.ptr) /* the info decoded; a span failed */
                snprintf(tmp, sizeof tmp, "trace %.60s: %.180s", t->info.trace_id.ptr, d->err->msg);
            else
                snprintf(tmp, sizeof tmp, "trace %zu: %.200s", set->n, d->err->msg);
            memcpy(d->err->msg, tmp, sizeof tmp);
        }
        return rc;
    }
    size_t slot = slot_of(set, t->info.trace_id.ptr, t->info.trace_id.len);
    if (set->index[slot]) {
        msi_trace_set_pop(set); /* seen on an earlier page: keep the first */
        return MS_OK;
    }
    set->index[slot] = (uint32_t)set->n;
    return MS_OK;
}

static ms_code add_container(ms_trace_set *set, struct msi_decoder *d, msx_json v)
{
    msx_json list;
    if (msx_json_type(v) == MSX_JSON_ARRAY)
        list = v;
    else if (msx_json_type(v) == MSX_JSON_OBJECT && msi_is_trace(v))
        return add_trace(set, d, v);
    else if (msx_json_type(msx_json_get(v, "trace")) == MSX_JSON_OBJECT)
        return add_trace(set, d, msx_json_get(v, "trace"));
    else if (msx_json_type(list = msx_json_get(v, "traces")) != MSX_JSON_ARRAY)
        return set_fail(d->err, MS_E_UNSUPPORTED, -1,
                        "not an mlflow trace export (expected \"traces\", \"info\" or \"trace\")");
    struct msx_json_iter it = msx_json_iter_init(list);
    ms_str k;
    msx_json e;
    while (msx_json_next(&it, &k, &e)) {
        if (!msi_is_trace(e))
            return set_fail(d->err, MS_E_UNSUPPORTED, -1,
                            "array element is not a trace (expected \"info\" or \"trace_info\")");
        ms_code rc = add_trace(set, d, e);
        if (rc != MS_OK)
            return rc;
    }
    return MS_OK;
}

/* buf has MSX_JSON_PADDING readable bytes after len. */
static ms_code load_padded(const char *buf, size_t len, ms_trace_set **out, struct ms_error *err)
{
    ms_trace_set *set = msi_trace_set_new();
    msx_json_parser *p = msx_json_parser_new();
    struct msi_decoder d = {NULL, NULL, err};
    ms_code rc = MS_OK;
    if (!set || !p) {
        rc = set_fail(err, MS_E_NOMEM, -1, "out of memory");
        goto done;
    }
    d.arena = &set->arena;
    msx_json root;
    struct ms_error perr;
    if (msx_json_parse(p, buf, len, true, &root, &perr) == MS_OK) {
        rc = add_container(set, &d, root);
        goto done;
    }
    /* Not one document: maybe several (pages, JSON Lines). Walk them with
     * the C scanner, which also names the first bad byte. */
    size_t pos = 0, docs = 0;
    for (;;) {
        while (pos < len && (buf[pos] == ' ' || buf[pos] == '\n' || buf[pos] == '\r' ||
                             buf[pos] == '\t'))
            pos++;
        if (pos == len)
            break;
        size_t end, off;
        const char *msg;
        if (!msx_json_skip_value(buf, len, pos, &end, &off, &msg)) {
            rc = set_fail(err, MS_E_PARSE, (int64_t)off, msg);
            goto done;
        }
        if (msx_json_parse(p, buf + pos, end - pos, true, &root, &perr) != MS_OK) {
            rc = set_fail(err, perr.code, perr.offset >= 0 ? (int64_t)pos + perr.offset : (int64_t)pos,
                          perr.msg);
            goto done;
        }
        rc = add_container(set, &d, root);
        if (rc != MS_OK)
            goto done;
        docs++;
        pos = end;
    }
    if (docs == 0)
        rc = set_fail(err, MS_E_PARSE, 0, perr.msg[0] ? perr.msg : "empty input");
done:
    msx_json_parser_free(p);
    msx_json_parser_free(d.inner);
    if (rc != MS_OK) {
        ms_trace_set_free(set);
        return rc;
    }
    *out = set;
    return MS_OK;
}

ms_code ms_trace_set_load_buffer(const char *buf, size_t len, ms_trace_set **out,
                                 struct ms_error *err)
{
    char *copy = malloc(len + MSX_JSON_PADDING);
    if (!copy)
        return set_fail(err, MS_E_NOMEM, -1, "out of memory");
    if (len)
        memcpy(copy, buf, len);
    memset(copy + len, 0, MSX_JSON_PADDING);
    ms_code rc = load_padded(copy, len, out, err);
    free(copy);
    return rc;
}

ms_code ms_trace_set_load_file(const char *path, ms_trace_set **out, struct ms_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        char msg[200];
        snprintf(msg, sizeof msg, "cannot open: %s", strerror(errno));
        return set_fail(err, MS_E_IO, -1, msg);
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return set_fail(err, MS_E_IO, -1, "not a regular file");
    }
    size_t len = (size_t)st.st_size;
    char *buf = malloc(len + MSX_JSON_PADDING);
    if (!buf) {
        fclose(f);
        return set_fail(err, MS_E_NOMEM, -1, "out of memory");
    }
    size_t got = fread(buf, 1, len, f);
    int bad = ferror(f);
    fclose(f);
    if (got != len || bad) {
        free(buf);
        return set_fail(err, MS_E_IO, -1, "read failed or file changed while reading");
    }
    memset(buf + len, 0, MSX_JSON_PADDING);
    ms_code rc = load_padded(buf, len, out, err);
    free(buf);
    return rc;
}

void ms_trace_set_free(ms_trace_set *set)
{
    if (!set)
        return;
    msx_arena_release(&set->arena);
    free(set->traces);
    free(set->index);
    free(set->next_page_token);
    free(set->notice);
    for (size_t i = 0; i < set->n_warnings && i < MSI_MAX_WARNINGS; i++)
        free(set->warnings[i]);
    free(set);
}

size_t ms_trace_set_count(const ms_trace_set *set)
{
    return set ? set->n : 0;
}

const ms_trace *ms_trace_set_at(const ms_trace_set *set, size_t i)
{
    return set && i < set->n ? &set->traces[i] : NULL;
}

const ms_trace *ms_trace_set_find(const ms_trace_set *set, const char *trace_id)
{
    if (!set || !set->index_cap)
        return NULL;
    uint32_t v = set->index[slot_of(set, trace_id, strlen(trace_id))];
    return v ? &set->traces[v - 1] : NULL;
}

ms_code ms_attr_decode(const ms_attr *a, char **out, size_t *len, bool *is_json)
{
    const char *src = a->value.ptr ? a->value.ptr : "";
    size_t n = a->value.len;
    *is_json = a->kind == MS_VAL_JSON;
    if (a->kind == MS_VAL_STRING) {
        msx_json_parser *p = msx_json_parser_new();
        msx_json root;
        if (!p)
            return MS_E_NOMEM;
        if (msx_json_parse(p, src, n, false, &root, NULL) == MS_OK) {
            ms_str s = msx_json_str(root);
            if (s.ptr) { /* a JSON string: unquote it */
                char *r = malloc(s.len + 1);
                if (!r) {
                    msx_json_parser_free(p);
                    return MS_E_NOMEM;
                }
                memcpy(r, s.ptr, s.len);
                r[s.len] = '\0';
                *out = r;
                *len = s.len;
                msx_json_parser_free(p);
                return MS_OK;
            }
            *is_json = true;
        }
        msx_json_parser_free(p);
    }
    char *r = malloc(n + 1);
    if (!r)
        return MS_E_NOMEM;
    if (n)
        memcpy(r, src, n);
    r[n] = '\0';
    *out = r;
    *len = n;
    return MS_OK;
}
