/* fuzz_report.c - libFuzzer target: the report writers (shim/report.c and
 * the writers it calls).
 *
 * A snapshot is made from the input: every string any bytes (invalid
 * UTF-8, control bytes, quotes, backslashes; sometimes NULL), every number
 * any value (the tick rate NaN, Inf, negative or 0; counts, minima and
 * maxima that contradict each other; histograms with any counts), options
 * that are out of range and an output template without a terminator.
 * Only the enums the structure documents (a function, a family) stay in
 * their range, as snapshot.c guarantees.
 * Every format is written to memory; none may crash or read out of bounds
 * (ASan, UBSan), and the JSON and Chrome-trace outputs must always be
 * written and be valid JSON (jansson parses them, numbers as reals: JSON
 * sets no limit on integers, jansson's own is int64; one document per
 * line for the JSON format).
 * A failure aborts with the first bytes of the bad output. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_bytes.h"
#include "snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fill_stat(struct fz *f, struct cgs_stat *st)
{
	st->count = fz_u64(f);
	st->errors = fz_u64(f);
	st->total = fz_u64(f);
	st->min = fz_u64(f);
	st->max = fz_u64(f);
}

/* A histogram with a few non-empty buckets, or NULL. */
static uint64_t *fill_hist(struct fz *f)
{
	uint8_t k = fz_u8(f);
	if (k == 0xff)
		return NULL;
	uint64_t *h = fz_calloc(f, CGS_HIST_BUCKETS, sizeof(uint64_t));
	if (!h)
		return NULL;
	for (unsigned i = 0; i < (k & 15u); i++) {
		uint32_t at = fz_u32(f) % CGS_HIST_BUCKETS;
		h[at] = fz_u64(f);
	}
	return h;
}

static void fill_frame(struct fz *f, struct cgs_frame_info *fr)
{
	fr->addr = fz_u64(f);
	fr->function = fz_str(f, 80, 1);
	fr->module = fz_str(f, 80, 1);
	fr->file = fz_str(f, 80, 1);
	fr->line = (int)fz_u32(f);
	fr->offset = fz_u64(f);
}

/* Abort unless the n bytes at p are one JSON document. */
static void parse_or_abort(const char *what, const char *p, size_t n)
{
	json_error_t e;
	json_t *j = json_loadb(p, n, JSON_DECODE_INT_AS_REAL, &e);
	if (!j) {
		fprintf(stderr, "fuzz_report: %s output is not JSON: %s at line %d column %d: %.300s\n", what, e.text,
			e.line, e.column, p);
		abort();
	}
	json_decref(j);
}

/* One JSON document in buf, or (lines) one per non-empty line. */
static void check_json(const char *what, const char *buf, size_t len, bool lines)
{
	if (!lines) {
		parse_or_abort(what, buf, len);
		return;
	}
	const char *p = buf, *end = buf + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n)
			parse_or_abort(what, p, n);
		p += n + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz f;
	fz_init(&f, data, size);
	struct cgs_snapshot s;
	memset(&s, 0, sizeof(s));
	s.pid = (int)fz_u32(&f);
	s.exe = fz_str(&f, 120, 1);
	s.cmdline = fz_str(&f, 120, 1);
	s.trigger = fz_str(&f, 20, 1);
	s.final = fz_u8(&f) & 1;
	s.seq = fz_u32(&f);
	s.ns_per_tick = fz_double(&f);
	s.tsc_flags = fz_u32(&f);
	s.duration_ns = fz_u64(&f);
	s.start_real_ns = (int64_t)fz_u64(&f);
	/* Options: any values (ints negative or huge), the strings without a
	 * terminator. */
	uint8_t bools = fz_u8(&f);
	s.opts.disable = bools & 1;
	s.opts.leaks = bools & 2;
	s.opts.targets = bools & 4;
	s.opts.children = bools & 8;
	s.opts.launcher = bools & 16;
	s.opts.format = (int)fz_u32(&f);
	s.opts.signal = (int)fz_u32(&f);
	s.opts.stack_depth = (int)fz_u32(&f);
	s.opts.top = (int)fz_u32(&f);
	s.opts.min_age_ns = fz_u64(&f);
	s.opts.memory = fz_u64(&f);
	s.opts.slow_ns = fz_u64(&f);
	s.opts.ring_events = fz_u32(&f);
	for (size_t i = 0; i < sizeof(s.opts.numa_topology); i++)
		s.opts.numa_topology[i] = (char)(fz_u8(&f) | (i % 7 ? 0 : 1));
	s.opts.interval_ns = fz_u64(&f);
	for (size_t i = 0; i < sizeof(s.opts.output); i++)
		s.opts.output[i] = (char)(fz_u8(&f) | (i % 5 ? 0 : 0x20));
	s.shim_bytes = fz_u64(&f);
	s.threads = fz_u64(&f);
	s.go = fz_str(&f, 60, 1);
	for (size_t i = 0; i < sizeof(s.counters) / sizeof(uint64_t); i++)
		((uint64_t *)&s.counters)[i] = fz_u64(&f);
	s.inconsistent = fz_u32(&f);

	s.nfns = fz_u8(&f) % 8;
	s.fns = fz_calloc(&f, s.nfns, sizeof(*s.fns));
	for (size_t i = 0; s.fns && i < s.nfns; i++) {
		s.fns[i].name = fz_str(&f, 40, 1);
		s.fns[i].family = (int)(fz_u8(&f) % (CGS_FAM_DL + 1)); /* an enum cgs_family */
		fill_stat(&f, &s.fns[i].st);
		s.fns[i].hist = fill_hist(&f);
	}
	if (!s.fns)
		s.nfns = 0;
	s.ntargets = fz_u8(&f) % 6;
	s.targets = fz_calloc(&f, s.ntargets, sizeof(*s.targets));
	for (size_t i = 0; s.targets && i < s.ntargets; i++) {
		s.targets[i].kind = fz_str(&f, 10, 1);
		s.targets[i].label = fz_str(&f, 200, 1);
		fill_stat(&f, &s.targets[i].st);
		s.targets[i].hist = fill_hist(&f);
	}
	if (!s.targets)
		s.ntargets = 0;
	s.leaks_enabled = fz_u8(&f) & 1;
	s.leak_count = fz_u64(&f);
	s.leak_bytes = fz_u64(&f);
	s.shown_count = fz_u64(&f);
	s.shown_bytes = fz_u64(&f);
	s.nsites = fz_u8(&f) % 6;
	s.sites = fz_calloc(&f, s.nsites, sizeof(*s.sites));
	for (size_t i = 0; s.sites && i < s.nsites; i++) {
		struct cgs_snap_site *st = &s.sites[i];
		st->count = fz_u64(&f);
		st->bytes = fz_u64(&f);
		st->oldest_ns = fz_u64(&f);
		st->newest_ns = fz_u64(&f);
		st->stack_id = fz_u32(&f);
		st->nframes = fz_u8(&f) % 8;
		st->frames = fz_calloc(&f, (size_t)st->nframes, sizeof(*st->frames));
		for (int k = 0; st->frames && k < st->nframes; k++)
			fill_frame(&f, &st->frames[k]);
		if (!st->frames)
			st->nframes = 0;
		st->cgo = fz_str(&f, 40, 1);
	}
	if (!s.sites)
		s.nsites = 0;
	/* The flight recorder's part: on or off, rings and slow events. */
	s.recorder = fz_u8(&f) & 1;
	if (s.recorder) {
		static const char *const topo[] = { "sysfs", "override", "single" };
		static const char *const src[] = { "rseq", "getcpu" };
		static const char *const pol[] = { "bind", "preferred", "none" };
		s.topology = topo[fz_u8(&f) % 3];
		s.cpu_source = src[fz_u8(&f) % 2];
		s.ring_events = fz_u64(&f);
		s.unattributed_calls = fz_u64(&f);
		s.unattributed_ticks = fz_u64(&f);
		s.nrings = fz_u8(&f) % 4;
		s.rings = fz_calloc(&f, s.nrings, sizeof(*s.rings));
		for (size_t i = 0; s.rings && i < s.nrings; i++) {
			struct cgs_snap_ring *r = &s.rings[i];
			r->node = (int)fz_u32(&f);
			r->bound_node = (int)fz_u32(&f);
			r->policy = pol[fz_u8(&f) % 3];
			r->cpus = fz_str(&f, 30, 0);
			r->capacity = fz_u64(&f);
			r->written = fz_u64(&f);
			r->overwritten = fz_u64(&f);
			r->bytes = fz_u64(&f);
			r->in_flight = fz_u64(&f);
			r->torn = fz_u64(&f);
			r->calls = fz_u64(&f);
			r->ticks = fz_u64(&f);
		}
		if (!s.rings)
			s.nrings = 0;
		s.nevents = fz_u8(&f) % 6;
		s.events = fz_calloc(&f, s.nevents, sizeof(*s.events));
		for (size_t i = 0; s.events && i < s.nevents; i++) {
			struct cgs_snap_event *e = &s.events[i];
			e->t_ticks = fz_u64(&f);
			e->dur = fz_u64(&f);
			e->fn = (int)(fz_u8(&f) % CGS_FN_COUNT); /* an enum cgs_fn, as documented */
			e->tid = (int32_t)fz_u32(&f);
			e->cpu = (int)fz_u32(&f);
			e->node = (int)fz_u32(&f);
			e->fd = (int)fz_u32(&f);
			e->err = (int)fz_u32(&f);
			e->arg = fz_u64(&f);
			e->result = (int64_t)fz_u64(&f);
			e->target = fz_str(&f, 80, 1);
			e->stack_id = fz_u32(&f);
			e->nframes = fz_u8(&f) % 4;
			e->frames = fz_calloc(&f, (size_t)e->nframes, sizeof(*e->frames));
			for (int k = 0; e->frames && k < e->nframes; k++)
				fill_frame(&f, &e->frames[k]);
			if (!e->frames)
				e->nframes = 0;
		}
		if (!s.events)
			s.nevents = 0;
	}

	/* JSON is one line per report (JSON Lines); a Chrome trace is one
	 * document over several lines. */
	static const struct { int fmt; const char *name; bool json, lines; } formats[] = {
		{ CGS_FMT_JSON, "json", true, true }, { CGS_FMT_CHROME, "chrome", true, false },
		{ CGS_FMT_TEXT, "text", false, false }, { CGS_FMT_FOLDED, "folded", false, false },
		{ CGS_FMT_OPENMETRICS, "openmetrics", false, false }, { CGS_FMT_PPROF, "pprof", false, false },
	};
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);
		if (!m)
			continue;
		int rc = cgs_report_write(&s, formats[i].fmt, m);
		int e = errno;
		fclose(m);
		if (formats[i].json) {
			if (rc) {
				fprintf(stderr, "fuzz_report: the %s writer failed writing to memory: %s\n",
					formats[i].name, strerror(e));
				abort();
			}
			check_json(formats[i].name, buf, len, formats[i].lines);
		}
		free(buf);
	}
	fz_free_all(&f);
	return 0;
}
