# SPDX-License-Identifier: MIT
"""Differential suite: `mlsession traces search` against `mlflow traces search`.

Every filter of tests/integration/filters.txt runs on every store kind we
read: SQLite direct, the mlruns file store, and the exported JSON file. The
oracle runs on a copy of the same fixture store (MLflow may write to what it
opens); mlsession runs on the checked-in fixture itself, and the fixture's
bytes and mtimes are checked before and after (the read-only proof).

A filter marked "!refuse " in filters.txt is one where mlsession is
deliberately stricter than MLflow (docs/filter-language.md): it must be
refused with exit status 2 whatever MLflow does.

Pass: the same trace ids in the same order and the same JSON (normalisation
as in compare_get.py: object key order is ignored; artifact paths of the
relocated copy are mapped back), or an error on both sides. When MLflow's
own store refuses a valid filter (its file store has no span or assessment
filters), the case is counted as skipped, not passed.

Table output is compared byte for byte, except that MLflow 3.17.2 prints its
next-page token as a Python bytes literal (b'eyJ...'), which we unwrap.
Paging is tested with MLflow's Python client (its CLI cannot print a page
token in JSON mode: next_page_token is bytes there, json.dumps raises).
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_get import RECORDED_ROOT, first_diff, relocate  # noqa: E402

ORDERS = [None, "timestamp_ms ASC", "execution_time_ms DESC", "status", "name ASC",
          "request_id DESC", "timestamp_ms ASC, execution_time_ms DESC"]


def read_filters(path):
    out = []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.strip() and not line.lstrip().startswith("#"):
            out.append(line)
    return out


def snapshot(root):
    snap = {}
    for d, _dirs, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            st = os.stat(p)
            snap[p] = (hashlib.sha256(open(p, "rb").read()).hexdigest(), st.st_mtime_ns)
    return snap


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--mlsession", required=True)
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    filters = read_filters(os.path.join(here, "filters.txt"))
    fx = args.fixtures

    import mlflow
    from click.testing import CliRunner
    from mlflow.cli import cli
    from mlflow.tracing.client import TracingClient

    kinds = [
        # name, fixture store dir, oracle uri builder, our uri, experiment, uses file store
        ("sqlite", "sqlite", lambda w: "sqlite:///" + os.path.join(w, "mlflow.db"),
         "sqlite:///" + os.path.join(fx, "sqlite", "mlflow.db"), "1", False),
        ("json", "sqlite", lambda w: "sqlite:///" + os.path.join(w, "mlflow.db"),
         os.path.join(fx, "export", "exp-1.json"), "1", False),
        ("file", "mlruns", lambda w: "file://" + os.path.join(w, "mlruns"),
         "file://" + os.path.join(fx, "mlruns", "mlruns"), "378547232019842178", True),
    ]
    passed = failed = skipped = 0
    for kind, store, oracle_uri, our_uri, exp, file_store in kinds:
        tmp = tempfile.mkdtemp(prefix="ms-search-")
        before = snapshot(os.path.join(fx, store))
        try:
            work = os.path.join(tmp, store)
            shutil.copytree(os.path.join(fx, store), work)
            relocate(work, store)
            uri = oracle_uri(work)
            if file_store:
                os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
            os.environ["MLFLOW_TRACKING_URI"] = uri
            mlflow.set_tracking_uri(uri)
            runner = CliRunner()
            cases = [(f, None) for f in filters] + [("", o) for o in ORDERS if o]
            for flt, order in cases:
                must_refuse = flt.startswith("!refuse ")
                if must_refuse:
                    flt = flt[len("!refuse "):]
                label = f"{kind} filter={flt!r}" + (f" order={order!r}" if order else "")
                base = ["traces", "search", "--experiment-id", exp, "--output", "json",
                        "--max-results", "500"]
                if flt:
                    base += ["--filter-string", flt]
                if order:
                    base += ["--order-by", order]
                res = runner.invoke(cli, base)
                p = subprocess.run([args.mlsession, "--tracking-uri", our_uri] + base,
                                   capture_output=True)
                theirs_ok = res.exit_code == 0
                ours_ok = p.returncode == 0
                if must_refuse:
                    if p.returncode == 2:
                        passed += 1
                    else:
                        failed += 1
                        print(f"FAIL {label}: mlsession should refuse it, exited {p.returncode}")
                    continue
                if not theirs_ok:
                    msg = str(res.exception or res.output)[-200:].replace("\n", " ")
                    if ours_ok and file_store:
                        skipped += 1
                        print(f"skip {label}: mlflow's file store refuses it: {msg}")
                    elif not ours_ok and p.returncode == 2:
                        passed += 1
                        if args.verbose:
                            print(f"ok   {label}: both refuse")
                    else:
                        failed += 1
                        print(f"FAIL {label}: mlflow refuses ({msg}) but mlsession "
                              f"exited {p.returncode}")
                    continue
                if not ours_ok:
                    failed += 1
                    print(f"FAIL {label}: mlsession exited {p.returncode}: "
                          f"{p.stderr.decode(errors='replace').strip()[:300]}")
                    continue
                want = json.loads(res.output.replace(work, f"{RECORDED_ROOT}/{store}"))
                got = json.loads(p.stdout)
                wid = [t["info"]["trace_id"] for t in want["traces"]]
                gid = [t["info"]["trace_id"] for t in got["traces"]]
                if wid != gid:
                    failed += 1
                    print(f"FAIL {label}: ids differ: mlflow {len(wid)} {wid[:4]}... "
                          f"mlsession {len(gid)} {gid[:4]}...")
                elif want != got:
                    failed += 1
                    print(f"FAIL {label}: {first_diff(want, got)}")
                else:
                    passed += 1
                    if args.verbose:
                        print(f"ok   {label}: {len(wid)} traces")
            # table mode (bytes) and --extract-fields (JSON, structure)
            extra = [
                (["--filter-string", "trace.status = 'ERROR'"], "table", None),
                (["--max-results", "7", "--order-by", "timestamp_ms ASC"], "table", None),
                (["--max-results", "5"], "table", "info.trace_id,info.request_time,"
                 "info.execution_duration_ms,info.request_preview,info.tags.`mlflow.traceName`"),
                (["--max-results", "5"], "table", "data.spans.*.name"),
                (["--max-results", "500"], "json", "info.trace_id,info.state,data.spans.*.name"),
                (["--max-results", "500"], "json", "info.tags.*,info.trace_metadata.`mlflow.trace.session`"),
                (["--max-results", "500"], "json", "info.assessments.*"),
                (["--max-results", "500"], "json", "info.nope"),
            ]
            for opts, out_kind, fields in extra:
                label = f"{kind} {out_kind} {opts} fields={fields!r}"
                cmd = ["traces", "search", "--experiment-id", exp, "--output", out_kind] + opts
                if fields:
                    cmd += ["--extract-fields", fields]
                res = runner.invoke(cli, cmd)
                p = subprocess.run([args.mlsession, "--tracking-uri", our_uri] + cmd,
                                   capture_output=True)
                if res.exit_code != 0 or p.returncode != 0:
                    if res.exit_code != 0 and p.returncode == 2:
                        passed += 1
                    elif res.exit_code != 0 and file_store and p.returncode == 0:
                        skipped += 1
                    else:
                        failed += 1
                        print(f"FAIL {label}: mlflow exit {res.exit_code}, mlsession exit "
                              f"{p.returncode}: {p.stderr.decode(errors='replace')[:200]}")
                    continue
                theirs = res.output.replace(work, f"{RECORDED_ROOT}/{store}")
                # MLflow 3.17.2 prints its token as Python bytes: b'eyJ...'
                theirs = re.sub(r"Next page token: b'([^']*)'", r"Next page token: \1", theirs)
                ours = p.stdout.decode()
                same = (theirs == ours) if out_kind == "table" else (json.loads(theirs) == json.loads(ours))
                if same:
                    passed += 1
                else:
                    failed += 1
                    print(f"FAIL {label}: output differs")
                    if args.verbose:
                        print(theirs[:600]); print(ours[:600])
            # paging: every page through the client API against ours
            client = TracingClient()
            for size in (1, 7, 50):
                token, page, pages_ok = None, 0, True
                while True:
                    r = client.search_traces(locations=[exp], max_results=size,
                                             order_by=["timestamp_ms ASC"], page_token=token,
                                             include_spans=False)
                    cmd = [args.mlsession, "--tracking-uri", our_uri, "traces", "search",
                           "--experiment-id", exp, "--output", "json", "--max-results",
                           str(size), "--order-by", "timestamp_ms ASC", "--no-include-spans"]
                    if token:
                        cmd += ["--page-token", token]
                    p = subprocess.run(cmd, capture_output=True)
                    if p.returncode != 0:
                        pages_ok = False
                        print(f"FAIL {kind} paging {size}: page {page}: "
                              f"{p.stderr.decode(errors='replace').strip()}")
                        break
                    got = json.loads(p.stdout)
                    wid = [t.info.trace_id for t in r]
                    gid = [t["info"]["trace_id"] for t in got["traces"]]
                    theirs_tok = r.token.decode() if isinstance(r.token, bytes) else r.token
                    if wid != gid or (theirs_tok or None) != got["next_page_token"]:
                        pages_ok = False
                        print(f"FAIL {kind} paging {size}: page {page}: ids or token differ "
                              f"({theirs_tok!r} vs {got['next_page_token']!r})")
                        break
                    token, page = theirs_tok, page + 1
                    if not token or page > 1000:
                        break
                if pages_ok:
                    passed += 1
                else:
                    failed += 1
        finally:
            os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
            shutil.rmtree(tmp, ignore_errors=True)
        after = snapshot(os.path.join(fx, store))
        if before == after:
            passed += 1
        else:
            failed += 1
            changed = sorted(set(before) ^ set(after) | {k for k in before if before.get(k) != after.get(k)})
            print(f"FAIL {kind}: the fixture store changed: {changed[:5]}")
        print(f"search {kind}: {passed} passed, {failed} failed, {skipped} skipped so far")
    print(f"search: {passed} passed, {failed} failed, {skipped} skipped")
    tally = os.environ.get("MS_TALLY")
    if tally:
        with open(tally, "a") as f:
            f.write(f"{passed} {failed} {skipped}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
