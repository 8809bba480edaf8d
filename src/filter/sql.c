/* SPDX-License-Identifier: MIT
 *
 * Filter pushdown: a parsed filter as a SQL WHERE fragment, clause by clause
 * the way MLflow 3.17.2's sqlalchemy_store builds its query:
 *
 *   trace columns        t.<column> <op> ?
 *   tags, metadata       EXISTS (row with that key and a matching value)
 *   trace.name, session  t.trace_name, t.session_id on schemas that have them
 *   run_id =             metadata mlflow.sourceRun OR a trace->run link
 *   span.*, trace.text   one EXISTS over spans: every clause on the same span
 *   feedback, expectation EXISTS over valid assessments, '=' on the JSON text
 *                        or its json.dumps; also every trace of a session
 *                        whose session-level assessment matches
 *
 * SQLite needs PRAGMA case_sensitive_like=ON (as MLflow sets) and a REGEXP
 * function (Python re.search semantics) registered by the store. Depends on
 * util/ only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter/filter_int.h"
#include "filter/filter_sql.h"

void msi_sql_params_init(struct msi_sql_params *p)
{
    p->v = NULL;
    p->n = 0;
    p->cap = 0;
}

void msi_sql_params_release(struct msi_sql_params *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].text);
    free(p->v);
    msi_sql_params_init(p);
}

static struct msi_sql_param *push(struct msi_sql_params *p)
{
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 8;
        struct msi_sql_param *nv = realloc(p->v, ncap * sizeof *nv);
        if (!nv)
            return NULL;
        p->v = nv;
        p->cap = ncap;
    }
    struct msi_sql_param *q = &p->v[p->n];
    memset(q, 0, sizeof *q);
    return q;
}

ms_code msi_sql_params_add_text(struct msi_sql_params *p, const char *s, size_t n)
{
    struct msi_sql_param *q = push(p);
    if (!q)
        return MS_E_NOMEM;
    q->text = malloc(n + 1);
    if (!q->text)
        return MS_E_NOMEM;
    if (n)
        memcpy(q->text, s, n);
    q->text[n] = '\0';
    q->len = n;
    q->type = MSI_SQL_TEXT;
    p->n++;
    return MS_OK;
}

ms_code msi_sql_params_add_int(struct msi_sql_params *p, int64_t v)
{
    struct msi_sql_param *q = push(p);
    if (!q)
        return MS_E_NOMEM;
    q->type = MSI_SQL_INT64;
    q->i = v;
    p->n++;
    return MS_OK;
}

ms_code msi_sql_params_add_double(struct msi_sql_params *p, double v)
{
    struct msi_sql_param *q = push(p);
    if (!q)
        return MS_E_NOMEM;
    q->type = MSI_SQL_DOUBLE;
    q->d = v;
    p->n++;
    return MS_OK;
}

struct sqlc {
    const struct msi_sql_target *tg;
    struct msx_buf *w;
    struct msi_sql_params *p;
    ms_code rc; /* first failure of a param push */
};

static bool pg(const struct sqlc *q)
{
    return q->tg->dialect == MSI_SQL_POSTGRES;
}

static void ph(struct sqlc *q)
{
    if (pg(q))
        msx_buf_addf(q->w, "$%zu", q->p->n);
    else
        msx_buf_addc(q->w, '?');
}

static void bind_text(struct sqlc *q, const char *s, size_t n)
{
    if (q->rc == MS_OK)
        q->rc = msi_sql_params_add_text(q->p, s, n);
    ph(q);
}

static void bind_textz(struct sqlc *q, const char *s)
{
    bind_text(q, s, strlen(s));
}

static void bind_number(struct sqlc *q, const struct msi_clause *c)
{
    if (q->rc == MS_OK)
        q->rc = c->num_is_int ? msi_sql_params_add_int(q->p, c->num_i)
                              : msi_sql_params_add_double(q->p, c->num_d);
    ph(q);
}

static void bind_double(struct sqlc *q, double d)
{
    if (q->rc == MS_OK)
        q->rc = msi_sql_params_add_double(q->p, d);
    ph(q);
}

static void add(struct sqlc *q, const char *s)
{
    msx_buf_adds(q->w, s);
}

static const char *op(enum msi_cmp c)
{
    switch (c) {
    case MSI_C_EQ: return " = ";
    case MSI_C_NE: return " != ";
    case MSI_C_LT: return " < ";
    case MSI_C_LE: return " <= ";
    case MSI_C_GT: return " > ";
    case MSI_C_GE: return " >= ";
    default: return " ? ";
    }
}

/* col <cmp> value, with the clause's own string value (or the override). */
static void cmp_str(struct sqlc *q, const char *col, const struct msi_clause *c, const char *v,
                    size_t vn)
{
    switch (c->cmp) {
    case MSI_C_LIKE:
        add(q, col);
        add(q, " LIKE ");
        bind_text(q, v, vn);
        break;
    case MSI_C_ILIKE:
        if (pg(q)) {
            add(q, col);
            add(q, " ILIKE ");
            bind_text(q, v, vn);
        } else {
            add(q, "lower(");
            add(q, col);
            add(q, ") LIKE lower(");
            bind_text(q, v, vn);
            add(q, ")");
        }
        break;
    case MSI_C_RLIKE:
        add(q, col);
        add(q, pg(q) ? " ~ " : " REGEXP ");
        bind_text(q, v, vn);
        break;
    case MSI_C_IN:
    case MSI_C_NOT_IN:
        add(q, "(");
        add(q, col);
        add(q, c->cmp == MSI_C_IN ? " IN (" : " NOT IN (");
        for (size_t i = 0; i < c->n_list; i++) {
            if (i)
                add(q, ", ");
            bind_text(q, c->list[i], c->list_len[i]);
        }
        add(q, "))");
        break;
    case MSI_C_IS_NULL:
        add(q, col);
        add(q, " IS NULL");
        break;
    case MSI_C_IS_NOT_NULL:
        add(q, col);
        add(q, " IS NOT NULL");
        break;
    default:
        add(q, col);
        add(q, op(c->cmp));
        bind_text(q, v, vn);
        break;
    }
}

static void cmp_value(struct sqlc *q, const char *col, const struct msi_clause *c)
{
    if (c->vkind == MSI_V_NUMBER) {
        add(q, col);
        add(q, op(c->cmp));
        bind_number(q, c);
        return;
    }
    cmp_str(q, col, c, c->str, c->str_len);
}

static void kv_exists(struct sqlc *q, const struct msi_clause *c, bool tag)
{
    const char *tbl = tag ? "trace_tags" : "trace_request_metadata";
    const char *al = tag ? "g" : "m";
    char col[8];
    snprintf(col, sizeof col, "%s.value", al);
    if (c->cmp == MSI_C_EQ || c->cmp == MSI_C_IN) {
        /* the same rows as EXISTS, but a form the planner can drive from
         * the key's primary-key index (key, request_id): a tag pinning a
         * few traces is found without walking the experiment */
        msx_buf_addf(q->w, "t.request_id IN (SELECT %s.request_id FROM %s %s WHERE %s.key = ", al,
                     tbl, al, al);
        bind_text(q, c->key, c->key_len);
        add(q, " AND ");
        cmp_value(q, col, c);
        add(q, ")");
        return;
    }
    if (c->cmp == MSI_C_IS_NULL)
        add(q, "NOT ");
    msx_buf_addf(q->w, "EXISTS (SELECT 1 FROM %s %s WHERE %s.request_id = t.request_id AND %s.key = ",
                 tbl, al, al, al);
    bind_text(q, c->key, c->key_len);
    if (c->cmp != MSI_C_IS_NULL && c->cmp != MSI_C_IS_NOT_NULL) {
        add(q, " AND ");
        cmp_value(q, col, c);
    }
    add(q, ")");
}

static const char *true_lit(const struct sqlc *q)
{
    return pg(q) ? "true" : "1";
}

static ms_code unsupported(struct ms_error *err, const struct msi_clause *c, const char *what)
{
    if (err) {
        err->code = MS_E_UNSUPPORTED;
        err->offset = (int64_t)c->field_off;
        snprintf(err->msg, sizeof err->msg, "%s", what);
    }
    return MS_E_UNSUPPORTED;
}

/* The assessment conditions shared by the direct and the session lookup. */
static void assessment_conds(struct sqlc *q, const struct msi_clause *c)
{
    msx_buf_addf(q->w, "a.assessment_type = '%s' AND a.name = ",
                 c->field == MSI_F_FEEDBACK ? "feedback" : "expectation");
    bind_text(q, c->key, c->key_len);
    msx_buf_addf(q->w, " AND a.valid = %s", true_lit(q));
    if (c->cmp == MSI_C_IS_NULL || c->cmp == MSI_C_IS_NOT_NULL)
        return;
    add(q, " AND ");
    switch (c->cmp) {
    case MSI_C_EQ:
    case MSI_C_NE: {
        struct msx_buf js;
        msx_buf_init(&js, MSX_CAP_OUTPUT);
        msi_json_dumps_str(&js, c->str, c->str_len, true);
        if (msx_buf_status(&js) != MS_OK && q->rc == MS_OK)
            q->rc = msx_buf_status(&js);
        add(q, c->cmp == MSI_C_NE ? "NOT (a.value = " : "(a.value = ");
        bind_text(q, c->str, c->str_len);
        add(q, " OR a.value = ");
        bind_text(q, js.ptr ? js.ptr : "", js.len);
        add(q, ")");
        msx_buf_release(&js);
        break;
    }
    case MSI_C_LT:
    case MSI_C_LE:
    case MSI_C_GT:
    case MSI_C_GE:
        if (q->tg->has_assessment_aggregate_columns) {
            msx_buf_addf(q->w, "a.is_numeric_value = %s AND a.aggregate_value%s", true_lit(q),
                         op(c->cmp));
        } else {
            /* MLflow before the aggregate columns: cast the JSON text */
            add(q, "CASE WHEN lower(a.value) IN ('true', 'false', 'null', 'nan', 'infinity', "
                   "'-infinity') THEN NULL WHEN ");
            add(q, pg(q) ? "substring(a.value from 1 for 1)" : "substr(a.value, 1, 1)");
            add(q, " IN ('\"', '[', '{') THEN NULL ELSE CAST(a.value AS ");
            add(q, pg(q) ? "DOUBLE PRECISION" : "REAL");
            add(q, ") END");
            add(q, op(c->cmp));
        }
        bind_double(q, c->num_d);
        break;
    default:
        cmp_str(q, "a.value", c, c->str, c->str_len);
        break;
    }
}

static ms_code assessment_sql(struct sqlc *q, const struct msi_clause *c, struct ms_error *err)
{
    if (!q->tg->has_assessments_table)
        return unsupported(err, c, "assessment filters need the assessments table");
    bool is_null = c->cmp == MSI_C_IS_NULL;
    bool sessions = q->tg->has_session_id_column;
    add(q, is_null ? "NOT (" : "(");
    add(q, "EXISTS (SELECT 1 FROM assessments a WHERE a.trace_id = t.request_id AND ");
    assessment_conds(q, c);
    add(q, ")");
    if (sessions) {
        /* a session-level assessment (metadata mlflow.trace.session) covers
         * every trace of its session */
        add(q, " OR (t.session_id IS NOT NULL AND t.session_id IN (SELECT ts.session_id FROM "
               "trace_info ts JOIN assessments a ON a.trace_id = ts.request_id WHERE "
               "ts.experiment_id = t.experiment_id AND ts.session_id IS NOT NULL AND ");
        assessment_conds(q, c);
        add(q, " AND a.assessment_metadata IS NOT NULL AND a.assessment_metadata LIKE ");
        bind_textz(q, "%\"mlflow.trace.session\":%");
        add(q, "))");
    }
    add(q, ")");
    return MS_OK;
}

static ms_code span_sql(struct sqlc *q, const ms_filter *f, struct ms_error *err)
{
    if (!q->tg->has_spans_table) {
        for (size_t i = 0; i < f->n; i++)
            if (msi_field_is_span(f->clauses[i].field))
                return unsupported(err, &f->clauses[i], "span filters need the spans table");
    }
    /* the trace id pins the experiment already; an experiment_id term here
     * made SQLite pick the (experiment, time) index and scan millions of
     * spans per trace (bench/run_search.sh, tool-errors: >90 s -> 20 ms) */
    add(q, "EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.request_id");
    int64_t bound;
    if (msi_span_start_bound_ns(f, &bound)) {
        add(q, " AND s.start_time_unix_nano >= ");
        if (q->rc == MS_OK)
            q->rc = msi_sql_params_add_int(q->p, bound);
        ph(q);
    }
    for (size_t i = 0; i < f->n; i++) {
        const struct msi_clause *c = &f->clauses[i];
        if (!msi_field_is_span(c->field))
            continue;
        add(q, " AND ");
        switch (c->field) {
        case MSI_F_SPAN_NAME: cmp_value(q, "s.name", c); break;
        case MSI_F_SPAN_TYPE: cmp_value(q, "s.type", c); break;
        case MSI_F_SPAN_STATUS: cmp_value(q, "s.status", c); break;
        case MSI_F_SPAN_CONTENT: cmp_value(q, "s.content", c); break;
        case MSI_F_SPAN_ATTR: {
            size_t n;
            char *pat = c->cmp == MSI_C_RLIKE
                            ? msi_span_attr_regex(c->key, c->str, c->str_len, &n)
                            : msi_span_attr_like(c->key, c->str, c->str_len, &n);
            if (!pat) {
                if (q->rc == MS_OK)
                    q->rc = MS_E_NOMEM;
                break;
            }
            cmp_str(q, "s.content", c, pat, n);
            free(pat);
            break;
        }
        default: break;
        }
    }
    add(q, ")");
    return MS_OK;
}

static bool is_key(const struct msi_clause *c, const char *k)
{
    return c->key && strcmp(c->key, k) == 0 && c->key_len == strlen(k);
}

static ms_code clause_sql(struct sqlc *q, const struct msi_clause *c, struct ms_error *err)
{
    switch (c->field) {
    case MSI_F_REQUEST_ID: cmp_value(q, "t.request_id", c); return MS_OK;
    case MSI_F_CLIENT_REQUEST_ID: cmp_value(q, "t.client_request_id", c); return MS_OK;
    case MSI_F_STATUS: cmp_value(q, "t.status", c); return MS_OK;
    case MSI_F_TIMESTAMP: cmp_value(q, "t.timestamp_ms", c); return MS_OK;
    case MSI_F_EXECUTION_TIME: cmp_value(q, "t.execution_time_ms", c); return MS_OK;
    case MSI_F_END_TIME:
        cmp_value(q, "(t.timestamp_ms + COALESCE(t.execution_time_ms, 0))", c);
        return MS_OK;
    case MSI_F_TAG:
        if (q->tg->has_trace_name_column && is_key(c, "mlflow.traceName"))
            cmp_value(q, "t.trace_name", c);
        else
            kv_exists(q, c, true);
        return MS_OK;
    case MSI_F_METADATA:
        if (q->tg->has_session_id_column && is_key(c, "mlflow.trace.session")) {
            cmp_value(q, "t.session_id", c);
            return MS_OK;
        }
        if (q->tg->has_session_id_column &&
            (is_key(c, "mlflow.trace.tokenUsage") || is_key(c, "mlflow.trace.cost")))
            return unsupported(err, c, "token usage and cost metadata live in several columns");
        if (is_key(c, "mlflow.sourceRun") && c->cmp == MSI_C_EQ &&
            q->tg->has_entity_associations_table) {
            add(q, "(EXISTS (SELECT 1 FROM entity_associations e WHERE e.source_id = "
                   "t.request_id AND e.source_type = 'trace' AND e.destination_type = 'run' "
                   "AND e.destination_id = ");
            bind_text(q, c->str, c->str_len);
            add(q, ") OR ");
            kv_exists(q, c, false);
            add(q, ")");
            return MS_OK;
        }
        kv_exists(q, c, false);
        return MS_OK;
    case MSI_F_PROMPT:
        if (!q->tg->has_entity_associations_table)
            return unsupported(err, c, "prompt filters need the entity_associations table");
        add(q, "EXISTS (SELECT 1 FROM entity_associations e WHERE e.source_id = t.request_id "
               "AND e.source_type = 'trace' AND e.destination_type = 'prompt_version' AND "
               "e.destination_id = ");
        bind_text(q, c->str, c->str_len);
        add(q, ")");
        return MS_OK;
    case MSI_F_ISSUE:
        if (!q->tg->has_assessments_table)
            return unsupported(err, c, "issue filters need the assessments table");
        add(q, "EXISTS (SELECT 1 FROM assessments a WHERE a.trace_id = t.request_id AND "
               "a.assessment_type = 'issue' AND a.name = ");
        bind_text(q, c->str, c->str_len);
        add(q, ")");
        return MS_OK;
    case MSI_F_FEEDBACK:
    case MSI_F_EXPECTATION:
        return assessment_sql(q, c, err);
    default:
        return MS_OK; /* span fields: grouped by the caller */
    }
}

ms_code msi_filter_to_sql(const ms_filter *f, const struct msi_sql_target *target,
                          struct msx_buf *where, struct msi_sql_params *params,
                          struct ms_error *err)
{
    struct sqlc q = {target, where, params, MS_OK};
    if (!f || f->n == 0) {
        add(&q, pg(&q) ? "TRUE" : "1");
        return msx_buf_status(where);
    }
    bool first = true, spans_done = false;
    for (size_t i = 0; i < f->n; i++) {
        const struct msi_clause *c = &f->clauses[i];
        bool is_span = msi_field_is_span(c->field);
        if (is_span && spans_done)
            continue;
        if (!first)
            add(&q, " AND ");
        first = false;
        ms_code rc = is_span ? span_sql(&q, f, err) : clause_sql(&q, c, err);
        if (is_span)
            spans_done = true;
        if (rc)
            return rc;
    }
    ms_code rc = q.rc != MS_OK ? q.rc : msx_buf_status(where);
    if (rc != MS_OK && err) {
        err->code = rc;
        err->offset = -1;
        snprintf(err->msg, sizeof err->msg, "%s while building SQL", ms_strerror(rc));
    }
    return rc;
}

bool msi_filter_pins_kv(const ms_filter *f)
{
    for (size_t i = 0; f && i < f->n; i++) {
        const struct msi_clause *c = &f->clauses[i];
        if ((c->field == MSI_F_METADATA || c->field == MSI_F_TAG ||
             c->field == MSI_F_REQUEST_ID) &&
            (c->cmp == MSI_C_EQ || c->cmp == MSI_C_IN))
            return true;
    }
    return false;
}

bool msi_filter_pins_session(const ms_filter *f)
{
    for (size_t i = 0; f && i < f->n; i++) {
        const struct msi_clause *c = &f->clauses[i];
        if (c->field == MSI_F_METADATA && c->key_len == 20 &&
            memcmp(c->key, "mlflow.trace.session", 20) == 0 &&
            (c->cmp == MSI_C_EQ || c->cmp == MSI_C_IN))
            return true;
    }
    return false;
}
