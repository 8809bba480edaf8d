/* SPDX-License-Identifier: MIT
 *
 * Untrusted trace text on a terminal or in Markdown: one function for every
 * command, so a control character, an escape sequence or a bidi override in
 * a trace is shown, never obeyed.
 */
#include <string.h>

#include "cli/cli.h"
#include "util/buf.h"
#include "util/utf8.h"

/* Untrusted text: control characters and C1 controls as visible escapes,
 * invalid UTF-8 as U+FFFD, Markdown punctuation escaped for CLI_ESC_MD. Line
 * breaks: a space for CLI_ESC_LINE, else newline + indent (and "> " in
 * Markdown block quotes, given as indent). Cut at max bytes (0: none) on a
 * code point boundary, marked with an ellipsis. */
void cli_put_text(struct msx_buf *b, ms_str s, size_t max, enum cli_esc mode, const char *indent)
{
    const unsigned char *p = (const unsigned char *)(s.ptr ? s.ptr : "");
    size_t n = s.len, i = 0;
    bool cut = false;
    if (max && n > max) {
        n = msx_utf8_cut((const char *)p, s.len, max);
        cut = true;
    }
    bool line_start = false;
    while (i < n) {
        bool at_start = line_start;
        line_start = false;
        unsigned cp;
        size_t k = msx_utf8_decode(p, n, i, &cp);
        if (k == 0) {
            msx_buf_adds(b, "\xef\xbf\xbd");
            i++;
            continue;
        }
        bool md = mode == CLI_ESC_MD || mode == CLI_ESC_MD_SHOWN;
        bool shown = mode == CLI_ESC_SHOWN || mode == CLI_ESC_MD_SHOWN;
        if (shown && (cp == '\n' || cp == '\t' || cp == '\r')) {
            msx_buf_adds(b, cp == '\n' ? "\\n" : cp == '\t' ? "\\t" : "\\r");
        } else if (cp == '\n') {
            if (mode == CLI_ESC_LINE)
                msx_buf_addc(b, ' ');
            else {
                msx_buf_addc(b, '\n');
                msx_buf_adds(b, indent ? indent : "");
                line_start = true;
            }
        } else if (cp == '\r') {
            if (!(i + 1 < n && p[i + 1] == '\n'))
                msx_buf_adds(b, "\\r");
        } else if (cp == '\t') {
            msx_buf_adds(b, md ? " " : "\t");
        } else if (cp < 0x20 || cp == 0x7f) {
            msx_buf_addf(b, "\\x%02x", cp);
        } else if (cp >= 0x80 && cp <= 0x9f) {
            msx_buf_addf(b, "\\u%04x", cp);
        } else if (cp == 0x202e || cp == 0x202d || cp == 0x2066 || cp == 0x2067 ||
                   cp == 0x2068 || cp == 0x2069 || cp == 0x202a || cp == 0x202b ||
                   cp == 0x202c) {
            msx_buf_addf(b, "\\u%04x", cp); /* bidi overrides reorder what follows */
        } else if (md && cp < 0x80 &&
                   (strchr("\\`*_[]<>#|&!~", (int)cp) || (at_start && strchr("-+=", (int)cp)))) {
            if (cp == '&')
                msx_buf_adds(b, "&amp;");
            else if (cp == '<')
                msx_buf_adds(b, "&lt;");
            else if (cp == '>')
                msx_buf_adds(b, "&gt;");
            else {
                msx_buf_addc(b, '\\');
                msx_buf_addc(b, (char)cp);
            }
        } else {
            msx_buf_add(b, p + i, k);
        }
        i += k;
    }
    if (cut)
        msx_buf_adds(b, "\xe2\x80\xa6");
}

