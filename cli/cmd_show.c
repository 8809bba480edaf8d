/* SPDX-License-Identifier: MIT
 *
 * mlsession sessions show SESSION_ID / turn TRACE_ID: one conversation
 * turn by turn (who said what, tools, documents, assessments), streamed so
 * memory stays bounded however long the session; and one turn's span tree
 * with its exceptions. Text, JSON (docs/transcript.md) and Markdown.
 *
 * Trace text is untrusted: on a terminal every control character (ESC
 * included) is shown as a visible escape, invalid UTF-8 as U+FFFD.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "json/json.h"
#include "json/json_write.h"
#include "mlsession/session.h"
#include "mlsession/store.h"
#include "mlsession/trace.h"
#include "util/buf.h"
#include "util/timefmt.h"
#include "util/utf8.h"

enum fmt { F_TEXT, F_JSON, F_MD };

/* Abbreviation limits (bytes) without --full. */
#define CUT_MESSAGE 240
#define CUT_LINE 100
#define CUT_SPAN_IO 160
#define CUT_FRAMES 3

static void show_usage(FILE *out)
{
    fprintf(out,
            "usage: mlsession [--tracking-uri URI] sessions show SESSION_ID [options]\n"
            "\n"
            "One session turn by turn: time, gap since the previous turn, latency,\n"
            "tokens (in/out/cached), state, assessments, the user's new messages and\n"
            "the assistant's answer, tool calls and retrieved documents.\n"
            "\n"
            "  -x, --experiment-id ID   only this experiment (repeatable; default: all)\n"
            "  --experiment-name NAME   the same by name\n"
            "  --format FMT             text (default), json, md\n"
            "  --full                   whole texts (default: abbreviated, marked ...)\n");
}

static void turn_usage(FILE *out)
{
    fprintf(out,
            "usage: mlsession [--tracking-uri URI] turn TRACE_ID [options]\n"
            "\n"
            "One turn's span tree, in start order: type, name, duration, status,\n"
            "tokens, exceptions (type, message, innermost frames), inputs and outputs.\n"
            "\n"
            "  --format FMT             text (default), json\n"
            "  --full                   whole inputs/outputs and stack traces\n");
}

/* ---- escaping ---------------------------------------------------------- */

static void put_z(struct msx_buf *b, const char *z, size_t max, enum cli_esc mode)
{
    cli_put_text(b, (ms_str){z, z ? strlen(z) : 0}, max, mode, NULL);
}

/* Exact int64 arithmetic that saturates instead of overflowing: hostile
 * traces carry INT64_MIN/MAX times. */
static int64_t sat_sub(int64_t a, int64_t b)
{
    if (b < 0 && a > INT64_MAX + b)
        return INT64_MAX;
    if (b > 0 && a < INT64_MIN + b)
        return INT64_MIN;
    return a - b;
}

static int64_t ms_to_ns(int64_t ms)
{
    if (ms > INT64_MAX / 1000000)
        return INT64_MAX;
    if (ms < INT64_MIN / 1000000)
        return INT64_MIN;
    return ms * 1000000;
}

static void dur(struct msx_buf *b, int64_t ms)
{
    if (ms < 0) {
        msx_buf_adds(b, "-");
        return;
    }
    if (ms < 1000)
        msx_buf_addf(b, "%lldms", (long long)ms);
    else if (ms < 60000)
        msx_buf_addf(b, "%lld.%03llds", (long long)(ms / 1000), (long long)(ms % 1000));
    else if (ms < 3600000)
        msx_buf_addf(b, "%lldm%02llds", (long long)(ms / 60000), (long long)(ms % 60000 / 1000));
    else if (ms < 86400000)
        msx_buf_addf(b, "%lldh%02lldm%02llds", (long long)(ms / 3600000),
                     (long long)(ms % 3600000 / 60000), (long long)(ms % 60000 / 1000));
    else
        msx_buf_addf(b, "%lldd%02lldh%02lldm", (long long)(ms / 86400000),
                     (long long)(ms % 86400000 / 3600000), (long long)(ms % 3600000 / 60000));
}

static void gap_text(struct msx_buf *b, const ms_turn *t)
{
    if (t->index == 1)
        msx_buf_adds(b, "-");
    else if (t->gap_ms < 0) {
        msx_buf_adds(b, "overlap ");
        dur(b, sat_sub(0, t->gap_ms));
    } else
        dur(b, t->gap_ms);
}

static void tokens_text(struct msx_buf *b, const ms_token_usage *u)
{
    if (!u->present) {
        msx_buf_adds(b, "-");
        return;
    }
    if (u->present & MS_USAGE_INPUT)
        msx_buf_addf(b, "%lld", (long long)u->input_tokens);
    else
        msx_buf_adds(b, "-");
    if (u->present & MS_USAGE_OUTPUT)
        msx_buf_addf(b, "/%lld", (long long)u->output_tokens);
    else
        msx_buf_adds(b, "/-");
    if (u->present & MS_USAGE_CACHE_READ)
        msx_buf_addf(b, "/%lld", (long long)u->cache_read_input_tokens);
    else
        msx_buf_adds(b, "/-");
}

static const char *role_name(ms_role r)
{
    switch (r) {
    case MS_ROLE_SYSTEM:
        return "system";
    case MS_ROLE_USER:
        return "user";
    case MS_ROLE_ASSISTANT:
        return "assistant";
    case MS_ROLE_TOOL:
        return "tool";
    default:
        return "other";
    }
}

static const char *io_source_name(ms_io_source s)
{
    switch (s) {
    case MS_IO_SPAN:
        return "span";
    case MS_IO_ATTRS:
        return "attributes";
    case MS_IO_PREVIEW:
        return "preview";
    default:
        return "none";
    }
}

static int flush_buf(struct msx_buf *b)
{
    if (msx_buf_status(b) != MS_OK) {
        cli_error("out of memory");
        return EXIT_WORK;
    }
    if (b->len && fwrite(b->ptr, 1, b->len, stdout) != b->len) {
        cli_error("cannot write to standard output");
        return EXIT_WORK;
    }
    msx_buf_reset(b);
    return EXIT_OK;
}

/* An assessment's value for reading: a JSON string unquoted. */
static ms_str plain_value(ms_str v)
{
    if (v.len >= 2 && v.ptr[0] == '"' && v.ptr[v.len - 1] == '"' && !memchr(v.ptr + 1, '\\', v.len - 2))
        return (ms_str){v.ptr + 1, v.len - 2};
    return v;
}

/* ---- sessions show: text and Markdown ------------------------------------ */

static ms_str event_attr(const ms_event *e, const char *key);

/* Why a failed turn failed: the root span's exception ("Type: message"),
 * else its status message. */
static void failure_text(struct msx_buf *b, const ms_trace *t, bool md)
{
    for (size_t i = 0; i < t->n_spans; i++) {
        const ms_span *s = &t->spans[i];
        if (s->parent_id[0])
            continue;
        for (size_t k = 0; k < s->n_events; k++) {
            const ms_event *e = &s->events[k];
            if (!(e->name.len == 9 && memcmp(e->name.ptr, "exception", 9) == 0))
                continue;
            msx_buf_adds(b, ": ");
            cli_put_text(b, event_attr(e, "exception.type"), CUT_LINE, md ? CLI_ESC_MD : CLI_ESC_LINE, NULL);
            msx_buf_adds(b, ": ");
            cli_put_text(b, event_attr(e, "exception.message"), CUT_MESSAGE,
                     md ? CLI_ESC_MD : CLI_ESC_LINE, NULL);
            return;
        }
        if (s->status_message.len) {
            msx_buf_adds(b, ": ");
            cli_put_text(b, s->status_message, CUT_MESSAGE, md ? CLI_ESC_MD : CLI_ESC_LINE, NULL);
        }
        return;
    }
}

/* An expectation kept serialized ({"serialization_format": "JSON_FORMAT",
 * "value": "<json>"}): the JSON text inside, borrowed from p. */
static ms_str serialized_value(msx_json_parser *p, ms_str ser)
{
    msx_json v;
    if (!p || !ser.ptr || msx_json_parse(p, ser.ptr, ser.len, false, &v, NULL) != MS_OK)
        return ser;
    if (msx_json_type(msx_json_get(v, "serialization_format")) != MSX_JSON_STRING)
        return ser;
    ms_str inner = msx_json_str(msx_json_get(v, "value"));
    return inner.ptr ? inner : ser;
}

static void assessment_line(struct msx_buf *b, const ms_assessment *as, size_t max, bool md)
{
    enum cli_esc m = md ? CLI_ESC_MD : CLI_ESC_LINE;
    msx_buf_adds(b, md ? "- assessment " : "  assessment ");
    cli_put_text(b, as->name, CUT_LINE, m, NULL);
    if (as->has_error) {
        msx_buf_adds(b, ": scorer error");
        if (as->error_code.len) {
            msx_buf_adds(b, " ");
            cli_put_text(b, as->error_code, CUT_LINE, m, NULL);
        }
        if (as->error_message.len) {
            msx_buf_adds(b, ": ");
            cli_put_text(b, as->error_message, max, m, NULL);
        }
    } else {
        msx_buf_adds(b, "=");
        msx_json_parser *p = msx_json_parser_new();
        ms_str v = serialized_value(p, as->value_json.ptr ? as->value_json : as->serialized_json);
        cli_put_text(b, v.ptr ? plain_value(v) : (ms_str){"null", 4}, max, m, NULL);
        msx_json_parser_free(p);
    }
    msx_buf_adds(b, " (");
    cli_put_text(b, as->source_type.len ? as->source_type : (ms_str){"?", 1}, CUT_LINE, m, NULL);
    if (as->source_id.len) {
        msx_buf_adds(b, " ");
        cli_put_text(b, as->source_id, CUT_LINE, m, NULL);
    }
    msx_buf_adds(b, ")");
    if (as->span_id.len) {
        msx_buf_adds(b, " on span ");
        cli_put_text(b, as->span_id, CUT_LINE, m, NULL);
    }
    if (as->has_valid && !as->valid)
        msx_buf_adds(b, " [overridden]");
    if (as->rationale.len) {
        msx_buf_adds(b, md ? ": " : ": ");
        cli_put_text(b, as->rationale, max, m, NULL);
    }
    msx_buf_addc(b, '\n');
}

static void tool_line(struct msx_buf *b, const ms_tool_call *tc, size_t max, bool md)
{
    enum cli_esc m = md ? CLI_ESC_MD : CLI_ESC_LINE;
    msx_buf_adds(b, md ? "- tool " : "  tool ");
    cli_put_text(b, tc->name, CUT_LINE, m, NULL);
    msx_buf_adds(b, " ");
    cli_put_text(b, tc->arguments.ptr ? tc->arguments : (ms_str){"-", 1}, max, m, NULL);
    if (tc->failed) {
        msx_buf_adds(b, " FAILED");
        if (tc->error.len) {
            msx_buf_adds(b, ": ");
            cli_put_text(b, tc->error, max, m, NULL);
        }
    } else if (tc->result.ptr) {
        msx_buf_adds(b, " -> ");
        cli_put_text(b, tc->result, max, m, NULL);
    }
    msx_buf_addc(b, '\n');
}

static void doc_line(struct msx_buf *b, const ms_document *d, size_t max, bool md)
{
    enum cli_esc m = md ? CLI_ESC_MD : CLI_ESC_LINE;
    msx_buf_addf(b, md ? "- document %lld " : "  document %lld ", (long long)d->rank);
    if (d->id.len) {
        cli_put_text(b, d->id, CUT_LINE, m, NULL);
        msx_buf_adds(b, " ");
    }
    if (d->uri.len) {
        cli_put_text(b, d->uri, CUT_LINE, m, NULL);
        msx_buf_adds(b, " ");
    }
    msx_buf_adds(b, "\"");
    cli_put_text(b, d->text, max, m, NULL);
    msx_buf_adds(b, "\"\n");
}

static const struct cli_globals *G; /* colour: set by the commands */

static const char *st(enum cli_style s, bool md)
{
    return md ? "" : cli_style(G, s);
}

static void turn_text(struct msx_buf *b, const ms_turn *t, int64_t n_turns, bool full, bool md)
{
    const ms_trace_info *in = &t->trace->info;
    size_t max = full ? 0 : CUT_MESSAGE, lmax = full ? 0 : CUT_LINE;
    enum cli_esc m = md ? CLI_ESC_MD : CLI_ESC_TERM;
    if (md)
        msx_buf_addf(b, "\n## Turn %lld of %lld\n\n", (long long)t->index, (long long)n_turns);
    else
        msx_buf_addf(b, "\n%sturn %lld/%lld%s  ", st(CLI_BOLD, md), (long long)t->index,
                     (long long)n_turns, st(CLI_RESET, md));
    msx_rfc3339_format_ns(b, ms_to_ns(t->start_ms));
    msx_buf_adds(b, md ? " · gap " : "  gap ");
    gap_text(b, t);
    msx_buf_adds(b, md ? " · latency " : "  latency ");
    dur(b, t->latency_ms);
    msx_buf_adds(b, md ? " · tokens " : "  tokens ");
    tokens_text(b, &in->usage);
    msx_buf_adds(b, md ? " · " : "  ");
    enum cli_style sc = in->state == MS_STATE_ERROR         ? CLI_RED
                        : in->state == MS_STATE_IN_PROGRESS ? CLI_YELLOW
                                                            : CLI_GREEN;
    msx_buf_adds(b, st(sc, md));
    msx_buf_adds(b, ms_trace_state_name(in->state));
    msx_buf_adds(b, st(CLI_RESET, md));
    msx_buf_adds(b, md ? " · " : "  ");
    cli_put_text(b, in->trace_id, 0, md ? CLI_ESC_MD : CLI_ESC_LINE, NULL);
    msx_buf_adds(b, md ? "\n\n" : "\n");
    for (size_t i = 0; i < in->n_assessments; i++)
        assessment_line(b, &in->assessments[i], lmax, md);
    if (in->n_assessments && md)
        msx_buf_addc(b, '\n');
    if (t->io_source == MS_IO_PREVIEW)
        msx_buf_adds(b, md ? "*from the request/response previews, truncated by MLflow*\n\n"
                           : "  (from the request/response previews, truncated by MLflow)\n");
    if (t->carries_history && !md)
        msx_buf_addf(b, "  (input repeats %zu earlier message%s)\n", t->first_new,
                     t->first_new == 1 ? "" : "s");
    if (t->carries_history && md)
        msx_buf_addf(b, "*input repeats %zu earlier message%s*\n\n", t->first_new,
                     t->first_new == 1 ? "" : "s");
    for (size_t i = t->first_new; i < t->n_input; i++) {
        const ms_message *msg = &t->input[i];
        if (md) {
            msx_buf_addf(b, "> **%s:** ", role_name(msg->role));
            cli_put_text(b, msg->text, max, m, "> ");
            msx_buf_adds(b, "\n\n");
        } else {
            msx_buf_addf(b, "  %s%s:%s ", st(CLI_CYAN, md), role_name(msg->role),
                         st(CLI_RESET, md));
            cli_put_text(b, msg->text, max, m, "    ");
            msx_buf_addc(b, '\n');
        }
    }
    for (size_t i = 0; i < t->n_tools; i++)
        tool_line(b, &t->tools[i], lmax, md);
    for (size_t i = 0; i < t->n_docs; i++)
        doc_line(b, &t->docs[i], lmax, md);
    if ((t->n_tools || t->n_docs) && md)
        msx_buf_addc(b, '\n');
    for (size_t i = 0; i < t->n_output; i++) {
        const ms_message *msg = &t->output[i];
        if (md) {
            msx_buf_adds(b, "> **assistant:** ");
            cli_put_text(b, msg->text, max, m, "> ");
            msx_buf_adds(b, "\n\n");
        } else {
            msx_buf_addf(b, "  %sassistant:%s ", st(CLI_GREEN, md), st(CLI_RESET, md));
            cli_put_text(b, msg->text, max, m, "    ");
            msx_buf_addc(b, '\n');
        }
    }
    if (!t->n_output) {
        const char *why = in->state == MS_STATE_IN_PROGRESS ? "still running or never finished"
                          : in->state == MS_STATE_ERROR      ? "the turn failed"
                                                             : "none recorded";
        msx_buf_addf(b, md ? "*no answer: %s" : "  (no answer: %s", why);
        if (in->state == MS_STATE_ERROR)
            failure_text(b, t->trace, md);
        msx_buf_adds(b, md ? "*\n\n" : ")\n");
    } else if (in->state == MS_STATE_IN_PROGRESS) {
        msx_buf_adds(b, md ? "*the turn never finished: the user may not have seen this answer*\n\n"
                           : "  (the turn never finished: the user may not have seen this answer)\n");
    }
}

/* ---- sessions show: JSON ------------------------------------------------- */

static void jw_s(struct msx_jw *w, const char *k, ms_str s)
{
    msx_jw_keyz(w, k);
    if (s.ptr)
        msx_jw_str(w, s.ptr, s.len);
    else
        msx_jw_null(w);
}

static void jw_raw_json(struct msx_jw *w, msx_json_parser *p, ms_str s)
{
    msx_json v;
    if (s.ptr && msx_json_parse(p, s.ptr, s.len, false, &v, NULL) == MS_OK)
        msx_jw_value(w, v);
    else if (s.ptr)
        msx_jw_str(w, s.ptr, s.len);
    else
        msx_jw_null(w);
}

static void jw_tokens(struct msx_jw *w, const ms_token_usage *u)
{
    msx_jw_keyz(w, "tokens");
    if (!u->present) {
        msx_jw_null(w);
        return;
    }
    msx_jw_obj_begin(w);
    static const struct {
        const char *k;
        unsigned bit;
    } f[] = {{"input", MS_USAGE_INPUT},
             {"output", MS_USAGE_OUTPUT},
             {"cached", MS_USAGE_CACHE_READ},
             {"total", MS_USAGE_TOTAL}};
    for (size_t i = 0; i < 4; i++) {
        msx_jw_keyz(w, f[i].k);
        if (!(u->present & f[i].bit)) {
            msx_jw_null(w);
            continue;
        }
        int64_t v = i == 0   ? u->input_tokens
                    : i == 1 ? u->output_tokens
                    : i == 2 ? u->cache_read_input_tokens
                             : u->total_tokens;
        msx_jw_int(w, v);
    }
    msx_jw_obj_end(w);
}

static void jw_messages(struct msx_jw *w, const char *key, const ms_message *m, size_t n)
{
    msx_jw_keyz(w, key);
    msx_jw_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        msx_jw_obj_begin(w);
        msx_jw_keyz(w, "role");
        msx_jw_strz(w, role_name(m[i].role));
        jw_s(w, "text", m[i].text);
        if (m[i].name.ptr)
            jw_s(w, "name", m[i].name);
        if (m[i].truncated) {
            msx_jw_keyz(w, "truncated");
            msx_jw_bool(w, true);
        }
        msx_jw_obj_end(w);
    }
    msx_jw_arr_end(w);
}

static void turn_json(struct msx_jw *w, msx_json_parser *p, const ms_turn *t)
{
    const ms_trace_info *in = &t->trace->info;
    struct msx_buf tb;
    msx_jw_obj_begin(w);
    msx_jw_keyz(w, "index");
    msx_jw_int(w, t->index);
    jw_s(w, "trace_id", in->trace_id);
    msx_buf_init(&tb, MSX_CAP_LINE);
    msx_rfc3339_format_ns(&tb, ms_to_ns(t->start_ms));
    msx_jw_keyz(w, "start_time");
    msx_jw_str(w, tb.ptr ? tb.ptr : "", tb.len);
    msx_buf_release(&tb);
    msx_jw_keyz(w, "gap_ms");
    if (t->index == 1)
        msx_jw_null(w);
    else
        msx_jw_int(w, t->gap_ms);
    msx_jw_keyz(w, "latency_ms");
    if (t->latency_ms < 0)
        msx_jw_null(w);
    else
        msx_jw_int(w, t->latency_ms);
    msx_jw_keyz(w, "state");
    msx_jw_strz(w, ms_trace_state_name(in->state));
    jw_tokens(w, &in->usage);
    msx_jw_keyz(w, "assessments");
    msx_jw_arr_begin(w);
    for (size_t i = 0; i < in->n_assessments; i++) {
        const ms_assessment *as = &in->assessments[i];
        msx_jw_obj_begin(w);
        jw_s(w, "name", as->name);
        msx_jw_keyz(w, "kind");
        msx_jw_strz(w, as->is_expectation ? "expectation" : "feedback");
        msx_jw_keyz(w, "value");
        msx_json_parser *q = msx_json_parser_new();
        jw_raw_json(w, p,
                    serialized_value(q, as->value_json.ptr ? as->value_json : as->serialized_json));
        msx_json_parser_free(q);
        jw_s(w, "source_type", as->source_type);
        jw_s(w, "source_id", as->source_id);
        jw_s(w, "rationale", as->rationale.len ? as->rationale : (ms_str){NULL, 0});
        jw_s(w, "span_id", as->span_id.len ? as->span_id : (ms_str){NULL, 0});
        msx_jw_keyz(w, "valid");
        msx_jw_bool(w, !as->has_valid || as->valid);
        msx_jw_keyz(w, "error");
        if (as->has_error) {
            msx_jw_obj_begin(w);
            jw_s(w, "code", as->error_code);
            jw_s(w, "message", as->error_message);
            msx_jw_obj_end(w);
        } else {
            msx_jw_null(w);
        }
        msx_jw_obj_end(w);
    }
    msx_jw_arr_end(w);
    jw_messages(w, "input", t->input, t->n_input);
    msx_jw_keyz(w, "new_from");
    msx_jw_uint(w, t->first_new);
    msx_jw_keyz(w, "carries_history");
    msx_jw_bool(w, t->carries_history);
    jw_messages(w, "output", t->output, t->n_output);
    msx_jw_keyz(w, "tools");
    msx_jw_arr_begin(w);
    for (size_t i = 0; i < t->n_tools; i++) {
        const ms_tool_call *tc = &t->tools[i];
        msx_jw_obj_begin(w);
        jw_s(w, "name", tc->name);
        jw_s(w, "arguments", tc->arguments);
        jw_s(w, "result", tc->result);
        jw_s(w, "span_id", tc->span_id.len ? tc->span_id : (ms_str){NULL, 0});
        msx_jw_keyz(w, "failed");
        msx_jw_bool(w, tc->failed);
        jw_s(w, "error", tc->error.len ? tc->error : (ms_str){NULL, 0});
        msx_jw_obj_end(w);
    }
    msx_jw_arr_end(w);
    msx_jw_keyz(w, "documents");
    msx_jw_arr_begin(w);
    for (size_t i = 0; i < t->n_docs; i++) {
        const ms_document *d = &t->docs[i];
        msx_jw_obj_begin(w);
        msx_jw_keyz(w, "rank");
        msx_jw_int(w, d->rank);
        jw_s(w, "id", d->id);
        jw_s(w, "uri", d->uri);
        jw_s(w, "text", d->text);
        jw_s(w, "span_id", d->span_id);
        msx_jw_obj_end(w);
    }
    msx_jw_arr_end(w);
    msx_jw_keyz(w, "io_source");
    msx_jw_strz(w, io_source_name(t->io_source));
    jw_s(w, "io_span_id", t->io_span_id.len ? t->io_span_id : (ms_str){NULL, 0});
    msx_jw_keyz(w, "shape");
    msx_jw_strz(w, t->shape ? t->shape : "none");
    msx_jw_obj_end(w);
}

/* ---- sessions show -------------------------------------------------------- */

static bool parse_format(const char *cmd, const char *v, bool allow_md, enum fmt *f)
{
    if (strcmp(v, "text") == 0)
        *f = F_TEXT;
    else if (strcmp(v, "json") == 0)
        *f = F_JSON;
    else if (allow_md && strcmp(v, "md") == 0)
        *f = F_MD;
    else {
        cli_error("%s: unknown --format '%s' (text, json%s)", cmd, v, allow_md ? ", md" : "");
        return false;
    }
    return true;
}

int cmd_sessions_show(struct cli_globals *g, int argc, char **argv)
{
    G = g;
    struct cli_experiments x;
    memset(&x, 0, sizeof x);
    enum fmt fmt = F_TEXT;
    bool full = false;
    const char *sid = NULL;
    int rc = EXIT_OK;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is_help(a)) {
            show_usage(stdout);
            return EXIT_OK;
        }
        if (cli_experiment_option(&x, argc, argv, &i, &rc)) {
            if (rc != EXIT_OK)
                return rc;
        } else if (cli_opt_value(argc, argv, &i, "--format", &v)) {
            if (!parse_format("sessions show", v, true, &fmt))
                return EXIT_USAGE;
        } else if (strcmp(a, "--json") == 0) {
            fmt = F_JSON;
        } else if (strcmp(a, "--full") == 0) {
            full = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            cli_error("sessions show: unknown argument '%s' (see 'mlsession sessions show --help')",
                      a);
            return EXIT_USAGE;
        } else if (!sid) {
            sid = a;
        } else {
            cli_error("sessions show: one session at a time ('%s' and '%s')", sid, a);
            return EXIT_USAGE;
        }
    }
    if (!sid) {
        cli_error("sessions show: which session? (mlsession sessions show SESSION_ID)");
        return EXIT_USAGE;
    }
    ms_store *store = cli_open_store(g);
    if (!store)
        return EXIT_USAGE;
    if (!cli_resolve_experiments(store, &x)) {
        ms_store_close(store);
        return EXIT_USAGE;
    }
    struct ms_error err = {0};
    ms_session_iter *it = NULL;
    if (ms_session_iter_open(store, x.n ? x.ptrs : NULL, x.n, sid, &it, &err) != MS_OK) {
        if (err.code == MS_E_NOTFOUND) {
            struct msx_buf b;
            msx_buf_init(&b, MSX_CAP_LINE);
            put_z(&b, sid, 200, CLI_ESC_LINE);
            msx_buf_addc(&b, 0);
            cli_error("sessions show: no session '%s'", b.ptr ? b.ptr : "");
            msx_buf_release(&b);
            rc = EXIT_USAGE;
        } else {
            cli_store_error(g, &err);
            rc = EXIT_WORK;
        }
        ms_store_close(store);
        return rc;
    }
    int64_t n_turns = ms_session_iter_turns(it);
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_OUTPUT);
    struct msx_jw w;
    msx_jw_init(&w, &b, MSX_JW_PRETTY);
    msx_json_parser *p = fmt == F_JSON ? msx_json_parser_new() : NULL;
    if (fmt == F_JSON && !p) {
        cli_error("sessions show: out of memory");
        rc = EXIT_WORK;
        goto out;
    }
    for (;;) {
        const ms_turn *t = NULL;
        if (ms_session_iter_next(it, &t, &err) != MS_OK) {
            if (fmt == F_JSON)
                msx_buf_reset(&b); /* no half document on stdout beyond what went out */
            flush_buf(&b);
            cli_store_error(g, &err);
            rc = EXIT_WORK;
            break;
        }
        if (t && t->index == 1) { /* the header, once the first turn names the user */
            ms_str user = ms_trace_user_id(t->trace);
            ms_str sess = {sid, strlen(sid)};
            if (fmt == F_JSON) {
                msx_jw_obj_begin(&w);
                msx_jw_keyz(&w, "schema_version");
                msx_jw_int(&w, 1);
                jw_s(&w, "session_id", sess);
                jw_s(&w, "user_id", user.len ? user : (ms_str){NULL, 0});
                msx_jw_keyz(&w, "n_turns");
                msx_jw_int(&w, n_turns);
                msx_jw_keyz(&w, "turns");
                msx_jw_arr_begin(&w);
            } else if (fmt == F_MD) {
                msx_buf_adds(&b, "# Session ");
                cli_put_text(&b, sess, 0, CLI_ESC_MD, NULL);
                msx_buf_adds(&b, "\n\nuser ");
                cli_put_text(&b, user.len ? user : (ms_str){"-", 1}, 0, CLI_ESC_MD, NULL);
                msx_buf_addf(&b, " · %lld turn%s\n", (long long)n_turns, n_turns == 1 ? "" : "s");
            } else {
                msx_buf_adds(&b, "session ");
                cli_put_text(&b, sess, 0, CLI_ESC_LINE, NULL);
                msx_buf_adds(&b, "  user ");
                cli_put_text(&b, user.len ? user : (ms_str){"-", 1}, 0, CLI_ESC_LINE, NULL);
                msx_buf_addf(&b, "  %lld turn%s\n", (long long)n_turns, n_turns == 1 ? "" : "s");
            }
        }
        if (!t)
            break;
        if (fmt == F_JSON)
            turn_json(&w, p, t);
        else
            turn_text(&b, t, n_turns, full, fmt == F_MD);
        if ((rc = flush_buf(&b)) != EXIT_OK)
            break;
    }
    if (rc == EXIT_OK && fmt == F_JSON) {
        msx_jw_arr_end(&w);
        msx_jw_obj_end(&w);
        msx_buf_addc(&b, '\n');
    }
    if (rc == EXIT_OK)
        rc = flush_buf(&b);
out:
    msx_json_parser_free(p);
    msx_buf_release(&b);
    ms_session_iter_close(it);
    ms_store_close(store);
    if (fflush(stdout) != 0) {
        cli_error("sessions show: cannot write the output");
        return EXIT_WORK;
    }
    return rc;
}

/* ---- turn: the span tree ------------------------------------------------- */

struct node {
    size_t span;
    int depth;
};

/* Spans keyed by an id (their own or their parent's), for binary search. */
/* The span tree of ms_trace_span_order() as nodes. */
static struct node *span_tree(const ms_trace *t, size_t *n_out)
{
    size_t *order = NULL, n = 0;
    int *depth = NULL;
    if (ms_trace_span_order(t, &order, &depth, &n) != MS_OK)
        return NULL;
    struct node *out = malloc((n ? n : 1) * sizeof *out);
    for (size_t k = 0; out && k < n; k++) {
        out[k].span = order[k];
        out[k].depth = depth[k];
    }
    free(order);
    free(depth);
    *n_out = n;
    return out;
}

static ms_str event_attr(const ms_event *e, const char *key)
{
    for (size_t i = 0; i < e->n_attrs; i++)
        if (e->attrs[i].key.len == strlen(key) && memcmp(e->attrs[i].key.ptr, key, e->attrs[i].key.len) == 0)
            return e->attrs[i].value;
    return (ms_str){NULL, 0};
}

/* The last max lines of a Python traceback that name a frame
 * ('File "...", line N, in f'), trimmed; all when max is 0. */
static size_t frames(ms_str st, ms_str *out, size_t max)
{
    size_t n = 0, cap = 64;
    ms_str ring[64];
    size_t i = 0;
    while (i < st.len) {
        size_t j = i;
        while (j < st.len && st.ptr[j] != '\n')
            j++;
        size_t a = i;
        while (a < j && (st.ptr[a] == ' ' || st.ptr[a] == '\t'))
            a++;
        if (j - a > 6 && memcmp(st.ptr + a, "File \"", 6) == 0) {
            ring[n % cap] = (ms_str){st.ptr + a, j - a};
            n++;
        }
        i = j + 1;
    }
    size_t keep = max && n > max ? max : n;
    if (keep > cap)
        keep = cap;
    for (size_t q = 0; q < keep; q++)
        out[q] = ring[(n - keep + q) % cap];
    return keep;
}

static ms_str span_io(const ms_span *s, bool output, char **owned)
{
    static const char *const in_keys[] = {"mlflow.spanInputs", "gen_ai.input.messages",
                                          "input.value"};
    static const char *const out_keys[] = {"mlflow.spanOutputs", "gen_ai.output.messages",
                                           "output.value"};
    *owned = NULL;
    for (size_t i = 0; i < 3; i++) {
        const ms_attr *a = ms_span_attr(s, output ? out_keys[i] : in_keys[i]);
        if (!a)
            continue;
        char *txt = NULL;
        size_t len = 0;
        bool is_json;
        if (ms_attr_decode(a, &txt, &len, &is_json) != MS_OK)
            return a->value;
        *owned = txt;
        return (ms_str){txt, len};
    }
    return (ms_str){NULL, 0};
}

static const char *status_name(ms_status_code c)
{
    return c == MS_STATUS_OK ? "OK" : c == MS_STATUS_ERROR ? "ERROR" : "UNSET";
}

static void span_text(struct msx_buf *b, const ms_span *s, int depth, bool full)
{
    char ind[96];
    int d = depth > 40 ? 40 : depth;
    memset(ind, ' ', (size_t)d * 2);
    ind[d * 2] = '\0';
    msx_buf_adds(b, ind);
    cli_put_text(b, s->span_type.len ? s->span_type : (ms_str){"UNKNOWN", 7}, CUT_LINE, CLI_ESC_LINE,
             NULL);
    msx_buf_adds(b, " ");
    cli_put_text(b, s->name, full ? 0 : CUT_LINE, CLI_ESC_LINE, NULL);
    msx_buf_adds(b, "  ");
    if (s->has_end)
        dur(b, sat_sub(s->end_ns, s->start_ns) / 1000000);
    else
        msx_buf_adds(b, "running");
    msx_buf_addf(b, "  %s", status_name(s->status));
    if (s->usage.present) {
        msx_buf_adds(b, "  tokens ");
        tokens_text(b, &s->usage);
    }
    msx_buf_addf(b, "  %s\n", s->span_id);
    for (size_t i = 0; i < s->n_events; i++) {
        const ms_event *e = &s->events[i];
        if (!(e->name.len == 9 && memcmp(e->name.ptr, "exception", 9) == 0))
            continue;
        msx_buf_addf(b, "%s  exception ", ind);
        cli_put_text(b, event_attr(e, "exception.type"), CUT_LINE, CLI_ESC_LINE, NULL);
        msx_buf_adds(b, ": ");
        cli_put_text(b, event_attr(e, "exception.message"), full ? 0 : CUT_SPAN_IO, CLI_ESC_LINE,
                 NULL);
        msx_buf_addc(b, '\n');
        ms_str fr[64];
        size_t nf = frames(event_attr(e, "exception.stacktrace"), fr, full ? 0 : CUT_FRAMES);
        for (size_t q = 0; q < nf; q++) {
            msx_buf_addf(b, "%s    ", ind);
            cli_put_text(b, fr[q], 0, CLI_ESC_LINE, NULL);
            msx_buf_addc(b, '\n');
        }
    }
    if (s->status == MS_STATUS_ERROR && s->status_message.len && !s->n_events) {
        msx_buf_addf(b, "%s  status: ", ind);
        cli_put_text(b, s->status_message, full ? 0 : CUT_SPAN_IO, CLI_ESC_LINE, NULL);
        msx_buf_addc(b, '\n');
    }
    for (int o = 0; o < 2; o++) {
        char *owned;
        ms_str v = span_io(s, o == 1, &owned);
        if (v.ptr) {
            msx_buf_addf(b, "%s  %s ", ind, o ? "out:" : "in: ");
            cli_put_text(b, v, full ? 0 : CUT_SPAN_IO, CLI_ESC_LINE, NULL);
            msx_buf_addc(b, '\n');
        }
        free(owned);
    }
}

static void span_json(struct msx_jw *w, const ms_span *s, int depth)
{
    msx_jw_obj_begin(w);
    msx_jw_keyz(w, "span_id");
    msx_jw_strz(w, s->span_id);
    msx_jw_keyz(w, "parent_id");
    if (s->parent_id[0])
        msx_jw_strz(w, s->parent_id);
    else
        msx_jw_null(w);
    msx_jw_keyz(w, "depth");
    msx_jw_int(w, depth);
    jw_s(w, "name", s->name);
    jw_s(w, "type", s->span_type);
    struct msx_buf tb;
    msx_buf_init(&tb, MSX_CAP_LINE);
    msx_rfc3339_format_ns(&tb, s->start_ns);
    msx_jw_keyz(w, "start_time");
    msx_jw_str(w, tb.ptr ? tb.ptr : "", tb.len);
    msx_buf_release(&tb);
    msx_jw_keyz(w, "duration_ns");
    if (s->has_end)
        msx_jw_int(w, sat_sub(s->end_ns, s->start_ns));
    else
        msx_jw_null(w);
    msx_jw_keyz(w, "status");
    msx_jw_strz(w, status_name(s->status));
    jw_s(w, "status_message", s->status_message.len ? s->status_message : (ms_str){NULL, 0});
    jw_tokens(w, &s->usage);
    msx_jw_keyz(w, "exceptions");
    msx_jw_arr_begin(w);
    for (size_t i = 0; i < s->n_events; i++) {
        const ms_event *e = &s->events[i];
        if (!(e->name.len == 9 && memcmp(e->name.ptr, "exception", 9) == 0))
            continue;
        msx_jw_obj_begin(w);
        jw_s(w, "type", event_attr(e, "exception.type"));
        jw_s(w, "message", event_attr(e, "exception.message"));
        msx_jw_keyz(w, "frames");
        msx_jw_arr_begin(w);
        ms_str fr[64];
        size_t nf = frames(event_attr(e, "exception.stacktrace"), fr, CUT_FRAMES);
        for (size_t q = 0; q < nf; q++)
            msx_jw_str(w, fr[q].ptr, fr[q].len);
        msx_jw_arr_end(w);
        jw_s(w, "stacktrace", event_attr(e, "exception.stacktrace"));
        msx_jw_obj_end(w);
    }
    msx_jw_arr_end(w);
    for (int o = 0; o < 2; o++) {
        char *owned;
        ms_str v = span_io(s, o == 1, &owned);
        jw_s(w, o ? "outputs" : "inputs", v);
        free(owned);
    }
    msx_jw_obj_end(w);
}

int cmd_turn(struct cli_globals *g, int argc, char **argv)
{
    enum fmt fmt = F_TEXT;
    bool full = false;
    const char *tid = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is_help(a)) {
            turn_usage(stdout);
            return EXIT_OK;
        }
        if (cli_opt_value(argc, argv, &i, "--format", &v)) {
            if (!parse_format("turn", v, false, &fmt))
                return EXIT_USAGE;
        } else if (strcmp(a, "--json") == 0) {
            fmt = F_JSON;
        } else if (strcmp(a, "--full") == 0) {
            full = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            cli_error("turn: unknown argument '%s' (see 'mlsession turn --help')", a);
            return EXIT_USAGE;
        } else if (!tid) {
            tid = a;
        } else {
            cli_error("turn: one trace at a time ('%s' and '%s')", tid, a);
            return EXIT_USAGE;
        }
    }
    if (!tid) {
        cli_error("turn: which trace? (mlsession turn TRACE_ID)");
        return EXIT_USAGE;
    }
    ms_store *store = cli_open_store(g);
    if (!store)
        return EXIT_USAGE;
    struct ms_error err = {0};
    ms_trace_set *set = NULL;
    int rc = EXIT_OK;
    if (ms_store_get_trace(store, tid, &set, &err) != MS_OK || ms_trace_set_count(set) == 0) {
        if (err.code == MS_E_NOTFOUND || (set && ms_trace_set_count(set) == 0)) {
            struct msx_buf e;
            msx_buf_init(&e, MSX_CAP_LINE);
            put_z(&e, tid, 200, CLI_ESC_LINE);
            msx_buf_addc(&e, 0);
            cli_error("turn: no trace '%s'", e.ptr ? e.ptr : "");
            msx_buf_release(&e);
            rc = EXIT_USAGE;
        } else {
            cli_store_error(g, &err);
            rc = EXIT_WORK;
        }
        ms_trace_set_free(set);
        ms_store_close(store);
        return rc;
    }
    const ms_trace *t = ms_trace_set_at(set, 0);
    size_t n = 0;
    struct node *tree = span_tree(t, &n);
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_OUTPUT);
    if (!tree) {
        cli_error("turn: out of memory");
        rc = EXIT_WORK;
        goto out;
    }
    const ms_trace_info *in = &t->info;
    if (fmt == F_JSON) {
        struct msx_jw w;
        msx_jw_init(&w, &b, MSX_JW_PRETTY);
        msx_jw_obj_begin(&w);
        msx_jw_keyz(&w, "schema_version");
        msx_jw_int(&w, 1);
        jw_s(&w, "trace_id", in->trace_id);
        msx_jw_keyz(&w, "state");
        msx_jw_strz(&w, ms_trace_state_name(in->state));
        struct msx_buf tb;
        msx_buf_init(&tb, MSX_CAP_LINE);
        msx_rfc3339_format_ns(&tb, ms_to_ns(in->request_time_ms));
        msx_jw_keyz(&w, "request_time");
        msx_jw_str(&w, tb.ptr ? tb.ptr : "", tb.len);
        msx_buf_release(&tb);
        msx_jw_keyz(&w, "latency_ms");
        if (in->has_execution_duration)
            msx_jw_int(&w, in->execution_duration_ms);
        else
            msx_jw_null(&w);
        jw_tokens(&w, &in->usage);
        ms_str sess = ms_trace_session_id(t, NULL, NULL);
        jw_s(&w, "session_id", sess.len ? sess : (ms_str){NULL, 0});
        msx_jw_keyz(&w, "spans");
        msx_jw_arr_begin(&w);
        for (size_t i = 0; i < n; i++)
            span_json(&w, &t->spans[tree[i].span], tree[i].depth);
        msx_jw_arr_end(&w);
        msx_jw_obj_end(&w);
        msx_buf_addc(&b, '\n');
    } else {
        msx_buf_adds(&b, "trace ");
        cli_put_text(&b, in->trace_id, 0, CLI_ESC_LINE, NULL);
        msx_buf_addf(&b, "  %s  ", ms_trace_state_name(in->state));
        msx_rfc3339_format_ns(&b, ms_to_ns(in->request_time_ms));
        msx_buf_adds(&b, "  latency ");
        dur(&b, in->has_execution_duration ? in->execution_duration_ms : -1);
        msx_buf_adds(&b, "  tokens ");
        tokens_text(&b, &in->usage);
        ms_str sess = ms_trace_session_id(t, NULL, NULL);
        if (sess.len) {
            msx_buf_adds(&b, "  session ");
            cli_put_text(&b, sess, CUT_LINE, CLI_ESC_LINE, NULL);
        }
        msx_buf_addf(&b, "\n%zu span%s\n\n", t->n_spans, t->n_spans == 1 ? "" : "s");
        for (size_t i = 0; i < n; i++) {
            span_text(&b, &t->spans[tree[i].span], tree[i].depth, full);
            if (b.len > ((size_t)1 << 20) && flush_buf(&b) != EXIT_OK) {
                rc = EXIT_WORK;
                goto out;
            }
        }
    }
    rc = flush_buf(&b);
out:
    free(tree);
    msx_buf_release(&b);
    ms_trace_set_free(set);
    ms_store_close(store);
    if (fflush(stdout) != 0) {
        cli_error("turn: cannot write the output");
        return EXIT_WORK;
    }
    return rc;
}
