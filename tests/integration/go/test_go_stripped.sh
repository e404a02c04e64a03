#!/usr/bin/env bash
# test_go_stripped.sh - a stripped Go binary (no symbol table, no DWARF)
# under the shim: it must run exactly as without the shim, its final report
# must exist with exact leak totals, and no Go frame may be invented past
# runtime.asmcgocall (the shim cannot find the Go runtime's layout, and says
# so in the report's "go" field). Usage: test_go_stripped.sh STACKPROG_DIR
set -u
go=${CGOSHIM_TEST_GO:-}
if [ -z "$go" ] || [ ! -x "$go" ]; then
	echo "SKIP: Go toolchain not found"
	exit 77
fi
src=$1
tmp=$(mktemp -d /tmp/cgoshim-stripped-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cp -r "$src"/. "$tmp/src"
(cd "$tmp/src" && GOFLAGS=-mod=mod CGO_ENABLED=1 "$go" build -buildvcs=false -ldflags='-s -w' -o "$tmp/prog" .) || {
	echo "FAIL: go build"; exit 1; }
if readelf -S "$tmp/prog" | grep -q '\.symtab'; then
	echo "FAIL: the binary still has a symbol table"; exit 1
fi
"$tmp/prog" >"$tmp/out.plain" 2>"$tmp/err.plain"; plain=$?
CGOSHIM_FORMAT=json CGOSHIM_OUTPUT="$tmp/r.%p.json" LD_PRELOAD="$CGOSHIM_TEST_LIB" \
	"$tmp/prog" >"$tmp/out.shim" 2>"$tmp/err.shim"; shim=$?
for i in $(seq 1 200); do ls "$tmp"/r.*.json >/dev/null 2>&1 && break; sleep 0.05; done
fail=0
[ "$plain" = "$shim" ] || { echo "FAIL: exit status $shim, without the shim $plain"; fail=1; }
cmp -s "$tmp/out.plain" "$tmp/out.shim" || { echo "FAIL: stdout differs"; fail=1; }
python3 - "$tmp" <<'PY' || fail=1
import glob, json, sys
files = glob.glob(sys.argv[1] + "/r.*.json")
if len(files) != 1:
    print("FAIL: %d reports" % len(files)); sys.exit(1)
r = json.load(open(files[0]))
ok = True
if not r["final"]:
    print("FAIL: not final"); ok = False
if "followed" in r["shim"]["go"]:
    print("FAIL: Go frames claimed for a stripped binary:", r["shim"]["go"]); ok = False
# No frame may be named after Go code (there are no symbols to name it).
for s in r["leaks"]["sites"]:
    for f in s["frames"]:
        fn = f["function"] or ""
        if fn.startswith("main.") or fn.startswith("runtime."):
            print("FAIL: a Go frame was named in a stripped binary:", fn); ok = False
print("go status:", r["shim"]["go"], "| sites:", len(r["leaks"]["sites"]), "| live:", r["leaks"]["count"])
sys.exit(0 if ok else 1)
PY
if [ $fail = 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $fail
