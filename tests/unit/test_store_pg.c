/* SPDX-License-Identifier: MIT
 *
 * Unit tests for the PostgreSQL backend (src/store/store_pg.c) that need no
 * server: URI forms picked by scheme, a refused connection, a bad URI, and
 * that the password never shows in an error message. With MS_PG_TEST_URI
 * set (tests/integration/pg_harness.py prints one), the store is also opened
 * and listed. The differential tests against MLflow on a real server are in
 * tests/integration/compare_pg.py.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mlsession/store.h"

/* port 1 on the loopback: nothing listens, the connection is refused */
static void refused(const char *uri, const char *secret)
{
    ms_store *st = NULL;
    struct ms_error err = {MS_OK, -1, ""};
    ms_code rc = ms_store_open(uri, &st, &err);
    assert_null(st);
    assert_int_equal(rc, MS_E_STORE);
    assert_int_equal(err.code, MS_E_STORE);
    assert_non_null(strstr(err.msg, "127.0.0.1"));
    assert_null(strstr(err.msg, secret));
}

static void test_refused_hides_password(void **state)
{
    (void)state;
    refused("postgresql://ms_user:S3cretPw@127.0.0.1:1/mlflow", "S3cretPw");
    refused("postgresql+psycopg2://ms_user:S3cretPw@127.0.0.1:1/mlflow", "S3cretPw");
    /* percent-encoded as SQLAlchemy writes it: neither form may show */
    refused("postgresql://ms_user:S3cret%40Pw@127.0.0.1:1/mlflow", "S3cret");
}

static void test_bad_uri_hides_password(void **state)
{
    (void)state;
    ms_store *st = NULL;
    struct ms_error err = {MS_OK, -1, ""};
    ms_code rc =
        ms_store_open("postgresql://ms_user:S3cretPw@127.0.0.1:1/mlflow?nosuchparam=1", &st, &err);
    assert_null(st);
    assert_int_not_equal(rc, MS_OK);
    assert_null(strstr(err.msg, "S3cretPw"));
}

static void test_live_server(void **state)
{
    (void)state;
    const char *uri = getenv("MS_PG_TEST_URI");
    if (!uri || !*uri)
        skip();
    ms_store *st = NULL;
    struct ms_error err = {MS_OK, -1, ""};
    assert_int_equal(ms_store_open(uri, &st, &err), MS_OK);
    assert_string_equal(ms_store_scheme(st), "postgresql");
    const ms_experiment *list;
    size_t n = 0;
    assert_int_equal(ms_store_experiments(st, &list, &n, &err), MS_OK);
    assert_true(n >= 1);
    ms_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_hides_password),
        cmocka_unit_test(test_bad_uri_hides_password),
        cmocka_unit_test(test_live_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
