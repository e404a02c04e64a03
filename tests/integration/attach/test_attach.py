#!/usr/bin/env python3
"""test_attach.py CASE - `cgoshim attach` against running programs.

The programs (phases.c, goprog/main.go) work in phases started through
their stdin, so the test knows which calls were made while attached. Each
case checks what a user would: the program's output and exit status are
those of a run without cgoshim; the final report counts the calls of the
attached phase exactly, none of the phases before or after; after the
detach the program's GOT gives libc's functions again; a refusal is one
line on stderr, a non-zero status, and the program runs on unharmed.

Cases: c, go (Go 1.23), go-1.19, go-1.21, go-1.22, plugin, usr2, lockholder, signal, exit, passive, listen, kinds, nowatcher, realloc-old, refuse-nopid, refuse-perm, refuse-stopped, refuse-static,
refuse-preloaded, refuse-twice, refuse-seccomp, refuse-again.
Environment (meson): CGOSHIM_TEST_LAUNCHER, CGOSHIM_TEST_LIB,
ATTACH_PHASES, ATTACH_PHASES_STATIC, ATTACH_PLUGIN, ATTACH_GO_SRC, ATTACH_GO.
"""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

LAUNCHER = os.environ["CGOSHIM_TEST_LAUNCHER"]
LIB = os.environ["CGOSHIM_TEST_LIB"]
PHASES = os.environ["ATTACH_PHASES"]
failures = []


def fail(msg):
    print("FAIL: " + msg)
    failures.append(msg)


class Prog:
    """A phases-protocol program on pipes."""

    def __init__(self, argv, env=None):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env)
        self.out = []

    def cmd(self, c):
        self.p.stdin.write(c + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline().strip()
        self.out.append(line)
        return line

    def quit(self):
        self.p.stdin.write("quit\n")
        self.p.stdin.flush()
        try:
            rc = self.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = "hung"
        rest = self.p.stdout.read()
        return rc, rest

    @property
    def pid(self):
        return self.p.pid


def attach(pid, *opts, wait=True):
    a = subprocess.Popen([LAUNCHER, "attach", *opts, str(pid)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    if not wait:
        return a
    out, err = a.communicate(timeout=120)
    return a.returncode, err


def wait_attached(a, timeout=30):
    """Until `cgoshim attach` (a Popen) says it measures."""
    end = time.time() + timeout
    lines = []
    while time.time() < end:
        line = a.stderr.readline()
        if not line:
            break
        lines.append(line)
        if "call sites redirected" in line:
            return lines
    fail("cgoshim attach never said it was attached: %r" % lines)
    return lines


def stop(a):
    a.send_signal(signal.SIGINT)
    try:
        _, err = a.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        a.kill()
        fail("cgoshim attach did not end after SIGINT")
        return None, ""
    return a.returncode, err


def calls(report):
    return {c["fn"]: c["count"] for c in report["calls"]}


def phases_run(prog_argv, tmp, before, during, after, cmds_during=None):
    """Run a program: `before` work, attach, `during` work, detach, `after`
    work. Returns (report, program output, status, attach stderr)."""
    p = Prog(prog_argv)
    p.cmd("work %d 1000" % before)
    out = os.path.join(tmp, "r.json")
    a = attach(p.pid, "-f", "json", "-o", out, wait=False)
    lines = wait_attached(a)
    which_during = p.cmd("which") if prog_argv[0] == PHASES else None
    p.cmd("work %d 2000" % during)
    for c in cmds_during or []:
        p.cmd(c)
    rc, err = stop(a)
    err = "".join(lines) + (err or "")
    if rc != 0:
        fail("cgoshim attach exited %s: %s" % (rc, err))
    which_after = p.cmd("which") if prog_argv[0] == PHASES else None
    p.cmd("work %d 1000" % after)
    p.cmd("free")
    status, rest = p.quit()
    report = None
    try:
        report = json.load(open(out))
    except (OSError, ValueError) as e:
        fail("no final report %s: %s" % (out, e))
    if which_during is not None:
        if which_during != "which libcgoshim.so libcgoshim.so":
            fail("while attached the GOT gives %r, not the shim's read and malloc" % which_during)
        if which_after != "which libc.so.6 libc.so.6":
            fail("after the detach the GOT gives %r, not libc's read and malloc" % which_after)
    return report, p.out, status, err


def check_common(report, out, status, expect_out, before, during, after):
    if status != 7:
        fail("exit status %s, expected 7 (as without cgoshim)" % status)
    if out != expect_out:
        fail("output %r, expected %r" % (out, expect_out))
    if report is None:
        return
    if not report.get("attached") or report.get("final_at") != "detach" or not report.get("final"):
        fail("report not marked final at detach of an attached process: attached=%r final_at=%r" %
             (report.get("attached"), report.get("final_at")))
    c = calls(report)
    # Exactly the attached phase's reads: the phases before and after the
    # attach did `before` and `after` more.
    if c.get("read") != during:
        fail("read count %r, expected %d (the attached phase only; %d before, %d after)" %
             (c.get("read"), during, before, after))
    if c.get("malloc", 0) < during:
        fail("malloc count %r, expected at least %d" % (c.get("malloc"), during))
    if report["counters"]["unknown_frees"]:
        fail("frees of blocks the shim never saw: %d (nothing was freed while attached)" %
             report["counters"]["unknown_frees"])
    # The blocks of the attached phase are the leaks, none of the others.
    sized = sum(s["count"] for s in report["leaks"]["sites"] if s["bytes"] == s["count"] * 2000)
    if sized != during:
        fail("%d live blocks of 2000 bytes, expected %d" % (sized, during))


def case_c(tmp):
    b, d, a = 100, 300, 50
    report, out, status, err = phases_run([PHASES], tmp, b, d, a)
    expect = ["done %d" % b, "which libcgoshim.so libcgoshim.so", "done %d" % d,
              "which libc.so.6 libc.so.6", "done %d" % a, "freed"]
    check_common(report, out, status, expect, b, d, a)
    if report is not None and calls(report).get("malloc") != d:
        fail("malloc count %r, expected exactly %d" % (calls(report).get("malloc"), d))
    for what in ("attached to", "detached from"):
        if not any(what in l and "stopped for" in l for l in err.splitlines()):
            fail("no pause line '%s ... stopped for' on stderr: %r" % (what, err))


def case_lockholder(tmp):
    # A stopped thread holds the loader's lock the injected dlopen needs:
    # the other threads are let run until the call returns.
    b, d, a = 10, 30, 10
    report, out, status, err = phases_run([PHASES, "lockholder"], tmp, b, d, a)
    expect = ["done %d" % b, "which libcgoshim.so libcgoshim.so", "done %d" % d,
              "which libc.so.6 libc.so.6", "done %d" % a, "freed"]
    check_common(report, out, status, expect, b, d, a)


def tgkill(pid, tid, sig):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.syscall(234, pid, tid, sig)  # SYS_tgkill on x86_64


def case_signal(tmp):
    # A signal for the injected thread while its injected call runs (made
    # long by a thread holding the loader's lock) is kept and delivered to
    # the program's handler once the thread is let go: never lost.
    for attempt in range(3):
        p = Prog([PHASES, "lockholder", "usr1"])
        p.cmd("work 5 5")
        a = attach(p.pid, "-o", os.path.join(tmp, "r%d.txt" % attempt), "--duration=1s", wait=False)
        # Once it traces the process, and into the injected call.
        for _ in range(2000):
            st = open("/proc/%d/status" % p.pid).read()
            if "TracerPid:\t0" not in st:
                break
            time.sleep(0.001)
        time.sleep(0.05)
        tgkill(p.pid, p.pid, signal.SIGUSR1)
        out, err = a.communicate(timeout=120)
        s1 = p.cmd("sigs1")
        status, _ = p.quit()
        if a.returncode != 0 or status != 7:
            fail("attach status %s, program status %s: %s" % (a.returncode, status, err))
            return
        if s1 != "sigs1 1":
            fail("the program's SIGUSR1 handler ran %r times, expected once: %s" % (s1, err))
            return
        if "waited for a lock" in err:
            return  # the signal came while the injected call waited
    fail("the injected call never waited for the lock holder: the signal was not sent during it")


def case_exit(tmp):
    # The program ends while attached: the watcher writes the final report
    # (of the attached span) and cgoshim attach returns 0.
    p = Prog([PHASES])
    p.cmd("work 10 10")
    out = os.path.join(tmp, "r.json")
    a = attach(p.pid, "-f", "json", "-o", out, wait=False)
    wait_attached(a)
    p.cmd("work 20 20")
    status, _ = p.quit()
    _, err = a.communicate(timeout=120)
    if a.returncode != 0 or status != 7 or "ended" not in err:
        fail("attach status %s (%r), program status %s" % (a.returncode, err, status))
    report = json.load(open(out))
    if calls(report).get("read") != 20 or not report.get("final") or report.get("final_at") not in ("exit", "gone"):
        fail("report: read %r, final %r at %r" % (calls(report).get("read"), report.get("final"),
                                                   report.get("final_at")))


def case_passive(tmp):
    # libcgoshim.so dlopen'd by a program (not preloaded, not attached):
    # passive, no region, no watcher, no report; the program runs as usual.
    env = dict(os.environ, CGOSHIM_OUTPUT=os.path.join(tmp, "r.%p.txt"))
    p = Prog([PHASES], env=env)
    r = [p.cmd("dlopen " + LIB), p.cmd("work 10 10")]
    maps = open("/proc/%d/maps" % p.pid).read()
    status, _ = p.quit()
    time.sleep(0.5)
    if r != ["dlopened", "done 10"] or status != 7:
        fail("program said %r, status %s" % (r, status))
    if "libcgoshim" not in maps or "memfd:cgoshim" in maps:
        fail("after the dlopen: library mapped %s, region mapped %s" % ("libcgoshim" in maps, "memfd:cgoshim" in maps))
    if os.listdir(tmp):
        fail("reports written by a library that was only dlopen'd: %r" % os.listdir(tmp))


def case_listen(tmp):
    # --listen while attached: /metrics counts the attached phase.
    import socket
    import urllib.request
    so = socket.socket()
    so.bind(("127.0.0.1", 0))
    port = so.getsockname()[1]
    so.close()
    p = Prog([PHASES])
    p.cmd("work 10 10")
    a = attach(p.pid, "-o", os.path.join(tmp, "r.txt"), "--listen=127.0.0.1:%d" % port, wait=False)
    wait_attached(a)
    p.cmd("work 42 10")
    want = 'cgoshim_calls_total{fn="read",program="attach_phases",pid="%d"} 42' % p.pid
    body = ""
    for _ in range(100):
        try:
            body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
            if want in body:
                break
        except OSError:
            pass
        time.sleep(0.05)
    stop(a)
    status, _ = p.quit()
    if want not in body:
        fail("/metrics while attached lacks %r: %r" % (want, [l for l in body.splitlines() if "read" in l][:3]))
    if status != 7:
        fail("program status %s" % status)


def case_kinds(tmp):
    # Leak kinds while attached: a block whose only pointer is in a block
    # allocated before the attach (untracked) is still reachable, not lost;
    # a block with no pointer to it is definitely lost.
    p = Prog([PHASES])
    p.cmd("holder")
    out = os.path.join(tmp, "r.json")
    a = attach(p.pid, "-f", "json", "-o", out, wait=False)
    wait_attached(a)
    said = [p.cmd("fill 20"), p.cmd("lose 10")]
    stop(a)
    status, _ = p.quit()
    if said != ["filled 20", "lost 10"] or status != 7:
        fail("program said %r, status %s" % (said, status))
    report = json.load(open(out))
    by_size = {}
    for s in report["leaks"]["sites"]:
        for size in (3000, 5000):
            if s["bytes"] == s["count"] * size:
                by_size.setdefault(size, {}).setdefault(s.get("kind"), 0)
                by_size[size][s.get("kind")] += s["count"]
    if by_size.get(3000) != {"still_reachable": 20}:
        fail("the 20 blocks held by a block from before the attach: %r, expected all still_reachable" %
             by_size.get(3000))
    lost = by_size.get(5000, {}).get("definitely_lost", 0)
    if lost < 8:
        fail("of 10 blocks without a pointer %d are definitely lost (%r), expected at least 8" %
             (lost, by_size.get(5000)))


def case_nowatcher(tmp):
    # The watcher cannot start in the process: cgoshim attach says so,
    # detaches at once (status 125), and the program runs on as before.
    p = Prog([PHASES])
    p.cmd("work 5 5")
    rc, err = attach(p.pid, "-e", "CGOSHIM_WATCHER=/nonexistent", "-o", os.path.join(tmp, "r.txt"))
    said = [p.cmd("which"), p.cmd("work 3 3")]
    status, _ = p.quit()
    if rc != 125 or "watcher did not start" not in err or "call sites restored" not in err:
        fail("status %s, stderr %r" % (rc, err))
    if said != ["which libc.so.6 libc.so.6", "done 3"] or status != 7:
        fail("program said %r, status %s" % (said, status))


def case_realloc_old(tmp):
    # Blocks from before the attach, reallocated and freed while attached:
    # counted as such, the program runs on (realloc goes to the real one).
    p = Prog([PHASES])
    p.cmd("work 100 1000")
    out = os.path.join(tmp, "r.json")
    a = attach(p.pid, "-f", "json", "-o", out, wait=False)
    wait_attached(a)
    r1 = p.cmd("realloc")
    r2 = p.cmd("free")
    rc, err = stop(a)
    status, _ = p.quit()
    if (r1, r2, status) != ("realloced 100", "freed", 7):
        fail("program said %r %r, status %s" % (r1, r2, status))
    report = json.load(open(out))
    c = calls(report)
    if c.get("realloc") != 100 or c.get("free") != 100:
        fail("realloc %r, free %r counted, expected 100 each" % (c.get("realloc"), c.get("free")))
    if report["counters"]["unknown_frees"] != 100:
        fail("unknown_frees %d, expected 100 (the reallocs of blocks from before)" %
             report["counters"]["unknown_frees"])
    if report["leaks"]["count"] != 0:
        fail("%d leaks reported: the reallocated blocks were freed" % report["leaks"]["count"])


def case_plugin(tmp):
    plugin = os.environ["ATTACH_PLUGIN"]
    b, d, a = 10, 30, 10
    report, out, status, err = phases_run([PHASES], tmp, b, d, a, ["plugin %s 40" % plugin])
    if status != 7 or "plugin 40" not in out:
        fail("program output %r status %s" % (out, status))
    if report is None:
        return
    c = calls(report)
    if c.get("read") != d + 40 or c.get("dlopen") != 1:
        fail("read %r (expected %d: %d in the program, 40 in the plugin loaded while attached), "
             "dlopen %r" % (c.get("read"), d + 40, d, c.get("dlopen")))
    if not any(f.get("module", "").endswith("libplugin.so") for s in report["leaks"]["sites"]
               for f in s["frames"]):
        fail("no leak site in the plugin loaded while attached")


def case_usr2(tmp):
    # SIGUSR2 while attached: a live report, and the program's own handler
    # still runs; after the detach its handler alone.
    p = Prog([PHASES, "usr2"])
    # Its first answer: it runs (attached before the loader had mapped
    # libc, cgoshim attach refuses it as a static binary).
    if p.cmd("sigs") != "sigs 0":
        fail("the program did not start")
    out = os.path.join(tmp, "r.json")
    a = attach(p.pid, "-f", "json", "-o", out, wait=False)
    wait_attached(a)
    p.cmd("work 10 10")
    os.kill(p.pid, signal.SIGUSR2)
    live = []
    for _ in range(200):
        live = [f for f in glob.glob(os.path.join(tmp, "r*.json")) if f != out]
        if live:
            break
        time.sleep(0.05)
    if not live:
        fail("no live report after SIGUSR2 while attached: %r" % os.listdir(tmp))
    s1 = p.cmd("sigs")
    h1 = p.cmd("handler")
    stop(a)
    # The kernel has the program's own handler again (its sigaction now
    # goes straight to libc, which asks the kernel).
    h2 = p.cmd("handler")
    os.kill(p.pid, signal.SIGUSR2)
    time.sleep(0.2)
    s2 = p.cmd("sigs")
    status, _ = p.quit()
    if (s1, s2, status) != ("sigs 1", "sigs 2", 7):
        fail("program's handler counts %r then %r, status %s; expected sigs 1, sigs 2, 7" % (s1, s2, status))
    if (h1, h2) != ("handler own", "handler own"):
        fail("sigaction says %r while attached, %r after the detach; expected its own handler both times" %
             (h1, h2))


def build_go(tmp, go=None):
    go = go or os.environ.get("ATTACH_GO", "/usr/lib/go-1.23/bin/go")
    if not os.access(go, os.X_OK):
        print("SKIP: %s not installed" % go)
        sys.exit(77)
    src = os.path.join(tmp, "src")
    shutil.copytree(os.environ["ATTACH_GO_SRC"], src)
    env = dict(os.environ, GOCACHE=os.path.join(tmp, "gocache"), GOFLAGS="-mod=mod", CGO_ENABLED="1",
               GO111MODULE="on", GOPATH=os.path.join(tmp, "gopath"))
    r = subprocess.run([go, "build", "-buildvcs=false", "-o", os.path.join(tmp, "goprog"), "."], cwd=src,
                       env=env, capture_output=True, text=True)
    if r.returncode:
        fail("go build: " + r.stderr)
        sys.exit(1)
    return os.path.join(tmp, "goprog")


def case_go_1_19(tmp):
    case_go(tmp, "/usr/lib/go-1.19/bin/go")


def case_go_1_21(tmp):
    case_go(tmp, "/usr/lib/go-1.21/bin/go")


def case_go_1_22(tmp):
    case_go(tmp, "/usr/lib/go-1.22/bin/go")


def case_go(tmp, go=None):
    prog = build_go(tmp, go)
    b, d, a = 100, 300, 50
    report, out, status, err = phases_run([prog], tmp, b, d, a)
    check_common(report, out, status, ["done %d" % b, "done %d" % d, "done %d" % a, "freed"], b, d, a)
    if report is not None and "Go frames followed" not in json.dumps(report.get("shim", "")) + \
            json.dumps(report.get("go", "")):
        pass  # the Go status is informative, not required here


def refused(name, argv_prog, attach_pid=None, expect=None, env=None, setup=None):
    """A program that cgoshim attach must refuse, and that runs on."""
    p = Prog(argv_prog, env=env)
    first = p.cmd("work 5 5")
    extra = setup(p) if setup else None
    rc, err = attach(attach_pid or p.pid, "--duration=3s")
    lines = [l for l in err.splitlines() if l and not l.startswith("cgoshim attach: report:")]
    if rc == 0:
        fail("%s: cgoshim attach exited 0" % name)
    if len(lines) != 1 or (expect and expect not in lines[0]):
        fail("%s: expected one line saying %r, got %r" % (name, expect, lines))
    after = p.cmd("work 7 7")
    status, _ = p.quit()
    if (first, after, status) != ("done 5", "done 7", 7):
        fail("%s: the program did not run on unharmed: %r %r status %s" % (name, first, after, status))
    return extra


def case_refuse_nopid(tmp):
    pid = 4000000
    while os.path.exists("/proc/%d" % pid):
        pid += 1
    rc, err = attach(pid)
    lines = [l for l in err.splitlines() if l and not l.startswith("cgoshim attach: report:")]
    if rc == 0 or lines != ["cgoshim attach: no process %d" % pid]:
        fail("no such pid: status %s, stderr %r" % (rc, lines))


def case_refuse_perm(tmp):
    # No ptrace permission: cgoshim attach run as another user (nobody).
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or not setpriv:
        print("SKIP: needs root and setpriv to run cgoshim attach as another user")
        sys.exit(77)
    p = Prog([PHASES])
    first = p.cmd("work 5 5")
    a = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", LAUNCHER, "attach",
                        "-o", "/dev/null", "--duration=3s", str(p.pid)], capture_output=True, text=True, timeout=60)
    lines = [l for l in a.stderr.splitlines() if l and not l.startswith("cgoshim attach: report:")]
    if a.returncode == 0 or len(lines) != 1 or "no permission" not in lines[0]:
        fail("as nobody: status %s, stderr %r" % (a.returncode, lines))
    after = p.cmd("work 7 7")
    status, _ = p.quit()
    if (first, after, status) != ("done 5", "done 7", 7):
        fail("the program did not run on unharmed: %r %r status %s" % (first, after, status))


def case_refuse_stopped(tmp):
    # A stopped process (SIGSTOP) is refused; continued, it runs on.
    def stop_it(p):
        os.kill(p.pid, signal.SIGSTOP)
        for _ in range(200):
            if "\nState:\tT" in open("/proc/%d/status" % p.pid).read():
                break
            time.sleep(0.01)
    p = Prog([PHASES])
    first = p.cmd("work 5 5")
    stop_it(p)
    rc, err = attach(p.pid, "--duration=3s")
    lines = [l for l in err.splitlines() if l and not l.startswith("cgoshim attach: report:")]
    os.kill(p.pid, signal.SIGCONT)
    if rc == 0 or len(lines) != 1 or "is stopped" not in lines[0]:
        fail("stopped: status %s, stderr %r" % (rc, lines))
    after = p.cmd("work 7 7")
    status, _ = p.quit()
    if (first, after, status) != ("done 5", "done 7", 7):
        fail("the program did not run on unharmed: %r %r status %s" % (first, after, status))


def case_refuse_static(tmp):
    if not os.path.exists(os.environ["ATTACH_PHASES_STATIC"]):
        print("SKIP: no static build of phases.c (no libc.a)")
        sys.exit(77)
    refused("static", [os.environ["ATTACH_PHASES_STATIC"]], expect="static binary")


def case_refuse_seccomp(tmp):
    refused("seccomp", [PHASES, "seccomp"], expect="seccomp")


def case_refuse_preloaded(tmp):
    env = dict(os.environ, LD_PRELOAD=LIB, CGOSHIM_OUTPUT=os.path.join(tmp, "pre.txt"))
    refused("preloaded", [PHASES], env=env, expect="measured by cgoshim already")


def case_refuse_twice(tmp):
    p = Prog([PHASES])
    p.cmd("work 5 5")
    out = os.path.join(tmp, "r.json")
    a = attach(p.pid, "-f", "json", "-o", out, wait=False)
    wait_attached(a)
    rc, err = attach(p.pid, "-o", os.path.join(tmp, "second.txt"))
    lines = [l for l in err.splitlines() if l and not l.startswith("cgoshim attach: report:")]
    if rc == 0 or len(lines) != 1 or "already" not in lines[0]:
        fail("second attach: status %s, stderr %r" % (rc, lines))
    p.cmd("work 9 9")
    stop(a)
    status, _ = p.quit()
    report = json.load(open(out))
    if calls(report).get("read") != 9 or status != 7:
        fail("first attach's report counts %r reads (expected 9), status %s" % (calls(report).get("read"), status))


def case_refuse_again(tmp):
    # After a detach the library stays mapped: a new attach is refused
    # (README, Limits), the program runs on.
    def first(p):
        a = attach(p.pid, "-o", os.path.join(tmp, "first.txt"), wait=False)
        wait_attached(a)
        stop(a)
    refused("again", [PHASES], setup=first, expect="attaching again is not supported")


CASES = {n[5:].replace("go_1_", "go-1.").replace("_", "-"): f for n, f in globals().items() if n.startswith("case_")}

if __name__ == "__main__":
    case = sys.argv[1] if len(sys.argv) > 1 else ""
    if case not in CASES:
        print("usage: %s %s" % (sys.argv[0], "|".join(CASES)))
        sys.exit(2)
    tmp = tempfile.mkdtemp(prefix="cgoshim-attach-")
    try:
        CASES[case](tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        sys.exit(1)
    print("ok: " + case)
