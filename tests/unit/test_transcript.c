/* SPDX-License-Identifier: MIT
 *
 * test_transcript.c - schema discovery. The fixture sessions (written by
 * the real MLflow SDK, tests/fixtures/export/exp-*.json) must transcribe to
 * exactly the messages the fixture app sent and answered, in order, once
 * each (tests/fixtures/sqlite/manifest.json); the shapes the fixture app
 * does not write (OpenAI Responses, Anthropic, LangChain, OpenInference,
 * older GenAI, previews) are covered by small synthetic traces in the
 * `mlflow traces get` form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "json/json.h"
#include "mlsession/store.h"
#include "json/json_write.h"
#include "session/transcript.h"
#include "testutil.h"

#define FIX MS_SOURCE_DIR "/tests/fixtures/"

static bool eq(ms_str s, const char *z)
{
    return z && s.ptr && s.len == strlen(z) && memcmp(s.ptr, z, s.len) == 0;
}

/* ---- fixture sessions against the manifest -------------------------- */

struct fx {
    ms_trace_set *sets[2];
    char *manifest;
    msx_json_parser *p;
    msx_json root;
};

static const ms_trace *fx_find(struct fx *f, const char *id)
{
    for (int i = 0; i < 2; i++) {
        const ms_trace *t = ms_trace_set_find(f->sets[i], id);
        if (t)
            return t;
    }
    return NULL;
}

static void fx_open(struct fx *f)
{
    struct ms_error err;
    memset(f, 0, sizeof *f);
    assert_int_equal(ms_trace_set_load_file(FIX "export/exp-1.json", &f->sets[0], &err), MS_OK);
    assert_int_equal(ms_trace_set_load_file(FIX "export/exp-2.json", &f->sets[1], &err), MS_OK);
    size_t len;
    f->manifest = tu_read_file(FIX "sqlite/manifest.json", &len);
    f->p = msx_json_parser_new();
    assert_non_null(f->p);
    assert_int_equal(msx_json_parse(f->p, f->manifest, len, false, &f->root, &err), MS_OK);
}

static void fx_close(struct fx *f)
{
    ms_trace_set_free(f->sets[0]);
    ms_trace_set_free(f->sets[1]);
    msx_json_parser_free(f->p);
    free(f->manifest);
}

static size_t count_role(const ms_message *m, size_t from, size_t n, ms_role r)
{
    size_t k = 0;
    for (size_t i = from; i < n; i++)
        k += m[i].role == r;
    return k;
}

static const ms_message *first_role(const ms_message *m, size_t from, size_t n, ms_role r)
{
    for (size_t i = from; i < n; i++)
        if (m[i].role == r)
            return &m[i];
    return NULL;
}

static void test_fixture_sessions(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    msx_json sessions = msx_json_get(f.root, "sessions");
    assert_true(msx_json_count(sessions) >= 18);
    size_t checked_turns = 0;
    struct msx_json_iter it = msx_json_iter_init(sessions);
    ms_str k;
    msx_json sess;
    while (msx_json_next(&it, &k, &sess)) {
        ms_str sid = msx_json_str(msx_json_get(sess, "session_id"));
        msi_transcriber *tx = msi_transcriber_new();
        assert_non_null(tx);
        struct msx_arena a;
        msx_arena_init(&a, 0);
        struct msx_json_iter ti = msx_json_iter_init(msx_json_get(sess, "turns"));
        msx_json turn;
        int64_t index = 0;
        while (msx_json_next(&ti, &k, &turn)) {
            index++;
            ms_str tid = msx_json_str(msx_json_get(turn, "trace_id"));
            ms_str user = msx_json_str(msx_json_get(turn, "user"));
            ms_str reply = msx_json_str(msx_json_get(turn, "reply"));
            const ms_trace *t = fx_find(&f, tid.ptr);
            if (!t)
                fail_msg("%s: trace %s not in the exports", sid.ptr, tid.ptr);
            ms_turn tu;
            memset(&tu, 0, sizeof tu);
            tu.index = index;
            tu.trace = t;
            struct ms_error err;
            assert_int_equal(msi_transcribe_turn(tx, &tu, &a, &err), MS_OK);
            char what[160];
            snprintf(what, sizeof what, "%s turn %lld (%s, shape %s)", sid.ptr, (long long)index,
                     tid.ptr, tu.shape);
            /* the user's new message: exactly one, the one the app sent */
            if (count_role(tu.input, tu.first_new, tu.n_input, MS_ROLE_USER) != 1)
                fail_msg("%s: %zu new user messages (first_new %zu of %zu)", what,
                         count_role(tu.input, tu.first_new, tu.n_input, MS_ROLE_USER),
                         tu.first_new, tu.n_input);
            const ms_message *u = first_role(tu.input, tu.first_new, tu.n_input, MS_ROLE_USER);
            tu_mem_eq(what, u->text.ptr, u->text.len, user.ptr, user.len);
            /* the earlier turns' messages are not new again */
            for (size_t i = tu.first_new; i < tu.n_input; i++)
                assert_true(tu.input[i].role != MS_ROLE_ASSISTANT);
            assert_true(tu.io_source == MS_IO_SPAN || tu.io_source == MS_IO_ATTRS);
            /* the reply: exactly one assistant message */
            if (reply.ptr) {
                if (tu.n_output != 1)
                    fail_msg("%s: %zu output messages", what, tu.n_output);
                tu_mem_eq(what, tu.output[0].text.ptr, tu.output[0].text.len, reply.ptr,
                          reply.len);
                assert_int_equal(tu.output[0].role, MS_ROLE_ASSISTANT);
            } else if (t->info.state != MS_STATE_IN_PROGRESS) {
                /* the turn failed: no answer (a crashed turn's model did
                 * answer, the user never saw it) */
                if (tu.n_output != 0)
                    fail_msg("%s: an answer where the app gave none", what);
            }
            checked_turns++;
        }
        msi_transcriber_free(tx);
        msx_arena_release(&a);
    }
    assert_int_equal(checked_turns, 92 + 7);
    fx_close(&f);
}

/* The same end to end: the store, ms_session_load() (grouping, turn
 * order, transcripts) and the manifest. Used for the main store and for
 * the shape corpus (tests/fixtures/corpus/, skipped while absent). */
static void check_store(const char *db, const char *manifest_path)
{
    struct ms_error err;
    ms_store *st = NULL;
    if (!tu_file_exists(db) || !tu_file_exists(manifest_path)) {
        print_message("skipped: %s not there\n", db);
        return;
    }
    assert_int_equal(ms_store_open(db, &st, &err), MS_OK);
    size_t len;
    char *text = tu_read_file(manifest_path, &len);
    msx_json_parser *p = msx_json_parser_new();
    msx_json root;
    assert_int_equal(msx_json_parse(p, text, len, false, &root, &err), MS_OK);
    struct msx_json_iter it = msx_json_iter_init(msx_json_get(root, "sessions"));
    ms_str k;
    msx_json sess;
    size_t checked = 0;
    while (msx_json_next(&it, &k, &sess)) {
        ms_str sid = msx_json_str(msx_json_get(sess, "session_id"));
        ms_session *s = NULL;
        if (ms_session_load(st, NULL, 0, sid.ptr, &s, &err) != MS_OK)
            fail_msg("%s: %s", sid.ptr, err.msg);
        msx_json turns = msx_json_get(sess, "turns");
        assert_int_equal(s->n_turns, msx_json_count(turns));
        for (size_t i = 0; i < s->n_turns; i++) {
            const ms_turn *tu = &s->turns[i];
            msx_json mt = msx_json_at(turns, i);
            ms_str user = msx_json_str(msx_json_get(mt, "user"));
            ms_str reply = msx_json_str(msx_json_get(mt, "reply"));
            char what[200];
            snprintf(what, sizeof what, "%s: %s turn %zu (shape %s)", db, sid.ptr, i + 1,
                     tu->shape);
            if (user.ptr) {
                if (count_role(tu->input, tu->first_new, tu->n_input, MS_ROLE_USER) != 1)
                    fail_msg("%s: %zu new user messages", what,
                             count_role(tu->input, tu->first_new, tu->n_input, MS_ROLE_USER));
                const ms_message *u =
                    first_role(tu->input, tu->first_new, tu->n_input, MS_ROLE_USER);
                tu_mem_eq(what, u->text.ptr, u->text.len, user.ptr, user.len);
            }
            if (reply.ptr) {
                if (tu->n_output != 1)
                    fail_msg("%s: %zu output messages", what, tu->n_output);
                tu_mem_eq(what, tu->output[0].text.ptr, tu->output[0].text.len, reply.ptr,
                          reply.len);
            }
            checked++;
        }
        ms_session_free(s);
    }
    assert_true(checked > 0);
    msx_json_parser_free(p);
    free(text);
    ms_store_close(st);
}

static void test_store_sessions(void **state)
{
    (void)state;
    check_store(FIX "sqlite/mlflow.db", FIX "sqlite/manifest.json");
    check_store(FIX "corpus/mlflow.db", FIX "corpus/manifest.json");
}

/* Turns of one fixture session, transcribed in order into out[]. */
static size_t fx_session(struct fx *f, const char *sid, msi_transcriber *tx, struct msx_arena *a,
                         ms_turn *out, size_t max)
{
    struct msx_json_iter it = msx_json_iter_init(msx_json_get(f->root, "sessions"));
    ms_str k;
    msx_json sess;
    while (msx_json_next(&it, &k, &sess)) {
        if (!msx_json_str_eq(msx_json_get(sess, "session_id"), sid))
            continue;
        struct msx_json_iter ti = msx_json_iter_init(msx_json_get(sess, "turns"));
        msx_json turn;
        size_t n = 0;
        while (n < max && msx_json_next(&ti, &k, &turn)) {
            memset(&out[n], 0, sizeof out[n]);
            out[n].index = (int64_t)n + 1;
            out[n].trace = fx_find(f, msx_json_str(msx_json_get(turn, "trace_id")).ptr);
            assert_non_null(out[n].trace);
            assert_int_equal(msi_transcribe_turn(tx, &out[n], a, NULL), MS_OK);
            n++;
        }
        return n;
    }
    fail_msg("no session %s in the manifest", sid);
    return 0;
}

static void test_history_detection(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    msi_transcriber *tx = msi_transcriber_new();
    struct msx_arena a;
    msx_arena_init(&a, 0);
    ms_turn t[40];

    /* sess-history-drop: full history until turn 4, dropped at turn 5 */
    size_t n = fx_session(&f, "sess-history-drop", tx, &a, t, 40);
    assert_int_equal(n, 8);
    assert_false(t[0].carries_history);
    assert_int_equal(t[0].first_new, 0);
    for (size_t i = 1; i < 4; i++) {
        assert_true(t[i].carries_history);
        assert_int_equal(t[i].first_new, 2 * i);
        assert_int_equal(t[i].n_input, 2 * i + 1);
    }
    assert_false(t[4].carries_history);
    assert_int_equal(t[4].first_new, 0);
    assert_int_equal(t[4].n_input, 1);
    assert_true(t[5].carries_history); /* builds again on turn 5 */
    assert_string_equal(t[0].shape, "messages");
    msi_transcriber_free(tx);

    /* sess-rag-outdated: the question only; documents and ranks */
    tx = msi_transcriber_new();
    n = fx_session(&f, "sess-rag-outdated", tx, &a, t, 40);
    assert_int_equal(n, 6);
    assert_false(t[2].carries_history);
    assert_int_equal(t[2].n_input, 1);
    assert_string_equal(t[2].shape, "dict");
    assert_true(t[2].n_docs >= 2);
    assert_int_equal(t[2].docs[0].rank, 1);
    assert_true(eq(t[2].docs[0].uri, "kb://policies/refunds-2024.md"));
    assert_true(eq(t[2].docs[0].id, "kb-101"));
    assert_true(t[2].docs[0].text.len > 0);
    assert_int_equal(t[2].docs[1].rank, 2);
    assert_int_equal(t[1].n_docs, 0); /* turn 2's retriever found nothing */
    msi_transcriber_free(tx);

    /* sess-openai: the client keeps the history; TOOL spans */
    tx = msi_transcriber_new();
    n = fx_session(&f, "sess-openai", tx, &a, t, 40);
    assert_int_equal(n, 4);
    assert_string_equal(t[0].shape, "openai.chat");
    assert_true(t[1].carries_history);
    assert_int_equal(t[1].first_new, 2);
    assert_true(t[1].n_tools >= 1);
    assert_true(eq(t[1].tools[0].name, "get_refund_policy"));
    assert_true(eq(t[1].tools[0].arguments, "{}"));
    assert_true(t[1].tools[0].span_id.len == 16);
    assert_non_null(strstr(t[1].tools[0].result.ptr, "14 days"));
    msi_transcriber_free(tx);

    /* sess-http-wrapper: the I/O is in the child of http_handler */
    tx = msi_transcriber_new();
    n = fx_session(&f, "sess-http-wrapper", tx, &a, t, 40);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(t[i].shape, "dict");
        const ms_span *root = NULL;
        for (size_t s = 0; s < t[i].trace->n_spans; s++)
            if (!t[i].trace->spans[s].parent_id[0])
                root = &t[i].trace->spans[s];
        assert_non_null(root);
        assert_false(eq(t[i].io_span_id, root->span_id));
    }
    msi_transcriber_free(tx);

    /* conv-7f3c2a9e: GenAI attributes with system instructions */
    tx = msi_transcriber_new();
    n = fx_session(&f, "conv-7f3c2a9e", tx, &a, t, 40);
    assert_int_equal(n, 3);
    assert_string_equal(t[0].shape, "gen_ai");
    assert_int_equal(t[0].io_source, MS_IO_ATTRS);
    assert_int_equal(t[0].input[0].role, MS_ROLE_SYSTEM);
    assert_int_equal(t[0].first_new, 0);
    assert_true(t[1].carries_history);
    assert_int_equal(t[1].first_new, 3); /* system, user 1, assistant 1 */
    msi_transcriber_free(tx);

    /* sess-crash: turn 3 has no root; the model span's input still lines up */
    tx = msi_transcriber_new();
    n = fx_session(&f, "sess-crash", tx, &a, t, 40);
    assert_int_equal(n, 3);
    assert_true(t[2].carries_history);
    assert_int_equal(t[2].input[0].role, MS_ROLE_SYSTEM);
    msi_transcriber_free(tx);

    /* sess-errors: a failed tool call at turn 4 */
    tx = msi_transcriber_new();
    n = fx_session(&f, "sess-errors", tx, &a, t, 40);
    assert_int_equal(n, 5);
    bool failed = false;
    for (size_t i = 0; i < t[3].n_tools; i++)
        if (t[3].tools[i].failed) {
            failed = true;
            assert_non_null(t[3].tools[i].error.ptr);
            assert_true(strncmp(t[3].tools[i].error.ptr, "InvalidAddressError: ", 21) == 0);
        }
    assert_true(failed);
    msi_transcriber_free(tx);

    msx_arena_release(&a);
    fx_close(&f);
}

/* ---- synthetic traces ----------------------------------------------- */

struct sspan {
    const char *id, *parent, *name, *type;
    const char *in, *out;      /* JSON values, NULL: absent */
    const char *attrs[12];     /* key, JSON value, ... */
    bool error;
    const char *exc_type, *exc_msg;
};

static void add_attr(struct msx_buf *b, bool *first, const char *k, const char *json)
{
    msx_buf_adds(b, *first ? "" : ",");
    *first = false;
    msx_buf_addc(b, '"');
    msx_json_escape(b, k, strlen(k), false);
    msx_buf_adds(b, "\":\"");
    msx_json_escape(b, json, strlen(json), false);
    msx_buf_addc(b, '"');
}

/* A `mlflow traces get` document (3.5.0 form: hex ids) of the spans. */
static ms_trace_set *mk_trace(const struct sspan *sp, size_t n, const char *req_preview,
                              const char *resp_preview, const char *state)
{
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_FILE);
    msx_buf_adds(&b, "{\"info\":{\"trace_id\":\"tr-00000000000000000000000000000001\","
                     "\"trace_location\":{\"type\":\"MLFLOW_EXPERIMENT\",\"mlflow_experiment\":"
                     "{\"experiment_id\":\"1\"}},\"request_time\":\"2026-01-15T09:00:00Z\",");
    msx_buf_addf(&b, "\"state\":\"%s\",\"trace_metadata\":{},\"tags\":{},", state);
    msx_buf_adds(&b, "\"request_preview\":\"");
    msx_json_escape(&b, req_preview, strlen(req_preview), false);
    msx_buf_adds(&b, "\",\"response_preview\":\"");
    msx_json_escape(&b, resp_preview, strlen(resp_preview), false);
    msx_buf_adds(&b, "\"},\"data\":{\"spans\":[");
    for (size_t i = 0; i < n; i++) {
        const struct sspan *s = &sp[i];
        msx_buf_addf(&b,
                     "%s{\"trace_id\":\"tr-00000000000000000000000000000001\",\"span_id\":\"%s\","
                     "\"parent_span_id\":%s%s%s,\"name\":\"%s\",\"start_time_unix_nano\":%zu,"
                     "\"end_time_unix_nano\":%zu,",
                     i ? "," : "", s->id, s->parent ? "\"" : "", s->parent ? s->parent : "null",
                     s->parent ? "\"" : "", s->name, 1000 + i, 2000 + i);
        if (s->exc_type)
            msx_buf_addf(&b,
                         "\"events\":[{\"name\":\"exception\",\"time_unix_nano\":1500,"
                         "\"attributes\":{\"exception.type\":\"%s\",\"exception.message\":\"%s\"}}],",
                         s->exc_type, s->exc_msg);
        else
            msx_buf_adds(&b, "\"events\":[],");
        msx_buf_addf(&b, "\"status\":{\"code\":\"%s\",\"message\":\"\"},\"attributes\":{",
                     s->error ? "STATUS_CODE_ERROR" : "STATUS_CODE_OK");
        bool first = true;
        char ty[64];
        snprintf(ty, sizeof ty, "\"%s\"", s->type ? s->type : "UNKNOWN");
        add_attr(&b, &first, "mlflow.spanType", ty);
        if (s->in)
            add_attr(&b, &first, "mlflow.spanInputs", s->in);
        if (s->out)
            add_attr(&b, &first, "mlflow.spanOutputs", s->out);
        for (size_t k = 0; k + 1 < 12 && s->attrs[k]; k += 2)
            add_attr(&b, &first, s->attrs[k], s->attrs[k + 1]);
        msx_buf_adds(&b, "},\"links\":[]}");
    }
    msx_buf_adds(&b, "]}}");
    assert_int_equal(msx_buf_status(&b), MS_OK);
    ms_trace_set *set = NULL;
    struct ms_error err;
    if (ms_trace_set_load_buffer(b.ptr, b.len, &set, &err) != MS_OK)
        fail_msg("synthetic trace: %s\n%s", err.msg, b.ptr);
    msx_buf_release(&b);
    return set;
}

struct one {
    ms_trace_set *set;
    msi_transcriber *tx;
    struct msx_arena a;
    ms_turn t;
};

static void one_run(struct one *o, const struct sspan *sp, size_t n, const char *rq,
                    const char *rs, const char *state)
{
    memset(o, 0, sizeof *o);
    o->set = mk_trace(sp, n, rq, rs, state);
    o->tx = msi_transcriber_new();
    msx_arena_init(&o->a, 0);
    o->t.index = 1;
    o->t.trace = ms_trace_set_at(o->set, 0);
    assert_int_equal(msi_transcribe_turn(o->tx, &o->t, &o->a, NULL), MS_OK);
}

static void one_free(struct one *o)
{
    ms_trace_set_free(o->set);
    msi_transcriber_free(o->tx);
    msx_arena_release(&o->a);
}

static void expect_io(const struct one *o, const char *shape, const char *user,
                      const char *answer)
{
    assert_string_equal(o->t.shape, shape);
    const ms_message *u = first_role(o->t.input, o->t.first_new, o->t.n_input, MS_ROLE_USER);
    if (user) {
        assert_non_null(u);
        tu_str_eq(shape, u->text.ptr, u->text.len, user);
    }
    if (answer) {
        assert_int_equal(o->t.n_output, 1);
        tu_str_eq(shape, o->t.output[0].text.ptr, o->t.output[0].text.len, answer);
        assert_int_equal(o->t.output[0].role, MS_ROLE_ASSISTANT);
    } else {
        assert_int_equal(o->t.n_output, 0);
    }
}

static void test_openai_responses(void **state)
{
    (void)state;
    struct sspan sp[] = {{
        .id = "0000000000000001", .name = "Responses", .type = "CHAT_MODEL",
        .in = "{\"model\":\"gpt-4.1\",\"instructions\":\"Be brief.\",\"input\":[{\"role\":\"user\","
              "\"content\":[{\"type\":\"input_text\",\"text\":\"Where is A-1?\"}]}]}",
        .out = "{\"id\":\"resp_1\",\"output\":[{\"type\":\"function_call\",\"name\":\"lookup\","
               "\"arguments\":\"{\\\"id\\\":\\\"A-1\\\"}\",\"call_id\":\"c1\"},{\"type\":\"message\","
               "\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"In "
               "transit.\"}]}],\"output_text\":\"In transit.\"}",
    }};
    struct one o;
    one_run(&o, sp, 1, "", "", "OK");
    expect_io(&o, "openai.responses", "Where is A-1?", "In transit.");
    assert_int_equal(o.t.input[0].role, MS_ROLE_SYSTEM);
    assert_true(eq(o.t.input[0].text, "Be brief."));
    assert_int_equal(o.t.n_tools, 1);
    assert_true(eq(o.t.tools[0].name, "lookup"));
    assert_true(eq(o.t.tools[0].arguments, "{\"id\":\"A-1\"}"));
    assert_int_equal(o.t.tools[0].span_id.len, 0);
    one_free(&o);

    /* a bare string input, output_text only */
    struct sspan sp2[] = {{.id = "0000000000000001", .name = "Responses", .type = "CHAT_MODEL",
                           .in = "{\"model\":\"m\",\"input\":\"Hi there\"}",
                           .out = "{\"output\":[],\"output_text\":\"Hello!\"}"}};
    one_run(&o, sp2, 1, "", "", "OK");
    expect_io(&o, "openai.responses", "Hi there", "Hello!");
    one_free(&o);
}

static void test_anthropic(void **state)
{
    (void)state;
    struct sspan sp[] = {{
        .id = "0000000000000001", .name = "Messages.create", .type = "CHAT_MODEL",
        .in = "{\"model\":\"claude\",\"system\":\"Be kind.\",\"max_tokens\":100,\"messages\":["
              "{\"role\":\"user\",\"content\":\"Hi\"},"
              "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Hello\"},"
              "{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"lookup\",\"input\":{\"id\":\"A-1\"}}]},"
              "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t1\","
              "\"content\":\"shipped\"}]},"
              "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Line one\"},"
              "{\"type\":\"text\",\"text\":\"line two\"}]}]}",
        .out = "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":["
               "{\"type\":\"text\",\"text\":\"It shipped.\"}],\"stop_reason\":\"end_turn\"}",
    }};
    struct one o;
    one_run(&o, sp, 1, "", "", "OK");
    assert_int_equal(o.t.n_input, 5);
    assert_int_equal(o.t.input[0].role, MS_ROLE_SYSTEM);
    assert_int_equal(o.t.input[3].role, MS_ROLE_TOOL);
    assert_true(eq(o.t.input[3].text, "shipped"));
    assert_true(eq(o.t.input[4].text, "Line one\nline two"));
    assert_string_equal(o.t.shape, "anthropic");
    assert_int_equal(o.t.n_output, 1);
    assert_true(eq(o.t.output[0].text, "It shipped."));
    one_free(&o);

    /* output with a tool_use block only: the call is recorded, no text */
    struct sspan sp2[] = {{
        .id = "0000000000000001", .name = "Messages.create", .type = "CHAT_MODEL",
        .in = "{\"model\":\"claude\",\"messages\":[{\"role\":\"user\",\"content\":\"Where?\"}]}",
        .out = "{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\","
               "\"id\":\"t1\",\"name\":\"lookup\",\"input\":{\"id\":\"A-2\"}}],\"stop_reason\":"
               "\"tool_use\"}",
    }};
    one_run(&o, sp2, 1, "", "", "OK");
    assert_string_equal(o.t.shape, "anthropic");
    assert_int_equal(o.t.n_output, 0);
    assert_int_equal(o.t.n_tools, 1);
    assert_true(eq(o.t.tools[0].name, "lookup"));
    assert_true(eq(o.t.tools[0].arguments, "{\"id\": \"A-2\"}")); /* Python spacing */
    one_free(&o);
}

static void test_langchain(void **state)
{
    (void)state;
    /* chat model: [[lc-serialized messages]] -> generations */
    struct sspan sp[] = {{
        .id = "0000000000000001", .name = "ChatOpenAI", .type = "CHAT_MODEL",
        .in = "[[{\"lc\":1,\"type\":\"constructor\",\"id\":[\"langchain\",\"schema\",\"messages\","
              "\"SystemMessage\"],\"kwargs\":{\"content\":\"Be brief.\"}},"
              "{\"lc\":1,\"type\":\"constructor\",\"id\":[\"langchain\",\"schema\",\"messages\","
              "\"HumanMessage\"],\"kwargs\":{\"content\":\"Where is A-1?\"}}]]",
        .out = "{\"generations\":[[{\"text\":\"In transit.\",\"message\":{\"lc\":1,\"type\":"
               "\"constructor\",\"id\":[\"langchain\",\"schema\",\"messages\",\"AIMessage\"],"
               "\"kwargs\":{\"content\":\"In transit.\"}}}]],\"llm_output\":null}",
    }};
    struct one o;
    one_run(&o, sp, 1, "", "", "OK");
    expect_io(&o, "langchain", "Where is A-1?", "In transit.");
    assert_int_equal(o.t.input[0].role, MS_ROLE_SYSTEM);
    one_free(&o);

    /* a chain: {"messages":[{type:human}]} -> {type:ai} */
    struct sspan sp2[] = {{
        .id = "0000000000000001", .name = "RunnableSequence", .type = "CHAIN",
        .in = "{\"messages\":[{\"type\":\"human\",\"content\":\"Hi\"},{\"type\":\"ai\",\"content\":"
              "\"Hello\"},{\"type\":\"human\",\"content\":\"Refund?\"}]}",
        .out = "{\"type\":\"ai\",\"content\":\"14 days.\",\"tool_calls\":[]}",
    }};
    one_run(&o, sp2, 1, "", "", "OK");
    assert_string_equal(o.t.shape, "langchain");
    assert_int_equal(o.t.n_input, 3);
    assert_int_equal(o.t.input[1].role, MS_ROLE_ASSISTANT);
    assert_int_equal(o.t.n_output, 1);
    assert_true(eq(o.t.output[0].text, "14 days."));
    one_free(&o);

    /* an LLM: {"prompts":[...]} -> generations text */
    struct sspan sp3[] = {{.id = "0000000000000001", .name = "OpenAI", .type = "LLM",
                           .in = "{\"prompts\":[\"Say hi\"]}",
                           .out = "{\"generations\":[[{\"text\":\"hi\"}]]}"}};
    one_run(&o, sp3, 1, "", "", "OK");
    expect_io(&o, "langchain", "Say hi", "hi");
    one_free(&o);
}

static void test_langgraph_gemini(void **state)
{
    (void)state;
    /* LangGraph: ("role", "text") tuples in, {"messages": [...]} out */
    struct sspan sp[] = {{
        .id = "0000000000000001", .name = "LangGraph", .type = "CHAIN",
        .in = "{\"messages\":[[\"system\",\"Be brief.\"],[\"user\",\"Where is A-1?\"]]}",
        .out = "{\"messages\":[{\"type\":\"human\",\"content\":\"Where is A-1?\"},"
               "{\"type\":\"ai\",\"content\":\"\",\"tool_calls\":[{\"name\":\"lookup\","
               "\"args\":{\"id\":\"A-1\"}}]},{\"type\":\"tool\",\"content\":\"shipped\"},"
               "{\"type\":\"ai\",\"content\":\"It shipped.\"}]}",
    }};
    struct one o;
    one_run(&o, sp, 1, "", "", "OK");
    expect_io(&o, "messages", "Where is A-1?", "It shipped.");
    assert_int_equal(o.t.n_input, 2);
    assert_int_equal(o.t.input[0].role, MS_ROLE_SYSTEM);
    one_free(&o);

    /* Gemini generateContent */
    struct sspan sp2[] = {{
        .id = "0000000000000001", .name = "generate_content", .type = "CHAT_MODEL",
        .in = "{\"model\":\"gemini\",\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":"
              "\"Hi\"},{\"text\":\"there\"}]}]}",
        .out = "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":"
               "\"Hello!\"},{\"functionCall\":{\"name\":\"f\",\"args\":{}}}]}}]}",
    }};
    one_run(&o, sp2, 1, "", "", "OK");
    expect_io(&o, "gemini", "Hi\nthere", "Hello!");
    assert_int_equal(o.t.n_tools, 1);
    assert_true(eq(o.t.tools[0].name, "f"));
    one_free(&o);
}

static void test_openinference(void **state)
{
    (void)state;
    struct sspan sp[] = {{
        .id = "0000000000000001", .name = "llm", .type = "LLM",
        .attrs = {"llm.input_messages.0.message.role", "\"system\"",
                  "llm.input_messages.0.message.content", "\"Be brief.\"",
                  "llm.input_messages.1.message.role", "\"user\"",
                  "llm.input_messages.1.message.content", "\"Where is A-1?\"",
                  "llm.output_messages.0.message.role", "\"assistant\"",
                  "llm.output_messages.0.message.content", "\"In transit.\""},
    }};
    struct one o;
    one_run(&o, sp, 1, "", "", "OK");
    expect_io(&o, "openinference", "Where is A-1?", "In transit.");
    assert_int_equal(o.t.io_source, MS_IO_ATTRS);
    assert_int_equal(o.t.n_input, 2);
    one_free(&o);

    /* input.value / output.value, plain strings (not JSON-encoded) */
    struct sspan sp2[] = {{.id = "0000000000000001", .name = "agent", .type = "AGENT",
                           .attrs = {"input.value", "\"What's up?\"", "output.value",
                                     "\"All good.\""}}};
    one_run(&o, sp2, 1, "", "", "OK");
    expect_io(&o, "openinference", "What's up?", "All good.");
    one_free(&o);
}

static void test_older_genai(void **state)
{
    (void)state;
    struct sspan sp[] = {{
        .id = "0000000000000001", .name = "chat", .type = "LLM",
        .attrs = {"gen_ai.prompt.0.role", "\"user\"", "gen_ai.prompt.0.content", "\"Hello?\"",
                  "gen_ai.completion.0.role", "\"assistant\"", "gen_ai.completion.0.content",
                  "\"Hi!\""},
    }};
    struct one o;
    one_run(&o, sp, 1, "", "", "OK");
    expect_io(&o, "gen_ai", "Hello?", "Hi!");
    one_free(&o);
}

static void test_previews_and_nothing(void **state)
{
    (void)state;
    /* no span I/O at all: the previews, marked truncated */
    struct sspan sp[] = {{.id = "0000000000000001", .name = "handler", .in = "{}",
                          .out = "{\"status\":200}"}};
    struct one o;
    one_run(&o, sp, 1, "{\"question\": \"How long do refunds ta", "{\"answer\": \"Within 14", "OK");
    assert_int_equal(o.t.io_source, MS_IO_PREVIEW);
    assert_string_equal(o.t.shape, "preview");
    assert_int_equal(o.t.n_input, 1);
    assert_true(o.t.input[0].truncated);
    assert_true(eq(o.t.input[0].text, "How long do refunds ta"));
    assert_int_equal(o.t.n_output, 1);
    assert_true(o.t.output[0].truncated);
    assert_true(eq(o.t.output[0].text, "Within 14"));
    one_free(&o);

    /* a message list cut short: the newest content; escapes undone */
    one_run(&o, sp, 1,
            "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": "
            "\"user\", \"content\": \"Say \\\"yes\\\"\\nplease",
            "not json at all", "OK");
    assert_int_equal(o.t.n_input, 1);
    assert_true(eq(o.t.input[0].text, "Say \"yes\"\nplease"));
    assert_true(eq(o.t.output[0].text, "not json at all"));
    one_free(&o);

    /* nothing anywhere */
    one_run(&o, sp, 1, "", "", "OK");
    assert_int_equal(o.t.io_source, MS_IO_NONE);
    assert_int_equal(o.t.n_input, 0);
    assert_int_equal(o.t.n_output, 0);
    assert_string_equal(o.t.shape, "none");
    one_free(&o);
}

static void test_wrapper_tools_errors(void **state)
{
    (void)state;
    struct sspan sp[] = {
        {.id = "0000000000000001", .name = "http", .in = "{}", .out = "{\"status\":500}",
         .error = true},
        {.id = "0000000000000002", .parent = "0000000000000001", .name = "auth",
         .in = "{\"token\":\"x\"}", .out = "true"},
        {.id = "0000000000000003", .parent = "0000000000000001", .name = "agent", .type = "AGENT",
         .in = "{\"question\":\"Change my address\"}", .error = true,
         .exc_type = "ValueError", .exc_msg = "bad"},
        {.id = "0000000000000004", .parent = "0000000000000003", .name = "update_address",
         .type = "TOOL", .in = "{\"id\":\"A-1\"}", .error = true,
         .exc_type = "InvalidAddressError", .exc_msg = "no such street"},
        {.id = "0000000000000005", .parent = "0000000000000003", .name = "search",
         .type = "RETRIEVER", .in = "{\"query\":\"x\"}",
         .out = "[{\"page_content\":\"doc one\",\"metadata\":{\"source\":\"s://1\"}},"
                "{\"page_content\":\"doc two\",\"metadata\":{\"doc_uri\":\"u://2\",\"chunk_id\":"
                "\"c2\"},\"id\":\"d2\"}]"},
    };
    struct one o;
    one_run(&o, sp, 5, "", "", "ERROR");
    expect_io(&o, "dict", "Change my address", NULL);
    assert_true(eq(o.t.io_span_id, "0000000000000003"));
    assert_int_equal(o.t.n_tools, 1);
    assert_true(o.t.tools[0].failed);
    assert_true(eq(o.t.tools[0].error, "InvalidAddressError: no such street"));
    assert_true(eq(o.t.tools[0].arguments, "{\"id\":\"A-1\"}"));
    assert_null(o.t.tools[0].result.ptr);
    assert_int_equal(o.t.n_docs, 2);
    assert_true(eq(o.t.docs[0].uri, "s://1"));
    assert_null(o.t.docs[0].id.ptr);
    assert_true(eq(o.t.docs[1].id, "d2"));
    assert_true(eq(o.t.docs[1].uri, "u://2"));
    assert_int_equal(o.t.docs[1].rank, 2);
    assert_true(eq(o.t.docs[1].span_id, "0000000000000005"));
    one_free(&o);
}

/* Two turns through one transcriber: history both ways. */
static void test_history_synthetic(void **state)
{
    (void)state;
    struct sspan t1[] = {{.id = "0000000000000001", .name = "chat",
                          .in = "{\"messages\":[{\"role\":\"system\",\"content\":\"S\"},"
                                "{\"role\":\"user\",\"content\":\"Hello\"}]}",
                          .out = "\"Hi\""}};
    /* a windowed client: only the last exchange plus the new message */
    struct sspan t2[] = {{.id = "0000000000000001", .name = "chat",
                          .in = "{\"messages\":[{\"role\":\"system\",\"content\":\"S\"},"
                                "{\"role\":\"assistant\",\"content\":\"Hi\"},"
                                "{\"role\":\"user\",\"content\":\"Hello\"}]}",
                          .out = "\"Again?\""}};
    /* the same text again, alone: new, not history */
    struct sspan t3[] = {{.id = "0000000000000001", .name = "chat",
                          .in = "{\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}",
                          .out = "\"Yes\""}};
    ms_trace_set *s1 = mk_trace(t1, 1, "", "", "OK"), *s2 = mk_trace(t2, 1, "", "", "OK"),
                 *s3 = mk_trace(t3, 1, "", "", "OK");
    msi_transcriber *tx = msi_transcriber_new();
    struct msx_arena a;
    msx_arena_init(&a, 0);
    ms_turn t[3];
    memset(t, 0, sizeof t);
    t[0].trace = ms_trace_set_at(s1, 0);
    t[1].trace = ms_trace_set_at(s2, 0);
    t[2].trace = ms_trace_set_at(s3, 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(msi_transcribe_turn(tx, &t[i], &a, NULL), MS_OK);
    assert_int_equal(t[0].first_new, 0);
    assert_true(t[1].carries_history);
    assert_int_equal(t[1].first_new, 2);
    assert_false(t[2].carries_history);
    assert_int_equal(t[2].first_new, 0);
    msi_transcriber_free(tx);
    msx_arena_release(&a);
    ms_trace_set_free(s1);
    ms_trace_set_free(s2);
    ms_trace_set_free(s3);
}

/* Odd content never fails and never invents messages. */
static void test_hostile(void **state)
{
    (void)state;
    static const char *const odd[][2] = {
        {"null", "null"},
        {"42", "[1,2,3]"},
        {"{\"messages\":\"nope\"}", "{\"choices\":[]}"},
        {"{\"messages\":[null,1,{\"role\":7},{\"role\":\"user\",\"content\":{\"x\":1}}]}",
         "{\"choices\":[{\"message\":null}]}"},
        {"[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]", "{\"output\":[{\"type\":\"message\"}]}"},
        {"{\"input\":{\"input\":{\"input\":{\"input\":{\"input\":\"deep\"}}}}}",
         "{\"generations\":[[]]}"},
        {"\"\\u001b]0;pwned\\u0007 hi\"", "{\"content\":[{\"type\":\"tool_use\"}]}"},
        {"{\"query\":\"\\ud800x\"}", "\"not closed"},
    };
    for (size_t i = 0; i < TU_COUNT(odd); i++) {
        struct sspan sp[] = {{.id = "0000000000000001", .name = "x", .type = "CHAT_MODEL",
                              .in = odd[i][0], .out = odd[i][1]}};
        struct one o;
        one_run(&o, sp, 1, "", "", "OK");
        for (size_t k = 0; k < o.t.n_input; k++)
            assert_non_null(o.t.input[k].text.ptr);
        one_free(&o);
    }
}

/* Every trace of every export and hostile fixture, through one
 * transcriber: never an error, every string readable. */
static void sweep_file(const char *path)
{
    ms_trace_set *set = NULL;
    struct ms_error err;
    if (ms_trace_set_load_file(path, &set, &err) != MS_OK)
        return; /* a file the loader refuses is its concern, not ours */
    msi_transcriber *tx = msi_transcriber_new();
    assert_non_null(tx);
    for (size_t i = 0; i < ms_trace_set_count(set); i++) {
        struct msx_arena a;
        msx_arena_init(&a, 0);
        ms_turn t;
        memset(&t, 0, sizeof t);
        t.index = (int64_t)i + 1;
        t.trace = ms_trace_set_at(set, i);
        assert_int_equal(msi_transcribe_turn(tx, &t, &a, &err), MS_OK);
        assert_non_null(t.shape);
        assert_true(t.first_new <= t.n_input);
        for (size_t k = 0; k < t.n_input; k++)
            assert_true(t.input[k].text.ptr != NULL);
        for (size_t k = 0; k < t.n_output; k++)
            assert_true(t.output[k].text.ptr != NULL);
        msx_arena_release(&a); /* the transcriber keeps what it needs */
    }
    msi_transcriber_free(tx);
    ms_trace_set_free(set);
}

static void test_sweep_fixtures(void **state)
{
    (void)state;
    static const char *const files[] = {
        "export/exp-0.json", "export/exp-1.json", "export/exp-2.json",
        "hostile/trace-deep-attribute-value.json", "hostile/trace-duplicate-keys.json",
        "hostile/trace-duplicate-trace.json", "hostile/trace-invalid-utf8-in-name.json",
        "hostile/trace-markup-and-ansi.json", "hostile/trace-nul-in-key-and-value.json",
        "hostile/trace-otlp-string-value-not-string.json", "hostile/trace-parent-not-an-id.json",
        "hostile/trace-request-time-far-future.json", "hostile/trace-span-not-object.json",
        "hostile/trace-times-as-floats.json", "hostile/trace-times-as-strings.json",
        "hostile/trace-times-int64-edges.json", "hostile/trace-unknown-span-form.json",
    };
    for (size_t i = 0; i < TU_COUNT(files); i++) {
        char path[512];
        snprintf(path, sizeof path, "%s%s", FIX, files[i]);
        sweep_file(path);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_sessions),
        cmocka_unit_test(test_history_detection),
        cmocka_unit_test(test_openai_responses),
        cmocka_unit_test(test_anthropic),
        cmocka_unit_test(test_langchain),
        cmocka_unit_test(test_langgraph_gemini),
        cmocka_unit_test(test_openinference),
        cmocka_unit_test(test_older_genai),
        cmocka_unit_test(test_previews_and_nothing),
        cmocka_unit_test(test_wrapper_tools_errors),
        cmocka_unit_test(test_history_synthetic),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_sweep_fixtures),
        cmocka_unit_test(test_store_sessions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
