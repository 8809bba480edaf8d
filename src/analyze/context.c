/* SPDX-License-Identifier: MIT
 *
 * context.c - placeholder analyzer (no rules yet); replaced by its owner.
 */
#include "analyze/analyze_int.h"

static ms_code run_context(struct msi_ctx *c)
{
    (void)c;
    return MS_OK;
}

const struct msi_analyzer msi_analyzer_context = {"context", NULL, 0, run_context};
