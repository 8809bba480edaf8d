#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets with clang into build-fuzz/ and runs each one
# for its share of $FUZZ_SECONDS (default 60 in total), seeded from
# fuzz/corpus/<target>/ and tests/fixtures/hostile/. New interesting inputs
# go to build-fuzz/fuzz-work/<target>/ (the committed corpus is only read);
# a crash leaves its input in build-fuzz/fuzz-artifacts/<target>/ -- copy it
# into fuzz/corpus/<target>/ so it stays a regression test.
#
#   fuzz/run_fuzz.sh                    all targets, 60 s in total
#   FUZZ_SECONDS=600 fuzz/run_fuzz.sh   ten minutes
#   fuzz/run_fuzz.sh fuzz_json          one target
#   FUZZ_KEEP_GOING=1 fuzz/run_fuzz.sh  fork mode: keep fuzzing after a crash
#                                       (and past known crashers in the seeds);
#                                       every crash is saved and counted
#
# The whole library is instrumented (-fsanitize=fuzzer-no-link plus ASan and
# UBSan), not only the harness, so coverage guides the fuzzer into src/.
# Ends with one line, "fuzz: N targets, N runs, N crashes"; exits 1 on a
# crash or a failed build.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
total=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for f in "$here"/fuzz_*.c; do
        targets+=("$(basename "$f" .c)")
    done
fi

mkdir -p "$build"
san="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
cmake -S "$root" -B "$build" -G Ninja -DMS_FUZZ=ON -DMS_TESTS=OFF -DMS_DEV=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_C_FLAGS="$san" -DCMAKE_CXX_FLAGS="$san" >"$build/run_fuzz.cmake.log" 2>&1 ||
    { cat "$build/run_fuzz.cmake.log"; echo "fuzz: cmake failed"; exit 1; }
ninja -C "$build" "${targets[@]}" >"$build/run_fuzz.ninja.log" 2>&1 ||
    { tail -40 "$build/run_fuzz.ninja.log"; echo "fuzz: build failed"; exit 1; }

# Longest input worth mutating, per target: traces need room for a few
# spans; the escaper and the JSON reader find their bugs in short inputs.
max_len_for() {
    case "$1" in
        fuzz_trace_decode | fuzz_session) echo 65536 ;;
        fuzz_json) echo 16384 ;;
        *) echo 4096 ;;
    esac
}

per=$(( total / ${#targets[@]} ))
[ "$per" -lt 1 ] && per=1
runs_total=0
crashes=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for t in "${targets[@]}"; do
    bin="$build/fuzz/$t"
    work="$build/fuzz-work/$t"
    art="$build/fuzz-artifacts/$t"
    log="$build/fuzz-$t.log"
    mkdir -p "$work" "$art"
    seeds=()
    [ -d "$here/corpus/$t" ] && seeds+=("$here/corpus/$t")
    [ -d "$root/tests/fixtures/hostile" ] && seeds+=("$root/tests/fixtures/hostile")
    dict=()
    [ -f "$here/$t.dict" ] && dict=(-dict="$here/$t.dict")
    echo "fuzz: $t for ${per}s (max_len $(max_len_for "$t"))"
    par=()
    [ "$jobs" -gt 1 ] && par=(-jobs="$jobs" -workers="$jobs")
    if [ -n "${FUZZ_KEEP_GOING:-}" ]; then
        par=(-fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
    fi
    rm -f "$art"/crash-* "$art"/leak-* "$art"/timeout-* "$art"/oom-*
    # run inside the build tree: with -jobs libFuzzer writes fuzz-N.log to the cwd
    (cd "$build" && "$bin" "$work" "${seeds[@]}" "${dict[@]}" "${par[@]}" \
        -max_total_time="$per" -max_len="$(max_len_for "$t")" -timeout=20 -rss_limit_mb=4096 \
        -print_final_stats=1 -artifact_prefix="$art/") >"$log" 2>&1
    rc=$?
    [ "$jobs" -gt 1 ] && cat "$build"/fuzz-[0-9]*.log >>"$log" 2>/dev/null
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1)
    # fork mode prints no final stats: take the last "#N" status line
    [ -z "$runs" ] && runs=$(grep -Eo '^#[0-9]+' "$log" | tail -1 | tr -d '#')
    runs=${runs:-0}
    runs_total=$(( runs_total + runs ))
    found=$(find "$art" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    if [ $rc -ne 0 ] || [ "$found" -gt 0 ]; then
        [ "$found" -gt 0 ] || found=1
        crashes=$(( crashes + found ))
        echo "fuzz: $t: $found crash(es) (exit $rc); inputs in $art, log $log"
        grep -E 'ERROR|check failed|SUMMARY|Test unit written' "$log" | head -8
    else
        echo "fuzz: $t: $runs runs, no crash"
    fi
done
echo "fuzz: ${#targets[@]} targets, $runs_total runs, $crashes crashes"
[ $crashes -eq 0 ]
