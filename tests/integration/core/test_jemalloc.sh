#!/usr/bin/env bash
# test_jemalloc.sh - the shim over another allocator: LD_PRELOAD puts the
# shim first and jemalloc after it, so the shim's "real" malloc family is
# jemalloc's. The program's leaks must still be exact (100 x 4242 bytes at
# leak_here, 7 x 9999 in libcoreleak.so), with no free of an unknown
# pointer, and jemalloc must really be the allocator (its own statistics,
# printed at exit with MALLOC_CONF=stats_print:true, show it ran).
# Usage: test_jemalloc.sh LEAKY_PROGRAM LIBJEMALLOC
set -u
prog=$1 jem=$2
if [ ! -e "$jem" ]; then echo "SKIP: $jem not found"; exit 77; fi
tmp=$(mktemp -d /tmp/cgoshim-jemalloc-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
MALLOC_CONF=stats_print:true CGOSHIM_FORMAT=json CGOSHIM_OUTPUT="$tmp/r.%p.json" \
	LD_PRELOAD="$CGOSHIM_TEST_LIB:$jem" "$prog" >"$tmp/out" 2>"$tmp/err"
status=$?
for i in $(seq 1 200); do ls "$tmp"/r.*.json >/dev/null 2>&1 && break; sleep 0.05; done
fail=0
[ $status = 0 ] || { echo "FAIL: exit status $status"; fail=1; }
grep -q "jemalloc statistics" "$tmp/err" || { echo "FAIL: jemalloc did not serve the program"; fail=1; }
python3 - "$tmp" <<'PY' || fail=1
import glob, json, sys
r = json.load(open(glob.glob(sys.argv[1] + "/r.*.json")[0]))
def site(fn):
    for s in r["leaks"]["sites"]:
        if any((f["function"] or "") == fn for f in s["frames"][:3]):
            return s
ok = True
for fn, count, size in (("leak_here", 100, 4242), ("lib_leak", 7, 9999)):
    s = site(fn)
    if not s or s["count"] != count or s["bytes"] != count * size:
        print("FAIL: %s: %s" % (fn, s and (s["count"], s["bytes"]))); ok = False
if r["counters"]["unknown_frees"]:
    print("FAIL: unknown frees:", r["counters"]["unknown_frees"]); ok = False
print("leaks with jemalloc underneath:", r["leaks"]["count"], "blocks,", r["leaks"]["bytes"], "bytes")
sys.exit(0 if ok else 1)
PY
if [ $fail = 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $fail
