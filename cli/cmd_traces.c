/* SPDX-License-Identifier: MIT
 *
 * mlsession traces search|get: the flags, defaults, output shapes and exit
 * codes of `mlflow traces search/get`.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "mlsession/filter.h"
#include "mlsession/store.h"

static void traces_usage(FILE *out)
{
    fprintf(out,
            "usage: mlsession [--tracking-uri URI] traces search [options]\n"
            "       mlsession [--tracking-uri URI] traces get --trace-id ID [--output json]\n"
            "\n"
            "search: traces of the chosen experiments, as `mlflow traces search` answers.\n"
            "  -x, --experiment-id ID[,ID...]  repeatable; default $MLFLOW_EXPERIMENT_ID,\n"
            "                                  else every experiment of the store\n"
            "  --experiment-name NAME          default $MLFLOW_EXPERIMENT_NAME\n"
            "  --filter-string S               MLflow's filter language, e.g.\n"
            "                                  \"metadata.`mlflow.trace.session` = 's1'\"\n"
            "  --order-by S                    comma list, repeatable (\"timestamp_ms ASC\");\n"
            "                                  default timestamp_ms DESC, then request_id\n"
            "  --max-results N                 page size (default 100)\n"
            "  --page-token T                  the next page of an earlier search\n"
            "  --run-id ID                     adds run_id = 'ID' to the filter\n"
            "  --include-spans | --no-include-spans   (default include)\n"
            "  --output table|json             (default table)\n"
            "  --extract-fields a,b            only these fields: dot paths, `backticks`\n"
            "                                  for keys with dots, '*' over keys and items\n"
            "                                  (\"info.trace_id,data.spans.*.name\")\n"
            "\n"
            "get: one trace with its spans, printed as `mlflow traces get` prints it.\n"
            "  --trace-id ID                   the trace (tr-...)\n"
            "  --output json                   the only format of get\n"
            "  --extract-fields a,b            only these fields (as for search)\n");
}

/* The filter text with a caret under the error's byte. */
static void filter_error(const char *text, const struct ms_error *err)
{
    if (err->offset < 0) {
        cli_error("filter: %s", err->msg);
        return;
    }
    cli_error("filter: %s at byte %lld", err->msg, (long long)err->offset);
    fprintf(stderr, "  %s\n  %*s^\n", text, (int)err->offset, "");
}

static int print_buffer(char *buf, size_t len)
{
    int status = EXIT_OK;
    if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
        cli_error("cannot write to standard output");
        status = EXIT_WORK;
    }
    free(buf);
    return status;
}

/* Prints a result's warnings (an incomplete answer) on stderr; returns
 * how many there were. */
static size_t report_warnings(const ms_trace_set *set)
{
    const char *notice = ms_trace_set_notice(set);
    if (notice)
        cli_error("note: %s", notice);
    size_t n = ms_trace_set_warning_count(set), shown = 0;
    for (const char *w; (w = ms_trace_set_warning(set, shown)) != NULL; shown++)
        cli_error("warning: %s", w);
    if (n > shown)
        cli_error("warning: %zu more like these", n - shown);
    return n;
}

/* Store errors: bad requests (a page token, a name) are usage errors. */
static int exit_for(ms_code rc)
{
    switch (rc) {
    case MS_E_INVALID:
    case MS_E_PARSE:
    case MS_E_NOTFOUND:
    case MS_E_UNSUPPORTED:
        return EXIT_USAGE;
    default:
        return EXIT_WORK;
    }
}

#define MAX_ORDER 16

static int traces_search(struct cli_globals *g, int argc, char **argv)
{
    struct cli_experiments x = {0};
    const char *filter_text = NULL, *page_token = NULL, *output = "table", *run_id = NULL;
    const char *extract = NULL;
    ms_fields *fields = NULL;
    char *order_buf[MAX_ORDER] = {0};
    size_t n_order = 0;
    int64_t max_results = 100;
    bool include_spans = true;
    int rc = EXIT_OK;
    for (int i = 1; i < argc && rc == EXIT_OK; i++) {
        const char *v;
        if (cli_is_help(argv[i])) {
            traces_usage(stdout);
            goto out;
        } else if (cli_experiment_option(&x, argc, argv, &i, &rc))
            continue;
        else if (cli_opt_value(argc, argv, &i, "--filter-string", &v))
            filter_text = v ? v : "";
        else if (cli_opt_value(argc, argv, &i, "--page-token", &v))
            page_token = v;
        else if (cli_opt_value(argc, argv, &i, "--run-id", &v))
            run_id = v;
        else if (cli_opt_value(argc, argv, &i, "--output", &v))
            output = v ? v : "";
        else if (cli_opt_value(argc, argv, &i, "--extract-fields", &v))
            extract = v ? v : "";
        else if (strcmp(argv[i], "--include-spans") == 0)
            include_spans = true;
        else if (strcmp(argv[i], "--no-include-spans") == 0)
            include_spans = false;
        else if (cli_opt_value(argc, argv, &i, "--max-results", &v)) {
            char *end;
            long long n = v ? strtoll(v, &end, 10) : 0;
            if (!v || *end || n <= 0) {
                cli_error("traces search: --max-results needs a positive integer");
                rc = EXIT_USAGE;
            }
            max_results = n;
        } else if (cli_opt_value(argc, argv, &i, "--order-by", &v)) {
            /* a comma list, as MLflow's CLI splits it */
            for (const char *p = v ? v : ""; *p && rc == EXIT_OK;) {
                const char *e = strchr(p, ',');
                size_t n = e ? (size_t)(e - p) : strlen(p);
                while (n && *p == ' ')
                    p++, n--;
                while (n && p[n - 1] == ' ')
                    n--;
                if (n_order == MAX_ORDER || !(order_buf[n_order] = strndup(p, n))) {
                    cli_error("traces search: too many --order-by clauses");
                    rc = EXIT_USAGE;
                    break;
                }
                n_order++;
                p = e ? e + 1 : p + strlen(p);
            }
        } else {
            cli_error("traces search: unknown option '%s' (see 'mlsession traces --help')",
                      argv[i]);
            rc = EXIT_USAGE;
        }
    }
    if (rc != EXIT_OK)
        goto out;
    bool json = strcmp(output, "json") == 0;
    if (!json && strcmp(output, "table") != 0) {
        cli_error("traces search: --output must be table or json, not '%s'", output);
        rc = EXIT_USAGE;
        goto out;
    }
    if (extract && ms_fields_parse(extract, &fields) != MS_OK) {
        rc = EXIT_WORK;
        goto out;
    }
    /* --run-id joins the filter, as MLflow's CLI does */
    char *joined = NULL;
    if (run_id) {
        size_t n = (filter_text ? strlen(filter_text) : 0) + strlen(run_id) + 32;
        joined = malloc(n);
        if (!joined) {
            rc = EXIT_WORK;
            goto out;
        }
        if (filter_text && *filter_text)
            snprintf(joined, n, "%s AND run_id = '%s'", filter_text, run_id);
        else
            snprintf(joined, n, "run_id = '%s'", run_id);
        filter_text = joined;
    }
    struct ms_error err = {0};
    ms_filter *filter = NULL;
    if (filter_text && ms_filter_parse(filter_text, &filter, &err) != MS_OK) {
        filter_error(filter_text, &err);
        free(joined);
        rc = EXIT_USAGE;
        goto out;
    }
    ms_store *store = cli_open_store(g);
    if (!store) {
        rc = EXIT_USAGE;
        goto done_filter;
    }
    if (!cli_resolve_experiments(store, &x)) {
        rc = EXIT_USAGE;
        goto done_store;
    }
    struct ms_search req = {1, x.ptrs, x.n, filter, (const char *const *)order_buf, n_order,
                            max_results, page_token, include_spans};
    ms_trace_set *set = NULL;
    ms_code mrc = ms_store_search(store, &req, &set, &err);
    if (mrc != MS_OK) {
        if (mrc == MS_E_PARSE && n_order)
            cli_error("%s", err.msg); /* names order_by itself */
        else
            cli_store_error(g, &err);
        rc = exit_for(mrc);
        goto done_store;
    }
    char *buf = NULL;
    size_t len = 0;
    mrc = json ? ms_search_to_json(set, include_spans, fields, &buf, &len, &err)
               : ms_search_to_table(set, fields, &buf, &len, &err);
    if (mrc != MS_OK) {
        cli_error("%s%s", mrc == MS_E_INVALID ? "--extract-fields: " : "output: ", err.msg);
        rc = mrc == MS_E_INVALID ? EXIT_USAGE : EXIT_WORK;
    } else {
        rc = print_buffer(buf, len);
        /* the answer is there but incomplete: say so in the exit status */
        if (report_warnings(set) && rc == EXIT_OK)
            rc = EXIT_WORK;
    }
    ms_trace_set_free(set);
done_store:
    ms_store_close(store);
done_filter:
    ms_filter_free(filter);
    free(joined);
out:
    for (size_t k = 0; k < n_order; k++)
        free(order_buf[k]);
    ms_fields_free(fields);
    return rc;
}

static int traces_get(struct cli_globals *g, int argc, char **argv)
{
    const char *trace_id = NULL, *output = "json", *extract = NULL;
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
        else if (cli_opt_value(argc, argv, &i, "--extract-fields", &v))
            extract = v ? v : "";
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
    ms_store *store = cli_open_store(g);
    if (!store)
        return EXIT_USAGE;
    struct ms_error err = {0};
    ms_trace_set *set = NULL;
    ms_code rc = ms_store_get_trace(store, trace_id, &set, &err);
    if (rc != MS_OK) {
        cli_store_error(g, &err);
        ms_store_close(store);
        return exit_for(rc);
    }
    char *json = NULL;
    size_t len = 0;
    ms_fields *fields = NULL;
    if (extract && ms_fields_parse(extract, &fields) != MS_OK)
        rc = MS_E_NOMEM;
    else
        rc = ms_trace_to_json_fields(ms_trace_set_at(set, 0), fields, &json, &len, &err);
    ms_fields_free(fields);
    size_t warnings = rc == MS_OK ? report_warnings(set) : 0;
    ms_trace_set_free(set);
    ms_store_close(store);
    if (rc == MS_E_INVALID) {
        cli_error("--extract-fields: %s", err.msg);
        return EXIT_USAGE;
    }
    if (rc != MS_OK) {
        cli_lib_error(trace_id, &err);
        return EXIT_WORK;
    }
    int status = print_buffer(json, len);
    return warnings && status == EXIT_OK ? EXIT_WORK : status;
}

int cmd_traces(struct cli_globals *g, int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        traces_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (strcmp(argv[1], "get") == 0)
        return traces_get(g, argc - 1, argv + 1);
    if (strcmp(argv[1], "search") == 0)
        return traces_search(g, argc - 1, argv + 1);
    cli_error("traces: unknown subcommand '%s' (see 'mlsession traces --help')", argv[1]);
    return EXIT_USAGE;
}
