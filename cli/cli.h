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
#include "mlsession/store.h"

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

/* Opens the store named by the globals (or found in the working
 * directory); prints the error and returns NULL on failure. */
ms_store *cli_open_store(const struct cli_globals *g);
/* A store error, prefixed with the store's URI (password hidden). */
void cli_store_error(const struct cli_globals *g, const struct ms_error *err);

#define CLI_MAX_EXPERIMENTS 64
struct cli_experiments {
    char ids[CLI_MAX_EXPERIMENTS][64];
    const char *ptrs[CLI_MAX_EXPERIMENTS];
    size_t n;
    const char *name;
};
/* Consumes --experiment-id/-x and --experiment-name at argv[*i]; *rc is
 * set on a usage error. */
bool cli_experiment_option(struct cli_experiments *x, int argc, char **argv, int *i, int *rc);
/* Applies MLFLOW_EXPERIMENT_ID/NAME when no option was given and turns a
 * name into its id. */
bool cli_resolve_experiments(ms_store *store, struct cli_experiments *x);

int cmd_traces(struct cli_globals *g, int argc, char **argv);
int cmd_experiments(struct cli_globals *g, int argc, char **argv);
int cmd_sessions(struct cli_globals *g, int argc, char **argv);
/* sessions show SESSION_ID (argv[0] is "show") and turn TRACE_ID: cmd_show.c */
int cmd_sessions_show(struct cli_globals *g, int argc, char **argv);
int cmd_turn(struct cli_globals *g, int argc, char **argv);
int cmd_mcp(struct cli_globals *g, int argc, char **argv);
int cmd_analyze(struct cli_globals *g, int argc, char **argv);
int cmd_patterns(struct cli_globals *g, int argc, char **argv);

#endif
