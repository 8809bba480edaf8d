# SPDX-License-Identifier: MIT
"""Fault tests for the REST backend against fault_server.py.

For each misbehaviour: `mlsession --tracking-uri http://127.0.0.1:P traces
search -x 1 --output json` with short timeouts from the environment, and
checks: the exit status, bounded retries (requests counted server-side),
one clear line on stderr when it fails, nothing on stdout when it fails
(never a partial result), the total time bounded, and no credential in any
output. Prints "faults: N passed, N failed"; appends "P F 0" to $MS_TALLY.
"""
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fault_server import FaultServer  # noqa: E402

SECRET = "s3cr3t-Pa55"
TOKEN = "tok-9f8e7d6c5b4a"
ENV = {
    "MLSESSION_HTTP_TIMEOUT": "1",
    "MLSESSION_HTTP_CONNECT_TIMEOUT": "1",
    "MLSESSION_HTTP_BACKOFF": "0.1",
    "MLSESSION_HTTP_RETRY_BUDGET": "10",
    "MLSESSION_HTTP_MAX_RETRIES": "3",
}

# mode, server kwargs, expect success, (min, max) traces/search requests,
# max seconds, min seconds, words the error line must hold, auth style
CASES = [
    ("ok", {}, True, (1, 1), 5, 0, [], "basic"),
    ("slow", {"slow_s": 5}, False, (1, 1), 4, 0.9, ["no answer within"], "basic"),
    ("500-then-ok", {"fails": 1}, True, (2, 2), 5, 0, [], "basic"),
    ("500-then-ok", {"fails": 3}, True, (4, 4), 5, 0, [], "token"),
    ("500", {}, False, (4, 4), 5, 0, ["HTTP 500", "boom", "3 retries"], "basic"),
    ("429-then-ok", {"retry_after": 1}, True, (2, 2), 5, 0.9, [], "basic"),
    ("429-long", {}, False, (1, 1), 3, 0, ["429", "budget"], "basic"),
    ("truncated", {}, False, (4, 4), 6, 0, ["3 retries"], "basic"),
    ("invalid-json", {}, False, (1, 1), 3, 0, ["not valid JSON"], "basic"),
    ("401", {}, False, (1, 1), 3, 0, ["401", "authentication"], "userinfo"),
    ("401", {}, False, (1, 1), 3, 0, ["401"], "token"),
    ("reset", {}, False, (4, 4), 6, 0, ["3 retries"], "basic"),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(mlsession, url, auth):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MLFLOW_") and not k.startswith("MLSESSION_HTTP")}
    env.update(ENV)
    if auth == "basic":
        env["MLFLOW_TRACKING_USERNAME"] = "alice"
        env["MLFLOW_TRACKING_PASSWORD"] = SECRET
    elif auth == "token":
        env["MLFLOW_TRACKING_TOKEN"] = TOKEN
    elif auth == "userinfo":
        url = url.replace("http://", f"http://alice:{SECRET}@")
    t0 = time.monotonic()
    p = subprocess.run([mlsession, "--tracking-uri", url, "traces", "search", "-x", "1",
                        "--output", "json"], capture_output=True, env=env, timeout=60)
    return p, time.monotonic() - t0


def check(label, p, secs, expect_ok, max_s, min_s, words, problems):
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    for s in (SECRET, TOKEN, "alice:"):
        if s in out or s in err:
            problems.append(f"a credential ({s[:4]}...) shows in the output")
    if secs > max_s:
        problems.append(f"took {secs:.1f} s (bound {max_s} s)")
    if secs < min_s:
        problems.append(f"took {secs:.1f} s, less than {min_s} s (Retry-After/timeout ignored?)")
    if expect_ok:
        if p.returncode != 0:
            problems.append(f"exited {p.returncode}: {err.strip()[:200]}")
        else:
            try:
                doc = json.loads(out)
                if len(doc.get("traces", [])) != 1:
                    problems.append(f"{len(doc.get('traces', []))} traces, want 1")
            except ValueError:
                problems.append("stdout is not JSON")
    else:
        if p.returncode == 0:
            problems.append("exited 0 on a failure")
        if out:
            problems.append(f"partial output on stdout: {out[:80]!r}")
        lines = [ln for ln in err.splitlines() if ln.strip()]
        if len(lines) != 1:
            problems.append(f"{len(lines)} lines on stderr, want 1: {err[:300]!r}")
        for w in words:
            if w not in err:
                problems.append(f"error line lacks {w!r}: {err.strip()[:300]!r}")


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--mlsession", required=True)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    passed = failed = 0
    for mode, kw, expect_ok, (lo, hi), max_s, min_s, words, auth in CASES:
        label = f"{mode} {kw} auth={auth}"
        problems = []
        with FaultServer(mode, **kw) as fs:
            try:
                p, secs = run(args.mlsession, fs.url, auth)
            except subprocess.TimeoutExpired:
                problems.append("mlsession did not finish within 60 s")
                p = None
            n = fs.count("search")
        if p is not None:
            check(label, p, secs, expect_ok, max_s, min_s, words, problems)
        if not lo <= n <= hi:
            problems.append(f"{n} traces/search requests, want {lo}..{hi}")
        if problems:
            failed += 1
            print(f"FAIL {label}: " + "; ".join(problems))
        else:
            passed += 1
            if args.verbose:
                err = p.stderr.decode(errors="replace").strip()
                print(f"ok   {label}: {n} requests, {secs:.2f} s" + (f": {err}" if err else ""))

    # nothing listening: connection refused, retried a bounded number of times
    label = "connection refused auth=userinfo"
    problems = []
    p, secs = run(args.mlsession, f"http://127.0.0.1:{free_port()}", "userinfo")
    check(label, p, secs, False, 5, 0, ["3 retries"], problems)
    if problems:
        failed += 1
        print(f"FAIL {label}: " + "; ".join(problems))
    else:
        passed += 1
        if args.verbose:
            print(f"ok   {label}: {secs:.2f} s: {p.stderr.decode(errors='replace').strip()}")

    print(f"faults: {passed} passed, {failed} failed")
    tally = os.environ.get("MS_TALLY")
    if tally:
        with open(tally, "a") as f:
            f.write(f"{passed} {failed} 0\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
