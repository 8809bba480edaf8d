# SPDX-License-Identifier: MIT
"""`sessions list` over PostgreSQL and over REST, against MLflow's own
mlflow.search_sessions on the same store in the same run (called by
bench/run_sessions.sh; run with the oracle venv's python).

    python sessions_remote.py --mlsession BIN --store STORE.db --probe RSS_PROBE
                              [--runs 5] [--mlflow-runs 1] [--only pg,rest]

STORE.db is a bench/gen_store.c SQLite store (MLflow 3.17.2's schema).

PostgreSQL: a private PostgreSQL 15 from tests/integration/pg_harness.py
(no fixtures); MLflow 3.17.2 creates its schema there (its own migrations,
through mlflow.search_experiments on the empty database), then experiment 1
and every row of trace_info, trace_tags, trace_request_metadata and spans
are copied from STORE.db (columns by name; the generated spans.duration_ns
is left to PostgreSQL); VACUUM ANALYZE.

REST: a real `mlflow server` (tests/integration/server_harness.py) over a
copy of STORE.db, 127.0.0.1, --workers 2, job execution off.

Per backend: `mlsession --tracking-uri URI sessions list -x 1 --format json`
under rss_probe, --runs times (median wall, peak RssAnon), and
`python bench/sessions_baseline.py mlflow URI 1` (mlflow.search_sessions,
include_spans=False) --mlflow-runs times, both as whole processes. Before
timing, both answers are compared: same session ids, turns, first/last
trace, first/last ms, errors, token totals.
"""
import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

TABLES = ["trace_info", "trace_tags", "trace_request_metadata", "spans"]


def probe(args, argv, out):
    p = subprocess.run([args.probe, "-o", out] + argv, capture_output=True, text=True)
    line = [ln for ln in p.stderr.splitlines() if ln.startswith("rss_probe:")]
    if p.returncode != 0 or not line:
        raise RuntimeError(f"{argv[:6]} failed ({p.returncode}): {p.stderr[-600:]}")
    kv = dict(x.split("=") for x in line[-1].split()[1:])
    return float(kv["wall_s"]), int(kv["anon_peak_kb"]) / 1024, int(kv["maxrss_kb"]) / 1024


def key_rows(doc):
    out = {}
    for r in doc["sessions"]:
        out[r["session_id"]] = (r["turns"], r["first_trace_id"], r["last_trace_id"], r["first_ms"],
                                r["last_ms"], r["errors"], (r.get("tokens") or {}).get("total"))
    return out


def bench_backend(args, name, ms_uri, ml_uri, env_extra=None):
    tmp = tempfile.mkdtemp(prefix="ms-sess-bench-")
    try:
        env = dict(os.environ)
        env.pop("MLFLOW_TRACKING_URI", None)
        env.update(env_extra or {})
        ms = [args.mlsession, "--tracking-uri", ms_uri, "sessions", "list", "-x", "1",
              "--format", "json"] + args.list_args.split()
        ml = [sys.executable, os.path.join(HERE, "sessions_baseline.py"), "mlflow", ml_uri, "1"]
        # correctness first (also the warm-up)
        ms_out, ml_out = os.path.join(tmp, "ms.json"), os.path.join(tmp, "ml.json")
        w_ml, a_ml, r_ml = probe(args, ml, ml_out)
        walls_ml = [w_ml]
        want = key_rows(json.load(open(ml_out)))
        try:
            probe(args, ms, ms_out)
        except RuntimeError as e:
            print(f"# {name}: mlsession failed: {e}", file=sys.stderr)
            return {"name": name, "ms": float("nan"), "ms_anon": float("nan"),
                    "ms_rss": float("nan"), "ml": w_ml, "ml_anon": a_ml, "ml_rss": r_ml,
                    "check": "mlsession failed", "sessions": len(want), "ms_all": [],
                    "ml_all": walls_ml}
        got = key_rows(json.load(open(ms_out)))
        if got == want:
            check = f"same {len(got)} sessions, {sum(v[0] for v in got.values())} turns"
        else:
            diff = [k for k in set(got) | set(want) if got.get(k) != want.get(k)]
            check = (f"MISMATCH: {len(got)} vs {len(want)} sessions, {len(diff)} differ, e.g. "
                     f"{[(k, got.get(k), want.get(k)) for k in diff[:2]]}")
        print(f"# {name}: mlsession vs mlflow.search_sessions: {check}", file=sys.stderr)
        walls, anons, rss = [], [], []
        for _ in range(args.runs):
            w, a, r = probe(args, ms, ms_out)
            walls.append(w), anons.append(a), rss.append(r)
        for _ in range(args.mlflow_runs - 1):
            walls_ml.append(probe(args, ml, ml_out)[0])
        return {"name": name, "ms": statistics.median(walls), "ms_anon": max(anons),
                "ms_rss": max(rss), "ml": statistics.median(walls_ml), "ml_anon": a_ml,
                "ml_rss": r_ml, "check": check, "sessions": len(got),
                "ms_all": walls, "ml_all": walls_ml}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def pg_load(pg, store):
    """MLflow creates the schema; rows are copied from the SQLite store."""
    import mlflow
    import psycopg2
    import psycopg2.extras
    t0 = time.monotonic()
    mlflow.set_tracking_uri(pg.sdk_uri)
    mlflow.search_experiments()  # runs MLflow's migrations on the empty database
    src = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    dst = psycopg2.connect(pg.uri)
    with dst, dst.cursor() as cur:
        def cols(table):
            cur.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s"
                        " AND is_generated = 'NEVER'", (table,))
            theirs = {r[0] for r in cur.fetchall()}
            mine = [r[1] for r in src.execute(f"PRAGMA table_xinfo({table})") if r[6] == 0]
            return [c for c in mine if c in theirs]
        c = cols("experiments")
        cur.execute("SELECT experiment_id FROM experiments")
        have = {r[0] for r in cur.fetchall()}
        for row in src.execute(f"SELECT {', '.join(c)} FROM experiments"):
            if row[c.index("experiment_id")] not in have:
                cur.execute(f"INSERT INTO experiments ({', '.join(c)}) VALUES "
                            f"({', '.join(['%s'] * len(c))})", row)
        counts = {}
        for table in TABLES:
            c = cols(table)
            q = src.execute(f"SELECT {', '.join(c)} FROM {table}")
            n = 0
            while True:
                batch = q.fetchmany(2000)
                if not batch:
                    break
                psycopg2.extras.execute_values(
                    cur, f"INSERT INTO {table} ({', '.join(c)}) VALUES %s", batch, page_size=2000)
                n += len(batch)
            counts[table] = n
    dst.close()
    c = pg.admin()
    c.autocommit = True
    with c.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    c.close()
    print(f"# pg: loaded {counts} in {time.monotonic() - t0:.0f}s", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mlsession", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--probe", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--mlflow-runs", type=int, default=1)
    ap.add_argument("--list-args", default="")
    ap.add_argument("--only", default="pg,rest")
    args = ap.parse_args()
    args.store = os.path.abspath(args.store)
    ntr = sqlite3.connect(f"file:{args.store}?mode=ro", uri=True).execute(
        "SELECT count(*) FROM trace_info WHERE experiment_id = 1").fetchone()[0]
    results = []
    only = args.only.split(",")
    if "pg" in only:
        from pg_harness import PgHarness, PgUnavailable
        try:
            with PgHarness(fixtures=False) as pg:
                pg_load(pg, args.store)
                results.append(bench_backend(args, "postgresql", pg.uri, pg.sdk_uri))
        except PgUnavailable as e:
            print(f"# pg: SKIPPED: {e}", file=sys.stderr)
    if "rest" in only:
        from server_harness import MlflowServer
        tmp = tempfile.mkdtemp(prefix="ms-sess-rest-")
        try:
            os.makedirs(os.path.join(tmp, "bench"))
            shutil.copy(args.store, os.path.join(tmp, "bench", "mlflow.db"))
            os.environ["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
            with MlflowServer(tmp, store="bench") as srv:
                results.append(bench_backend(args, "rest", srv.url, srv.url))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"PostgreSQL / REST: {ntr} traces (gen_store --huge 0), experiment 1; mlsession "
          f"median of {args.runs} runs, mlflow.search_sessions {args.mlflow_runs} run(s); "
          "whole processes")
    print(f"{'backend':<11} {'sessions':>8} {'mlsession':>10} {'anon peak':>10} "
          f"{'mlflow':>9} {'anon peak':>10} {'mlsession is':>13}")
    for r in results:
        print(f"{r['name']:<11} {r['sessions']:>8} {r['ms']:>8.3f} s {r['ms_anon']:>7.0f} MB "
              f"{r['ml']:>7.1f} s {r['ml_anon']:>7.0f} MB {r['ml'] / r['ms']:>12.0f}x")
    for r in results:
        print(f"{r['name']}: answers: {r['check']}; mlsession runs "
              f"{', '.join(f'{x:.3f}' for x in r['ms_all'])} s; mlflow runs "
              f"{', '.join(f'{x:.1f}' for x in r['ml_all'])} s")
    return 0 if all("MISMATCH" not in r["check"] and "failed" not in r["check"]
                    for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
