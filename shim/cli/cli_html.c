/* cli_html.c - "cgoshim html REPORT.json > report.html": one self-contained
 * HTML page that draws a JSON report.
 *
 * The page loads nothing: styles are inline and every picture is inline SVG
 * built here, so it opens from a mail attachment or a CI artifact store with
 * no network and no script. Hovering a mark shows its SVG <title>.
 *
 *   Summary      the header (program, pid or merged pids, trigger, duration),
 *                a table of calls with count, errors, total and quantiles,
 *                the per-file table, the leak totals and non-zero counters.
 *   Histograms   one plot per function (<svg class="hist" data-fn=...>):
 *                a bar per histogram bucket, from its lower bound to its last
 *                value on a log-scale time axis in decades, bar height the
 *                share of calls (linear; a non-empty bucket is never drawn
 *                lower than 2 px, so a lone slow call stays visible), with
 *                p50, p99 and p99.9 marked.
 *   Leaks        an icicle graph (a flame graph with the root on top) of the
 *                leak sites: the outermost frame under the root, the
 *                allocating function at the bottom; a frame's width is the
 *                live bytes allocated under it. Frames merge by function
 *                name; the title lists function, file:line, bytes and blocks.
 *   Timeline     when the report has "events" (the slow calls the flight
 *                recorder kept): one lane per thread, a bar per call from its
 *                start for its duration (at least 2 px wide), coloured by
 *                function, and a table of the slowest. A report without the
 *                member (older, or recorder off) says so.
 *
 * The SVG carries class and data- attributes (hist, data-fn, frame,
 * event) so a test can count what was drawn. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "common.h"

#define HIST_W 760   /* plot area of a histogram, px */
#define HIST_H 150
#define HIST_ML 56   /* margins */
#define HIST_MR 16
#define HIST_MT 18
#define HIST_MB 30
#define FLAME_W 1200
#define FLAME_ROW 18
#define TL_W 1100
#define TL_ML 110
#define TL_LANE 18
#define TL_MAX_EVENTS 5000
#define TL_MAX_LANES 64

static FILE *out;

/* ---- Output helpers ----------------------------------------------------- */

static void esc(const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default: fputc(*s, out);
		}
	}
}

static const char *ns_s(uint64_t ns)
{
	static char ring[8][32];
	static int k;
	k = (k + 1) % 8;
	return cgs_cli_ns(ns, ring[k], sizeof(ring[k]));
}

static const char *bytes_s(double b)
{
	static char ring[8][32];
	static int k;
	k = (k + 1) % 8;
	return cgs_cli_bytes(b, ring[k], sizeof(ring[k]));
}

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static const char css[] =
	"body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#222;"
	"background:#fff;max-width:1280px}\n"
	"h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}\n"
	".meta{color:#555;margin:0}.meta b{color:#222}nav a{margin-right:14px}\n"
	"table{border-collapse:collapse;margin:6px 0}th,td{padding:3px 10px;text-align:right;"
	"border-bottom:1px solid #eee;white-space:nowrap}th{background:#f4f4f4}\n"
	"td.l,th.l{text-align:left}td.path{max-width:520px;overflow:hidden;text-overflow:ellipsis}\n"
	".note{color:#666;font-size:13px}\n"
	"figure{margin:10px 0 18px}figcaption{font-weight:600;margin-bottom:2px}\n"
	"figcaption span{font-weight:400;color:#555}\n"
	"svg text{font:11px sans-serif;fill:#333}svg .axis{stroke:#888;stroke-width:1}\n"
	"svg text.minor{fill:#888}svg .grid{stroke:#eee;stroke-width:1}svg .bar{fill:#4a7fc1}svg .bar:hover{fill:#f08a24}\n"
	"svg .q{stroke-width:1.5;stroke-dasharray:4 3}svg .q50{stroke:#2a9d3a}svg .q99{stroke:#d9822b}\n"
	"svg .q999{stroke:#c0392b}svg .frame rect{stroke:#fff;stroke-width:.5}\n"
	"svg .frame:hover rect{stroke:#000;stroke-width:1}svg .frame text{font-size:11px;fill:#000;"
	"pointer-events:none}\nsvg .event:hover{stroke:#000}svg .lane{fill:#fafafa}\n"
	".legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:10px;"
	"height:10px;margin-right:4px;vertical-align:middle}\n";

/* ---- Header and tables -------------------------------------------------- */

static void header(const json_t *r, const char *path)
{
	const char *exe = cgs_cli_str(r, "exe");
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"generator\" content=\"cgoshim html\">\n<title>cgoshim report: ", out);
	esc(*exe ? exe : path);
	fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header>\n<h1>cgoshim report: ", css);
	const char *base = strrchr(exe, '/');
	esc(*exe ? (base ? base + 1 : exe) : path);
	fputs("</h1>\n<p class=\"meta\">", out);
	const json_t *merged = json_object_get(r, "merged");
	if (json_is_array(merged) && json_array_size(merged)) {
		fprintf(out, "<b>merged</b> from %zu processes (pid", json_array_size(merged));
		size_t i;
		const json_t *p;
		json_array_foreach(merged, i, p) {
			if (i == 12) {
				fputs(" ...", out);
				break;
			}
			fprintf(out, " %" JSON_INTEGER_FORMAT, json_integer_value(p));
		}
		fputs(")", out);
	} else {
		fprintf(out, "pid <b>%" JSON_INTEGER_FORMAT "</b>", json_integer_value(json_object_get(r, "pid")));
	}
	if (*exe) {
		fputs(" &middot; <b>", out);
		esc(exe);
		fputs("</b>", out);
	}
	const char *cmd = cgs_cli_str(r, "cmdline");
	if (*cmd) {
		fputs(" &middot; <code>", out);
		esc(cmd);
		fputs("</code>", out);
	}
	fputs("<br>", out);
	fprintf(out, "%s report", json_is_true(json_object_get(r, "final")) ? "final" : "live");
	const char *trig = cgs_cli_str(r, "trigger");
	if (*trig) {
		fputs(" (", out);
		esc(trig);
		fputs(")", out);
	}
	fprintf(out, " &middot; ran %s", ns_s(cgs_cli_u64(r, "duration_ns")));
	const json_t *start = json_object_get(r, "start_unix_ns");
	if (json_is_integer(start) && json_integer_value(start) > 0) {
		time_t t = (time_t)(json_integer_value(start) / 1000000000);
		struct tm tm;
		char when[64];
		if (gmtime_r(&t, &tm) && strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm))
			fprintf(out, " &middot; started %s", when);
	}
	double ghz = json_number_value(json_object_get(json_object_get(r, "tsc"), "ghz"));
	if (ghz > 0)
		fprintf(out, " &middot; TSC %.3g GHz", ghz);
	fputs(" &middot; from <code>", out);
	esc(path);
	fputs("</code></p>\n</header>\n<nav><a href=\"#summary\">Summary</a><a href=\"#histograms\">"
	      "Histograms</a><a href=\"#leaks\">Leaks</a><a href=\"#timeline\">Slow calls</a></nav>\n", out);
}

static void stat_cells(const json_t *c)
{
	uint64_t count = cgs_cli_u64(c, "count");
	/* A calls row's dl calls that were not timed count too (README). */
	uint64_t untimed = json_is_integer(json_object_get(c, "not_timed")) ? cgs_cli_u64(c, "not_timed") : 0;
	if (untimed)
		fprintf(out, "<td>%" PRIu64 " (%" PRIu64 " not timed)</td>", count + untimed, untimed);
	else
		fprintf(out, "<td>%" PRIu64 "</td>", count);
	fprintf(out, "<td>%" PRIu64 "</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
		"<td>%s</td><td>%s</td><td>%s</td><td>%s</td>",
		cgs_cli_u64(c, "errors"), ns_s(cgs_cli_u64(c, "total_ns")),
		ns_s(count ? cgs_cli_u64(c, "total_ns") / count : 0), ns_s(cgs_cli_u64(c, "min_ns")),
		ns_s(cgs_cli_u64(c, "p50_ns")), ns_s(cgs_cli_u64(c, "p90_ns")), ns_s(cgs_cli_u64(c, "p99_ns")),
		ns_s(cgs_cli_u64(c, "p999_ns")), ns_s(cgs_cli_u64(c, "max_ns")));
}

static const char stat_head[] =
	"<th>count</th><th>errors</th><th>total</th><th>mean</th><th>min</th><th>p50</th><th>p90</th>"
	"<th>p99</th><th>p99.9</th><th>max</th>";

/* Target rows past the limit of their kind, summed into one row per kind
 * (a JSON report bounds its rows already; an older or merged one may not). */
#define MAX_KINDS 8

struct rest {
	const char *kind;
	uint64_t shown;        /* rows of the kind shown so far */
	uint64_t rows, paths, count, errors, total, min, max;
};

static size_t target_limit(const json_t *r)
{
	uint64_t limit = cgs_cli_u64(json_object_get(r, "target_rows"), "limit");
	return limit ? (size_t)limit : 30;
}

static uint64_t target_paths(const json_t *t)
{
	return json_is_integer(json_object_get(t, "paths")) ? cgs_cli_u64(t, "paths") : 1;
}

/* Whether target t gets its own row (the first `limit` of its kind); if not,
 * it is added to its kind's rest. */
static bool target_shown(const json_t *t, struct rest *rest, size_t limit)
{
	const char *kind = cgs_cli_str(t, "kind");
	size_t k = 0;
	while (k < MAX_KINDS && rest[k].kind && strcmp(rest[k].kind, kind))
		k++;
	if (k == MAX_KINDS)
		k = MAX_KINDS - 1; /* more kinds than the shim has: share the last */
	if (!rest[k].kind)
		rest[k].kind = kind;
	if (rest[k].shown < limit) {
		rest[k].shown++;
		return true;
	}
	if (!rest[k].rows)
		rest[k].min = UINT64_MAX;
	uint64_t count = cgs_cli_u64(t, "count");
	rest[k].rows++;
	rest[k].paths += target_paths(t);
	rest[k].count += count;
	rest[k].errors += cgs_cli_u64(t, "errors");
	rest[k].total += cgs_cli_u64(t, "total_ns");
	if (count && cgs_cli_u64(t, "min_ns") < rest[k].min)
		rest[k].min = cgs_cli_u64(t, "min_ns");
	if (cgs_cli_u64(t, "max_ns") > rest[k].max)
		rest[k].max = cgs_cli_u64(t, "max_ns");
	return false;
}

static void summary(const json_t *r)
{
	fputs("<section id=\"summary\">\n<h2>Summary</h2>\n", out);
	const json_t *calls = json_object_get(r, "calls");
	if (!json_array_size(calls)) {
		fputs("<p class=\"note\">No interposed function was called.</p>\n", out);
	} else {
		fprintf(out, "<table class=\"summary\">\n<tr><th class=\"l\">function</th>%s</tr>\n", stat_head);
		size_t i;
		const json_t *c;
		json_array_foreach(calls, i, c) {
			fputs("<tr><td class=\"l\"><a href=\"#hist-", out);
			fprintf(out, "%zu\">", i);
			esc(cgs_cli_str(c, "fn"));
			fputs("</a></td>", out);
			stat_cells(c);
			fputs("</tr>\n", out);
		}
		fputs("</table>\n<p class=\"note\">Quantiles come from log-linear histograms and are within "
		      "1.6% of the exact value; min, max and total are exact.</p>\n", out);
	}
	const json_t *targets = json_object_get(r, "targets");
	if (json_array_size(targets)) {
		fprintf(out, "<h3>By file</h3>\n<table class=\"targets\">\n<tr><th class=\"l\">kind</th>"
			"<th class=\"l\">target</th><th>paths</th>%s</tr>\n", stat_head);
		size_t i;
		const json_t *t;
		struct rest rest[MAX_KINDS] = { 0 };
		size_t limit = target_limit(r);
		json_array_foreach(targets, i, t) {
			if (!target_shown(t, rest, limit))
				continue;
			fputs("<tr><td class=\"l\">", out);
			esc(cgs_cli_str(t, "kind"));
			fputs("</td><td class=\"l path\" title=\"", out);
			esc(cgs_cli_str(t, "target"));
			fputs("\">", out);
			esc(cgs_cli_str(t, "target"));
			fprintf(out, "</td><td>%" PRIu64 "</td>", target_paths(t));
			stat_cells(t);
			fputs("</tr>\n", out);
		}
		uint64_t rows = 0;
		for (size_t k = 0; k < MAX_KINDS && rest[k].kind; k++) {
			if (!rest[k].rows)
				continue;
			rows += rest[k].rows;
			fputs("<tr><td class=\"l\">", out);
			esc(rest[k].kind);
			fprintf(out, "</td><td class=\"l path\">(rest: %" PRIu64 " rows)</td><td>%" PRIu64 "</td>"
				"<td>%" PRIu64 "</td><td>%" PRIu64 "</td><td>%s</td>",
				rest[k].rows, rest[k].paths, rest[k].count, rest[k].errors, ns_s(rest[k].total));
			fprintf(out, "<td>%s</td>", ns_s(rest[k].count ? rest[k].total / rest[k].count : 0));
			fprintf(out, "<td>%s</td><td>-</td><td>-</td><td>-</td><td>-</td><td>%s</td></tr>\n",
				ns_s(rest[k].min == UINT64_MAX ? 0 : rest[k].min), ns_s(rest[k].max));
		}
		fputs("</table>\n", out);
		const json_t *tr = json_object_get(r, "target_rows");
		uint64_t grouped = cgs_cli_u64(tr, "grouped"), rest_rows = cgs_cli_u64(tr, "rest_rows");
		if (grouped || rest_rows || rows)
			fprintf(out, "<p class=\"note\">At most %zu rows per kind: %" PRIu64 " files merged by path "
				"pattern (<code>*</code> for runs of digits, hex or random characters) and %" PRIu64
				" rows summed into <i>(rest)</i> by the report, %" PRIu64 " more rows summed here. "
				"Rows add up to every call.</p>\n",
				limit, grouped, rest_rows, rows);
	}
	const json_t *leaks = json_object_get(r, "leaks");
	if (json_is_false(json_object_get(leaks, "enabled")))
		fputs("<p>Leak tracking was off (CGOSHIM_LEAKS=0).</p>\n", out);
	else
		fprintf(out, "<p><b>Live C heap</b> at the time of the report: %" PRIu64 " blocks, %s, from %zu "
			"allocation sites (<a href=\"#leaks\">flame graph</a>).</p>\n",
			cgs_cli_u64(leaks, "count"), bytes_s((double)cgs_cli_u64(leaks, "bytes")),
			json_array_size(json_object_get(leaks, "sites")));
	const json_t *heap = json_object_get(r, "heap");
	if (json_is_true(json_object_get(heap, "enabled"))) {
		uint64_t allocs = cgs_cli_u64(heap, "allocs"), temps = cgs_cli_u64(heap, "temporary");
		fprintf(out, "<p id=\"heap\"><b>Heap over the whole run</b>: %" PRIu64 " allocations, %" PRIu64
			" frees, %s allocated; %" PRIu64 " temporary (%.1f%%). <b>Peak</b>: %s live at +",
			allocs, cgs_cli_u64(heap, "frees"), bytes_s((double)cgs_cli_u64(heap, "bytes_allocated")), temps,
			allocs ? 100.0 * (double)temps / (double)allocs : 0.0,
			bytes_s((double)cgs_cli_u64(heap, "peak_bytes")));
		char nsb[32];
		fputs(cgs_cli_ns(cgs_cli_u64(heap, "peak_ns"), nsb, sizeof(nsb)), out);
		const json_t *ps = json_array_get(json_object_get(heap, "peak_sites"), 0);
		if (ps) {
			char fb[512];
			fputs(", held most by ", out);
			esc(cgs_cli_frame_name(json_array_get(json_object_get(ps, "frames"), 0), fb, sizeof(fb)));
			fprintf(out, " (%s)", bytes_s((double)cgs_cli_u64(ps, "bytes")));
		}
		fputs(".</p>\n", out);
	}
	const json_t *counters = json_object_get(r, "counters");
	const char *key;
	const json_t *val;
	bool any = false;
	json_object_foreach((json_t *)counters, key, val) {
		if (!json_is_integer(val) || json_integer_value(val) == 0)
			continue;
		if (!any)
			fputs("<table class=\"counters\"><tr><th class=\"l\">counter</th><th>value</th></tr>\n", out);
		any = true;
		fputs("<tr><td class=\"l\">", out);
		esc(key);
		fprintf(out, "</td><td>%" JSON_INTEGER_FORMAT "</td></tr>\n", json_integer_value(val));
	}
	if (any)
		fputs("</table>\n<p class=\"note\">Non-zero counters of the shim (see the README, "
		      "\"Reports\").</p>\n", out);
	fputs("</section>\n", out);
}

/* ---- Histograms --------------------------------------------------------- */

static double lx(double v, double d0, double d1)
{
	if (v < 1)
		v = 1;
	return HIST_ML + (log10(v) - d0) / (d1 - d0) * HIST_W;
}

static void decade_label(int d, char *buf, size_t cap)
{
	static const char *const unit[] = { "ns", "us", "ms", "s" };
	int u = d / 3 > 3 ? 3 : d / 3;
	double v = pow(10, d - 3 * u);
	snprintf(buf, cap, "%g%s", v, unit[u]);
}

static void hist_plot(const json_t *c, double rate, size_t idx, bool target)
{
	const json_t *buckets = json_object_get(c, "buckets");
	size_t nb = json_array_size(buckets);
	uint64_t count = cgs_cli_u64(c, "count");
	uint64_t total = 0, top = 0;
	double lo_min = INFINITY, hi_max = 0;
	size_t i;
	const json_t *b;
	json_array_foreach(buckets, i, b) {
		uint64_t le = cgs_cli_u64(b, "le_ns"), n = cgs_cli_u64(b, "count");
		total += n;
		if (n > top)
			top = n;
		double lo = cgs_cli_bucket_lo(le, rate);
		if (lo < lo_min)
			lo_min = lo;
		if (le + rate > hi_max)
			hi_max = (double)le + rate;
	}
	fprintf(out, "<figure id=\"%s-%zu\">\n<figcaption>", target ? "thist" : "hist", idx);
	if (target) {
		esc(cgs_cli_str(c, "kind"));
		fputs(" ", out);
		esc(cgs_cli_str(c, "target"));
	} else {
		esc(cgs_cli_str(c, "fn"));
	}
	fprintf(out, " <span>%" PRIu64 " call%s &middot; p50 %s &middot; p99 %s &middot; p99.9 %s &middot; "
		"max %s</span></figcaption>\n", count, count == 1 ? "" : "s", ns_s(cgs_cli_u64(c, "p50_ns")),
		ns_s(cgs_cli_u64(c, "p99_ns")), ns_s(cgs_cli_u64(c, "p999_ns")), ns_s(cgs_cli_u64(c, "max_ns")));
	if (!nb || !total) {
		fputs("<p class=\"note\">No buckets in the report.</p>\n</figure>\n", out);
		return;
	}
	int d0 = (int)floor(log10(lo_min < 1 ? 1 : lo_min));
	int d1 = (int)ceil(log10(hi_max < 10 ? 10 : hi_max));
	if (d1 <= d0)
		d1 = d0 + 1;
	int W = HIST_ML + HIST_W + HIST_MR, H = HIST_MT + HIST_H + HIST_MB;
	fprintf(out, "<svg class=\"hist%s\" role=\"img\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" ",
		target ? " target" : "", W, H, W, H);
	if (target) {
		fputs("data-kind=\"", out);
		esc(cgs_cli_str(c, "kind"));
		fputs("\" data-target=\"", out);
		esc(cgs_cli_str(c, "target"));
	} else {
		fputs("data-fn=\"", out);
		esc(cgs_cli_str(c, "fn"));
	}
	fprintf(out, "\" data-buckets=\"%zu\" data-count=\"%" PRIu64 "\">\n", nb, total);
	/* Grid and axes. */
	int y0 = HIST_MT + HIST_H;
	for (int d = d0; d <= d1; d++) {
		for (int m = 1; m < 10; m++) {
			double v = m * pow(10, d);
			if (log10(v) > d1 + 1e-9)
				break;
			double x = lx(v, d0, d1);
			if (m == 1) {
				char lab[32];
				decade_label(d, lab, sizeof(lab));
				fprintf(out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
					"<line class=\"axis\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
					"<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
					x, HIST_MT, x, y0, x, y0, x, y0 + 6, x, y0 + 18, lab);
			} else {
				fprintf(out, "<line class=\"axis\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x, y0,
					x, y0 + 3);
				/* Few decades: 2 and 5 are labelled too. */
				if (d1 - d0 <= 2 && (m == 2 || m == 5)) {
					char lab[32];
					decade_label(d, lab, sizeof(lab));
					char *u = lab;
					while (*u && (*u == '.' || (*u >= '0' && *u <= '9')))
						u++;
					fprintf(out, "<text class=\"minor\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">"
						"%g%s</text>", x, y0 + 18, m * atof(lab), u);
				}
			}
		}
	}
	fprintf(out, "\n<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
		"<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n",
		HIST_ML, y0, HIST_ML + HIST_W, y0, HIST_ML, HIST_MT, HIST_ML, y0);
	fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.3g%%</text>"
		"<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>"
		"<text x=\"%d\" y=\"%d\" text-anchor=\"end\">calls</text>\n",
		HIST_ML - 4, HIST_MT + 4, 100.0 * (double)top / (double)total, HIST_ML - 4, y0, HIST_ML - 4,
		HIST_MT + HIST_H / 2);
	/* Bars. */
	fprintf(out, "<g class=\"bars\">\n");
	uint64_t cum = 0;
	json_array_foreach(buckets, i, b) {
		uint64_t le = cgs_cli_u64(b, "le_ns"), n = cgs_cli_u64(b, "count");
		if (!n)
			continue;
		cum += n;
		double lo = cgs_cli_bucket_lo(le, rate);
		double x0 = lx(lo, d0, d1), x1 = lx((double)le + rate, d0, d1);
		if (x1 - x0 < 1.5)
			x1 = x0 + 1.5;
		double h = (double)n / (double)top * HIST_H;
		if (h < 2)
			h = 2;
		fprintf(out, "<rect class=\"bar\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
			"data-le=\"%" PRIu64 "\" data-n=\"%" PRIu64 "\"><title>%s to %s: %" PRIu64
			" call%s (%.2f%%), %.2f%% at or below</title></rect>\n",
			x0, y0 - h, x1 - x0, h, le, n, ns_s((uint64_t)lo), ns_s(le), n, n == 1 ? "" : "s",
			100.0 * (double)n / (double)total, 100.0 * (double)cum / (double)total);
	}
	fputs("</g>\n", out);
	/* Quantile marks. */
	static const char *const qk[] = { "p50_ns", "p99_ns", "p999_ns" };
	static const char *const qc[] = { "q50", "q99", "q999" };
	static const char *const qn[] = { "p50", "p99", "p99.9" };
	double lastx = -100;
	for (int q = 0; q < 3; q++) {
		uint64_t v = cgs_cli_u64(c, qk[q]);
		double x = lx((double)v, d0, d1);
		fprintf(out, "<line class=\"q %s\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"><title>%s = %s</title>"
			"</line>", qc[q], x, HIST_MT - 2, x, y0, qn[q], ns_s(v));
		/* Labels side by side when the marks are close. */
		double tx = x - lastx < 34 ? lastx + 34 : x;
		fprintf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", tx, HIST_MT - 5, qn[q]);
		lastx = tx;
	}
	fputs("</svg>\n</figure>\n", out);
}

static void histograms(const json_t *r)
{
	double rate = json_number_value(json_object_get(json_object_get(r, "tsc"), "ns_per_tick"));
	if (!(rate > 0))
		rate = 1;
	fputs("<section id=\"histograms\">\n<h2>Latency histograms</h2>\n<p class=\"note\">One bar per "
	      "histogram bucket, on a logarithmic time axis; its height is the share of the calls that fell "
	      "in it (a non-empty bucket is at least 2 px high). Dashed lines: "
	      "<span style=\"color:#2a9d3a\">p50</span>, <span style=\"color:#d9822b\">p99</span>, "
	      "<span style=\"color:#c0392b\">p99.9</span>. Hover a bar for its range and count.</p>\n", out);
	size_t i;
	const json_t *c;
	json_array_foreach(json_object_get(r, "calls"), i, c)
		hist_plot(c, rate, i, false);
	if (!json_array_size(json_object_get(r, "calls")))
		fputs("<p class=\"note\">No calls.</p>\n", out);
	const json_t *targets = json_object_get(r, "targets");
	if (json_array_size(targets)) {
		struct rest rest[MAX_KINDS] = { 0 };
		size_t limit = target_limit(r);
		fputs("<h3>By file</h3>\n", out);
		json_array_foreach(targets, i, c)
			if (target_shown(c, rest, limit))
				hist_plot(c, rate, i, true);
	}
	fputs("</section>\n", out);
}

/* ---- Leak flame graph --------------------------------------------------- */

struct node {
	char *name;
	char *where;          /* first file:line seen */
	int nwhere;           /* distinct file:line seen (1 or 2 = "several") */
	bool unknown;
	uint64_t bytes, count;
	struct node **kids;
	size_t nkids, cap;
};

static struct node *node_new(const char *name, const char *where, bool unknown)
{
	struct node *n = calloc(1, sizeof(*n));
	if (!n || !(n->name = strdup(name)) || !(n->where = strdup(where))) {
		cgs_cli_error("html", "out of memory");
		exit(CGS_CLI_USAGE);
	}
	n->nwhere = *where ? 1 : 0;
	n->unknown = unknown;
	return n;
}

static struct node *node_child(struct node *p, const char *name, const char *where, bool unknown)
{
	for (size_t i = 0; i < p->nkids; i++) {
		struct node *k = p->kids[i];
		if (!strcmp(k->name, name)) {
			if (*where && strcmp(k->where, where)) {
				if (!*k->where) {
					free(k->where);
					k->where = strdup(where);
					k->nwhere = 1;
				} else {
					k->nwhere = 2;
				}
			}
			return k;
		}
	}
	if (p->nkids == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 4;
		p->kids = realloc(p->kids, p->cap * sizeof(*p->kids));
		if (!p->kids) {
			cgs_cli_error("html", "out of memory");
			exit(CGS_CLI_USAGE);
		}
	}
	return p->kids[p->nkids++] = node_new(name, where, unknown);
}

static void node_free(struct node *n)
{
	for (size_t i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->name);
	free(n->where);
	free(n);
}

static int node_cmp(const void *a, const void *b)
{
	const struct node *x = *(struct node *const *)a, *y = *(struct node *const *)b;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int node_depth(const struct node *n)
{
	int d = 0;
	for (size_t i = 0; i < n->nkids; i++) {
		int k = node_depth(n->kids[i]);
		if (k > d)
			d = k;
	}
	return d + 1;
}

static void frame_color(const struct node *n, int depth, char *buf, size_t cap)
{
	uint32_t h = hash(n->name);
	if (depth == 0)
		snprintf(buf, cap, "#c8c8c8");
	else if (n->unknown)
		snprintf(buf, cap, "hsl(0,0%%,%u%%)", 70 + h % 15);
	else if (strchr(n->name, '.') && !strpbrk(n->name, " (@"))
		/* Go: package-qualified names (main.serve, runtime.cgocall). */
		snprintf(buf, cap, "hsl(%u,55%%,%u%%)", 190 + h % 30, 62 + (h >> 8) % 14);
	else
		snprintf(buf, cap, "hsl(%u,80%%,%u%%)", h % 50, 55 + (h >> 8) % 15);
}

static void flame_node(const struct node *n, double x, double scale, int depth, uint64_t total)
{
	double w = (double)n->bytes * scale;
	if (w < 0.3)
		return;
	char color[48];
	frame_color(n, depth, color, sizeof(color));
	int y = depth * FLAME_ROW;
	fputs("<g class=\"frame\"><title>", out);
	esc(n->name);
	if (*n->where) {
		fputs("\n", out);
		esc(n->where);
		if (n->nwhere > 1)
			fputs(" (and other lines)", out);
	}
	fprintf(out, "\n%s (%.1f%%), %" PRIu64 " block%s</title><rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" "
		"height=\"%d\" fill=\"%s\" data-fn=\"", bytes_s((double)n->bytes),
		total ? 100.0 * (double)n->bytes / (double)total : 0, n->count, n->count == 1 ? "" : "s", x, y, w, FLAME_ROW - 1, color);
	esc(n->name);
	fprintf(out, "\" data-bytes=\"%" PRIu64 "\" data-depth=\"%d\"/>", n->bytes, depth);
	int chars = (int)((w - 6) / 6.5);
	if (chars >= 3) {
		fprintf(out, "<text x=\"%.2f\" y=\"%d\">", x + 3, y + FLAME_ROW - 5);
		size_t len = strlen(n->name);
		if ((int)len <= chars) {
			esc(n->name);
		} else {
			char *t = strndup(n->name, (size_t)chars - 2);
			if (t)
				esc(t);
			free(t);
			fputs("..", out);
		}
		fputs("</text>", out);
	}
	fputs("</g>\n", out);
	double cx = x;
	for (size_t i = 0; i < n->nkids; i++) {
		flame_node(n->kids[i], cx, scale, depth + 1, total);
		cx += (double)n->kids[i]->bytes * scale;
	}
}

static void sort_tree(struct node *n)
{
	qsort(n->kids, n->nkids, sizeof(*n->kids), node_cmp);
	for (size_t i = 0; i < n->nkids; i++)
		sort_tree(n->kids[i]);
}

static void leaks(const json_t *r)
{
	const json_t *lk = json_object_get(r, "leaks");
	const json_t *sites = json_object_get(lk, "sites");
	fputs("<section id=\"leaks\">\n<h2>Leaks: live C heap by allocation stack</h2>\n", out);
	if (json_is_false(json_object_get(lk, "enabled"))) {
		fputs("<p class=\"note\">Leak tracking was off when this report was made.</p>\n</section>\n", out);
		return;
	}
	if (!json_array_size(sites)) {
		fputs("<p class=\"note\">No live allocation at the time of the report.</p>\n</section>\n", out);
		return;
	}
	struct node *root = node_new("all", "", false);
	size_t i;
	const json_t *s;
	json_array_foreach(sites, i, s) {
		uint64_t bytes = cgs_cli_u64(s, "bytes"), count = cgs_cli_u64(s, "count");
		const json_t *frames = json_object_get(s, "frames");
		root->bytes += bytes;
		root->count += count;
		struct node *n = root;
		/* Frames are innermost first: walk them outermost first. */
		for (size_t k = json_array_size(frames); k-- > 0;) {
			const json_t *f = json_array_get(frames, k);
			char name[512], where[600];
			cgs_cli_frame_name(f, name, sizeof(name));
			cgs_cli_frame_where(f, where, sizeof(where));
			n = node_child(n, name, where, !*cgs_cli_str(f, "function"));
			n->bytes += bytes;
			n->count += count;
		}
	}
	sort_tree(root);
	int depth = node_depth(root);
	int H = depth * FLAME_ROW + 2;
	fprintf(out, "<p class=\"note\">%zu sites, %s in %" PRIu64 " blocks. Icicle graph: the outermost "
		"frame on top, the function that allocated at the bottom; width is live bytes. Hover a frame "
		"for its function, file:line and bytes.", json_array_size(sites), bytes_s((double)root->bytes),
		root->count);
	if (cgs_cli_u64(lk, "bytes") > root->bytes)
		fprintf(out, " The report lists sites holding %s of the %s leaked.", bytes_s((double)root->bytes),
			bytes_s((double)cgs_cli_u64(lk, "bytes")));
	fputs("</p>\n", out);
	fprintf(out, "<svg class=\"flame\" role=\"img\" width=\"100%%\" viewBox=\"0 0 %d %d\" "
		"preserveAspectRatio=\"xMinYMin meet\" data-sites=\"%zu\" data-bytes=\"%" PRIu64 "\">\n",
		FLAME_W, H, json_array_size(sites), root->bytes);
	flame_node(root, 0, root->bytes ? (double)FLAME_W / (double)root->bytes : 0, 0, root->bytes);
	fputs("</svg>\n", out);

	/* The largest sites as a table, for copying. */
	fputs("<table class=\"sites\"><tr><th>bytes</th><th>blocks</th><th class=\"l\">cgo</th>"
	      "<th class=\"l\">allocated at</th></tr>\n", out);
	json_array_foreach(sites, i, s) {
		if (i == 20)
			break;
		const json_t *f0 = json_array_get(json_object_get(s, "frames"), 0);
		char name[512] = "?", where[600] = "";
		if (f0) {
			cgs_cli_frame_name(f0, name, sizeof(name));
			cgs_cli_frame_where(f0, where, sizeof(where));
		}
		fprintf(out, "<tr><td>%s</td><td>%" PRIu64 "</td><td class=\"l\">", bytes_s((double)cgs_cli_u64(s, "bytes")),
			cgs_cli_u64(s, "count"));
		esc(cgs_cli_str(s, "cgo"));
		fputs("</td><td class=\"l\">", out);
		esc(name);
		if (*where) {
			fputs(" <span class=\"note\">", out);
			esc(where);
			fputs("</span>", out);
		}
		fputs("</td></tr>\n", out);
	}
	fputs("</table>\n</section>\n", out);
	node_free(root);
}

/* ---- Slow-call timeline ------------------------------------------------- */

static const char *fn_color(const char *fn)
{
	if (!strncmp(fn, "dl", 2))
		return "#d9822b";
	if (strstr(fn, "read"))
		return "#4a7fc1";
	if (strstr(fn, "open"))
		return "#2a9d3a";
	if (strstr(fn, "ioctl"))
		return "#8e44ad";
	if (strstr(fn, "close"))
		return "#7f8c8d";
	return "#c0392b"; /* the malloc family */
}

struct lane {
	int64_t pid, tid;
};

static int ev_dur_cmp(const void *a, const void *b)
{
	uint64_t x = cgs_cli_u64(*(json_t *const *)a, "dur_ns"), y = cgs_cli_u64(*(json_t *const *)b, "dur_ns");
	return x > y ? -1 : x < y;
}

static double nice_step(double span, int ticks)
{
	double raw = span / ticks, p = pow(10, floor(log10(raw)));
	double m = raw / p;
	return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void timeline(const json_t *r)
{
	const json_t *events = json_object_get(r, "events");
	fputs("<section id=\"timeline\">\n<h2>Slow calls</h2>\n", out);
	if (!json_is_array(events)) {
		fputs("<p class=\"note\">This report has no slow-call events (it was made without the flight "
		      "recorder, or by an older cgoshim).</p>\n</section>\n", out);
		return;
	}
	uint64_t slow = cgs_cli_u64(json_object_get(r, "recorder"), "slow_ns");
	if (!slow)
		slow = cgs_cli_u64(json_object_get(r, "options"), "slow_ns");
	size_t n = json_array_size(events);
	if (!n) {
		fprintf(out, "<p class=\"note\">No slow call recorded%s%s%s.</p>\n</section>\n",
			slow ? " (none took " : "", slow ? ns_s(slow) : "", slow ? " or more)" : "");
		return;
	}
	/* The longest TL_MAX_EVENTS. */
	json_t **ev = calloc(n, sizeof(*ev));
	if (!ev) {
		cgs_cli_error("html", "out of memory");
		exit(CGS_CLI_USAGE);
	}
	for (size_t i = 0; i < n; i++)
		ev[i] = json_array_get(events, i);
	qsort(ev, n, sizeof(*ev), ev_dur_cmp);
	size_t shown = n < TL_MAX_EVENTS ? n : TL_MAX_EVENTS;
	struct lane lanes[TL_MAX_LANES];
	size_t nl = 0;
	uint64_t t_end = cgs_cli_u64(r, "duration_ns");
	bool other_lane = false;
	for (size_t i = 0; i < shown; i++) {
		uint64_t e = cgs_cli_u64(ev[i], "t_ns") + cgs_cli_u64(ev[i], "dur_ns");
		if (e > t_end)
			t_end = e;
		int64_t pid = json_integer_value(json_object_get(ev[i], "pid"));
		int64_t tid = json_integer_value(json_object_get(ev[i], "tid"));
		size_t k;
		for (k = 0; k < nl && (lanes[k].pid != pid || lanes[k].tid != tid); k++)
			;
		if (k == nl) {
			if (nl < TL_MAX_LANES - 1)
				lanes[nl++] = (struct lane){ pid, tid };
			else
				other_lane = true;
		}
	}
	if (!t_end)
		t_end = 1;
	size_t rows = nl + other_lane;
	int W = TL_ML + TL_W + 20, top = 8, H = top + (int)rows * TL_LANE + 30;
	fprintf(out, "<p class=\"note\">%zu slow calls%s%s%s; %s. One lane per thread, time since the "
		"process started; a bar is at least 2 px wide. Hover a bar for the call.</p>\n",
		n, slow ? " (" : "", slow ? ns_s(slow) : "", slow ? " or more)" : "",
		shown < n ? "the longest 5000 drawn" : "all drawn");
	fputs("<p class=\"legend\">", out);
	static const char *const fams[] = { "read", "open", "ioctl", "close", "dlopen/dlsym", "malloc family" };
	static const char *const famfn[] = { "read", "open", "ioctl", "close", "dl", "malloc" };
	for (size_t k = 0; k < CGS_ARRAY_LEN(fams); k++)
		fprintf(out, "<span><i style=\"background:%s\"></i>%s</span>", fn_color(famfn[k]), fams[k]);
	fputs("</p>\n", out);
	fprintf(out, "<svg class=\"timeline\" role=\"img\" width=\"100%%\" viewBox=\"0 0 %d %d\" "
		"preserveAspectRatio=\"xMinYMin meet\" data-events=\"%zu\">\n", W, H, shown);
	for (size_t k = 0; k < rows; k++) {
		int y = top + (int)k * TL_LANE;
		fprintf(out, "<rect class=\"lane\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>", TL_ML, y, TL_W,
			TL_LANE - 2);
		if (k < nl && lanes[k].pid)
			fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">pid %" PRId64 " tid %" PRId64
				"</text>\n", TL_ML - 4, y + TL_LANE - 6, lanes[k].pid, lanes[k].tid);
		else if (k < nl)
			fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">tid %" PRId64 "</text>\n", TL_ML - 4,
				y + TL_LANE - 6, lanes[k].tid);
		else
			fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">other threads</text>\n", TL_ML - 4,
				y + TL_LANE - 6);
	}
	int ya = top + (int)rows * TL_LANE;
	double step = nice_step((double)t_end, 8);
	for (double t = 0; t <= (double)t_end + step * 1e-9; t += step) {
		double x = TL_ML + t / (double)t_end * TL_W;
		fprintf(out, "<line class=\"axis\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/><text x=\"%.1f\" "
			"y=\"%d\" text-anchor=\"middle\">%s</text>\n", x, ya, x, ya + 5, x, ya + 17,
			ns_s((uint64_t)t));
	}
	fprintf(out, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", TL_ML, ya, TL_ML + TL_W, ya);
	for (size_t i = shown; i-- > 0;) {
		const json_t *e = ev[i];
		int64_t pid = json_integer_value(json_object_get(e, "pid"));
		int64_t tid = json_integer_value(json_object_get(e, "tid"));
		size_t k;
		for (k = 0; k < nl && (lanes[k].pid != pid || lanes[k].tid != tid); k++)
			;
		uint64_t t = cgs_cli_u64(e, "t_ns"), d = cgs_cli_u64(e, "dur_ns");
		double x = TL_ML + (double)t / (double)t_end * TL_W, w = (double)d / (double)t_end * TL_W;
		if (w < 2)
			w = 2;
		const char *fn = cgs_cli_str(e, "fn");
		fprintf(out, "<rect class=\"event\" x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%s\" "
			"data-fn=\"", x, top + (int)k * TL_LANE + 1, w, TL_LANE - 4, fn_color(fn));
		esc(fn);
		fprintf(out, "\"><title>");
		esc(fn);
		const char *target = cgs_cli_str(e, "target");
		if (*target) {
			fputs(" ", out);
			esc(target);
		}
		fprintf(out, ": %s at %s, tid %" PRId64, ns_s(d), ns_s(t), tid);
		const json_t *node = json_object_get(e, "node");
		if (json_is_integer(node))
			fprintf(out, ", node %" JSON_INTEGER_FORMAT, json_integer_value(node));
		const json_t *cpu = json_object_get(e, "cpu");
		if (json_is_integer(cpu))
			fprintf(out, ", cpu %" JSON_INTEGER_FORMAT, json_integer_value(cpu));
		const json_t *res = json_object_get(e, "result");
		if (json_is_integer(res))
			fprintf(out, ", result %" JSON_INTEGER_FORMAT, json_integer_value(res));
		const json_t *er = json_object_get(e, "errno");
		if (json_is_integer(er) && json_integer_value(er))
			fprintf(out, ", errno %" JSON_INTEGER_FORMAT, json_integer_value(er));
		fputs("</title></rect>\n", out);
	}
	fputs("</svg>\n", out);
	/* The slowest, as a table. */
	fputs("<table class=\"events\"><tr><th>duration</th><th>at</th><th class=\"l\">function</th>"
	      "<th class=\"l\">target</th><th>tid</th><th class=\"l\">called from</th></tr>\n", out);
	for (size_t i = 0; i < n && i < 20; i++) {
		const json_t *e = ev[i];
		fprintf(out, "<tr><td>%s</td><td>%s</td><td class=\"l\">", ns_s(cgs_cli_u64(e, "dur_ns")),
			ns_s(cgs_cli_u64(e, "t_ns")));
		esc(cgs_cli_str(e, "fn"));
		fputs("</td><td class=\"l path\">", out);
		esc(cgs_cli_str(e, "target"));
		fprintf(out, "</td><td>%" JSON_INTEGER_FORMAT "</td><td class=\"l\">",
			json_integer_value(json_object_get(e, "tid")));
		const json_t *f0 = json_array_get(json_object_get(e, "stack"), 0);
		if (json_is_object(f0)) {
			char name[512], where[600];
			esc(cgs_cli_frame_name(f0, name, sizeof(name)));
			cgs_cli_frame_where(f0, where, sizeof(where));
			if (*where) {
				fputs(" <span class=\"note\">", out);
				esc(where);
				fputs("</span>", out);
			}
		}
		fputs("</td></tr>\n", out);
	}
	fputs("</table>\n</section>\n", out);
	free(ev);
}

/* ---- The command -------------------------------------------------------- */

static const char html_usage[] =
	"Usage: cgoshim html REPORT.json > report.html\n"
	"Write one self-contained HTML page (no network, no script) that draws a\n"
	"JSON report: a summary table, the latency histograms, the leak sites as a\n"
	"flame graph and, when the report has them, the slow calls on a timeline.\n"
	"A file holding several processes' reports: merge them first (cgoshim merge).\n";

int cgs_cli_html(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(html_usage, stdout);
		return fflush(stdout) ? CGS_CLI_USAGE : 0;
	}
	int first = argc >= 2 && !strcmp(argv[1], "--") ? 2 : 1;
	if (argc - first != 1) {
		cgs_cli_error("html", "expected one report, got %d (try 'cgoshim html --help')", argc - first);
		return CGS_CLI_USAGE;
	}
	if (first == 1 && argv[1][0] == '-' && argv[1][1]) {
		cgs_cli_error("html", "unknown option %s (try 'cgoshim html --help')", argv[1]);
		return CGS_CLI_USAGE;
	}
	const char *path = argv[first];
	json_t *r = cgs_cli_load("html", path);
	if (!r)
		return CGS_CLI_USAGE;
	out = stdout;
	header(r, path);
	summary(r);
	histograms(r);
	leaks(r);
	timeline(r);
	fputs("<footer class=\"note\"><p>Written by <code>cgoshim html</code>. Everything on this page is "
	      "inline; it loads nothing.</p></footer>\n</body>\n</html>\n", out);
	json_decref(r);
	if (fflush(out) || ferror(out)) {
		cgs_cli_error("html", "cannot write the page: %s", strerror(errno));
		return CGS_CLI_USAGE;
	}
	return 0;
}
