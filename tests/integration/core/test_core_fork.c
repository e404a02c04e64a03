/* test_core_fork.c - one report per process image across fork and exec.
 *
 * PITFALLS items 4 and 5: forking while other threads hold the shim's
 * locks must not hang the child; the child's report covers the child (its
 * own leaks, and the blocks it inherited) and not what the parent did
 * after the fork; an exec'd program gets its own report unless
 * CGOSHIM_CHILDREN=0 says otherwise. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_util.h"

#define MAXPIDS 32

/* Every "PREFIX PID" line of out (PREFIX at the start of a line). */
static int pids_after(const char *out, const char *prefix, int *pids, int max)
{
	int n = 0;
	size_t len = strlen(prefix);
	for (const char *p = out; p && *p && n < max; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, prefix, len) && p[len] == ' ')
			pids[n++] = atoi(p + len + 1);
	return n;
}

/* Final reports of pid among v (and the last one found in *out). */
static int finals_of(json_t **v, size_t n, int pid, json_t **out)
{
	int k = 0;
	for (size_t i = 0; i < n; i++)
		if (jint(v[i], "pid") == pid && json_is_true(json_object_get(v[i], "final"))) {
			k++;
			if (out)
				*out = v[i];
		}
	return k;
}

static long long count_at(json_t *report, const char *fn, long long *bytes)
{
	long long c, b;
	sites_at_fn(report, fn, &c, &b);
	if (bytes)
		*bytes = b;
	return c;
}

START_TEST(fork_with_threads)
{
	struct hrun r;
	const char *argv[] = { hbin("forker"), "fork", NULL };
	ck_assert_int_eq(hrun(argv, NULL, &r), 0);
	ck_assert_msg(hexited(&r, 0), "status %#x; stderr: %s", r.status, r.err);
	ck_assert(strstr(r.out, "forker: children ok: yes\n"));
	int pids[MAXPIDS];
	int np = pids_after(r.out, "child", pids, MAXPIDS);
	ck_assert_int_eq(np, 11);
	/* Children's reports may land a little after the parent's. */
	size_t n = 0;
	json_t **v = NULL;
	for (int tries = 0; tries < 200; tries++) {
		if (v)
			hreports_free(v, n);
		v = hreports(&r, &n);
		int have = 0;
		for (int i = 0; i < np; i++)
			have += finals_of(v, n, pids[i], NULL) > 0;
		if (have == np)
			break;
		msleep(50);
	}
	ck_assert_msg((int)n == report_files(r.dir), "%d report files, %zu parse", report_files(r.dir), n);
	json_t *parent = NULL, *child = NULL;
	ck_assert_int_eq(finals_of(v, n, r.pid, &parent), 1);
	for (int i = 0; i < np; i++)
		ck_assert_msg(finals_of(v, n, pids[i], i == 0 ? &child : NULL) == 1,
			      "child %d has %d final reports", pids[i], finals_of(v, n, pids[i], NULL));
	long long bytes;
	ck_assert_int_eq(count_at(child, "child_leak", &bytes), 5);
	ck_assert_int_eq(bytes, 5 * 31337);
	ck_assert_int_eq(count_at(child, "pre_leak", NULL), 2);
	ck_assert_int_eq(frames_in_module(child, "libcgoshim") + frames_in_module(parent, "libcgoshim"), 0);
	ck_assert_int_eq(count_at(parent, "parent_leak", &bytes), 3);
	ck_assert_int_eq(bytes, 3 * 27182);
	ck_assert_int_eq(count_at(parent, "child_leak", NULL), 0);
	ck_assert_int_eq(count_at(parent, "pre_leak", NULL), 2);
	/* The children's counts cover the children: 100 mallocs each. */
	json_t *last = NULL;
	finals_of(v, n, pids[np - 1], &last);
	ck_assert_int_eq(hcount(last, "malloc"), 100);
	/* What the parent did after the fork is not the child's. */
	ck_assert_msg(count_at(child, "parent_leak", NULL) == 0,
		      "the child's report has %lld of the parent's post-fork leaks",
		      count_at(child, "parent_leak", NULL));
	hreports_free(v, n);
	hrun_free(&r);
}
END_TEST

/* Run forker exec; return the exec'd child's pid. */
static int run_exec(struct hrun *r, const char *const *env)
{
	const char *argv[] = { hbin("forker"), "exec", NULL };
	struct hopts o = { .env = env };
	ck_assert_int_eq(hrun(argv, &o, r), 0);
	ck_assert_msg(hexited(r, 0), "status %#x; stderr: %s", r->status, r->err);
	ck_assert(strstr(r->out, "forker: exec child ok: yes\n"));
	ck_assert_msg(r->final, "no final report of the parent");
	int pid = 0;
	ck_assert_int_eq(pids_after(r->out, "exec child", &pid, 1), 1);
	return pid;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);
	return a >= b && !strcmp(s + a - b, tail);
}

/* Final reports of pid made by an image whose exe ends with tail. */
static int finals_of_exe(json_t **v, size_t n, int pid, const char *tail)
{
	int k = 0;
	for (size_t i = 0; i < n; i++)
		if (jint(v[i], "pid") == pid && json_is_true(json_object_get(v[i], "final")) &&
		    ends_with(jstr(v[i], "exe"), tail))
			k++;
	return k;
}

START_TEST(fork_exec)
{
	struct hrun r;
	int child = run_exec(&r, NULL);
	size_t n = 0;
	json_t **v = NULL;
	for (int tries = 0; tries < 200; tries++) {
		if (v)
			hreports_free(v, n);
		v = hreports(&r, &n);
		if (finals_of_exe(v, n, child, "/true") > 0)
			break;
		msleep(50);
	}
	ck_assert_int_eq(finals_of(v, n, r.pid, NULL), 1);
	ck_assert_int_eq(finals_of_exe(v, n, child, "/true"), 1);
	printf("exec child %d: %d final reports (%d of /bin/true, %d of the image before exec)\n", child,
	       finals_of(v, n, child, NULL), finals_of_exe(v, n, child, "/true"),
	       finals_of_exe(v, n, child, "/forker"));
	ck_assert_int_le(finals_of_exe(v, n, child, "/forker"), 1);
	hreports_free(v, n);
	hrun_free(&r);
}
END_TEST

START_TEST(children_off)
{
	const char *const env[] = { "CGOSHIM_CHILDREN=0", NULL };
	struct hrun r;
	int child = run_exec(&r, env);
	msleep(1000); /* a report of the child would have come by now */
	size_t n;
	json_t **v = hreports(&r, &n);
	ck_assert_int_eq(finals_of(v, n, r.pid, NULL), 1);
	ck_assert_int_eq(finals_of_exe(v, n, child, "/true"), 0);
	printf("CGOSHIM_CHILDREN=0, fork+exec: %d reports of the child\n", finals_of(v, n, child, NULL));
	hreports_free(v, n);
	hrun_free(&r);

	/* Observed, not asserted: what a fork child without exec does. */
	const char *argv[] = { hbin("forker"), "fork", NULL };
	struct hopts o = { .env = env };
	ck_assert_int_eq(hrun(argv, &o, &r), 0);
	ck_assert(hexited(&r, 0));
	ck_assert_msg(r.final, "no final report of the parent");
	msleep(1000);
	v = hreports(&r, &n);
	int others = 0;
	for (size_t i = 0; i < n; i++)
		others += jint(v[i], "pid") != r.pid;
	printf("CGOSHIM_CHILDREN=0, 11 fork children without exec: %d reports of children\n", others);
	hreports_free(v, n);
	hrun_free(&r);
}
END_TEST

int main(int argc, char **argv)
{
	const struct core_case cases[] = {
		{ "fork", fork_with_threads, NULL },
		{ "exec", fork_exec, NULL },
		{ "children-off", children_off, NULL },
	};
	return core_main(argc, argv, "core-fork", cases, sizeof(cases) / sizeof(cases[0]));
}
