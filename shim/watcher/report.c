/* report.c - write a snapshot as text, JSON or folded stacks.
 *
 * Runs on the report side only (the watcher process, or a test), so stdio and
 * malloc are fine here. Writers see nothing but the snapshot, and the output
 * is a pure function of it: no clock, no environment, no pointer values other
 * than the code addresses in the snapshot. Two dumps of the same snapshot are
 * byte-identical, which benchmark harnesses rely on.
 *
 * All times in the snapshot are TSC ticks; they become ns here, through one
 * helper (tick_ns) that does what cgs_snap_ns does but also survives a rate
 * that is 0, negative, NaN or Inf (a degenerate snapshot prints 0s) and values
 * that would overflow.
 *
 * JSON ("cgoshim/1") is written on one line, so that dumps appended to one
 * file read as JSON Lines. Strings are escaped byte by byte: valid UTF-8 goes
 * through, control bytes become \u00XX, and any byte that is not part of a
 * valid UTF-8 sequence becomes \ufffd, so the output is valid JSON whatever a
 * path holds. Histogram buckets are the non-empty fine buckets, each with the
 * ns of its last tick (le_ns); buckets that round to the same le_ns are merged
 * so le_ns strictly increases.
 *
 * Text is for people: a header (what was measured, how), a summary table, a
 * per-target table, one power-of-two histogram per function (in the manner
 * of bcc's funclatency) and the largest leak sites with their stacks.
 * Strings are printed with control bytes and invalid UTF-8 replaced by '?',
 * so a hostile path cannot drive the terminal.
 *
 * Folded is one line per leak site, frames outermost first, joined by ';',
 * then a space and the bytes: the input of flamegraph.pl and speedscope.
 *
 * Errors: the first failed write is remembered (struct out) and later writes
 * are skipped; cgs_report_write returns -1 with that errno. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "options.h"
#include "report_extra.h"
#include "snapshot.h"

/* ---- Output with sticky errors ---------------------------------------- */

struct out {
	FILE *f;
	int err; /* errno of the first failed write; 0 while all went well */
};

static void out_failed(struct out *o)
{
	if (!o->err)
		o->err = errno ? errno : EIO;
}

static void __attribute__((format(printf, 2, 3))) outf(struct out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->err)
		return;
	va_start(ap, fmt);
	if (vfprintf(o->f, fmt, ap) < 0)
		out_failed(o);
	va_end(ap);
}

static void outs(struct out *o, const char *s)
{
	if (!o->err && fputs(s, o->f) == EOF)
		out_failed(o);
}

static void outc(struct out *o, char c)
{
	if (!o->err && putc(c, o->f) == EOF)
		out_failed(o);
}

static void outn(struct out *o, const char *s, size_t n)
{
	if (!o->err && n && fwrite(s, 1, n, o->f) != n)
		out_failed(o);
}

/* ---- Shared helpers ---------------------------------------------------- */

/* The snapshot's ns per tick, or 0 when it is not a usable number. */
static double tick_rate(const struct cgs_snapshot *s)
{
	double r = s->ns_per_tick;
	return (isfinite(r) && r > 0) ? r : 0;
}

/* cgs_snap_ns, made safe for any rate and any tick count. */
static uint64_t tick_ns(const struct cgs_snapshot *s, uint64_t ticks)
{
	double v = (double)ticks * tick_rate(s) + 0.5;
	if (!(v < 18446744073709551616.0))
		return UINT64_MAX;
	return (uint64_t)v;
}

static const double quantile_q[4] = { 0.5, 0.9, 0.99, 0.999 };

/* One stat and its histogram, in ns. */
struct summary {
	uint64_t count, errors, total, min, max;
	uint64_t q[4]; /* p50, p90, p99, p99.9 */
};

static void summarize(const struct cgs_snapshot *s, const struct cgs_stat *st,
		      const uint64_t *hist, struct summary *sum)
{
	memset(sum, 0, sizeof(*sum));
	sum->count = st->count;
	sum->errors = st->errors;
	sum->total = tick_ns(s, st->total);
	if (st->count) {
		sum->min = tick_ns(s, st->min);
		sum->max = tick_ns(s, st->max);
	}
	for (unsigned i = 0; hist && i < CGS_ARRAY_LEN(quantile_q); i++)
		sum->q[i] = tick_ns(s, cgs_hist_quantile(hist, st, quantile_q[i]));
}

/* Ticks of the last value bucket i holds. The last bucket also holds every
 * value beyond its bound, so there the exact max stands in. */
static uint64_t bucket_last_tick(unsigned i, const struct cgs_stat *st)
{
	uint64_t lo, hi;
	cgs_hist_bounds(i, &lo, &hi);
	if (i == CGS_HIST_BUCKETS - 1 && st->max > hi - 1)
		return st->max;
	return hi - 1;
}

/* Length of the valid UTF-8 sequence at p (n bytes available, n >= 1), or 0
 * when the bytes there are not one. Overlong forms, surrogates and code
 * points above U+10FFFF are invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len;
	uint32_t cp, least;

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
	cp = c & (0x7f >> len);
	least = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < least || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Characters a terminal shows for s (UTF-8 sequences count once). */
static size_t display_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* Length of the character at p if it may be shown as it is: valid UTF-8,
 * not a control byte, not one of the bytes in `also` (may be NULL); else 0. */
static size_t good_char(const unsigned char *p, size_t n, const char *also)
{
	size_t k = utf8_len(p, n);
	if (k == 1 && (p[0] < 0x20 || p[0] == 0x7f || (also && strchr(also, p[0]))))
		return 0;
	return k;
}

/* Copy src into dst (size n >= 1) for display: good characters are kept,
 * other bytes become '?'. Truncates at a character boundary. */
static void sanitize(char *dst, size_t n, const char *src)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t len = strlen(src), i = 0, o = 0;

	while (i < len) {
		size_t k = good_char(p + i, len - i, NULL);
		if (o + (k ? k : 1) >= n)
			break;
		if (k) {
			memcpy(dst + o, p + i, k);
			o += k;
			i += k;
		} else {
			dst[o++] = '?';
			i++;
		}
	}
	dst[o] = 0;
}

/* Write s with every byte that is not part of a good character replaced by
 * `bad`; runs of good characters go out at once. */
static void put_clean(struct out *o, const char *s, char bad, const char *also)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s);

	for (size_t i = 0; i < len;) {
		size_t run = 0, k;
		while (i + run < len && (k = good_char(p + i + run, len - i - run, also)))
			run += k;
		outn(o, s + i, run);
		i += run;
		if (i < len) {
			outc(o, bad);
			i++;
		}
	}
}

/* Write s for people (as sanitize does), "?" for NULL. */
static void text_str(struct out *o, const char *s)
{
	put_clean(o, s ? s : "?", '?', NULL);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return (slash && slash[1]) ? slash + 1 : path;
}

/* Events counted in struct cgs_counters, with what a count means. */
#define CGS_REPORT_COUNTERS(X)                                                              \
	X(untracked_allocs, "allocations not recorded: no shim memory for their records")     \
	X(unknown_frees, "frees or reallocs of pointers the shim never saw")                  \
	X(unknown_sizes, "malloc_usable_size calls on pointers the shim never saw")           \
	X(region_oom, "shim memory requests that failed (see CGOSHIM_MEMORY)")                \
	X(pool_allocs, "bootstrap allocations (dlsym's calloc) served by the shim's pool")    \
	X(guard_calls, "calls made while the shim itself was busy")                           \
	X(orphan_calls, "calls after their thread's TLS destructors ran")                     \
	X(stack_overflow, "stacks not stored: stack table full")                              \
	X(dlopen_untimed, "dlopen calls counted, not timed (in the calls row)")                \
	X(dlsym_untimed, "dlsym calls counted, not timed (in the calls row)")                  \
	X(dlvsym_untimed, "dlvsym calls counted, not timed (in the calls row)")                \
	X(signals, "dump signals received")                                                   \
	X(thread_blocks, "thread blocks created")                                             \
	X(ring_bind_failed, "flight recorder rings whose memory could not be bound to their node") \
	X(dumps_coalesced, "dump requests that arrived while a dump was written: answered by the next one") \
	X(forks_unmeasured, "fork children left unmeasured: no memory for their copy of the shim's state, or its locks busy") \
	X(unwind_handoffs, "stack walks done by libunwind: a signal frame, unusual CFI, or a full rule table") \
	X(unwind_compared, "CGOSHIM_UNWIND=compare: stacks walked by both unwinders") \
	X(unwind_mismatches, "CGOSHIM_UNWIND=compare: stacks where the two unwinders differed") \
	X(forks_nproc, "fork children left unmeasured: RLIMIT_NPROC below 4096, no watcher process for each") \
	X(seccomp_skipped, "shim system calls not made: the program's seccomp filter forbids them") \
	X(spawn_fallback, "watcher started by the process itself, not by the spawn server: a subreaper or PID 1 above may reap it")

#define CGS_REPORT_ONE(name, why) +1
_Static_assert(sizeof(struct cgs_counters) == (0 CGS_REPORT_COUNTERS(CGS_REPORT_ONE)) * sizeof(uint64_t),
	       "struct cgs_counters changed: update CGS_REPORT_COUNTERS in report.c");
#undef CGS_REPORT_ONE

/* What the shim gave up to the program (signal.c, seccomp.c), for the
 * header: "" when nothing. */
static const char *const sigdump_why[] = {
	[CGS_SIGDUMP_DEFAULT] = "the program set SIG_DFL, or its SA_RESETHAND handler ran",
	[CGS_SIGDUMP_IGNORED] = "the program set SIG_IGN",
	[CGS_SIGDUMP_IGNORED_AT_START] = "ignored from the start (inherited across exec)",
};

static void signal_dumps_note(const struct cgs_snapshot *s, char *buf, size_t cap)
{
	buf[0] = 0;
	uint32_t d = s->sig_given_up_disp;
	if (!s->opts.signal || !s->sig_given_up_ns || d < 1 || d > CGS_SIGDUMP_IGNORED_AT_START)
		return;
	if (s->sig_dump_state == CGS_SIGDUMP_ON)
		snprintf(buf, cap, "given up at %.3f s (%s) until the program installed a handler again: "
			 "no live dump by signal in between", (double)s->sig_given_up_ns / 1e9, sigdump_why[d]);
	else
		snprintf(buf, cap, "given up at %.3f s (now: %s): the signal does what the program asked, "
			 "no live dump by signal after that", (double)s->sig_given_up_ns / 1e9,
			 sigdump_why[s->sig_dump_state <= CGS_SIGDUMP_IGNORED_AT_START ? s->sig_dump_state : d]);
}

static void seccomp_note(const struct cgs_snapshot *s, char *buf, size_t cap)
{
	buf[0] = 0;
	if (s->passive_ns && s->passive_why == CGS_PASSIVE_STRICT) {
		snprintf(buf, cap, "strict mode at %.3f s: it allows no system call but read, write and exit, and "
			 "makes rdtsc fault, so the shim measured nothing after (blocks freed after that still show "
			 "as live)", (double)s->passive_ns / 1e9);
		return;
	}
	if (s->passive_ns && (s->passive_why == CGS_PASSIVE_NOTSC || s->passive_why == CGS_PASSIVE_NOTSC_OVER)) {
		snprintf(buf, cap, "the program made rdtsc fault (PR_SET_TSC) at %.3f s: the shim measured nothing "
			 "%s (blocks freed meanwhile still show as live)", (double)s->passive_ns / 1e9,
			 s->passive_why == CGS_PASSIVE_NOTSC ? "after" : "until it allowed rdtsc again");
		return;
	}
	if (!s->seccomp_ns)
		return;
	snprintf(buf, cap,
		 "filter installed at %.3f s (%" PRIu32 " in all%s): from then on the shim made no system call "
		 "the filter%s; %" PRIu64 " skipped (thread ids, descriptors' file names, stacks and fork children "
		 "needing them were not measured after)",
		 (double)s->seccomp_ns / 1e9, s->seccomp_filters,
		 s->seccomp_unknown ? ", one it could not read" : "",
		 s->seccomp_unknown ? "s might forbid, none of a new kind" : " forbids", s->counters.seccomp_skipped);
}

/* ---- JSON -------------------------------------------------------------- */

/* A number every JSON parser reads: many (jansson, and every one that
 * stores integers as int64) refuse integers above 2^63 - 1. Only a call's
 * argument gets that large (malloc of SIZE_MAX - 4096, which fails). */
static uint64_t json_int(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : v;
}

static void json_str(struct out *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;

	if (!s) {
		outs(o, "null");
		return;
	}
	size_t len = strlen(s);
	outc(o, '"');
	for (size_t i = 0; i < len;) {
		/* The longest run of bytes that need no escape goes out at once. */
		size_t run = 0;
		while (i + run < len) {
			unsigned char c = p[i + run];
			if (c < 0x20 || c == '"' || c == '\\')
				break;
			size_t k = utf8_len(p + i + run, len - i - run);
			if (!k)
				break;
			run += k;
		}
		outn(o, s + i, run);
		i += run;
		if (i == len)
			break;
		unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			outc(o, '\\');
			outc(o, (char)c);
		} else if (c < 0x20) {
			char esc[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };
			outs(o, esc);
		} else {
			outs(o, "\\ufffd");
		}
		i++;
	}
	outc(o, '"');
}

static void json_str_or_empty(struct out *o, const char *s)
{
	json_str(o, s ? s : "");
}

static void json_bool(struct out *o, bool b)
{
	outs(o, b ? "true" : "false");
}

/* A finite double; anything else prints as 0. */
static void json_double(struct out *o, const char *fmt, double v)
{
	if (!isfinite(v))
		v = 0;
	outf(o, fmt, v);
}

static const char *target_group(int g)
{
	return g == CGS_TG_PATTERN ? "pattern" : g == CGS_TG_REST ? "rest" : "file";
}

/* count ... p999_ns and the buckets, shared by calls and targets. */
static void json_stat(struct out *o, const struct cgs_snapshot *s, const struct cgs_stat *st,
		      const uint64_t *hist)
{
	struct summary sum;

	summarize(s, st, hist, &sum);
	outf(o, "\"count\": %" PRIu64 ", \"errors\": %" PRIu64 ", \"total_ns\": %" PRIu64
		", \"min_ns\": %" PRIu64 ", \"max_ns\": %" PRIu64 ", \"p50_ns\": %" PRIu64
		", \"p90_ns\": %" PRIu64 ", \"p99_ns\": %" PRIu64 ", \"p999_ns\": %" PRIu64
		", \"buckets\": [",
	     sum.count, sum.errors, sum.total, sum.min, sum.max, sum.q[0], sum.q[1], sum.q[2],
	     sum.q[3]);
	/* Pending bucket: printed once the next non-empty bucket has a larger
	 * le_ns (or at the end), so equal le_ns merge. */
	uint64_t le = 0, count = 0;
	bool first = true;
	for (unsigned i = 0; hist && i < CGS_HIST_BUCKETS; i++) {
		if (!hist[i])
			continue;
		uint64_t l = tick_ns(s, bucket_last_tick(i, st));
		if (count && l > le) {
			outf(o, "%s{\"le_ns\": %" PRIu64 ", \"count\": %" PRIu64 "}", first ? "" : ", ",
			     le, count);
			first = false;
			count = 0;
		}
		if (!count)
			le = l;
		count += hist[i];
	}
	if (count)
		outf(o, "%s{\"le_ns\": %" PRIu64 ", \"count\": %" PRIu64 "}", first ? "" : ", ", le,
		     count);
	outc(o, ']');
}

static void json_frame(struct out *o, const struct cgs_frame_info *f)
{
	outs(o, "{\"function\": ");
	json_str(o, f->function);
	outs(o, ", \"module\": ");
	json_str(o, f->module);
	outs(o, ", \"file\": ");
	json_str(o, f->file);
	outf(o, ", \"line\": %d, \"addr\": \"0x%" PRIx64 "\"}", f->line > 0 ? f->line : 0, f->addr);
}

/* ---- Flight recorder: JSON --------------------------------------------- */

static const char *const family_name[] = { "read", "open", "close", "ioctl", "heap", "dl" };

static const char *event_fn(const struct cgs_snap_event *e)
{
	return e->fn >= 0 && e->fn < CGS_FN_COUNT ? cgs_fn_names[e->fn] : "?";
}

/* ", "recorder": {...}, "rings": [...], "events": [...]" */
/* leaks.kinds_source, kinds, scan, suppressed (snapshot.h). */
static void json_kinds(struct out *o, const struct cgs_snapshot *s)
{
	outs(o, "\"kinds_source\": ");
	json_str(o, s->kinds_source ? s->kinds_source : "none");
	outs(o, ", \"kinds_why\": ");
	json_str(o, s->kinds_why && s->kinds_source && strcmp(s->kinds_source, "scan") &&
			    strcmp(s->kinds_source, "last_scan") ? s->kinds_why : NULL);
	outf(o, ", \"kinds_age_ns\": %" PRIu64 ", \"kinds\": {", s->kinds_age_ns);
	for (int k = 0; k < CGS_KIND_COUNT; k++)
		outf(o, "%s\"%s\": {\"count\": %" PRIu64 ", \"bytes\": %" PRIu64 "}", k ? ", " : "",
		     cgs_kind_names[k], s->kind_count[k], s->kind_bytes[k]);
	const struct cgs_reach_stats *st = &s->scan;
	outf(o, "}, \"scan\": {\"ns\": %" PRIu64 ", \"cpu_ns\": %" PRIu64 ", \"root_bytes\": %" PRIu64 ", \"block_bytes\": %" PRIu64
		", \"unreadable_bytes\": %" PRIu64 ", \"mappings\": %" PRIu32 ", \"threads\": %" PRIu32
		", \"threads_sp\": %" PRIu32 "}, \"suppressed\": {\"count\": %" PRIu64 ", \"bytes\": %" PRIu64
		", \"rules\": [",
	     st->ns, st->cpu_ns, st->root_bytes, st->block_bytes, st->unreadable, st->mappings, st->threads, st->threads_sp,
	     s->suppressed_count, s->suppressed_bytes);
	for (size_t i = 0; s->supp && i < s->nsupp; i++) {
		outs(o, i ? ", {\"rule\": " : "{\"rule\": ");
		json_str(o, s->supp[i].rule);
		outs(o, ", \"builtin\": ");
		json_bool(o, s->supp[i].builtin);
		outf(o, ", \"count\": %" PRIu64 ", \"bytes\": %" PRIu64 "}", s->supp[i].count, s->supp[i].bytes);
	}
	outs(o, "]}");
}

static void json_recorder(struct out *o, const struct cgs_snapshot *s)
{
	outs(o, ", \"recorder\": {\"enabled\": ");
	json_bool(o, s->recorder);
	outs(o, ", \"topology\": ");
	json_str_or_empty(o, s->topology);
	outs(o, ", \"cpu_source\": ");
	json_str_or_empty(o, s->cpu_source);
	outf(o, ", \"unattributed_calls\": %" PRIu64 ", \"unattributed_ns\": %" PRIu64 "}, \"rings\": [",
	     s->unattributed_calls, tick_ns(s, s->unattributed_ticks));
	for (size_t i = 0; s->rings && i < s->nrings; i++) {
		const struct cgs_snap_ring *r = &s->rings[i];
		outf(o, "%s{\"node\": %d, \"written\": %" PRIu64 ", \"overwritten\": %" PRIu64
			", \"bytes\": %" PRIu64 ", \"bound_node\": %d, \"calls\": %" PRIu64
			", \"time_ns\": %" PRIu64 ", \"capacity\": %" PRIu64 ", \"policy\": ",
		     i ? ", " : "", r->node, r->written, r->overwritten, r->bytes, r->bound_node, r->calls,
		     tick_ns(s, r->ticks), r->capacity);
		json_str_or_empty(o, r->policy);
		outs(o, ", \"cpus\": ");
		json_str_or_empty(o, r->cpus);
		outf(o, ", \"in_flight\": %" PRIu64 ", \"torn\": %" PRIu64, r->in_flight, r->torn);
		outf(o, ", \"routine_dl\": {\"capacity\": %" PRIu64 ", \"written\": %" PRIu64
			", \"overwritten\": %" PRIu64 "}, \"routine_dlsym\": {\"capacity\": %" PRIu64
			", \"written\": %" PRIu64 ", \"overwritten\": %" PRIu64 "}}",
		     r->routine_capacity, r->routine_written[0], r->routine_overwritten[0], r->routine_capacity,
		     r->routine_written[1], r->routine_overwritten[1]);
	}
	outs(o, "], \"events\": [");
	for (size_t i = 0; s->events && i < s->nevents; i++) {
		const struct cgs_snap_event *e = &s->events[i];
		outf(o, "%s{\"t_ns\": %" PRIu64 ", \"fn\": ", i ? ", " : "", tick_ns(s, e->t_ticks));
		json_str(o, event_fn(e));
		outf(o, ", \"dur_ns\": %" PRIu64 ", \"tid\": %d, \"cpu\": %d, \"node\": %d, \"target\": ",
		     tick_ns(s, e->dur), (int)e->tid, e->cpu, e->node);
		json_str(o, e->target);
		outf(o, ", \"fd\": %d, \"arg\": %" PRIu64 ", \"result\": %" PRId64 ", \"errno\": %d, \"stack\": [",
		     e->fd, json_int(e->arg), e->result, e->err);
		for (int k = 0; e->frames && k < e->nframes; k++) {
			if (k)
				outs(o, ", ");
			json_frame(o, &e->frames[k]);
		}
		outs(o, "]}");
	}
	outc(o, ']');
}

static void json_frames(struct out *o, const struct cgs_frame_info *f, int n)
{
	outs(o, "\"frames\": [");
	for (int k = 0; f && k < n; k++) {
		if (k)
			outs(o, ", ");
		json_frame(o, &f[k]);
	}
	outc(o, ']');
}

/* ", "heap": {...}": totals over the run, the sampled peak and its sites,
 * and every site's totals (valgrind's "total heap usage", heaptrack's
 * peak and temporary allocations). */
#define HEAP_JSON_SITES 200

static void json_heap(struct out *o, const struct cgs_snapshot *s)
{
	const struct cgs_snap_heap *h = &s->heap;
	outs(o, ", \"heap\": {\"enabled\": ");
	json_bool(o, h->enabled);
	outf(o, ", \"allocs\": %" PRIu64 ", \"frees\": %" PRIu64 ", \"bytes_allocated\": %" PRIu64
		", \"bytes_freed\": %" PRIu64 ", \"temporary\": %" PRIu64 ", \"peak_bytes\": %" PRIu64
		", \"peak_ns\": %" PRIu64 ", \"peak_sample_ns\": %" PRIu64 ", \"peak_sites\": [",
	     h->allocs, h->frees, json_int(h->bytes), json_int(h->bytes_freed), h->temps, json_int(h->peak_bytes),
	     h->peak_ns, h->sample_ns);
	for (size_t i = 0; h->peak_sites && i < h->npeak; i++) {
		const struct cgs_snap_site *p = &h->peak_sites[i];
		outf(o, "%s{\"count\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"cgo\": ", i ? ", " : "", p->count,
		     json_int(p->bytes));
		json_str(o, p->cgo);
		outs(o, ", ");
		json_frames(o, p->frames, p->nframes);
		outc(o, '}');
	}
	/* The largest sites only (a program with many stacks would make the
	 * report huge); the rest summed, so nothing is dropped unsaid. pprof
	 * has every site. */
	size_t shown = h->nsites < HEAP_JSON_SITES ? h->nsites : HEAP_JSON_SITES;
	if (shown < (size_t)s->opts.top && s->opts.top > 0)
		shown = h->nsites < (size_t)s->opts.top ? h->nsites : (size_t)s->opts.top;
	outs(o, "], \"sites\": [");
	for (size_t i = 0; h->sites && i < shown; i++) {
		const struct cgs_snap_tsite *t = &h->sites[i];
		outf(o, "%s{\"allocs\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"temporary\": %" PRIu64 ", \"cgo\": ",
		     i ? ", " : "", t->allocs, json_int(t->bytes), t->temps);
		json_str(o, t->cgo);
		outs(o, ", ");
		json_frames(o, t->frames, t->nframes);
		outc(o, '}');
	}
	uint64_t ra = 0, rb = 0, rt = 0;
	for (size_t i = shown; h->sites && i < h->nsites; i++) {
		ra += h->sites[i].allocs;
		rb += h->sites[i].bytes;
		rt += h->sites[i].temps;
	}
	outf(o, "], \"sites_total\": %zu, \"sites_rest\": {\"sites\": %zu, \"allocs\": %" PRIu64
		", \"bytes\": %" PRIu64 ", \"temporary\": %" PRIu64 "}}",
	     h->nsites, h->nsites - shown, ra, json_int(rb), rt);
}

static void write_json(struct out *o, const struct cgs_snapshot *s)
{
	const struct cgs_options *op = &s->opts;
	char sigbuf[32]; /* 16 is enough for any valid signal; this is for any int */
	double rate = tick_rate(s);
	double ghz = rate > 0 ? 1.0 / rate : 0;

	outf(o, "{\"schema\": \"cgoshim/1\", \"pid\": %d, \"parent_pid\": %d, \"exe\": ", s->pid, s->parent_pid);
	json_str_or_empty(o, s->exe);
	outs(o, ", \"cmdline\": ");
	json_str_or_empty(o, s->cmdline);
	outs(o, ", \"trigger\": ");
	json_str_or_empty(o, s->trigger);
	outs(o, ", \"final\": ");
	json_bool(o, s->final);
	outs(o, ", \"final_at\": ");
	json_str_or_empty(o, s->final_at);
	outs(o, ", \"attached\": ");
	json_bool(o, s->attached);
	outf(o, ", \"calls_after_exit\": %" PRIu64, s->calls_after_exit);
	outf(o, ", \"seq\": %" PRIu32 ", \"duration_ns\": %" PRIu64 ", \"interval\": {\"mode\": \"%s\", "
		"\"since_ns\": %" PRIu64 "}, \"start_unix_ns\": %" PRId64,
	     s->seq, s->duration_ns, s->delta ? "delta" : "cumulative", s->since_ns, s->start_real_ns);

	outs(o, ", \"tsc\": {\"ns_per_tick\": ");
	json_double(o, "%.9g", rate);
	outs(o, ", \"ghz\": ");
	json_double(o, "%.6g", ghz);
	outs(o, ", \"constant\": ");
	json_bool(o, s->tsc_flags & CGS_TSC_CONSTANT);
	outs(o, ", \"nonstop\": ");
	json_bool(o, s->tsc_flags & CGS_TSC_NONSTOP);

	outs(o, "}, \"options\": {\"leaks\": ");
	json_bool(o, op->leaks);
	outs(o, ", \"targets\": ");
	json_bool(o, op->targets);
	outs(o, ", \"children\": ");
	json_bool(o, op->children);
	outs(o, ", \"format\": ");
	json_str(o, cgs_format_name(op->format));
	outs(o, ", \"signal\": ");
	json_str(o, cgs_signal_name(op->signal, sigbuf));
	outs(o, ", \"unwind\": ");
	json_str(o, cgs_unwind_name(op->unwind));
	outf(o, ", \"stack_depth\": %d, \"top\": %d, \"min_age_ns\": %" PRIu64 ", \"memory\": %" PRIu64
		", \"slow_ns\": %" PRIu64 ", \"ring_events\": %" PRIu32 ", \"numa_topology\": ",
	     op->stack_depth, op->top, json_int(op->min_age_ns), json_int(op->memory), json_int(op->slow_ns),
	     op->ring_events);
	char topology[CGS_TOPOLOGY_MAX + 1];
	memcpy(topology, op->numa_topology, CGS_TOPOLOGY_MAX);
	topology[CGS_TOPOLOGY_MAX] = 0;
	json_str(o, topology);
	outs(o, ", \"output\": ");
	char output[CGS_OUTPUT_MAX + 1];
	memcpy(output, op->output, CGS_OUTPUT_MAX);
	output[CGS_OUTPUT_MAX] = 0; /* never trust the terminator */
	json_str(o, output);
	outs(o, ", \"leak_kinds\": ");
	json_bool(o, op->leak_kinds);
	outs(o, ", \"suppress_defaults\": ");
	json_bool(o, op->suppress_defaults);
	char supp[CGS_OUTPUT_MAX + 1];
	memcpy(supp, op->suppress, CGS_OUTPUT_MAX);
	supp[CGS_OUTPUT_MAX] = 0;
	outs(o, ", \"suppress\": ");
	json_str(o, supp);
	char only[CGS_OUTPUT_MAX + 1];
	memcpy(only, op->only, CGS_OUTPUT_MAX);
	only[CGS_OUTPUT_MAX] = 0;
	outs(o, ", \"only\": ");
	json_str(o, only);

	outf(o, "}, \"shim\": {\"bytes\": %" PRIu64 ", \"threads\": %" PRIu64 ", \"go\": ",
	     s->shim_bytes, s->threads);
	json_str(o, s->go ? s->go : "");
	char note[400];
	signal_dumps_note(s, note, sizeof(note));
	outs(o, ", \"signal_dumps\": ");
	json_str(o, note);
	seccomp_note(s, note, sizeof(note));
	outs(o, ", \"seccomp\": ");
	json_str(o, note);
	outs(o, "}, \"counters\": {");
#define CGS_REPORT_JSON_COUNTER(name, why) outf(o, "\"" #name "\": %" PRIu64 ", ", s->counters.name);
	CGS_REPORT_COUNTERS(CGS_REPORT_JSON_COUNTER)
#undef CGS_REPORT_JSON_COUNTER
	outf(o, "\"inconsistent_reads\": %" PRIu32 "}, \"calls\": [", s->inconsistent);

	for (size_t i = 0; s->fns && i < s->nfns; i++) {
		const struct cgs_snap_fn *fn = &s->fns[i];
		outs(o, i ? ", {\"fn\": " : "{\"fn\": ");
		json_str_or_empty(o, fn->name);
		/* count and what follows describe the timed calls; not_timed
		 * the others (calls made = count + not_timed). */
		outf(o, ", \"not_timed\": %" PRIu64 ", ", fn->untimed);
		json_stat(o, s, &fn->st, fn->hist);
		outc(o, '}');
	}

	outs(o, "], \"targets\": [");
	for (size_t i = 0; s->targets && i < s->ntargets; i++) {
		const struct cgs_snap_target *t = &s->targets[i];
		outs(o, i ? ", {\"kind\": " : "{\"kind\": ");
		json_str_or_empty(o, t->kind);
		outs(o, ", \"target\": ");
		json_str_or_empty(o, t->label);
		outf(o, ", \"group\": \"%s\", \"paths\": %" PRIu64 ", ", target_group(t->group), t->paths);
		json_stat(o, s, &t->st, t->hist);
		outc(o, '}');
	}
	const struct cgs_snap_targets_info *ti = &s->tinfo;
	outf(o, "], \"target_rows\": {\"limit\": %d, \"files\": %" PRIu64 ", \"pattern_rows\": %" PRIu64
		", \"grouped\": %" PRIu64 ", \"rest_rows\": %" PRIu64 ", \"rest_paths\": %" PRIu64
		", \"other_calls\": %" PRIu64 ", \"paths_unsure\": %" PRIu64 "}",
	     s->opts.target_rows, ti->files, ti->pattern_rows, ti->grouped, ti->rest_rows, ti->rest_paths,
	     ti->other_calls, ti->paths_unsure);

	outs(o, ", \"leaks\": {\"enabled\": ");
	json_bool(o, s->leaks_enabled);
	outf(o, ", \"count\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"shown_count\": %" PRIu64
		", \"shown_bytes\": %" PRIu64 ", \"program_count\": %" PRIu64 ", \"program_bytes\": %" PRIu64
		", \"runtime_count\": %" PRIu64 ", \"runtime_bytes\": %" PRIu64 ", \"inherited_count\": %" PRIu64
		", \"inherited_bytes\": %" PRIu64 ", ",
	     s->leak_count, s->leak_bytes, s->shown_count, s->shown_bytes, s->shown_count - s->runtime_count,
	     s->shown_bytes - s->runtime_bytes, s->runtime_count, s->runtime_bytes, s->inherited_count,
	     s->inherited_bytes);
	json_kinds(o, s);
	outs(o, ", \"sites\": [");
	for (size_t i = 0; s->sites && i < s->nsites; i++) {
		const struct cgs_snap_site *site = &s->sites[i];
		outf(o, "%s{\"count\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"inherited_count\": %" PRIu64
			", \"inherited_bytes\": %" PRIu64 ", \"oldest_ns\": %" PRIu64 ", \"newest_ns\": %" PRIu64
			", \"kind\": ",
		     i ? ", " : "", site->count, site->bytes, site->inherited_count, site->inherited_bytes,
		     site->oldest_ns, site->newest_ns);
		json_str(o, cgs_kind_name(site->kind));
		outs(o, ", \"cgo\": ");
		json_str(o, site->cgo);
		outs(o, ", \"runtime\": ");
		json_bool(o, site->runtime);
		outs(o, ", \"frames\": [");
		for (int k = 0; site->frames && k < site->nframes; k++) {
			if (k)
				outs(o, ", ");
			json_frame(o, &site->frames[k]);
		}
		outs(o, "]}");
	}
	outs(o, "]}");
	json_heap(o, s);
	json_recorder(o, s);
	outs(o, "}\n");
}

/* ---- Text: number formatting ------------------------------------------ */

/* v rounded to 3 significant digits (exact in integers). */
static uint64_t round3(uint64_t v)
{
	uint64_t p = 1;
	while (v / p >= 1000)
		p *= 10;
	if (p == 1)
		return v;
	uint64_t q = v / p, r = v % p;
	if (2 * r >= p) /* half up; r < p <= 10^17, so no overflow */
		q++;
	if (q > UINT64_MAX / p)
		return UINT64_MAX / p * p;
	return q * p;
}

/* ns as people read it: "0ns", "999ns", "1.23us", "45.6ms", "789s",
 * 3 significant digits; whole seconds from 1000 s up. */
static const char *fmt_ns(uint64_t v, char buf[32])
{
	static const struct { const char *unit; uint64_t div; } units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "ms", 1000000 }, { "s", 1000000000 },
	};
	uint64_t r = round3(v);
	unsigned u = 0;
	while (u + 1 < CGS_ARRAY_LEN(units) && r >= units[u + 1].div)
		u++;
	uint64_t div = units[u].div, ip = r / div, frac = r % div;
	if (ip >= 100 || div == 1)
		snprintf(buf, 32, "%" PRIu64 "%s", ip, units[u].unit);
	else if (ip >= 10)
		snprintf(buf, 32, "%" PRIu64 ".%01" PRIu64 "%s", ip, frac / (div / 10), units[u].unit);
	else
		snprintf(buf, 32, "%" PRIu64 ".%02" PRIu64 "%s", ip, frac / (div / 100), units[u].unit);
	return buf;
}

/* Bytes with binary units, 3 significant digits: "512 B", "4.00 KiB". */
static const char *fmt_bytes(uint64_t v, char buf[32])
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double d = (double)v;
	unsigned u = 0;

	if (v < 1000) {
		snprintf(buf, 32, "%" PRIu64 " B", v);
		return buf;
	}
	while (u + 1 < CGS_ARRAY_LEN(units) && d >= 999.5) {
		d /= 1024;
		u++;
	}
	snprintf(buf, 32, d >= 99.95 ? "%.0f %s" : d >= 9.995 ? "%.1f %s" : "%.2f %s", d, units[u]);
	return buf;
}

/* A size as CGOSHIM_MEMORY accepts it: "8G", "96M", "12345". */
static const char *fmt_size_opt(uint64_t v, char buf[32])
{
	static const char units[] = "KMGT";
	int u = -1;
	while (u < 3 && v && v % 1024 == 0) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, 32, "%" PRIu64, v);
	else
		snprintf(buf, 32, "%" PRIu64 "%c", v, units[u]);
	return buf;
}

/* A duration as CGOSHIM_MIN_AGE accepts it: "0", "250ms", "2m". */
static const char *fmt_duration_opt(uint64_t ns, char buf[32])
{
	static const struct { const char *unit; uint64_t ns; } units[] = {
		{ "h", 3600000000000ULL }, { "m", 60000000000ULL }, { "s", 1000000000ULL },
		{ "ms", 1000000ULL }, { "us", 1000ULL }, { "ns", 1 },
	};
	if (!ns) {
		snprintf(buf, 32, "0");
		return buf;
	}
	for (size_t i = 0;; i++)
		if (ns % units[i].ns == 0) {
			snprintf(buf, 32, "%" PRIu64 "%s", ns / units[i].ns, units[i].unit);
			return buf;
		}
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* ---- Text: tables ------------------------------------------------------ */

#define TABLE_CELL 256
#define TABLE_MAX_COLS 12

/* Rows of cells; row 0 is the header. Columns are padded to their widest
 * cell, right-aligned unless their bit is set in left. */
struct table {
	unsigned ncols, left;
	size_t nrows, cap;
	char (*cell)[TABLE_CELL];
};

static char (*table_row(struct table *t))[TABLE_CELL]
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		void *p = realloc(t->cell, cap * t->ncols * TABLE_CELL);
		if (!p)
			return NULL;
		t->cell = p;
		t->cap = cap;
	}
	char (*row)[TABLE_CELL] = t->cell + t->nrows++ * t->ncols;
	memset(row, 0, t->ncols * TABLE_CELL);
	return row;
}

static void table_print(struct out *o, const struct table *t, const char *indent)
{
	size_t width[TABLE_MAX_COLS] = { 0 };

	for (size_t r = 0; r < t->nrows; r++)
		for (unsigned c = 0; c < t->ncols; c++) {
			size_t w = display_width(t->cell[r * t->ncols + c]);
			if (w > width[c])
				width[c] = w;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		outs(o, indent);
		for (unsigned c = 0; c < t->ncols; c++) {
			const char *cell = t->cell[r * t->ncols + c];
			int pad = (int)(width[c] - display_width(cell));
			bool left = t->left & (1u << c);
			if (c)
				outs(o, "  ");
			if (!left)
				outf(o, "%*s", pad, "");
			outs(o, cell);
			if (left && c + 1 < t->ncols)
				outf(o, "%*s", pad, "");
		}
		outc(o, '\n');
	}
}

/* A label for a table cell: sanitized, and at most `max` (<= 60) characters
 * wide, keeping the end (the file name) of a long path. 60 characters of at
 * most 4 bytes fit a cell, so nothing is cut inside a character. */
static void label_cell(char *dst, const char *src, size_t max)
{
	char tmp[4096];
	const char *p = tmp;
	size_t pre = 0;

	sanitize(tmp, sizeof(tmp), src ? src : "?");
	size_t w = display_width(p);
	if (w > max) {
		size_t skip = w - (max - 3);
		while (skip) {
			p++;
			if (((unsigned char)*p & 0xc0) != 0x80)
				skip--;
		}
		memcpy(dst, "...", 3);
		pre = 3;
	}
	size_t n = strlen(p);
	if (pre + n >= TABLE_CELL) /* only when max is too large: cut at a character */
		for (n = TABLE_CELL - 1 - pre; n && ((unsigned char)p[n] & 0xc0) == 0x80; n--)
			;
	memcpy(dst + pre, p, n);
	dst[pre + n] = 0;
}

/* ---- Text: sections ---------------------------------------------------- */

static void text_header(struct out *o, const struct cgs_snapshot *s)
{
	const struct cgs_options *op = &s->opts;
	char a[32], b[32], sigbuf[32];
	double rate = tick_rate(s);

	outf(o, "cgoshim report: pid %d, ", s->pid);
	if (s->parent_pid)
		outf(o, "fork child of %d, ", s->parent_pid);
	text_str(o, s->exe && *s->exe ? s->exe : "?");
	outs(o, ", trigger ");
	text_str(o, s->trigger && *s->trigger ? s->trigger : "?");
	outf(o, ", %s, dump #%" PRIu32 "\n", s->final ? "final" : "live", s->seq);
	if (s->final_at && !strcmp(s->final_at, "exit"))
		outs(o, "final: written at exit, while the program waited (CGOSHIM_EXIT_WAIT)\n");
	else if (s->final_at && !strcmp(s->final_at, "gone") && s->calls_after_exit)
		outf(o, "final: rewritten after the program was gone: %" PRIu64 " %s counted after the "
			"report written at exit\n", s->calls_after_exit, plural(s->calls_after_exit, "call", "calls"));
	else if (s->final_at && !strcmp(s->final_at, "gone"))
		outs(o, "final: written after the program was gone\n");
	else if (s->final_at && !strcmp(s->final_at, "detach"))
		outs(o, "final: written when cgoshim attach let go; the program runs on unmeasured\n");
	if (s->attached)
		outf(o, "attached: measured by cgoshim attach, from the attach on; blocks allocated before "
			"it are not tracked (%" PRIu64 " frees or reallocs of such blocks, counter "
			"unknown_frees)\n", s->counters.unknown_frees);
	if (s->cmdline && *s->cmdline) {
		outs(o, "command: ");
		text_str(o, s->cmdline);
		outc(o, '\n');
	}
	if (s->delta) {
		char b2[32];
		outf(o, "interval: DELTA, what happened from +%s to +%s (CGOSHIM_INTERVAL_MODE=delta;"
			" live leaks are the state now)\n", fmt_ns(s->since_ns, b2), fmt_ns(s->duration_ns, a));
	}
	outf(o, "duration: %s", fmt_ns(s->duration_ns, a));
	if (s->start_real_ns > 0) {
		time_t t = (time_t)(s->start_real_ns / 1000000000);
		struct tm tm;
		if (gmtime_r(&t, &tm) && strftime(b, sizeof(b), "%Y-%m-%d %H:%M:%S", &tm))
			outf(o, " (started %s UTC)", b);
	}
	outc(o, '\n');

	if (rate > 0 && isfinite(1.0 / rate))
		outf(o, "tsc: %.3f GHz (%.4f ns/tick)", 1.0 / rate, rate);
	else
		outs(o, "tsc: rate unknown, all times below read 0");
	outf(o, "%s%s\n", s->tsc_flags & CGS_TSC_CONSTANT ? ", constant" : "",
	     s->tsc_flags & CGS_TSC_NONSTOP ? ", nonstop" : "");
	if ((s->tsc_flags & (CGS_TSC_CONSTANT | CGS_TSC_NONSTOP)) != (CGS_TSC_CONSTANT | CGS_TSC_NONSTOP))
		outf(o, "warning: the TSC is not %s on this CPU: times can be wrong across frequency "
			"changes or sleep states\n",
		     !(s->tsc_flags & CGS_TSC_CONSTANT) && !(s->tsc_flags & CGS_TSC_NONSTOP)
			     ? "constant, nor nonstop"
		     : !(s->tsc_flags & CGS_TSC_CONSTANT) ? "constant" : "nonstop");

	/* In the variables' own syntax, so a run can be repeated as it was. */
	outf(o, "options: CGOSHIM_LEAKS=%d CGOSHIM_TARGETS=%d CGOSHIM_CHILDREN=%d CGOSHIM_FORMAT=%s "
		"CGOSHIM_SIGNAL=%s CGOSHIM_STACK_DEPTH=%d CGOSHIM_TOP=%d",
	     op->leaks, op->targets, op->children, cgs_format_name(op->format),
	     cgs_signal_name(op->signal, sigbuf), op->stack_depth, op->top);
	outf(o, " CGOSHIM_MIN_AGE=%s", fmt_duration_opt(op->min_age_ns, a));
	outf(o, " CGOSHIM_MEMORY=%s", fmt_size_opt(op->memory, a));
	outf(o, " CGOSHIM_SLOW_NS=%s", fmt_duration_opt(op->slow_ns, a));
	outf(o, " CGOSHIM_RING_EVENTS=%" PRIu32, op->ring_events);
	outf(o, " CGOSHIM_UNWIND=%s", cgs_unwind_name(op->unwind));
	outf(o, " CGOSHIM_EXIT_WAIT=%s", fmt_duration_opt(op->exit_wait_ns, a));
	if (op->interval_ns)
		outf(o, " CGOSHIM_INTERVAL=%s CGOSHIM_INTERVAL_MODE=%s", fmt_duration_opt(op->interval_ns, a),
		     op->interval_delta ? "delta" : "cumulative");
	if (op->numa_topology[0]) {
		char topology[CGS_TOPOLOGY_MAX + 1];
		memcpy(topology, op->numa_topology, CGS_TOPOLOGY_MAX);
		topology[CGS_TOPOLOGY_MAX] = 0;
		outs(o, " CGOSHIM_NUMA_TOPOLOGY=");
		text_str(o, topology);
	}
	outf(o, " CGOSHIM_LEAK_KINDS=%d CGOSHIM_SUPPRESS_DEFAULTS=%d", op->leak_kinds, op->suppress_defaults);
	if (op->suppress[0]) {
		char supp[CGS_OUTPUT_MAX + 1];
		memcpy(supp, op->suppress, CGS_OUTPUT_MAX);
		supp[CGS_OUTPUT_MAX] = 0;
		outs(o, " CGOSHIM_SUPPRESS=");
		text_str(o, supp);
	}
	char output[CGS_OUTPUT_MAX + 1];
	memcpy(output, op->output, CGS_OUTPUT_MAX);
	output[CGS_OUTPUT_MAX] = 0;
	outs(o, " CGOSHIM_OUTPUT=");
	text_str(o, output[0] ? output : "stderr");
	if (op->only[0]) {
		char only[CGS_OUTPUT_MAX + 1];
		memcpy(only, op->only, CGS_OUTPUT_MAX);
		only[CGS_OUTPUT_MAX] = 0;
		outs(o, " CGOSHIM_ONLY=");
		text_str(o, only);
	}
	if (op->launcher)
		outs(o, " CGOSHIM_LAUNCHER=1");
	if (op->disable)
		outs(o, " CGOSHIM_DISABLE=1");
	outc(o, '\n');

	outf(o, "shim: %s of its region in use, %" PRIu64 " thread %s\n",
	     fmt_bytes(s->shim_bytes, a), s->threads, plural(s->threads, "block", "blocks"));
	if (s->go && s->go[0]) {
		outs(o, "go: ");
		text_str(o, s->go);
		outc(o, '\n');
	}
	char note[400];
	signal_dumps_note(s, note, sizeof(note));
	if (note[0])
		outf(o, "dump signal: %s\n", note);
	seccomp_note(s, note, sizeof(note));
	if (note[0])
		outf(o, "seccomp: %s\n", note);

	bool any = s->inconsistent != 0;
#define CGS_REPORT_ANY(name, why) any |= s->counters.name != 0;
	CGS_REPORT_COUNTERS(CGS_REPORT_ANY)
#undef CGS_REPORT_ANY
	if (!any)
		return;
	outs(o, "counters:\n");
#define CGS_REPORT_TEXT_COUNTER(name, why)                                                       \
	if (s->counters.name)                                                                    \
		outf(o, "  %" PRIu64 " %s: %s\n", s->counters.name, #name, why);
	CGS_REPORT_COUNTERS(CGS_REPORT_TEXT_COUNTER)
#undef CGS_REPORT_TEXT_COUNTER
	if (s->inconsistent)
		outf(o, "  %" PRIu32 " inconsistent_reads: live reads that raced a writer too often; "
			"some numbers may be slightly off\n",
		     s->inconsistent);
}

static int text_calls(struct out *o, const struct cgs_snapshot *s)
{
	static const char *const head[] = { "fn", "count", "errors", "total", "min", "p50",
					    "p90", "p99", "p99.9", "max" };
	struct table t = { .ncols = CGS_ARRAY_LEN(head), .left = 1 };
	char (*row)[TABLE_CELL];
	bool untimed = false;

	outs(o, "\ncalls:\n");
	if (!s->fns || !s->nfns) {
		outs(o, "  no calls recorded\n");
		return 0;
	}
	if (!(row = table_row(&t)))
		goto oom;
	for (unsigned c = 0; c < t.ncols; c++)
		snprintf(row[c], TABLE_CELL, "%s", head[c]);
	for (size_t i = 0; i < s->nfns; i++) {
		const struct cgs_snap_fn *fn = &s->fns[i];
		struct summary sum;
		summarize(s, &fn->st, fn->hist, &sum);
		if (!(row = table_row(&t)))
			goto oom;
		label_cell(row[0], fn->name, 40);
		snprintf(row[1], TABLE_CELL, "%" PRIu64, sum.count + fn->untimed);
		/* Errors of calls not timed are not seen: "?" says so. */
		if (!fn->untimed)
			snprintf(row[2], TABLE_CELL, "%" PRIu64, sum.errors);
		else if (sum.count)
			snprintf(row[2], TABLE_CELL, "%" PRIu64 "+?", sum.errors);
		else
			snprintf(row[2], TABLE_CELL, "?");
		if (fn->untimed)
			untimed = true;
		if (!sum.count)
			snprintf(row[3], TABLE_CELL, "not timed");
		else
			fmt_ns(sum.total, row[3]);
		if (sum.count) {
			fmt_ns(sum.min, row[4]);
			for (unsigned q = 0; q < 4; q++)
				fmt_ns(sum.q[q], row[5 + q]);
			fmt_ns(sum.max, row[9]);
		} else {
			for (unsigned c = 4; c < t.ncols; c++)
				snprintf(row[c], TABLE_CELL, "-");
		}
	}
	table_print(o, &t, "  ");
	free(t.cell);
	for (size_t i = 0; untimed && i < s->nfns; i++)
		if (s->fns[i].untimed)
			outf(o, "  %s: %" PRIu64 " of %" PRIu64 " calls not timed (no return path through the "
				"caller's object; their errors are not seen; README, Limits)\n",
			     s->fns[i].name, s->fns[i].untimed, s->fns[i].untimed + s->fns[i].st.count);
	return 0;
oom:
	free(t.cell);
	return -1;
}

static int text_targets(struct out *o, const struct cgs_snapshot *s)
{
	static const char *const head[] = { "kind", "target", "paths", "count", "total", "p50", "p99", "max" };
	struct table t = { .ncols = CGS_ARRAY_LEN(head), .left = 3 };
	char (*row)[TABLE_CELL];

	if (!s->targets || !s->ntargets)
		return 0;
	outs(o, "\ntargets (by total time):\n");
	if (!(row = table_row(&t)))
		goto oom;
	for (unsigned c = 0; c < t.ncols; c++)
		snprintf(row[c], TABLE_CELL, "%s", head[c]);
	for (size_t i = 0; i < s->ntargets; i++) {
		const struct cgs_snap_target *tg = &s->targets[i];
		struct summary sum;
		summarize(s, &tg->st, tg->hist, &sum);
		if (!(row = table_row(&t)))
			goto oom;
		label_cell(row[0], tg->kind, 16);
		label_cell(row[1], tg->label, 60);
		snprintf(row[2], TABLE_CELL, "%" PRIu64, tg->paths);
		snprintf(row[3], TABLE_CELL, "%" PRIu64, sum.count);
		fmt_ns(sum.total, row[4]);
		if (sum.count) {
			fmt_ns(sum.q[0], row[5]);
			fmt_ns(sum.q[2], row[6]);
			fmt_ns(sum.max, row[7]);
		} else {
			for (unsigned c = 5; c < t.ncols; c++)
				snprintf(row[c], TABLE_CELL, "-");
		}
	}
	table_print(o, &t, "  ");
	const struct cgs_snap_targets_info *ti = &s->tinfo;
	if (ti->grouped || ti->rest_rows || ti->pattern_rows)
		outf(o, "  %" PRIu64 " files and paths in all; at most %d rows per kind (CGOSHIM_TARGET_ROWS): "
			"%" PRIu64 " %s by path pattern ('*' for runs of digits, hex or random characters), "
			"%" PRIu64 " %s summed into (rest) (%" PRIu64 " paths)\n",
		     ti->files, s->opts.target_rows, ti->grouped, plural(ti->grouped, "file merged", "files merged"),
		     ti->rest_rows, plural(ti->rest_rows, "row", "rows"), ti->rest_paths);
	if (ti->other_calls)
		outf(o, "  %" PRIu64 " %s counted under (other): no row left in the file table\n", ti->other_calls,
		     plural(ti->other_calls, "call", "calls"));
	if (ti->paths_unsure)
		outf(o, "  %" PRIu64 " paths counted as distinct without memory to check them\n", ti->paths_unsure);
	free(t.cell);
	return 0;
oom:
	free(t.cell);
	return -1;
}

/* Row of the power-of-two histogram that holds v ns: row 0 is 0..1 ns, row
 * k >= 1 is [2^k, 2^(k+1)). */
static unsigned pow2_row(uint64_t v)
{
	return v < 2 ? 0 : 63u - (unsigned)__builtin_clzll(v);
}

static void text_histogram(struct out *o, const struct cgs_snapshot *s, const struct cgs_snap_fn *fn)
{
	enum { BAR = 40 };
	uint64_t rows[64] = { 0 }, most = 0;
	unsigned first = 64, last = 0;

	if (!fn->hist || !fn->st.count)
		return;
	/* Each fine bucket lands in the row of its middle value, clamped to the
	 * exact min and max; buckets span 1/32 of their value or less, so few
	 * straddle a power of two. */
	for (unsigned i = 0; i < CGS_HIST_BUCKETS; i++) {
		if (!fn->hist[i])
			continue;
		uint64_t lo, hi;
		cgs_hist_bounds(i, &lo, &hi);
		uint64_t mid = lo + (bucket_last_tick(i, &fn->st) - lo) / 2;
		if (mid < fn->st.min)
			mid = fn->st.min;
		if (mid > fn->st.max)
			mid = fn->st.max;
		unsigned r = pow2_row(tick_ns(s, mid));
		rows[r] += fn->hist[i];
	}
	for (unsigned r = 0; r < 64; r++) {
		if (!rows[r])
			continue;
		if (r < first)
			first = r;
		last = r;
		if (rows[r] > most)
			most = rows[r];
	}
	if (!most)
		return;

	uint64_t top_hi = last == 63 ? UINT64_MAX : (2ULL << last) - 1;
	int w = snprintf(NULL, 0, "%" PRIu64, top_hi);
	int cw = snprintf(NULL, 0, "%" PRIu64, most);
	if (w < 5)
		w = 5;
	if (cw < 8)
		cw = 8;
	outs(o, "\n  ");
	text_str(o, fn->name);
	outf(o, ": %" PRIu64 " %s\n", fn->st.count, plural(fn->st.count, "call", "calls"));
	outf(o, "  %*s : %-*s distribution\n", 2 * w + 4, "ns", cw, "count");
	for (unsigned r = first; r <= last; r++) {
		uint64_t lo = r ? 1ULL << r : 0;
		uint64_t hi = r == 63 ? UINT64_MAX : (2ULL << r) - 1;
		char bar[BAR + 1];
		/* Scaled to the largest row; any non-empty row shows at least one star. */
		unsigned stars = (unsigned)((double)rows[r] * BAR / (double)most);
		if (rows[r] && !stars)
			stars = 1;
		memset(bar, '*', stars);
		memset(bar + stars, ' ', BAR - stars);
		bar[BAR] = 0;
		outf(o, "  %*" PRIu64 " -> %-*" PRIu64 " : %-*" PRIu64 " |%s|\n", w, lo, w, hi, cw, rows[r],
		     bar);
	}
}

static void text_frame(struct out *o, const struct cgs_frame_info *f)
{
	outs(o, "    ");
	if (f->function && *f->function) {
		text_str(o, f->function);
		if (f->file && *f->file) {
			outs(o, " (");
			text_str(o, f->file);
			if (f->line > 0)
				outf(o, ":%d", f->line);
			outc(o, ')');
		}
		if (f->module && *f->module) {
			outs(o, " [");
			text_str(o, base_name(f->module));
			outc(o, ']');
		}
	} else {
		outf(o, "0x%" PRIx64, f->addr);
		if (f->module && *f->module) {
			outs(o, " [");
			text_str(o, base_name(f->module));
			outf(o, "+0x%" PRIx64 "]", f->offset);
		}
	}
	outc(o, '\n');
}

/* Sites ordered by kind (definitely lost first), then bytes, then count,
 * descending; ties keep snapshot order. */
static int site_cmp(const void *a, const void *b, void *sites)
{
	const struct cgs_snap_site *base = sites;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const struct cgs_snap_site *x = &base[i], *y = &base[j];
	if (x->runtime != y->runtime)
		return x->runtime ? 1 : -1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return i < j ? -1 : i > j;
}

/* The kinds summary line, where the kinds come from, and what was suppressed. */
static void text_kinds(struct out *o, const struct cgs_snapshot *s)
{
	char a[32], b[32];
	const char *src = s->kinds_source ? s->kinds_source : "none";
	const struct cgs_reach_stats *st = &s->scan;
	if (!strcmp(src, "scan"))
		outf(o, "  kinds (a scan of the process's memory: %s read in %s):\n", fmt_bytes(st->root_bytes + st->block_bytes, a),
		     fmt_ns(st->ns, b));
	else if (!strcmp(src, "last_scan"))
		outf(o, "  kinds from the last live scan, %s before this report (the process was gone):\n",
		     fmt_ns(s->kinds_age_ns, a));
	else
		outf(o, "  kinds unknown: %s\n", s->kinds_why ? s->kinds_why : "no scan");
	if (!strcmp(src, "scan") || !strcmp(src, "last_scan")) {
		outs(o, "   ");
		for (int k = 0; k < CGS_KIND_COUNT; k++) {
			if (k == CGS_KIND_UNKNOWN && !s->kind_count[k])
				continue;
			outf(o, "%s %s: %" PRIu64 " bytes in %" PRIu64 " %s", k ? "," : "", cgs_kind_words[k],
			     s->kind_bytes[k], s->kind_count[k], plural(s->kind_count[k], "block", "blocks"));
		}
		outc(o, '\n');
	}
	if (s->suppressed_count) {
		outf(o, "  suppressed: %" PRIu64 " %s, %" PRIu64 " bytes\n", s->suppressed_count,
		     plural(s->suppressed_count, "block", "blocks"), s->suppressed_bytes);
		for (size_t i = 0; s->supp && i < s->nsupp; i++) {
			outs(o, "    leak:");
			text_str(o, s->supp[i].rule);
			outf(o, "%s  %" PRIu64 " %s, %" PRIu64 " bytes\n", s->supp[i].builtin ? " (built-in)" : "",
			     s->supp[i].count, plural(s->supp[i].count, "block", "blocks"), s->supp[i].bytes);
		}
	}
}

/* Sites order[0..n) of s, the top largest, then one line for the rest. */
static void text_sites(struct out *o, const struct cgs_snapshot *s, const size_t *order, size_t n, size_t top,
		       const char *what)
{
	char a[32], b[32];
	size_t shown = n < top ? n : top;
	outf(o, "  %s %zu %s by kind, then bytes (innermost frame first):\n", what, shown, plural(shown, "site", "sites"));
	for (size_t k = 0; k < shown; k++) {
		const struct cgs_snap_site *site = &s->sites[order[k]];
		/* grouped by kind, definitely lost first (site_cmp) */
		if (!k || site->kind != s->sites[order[k - 1]].kind)
			outf(o, "\n  %s:\n", cgs_kind_words[site->kind >= 0 && site->kind < CGS_KIND_COUNT
							       ? site->kind : CGS_KIND_UNKNOWN]);
		uint64_t age_old = s->duration_ns > site->oldest_ns ? s->duration_ns - site->oldest_ns : 0;
		uint64_t age_new = s->duration_ns > site->newest_ns ? s->duration_ns - site->newest_ns : 0;
		outf(o, "\n  #%zu %" PRIu64 " bytes in %" PRIu64 " %s", k + 1, site->bytes, site->count,
		     plural(site->count, "allocation", "allocations"));
		if (age_old == age_new)
			outf(o, " (age %s", fmt_ns(age_old, a));
		else
			outf(o, " (age %s..%s", fmt_ns(age_old, a), fmt_ns(age_new, b));
		if (site->inherited_count)
			outf(o, "; %" PRIu64 " inherited at fork", site->inherited_count);
		outs(o, ")\n");
		if (!site->frames || site->nframes <= 0)
			outs(o, "    (no stack)\n");
		for (int f = 0; site->frames && f < site->nframes; f++)
			text_frame(o, &site->frames[f]);
		if (site->cgo) {
			outs(o, "    via ");
			text_str(o, site->cgo);
			outc(o, '\n');
		}
	}
	if (shown < n) {
		uint64_t rest = 0, rest_count = 0;
		for (size_t k = shown; k < n; k++) {
			rest += s->sites[order[k]].bytes;
			rest_count += s->sites[order[k]].count;
		}
		outf(o, "\n  ... %zu more %s: %" PRIu64 " bytes in %" PRIu64 " %s (CGOSHIM_TOP=%zu)\n", n - shown,
		     plural(n - shown, "site", "sites"), rest, rest_count,
		     plural(rest_count, "allocation", "allocations"), top);
	}
}

static int text_leaks(struct out *o, const struct cgs_snapshot *s)
{
	char a[32];
	size_t nsites = s->sites ? s->nsites : 0;

	outs(o, "\nleaks:\n");
	if (!s->leaks_enabled) {
		outs(o, "  leak tracking off (CGOSHIM_LEAKS=0)\n");
		return 0;
	}
	outf(o, "  live C heap: %" PRIu64 " %s, %" PRIu64 " bytes (%s) in %zu %s\n", s->leak_count,
	     plural(s->leak_count, "allocation", "allocations"), s->leak_bytes,
	     fmt_bytes(s->leak_bytes, a), nsites, plural(nsites, "site", "sites"));
	if (s->opts.min_age_ns || s->shown_count != s->leak_count || s->shown_bytes != s->leak_bytes)
		outf(o, "  at least %s old (CGOSHIM_MIN_AGE): %" PRIu64 " %s, %" PRIu64 " bytes\n",
		     fmt_ns(s->opts.min_age_ns, a), s->shown_count,
		     plural(s->shown_count, "allocation", "allocations"), s->shown_bytes);
	text_kinds(o, s);
	if (!nsites)
		return 0;

	size_t *order = malloc(nsites * sizeof(*order));
	if (!order)
		return -1;
	for (size_t i = 0; i < nsites; i++)
		order[i] = i;
	qsort_r(order, nsites, sizeof(*order), site_cmp, (void *)s->sites);

	size_t top = s->opts.top > 0 ? (size_t)s->opts.top : 20;
	size_t nprog = 0;
	while (nprog < nsites && !s->sites[order[nprog]].runtime)
		nprog++;
	if (nprog < nsites)
		outf(o, "  the program's: %" PRIu64 " %s, %" PRIu64 " bytes in %zu %s; the loader's, for live"
			" threads: %" PRIu64 " %s, %" PRIu64 " bytes in %zu %s (listed last)\n",
		     s->shown_count - s->runtime_count,
		     plural(s->shown_count - s->runtime_count, "allocation", "allocations"),
		     s->shown_bytes - s->runtime_bytes, nprog, plural(nprog, "site", "sites"), s->runtime_count,
		     plural(s->runtime_count, "allocation", "allocations"), s->runtime_bytes, nsites - nprog,
		     plural(nsites - nprog, "site", "sites"));
	if (nprog)
		text_sites(o, s, order, nprog, top, "largest");
	if (nprog < nsites) {
		outs(o, "\n  held by the loader for live threads (pthread_create's thread storage, the Go runtime's Ms\n"
			"  included); not the program's leaks, not counted by cgoshim diff:\n");
		text_sites(o, s, order + nprog, nsites - nprog, top, "largest");
	}
	free(order);
	return 0;
}

/* Heap totals, the peak and the sites by bytes allocated over the run. */
static int text_heap(struct out *o, const struct cgs_snapshot *s)
{
	const struct cgs_snap_heap *h = &s->heap;
	char a[32], b[32], c[32];
	if (!h->enabled)
		return 0;
	outf(o, "\nheap over the whole run: %" PRIu64 " allocs, %" PRIu64 " frees, %" PRIu64
		" bytes allocated (%s); %" PRIu64 " temporary (%.1f%%: freed by their thread before it allocated again)\n",
	     h->allocs, h->frees, h->bytes, fmt_bytes(h->bytes, a), h->temps,
	     h->allocs ? 100.0 * (double)h->temps / (double)h->allocs : 0.0);
	outf(o, "  peak: %" PRIu64 " bytes (%s) live at +%s (sampled every %s)", h->peak_bytes,
	     fmt_bytes(h->peak_bytes, a), fmt_ns(h->peak_ns, b), fmt_ns(h->sample_ns, c));
	if (!h->npeak) {
		outc(o, '\n');
	} else {
		outs(o, ", held most by:\n");
		for (size_t i = 0; i < h->npeak; i++) {
			const struct cgs_snap_site *p = &h->peak_sites[i];
			outf(o, "\n  peak #%zu %" PRIu64 " bytes (%s) in %" PRIu64 " %s\n", i + 1, p->bytes,
			     fmt_bytes(p->bytes, a), p->count, plural(p->count, "allocation", "allocations"));
			if (!p->frames || p->nframes <= 0)
				outs(o, "    (no stack)\n");
			for (int k = 0; p->frames && k < p->nframes; k++)
				text_frame(o, &p->frames[k]);
		}
	}
	size_t top = s->opts.top > 0 ? (size_t)s->opts.top : 20;
	size_t shown = h->nsites < top ? h->nsites : top;
	if (!shown)
		return 0;
	outf(o, "\n  allocations by site over the whole run, largest %zu of %zu by bytes:\n", shown, h->nsites);
	for (size_t i = 0; i < shown; i++) {
		const struct cgs_snap_tsite *t = &h->sites[i];
		outf(o, "\n  alloc #%zu %" PRIu64 " bytes (%s) in %" PRIu64 " %s, %" PRIu64 " temporary\n", i + 1,
		     t->bytes, fmt_bytes(t->bytes, a), t->allocs, plural(t->allocs, "allocation", "allocations"),
		     t->temps);
		if (!t->frames || t->nframes <= 0)
			outs(o, "    (no stack)\n");
		for (int k = 0; t->frames && k < t->nframes; k++)
			text_frame(o, &t->frames[k]);
	}
	return 0;
}

/* ---- Flight recorder: text --------------------------------------------- */

/* What the timeline shows in its target column. */
static void event_target_cell(char *dst, const struct cgs_snap_event *e)
{
	char tmp[TABLE_CELL];
	int family = e->fn >= 0 && e->fn < CGS_FN_COUNT ? cgs_fn_family[e->fn] : -1;

	if (family == CGS_FAM_HEAP)
		snprintf(tmp, sizeof(tmp), "%" PRIu64 " bytes", e->arg);
	else if (family == CGS_FAM_IOCTL)
		snprintf(tmp, sizeof(tmp), "%.200s (fd %d, request 0x%" PRIx64 ")", e->target ? e->target : "?",
			 e->fd, e->arg);
	else if (e->fd >= 0 && family != CGS_FAM_OPEN)
		snprintf(tmp, sizeof(tmp), "%.200s (fd %d)", e->target ? e->target : "?", e->fd);
	else
		snprintf(tmp, sizeof(tmp), "%.240s", e->target ? e->target : "");
	label_cell(dst, tmp, 60);
}

static int by_dur_desc(const void *a, const void *b, void *events)
{
	const struct cgs_snap_event *ev = events;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	if (ev[i].dur != ev[j].dur)
		return ev[i].dur > ev[j].dur ? -1 : 1;
	return i < j ? -1 : i > j;
}

static int by_index(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	return i < j ? -1 : i > j;
}

static int text_rings(struct out *o, const struct cgs_snapshot *s)
{
	static const char *const head[] = { "node", "cpus", "memory", "bound to", "written",
					    "overwritten", "calls", "time" };
	struct table t = { .ncols = CGS_ARRAY_LEN(head), .left = (1u << 1) | (1u << 3) };
	char (*row)[TABLE_CELL];
	char a[32];

	outf(o, "  %zu %s of %" PRIu64 " records (NUMA topology: %s; CPU from %s):\n", s->nrings,
	     plural(s->nrings, "ring", "rings"), s->ring_events, s->topology ? s->topology : "?",
	     s->cpu_source ? s->cpu_source : "?");
	if (!(row = table_row(&t)))
		goto oom;
	for (unsigned c = 0; c < t.ncols; c++)
		snprintf(row[c], TABLE_CELL, "%s", head[c]);
	for (size_t i = 0; s->rings && i < s->nrings; i++) {
		const struct cgs_snap_ring *r = &s->rings[i];
		if (!(row = table_row(&t)))
			goto oom;
		snprintf(row[0], TABLE_CELL, "%d", r->node);
		label_cell(row[1], r->cpus ? r->cpus : "", 40);
		fmt_bytes(r->bytes, row[2]);
		if (r->bound_node >= 0)
			snprintf(row[3], TABLE_CELL, "node %d (%s)", r->bound_node, r->policy ? r->policy : "?");
		else
			snprintf(row[3], TABLE_CELL, "not bound");
		snprintf(row[4], TABLE_CELL, "%" PRIu64, r->written);
		snprintf(row[5], TABLE_CELL, "%" PRIu64, r->overwritten);
		snprintf(row[6], TABLE_CELL, "%" PRIu64, r->calls);
		snprintf(row[7], TABLE_CELL, "%s", fmt_ns(tick_ns(s, r->ticks), a));
	}
	table_print(o, &t, "  ");
	free(t.cell);
	outs(o, "  (calls and time: every call of a thread, counted on the node it was last seen on)\n");
	uint64_t rw[2] = { 0, 0 }, ro[2] = { 0, 0 }, rc = 0;
	for (size_t i = 0; s->rings && i < s->nrings; i++) {
		rc = s->rings[i].routine_capacity;
		for (int k = 0; k < 2; k++) {
			rw[k] += s->rings[i].routine_written[k];
			ro[k] += s->rings[i].routine_overwritten[k];
		}
	}
	if (rc)
		outf(o, "  dl calls under the threshold have rings of their own (%" PRIu64 " records a node), so they\n"
			"  never push a slow call out: dlopen/dlclose %" PRIu64 " written (%" PRIu64
			" overwritten), dlsym/dlvsym %" PRIu64 " written (%" PRIu64 " overwritten)\n",
		     rc, rw[0], ro[0], rw[1], ro[1]);
	if (s->unattributed_calls)
		outf(o, "  %" PRIu64 " calls (%s) of threads never seen on a node are in no row\n",
		     s->unattributed_calls, fmt_ns(tick_ns(s, s->unattributed_ticks), a));
	for (size_t i = 0; s->rings && i < s->nrings; i++)
		if (s->rings[i].in_flight || s->rings[i].torn)
			outf(o, "  node %d: %" PRIu64 " records being written and %" PRIu64
				" torn were left out\n",
			     s->rings[i].node, s->rings[i].in_flight, s->rings[i].torn);
	return 0;
oom:
	free(t.cell);
	return -1;
}

static int text_recorder(struct out *o, const struct cgs_snapshot *s)
{
	static const char *const head[] = { "#", "at", "tid", "node", "cpu", "fn", "target", "duration",
					    "result" };
	struct table t = { .ncols = CGS_ARRAY_LEN(head), .left = (1u << 5) | (1u << 6) };
	char (*row)[TABLE_CELL];
	char a[32];
	size_t *order = NULL;

	if (!s->recorder)
		return 0;
	outf(o, "\nflight recorder: calls of %s or more (CGOSHIM_SLOW_NS), and every dlopen, dlsym, "
		"dlvsym and dlclose\n",
	     fmt_ns(s->opts.slow_ns, a));
	if (text_rings(o, s))
		return -1;
	size_t n = s->events ? s->nevents : 0;
	if (!n) {
		outs(o, "\nslowest recent calls: none recorded\n");
		return 0;
	}
	if (!(order = malloc(n * sizeof(*order))))
		return -1;
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), by_dur_desc, (void *)s->events);
	size_t top = s->opts.top > 0 ? (size_t)s->opts.top : 20;
	size_t shown = n < top ? n : top;
	qsort(order, shown, sizeof(*order), by_index);
	outf(o, "\nslowest recent calls (%zu of %zu recorded, CGOSHIM_TOP=%zu), in time order:\n", shown, n, top);
	if (!(row = table_row(&t)))
		goto oom;
	for (unsigned c = 0; c < t.ncols; c++)
		snprintf(row[c], TABLE_CELL, "%s", head[c]);
	for (size_t k = 0; k < shown; k++) {
		const struct cgs_snap_event *e = &s->events[order[k]];
		if (!(row = table_row(&t)))
			goto oom;
		snprintf(row[0], TABLE_CELL, "%zu", k + 1);
		snprintf(row[1], TABLE_CELL, "+%s", fmt_ns(tick_ns(s, e->t_ticks), a));
		snprintf(row[2], TABLE_CELL, "%d", (int)e->tid);
		snprintf(row[3], TABLE_CELL, "%d", e->node);
		snprintf(row[4], TABLE_CELL, "%d", e->cpu);
		label_cell(row[5], event_fn(e), 40);
		event_target_cell(row[6], e);
		fmt_ns(tick_ns(s, e->dur), row[7]);
		if (e->err)
			snprintf(row[8], TABLE_CELL, "%" PRId64 " (errno %d: %s)", e->result, e->err,
				 strerror(e->err));
		else if (e->fn >= 0 && e->fn < CGS_FN_COUNT &&
			 (cgs_fn_family[e->fn] == CGS_FAM_HEAP || cgs_fn_family[e->fn] == CGS_FAM_DL) &&
			 e->fn != CGS_FN_dlclose)
			snprintf(row[8], TABLE_CELL, "%s", e->result ? "ok" : "NULL");
		else
			snprintf(row[8], TABLE_CELL, "%" PRId64, e->result);
	}
	table_print(o, &t, "  ");
	free(t.cell);
	t.cell = NULL;
	/* Each distinct stack once, with the calls that share it: a loop's
	 * calls from one place give one stack, not one per call. */
	for (size_t k = 0; k < shown; k++) {
		const struct cgs_snap_event *e = &s->events[order[k]];
		bool seen = false;
		for (size_t j = 0; j < k && !seen; j++)
			seen = s->events[order[j]].stack_id == e->stack_id && e->stack_id;
		if (seen)
			continue;
		outs(o, "\n  ");
		size_t run_from = 0, last = 0;
		bool any = false;
		for (size_t j = k; j < shown; j++) {
			const struct cgs_snap_event *x = &s->events[order[j]];
			if (j != k && (!e->stack_id || x->stack_id != e->stack_id))
				continue;
			if (any && j == last + 1) {
				last = j;
				continue;
			}
			if (any)
				outf(o, run_from == last ? "#%zu, " : "#%zu-#%zu, ", run_from + 1, last + 1);
			run_from = last = j;
			any = true;
		}
		outf(o, run_from == last ? "#%zu " : "#%zu-#%zu ", run_from + 1, last + 1);
		text_str(o, event_fn(e));
		outs(o, " stack (innermost frame first):\n");
		if (!e->frames || e->nframes <= 0)
			outs(o, "    (no stack)\n");
		for (int f = 0; e->frames && f < e->nframes; f++)
			text_frame(o, &e->frames[f]);
	}
	free(order);
	return 0;
oom:
	free(t.cell);
	free(order);
	return -1;
}

static int write_text(struct out *o, const struct cgs_snapshot *s)
{
	text_header(o, s);
	if (text_calls(o, s) || text_targets(o, s))
		return -1;
	for (size_t i = 0; s->fns && i < s->nfns; i++)
		text_histogram(o, s, &s->fns[i]);
	if (text_leaks(o, s) || text_heap(o, s))
		return -1;
	return text_recorder(o, s);
}

/* ---- Folded ------------------------------------------------------------ */

/* One frame's name, safe for a folded line: no ';', no blanks, no control or
 * invalid bytes. */
static void folded_frame(struct out *o, const struct cgs_frame_info *f)
{
	static const char unsafe[] = "; \t\r\n\v\f";

	if (f->function && *f->function) {
		put_clean(o, f->function, '_', unsafe);
	} else if (f->module && *f->module) {
		put_clean(o, base_name(f->module), '_', unsafe);
		outf(o, "+0x%" PRIx64, f->offset);
	} else {
		outf(o, "0x%" PRIx64, f->addr);
	}
}

static void write_folded(struct out *o, const struct cgs_snapshot *s)
{
	if (!s->leaks_enabled)
		return;
	for (size_t i = 0; s->sites && i < s->nsites; i++) {
		const struct cgs_snap_site *site = &s->sites[i];
		int n = site->frames ? site->nframes : 0;
		if (site->runtime)
			outs(o, n > 0 ? "[runtime];" : "[runtime]");
		/* The kind as the root frame, when kinds are known. */
		if (s->kinds_source && (!strcmp(s->kinds_source, "scan") || !strcmp(s->kinds_source, "last_scan")))
			outf(o, "[%s];", cgs_kind_name(site->kind));
		if (n <= 0)
			outs(o, "[unknown]");
		for (int k = n - 1; k >= 0; k--) {
			folded_frame(o, &site->frames[k]);
			if (k)
				outc(o, ';');
		}
		outf(o, " %" PRIu64 "\n", site->bytes);
	}
}

/* ---- Chrome trace events ----------------------------------------------- */

/* One frame as a string, for the "stack" argument of a trace event. */
static void chrome_frame(struct out *o, const struct cgs_frame_info *f)
{
	char buf[1024];
	if (f->function && *f->function) {
		if (f->file && *f->file && f->line > 0)
			snprintf(buf, sizeof(buf), "%.400s (%.400s:%d)", f->function, base_name(f->file), f->line);
		else
			snprintf(buf, sizeof(buf), "%.400s", f->function);
	} else if (f->module && *f->module) {
		snprintf(buf, sizeof(buf), "%.400s+0x%" PRIx64, base_name(f->module), f->offset);
	} else {
		snprintf(buf, sizeof(buf), "0x%" PRIx64, f->addr);
	}
	json_str(o, buf);
}

/* The flight recorder's events in the Trace Event Format (the JSON object
 * form) that chrome://tracing and Perfetto open: one complete ("X") event
 * per record, times in microseconds since the process started. */
static void write_chrome(struct out *o, const struct cgs_snapshot *s)
{
	outf(o, "{\"traceEvents\": [{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": %d, \"tid\": 0, "
		"\"args\": {\"name\": ",
	     s->pid);
	json_str_or_empty(o, s->exe && *s->exe ? s->exe : "?");
	outs(o, "}}");
	for (size_t i = 0; s->events && i < s->nevents; i++) {
		const struct cgs_snap_event *e = &s->events[i];
		int family = e->fn >= 0 && e->fn < CGS_FN_COUNT ? cgs_fn_family[e->fn] : -1;
		uint64_t ts = tick_ns(s, e->t_ticks), dur = tick_ns(s, e->dur);
		outs(o, ",\n{\"name\": ");
		json_str(o, event_fn(e));
		outs(o, ", \"cat\": ");
		json_str(o, family >= 0 && family < (int)CGS_ARRAY_LEN(family_name) ? family_name[family] : "?");
		outf(o, ", \"ph\": \"X\", \"ts\": %" PRIu64 ".%03u, \"dur\": %" PRIu64 ".%03u, \"pid\": %d, "
			"\"tid\": %d, \"args\": {\"target\": ",
		     ts / 1000, (unsigned)(ts % 1000), dur / 1000, (unsigned)(dur % 1000), s->pid, (int)e->tid);
		json_str(o, e->target);
		outf(o, ", \"node\": %d, \"cpu\": %d, \"fd\": %d, \"arg\": %" PRIu64 ", \"result\": %" PRId64
			", \"errno\": %d, \"stack\": [",
		     e->node, e->cpu, e->fd, json_int(e->arg), e->result, e->err);
		for (int k = 0; e->frames && k < e->nframes; k++) {
			if (k)
				outs(o, ", ");
			chrome_frame(o, &e->frames[k]);
		}
		outs(o, "]}}");
	}
	outf(o, "],\n\"displayTimeUnit\": \"ns\", \"otherData\": {\"schema\": \"cgoshim/1\", \"pid\": %d, "
		"\"trigger\": ",
	     s->pid);
	json_str_or_empty(o, s->trigger);
	outs(o, ", \"final\": ");
	json_bool(o, s->final);
	outf(o, ", \"slow_ns\": %" PRIu64 ", \"events\": %zu}}\n", json_int(s->opts.slow_ns),
	     s->events ? s->nevents : 0);
}

/* ---- Entry point ------------------------------------------------------- */

int cgs_report_write(const struct cgs_snapshot *s, int format, FILE *out)
{
	struct out o = { .f = out, .err = 0 };

	/* Formats for other tools: report_pprof.c, report_om.c. */
	if (s && out && format == CGS_FMT_PPROF)
		return cgs_report_pprof(s, out);
	if (s && out && format == CGS_FMT_OPENMETRICS)
		return cgs_report_om(s, out);
	if (!s || !out ||
	    (format != CGS_FMT_TEXT && format != CGS_FMT_JSON && format != CGS_FMT_FOLDED && format != CGS_FMT_CHROME)) {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	switch (format) {
	case CGS_FMT_JSON:
		write_json(&o, s);
		break;
	case CGS_FMT_FOLDED:
		write_folded(&o, s);
		break;
	case CGS_FMT_CHROME:
		write_chrome(&o, s);
		break;
	default:
		if (write_text(&o, s) && !o.err)
			o.err = ENOMEM;
		break;
	}
	if (!o.err && fflush(out) == EOF)
		out_failed(&o);
	if (!o.err && ferror(out))
		o.err = EIO;
	if (o.err) {
		errno = o.err;
		return -1;
	}
	return 0;
}
