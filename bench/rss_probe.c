// SPDX-License-Identifier: MIT
/*
 * rss_probe: run a command, report its wall time and memory.
 *
 *   rss_probe [-o OUT] [-i IN] CMD ARG...
 *
 * stdout of CMD goes to OUT (default /dev/null), stdin from IN (default
 * /dev/null). When CMD exits, one line goes to stderr:
 *
 *   rss_probe: wall_s=0.412 user_s=0.30 sys_s=0.10 maxrss_kb=123456
 *              anon_peak_kb=45678 file_peak_kb=77778 samples=410 status=0
 *
 * maxrss_kb is the kernel's peak resident set (getrusage ru_maxrss of the
 * child: anonymous + file-backed + shmem pages, e.g. an mmap'ed SQLite file
 * counts). anon_peak_kb / file_peak_kb are the largest RssAnon / RssFile
 * seen in /proc/PID/status, sampled every 0.5 ms while the child runs (a
 * /proc read costs a few microseconds; a peak shorter than the interval can
 * be missed, so anon_peak_kb is a lower bound, exact for memory held until
 * the end). Exit status: the child's (128+signal if killed).
 *
 * Build: cc -O2 -o rss_probe bench/rss_probe.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* RssAnon and RssFile of pid in kB; 0 when gone */
static void sample(pid_t pid, long *anon, long *file)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    *anon = *file = 0;
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = 0;
    char *p = strstr(buf, "RssAnon:");
    if (p)
        *anon = strtol(p + 8, NULL, 10);
    p = strstr(buf, "RssFile:");
    if (p)
        *file = strtol(p + 8, NULL, 10);
}

int main(int argc, char **argv)
{
    const char *out = "/dev/null", *in = "/dev/null";
    int i = 1;
    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        if (strcmp(argv[i], "-o") == 0)
            out = argv[i + 1];
        else if (strcmp(argv[i], "-i") == 0)
            in = argv[i + 1];
        else
            break;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: rss_probe [-o OUT] [-i IN] CMD ARG...\n");
        return 2;
    }
    double t0 = now();
    pid_t pid = fork();
    if (pid < 0) {
        perror("rss_probe: fork");
        return 2;
    }
    if (pid == 0) {
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fi = open(in, O_RDONLY);
        if (fo < 0 || fi < 0) {
            perror("rss_probe: open");
            _exit(127);
        }
        dup2(fo, 1);
        dup2(fi, 0);
        execvp(argv[i], argv + i);
        perror("rss_probe: exec");
        _exit(127);
    }
    long anon_peak = 0, file_peak = 0, samples = 0;
    int status = 0;
    struct rusage ru;
    for (;;) {
        pid_t r = wait4(pid, &status, WNOHANG, &ru);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            perror("rss_probe: wait4");
            return 2;
        }
        long a, f;
        sample(pid, &a, &f);
        samples++;
        if (a > anon_peak)
            anon_peak = a;
        if (f > file_peak)
            file_peak = f;
        struct timespec ts = {0, 500000};
        nanosleep(&ts, NULL);
    }
    double wall = now() - t0;
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    fprintf(stderr,
            "rss_probe: wall_s=%.4f user_s=%.3f sys_s=%.3f maxrss_kb=%ld anon_peak_kb=%ld "
            "file_peak_kb=%ld samples=%ld status=%d\n",
            wall, (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
            (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss, anon_peak,
            file_peak, samples, rc);
    return rc;
}
