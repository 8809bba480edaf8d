#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Replays every fuzz corpus and the hand-written hostile inputs through the
# replay builds of the fuzz targets (gcc; ASan when BUILD=build-asan). One
# test per target.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
pass=0 fail=0
shopt -s nullglob
for bin in "$BUILD"/fuzz/fuzz_*_replay; do
    target=$(basename "$bin" _replay)
    inputs=(tests/fixtures/hostile)
    [ -d "fuzz/corpus/$target" ] && inputs+=("fuzz/corpus/$target")
    if out=$("$bin" "${inputs[@]}" 2>&1); then
        pass=$((pass + 1)); echo "ok   $target: $(tail -1 <<<"$out")"
    else
        fail=$((fail + 1)); echo "FAIL $target:"; tail -20 <<<"$out"
    fi
done
echo "replay: $pass passed, $fail failed"
echo "$pass $fail 0" >> "${MS_TALLY:-/dev/null}"
[ "$fail" -eq 0 ]
