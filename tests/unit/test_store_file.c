/* SPDX-License-Identifier: MIT
 *
 * Unit tests for the mlruns file store backend (src/store/store_file.c) and
 * its YAML reader (src/store/yaml_lite.c).
 *
 * The fixture tests/fixtures/mlruns/mlruns was written by mlflow 3.17.2;
 * export-exp-378547232019842178.json is `mlflow traces search` over that
 * same store. Every trace read from the folder must equal the one read from
 * the export (compared as ms_trace_to_json output with object keys sorted).
 * Tests that need a broken or changed store work on a copy under /tmp; the
 * fixture itself is checked byte for byte (and by mtime) to be untouched.
 */
#define _XOPEN_SOURCE 700

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "json/json.h"
#include "json/json_write.h"
#include "mlsession/store.h"
#include "store/yaml_lite.h"
#include "testutil.h"

#define FIX MS_SOURCE_DIR "/tests/fixtures/mlruns/"
#define STORE FIX "mlruns"
#define EXPORT FIX "export-exp-378547232019842178.json"
#define EXP "378547232019842178"

/* ---- helpers -------------------------------------------------------- */

static ms_store *open_ok(const char *uri)
{
    ms_store *st = NULL;
    struct ms_error err = {MS_OK, 0, ""};
    ms_code rc = ms_store_open(uri, &st, &err);
    if (rc != MS_OK)
        fail_msg("open %s: %d %s", uri, rc, err.msg);
    return st;
}

static ms_trace_set *search_ok(ms_store *st, const char *exp, bool spans)
{
    const char *ids[1] = {exp};
    struct ms_search req = {1, exp ? ids : NULL, exp ? 1 : 0, NULL, NULL, 0, 500, NULL, spans};
    ms_trace_set *set = NULL;
    struct ms_error err = {MS_OK, 0, ""};
    ms_code rc = ms_store_search(st, &req, &set, &err);
    if (rc != MS_OK)
        fail_msg("search: %d %s", rc, err.msg);
    return set;
}

static ms_code search_err(ms_store *st, const char *exp, struct ms_error *err)
{
    const char *ids[1] = {exp};
    struct ms_search req = {1, ids, 1, NULL, NULL, 0, 500, NULL, true};
    ms_trace_set *set = NULL;
    ms_code rc = ms_store_search(st, &req, &set, err);
    ms_trace_set_free(set);
    return rc;
}

struct member {
    ms_str key;
    msx_json val;
};

static int cmp_member(const void *a, const void *b)
{
    const struct member *x = a, *y = b;
    size_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
    int c = memcmp(x->key.ptr, y->key.ptr, n);
    return c ? c : (x->key.len > y->key.len) - (x->key.len < y->key.len);
}

/* Writes v with every object's keys sorted. */
static void canon_value(struct msx_jw *w, msx_json v)
{
    enum msx_json_type t = msx_json_type(v);
    struct msx_json_iter it = msx_json_iter_init(v);
    ms_str k;
    msx_json e;
    if (t == MSX_JSON_ARRAY) {
        msx_jw_arr_begin(w);
        while (msx_json_next(&it, &k, &e))
            canon_value(w, e);
        msx_jw_arr_end(w);
    } else if (t == MSX_JSON_OBJECT) {
        size_t n = msx_json_count(v), i = 0;
        struct member *m = calloc(n ? n : 1, sizeof *m);
        assert_non_null(m);
        while (msx_json_next(&it, &k, &e) && i < n)
            m[i++] = (struct member){k, e};
        qsort(m, i, sizeof *m, cmp_member);
        msx_jw_obj_begin(w);
        for (size_t j = 0; j < i; j++) {
            msx_jw_key(w, m[j].key.ptr, m[j].key.len);
            canon_value(w, m[j].val);
        }
        msx_jw_obj_end(w);
        free(m);
    } else
        msx_jw_value(w, v);
}

/* ms_trace_to_json of t with sorted keys; caller frees. */
static char *canon_trace(const ms_trace *t, size_t *len)
{
    char *raw;
    size_t n;
    struct ms_error err = {MS_OK, 0, ""};
    if (ms_trace_to_json(t, &raw, &n, &err) != MS_OK)
        fail_msg("to_json: %s", err.msg);
    msx_json_parser *p = msx_json_parser_new();
    msx_json root;
    assert_int_equal(msx_json_parse(p, raw, n, false, &root, NULL), MS_OK);
    struct msx_buf b;
    struct msx_jw w;
    msx_buf_init(&b, MSX_CAP_OUTPUT);
    msx_jw_init(&w, &b, MSX_JW_PRETTY);
    canon_value(&w, root);
    char *out = msx_buf_take(&b, len);
    assert_non_null(out);
    msx_buf_release(&b);
    msx_json_parser_free(p);
    free(raw);
    return out;
}

/* Every trace of the export, equal in the file store; count equal too. */
static void assert_same_as_export(ms_trace_set *files, bool spans)
{
    ms_store *js = open_ok(EXPORT);
    ms_trace_set *want = search_ok(js, EXP, spans);
    assert_int_equal(ms_trace_set_count(want), 12);
    assert_int_equal(ms_trace_set_count(files), ms_trace_set_count(want));
    for (size_t i = 0; i < ms_trace_set_count(want); i++) {
        const ms_trace *w = ms_trace_set_at(want, i);
        const ms_trace *g = ms_trace_set_find(files, w->info.trace_id.ptr);
        if (!g)
            fail_msg("trace %s missing from the file store", w->info.trace_id.ptr);
        /* same order too: both sorted by the default order */
        tu_str_eq("order", ms_trace_set_at(files, i)->info.trace_id.ptr,
                  ms_trace_set_at(files, i)->info.trace_id.len, w->info.trace_id.ptr);
        size_t gl, wl;
        char *gj = canon_trace(g, &gl), *wj = canon_trace(w, &wl);
        tu_mem_eq(w->info.trace_id.ptr, gj, gl, wj, wl);
        free(gj);
        free(wj);
        assert_int_equal(g->n_spans, w->n_spans);
        if (spans)
            assert_true(g->n_spans > 0);
        assert_memory_equal(&g->info.usage, &w->info.usage, sizeof g->info.usage);
        for (size_t s = 0; s < g->n_spans; s++)
            assert_memory_equal(&g->spans[s].usage, &w->spans[s].usage, sizeof g->spans[s].usage);
    }
    ms_trace_set_free(want);
    ms_store_close(js);
}

/* Concatenates the strings up to NULL into out (the test fails if they
 * do not fit). */
static void pjoin(char *out, size_t cap, ...)
{
    va_list ap;
    size_t k = 0;
    va_start(ap, cap);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;) {
        size_t n = strlen(s);
        assert_true(k + n < cap);
        memcpy(out + k, s, n);
        k += n;
    }
    va_end(ap);
    out[k] = '\0';
}

/* ---- scratch copies of the store ----------------------------------- */

static void copy_file(const char *from, const char *to)
{
    size_t n;
    char *buf = tu_read_file(from, &n);
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    free(buf);
}

static void copy_tree(const char *from, const char *to)
{
    assert_int_equal(mkdir(to, 0755), 0);
    DIR *d = opendir(from);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char a[4096], b[4096];
        pjoin(a, sizeof a, from, "/", e->d_name, NULL);
        pjoin(b, sizeof b, to, "/", e->d_name, NULL);
        struct stat st;
        assert_int_equal(stat(a, &st), 0);
        if (S_ISDIR(st.st_mode))
            copy_tree(a, b);
        else
            copy_file(a, b);
    }
    closedir(d);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh copy of the fixture store; returns its mlruns path. */
static const char *scratch_store(char *dir, size_t cap)
{
    char tmpl[] = "/tmp/ms-store-file-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    pjoin(dir, cap, tmpl, "/mlruns", NULL);
    copy_tree(STORE, dir);
    return dir;
}

static void drop_scratch(const char *mlruns)
{
    char top[4096];
    pjoin(top, sizeof top, mlruns, NULL);
    *strrchr(top, '/') = '\0';
    rm_tree(top);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

#define TRACE_DIR(buf, root, id) pjoin((buf), sizeof(buf), (root), "/" EXP "/traces/", (id), NULL)

/* ---- opening and listing --------------------------------------------- */

static void test_open_as_path(void **state)
{
    (void)state;
    ms_store *st = open_ok(STORE);
    assert_string_equal(ms_store_scheme(st), "file");
    ms_store_close(st);
    st = open_ok(STORE "/"); /* trailing slash */
    assert_string_equal(ms_store_scheme(st), "file");
    ms_store_close(st);
}

static void test_open_as_file_uri(void **state)
{
    (void)state;
    char uri[4096];
    char *abs = realpath(STORE, NULL);
    assert_non_null(abs);
    pjoin(uri, sizeof uri, "file://", abs, NULL);
    ms_store *st = open_ok(uri);
    assert_string_equal(ms_store_scheme(st), "file");
    ms_trace_set *set = search_ok(st, EXP, false);
    assert_int_equal(ms_trace_set_count(set), 12);
    ms_trace_set_free(set);
    ms_store_close(st);
    free(abs);
}

static void test_open_not_an_mlruns_folder(void **state)
{
    (void)state;
    ms_store *st = NULL;
    struct ms_error err = {MS_OK, 0, ""};
    /* the folder above mlruns/: a hint to go one level down */
    assert_int_equal(ms_store_open(FIX, &st, &err), MS_E_STORE);
    assert_null(st);
    assert_non_null(strstr(err.msg, "not an mlruns folder"));
    assert_non_null(strstr(err.msg, "try its mlruns subfolder"));
    assert_int_equal(ms_store_open("file:///nonexistent-ms-store/mlruns", &st, &err), MS_E_IO);
}

static void test_experiments(void **state)
{
    (void)state;
    ms_store *st = open_ok(STORE);
    const ms_experiment *list;
    size_t n;
    struct ms_error err = {MS_OK, 0, ""};
    assert_int_equal(ms_store_experiments(st, &list, &n, &err), MS_OK);
    assert_int_equal(n, 2);
    tu_str_eq("id 0", list[0].experiment_id.ptr, list[0].experiment_id.len, "0");
    tu_str_eq("name 0", list[0].name.ptr, list[0].name.len, "Default");
    assert_int_equal(list[0].trace_count, 0);
    tu_str_eq("id 1", list[1].experiment_id.ptr, list[1].experiment_id.len, EXP);
    tu_str_eq("name 1", list[1].name.ptr, list[1].name.len, "acme-support-legacy");
    tu_str_eq("stage", list[1].lifecycle_stage.ptr, list[1].lifecycle_stage.len, "active");
    tu_str_eq("artifacts", list[1].artifact_location.ptr, list[1].artifact_location.len,
              "file:///tmp/acme-support/stores/mlruns/mlruns/" EXP);
    assert_int_equal(list[1].trace_count, 12);
    ms_store_close(st);
}

static void test_deleted_experiments_skipped(void **state)
{
    (void)state;
    char root[4096], path[4096];
    scratch_store(root, sizeof root);
    /* a deleted experiment in .trash, and one marked deleted in place */
    /* git keeps no empty folders: a fresh clone has no .trash yet */
    pjoin(path, sizeof path, root, "/.trash", NULL);
    assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
    pjoin(path, sizeof path, root, "/.trash/17", NULL);
    assert_int_equal(mkdir(path, 0755), 0);
    pjoin(path, sizeof path, root, "/.trash/17/meta.yaml", NULL);
    write_text(path, "experiment_id: '17'\nlifecycle_stage: deleted\nname: gone\n");
    pjoin(path, sizeof path, root, "/0/meta.yaml", NULL);
    write_text(path, "artifact_location: file:///x/0\nexperiment_id: '0'\n"
                     "lifecycle_stage: deleted\nname: Default\n");
    ms_store *st = open_ok(root);
    const ms_experiment *list;
    size_t n;
    struct ms_error err = {MS_OK, 0, ""};
    assert_int_equal(ms_store_experiments(st, &list, &n, &err), MS_OK);
    assert_int_equal(n, 1);
    tu_str_eq("id", list[0].experiment_id.ptr, list[0].experiment_id.len, EXP);
    assert_int_equal(search_err(st, "0", &err), MS_E_NOTFOUND);
    assert_int_equal(search_err(st, "17", &err), MS_E_NOTFOUND);
    assert_int_equal(search_err(st, "../mlruns/" EXP, &err), MS_E_NOTFOUND);
    /* all experiments = the active one */
    ms_trace_set *set = search_ok(st, NULL, false);
    assert_int_equal(ms_trace_set_count(set), 12);
    ms_trace_set_free(set);
    ms_store_close(st);
    drop_scratch(root);
}

/* ---- equal to the export ---------------------------------------------- */

static void test_same_as_export_with_spans(void **state)
{
    (void)state;
    ms_store *st = open_ok(STORE);
    ms_trace_set *set = search_ok(st, EXP, true);
    assert_same_as_export(set, true);
    ms_trace_set_free(set);
    ms_store_close(st);
}

static void test_same_as_export_infos(void **state)
{
    (void)state;
    ms_store *st = open_ok(STORE);
    ms_trace_set *set = search_ok(st, NULL, false);
    assert_same_as_export(set, false);
    ms_trace_set_free(set);
    ms_store_close(st);
}

static void test_layout_details(void **state)
{
    (void)state;
    ms_store *st = open_ok(STORE);
    ms_trace_set *set = search_ok(st, EXP, false);
    /* the overridden/expectation forms: expected_facts has no valid */
    const ms_trace *t = ms_trace_set_find(set, "tr-46e1ff32e3334709c23faebfc6c908ab");
    assert_non_null(t);
    assert_int_equal(t->info.n_assessments, 1);
    assert_true(t->info.assessments[0].is_expectation);
    assert_false(t->info.assessments[0].has_valid);
    tu_str_eq("serialized", t->info.assessments[0].serialized_json.ptr,
              t->info.assessments[0].serialized_json.len,
              "{\"serialization_format\": \"JSON_FORMAT\", \"value\": \"[\\\"Items may be "
              "sent back within 14 days of delivery.\\\"]\"}");
    /* a response preview folded over three yaml lines */
    tu_str_eq("preview", t->info.response_preview.ptr, t->info.response_preview.len,
              "{\"answer\": \"You can return it for a full refund within 30 days of delivery. "
              "Start the return from your order page.\", \"sources\": "
              "[\"kb://policies/refunds-2024.md\", \"kb://policies/refunds.md\"]}");
    assert_int_equal(t->info.usage.input_tokens, 576);
    /* the ERROR trace has no response preview at all */
    t = ms_trace_set_find(set, "tr-b79a3a8ed745f3871773592f6fe58698");
    assert_non_null(t);
    assert_int_equal(t->info.state, MS_STATE_ERROR);
    assert_null(t->info.response_preview.ptr);
    assert_int_equal(t->info.execution_duration_ms, 30333);
    ms_trace_set_free(set);
    /* get one trace, with spans */
    struct ms_error err = {MS_OK, 0, ""};
    assert_int_equal(ms_store_get_trace(st, "tr-b79a3a8ed745f3871773592f6fe58698", &set, &err),
                     MS_OK);
    assert_int_equal(ms_trace_set_count(set), 1);
    assert_int_equal(ms_trace_set_at(set, 0)->n_spans, 4);
    ms_trace_set_free(set);
    ms_store_close(st);
}

/* ---- broken and moved stores ----------------------------------------- */

static void test_missing_traces_json(void **state)
{
    (void)state;
    char root[4096], dir[4096], path[4096], to[4096];
    scratch_store(root, sizeof root);
    /* trace A: no traces.json anywhere (and its recorded location gone) */
    TRACE_DIR(dir, root, "tr-7dc139f1fcdde906ebe6c04823edf221");
    pjoin(path, sizeof path, dir, "/artifacts/traces.json", NULL);
    assert_int_equal(unlink(path), 0);
    pjoin(path, sizeof path, dir, "/tags/mlflow.artifactLocation", NULL);
    write_text(path, "file:///nonexistent-ms-test/mlruns/" EXP
                     "/traces/tr-7dc139f1fcdde906ebe6c04823edf221/artifacts");
    /* trace B: spans moved; found only by mapping the recorded suffix */
    TRACE_DIR(dir, root, "tr-779bcbca784b4c8aab839f22b057e724");
    pjoin(path, sizeof path, dir, "/elsewhere", NULL);
    assert_int_equal(mkdir(path, 0755), 0);
    pjoin(path, sizeof path, dir, "/artifacts/traces.json", NULL);
    pjoin(to, sizeof to, dir, "/elsewhere/traces.json", NULL);
    assert_int_equal(rename(path, to), 0);
    pjoin(path, sizeof path, dir, "/tags/mlflow.artifactLocation", NULL);
    write_text(path, "file:///nonexistent-ms-test/somewhere/" EXP
                     "/traces/tr-779bcbca784b4c8aab839f22b057e724/elsewhere");
    ms_store *st = open_ok(root);
    ms_trace_set *set = search_ok(st, EXP, true);
    assert_int_equal(ms_trace_set_count(set), 12);
    for (size_t i = 0; i < 12; i++) {
        const ms_trace *t = ms_trace_set_at(set, i);
        bool gone = strcmp(t->info.trace_id.ptr, "tr-7dc139f1fcdde906ebe6c04823edf221") == 0;
        if (gone)
            assert_int_equal(t->n_spans, 0);
        else
            assert_true(t->n_spans >= 1);
    }
    assert_int_equal(ms_trace_set_find(set, "tr-779bcbca784b4c8aab839f22b057e724")->n_spans, 3);
    ms_trace_set_free(set);
    ms_store_close(st);
    drop_scratch(root);
}

static void test_malformed_trace_info(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        ms_code code;
        const char *msg; /* after the file name */
    } cases[] = {
        {"execution_duration_ms: 4\nrequest_preview: &a '{}'\n", MS_E_UNSUPPORTED,
         "trace_info.yaml:2: yaml anchors are not supported"},
        {"execution_duration_ms: 4\nrequest_preview: '{}\n", MS_E_PARSE,
         "trace_info.yaml:3: unterminated single-quoted scalar"},
        {"state: OK\ntrace_location: {type: MLFLOW_EXPERIMENT}\n", MS_E_UNSUPPORTED,
         "trace_info.yaml:2: yaml flow collections are not supported"},
        {"state: OK\n  bad: indent\n", MS_E_PARSE, "trace_info.yaml:2: mapping values are not"},
        {"- just\n- a list\n", MS_E_INVALID, "trace_info.yaml: not a mapping"},
        {"state: OK\n", MS_E_INVALID, "trace_info.yaml: trace info has no trace_id"},
    };
    char root[4096], path[4096];
    scratch_store(root, sizeof root);
    char dir[4096];
    TRACE_DIR(dir, root, "tr-7dc139f1fcdde906ebe6c04823edf221");
    pjoin(path, sizeof path, dir, "/trace_info.yaml", NULL);
    ms_store *st = open_ok(root);
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        write_text(path, cases[i].yaml);
        struct ms_error err = {MS_OK, 0, ""};
        ms_code rc = search_err(st, EXP, &err);
        if (rc != cases[i].code || !strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: got %d '%s', want %d '...%s'", i, rc, err.msg, cases[i].code,
                     cases[i].msg);
        assert_non_null(strstr(err.msg, "tr-7dc139f1fcdde906ebe6c04823edf221"));
    }
    /* a folder without trace_info.yaml is skipped, as MLflow does */
    assert_int_equal(unlink(path), 0);
    ms_trace_set *set = search_ok(st, EXP, true);
    assert_int_equal(ms_trace_set_count(set), 11);
    ms_trace_set_free(set);
    ms_store_close(st);
    drop_scratch(root);
}

static void test_keys_in_subfolders_and_bad_spans(void **state)
{
    (void)state;
    char root[4096], dir[4096], path[4096];
    scratch_store(root, sizeof root);
    TRACE_DIR(dir, root, "tr-7dc139f1fcdde906ebe6c04823edf221");
    /* a tag key with '/' lives in a subfolder; values are raw bytes */
    pjoin(path, sizeof path, dir, "/tags/team", NULL);
    assert_int_equal(mkdir(path, 0755), 0);
    pjoin(path, sizeof path, dir, "/tags/team/owner", NULL);
    write_text(path, "line 1\nline 2\n");
    ms_store *st = open_ok(root);
    ms_trace_set *set = search_ok(st, EXP, false);
    const ms_trace *t = ms_trace_set_find(set, "tr-7dc139f1fcdde906ebe6c04823edf221");
    assert_non_null(t);
    bool found = false;
    for (size_t i = 0; i < t->info.n_tags; i++)
        if (t->info.tags[i].key.len == 10 &&
            memcmp(t->info.tags[i].key.ptr, "team/owner", 10) == 0) {
            tu_str_eq("value", t->info.tags[i].value.ptr, t->info.tags[i].value.len,
                      "line 1\nline 2\n");
            found = true;
        }
    assert_true(found);
    ms_trace_set_free(set);
    /* a broken traces.json is an error naming the file (the recorded
     * location moved away, or it would be read from there) */
    pjoin(path, sizeof path, dir, "/tags/mlflow.artifactLocation", NULL);
    write_text(path, "file:///nonexistent-ms-test/" EXP
                     "/traces/tr-7dc139f1fcdde906ebe6c04823edf221/artifacts");
    pjoin(path, sizeof path, dir, "/artifacts/traces.json", NULL);
    write_text(path, "{\"spans\": [");
    struct ms_error err = {MS_OK, 0, ""};
    assert_int_equal(search_err(st, EXP, &err), MS_E_PARSE);
    assert_non_null(strstr(err.msg, "traces.json"));
    ms_store_close(st);
    drop_scratch(root);
}

/* ---- read-only ---------------------------------------------------------- */

struct snap {
    char lines[512][600];
    size_t n;
};

static struct snap *snap_now;

static int snap_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)ftw;
    uint64_t h = 1469598103934665603ull;
    if (flag == FTW_F) {
        size_t n;
        char *buf = tu_read_file(path, &n);
        for (size_t i = 0; i < n; i++)
            h = (h ^ (unsigned char)buf[i]) * 1099511628211ull;
        free(buf);
    }
    assert_true(snap_now->n < 512);
    snprintf(snap_now->lines[snap_now->n++], 600, "%s %o %lld %lld.%09ld %016llx", path,
             (unsigned)st->st_mode, (long long)st->st_size, (long long)st->st_mtim.tv_sec,
             st->st_mtim.tv_nsec, (unsigned long long)h);
    return 0;
}

static void take_snapshot(struct snap *s)
{
    s->n = 0;
    snap_now = s;
    assert_int_equal(nftw(STORE, snap_entry, 16, FTW_PHYS), 0);
}

static void test_read_only(void **state)
{
    (void)state;
    struct snap *before = calloc(1, sizeof *before), *after = calloc(1, sizeof *after);
    assert_non_null(before);
    assert_non_null(after);
    take_snapshot(before);
    assert_true(before->n > 200);
    ms_store *st = open_ok(STORE);
    const ms_experiment *list;
    size_t n;
    struct ms_error err = {MS_OK, 0, ""};
    assert_int_equal(ms_store_experiments(st, &list, &n, &err), MS_OK);
    ms_trace_set *set = search_ok(st, NULL, true);
    ms_trace_set_free(set);
    assert_int_equal(ms_store_get_trace(st, "tr-46e1ff32e3334709c23faebfc6c908ab", &set, &err),
                     MS_OK);
    ms_trace_set_free(set);
    ms_store_close(st);
    take_snapshot(after);
    assert_int_equal(before->n, after->n);
    for (size_t i = 0; i < before->n; i++)
        assert_string_equal(before->lines[i], after->lines[i]);
    free(before);
    free(after);
}

/* ---- yaml_lite ------------------------------------------------------------ */

static void test_yaml_cases(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        const char *json; /* or the error message */
        ms_code code;
    } cases[] = {
        {"", "null", MS_OK},
        {"a: 1\nb: -2\nc: 1.5\nd: true\ne: ~\nf: no\ng: '5'\nh:\n",
         "{\"a\": 1, \"b\": -2, \"c\": 1.5, \"d\": true, \"e\": null, \"f\": false, \"g\": \"5\", "
         "\"h\": null}",
         MS_OK},
        {"big: 1768467480000001000\nx: 0x1F\no: 017\ns: 1e5\nf: 1.0e+5\nu: 1_000\n",
         "{\"big\": 1768467480000001000, \"x\": 31, \"o\": 15, \"s\": \"1e5\", \"f\": 100000.0, "
         "\"u\": 1000}",
         MS_OK},
        /* plain scalar folded over lines; an empty line is a line feed */
        {"k: one two\n  three\n\n  four\nz: 1\n", "{\"k\": \"one two three\\nfour\", \"z\": 1}",
         MS_OK},
        {"k: 'it''s\n  folded'\n", "{\"k\": \"it's folded\"}", MS_OK},
        {"k: \"tab\\there \\u00fc \\U0001F600 \\\"q\\\" \\\n  \\ joined\\nnl\"\n",
         "{\"k\": \"tab\\there \xc3\xbc \xf0\x9f\x98\x80 \\\"q\\\"  joined\\nnl\"}", MS_OK},
        {"k: |\n  line 1\n   more\n\n  end\nz: 0\n",
         "{\"k\": \"line 1\\n more\\n\\nend\\n\", \"z\": 0}", MS_OK},
        {"k: >-\n  a\n  b\n\n  c\n", "{\"k\": \"a b\\nc\"}", MS_OK},
        {"k: |+\n  a\n\nz: 1\n", "{\"k\": \"a\\n\\n\", \"z\": 1}", MS_OK},
        {"outer:\n  inner:\n    deep: x\n  list:\n  - 1\n  - k: v\n    k2: v2\n  - - n\n  e: {}\n"
         "  f: []\n",
         "{\"outer\": {\"inner\": {\"deep\": \"x\"}, \"list\": [1, {\"k\": \"v\", \"k2\": \"v2\"}, "
         "[\"n\"]], \"e\": {}, \"f\": []}}",
         MS_OK},
        {"'quoted key': 1\n\"k:2\": 2 # comment\n# only a comment\n",
         "{\"quoted key\": 1, \"k:2\": 2}", MS_OK},
        {"--- \na: b\n...\n", "{\"a\": \"b\"}", MS_OK},
        {"a: *x\n", "t.yaml:1: yaml aliases are not supported", MS_E_UNSUPPORTED},
        {"a: !!str x\n", "t.yaml:1: yaml tags are not supported", MS_E_UNSUPPORTED},
        {"a: [1, 2]\n", "t.yaml:1: yaml flow collections are not supported", MS_E_UNSUPPORTED},
        {"? a\n: b\n", "t.yaml:1: yaml complex keys are not supported", MS_E_UNSUPPORTED},
        {"a: 1\n---\nb: 2\n", "t.yaml:2: more than one yaml document", MS_E_UNSUPPORTED},
        {"a: .inf\n", "t.yaml:1: non-finite float .inf", MS_E_UNSUPPORTED},
        {"a: 1\r\n", "t.yaml:1: carriage return", MS_E_UNSUPPORTED},
        {"a:\n\tb: 1\n", "t.yaml:2: tab in indentation", MS_E_PARSE},
        {"a: \"x\\qy\"\n", "t.yaml:1: unknown escape \\q", MS_E_PARSE},
        {"a: 'x' y\n", "t.yaml:1: text after a quoted scalar", MS_E_PARSE},
        {"a: b: c\n", "t.yaml:1: mapping values are not allowed here", MS_E_PARSE},
        {"a: 1\n b: 2\n", "t.yaml:2: mapping values are not allowed here", MS_E_PARSE},
        {"a: 1\n- b\n", "t.yaml:2: unexpected text after the document", MS_E_PARSE},
    };
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        struct msx_buf out;
        struct ms_error err = {MS_OK, 0, ""};
        msx_buf_init(&out, 1 << 20);
        ms_code rc = msi_yaml_to_json(cases[i].yaml, strlen(cases[i].yaml), "t.yaml", &out, &err);
        char what[32];
        snprintf(what, sizeof what, "yaml case %zu", i);
        if (rc != cases[i].code)
            fail_msg("%s: got %d (%s), want %d", what, rc, err.msg, cases[i].code);
        if (rc == MS_OK)
            tu_str_eq(what, out.ptr, out.len, cases[i].json);
        else if (strncmp(err.msg, cases[i].json, strlen(cases[i].json)) != 0)
            fail_msg("%s: message '%s', want '%s...'", what, err.msg, cases[i].json);
        msx_buf_release(&out);
    }
}

static void test_yaml_depth_cap(void **state)
{
    (void)state;
    char text[4096];
    size_t k = 0;
    for (int d = 0; d <= MSI_YAML_MAX_DEPTH; d++) {
        for (int s = 0; s < d; s++)
            text[k++] = ' ';
        k += (size_t)snprintf(text + k, sizeof text - k, "k:\n");
    }
    text[k] = '\0';
    struct msx_buf out;
    struct ms_error err = {MS_OK, 0, ""};
    msx_buf_init(&out, 1 << 20);
    assert_int_equal(msi_yaml_to_json(text, k, "deep.yaml", &out, &err), MS_E_TOOBIG);
    assert_non_null(strstr(err.msg, "deep.yaml:"));
    msx_buf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_as_path),
        cmocka_unit_test(test_open_as_file_uri),
        cmocka_unit_test(test_open_not_an_mlruns_folder),
        cmocka_unit_test(test_experiments),
        cmocka_unit_test(test_deleted_experiments_skipped),
        cmocka_unit_test(test_same_as_export_with_spans),
        cmocka_unit_test(test_same_as_export_infos),
        cmocka_unit_test(test_layout_details),
        cmocka_unit_test(test_missing_traces_json),
        cmocka_unit_test(test_malformed_trace_info),
        cmocka_unit_test(test_keys_in_subfolders_and_bad_spans),
        cmocka_unit_test(test_read_only),
        cmocka_unit_test(test_yaml_cases),
        cmocka_unit_test(test_yaml_depth_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
