/* test_pprof.c - the pprof and Prometheus writers (shim/report_pprof.c,
 * shim/report_om.c) on snapshots made by hand, and the options they add.
 *
 * pprof: the output is gunzipped with zlib and decoded by the minimal
 * protobuf decoder below (written from profile.proto's field numbers, not
 * from the writer), then checked as pprof would read it: the string table
 * starts with "" and holds no duplicate, every id is unique and every
 * reference resolves, each leak site is a sample whose locations give back
 * its frames (function, file, line) innermost first with values [count,
 * bytes, 0, 0], each function a one-frame sample with [0, 0, calls, ns], and
 * a mapping of a real ELF file (this test program) has the address range
 * that holds the frame and the build-id the loader sees in memory.
 *
 * Prometheus: the text is read back by a strict parser of the exposition
 * format below (names, label escapes, values), and compared with the JSON
 * report of the same snapshot: counters equal the JSON counts, each
 * cumulative "le" bucket equals the sum of the JSON buckets at or below it,
 * _sum equals total_ns. When promtool is installed it must accept every
 * output too; without it that one check is left out, and the test says so. */
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <link.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <zlib.h>

#include "options.h"
#include "report_extra.h"
#include "snapshot.h"

/* ---- Snapshots ---------------------------------------------------------- */

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);
	ck_assert_ptr_nonnull(p);
	return p;
}

static struct cgs_frame_info frame(const char *fn, const char *module, const char *file, int line,
				   uint64_t addr, uint64_t offset)
{
	struct cgs_frame_info f = { .addr = addr, .function = fn, .module = module, .file = file,
				    .line = line, .offset = offset };
	return f;
}

#define NASTY "we\"ird\\na\nme\xff|\xc3\xa9"

/* At 1 ns per tick:
 *   read:   values 1..1000, every tenth an error
 *   malloc: 100 x 50 and one 1000000
 *   ioctl:  one 2^45 (beyond the last fine bucket, and beyond 10 s)
 *   close:  one 247, open: one 250 (a boundary, but in the fine bucket
 *           248..251, whose last value is above it)
 * Leak sites: 4096 bytes in 1 (3 frames), 300 in 3 (cgo label; a frame
 * with no function, a frame in no module), 10 in 1 (no stack); the same
 * return address 0x401300 appears in two sites. */
static struct cgs_snapshot *rich(void)
{
	struct cgs_snapshot *s = xcalloc(1, sizeof(*s));
	cgs_options_parse(&s->opts, NULL, true);
	s->pid = 4242;
	s->exe = "/usr/local/bin/leaky";
	s->cmdline = "leaky --loops 3";
	s->trigger = "signal";
	s->final = true;
	s->seq = 7;
	s->ns_per_tick = 1.0;
	s->duration_ns = 5000000000ULL;
	s->start_real_ns = 1700000000123456789LL;

	static const char *const names[] = { "read", "malloc", "ioctl", "close", "open" };
	s->nfns = CGS_ARRAY_LEN(names);
	s->fns = xcalloc(s->nfns, sizeof(*s->fns));
	for (size_t i = 0; i < s->nfns; i++) {
		s->fns[i].name = names[i];
		s->fns[i].hist = xcalloc(CGS_HIST_BUCKETS, sizeof(uint64_t));
	}
	for (uint64_t v = 1; v <= 1000; v++)
		cgs_stat_add(&s->fns[0].st, s->fns[0].hist, v, v % 10 == 0);
	for (int i = 0; i < 100; i++)
		cgs_stat_add(&s->fns[1].st, s->fns[1].hist, 50, false);
	cgs_stat_add(&s->fns[1].st, s->fns[1].hist, 1000000, false);
	cgs_stat_add(&s->fns[2].st, s->fns[2].hist, 1ULL << 45, true);
	cgs_stat_add(&s->fns[3].st, s->fns[3].hist, 247, false);
	cgs_stat_add(&s->fns[4].st, s->fns[4].hist, 250, false);

	s->leaks_enabled = true;
	s->nsites = 3;
	s->sites = xcalloc(s->nsites, sizeof(*s->sites));
	struct cgs_snap_site *a = &s->sites[0], *b = &s->sites[1], *c = &s->sites[2];
	a->count = 1, a->bytes = 4096;
	a->nframes = 3;
	a->frames = xcalloc(3, sizeof(*a->frames));
	a->frames[0] = frame("leak_loop", "/usr/local/bin/leaky", "leaky.c", 12, 0x401234, 0x1234);
	a->frames[1] = frame("main", "/usr/local/bin/leaky", "leaky.c", 30, 0x401300, 0x1300);
	a->frames[2] = frame("__libc_start_main", "/lib/x86_64-linux-gnu/libc.so.6", NULL, 0,
			     0x7f0000001000, 0x1000);
	b->count = 3, b->bytes = 300;
	b->kind = CGS_KIND_REACHABLE;
	b->cgo = "C.CString";
	b->nframes = 4;
	b->frames = xcalloc(4, sizeof(*b->frames));
	b->frames[0] = frame(NASTY, "/tmp/lib x.so", "we\"ird\\file.c", 7, 0x7f0000205000, 0x5000);
	b->frames[1] = frame(NULL, "/tmp/lib x.so", NULL, 0, 0x7f0000201234, 0x1234);
	b->frames[2] = frame(NULL, NULL, NULL, 0, 0xdeadbeef, 0);
	b->frames[3] = frame("main", "/usr/local/bin/leaky", "leaky.c", 30, 0x401300, 0x1300);
	c->count = 1, c->bytes = 10;
	c->kind = CGS_KIND_UNKNOWN;
	s->leak_count = 5, s->leak_bytes = 4406;
	s->shown_count = 5, s->shown_bytes = 4406;
	return s;
}

static void free_snapshot(struct cgs_snapshot *s)
{
	for (size_t i = 0; i < s->nfns; i++)
		free(s->fns[i].hist);
	for (size_t i = 0; i < s->nsites; i++)
		free(s->sites[i].frames);
	free(s->fns);
	free(s->sites);
	free(s);
}

/* Write s in fmt; returns the bytes (NUL-terminated) and their count. */
static uint8_t *render(const struct cgs_snapshot *s, int fmt, size_t *len)
{
	FILE *f = tmpfile();
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(cgs_report_write(s, fmt, f), 0);
	long n = ftell(f);
	ck_assert_int_gt(n, 0);
	uint8_t *buf = malloc((size_t)n + 1);
	rewind(f);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* ---- gunzip and a minimal profile.proto decoder ------------------------ */

/* check's ck_assert records every passing assertion (a write to its pipe),
 * far too slow inside the loops below: check there, report on failure. */
#define REQUIRE(cond, ...)                        \
	do {                                      \
		if (!(cond))                      \
			ck_abort_msg(__VA_ARGS__); \
	} while (0)

static uint8_t *gunzip(const uint8_t *in, size_t n, size_t *outlen)
{
	ck_assert_msg(n >= 18 && in[0] == 0x1f && in[1] == 0x8b, "not gzip");
	z_stream z;
	memset(&z, 0, sizeof(z));
	ck_assert_int_eq(inflateInit2(&z, 15 + 16), Z_OK);
	size_t cap = 1 << 16, len = 0;
	uint8_t *out = malloc(cap);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	int rc;
	do {
		if (len == cap)
			out = realloc(out, cap *= 2);
		z.next_out = out + len;
		z.avail_out = (uInt)(cap - len);
		rc = inflate(&z, Z_NO_FLUSH);
		len = cap - z.avail_out;
		ck_assert_msg(rc == Z_OK || rc == Z_STREAM_END, "inflate: %d", rc);
	} while (rc != Z_STREAM_END);
	ck_assert_uint_eq(z.avail_in, 0); /* nothing after the stream */
	inflateEnd(&z);
	*outlen = len;
	return out;
}

struct rd {
	const uint8_t *p, *end;
};

static uint64_t rd_varint(struct rd *r)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		REQUIRE(r->p < r->end, "varint runs past its message");
		uint8_t b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	ck_abort_msg("varint longer than 10 bytes");
	return 0;
}

/* Next field of a message: its number, wire type, and value (varint) or
 * bytes (length-delimited). False at the end. */
static bool rd_field(struct rd *r, unsigned *field, unsigned *wt, uint64_t *v, struct rd *sub)
{
	if (r->p >= r->end)
		return false;
	uint64_t key = rd_varint(r);
	*field = (unsigned)(key >> 3);
	*wt = (unsigned)(key & 7);
	REQUIRE(*field > 0, "*field > 0");
	if (*wt == 0) {
		*v = rd_varint(r);
	} else if (*wt == 2) {
		uint64_t n = rd_varint(r);
		REQUIRE(n <= (uint64_t)(r->end - r->p), "length past the end");
		sub->p = r->p;
		sub->end = r->p + n;
		r->p += n;
	} else {
		ck_abort_msg("wire type %u: the writer uses only varints and bytes", *wt);
	}
	return true;
}

/* A repeated varint field, packed or not, appended to v. */
static void rd_repeated(unsigned wt, uint64_t val, struct rd *sub, uint64_t *v, size_t *n, size_t cap)
{
	if (wt == 0) {
		REQUIRE(*n < cap, "*n < cap");
		v[(*n)++] = val;
		return;
	}
	while (sub->p < sub->end) {
		REQUIRE(*n < cap, "*n < cap");
		v[(*n)++] = rd_varint(sub);
	}
}

struct dsample {
	uint64_t loc[70], val[8];
	size_t nloc, nval;
	uint64_t label_key, label_str; /* the last label */
	uint64_t first_key, first_str; /* the first label */
	int nlabels;
};
struct dloc {
	uint64_t id, mapping, addr, fn, line;
	int nlines;
};
struct dfn {
	uint64_t id, name, system_name, file;
};
struct dmap {
	uint64_t id, start, limit, offset, file, build_id;
	bool has_functions, has_filenames, has_line_numbers;
};
struct dprof {
	char **str;
	size_t nstr;
	uint64_t st_type[8], st_unit[8];
	size_t nst;
	struct dsample *smp;
	size_t nsmp;
	struct dloc *loc;
	size_t nloc;
	struct dfn *fn;
	size_t nfn;
	struct dmap *map;
	size_t nmap;
	uint64_t dflt, time, duration, comment[4];
	size_t ncomment;
};

#define GROW(v, n) ((v) = realloc((v), ((n) + 1) * sizeof(*(v))), memset(&(v)[(n)], 0, sizeof(*(v))), &(v)[(n)++])

static void decode(const uint8_t *buf, size_t len, struct dprof *d)
{
	memset(d, 0, sizeof(*d));
	struct rd r = { buf, buf + len }, sub, s2, s3;
	unsigned f, wt, f2, wt2, f3, wt3;
	uint64_t v, v2, v3;
	while (rd_field(&r, &f, &wt, &v, &sub)) {
		switch (f) {
		case 1: { /* sample_type */
			REQUIRE(wt == 2, "wt == 2");
			REQUIRE(d->nst < 8, "d->nst < 8");
			while (rd_field(&sub, &f2, &wt2, &v2, &s2))
				if (f2 == 1)
					d->st_type[d->nst] = v2;
				else if (f2 == 2)
					d->st_unit[d->nst] = v2;
			d->nst++;
			break;
		}
		case 2: { /* sample */
			struct dsample *x = GROW(d->smp, d->nsmp);
			while (rd_field(&sub, &f2, &wt2, &v2, &s2)) {
				if (f2 == 1)
					rd_repeated(wt2, v2, &s2, x->loc, &x->nloc, 70);
				else if (f2 == 2)
					rd_repeated(wt2, v2, &s2, x->val, &x->nval, 8);
				else if (f2 == 3) {
					x->nlabels++;
					while (rd_field(&s2, &f3, &wt3, &v3, &s3))
						if (f3 == 1)
							x->label_key = v3;
						else if (f3 == 2)
							x->label_str = v3;
					if (x->nlabels == 1) {
						x->first_key = x->label_key;
						x->first_str = x->label_str;
					}
				}
			}
			break;
		}
		case 3: { /* mapping */
			struct dmap *m = GROW(d->map, d->nmap);
			while (rd_field(&sub, &f2, &wt2, &v2, &s2)) {
				switch (f2) {
				case 1: m->id = v2; break;
				case 2: m->start = v2; break;
				case 3: m->limit = v2; break;
				case 4: m->offset = v2; break;
				case 5: m->file = v2; break;
				case 6: m->build_id = v2; break;
				case 7: m->has_functions = v2; break;
				case 8: m->has_filenames = v2; break;
				case 9: m->has_line_numbers = v2; break;
				}
			}
			break;
		}
		case 4: { /* location */
			struct dloc *l = GROW(d->loc, d->nloc);
			while (rd_field(&sub, &f2, &wt2, &v2, &s2)) {
				if (f2 == 1)
					l->id = v2;
				else if (f2 == 2)
					l->mapping = v2;
				else if (f2 == 3)
					l->addr = v2;
				else if (f2 == 4) {
					l->nlines++;
					while (rd_field(&s2, &f3, &wt3, &v3, &s3))
						if (f3 == 1)
							l->fn = v3;
						else if (f3 == 2)
							l->line = v3;
				}
			}
			break;
		}
		case 5: { /* function */
			struct dfn *x = GROW(d->fn, d->nfn);
			while (rd_field(&sub, &f2, &wt2, &v2, &s2)) {
				if (f2 == 1)
					x->id = v2;
				else if (f2 == 2)
					x->name = v2;
				else if (f2 == 3)
					x->system_name = v2;
				else if (f2 == 4)
					x->file = v2;
			}
			break;
		}
		case 6: { /* string_table */
			REQUIRE(wt == 2, "wt == 2");
			char **p = GROW(d->str, d->nstr);
			*p = strndup((const char *)sub.p, (size_t)(sub.end - sub.p));
			REQUIRE(strlen(*p) == (size_t)(sub.end - sub.p), "a NUL inside a string");
			break;
		}
		case 9: d->time = v; break;
		case 10: d->duration = v; break;
		case 13:
			REQUIRE(d->ncomment < 4, "more than 4 comments");
			d->comment[d->ncomment++] = v;
			break;
		case 14: d->dflt = v; break;
		default: ck_abort_msg("unexpected profile field %u", f);
		}
	}
}

static void dprof_free(struct dprof *d)
{
	for (size_t i = 0; i < d->nstr; i++)
		free(d->str[i]);
	free(d->str);
	free(d->smp);
	free(d->loc);
	free(d->fn);
	free(d->map);
}

static const char *S(const struct dprof *d, uint64_t i)
{
	REQUIRE(i < d->nstr, "i < d->nstr");
	return d->str[i];
}

static const struct dloc *find_loc(const struct dprof *d, uint64_t id)
{
	for (size_t i = 0; i < d->nloc; i++)
		if (d->loc[i].id == id)
			return &d->loc[i];
	ck_abort_msg("location %" PRIu64 " not defined", id);
	return NULL;
}

static const struct dfn *find_fn(const struct dprof *d, uint64_t id)
{
	for (size_t i = 0; i < d->nfn; i++)
		if (d->fn[i].id == id)
			return &d->fn[i];
	ck_abort_msg("function %" PRIu64 " not defined", id);
	return NULL;
}

static const struct dmap *find_map(const struct dprof *d, uint64_t id)
{
	for (size_t i = 0; i < d->nmap; i++)
		if (d->map[i].id == id)
			return &d->map[i];
	ck_abort_msg("mapping %" PRIu64 " not defined", id);
	return NULL;
}

/* Render s as pprof and decode it, checking what every valid profile must
 * satisfy: string 0 is "", no string twice, ids unique and non-zero, every
 * reference defined, every sample with 4 values and a location. */
static void pprof_of(const struct cgs_snapshot *s, struct dprof *d)
{
	size_t zlen, len;
	uint8_t *z = render(s, CGS_FMT_PPROF, &zlen);
	uint8_t *raw = gunzip(z, zlen, &len);
	decode(raw, len, d);
	free(z);
	free(raw);

	REQUIRE(d->nstr >= 1, "d->nstr >= 1");
	REQUIRE(!strcmp(d->str[0], ""), "string 0 is not empty");
	for (size_t i = 0; i < d->nstr; i++)
		for (size_t j = i + 1; j < d->nstr; j++)
			REQUIRE(strcmp(d->str[i], d->str[j]), "string \"%s\" twice", d->str[i]);
	for (size_t i = 0; i < d->nloc; i++) {
		REQUIRE(d->loc[i].id > 0, "d->loc[i].id > 0");
		for (size_t j = i + 1; j < d->nloc; j++)
			REQUIRE(d->loc[i].id != d->loc[j].id, "d->loc[i].id != d->loc[j].id");
		if (d->loc[i].mapping)
			find_map(d, d->loc[i].mapping);
		REQUIRE(d->loc[i].nlines <= 1, "d->loc[i].nlines <= 1");
		if (d->loc[i].nlines)
			find_fn(d, d->loc[i].fn);
	}
	for (size_t i = 0; i < d->nfn; i++) {
		REQUIRE(d->fn[i].id > 0, "d->fn[i].id > 0");
		for (size_t j = i + 1; j < d->nfn; j++) {
			REQUIRE(d->fn[i].id != d->fn[j].id, "d->fn[i].id != d->fn[j].id");
			REQUIRE(d->fn[i].name != d->fn[j].name || d->fn[i].file != d->fn[j].file,
				      "function %s defined twice", S(d, d->fn[i].name));
		}
		S(d, d->fn[i].name);
		S(d, d->fn[i].file);
	}
	for (size_t i = 0; i < d->nmap; i++) {
		REQUIRE(d->map[i].id > 0, "d->map[i].id > 0");
		for (size_t j = i + 1; j < d->nmap; j++)
			REQUIRE(d->map[i].id != d->map[j].id, "d->map[i].id != d->map[j].id");
		REQUIRE(d->map[i].has_functions && d->map[i].has_filenames && d->map[i].has_line_numbers,
			"mapping %zu: a has_* flag is false", i);
		REQUIRE(d->map[i].start < d->map[i].limit, "d->map[i].start < d->map[i].limit");
		S(d, d->map[i].file);
		S(d, d->map[i].build_id);
	}
	for (size_t i = 0; i < d->nsmp; i++) {
		REQUIRE(d->smp[i].nval == 6, "d->smp[i].nval == 6");
		REQUIRE(d->smp[i].nloc >= 1, "d->smp[i].nloc >= 1");
		for (size_t k = 0; k < d->smp[i].nloc; k++)
			find_loc(d, d->smp[i].loc[k]);
	}
}

/* The sample with these values, or NULL. */
static const struct dsample *sample_with(const struct dprof *d, uint64_t v0, uint64_t v1, uint64_t v2,
					 uint64_t v3)
{
	for (size_t i = 0; i < d->nsmp; i++) {
		const uint64_t *v = d->smp[i].val;
		if (v[0] == v0 && v[1] == v1 && v[2] == v2 && v[3] == v3)
			return &d->smp[i];
	}
	return NULL;
}

/* ---- pprof tests ------------------------------------------------------- */

START_TEST(pprof_header)
{
	struct cgs_snapshot *s = rich();
	struct dprof d;
	pprof_of(s, &d);
	static const char *const want[6][2] = {
		{ "inuse_objects", "count" }, { "inuse_space", "bytes" },
		{ "calls", "count" }, { "time", "nanoseconds" },
		{ "alloc_objects", "count" }, { "alloc_space", "bytes" },
	};
	ck_assert_uint_eq(d.nst, 6);
	for (int i = 0; i < 6; i++) {
		ck_assert_str_eq(S(&d, d.st_type[i]), want[i][0]);
		ck_assert_str_eq(S(&d, d.st_unit[i]), want[i][1]);
	}
	ck_assert_str_eq(S(&d, d.dflt), "inuse_space");
	ck_assert_uint_eq(d.time, 1700000000123456789ULL + 5000000000ULL);
	ck_assert_uint_eq(d.duration, 5000000000ULL);
	ck_assert_uint_eq(d.ncomment, 2);
	ck_assert_ptr_nonnull(strstr(S(&d, d.comment[0]), "pid 4242"));
	ck_assert_ptr_nonnull(strstr(S(&d, d.comment[0]), "/usr/local/bin/leaky"));
	ck_assert_str_eq(S(&d, d.comment[1]), "leaky --loops 3");
	dprof_free(&d);
	free_snapshot(s);
}
END_TEST

START_TEST(pprof_leak_sites)
{
	struct cgs_snapshot *s = rich();
	struct dprof d;
	pprof_of(s, &d);
	for (size_t i = 0; i < s->nsites; i++) {
		const struct cgs_snap_site *site = &s->sites[i];
		const struct dsample *x = sample_with(&d, site->count, site->bytes, 0, 0);
		ck_assert_msg(x, "no sample for site %zu", i);
		if (!site->nframes) {
			ck_assert_uint_eq(x->nloc, 1); /* a placeholder frame */
			const struct dloc *l = find_loc(&d, x->loc[0]);
			ck_assert_str_eq(S(&d, find_fn(&d, l->fn)->name), "[no stack]");
			continue;
		}
		ck_assert_uint_eq(x->nloc, (size_t)site->nframes);
		for (int k = 0; k < site->nframes; k++) {
			const struct cgs_frame_info *f = &site->frames[k];
			const struct dloc *l = find_loc(&d, x->loc[k]);
			ck_assert_uint_eq(l->addr, f->addr);
			if (f->module) {
				const struct dmap *m = find_map(&d, l->mapping);
				ck_assert_str_eq(S(&d, m->file), f->module);
				ck_assert_uint_le(m->start, f->addr);
				ck_assert_uint_lt(f->addr, m->limit);
			} else {
				ck_assert_uint_eq(l->mapping, 0);
			}
			if (!f->function) {
				ck_assert_int_eq(l->nlines, 0);
				continue;
			}
			const struct dfn *fn = find_fn(&d, l->fn);
			ck_assert_str_eq(S(&d, fn->name), f->function);
			ck_assert_str_eq(S(&d, fn->system_name), f->function);
			ck_assert_str_eq(S(&d, fn->file), f->file ? f->file : "");
			ck_assert_uint_eq(l->line, (uint64_t)f->line);
		}
		/* A "kind" label always, after the "cgo" one when there is one
		 * (the decoder keeps the last label's key and value). */
		ck_assert_int_eq(x->nlabels, site->cgo ? 2 : 1);
		ck_assert_str_eq(S(&d, x->label_key), "kind");
		ck_assert_str_eq(S(&d, x->label_str), cgs_kind_name(site->kind));
		if (site->cgo) {
			ck_assert_str_eq(S(&d, x->first_key), "cgo");
			ck_assert_str_eq(S(&d, x->first_str), site->cgo);
		}
	}
	/* The same address and symbol in two stacks is one location. */
	int at_main = 0;
	for (size_t i = 0; i < d.nloc; i++)
		at_main += d.loc[i].addr == 0x401300;
	ck_assert_int_eq(at_main, 1);
	/* The executable's mapping comes first (pprof's main binary). */
	ck_assert_uint_eq(d.nmap, 3);
	ck_assert_str_eq(S(&d, find_map(&d, 1)->file), "/usr/local/bin/leaky");
	dprof_free(&d);
	free_snapshot(s);
}
END_TEST

START_TEST(pprof_calls)
{
	struct cgs_snapshot *s = rich();
	struct dprof d;
	pprof_of(s, &d);
	size_t call_samples = 0;
	for (size_t i = 0; i < d.nsmp; i++)
		call_samples += d.smp[i].val[2] != 0;
	ck_assert_uint_eq(call_samples, s->nfns);
	for (size_t i = 0; i < s->nfns; i++) {
		const struct cgs_snap_fn *fn = &s->fns[i];
		/* 1 ns per tick: total ns = total ticks. */
		const struct dsample *x = sample_with(&d, 0, 0, fn->st.count, fn->st.total);
		ck_assert_msg(x, "no sample for %s", fn->name);
		ck_assert_uint_eq(x->nloc, 1);
		const struct dloc *l = find_loc(&d, x->loc[0]);
		ck_assert_uint_eq(l->addr, 0);
		ck_assert_uint_eq(l->mapping, 0);
		ck_assert_str_eq(S(&d, find_fn(&d, l->fn)->name), fn->name);
	}
	/* The time of read: 1 + 2 + ... + 1000 ns. */
	ck_assert_ptr_nonnull(sample_with(&d, 0, 0, 1000, 500500));
	dprof_free(&d);
	free_snapshot(s);
}
END_TEST

/* This program's own file, load bias and GNU build-id, as the loader has
 * them in memory. */
struct self {
	uint64_t bias;
	uint64_t text_vaddr, text_offset; /* the first executable PT_LOAD */
	char build_id[200];
};

static int self_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct self *me = arg;
	me->bias = info->dlpi_addr;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];
		if (p->p_type == PT_LOAD && (p->p_flags & PF_X) && !me->text_vaddr) {
			me->text_vaddr = p->p_vaddr;
			me->text_offset = p->p_offset;
		}
		if (p->p_type != PT_NOTE)
			continue;
		const uint8_t *n = (const uint8_t *)(info->dlpi_addr + p->p_vaddr);
		size_t off = 0;
		while (off + sizeof(ElfW(Nhdr)) <= p->p_memsz) {
			const ElfW(Nhdr) *h = (const ElfW(Nhdr) *)(n + off);
			const uint8_t *name = n + off + sizeof(*h);
			const uint8_t *desc = name + ((h->n_namesz + 3) & ~3u);
			if (h->n_type == NT_GNU_BUILD_ID && h->n_namesz == 4 && !memcmp(name, "GNU", 4))
				for (unsigned k = 0; k < h->n_descsz && 2 * k + 2 < sizeof(me->build_id); k++)
					sprintf(me->build_id + 2 * k, "%02x", desc[k]);
			off += sizeof(*h) + ((h->n_namesz + 3) & ~3u) + ((h->n_descsz + 3) & ~3u);
		}
	}
	return 1; /* the first object is the program */
}

START_TEST(pprof_real_mapping)
{
	struct self me = { 0 };
	dl_iterate_phdr(self_cb, &me);
	char exe[PATH_MAX];
	ck_assert_ptr_nonnull(realpath("/proc/self/exe", exe));
	uint64_t here = (uint64_t)(uintptr_t)&pprof_of;

	struct cgs_snapshot *s = xcalloc(1, sizeof(*s));
	s->exe = exe;
	s->ns_per_tick = 1;
	s->leaks_enabled = true;
	s->nsites = 1;
	s->sites = xcalloc(1, sizeof(*s->sites));
	s->sites[0].count = 2;
	s->sites[0].bytes = 64;
	s->sites[0].nframes = 2;
	s->sites[0].frames = xcalloc(2, sizeof(struct cgs_frame_info));
	/* A module that does not exist comes first in the stack. */
	s->sites[0].frames[0] = frame("gone", "/nonexistent/libgone.so", "gone.c", 3, 0x7f00000012a0, 0x12a0);
	s->sites[0].frames[1] = frame("pprof_of", exe, "test_pprof.c", 1, here, here - me.bias);
	struct dprof d;
	pprof_of(s, &d);
	ck_assert_uint_eq(d.nmap, 2);
	const struct dmap *m = find_map(&d, 1);
	ck_assert_str_eq(S(&d, m->file), exe);
	ck_assert_uint_le(m->start, here);
	ck_assert_uint_lt(here, m->limit);
	ck_assert_uint_eq(m->start % 4096, 0);
	/* The text segment, not the whole address space. */
	ck_assert_uint_lt(m->limit - m->start, 64u << 20);
	ck_assert_msg(me.build_id[0], "this test program has no GNU build-id note");
	ck_assert_str_eq(S(&d, m->build_id), me.build_id);
	/* The text segment as mapped: whole pages, and the file offset of
	 * memory_start. */
	ck_assert_uint_eq(m->start, me.bias + (me.text_vaddr & ~0xfffULL));
	ck_assert_uint_eq(m->offset, me.text_offset & ~0xfffULL);
	const struct dmap *g = find_map(&d, 2);
	ck_assert_str_eq(S(&d, g->file), "/nonexistent/libgone.so");
	ck_assert_str_eq(S(&d, g->build_id), "");
	ck_assert_uint_le(g->start, 0x7f00000012a0);
	ck_assert_uint_lt(0x7f00000012a0, g->limit);
	dprof_free(&d);
	free(s->sites[0].frames);
	free(s->sites);
	free(s);
}
END_TEST

/* Thousands of sites of deep stacks: the intern tables grow, locations
 * and functions stay unique. */
START_TEST(pprof_many_sites)
{
	enum { SITES = 3000, DEPTH = 16 };
	static char names[SITES + DEPTH][16];
	struct cgs_snapshot *s = xcalloc(1, sizeof(*s));
	s->ns_per_tick = 1;
	s->leaks_enabled = true;
	s->nsites = SITES;
	s->sites = xcalloc(SITES, sizeof(*s->sites));
	for (int i = 0; i < SITES + DEPTH; i++)
		snprintf(names[i], sizeof(names[i]), "f%d", i);
	for (int i = 0; i < SITES; i++) {
		struct cgs_snap_site *site = &s->sites[i];
		site->count = (uint64_t)i + 1;
		site->bytes = 16 * ((uint64_t)i + 1);
		site->nframes = DEPTH;
		site->frames = xcalloc(DEPTH, sizeof(*site->frames));
		/* Frame k of site i is function f(i+k): stacks overlap. */
		for (int k = 0; k < DEPTH; k++)
			site->frames[k] = frame(names[i + k], "/bin/prog", "prog.c", i + k,
						0x400000 + 16 * (uint64_t)(i + k), 16 * (uint64_t)(i + k));
	}
	struct dprof d;
	pprof_of(s, &d);
	ck_assert_uint_eq(d.nsmp, SITES);
	ck_assert_uint_eq(d.nloc, SITES + DEPTH - 1);
	ck_assert_uint_eq(d.nfn, SITES + DEPTH - 1);
	const struct dsample *x = sample_with(&d, 1234, 16 * 1234, 0, 0);
	ck_assert_ptr_nonnull(x);
	ck_assert_str_eq(S(&d, find_fn(&d, find_loc(&d, x->loc[DEPTH - 1])->fn)->name), "f1248");
	dprof_free(&d);
	for (int i = 0; i < SITES; i++)
		free(s->sites[i].frames);
	free(s->sites);
	free(s);
}
END_TEST

START_TEST(pprof_empty_and_errors)
{
	struct cgs_snapshot *s = xcalloc(1, sizeof(*s));
	struct dprof d;
	pprof_of(s, &d);
	ck_assert_uint_eq(d.nsmp, 0);
	ck_assert_uint_eq(d.nst, 6);
	dprof_free(&d);
	free(s);

	/* Same snapshot, same bytes. */
	s = rich();
	size_t n1, n2;
	uint8_t *a = render(s, CGS_FMT_PPROF, &n1), *b = render(s, CGS_FMT_PPROF, &n2);
	ck_assert_uint_eq(n1, n2);
	ck_assert_int_eq(memcmp(a, b, n1), 0);
	free(a);
	free(b);

	FILE *f = fopen("/dev/full", "w");
	if (f) {
		ck_assert_int_eq(cgs_report_write(s, CGS_FMT_PPROF, f), -1);
		ck_assert_int_eq(errno, ENOSPC);
		fclose(f);
	}
	f = tmpfile();
	ck_assert_int_eq(cgs_report_write(NULL, CGS_FMT_PPROF, f), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(cgs_report_write(s, CGS_FMT_PPROF, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	fclose(f);
	free_snapshot(s);
}
END_TEST

/* ---- A strict reader of the Prometheus text format --------------------- */

struct msample {
	char name[128];
	char lname[8][32];
	char *lval[8]; /* unescaped */
	int nl;
	char value[64];
};

struct metrics {
	struct msample *v;
	size_t n;
	char types[64][2][64]; /* name, type */
	int ntypes;
};

static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

/* Parse the whole text: every line a HELP/TYPE/UNIT line, "# EOF" (last),
 * or a sample "name{l="v",...} value". Label values must use only the
 * escapes \\ \" \n and be valid UTF-8. */
static void parse_metrics(const char *text, struct metrics *m)
{
	memset(m, 0, sizeof(*m));
	const char *p = text;
	bool eof = false;
	ck_assert_msg(text[0] && text[strlen(text) - 1] == '\n', "output does not end with a newline");
	while (*p) {
		const char *nl = strchr(p, '\n');
		ck_assert_ptr_nonnull(nl);
		ck_assert_msg(!eof, "text after # EOF");
		if (!strncmp(p, "# EOF\n", 6)) {
			eof = true;
		} else if (!strncmp(p, "# TYPE ", 7)) {
			char name[64], type[64];
			ck_assert_int_eq(sscanf(p + 7, "%63s %63s", name, type), 2);
			ck_assert_int_lt(m->ntypes, 64);
			for (int i = 0; i < m->ntypes; i++)
				ck_assert_msg(strcmp(m->types[i][0], name), "TYPE %s twice", name);
			strcpy(m->types[m->ntypes][0], name);
			strcpy(m->types[m->ntypes++][1], type);
		} else if (!strncmp(p, "# HELP ", 7) || !strncmp(p, "# UNIT ", 7)) {
			/* fine */
		} else {
			ck_assert_msg(*p != '#', "unknown comment line: %.*s", (int)(nl - p), p);
			struct msample *x = GROW(m->v, m->n);
			size_t k = 0;
			ck_assert(name_char(*p, true));
			while (name_char(*p, k == 0) && k < sizeof(x->name) - 1)
				x->name[k++] = *p++;
			if (*p == '{') {
				p++;
				while (*p != '}') {
					ck_assert_int_lt(x->nl, 8);
					k = 0;
					while (name_char(*p, k == 0) && k < 31)
						x->lname[x->nl][k++] = *p++;
					ck_assert_msg(k && p[0] == '=' && p[1] == '"', "bad label at %.20s", p);
					p += 2;
					char *val = malloc(strlen(p) + 1);
					size_t o = 0;
					while (*p != '"') {
						ck_assert_msg(*p && *p != '\n', "unterminated label value");
						if (*p == '\\') {
							p++;
							ck_assert_msg(*p == '\\' || *p == '"' || *p == 'n', "bad escape \\%c", *p);
							val[o++] = *p == 'n' ? '\n' : *p;
							p++;
						} else {
							val[o++] = *p++;
						}
					}
					val[o] = 0;
					x->lval[x->nl++] = val;
					p++;
					if (*p == ',')
						p++;
				}
				p++;
			}
			ck_assert_msg(*p == ' ', "no space before the value of %s", x->name);
			p++;
			k = 0;
			while (*p != '\n' && k < sizeof(x->value) - 1)
				x->value[k++] = *p++;
			char *end;
			strtod(x->value, &end);
			ck_assert_msg(*end == 0 && k, "bad value \"%s\" for %s", x->value, x->name);
		}
		p = nl + 1;
	}
	ck_assert_msg(eof, "no # EOF at the end");
}

static void metrics_free(struct metrics *m)
{
	for (size_t i = 0; i < m->n; i++)
		for (int k = 0; k < m->v[i].nl; k++)
			free(m->v[i].lval[k]);
	free(m->v);
}

static const char *label(const struct msample *x, const char *name)
{
	for (int k = 0; k < x->nl; k++)
		if (!strcmp(x->lname[k], name))
			return x->lval[k];
	return NULL;
}

/* The value of name{fn=fn,le=le} (fn, le may be NULL: not matched); NULL if absent. */
static const char *mvalue(const struct metrics *m, const char *name, const char *fn, const char *le)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct msample *x = &m->v[i];
		if (strcmp(x->name, name))
			continue;
		if (fn && (!label(x, "fn") || strcmp(label(x, "fn"), fn)))
			continue;
		if (le && (!label(x, "le") || strcmp(label(x, "le"), le)))
			continue;
		return x->value;
	}
	return NULL;
}

static uint64_t mu64(const struct metrics *m, const char *name, const char *fn, const char *le)
{
	const char *v = mvalue(m, name, fn, le);
	ck_assert_msg(v, "no %s{fn=%s,le=%s}", name, fn ? fn : "-", le ? le : "-");
	char *end;
	unsigned long long u = strtoull(v, &end, 10);
	ck_assert_msg(!*end, "%s: not an integer: %s", name, v);
	return u;
}

static const char *type_of(const struct metrics *m, const char *name)
{
	for (int i = 0; i < m->ntypes; i++)
		if (!strcmp(m->types[i][0], name))
			return m->types[i][1];
	return NULL;
}

/* promtool check metrics on text: true if it passes or promtool is absent
 * (said once on stderr). */
static bool promtool_ok(const char *text)
{
	static int have = -1;
	if (have < 0) {
		have = !system("command -v promtool >/dev/null 2>&1");
		if (!have)
			fprintf(stderr, "test_pprof: promtool not installed (Debian package prometheus): "
					"outputs checked by this test's own parser only\n");
	}
	if (!have)
		return true;
	char path[] = "/tmp/test_pprof_om.XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 1>&2", path);
	int rc = system(cmd);
	unlink(path);
	return rc == 0;
}

/* ---- Prometheus tests -------------------------------------------------- */

START_TEST(om_matches_json)
{
	struct cgs_snapshot *s = rich();
	size_t n;
	char *om = (char *)render(s, CGS_FMT_OPENMETRICS, &n);
	char *js = (char *)render(s, CGS_FMT_JSON, &n);
	json_error_t jerr;
	json_t *j = json_loads(js, 0, &jerr);
	ck_assert_msg(j, "JSON: %s", jerr.text);
	struct metrics m;
	parse_metrics(om, &m);

	ck_assert_str_eq(type_of(&m, "cgoshim_calls_total"), "counter");
	ck_assert_str_eq(type_of(&m, "cgoshim_call_errors_total"), "counter");
	ck_assert_str_eq(type_of(&m, "cgoshim_call_duration_seconds"), "histogram");
	ck_assert_str_eq(type_of(&m, "cgoshim_heap_live_bytes"), "gauge");
	ck_assert_str_eq(type_of(&m, "cgoshim_heap_live_allocations"), "gauge");
	ck_assert_str_eq(type_of(&m, "cgoshim_report_timestamp_seconds"), "gauge");
	for (size_t i = 0; i < m.n; i++) {
		ck_assert_str_eq(label(&m.v[i], "program"), "leaky");
		ck_assert_str_eq(label(&m.v[i], "pid"), "4242");
	}

	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(j, "calls"), i, c) {
		const char *fn = json_string_value(json_object_get(c, "fn"));
		uint64_t count = (uint64_t)json_integer_value(json_object_get(c, "count"));
		ck_assert_uint_eq(mu64(&m, "cgoshim_calls_total", fn, NULL), count);
		ck_assert_uint_eq(mu64(&m, "cgoshim_call_errors_total", fn, NULL),
				  (uint64_t)json_integer_value(json_object_get(c, "errors")));
		ck_assert_uint_eq(mu64(&m, "cgoshim_call_duration_seconds_count", fn, NULL), count);
		ck_assert_uint_eq(mu64(&m, "cgoshim_call_duration_seconds_bucket", fn, "+Inf"), count);
		/* _sum: total_ns as an exact decimal of seconds. */
		uint64_t total = (uint64_t)json_integer_value(json_object_get(c, "total_ns"));
		char want[64];
		snprintf(want, sizeof(want), "%" PRIu64 ".%09" PRIu64, total / 1000000000, total % 1000000000);
		ck_assert_str_eq(mvalue(&m, "cgoshim_call_duration_seconds_sum", fn, NULL), want);
		/* Each "le" bucket: the JSON buckets at or below it, summed. */
		uint64_t prev = 0;
		for (int b = 0; b < CGS_OM_BOUNDS; b++) {
			char le[32];
			snprintf(le, sizeof(le), "%g", (double)cgs_om_bound_ns[b] / 1e9);
			uint64_t expect = 0;
			size_t k;
			json_t *bk;
			json_array_foreach(json_object_get(c, "buckets"), k, bk)
				if ((uint64_t)json_integer_value(json_object_get(bk, "le_ns")) <= cgs_om_bound_ns[b])
					expect += (uint64_t)json_integer_value(json_object_get(bk, "count"));
			uint64_t got = mu64(&m, "cgoshim_call_duration_seconds_bucket", fn, le);
			ck_assert_msg(got == expect, "%s le=%s: %" PRIu64 ", JSON says %" PRIu64, fn, le, got, expect);
			ck_assert_uint_ge(got, prev);
			prev = got;
		}
	}
	/* Spot checks by hand. A fine bucket counts under the first boundary
	 * at or above its last value: read's 1..247 are at 2.5e-07 (248..251
	 * share a bucket), 1..991 at 1e-06 (992..1007 share one); close's 247
	 * is at 2.5e-07, open's 250 only at 5e-07; ioctl's 2^45 ns (9.8 h)
	 * only at +Inf. */
	ck_assert_uint_eq(mu64(&m, "cgoshim_call_duration_seconds_bucket", "read", "2.5e-07"), 247);
	ck_assert_uint_eq(mu64(&m, "cgoshim_call_duration_seconds_bucket", "read", "1e-06"), 991);
	ck_assert_uint_eq(mu64(&m, "cgoshim_call_duration_seconds_bucket", "read", "2.5e-06"), 1000);
	ck_assert_uint_eq(mu64(&m, "cgoshim_call_duration_seconds_bucket", "close", "2.5e-07"), 1);
	ck_assert_uint_eq(mu64(&m, "cgoshim_call_duration_seconds_bucket", "open", "2.5e-07"), 0);
	ck_assert_uint_eq(mu64(&m, "cgoshim_call_duration_seconds_bucket", "open", "5e-07"), 1);
	ck_assert_uint_eq(mu64(&m, "cgoshim_call_duration_seconds_bucket", "ioctl", "10"), 0);
	ck_assert_uint_eq(mu64(&m, "cgoshim_call_duration_seconds_bucket", "ioctl", "+Inf"), 1);
	ck_assert_uint_eq(mu64(&m, "cgoshim_call_errors_total", "read", NULL), 100);
	ck_assert_uint_eq(mu64(&m, "cgoshim_heap_live_bytes", NULL, NULL), 4406);
	ck_assert_uint_eq(mu64(&m, "cgoshim_heap_live_allocations", NULL, NULL), 5);
	ck_assert_uint_eq(mu64(&m, "cgoshim_heap_runtime_bytes", NULL, NULL), 0);
	ck_assert_str_eq(mvalue(&m, "cgoshim_report_timestamp_seconds", NULL, NULL), "1700000005.123456789");
	/* 5 functions x (2 counters + 25 buckets + Inf + sum + count), 4 gauges. */
	ck_assert_uint_eq(m.n, 5 * 30 + 4);
	ck_assert(promtool_ok(om));

	metrics_free(&m);
	json_decref(j);
	free(om);
	free(js);
	free_snapshot(s);
}
END_TEST

START_TEST(om_escaping)
{
	struct cgs_snapshot *s = rich();
	s->fns[0].name = NASTY;
	s->exe = "/opt/we\"ird\\dir/pro\ngram\xfe";
	size_t n;
	char *om = (char *)render(s, CGS_FMT_OPENMETRICS, &n);
	struct metrics m;
	parse_metrics(om, &m);
	/* The invalid byte \xff became U+FFFD; the rest came through. */
	ck_assert_uint_eq(mu64(&m, "cgoshim_calls_total", "we\"ird\\na\nme\xef\xbf\xbd|\xc3\xa9", NULL), 1000);
	for (size_t i = 0; i < m.n; i++)
		ck_assert_str_eq(label(&m.v[i], "program"), "pro\ngram\xef\xbf\xbd");
	ck_assert_ptr_null(strstr(om, "\xff"));
	ck_assert(promtool_ok(om));
	metrics_free(&m);
	free(om);
	free_snapshot(s);
}
END_TEST

/* A fine bucket whose last value is exactly a boundary counts under it:
 * at 0.5 ns per tick, ticks 196..199 are one bucket whose last value is
 * 99.5 ns, 100 as the JSON report rounds it. */
START_TEST(om_boundary)
{
	struct cgs_snapshot *s = xcalloc(1, sizeof(*s));
	s->pid = 7;
	s->exe = "/bin/x";
	s->ns_per_tick = 0.5;
	s->nfns = 1;
	s->fns = xcalloc(1, sizeof(*s->fns));
	s->fns[0].name = "read";
	s->fns[0].hist = xcalloc(CGS_HIST_BUCKETS, sizeof(uint64_t));
	cgs_stat_add(&s->fns[0].st, s->fns[0].hist, 198, false);
	size_t n;
	char *js = (char *)render(s, CGS_FMT_JSON, &n);
	ck_assert_ptr_nonnull(strstr(js, "{\"le_ns\": 100, \"count\": 1}"));
	char *om = (char *)render(s, CGS_FMT_OPENMETRICS, &n);
	struct metrics m;
	parse_metrics(om, &m);
	ck_assert_uint_eq(mu64(&m, "cgoshim_call_duration_seconds_bucket", "read", "1e-07"), 1);
	ck_assert_str_eq(mvalue(&m, "cgoshim_call_duration_seconds_sum", "read", NULL), "0.000000099");
	metrics_free(&m);
	free(om);
	free(js);
	free_snapshot(s);
}
END_TEST

START_TEST(om_sparse_and_errors)
{
	/* No calls, leak tracking off: only the timestamp. */
	struct cgs_snapshot *s = xcalloc(1, sizeof(*s));
	s->pid = 1;
	size_t n;
	char *om = (char *)render(s, CGS_FMT_OPENMETRICS, &n);
	struct metrics m;
	parse_metrics(om, &m);
	ck_assert_uint_eq(m.n, 1);
	ck_assert_str_eq(m.v[0].name, "cgoshim_report_timestamp_seconds");
	ck_assert_str_eq(label(&m.v[0], "program"), "unknown");
	ck_assert(promtool_ok(om));
	metrics_free(&m);
	free(om);
	free(s);

	s = rich();
	FILE *f = fopen("/dev/full", "w");
	if (f) {
		ck_assert_int_eq(cgs_report_write(s, CGS_FMT_OPENMETRICS, f), -1);
		ck_assert_int_eq(errno, ENOSPC);
		fclose(f);
	}
	ck_assert_int_eq(cgs_report_write(NULL, CGS_FMT_OPENMETRICS, stdout), -1);
	ck_assert_int_eq(errno, EINVAL);
	free_snapshot(s);
}
END_TEST

/* ---- Options ----------------------------------------------------------- */

START_TEST(options_formats_interval)
{
	struct cgs_options o;
	char *e1[] = { "CGOSHIM_FORMAT=pprof", NULL };
	cgs_options_parse(&o, e1, true);
	ck_assert_int_eq(o.format, CGS_FMT_PPROF);
	ck_assert_str_eq(cgs_format_name(o.format), "pprof");
	/* A profile does not go to a terminal: a file by default. */
	ck_assert_str_eq(o.output, "cgoshim.%p.%n.pb.gz");
	char *e2[] = { "CGOSHIM_OUTPUT=stderr", "CGOSHIM_FORMAT=pprof", NULL };
	cgs_options_parse(&o, e2, true);
	ck_assert_str_eq(o.output, ""); /* asked for stderr: stderr */
	char *e2b[] = { "CGOSHIM_OUTPUT=-", "CGOSHIM_FORMAT=pprof", NULL };
	cgs_options_parse(&o, e2b, true);
	ck_assert_str_eq(o.output, "-"); /* asked for stdout: stdout */
	char *e3[] = { "CGOSHIM_FORMAT=openmetrics", "CGOSHIM_INTERVAL=200ms", NULL };
	cgs_options_parse(&o, e3, true);
	ck_assert_int_eq(o.format, CGS_FMT_OPENMETRICS);
	ck_assert_str_eq(cgs_format_name(o.format), "openmetrics");
	ck_assert_str_eq(o.output, "");
	ck_assert_uint_eq(o.interval_ns, 200000000);
	char *e4[] = { "CGOSHIM_INTERVAL=10s", NULL };
	cgs_options_parse(&o, e4, true);
	ck_assert_uint_eq(o.interval_ns, 10000000000ULL);
	ck_assert_int_eq(o.format, CGS_FMT_TEXT);
	char *e5[] = { "CGOSHIM_INTERVAL=5ms", NULL }; /* too often: off */
	cgs_options_parse(&o, e5, true);
	ck_assert_uint_eq(o.interval_ns, 0);
	char *e6[] = { "CGOSHIM_INTERVAL=often", "CGOSHIM_FORMAT=prom", NULL };
	cgs_options_parse(&o, e6, true);
	ck_assert_uint_eq(o.interval_ns, 0);
	ck_assert_int_eq(o.format, CGS_FMT_TEXT);
	char *e7[] = { "CGOSHIM_INTERVAL=0", NULL };
	cgs_options_parse(&o, e7, true);
	ck_assert_uint_eq(o.interval_ns, 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("formats");
	TCase *t = tcase_create("pprof");
	tcase_add_test(t, pprof_header);
	tcase_add_test(t, pprof_leak_sites);
	tcase_add_test(t, pprof_calls);
	tcase_add_test(t, pprof_real_mapping);
	tcase_add_test(t, pprof_many_sites);
	tcase_add_test(t, pprof_empty_and_errors);
	suite_add_tcase(s, t);
	t = tcase_create("openmetrics");
	tcase_add_test(t, om_matches_json);
	tcase_add_test(t, om_escaping);
	tcase_add_test(t, om_boundary);
	tcase_add_test(t, om_sparse_and_errors);
	suite_add_tcase(s, t);
	t = tcase_create("options");
	tcase_add_test(t, options_formats_interval);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
