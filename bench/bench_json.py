#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Python's json.loads over the same bytes as bench_json.c, timed the same
# way: one untimed warm-up pass, then REPS repetitions of whole passes over
# every document until MIN_SECONDS have passed; the median seconds per pass
# is reported. Documents are bytes (json.loads decodes the UTF-8 itself, as
# the C parsers do). Input: files holding one or more JSON documents (split
# untimed), or with --lines one document per line (bench_json --dump-docs).
#
#   bench/bench_json.py [--lines] [--min-seconds S] [--reps N] [--label W] FILE...
#   -> bench: workload=W parser=python-json docs=D bytes=B ... mb_s=X gb_s=Y
import argparse
import json
import statistics
import sys
import time


def split_docs(raw):
    dec = json.JSONDecoder()
    text = raw.decode("utf-8")
    i, n, out = 0, len(text), []
    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            return out
        _, end = dec.raw_decode(text, i)
        out.append(text[i:end].encode("utf-8"))
        i = end


def one_pass(docs, loads=json.loads):
    s = 0
    for d in docs:
        s += len(loads(d))
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", action="store_true")
    ap.add_argument("--min-seconds", type=float, default=0.5)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--label", default="whole")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    docs = []
    for f in a.files:
        raw = open(f, "rb").read()
        if a.lines:
            docs += [l for l in raw.split(b"\n") if l.strip()]
        else:
            docs += split_docs(raw)
    nbytes = sum(len(d) for d in docs)
    checksum = one_pass(docs)  # warm-up
    per_pass, passes = [], 0
    for _ in range(a.reps):
        n, t0 = 0, time.perf_counter()
        while True:
            checksum += one_pass(docs)
            n += 1
            t = time.perf_counter() - t0
            if t >= a.min_seconds:
                break
        per_pass.append(t / n)
        passes += n
    sec = statistics.median(per_pass)
    mbs = nbytes / sec / 1e6
    print(f"bench: workload={a.label} parser=python-json docs={len(docs)} bytes={nbytes} "
          f"passes={passes} seconds_per_pass={sec:.6f} mb_s={mbs:.1f} gb_s={mbs / 1000:.3f} "
          f"checksum={checksum}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
