#!/usr/bin/env python3
"""check_json.py - check a cgoshim JSON report against schema cgoshim/1.

Usage: check_json.py REPORT.json [...]

Each file holds one report per line (a file that several dumps were appended
to is JSON Lines). Checks the exact keys, in order, and their types, and the
invariants a report must keep: quantiles ordered between min and max, buckets
non-empty with le_ns strictly increasing, their counts summing to the count,
the last bucket covering the max, and no NaN or Infinity anywhere. Exits 1
with one line per problem. Standard library only, so the unit tests and the
integration tests can both run it.
"""
import json
import sys

TOP = ["schema", "pid", "exe", "cmdline", "trigger", "final", "final_at", "calls_after_exit", "seq",
       "duration_ns", "interval", "start_unix_ns", "tsc", "options", "shim", "counters", "calls", "targets",
       "target_rows", "leaks", "heap", "recorder", "rings", "events"]
TSC = ["ns_per_tick", "ghz", "constant", "nonstop"]
OPTIONS = ["leaks", "targets", "children", "format", "signal", "unwind", "stack_depth", "top",
           "min_age_ns", "memory", "slow_ns", "ring_events", "numa_topology", "output", "only"]
SHIM = ["bytes", "threads", "go", "signal_dumps", "seccomp"]
COUNTERS = ["untracked_allocs", "unknown_frees", "unknown_sizes", "region_oom", "pool_allocs",
            "guard_calls", "orphan_calls", "stack_overflow", "dlopen_untimed", "dlsym_untimed",
            "dlvsym_untimed", "signals",
            "thread_blocks", "ring_bind_failed", "dumps_coalesced", "forks_unmeasured",
            "unwind_handoffs", "unwind_compared", "unwind_mismatches",
            "seccomp_skipped", "inconsistent_reads"]
STAT = ["count", "errors", "total_ns", "min_ns", "max_ns", "p50_ns", "p90_ns", "p99_ns",
        "p999_ns", "buckets"]
CALL = ["fn", "not_timed"] + STAT
TARGET = ["kind", "target", "group", "paths"] + STAT
TARGET_ROWS = ["limit", "files", "pattern_rows", "grouped", "rest_rows", "rest_paths", "other_calls",
               "paths_unsure"]
LEAKS = ["enabled", "count", "bytes", "shown_count", "shown_bytes", "program_count", "program_bytes",
         "runtime_count", "runtime_bytes", "sites"]
SITE = ["count", "bytes", "oldest_ns", "newest_ns", "cgo", "runtime", "frames"]
FRAME = ["function", "module", "file", "line", "addr"]


class Checker:
    def __init__(self, name):
        self.name = name
        self.problems = []

    def fail(self, where, msg):
        self.problems.append(f"{self.name}: {where}: {msg}")

    def keys(self, where, obj, want):
        if not isinstance(obj, dict):
            self.fail(where, f"not an object: {obj!r:.60}")
            return False
        got = list(obj.keys())
        if got != want:
            self.fail(where, f"keys {got} != {want}")
            return False
        return True

    def uint(self, where, v):
        if type(v) is not int or v < 0:
            self.fail(where, f"not an unsigned integer: {v!r}")
            return False
        return True

    def typed(self, where, v, types):
        if type(v) not in types:
            self.fail(where, f"{v!r:.60} is a {type(v).__name__}")

    def stat(self, where, o):
        for k in STAT[:-1]:
            self.uint(f"{where}.{k}", o[k])
        if not all(type(o[k]) is int for k in STAT[:-1]):
            return
        if o["errors"] > o["count"]:
            self.fail(where, "more errors than calls")
        if o["count"]:
            seq = [o["min_ns"], o["p50_ns"], o["p90_ns"], o["p99_ns"], o["p999_ns"], o["max_ns"]]
            if seq != sorted(seq):
                self.fail(where, f"min <= p50 <= p90 <= p99 <= p999 <= max broken: {seq}")
            # Each of min, max and total is rounded to whole ns on its own:
            # allow one ns per call either way.
            if o["min_ns"] * o["count"] > o["total_ns"] + o["count"] or \
                    o["total_ns"] > o["max_ns"] * o["count"] + o["count"]:
                self.fail(where, "total_ns outside [min * count, max * count]")
        buckets = o["buckets"]
        if not isinstance(buckets, list):
            self.fail(where, "buckets is not a list")
            return
        prev, total = None, 0
        for i, b in enumerate(buckets):
            if not self.keys(f"{where}.buckets[{i}]", b, ["le_ns", "count"]):
                return
            if not (self.uint(f"{where}.buckets[{i}].le_ns", b["le_ns"])
                    and self.uint(f"{where}.buckets[{i}].count", b["count"])):
                return
            if b["count"] == 0:
                self.fail(where, f"empty bucket {i}")
            if prev is not None and b["le_ns"] <= prev:
                self.fail(where, f"le_ns not increasing at bucket {i}")
            prev = b["le_ns"]
            total += b["count"]
        if total != o["count"]:
            self.fail(where, f"buckets sum to {total}, count is {o['count']}")
        if buckets and buckets[-1]["le_ns"] < o["max_ns"]:
            self.fail(where, f"last bucket le_ns {buckets[-1]['le_ns']} < max_ns {o['max_ns']}")

    def report(self, r):
        if not self.keys("top", r, TOP):
            return
        if r["schema"] != "cgoshim/1":
            self.fail("schema", repr(r["schema"]))
        self.typed("pid", r["pid"], (int,))
        for k in ("exe", "cmdline", "trigger"):
            self.typed(k, r[k], (str,))
        if r["trigger"] not in ("signal", "api", "exit", "interval", "http", ""):
            self.fail("trigger", repr(r["trigger"]))
        self.typed("final", r["final"], (bool,))
        if r["final_at"] not in (("", "exit", "gone") if r["final"] else ("",)):
            self.fail("final_at", repr(r["final_at"]))
        self.uint("calls_after_exit", r["calls_after_exit"])
        for k in ("seq", "duration_ns"):
            self.uint(k, r[k])
        self.typed("start_unix_ns", r["start_unix_ns"], (int,))
        if self.keys("tsc", r["tsc"], TSC):
            for k in ("ns_per_tick", "ghz"):
                self.typed(f"tsc.{k}", r["tsc"][k], (int, float))
            for k in ("constant", "nonstop"):
                self.typed(f"tsc.{k}", r["tsc"][k], (bool,))
        if self.keys("options", r["options"], OPTIONS):
            o = r["options"]
            for k in ("leaks", "targets", "children"):
                self.typed(f"options.{k}", o[k], (bool,))
            if o["format"] not in ("text", "json", "folded"):
                self.fail("options.format", repr(o["format"]))
            for k in ("signal", "output", "only"):
                self.typed(f"options.{k}", o[k], (str,))
            for k in ("stack_depth", "top"):
                self.typed(f"options.{k}", o[k], (int,))
            for k in ("min_age_ns", "memory", "slow_ns"):
                self.uint(f"options.{k}", o[k])
        if self.keys("shim", r["shim"], SHIM):
            for k in ("bytes", "threads"):
                self.uint(f"shim.{k}", r["shim"][k])
            for k in ("go", "signal_dumps", "seccomp"):
                self.typed(f"shim.{k}", r["shim"][k], (str,))
        if self.keys("counters", r["counters"], COUNTERS):
            for k in COUNTERS:
                self.uint(f"counters.{k}", r["counters"][k])
        for i, c in enumerate(r["calls"] if isinstance(r["calls"], list) else [None]):
            if self.keys(f"calls[{i}]", c, CALL):
                self.typed(f"calls[{i}].fn", c["fn"], (str,))
                self.uint(f"calls[{i}].not_timed", c["not_timed"])
                self.stat(f"calls[{i}] ({c['fn']})", c)
        for i, t in enumerate(r["targets"] if isinstance(r["targets"], list) else [None]):
            if self.keys(f"targets[{i}]", t, TARGET):
                self.typed(f"targets[{i}].kind", t["kind"], (str,))
                self.typed(f"targets[{i}].target", t["target"], (str,))
                if t["group"] not in ("file", "pattern", "rest"):
                    self.fail(f"targets[{i}].group", repr(t["group"]))
                self.uint(f"targets[{i}].paths", t["paths"])
                self.stat(f"targets[{i}]", t)
        if self.keys("target_rows", r["target_rows"], TARGET_ROWS):
            for k in TARGET_ROWS:
                self.uint(f"target_rows.{k}", r["target_rows"][k])
        lk = r["leaks"]
        if not self.keys("leaks", lk, LEAKS):
            return
        self.typed("leaks.enabled", lk["enabled"], (bool,))
        for k in LEAKS[1:-1]:
            self.uint(f"leaks.{k}", lk[k])
        for i, s in enumerate(lk["sites"] if isinstance(lk["sites"], list) else [None]):
            w = f"leaks.sites[{i}]"
            if not self.keys(w, s, SITE):
                continue
            for k in SITE[:4]:
                self.uint(f"{w}.{k}", s[k])
            self.typed(f"{w}.cgo", s["cgo"], (str, type(None)))
            self.typed(f"{w}.runtime", s["runtime"], (bool,))
            for j, f in enumerate(s["frames"] if isinstance(s["frames"], list) else [None]):
                fw = f"{w}.frames[{j}]"
                if not self.keys(fw, f, FRAME):
                    continue
                for k in ("function", "module", "file"):
                    self.typed(f"{fw}.{k}", f[k], (str, type(None)))
                self.uint(f"{fw}.line", f["line"])
                if not (isinstance(f["addr"], str) and f["addr"].startswith("0x")
                        and all(ch in "0123456789abcdef" for ch in f["addr"][2:]) and len(f["addr"]) > 2):
                    self.fail(f"{fw}.addr", repr(f["addr"]))


def int64(text):
    """An integer every JSON parser can read: within a signed 64-bit one."""
    v = int(text)
    if not -2**63 <= v < 2**63:
        raise ValueError(f"integer {text} does not fit in 64 signed bits (jansson and others refuse it)")
    return v


def no_constants(name):
    raise ValueError(f"{name} is not JSON")


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    problems = []
    for path in argv[1:]:
        with open(path, "rb") as f:
            data = f.read()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            problems.append(f"{path}: not UTF-8: {e}")
            continue
        lines = text.split("\n")
        if lines[-1] != "" or len(lines) < 2:
            problems.append(f"{path}: does not end with a newline")
        for n, line in enumerate(lines[:-1], 1):
            c = Checker(f"{path}:{n}")
            try:
                c.report(json.loads(line, parse_constant=no_constants, parse_int=int64))
            except ValueError as e:
                c.fail("parse", str(e))
            except (KeyError, TypeError) as e:
                c.fail("shape", repr(e))
            problems += c.problems
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
