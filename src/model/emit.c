/* SPDX-License-Identifier: MIT
 *
 * Writes a trace in the shape and bytes of `mlflow traces get`:
 * json.dumps(trace.to_dict(), indent=2). TraceInfo goes through protobuf's
 * MessageToDict in MLflow, so fields follow proto field *numbers* (the
 * previews, 12 and 13, come after tags), unset or
 * empty fields are left out, Timestamps are RFC 3339 and numbers inside an
 * assessment value (a protobuf Value) are doubles. Spans follow
 * Span.to_dict() of MLflow 3.x.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json_write.h"
#include "model/model.h"
#include "util/ids.h"
#include "util/timefmt.h"
#include "util/utf8.h"

static void key_str(struct msx_jw *w, const char *k, ms_str s)
{
    msx_jw_keyz(w, k);
    msx_jw_str(w, s.ptr ? s.ptr : "", s.len);
}

/* A map entry: keys may hold NUL, so never strlen() them. */
static void kv_entry(struct msx_jw *w, const ms_kv *kv)
{
    msx_jw_key(w, kv->key.ptr ? kv->key.ptr : "", kv->key.len);
    msx_jw_str(w, kv->value.ptr ? kv->value.ptr : "", kv->value.len);
}

/* Optional string. MLflow's protos are proto2: a field that is set is
 * printed even when empty ("response_preview": ""), an unset one is not.
 * The model keeps that difference: {NULL,0} is unset. */
static void opt_str(struct msx_jw *w, const char *k, ms_str s)
{
    if (s.ptr)
        key_str(w, k, s);
}

static void time_ns(struct msx_jw *w, const char *k, int64_t ns)
{
    msx_jw_keyz(w, k);
    struct msx_buf tmp;
    msx_buf_init(&tmp, 64);
    msx_rfc3339_format_ns(&tmp, ns);
    msx_jw_str(w, tmp.ptr ? tmp.ptr : "", tmp.len);
    msx_buf_release(&tmp);
}

static void kv_obj(struct msx_jw *w, const ms_kv *kv, size_t n)
{
    msx_jw_obj_begin(w);
    for (size_t i = 0; i < n; i++)
        kv_entry(w, &kv[i]);
    msx_jw_obj_end(w);
}

/* A protobuf Value: every number is a double. */
static void proto_value(struct msx_jw *w, msx_json v)
{
    double d;
    switch (msx_json_type(v)) {
    case MSX_JSON_INT:
    case MSX_JSON_UINT:
        msx_json_double(v, &d);
        msx_jw_double(w, d);
        return;
    case MSX_JSON_ARRAY:
    case MSX_JSON_OBJECT: {
        bool obj = msx_json_type(v) == MSX_JSON_OBJECT;
        obj ? msx_jw_obj_begin(w) : msx_jw_arr_begin(w);
        struct msx_json_iter it = msx_json_iter_init(v);
        ms_str k;
        msx_json e;
        while (msx_json_next(&it, &k, &e)) {
            if (obj)
                msx_jw_key(w, k.ptr, k.len);
            proto_value(w, e);
        }
        obj ? msx_jw_obj_end(w) : msx_jw_arr_end(w);
        return;
    }
    default:
        msx_jw_value(w, v);
    }
}

/* Re-emits stored compact JSON text; false if it does not parse. */
static bool json_text(struct msx_jw *w, msx_json_parser *p, ms_str text, bool as_proto)
{
    msx_json root;
    if (!text.ptr || msx_json_parse(p, text.ptr, text.len, false, &root, NULL) != MS_OK)
        return false;
    if (as_proto)
        proto_value(w, root);
    else
        msx_jw_value(w, root);
    return true;
}

static void attrs_obj(struct msx_jw *w, msx_json_parser *p, const ms_attr *a, size_t n)
{
    msx_jw_obj_begin(w);
    for (size_t i = 0; i < n; i++) {
        msx_jw_key(w, a[i].key.ptr, a[i].key.len);
        if (a[i].kind == MS_VAL_STRING || !json_text(w, p, a[i].value, false))
            msx_jw_str(w, a[i].value.ptr ? a[i].value.ptr : "", a[i].value.len);
    }
    msx_jw_obj_end(w);
}

static void assessment(struct msx_jw *w, msx_json_parser *p, const ms_assessment *a)
{
    msx_jw_obj_begin(w);
    opt_str(w, "assessment_id", a->assessment_id);
    opt_str(w, "assessment_name", a->name);
    opt_str(w, "trace_id", a->trace_id);
    opt_str(w, "span_id", a->span_id);
    if (a->source_type.ptr || a->source_id.ptr) {
        msx_jw_keyz(w, "source");
        msx_jw_obj_begin(w);
        opt_str(w, "source_type", a->source_type);
        opt_str(w, "source_id", a->source_id);
        msx_jw_obj_end(w);
    }
    if (a->has_create_time)
        time_ns(w, "create_time", a->create_time_ns);
    if (a->has_last_update_time)
        time_ns(w, "last_update_time", a->last_update_time_ns);
    msx_jw_keyz(w, a->is_expectation ? "expectation" : "feedback");
    msx_jw_obj_begin(w);
    if (a->value_json.ptr) {
        msx_jw_keyz(w, "value");
        if (!json_text(w, p, a->value_json, true))
            msx_jw_null(w);
    }
    if (a->serialized_json.ptr) {
        msx_jw_keyz(w, "serialized_value");
        if (!json_text(w, p, a->serialized_json, false))
            msx_jw_null(w);
    }
    if (a->has_error) {
        msx_jw_keyz(w, "error");
        msx_jw_obj_begin(w);
        opt_str(w, "error_code", a->error_code);
        opt_str(w, "error_message", a->error_message);
        opt_str(w, "stack_trace", a->error_stack_trace);
        msx_jw_obj_end(w);
    }
    msx_jw_obj_end(w);
    opt_str(w, "rationale", a->rationale);
    if (a->n_metadata) {
        msx_jw_keyz(w, "metadata");
        kv_obj(w, a->metadata, a->n_metadata);
    }
    opt_str(w, "overrides", a->overrides);
    if (a->has_valid) {
        msx_jw_keyz(w, "valid");
        msx_jw_bool(w, a->valid);
    }
    msx_jw_obj_end(w);
}

static void info(struct msx_jw *w, msx_json_parser *p, const ms_trace_info *t)
{
    msx_jw_obj_begin(w);
    key_str(w, "trace_id", t->trace_id);
    opt_str(w, "client_request_id", t->client_request_id);
    msx_jw_keyz(w, "trace_location");
    if (t->location_json.ptr && json_text(w, p, t->location_json, false))
        ;
    else {
        msx_jw_obj_begin(w);
        opt_str(w, "type", t->location_type);
        msx_jw_keyz(w, "mlflow_experiment");
        msx_jw_obj_begin(w);
        opt_str(w, "experiment_id", t->experiment_id);
        msx_jw_obj_end(w);
        msx_jw_obj_end(w);
    }
    time_ns(w, "request_time", t->request_time_ms * 1000000);
    if (t->state != MS_STATE_UNSPECIFIED) {
        msx_jw_keyz(w, "state");
        msx_jw_strz(w, ms_trace_state_name(t->state));
    }
    if (t->n_metadata) {
        msx_jw_keyz(w, "trace_metadata");
        kv_obj(w, t->metadata, t->n_metadata);
    }
    if (t->n_assessments) {
        msx_jw_keyz(w, "assessments");
        msx_jw_arr_begin(w);
        for (size_t i = 0; i < t->n_assessments; i++)
            assessment(w, p, &t->assessments[i]);
        msx_jw_arr_end(w);
    }
    if (t->n_tags) {
        msx_jw_keyz(w, "tags");
        kv_obj(w, t->tags, t->n_tags);
    }
    /* proto field numbers 12 and 13: after tags */
    opt_str(w, "request_preview", t->request_preview);
    opt_str(w, "response_preview", t->response_preview);
    if (t->has_execution_duration) {
        msx_jw_keyz(w, "execution_duration_ms");
        msx_jw_int(w, t->execution_duration_ms);
    }
    msx_jw_obj_end(w);
}

static const char *status_name(ms_status_code c)
{
    switch (c) {
    case MS_STATUS_OK: return "STATUS_CODE_OK";
    case MS_STATUS_ERROR: return "STATUS_CODE_ERROR";
    default: return "STATUS_CODE_UNSET";
    }
}

static void b64_id(struct msx_jw *w, const char *hex, size_t nbytes)
{
    char b64[48];
    if (msx_hex_to_base64(hex, nbytes, b64))
        msx_jw_strz(w, b64);
    else
        msx_jw_null(w);
}

static void span(struct msx_jw *w, msx_json_parser *p, const ms_span *s)
{
    msx_jw_obj_begin(w);
    msx_jw_keyz(w, "trace_id");
    b64_id(w, s->trace_id, 16);
    msx_jw_keyz(w, "span_id");
    b64_id(w, s->span_id, 8);
    msx_jw_keyz(w, "parent_span_id");
    if (s->parent_id[0])
        b64_id(w, s->parent_id, 8);
    else
        msx_jw_null(w);
    key_str(w, "name", s->name);
    msx_jw_keyz(w, "start_time_unix_nano");
    msx_jw_int(w, s->start_ns);
    msx_jw_keyz(w, "end_time_unix_nano");
    if (s->has_end)
        msx_jw_int(w, s->end_ns);
    else
        msx_jw_null(w);
    msx_jw_keyz(w, "events");
    msx_jw_arr_begin(w);
    for (size_t i = 0; i < s->n_events; i++) {
        const ms_event *e = &s->events[i];
        msx_jw_obj_begin(w);
        key_str(w, "name", e->name);
        msx_jw_keyz(w, "time_unix_nano");
        msx_jw_int(w, e->time_unix_nano);
        msx_jw_keyz(w, "attributes");
        attrs_obj(w, p, e->attrs, e->n_attrs);
        msx_jw_obj_end(w);
    }
    msx_jw_arr_end(w);
    msx_jw_keyz(w, "status");
    msx_jw_obj_begin(w);
    msx_jw_keyz(w, "code");
    msx_jw_strz(w, status_name(s->status));
    key_str(w, "message", s->status_message);
    msx_jw_obj_end(w);
    msx_jw_keyz(w, "attributes");
    attrs_obj(w, p, s->attrs, s->n_attrs);
    msx_jw_keyz(w, "links");
    if (!s->links_json.ptr || !json_text(w, p, s->links_json, false)) {
        msx_jw_arr_begin(w);
        msx_jw_arr_end(w);
    }
    msx_jw_obj_end(w);
}

static void trace_obj(struct msx_jw *w, msx_json_parser *p, const ms_trace *t, bool with_spans)
{
    msx_jw_obj_begin(w);
    msx_jw_keyz(w, "info");
    info(w, p, &t->info);
    msx_jw_keyz(w, "data");
    msx_jw_obj_begin(w);
    msx_jw_keyz(w, "spans");
    msx_jw_arr_begin(w);
    for (size_t i = 0; with_spans && i < t->n_spans; i++)
        span(w, p, &t->spans[i]);
    msx_jw_arr_end(w);
    msx_jw_obj_end(w);
    msx_jw_obj_end(w);
}

static ms_code finish(struct msx_buf *b, msx_json_parser *p, char **out, size_t *len,
                      struct ms_error *err)
{
    msx_json_parser_free(p);
    msx_buf_addc(b, '\n');
    ms_code rc = msx_buf_status(b);
    if (rc != MS_OK) {
        msx_buf_release(b);
        if (err) {
            err->code = rc;
            err->offset = -1;
            snprintf(err->msg, sizeof err->msg, "%s",
                     rc == MS_E_TOOBIG ? "output too large or nested too deeply"
                                       : ms_strerror(rc));
        }
        return rc;
    }
    *out = msx_buf_take(b, len);
    return MS_OK;
}

static ms_code nomem(struct ms_error *err)
{
    if (err) {
        err->code = MS_E_NOMEM;
        err->offset = -1;
        snprintf(err->msg, sizeof err->msg, "out of memory");
    }
    return MS_E_NOMEM;
}

ms_code ms_trace_to_json(const ms_trace *t, char **out, size_t *len, struct ms_error *err)
{
    struct msx_buf b;
    struct msx_jw w;
    msx_json_parser *p = msx_json_parser_new();
    if (!p)
        return nomem(err);
    msx_buf_init(&b, MSX_CAP_OUTPUT);
    msx_jw_init(&w, &b, MSX_JW_PYTHON);
    trace_obj(&w, p, t, true);
    return finish(&b, p, out, len, err);
}

/* The trace as MLflow's to_dict() JSON, parsed back with p (for fields). */
static bool trace_tree(const ms_trace *t, bool with_spans, struct msx_buf *tmp,
                       msx_json_parser *p, msx_json *root)
{
    struct msx_jw w;
    msx_json_parser *inner = msx_json_parser_new();
    if (!inner)
        return false;
    msx_buf_reset(tmp);
    msx_jw_init(&w, tmp, 0);
    trace_obj(&w, inner, t, with_spans);
    msx_json_parser_free(inner);
    return msx_buf_status(tmp) == MS_OK &&
           msx_json_parse(p, tmp->ptr, tmp->len, false, root, NULL) == MS_OK;
}

static ms_code bad_fields(struct msx_buf *bad, struct ms_error *err)
{
    if (err) {
        err->code = MS_E_INVALID;
        err->offset = -1;
        snprintf(err->msg, sizeof err->msg,
                 "invalid field path(s): %.180s (use dot notation, e.g. info.trace_id, "
                 "info.state, info.assessments.*)",
                 bad->ptr ? bad->ptr : "");
    }
    msx_buf_release(bad);
    return MS_E_INVALID;
}

ms_code ms_search_to_json(const ms_trace_set *set, bool include_spans, const ms_fields *fields,
                          char **out, size_t *len, struct ms_error *err)
{
    struct msx_buf b, tmp, bad;
    struct msx_jw w;
    msx_json_parser *p = msx_json_parser_new();
    msx_json_parser *fp = fields ? msx_json_parser_new() : NULL;
    if (!p || (fields && !fp)) {
        msx_json_parser_free(p);
        msx_json_parser_free(fp);
        return nomem(err);
    }
    msx_buf_init(&b, MSX_CAP_OUTPUT);
    msx_buf_init(&tmp, MSX_CAP_OUTPUT);
    msx_buf_init(&bad, MSX_CAP_LINE);
    msx_jw_init(&w, &b, MSX_JW_PYTHON);
    msx_jw_obj_begin(&w);
    msx_jw_keyz(&w, "traces");
    msx_jw_arr_begin(&w);
    for (size_t i = 0; i < ms_trace_set_count(set); i++) {
        const ms_trace *t = ms_trace_set_at(set, i);
        if (!fields) {
            trace_obj(&w, p, t, include_spans);
            continue;
        }
        msx_json root;
        if (!trace_tree(t, include_spans, &tmp, fp, &root)) {
            b.status = b.status ? b.status : MS_E_NOMEM;
            break;
        }
        if (i == 0 && !msi_fields_validate(fields, root, &bad)) {
            msx_buf_release(&b);
            msx_buf_release(&tmp);
            msx_json_parser_free(p);
            msx_json_parser_free(fp);
            return bad_fields(&bad, err);
        }
        if (!msi_fields_filter(fields, root, &w) && b.status == MS_OK)
            b.status = MS_E_NOMEM;
    }
    msx_jw_arr_end(&w);
    msx_jw_keyz(&w, "next_page_token");
    const char *tok = ms_trace_set_next_page_token(set);
    if (tok)
        msx_jw_strz(&w, tok);
    else
        msx_jw_null(&w);
    msx_jw_obj_end(&w);
    msx_buf_release(&tmp);
    msx_buf_release(&bad);
    msx_json_parser_free(fp);
    return finish(&b, p, out, len, err);
}

ms_code ms_trace_to_json_fields(const ms_trace *t, const ms_fields *fields, char **out,
                                size_t *len, struct ms_error *err)
{
    if (!fields)
        return ms_trace_to_json(t, out, len, err);
    struct msx_buf b, tmp, bad;
    struct msx_jw w;
    msx_json_parser *p = msx_json_parser_new();
    if (!p)
        return nomem(err);
    msx_buf_init(&b, MSX_CAP_OUTPUT);
    msx_buf_init(&tmp, MSX_CAP_OUTPUT);
    msx_buf_init(&bad, MSX_CAP_LINE);
    msx_jw_init(&w, &b, MSX_JW_PYTHON);
    msx_json root;
    if (!trace_tree(t, true, &tmp, p, &root)) {
        msx_buf_release(&tmp);
        msx_buf_release(&bad);
        msx_buf_release(&b);
        msx_json_parser_free(p);
        return nomem(err);
    }
    if (!msi_fields_validate(fields, root, &bad)) {
        msx_buf_release(&tmp);
        msx_buf_release(&b);
        msx_json_parser_free(p);
        return bad_fields(&bad, err);
    }
    if (!msi_fields_filter(fields, root, &w))
        b.status = MS_E_NOMEM;
    msx_buf_release(&tmp);
    msx_buf_release(&bad);
    return finish(&b, p, out, len, err);
}

/* ---- table mode: mlflow.utils.string_utils._create_table ---------------- */

/* Python's len(): code points (invalid bytes count one each). */
static size_t py_len(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n;) {
        size_t l = msx_utf8_decode((const unsigned char *)s, n, i, NULL);
        i += l ? l : 1;
        count++;
    }
    return count;
}

/* Bytes of the first k code points. */
static size_t py_prefix(const char *s, size_t n, size_t k)
{
    size_t i = 0;
    while (i < n && k--) {
        size_t l = msx_utf8_decode((const unsigned char *)s, n, i, NULL);
        i += l ? l : 1;
    }
    return i;
}

#define TABLE_COLS 6

/* The cell texts of one trace, as format_table_cell_value() makes them. */
static void table_cells(struct msx_buf *cells, size_t off[TABLE_COLS + 1], const ms_trace *t)
{
    const ms_trace_info *in = &t->info;
    off[0] = cells->len;
    msx_buf_add(cells, in->trace_id.ptr ? in->trace_id.ptr : "", in->trace_id.len);
    off[1] = cells->len;
    /* request_time: "%Y-%m-%d %H:%M:%S %Z" of the RFC 3339 text */
    struct msx_buf tmp;
    msx_buf_init(&tmp, 64);
    msx_rfc3339_format_ns(&tmp, in->request_time_ms * 1000000);
    if (tmp.ptr && tmp.len >= 19) {
        msx_buf_add(cells, tmp.ptr, 10);
        msx_buf_addc(cells, ' ');
        msx_buf_add(cells, tmp.ptr + 11, 8);
        msx_buf_adds(cells, " UTC");
    }
    msx_buf_release(&tmp);
    off[2] = cells->len;
    msx_buf_adds(cells, in->state == MS_STATE_UNSPECIFIED ? "N/A" : ms_trace_state_name(in->state));
    off[3] = cells->len;
    /* MLflow asks for info.execution_duration, a key its to_dict() never
     * has, so this column always reads N/A there; so it does here. */
    msx_buf_adds(cells, "N/A");
    off[4] = cells->len;
    const ms_str pv[2] = {in->request_preview, in->response_preview};
    for (int k = 0; k < 2; k++) {
        if (!pv[k].ptr)
            msx_buf_adds(cells, "N/A");
        else if (py_len(pv[k].ptr, pv[k].len) > 20) {
            msx_buf_add(cells, pv[k].ptr, py_prefix(pv[k].ptr, pv[k].len, 17));
            msx_buf_adds(cells, "...");
        } else
            msx_buf_add(cells, pv[k].ptr, pv[k].len);
        off[5 + k] = cells->len;
    }
}

ms_code ms_search_to_table(const ms_trace_set *set, const ms_fields *fields, char **out,
                           size_t *len, struct ms_error *err)
{
    static const char *defaults[TABLE_COLS] = {"info.trace_id", "info.request_time",
                                               "info.state", "info.execution_duration",
                                               "info.request_preview", "info.response_preview"};
    size_t ncols = fields ? ms_fields_count(fields) : TABLE_COLS;
    size_t n = ms_trace_set_count(set);
    struct msx_buf cells, b, tmp, bad;
    msx_buf_init(&cells, MSX_CAP_OUTPUT);
    msx_buf_init(&b, MSX_CAP_OUTPUT);
    msx_buf_init(&tmp, MSX_CAP_OUTPUT);
    msx_buf_init(&bad, MSX_CAP_LINE);
    size_t *offs = calloc((n ? n : 1) * (ncols + 1), sizeof(size_t));
    size_t *width = calloc(ncols ? ncols : 1, sizeof(size_t));
    msx_json_parser *p = fields ? msx_json_parser_new() : NULL;
    ms_code rc = MS_OK;
    if (!offs || !width || (fields && !p)) {
        rc = nomem(err);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        size_t *o = offs + i * (ncols + 1);
        if (!fields) {
            table_cells(&cells, o, ms_trace_set_at(set, i));
            continue;
        }
        msx_json root;
        if (!trace_tree(ms_trace_set_at(set, i), true, &tmp, p, &root)) {
            rc = nomem(err);
            goto done;
        }
        if (i == 0 && !msi_fields_validate(fields, root, &bad)) {
            rc = bad_fields(&bad, err);
            goto done;
        }
        for (size_t c = 0; c < ncols; c++) {
            o[c] = cells.len;
            msi_fields_cell(fields, c, root, &cells);
        }
        o[ncols] = cells.len;
    }
    if (n) {
        for (size_t c = 0; c < ncols; c++) {
            const char *h = fields ? ms_fields_name(fields, c) : defaults[c];
            width[c] = py_len(h, strlen(h)) + 2;
            if (width[c] < 4)
                width[c] = 4;
            for (size_t i = 0; i < n; i++) {
                size_t *o = offs + i * (ncols + 1);
                size_t wd = py_len(cells.ptr + o[c], o[c + 1] - o[c]);
                if (wd > width[c])
                    width[c] = wd;
            }
        }
        for (size_t row = 0; row < n + 2; row++) {
            for (size_t c = 0; c < ncols; c++) {
                const char *h = fields ? ms_fields_name(fields, c) : defaults[c];
                size_t wd;
                if (c)
                    msx_buf_add(&b, "  ", 2);
                if (row == 0) {
                    msx_buf_adds(&b, h);
                    wd = py_len(h, strlen(h));
                } else if (row == 1) {
                    for (wd = 0; wd < width[c]; wd++)
                        msx_buf_addc(&b, '-');
                } else {
                    size_t *o = offs + (row - 2) * (ncols + 1);
                    msx_buf_add(&b, cells.ptr + o[c], o[c + 1] - o[c]);
                    wd = py_len(cells.ptr + o[c], o[c + 1] - o[c]);
                }
                for (; wd < width[c]; wd++)
                    msx_buf_addc(&b, ' ');
            }
            if (row + 1 < n + 2)
                msx_buf_addc(&b, '\n');
        }
    } else {
        msx_buf_addc(&b, '\n'); /* "\n".join(["", ""]) */
    }
    const char *tok = ms_trace_set_next_page_token(set);
    if (tok)
        msx_buf_addf(&b, "\n\nNext page token: %s", tok);
    if (msx_buf_status(&cells) != MS_OK)
        rc = nomem(err);
done:
    free(offs);
    free(width);
    msx_buf_release(&cells);
    msx_buf_release(&tmp);
    msx_buf_release(&bad);
    msx_json_parser_free(p);
    if (rc != MS_OK) {
        msx_buf_release(&b);
        return rc;
    }
    return finish(&b, NULL, out, len, err);
}
