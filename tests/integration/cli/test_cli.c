/* test_cli.c - the report commands: cgoshim diff, merge and html.
 *
 * cliprog (a C program with known reads and leaks, cliprog.c) runs under the
 * preload to give real JSON reports; some cases then change one number in a
 * copy, so that the expected verdict is known exactly. Each case is one meson
 * test (the case name is the argument):
 *   diff-identical   a report against itself, and two runs of one program:
 *                    status 0, nothing slower, faster, new or gone, even with
 *                    every threshold at 0
 *   diff-p99         NEW's read p99 is BASE's + 30%: status 1 with
 *                    --max-p99-regress 10% (the table and --json say so),
 *                    0 with 50% (still "slower"), 0 with no threshold
 *   diff-bound       +1% (inside the 1/64 error bounds of both quantiles) is
 *                    "same" and passes --max-p99-regress 0%; +4% is beyond
 *                    them: "slower", and fails 0% but passes 5%
 *   diff-leak        a run leaking 2 MiB more: status 1 with
 *                    --max-leak-growth 1MiB, 0 with 4MiB; the leak_here site
 *                    grew by exactly 2 MiB and 512 blocks
 *   diff-new-site    a run with one more leak site: it is listed as new, with
 *                    its function, bytes and blocks
 *   bad-input        missing file, not JSON, cut JSON, another schema, a
 *                    member of the wrong type, bad options: status 2 and one
 *                    line on stderr naming the command, nothing on stdout
 *   merge            two runs with different work: counts, errors, totals,
 *                    leaks are sums, min/max combined, buckets valid, keys
 *                    those of a report plus "merged", pid 0; leak_here is one
 *                    site; diff and html accept the result
 *   merge-quantiles  a report merged with a copy of itself under another pid:
 *                    every quantile within the 1/64 bound of the original;
 *                    the same report given twice counts once
 *   html             the page: parses, closes every element, loads nothing;
 *                    one histogram per function; a flame graph frame for
 *                    leak_here whose title has its file:line and bytes; the
 *                    slow-call bars; a report without "events" says so
 *   html-chromium    the page opened in headless Chromium: the rendered DOM
 *                    has the same plots and frames, and a screenshot
 *                    (saved as cli-report.png in the build folder) has the
 *                    histogram bar colour painted; skipped (77) without
 *                    chromium */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness.h"

#define LEAK_BLOCK 4096
#define EXTRA_BYTES (3 * 777)

static char tmp[256];

/* ---- Helpers ------------------------------------------------------------ */

static void skip(const char *why)
{
	printf("SKIP: %s\n", why);
	fflush(stdout);
	exit(77);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void cleanup(void)
{
	if (tmp[0])
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* tmp/name; the string lives until the test ends. */
static const char *tpath(const char *name)
{
	if (!tmp[0]) {
		snprintf(tmp, sizeof(tmp), "/tmp/cgoshim-cli-XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(tmp));
		atexit(cleanup);
	}
	char *p;
	ck_assert_int_gt(asprintf(&p, "%s/%s", tmp, name), 0);
	return p;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 65536, n = 0;
	char *b = malloc(cap);
	size_t k;
	while ((k = fread(b + n, 1, cap - n - 1, f)) > 0) {
		n += k;
		if (n + 1 >= cap)
			b = realloc(b, cap *= 2);
	}
	fclose(f);
	b[n] = 0;
	return b;
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* Run cliprog under the shim; copy its final report to tmp/name. Returns
 * the program's pid. */
static int run_prog(const char *name, const char *reads, const char *leak, bool extra,
		    const char *const *env)
{
	const char *argv[] = { hbin("cliprog"), reads, leak, extra ? "extra" : NULL, NULL };
	struct hopts o = { .env = env };
	struct hrun r;
	ck_assert_int_eq(hrun(argv, &o, &r), 0);
	ck_assert_msg(hexited(&r, 0), "cliprog failed: %s", r.err);
	ck_assert_msg(r.final, "no final report from cliprog");
	char src[512];
	snprintf(src, sizeof(src), "%s/r.%d.%lld.json", r.dir, r.pid,
		 (long long)json_integer_value(json_object_get(r.final, "seq")));
	char *text = slurp(src);
	ck_assert_msg(text, "cannot read %s", src);
	spit(tpath(name), text);
	free(text);
	int pid = r.pid;
	hrun_free(&r);
	return pid;
}

struct res {
	int status; /* exit status, or -1 */
	char *out, *err;
};

/* cgoshim ARGS... (no preload), with stdout and stderr captured. */
static struct res cli(const char *const *args)
{
	const char *argv[32];
	size_t n = 0;
	argv[n++] = getenv("CGOSHIM_TEST_LAUNCHER");
	for (; *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	struct hopts o = { .no_preload = true, .timeout_s = 60 };
	struct hrun r;
	ck_assert_int_eq(hrun(argv, &o, &r), 0);
	struct res x = { WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1, strdup(r.out), strdup(r.err) };
	hrun_free(&r);
	return x;
}

static void res_free(struct res *x)
{
	free(x->out);
	free(x->err);
}

#define CLI(...) cli((const char *const[]){ __VA_ARGS__, NULL })

static json_t *load(const char *path)
{
	json_error_t e;
	json_t *j = json_load_file(path, 0, &e);
	ck_assert_msg(j, "%s: %s", path, e.text);
	return j;
}

static void save(json_t *j, const char *path)
{
	ck_assert_int_eq(json_dump_file(j, path, 0), 0);
}

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	ck_assert_msg(j, "not JSON (%s): %.300s", e.text, text);
	return j;
}

static json_t *find_by(json_t *arr, const char *key, const char *value)
{
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e)
		if (json_is_string(json_object_get(e, key)) && !strcmp(json_string_value(json_object_get(e, key)), value))
			return e;
	return NULL;
}

static long long num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
	return (long long)json_integer_value(v);
}

/* The leak site whose innermost frame is function fn, in a report or in a
 * diff's "sites". */
static json_t *site_of(json_t *sites, const char *fn)
{
	size_t i;
	json_t *s;
	json_array_foreach(sites, i, s) {
		json_t *f0 = json_array_get(json_object_get(s, "frames"), 0);
		const char *name = json_string_value(json_object_get(f0, "function"));
		if (name && !strcmp(name, fn))
			return s;
	}
	return NULL;
}

/* A copy of report `from` with calls[read].p99_ns set to p99 (and p99.9 and
 * max kept at or above it, as in any report). */
static void with_read_p99(const char *from, const char *to, long long p99)
{
	json_t *r = load(from);
	json_t *c = find_by(json_object_get(r, "calls"), "fn", "read");
	ck_assert_ptr_nonnull(c);
	json_object_set_new(c, "p99_ns", json_integer(p99));
	if (num(c, "p999_ns") < p99)
		json_object_set_new(c, "p999_ns", json_integer(p99));
	if (num(c, "max_ns") < p99)
		json_object_set_new(c, "max_ns", json_integer(p99));
	save(r, to);
	json_decref(r);
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- diff --------------------------------------------------------------- */

START_TEST(diff_identical)
{
	run_prog("a.json", "300", "10000", false, NULL);
	run_prog("b.json", "300", "10000", false, NULL);
	const char *a = tpath("a.json");
	struct res x = CLI("diff", a, a);
	ck_assert_msg(x.status == 0, "status %d: %.2000s%.500s", x.status, x.out, x.err);
	ck_assert_msg(!strstr(x.out, "  slower") && !strstr(x.out, "  faster") && !strstr(x.out, "  new\n") &&
		      !strstr(x.out, "  gone\n") && !strstr(x.out, "FAIL"), "%.2000s", x.out);
	ck_assert_msg(strstr(x.out, "leak sites: 0 new, 0 grown, 0 shrunk, 0 gone, 1 unchanged"), "%.2000s", x.out);
	ck_assert_msg(strstr(x.out, "read") && strstr(x.out, "p99"), "no table: %.2000s", x.out);
	res_free(&x);

	/* Every threshold at zero: identical reports are still within them. */
	x = CLI("diff", "--max-p50-regress", "0%", "--max-p99-regress", "0", "--max-p999-regress", "0%",
		"--max-leak-growth", "0", a, a, "--json");
	ck_assert_msg(x.status == 0, "status %d: %.2000s%.500s", x.status, x.out, x.err);
	json_t *d = parse(x.out);
	ck_assert(json_is_true(json_object_get(d, "ok")));
	ck_assert_int_eq(json_array_size(json_object_get(d, "crossed")), 0);
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(d, "functions"), i, f) {
		ck_assert_str_eq(json_string_value(json_object_get(f, "status")), "both");
		static const char *const q[] = { "p50", "p99", "p999" };
		for (int k = 0; k < 3; k++)
			ck_assert_str_eq(json_string_value(json_object_get(json_object_get(f, q[k]), "verdict")), "same");
	}
	json_t *s;
	json_array_foreach(json_object_get(json_object_get(d, "leaks"), "sites"), i, s)
		ck_assert_str_eq(json_string_value(json_object_get(s, "status")), "same");
	json_decref(d);
	res_free(&x);

	/* Two runs of the same program: same read count, same leak sites. */
	x = CLI("diff", "--json", a, tpath("b.json"));
	ck_assert_msg(x.status == 0, "status %d: %s", x.status, x.err);
	d = parse(x.out);
	json_t *rd = find_by(json_object_get(d, "functions"), "fn", "read");
	ck_assert_ptr_nonnull(rd);
	ck_assert_int_eq(num(json_object_get(rd, "count"), "base"), num(json_object_get(rd, "count"), "new"));
	json_t *lh = site_of(json_object_get(json_object_get(d, "leaks"), "sites"), "leak_here");
	ck_assert_msg(lh, "leak_here not matched across runs");
	ck_assert_str_eq(json_string_value(json_object_get(lh, "status")), "same");
	ck_assert_int_eq(num(json_object_get(lh, "new"), "bytes"), 10000);
	json_decref(d);
	res_free(&x);
}
END_TEST

/* One report per side: --noise-floor=0 tests the error-bound logic alone
 * (the default floor would let +30% pass; test_diffruns.py checks it). */
START_TEST(diff_p99)
{
	run_prog("a.json", "300", "10000", false, NULL);
	json_t *a = load(tpath("a.json"));
	long long p99 = num(find_by(json_object_get(a, "calls"), "fn", "read"), "p99_ns");
	json_decref(a);
	ck_assert_int_gt(p99, 0);
	long long p99n = llround(p99 * 1.30);
	with_read_p99(tpath("a.json"), tpath("n.json"), p99n);

	struct res x = CLI("diff", "--noise-floor=0", "--max-p99-regress", "10%", tpath("a.json"), tpath("n.json"));
	ck_assert_msg(x.status == 1, "+30%% with a 10%% limit: status %d: %.2000s%.500s", x.status, x.out, x.err);
	/* +30% of a p99 of a few hundred ns is rounded to whole ns: the line
	 * names the change of the two values written (218 -> 283 is +29.8%). */
	char want[64];
	snprintf(want, sizeof want, "read p99 +%.1f%%", 100.0 * (double)(p99n - p99) / (double)p99);
	ck_assert_msg(strstr(x.out, "slower") && strstr(x.out, "FAIL") && strstr(x.out, want),
		      "want \"%s\" in: %.2000s", want, x.out);
	res_free(&x);

	x = CLI("diff", "--noise-floor=0", "--json", "--max-p99-regress=10%", tpath("a.json"), tpath("n.json"));
	ck_assert_int_eq(x.status, 1);
	json_t *d = parse(x.out);
	ck_assert(json_is_false(json_object_get(d, "ok")));
	json_t *q = json_object_get(find_by(json_object_get(d, "functions"), "fn", "read"), "p99");
	ck_assert_str_eq(json_string_value(json_object_get(q, "verdict")), "slower");
	ck_assert(json_is_true(json_object_get(q, "crossed")));
	ck_assert_int_eq(json_array_size(json_object_get(d, "crossed")), 1);
	json_t *c0 = json_array_get(json_object_get(d, "crossed"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(c0, "fn")), "read");
	ck_assert_str_eq(json_string_value(json_object_get(c0, "what")), "p99");
	json_decref(d);
	res_free(&x);

	x = CLI("diff", "--noise-floor=0", "--max-p99-regress", "50%", tpath("a.json"), tpath("n.json"));
	ck_assert_msg(x.status == 0, "+30%% with a 50%% limit: status %d: %.2000s%.500s", x.status, x.out, x.err);
	ck_assert_msg(strstr(x.out, "slower") && !strstr(x.out, "FAIL"), "%.2000s", x.out);
	res_free(&x);

	/* A regression without a threshold is shown, not failed. */
	x = CLI("diff", "--noise-floor=0", tpath("a.json"), tpath("n.json"));
	ck_assert_int_eq(x.status, 0);
	ck_assert_ptr_nonnull(strstr(x.out, "slower"));
	res_free(&x);

	/* The other way round it is faster, and no p99 limit can fail it. */
	x = CLI("diff", "--noise-floor=0", "--max-p99-regress", "0%", tpath("n.json"), tpath("a.json"));
	ck_assert_int_eq(x.status, 0);
	ck_assert_ptr_nonnull(strstr(x.out, "faster"));
	res_free(&x);
}
END_TEST

START_TEST(diff_bound)
{
	run_prog("a.json", "300", "10000", false, NULL);
	/* A p99 large enough that whole nanoseconds do not blur the percentages. */
	with_read_p99(tpath("a.json"), tpath("base.json"), 100000);
	with_read_p99(tpath("a.json"), tpath("one.json"), 101000);
	with_read_p99(tpath("a.json"), tpath("four.json"), 104000);

	struct res x = CLI("diff", "--noise-floor=0", "--json", "--max-p99-regress", "0%", tpath("base.json"), tpath("one.json"));
	ck_assert_msg(x.status == 0, "+1%% is within the error bound: status %d: %.2000s", x.status, x.out);
	json_t *d = parse(x.out);
	json_t *q = json_object_get(find_by(json_object_get(d, "functions"), "fn", "read"), "p99");
	ck_assert_str_eq(json_string_value(json_object_get(q, "verdict")), "same");
	ck_assert(fabs(json_number_value(json_object_get(q, "change")) - 0.01) < 1e-9);
	json_decref(d);
	res_free(&x);

	x = CLI("diff", "--noise-floor=0", "--json", "--max-p99-regress", "0%", tpath("base.json"), tpath("four.json"));
	ck_assert_msg(x.status == 1, "+4%% is beyond both bounds: status %d: %.2000s", x.status, x.out);
	d = parse(x.out);
	q = json_object_get(find_by(json_object_get(d, "functions"), "fn", "read"), "p99");
	ck_assert_str_eq(json_string_value(json_object_get(q, "verdict")), "slower");
	json_decref(d);
	res_free(&x);

	x = CLI("diff", "--noise-floor=0", "--max-p99-regress", "5%", tpath("base.json"), tpath("four.json"));
	ck_assert_msg(x.status == 0, "+4%% under a 5%% limit: status %d: %.2000s", x.status, x.out);
	res_free(&x);

	/* --fn and --min-count narrow the functions a threshold applies to. */
	x = CLI("diff", "--noise-floor=0", "--max-p99-regress", "0%", "--fn", "malloc", tpath("base.json"), tpath("four.json"));
	ck_assert_msg(x.status == 0, "--fn malloc must not check read: status %d: %.2000s", x.status, x.out);
	res_free(&x);
	x = CLI("diff", "--noise-floor=0", "--max-p99-regress", "0%", "--min-count", "100000", tpath("base.json"), tpath("four.json"));
	ck_assert_msg(x.status == 0, "300 reads < --min-count: status %d: %.2000s", x.status, x.out);
	res_free(&x);
}
END_TEST

START_TEST(diff_leak)
{
	run_prog("a.json", "100", "10000", false, NULL);
	run_prog("b.json", "100", "2107152", false, NULL); /* 10000 + 2 MiB */
	struct res x = CLI("diff", "--max-leak-growth", "1MiB", tpath("a.json"), tpath("b.json"));
	ck_assert_msg(x.status == 1, "2 MiB more with a 1 MiB limit: status %d: %.2000s%.500s", x.status, x.out, x.err);
	ck_assert_msg(strstr(x.out, "FAIL") && strstr(x.out, "grown") && strstr(x.out, "leak_here"), "%.2000s", x.out);
	res_free(&x);

	x = CLI("diff", "--json", "--max-leak-growth", "4MiB", tpath("a.json"), tpath("b.json"));
	ck_assert_msg(x.status == 0, "2 MiB more with a 4 MiB limit: status %d: %.2000s", x.status, x.out);
	json_t *d = parse(x.out);
	json_t *l = json_object_get(d, "leaks");
	ck_assert_int_eq(num(l, "growth_bytes"), 2 * 1048576);
	ck_assert_int_eq(num(l, "growth_count"), 2 * 1048576 / LEAK_BLOCK);
	json_t *s = site_of(json_object_get(l, "sites"), "leak_here");
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(json_string_value(json_object_get(s, "status")), "grown");
	ck_assert_int_eq(num(s, "growth_bytes"), 2 * 1048576);
	ck_assert_int_eq(num(s, "growth_count"), 2 * 1048576 / LEAK_BLOCK);
	ck_assert_int_eq(num(json_object_get(s, "base"), "bytes"), 10000);
	json_decref(d);
	res_free(&x);

	/* Sizes in other spellings; shrinking never fails. */
	x = CLI("diff", "--max-leak-growth", "3000K", tpath("a.json"), tpath("b.json"));
	ck_assert_int_eq(x.status, 0);
	res_free(&x);
	x = CLI("diff", "--max-leak-growth", "2000000", tpath("a.json"), tpath("b.json"));
	ck_assert_int_eq(x.status, 1);
	res_free(&x);
	x = CLI("diff", "--max-leak-growth", "0", tpath("b.json"), tpath("a.json"));
	ck_assert_int_eq(x.status, 0);
	ck_assert_ptr_nonnull(strstr(x.out, "shrunk"));
	res_free(&x);
}
END_TEST

START_TEST(diff_new_site)
{
	run_prog("a.json", "100", "10000", false, NULL);
	run_prog("b.json", "100", "10000", true, NULL);
	struct res x = CLI("diff", tpath("a.json"), tpath("b.json"));
	ck_assert_msg(x.status == 0, "status %d: %.2000s%.500s", x.status, x.out, x.err);
	/* Its line: "  new  +2.2 KiB  3 blocks  leak_extra (cliprog.c:NN) < main ..." */
	const char *line = strstr(x.out, "\n  new ");
	ck_assert_msg(line, "no new site listed: %.2000s", x.out);
	const char *end = strchr(line + 1, '\n');
	ck_assert_msg(memmem(line, (size_t)(end - line), "leak_extra (cliprog.c:", 22), "%.2000s", x.out);
	ck_assert_ptr_nonnull(strstr(x.out, "1 new"));
	res_free(&x);

	x = CLI("diff", "--json", "--max-leak-growth", "1K", tpath("a.json"), tpath("b.json"));
	ck_assert_msg(x.status == 1, "%d bytes more with a 1 KiB limit: status %d", EXTRA_BYTES, x.status);
	json_t *d = parse(x.out);
	json_t *s = site_of(json_object_get(json_object_get(d, "leaks"), "sites"), "leak_extra");
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(json_string_value(json_object_get(s, "status")), "new");
	ck_assert_int_eq(num(json_object_get(s, "new"), "bytes"), EXTRA_BYTES);
	ck_assert_int_eq(num(json_object_get(s, "new"), "count"), 3);
	ck_assert_int_eq(num(json_object_get(s, "base"), "bytes"), 0);
	json_t *lh = site_of(json_object_get(json_object_get(d, "leaks"), "sites"), "leak_here");
	ck_assert_str_eq(json_string_value(json_object_get(lh, "status")), "same");
	json_decref(d);
	res_free(&x);

	/* Reversed, the site is gone. */
	x = CLI("diff", tpath("b.json"), tpath("a.json"));
	ck_assert_msg(strstr(x.out, "\n  gone ") && strstr(x.out, "leak_extra"), "%.2000s", x.out);
	res_free(&x);
}
END_TEST

/* status 2, one line on stderr that starts with "cgoshim CMD:", no stdout. */
static void expect_usage(const char *cmd, const char *const *args, const char *needle)
{
	struct res x = cli(args);
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "cgoshim %s: ", cmd);
	ck_assert_msg(x.status == 2, "%s %s: status %d, stderr %s", cmd, args[1] ? args[1] : "", x.status, x.err);
	ck_assert_msg(count_lines(x.err) == 1 && !strncmp(x.err, prefix, strlen(prefix)),
		      "not one line starting with '%s': [%s]", prefix, x.err);
	ck_assert_msg(!needle || strstr(x.err, needle), "'%s' not in [%s]", needle, x.err);
	ck_assert_msg(!*x.out, "stdout not empty: %.200s", x.out);
	res_free(&x);
}

#define USAGE(cmd, needle, ...) expect_usage(cmd, (const char *const[]){ cmd, __VA_ARGS__, NULL }, needle)

START_TEST(bad_input)
{
	run_prog("a.json", "100", "1000", false, NULL);
	const char *a = tpath("a.json");
	char *text = slurp(a);
	text[strlen(text) / 2] = 0;
	spit(tpath("cut.json"), text);
	free(text);
	spit(tpath("notjson.json"), "this is not a report\n");
	spit(tpath("other.json"), "{\"schema\": \"other/2\", \"pid\": 1}\n");
	spit(tpath("array.json"), "[1, 2, 3]\n");
	spit(tpath("empty.json"), "\n");
	json_t *r = load(a);
	json_object_set_new(json_array_get(json_object_get(r, "calls"), 0), "p99_ns", json_string("fast"));
	save(r, tpath("badtype.json"));
	json_object_del(r, "calls");
	save(r, tpath("nocalls.json"));
	json_decref(r);

	USAGE("diff", "missing.json", tpath("missing.json"), a);
	USAGE("diff", "not JSON", tpath("notjson.json"), a);
	USAGE("diff", "not JSON", a, tpath("cut.json"));
	USAGE("diff", "\"other/2\"", a, tpath("other.json"));
	USAGE("diff", "not a JSON object", a, tpath("array.json"));
	USAGE("diff", "no report", a, tpath("empty.json"));
	USAGE("diff", "p99_ns", a, tpath("badtype.json"));
	USAGE("diff", "calls", a, tpath("nocalls.json"));
	USAGE("diff", "two reports", a);
	USAGE("diff", "two reports", a, a, a);
	USAGE("diff", "percentage", "--max-p99-regress", "ten", a, a);
	USAGE("diff", "percentage", "--max-p50-regress=-5%", a, a);
	USAGE("diff", "size", "--max-leak-growth", "1 parsec", a, a);
	USAGE("diff", "needs a value", a, a, "--max-p99-regress");
	USAGE("diff", "unknown option", "--frobnicate", a, a);
	USAGE("merge", "missing.json", a, tpath("missing.json"));
	USAGE("merge", "not JSON", a, tpath("cut.json"));
	USAGE("merge", "one or more", "--");
	USAGE("html", "\"other/2\"", tpath("other.json"));
	USAGE("html", "one report", a, a);

	/* A program named diff still runs after "--": diff(1) finds no
	 * difference (0) where cgoshim diff would find no report (2). */
	struct res x = CLI("--lib", getenv("CGOSHIM_TEST_LIB"), "--", "diff", "/dev/null", "/dev/null");
	ck_assert_msg(x.status == 0, "status %d: %s", x.status, x.err);
	res_free(&x);
}
END_TEST

/* ---- merge -------------------------------------------------------------- */

/* The invariants of one stat entry ("calls" or "targets"). */
static void check_stat(json_t *c, const char *what)
{
	long long count = num(c, "count"), min = num(c, "min_ns"), max = num(c, "max_ns");
	long long q[] = { min, num(c, "p50_ns"), num(c, "p90_ns"), num(c, "p99_ns"), num(c, "p999_ns"), max };
	for (int i = 0; i + 1 < 6; i++)
		ck_assert_msg(q[i] <= q[i + 1], "%s: min <= p50 <= p90 <= p99 <= p99.9 <= max broken", what);
	ck_assert_msg(num(c, "errors") <= count, "%s: errors > count", what);
	long long sum = 0, prev = -1;
	size_t i;
	json_t *b;
	json_array_foreach(json_object_get(c, "buckets"), i, b) {
		ck_assert_msg(num(b, "le_ns") > prev, "%s: le_ns not increasing", what);
		ck_assert_msg(num(b, "count") > 0, "%s: empty bucket", what);
		prev = num(b, "le_ns");
		sum += num(b, "count");
	}
	ck_assert_msg(sum == count, "%s: buckets sum to %lld, count %lld", what, sum, count);
	ck_assert_msg(prev >= max, "%s: last bucket below max", what);
}

START_TEST(merge)
{
	int pa = run_prog("a.json", "300", "10000", false, NULL);
	int pb = run_prog("b.json", "500", "20000", true, NULL);
	struct res x = CLI("merge", tpath("a.json"), tpath("b.json"));
	ck_assert_msg(x.status == 0, "status %d: %s", x.status, x.err);
	ck_assert_msg(count_lines(x.out) == 1, "not one line");
	spit(tpath("m.json"), x.out);
	json_t *m = parse(x.out);
	res_free(&x);
	json_t *a = load(tpath("a.json")), *b = load(tpath("b.json"));

	/* Keys: a report's, in its order, with "merged" after "pid". */
	const char *key;
	json_t *val;
	json_t *want = json_array();
	json_object_foreach(a, key, val) {
		json_array_append_new(want, json_string(key));
		if (!strcmp(key, "pid"))
			json_array_append_new(want, json_string("merged"));
	}
	json_t *got = json_array();
	json_object_foreach(m, key, val)
		json_array_append_new(got, json_string(key));
	char *ws = json_dumps(want, 0), *gs = json_dumps(got, 0);
	ck_assert_msg(json_equal(want, got), "keys %s, expected %s", gs, ws);
	free(ws);
	free(gs);
	json_decref(want);
	json_decref(got);
	ck_assert_str_eq(json_string_value(json_object_get(m, "schema")), "cgoshim/1");
	ck_assert_int_eq(num(m, "pid"), 0);
	json_t *pids = json_object_get(m, "merged");
	ck_assert_int_eq(json_array_size(pids), 2);
	ck_assert_int_eq(json_integer_value(json_array_get(pids, 0)), pa);
	ck_assert_int_eq(json_integer_value(json_array_get(pids, 1)), pb);
	ck_assert(json_is_true(json_object_get(m, "final")));

	/* Every function of either run: sums and combined extremes. */
	json_t *runs[2] = { a, b };
	for (int r = 0; r < 2; r++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(runs[r], "calls"), i, c) {
			const char *fn = json_string_value(json_object_get(c, "fn"));
			json_t *mc = find_by(json_object_get(m, "calls"), "fn", fn);
			ck_assert_msg(mc, "%s missing from the merged report", fn);
			json_t *ca = find_by(json_object_get(a, "calls"), "fn", fn);
			json_t *cb = find_by(json_object_get(b, "calls"), "fn", fn);
			static const char *const sums[] = { "count", "errors", "total_ns" };
			for (int k = 0; k < 3; k++)
				ck_assert_msg(num(mc, sums[k]) == (ca ? num(ca, sums[k]) : 0) + (cb ? num(cb, sums[k]) : 0),
					      "%s.%s is not the sum", fn, sums[k]);
			long long mn = ca && cb ? (num(ca, "min_ns") < num(cb, "min_ns") ? num(ca, "min_ns") : num(cb, "min_ns"))
					        : num(ca ? ca : cb, "min_ns");
			long long mx = ca && cb ? (num(ca, "max_ns") > num(cb, "max_ns") ? num(ca, "max_ns") : num(cb, "max_ns"))
					        : num(ca ? ca : cb, "max_ns");
			ck_assert_int_eq(num(mc, "min_ns"), mn);
			ck_assert_int_eq(num(mc, "max_ns"), mx);
			check_stat(mc, fn);
		}
	}
	ck_assert_int_eq(hcount(m, "read"), 800);
	ck_assert_int_eq(json_array_size(json_object_get(m, "calls")),
			 json_array_size(json_object_get(b, "calls"))); /* b calls everything a does */
	json_t *zero = NULL;
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(m, "targets"), i, t) {
		check_stat(t, json_string_value(json_object_get(t, "target")));
		if (!strcmp(json_string_value(json_object_get(t, "target")), "/dev/zero") &&
		    !strcmp(json_string_value(json_object_get(t, "kind")), "read"))
			zero = t;
	}
	ck_assert_msg(zero, "no read target /dev/zero");
	ck_assert_int_eq(num(zero, "count"), 800);

	/* Leaks: totals added; leak_here once, with both runs' blocks. */
	json_t *lm = json_object_get(m, "leaks"), *la = json_object_get(a, "leaks"), *lb = json_object_get(b, "leaks");
	ck_assert_int_eq(num(lm, "count"), num(la, "count") + num(lb, "count"));
	ck_assert_int_eq(num(lm, "bytes"), num(la, "bytes") + num(lb, "bytes"));
	int here = 0;
	json_array_foreach(json_object_get(lm, "sites"), i, t) {
		json_t *f0 = json_array_get(json_object_get(t, "frames"), 0);
		here += !strcmp(json_string_value(json_object_get(f0, "function")) ?: "", "leak_here");
	}
	ck_assert_int_eq(here, 1);
	json_t *s = site_of(json_object_get(lm, "sites"), "leak_here");
	ck_assert_int_eq(num(s, "bytes"), 30000);
	ck_assert_int_eq(num(s, "count"), 3 + 5); /* ceil(10000 / 4096) + ceil(20000 / 4096) */
	s = site_of(json_object_get(lm, "sites"), "leak_extra");
	ck_assert_int_eq(num(s, "bytes"), EXTRA_BYTES);
	long long shown = 0;
	json_array_foreach(json_object_get(lm, "sites"), i, t)
		shown += num(t, "bytes");
	ck_assert_int_eq(num(lm, "shown_bytes"), shown);
	json_decref(a);
	json_decref(b);
	json_decref(m);

	/* The merged report is a report: diff and html take it. */
	x = CLI("diff", "--max-p99-regress", "0%", tpath("m.json"), tpath("m.json"));
	ck_assert_msg(x.status == 0, "diff of the merged report: %d %s", x.status, x.err);
	res_free(&x);
	x = CLI("html", tpath("m.json"));
	ck_assert_msg(x.status == 0 && strstr(x.out, "merged</b> from 2 processes"), "html: %d %s", x.status, x.err);
	res_free(&x);
}
END_TEST

START_TEST(merge_quantiles)
{
	run_prog("a.json", "2000", "1000", false, NULL);
	json_t *a = load(tpath("a.json"));
	json_t *copy = json_deep_copy(a);
	json_object_set_new(copy, "pid", json_integer(num(a, "pid") + 1000000));
	save(copy, tpath("copy.json"));
	json_decref(copy);
	struct res x = CLI("merge", tpath("a.json"), tpath("copy.json"));
	ck_assert_int_eq(x.status, 0);
	json_t *m = parse(x.out);
	res_free(&x);
	static const char *const qk[] = { "p50_ns", "p90_ns", "p99_ns", "p999_ns" };
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(a, "calls"), i, c) {
		const char *fn = json_string_value(json_object_get(c, "fn"));
		json_t *mc = find_by(json_object_get(m, "calls"), "fn", fn);
		ck_assert_int_eq(num(mc, "count"), 2 * num(c, "count"));
		check_stat(mc, fn);
		for (int k = 0; k < 4; k++) {
			double want = (double)num(c, qk[k]), got = (double)num(mc, qk[k]);
			ck_assert_msg(fabs(got - want) <= want / 64 + 1, "%s %s: merged %.0f, original %.0f", fn, qk[k],
				      got, want);
		}
	}
	json_decref(m);

	/* One process given twice (or a live dump and the final one) counts once. */
	x = CLI("merge", tpath("a.json"), tpath("a.json"));
	ck_assert_int_eq(x.status, 0);
	m = parse(x.out);
	res_free(&x);
	ck_assert_int_eq(hcount(m, "read"), hcount(a, "read"));
	ck_assert_int_eq(json_array_size(json_object_get(m, "merged")), 1);
	json_decref(m);
	json_decref(a);
}
END_TEST

/* ---- html --------------------------------------------------------------- */

static const char *python(void)
{
	const char *p = getenv("CGOSHIM_TEST_PYTHON");
	if (!p || !*p)
		skip("python3 not found when the build was configured");
	return p;
}

/* check_html.py MODE FILE, parsed. */
static json_t *checker(const char *mode, const char *file)
{
	char script[600];
	snprintf(script, sizeof(script), "%s/check_html.py", getenv("CGOSHIM_TEST_SRCDIR"));
	const char *argv[] = { python(), script, mode, file, NULL };
	struct hopts o = { .no_preload = true, .timeout_s = 120 };
	struct hrun r;
	ck_assert_int_eq(hrun(argv, &o, &r), 0);
	ck_assert_msg(hexited(&r, 0), "check_html.py: %s", r.err);
	json_t *j = parse(r.out);
	hrun_free(&r);
	return j;
}

/* Report a.json of a run whose every call is "slow" (so it has events) and
 * the page drawn from it. */
static void make_page(void)
{
	static const char *const env[] = { "CGOSHIM_SLOW_NS=1", NULL };
	run_prog("a.json", "300", "10000", true, env);
	struct res x = CLI("html", tpath("a.json"));
	ck_assert_msg(x.status == 0, "status %d: %s", x.status, x.err);
	ck_assert_msg(!*x.err, "stderr: %s", x.err);
	spit(tpath("a.html"), x.out);
	res_free(&x);
}

/* What a page or its DOM must show for report a.json. */
static void check_page(json_t *p, json_t *report)
{
	char *pr = json_dumps(json_object_get(p, "problems"), 0);
	ck_assert_msg(json_array_size(json_object_get(p, "problems")) == 0, "problems: %s", pr);
	free(pr);
	json_t *calls = json_object_get(report, "calls");
	json_t *hists = json_object_get(p, "hists");
	ck_assert_int_eq(json_array_size(hists), json_array_size(calls));
	size_t i;
	json_t *c;
	json_array_foreach(calls, i, c)
		ck_assert_str_eq(json_string_value(json_array_get(hists, i)), json_string_value(json_object_get(c, "fn")));
	ck_assert_int_eq(num(p, "target_hists"), json_array_size(json_object_get(report, "targets")));
	json_t *here = find_by(json_object_get(p, "frames"), "fn", "leak_here");
	ck_assert_msg(here, "no flame graph frame for leak_here");
	ck_assert_int_eq(num(here, "bytes"), 10000);
	const char *title = json_string_value(json_object_get(here, "title"));
	ck_assert_msg(strstr(title, "leak_here") && strstr(title, "cliprog.c:") && strstr(title, "9.8 KiB"),
		      "title: %s", title);
	json_t *extra = find_by(json_object_get(p, "frames"), "fn", "leak_extra");
	ck_assert_msg(extra && num(extra, "bytes") == EXTRA_BYTES, "no leak_extra frame of %d bytes", EXTRA_BYTES);
	json_t *main_f = find_by(json_object_get(p, "frames"), "fn", "main");
	ck_assert_msg(main_f && num(main_f, "bytes") >= 10000 + EXTRA_BYTES, "main frame missing or too narrow");
	size_t nev = json_array_size(json_object_get(report, "events"));
	ck_assert_msg(nev > 0, "the run recorded no slow call");
	ck_assert_int_eq(num(p, "events"), nev < 5000 ? (long long)nev : 5000);
}

START_TEST(html)
{
	make_page();
	json_t *report = load(tpath("a.json"));
	json_t *p = checker("html", tpath("a.html"));
	check_page(p, report);
	json_decref(p);

	/* Without "events" (an older report): the section says so. */
	json_object_del(report, "events");
	save(report, tpath("noevents.json"));
	struct res x = CLI("html", tpath("noevents.json"));
	ck_assert_int_eq(x.status, 0);
	spit(tpath("noevents.html"), x.out);
	res_free(&x);
	p = checker("html", tpath("noevents.html"));
	ck_assert_int_eq(json_array_size(json_object_get(p, "problems")), 0);
	ck_assert_int_eq(num(p, "events"), 0);
	ck_assert_msg(strstr(json_string_value(json_object_get(p, "text")), "no slow-call events"), "no note");
	json_decref(p);

	/* A report with 100 targets of one kind and no "target_rows" (older,
	 * or merged): 30 rows drawn, the other 70 summed into one row. */
	json_t *many = json_deep_copy(report);
	json_t *ts = json_object_get(many, "targets");
	json_array_clear(ts);
	for (int k = 0; k < 100; k++) {
		json_t *t = json_deep_copy(json_array_get(json_object_get(many, "calls"), 0));
		char name[64];
		snprintf(name, sizeof(name), "/tmp/many/f-%03d", k);
		json_object_del(t, "fn");
		json_object_set_new(t, "kind", json_string("read"));
		json_object_set_new(t, "target", json_string(name));
		json_array_append_new(ts, t);
	}
	json_object_del(many, "target_rows");
	save(many, tpath("many.json"));
	json_decref(many);
	x = CLI("html", tpath("many.json"));
	ck_assert_int_eq(x.status, 0);
	spit(tpath("many.html"), x.out);
	ck_assert_msg(strstr(x.out, "(rest: 70 rows)"), "no (rest) row for the 70 targets past 30");
	res_free(&x);
	p = checker("html", tpath("many.html"));
	ck_assert_int_eq(json_array_size(json_object_get(p, "problems")), 0);
	ck_assert_int_eq(num(p, "target_hists"), 30);
	json_decref(p);

	/* Names that are markup are escaped. */
	json_object_set_new(json_array_get(json_object_get(report, "calls"), 0), "fn",
			    json_string("<script>alert(1)</script>"));
	save(report, tpath("evil.json"));
	x = CLI("html", tpath("evil.json"));
	ck_assert_int_eq(x.status, 0);
	ck_assert_ptr_null(strstr(x.out, "<script>"));
	ck_assert_ptr_nonnull(strstr(x.out, "&lt;script&gt;"));
	res_free(&x);
	json_decref(report);
}
END_TEST

static const char *find_chromium(void)
{
	static char path[4096];
	const char *given = getenv("CGOSHIM_TEST_CHROMIUM");
	if (given && *given && !access(given, X_OK))
		return given;
	static const char *const names[] = { "chromium", "chromium-browser", "google-chrome" };
	const char *p = getenv("PATH");
	for (size_t n = 0; n < 3; n++) {
		for (const char *s = p ? p : "/usr/bin:/bin"; *s;) {
			const char *e = strchr(s, ':');
			size_t len = e ? (size_t)(e - s) : strlen(s);
			snprintf(path, sizeof(path), "%.*s/%s", (int)len, s, names[n]);
			if (len && !access(path, X_OK))
				return path;
			s += len + (e ? 1 : 0);
		}
	}
	return NULL;
}

START_TEST(html_chromium)
{
	const char *chromium = find_chromium();
	if (!chromium)
		skip("chromium is not installed (scripts/install-deps.sh installs it)");
	make_page();
	json_t *report = load(tpath("a.json"));
	char url[600], profile[600], shot[600], size[64];
	snprintf(url, sizeof(url), "file://%s", tpath("a.html"));
	snprintf(profile, sizeof(profile), "--user-data-dir=%s", tpath("chromium"));
	const char *base[] = { chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
			       "--no-first-run", "--disable-extensions", "--disable-background-networking",
			       profile };
	const size_t nb = sizeof(base) / sizeof(base[0]);
	const char *argv[16];
	memcpy(argv, base, sizeof(base));
	argv[nb] = "--dump-dom";
	argv[nb + 1] = url;
	argv[nb + 2] = NULL;
	struct hopts o = { .no_preload = true, .timeout_s = 120 };
	struct hrun r;
	ck_assert_int_eq(hrun(argv, &o, &r), 0);
	ck_assert_msg(hexited(&r, 0), "chromium --dump-dom failed: %.2000s", r.err);
	ck_assert_msg(strstr(r.out, "<svg class=\"hist\""), "no plot in the DOM: %.500s", r.out);
	spit(tpath("dom.html"), r.out);
	hrun_free(&r);
	json_t *p = checker("html", tpath("dom.html"));
	check_page(p, report);
	json_decref(p);

	/* A screenshot; kept in the build folder for a human to look at. */
	snprintf(shot, sizeof(shot), "--screenshot=%s/cli-report.png", getenv("CGOSHIM_TEST_BINDIR"));
	snprintf(size, sizeof(size), "--window-size=1300,1600");
	unlink(shot + strlen("--screenshot="));
	memcpy(argv, base, sizeof(base));
	argv[nb] = shot;
	argv[nb + 1] = size;
	argv[nb + 2] = url;
	argv[nb + 3] = NULL;
	ck_assert_int_eq(hrun(argv, &o, &r), 0);
	ck_assert_msg(hexited(&r, 0), "chromium --screenshot failed: %.2000s", r.err);
	hrun_free(&r);
	p = checker("png", shot + strlen("--screenshot="));
	ck_assert_msg(!json_object_get(p, "error"), "%s", json_string_value(json_object_get(p, "error")));
	ck_assert_int_eq(num(p, "width"), 1300);
	ck_assert_int_eq(num(p, "height"), 1600);
	/* Text, tables and plots: a blank or unstyled page has far fewer. */
	ck_assert_msg(num(p, "nonwhite") > 20000, "screenshot nearly blank: %lld pixels", num(p, "nonwhite"));
	ck_assert_msg(num(p, "bar_pixels") > 200, "no histogram bar painted: %lld pixels", num(p, "bar_pixels"));
	json_decref(p);
	/* The page too, next to it. */
	char keep[600];
	snprintf(keep, sizeof(keep), "%s/cli-report.html", getenv("CGOSHIM_TEST_BINDIR"));
	char *page = slurp(tpath("a.html"));
	spit(keep, page);
	free(page);
	json_decref(report);
}
END_TEST

int main(int argc, char **argv)
{
	const struct {
		const char *name;
		const TTest *test;
	} cases[] = {
		{ "diff-identical", diff_identical },
		{ "diff-p99", diff_p99 },
		{ "diff-bound", diff_bound },
		{ "diff-leak", diff_leak },
		{ "diff-new-site", diff_new_site },
		{ "bad-input", bad_input },
		{ "merge", merge },
		{ "merge-quantiles", merge_quantiles },
		{ "html", html },
		{ "html-chromium", html_chromium },
	};
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("cli");
	tcase_set_timeout(tc, 240);
	bool found = false;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (argc < 2 || !strcmp(argv[1], cases[i].name)) {
			tcase_add_test(tc, cases[i].test);
			found = true;
		}
	if (!found) {
		fprintf(stderr, "unknown case %s\n", argv[1]);
		return 2;
	}
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	if (argc >= 2)
		srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
