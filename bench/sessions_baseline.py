# SPDX-License-Identifier: MIT
"""Baselines for bench/run_sessions.sh: `sessions list` done in Python.

    python sessions_baseline.py sqlite DB.db EXP      Python sqlite3 + dicts
    python sessions_baseline.py mlflow URI EXP        MLflow's own SDK

`sqlite`: one SELECT of the per-trace columns (the session id by the rule as
far as SQL reaches: trace_info.session_id, else metadata, else tag
mlflow.trace.session, else legacy tag session_id: the row source of
bench/sessions_baseline.sql), every row grouped in a dict of lists in
Python, then per session: turns in order (request time, trace id), first /
last trace, first_ms / last_ms (request time + execution time), duration,
busy (sum of execution times), idle, largest idle gap, token sums, errors,
in progress, latency p50/p95; newest session first; JSON to stdout.

`mlflow`: mlflow.search_sessions(locations=[EXP], max_results=10**9,
include_spans=False) (MLflow 3.17.2: pages through the experiment's traces
newest first for the session ids in metadata mlflow.trace.session, then one
search_traces per session, in parallel threads), then the same per-session
rows from the returned TraceInfos. `import mlflow` is part of the cost.

Both print {"sessions": [...], "total": N, "traces": N (in those sessions)} with the fields of
`mlsession sessions list --format json` that the data gives (no previews, no
scores), and a timing line on stderr.
"""
import json
import sys
import time

ROWS = """
SELECT t.request_id, t.timestamp_ms, t.execution_time_ms, t.status,
       t.input_tokens, t.output_tokens, t.cache_read_input_tokens, t.total_tokens,
       coalesce(t.session_id, m.value, g.value, l.value)
FROM trace_info t
LEFT JOIN trace_request_metadata m ON m.key = 'mlflow.trace.session' AND m.request_id = t.request_id
LEFT JOIN trace_tags g ON g.key = 'mlflow.trace.session' AND g.request_id = t.request_id
LEFT JOIN trace_tags l ON l.key = 'session_id' AND l.request_id = t.request_id
WHERE t.experiment_id = ?
"""


def pct(sorted_vals, p):
    """Nearest-rank percentile."""
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, int(-(-p * len(sorted_vals) // 100)) - 1))
    return sorted_vals[k]


def row_of(sid, exp, turns):
    """turns: [(ts, trace_id, dur, status, it, ot, ct, tt)], any order."""
    turns.sort(key=lambda r: (r[0], r[1]))
    first_ms = turns[0][0]
    last_ms = max(r[0] + (r[2] or 0) for r in turns)
    busy = sum(r[2] or 0 for r in turns)
    idle_max, end = 0, None
    for r in turns:
        if end is not None and r[0] > end:
            idle_max = max(idle_max, r[0] - end)
        e = r[0] + (r[2] or 0)
        end = e if end is None else max(end, e)
    has_tok = [r for r in turns if r[4] is not None or r[5] is not None or r[7] is not None]
    tokens = None
    if has_tok:
        tokens = {"input": sum(r[4] or 0 for r in has_tok),
                  "output": sum(r[5] or 0 for r in has_tok),
                  "cached": sum(r[6] or 0 for r in has_tok),
                  "total": sum(r[7] or 0 for r in has_tok)}
    lat = sorted(r[2] or 0 for r in turns)
    return {
        "session_id": sid, "experiment_id": exp, "turns": len(turns),
        "first_trace_id": turns[0][1], "last_trace_id": turns[-1][1],
        "first_ms": first_ms, "last_ms": last_ms, "duration_ms": last_ms - first_ms,
        "busy_ms": busy, "idle_ms": max(0, last_ms - first_ms - busy), "idle_max_ms": idle_max,
        "tokens": tokens,
        "errors": sum(1 for r in turns if r[3] == "ERROR"),
        "in_progress": sum(1 for r in turns if r[3] == "IN_PROGRESS"),
        "latency_ms": {"p50": pct(lat, 50), "p95": pct(lat, 95)},
    }


def finish(groups, exp, ntraces, t0, what):
    rows = [row_of(sid, exp, turns) for sid, turns in groups.items()]
    rows.sort(key=lambda r: (-r["last_ms"], r["session_id"]))
    json.dump({"sessions": rows, "total": len(rows), "traces": ntraces}, sys.stdout)
    sys.stdout.write("\n")
    print(f"sessions_baseline {what}: {len(rows)} sessions, {ntraces} traces, "
          f"{time.monotonic() - t0:.2f}s", file=sys.stderr)


def from_sqlite(db, exp):
    import sqlite3
    t0 = time.monotonic()
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    groups, n = {}, 0
    for rid, ts, dur, st, it, ot, ct, tt, sid in con.execute(ROWS, (int(exp),)):
        if not sid:
            continue
        n += 1
        g = groups.get(sid)
        if g is None:
            g = groups[sid] = []
        g.append((ts, rid, dur, st, it, ot, ct, tt))
    con.close()
    finish(groups, exp, n, t0, "sqlite")


def from_mlflow(uri, exp):
    t0 = time.monotonic()
    import mlflow
    mlflow.set_tracking_uri(uri)
    t1 = time.monotonic()
    sessions = mlflow.search_sessions(locations=[exp], max_results=10**9, include_spans=False)
    groups, n = {}, 0
    for s in sessions:
        turns = []
        for tr in s:
            i = tr.info
            u = i.token_usage or {}
            st = getattr(i.state, "value", i.state)
            turns.append((i.request_time, i.trace_id, i.execution_duration, st,
                          u.get("input_tokens"), u.get("output_tokens"),
                          u.get("cache_read_input_tokens"), u.get("total_tokens")))
        n += len(turns)
        groups[s.id] = turns
    print(f"sessions_baseline mlflow: import {t1 - t0:.2f}s", file=sys.stderr)
    finish(groups, exp, n, t0, "mlflow")


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("sqlite", "mlflow"):
        print(__doc__, file=sys.stderr)
        return 2
    if sys.argv[1] == "sqlite":
        from_sqlite(sys.argv[2], sys.argv[3])
    else:
        from_mlflow(sys.argv[2], sys.argv[3])
    return 0


if __name__ == "__main__":
    sys.exit(main())
