/* SPDX-License-Identifier: MIT
 *
 * Id encodings: see ids.h.
 */
#include "util/ids.h"

#include <string.h>

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

int msx_base64_decode(const char *s, size_t n, unsigned char *out, size_t max)
{
    while (n && s[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return -1;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= max)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* non-canonical trailing bits */
        return -1;
    return (int)o;
}

void msx_base64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = B64[v >> 18];
        out[o++] = B64[(v >> 12) & 63];
        out[o++] = B64[(v >> 6) & 63];
        out[o++] = B64[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0);
        out[o++] = B64[v >> 18];
        out[o++] = B64[(v >> 12) & 63];
        out[o++] = i + 1 < n ? B64[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
}

bool msx_is_hex(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

static void bytes_to_hex(const unsigned char *b, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[b[i] >> 4];
        out[2 * i + 1] = hx[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static bool hex_padded(const char *s, size_t n, size_t nbytes, char *out)
{
    size_t width = 2 * nbytes;
    if (!msx_is_hex(s, n) || n > width)
        return false;
    size_t pad = width - n;
    memset(out, '0', pad);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        out[pad + i] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
    }
    out[width] = '\0';
    return true;
}

bool msx_id_to_hex(const char *s, size_t n, size_t nbytes, char *out)
{
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
        hex_padded(s + 2, n - 2, nbytes, out))
        return true; /* else maybe base64 that starts with "0x" */
    if (n > 3 && memcmp(s, "tr-", 3) == 0)
        return hex_padded(s + 3, n - 3, nbytes, out);
    if (n == 2 * nbytes && msx_is_hex(s, n))
        return hex_padded(s, n, nbytes, out);
    /* base64 of exactly nbytes bytes: 24 chars for 16, 12 for 8 */
    unsigned char raw[32];
    if (nbytes <= sizeof raw && n == 4 * ((nbytes + 2) / 3)) {
        int got = msx_base64_decode(s, n, raw, nbytes);
        if (got == (int)nbytes) {
            bytes_to_hex(raw, nbytes, out);
            return true;
        }
    }
    return false;
}

bool msx_hex_to_base64(const char *hex, size_t nbytes, char *out)
{
    unsigned char raw[32];
    if (nbytes > sizeof raw)
        return false;
    for (size_t i = 0; i < nbytes; i++) {
        int hi = hex[2 * i], lo = hex[2 * i + 1];
        hi = hi <= '9' ? hi - '0' : hi - 'a' + 10;
        lo = lo <= '9' ? lo - '0' : lo - 'a' + 10;
        if (hi < 0 || hi > 15 || lo < 0 || lo > 15)
            return false;
        raw[i] = (unsigned char)(hi << 4 | lo);
    }
    msx_base64_encode(raw, nbytes, out);
    return true;
}
