#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make demo`: the most useful commands that exist so far, on the bundled
# example store (examples/mlflow.db, written by the real MLflow SDK):
#   1. the turns of session demo-outdated-policy, as `mlflow traces search` lists them;
#   2. turn 3, where the retriever returned an outdated refund policy, as
#      `mlflow traces get` prints it.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
ms="$BUILD/mlsession --tracking-uri examples/mlflow.db"
run() { echo "\$ $*" >&2; "$@"; echo >&2; }
run $ms experiments list
filter='metadata.`mlflow.trace.session` = '"'demo-outdated-policy'"
echo "# the six turns of session demo-outdated-policy" >&2
run $ms traces search --filter-string "$filter" --order-by "timestamp_ms ASC"
# turn 3: the third row of the table (after the header and the dashes)
id=$($ms traces search --filter-string "$filter" --order-by "timestamp_ms ASC" | awk 'NR == 5 {print $1}')
echo "# turn 3: the retriever returns an outdated document (kb://policies/refunds-2024.md)" >&2
echo "\$ $ms traces get --trace-id $id | grep -m3 refunds-2024" >&2
$ms traces get --trace-id "$id" | grep -m3 -o '.\{60\}refunds-2024.md.\{40\}' || true
echo "# (the whole trace: the same command without '| grep'; see also: $BUILD/mlsession --help)" >&2
