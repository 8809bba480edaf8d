#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Export every trace of a 10k-trace store, with spans, from a real MLflow
# tracking server over REST: mlsession against MLflow's own Python client
# (bench/rest_client.py: TracingClient.search_traces + json.dumps of each
# trace's to_dict()), on the same server, in one run (STYLE.md section 8).
#
#   bench/run_rest.sh                      10 000 traces, seed 42, 3 runs each
#   BENCH_TRACES=2000 bench/run_rest.sh    a smaller store
#   BENCH_RUNS=1 BENCH_SEED=7 bench/run_rest.sh
#   BENCH_PAGE=500                         page size of both clients (default)
#   BENCH_MLFLOW=0 bench/run_rest.sh       skip the Python client column
#
# Target (the project's issue): client CPU <= 10 % of wall time.
#
# The store is bench/gen_store.c's (MLflow 3.17.2's schema), generated with
# --huge 0 (no 20k-50k-span runaway traces: a plain export workload) and
# cached in build-bench/rest/ by N and seed. The server runs on a copy of it:
# `mlflow server` from tools/oracle.sh, 127.0.0.1 only, a free port,
# --workers 2, job execution off; it is stopped on exit (trap).
#
# Per client and run: wall = the whole export (all pages); client CPU =
# user+sys of the client processes only (/usr/bin/time; for mlsession the sum
# over its one-process-per-page calls). Medians over BENCH_RUNS. Each run's
# output is checked: the set of trace ids and the span count must equal the
# store's and the other client's. Exits non-zero if a check or a client fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${BENCH_BUILD_DIR:-$root/build-bench}
n=${BENCH_TRACES:-10000}
seed=${BENCH_SEED:-42}
runs=${BENCH_RUNS:-3}
page=${BENCH_PAGE:-500}
with_mlflow=${BENCH_MLFLOW:-1}
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "run_rest: needs GNU time (apt-get install time)" >&2; exit 1; }
tmp=$(mktemp -d)
srv_pid=""
cleanup() {
    if [ -n "$srv_pid" ]; then
        kill -TERM -- "-$srv_pid" 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 -- "-$srv_pid" 2>/dev/null || break
            sleep 0.5
        done
        kill -KILL -- "-$srv_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- build ------------------------------------------------------------------
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMS_TESTS=OFF \
    >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; exit 1; }
ninja -C "$build" mlsession >"$tmp/ninja.log" 2>&1 || { cat "$tmp/ninja.log"; exit 1; }
ms="$build/mlsession"
[ -x "$ms" ] || { echo "run_rest: no mlsession binary in $build" >&2; exit 1; }
venv=$("$root/tools/oracle.sh")
py="$venv/python"

mkdir -p "$build/rest"
gen="$build/rest/gen_store"
if [ ! -x "$gen" ] || [ "$here/gen_store.c" -nt "$gen" ]; then
    ${CC:-cc} -std=c11 -O2 -Wall -Wextra -o "$gen" "$here/gen_store.c" -lsqlite3
fi
db="$build/rest/store-n$n-s$seed-h0.db"
if [ ! -f "$db" ]; then
    echo "generating $n traces (seed $seed, --huge 0) into $db ..." >&2
    rm -f "$db.tmp"
    "$gen" --schema "$here/schema/mlflow-3.17.2.sql" --seed "$seed" --huge 0 "$db.tmp" "$n" \
        >"$build/rest/gen-n$n-s$seed-h0.log"
    mv "$db.tmp" "$db"
fi
sed 's/^/# /' "$build/rest/gen-n$n-s$seed-h0.log" >&2 2>/dev/null || true
want_traces=$(sqlite3 -readonly "$db" "SELECT count(*) FROM trace_info WHERE experiment_id = 1")
want_spans=$(sqlite3 -readonly "$db" "SELECT count(*) FROM spans WHERE experiment_id = 1")

# ---- the server ---------------------------------------------------------------
cp "$db" "$tmp/mlflow.db"
mkdir -p "$tmp/artifacts"
port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
(
    cd "$tmp"
    unset MLFLOW_TRACKING_URI MLFLOW_TRACKING_USERNAME MLFLOW_TRACKING_PASSWORD MLFLOW_TRACKING_TOKEN
    export MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false
    exec setsid "$venv/mlflow" server --backend-store-uri "sqlite:///$tmp/mlflow.db" \
        --artifacts-destination "$tmp/artifacts" --host 127.0.0.1 --port "$port" --workers 2 \
        </dev/null >"$tmp/server.log" 2>&1
) &
srv_pid=$!
for _ in $(seq 120); do
    if curl -sf "$url/health" >/dev/null 2>&1; then break; fi
    kill -0 "$srv_pid" 2>/dev/null || { tail -20 "$tmp/server.log"; exit 1; }
    sleep 0.5
done
curl -sf "$url/health" >/dev/null || { echo "run_rest: server did not start" >&2; tail -20 "$tmp/server.log"; exit 1; }
echo "# server $url (mlflow $("$py" -c 'import mlflow; print(mlflow.__version__)'), --workers 2)" >&2

now() { date +%s.%N; }

# mlsession: one process per page; sum the processes' user+sys.
run_ms() {  # OUTDIR -> prints "wall cpu"
    local out=$1 tok="" k=0 start end last
    mkdir -p "$out"
    : >"$out/time.log"
    start=$(now)
    while :; do
        local f; f=$(printf '%s/page-%04d.json' "$out" "$k")
        if [ -z "$tok" ]; then
            "$TIME" -f "%e %U %S" -a -o "$out/time.log" "$ms" --tracking-uri "$url" traces search \
                -x 1 --max-results "$page" --output json >"$f"
        else
            "$TIME" -f "%e %U %S" -a -o "$out/time.log" "$ms" --tracking-uri "$url" traces search \
                -x 1 --max-results "$page" --output json --page-token "$tok" >"$f"
        fi
        k=$((k + 1))
        last=$(tail -c 300 "$f")
        tok=$(printf '%s' "$last" | sed -n 's/.*"next_page_token": *"\([^"]*\)".*/\1/p' | tail -1)
        [ -n "$tok" ] || break
    done
    end=$(now)
    awk -v a="$start" -v b="$end" '{c += $2 + $3} END {printf "%.3f %.3f\n", b - a, c}' "$out/time.log"
}

run_py() {  # OUTDIR -> prints "wall cpu"
    local out=$1
    mkdir -p "$out"
    "$TIME" -f "%e %U %S" -o "$out/time.log" env -u MLFLOW_TRACKING_URI \
        "$py" "$here/rest_client.py" "$url" 1 "$page" "$out" 2>"$out/stderr.log" \
        || { cat "$out/stderr.log" >&2; return 1; }
    grep '^rest_client:' "$out/stderr.log" | sed 's/^/# /' >&2
    awk '{printf "%.3f %.3f\n", $1, $2 + $3}' "$out/time.log"
}

# trace count, span count and an md5 of the sorted trace ids of one export
summarize() {
    "$py" - "$1" <<'EOF'
import glob, hashlib, json, sys
ids, spans = [], 0
for p in sorted(glob.glob(sys.argv[1] + "/page-*.json")):
    for t in json.load(open(p))["traces"]:
        ids.append(t["info"]["trace_id"])
        spans += len(t["data"]["spans"])
print(len(ids), len(set(ids)), spans, hashlib.md5("\n".join(sorted(ids)).encode()).hexdigest())
EOF
}
want_ids=$(sqlite3 -readonly "$db" "SELECT request_id FROM trace_info WHERE experiment_id = 1 ORDER BY request_id" \
    | "$py" -c 'import hashlib,sys; print(hashlib.md5("\n".join(sorted(sys.stdin.read().split())).encode()).hexdigest())')

clients="mlsession"
[ "$with_mlflow" = 1 ] && clients="mlsession mlflow-python"
fail=0
for r in $(seq "$runs"); do
    for c in $clients; do
        out="$tmp/$c-$r"
        case $c in
            mlsession) res=$(run_ms "$out") ;;
            *) res=$(run_py "$out") ;;
        esac
        sum=$(summarize "$out")
        set -- $sum
        ok=ok
        if [ "$1" != "$want_traces" ] || [ "$2" != "$want_traces" ] || [ "$3" != "$want_spans" ] \
            || [ "$4" != "$want_ids" ]; then
            ok="MISMATCH (want $want_traces traces, $want_spans spans)"; fail=1
        fi
        echo "# run $r $c: wall/cpu $res; traces $1 (unique $2), spans $3, ids md5 $4: $ok" >&2
        echo "$c $res $1 $3" >>"$tmp/results"
        rm -rf "$out"
    done
done

# ---- the table ----------------------------------------------------------------
echo
printf '%-11s %-14s %9s %11s %13s %7s %7s\n' workload client wall client-cpu cpu%-of-wall traces spans
for c in $clients; do
    awk -v c="$c" -v w="export-$n" '
        $1 == c { n++; wall[n] = $2; cpu[n] = $3; pct[n] = 100 * $3 / $2; tr = $4; sp = $5 }
        function med(a, n,   i, j, t) {
            for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
            return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        END { printf "%-11s %-14s %8.1fs %10.2fs %12.1f%% %7d %7d\n", w, c, med(wall, n), med(cpu, n), med(pct, n), tr, sp }
    ' "$tmp/results"
done
echo "(medians of $runs runs; page size $page; $(nproc) CPUs, server and client on the same machine)"
exit $fail
