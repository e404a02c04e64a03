#!/usr/bin/env bash
# test_go_release.sh - the Go end-to-end tests (how a program ends, SIGUSR2,
# stacks) on one Go release, with symbols and stripped.
# Usage: test_go_release.sh GO TEST_GO_EXIT TEST_GO_SIGNALS TEST_GO_STACKS SRCDIR
#
# The test programs test_go_exit, test_go_signals and test_go_stacks run
# the Go programs they find in CGOSHIM_TEST_EXAMPLES (cstring-leak) and
# CGOSHIM_TEST_BINDIR (sigprog, stackprog); here those are built with GO,
# once plainly and once with -ldflags='-s -w', and every case of the three
# runs against each build (test_go_stacks with symbols only: it checks the
# name of a static C function, which a stripped binary does not have;
# test_go_versions covers the stripped stacks). SRCDIR is the source root.
set -u -o pipefail
go=${1:?} t_exit=${2:?} t_signals=${3:?} t_stacks=${4:?} root=${5:?}
if [ ! -x "$go" ]; then
	echo "SKIP: $go not installed (scripts/install-deps.sh installs it)"; exit 77
fi
tmp=$(mktemp -d /tmp/cgoshim-gorelease-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export GOCACHE=$tmp/gocache GOFLAGS=-mod=mod CGO_ENABLED=1 GO111MODULE=on CGOSHIM_TEST_HAVE_GO=1
fail=0
for kind in symbols stripped; do
	flags=()
	[ $kind = stripped ] && flags=(-ldflags='-s -w')
	mkdir -p "$tmp/$kind"
	for p in examples/cstring-leak tests/integration/go/sigprog tests/integration/go/stackprog; do
		(cd "$root/$p" && "$go" build -buildvcs=false "${flags[@]}" -o "$tmp/$kind/$(basename "$p")" .) ||
			{ echo "FAIL: go build $p"; exit 1; }
	done
	tests=("$t_exit" "$t_signals")
	[ $kind = symbols ] && tests+=("$t_stacks")
	for t in "${tests[@]}"; do
		CGOSHIM_TEST_BINDIR=$tmp/$kind CGOSHIM_TEST_EXAMPLES=$tmp/$kind "$t" >"$tmp/log" 2>&1
		rc=$?
		echo "$kind $(basename "$t"): $(grep -E '^[0-9]+%:' "$tmp/log" || echo "exit $rc")"
		if [ $rc != 0 ]; then
			echo "FAIL: $kind $(basename "$t") on $("$go" version)"; grep -E ':[FE]:' "$tmp/log" | head; fail=1
		fi
	done
done
if [ $fail = 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $fail
