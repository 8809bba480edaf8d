/* SPDX-License-Identifier: MIT
 *
 * The one decoder: MLflow span JSON in every form of reference section 3
 * (V3 dict with base64 ids, 3.5.0's hex variant, 2.x "context" form, the
 * OTLP proto-JSON of REST replies, camelCase OTLP from exporters), TraceInfo
 * V3 and V2, and assessments, into the model of mlsession/trace.h. Ids end
 * as lowercase hex, times as exact int64. Unknown keys are ignored; a value
 * of the wrong type is an error that names the field.
 */
#include "model/model.h"

#include <stdio.h>
#include <string.h>

#include "json/json_write.h"
#include "util/buf.h"
#include "util/ids.h"
#include "util/timefmt.h"

static ms_code fail2(struct msi_decoder *d, ms_code code, const char *what, const char *rest)
{
    if (d->err) {
        d->err->code = code;
        d->err->offset = -1;
        snprintf(d->err->msg, sizeof d->err->msg, "%s%s", what, rest);
    }
    return code;
}

static ms_code fail(struct msi_decoder *d, ms_code code, const char *msg)
{
    return fail2(d, code, msg, "");
}

static ms_code nomem(struct msi_decoder *d)
{
    return fail(d, MS_E_NOMEM, "out of memory");
}

ms_str msi_dup(struct msx_arena *a, ms_str s)
{
    ms_str r = {NULL, 0};
    if (!s.ptr)
        return r;
    r.ptr = msx_arena_strndup(a, s.ptr, s.len);
    r.len = r.ptr ? s.len : 0;
    return r;
}

/* A copied string field, or {NULL,0} if absent/null. *bad is set when the
 * field has a non-string value. */
static ms_str str_field(struct msi_decoder *d, msx_json obj, const char *key, bool *ok)
{
    msx_json v = msx_json_get(obj, key);
    ms_str none = {NULL, 0};
    if (msx_json_is_null_or_none(v))
        return none;
    if (msx_json_type(v) != MSX_JSON_STRING) {
        *ok = false;
        return none;
    }
    ms_str s = msi_dup(d->arena, msx_json_str(v));
    if (!s.ptr)
        *ok = false;
    return s;
}

/* First of two spellings (snake_case, camelCase). */
static msx_json get2(msx_json obj, const char *a, const char *b)
{
    msx_json v = msx_json_get(obj, a);
    if (!msx_json_ok(v) && b)
        v = msx_json_get(obj, b);
    return v;
}

/* Compact JSON text of any value, in the arena. */
static ms_str json_text(struct msi_decoder *d, msx_json v)
{
    struct msx_buf b;
    struct msx_jw w;
    ms_str r = {NULL, 0};
    msx_buf_init(&b, MSX_CAP_FILE);
    msx_jw_init(&w, &b, 0);
    msx_jw_value(&w, v);
    if (msx_buf_status(&b) == MS_OK) {
        ms_str s = {b.ptr, b.len};
        r = msi_dup(d->arena, s);
    }
    msx_buf_release(&b);
    return r;
}

/* ---- attributes ------------------------------------------------------- */

static bool plain_attr(struct msi_decoder *d, ms_str key, msx_json v, ms_attr *a)
{
    a->key = msi_dup(d->arena, key);
    if (!a->key.ptr)
        return false;
    if (msx_json_type(v) == MSX_JSON_STRING) {
        a->kind = MS_VAL_STRING;
        a->value = msi_dup(d->arena, msx_json_str(v));
    } else {
        a->kind = MS_VAL_JSON;
        a->value = json_text(d, v);
    }
    return a->value.ptr != NULL;
}

/* Attributes as an object {"k": v} (V2, V3, event attributes). */
static ms_code attrs_from_object(struct msi_decoder *d, msx_json obj, ms_attr **out, size_t *n,
                                 const char *what)
{
    *out = NULL;
    *n = 0;
    if (msx_json_is_null_or_none(obj))
        return MS_OK;
    if (msx_json_type(obj) != MSX_JSON_OBJECT)
        return fail2(d, MS_E_INVALID, what, " is not an object");
    size_t count = msx_json_count(obj);
    if (!count)
        return MS_OK;
    ms_attr *arr = msx_arena_calloc(d->arena, count, sizeof *arr);
    if (!arr)
        return nomem(d);
    struct msx_json_iter it = msx_json_iter_init(obj);
    ms_str k;
    msx_json v;
    size_t i = 0;
    while (msx_json_next(&it, &k, &v) && i < count)
        if (!plain_attr(d, k, v, &arr[i++]))
            return nomem(d);
    *out = arr;
    *n = i;
    return MS_OK;
}

/* An OTLP AnyValue {"string_value": ...} (or camelCase) as JSON text or a
 * string. Strings MLflow wrote stay JSON-encoded inside string_value. */
static void any_value(struct msi_decoder *d, msx_json av, struct msx_jw *w, bool top,
                      ms_attr *a, bool *ok);

static void any_value_json(struct msi_decoder *d, msx_json av, struct msx_jw *w, bool *ok)
{
    any_value(d, av, w, false, NULL, ok);
}

static void any_value(struct msi_decoder *d, msx_json av, struct msx_jw *w, bool top,
                      ms_attr *a, bool *ok)
{
    msx_json v;
    int64_t i;
    /* strings, and bytes as their base64 text */
    if (msx_json_ok(v = get2(av, "string_value", "stringValue")) ||
        msx_json_ok(v = get2(av, "bytes_value", "bytesValue"))) {
        ms_str s = msx_json_str(v);
        if (!s.ptr) {
            *ok = false;
            return;
        }
        if (top) {
            a->kind = MS_VAL_STRING;
            a->value = msi_dup(d->arena, s);
            *ok = a->value.ptr != NULL;
        } else
            msx_jw_str(w, s.ptr, s.len);
        return;
    }
    if (msx_json_ok(v = get2(av, "int_value", "intValue"))) {
        if (!msx_json_int64_lenient(v, &i)) {
            *ok = false;
            return;
        }
        msx_jw_int(w, i);
    } else if (msx_json_ok(v = get2(av, "double_value", "doubleValue"))) {
        double x;
        if (msx_json_double(v, &x))
            msx_jw_double(w, x);
        else
            msx_jw_value(w, v); /* "NaN", "Infinity" as strings */
    } else if (msx_json_ok(v = get2(av, "bool_value", "boolValue"))) {
        msx_jw_value(w, v);
    } else if (msx_json_ok(v = get2(av, "array_value", "arrayValue"))) {
        msx_jw_arr_begin(w);
        struct msx_json_iter it = msx_json_iter_init(msx_json_get(v, "values"));
        ms_str k;
        msx_json e;
        while (msx_json_next(&it, &k, &e))
            any_value_json(d, e, w, ok);
        msx_jw_arr_end(w);
    } else if (msx_json_ok(v = get2(av, "kvlist_value", "kvlistValue"))) {
        msx_jw_obj_begin(w);
        struct msx_json_iter it = msx_json_iter_init(msx_json_get(v, "values"));
        ms_str k;
        msx_json e;
        while (msx_json_next(&it, &k, &e)) {
            ms_str key = msx_json_str(msx_json_get(e, "key"));
            msx_jw_key(w, key.ptr ? key.ptr : "", key.len);
            any_value_json(d, msx_json_get(e, "value"), w, ok);
        }
        msx_jw_obj_end(w);
    } else {
        msx_jw_null(w); /* an empty AnyValue */
    }
}

/* Attributes as an OTLP list [{"key": k, "value": AnyValue}]. */
static ms_code attrs_from_list(struct msi_decoder *d, msx_json arr, ms_attr **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t count = msx_json_count(arr);
    if (!count)
        return MS_OK;
    ms_attr *as = msx_arena_calloc(d->arena, count, sizeof *as);
    if (!as)
        return nomem(d);
    struct msx_json_iter it = msx_json_iter_init(arr);
    ms_str k;
    msx_json e;
    size_t i = 0;
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_FILE);
    while (msx_json_next(&it, &k, &e) && i < count) {
        ms_attr *a = &as[i++];
        msx_json key = msx_json_get(e, "key");
        if (msx_json_type(key) != MSX_JSON_STRING) {
            msx_buf_release(&b);
            return fail(d, MS_E_INVALID, "otlp attribute without a string key");
        }
        a->key = msi_dup(d->arena, msx_json_str(key));
        bool ok = true;
        struct msx_jw w;
        msx_buf_reset(&b);
        msx_jw_init(&w, &b, 0);
        a->kind = MS_VAL_JSON;
        any_value(d, msx_json_get(e, "value"), &w, true, a, &ok);
        if (ok && a->kind == MS_VAL_JSON) {
            ms_str s = {b.ptr, b.len};
            a->value = msi_dup(d->arena, s);
            ok = a->value.ptr != NULL && msx_buf_status(&b) == MS_OK;
        }
        if (!ok || !a->key.ptr) {
            msx_buf_release(&b);
            return fail(d, MS_E_INVALID, "bad otlp attribute value");
        }
    }
    msx_buf_release(&b);
    *out = as;
    *n = i;
    return MS_OK;
}

const ms_attr *ms_span_attr(const ms_span *span, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < span->n_attrs; i++)
        if (span->attrs[i].key.len == n && memcmp(span->attrs[i].key.ptr, key, n) == 0)
            return &span->attrs[i];
    return NULL;
}

/* ---- token usage ------------------------------------------------------ */

bool msi_decode_usage(msx_json v, ms_token_usage *u)
{
    static const struct {
        const char *key;
        unsigned bit;
        size_t off;
    } fields[] = {
        {"input_tokens", MS_USAGE_INPUT, offsetof(ms_token_usage, input_tokens)},
        {"output_tokens", MS_USAGE_OUTPUT, offsetof(ms_token_usage, output_tokens)},
        {"total_tokens", MS_USAGE_TOTAL, offsetof(ms_token_usage, total_tokens)},
        {"cache_read_input_tokens", MS_USAGE_CACHE_READ,
         offsetof(ms_token_usage, cache_read_input_tokens)},
        {"cache_creation_input_tokens", MS_USAGE_CACHE_CREATION,
         offsetof(ms_token_usage, cache_creation_input_tokens)},
    };
    memset(u, 0, sizeof *u);
    if (msx_json_type(v) != MSX_JSON_OBJECT)
        return false;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        int64_t x;
        if (msx_json_int64_lenient(msx_json_get(v, fields[i].key), &x)) {
            memcpy((char *)u + fields[i].off, &x, sizeof x);
            u->present |= fields[i].bit;
        }
    }
    return u->present != 0;
}

/* Parses the JSON text inside an MS_VAL_STRING attribute with the inner
 * parser; returns a NONE value if it is not JSON. */
static msx_json inner_json(struct msi_decoder *d, const ms_attr *a)
{
    msx_json none = {NULL, 0}, root;
    if (!a)
        return none;
    if (!d->inner && !(d->inner = msx_json_parser_new()))
        return none;
    if (msx_json_parse(d->inner, a->value.ptr, a->value.len, false, &root, NULL) != MS_OK)
        return none;
    return root;
}

/* Fills span_type and usage from the attributes. */
static void derive_span_fields(struct msi_decoder *d, ms_span *s)
{
    const ms_attr *t = ms_span_attr(s, "mlflow.spanType");
    if (t && t->kind == MS_VAL_STRING) {
        msx_json v = inner_json(d, t);
        if (msx_json_type(v) == MSX_JSON_STRING)
            s->span_type = msi_dup(d->arena, msx_json_str(v));
        else
            s->span_type = t->value; /* foreign data: a raw string */
    }
    const ms_attr *u = ms_span_attr(s, "mlflow.chat.tokenUsage");
    if (u) {
        if (u->kind == MS_VAL_STRING)
            msi_decode_usage(inner_json(d, u), &s->usage);
    }
}

/* ---- spans ------------------------------------------------------------ */

static ms_status_code status_from(msx_json code)
{
    int64_t n;
    if (msx_json_int64(code, &n))
        return n == 1 ? MS_STATUS_OK : n == 2 ? MS_STATUS_ERROR : MS_STATUS_UNSET;
    ms_str s = msx_json_str(code);
    if (!s.ptr)
        return MS_STATUS_UNSET;
    if (s.len > 12 && memcmp(s.ptr, "STATUS_CODE_", 12) == 0) {
        s.ptr += 12;
        s.len -= 12;
    }
    if (s.len == 2 && memcmp(s.ptr, "OK", 2) == 0)
        return MS_STATUS_OK;
    if (s.len == 5 && memcmp(s.ptr, "ERROR", 5) == 0)
        return MS_STATUS_ERROR;
    return MS_STATUS_UNSET;
}

static bool id_field(msx_json v, size_t nbytes, char *out)
{
    ms_str s = msx_json_str(v);
    return s.ptr && msx_id_to_hex(s.ptr, s.len, nbytes, out);
}

/* A parent id: absent, null or "" means root. */
static int parent_field(msx_json v, char *out)
{
    if (msx_json_is_null_or_none(v)) {
        out[0] = '\0';
        return 1;
    }
    ms_str s = msx_json_str(v);
    if (s.ptr && s.len == 0) {
        out[0] = '\0';
        return 1;
    }
    return id_field(v, 8, out);
}

static ms_code decode_events(struct msi_decoder *d, msx_json arr, ms_span *s, bool v2, bool otlp)
{
    if (msx_json_is_null_or_none(arr))
        return MS_OK;
    if (msx_json_type(arr) != MSX_JSON_ARRAY)
        return fail(d, MS_E_INVALID, "span events is not an array");
    size_t count = msx_json_count(arr);
    if (!count)
        return MS_OK;
    s->events = msx_arena_calloc(d->arena, count, sizeof *s->events);
    if (!s->events)
        return nomem(d);
    struct msx_json_iter it = msx_json_iter_init(arr);
    ms_str k;
    msx_json e;
    size_t i = 0;
    while (msx_json_next(&it, &k, &e) && i < count) {
        ms_event *ev = &s->events[i++];
        if (msx_json_type(e) != MSX_JSON_OBJECT)
            return fail(d, MS_E_INVALID, "span event is not an object");
        bool ok = true;
        ev->name = str_field(d, e, "name", &ok);
        msx_json t = v2 ? msx_json_get(e, "timestamp") : get2(e, "time_unix_nano", "timeUnixNano");
        if (!msx_json_is_null_or_none(t) && !msx_json_int64_lenient(t, &ev->time_unix_nano))
            ok = false;
        if (!ok)
            return fail(d, MS_E_INVALID, "bad span event name or time");
        msx_json attrs = msx_json_get(e, "attributes");
        ms_code rc = (otlp || msx_json_type(attrs) == MSX_JSON_ARRAY)
                         ? attrs_from_list(d, attrs, &ev->attrs, &ev->n_attrs)
                         : attrs_from_object(d, attrs, &ev->attrs, &ev->n_attrs,
                                             "event attributes");
        if (rc != MS_OK)
            return rc;
    }
    s->n_events = i;
    return MS_OK;
}

static ms_code decode_v2(struct msi_decoder *d, msx_json v, ms_span *s)
{
    msx_json ctx = msx_json_get(v, "context");
    s->form = MS_FORM_V2;
    if (!id_field(msx_json_get(ctx, "trace_id"), 16, s->trace_id) ||
        !id_field(msx_json_get(ctx, "span_id"), 8, s->span_id))
        return fail(d, MS_E_INVALID, "span context has no valid trace_id/span_id");
    if (!parent_field(msx_json_get(v, "parent_id"), s->parent_id))
        return fail(d, MS_E_INVALID, "span parent_id is not a valid id");
    if (!msx_json_int64_lenient(msx_json_get(v, "start_time"), &s->start_ns))
        return fail(d, MS_E_INVALID, "span start_time is not an integer");
    msx_json end = msx_json_get(v, "end_time");
    if (!msx_json_is_null_or_none(end)) {
        if (!msx_json_int64_lenient(end, &s->end_ns))
            return fail(d, MS_E_INVALID, "span end_time is not an integer");
        s->has_end = true;
    }
    bool ok = true;
    s->status = status_from(msx_json_get(v, "status_code"));
    s->status_message = str_field(d, v, "status_message", &ok);
    if (!ok)
        return fail(d, MS_E_INVALID, "span status_message is not a string");
    ms_code rc = attrs_from_object(d, msx_json_get(v, "attributes"), &s->attrs, &s->n_attrs,
                                   "span attributes");
    if (rc == MS_OK)
        rc = decode_events(d, msx_json_get(v, "events"), s, true, false);
    return rc;
}

/* V3 dicts (forms A, B), OTLP proto-JSON (D) and camelCase OTLP (E). */
static ms_code decode_v3(struct msi_decoder *d, msx_json v, ms_span *s)
{
    msx_json attrs = msx_json_get(v, "attributes");
    bool otlp = msx_json_type(attrs) == MSX_JSON_ARRAY;
    msx_json tid = get2(v, "trace_id", "traceId"), sid = get2(v, "span_id", "spanId");
    ms_str ts = msx_json_str(tid), ss = msx_json_str(sid);
    if (!ts.ptr || !ss.ptr)
        return fail(d, MS_E_INVALID, "span has no string trace_id/span_id");
    if (otlp)
        s->form = MS_FORM_OTLP;
    else if ((ts.len > 3 && memcmp(ts.ptr, "tr-", 3) == 0) || (ss.len == 16 && msx_is_hex(ss.ptr, 16)))
        s->form = MS_FORM_V3_HEX;
    else
        s->form = MS_FORM_V3;
    if (!msx_id_to_hex(ts.ptr, ts.len, 16, s->trace_id) ||
        !msx_id_to_hex(ss.ptr, ss.len, 8, s->span_id))
        return fail(d, MS_E_INVALID, "span trace_id/span_id is not a valid id");
    if (!parent_field(get2(v, "parent_span_id", "parentSpanId"), s->parent_id))
        return fail(d, MS_E_INVALID, "span parent_span_id is not a valid id");
    if (!msx_json_int64_lenient(get2(v, "start_time_unix_nano", "startTimeUnixNano"),
                                &s->start_ns))
        return fail(d, MS_E_INVALID, "span start_time_unix_nano is not an integer");
    msx_json end = get2(v, "end_time_unix_nano", "endTimeUnixNano");
    if (!msx_json_is_null_or_none(end)) {
        if (!msx_json_int64_lenient(end, &s->end_ns))
            return fail(d, MS_E_INVALID, "span end_time_unix_nano is not an integer");
        s->has_end = s->end_ns != 0 || s->form != MS_FORM_OTLP;
    }
    msx_json st = msx_json_get(v, "status");
    bool ok = true;
    if (msx_json_type(st) == MSX_JSON_OBJECT) {
        s->status = status_from(msx_json_get(st, "code"));
        s->status_message = str_field(d, st, "message", &ok);
        if (!ok)
            return fail(d, MS_E_INVALID, "span status message is not a string");
    }
    ms_code rc = otlp ? attrs_from_list(d, attrs, &s->attrs, &s->n_attrs)
                      : attrs_from_object(d, attrs, &s->attrs, &s->n_attrs, "span attributes");
    if (rc == MS_OK)
        rc = decode_events(d, msx_json_get(v, "events"), s, false, otlp);
    msx_json links = msx_json_get(v, "links");
    if (rc == MS_OK && msx_json_type(links) == MSX_JSON_ARRAY && msx_json_count(links) > 0)
        s->links_json = json_text(d, links);
    return rc;
}

ms_code msi_decode_span(struct msi_decoder *d, msx_json v, ms_span *s)
{
    memset(s, 0, sizeof *s);
    if (msx_json_type(v) != MSX_JSON_OBJECT)
        return fail(d, MS_E_INVALID, "span is not an object");
    bool ok = true;
    s->name = str_field(d, v, "name", &ok);
    if (!ok)
        return fail(d, MS_E_INVALID, "span name is not a string");
    ms_code rc;
    if (msx_json_ok(msx_json_get(v, "context")))
        rc = decode_v2(d, v, s);
    else if (msx_json_ok(get2(v, "start_time_unix_nano", "startTimeUnixNano")))
        rc = decode_v3(d, v, s);
    else
        return fail(d, MS_E_UNSUPPORTED, "unknown span form (no \"context\" and no \"start_time_unix_nano\")");
    if (rc == MS_OK)
        derive_span_fields(d, s);
    return rc;
}

/* ---- string maps ------------------------------------------------------ */

/* {"k": "v"} or [{"key": k, "value": v}] (V2 REST). */
static ms_code decode_kv(struct msi_decoder *d, msx_json v, ms_kv **out, size_t *n,
                         const char *what)
{
    *out = NULL;
    *n = 0;
    enum msx_json_type ty = msx_json_type(v);
    if (ty == MSX_JSON_NONE || ty == MSX_JSON_NULL)
        return MS_OK;
    if (ty != MSX_JSON_OBJECT && ty != MSX_JSON_ARRAY)
        return fail2(d, MS_E_INVALID, what, " is not an object");
    size_t count = msx_json_count(v);
    if (!count)
        return MS_OK;
    ms_kv *kv = msx_arena_calloc(d->arena, count, sizeof *kv);
    if (!kv)
        return nomem(d);
    struct msx_json_iter it = msx_json_iter_init(v);
    ms_str k;
    msx_json e;
    size_t i = 0;
    while (msx_json_next(&it, &k, &e) && i < count) {
        msx_json val = e;
        if (ty == MSX_JSON_ARRAY) {
            k = msx_json_str(msx_json_get(e, "key"));
            val = msx_json_get(e, "value");
            if (!k.ptr)
                return fail2(d, MS_E_INVALID, what, " entry has no string key");
        }
        kv[i].key = msi_dup(d->arena, k);
        if (msx_json_type(val) == MSX_JSON_STRING)
            kv[i].value = msi_dup(d->arena, msx_json_str(val));
        else if (msx_json_is_null_or_none(val)) {
            ms_str empty = {"", 0};
            kv[i].value = msi_dup(d->arena, empty);
        } else
            kv[i].value = json_text(d, val);
        if (!kv[i].key.ptr || !kv[i].value.ptr)
            return nomem(d);
        i++;
    }
    *out = kv;
    *n = i;
    return MS_OK;
}

/* ---- assessments ------------------------------------------------------ */

/* A Timestamp as RFC 3339 text or as integer milliseconds. */
static bool time_field(msx_json v, int64_t *ns, bool *has)
{
    *has = false;
    if (msx_json_is_null_or_none(v))
        return true;
    ms_str s = msx_json_str(v);
    int64_t ms;
    if (s.ptr && msx_rfc3339_parse_ns(s.ptr, s.len, ns)) {
        *has = true;
        return true;
    }
    if (msx_json_int64_lenient(v, &ms) && ms < INT64_MAX / 1000000 && ms > INT64_MIN / 1000000) {
        *ns = ms * 1000000;
        *has = true;
        return true;
    }
    return false;
}

ms_code msi_decode_assessment(struct msi_decoder *d, msx_json v, ms_assessment *a)
{
    memset(a, 0, sizeof *a);
    if (msx_json_type(v) != MSX_JSON_OBJECT)
        return fail(d, MS_E_INVALID, "assessment is not an object");
    bool ok = true;
    a->assessment_id = str_field(d, v, "assessment_id", &ok);
    a->name = str_field(d, v, "assessment_name", &ok);
    if (!a->name.ptr)
        a->name = str_field(d, v, "name", &ok);
    a->trace_id = str_field(d, v, "trace_id", &ok);
    a->span_id = str_field(d, v, "span_id", &ok);
    msx_json src = msx_json_get(v, "source");
    a->source_type = str_field(d, src, "source_type", &ok);
    a->source_id = str_field(d, src, "source_id", &ok);
    a->rationale = str_field(d, v, "rationale", &ok);
    a->overrides = str_field(d, v, "overrides", &ok);
    if (!ok)
        return fail(d, MS_E_INVALID, "assessment has a non-string field");
    if (!time_field(msx_json_get(v, "create_time"), &a->create_time_ns, &a->has_create_time) ||
        !time_field(msx_json_get(v, "last_update_time"), &a->last_update_time_ns,
                    &a->has_last_update_time))
        return fail(d, MS_E_INVALID, "assessment time is not a timestamp");
    msx_json valid = msx_json_get(v, "valid");
    a->valid = true;
    if (msx_json_ok(valid)) {
        if (!msx_json_bool(valid, &a->valid))
            return fail(d, MS_E_INVALID, "assessment valid is not a boolean");
        a->has_valid = true;
    }
    msx_json body = msx_json_get(v, "feedback");
    if (!msx_json_ok(body)) {
        body = msx_json_get(v, "expectation");
        a->is_expectation = msx_json_ok(body);
    }
    if (msx_json_type(body) == MSX_JSON_OBJECT) {
        msx_json val = msx_json_get(body, "value");
        if (msx_json_ok(val))
            a->value_json = json_text(d, val);
        msx_json ser = msx_json_get(body, "serialized_value");
        if (msx_json_ok(ser))
            a->serialized_json = json_text(d, ser);
        msx_json er = msx_json_get(body, "error");
        if (msx_json_type(er) == MSX_JSON_OBJECT) {
            a->has_error = true;
            a->error_code = str_field(d, er, "error_code", &ok);
            a->error_message = str_field(d, er, "error_message", &ok);
            a->error_stack_trace = str_field(d, er, "stack_trace", &ok);
        }
    }
    if (!ok)
        return fail(d, MS_E_INVALID, "assessment error has a non-string field");
    return decode_kv(d, msx_json_get(v, "metadata"), &a->metadata, &a->n_metadata,
                     "assessment metadata");
}

/* ---- trace info ------------------------------------------------------- */

static ms_trace_state state_from(ms_str s)
{
    static const struct {
        const char *name;
        ms_trace_state st;
    } names[] = {{"OK", MS_STATE_OK}, {"ERROR", MS_STATE_ERROR},
                 {"IN_PROGRESS", MS_STATE_IN_PROGRESS}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (s.ptr && s.len == strlen(names[i].name) && memcmp(s.ptr, names[i].name, s.len) == 0)
            return names[i].st;
    return MS_STATE_UNSPECIFIED;
}

const char *ms_trace_state_name(ms_trace_state s)
{
    switch (s) {
    case MS_STATE_OK: return "OK";
    case MS_STATE_ERROR: return "ERROR";
    case MS_STATE_IN_PROGRESS: return "IN_PROGRESS";
    default: return "STATE_UNSPECIFIED";
    }
}

static const ms_kv *kv_find(const ms_kv *kv, size_t n, const char *key)
{
    size_t len = strlen(key);
    for (size_t i = 0; i < n; i++)
        if (kv[i].key.len == len && memcmp(kv[i].key.ptr, key, len) == 0)
            return &kv[i];
    return NULL;
}

ms_code msi_decode_info(struct msi_decoder *d, msx_json v, ms_trace_info *t)
{
    memset(t, 0, sizeof *t);
    if (msx_json_type(v) != MSX_JSON_OBJECT)
        return fail(d, MS_E_INVALID, "trace info is not an object");
    bool ok = true, v2 = false;
    t->trace_id = str_field(d, v, "trace_id", &ok);
    if (!t->trace_id.ptr) {
        t->trace_id = str_field(d, v, "request_id", &ok);
        v2 = t->trace_id.ptr != NULL;
    }
    if (!ok || !t->trace_id.ptr || t->trace_id.len == 0)
        return fail(d, MS_E_INVALID, "trace info has no trace_id");
    t->client_request_id = str_field(d, v, "client_request_id", &ok);
    t->request_preview = str_field(d, v, "request_preview", &ok);
    t->response_preview = str_field(d, v, "response_preview", &ok);
    msx_json loc = msx_json_get(v, "trace_location");
    if (msx_json_type(loc) == MSX_JSON_OBJECT) {
        t->location_type = str_field(d, loc, "type", &ok);
        msx_json exp = msx_json_get(loc, "mlflow_experiment");
        t->experiment_id = str_field(d, exp, "experiment_id", &ok);
        if (!t->experiment_id.ptr)
            t->location_json = json_text(d, loc);
    } else {
        msx_json exp = msx_json_get(v, "experiment_id");
        if (msx_json_type(exp) == MSX_JSON_STRING)
            t->experiment_id = msi_dup(d->arena, msx_json_str(exp));
        else if (msx_json_ok(exp))
            t->experiment_id = json_text(d, exp); /* an integer id */
        static const char mlflow_exp[] = "MLFLOW_EXPERIMENT";
        ms_str ty = {mlflow_exp, sizeof mlflow_exp - 1};
        t->location_type = msi_dup(d->arena, ty);
    }
    if (!ok)
        return fail(d, MS_E_INVALID, "trace info has a non-string field");
    /* request time: RFC 3339 (V3 JSON) or integer ms (V2) */
    int64_t ns;
    bool has;
    msx_json rt = msx_json_get(v, v2 ? "timestamp_ms" : "request_time");
    if (!msx_json_ok(rt))
        rt = msx_json_get(v, "timestamp_ms");
    if (!time_field(rt, &ns, &has))
        return fail(d, MS_E_INVALID, "trace request_time is not a timestamp");
    t->request_time_ms = has ? ns / 1000000 : 0;
    msx_json dur = msx_json_get(v, "execution_duration_ms");
    if (!msx_json_ok(dur))
        dur = msx_json_get(v, "execution_time_ms");
    if (!msx_json_is_null_or_none(dur)) {
        if (!msx_json_int64_lenient(dur, &t->execution_duration_ms))
            return fail(d, MS_E_INVALID, "trace execution duration is not an integer");
        t->has_execution_duration = true;
    } else {
        ms_str ds = msx_json_str(msx_json_get(v, "execution_duration"));
        if (ds.ptr) {
            if (!msx_duration_parse_ms(ds.ptr, ds.len, &t->execution_duration_ms))
                return fail(d, MS_E_INVALID, "trace execution_duration is not a duration");
            t->has_execution_duration = true;
        }
    }
    msx_json st = msx_json_get(v, "state");
    if (!msx_json_ok(st))
        st = msx_json_get(v, "status");
    t->state = state_from(msx_json_str(st));
    ms_code rc = decode_kv(d, msx_json_get(v, v2 ? "request_metadata" : "trace_metadata"),
                           &t->metadata, &t->n_metadata, "trace metadata");
    if (rc == MS_OK && !t->metadata)
        rc = decode_kv(d, msx_json_get(v, "request_metadata"), &t->metadata, &t->n_metadata,
                       "trace metadata");
    if (rc == MS_OK)
        rc = decode_kv(d, msx_json_get(v, "tags"), &t->tags, &t->n_tags, "trace tags");
    if (rc != MS_OK)
        return rc;
    msx_json as = msx_json_get(v, "assessments");
    size_t count = msx_json_count(as);
    if (count) {
        t->assessments = msx_arena_calloc(d->arena, count, sizeof *t->assessments);
        if (!t->assessments)
            return nomem(d);
        struct msx_json_iter it = msx_json_iter_init(as);
        ms_str k;
        msx_json e;
        while (msx_json_next(&it, &k, &e) && t->n_assessments < count) {
            rc = msi_decode_assessment(d, e, &t->assessments[t->n_assessments]);
            if (rc != MS_OK)
                return rc;
            t->n_assessments++;
        }
    }
    const ms_kv *usage = kv_find(t->metadata, t->n_metadata, "mlflow.trace.tokenUsage");
    if (usage) {
        ms_attr tmp = {usage->key, usage->value, MS_VAL_STRING};
        msi_decode_usage(inner_json(d, &tmp), &t->usage);
    }
    return MS_OK;
}

/* ---- whole traces ----------------------------------------------------- */

bool msi_is_trace(msx_json v)
{
    return msx_json_type(msx_json_get(v, "info")) == MSX_JSON_OBJECT ||
           msx_json_type(msx_json_get(v, "trace_info")) == MSX_JSON_OBJECT;
}

ms_code msi_decode_trace(struct msi_decoder *d, msx_json v, ms_trace *out)
{
    memset(out, 0, sizeof *out);
    msx_json info = msx_json_get(v, "info"), spans;
    if (msx_json_ok(info))
        spans = msx_json_get(msx_json_get(v, "data"), "spans");
    else {
        info = msx_json_get(v, "trace_info");
        spans = msx_json_get(v, "spans");
    }
    ms_code rc = msi_decode_info(d, info, &out->info);
    if (rc != MS_OK)
        return rc;
    if (msx_json_is_null_or_none(spans))
        return MS_OK;
    if (msx_json_type(spans) != MSX_JSON_ARRAY)
        return fail(d, MS_E_INVALID, "trace spans is not an array");
    size_t count = msx_json_count(spans);
    if (count > MSI_MAX_SPANS_PER_TRACE)
        return fail(d, MS_E_TOOBIG, "trace has more spans than the cap");
    if (!count)
        return MS_OK;
    out->spans = msx_arena_calloc(d->arena, count, sizeof *out->spans);
    if (!out->spans)
        return nomem(d);
    struct msx_json_iter it = msx_json_iter_init(spans);
    ms_str k;
    msx_json e;
    while (msx_json_next(&it, &k, &e) && out->n_spans < count) {
        rc = msi_decode_span(d, e, &out->spans[out->n_spans]);
        if (rc != MS_OK) {
            if (d->err) {
                char tmp[sizeof d->err->msg];
                snprintf(tmp, sizeof tmp, "span %zu: %.200s", out->n_spans, d->err->msg);
                memcpy(d->err->msg, tmp, sizeof tmp);
            }
            return rc;
        }
        out->n_spans++;
    }
    return MS_OK;
}
