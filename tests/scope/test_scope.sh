#!/usr/bin/env bash
# test_scope.sh - the preload library brings nothing into the program's
# global scope (issue: a C++ thread ending with pthread_exit through a
# dlopen'd plugin crashed when libunwind.so.8 came with the shim; a
# program's bundled libz.so.1 was shadowed by the system one).
#
#   test_scope.sh LIB BINDIR
#
# Each case runs the same program without and with LD_PRELOAD=LIB and
# compares status and output. Where the old failure can still be produced
# (LD_PRELOAD of libunwind.so.8 or of the system libz), the case also checks
# that it is detected, so the comparison is known to catch it.
set -uo pipefail
if [ "${1:-}" = --skip ]; then
	echo "SKIP: no C++ compiler (Debian: g++)"
	exit 77
fi
lib=$1
bin=$2
fail=0
pass=0
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export CGOSHIM_OUTPUT=/dev/null

run() { # NAME PRELOAD CMD... -> $out/NAME.txt with the status last
	local name=$1 pre=$2
	shift 2
	if [ -n "$pre" ]; then
		LD_PRELOAD=$pre timeout 60 "$@" >"$out/$name.txt" 2>"$out/$name.err"
	else
		timeout 60 "$@" >"$out/$name.txt" 2>"$out/$name.err"
	fi
	echo "status $?" >>"$out/$name.txt"
}

same() { # CASE: native and shim runs agree, and the native run is sane
	local c=$1 want=$2
	if ! grep -q "$want" "$out/$c-native.txt"; then
		echo "FAIL $c: the native run did not print '$want':"; cat "$out/$c-native.txt" "$out/$c-native.err"
		fail=$((fail + 1)); return
	fi
	if diff -u "$out/$c-native.txt" "$out/$c-shim.txt" >"$out/$c.diff"; then
		echo "ok   $c"; pass=$((pass + 1))
	else
		echo "FAIL $c: with the shim preloaded the program behaves differently:"; cat "$out/$c.diff" "$out/$c-shim.err"
		fail=$((fail + 1))
	fi
}

differs() { # CASE PRELOAD-NAME: the old failure mode is seen by the comparison
	local c=$1 what=$2
	if diff -q "$out/$c-native.txt" "$out/$c-bad.txt" >/dev/null; then
		echo "FAIL $c: preloading $what no longer changes the program, so this case cannot see the bug"
		fail=$((fail + 1))
	else
		echo "ok   $c: preloading $what changes it (the comparison catches the old bug)"; pass=$((pass + 1))
	fi
}

# C++ plugin, pthread_exit and pthread_cancel through C++ frames.
run cxx-native "" "$bin/cxxhost" "$bin/libcxxplugin.so"
run cxx-shim "$lib" "$bin/cxxhost" "$bin/libcxxplugin.so"
same cxx "host: plugin returned 0"
run cxx-disabled "$lib" env CGOSHIM_DISABLE=1 "$bin/cxxhost" "$bin/libcxxplugin.so"
mv "$out/cxx-disabled.txt" "$out/cxxoff-shim.txt"; cp "$out/cxx-native.txt" "$out/cxxoff-native.txt"
touch "$out/cxxoff-shim.err"
same cxxoff "host: plugin returned 0"
old_unwind=$(ls /usr/lib/x86_64-linux-gnu/libunwind.so.8 2>/dev/null || true)
if [ -n "$old_unwind" ]; then
	run cxx-bad "$old_unwind" "$bin/cxxhost" "$bin/libcxxplugin.so"
	differs cxx "$old_unwind"
fi

# The same plugin through Python's ctypes.
py=$(command -v python3 || true)
if [ -n "$py" ]; then
	code="import ctypes,sys; sys.stdout.flush(); r=ctypes.CDLL('$bin/libcxxplugin.so').cxx_run(); print('host: plugin returned', r)"
	run ctypes-native "" "$py" -c "$code"
	run ctypes-shim "$lib" "$py" -c "$code"
	same ctypes "host: plugin returned 0"
fi

# A program that bundles its own zlib keeps it.
run zlib-native "" "$bin/zhost" "$bin/libzuser.so"
run zlib-shim "$lib" "$bin/zhost" "$bin/libzuser.so"
same zlib "plugin's zlibVersion: bundled-9.9.9"
sys_z=$(ls /usr/lib/x86_64-linux-gnu/libz.so.1 /lib/x86_64-linux-gnu/libz.so.1 2>/dev/null | head -1)
if [ -n "$sys_z" ]; then
	run zlib-bad "$sys_z" "$bin/zhost" "$bin/libzuser.so"
	differs zlib "$sys_z"
fi

# No watcher to be had: the program runs on unharmed, with one clear line.
alone=$out/alone
mkdir -p "$alone"
cp "$lib" "$alone/libcgoshim.so"
unset CGOSHIM_OUTPUT
watcher_case() { # NAME WANT-IN-STDERR ENV...
	local name=$1 want=$2
	shift 2
	env "$@" sh -c 'echo hello; exit 7' >"$out/$name.out" 2>"$out/$name.err"
	local st=$? lines
	lines=$(wc -l <"$out/$name.err")
	if [ "$st" = 7 ] && [ "$(cat "$out/$name.out")" = hello ] && [ "$lines" = 1 ] && grep -q "$want" "$out/$name.err"; then
		echo "ok   $name"; pass=$((pass + 1))
	else
		echo "FAIL $name: status $st (want 7), stdout '$(cat "$out/$name.out")', stderr ($lines lines, want 1 with '$want'):"
		cat "$out/$name.err"; fail=$((fail + 1))
	fi
}
if [ ! -e /usr/local/libexec/cgoshim/cgoshim-watch ] && [ ! -e /usr/libexec/cgoshim/cgoshim-watch ]; then
	watcher_case no-watcher "cannot find the watcher program cgoshim-watch" LD_PRELOAD="$alone/libcgoshim.so"
fi
watcher_case bad-watcher "cannot run the watcher program /nonexistent/cgoshim-watch" \
	LD_PRELOAD="$lib" CGOSHIM_WATCHER=/nonexistent/cgoshim-watch

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
