/* SPDX-License-Identifier: MIT
 *
 * Escaping of untrusted text for the report: HTML text and quoted
 * attributes, Markdown, URL components. Trace text comes from models and
 * users and may hold markup, terminal escapes or invalid UTF-8; whatever it
 * holds must come out as text. libc and util/ only.
 */
#include <string.h>

#include "report/report_int.h"
#include "util/utf8.h"

/* Bidi controls that could reorder what a reader sees. */
static bool is_bidi(unsigned cp)
{
    return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e ||
           cp == 0x200f || cp == 0x061c;
}

/* The visible form of a control character or bidi control, or NULL. */
static bool visible_control(struct msx_buf *b, unsigned cp, size_t n)
{
    if (n == 1 && cp != '\n' && cp != '\t' && (cp < 0x20 || cp == 0x7f)) {
        msx_buf_addf(b, "\\x%02x", cp);
        return true;
    }
    if ((cp >= 0x80 && cp <= 0x9f) || is_bidi(cp) || cp == 0xfeff) {
        msx_buf_addf(b, "\\u%04x", cp);
        return true;
    }
    return false;
}

static size_t cut_len(ms_str s, size_t max)
{
    if (!max || s.len <= max)
        return s.len;
    return msx_utf8_cut(s.ptr, s.len, max);
}

static void cut_note(struct msx_buf *b, size_t shown, size_t len)
{
    if (shown < len)
        msx_buf_addf(b, " \xe2\x80\xa6 (%zu more bytes)", len - shown);
}

void msi_html(struct msx_buf *b, ms_str s, size_t max)
{
    if (!s.ptr)
        return;
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t end = cut_len(s, max), i = 0;
    while (i < end) {
        unsigned cp = 0;
        size_t n = msx_utf8_decode(p, end, i, &cp);
        if (n == 0) {
            msx_buf_adds(b, "\xef\xbf\xbd");
            i++;
            continue;
        }
        if (visible_control(b, cp, n)) {
            i += n;
            continue;
        }
        switch (cp) {
        case '&': msx_buf_adds(b, "&amp;"); break;
        case '<': msx_buf_adds(b, "&lt;"); break;
        case '>': msx_buf_adds(b, "&gt;"); break;
        case '"': msx_buf_adds(b, "&quot;"); break;
        case '\'': msx_buf_adds(b, "&#39;"); break;
        default: msx_buf_add(b, p + i, n);
        }
        i += n;
    }
    cut_note(b, end, s.len);
}

void msi_htmlz(struct msx_buf *b, const char *z)
{
    msi_html(b, msi_s(z), 0);
}

void msi_md(struct msx_buf *b, ms_str s, size_t max, bool in_table)
{
    if (!s.ptr)
        return;
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t end = cut_len(s, max), i = 0;
    while (i < end) {
        unsigned cp = 0;
        size_t n = msx_utf8_decode(p, end, i, &cp);
        if (n == 0) {
            msx_buf_adds(b, "\xef\xbf\xbd");
            i++;
            continue;
        }
        if (cp == '\n') {
            msx_buf_adds(b, in_table ? "<br>" : "  \n");
            i++;
            continue;
        }
        if (cp == '\t') {
            msx_buf_addc(b, ' ');
            i++;
            continue;
        }
        if (visible_control(b, cp, n)) {
            i += n;
            continue;
        }
        switch (cp) {
        case '&': msx_buf_adds(b, "&amp;"); break;
        case '<': msx_buf_adds(b, "&lt;"); break;
        case '>': msx_buf_adds(b, "&gt;"); break;
        case '|': case '\\': case '`': case '*': case '_': case '[': case ']': case '#':
        case '~':
            msx_buf_addc(b, '\\');
            msx_buf_addc(b, (char)cp);
            break;
        default: msx_buf_add(b, p + i, n);
        }
        i += n;
    }
    cut_note(b, end, s.len);
}

void msi_url_component(struct msx_buf *b, ms_str s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            msx_buf_addc(b, (char)c);
        } else {
            msx_buf_addc(b, '%');
            msx_buf_addc(b, hex[c >> 4]);
            msx_buf_addc(b, hex[c & 15]);
        }
    }
}

char *ms_html_escape(const char *s, size_t n)
{
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_OUTPUT);
    msx_buf_adds(&b, "");
    msi_html(&b, (ms_str){s ? s : "", s ? n : 0}, 0);
    size_t len;
    char *out = msx_buf_take(&b, &len);
    msx_buf_release(&b);
    return out;
}
