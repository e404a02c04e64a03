#!/bin/sh
# test_go_cgo_suites.sh - Go's own cgo test programs, with and without the shim.
#
# Usage: test_go_cgo_suites.sh testsigfwd|misccgo
#
# Borrowed test suites are an oracle nobody here wrote (PITFALLS, "External
# oracles"): what passes without the shim must pass with it.
#   testsigfwd  misc/cgo/testsigfwd: a C constructor installs SIGSEGV and SIGIO
#               handlers; Go must recover its own SIGSEGV, forward C's to the
#               C handler and run SIGIO's on a C thread. It prints
#               "ok<TAB>testsigfwd" and exits 0.
#   misccgo     misc/cgo/test, the main cgo test package (-short): built with
#               `go test -c`, then the test binary alone runs with LD_PRELOAD
#               (the go tool and compilers do not, except that the binary's
#               TestCrossPackageTests runs `go test` itself, which inherits it).
#               The same tests must pass and the same skip in both runs.
# Both come from Debian's golang-1.19-src (GOROOT/misc), copied to a temporary
# directory; nothing of misc/cgo/test fails here without the shim, so no test
# is excluded (five skip in both runs by their own design: Test8517,
# Test21897 and Test42018 are for other systems, Test3250 is disabled
# upstream (golang.org/issue/5885), Test18146 does not run with -short).
# testsigfwd is built with `go build` and run, which is what `go run main.go`
# does, so that only the program has the shim preloaded. The programs are
# built with the same go as the examples.
set -u
mode=${1:?usage: $0 testsigfwd|misccgo}

if [ "${CGOSHIM_TEST_HAVE_GO:-0}" != 1 ] || [ -z "${CGOSHIM_TEST_GO:-}" ]; then
	echo "SKIP: no go program was found when the build was configured"
	exit 77
fi
go=$CGOSHIM_TEST_GO
# misc/cgo/test's TestCrossPackageTests runs "go" from PATH.
PATH=$(dirname "$go"):$PATH
export PATH
goroot=$("$go" env GOROOT) || { echo "FAIL: $go env GOROOT failed"; exit 1; }
lib=${CGOSHIM_TEST_LIB:?CGOSHIM_TEST_LIB not set}
# The programs get no CGOSHIM_ variable but those set below (the shim warns
# about names it does not know).
for v in $(env | sed -n 's/^\(CGOSHIM_[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$v"
done

tmp=$(mktemp -d /tmp/cgoshim-gocgo.XXXXXX) || exit 1
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir "$tmp/reports"

fail() {
	echo "FAIL: $*"
	exit 1
}

# Wait up to 10 s for a final report of pid $1; print its file name.
final_of() {
	i=0
	while [ $i -lt 1000 ]; do
		for f in "$tmp"/reports/r."$1".*.json; do
			[ -e "$f" ] || continue
			if grep -q '"final": *true' "$f"; then
				echo "$f"
				return 0
			fi
		done
		sleep 0.01
		i=$((i + 1))
	done
	return 1
}

# Run "$@" under the shim (JSON reports into $tmp/reports) with its output in
# file $log; set rc to its exit status and check that its final report exists
# and is its own. env execs the program: $! is its pid.
shim_and_report() {
	env LD_PRELOAD="$lib" CGOSHIM_FORMAT=json CGOSHIM_OUTPUT="$tmp/reports/r.%p.%n.json" "$@" >"$log" 2>&1 &
	pid=$!
	wait $pid
	rc=$?
	f=$(final_of $pid) || fail "no final report of pid $pid ($1)"
	grep -q '"exe": *"[^"]*/'"$(basename "$1")"'"' "$f" || fail "final report $f is not of $1"
	grep -q '"schema": *"cgoshim/1"' "$f" || fail "final report $f has no schema"
	echo "final report of $1: $f"
}

case $mode in
testsigfwd)
	src=$goroot/misc/cgo/testsigfwd/main.go
	[ -r "$src" ] || { echo "SKIP: $src not found (Debian package golang-1.19-src or the same for this go)"; exit 77; }
	mkdir "$tmp/testsigfwd"
	cp "$src" "$tmp/testsigfwd/"
	printf 'module testsigfwd\n\ngo 1.19\n' >"$tmp/testsigfwd/go.mod"
	(cd "$tmp/testsigfwd" && "$go" build -buildvcs=false -o testsigfwd .) || fail "go build of testsigfwd"
	bin=$tmp/testsigfwd/testsigfwd

	out=$("$bin" 2>&1)
	rc=$?
	echo "without the shim: exit $rc: $out"
	[ $rc -eq 0 ] || fail "testsigfwd fails without the shim"

	log=$tmp/shim.log
	shim_and_report "$bin"
	echo "under the shim: exit $rc: $(cat "$log")"
	[ $rc -eq 0 ] || fail "testsigfwd fails under the shim"
	grep -q "^ok	testsigfwd" "$log" || fail "testsigfwd did not print ok under the shim"
	echo "PASS: testsigfwd with and without the shim"
	;;
misccgo)
	src=$goroot/misc/cgo/test
	[ -d "$src" ] || { echo "SKIP: $src not found (Debian package golang-1.19-src or the same for this go)"; exit 77; }
	# misc/cgo/test belongs to module "misc" (GOROOT/misc/go.mod).
	mkdir -p "$tmp/misc/cgo"
	cp -r "$src" "$tmp/misc/cgo/test"
	cp "$goroot/misc/go.mod" "$tmp/misc/go.mod"
	chmod -R u+w "$tmp/misc"
	cd "$tmp/misc/cgo/test" || exit 1
	start=$(date +%s)
	"$go" test -c -o t.test . || fail "go test -c in misc/cgo/test"
	echo "built in $(($(date +%s) - start)) s"

	start=$(date +%s)
	./t.test -test.short -test.v >"$tmp/plain.log" 2>&1
	rc=$?
	echo "without the shim: exit $rc in $(($(date +%s) - start)) s"
	tail -3 "$tmp/plain.log"
	[ $rc -eq 0 ] || { cat "$tmp/plain.log"; fail "misc/cgo/test fails without the shim"; }

	start=$(date +%s)
	log=$tmp/shim.log
	shim_and_report ./t.test -test.short -test.v
	echo "under the shim: exit $rc in $(($(date +%s) - start)) s, $(ls "$tmp/reports" | wc -l) report files (the test binary's, and those of the go test it runs)"
	tail -3 "$tmp/shim.log"
	[ $rc -eq 0 ] || { cat "$tmp/shim.log"; fail "misc/cgo/test fails under the shim"; }

	# The same tests pass and skip in both runs.
	grep -E '^ *--- (PASS|SKIP|FAIL)' "$tmp/plain.log" | sed 's/ (.*//' | sort >"$tmp/plain.res"
	grep -E '^ *--- (PASS|SKIP|FAIL)' "$tmp/shim.log" | sed 's/ (.*//' | sort >"$tmp/shim.res"
	echo "$(grep -c PASS "$tmp/plain.res") tests pass, $(grep -c SKIP "$tmp/plain.res") skip without the shim"
	diff "$tmp/plain.res" "$tmp/shim.res" || fail "results differ with the shim (diff above: < without, > with)"
	echo "PASS: misc/cgo/test with and without the shim"
	;;
*)
	echo "usage: $0 testsigfwd|misccgo" >&2
	exit 2
	;;
esac
