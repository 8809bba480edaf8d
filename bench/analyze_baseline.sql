-- SPDX-License-Identifier: MIT
-- Baseline for `mlsession analyze --all` (bench/run_analyze.sh): the span
-- content pass with sqlite3's json_extract, the same totals as
-- bench/analyze_baseline.py. Per session (trace_info.session_id, else the
-- metadata row mlflow.trace.session; traces without one are left out):
-- turns, spans, input/output tokens summed from the mlflow.chat.tokenUsage
-- attribute (a JSON string holding an object, so parsed twice), spans in
-- error (status code STATUS_CODE_ERROR or ERROR), exception events, and
-- turns whose root span is in error. Run with `sqlite3 -readonly -json DB`.
-- Every span's content is parsed by json_extract / json_each.
SELECT sid AS session_id,
       count(DISTINCT trace_id) AS turns,
       count(*) AS spans,
       coalesce(sum(json_extract(tu, '$.input_tokens')), 0) AS input_tokens,
       coalesce(sum(json_extract(tu, '$.output_tokens')), 0) AS output_tokens,
       sum(code IN ('STATUS_CODE_ERROR', 'ERROR')) AS error_spans,
       sum(nexc) AS exceptions,
       sum(is_root AND code IN ('STATUS_CODE_ERROR', 'ERROR')) AS error_turns
FROM (SELECT coalesce(t.session_id, m.value) AS sid,
             s.trace_id,
             json_extract(s.content, '$.attributes."mlflow.chat.tokenUsage"') AS tu,
             json_extract(s.content, '$.status.code') AS code,
             json_type(s.content, '$.parent_span_id') IS NOT 'text' AS is_root,
             (SELECT count(*) FROM json_each(s.content, '$.events') e
               WHERE json_extract(e.value, '$.name') = 'exception') AS nexc
      FROM spans s
      JOIN trace_info t ON t.request_id = s.trace_id
      LEFT JOIN trace_request_metadata m
             ON m.request_id = t.request_id AND m.key = 'mlflow.trace.session')
WHERE sid IS NOT NULL
GROUP BY sid
ORDER BY sid;
