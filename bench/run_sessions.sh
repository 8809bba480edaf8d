#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `sessions list` / `sessions show` on big stores, side by side with the
# baselines, in one run (STYLE.md section 8: "baseline in the same run").
#
#   bench/run_sessions.sh                      1 000 000 traces (SQLite), then
#                                              PostgreSQL and REST with 10 000
#   BENCH_TRACES=20000 bench/run_sessions.sh   a smaller SQLite store
#   BENCH_RUNS=10 BENCH_PY_RUNS=3              repetitions (hyperfine medians)
#   BENCH_REMOTE=0 bench/run_sessions.sh       SQLite only
#   BENCH_REMOTE_TRACES=2000                   size of the PostgreSQL/REST store
#   BENCH_REMOTE_ONLY=1                        PostgreSQL and REST only
#   BENCH_LIST_ARGS="--limit 100"              extra `sessions list` arguments
#   BENCH_SHOW_ARGS="--format json"            `sessions show bench-sess-60` arguments
#   BENCH_NO_BUILD=1                           time the mlsession already in build-bench/
#
# SQLite (experiment 1 of bench/gen_store.c's store, cached as
# build-bench/search/store-n<N>-s<seed>.db exactly as bench/run_search.sh
# caches it; 1M traces take ~10 min and 26 GB to generate once):
#   mlsession    mlsession --tracking-uri DB sessions list -x 1 --format json
#   sqlite3      sqlite3 -readonly DB < bench/sessions_baseline.sql (the grouping
#                as one GROUP BY: session id by column > metadata > tag > legacy
#                tag, turns, first/last trace and time, tokens, errors)
#   sqlite3-col  the same from the session_id column only (the cheapest SQL)
#   python       bench/sessions_baseline.py sqlite DB 1 (Python sqlite3 + dicts)
#   show-60      mlsession sessions show bench-sess-60 (60 turns out of N)
# Wall: hyperfine medians (page cache warm). Memory: one run of each under
# bench/rss_probe (peak RssAnon sampled every 0.5 ms, and ru_maxrss, which
# also counts the file-backed pages of the SQLite file).
# Correctness, before timing: mlsession's sessions (id, turns, first/last
# trace, first/last ms, errors, token total) must equal sqlite3's and
# Python's. The store's sqlite_master, size and mtime must not change.
#
# PostgreSQL / REST (bench/sessions_remote.py): gen_store --huge 0 store of
# BENCH_REMOTE_TRACES (default 10 000) traces, as bench/run_rest.sh builds
# it; loaded into a private PostgreSQL 15 (tests/integration/pg_harness.py,
# schema created by MLflow 3.17.2 itself) and served by a real `mlflow
# server` on a copy; mlsession against mlflow.search_sessions through
# bench/sessions_baseline.py mlflow (same store, same run).
#
# Targets: list over 1M <= 0.6 s and <= 200 MB anonymous RSS, >= 5x the
# sqlite3 statement, >= 8x Python; show of 60 turns out of 1M <= 0.3 s.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${BENCH_BUILD_DIR:-$root/build-bench}
n=${BENCH_TRACES:-1000000}
seed=${BENCH_SEED:-42}
runs=${BENCH_RUNS:-10}
py_runs=${BENCH_PY_RUNS:-3}
limit=${BENCH_TIMEOUT:-300}
list_args=${BENCH_LIST_ARGS:-}
show_args=${BENCH_SHOW_ARGS:---format json}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- build ------------------------------------------------------------------
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMS_TESTS=OFF \
        >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; exit 1; }
    ninja -C "$build" mlsession >"$tmp/ninja.log" 2>&1 || { cat "$tmp/ninja.log"; exit 1; }
fi
ms="$build/mlsession"
[ -x "$ms" ] || { echo "run_sessions: no mlsession binary in $build" >&2; exit 1; }
mkdir -p "$build/search" "$build/sessions"
probe="$build/sessions/rss_probe"
if [ ! -x "$probe" ] || [ "$here/rss_probe.c" -nt "$probe" ]; then
    ${CC:-cc} -std=c11 -O2 -Wall -Wextra -o "$probe" "$here/rss_probe.c"
fi
gen="$build/search/gen_store"
if [ ! -x "$gen" ] || [ "$here/gen_store.c" -nt "$gen" ]; then
    ${CC:-cc} -std=c11 -O2 -Wall -Wextra -o "$gen" "$here/gen_store.c" -lsqlite3
fi
py=python3
if venv=$("$root/tools/oracle.sh" 2>/dev/null); then py="$venv/python"; fi

# time_cmd NAME RUNS CMD -> median seconds in $tmp/NAME.t (TIMEOUT if over $limit)
time_cmd() {
    local name=$1 reps=$2 cmd=$3 warm=1
    [ "$reps" -le 2 ] && warm=0
    if command -v hyperfine >/dev/null; then
        hyperfine -N --style none --warmup "$warm" --runs "$reps" --export-json "$tmp/$name.hf.json" \
            --command-name "$name" "timeout $limit bash -c $(printf '%q' "$cmd >/dev/null")" \
            >"$tmp/$name.hf.log" 2>&1 || { echo TIMEOUT >"$tmp/$name.t"; return 0; }
        python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print(r["median"])' \
            "$tmp/$name.hf.json" >"$tmp/$name.t"
    else
        local i s e
        : >"$tmp/$name.all"
        [ "$warm" = 1 ] && bash -c "$cmd" >/dev/null
        for ((i = 0; i < reps; i++)); do
            s=$(date +%s.%N)
            timeout "$limit" bash -c "$cmd" >/dev/null || { echo TIMEOUT >"$tmp/$name.t"; return 0; }
            e=$(date +%s.%N)
            awk -v a="$s" -v b="$e" 'BEGIN{print b-a}' >>"$tmp/$name.all"
        done
        sort -g "$tmp/$name.all" | awk '{v[NR]=$1} END{print (NR%2)? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}' \
            >"$tmp/$name.t"
    fi
}
# mem NAME CMD... -> "anon_peak_kb maxrss_kb" in $tmp/NAME.mem (one run)
mem() {
    local name=$1; shift
    "$probe" -o /dev/null "$@" 2>"$tmp/$name.probe" || true
    sed -n 's/.*maxrss_kb=\([0-9]*\) anon_peak_kb=\([0-9]*\).*/\2 \1/p' "$tmp/$name.probe" >"$tmp/$name.mem"
}

if [ "${BENCH_REMOTE_ONLY:-0}" != 1 ]; then
# ---- the SQLite store (cached by N and seed, shared with run_search.sh) ---------
db="$build/search/store-n$n-s$seed.db"
if [ ! -f "$db" ]; then
    echo "generating $n traces (seed $seed) into $db ..." >&2
    rm -f "$db.tmp"
    "$gen" --schema "$here/schema/mlflow-3.17.2.sql" --seed "$seed" "$db.tmp" "$n" \
        >"$build/search/gen-n$n-s$seed.log"
    mv "$db.tmp" "$db"
fi
master() { sqlite3 -readonly "$db" "SELECT type, name, tbl_name, rootpage, sql FROM sqlite_master" | md5sum; }
stamp() { stat -c '%s %Y' "$db"; }
master_before=$(master)
stamp_before=$(stamp)

# shellcheck disable=SC2086
ms_list=("$ms" --tracking-uri "$db" sessions list -x 1 --format json $list_args)
# shellcheck disable=SC2086
ms_show=("$ms" --tracking-uri "$db" sessions show bench-sess-60 $show_args)
sq_cmd() { printf 'sqlite3 -readonly %q < %q' "$db" "$1"; }
py_cmd="$(printf '%q ' python3 "$here/sessions_baseline.py" sqlite "$db" 1)"

# ---- correctness first ---------------------------------------------------------
echo "# checking answers on $db ..." >&2
"${ms_list[@]}" >"$tmp/ms.json"
sqlite3 -readonly "$db" <"$here/sessions_baseline.sql" >"$tmp/sq.txt"
sqlite3 -readonly "$db" <"$here/sessions_baseline_column.sql" >"$tmp/sqc.txt"
python3 "$here/sessions_baseline.py" sqlite "$db" 1 >"$tmp/py.json" 2>"$tmp/py.err"
check_rc=0
python3 - "$tmp/ms.json" "$tmp/sq.txt" "$tmp/sqc.txt" "$tmp/py.json" <<'EOF' || check_rc=$?
import json, sys
def key(sid, turns, f, l, fm, lm, err, tok):
    return (sid, int(turns), f, l, int(fm), int(lm), int(err), int(tok or 0))
ms = json.load(open(sys.argv[1]))
got = {r["session_id"]: key(r["session_id"], r["turns"], r["first_trace_id"], r["last_trace_id"],
                            r["first_ms"], r["last_ms"], r["errors"],
                            (r.get("tokens") or {}).get("total")) for r in ms["sessions"]}
if ms.get("total") != len(got):
    print(f"# note: mlsession lists {len(got)} of total {ms.get('total')} sessions "
          "(a default --limit?); comparing those", file=sys.stderr)
def sq(path):
    out = {}
    for line in open(path, encoding="utf-8"):
        c = line.rstrip("\n").split("|")
        out[c[0]] = key(c[0], c[1], c[2], c[3], c[4], c[5], c[11], c[10] or 0)
    return out
want = {"sqlite3": sq(sys.argv[2]), "sqlite3-col": sq(sys.argv[3])}
py = json.load(open(sys.argv[4]))
want["python"] = {r["session_id"]: key(r["session_id"], r["turns"], r["first_trace_id"],
                                       r["last_trace_id"], r["first_ms"], r["last_ms"],
                                       r["errors"], (r["tokens"] or {}).get("total"))
                  for r in py["sessions"]}
bad = 0
for name, w in want.items():
    sub = {k: w.get(k) for k in got} if ms.get("total") != len(got) else w
    if ms.get("total") != len(w) or sub != got:
        diff = [k for k in set(sub) | set(got) if sub.get(k) != got.get(k)]
        print(f"# MISMATCH mlsession vs {name}: total {ms.get('total')} vs {len(w)}; "
              f"{len(diff)} sessions differ, e.g. {[(k, got.get(k), sub.get(k)) for k in diff[:2]]}",
              file=sys.stderr)
        bad = 1
    else:
        print(f"# mlsession = {name}: {len(w)} sessions, {sum(v[1] for v in w.values())} turns",
              file=sys.stderr)
sys.exit(bad)
EOF
echo "$check_rc" >"$tmp/check.rc"
show_ok=1
"${ms_show[@]}" >"$tmp/show.out" 2>"$tmp/show.err" || show_ok=0
[ $show_ok = 1 ] || echo "# sessions show failed: $(head -c 300 "$tmp/show.err")" >&2
if [ $show_ok = 1 ]; then
    python3 - "$tmp/show.out" <<'EOF' || show_ok=0
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    n = len(d.get("turns", [])) if isinstance(d, dict) else -1
except ValueError:
    n = -1  # not JSON (BENCH_SHOW_ARGS asked for another format): not checked
if n not in (-1, 60):
    sys.exit(f"# sessions show bench-sess-60: {n} turns, want 60")
print("# sessions show bench-sess-60: " + ("60 turns" if n == 60 else "output not JSON, not checked"),
      file=sys.stderr)
EOF
fi

# ---- timing and memory --------------------------------------------------------------
echo "# timing ..." >&2
time_cmd list "$runs" "$(printf '%q ' "${ms_list[@]}")"
time_cmd sq "$runs" "$(sq_cmd "$here/sessions_baseline.sql")"
time_cmd sqc "$runs" "$(sq_cmd "$here/sessions_baseline_column.sql")"
time_cmd py "$py_runs" "$py_cmd"
if [ $show_ok = 1 ]; then time_cmd show "$runs" "$(printf '%q ' "${ms_show[@]}")"; else echo NaN >"$tmp/show.t"; fi
echo "# memory ..." >&2
mem list "${ms_list[@]}"
mem sq sh -c "exec sqlite3 -readonly '$db' < '$here/sessions_baseline.sql'"
mem sqc sh -c "exec sqlite3 -readonly '$db' < '$here/sessions_baseline_column.sql'"
mem py python3 "$here/sessions_baseline.py" sqlite "$db" 1
if [ $show_ok = 1 ]; then mem show "${ms_show[@]}"; else echo "0 0" >"$tmp/show.mem"; fi

[ "$(master)" = "$master_before" ] || { echo "run_sessions: sqlite_master changed!" >&2; exit 1; }
[ "$(stamp)" = "$stamp_before" ] || { echo "run_sessions: the store file changed!" >&2; exit 1; }

# ---- the table -----------------------------------------------------------------------
echo
echo "SQLite store: $n traces, seed $seed ($(du -h "$db" | cut -f1)); median of $runs runs" \
     "(python: $py_runs) with hyperfine; memory from one run under rss_probe"
python3 - "$tmp" "$limit" "$(cat "$tmp/check.rc")" <<'EOF'
import math, sys
tmp, lim, check = sys.argv[1], float(sys.argv[2]), sys.argv[3]
def t(name):
    v = open(f"{tmp}/{name}.t").read().strip()
    return math.inf if v == "TIMEOUT" else float(v)
def m(name):
    a, r = (int(x) for x in (open(f"{tmp}/{name}.mem").read().split() or ["0", "0"]))
    return a / 1024, r / 1024
rows = [("sessions list", "list"), ("sqlite3 statement", "sq"), ("sqlite3 (column)", "sqc"),
        ("python sqlite3+dicts", "py"), ("sessions show 60", "show")]
L = t("list")
print(f"{'side':<22} {'wall':>9} {'anon peak':>10} {'maxrss':>9} {'list is':>9}")
for label, k in rows:
    w = t(k)
    a, r = m(k)
    fw = "-" if math.isnan(w) else (f"> {lim:.0f} s" if math.isinf(w) else f"{w:.3f} s")
    ratio = "" if k in ("list", "show") or math.isnan(w) else f"{w / L:.1f}x"
    print(f"{label:<22} {fw:>9} {a:>7.0f} MB {r:>6.0f} MB {ratio:>9}")
print("(list is = baseline wall / sessions list wall; > 1 means mlsession is faster)")
print("targets (the issue states them for 1M traces):")
def tgt(name, ok, val):
    print(f"target {name}: {'met' if ok else 'NOT met'} ({val})")
a, _ = m("list")
tgt("sessions list <= 0.6 s", L <= 0.6, f"{L:.3f} s")
tgt("sessions list <= 200 MB anonymous RSS", a <= 200, f"{a:.0f} MB")
tgt(">= 5x the sqlite3 statement", t("sq") / L >= 5, f"{t('sq') / L:.1f}x")
tgt(">= 8x Python", t("py") / L >= 8, f"{t('py') / L:.1f}x")
s = t("show")
tgt("sessions show of 60 turns <= 0.3 s", not math.isnan(s) and s <= 0.3,
    "not available" if math.isnan(s) else f"{s:.3f} s")
print("answers: " + ("mlsession = sqlite3 = python (sessions, turns, first/last trace and time, "
                     "errors, tokens)" if check == "0" else "MISMATCH (see the # lines above)"))
EOF
echo "sqlite_master, size and mtime of the store: unchanged"
fi

# ---- PostgreSQL and REST -------------------------------------------------------------
if [ "${BENCH_REMOTE:-1}" != 0 ]; then
    rn=${BENCH_REMOTE_TRACES:-10000}
    mkdir -p "$build/rest"
    rdb="$build/rest/store-n$rn-s$seed-h0.db"
    if [ ! -f "$rdb" ]; then
        echo "generating $rn traces (seed $seed, --huge 0) into $rdb ..." >&2
        rm -f "$rdb.tmp"
        "$gen" --schema "$here/schema/mlflow-3.17.2.sql" --seed "$seed" --huge 0 "$rdb.tmp" "$rn" \
            >"$build/rest/gen-n$rn-s$seed-h0.log"
        mv "$rdb.tmp" "$rdb"
    fi
    echo
    # shellcheck disable=SC2086
    "$py" "$here/sessions_remote.py" --mlsession "$ms" --store "$rdb" --probe "$probe" \
        --runs "${BENCH_REMOTE_RUNS:-5}" --mlflow-runs "${BENCH_MLFLOW_RUNS:-1}" \
        --list-args "$list_args"
fi
exit 0
