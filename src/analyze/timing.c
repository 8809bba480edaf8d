/* SPDX-License-Identifier: MIT
 *
 * timing.c - placeholder analyzer (no rules yet); replaced by its owner.
 */
#include "analyze/analyze_int.h"

static ms_code run_timing(struct msi_ctx *c)
{
    (void)c;
    return MS_OK;
}

const struct msi_analyzer msi_analyzer_timing = {"timing", NULL, 0, run_timing};
