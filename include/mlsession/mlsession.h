/* SPDX-License-Identifier: MIT
 *
 * mlsession.h - version, error codes and the error record shared by every
 * part of libmlsession. The library never prints, exits or aborts: every
 * failure comes back as an ms_code plus a caller-owned struct ms_error.
 */
#ifndef MLSESSION_H
#define MLSESSION_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MS_BUILDING_LIBRARY) && defined(__GNUC__)
#define MS_API __attribute__((visibility("default")))
#else
#define MS_API
#endif

#define MS_VERSION_MAJOR 0
#define MS_VERSION_MINOR 1
#define MS_VERSION_PATCH 0
#define MS_VERSION_STRING "0.1.0"

/* Append only; never renumber. */
typedef enum ms_code {
    MS_OK = 0,
    MS_E_NOMEM = 1,       /* out of memory */
    MS_E_IO = 2,          /* a file could not be opened or read */
    MS_E_PARSE = 3,       /* JSON or filter text is malformed */
    MS_E_TOOBIG = 4,      /* a configured cap was reached */
    MS_E_STORE = 5,       /* backend error: SQL, HTTP status */
    MS_E_UNSUPPORTED = 6, /* unknown scheme, span form or schema version */
    MS_E_NOTFOUND = 7,    /* the trace, session or experiment is not there */
    MS_E_INVALID = 8,     /* well-formed input that breaks MLflow's rules */
} ms_code;

/* Caller-owned; the library fills it on failure and leaves it alone on
 * success. msg is printable as is (lower case, no full stop). */
struct ms_error {
    ms_code code;
    int64_t offset; /* byte offset into the parsed text, or -1 */
    char msg[256];
};

/* Fixed text for a code; never NULL. */
MS_API const char *ms_strerror(ms_code code);

/* "0.1.0"; the library's own version, which may differ from the header's. */
MS_API const char *ms_version(void);

/* A borrowed byte string: not NUL-terminated unless said so. */
typedef struct ms_str {
    const char *ptr;
    size_t len;
} ms_str;

#ifdef __cplusplus
}
#endif
#endif
