#!/usr/bin/env python3
"""cli-diff-runs: `cgoshim diff` over repeated runs.

    test_diffruns.py LAUNCHER SLOWREAD

- identical: 20 runs of one program, split into two interleaved sides of
  10 in five different ways, never fail --max-p50-regress=10% --max-p99-regress=10%;
- slower: 10 runs whose reads take 20% longer fail against 10 normal runs
  (read p50 crossed), and pass the other way round (verdict "faster");
- exact: reports whose read p50 differ in every run give the exact
  Mann-Whitney p of two fully separated samples of 10 (2/C(20,10)), and the
  Holm correction multiplies the smallest p by the number of comparisons;
- programs: reports of two different programs are refused (status 2)
  unless --force;
- single: one report per side is judged against the noise floor, and says
  that no significance can be judged.
"""
import copy
import json
import math
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from pycheck import Checks  # noqa: E402
import tempfile

launcher, slowread = sys.argv[1], sys.argv[2]
_checks = Checks()
check = _checks.check


def run(prog_args, out):
    r = subprocess.run([launcher, "-f", "json", "-o", out, "--"] + prog_args,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
    if r.returncode != 0 or not os.path.exists(out):
        sys.exit("cannot make a report %s: status %d, %s" % (out, r.returncode, r.stderr.decode()))


def diff(*args):
    r = subprocess.run([launcher, "diff"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120, text=True)
    return r.returncode, r.stdout, r.stderr


tmp = tempfile.mkdtemp(prefix="cgs-diffruns-")
normal = []
for i in range(20):
    p = os.path.join(tmp, "n%02d.json" % i)
    run([slowread, "30", "1000"], p)
    normal.append(p)
slow = []
for i in range(10):
    p = os.path.join(tmp, "s%02d.json" % i)
    run([slowread, "30", "1200"], p)
    slow.append(p)

# The thresholds are judged on read alone (--fn=read), the function this
# program times on purpose: its malloc and calloc are one call per run of a
# few microseconds, whose latency follows the machine's load and cache state
# (the runs of 1200 us were made after those of 1000 us, and their one calloc
# was significantly 20% faster on a loaded machine: the reverse comparison
# failed on calloc, not on read).

# identical: five interleaved splits of the 20 normal runs. (The first ten
# against the last ten is no "identical" pair on a shared machine: a load
# that changes while the 20 runs are made shifts one half, and the test
# then sees a real difference, as it should.)
def pick(idx):
    return [normal[i] for i in idx]


splits = [(normal[0::2], normal[1::2]), (normal[1::2], normal[0::2]),
          (pick([0, 3, 4, 7, 8, 11, 12, 15, 16, 19]), pick([1, 2, 5, 6, 9, 10, 13, 14, 17, 18])),
          (pick([0, 1, 4, 5, 8, 9, 12, 13, 16, 17]), pick([2, 3, 6, 7, 10, 11, 14, 15, 18, 19])),
          (pick([0, 2, 5, 7, 8, 10, 13, 15, 16, 18]), pick([1, 3, 4, 6, 9, 11, 12, 14, 17, 19]))]
for k, (a, b) in enumerate(splits):
    rc, out, err = diff("--fn=read", "--max-p50-regress=10%", "--max-p99-regress=10%", *a, "--", *b)
    check(rc == 0 and "FAIL" not in out, "identical runs, split %d: status %d%s" % (k, rc, "" if rc == 0 else "\n" + out + err))

# slower: every run of one side reads 20% slower
rc, out, err = diff("--json", "--fn=read", "--max-p50-regress=10%", *normal[:10], "--", *slow)
ok = rc == 1
if ok:
    d = json.loads(out)
    rd = [f for f in d["functions"] if f["fn"] == "read"][0]
    ok = rd["p50"]["crossed"] and rd["p50"]["verdict"] == "slower" and 0.10 < rd["p50"]["change"] < 0.35 \
        and any(c["fn"] == "read" and c["what"] == "p50" for c in d["crossed"]) and d["ok"] is False
check(ok, "20%% slower reads fail: status %d\n%s%s" % (rc, out[:3000], err))
rc, out, err = diff("--fn=read", "--max-p50-regress=10%", *normal[:10], "--", *slow)
check(rc == 1 and "FAIL" in out and "read p50" in out, "text says which threshold failed: status %d\n%s" % (rc, out[:3000]))
rc, out, err = diff("--json", "--fn=read", "--max-p50-regress=10%", *slow, "--", *normal[:10])
ok = rc == 0
if ok:
    rd = [f for f in json.loads(out)["functions"] if f["fn"] == "read"][0]
    ok = rd["p50"]["verdict"] == "faster" and not rd["p50"]["crossed"]
check(ok, "the other way round it is faster and passes: status %d\n%s%s" % (rc, out[:3000], err))
# directories stand for their reports
da, db = os.path.join(tmp, "da"), os.path.join(tmp, "db")
os.mkdir(da)
os.mkdir(db)
for p in normal[:10]:
    os.link(p, os.path.join(da, os.path.basename(p)))
for p in slow:
    os.link(p, os.path.join(db, os.path.basename(p)))
rc, out, err = diff("--fn=read", "--max-p50-regress=10%", da, db)
check(rc == 1 and "10 runs" in out, "two directories: status %d\n%s%s" % (rc, out[:2000], err))

# exact: crafted p50 values, fully separated samples of 10
base = json.load(open(normal[0]))
crafted_a, crafted_b = [], []
for i in range(10):
    for side, lst, v in (("a", crafted_a, 100000 + 1000 * i), ("b", crafted_b, 200000 + 1000 * i)):
        r = copy.deepcopy(base)
        for c in r["calls"]:
            if c["fn"] == "read":
                c["p50_ns"] = v
                c["p99_ns"] = max(c["p99_ns"], v)
                c["p999_ns"] = max(c["p999_ns"], v)
                c["max_ns"] = max(c["max_ns"], v)
        p = os.path.join(tmp, "c%s%02d.json" % (side, i))
        json.dump(r, open(p, "w"))
        lst.append(p)
rc, out, err = diff("--json", "--fn=read", "--max-p50-regress=10%", *crafted_a, "--", *crafted_b)
want = 2 / math.comb(20, 10)
ok = rc == 1
if ok:
    d = json.loads(out)
    rd = [f for f in d["functions"] if f["fn"] == "read"][0]
    ok = abs(rd["p50"]["p"] - want) < 1e-9 and abs(rd["p50"]["p_adjusted"] - want) < 1e-9 \
        and d["comparisons_corrected"] == 1
check(ok, "exact Mann-Whitney p of separated samples of 10 = %.6g: status %d\n%s" % (want, rc, out[:1500]))
rc, out, err = diff("--json", "--max-p50-regress=10%", "--max-p99-regress=10%", "--max-p999-regress=10%",
                    *crafted_a, "--", *crafted_b)
ok = rc in (0, 1)
if ok:
    d = json.loads(out)
    m = d["comparisons_corrected"]
    rd = [f for f in d["functions"] if f["fn"] == "read"][0]
    ok = m >= 3 and abs(rd["p50"]["p_adjusted"] - min(1, m * want)) < 1e-9
check(ok, "Holm: the smallest p times the number of comparisons: status %d" % rc)

# programs: another program's report
other = os.path.join(tmp, "other.json")
run(["/bin/true"], other)
rc, out, err = diff(normal[0], other)
check(rc == 2 and "different programs" in err and not out, "different programs refused: status %d, %s" % (rc, err))
rc, out, err = diff("--force", normal[0], other)
check(rc in (0, 1) and "warning" in err, "--force compares them with a warning: status %d, %s" % (rc, err))
rc, out, err = diff(*normal[:3], "--", other, normal[3])
check(rc == 2 and "different programs" in err, "runs mode refuses them too: status %d" % rc)

# single: one report per side. The pair is each side's median run by read
# p50: a single run on a loaded machine can be off by as much as the +20%
# under test (a normal run at 1.098 ms against a slow one at 1.224 ms: +11.5%,
# within the error bounds of a 10% gate).
def median_run(paths):
    def p50(path):
        return [c for c in json.load(open(path))["calls"] if c["fn"] == "read"][0]["p50_ns"]
    return sorted(paths, key=p50)[len(paths) // 2]


one_normal, one_slow = median_run(normal[:10]), median_run(slow)
rc, out, err = diff("--fn=read", "--max-p50-regress=10%", one_normal, one_slow)
check(rc == 0 and "no significance" in out, "one report per side: +20%% is within the noise floor: status %d\n%s" % (rc, out[:1500]))
rc, out, err = diff("--fn=read", "--max-p50-regress=10%", "--noise-floor=0", one_normal, one_slow)
check(rc == 1, "--noise-floor=0 gates on the error bound alone: status %d\n%s" % (rc, out[:1500]))

import shutil
shutil.rmtree(tmp, ignore_errors=True)
sys.exit(_checks.done())
