/* SPDX-License-Identifier: MIT
 *
 * The mlsession binary: shared bits of the command files. Commands parse
 * their arguments, call the public library API and print; no logic here.
 */
#ifndef MS_CLI_H
#define MS_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "mlsession/mlsession.h"

/* Exit codes (docs/cli/exit-codes.md). */
enum { EXIT_OK = 0, EXIT_WORK = 1, EXIT_USAGE = 2 };

struct cli_globals {
    const char *tracking_uri; /* --tracking-uri, else MLFLOW_TRACKING_URI */
};

struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(struct cli_globals *g, int argc, char **argv);
};

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
void cli_error(const char *fmt, ...);
/* Prints "mlsession: <where>: <msg>" for a library error. */
void cli_lib_error(const char *where, const struct ms_error *err);
/* Matches "--name VALUE" or "--name=VALUE" at argv[*i]; advances *i. */
bool cli_opt_value(int argc, char **argv, int *i, const char *name, const char **value);
bool cli_is_help(const char *arg);

int cmd_traces(struct cli_globals *g, int argc, char **argv);

#endif
