/* test_core_region.c - running out of the shim's memory (CGOSHIM_MEMORY).
 *
 * When the region the shim keeps its records in is full, the program must
 * carry on untouched and the report must say how much went untracked, so
 * that tracked plus untracked still adds up to what the program did. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "core_util.h"

/* 2 million live 16-byte blocks with CGOSHIM_MEMORY=mem. */
static void exhaust(const char *mem)
{
	char var[64];
	snprintf(var, sizeof(var), "CGOSHIM_MEMORY=%s", mem);
	const char *const env[] = { var, NULL };
	struct hopts o = { .env = env, .timeout_s = 120 };
	const char *base_argv[] = { hbin("many_live"), "0", "16", NULL };
	const char *argv[] = { hbin("many_live"), "2000000", "16", NULL };
	struct hrun base, r;
	ck_assert_int_eq(hrun(base_argv, &o, &base), 0);
	ck_assert_msg(hexited(&base, 0) && base.final, "%s, no allocations: %s", var, base.err);
	ck_assert_str_eq(base.err, "");
	ck_assert_int_eq(hrun(argv, &o, &r), 0);
	ck_assert_msg(hexited(&r, 0), "status %#x; stderr: %s", r.status, r.err);
	ck_assert_str_eq(r.out, "many_live: made 2000000 blocks of 16 bytes\n");
	ck_assert_msg(r.final, "no final report; stderr: %s", r.err);
	long long count = hnum(r.final, "leaks.count");
	long long untracked = hnum(r.final, "counters.untracked_allocs");
	long long oom = hnum(r.final, "counters.region_oom");
	long long made = 2000000 + hnum(base.final, "leaks.count");
	printf("CGOSHIM_MEMORY=%s, %lld live blocks: %lld tracked, %lld untracked, region_oom %lld, "
	       "shim bytes %lld\n", mem, made, count, untracked, oom, hnum(r.final, "shim.bytes"));
	ck_assert_msg(untracked > 0 || oom > 0, "%s cannot hold 2 million records, yet nothing was lost", mem);
	ck_assert_int_eq(count + untracked, made);
	hrun_free(&base);
	hrun_free(&r);
}

/* The smallest value CGOSHIM_MEMORY accepts. */
START_TEST(exhaustion_16m)
{
	exhaust("16M");
}
END_TEST

/* Larger, but still too small for 2 million records (about 24 bytes each
 * plus the table's slack): the accounting itself, whatever the minimum. */
START_TEST(exhaustion_64m)
{
	exhaust("64M");
}
END_TEST

int main(int argc, char **argv)
{
	const struct core_case cases[] = {
		{ "exhaustion-16m", exhaustion_16m, NULL },
		{ "exhaustion-64m", exhaustion_64m, NULL },
	};
	return core_main(argc, argv, "core-region", cases, sizeof(cases) / sizeof(cases[0]));
}
