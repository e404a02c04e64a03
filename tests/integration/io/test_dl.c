/* test_dl.c - lookups and loads that depend on the caller give the same
 * answers under the shim (PITFALLS items 11 and 12).
 *
 *  - rtld_next: libcgsio_nexta.so and libcgsio_nextb.so both define foo;
 *    libA's dlsym(RTLD_NEXT, "foo") and dlvsym(RTLD_NEXT, "foo", "CGSIO_B_1")
 *    find libB's foo, the program's dlsym(RTLD_NEXT) finds libA's, and a
 *    failed lookup's dlerror() names libA. The output is the same with and
 *    without the shim; each of the program's 7 lookups (4 RTLD_NEXT) is a
 *    timed call in the calls table (dl.c returns through a ret byte in the
 *    caller's object, so glibc sees the caller and the shim the result).
 *  - rtld_default_local: a library loaded with RTLD_LOCAL finds its own
 *    symbol with dlsym(RTLD_DEFAULT, ...), which glibc resolves in the
 *    caller's scope: same answer with the shim.
 *  - origin_runpath / origin_rpath: a library whose DT_RUNPATH (or
 *    DT_RPATH) is $ORIGIN/plugins dlopens libcgsio_plugin.so by bare name;
 *    the program itself cannot (its search path lacks plugins/). Same
 *    output and exit status with the shim, which counts two dlopen calls,
 *    one failed. readelf -d checks that each fixture has the tag it claims
 *    (the test exits 77 without readelf). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

static const char *line_of(const char *out, const char *prefix)
{
	static char buf[1024];
	for (const char *p = out; *p; p += strcspn(p, "\n"), p += *p == '\n')
		if (!strncmp(p, prefix, strlen(prefix))) {
			snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(p, "\n"), p);
			return buf;
		}
	return "(missing)";
}

static struct both run_rtld_next(void)
{
	const char *argv[] = { hbin("rtld_next"), hbin("libcgsio_local.so"), NULL };
	struct both b = run_both(argv);
	ck_assert_msg(WIFEXITED(b.bare_status) && WEXITSTATUS(b.bare_status) == 0, "rtld_next failed without the shim: %s",
		      b.bare);
	/* The premise, checked on the run without the shim. */
	ck_assert_msg(!strcmp(line_of(b.bare, "A: next foo"), "A: next foo = B"), "without the shim: %s", b.bare);
	ck_assert_msg(!strcmp(line_of(b.bare, "A: vnext foo"), "A: vnext foo = B"), "without the shim: %s", b.bare);
	ck_assert_msg(!strcmp(line_of(b.bare, "main: next foo"), "main: next foo = A"), "without the shim: %s", b.bare);
	ck_assert_msg(!strcmp(line_of(b.bare, "local: default"), "local: default = found 42"), "without the shim: %s",
		      b.bare);
	ck_assert_msg(b.final != NULL, "no final report from rtld_next");
	return b;
}

START_TEST(rtld_next)
{
	struct both b = run_rtld_next();
	static const char *const lines[] = { "A: next foo", "A: vnext foo", "A: next missing", "main: next foo",
					      "main: default foo", "direct: foo" };
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		char want[1024];
		snprintf(want, sizeof(want), "%s", line_of(b.bare, lines[i]));
		ck_assert_msg(!strcmp(want, line_of(b.shim, lines[i])), "\"%s\" without the shim, \"%s\" with it", want,
			      line_of(b.shim, lines[i]));
	}
	/* 4 RTLD_NEXT lookups (3 in libA, 1 in main), 3 other dlsym calls
	 * (main's RTLD_DEFAULT, the lookup of local_default_lookup, and its
	 * RTLD_DEFAULT lookup), each a timed call. */
	long long timed = hcount(b.final, "dlsym") + hcount(b.final, "dlvsym");
	long long untimed = io_untimed(b.final, "dlsym") + io_untimed(b.final, "dlvsym");
	ck_assert_msg(timed == 7 && untimed == 0,
		      "calls dlsym+dlvsym: %lld timed, %lld not timed; the program made 4 RTLD_NEXT and 3 other "
		      "lookups, all from objects with a ret byte", timed, untimed);
	ck_assert_msg(hcount(b.final, "dlopen") == 1, "dlopen counted %lld times, expected 1",
		      hcount(b.final, "dlopen"));
	both_free(&b);
}
END_TEST

START_TEST(rtld_default_local)
{
	struct both b = run_rtld_next();
	char want[1024];
	snprintf(want, sizeof(want), "%s", line_of(b.bare, "local: default"));
	ck_assert_msg(!strcmp(want, line_of(b.shim, "local: default")),
		      "dlsym(RTLD_DEFAULT) from a RTLD_LOCAL library: \"%s\" without the shim, \"%s\" with it", want,
		      line_of(b.shim, "local: default"));
	ck_assert_msg(!strcmp(b.bare, b.shim), "output differs:%s", io_diff(b.bare, b.shim));
	both_free(&b);
}
END_TEST

/* readelf -d FILE has a tag ("RUNPATH" or "RPATH") whose value is exactly
 * $ORIGIN/plugins, and not the other one. */
static void check_tag(const char *lib, const char *tag, const char *not_tag)
{
	const char *argv[] = { "readelf", "-d", hbin(lib), NULL };
	int st;
	char *out = io_capture(argv, false, &st);
	ck_assert_msg(out && WIFEXITED(st) && !WEXITSTATUS(st), "readelf -d %s failed", lib);
	char want[64], other[64];
	snprintf(want, sizeof(want), "(%s)", tag);
	snprintf(other, sizeof(other), "(%s)", not_tag);
	const char *p = strstr(out, want);
	ck_assert_msg(p != NULL, "%s has no %s tag: the fixture is not what the test needs:\n%s", lib, tag, out);
	ck_assert_msg(strstr(p, "[$ORIGIN/plugins]") != NULL, "%s: %s is not $ORIGIN/plugins:\n%s", lib, tag, out);
	ck_assert_msg(strstr(out, other) == NULL, "%s has a %s tag too:\n%s", lib, not_tag, out);
	free(out);
}

static void origin(const char *exe, const char *lib, const char *tag, const char *not_tag)
{
	check_tag(lib, tag, not_tag);
	ck_assert_msg(access(hbin("plugins/libcgsio_plugin.so"), R_OK) == 0, "plugins/libcgsio_plugin.so is missing");
	const char *argv[] = { hbin(exe), NULL };
	struct both b = run_both(argv);
	ck_assert_msg(WIFEXITED(b.bare_status) && WEXITSTATUS(b.bare_status) == 0, "%s failed without the shim: %s", exe,
		      b.bare);
	ck_assert_msg(strstr(b.bare, "main: dlopen = libcgsio_plugin.so: cannot open") != NULL,
		      "%s: the program itself found the plugin; the test proves nothing:\n%s", exe, b.bare);
	ck_assert_msg(strstr(b.bare, "loader: 0 hello from plugins/libcgsio_plugin.so") != NULL,
		      "%s without the shim:\n%s", exe, b.bare);
	ck_assert_msg(!strcmp(b.bare, b.shim), "%s: output differs under the shim:%s", exe, io_diff(b.bare, b.shim));
	ck_assert_msg(b.shim_status == b.bare_status, "%s: exit status %#x under the shim, %#x without", exe,
		      b.shim_status, b.bare_status);
	ck_assert_msg(b.final != NULL, "no final report from %s", exe);
	json_t *c = hcall(b.final, "dlopen");
	ck_assert_msg(io_int(c, "count") == 2 && io_int(c, "errors") == 1,
		      "%s: dlopen counted %lld times with %lld errors, expected 2 calls, 1 failed", exe, io_int(c, "count"),
		      io_int(c, "errors"));
	ck_assert_msg(hcount(b.final, "dlsym") == 1, "%s: dlsym counted %lld times, expected 1", exe,
		      hcount(b.final, "dlsym"));
	both_free(&b);
}

START_TEST(origin_runpath)
{
	origin("origin_runpath", "libcgsio_loader_runpath.so", "RUNPATH", "RPATH");
}
END_TEST

START_TEST(origin_rpath)
{
	origin("origin_rpath", "libcgsio_loader_rpath.so", "RPATH", "RUNPATH");
}
END_TEST

int main(void)
{
	/* meson test puts the helper libraries' folders, plugins/ included, in
	 * LD_LIBRARY_PATH; the programs find their libraries by RUNPATH, and
	 * the plugin must be found only through the loader's search path. */
	unsetenv("LD_LIBRARY_PATH");
	if (!io_have("readelf")) {
		printf("SKIP: readelf (binutils) is not installed; it checks the RUNPATH/RPATH fixtures\n");
		return 77;
	}
	Suite *s = suite_create("io-dl");
	TCase *tc = tcase_create("dl");
	tcase_add_test(tc, rtld_next);
	tcase_add_test(tc, rtld_default_local);
	tcase_add_test(tc, origin_runpath);
	tcase_add_test(tc, origin_rpath);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
