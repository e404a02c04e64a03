/* test_counts.c - the report counts exactly the calls a program made, under
 * the name of the entry point it really called (issue #2; PITFALLS item 10).
 *
 * count_calls (count_calls.c) is built four ways: plain, with
 * -D_FILE_OFFSET_BITS=64, with -O2 -D_FORTIFY_SOURCE=2, and with both. For
 * each build `nm -D` says which entry point of each family the program
 * imports (read or __read_chk; pread, pread64, __pread_chk or
 * __pread64_chk; ...); the build must import the one its flags call for,
 * and the report must count the requested number of calls under that name
 * and none under the other names of the family. Counts are also checked
 * per target (/dev/zero, /dev/null, the pipe).
 *
 * Allocation counts include what libc allocates itself, so they are
 * checked as exact differences between runs that differ only in the
 * number of calls asked for; reallocarray must not also count as realloc.
 * dlopen/dlsym/dlclose are counted exactly. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "iotest.h"

enum { F_READ, F_PREAD, F_PREADV, F_OPEN, F_OPENAT, F_COUNT };

/* Every entry point of each family, as the shim names them. */
static const char *const family[F_COUNT][5] = {
	[F_READ] = { "read", "__read_chk", NULL },
	[F_PREAD] = { "pread", "pread64", "__pread_chk", "__pread64_chk", NULL },
	[F_PREADV] = { "preadv", "preadv64", NULL },
	[F_OPEN] = { "open", "open64", "__open_2", "__open64_2", NULL },
	[F_OPENAT] = { "openat", "openat64", "__openat_2", "__openat64_2", NULL },
};

/* What each build's flags make glibc's headers call. */
static const struct variant {
	const char *exe;
	const char *name[F_COUNT];
} variants[] = {
	{ "count_plain", { "read", "pread", "preadv", "open", "openat" } },
	{ "count_lfs", { "read", "pread64", "preadv64", "open64", "openat64" } },
	{ "count_fort", { "__read_chk", "__pread_chk", "preadv", "__open_2", "__openat_2" } },
	{ "count_fort64", { "__read_chk", "__pread64_chk", "preadv64", "__open64_2", "__openat64_2" } },
};

#define N_READ 1000
#define N_PREAD 20
#define N_PREADV 9
#define N_OPEN 37
#define N_OPENAT 5
#define N_IOCTL 11

static json_t *run(const char *exe, const char *const *args)
{
	const char *argv[16] = { hbin(exe) };
	size_t n = 1;
	for (size_t i = 0; args && args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	struct hrun r;
	int rc = hrun(argv, NULL, &r);
	ck_assert_msg(rc == 0, "%s did not finish", exe);
	ck_assert_msg(hexited(&r, 0), "%s exited with status %#x; stderr: %s", exe, r.status, r.err);
	ck_assert_msg(r.final != NULL, "no final report from %s", exe);
	json_t *f = json_incref(r.final);
	hrun_free(&r);
	return f;
}

START_TEST(imports)
{
	const struct variant *v = &variants[_i];
	char **imp = io_nm(hbin(v->exe), "--undefined-only");
	ck_assert_msg(imp != NULL, "nm -D failed on %s", v->exe);
	for (int f = 0; f < F_COUNT; f++) {
		int found = 0;
		for (int k = 0; family[f][k]; k++)
			if (io_strv_has(imp, family[f][k])) {
				found++;
				ck_assert_msg(!strcmp(family[f][k], v->name[f]),
					      "%s imports %s, but its build flags should make it call %s", v->exe,
					      family[f][k], v->name[f]);
			}
		ck_assert_msg(found == 1, "%s imports %d entry points of the %s family, expected only %s", v->exe,
			      found, family[f][0], v->name[f]);
	}
	io_strv_free(imp);
}
END_TEST

START_TEST(names_and_counts)
{
	const struct variant *v = &variants[_i];
	char a[F_COUNT + 1][32];
	snprintf(a[0], 32, "read=%d", N_READ);
	snprintf(a[1], 32, "pread=%d", N_PREAD);
	snprintf(a[2], 32, "preadv=%d", N_PREADV);
	snprintf(a[3], 32, "open=%d", N_OPEN);
	snprintf(a[4], 32, "openat=%d", N_OPENAT);
	snprintf(a[5], 32, "ioctl=%d", N_IOCTL);
	const char *args[] = { a[0], a[1], a[2], a[3], a[4], a[5], NULL };
	json_t *rep = run(v->exe, args);
	/* The program's own open of /dev/zero uses the open family's name too. */
	const long long want[F_COUNT] = { N_READ, N_PREAD, N_PREADV, N_OPEN + 1, N_OPENAT };
	for (int f = 0; f < F_COUNT; f++) {
		for (int k = 0; family[f][k]; k++) {
			const char *fn = family[f][k];
			long long expect = strcmp(fn, v->name[f]) ? 0 : want[f];
			ck_assert_msg(hcount(rep, fn) == expect, "%s: the report counts %lld calls of %s, expected %lld",
				      v->exe, hcount(rep, fn), fn, expect);
		}
		json_t *c = hcall(rep, v->name[f]);
		ck_assert_msg(io_int(c, "errors") == 0, "%s: %s has %lld errors, expected none", v->exe, v->name[f],
			      io_int(c, "errors"));
	}
	ck_assert_msg(hcount(rep, "ioctl") == N_IOCTL, "%s: ioctl counted %lld times, expected %d", v->exe,
		      hcount(rep, "ioctl"), N_IOCTL);
	ck_assert_msg(hcount(rep, "close") == N_OPEN + N_OPENAT, "%s: close counted %lld times, expected %d", v->exe,
		      hcount(rep, "close"), N_OPEN + N_OPENAT);
	ck_assert_msg(hcount(rep, "dlopen") == 0 && hcount(rep, "dlsym") == 0, "%s: dl calls counted, none made",
		      v->exe);

	/* The same calls, split by file. */
	long long r0 = io_tcount(rep, "read", "/dev/zero");
	ck_assert_msg(r0 == N_READ + N_PREAD + N_PREADV, "%s: %lld reads of /dev/zero in targets, expected %d", v->exe,
		      r0, N_READ + N_PREAD + N_PREADV);
	ck_assert_msg(io_tcount_kind(rep, "read") == r0, "%s: reads attributed to other files", v->exe);
	long long o = io_tcount(rep, "open", "/dev/null");
	ck_assert_msg(o == N_OPEN + N_OPENAT, "%s: %lld opens of /dev/null in targets, expected %d", v->exe, o,
		      N_OPEN + N_OPENAT);
	ck_assert_msg(io_tcount(rep, "open", "/dev/zero") == 1, "%s: %lld opens of /dev/zero in targets, expected 1",
		      v->exe, io_tcount(rep, "open", "/dev/zero"));
	ck_assert_msg(io_tcount(rep, "ioctl", "pipe") == N_IOCTL, "%s: %lld ioctls on \"pipe\" in targets, expected %d",
		      v->exe, io_tcount(rep, "ioctl", "pipe"), N_IOCTL);
	json_decref(rep);
}
END_TEST

/* Differences of allocation counts between runs asking for 0, 500 and 1000
 * iterations: exact, whatever libc allocates by itself. */
START_TEST(heap_deltas)
{
	const struct variant *v = &variants[_i];
	const char *a0[] = { "malloc=0", "calloc=0", "realloc=0", NULL };
	const char *a1[] = { "malloc=500", "calloc=70", "realloc=30", NULL };
	const char *a2[] = { "malloc=1000", "calloc=140", "realloc=60", NULL };
	json_t *r0 = run(v->exe, a0), *r1 = run(v->exe, a1), *r2 = run(v->exe, a2);
	static const struct { const char *fn; long long per_step; } d[] = {
		{ "malloc", 500 }, { "calloc", 70 }, { "realloc", 30 }, { "free", 600 },
	};
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		long long c0 = hcount(r0, d[i].fn), c1 = hcount(r1, d[i].fn), c2 = hcount(r2, d[i].fn);
		ck_assert_msg(c1 - c0 == d[i].per_step && c2 - c1 == d[i].per_step,
			      "%s: %s counted %lld, %lld, %lld times for 0, 1 and 2 steps of %lld calls", v->exe,
			      d[i].fn, c0, c1, c2, d[i].per_step);
	}
	ck_assert_msg(hnum(r2, "counters.unknown_frees") == 0, "%s: %lld frees of unknown pointers", v->exe,
		      hnum(r2, "counters.unknown_frees"));
	json_decref(r0);
	json_decref(r1);
	json_decref(r2);
}
END_TEST

/* reallocarray is its own entry point: a reallocarray call counts once,
 * as reallocarray, and adds no realloc (glibc's reallocarray calls realloc
 * through the PLT, which the shim must not count as the program's). */
START_TEST(reallocarray_deltas)
{
	const struct variant *v = &variants[_i];
	const char *a0[] = { "reallocarray=0", NULL };
	const char *a1[] = { "reallocarray=25", NULL };
	const char *a2[] = { "reallocarray=50", NULL };
	json_t *r0 = run(v->exe, a0), *r1 = run(v->exe, a1), *r2 = run(v->exe, a2);
	static const struct { const char *fn; long long per_step; } d[] = {
		{ "reallocarray", 50 }, { "realloc", 0 }, { "malloc", 0 }, { "free", 25 },
	};
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		long long c0 = hcount(r0, d[i].fn), c1 = hcount(r1, d[i].fn), c2 = hcount(r2, d[i].fn);
		ck_assert_msg(c1 - c0 == d[i].per_step && c2 - c1 == d[i].per_step,
			      "%s: %s counted %lld, %lld, %lld times for 0, 25 and 50 reallocarray iterations (2 "
			      "reallocarray and 1 free each); expected steps of %lld", v->exe, d[i].fn, c0, c1, c2,
			      d[i].per_step);
	}
	ck_assert_msg(hnum(r2, "counters.unknown_frees") == 0,
		      "%s: %lld frees of unknown pointers after 100 reallocarray calls", v->exe,
		      hnum(r2, "counters.unknown_frees"));
	json_decref(r0);
	json_decref(r1);
	json_decref(r2);
}
END_TEST

START_TEST(dl_counts)
{
	const struct variant *v = &variants[_i];
	const char *a[] = { "dl=3", NULL };
	json_t *rep = run(v->exe, a);
	static const char *const fns[] = { "dlopen", "dlsym", "dlclose" };
	for (size_t i = 0; i < 3; i++) {
		ck_assert_msg(hcount(rep, fns[i]) == 3, "%s: %s counted %lld times, expected 3", v->exe, fns[i],
			      hcount(rep, fns[i]));
		ck_assert_msg(io_int(hcall(rep, fns[i]), "errors") == 0, "%s: %s has errors", v->exe, fns[i]);
	}
	ck_assert_msg(io_calls(rep, "dlvsym") == 0 && io_untimed(rep, "dlsym") == 0 && io_untimed(rep, "dlopen") == 0,
		      "%s: dlvsym lookups or untimed dl calls counted, none made", v->exe);
	json_decref(rep);
}
END_TEST

int main(void)
{
	if (!io_have("nm")) {
		printf("SKIP: nm (binutils) is not installed; it shows which entry points each build imports\n");
		return 77;
	}
	int nv = (int)(sizeof(variants) / sizeof(variants[0]));
	Suite *s = suite_create("io-counts");
	TCase *tc = tcase_create("counts");
	tcase_add_loop_test(tc, imports, 0, nv);
	tcase_add_loop_test(tc, names_and_counts, 0, nv);
	tcase_add_loop_test(tc, heap_deltas, 0, nv);
	tcase_add_loop_test(tc, reallocarray_deltas, 0, nv);
	tcase_add_loop_test(tc, dl_counts, 0, nv);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
