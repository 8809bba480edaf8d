// SPDX-License-Identifier: MIT
//
// The one C++ translation unit: parses with simdjson's DOM parser and hands
// the tape to C. Nothing here allocates per value; the parser and its
// document are reused across parses. No exceptions cross this boundary.
#include <simdjson.h>

#include <cstring>
#include <new>

extern "C" {
#include "json/json.h"
}

static_assert(MSX_JSON_PADDING >= simdjson::SIMDJSON_PADDING, "padding");

struct msx_json_parser {
    simdjson::dom::parser parser;
    simdjson::dom::document doc;
    struct msx_json_tape tape;
};

extern "C" msx_json_parser *msx_json_parser_new(void)
{
    return new (std::nothrow) msx_json_parser();
}

extern "C" void msx_json_parser_free(msx_json_parser *p)
{
    delete p;
}

static void set_err(struct ms_error *err, ms_code code, int64_t off, const char *msg)
{
    if (!err)
        return;
    err->code = code;
    err->offset = off;
    std::snprintf(err->msg, sizeof err->msg, "%s", msg);
}

extern "C" ms_code msx_json_parse(msx_json_parser *p, const char *buf, size_t len,
                                  bool padded, msx_json *root, struct ms_error *err)
{
    if (len > 0xFFFFFFF0u) {
        set_err(err, MS_E_TOOBIG, -1, "json document larger than 4 GiB");
        return MS_E_TOOBIG;
    }
    auto r = p->parser.parse_into_document(p->doc, reinterpret_cast<const uint8_t *>(buf), len,
                                           !padded);
    if (r.error() != simdjson::SUCCESS) {
        if (r.error() == simdjson::MEMALLOC) {
            set_err(err, MS_E_NOMEM, -1, "out of memory parsing json");
            return MS_E_NOMEM;
        }
        // simdjson says what, not where: our C validator finds the byte.
        size_t off = 0;
        const char *msg = nullptr;
        if (msx_json_check(buf, len, &off, &msg)) {
            char m[200];
            std::snprintf(m, sizeof m, "invalid json: %s", simdjson::error_message(r.error()));
            set_err(err, MS_E_PARSE, -1, m);
        }
        else
            set_err(err, MS_E_PARSE, static_cast<int64_t>(off), msg);
        return MS_E_PARSE;
    }
    p->tape.tape = p->doc.tape.get();
    p->tape.strings = p->doc.string_buf.get();
    root->t = &p->tape;
    root->i = 1; // tape[0] is the root marker
    return MS_OK;
}
