#!/usr/bin/env python3
"""plot.py - the slowdown plot of bench/run, as an SVG written by hand.

No dependency: the SVG is plain text. One group per workload, one bar per
configuration (native is the 1x line): the bar goes from 1x to the median
slowdown over the reps, the whisker from min to max, on a log scale, with the
median written above. A configuration whose runs all failed gets a cross,
one where some failed an exclamation mark.

Usage: bench/plot.py [bench/results/compare.json] [OUT.svg]
bench/run imports it and calls write_svg(doc, path).
"""
import json
import math
import os
import sys
from xml.sax.saxutils import escape

COLOURS = {
    "latency": "#1b9e77",
    "full": "#0b5d8c",
    "heaptrack": "#e6ab02",
    "strace": "#d95f02",
    "ltrace": "#c2185b",
    "valgrind": "#7570b3",
}


def title_of(w):
    if "-" in w:
        base, t = w.split("-", 1)
        return ("mixed" if base == "mixed" else "Go cgo", "%s thread%s" % (t, "" if t == "1" else "s"))
    return {"read": ("read", "1 byte"), "ioctl": ("ioctl", "FIONREAD"), "malloc": ("malloc/free", "pairs"),
            "dlsym": ("dlsym", "lookups")}.get(w, (w, ""))


def fmt(x):
    if x >= 100:
        return "%.0f" % x
    if x >= 10:
        return "%.0f" % x
    return "%.1f" % x


def write_svg(doc, path):
    configs = [c for c in doc["configs"] if c != "native"]
    workloads = doc["workloads"]
    s = doc["summary"]
    vals = [s[w][c]["slowdown"][k] for w in workloads for c in configs
            if s[w][c].get("slowdown") for k in ("min", "max")]
    lo = min([1.0] + vals)
    hi = max([10.0] + vals)
    ymin = 10 ** math.floor(math.log10(lo * 0.9))
    ymax = 10 ** math.ceil(math.log10(hi * 1.6))

    W, H = 1240, 600
    left, right, top, bottom = 78, 16, 92, 96
    pw, ph = W - left - right, H - top - bottom
    gw = pw / len(workloads)
    bw = min(18.0, (gw - 10) / len(configs))

    def y(v):
        return top + ph * (1 - (math.log10(v) - math.log10(ymin)) / (math.log10(ymax) - math.log10(ymin)))

    o = []
    add = o.append
    add('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
        'font-family="DejaVu Sans, Helvetica, Arial, sans-serif">' % (W, H, W, H))
    add('<rect width="100%" height="100%" fill="white"/>')
    reps = doc.get("reps", 1)
    add('<text x="%d" y="24" font-size="17" font-weight="bold">Slowdown per operation against native '
        '(log scale): cgoshim and the tools users would pick instead</text>' % left)
    add('<text x="%d" y="44" font-size="12" fill="#444">bar: median of %d interleaved run%s; whisker: min to max; '
        'number: median slowdown (x native time per op); &#215;: every run failed; !: some runs failed</text>'
        % (left, reps, "" if reps == 1 else "s"))
    # legend
    lx = left
    for c in configs:
        add('<rect x="%.1f" y="58" width="14" height="14" fill="%s"/>' % (lx, COLOURS.get(c, "#888")))
        label = doc.get("labels", {}).get(c, c)
        add('<text x="%.1f" y="70" font-size="13">%s</text>' % (lx + 19, escape(label)))
        lx += 19 + 7.6 * len(label) + 22
    # grid and y axis
    d = ymin
    while d <= ymax * 1.0001:
        for m in range(1, 10):
            v = d * m
            if v > ymax * 1.0001:
                break
            yy = y(v)
            if m == 1:
                add('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#bbb" stroke-width="1"/>'
                    % (left, left + pw, yy, yy))
                label = ("%g" % v) if v < 1e4 else "1e%d" % round(math.log10(v))
                add('<text x="%d" y="%.1f" font-size="12" text-anchor="end">%sx</text>' % (left - 6, yy + 4, label))
            else:
                add('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee" stroke-width="1"/>'
                    % (left, left + pw, yy, yy))
        d *= 10
    add('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#000" stroke-width="1.5" stroke-dasharray="6 3"/>'
        % (left, left + pw, y(1), y(1)))
    add('<text x="%d" y="%.1f" font-size="10" text-anchor="end">(native)</text>' % (left - 6, y(1) + 15))
    add('<text transform="translate(18 %.1f) rotate(-90)" font-size="13" text-anchor="middle">'
        'time per op / native time per op</text>' % (top + ph / 2))
    add('<rect x="%d" y="%d" width="%.1f" height="%.1f" fill="none" stroke="#444"/>' % (left, top, pw, ph))
    # groups
    for i, w in enumerate(workloads):
        gx = left + i * gw
        if i:
            add('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#ddd"/>' % (gx, gx, top, top + ph))
        t1, t2 = title_of(w)
        cx = gx + gw / 2
        add('<text x="%.1f" y="%d" font-size="13" text-anchor="middle" font-weight="bold">%s</text>'
            % (cx, top + ph + 20, escape(t1)))
        add('<text x="%.1f" y="%d" font-size="12" text-anchor="middle">%s</text>' % (cx, top + ph + 36, escape(t2)))
        nat = s[w]["native"].get("ns_per_op")
        if nat:
            ns = nat["median"]
            txt = ("%.0f ns" % ns) if ns < 1e4 else ("%.1f us" % (ns / 1e3))
            add('<text x="%.1f" y="%d" font-size="11" text-anchor="middle" fill="#555">native %s</text>'
                % (cx, top + ph + 52, txt))
        x0 = gx + (gw - bw * len(configs)) / 2
        for j, c in enumerate(configs):
            e = s[w][c]
            bx = x0 + j * bw
            col = COLOURS.get(c, "#888")
            sd = e.get("slowdown")
            if not sd:
                if e.get("runs"):
                    yy = y(ymin) - 8
                    add('<text x="%.1f" y="%.1f" font-size="13" text-anchor="middle" fill="%s" '
                        'font-weight="bold">&#215;</text>' % (bx + bw / 2, yy, col))
                    add('<text transform="translate(%.1f %.1f) rotate(-90)" font-size="10" fill="%s">'
                        'failed</text>' % (bx + bw / 2 + 3, yy - 12, col))
                continue
            med = max(sd["median"], ymin)
            y1, ym = y(1), y(med)
            add('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s, %s: %.2fx (%.2f-%.2f)'
                '</title></rect>' % (bx + 1, min(y1, ym), bw - 2, max(abs(y1 - ym), 1.0), col, escape(w),
                                     escape(c), sd["median"], sd["min"], sd["max"]))
            ylo, yhi = y(max(sd["min"], ymin)), y(sd["max"])
            mx = bx + bw / 2
            add('<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#222" stroke-width="1"/>' % (mx, mx, ylo, yhi))
            for yy in (ylo, yhi):
                add('<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#222" stroke-width="1"/>'
                    % (mx - 3, mx + 3, yy, yy))
            ty = min(yhi, ym, y(1)) - 4
            add('<text transform="translate(%.1f %.1f) rotate(-90)" font-size="10.5" fill="#111">%s</text>'
                % (mx + 3.5, ty, fmt(sd["median"])))
            if e.get("failed"):
                add('<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle" fill="%s">!</text>'
                    % (mx, y(ymin) - 4, col))
    m = doc.get("machine", {})
    add('<text x="%d" y="%d" font-size="11" fill="#555">%s. %s on %s CPU%s (%s), Linux %s; load average %s '
        'before the run. Each figure is per op (wall time / ops); slow tools ran fewer ops.</text>'
        % (left, H - 12, escape(doc.get("command", "bench/run")), escape(doc.get("date", "")),
           m.get("nproc", "?"), "" if m.get("nproc") == 1 else "s", escape(m.get("cpu", "?")),
           escape(m.get("kernel", "?")), escape(doc.get("load_before", "?"))))
    add('</svg>')
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "results", "compare.json")
    dst = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "results", "slowdown.svg")
    with open(src) as f:
        write_svg(json.load(f), dst)
    print(dst)


if __name__ == "__main__":
    main()
