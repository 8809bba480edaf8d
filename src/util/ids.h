/* SPDX-License-Identifier: MIT
 *
 * Trace and span ids between their encodings: base64 of the raw bytes (V3
 * span JSON), "0x"-prefixed or bare hex (V2, SQL, 3.5.0), and MLflow's
 * "tr-<hex>" trace ids. The model always holds lowercase hex. libc only.
 */
#ifndef MSX_IDS_H
#define MSX_IDS_H

#include <stdbool.h>
#include <stddef.h>

/* Decodes standard base64 (padding optional) into at most max bytes.
 * Returns the byte count, or -1 if s is not base64. */
int msx_base64_decode(const char *s, size_t n, unsigned char *out, size_t max);
/* Encodes n bytes as padded standard base64; out needs 4*((n+2)/3)+1. */
void msx_base64_encode(const unsigned char *in, size_t n, char *out);

/* Normalises an id of nbytes bytes to lowercase hex in out (2*nbytes+1):
 * accepts "0x" hex of up to 2*nbytes digits (left-padded with zeros),
 * "tr-<hex>", bare hex of exactly 2*nbytes digits, and base64 of exactly
 * nbytes bytes (which may itself start with "0x": tried when hex fails).
 * Returns false if it is none of those. */
bool msx_id_to_hex(const char *s, size_t n, size_t nbytes, char *out);
/* Lowercase hex of 2*nbytes digits -> base64 of the bytes. */
bool msx_hex_to_base64(const char *hex, size_t nbytes, char *out);
bool msx_is_hex(const char *s, size_t n);

#endif
