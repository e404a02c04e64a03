/* test_dl_lookup.c - dlopen, dlsym and dlvsym give glibc's own answers
 * under the shim wherever the answer depends on the caller (issue 13 item
 * 7), and dlsym(RTLD_DEFAULT) is timed (issue 15 item 3).
 *
 * Each case runs dl_lookup (dl_lookup.c) with and without the shim and
 * compares the whole output (and exit status); the premise of each case is
 * checked on the run without the shim:
 *  - origin: "$ORIGIN/..." and "${ORIGIN}/..." from the executable open the
 *    library next to it; a missing one fails with glibc's text;
 *  - hwcaps: a library whose RUNPATH is $ORIGIN/plug opens "libplug.so",
 *    which exists in plug/ and in plug/glibc-hwcaps/x86-64-v2/: glibc takes
 *    the hwcaps one;
 *  - cache: that library opens a library found only through ld.so.cache
 *    (not in a system directory; picked from `ldconfig -p`);
 *  - long_path: the same from a library whose RUNPATH is over 4096 bytes
 *    once $ORIGIN is expanded;
 *  - errors: dlerror() texts: a bad mode, missing names, a file in the
 *    RUNPATH that is not ELF, RTLD_DEFAULT/RTLD_NEXT/dlvsym misses from the
 *    executable and from the library (glibc names the caller);
 *  - default_196: 196 dlsym(RTLD_DEFAULT) calls from the executable are
 *    196 timed dlsym calls (histogram too), none "not timed";
 *  - jit: lookups from code in an anonymous mapping (no object holds the
 *    caller) get glibc's answers, and are counted as 2 dlsym calls "not
 *    timed" in JSON, in the text report and in cgoshim html;
 *  - ctor_stack: a plugin's constructor allocates while dlopen is in flight;
 *    the leak's stack goes through dlopen to the program's function that
 *    called it and on to main, and holds none of the shim's frames;
 *  - ctor_stack_tiny: the same from dl_tiny, whose only `ret` follows a
 *    stack adjustment, so unwinding through it needs the shim's repair:
 *    dlopen, then main, then __libc_start_call_main;
 *  - ctor_stack_clean: the same from a library with a leaf function (the
 *    unwinder follows the gadget itself; the shim drops its two frames):
 *    dlopen, caller_open, main. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness.h"
#include "iotest.h"

struct both {
	char *bare, *shim;
	int bare_status, shim_status;
	json_t *final;
};

static struct both run_both(const char *const argv[])
{
	struct both b = { 0 };
	struct hrun r;
	struct hopts o = { .no_preload = true };
	ck_assert_msg(hrun(argv, &o, &r) == 0, "%s did not finish without the shim", argv[0]);
	b.bare = strdup(r.out);
	b.bare_status = r.status;
	hrun_free(&r);
	ck_assert_msg(hrun(argv, NULL, &r) == 0, "%s did not finish under the shim", argv[0]);
	b.shim = strdup(r.out);
	b.shim_status = r.status;
	b.final = r.final ? json_incref(r.final) : NULL;
	if (!b.final)
		fprintf(stderr, "stderr under the shim: %s\n", r.err);
	hrun_free(&r);
	return b;
}

static void both_free(struct both *b)
{
	free(b->bare);
	free(b->shim);
	json_decref(b->final);
}

/* Same output and status with and without the shim. */
static void same(const struct both *b, const char *what)
{
	ck_assert_msg(b->bare_status == b->shim_status, "%s: status %d without the shim, %d with it", what,
		      b->bare_status, b->shim_status);
	ck_assert_msg(!strcmp(b->bare, b->shim), "%s: output differs:%s", what, io_diff(b->bare, b->shim));
}

/* ---- the fixture: a directory with the caller libraries and plug/ -------- */

static char fixture[256];

static void copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(in >= 0, "cannot open %s", from);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	ck_assert_msg(out >= 0, "cannot create %s", to);
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_msg(write(out, buf, (size_t)n) == n, "short write to %s", to);
	close(in);
	close(out);
}

static const char *fx(const char *name)
{
	static char path[8][512];
	static int k;
	char *p = path[k++ % 8];
	snprintf(p, sizeof(path[0]), "%s/%s", fixture, name);
	return p;
}

static void setup(void)
{
	snprintf(fixture, sizeof(fixture), "/tmp/cgsdl.XXXXXX");
	ck_assert_msg(mkdtemp(fixture) != NULL, "mkdtemp failed");
	mkdir(fx("plug"), 0755);
	mkdir(fx("plug/glibc-hwcaps"), 0755);
	mkdir(fx("plug/glibc-hwcaps/x86-64-v2"), 0755);
	copy_file(hbin("libcgsdl_caller_short.so"), fx("libcgsdl_caller_short.so"));
	copy_file(hbin("libcgsdl_caller_long.so"), fx("libcgsdl_caller_long.so"));
	copy_file(hbin("libcgsdl_one.so"), fx("plug/libplug.so"));
	copy_file(hbin("libcgsdl_two.so"), fx("plug/glibc-hwcaps/x86-64-v2/libplug.so"));
	char junk[512];
	memset(junk, 'x', sizeof(junk) - 2);
	junk[sizeof(junk) - 2] = '\n';
	junk[sizeof(junk) - 1] = 0;
	ck_assert_int_eq(io_write_file(fixture, "plug/libjunk.so", junk), 0); /* not ELF, not too short */
}

static void teardown(void)
{
	if (!fixture[0])
		return;
	const char *argv[] = { "rm", "-rf", fixture, NULL };
	int st;
	free(io_capture(argv, true, &st));
	fixture[0] = 0;
}

static bool has_line(const char *out, const char *needle)
{
	return strstr(out, needle) != NULL;
}

/* ---- cases ----------------------------------------------------------------- */

START_TEST(origin)
{
	const char *argv[] = { hbin("dl_lookup"), "origin", NULL };
	struct both b = run_both(argv);
	ck_assert_msg(has_line(b.bare, "main dlopen $ORIGIN/libcgsdl_one.so: ok value=one") &&
			      has_line(b.bare, "main dlopen ${ORIGIN}/libcgsdl_two.so: ok value=two"),
		      "premise: without the shim the executable's $ORIGIN opens its neighbours:\n%s", b.bare);
	same(&b, "origin");
	both_free(&b);
}
END_TEST

START_TEST(hwcaps)
{
	const char *argv[] = { hbin("dl_lookup"), "caller", fx("libcgsdl_caller_short.so"), "libplug.so", NULL };
	struct both b = run_both(argv);
	char want[600];
	snprintf(want, sizeof(want), "%s: %s value=two", "caller dlopen libplug.so",
		 fx("plug/glibc-hwcaps/x86-64-v2/libplug.so"));
	ck_assert_msg(has_line(b.bare, want), "premise: without the shim glibc takes the hwcaps copy (%s):\n%s", want,
		      b.bare);
	same(&b, "hwcaps");
	both_free(&b);
}
END_TEST

/* A library ld.so.cache lists in a directory that is not a system one. */
static bool cache_only(char *name, size_t cap)
{
	const char *argv[] = { "ldconfig", "-p", NULL };
	int st;
	char *out = io_capture(argv, false, &st);
	bool found = false;
	long best = -1;
	for (char *p = out; p && *p; p += strcspn(p, "\n"), p += *p == '\n') {
		char line[1024], lib[256], path[700];
		snprintf(line, sizeof(line), "%.*s", (int)strcspn(p, "\n"), p);
		if (!strstr(line, "x86-64") || sscanf(line, " %255s", lib) != 1 || !strstr(line, "=> "))
			continue;
		snprintf(path, sizeof(path), "%s", strstr(line, "=> ") + 3);
		char *slash = strrchr(path, '/');
		if (!slash)
			continue;
		*slash = 0;
		if (!strcmp(path, "/lib/x86_64-linux-gnu") || !strcmp(path, "/usr/lib/x86_64-linux-gnu") ||
		    !strcmp(path, "/lib") || !strcmp(path, "/usr/lib") || !strcmp(path, "/lib64") ||
		    !strcmp(path, "/usr/lib64") || strstr(path, "fakeroot") || !strstr(lib, ".so."))
			continue;
		*slash = '/';
		struct stat sb;
		if (stat(path, &sb) || (best >= 0 && sb.st_size >= best))
			continue;
		best = sb.st_size;
		snprintf(name, cap, "%s", lib);
		found = true;
	}
	free(out);
	return found;
}

START_TEST(cache)
{
	char lib[256];
	if (!io_have("ldconfig") || !cache_only(lib, sizeof(lib))) {
		printf("no library found only through ld.so.cache here: case not run\n");
		return;
	}
	const char *argv[] = { hbin("dl_lookup"), "caller", fx("libcgsdl_caller_short.so"), lib, NULL };
	struct both b = run_both(argv);
	char want[300];
	snprintf(want, sizeof(want), "caller dlopen %s: /", lib);
	ck_assert_msg(has_line(b.bare, want), "premise: without the shim %s is found through the cache:\n%s", lib,
		      b.bare);
	same(&b, "cache");
	both_free(&b);
}
END_TEST

START_TEST(long_path)
{
	/* 200 entries of "<fixture>/cgsdl-missing-directory-number-N". */
	ck_assert_int_gt(200 * (strlen(fixture) + 36), 4096);
	const char *argv[] = { hbin("dl_lookup"), "caller", fx("libcgsdl_caller_long.so"), "libplug.so",
			       "libcgsdl-missing.so", NULL };
	struct both b = run_both(argv);
	ck_assert_msg(has_line(b.bare, "caller dlopen libplug.so: /") &&
			      has_line(b.bare, "caller dlopen libcgsdl-missing.so: failed: "),
		      "premise: without the shim the long RUNPATH finds libplug.so:\n%s", b.bare);
	same(&b, "long_path");
	both_free(&b);
}
END_TEST

START_TEST(errors)
{
	const char *argv[] = { hbin("dl_lookup"), "errors", fx("libcgsdl_caller_short.so"), NULL };
	struct both b = run_both(argv);
	char junk[600];
	snprintf(junk, sizeof(junk), "%s: invalid ELF header", fx("plug/libjunk.so"));
	ck_assert_msg(has_line(b.bare, junk) && has_line(b.bare, "dl_lookup: undefined symbol: cgsdl_no_such_symbol") &&
			      has_line(b.bare, "libcgsdl_caller_short.so: undefined symbol: cgsdl_no_such_symbol"),
		      "premise: glibc's texts name the file found and the caller:\n%s", b.bare);
	same(&b, "errors");
	both_free(&b);
}
END_TEST

static long long bucket_sum(json_t *call)
{
	long long n = 0;
	size_t i;
	json_t *bk;
	json_array_foreach(json_object_get(call, "buckets"), i, bk)
		n += io_int(bk, "count");
	return n;
}

START_TEST(default_196)
{
	const char *argv[] = { hbin("dl_lookup"), "default", "196", NULL };
	struct both b = run_both(argv);
	same(&b, "default_196");
	ck_assert_msg(b.final != NULL, "no final report");
	json_t *c = hcall(b.final, "dlsym");
	ck_assert_msg(c != NULL, "no dlsym row in the calls table");
	ck_assert_msg(io_int(c, "count") == 196 && io_int(c, "not_timed") == 0 && bucket_sum(c) == 196,
		      "dlsym: count %lld, not_timed %lld, histogram %lld; the program made 196 calls",
		      io_int(c, "count"), io_int(c, "not_timed"), bucket_sum(c));
	ck_assert_msg(io_int(c, "total_ns") > 0, "196 timed calls took no time");
	both_free(&b);
}
END_TEST

START_TEST(jit)
{
	const char *argv[] = { hbin("dl_lookup"), "jit", NULL };
	struct both b = run_both(argv);
	ck_assert_msg(has_line(b.bare, "jit dlsym(RTLD_DEFAULT, puts): found") &&
			      has_line(b.bare, "RTLD_NEXT used in code not dynamically loaded"),
		      "premise:\n%s", b.bare);
	same(&b, "jit");
	ck_assert_msg(b.final != NULL, "no final report");
	ck_assert_msg(io_calls(b.final, "dlsym") == 2 && io_untimed(b.final, "dlsym") == 2 &&
			      hnum(b.final, "counters.dlsym_untimed") == 2,
		      "dlsym: %lld calls, %lld not timed (counter %lld); the thunk made 2, neither can be timed",
		      io_calls(b.final, "dlsym"), io_untimed(b.final, "dlsym"),
		      hnum(b.final, "counters.dlsym_untimed"));
	/* cgoshim html's calls table too. */
	ck_assert_int_eq(json_dump_file(b.final, fx("report.json"), 0), 0);
	const char *html_argv[] = { getenv("CGOSHIM_TEST_LAUNCHER"), "html", fx("report.json"), NULL };
	int st;
	char *html = io_capture(html_argv, false, &st);
	ck_assert_msg(html && strstr(html, "<td>2 (2 not timed)</td>"), "cgoshim html: no dlsym cell \"2 (2 not "
									 "timed)\"");
	free(html);
	both_free(&b);

	/* The text report's calls table has the row, and says so. */
	static const char *const env[] = { "CGOSHIM_FORMAT=text", NULL };
	char out[600];
	snprintf(out, sizeof(out), "CGOSHIM_OUTPUT=%s/report.txt", fixture);
	const char *env2[] = { env[0], out, NULL };
	struct hopts o = { .env = env2 };
	struct hrun r;
	ck_assert_msg(hrun(argv, &o, &r) == 0, "dl_lookup jit did not finish under the shim");
	hrun_free(&r);
	char *text = NULL;
	for (int i = 0; i < 200 && !text; i++) {
		FILE *f = fopen(fx("report.txt"), "r");
		if (f) {
			size_t n = 0;
			if (getdelim(&text, &n, 0, f) < 0 || !strstr(text, "calls:")) {
				free(text);
				text = NULL;
			}
			fclose(f);
		}
		if (!text)
			hmsleep(50);
	}
	ck_assert_msg(text != NULL, "no text report in %s", fx("report.txt"));
	const char *row = strstr(text, "\n  dlsym");
	ck_assert_msg(row && strstr(row, "not timed") && strstr(text, "dlsym: 2 of 2 calls not timed"),
		      "text report: no dlsym row saying \"not timed\":\n%s", text);
	int count = -1;
	char errs[16] = "";
	ck_assert_msg(sscanf(row, " dlsym %d %15s", &count, errs) == 2 && count == 2 && !strcmp(errs, "?"),
		      "text report: dlsym row count %d, errors \"%s\"; want 2 and \"?\" (not seen)", count, errs);
	free(text);
}
END_TEST

START_TEST(ctor_stack)
{
	const char *argv[] = { hbin("dl_lookup"), "ctor", hbin("libcgsdl_ctor.so"), NULL };
	struct both b = run_both(argv);
	same(&b, "ctor_stack");
	ck_assert_msg(b.final != NULL, "no final report");
	json_t *sites = json_object_get(json_object_get(b.final, "leaks"), "sites"), *site, *f;
	size_t i, k;
	bool seen = false;
	json_array_foreach(sites, i, site) {
		if (io_int(site, "bytes") != 12347)
			continue;
		seen = true;
		bool caller = false, ctor = false, main_after = false;
		const char *prev = "";
		json_array_foreach(json_object_get(site, "frames"), k, f) {
			const char *fn = hjstr(f, "function");
			ck_assert_msg(strncmp(fn, "cgs_", 4), "a shim frame (%s) in the leak's stack", fn);
			caller |= !strcmp(fn, "load_ctor_plugin") && !strncmp(prev, "dlopen", 6);
			main_after |= !strcmp(fn, "main") && !strcmp(prev, "load_ctor_plugin");
			ctor |= !strcmp(fn, "plug_ctor");
			prev = fn;
		}
		ck_assert_msg(ctor && caller && main_after,
			      "the constructor's leak: frames plug_ctor %s, dlopen then load_ctor_plugin %s, then main %s",
			      ctor ? "present" : "missing", caller ? "present" : "missing",
			      main_after ? "present" : "missing");
	}
	ck_assert_msg(seen, "no leak site of 12347 bytes");
	both_free(&b);
}
END_TEST

/* The leak of libcgsdl_ctor.so's constructor: its frames hold dlopen, then
 * f1, then f2 (f2 a prefix), and no shim frame. */
static void ctor_frames(const struct both *b, const char *f1, const char *f2)
{
	ck_assert_msg(b->final != NULL && hcount(b->final, "dlopen") >= 1 && io_untimed(b->final, "dlopen") == 0,
		      "dlopen: not timed");
	json_t *sites = json_object_get(json_object_get(b->final, "leaks"), "sites"), *site, *f;
	size_t i, k;
	bool seen = false;
	json_array_foreach(sites, i, site) {
		if (io_int(site, "bytes") != 12347)
			continue;
		seen = true;
		char got[2048] = "";
		const char *prev = "", *prev2 = "";
		bool ok = false;
		json_array_foreach(json_object_get(site, "frames"), k, f) {
			const char *fn = hjstr(f, "function");
			if (strlen(got) + strlen(fn) + 3 < sizeof(got)) {
				strcat(got, fn);
				strcat(got, " ");
			}
			ck_assert_msg(strncmp(fn, "cgs_", 4), "a shim frame (%s) in the leak's stack", fn);
			ok |= !strncmp(prev2, "dlopen", 6) && !strcmp(prev, f1) && !strncmp(fn, f2, strlen(f2));
			prev2 = prev;
			prev = fn;
		}
		ck_assert_msg(ok, "the constructor's leak: want dlopen, %s, %s; frames: %s", f1, f2, got);
	}
	ck_assert_msg(seen, "no leak site of 12347 bytes");
}

START_TEST(ctor_stack_tiny)
{
	const char *argv[] = { hbin("dl_tiny"), hbin("libcgsdl_ctor.so"), NULL };
	struct both b = run_both(argv);
	same(&b, "ctor_stack_tiny");
	ctor_frames(&b, "main", "__libc_start");
	both_free(&b);
}
END_TEST

START_TEST(ctor_stack_clean)
{
	const char *argv[] = { hbin("dl_lookup"), "caller", fx("libcgsdl_caller_short.so"), hbin("libcgsdl_ctor.so"),
			       NULL };
	struct both b = run_both(argv);
	same(&b, "ctor_stack_clean");
	ctor_frames(&b, "caller_open", "main");
	both_free(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dl_lookup");
	TCase *tc = tcase_create("dl_lookup");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, origin);
	tcase_add_test(tc, hwcaps);
	tcase_add_test(tc, cache);
	tcase_add_test(tc, long_path);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, default_196);
	tcase_add_test(tc, jit);
	tcase_add_test(tc, ctor_stack);
	tcase_add_test(tc, ctor_stack_tiny);
	tcase_add_test(tc, ctor_stack_clean);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
