#!/usr/bin/env python3
"""check_html.py - what a page written by `cgoshim html` holds, for test_cli.c.

Usage: check_html.py html FILE   (the page, or Chromium's --dump-dom of it)
       check_html.py png FILE    (a screenshot)

html: parses FILE with html.parser, checks that every element is closed in
order and that nothing refers outside the page (no http:// or https://, no
src=, every href= a fragment, no url() but fragments or data:, no @import),
and prints one JSON object: the problems found, the histogram plots drawn
(svg.hist, their data-fn), the flame graph frames (data-fn, data-bytes and
their <title>), the timeline's event bars and the page's text.

png: decodes an 8-bit RGB or RGBA PNG (standard library only: zlib and the
five PNG filters) and prints its size, how many pixels are not white and how
many have the exact colour of a histogram bar (#4a7fc1), so the test knows
the plots were painted, not only present in the DOM.

Exit status 0 when the file could be read; the caller judges the numbers.
"""
import html.parser
import json
import re
import struct
import sys
import zlib

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr"}


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.problems = []
        self.hists = []
        self.target_hists = 0
        self.frames = []
        self.events = 0
        self.texts = []
        self.in_frame_title = None
        self.cur_frame = None

    def handle_starttag(self, tag, attrs):
        self._start(tag, attrs, closed=False)

    def handle_startendtag(self, tag, attrs):
        self._start(tag, attrs, closed=True)

    def _start(self, tag, attrs, closed):
        a = dict(attrs)
        for k, v in attrs:
            v = v or ""
            if k in ("src", "action", "data", "poster", "srcset"):
                self.problems.append(f"<{tag} {k}={v!r}>: refers to another resource")
            if k in ("href", "xlink:href") and not v.startswith("#"):
                self.problems.append(f"<{tag} {k}={v!r}>: link out of the page")
            if k == "style":
                self._css(v)
        if tag in ("script", "iframe", "object", "embed", "link", "img"):
            self.problems.append(f"<{tag}> in the page")
        cls = (a.get("class") or "").split()
        if tag == "svg" and "hist" in cls:
            if "target" in cls:
                self.target_hists += 1
            else:
                self.hists.append(a.get("data-fn"))
        if tag == "g" and "frame" in cls:
            self.cur_frame = {"fn": None, "bytes": None, "title": ""}
            self.frames.append(self.cur_frame)
        if tag == "title" and self.cur_frame is not None and "frame" in self._classes_on_stack():
            self.in_frame_title = self.cur_frame
        if tag == "rect" and self.cur_frame is not None and "data-fn" in a:
            self.cur_frame["fn"] = a["data-fn"]
            self.cur_frame["bytes"] = int(a.get("data-bytes", "0"))
        if tag == "rect" and "event" in cls:
            self.events += 1
        if tag not in VOID and not closed:
            self.stack.append((tag, cls))

    def _classes_on_stack(self):
        return {c for _, cls in self.stack for c in cls}

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack:
            self.problems.append(f"</{tag}> closes nothing")
            return
        top, cls = self.stack.pop()
        if top != tag:
            self.problems.append(f"</{tag}> closes <{top}>")
        if tag == "title":
            self.in_frame_title = None
        if tag == "g" and "frame" in cls:
            self.cur_frame = None

    def handle_data(self, data):
        if self.in_frame_title is not None:
            self.in_frame_title["title"] += data
        if self.stack and self.stack[-1][0] == "style":
            self._css(data)
        self.texts.append(data)

    def _css(self, text):
        for m in re.finditer(r"url\(\s*['\"]?([^'\")]*)", text):
            if not (m.group(1).startswith("#") or m.group(1).startswith("data:")):
                self.problems.append(f"url({m.group(1)}) in a style")
        if "@import" in text:
            self.problems.append("@import in a style")


def check_html(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    p = Page()
    p.feed(text)
    p.close()
    for scheme in ("http://", "https://", "ftp://", "//cdn"):
        if scheme in text:
            p.problems.append(f"{scheme} in the page")
    if p.stack:
        p.problems.append(f"unclosed elements at the end: {[t for t, _ in p.stack][-5:]}")
    if not text.lstrip().lower().startswith("<!doctype html") and "<html" not in text[:200].lower():
        p.problems.append("does not start like an HTML document")
    print(json.dumps({"problems": p.problems, "hists": p.hists, "target_hists": p.target_hists,
                      "frames": p.frames, "events": p.events, "text": " ".join(p.texts)}))


def check_png(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        print(json.dumps({"error": "not a PNG"}))
        return
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    if w is None or depth != 8 or ctype not in (2, 6):
        print(json.dumps({"error": f"unsupported PNG (depth {depth}, colour type {ctype})"}))
        return
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    nonwhite = bar = 0
    pos = 0
    for _ in range(h):
        ftype = raw[pos]
        line = bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = prev[i]
            ul = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + left) & 255
            elif ftype == 2:
                line[i] = (line[i] + up) & 255
            elif ftype == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 255
            elif ftype == 4:
                pa, pb, pc = abs(up - ul), abs(left - ul), abs(left + up - 2 * ul)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else ul
                line[i] = (line[i] + pred) & 255
        for i in range(0, stride, bpp):
            r, g, b = line[i], line[i + 1], line[i + 2]
            if (r, g, b) != (255, 255, 255):
                nonwhite += 1
            if (r, g, b) == (0x4a, 0x7f, 0xc1):
                bar += 1
        prev = line
    print(json.dumps({"width": w, "height": h, "nonwhite": nonwhite, "bar_pixels": bar}))


def main(argv):
    if len(argv) != 3 or argv[1] not in ("html", "png"):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    (check_html if argv[1] == "html" else check_png)(argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
