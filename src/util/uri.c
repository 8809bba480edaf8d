/* SPDX-License-Identifier: MIT
 *
 * URI redaction for messages: see uri.h.
 */
#include "util/uri.h"

#include <stdio.h>
#include <string.h>

void msx_uri_redact(const char *uri, char *out, size_t n)
{
    if (!n)
        return;
    const char *scheme_end = strstr(uri, "://");
    const char *auth = scheme_end ? scheme_end + 3 : NULL;
    const char *path = auth ? auth + strcspn(auth, "/?#") : NULL;
    const char *at = NULL;
    if (auth) /* the last '@' before the path ends the userinfo */
        for (const char *p = auth; p < path; p++)
            if (*p == '@')
                at = p;
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (!colon) {
        snprintf(out, n, "%s", uri);
        return;
    }
    /* hide the whole user:password part: user names are credentials too */
    snprintf(out, n, "%.*s***%s", (int)(auth - uri), uri, at);
}
