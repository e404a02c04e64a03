#!/usr/bin/env python3
"""check_json.py - check a cgoshim JSON report against docs/report.schema.json.

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
import os
import sys

# The schema is the one description of a report (docs/report.schema.json):
# member names, their order, types and bounds come from it.
SCHEMA_PATH = os.environ.get("CGS_REPORT_SCHEMA") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "report.schema.json")
with open(SCHEMA_PATH) as _f:
    SCHEMA = json.load(_f)
DEFS = SCHEMA["$defs"]
TYPES = {"object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,),
         "integer": (int,), "number": (int, float), "null": (type(None),)}


def _type_ok(v, t):
    if t in ("integer", "number") and type(v) is bool:
        return False
    return isinstance(v, TYPES[t])


def STAT_KEYS():
    return [k for k in DEFS["call"]["properties"] if k not in ("fn", "not_timed")]


STAT = STAT_KEYS()

class Checker:
    def schema(self, where, v, sch):
        """A subset of JSON Schema 2020-12 (what report.schema.json uses):
        $ref, const, type, enum, minimum, pattern, properties in order,
        required, additionalProperties false, items."""
        if "$ref" in sch:
            sch = DEFS[sch["$ref"].split("/")[-1]]
        if "const" in sch and v != sch["const"]:
            self.fail(where, f"{v!r:.60} is not {sch['const']!r}")
        if "type" in sch:
            types = sch["type"] if isinstance(sch["type"], list) else [sch["type"]]
            if not any(_type_ok(v, t) for t in types):
                self.fail(where, f"{v!r:.60} is not {'/'.join(types)}")
                return
        if "enum" in sch and v not in sch["enum"]:
            self.fail(where, f"{v!r:.60} not one of {sch['enum']}")
        if "minimum" in sch and isinstance(v, (int, float)) and v < sch["minimum"]:
            self.fail(where, f"{v} < {sch['minimum']}")
        if "pattern" in sch and isinstance(v, str):
            import re
            if not re.search(sch["pattern"], v):
                self.fail(where, f"{v!r:.60} does not match {sch['pattern']}")
        if isinstance(v, dict) and "properties" in sch:
            props = sch["properties"]
            order = [k for k in props if k in v]
            extra = [k for k in v if k not in props]
            missing = [k for k in sch.get("required", []) if k not in v]
            if extra and sch.get("additionalProperties") is False:
                self.fail(where, f"members not in the schema: {extra}")
            if missing:
                self.fail(where, f"members missing: {missing}")
            if [k for k in v if k in props] != order:
                self.fail(where, f"members out of the schema's order: {list(v)}")
            for k in order:
                self.schema(f"{where}.{k}", v[k], props[k])
        if isinstance(v, list) and "items" in sch:
            for j, x in enumerate(v):
                self.schema(f"{where}[{j}]", x, sch["items"])

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
        n = len(self.problems)
        self.schema("top", r, SCHEMA)
        if len(self.problems) > n:
            return
        for i, c in enumerate(r["calls"]):
            self.stat(f"calls[{i}] ({c['fn']})", c)
        for i, t in enumerate(r["targets"]):
            self.stat(f"targets[{i}]", t)
        lk = r["leaks"]
        for k in ("count", "bytes"):
            if lk["shown_" + k] > lk[k] or lk["inherited_" + k] > lk[k]:
                self.fail("leaks", f"shown_{k} or inherited_{k} above {k}")
        for i, s in enumerate(lk["sites"]):
            if s["inherited_count"] > s["count"] or s["inherited_bytes"] > s["bytes"]:
                self.fail(f"leaks.sites[{i}]", "more inherited than live")
            if s["oldest_ns"] > s["newest_ns"]:
                self.fail(f"leaks.sites[{i}]", "oldest_ns after newest_ns")


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
