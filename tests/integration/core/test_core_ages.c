/* test_core_ages.c - allocation ages: what a user hunting a slow leak checks.
 *
 * - every site reports the age range of its live blocks: the blocks made
 *   600 ms before the end are older than those made at the end;
 * - CGOSHIM_MIN_AGE=300ms shows only the old site, while the totals
 *   (leaks.count/bytes) still count every live block. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core_util.h"
#include "harness.h"

static json_t *site_of(json_t *report, const char *fn)
{
	json_t *s = site_with_fn(report, fn);
	ck_assert_msg(s, "no site with %s", fn);
	return s;
}

START_TEST(age_range)
{
	const char *argv[] = { hbin("aging"), NULL };
	/* Ages, not kinds: a scan would split new_block's site in two (the
	 * last block's pointer may still be in a register: reachable). */
	const char *env[] = { "CGOSHIM_LEAK_KINDS=0", NULL };
	struct hopts o = { .env = env };
	struct hrun r;
	ck_assert_int_eq(hrun(argv, &o, &r), 0);
	ck_assert(hexited(&r, 0));
	ck_assert_msg(r.final, "no final report");
	json_t *old = site_of(r.final, "old_block"), *young = site_of(r.final, "new_block");
	ck_assert_int_eq(jint(old, "count"), 3);
	ck_assert_int_eq(jint(old, "bytes"), 3 * 7001);
	ck_assert_int_eq(jint(young, "count"), 2);
	/* Times are allocation times since start: the young blocks came
	 * at least 500 ms after the old ones (6 ms time units). */
	long long old_newest = jint(old, "newest_ns"), young_oldest = jint(young, "oldest_ns");
	ck_assert_int_le(jint(old, "oldest_ns"), old_newest);
	ck_assert_msg(young_oldest - old_newest >= 500000000LL, "old %lld ns, young %lld ns", old_newest,
		      young_oldest);
	hrun_free(&r);
}
END_TEST

START_TEST(min_age)
{
	const char *argv[] = { hbin("aging"), NULL };
	const char *env[] = { "CGOSHIM_MIN_AGE=300ms", NULL };
	struct hopts o = { .env = env };
	struct hrun r;
	ck_assert_int_eq(hrun(argv, &o, &r), 0);
	ck_assert(hexited(&r, 0));
	ck_assert_msg(r.final, "no final report");
	ck_assert_msg(site_with_fn(r.final, "old_block"), "the old site is not shown");
	ck_assert_msg(!site_with_fn(r.final, "new_block"), "a site younger than CGOSHIM_MIN_AGE is shown");
	/* Totals count everything; shown_* only what is old enough. */
	long long count = hnum(r.final, "leaks.count"), shown = hnum(r.final, "leaks.shown_count");
	long long bytes = hnum(r.final, "leaks.bytes"), shown_bytes = hnum(r.final, "leaks.shown_bytes");
	ck_assert_int_ge(count - shown, 2);
	ck_assert_int_ge(bytes - shown_bytes, 2 * 7002);
	hrun_free(&r);
}
END_TEST

int main(int argc, char **argv)
{
	const struct core_case cases[] = {
		{ "range", age_range, NULL },
		{ "min-age", min_age, NULL },
	};
	return core_main(argc, argv, "core-ages", cases, sizeof(cases) / sizeof(cases[0]));
}
