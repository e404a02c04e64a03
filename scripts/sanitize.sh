#!/usr/bin/env bash
# Build the shim's internals and its unit tests with sanitizers and run them.
#
# Usage: scripts/sanitize.sh [asan|tsan|valgrind|all]   (default: all)
#
#   asan      build-asan: -Db_sanitize=address,undefined -Db_lundef=false
#   tsan      build-tsan: -Db_sanitize=thread -Db_lundef=false
#   valgrind  the unit tests of the normal build (build/) under valgrind
#             (meson test --setup valgrind; the setup is in meson.build)
#
# Only the unit tests run (tests/unit, found with meson introspect). Under
# valgrind they are the tests as built in build/. A program that contains
# the shim's own malloc, dlsym and sigaction (the unit tests link the whole
# internal library) cannot start under ASan or TSan, whose runtimes call
# those first; so the sanitizer builds run variants of the same unit tests
# linked without the interposers (suite unit-san, tests/fuzz/meson.build):
# the option parser, histograms, tables, region allocator, module table,
# symboliser, flight recorder and report writers. The preload library itself
# cannot be preloaded with a sanitizer into arbitrary programs (the
# sanitizer runtime must come first in the process and owns malloc), so
# the integration suites are not run here. Exit status: 0 when every run
# passed.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
status=0

# The unit tests of a build directory: the tests whose program is under
# tests/unit (their names, for meson test). With "san", the sanitizer
# builds' own variants instead (suite unit-san, tests/fuzz/meson.build).
unit_tests() {
	meson introspect --tests "$1" | python3 -c '
import json, sys
san = sys.argv[1] == "san"
names = []
for t in json.load(sys.stdin):
    suites = [s.split(":")[-1] for s in t["suite"]]
    if (san and "unit-san" in suites) or (not san and "/tests/unit/" in t["cmd"][0]):
        names.append(t["name"])
print(" ".join(names))' "$2"
}

run_sanitized() {
	local dir=$1 opts=$2 envs=$3
	if [ ! -f "$dir/build.ninja" ]; then
		echo "sanitize: setting up $dir ($opts)"
		# shellcheck disable=SC2086
		meson setup "$dir" $opts >/dev/null
	fi
	local tests
	echo "sanitize: $dir: building"
	ninja -C "$dir" >/dev/null
	tests=$(unit_tests "$dir" san)
	echo "sanitize: $dir: $tests"
	# shellcheck disable=SC2086
	if ! env $envs meson test -C "$dir" --print-errorlogs --num-processes 2 $tests; then
		status=1
	fi
}

if [ "$what" = asan ] || [ "$what" = all ]; then
	run_sanitized build-asan "-Db_sanitize=address,undefined -Db_lundef=false" \
		"ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"
fi
if [ "$what" = tsan ] || [ "$what" = all ]; then
	run_sanitized build-tsan "-Db_sanitize=thread -Db_lundef=false" \
		"TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1"
fi
if [ "$what" = valgrind ] || [ "$what" = all ]; then
	[ -f build/build.ninja ] || meson setup build >/dev/null
	tests=$(unit_tests build plain)
	echo "sanitize: build: under valgrind: $tests"
	# shellcheck disable=SC2086
	if ! meson test -C build --setup valgrind --print-errorlogs --num-processes 2 $tests; then
		status=1
	fi
fi
exit $status
