/* SPDX-License-Identifier: MIT
 *
 * msx_buf - a growable byte buffer with a size cap that remembers its first
 * failure (curl's dynbuf, SQLite's sqlite3_str). Append freely, check once
 * with msx_buf_status(). Uses only libc.
 */
#ifndef MSX_BUF_H
#define MSX_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "mlsession/mlsession.h"

/* Named caps: a buffer never grows past its cap. */
#define MSX_CAP_LINE ((size_t)1 << 20)      /* one diagnostic line */
#define MSX_CAP_FILE ((size_t)1 << 32)      /* one input file read whole */
#define MSX_CAP_OUTPUT ((size_t)1 << 32)    /* one rendered answer */

struct msx_buf {
    char *ptr;
    size_t len;
    size_t cap;     /* allocated bytes */
    size_t max;     /* the cap: never hold more than this */
    ms_code status; /* first failure, or MS_OK */
};

void msx_buf_init(struct msx_buf *b, size_t max);
void msx_buf_release(struct msx_buf *b);           /* frees; NULL ok */
void msx_buf_reset(struct msx_buf *b);             /* len = 0, keeps memory */
int msx_buf_reserve(struct msx_buf *b, size_t more);
void msx_buf_add(struct msx_buf *b, const void *p, size_t n);
void msx_buf_addc(struct msx_buf *b, char c);
void msx_buf_adds(struct msx_buf *b, const char *s);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void msx_buf_addf(struct msx_buf *b, const char *fmt, ...);
void msx_buf_vaddf(struct msx_buf *b, const char *fmt, va_list ap);
ms_code msx_buf_status(const struct msx_buf *b);
/* Gives the NUL-terminated contents away (caller frees); the buffer is
 * left empty and reusable. Returns NULL after a failure. */
char *msx_buf_take(struct msx_buf *b, size_t *len);

#endif
