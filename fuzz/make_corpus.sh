#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the seed corpora fuzz/corpus/<target>/ from real MLflow output: every
# .json/.jsonl fixture under tests/fixtures/ except hostile/ (made by
# tools/fixtures/make_fixtures.py) plus any extra export files given as
# arguments. Large exports are split
# into small seeds, because libFuzzer mutates small inputs far better:
#
#   fuzz_trace_decode  each trace alone, in the forms the loader accepts
#                      ({"traces":[t]}, `traces get` {"info","data"}, a JSON
#                      array, JSON Lines of two), plus whole small files
#   fuzz_json          each span object, each trace info, each assessment,
#                      and the JSON text inside attribute and metadata values
#   fuzz_escape        span names and attribute / metadata strings
#
# Seeds are named by the SHA-1 of their bytes (as libFuzzer names them), so
# re-running adds nothing twice. Files already in a corpus (reproducers of
# past crashes, hand-added seeds) are kept. Each corpus stays under 1.5 MB
# and 400 files: a fixed pseudo-random sample (by SHA-1) of the seeds.
#
#   fuzz/make_corpus.sh [extra-export.json ...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
exec python3 - "$root" "$@" <<'PY'
import glob, hashlib, json, os, sys

root = sys.argv[1]
extra = sys.argv[2:]
corpus = os.path.join(root, "fuzz", "corpus")
LIMIT = 3 * 512 * 1024      # bytes per corpus, under the 2 MB rule
MAX_FILES = 400              # seeds per corpus; more only slows the first pass
MAX_SEED = 64 * 1024          # a seed larger than this is not kept

def sources():
    """Every .json / .jsonl under tests/fixtures/ except hand-written hostile/."""
    found = []
    for ext in ("json", "jsonl"):
        found += glob.glob(os.path.join(root, "tests", "fixtures", "**", "*." + ext),
                           recursive=True)
    for f in sorted(set(found)):
        if os.sep + "hostile" + os.sep not in f:
            yield f
    for f in extra:
        yield f

def documents(text):
    """One JSON document, or several one after another (pages, JSON Lines)."""
    dec = json.JSONDecoder()
    i, n, out = 0, len(text), []
    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            return out
        try:
            v, i = dec.raw_decode(text, i)
        except ValueError:
            return out
        out.append(v)

def traces_of(doc):
    if isinstance(doc, list):
        for d in doc:
            yield from traces_of(d)
    elif isinstance(doc, dict):
        if "info" in doc or "trace_info" in doc:
            yield doc
        elif isinstance(doc.get("trace"), dict):
            yield doc["trace"]
        elif isinstance(doc.get("traces"), list):
            for t in doc["traces"]:
                yield from traces_of(t)

def compact(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)

seeds = {"fuzz_trace_decode": {}, "fuzz_json": {}, "fuzz_escape": {}}

def add(target, data):
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if 0 < len(data) <= MAX_SEED:
        seeds[target][hashlib.sha1(data).hexdigest()] = data

def strings_in(v, out):
    if isinstance(v, str):
        out.append(v)
    elif isinstance(v, dict):
        for k, x in v.items():
            out.append(k)
            strings_in(x, out)
    elif isinstance(v, list):
        for x in v:
            strings_in(x, out)

for path in sources():
    try:
        raw = open(path, "rb").read()
    except OSError as e:
        print(f"make_corpus: skipping {path}: {e}", file=sys.stderr)
        continue
    if len(raw) <= MAX_SEED:
        add("fuzz_trace_decode", raw)
        add("fuzz_json", raw)
    docs = documents(raw.decode("utf-8", "replace"))
    for t in (t for d in docs for t in traces_of(d)):
        add("fuzz_trace_decode", compact({"traces": [t]}))
        add("fuzz_trace_decode", json.dumps(t, indent=2) + "\n")
        add("fuzz_trace_decode", compact([t]))
        add("fuzz_trace_decode", compact(t) + "\n" + compact(t) + "\n")
        info = t.get("info") or t.get("trace_info") or {}
        spans = (t.get("data") or {}).get("spans") or t.get("spans") or []
        add("fuzz_json", compact(info))
        for a in info.get("assessments") or []:
            add("fuzz_json", compact(a))
        md = info.get("trace_metadata") or info.get("request_metadata")
        for v in (md.values() if isinstance(md, dict) else []):
            if isinstance(v, str):
                add("fuzz_escape", v)
                if v[:1] in ("{", "[", '"'):
                    add("fuzz_json", v)
        for s in spans:
            add("fuzz_json", compact(s))
            add("fuzz_trace_decode", compact({"info": info, "data": {"spans": [s]}}))
            if not isinstance(s, dict):
                continue
            add("fuzz_escape", s.get("name") or "")
            attrs = s.get("attributes")
            if isinstance(attrs, dict):
                for k, v in attrs.items():
                    if isinstance(v, str):
                        add("fuzz_escape", v)
                        add("fuzz_json", v)  # MLflow stores attribute values as JSON text
        strs = []
        strings_in(t, strs)
        for x in strs:
            if any(ord(c) > 0x7e or ord(c) < 0x20 for c in x):
                add("fuzz_escape", x)

for target, got in seeds.items():
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    kept = {f: os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)}
    budget = LIMIT - sum(kept.values())
    added = 0
    room = MAX_FILES - len(kept)
    # by SHA-1 name: a fixed pseudo-random sample, so every run picks the same
    for name, data in sorted(got.items()):
        if name in kept or len(data) > budget:
            continue
        if room <= 0:
            break
        room -= 1
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        budget -= len(data)
        added += 1
    total = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    print(f"make_corpus: {target}: {added} new seeds, {len(os.listdir(d))} files, {total} bytes")
PY
