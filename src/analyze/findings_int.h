/* SPDX-License-Identifier: MIT
 *
 * findings_int.h - what rules.c needs of findings.c beyond the analyzers'
 * contract (analyze_int.h): making, ordering and trimming a collection.
 */
#ifndef MSI_FINDINGS_INT_H
#define MSI_FINDINGS_INT_H

#include "analyze/analyze_int.h"

/* A new empty collection, or NULL when out of memory. */
ms_findings *msi_findings_new(void);
/* Root causes first, then severity (most severe first), turn, rule, then
 * the order they were added. */
void msi_findings_sort(ms_findings *f);
/* Drops the findings whose rule o does not select. */
void msi_findings_filter(ms_findings *f, const struct ms_analyze_options *o);

#endif
