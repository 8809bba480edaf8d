/* SPDX-License-Identifier: MIT
 *
 * The SQLite backend: MLflow's SQLAlchemy tracking store (sqlite:///mlflow.db
 * or a bare *.db path), read-only, from 2.x schemas to 3.17's. The schema is
 * introspected once (PRAGMA table_info) and every optional table or column
 * is used only when present, so a store is read as far as this file knows
 * it. Trace infos come from a handful of queries per experiment chunk (one
 * per table, ordered by request id and merged in C), never one per trace;
 * spans from the `spans` table (3.4+) or the traces.json artifacts.
 *
 * What MLflow 3.17.2's API does on read is reproduced here: promoted columns
 * (trace_info.session_id, token and cost columns, trace_name) become the
 * metadata and tags they replaced (utils/trace_analytics.py,
 * _build_trace_infos_from_rows in sqlalchemy_store.py), assessments are built
 * from their columns as SqlAssessments.to_mlflow_entity() does.
 *
 * Only this file sees sqlite3.h. It never prints, exits or writes: every
 * value goes through sqlite3_bind_*, never into SQL text.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "json/json.h"
#include "json/json_write.h"
#include "filter/filter_sql.h"
#include "model/model.h"
#include "session/session_int.h"
#include "session/sfilter_sql.h"
#include "store/store.h"
#include "util/buf.h"

/* Bound parameters per IN (...) list: MLflow's own child-query batch size,
 * well below SQLite's SQLITE_MAX_VARIABLE_NUMBER (999 before 3.32). */
#define CHUNK 500
/* A traces.json bigger than this is not read (its trace keeps no spans). */
#define MAX_ARTIFACT_BYTES ((size_t)1 << 30)
#define BUSY_TIMEOUT_MS 5000

static const char TRACE_NAME_TAG[] = "mlflow.traceName";
static const char SPANS_LOCATION_TAG[] = "mlflow.trace.spansLocation";
static const char ARTIFACT_LOCATION_TAG[] = "mlflow.artifactLocation";
static const char SESSION_KEY[] = "mlflow.trace.session";
static const char TOKEN_USAGE_KEY[] = "mlflow.trace.tokenUsage";
static const char COST_KEY[] = "mlflow.trace.cost";

/* Optional trace_info columns, in select order after the four fixed ones
 * (request_id, experiment_id, timestamp_ms, execution_time_ms). */
enum {
    TI_STATUS,
    TI_CLIENT,
    TI_REQ_PREVIEW,
    TI_RESP_PREVIEW,
    TI_NAME,
    TI_SESSION,
    TI_TOK0, /* six token columns, named as their usage keys */
    TI_COST0 = TI_TOK0 + 6,
    TI_N = TI_COST0 + 3,
};
#define TI_FIXED 4
static const char *const ti_cols[TI_N] = {
    "status", "client_request_id", "request_preview", "response_preview", "trace_name",
    "session_id", "input_tokens", "output_tokens", "total_tokens", "cache_read_input_tokens",
    "cache_creation_input_tokens", "cache_creation_input_tokens_above_1hr", "input_cost",
    "output_cost", "total_cost",
};

/* assessments columns, in select order after a.trace_id */
enum {
    AS_ID,
    AS_NAME,
    AS_TYPE,
    AS_VALUE,
    AS_ERROR,
    AS_CREATED,
    AS_UPDATED,
    AS_SRC_TYPE,
    AS_SRC_ID,
    AS_SPAN,
    AS_RATIONALE,
    AS_OVERRIDES,
    AS_VALID,
    AS_META,
    AS_N,
};
static const char *const as_cols[AS_N] = {
    "assessment_id", "name", "assessment_type", "value", "error", "created_timestamp",
    "last_updated_timestamp", "source_type", "source_id", "span_id", "rationale", "overrides",
    "valid", "assessment_metadata",
};

struct sq_state {
    sqlite3 *db;
    char *path; /* the .db file */
    char *dir;  /* its directory, for relocating artifact paths */
    bool has_tags, has_meta, has_assessments, has_spans;
    bool ti_exec;
    bool ti[TI_N];
    bool as[AS_N];
    bool exp_name, exp_artifact, exp_stage;
    bool sp_parent, sp_start;
    bool has_links, as_aggregate; /* for the filter compiler */
    msx_json_parser *parser; /* stored JSON: content, values, artifacts */
    msx_json_parser *inner;  /* attribute values, for the span decoder */
    /* Spans that could not be read (missing artifact, bad row): the trace
     * keeps what was read and the search goes on. The last reason is kept
     * for a caller that wants to say why. */
    size_t n_span_notes;
    char note[256];
    ms_trace_set *note_set; /* the set load_spans fills: notes go there too */
    char schema_rev[64];    /* alembic_version, "" if none */
    bool schema_newer;      /* a revision MLflow 3.17.2 does not have */
    bool schema_noticed;    /* said once */
};

static ms_code nomem(struct ms_error *err)
{
    return msi_error(err, MS_E_NOMEM, "out of memory");
}

static ms_code sql_fail(struct sq_state *s, struct ms_error *err)
{
    return msi_error(err, MS_E_STORE, "%s: %s", s->path, sqlite3_errmsg(s->db));
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void note(struct sq_state *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s->n_span_notes++;
    vsnprintf(s->note, sizeof s->note, fmt, ap);
    va_end(ap);
    msi_trace_set_warn(s->note_set, "%s", s->note);
}

static char *xstrdup(const char *p)
{
    size_t n = strlen(p) + 1;
    char *q = malloc(n);
    if (q)
        memcpy(q, p, n);
    return q;
}

/* ---- column helpers ----------------------------------------------------- */

static ms_str col_str(sqlite3_stmt *st, int i)
{
    ms_str r = {NULL, 0};
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return r;
    const char *p = (const char *)sqlite3_column_text(st, i);
    if (!p)
        return r; /* out of memory converting; treated as absent */
    r.ptr = p;
    r.len = (size_t)sqlite3_column_bytes(st, i);
    return r;
}

static bool col_is_null(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL;
}

/* SQLite's BINARY collation: memcmp, then the shorter first. */
static int bin_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

static bool str_is(ms_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.ptr && s.len == n && memcmp(s.ptr, lit, n) == 0;
}

/* ---- REGEXP (for RLIKE pushed down to SQL) ------------------------------ */

static void free_code(void *p)
{
    pcre2_code_free((pcre2_code *)p);
}

/* regexp(pattern, subject): SQLite rewrites "X REGEXP Y" as regexp(Y, X).
 * The compiled pattern is cached on the statement with auxdata. NULL in,
 * NULL out, as for SQL's other operators. */
static void regexp_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL)
        return;
    pcre2_code *re = sqlite3_get_auxdata(ctx, 0);
    if (!re) {
        const unsigned char *pat = sqlite3_value_text(argv[0]);
        int plen = sqlite3_value_bytes(argv[0]);
        int ecode;
        PCRE2_SIZE eoff;
        if (!pat) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
        re = pcre2_compile(pat, (PCRE2_SIZE)plen, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ecode,
                           &eoff, NULL);
        if (!re) {
            char msg[160];
            PCRE2_UCHAR buf[120];
            pcre2_get_error_message(ecode, buf, sizeof buf);
            snprintf(msg, sizeof msg, "bad regular expression at byte %zu: %s", (size_t)eoff,
                     (const char *)buf);
            sqlite3_result_error(ctx, msg, -1);
            return;
        }
        sqlite3_set_auxdata(ctx, 0, re, free_code);
        re = sqlite3_get_auxdata(ctx, 0); /* NULL if SQLite dropped it at once */
        if (!re) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
    }
    const unsigned char *subj = sqlite3_value_text(argv[1]);
    int slen = sqlite3_value_bytes(argv[1]);
    if (!subj) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    int rc = pcre2_match(re, subj, (PCRE2_SIZE)slen, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
        sqlite3_result_error(ctx, "regular expression match failed", -1);
        return;
    }
    sqlite3_result_int(ctx, rc >= 0);
}

/* ---- open --------------------------------------------------------------- */

/* Appends path to b percent-encoded for a file: URI ('?', '#', '%' and
 * anything outside printable ASCII). */
static void uri_path(struct msx_buf *b, const char *path)
{
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (*p == '?' || *p == '#' || *p == '%' || *p <= 0x20 || *p >= 0x7f)
            msx_buf_addf(b, "%%%02X", *p);
        else
            msx_buf_addc(b, (char)*p);
    }
}

static bool exists(const char *path, off_t *size)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return false;
    if (size)
        *size = st.st_size;
    return true;
}

/* Chooses how to open the file without ever creating one beside it.
 *
 * SQLite opened with mode=ro still creates <db>-wal and <db>-shm for a
 * WAL-mode database (checked with 3.40: both appear and stay). So:
 *  - rollback-journal databases (header bytes 18/19 == 1): mode=ro; a reader
 *    takes a shared lock and creates nothing;
 *  - WAL databases whose -wal is absent or empty: every committed page is in
 *    the main file, so immutable=1 reads it without the -shm index (and
 *    without locks: a writer starting meanwhile is not seen);
 *  - WAL databases with a -wal and its -shm: mode=ro reads through the
 *    existing index, seeing the writer's committed transactions;
 *  - a -wal without its -shm: its content cannot be read without creating
 *    the index, and ignoring it would read stale data, so this is refused.
 * Returns the URI query ("mode=ro" ...) or NULL with err set. */
static const char *open_mode(const char *path, struct ms_error *err)
{
    unsigned char hdr[20];
    FILE *f = fopen(path, "rb");
    if (!f) {
        msi_error(err, MS_E_IO, "%s: cannot open the file", path);
        return NULL;
    }
    size_t got = fread(hdr, 1, sizeof hdr, f);
    fclose(f);
    bool wal = got == sizeof hdr && memcmp(hdr, "SQLite format 3", 16) == 0 &&
               (hdr[18] == 2 || hdr[19] == 2);
    if (!wal)
        return "mode=ro";
    size_t n = strlen(path);
    char *side = malloc(n + 5);
    if (!side) {
        nomem(err);
        return NULL;
    }
    off_t wal_size = 0;
    memcpy(side, path, n);
    memcpy(side + n, "-wal", 5);
    bool has_wal = exists(side, &wal_size) && wal_size > 0;
    memcpy(side + n, "-shm", 5);
    bool has_shm = exists(side, NULL);
    free(side);
    if (!has_wal)
        return "mode=ro&immutable=1";
    if (has_shm)
        return "mode=ro";
    msi_error(err, MS_E_STORE,
              "%s: write-ahead log without its -shm index; reading it would create files "
              "(let mlflow open the store once, or read a copy)",
              path);
    return NULL;
}

/* Fills present[i] for each name of cols in table; returns whether the
 * table exists. */
static ms_code table_cols(struct sq_state *s, const char *table, const char *const *cols,
                          size_t n, bool *present, bool *exists_out, struct ms_error *err)
{
    sqlite3_stmt *st;
    *exists_out = false;
    for (size_t i = 0; i < n; i++)
        present[i] = false;
    if (sqlite3_prepare_v2(s->db, "SELECT name FROM pragma_table_info(?1)", -1, &st, NULL) !=
        SQLITE_OK)
        return sql_fail(s, err);
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        *exists_out = true;
        for (size_t i = 0; name && i < n; i++)
            if (strcmp(name, cols[i]) == 0)
                present[i] = true;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sql_fail(s, err);
    return MS_OK;
}

static ms_code introspect(struct sq_state *s, struct ms_error *err)
{
    static const char *const base_ti[] = {"request_id", "experiment_id", "timestamp_ms",
                                          "execution_time_ms"};
    static const char *const exp_cols[] = {"experiment_id", "name", "artifact_location",
                                           "lifecycle_stage"};
    static const char *const kv_cols[] = {"request_id", "key", "value"};
    static const char *const span_cols[] = {"trace_id", "content", "parent_span_id",
                                            "start_time_unix_nano", "span_id"};
    bool b[5], ex_ti, ex_exp, ex;
    ms_code rc = table_cols(s, "trace_info", base_ti, 4, b, &ex_ti, err);
    if (rc != MS_OK)
        return rc;
    bool ti_ok = ex_ti && b[0] && b[1] && b[2];
    s->ti_exec = b[3];
    rc = table_cols(s, "experiments", exp_cols, 4, b, &ex_exp, err);
    if (rc != MS_OK)
        return rc;
    if (!ti_ok || !ex_exp || !b[0])
        return msi_error(err, MS_E_UNSUPPORTED, "%s: not an mlflow tracking database", s->path);
    /* the schema revision: an unknown one is newer than us (read what is known) */
    sqlite3_stmt *av = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT version_num FROM alembic_version LIMIT 1", -1, &av,
                           NULL) == SQLITE_OK &&
        sqlite3_step(av) == SQLITE_ROW && sqlite3_column_text(av, 0)) {
        snprintf(s->schema_rev, sizeof s->schema_rev, "%s",
                 (const char *)sqlite3_column_text(av, 0));
        s->schema_newer = !msi_schema_revision_known(s->schema_rev);
    }
    sqlite3_finalize(av);
    s->exp_name = b[1];
    s->exp_artifact = b[2];
    s->exp_stage = b[3];
    if ((rc = table_cols(s, "trace_info", ti_cols, TI_N, s->ti, &ex, err)) != MS_OK)
        return rc;
    if ((rc = table_cols(s, "trace_tags", kv_cols, 3, b, &ex, err)) != MS_OK)
        return rc;
    s->has_tags = b[0] && b[1] && b[2];
    if ((rc = table_cols(s, "trace_request_metadata", kv_cols, 3, b, &ex, err)) != MS_OK)
        return rc;
    s->has_meta = b[0] && b[1] && b[2];
    if ((rc = table_cols(s, "assessments", as_cols, AS_N, s->as, &ex, err)) != MS_OK)
        return rc;
    /* the columns without which an assessment means nothing */
    s->has_assessments = ex && s->as[AS_ID] && s->as[AS_NAME] && s->as[AS_TYPE] &&
                         s->as[AS_VALUE];
    {
        static const char *const tid[] = {"trace_id"};
        bool t;
        if ((rc = table_cols(s, "assessments", tid, 1, &t, &ex, err)) != MS_OK)
            return rc;
        s->has_assessments = s->has_assessments && t;
    }
    {
        static const char *const agg[] = {"aggregate_value", "is_numeric_value"};
        static const char *const links[] = {"source_id", "destination_id"};
        bool t[2];
        if ((rc = table_cols(s, "assessments", agg, 2, t, &ex, err)) != MS_OK)
            return rc;
        s->as_aggregate = t[0] && t[1];
        if ((rc = table_cols(s, "entity_associations", links, 2, t, &ex, err)) != MS_OK)
            return rc;
        s->has_links = t[0] && t[1];
    }
    if ((rc = table_cols(s, "spans", span_cols, 5, b, &ex, err)) != MS_OK)
        return rc;
    s->has_spans = b[0] && b[1];
    s->sp_parent = b[2];
    s->sp_start = b[3] && b[4];
    return MS_OK;
}

static void sq_close(void *state)
{
    struct sq_state *s = state;
    if (!s)
        return;
    sqlite3_close(s->db);
    msx_json_parser_free(s->parser);
    msx_json_parser_free(s->inner);
    free(s->path);
    free(s->dir);
    free(s);
}

static ms_code sq_open(const char *uri, const char *path, void **state, struct ms_error *err)
{
    (void)uri;
    if (!path || !*path)
        return msi_error(err, MS_E_INVALID, "no database path");
    if (!exists(path, NULL))
        return msi_error(err, MS_E_IO, "%s: no such file or directory", path);
    const char *mode = open_mode(path, err);
    if (!mode)
        return err ? err->code : MS_E_STORE;
    struct sq_state *s = calloc(1, sizeof *s);
    if (!s)
        return nomem(err);
    s->path = xstrdup(path);
    s->dir = xstrdup(path);
    s->parser = msx_json_parser_new();
    s->inner = msx_json_parser_new();
    if (!s->path || !s->dir || !s->parser || !s->inner) {
        sq_close(s);
        return nomem(err);
    }
    char *slash = strrchr(s->dir, '/');
    if (slash)
        slash[slash == s->dir ? 1 : 0] = '\0';
    else
        memcpy(s->dir, ".", 2);

    struct msx_buf u;
    msx_buf_init(&u, MSX_CAP_LINE);
    msx_buf_adds(&u, "file:");
    uri_path(&u, path);
    msx_buf_addf(&u, "?%s", mode);
    msx_buf_addc(&u, '\0');
    if (msx_buf_status(&u) != MS_OK) {
        msx_buf_release(&u);
        sq_close(s);
        return nomem(err);
    }
    int rc = sqlite3_open_v2(u.ptr, &s->db,
                             SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
    msx_buf_release(&u);
    ms_code code = MS_OK;
    if (rc != SQLITE_OK) {
        code = s->db ? sql_fail(s, err) : nomem(err);
        sq_close(s);
        return code;
    }
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(s->db, 1);
    /* belt and braces: no writes even by mistake, and no SQL functions
     * called from a hostile file's views or triggers; LIKE is case
     * sensitive as MLflow sets it for SQLite (ILIKE is compiled apart) */
    if (sqlite3_exec(s->db, "PRAGMA query_only=1; PRAGMA trusted_schema=0;"
                             " PRAGMA case_sensitive_like=1;", NULL, NULL,
                     NULL) != SQLITE_OK ||
        sqlite3_create_function_v2(s->db, "regexp", 2,
                                   SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL,
                                   regexp_fn, NULL, NULL, NULL) != SQLITE_OK) {
        code = sql_fail(s, err);
        sq_close(s);
        return code;
    }
    code = introspect(s, err);
    if (code != MS_OK) {
        sq_close(s);
        return code;
    }
    *state = s;
    return MS_OK;
}

/* ---- experiments -------------------------------------------------------- */

static ms_code sq_experiments(void *state, struct msx_arena *a, ms_experiment **list, size_t *n,
                              struct ms_error *err)
{
    struct sq_state *s = state;
    char sql[512];
    snprintf(sql, sizeof sql,
             /* COUNT(*) over the experiment index alone: no row read */
             "SELECT e.experiment_id, %s, %s, %s, (SELECT COUNT(*) FROM trace_info t"
             " WHERE t.experiment_id = e.experiment_id)"
             " FROM experiments e%s ORDER BY e.experiment_id",
             s->exp_name ? "e.name" : "''", s->exp_artifact ? "e.artifact_location" : "NULL",
             s->exp_stage ? "e.lifecycle_stage" : "'active'",
             s->exp_stage ? " WHERE e.lifecycle_stage = ?1" : "");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return sql_fail(s, err);
    if (s->exp_stage)
        sqlite3_bind_text(st, 1, "active", -1, SQLITE_STATIC);
    size_t cap = 16, k = 0;
    ms_experiment *l = msx_arena_calloc(a, cap, sizeof *l);
    int rc;
    ms_code code = MS_OK;
    while (l && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (k == cap) {
            ms_experiment *nl = msx_arena_calloc(a, cap * 2, sizeof *nl);
            if (!nl) {
                l = NULL;
                break;
            }
            memcpy(nl, l, k * sizeof *l);
            l = nl;
            cap *= 2;
        }
        ms_experiment *e = &l[k++];
        e->experiment_id = msi_dup(a, col_str(st, 0));
        ms_str name = col_str(st, 1);
        e->name = msi_dup(a, name.ptr ? name : (ms_str){"", 0});
        e->artifact_location = msi_dup(a, col_str(st, 2));
        e->lifecycle_stage = msi_dup(a, col_str(st, 3));
        e->trace_count = sqlite3_column_int64(st, 4);
        if (!e->experiment_id.ptr || !e->name.ptr)
            l = NULL;
    }
    if (!l)
        code = nomem(err);
    else if (rc != SQLITE_DONE)
        code = sql_fail(s, err);
    sqlite3_finalize(st);
    if (code != MS_OK)
        return code;
    *list = l;
    *n = k;
    return MS_OK;
}

/* ---- scan: trace infos ------------------------------------------------- */

/* Binds an experiment id: as an integer when it is one (the column is
 * INTEGER), else as text (matches nothing, as in MLflow). */
static void bind_exp_id(sqlite3_stmt *st, int i, const char *id)
{
    char *end;
    errno = 0;
    long long v = strtoll(id, &end, 10);
    if (*id && *end == '\0' && errno == 0 && (*id == '-' || (*id >= '0' && *id <= '9')))
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_text(st, i, id, -1, SQLITE_STATIC);
}

/* ", ?N, ?N+1 ..." for n parameters starting at first. */
static void add_params(struct msx_buf *b, int first, size_t n)
{
    for (size_t i = 0; i < n; i++)
        msx_buf_addf(b, "%s?%d", i ? "," : "", first + (int)i);
}

/* Python's json.dumps of the usage columns (compatibility_metadata_from_columns):
 * the keys present, in TOKEN_COLUMN_BY_KEY order, ", " and ": " separators. */
static bool token_json(sqlite3_stmt *st, const struct sq_state *s, struct msx_buf *b,
                       ms_token_usage *u)
{
    static const unsigned bits[6] = {MS_USAGE_INPUT,      MS_USAGE_OUTPUT,
                                     MS_USAGE_TOTAL,      MS_USAGE_CACHE_READ,
                                     MS_USAGE_CACHE_CREATION, 0};
    int64_t *fields[6] = {&u->input_tokens,           &u->output_tokens,
                          &u->total_tokens,           &u->cache_read_input_tokens,
                          &u->cache_creation_input_tokens, NULL};
    bool any = false;
    msx_buf_reset(b);
    for (int k = 0; k < 6; k++) {
        int c = TI_FIXED + TI_TOK0 + k;
        if (!s->ti[TI_TOK0 + k] || col_is_null(st, c))
            continue;
        int64_t v;
        int ty = sqlite3_column_type(st, c);
        if (ty == SQLITE_INTEGER)
            v = sqlite3_column_int64(st, c);
        else if (ty == SQLITE_FLOAT) {
            double d = sqlite3_column_double(st, c);
            if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != (double)(int64_t)d)
                continue; /* token_count_or_none: not an exact integer */
            v = (int64_t)d;
        } else
            continue;
        msx_buf_addf(b, "%s\"%s\": %lld", any ? ", " : "{", ti_cols[TI_TOK0 + k], (long long)v);
        any = true;
        if (fields[k]) {
            *fields[k] = v;
            u->present |= bits[k];
        }
    }
    if (any)
        msx_buf_addc(b, '}');
    return any;
}

static bool cost_json(sqlite3_stmt *st, const struct sq_state *s, struct msx_buf *b)
{
    bool any = false;
    msx_buf_reset(b);
    for (int k = 0; k < 3; k++) {
        int c = TI_FIXED + TI_COST0 + k;
        if (!s->ti[TI_COST0 + k] || col_is_null(st, c))
            continue;
        msx_buf_addf(b, "%s\"%s\": ", any ? ", " : "{", ti_cols[TI_COST0 + k]);
        msx_json_format_double(b, sqlite3_column_double(st, c));
        any = true;
    }
    if (any)
        msx_buf_addc(b, '}');
    return any;
}

static ms_trace_state state_of(ms_str s)
{
    if (str_is(s, "OK"))
        return MS_STATE_OK;
    if (str_is(s, "ERROR"))
        return MS_STATE_ERROR;
    if (str_is(s, "IN_PROGRESS"))
        return MS_STATE_IN_PROGRESS;
    return MS_STATE_UNSPECIFIED;
}

static bool kv_set(struct msx_arena *a, ms_kv *kv, const char *key, ms_str value)
{
    kv->key = msi_dup(a, (ms_str){key, strlen(key)});
    kv->value = msi_dup(a, value);
    return kv->key.ptr && kv->value.ptr;
}

/* One trace_info row into a new trace. The synthesised tag and metadata
 * (from promoted columns) are stored now; rows read later go before them,
 * as MLflow's dict.update() puts them. */
static ms_code add_info(struct sq_state *s, sqlite3_stmt *st, ms_trace_set *set,
                        struct msx_buf *tmp, struct ms_error *err)
{
    struct msx_arena *a = msi_trace_set_arena(set);
    ms_trace *t = msi_trace_set_append(set);
    if (!t)
        return ms_trace_set_count(set) >= MSI_MAX_TRACES
                   ? msi_error(err, MS_E_TOOBIG, "more traces than the cap of %d",
                               MSI_MAX_TRACES)
                   : nomem(err);
    ms_trace_info *in = &t->info;
    static const char mlflow_exp[] = "MLFLOW_EXPERIMENT";
    in->trace_id = msi_dup(a, col_str(st, 0));
    in->experiment_id = msi_dup(a, col_str(st, 1));
    in->location_type = msi_dup(a, (ms_str){mlflow_exp, sizeof mlflow_exp - 1});
    in->request_time_ms = sqlite3_column_int64(st, 2);
    if (s->ti_exec && !col_is_null(st, 3)) {
        in->execution_duration_ms = sqlite3_column_int64(st, 3);
        in->has_execution_duration = true;
    }
    in->state = state_of(col_str(st, TI_FIXED + TI_STATUS));
    in->client_request_id = msi_dup(a, col_str(st, TI_FIXED + TI_CLIENT));
    in->request_preview = msi_dup(a, col_str(st, TI_FIXED + TI_REQ_PREVIEW));
    in->response_preview = msi_dup(a, col_str(st, TI_FIXED + TI_RESP_PREVIEW));
    if (!in->trace_id.ptr || !in->experiment_id.ptr || !in->location_type.ptr)
        return nomem(err);

    ms_str name = col_str(st, TI_FIXED + TI_NAME);
    if (name.ptr) {
        if (!(in->tags = msx_arena_calloc(a, 1, sizeof *in->tags)) ||
            !kv_set(a, &in->tags[0], TRACE_NAME_TAG, name))
            return nomem(err);
        in->n_tags = 1;
    }
    ms_kv meta[3];
    size_t nm = 0;
    ms_str session = col_str(st, TI_FIXED + TI_SESSION);
    if (session.ptr && !kv_set(a, &meta[nm++], SESSION_KEY, session))
        return nomem(err);
    if (token_json(st, s, tmp, &in->usage)) {
        if (msx_buf_status(tmp) != MS_OK ||
            !kv_set(a, &meta[nm++], TOKEN_USAGE_KEY, (ms_str){tmp->ptr, tmp->len}))
            return nomem(err);
    }
    if (cost_json(st, s, tmp)) {
        if (msx_buf_status(tmp) != MS_OK ||
            !kv_set(a, &meta[nm++], COST_KEY, (ms_str){tmp->ptr, tmp->len}))
            return nomem(err);
    }
    if (nm) {
        if (!(in->metadata = msx_arena_calloc(a, nm, sizeof *in->metadata)))
            return nomem(err);
        memcpy(in->metadata, meta, nm * sizeof *meta);
        in->n_metadata = nm;
    }
    return MS_OK;
}

/* A trace of the result by id: child queries ask for the traces of a chunk
 * (ids sorted, SQLite's BINARY order) and return rows in that order, so a
 * cursor moves forward only. */
struct idref {
    const char *id;
    size_t len, i; /* i: index in the set */
};

static int idref_cmp(const void *x, const void *y)
{
    const struct idref *a = x, *b = y;
    return bin_cmp(a->id, a->len, b->id, b->len);
}

/* The set index of a child row's trace, or SIZE_MAX. */
static size_t ref_find(const struct idref *refs, size_t n, size_t *cur, ms_str id)
{
    while (*cur < n && bin_cmp(refs[*cur].id, refs[*cur].len, id.ptr, id.len) < 0)
        (*cur)++;
    if (*cur == n || bin_cmp(refs[*cur].id, refs[*cur].len, id.ptr, id.len) != 0)
        return SIZE_MAX;
    return refs[*cur].i;
}

/* Prepares "<head> IN (?,...) <tail>" with the chunk's ids bound. */
static ms_code prepare_in(struct sq_state *s, const char *head, const char *tail,
                          const struct idref *refs, size_t n, sqlite3_stmt **st,
                          struct ms_error *err)
{
    struct msx_buf sql;
    msx_buf_init(&sql, MSX_CAP_LINE);
    msx_buf_adds(&sql, head);
    msx_buf_adds(&sql, " IN (");
    add_params(&sql, 1, n);
    msx_buf_addf(&sql, ") %s", tail);
    msx_buf_addc(&sql, '\0');
    if (msx_buf_status(&sql) != MS_OK) {
        msx_buf_release(&sql);
        return nomem(err);
    }
    int rc = sqlite3_prepare_v2(s->db, sql.ptr, -1, st, NULL);
    msx_buf_release(&sql);
    if (rc != SQLITE_OK)
        return sql_fail(s, err);
    for (size_t k = 0; k < n; k++)
        sqlite3_bind_text(*st, (int)k + 1, refs[k].id, (int)refs[k].len, SQLITE_STATIC);
    return MS_OK;
}

/* A growing scratch vector, reused across traces; its content is copied to
 * the arena when a trace is complete. */
struct vec {
    void *p;
    size_t n, cap, size;
};

static bool vec_push(struct vec *v, const void *item)
{
    if (v->n == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 16;
        void *np = realloc(v->p, ncap * v->size);
        if (!np)
            return false;
        v->p = np;
        v->cap = ncap;
    }
    memcpy((char *)v->p + v->n * v->size, item, v->size);
    v->n++;
    return true;
}

/* Rows first, then what the trace already holds (the synthesised keys). */
static bool flush_kv(struct msx_arena *a, struct vec *v, ms_kv **arr, size_t *n)
{
    if (!v->n)
        return true;
    ms_kv *all = msx_arena_calloc(a, v->n + *n, sizeof *all);
    if (!all)
        return false;
    memcpy(all, v->p, v->n * sizeof *all);
    if (*n)
        memcpy(all + v->n, *arr, *n * sizeof *all);
    *arr = all;
    *n += v->n;
    v->n = 0;
    return true;
}

static bool flush_kv_of(struct msx_arena *a, struct vec *v, ms_trace_info *in, bool is_meta)
{
    return is_meta ? flush_kv(a, v, &in->metadata, &in->n_metadata)
                   : flush_kv(a, v, &in->tags, &in->n_tags);
}

/* Tags (is_meta false) or metadata rows of the traces in refs. */
static ms_code load_kvs(struct sq_state *s, ms_trace_set *set, const struct idref *refs,
                        size_t n, bool is_meta, struct ms_error *err)
{
    struct msx_arena *a = msi_trace_set_arena(set);
    sqlite3_stmt *st = NULL;
    ms_code code = prepare_in(s,
                              is_meta ? "SELECT request_id, key, value FROM trace_request_metadata"
                                        " WHERE request_id"
                                      : "SELECT request_id, key, value FROM trace_tags"
                                        " WHERE request_id",
                              "ORDER BY request_id, key", refs, n, &st, err);
    if (code != MS_OK)
        return code;
    /* keys MLflow re-creates from promoted columns, ignored as rows then */
    bool skip_session = is_meta && s->ti[TI_SESSION];
    bool skip_tokens = is_meta && s->ti[TI_TOK0];
    bool skip_cost = is_meta && s->ti[TI_COST0];
    bool skip_name = !is_meta && s->ti[TI_NAME];
    size_t cur = 0, owner = SIZE_MAX;
    struct vec v = {NULL, 0, 0, sizeof(ms_kv)};
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ms_str id = col_str(st, 0), key = col_str(st, 1), val = col_str(st, 2);
        if (!id.ptr || !key.ptr)
            continue;
        size_t i = ref_find(refs, n, &cur, id);
        if (i == SIZE_MAX)
            continue;
        if ((skip_session && str_is(key, SESSION_KEY)) ||
            (skip_tokens && str_is(key, TOKEN_USAGE_KEY)) ||
            (skip_cost && str_is(key, COST_KEY)) || (skip_name && str_is(key, TRACE_NAME_TAG)))
            continue;
        if (i != owner && owner != SIZE_MAX &&
            !flush_kv_of(a, &v, &msi_trace_set_mut(set, owner)->info, is_meta)) {
            code = nomem(err);
            break;
        }
        owner = i;
        ms_kv kv = {msi_dup(a, key), msi_dup(a, val.ptr ? val : (ms_str){"", 0})};
        if (!kv.key.ptr || !kv.value.ptr || !vec_push(&v, &kv)) {
            code = nomem(err);
            break;
        }
    }
    if (code == MS_OK && rc != SQLITE_DONE)
        code = sql_fail(s, err);
    if (code == MS_OK && owner != SIZE_MAX &&
        !flush_kv_of(a, &v, &msi_trace_set_mut(set, owner)->info, is_meta))
        code = nomem(err);
    free(v.p);
    sqlite3_finalize(st);
    return code;
}

/* Token usage from a metadata row, for stores without the promoted
 * columns (3.x before 3.17 keep mlflow.trace.tokenUsage as a row). */
static void usage_from_rows(struct sq_state *s, ms_trace_info *in)
{
    if (in->usage.present)
        return;
    for (size_t k = 0; k < in->n_metadata; k++)
        if (str_is(in->metadata[k].key, TOKEN_USAGE_KEY)) {
            msx_json root;
            if (msx_json_parse(s->parser, in->metadata[k].value.ptr, in->metadata[k].value.len,
                               false, &root, NULL) == MS_OK)
                msi_decode_usage(root, &in->usage);
            return;
        }
}

/* ---- scan: assessments --------------------------------------------------- */

/* Python's str() of a JSON value, as Assessment.to_proto() stores metadata
 * values: strings as they are, True/False/None, numbers as repr. Lists and
 * dicts come out as compact JSON (Python would print its repr). */
static ms_str py_str(struct msx_arena *a, msx_json v)
{
    struct msx_buf b;
    ms_str r = {NULL, 0};
    msx_buf_init(&b, MSX_CAP_FILE);
    switch (msx_json_type(v)) {
    case MSX_JSON_STRING: return msi_dup(a, msx_json_str(v));
    case MSX_JSON_TRUE: msx_buf_adds(&b, "True"); break;
    case MSX_JSON_FALSE: msx_buf_adds(&b, "False"); break;
    case MSX_JSON_NULL: msx_buf_adds(&b, "None"); break;
    default: {
        struct msx_jw w;
        msx_jw_init(&w, &b, 0);
        msx_jw_value(&w, v);
    }
    }
    if (msx_buf_status(&b) == MS_OK)
        r = msi_dup(a, (ms_str){b.ptr ? b.ptr : "", b.len});
    msx_buf_release(&b);
    return r;
}

static bool as_metadata(struct sq_state *s, struct msx_arena *a, ms_str text, ms_assessment *as)
{
    msx_json root;
    if (!text.ptr ||
        msx_json_parse(s->parser, text.ptr, text.len, false, &root, NULL) != MS_OK ||
        msx_json_type(root) != MSX_JSON_OBJECT || !msx_json_count(root))
        return true; /* none, or not a dict: MLflow would fail; keep the rest */
    size_t count = msx_json_count(root), i = 0;
    if (!(as->metadata = msx_arena_calloc(a, count, sizeof *as->metadata)))
        return false;
    struct msx_json_iter it = msx_json_iter_init(root);
    ms_str k;
    msx_json v;
    while (i < count && msx_json_next(&it, &k, &v)) {
        as->metadata[i].key = msi_dup(a, k);
        as->metadata[i].value = py_str(a, v);
        if (!as->metadata[i].key.ptr || !as->metadata[i].value.ptr)
            return false;
        i++;
    }
    as->n_metadata = i;
    return true;
}

static bool as_error(struct sq_state *s, struct msx_arena *a, ms_str text, ms_assessment *as)
{
    msx_json root;
    if (!text.ptr || msx_json_parse(s->parser, text.ptr, text.len, false, &root, NULL) != MS_OK ||
        msx_json_type(root) != MSX_JSON_OBJECT)
        return true;
    as->has_error = true;
    as->error_code = msi_dup(a, msx_json_str(msx_json_get(root, "error_code")));
    as->error_message = msi_dup(a, msx_json_str(msx_json_get(root, "error_message")));
    as->error_stack_trace = msi_dup(a, msx_json_str(msx_json_get(root, "stack_trace")));
    return true;
}

/* Expectation.to_proto(): a value that is not a bool, number or string
 * (None included as a plain value) travels as serialized_value, the
 * json.dumps text of the value: the text SQL holds. */
static bool as_value(struct sq_state *s, struct msx_arena *a, ms_str text, ms_assessment *as)
{
    if (!text.ptr)
        text = (ms_str){"null", 4};
    if (as->is_expectation) {
        msx_json root;
        enum msx_json_type ty = MSX_JSON_NONE;
        if (msx_json_parse(s->parser, text.ptr, text.len, false, &root, NULL) == MS_OK)
            ty = msx_json_type(root);
        if (ty == MSX_JSON_ARRAY || ty == MSX_JSON_OBJECT) {
            struct msx_buf b;
            struct msx_jw w;
            msx_buf_init(&b, MSX_CAP_FILE);
            msx_jw_init(&w, &b, 0);
            msx_jw_obj_begin(&w);
            msx_jw_keyz(&w, "serialization_format");
            msx_jw_strz(&w, "JSON_FORMAT");
            msx_jw_keyz(&w, "value");
            msx_jw_str(&w, text.ptr, text.len);
            msx_jw_obj_end(&w);
            if (msx_buf_status(&b) == MS_OK)
                as->serialized_json = msi_dup(a, (ms_str){b.ptr, b.len});
            msx_buf_release(&b);
            return as->serialized_json.ptr != NULL;
        }
    }
    as->value_json = msi_dup(a, text);
    return as->value_json.ptr != NULL;
}

static bool ms_to_ns(int64_t ms, int64_t *ns)
{
    if (ms > INT64_MAX / 1000000 || ms < INT64_MIN / 1000000)
        return false;
    *ns = ms * 1000000;
    return true;
}

/* One assessments row (columns from 1 on, as_cols order); false when out of
 * memory. *keep is false for kinds this model has no place for ("issue"). */
static bool build_assessment(struct sq_state *s, struct msx_arena *a, sqlite3_stmt *st,
                             ms_assessment *as, bool *keep)
{
    memset(as, 0, sizeof *as);
    ms_str type = col_str(st, 1 + AS_TYPE);
    *keep = str_is(type, "feedback") || str_is(type, "expectation");
    if (!*keep)
        return true;
    as->is_expectation = str_is(type, "expectation");
    ms_str empty = {"", 0}, tid = col_str(st, 0);
    as->assessment_id = msi_dup(a, col_str(st, 1 + AS_ID));
    as->name = msi_dup(a, col_str(st, 1 + AS_NAME));
    as->trace_id = msi_dup(a, tid.ptr ? tid : empty);
    as->span_id = msi_dup(a, col_str(st, 1 + AS_SPAN));
    as->source_type = msi_dup(a, col_str(st, 1 + AS_SRC_TYPE));
    as->source_id = msi_dup(a, col_str(st, 1 + AS_SRC_ID));
    if (!col_is_null(st, 1 + AS_CREATED))
        as->has_create_time = ms_to_ns(sqlite3_column_int64(st, 1 + AS_CREATED),
                                       &as->create_time_ns);
    if (!col_is_null(st, 1 + AS_UPDATED))
        as->has_last_update_time = ms_to_ns(sqlite3_column_int64(st, 1 + AS_UPDATED),
                                            &as->last_update_time_ns);
    ms_str ov = col_str(st, 1 + AS_OVERRIDES);
    if (ov.len)
        as->overrides = msi_dup(a, ov);
    as->valid = true;
    if (!col_is_null(st, 1 + AS_VALID)) {
        as->has_valid = true;
        as->valid = sqlite3_column_int64(st, 1 + AS_VALID) != 0;
    }
    /* Expectation() takes neither rationale nor error */
    if (!as->is_expectation) {
        as->rationale = msi_dup(a, col_str(st, 1 + AS_RATIONALE));
        if (!as_error(s, a, col_str(st, 1 + AS_ERROR), as))
            return false;
    }
    return as->assessment_id.ptr && as->name.ptr && as->trace_id.ptr &&
           as_value(s, a, col_str(st, 1 + AS_VALUE), as) &&
           as_metadata(s, a, col_str(st, 1 + AS_META), as);
}

static bool flush_as(struct msx_arena *a, struct vec *v, ms_trace_info *in)
{
    if (!v->n)
        return true;
    in->assessments = msx_arena_calloc(a, v->n, sizeof *in->assessments);
    if (!in->assessments)
        return false;
    memcpy(in->assessments, v->p, v->n * sizeof *in->assessments);
    in->n_assessments = v->n;
    v->n = 0;
    return true;
}

static ms_code load_assessments(struct sq_state *s, ms_trace_set *set,
                                const struct idref *refs, size_t n, struct ms_error *err)
{
    struct msx_arena *a = msi_trace_set_arena(set);
    struct msx_buf head;
    msx_buf_init(&head, MSX_CAP_LINE);
    msx_buf_adds(&head, "SELECT trace_id");
    for (int k = 0; k < AS_N; k++)
        msx_buf_addf(&head, ", %s", s->as[k] ? as_cols[k] : "NULL");
    msx_buf_adds(&head, " FROM assessments WHERE trace_id");
    msx_buf_addc(&head, '\0');
    if (msx_buf_status(&head) != MS_OK) {
        msx_buf_release(&head);
        return nomem(err);
    }
    /* MLflow's query has no ORDER BY; SQLite walks the (trace_id,
     * created_timestamp) index, so that is the order it returns */
    sqlite3_stmt *st = NULL;
    ms_code code = prepare_in(s, head.ptr,
                              s->as[AS_CREATED] ? "ORDER BY trace_id, created_timestamp, rowid"
                                                : "ORDER BY trace_id, rowid",
                              refs, n, &st, err);
    msx_buf_release(&head);
    if (code != MS_OK)
        return code;
    size_t cur = 0, owner = SIZE_MAX;
    struct vec v = {NULL, 0, 0, sizeof(ms_assessment)};
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ms_str id = col_str(st, 0);
        size_t i = id.ptr ? ref_find(refs, n, &cur, id) : SIZE_MAX;
        if (i == SIZE_MAX)
            continue;
        if (i != owner && owner != SIZE_MAX &&
            !flush_as(a, &v, &msi_trace_set_mut(set, owner)->info)) {
            code = nomem(err);
            break;
        }
        owner = i;
        ms_assessment as;
        bool keep;
        if (!build_assessment(s, a, st, &as, &keep) || (keep && !vec_push(&v, &as))) {
            code = nomem(err);
            break;
        }
    }
    if (code == MS_OK && rc != SQLITE_DONE)
        code = sql_fail(s, err);
    if (code == MS_OK && owner != SIZE_MAX &&
        !flush_as(a, &v, &msi_trace_set_mut(set, owner)->info))
        code = nomem(err);
    free(v.p);
    sqlite3_finalize(st);
    return code;
}

/* Tags, metadata and assessments of traces [base, end), in chunks of ids. */
static ms_code load_children(struct sq_state *s, ms_trace_set *set, size_t base,
                             struct ms_error *err)
{
    size_t end = ms_trace_set_count(set);
    struct idref *refs = malloc(CHUNK * sizeof *refs);
    ms_code code = refs ? MS_OK : nomem(err);
    for (size_t c = base; code == MS_OK && c < end; c += CHUNK) {
        size_t n = end - c < CHUNK ? end - c : CHUNK;
        for (size_t k = 0; k < n; k++) {
            const ms_str *id = &msi_trace_set_mut(set, c + k)->info.trace_id;
            refs[k] = (struct idref){id->ptr, id->len, c + k};
        }
        qsort(refs, n, sizeof *refs, idref_cmp);
        if (s->has_tags)
            code = load_kvs(s, set, refs, n, false, err);
        if (code == MS_OK && s->has_meta)
            code = load_kvs(s, set, refs, n, true, err);
        if (code == MS_OK && s->has_assessments)
            code = load_assessments(s, set, refs, n, err);
    }
    free(refs);
    for (size_t i = base; code == MS_OK && i < end; i++)
        usage_from_rows(s, &msi_trace_set_mut(set, i)->info);
    return code;
}

static ms_code bind_all(struct sq_state *s, sqlite3_stmt *st, const struct msi_sql_params *p,
                        struct ms_error *err)
{
    for (size_t k = 0; k < p->n; k++) {
        const struct msi_sql_param *v = &p->v[k];
        int rc = v->type == MSI_SQL_TEXT
                     ? sqlite3_bind_text(st, (int)k + 1, v->text, (int)v->len, SQLITE_TRANSIENT)
                 : v->type == MSI_SQL_INT64 ? sqlite3_bind_int64(st, (int)k + 1, v->i)
                                            : sqlite3_bind_double(st, (int)k + 1, v->d);
        if (rc != SQLITE_OK)
            return sql_fail(s, err);
    }
    return MS_OK;
}

/* An experiment id as MLflow binds it: an integer when it is one (the
 * column is INTEGER), else text (which matches nothing). */
static ms_code push_exp_id(struct msi_sql_params *p, const char *id)
{
    char *end;
    errno = 0;
    long long v = strtoll(id, &end, 10);
    if (*id && *end == '\0' && errno == 0 && (*id == '-' || (*id >= '0' && *id <= '9')))
        return msi_sql_params_add_int(p, v);
    return msi_sql_params_add_text(p, id, strlen(id));
}

/* What the filter compiler may use of this database. */
static struct msi_sql_target sql_target(const struct sq_state *s)
{
    struct msi_sql_target t = {MSI_SQL_SQLITE, s->ti[TI_SESSION], s->has_spans,
                               s->has_assessments, s->ti[TI_NAME], s->has_links,
                               s->as_aggregate, false};
    return t;
}

enum push { PUSH_NONE, PUSH_FILTER, PUSH_ALL };

/* The trace_info query of a chunk of experiment ids, with the filter (and
 * order and page) compiled in as far as asked. MS_E_UNSUPPORTED when the
 * filter or order cannot be compiled for this schema. */
static ms_code info_query(struct sq_state *s, const struct msi_scan *scan,
                          const char *const *ids, size_t n_ids, enum push push,
                          sqlite3_stmt **st, struct ms_error *err)
{
    struct msx_buf sql;
    struct msi_sql_params params;
    struct msi_sql_target tg = sql_target(s);
    struct ms_error ferr = {MS_OK, -1, ""};
    ms_code code = MS_OK;
    msx_buf_init(&sql, MSX_CAP_LINE);
    msi_sql_params_init(&params);
    msx_buf_addf(&sql, "SELECT t.request_id, t.experiment_id, t.timestamp_ms, %s",
                 s->ti_exec ? "t.execution_time_ms" : "NULL");
    for (int k = 0; k < TI_N; k++)
        msx_buf_addf(&sql, ", %s%s", s->ti[k] ? "t." : "NULL AS ", ti_cols[k]);
    /* a filter pinning a tag or metadata value finds its few traces by
     * the key's index; the unary + keeps SQLite (no statistics in MLflow
     * stores) from walking the experiment's index instead */
    bool by_key = push != PUSH_NONE && msi_filter_pins_kv(scan->filter) &&
                  !(tg.has_session_id_column && msi_filter_pins_session(scan->filter));
    msx_buf_adds(&sql, by_key ? " FROM trace_info t WHERE +t.experiment_id IN ("
                              : " FROM trace_info t WHERE t.experiment_id IN (");
    for (size_t i = 0; i < n_ids && code == MS_OK; i++) {
        msx_buf_adds(&sql, i ? ",?" : "?");
        code = push_exp_id(&params, ids[i]);
    }
    msx_buf_addc(&sql, ')');
    if (code == MS_OK && push != PUSH_NONE && scan->filter) {
        msx_buf_adds(&sql, " AND (");
        code = msi_filter_to_sql(scan->filter, &tg, &sql, &params, &ferr);
        msx_buf_addc(&sql, ')');
    }
    if (code == MS_OK && push == PUSH_ALL) {
        /* a session is a few rows: find them by the session index and sort
         * them, rather than walk every trace in time order (no stats in
         * MLflow stores, so SQLite would; bench: 0.41 s -> 16 ms at 1M) */
        tg.order_without_index =
            by_key || (tg.has_session_id_column && msi_filter_pins_session(scan->filter));
        msx_buf_adds(&sql, " ORDER BY ");
        code = msi_order_to_sql(scan->order, &tg, &sql);
        if (code == MS_OK)
            code = msi_sql_params_add_int(&params, scan->limit + 1);
        if (code == MS_OK)
            code = msi_sql_params_add_int(&params, scan->offset);
        msx_buf_adds(&sql, " LIMIT ? OFFSET ?");
    } else
        msx_buf_adds(&sql, " ORDER BY t.request_id");
    msx_buf_addc(&sql, '\0');
    if (code == MS_OK && msx_buf_status(&sql) != MS_OK)
        code = MS_E_NOMEM;
    if (code == MS_OK) {
        /* a compiled filter may name what this schema lacks: fall back */
        if (sqlite3_prepare_v2(s->db, sql.ptr, -1, st, NULL) != SQLITE_OK)
            code = push != PUSH_NONE ? MS_E_UNSUPPORTED : sql_fail(s, err);
        else if ((code = bind_all(s, *st, &params, err)) != MS_OK) {
            sqlite3_finalize(*st);
            *st = NULL;
        }
    } else if (code == MS_E_NOMEM)
        nomem(err);
    else if (code != MS_E_UNSUPPORTED)
        msi_error(err, code, "%s", ferr.msg);
    msx_buf_release(&sql);
    msi_sql_params_release(&params);
    return code;
}

/* Infos of one chunk of experiment ids, then their child rows. *push is
 * lowered when the filter or order cannot be compiled. */
static ms_code scan_chunk(struct sq_state *s, const struct msi_scan *scan,
                          const char *const *ids, size_t n_ids, enum push *push,
                          ms_trace_set *set, struct ms_error *err)
{
    sqlite3_stmt *st = NULL;
    ms_code code;
    while ((code = info_query(s, scan, ids, n_ids, *push, &st, err)) == MS_E_UNSUPPORTED &&
           *push != PUSH_NONE)
        *push = *push == PUSH_ALL && scan->filter ? PUSH_FILTER : PUSH_NONE;
    if (code != MS_OK)
        return code;
    struct msx_buf tmp;
    msx_buf_init(&tmp, MSX_CAP_LINE);
    size_t base = ms_trace_set_count(set);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((code = add_info(s, st, set, &tmp, err)) != MS_OK)
            break;
    if (code == MS_OK && rc != SQLITE_DONE)
        code = sql_fail(s, err);
    sqlite3_finalize(st);
    msx_buf_release(&tmp);
    if (code != MS_OK)
        return code;
    return load_children(s, set, base, err);
}

/* Lists the traces of the asked experiments. The filter, the order and the
 * page go into SQL when they compile for this schema (msi_filter_to_sql);
 * what does not is left to store.c, in memory. The page needs one query,
 * so it is pushed only when the experiment ids fit one IN list. */
static ms_code sq_scan(void *state, struct msi_scan *scan, ms_trace_set *set,
                       struct ms_error *err)
{
    struct sq_state *s = state;
    enum push push = scan->n_experiment_ids <= CHUNK ? PUSH_ALL : PUSH_FILTER;
    if (s->schema_newer && !s->schema_noticed) {
        msi_trace_set_notice(set,
                             "%s: schema revision %s is newer than this mlsession knows "
                             "(mlflow 3.17.2); reading what it knows",
                             s->path, s->schema_rev);
        s->schema_noticed = true;
    }
    for (size_t i = 0; i < scan->n_experiment_ids; i += CHUNK) {
        size_t n = scan->n_experiment_ids - i < CHUNK ? scan->n_experiment_ids - i : CHUNK;
        ms_code code = scan_chunk(s, scan, scan->experiment_ids + i, n, &push, set, err);
        if (code != MS_OK)
            return code;
    }
    scan->filter_done = push != PUSH_NONE || !scan->filter;
    scan->page_done = push == PUSH_ALL;
    scan->token_when_full = true; /* as MLflow's SQL store: a full page gets a token */
    return MS_OK;
}

/* ---- spans --------------------------------------------------------------- */

static const ms_kv *tag_of(const ms_trace_info *in, const char *key)
{
    for (size_t k = 0; k < in->n_tags; k++)
        if (str_is(in->tags[k].key, key))
            return &in->tags[k];
    return NULL;
}

/* Spans collected for one trace, moved to the arena when it is complete. */
static bool flush_spans(struct msx_arena *a, struct vec *v, ms_trace *t)
{
    if (!v->n)
        return true;
    t->spans = msx_arena_calloc(a, v->n, sizeof *t->spans);
    if (!t->spans)
        return false;
    memcpy(t->spans, v->p, v->n * sizeof *t->spans);
    t->n_spans = v->n;
    v->n = 0;
    return true;
}

/* Decodes one span JSON text into v. A malformed span is skipped with a
 * note (one bad row does not hide the rest); only running out of memory
 * or the cap fails. */
static ms_code decode_one(struct sq_state *s, struct msx_arena *a, ms_str id, msx_json v,
                          struct vec *out, struct ms_error *err)
{
    struct ms_error derr = {MS_OK, -1, ""};
    struct msi_decoder d = {a, s->inner, &derr};
    ms_span span;
    ms_code code = msi_decode_span(&d, v, &span);
    s->inner = d.inner;
    if (code == MS_E_NOMEM)
        return nomem(err);
    if (code != MS_OK) {
        note(s, "%s: a span was skipped: %s", id.ptr, derr.msg);
        return MS_OK;
    }
    if (out->n >= MSI_MAX_SPANS_PER_TRACE)
        return msi_error(err, MS_E_TOOBIG, "%s: more spans than the cap of %d", id.ptr,
                         MSI_MAX_SPANS_PER_TRACE);
    if (!vec_push(out, &span))
        return nomem(err);
    return MS_OK;
}

/* Spans from the spans table for the traces listed in refs (sorted by id),
 * in MLflow's order: roots first, then by start time (the sort in
 * _get_spans_with_trace_info; ties keep the primary-key order). Rows with
 * an empty content were archived and are skipped as MLflow does. */
static ms_code table_spans(struct sq_state *s, ms_trace_set *set, const struct idref *refs,
                           size_t n, struct ms_error *err)
{
    struct msx_arena *a = msi_trace_set_arena(set);
    struct msx_buf sql;
    msx_buf_init(&sql, MSX_CAP_LINE);
    msx_buf_adds(&sql, "SELECT trace_id, content FROM spans WHERE trace_id IN (");
    add_params(&sql, 1, n);
    msx_buf_addf(&sql, ") ORDER BY trace_id%s%s", s->sp_parent ? ", parent_span_id IS NOT NULL" : "",
                 s->sp_start ? ", start_time_unix_nano, span_id" : "");
    msx_buf_addc(&sql, '\0');
    sqlite3_stmt *st = NULL;
    if (msx_buf_status(&sql) != MS_OK) {
        msx_buf_release(&sql);
        return nomem(err);
    }
    int rc = sqlite3_prepare_v2(s->db, sql.ptr, -1, &st, NULL);
    msx_buf_release(&sql);
    if (rc != SQLITE_OK)
        return sql_fail(s, err);
    for (size_t k = 0; k < n; k++)
        sqlite3_bind_text(st, (int)k + 1, refs[k].id, (int)refs[k].len, SQLITE_STATIC);
    struct vec v = {NULL, 0, 0, sizeof(ms_span)};
    size_t cur = 0, owner = SIZE_MAX;
    ms_code code = MS_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ms_str id = col_str(st, 0), content = col_str(st, 1);
        if (!id.ptr || !content.ptr || !content.len)
            continue;
        while (cur < n && bin_cmp(refs[cur].id, refs[cur].len, id.ptr, id.len) < 0)
            cur++;
        if (cur == n || bin_cmp(refs[cur].id, refs[cur].len, id.ptr, id.len) != 0)
            continue;
        if (refs[cur].i != owner && owner != SIZE_MAX &&
            !flush_spans(a, &v, msi_trace_set_mut(set, owner))) {
            code = nomem(err);
            break;
        }
        owner = refs[cur].i;
        msx_json root;
        struct ms_error perr;
        if (msx_json_parse(s->parser, content.ptr, content.len, false, &root, &perr) != MS_OK) {
            note(s, "%s: a span row is not JSON: %s", refs[cur].id, perr.msg);
            continue;
        }
        if ((code = decode_one(s, a, (ms_str){refs[cur].id, refs[cur].len}, root, &v, err)) !=
            MS_OK)
            break;
    }
    if (code == MS_OK && rc != SQLITE_DONE)
        code = sql_fail(s, err);
    if (code == MS_OK && owner != SIZE_MAX && !flush_spans(a, &v, msi_trace_set_mut(set, owner)))
        code = nomem(err);
    free(v.p);
    sqlite3_finalize(st);
    return code;
}

/* The directory of a trace's artifacts: tag mlflow.artifactLocation, or the
 * experiment's artifact_location + /traces/<id>/artifacts (MLflow's
 * layout). file:// URIs become paths; other schemes (mlflow-artifacts:,
 * s3:) cannot be read from here. New malloc'd string or NULL. */
static char *artifact_dir(struct sq_state *s, const ms_trace_info *in)
{
    const ms_kv *tag = tag_of(in, ARTIFACT_LOCATION_TAG);
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_LINE);
    if (tag && tag->value.len)
        msx_buf_add(&b, tag->value.ptr, tag->value.len);
    else if (s->exp_artifact) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(s->db,
                               "SELECT artifact_location FROM experiments WHERE experiment_id = ?1",
                               -1, &st, NULL) != SQLITE_OK)
            return NULL;
        bind_exp_id(st, 1, in->experiment_id.ptr);
        if (sqlite3_step(st) == SQLITE_ROW) {
            ms_str loc = col_str(st, 0);
            if (loc.ptr && loc.len)
                msx_buf_addf(&b, "%.*s/traces/%s/artifacts", (int)loc.len, loc.ptr,
                             in->trace_id.ptr);
        }
        sqlite3_finalize(st);
    }
    msx_buf_addc(&b, '\0');
    if (msx_buf_status(&b) != MS_OK || b.len <= 1) {
        msx_buf_release(&b);
        return NULL;
    }
    char *p = msx_buf_take(&b, NULL);
    msx_buf_release(&b);
    if (strncmp(p, "file://", 7) == 0)
        memmove(p, p + 7, strlen(p + 7) + 1);
    else if (strncmp(p, "file:", 5) == 0)
        memmove(p, p + 5, strlen(p + 5) + 1);
    return p;
}

/* The traces.json of a recorded artifact directory. MLflow records
 * absolute paths of the machine that wrote the store; when such a path
 * does not exist here (a store copied or moved), the part from the last
 * "mlruns/" component on is taken relative to the directory holding the .db
 * file: /old/place/mlruns/1/traces/<id>/artifacts ->
 * <db dir>/mlruns/1/traces/<id>/artifacts. New string or NULL. */
static char *traces_json_path(struct sq_state *s, const char *dir)
{
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_LINE);
    msx_buf_addf(&b, "%s/traces.json", dir);
    msx_buf_addc(&b, '\0');
    if (msx_buf_status(&b) != MS_OK) {
        msx_buf_release(&b);
        return NULL;
    }
    if (exists(b.ptr, NULL))
        return msx_buf_take(&b, NULL);
    const char *rest = NULL;
    for (const char *p = dir; (p = strstr(p, "mlruns/")) != NULL; p++)
        if (p == dir || p[-1] == '/')
            rest = p;
    if (!rest) {
        msx_buf_release(&b);
        return NULL;
    }
    msx_buf_reset(&b);
    msx_buf_addf(&b, "%s/%s/traces.json", s->dir, rest);
    msx_buf_addc(&b, '\0');
    if (msx_buf_status(&b) != MS_OK || !exists(b.ptr, NULL)) {
        msx_buf_release(&b);
        return NULL;
    }
    return msx_buf_take(&b, NULL);
}

static char *read_small_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct msx_buf b;
    msx_buf_init(&b, MAX_ARTIFACT_BYTES);
    char tmp[65536];
    size_t got;
    while ((got = fread(tmp, 1, sizeof tmp, f)) > 0 && msx_buf_status(&b) == MS_OK)
        msx_buf_add(&b, tmp, got);
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad || msx_buf_status(&b) != MS_OK) {
        msx_buf_release(&b);
        return NULL;
    }
    *len = b.len;
    msx_buf_addc(&b, '\0');
    char *p = msx_buf_take(&b, NULL);
    msx_buf_release(&b);
    return p;
}

/* Spans of trace i from its traces.json artifact ({"spans": [...]}), in
 * file order. Anything missing or unreadable leaves the trace without spans
 * and a note; only memory and caps fail. */
static ms_code artifact_spans(struct sq_state *s, ms_trace_set *set, size_t i,
                              struct ms_error *err)
{
    struct msx_arena *a = msi_trace_set_arena(set);
    ms_trace *t = msi_trace_set_mut(set, i);
    const char *id = t->info.trace_id.ptr;
    char *dir = artifact_dir(s, &t->info);
    if (!dir) {
        note(s, "%s: spans unavailable: no artifact location", id);
        return MS_OK;
    }
    if (strstr(dir, "://") || (dir[0] != '/' && strchr(dir, ':'))) {
        note(s, "%s: spans unavailable: artifacts at %s are not local", id, dir);
        free(dir);
        return MS_OK;
    }
    char *path = traces_json_path(s, dir);
    if (!path) {
        note(s, "%s: spans unavailable: no traces.json under %s", id, dir);
        free(dir);
        return MS_OK;
    }
    free(dir);
    size_t len = 0;
    char *text = read_small_file(path, &len);
    if (!text) {
        note(s, "%s: spans unavailable: cannot read %s", id, path);
        free(path);
        return MS_OK;
    }
    msx_json root;
    struct ms_error perr;
    ms_code code = MS_OK;
    if (msx_json_parse(s->parser, text, len, false, &root, &perr) != MS_OK) {
        note(s, "%s: spans unavailable: %s is not JSON", id, path);
    } else {
        msx_json arr = msx_json_get(root, "spans");
        if (msx_json_type(arr) != MSX_JSON_ARRAY)
            note(s, "%s: spans unavailable: %s has no spans array", id, path);
        else {
            struct vec v = {NULL, 0, 0, sizeof(ms_span)};
            struct msx_json_iter it = msx_json_iter_init(arr);
            ms_str k;
            msx_json e;
            while (code == MS_OK && msx_json_next(&it, &k, &e))
                code = decode_one(s, a, t->info.trace_id, e, &v, err);
            if (code == MS_OK && !flush_spans(a, &v, msi_trace_set_mut(set, i)))
                code = nomem(err);
            free(v.p);
        }
    }
    free(text);
    free(path);
    return code;
}

/* Spans of traces [from, to). Where MLflow looks (tag
 * mlflow.trace.spansLocation): TRACKING_STORE -> the spans table, anything
 * else -> the traces.json artifact. If that source gives nothing, the other
 * one is tried (3.5.0 wrote both but no tag; a crashed 3.17 trace may have
 * rows without the tag). */
static ms_code sq_load_spans_inner(void *state, ms_trace_set *set, size_t from, size_t to,
                             struct ms_error *err)
{
    struct sq_state *s = state;
    ms_code code = MS_OK;
    struct idref *refs = NULL;
    if (to > ms_trace_set_count(set))
        to = ms_trace_set_count(set);
    if (from >= to)
        return MS_OK;
    for (size_t i = from; i < to; i++) {
        ms_trace *t = msi_trace_set_mut(set, i);
        t->spans = NULL;
        t->n_spans = 0;
    }
    if (s->has_spans && !(refs = malloc(CHUNK * sizeof *refs)))
        return nomem(err);
    /* pass 0: table for TRACKING_STORE traces; pass 1: artifacts for the
     * rest and for those the table left empty; pass 2: the table for the
     * ones still empty that pass 0 did not ask */
    for (int pass = 0; pass < 3 && code == MS_OK; pass++) {
        if (pass != 1 && !s->has_spans)
            continue;
        size_t n = 0;
        for (size_t i = from; i < to && code == MS_OK; i++) {
            ms_trace *t = msi_trace_set_mut(set, i);
            const ms_kv *loc = tag_of(&t->info, SPANS_LOCATION_TAG);
            bool in_table = loc && str_is(loc->value, "TRACKING_STORE");
            if (t->n_spans)
                continue;
            if (pass == 1) {
                code = artifact_spans(s, set, i, err);
                continue;
            }
            if (in_table != (pass == 0))
                continue;
            refs[n++] = (struct idref){t->info.trace_id.ptr, t->info.trace_id.len, i};
            if (n == CHUNK || i + 1 == to) {
                qsort(refs, n, sizeof *refs, idref_cmp);
                code = table_spans(s, set, refs, n, err);
                n = 0;
            }
        }
        if (code == MS_OK && n) {
            qsort(refs, n, sizeof *refs, idref_cmp);
            code = table_spans(s, set, refs, n, err);
        }
    }
    free(refs);
    return code;
}

/* Notes about unreadable spans go to the set being filled, and only there. */
static ms_code sq_load_spans(void *state, ms_trace_set *set, size_t from, size_t to,
                             struct ms_error *err)
{
    struct sq_state *s = state;
    s->note_set = set;
    ms_code rc = sq_load_spans_inner(state, set, from, to, err);
    s->note_set = NULL;
    return rc;
}


/* ---- sessions: one lean scan ------------------------------------------- */

/* The trace_info columns only (a sequential walk of one table); the
 * session from the column, or for the few traces without one from their
 * metadata/tags; users are filled later for the sessions kept
 * (sq_user_fill). Needs MLflow >= 3.17's session and token columns. */
enum { SS_ID, SS_EXP, SS_TS, SS_EXEC, SS_STATUS, SS_SESSION, SS_ALT, SS_LEGACY, SS_TIN,
       SS_TOUT, SS_TTOT, SS_TCACHE, SS_COST, SS_REQ, SS_RESP, SS_SPAN, SS_ATOMS };


/* [session.id, gen_ai.conversation.id, user.id] of a root span, each the
 * attribute's JSON-encoded string or null: the session and user of a
 * trace that has no session column. Points into the parser's memory. */
static void span_session(struct sq_state *s, ms_str arr, struct msi_session_row *r)
{
    msx_json v;
    if (!arr.len || msx_json_parse(s->parser, arr.ptr, arr.len, false, &v, NULL) != MS_OK)
        return;
    for (int k = 0; k < 3; k++) {
        ms_attr a = {{NULL, 0}, msx_json_str(msx_json_at(v, (size_t)k)), MS_VAL_STRING};
        ms_str text = a.value.len ? msi_attr_text(&a) : a.value;
        if (k < 2 && !r->session_id.len)
            r->session_id = text;
        else if (k == 2)
            r->user_id = text;
    }
}

/* Users of the sessions kept, from each one's first turn: one statement
 * over a JSON array of their trace ids (metadata, else tag). */
static ms_code sq_user_fill(void *state, ms_session_summary *items, size_t n,
                            struct msx_arena *a, struct ms_error *err)
{
    struct sq_state *s = state;
    if (!n)
        return MS_OK;
    struct msx_buf ids;
    msx_buf_init(&ids, MSX_CAP_FILE);
    msx_buf_addc(&ids, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            msx_buf_addc(&ids, ',');
        msx_buf_addc(&ids, '"');
        msx_json_escape(&ids, items[i].first_trace_id.ptr, items[i].first_trace_id.len, false);
        msx_buf_addc(&ids, '"');
    }
    msx_buf_addc(&ids, ']');
    if (msx_buf_status(&ids) != MS_OK) {
        msx_buf_release(&ids);
        return nomem(err);
    }
    static const char q[] =
        "SELECT j.key, coalesce((SELECT value FROM trace_request_metadata m WHERE m.key = "
        "'mlflow.trace.user' AND m.request_id = j.value), (SELECT value FROM trace_tags g "
        "WHERE g.key = 'mlflow.trace.user' AND g.request_id = j.value)) FROM json_each(?) j";
    sqlite3_stmt *st = NULL;
    ms_code code = MS_OK;
    int rc;
    if (sqlite3_prepare_v2(s->db, q, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_text(st, 1, ids.ptr, (int)ids.len, SQLITE_STATIC) != SQLITE_OK)
        code = sql_fail(s, err);
    while (code == MS_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t i = sqlite3_column_int64(st, 0);
        ms_str u = col_str(st, 1);
        if (i < 0 || (size_t)i >= n || !u.len)
            continue;
        items[i].user_id = msi_dup(a, u);
        if (!items[i].user_id.ptr)
            code = nomem(err);
    }
    if (code == MS_OK && rc != SQLITE_DONE)
        code = sql_fail(s, err);
    sqlite3_finalize(st);
    msx_buf_release(&ids);
    return code;
}

static ms_code sq_session_scan(void *state, const struct msi_session_scan *scan,
                               struct msi_sacc *acc, struct ms_error *err)
{
    struct sq_state *s = state;
    if (!s->ti[TI_SESSION] || !s->ti_exec || !s->ti[TI_TOK0] || !s->ti[TI_TOK0 + 1] ||
        !s->ti[TI_TOK0 + 2] || !s->ti[TI_TOK0 + 3] || !s->ti[TI_COST0 + 2] || !s->has_tags ||
        !s->has_meta)
        return MS_E_UNSUPPORTED;
    struct msx_buf sql;
    struct msi_sql_params params;
    struct msi_sql_target tg = sql_target(s);
    struct ms_error ferr = {MS_OK, -1, ""};
    ms_code code = MS_OK;
    size_t n_atoms = scan->filter ? ms_sfilter_atom_count(scan->filter) : 0;
    msx_buf_init(&sql, MSX_CAP_LINE);
    msi_sql_params_init(&params);
    msx_buf_adds(&sql,
                 "SELECT t.request_id, t.experiment_id, t.timestamp_ms, t.execution_time_ms, "
                 "t.status, t.session_id, "
                 "CASE WHEN t.session_id IS NULL THEN coalesce("
                 "(SELECT value FROM trace_request_metadata m WHERE m.key = "
                 "'mlflow.trace.session' AND m.request_id = t.request_id), "
                 "(SELECT value FROM trace_tags g WHERE g.key = 'mlflow.trace.session' "
                 "AND g.request_id = t.request_id)) END, "
                 "CASE WHEN t.session_id IS NULL THEN (SELECT value FROM trace_tags g WHERE "
                 "g.key = 'session_id' AND g.request_id = t.request_id) END, "
                 "t.input_tokens, t.output_tokens, t.total_tokens, t.cache_read_input_tokens, "
                 "t.total_cost, t.request_preview, t.response_preview, ");
    /* a trace with no session column may name one in its root span's
     * attributes (its earliest span when the root never ended) */
    if (s->has_spans && s->sp_parent && s->sp_start)
        msx_buf_adds(&sql,
                     "CASE WHEN t.session_id IS NULL THEN (SELECT json_array("
                     "json_extract(s.content, '$.attributes.\"session.id\"'), "
                     "json_extract(s.content, '$.attributes.\"gen_ai.conversation.id\"'), "
                     "json_extract(s.content, '$.attributes.\"user.id\"')) FROM spans s "
                     "WHERE s.trace_id = t.request_id AND json_valid(s.content) "
                     "ORDER BY s.parent_span_id IS NOT NULL, s.start_time_unix_nano LIMIT 1) END");
    else
        msx_buf_adds(&sql, "NULL");
    for (size_t i = 0; i < n_atoms && code == MS_OK; i++) {
        msx_buf_adds(&sql, ", (");
        code = msi_sfilter_atom_sql(scan->filter, i, &tg, &sql, &params, &ferr);
        msx_buf_addc(&sql, ')');
    }
    /* every row of the experiments: a walk of the table in file order
     * (the unary + keeps SQLite off the experiment index, whose order
     * scatters the reads through the whole file) */
    msx_buf_adds(&sql, " FROM trace_info t WHERE +t.experiment_id IN (");
    for (size_t i = 0; i < scan->n_experiment_ids && code == MS_OK; i++) {
        msx_buf_adds(&sql, i ? ",?" : "?");
        code = push_exp_id(&params, scan->experiment_ids[i]);
    }
    msx_buf_addc(&sql, ')');
    msx_buf_addc(&sql, '\0');
    if (code == MS_OK && msx_buf_status(&sql) != MS_OK)
        code = MS_E_NOMEM;
    sqlite3_stmt *st = NULL;
    if (code == MS_OK && sqlite3_prepare_v2(s->db, sql.ptr, -1, &st, NULL) != SQLITE_OK)
        code = MS_E_UNSUPPORTED; /* an atom this schema cannot answer */
    if (code == MS_OK)
        code = bind_all(s, st, &params, err);
    msx_buf_release(&sql);
    msi_sql_params_release(&params);
    if (code != MS_OK) {
        sqlite3_finalize(st);
        return code == MS_E_NOMEM ? nomem(err) : code;
    }
    /* the root-span attributes session.id / gen_ai.conversation.id are
     * not read here: MLflow >= 3.17 copies them into the column itself */
    int rc;
    char exp[24] = "";
    int64_t last_exp = 0;
    while (code == MS_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct msi_session_row r = {0};
        r.trace_id = col_str(st, SS_ID);
        int64_t e = sqlite3_column_int64(st, SS_EXP);
        if (e != last_exp || !exp[0]) {
            snprintf(exp, sizeof exp, "%lld", (long long)e);
            last_exp = e;
        }
        r.experiment_id = (ms_str){exp, strlen(exp)};
        r.start_ms = sqlite3_column_int64(st, SS_TS);
        r.latency_ms = col_is_null(st, SS_EXEC) ? -1 : sqlite3_column_int64(st, SS_EXEC);
        r.state = state_of(col_str(st, SS_STATUS));
        r.session_id = col_str(st, SS_SESSION);
        if (!r.session_id.len) {
            r.session_id = col_str(st, SS_ALT);
            if (!r.session_id.len)
                r.session_id = col_str(st, SS_LEGACY);
            if (!r.session_id.len)
                span_session(s, col_str(st, SS_SPAN), &r);
        }
        static const unsigned bits[4] = {MS_USAGE_INPUT, MS_USAGE_OUTPUT, MS_USAGE_TOTAL,
                                         MS_USAGE_CACHE_READ};
        int64_t *f[4] = {&r.usage.input_tokens, &r.usage.output_tokens, &r.usage.total_tokens,
                         &r.usage.cache_read_input_tokens};
        for (int k = 0; k < 4; k++)
            if (sqlite3_column_type(st, SS_TIN + k) == SQLITE_INTEGER) {
                *f[k] = sqlite3_column_int64(st, SS_TIN + k);
                r.usage.present |= bits[k];
            }
        if (!col_is_null(st, SS_COST)) {
            r.cost = sqlite3_column_double(st, SS_COST);
            r.has_cost = true;
        }
        r.request_preview = col_str(st, SS_REQ);
        r.response_preview = col_str(st, SS_RESP);
        for (size_t i = 0; i < n_atoms; i++)
            if (sqlite3_column_int64(st, SS_ATOMS + (int)i))
                r.atoms |= (uint64_t)1 << i;
        code = msi_sacc_add(acc, &r);
        if (code != MS_OK)
            nomem(err);
    }
    if (code == MS_OK && rc != SQLITE_DONE)
        code = sql_fail(s, err);
    sqlite3_finalize(st);
    if (code != MS_OK)
        return code;
    /* session-level assessments name their session in their metadata */
    if (s->has_assessments && s->as[AS_META]) {
        static const char q[] =
            "SELECT a.assessment_metadata, a.name, a.value, a.error, a.rationale, "
            "a.last_updated_timestamp, a.valid, a.assessment_type FROM assessments a "
            "WHERE a.assessment_metadata LIKE '%mlflow.trace.session%'";
        if (sqlite3_prepare_v2(s->db, q, -1, &st, NULL) != SQLITE_OK)
            return sql_fail(s, err);
        msx_json v;
        while (code == MS_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            ms_str meta = col_str(st, 0);
            if (!meta.len || str_is(col_str(st, 7), "expectation") ||
                (!col_is_null(st, 6) && !sqlite3_column_int(st, 6)))
                continue;
            if (msx_json_parse(s->parser, meta.ptr, meta.len, false, &v, NULL) != MS_OK)
                continue;
            msx_json sv = msx_json_get(v, "mlflow.trace.session");
            ms_str sid = msx_json_str(sv);
            if (!sid.len)
                continue;
            ms_str error = col_str(st, 3);
            bool failed = error.len && !str_is(error, "null");
            code = msi_sacc_add_score(acc, sid, col_str(st, 1),
                                      failed ? (ms_str){NULL, 0} : col_str(st, 2), failed,
                                      failed ? error : col_str(st, 4),
                                      sqlite3_column_int64(st, 5));
            if (code != MS_OK)
                nomem(err);
        }
        if (code == MS_OK && rc != SQLITE_DONE)
            code = sql_fail(s, err);
        sqlite3_finalize(st);
    }
    if (code == MS_OK)
        msi_sacc_set_user_fill(acc, sq_user_fill, s);
    return code;
}

const struct msi_store_ops msi_store_sqlite = {
    2, "sqlite", sq_open, sq_close, sq_experiments, sq_scan, sq_load_spans, sq_session_scan,
};
