/* SPDX-License-Identifier: MIT
 *
 * mlsession sessions show / turn - placeholder until the transcript lands.
 */
#include "cli/cli.h"

int cmd_sessions_show(struct cli_globals *g, int argc, char **argv)
{
    (void)g;
    (void)argc;
    (void)argv;
    cli_error("sessions show: not built yet");
    return EXIT_WORK;
}

int cmd_turn(struct cli_globals *g, int argc, char **argv)
{
    (void)g;
    (void)argc;
    (void)argv;
    cli_error("turn: not built yet");
    return EXIT_WORK;
}
