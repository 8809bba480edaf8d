# SPDX-License-Identifier: MIT
"""A throw-away PostgreSQL 15 tracking store filled BY MLFLOW ITSELF.

Starts a private PostgreSQL server (initdb into a temp dir owned by the
`postgres` user, listening on a free 127.0.0.1 port, its unix socket in the
temp dir), creates a database and a password-protected owner role, then runs
the fixture generator (tools/fixtures/make_fixtures.py, profile "main": the
real agent app and scripted sessions) with the MLflow SDK of the oracle venv
pointed at postgresql://... (MLflow creates its schema with its own
migrations; artifacts land in <tmp>/store/mlruns). Finally a second role with
only SELECT grants is created, for read-only proofs.

Use as a context manager from the oracle venv's python:

    with PgHarness() as pg:
        pg.uri          # postgresql://mlflow:<pw>@127.0.0.1:<port>/mlflow (owner)
        pg.sdk_uri      # the same as postgresql+psycopg2://, for MLflow itself
        pg.reader_uri   # postgresql://mlreader:<pw>@127.0.0.1:<port>/mlflow (SELECT only)
        pg.admin()      # psycopg2 connection as the superuser, over the socket

or as a CLI: `python pg_harness.py` prints the URIs as JSON on one line, then
keeps the server up until stdin closes or a signal arrives (`--once` tears it
down at once, e.g. to time it). Everything is torn down on exit.

Raises PgUnavailable when PostgreSQL cannot be started (no binaries, no
`postgres` user, ...), so a suite can skip loudly.
"""
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
PG_BIN = os.environ.get("MS_PG_BIN", "/usr/lib/postgresql/15/bin")
PG_USER = os.environ.get("MS_PG_OS_USER", "postgres")
DB = "mlflow"
OWNER = "mlflow"
READER = "mlreader"

# Runs make_fixtures.py with every sqlite:/// tracking URI replaced by ours.
BOOT = r"""
import os, sys
sys.path.insert(0, sys.argv[1])
uri = os.environ["MS_PG_FIXTURE_URI"]
sys.argv = ["make_fixtures.py", "--store", sys.argv[2], "--profile", "main"]
import make_fixtures
_run = make_fixtures.Generator.run
def run(self):
    real = self.mlflow.set_tracking_uri
    self.mlflow.set_tracking_uri = lambda u: real(uri if str(u).startswith("sqlite:") else u)
    _run(self)
make_fixtures.Generator.run = run
make_fixtures.main()
"""


class PgUnavailable(RuntimeError):
    pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgHarness:
    def __init__(self, fixtures=True, python=None, verbose=False):
        self.fixtures = fixtures
        self.python = python or sys.executable
        self.verbose = verbose
        self.tmp = None
        self.started = False
        self.timings = {}

    # -- helpers -----------------------------------------------------------
    def _as_pg(self, argv, **kw):
        if os.geteuid() == 0:
            argv = ["runuser", "-u", PG_USER, "--"] + argv
        return subprocess.run(argv, capture_output=True, text=True, **kw)

    def _log(self, msg):
        if self.verbose:
            print(f"[pg] {msg}", file=sys.stderr)

    def admin(self, db=DB):
        import psycopg2
        return psycopg2.connect(host=self.sockdir, port=self.port, user="postgres", dbname=db)

    # -- lifecycle ---------------------------------------------------------
    def __enter__(self):
        try:
            self.start()
            if self.fixtures:
                self.load_fixtures()
            self.make_reader()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        t0 = time.monotonic()
        if not os.path.exists(os.path.join(PG_BIN, "initdb")):
            raise PgUnavailable(f"no PostgreSQL binaries in {PG_BIN}")
        try:
            pw = pwd.getpwnam(PG_USER)
        except KeyError:
            raise PgUnavailable(f"no '{PG_USER}' user to run PostgreSQL as")
        self.tmp = tempfile.mkdtemp(prefix="ms-pg-")
        os.chmod(self.tmp, 0o755)
        self.data = os.path.join(self.tmp, "data")
        self.sockdir = os.path.join(self.tmp, "sock")
        self.store = os.path.join(self.tmp, "store")
        os.mkdir(self.sockdir)
        os.mkdir(self.store)
        if os.geteuid() == 0:
            os.chown(self.sockdir, pw.pw_uid, pw.pw_gid)
            os.chown(self.tmp, pw.pw_uid, pw.pw_gid)
        self.port = free_port()
        self.password = secrets.token_urlsafe(12)
        self.reader_password = secrets.token_urlsafe(12)
        r = self._as_pg([os.path.join(PG_BIN, "initdb"), "-D", self.data, "-U", "postgres",
                         "-E", "UTF8", "--locale=C.UTF-8", "--auth-local=trust",
                         "--auth-host=scram-sha-256", "--no-sync"])
        if r.returncode != 0:
            raise PgUnavailable("initdb failed: " + (r.stderr or r.stdout)[-500:])
        opts = (f"-p {self.port} -k {self.sockdir} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                # no background ANALYZE writing pg_statistic while a suite
                # watches the write counters; make_reader() analyzes once
                "-c autovacuum=off")
        r = self._as_pg([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-o", opts, "-l",
                         os.path.join(self.tmp, "server.log"), "-w", "-t", "30", "start"])
        if r.returncode != 0:
            log = ""
            try:
                log = open(os.path.join(self.tmp, "server.log")).read()[-800:]
            except OSError:
                pass
            raise PgUnavailable("pg_ctl start failed: " + (r.stderr or r.stdout)[-300:] + log)
        self.started = True
        import psycopg2
        c = psycopg2.connect(host=self.sockdir, port=self.port, user="postgres",
                             dbname="postgres")
        c.autocommit = True
        with c.cursor() as cur:
            cur.execute(f"CREATE ROLE {OWNER} LOGIN PASSWORD %s", (self.password,))
            cur.execute(f"CREATE DATABASE {DB} OWNER {OWNER}")
        c.close()
        self.uri = f"postgresql://{OWNER}:{self.password}@127.0.0.1:{self.port}/{DB}"
        # SQLAlchemy 2.1 maps plain postgresql:// to psycopg 3; the oracle venv
        # has psycopg2-binary, so MLflow gets the explicit driver
        self.sdk_uri = self.uri.replace("postgresql://", "postgresql+psycopg2://", 1)
        self.timings["start"] = time.monotonic() - t0
        self._log(f"up on 127.0.0.1:{self.port} in {self.timings['start']:.1f}s")

    def load_fixtures(self):
        t0 = time.monotonic()
        # as tools/fixtures/make_fixtures.sh runs it
        env = dict(os.environ, MS_PG_FIXTURE_URI=self.sdk_uri,
                   MLFLOW_ENABLE_ASYNC_TRACE_LOGGING="false", MLFLOW_DISABLE_TELEMETRY="true",
                   DO_NOT_TRACK="true", LOGNAME="support-bot", USER="support-bot", TZ="UTC",
                   PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1", GIT_PYTHON_REFRESH="quiet")
        for k in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME",
                  "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD",
                  "MLFLOW_TRACKING_TOKEN", "MLFLOW_ALLOW_FILE_STORE"):
            env.pop(k, None)
        r = subprocess.run([self.python, "-c", BOOT, os.path.join(REPO, "tools", "fixtures"),
                            self.store], capture_output=True, text=True, env=env,
                           timeout=600)
        if r.returncode != 0:
            raise RuntimeError("fixture generation failed:\n" + r.stderr[-3000:])
        self.manifest = json.load(open(os.path.join(self.store, "manifest.json")))
        self.timings["fixtures"] = time.monotonic() - t0
        self._log(f"fixtures in {self.timings['fixtures']:.1f}s")

    def make_reader(self):
        c = self.admin()
        c.autocommit = True
        with c.cursor() as cur:
            cur.execute(f"CREATE ROLE {READER} LOGIN PASSWORD %s", (self.reader_password,))
            cur.execute(f"GRANT CONNECT ON DATABASE {DB} TO {READER}")
            cur.execute(f"GRANT USAGE ON SCHEMA public TO {READER}")
            cur.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READER}")
            cur.execute("VACUUM ANALYZE")
        c.close()
        self.reader_uri = (f"postgresql://{READER}:{self.reader_password}@127.0.0.1:"
                           f"{self.port}/{DB}")

    def stop(self):
        if self.started:
            self._as_pg([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", "immediate",
                         "-w", "stop"])
            self.started = False
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def info(self):
        return {"uri": self.uri, "sdk_uri": self.sdk_uri, "reader_uri": self.reader_uri, "port": self.port,
                "socket_dir": self.sockdir, "artifacts": os.path.join(self.store, "mlruns"),
                "timings": {k: round(v, 1) for k, v in self.timings.items()}}


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-fixtures", action="store_true")
    ap.add_argument("--once", action="store_true", help="tear down after printing")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1) or sys.exit(0))
    try:
        with PgHarness(fixtures=not args.no_fixtures, verbose=args.verbose) as pg:
            print(json.dumps(pg.info()), flush=True)
            if not args.once:
                try:
                    sys.stdin.read()
                except KeyboardInterrupt:
                    pass
    except PgUnavailable as e:
        print(f"pg_harness: PostgreSQL unavailable: {e}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
