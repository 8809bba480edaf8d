/* SPDX-License-Identifier: MIT
 *
 * Internal side of the trace model: the decoder from any MLflow JSON form
 * into ms_trace, and the set that owns decoded traces. Depends on json/ and
 * util/ only; never on a store.
 */
#ifndef MSI_MODEL_H
#define MSI_MODEL_H

#include "json/json.h"
#include "mlsession/trace.h"
#include "util/arena.h"

/* Caps on untrusted input. */
#define MSI_MAX_SPANS_PER_TRACE 1000000
#define MSI_MAX_TRACES 10000000

struct msi_decoder {
    struct msx_arena *arena;
    msx_json_parser *inner; /* for JSON-encoded attribute values */
    struct ms_error *err;
};

/* Each fills *out (zeroed first) and copies what it keeps into the arena. */
ms_code msi_decode_span(struct msi_decoder *d, msx_json v, ms_span *out);
ms_code msi_decode_info(struct msi_decoder *d, msx_json v, ms_trace_info *out);
ms_code msi_decode_assessment(struct msi_decoder *d, msx_json v, ms_assessment *out);
/* {"info","data":{"spans"}} (CLI, 2.x to_json) or {"trace_info","spans"}
 * (REST). */
ms_code msi_decode_trace(struct msi_decoder *d, msx_json v, ms_trace *out);
/* Is v shaped like one trace (either form above)? */
bool msi_is_trace(msx_json v);

/* Deep copies into arena a (true on success). msi_info_copy copies the
 * info only; msi_spans_copy sets dst's spans from src's. */
bool msi_info_copy(struct msx_arena *a, ms_trace_info *dst, const ms_trace_info *src);
bool msi_spans_copy(struct msx_arena *a, ms_trace *dst, const ms_trace *src);

/* --extract-fields (extract.c), on a trace's to_dict() JSON */
struct msx_jw;
struct msx_buf;
bool msi_fields_validate(const ms_fields *f, msx_json trace, struct msx_buf *bad);
bool msi_fields_filter(const ms_fields *f, msx_json trace, struct msx_jw *w);
void msi_fields_cell(const ms_fields *f, size_t col, msx_json trace, struct msx_buf *b);

/* Copies s into the arena (NUL-terminated); {NULL,0} stays {NULL,0}. */
ms_str msi_dup(struct msx_arena *a, ms_str s);
/* Decodes a token usage object; returns false if v holds none. */
bool msi_decode_usage(msx_json v, ms_token_usage *u);

#endif
