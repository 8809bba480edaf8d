/* SPDX-License-Identifier: MIT
 *
 * The per-turn atoms of a session filter as SQL over trace_info aliased t,
 * in the style of src/filter/sql.c: fixed words in the text, every value
 * bound (SQLite ?, PostgreSQL $n continuing from params->n).
 *
 *   turn.*            t.<column> (tokens need the 3.17 promoted columns)
 *   turn.name         t.trace_name, or the tag mlflow.traceName
 *   tag.K, metadata.K EXISTS over trace_tags / trace_request_metadata
 *   span sub-tree     EXISTS (SELECT 1 FROM spans s WHERE s.trace_id =
 *                     t.request_id AND (...)): one span satisfies it all
 *
 * Every comparison on a column that may be NULL is wrapped in COALESCE(...,
 * false) so the SQL is two-valued like the in-memory evaluator (a missing
 * value never matches, `not` negates). contains is instr/strpos over
 * lower(): ASCII case folding in SQLite (as in memory); PostgreSQL's lower()
 * also folds non-ASCII letters.
 */
#include <stdio.h>
#include <string.h>

#include "session/sfilter_int.h"
#include "session/sfilter_sql.h"

struct sq {
    const struct msi_sql_target *tg;
    struct msx_buf *w;
    struct msi_sql_params *p;
    ms_code rc;
    struct ms_error *err;
};

static bool pg(const struct sq *q)
{
    return q->tg->dialect == MSI_SQL_POSTGRES;
}

static void add(struct sq *q, const char *s)
{
    msx_buf_adds(q->w, s);
}

static void ph(struct sq *q)
{
    if (pg(q))
        msx_buf_addf(q->w, "$%zu", q->p->n);
    else
        msx_buf_addc(q->w, '?');
}

static void bind_text(struct sq *q, const char *s, size_t n)
{
    if (q->rc == MS_OK)
        q->rc = msi_sql_params_add_text(q->p, s, n);
    ph(q);
}

static void bind_val(struct sq *q, const struct msi_sf_fdef *fd, const struct msi_sf_val *v)
{
    if (q->rc == MS_OK) {
        if (fd->kind == MSI_SK_INT || fd->kind == MSI_SK_DUR || fd->kind == MSI_SK_TIME)
            q->rc = msi_sql_params_add_int(q->p, v->i);
        else
            q->rc = msi_sql_params_add_text(q->p, v->s, v->n);
    }
    ph(q);
}

static ms_code unsupported(struct sq *q, const struct msi_sf_node *n, const char *what)
{
    if (q->err) {
        q->err->code = MS_E_UNSUPPORTED;
        q->err->offset = (int64_t)n->off;
        snprintf(q->err->msg, sizeof q->err->msg, "%s", what);
    }
    return MS_E_UNSUPPORTED;
}

static const char *op_text(enum msi_sf_op op)
{
    switch (op) {
    case MSI_SO_EQ: return " = ";
    case MSI_SO_NE: return " != ";
    case MSI_SO_LT: return " < ";
    case MSI_SO_LE: return " <= ";
    case MSI_SO_GT: return " > ";
    case MSI_SO_GE: return " >= ";
    default: return " = ";
    }
}

/* col <op> value(s), two-valued: COALESCE((...), FALSE). */
static void cmp_col(struct sq *q, const struct msi_sf_node *n, const char *col)
{
    if (n->op == MSI_SO_IS_NULL) {
        add(q, "(");
        add(q, col);
        add(q, n->neg ? " IS NOT NULL)" : " IS NULL)");
        return;
    }
    add(q, "COALESCE((");
    if (n->neg)
        add(q, "NOT (");
    switch (n->op) {
    case MSI_SO_CONTAINS:
        add(q, pg(q) ? "strpos(lower(" : "instr(lower(");
        add(q, col);
        add(q, "), lower(");
        bind_val(q, n->fd, &n->vals[0]);
        add(q, ")) > 0");
        break;
    case MSI_SO_LIKE:
        add(q, col);
        add(q, " LIKE ");
        bind_val(q, n->fd, &n->vals[0]);
        if (pg(q))
            add(q, " ESCAPE ''"); /* no escape character, as in SQLite and memory */
        break;
    case MSI_SO_ILIKE:
        if (pg(q)) {
            add(q, col);
            add(q, " ILIKE ");
            bind_val(q, n->fd, &n->vals[0]);
            add(q, " ESCAPE ''");
        } else {
            add(q, "lower(");
            add(q, col);
            add(q, ") LIKE lower(");
            bind_val(q, n->fd, &n->vals[0]);
            add(q, ")");
        }
        break;
    case MSI_SO_MATCHES:
        add(q, col);
        add(q, pg(q) ? " ~ " : " REGEXP ");
        bind_val(q, n->fd, &n->vals[0]);
        break;
    case MSI_SO_IN:
        add(q, col);
        add(q, " IN (");
        for (size_t i = 0; i < n->n_vals; i++) {
            if (i)
                add(q, ", ");
            bind_val(q, n->fd, &n->vals[i]);
        }
        add(q, ")");
        break;
    default:
        add(q, col);
        add(q, op_text(n->op));
        bind_val(q, n->fd, &n->vals[0]);
        break;
    }
    if (n->neg)
        add(q, ")");
    add(q, pg(q) ? "), FALSE)" : "), 0)");
}

/* EXISTS over trace_tags / trace_request_metadata for key (and value). */
static void kv_exists(struct sq *q, const struct msi_sf_node *n, bool tag, const char *key,
                      size_t key_len)
{
    const char *tbl = tag ? "trace_tags" : "trace_request_metadata";
    const char *al = tag ? "g" : "m";
    bool is_null = n->op == MSI_SO_IS_NULL;
    if (is_null && !n->neg)
        add(q, "NOT ");
    msx_buf_addf(q->w, "EXISTS (SELECT 1 FROM %s %s WHERE %s.request_id = t.request_id AND %s.key = ",
                 tbl, al, al, al);
    bind_text(q, key, key_len);
    if (!is_null) {
        char col[8];
        snprintf(col, sizeof col, "%s.value", al);
        add(q, " AND ");
        cmp_col(q, n, col);
    }
    add(q, ")");
}

static ms_code span_sql(struct sq *q, const struct msi_sf_node *n)
{
    switch (n->type) {
    case MSI_SN_AND:
    case MSI_SN_OR: {
        add(q, "(");
        ms_code rc = span_sql(q, n->a);
        if (rc)
            return rc;
        add(q, n->type == MSI_SN_AND ? " AND " : " OR ");
        rc = span_sql(q, n->b);
        add(q, ")");
        return rc;
    }
    case MSI_SN_NOT: {
        add(q, "NOT (");
        ms_code rc = span_sql(q, n->a);
        add(q, ")");
        return rc;
    }
    case MSI_SN_CMP:
        switch (n->fd->id) {
        case MSI_PF_TYPE: cmp_col(q, n, "s.type"); break;
        case MSI_PF_STATUS: cmp_col(q, n, "s.status"); break;
        case MSI_PF_NAME: cmp_col(q, n, "s.name"); break;
        case MSI_PF_DURATION:
            cmp_col(q, n, "(s.end_time_unix_nano - s.start_time_unix_nano)");
            break;
        default: return unsupported(q, n, "not a span field");
        }
        return MS_OK;
    default: return unsupported(q, n, "unexpected node");
    }
}

static ms_code turn_sql(struct sq *q, const struct msi_sf_node *n)
{
    switch (n->type) {
    case MSI_SN_AND:
    case MSI_SN_OR: {
        add(q, "(");
        ms_code rc = turn_sql(q, n->a);
        if (rc)
            return rc;
        add(q, n->type == MSI_SN_AND ? " AND " : " OR ");
        rc = turn_sql(q, n->b);
        add(q, ")");
        return rc;
    }
    case MSI_SN_NOT: {
        add(q, "NOT (");
        ms_code rc = turn_sql(q, n->a);
        add(q, ")");
        return rc;
    }
    case MSI_SN_SPAN: {
        if (!q->tg->has_spans_table)
            return unsupported(q, n, "span predicates need the spans table");
        add(q, "EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.request_id AND ");
        ms_code rc = span_sql(q, n->a);
        add(q, ")");
        return rc;
    }
    case MSI_SN_CMP: break;
    default: return unsupported(q, n, "unexpected node");
    }
    switch (n->fd->id) {
    case MSI_TF_STATUS: cmp_col(q, n, "t.status"); break;
    case MSI_TF_LATENCY: cmp_col(q, n, "t.execution_time_ms"); break;
    case MSI_TF_INPUT: cmp_col(q, n, "t.request_preview"); break;
    case MSI_TF_OUTPUT: cmp_col(q, n, "t.response_preview"); break;
    case MSI_TF_TOK_INPUT:
    case MSI_TF_TOK_OUTPUT:
    case MSI_TF_TOK_TOTAL:
        if (!q->tg->has_session_id_column)
            return unsupported(q, n, "turn token counts need trace_info token columns");
        cmp_col(q, n,
                n->fd->id == MSI_TF_TOK_INPUT    ? "t.input_tokens"
                : n->fd->id == MSI_TF_TOK_OUTPUT ? "t.output_tokens"
                                                 : "t.total_tokens");
        break;
    case MSI_TF_NAME:
        if (q->tg->has_trace_name_column)
            cmp_col(q, n, "t.trace_name");
        else
            kv_exists(q, n, true, "mlflow.traceName", 16);
        break;
    case MSI_TF_TAG: kv_exists(q, n, true, n->key, n->key_len); break;
    case MSI_TF_METADATA: kv_exists(q, n, false, n->key, n->key_len); break;
    default: return unsupported(q, n, "not a per-turn field");
    }
    return MS_OK;
}

ms_code msi_sfilter_atom_sql(const ms_sfilter *f, size_t i, const struct msi_sql_target *tg,
                             struct msx_buf *sql, struct msi_sql_params *params,
                             struct ms_error *err)
{
    if (!f || i >= f->n_atoms) {
        if (err) {
            err->code = MS_E_INVALID;
            err->offset = -1;
            snprintf(err->msg, sizeof err->msg, "no such atom");
        }
        return MS_E_INVALID;
    }
    struct sq q = {tg, sql, params, MS_OK, err};
    add(&q, "(");
    ms_code rc = turn_sql(&q, f->atoms[i].pred);
    add(&q, ")");
    if (rc != MS_OK)
        return rc;
    rc = q.rc != MS_OK ? q.rc : msx_buf_status(sql);
    if (rc != MS_OK && err) {
        err->code = rc;
        err->offset = -1;
        snprintf(err->msg, sizeof err->msg, "%s", ms_strerror(rc));
    }
    return rc;
}
