#!/usr/bin/env bash
# test_launcher.sh - integration test of the cgoshim command.
#
#	tests/integration/test_launcher.sh PATH/TO/cgoshim
#
# Runs without the real library: it builds a stand-in preload library whose
# constructor double-forks a watcher named "cgoshim-watch", as libcgoshim.so
# does. The name is set in the intermediate process before the second fork,
# so that the watcher has it from the moment it exists (launcher.c relies on
# that: it looks for watchers as soon as the program has ended). The watcher waits for the process that made it, then 300 ms more,
# then appends "final pid=N" to $CGOSHIM_OUTPUT. How it waits is chosen by
# STANDIN_MODE:
#	pidfd   poll a pidfd of the process (the default)
#	pipe    read a pipe until the process's close-on-exec write end closes
#	sleep   do not wait for the process at all
# STANDIN_DELAY_MS changes the 300 ms.
#
# Prints "N passed, N failed" last; exits 1 on a failure, 77 (skip) without
# a C compiler, 99 when used wrongly.

set -u

launcher=${1:-}
if [[ -z $launcher || ! -x $launcher ]]; then
	echo "usage: $0 PATH/TO/cgoshim" >&2
	exit 99
fi
launcher=$(cd "$(dirname "$launcher")" && pwd)/$(basename "$launcher")
cc=${CC:-cc}
if ! command -v "$cc" >/dev/null 2>&1; then
	echo "SKIP: no C compiler ($cc)"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cgoshim-launcher.XXXXXX") || exit 99
daemons=()
cleanup() {
	local p
	for p in "${daemons[@]}"; do
		kill "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

cat >"$tmp/standin.c" <<'EOF'
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void wait_for(pid_t target, const char *mode, int rd)
{
	if (!strcmp(mode, "pipe")) {
		char c;
		while (read(rd, &c, 1) != 0)
			;
		return;
	}
	if (!strcmp(mode, "sleep"))
		return;
	int fd = (int)syscall(SYS_pidfd_open, target, 0);
	if (fd >= 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		while (poll(&p, 1, -1) < 0)
			;
		return;
	}
	while (kill(target, 0) == 0)
		usleep(10000);
}

static void watcher(pid_t target, const char *mode, int rd)
{
	int null = open("/dev/null", O_RDWR);
	wait_for(target, mode, rd);
	/* Stay off the program's standard streams, like the real watcher. */
	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	const char *d = getenv("STANDIN_DELAY_MS");
	long ms = d ? atol(d) : 300;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
	const char *out = getenv("CGOSHIM_OUTPUT");
	if (out && *out) {
		char line[64];
		int fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		int n = snprintf(line, sizeof(line), "final pid=%d\n", (int)target);
		if (fd >= 0 && write(fd, line, (size_t)n) != n)
			_exit(1);
	}
}

__attribute__((constructor)) static void standin_init(void)
{
	const char *mode = getenv("STANDIN_MODE");
	pid_t target = getpid();
	int p[2] = { -1, -1 };
	if (!mode)
		mode = "pidfd";
	if (!strcmp(mode, "pipe") && pipe2(p, O_CLOEXEC))
		return;
	pid_t mid = fork();
	if (mid == 0) {
		/* Named before the fork, the watcher bears its name from its
		 * first instant: cgoshim can never mistake it for a daemon. */
		prctl(PR_SET_NAME, "cgoshim-watch", 0, 0, 0);
		if (fork() == 0) {
			if (p[1] >= 0)
				close(p[1]);
			watcher(target, mode, p[0]);
		}
		_exit(0);
	}
	if (mid > 0)
		waitpid(mid, NULL, 0);
	if (p[0] >= 0)
		close(p[0]); /* p[1] stays open until this image exits or execs */
}
EOF
cat >"$tmp/other.c" <<'EOF'
int cgoshim_test_other;
EOF
if ! "$cc" -shared -fPIC -O2 -o "$tmp/standin.so" "$tmp/standin.c" ||
	! "$cc" -shared -fPIC -O2 -o "$tmp/other.so" "$tmp/other.c"; then
	echo "cannot build the stand-in library" >&2
	exit 99
fi
lib=$tmp/standin.so

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1"; }
check() { # check NAME COMMAND...: pass if COMMAND succeeds
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}
now_ms() { date +%s%3N; }
# Wait (up to 10 s) for a file that a background process creates.
await_file() {
	local i
	for ((i = 0; i < 1000; i++)); do
		[[ -e $1 ]] && return 0
		sleep 0.01
	done
	return 1
}

unset CGOSHIM_LIB CGOSHIM_OUTPUT CGOSHIM_STACK_DEPTH CGOSHIM_LAUNCHER_TIMEOUT LD_PRELOAD
unset STANDIN_MODE STANDIN_DELAY_MS

# --- exit status and the final report -------------------------------------
out=$tmp/exit7.txt
"$launcher" --lib "$lib" -o "$out" -- sh -c 'exit 7'
st=$?
check "exit status 7 is passed on (got $st)" test "$st" -eq 7
# No sleep: the watcher wrote 300 ms after sh died, before cgoshim returned.
check "final report exists when cgoshim returns" grep -q '^final pid=' "$out"

out=$tmp/noseparator.txt
"$launcher" --lib "$lib" -o "$out" sh -c 'exit 4'
st=$?
check "PROGRAM without -- (got $st)" test "$st" -eq 4
check "final report exists without --" test -s "$out"

got=$("$launcher" --lib "$lib" sh -c 'printf "%s," "$@"' prog --help -o x)
check "options after PROGRAM belong to PROGRAM (got '$got')" test "$got" = "--help,-o,x,"

# --- death by a signal ------------------------------------------------------
out=$tmp/kill9.txt
"$launcher" --lib "$lib" -o "$out" -- sh -c 'kill -9 $$'
st=$?
check "SIGKILLed program: cgoshim dies of SIGKILL (got $st)" test "$st" -eq 137
check "final report of a SIGKILLed program" test -s "$out"

"$launcher" --lib "$lib" -- sh -c 'kill -TERM $$'
st=$?
check "SIGTERMed program: cgoshim dies of SIGTERM (got $st)" test "$st" -eq 143

# --- exec failures ------------------------------------------------------------
err=$("$launcher" --lib "$lib" -- "$tmp/no-such-program" 2>&1)
st=$?
check "nonexistent program gives 127 (got $st)" test "$st" -eq 127
check "nonexistent program is named ('$err')" \
	grep -q "cannot run $tmp/no-such-program: No such file" <<<"$err"

printf '#!/bin/sh\n' >"$tmp/not-executable"
chmod 644 "$tmp/not-executable"
if [[ $(id -u) -ne 0 ]]; then
	"$launcher" --lib "$lib" -- "$tmp/not-executable" 2>/dev/null
	st=$?
	check "non-executable program gives 126 (got $st)" test "$st" -eq 126
fi
"$launcher" --lib "$lib" -- "$tmp" 2>/dev/null
st=$?
check "a directory as program gives 126 (got $st)" test "$st" -eq 126

# --- finding the library -----------------------------------------------------
"$launcher" --lib "$tmp/nonexistent.so" -- true 2>"$tmp/err"
st=$?
check "missing --lib gives 127 (got $st)" test "$st" -eq 127
check "missing --lib: one line on stderr" test "$(wc -l <"$tmp/err")" -eq 1

out=$tmp/envlib.txt
CGOSHIM_LIB=$lib "$launcher" -o "$out" -- true
check "library from CGOSHIM_LIB" test -s "$out"

mkdir -p "$tmp/tree"
cp "$launcher" "$tmp/tree/cgoshim"
cp "$lib" "$tmp/tree/libcgoshim.so"
out=$tmp/besidelib.txt
(cd / && "$tmp/tree/cgoshim" -o "$out" -- true)
check "library next to the launcher's executable" test -s "$out"

got=$(LD_PRELOAD=$tmp/other.so "$launcher" --lib "$lib" -- sh -c 'echo "$LD_PRELOAD"')
check "LD_PRELOAD: library first, old value kept (got '$got')" test "$got" = "$lib:$tmp/other.so"
got=$(cd "$tmp" && "$launcher" --lib ./standin.so -- sh -c 'echo "$LD_PRELOAD"')
check "relative --lib made absolute (got '$got')" test "$got" = "$lib"

# --- options and environment ---------------------------------------------------
"$launcher" --help >"$tmp/help"
st=$?
check "--help exits 0 (got $st)" test "$st" -eq 0
for v in DISABLE OUTPUT FORMAT SIGNAL LEAKS STACK_DEPTH CHILDREN MIN_AGE TOP MEMORY SLOW_NS TARGETS; do
	check "--help lists CGOSHIM_$v" grep -q "CGOSHIM_$v" "$tmp/help"
done
for o in --output --format --no-leaks --stack-depth --signal --no-children --slow-ns --env --lib --help --version; do
	check "--help lists $o" grep -q -- "$o" "$tmp/help"
done
check "--version" bash -c '"$1" --version | grep -q "^cgoshim "' _ "$launcher"

got=$("$launcher" --lib "$lib" --stack-depth 7 -- sh -c 'echo $CGOSHIM_STACK_DEPTH')
check "--stack-depth 7 reaches the program (got '$got')" test "$got" = 7
got=$(CGOSHIM_STACK_DEPTH=3 "$launcher" --lib "$lib" --stack-depth 7 -- sh -c 'echo $CGOSHIM_STACK_DEPTH')
check "an option overrides an inherited variable (got '$got')" test "$got" = 7
got=$(CGOSHIM_STACK_DEPTH=3 "$launcher" --lib "$lib" -- sh -c 'echo $CGOSHIM_STACK_DEPTH')
check "an inherited variable is kept (got '$got')" test "$got" = 3
got=$("$launcher" --lib "$lib" -o r.txt -f json --no-leaks --signal USR1 --no-children \
	--slow-ns 5000 -e CGOSHIM_TOP=5 -e CGOSHIM_MIN_AGE=30s -- \
	sh -c 'echo "$CGOSHIM_OUTPUT $CGOSHIM_FORMAT $CGOSHIM_LEAKS $CGOSHIM_SIGNAL $CGOSHIM_CHILDREN $CGOSHIM_SLOW_NS $CGOSHIM_TOP [$CGOSHIM_MIN_AGE] $CGOSHIM_LAUNCHER"')
check "every option maps to its variable (got '$got')" test "$got" = "r.txt json 0 USR1 0 5000 5 [30s] 1"
got=$("$launcher" --lib "$lib" --no-leaks -e CGOSHIM_LEAKS=1 -- sh -c 'echo $CGOSHIM_LEAKS')
check "the later of two settings wins (got '$got')" test "$got" = 1

usage_fails() { # usage_fails ARGS...: cgoshim exits 2 with one line
	local e
	e=$("$launcher" --lib "$lib" "$@" -- true 2>&1)
	[[ $? -eq 2 && $(wc -l <<<"$e") -eq 1 ]]
}
check "-e FOO=1 is rejected with 2" usage_fails -e FOO=1
check "-e CGOSHIM_X without = is rejected" usage_fails -e CGOSHIM_X
check "-e CGOSHIM_=1 is rejected" usage_fails -e CGOSHIM_=1
check "unknown option gives 2" usage_fails --frobnicate
check "unknown short option gives 2" usage_fails -z
check "missing option value gives 2" bash -c '"$1" --lib "$2" --stack-depth 2>/dev/null; test $? -eq 2' _ "$launcher" "$lib"
check "--stack-depth 0 is rejected" usage_fails --stack-depth 0
check "--format xml is rejected" usage_fails --format xml
check "no program gives 2" bash -c '"$1" --lib "$2" 2>/dev/null; test $? -eq 2' _ "$launcher" "$lib"

# --- descriptors ----------------------------------------------------------------
direct=$(sh -c 'ls /proc/$$/fd' | tr '\n' ' ')
under=$("$launcher" --lib "$lib" -- sh -c 'ls /proc/$$/fd' | tr '\n' ' ')
check "no descriptor leaks into the program ('$direct' vs '$under')" test "$direct" = "$under"

# --- daemons left behind --------------------------------------------------------
for mode in pidfd pipe sleep; do
	out=$tmp/daemon-$mode.txt
	t0=$(now_ms)
	STANDIN_MODE=$mode "$launcher" --lib "$lib" -o "$out" -- \
		sh -c 'sleep 30 & echo $! >"$1"; exit 0' sh "$tmp/daemon-$mode.pid" >/dev/null 2>&1
	st=$?
	t1=$(now_ms)
	[[ -s $tmp/daemon-$mode.pid ]] && daemons+=("$(cat "$tmp/daemon-$mode.pid")")
	check "daemon ($mode watcher): exit status 0 (got $st)" test "$st" -eq 0
	check "daemon ($mode watcher): returns within 5 s (took $((t1 - t0)) ms)" test $((t1 - t0)) -lt 5000
	check "daemon ($mode watcher): the program's report exists" test -s "$out"
done

# --- the wait is bounded ----------------------------------------------------------
t0=$(now_ms)
CGOSHIM_LAUNCHER_TIMEOUT=1 STANDIN_DELAY_MS=20000 "$launcher" --lib "$lib" -- sh -c 'exit 3' 2>"$tmp/err"
st=$?
t1=$(now_ms)
check "timeout: exit status kept (got $st)" test "$st" -eq 3
check "timeout: gave up after about 1 s (took $((t1 - t0)) ms)" test $((t1 - t0)) -lt 4000
check "timeout: one line says so ($(cat "$tmp/err"))" \
	bash -c '[[ $(wc -l <"$1") -eq 1 ]] && grep -q "gave up" "$1"' _ "$tmp/err"
# The message ends with the pids of the watchers left behind.
daemons+=($(sed -n 's/.*pids\{0,1\} \([0-9 ]*\)$/\1/p' "$tmp/err"))

# SIGTERM while waiting for reports ends the wait, not the exit status.
STANDIN_DELAY_MS=20000 "$launcher" --lib "$lib" -- sh -c 'touch "$1"; exit 6' sh "$tmp/ready-drain" 2>"$tmp/err" &
lpid=$!
if await_file "$tmp/ready-drain"; then
	sleep 0.2 # let sh exit; there is nothing to poll for
	kill -TERM "$lpid"
	wait "$lpid"
	st=$?
	check "SIGTERM while waiting for reports: exit status kept (got $st)" test "$st" -eq 6
	check "SIGTERM while waiting for reports: one line says so ($(cat "$tmp/err"))" \
		bash -c '[[ $(wc -l <"$1") -eq 1 ]] && grep -q "interrupted by SIGTERM" "$1"' _ "$tmp/err"
	daemons+=($(sed -n 's/.*pids\{0,1\} \([0-9 ]*\)$/\1/p' "$tmp/err"))
else
	fail "drain interruption test: the program did not start"
fi

# --- signals are forwarded ---------------------------------------------------------
ready=$tmp/ready-usr1
"$launcher" --lib "$lib" -- sh -c 'trap "exit 5" USR1; touch "$1"; while :; do sleep 0.05; done' sh "$ready" &
lpid=$!
daemons+=("$lpid")
if await_file "$ready"; then
	kill -USR1 "$lpid"
	wait "$lpid"
	st=$?
	check "SIGUSR1 to cgoshim reaches the program (got $st)" test "$st" -eq 5
else
	fail "SIGUSR1 test: the program did not start"
fi

ready=$tmp/ready-term
"$launcher" --lib "$lib" -- sh -c 'touch "$1"; while :; do sleep 0.05; done' sh "$ready" &
lpid=$!
daemons+=("$lpid")
if await_file "$ready"; then
	kill -TERM "$lpid"
	wait "$lpid"
	st=$?
	check "SIGTERM to cgoshim kills the program, and cgoshim with it (got $st)" test "$st" -eq 143
else
	fail "SIGTERM test: the program did not start"
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
