# SPDX-License-Identifier: MIT
"""Baseline for bench/run_rest.sh: export every trace of an experiment, with
spans, through MLflow's own Python client, the way `mlflow traces search
--output json` does it: TracingClient.search_traces page by page, then
json.dumps of each trace's to_dict().

    python rest_client.py URL EXPERIMENT_ID PAGE_SIZE OUTDIR

Writes OUTDIR/page-NNNN.json ({"traces": [...], "next_page_token": ...}).
Prints to stderr how long the `import mlflow` took (part of the client's
cost: bench/run_rest.sh times the whole process).
"""
import json
import os
import sys
import time


def main():
    url, exp, size, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    t0 = time.monotonic()
    import mlflow
    from mlflow.tracing.client import TracingClient

    mlflow.set_tracking_uri(url)
    client = TracingClient(url)
    t1 = time.monotonic()
    token, page = None, 0
    while True:
        res = client.search_traces(locations=[exp], max_results=size, page_token=token,
                                   include_spans=True)
        token = res.token
        doc = {"traces": [t.to_dict() for t in res], "next_page_token": token}
        with open(os.path.join(out, "page-%04d.json" % page), "w") as f:
            f.write(json.dumps(doc, indent=2))
        page += 1
        if not token:
            break
    t2 = time.monotonic()
    print("rest_client: import %.2f s, export %.2f s, %d pages" % (t1 - t0, t2 - t1, page),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
