/* SPDX-License-Identifier: MIT
 *
 * mlsession mcp: a Model Context Protocol server on stdio. One JSON-RPC 2.0
 * message per line in, one per line out; diagnostics never go to stdout.
 * Protocol errors (unparsable JSON, an invalid request, an unknown method
 * or tool) are JSON-RPC errors; a tool that cannot answer (bad arguments,
 * an unknown session) returns a result with isError, so the model can
 * correct itself. The server keeps serving after every error. The tools
 * themselves are in mcp_tools.c.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/mcp.h"
#include "json/json.h"
#include "json/json_write.h"
#include "util/buf.h"

/* Protocol revisions we speak, newest first. */
static const char *const VERSIONS[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};

#define MAX_LINE ((size_t)64 << 20) /* one request; more is refused */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mlsession [--tracking-uri URI] mcp [-x ID]...\n"
            "\n"
            "Serves the store to AI agents over the Model Context Protocol: JSON-RPC\n"
            "2.0 on stdin/stdout, one message per line (the MCP stdio transport).\n"
            "Tools: list_sessions, get_session, analyze_session, find_root_cause,\n"
            "failure_by_turn, context_growth, search_traces, get_trace.\n"
            "\n"
            "Register it with an agent client, e.g. in its mcpServers configuration:\n"
            "  {\"command\": \"mlsession\",\n"
            "   \"args\": [\"--tracking-uri\", \"/path/to/mlflow.db\", \"mcp\"]}\n"
            "\n"
            "Options:\n"
            "  -x, --experiment-id ID   only this experiment (repeatable; default: all)\n"
            "  --experiment-name NAME   the same by name\n");
}

static void send_line(struct msx_buf *b)
{
    msx_buf_addc(b, '\n');
    if (msx_buf_status(b) == MS_OK)
        fwrite(b->ptr, 1, b->len, stdout);
    fflush(stdout);
}

/* Writes "id" as it came (number or string), or null. */
static void write_id(struct msx_jw *w, msx_json id)
{
    msx_jw_keyz(w, "id");
    if (msx_json_ok(id) && !msx_json_is_null_or_none(id))
        msx_jw_value(w, id);
    else
        msx_jw_null(w);
}

static void send_error(msx_json id, int code, const char *msg, const char *data)
{
    struct msx_buf b;
    struct msx_jw w;
    msx_buf_init(&b, MSX_CAP_OUTPUT);
    msx_jw_init(&w, &b, 0);
    msx_jw_obj_begin(&w);
    msx_jw_keyz(&w, "jsonrpc");
    msx_jw_strz(&w, "2.0");
    write_id(&w, id);
    msx_jw_keyz(&w, "error");
    msx_jw_obj_begin(&w);
    msx_jw_keyz(&w, "code");
    msx_jw_int(&w, code);
    msx_jw_keyz(&w, "message");
    msx_jw_strz(&w, msg);
    if (data) {
        msx_jw_keyz(&w, "data");
        msx_jw_strz(&w, data);
    }
    msx_jw_obj_end(&w);
    msx_jw_obj_end(&w);
    send_line(&b);
    msx_buf_release(&b);
}

/* Starts {"jsonrpc":"2.0","id":..,"result": and leaves the result open
 * for the caller. */
static void result_begin(struct msx_jw *w, msx_json id)
{
    msx_jw_obj_begin(w);
    msx_jw_keyz(w, "jsonrpc");
    msx_jw_strz(w, "2.0");
    write_id(w, id);
    msx_jw_keyz(w, "result");
}

static void on_initialize(msx_json id, msx_json params)
{
    msx_json v = msx_json_get(params, "protocolVersion");
    const char *version = VERSIONS[0];
    for (size_t i = 0; i < sizeof VERSIONS / sizeof *VERSIONS; i++)
        if (msx_json_str_eq(v, VERSIONS[i]))
            version = VERSIONS[i];
    struct msx_buf b;
    struct msx_jw w;
    msx_buf_init(&b, MSX_CAP_OUTPUT);
    msx_jw_init(&w, &b, 0);
    result_begin(&w, id);
    msx_jw_obj_begin(&w);
    msx_jw_keyz(&w, "protocolVersion");
    msx_jw_strz(&w, version);
    msx_jw_keyz(&w, "capabilities");
    msx_jw_obj_begin(&w);
    msx_jw_keyz(&w, "tools");
    msx_jw_obj_begin(&w);
    msx_jw_keyz(&w, "listChanged");
    msx_jw_bool(&w, false);
    msx_jw_obj_end(&w);
    msx_jw_obj_end(&w);
    msx_jw_keyz(&w, "serverInfo");
    msx_jw_obj_begin(&w);
    msx_jw_keyz(&w, "name");
    msx_jw_strz(&w, "mlsession");
    msx_jw_keyz(&w, "version");
    msx_jw_strz(&w, ms_version());
    msx_jw_obj_end(&w);
    msx_jw_keyz(&w, "instructions");
    msx_jw_strz(&w, "Read-only access to an MLflow store's chat sessions. Start with "
                    "list_sessions (filter e.g. \"errors > 0\"), then analyze_session or "
                    "find_root_cause on a session id; get_session shows the transcript "
                    "within a token budget; get_trace shows one turn's spans.");
    msx_jw_obj_end(&w);
    msx_jw_obj_end(&w);
    send_line(&b);
    msx_buf_release(&b);
}

static void on_empty_result(msx_json id)
{
    struct msx_buf b;
    struct msx_jw w;
    msx_buf_init(&b, MSX_CAP_OUTPUT);
    msx_jw_init(&w, &b, 0);
    result_begin(&w, id);
    msx_jw_obj_begin(&w);
    msx_jw_obj_end(&w);
    msx_jw_obj_end(&w);
    send_line(&b);
    msx_buf_release(&b);
}

static void on_tools_list(msx_json id)
{
    struct msx_buf b;
    struct msx_jw w;
    msx_buf_init(&b, MSX_CAP_OUTPUT);
    msx_jw_init(&w, &b, 0);
    result_begin(&w, id);
    msx_jw_obj_begin(&w);
    msx_jw_keyz(&w, "tools");
    mcp_tools_describe(&w);
    msx_jw_obj_end(&w);
    msx_jw_obj_end(&w);
    send_line(&b);
    msx_buf_release(&b);
}

static void on_tools_call(struct mcp_server *srv, msx_json id, msx_json params)
{
    msx_json name = msx_json_get(params, "name");
    ms_str n = msx_json_str(name);
    if (!n.ptr) {
        send_error(id, -32602, "Invalid params", "tools/call needs a string 'name'");
        return;
    }
    const struct mcp_tool *tool = mcp_tool_find(n.ptr);
    if (!tool) {
        char msg[160];
        snprintf(msg, sizeof msg, "Unknown tool: %.100s", n.ptr);
        send_error(id, -32602, msg, NULL);
        return;
    }
    msx_json args = msx_json_get(params, "arguments");
    if (msx_json_ok(args) && !msx_json_is_null_or_none(args) &&
        msx_json_type(args) != MSX_JSON_OBJECT) {
        send_error(id, -32602, "Invalid params", "'arguments' must be an object");
        return;
    }
    struct msx_buf text;
    msx_buf_init(&text, MSX_CAP_OUTPUT);
    bool is_error = !tool->run(srv, args, &text);
    struct msx_buf b;
    struct msx_jw w;
    msx_buf_init(&b, MSX_CAP_OUTPUT);
    msx_jw_init(&w, &b, 0);
    result_begin(&w, id);
    msx_jw_obj_begin(&w);
    msx_jw_keyz(&w, "content");
    msx_jw_arr_begin(&w);
    msx_jw_obj_begin(&w);
    msx_jw_keyz(&w, "type");
    msx_jw_strz(&w, "text");
    msx_jw_keyz(&w, "text");
    if (msx_buf_status(&text) == MS_OK)
        msx_jw_str(&w, text.ptr ? text.ptr : "", text.len);
    else
        msx_jw_strz(&w, "out of memory");
    msx_jw_obj_end(&w);
    msx_jw_arr_end(&w);
    msx_jw_keyz(&w, "isError");
    msx_jw_bool(&w, is_error);
    msx_jw_obj_end(&w);
    msx_jw_obj_end(&w);
    send_line(&b);
    msx_buf_release(&b);
    msx_buf_release(&text);
}

static void handle(struct mcp_server *srv, msx_json msg)
{
    msx_json none = {0};
    if (msx_json_type(msg) != MSX_JSON_OBJECT) {
        send_error(none, -32600, "Invalid Request",
                   msx_json_type(msg) == MSX_JSON_ARRAY ? "batches are not supported"
                                                        : "a message is a JSON object");
        return;
    }
    msx_json id = msx_json_get(msg, "id");
    bool has_id = msx_json_ok(id);
    msx_json method = msx_json_get(msg, "method");
    ms_str m = msx_json_str(method);
    if (!m.ptr) {
        /* a response to a request of ours (we send none): ignore */
        if (msx_json_ok(msx_json_get(msg, "result")) || msx_json_ok(msx_json_get(msg, "error")))
            return;
        send_error(id, -32600, "Invalid Request", "no 'method'");
        return;
    }
    if (!msx_json_str_eq(msx_json_get(msg, "jsonrpc"), "2.0")) {
        if (has_id)
            send_error(id, -32600, "Invalid Request", "'jsonrpc' must be \"2.0\"");
        return;
    }
    if (has_id && msx_json_type(id) != MSX_JSON_STRING && msx_json_type(id) != MSX_JSON_INT &&
        msx_json_type(id) != MSX_JSON_UINT) {
        send_error(none, -32600, "Invalid Request", "'id' must be a string or an integer");
        return;
    }
    if (!has_id)
        return; /* a notification: initialized, cancelled, ... nothing to say */
    msx_json params = msx_json_get(msg, "params");
    if (msx_json_ok(params) && msx_json_type(params) != MSX_JSON_OBJECT) {
        send_error(id, -32602, "Invalid params", "'params' must be an object");
        return;
    }
    if (strcmp(m.ptr, "initialize") == 0)
        on_initialize(id, params);
    else if (strcmp(m.ptr, "ping") == 0)
        on_empty_result(id);
    else if (strcmp(m.ptr, "tools/list") == 0)
        on_tools_list(id);
    else if (strcmp(m.ptr, "tools/call") == 0)
        on_tools_call(srv, id, params);
    else
        send_error(id, -32601, "Method not found", m.ptr);
}

int cmd_mcp(struct cli_globals *g, int argc, char **argv)
{
    struct mcp_server srv = {0};
    int rc = EXIT_OK;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return EXIT_OK;
        }
        if (cli_experiment_option(&srv.x, argc, argv, &i, &rc)) {
            if (rc)
                return rc;
            continue;
        }
        cli_error("mcp: unknown argument '%s' (see 'mlsession mcp --help')", argv[i]);
        return EXIT_USAGE;
    }
    srv.g = g;
    srv.store = cli_open_store(g);
    if (!srv.store)
        return EXIT_USAGE;
    if (!cli_resolve_experiments(srv.store, &srv.x)) {
        ms_store_close(srv.store);
        return EXIT_USAGE;
    }
    msx_json_parser *p = msx_json_parser_new();
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while (p && (n = getline(&line, &cap, stdin)) >= 0) {
        size_t len = (size_t)n;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        size_t k = 0;
        while (k < len && (line[k] == ' ' || line[k] == '\t'))
            k++;
        if (k == len)
            continue;
        msx_json none = {0}, msg;
        if (len > MAX_LINE) {
            send_error(none, -32600, "Invalid Request", "message too large");
            continue;
        }
        struct ms_error err = {0};
        if (msx_json_parse(p, line, len, false, &msg, &err) != MS_OK) {
            send_error(none, -32700, "Parse error", err.msg);
            continue;
        }
        handle(&srv, msg);
    }
    free(line);
    msx_json_parser_free(p);
    ms_store_close(srv.store);
    return EXIT_OK;
}
