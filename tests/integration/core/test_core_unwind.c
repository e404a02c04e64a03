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

/* Wrong unwind information pointing at unmapped memory: the walk ends
 * there (every stack word is read only from pages known readable), the
 * program runs on and its block is reported, under each unwinder. */
START_TEST(bad_cfi)
{
	const char *modes[] = { "CGOSHIM_UNWIND=fast", "CGOSHIM_UNWIND=compare" };
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		const char *argv[] = { hbin("bad_cfi"), NULL };
		const char *env[] = { modes[i], NULL };
		struct hopts o = { .env = env };
		struct hrun r;
		ck_assert_int_eq(hrun(argv, &o, &r), 0);
		ck_assert_msg(hexited(&r, 0), "%s: bad_cfi did not exit 0 (status %d); stderr: %s", modes[i],
			      r.status, r.err);
		ck_assert_msg(r.final, "%s: no final report", modes[i]);
		json_t *sites = json_object_get(json_object_get(r.final, "leaks"), "sites");
		size_t k;
		json_t *site;
		bool found = false;
		json_array_foreach(sites, k, site)
			found |= hjint(site, "bytes") == 77 && hjint(site, "count") == 1;
		ck_assert_msg(found, "%s: no site of 1 block of 77 bytes", modes[i]);
		hrun_free(&r);
	}
}
END_TEST

int main(int argc, char **argv)
{
	const struct core_case cases[] = {
		{ "corpus", corpus, NULL },
		{ "helpers", helpers, NULL },
		{ "bad-cfi", bad_cfi, NULL },
	};
	return core_main(argc, argv, "core-unwind", cases, sizeof(cases) / sizeof(cases[0]));
}
