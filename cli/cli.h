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
    bool quiet;               /* --quiet: no progress, no notes */
    bool color;               /* stdout is a terminal, NO_COLOR unset, not --color=never */
    bool progress;            /* stderr is a terminal and not --quiet */
};

/* ---- untrusted text (text.c) ---- */
struct msx_buf;
/* CLI_ESC_TERM: line breaks kept (newline + indent); CLI_ESC_LINE: on one
 * line (a break becomes a space); CLI_ESC_MD: Markdown, specials escaped;
 * CLI_ESC_SHOWN, CLI_ESC_MD_SHOWN: on one line with breaks and tabs shown
 * as \n and \t (evidence quoted exactly). */
enum cli_esc { CLI_ESC_TERM, CLI_ESC_LINE, CLI_ESC_MD, CLI_ESC_SHOWN, CLI_ESC_MD_SHOWN };
/* Appends s: control characters and C1 controls as visible escapes, bidi
 * overrides as \uXXXX, invalid UTF-8 as U+FFFD; cut at max bytes (0: no
 * cut) on a character boundary, marked with an ellipsis. */
void cli_put_text(struct msx_buf *b, ms_str s, size_t max, enum cli_esc mode, const char *indent);

/* ---- terminal manners (term.c) ---- */
enum cli_style { CLI_BOLD, CLI_DIM, CLI_RED, CLI_YELLOW, CLI_GREEN, CLI_CYAN, CLI_RESET };
/* The escape sequence of a style, or "" when colour is off. */
const char *cli_style(const struct cli_globals *g, enum cli_style s);
/* Decides colour and progress from the terminal, NO_COLOR and the mode
 * given with --color (auto, always, never); false for an unknown mode. */
bool cli_term_init(struct cli_globals *g, const char *color_mode);
/* A progress line on stderr for work that takes more than a second, only
 * on a terminal: "label: 12345 of 67890" redrawn at most 10 times a
 * second, erased at the end. total 0: unknown. */
struct cli_progress {
    const struct cli_globals *g;
    const char *label;
    long long start_ms, last_ms;
    bool shown;
};
void cli_progress_start(struct cli_progress *p, const struct cli_globals *g, const char *label);
void cli_progress_update(struct cli_progress *p, unsigned long long done,
                         unsigned long long total);
void cli_progress_end(struct cli_progress *p);

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
int cmd_report(struct cli_globals *g, int argc, char **argv);
int cmd_correlate(struct cli_globals *g, int argc, char **argv);

#endif
