/* SPDX-License-Identifier: MIT
 *
 * The JSON reader: a read-only tree over simdjson's DOM tape. Parsing lives
 * in the one C++ file json_simdjson.cpp; everything else here is C that
 * walks the tape, so no C++ type leaks out. Integers stay exact (int64 or
 * uint64, never via double); strings come with their lengths (they may hold
 * NUL); every parse error carries a byte offset.
 *
 * Handles are small values that borrow from the parser: they stay valid
 * until the next parse on the same parser or until it is freed.
 */
#ifndef MSX_JSON_H
#define MSX_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlsession/mlsession.h"

/* Bytes a caller must leave readable after a buffer it marks as padded. */
#define MSX_JSON_PADDING 64
/* Nesting deeper than this is refused (simdjson's default). */
#define MSX_JSON_MAX_DEPTH 1024

enum msx_json_type {
    MSX_JSON_NONE = 0, /* an absent value: a missing key, a finished iterator */
    MSX_JSON_NULL,
    MSX_JSON_FALSE,
    MSX_JSON_TRUE,
    MSX_JSON_INT,    /* fits int64_t */
    MSX_JSON_UINT,   /* > INT64_MAX, fits uint64_t */
    MSX_JSON_DOUBLE, /* has a fraction or exponent, or is too big for 64 bits */
    MSX_JSON_STRING,
    MSX_JSON_ARRAY,
    MSX_JSON_OBJECT,
};

struct msx_json_tape {
    const uint64_t *tape;
    const uint8_t *strings;
};

typedef struct msx_json {
    const struct msx_json_tape *t;
    uint32_t i; /* tape index */
} msx_json;

typedef struct msx_json_parser msx_json_parser;

msx_json_parser *msx_json_parser_new(void);
void msx_json_parser_free(msx_json_parser *p); /* NULL ok */

/* Parses one JSON document from buf[0..len). When padded is true the caller
 * guarantees MSX_JSON_PADDING readable bytes after buf[len] (saves a copy).
 * On error fills err (code MS_E_PARSE, offset = first bad byte). */
ms_code msx_json_parse(msx_json_parser *p, const char *buf, size_t len, bool padded,
                       msx_json *root, struct ms_error *err);

/* The pure-C validator behind error offsets: checks buf as one document
 * (surrounding whitespace allowed). Returns 1 if valid; else 0 with *offset
 * and a static message. Also used to split concatenated documents. */
int msx_json_check(const char *buf, size_t len, size_t *offset, const char **msg);
/* Skips one value starting at buf[start] (after leading whitespace).
 * Returns 1 and sets *end past it, or 0 with *offset and *msg. */
int msx_json_skip_value(const char *buf, size_t len, size_t start, size_t *end,
                        size_t *offset, const char **msg);

static inline bool msx_json_ok(msx_json v) { return v.t != NULL; }
enum msx_json_type msx_json_type(msx_json v);
bool msx_json_is_null_or_none(msx_json v);

/* Exact numbers. Each returns false when v is not of a fitting kind. */
bool msx_json_int64(msx_json v, int64_t *out);
bool msx_json_uint64(msx_json v, uint64_t *out);
bool msx_json_double(msx_json v, double *out); /* any number */
/* An int64 given as a JSON number or as a string of digits (MLflow sends
 * both): "-12", "1733450000123456789". No spaces, no fraction. */
bool msx_json_int64_lenient(msx_json v, int64_t *out);
bool msx_json_bool(msx_json v, bool *out);

/* The string's bytes (NUL-terminated, but may hold NUL); {NULL,0} if not a
 * string. */
ms_str msx_json_str(msx_json v);
/* true if v is a string equal to s. */
bool msx_json_str_eq(msx_json v, const char *s);

/* Number of elements or keys; 0 for scalars. */
size_t msx_json_count(msx_json v);
/* Object member by key (first match), or a NONE value. */
msx_json msx_json_get(msx_json obj, const char *key);
msx_json msx_json_getn(msx_json obj, const char *key, size_t keylen);
/* Array element i, or NONE. O(i). */
msx_json msx_json_at(msx_json arr, size_t i);

/* Iteration over an array or an object:
 *   struct msx_json_iter it = msx_json_iter_init(v);
 *   ms_str key; msx_json val;
 *   while (msx_json_next(&it, &key, &val)) ...   (key is {NULL,0} in arrays) */
struct msx_json_iter {
    const struct msx_json_tape *t;
    uint32_t i, end;
    bool is_object;
};
struct msx_json_iter msx_json_iter_init(msx_json v);
bool msx_json_next(struct msx_json_iter *it, ms_str *key, msx_json *val);

#endif
