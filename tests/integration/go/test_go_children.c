/* test_go_children.c - a Go program that runs many child processes.
 *
 * Go's os/exec starts a child with a raw clone(CLONE_VFORK|CLONE_VM) and
 * execve: no atfork handler runs in the parent or the child, and every
 * child inherits LD_PRELOAD (PITFALLS item 5). tests/integration/go/execprog
 * runs exec.Command("/bin/true") 1000 times (3-4 s under the shim on 2
 * cores, so the full 1000 is kept). It must finish, its final report must
 * be its own (its exe, its sentinel 4242-byte C allocation, none of the
 * children's calls), and there must be one report per process image:
 * 1 + 1000, or exactly 1 with CGOSHIM_CHILDREN=0. A second case runs
 * examples' C demo as the child, which does make calls the shim sees
 * (reads of /dev/urandom), to show that they land in the children's
 * reports and not in the parent's. */
#include <check.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go_util.h"

#define NCHILDREN 1000
#define SENTINEL 4242 /* execprog's one C allocation */

/* The parent's own final report: its exe, its sentinel, no child's calls. */
static void check_parent(struct hrun *r)
{
	ck_assert_msg(r->final, "no final report of execprog (pid %d)", r->pid);
	ck_assert(json_is_true(json_object_get(r->final, "final")));
	ck_assert_msg(ends_with(jstr(r->final, "exe"), "/execprog"), "parent's report exe is %s",
		      jstr(r->final, "exe"));
	ck_assert_msg(site_sized(r->final, 1, SENTINEL), "no site of one %d-byte allocation in the parent's report",
		      SENTINEL);
	/* execprog makes no read, open or ioctl from C. */
	ck_assert_int_eq(hcount(r->final, "read"), 0);
	ck_assert_int_eq(json_array_size(json_object_get(r->final, "targets")), 0);
}

/* The number of report files in r's directory once there are want of them,
 * or after timeout_ms. A child's final report is written a few ms after it
 * ends, by its own watcher: the last children's may still be on the way
 * when the parent's is there (the launcher would wait for them). */
static size_t wait_reports(struct hrun *r, size_t want, int timeout_ms)
{
	size_t n = 0;
	for (int waited = 0;; waited += 20) {
		json_t **v = hreports(r, &n);
		hreports_free(v, n);
		if (n >= want || waited >= timeout_ms)
			return n;
		msleep(20);
	}
}

/* Reports of processes other than r's, by the basename of their exe. */
static int child_reports(struct hrun *r, const char *exe_base, int *finals)
{
	size_t n;
	json_t **v = hreports(r, &n);
	int count = 0;
	*finals = 0;
	for (size_t i = 0; i < n; i++) {
		if (jint(v[i], "pid") == r->pid)
			continue;
		char *exe = strdup(jstr(v[i], "exe"));
		if (!strcmp(basename(exe), exe_base)) {
			count++;
			if (json_is_true(json_object_get(v[i], "final")))
				(*finals)++;
		}
		free(exe);
	}
	hreports_free(v, n);
	return count;
}

START_TEST(thousand_children)
{
	char n[16];
	snprintf(n, sizeof(n), "%d", NCHILDREN);
	const char *argv[] = { hbin("execprog"), "-n", n, "-prog", "/bin/true", NULL };
	struct hopts o = { .timeout_s = 120 };
	struct hrun r;
	ck_assert_msg(hrun(argv, &o, &r) == 0, "execprog with %d children did not end within 120 s", NCHILDREN);
	ck_assert_msg(hexited(&r, 0), "execprog %s; stderr: %s", status_str(r.status), r.err);
	check_parent(&r);
	size_t files = wait_reports(&r, 1 + NCHILDREN, 60000);
	int finals;
	int kids = child_reports(&r, "true", &finals);
	printf("%zu report files when execprog's final report was there, %zu later: %d of /bin/true (%d final)\n",
	       r.nreports, files, kids, finals);
	fflush(stdout);
	ck_assert_int_eq(kids, NCHILDREN);
	ck_assert_int_eq(finals, NCHILDREN);
	ck_assert_int_eq(files, 1 + NCHILDREN);
	hrun_free(&r);
}
END_TEST

START_TEST(thousand_children_not_traced)
{
	char n[16];
	snprintf(n, sizeof(n), "%d", NCHILDREN);
	const char *argv[] = { hbin("execprog"), "-n", n, "-prog", "/bin/true", NULL };
	const char *env[] = { "CGOSHIM_CHILDREN=0", NULL };
	struct hopts o = { .timeout_s = 120, .env = env };
	struct hrun r;
	ck_assert_msg(hrun(argv, &o, &r) == 0, "execprog with %d children did not end within 120 s", NCHILDREN);
	ck_assert_msg(hexited(&r, 0), "execprog %s; stderr: %s", status_str(r.status), r.err);
	check_parent(&r);
	/* Give a child's report, if any, the time to appear. */
	msleep(1000);
	ck_assert_int_eq(wait_reports(&r, 2, 0), 1);
	hrun_free(&r);
}
END_TEST

START_TEST(children_calls_stay_in_children)
{
	const char *argv[] = { hbin("execprog"), "-n", "20", "-prog", go_example("demo"), NULL };
	struct hopts o = { .timeout_s = 120 };
	struct hrun r;
	ck_assert(hrun(argv, &o, &r) == 0);
	ck_assert_msg(hexited(&r, 0), "execprog %s; stderr: %s", status_str(r.status), r.err);
	check_parent(&r);
	wait_reports(&r, 21, 60000);
	size_t n;
	json_t **v = hreports(&r, &n);
	int kids = 0;
	for (size_t i = 0; i < n; i++) {
		if (jint(v[i], "pid") == r.pid)
			continue;
		kids++;
		ck_assert_msg(ends_with(jstr(v[i], "exe"), "/demo"), "a child's exe is %s", jstr(v[i], "exe"));
		ck_assert(json_is_true(json_object_get(v[i], "final")));
		/* demo reads /dev/urandom 100 times and the three files' contents. */
		ck_assert_int_ge(hcount(v[i], "read"), 100);
	}
	hreports_free(v, n);
	ck_assert_int_eq(kids, 20);
	hrun_free(&r);
}
END_TEST

int main(int argc, char **argv)
{
	const struct go_case cases[] = {
		{ "default", thousand_children },
		{ "nochildren", thousand_children_not_traced },
		{ "calls", children_calls_stay_in_children },
	};
	return go_main(argc, argv, "go-children", cases, sizeof(cases) / sizeof(cases[0]));
}
