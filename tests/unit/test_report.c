/* test_report.c - the report writers (shim/report.c) on snapshots made by hand.
 *
 * Each test builds a struct cgs_snapshot from known values (histograms filled
 * with cgs_stat_add), writes it in one format and checks the bytes: JSON is
 * checked by a strict validating parser below (RFC 8259 grammar, UTF-8 in
 * strings) and, when python3 is present, by check_json.py (the exact schema
 * and its invariants); values are read back out of the JSON text. Text and
 * folded output are checked line by line. */
#include <check.h>
#include <jansson.h>
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "options.h"
#include "snapshot.h"

/* ---- Snapshots ---------------------------------------------------------- */

#define NASTY_FN "we\"ird\na\\me\xff;x y"

/* Snapshots are also built outside a test (CGS_REPORT_SHOW, in main), where
 * check's assertions cannot report: so plain abort on no memory. */
static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);
	if (!p)
		abort();
	return p;
}

static uint64_t *new_hist(void)
{
	return xcalloc(CGS_HIST_BUCKETS, sizeof(uint64_t));
}

static struct cgs_frame_info frame(const char *fn, const char *module, const char *file, int line,
				   uint64_t addr, uint64_t offset)
{
	struct cgs_frame_info f = { .addr = addr, .function = fn, .module = module, .file = file,
				    .line = line, .offset = offset };
	return f;
}

/* A snapshot with every part filled in, at 1 ns per tick:
 *   read:    values 1..1000 ticks, every tenth an error
 *   malloc:  100 x 50 ticks and one of 1000000
 *   ioctl:   one value of 2^45 ticks (beyond the last bucket's bound)
 *   close:   one of 1234567 ticks; dlopen: one of 999500; dlsym: one of 999
 * and three leak sites (4096, 300 and 10 bytes). */
static struct cgs_snapshot *rich_snapshot(void)
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
	s->tsc_flags = CGS_TSC_CONSTANT | CGS_TSC_NONSTOP;
	s->duration_ns = 5000000000ULL;
	s->start_real_ns = 1700000000000000000LL;
	s->shim_bytes = 3 << 20;
	s->threads = 4;
	s->counters.unknown_frees = 3;
	s->counters.signals = 1;
	s->inconsistent = 2;

	static const char *const names[] = { "read", "malloc", "ioctl", "close", "dlopen", "dlsym" };
	s->nfns = CGS_ARRAY_LEN(names);
	s->fns = xcalloc(s->nfns, sizeof(*s->fns));
	for (size_t i = 0; i < s->nfns; i++) {
		s->fns[i].name = names[i];
		s->fns[i].hist = new_hist();
	}
	for (uint64_t v = 1; v <= 1000; v++)
		cgs_stat_add(&s->fns[0].st, s->fns[0].hist, v, v % 10 == 0);
	for (int i = 0; i < 100; i++)
		cgs_stat_add(&s->fns[1].st, s->fns[1].hist, 50, false);
	cgs_stat_add(&s->fns[1].st, s->fns[1].hist, 1000000, false);
	cgs_stat_add(&s->fns[2].st, s->fns[2].hist, 1ULL << 45, true);
	cgs_stat_add(&s->fns[3].st, s->fns[3].hist, 1234567, false);
	cgs_stat_add(&s->fns[4].st, s->fns[4].hist, 999500, false);
	cgs_stat_add(&s->fns[5].st, s->fns[5].hist, 999, false);

	s->ntargets = 3;
	s->targets = xcalloc(s->ntargets, sizeof(*s->targets));
	s->targets[0].kind = "read";
	s->targets[0].label = "/dev/random";
	s->targets[1].kind = "open";
	s->targets[1].label = "caf\xc3\xa9 \xc0\x80|\xed\xa0\x80|\x01\x1f|\xe2\x82";
	s->targets[2].kind = "ioctl";
	s->targets[2].label = "/a/very/long/path/that/goes/on/and/on/and/on/for/more/than/sixty/"
			      "characters/until/the/file.txt";
	for (size_t i = 0; i < s->ntargets; i++)
		s->targets[i].hist = new_hist();
	for (uint64_t v = 1; v <= 100; v++)
		cgs_stat_add(&s->targets[0].st, s->targets[0].hist, v, false);
	cgs_stat_add(&s->targets[1].st, s->targets[1].hist, 77, true);
	cgs_stat_add(&s->targets[2].st, s->targets[2].hist, 5, false);

	s->leaks_enabled = true;
	s->nsites = 3;
	s->sites = xcalloc(s->nsites, sizeof(*s->sites));
	struct cgs_snap_site *a = &s->sites[0], *b = &s->sites[1], *c = &s->sites[2];
	a->count = 1, a->bytes = 4096, a->oldest_ns = 1000000000, a->newest_ns = 1000000000;
	a->nframes = 3;
	a->frames = xcalloc(3, sizeof(*a->frames));
	a->frames[0] = frame("malloc", "/lib/x86_64-linux-gnu/libc.so.6", NULL, 0, 0x7f0000001000, 0x1000);
	a->frames[1] = frame("leak_loop", "/usr/local/bin/leaky", "leaky.c", 12, 0x401234, 0x1234);
	a->frames[2] = frame("main", "/usr/local/bin/leaky", "leaky.c", 30, 0x401300, 0x1300);
	b->count = 3, b->bytes = 300, b->oldest_ns = 2000000000, b->newest_ns = 4000000000;
	b->cgo = "C.CString";
	b->nframes = 3;
	b->frames = xcalloc(3, sizeof(*b->frames));
	b->frames[0] = frame(NASTY_FN, "/tmp/we\"ird dir/lib\n.so", "we\"ird\\file.c", 7, 0x5000, 0x50);
	b->frames[1] = frame(NULL, "/usr/lib/libfoo.so", NULL, 0, 0x7f0000201234, 0x1234);
	b->frames[2] = frame(NULL, NULL, NULL, 0, 0xdeadbeef, 0);
	c->count = 1, c->bytes = 10, c->oldest_ns = 3000000000, c->newest_ns = 3000000000;
	s->leak_count = 5, s->leak_bytes = 4406;
	s->shown_count = 5, s->shown_bytes = 4406;
	return s;
}

static void free_snapshot(struct cgs_snapshot *s)
{
	for (size_t i = 0; i < s->nfns; i++)
		free(s->fns[i].hist);
	for (size_t i = 0; i < s->ntargets; i++)
		free(s->targets[i].hist);
	for (size_t i = 0; i < s->nsites; i++)
		free(s->sites[i].frames);
	free(s->fns);
	free(s->targets);
	free(s->sites);
	free(s);
}

/* ---- Running a writer ------------------------------------------------- */

/* Write s in fmt to a temporary file; returns its contents (NUL-terminated)
 * and, when path is given, keeps the file there (the caller unlinks it). */
static char *render(const struct cgs_snapshot *s, int fmt, char path[64])
{
	char tmp[64] = "/tmp/test_report.XXXXXX";
	int fd = mkstemp(tmp);
	ck_assert_int_ge(fd, 0);
	FILE *f = fdopen(fd, "w+");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(cgs_report_write(s, fmt, f), 0);
	long n = ftell(f);
	ck_assert_int_ge(n, 0);
	char *buf = malloc((size_t)n + 1);
	rewind(f);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	ck_assert_uint_eq(strlen(buf), (size_t)n); /* no NUL bytes in any format */
	fclose(f);
	if (path)
		strcpy(path, tmp);
	else
		unlink(tmp);
	return buf;
}

/* ---- A strict JSON validator ------------------------------------------ */

struct jp {
	const char *p;
	int depth;
};

static bool j_value(struct jp *j);

static void j_ws(struct jp *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string, with raw bytes required to be valid UTF-8 and \u escapes to
 * pair surrogates properly. */
static bool j_string(struct jp *j)
{
	const unsigned char *p = (const unsigned char *)j->p;
	if (*p++ != '"')
		return false;
	for (;;) {
		unsigned c = *p;
		if (c == '"') {
			j->p = (const char *)p + 1;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\') {
			p++;
			if (strchr("\"\\/bfnrt", *p) && *p) {
				p++;
				continue;
			}
			if (*p != 'u')
				return false;
			for (int i = 1; i <= 4; i++)
				if (!is_hex((char)p[i]))
					return false;
			unsigned v = (unsigned)strtoul((char[5]){ (char)p[1], (char)p[2], (char)p[3], (char)p[4], 0 }, NULL, 16);
			p += 5;
			if (v >= 0xdc00 && v <= 0xdfff)
				return false;
			if (v >= 0xd800 && v <= 0xdbff) {
				if (p[0] != '\\' || p[1] != 'u')
					return false;
				for (int i = 2; i <= 5; i++)
					if (!is_hex((char)p[i]))
						return false;
				unsigned lo = (unsigned)strtoul((char[5]){ (char)p[2], (char)p[3], (char)p[4], (char)p[5], 0 }, NULL, 16);
				if (lo < 0xdc00 || lo > 0xdfff)
					return false;
				p += 6;
			}
			continue;
		}
		if (c < 0x80) {
			p++;
			continue;
		}
		int len;
		uint32_t cp, least;
		if (c >= 0xc2 && c <= 0xdf)
			len = 2, cp = c & 0x1f, least = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3, cp = c & 0x0f, least = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4, cp = c & 0x07, least = 0x10000;
		else
			return false;
		for (int i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if (cp < least || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += len;
	}
}

static bool j_digits(struct jp *j)
{
	if (*j->p < '0' || *j->p > '9')
		return false;
	while (*j->p >= '0' && *j->p <= '9')
		j->p++;
	return true;
}

static bool j_number(struct jp *j)
{
	if (*j->p == '-')
		j->p++;
	if (*j->p == '0')
		j->p++;
	else if (!j_digits(j))
		return false;
	if (*j->p == '.') {
		j->p++;
		if (!j_digits(j))
			return false;
	}
	if (*j->p == 'e' || *j->p == 'E') {
		j->p++;
		if (*j->p == '+' || *j->p == '-')
			j->p++;
		if (!j_digits(j))
			return false;
	}
	return true;
}

static bool j_seq(struct jp *j, char close, bool object)
{
	j->p++;
	if (++j->depth > 64)
		return false;
	j_ws(j);
	if (*j->p == close) {
		j->p++;
		j->depth--;
		return true;
	}
	for (;;) {
		j_ws(j);
		if (object) {
			if (!j_string(j))
				return false;
			j_ws(j);
			if (*j->p++ != ':')
				return false;
		}
		if (!j_value(j))
			return false;
		j_ws(j);
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		if (*j->p++ != close)
			return false;
		j->depth--;
		return true;
	}
}

static bool j_value(struct jp *j)
{
	j_ws(j);
	switch (*j->p) {
	case '{': return j_seq(j, '}', true);
	case '[': return j_seq(j, ']', false);
	case '"': return j_string(j);
	case 't': return !strncmp(j->p, "true", 4) ? (j->p += 4, true) : false;
	case 'f': return !strncmp(j->p, "false", 5) ? (j->p += 5, true) : false;
	case 'n': return !strncmp(j->p, "null", 4) ? (j->p += 4, true) : false;
	default: return j_number(j);
	}
}

/* One JSON object on one line, ending in a newline. */
static void assert_json_doc(const char *doc)
{
	struct jp j = { .p = doc };
	ck_assert_msg(doc[0] == '{', "JSON does not start with an object");
	ck_assert_msg(j_value(&j), "invalid JSON near offset %td: %.40s", j.p - doc, j.p);
	ck_assert_msg(!strcmp(j.p, "\n"), "JSON not followed by exactly one newline: \"%.20s\"", j.p);
	ck_assert_msg(strchr(doc, '\n') == j.p, "JSON spans several lines");
}

/* Run check_json.py on the file, when python3 is there. */
static void assert_json_schema(const char *path)
{
	static const char *script;
	static char buf[4096];
	if (!script) {
		script = getenv("CGS_CHECK_JSON");
		if (!script) {
			char file[4096];
			snprintf(file, sizeof(file), "%s", __FILE__);
			snprintf(buf, sizeof(buf), "%s/check_json.py", dirname(file));
			script = buf;
		}
	}
	if (system("python3 -c 'import json' >/dev/null 2>&1") != 0) {
		fprintf(stderr, "note: python3 not found; schema checks skipped\n");
		return;
	}
	if (access(script, R_OK) != 0) {
		fprintf(stderr, "note: %s not found (set CGS_CHECK_JSON); schema checks skipped\n", script);
		return;
	}
	char cmd[8192 + 64];
	snprintf(cmd, sizeof(cmd), "python3 '%s' '%s'", script, path);
	int st = system(cmd);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "check_json.py failed on %s", path);
}

/* The number after "key": in the first object that contains anchor. */
static uint64_t json_u64(const char *doc, const char *anchor, const char *key)
{
	char k[128];
	const char *p = strstr(doc, anchor);
	ck_assert_msg(p != NULL, "no %s in JSON", anchor);
	snprintf(k, sizeof(k), "\"%s\": ", key);
	p = strstr(p, k);
	ck_assert_msg(p != NULL, "no %s after %s", key, anchor);
	char *end;
	errno = 0;
	uint64_t v = strtoull(p + strlen(k), &end, 10);
	ck_assert_msg(errno == 0 && end != p + strlen(k), "%s is not a number", key);
	return v;
}

/* Sum the bucket counts after anchor; le_ns must strictly increase. Returns
 * the count and sets *last_le. */
static uint64_t json_buckets(const char *doc, const char *anchor, uint64_t *last_le)
{
	const char *p = strstr(doc, anchor);
	ck_assert_ptr_nonnull(p);
	p = strstr(p, "\"buckets\": [");
	ck_assert_ptr_nonnull(p);
	p += strlen("\"buckets\": [");
	uint64_t sum = 0, prev = 0;
	bool first = true;
	while (*p == '{' || *p == ',') {
		unsigned long long le, n;
		int used = 0;
		if (*p == ',')
			p += 2;
		ck_assert_int_eq(sscanf(p, "{\"le_ns\": %llu, \"count\": %llu}%n", &le, &n, &used), 2);
		ck_assert_int_gt(used, 0);
		ck_assert_msg(first || le > prev, "le_ns not increasing: %llu after %" PRIu64, le, prev);
		ck_assert_uint_gt(n, 0);
		first = false;
		prev = le;
		sum += n;
		p += used;
	}
	ck_assert_int_eq(*p, ']');
	*last_le = prev;
	return sum;
}

static void assert_near(uint64_t got, double want, double rel, const char *what)
{
	ck_assert_msg(got >= want * (1 - rel) && got <= want * (1 + rel),
		      "%s = %" PRIu64 ", want %.0f within %.0f%%", what, got, want, rel * 100);
}

/* ---- JSON tests --------------------------------------------------------- */

START_TEST(json_valid)
{
	struct cgs_snapshot *s = rich_snapshot();
	char path[64];
	char *doc = render(s, CGS_FMT_JSON, path);
	assert_json_doc(doc);
	assert_json_schema(path);
	ck_assert_ptr_nonnull(strstr(doc, "{\"schema\": \"cgoshim/1\", \"pid\": 4242, "));
	ck_assert_ptr_nonnull(strstr(doc, "\"trigger\": \"signal\", \"final\": true, \"final_at\": \"\", \"attached\": false, \"calls_after_exit\": 0, \"seq\": 7"));
	ck_assert_ptr_nonnull(strstr(doc, "\"signal\": \"SIGUSR2\""));
	ck_assert_ptr_nonnull(strstr(doc, "\"format\": \"text\""));
	ck_assert_ptr_nonnull(strstr(doc, "\"memory\": 8589934592"));
	ck_assert_ptr_nonnull(strstr(doc, "\"unknown_frees\": 3"));
	ck_assert_ptr_nonnull(strstr(doc, "\"inconsistent_reads\": 2}"));
	ck_assert_ptr_nonnull(strstr(doc, "\"constant\": true, \"nonstop\": true"));
	unlink(path);
	free(doc);
	free_snapshot(s);
}
END_TEST

/* A call's argument above 2^63 - 1 (malloc of SIZE_MAX - 4096, which
 * fails) would make jansson and every int64 parser refuse the report: it is
 * written as 2^63 - 1, in JSON and in the Chrome trace. */
START_TEST(json_huge_arg)
{
	struct cgs_snapshot *s = rich_snapshot();
	struct cgs_snap_event ev = { .t_ticks = 100, .dur = 5000000, .fn = CGS_FN_malloc, .tid = 7, .cpu = 0,
				     .fd = -1, .err = ENOMEM, .arg = UINT64_MAX - 4096, .result = 0 };
	s->events = &ev;
	s->nevents = 1;
	for (int f = 0; f < 2; f++) {
		char path[64];
		char *doc = render(s, f ? CGS_FMT_CHROME : CGS_FMT_JSON, path);
		ck_assert_ptr_null(strstr(doc, "18446744073709547519"));
		ck_assert_ptr_nonnull(strstr(doc, "\"arg\": 9223372036854775807"));
		json_error_t e;
		json_t *j = json_loads(doc, 0, &e);
		ck_assert_msg(j, "jansson refuses the %s output: %s", f ? "chrome" : "json", e.text);
		json_decref(j);
		if (!f)
			assert_json_schema(path);
		unlink(path);
		free(doc);
	}
	s->events = NULL;
	s->nevents = 0;
	free_snapshot(s);
}
END_TEST

START_TEST(json_values)
{
	struct cgs_snapshot *s = rich_snapshot();
	char *doc = render(s, CGS_FMT_JSON, NULL);
	const char *rd = "{\"fn\": \"read\"";
	uint64_t le;

	ck_assert_uint_eq(json_u64(doc, rd, "count"), 1000);
	ck_assert_uint_eq(json_u64(doc, rd, "errors"), 100);
	ck_assert_uint_eq(json_u64(doc, rd, "total_ns"), 500500);
	ck_assert_uint_eq(json_u64(doc, rd, "min_ns"), 1);
	ck_assert_uint_eq(json_u64(doc, rd, "max_ns"), 1000);
	assert_near(json_u64(doc, rd, "p50_ns"), 500, 0.02, "p50");
	assert_near(json_u64(doc, rd, "p90_ns"), 900, 0.02, "p90");
	assert_near(json_u64(doc, rd, "p99_ns"), 990, 0.02, "p99");
	assert_near(json_u64(doc, rd, "p999_ns"), 999, 0.02, "p999");
	ck_assert_uint_eq(json_buckets(doc, rd, &le), 1000);
	ck_assert_uint_ge(le, 1000);

	const char *ml = "{\"fn\": \"malloc\"";
	ck_assert_uint_eq(json_u64(doc, ml, "count"), 101);
	ck_assert_uint_eq(json_u64(doc, ml, "p50_ns"), 50);
	ck_assert_uint_eq(json_u64(doc, ml, "p99_ns"), 50);
	assert_near(json_u64(doc, ml, "p999_ns"), 1000000, 0.02, "malloc p999");
	ck_assert_uint_eq(json_u64(doc, ml, "max_ns"), 1000000);
	ck_assert_uint_eq(json_buckets(doc, ml, &le), 101);
	ck_assert_uint_ge(le, 1000000);

	/* Beyond the last bucket's bound: le_ns still covers the max. */
	const char *io = "{\"fn\": \"ioctl\"";
	ck_assert_uint_eq(json_u64(doc, io, "max_ns"), 1ULL << 45);
	ck_assert_uint_eq(json_u64(doc, io, "p50_ns"), 1ULL << 45);
	ck_assert_uint_eq(json_buckets(doc, io, &le), 1);
	ck_assert_uint_ge(le, 1ULL << 45);

	const char *tg = "{\"kind\": \"read\", \"target\": \"/dev/random\"";
	ck_assert_uint_eq(json_u64(doc, tg, "count"), 100);
	ck_assert_uint_eq(json_u64(doc, tg, "total_ns"), 5050);
	assert_near(json_u64(doc, tg, "p50_ns"), 50, 0.02, "target p50");
	ck_assert_uint_eq(json_buckets(doc, tg, &le), 100);

	const char *lk = "\"leaks\": {";
	ck_assert_uint_eq(json_u64(doc, lk, "count"), 5);
	ck_assert_uint_eq(json_u64(doc, lk, "bytes"), 4406);
	ck_assert_ptr_nonnull(strstr(doc, "\"enabled\": true"));
	ck_assert_ptr_nonnull(strstr(doc, "{\"count\": 1, \"bytes\": 4096, \"inherited_count\": 0, \"inherited_bytes\": 0, "
					  "\"oldest_ns\": 1000000000, "
					  "\"newest_ns\": 1000000000, \"kind\": \"definitely_lost\", \"cgo\": null, \"runtime\": false, \"frames\": [{\"function\": "
					  "\"malloc\", \"module\": \"/lib/x86_64-linux-gnu/libc.so.6\", "
					  "\"file\": null, \"line\": 0, \"addr\": \"0x7f0000001000\"}"));
	ck_assert_ptr_nonnull(strstr(doc, "{\"function\": \"leak_loop\", \"module\": \"/usr/local/bin/leaky\", "
					  "\"file\": \"leaky.c\", \"line\": 12, \"addr\": \"0x401234\"}"));
	ck_assert_ptr_nonnull(strstr(doc, "\"cgo\": \"C.CString\""));
	ck_assert_ptr_nonnull(strstr(doc, "{\"function\": null, \"module\": null, \"file\": null, "
					  "\"line\": 0, \"addr\": \"0xdeadbeef\"}"));
	ck_assert_ptr_nonnull(strstr(doc, "{\"count\": 1, \"bytes\": 10, \"inherited_count\": 0, \"inherited_bytes\": 0, "
					  "\"oldest_ns\": 3000000000, "
					  "\"newest_ns\": 3000000000, \"kind\": \"definitely_lost\", \"cgo\": null, \"runtime\": false, \"frames\": []}"));
	free(doc);
	free_snapshot(s);
}
END_TEST

START_TEST(json_escaping)
{
	struct cgs_snapshot *s = rich_snapshot();
	char *doc = render(s, CGS_FMT_JSON, NULL);
	assert_json_doc(doc);
	/* Quote, newline, backslash, a stray 0xff; ';' and ' ' stay. */
	ck_assert_ptr_nonnull(strstr(doc, "\"function\": \"we\\\"ird\\u000aa\\\\me\\ufffd;x y\""));
	ck_assert_ptr_nonnull(strstr(doc, "\"module\": \"/tmp/we\\\"ird dir/lib\\u000a.so\""));
	ck_assert_ptr_nonnull(strstr(doc, "\"file\": \"we\\\"ird\\\\file.c\", \"line\": 7"));
	/* Valid UTF-8 stays; overlong, surrogate and cut sequences do not. */
	ck_assert_ptr_nonnull(strstr(doc, "\"target\": \"caf\xc3\xa9 \\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|"
					  "\\u0001\\u001f|\\ufffd\\ufffd\""));
	for (const unsigned char *p = (const unsigned char *)doc; *p; p++)
		ck_assert_msg(*p >= 0x20 || (*p == '\n' && !p[1]), "raw control byte 0x%02x", *p);
	free(doc);
	free_snapshot(s);
}
END_TEST

static void assert_no_nan(const char *doc)
{
	for (const char *p = doc; *p; p++)
		ck_assert_msg(strncasecmp(p, "nan", 3) && strncasecmp(p, "inf", 3), "NaN or Inf in %s", doc);
}

START_TEST(json_degenerate)
{
	struct cgs_snapshot *s = calloc(1, sizeof(*s));
	char path[64];
	char *doc = render(s, CGS_FMT_JSON, path);
	assert_json_doc(doc);
	assert_json_schema(path);
	assert_no_nan(doc);
	ck_assert_ptr_nonnull(strstr(doc, "\"exe\": \"\""));
	ck_assert_ptr_nonnull(strstr(doc, "\"ns_per_tick\": 0, \"ghz\": 0"));
	ck_assert_ptr_nonnull(strstr(doc, "\"calls\": [], \"targets\": [], \"target_rows\": {\"limit\": "));
	ck_assert_ptr_nonnull(strstr(doc, "\"paths_unsure\": 0}, \"leaks\": {\"enabled\": false"));
	ck_assert_ptr_nonnull(strstr(doc, "\"sites\": []}"));
	ck_assert_int_eq(doc[strlen(doc) - 1], '\n');
	unlink(path);
	free(doc);

	/* Text and folded do not fail on it either. */
	doc = render(s, CGS_FMT_TEXT, NULL);
	ck_assert_ptr_nonnull(strstr(doc, "no calls recorded"));
	ck_assert_ptr_nonnull(strstr(doc, "leak tracking off (CGOSHIM_LEAKS=0)"));
	free(doc);
	doc = render(s, CGS_FMT_FOLDED, NULL);
	ck_assert_str_eq(doc, "");
	free(doc);
	free(s);
}
END_TEST

/* Rates that are not numbers: all times print as 0, never NaN or Inf. */
START_TEST(json_bad_rate)
{
	static const double rates[] = { 0.0, -1.0, NAN, INFINITY, 1e-320 };
	struct cgs_snapshot *s = rich_snapshot();
	for (size_t i = 0; i < CGS_ARRAY_LEN(rates); i++) {
		char path[64];
		s->ns_per_tick = rates[i];
		char *doc = render(s, CGS_FMT_JSON, path);
		assert_json_doc(doc);
		assert_json_schema(path);
		assert_no_nan(doc);
		if (rates[i] != 1e-320) {
			ck_assert_uint_eq(json_u64(doc, "{\"fn\": \"read\"", "p99_ns"), 0);
			ck_assert_uint_eq(json_u64(doc, "{\"fn\": \"read\"", "count"), 1000);
		}
		unlink(path);
		free(doc);
		doc = render(s, CGS_FMT_TEXT, NULL);
		assert_no_nan(doc);
		free(doc);
	}
	free_snapshot(s);
}
END_TEST

START_TEST(json_deterministic)
{
	struct cgs_snapshot *s = rich_snapshot();
	for (int fmt = CGS_FMT_TEXT; fmt <= CGS_FMT_FOLDED; fmt++) {
		char *a = render(s, fmt, NULL);
		char *b = render(s, fmt, NULL);
		ck_assert_str_eq(a, b);
		free(a);
		free(b);
	}
	free_snapshot(s);
}
END_TEST

/* Large tick rates merge fine buckets that round to the same ns. */
START_TEST(json_merged_buckets)
{
	struct cgs_snapshot *s = rich_snapshot();
	s->ns_per_tick = 0.25;
	char *doc = render(s, CGS_FMT_JSON, NULL);
	uint64_t le;
	assert_json_doc(doc);
	ck_assert_uint_eq(json_buckets(doc, "{\"fn\": \"read\"", &le), 1000);
	ck_assert_uint_ge(le, json_u64(doc, "{\"fn\": \"read\"", "max_ns"));
	ck_assert_uint_eq(json_u64(doc, "{\"fn\": \"read\"", "max_ns"), 250);
	ck_assert_uint_eq(json_u64(doc, "\"tsc\"", "ghz"), 4);
	free(doc);
	free_snapshot(s);
}
END_TEST

/* ---- Text tests ----------------------------------------------------------- */

/* The line of text that starts with prefix, copied into line. */
static bool find_line(const char *text, const char *prefix, char *line, size_t n)
{
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, prefix, strlen(prefix))) {
			const char *e = strchr(p, '\n');
			size_t len = e ? (size_t)(e - p) : strlen(p);
			if (len >= n)
				len = n - 1;
			memcpy(line, p, len);
			line[len] = 0;
			return true;
		}
	}
	return false;
}

START_TEST(text_report)
{
	struct cgs_snapshot *s = rich_snapshot();
	char *t = render(s, CGS_FMT_TEXT, NULL);
	char line[512];

	ck_assert_ptr_nonnull(strstr(t, "cgoshim report: pid 4242, /usr/local/bin/leaky, trigger signal, final, dump #7\n"));
	ck_assert_ptr_nonnull(strstr(t, "command: leaky --loops 3\n"));
	ck_assert_ptr_nonnull(strstr(t, "duration: 5.00s (started 2023-11-14 22:13:20 UTC)\n"));
	ck_assert_ptr_nonnull(strstr(t, "tsc: 1.000 GHz"));
	ck_assert_ptr_null(strstr(t, "warning"));
	ck_assert_ptr_nonnull(strstr(t, "CGOSHIM_LEAKS=1 "));
	ck_assert_ptr_nonnull(strstr(t, "CGOSHIM_MEMORY=8G "));
	ck_assert_ptr_nonnull(strstr(t, "CGOSHIM_SLOW_NS=1ms "));
	ck_assert_ptr_nonnull(strstr(t, "CGOSHIM_SIGNAL=SIGUSR2 "));
	ck_assert_ptr_nonnull(strstr(t, "CGOSHIM_OUTPUT=stderr\n"));
	ck_assert_ptr_nonnull(strstr(t, "shim: 3.00 MiB of its region in use, 4 thread blocks\n"));
	ck_assert_ptr_nonnull(strstr(t, "  3 unknown_frees: frees or reallocs of pointers the shim never saw"));
	ck_assert_ptr_nonnull(strstr(t, "  2 inconsistent_reads: "));
	ck_assert_ptr_null(strstr(t, "untracked_allocs")); /* zero counters are not shown */

	/* Summary rows, human units, aligned columns. */
	ck_assert(find_line(t, "  fn ", line, sizeof(line)));
	size_t width = strlen(line);
	ck_assert_ptr_nonnull(strstr(line, "p99.9"));
	ck_assert(find_line(t, "  read ", line, sizeof(line)));
	ck_assert_uint_eq(strlen(line), width);
	ck_assert_ptr_nonnull(strstr(line, " 1000 "));
	ck_assert_ptr_nonnull(strstr(line, " 100 "));
	ck_assert_ptr_nonnull(strstr(line, " 501us ")); /* total 500500 ns, half up */
	ck_assert(find_line(t, "  malloc ", line, sizeof(line)));
	ck_assert_uint_eq(strlen(line), width);
	ck_assert_ptr_nonnull(strstr(line, " 50ns "));
	ck_assert(find_line(t, "  close ", line, sizeof(line)));
	ck_assert_uint_eq(strlen(line), width);
	ck_assert_ptr_nonnull(strstr(line, " 1.23ms"));
	ck_assert(find_line(t, "  dlopen ", line, sizeof(line)));
	ck_assert_ptr_nonnull(strstr(line, " 1.00ms")); /* 999500 rounds up a unit */
	ck_assert(find_line(t, "  dlsym ", line, sizeof(line)));
	ck_assert_ptr_nonnull(strstr(line, " 999ns"));
	ck_assert(find_line(t, "  ioctl ", line, sizeof(line)));
	ck_assert_ptr_nonnull(strstr(line, " 35200s")); /* 2^45 ns = 35184s, to 3 digits */

	/* Targets: the long path keeps its end. */
	const char *targets = strstr(t, "targets (by total time):");
	ck_assert_ptr_nonnull(targets);
	ck_assert(find_line(targets, "  read  ", line, sizeof(line)));
	ck_assert_ptr_nonnull(strstr(line, "/dev/random"));
	ck_assert_ptr_nonnull(strstr(t, "  .../and/on/for/more/than/sixty/characters/until/the/file.txt  "));
	ck_assert_ptr_nonnull(strstr(t, "caf\xc3\xa9 ??|???|??|??"));

	/* Histogram of read: rows 0 -> 1 up to 512 -> 1023, the largest full. */
	ck_assert_ptr_nonnull(strstr(t, "\n  read: 1000 calls\n"));
	ck_assert(find_line(t, "    512 -> 1023  : 489 ", line, sizeof(line)));
	ck_assert_ptr_nonnull(strstr(line, "|****************************************|"));
	ck_assert(find_line(t, "    256 -> 511   : 256 ", line, sizeof(line)));
	ck_assert_ptr_nonnull(strstr(line, "|********************                    |"));
	ck_assert(find_line(t, "      0 -> 1     : 1 ", line, sizeof(line)));
	ck_assert_ptr_nonnull(strstr(line, "|*                                       |"));
	/* The 2^45 ns call, beyond the last fine bucket, in its own row. */
	ck_assert_ptr_nonnull(strstr(t, "  35184372088832 -> 70368744177663 : 1 "));

	/* Leaks. */
	ck_assert_ptr_nonnull(strstr(t, "live C heap: 5 allocations, 4406 bytes (4.30 KiB) in 3 sites\n"));
	ck_assert_ptr_nonnull(strstr(t, "#1 4096 bytes in 1 allocation (age 4.00s)\n"
					"    malloc [libc.so.6]\n"
					"    leak_loop (leaky.c:12) [leaky]\n"
					"    main (leaky.c:30) [leaky]\n"));
	ck_assert_ptr_nonnull(strstr(t, "#2 300 bytes in 3 allocations (age 3.00s..1.00s)\n"
					"    we\"ird?a\\me?;x y (we\"ird\\file.c:7) [lib?.so]\n"
					"    0x7f0000201234 [libfoo.so+0x1234]\n"
					"    0xdeadbeef\n"
					"    via C.CString\n"));
	ck_assert_ptr_nonnull(strstr(t, "#3 10 bytes in 1 allocation (age 2.00s)\n    (no stack)\n"));

	/* No control byte but newlines reaches a terminal. */
	for (const unsigned char *p = (const unsigned char *)t; *p; p++)
		ck_assert_msg(*p >= 0x20 || *p == '\n', "control byte 0x%02x in text", *p);
	ck_assert_ptr_null(strstr(t, "\xff"));
	free(t);
	free_snapshot(s);
}
END_TEST

START_TEST(text_options)
{
	struct cgs_snapshot *s = rich_snapshot();
	s->opts.top = 1;
	s->opts.min_age_ns = 30000000000ULL;
	s->shown_count = 2;
	s->shown_bytes = 4106;
	s->tsc_flags = CGS_TSC_CONSTANT;
	s->final = false;
	char *t = render(s, CGS_FMT_TEXT, NULL);
	ck_assert_ptr_nonnull(strstr(t, ", live, dump #7\n"));
	ck_assert_ptr_nonnull(strstr(t, "warning: the TSC is not nonstop"));
	ck_assert_ptr_nonnull(strstr(t, "CGOSHIM_MIN_AGE=30s "));
	ck_assert_ptr_nonnull(strstr(t, "CGOSHIM_TOP=1 "));
	ck_assert_ptr_nonnull(strstr(t, "at least 30.0s old (CGOSHIM_MIN_AGE): 2 allocations, 4106 bytes\n"));
	ck_assert_ptr_nonnull(strstr(t, "#1 4096 bytes"));
	ck_assert_ptr_null(strstr(t, "#2 "));
	ck_assert_ptr_nonnull(strstr(t, "... 2 more sites: 310 bytes in 4 allocations (CGOSHIM_TOP=1)\n"));
	free(t);

	s->leaks_enabled = false;
	s->ns_per_tick = 0;
	s->tsc_flags = 0;
	t = render(s, CGS_FMT_TEXT, NULL);
	ck_assert_ptr_nonnull(strstr(t, "leak tracking off (CGOSHIM_LEAKS=0)\n"));
	ck_assert_ptr_null(strstr(t, "live C heap"));
	ck_assert_ptr_nonnull(strstr(t, "tsc: rate unknown"));
	ck_assert_ptr_nonnull(strstr(t, "warning: the TSC is not constant, nor nonstop"));
	free(t);
	free_snapshot(s);
}
END_TEST

/* Sites out of order still come out largest first in text. */
START_TEST(text_sorts_sites)
{
	struct cgs_snapshot *s = rich_snapshot();
	struct cgs_snap_site tmp = s->sites[0];
	s->sites[0] = s->sites[2];
	s->sites[2] = tmp;
	char *t = render(s, CGS_FMT_TEXT, NULL);
	ck_assert_ptr_nonnull(strstr(t, "#1 4096 bytes"));
	ck_assert_ptr_nonnull(strstr(t, "#3 10 bytes"));
	free(t);
	free_snapshot(s);
}
END_TEST

/* ---- Folded ------------------------------------------------------------------ */

START_TEST(folded_lines)
{
	struct cgs_snapshot *s = rich_snapshot();
	char *doc = render(s, CGS_FMT_FOLDED, NULL);
	regex_t re;
	uint64_t sum = 0, want = 0;
	int lines = 0;

	ck_assert_int_eq(regcomp(&re, "^[^ ]+ [0-9]+$", REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_uint_gt(strlen(doc), 0);
	ck_assert_int_eq(doc[strlen(doc) - 1], '\n');
	char *save = NULL;
	for (char *l = strtok_r(doc, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		ck_assert_msg(regexec(&re, l, 0, NULL, 0) == 0, "bad folded line: %s", l);
		sum += strtoull(strrchr(l, ' ') + 1, NULL, 10);
		lines++;
	}
	for (size_t i = 0; i < s->nsites; i++)
		want += s->sites[i].bytes;
	ck_assert_uint_eq(sum, want);
	ck_assert_int_eq(lines, 3);
	regfree(&re);
	free(doc);

	doc = render(s, CGS_FMT_FOLDED, NULL);
	ck_assert_str_eq(doc, "main;leak_loop;malloc 4096\n"
			      "0xdeadbeef;libfoo.so+0x1234;we\"ird_a\\me__x_y 300\n"
			      "[unknown] 10\n");
	free(doc);
	free_snapshot(s);
}
END_TEST

/* ---- Errors ------------------------------------------------------------------- */

START_TEST(write_errors)
{
	struct cgs_snapshot *s = rich_snapshot();
	FILE *f = fopen("/dev/full", "w");
	if (f) {
		errno = 0;
		ck_assert_int_eq(cgs_report_write(s, CGS_FMT_JSON, f), -1);
		ck_assert_int_eq(errno, ENOSPC);
		fclose(f);
	}
	f = tmpfile();
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(cgs_report_write(s, 42, f), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(cgs_report_write(NULL, CGS_FMT_JSON, f), -1);
	ck_assert_int_eq(errno, EINVAL);
	fclose(f);
	free_snapshot(s);
}
END_TEST

static Suite *report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *json = tcase_create("json");
	tcase_add_test(json, json_valid);
	tcase_add_test(json, json_values);
	tcase_add_test(json, json_huge_arg);
	tcase_add_test(json, json_escaping);
	tcase_add_test(json, json_degenerate);
	tcase_add_test(json, json_bad_rate);
	tcase_add_test(json, json_deterministic);
	tcase_add_test(json, json_merged_buckets);
	suite_add_tcase(s, json);
	TCase *text = tcase_create("text");
	tcase_add_test(text, text_report);
	tcase_add_test(text, text_options);
	tcase_add_test(text, text_sorts_sites);
	suite_add_tcase(s, text);
	TCase *folded = tcase_create("folded");
	tcase_add_test(folded, folded_lines);
	tcase_add_test(folded, write_errors);
	suite_add_tcase(s, folded);
	return s;
}

int main(void)
{
	/* CGS_REPORT_SHOW=text|json|folded: print the sample snapshot and stop. */
	const char *show = getenv("CGS_REPORT_SHOW");
	if (show) {
		struct cgs_snapshot *s = rich_snapshot();
		int fmt = !strcmp(show, "json") ? CGS_FMT_JSON : !strcmp(show, "folded") ? CGS_FMT_FOLDED : CGS_FMT_TEXT;
		int rc = cgs_report_write(s, fmt, stdout);
		free_snapshot(s);
		return rc ? EXIT_FAILURE : EXIT_SUCCESS;
	}
	SRunner *sr = srunner_create(report_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
