/* SPDX-License-Identifier: MIT
 *
 * Fuzz target for msx_json_escape, the one JSON string quoter, on arbitrary
 * bytes in both modes (UTF-8 kept, and ASCII-only like Python's
 * ensure_ascii). The output must be valid UTF-8 with no raw control byte
 * (< 0x20; ASCII mode: nothing >= 0x7F either), must parse as one JSON
 * string when wrapped in quotes, and must decode back to the input with
 * each invalid UTF-8 byte replaced by U+FFFD. The writer's output for the
 * same bytes as a key and a value must parse too. abort() on any failure.
 * Depends on json/ and util/ only.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "json/json_write.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "fuzz_escape: check failed at line %d: %s\n", __LINE__, #cond); \
            abort();                                                                    \
        }                                                                               \
    } while (0)

/* Length of the valid UTF-8 sequence at s[i], or 0 (RFC 3629: no
 * overlongs, no surrogates, nothing above U+10FFFF). */
static size_t utf8_len(const uint8_t *s, size_t n, size_t i)
{
    unsigned c = s[i];
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else
        return 0;
    if (n - i <= need || s[i + 1] < lo || s[i + 1] > hi)
        return 0;
    for (size_t k = 2; k <= need; k++)
        if ((s[i + k] & 0xC0) != 0x80)
            return 0;
    return need + 1;
}

/* The expected decoded string: input with each invalid byte -> U+FFFD. */
static void expected(const uint8_t *s, size_t n, struct msx_buf *out)
{
    for (size_t i = 0; i < n;) {
        size_t len = utf8_len(s, n, i);
        if (len) {
            msx_buf_add(out, s + i, len);
            i += len;
        } else {
            msx_buf_add(out, "\xEF\xBF\xBD", 3);
            i++;
        }
    }
}

static void check_one(const uint8_t *data, size_t size, bool ascii, const struct msx_buf *want,
                      msx_json_parser *p)
{
    struct msx_buf out;
    msx_buf_init(&out, MSX_CAP_OUTPUT);
    msx_buf_addc(&out, '"');
    msx_json_escape(&out, (const char *)data, size, ascii);
    msx_buf_addc(&out, '"');
    CHECK(msx_buf_status(&out) == MS_OK);
    const uint8_t *o = (const uint8_t *)out.ptr;
    for (size_t i = 0; i < out.len;) {
        size_t len = utf8_len(o, out.len, i);
        CHECK(len > 0);
        CHECK(o[i] >= 0x20);
        if (ascii)
            CHECK(o[i] < 0x7F);
        /* a quote or backslash only as an escape */
        if (i > 0 && i + 1 < out.len && o[i] == '"')
            CHECK(o[i - 1] == '\\');
        i += len;
    }
    size_t off;
    const char *msg;
    CHECK(msx_json_check(out.ptr, out.len, &off, &msg));
    msx_json root;
    struct ms_error err;
    CHECK(msx_json_parse(p, out.ptr, out.len, false, &root, &err) == MS_OK);
    CHECK(msx_json_type(root) == MSX_JSON_STRING);
    ms_str s = msx_json_str(root);
    CHECK(s.len == want->len);
    CHECK(s.len == 0 || memcmp(s.ptr, want->ptr, s.len) == 0);
    msx_buf_release(&out);
}

/* The same bytes through the writer, as a key and as a value. */
static void check_writer(const uint8_t *data, size_t size, unsigned flags, msx_json_parser *p)
{
    struct msx_buf out;
    struct msx_jw w;
    msx_buf_init(&out, MSX_CAP_OUTPUT);
    msx_jw_init(&w, &out, flags);
    msx_jw_obj_begin(&w);
    msx_jw_key(&w, (const char *)data, size);
    msx_jw_str(&w, (const char *)data, size);
    msx_jw_obj_end(&w);
    CHECK(msx_buf_status(&out) == MS_OK);
    msx_json root;
    struct ms_error err;
    CHECK(msx_json_parse(p, out.ptr, out.len, false, &root, &err) == MS_OK);
    CHECK(msx_json_count(root) == 1);
    msx_buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msx_json_parser *p = msx_json_parser_new();
    CHECK(p != NULL);
    struct msx_buf want;
    msx_buf_init(&want, MSX_CAP_OUTPUT);
    expected(data, size, &want);
    CHECK(msx_buf_status(&want) == MS_OK);
    check_one(data, size, false, &want, p);
    check_one(data, size, true, &want, p);
    check_writer(data, size, 0, p);
    check_writer(data, size, MSX_JW_PYTHON, p);
    msx_buf_release(&want);
    msx_json_parser_free(p);
    return 0;
}
