/* SPDX-License-Identifier: MIT */
#include "analyze/analyze_int.h"

static ms_code run_loops(struct msi_ctx *c)
{
    (void)c;
    return MS_OK;
}

const struct msi_analyzer msi_analyzer_loops = {"loops", NULL, 0, run_loops};
