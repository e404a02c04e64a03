/* test_reach.c - memcheck's classification (reach.c) over memory made up
 * here, and LSan-format suppressions (suppress.c).
 *
 * The "process" is this one: blocks are arrays in a static pool, and the
 * reader copies from them (it refuses addresses outside the pool, and the
 * blocks a test marks unreadable). */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reach.h"
#include "suppress.h"

static uint64_t pool[4096] __attribute__((aligned(64)));
static uint64_t roots_mem[64];
static uint64_t bad_lo, bad_hi; /* unreadable range */

static size_t reader(void *ctx, uint64_t addr, void *buf, size_t len)
{
	(void)ctx;
	uint64_t lo[2] = { (uint64_t)(uintptr_t)pool, (uint64_t)(uintptr_t)roots_mem };
	uint64_t hi[2] = { lo[0] + sizeof(pool), lo[1] + sizeof(roots_mem) };
	for (int i = 0; i < 2; i++)
		if (addr >= lo[i] && addr + len <= hi[i]) {
			if (bad_hi > bad_lo && addr < bad_hi && addr + len > bad_lo) {
				size_t ok = addr < bad_lo ? (size_t)(bad_lo - addr) : 0;
				memcpy(buf, (void *)(uintptr_t)addr, ok);
				return ok;
			}
			memcpy(buf, (void *)(uintptr_t)addr, len);
			return len;
		}
	return 0;
}

/* Batched reads, as process_vm_readv does them: ranges one after the other,
 * stopping at the first that cannot be read whole. */
static size_t readerv(void *ctx, const uint64_t *addr, const size_t *len, size_t n, void *buf)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		size_t got = reader(ctx, addr[i], (char *)buf + total, len[i]);
		total += got;
		if (got < len[i])
			break;
	}
	return total;
}

static bool use_readv;

/* Block i of the test: 64 words apart in the pool. */
static uint64_t at(int i)
{
	return (uint64_t)(uintptr_t)&pool[64 * (i + 1)];
}

static struct cgs_block blk(int i, uint64_t size)
{
	return (struct cgs_block){ .ptr = at(i), .size = size, .stack = (uint32_t)i + 1 };
}

static void set(int i, int word, uint64_t v)
{
	pool[64 * (i + 1) + word] = v;
}

static int kind_of(struct cgs_block *b, size_t n, int i)
{
	for (size_t k = 0; k < n; k++)
		if (b[k].ptr == at(i))
			return b[k].kind;
	return -1;
}

static void classify(struct cgs_block *b, size_t n, const uint64_t *words, size_t nwords)
{
	uint64_t roots[2] = { (uint64_t)(uintptr_t)roots_mem, (uint64_t)(uintptr_t)roots_mem + sizeof(roots_mem) };
	struct cgs_reach_stats st = { 0 };
	cgs_reach_sort(b, n);
	struct cgs_reach_mem mem = { reader, use_readv ? readerv : NULL, NULL };
	cgs_reach_classify(b, n, roots, 1, words, nwords, &mem, &st);
}

static void reset(int readv_too)
{
	use_readv = readv_too;
	memset(pool, 0, sizeof(pool));
	memset(roots_mem, 0, sizeof(roots_mem));
	bad_lo = bad_hi = 0;
}

START_TEST(kinds_like_memcheck)
{
	reset(_i);
	/* 0 <- root (start); 1 <- 0 (start): reachable.
	 * 2 <- root (interior); 3 <- 2 (start): possibly lost both.
	 * 4 unreferenced -> 5 -> 6: 4 definitely, 5 and 6 indirectly lost.
	 * 7 <-> 8 (cycle): the lower address leads: 7 definitely, 8 indirectly.
	 * 9 (size 0) <- root at its start: reachable.
	 * 10 <- root one past its end (size 16): not a pointer to it: lost.
	 * 11 <- only a register: reachable.
	 * 12 <- root (start) and from 2 (possible) (start): reachable wins. */
	struct cgs_block b[] = { blk(12, 8), blk(0, 64), blk(1, 32), blk(2, 64), blk(3, 16), blk(4, 64),
				 blk(5, 64), blk(6, 8), blk(7, 16), blk(8, 16), blk(9, 0), blk(10, 16),
				 blk(11, 8) };
	roots_mem[0] = at(0);
	set(0, 3, at(1));
	roots_mem[1] = at(2) + 24;
	set(2, 0, at(3));
	set(4, 1, at(5));
	set(5, 7, at(6) + 4); /* interior pointers count in a clique */
	set(7, 0, at(8));
	set(8, 0, at(7));
	roots_mem[2] = at(9);
	roots_mem[3] = at(10) + 16;
	roots_mem[4] = at(12);
	set(2, 1, at(12));
	uint64_t reg = at(11);
	classify(b, sizeof(b) / sizeof(b[0]), &reg, 1);
	size_t n = sizeof(b) / sizeof(b[0]);
	ck_assert_int_eq(kind_of(b, n, 0), CGS_KIND_REACHABLE);
	ck_assert_int_eq(kind_of(b, n, 1), CGS_KIND_REACHABLE);
	ck_assert_int_eq(kind_of(b, n, 2), CGS_KIND_POSSIBLE);
	ck_assert_int_eq(kind_of(b, n, 3), CGS_KIND_POSSIBLE);
	ck_assert_int_eq(kind_of(b, n, 4), CGS_KIND_DEFINITE);
	ck_assert_int_eq(kind_of(b, n, 5), CGS_KIND_INDIRECT);
	ck_assert_int_eq(kind_of(b, n, 6), CGS_KIND_INDIRECT);
	ck_assert_int_eq(kind_of(b, n, 7), CGS_KIND_DEFINITE);
	ck_assert_int_eq(kind_of(b, n, 8), CGS_KIND_INDIRECT);
	ck_assert_int_eq(kind_of(b, n, 9), CGS_KIND_REACHABLE);
	ck_assert_int_eq(kind_of(b, n, 10), CGS_KIND_DEFINITE);
	ck_assert_int_eq(kind_of(b, n, 11), CGS_KIND_REACHABLE);
	ck_assert_int_eq(kind_of(b, n, 12), CGS_KIND_REACHABLE);
}
END_TEST

START_TEST(later_leader_takes_earlier)
{
	reset(_i);
	/* 3 -> 1 (both unreferenced): 1 is visited first as a leader of its own,
	 * then 3's clique takes it: 3 definitely, 1 indirectly lost. */
	struct cgs_block b[] = { blk(1, 16), blk(3, 16) };
	set(3, 0, at(1));
	classify(b, 2, NULL, 0);
	ck_assert_int_eq(kind_of(b, 2, 3), CGS_KIND_DEFINITE);
	ck_assert_int_eq(kind_of(b, 2, 1), CGS_KIND_INDIRECT);
}
END_TEST

START_TEST(unreadable_block)
{
	reset(_i);
	/* 0 <- root; 0 -> 1, but 0 cannot be read (freed meanwhile): 1 is lost. */
	struct cgs_block b[] = { blk(0, 64), blk(1, 16) };
	roots_mem[0] = at(0);
	set(0, 0, at(1));
	bad_lo = at(0);
	bad_hi = at(0) + 64;
	classify(b, 2, NULL, 0);
	ck_assert_int_eq(kind_of(b, 2, 0), CGS_KIND_REACHABLE);
	ck_assert_int_eq(kind_of(b, 2, 1), CGS_KIND_DEFINITE);
}
END_TEST

START_TEST(names)
{
	ck_assert_str_eq(cgs_kind_name(CGS_KIND_DEFINITE), "definitely_lost");
	ck_assert_str_eq(cgs_kind_name(99), "unknown");
	ck_assert_int_eq(cgs_kind_parse("possibly lost"), CGS_KIND_POSSIBLE);
	ck_assert_int_eq(cgs_kind_parse("still_reachable"), CGS_KIND_REACHABLE);
	ck_assert_int_eq(cgs_kind_parse("lost"), -1);
}
END_TEST

START_TEST(patterns)
{
	ck_assert(cgs_supp_match("CString", "main._Cfunc_CString"));
	ck_assert(cgs_supp_match("^main.", "main.leak"));
	ck_assert(!cgs_supp_match("^main.", "xmain.leak"));
	ck_assert(cgs_supp_match("leak$", "main.leak"));
	ck_assert(!cgs_supp_match("leak$", "main.leaky"));
	ck_assert(cgs_supp_match("^a*c$", "abbbc"));
	ck_assert(!cgs_supp_match("^a*c$", "abbbcd"));
	ck_assert(cgs_supp_match("lib*.so", "/usr/lib/libfoo.so.1"));
	ck_assert(!cgs_supp_match("", "x"));
	ck_assert(!cgs_supp_match("x", NULL));
	ck_assert(cgs_supp_match("^x_cgo_thread_start$", "x_cgo_thread_start"));
	ck_assert(!cgs_supp_match("^x_cgo_thread_start$", "x_cgo_thread_start2"));
}
END_TEST

START_TEST(rules_and_frames)
{
	struct cgs_supp s = { 0 };
	size_t first = 0;
	size_t bad = cgs_supp_parse(&s, "# comment\n\n  leak:foo_alloc  \nleak:libbar.so\r\ncalled_from_lib:x\n"
					"leak:\nleak:util.c\n", &first);
	ck_assert_uint_eq(bad, 2);
	ck_assert_uint_eq(first, 5);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_str_eq(s.rules[0].pattern, "foo_alloc");
	ck_assert_str_eq(s.rules[1].pattern, "libbar.so");
	struct cgs_frame_info f[2] = {
		{ .function = "malloc_wrapper", .module = "/opt/libbar.so", .file = NULL },
		{ .function = "main", .module = "/bin/prog", .file = "/src/util.c" },
	};
	ck_assert_int_eq(cgs_supp_find(&s, f, 2), 1); /* by module */
	f[0].module = "/opt/libbaz.so";
	ck_assert_int_eq(cgs_supp_find(&s, f, 2), 2); /* by file, outer frame */
	f[1].file = "/src/main.c";
	ck_assert_int_eq(cgs_supp_find(&s, f, 2), -1);
	f[1].function = "foo_alloc";
	ck_assert_int_eq(cgs_supp_find(&s, f, 2), 0); /* by function */
	for (size_t i = 0; i < s.n; i++)
		free(s.rules[i].pattern);
	free(s.rules);
	struct cgs_supp *d = cgs_supp_load(NULL, true);
	ck_assert_uint_gt(d->n, 3);
	ck_assert(d->rules[0].builtin);
	struct cgs_frame_info tls[2] = { { .function = "allocate_dtv" }, { .function = "_dl_allocate_tls" } };
	ck_assert_int_ge(cgs_supp_find(d, tls, 2), 0);
	struct cgs_frame_info user[2] = { { .function = "make_lost" }, { .function = "runtime.main" } };
	ck_assert_int_eq(cgs_supp_find(d, user, 2), -1);
	cgs_supp_free(d);
	d = cgs_supp_load(NULL, false);
	ck_assert_uint_eq(d->n, 0);
	cgs_supp_free(d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("reach");
	TCase *tc = tcase_create("reach");
	tcase_add_loop_test(tc, kinds_like_memcheck, 0, 2);
	tcase_add_loop_test(tc, later_leader_takes_earlier, 0, 2);
	tcase_add_loop_test(tc, unreadable_block, 0, 2);
	tcase_add_test(tc, names);
	tcase_add_test(tc, patterns);
	tcase_add_test(tc, rules_and_frames);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
