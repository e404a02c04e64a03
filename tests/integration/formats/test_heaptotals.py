#!/usr/bin/env python3
"""formats-heap-totals: heap totals, peak and temporaries.

    test_heaptotals.py LAUNCHER HEAPPEAK CHECK_JSON

- allocs, frees and bytes allocated equal valgrind's "total heap usage" line
  for the same binary (when valgrind is installed);
- the peak is the 100 MiB held in the middle (>= 100 MiB, <= all allocated),
  its time lies within the run, and the site holding most at the peak is
  hold();
- 1000+ temporary allocations, the temps() site having 1000 of them;
- per-site totals over the run: hold() allocated 100 MiB in 100 blocks
  though none of them is live at the end;
- pprof: `go tool pprof -sample_index=alloc_space` puts hold at the top (when
  go is installed).
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from pycheck import Checks  # noqa: E402
import tempfile

launcher, prog, check_json = sys.argv[1], sys.argv[2], sys.argv[3]
MiB = 1 << 20
_checks = Checks()
check = _checks.check


def fn_of(site):
    return [f["function"] for f in site["frames"]]


d = tempfile.mkdtemp(prefix="cgs-heap-")
out = os.path.join(d, "r.json")
r = subprocess.run([launcher, "-f", "json", "-o", out, "--", prog], capture_output=True, timeout=120)
check(r.returncode == 0 and os.path.exists(out), "run: status %d %s" % (r.returncode, r.stderr.decode()[:500]))
rep = json.load(open(out))
r = subprocess.run([sys.executable, check_json, out], capture_output=True, text=True)
check(r.returncode == 0, "schema: " + r.stdout + r.stderr)
h = rep["heap"]
check(h["enabled"], "heap totals on with leak tracking")
if shutil.which("valgrind"):
    v = subprocess.run(["valgrind", prog], capture_output=True, text=True, timeout=300)
    m = re.search(r"total heap usage: ([\d,]+) allocs, ([\d,]+) frees, ([\d,]+) bytes allocated", v.stderr)
    if m:
        va, vf, vb = (int(x.replace(",", "")) for x in m.groups())
        check((h["allocs"], h["frees"], h["bytes_allocated"]) == (va, vf, vb),
              "totals equal valgrind's: %s against %s" % ((h["allocs"], h["frees"], h["bytes_allocated"]), (va, vf, vb)))
    else:
        check(False, "no 'total heap usage' line from valgrind: " + v.stderr[-500:])
else:
    print("skip valgrind comparison: valgrind not installed")
check(100 * MiB <= h["peak_bytes"] <= h["bytes_allocated"], "peak %d bytes: the 100 MiB held" % h["peak_bytes"])
check(0 < h["peak_ns"] < rep["duration_ns"], "peak time %d ns within the run of %d" % (h["peak_ns"], rep["duration_ns"]))
check(h["peak_sites"] and "hold" in fn_of(h["peak_sites"][0]) and h["peak_sites"][0]["bytes"] >= 99 * MiB,
      "the site holding most at the peak is hold(): %s" % [(p["bytes"], fn_of(p)[:2]) for p in h["peak_sites"][:3]])
check(h["temporary"] >= 1000, "temporary allocations: %d" % h["temporary"])
sites = {tuple(fn_of(s)[:1]): s for s in h["sites"]}
hold = [s for s in h["sites"] if fn_of(s)[:1] == ["hold"] and s["bytes"] >= 100 * MiB]
check(len(hold) == 1 and hold[0]["allocs"] == 100, "hold() allocated 100 MiB in 100 blocks over the run: %s" % hold)
tmp = [s for s in h["sites"] if fn_of(s)[:1] == ["temps"]]
check(len(tmp) == 1 and tmp[0]["temporary"] == 1000 and tmp[0]["allocs"] == 1000,
      "temps() made 1000 allocations, all temporary: %s" % tmp)
check(rep["leaks"]["count"] == 1 and rep["leaks"]["bytes"] == 77, "one 77-byte block live at the end")
page = subprocess.run([launcher, "html", out], capture_output=True, text=True, timeout=60).stdout
m = re.search(r'<p id="heap">(.*?)</p>', page)
check(m and "%d allocations" % h["allocs"] in m.group(1) and "Peak" in m.group(1) and "hold" in m.group(1),
      "the HTML page shows the totals and the peak: %s" % (m.group(1) if m else page[:300]))
text = subprocess.run([launcher, "--", prog], capture_output=True, text=True, timeout=120).stderr
check("heap over the whole run:" in text and "peak:" in text and "temporary" in text, "text report has the heap totals")
go = shutil.which("go")
if go:
    pb = os.path.join(d, "r.pb.gz")
    subprocess.run([launcher, "-f", "pprof", "-o", pb, "--", prog], capture_output=True, timeout=120)
    t = subprocess.run([go, "tool", "pprof", "-sample_index=alloc_space", "-top", pb], capture_output=True,
                       text=True, timeout=120, env=dict(os.environ, HOME=d))
    rows = [l for l in t.stdout.splitlines() if l.strip().endswith(("hold", "main", "temps"))]
    check(t.returncode == 0 and "Type: alloc_space" in t.stdout and rows and rows[0].split()[-1] == "hold",
          "pprof -sample_index=alloc_space: hold first:\n" + t.stdout[-800:] + t.stderr[-300:])
else:
    print("skip pprof: go not installed")
shutil.rmtree(d, ignore_errors=True)
sys.exit(_checks.done())
