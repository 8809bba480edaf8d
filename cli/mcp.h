/* SPDX-License-Identifier: MIT
 *
 * The MCP server's tools (mcp_tools.c), called by the JSON-RPC loop in
 * cmd_mcp.c. Each tool writes its answer as text sized for a model's
 * context and returns false for a tool error (bad arguments, unknown id).
 */
#ifndef MS_CLI_MCP_H
#define MS_CLI_MCP_H

#include "cli/cli.h"
#include "json/json.h"
#include "json/json_write.h"
#include "util/buf.h"

struct mcp_server {
    struct cli_globals *g;
    ms_store *store;
    struct cli_experiments x;
};

struct mcp_tool {
    const char *name;
    const char *description;
    const char *input_schema; /* JSON */
    bool (*run)(struct mcp_server *srv, msx_json args, struct msx_buf *out);
};

/* The tools array of tools/list. */
void mcp_tools_describe(struct msx_jw *w);
const struct mcp_tool *mcp_tool_find(const char *name);

#endif
