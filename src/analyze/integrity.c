/* SPDX-License-Identifier: MIT
 *
 * integrity.c - placeholder analyzer (no rules yet); replaced by its owner.
 */
#include "analyze/analyze_int.h"

static ms_code run_integrity(struct msi_ctx *c)
{
    (void)c;
    return MS_OK;
}

const struct msi_analyzer msi_analyzer_integrity = {"integrity", NULL, 0, run_integrity};
