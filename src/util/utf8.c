/* SPDX-License-Identifier: MIT
 *
 * UTF-8 decoding per RFC 3629 (the table of well-formed byte sequences).
 */
#include "util/utf8.h"

size_t msx_utf8_decode(const unsigned char *s, size_t n, size_t i, unsigned *cp)
{
    unsigned c = s[i];
    size_t need;
    unsigned lo = 0x80, hi = 0xBF, v;
    if (c < 0x80) {
        if (cp)
            *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        v = c & 0x0F;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        v = c & 0x07;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (n - i <= need || s[i + 1] < lo || s[i + 1] > hi)
        return 0;
    for (size_t k = 1; k <= need; k++) {
        if ((s[i + k] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i + k] & 0x3F);
    }
    if (cp)
        *cp = v;
    return need + 1;
}

size_t msx_utf8_cut(const char *s, size_t len, size_t max)
{
    if (max >= len)
        return len;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}
