#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# JSON parse throughput: mlsession (simdjson tape) against json-c and
# Python's json.loads, on the same bytes, in one run. Builds a Release tree
# in build-bench/, then measures these workloads:
#
#   export-whole     every page of tests/fixtures/export/*.json (real MLflow
#                    `traces search --output json` output), parsed whole
#   export-spans     the span objects of those traces, each as its own
#                    compact document (what we parse per SQLite spans row)
#   runaway-whole    one hand-made trace of 100k tiny spans
#                    (tests/fixtures/hostile/gen_many_spans.py, ~31 MB)
#   runaway-spans    its spans one by one
#
#   bench/run.sh                 all workloads
#   bench/run.sh FILE...         your own export files instead of the fixtures
#   BENCH_SECONDS=1 BENCH_REPS=7 bench/run.sh
#
# Prints a table of MB/s (1 MB = 10^6 bytes) and ratios; exits 0 unless a
# build or a parse fails. Numbers are only comparable on an idle machine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${BENCH_BUILD_DIR:-$root/build-bench}
secs=${BENCH_SECONDS:-0.5}
reps=${BENCH_REPS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMS_TESTS=OFF \
    >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; exit 1; }
ninja -C "$build" bench_json >"$tmp/ninja.log" 2>&1 || { cat "$tmp/ninja.log"; exit 1; }
bench="$build/bench/bench_json"
py=${PYTHON:-python3}

if [ $# -gt 0 ]; then
    exports=("$@")
else
    shopt -s nullglob
    exports=("$root"/tests/fixtures/export/*.json)
    shopt -u nullglob
fi
"$root/tests/fixtures/hostile/gen_many_spans.py" 100000 >"$tmp/runaway.json"

results="$tmp/results.txt"
: >"$results"
run() { # label mode files...
    local label=$1 mode=$2
    shift 2
    echo "bench: $label ($mode, ${#@} file(s))" >&2
    "$bench" --mode "$mode" --label "$label" --min-seconds "$secs" --reps "$reps" \
        --dump-docs "$tmp/$label.jsonl" "$@" | tee -a "$results" >&2
    "$py" "$here/bench_json.py" --label "$label" --min-seconds "$secs" --reps "$reps" \
        "$tmp/$label.jsonl" | tee -a "$results" >&2
}
if [ ${#exports[@]} -gt 0 ]; then
    run export-whole whole "${exports[@]}"
    run export-spans spans "${exports[@]}"
else
    echo "bench: no tests/fixtures/export/*.json yet; only the synthetic workloads" >&2
fi
run runaway-whole whole "$tmp/runaway.json"
run runaway-spans spans "$tmp/runaway.json"

echo
"$py" - "$results" <<'PY'
import re, sys
rows, order = {}, []
for line in open(sys.argv[1]):
    kv = dict(re.findall(r"(\w+)=(\S+)", line))
    if "parser" not in kv:
        continue
    w = kv["workload"]
    if w not in rows:
        rows[w] = {}
        order.append(w)
    rows[w][kv["parser"]] = kv
    rows[w]["_bytes"] = kv["bytes"]
    rows[w]["_docs"] = kv["docs"]
fmt = "{:<15} {:>10} {:>7} {:>9} {:>12} {:>10} {:>16} {:>16}"
print(fmt.format("workload", "bytes", "docs", "json-c", "python-json", "mlsession",
                 "ratio-vs-json-c", "ratio-vs-python"))
for w in order:
    r = rows[w]
    jc = float(r["json-c"]["mb_s"]); pj = float(r["python-json"]["mb_s"])
    ms = float(r["mlsession"]["mb_s"])
    print(fmt.format(w, r["_bytes"], r["_docs"], f"{jc:.0f}", f"{pj:.0f}", f"{ms:.0f}",
                     f"{ms / jc:.1f}x", f"{ms / pj:.1f}x"))
print("(MB/s, 1 MB = 10^6 bytes; median of the repetitions)")
PY
