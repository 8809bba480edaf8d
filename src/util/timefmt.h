/* SPDX-License-Identifier: MIT
 *
 * RFC 3339 timestamps and protobuf durations, exact in int64 (no time_t,
 * no locale, no TZ). libc only.
 */
#ifndef MSX_TIMEFMT_H
#define MSX_TIMEFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* "2026-01-15T10:00:00.123Z" or with "+hh:mm"; 0-9 fraction digits. */
bool msx_rfc3339_parse_ns(const char *s, size_t n, int64_t *ns);
/* protobuf Timestamp JSON: no fraction, or 3, 6 or 9 digits as needed. */
void msx_rfc3339_format_ns(struct msx_buf *out, int64_t ns);
/* "1.840s", "2s", "-0.5s" (protobuf Duration JSON) -> ms, truncated. */
bool msx_duration_parse_ms(const char *s, size_t n, int64_t *ms);

#endif
