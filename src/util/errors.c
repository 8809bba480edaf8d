/* SPDX-License-Identifier: MIT
 *
 * Fixed texts for ms_code, and the library version.
 */
#include "mlsession/mlsession.h"

const char *ms_strerror(ms_code code)
{
    switch (code) {
    case MS_OK: return "no error";
    case MS_E_NOMEM: return "out of memory";
    case MS_E_IO: return "input/output error";
    case MS_E_PARSE: return "malformed input";
    case MS_E_TOOBIG: return "a size cap was reached";
    case MS_E_STORE: return "store error";
    case MS_E_UNSUPPORTED: return "unsupported input";
    case MS_E_NOTFOUND: return "not found";
    case MS_E_INVALID: return "invalid data";
    }
    return "unknown error";
}

const char *ms_version(void)
{
    return MS_VERSION_STRING;
}
