#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`analyze --all` and `patterns` give the same answers on every store kind.

The same traces reach mlsession through SQLite (the reference), the export
`mlflow traces search --output json` wrote of them, a real `mlflow server`
on a copy of the store (REST), PostgreSQL loaded by the fixture app itself
(pg_harness.py), and, for the file-store fixture, its mlruns folder against
its own export. For each experiment the findings of `analyze --all --format
json` (session, rule, severity, turn, message, excerpt, cause chain) and the
whole JSON of `patterns` must be equal. The planted faults must be there:
the root cause of sess-rag-outdated at turn 3 on every kind.

Prints "analyze-kinds: N passed, N failed, N skipped"; appends to $MS_TALLY.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


class Suite:
    def __init__(self, args):
        self.args = args
        self.passed = self.failed = self.skipped = 0

    def ok(self, label):
        self.passed += 1
        print(f"ok   {label}")

    def fail(self, label, why):
        self.failed += 1
        print(f"FAIL {label}: {why}")

    def skip(self, label, why):
        self.skipped += 1
        print(f"skip {label}: {why}")

    def run_ms(self, uri, *argv):
        p = subprocess.run([self.args.mlsession, "--tracking-uri", uri, *argv],
                           capture_output=True, text=True, timeout=600)
        if p.returncode not in (0, 1) or not p.stdout:
            raise RuntimeError(f"exit {p.returncode}: {p.stderr.strip()[:300]}")
        return json.loads(p.stdout)

    @staticmethod
    def norm(text):
        # the PostgreSQL fixtures are written by the fixture app where this
        # tree is, so the recorded tracebacks name another path to app.py
        return re.sub(r"/[^\s'\"]*/(app\.py)", r"\1", text or "")

    def findings(self, uri, exp):
        args = ["analyze", "--all", "--format", "json"] + (["-x", exp] if exp else [])
        d = self.run_ms(uri, *args)
        out = {}
        for s in d["sessions"]:
            out[s["session_id"]] = sorted(
                (f["rule"], f["severity"], f["turn"], self.norm(f["message"]),
                 self.norm(f.get("excerpt")),
                 self.norm(json.dumps([(l.get("turn"), l.get("why")) for l in f.get("chain") or []])))
                for f in s["findings"])
        return out

    def patterns(self, uri, exp):
        args = ["patterns", "--format", "json"] + (["-x", exp] if exp else [])
        return self.run_ms(uri, *args)

    def compare(self, kind, ref_uri, ref_exp, uri, exp):
        label = f"{kind} exp={ref_exp}"
        try:
            a, b = self.findings(ref_uri, ref_exp), self.findings(uri, exp)
        except Exception as e:  # noqa: BLE001 - reported as a failure
            self.fail(label, f"analyze: {e}")
            return
        if a == b:
            n = sum(len(v) for v in a.values())
            self.ok(f"{label} analyze: same {n} findings in {len(a)} sessions")
        else:
            diff = sorted(set(a) ^ set(b)) or [s for s in a if a[s] != b.get(s)]
            s = diff[0]
            self.fail(f"{label} analyze", f"{len(diff)} sessions differ, e.g. {s}: "
                      f"{sorted(set(a.get(s, [])) ^ set(b.get(s, [])))[:2]}")
        if ref_exp == "1":
            roots = [f for f in b.get("sess-rag-outdated", []) if f[0] == "cause.root"]
            if roots and roots[0][2] == 3 and "refunds-2024.md" in roots[0][3]:
                self.ok(f"{label} root cause of sess-rag-outdated: turn 3, refunds-2024.md")
            else:
                self.fail(f"{label} root cause", f"sess-rag-outdated: {roots}")
        try:
            pa, pb = self.patterns(ref_uri, ref_exp), self.patterns(uri, exp)
        except Exception as e:  # noqa: BLE001
            self.fail(label, f"patterns: {e}")
            return
        if pa == pb:
            self.ok(f"{label} patterns: same answer ({pa.get('sessions')} sessions)")
        else:
            keys = [k for k in pa if pa.get(k) != pb.get(k)]
            self.fail(f"{label} patterns", f"differ in {keys[:5]}")

    def run(self):
        fx = self.args.fixtures
        only = set(self.args.only.split(",")) if self.args.only else None
        sqlite = "sqlite:///" + os.path.join(fx, "sqlite", "mlflow.db")
        if not only or "json" in only:
            for exp in ("1", "2"):
                self.compare("json", sqlite, exp, os.path.join(fx, "export", f"exp-{exp}.json"), None)
        if not only or "file" in only:
            d = os.path.join(fx, "mlruns")
            exports = [f for f in os.listdir(d) if f.startswith("export-exp-")]
            for e in exports:
                exp = e[len("export-exp-"):-len(".json")]
                self.compare("file", os.path.join(d, e), None, os.path.join(d, "mlruns"), exp)
        if not only or "rest" in only:
            from server_harness import MlflowServer
            with MlflowServer(fx) as srv:
                for exp in ("1", "2"):
                    self.compare("rest", sqlite, exp, srv.url, exp)
        if not only or "pg" in only:
            from pg_harness import PgHarness, PgUnavailable
            try:
                with PgHarness() as pg:
                    for exp in ("1", "2"):
                        self.compare("pg", sqlite, exp, pg.uri, exp)
            except PgUnavailable as e:
                if os.environ.get("CI") == "true":
                    self.fail("pg", f"PostgreSQL could not be started (CI=true): {e}")
                else:
                    self.skip("pg", f"PostgreSQL could not be started: {e}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mlsession", required=True)
    ap.add_argument("--fixtures", default=os.path.join(HERE, "..", "fixtures"))
    ap.add_argument("--only", help="comma list of json,file,rest,pg")
    args = ap.parse_args()
    args.fixtures = os.path.abspath(args.fixtures)
    args.mlsession = os.path.abspath(args.mlsession)
    t0 = time.monotonic()
    s = Suite(args)
    s.run()
    print(f"analyze-kinds: {s.passed} passed, {s.failed} failed, {s.skipped} skipped "
          f"({time.monotonic() - t0:.0f}s)")
    tally = os.environ.get("MS_TALLY")
    if tally:
        with open(tally, "a") as f:
            f.write(f"{s.passed} {s.failed} {s.skipped}\n")
    return 1 if s.failed else 0


if __name__ == "__main__":
    sys.exit(main())
