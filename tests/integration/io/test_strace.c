/* test_strace.c - the shim's counts agree with strace's (PITFALLS, "External
 * oracles"): for a C program, every read/open/ioctl call through libc is one
 * system call, so the number of calls the shim counts equals the number of
 * system calls strace counts.
 *
 * strace also sees the dynamic loader's own reads and opens, which never
 * reach the shim. Both tools therefore compare the same program run twice:
 * once doing nothing, once doing known numbers of calls; the differences
 * must equal each other and the numbers asked for. strace runs without the
 * shim (with it, strace -f would also count the shim's watcher process).
 *
 *	read family      <-> read
 *	pread family     <-> pread64
 *	preadv family    <-> preadv
 *	open + openat    <-> openat
 *	ioctl            <-> ioctl
 *
 * Exits 77 when strace is missing or cannot trace (no ptrace permission). */
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

static const char *const builds[] = { "count_plain", "count_lfs", "count_fort", "count_fort64" };

static const char *const syscalls[] = { "read", "pread64", "preadv", "openat", "ioctl" };
#define NSYS 5
static const char *const shim_families[NSYS][9] = {
	{ "read", "__read_chk", NULL },
	{ "pread", "pread64", "__pread_chk", "__pread64_chk", NULL },
	{ "preadv", "preadv64", NULL },
	{ "open", "open64", "openat", "openat64", "__open_2", "__open64_2", "__openat_2", "__openat64_2", NULL },
	{ "ioctl", NULL },
};
static const long long asked[NSYS] = { 1000, 20, 9, 37 + 5, 11 };
static const char *const work_args[] = { "read=1000", "pread=20", "preadv=9", "open=37", "openat=5", "ioctl=11",
					 NULL };

/* strace -f -c counts of the five system calls for one run. */
static void strace_counts(const char *exe, const char *const *args, long long out[NSYS])
{
	char tmpl[] = "/tmp/cgoshim-io-strace-XXXXXX";
	int fd = mkstemp(tmpl);
	ck_assert_msg(fd >= 0, "mkstemp");
	close(fd);
	const char *argv[24] = { "strace", "-f", "-c", "-o", tmpl, "-e", "trace=read,pread64,preadv,openat,ioctl",
				 hbin(exe) };
	size_t n = 8;
	for (size_t i = 0; args && args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	int st;
	char *o = io_capture(argv, true, &st);
	ck_assert_msg(o && WIFEXITED(st) && WEXITSTATUS(st) == 0, "strace %s failed (%#x): %s", exe, st, o ? o : "");
	free(o);
	FILE *f = fopen(tmpl, "r");
	ck_assert_msg(f != NULL, "no strace output");
	for (int i = 0; i < NSYS; i++)
		out[i] = 0;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		/* "% time seconds usecs/call calls [errors] syscall" */
		char *tok[8];
		int k = 0;
		for (char *t = strtok(line, " \t\n"); t && k < 8; t = strtok(NULL, " \t\n"))
			tok[k++] = t;
		if (k < 5 || !strcmp(tok[k - 1], "total") || !strcmp(tok[k - 1], "syscall"))
			continue;
		for (int i = 0; i < NSYS; i++)
			if (!strcmp(tok[k - 1], syscalls[i]))
				out[i] = strtoll(tok[3], NULL, 10);
	}
	fclose(f);
	unlink(tmpl);
}

static void shim_counts(const char *exe, const char *const *args, long long out[NSYS])
{
	const char *argv[16] = { hbin(exe) };
	size_t n = 1;
	for (size_t i = 0; args && args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	struct hrun r;
	int rc = hrun(argv, NULL, &r);
	ck_assert_msg(rc == 0 && hexited(&r, 0), "%s failed under the shim (%#x): %s", exe, r.status, r.err);
	ck_assert_msg(r.final != NULL, "no final report from %s", exe);
	for (int i = 0; i < NSYS; i++) {
		out[i] = 0;
		for (int k = 0; shim_families[i][k]; k++)
			out[i] += hcount(r.final, shim_families[i][k]);
	}
	hrun_free(&r);
}

START_TEST(against_strace)
{
	const char *exe = builds[_i];
	long long s0[NSYS], s1[NSYS], c0[NSYS], c1[NSYS];
	strace_counts(exe, NULL, s0);
	strace_counts(exe, work_args, s1);
	shim_counts(exe, NULL, c0);
	shim_counts(exe, work_args, c1);
	for (int i = 0; i < NSYS; i++) {
		long long ds = s1[i] - s0[i], dc = c1[i] - c0[i];
		ck_assert_msg(ds == asked[i], "%s: strace counts %lld more %s system calls, the program made %lld (the "
			      "oracle disagrees with the program: test premise broken)", exe, ds, syscalls[i], asked[i]);
		ck_assert_msg(dc == ds, "%s: the shim counts %lld more %s-family calls, strace %lld more %s system calls",
			      exe, dc, shim_families[i][0], ds, syscalls[i]);
	}
}
END_TEST

int main(void)
{
	if (!io_have("strace")) {
		printf("SKIP: strace is not installed\n");
		return 77;
	}
	const char *probe[] = { "strace", "-f", "-c", "-o", "/dev/null", "true", NULL };
	int st;
	free(io_capture(probe, true, &st));
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		printf("SKIP: strace cannot trace here (no ptrace permission?)\n");
		return 77;
	}
	Suite *s = suite_create("io-strace");
	TCase *tc = tcase_create("strace");
	tcase_add_loop_test(tc, against_strace, 0, (int)(sizeof(builds) / sizeof(builds[0])));
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
