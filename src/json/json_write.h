/* SPDX-License-Identifier: MIT
 *
 * msx_jw - our own streaming JSON writer. Exact integers, Python-style
 * shortest round-trip doubles, correct escaping; invalid UTF-8 in a string
 * becomes U+FFFD and is never emitted raw. With MSX_JW_PYTHON it writes the
 * bytes of Python's json.dumps(obj, indent=2) (ensure_ascii, ", "/": "), which
 * is what `mlflow traces get` prints.
 */
#ifndef MSX_JSON_WRITE_H
#define MSX_JSON_WRITE_H

#include <stdbool.h>
#include <stdint.h>

#include "json/json.h"
#include "util/buf.h"

enum {
    MSX_JW_PRETTY = 1 << 0, /* newline + 2-space indent, Python's indent=2 */
    MSX_JW_ASCII = 1 << 1,  /* \uXXXX for everything outside 0x20..0x7e */
    MSX_JW_PYTHON = MSX_JW_PRETTY | MSX_JW_ASCII,
};

struct msx_jw {
    struct msx_buf *out;
    unsigned flags;
    int depth;
    bool need_comma;  /* a value was written at this level */
    bool after_key;   /* the next value follows "key": */
};

void msx_jw_init(struct msx_jw *w, struct msx_buf *out, unsigned flags);
void msx_jw_obj_begin(struct msx_jw *w);
void msx_jw_obj_end(struct msx_jw *w);
void msx_jw_arr_begin(struct msx_jw *w);
void msx_jw_arr_end(struct msx_jw *w);
void msx_jw_key(struct msx_jw *w, const char *k, size_t n);
void msx_jw_keyz(struct msx_jw *w, const char *k);
void msx_jw_str(struct msx_jw *w, const char *s, size_t n);
void msx_jw_strz(struct msx_jw *w, const char *s);
void msx_jw_int(struct msx_jw *w, int64_t v);
void msx_jw_uint(struct msx_jw *w, uint64_t v);
void msx_jw_double(struct msx_jw *w, double v);
void msx_jw_bool(struct msx_jw *w, bool v);
void msx_jw_null(struct msx_jw *w);
/* Writes a parsed value in this writer's style. */
void msx_jw_value(struct msx_jw *w, msx_json v);

/* Escapes s as the body of a JSON string (no quotes) into out. */
void msx_json_escape(struct msx_buf *out, const char *s, size_t n, bool ascii);
/* Python repr() of a double into out: "0.1", "5.0", "1e-05", "1e+16". */
void msx_json_format_double(struct msx_buf *out, double v);

#endif
