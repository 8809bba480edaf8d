#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `mlsession analyze --all` over a generated store, side by side with the same
# span-content pass in Python (orjson, else json) and in sqlite3 (json_extract),
# in one run (STYLE.md section 8: "baseline in the same run").
#
#   bench/run_analyze.sh                       100 000 traces, seed 42
#   BENCH_TRACES=2000 bench/run_analyze.sh     a smaller store
#   BENCH_RUNS=3 BENCH_BASE_RUNS=3             repetitions (hyperfine medians)
#   BENCH_REV=HEAD bench/run_analyze.sh        build that commit (git archive into
#                                              build-bench/analyze/src-<rev>), not
#                                              the working tree (others' edits)
#   BENCH_NO_BUILD=1                           time the mlsession already built
#   BENCH_BEFORE=<rev>                         also time `analyze --all` of that
#                                              commit (built the same way), same run
#   BENCH_PATTERNS=0                           without the `patterns` row
#   BENCH_TIMEOUT=1800                         seconds one command may take
#
# Sides (store cached as build-bench/search/store-n<N>-s<seed>.db, exactly as
# bench/run_search.sh caches it; 100k traces: about 2 minutes and 2.8 GB):
#   analyze   mlsession --tracking-uri DB analyze --all --format json
#   patterns  mlsession --tracking-uri DB patterns --format json
#             (every session through ms_sessions_foreach: batched loading)
#   python    bench/analyze_baseline.py scan DB: every span's content parsed
#             with orjson (venv ~/.cache/mlsession/bench-py), per session the
#             token sums of mlflow.chat.tokenUsage, spans in error, exception
#             events, turns whose root span failed
#   sqlite3   sqlite3 -readonly -json DB < bench/analyze_baseline.sql: the same
#             totals with json_extract / json_each over spans.content
# Throughput = bytes of span content of the store's experiments (SELECT
# sum(length(CAST(content AS BLOB))) FROM spans) / wall, in GB/s (10^9 bytes).
# Correctness, before timing: Python = sqlite3 on every per-session total;
# `mlsession sessions list --format json` (tokens and errors from trace_info)
# = the span totals; `analyze`'s sessions and turns = the span totals, and its
# error.trace findings = the turns whose root span failed. The store's
# sqlite_master, size and mtime must not change.
# Target (the analyze issue): analyze --all >= 1 GB/s of span content.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${BENCH_BUILD_DIR:-$root/build-bench}
n=${BENCH_TRACES:-100000}
seed=${BENCH_SEED:-42}
runs=${BENCH_RUNS:-3}
base_runs=${BENCH_BASE_RUNS:-3}
limit=${BENCH_TIMEOUT:-1800}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$build/search" "$build/analyze"

# ---- build --------------------------------------------------------------------
src=$root
bdir=$build
if [ -n "${BENCH_REV:-}" ]; then
    rev=$(git -C "$root" rev-parse --short "$BENCH_REV")
    src="$build/analyze/src-$rev"
    bdir="$build/analyze/build-$rev"
    if [ ! -f "$src/CMakeLists.txt" ]; then
        mkdir -p "$src"
        git -C "$root" archive "$rev" | tar -x -C "$src"
    fi
fi
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
    cmake -S "$src" -B "$bdir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMS_TESTS=OFF \
        >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; exit 1; }
    ninja -C "$bdir" mlsession >"$tmp/ninja.log" 2>&1 || { cat "$tmp/ninja.log"; exit 1; }
fi
ms="$bdir/mlsession"
[ -x "$ms" ] || { echo "run_analyze: no mlsession binary in $bdir" >&2; exit 1; }
gen="$build/search/gen_store"
if [ ! -x "$gen" ] || [ "$here/gen_store.c" -nt "$gen" ]; then
    ${CC:-cc} -std=c11 -O2 -Wall -Wextra -o "$gen" "$here/gen_store.c" -lsqlite3
fi

# Python with orjson: a venv of our own; the standard json when pip cannot reach
# an index.
venv=${BENCH_PY_VENV:-$HOME/.cache/mlsession/bench-py}
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >/dev/null 2>&1 || true
fi
py=python3
if [ -x "$venv/bin/python" ]; then
    py="$venv/bin/python"
    "$py" -c 'import orjson' 2>/dev/null ||
        timeout 120 "$venv/bin/pip" install -q orjson >/dev/null 2>&1 || true
fi

# ---- the store (cached by N and seed, shared with run_search.sh) -------------------
db="$build/search/store-n$n-s$seed.db"
if [ ! -f "$db" ]; then
    echo "generating $n traces (seed $seed) into $db ..." >&2
    rm -f "$db.tmp"
    start=$(date +%s.%N)
    "$gen" --schema "$here/schema/mlflow-3.17.2.sql" --seed "$seed" "$db.tmp" "$n" \
        >"$build/search/gen-n$n-s$seed.log"
    end=$(date +%s.%N)
    echo "generated in $(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.0f", b-a}') s" \
        >>"$build/search/gen-n$n-s$seed.log"
    mv "$db.tmp" "$db"
fi
master() { sqlite3 -readonly "$db" "SELECT type, name, tbl_name, rootpage, sql FROM sqlite_master" | md5sum; }
stamp() { stat -c '%s %Y' "$db"; }
master_before=$(master)
stamp_before=$(stamp)

# bytes of span content of the analyzed experiments (all of the store's), cached
bytes_file="$build/analyze/bytes-n$n-s$seed.txt"
if [ ! -s "$bytes_file" ] || [ "$db" -nt "$bytes_file" ]; then
    sqlite3 -readonly "$db" "SELECT sum(length(CAST(content AS BLOB))), count(*) FROM spans" \
        >"$bytes_file"
fi
bytes=$(cut -d'|' -f1 "$bytes_file")
nspans=$(cut -d'|' -f2 "$bytes_file")

ms_an=("$ms" --tracking-uri "$db" analyze --all --format json)
before=""
if [ -n "${BENCH_BEFORE:-}" ]; then
    before=$(git -C "$root" rev-parse --short "$BENCH_BEFORE")
    bsrc="$build/analyze/src-$before"
    bbin="$build/analyze/build-$before"
    if [ ! -f "$bsrc/CMakeLists.txt" ]; then
        mkdir -p "$bsrc"
        git -C "$root" archive "$before" | tar -x -C "$bsrc"
    fi
    if [ ! -x "$bbin/mlsession" ] || [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
        cmake -S "$bsrc" -B "$bbin" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMS_TESTS=OFF \
            >"$tmp/cmake-b.log" 2>&1 || { cat "$tmp/cmake-b.log"; exit 1; }
        ninja -C "$bbin" mlsession >"$tmp/ninja-b.log" 2>&1 || { cat "$tmp/ninja-b.log"; exit 1; }
    fi
    ms_before=("$bbin/mlsession" --tracking-uri "$db" analyze --all --format json)
fi
ms_pat=("$ms" --tracking-uri "$db" patterns --format json)
py_cmd="$(printf '%q ' "$py" "$here/analyze_baseline.py" scan "$db")"
sq_cmd="$(printf 'sqlite3 -readonly -json %q < %q' "$db" "$here/analyze_baseline.sql")"

# time_cmd NAME RUNS CMD -> median wall, user, sys seconds in $tmp/NAME.t
time_cmd() {
    local name=$1 reps=$2 cmd=$3 warm=1
    [ "$reps" -le 3 ] && warm=0 # the correctness pass has read the store already
    if command -v hyperfine >/dev/null; then
        # analyze exits 1 when a finding is an error: not a failure here
        hyperfine -N -i --style none --warmup "$warm" --runs "$reps" \
            --export-json "$tmp/$name.hf.json" --command-name "$name" \
            "timeout $limit bash -c $(printf '%q' "$cmd >/dev/null")" \
            >"$tmp/$name.hf.log" 2>&1 || { echo "TIMEOUT 0 0 -" >"$tmp/$name.t"; return 0; }
        python3 - "$tmp/$name.hf.json" >"$tmp/$name.t" <<'EOF'
import json, statistics, sys
r = json.load(open(sys.argv[1]))["results"][0]
codes = set(r.get("exit_codes") or [])
if 124 in codes:
    print("TIMEOUT 0 0 -")
else:
    # user/system: hyperfine's means (it keeps no per-run user/system times)
    print(r["median"], r["user"], r["system"], ",".join(f"{t:.2f}" for t in r["times"]))
EOF
    else
        local i s e
        : >"$tmp/$name.all"
        [ "$warm" = 1 ] && bash -c "$cmd" >/dev/null || true
        for ((i = 0; i < reps; i++)); do
            s=$(date +%s.%N)
            timeout "$limit" bash -c "$cmd" >/dev/null || [ $? = 1 ] ||
                { echo "TIMEOUT 0 0 -" >"$tmp/$name.t"; return 0; }
            e=$(date +%s.%N)
            awk -v a="$s" -v b="$e" 'BEGIN{print b-a}' >>"$tmp/$name.all"
        done
        sort -g "$tmp/$name.all" | awk '{v[NR]=$1} END{print ((NR%2)? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2), "nan nan -"}' \
            >"$tmp/$name.t"
    fi
}

# ---- correctness first --------------------------------------------------------------
echo "# $(date -u +%H:%M:%S) checking answers on $db ($(uptime | sed 's/.*load/load/')) ..." >&2
an_rc=0
"${ms_an[@]}" >"$tmp/an.json" 2>"$tmp/an.err" || an_rc=$?
[ $an_rc -le 1 ] || { echo "run_analyze: analyze failed ($an_rc): $(head -c 300 "$tmp/an.err")" >&2; exit 1; }
"$ms" --tracking-uri "$db" sessions list --format json >"$tmp/list.json"
eval "$py_cmd" >"$tmp/py.jsonl"
eval "$sq_cmd" >"$tmp/sq.json"
check_rc=0
"$py" "$here/analyze_baseline.py" compare "$tmp/py.jsonl" "$tmp/sq.json" "$tmp/list.json" \
    "$tmp/an.json" >"$tmp/check.txt" || check_rc=$?
cat "$tmp/check.txt" >&2
pat=${BENCH_PATTERNS:-1}
if [ "$pat" = 1 ]; then
    if "${ms_pat[@]}" >"$tmp/pat.json" 2>"$tmp/pat.err"; then
        "$py" - "$tmp/pat.json" "$tmp/py.jsonl" >&2 <<'EOF' || true
import json, sys
p = json.load(open(sys.argv[1]))
s = [json.loads(l) for l in open(sys.argv[2]) if l.strip()][-1]["summary"]
same = p.get("sessions") == s["sessions"] and p.get("turns") == s["turns"]
print(f"# patterns {'=' if same else '!='} span totals: {p.get('sessions')} sessions, "
      f"{p.get('turns')} turns")
EOF
    else
        echo "# patterns failed, not timed: $(head -c 300 "$tmp/pat.err")" >&2
        pat=0
    fi
fi

# ---- timing ------------------------------------------------------------------------
echo "# $(date -u +%H:%M:%S) timing ($(uptime | sed 's/.*load/load/')) ..." >&2
time_cmd analyze "$runs" "$(printf '%q ' "${ms_an[@]}")"
if [ -n "$before" ]; then time_cmd before "$runs" "$(printf '%q ' "${ms_before[@]}")"; fi
if [ "$pat" = 1 ]; then time_cmd patterns "$runs" "$(printf '%q ' "${ms_pat[@]}")"; fi
time_cmd python "$base_runs" "$py_cmd"
time_cmd sqlite3 "$base_runs" "$sq_cmd"
load_after=$(uptime | sed 's/.*load average: //')
echo "# $(date -u +%H:%M:%S) done (load $load_after)" >&2

[ "$(master)" = "$master_before" ] || { echo "run_analyze: sqlite_master changed!" >&2; exit 1; }
[ "$(stamp)" = "$stamp_before" ] || { echo "run_analyze: the store file changed!" >&2; exit 1; }

# ---- the table -------------------------------------------------------------------------
echo
echo "store: $n traces, seed $seed ($(du -h "$db" | cut -f1)), $nspans spans, $bytes bytes of span" \
     "content; mlsession $( [ -n "${BENCH_REV:-}" ] && echo "commit $rev" ||
        echo "working tree at $(git -C "$root" rev-parse --short HEAD)"); median of $runs runs" \
     "(baselines: $base_runs) with hyperfine; load average after: $load_after"
python3 - "$tmp" "$bytes" "$limit" "$check_rc" "$pat" "$py" "$before" <<'EOF'
import math, subprocess, sys
tmp, nbytes, lim, check, pat, py, before = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]
def t(name):
    try:
        w, u, s, runs = open(f"{tmp}/{name}.t").read().split()
    except FileNotFoundError:
        return None
    return (math.inf if w == "TIMEOUT" else float(w), float(u), float(s), runs)
parser = subprocess.run([py, "-c", "import orjson; print('orjson', orjson.__version__)"],
                        capture_output=True, text=True).stdout.strip() or "json (stdlib)"
rows = [("analyze --all", "analyze"), (f"analyze --all @{before}", "before"), ("patterns", "patterns"),
        (f"python + {parser}", "python"), ("sqlite3 json_extract", "sqlite3")]
A = t("analyze")[0]
print(f"{'side':<24} {'wall':>10} {'user':>8} {'sys':>7} {'GB/s wall':>10} {'GB/s cpu':>9} "
      f"{'analyze is':>10}  runs (s)")
for label, k in rows:
    r = t(k)
    if r is None:
        continue
    w, u, s, runs = r
    fw = f"> {lim:.0f} s" if math.isinf(w) else f"{w:.2f} s"
    gw = nbytes / w / 1e9
    gc = nbytes / (u + s) / 1e9 if u + s > 0 else float("nan")
    ratio = "" if k == "analyze" else f"{w / A:.2f}x"
    print(f"{label:<24} {fw:>10} {u:>6.2f} s {s:>5.2f} s {gw:>10.3f} {gc:>9.3f} {ratio:>10}  {runs}")
print("(GB/s = span content bytes / time, 10^9 bytes; cpu = user + sys, hyperfine's means;")
print(" analyze is = side wall / analyze wall: > 1 means analyze is faster)")
g = nbytes / A / 1e9
print(f"target analyze --all >= 1 GB/s of span content: {'met' if g >= 1 else 'NOT met'} "
      f"({g:.3f} GB/s{'' if g >= 1 else f', {1 / g:.0f}x short'})")
print("answers: " + ("the checks above agree" if check == "0" else "MISMATCH (see the checks above)"))
print("sqlite_master, size and mtime of the store: unchanged")
EOF
