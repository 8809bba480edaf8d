#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make demo`: runs the most useful command that exists so far on the bundled
# example store. Today: print turn 3 of session demo-outdated-policy (where the
# retriever returned an outdated refund policy) exactly as `mlflow traces get`
# would print it, from the exported examples/traces.json.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
export_file=examples/traces.json
# turns are listed in order in the generator's manifest; the 3rd is turn 3
id=$(grep -o '"trace_id": "tr-[0-9a-f]*"' examples/manifest.json | sed -n 3p | cut -d'"' -f4)
echo "# session demo-outdated-policy, turn 3: the retriever returns an outdated document" >&2
echo "\$ $BUILD/mlsession --tracking-uri $export_file traces get --trace-id $id" >&2
"$BUILD/mlsession" --tracking-uri "$export_file" traces get --trace-id "$id"
echo "# (what 'mlflow traces get --trace-id $id' prints; try also: $BUILD/mlsession --help)" >&2
