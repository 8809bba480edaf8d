#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Golden CLI cases. A case is tests/cli/cases/NNNN-name/ holding
#   args    one argument per line (run from the repo root)
#   stdout  expected standard output        (optional: absent = empty)
#   stderr  expected standard error         (optional: absent = empty)
#   exit    expected exit status            (optional: absent = 0)
#   env     VAR=value lines                 (optional)
# UPDATE=1 rewrites stdout/stderr/exit from the actual run: review the diff.
# VALGRIND=1 runs each case under memcheck; any error or leak fails it.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
bin=$PWD/$BUILD/mlsession
export LC_ALL=C TZ=UTC NO_COLOR=1
unset MLFLOW_TRACKING_URI MLFLOW_EXPERIMENT_ID MLFLOW_EXPERIMENT_NAME
pass=0 fail=0
vg=()
if [ "${VALGRIND:-}" = 1 ]; then
    vg=(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 --log-file=/tmp/ms-vg.$$)
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" /tmp/ms-vg.$$' EXIT
for dir in tests/cli/cases/*/; do
    name=$(basename "$dir")
    mapfile -t args < "$dir/args"
    envs=()
    [ -f "$dir/env" ] && mapfile -t envs < "$dir/env"
    env "${envs[@]}" "${vg[@]}" "$bin" "${args[@]}" > "$tmp/out" 2> "$tmp/err" < /dev/null
    rc=$?
    if [ "${UPDATE:-}" = 1 ] && [ -z "${VALGRIND:-}" ]; then
        cp "$tmp/out" "$dir/stdout"; cp "$tmp/err" "$dir/stderr"; echo "$rc" > "$dir/exit"
        [ -s "$dir/stdout" ] || rm -f "$dir/stdout"
        [ -s "$dir/stderr" ] || rm -f "$dir/stderr"
        [ "$rc" = 0 ] && rm -f "$dir/exit"
    fi
    want_rc=0
    [ -f "$dir/exit" ] && want_rc=$(cat "$dir/exit")
    problems=""
    if [ -n "${VALGRIND:-}" ]; then
        [ "$rc" = 99 ] && problems="valgrind: $(head -20 /tmp/ms-vg.$$)"
    else
        [ "$rc" = "$want_rc" ] || problems="exit $rc, want $want_rc"
        cmp -s "$tmp/out" "${dir}stdout" 2>/dev/null || { [ ! -f "${dir}stdout" ] && [ ! -s "$tmp/out" ]; } ||
            problems="$problems; stdout differs: $(diff "${dir}stdout" "$tmp/out" 2>&1 | head -10)"
        cmp -s "$tmp/err" "${dir}stderr" 2>/dev/null || { [ ! -f "${dir}stderr" ] && [ ! -s "$tmp/err" ]; } ||
            problems="$problems; stderr differs: $(diff "${dir}stderr" "$tmp/err" 2>&1 | head -10)"
    fi
    if [ -z "$problems" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL $name: $problems"
    fi
done
echo "golden${VALGRIND:+ (valgrind)}: $pass passed, $fail failed"
echo "$pass $fail 0" >> "${MS_TALLY:-/dev/null}"
[ "$fail" -eq 0 ]
