/* SPDX-License-Identifier: MIT
 *
 * Unit tests for the SQLite backend (src/store/store_sqlite.c) on the three
 * real MLflow stores of tests/fixtures (3.17.2 with spans in the spans
 * table and promoted columns, 2.22.1 with traces.json artifacts, 3.5.0 with
 * both): experiments, every trace compared with what real MLflow exported
 * for it (read through the JSON backend, compared as canonical JSON with
 * sorted keys), read-only proof (checksum, mtime, no side files), WAL
 * databases, relocated and missing artifacts, and bad files.
 *
 * Scratch files go under a fresh /tmp/ms_sqlite_test.XXXXXX directory.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, popen, st_mtim */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json/json.h"
#include "json/json_write.h"
#include "mlsession/store.h"
#include "model/model.h"
#include "store/store.h"
#include "testutil.h"
#include "util/buf.h"

#define FIX MS_SOURCE_DIR "/tests/fixtures/"

/* ---- canonical JSON: keys sorted at every level --------------------- */

struct member {
    ms_str key;
    msx_json val;
};

static int member_cmp(const void *x, const void *y)
{
    const struct member *a = x, *b = y;
    size_t n = a->key.len < b->key.len ? a->key.len : b->key.len;
    int c = memcmp(a->key.ptr, b->key.ptr, n);
    return c ? c : (a->key.len > b->key.len) - (a->key.len < b->key.len);
}

static void canon(struct msx_jw *w, msx_json v)
{
    struct msx_json_iter it;
    ms_str k;
    msx_json e;
    switch (msx_json_type(v)) {
    case MSX_JSON_OBJECT: {
        size_t n = msx_json_count(v), i = 0;
        struct member *m = calloc(n ? n : 1, sizeof *m);
        assert_non_null(m);
        it = msx_json_iter_init(v);
        while (i < n && msx_json_next(&it, &k, &e))
            m[i++] = (struct member){k, e};
        qsort(m, i, sizeof *m, member_cmp);
        msx_jw_obj_begin(w);
        for (size_t j = 0; j < i; j++) {
            msx_jw_key(w, m[j].key.ptr, m[j].key.len);
            canon(w, m[j].val);
        }
        msx_jw_obj_end(w);
        free(m);
        break;
    }
    case MSX_JSON_ARRAY:
        msx_jw_arr_begin(w);
        it = msx_json_iter_init(v);
        while (msx_json_next(&it, &k, &e))
            canon(w, e);
        msx_jw_arr_end(w);
        break;
    default: msx_jw_value(w, v);
    }
}

/* ms_trace_to_json of t, keys sorted; caller frees. */
static char *canonical(const ms_trace *t)
{
    char *json = NULL;
    size_t len = 0;
    struct ms_error err;
    assert_int_equal(ms_trace_to_json(t, &json, &len, &err), MS_OK);
    msx_json_parser *p = msx_json_parser_new();
    msx_json root;
    assert_int_equal(msx_json_parse(p, json, len, false, &root, NULL), MS_OK);
    struct msx_buf b;
    struct msx_jw w;
    msx_buf_init(&b, MSX_CAP_OUTPUT);
    msx_jw_init(&w, &b, MSX_JW_PRETTY);
    canon(&w, root);
    msx_buf_addc(&b, '\0');
    assert_int_equal(msx_buf_status(&b), MS_OK);
    char *out = msx_buf_take(&b, NULL);
    msx_buf_release(&b);
    msx_json_parser_free(p);
    free(json);
    return out;
}

static void expect_same_trace(const char *what, const ms_trace *got, const ms_trace *want)
{
    char *g = canonical(got), *w = canonical(want);
    if (strcmp(g, w) != 0) {
        size_t i = 0;
        while (g[i] && g[i] == w[i])
            i++;
        size_t from = i > 300 ? i - 300 : 0;
        fail_msg("%s %s: differs at byte %zu\n--- got:\n%.700s\n--- want:\n%.700s", what,
                 want->info.trace_id.ptr, i, g + from, w + from);
    }
    free(g);
    free(w);
}

/* ---- helpers ------------------------------------------------------------ */

static ms_store *open_ok(const char *uri)
{
    ms_store *st = NULL;
    struct ms_error err = {MS_OK, -1, ""};
    ms_code rc = ms_store_open(uri, &st, &err);
    if (rc != MS_OK)
        fail_msg("%s: open failed: %d %s", uri, rc, err.msg);
    assert_string_equal(ms_store_scheme(st), "sqlite");
    return st;
}

static ms_trace_set *load_export(const char *path)
{
    ms_trace_set *set = NULL;
    struct ms_error err;
    if (ms_trace_set_load_file(path, &set, &err) != MS_OK)
        fail_msg("%s: %s", path, err.msg);
    return set;
}

static ms_trace_set *search_all(ms_store *st, const char *exp_id)
{
    const char *ids[1] = {exp_id};
    struct ms_search req = {1, ids, 1, NULL, NULL, 0, 500, NULL, true};
    ms_trace_set *set = NULL;
    struct ms_error err;
    ms_code rc = ms_store_search(st, &req, &set, &err);
    if (rc != MS_OK)
        fail_msg("search %s: %d %s", exp_id, rc, err.msg);
    return set;
}

static bool is(ms_str s, const char *want)
{
    return s.ptr && s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

static uint64_t file_hash(const char *path)
{
    size_t len;
    char *p = tu_read_file(path, &len);
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    free(p);
    return h;
}

static char scratch[64];

static const char *tmp_path(const char *name)
{
    static char buf[8][256];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 256, "%s/%s", scratch, name);
    return p;
}

static void exec_sql(const char *db, const char *sql)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", db, msg);
    sqlite3_close(h);
}

static void copy_file(const char *from, const char *to)
{
    size_t len;
    char *p = tu_read_file(from, &len);
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, len, f), len);
    fclose(f);
    free(p);
}

/* ---- tests: opening and experiments ----------------------------------- */

struct exp_want {
    const char *id, *name;
    int64_t count;
};

struct store_case {
    const char *dir;
    struct exp_want exps[3];
    size_t n_exps;
};

static const struct store_case stores[] = {
    {"sqlite",
     {{"0", "Default", 0}, {"1", "acme-support-prod", 95}, {"2", "acme-support-staging", 9}},
     3},
    {"v2", {{"0", "Default", 0}, {"1", "acme-support-legacy", 12}}, 2},
    {"v3_5_0", {{"0", "Default", 0}, {"1", "acme-support-legacy", 12}}, 2},
};

static void check_experiments(ms_store *st, const struct store_case *c)
{
    const ms_experiment *list;
    size_t n;
    struct ms_error err;
    assert_int_equal(ms_store_experiments(st, &list, &n, &err), MS_OK);
    assert_int_equal(n, c->n_exps);
    for (size_t i = 0; i < n; i++) {
        TU_TRUE(c->dir, is(list[i].experiment_id, c->exps[i].id));
        TU_TRUE(c->dir, is(list[i].name, c->exps[i].name));
        TU_TRUE(c->dir, is(list[i].lifecycle_stage, "active"));
        tu_i64_eq(c->exps[i].name, list[i].trace_count, c->exps[i].count);
        char want_loc[256];
        snprintf(want_loc, sizeof want_loc, "/tmp/acme-support/stores/%s/mlruns/%s", c->dir,
                 c->exps[i].id);
        TU_TRUE(want_loc, is(list[i].artifact_location, want_loc));
    }
}

static void test_open_and_experiments(void **state)
{
    (void)state;
    for (size_t i = 0; i < TU_COUNT(stores); i++) {
        char uri[600], path[512];
        snprintf(path, sizeof path, FIX "%s/mlflow.db", stores[i].dir);
        snprintf(uri, sizeof uri, "sqlite:///%s", path); /* path is absolute: 4 slashes */
        ms_store *a = open_ok(uri), *b = open_ok(path);
        check_experiments(a, &stores[i]);
        check_experiments(b, &stores[i]);
        ms_store_close(a);
        ms_store_close(b);
    }
}

/* ---- tests: traces against real MLflow exports ------------------------- */

struct export_case {
    const char *store, *export_file, *exp_id;
    size_t want; /* traces in the export */
};

static const struct export_case exports[] = {
    {"sqlite", "export/exp-1.json", "1", 95},
    {"sqlite", "export/exp-2.json", "2", 9},
    {"sqlite", "export/exp-0.json", "0", 0},
    {"v2", "v2/export.jsonl", "1", 12},
    {"v3_5_0", "v3_5_0/export-exp-1.json", "1", 12},
};

static void compare_export(const struct export_case *e)
{
    char path[512], xpath[512], what[160];
    snprintf(path, sizeof path, FIX "%s/mlflow.db", e->store);
    snprintf(xpath, sizeof xpath, FIX "%s", e->export_file);
    snprintf(what, sizeof what, "%s vs %s", e->store, e->export_file);
    ms_store *st = open_ok(path);
    ms_trace_set *want = load_export(xpath);
    ms_trace_set *got = search_all(st, e->exp_id);
    assert_int_equal(ms_trace_set_count(want), e->want);
    assert_int_equal(ms_trace_set_count(got), e->want);
    for (size_t i = 0; i < ms_trace_set_count(want); i++) {
        const ms_trace *w = ms_trace_set_at(want, i);
        const ms_trace *g = ms_trace_set_find(got, w->info.trace_id.ptr);
        if (!g)
            fail_msg("%s: %s missing", what, w->info.trace_id.ptr);
        TU_TRUE(what, g->n_spans > 0 || w->n_spans == 0);
        expect_same_trace(what, g, w);
    }
    ms_trace_set_free(got);
    ms_trace_set_free(want);
    ms_store_close(st);
}

static void test_sqlite_exp1(void **state)
{
    (void)state;
    compare_export(&exports[0]);
}
static void test_sqlite_exp2(void **state)
{
    (void)state;
    compare_export(&exports[1]);
}
static void test_sqlite_exp0(void **state)
{
    (void)state;
    compare_export(&exports[2]);
}
static void test_v2_export(void **state)
{
    (void)state;
    compare_export(&exports[3]);
}
static void test_v3_5_0_export(void **state)
{
    (void)state;
    compare_export(&exports[4]);
}

/* Every `mlflow traces get` output under <store>/get/ against get_trace. */
static void compare_gets(const char *store, const char *get_dir)
{
    char path[512], dir[512];
    snprintf(path, sizeof path, FIX "%s/mlflow.db", store);
    snprintf(dir, sizeof dir, FIX "%s", get_dir);
    ms_store *st = open_ok(path);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls %s", dir);
    FILE *ls = popen(cmd, "r");
    assert_non_null(ls);
    char name[256];
    int n = 0;
    while (fgets(name, sizeof name, ls)) {
        name[strcspn(name, "\n")] = '\0';
        char file[800], id[256];
        snprintf(file, sizeof file, "%s/%s", dir, name);
        snprintf(id, sizeof id, "%.*s", (int)(strlen(name) - 5), name);
        ms_trace_set *want = load_export(file), *got = NULL;
        struct ms_error err;
        ms_code rc = ms_store_get_trace(st, id, &got, &err);
        if (rc != MS_OK)
            fail_msg("get %s: %d %s", id, rc, err.msg);
        assert_int_equal(ms_trace_set_count(got), 1);
        expect_same_trace(file, ms_trace_set_at(got, 0), ms_trace_set_at(want, 0));
        ms_trace_set_free(got);
        ms_trace_set_free(want);
        n++;
    }
    pclose(ls);
    assert_true(n > 0);
    ms_store_close(st);
}

static void test_get_matches_cli(void **state)
{
    (void)state;
    compare_gets("sqlite", "export/get");
    compare_gets("v3_5_0", "v3_5_0/get");
}

/* Promoted columns come back as MLflow's metadata text, to the byte. */
static void test_promoted_columns(void **state)
{
    (void)state;
    ms_store *st = open_ok(FIX "sqlite/mlflow.db");
    ms_trace_set *set = NULL;
    struct ms_error err;
    assert_int_equal(ms_store_get_trace(st, "tr-7967fb52f6e6b7d2a240d83dff37c315", &set, &err),
                     MS_OK);
    const ms_trace *t = ms_trace_set_at(set, 0);
    bool session = false, usage = false, name = false;
    for (size_t i = 0; i < t->info.n_metadata; i++) {
        const ms_kv *kv = &t->info.metadata[i];
        if (is(kv->key, "mlflow.trace.session"))
            session = is(kv->value, "sess-rag-outdated");
        if (is(kv->key, "mlflow.trace.tokenUsage"))
            usage = is(kv->value,
                       "{\"input_tokens\": 124, \"output_tokens\": 56, \"total_tokens\": 180}");
    }
    for (size_t i = 0; i < t->info.n_tags; i++)
        if (is(t->info.tags[i].key, "mlflow.traceName"))
            name = is(t->info.tags[i].value, "rag_answer");
    assert_true(session && usage && name);
    tu_i64_eq("input", t->info.usage.input_tokens, 124);
    tu_i64_eq("total", t->info.usage.total_tokens, 180);
    assert_int_equal(t->info.usage.present, MS_USAGE_INPUT | MS_USAGE_OUTPUT | MS_USAGE_TOTAL);
    assert_int_equal(t->n_spans, 3);
    assert_true(t->spans[0].parent_id[0] == '\0'); /* root first */
    ms_trace_set_free(set);

    struct ms_error err2 = {MS_OK, -1, ""};
    set = NULL;
    assert_int_equal(ms_store_get_trace(st, "tr-00000000000000000000000000000000", &set, &err2),
                     MS_E_NOTFOUND);
    assert_null(set);
    ms_store_close(st);
}

/* ---- tests: pushdown --------------------------------------------------- */

/* Ids of every page of a search, pages walked with their tokens. */
static char *page_ids(ms_store *st, const char *exp_id, const char *filter,
                      const char *order, int64_t page_size, int *pages)
{
    const char *ids[1] = {exp_id};
    const char *ob[1] = {order};
    ms_filter *f = NULL;
    struct ms_error err;
    if (ms_filter_parse(filter, &f, &err) != MS_OK)
        fail_msg("filter %s: %s", filter, err.msg);
    struct msx_buf out;
    msx_buf_init(&out, MSX_CAP_OUTPUT);
    char *token = NULL;
    *pages = 0;
    do {
        struct ms_search req = {1, ids, 1, f, ob, 1, page_size, token, false};
        ms_trace_set *set = NULL;
        ms_code rc = ms_store_search(st, &req, &set, &err);
        if (rc != MS_OK)
            fail_msg("search '%s': %d %s", filter, rc, err.msg);
        for (size_t i = 0; i < ms_trace_set_count(set); i++)
            msx_buf_addf(&out, "%s\n", ms_trace_set_at(set, i)->info.trace_id.ptr);
        free(token);
        token = ms_trace_set_next_page_token(set) ? strdup(ms_trace_set_next_page_token(set))
                                                  : NULL;
        ms_trace_set_free(set);
        (*pages)++;
    } while (token && *pages < 1000);
    ms_filter_free(f);
    msx_buf_addc(&out, '\0');
    char *r = msx_buf_take(&out, NULL);
    msx_buf_release(&out);
    return r;
}

/* Filters, orders and pages compiled to SQL give what the JSON backend
 * gives by evaluating the same filter in memory on MLflow's export. */
static void test_pushdown_matches_memory(void **state)
{
    (void)state;
    static const struct {
        const char *filter, *order;
        int64_t page;
        size_t want;
    } cases[] = {
        {"", "timestamp_ms ASC", 7, 95},
        {"", "timestamp_ms DESC", 500, 95},
        {"metadata.`mlflow.trace.session` = 'sess-rag-outdated'", "timestamp_ms ASC", 4, 6},
        {"metadata.`mlflow.trace.session` = 'sess-context-overflow'", "timestamp_ms DESC", 9,
         40},
        {"trace.status = 'ERROR'", "timestamp_ms ASC", 100, 1},
        {"trace.status = 'IN_PROGRESS'", "timestamp_ms ASC", 100, 1},
        {"tag.`mlflow.traceName` = 'rag_answer'", "timestamp_ms ASC", 3, 8},
        {"trace.timestamp_ms > 1768470000000", "execution_time_ms DESC", 5, SIZE_MAX},
        {"trace.execution_time_ms >= 700", "timestamp_ms ASC", 5, SIZE_MAX},
        {"trace.timestamp_ms > 1768470000000 AND trace.execution_time_ms >= 700",
         "execution_time_ms DESC", 5, SIZE_MAX},
        {"metadata.`mlflow.trace.user` = 'user-2001'", "timestamp_ms ASC", 5, SIZE_MAX},
        {"tag.`mlflow.traceName` RLIKE '^(chat|rag_)'", "timestamp_ms ASC", 10, SIZE_MAX},
        {"trace.request_id = 'tr-7967fb52f6e6b7d2a240d83dff37c315'", "timestamp_ms ASC", 2, 1},
    };
    ms_store *sql = open_ok(FIX "sqlite/mlflow.db");
    ms_store *mem = NULL;
    struct ms_error err;
    assert_int_equal(ms_store_open(FIX "export/exp-1.json", &mem, &err), MS_OK);
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        int pg_sql, pg_mem;
        char *a = page_ids(sql, "1", cases[i].filter, cases[i].order, cases[i].page, &pg_sql);
        char *b = page_ids(mem, "1", cases[i].filter, cases[i].order, cases[i].page, &pg_mem);
        tu_str_eq(cases[i].filter, a, strlen(a), b);
        size_t lines = 0;
        for (const char *p = a; *p; p++)
            lines += *p == '\n';
        if (cases[i].want != SIZE_MAX)
            tu_i64_eq(cases[i].filter, (int64_t)lines, (int64_t)cases[i].want);
        else
            TU_TRUE(cases[i].filter, lines > 0);
        tu_i64_eq(cases[i].filter, pg_sql, pg_mem);
        free(a);
        free(b);
    }
    ms_store_close(mem);
    ms_store_close(sql);
}

/* What the backend reports it did: with a filter and an order that compile,
 * only the page (plus one) comes back; a span filter on a store without a
 * spans table (2.x) is left to the caller, and the search still answers
 * like the export does (spans from the traces.json artifacts). */
static void test_pushdown_flags(void **state)
{
    (void)state;
    struct ms_error err;
    ms_filter *f = NULL;
    ms_order *o = NULL;
    void *h = NULL;
    assert_int_equal(ms_order_parse(NULL, 0, &o, &err), MS_OK);
    assert_int_equal(
        ms_filter_parse("metadata.`mlflow.trace.session` = 'sess-rag-outdated'", &f, &err), MS_OK);
    assert_int_equal(msi_store_sqlite.open(NULL, FIX "sqlite/mlflow.db", &h, &err), MS_OK);
    const char *ids[] = {"1", "2"};
    struct msi_scan scan = {ids, 2, f, o, 1, 2, false, false, false};
    ms_trace_set *set = msi_trace_set_new();
    assert_int_equal(msi_store_sqlite.scan(h, &scan, set, &err), MS_OK);
    assert_true(scan.filter_done && scan.page_done);
    assert_int_equal(ms_trace_set_count(set), 3);
    /* default order: newest first; turn 6 is skipped by the offset */
    for (size_t i = 1; i < 3; i++)
        assert_true(ms_trace_set_at(set, i - 1)->info.request_time_ms >
                    ms_trace_set_at(set, i)->info.request_time_ms);
    ms_trace_set_free(set);
    msi_store_sqlite.close(h);
    ms_filter_free(f);

    assert_int_equal(ms_filter_parse("span.name = 'search_kb'", &f, &err), MS_OK);
    assert_int_equal(msi_store_sqlite.open(NULL, FIX "v2/mlflow.db", &h, &err), MS_OK);
    struct msi_scan scan2 = {ids, 1, f, o, 0, 100, false, false, false};
    set = msi_trace_set_new();
    assert_int_equal(msi_store_sqlite.scan(h, &scan2, set, &err), MS_OK);
    assert_false(scan2.filter_done);
    assert_int_equal(ms_trace_set_count(set), 12);
    ms_trace_set_free(set);
    msi_store_sqlite.close(h);
    ms_filter_free(f);
    ms_order_free(o);

    ms_store *sql = open_ok(FIX "v2/mlflow.db"), *mem = NULL;
    assert_int_equal(ms_store_open(FIX "v2/export.jsonl", &mem, &err), MS_OK);
    int pa, pb;
    char *a = page_ids(sql, "1", "span.name = 'search_kb'", "timestamp_ms ASC", 3, &pa);
    char *b = page_ids(mem, "1", "span.name = 'search_kb'", "timestamp_ms ASC", 3, &pb);
    tu_str_eq("v2 span filter", a, strlen(a), b);
    assert_true(strlen(a) > 0);
    free(a);
    free(b);
    ms_store_close(mem);
    ms_store_close(sql);
}

/* ---- tests: read-only ------------------------------------------------- */

static void test_read_only(void **state)
{
    (void)state;
    static const char *const dirs[] = {"sqlite", "v2", "v3_5_0"};
    for (size_t i = 0; i < TU_COUNT(dirs); i++) {
        char db[512], side[600];
        snprintf(db, sizeof db, FIX "%s/mlflow.db", dirs[i]);
        struct stat before, after;
        assert_int_equal(stat(db, &before), 0);
        uint64_t h = file_hash(db);
        ms_store *st = open_ok(db);
        const ms_experiment *list;
        size_t n;
        struct ms_error err;
        assert_int_equal(ms_store_experiments(st, &list, &n, &err), MS_OK);
        ms_trace_set *set = search_all(st, "1");
        assert_true(ms_trace_set_count(set) > 0);
        static const char *const sfx[] = {"-wal", "-shm", "-journal"};
        for (size_t k = 0; k < 3; k++) { /* none while open either */
            snprintf(side, sizeof side, "%s%s", db, sfx[k]);
            TU_TRUE(side, !tu_file_exists(side));
        }
        ms_trace_set_free(set);
        ms_store_close(st);
        assert_int_equal(stat(db, &after), 0);
        assert_true(before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
                    before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
        assert_true(before.st_size == after.st_size);
        assert_true(h == file_hash(db));
        for (size_t k = 0; k < 3; k++) {
            snprintf(side, sizeof side, "%s%s", db, sfx[k]);
            TU_TRUE(side, !tu_file_exists(side));
        }
    }
}

/* A minimal MLflow-shaped database, enough for the backend to accept. */
static const char MINI_SCHEMA[] =
    "CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY, name TEXT,"
    " artifact_location TEXT, lifecycle_stage TEXT);"
    "CREATE TABLE trace_info (request_id TEXT PRIMARY KEY, experiment_id INTEGER,"
    " timestamp_ms BIGINT NOT NULL, execution_time_ms BIGINT, status TEXT);"
    "INSERT INTO experiments VALUES (1, 'e', '/nowhere/mlruns/1', 'active');"
    "INSERT INTO experiments VALUES (2, 'gone', '/nowhere/mlruns/2', 'deleted');"
    "INSERT INTO trace_info VALUES ('tr-a', 1, 1000, 5, 'OK');"
    "INSERT INTO trace_info VALUES ('tr-b', 1, 2000, NULL, 'IN_PROGRESS');"
    "INSERT INTO trace_info VALUES ('tr-c', 2, 3000, 1, 'OK');";

static void test_wal_database(void **state)
{
    (void)state;
    const char *db = tmp_path("wal.db");
    exec_sql(db, "PRAGMA journal_mode=wal;");
    exec_sql(db, MINI_SCHEMA);
    /* the last connection closed: -wal and -shm are gone */
    assert_false(tu_file_exists(tmp_path("wal.db-wal")));
    ms_store *st = open_ok(db);
    const ms_experiment *list;
    size_t n;
    struct ms_error err;
    assert_int_equal(ms_store_experiments(st, &list, &n, &err), MS_OK);
    assert_int_equal(n, 1); /* the deleted experiment is not listed */
    tu_i64_eq("count", list[0].trace_count, 2);
    ms_trace_set *set = search_all(st, "1");
    assert_int_equal(ms_trace_set_count(set), 2);
    /* a trace in the deleted experiment, asked for by id: MLflow finds it */
    ms_trace_set_free(set);
    set = search_all(st, "2");
    assert_int_equal(ms_trace_set_count(set), 1);
    ms_trace_set_free(set);
    ms_store_close(st);
    assert_false(tu_file_exists(tmp_path("wal.db-wal")));
    assert_false(tu_file_exists(tmp_path("wal.db-shm")));

    /* a -wal without its -shm cannot be read without creating one */
    FILE *f = fopen(tmp_path("wal.db-wal"), "wb");
    assert_non_null(f);
    fputs("not really a wal", f);
    fclose(f);
    ms_store *bad = NULL;
    assert_int_equal(ms_store_open(db, &bad, &err), MS_E_STORE);
    assert_non_null(strstr(err.msg, "write-ahead log"));
    assert_false(tu_file_exists(tmp_path("wal.db-shm")));
    unlink(tmp_path("wal.db-wal"));
}

/* A live writer: its committed pages are in the -wal, read through the
 * existing -shm, and nothing new appears. */
static void test_wal_live_writer(void **state)
{
    (void)state;
    const char *db = tmp_path("live.db");
    sqlite3 *w;
    assert_int_equal(sqlite3_open(db, &w), SQLITE_OK);
    assert_int_equal(sqlite3_exec(w, "PRAGMA journal_mode=wal; PRAGMA wal_autocheckpoint=0;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_exec(w, MINI_SCHEMA, NULL, NULL, NULL), SQLITE_OK);
    assert_true(tu_file_exists(tmp_path("live.db-wal")) &&
                tu_file_exists(tmp_path("live.db-shm")));
    ms_store *st = open_ok(db);
    ms_trace_set *set = search_all(st, "1");
    assert_int_equal(ms_trace_set_count(set), 2);
    ms_trace_set_free(set);
    ms_store_close(st);
    sqlite3_close(w);
}

/* ---- tests: artifacts ----------------------------------------------------- */

/* A copy of the v2 store whose recorded artifact paths do not exist (the
 * generator's /tmp/acme-support may exist on the machine running this):
 * without an mlruns/ beside the copy every trace keeps its info and no
 * spans, and the search does not fail; with one (a symlink to the fixture's)
 * the paths are relocated by their "mlruns/..." suffix and every span is
 * there, equal to MLflow's export. */
static void test_relocated_artifacts(void **state)
{
    (void)state;
    const char *db = tmp_path("v2-copy.db");
    copy_file(FIX "v2/mlflow.db", db);
    exec_sql(db, "UPDATE trace_tags SET value = replace(value, '/tmp/acme-support/stores/v2/',"
                 " '/nonexistent/place/') WHERE key = 'mlflow.artifactLocation';"
                 "UPDATE experiments SET artifact_location = replace(artifact_location,"
                 " '/tmp/acme-support/stores/v2/', '/nonexistent/place/');");
    ms_store *st = open_ok(db);
    ms_trace_set *set = search_all(st, "1");
    assert_int_equal(ms_trace_set_count(set), 12);
    for (size_t i = 0; i < 12; i++)
        assert_int_equal(ms_trace_set_at(set, i)->n_spans, 0);
    ms_trace_set_free(set);

    assert_int_equal(symlink(FIX "v2/mlruns", tmp_path("mlruns")), 0);
    set = search_all(st, "1");
    ms_trace_set *want = load_export(FIX "v2/export.jsonl");
    assert_int_equal(ms_trace_set_count(set), 12);
    for (size_t i = 0; i < 12; i++) {
        ms_trace *g = msi_trace_set_mut(set, i);
        const ms_trace *w = ms_trace_set_find(want, g->info.trace_id.ptr);
        assert_non_null(w);
        assert_true(g->n_spans > 0);
        assert_int_equal(g->n_spans, w->n_spans);
        /* the tag was rewritten above; the rest must be equal */
        for (size_t k = 0; k < g->info.n_tags; k++)
            if (is(g->info.tags[k].key, "mlflow.artifactLocation"))
                for (size_t j = 0; j < w->info.n_tags; j++)
                    if (is(w->info.tags[j].key, "mlflow.artifactLocation"))
                        g->info.tags[k].value = w->info.tags[j].value;
        expect_same_trace("relocated", g, w);
    }
    ms_trace_set_free(want);
    ms_trace_set_free(set);
    ms_store_close(st);
    unlink(tmp_path("mlruns"));
    unlink(db);
}

/* ---- tests: bad input --------------------------------------------------- */

static void expect_open_fails(const char *uri, ms_code code, const char *needle)
{
    ms_store *st = NULL;
    struct ms_error err = {MS_OK, -1, ""};
    ms_code rc = ms_store_open(uri, &st, &err);
    if (rc != code)
        fail_msg("%s: got %d (%s), want %d", uri, rc, err.msg, code);
    assert_null(st);
    if (!strstr(err.msg, needle))
        fail_msg("%s: message '%s' lacks '%s'", uri, err.msg, needle);
}

static void test_bad_files(void **state)
{
    (void)state;
    const char *other = tmp_path("other.db");
    exec_sql(other, "CREATE TABLE t (x); INSERT INTO t VALUES (1);");
    expect_open_fails(other, MS_E_UNSUPPORTED, "not an mlflow tracking database");
    char uri[300];
    snprintf(uri, sizeof uri, "sqlite:///%s", other);
    expect_open_fails(uri, MS_E_UNSUPPORTED, "not an mlflow tracking database");

    /* an empty file is an empty database to SQLite */
    const char *empty = tmp_path("empty.db");
    fclose(fopen(empty, "wb"));
    expect_open_fails(empty, MS_E_UNSUPPORTED, "not an mlflow tracking database");

    /* a valid header, then garbage */
    const char *corrupt = tmp_path("corrupt.db");
    FILE *f = fopen(corrupt, "wb");
    assert_non_null(f);
    fwrite("SQLite format 3", 1, 16, f);
    for (int i = 0; i < 8192; i++)
        fputc((i * 7919) & 0xff, f);
    fclose(f);
    expect_open_fails(corrupt, MS_E_STORE, corrupt);

    const char *text = tmp_path("text.db");
    f = fopen(text, "wb");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        fputs("this is not a database at all. ", f);
    fclose(f);
    expect_open_fails(text, MS_E_STORE, "file is not a database");

    expect_open_fails("sqlite:////nonexistent/dir/mlflow.db", MS_E_IO,
                      "no such file or directory");
    expect_open_fails(tmp_path("missing.db"), MS_E_IO, "no such file or directory");
    /* no side files were created for any of them */
    assert_false(tu_file_exists(tmp_path("other.db-journal")));
    assert_false(tu_file_exists(tmp_path("missing.db")));
}

/* Values are bound, never spliced into SQL: hostile ids match nothing. */
static void test_hostile_ids(void **state)
{
    (void)state;
    ms_store *st = open_ok(FIX "sqlite/mlflow.db");
    static const char *const ids[] = {"1) OR 1=1 --", "1' OR '1'='1", "x", "-1",
                                      "99999999999999999999"};
    for (size_t i = 0; i < TU_COUNT(ids); i++) {
        ms_trace_set *set = search_all(st, ids[i]);
        assert_int_equal(ms_trace_set_count(set), 0);
        ms_trace_set_free(set);
    }
    ms_store_close(st);
}

/* A path that needs escaping in a file: URI. */
static void test_odd_path(void **state)
{
    (void)state;
    const char *db = tmp_path("odd ?#%name.db");
    exec_sql(db, MINI_SCHEMA);
    ms_store *st = open_ok(db);
    ms_trace_set *set = search_all(st, "1");
    assert_int_equal(ms_trace_set_count(set), 2);
    ms_trace_set_free(set);
    ms_store_close(st);
    unlink(db);
}

static int setup(void **state)
{
    (void)state;
    snprintf(scratch, sizeof scratch, "/tmp/ms_sqlite_test.XXXXXX");
    return mkdtemp(scratch) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_and_experiments),
        cmocka_unit_test(test_sqlite_exp1),
        cmocka_unit_test(test_sqlite_exp2),
        cmocka_unit_test(test_sqlite_exp0),
        cmocka_unit_test(test_v2_export),
        cmocka_unit_test(test_v3_5_0_export),
        cmocka_unit_test(test_get_matches_cli),
        cmocka_unit_test(test_promoted_columns),
        cmocka_unit_test(test_pushdown_matches_memory),
        cmocka_unit_test(test_pushdown_flags),
        cmocka_unit_test(test_read_only),
        cmocka_unit_test(test_wal_database),
        cmocka_unit_test(test_wal_live_writer),
        cmocka_unit_test(test_relocated_artifacts),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_hostile_ids),
        cmocka_unit_test(test_odd_path),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
