/* test_core_scale.c - ten million live allocations (issue #3).
 *
 * A long-running service can hold millions of live blocks; the shim must
 * record them all and say how much memory that took. The figure printed
 * ("shim bytes per live allocation") is the one to compare across
 * changes; 64 bytes per allocation is the ceiling. */
#include <check.h>
#include <stdio.h>

#include "core_util.h"

#define N 10000000LL

START_TEST(ten_million)
{
	const char *argv[] = { hbin("many_live"), "10000000", "16", NULL };
	struct hopts o = { .timeout_s = 280 };
	struct hrun r;
	ck_assert_int_eq(hrun(argv, &o, &r), 0);
	ck_assert_msg(hexited(&r, 0), "status %#x; stderr: %s", r.status, r.err);
	ck_assert_msg(r.final, "no final report; stderr: %s", r.err);
	long long count = hnum(r.final, "leaks.count");
	long long bytes = hnum(r.final, "shim.bytes");
	double per = (double)bytes / (double)N;
	printf("live allocations: %lld, untracked %lld, shim bytes %lld\n", count,
	       hnum(r.final, "counters.untracked_allocs"), bytes);
	printf("shim bytes per live allocation: %.1f\n", per);
	ck_assert_int_ge(count, N);
	ck_assert_int_eq(hnum(r.final, "counters.untracked_allocs"), 0);
	ck_assert_msg(per < 64.0, "%.1f bytes per live allocation", per);
	hrun_free(&r);
}
END_TEST

int main(int argc, char **argv)
{
	const struct core_case cases[] = {
		{ "ten-million", ten_million, NULL },
	};
	return core_main(argc, argv, "core-scale", cases, sizeof(cases) / sizeof(cases[0]));
}
