/* SPDX-License-Identifier: MIT
 *
 * Replays fuzz inputs without a fuzzer, like SQLite's test/fuzzcheck.c: runs
 * LLVMFuzzerTestOneInput once over every file named on the command line
 * (directories are walked recursively, in sorted order so runs repeat).
 * Linked with each fuzz/fuzz_<target>.c into build/fuzz/fuzz_<target>_replay
 * so corpora are regression tests under gcc, valgrind and ASan.
 *
 *   fuzz_json_replay [-v] fuzz/corpus/fuzz_json tests/fixtures/hostile
 *   -> replay: 312 inputs, 0 crashes
 *
 * A harness reports a bug by crashing (abort, sanitizer), so reaching the
 * end means no crash; a signal handler names the input that crashed first.
 * Uses only libc and POSIX directory calls.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *current; /* the input being run, for the crash note */
static size_t n_inputs;
static int verbose;

static void on_crash(int sig)
{
    /* async-signal-safe: write(2) only, then die by the same signal */
    static const char pre[] = "replay: crash on ";
    ssize_t r = write(2, pre, sizeof pre - 1);
    if (current)
        r = write(2, current, strlen(current));
    r = write(2, "\n", 1);
    (void)r;
    signal(sig, SIG_DFL);
    raise(sig);
}

static int read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(f);
            return -1;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        uint8_t *nb = realloc(buf, cap * 2);
        if (!nb)
            free(buf);
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return -1;
    }
    /* an exact-size copy, so ASan sees any read past the input's end */
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, n);
    free(buf);
    *out = exact;
    *len = n;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(const char *path);

static int run_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "replay: cannot open directory %s\n", path);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') /* ., .., and hidden files such as .gitignore */
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = -1;
                break;
            }
            names = nn;
        }
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        names[n] = malloc(len);
        if (!names[n]) {
            rc = -1;
            break;
        }
        snprintf(names[n], len, "%s/%s", path, e->d_name);
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && run_path(names[i]) != 0)
            rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

static int run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: cannot stat %s\n", path);
        return -1;
    }
    if (S_ISDIR(st.st_mode))
        return run_dir(path);
    if (!S_ISREG(st.st_mode))
        return 0;
    uint8_t *data;
    size_t len;
    if (read_file(path, &data, &len) != 0) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        return -1;
    }
    if (verbose)
        fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
    current = path;
    LLVMFuzzerTestOneInput(data, len);
    current = NULL;
    free(data);
    n_inputs++;
    return 0;
}

int main(int argc, char **argv)
{
    static const int sigs[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        signal(sigs[i], on_crash);
    int i = 1;
    if (i < argc && strcmp(argv[i], "-v") == 0) {
        verbose = 1;
        i++;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: %s [-v] <file or directory>...\n", argv[0]);
        return 2;
    }
    int rc = 0;
    for (; i < argc; i++)
        if (run_path(argv[i]) != 0)
            rc = 1;
    printf("replay: %zu inputs, 0 crashes\n", n_inputs);
    return rc;
}
