#!/usr/bin/env bash
# test_go_versions.sh - Go frames past runtime.asmcgocall, with names and
# lines, on one Go release, with symbols and stripped; and a layout the shim
# does not know. Usage: test_go_versions.sh GOROOT_BIN_GO STACKPROG_DIR
#
# tests/integration/go/stackprog leaks 7 x 77 bytes through C.CString,
# 5 x 55 through C.my_func and 3 x 33 through C.my_func_noinline, each from
# its own Go function. It is built three ways:
#   symbols   a plain `go build`: .symtab and DWARF;
#   stripped  -ldflags='-s -w': neither; names come from .gopclntab;
#   unknown   the stripped binary with one instruction of runtime.asmcgocall
#             re-encoded (sub %rdx,%rdi as 48 2b fa instead of 48 29 d7):
#             the program behaves the same, but the code no longer matches
#             what the shim reads its layout from, as a future Go release
#             could do. The report must say so and stop at asmcgocall.
# For each: exit status and stdout as without the shim; a final report; for
# symbols and stripped, each site's frames reach the Go function that made
# the cgo call, named, with main.go and the line of the call, and the status
# says frames are followed; for unknown, no frame follows runtime.asmcgocall.
set -u -o pipefail
go=${1:?usage: $0 GO STACKPROG_DIR}
src=${2:?usage: $0 GO STACKPROG_DIR}
if [ ! -x "$go" ]; then
	echo "SKIP: $go not installed (scripts/install-deps.sh installs it)"
	exit 77
fi
tmp=$(mktemp -d /tmp/cgoshim-goversions-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cp -r "$src"/. "$tmp/src"
export GOCACHE=$tmp/gocache GOFLAGS=-mod=mod CGO_ENABLED=1 GO111MODULE=on
(cd "$tmp/src" && "$go" build -buildvcs=false -o "$tmp/symbols" . &&
	"$go" build -buildvcs=false -ldflags='-s -w' -o "$tmp/stripped" .) || { echo "FAIL: go build"; exit 1; }
if readelf -S "$tmp/stripped" | grep -qE '\.symtab|\.debug_info'; then
	echo "FAIL: the stripped binary still has a symbol table or DWARF"; exit 1
fi
python3 - "$tmp/stripped" "$tmp/unknown" <<'PY' || exit 1
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
pat = bytes.fromhex('488b7f084829d7')  # mov 8(%rdi),%rdi; sub %rdx,%rdi
if b.count(pat) != 1:
    print("FAIL: runtime.asmcgocall's g.stack.hi load found %d times" % b.count(pat)); sys.exit(1)
i = b.find(pat) + 4
b[i:i + 3] = bytes.fromhex('482bfa')     # sub %rdx,%rdi, other encoding
open(sys.argv[2], 'wb').write(b)
PY
chmod +x "$tmp/unknown"
lines=$(grep -n 'C.CString(\|C.my_func(55)\|C.my_func_noinline(' "$src/main.go" | cut -d: -f1 | tr '\n' ' ')
fail=0
for kind in symbols stripped unknown; do
	"$tmp/$kind" >"$tmp/out.plain" 2>"$tmp/err.plain"; plain=$?
	mkdir "$tmp/r.$kind"
	# The runtime sites are checked here: the built-in suppressions
	# (issue 18) would take the loader's and newm's blocks out.
	CGOSHIM_SUPPRESS_DEFAULTS=0 CGOSHIM_FORMAT=json CGOSHIM_OUTPUT="$tmp/r.$kind/r.%p.json" LD_PRELOAD="$CGOSHIM_TEST_LIB" \
		"$tmp/$kind" >"$tmp/out.shim" 2>"$tmp/err.shim"; shim=$?
	for i in $(seq 1 1200); do ls "$tmp/r.$kind"/r.*.json >/dev/null 2>&1 && break; sleep 0.05; done
	sleep 0.2
	[ "$plain" = "$shim" ] || { echo "FAIL: $kind: exit status $shim, without the shim $plain"; fail=1; }
	cmp -s "$tmp/out.plain" "$tmp/out.shim" || { echo "FAIL: $kind: stdout differs"; fail=1; }
	python3 - "$tmp/r.$kind" "$kind" $lines <<'PY' || fail=1
import glob, json, sys
d, kind = sys.argv[1], sys.argv[2]
lines = [int(x) for x in sys.argv[3:6]]
files = glob.glob(d + "/r.*.json")
if len(files) != 1:
    print("FAIL: %s: %d reports" % (kind, len(files))); sys.exit(1)
r = json.load(open(files[0]))
status = r["shim"]["go"]
print("%s: go: %s" % (kind, status))
ok = r["final"] or print("FAIL: not final")
want = [(7, 77, "main.leakStrings", lines[0]), (5, 55, "main.leakMyFunc", lines[1]),
        (3, 33, "main.leakNoinline", lines[2])]
for count, size, fn, line in want:
    site = [s for s in r["leaks"]["sites"] if s["count"] == count and s["bytes"] == count * size]
    if len(site) != 1:
        print("FAIL: %s: no single site of %d x %d bytes" % (kind, count, size)); ok = False; continue
    frames = site[0]["frames"]
    names = [f["function"] or "?" for f in frames]
    print("  %d x %d: %s" % (count, size, " < ".join(
        "%s:%s" % (f["function"] or f.get("addr", "?"), f["line"]) for f in frames)))
    acc = [i for i, n in enumerate(names) if n.startswith("runtime.asmcgocall")]
    if len(acc) != 1:
        print("FAIL: %s: %s does not end its C part in runtime.asmcgocall" % (kind, fn)); ok = False; continue
    if kind == "unknown":
        if acc[0] != len(frames) - 1:
            print("FAIL: unknown layout: frames after runtime.asmcgocall:", names[acc[0] + 1:]); ok = False
        continue
    caller = [f for f in frames if f["function"] == fn]
    if not caller:
        print("FAIL: %s: no frame names %s" % (kind, fn)); ok = False; continue
    f = caller[0]
    if not (f["file"] or "").endswith("/main.go") or f["line"] != line:
        print("FAIL: %s: %s at %s:%s, want main.go:%d" % (kind, fn, f["file"], f["line"], line)); ok = False
    if names[acc[0] + 1] != "runtime.cgocall" or "main.main" not in names:
        print("FAIL: %s: the Go frames are not cgocall ... main.main:" % kind, names[acc[0] + 1:]); ok = False
# The loader's blocks for live threads (each M's thread storage) are kept
# apart: the program's totals are exactly what stackprog leaks.
lk = r["leaks"]
prog = sum(c for c, _, _, _ in want), sum(c * z for c, z, _, _ in want)
# (With an unknown layout a thread start record of runtime.newm that is in
# flight at the exit can count as the program's: the stack that would say
# so stops at asmcgocall. So that check is for known layouts.)
if kind != "unknown" and (lk["program_count"], lk["program_bytes"]) != prog:
    print("FAIL: %s: program's leaks %d / %d bytes, want %d / %d" % (kind, lk["program_count"], lk["program_bytes"], *prog)); ok = False
rt = [s for s in lk["sites"] if s["runtime"]]
if not rt or sum(s["bytes"] for s in rt) != lk["runtime_bytes"]:
    print("FAIL: %s: no runtime sites, or they do not add up to runtime_bytes" % kind); ok = False
for s in rt:
    if "ld-" not in (s["frames"][0]["module"] or "") and not any(
            f["function"] in ("runtime.newm", "runtime.newm1") for f in s["frames"]):
        print("FAIL: %s: a runtime site is neither the loader's nor runtime.newm's:" % kind, s["frames"][0]); ok = False
if kind == "unknown":
    if "not recognised" not in status:
        print("FAIL: the report does not say the layout is unknown:", status); ok = False
elif "followed" not in status:
    print("FAIL: %s: Go frames not followed: %s" % (kind, status)); ok = False
sys.exit(0 if ok else 1)
PY
done
# cgoshim diff's leak gate counts the program's leaks only: a NEW report
# whose loader-held blocks grew by 1 MiB passes --max-leak-growth=0.
if [ -n "${CGOSHIM_TEST_LAUNCHER:-}" ]; then
	base=$(ls "$tmp"/r.symbols/r.*.json)
	python3 - "$base" "$tmp/grown.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
site = dict([s for s in r["leaks"]["sites"] if s["runtime"]][0])
site["bytes"] += 1 << 20
site["frames"] = site["frames"] + [{"addr": "0x1", "function": "extra_thread", "module": None, "file": None, "line": 0}]
r["leaks"]["sites"].append(site)
for k in ("count", "shown_count", "runtime_count"):
    r["leaks"][k] += site["count"]
for k in ("bytes", "shown_bytes", "runtime_bytes"):
    r["leaks"][k] += site["bytes"]
json.dump(r, open(sys.argv[2], "w"))
PY
	"$CGOSHIM_TEST_LAUNCHER" diff "$base" "$tmp/grown.json" --max-leak-growth=0 >"$tmp/diff.out" 2>&1 ||
		{ echo "FAIL: cgoshim diff counts the loader's blocks as leak growth:"; cat "$tmp/diff.out"; fail=1; }
fi
if [ $fail = 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $fail
