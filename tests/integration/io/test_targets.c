/* test_targets.c - the report's "targets" split reads, ioctls and opens by
 * file exactly (issue #2).
 *
 * io_targets (targets.c) reads /dev/zero 100 times and a pipe 50 times
 * (once through a dup2 copy), does FIONREAD on the pipe 7 times, reads a
 * socket twice, and exercises the descriptor map: a descriptor closed and
 * reopened on another file (a, then b), a dup2 onto a descriptor that was
 * the pipe's (c), and a file opened behind the shim's back by a raw system
 * call (d). Each read must go to the file its descriptor referred to at the
 * time, and the targets of a kind must add up to the calls of that kind.
 * With CGOSHIM_TARGETS=0 there are no targets and the calls are the same.
 *
 * many_files (issue 15): 5,000 files (4,000 cache-NNNNN.tmp, 1,000
 * blob-<16 hex>.dat), each opened and read once by io_manyfiles: the text
 * report stays a few hundred lines, the JSON rows are grouped by pattern
 * with the exact number of distinct paths, at most CGOSHIM_TARGET_ROWS per
 * kind, and still add up to every call. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "iotest.h"

static json_t *run_targets(const char *const *env, char **dir_out)
{
	char *dir = io_mkdtemp();
	ck_assert_msg(dir != NULL, "cannot make a temporary directory");
	const char *names[] = { "a", "b", "c", "d" };
	for (int i = 0; i < 4; i++)
		ck_assert_msg(io_write_file(dir, names[i], "0123456789\n") == 0, "cannot write %s/%s", dir, names[i]);
	const char *argv[] = { hbin("io_targets"), dir, NULL };
	struct hopts o = { .env = env };
	struct hrun r;
	int rc = hrun(argv, &o, &r);
	ck_assert_msg(rc == 0 && hexited(&r, 0), "io_targets failed (%#x): %s", r.status, r.err);
	ck_assert_msg(r.final != NULL, "no final report");
	json_t *f = json_incref(r.final);
	hrun_free(&r);
	*dir_out = dir;
	return f;
}

/* targets.c is built with meson's -D_FILE_OFFSET_BITS=64 (open is open64
 * there); either name is the program's open. */
static long long open_calls(json_t *rep)
{
	return hcount(rep, "open") + hcount(rep, "open64");
}

static void expect(json_t *rep, const char *kind, const char *target, long long n)
{
	json_t *t = io_target(rep, kind, target);
	ck_assert_msg(t != NULL, "no %s target \"%s\" in the report (expected count %lld)", kind, target, n);
	ck_assert_msg(io_int(t, "count") == n, "%s target \"%s\": count %lld, expected %lld", kind, target,
		      io_int(t, "count"), n);
	ck_assert_msg(io_int(t, "errors") == 0, "%s target \"%s\": %lld errors", kind, target, io_int(t, "errors"));
}

START_TEST(split)
{
	char *dir;
	json_t *rep = run_targets(NULL, &dir);
	char pa[PATH_MAX + 8], pb[PATH_MAX + 8], pc[PATH_MAX + 8], pd[PATH_MAX + 8], real[PATH_MAX];
	snprintf(pa, sizeof(pa), "%s/a", dir);
	snprintf(pb, sizeof(pb), "%s/b", dir);
	snprintf(pc, sizeof(pc), "%s/c", dir);
	/* d was never opened through the shim: it can only know the real path. */
	ck_assert(realpath(dir, real) != NULL);
	snprintf(pd, sizeof(pd), "%s/d", real);

	expect(rep, "read", "/dev/zero", 100);
	expect(rep, "read", "pipe", 50);
	expect(rep, "ioctl", "pipe", 7);
	expect(rep, "read", "socket", 2);
	expect(rep, "read", pa, 3);
	expect(rep, "read", pb, 4);
	expect(rep, "read", pc, 2);
	expect(rep, "read", pd, 1);
	expect(rep, "open", "/dev/zero", 1);
	expect(rep, "open", pa, 1);
	expect(rep, "open", pb, 1);
	expect(rep, "open", pc, 1);

	long long reads = hcount(rep, "read"), opens = open_calls(rep), ioctls = hcount(rep, "ioctl");
	ck_assert_msg(reads == 100 + 50 + 2 + 3 + 4 + 2 + 1, "read counted %lld times, expected 162", reads);
	ck_assert_msg(io_tcount_kind(rep, "read") == reads, "read targets add up to %lld, calls.read is %lld",
		      io_tcount_kind(rep, "read"), reads);
	ck_assert_msg(io_tcount_kind(rep, "ioctl") == ioctls && ioctls == 7,
		      "ioctl targets add up to %lld, calls.ioctl is %lld, expected 7", io_tcount_kind(rep, "ioctl"),
		      ioctls);
	ck_assert_msg(io_tcount_kind(rep, "open") == opens && opens == 4,
		      "open targets add up to %lld, open calls are %lld, expected 4", io_tcount_kind(rep, "open"), opens);
	json_decref(rep);
	io_rmdir(dir);
}
END_TEST

START_TEST(targets_off)
{
	char *dir;
	const char *env[] = { "CGOSHIM_TARGETS=0", NULL };
	json_t *rep = run_targets(env, &dir);
	ck_assert_msg(json_array_size(json_object_get(rep, "targets")) == 0,
		      "CGOSHIM_TARGETS=0, yet the report has %zu targets",
		      json_array_size(json_object_get(rep, "targets")));
	ck_assert_msg(hcount(rep, "read") == 162 && hcount(rep, "ioctl") == 7 && open_calls(rep) == 4,
		      "with CGOSHIM_TARGETS=0: read %lld, ioctl %lld, open %lld; expected 162, 7, 4",
		      hcount(rep, "read"), hcount(rep, "ioctl"), open_calls(rep));
	json_decref(rep);
	io_rmdir(dir);
}
END_TEST

static char *make_many(int cache, int blobs)
{
	char *dir = io_mkdtemp();
	ck_assert_msg(dir != NULL, "cannot make a temporary directory");
	char name[64];
	for (int i = 0; i < cache; i++) {
		snprintf(name, sizeof(name), "cache-%05d.tmp", i);
		ck_assert(io_write_file(dir, name, "x") == 0);
	}
	for (int i = 0; i < blobs; i++) {
		snprintf(name, sizeof(name), "blob-%016llx.dat", (unsigned long long)(i + 1) * 0x9e3779b97f4a7c15ULL);
		ck_assert(io_write_file(dir, name, "y") == 0);
	}
	return dir;
}

static long long sum_kind(json_t *rep, const char *kind, const char *field, size_t *rows)
{
	size_t i;
	json_t *t;
	long long n = 0;
	*rows = 0;
	json_array_foreach(json_object_get(rep, "targets"), i, t)
		if (!strcmp(json_string_value(json_object_get(t, "kind")), kind)) {
			n += io_int(t, field);
			(*rows)++;
		}
	return n;
}

/* The row of kind whose target ends with tail, or NULL. */
static json_t *row_ending(json_t *rep, const char *kind, const char *tail)
{
	size_t i, n = strlen(tail);
	json_t *t;
	json_array_foreach(json_object_get(rep, "targets"), i, t) {
		const char *k = json_string_value(json_object_get(t, "kind"));
		const char *s = json_string_value(json_object_get(t, "target"));
		if (k && s && !strcmp(k, kind) && strlen(s) >= n && !strcmp(s + strlen(s) - n, tail))
			return t;
	}
	return NULL;
}

START_TEST(many_files)
{
	char *dir = make_many(4000, 1000);
	const char *argv[] = { hbin("io_manyfiles"), dir, NULL };
	struct hrun r;
	ck_assert_int_eq(hrun(argv, NULL, &r), 0);
	ck_assert_msg(hexited(&r, 0), "io_manyfiles failed (%#x): %s", r.status, r.err);
	ck_assert_str_eq(r.out, "manyfiles: read 5000 files\n");
	ck_assert_msg(r.final, "no final report");
	json_t *rep = r.final;
	long long reads = hcount(rep, "read"), opens = open_calls(rep);
	ck_assert_int_eq(reads, 5000);
	ck_assert_int_eq(opens, 5000);
	size_t nread, nopen;
	ck_assert_int_eq(sum_kind(rep, "read", "count", &nread), reads);
	ck_assert_int_eq(sum_kind(rep, "open", "count", &nopen), opens);
	/* Every distinct path is accounted for, in few rows. */
	ck_assert_int_eq(sum_kind(rep, "read", "paths", &nread), 5000);
	ck_assert_int_eq(sum_kind(rep, "open", "paths", &nopen), 5000);
	printf("read rows %zu, open rows %zu\n", nread, nopen);
	ck_assert_int_le(nread, 30);
	ck_assert_int_le(nopen, 30);
	/* The directory's own random name may be a pattern too. */
	json_t *t = row_ending(rep, "read", "/cache-*.tmp");
	ck_assert_msg(t, "no read row .../cache-*.tmp");
	ck_assert_int_eq(io_int(t, "count"), 4000);
	ck_assert_int_eq(io_int(t, "paths"), 4000);
	ck_assert_str_eq(json_string_value(json_object_get(t, "group")), "pattern");
	t = row_ending(rep, "open", "/blob-*.dat");
	ck_assert_msg(t, "no open row .../blob-*.dat");
	ck_assert_int_eq(io_int(t, "paths"), 1000);
	json_t *tr = json_object_get(rep, "target_rows");
	ck_assert_int_eq(io_int(tr, "limit"), 30);
	ck_assert_int_gt(io_int(tr, "grouped") + io_int(tr, "pattern_rows"), 0);
	hrun_free(&r);

	/* The text report of the same run: a few hundred lines at most. */
	const char *env[] = { "CGOSHIM_FORMAT=text", NULL };
	struct hopts o = { .env = env };
	ck_assert_int_eq(hrun(argv, &o, &r), 0);
	ck_assert(hexited(&r, 0));
	size_t n;
	char **names = NULL;
	for (int tries = 0; tries < 100 && !(names = hreport_names(r.dir, &n), n); tries++) {
		hnames_free(names, n);
		names = NULL;
		hmsleep(100);
	}
	ck_assert_msg(names && n == 1, "no text report");
	FILE *f = fopen(names[0], "r");
	ck_assert(f);
	int lines = 0, c;
	while ((c = fgetc(f)) != EOF)
		lines += c == '\n';
	fclose(f);
	printf("text report: %d lines\n", lines);
	ck_assert_int_le(lines, 300);
	hnames_free(names, n);
	hrun_free(&r);

	/* A smaller limit: the rest is summed into one "(rest)" row per kind,
	 * and the sums still hold. */
	const char *env2[] = { "CGOSHIM_TARGET_ROWS=1", NULL };
	o.env = env2;
	ck_assert_int_eq(hrun(argv, &o, &r), 0);
	ck_assert(r.final);
	ck_assert_int_eq(sum_kind(r.final, "read", "count", &nread), 5000);
	ck_assert_int_eq(nread, 1);
	ck_assert_int_eq(sum_kind(r.final, "read", "paths", &nread), 5000);
	t = io_target(r.final, "read", "(rest)");
	ck_assert_msg(t, "no (rest) row with CGOSHIM_TARGET_ROWS=1");
	ck_assert_int_eq(io_int(json_object_get(r.final, "target_rows"), "rest_rows"), 2 * 2);
	hrun_free(&r);
	io_rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("io-targets");
	TCase *tc = tcase_create("targets");
	tcase_add_test(tc, split);
	tcase_add_test(tc, targets_off);
	tcase_add_test(tc, many_files);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
