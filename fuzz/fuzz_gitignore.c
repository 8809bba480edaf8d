/* SPDX-License-Identifier: MIT
 *
 * Fuzz target for the source scan (src/code/): the .gitignore matcher and
 * the detectors on arbitrary bytes. The input up to the first NUL is a
 * .gitignore text; each line after it is a path, tested as a file and as a
 * folder. The whole input is then run through the detectors as Python,
 * TypeScript, Java and Go, and through the stack-frame parser as an
 * exception's stacktrace of a one-span session. Every site must lie inside
 * the text with a line number in range; every link must be well formed.
 * abort() on any failure. Depends on src/code, src/session and util/ only.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlsession/code.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "fuzz_gitignore: check failed at line %d: %s\n", __LINE__, #cond); \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

static void match_paths(const char *text, size_t size)
{
    const char *nul = memchr(text, '\0', size);
    size_t rules_len = nul ? (size_t)(nul - text) : size;
    ms_gitignore *g = NULL;
    if (ms_gitignore_parse(text, rules_len, &g) != MS_OK)
        return;
    const char *p = nul ? nul + 1 : text + size, *end = text + size;
    char path[512];
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n >= sizeof path)
            n = sizeof path - 1;
        memcpy(path, p, n);
        path[n] = '\0';
        int a = ms_gitignore_match(g, path, false);
        int b = ms_gitignore_match(g, path, true);
        CHECK(a >= -1 && a <= 1 && b >= -1 && b <= 1);
        p = nl ? nl + 1 : end;
    }
    ms_gitignore_free(g);
}

static void detect(const char *text, size_t size)
{
    static const char *const names[] = {"a.py", "a.ts", "A.java", "a.go"};
    ms_code_index *idx = NULL;
    if (ms_code_index_new(&idx) != MS_OK)
        return;
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += text[i] == '\n';
    for (size_t k = 0; k < 4; k++) {
        struct ms_error err = {0};
        ms_code rc = ms_code_scan_buffer(idx, names[k], text, size, &err);
        CHECK(rc == MS_OK || rc == MS_E_NOMEM);
    }
    for (size_t i = 0; i < ms_code_site_count(idx); i++) {
        const ms_code_site *s = ms_code_site_at(idx, i);
        CHECK(s->line >= 1 && (size_t)s->line <= lines);
        CHECK(s->text.len <= 200);
        CHECK(s->detector && s->what && s->file.len > 0);
    }
    /* the same bytes as a recorded stacktrace */
    ms_attr ea[1] = {{{"exception.stacktrace", 20}, {text, size}, MS_VAL_STRING}};
    ms_event ev = {{"exception", 9}, 1, ea, 1};
    ms_span sp = {0};
    memcpy(sp.span_id, "00000000000000a1", 17);
    sp.name = (ms_str){text, size < 40 ? size : 40};
    sp.events = &ev;
    sp.n_events = 1;
    ms_trace t = {0};
    t.info.trace_id = (ms_str){"tr-1", 4};
    t.spans = &sp;
    t.n_spans = 1;
    const ms_trace *tp = &t;
    ms_session *s = NULL;
    struct ms_error err = {0};
    if (ms_session_build(&tp, 1, &s, &err) == MS_OK) {
        ms_code_links *l = NULL;
        if (ms_code_link(idx, s, NULL, &l, &err) == MS_OK) {
            for (size_t i = 0; i < ms_code_links_count(l); i++) {
                const ms_code_ref *k = ms_code_links_at(l, i);
                CHECK(k->reason.len > 0 && k->detector);
                char *js = NULL;
                size_t n = 0;
                CHECK(ms_code_link_to_json(k, &js, &n) == MS_OK && n > 2);
                free(js);
            }
            char *txt = NULL;
            size_t n = 0;
            CHECK(ms_code_links_format(l, -1, "", 1, &txt, &n) == MS_OK);
            free(txt);
            ms_code_links_free(l);
        }
        ms_session_free(s);
    }
    ms_code_index_free(idx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    match_paths((const char *)data, size);
    detect((const char *)data, size);
    return 0;
}
