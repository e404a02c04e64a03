/* test_parity.c - the interposers return exactly what libc returns, errno
 * included, and count every call (PITFALLS items 7, 9, 10, 19).
 *
 * probe_parity (and probe_parity_fort, the same source built with -O2
 * -D_FORTIFY_SOURCE=2) calls every interposed entry point on its success
 * and failure paths and prints one line per call. The tests run it with and
 * without the shim:
 *  - exact: the outputs are byte-identical, descriptor numbers included (a
 *    program may rely on open returning the lowest free descriptor);
 *  - no_fd_numbers: the same without descriptor numbers, so that other
 *    differences show even when the numbers differ;
 *  - fortified: the fortified build imports __open_2 and __read_chk
 *    (checked with nm -D) and behaves the same with and without the shim;
 *  - counts: the report counts each entry point exactly as many times as
 *    the probe printed a line for it (errors too), and no free of an
 *    unknown pointer although every malloc-family function was used.
 *    Every dlsym/dlvsym lookup (RTLD_NEXT and RTLD_DEFAULT too) is a timed
 *    call: dl.c lets libc see the caller and still sees the result.
 * Functions that libc itself calls through the PLT (malloc, calloc,
 * realloc, free: dlopen and stdio allocate) are checked with >=. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "iotest.h"

struct probe_run {
	char *out;
	int status;
	json_t *final;
};

static struct probe_run run_probe(const char *exe, bool shim, bool fd_numbers)
{
	struct probe_run pr = { 0 };
	char *dir = io_mkdtemp();
	ck_assert_msg(dir != NULL, "cannot make a temporary directory");
	const char *argv[] = { hbin(exe), dir, fd_numbers ? NULL : "--no-fd-numbers", NULL };
	struct hopts o = { .no_preload = !shim };
	struct hrun r;
	int rc = hrun(argv, &o, &r);
	ck_assert_msg(rc == 0, "%s did not finish (shim=%d)", exe, shim);
	pr.out = strdup(r.out);
	pr.status = r.status;
	pr.final = r.final ? json_incref(r.final) : NULL;
	ck_assert_msg(hexited(&r, 0), "%s exited with status %#x (shim=%d); stderr: %s", exe, r.status, shim, r.err);
	hrun_free(&r);
	io_rmdir(dir);
	return pr;
}

static void probe_run_free(struct probe_run *pr)
{
	free(pr->out);
	json_decref(pr->final);
}

static void compare(const char *exe, bool fd_numbers)
{
	struct probe_run bare = run_probe(exe, false, fd_numbers);
	struct probe_run shim = run_probe(exe, true, fd_numbers);
	ck_assert_msg(strstr(bare.out, "\ndone\n") != NULL, "the probe did not finish: %s", bare.out);
	ck_assert_msg(!strcmp(bare.out, shim.out), "%s: output differs under the shim:%s", exe,
		      io_diff(bare.out, shim.out));
	ck_assert_msg(shim.final != NULL, "no final report for %s", exe);
	probe_run_free(&bare);
	probe_run_free(&shim);
}

START_TEST(exact)
{
	compare("probe_parity", true);
}
END_TEST

START_TEST(no_fd_numbers)
{
	compare("probe_parity", false);
}
END_TEST

START_TEST(fortified_imports)
{
	char **imp = io_nm(hbin("probe_parity_fort"), "--undefined-only");
	ck_assert_msg(imp != NULL, "nm -D failed on probe_parity_fort");
	ck_assert_msg(io_strv_has(imp, "__open_2"), "probe_parity_fort does not import __open_2: "
		      "the fortified build does not test what it claims");
	ck_assert_msg(io_strv_has(imp, "__read_chk"), "probe_parity_fort does not import __read_chk");
	io_strv_free(imp);
	imp = io_nm(hbin("probe_parity"), "--undefined-only");
	ck_assert_msg(imp != NULL, "nm -D failed on probe_parity");
	ck_assert_msg(io_strv_has(imp, "open") && io_strv_has(imp, "open64") && io_strv_has(imp, "pread"),
		      "probe_parity should import open, open64 and pread under their own names");
	io_strv_free(imp);
}
END_TEST

START_TEST(fortified)
{
	compare("probe_parity_fort", false);
}
END_TEST

/* ---- counts ------------------------------------------------------------ */

/* Entry points counted exactly (libc does not call them itself). */
static const char *const exact_fns[] = {
	"read", "__read_chk", "pread", "pread64", "__pread_chk", "__pread64_chk", "readv", "preadv",
	"preadv64", "open", "open64", "openat", "openat64", "__open_2", "__open64_2", "__openat_2",
	"__openat64_2", "creat", "creat64", "close", "ioctl", "posix_memalign", "aligned_alloc",
	"memalign", "valloc", "pvalloc", "malloc_usable_size", "reallocarray", "dlopen", "dlclose",
};
/* Entry points libc also calls (dlopen and stdio allocate): at least. */
static const char *const atleast_fns[] = { "malloc", "calloc", "realloc", "free" };

/* Whether a line of the probe is a failed call, as the shim counts errors:
 * a negative result, NULL, or a non-zero posix_memalign code. realloc and
 * reallocarray to size 0 return NULL without failing. */
static bool line_failed(const char *fn, const char *line)
{
	const char *arrow = strstr(line, " -> ");
	if (!arrow)
		return false;
	arrow += 4;
	if (!strcmp(fn, "posix_memalign"))
		return strncmp(arrow, "0 ", 2) != 0;
	if (strstr(line, " to-0 "))
		return false;
	return !strncmp(arrow, "-1 ", 3) || !strncmp(arrow, "NULL ", 5);
}

/* Lines per name and failed lines per name. Pseudo names map to the entry
 * point the build calls: "open(vflags)" -> open_as, "read(vn)" -> read_as. */
static void tally(const char *out, const char *fn, const char *open_as, const char *read_as, long long *calls,
		  long long *fails)
{
	*calls = *fails = 0;
	const char *p = out;
	while (*p) {
		size_t n = strcspn(p, "\n");
		char line[1024];
		snprintf(line, sizeof(line), "%.*s", (int)(n < 1023 ? n : 1023), p);
		char name[64];
		if (sscanf(line, "%63s", name) == 1) {
			const char *as = !strcmp(name, "open(vflags)") ? open_as :
					 !strcmp(name, "read(vn)")     ? read_as :
									 name;
			if (!strcmp(as, fn)) {
				(*calls)++;
				*fails += line_failed(fn, line);
			}
		}
		p += n + (p[n] == '\n');
	}
}

static void check_counts(const char *exe, const char *open_as, const char *read_as)
{
	struct probe_run shim = run_probe(exe, true, false);
	ck_assert_msg(shim.final != NULL, "no final report for %s", exe);
	for (size_t i = 0; i < sizeof(exact_fns) / sizeof(exact_fns[0]); i++) {
		const char *fn = exact_fns[i];
		long long calls, fails;
		tally(shim.out, fn, open_as, read_as, &calls, &fails);
		ck_assert_msg(calls > 0, "%s: the probe made no %s call", exe, fn);
		json_t *c = hcall(shim.final, fn);
		ck_assert_msg(c != NULL, "%s: no \"%s\" in the report's calls (the probe made %lld)", exe, fn, calls);
		ck_assert_msg(io_int(c, "count") == calls, "%s: %s counted %lld times, the probe made %lld calls", exe, fn,
			      io_int(c, "count"), calls);
		ck_assert_msg(io_int(c, "errors") == fails, "%s: %s has %lld errors, the probe had %lld failed calls", exe,
			      fn, io_int(c, "errors"), fails);
	}
	for (size_t i = 0; i < sizeof(atleast_fns) / sizeof(atleast_fns[0]); i++) {
		const char *fn = atleast_fns[i];
		long long calls, fails;
		tally(shim.out, fn, open_as, read_as, &calls, &fails);
		ck_assert_msg(calls > 0, "%s: the probe made no %s call", exe, fn);
		ck_assert_msg(hcount(shim.final, fn) >= calls, "%s: %s counted %lld times, the probe made %lld calls",
			      exe, fn, hcount(shim.final, fn), calls);
	}
	/* Every lookup is a timed call, those whose answer depends on the
	 * caller (RTLD_NEXT, RTLD_DEFAULT) too; the errors are the failed ones. */
	long long next = 0, in_handle = 0, all = 0;
	for (const char *p = shim.out; *p; p += strcspn(p, "\n"), p += *p == '\n') {
		bool sym = !strncmp(p, "dlsym ", 6), vsym = !strncmp(p, "dlvsym ", 7);
		if (!sym && !vsym)
			continue;
		const char *what = p + (sym ? 6 : 7);
		all++;
		next += !strncmp(what, "next-", 5);
		in_handle += strncmp(what, "next-", 5) && strncmp(what, "default-", 8);
	}
	long long c_untimed = io_untimed(shim.final, "dlsym") + io_untimed(shim.final, "dlvsym");
	long long c_timed = hcount(shim.final, "dlsym") + hcount(shim.final, "dlvsym");
	ck_assert_msg(c_untimed == 0 && c_timed == all,
		      "%s: calls dlsym+dlvsym: %lld timed, %lld not timed; the probe made %lld lookups: %lld "
		      "with RTLD_NEXT, %lld in a handle", exe, c_timed, c_untimed, all, next, in_handle);
	ck_assert_msg(hnum(shim.final, "counters.unknown_frees") == 0,
		      "%s: %lld frees of unknown pointers in a program that used every allocation function", exe,
		      hnum(shim.final, "counters.unknown_frees"));
	probe_run_free(&shim);
}

START_TEST(counts)
{
	check_counts("probe_parity", "open", "read");
}
END_TEST

START_TEST(counts_fortified)
{
	check_counts("probe_parity_fort", "__open_2", "__read_chk");
}
END_TEST

int main(void)
{
	if (!io_have("nm")) {
		printf("SKIP: nm (binutils) is not installed; it checks which entry points the probes import\n");
		return 77;
	}
	Suite *s = suite_create("io-parity");
	TCase *tc = tcase_create("parity");
	tcase_add_test(tc, exact);
	tcase_add_test(tc, no_fd_numbers);
	tcase_add_test(tc, fortified_imports);
	tcase_add_test(tc, fortified);
	tcase_add_test(tc, counts);
	tcase_add_test(tc, counts_fortified);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
