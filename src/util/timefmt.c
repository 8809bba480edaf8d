/* SPDX-License-Identifier: MIT
 *
 * Calendar arithmetic after Howard Hinnant's days_from_civil, in int64.
 */
#include "util/timefmt.h"

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool digits(const char *s, size_t n, size_t at, size_t count, unsigned *v)
{
    if (at + count > n)
        return false;
    unsigned x = 0;
    for (size_t i = 0; i < count; i++) {
        unsigned c = (unsigned char)s[at + i] - '0';
        if (c > 9)
            return false;
        x = x * 10 + c;
    }
    *v = x;
    return true;
}

bool msx_rfc3339_parse_ns(const char *s, size_t n, int64_t *ns)
{
    unsigned Y, M, D, h, mi, sec;
    if (!digits(s, n, 0, 4, &Y) || n < 19 || s[4] != '-' || !digits(s, n, 5, 2, &M) ||
        s[7] != '-' || !digits(s, n, 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !digits(s, n, 11, 2, &h) || s[13] != ':' || !digits(s, n, 14, 2, &mi) || s[16] != ':' ||
        !digits(s, n, 17, 2, &sec))
        return false;
    static const unsigned char mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (M < 1 || M > 12 || D < 1 || h > 23 || mi > 59 || sec > 60)
        return false;
    bool leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (D > (unsigned)mdays[M - 1] + (M == 2 && leap ? 1u : 0u))
        return false;
    size_t i = 19;
    int64_t frac = 0;
    if (i < n && s[i] == '.') {
        i++;
        size_t nd = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (nd < 9) {
                frac = frac * 10 + (s[i] - '0');
                nd++;
            }
            i++;
        }
        if (nd == 0)
            return false;
        for (; nd < 9; nd++)
            frac *= 10;
    }
    int64_t offset_s = 0;
    if (i < n && (s[i] == 'Z' || s[i] == 'z'))
        i++;
    else if (i < n && (s[i] == '+' || s[i] == '-')) {
        unsigned oh, om;
        if (!digits(s, n, i + 1, 2, &oh) || i + 3 >= n || s[i + 3] != ':' ||
            !digits(s, n, i + 4, 2, &om))
            return false;
        if (oh > 23 || om > 59)
            return false;
        offset_s = (int64_t)(oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
        i += 6;
    } else
        return false;
    if (i != n)
        return false;
    int64_t days = days_from_civil(Y, M, D);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
    const int64_t G = 1000000000;
    if (secs > INT64_MAX / G || secs < INT64_MIN / G - 1)
        return false;
    if (secs == INT64_MAX / G && frac > INT64_MAX % G)
        return false;
    if (secs == INT64_MIN / G - 1 && frac < G + INT64_MIN % G)
        return false;
    *ns = secs < 0 ? (secs + 1) * G + (frac - G) : secs * G + frac;
    return true;
}

void msx_rfc3339_format_ns(struct msx_buf *out, int64_t ns)
{
    int64_t secs = ns / 1000000000;
    int64_t frac = ns % 1000000000;
    if (frac < 0) {
        frac += 1000000000;
        secs--;
    }
    int64_t days = secs / 86400;
    int64_t rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    msx_buf_addf(out, "%04lld-%02u-%02uT%02u:%02u:%02u", (long long)y, m, d,
                 (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60), (unsigned)(rem % 60));
    if (frac == 0)
        ;
    else if (frac % 1000000 == 0)
        msx_buf_addf(out, ".%03lld", (long long)(frac / 1000000));
    else if (frac % 1000 == 0)
        msx_buf_addf(out, ".%06lld", (long long)(frac / 1000));
    else
        msx_buf_addf(out, ".%09lld", (long long)frac);
    msx_buf_addc(out, 'Z');
}

bool msx_duration_parse_ms(const char *s, size_t n, int64_t *ms)
{
    if (n < 2 || s[n - 1] != 's')
        return false;
    n--;
    size_t i = 0;
    bool neg = false;
    if (s[0] == '-') {
        neg = true;
        i++;
    }
    int64_t whole = 0;
    size_t start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        if (whole > (INT64_MAX / 1000 - 9) / 10)
            return false;
        whole = whole * 10 + (s[i] - '0');
        i++;
    }
    if (i == start)
        return false;
    int64_t frac = 0;
    if (i < n && s[i] == '.') {
        i++;
        int nd = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (nd < 3) {
                frac = frac * 10 + (s[i] - '0');
                nd++;
            }
            i++;
        }
        for (; nd < 3; nd++)
            frac *= 10;
    }
    if (i != n)
        return false;
    int64_t v = whole * 1000 + frac;
    *ms = neg ? -v : v;
    return true;
}
