#!/usr/bin/env bash
# test_files.sh - files and names a harness can rely on (issue 16).
#
#	test_files.sh CASE CGOSHIM LIBCGOSHIM FILESPROG CTORLIB SRCDIR PYTHON3
#
# Each case runs filesprog (filesprog.c) under the launcher or plain
# LD_PRELOAD in a fresh directory and checks what a user would check: which
# file holds which report, what reaches stdout and stderr, the exit status.
# Every JSON report a case makes is checked against docs/report.schema.json
# (tests/unit/check_json.py). Exit 0 pass, 1 fail, 77 skip.
set -u -o pipefail

case_name=$1 cgoshim=$2 lib=$3 prog=$4 ctorlib=$5 src=$6 py=${7:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cgoshim-files.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 99
unset LD_PRELOAD $(env | sed -n 's/^\(CGOSHIM_[A-Z0-9_]*\)=.*/\1/p')

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
need_py() { [[ -n $py ]] || { echo "SKIP: no python3"; exit 77; }; }
# jq-like: a python expression over the report d, printed.
jget() { "$py" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
schema_check() {
	[[ -n $py ]] || return 0
	local f
	for f in "$@"; do
		"$py" "$src/tests/unit/check_json.py" "$f" || fail "schema: $f"
	done
}
preload() { env LD_PRELOAD="$lib" CGOSHIM_FORMAT=json "$@"; }

case $case_name in
fixed-name)
	need_py
	# The README's CI recipe on a program with a fork child and a child
	# process: base.json is the program's own final report, every time.
	for run in 1 2; do
		"$cgoshim" -f json -o base.json -- "$prog" fork 3 2 >out.txt 2>err.txt || fail "run $run: status $?"
		[[ -f base.json ]] || { fail "run $run: no base.json"; continue; }
		[[ $(jget base.json 'd["exe"]') == "$prog" ]] || fail "run $run: base.json is $(jget base.json 'd["exe"]')'s"
		[[ $(jget base.json 'd["parent_pid"], d["final"]') == "0 True" ]] || fail "run $run: base.json not the program's final report"
	done
	others=(base.[0-9]*.json)
	[[ ${#others[@]} -ge 4 ]] || fail "expected the other processes' reports as base.PID.json, got: $(ls)"
	ls | grep -E '\.json\.[0-9]+$' && fail "a collision suffix after the extension"
	"$cgoshim" -f json -o new.json -- "$prog" fork 3 2 >/dev/null 2>&1
	"$cgoshim" diff base.json new.json >diff.txt 2>&1 || fail "diff of the program with itself failed: $(cat diff.txt)"
	grep -q "$prog" diff.txt || fail "diff does not compare the program: $(head -3 diff.txt)"
	# Plain LD_PRELOAD: the first image (its parent is not traced) takes it.
	rm -f *.json
	preload CGOSHIM_OUTPUT=plain.json "$prog" fork 3 2 >/dev/null 2>&1
	for i in $(seq 50); do [[ -f plain.json ]] && break; sleep 0.1; done
	[[ -f plain.json && $(jget plain.json 'd["exe"], d["parent_pid"]') == "$prog 0" ]] || fail "plain LD_PRELOAD: plain.json is not the program's"
	schema_check *.json
	;;
collision)
	need_py
	# One pid, three images: names keep .json last, so a glob finds all.
	"$cgoshim" -f json -o 'r.%p.json' -- "$prog" exec 2 2>err.txt || fail "status $?"
	n=$(ls r.*.json | wc -l)
	[[ $n -eq 3 ]] || fail "r.*.json matches $n files, want 3: $(ls)"
	ls | grep -E '\.json\.[0-9]+$' && fail "a collision suffix after the extension"
	"$cgoshim" merge r.*.json >m.json || fail "merge"
	[[ $(jget m.json 'len(d["merged"])') == 3 ]] || fail "merge did not take the 3 images"
	# A fixed name: the last image (the one that exits) takes it; the
	# exec'd images go beside it; none is lost even when an exec goes
	# unseen (README, Limits).
	"$cgoshim" -f json -o fx.json -- "$prog" exec 2 2>/dev/null
	[[ $(ls fx.*.json | wc -l) -eq 2 ]] || fail "the exec'd images are not beside fx.json: $(ls)"
	imgs=$(for f in fx*.json; do jget "$f" 'd["cmdline"].split()[-1]'; done | sort | tr '\n' ' ')
	[[ $imgs == "0 1 2 " ]] || fail "images' reports: $imgs, want 0 1 2"
	[[ $(jget fx.json 'd["cmdline"]') == *"exec 0" ]] || echo "note: fx.json is image $(jget fx.json 'd["cmdline"]') (an exec went unseen)"
	schema_check *.json
	;;
interval)
	need_py
	"$cgoshim" -f json --interval=20ms -o iv.json -- "$prog" sleep 300 2>err.txt || fail "status $?"
	[[ $(jget iv.json 'd["final"], d["trigger"]') == "True exit" ]] || fail "iv.json is not the final report"
	live=$(ls iv.[0-9]*.json 2>/dev/null | wc -l)
	[[ $live -ge 3 ]] || fail "live dumps not beside iv.json ($live): $(ls)"
	schema_check *.json
	;;
stdout)
	need_py
	"$cgoshim" -f json -o - -- "$prog" fork 2 1 2>err.txt | tee raw.json | "$py" -m json.tool >pretty.json || fail "-o - | json.tool failed"
	[[ $(jget pretty.json 'd["exe"]') == "$prog" ]] || fail "stdout does not hold the program's report"
	grep -q "filesprog stdout" err.txt || fail "the program's stdout is not on stderr"
	grep -q '"exe": "/usr/bin/true"' err.txt || fail "the child's report is not on stderr"
	[[ -z $(ls "${TMPDIR:-/tmp}" | grep cgoshim-stdout) ]] || true
	"$cgoshim" -o - -- "$prog" sleep 1 2>err2.txt >out2.txt || fail "text -o -"
	grep -q "cgoshim report: pid" out2.txt || fail "text report not on stdout"
	# Plain LD_PRELOAD: CGOSHIM_OUTPUT=- is the process's stdout; the
	# watcher holds the pipe until the report is in it.
	env LD_PRELOAD="$lib" CGOSHIM_FORMAT=json CGOSHIM_OUTPUT=- "$prog" sleep 1 2>/dev/null | tee raw2.json |
		"$py" -m json.tool >/dev/null || fail "plain LD_PRELOAD: CGOSHIM_OUTPUT=- | json.tool failed: $(head -c 200 raw2.json)"
	schema_check raw.json raw2.json
	;;
early-check)
	for out in /nonexistent/dir/r.json /dev/full; do
		"$cgoshim" -f json -o "$out" -- "$prog" sleep 200 2>err.txt
		grep -n "cannot write reports to $out" err.txt >/dev/null || { fail "$out: no line: $(cat err.txt)"; continue; }
		first=$(grep -n "cannot write reports to $out" err.txt | head -1 | cut -d: -f1)
		slept=$(grep -n '^slept$' err.txt | cut -d: -f1)
		[[ $first -lt $slept ]] || fail "$out: the line came after the program ran (line $first, slept $slept)"
		grep -q '"trigger": "exit"' err.txt || fail "$out: the report did not reach stderr"
	done
	# Under plain LD_PRELOAD: a directory as the output is one line, the
	# report on stderr, and no file made beside it.
	mkdir adir
	env LD_PRELOAD="$lib" CGOSHIM_FORMAT=json CGOSHIM_OUTPUT=adir "$prog" sleep 100 2>err.txt
	for i in $(seq 50); do grep -q '"trigger": "exit"' err.txt && break; sleep 0.1; done
	grep -q "cannot write reports to adir: it is a directory" err.txt || fail "adir: $(cat err.txt)"
	grep -q '"trigger": "exit"' err.txt || fail "adir: the report did not reach stderr"
	[[ $(ls | grep -c '^adir') == 1 && -z $(ls adir) ]] || fail "adir: a file was made: $(ls)"
	if [[ $(id -u) != 0 ]]; then
		mkdir ro && chmod 555 ro
		"$cgoshim" -o ro/r.txt -- "$prog" sleep 1 2>err.txt
		grep -q "cannot write reports to ro/r.txt" err.txt || fail "read-only dir: $(cat err.txt)"
	fi
	;;
validation)
	# One table: each bad value the launcher refuses (status 2) in the
	# words the library warns with (and then uses its default).
	check() { # OPTION VAR VALUE
		local opt=$1 var=$2 val=$3
		"$cgoshim" "$opt" -- true 2>l.txt
		local st=$?
		[[ $st -eq 2 ]] || fail "$opt: status $st, want 2"
		env LD_PRELOAD="$lib" "$var=$val" true 2>p.txt
		local lw pw
		lw=$(sed -n "s/^cgoshim: $var=[^:]*: \(.*\) (try 'cgoshim --help')$/\1/p" l.txt)
		pw=$(sed -n "s/^cgoshim: $var=[^:]*: \(.*\); using .*/\1/p" p.txt)
		[[ -n $lw && $lw == "$pw" ]] || fail "$opt: launcher '$(cat l.txt)' library '$(cat p.txt)'"
	}
	check --signal=FOO CGOSHIM_SIGNAL FOO
	check --interval=1ms CGOSHIM_INTERVAL 1ms
	check --slow-ns=-5 CGOSHIM_SLOW_NS -5
	check -eCGOSHIM_DISABLE=maybe CGOSHIM_DISABLE maybe
	check -eCGOSHIM_RING_EVENTS=3 CGOSHIM_RING_EVENTS 3
	check -eCGOSHIM_OUTPUT_MODE=0444 CGOSHIM_OUTPUT_MODE 0444
	env LD_PRELOAD="$lib" CGOSHIM_DISABLE=yes true 2>p.txt
	[[ ! -s p.txt ]] || fail "CGOSHIM_DISABLE=yes: $(cat p.txt)"
	mkdir adir
	for o in -- adir adir/ ''; do
		"$cgoshim" -o "$o" -- true 2>l.txt
		[[ $? -eq 2 ]] || fail "-o '$o' accepted"
		[[ -z $(ls adir) && ! -e -- && ! -e adir.1 ]] || fail "-o '$o' wrote a file: $(ls)"
	done
	;;
help)
	# Every variable of the options table is in --help.
	"$cgoshim" --help >help.txt || fail "--help"
	for v in $(sed -n 's/.*!strcmp(name, "\([A-Z_]*\)").*/\1/p' "$src/shim/core/options.c" | sort -u); do
		grep -q "CGOSHIM_$v" help.txt || fail "--help does not list CGOSHIM_$v"
	done
	;;
fork-merge)
	need_py
	# 45 blocks in the parent, 7 in its fork child: merge says 52, once.
	"$cgoshim" -f json -o 'm.%p.json' --no-children -- "$prog" fork 45 7 >/dev/null 2>err.txt || fail "status $?"
	"$cgoshim" -f json -o 'c.%p.json' --slow-ns=0 -- "$prog" fork 45 7 >/dev/null 2>err.txt || fail "status $?"
	child=$(for f in c.*.json; do [[ $(jget "$f" 'd["parent_pid"]') != 0 ]] && echo "$f"; done)
	parent=$(for f in c.*.json; do [[ $(jget "$f" 'd["parent_pid"], d["exe"]') == "0 $prog" ]] && echo "$f"; done)
	[[ -n $child && -n $parent ]] || { fail "no fork child or parent report: $(ls)"; exit 1; }
	[[ $(jget "$child" 'd["parent_pid"]') == $(jget "$parent" 'd["pid"]') ]] || fail "child's parent_pid"
	sites() { jget "$1" "sum(s['$2'] for s in d['leaks']['sites'] if s['bytes'] % $3 == 0 and s['count'] and s['bytes'] // s['count'] == $3)"; }
	[[ $(sites "$child" inherited_count 111) == 45 ]] || fail "child: 45 blocks of 111 not marked inherited: $(sites "$child" inherited_count 111)"
	[[ $(sites "$child" count 222) == 7 && $(sites "$child" inherited_count 222) == 0 ]] || fail "child's own blocks"
	[[ $(jget "$child" 'd["leaks"]["inherited_count"] >= 45') == True ]] || fail "leaks.inherited_count"
	cs=$(jget "$child" 'd["start_unix_ns"]') ps=$(jget "$parent" 'd["start_unix_ns"]')
	[[ $cs -gt $ps ]] || fail "child's start is its parent's"
	[[ $(jget "$child" 'd["duration_ns"] < 0.9 * '"$(jget "$parent" 'd["duration_ns"]')") == True ]] || fail "child's duration is not its own"
	# The flight recorder (every call at --slow-ns=0): the child's events
	# are its own, on its own clock; the parent's 45 mallocs are not there.
	[[ $(jget "$parent" 'sum(1 for e in d["events"] if e["fn"] == "malloc" and e["arg"] == 111)') == 45 ]] ||
		fail "parent's events: $(jget "$parent" 'sum(1 for e in d["events"] if e["fn"] == "malloc" and e["arg"] == 111)') mallocs of 111"
	[[ $(jget "$child" 'sum(1 for e in d["events"] if e["fn"] == "malloc" and e["arg"] == 111)') == 0 ]] ||
		fail "the child's report shows its parent's calls"
	[[ $(jget "$child" 'sum(1 for e in d["events"] if e["fn"] == "malloc" and e["arg"] == 222)') == 7 ]] ||
		fail "the child's own calls are not in its events"
	[[ $(jget "$child" 'all(e["t_ns"] <= d["duration_ns"] for e in d["events"])') == True ]] || fail "child event times not from its fork"
	"$cgoshim" merge c.*.json >merged.json || fail "merge"
	[[ $(sites merged.json count 111) == 45 ]] || fail "merged: $(sites merged.json count 111) blocks of 111, want 45"
	[[ $(sites merged.json count 222) == 7 ]] || fail "merged: $(sites merged.json count 222) blocks of 222, want 7"
	total=0
	for f in c.*.json; do total=$((total + $(jget "$f" 'd["leaks"]["count"] - (d["leaks"]["inherited_count"] if d["parent_pid"] else 0)'))); done
	[[ $(jget merged.json 'd["leaks"]["count"]') == "$total" ]] || fail "merged leaks.count $(jget merged.json 'd["leaks"]["count"]') != $total"
	schema_check c.*.json merged.json
	;;
mode)
	umask 022
	"$cgoshim" -o r.txt -- "$prog" sleep 1 2>err.txt || cat err.txt
	[[ $(stat -c %a r.txt) == 600 ]] || fail "default mode $(stat -c %a r.txt)"
	"$cgoshim" -f openmetrics -e CGOSHIM_OUTPUT_MODE=0644 -o m.prom -- "$prog" sleep 1 2>/dev/null
	[[ $(stat -c %a m.prom) == 644 ]] || fail "CGOSHIM_OUTPUT_MODE=0644 gave $(stat -c %a m.prom)"
	;;
static)
	command -v cc >/dev/null || { echo "SKIP: no cc"; exit 77; }
	printf 'int main(void){return 0;}\n' >s.c
	cc -static s.c -o s 2>/dev/null || { echo "SKIP: no static libc"; exit 77; }
	"$cgoshim" -- ./s 2>err.txt || fail "status"
	[[ $(grep -c "statically linked" err.txt) == 1 ]] || fail "no line about a static program: $(cat err.txt)"
	"$cgoshim" -o r.txt -- "$prog" sleep 1 2>err.txt
	grep -q "statically" err.txt && fail "a dynamic program called static"
	;;
shim-frames)
	need_py
	"$cgoshim" -f json -o d.json -- "$prog" dlopen "$ctorlib" 2>/dev/null || fail "status $?"
	got=$(jget d.json '[ (f["function"], f["module"]) for s in d["leaks"]["sites"] for f in s["frames"] if "libcgoshim" in (f["module"] or "")]')
	[[ $got == "[]" ]] || fail "shim frames in leak stacks: $got"
	[[ $(jget d.json 'any(s["bytes"] == 4321 and any(f["function"] == "main" for f in s["frames"]) for s in d["leaks"]["sites"])') == True ]] ||
		fail "the constructor's leak lost its outer frames"
	;;
placeholder)
	for t in 'x%q.txt' 'x%'; do
		env LD_PRELOAD="$lib" CGOSHIM_OUTPUT="$t" "$prog" sleep 1 2>err.txt
		for i in $(seq 50); do [[ -e $t ]] && break; sleep 0.1; done
		[[ $(grep -c "CGOSHIM_OUTPUT=.*placeholder.*kept as written" err.txt) == 1 ]] || fail "$t: $(cat err.txt)"
		[[ -e $t ]] || fail "$t: the literal name was not used: $(ls)"
		"$cgoshim" -o "$t" -- true 2>/dev/null
		[[ $? -eq 2 ]] || fail "launcher accepted $t"
	done
	;;
schema)
	need_py
	# The schema documents every member: a report with one the schema
	# lacks, or lacking one, fails.
	"$cgoshim" -f json -o s.json -- "$prog" fork 2 1 >/dev/null 2>&1
	schema_check s.json
	"$py" -c "import json; d=json.load(open('s.json')); d['extra']=1; json.dump(d, open('bad1.json','w'))"
	"$py" "$src/tests/unit/check_json.py" bad1.json >/dev/null 2>&1 && fail "an unknown member passed"
	"$py" -c "import json; d=json.load(open('s.json')); del d['leaks']['sites'][0]['inherited_count']; json.dump(d, open('bad2.json','w'))"
	"$py" "$src/tests/unit/check_json.py" bad2.json >/dev/null 2>&1 && fail "a missing member passed"
	grep -q '"oldest_ns"' "$src/docs/report.schema.json" || fail "oldest_ns undocumented"
	;;
*)
	echo "unknown case $case_name"
	exit 99
	;;
esac
[[ $fails -eq 0 ]] && { echo "PASS $case_name"; exit 0; }
exit 1
