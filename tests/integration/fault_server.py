# SPDX-License-Identifier: MIT
"""A small misbehaving MLflow tracking server for the REST fault tests.

Binds 127.0.0.1 only, on a free port; one thread per request. Answers
POST /api/3.0/mlflow/traces/search by its mode and serves the rest (spans by
artifact or batchGet, experiments) plainly. It counts every request per
route, so a test can check that retries stay bounded.

Modes (for traces/search):
  ok            one trace, every time
  slow          sleeps `slow_s` (default 5 s) before answering
  500-then-ok   HTTP 500 for the first `fails` requests (default 1), then ok
  500           HTTP 500 always
  429-then-ok   HTTP 429 with Retry-After: `retry_after` (default 1), then ok
  429-long      HTTP 429 with Retry-After: 3600, always
  truncated     Content-Length promises more than is sent, then the socket closes
  invalid-json  HTTP 200 with a body that is not JSON
  401           HTTP 401 with an MLflow error body
  reset         closes the connection without answering

    with FaultServer("500-then-ok") as fs:
        fs.url, fs.count("search")
"""
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TRACE = {
    "trace_id": "tr-0123456789abcdef0123456789abcdef",
    "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "1"}},
    "request_time": "2026-01-15T13:35:00Z",
    "execution_duration": "0.004s",
    "state": "OK",
    "trace_metadata": {"mlflow.trace_schema.version": "3"},
    "tags": {"mlflow.traceName": "fault", "mlflow.trace.spansLocation": "TRACKING_STORE"},
    "request_preview": "{}",
    "response_preview": "{}",
}
MAX_SLEEP = 30.0  # no handler ever sleeps longer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status, body, headers=None, length=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(length if length is not None else len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(n, 1 << 20)) if n > 0 else b""

    def do_GET(self):
        srv = self.server.fault
        if "get-trace-artifact" in self.path:
            srv.bump("artifact")
            self._send(200, {"spans": []})
        elif "batchGet" in self.path:
            srv.bump("batchGet")
            self._send(200, {"traces": [{"trace_info": TRACE, "spans": []}]})
        elif self.path.startswith("/health"):
            self._send(200, b"OK")
        else:
            srv.bump("other")
            self._send(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": "no such route"})

    def do_POST(self):
        srv = self.server.fault
        self._read_body()
        if self.path.startswith("/api/2.0/mlflow/experiments/search"):
            srv.bump("experiments")
            self._send(200, {"experiments": [{"experiment_id": "1", "name": "x",
                                              "artifact_location": "/tmp/x",
                                              "lifecycle_stage": "active"}]})
            return
        if not self.path.startswith("/api/3.0/mlflow/traces/search"):
            srv.bump("other")
            self._send(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": "no such route"})
            return
        n = srv.bump("search")
        mode = srv.mode
        ok = {"traces": [TRACE]}
        if mode == "ok":
            self._send(200, ok)
        elif mode == "slow":
            srv.stop_event.wait(min(srv.slow_s, MAX_SLEEP))
            try:
                self._send(200, ok)
            except OSError:
                pass
        elif mode in ("500-then-ok", "500"):
            if mode == "500" or n <= srv.fails:
                self._send(500, {"error_code": "INTERNAL_ERROR", "message": "boom"})
            else:
                self._send(200, ok)
        elif mode == "429-then-ok":
            if n <= srv.fails:
                self._send(429, {"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"},
                           {"Retry-After": str(srv.retry_after)})
            else:
                self._send(200, ok)
        elif mode == "429-long":
            self._send(429, {"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"},
                       {"Retry-After": "3600"})
        elif mode == "truncated":
            data = json.dumps(ok).encode()
            try:
                self._send(200, data[: len(data) // 2], length=len(data))
            except OSError:
                pass
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        elif mode == "invalid-json":
            self._send(200, b'{"traces": [{"trace_id": "tr-1", oops')
        elif mode == "401":
            self._send(401, {"error_code": "UNAUTHENTICATED",
                             "message": "You are not authenticated."},
                       {"WWW-Authenticate": 'Basic realm="mlflow"'})
        elif mode == "reset":
            self.close_connection = True
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           b"\x01\x00\x00\x00\x00\x00\x00\x00")
                self.connection.close()
            except OSError:
                pass
        else:
            self._send(500, {"error_code": "INTERNAL_ERROR", "message": f"unknown mode {mode}"})


class FaultServer:
    def __init__(self, mode, fails=1, retry_after=1, slow_s=5.0):
        self.mode = mode
        self.fails = fails
        self.retry_after = retry_after
        self.slow_s = slow_s
        self.counts = {}
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.httpd = None
        self.thread = None

    def bump(self, route):
        with self.lock:
            self.counts[route] = self.counts.get(route, 0) + 1
            return self.counts[route]

    def count(self, route):
        with self.lock:
            return self.counts.get(route, 0)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.fault = self
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.stop_event.set()
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join(timeout=5)
            self.httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


if __name__ == "__main__":
    import sys
    fs = FaultServer(sys.argv[1] if len(sys.argv) > 1 else "ok").start()
    print(fs.url, flush=True)
    try:
        time.sleep(3600)
    except KeyboardInterrupt:
        pass
    fs.stop()
