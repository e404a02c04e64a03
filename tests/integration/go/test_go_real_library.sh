#!/usr/bin/env bash
# test_go_real_library.sh - a real cgo library's own test suite under the
# shim: github.com/DataDog/zstd from Debian's golang-github-datadog-zstd-dev
# (built against libzstd in GOPATH mode, GO111MODULE=off: the module proxy is
# not reachable). Usage: test_go_real_library.sh GO
#
# `go test -short` passes without the shim; under
# `go test -exec 'cgoshim --format=json --output=... --'` it must pass the
# same way, write one final report (the test binary's; go test links it
# with -s, so names come from .gopclntab), and its leak sites that come from
# Go must name the library's Go functions (github.com/DataDog/zstd.*) and a
# Test function above them, with lines.
set -u -o pipefail
go=${1:?usage: $0 GO}
pkgdir=/usr/share/gocode/src/github.com/DataDog/zstd
if [ ! -x "$go" ]; then
	echo "SKIP: $go not installed (FULL=1 scripts/install-deps.sh installs it)"; exit 77
fi
if [ ! -d "$pkgdir" ] || ! pkg-config --exists libzstd; then
	echo "SKIP: golang-github-datadog-zstd-dev not installed (FULL=1 scripts/install-deps.sh installs it)"; exit 77
fi
cgoshim=${CGOSHIM_TEST_LAUNCHER:?} lib=${CGOSHIM_TEST_LIB:?}
tmp=$(mktemp -d /tmp/cgoshim-zstd-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export GOPATH=$tmp/gopath GO111MODULE=off GOFLAGS= GOCACHE=$tmp/gocache CGO_ENABLED=1
mkdir -p "$GOPATH/src/github.com/DataDog" "$tmp/rep"
cp -r "$pkgdir" "$GOPATH/src/github.com/DataDog/"
"$go" test -count=1 -short -v github.com/DataDog/zstd >"$tmp/plain.log" 2>&1; plain=$?
"$go" test -count=1 -short -v -exec "$cgoshim --lib=$lib --format=json --output=$tmp/rep/r.%p.json --" \
	github.com/DataDog/zstd >"$tmp/shim.log" 2>&1; shim=$?
fail=0
[ "$plain" = 0 ] || { echo "FAIL: the suite fails without the shim:"; tail -20 "$tmp/plain.log"; exit 1; }
[ "$shim" = 0 ] || { echo "FAIL: the suite fails under the shim:"; tail -20 "$tmp/shim.log"; fail=1; }
# The same tests pass in both runs.
diff <(grep -E '^(--- |=== RUN)' "$tmp/plain.log" | sed 's/ (.*//' | sort) \
	<(grep -E '^(--- |=== RUN)' "$tmp/shim.log" | sed 's/ (.*//' | sort) >/dev/null ||
	{ echo "FAIL: the tests that pass differ with the shim"; fail=1; }
python3 - "$tmp/rep" <<'PY' || fail=1
import glob, json, sys
files = glob.glob(sys.argv[1] + "/r.*.json")
if len(files) != 1:
    print("FAIL: %d reports, want 1" % len(files)); sys.exit(1)
r = json.load(open(files[0]))
print("go:", r["shim"]["go"], "| program's leaks:", r["leaks"]["program_count"], r["leaks"]["program_bytes"])
ok = r["final"] or print("FAIL: not final")
named = 0
for s in r["leaks"]["sites"]:
    fr = s["frames"]
    if s["runtime"] or not any((f["function"] or "").startswith("runtime.asmcgocall") for f in fr):
        continue
    lib = [f for f in fr if (f["function"] or "").startswith("github.com/DataDog/zstd.") and f["line"] > 0
           and (f["file"] or "").endswith(".go")]
    test = [f for f in fr if (f["function"] or "").startswith("github.com/DataDog/zstd.Test")]
    print("  %d x %d: %s" % (s["count"], s["bytes"], " < ".join("%s:%s" % (f["function"], f["line"]) for f in fr)))
    if lib:
        named += 1
    else:
        print("FAIL: a cgo site names no function of the library"); ok = False
    if not test and len(fr) < 16:  # a stack cut at CGOSHIM_STACK_DEPTH may end before the test
        print("FAIL: a cgo site names no Test function"); ok = False
if not named:
    print("FAIL: no leak site names the library's Go functions"); ok = False
sys.exit(0 if ok else 1)
PY
if [ $fail = 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $fail
