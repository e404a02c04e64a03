#!/bin/bash
# test_exit_report.sh - the final report is on disk when the shell sees the
# program's exit (issue 15, item 1), under plain LD_PRELOAD, no sleep.
#
#	test_exit_report.sh LIBCGOSHIM EXITPROG CHECK_JSON
#
# For each of json, pprof, text (to a file) and openmetrics, and each way
# of ending through libc (return from main, exit(3), _exit(4), _Exit(5)),
# 10 runs in a row of a program that leaks 50 blocks (6225 bytes): as soon
# as the shell has its exit status, exactly one report is in the directory,
# complete (parses, says final, counts every leak), and the exit status and
# stdout are the program's own.
set -u -o pipefail
lib=$1 prog=$2 check_json=$3
runs=${CGOSHIM_TEST_RUNS:-10}
dir=$(mktemp -d /tmp/cgoshim-exit.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

# complete FORMAT FILE: the report in FILE is whole and final.
complete() {
	case $1 in
	json)
		python3 "$check_json" "$2" >/dev/null || return 1
		python3 - "$2" <<'PY' || return 1
import json, sys
r = json.load(open(sys.argv[1]))
ok = r["final"] and r["final_at"] in ("exit", "gone") and r["leaks"]["count"] == 50 and r["leaks"]["bytes"] == 6225
sys.exit(0 if ok else 1)
PY
		;;
	pprof)
		gzip -t "$2" 2>/dev/null || return 1
		gzip -dc "$2" | grep -aq "trigger exit, final" || return 1
		;;
	text)
		grep -q "^cgoshim report: .*, final, dump #" "$2" || return 1
		grep -q "live C heap: 50 allocations, 6225 bytes" "$2" || return 1
		;;
	openmetrics)
		[ "$(tail -n 1 "$2")" = "# EOF" ] || return 1
		grep -q '^cgoshim_heap_live_allocations{.*} 50$' "$2" || return 1
		grep -q '^cgoshim_heap_live_bytes{.*} 6225$' "$2" || return 1
		;;
	esac
}

for fmt in json pprof text openmetrics; do
	for how in return exit _exit _Exit; do
		case $how in return) want=0 ;; exit) want=3 ;; _exit) want=4 ;; _Exit) want=5 ;; esac
		for i in $(seq 1 "$runs"); do
			out=$dir/$fmt.$how.$i
			mkdir "$out"
			stdout=$(CGOSHIM_FORMAT=$fmt CGOSHIM_OUTPUT="$out/r.%p" LD_PRELOAD="$lib" "$prog" "$how")
			rc=$?
			# Nothing between the exit and these checks: no sleep, no wait.
			files=("$out"/r.*)
			[ "$rc" = "$want" ] || bad "$fmt $how run $i: exit status $rc, want $want"
			[ "$stdout" = "exitprog: leaked" ] || bad "$fmt $how run $i: stdout '$stdout'"
			if [ ! -e "${files[0]}" ]; then
				bad "$fmt $how run $i: no report on disk when the program had exited"
				continue
			fi
			[ "${#files[@]}" = 1 ] || bad "$fmt $how run $i: ${#files[@]} reports"
			complete "$fmt" "${files[0]}" || bad "$fmt $how run $i: report incomplete: ${files[0]}"
		done
	done
	echo "$fmt: $((4 * runs)) runs checked"
done
# The wait is bounded and can be turned off: CGOSHIM_EXIT_WAIT=0 still
# gives a report (written after the process is gone), status unchanged.
out=$dir/nowait
mkdir "$out"
CGOSHIM_EXIT_WAIT=0 CGOSHIM_FORMAT=json CGOSHIM_OUTPUT="$out/r.%p" LD_PRELOAD="$lib" "$prog" exit >/dev/null
rc=$?
[ "$rc" = 3 ] || bad "CGOSHIM_EXIT_WAIT=0: exit status $rc"
for _ in $(seq 1 100); do [ -e "$out"/r.* ] 2>/dev/null && break; sleep 0.1; done
files=("$out"/r.*)
if [ -e "${files[0]}" ]; then
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["final_at"] == "gone" and r["leaks"]["count"] == 50 else 1)' "${files[0]}" ||
		bad "CGOSHIM_EXIT_WAIT=0: the report was not written after the process was gone"
else
	bad "CGOSHIM_EXIT_WAIT=0: no report within 10 s"
fi
# A watcher that is gone without a report (here a wrong CGOSHIM_WATCHER
# that exits at once) is not waited for: the exit takes well under the
# 10 s bound, with the program's status.
t0=$(date +%s%N)
CGOSHIM_WATCHER=/bin/true CGOSHIM_OUTPUT=/dev/null LD_PRELOAD="$lib" "$prog" exit >/dev/null 2>&1
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$rc" = 3 ] || bad "gone watcher: exit status $rc"
[ "$ms" -lt 3000 ] || bad "gone watcher: the exit waited ${ms} ms for a watcher that was gone"
echo "gone watcher: exit after ${ms} ms"

# Another thread still calls malloc and free after the report written at
# exit: a report is there at once, and once the process is gone (its
# watcher ended) the final report has been rewritten with every call,
# saying how many came after.
out=$dir/busy
mkdir "$out"
CGOSHIM_FORMAT=json CGOSHIM_OUTPUT="$out/r.%p" LD_PRELOAD="$lib" "$prog" busy >/dev/null &
pid=$!
wait $pid
rc=$?
[ "$rc" = 6 ] || bad "busy: exit status $rc"
[ -e "$out/r.$pid" ] || bad "busy: no report on disk when the program had exited"
for _ in $(seq 1 500); do pgrep -f "^cgoshim-watch --pid $pid " >/dev/null || break; sleep 0.02; done
files=("$out"/r.*)
[ "${#files[@]}" = 1 ] || bad "busy: ${#files[@]} reports"
python3 "$check_json" "$out/r.$pid" >/dev/null || bad "busy: the rewritten report does not parse"
python3 - "$out/r.$pid" <<'PY' || bad "busy: the final report was not rewritten with the calls after exit"
import json, sys
r = json.load(open(sys.argv[1]))
calls = {c["fn"]: c["count"] for c in r["calls"]}
print("busy: final_at %s, calls_after_exit %d, malloc %d, free %d" %
      (r["final_at"], r["calls_after_exit"], calls.get("malloc", 0), calls.get("free", 0)))
# 50 leaks + the thread's: every malloc but the last one is freed.
ok = (r["final_at"] == "gone" and r["calls_after_exit"] > 0 and
      calls["malloc"] - calls.get("free", 0) - r["leaks"]["count"] in (0, -1) and
      50 <= r["leaks"]["count"] <= 52)
sys.exit(0 if ok else 1)
PY
[ "$fail" = 0 ] || { echo "$fail failures"; exit 1; }
echo "all reports on disk at exit"
