/* SPDX-License-Identifier: MIT
 *
 * mlsession traces get: print one trace as `mlflow traces get` does.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "mlsession/trace.h"

static void traces_usage(FILE *out)
{
    fprintf(out,
            "usage: mlsession [--tracking-uri URI] traces get --trace-id ID [--output json]\n"
            "\n"
            "Prints one trace as JSON, in the shape and bytes of `mlflow traces get`.\n"
            "\n"
            "Options:\n"
            "  --trace-id ID    the trace to print (tr-...)\n"
            "  --output json    the output format (json is the only one for get)\n");
}

/* A tracking URI this build can read: a path to an exported JSON file,
 * optionally as file://. */
static const char *export_path(const char *uri)
{
    if (strncmp(uri, "file://", 7) == 0)
        return uri + 7;
    if (strstr(uri, "://"))
        return NULL;
    return uri;
}

static int traces_get(struct cli_globals *g, int argc, char **argv)
{
    const char *trace_id = NULL, *output = "json";
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (cli_is_help(argv[i])) {
            traces_usage(stdout);
            return EXIT_OK;
        }
        if (cli_opt_value(argc, argv, &i, "--trace-id", &v))
            trace_id = v ? v : "";
        else if (cli_opt_value(argc, argv, &i, "--output", &v))
            output = v ? v : "";
        else {
            cli_error("traces get: unknown option '%s' (see 'mlsession traces --help')", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (!trace_id || !*trace_id) {
        cli_error("traces get: --trace-id is required");
        return EXIT_USAGE;
    }
    if (strcmp(output, "json") != 0) {
        cli_error("traces get: unknown --output '%s' (json is the only format)", output);
        return EXIT_USAGE;
    }
    if (!g->tracking_uri) {
        cli_error("no store given: pass --tracking-uri FILE.json or set MLFLOW_TRACKING_URI");
        return EXIT_USAGE;
    }
    const char *path = export_path(g->tracking_uri);
    if (!path) {
        cli_error("%s: this build reads exported JSON files only (no store scheme yet)",
                  g->tracking_uri);
        return EXIT_USAGE;
    }
    struct ms_error err = {0};
    ms_trace_set *set = NULL;
    ms_code rc = ms_trace_set_load_file(path, &set, &err);
    if (rc != MS_OK) {
        cli_lib_error(path, &err);
        return rc == MS_E_NOMEM ? EXIT_WORK : EXIT_USAGE;
    }
    const ms_trace *t = ms_trace_set_find(set, trace_id);
    if (!t) {
        cli_error("%s: no trace with id '%s'", path, trace_id);
        ms_trace_set_free(set);
        return EXIT_USAGE;
    }
    char *json = NULL;
    size_t len = 0;
    rc = ms_trace_to_json(t, &json, &len, &err);
    ms_trace_set_free(set);
    if (rc != MS_OK) {
        cli_lib_error(trace_id, &err);
        return EXIT_WORK;
    }
    int status = EXIT_OK;
    if (fwrite(json, 1, len, stdout) != len || fflush(stdout) != 0) {
        cli_error("cannot write to standard output");
        status = EXIT_WORK;
    }
    free(json);
    return status;
}

int cmd_traces(struct cli_globals *g, int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        traces_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (strcmp(argv[1], "get") == 0)
        return traces_get(g, argc - 1, argv + 1);
    cli_error("traces: unknown subcommand '%s' (see 'mlsession traces --help')", argv[1]);
    return EXIT_USAGE;
}
