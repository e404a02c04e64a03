/* test_core_unwind.c - the fast unwinder's stacks are libunwind's.
 *
 * Under CGOSHIM_UNWIND=compare every stack is walked by both (shim/core/
 * fastunwind.c and unw_backtrace); a difference in any frame is counted in
 * counters.unwind_mismatches and printed on stderr. The corpus program
 * (unwind_corpus.c, optimised, no frame pointers) allocates from deep
 * recursion, libc callbacks and libc's own allocations, zlib and sqlite3,
 * signal handlers (also on an alternate stack) and threads; the other
 * helpers are the suite's leak programs. Every stack must be compared and
 * equal; the signal frames must have gone to libunwind (handoffs). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core_util.h"
#include "harness.h"

static void compare_run(const char *prog, const char *arg, long long min_compared, long long min_handoffs)
{
	const char *argv[] = { hbin(prog), arg, NULL };
	const char *env[] = { "CGOSHIM_UNWIND=compare", "CGOSHIM_STACK_DEPTH=64", NULL };
	struct hopts o = { .env = env, .timeout_s = 120 };
	struct hrun r;
	ck_assert_int_eq(hrun(argv, &o, &r), 0);
	ck_assert_msg(hexited(&r, 0), "%s failed; stderr: %s", prog, r.err);
	ck_assert_msg(r.final, "%s: no final report; stderr: %s", prog, r.err);
	long long compared = hnum(r.final, "counters.unwind_compared");
	long long mismatches = hnum(r.final, "counters.unwind_mismatches");
	long long handoffs = hnum(r.final, "counters.unwind_handoffs");
	printf("%s: %lld stacks compared, %lld differ, %lld handed to libunwind\n", prog, compared, mismatches,
	       handoffs);
	ck_assert_msg(mismatches == 0, "%s: %lld of %lld stacks differ; stderr: %s", prog, mismatches, compared, r.err);
	ck_assert_int_ge(compared, min_compared);
	ck_assert_int_ge(handoffs, min_handoffs);
	ck_assert_msg(!strstr(r.err, "stacks differ"), "%s: stderr: %s", prog, r.err);
	hrun_free(&r);
}

START_TEST(corpus)
{
	/* 20 recursions of 70 frames, qsort, libc, zlib, sqlite3, 10 signals
	 * (3 stacks each through the signal frame), 4 threads. */
	compare_run("unwind_corpus", NULL, 1000, 30);
}
END_TEST

START_TEST(helpers)
{
	compare_run("leak_family", NULL, 10, 0);
	compare_run("threads_leak", "work", 10, 0);
	compare_run("realloc_sem", "work", 10, 0);
	compare_run("leaky", NULL, 10, 0);
}
END_TEST

int main(int argc, char **argv)
{
	const struct core_case cases[] = {
		{ "corpus", corpus, NULL },
		{ "helpers", helpers, NULL },
	};
	return core_main(argc, argv, "core-unwind", cases, sizeof(cases) / sizeof(cases[0]));
}
