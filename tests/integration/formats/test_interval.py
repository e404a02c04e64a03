#!/usr/bin/env python3
"""formats-interval-delta: CGOSHIM_INTERVAL_MODE=delta.

    test_interval.py LIB TICKER CHECK_JSON

ticker makes 1000 reads over about 200 ms, then none for 400 ms. With
CGOSHIM_INTERVAL=50ms:
- delta: every interval report says "interval": {"mode": "delta"} with
  since_ns equal to the previous interval report's duration_ns (0 for the
  first); their read counts add up to the final report's (cumulative) count
  exactly; the reports of the quiet end have no read row; the text report
  says DELTA;
- cumulative (the default): interval reports say "cumulative" and their read
  counts never go down.
"""
import glob
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from pycheck import Checks  # noqa: E402
import tempfile

lib, ticker, check_json = sys.argv[1], sys.argv[2], sys.argv[3]
_checks = Checks()
check = _checks.check


dirs = []


def run(mode, fmt="json"):
    d = tempfile.mkdtemp(prefix="cgs-interval-")
    dirs.append(d)
    env = dict(os.environ, LD_PRELOAD=lib, CGOSHIM_INTERVAL="50ms", CGOSHIM_FORMAT=fmt,
               CGOSHIM_OUTPUT=os.path.join(d, "r.%n." + fmt), CGOSHIM_LEAKS="0")
    if mode:
        env["CGOSHIM_INTERVAL_MODE"] = mode
    r = subprocess.run([ticker, "1000"], env=env, capture_output=True, timeout=60)
    if r.returncode != 0:
        sys.exit("ticker failed: %d %s" % (r.returncode, r.stderr))
    # the final report comes after the process is gone
    for _ in range(200):
        files = glob.glob(os.path.join(d, "r.*." + fmt))
        if fmt == "json":
            reps = [json.load(open(f)) for f in files]
            if any(x["final"] for x in reps):
                return sorted(reps, key=lambda x: x["seq"]), files
        elif any("final" in open(f).read().split("\n")[0] for f in files):
            return [open(f).read() for f in files], files
        __import__("time").sleep(0.05)
    sys.exit("no final report in %s" % d)


def reads(rep):
    for c in rep["calls"]:
        if c["fn"] == "read":
            return c["count"]
    return 0


reps, files = run("delta")
r = subprocess.run([sys.executable, check_json] + files, capture_output=True, text=True)
check(r.returncode == 0, "delta reports pass the schema check: " + r.stdout + r.stderr)
iv = [x for x in reps if x["trigger"] == "interval"]
final = [x for x in reps if x["final"]][0]
check(len(iv) >= 6, "at least 6 interval reports in 600 ms at 50 ms: %d" % len(iv))
check(all(x["interval"]["mode"] == "delta" for x in iv), "every interval report is marked delta")
check(final["interval"]["mode"] == "cumulative", "the final report stays cumulative")
since_ok = all(iv[i]["interval"]["since_ns"] == (iv[i - 1]["duration_ns"] if i else 0) for i in range(len(iv)))
check(since_ok, "since_ns is the previous interval report's duration_ns: %s" %
      [(x["interval"]["since_ns"], x["duration_ns"]) for x in iv])
total = sum(reads(x) for x in iv)
check(total == reads(final) == 1000, "deltas add up to the final count: %d of %d (1000 made)" % (total, reads(final)))
check(reads(iv[-1]) == 0 and reads(iv[-2]) == 0, "the quiet end's reports have no read: %s" % [reads(x) for x in iv])
cum, _ = run(None)
civ = [x for x in cum if x["trigger"] == "interval"]
counts = [reads(x) for x in civ]
check(all(x["interval"]["mode"] == "cumulative" for x in civ) and counts == sorted(counts) and counts[-1] == 1000,
      "cumulative by default, counts never go down: %s" % counts)
texts, _ = run("delta", "txt")
check(any("interval: DELTA" in t for t in texts), "the text report says DELTA")
for d in dirs:
    __import__("shutil").rmtree(d, ignore_errors=True)
sys.exit(_checks.done())
