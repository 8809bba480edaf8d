/* SPDX-License-Identifier: MIT
 *
 * assessments.c - placeholder analyzer (no rules yet); replaced by its owner.
 */
#include "analyze/analyze_int.h"

static ms_code run_assessments(struct msi_ctx *c)
{
    (void)c;
    return MS_OK;
}

const struct msi_analyzer msi_analyzer_assessments = {"assessments", NULL, 0, run_assessments};
