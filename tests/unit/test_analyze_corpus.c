/* SPDX-License-Identifier: MIT
 *
 * The analyzers against the labelled accuracy corpus (tests/fixtures/corpus:
 * mlflow.db + labels.json, written by the real MLflow SDK). Each session's
 * labels give the findings it must produce (rule, turn) and those that are
 * not wrong if also produced; clean sessions have none.
 *
 * Gates over every rule: at most 5% of clean sessions with an error-level
 * finding, and at least 90% of the expected findings at the right turn.
 * No finding of a rule a session's labels list as must_not. Stricter for
 * the errors and loops families: every expected finding, none on clean
 * sessions and none that the labels do not allow. Other findings on clean
 * sessions are listed as notes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "json/json.h"
#include "testutil.h"
#include "analyze_util.h"

#define CORPUS MS_SOURCE_DIR "/tests/fixtures/corpus/"

struct label {
    char rule[64];
    int64_t turn; /* 0: any */
};

struct lsession {
    char id[128];
    bool clean;
    struct label expected[16], acceptable[32];
    size_t n_expected, n_acceptable;
    char must_not[8][64]; /* rules never to report for the session */
    size_t n_must_not;
};

static size_t read_labels(msx_json arr, struct label *out, size_t max)
{
    size_t n = 0;
    struct msx_json_iter it = msx_json_iter_init(arr);
    ms_str k;
    msx_json v;
    while (n < max && msx_json_next(&it, &k, &v)) {
        ms_str r = msx_json_str(msx_json_get(v, "rule"));
        int64_t turn = 0;
        msx_json_int64(msx_json_get(v, "turn"), &turn);
        snprintf(out[n].rule, sizeof out[n].rule, "%.*s", (int)r.len, r.ptr ? r.ptr : "");
        out[n].turn = turn;
        n++;
    }
    return n;
}

static struct lsession *load_labels(size_t *n_out)
{
    size_t len = 0;
    char *txt = tu_read_file(CORPUS "labels.json", &len);
    msx_json_parser *p = msx_json_parser_new();
    assert_non_null(p);
    msx_json root;
    struct ms_error err = {MS_OK, -1, ""};
    if (msx_json_parse(p, txt, len, false, &root, &err) != MS_OK)
        fail_msg("labels.json: %s", err.msg);
    msx_json ss = msx_json_get(root, "sessions");
    size_t n = msx_json_count(ss);
    struct lsession *ls = calloc(n ? n : 1, sizeof *ls);
    assert_non_null(ls);
    struct msx_json_iter it = msx_json_iter_init(ss);
    ms_str k;
    msx_json v;
    size_t i = 0;
    while (i < n && msx_json_next(&it, &k, &v)) {
        ms_str id = msx_json_str(msx_json_get(v, "session_id"));
        snprintf(ls[i].id, sizeof ls[i].id, "%.*s", (int)id.len, id.ptr ? id.ptr : "");
        msx_json_bool(msx_json_get(v, "clean"), &ls[i].clean);
        ls[i].n_expected = read_labels(msx_json_get(v, "expected"), ls[i].expected, 16);
        ls[i].n_acceptable = read_labels(msx_json_get(v, "acceptable"), ls[i].acceptable, 32);
        struct msx_json_iter mi = msx_json_iter_init(msx_json_get(v, "must_not"));
        ms_str mk;
        msx_json mv;
        while (ls[i].n_must_not < 8 && msx_json_next(&mi, &mk, &mv)) {
            ms_str r = msx_json_str(mv);
            snprintf(ls[i].must_not[ls[i].n_must_not++], 64, "%.*s", (int)r.len,
                     r.ptr ? r.ptr : "");
        }
        i++;
    }
    msx_json_parser_free(p);
    free(txt);
    *n_out = i;
    return ls;
}

static bool listed(const struct label *l, size_t n, const ms_finding *f)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(l[i].rule, f->rule) == 0 && (l[i].turn == 0 || l[i].turn == f->turn))
            return true;
    return false;
}

static bool in_family(const char *rule, const char *const *fams, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(fams[i]);
        if (strncmp(rule, fams[i], k) == 0 && rule[k] == '.')
            return true;
    }
    return false;
}

static void test_corpus(void **state)
{
    (void)state;
    if (!tu_file_exists(CORPUS "mlflow.db") || !tu_file_exists(CORPUS "labels.json"))
        skip();
    size_t n = 0;
    struct lsession *ls = load_labels(&n);
    assert_true(n >= 10);
    ms_store *st = NULL;
    struct ms_error err = {MS_OK, -1, ""};
    if (ms_store_open("sqlite:///" CORPUS "mlflow.db", &st, &err) != MS_OK)
        fail_msg("open: %s", err.msg);

    static const char *const strict[] = {"error", "loop"};
    size_t clean = 0, clean_with_error = 0, expected = 0, found = 0;
    size_t strict_expected = 0, strict_found = 0, strict_wrong = 0, forbidden = 0;
    for (size_t i = 0; i < n; i++) {
        ms_session *s = NULL;
        if (ms_session_load(st, NULL, 0, ls[i].id, &s, &err) != MS_OK)
            fail_msg("load %s: %s", ls[i].id, err.msg);
        ms_findings *f = au_analyze(s, NULL);
        ms_session_free(s);
        if (ls[i].clean) {
            clean++;
            if (ms_findings_max_severity(f) == MS_SEV_ERROR) {
                clean_with_error++;
                fprintf(stderr, "# clean %s has an error-level finding\n", ls[i].id);
            }
        }
        for (size_t e = 0; e < ls[i].n_expected; e++) {
            const struct label *l = &ls[i].expected[e];
            bool hit = au_count(f, l->rule, l->turn) > 0;
            expected++;
            found += hit;
            if (!hit)
                fprintf(stderr, "# missed %s: %s at turn %lld\n", ls[i].id, l->rule,
                        (long long)l->turn);
            if (in_family(l->rule, strict, TU_COUNT(strict))) {
                strict_expected++;
                strict_found += hit;
            }
        }
        for (size_t k = 0; k < ms_findings_count(f); k++) {
            const ms_finding *x = ms_findings_at(f, k);
            for (size_t m = 0; m < ls[i].n_must_not; m++)
                if (strcmp(ls[i].must_not[m], x->rule) == 0) {
                    forbidden++;
                    fprintf(stderr, "# must not %s: %s at turn %lld\n", ls[i].id, x->rule,
                            (long long)x->turn);
                }
            if (ls[i].clean && !listed(ls[i].acceptable, ls[i].n_acceptable, x))
                fprintf(stderr, "# note: clean %s: %s (%s) at turn %lld\n", ls[i].id, x->rule,
                        ms_severity_name(x->severity), (long long)x->turn);
            if (!in_family(x->rule, strict, TU_COUNT(strict)))
                continue;
            if (listed(ls[i].expected, ls[i].n_expected, x) ||
                listed(ls[i].acceptable, ls[i].n_acceptable, x))
                continue;
            strict_wrong++;
            fprintf(stderr, "# unexpected %s: %s at turn %lld: %.*s\n", ls[i].id, x->rule,
                    (long long)x->turn, (int)x->message.len, x->message.ptr);
        }
        ms_findings_free(f);
    }
    ms_store_close(st);
    free(ls);
    fprintf(stderr, "# corpus: %zu/%zu expected findings, %zu/%zu clean sessions with an error\n",
            found, expected, clean_with_error, clean);
    assert_true(clean > 0 && expected > 0);
    if (clean_with_error * 100 > clean * 5)
        fail_msg("%zu of %zu clean sessions have an error-level finding (> 5%%)", clean_with_error,
                 clean);
    if (found * 100 < expected * 90)
        fail_msg("recall %zu/%zu (< 90%%)", found, expected);
    if (forbidden)
        fail_msg("%zu findings of rules the labels forbid for their session", forbidden);
    if (strict_found != strict_expected)
        fail_msg("errors/loops: %zu of %zu expected findings", strict_found, strict_expected);
    if (strict_wrong)
        fail_msg("errors/loops: %zu findings the labels do not allow", strict_wrong);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
