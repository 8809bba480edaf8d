/* SPDX-License-Identifier: MIT
 *
 * msx_uri_redact: passwords never reach a message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/uri.h"

static void test_redact(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"postgresql://u:secret@127.0.0.1:5432/db", "postgresql://***@127.0.0.1:5432/db"},
        {"postgresql+psycopg2://u:p%40ss@h/db", "postgresql+psycopg2://***@h/db"},
        {"https://alice:tok@mlflow.example/x?y=1", "https://***@mlflow.example/x?y=1"},
        {"http://127.0.0.1:5000", "http://127.0.0.1:5000"},          /* port, no userinfo */
        {"postgresql://user@h/db", "postgresql://user@h/db"},        /* no password */
        {"postgresql://u:a@b@h/db", "postgresql://***@h/db"},      /* '@' in the password */
        {"http://h/path/with:colon@at", "http://h/path/with:colon@at"}, /* '@' in the path */
        {"sqlite:///mlflow.db", "sqlite:///mlflow.db"},
        {"mlruns", "mlruns"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[128];
        msx_uri_redact(cases[i].in, out, sizeof out);
        assert_string_equal(out, cases[i].want);
    }
    char tiny[8];
    msx_uri_redact("postgresql://u:secret@h/db", tiny, sizeof tiny);
    assert_int_equal(strlen(tiny), 7);
    assert_null(strstr(tiny, "secret"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_redact)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
