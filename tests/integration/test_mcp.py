#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`mlsession mcp` driven by the official MCP Python SDK (tools/mcp_client.sh).

Initialises a session over stdio, lists the tools, calls each one on the
fixture store and checks what it answers against what the store holds; then
the error paths: an unknown tool (a JSON-RPC error), bad arguments and an
unknown session (tool errors, isError) - each followed by a good call on the
same server to show it keeps serving. Malformed JSON, a batch, an unknown
method and a request without "jsonrpc" are sent raw (the SDK cannot send
them) to one server process, again followed by a good request.

Prints "mcp: N passed, N failed"; appends "P F 0" to $MS_TALLY.
"""
import argparse
import asyncio
import json
import os
import subprocess
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

try:  # the SDK's protocol error
    from mcp.shared.exceptions import McpError as ProtocolError
except ImportError:  # pragma: no cover - other SDK layouts
    ProtocolError = Exception

PASSED = 0
FAILED = 0


def check(cond, what):
    global PASSED, FAILED
    if cond:
        PASSED += 1
        print(f"ok   {what}")
    else:
        FAILED += 1
        print(f"FAIL {what}")


def text_of(result):
    return "".join(getattr(c, "text", "") for c in result.content)


def is_error(result):
    return bool(getattr(result, "is_error", None) or getattr(result, "isError", None))


async def sdk_checks(mlsession, store):
    params = StdioServerParameters(command=mlsession, args=["--tracking-uri", store, "mcp"])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as s:
            init = await s.initialize()
            version = getattr(init, "protocol_version", None) or getattr(init, "protocolVersion", None)
            check(version == "2025-11-25", f"initialize negotiates the newest revision ({version})")
            info = getattr(init, "server_info", None) or getattr(init, "serverInfo", None)
            check(info is not None and info.name == "mlsession", "serverInfo names mlsession")

            tools = (await s.list_tools()).tools
            names = sorted(t.name for t in tools)
            want = sorted(["list_sessions", "get_session", "analyze_session", "find_root_cause",
                           "failure_by_turn", "context_growth", "search_traces", "get_trace"])
            check(names == want, f"tools/list has the 8 tools ({names})")
            for t in tools:
                schema = getattr(t, "input_schema", None) or getattr(t, "inputSchema", None)
                check(isinstance(schema, dict) and schema.get("type") == "object",
                      f"{t.name}: has an object input schema")

            r = await s.call_tool("list_sessions", {"limit": 50})
            body = json.loads(text_of(r))
            ids = [x["id"] for x in body["sessions"]]
            check(not is_error(r) and body["sessions_matching"] == 18 and len(ids) == 18,
                  "list_sessions: the 18 sessions of the fixture store")
            r = await s.call_tool("list_sessions", {"filter": "errors > 0"})
            body = json.loads(text_of(r))
            check([x["id"] for x in body["sessions"]] == ["sess-errors"],
                  "list_sessions with a filter: errors > 0 is sess-errors")

            r = await s.call_tool("get_session", {"session_id": "sess-rag-outdated"})
            t = text_of(r)
            check(not is_error(r) and "6 turns" in t and "30 days" in t and "refunds-2024.md" in t,
                  "get_session: transcript with the outdated document and the answer")
            r = await s.call_tool("get_session", {"session_id": "sess-context-overflow",
                                                  "max_tokens": 500})
            t = text_of(r)
            check(len(t) <= 500 * 4 + 400 and "from_turn=" in t,
                  f"get_session: stays within max_tokens and says how to go on ({len(t)} bytes)")

            r = await s.call_tool("analyze_session", {"session_id": "sess-errors"})
            t = text_of(r)
            check(not is_error(r) and "error.trace" in t and "UpstreamTimeoutError" in t,
                  "analyze_session: sess-errors has the trace error with its exception")

            r = await s.call_tool("find_root_cause", {"session_id": "sess-rag-outdated"})
            t = text_of(r)
            check("cause.root turn 3" in t and "refunds-2024.md" in t and "turn 5" in t,
                  "find_root_cause: turn 3, the outdated document, symptom turn 5")

            r = await s.call_tool("failure_by_turn", {})
            t = text_of(r)
            check(not is_error(r) and "hazard" in t and "\n   1 " in t,
                  "failure_by_turn: a row per turn index")

            r = await s.call_tool("context_growth", {"session_id": "sess-context-overflow"})
            t = text_of(r)
            check("context.window" in t and "turn 22" in t and "4224" in t,
                  "context_growth: window passed at turn 22 (4224 input tokens)")

            r = await s.call_tool("search_traces", {"filter_string": "trace.status = 'ERROR'",
                                                    "max_results": 5})
            t = text_of(r)
            check(not is_error(r) and "session=sess-errors" in t, "search_traces: the ERROR trace")
            trace_id = t.split()[0]

            r = await s.call_tool("get_trace", {"trace_id": trace_id})
            t = text_of(r)
            check(not is_error(r) and "exception UpstreamTimeoutError" in t,
                  "get_trace: the span tree with the exception")

            # errors, each followed by a good call on the same session
            try:
                await s.call_tool("no_such_tool", {})
                check(False, "unknown tool: a protocol error")
            except ProtocolError as e:
                check("Unknown tool" in str(e), f"unknown tool: a protocol error ({e})")
            r = await s.call_tool("get_session", {"session_id": 42})
            check(is_error(r) and "must be a string" in text_of(r),
                  "bad arguments: a tool error naming the argument")
            r = await s.call_tool("analyze_session", {"session_id": "x", "bogus": 1})
            check(is_error(r) and "unknown argument 'bogus'" in text_of(r),
                  "unknown argument: a tool error")
            r = await s.call_tool("get_session", {"session_id": "no-such-session"})
            check(is_error(r) and "no session" in text_of(r), "unknown session: a tool error")
            r = await s.call_tool("list_sessions", {"filter": "turns >"})
            check(is_error(r) and "byte" in text_of(r), "bad filter: a tool error with the byte")
            r = await s.call_tool("list_sessions", {"limit": 1})
            check(not is_error(r) and len(json.loads(text_of(r))["sessions"]) == 1,
                  "still serving after the errors")


def raw_checks(mlsession, store):
    lines = [
        "{not json",
        "[1, 2]",
        json.dumps({"jsonrpc": "2.0", "id": 7, "method": "no/such"}),
        json.dumps({"id": 8, "method": "ping"}),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json.dumps({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"arguments": {}}}),
        json.dumps({"jsonrpc": "2.0", "id": 10, "method": "ping"}),
    ]
    p = subprocess.run([mlsession, "--tracking-uri", store, "mcp"], input="\n".join(lines) + "\n",
                       capture_output=True, text=True, timeout=60)
    out = [json.loads(l) for l in p.stdout.splitlines()]
    check(len(out) == 6, f"raw: one answer per request, none for the notification ({len(out)})")
    if len(out) != 6:
        return
    check(out[0]["error"]["code"] == -32700 and out[0]["id"] is None, "raw: malformed JSON is -32700")
    check(out[1]["error"]["code"] == -32600, "raw: a batch is -32600")
    check(out[2]["error"]["code"] == -32601 and out[2]["id"] == 7, "raw: unknown method is -32601")
    check(out[3]["error"]["code"] == -32600 and out[3]["id"] == 8, "raw: no jsonrpc is -32600")
    check(out[4]["error"]["code"] == -32602 and out[4]["id"] == 9, "raw: tools/call without a name is -32602")
    check(out[5].get("result") == {} and out[5]["id"] == 10, "raw: still serving (ping)")
    check(p.returncode == 0 and p.stderr == "", "raw: exit 0 at end of input, nothing on stderr")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mlsession", required=True)
    ap.add_argument("--fixtures", required=True)
    a = ap.parse_args()
    store = os.path.join(a.fixtures, "sqlite", "mlflow.db")
    asyncio.run(sdk_checks(a.mlsession, store))
    raw_checks(a.mlsession, store)
    print(f"mcp: {PASSED} passed, {FAILED} failed")
    tally = os.environ.get("MS_TALLY")
    if tally:
        with open(tally, "a") as f:
            f.write(f"{PASSED} {FAILED} 0\n")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
