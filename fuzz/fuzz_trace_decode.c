/* SPDX-License-Identifier: MIT
 *
 * Fuzz target for reading MLflow trace exports (src/model/ over src/json/):
 * ms_trace_set_load_buffer on the input, then for every trace
 * ms_trace_to_json, whose output must be one valid JSON document ending in
 * a newline. Lookups (ms_trace_set_find, ms_span_attr, ms_attr_decode) run
 * on everything decoded. A failed load must leave a message and an offset
 * inside the input (or -1).
 *
 * Then a fixpoint: the printed trace is itself a `traces get` export, so
 * loading it must succeed and printing it again must give the same bytes.
 * Everything is freed, so LeakSanitizer and valgrind see leaks.
 * abort() on any failure. Uses only the public API plus json/ for the
 * validity check.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "mlsession/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "fuzz_trace_decode: check failed at line %d: %s\n", __LINE__, #cond); \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

static void check_attrs(const ms_attr *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        CHECK(a[i].key.ptr != NULL);
        CHECK(a[i].value.ptr != NULL);
        char *out = NULL;
        size_t len = 0;
        bool is_json = false;
        if (ms_attr_decode(&a[i], &out, &len, &is_json) == MS_OK) {
            CHECK(out != NULL && out[len] == '\0');
            free(out);
        }
    }
}

static void check_trace_fields(const ms_trace_set *set, const ms_trace *t)
{
    CHECK(t->info.trace_id.ptr && t->info.trace_id.len > 0);
    if (memchr(t->info.trace_id.ptr, '\0', t->info.trace_id.len) == NULL)
        CHECK(ms_trace_set_find(set, t->info.trace_id.ptr) != NULL);
    for (size_t s = 0; s < t->n_spans; s++) {
        const ms_span *sp = &t->spans[s];
        CHECK(strlen(sp->trace_id) == 32 && strlen(sp->span_id) == 16);
        CHECK(sp->parent_id[0] == '\0' || strlen(sp->parent_id) == 16);
        check_attrs(sp->attrs, sp->n_attrs);
        for (size_t i = 0; i < sp->n_attrs; i++)
            if (memchr(sp->attrs[i].key.ptr, '\0', sp->attrs[i].key.len) == NULL)
                CHECK(ms_span_attr(sp, sp->attrs[i].key.ptr) != NULL);
        for (size_t e = 0; e < sp->n_events; e++)
            check_attrs(sp->events[e].attrs, sp->events[e].n_attrs);
    }
}

/* The output of ms_trace_to_json must be JSON that simdjson and the checker
 * both accept. */
static void check_json(const char *out, size_t len)
{
    CHECK(len > 0 && out[len - 1] == '\n' && out[len] == '\0');
    size_t off;
    const char *msg;
    if (!msx_json_check(out, len, &off, &msg)) {
        fprintf(stderr, "fuzz_trace_decode: output invalid at byte %zu: %s\n", off, msg);
        abort();
    }
    msx_json_parser *p = msx_json_parser_new();
    CHECK(p != NULL);
    msx_json root;
    struct ms_error err;
    CHECK(msx_json_parse(p, out, len, false, &root, &err) == MS_OK);
    CHECK(msx_json_type(root) == MSX_JSON_OBJECT);
    msx_json_parser_free(p);
}

/* Loading the printed trace and printing it again gives the same bytes. */
static void check_fixpoint(const char *out, size_t len)
{
    ms_trace_set *again = NULL;
    struct ms_error err = {MS_OK, -1, ""};
    ms_code rc = ms_trace_set_load_buffer(out, len, &again, &err);
    if (rc != MS_OK) {
        fprintf(stderr, "fuzz_trace_decode: own output does not load: %s\n", err.msg);
        abort();
    }
    CHECK(ms_trace_set_count(again) == 1);
    char *out2 = NULL;
    size_t len2 = 0;
    CHECK(ms_trace_to_json(ms_trace_set_at(again, 0), &out2, &len2, &err) == MS_OK);
    if (len2 != len || memcmp(out, out2, len) != 0) {
        size_t i = 0;
        while (i < len && i < len2 && out[i] == out2[i])
            i++;
        fprintf(stderr, "fuzz_trace_decode: print(load(print(x))) != print(x) at byte %zu\n"
                        "first:  %.80s\nsecond: %.80s\n",
                i, out + (i > 20 ? i - 20 : 0), out2 + (i > 20 ? i - 20 : 0));
        abort();
    }
    free(out2);
    ms_trace_set_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ms_trace_set *set = NULL;
    struct ms_error err = {MS_OK, -1, ""};
    ms_code rc = ms_trace_set_load_buffer((const char *)data, size, &set, &err);
    if (rc != MS_OK) {
        CHECK(set == NULL);
        CHECK(err.code == rc);
        CHECK(err.msg[0] != '\0' && memchr(err.msg, '\0', sizeof err.msg) != NULL);
        CHECK(err.offset >= -1 && err.offset <= (int64_t)size);
        CHECK(strcmp(ms_strerror(rc), "") != 0);
        return 0;
    }
    size_t n = ms_trace_set_count(set);
    for (size_t i = 0; i < n; i++) {
        const ms_trace *t = ms_trace_set_at(set, i);
        CHECK(t != NULL);
        check_trace_fields(set, t);
        char *out = NULL;
        size_t len = 0;
        rc = ms_trace_to_json(t, &out, &len, &err);
        if (rc != MS_OK) {
            CHECK(rc == MS_E_NOMEM || rc == MS_E_TOOBIG);
            continue;
        }
        check_json(out, len);
        check_fixpoint(out, len);
        free(out);
    }
    CHECK(ms_trace_set_at(set, n) == NULL);
    ms_trace_set_free(set);
    return 0;
}
