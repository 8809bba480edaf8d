/* SPDX-License-Identifier: MIT
 *
 * render.c - code links as JSON objects and as text lines to print beside
 * a finding (analyze --source, report --source, correlate). Source lines
 * and names are untrusted: control characters become \xNN, invalid UTF-8
 * U+FFFD, and in Markdown the specials are escaped.
 */
#include <stdlib.h>
#include <string.h>

#include "code/code_int.h"
#include "json/json_write.h"
#include "util/buf.h"
#include "util/utf8.h"

static void esc(struct msx_buf *b, ms_str s, bool md)
{
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t i = 0;
    while (i < s.len) {
        unsigned cp = 0;
        size_t n = msx_utf8_decode(p, s.len, i, &cp);
        if (n == 0) {
            msx_buf_adds(b, "\xef\xbf\xbd");
            i++;
            continue;
        }
        if (n == 1) {
            unsigned char c = p[i];
            if (c == '\t')
                msx_buf_adds(b, "\\t");
            else if (c < 0x20 || c == 0x7f)
                msx_buf_addf(b, "\\x%02x", c);
            else if (md && strchr("|\\`*_<>[]", c))
                msx_buf_addc(b, '\\'), msx_buf_addc(b, (char)c);
            else
                msx_buf_addc(b, (char)c);
        } else if (cp >= 0x80 && cp <= 0x9f) {
            msx_buf_addf(b, "\\u%04x", cp);
        } else {
            msx_buf_add(b, p + i, n);
        }
        i += n;
    }
}

static void jstr(struct msx_jw *w, const char *key, ms_str v)
{
    msx_jw_keyz(w, key);
    if (v.ptr)
        msx_jw_str(w, v.ptr, v.len);
    else
        msx_jw_null(w);
}

MS_API ms_code ms_code_link_to_json(const ms_code_ref *k, char **out, size_t *len)
{
    *out = NULL;
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_OUTPUT);
    struct msx_jw w;
    msx_jw_init(&w, &b, 0);
    msx_jw_obj_begin(&w);
    msx_jw_keyz(&w, "kind");
    msx_jw_strz(&w, ms_code_kind_name(k->kind));
    msx_jw_keyz(&w, "finding");
    if (k->finding >= 0)
        msx_jw_int(&w, k->finding);
    else
        msx_jw_null(&w);
    msx_jw_keyz(&w, "turn");
    if (k->turn > 0)
        msx_jw_int(&w, k->turn);
    else
        msx_jw_null(&w);
    jstr(&w, "span_id", k->span_id);
    jstr(&w, "subject", k->subject);
    jstr(&w, "file", k->file);
    msx_jw_keyz(&w, "line");
    if (k->line > 0)
        msx_jw_int(&w, k->line);
    else
        msx_jw_null(&w);
    jstr(&w, "text", k->text);
    msx_jw_keyz(&w, "confidence");
    msx_jw_strz(&w, ms_confidence_name(k->confidence));
    jstr(&w, "reason", k->reason);
    msx_jw_keyz(&w, "detector");
    msx_jw_strz(&w, k->detector ? k->detector : "");
    msx_jw_keyz(&w, "frame");
    msx_jw_int(&w, k->frame);
    msx_jw_obj_end(&w);
    ms_code rc = msx_buf_status(&b);
    if (rc == MS_OK) {
        size_t n = 0;
        *out = msx_buf_take(&b, &n);
        if (len)
            *len = n;
    }
    msx_buf_release(&b);
    return rc;
}

MS_API ms_code ms_code_links_format(const ms_code_links *l, int64_t finding, const char *indent,
                                    int md, char **out, size_t *len)
{
    *out = NULL;
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_OUTPUT);
    for (size_t i = 0; i < ms_code_links_count(l); i++) {
        const ms_code_ref *k = ms_code_links_at(l, i);
        if (k->finding != finding)
            continue;
        msx_buf_adds(&b, indent ? indent : "");
        msx_buf_adds(&b, md ? "- code: " : "code: ");
        if (k->file.len) {
            if (md)
                msx_buf_addc(&b, '`');
            esc(&b, k->file, false);
            msx_buf_addf(&b, ":%lld", (long long)k->line);
            if (md)
                msx_buf_addc(&b, '`');
        } else {
            msx_buf_adds(&b, "(not in the code)");
        }
        msx_buf_addf(&b, "  %s", ms_code_kind_name(k->kind));
        if (k->subject.len) {
            msx_buf_addc(&b, ' ');
            esc(&b, k->subject, md);
        }
        if (k->text.len) {
            msx_buf_adds(&b, md ? ": `" : ": ");
            if (md) {
                /* a code span cannot hold a backtick: show it as ' */
                for (size_t j = 0; j < k->text.len; j++) {
                    ms_str one = {k->text.ptr + j, 1};
                    if (k->text.ptr[j] == '`')
                        msx_buf_addc(&b, '\'');
                    else if ((unsigned char)k->text.ptr[j] < 0x80)
                        esc(&b, one, false);
                    else {
                        size_t e = j;
                        while (e < k->text.len && (unsigned char)k->text.ptr[e] >= 0x80)
                            e++;
                        esc(&b, (ms_str){k->text.ptr + j, e - j}, false);
                        j = e - 1;
                    }
                }
                msx_buf_addc(&b, '`');
            } else {
                esc(&b, k->text, false);
            }
        }
        msx_buf_addf(&b, "%s[%s: ", md ? " " : "  ", ms_confidence_name(k->confidence));
        esc(&b, k->reason, md);
        msx_buf_adds(&b, "]\n");
    }
    msx_buf_addc(&b, '\0');
    ms_code rc = msx_buf_status(&b);
    if (rc == MS_OK) {
        size_t n = 0;
        *out = msx_buf_take(&b, &n);
        if (len)
            *len = n - 1;
    }
    msx_buf_release(&b);
    return rc;
}
