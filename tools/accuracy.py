#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the accuracy figures of docs/accuracy.md from the labelled corpus.

Runs `mlsession analyze --all --format json` on tests/fixtures/corpus/mlflow.db
and compares every session's findings with tests/fixtures/corpus/labels.json:
recall of the expected (rule, turn) pairs, the clean sessions with an
error-level finding (false alarms), per rule, and every miss and every
false alarm by name. The gate itself is tests/unit/test_analyze_corpus.c;
this script only reports.

    python3 tools/accuracy.py build/mlsession > /tmp/accuracy.md
"""
import collections
import json
import os
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ms = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build", "mlsession")
store = os.path.join(root, "tests", "fixtures", "corpus", "mlflow.db")
labels = json.load(open(os.path.join(root, "tests", "fixtures", "corpus", "labels.json")))
out = subprocess.run([ms, "--tracking-uri", store, "analyze", "--all", "--format", "json"],
                     capture_output=True, text=True)
found = {s["session_id"]: s["findings"] for s in json.loads(out.stdout)["sessions"]}

per_rule = collections.defaultdict(lambda: [0, 0])
misses, alarms = [], []
n_exp = n_hit = 0
clean = clean_bad = 0
for s in labels["sessions"]:
    f = found.get(s["session_id"], [])
    have = {(x["rule"], x["turn"]) for x in f}
    for e in s["expected"]:
        n_exp += 1
        per_rule[e["rule"]][0] += 1
        if (e["rule"], e["turn"]) in have:
            n_hit += 1
            per_rule[e["rule"]][1] += 1
        else:
            near = sorted(x["turn"] for x in f if x["rule"] == e["rule"])
            misses.append((s["session_id"], e["rule"], e["turn"], near))
    if s["clean"]:
        clean += 1
        errs = [x for x in f if x["severity"] == "error"]
        if errs:
            clean_bad += 1
            alarms.append((s["session_id"], [(x["rule"], x["turn"]) for x in errs]))

print(f"Corpus: {len(labels['sessions'])} sessions ({clean} clean), {n_exp} planted faults.\n")
print(f"* **Recall** of planted faults at the right turn: **{n_hit}/{n_exp} "
      f"({100 * n_hit / n_exp:.1f} %)** (gate: at least 90 %)")
print(f"* **False alarms**: clean sessions with an error-level finding: **{clean_bad}/{clean} "
      f"({100 * clean_bad / clean:.1f} %)** (gate: at most 5 %)\n")
print("| rule | planted | found at the right turn |\n|---|---|---|")
for r in sorted(per_rule):
    print(f"| `{r}` | {per_rule[r][0]} | {per_rule[r][1]} |")
print("\nMisses:" if misses else "\nMisses: none.")
for sid, rule, turn, near in misses:
    print(f"* `{sid}`: `{rule}` expected at turn {turn}; found at turns {near or 'none'}")
print("\nFalse alarms:" if alarms else "\nFalse alarms: none.")
for sid, errs in alarms:
    print(f"* `{sid}`: {errs}")
