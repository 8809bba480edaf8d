/* SPDX-License-Identifier: MIT
 *
 * Unit tests for the trace model (src/model/model.h, include/mlsession/trace.h):
 * decoding real `mlflow traces search --output json` output (mlflow 3.17.2,
 * tests/unit/data/scratch_search.json), the span forms of reference section
 * 3 as small synthetic vectors, bad input, trace sets (duplicates, find,
 * containers) and ms_trace_to_json against Python's json.dumps(indent=2).
 *
 * Expected values were read from the same files with Python's json and
 * base64 modules (see tests/unit/data/README.md) and pasted as literals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "model/model.h"
#include "testutil.h"

#define DATA MS_SOURCE_DIR "/tests/unit/data/"
#define SCRATCH DATA "scratch_search.json"

/* ---- helpers -------------------------------------------------------- */

static ms_trace_set *load_ok(const char *buf, size_t len)
{
    ms_trace_set *set = NULL;
    struct ms_error err = {MS_OK, 0, ""};
    ms_code rc = ms_trace_set_load_buffer(buf, len, &set, &err);
    if (rc != MS_OK)
        fail_msg("load failed: %d %s at %lld", rc, err.msg, (long long)err.offset);
    return set;
}

static ms_trace_set *load_file_ok(const char *path)
{
    ms_trace_set *set = NULL;
    struct ms_error err = {MS_OK, 0, ""};
    ms_code rc = ms_trace_set_load_file(path, &set, &err);
    if (rc != MS_OK)
        fail_msg("%s: load failed: %d %s at %lld", path, rc, err.msg, (long long)err.offset);
    return set;
}

static bool str_is(ms_str s, const char *want)
{
    return s.ptr && s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

#define ASSERT_STR(s, want)                                                                 \
    do {                                                                                    \
        ms_str s_ = (s);                                                                    \
        if (!str_is(s_, (want)))                                                            \
            fail_msg("%s is \"%.*s\", want \"%s\"", #s, (int)s_.len, s_.ptr ? s_.ptr : "(null)", \
                     (want));                                                               \
    } while (0)

static const ms_kv *kv_get(const ms_kv *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (str_is(kv[i].key, key))
            return &kv[i];
    return NULL;
}

/* Decodes one span object given as JSON text. */
struct span_ctx {
    struct msx_arena arena;
    msx_json_parser *p;
    struct msi_decoder d;
    struct ms_error err;
};

static void span_ctx_init(struct span_ctx *c)
{
    msx_arena_init(&c->arena, 0);
    c->p = msx_json_parser_new();
    assert_non_null(c->p);
    c->d.arena = &c->arena;
    c->d.inner = NULL;
    c->d.err = &c->err;
    c->err.code = MS_OK;
    c->err.offset = 0;
    c->err.msg[0] = '\0';
}

static void span_ctx_free(struct span_ctx *c)
{
    msx_json_parser_free(c->p);
    msx_json_parser_free(c->d.inner);
    msx_arena_release(&c->arena);
}

static ms_code decode_span_text(struct span_ctx *c, const char *text, ms_span *out)
{
    msx_json v;
    struct ms_error perr;
    if (msx_json_parse(c->p, text, strlen(text), false, &v, &perr) != MS_OK)
        fail_msg("test vector does not parse: %s at %lld: %s", perr.msg, (long long)perr.offset,
                 text);
    return msi_decode_span(&c->d, v, out);
}

/* ---- the real MLflow 3.17.2 search output ------------------------------ */

struct want_span {
    const char *span_id;
    const char *parent_id;
    const char *name;
    const char *type;
    int64_t start_ns, end_ns;
    ms_status_code status;
    const char *status_message;
    size_t n_attrs, n_events;
    int64_t event_ns; /* first event's time, if any */
    bool has_usage;
};

struct want_trace {
    const char *trace_id;
    const char *hex_id;
    int64_t request_time_ms;
    int64_t duration_ms;
    ms_trace_state state;
    size_t n_metadata, n_tags, n_assessments;
    struct want_span spans[2];
};

/* python3: json.load(...)["traces"], base64.b64decode(id).hex(),
 * json.loads(attributes["mlflow.spanType"]) */
static const struct want_trace scratch[] = {
    {"tr-0fb3b987f47fa3e8ad00011845339d97", "0fb3b987f47fa3e8ad00011845339d97", 1795607136623LL,
     1, MS_STATE_ERROR, 14, 3, 3,
     {{"9c38d6c74004e820", "", "turn", "CHAIN", 1795607136623687067LL, 1795607136625367644LL,
       MS_STATUS_ERROR, "ValueError: bad thing \xc3\xa9", 5, 1, 1795607136625305088LL, false},
      {"1cdd634542d180ba", "9c38d6c74004e820", "llm", "CHAT_MODEL", 1795607136623960293LL,
       1795607136624992056LL, MS_STATUS_ERROR, "ValueError: bad thing \xc3\xa9", 5, 1,
       1795607136624899328LL, true}}},
    {"tr-83dfee7402d64ad076927e81ceb0396b", "83dfee7402d64ad076927e81ceb0396b", 1795607136592LL,
     31, MS_STATE_OK, 14, 3, 0,
     {{"ae2be1846d86f9bc", "", "turn", "CHAIN", 1795607136592047648LL, 1795607136623505837LL,
       MS_STATUS_OK, "", 6, 0, 0, false},
      {"622fb3772e66bf70", "ae2be1846d86f9bc", "llm", "CHAT_MODEL", 1795607136623092854LL,
       1795607136623394412LL, MS_STATUS_OK, "", 6, 0, 0, true}}},
    {"tr-5f7288b8c4d26f2a295eca04348d6cc4", "5f7288b8c4d26f2a295eca04348d6cc4", 1795607128474LL,
     1, MS_STATE_ERROR, 14, 3, 3,
     {{"5aa2b4795833a677", "", "turn", "CHAIN", 1795607128474201250LL, 1795607128475985311LL,
       MS_STATUS_ERROR, "ValueError: bad thing \xc3\xa9", 5, 1, 1795607128475921408LL, false},
      {"00296ffffdeae7bb", "5aa2b4795833a677", "llm", "CHAT_MODEL", 1795607128474462097LL,
       1795607128475601421LL, MS_STATUS_ERROR, "ValueError: bad thing \xc3\xa9", 5, 1,
       1795607128475509760LL, true}}},
    {"tr-9d725ae3b7bd5a91af92e4516e3129c5", "9d725ae3b7bd5a91af92e4516e3129c5", 1795607128443LL,
     30, MS_STATE_OK, 14, 3, 0,
     {{"8cb22fdd975426f8", "", "turn", "CHAIN", 1795607128443344234LL, 1795607128474014763LL,
       MS_STATUS_OK, "", 6, 0, 0, false},
      {"3c60f32b5680af40", "8cb22fdd975426f8", "llm", "CHAT_MODEL", 1795607128473614087LL,
       1795607128473856558LL, MS_STATUS_OK, "", 6, 0, 0, true}}},
};

static void check_usage_10_3_13(const ms_token_usage *u)
{
    assert_int_equal(u->present, MS_USAGE_INPUT | MS_USAGE_OUTPUT | MS_USAGE_TOTAL);
    assert_int_equal(u->input_tokens, 10);
    assert_int_equal(u->output_tokens, 3);
    assert_int_equal(u->total_tokens, 13);
}

static void test_scratch_traces(void **state)
{
    (void)state;
    size_t len;
    char *buf = tu_read_file(SCRATCH, &len);
    ms_trace_set *set = load_ok(buf, len);
    free(buf);
    assert_int_equal(ms_trace_set_count(set), TU_COUNT(scratch));
    for (size_t i = 0; i < TU_COUNT(scratch); i++) {
        const struct want_trace *w = &scratch[i];
        const ms_trace *t = ms_trace_set_at(set, i); /* file order */
        assert_non_null(t);
        ASSERT_STR(t->info.trace_id, w->trace_id);
        assert_ptr_equal(ms_trace_set_find(set, w->trace_id), t);
        ASSERT_STR(t->info.location_type, "MLFLOW_EXPERIMENT");
        ASSERT_STR(t->info.experiment_id, "1");
        tu_i64_eq(w->trace_id, t->info.request_time_ms, w->request_time_ms);
        assert_true(t->info.has_execution_duration);
        tu_i64_eq(w->trace_id, t->info.execution_duration_ms, w->duration_ms);
        assert_int_equal(t->info.state, w->state);
        assert_int_equal(t->info.n_metadata, w->n_metadata);
        assert_int_equal(t->info.n_tags, w->n_tags);
        assert_int_equal(t->info.n_assessments, w->n_assessments);
        const ms_kv *sess = kv_get(t->info.metadata, t->info.n_metadata, "mlflow.trace.session");
        assert_non_null(sess);
        ASSERT_STR(sess->value, "s1");
        const ms_kv *outp = kv_get(t->info.metadata, t->info.n_metadata, "mlflow.traceOutputs");
        assert_non_null(outp);
        if (w->state == MS_STATE_ERROR) {
            assert_non_null(outp->value.ptr); /* "" is kept as an empty string */
            assert_int_equal(outp->value.len, 0);
        } else {
            ASSERT_STR(outp->value, "\"ok\"");
        }
        const ms_kv *name = kv_get(t->info.tags, t->info.n_tags, "mlflow.traceName");
        assert_non_null(name);
        ASSERT_STR(name->value, "turn");
        /* usage from metadata mlflow.trace.tokenUsage */
        check_usage_10_3_13(&t->info.usage);
        if (w->state == MS_STATE_ERROR)
            assert_null(t->info.response_preview.ptr);
        else
            ASSERT_STR(t->info.response_preview, "\"ok\"");
        ASSERT_STR(t->info.request_preview, w->state == MS_STATE_ERROR
                                                ? "{\"message\": \"x\", \"sid\": \"s1\", \"fail\": true}"
                                                : "{\"message\": \"hi\", \"sid\": \"s1\", \"fail\": false}");
        assert_int_equal(t->n_spans, 2);
        for (size_t s = 0; s < 2; s++) {
            const struct want_span *ws = &w->spans[s];
            const ms_span *sp = &t->spans[s];
            assert_string_equal(sp->trace_id, w->hex_id);
            assert_string_equal(sp->span_id, ws->span_id);
            assert_string_equal(sp->parent_id, ws->parent_id);
            ASSERT_STR(sp->name, ws->name);
            ASSERT_STR(sp->span_type, ws->type);
            assert_int_equal(sp->form, MS_FORM_V3);
            tu_i64_eq(ws->span_id, sp->start_ns, ws->start_ns);
            assert_true(sp->has_end);
            tu_i64_eq(ws->span_id, sp->end_ns, ws->end_ns);
            assert_int_equal(sp->status, ws->status);
            if (ws->status_message[0])
                ASSERT_STR(sp->status_message, ws->status_message);
            else
                assert_int_equal(sp->status_message.len, 0);
            assert_int_equal(sp->n_attrs, ws->n_attrs);
            assert_int_equal(sp->n_events, ws->n_events);
            if (ws->n_events) {
                const ms_event *e = &sp->events[0];
                ASSERT_STR(e->name, "exception");
                tu_i64_eq("event time", e->time_unix_nano, ws->event_ns);
                assert_int_equal(e->n_attrs, 3);
                ASSERT_STR(e->attrs[1].key, "exception.type");
                ASSERT_STR(e->attrs[1].value, "ValueError"); /* plain, not JSON-encoded */
                ASSERT_STR(e->attrs[0].value, "bad thing \xc3\xa9");
            }
            /* usage from span attribute mlflow.chat.tokenUsage */
            if (ws->has_usage)
                check_usage_10_3_13(&sp->usage);
            else
                assert_int_equal(sp->usage.present, 0);
            const ms_attr *rid = ms_span_attr(sp, "mlflow.traceRequestId");
            assert_non_null(rid);
            assert_int_equal(rid->kind, MS_VAL_STRING);
            char quoted[64];
            snprintf(quoted, sizeof quoted, "\"%s\"", w->trace_id);
            ASSERT_STR(rid->value, quoted); /* as recorded */
            assert_null(ms_span_attr(sp, "no.such.attribute"));
            assert_null(sp->links_json.ptr); /* "links": [] */
        }
    }
    ms_trace_set_free(set);
}

/* The assessments of the first trace: feedback with a value and a
 * rationale, feedback carrying an error, an expectation with a
 * serialized_value. */
static void test_scratch_assessments(void **state)
{
    (void)state;
    ms_trace_set *set = load_file_ok(SCRATCH);
    const ms_trace *t = ms_trace_set_find(set, "tr-0fb3b987f47fa3e8ad00011845339d97");
    assert_non_null(t);
    assert_int_equal(t->info.n_assessments, 3);
    const ms_assessment *a = &t->info.assessments[0];
    ASSERT_STR(a->assessment_id, "a-357a18ddd06b45559bf72fef1af4ec53");
    ASSERT_STR(a->name, "rating");
    ASSERT_STR(a->trace_id, "tr-0fb3b987f47fa3e8ad00011845339d97");
    assert_null(a->span_id.ptr);
    ASSERT_STR(a->source_type, "HUMAN");
    ASSERT_STR(a->source_id, "a@b");
    assert_true(a->has_create_time);
    tu_i64_eq("create_time", a->create_time_ns, 1795607137690000000LL);
    assert_true(a->has_last_update_time);
    tu_i64_eq("last_update_time", a->last_update_time_ns, 1795607137690000000LL);
    assert_false(a->is_expectation);
    ASSERT_STR(a->value_json, "5.0");
    assert_false(a->has_error);
    ASSERT_STR(a->rationale, "good");
    assert_true(a->has_valid);
    assert_true(a->valid);

    a = &t->info.assessments[1];
    ASSERT_STR(a->name, "rel");
    ASSERT_STR(a->source_type, "LLM_JUDGE");
    ASSERT_STR(a->source_id, "openai:/x");
    assert_false(a->is_expectation);
    assert_true(a->has_error);
    ASSERT_STR(a->error_code, "SCORER_ERROR");
    ASSERT_STR(a->error_message, "timeout");
    assert_null(a->error_stack_trace.ptr);
    ASSERT_STR(a->value_json, "null");
    assert_null(a->rationale.ptr);
    tu_i64_eq("create_time", a->create_time_ns, 1795607137701000000LL);

    a = &t->info.assessments[2];
    ASSERT_STR(a->name, "exp");
    assert_true(a->is_expectation);
    assert_false(a->has_error);
    assert_null(a->value_json.ptr);
    ASSERT_STR(a->serialized_json, "{\"serialization_format\": \"JSON_FORMAT\", "
                                   "\"value\": \"{\\\"a\\\": [1, 2.5]}\"}");
    assert_true(a->valid);

    /* traces without assessments have none */
    t = ms_trace_set_find(set, "tr-83dfee7402d64ad076927e81ceb0396b");
    assert_non_null(t);
    assert_int_equal(t->info.n_assessments, 0);
    assert_null(t->info.assessments);
    ms_trace_set_free(set);
}

/* ms_trace_to_json prints each trace as `mlflow traces get` does:
 * json.dumps(trace, indent=2) + "\n" of the same trace in the file. */
static void test_scratch_to_json(void **state)
{
    (void)state;
    ms_trace_set *set = load_file_ok(SCRATCH);
    for (size_t i = 0; i < TU_COUNT(scratch); i++) {
        char path[512];
        snprintf(path, sizeof path, DATA "scratch_%s.expected.json", scratch[i].trace_id);
        size_t wlen;
        char *want = tu_read_file(path, &wlen);
        const ms_trace *t = ms_trace_set_find(set, scratch[i].trace_id);
        assert_non_null(t);
        char *out = NULL;
        size_t len = 0;
        struct ms_error err = {MS_OK, 0, ""};
        assert_int_equal(ms_trace_to_json(t, &out, &len, &err), MS_OK);
        assert_int_equal(strlen(out), len);
        tu_mem_eq(scratch[i].trace_id, out, len, want, wlen);
        free(out);
        free(want);
    }
    ms_trace_set_free(set);
}

/* ---- the span forms of reference section 3, one logical span ---------- */

/* trace 8e5c04c7599c43a8b4b0c6bd7f8711df = base64 jlwEx1mcQ6i0sMa9f4cR3w==,
 * span 1a2b3c4d5e6f7081 = Gis8TV5vcIE=, parent 64fb75715dcac673 = ZPt1cV3KxnM= */
#define USAGE_JSON                                                                          \
    "{\\\"input_tokens\\\": 812, \\\"output_tokens\\\": 96, \\\"total_tokens\\\": 908, "    \
    "\\\"cache_read_input_tokens\\\": 640}"

static const char form_a[] =
    "{\"trace_id\": \"jlwEx1mcQ6i0sMa9f4cR3w==\", \"span_id\": \"Gis8TV5vcIE=\", "
    "\"trace_state\": \"\", \"parent_span_id\": \"ZPt1cV3KxnM=\", \"name\": \"chat_turn\", "
    "\"start_time_unix_nano\": 1733450000123456789, \"end_time_unix_nano\": 1733450001987654321, "
    "\"attributes\": {\"mlflow.traceRequestId\": \"\\\"tr-8e5c04c7599c43a8b4b0c6bd7f8711df\\\"\", "
    "\"mlflow.spanType\": \"\\\"CHAIN\\\"\", \"mlflow.chat.tokenUsage\": \"" USAGE_JSON "\"}, "
    "\"events\": [{\"time_unix_nano\": 1733450001900000000, \"name\": \"exception\", "
    "\"attributes\": {\"exception.type\": \"ValueError\", \"exception.message\": \"bad\"}}], "
    "\"status\": {\"message\": \"ValueError: bad\", \"code\": \"STATUS_CODE_ERROR\"}}";

static const char form_b[] =
    "{\"trace_id\": \"tr-8e5c04c7599c43a8b4b0c6bd7f8711df\", \"span_id\": \"1a2b3c4d5e6f7081\", "
    "\"otel_trace_id\": \"8e5c04c7599c43a8b4b0c6bd7f8711df\", \"dict_version\": 4, "
    "\"parent_span_id\": \"64fb75715dcac673\", \"name\": \"chat_turn\", "
    "\"start_time_unix_nano\": 1733450000123456789, \"end_time_unix_nano\": 1733450001987654321, "
    "\"attributes\": {\"mlflow.spanType\": \"\\\"CHAIN\\\"\", "
    "\"mlflow.chat.tokenUsage\": \"" USAGE_JSON "\"}, "
    "\"events\": [{\"name\": \"exception\", \"time_unix_nano\": 1733450001900000000, "
    "\"attributes\": {\"exception.type\": \"ValueError\"}}], "
    "\"status\": {\"code\": \"ERROR\", \"message\": \"ValueError: bad\"}}";

static const char form_c[] =
    "{\"name\": \"chat_turn\", \"context\": {\"span_id\": \"0x1a2b3c4d5e6f7081\", "
    "\"trace_id\": \"0x8e5c04c7599c43a8b4b0c6bd7f8711df\"}, \"parent_id\": \"0x64fb75715dcac673\", "
    "\"start_time\": 1733450000123456789, \"end_time\": 1733450001987654321, "
    "\"status_code\": \"ERROR\", \"status_message\": \"ValueError: bad\", "
    "\"attributes\": {\"mlflow.traceRequestId\": \"\\\"8e5c04c7599c43a8b4b0c6bd7f8711df\\\"\", "
    "\"mlflow.spanType\": \"\\\"CHAIN\\\"\", \"mlflow.chat.tokenUsage\": \"" USAGE_JSON "\"}, "
    "\"events\": [{\"name\": \"exception\", \"timestamp\": 1733450001900000000, "
    "\"attributes\": {\"exception.type\": \"ValueError\"}}], \"request\": \"ignored\"}";

static const char form_d[] =
    "{\"trace_id\": \"jlwEx1mcQ6i0sMa9f4cR3w==\", \"span_id\": \"Gis8TV5vcIE=\", "
    "\"parent_span_id\": \"ZPt1cV3KxnM=\", \"name\": \"chat_turn\", "
    "\"start_time_unix_nano\": \"1733450000123456789\", "
    "\"end_time_unix_nano\": \"1733450001987654321\", "
    "\"attributes\": [{\"key\": \"mlflow.spanType\", \"value\": {\"string_value\": \"\\\"CHAIN\\\"\"}}, "
    "{\"key\": \"llm.token_count.prompt\", \"value\": {\"int_value\": \"812\"}}, "
    "{\"key\": \"mlflow.chat.tokenUsage\", \"value\": {\"string_value\": \"" USAGE_JSON "\"}}], "
    "\"events\": [{\"name\": \"exception\", \"time_unix_nano\": \"1733450001900000000\", "
    "\"attributes\": [{\"key\": \"exception.type\", \"value\": {\"string_value\": \"ValueError\"}}]}], "
    "\"status\": {\"code\": \"STATUS_CODE_ERROR\", \"message\": \"ValueError: bad\"}, "
    "\"kind\": \"SPAN_KIND_INTERNAL\"}";

static const char form_e[] =
    "{\"traceId\": \"8e5c04c7599c43a8b4b0c6bd7f8711df\", \"spanId\": \"1a2b3c4d5e6f7081\", "
    "\"parentSpanId\": \"64fb75715dcac673\", \"name\": \"chat_turn\", \"kind\": 1, "
    "\"startTimeUnixNano\": \"1733450000123456789\", \"endTimeUnixNano\": \"1733450001987654321\", "
    "\"attributes\": [{\"key\": \"mlflow.spanType\", \"value\": {\"stringValue\": \"CHAIN\"}}, "
    "{\"key\": \"llm.token_count.prompt\", \"value\": {\"intValue\": \"812\"}}], "
    "\"events\": [{\"name\": \"exception\", \"timeUnixNano\": \"1733450001900000000\", "
    "\"attributes\": [{\"key\": \"exception.type\", \"value\": {\"stringValue\": \"ValueError\"}}]}], "
    "\"status\": {\"code\": 2, \"message\": \"ValueError: bad\"}}";

static void test_span_forms(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        const char *text;
        ms_span_form form;
        bool has_usage;  /* camelCase OTLP carries no MLflow usage here */
        bool has_prompt; /* llm.token_count.prompt int attribute */
    } forms[] = {
        {"A (V3 dict)", form_a, MS_FORM_V3, true, false},
        {"B (3.5.0 hex)", form_b, MS_FORM_V3_HEX, true, false},
        {"C (V2 context)", form_c, MS_FORM_V2, true, false},
        {"D (OTLP proto-JSON)", form_d, MS_FORM_OTLP, true, true},
        {"E (camelCase OTLP)", form_e, MS_FORM_OTLP, false, true},
    };
    for (size_t i = 0; i < TU_COUNT(forms); i++) {
        struct span_ctx c;
        ms_span s;
        span_ctx_init(&c);
        ms_code rc = decode_span_text(&c, forms[i].text, &s);
        if (rc != MS_OK)
            fail_msg("%s: %d %s", forms[i].name, rc, c.err.msg);
        print_message("# form %s\n", forms[i].name);
        assert_int_equal(s.form, forms[i].form);
        assert_string_equal(s.trace_id, "8e5c04c7599c43a8b4b0c6bd7f8711df");
        assert_string_equal(s.span_id, "1a2b3c4d5e6f7081");
        assert_string_equal(s.parent_id, "64fb75715dcac673");
        ASSERT_STR(s.name, "chat_turn");
        ASSERT_STR(s.span_type, "CHAIN");
        tu_i64_eq(forms[i].name, s.start_ns, 1733450000123456789LL);
        assert_true(s.has_end);
        tu_i64_eq(forms[i].name, s.end_ns, 1733450001987654321LL);
        assert_int_equal(s.status, MS_STATUS_ERROR);
        ASSERT_STR(s.status_message, "ValueError: bad");
        assert_int_equal(s.n_events, 1);
        ASSERT_STR(s.events[0].name, "exception");
        tu_i64_eq(forms[i].name, s.events[0].time_unix_nano, 1733450001900000000LL);
        assert_true(s.events[0].n_attrs >= 1);
        ASSERT_STR(s.events[0].attrs[0].key, "exception.type");
        ASSERT_STR(s.events[0].attrs[0].value, "ValueError");
        assert_int_equal(s.events[0].attrs[0].kind, MS_VAL_STRING);
        if (forms[i].has_usage) {
            assert_int_equal(s.usage.present, MS_USAGE_INPUT | MS_USAGE_OUTPUT | MS_USAGE_TOTAL |
                                                  MS_USAGE_CACHE_READ);
            assert_int_equal(s.usage.input_tokens, 812);
            assert_int_equal(s.usage.output_tokens, 96);
            assert_int_equal(s.usage.total_tokens, 908);
            assert_int_equal(s.usage.cache_read_input_tokens, 640);
        }
        const ms_attr *pr = ms_span_attr(&s, "llm.token_count.prompt");
        if (forms[i].has_prompt) {
            assert_non_null(pr);
            assert_int_equal(pr->kind, MS_VAL_JSON);
            ASSERT_STR(pr->value, "812"); /* int_value given as a string */
        } else {
            assert_null(pr);
        }
        span_ctx_free(&c);
    }
}

/* Roots: parent null, "" or absent; unfinished spans; status spellings. */
static void test_span_variants(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *parent;
        bool has_end;
        ms_status_code status;
    } cases[] = {
        {"{\"trace_id\":\"jlwEx1mcQ6i0sMa9f4cR3w==\",\"span_id\":\"Gis8TV5vcIE=\","
         "\"parent_span_id\":null,\"start_time_unix_nano\":1,\"end_time_unix_nano\":null,"
         "\"status\":{\"code\":\"STATUS_CODE_UNSET\"}}",
         "", false, MS_STATUS_UNSET},
        {"{\"trace_id\":\"jlwEx1mcQ6i0sMa9f4cR3w==\",\"span_id\":\"Gis8TV5vcIE=\","
         "\"parent_span_id\":\"\",\"start_time_unix_nano\":1,\"end_time_unix_nano\":2,"
         "\"status\":{\"code\":\"STATUS_CODE_OK\",\"message\":\"\"}}",
         "", true, MS_STATUS_OK},
        {"{\"trace_id\":\"jlwEx1mcQ6i0sMa9f4cR3w==\",\"span_id\":\"Gis8TV5vcIE=\","
         "\"start_time_unix_nano\":1}",
         "", false, MS_STATUS_UNSET},
        {"{\"trace_id\":\"jlwEx1mcQ6i0sMa9f4cR3w==\",\"span_id\":\"Gis8TV5vcIE=\","
         "\"start_time_unix_nano\":\"1\",\"end_time_unix_nano\":\"0\",\"attributes\":[],"
         "\"status\":{\"code\":1}}",
         "", false, MS_STATUS_OK}, /* OTLP: end 0 = not ended */
        {"{\"name\":\"n\",\"context\":{\"span_id\":\"0x1\",\"trace_id\":\"0x5c04c7599c43a8b4b0c6bd7f8711df\"},"
         "\"parent_id\":null,\"start_time\":5,\"end_time\":null,\"status_code\":\"UNSET\"}",
         "", false, MS_STATUS_UNSET},
        {"{\"name\":\"n\",\"context\":{\"span_id\":\"0x1\",\"trace_id\":\"0x5c04c7599c43a8b4b0c6bd7f8711df\"},"
         "\"parent_id\":\"0x00ff\",\"start_time\":5,\"end_time\":6,\"status_code\":\"OK\"}",
         "00000000000000ff", true, MS_STATUS_OK},
    };
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        struct span_ctx c;
        ms_span s;
        span_ctx_init(&c);
        ms_code rc = decode_span_text(&c, cases[i].text, &s);
        if (rc != MS_OK)
            fail_msg("case %zu: %d %s", i, rc, c.err.msg);
        assert_string_equal(s.parent_id, cases[i].parent);
        if (s.has_end != cases[i].has_end)
            fail_msg("case %zu: has_end %d", i, s.has_end);
        assert_int_equal(s.status, cases[i].status);
        assert_null(s.span_type.ptr);
        span_ctx_free(&c);
    }
    /* V2 ids with leading zeros dropped are padded */
    struct span_ctx c;
    ms_span s;
    span_ctx_init(&c);
    assert_int_equal(decode_span_text(&c, cases[4].text, &s), MS_OK);
    assert_string_equal(s.trace_id, "005c04c7599c43a8b4b0c6bd7f8711df");
    assert_string_equal(s.span_id, "0000000000000001");
    span_ctx_free(&c);
}

/* Bad spans: an unknown form is unsupported; a wrong type is invalid and
 * the message names the field. */
static void test_span_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        ms_code code;
        const char *msg;
    } cases[] = {
        {"{\"name\":\"x\",\"foo\":1}", MS_E_UNSUPPORTED,
         "unknown span form (no \"context\" and no \"start_time_unix_nano\")"},
        {"[]", MS_E_INVALID, "span is not an object"},
        {"{\"name\":5,\"start_time_unix_nano\":1}", MS_E_INVALID, "span name is not a string"},
        {"{\"trace_id\":1,\"span_id\":\"Gis8TV5vcIE=\",\"start_time_unix_nano\":1}", MS_E_INVALID,
         "span has no string trace_id/span_id"},
        {"{\"trace_id\":\"jlwEx1mcQ6i0sMa9f4cR3w==\",\"span_id\":\"zz\",\"start_time_unix_nano\":1}",
         MS_E_INVALID, "span trace_id/span_id is not a valid id"},
        {"{\"trace_id\":\"jlwEx1mcQ6i0sMa9f4cR3w==\",\"span_id\":\"Gis8TV5vcIE=\","
         "\"parent_span_id\":7,\"start_time_unix_nano\":1}",
         MS_E_INVALID, "span parent_span_id is not a valid id"},
        {"{\"trace_id\":\"jlwEx1mcQ6i0sMa9f4cR3w==\",\"span_id\":\"Gis8TV5vcIE=\","
         "\"start_time_unix_nano\":\"abc\"}",
         MS_E_INVALID, "span start_time_unix_nano is not an integer"},
        {"{\"trace_id\":\"jlwEx1mcQ6i0sMa9f4cR3w==\",\"span_id\":\"Gis8TV5vcIE=\","
         "\"start_time_unix_nano\":1.5}",
         MS_E_INVALID, "span start_time_unix_nano is not an integer"},
        {"{\"trace_id\":\"jlwEx1mcQ6i0sMa9f4cR3w==\",\"span_id\":\"Gis8TV5vcIE=\","
         "\"start_time_unix_nano\":1,\"end_time_unix_nano\":true}",
         MS_E_INVALID, "span end_time_unix_nano is not an integer"},
        {"{\"trace_id\":\"jlwEx1mcQ6i0sMa9f4cR3w==\",\"span_id\":\"Gis8TV5vcIE=\","
         "\"start_time_unix_nano\":1,\"attributes\":\"x\"}",
         MS_E_INVALID, "span attributes is not an object"},
        {"{\"trace_id\":\"jlwEx1mcQ6i0sMa9f4cR3w==\",\"span_id\":\"Gis8TV5vcIE=\","
         "\"start_time_unix_nano\":1,\"events\":{}}",
         MS_E_INVALID, "span events is not an array"},
        {"{\"trace_id\":\"jlwEx1mcQ6i0sMa9f4cR3w==\",\"span_id\":\"Gis8TV5vcIE=\","
         "\"start_time_unix_nano\":1,\"events\":[5]}",
         MS_E_INVALID, "span event is not an object"},
        {"{\"trace_id\":\"jlwEx1mcQ6i0sMa9f4cR3w==\",\"span_id\":\"Gis8TV5vcIE=\","
         "\"start_time_unix_nano\":1,\"status\":{\"code\":\"OK\",\"message\":5}}",
         MS_E_INVALID, "span status message is not a string"},
        {"{\"trace_id\":\"jlwEx1mcQ6i0sMa9f4cR3w==\",\"span_id\":\"Gis8TV5vcIE=\","
         "\"start_time_unix_nano\":1,\"attributes\":[{\"key\":1,\"value\":{}}]}",
         MS_E_INVALID, "otlp attribute without a string key"},
        {"{\"trace_id\":\"jlwEx1mcQ6i0sMa9f4cR3w==\",\"span_id\":\"Gis8TV5vcIE=\","
         "\"start_time_unix_nano\":1,\"attributes\":[{\"key\":\"k\",\"value\":{\"int_value\":\"x\"}}]}",
         MS_E_INVALID, "bad otlp attribute value"},
        {"{\"name\":\"n\",\"context\":{\"span_id\":\"0x1\"},\"start_time\":5}", MS_E_INVALID,
         "span context has no valid trace_id/span_id"},
        {"{\"name\":\"n\",\"context\":{\"span_id\":\"0x1\",\"trace_id\":\"0x2\"},\"start_time\":null}",
         MS_E_INVALID, "span start_time is not an integer"},
    };
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        struct span_ctx c;
        ms_span s;
        span_ctx_init(&c);
        ms_code rc = decode_span_text(&c, cases[i].text, &s);
        if (rc != cases[i].code)
            fail_msg("case %zu: rc %d, want %d (%s)", i, rc, cases[i].code, c.err.msg);
        assert_int_equal(c.err.code, cases[i].code);
        if (strcmp(c.err.msg, cases[i].msg) != 0)
            fail_msg("case %zu: message \"%s\", want \"%s\"", i, c.err.msg, cases[i].msg);
        span_ctx_free(&c);
    }
}

/* ---- trace sets ------------------------------------------------------ */

#define INFO(id, preview)                                                                   \
    "{\"trace_id\": \"" id "\", \"trace_location\": {\"type\": \"MLFLOW_EXPERIMENT\", "   \
    "\"mlflow_experiment\": {\"experiment_id\": \"7\"}}, \"request_time\": "               \
    "\"2026-01-15T10:00:00.123Z\", \"state\": \"OK\", \"request_preview\": \"" preview "\"}"
#define SPAN_A                                                                              \
    "{\"trace_id\": \"jlwEx1mcQ6i0sMa9f4cR3w==\", \"span_id\": \"Gis8TV5vcIE=\", "        \
    "\"parent_span_id\": null, \"name\": \"root\", \"start_time_unix_nano\": 1, "          \
    "\"end_time_unix_nano\": 2, \"attributes\": {}, \"status\": {\"code\": \"STATUS_CODE_OK\"}}"
#define TRACE(id, preview) "{\"info\": " INFO(id, preview) ", \"data\": {\"spans\": [" SPAN_A "]}}"

#define T1 "tr-00000000000000000000000000000001"
#define T2 "tr-00000000000000000000000000000002"
#define T3 "tr-00000000000000000000000000000003"

/* Offset paging repeats traces across pages: each id is kept once, the
 * first copy wins, order is first-seen order. */
static void test_duplicates_across_pages(void **state)
{
    (void)state;
    static const char pages[] =
        "{\"traces\": [" TRACE(T1, "p1") ", " TRACE(T2, "p1") "], \"next_page_token\": \"x\"}\n"
        "{\"traces\": [" TRACE(T2, "p2") ", " TRACE(T3, "p2") "]}\n";
    ms_trace_set *set = load_ok(pages, sizeof pages - 1);
    assert_int_equal(ms_trace_set_count(set), 3);
    static const char *order[] = {T1, T2, T3};
    for (size_t i = 0; i < 3; i++)
        ASSERT_STR(ms_trace_set_at(set, i)->info.trace_id, order[i]);
    ASSERT_STR(ms_trace_set_find(set, T2)->info.request_preview, "p1");
    ASSERT_STR(ms_trace_set_find(set, T3)->info.request_preview, "p2");
    assert_null(ms_trace_set_at(set, 3));
    assert_null(ms_trace_set_find(set, "tr-00000000000000000000000000000004"));
    assert_null(ms_trace_set_find(set, "00000000000000000000000000000001")); /* no tr- */
    assert_null(ms_trace_set_find(set, ""));
    ms_trace_set_free(set);

    /* the real file twice in a row: still 4 traces */
    size_t len;
    char *one = tu_read_file(SCRATCH, &len);
    char *two = malloc(2 * len + 1);
    assert_non_null(two);
    memcpy(two, one, len);
    two[len] = '\n';
    memcpy(two + len + 1, one, len);
    set = load_ok(two, 2 * len + 1);
    assert_int_equal(ms_trace_set_count(set), 4);
    assert_null(ms_trace_set_find(set, "tr-0fb3b987f47fa3e8ad00011845339d98"));
    ms_trace_set_free(set);
    free(one);
    free(two);
}

/* Many traces: the index grows and find() still finds every one. */
static void test_many_traces(void **state)
{
    (void)state;
    const size_t n = 3000;
    size_t cap = n * 400 + 64, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    len += (size_t)snprintf(buf + len, cap - len, "[");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len,
                                "%s{\"info\": {\"trace_id\": \"tr-%032zx\", \"request_time\": "
                                "\"2026-01-15T10:00:00Z\"}}",
                                i ? "," : "", i);
    len += (size_t)snprintf(buf + len, cap - len, "]");
    ms_trace_set *set = load_ok(buf, len);
    free(buf);
    assert_int_equal(ms_trace_set_count(set), n);
    for (size_t i = 0; i < n; i++) {
        char id[40];
        snprintf(id, sizeof id, "tr-%032zx", i);
        const ms_trace *t = ms_trace_set_find(set, id);
        if (!t || t != ms_trace_set_at(set, i))
            fail_msg("%s not found at %zu", id, i);
        assert_int_equal(t->n_spans, 0);
    }
    ms_trace_set_free(set);
}

/* Every container form holds the same trace. */
static void test_containers(void **state)
{
    (void)state;
    static const char *forms[] = {
        /* search page */
        "{\"traces\": [" TRACE(T1, "x") "]}",
        /* traces get */
        TRACE(T1, "x"),
        /* JSON array */
        "[" TRACE(T1, "x") "]",
        /* JSON Lines (the same trace twice: kept once) */
        TRACE(T1, "x") "\n" TRACE(T1, "y") "\n",
        /* REST get */
        "{\"trace\": {\"trace_info\": " INFO(T1, "x") ", \"spans\": [" SPAN_A "]}}",
        /* REST batchGet */
        "{\"traces\": [{\"trace_info\": " INFO(T1, "x") ", \"spans\": [" SPAN_A "]}]}",
    };
    for (size_t i = 0; i < TU_COUNT(forms); i++) {
        ms_trace_set *set = load_ok(forms[i], strlen(forms[i]));
        if (ms_trace_set_count(set) != 1)
            fail_msg("form %zu: %zu traces", i, ms_trace_set_count(set));
        const ms_trace *t = ms_trace_set_at(set, 0);
        ASSERT_STR(t->info.trace_id, T1);
        ASSERT_STR(t->info.experiment_id, "7");
        assert_int_equal(t->info.request_time_ms, 1768471200123LL);
        assert_int_equal(t->info.state, MS_STATE_OK);
        assert_int_equal(t->n_spans, 1);
        assert_string_equal(t->spans[0].span_id, "1a2b3c4d5e6f7081");
        ms_trace_set_free(set);
    }
}

/* Loading errors: code, offset into the whole buffer, and message. */
static void test_load_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        ms_code code;
        int64_t offset;
        const char *msg; /* NULL: any */
    } cases[] = {
        {"", MS_E_PARSE, 0, NULL},
        {"  \n", MS_E_PARSE, 0, NULL},
        {"{\"traces\": [", MS_E_PARSE, 12, "unexpected end of input"},
        {"{\"traces\": []}\n{\"traces\": [tru]}", MS_E_PARSE, 27, "invalid literal"},
        {"{\"foo\": 1}", MS_E_UNSUPPORTED, -1,
         "not an mlflow trace export (expected \"traces\", \"info\" or \"trace\")"},
        {"[{\"foo\": 1}]", MS_E_UNSUPPORTED, -1,
         "array element is not a trace (expected \"info\" or \"trace_info\")"},
        {"[{\"info\": {\"request_time\": \"2026-01-15T10:00:00Z\"}}]", MS_E_INVALID, -1,
         "trace 1: trace info has no trace_id"},
        {"[{\"info\": {\"trace_id\": \"tr-1\", \"request_time\": \"yesterday\"}}]", MS_E_INVALID,
         -1, "trace tr-1: trace request_time is not a timestamp"},
        {"[{\"info\": {\"trace_id\": \"tr-1\", \"tags\": 5}}]", MS_E_INVALID, -1,
         "trace tr-1: trace tags is not an object"},
        {"[{\"info\": {\"trace_id\": \"tr-1\"}, \"data\": {\"spans\": {}}}]", MS_E_INVALID, -1,
         "trace tr-1: trace spans is not an array"},
        {"[{\"info\": {\"trace_id\": \"tr-1\"}}, {\"info\": {\"trace_id\": \"tr-2\"}, "
         "\"data\": {\"spans\": [" SPAN_A ", {\"name\": 1}]}}]",
         MS_E_INVALID, -1, "trace tr-2: span 1: span name is not a string"},
        {"[{\"info\": {\"trace_id\": \"tr-1\", \"execution_duration\": \"soon\"}}]", MS_E_INVALID,
         -1, "trace tr-1: trace execution_duration is not a duration"},
        {"[{\"info\": {\"trace_id\": \"tr-1\", \"assessments\": [{\"valid\": \"yes\"}]}}]",
         MS_E_INVALID, -1, "trace tr-1: assessment valid is not a boolean"},
        {"[{\"info\": {\"trace_id\": \"tr-1\", \"assessments\": [{\"rationale\": 3}]}}]",
         MS_E_INVALID, -1, "trace tr-1: assessment has a non-string field"},
    };
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        static char dummy;
        ms_trace_set *const sentinel = (ms_trace_set *)(void *)&dummy;
        ms_trace_set *set = sentinel; /* must stay untouched on error */
        struct ms_error err = {MS_OK, -99, ""};
        ms_code rc = ms_trace_set_load_buffer(cases[i].text, strlen(cases[i].text), &set, &err);
        if (rc != cases[i].code || err.code != cases[i].code)
            fail_msg("case %zu: rc %d code %d, want %d (%s)", i, rc, err.code, cases[i].code,
                     err.msg);
        if (err.offset != cases[i].offset)
            fail_msg("case %zu: offset %lld, want %lld (%s)", i, (long long)err.offset,
                     (long long)cases[i].offset, err.msg);
        if (cases[i].msg && strcmp(err.msg, cases[i].msg) != 0)
            fail_msg("case %zu: message \"%s\", want \"%s\"", i, err.msg, cases[i].msg);
        if (!err.msg[0])
            fail_msg("case %zu: empty message", i);
        assert_ptr_equal(set, sentinel);
    }
    /* a missing file */
    ms_trace_set *set = NULL;
    struct ms_error err = {MS_OK, 0, ""};
    assert_int_equal(ms_trace_set_load_file(DATA "no-such-file.json", &set, &err), MS_E_IO);
    assert_int_equal(err.code, MS_E_IO);
    assert_null(set);
    assert_int_equal(ms_trace_set_load_file(DATA, &set, &err), MS_E_IO); /* a directory */
    /* NULL-safe accessors */
    assert_int_equal(ms_trace_set_count(NULL), 0);
    assert_null(ms_trace_set_at(NULL, 0));
    assert_null(ms_trace_set_find(NULL, T1));
    ms_trace_set_free(NULL);
}

/* TraceInfo V2 (2.x) and REST spellings. */
static void test_info_variants(void **state)
{
    (void)state;
    static const char v2[] =
        "{\"info\": {\"request_id\": \"8e5c04c7599c43a8b4b0c6bd7f8711df\", \"experiment_id\": \"3\", "
        "\"timestamp_ms\": 1717000000000, \"execution_time_ms\": 1000, \"status\": \"OK\", "
        "\"request_metadata\": [{\"key\": \"mlflow.trace.session\", \"value\": \"s9\"}, "
        "{\"key\": \"mlflow.trace.tokenUsage\", \"value\": \"{\\\"input_tokens\\\": \\\"5\\\", "
        "\\\"output_tokens\\\": 2, \\\"cache_creation_input_tokens\\\": 1}\"}], "
        "\"tags\": [{\"key\": \"t\", \"value\": \"u\"}]}, \"data\": {\"spans\": []}}";
    ms_trace_set *set = load_ok(v2, sizeof v2 - 1);
    const ms_trace *t = ms_trace_set_at(set, 0);
    ASSERT_STR(t->info.trace_id, "8e5c04c7599c43a8b4b0c6bd7f8711df");
    ASSERT_STR(t->info.experiment_id, "3");
    ASSERT_STR(t->info.location_type, "MLFLOW_EXPERIMENT");
    assert_int_equal(t->info.request_time_ms, 1717000000000LL);
    assert_true(t->info.has_execution_duration);
    assert_int_equal(t->info.execution_duration_ms, 1000);
    assert_int_equal(t->info.state, MS_STATE_OK);
    assert_int_equal(t->info.n_metadata, 2);
    ASSERT_STR(kv_get(t->info.metadata, 2, "mlflow.trace.session")->value, "s9");
    assert_int_equal(t->info.n_tags, 1);
    ASSERT_STR(t->info.tags[0].key, "t");
    ASSERT_STR(t->info.tags[0].value, "u");
    /* usage values given as digit strings count too */
    assert_int_equal(t->info.usage.present,
                     MS_USAGE_INPUT | MS_USAGE_OUTPUT | MS_USAGE_CACHE_CREATION);
    assert_int_equal(t->info.usage.input_tokens, 5);
    assert_int_equal(t->info.usage.output_tokens, 2);
    assert_int_equal(t->info.usage.cache_creation_input_tokens, 1);
    assert_int_equal(t->n_spans, 0);
    ms_trace_set_free(set);

    static const char rest[] =
        "{\"trace\": {\"trace_info\": {\"trace_id\": \"tr-8e5c04c7599c43a8b4b0c6bd7f8711df\", "
        "\"trace_location\": {\"type\": \"MLFLOW_EXPERIMENT\", \"mlflow_experiment\": "
        "{\"experiment_id\": \"1\"}}, \"request_time\": \"2025-06-04T00:17:06.901Z\", "
        "\"execution_duration\": \"1.840s\", \"state\": \"IN_PROGRESS\", "
        "\"assessments\": [{\"assessment_name\": \"a\", \"feedback\": {\"value\": \"no\"}, "
        "\"valid\": false, \"create_time\": \"2025-06-04T00:17:06Z\", "
        "\"metadata\": {\"mlflow.trace.session\": \"s1\"}}]}, \"spans\": []}}";
    set = load_ok(rest, sizeof rest - 1);
    t = ms_trace_set_at(set, 0);
    assert_int_equal(t->info.request_time_ms, 1748996226901LL);
    assert_true(t->info.has_execution_duration);
    assert_int_equal(t->info.execution_duration_ms, 1840);
    assert_int_equal(t->info.state, MS_STATE_IN_PROGRESS);
    assert_int_equal(t->info.usage.present, 0);
    assert_int_equal(t->info.n_assessments, 1);
    const ms_assessment *a = &t->info.assessments[0];
    ASSERT_STR(a->name, "a");
    ASSERT_STR(a->value_json, "\"no\"");
    assert_true(a->has_valid);
    assert_false(a->valid);
    assert_int_equal(a->create_time_ns, 1748996226000000000LL);
    assert_false(a->has_last_update_time);
    assert_int_equal(a->n_metadata, 1);
    ASSERT_STR(a->metadata[0].value, "s1");
    ms_trace_set_free(set);

    /* running trace: no duration; unknown state */
    static const char running[] =
        "[{\"info\": {\"trace_id\": \"tr-1\", \"request_time\": \"2025-06-04T00:17:06Z\", "
        "\"execution_duration_ms\": null, \"state\": \"STATE_UNSPECIFIED\"}}]";
    set = load_ok(running, sizeof running - 1);
    t = ms_trace_set_at(set, 0);
    assert_false(t->info.has_execution_duration);
    assert_int_equal(t->info.state, MS_STATE_UNSPECIFIED);
    ms_trace_set_free(set);

    assert_string_equal(ms_trace_state_name(MS_STATE_OK), "OK");
    assert_string_equal(ms_trace_state_name(MS_STATE_ERROR), "ERROR");
    assert_string_equal(ms_trace_state_name(MS_STATE_IN_PROGRESS), "IN_PROGRESS");
    assert_string_equal(ms_trace_state_name(MS_STATE_UNSPECIFIED), "STATE_UNSPECIFIED");
}

/* ms_attr_decode: JSON strings come back unquoted, other JSON as text,
 * non-JSON as the raw string. */
static void test_attr_decode(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        enum ms_value_kind kind;
        const char *out;
        bool is_json;
    } cases[] = {
        {"\"CHAIN\"", MS_VAL_STRING, "CHAIN", false},
        {"\"h\\u00e9llo \\ud83c\\udf89\"", MS_VAL_STRING, "h\xc3\xa9llo \xf0\x9f\x8e\x89", false},
        {"{\"message\": \"hi\"}", MS_VAL_STRING, "{\"message\": \"hi\"}", true},
        {"40", MS_VAL_STRING, "40", true},
        {"not json", MS_VAL_STRING, "not json", false},
        {"", MS_VAL_STRING, "", false},
        {"812", MS_VAL_JSON, "812", true},
        {"[1, 2]", MS_VAL_JSON, "[1, 2]", true},
    };
    for (size_t i = 0; i < TU_COUNT(cases); i++) {
        ms_attr a;
        a.key.ptr = "k";
        a.key.len = 1;
        a.value.ptr = cases[i].value;
        a.value.len = strlen(cases[i].value);
        a.kind = cases[i].kind;
        char *out = NULL;
        size_t len = 0;
        bool is_json = !cases[i].is_json;
        assert_int_equal(ms_attr_decode(&a, &out, &len, &is_json), MS_OK);
        tu_str_eq(cases[i].value, out, len, cases[i].out);
        assert_int_equal(out[len], '\0');
        if (is_json != cases[i].is_json)
            fail_msg("%s: is_json %d", cases[i].value, is_json);
        free(out);
    }
}

/* ---- fixtures made by the real MLflow SDK (tests/fixtures/export/) ----- */

#define EXPORT MS_SOURCE_DIR "/tests/fixtures/export/"

/* `mlflow traces search --output json` per experiment (mlflow 3.17.2,
 * tests/fixtures/VERSIONS). python3: d = json.load(f); len(d["traces"]),
 * sum(len(t["data"]["spans"])), sum(len(t["info"].get("assessments", []))),
 * states, the first trace and its first span. */
struct want_export {
    const char *file;
    size_t traces, spans, assessments, n_error, n_in_progress;
    const char *first_id;
    const char *first_span_id;
    const char *first_span_name;
    int64_t first_span_start;
    const char *first_span_type;
    bool first_has_usage;
    int64_t in, out, total;
};

static const struct want_export exports[] = {
    {"exp-0.json", 0, 0, 0, 0, 0, NULL, NULL, NULL, 0, NULL, false, 0, 0, 0},
    {"exp-1.json", 95, 236, 20, 1, 1, "tr-1814f16fadb39514fef08ee69e1d0446", "43240c6f66209836",
     "healthcheck", 1768467300000001000LL, "CHAIN", false, 0, 0, 0},
    {"exp-2.json", 9, 33, 0, 0, 0, "tr-118709aa12111452fd439ad121e65b37", "8df65aed0f6de504",
     "healthcheck", 1768485300000001000LL, "CHAIN", false, 0, 0, 0},
};

static void test_fixture_search_exports(void **state)
{
    (void)state;
    assert_true(tu_file_exists(EXPORT "exp-1.json")); /* checked in: never skip */
    for (size_t f = 0; f < TU_COUNT(exports); f++) {
        const struct want_export *w = &exports[f];
        char path[512];
        snprintf(path, sizeof path, EXPORT "%s", w->file);
        ms_trace_set *set = load_file_ok(path);
        if (ms_trace_set_count(set) != w->traces)
            fail_msg("%s: %zu traces, want %zu", w->file, ms_trace_set_count(set), w->traces);
        size_t spans = 0, assessments = 0, n_error = 0, n_in_progress = 0;
        for (size_t i = 0; i < ms_trace_set_count(set); i++) {
            const ms_trace *t = ms_trace_set_at(set, i);
            spans += t->n_spans;
            assessments += t->info.n_assessments;
            n_error += t->info.state == MS_STATE_ERROR;
            n_in_progress += t->info.state == MS_STATE_IN_PROGRESS;
            /* every span carries its trace's id, in lowercase hex */
            for (size_t s = 0; s < t->n_spans; s++)
                if (t->info.trace_id.len != 35 ||
                    memcmp(t->info.trace_id.ptr + 3, t->spans[s].trace_id, 32) != 0)
                    fail_msg("%s: trace %.*s span %zu has trace id %s", w->file,
                             (int)t->info.trace_id.len, t->info.trace_id.ptr, s,
                             t->spans[s].trace_id);
        }
        if (spans != w->spans || assessments != w->assessments || n_error != w->n_error ||
            n_in_progress != w->n_in_progress)
            fail_msg("%s: spans %zu assessments %zu error %zu in_progress %zu", w->file, spans,
                     assessments, n_error, n_in_progress);
        if (w->traces) {
            const ms_trace *t = ms_trace_set_at(set, 0);
            ASSERT_STR(t->info.trace_id, w->first_id);
            assert_string_equal(t->spans[0].span_id, w->first_span_id);
            ASSERT_STR(t->spans[0].name, w->first_span_name);
            tu_i64_eq(w->file, t->spans[0].start_ns, w->first_span_start);
            ASSERT_STR(t->spans[0].span_type, w->first_span_type);
            if (w->first_has_usage) {
                assert_int_equal(t->info.usage.input_tokens, w->in);
                assert_int_equal(t->info.usage.output_tokens, w->out);
                assert_int_equal(t->info.usage.total_tokens, w->total);
            } else {
                assert_int_equal(t->info.usage.present, 0);
            }
        }
        ms_trace_set_free(set);
    }
}

/* `mlflow traces get` output (each file == json.dumps(d, indent=2) + "\n",
 * checked with python3): counts, and ms_trace_to_json gives the file back
 * byte for byte. */
struct want_get {
    const char *id;
    size_t spans;
    ms_trace_state state;
    size_t assessments;
    int64_t in, out, total; /* metadata mlflow.trace.tokenUsage; -1: none */
};

static const struct want_get gets[] = {
    {"tr-15af17b7a102468eb040a240b52af2e9", 2, MS_STATE_OK, 1, 112, 68, 180},
    {"tr-1814f16fadb39514fef08ee69e1d0446", 1, MS_STATE_OK, 0, -1, -1, -1},
    {"tr-1f8ad8ac19cf1ac8654c25d050217528", 4, MS_STATE_OK, 0, 560, 120, 680},
    {"tr-2e04e245524e5e1c0a16c44e10378ec8", 1, MS_STATE_OK, 0, 108, 80, 188},
    {"tr-3d494ab1ceab08126cddd272428ac308", 5, MS_STATE_OK, 2, 376, 52, 428},
    {"tr-4778b7c92b581e02f024e5c9ac3154f9", 10, MS_STATE_OK, 0, 840, 120, 960},
    {"tr-48ce3c0fe994407a47248d27711905c1", 3, MS_STATE_OK, 2, 576, 80, 656},
    {"tr-5b7666287be3c3aff9a47360059aa7e9", 4, MS_STATE_OK, 1, 136, 52, 188},
    {"tr-5c207e96408fb879493ff4f36d5c386f", 5, MS_STATE_OK, 0, 372, 44, 416},
    {"tr-6733c48b2d0104118245b37004dafa09", 2, MS_STATE_OK, 0, 100, 92, 192},
    {"tr-bf0e68c48821e5a772ece7142912d6a6", 3, MS_STATE_OK, 2, 708, 76, 784},
    {"tr-cbcfb35340cd1ac6d7503b63068f5128", 4, MS_STATE_OK, 2, 368, 52, 420},
    {"tr-cd5b8d6f5f7014be57a90a5f36a08c4a", 4, MS_STATE_OK, 0, 224, 40, 264},
    {"tr-d648cacbab6e584f6a878c149b312dd0", 4, MS_STATE_ERROR, 0, 156, 8, 164},
    {"tr-e642ce59b7d162627cdc935ad90009a1", 1, MS_STATE_IN_PROGRESS, 0, 292, 84, 376},
};

static void test_fixture_get_exports(void **state)
{
    (void)state;
    assert_true(tu_file_exists(EXPORT "get/tr-15af17b7a102468eb040a240b52af2e9.json")); /* checked in: never skip */
    for (size_t g = 0; g < TU_COUNT(gets); g++) {
        const struct want_get *w = &gets[g];
        char path[512];
        snprintf(path, sizeof path, EXPORT "get/%s.json", w->id);
        size_t flen;
        char *file = tu_read_file(path, &flen);
        ms_trace_set *set = load_ok(file, flen);
        assert_int_equal(ms_trace_set_count(set), 1);
        const ms_trace *t = ms_trace_set_find(set, w->id);
        if (!t)
            fail_msg("%s: not found", w->id);
        assert_int_equal(t->n_spans, w->spans);
        assert_int_equal(t->info.state, w->state);
        assert_int_equal(t->info.n_assessments, w->assessments);
        if (w->in < 0) {
            assert_int_equal(t->info.usage.present, 0);
        } else {
            assert_int_equal(t->info.usage.present,
                             MS_USAGE_INPUT | MS_USAGE_OUTPUT | MS_USAGE_TOTAL);
            assert_int_equal(t->info.usage.input_tokens, w->in);
            assert_int_equal(t->info.usage.output_tokens, w->out);
            assert_int_equal(t->info.usage.total_tokens, w->total);
        }
        char *out = NULL;
        size_t len = 0;
        struct ms_error err = {MS_OK, 0, ""};
        assert_int_equal(ms_trace_to_json(t, &out, &len, &err), MS_OK);
        tu_mem_eq(w->id, out, len, file, flen);
        free(out);
        free(file);
        ms_trace_set_free(set);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scratch_traces),
        cmocka_unit_test(test_scratch_assessments),
        cmocka_unit_test(test_scratch_to_json),
        cmocka_unit_test(test_span_forms),
        cmocka_unit_test(test_span_variants),
        cmocka_unit_test(test_span_errors),
        cmocka_unit_test(test_duplicates_across_pages),
        cmocka_unit_test(test_many_traces),
        cmocka_unit_test(test_containers),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_info_variants),
        cmocka_unit_test(test_attr_decode),
        cmocka_unit_test(test_fixture_search_exports),
        cmocka_unit_test(test_fixture_get_exports),
    };
    return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
