#!/usr/bin/env python3
"""formats-listen: CGOSHIM_LISTEN, live numbers over HTTP from the watcher.

    test_listen.py LIB LAUNCHER BUSY CHECK_JSON

A running program (busy) with CGOSHIM_LISTEN=127.0.0.1:PORT:
- /metrics answers in Prometheus' text format (promtool check metrics), and a
  real Prometheus server started here on loopback scrapes it;
- /debug/cgoshim/heap is read by `go tool pprof`;
- /debug/cgoshim/report.json is a report that passes the schema check;
- only GET of those paths: POST gives 405 (Allow: GET), another path 404;
- a huge request gets 431; a client that never finishes its request is
  dropped after the 5 s deadline while other requests are answered at once;
  past 8 connections the extra ones get 503; the endpoint answers again after;
- ":PORT" listens on loopback only;
- the program's output and exit status are as without the shim.
"""
import json
import os
import shutil
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from pycheck import Checks  # noqa: E402
import tempfile
import time
import urllib.error
import urllib.request

lib, launcher, busy, check_json = sys.argv[1:5]
_checks = Checks()
check = _checks.check


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def get(url, method="GET", timeout=10):
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def raw(port, data, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    out = b""
    try:
        while True:
            k = s.recv(65536)
            if not k:
                break
            out += k
    except socket.timeout:
        out += b"<timeout>"
    s.close()
    return out


tmp = tempfile.mkdtemp(prefix="cgs-listen-")
port = free_port()
env = dict(os.environ, LD_PRELOAD=lib, CGOSHIM_LISTEN="127.0.0.1:%d" % port, CGOSHIM_OUTPUT=os.path.join(tmp, "r.%p.%n.txt"))
prog = subprocess.Popen([busy, "25"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
base = "http://127.0.0.1:%d" % port
up = False
for _ in range(100):
    try:
        st, _, _ = get(base + "/metrics", timeout=2)
        up = st == 200
        if up:
            break
    except OSError:
        pass
    time.sleep(0.1)
check(up, "the endpoint answers within 10 s")

st, hdr, body = get(base + "/metrics")
check(st == 200 and b"cgoshim_calls_total{fn=\"malloc\"" in body and hdr.get("Content-Type", "").startswith("text/plain"),
      "/metrics: %d %s" % (st, body[:200]))
promtool = shutil.which("promtool")
if promtool:
    r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True)
    check(r.returncode == 0, "promtool check metrics: " + (r.stdout + r.stderr).decode()[:500])
st, _, body = get(base + "/debug/cgoshim/report.json")
ok = st == 200
if ok:
    j = json.loads(body)
    ok = j["trigger"] == "http" and not j["final"] and j["pid"] == prog.pid
    p = os.path.join(tmp, "live.json")
    open(p, "wb").write(body)
    r = subprocess.run([sys.executable, check_json, p], capture_output=True, text=True)
    ok = ok and r.returncode == 0
check(ok, "/debug/cgoshim/report.json: a live report of the program that passes the schema check")

st, hdr, _ = get(base + "/metrics", method="POST")
check(st == 405 and hdr.get("Allow") == "GET", "POST: %d, Allow %s" % (st, hdr.get("Allow")))
st, _, _ = get(base + "/metrics", method="PUT")
check(st == 405, "PUT: %d" % st)
st, _, _ = get(base + "/debug/pprof/heap")
check(st == 404, "another path: %d" % st)
out = raw(port, b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n")
check(out.startswith(b"HTTP/1.1 431"), "a 100 KB request: %s" % out[:60])

# a slow client does not hold the others up, and is dropped at the deadline
slow = socket.create_connection(("127.0.0.1", port))
slow.sendall(b"GET /met")
t0 = time.time()
st, _, _ = get(base + "/metrics")
check(st == 200 and time.time() - t0 < 3, "a request while a slow one waits: %d in %.1f s" % (st, time.time() - t0))
slow.settimeout(10)
t0 = time.time()
try:
    got = slow.recv(100)
except OSError:
    got = b"<error>"
check(got == b"" and 3 < time.time() - t0 < 8, "the slow client is dropped at the 5 s deadline (%.1f s, %r)" % (time.time() - t0, got))
slow.close()

# more than 8 connections at once
idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(12)]
time.sleep(0.3)
busy_answers = 0
for s in idle[8:]:
    s.settimeout(3)
    try:
        busy_answers += s.recv(100).startswith(b"HTTP/1.1 503")
    except OSError:
        pass
for s in idle:
    s.close()
check(busy_answers >= 3, "connections past 8 get 503: %d of 4" % busy_answers)
ok = False
for _ in range(70):
    try:
        st, _, _ = get(base + "/metrics", timeout=2)
        ok = st == 200
    except OSError:
        ok = False
    if ok:
        break
    time.sleep(0.1)
check(ok, "the endpoint answers again once they are gone")

# a real Prometheus server scrapes it
prom = shutil.which("prometheus")
if prom:
    pport = free_port()
    cfg = os.path.join(tmp, "prometheus.yml")
    open(cfg, "w").write("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: cgoshim\n"
                         "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % port)
    pp = subprocess.Popen([prom, "--config.file=" + cfg, "--storage.tsdb.path=" + os.path.join(tmp, "tsdb"),
                           "--web.listen-address=127.0.0.1:%d" % pport], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    found = None
    q = "http://127.0.0.1:%d/api/v1/query?query=cgoshim_calls_total%%7Bfn%%3D%%22malloc%%22%%7D" % pport
    for _ in range(60):
        time.sleep(0.5)
        try:
            st, _, body = get(q, timeout=2)
            res = json.loads(body)["data"]["result"]
            if res:
                found = res[0]
                break
        except (OSError, ValueError, KeyError):
            pass
    pp.terminate()
    pp.wait(timeout=20)
    check(found is not None and float(found["value"][1]) > 0,
          "Prometheus scraped cgoshim_calls_total{fn=\"malloc\"}: %s" % found)
else:
    print("skip Prometheus: not installed")

go = shutil.which("go")
if go:
    r = subprocess.run([go, "tool", "pprof", "-top", base + "/debug/cgoshim/heap"], capture_output=True, text=True,
                       timeout=60, env=dict(os.environ, HOME=tmp, PPROF_TMPDIR=tmp))
    check(r.returncode == 0 and "Type: inuse_space" in r.stdout and "main" in r.stdout,
          "go tool pprof reads /debug/cgoshim/heap:\n" + r.stdout[-600:] + r.stderr[-300:])
else:
    print("skip go tool pprof: go not installed")

out, err = prog.communicate(timeout=60)
check(prog.returncode == 0 and out == b"done\n", "the program ran on: status %d, %r" % (prog.returncode, out))

# ":PORT" listens on loopback only
p3 = free_port()
q = subprocess.Popen([busy, "3"], env=dict(env, CGOSHIM_LISTEN=":%d" % p3), stdout=subprocess.DEVNULL)
want = "0100007F:%04X" % p3
seen = None
for _ in range(40):
    time.sleep(0.1)
    rows = [l.split() for l in open("/proc/net/tcp").read().splitlines()[1:]]
    mine = [r[1] for r in rows if r[3] == "0A" and r[1].endswith(":%04X" % p3)]
    if mine:
        seen = mine
        break
q.wait(timeout=30)
check(seen == [want], "':%d' listens on 127.0.0.1 only: %s" % (p3, seen))

shutil.rmtree(tmp, ignore_errors=True)
sys.exit(_checks.done())
