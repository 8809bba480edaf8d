#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make demo`: runs the most useful command that exists so far on the bundled
# example store. Today: print a failed turn exactly as `mlflow traces get` would.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
export_file=examples/traces.json
# the first trace in ERROR state (trace_id precedes state inside "info")
id=$(awk -F'"' '/"trace_id": "tr-/ {id=$4} /"state": "ERROR"/ {print id; exit}' "$export_file")
[ -n "$id" ] || id=$(awk -F'"' '/"trace_id": "tr-/ {print $4; exit}' "$export_file")
echo "\$ $BUILD/mlsession --tracking-uri $export_file traces get --trace-id $id | head -60" >&2
"$BUILD/mlsession" --tracking-uri "$export_file" traces get --trace-id "$id" | head -60
echo "..." >&2
echo "(the whole trace: the same command without '| head'; try also --help)" >&2
