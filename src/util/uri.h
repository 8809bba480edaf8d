/* SPDX-License-Identifier: MIT
 *
 * Store URIs in messages: the password of a user:password@ part is never
 * shown. libc only.
 */
#ifndef MSX_URI_H
#define MSX_URI_H

#include <stddef.h>

/* Copies uri into out (always NUL-terminated, cut to n-1 bytes) with the
 * "user:password" of "scheme://user:password@host" replaced by "***". */
void msx_uri_redact(const char *uri, char *out, size_t n);

#endif
