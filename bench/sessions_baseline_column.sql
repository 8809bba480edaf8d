-- SPDX-License-Identifier: MIT
-- Baseline for bench/run_sessions.sh, the cheapest form: like
-- sessions_baseline.sql but the session id from the trace_info.session_id
-- column only (where MLflow 3.17.2 keeps it; no tag or metadata fallback).
SELECT session_id AS sid, count(*) AS turns, substr(min(printf('%020d', timestamp_ms) || request_id), 21) AS first_trace_id,
       substr(max(printf('%020d', timestamp_ms) || request_id), 21) AS last_trace_id,
       min(timestamp_ms) AS first_ms,
       max(timestamp_ms + coalesce(execution_time_ms, 0)) AS last_ms,
       max(timestamp_ms + coalesce(execution_time_ms, 0)) - min(timestamp_ms) AS duration_ms,
       sum(input_tokens), sum(output_tokens), sum(cache_read_input_tokens), sum(total_tokens),
       sum(status = 'ERROR') AS errors, sum(status = 'IN_PROGRESS') AS in_progress
FROM trace_info WHERE experiment_id = 1 AND session_id IS NOT NULL AND session_id <> ''
GROUP BY session_id ORDER BY last_ms DESC, sid;
