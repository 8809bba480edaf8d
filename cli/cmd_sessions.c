/* SPDX-License-Identifier: MIT
 *
 * mlsession sessions list | show.
 */
#include <string.h>

#include "cli/cli.h"

int cmd_sessions(struct cli_globals *g, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "show") == 0)
        return cmd_sessions_show(g, argc - 1, argv + 1);
    cli_error("sessions: not built yet");
    return EXIT_WORK;
}
