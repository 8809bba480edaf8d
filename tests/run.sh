#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every test suite and ends with one line: "N passed, N failed[, N skipped]".
# Each suite prints its results and appends "passed failed skipped" to a
# tally file. Suites: lint unit golden replay valgrind integration browser (MS_SUITES picks).
set -uo pipefail
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build}
export LC_ALL=C TZ=UTC NO_COLOR=1
suites=${MS_SUITES:-lint unit golden replay valgrind integration browser}
tally=$(mktemp)
trap 'rm -f "$tally"' EXIT
export MS_TALLY=$tally

for s in $suites; do
    echo "== suite: $s"
    case $s in
        lint) tests/lint.sh ;;
        unit) tests/unit/run.sh ;;
        golden) tests/cli/run.sh ;;
        replay) fuzz/replay.sh ;;
        valgrind) VALGRIND=1 tests/cli/run.sh && VALGRIND=1 tests/unit/run.sh ;;
        integration) tests/integration/run.sh ;;
        browser) tests/report/run_browser.sh ;;
        *) echo "unknown suite $s"; echo "0 1 0" >> "$tally" ;;
    esac || true
done

read -r p f k < <(awk '{p+=$1; f+=$2; k+=$3} END {print p+0, f+0, k+0}' "$tally")
line="$p passed, $f failed"
[ "$k" -gt 0 ] && line="$line, $k skipped"
echo "$line"
[ "$f" -eq 0 ]
