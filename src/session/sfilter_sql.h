/* SPDX-License-Identifier: MIT
 *
 * sfilter_sql.h - the per-turn atoms of a session filter as SQL, for the
 * SQLite and PostgreSQL stores' session scan. Internal.
 */
#ifndef MSI_SFILTER_SQL_H
#define MSI_SFILTER_SQL_H

#include "filter/filter_sql.h"
#include "mlsession/sfilter.h"

/* Appends an SQL expression over trace_info aliased t that is 1/TRUE when
 * the trace satisfies atom i (e.g. an EXISTS over spans), binding every
 * value into params. MS_E_UNSUPPORTED when the target lacks what the atom
 * needs: the caller then evaluates it in memory with spans. */
ms_code msi_sfilter_atom_sql(const ms_sfilter *f, size_t i, const struct msi_sql_target *tg,
                             struct msx_buf *sql, struct msi_sql_params *params,
                             struct ms_error *err);

#endif
