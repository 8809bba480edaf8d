/* SPDX-License-Identifier: MIT
 *
 * Terminal manners: colour only when stdout is a terminal and NO_COLOR is
 * not set (https://no-color.org), a progress line on stderr only when it
 * is a terminal, after a second, and never with --quiet.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

static const char *const SGR[] = {"\033[1m",  "\033[2m",  "\033[31m", "\033[33m",
                                  "\033[32m", "\033[36m", "\033[0m"};

const char *cli_style(const struct cli_globals *g, enum cli_style s)
{
    return g && g->color ? SGR[s] : "";
}

bool cli_term_init(struct cli_globals *g, const char *mode)
{
    const char *nc = getenv("NO_COLOR");
    const char *term = getenv("TERM");
    bool tty = isatty(STDOUT_FILENO) && !(term && strcmp(term, "dumb") == 0);
    if (!mode || strcmp(mode, "auto") == 0)
        g->color = tty && !(nc && *nc);
    else if (strcmp(mode, "always") == 0)
        g->color = !(nc && *nc);
    else if (strcmp(mode, "never") == 0)
        g->color = false;
    else
        return false;
    g->progress = !g->quiet && isatty(STDERR_FILENO);
    return true;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cli_progress_start(struct cli_progress *p, const struct cli_globals *g, const char *label)
{
    p->g = g;
    p->label = label;
    p->start_ms = now_ms();
    p->last_ms = 0;
    p->shown = false;
}

void cli_progress_update(struct cli_progress *p, unsigned long long done,
                         unsigned long long total)
{
    if (!p->g || !p->g->progress)
        return;
    long long t = now_ms();
    if (t - p->start_ms < 1000 || t - p->last_ms < 100)
        return;
    p->last_ms = t;
    p->shown = true;
    if (total) {
        int width = 30, fill = (int)(done * (unsigned long long)width / total);
        if (fill > width)
            fill = width;
        fprintf(stderr, "\r%s [%.*s%*s] %llu/%llu\033[K", p->label, fill,
                "##############################", width - fill, "", done, total);
    } else {
        fprintf(stderr, "\r%s: %llu\033[K", p->label, done);
    }
    fflush(stderr);
}

void cli_progress_end(struct cli_progress *p)
{
    if (p->shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->shown = false;
}
