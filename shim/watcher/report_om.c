/* report_om.c - a snapshot as Prometheus metrics (CGOSHIM_FORMAT=openmetrics).
 *
 * For node_exporter's textfile collector, which reads the Prometheus text
 * exposition format (version 0.0.4), and for `promtool check metrics`, which
 * lints the same format. Where that format and OpenMetrics differ, it
 * follows the text format: a counter's TYPE and HELP lines carry its full
 * name, with "_total". From OpenMetrics it takes "# UNIT" lines and the
 * closing "# EOF", which the text format reads as comments. No sample has a
 * timestamp (the textfile collector refuses them); the time of the report is
 * a gauge of its own.
 *
 *   cgoshim_calls_total{fn,program,pid}             counter
 *   cgoshim_call_errors_total{fn,program,pid}       counter
 *   cgoshim_call_duration_seconds{fn,program,pid}   histogram, 25 buckets
 *   cgoshim_heap_live_bytes{program,pid}            gauge (when leaks are tracked)
 *   cgoshim_heap_live_allocations{program,pid}      gauge (when leaks are tracked)
 *   cgoshim_heap_runtime_bytes{program,pid}         gauge: of those, held by the loader for live threads
 *   cgoshim_report_timestamp_seconds{program,pid}   gauge, Unix time of the report
 *
 * The fine log-linear histogram (hist.h) is folded into fixed boundaries
 * (1, 2.5, 5 per decade from 100 ns to 10 s) so a file stays small: a fine
 * bucket counts under the first boundary at or above the ns of its last
 * value, which is the "le_ns" the JSON report gives it. So "le" counts here
 * are sums of JSON buckets, exactly. Seconds are printed as exact decimals
 * of the ns values.
 *
 * Label values are written as the format requires: backslash, double quote
 * and newline escaped; bytes that are not valid UTF-8 become U+FFFD. The
 * output is built in memory and written at once, and is a pure function of
 * the snapshot. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "report_extra.h"

const uint64_t cgs_om_bound_ns[CGS_OM_BOUNDS] = {
	100, 250, 500,                                   /* 1e-7 s */
	1000, 2500, 5000,                                /* 1 us */
	10000, 25000, 50000,
	100000, 250000, 500000,
	1000000, 2500000, 5000000,                       /* 1 ms */
	10000000, 25000000, 50000000,
	100000000, 250000000, 500000000,
	1000000000, 2500000000ULL, 5000000000ULL,        /* 1 s */
	10000000000ULL,
};

uint64_t cgs_rx_tick_ns(const struct cgs_snapshot *s, uint64_t ticks)
{
	double r = s->ns_per_tick;
	if (!isfinite(r) || r <= 0)
		return 0;
	double v = (double)ticks * r + 0.5;
	if (!(v < 18446744073709551616.0))
		return UINT64_MAX;
	return (uint64_t)v;
}

uint64_t cgs_rx_bucket_le_ns(const struct cgs_snapshot *s, unsigned i, const struct cgs_stat *st)
{
	uint64_t lo, hi, last;
	cgs_hist_bounds(i, &lo, &hi);
	last = hi - 1;
	if (i == CGS_HIST_BUCKETS - 1 && st->max > last)
		last = st->max;
	return cgs_rx_tick_ns(s, last);
}

/* ---- A growing text buffer -------------------------------------------- */

struct tbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static bool tb_room(struct tbuf *b, size_t n)
{
	if (b->oom)
		return false;
	if (b->len + n + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void tb_put(struct tbuf *b, const char *s, size_t n)
{
	if (!tb_room(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void tb_puts(struct tbuf *b, const char *s)
{
	tb_put(b, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3))) tb_printf(struct tbuf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		tb_put(b, small, (size_t)n);
		return;
	}
	if (!tb_room(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* ---- Pieces ------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at p (n >= 1 bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	uint32_t cp = c & (0x7fu >> len);
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	uint32_t least = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
	if (cp < least || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A label value between double quotes. */
static void label_value(struct tbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s);
	tb_put(b, "\"", 1);
	for (size_t i = 0; i < len;) {
		size_t run = 0, k;
		while (i + run < len && p[i + run] != '\\' && p[i + run] != '"' && p[i + run] != '\n' &&
		       (k = utf8_len(p + i + run, len - i - run)))
			run += k;
		tb_put(b, s + i, run);
		i += run;
		if (i == len)
			break;
		if (p[i] == '\\')
			tb_puts(b, "\\\\");
		else if (p[i] == '"')
			tb_puts(b, "\\\"");
		else if (p[i] == '\n')
			tb_puts(b, "\\n");
		else
			tb_puts(b, "\xef\xbf\xbd"); /* U+FFFD */
		i++;
	}
	tb_put(b, "\"", 1);
}

/* ns as seconds, exactly: "12.000345678". */
static void seconds(struct tbuf *b, uint64_t ns)
{
	tb_printf(b, "%" PRIu64 ".%09" PRIu64, ns / 1000000000u, ns % 1000000000u);
}

struct labels {
	const char *program;
	char pid[24];
};

/* {fn="read",program="x",pid="1" - left open for more labels. */
static void open_labels(struct tbuf *b, const struct labels *l, const char *fn)
{
	tb_puts(b, "{");
	if (fn) {
		tb_puts(b, "fn=");
		label_value(b, fn);
		tb_puts(b, ",");
	}
	tb_puts(b, "program=");
	label_value(b, l->program);
	tb_puts(b, ",pid=");
	label_value(b, l->pid);
}

static void family(struct tbuf *b, const char *name, const char *type, const char *unit, const char *help)
{
	tb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	if (unit)
		tb_printf(b, "# UNIT %s %s\n", name, unit);
}

static void fn_counter(struct tbuf *b, const struct cgs_snapshot *s, const struct labels *l, bool errors)
{
	const char *name = errors ? "cgoshim_call_errors_total" : "cgoshim_calls_total";
	family(b, name, "counter", NULL,
	       errors ? "Calls of an interposed C function that returned an error."
		      : "Calls of an interposed C function.");
	for (size_t i = 0; i < s->nfns; i++) {
		const struct cgs_snap_fn *fn = &s->fns[i];
		tb_puts(b, name);
		open_labels(b, l, fn->name ? fn->name : "");
		/* Every call made, timed or not (the histogram has the timed). */
		tb_printf(b, "} %" PRIu64 "\n", errors ? fn->st.errors : fn->st.count + fn->untimed);
	}
}

static void fn_histogram(struct tbuf *b, const struct cgs_snapshot *s, const struct labels *l)
{
	static const char name[] = "cgoshim_call_duration_seconds";
	family(b, name, "histogram", "seconds", "Time spent in an interposed C function, per call.");
	for (size_t i = 0; i < s->nfns; i++) {
		const struct cgs_snap_fn *fn = &s->fns[i];
		const char *fname = fn->name ? fn->name : "";
		uint64_t le[CGS_OM_BOUNDS] = { 0 }, total = 0;
		if (fn->hist) {
			for (unsigned k = 0; k < CGS_HIST_BUCKETS; k++) {
				if (!fn->hist[k])
					continue;
				total += fn->hist[k];
				uint64_t v = cgs_rx_bucket_le_ns(s, k, &fn->st);
				for (unsigned j = 0; j < CGS_OM_BOUNDS; j++)
					if (v <= cgs_om_bound_ns[j]) {
						le[j] += fn->hist[k];
						break;
					}
			}
		} else {
			total = fn->st.count;
		}
		uint64_t cum = 0;
		for (unsigned j = 0; j < CGS_OM_BOUNDS; j++) {
			cum += le[j];
			tb_printf(b, "%s_bucket", name);
			open_labels(b, l, fname);
			tb_printf(b, ",le=\"%g\"} %" PRIu64 "\n", (double)cgs_om_bound_ns[j] / 1e9, cum);
		}
		tb_printf(b, "%s_bucket", name);
		open_labels(b, l, fname);
		tb_printf(b, ",le=\"+Inf\"} %" PRIu64 "\n", total);
		tb_printf(b, "%s_sum", name);
		open_labels(b, l, fname);
		tb_puts(b, "} ");
		seconds(b, cgs_rx_tick_ns(s, fn->st.total));
		tb_printf(b, "\n%s_count", name);
		open_labels(b, l, fname);
		tb_printf(b, "} %" PRIu64 "\n", total);
	}
}

static void gauge(struct tbuf *b, const struct labels *l, const char *name, const char *unit,
		  const char *help, uint64_t v)
{
	family(b, name, "gauge", unit, help);
	tb_puts(b, name);
	open_labels(b, l, NULL);
	tb_printf(b, "} %" PRIu64 "\n", v);
}

static const char *program_name(const struct cgs_snapshot *s)
{
	const char *exe = s->exe && *s->exe ? s->exe : NULL;
	if (!exe)
		return "unknown";
	const char *slash = strrchr(exe, '/');
	return slash && slash[1] ? slash + 1 : exe;
}

int cgs_report_om(const struct cgs_snapshot *s, FILE *out)
{
	if (!s || !out) {
		errno = EINVAL;
		return -1;
	}
	struct tbuf b = { 0 };
	struct labels l = { .program = program_name(s) };
	snprintf(l.pid, sizeof(l.pid), "%d", s->pid);

	if (s->fns && s->nfns) {
		fn_counter(&b, s, &l, false);
		fn_counter(&b, s, &l, true);
		fn_histogram(&b, s, &l);
	}
	if (s->leaks_enabled) {
		gauge(&b, &l, "cgoshim_heap_live_bytes", "bytes",
		      "Bytes of C heap allocated and not yet freed.", s->leak_bytes);
		gauge(&b, &l, "cgoshim_heap_live_allocations", NULL,
		      "C heap allocations not yet freed.", s->leak_count);
		gauge(&b, &l, "cgoshim_heap_runtime_bytes", "bytes",
		      "Of the live C heap old enough to report, bytes the loader holds for live threads "
		      "(pthread_create's thread storage, the Go runtime's Ms included): not the program's leaks.",
		      s->runtime_bytes);
	}
	family(&b, "cgoshim_report_timestamp_seconds", "gauge", "seconds",
	       "Unix time at which this report was made.");
	tb_puts(&b, "cgoshim_report_timestamp_seconds");
	open_labels(&b, &l, NULL);
	tb_puts(&b, "} ");
	int64_t t = s->start_real_ns > 0 ? s->start_real_ns : 0;
	uint64_t when = (uint64_t)t + s->duration_ns;
	seconds(&b, when < (uint64_t)t ? UINT64_MAX : when);
	tb_puts(&b, "\n# EOF\n");

	if (b.oom) {
		free(b.p);
		errno = ENOMEM;
		return -1;
	}
	errno = 0;
	size_t n = fwrite(b.p, 1, b.len, out);
	free(b.p);
	if (n != b.len || fflush(out) == EOF || ferror(out)) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}
