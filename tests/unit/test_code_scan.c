/* SPDX-License-Identifier: MIT
 *
 * The walk over a source tree (src/code/scan.c): the .gitignore matcher on
 * its own (negation, dir-only, anchored, ** globs, classes, escapes), the
 * sample tree with nested .gitignore files, a vendored folder and generated
 * files (tests/fixtures/code/tree/, checked against `git check-ignore`),
 * and a hostile tree made in a temp dir: binaries, a file over the cap,
 * symlink loops, a dangling link, an unreadable file, a FIFO - scanned
 * without error or hang, every skip counted.
 */
#define _DEFAULT_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlsession/code.h"
#include "testutil.h"

#define CODE MS_SOURCE_DIR "/tests/fixtures/code/"

/* ---- the matcher ----------------------------------------------------------- */

struct gi_case {
    const char *rules;
    const char *path;
    bool is_dir;
    int want; /* 1 ignored, 0 re-included, -1 no rule */
};

static const struct gi_case gi_cases[] = {
    {"*.log\n", "a.log", false, 1},
    {"*.log\n", "dir/a.log", false, 1},
    {"*.log\n", "a.log.txt", false, -1},
    {"*.log\n!keep.log\n", "keep.log", false, 0},
    {"!keep.log\n*.log\n", "keep.log", false, 1}, /* the last rule wins */
    {"build/\n", "build", true, 1},
    {"build/\n", "build", false, -1}, /* dir-only */
    {"build/\n", "src/build", true, 1},
    {"/root.py\n", "root.py", false, 1},
    {"/root.py\n", "src/root.py", false, -1},
    {"doc/*.md\n", "doc/a.md", false, 1},
    {"doc/*.md\n", "doc/sub/a.md", false, -1},
    {"doc/*.md\n", "x/doc/a.md", false, -1}, /* a slash anchors */
    {"**/cache\n", "cache", true, 1},
    {"**/cache\n", "a/b/cache", true, 1},
    {"a/**/b\n", "a/b", false, 1},
    {"a/**/b\n", "a/x/y/b", false, 1},
    {"a/**/b\n", "a/x/y/c", false, -1},
    {"logs/**\n", "logs/x/y.txt", false, 1},
    {"foo**bar\n", "fooXbar", false, 1},
    {"file?.py\n", "file1.py", false, 1},
    {"file?.py\n", "file10.py", false, -1},
    {"file[0-9].py\n", "file7.py", false, 1},
    {"file[!0-9].py\n", "file7.py", false, -1},
    {"file[!0-9].py\n", "fileX.py", false, 1},
    {"\\#hash\n", "#hash", false, 1},
    {"#comment\n", "#comment", false, -1},
    {"\\!bang\n", "!bang", false, 1},
    {"trailing   \n", "trailing", false, 1},
    {"crlf.py\r\n", "crlf.py", false, 1},
    {"\n\n   \n", "x", false, -1},
    {"[unclosed\n", "[unclosed", false, 1},
    {"*\n!*/\n!*.py\n", "src", true, 0},
    {"*\n!*/\n!*.py\n", "src/a.js", false, 1},
    {"*\n!*/\n!*.py\n", "src/a.py", false, 0},
};

static void test_gitignore_matcher(void **state)
{
    (void)state;
    for (size_t i = 0; i < TU_COUNT(gi_cases); i++) {
        const struct gi_case *c = &gi_cases[i];
        ms_gitignore *g = NULL;
        assert_int_equal(ms_gitignore_parse(c->rules, strlen(c->rules), &g), MS_OK);
        int got = ms_gitignore_match(g, c->path, c->is_dir);
        if (got != c->want)
            fail_msg("case %zu: rules %s path %s: got %d, want %d", i, c->rules, c->path, got,
                     c->want);
        ms_gitignore_free(g);
    }
    assert_int_equal(ms_gitignore_match(NULL, "x", false), -1);
    ms_gitignore_free(NULL);
}

/* ---- the sample tree ------------------------------------------------------- */

static bool has_file(const ms_code_index *idx, const char *file)
{
    for (size_t i = 0; i < ms_code_site_count(idx); i++) {
        const ms_code_site *s = ms_code_site_at(idx, i);
        if (s->file.len == strlen(file) && memcmp(s->file.ptr, file, s->file.len) == 0)
            return true;
    }
    return false;
}

static void test_sample_tree(void **state)
{
    (void)state;
    ms_code_index *idx = NULL;
    struct ms_error err = {0};
    assert_int_equal(ms_code_scan(CODE "tree", NULL, &idx, &err), MS_OK);
    /* as `git check-ignore` decides */
    const char *kept[] = {"ignored_but_kept.py", "src/app.py", "src/ignored_nested.py",
                          "src/rootonly.py"};
    const char *gone[] = {"ignored_a.py",         "rootonly.py",    "secret/s.py",
                          "a/cache/b/c.py",       "src/local.py",   "node_modules/lib/index.js",
                          "gen/api.pb.go",        "web/app.min.js"};
    for (size_t i = 0; i < TU_COUNT(kept); i++)
        if (!has_file(idx, kept[i]))
            fail_msg("%s was not scanned", kept[i]);
    for (size_t i = 0; i < TU_COUNT(gone); i++)
        if (has_file(idx, gone[i]))
            fail_msg("%s was scanned", gone[i]);
    const ms_code_stats *st = ms_code_index_stats(idx);
    assert_int_equal(st->files_scanned, 4);
    assert_int_equal(st->skipped[MS_SKIP_VENDORED], 1);
    assert_int_equal(st->skipped[MS_SKIP_GENERATED], 2);
    assert_int_equal(st->skipped[MS_SKIP_IGNORED], 5);
    /* generated files are named, ignored ones are not */
    assert_int_equal(ms_code_skipped_count(idx), 2);
    ms_code_skip why;
    assert_string_equal(ms_code_skipped_path(idx, 0, &why), "gen/api.pb.go");
    assert_int_equal(why, MS_SKIP_GENERATED);
    ms_code_index_free(idx);

    /* --no-gitignore: the ignored files come back, vendored ones do not */
    struct ms_code_options o;
    ms_code_options_init(&o);
    o.no_gitignore = true;
    assert_int_equal(ms_code_scan(CODE "tree", &o, &idx, &err), MS_OK);
    assert_int_equal(ms_code_index_stats(idx)->files_scanned, 9);
    assert_true(has_file(idx, "secret/s.py"));
    assert_false(has_file(idx, "node_modules/lib/index.js"));
    ms_code_index_free(idx);
}

static void test_not_a_directory(void **state)
{
    (void)state;
    ms_code_index *idx = NULL;
    struct ms_error err = {0};
    assert_int_equal(ms_code_scan(CODE "README.md", NULL, &idx, &err), MS_E_IO);
    assert_null(idx);
    assert_non_null(strstr(err.msg, "not a directory"));
    assert_int_equal(ms_code_scan(CODE "no-such-dir", NULL, &idx, &err), MS_E_IO);
    assert_non_null(strstr(err.msg, "No such file"));
}

/* ---- the hostile tree -------------------------------------------------------- */

static void put(const char *dir, const char *name, const void *data, size_t n)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void test_hostile_tree(void **state)
{
    (void)state;
    char dir[] = "/tmp/ms-code-hostile-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char p[4096], q[4096];
    const char *src = "x = {\"mlflow.trace.session\": sid}\n";
    put(dir, "ok.py", src, strlen(src));
    /* a binary with a NUL near the start, and one with a source extension */
    static const unsigned char bin[] = {0x7f, 'E', 'L', 'F', 0, 1, 2, 3, '"', 's'};
    put(dir, "tool.py", bin, sizeof bin);
    put(dir, "blob.bin", bin, sizeof bin);
    /* a file over the cap (sparse: 64 MiB) */
    snprintf(p, sizeof p, "%s/huge.py", dir);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)64 << 20), 0);
    close(fd);
    /* loops: a link to the root, a link to itself, a dangling link */
    snprintf(p, sizeof p, "%s/sub", dir);
    assert_int_equal(mkdir(p, 0755), 0);
    put(p, "deep.py", src, strlen(src));
    snprintf(q, sizeof q, "%s/sub/up", dir);
    assert_int_equal(symlink("..", q), 0);
    snprintf(q, sizeof q, "%s/self.py", dir);
    assert_int_equal(symlink("self.py", q), 0);
    snprintf(q, sizeof q, "%s/dangling.py", dir);
    assert_int_equal(symlink("nowhere.py", q), 0);
    /* an unreadable file: mode 000 (root reads it anyway), and for root a
     * link to a file whose read fails */
    put(dir, "secret.py", src, strlen(src));
    snprintf(p, sizeof p, "%s/secret.py", dir);
    assert_int_equal(chmod(p, 0), 0);
    snprintf(q, sizeof q, "%s/mem.py", dir);
    assert_int_equal(symlink("/proc/self/mem", q), 0);
    /* a FIFO nobody writes to: opening it for reading must not hang */
    snprintf(q, sizeof q, "%s/pipe.py", dir);
    assert_int_equal(mkfifo(q, 0644), 0);
    /* an unreadable folder */
    snprintf(q, sizeof q, "%s/locked", dir);
    assert_int_equal(mkdir(q, 0), 0);

    ms_code_index *idx = NULL;
    struct ms_error err = {0};
    assert_int_equal(ms_code_scan(dir, NULL, &idx, &err), MS_OK);
    const ms_code_stats *st = ms_code_index_stats(idx);
    assert_true(has_file(idx, "ok.py"));
    assert_true(has_file(idx, "sub/deep.py"));
    assert_false(has_file(idx, "sub/up/ok.py"));
    assert_int_equal(st->skipped[MS_SKIP_BINARY], 1);
    assert_int_equal(st->skipped[MS_SKIP_TOO_BIG], 1);
    assert_int_equal(st->skipped[MS_SKIP_LOOP], 2); /* sub/up and self.py */
    assert_true(st->skipped[MS_SKIP_SPECIAL] >= 2); /* dangling.py, pipe.py */
    if (geteuid() == 0)
        assert_true(st->skipped[MS_SKIP_UNREADABLE] >= 1); /* mem.py */
    else
        assert_true(st->skipped[MS_SKIP_UNREADABLE] >= 2); /* + secret.py, locked */
    assert_true(st->other_files >= 1); /* blob.bin */
    ms_code_index_free(idx);

    /* a smaller cap */
    struct ms_code_options o;
    ms_code_options_init(&o);
    o.max_file_bytes = 8;
    assert_int_equal(ms_code_scan(dir, &o, &idx, &err), MS_OK);
    assert_false(has_file(idx, "ok.py"));
    assert_true(ms_code_index_stats(idx)->skipped[MS_SKIP_TOO_BIG] >= 3);
    ms_code_index_free(idx);

    snprintf(q, sizeof q, "rm -rf '%s'", dir);
    assert_int_equal(chmod(p, 0644), 0);
    assert_int_equal(system(q), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gitignore_matcher),
        cmocka_unit_test(test_sample_tree),
        cmocka_unit_test(test_not_a_directory),
        cmocka_unit_test(test_hostile_tree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
