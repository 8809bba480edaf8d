/* SPDX-License-Identifier: MIT
 *
 * The store layer: picks a backend by URI scheme (curl's scheme table) and
 * does for every backend what it does not do itself: filtering, ordering
 * and paging in memory, and page tokens in MLflow's own format and rules
 * (base64 of {"offset": N}), so a token from mlsession works with MLflow's
 * SQL store and the other way round.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json/json.h"
#include "model/model.h"
#include "session/session_int.h"
#include "store/store.h"
#include "util/ids.h"
#include "util/uri.h"

#define DEFAULT_MAX_RESULTS 100
#define MAX_MAX_RESULTS 50000

struct ms_store {
    const struct msi_store_ops *ops;
    void *state;
    struct msx_arena scratch; /* experiments listing; reset per call */
    struct msx_arena ids_arena; /* all_ids */
    const char **all_ids;     /* every active experiment, listed once */
    size_t n_all_ids;
};

static ms_code list_experiment_ids(ms_store *st, struct msx_arena *a, const char ***ids,
                                   size_t *n, struct ms_error *err);

ms_code msi_error(struct ms_error *err, ms_code code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        err->offset = -1;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

static bool has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static bool is_sqlite_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    char magic[16];
    bool yes = fread(magic, 1, 16, f) == 16 && memcmp(magic, "SQLite format 3", 16) == 0;
    fclose(f);
    return yes;
}

/* Picks the backend and the local path for a URI. */
static const struct msi_store_ops *pick(const char *uri, const char **path, struct ms_error *err)
{
    struct stat st;
    *path = uri;
    if (strncmp(uri, "sqlite://", 9) == 0) {
        /* sqlite:///rel.db and sqlite:////abs.db, as SQLAlchemy spells them */
        *path = uri + 9;
        if (**path == '/')
            (*path)++;
        if (!**path) {
            msi_error(err, MS_E_INVALID, "%s: no database path in the uri", uri);
            return NULL;
        }
        return &msi_store_sqlite;
    }
    if (strncmp(uri, "postgresql:", 11) == 0 || strncmp(uri, "postgresql+", 11) == 0) {
        *path = NULL; /* libpq parses the whole uri */
        return &msi_store_pg;
    }
    if (strncmp(uri, "http://", 7) == 0 || strncmp(uri, "https://", 8) == 0) {
        *path = NULL;
        return &msi_store_rest;
    }
    if (strncmp(uri, "file://", 7) == 0)
        *path = uri + 7;
    else if (strstr(uri, "://")) {
        char shown[256];
        msx_uri_redact(uri, shown, sizeof shown);
        msi_error(err, MS_E_UNSUPPORTED, "unknown store scheme in '%s'", shown);
        return NULL;
    }
    if (stat(*path, &st) != 0) {
        msi_error(err, MS_E_IO, "%s: no such file or directory", *path);
        return NULL;
    }
    if (S_ISDIR(st.st_mode))
        return &msi_store_file;
    if (has_suffix(*path, ".db") || has_suffix(*path, ".sqlite") || is_sqlite_file(*path))
        return &msi_store_sqlite;
    return &msi_store_json;
}

ms_code ms_store_open(const char *uri, ms_store **out, struct ms_error *err)
{
    const char *path;
    const struct msi_store_ops *ops = pick(uri, &path, err);
    if (!ops)
        return err ? err->code : MS_E_INVALID;
    ms_store *st = calloc(1, sizeof *st);
    if (!st)
        return msi_error(err, MS_E_NOMEM, "out of memory");
    msx_arena_init(&st->scratch, 0);
    msx_arena_init(&st->ids_arena, 0);
    st->ops = ops;
    ms_code rc = ops->open(uri, path, &st->state, err);
    if (rc != MS_OK) {
        free(st);
        return rc;
    }
    *out = st;
    return MS_OK;
}

void ms_store_close(ms_store *st)
{
    if (!st)
        return;
    st->ops->close(st->state);
    msx_arena_release(&st->scratch);
    msx_arena_release(&st->ids_arena);
    free(st);
}

const char *ms_store_scheme(const ms_store *st)
{
    return st->ops->scheme;
}

ms_code ms_store_experiments(ms_store *st, const ms_experiment **list, size_t *n,
                             struct ms_error *err)
{
    ms_experiment *l = NULL;
    msx_arena_release(&st->scratch);
    ms_code rc = st->ops->experiments(st->state, &st->scratch, &l, n, err);
    *list = l;
    return rc;
}

/* ---- page tokens ------------------------------------------------------ */

static bool token_offset(const char *tok, int64_t *offset)
{
    size_t n = strlen(tok);
    unsigned char raw[256];
    if (n == 0 || n > 300)
        return false;
    int got = msx_base64_decode(tok, n, raw, sizeof raw - 1);
    if (got <= 0)
        return false;
    msx_json_parser *p = msx_json_parser_new();
    msx_json root;
    bool ok = p && msx_json_parse(p, (const char *)raw, (size_t)got, false, &root, NULL) == MS_OK &&
              msx_json_int64(msx_json_get(root, "offset"), offset) && *offset >= 0;
    msx_json_parser_free(p);
    return ok;
}

static bool make_token(ms_trace_set *set, int64_t offset)
{
    char json[64], b64[96];
    int n = snprintf(json, sizeof json, "{\"offset\": %lld}", (long long)offset);
    msx_base64_encode((const unsigned char *)json, (size_t)n, b64);
    return msi_trace_set_set_token(set, b64);
}

/* ---- in-memory ordering: a stable merge sort with the order as context - */

static void merge_sort(ms_trace *a, ms_trace *tmp, size_t n, const ms_order *o)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    merge_sort(a, tmp, h, o);
    merge_sort(a + h, tmp, n - h, o);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = ms_order_compare(o, &a[j], &a[i]) < 0 ? a[j++] : a[i++];
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

/* ---- search ----------------------------------------------------------- */

/* Every active experiment's id, for a scan of "all": listed once per
 * store (a store is read as a snapshot) and kept. */
static ms_code all_experiment_ids(ms_store *st, struct msx_arena *a, const char ***ids,
                                  size_t *n, struct ms_error *err)
{
    (void)a;
    if (!st->all_ids) {
        ms_code rc = list_experiment_ids(st, &st->ids_arena, &st->all_ids, &st->n_all_ids, err);
        if (rc != MS_OK) {
            st->all_ids = NULL;
            return rc;
        }
    }
    *ids = st->all_ids;
    *n = st->n_all_ids;
    return MS_OK;
}

static ms_code list_experiment_ids(ms_store *st, struct msx_arena *a, const char ***ids,
                                   size_t *n, struct ms_error *err)
{
    ms_experiment *list = NULL;
    size_t count = 0;
    ms_code rc = st->ops->experiments(st->state, a, &list, &count, err);
    if (rc != MS_OK)
        return rc;
    *ids = msx_arena_calloc(a, count ? count : 1, sizeof **ids);
    if (!*ids)
        return msi_error(err, MS_E_NOMEM, "out of memory");
    for (size_t i = 0; i < count; i++)
        (*ids)[i] = list[i].experiment_id.ptr;
    *n = count;
    return MS_OK;
}

/* Scans the experiments (NULL/0: all) and keeps the traces matching
 * filter, the whole candidate set at once. scan->... as given; the page is
 * only applied when the backend did it (scan->page_done). */
static ms_code scan_filtered(ms_store *st, struct msi_scan *scan, struct msx_arena *tmp_arena,
                             ms_trace_set **out, bool *spans_loaded, struct ms_error *err)
{
    ms_code rc = MS_OK;
    *spans_loaded = false;
    if (!scan->n_experiment_ids) {
        const char **ids = NULL;
        rc = all_experiment_ids(st, tmp_arena, &ids, &scan->n_experiment_ids, err);
        if (rc != MS_OK)
            return rc;
        scan->experiment_ids = ids;
    }
    ms_trace_set *set = msi_trace_set_new();
    if (!set)
        return msi_error(err, MS_E_NOMEM, "out of memory");
    if (scan->n_experiment_ids)
        rc = st->ops->scan(st->state, scan, set, err);
    size_t n = ms_trace_set_count(set);
    if (rc == MS_OK && scan->filter && !scan->filter_done) {
        if (ms_filter_needs_spans(scan->filter) && n) {
            rc = st->ops->load_spans(st->state, set, 0, n, err);
            *spans_loaded = rc == MS_OK;
        }
        /* the whole candidate set at once: session-level assessments
         * count for every trace of their session */
        const ms_trace **all = malloc((n ? n : 1) * sizeof *all);
        bool *keep = malloc(n ? n : 1);
        if (rc == MS_OK && (!all || !keep))
            rc = msi_error(err, MS_E_NOMEM, "out of memory");
        for (size_t i = 0; rc == MS_OK && i < n; i++)
            all[i] = msi_trace_set_mut(set, i);
        if (rc == MS_OK && !ms_filter_match_set(scan->filter, all, n, keep))
            rc = msi_error(err, MS_E_NOMEM, "out of memory");
        size_t kept = 0;
        for (size_t i = 0; rc == MS_OK && i < n; i++)
            if (keep[i])
                *msi_trace_set_mut(set, kept++) = *msi_trace_set_mut(set, i);
        free(all);
        free(keep);
        if (rc == MS_OK)
            msi_trace_set_slice(set, 0, kept);
    }
    if (rc != MS_OK) {
        ms_trace_set_free(set);
        return rc;
    }
    *out = set;
    return MS_OK;
}

ms_code msi_store_scan_all(ms_store *st, const char *const *experiment_ids, size_t n,
                           const ms_filter *filter, ms_trace_set **out, struct ms_error *err)
{
    struct msx_arena tmp_arena;
    msx_arena_init(&tmp_arena, 0);
    ms_order *order = NULL;
    bool spans_loaded;
    ms_code rc = ms_order_parse(NULL, 0, &order, err);
    struct msi_scan scan = {experiment_ids, n, filter, order, 0, INT64_MAX / 4, false, false,
                            false};
    if (rc == MS_OK)
        rc = scan_filtered(st, &scan, &tmp_arena, out, &spans_loaded, err);
    if (rc == MS_OK && spans_loaded)
        for (size_t i = 0; i < ms_trace_set_count(*out); i++) {
            msi_trace_set_mut(*out, i)->spans = NULL;
            msi_trace_set_mut(*out, i)->n_spans = 0;
        }
    if (rc == MS_OK && !msi_trace_set_reindex(*out)) {
        ms_trace_set_free(*out);
        rc = msi_error(err, MS_E_NOMEM, "out of memory");
    }
    ms_order_free(order);
    msx_arena_release(&tmp_arena);
    return rc;
}

ms_code msi_store_load_spans(ms_store *st, ms_trace_set *set, size_t from, size_t to,
                             struct ms_error *err)
{
    return from < to ? st->ops->load_spans(st->state, set, from, to, err) : MS_OK;
}

ms_code msi_store_session_scan(ms_store *st, const struct msi_session_scan *scan,
                               struct msi_sacc *acc, struct ms_error *err)
{
    if (!st->ops->session_scan)
        return MS_E_UNSUPPORTED;
    struct msx_arena tmp_arena;
    msx_arena_init(&tmp_arena, 0);
    struct msi_session_scan s = *scan;
    ms_code rc = MS_OK;
    if (!s.n_experiment_ids) {
        const char **ids = NULL;
        rc = all_experiment_ids(st, &tmp_arena, &ids, &s.n_experiment_ids, err);
        s.experiment_ids = ids;
    }
    if (rc == MS_OK)
        rc = s.n_experiment_ids ? st->ops->session_scan(st->state, &s, acc, err) : MS_OK;
    msx_arena_release(&tmp_arena);
    return rc;
}

ms_code ms_store_search(ms_store *st, const struct ms_search *req, ms_trace_set **out,
                        struct ms_error *err)
{
    struct msx_arena tmp_arena;
    msx_arena_init(&tmp_arena, 0);
    ms_order *order = NULL;
    ms_trace_set *set = NULL;
    ms_trace *tmp = NULL;
    ms_code rc;
    int64_t limit = req->max_results > 0 ? req->max_results : DEFAULT_MAX_RESULTS;
    int64_t offset = 0;
    if (limit > MAX_MAX_RESULTS) {
        rc = msi_error(err, MS_E_INVALID, "max_results %lld is above the cap of %d",
                       (long long)limit, MAX_MAX_RESULTS);
        goto done;
    }
    if (req->page_token && *req->page_token && !token_offset(req->page_token, &offset)) {
        rc = msi_error(err, MS_E_INVALID, "invalid page token");
        goto done;
    }
    rc = ms_order_parse(req->order_by, req->n_order_by, &order, err);
    if (rc != MS_OK)
        goto done;
    struct msi_scan scan = {req->experiment_ids, req->n_experiment_ids, req->filter, order,
                            offset, limit, false, false, false};
    bool spans_loaded = false;
    rc = scan_filtered(st, &scan, &tmp_arena, &set, &spans_loaded, err);
    if (rc != MS_OK)
        goto done;
    size_t n = ms_trace_set_count(set);
    if (!scan.page_done) {
        if (n > 1) {
            tmp = malloc(n * sizeof *tmp);
            if (!tmp) {
                rc = msi_error(err, MS_E_NOMEM, "out of memory");
                goto done;
            }
            merge_sort(msi_trace_set_mut(set, 0), tmp, n, order);
        }
        msi_trace_set_slice(set, (size_t)offset, (size_t)limit + 1);
        n = ms_trace_set_count(set);
    }
    if (n > (size_t)limit || (scan.token_when_full && n == (size_t)limit)) {
        msi_trace_set_slice(set, 0, (size_t)limit);
        n = (size_t)limit;
        if (!make_token(set, offset + limit)) {
            rc = msi_error(err, MS_E_NOMEM, "out of memory");
            goto done;
        }
    }
    if (req->include_spans && !spans_loaded && n) {
        rc = st->ops->load_spans(st->state, set, 0, n, err);
        if (rc != MS_OK)
            goto done;
    }
    if (!req->include_spans && spans_loaded)
        for (size_t i = 0; i < n; i++) {
            msi_trace_set_mut(set, i)->spans = NULL;
            msi_trace_set_mut(set, i)->n_spans = 0;
        }
    if (!msi_trace_set_reindex(set))
        rc = msi_error(err, MS_E_NOMEM, "out of memory");
done:
    free(tmp);
    ms_order_free(order);
    msx_arena_release(&tmp_arena);
    if (rc != MS_OK) {
        ms_trace_set_free(set);
        return rc;
    }
    *out = set;
    return MS_OK;
}

ms_code ms_store_get_trace(ms_store *st, const char *trace_id, ms_trace_set **out,
                           struct ms_error *err)
{
    ms_filter *f = NULL;
    /* trace ids are [a-zA-Z0-9_-]: safe to quote; anything else is absent */
    for (const char *p = trace_id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
            return msi_error(err, MS_E_NOTFOUND, "no trace with id '%s'", trace_id);
    char text[200];
    if (snprintf(text, sizeof text, "trace.request_id = '%s'", trace_id) >= (int)sizeof text)
        return msi_error(err, MS_E_NOTFOUND, "no trace with id '%.60s...'", trace_id);
    ms_code rc = ms_filter_parse(text, &f, err);
    if (rc != MS_OK)
        return rc;
    struct ms_search req = {1, NULL, 0, f, NULL, 0, 2, NULL, true};
    ms_trace_set *set = NULL;
    rc = ms_store_search(st, &req, &set, err);
    ms_filter_free(f);
    if (rc != MS_OK)
        return rc;
    if (ms_trace_set_count(set) == 0) {
        ms_trace_set_free(set);
        return msi_error(err, MS_E_NOTFOUND, "no trace with id '%s'", trace_id);
    }
    *out = set;
    return MS_OK;
}
