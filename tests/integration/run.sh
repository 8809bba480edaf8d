#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The integration suite: the real MLflow is the oracle. For every trace in
# the fixture exports, `mlsession traces get` must answer as `mlflow traces get`
# does on the store the export came from.
#
# Without the oracle (package index unreachable) the suite is skipped, loudly,
# unless CI=true, where a missing oracle is a failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
if ! venv=$(tools/oracle.sh); then
    if [ "${CI:-}" = true ]; then
        echo "integration: FAILED: the MLflow oracle could not be installed (CI=true)"
        echo "0 1 0" >> "${MS_TALLY:-/dev/null}"
        exit 1
    fi
    echo "************************************************************"
    echo "integration: SKIPPED: the MLflow oracle could not be installed"
    echo "(package index unreachable?); unit and golden suites still ran"
    echo "************************************************************"
    echo "0 0 1" >> "${MS_TALLY:-/dev/null}"
    exit 0
fi
rc=0
"$venv/python" tests/integration/compare_get.py --mlsession "$PWD/$BUILD/mlsession" \
    --fixtures "$PWD/tests/fixtures" ${MS_INTEGRATION_ARGS:-} || rc=1
"$venv/python" tests/integration/compare_search.py --mlsession "$PWD/$BUILD/mlsession" \
    --fixtures "$PWD/tests/fixtures" ${MS_INTEGRATION_ARGS:-} || rc=1
"$venv/python" tests/integration/compare_pg.py --mlsession "$PWD/$BUILD/mlsession" \
    ${MS_INTEGRATION_ARGS:-} || rc=1
"$venv/python" tests/integration/compare_rest.py --mlsession "$PWD/$BUILD/mlsession" \
    --fixtures "$PWD/tests/fixtures" ${MS_INTEGRATION_ARGS:-} || rc=1
# MS_INTEGRATION_LIGHT=1 (the sanitizer stage of CI): the store parity
# suites only; sessions, patterns and analyze across stores run once, in the
# plain build, where their own code is also covered by the ASan unit tests
if [ "${MS_INTEGRATION_LIGHT:-}" != 1 ]; then
"$venv/python" tests/integration/compare_sessions.py --mlsession "$PWD/$BUILD/mlsession" \
    --fixtures "$PWD/tests/fixtures" ${MS_INTEGRATION_ARGS:-} || rc=1
"$venv/python" tests/integration/compare_patterns.py --mlsession "$PWD/$BUILD/mlsession" \
    --fixtures "$PWD/tests/fixtures" || rc=1
"$venv/python" tests/integration/compare_analyze.py --mlsession "$PWD/$BUILD/mlsession" \
    --fixtures "$PWD/tests/fixtures" || rc=1
fi
"$venv/python" tests/integration/test_rest_faults.py --mlsession "$PWD/$BUILD/mlsession" || rc=1
# the MCP server, driven by the official MCP Python SDK (its own venv)
if mcp_bin=$(tools/mcp_client.sh); then
    "$mcp_bin/python" tests/integration/test_mcp.py --mlsession "$PWD/$BUILD/mlsession" \
        --fixtures "$PWD/tests/fixtures" || rc=1
elif [ "${CI:-}" = true ]; then
    echo "mcp: FAILED: the MCP Python SDK could not be installed (CI=true)"
    echo "0 1 0" >> "${MS_TALLY:-/dev/null}"
    rc=1
else
    echo "mcp: SKIPPED: the MCP Python SDK could not be installed"
    echo "0 0 1" >> "${MS_TALLY:-/dev/null}"
fi
exit $rc
