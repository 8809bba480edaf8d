/* SPDX-License-Identifier: MIT
 *
 * In-memory evaluation of a parsed filter on one ms_trace, with the
 * semantics of MLflow 3.17.2's SQL store (sqlalchemy_store.search_traces on
 * SQLite), which is the only MLflow store that understands span and
 * assessment filters:
 *
 *   - a missing value (no such tag, NULL execution time) matches nothing,
 *     not even != or NOT IN, as NULL does in SQL;
 *   - LIKE is case-sensitive (MLflow sets PRAGMA case_sensitive_like),
 *     ILIKE folds ASCII only (SQLite's lower()), '_' is one character;
 *   - every span.* clause and trace.text must hold for the same span, which
 *     must start no earlier than 10 s before a trace.timestamp_ms lower
 *     bound (MLflow puts them all in one correlated EXISTS);
 *   - feedback/expectation compare the stored JSON text of valid
 *     assessments: '=' matches the text itself or json.dumps of the value.
 *
 * Session-level assessments, which MLflow spreads to every trace of the
 * session, need the whole candidate set: ms_filter_match_set(). Not
 * evaluable here at all: trace->run links kept outside the trace
 * (entity_associations), issue references. Depends on util/ and
 * json/ only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter/filter_int.h"
#include "json/json.h"
#include "util/buf.h"
#include "util/ids.h"

struct ectx {
    msx_json_parser *json; /* made on first need */
    struct msx_buf tmp;
    struct msx_buf sv; /* a stored assessment value rebuilt */
    struct msx_buf content; /* spans.content of the current span */
    const ms_span *content_of;
    bool failed; /* out of memory: the trace does not match */
};

static bool str_match(const struct msi_clause *c, const char *s, size_t n)
{
    switch (c->cmp) {
    case MSI_C_EQ: return n == c->str_len && memcmp(s, c->str, n) == 0;
    case MSI_C_NE: return !(n == c->str_len && memcmp(s, c->str, n) == 0);
    case MSI_C_LIKE: return msi_like(s, n, c->str, c->str_len, false);
    case MSI_C_ILIKE: return msi_like(s, n, c->str, c->str_len, true);
    case MSI_C_RLIKE: return msi_regex_search(c->regex, s, n);
    case MSI_C_IN:
    case MSI_C_NOT_IN: {
        bool in = false;
        for (size_t i = 0; i < c->n_list && !in; i++)
            in = n == c->list_len[i] && memcmp(s, c->list[i], n) == 0;
        return c->cmp == MSI_C_IN ? in : !in;
    }
    default: return false;
    }
}

static bool strz_match(const struct msi_clause *c, const char *s)
{
    return str_match(c, s, strlen(s));
}

static bool num_match(const struct msi_clause *c, int64_t x)
{
    int r;
    if (c->num_is_int) {
        r = x < c->num_i ? -1 : x > c->num_i;
    } else {
        double d = (double)x;
        if (d < c->num_d)
            r = -1;
        else if (d > c->num_d)
            r = 1;
        else
            r = 0;
    }
    switch (c->cmp) {
    case MSI_C_EQ: return r == 0;
    case MSI_C_NE: return r != 0;
    case MSI_C_LT: return r < 0;
    case MSI_C_LE: return r <= 0;
    case MSI_C_GT: return r > 0;
    case MSI_C_GE: return r >= 0;
    default: return false;
    }
}

static bool dbl_match(enum msi_cmp cmp, double x, double v)
{
    switch (cmp) {
    case MSI_C_LT: return x < v;
    case MSI_C_LE: return x <= v;
    case MSI_C_GT: return x > v;
    case MSI_C_GE: return x >= v;
    default: return false;
    }
}

static const ms_kv *kv_find(const ms_kv *kv, size_t n, const char *key, size_t klen)
{
    for (size_t i = 0; i < n; i++)
        if (kv[i].key.len == klen && (klen == 0 || memcmp(kv[i].key.ptr, key, klen) == 0))
            return &kv[i];
    return NULL;
}

static bool kv_match(const struct msi_clause *c, const ms_kv *kv, size_t n)
{
    const ms_kv *e = kv_find(kv, n, c->key, c->key_len);
    if (c->cmp == MSI_C_IS_NULL)
        return e == NULL;
    if (c->cmp == MSI_C_IS_NOT_NULL)
        return e != NULL;
    if (!e)
        return false;
    return str_match(c, e->value.ptr ? e->value.ptr : "", e->value.len);
}

static msx_json_parser *parser(struct ectx *x)
{
    if (!x->json) {
        x->json = msx_json_parser_new();
        if (!x->json)
            x->failed = true;
    }
    return x->json;
}

/* prompt = "name/version": MLflow looks the link up in entity_associations;
 * in memory the trace's own record of it is tag mlflow.linkedPrompts,
 * [{"name": "...", "version": "..."}]. */
static bool prompt_match(struct ectx *x, const struct msi_clause *c, const ms_trace_info *t)
{
    const ms_kv *e = kv_find(t->tags, t->n_tags, "mlflow.linkedPrompts", 20);
    if (!e || !e->value.ptr)
        return false;
    const char *slash = memchr(c->str, '/', c->str_len);
    if (!slash)
        return false;
    size_t nl = (size_t)(slash - c->str);
    const char *ver = slash + 1;
    size_t vl = c->str_len - nl - 1;
    msx_json_parser *p = parser(x);
    if (!p)
        return false;
    msx_json root;
    struct ms_error err;
    if (msx_json_parse(p, e->value.ptr, e->value.len, false, &root, &err) != MS_OK)
        return false;
    struct msx_json_iter it = msx_json_iter_init(root);
    ms_str k;
    msx_json v;
    while (msx_json_next(&it, &k, &v)) {
        ms_str name = msx_json_str(msx_json_get(v, "name"));
        msx_json vv = msx_json_get(v, "version");
        ms_str vs = msx_json_str(vv);
        char num[32];
        int64_t vi;
        if (!vs.ptr && msx_json_int64(vv, &vi)) {
            int len = snprintf(num, sizeof num, "%lld", (long long)vi);
            vs.ptr = num;
            vs.len = (size_t)len;
        }
        if (name.ptr && vs.ptr && name.len == nl && memcmp(name.ptr, c->str, nl) == 0 &&
            vs.len == vl && memcmp(vs.ptr, ver, vl) == 0)
            return true;
    }
    return false;
}

/* ---- assessments ---------------------------------------------------- */

static bool assessment_number(ms_str vj, double *out);

static bool assessment_value_eq(struct ectx *x, const struct msi_clause *c, ms_str vj)
{
    if (vj.len == c->str_len && memcmp(vj.ptr, c->str, vj.len) == 0)
        return true;
    /* Exports carry numbers through protobuf doubles (5 comes back as
     * 5.0); the SQL store keeps json.dumps(5) = "5". */
    double a, b;
    ms_str vs = {c->str, c->str_len};
    if (assessment_number(vj, &a) && assessment_number(vs, &b) && a == b)
        return true;
    msx_buf_reset(&x->tmp);
    msi_json_dumps_str(&x->tmp, c->str, c->str_len, true);
    if (msx_buf_status(&x->tmp) != MS_OK) {
        x->failed = true;
        return false;
    }
    if (vj.len == x->tmp.len && memcmp(vj.ptr, x->tmp.ptr, vj.len) == 0)
        return true;
    /* The SQL store keeps json.dumps output; a value read back from an
     * export may be spelt differently (raw UTF-8), so compare the decoded
     * string too. */
    if (vj.len >= 2 && vj.ptr[0] == '"' && memchr(vj.ptr, '\\', vj.len)) {
        msx_json_parser *p = parser(x);
        msx_json root;
        struct ms_error err;
        if (p && msx_json_parse(p, vj.ptr, vj.len, false, &root, &err) == MS_OK) {
            ms_str s = msx_json_str(root);
            return s.ptr && s.len == c->str_len && memcmp(s.ptr, c->str, s.len) == 0;
        }
    }
    return false;
}

/* assessment_aggregate(): a finite JSON number (not a bool) is numeric. */
static bool assessment_number(ms_str vj, double *out)
{
    char buf[64];
    if (vj.len == 0 || vj.len >= sizeof buf)
        return false;
    char c0 = vj.ptr[0];
    if (!(c0 == '-' || (c0 >= '0' && c0 <= '9')))
        return false;
    memcpy(buf, vj.ptr, vj.len);
    buf[vj.len] = '\0';
    char *end;
    double d = strtod(buf, &end);
    if (*end != '\0' || d != d || d > 1.7976931348623157e308 || d < -1.7976931348623157e308)
        return false;
    *out = d;
    return true;
}

/* The value as the SQL store keeps it: JSON text; an expectation exported
 * as serialized_value {"serialization_format": "JSON_FORMAT", "value":
 * "<json>"} holds that JSON text in "value". */
static ms_str stored_value(struct ectx *x, const ms_assessment *a)
{
    ms_str vj = a->value_json;
    if (!vj.ptr && a->serialized_json.ptr) {
        msx_json_parser *p = parser(x);
        msx_json root;
        struct ms_error err;
        if (p && msx_json_parse(p, a->serialized_json.ptr, a->serialized_json.len, false, &root,
                                &err) == MS_OK) {
            ms_str s = msx_json_type(root) == MSX_JSON_STRING
                           ? msx_json_str(root)
                           : msx_json_str(msx_json_get(root, "value"));
            if (s.ptr) {
                msx_buf_reset(&x->sv);
                msx_buf_add(&x->sv, s.ptr, s.len);
                if (msx_buf_status(&x->sv) == MS_OK) {
                    vj.ptr = x->sv.ptr ? x->sv.ptr : "";
                    vj.len = x->sv.len;
                    return vj;
                }
                x->failed = true;
            }
        }
        vj = a->serialized_json;
    }
    if (!vj.ptr) {
        vj.ptr = "null";
        vj.len = 4;
    }
    return vj;
}

static bool one_assessment(struct ectx *x, const struct msi_clause *c, const ms_assessment *a)
{
    ms_str vj = stored_value(x, a);
    switch (c->cmp) {
    case MSI_C_EQ: return assessment_value_eq(x, c, vj);
    case MSI_C_NE: return !assessment_value_eq(x, c, vj);
    case MSI_C_LT:
    case MSI_C_LE:
    case MSI_C_GT:
    case MSI_C_GE: {
        double d;
        return assessment_number(vj, &d) && dbl_match(c->cmp, d, c->num_d);
    }
    default: return str_match(c, vj.ptr, vj.len);
    }
}

static bool session_scoped(const ms_assessment *a)
{
    for (size_t i = 0; i < a->n_metadata; i++)
        if (a->metadata[i].key.len == 20 &&
            memcmp(a->metadata[i].key.ptr, "mlflow.trace.session", 20) == 0)
            return true;
    return false;
}

/* Does t hold a valid assessment matching c (only session-scoped ones when
 * scoped_only)? For IS NULL this answers "has one at all" (any). */
static bool assessment_found(struct ectx *x, const struct msi_clause *c, const ms_trace_info *t,
                             bool scoped_only, bool *any_out)
{
    bool want_expectation = c->field == MSI_F_EXPECTATION;
    bool any = false;
    for (size_t i = 0; i < t->n_assessments; i++) {
        const ms_assessment *a = &t->assessments[i];
        if (a->is_expectation != want_expectation)
            continue;
        if (a->has_valid && !a->valid)
            continue;
        if (!(a->name.len == c->key_len && memcmp(a->name.ptr, c->key, c->key_len) == 0))
            continue;
        if (scoped_only && !session_scoped(a))
            continue;
        if (c->cmp == MSI_C_IS_NULL || c->cmp == MSI_C_IS_NOT_NULL) {
            any = true;
            break;
        }
        if (one_assessment(x, c, a)) {
            *any_out = true;
            return true;
        }
    }
    *any_out = any;
    return any;
}

static bool assessment_match(struct ectx *x, const struct msi_clause *c, const ms_trace_info *t)
{
    bool any;
    assessment_found(x, c, t, false, &any);
    if (c->cmp == MSI_C_IS_NULL)
        return !any;
    if (c->cmp == MSI_C_IS_NOT_NULL)
        return any;
    return any;
}

/* ---- spans ---------------------------------------------------------- */

static void b64_hex(struct msx_buf *b, const char *hex, size_t nbytes)
{
    unsigned char raw[16];
    char out[32];
    if (strlen(hex) != nbytes * 2) {
        msx_buf_adds(b, "null");
        return;
    }
    for (size_t i = 0; i < nbytes; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char ch = hex[2 * i + (size_t)k];
            v = v * 16 + (unsigned)(ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10);
        }
        raw[i] = (unsigned char)v;
    }
    msx_base64_encode(raw, nbytes, out);
    msx_buf_addc(b, '"');
    msx_buf_adds(b, out);
    msx_buf_addc(b, '"');
}

static void attrs_json(struct msx_buf *b, const ms_attr *a, size_t n)
{
    msx_buf_addc(b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            msx_buf_adds(b, ", ");
        msi_json_dumps_str(b, a[i].key.ptr ? a[i].key.ptr : "", a[i].key.len, false);
        msx_buf_adds(b, ": ");
        if (a[i].kind == MS_VAL_JSON && a[i].value.ptr)
            msx_buf_add(b, a[i].value.ptr, a[i].value.len);
        else
            msi_json_dumps_str(b, a[i].value.ptr ? a[i].value.ptr : "", a[i].value.len, false);
    }
    msx_buf_addc(b, '}');
}

/* The span as MLflow stores it in spans.content: json.dumps(span.to_dict(),
 * ensure_ascii=False), keys in the stored order. */
static const struct msx_buf *span_content(struct ectx *x, const ms_span *s)
{
    if (x->content_of == s)
        return &x->content;
    struct msx_buf *b = &x->content;
    msx_buf_reset(b);
    msx_buf_adds(b, "{\"trace_id\": ");
    b64_hex(b, s->trace_id, 16);
    msx_buf_adds(b, ", \"span_id\": ");
    b64_hex(b, s->span_id, 8);
    msx_buf_adds(b, ", \"parent_span_id\": ");
    if (s->parent_id[0])
        b64_hex(b, s->parent_id, 8);
    else
        msx_buf_adds(b, "null");
    msx_buf_adds(b, ", \"name\": ");
    msi_json_dumps_str(b, s->name.ptr ? s->name.ptr : "", s->name.len, false);
    msx_buf_addf(b, ", \"start_time_unix_nano\": %lld, \"end_time_unix_nano\": ",
                 (long long)s->start_ns);
    if (s->has_end)
        msx_buf_addf(b, "%lld", (long long)s->end_ns);
    else
        msx_buf_adds(b, "null");
    msx_buf_adds(b, ", \"events\": [");
    for (size_t i = 0; i < s->n_events; i++) {
        const ms_event *e = &s->events[i];
        if (i)
            msx_buf_adds(b, ", ");
        msx_buf_adds(b, "{\"name\": ");
        msi_json_dumps_str(b, e->name.ptr ? e->name.ptr : "", e->name.len, false);
        msx_buf_addf(b, ", \"time_unix_nano\": %lld, \"attributes\": ",
                     (long long)e->time_unix_nano);
        attrs_json(b, e->attrs, e->n_attrs);
        msx_buf_addc(b, '}');
    }
    msx_buf_addf(b, "], \"status\": {\"code\": \"STATUS_CODE_%s\", \"message\": ",
                 msi_span_status_name(s->status));
    msi_json_dumps_str(b, s->status_message.ptr ? s->status_message.ptr : "",
                       s->status_message.len, false);
    msx_buf_adds(b, "}, \"attributes\": ");
    attrs_json(b, s->attrs, s->n_attrs);
    msx_buf_adds(b, ", \"links\": ");
    if (s->links_json.ptr)
        msx_buf_add(b, s->links_json.ptr, s->links_json.len);
    else
        msx_buf_adds(b, "[]");
    msx_buf_addc(b, '}');
    if (msx_buf_status(b) != MS_OK) {
        x->failed = true;
        return NULL;
    }
    x->content_of = s;
    return b;
}

static bool span_attr_match(struct ectx *x, const struct msi_clause *c, const ms_span *s)
{
    const struct msx_buf *b = span_content(x, s);
    if (!b)
        return false;
    const char *txt = b->ptr ? b->ptr : "";
    if (c->cmp == MSI_C_RLIKE)
        return msi_regex_search(c->regex, txt, b->len);
    size_t pn;
    char *pat = msi_span_attr_like(c->key, c->str, c->str_len, &pn);
    if (!pat) {
        x->failed = true;
        return false;
    }
    bool r;
    switch (c->cmp) {
    case MSI_C_EQ: r = b->len == pn && memcmp(txt, pat, pn) == 0; break;
    case MSI_C_NE: r = !(b->len == pn && memcmp(txt, pat, pn) == 0); break;
    case MSI_C_LIKE: r = msi_like(txt, b->len, pat, pn, false); break;
    case MSI_C_ILIKE: r = msi_like(txt, b->len, pat, pn, true); break;
    default: r = false;
    }
    free(pat);
    return r;
}

static bool span_clause(struct ectx *x, const struct msi_clause *c, const ms_span *s)
{
    switch (c->field) {
    case MSI_F_SPAN_NAME:
        return s->name.ptr && str_match(c, s->name.ptr, s->name.len);
    case MSI_F_SPAN_TYPE:
        return s->span_type.ptr && str_match(c, s->span_type.ptr, s->span_type.len);
    case MSI_F_SPAN_STATUS:
        return strz_match(c, msi_span_status_name(s->status));
    case MSI_F_SPAN_ATTR:
        return span_attr_match(x, c, s);
    case MSI_F_SPAN_CONTENT: {
        const struct msx_buf *b = span_content(x, s);
        return b && str_match(c, b->ptr ? b->ptr : "", b->len);
    }
    default:
        return false;
    }
}

static bool spans_match(struct ectx *x, const ms_filter *f, const ms_trace *t)
{
    int64_t bound = 0;
    bool has_bound = msi_span_start_bound_ns(f, &bound);
    for (size_t i = 0; i < t->n_spans; i++) {
        const ms_span *s = &t->spans[i];
        if (has_bound && s->start_ns < bound)
            continue;
        bool all = true;
        for (size_t k = 0; k < f->n && all; k++) {
            const struct msi_clause *c = &f->clauses[k];
            if (msi_field_is_span(c->field))
                all = span_clause(x, c, s);
        }
        if (x->failed)
            return false;
        if (all)
            return true;
    }
    return false;
}

/* ---- one clause on the trace info ------------------------------------ */

static bool info_clause(struct ectx *x, const struct msi_clause *c, const ms_trace_info *t)
{
    switch (c->field) {
    case MSI_F_REQUEST_ID:
        return t->trace_id.ptr && str_match(c, t->trace_id.ptr, t->trace_id.len);
    case MSI_F_CLIENT_REQUEST_ID:
        return t->client_request_id.ptr &&
               str_match(c, t->client_request_id.ptr, t->client_request_id.len);
    case MSI_F_STATUS:
        return strz_match(c, msi_state_name(t->state));
    case MSI_F_TIMESTAMP:
        return num_match(c, t->request_time_ms);
    case MSI_F_EXECUTION_TIME:
        return t->has_execution_duration && num_match(c, t->execution_duration_ms);
    case MSI_F_END_TIME: {
        int64_t d = t->has_execution_duration ? t->execution_duration_ms : 0;
        int64_t end;
        if (__builtin_add_overflow(t->request_time_ms, d, &end))
            return false;
        return num_match(c, end);
    }
    case MSI_F_TAG:
        return kv_match(c, t->tags, t->n_tags);
    case MSI_F_METADATA:
        return kv_match(c, t->metadata, t->n_metadata);
    case MSI_F_PROMPT:
        return prompt_match(x, c, t);
    case MSI_F_FEEDBACK:
    case MSI_F_EXPECTATION:
        return assessment_match(x, c, t);
    case MSI_F_ISSUE:
        return false; /* the model has no issue references */
    default:
        return false;
    }
}

/* ---- session-level assessments -------------------------------------- */

/* MLflow's SQL store spreads a session-level assessment (one whose metadata
 * names mlflow.trace.session, kept on the session's first trace) to every
 * trace of that session among the searched traces: for each assessment
 * clause, the sessions covered. */
struct scope {
    ms_str **sessions; /* per clause: sorted session ids, or NULL */
    size_t *n;
};

static ms_str session_of(const ms_trace_info *t)
{
    ms_str none = {NULL, 0};
    for (size_t i = 0; i < t->n_metadata; i++)
        if (t->metadata[i].key.len == 20 &&
            memcmp(t->metadata[i].key.ptr, "mlflow.trace.session", 20) == 0)
            return t->metadata[i].value;
    return none;
}

static int cmp_str(const void *a, const void *b)
{
    const ms_str *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int r = memcmp(x->ptr, y->ptr, n);
    return r ? r : (x->len > y->len) - (x->len < y->len);
}

static bool in_scope(const struct scope *sc, size_t clause, ms_str session)
{
    if (!sc || !sc->sessions[clause] || !session.ptr)
        return false;
    return bsearch(&session, sc->sessions[clause], sc->n[clause], sizeof(ms_str), cmp_str) != NULL;
}

static bool clause_matches(struct ectx *x, const ms_filter *f, size_t i, const ms_trace_info *t,
                           const struct scope *sc)
{
    const struct msi_clause *c = &f->clauses[i];
    bool covered = (c->field == MSI_F_FEEDBACK || c->field == MSI_F_EXPECTATION) &&
                   in_scope(sc, i, session_of(t));
    if (c->cmp == MSI_C_IS_NULL)
        return !covered && info_clause(x, c, t);
    return covered || info_clause(x, c, t);
}

static bool match_one(const ms_filter *f, const ms_trace *t, const struct scope *sc)
{
    if (!f || f->n == 0)
        return true;
    if (!t)
        return false;
    struct ectx x;
    memset(&x, 0, sizeof x);
    msx_buf_init(&x.tmp, MSX_CAP_OUTPUT);
    msx_buf_init(&x.sv, MSX_CAP_OUTPUT);
    msx_buf_init(&x.content, MSX_CAP_OUTPUT);
    bool ok = true;
    bool any_span = false;
    for (size_t i = 0; i < f->n && ok; i++) {
        const struct msi_clause *c = &f->clauses[i];
        if (msi_field_is_span(c->field)) {
            any_span = true;
            continue;
        }
        ok = clause_matches(&x, f, i, &t->info, sc);
    }
    if (ok && any_span)
        ok = spans_match(&x, f, t);
    if (x.failed)
        ok = false;
    msx_json_parser_free(x.json);
    msx_buf_release(&x.tmp);
    msx_buf_release(&x.sv);
    msx_buf_release(&x.content);
    return ok;
}

bool ms_filter_match(const ms_filter *f, const ms_trace *t)
{
    return match_one(f, t, NULL);
}

bool ms_filter_match_set(const ms_filter *f, const ms_trace *const *traces, size_t n, bool *keep)
{
    if (!f || f->n == 0) {
        for (size_t i = 0; i < n; i++)
            keep[i] = true;
        return true;
    }
    struct scope sc = {calloc(f->n, sizeof(ms_str *)), calloc(f->n, sizeof(size_t))};
    bool ok = sc.sessions && sc.n;
    struct ectx x;
    memset(&x, 0, sizeof x);
    msx_buf_init(&x.tmp, MSX_CAP_OUTPUT);
    msx_buf_init(&x.sv, MSX_CAP_OUTPUT);
    msx_buf_init(&x.content, MSX_CAP_OUTPUT);
    for (size_t c = 0; ok && c < f->n; c++) {
        const struct msi_clause *cl = &f->clauses[c];
        if (cl->field != MSI_F_FEEDBACK && cl->field != MSI_F_EXPECTATION)
            continue;
        for (size_t i = 0; ok && i < n; i++) {
            bool any;
            ms_str sid = session_of(&traces[i]->info);
            if (!sid.ptr || !assessment_found(&x, cl, &traces[i]->info, true, &any))
                continue;
            ms_str *grown = realloc(sc.sessions[c], (sc.n[c] + 1) * sizeof *grown);
            if (!grown) {
                ok = false;
                break;
            }
            grown[sc.n[c]++] = sid;
            sc.sessions[c] = grown;
        }
        if (sc.sessions[c])
            qsort(sc.sessions[c], sc.n[c], sizeof(ms_str), cmp_str);
    }
    ok = ok && !x.failed;
    for (size_t i = 0; ok && i < n; i++)
        keep[i] = match_one(f, traces[i], &sc);
    for (size_t c = 0; sc.sessions && c < f->n; c++)
        free(sc.sessions[c]);
    free(sc.sessions);
    free(sc.n);
    msx_json_parser_free(x.json);
    msx_buf_release(&x.tmp);
    msx_buf_release(&x.sv);
    msx_buf_release(&x.content);
    return ok;
}
