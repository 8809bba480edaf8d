#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Creates (or reuses) a virtualenv holding the official MCP Python SDK, the
# client the MCP tests drive `mlsession mcp` with. Its own venv, apart from
# the MLflow oracle, so neither pins the other's dependencies. Prints the
# venv's bin directory; exit 3 when the package index cannot be reached.
set -euo pipefail
MCP_VERSION=${MCP_VERSION:-2.3.0}
cache=${MLSESSION_CACHE:-$HOME/.cache/mlsession}
venv=$cache/mcp-$MCP_VERSION
stamp=$venv/.mlsession-ok
if [ -f "$stamp" ]; then
    echo "$venv/bin"
    exit 0
fi
mkdir -p "$cache"
rm -rf "$venv"
{
    "${PYTHON:-python3}" -m venv "$venv" &&
    "$venv/bin/pip" install -q --disable-pip-version-check "mcp==$MCP_VERSION"
} >&2 || {
    echo "mcp_client: could not install mcp==$MCP_VERSION (package index unreachable?)" >&2
    rm -rf "$venv"
    exit 3
}
touch "$stamp"
echo "$venv/bin"
