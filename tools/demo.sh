#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make demo`: on the bundled example store (examples/mlflow.db, written by
# the real MLflow SDK):
#   1. every session with its aggregates (sessions list);
#   2. the most troubled one, demo-outdated-policy, turn by turn (sessions show);
#   3. what went wrong there and the turn where it started (analyze): the
#      retriever at turn 3 returned an outdated refund policy, and the wrong
#      "30 days" comes back at turns 4 and 5.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
ms="$BUILD/mlsession --tracking-uri examples/mlflow.db"
run() { echo "\$ $*" >&2; "$@"; echo >&2; }
echo "# 1. the sessions of the example store" >&2
run $ms sessions list
echo "# 2. the most troubled one, turn by turn" >&2
run $ms sessions show demo-outdated-policy
echo "# 3. what went wrong, and where it started" >&2
# analyze exits 1 when a finding reaches --fail-on (error by default): that
# is its answer here, not a failure of the demo
echo "\$ $ms analyze demo-outdated-policy" >&2
$ms analyze demo-outdated-policy && rc=0 || rc=$?
echo "# exit status $rc (1: a finding reached --fail-on error; CI can gate on it)" >&2
echo "# more: $BUILD/mlsession --help; sessions list --filter 'errors > 0'; analyze --all --format json" >&2
