/* SPDX-License-Identifier: MIT
 *
 * Small pieces shared by the filter files: SQLite's LIKE, RLIKE through
 * PCRE2, Python's json.dumps for one string, and the status names the SQL
 * store keeps. The only file of src/filter that sees pcre2.h.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "filter/filter_int.h"
#include "json/json_write.h"
#include "util/buf.h"
#include "util/utf8.h"

static size_t char_len(const char *s, size_t n, size_t i)
{
    size_t k = msx_utf8_decode((const unsigned char *)s, n, i, NULL);
    return k ? k : 1;
}

static char fold(char c, bool icase)
{
    if (icase && c >= 'A' && c <= 'Z')
        return (char)(c - 'A' + 'a');
    return c;
}

bool msi_like(const char *s, size_t n, const char *pat, size_t pn, bool icase)
{
    size_t si = 0, pi = 0;
    size_t star_p = (size_t)-1, star_s = 0;
    while (si < n) {
        if (pi < pn && pat[pi] == '%') {
            while (pi < pn && pat[pi] == '%')
                pi++;
            if (pi == pn)
                return true;
            star_p = pi;
            star_s = si;
            continue;
        }
        if (pi < pn && pat[pi] == '_') {
            si += char_len(s, n, si);
            pi++;
            continue;
        }
        if (pi < pn && fold(pat[pi], icase) == fold(s[si], icase)) {
            si++;
            pi++;
            continue;
        }
        if (star_p != (size_t)-1) {
            /* let the last % swallow one more character and retry */
            star_s += char_len(s, n, star_s);
            si = star_s;
            pi = star_p;
            continue;
        }
        return false;
    }
    while (pi < pn && pat[pi] == '%')
        pi++;
    return pi == pn;
}

void *msi_regex_compile(const char *pat, size_t n)
{
    int errcode;
    PCRE2_SIZE erroff;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, n, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
                                   &errcode, &erroff, NULL);
    return re;
}

void msi_regex_free(void *re)
{
    if (re)
        pcre2_code_free((pcre2_code *)re);
}

bool msi_regex_search(void *re, const char *s, size_t n)
{
    if (!re || !s)
        return false;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern((pcre2_code *)re, NULL);
    if (!md)
        return false;
    int rc = pcre2_match((pcre2_code *)re, (PCRE2_SPTR)s, n, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0;
}

void msi_json_dumps_str(struct msx_buf *b, const char *s, size_t n, bool ascii)
{
    /* the library's one JSON quoter; it follows Python's json.dumps */
    msx_buf_addc(b, '"');
    msx_json_escape(b, s, n, ascii);
    msx_buf_addc(b, '"');
}

const char *msi_state_name(ms_trace_state s)
{
    switch (s) {
    case MS_STATE_OK: return "OK";
    case MS_STATE_ERROR: return "ERROR";
    case MS_STATE_IN_PROGRESS: return "IN_PROGRESS";
    case MS_STATE_UNSPECIFIED: break;
    }
    return "STATE_UNSPECIFIED";
}

const char *msi_span_status_name(ms_status_code c)
{
    switch (c) {
    case MS_STATUS_OK: return "OK";
    case MS_STATUS_ERROR: return "ERROR";
    case MS_STATUS_UNSET: break;
    }
    return "UNSET";
}

bool msi_field_is_span(enum msi_field f)
{
    return f == MSI_F_SPAN_NAME || f == MSI_F_SPAN_TYPE || f == MSI_F_SPAN_STATUS ||
           f == MSI_F_SPAN_ATTR || f == MSI_F_SPAN_CONTENT;
}

/* sqlalchemy_store: span filters only look at spans starting at or after
 * (max lower bound on timestamp_ms - 10 s), in ns. */
bool msi_span_start_bound_ns(const ms_filter *f, int64_t *bound_ns)
{
    bool have = false, any_span = false;
    double best = 0;
    for (size_t i = 0; i < f->n; i++) {
        const struct msi_clause *c = &f->clauses[i];
        if (msi_field_is_span(c->field))
            any_span = true;
        if (c->field != MSI_F_TIMESTAMP || (c->cmp != MSI_C_GT && c->cmp != MSI_C_GE))
            continue;
        if (!have || c->num_d > best)
            best = c->num_d;
        have = true;
    }
    if (!have || !any_span)
        return false;
    double ns = (best - 10000.0) * 1e6;
    if (ns >= 9.2e18)
        *bound_ns = INT64_MAX;
    else if (ns <= -9.2e18)
        *bound_ns = INT64_MIN;
    else {
        int64_t v = (int64_t)ns;
        if ((double)v < ns)
            v++; /* ceil: start >= ns for an integer start */
        *bound_ns = v;
    }
    /* exact for integer bounds, which is every real filter */
    for (size_t i = 0; i < f->n; i++) {
        const struct msi_clause *c = &f->clauses[i];
        if (c->field == MSI_F_TIMESTAMP && (c->cmp == MSI_C_GT || c->cmp == MSI_C_GE) &&
            c->num_is_int && c->num_d == best && c->num_i <= INT64_MAX / 1000000 + 10000 &&
            c->num_i >= INT64_MIN / 1000000 + 10000)
            *bound_ns = (c->num_i - 10000) * 1000000;
    }
    return true;
}

/* sqlalchemy_store: span.attributes.<k> RLIKE v searches spans.content for
 * '"<k>": "\\"' + v + '\\"', anchors turned into the JSON quotes. */
char *msi_span_attr_regex(const char *key, const char *v, size_t vn, size_t *len)
{
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_LINE * 16);
    bool start = vn > 0 && v[0] == '^';
    if (start) {
        v++;
        vn--;
    }
    bool end = vn > 0 && v[vn - 1] == '$';
    if (end)
        vn--;
    msx_buf_addc(&b, '"');
    msx_buf_adds(&b, key);
    msx_buf_adds(&b, "\": ");
    msx_buf_adds(&b, start ? "\"\\\\\"" : "\"\\\\\".*");
    msx_buf_add(&b, v, vn);
    if (end)
        msx_buf_adds(&b, "\\\\\"");
    return msx_buf_take(&b, len);
}

/* sqlalchemy_store: the other span.attributes.<k> comparators use the
 * pattern '%"<k>"' + v + '%' on spans.content. */
char *msi_span_attr_like(const char *key, const char *v, size_t vn, size_t *len)
{
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_LINE * 16);
    msx_buf_adds(&b, "%\"");
    msx_buf_adds(&b, key);
    msx_buf_addc(&b, '"');
    msx_buf_add(&b, v, vn);
    msx_buf_addc(&b, '%');
    return msx_buf_take(&b, len);
}
