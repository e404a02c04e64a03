/* test_fds.c - the shim keeps out of the program's descriptors (PITFALLS
 * item 19): same first descriptor number, and no byte read from or written
 * to a descriptor the program reused, with and without the shim. See
 * fd_hygiene.c. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "iotest.h"

static char *run(bool shim)
{
	char *dir = io_mkdtemp();
	ck_assert_msg(dir != NULL, "cannot make a temporary directory");
	ck_assert_msg(io_write_file(dir, "in", "0123456789") == 0, "cannot write %s/in", dir);
	const char *argv[] = { hbin("fd_hygiene"), dir, NULL };
	struct hopts o = { .no_preload = !shim };
	struct hrun r;
	ck_assert_msg(hrun(argv, &o, &r) == 0, "fd_hygiene did not finish (shim=%d)", shim);
	ck_assert_msg(hexited(&r, 0), "fd_hygiene exited with %#x (shim=%d): %s", r.status, shim, r.err);
	ck_assert_msg(!shim || r.final != NULL, "no final report from fd_hygiene");
	char *out = strdup(r.out);
	hrun_free(&r);
	io_rmdir(dir);
	return out;
}

static const char *line(const char *out, const char *prefix)
{
	static char buf[2][512];
	static int k;
	char *b = buf[k++ % 2];
	const char *p = strstr(out, prefix);
	snprintf(b, 512, "%.*s", p ? (int)strcspn(p, "\n") : 9, p ? p : "(missing)");
	return b;
}

START_TEST(lowest_free_descriptor)
{
	char *bare = run(false), *shim = run(true);
	const char *a = line(bare, "first open"), *b = line(shim, "first open");
	ck_assert_msg(!strcmp(a, b), "the program's first open: \"%s\" without the shim, \"%s\" with it: the shim "
		      "holds low descriptor numbers", a, b);
	free(bare);
	free(shim);
}
END_TEST

START_TEST(reused_descriptors_untouched)
{
	char *bare = run(false), *shim = run(true);
	ck_assert_msg(strstr(bare, "read in -> 10 \"0123456789\"") && strstr(bare, "size of out -> 3"),
		      "without the shim: %s", bare);
	static const char *const keys[] = { "after closing", "read in", "write out", "close out", "size of out" };
	for (int i = 0; i < 5; i++) {
		const char *a = line(bare, keys[i]), *b = line(shim, keys[i]);
		ck_assert_msg(!strcmp(a, b), "\"%s\" without the shim, \"%s\" with it", a, b);
	}
	free(bare);
	free(shim);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("io-fds");
	TCase *tc = tcase_create("fds");
	tcase_add_test(tc, lowest_free_descriptor);
	tcase_add_test(tc, reused_descriptors_untouched);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
