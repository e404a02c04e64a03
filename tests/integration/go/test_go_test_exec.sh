#!/usr/bin/env bash
# test_go_test_exec.sh - measuring Go tests, the two documented ways, on one
# Go release. Usage: test_go_test_exec.sh GO PKG_DIR
#
# PKG_DIR (gotestpkg) is a cgo package whose TestKeep makes 9 C allocations
# of 99 bytes through Keep, never freed. `go test` links the test binary
# with -s (no symbol table), so the names come from .gopclntab.
#   exec   go test -exec 'cgoshim --format=json --output=... --' .
#          only the test binary runs under the shim: exactly one report;
#   only   cgoshim --only='*.test' ... -- go test .
#          the go tool, compilers and linker run passive: exactly one report,
#          the test binary's (without --only the same command writes one
#          report per process: checked too, so the filter is seen working).
# In both, the 9 x 99 site names gotestpkg.Keep at the line of the C call
# and TestKeep at the line that calls Keep, and go test passes.
set -u -o pipefail
go=${1:?usage: $0 GO PKG_DIR}
src=${2:?usage: $0 GO PKG_DIR}
if [ ! -x "$go" ]; then
	echo "SKIP: $go not installed (scripts/install-deps.sh installs it)"
	exit 77
fi
cgoshim=${CGOSHIM_TEST_LAUNCHER:?} lib=${CGOSHIM_TEST_LIB:?}
tmp=$(mktemp -d /tmp/cgoshim-gotest-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cp -r "$src"/. "$tmp/src"
export GOCACHE=$tmp/gocache GOFLAGS=-mod=mod CGO_ENABLED=1 GO111MODULE=on
keep_line=$(grep -n 'LINE:keep' "$src/leak.go" | cut -d: -f1)
test_line=$(grep -n 'LINE:test' "$src/leak_test.go" | cut -d: -f1)
fail=0

check() { # NAME DIR WANT_REPORTS
	python3 - "$@" "$keep_line" "$test_line" <<'PY'
import glob, json, sys
name, d, want, keep_line, test_line = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
files = sorted(glob.glob(d + "/r.*.json"))
reps = [json.load(open(f)) for f in files]
print("%s: %d reports: %s" % (name, len(reps), ", ".join(r["exe"].rsplit("/", 1)[-1] for r in reps)))
if want == "many":
    sys.exit(0 if len(reps) > 1 else 1)
if len(reps) != 1:
    print("FAIL: %s: %d reports, want 1" % (name, len(reps))); sys.exit(1)
r = reps[0]
ok = True
if not r["exe"].endswith(".test"):
    print("FAIL: %s: the report is of %s" % (name, r["exe"])); ok = False
# Sites by stack: a stack's blocks of different kinds (issue 18) are added up.
bystack = {}
for s in r["leaks"]["sites"]:
    key = tuple(f["addr"] for f in s["frames"])
    t = bystack.setdefault(key, {"count": 0, "bytes": 0, "frames": s["frames"]})
    t["count"] += s["count"]
    t["bytes"] += s["bytes"]
sites = [s for s in bystack.values() if s["count"] == 9 and s["bytes"] == 9 * 99]
if len(sites) != 1:
    print("FAIL: %s: no single 9 x 99 site" % name); sys.exit(1)
frames = sites[0]["frames"]
print("  " + " < ".join("%s:%s" % (f["function"] or "?", f["line"]) for f in frames))
def at(fn, line):
    return any(f["function"] == fn and (f["file"] or "").endswith(".go") and f["line"] == line for f in frames)
if not at("example.com/gotestpkg.Keep", keep_line):
    print("FAIL: %s: no frame gotestpkg.Keep at leak.go:%d" % (name, keep_line)); ok = False
if not at("example.com/gotestpkg.TestKeep", test_line):
    print("FAIL: %s: no frame gotestpkg.TestKeep at leak_test.go:%d" % (name, test_line)); ok = False
sys.exit(0 if ok else 1)
PY
}

mkdir "$tmp/exec" "$tmp/only" "$tmp/all"
(cd "$tmp/src" && "$go" test -count=1 -exec "$cgoshim --lib=$lib --format=json --output=$tmp/exec/r.%p.json --" .) \
	>"$tmp/exec.log" 2>&1 || { echo "FAIL: go test -exec:"; cat "$tmp/exec.log"; fail=1; }
check exec "$tmp/exec" 1 || fail=1
(cd "$tmp/src" && "$cgoshim" --lib="$lib" --only='*.test' --format=json --output="$tmp/only/r.%p.json" -- \
	"$go" test -count=1 .) >"$tmp/only.log" 2>&1 || { echo "FAIL: cgoshim --only -- go test:"; cat "$tmp/only.log"; fail=1; }
check only "$tmp/only" 1 || fail=1
(cd "$tmp/src" && "$cgoshim" --lib="$lib" --format=json --output="$tmp/all/r.%p.json" -- \
	"$go" test -count=1 .) >"$tmp/all.log" 2>&1 || { echo "FAIL: cgoshim -- go test:"; cat "$tmp/all.log"; fail=1; }
check all "$tmp/all" many || { echo "FAIL: without --only, expected a report per process"; fail=1; }
if [ $fail = 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $fail
