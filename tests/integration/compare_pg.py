# SPDX-License-Identifier: MIT
"""Differential suite on PostgreSQL: mlsession's libpq backend against the
real MLflow on the same database.

A private PostgreSQL 15 is started and filled by MLflow itself
(pg_harness.py: the fixture generator's "main" profile), or an existing
one is used (--uri / --sdk-uri / --reader-uri, e.g. from `pg_harness.py`).
Then, as compare_get.py and compare_search.py do for SQLite:

  1. for every trace of every experiment: `mlsession --tracking-uri
     postgresql://... traces get` against `mlflow traces get` (click's
     CliRunner in-process, MLFLOW_TRACKING_URI=postgresql+psycopg2://...),
     as parsed JSON (object key order ignored);
  2. every filter of filters.txt ("!refuse " prefix: mlsession must exit 2)
     plus compare_search's orders, through `traces search --output json
     --max-results 500`, on every experiment: same ids in the same order and
     the same JSON, or a refusal on both sides;
  3. paging through the client API (page sizes 1, 7, 50);
  4. the read-only proof: the database's write counters (pg_stat_database
     tup_inserted/updated/deleted, pg_stat_user_tables n_tup_*) do not move
     across a full mlsession run, and a role with nothing but SELECT grants
     reads the same answers; a wrong password never shows in the error;
  5. last (it rewrites a few traces as the owner): spans read back from
     traces.json artifacts instead of the spans table, on both sides.

Prints "pg: N passed, N failed, N skipped" and appends "P F S" to $MS_TALLY.
When PostgreSQL cannot be started the suite is skipped loudly, or fails
under CI=true.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from compare_get import first_diff  # noqa: E402
from compare_search import ORDERS, read_filters  # noqa: E402
from pg_harness import PgHarness, PgUnavailable  # noqa: E402


def tally(p, f, s):
    path = os.environ.get("MS_TALLY")
    if path:
        with open(path, "a") as fh:
            fh.write(f"{p} {f} {s}\n")


class Suite:
    def __init__(self, args, uri, sdk_uri, reader_uri):
        self.args, self.uri, self.sdk_uri, self.reader_uri = args, uri, sdk_uri, reader_uri
        self.passed = self.failed = self.skipped = 0
        self.counts = {}

    def ok(self, label, what=""):
        self.passed += 1
        if self.args.verbose:
            print(f"ok   {label}{': ' + what if what else ''}")

    def fail(self, label, why):
        self.failed += 1
        print(f"FAIL {label}: {why}")

    def ours(self, argv, uri=None):
        return subprocess.run([self.args.mlsession, "--tracking-uri", uri or self.uri] + argv,
                              capture_output=True)

    # ------------------------------------------------------------------
    def run(self):
        import mlflow
        from click.testing import CliRunner
        from mlflow.cli import cli

        os.environ["MLFLOW_TRACKING_URI"] = self.sdk_uri
        mlflow.set_tracking_uri(self.sdk_uri)
        self.cli, self.runner = cli, CliRunner()
        exps = sorted((e.experiment_id for e in mlflow.search_experiments()), key=int)
        ids = {}
        for exp in exps:
            res = self.runner.invoke(cli, ["traces", "search", "--experiment-id", exp,
                                           "--output", "json", "--max-results", "500"])
            if res.exit_code != 0:
                self.fail(f"list {exp}", f"mlflow traces search failed: {res.output[-200:]}")
                continue
            ids[exp] = [t["info"]["trace_id"] for t in json.loads(res.output)["traces"]]
        self.compare_get(ids)
        self.compare_search([e for e in exps if ids.get(e)])
        self.compare_paging([e for e in exps if ids.get(e)])
        self.read_only_proof(ids)
        self.artifact_spans(ids)

    def compare_get(self, ids):
        n = 0
        for exp, tids in ids.items():
            for tid in tids:
                n += 1
                label = f"pg get {tid}"
                res = self.runner.invoke(self.cli, ["traces", "get", "--trace-id", tid])
                if res.exit_code != 0:
                    self.fail(label, f"mlflow traces get exited {res.exit_code}")
                    continue
                p = self.ours(["traces", "get", "--trace-id", tid])
                if p.returncode != 0:
                    self.fail(label, f"mlsession exited {p.returncode}: "
                                     f"{p.stderr.decode(errors='replace').strip()[:300]}")
                    continue
                want, got = json.loads(res.output), json.loads(p.stdout)
                if want != got:
                    self.fail(label, first_diff(want, got))
                else:
                    self.ok(label)
        self.counts["traces"] = n
        print(f"pg get: {n} traces compared")

    def compare_search(self, exps):
        filters = read_filters(os.path.join(HERE, "filters.txt"))
        cases = [(f, None) for f in filters] + [("", o) for o in ORDERS if o]
        n = 0
        for exp in exps:
            for flt, order in cases:
                n += 1
                must_refuse = flt.startswith("!refuse ")
                if must_refuse:
                    flt = flt[len("!refuse "):]
                label = f"pg exp={exp} filter={flt!r}" + (f" order={order!r}" if order else "")
                base = ["traces", "search", "--experiment-id", exp, "--output", "json",
                        "--max-results", "500"]
                if flt:
                    base += ["--filter-string", flt]
                if order:
                    base += ["--order-by", order]
                p = self.ours(base)
                if must_refuse:
                    if p.returncode == 2:
                        self.ok(label, "refused")
                    else:
                        self.fail(label, f"mlsession should refuse it, exited {p.returncode}")
                    continue
                res = self.runner.invoke(self.cli, base)
                if res.exit_code != 0:
                    msg = str(res.exception or res.output)[-200:].replace("\n", " ")
                    if p.returncode == 2:
                        self.ok(label, "both refuse")
                    else:
                        self.fail(label, f"mlflow refuses ({msg}) but mlsession exited "
                                         f"{p.returncode}")
                    continue
                if p.returncode != 0:
                    self.fail(label, f"mlsession exited {p.returncode}: "
                                     f"{p.stderr.decode(errors='replace').strip()[:300]}")
                    continue
                want, got = json.loads(res.output), json.loads(p.stdout)
                wid = [t["info"]["trace_id"] for t in want["traces"]]
                gid = [t["info"]["trace_id"] for t in got["traces"]]
                if wid != gid:
                    self.fail(label, f"ids differ: mlflow {len(wid)} {wid[:4]}... "
                                     f"mlsession {len(gid)} {gid[:4]}...")
                elif want != got:
                    self.fail(label, first_diff(want, got))
                else:
                    self.ok(label, f"{len(wid)} traces")
        self.counts["searches"] = n
        print(f"pg search: {n} searches compared ({len(exps)} experiments)")

    def compare_paging(self, exps):
        from mlflow.tracing.client import TracingClient
        client = TracingClient()
        for exp in exps:
            for size in (1, 7, 50):
                token, page, good = None, 0, True
                while True:
                    r = client.search_traces(locations=[exp], max_results=size,
                                             order_by=["timestamp_ms ASC"], page_token=token,
                                             include_spans=False)
                    cmd = ["traces", "search", "--experiment-id", exp, "--output", "json",
                           "--max-results", str(size), "--order-by", "timestamp_ms ASC",
                           "--no-include-spans"]
                    if token:
                        cmd += ["--page-token", token]
                    p = self.ours(cmd)
                    if p.returncode != 0:
                        good = False
                        self.fail(f"pg paging exp={exp} size={size}",
                                  f"page {page}: {p.stderr.decode(errors='replace').strip()}")
                        break
                    got = json.loads(p.stdout)
                    wid = [t.info.trace_id for t in r]
                    gid = [t["info"]["trace_id"] for t in got["traces"]]
                    theirs = r.token.decode() if isinstance(r.token, bytes) else r.token
                    if wid != gid or (theirs or None) != got["next_page_token"]:
                        good = False
                        self.fail(f"pg paging exp={exp} size={size}",
                                  f"page {page}: ids or token differ "
                                  f"({theirs!r} vs {got['next_page_token']!r})")
                        break
                    token, page = theirs, page + 1
                    if not token or page > 1000:
                        break
                if good:
                    self.ok(f"pg paging exp={exp} size={size}", f"{page} pages")

    # ------------------------------------------------------------------
    def counters(self):
        import psycopg2
        c = psycopg2.connect(self.sdk_uri.replace("postgresql+psycopg2://", "postgresql://", 1))
        try:
            c.set_session(readonly=True, autocommit=True)
            with c.cursor() as cur:
                cur.execute("SELECT pg_stat_clear_snapshot()")
                cur.execute("SELECT tup_inserted, tup_updated, tup_deleted FROM pg_stat_database"
                            " WHERE datname = current_database()")
                db = cur.fetchone()
                cur.execute("SELECT COALESCE(sum(n_tup_ins), 0), COALESCE(sum(n_tup_upd), 0),"
                            " COALESCE(sum(n_tup_del), 0) FROM pg_stat_user_tables")
                tables = cur.fetchone()
            return {"pg_stat_database (ins, upd, del)": tuple(db),
                    "pg_stat_user_tables (ins, upd, del)": tuple(int(x) for x in tables)}
        finally:
            c.close()

    def read_only_proof(self, ids):
        time.sleep(1.5)  # let the oracle's backends exit and flush their stats
        before = self.counters()
        outputs = {}
        runs = 0
        for exp, tids in ids.items():
            for tid in tids:
                p = self.ours(["traces", "get", "--trace-id", tid])
                outputs[("get", tid)] = (p.returncode, p.stdout)
                runs += 1
            for flt in ("", "trace.status = 'ERROR'", "span.type = 'TOOL'",
                        "feedback.user_frustration = 'unresolved'"):
                argv = ["traces", "search", "--experiment-id", exp, "--output", "json",
                        "--max-results", "500"] + (["--filter-string", flt] if flt else [])
                p = self.ours(argv)
                outputs[("search", exp, flt)] = (p.returncode, p.stdout)
                runs += 1
        p = self.ours(["experiments", "list"])
        runs += 1
        time.sleep(1.5)  # backends flush their stats when they exit
        after = self.counters()
        label = "pg read-only: write counters"
        if before == after:
            self.ok(label, f"unchanged across {runs} mlsession runs: {after}")
            print(f"pg read-only: write counters unchanged across {runs} mlsession runs")
        else:
            self.fail(label, f"changed: {before} -> {after}")
        # a role with nothing but SELECT grants gets the same answers
        bad = 0
        for key, (rc, out) in outputs.items():
            argv = (["traces", "get", "--trace-id", key[1]] if key[0] == "get" else
                    ["traces", "search", "--experiment-id", key[1], "--output", "json",
                     "--max-results", "500"] + (["--filter-string", key[2]] if key[2] else []))
            p = self.ours(argv, uri=self.reader_uri)
            if p.returncode != rc or p.stdout != out or rc != 0:
                bad += 1
                if bad <= 3:
                    print(f"FAIL pg SELECT-only role {key}: exit {p.returncode}: "
                          f"{p.stderr.decode(errors='replace').strip()[:200]}")
        if bad:
            self.failed += 1
        else:
            self.ok("pg read-only: SELECT-only role", f"{len(outputs)} identical answers")
            print(f"pg read-only: a SELECT-only role gives the same {len(outputs)} answers")
        # the password never shows in an error message
        wrong = self.uri.replace("@", "x@", 1)
        secret = self.uri.split("//", 1)[1].split("@", 1)[0].split(":", 1)[1] + "x"
        p = self.ours(["traces", "search", "--experiment-id", "1"], uri=wrong)
        err = p.stderr.decode(errors="replace")
        if p.returncode == 0 or secret in err or secret in p.stdout.decode(errors="replace"):
            self.fail("pg password hidden", f"exit {p.returncode}, stderr {err[:200]!r}")
        else:
            self.ok("pg password hidden", err.strip()[:200])

    def artifact_spans(self, ids, n=4):
        """Spans read from traces.json artifacts (as stores written before
        the spans table, or with spans elsewhere, keep them): for a few
        traces the span rows are moved into <artifact location>/traces.json
        ({"spans": [...]}, the layout MLflow's artifact repository reads) and
        the mlflow.trace.spansLocation tag is dropped, then both sides read
        them back. Runs last: it writes the database (as its owner)."""
        import psycopg2
        picked = [t for tids in ids.values() for t in tids][:: max(1, sum(map(len, ids.values())) // n)][:n]
        c = psycopg2.connect(self.sdk_uri.replace("postgresql+psycopg2://", "postgresql://", 1))
        try:
            with c, c.cursor() as cur:
                for tid in picked:
                    cur.execute("SELECT value FROM trace_tags WHERE request_id = %s AND key = "
                                "'mlflow.artifactLocation'", (tid,))
                    row = cur.fetchone()
                    if not row or "://" in row[0]:
                        continue
                    cur.execute("SELECT content FROM spans WHERE trace_id = %s ORDER BY "
                                "parent_span_id IS NOT NULL, start_time_unix_nano, span_id",
                                (tid,))
                    spans = [json.loads(r[0]) for r in cur.fetchall()]
                    os.makedirs(row[0], exist_ok=True)
                    with open(os.path.join(row[0], "traces.json"), "w") as f:
                        json.dump({"spans": spans}, f)
                    cur.execute("DELETE FROM spans WHERE trace_id = %s", (tid,))
                    cur.execute("DELETE FROM trace_tags WHERE request_id = %s AND key = "
                                "'mlflow.trace.spansLocation'", (tid,))
        finally:
            c.close()
        for tid in picked:
            label = f"pg artifact spans {tid}"
            res = self.runner.invoke(self.cli, ["traces", "get", "--trace-id", tid])
            p = self.ours(["traces", "get", "--trace-id", tid])
            if res.exit_code != 0 or p.returncode != 0:
                self.fail(label, f"exit mlflow {res.exit_code}, mlsession {p.returncode}: "
                                 f"{p.stderr.decode(errors='replace').strip()[:200]}")
                continue
            want, got = json.loads(res.output), json.loads(p.stdout)
            if not want["data"]["spans"]:
                self.fail(label, "mlflow read no spans back: the setup is wrong")
            elif want != got:
                self.fail(label, first_diff(want, got))
            else:
                self.ok(label, f"{len(got['data']['spans'])} spans")
        print(f"pg artifact spans: {len(picked)} traces compared")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mlsession", required=True)
    ap.add_argument("--uri", help="postgresql://... of a store already filled (else a harness)")
    ap.add_argument("--sdk-uri", help="the same for MLflow (default: postgresql+psycopg2://)")
    ap.add_argument("--reader-uri", help="a SELECT-only role on it (default: --uri)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    t0 = time.monotonic()
    try:
        if args.uri:
            sdk = args.sdk_uri or args.uri.replace("postgresql://", "postgresql+psycopg2://", 1)
            suite = Suite(args, args.uri, sdk, args.reader_uri or args.uri)
            suite.run()
        else:
            with PgHarness(verbose=args.verbose) as pg:
                print(f"pg harness: up in {time.monotonic() - t0:.1f}s "
                      f"(server {pg.timings['start']:.1f}s, fixtures by mlflow "
                      f"{pg.timings['fixtures']:.1f}s)")
                suite = Suite(args, pg.uri, pg.sdk_uri, pg.reader_uri)
                suite.run()
    except PgUnavailable as e:
        if os.environ.get("CI") == "true":
            print(f"pg: FAILED: PostgreSQL could not be started (CI=true): {e}")
            tally(0, 1, 0)
            return 1
        print("************************************************************")
        print(f"pg: SKIPPED: PostgreSQL could not be started: {e}")
        print("************************************************************")
        tally(0, 0, 1)
        return 0
    print(f"pg: {suite.passed} passed, {suite.failed} failed, {suite.skipped} skipped "
          f"({time.monotonic() - t0:.0f}s)")
    tally(suite.passed, suite.failed, suite.skipped)
    return 1 if suite.failed else 0


if __name__ == "__main__":
    sys.exit(main())
