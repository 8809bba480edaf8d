/* SPDX-License-Identifier: MIT
 *
 * mlsession experiments list: id, name and trace count of every active
 * experiment in the store.
 */
#include <string.h>

#include "cli/cli.h"
#include "mlsession/store.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: mlsession [--tracking-uri URI] experiments list\n"
                 "\n"
                 "Lists the store's active experiments: id, name, number of traces.\n");
}

int cmd_experiments(struct cli_globals *g, int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (strcmp(argv[1], "list") != 0 || argc > 2) {
        cli_error("experiments: unknown arguments (see 'mlsession experiments --help')");
        return EXIT_USAGE;
    }
    ms_store *store = cli_open_store(g);
    if (!store)
        return EXIT_USAGE;
    const ms_experiment *list;
    size_t n;
    struct ms_error err = {0};
    if (ms_store_experiments(store, &list, &n, &err) != MS_OK) {
        cli_lib_error("experiments", &err);
        ms_store_close(store);
        return EXIT_WORK;
    }
    size_t wid = strlen("experiment_id"), wname = strlen("name");
    for (size_t i = 0; i < n; i++) {
        if (list[i].experiment_id.len > wid)
            wid = list[i].experiment_id.len;
        if (list[i].name.len > wname)
            wname = list[i].name.len;
    }
    printf("%-*s  %-*s  %s\n", (int)wid, "experiment_id", (int)wname, "name", "traces");
    for (size_t i = 0; i < n; i++) {
        printf("%-*s  %-*s  ", (int)wid, list[i].experiment_id.ptr, (int)wname,
               list[i].name.ptr ? list[i].name.ptr : "");
        if (list[i].trace_count >= 0)
            printf("%lld\n", (long long)list[i].trace_count);
        else
            printf("?\n");
    }
    ms_store_close(store);
    return EXIT_OK;
}
