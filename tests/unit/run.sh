#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every cmocka binary in $BUILD/tests with TAP output and counts results.
# VALGRIND=1 runs them under memcheck (an error or a leak fails the binary).
set -uo pipefail
BUILD=${BUILD:-build}
pass=0 fail=0 skip=0
vg=()
[ "${VALGRIND:-}" = 1 ] && vg=(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99)
shopt -s nullglob
bins=("$BUILD"/tests/test_*)
if [ ${#bins[@]} -eq 0 ]; then
    echo "unit: no test binaries in $BUILD/tests"
    echo "0 1 0" >> "${MS_TALLY:-/dev/null}"
    exit 1
fi
for t in "${bins[@]}"; do
    out=$(CMOCKA_MESSAGE_OUTPUT=TAP "${vg[@]}" "$t" 2>&1)
    rc=$?
    ok=$(grep -c '^ok ' <<<"$out")
    skipped=$(grep -c '^not ok .*# SKIP' <<<"$out")
    bad=$(( $(grep -c '^not ok ' <<<"$out") - skipped ))
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
        bad=1 # crashed, or valgrind found errors
    fi
    pass=$((pass + ok)) fail=$((fail + bad)) skip=$((skip + skipped))
    if [ "$bad" -ne 0 ]; then
        echo "FAIL $(basename "$t") (exit $rc)"
        grep -v '^ok ' <<<"$out" | head -40
    else
        echo "ok   $(basename "$t"): $ok tests${vg:+ (valgrind)}"
    fi
done
echo "unit${vg:+ (valgrind)}: $pass passed, $fail failed, $skip skipped"
echo "$pass $fail $skip" >> "${MS_TALLY:-/dev/null}"
[ "$fail" -eq 0 ]
