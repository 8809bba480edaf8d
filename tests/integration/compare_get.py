# SPDX-License-Identifier: MIT
"""Integration: `mlsession traces get` against the real `mlflow traces get`.

Run with the oracle venv's python (tests/integration/run.sh does). For each
case a store is copied to a temporary directory (MLflow never touches the
checked-in fixtures), migrated if an older MLflow wrote it, and for every
trace in the case's export file we compare:

  1. mlsession's output with `mlflow traces get` on the store, as parsed JSON.
     Normalisation: key order inside JSON objects is ignored, because MLflow's
     own order of trace_metadata and tags changes from run to run (protobuf
     map iteration order). Everything else must be equal: values, types
     (5.0 vs 5), list order, present/absent keys. One more, for exports
     written by 3.5.0 only (empty_preview_is_absent in cases.json): 3.5.0
     leaves an empty preview out of its export while 3.17.2 prints it as "",
     so an export cannot carry it; absent in ours equals "" in theirs.
  2. where the export was written by the pinned MLflow itself (V3 exports),
     mlsession's bytes with Python's json.dumps(record, indent=2) of the same
     record in the export: this pins key order, escaping and number formats.

The `mlflow traces get` command runs in-process through click's CliRunner on
mlflow.cli: the same code path as the shell command, minus 3 s of start-up
per trace.
"""
import argparse
import glob
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile


def read_docs(path):
    """All JSON documents in a file: one, several pages, or JSON Lines."""
    text = open(path, encoding="utf-8").read()
    dec = json.JSONDecoder()
    i, out = 0, []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        obj, i = dec.raw_decode(text, i)
        out.append(obj)


def traces_in(path):
    recs = []
    for doc in read_docs(path):
        if isinstance(doc, list):
            recs.extend(doc)
        elif "traces" in doc:
            recs.extend(doc["traces"])
        else:
            recs.append(doc)
    return recs


def trace_id(rec):
    info = rec.get("info") or rec.get("trace_info") or {}
    return info.get("trace_id") or info.get("request_id")


def cases(fixtures):
    """The fixture sets of tests/integration/cases.json."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "cases.json")) as f:
        out = json.load(f)
    for c in out:
        files = []
        for pat in c["exports"]:
            files.extend(sorted(glob.glob(os.path.join(fixtures, pat))))
        c["export_files"] = files
    return out


RECORDED_ROOT = "/tmp/acme-support/stores"  # tests/fixtures/VERSIONS: generation_root


def relocate(work, name):
    """Artifact locations are absolute paths of the machine that made the
    fixtures; point them at this copy (the copy only, never the fixtures)."""
    old = f"{RECORDED_ROOT}/{name}"
    for db in glob.glob(os.path.join(work, "*.db")):
        con = sqlite3.connect(db)
        con.execute("UPDATE experiments SET artifact_location = replace(artifact_location, ?, ?)",
                    (old, work))
        con.execute("UPDATE trace_tags SET value = replace(value, ?, ?) "
                    "WHERE key = 'mlflow.artifactLocation'", (old, work))
        con.commit()
        con.close()
    for root, _dirs, names in os.walk(work):
        for n in names:
            path = os.path.join(root, n)
            if n.endswith(".db") or os.path.getsize(path) > 65536:
                continue
            data = open(path, "rb").read()
            if old.encode() in data:
                open(path, "wb").write(data.replace(old.encode(), work.encode()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mlsession", required=True)
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    passed = failed = 0
    import mlflow
    from click.testing import CliRunner
    from mlflow.cli import cli
    for c in cases(args.fixtures):
        name = c["name"]
        tmp = tempfile.mkdtemp(prefix="ms-integ-")
        try:
            work = os.path.join(tmp, c["store"])
            shutil.copytree(os.path.join(args.fixtures, c["store"]), work)
            relocate(work, c["store"])
            if "db" in c:
                uri = "sqlite:///" + os.path.join(work, c["db"])
            else:
                uri = "file://" + os.path.join(work, c["file_store"])
                os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
            if c.get("upgrade"):
                subprocess.run([os.path.join(os.path.dirname(sys.executable), "mlflow"),
                                "db", "upgrade", uri], check=True, capture_output=True, cwd=work)
            os.environ["MLFLOW_TRACKING_URI"] = uri
            os.chdir(work)
            mlflow.set_tracking_uri(uri)
            runner = CliRunner()
            n0 = passed + failed
            for export in c["export_files"]:
                for rec in traces_in(export):
                    tid = trace_id(rec)
                    label = f"{name} {os.path.relpath(export, args.fixtures)} {tid}"
                    res = runner.invoke(cli, ["traces", "get", "--trace-id", tid])
                    if res.exit_code != 0:
                        failed += 1
                        print(f"FAIL {label}: mlflow traces get exited {res.exit_code}: "
                              f"{(res.output or str(res.exception))[-300:]}")
                        continue
                    # undo relocate(): the export holds the recorded paths
                    want = json.loads(res.output.replace(work, f"{RECORDED_ROOT}/{c['store']}"))
                    p = subprocess.run([args.mlsession, "--tracking-uri", export, "traces",
                                        "get", "--trace-id", tid], capture_output=True)
                    if p.returncode != 0:
                        failed += 1
                        print(f"FAIL {label}: mlsession exited {p.returncode}: "
                              f"{p.stderr.decode(errors='replace').strip()}")
                        continue
                    got_bytes = p.stdout.decode("utf-8")
                    problems = []
                    got = json.loads(got_bytes)
                    if c.get("empty_preview_is_absent"):
                        for k in ("request_preview", "response_preview"):
                            if want["info"].get(k) == "" and k not in got["info"]:
                                del want["info"][k]
                    if got != want:
                        problems.append("differs from mlflow traces get: " + first_diff(want, got))
                    if c.get("byte_compare"):
                        exp_bytes = json.dumps(rec, indent=2) + "\n"
                        if exp_bytes != got_bytes:
                            problems.append("bytes differ from the export record: " +
                                            first_line_diff(exp_bytes, got_bytes))
                    if problems:
                        failed += 1
                        print(f"FAIL {label}: " + "; ".join(problems))
                    else:
                        passed += 1
                        if args.verbose:
                            print(f"ok   {label}")
            print(f"integration {name}: {passed + failed - n0} traces compared")
        finally:
            os.chdir("/")
            os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"integration: {passed} passed, {failed} failed")
    tally = os.environ.get("MS_TALLY")
    if tally:
        with open(tally, "a") as f:
            f.write(f"{passed} {failed} 0\n")
    return 1 if failed else 0


def first_diff(a, b, path="$"):
    if type(a) is not type(b):
        return f"{path}: {type(a).__name__} {str(a)[:80]!r} vs {type(b).__name__} {str(b)[:80]!r}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: only in {'mlflow' if k in a else 'mlsession'}"
            if a[k] != b[k]:
                return first_diff(a[k], b[k], f"{path}.{k}")
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} vs {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return first_diff(x, y, f"{path}[{i}]")
    return f"{path}: {str(a)[:120]!r} vs {str(b)[:120]!r}"


def first_line_diff(a, b):
    for i, (x, y) in enumerate(zip(a.splitlines(), b.splitlines())):
        if x != y:
            return f"line {i + 1}: {x.strip()[:100]!r} vs {y.strip()[:100]!r}"
    return f"lengths {len(a)} vs {len(b)}"


if __name__ == "__main__":
    sys.exit(main())
