/* SPDX-License-Identifier: MIT
 *
 * Entry point: global options, then a command from commands[] (git's
 * git.c). Data goes to stdout, diagnostics to stderr, one line each.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const struct cli_command commands[] = {
    {"traces", "search and read traces: traces search, traces get", cmd_traces},
    {"experiments", "list the store's experiments", cmd_experiments},
    {"sessions", "group traces into sessions: sessions list, sessions show", cmd_sessions},
    {"turn", "one turn's span tree: turn TRACE_ID", cmd_turn},
    {"analyze", "find what went wrong and where it started", cmd_analyze},
    {"patterns", "failure patterns across sessions", cmd_patterns},
    {"report", "one-file HTML or Markdown report", cmd_report},
    {"correlate", "link sessions and findings to the source code", cmd_correlate},
    {"mcp", "a Model Context Protocol server on stdio, for AI agents", cmd_mcp},
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mlsession [--tracking-uri URI] <command> [options]\n"
            "       mlsession --version | --help\n"
            "\n"
            "Tells why a chat session of an LLM application went wrong, from the\n"
            "traces MLflow recorded. Reads stores read-only.\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "Global options:\n"
            "  --tracking-uri URI  the store, read-only (default: $MLFLOW_TRACKING_URI,\n"
            "                      else ./mlflow.db, else ./mlruns):\n"
            "                        sqlite:///path/mlflow.db or path/mlflow.db\n"
            "                        file:///path/mlruns or path/mlruns\n"
            "                        postgresql://user:password@host:port/db\n"
            "                        http(s)://host:port (a tracking server)\n"
            "                        path/export.json: `mlflow traces search --output json`\n"
            "                        (all pages), `mlflow traces get`, JSON Lines\n"
            "  -q, --quiet         no progress line, no notes (errors still go to stderr)\n"
            "  --color WHEN        auto (default: only on a terminal, never with\n"
            "                      NO_COLOR set), always, never; --no-color = never\n"
            "  --version           print the version and exit\n"
            "  -h, --help          print this help and exit\n"
            "\n"
            "Exit status: 0 success, 1 the work failed (I/O, out of memory),\n"
            "2 bad usage or bad input (unknown option, malformed file, unknown id).\n"
            "\n"
            "Run 'mlsession <command> --help' for a command's options.\n");
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mlsession: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void cli_lib_error(const char *where, const struct ms_error *err)
{
    if (err->offset >= 0)
        cli_error("%s: invalid json at byte %lld: %s", where, (long long)err->offset, err->msg);
    else
        cli_error("%s: %s", where, err->msg);
}

bool cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

bool cli_opt_value(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return false;
    if (a[n] == '=') {
        *value = a + n + 1;
        return true;
    }
    if (a[n] != '\0')
        return false;
    if (*i + 1 >= argc) {
        *value = NULL; /* caller reports the missing value */
        return true;
    }
    *value = argv[++*i];
    return true;
}

int main(int argc, char **argv)
{
    struct cli_globals g = {getenv("MLFLOW_TRACKING_URI"), false, false, false};
    const char *color = "auto";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *v;
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return EXIT_OK;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("mlsession %s\n", ms_version());
            return EXIT_OK;
        }
        if (cli_opt_value(argc, argv, &i, "--tracking-uri", &v)) {
            if (!v) {
                cli_error("option --tracking-uri needs a value");
                return EXIT_USAGE;
            }
            g.tracking_uri = v;
            continue;
        }
        if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0) {
            g.quiet = true;
            continue;
        }
        if (strcmp(argv[i], "--no-color") == 0) {
            color = "never";
            continue;
        }
        if (cli_opt_value(argc, argv, &i, "--color", &v)) {
            if (!v) {
                cli_error("option --color needs a value (auto, always, never)");
                return EXIT_USAGE;
            }
            color = v;
            continue;
        }
        cli_error("unknown option '%s' (see 'mlsession --help')", argv[i]);
        return EXIT_USAGE;
    }
    if (!cli_term_init(&g, color)) {
        cli_error("unknown --color '%s' (auto, always, never)", color);
        return EXIT_USAGE;
    }
    if (i == argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++)
        if (strcmp(argv[i], commands[c].name) == 0)
            return commands[c].run(&g, argc - i, argv + i);
    cli_error("unknown command '%s' (see 'mlsession --help')", argv[i]);
    return EXIT_USAGE;
}
