#!/usr/bin/env bash
# Soak: the stress test of `meson test --suite stress` (tests/stress), run
# for longer. Eight threads mix every interposed call, fork, exec, dlopen
# and thread churn while the dump signal arrives every 5 ms; a watchdog turns
# a hang into a failure; the leak totals and call counts of the final report
# must be exact and every report must parse.
#
# Usage: scripts/soak.sh [SECONDS]        (default 600)
# Environment: CGOSHIM_BUILDDIR (default build); STRESS_PROC_EVERY_MS
# (default 1000: each worker forks or forks+execs once a second; 0: never).
# Prints the figures (operations survived, signals, reports) and exits with
# the test's status.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
builddir=${CGOSHIM_BUILDDIR:-build}
if [ ! -f "$builddir/build.ninja" ]; then
	meson setup "$builddir" >/dev/null
fi
ninja -C "$builddir" shim/libcgoshim.so tests/stress/test_stress tests/stress/stress \
	tests/stress/libstressdl.so >/dev/null
bindir=$PWD/$builddir/tests/stress
log=$(mktemp /tmp/cgoshim-soak-XXXXXX.log)
echo "soak: $seconds s of stress under the shim; log in $log"
set +e
env CGOSHIM_TEST_LIB="$PWD/$builddir/shim/libcgoshim.so" \
	CGOSHIM_TEST_LAUNCHER="$PWD/$builddir/shim/cgoshim" \
	CGOSHIM_TEST_BINDIR="$bindir" \
	CGS_CHECK_JSON="$PWD/tests/unit/check_json.py" \
	REL_PYTHON="$(command -v python3)" \
	STRESS_SECONDS="$seconds" \
	"$bindir/test_stress" storm >"$log" 2>&1
rc=$?
set -e
grep -E '^stress: (stress: )?[0-9.]+ s, [0-9]+ operations|^stress figures|^stress: schema' "$log" || true
grep -E '^\.\./.*:[0-9]+:[FE]:' "$log" || true
if [ $rc -eq 0 ]; then
	ops=$(sed -n 's/^stress: \(stress: \)\{0,1\}\([0-9.]*\) s, \([0-9]*\) operations.*/\3 operations in \2 s/p' "$log")
	echo "soak: passed: survived $ops"
else
	echo "soak: FAILED (status $rc); see $log"
fi
exit $rc
