/* test_go_examples.c - the Go examples show what their READMEs promise.
 *
 * Each example is a story a user reads in the report; these checks keep the
 * stories true as the shim changes:
 *   randread    read on the FIFO "random": every call counted, most fast, and
 *               a tail of at least 90 ms (the filler pauses 100-400 ms before
 *               one request in 50; the wide margin absorbs scheduling);
 *   ioctl-loop  ioctl on target "pipe", exactly one per call the program made;
 *   plugin      one dlopen, one dlclose, and one dlsym per plugin call plus
 *               the one for the plugin's name.
 * Counts are exact: the Go runtime makes none of these calls through libc. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "go_util.h"

/* The target of kind whose label ends with suffix, or NULL. */
static json_t *target(json_t *report, const char *kind, const char *suffix)
{
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(report, "targets"), i, t)
		if (!strcmp(jstr(t, "kind"), kind) && ends_with(jstr(t, "target"), suffix))
			return t;
	return NULL;
}

START_TEST(randread)
{
	const char *argv[] = { go_example("randread"), "-n", "100", NULL };
	struct hrun r;
	ck_assert(hrun(argv, NULL, &r) == 0);
	printf("%s", r.out);
	ck_assert_msg(hexited(&r, 0), "randread %s; stderr: %s", status_str(r.status), r.err);
	ck_assert_msg(strstr(r.out, "randread: 100 requests"), "stdout: %s", r.out);
	ck_assert(r.final);
	json_t *t = target(r.final, "read", "/random");
	ck_assert_msg(t, "no read target named .../random");
	printf("read %s: count %lld, p50 %lld ns, p99 %lld ns, max %lld ns\n", jstr(t, "target"), jint(t, "count"),
	       jint(t, "p50_ns"), jint(t, "p99_ns"), jint(t, "max_ns"));
	ck_assert_int_eq(jint(t, "count"), 100);
	ck_assert_int_eq(jint(t, "errors"), 0);
	ck_assert_int_lt(jint(t, "p50_ns"), 10 * 1000 * 1000);
	ck_assert_int_ge(jint(t, "max_ns"), 90 * 1000 * 1000);
	ck_assert_msg(target(r.final, "open", "/random"), "no open target named .../random");
	hrun_free(&r);
}
END_TEST

START_TEST(ioctl_loop)
{
	const char *argv[] = { go_example("ioctl-loop"), "-n", "5000", "-g", "2", NULL };
	struct hrun r;
	ck_assert(hrun(argv, NULL, &r) == 0);
	printf("%s", r.out);
	ck_assert_msg(hexited(&r, 0), "ioctl-loop %s; stderr: %s", status_str(r.status), r.err);
	ck_assert(r.final);
	ck_assert_int_eq(hcount(r.final, "ioctl"), 10000);
	json_t *t = target(r.final, "ioctl", "pipe");
	ck_assert_msg(t && !strcmp(jstr(t, "target"), "pipe"), "no ioctl target named pipe");
	ck_assert_int_eq(jint(t, "count"), 10000);
	ck_assert_int_eq(jint(t, "errors"), 0);
	hrun_free(&r);
}
END_TEST

START_TEST(plugin)
{
	const char *argv[] = { go_example("plugin"), "-n", "1000", go_example("libdemoplugin.so"), NULL };
	struct hrun r;
	ck_assert(hrun(argv, NULL, &r) == 0);
	printf("%s", r.out);
	ck_assert_msg(hexited(&r, 0), "plugin %s; stderr: %s", status_str(r.status), r.err);
	ck_assert_msg(strstr(r.out, "demo-plugin 1.0: 1000 calls"), "stdout: %s", r.out);
	ck_assert(r.final);
	ck_assert_int_eq(hcount(r.final, "dlopen"), 1);
	ck_assert_int_eq(hcount(r.final, "dlsym"), 1001);
	ck_assert_int_eq(hcount(r.final, "dlclose"), 1);
	hrun_free(&r);
}
END_TEST

int main(int argc, char **argv)
{
	const struct go_case cases[] = {
		{ "randread", randread },
		{ "ioctl-loop", ioctl_loop },
		{ "plugin", plugin },
	};
	return go_main(argc, argv, "go-examples", cases, sizeof(cases) / sizeof(cases[0]));
}
