/* SPDX-License-Identifier: MIT
 *
 * filter_sql.h - compiling a parsed filter and order_by into SQL over
 * MLflow's tracking schema, the way MLflow 3.17.2's sqlalchemy_store does,
 * for the SQLite and PostgreSQL stores. Internal: only store backends use
 * it. Every user value is bound as a parameter; only fixed words and the
 * keys of order_by (quoted as SQL literals) go into the text.
 */
#ifndef MSI_FILTER_SQL_H
#define MSI_FILTER_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlsession/filter.h"
#include "util/buf.h"

/* What the database has; a store fills it by introspection. Fields after
 * the first four default to false with a designated initialiser. */
struct msi_sql_target {
    enum { MSI_SQL_SQLITE, MSI_SQL_POSTGRES } dialect;
    bool has_session_id_column;   /* trace_info.session_id (and promoted
                                     token/cost columns: MLflow >= 3.17) */
    bool has_spans_table;         /* spans (MLflow >= 3.4) */
    bool has_assessments_table;   /* assessments (MLflow >= 3.2) */
    bool has_trace_name_column;   /* trace_info.trace_name (tag mlflow.traceName
                                     no longer in trace_tags) */
    bool has_entity_associations_table; /* run and prompt links */
    bool has_assessment_aggregate_columns; /* assessments.aggregate_value,
                                              is_numeric_value */
    /* SQLite: write ORDER BY terms as +expr so the planner filters by an
     * index (session) instead of walking the (experiment, time) index to
     * avoid a sort; set when the filter pins few rows */
    bool order_without_index;
};

/* Does f select by session id (= or IN on metadata mlflow.trace.session)? */
bool msi_filter_pins_session(const ms_filter *f);
/* Does f select by = or IN on some tag or metadata key, or on the trace
 * id (a few traces, found through an index rather than by walking the
 * experiment)? */
bool msi_filter_pins_kv(const ms_filter *f);

enum msi_sql_type { MSI_SQL_TEXT = 1, MSI_SQL_INT64 = 2, MSI_SQL_DOUBLE = 3 };

struct msi_sql_param {
    enum msi_sql_type type;
    char *text; /* MSI_SQL_TEXT: owned, NUL-terminated (len bytes) */
    size_t len;
    int64_t i;
    double d;
};

/* The values for the placeholders, in order. A store may push its own
 * parameters first: PostgreSQL placeholders continue the numbering ($n+1). */
struct msi_sql_params {
    struct msi_sql_param *v;
    size_t n;
    size_t cap;
};

void msi_sql_params_init(struct msi_sql_params *p);
void msi_sql_params_release(struct msi_sql_params *p); /* NULL ok */
ms_code msi_sql_params_add_text(struct msi_sql_params *p, const char *s, size_t n);
ms_code msi_sql_params_add_int(struct msi_sql_params *p, int64_t v);
ms_code msi_sql_params_add_double(struct msi_sql_params *p, double v);

/* Appends a WHERE fragment (no "WHERE") over trace_info aliased t to where,
 * and its values to params. f NULL or empty gives "1" (SQLite) or "TRUE"
 * (PostgreSQL). MS_E_UNSUPPORTED (err->offset at the clause) when a clause
 * needs a table or column the target lacks: evaluate in memory instead.
 * On failure where and params may hold a partial result: discard them. */
ms_code msi_filter_to_sql(const ms_filter *f, const struct msi_sql_target *target,
                          struct msx_buf *where, struct msi_sql_params *params,
                          struct ms_error *err);

/* Appends the ORDER BY list (no "ORDER BY"), tie-breaks included. */
ms_code msi_order_to_sql(const ms_order *o, const struct msi_sql_target *target,
                         struct msx_buf *out);

#endif
