/* SPDX-License-Identifier: MIT
 *
 * UTF-8 helpers shared by the JSON validator, the writer and (later) the
 * report escapers. libc only.
 */
#ifndef MSX_UTF8_H
#define MSX_UTF8_H

#include <stddef.h>

/* Length (1..4) of the valid UTF-8 sequence at s[i], or 0 if the bytes there
 * are not one (overlong forms, surrogates and values above U+10FFFF are
 * invalid). The code point goes to *cp when cp is not NULL. */
size_t msx_utf8_decode(const unsigned char *s, size_t n, size_t i, unsigned *cp);

/* The largest length <= max that does not split a code point. */
size_t msx_utf8_cut(const char *s, size_t len, size_t max);

#endif
