#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The browser suite: HTML reports of the fixture store, the example session
# demo-outdated-policy and the XSS corpus (tests/fixtures/xss, written by the
# real MLflow via tools/fixtures/make_xss.py) opened in headless Chromium
# (tests/report/browser_check.py: screenshot, console, network, DOM counts,
# canary). Screenshots stay in $BUILD/artifacts/ and their paths are printed.
#
# Without Chromium (the Debian package `chromium`, installed by `make deps`)
# the suite is skipped, loudly, unless CI=true, where that is a failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
bin=$PWD/$BUILD/mlsession
art=$PWD/$BUILD/artifacts
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$chromium" ]; then
    if [ "${CI:-}" = true ]; then
        echo "browser: FAILED: chromium is not installed (CI=true; run make deps)"
        echo "0 1 0" >> "${MS_TALLY:-/dev/null}"
        exit 1
    fi
    echo "************************************************************"
    echo "browser: SKIPPED: chromium is not installed (make deps installs"
    echo "the Debian package); the HTML report was not opened in a browser"
    echo "************************************************************"
    echo "0 0 1" >> "${MS_TALLY:-/dev/null}"
    exit 0
fi
mkdir -p "$art"
export LC_ALL=C TZ=UTC NO_COLOR=1
unset MLFLOW_TRACKING_URI MLFLOW_EXPERIMENT_ID MLFLOW_EXPERIMENT_NAME

# name store selection...: renders $art/<name>.html; the expected counts come
# from another command (analyze --format json), not from the report itself
specs=()
fail=0
render() {
    local name=$1 store=$2 extra=$3
    shift 3
    if ! "$bin" --tracking-uri "$store" report "$@" -o "$art/$name.html" 2> "$art/$name.err"; then
        echo "FAIL $name: mlsession report failed: $(head -3 "$art/$name.err")"
        fail=$((fail + 1))
        return
    fi
    local counts
    counts=$("$bin" --tracking-uri "$store" analyze "$@" --format json --fail-on error 2>/dev/null |
        python3 -c 'import json,sys; s=json.load(sys.stdin)["summary"]; print(s["sessions"], s["findings"])')
    if [ -z "$counts" ]; then
        echo "FAIL $name: analyze --format json gave no counts"
        fail=$((fail + 1))
        return
    fi
    read -r ns nf <<< "$counts"
    specs+=(--report "$name=$art/$name.html:$ns:$nf$extra")
}
render fixture tests/fixtures/sqlite/mlflow.db "" --all --source tools/fixtures
render demo-outdated-policy examples/mlflow.db "" demo-outdated-policy
render xss tests/fixtures/xss/mlflow.db ":xss" --all

# A large store: bench/gen_store.c writes 2000 traces (about 340 sessions) in
# MLflow 3.17.2's schema; rendered with --max-detail 5, every session must
# still be a row and the overview paged. (--huge 0: without its runaway
# 20 000-span traces, which ms_patterns refuses today: a turn signature
# longer than its cap fails the whole computation.)
big=$art/report-large.db
if [ ! -s "$big" ] || [ bench/gen_store.c -nt "$big" ]; then
    rm -f "$big"
    if ! { ${CC:-cc} -std=c11 -O2 -o "$art/gen_store" bench/gen_store.c -lsqlite3 &&
           "$art/gen_store" --schema bench/schema/mlflow-3.17.2.sql --huge 0 "$big" 2000 > /dev/null; }; then
        echo "FAIL large: could not generate the large store"
        fail=$((fail + 1))
    fi
fi
if [ -s "$big" ]; then
    if "$bin" --tracking-uri "$big" report --all --max-detail 5 -o "$art/large.html" 2> "$art/large.err"; then
        n=$("$bin" --tracking-uri "$big" sessions list --format json 2>/dev/null |
            python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["sessions"]))')
        specs+=(--report "large=$art/large.html:${n:-0}:-1:max=5")
    else
        echo "FAIL large: mlsession report failed: $(head -3 "$art/large.err")"
        fail=$((fail + 1))
    fi
fi

rc=0
python3 tests/report/browser_check.py --chromium "$chromium" --artifacts "$art" "${specs[@]}" || rc=1
if [ "$fail" -gt 0 ]; then
    echo "browser (rendering): 0 passed, $fail failed"
    echo "0 $fail 0" >> "${MS_TALLY:-/dev/null}"
    rc=1
fi
echo "browser: screenshots:"
ls -1 "$art"/report-*.png 2>/dev/null | sed 's/^/  /'
exit $rc
