/* SPDX-License-Identifier: MIT
 *
 * The PostgreSQL backend: MLflow's SQLAlchemy tracking store on PostgreSQL
 * (postgresql://user:pass@host:port/db, or SQLAlchemy's
 * postgresql+psycopg2://...), read-only, through libpq. It is the twin of
 * store_sqlite.c: the same queries, the same reconstruction of what MLflow
 * 3.17.2's API returns (promoted columns become metadata and tags, assessments
 * built as SqlAssessments.to_mlflow_entity() does), the same pushdown of
 * filter, order and page through filter/filter_sql.h (dialect
 * MSI_SQL_POSTGRES). What differs between the two databases is kept in the
 * "dialect" section below: $n placeholders, byte-order collation for the
 * merges in C (COLLATE "C"), the physical row order (ctid for SQLite's
 * rowid), text results parsed into numbers, information_schema for PRAGMA
 * table_info.
 *
 * Read-only three ways: the session runs with default_transaction_read_only,
 * all reads happen in one REPEATABLE READ READ ONLY transaction (one snapshot
 * for infos and spans) that is rolled back at close, and no SQL text ever
 * holds a value: every value goes through PQexecParams.
 *
 * The password of the URI never appears in an error message: messages name
 * the server as user@host:port/db, and any text from libpq is scrubbed of it.
 *
 * Only this file sees libpq-fe.h. It never prints, exits or writes.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libpq-fe.h>

#include "json/json.h"
#include "json/json_write.h"
#include "filter/filter_sql.h"
#include "model/model.h"
#include "store/store.h"
#include "util/buf.h"

/* Bound parameters per IN (...) list: MLflow's own child-query batch size. */
#define CHUNK 500
/* A traces.json bigger than this is not read (its trace keeps no spans). */
#define MAX_ARTIFACT_BYTES ((size_t)1 << 30)
#define CONNECT_TIMEOUT_S "10"

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

struct pg_state {
    PGconn *db;
    char *where;    /* user@host:port/db: names the store in messages */
    char *password; /* only to scrub it from libpq's messages */
    PGresult *cols; /* (table_name, column_name) of the tables read */
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
};

/* One row of a result: libpq hands the whole result at once. */
struct row {
    PGresult *r;
    int i;
};

static ms_code nomem(struct ms_error *err)
{
    return msi_error(err, MS_E_NOMEM, "out of memory");
}

/* libpq's message, first line, with the password (if any) blanked out. */
static void scrub(const struct pg_state *s, const char *in, char *out, size_t cap)
{
    size_t n = 0, pl = s && s->password ? strlen(s->password) : 0;
    for (const char *p = in ? in : ""; *p && *p != '\n' && n + 1 < cap;) {
        if (pl && strncmp(p, s->password, pl) == 0) {
            for (const char *q = "***"; *q && n + 1 < cap; q++)
                out[n++] = *q;
            p += pl;
        } else
            out[n++] = *p++;
    }
    out[n] = '\0';
}

static ms_code pq_fail(struct pg_state *s, const PGresult *r, struct ms_error *err)
{
    char msg[200];
    scrub(s, r ? PQresultErrorMessage(r) : PQerrorMessage(s->db), msg, sizeof msg);
    if (!msg[0])
        scrub(s, PQerrorMessage(s->db), msg, sizeof msg);
    return msi_error(err, MS_E_STORE, "%s: %s", s->where, msg);
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void note(struct pg_state *s, const char *fmt, ...)
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

/* ---- dialect: everything PostgreSQL does otherwise than SQLite ---------- */

/* Byte order (SQLite's BINARY collation) for the ORDER BYs the C merges
 * rely on; a database's own collation (en_US...) would not be memcmp. */
#define BYTES " COLLATE \"C\""
/* The physical row order SQLite's rowid gives (an unordered seq scan). */
#define ROW_ORDER "ctid"

/* "$first, $first+1 ..." for n parameters. */
static void add_params(struct msx_buf *b, int first, size_t n)
{
    for (size_t i = 0; i < n; i++)
        msx_buf_addf(b, "%s$%d", i ? "," : "", first + (int)i);
}

/* Runs sql with params (may be NULL) as text; the result must have tuples. */
static ms_code run(struct pg_state *s, const char *sql, const struct msi_sql_params *p,
                   PGresult **out, struct ms_error *err)
{
    enum { INT8OID = 20, FLOAT8OID = 701 };
    size_t n = p ? p->n : 0;
    const char **vals = NULL;
    Oid *types = NULL;
    char *nums = NULL; /* text of the numeric parameters, 32 bytes each */
    *out = NULL;
    if (n > 65535)
        return msi_error(err, MS_E_TOOBIG, "%s: too many query parameters", s->where);
    if (n && (!(vals = calloc(n, sizeof *vals)) || !(types = calloc(n, sizeof *types)) ||
              !(nums = malloc(n * 32)))) {
        free(vals);
        free(types);
        return nomem(err);
    }
    for (size_t k = 0; k < n; k++) {
        const struct msi_sql_param *v = &p->v[k];
        char *t = nums + k * 32;
        if (v->type == MSI_SQL_TEXT) {
            vals[k] = v->text;
            types[k] = 0; /* unknown: typed by its context, as psycopg2's literals */
        } else if (v->type == MSI_SQL_INT64) {
            snprintf(t, 32, "%lld", (long long)v->i);
            vals[k] = t;
            types[k] = INT8OID;
        } else {
            snprintf(t, 32, "%.17g", v->d);
            vals[k] = t;
            types[k] = FLOAT8OID;
        }
    }
    PGresult *r = PQexecParams(s->db, sql, (int)n, types, vals, NULL, NULL, 0);
    free(vals);
    free(types);
    free(nums);
    if (!r)
        return pq_fail(s, NULL, err);
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
        ms_code code = pq_fail(s, r, err);
        PQclear(r);
        return code;
    }
    *out = r;
    return MS_OK;
}

static ms_code run_cmd(struct pg_state *s, const char *sql, struct ms_error *err)
{
    PGresult *r;
    ms_code code = run(s, sql, NULL, &r, err);
    PQclear(r);
    return code;
}

/* ---- column helpers ----------------------------------------------------- */

static ms_str col_str(const struct row *st, int i)
{
    ms_str r = {NULL, 0};
    if (PQgetisnull(st->r, st->i, i))
        return r;
    r.ptr = PQgetvalue(st->r, st->i, i);
    r.len = (size_t)PQgetlength(st->r, st->i, i);
    return r;
}

static bool col_is_null(const struct row *st, int i)
{
    return PQgetisnull(st->r, st->i, i) != 0;
}

/* Integer columns come as decimal text; a boolean as t/f. */
static int64_t col_int64(const struct row *st, int i)
{
    const char *p = PQgetvalue(st->r, st->i, i);
    if (*p == 't')
        return 1;
    if (*p == 'f')
        return 0;
    return strtoll(p, NULL, 10);
}

static double col_double(const struct row *st, int i)
{
    return strtod(PQgetvalue(st->r, st->i, i), NULL);
}

/* An integer column's value, or a float one holding an exact integer
 * (token_count_or_none); false otherwise. */
static bool col_exact_int(const struct row *st, int i, int64_t *v)
{
    const char *p = PQgetvalue(st->r, st->i, i);
    char *end;
    errno = 0;
    long long x = strtoll(p, &end, 10);
    if (*p && *end == '\0' && errno == 0) {
        *v = x;
        return true;
    }
    double d = strtod(p, &end);
    if (*end || !(d >= -9223372036854775808.0 && d < 9223372036854775808.0) ||
        d != (double)(int64_t)d)
        return false;
    *v = (int64_t)d;
    return true;
}

/* byte order, as the COLLATE "C" results come */
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

/* ---- open --------------------------------------------------------------- */

static bool exists(const char *path, off_t *size)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return false;
    if (size)
        *size = st.st_size;
    return true;
}

/* Fills present[i] for each name of cols in table; returns whether the
 * table exists (has a column this role can see). */
static void table_cols(struct pg_state *s, const char *table, const char *const *cols, size_t n,
                       bool *present, bool *exists_out)
{
    *exists_out = false;
    for (size_t i = 0; i < n; i++)
        present[i] = false;
    for (int r = 0; r < PQntuples(s->cols); r++) {
        if (strcmp(PQgetvalue(s->cols, r, 0), table) != 0)
            continue;
        const char *name = PQgetvalue(s->cols, r, 1);
        *exists_out = true;
        for (size_t i = 0; i < n; i++)
            if (strcmp(name, cols[i]) == 0)
                present[i] = true;
    }
}

static ms_code introspect(struct pg_state *s, struct ms_error *err)
{
    static const char *const base_ti[] = {"request_id", "experiment_id", "timestamp_ms",
                                          "execution_time_ms"};
    static const char *const exp_cols[] = {"experiment_id", "name", "artifact_location",
                                           "lifecycle_stage"};
    static const char *const kv_cols[] = {"request_id", "key", "value"};
    static const char *const span_cols[] = {"trace_id", "content", "parent_span_id",
                                            "start_time_unix_nano", "span_id"};
    static const char *const tables[] = {"trace_info",  "experiments", "trace_tags",
                                         "trace_request_metadata", "assessments",
                                         "entity_associations", "spans"};
    struct msi_sql_params p;
    msi_sql_params_init(&p);
    for (size_t k = 0; k < sizeof tables / sizeof *tables; k++)
        if (msi_sql_params_add_text(&p, tables[k], strlen(tables[k])) != MS_OK) {
            msi_sql_params_release(&p);
            return nomem(err);
        }
    ms_code rc = run(s,
                     "SELECT table_name::text, column_name::text FROM information_schema.columns"
                     " WHERE table_schema = current_schema() AND table_name IN"
                     " ($1,$2,$3,$4,$5,$6,$7)",
                     &p, &s->cols, err);
    msi_sql_params_release(&p);
    if (rc != MS_OK)
        return rc;
    bool b[5], ex_ti, ex_exp, ex;
    table_cols(s, "trace_info", base_ti, 4, b, &ex_ti);
    bool ti_ok = ex_ti && b[0] && b[1] && b[2];
    s->ti_exec = b[3];
    table_cols(s, "experiments", exp_cols, 4, b, &ex_exp);
    if (!ti_ok || !ex_exp || !b[0])
        return msi_error(err, MS_E_UNSUPPORTED, "%s: not an mlflow tracking database",
                         s->where);
    s->exp_name = b[1];
    s->exp_artifact = b[2];
    s->exp_stage = b[3];
    table_cols(s, "trace_info", ti_cols, TI_N, s->ti, &ex);
    table_cols(s, "trace_tags", kv_cols, 3, b, &ex);
    s->has_tags = b[0] && b[1] && b[2];
    table_cols(s, "trace_request_metadata", kv_cols, 3, b, &ex);
    s->has_meta = b[0] && b[1] && b[2];
    table_cols(s, "assessments", as_cols, AS_N, s->as, &ex);
    /* the columns without which an assessment means nothing */
    s->has_assessments = ex && s->as[AS_ID] && s->as[AS_NAME] && s->as[AS_TYPE] &&
                         s->as[AS_VALUE];
    {
        static const char *const tid[] = {"trace_id"};
        bool t;
        table_cols(s, "assessments", tid, 1, &t, &ex);
        s->has_assessments = s->has_assessments && t;
    }
    {
        static const char *const agg[] = {"aggregate_value", "is_numeric_value"};
        static const char *const links[] = {"source_id", "destination_id"};
        bool t[2];
        table_cols(s, "assessments", agg, 2, t, &ex);
        s->as_aggregate = t[0] && t[1];
        table_cols(s, "entity_associations", links, 2, t, &ex);
        s->has_links = t[0] && t[1];
    }
    table_cols(s, "spans", span_cols, 5, b, &ex);
    s->has_spans = b[0] && b[1];
    s->sp_parent = b[2];
    s->sp_start = b[3] && b[4];
    PQclear(s->cols);
    s->cols = NULL;
    return MS_OK;
}

static void pg_close(void *state)
{
    struct pg_state *s = state;
    if (!s)
        return;
    if (s->db) {
        if (PQstatus(s->db) == CONNECTION_OK)
            PQclear(PQexec(s->db, "ROLLBACK"));
        PQfinish(s->db);
    }
    PQclear(s->cols);
    msx_json_parser_free(s->parser);
    msx_json_parser_free(s->inner);
    if (s->password) {
        memset(s->password, 0, strlen(s->password));
        free(s->password);
    }
    free(s->where);
    free(s);
}

/* The connection string libpq takes: SQLAlchemy's postgresql+driver:// is
 * postgresql:// to libpq. New string or NULL. */
static char *libpq_uri(const char *uri)
{
    const char *rest = strstr(uri, "://");
    if (!rest)
        return NULL;
    size_t n = strlen(rest);
    char *u = malloc(n + sizeof "postgresql");
    if (u) {
        memcpy(u, "postgresql", sizeof "postgresql" - 1);
        memcpy(u + sizeof "postgresql" - 1, rest, n + 1);
    }
    return u;
}

/* user@host:port/db of a connection, for messages (no password). */
static char *describe(PGconn *c, const char *conninfo)
{
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_LINE);
    const char *user = c ? PQuser(c) : NULL, *host = c ? PQhost(c) : NULL,
               *port = c ? PQport(c) : NULL, *db = c ? PQdb(c) : NULL;
    if (host && *host) {
        msx_buf_addf(&b, "postgresql://%s%s%s%s%s/%s", user && *user ? user : "",
                     user && *user ? "@" : "", host, port && *port ? ":" : "",
                     port ? port : "", db ? db : "");
    } else {
        /* no connection object: cut the userinfo's password out by hand */
        const char *p = strstr(conninfo, "://");
        p = p ? p + 3 : conninfo;
        /* userinfo ends at the last '@' of the authority (a password may
         * hold a raw '@'); the user is what precedes its first ':' */
        size_t auth = strcspn(p, "/?");
        const char *at = NULL;
        for (const char *q = p; q < p + auth; q++)
            if (*q == '@')
                at = q;
        msx_buf_adds(&b, "postgresql://");
        if (at) {
            size_t ulen = strcspn(p, ":");
            msx_buf_add(&b, p, ulen < (size_t)(at - p) ? ulen : (size_t)(at - p));
            msx_buf_adds(&b, at);
        } else
            msx_buf_adds(&b, p);
    }
    msx_buf_addc(&b, '\0');
    char *r = msx_buf_status(&b) == MS_OK ? msx_buf_take(&b, NULL) : NULL;
    msx_buf_release(&b);
    return r;
}

static ms_code pg_open(const char *uri, const char *path, void **state, struct ms_error *err)
{
    (void)path;
    struct pg_state *s = calloc(1, sizeof *s);
    if (!s)
        return nomem(err);
    char *conninfo = libpq_uri(uri);
    s->parser = msx_json_parser_new();
    s->inner = msx_json_parser_new();
    if (!conninfo || !s->parser || !s->inner) {
        free(conninfo);
        pg_close(s);
        return conninfo ? nomem(err) : msi_error(err, MS_E_INVALID, "not a postgresql uri");
    }
    /* a raw '@' in the userinfo: libpq would take part of the password for
     * the host and print it; refuse before it can */
    {
        const char *p = strstr(conninfo, "://") + 3;
        size_t auth = strcspn(p, "/?"), ats = 0;
        for (size_t k = 0; k < auth; k++)
            ats += p[k] == '@';
        if (ats > 1) {
            char *where = describe(NULL, conninfo);
            msi_error(err, MS_E_INVALID,
                      "%s: bad connection uri: '@' in the user or password must be written %%40",
                      where ? where : "postgresql");
            free(where);
            free(conninfo);
            pg_close(s);
            return MS_E_INVALID;
        }
    }
    /* the password as libpq parsed it (percent-decoding included) */
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
    if (!opts) {
        char *where = describe(NULL, conninfo);
        char msg[200];
        scrub(NULL, perr, msg, sizeof msg);
        msi_error(err, MS_E_INVALID, "%s: bad connection uri: %s", where ? where : "postgresql",
                  msg);
        PQfreemem(perr);
        free(where);
        free(conninfo);
        pg_close(s);
        return MS_E_INVALID;
    }
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
            s->password = xstrdup(o->val);
    PQconninfoFree(opts);
    static const char *const keys[] = {"dbname", "options", "client_encoding",
                                       "application_name", "connect_timeout", NULL};
    const char *vals[] = {conninfo, "-c default_transaction_read_only=on", "UTF8", "mlsession",
                          CONNECT_TIMEOUT_S, NULL};
    s->db = PQconnectdbParams(keys, vals, 1);
    s->where = describe(s->db && PQstatus(s->db) == CONNECTION_OK ? s->db : NULL, conninfo);
    free(conninfo);
    if (!s->where) {
        pg_close(s);
        return nomem(err);
    }
    ms_code code;
    if (!s->db || PQstatus(s->db) != CONNECTION_OK) {
        code = s->db ? pq_fail(s, NULL, err) : nomem(err);
        pg_close(s);
        return code;
    }
    /* one snapshot for everything read; never committed */
    if ((code = run_cmd(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err)) != MS_OK ||
        (code = introspect(s, err)) != MS_OK) {
        pg_close(s);
        return code;
    }
    *state = s;
    return MS_OK;
}

/* ---- experiments -------------------------------------------------------- */

static ms_code pg_experiments(void *state, struct msx_arena *a, ms_experiment **list, size_t *n,
                              struct ms_error *err)
{
    struct pg_state *s = state;
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT e.experiment_id::text, %s, %s, %s, COUNT(t.request_id)"
             " FROM experiments e LEFT JOIN trace_info t ON t.experiment_id = e.experiment_id"
             "%s GROUP BY e.experiment_id ORDER BY e.experiment_id",
             s->exp_name ? "MIN(e.name)" : "''",
             s->exp_artifact ? "MIN(e.artifact_location)" : "NULL",
             s->exp_stage ? "MIN(e.lifecycle_stage)" : "'active'",
             s->exp_stage ? " WHERE e.lifecycle_stage = $1" : "");
    struct msi_sql_params p;
    msi_sql_params_init(&p);
    if (s->exp_stage && msi_sql_params_add_text(&p, "active", 6) != MS_OK) {
        msi_sql_params_release(&p);
        return nomem(err);
    }
    PGresult *res;
    ms_code code = run(s, sql, &p, &res, err);
    msi_sql_params_release(&p);
    if (code != MS_OK)
        return code;
    int rows = PQntuples(res);
    ms_experiment *l = msx_arena_calloc(a, rows ? (size_t)rows : 1, sizeof *l);
    for (int k = 0; l && k < rows; k++) {
        struct row q = {res, k}, *st = &q;
        ms_experiment *e = &l[k];
        e->experiment_id = msi_dup(a, col_str(st, 0));
        ms_str name = col_str(st, 1);
        e->name = msi_dup(a, name.ptr ? name : (ms_str){"", 0});
        e->artifact_location = msi_dup(a, col_str(st, 2));
        e->lifecycle_stage = msi_dup(a, col_str(st, 3));
        e->trace_count = col_int64(st, 4);
        if (!e->experiment_id.ptr || !e->name.ptr)
            l = NULL;
    }
    PQclear(res);
    if (!l)
        return nomem(err);
    *list = l;
    *n = (size_t)rows;
    return MS_OK;
}

/* ---- scan: trace infos ------------------------------------------------- */

/* Python's json.dumps of the usage columns (compatibility_metadata_from_columns):
 * the keys present, in TOKEN_COLUMN_BY_KEY order, ", " and ": " separators. */
static bool token_json(const struct row *st, const struct pg_state *s, struct msx_buf *b,
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
        if (!col_exact_int(st, c, &v))
            continue; /* token_count_or_none: not an exact integer */
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

static bool cost_json(const struct row *st, const struct pg_state *s, struct msx_buf *b)
{
    bool any = false;
    msx_buf_reset(b);
    for (int k = 0; k < 3; k++) {
        int c = TI_FIXED + TI_COST0 + k;
        if (!s->ti[TI_COST0 + k] || col_is_null(st, c))
            continue;
        msx_buf_addf(b, "%s\"%s\": ", any ? ", " : "{", ti_cols[TI_COST0 + k]);
        msx_json_format_double(b, col_double(st, c));
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
static ms_code add_info(struct pg_state *s, const struct row *st, ms_trace_set *set,
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
    in->request_time_ms = col_int64(st, 2);
    if (s->ti_exec && !col_is_null(st, 3)) {
        in->execution_duration_ms = col_int64(st, 3);
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
 * (ids sorted in byte order, COLLATE "C") and return rows in that order, so a
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

/* Runs "<head> IN ($1,...) <tail>" with the chunk's ids bound. */
static ms_code run_in(struct pg_state *s, const char *head, const char *tail,
                      const struct idref *refs, size_t n, PGresult **res, struct ms_error *err)
{
    struct msx_buf sql;
    struct msi_sql_params p;
    ms_code code = MS_OK;
    msx_buf_init(&sql, MSX_CAP_LINE);
    msi_sql_params_init(&p);
    msx_buf_adds(&sql, head);
    msx_buf_adds(&sql, " IN (");
    add_params(&sql, 1, n);
    msx_buf_addf(&sql, ") %s", tail);
    msx_buf_addc(&sql, '\0');
    for (size_t k = 0; k < n && code == MS_OK; k++)
        code = msi_sql_params_add_text(&p, refs[k].id, refs[k].len);
    if (code != MS_OK || msx_buf_status(&sql) != MS_OK)
        code = nomem(err);
    else
        code = run(s, sql.ptr, &p, res, err);
    msx_buf_release(&sql);
    msi_sql_params_release(&p);
    return code;
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
static ms_code load_kvs(struct pg_state *s, ms_trace_set *set, const struct idref *refs,
                        size_t n, bool is_meta, struct ms_error *err)
{
    struct msx_arena *a = msi_trace_set_arena(set);
    PGresult *res = NULL;
    ms_code code = run_in(s,
                              is_meta ? "SELECT request_id, key, value FROM trace_request_metadata"
                                        " WHERE request_id"
                                      : "SELECT request_id, key, value FROM trace_tags"
                                        " WHERE request_id",
                              "ORDER BY request_id" BYTES ", key" BYTES, refs, n, &res, err);
    if (code != MS_OK)
        return code;
    /* keys MLflow re-creates from promoted columns, ignored as rows then */
    bool skip_session = is_meta && s->ti[TI_SESSION];
    bool skip_tokens = is_meta && s->ti[TI_TOK0];
    bool skip_cost = is_meta && s->ti[TI_COST0];
    bool skip_name = !is_meta && s->ti[TI_NAME];
    size_t cur = 0, owner = SIZE_MAX;
    struct vec v = {NULL, 0, 0, sizeof(ms_kv)};
    struct row q = {res, 0};
    const struct row *st = &q;
    for (; q.i < PQntuples(res); q.i++) {
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
    if (code == MS_OK && owner != SIZE_MAX &&
        !flush_kv_of(a, &v, &msi_trace_set_mut(set, owner)->info, is_meta))
        code = nomem(err);
    free(v.p);
    PQclear(res);
    return code;
}

/* Token usage from a metadata row, for stores without the promoted
 * columns (3.x before 3.17 keep mlflow.trace.tokenUsage as a row). */
static void usage_from_rows(struct pg_state *s, ms_trace_info *in)
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

static bool as_metadata(struct pg_state *s, struct msx_arena *a, ms_str text, ms_assessment *as)
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

static bool as_error(struct pg_state *s, struct msx_arena *a, ms_str text, ms_assessment *as)
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
static bool as_value(struct pg_state *s, struct msx_arena *a, ms_str text, ms_assessment *as)
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
static bool build_assessment(struct pg_state *s, struct msx_arena *a, const struct row *st,
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
        as->has_create_time = ms_to_ns(col_int64(st, 1 + AS_CREATED),
                                       &as->create_time_ns);
    if (!col_is_null(st, 1 + AS_UPDATED))
        as->has_last_update_time = ms_to_ns(col_int64(st, 1 + AS_UPDATED),
                                            &as->last_update_time_ns);
    ms_str ov = col_str(st, 1 + AS_OVERRIDES);
    if (ov.len)
        as->overrides = msi_dup(a, ov);
    as->valid = true;
    if (!col_is_null(st, 1 + AS_VALID)) {
        as->has_valid = true;
        as->valid = col_int64(st, 1 + AS_VALID) != 0;
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

static ms_code load_assessments(struct pg_state *s, ms_trace_set *set,
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
    /* MLflow's query has no ORDER BY; PostgreSQL answers it with a
     * sequential scan of the small table: physical order within a trace */
    PGresult *res = NULL;
    ms_code code = run_in(s, head.ptr, "ORDER BY trace_id" BYTES ", " ROW_ORDER, refs, n, &res,
                          err);
    msx_buf_release(&head);
    if (code != MS_OK)
        return code;
    size_t cur = 0, owner = SIZE_MAX;
    struct vec v = {NULL, 0, 0, sizeof(ms_assessment)};
    struct row q = {res, 0};
    const struct row *st = &q;
    for (; q.i < PQntuples(res); q.i++) {
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
    if (code == MS_OK && owner != SIZE_MAX &&
        !flush_as(a, &v, &msi_trace_set_mut(set, owner)->info))
        code = nomem(err);
    free(v.p);
    PQclear(res);
    return code;
}

/* Tags, metadata and assessments of traces [base, end), in chunks of ids. */
static ms_code load_children(struct pg_state *s, ms_trace_set *set, size_t base,
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

/* An experiment id as MLflow binds it: an integer when it is one (the
 * column is INTEGER). Anything else matches nothing (psycopg2 would make
 * PostgreSQL fail the cast), so it is not bound at all. */
static ms_code push_exp_id(struct msi_sql_params *p, const char *id, bool *is_int)
{
    char *end;
    errno = 0;
    long long v = strtoll(id, &end, 10);
    *is_int = *id && *end == '\0' && errno == 0 && (*id == '-' || (*id >= '0' && *id <= '9'));
    return *is_int ? msi_sql_params_add_int(p, v) : MS_OK;
}

/* What the filter compiler may use of this database. */
static struct msi_sql_target sql_target(const struct pg_state *s)
{
    struct msi_sql_target t = {MSI_SQL_POSTGRES, s->ti[TI_SESSION], s->has_spans,
                               s->has_assessments, s->ti[TI_NAME], s->has_links,
                               s->as_aggregate, false};
    return t;
}

enum push { PUSH_NONE, PUSH_FILTER, PUSH_ALL };

/* The trace_info query of a chunk of experiment ids, with the filter (and
 * order and page) compiled in as far as asked. MS_E_UNSUPPORTED when the
 * filter or order cannot be compiled for this schema, or when PostgreSQL
 * refuses the compiled query (it then ran inside a savepoint, so the
 * transaction goes on). */
static ms_code info_query(struct pg_state *s, const struct msi_scan *scan,
                          const char *const *ids, size_t n_ids, enum push push,
                          PGresult **res, struct ms_error *err)
{
    struct msx_buf sql;
    struct msi_sql_params params;
    struct msi_sql_target tg = sql_target(s);
    struct ms_error ferr = {MS_OK, -1, ""};
    ms_code code = MS_OK;
    msx_buf_init(&sql, MSX_CAP_LINE);
    msi_sql_params_init(&params);
    msx_buf_addf(&sql, "SELECT t.request_id, t.experiment_id::text, t.timestamp_ms, %s",
                 s->ti_exec ? "t.execution_time_ms" : "NULL");
    for (int k = 0; k < TI_N; k++)
        msx_buf_addf(&sql, ", %s%s", s->ti[k] ? "t." : "NULL AS ", ti_cols[k]);
    msx_buf_adds(&sql, " FROM trace_info t WHERE t.experiment_id IN (");
    bool any = false;
    for (size_t i = 0; i < n_ids && code == MS_OK; i++) {
        bool is_int = false;
        code = push_exp_id(&params, ids[i], &is_int);
        if (code == MS_OK && is_int) {
            msx_buf_addf(&sql, "%s$%zu", any ? "," : "", params.n);
            any = true;
        }
    }
    if (!any)
        msx_buf_adds(&sql, "NULL"); /* no integer id: matches nothing */
    msx_buf_addc(&sql, ')');
    if (code == MS_OK && push != PUSH_NONE && scan->filter) {
        msx_buf_adds(&sql, " AND (");
        code = msi_filter_to_sql(scan->filter, &tg, &sql, &params, &ferr);
        msx_buf_addc(&sql, ')');
    }
    if (code == MS_OK && push == PUSH_ALL) {
        msx_buf_adds(&sql, " ORDER BY ");
        code = msi_order_to_sql(scan->order, &tg, &sql);
        if (code == MS_OK)
            code = msi_sql_params_add_int(&params, scan->limit + 1);
        if (code == MS_OK)
            code = msi_sql_params_add_int(&params, scan->offset);
        msx_buf_addf(&sql, " LIMIT $%zu OFFSET $%zu", params.n - 1, params.n);
    } else
        msx_buf_adds(&sql, " ORDER BY t.request_id" BYTES);
    msx_buf_addc(&sql, '\0');
    if (code == MS_OK && msx_buf_status(&sql) != MS_OK)
        code = MS_E_NOMEM;
    if (code == MS_OK) {
        if (push == PUSH_NONE)
            code = run(s, sql.ptr, &params, res, err);
        else if ((code = run_cmd(s, "SAVEPOINT ms_push", err)) == MS_OK) {
            /* a compiled filter may name what this schema lacks: fall back */
            struct ms_error qerr;
            if (run(s, sql.ptr, &params, res, &qerr) == MS_OK)
                code = run_cmd(s, "RELEASE SAVEPOINT ms_push", err);
            else if ((code = run_cmd(s, "ROLLBACK TO SAVEPOINT ms_push", err)) == MS_OK)
                code = MS_E_UNSUPPORTED;
            if (code != MS_OK && *res) {
                PQclear(*res);
                *res = NULL;
            }
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
static ms_code scan_chunk(struct pg_state *s, const struct msi_scan *scan,
                          const char *const *ids, size_t n_ids, enum push *push,
                          ms_trace_set *set, struct ms_error *err)
{
    PGresult *res = NULL;
    ms_code code;
    while ((code = info_query(s, scan, ids, n_ids, *push, &res, err)) == MS_E_UNSUPPORTED &&
           *push != PUSH_NONE)
        *push = *push == PUSH_ALL && scan->filter ? PUSH_FILTER : PUSH_NONE;
    if (code != MS_OK)
        return code;
    struct msx_buf tmp;
    msx_buf_init(&tmp, MSX_CAP_LINE);
    size_t base = ms_trace_set_count(set);
    for (int i = 0; i < PQntuples(res) && code == MS_OK; i++) {
        struct row q = {res, i};
        code = add_info(s, &q, set, &tmp, err);
    }
    PQclear(res);
    msx_buf_release(&tmp);
    if (code != MS_OK)
        return code;
    return load_children(s, set, base, err);
}

/* Lists the traces of the asked experiments. The filter, the order and the
 * page go into SQL when they compile for this schema (msi_filter_to_sql);
 * what does not is left to store.c, in memory. The page needs one query,
 * so it is pushed only when the experiment ids fit one IN list. */
static ms_code pg_scan(void *state, struct msi_scan *scan, ms_trace_set *set,
                       struct ms_error *err)
{
    struct pg_state *s = state;
    enum push push = scan->n_experiment_ids <= CHUNK ? PUSH_ALL : PUSH_FILTER;
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
static ms_code decode_one(struct pg_state *s, struct msx_arena *a, ms_str id, msx_json v,
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
static ms_code table_spans(struct pg_state *s, ms_trace_set *set, const struct idref *refs,
                           size_t n, struct ms_error *err)
{
    struct msx_arena *a = msi_trace_set_arena(set);
    struct msx_buf sql;
    msx_buf_init(&sql, MSX_CAP_LINE);
    msx_buf_adds(&sql, "SELECT trace_id, content FROM spans WHERE trace_id");
    msx_buf_addc(&sql, '\0');
    char tail[160];
    snprintf(tail, sizeof tail, "ORDER BY trace_id" BYTES "%s%s",
             s->sp_parent ? ", parent_span_id IS NOT NULL" : "",
             s->sp_start ? ", start_time_unix_nano, span_id" BYTES : "");
    PGresult *res = NULL;
    ms_code code = msx_buf_status(&sql) != MS_OK ? nomem(err)
                                                 : run_in(s, sql.ptr, tail, refs, n, &res, err);
    msx_buf_release(&sql);
    if (code != MS_OK)
        return code;
    struct vec v = {NULL, 0, 0, sizeof(ms_span)};
    size_t cur = 0, owner = SIZE_MAX;
    struct row q = {res, 0};
    const struct row *st = &q;
    for (; q.i < PQntuples(res); q.i++) {
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
    if (code == MS_OK && owner != SIZE_MAX && !flush_spans(a, &v, msi_trace_set_mut(set, owner)))
        code = nomem(err);
    free(v.p);
    PQclear(res);
    return code;
}

/* The directory of a trace's artifacts: tag mlflow.artifactLocation, or the
 * experiment's artifact_location + /traces/<id>/artifacts (MLflow's
 * layout). file:// URIs become paths; other schemes (mlflow-artifacts:,
 * s3:) cannot be read from here. New malloc'd string or NULL. */
static char *artifact_dir(struct pg_state *s, const ms_trace_info *in)
{
    const ms_kv *tag = tag_of(in, ARTIFACT_LOCATION_TAG);
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_LINE);
    if (tag && tag->value.len)
        msx_buf_add(&b, tag->value.ptr, tag->value.len);
    else if (s->exp_artifact) {
        struct msi_sql_params p;
        PGresult *res = NULL;
        bool is_int;
        struct ms_error qerr;
        msi_sql_params_init(&p);
        if (push_exp_id(&p, in->experiment_id.ptr, &is_int) == MS_OK && is_int &&
            run(s, "SELECT artifact_location FROM experiments WHERE experiment_id = $1", &p,
                &res, &qerr) == MS_OK &&
            PQntuples(res) > 0) {
            struct row q = {res, 0};
            ms_str loc = col_str(&q, 0);
            if (loc.ptr && loc.len)
                msx_buf_addf(&b, "%.*s/traces/%s/artifacts", (int)loc.len, loc.ptr,
                             in->trace_id.ptr);
        }
        PQclear(res);
        msi_sql_params_release(&p);
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

/* The traces.json of a recorded artifact directory: the path as MLflow
 * recorded it (a server's --artifacts-destination, or its default ./mlruns),
 * which must be visible from here. New string or NULL. */
static char *traces_json_path(const char *dir)
{
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_LINE);
    msx_buf_addf(&b, "%s/traces.json", dir);
    msx_buf_addc(&b, '\0');
    if (msx_buf_status(&b) != MS_OK || !exists(b.ptr, NULL)) {
        msx_buf_release(&b);
        return NULL;
    }
    char *p = msx_buf_take(&b, NULL);
    msx_buf_release(&b);
    return p;
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
static ms_code artifact_spans(struct pg_state *s, ms_trace_set *set, size_t i,
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
    char *path = traces_json_path(dir);
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
static ms_code pg_load_spans_inner(void *state, ms_trace_set *set, size_t from, size_t to,
                             struct ms_error *err)
{
    struct pg_state *s = state;
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
static ms_code pg_load_spans(void *state, ms_trace_set *set, size_t from, size_t to,
                             struct ms_error *err)
{
    struct pg_state *s = state;
    s->note_set = set;
    ms_code rc = pg_load_spans_inner(state, set, from, to, err);
    s->note_set = NULL;
    return rc;
}

const struct msi_store_ops msi_store_pg = {
    2, "postgresql", pg_open, pg_close, pg_experiments, pg_scan, pg_load_spans, NULL,
};
