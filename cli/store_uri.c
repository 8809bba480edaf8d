/* SPDX-License-Identifier: MIT
 *
 * Where the store comes from: --tracking-uri, else $MLFLOW_TRACKING_URI,
 * else ./mlflow.db if present, else ./mlruns if present, else an error that
 * lists what was tried. Also the experiment selection shared by commands.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "util/uri.h"

ms_store *cli_open_store(const struct cli_globals *g)
{
    const char *uri = g->tracking_uri;
    struct stat st;
    if (!uri) {
        if (stat("mlflow.db", &st) == 0)
            uri = "mlflow.db";
        else if (stat("mlruns", &st) == 0 && S_ISDIR(st.st_mode))
            uri = "mlruns";
        else {
            cli_error("no store found: tried --tracking-uri, $MLFLOW_TRACKING_URI, ./mlflow.db "
                      "and ./mlruns");
            return NULL;
        }
    }
    ms_store *store = NULL;
    struct ms_error err = {0};
    if (ms_store_open(uri, &store, &err) != MS_OK) {
        char shown[512];
        msx_uri_redact(uri, shown, sizeof shown); /* never print a password */
        const char *colon = strstr(err.msg, ": ");
        const char *scheme = strstr(err.msg, "://");
        if (strstr(err.msg, uri) == err.msg || (scheme && colon && scheme < colon))
            cli_error("%s", err.msg); /* the message names the store already */
        else
            cli_lib_error(shown, &err);
        return NULL;
    }
    return store;
}

/* Adds the ids of "a,b,c" to the list; false on a malformed list. */
static bool add_ids(struct cli_experiments *x, const char *list)
{
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0 || n > 60 || x->n == CLI_MAX_EXPERIMENTS)
            return false;
        memcpy(x->ids[x->n], p, n);
        x->ids[x->n][n] = '\0';
        x->ptrs[x->n] = x->ids[x->n];
        x->n++;
        p += n + (e != NULL);
        if (e && !*p)
            return false;
    }
    return true;
}

bool cli_experiment_option(struct cli_experiments *x, int argc, char **argv, int *i, int *rc)
{
    const char *v;
    if (cli_opt_value(argc, argv, i, "--experiment-id", &v) ||
        cli_opt_value(argc, argv, i, "-x", &v)) {
        if (!v || !add_ids(x, v)) {
            cli_error("--experiment-id needs an id or a comma list of ids");
            *rc = EXIT_USAGE;
        }
        return true;
    }
    if (cli_opt_value(argc, argv, i, "--experiment-name", &v)) {
        if (!v || !*v) {
            cli_error("--experiment-name needs a name");
            *rc = EXIT_USAGE;
        }
        x->name = v;
        return true;
    }
    return false;
}

bool cli_resolve_experiments(ms_store *store, struct cli_experiments *x)
{
    if (!x->n && !x->name) {
        const char *env = getenv("MLFLOW_EXPERIMENT_ID");
        if (env && *env && !add_ids(x, env)) {
            cli_error("MLFLOW_EXPERIMENT_ID is not an id or a comma list of ids");
            return false;
        }
        if (!x->n)
            x->name = getenv("MLFLOW_EXPERIMENT_NAME");
        if (x->name && !*x->name)
            x->name = NULL;
    }
    if (!x->name)
        return true;
    const ms_experiment *list;
    size_t n;
    struct ms_error err = {0};
    if (ms_store_experiments(store, &list, &n, &err) != MS_OK) {
        cli_lib_error("experiments", &err);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        if (list[i].name.ptr && strcmp(list[i].name.ptr, x->name) == 0)
            return add_ids(x, list[i].experiment_id.ptr);
    cli_error("no experiment named '%s'", x->name);
    return false;
}

void cli_store_error(const struct cli_globals *g, const struct ms_error *err)
{
    char shown[512];
    msx_uri_redact(g->tracking_uri ? g->tracking_uri : "store", shown, sizeof shown);
    cli_lib_error(shown, err);
}
