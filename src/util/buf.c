/* SPDX-License-Identifier: MIT
 *
 * msx_buf: see buf.h. Keeps one spare byte so the contents are always
 * NUL-terminated after any successful append.
 */
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void msx_buf_init(struct msx_buf *b, size_t max)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->status = MS_OK;
}

void msx_buf_release(struct msx_buf *b)
{
    if (!b)
        return;
    free(b->ptr);
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    b->status = MS_OK;
}

void msx_buf_reset(struct msx_buf *b)
{
    b->len = 0;
    b->status = MS_OK;
    if (b->ptr)
        b->ptr[0] = '\0';
}

int msx_buf_reserve(struct msx_buf *b, size_t more)
{
    if (b->status != MS_OK)
        return 0;
    if (more > b->max || b->len > b->max - more || b->len + more == SIZE_MAX) {
        b->status = MS_E_TOOBIG;
        return 0;
    }
    size_t need = b->len + more + 1;
    if (need <= b->cap)
        return 1;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    char *p = realloc(b->ptr, ncap);
    if (!p) {
        b->status = MS_E_NOMEM;
        return 0;
    }
    b->ptr = p;
    b->cap = ncap;
    b->ptr[b->len] = '\0'; /* NUL-terminated even before the first append */
    return 1;
}

void msx_buf_add(struct msx_buf *b, const void *p, size_t n)
{
    if (!msx_buf_reserve(b, n))
        return;
    if (n)
        memcpy(b->ptr + b->len, p, n);
    b->len += n;
    b->ptr[b->len] = '\0';
}

void msx_buf_addc(struct msx_buf *b, char c)
{
    if (b->status == MS_OK && b->len + 1 < b->cap && b->len < b->max) {
        b->ptr[b->len++] = c;
        b->ptr[b->len] = '\0';
        return;
    }
    msx_buf_add(b, &c, 1);
}

void msx_buf_adds(struct msx_buf *b, const char *s)
{
    msx_buf_add(b, s, strlen(s));
}

void msx_buf_vaddf(struct msx_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        if (b->status == MS_OK)
            b->status = MS_E_INVALID;
        return;
    }
    if ((size_t)n < sizeof small) {
        msx_buf_add(b, small, (size_t)n);
        return;
    }
    if (!msx_buf_reserve(b, (size_t)n))
        return;
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void msx_buf_addf(struct msx_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    msx_buf_vaddf(b, fmt, ap);
    va_end(ap);
}

ms_code msx_buf_status(const struct msx_buf *b)
{
    return b->status;
}

char *msx_buf_take(struct msx_buf *b, size_t *len)
{
    if (b->status != MS_OK) {
        msx_buf_release(b);
        return NULL;
    }
    if (!b->ptr && !msx_buf_reserve(b, 0))
        return NULL;
    char *p = b->ptr;
    if (len)
        *len = b->len;
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
