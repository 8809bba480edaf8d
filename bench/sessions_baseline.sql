-- SPDX-License-Identifier: MIT
-- Baseline for bench/run_sessions.sh: `sessions list` as one sqlite3
-- statement over MLflow 3.17.2's SQLite schema, experiment 1. The session id
-- of a trace by the issue's rule as far as SQL reaches it: the
-- trace_info.session_id column (3.17.2), else the metadata row
-- mlflow.trace.session (older schemas), else the tag mlflow.trace.session,
-- else the legacy tag session_id (each a primary-key lookup; root span
-- attributes are left out: they need the span JSON). Per session: turns,
-- first and last trace
-- (by request time, then trace id), first/last time (last =
-- request time + execution time), duration, token sums, errors, in progress.
-- Newest session first.
WITH t AS (
  SELECT t.request_id AS id, t.timestamp_ms AS ts, coalesce(t.execution_time_ms, 0) AS dur,
         t.status AS st, t.input_tokens AS it, t.output_tokens AS ot,
         t.cache_read_input_tokens AS ct, t.total_tokens AS tt,
         coalesce(t.session_id, m.value, g.value, l.value) AS sid
  FROM trace_info t
  LEFT JOIN trace_request_metadata m ON m.key = 'mlflow.trace.session' AND m.request_id = t.request_id
  LEFT JOIN trace_tags g ON g.key = 'mlflow.trace.session' AND g.request_id = t.request_id
  LEFT JOIN trace_tags l ON l.key = 'session_id' AND l.request_id = t.request_id
  WHERE t.experiment_id = 1)
SELECT sid, count(*) AS turns, substr(min(printf('%020d', ts) || id), 21) AS first_trace_id,
       substr(max(printf('%020d', ts) || id), 21) AS last_trace_id, min(ts) AS first_ms,
       max(ts + dur) AS last_ms, max(ts + dur) - min(ts) AS duration_ms,
       sum(it), sum(ot), sum(ct), sum(tt),
       sum(st = 'ERROR') AS errors, sum(st = 'IN_PROGRESS') AS in_progress
FROM t WHERE sid IS NOT NULL AND sid <> ''
GROUP BY sid ORDER BY last_ms DESC, sid;
