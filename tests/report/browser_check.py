# SPDX-License-Identifier: MIT
"""Opens mlsession HTML reports in headless Chromium and checks them.

For each report: a screenshot (kept as an artifact), no console message or
uncaught error, no network request of any kind (Chromium's proxy points at
a local listener that counts connections, and every host name resolves to
nothing), the expected number of session rows, charts and findings in the
DOM after the inline script ran, and, for the XSS corpus, a canary planted
in a copy of the report that any executed payload would flip.

Standard library only. Prints one line per check ("ok ..." / "FAIL ...")
and a last line "browser: N passed, N failed".
"""
import argparse
import html.parser
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # quieter still: fewer requests of the browser's own (see baseline())
    "--disable-extensions",
    "--disable-default-apps",
    "--no-pings",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--metrics-recording-only",
    "--no-default-browser-check",
    "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate,"
    "AutofillServerCommunication,CertificateTransparencyComponentUpdater",
]

CANARY_HEAD = '<div id="canary">untouched</div>'
CANARY_TAIL = (
    "<script>window.addEventListener('load',function(){setTimeout(function(){"
    "var c=document.getElementById('canary');"
    "c.setAttribute('data-xss',String(window.__xss===1));},100);});</script>"
)


class Listener:
    """A TCP listener standing in for a proxy: every connection is a
    network request the page should never have made."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.seen = []
        self.lock = threading.Lock()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.settimeout(2)
            try:
                first = conn.recv(512).split(b"\r\n", 1)[0].decode("latin-1")
            except OSError:
                first = "(nothing read)"
            with self.lock:
                self.seen.append(first)
            conn.close()

    def take(self):
        with self.lock:
            out, self.seen = self.seen, []
        return out


def target(line):
    """The host a proxied request goes to: 'CONNECT h:443' or 'GET http://h/...'."""
    parts = line.split()
    if len(parts) < 2:
        return line
    method, url = parts[0], parts[1]
    if method == "CONNECT":
        return url.rsplit(":", 1)[0]
    if "://" in url:
        return url.split("://", 1)[1].split("/", 1)[0].split(":", 1)[0]
    return url


class Dom(html.parser.HTMLParser):
    """Counts what the checks need in a dumped DOM."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows = self.charts = self.findings = self.sessions = 0
        self.scripts = self.imgs = self.iframes = self.links = self.metas_refresh = 0
        self.ready = False
        self.csp = False
        self.hidden_rows = 0
        self.pager = False
        self.handlers = []
        self.ext_refs = []
        self.canary_text = None
        self.canary_xss = None
        self._in_canary = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag == "html" and a.get("data-report-ready") == "1":
            self.ready = True
        if tag == "tr" and "srow" in cls:
            self.rows += 1
            if "hidden" in a:
                self.hidden_rows += 1
        if tag == "p" and "pager" in cls:
            self.pager = True
        if tag == "svg" and "chart" in cls:
            self.charts += 1
        if tag == "li" and "finding" in cls:
            self.findings += 1
        if tag == "details" and "session" in cls:
            self.sessions += 1
        if tag == "script":
            self.scripts += 1
        if tag == "img":
            self.imgs += 1
        if tag in ("iframe", "object", "embed", "base", "link"):
            self.iframes += 1
        if tag == "meta" and (a.get("http-equiv") or "").lower() == "refresh":
            self.metas_refresh += 1
        if tag == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy":
            self.csp = "default-src 'none'" in (a.get("content") or "")
        for k, v in attrs:
            if k.startswith("on"):
                self.handlers.append(f"{tag} {k}")
            if k in ("src", "href", "action", "formaction", "xlink:href", "srcset", "poster"):
                if not (v or "").startswith("#"):
                    self.ext_refs.append(f"{tag} {k}={v!r}")
        if tag == "div" and a.get("id") == "canary":
            self._in_canary = True
            self.canary_text = ""
            self.canary_xss = a.get("data-xss")

    def handle_endtag(self, tag):
        if tag == "div":
            self._in_canary = False

    def handle_data(self, data):
        if self._in_canary:
            self.canary_text += data


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, ok, what, detail=""):
        if ok:
            self.passed += 1
            print(f"ok   {what}")
        else:
            self.failed += 1
            print(f"FAIL {what}{': ' + detail if detail else ''}")


def chromium(exe, listener, extra, url, timeout=90):
    profile = tempfile.mkdtemp(prefix="ms-chromium-")
    cmd = [exe, *FLAGS, f"--user-data-dir={profile}",
           f"--proxy-server=http://127.0.0.1:{listener.port}",
           "--proxy-bypass-list=<-loopback>",
           # every name resolves to nothing, but the proxy (an IP) is reachable,
           # so any request shows up at the listener instead of failing quietly
           "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
           "--enable-logging=stderr", "--v=0", *extra, url]
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def console_lines(stderr):
    bad = []
    for line in stderr.splitlines():
        if "CONSOLE" in line or "Uncaught" in line or "Content Security Policy" in line:
            bad.append(line.strip())
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", required=True)
    ap.add_argument("--artifacts", required=True)
    ap.add_argument("--report", action="append", default=[],
                    help="NAME=PATH:SESSIONS:FINDINGS[:xss]")
    args = ap.parse_args()
    os.makedirs(args.artifacts, exist_ok=True)
    listener = Listener()
    c = Checks()

    # What the browser requests by itself, for a page with nothing in it
    # (Debian's Chromium still calls its update and account services despite
    # the flags). Those hosts are listed and set aside; any other request
    # while a report is open is a failure.
    blank_dir = tempfile.mkdtemp(prefix="ms-blank-")
    blank = os.path.join(blank_dir, "blank.html")
    with open(blank, "w") as f:
        f.write("<!DOCTYPE html><title>blank</title><p>blank</p>")
    own = set()
    for extra in (["--dump-dom", "--virtual-time-budget=5000"],
                  ["--screenshot=" + os.path.join(blank_dir, "b.png"), "--window-size=1280,4000",
                   "--virtual-time-budget=3000"]):
        chromium(args.chromium, listener, extra, "file://" + blank)
        own |= {target(x) for x in listener.take()}
    print("info browser's own requests with a blank page (set aside): " +
          (", ".join(sorted(own)) or "none"))
    own_hosts = own

    def page_requests():
        return [x for x in listener.take() if target(x) not in own_hosts]

    # The network trap must work: a page that fetches must be seen.
    probe_dir = tempfile.mkdtemp(prefix="ms-probe-")
    probe = os.path.join(probe_dir, "probe.html")
    with open(probe, "w") as f:
        f.write('<!DOCTYPE html><img src="http://evil.example/probe.png">')
    chromium(args.chromium, listener, ["--dump-dom", "--virtual-time-budget=3000"],
             "file://" + probe)
    seen = page_requests()
    c.check(any(target(x) == "evil.example" for x in seen),
            "control: a page that fetches is caught by the proxy listener",
            "no request for evil.example seen; the network check would prove nothing")
    shutil.rmtree(probe_dir, ignore_errors=True)
    shutil.rmtree(blank_dir, ignore_errors=True)

    # The canary and the console check must work: a page whose payload is
    # not escaped flips the canary and logs.
    ctl_dir = tempfile.mkdtemp(prefix="ms-canary-")
    ctl = os.path.join(ctl_dir, "ctl.html")
    with open(ctl, "w") as f:
        f.write("<!DOCTYPE html><html><head></head><body>" + CANARY_HEAD +
                "<img src=x onerror=\"window.__xss=1;console.error('payload ran')\">" +
                CANARY_TAIL + "</body></html>")
    _, dom_text, err = chromium(args.chromium, listener,
                                ["--dump-dom", "--virtual-time-budget=5000"], "file://" + ctl)
    d = Dom()
    d.feed(dom_text)
    c.check(d.canary_xss == "true", "control: an unescaped payload flips the canary",
            f"data-xss {d.canary_xss!r}")
    c.check(bool(console_lines(err)), "control: a console message is caught")
    page_requests()
    shutil.rmtree(ctl_dir, ignore_errors=True)

    for spec in args.report:
        name, rest = spec.split("=", 1)
        parts = rest.split(":")
        path, want_sessions, want_findings = parts[0], int(parts[1]), int(parts[2])
        xss = len(parts) > 3 and parts[3] == "xss"
        # "max=N": a large store rendered with --max-detail N: N sections,
        # every session a row, the overview paged by the script
        max_detail = int(parts[3][4:]) if len(parts) > 3 and parts[3].startswith("max=") else 0
        page = os.path.abspath(path)
        if xss:
            with open(page, encoding="utf-8") as f:
                text = f.read()
            body = text.index("<body>") + len("<body>")
            end = text.rindex("</body>")
            text = text[:body] + CANARY_HEAD + text[body:end] + CANARY_TAIL + text[end:]
            page = os.path.join(args.artifacts, f"report-{name}-canary.html")
            with open(page, "w", encoding="utf-8") as f:
                f.write(text)
        url = "file://" + page
        shot = os.path.join(args.artifacts, f"report-{name}.png")
        if os.path.exists(shot):
            os.remove(shot)
        rc, _, err = chromium(args.chromium, listener,
                              [f"--screenshot={shot}", "--window-size=1280,4000",
                               "--virtual-time-budget=3000"], url)
        c.check(rc == 0 and os.path.exists(shot) and os.path.getsize(shot) > 10000,
                f"{name}: screenshot {shot}", f"exit {rc}")
        bad = console_lines(err)
        c.check(not bad, f"{name}: no console message or uncaught error (screenshot run)",
                "; ".join(bad[:5]))
        rc, dom_text, err = chromium(args.chromium, listener,
                                     ["--dump-dom", "--virtual-time-budget=5000"], url)
        bad = console_lines(err)
        c.check(rc == 0 and dom_text.strip(), f"{name}: DOM dumped", f"exit {rc}")
        c.check(not bad, f"{name}: no console message or uncaught error (DOM run)",
                "; ".join(bad[:5]))
        seen = page_requests()
        c.check(not seen, f"{name}: no network request (screenshot and DOM runs)",
                "; ".join(seen[:5]))
        with open(os.path.join(args.artifacts, f"report-{name}.dom.html"), "w") as f:
            f.write(dom_text)
        d = Dom()
        d.feed(dom_text)
        c.check(d.ready, f"{name}: the inline script ran (data-report-ready)")
        c.check(d.csp, f"{name}: Content-Security-Policy default-src 'none'")
        c.check(d.rows == want_sessions, f"{name}: {want_sessions} session rows in the overview",
                f"found {d.rows}")
        want_sections = min(want_sessions, max_detail) if max_detail else want_sessions
        c.check(d.sessions == want_sections, f"{name}: {want_sections} session sections",
                f"found {d.sessions}")
        want_charts = 3 * want_sections + 2
        c.check(d.charts == want_charts, f"{name}: {want_charts} SVG charts", f"found {d.charts}")
        if want_findings >= 0:
            c.check(d.findings == want_findings, f"{name}: {want_findings} findings",
                    f"found {d.findings}")
        if want_sessions > 250:
            shown = d.rows - d.hidden_rows
            c.check(d.pager and shown == 200,
                    f"{name}: the overview is paged (200 of {want_sessions} rows shown)",
                    f"pager {d.pager}, {shown} rows shown")
        c.check(d.scripts == (2 if xss else 1), f"{name}: only our own script elements",
                f"found {d.scripts}")
        c.check(d.imgs == 0 and d.iframes == 0 and d.metas_refresh == 0,
                f"{name}: no img, iframe, object, base, link or refresh element",
                f"img {d.imgs}, others {d.iframes}, refresh {d.metas_refresh}")
        c.check(not d.handlers, f"{name}: no event-handler attribute", "; ".join(d.handlers[:5]))
        c.check(not d.ext_refs, f"{name}: no reference outside the page",
                "; ".join(d.ext_refs[:5]))
        if xss:
            c.check(d.canary_text == "untouched" and d.canary_xss == "false",
                    f"{name}: the canary is untouched and no payload ran",
                    f"text {d.canary_text!r}, data-xss {d.canary_xss!r}")
            for needle in ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>',
                           "\\x1b[31m", "{{7*7}}", "\\u202e", "javascript:alert(1)"):
                enc = needle.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                c.check(enc in dom_text, f"{name}: shown as text: {needle!r}")
    print(f"browser: {c.passed} passed, {c.failed} failed")
    tally = os.environ.get("MS_TALLY")
    if tally:
        with open(tally, "a") as f:
            f.write(f"{c.passed} {c.failed} 0\n")
    return 0 if c.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
