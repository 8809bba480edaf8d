/* SPDX-License-Identifier: MIT
 *
 * The mlruns file store backend (file:///path/to/mlruns, or a bare path to
 * that folder), read the way MLflow's own FileStore reads it
 * (mlflow/store/tracking/file_store.py, 3.17.2):
 *
 *   <root>/<exp_id>/meta.yaml              experiment: name, experiment_id
 *                                          ('0', quoted), artifact_location,
 *                                          lifecycle_stage
 *   <root>/<exp_id>/traces/<trace_id>/
 *       trace_info.yaml                    TraceInfo.to_dict() without
 *                                          trace_metadata and tags (V3 keys;
 *                                          2.x wrote request_id, timestamp_ms...)
 *       request_metadata/<key>             one file per key; the content is the
 *       tags/<key>                         raw value. Keys are not escaped:
 *                                          MLflow only allows [/\w.\- :] and a
 *                                          '/' in a key is a subdirectory
 *       assessments/<assessment_id>.yaml   Assessment.to_dictionary()
 *       artifacts/traces.json              {"spans": [...]} (span form A)
 *   <root>/.trash/<exp_id>/                deleted experiments: skipped
 *
 * Spans are read from the trace's tag mlflow.artifactLocation + traces.json.
 * That location is an absolute path of the machine that wrote the store
 * (file:///tmp/acme-support/stores/mlruns/mlruns/<exp>/traces/<id>/artifacts).
 * When it does not exist here, the part after the experiment id directory is
 * mapped onto this store (<root>/<exp>/traces/<id>/artifacts), so a store
 * that was moved or copied still has its spans. A trace without traces.json
 * keeps 0 spans; that never fails a search.
 *
 * Strictly read-only: files are opened O_RDONLY, directories only listed;
 * nothing is created, modified or locked. YAML goes through yaml_lite into
 * JSON text and then through the same decoders as exported JSON, so a trace
 * reads the same from here as from `mlflow traces search` output.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/model.h"
#include "store/store.h"
#include "store/yaml_lite.h"

#define MAX_DIR_ENTRIES 10000000   /* names listed from one directory */
#define MAX_KEY_DEPTH 16           /* subdirectories in a tag/metadata key */
#define MAX_VALUE_BYTES ((size_t)16 << 20) /* one tag or metadata value */
#define MAX_SPANS_BYTES ((size_t)4 << 30)  /* one traces.json */

struct file_state {
    char *root; /* the mlruns folder, no trailing '/' */
};

/* ---- paths and files -------------------------------------------------- */

static char *join(struct msx_arena *a, const char *dir, const char *name)
{
    size_t n = strlen(dir), m = strlen(name);
    char *p = msx_arena_alloc(a, n + m + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, n);
    p[n] = '/';
    memcpy(p + n + 1, name, m + 1);
    return p;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* A name that cannot leave its directory (ids and key parts). */
static bool safe_name(const char *s)
{
    return *s && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && !strchr(s, '/');
}

/* Reads a whole regular file into a new buffer with MSX_JSON_PADDING zero
 * bytes after it (free with free()). *missing tells ENOENT apart, which
 * callers may treat as "absent" rather than as an error. */
static ms_code read_file(const char *path, size_t cap, char **out, size_t *len, bool *missing,
                         struct ms_error *err)
{
    *out = NULL;
    *len = 0;
    if (missing)
        *missing = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT && missing) {
            *missing = true;
            return MS_OK;
        }
        return msi_error(err, MS_E_IO, "%s: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return msi_error(err, MS_E_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > cap) {
        close(fd);
        return msi_error(err, MS_E_TOOBIG, "%s: larger than the cap of %zu bytes", path, cap);
    }
    size_t n = (size_t)st.st_size, got = 0;
    char *buf = malloc(n + MSX_JSON_PADDING + 1);
    if (!buf) {
        close(fd);
        return msi_error(err, MS_E_NOMEM, "out of memory");
    }
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got != n) {
        free(buf);
        return msi_error(err, MS_E_IO, "%s: read failed or file changed while reading", path);
    }
    memset(buf + n, 0, MSX_JSON_PADDING + 1);
    *out = buf;
    *len = n;
    return MS_OK;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of a directory but "." and "..", sorted, in arena a. A
 * missing directory is an empty list. */
static ms_code list_dir(struct msx_arena *a, const char *path, char ***names, size_t *n,
                        struct ms_error *err)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(path);
    if (!d) {
        if (errno == ENOENT || errno == ENOTDIR)
            return MS_OK;
        return msi_error(err, MS_E_IO, "%s: %s", path, strerror(errno));
    }
    size_t cap = 0, count = 0;
    char **v = NULL;
    struct dirent *e;
    ms_code rc = MS_OK;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (count == MAX_DIR_ENTRIES) {
            rc = msi_error(err, MS_E_TOOBIG, "%s: more than %d entries", path, MAX_DIR_ENTRIES);
            break;
        }
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            char **nv = realloc(v, ncap * sizeof *nv);
            if (!nv) {
                rc = msi_error(err, MS_E_NOMEM, "out of memory");
                break;
            }
            v = nv;
            cap = ncap;
        }
        if (!(v[count] = msx_arena_strndup(a, e->d_name, strlen(e->d_name)))) {
            rc = msi_error(err, MS_E_NOMEM, "out of memory");
            break;
        }
        count++;
    }
    closedir(d);
    if (rc == MS_OK && count) {
        qsort(v, count, sizeof *v, cmp_names);
        *names = msx_arena_alloc(a, count * sizeof **names);
        if (!*names)
            rc = msi_error(err, MS_E_NOMEM, "out of memory");
        else {
            memcpy(*names, v, count * sizeof *v);
            *n = count;
        }
    }
    free(v);
    return rc;
}

/* Reads a YAML file into a parsed JSON value (borrowed from parser p).
 * *missing as in read_file. */
static ms_code load_yaml(const char *path, msx_json_parser *p, msx_json *root, bool *missing,
                         struct ms_error *err)
{
    char *text;
    size_t len;
    ms_code rc = read_file(path, MSI_YAML_MAX_BYTES, &text, &len, missing, err);
    if (rc != MS_OK || (missing && *missing))
        return rc;
    struct msx_buf json;
    msx_buf_init(&json, MSX_CAP_FILE);
    rc = msi_yaml_to_json(text, len, path, &json, err);
    free(text);
    if (rc == MS_OK && msx_json_parse(p, json.ptr, json.len, false, root, NULL) != MS_OK)
        rc = msi_error(err, MS_E_PARSE, "%s: yaml did not convert to json", path);
    msx_buf_release(&json);
    return rc;
}

/* A JSON value that is a string or an integer, as text ("0" or 0). */
static ms_str id_text(struct msx_arena *a, msx_json v)
{
    ms_str s = msx_json_str(v);
    char num[32];
    int64_t i;
    if (!s.ptr && msx_json_int64(v, &i)) {
        int n = 0;
        uint64_t u = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
        char rev[24];
        do
            rev[n++] = (char)('0' + u % 10);
        while ((u /= 10) != 0);
        size_t k = 0;
        if (i < 0)
            num[k++] = '-';
        while (n > 0)
            num[k++] = rev[--n];
        s.ptr = num;
        s.len = k;
    }
    return msi_dup(a, s);
}

static bool str_is(ms_str s, const char *z)
{
    size_t n = strlen(z);
    return s.ptr && s.len == n && memcmp(s.ptr, z, n) == 0;
}

/* ---- open / close ----------------------------------------------------- */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 32);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* file:// URIs may percent-encode bytes (file:///my%20runs); %00 stays. */
static void percent_decode(char *s)
{
    char *o = s;
    for (; *s; s++) {
        int h1 = s[0] == '%' && s[1] ? hex_digit(s[1]) : -1;
        int h2 = h1 >= 0 && s[2] ? hex_digit(s[2]) : -1;
        if (h2 >= 0 && (h1 | h2) != 0) {
            *o++ = (char)(h1 * 16 + h2);
            s += 2;
        } else
            *o++ = *s;
    }
    *o = '\0';
}

/* A local path from a file URI or a plain path, in a new string; NULL if
 * the text names another scheme (s3://, mlflow-artifacts:...). */
static char *local_path(const char *text)
{
    const char *p = text;
    bool uri = false;
    if (strncmp(p, "file://localhost/", 17) == 0)
        p += 16, uri = true;
    else if (strncmp(p, "file://", 7) == 0)
        p += 7, uri = true;
    else if (strncmp(p, "file:/", 6) == 0)
        p += 5, uri = true;
    else {
        const char *c = p;
        while ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
               *c == '+' || *c == '-' || *c == '.')
            c++;
        if (*c == ':' && c - p > 1) /* a scheme (one letter would be a drive) */
            return NULL;
    }
    char *s = strdup(p);
    if (s && uri)
        percent_decode(s);
    return s;
}

static ms_code file_open(const char *uri, const char *path, void **state, struct ms_error *err)
{
    bool is_uri = strncmp(uri, "file:", 5) == 0;
    char *root = is_uri ? local_path(uri) : strdup(path);
    if (!root)
        return is_uri && strncmp(uri, "file:/", 6) != 0
                   ? msi_error(err, MS_E_INVALID, "%s: a file uri needs an absolute path", uri)
                   : msi_error(err, MS_E_NOMEM, "out of memory");
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        root[--n] = '\0';
    if (!*root || !is_dir(root)) {
        ms_code rc = msi_error(err, MS_E_IO, "%s: not a directory", *root ? root : uri);
        free(root);
        return rc;
    }
    /* An mlruns folder holds experiment folders with meta.yaml (always "0"
     * unless deleted) or the .trash folder. Say so early when handed the
     * folder above it, as happens with `mlflow ui` started one level up. */
    struct msx_arena a;
    msx_arena_init(&a, 0);
    char **names;
    size_t count;
    ms_code rc = list_dir(&a, root, &names, &count, err);
    bool looks = false;
    for (size_t i = 0; rc == MS_OK && i < count && !looks; i++) {
        char *dir = join(&a, root, names[i]);
        char *meta = dir ? join(&a, dir, "meta.yaml") : NULL;
        looks = strcmp(names[i], ".trash") == 0 || (meta && is_file(meta));
    }
    if (rc == MS_OK && !looks) {
        char *sub = join(&a, root, "mlruns");
        rc = msi_error(err, MS_E_STORE, "%s: not an mlruns folder (no experiment meta.yaml)%s",
                       root, sub && is_dir(sub) ? "; try its mlruns subfolder" : "");
    }
    msx_arena_release(&a);
    if (rc != MS_OK) {
        free(root);
        return rc;
    }
    struct file_state *s = calloc(1, sizeof *s);
    if (!s) {
        free(root);
        return msi_error(err, MS_E_NOMEM, "out of memory");
    }
    s->root = root;
    *state = s;
    return MS_OK;
}

static void file_close(void *state)
{
    struct file_state *s = state;
    if (!s)
        return;
    free(s->root);
    free(s);
}

/* ---- experiments ------------------------------------------------------ */

static int cmp_ids(ms_str a, ms_str b)
{
    if (a.len != b.len)
        return a.len < b.len ? -1 : 1;
    return memcmp(a.ptr, b.ptr, a.len);
}

/* Reads <root>/<id>/meta.yaml into e (strings in a). *ok is false when the
 * folder is no active experiment: no meta.yaml, an id that does not match
 * the folder (MLflow ignores those too), or lifecycle_stage "deleted". */
static ms_code read_experiment(struct file_state *s, struct msx_arena *a, msx_json_parser *p,
                               const char *id, ms_experiment *e, bool *ok,
                               struct ms_error *err)
{
    *ok = false;
    memset(e, 0, sizeof *e);
    char *dir = join(a, s->root, id);
    char *meta = dir ? join(a, dir, "meta.yaml") : NULL;
    if (!meta)
        return msi_error(err, MS_E_NOMEM, "out of memory");
    if (!is_dir(dir))
        return MS_OK;
    bool missing;
    msx_json root;
    ms_code rc = load_yaml(meta, p, &root, &missing, err);
    if (rc != MS_OK || missing || msx_json_type(root) != MSX_JSON_OBJECT)
        return rc;
    e->experiment_id = id_text(a, msx_json_get(root, "experiment_id"));
    e->name = msi_dup(a, msx_json_str(msx_json_get(root, "name")));
    e->artifact_location = msi_dup(a, msx_json_str(msx_json_get(root, "artifact_location")));
    e->lifecycle_stage = msi_dup(a, msx_json_str(msx_json_get(root, "lifecycle_stage")));
    if (!e->lifecycle_stage.ptr)
        e->lifecycle_stage = msi_dup(a, (ms_str){"active", 6});
    if (!e->name.ptr)
        e->name = msi_dup(a, (ms_str){"", 0});
    if (!e->experiment_id.ptr || !str_is(e->experiment_id, id) ||
        str_is(e->lifecycle_stage, "deleted"))
        return MS_OK;
    /* trace count: trace folders with a trace_info.yaml */
    char *traces = join(a, dir, "traces");
    char **names;
    size_t n;
    if (!traces)
        return msi_error(err, MS_E_NOMEM, "out of memory");
    struct msx_arena tmp;
    msx_arena_init(&tmp, 0);
    rc = list_dir(&tmp, traces, &names, &n, err);
    for (size_t i = 0; rc == MS_OK && i < n; i++) {
        char *t = join(&tmp, traces, names[i]);
        char *info = t ? join(&tmp, t, "trace_info.yaml") : NULL;
        if (!info)
            rc = msi_error(err, MS_E_NOMEM, "out of memory");
        else if (is_file(info))
            e->trace_count++;
    }
    msx_arena_release(&tmp);
    *ok = rc == MS_OK;
    return rc;
}

static ms_code file_experiments(void *state, struct msx_arena *a, ms_experiment **list,
                                size_t *n, struct ms_error *err)
{
    struct file_state *s = state;
    struct msx_arena tmp;
    msx_arena_init(&tmp, 0);
    msx_json_parser *p = msx_json_parser_new();
    char **names;
    size_t count = 0, k = 0;
    ms_experiment *l = NULL;
    ms_code rc = p ? list_dir(&tmp, s->root, &names, &count, err)
                   : msi_error(err, MS_E_NOMEM, "out of memory");
    if (rc == MS_OK && !(l = msx_arena_calloc(a, count ? count : 1, sizeof *l)))
        rc = msi_error(err, MS_E_NOMEM, "out of memory");
    for (size_t i = 0; rc == MS_OK && i < count; i++) {
        /* .trash holds deleted experiments; "models" is the model registry */
        if (names[i][0] == '.' || strcmp(names[i], "models") == 0)
            continue;
        bool ok;
        rc = read_experiment(s, a, p, names[i], &l[k], &ok, err);
        if (ok)
            k++;
    }
    msx_json_parser_free(p);
    msx_arena_release(&tmp);
    if (rc != MS_OK)
        return rc;
    for (size_t i = 1; i < k; i++) /* insertion sort: few experiments */
        for (size_t j = i; j > 0 && cmp_ids(l[j].experiment_id, l[j - 1].experiment_id) < 0; j--) {
            ms_experiment t = l[j];
            l[j] = l[j - 1];
            l[j - 1] = t;
        }
    *list = l;
    *n = k;
    return MS_OK;
}

/* ---- trace infos ------------------------------------------------------ */

struct kv_vec {
    ms_kv *v;
    size_t n, cap;
};

static int cmp_kv(const void *a, const void *b)
{
    const ms_kv *x = a, *y = b;
    size_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
    int c = memcmp(x->key.ptr, y->key.ptr, n);
    return c ? c : (x->key.len > y->key.len) - (x->key.len < y->key.len);
}

/* Reads every file under dir as one entry (key = path relative to top,
 * '/'-separated, as os.walk gives MLflow), values into arena a. */
static ms_code walk_kv(struct msx_arena *a, struct msx_arena *tmp, const char *dir,
                       const char *prefix, int depth, struct kv_vec *out, struct ms_error *err)
{
    char **names;
    size_t n;
    ms_code rc = list_dir(tmp, dir, &names, &n, err);
    for (size_t i = 0; rc == MS_OK && i < n; i++) {
        char *path = join(tmp, dir, names[i]);
        char *key = !path ? NULL : *prefix ? join(tmp, prefix, names[i]) : names[i];
        struct stat st;
        if (!key)
            return msi_error(err, MS_E_NOMEM, "out of memory");
        if (lstat(path, &st) != 0)
            continue; /* vanished meanwhile */
        if (S_ISDIR(st.st_mode)) { /* os.walk does not follow linked dirs */
            if (depth >= MAX_KEY_DEPTH)
                return msi_error(err, MS_E_TOOBIG, "%s: keys nested deeper than %d", path,
                                 MAX_KEY_DEPTH);
            rc = walk_kv(a, tmp, path, key, depth + 1, out, err);
            continue;
        }
        if (!is_file(path))
            continue;
        char *val;
        size_t len;
        rc = read_file(path, MAX_VALUE_BYTES, &val, &len, NULL, err);
        if (rc != MS_OK)
            return rc;
        if (out->n == out->cap) {
            size_t ncap = out->cap ? out->cap * 2 : 16;
            ms_kv *nv = realloc(out->v, ncap * sizeof *nv);
            if (!nv) {
                free(val);
                return msi_error(err, MS_E_NOMEM, "out of memory");
            }
            out->v = nv;
            out->cap = ncap;
        }
        ms_kv *kv = &out->v[out->n];
        kv->key = msi_dup(a, (ms_str){key, strlen(key)});
        kv->value = msi_dup(a, (ms_str){val, len});
        free(val);
        if (!kv->key.ptr || !kv->value.ptr)
            return msi_error(err, MS_E_NOMEM, "out of memory");
        out->n++;
    }
    return rc;
}

/* The key/value files of <trace>/<sub>, sorted by key. */
static ms_code read_kv_dir(struct msx_arena *a, struct msx_arena *tmp, const char *trace_dir,
                           const char *sub, ms_kv **kv, size_t *n, struct ms_error *err)
{
    struct kv_vec vec = {NULL, 0, 0};
    char *dir = join(tmp, trace_dir, sub);
    ms_code rc = dir ? walk_kv(a, tmp, dir, "", 0, &vec, err)
                     : msi_error(err, MS_E_NOMEM, "out of memory");
    *kv = NULL;
    *n = 0;
    if (rc == MS_OK && vec.n) {
        qsort(vec.v, vec.n, sizeof *vec.v, cmp_kv);
        *kv = msx_arena_alloc(a, vec.n * sizeof **kv);
        if (!*kv)
            rc = msi_error(err, MS_E_NOMEM, "out of memory");
        else {
            memcpy(*kv, vec.v, vec.n * sizeof *vec.v);
            *n = vec.n;
        }
    }
    free(vec.v);
    return rc;
}

/* What MLflow makes of a stored assessment: Assessment.from_dictionary()
 * then to_dictionary(). An expectation keeps no rationale, overrides or
 * valid; a feedback always has valid (default true); times are whole ms. */
static void normalise_assessment(ms_assessment *as)
{
    if (as->is_expectation) {
        as->rationale = (ms_str){NULL, 0};
        as->overrides = (ms_str){NULL, 0};
        as->valid = true;
        as->has_valid = false;
    } else if (!as->has_valid) {
        as->valid = true;
        as->has_valid = true;
    }
    as->create_time_ns -= as->create_time_ns % 1000000;
    as->last_update_time_ns -= as->last_update_time_ns % 1000000;
}

static int cmp_assessments(const void *a, const void *b)
{
    const ms_assessment *x = a, *y = b;
    if (x->create_time_ns != y->create_time_ns)
        return x->create_time_ns < y->create_time_ns ? -1 : 1;
    ms_str i = x->assessment_id, j = y->assessment_id;
    size_t n = i.len < j.len ? i.len : j.len;
    int c = n ? memcmp(i.ptr, j.ptr, n) : 0;
    return c ? c : (i.len > j.len) - (i.len < j.len);
}

static bool has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n > m && strcmp(s + n - m, suf) == 0;
}

/* Prefixes err's message with the file it came from, unless it names one. */
static ms_code in_file(ms_code rc, const char *path, struct ms_error *err)
{
    if (rc != MS_OK && err && !strstr(err->msg, path)) {
        char tmp[sizeof err->msg];
        size_t n = strlen(path);
        const char *tail = n > 120 ? path + n - 117 : path;
        snprintf(tmp, sizeof tmp, "%s%s: %.120s", n > 120 ? "..." : "", tail, err->msg);
        memcpy(err->msg, tmp, sizeof tmp);
    }
    return rc;
}

static ms_code read_assessments(struct msi_decoder *d, struct msx_arena *tmp, msx_json_parser *p,
                                const char *trace_dir, ms_trace_info *info)
{
    char *dir = join(tmp, trace_dir, "assessments");
    char **names;
    size_t n;
    if (!dir)
        return msi_error(d->err, MS_E_NOMEM, "out of memory");
    ms_code rc = list_dir(tmp, dir, &names, &n, d->err);
    if (rc != MS_OK || !n)
        return rc;
    ms_assessment *as = msx_arena_calloc(d->arena, n, sizeof *as);
    if (!as)
        return msi_error(d->err, MS_E_NOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!has_suffix(names[i], ".yaml"))
            continue;
        char *path = join(tmp, dir, names[i]);
        if (!path)
            return msi_error(d->err, MS_E_NOMEM, "out of memory");
        if (!is_file(path))
            continue;
        msx_json root;
        rc = load_yaml(path, p, &root, NULL, d->err);
        if (rc == MS_OK)
            rc = msi_decode_assessment(d, root, &as[k]);
        if (rc != MS_OK)
            return in_file(rc, path, d->err);
        normalise_assessment(&as[k]);
        k++;
    }
    /* os.listdir order in MLflow; creation order here */
    qsort(as, k, sizeof *as, cmp_assessments);
    info->assessments = k ? as : NULL;
    info->n_assessments = k;
    return MS_OK;
}

static const ms_kv *find_kv(const ms_kv *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (str_is(kv[i].key, key))
            return &kv[i];
    return NULL;
}

/* One trace folder into info. */
static ms_code read_trace(struct msi_decoder *d, struct msx_arena *tmp, msx_json_parser *p,
                          const char *trace_dir, const char *exp_id, ms_trace_info *info)
{
    char *path = join(tmp, trace_dir, "trace_info.yaml");
    if (!path)
        return msi_error(d->err, MS_E_NOMEM, "out of memory");
    msx_json root;
    ms_code rc = load_yaml(path, p, &root, NULL, d->err);
    if (rc == MS_OK && msx_json_type(root) != MSX_JSON_OBJECT)
        rc = msi_error(d->err, MS_E_INVALID, "%s: not a mapping", path);
    if (rc == MS_OK)
        rc = in_file(msi_decode_info(d, root, info), path, d->err);
    if (rc != MS_OK)
        return rc;
    if (!info->experiment_id.ptr && !info->location_json.ptr)
        info->experiment_id = msi_dup(d->arena, (ms_str){exp_id, strlen(exp_id)});
    /* the files are the truth for these, whatever the yaml held */
    rc = read_kv_dir(d->arena, tmp, trace_dir, "request_metadata", &info->metadata,
                     &info->n_metadata, d->err);
    if (rc == MS_OK)
        rc = read_kv_dir(d->arena, tmp, trace_dir, "tags", &info->tags, &info->n_tags, d->err);
    if (rc == MS_OK)
        rc = read_assessments(d, tmp, p, trace_dir, info);
    if (rc != MS_OK)
        return rc;
    memset(&info->usage, 0, sizeof info->usage);
    const ms_kv *u = find_kv(info->metadata, info->n_metadata, "mlflow.trace.tokenUsage");
    msx_json v;
    if (u && msx_json_parse(p, u->value.ptr, u->value.len, false, &v, NULL) == MS_OK)
        msi_decode_usage(v, &info->usage);
    return MS_OK;
}

/* The folder of an active experiment, or MS_E_NOTFOUND. */
static ms_code experiment_dir(struct file_state *s, struct msx_arena *tmp, msx_json_parser *p,
                              const char *id, char **dir, struct ms_error *err)
{
    ms_experiment e;
    bool ok = false;
    ms_code rc = safe_name(id) && id[0] != '.' ? read_experiment(s, tmp, p, id, &e, &ok, err)
                                                : MS_OK;
    if (rc != MS_OK)
        return rc;
    if (!ok)
        return msi_error(err, MS_E_NOTFOUND, "no active experiment '%s' in %s", id, s->root);
    *dir = join(tmp, s->root, id);
    return *dir ? MS_OK : msi_error(err, MS_E_NOMEM, "out of memory");
}

static ms_code file_scan(void *state, struct msi_scan *scan, ms_trace_set *set,
                         struct ms_error *err)
{
    struct file_state *s = state;
    struct msx_arena tmp;
    msx_arena_init(&tmp, 0);
    struct msi_decoder d = {msi_trace_set_arena(set), NULL, err};
    msx_json_parser *p = msx_json_parser_new();
    ms_code rc = p ? MS_OK : msi_error(err, MS_E_NOMEM, "out of memory");
    for (size_t e = 0; rc == MS_OK && e < scan->n_experiment_ids; e++) {
        const char *id = scan->experiment_ids[e];
        char *dir, *traces, **names;
        size_t n = 0;
        rc = experiment_dir(s, &tmp, p, id, &dir, err);
        if (rc == MS_OK && !(traces = join(&tmp, dir, "traces")))
            rc = msi_error(err, MS_E_NOMEM, "out of memory");
        if (rc == MS_OK)
            rc = list_dir(&tmp, traces, &names, &n, err);
        for (size_t i = 0; rc == MS_OK && i < n; i++) {
            char *tdir = join(&tmp, traces, names[i]);
            char *info = tdir ? join(&tmp, tdir, "trace_info.yaml") : NULL;
            if (!info) {
                rc = msi_error(err, MS_E_NOMEM, "out of memory");
                break;
            }
            if (!is_dir(tdir) || !is_file(info))
                continue; /* MLflow skips folders without trace_info.yaml */
            ms_trace *t = msi_trace_set_append(set);
            if (!t) {
                rc = msi_error(err, MS_E_NOMEM, "out of memory or too many traces");
                break;
            }
            rc = read_trace(&d, &tmp, p, tdir, id, &t->info);
            if (rc != MS_OK)
                msi_trace_set_pop(set);
        }
        /* names and paths of this experiment are done with */
        msx_arena_release(&tmp);
    }
    msx_json_parser_free(d.inner);
    msx_json_parser_free(p);
    msx_arena_release(&tmp);
    return rc;
}

/* ---- spans ------------------------------------------------------------ */

/* The trace's folder and its experiment id: where its info says, else
 * wherever a trace folder of that id exists (NULL if none). */
static char *find_trace_dir(struct file_state *s, struct msx_arena *tmp, const ms_trace_info *t,
                            const char **exp_id)
{
    const char *tid = t->trace_id.ptr;
    if (!tid || !safe_name(tid))
        return NULL;
    if (t->experiment_id.ptr && safe_name(t->experiment_id.ptr)) {
        char *e = join(tmp, s->root, t->experiment_id.ptr);
        char *tr = e ? join(tmp, e, "traces") : NULL;
        char *dir = tr ? join(tmp, tr, tid) : NULL;
        if (dir && is_dir(dir)) {
            *exp_id = t->experiment_id.ptr;
            return dir;
        }
    }
    char **names;
    size_t n;
    if (list_dir(tmp, s->root, &names, &n, NULL) != MS_OK)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (names[i][0] == '.')
            continue;
        char *e = join(tmp, s->root, names[i]);
        char *tr = e ? join(tmp, e, "traces") : NULL;
        char *dir = tr ? join(tmp, tr, tid) : NULL;
        if (dir && is_dir(dir)) {
            *exp_id = names[i];
            return dir;
        }
    }
    return NULL;
}

/* Does path hold a ".." segment? */
static bool climbs(const char *path)
{
    for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2)
        if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
            return true;
    return false;
}

/* Where traces.json of a trace is: the recorded artifact location if it
 * exists, else its part after "/<exp_id>/" under this store, else the
 * default <trace_dir>/artifacts. NULL when none exists. */
static char *spans_path(struct file_state *s, struct msx_arena *tmp, const ms_trace_info *t,
                        const char *trace_dir, const char *exp_id)
{
    const ms_kv *loc = find_kv(t->tags, t->n_tags, "mlflow.artifactLocation");
    char *recorded = loc && loc->value.len ? local_path(loc->value.ptr) : NULL;
    char *found = NULL;
    if (recorded && *recorded) {
        char *cand = join(tmp, recorded, "traces.json");
        if (cand && is_file(cand))
            found = cand;
        /* map "<anything>/<exp_id>/<rest>" onto "<root>/<exp_id>/<rest>" */
        size_t m = strlen(exp_id);
        char *hit = NULL;
        for (char *q = recorded; !found && (q = strstr(q, exp_id)) != NULL; q++)
            if (q > recorded && q[-1] == '/' && q[m] == '/')
                hit = q;
        if (!found && hit && !climbs(hit + m)) {
            char *e = join(tmp, s->root, exp_id);
            char *dir = e ? join(tmp, e, hit + m + 1) : NULL;
            cand = dir ? join(tmp, dir, "traces.json") : NULL;
            if (cand && is_file(cand))
                found = cand;
        }
    }
    free(recorded);
    if (!found) {
        char *a = join(tmp, trace_dir, "artifacts");
        char *cand = a ? join(tmp, a, "traces.json") : NULL;
        if (cand && is_file(cand))
            found = cand;
    }
    return found;
}

static ms_code read_spans(struct msi_decoder *d, msx_json_parser *p, const char *path,
                          ms_trace *t)
{
    char *buf;
    size_t len;
    bool missing;
    ms_code rc = read_file(path, MAX_SPANS_BYTES, &buf, &len, &missing, d->err);
    if (rc != MS_OK || missing)
        return rc;
    msx_json root;
    rc = msx_json_parse(p, buf, len, true, &root, d->err);
    if (rc != MS_OK) {
        free(buf);
        return in_file(rc, path, d->err);
    }
    msx_json spans = msx_json_get(root, "spans");
    size_t count = msx_json_count(spans);
    if (msx_json_type(spans) != MSX_JSON_ARRAY)
        rc = msi_error(d->err, MS_E_INVALID, "%s: no \"spans\" array", path);
    else if (count > MSI_MAX_SPANS_PER_TRACE)
        rc = msi_error(d->err, MS_E_TOOBIG, "%s: more spans than the cap", path);
    ms_span *sp = NULL;
    if (rc == MS_OK && count && !(sp = msx_arena_calloc(d->arena, count, sizeof *sp)))
        rc = msi_error(d->err, MS_E_NOMEM, "out of memory");
    size_t k = 0;
    struct msx_json_iter it = msx_json_iter_init(spans);
    ms_str key;
    msx_json v;
    while (rc == MS_OK && k < count && msx_json_next(&it, &key, &v)) {
        rc = msi_decode_span(d, v, &sp[k]);
        if (rc != MS_OK) {
            char tmp[sizeof d->err->msg];
            snprintf(tmp, sizeof tmp, "span %zu: %.200s", k, d->err->msg);
            memcpy(d->err->msg, tmp, sizeof tmp);
            rc = in_file(rc, path, d->err);
        } else
            k++;
    }
    free(buf);
    if (rc == MS_OK) {
        t->spans = k ? sp : NULL;
        t->n_spans = k;
    }
    return rc;
}

static ms_code file_load_spans(void *state, ms_trace_set *set, size_t from, size_t to,
                               struct ms_error *err)
{
    struct file_state *s = state;
    struct msx_arena tmp;
    msx_arena_init(&tmp, 0);
    struct msi_decoder d = {msi_trace_set_arena(set), NULL, err};
    msx_json_parser *p = msx_json_parser_new();
    ms_code rc = p ? MS_OK : msi_error(err, MS_E_NOMEM, "out of memory");
    for (size_t i = from; rc == MS_OK && i < to; i++) {
        ms_trace *t = msi_trace_set_mut(set, i);
        if (!t)
            break;
        t->spans = NULL;
        t->n_spans = 0;
        const char *exp_id = NULL;
        char *dir = find_trace_dir(s, &tmp, &t->info, &exp_id);
        char *path = dir ? spans_path(s, &tmp, &t->info, dir, exp_id) : NULL;
        if (path) /* else no span data: the trace keeps 0 spans */
            rc = read_spans(&d, p, path, t);
        else
            msi_trace_set_warn(set, "%s: spans unavailable: no traces.json found",
                               t->info.trace_id.ptr ? t->info.trace_id.ptr : "?");
        msx_arena_release(&tmp);
    }
    msx_json_parser_free(d.inner);
    msx_json_parser_free(p);
    msx_arena_release(&tmp);
    return rc;
}

const struct msi_store_ops msi_store_file = {
    2, "file", file_open, file_close, file_experiments, file_scan, file_load_spans, NULL,
};
