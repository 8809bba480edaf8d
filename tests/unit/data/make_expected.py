#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Regenerates the expected outputs next to scratch_search.json.

For every trace in scratch_search.json (real `mlflow traces search --output
json` output of mlflow 3.17.2) writes scratch_<trace_id>.expected.json =
json.dumps(trace, indent=2) + "\n", which is what `mlflow traces get` prints
for that trace and what ms_trace_to_json() must reproduce byte for byte.
Run from this directory: python3 make_expected.py
"""
import json

with open("scratch_search.json", encoding="utf-8") as f:
    page = json.load(f)
for trace in page["traces"]:
    tid = trace["info"]["trace_id"]
    with open(f"scratch_{tid}.expected.json", "w", encoding="utf-8") as out:
        out.write(json.dumps(trace, indent=2) + "\n")
