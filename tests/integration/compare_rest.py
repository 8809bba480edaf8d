# SPDX-License-Identifier: MIT
"""Differential suite over HTTP: mlsession's REST backend against MLflow's
own client, both talking to one real `mlflow server` (server_harness.py)
over a copy of the SQLite fixture store.

  * every trace: `mlsession --tracking-uri http://... traces get` vs
    `mlflow traces get` (same server);
  * every filter of filters.txt (the "!refuse " prefix as in
    compare_search.py) and every order of compare_search.ORDERS:
    `traces search --output json --max-results 500` on both sides;
  * paging through the server with page sizes 1, 7 and 50: ids and
    next_page_token equal page by page;
  * experiments list: the active experiments, ascending by id.

Prints "rest: N passed, N failed, N skipped"; appends "P F S" to $MS_TALLY.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_get import first_diff  # noqa: E402
from compare_search import ORDERS, read_filters  # noqa: E402
from server_harness import MlflowServer  # noqa: E402

EXPERIMENTS = ["0", "1", "2"]
TIMEOUT = 120  # one mlsession run


def run_ours(args, url, argv):
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run([args.mlsession, "--tracking-uri", url] + argv, capture_output=True,
                          env=env, timeout=TIMEOUT)


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--mlsession", required=True)
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    filters = read_filters(os.path.join(here, "filters.txt"))

    import mlflow
    from click.testing import CliRunner
    from mlflow.cli import cli
    from mlflow.tracing.client import TracingClient

    passed = failed = skipped = 0

    def ok(label):
        nonlocal passed
        passed += 1
        if args.verbose:
            print(f"ok   {label}")

    def fail(label, why):
        nonlocal failed
        failed += 1
        print(f"FAIL {label}: {why}")

    with MlflowServer(os.path.abspath(args.fixtures)) as srv:
        url = srv.url
        os.environ["MLFLOW_TRACKING_URI"] = url
        mlflow.set_tracking_uri(url)
        runner = CliRunner()
        client = TracingClient()

        # ---- experiments
        p = run_ours(args, url, ["experiments", "list"])
        want = sorted((e.experiment_id for e in mlflow.search_experiments()), key=int)
        got = [ln.split()[0] for ln in p.stdout.decode().splitlines()[1:] if ln.strip()]
        if p.returncode == 0 and got == want:
            ok("experiments list")
        else:
            fail("experiments list", f"exit {p.returncode}, {got} vs {want}: "
                 f"{p.stderr.decode(errors='replace').strip()[:200]}")

        # ---- every trace: traces get
        ids = []
        for exp in EXPERIMENTS:
            token = None
            for _ in range(1000):
                r = client.search_traces(locations=[exp], max_results=500, page_token=token,
                                         include_spans=False)
                ids += [t.info.trace_id for t in r]
                token = r.token
                if not token:
                    break
        for tid in ids:
            label = f"get {tid}"
            res = runner.invoke(cli, ["traces", "get", "--trace-id", tid])
            if res.exit_code != 0:
                fail(label, f"mlflow traces get exited {res.exit_code}: "
                     f"{(res.output or str(res.exception))[-200:]}")
                continue
            p = run_ours(args, url, ["traces", "get", "--trace-id", tid])
            if p.returncode != 0:
                fail(label, f"mlsession exited {p.returncode}: "
                     f"{p.stderr.decode(errors='replace').strip()[:300]}")
                continue
            want, got = json.loads(res.output), json.loads(p.stdout)
            if want != got:
                fail(label, first_diff(want, got))
            else:
                ok(label)
        missing = "tr-" + "0" * 32
        p = run_ours(args, url, ["traces", "get", "--trace-id", missing])
        if p.returncode != 0 and not p.stdout and len(p.stderr.decode().strip().splitlines()) == 1:
            ok("get missing trace")
        else:
            fail("get missing trace", f"exit {p.returncode}, stdout {p.stdout[:80]!r}")

        # ---- every filter and order: traces search
        cases = [(f, None) for f in filters] + [("", o) for o in ORDERS if o]
        for exp in ("1",):
            for flt, order in cases:
                must_refuse = flt.startswith("!refuse ")
                if must_refuse:
                    flt = flt[len("!refuse "):]
                label = f"rest filter={flt!r}" + (f" order={order!r}" if order else "")
                base = ["traces", "search", "--experiment-id", exp, "--output", "json",
                        "--max-results", "500"]
                if flt:
                    base += ["--filter-string", flt]
                if order:
                    base += ["--order-by", order]
                p = run_ours(args, url, base)
                if must_refuse:
                    if p.returncode == 2:
                        ok(label)
                    else:
                        fail(label, f"mlsession should refuse it, exited {p.returncode}")
                    continue
                res = runner.invoke(cli, base)
                theirs_ok, ours_ok = res.exit_code == 0, p.returncode == 0
                if not theirs_ok:
                    msg = str(res.exception or res.output)[-200:].replace("\n", " ")
                    if not ours_ok and p.returncode == 2:
                        ok(label + " (both refuse)")
                    elif not ours_ok:
                        skipped += 1
                        print(f"skip {label}: both fail, mlsession exited {p.returncode} "
                              f"(mlflow: {msg})")
                    else:
                        fail(label, f"mlflow refuses ({msg}) but mlsession answers")
                    continue
                if not ours_ok:
                    fail(label, f"mlsession exited {p.returncode}: "
                         f"{p.stderr.decode(errors='replace').strip()[:300]}")
                    continue
                want, got = json.loads(res.output), json.loads(p.stdout)
                wid = [t["info"]["trace_id"] for t in want["traces"]]
                gid = [t["info"]["trace_id"] for t in got["traces"]]
                if wid != gid:
                    fail(label, f"ids differ: mlflow {len(wid)} {wid[:3]}... "
                         f"mlsession {len(gid)} {gid[:3]}...")
                elif want != got:
                    fail(label, first_diff(want, got))
                else:
                    ok(f"{label}: {len(wid)} traces")

        # ---- paging through the server
        for order in ("timestamp_ms ASC", None):
            for size in (1, 7, 50):
                label = f"rest paging {size} order={order!r}"
                token, page, good = None, 0, True
                while True:
                    r = client.search_traces(locations=["1"], max_results=size,
                                             order_by=[order] if order else None,
                                             page_token=token, include_spans=False)
                    cmd = ["traces", "search", "--experiment-id", "1", "--output", "json",
                           "--max-results", str(size), "--no-include-spans"]
                    if order:
                        cmd += ["--order-by", order]
                    if token:
                        cmd += ["--page-token", token]
                    p = run_ours(args, url, cmd)
                    if p.returncode != 0:
                        good = False
                        fail(label, f"page {page}: {p.stderr.decode(errors='replace').strip()}")
                        break
                    got = json.loads(p.stdout)
                    wid = [t.info.trace_id for t in r]
                    gid = [t["info"]["trace_id"] for t in got["traces"]]
                    tok = r.token.decode() if isinstance(r.token, bytes) else r.token
                    if wid != gid or (tok or None) != got["next_page_token"]:
                        good = False
                        fail(label, f"page {page}: ids or token differ "
                             f"({tok!r} vs {got['next_page_token']!r})")
                        break
                    token, page = tok, page + 1
                    if not token or page > 1000:
                        break
                if good:
                    ok(label)

    print(f"rest: {passed} passed, {failed} failed, {skipped} skipped")
    tally = os.environ.get("MS_TALLY")
    if tally:
        with open(tally, "a") as f:
            f.write(f"{passed} {failed} {skipped}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
