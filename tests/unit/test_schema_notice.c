/* SPDX-License-Identifier: MIT
 *
 * A store at an alembic revision MLflow 3.17.2 does not have is read as far
 * as known, with one notice; a known revision gives none.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlsession/store.h"
#include "store/store.h"

#define FIX MS_SOURCE_DIR "/tests/fixtures/sqlite/mlflow.db"

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
}

static const char *search_notice(const char *path, size_t *count)
{
    static char kept[512];
    ms_store *st = NULL;
    struct ms_error err = {MS_OK, 0, ""};
    assert_int_equal(ms_store_open(path, &st, &err), MS_OK);
    const char *ids[] = {"2"};
    struct ms_search req = {1, ids, 1, NULL, NULL, 0, 5, NULL, false};
    ms_trace_set *set = NULL;
    assert_int_equal(ms_store_search(st, &req, &set, &err), MS_OK);
    *count = ms_trace_set_count(set);
    const char *n = ms_trace_set_notice(set);
    snprintf(kept, sizeof kept, "%s", n ? n : "");
    ms_trace_set_free(set);
    ms_store_close(st);
    return kept;
}

static void test_known_and_newer(void **state)
{
    (void)state;
    size_t n_known, n_newer;
    assert_string_equal(search_notice(FIX, &n_known), "");
    assert_true(msi_schema_revision_known("dc11669786a5")); /* 3.17.2's head */
    assert_false(msi_schema_revision_known("ffffffffffff"));

    char path[] = "/tmp/ms-schema-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    copy_file(FIX, path);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE alembic_version SET version_num='ffffffffffff'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    const char *notice = search_notice(path, &n_newer);
    assert_non_null(strstr(notice, "schema revision ffffffffffff is newer"));
    assert_int_equal(n_newer, n_known); /* the same answer all the same */
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_known_and_newer)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
