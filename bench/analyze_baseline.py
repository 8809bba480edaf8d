#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Baseline for `mlsession analyze --all`: the span-content pass in Python.

    analyze_baseline.py scan DB            per-session totals, JSON Lines to stdout
    analyze_baseline.py compare A B ...    checks answers (used by bench/run_analyze.sh)

`scan` reads every span's content from an MLflow SQLite store (experiments
of the store, traces that name a session: the `session_id` column, else the
metadata row `mlflow.trace.session`), parses each with orjson when it is
importable (else the standard `json`), and computes per session:

    turns        traces
    spans        spans
    input_tokens, output_tokens
                 sums of `mlflow.chat.tokenUsage` (a JSON string attribute
                 holding {"input_tokens": N, "output_tokens": N, ...})
    error_spans  spans whose status code is STATUS_CODE_ERROR (or ERROR)
    exceptions   events named "exception"
    error_turns  traces whose root span (no parent) is in error

One JSON object per line, sorted by session id, then a line
{"summary": {...}} with the totals, the parser used and the bytes of
span content parsed. This is the same work `bench/analyze_baseline.sql`
does with sqlite3's json_extract.

`compare` is used by the driver: it reads the Python and sqlite3 answers,
`mlsession sessions list --format json` and `mlsession analyze --all
--format json`, and prints what agrees (exit 1 if something does not).
"""
import json
import sqlite3
import sys

try:
    import orjson

    loads = orjson.loads
    PARSER = "orjson " + getattr(orjson, "__version__", "?")
except ImportError:  # no package index: the standard library
    loads = json.loads
    PARSER = "json (stdlib)"

ERR = ("STATUS_CODE_ERROR", "ERROR")


def scan(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.text_factory = bytes  # content stays bytes: orjson and json take bytes
    sid_of = {}
    for rid, col, meta in con.execute(
        "SELECT t.request_id, t.session_id, m.value FROM trace_info t "
        "LEFT JOIN trace_request_metadata m "
        "ON m.request_id = t.request_id AND m.key = 'mlflow.trace.session'"
    ):
        sid = col or meta
        if sid:
            sid_of[rid] = sid
    acc = {}
    nbytes = 0
    # Table order (rowid): sequential reads; the session comes from the dict.
    for tid, content in con.execute("SELECT trace_id, content FROM spans"):
        sid = sid_of.get(tid)
        if sid is None:
            continue
        nbytes += len(content)
        s = loads(content)
        a = acc.get(sid)
        if a is None:
            a = acc[sid] = [set(), 0, 0, 0, 0, 0, 0]
        a[0].add(tid)
        a[1] += 1
        attrs = s.get("attributes") or {}
        tu = attrs.get("mlflow.chat.tokenUsage")
        if tu is not None:
            u = loads(tu) if isinstance(tu, str) else tu
            a[2] += int(u.get("input_tokens") or 0)
            a[3] += int(u.get("output_tokens") or 0)
        st = s.get("status") or {}
        if st.get("code") in ERR:
            a[4] += 1
            if s.get("parent_span_id") is None:
                a[6] += 1
        for e in s.get("events") or ():
            if e.get("name") == "exception":
                a[5] += 1
    tot = {
        "sessions": len(acc), "turns": 0, "spans": 0, "input_tokens": 0,
        "output_tokens": 0, "error_spans": 0, "exceptions": 0, "error_turns": 0,
    }
    out = sys.stdout
    for sid in sorted(acc):
        a = acc[sid]
        row = {
            "session_id": sid.decode(), "turns": len(a[0]), "spans": a[1],
            "input_tokens": a[2], "output_tokens": a[3], "error_spans": a[4],
            "exceptions": a[5], "error_turns": a[6],
        }
        for k in row:
            if k != "session_id":
                tot[k] += row[k]
        out.write(json.dumps(row) + "\n")
    tot["parser"] = PARSER
    tot["content_bytes"] = nbytes
    out.write(json.dumps({"summary": tot}) + "\n")


# ---- compare ------------------------------------------------------------------

FIELDS = ("turns", "spans", "input_tokens", "output_tokens", "error_spans", "exceptions",
          "error_turns")


def read_rows(path):
    rows, summary = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            o = json.loads(line)
            if "summary" in o:
                summary = o["summary"]
            else:
                rows[o["session_id"]] = o
    return rows, summary


def read_sql(path):
    """sqlite3 -json output of analyze_baseline.sql."""
    with open(path) as f:
        text = f.read().strip()
    rows = {}
    for o in json.loads(text) if text else []:
        rows[o["session_id"]] = {k: int(o[k] or 0) for k in FIELDS} | {"session_id": o["session_id"]}
    return rows


def tok(session, key):
    """A session's token sum from `sessions list` (tokens is null without any)."""
    return (session.get("tokens") or {}).get(key) or 0


def compare(py_path, sql_path, list_path, analyze_path):
    ok = True
    py, summary = read_rows(py_path)
    sq = read_sql(sql_path)
    if py == sq:
        print(f"# python = sqlite3: {len(py)} sessions; every field equal "
              f"({', '.join(FIELDS)})")
    else:
        ok = False
        diff = [s for s in set(py) | set(sq) if py.get(s) != sq.get(s)]
        print(f"# python != sqlite3 on {len(diff)} sessions, e.g. "
              f"{diff[0]}: {py.get(diff[0])} vs {sq.get(diff[0])}")
    with open(list_path) as f:
        ls = {s["session_id"]: s for s in json.load(f)["sessions"]}
    bad = []
    for sid in set(py) | set(ls):
        p, m = py.get(sid), ls.get(sid)
        if (p is None or m is None or p["turns"] != m["turns"]
                or p["input_tokens"] != tok(m, "input")
                or p["output_tokens"] != tok(m, "output")
                or p["error_turns"] != m["errors"]):
            bad.append(sid)
    tin = sum(tok(m, "input") for m in ls.values())
    tout = sum(tok(m, "output") for m in ls.values())
    terr = sum(m["errors"] for m in ls.values())
    if bad:
        ok = False
        s = bad[0]
        print(f"# sessions list != span totals on {len(bad)} sessions, e.g. {s}: "
              f"{ls.get(s)} vs {py.get(s)}")
    else:
        print(f"# sessions list = span totals: {len(ls)} sessions, turns, input tokens "
              f"{tin}, output tokens {tout}, error turns {terr}")
    with open(analyze_path) as f:
        an = json.load(f)
    asess = {s["session_id"]: s for s in an["sessions"]}
    bad = [s for s in set(py) | set(asess)
           if s not in py or s not in asess or py[s]["turns"] != asess[s]["turns"]]
    # error.trace: one finding per failed turn; error.* span findings besides
    etrace = {s: sum(1 for f in a["findings"] if f["rule"] == "error.trace")
              for s, a in asess.items()}
    bad_err = [s for s in py if s in etrace and etrace[s] != py[s]["error_turns"]]
    rules = {}
    for a in asess.values():
        for f in a["findings"]:
            rules[f["rule"]] = rules.get(f["rule"], 0) + 1
    if bad:
        ok = False
        print(f"# analyze sessions/turns differ on {len(bad)} sessions, e.g. {bad[0]}")
    else:
        print(f"# analyze = span totals: {len(asess)} sessions, "
              f"{sum(a['turns'] for a in asess.values())} turns")
    if bad_err:
        print(f"# analyze error.trace findings != error turns on {len(bad_err)} sessions "
              f"(e.g. {bad_err[0]}: {etrace[bad_err[0]]} vs {py[bad_err[0]]['error_turns']})")
    else:
        print(f"# analyze error.trace findings = error turns: {sum(etrace.values())}")
    print("# analyze findings by rule: " + ", ".join(f"{k} {v}" for k, v in sorted(rules.items())))
    print("# span totals: " + ", ".join(f"{k} {summary[k]}" for k in summary))
    return ok


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "scan":
        scan(sys.argv[2])
        return 0
    if len(sys.argv) == 6 and sys.argv[1] == "compare":
        return 0 if compare(*sys.argv[2:]) else 1
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
