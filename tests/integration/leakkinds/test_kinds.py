#!/usr/bin/env python3
"""Leak kinds against valgrind, suppressions and the leak gate.

    test_kinds.py CASE

Cases (meson runs each as leakkinds-CASE):
  valgrind-live   kinds of the live report (cgoshim_dump_wait) equal those of
                  valgrind's VALGRIND_DO_LEAK_CHECK at the same point
  valgrind-final  kinds of the final report under the launcher (exit held)
                  equal valgrind's at exit
  last-scan       under plain LD_PRELOAD the final report says its kinds come
                  from the last live scan, and they are that scan's; with
                  CGOSHIM_LEAK_KINDS=0 there are none; --no-hold-exit too
  text            the text report's kinds line and its groups, definitely
                  lost first
  formats         pprof has a "kind" label, folded a [kind] root frame
  gate            --fail-on-leak: 23, =BYTES, the program's failure wins,
                  CGOSHIM_FAIL_ON_LEAK, a go test -exec style run
  suppress        a suppression file (CGOSHIM_SUPPRESS, --suppressions):
                  blocks counted by rule and left out of kinds; the gate
                  passes when every lost block is suppressed
  threads         other threads' stacks and TLS are roots (valgrind)
  diff            cgoshim diff --max-leak-growth counts the lost kinds
  traced          under strace -f the launcher steps aside (no hold): the
                  final report has the last live scan's kinds, status kept
  go-live         a running Go program's live report: dropped C.CString
                  definitely lost, C blocks held by Go memory or a C global
                  still reachable
  go-exit         the same in the final report of a Go program ending in
                  os.Exit(3) under the launcher (exit held), status kept
  go-test         go test -exec 'cgoshim --fail-on-leak --' fails on a lost
                  C.CString and passes with a suppression naming the Go
                  function
Exit 77 (skip) when valgrind (valgrind cases) or Go (go cases) is missing.
"""
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

LIB = os.environ["CGOSHIM_TEST_LIB"]
LAUNCHER = os.environ["CGOSHIM_TEST_LAUNCHER"]
KINDS = os.environ["KINDS"]
KINDS_THREADS = os.environ["KINDS_THREADS"]
NAMES = ["definitely_lost", "indirectly_lost", "possibly_lost", "still_reachable"]
VG_NAMES = {"definitely lost": "definitely_lost", "indirectly lost": "indirectly_lost",
            "possibly lost": "possibly_lost", "still reachable": "still_reachable"}


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CGOSHIM_") and k != "LD_PRELOAD"}
    env.update(extra)
    return env


def valgrind(prog):
    """The LEAK SUMMARY blocks of a valgrind run, in order, as {kind: (count, bytes)}."""
    if not shutil.which("valgrind"):
        print("SKIP: valgrind is not installed")
        sys.exit(77)
    p = subprocess.run(["valgrind", "--leak-check=full", "--show-leak-kinds=all", prog],
                       capture_output=True, text=True, env=clean_env(), timeout=100)
    out, cur = [], None
    for line in p.stderr.splitlines():
        if "LEAK SUMMARY:" in line:
            cur = {}
            out.append(cur)
            continue
        m = re.search(r"(definitely lost|indirectly lost|possibly lost|still reachable): ([\d,]+) bytes in ([\d,]+) blocks", line)
        if m and cur is not None:
            cur[VG_NAMES[m.group(1)]] = (int(m.group(3).replace(",", "")), int(m.group(2).replace(",", "")))
    # A kind valgrind finds no block of is left out of its summary.
    for s in out:
        for k in NAMES:
            s.setdefault(k, (0, 0))
    return out


def reports(d):
    """JSON reports in directory d, by sequence number."""
    out = []
    for name in sorted(os.listdir(d), key=lambda n: int(re.findall(r"\d+", n)[0]) if re.findall(r"\d+", n) else 0):
        if name.endswith(".json"):
            with open(os.path.join(d, name)) as f:
                out.append(json.load(f))
    return out


def kinds_of(report):
    k = report["leaks"]["kinds"]
    return {n: (k[n]["count"], k[n]["bytes"]) for n in NAMES}


def run_preload(prog, d, args=(), fmt="json", **env):
    ext = {"text": "txt", "pprof": "pb.gz"}.get(fmt, fmt)
    e = clean_env(LD_PRELOAD=LIB, CGOSHIM_FORMAT=fmt, CGOSHIM_OUTPUT=os.path.join(d, "r.%n." + ext), **env)
    p = subprocess.run([prog, *args], env=e, timeout=100, capture_output=True, text=True)
    # Plain LD_PRELOAD: the final report may come just after the exit.
    import time
    for _ in range(100):
        if any(n.startswith("r.2.") for n in os.listdir(d)):
            break
        time.sleep(0.05)
    return p


def run_launcher(args, d=None, fmt="json", **env):
    opts = []
    if d:
        ext = {"text": "txt", "pprof": "pb.gz"}.get(fmt, fmt)
        opts = ["-f", fmt, "-o", os.path.join(d, "r.%n." + ext)]
    return subprocess.run([LAUNCHER, *opts, *args], env=clean_env(**env), timeout=100,
                          capture_output=True, text=True)


def sites_check(report):
    """Every site has a kind; sites of one kind add up to the kind's totals."""
    l = report["leaks"]
    tot = {n: [0, 0] for n in NAMES + ["unknown"]}
    for s in l["sites"]:
        check(s["kind"] in tot, f"site kind {s['kind']!r}")
        tot[s["kind"]][0] += s["count"]
        tot[s["kind"]][1] += s["bytes"]
    for n in tot:
        check((l["kinds"][n]["count"], l["kinds"][n]["bytes"]) == tuple(tot[n]),
              f"sites of {n} add up to {tot[n]}, kinds say {l['kinds'][n]}")


def case_valgrind_live():
    vg = valgrind(KINDS)
    check(len(vg) == 2, f"valgrind gave {len(vg)} summaries")
    with tempfile.TemporaryDirectory() as d:
        run_preload(KINDS, d)
        r = reports(d)
        live = [x for x in r if not x["final"]]
        check(live, "no live report")
        check(live[0]["leaks"]["kinds_source"] == "scan", live[0]["leaks"]["kinds_source"])
        print("valgrind live:", vg[0])
        print("cgoshim live: ", kinds_of(live[0]))
        check(kinds_of(live[0]) == vg[0], "live kinds differ from valgrind's")
        sites_check(live[0])
        # A site whose blocks differ in kind is split: the 72-byte cycle's
        # two blocks come from one line, one definitely, one indirectly lost.
        cyc = [s for s in live[0]["leaks"]["sites"] if s["bytes"] == 72]
        check(sorted(s["kind"] for s in cyc) == ["definitely_lost", "indirectly_lost"],
              f"the cycle's sites: {[(s['kind'], s['bytes']) for s in cyc]}")


def case_valgrind_final():
    vg = valgrind(KINDS)
    with tempfile.TemporaryDirectory() as d:
        p = run_launcher(["--", KINDS], d)
        check(p.returncode == 0, f"launcher: {p.returncode} {p.stderr}")
        r = reports(d)
        fin = [x for x in r if x["final"]]
        check(len(fin) == 1, f"{len(fin)} final reports")
        check(fin[0]["leaks"]["kinds_source"] == "scan", f"final kinds from {fin[0]['leaks']['kinds_source']}")
        print("valgrind final:", vg[1])
        print("cgoshim final: ", kinds_of(fin[0]))
        check(kinds_of(fin[0]) == vg[1], "final kinds differ from valgrind's")
        # The roots are the program's memory, not the shim's: its library's
        # .bss (1.6 MiB of unwind tables and pools) is left out, and kinds'
        # own data, heap and stack are about 112 KiB.
        rb = fin[0]["leaks"]["scan"]["root_bytes"]
        check(0 < rb < 1 << 20, f"roots scanned: {rb} bytes (the shim's .bss read as a root?)")
        sites_check(fin[0])
        live = [x for x in r if not x["final"]]
        check(kinds_of(live[0]) == vg[0], "live kinds (launcher) differ from valgrind's")


def case_last_scan():
    with tempfile.TemporaryDirectory() as d:
        run_preload(KINDS, d)
        r = reports(d)
        live, fin = r[0], r[-1]
        check(fin["final"], "no final report")
        src = fin["leaks"]["kinds_source"]
        # The process is gone when its watcher writes: the kinds are those
        # of the last live scan, never a guess (an exit wait in the library
        # would make it "scan").
        check(src in ("last_scan", "scan"), src)
        if src == "last_scan":
            # A was freed after the live scan: the rest keep the live kinds.
            lk, fk = kinds_of(live), kinds_of(fin)
            check(fk["definitely_lost"] == lk["definitely_lost"], f"{fk} vs {lk}")
            check(fk["still_reachable"] == (lk["still_reachable"][0] - 1, lk["still_reachable"][1] - 100),
                  f"{fk} vs {lk}")
            check(fin["leaks"]["kinds_age_ns"] > 0, "no age for the last scan")
    with tempfile.TemporaryDirectory() as d:
        run_preload(KINDS, d, CGOSHIM_LEAK_KINDS="0")
        for x in reports(d):
            check(x["leaks"]["kinds_source"] == "off", x["leaks"]["kinds_source"])
            check(all(s["kind"] == "unknown" for s in x["leaks"]["sites"]), "kinds with CGOSHIM_LEAK_KINDS=0")
            check(x["leaks"]["kinds"]["unknown"]["count"] == x["leaks"]["shown_count"], "unknown count")
    with tempfile.TemporaryDirectory() as d:
        p = run_launcher(["--no-hold-exit", "--", KINDS], d)
        fin = [x for x in reports(d) if x["final"]]
        # No hold: the library's exit wait (a C program ending through libc)
        # still lets the watcher scan; else the last live scan's kinds.
        check(fin and fin[0]["leaks"]["kinds_source"] in ("scan", "last_scan"),
              f"--no-hold-exit: {fin and fin[0]['leaks']['kinds_source']}")


def case_text():
    with tempfile.TemporaryDirectory() as d:
        p = run_launcher(["--", KINDS], d, fmt="text")
        check(p.returncode == 0, p.stderr)
        names = sorted(os.listdir(d))
        text = open(os.path.join(d, names[-1])).read()
        print(text[text.find("leaks:"):][:1500])
        check(re.search(r"definitely lost: 1049388 bytes in 15 blocks, indirectly lost: 562 bytes in 4 blocks, "
                        r"possibly lost: 161 bytes in 2 blocks, still reachable: 1048576 bytes in 2 blocks", text),
              "no kinds line with valgrind's numbers")
        heads = re.findall(r"^  (definitely lost|indirectly lost|possibly lost|still reachable):$", text, re.M)
        check(heads == ["definitely lost", "indirectly lost", "possibly lost", "still reachable"],
              f"groups: {heads}")


def case_formats():
    with tempfile.TemporaryDirectory() as d:
        p = run_launcher(["--", KINDS], d, fmt="folded")
        names = sorted(os.listdir(d))
        lines = open(os.path.join(d, names[-1])).read().splitlines()
        check(lines and all(re.match(r"\[(definitely_lost|indirectly_lost|possibly_lost|still_reachable)\];", l)
                            for l in lines), f"folded lines: {lines[:3]}")
        per = {}
        for l in lines:
            k = l[1:l.index("]")]
            per[k] = per.get(k, 0) + int(l.rsplit(" ", 1)[1])
        check(per.get("definitely_lost") == 1049388, f"folded bytes by kind: {per}")
    with tempfile.TemporaryDirectory() as d:
        p = run_launcher(["--", KINDS], d, fmt="pprof")
        names = sorted(os.listdir(d))
        raw = gzip.decompress(open(os.path.join(d, names[-1]), "rb").read())
        for s in (b"kind", b"definitely_lost", b"indirectly_lost", b"possibly_lost", b"still_reachable"):
            check(s in raw, f"pprof string table lacks {s!r}")
        go = shutil.which("go")
        if go:
            q = subprocess.run([go, "tool", "pprof", "-raw", os.path.join(d, names[-1])], capture_output=True,
                               text=True, env=dict(os.environ, GOFLAGS="", HOME=d, GOCACHE=os.path.join(d, "gc")))
            if q.returncode == 0:
                check("kind:[definitely_lost]" in q.stdout, "pprof -raw shows no kind label")


def case_gate():
    p = run_launcher(["--fail-on-leak", "-o", "/dev/null", "--", KINDS])
    check(p.returncode == 23, f"--fail-on-leak: status {p.returncode}: {p.stderr}")
    lines = [l for l in p.stderr.splitlines() if "leak gate" in l]
    check(len(lines) == 1 and "1049950 bytes in 19 blocks" in lines[0], f"gate lines: {lines}")
    p = run_launcher(["--fail-on-leak=1049950", "-o", "/dev/null", "--", KINDS])
    check(p.returncode == 0, f"--fail-on-leak=1049950: {p.returncode} {p.stderr}")
    p = run_launcher(["--fail-on-leak=1049949", "-o", "/dev/null", "--", KINDS])
    check(p.returncode == 23, f"--fail-on-leak=1049949: {p.returncode}")
    p = run_launcher(["-o", "/dev/null", "--", KINDS], CGOSHIM_FAIL_ON_LEAK="1")
    check(p.returncode == 23, f"CGOSHIM_FAIL_ON_LEAK=1: {p.returncode}")
    p = run_launcher(["-o", "/dev/null", "--", KINDS], CGOSHIM_FAIL_ON_LEAK="0")
    check(p.returncode == 0, f"CGOSHIM_FAIL_ON_LEAK=0: {p.returncode}")
    # The program's own failure wins.
    p = run_launcher(["--fail-on-leak", "-o", "/dev/null", "--", "sh", "-c", KINDS + "; exit 3"])
    check(p.returncode == 3, f"failing program: {p.returncode}")
    # No leak, no failure.
    p = run_launcher(["--fail-on-leak", "-o", "/dev/null", "--", "/bin/true"])
    check(p.returncode == 0, f"/bin/true: {p.returncode} {p.stderr}")
    # Leak tracking off: not judged, not failed.
    p = run_launcher(["--fail-on-leak", "--no-leaks", "-o", "/dev/null", "--", KINDS])
    check(p.returncode == 0, f"--no-leaks: {p.returncode} {p.stderr}")


def case_suppress():
    with tempfile.TemporaryDirectory() as d:
        supp = os.path.join(d, "s.supp")
        with open(supp, "w") as f:
            f.write("# the lost blocks of kinds.c\nleak:make_lost\nleak:^make_reach*$\nbogus line\n")
        rd = os.path.join(d, "r")
        os.mkdir(rd)
        p = run_launcher(["--fail-on-leak", "--suppressions=" + supp, "--", KINDS], rd)
        # make_possible's blocks are possibly lost: not counted by the gate.
        check(p.returncode == 0, f"suppressed: status {p.returncode}: {p.stderr}")
        check("1 line not of the form leak:PATTERN (first: line 4)" in p.stderr, f"bad line: {p.stderr}")
        fin = [x for x in reports(rd) if x["final"]][0]
        sup = fin["leaks"]["suppressed"]
        rules = {r["rule"]: (r["count"], r["bytes"]) for r in sup["rules"]}
        print("suppressed:", sup)
        # make_lost: D, 10 x 24, L2, the 0-byte block, G, H, E, F, S.
        check(rules.get("make_lost") == (18, 1049750), f"make_lost rule: {rules}")
        # make_reachable: A is freed; B (definitely lost now), Z, L1.
        check(rules.get("^make_reach*$") == (3, 1048776), f"make_reach rule: {rules}")
        check(sup["count"] == 21 and sup["bytes"] == 1049750 + 1048776, f"suppressed total: {sup}")
        k = kinds_of(fin)
        check(k["definitely_lost"] == (0, 0) and k["possibly_lost"] == (2, 161), f"kinds after: {k}")
        check(not any(any((f["function"] or "").startswith("make_lost") for f in s["frames"])
                      for s in fin["leaks"]["sites"]), "a suppressed site is listed")
        # The same by the variable, and the text report's lines.
        rd2 = os.path.join(d, "r2")
        os.mkdir(rd2)
        run_preload(KINDS, rd2, fmt="text", CGOSHIM_SUPPRESS=supp)
        # The final report: the one whose first line says "final" (the live
        # report of the checkpoint goes beside it, README "Output files";
        # both are often written within one tick of the file system's clock,
        # so their mtimes cannot tell them apart).
        text = ""
        for n in sorted(os.listdir(rd2)):
            if n.endswith(".txt"):
                t = open(os.path.join(rd2, n)).read()
                if ", final, " in t.split("\n", 1)[0]:
                    text = t
        check(re.search(r"suppressed: 21 blocks, 2098526 bytes\n    leak:make_lost  18 blocks, 1049750 bytes", text),
              text[text.find("leaks:"):][:800])


def case_threads():
    vg = valgrind(KINDS_THREADS)
    with tempfile.TemporaryDirectory() as d:
        run_preload(KINDS_THREADS, d, CGOSHIM_SUPPRESS_DEFAULTS="0")
        live = reports(d)[0]
        check(not live["final"] and live["leaks"]["kinds_source"] == "scan", "no live scan")
        k = kinds_of(live)
        print("valgrind:", vg[0])
        print("cgoshim: ", k)
        check(live["leaks"]["scan"]["threads"] == 3, f"threads: {live['leaks']['scan']}")
        for n in NAMES:
            check(k[n][0] == vg[0][n][0], f"{n}: {k[n]} vs valgrind {vg[0][n]}")
        # Bytes too, but the loader's per-thread DTV (possibly lost: the TCB
        # points 16 bytes into it) has one more slot under the shim: the
        # shim is one more module.
        for n in ("definitely_lost", "indirectly_lost", "still_reachable"):
            check(k[n][1] == vg[0][n][1], f"{n}: {k[n]} vs valgrind {vg[0][n]}")
        byfn = {(s["frames"][0]["function"], s["kind"]) for s in live["leaks"]["sites"] if s["frames"]}
        for want in (("t1", "still_reachable"), ("t2", "still_reachable"), ("drop", "definitely_lost")):
            check(want in byfn, f"{want} not in {byfn}")
    with tempfile.TemporaryDirectory() as d:
        # The built-in list takes the loader's blocks out.
        run_preload(KINDS_THREADS, d)
        live = reports(d)[0]
        rules = [r["rule"] for r in live["leaks"]["suppressed"]["rules"]]
        check(live["leaks"]["suppressed"]["count"] == 2 and all(r["builtin"] for r in live["leaks"]["suppressed"]["rules"]),
              f"built-in suppressions: {live['leaks']['suppressed']}")
        check(kinds_of(live)["possibly_lost"] == (0, 0), f"{kinds_of(live)}")


def case_diff():
    with tempfile.TemporaryDirectory() as d:
        run_launcher(["--", KINDS], d)
        r = sorted(n for n in os.listdir(d) if n.endswith(".json"))
        live, fin = os.path.join(d, r[0]), os.path.join(d, r[-1])
        # live -> final: A (100) freed, B (200) turns from reachable to
        # lost. Live bytes shrink by 100; lost bytes grow by 200.
        p = subprocess.run([LAUNCHER, "diff", "--max-leak-growth=199", live, fin], capture_output=True, text=True)
        check(p.returncode == 1, f"lost growth 200 > 199 not caught: {p.returncode}\n{p.stdout}{p.stderr}")
        check("the lost kinds" in p.stdout, p.stdout)
        p = subprocess.run([LAUNCHER, "diff", "--max-leak-growth=200", live, fin], capture_output=True, text=True)
        check(p.returncode == 0, f"lost growth 200 <= 200: {p.returncode}\n{p.stdout}")
        p = subprocess.run([LAUNCHER, "diff", "--max-leak-growth=0", "--leak-growth-kinds=all", live, fin],
                           capture_output=True, text=True)
        check(p.returncode == 0, f"all live bytes shrank: {p.returncode}\n{p.stdout}")
    with tempfile.TemporaryDirectory() as d:
        # merge: two processes' final reports, kinds added up.
        for i in range(2):
            os.mkdir(os.path.join(d, str(i)))
            run_launcher(["--", KINDS], os.path.join(d, str(i)))
        fins = [os.path.join(d, str(i), sorted(os.listdir(os.path.join(d, str(i))))[-1]) for i in range(2)]
        m = subprocess.run([LAUNCHER, "merge", *fins], capture_output=True, text=True)
        check(m.returncode == 0, m.stderr)
        mk = json.loads(m.stdout)["leaks"]["kinds"]
        check(mk["definitely_lost"]["bytes"] == 2 * 1049388 and mk["still_reachable"]["count"] == 4,
              f"merged kinds: {mk}")


def case_traced():
    strace = shutil.which("strace")
    if not strace:
        print("SKIP: strace is not installed")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as d:
        p = subprocess.run([strace, "-f", "-o", "/dev/null", LAUNCHER, "-f", "json", "-o",
                            os.path.join(d, "r.%n.json"), "--", KINDS], env=clean_env(), capture_output=True,
                           text=True, timeout=100)
        check(p.returncode == 0, f"under strace: {p.returncode} {p.stderr}")
        fin = [x for x in reports(d) if x["final"]]
        check(fin and fin[0]["leaks"]["kinds_source"] in ("scan", "last_scan"),
              f"under strace -f: {fin and fin[0]['leaks']['kinds_source']}")


def need_go():
    if not os.environ.get("GOLEAK") or not os.environ.get("CGOSHIM_TEST_GO"):
        print("SKIP: no Go toolchain")
        sys.exit(77)


def go_sites(report):
    """{(Go function that made the cgo call or C function, kind): (count, bytes)}"""
    out = {}
    for s in report["leaks"]["sites"]:
        names = [f["function"] or "" for f in s["frames"]]
        who = next((n for n in names if n in ("main.keepString", "main.dropString", "keep_in_c")), "")
        key = (who, s["kind"])
        c, b = out.get(key, (0, 0))
        out[key] = (c + s["count"], b + s["bytes"])
    return out


def check_go(report):
    g = go_sites(report)
    print(report["trigger"], report["leaks"]["kinds_source"], g)
    check(report["leaks"]["kinds_source"] == "scan", report["leaks"]["kinds_source"])
    check(g.get(("main.keepString", "still_reachable")) == (5, 5 * 221), f"held by Go: {g}")
    check(g.get(("keep_in_c", "still_reachable")) == (1, 333), f"held by a C global: {g}")
    # Dropped pointers: conservative scanning of the Go heap and stacks can
    # keep a few reachable; most must be found.
    lost = g.get(("main.dropString", "definitely_lost"), (0, 0))
    check(lost[0] >= 30 and lost[1] == lost[0] * 111, f"dropped C.CString: {g}")


def case_go_live():
    need_go()
    with tempfile.TemporaryDirectory() as d:
        run_preload(os.environ["GOLEAK"], d)
        r = reports(d)
        check(r and not r[0]["final"], "no live report")
        check_go(r[0])
        # Plain LD_PRELOAD: the Go program's end cannot be waited for; the
        # final report says where its kinds come from.
        fin = [x for x in r if x["final"]]
        if fin:
            check(fin[0]["leaks"]["kinds_source"] == "last_scan", fin[0]["leaks"]["kinds_source"])


def case_go_exit():
    need_go()
    with tempfile.TemporaryDirectory() as d:
        p = run_launcher(["--", os.environ["GOLEAK"], "exit3"], d)
        check(p.returncode == 3, f"status {p.returncode}: {p.stderr}")
        fin = [x for x in reports(d) if x["final"]]
        check(len(fin) == 1, f"{len(fin)} final reports")
        check_go(fin[0])
        p = run_launcher(["--fail-on-leak", "-o", "/dev/null", "--", os.environ["GOLEAK"]])
        check(p.returncode == 23 and "leak gate" in p.stderr, f"gate on a Go program: {p.returncode} {p.stderr}")


def case_go_test():
    need_go()
    go = os.environ["CGOSHIM_TEST_GO"]
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("CGOSHIM_") or k == "LD_PRELOAD":
                del env[k]
        env["GOTEST_LEAK"] = "0"
        # -s=false keeps the Go symbol table in the test binary, so that the
        # report names Greeting (go test strips it by default).
        base = [go, "test", "-count=1", "-ldflags=-s=false"]
        ex = LAUNCHER + " --fail-on-leak -o /dev/null --"
        p = subprocess.run(base + ["-exec", ex, "."], cwd=os.environ["GOTEST_DIR"], env=env,
                           capture_output=True, text=True, timeout=110)
        check(p.returncode == 0, f"no leak, go test failed: {p.stdout}{p.stderr}")
        env["GOTEST_LEAK"] = "1"
        p = subprocess.run(base + ["-exec", ex, "."], cwd=os.environ["GOTEST_DIR"], env=env,
                           capture_output=True, text=True, timeout=110)
        print(p.stdout, p.stderr)
        check(p.returncode != 0 and "leak gate" in p.stdout + p.stderr and "FAIL" in p.stdout,
              "a lost C.CString did not fail go test")
        supp = os.path.join(d, "go.supp")
        with open(supp, "w") as f:
            f.write("# our bridge's known leak\nleak:gotest.Greeting\n")
        ex = LAUNCHER + " --fail-on-leak --suppressions=" + supp + " -o /dev/null --"
        p = subprocess.run(base + ["-exec", ex, "."], cwd=os.environ["GOTEST_DIR"], env=env,
                           capture_output=True, text=True, timeout=110)
        check(p.returncode == 0, f"suppressed, go test failed: {p.stdout}{p.stderr}")


CASES = {
    "valgrind-live": case_valgrind_live, "valgrind-final": case_valgrind_final, "last-scan": case_last_scan,
    "text": case_text, "formats": case_formats, "gate": case_gate, "suppress": case_suppress,
    "threads": case_threads, "diff": case_diff, "traced": case_traced, "go-live": case_go_live, "go-exit": case_go_exit,
    "go-test": case_go_test,
}

if __name__ == "__main__":
    CASES[sys.argv[1]]()
    print("ok")
