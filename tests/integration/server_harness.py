# SPDX-License-Identifier: MIT
"""A real MLflow tracking server over a copy of the SQLite fixture store.

As a context manager:

    with MlflowServer(fixtures_dir) as srv:
        srv.url   # http://127.0.0.1:PORT
        srv.work  # the copied store (relocated artifact paths)

From the shell (prints the URL, serves until stdin closes or SIGTERM):

    python server_harness.py --fixtures tests/fixtures [--port N]

The server is the oracle venv's `mlflow server`, bound to 127.0.0.1 only, on
a free port, with its artifacts in the temp dir. Startup is bounded (60 s by
default); teardown terminates the process group, then kills it.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_get import relocate  # noqa: E402


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mlflow_bin():
    here = os.path.dirname(sys.executable)
    cand = os.path.join(here, "mlflow")
    if os.path.exists(cand):
        return cand
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    venv = subprocess.run([os.path.join(root, "tools", "oracle.sh")], capture_output=True,
                          text=True, timeout=600).stdout.strip()
    return os.path.join(venv, "mlflow")


class MlflowServer:
    def __init__(self, fixtures, store="sqlite", port=None, startup_timeout=60.0):
        self.fixtures = fixtures
        self.store = store
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.tmp = None
        self.proc = None
        self.url = f"http://127.0.0.1:{self.port}"
        self.work = None
        self.log = None

    def start(self):
        self.tmp = tempfile.mkdtemp(prefix="ms-rest-")
        self.work = os.path.join(self.tmp, self.store)
        shutil.copytree(os.path.join(self.fixtures, self.store), self.work)
        relocate(self.work, self.store)
        arts = os.path.join(self.tmp, "artifacts")
        os.makedirs(arts)
        self.log = open(os.path.join(self.tmp, "server.log"), "wb")
        env = dict(os.environ)
        for k in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD",
                  "MLFLOW_TRACKING_TOKEN"):
            env.pop(k, None)
        cmd = [_mlflow_bin(), "server",
               "--backend-store-uri", "sqlite:///" + os.path.join(self.work, "mlflow.db"),
               "--artifacts-destination", arts,
               "--host", "127.0.0.1", "--port", str(self.port), "--workers", "2"]
        self.proc = subprocess.Popen(cmd, cwd=self.tmp, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.3)
        tail = self.log_tail()
        self.stop()
        raise RuntimeError(f"mlflow server did not come up on {self.url}: {tail}")

    def log_tail(self, n=1500):
        try:
            return open(os.path.join(self.tmp, "server.log"), "rb").read()[-n:].decode(
                errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        self.proc = None
        if self.log:
            self.log.close()
            self.log = None
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--port", type=int)
    args = ap.parse_args()
    srv = MlflowServer(os.path.abspath(args.fixtures), port=args.port)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    with srv:
        print(srv.url, flush=True)
        try:
            sys.stdin.read()  # serve until stdin closes
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
