/* test_hist.c - unit tests of the latency histograms (hist.h, hist.c),
 * suite "hist".
 *
 * Every percentile in a report comes from these buckets, so the tests check
 * the promise hist.h makes to a reader of a report:
 *   buckets   the index of a value and the bounds of its bucket agree for
 *             every bucket; buckets are contiguous, indexes monotonic, and
 *             every value from 0 to 2^50 (and beyond) has a bucket.
 *   quantile  p50/p90/p99/p99.9 from cgs_hist_quantile are within 2% of the
 *             exact k-th smallest value (k = ceil(q * n), from sorting the
 *             samples) for many distributions: uniform, exponential,
 *             log-uniform, bimodal with a 1% tail at 420 ms (in ns-like tick
 *             values), constant, one sample, values on bucket edges.
 *   merge     merging per-thread histograms and stats gives exactly what one
 *             histogram of all the values gives (the reader sums threads).
 *   atomic    cgs_stat_add_atomic from 2 threads at once keeps exact counts,
 *             totals, min, max and buckets (the orphan block is shared).
 * The random generator is seeded with constants, so runs are repeatable. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hist.h"

/* ---- helpers ---- */

/* check reports every passing ck_assert to its parent process (a write(2)
 * each); loops of millions use EXPECT, which calls into check only when the
 * condition fails. */
#define EXPECT(cond, ...)                         \
	do {                                      \
		if (!(cond))                      \
			ck_abort_msg(__VA_ARGS__); \
	} while (0)

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	/* xorshift64* */
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 2685821657736338717ULL;
}

/* Uniform in [0, 1). */
static double rnd_unit(struct rng *r)
{
	return (double)(rnd(r) >> 11) * (1.0 / 9007199254740992.0);
}

static uint64_t rnd_range(struct rng *r, uint64_t lo, uint64_t hi_incl)
{
	return lo + rnd(r) % (hi_incl - lo + 1);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

struct h {
	struct cgs_stat st;
	uint64_t hist[CGS_HIST_BUCKETS];
};

static struct h *h_new(void)
{
	struct h *h = calloc(1, sizeof(*h));
	ck_assert_ptr_nonnull(h);
	return h;
}

static void h_fill(struct h *h, const uint64_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cgs_stat_add(&h->st, h->hist, v[i], (v[i] % 7) == 0);
}

/* The quantiles a report prints, as exact fractions: q = num / 1000. */
static const unsigned qs[] = { 500, 900, 990, 999 };

/* Check p50/p90/p99/p99.9 of the values against the sorted truth. */
static void check_quantiles(const char *what, const uint64_t *values, size_t n)
{
	uint64_t *sorted = malloc(n * sizeof(*sorted));
	struct h *h = h_new();
	ck_assert_ptr_nonnull(sorted);
	memcpy(sorted, values, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_u64);
	h_fill(h, values, n);
	ck_assert_uint_eq(h->st.count, n);
	ck_assert_uint_eq(h->st.min, sorted[0]);
	ck_assert_uint_eq(h->st.max, sorted[n - 1]);
	for (size_t i = 0; i < CGS_ARRAY_LEN(qs); i++) {
		/* k = ceil(q * n), in integers so the truth has no rounding. */
		uint64_t k = ((uint64_t)n * qs[i] + 999) / 1000;
		if (k < 1)
			k = 1;
		uint64_t exact = sorted[k - 1];
		uint64_t est = cgs_hist_quantile(h->hist, &h->st, qs[i] / 1000.0);
		double err = exact ? fabs((double)est - (double)exact) / (double)exact : (double)est;
		ck_assert_msg(err <= 0.02,
			      "%s (n=%zu): p%g is %llu, exact %llu (k=%llu): error %.3f%% > 2%%", what, n,
			      qs[i] / 10.0, (unsigned long long)est, (unsigned long long)exact,
			      (unsigned long long)k, err * 100);
		ck_assert_msg(est >= sorted[0] && est <= sorted[n - 1],
			      "%s: p%g = %llu outside [min, max]", what, qs[i] / 10.0, (unsigned long long)est);
	}
	free(h);
	free(sorted);
}

static uint64_t *values_new(size_t n)
{
	uint64_t *v = malloc(n * sizeof(*v));
	ck_assert_ptr_nonnull(v);
	return v;
}

/* ---- buckets ---- */

START_TEST(bounds_match_index_for_every_bucket)
{
	struct rng r = { 0x1234567887654321ULL };
	uint64_t prev_hi = 0;
	for (unsigned i = 0; i < CGS_HIST_BUCKETS; i++) {
		uint64_t lo, hi;
		cgs_hist_bounds(i, &lo, &hi);
		ck_assert_msg(lo < hi, "bucket %u: [%llu, %llu) empty", i, (unsigned long long)lo,
			      (unsigned long long)hi);
		/* Contiguous from 0: no value falls between two buckets. */
		ck_assert_msg(lo == prev_hi, "bucket %u starts at %llu, previous ends at %llu", i,
			      (unsigned long long)lo, (unsigned long long)prev_hi);
		prev_hi = hi;
		/* lo <= v < hi => index(v) == i: both edges, the middle, random points. */
		uint64_t probe[8] = { lo, hi - 1, lo + (hi - lo) / 2 };
		for (int p = 3; p < 8; p++)
			probe[p] = rnd_range(&r, lo, hi - 1);
		for (int p = 0; p < 8; p++)
			EXPECT(cgs_hist_index(probe[p]) == i, "value %llu in bucket %u's bounds gets index %u",
				      (unsigned long long)probe[p], i, cgs_hist_index(probe[p]));
		/* The precision hist.h promises: exact below 64, else 1/32 of lo. */
		if (lo < CGS_HIST_LINEAR)
			ck_assert_uint_eq(hi - lo, 1);
		else
			ck_assert_msg((hi - lo) * 32 <= lo, "bucket %u: width %llu > lo/32 (lo %llu)", i,
				      (unsigned long long)(hi - lo), (unsigned long long)lo);
	}
	/* The last bucket ends at 2^44; everything above shares it. */
	ck_assert_uint_eq(prev_hi, 1ULL << (CGS_HIST_MAX_EXP + 1));
}
END_TEST

START_TEST(every_value_has_a_bucket_and_indexes_are_monotonic)
{
	unsigned prev = 0;
	/* Exhaustive below 2^20. */
	for (uint64_t v = 0; v < (1u << 20); v++) {
		unsigned i = cgs_hist_index(v);
		EXPECT(i >= prev && i <= prev + 1, "index(%llu) = %u after %u", (unsigned long long)v, i,
			      prev);
		prev = i;
	}
	/* Around every power of two, and a sweep of increasing values, to 2^50. */
	struct rng r = { 42 };
	uint64_t v = 1u << 20;
	prev = cgs_hist_index(v - 1);
	while (v <= (1ULL << 50)) {
		unsigned i = cgs_hist_index(v);
		EXPECT(i >= prev && i < CGS_HIST_BUCKETS, "index(%llu) = %u after %u",
			      (unsigned long long)v, i, prev);
		uint64_t lo, hi;
		cgs_hist_bounds(i, &lo, &hi);
		EXPECT(lo <= v, "value %llu below its bucket %u [%llu, %llu)", (unsigned long long)v, i,
			      (unsigned long long)lo, (unsigned long long)hi);
		if (i < CGS_HIST_BUCKETS - 1)
			EXPECT(v < hi, "value %llu above its bucket %u [%llu, %llu)",
				      (unsigned long long)v, i, (unsigned long long)lo, (unsigned long long)hi);
		prev = i;
		v += 1 + rnd(&r) % (v / 64 + 1);
	}
	for (int e = 1; e <= 63; e++) {
		uint64_t p = 1ULL << e;
		ck_assert_uint_le(cgs_hist_index(p - 1), cgs_hist_index(p));
		ck_assert_uint_le(cgs_hist_index(p), cgs_hist_index(p + 1));
		ck_assert_uint_lt(cgs_hist_index(p + 1), CGS_HIST_BUCKETS);
	}
	ck_assert_uint_eq(cgs_hist_index(1ULL << 44), CGS_HIST_BUCKETS - 1);
	ck_assert_uint_eq(cgs_hist_index(1ULL << 50), CGS_HIST_BUCKETS - 1);
	ck_assert_uint_eq(cgs_hist_index(UINT64_MAX), CGS_HIST_BUCKETS - 1);
	ck_assert_uint_eq(cgs_hist_index(0), 0);
}
END_TEST

/* ---- quantiles ---- */

#define N 200000

/* A live report reads a function's stats, then its buckets, while threads
 * record: the stats must be made to agree with the buckets read. */
START_TEST(stat_fit_agrees_with_buckets)
{
	uint64_t *hist = calloc(CGS_HIST_BUCKETS, sizeof(uint64_t));
	ck_assert_ptr_nonnull(hist);
	hist[cgs_hist_index(100)] = 3;
	hist[cgs_hist_index(5000)] = 2;
	/* Read later than the buckets: one more call, of 1906469 ticks. */
	struct cgs_stat st = { .count = 6, .errors = 9, .total = 300 + 10000 + 1906469, .min = 100, .max = 1906469 };
	cgs_stat_fit(&st, hist);
	ck_assert_uint_eq(st.count, 5);
	ck_assert_uint_eq(st.errors, 5);
	uint64_t lo, hi;
	cgs_hist_bounds(cgs_hist_index(5000), &lo, &hi);
	ck_assert_msg(st.max >= lo && st.max < hi, "max %llu outside the last bucket [%llu, %llu)",
		      (unsigned long long)st.max, (unsigned long long)lo, (unsigned long long)hi);
	ck_assert_uint_eq(st.min, 100);
	ck_assert(st.total >= st.min * st.count && st.total <= st.max * st.count);
	/* Read earlier than the buckets: min above the first bucket. */
	struct cgs_stat early = { .count = 5, .total = 10, .min = 7000, .max = 7000 };
	cgs_stat_fit(&early, hist);
	cgs_hist_bounds(cgs_hist_index(100), &lo, &hi);
	ck_assert(early.min >= lo && early.min < hi);
	ck_assert(early.total >= early.min * early.count && early.total <= early.max * early.count);
	/* Consistent stats stay as they are. */
	struct cgs_stat ok = { .count = 5, .errors = 1, .total = 10300, .min = 100, .max = 5000 };
	cgs_stat_fit(&ok, hist);
	ck_assert_uint_eq(ok.count, 5);
	ck_assert_uint_eq(ok.errors, 1);
	ck_assert_uint_eq(ok.total, 10300);
	ck_assert_uint_eq(ok.min, 100);
	ck_assert_uint_eq(ok.max, 5000);
	free(hist);
}
END_TEST

START_TEST(quantiles_uniform)
{
	struct rng r = { 1 };
	uint64_t *v = values_new(N);
	for (size_t i = 0; i < N; i++)
		v[i] = rnd_range(&r, 1000, 1000000);
	check_quantiles("uniform [1e3, 1e6]", v, N);
	for (size_t i = 0; i < N; i++)
		v[i] = rnd_range(&r, 0, 200);
	check_quantiles("uniform [0, 200]", v, N);
	free(v);
}
END_TEST

START_TEST(quantiles_exponential)
{
	struct rng r = { 2 };
	uint64_t *v = values_new(N);
	static const double means[] = { 30, 5000, 2e6, 3e9 };
	for (size_t m = 0; m < CGS_ARRAY_LEN(means); m++) {
		for (size_t i = 0; i < N; i++)
			v[i] = (uint64_t)(-means[m] * log(1.0 - rnd_unit(&r)));
		char what[64];
		snprintf(what, sizeof(what), "exponential, mean %g", means[m]);
		check_quantiles(what, v, N);
	}
	free(v);
}
END_TEST

START_TEST(quantiles_log_uniform)
{
	/* Spread over every bucket from 1 to 2^43.9: each power of two as likely. */
	struct rng r = { 3 };
	uint64_t *v = values_new(N);
	for (size_t i = 0; i < N; i++)
		v[i] = (uint64_t)exp2(rnd_unit(&r) * 43.9);
	check_quantiles("log-uniform [1, 2^43.9]", v, N);
	free(v);
}
END_TEST

START_TEST(quantiles_bimodal_tail)
{
	/* 99% fast calls around 2 us, 1% stuck for about 420 ms: p99.9 must name
	 * the tail, p50 and p90 the body, each within 2%. */
	struct rng r = { 4 };
	static const size_t sizes[] = { 1000, 10000, 100000, 123457 };
	for (size_t s = 0; s < CGS_ARRAY_LEN(sizes); s++) {
		size_t n = sizes[s];
		uint64_t *v = values_new(n);
		for (size_t i = 0; i < n; i++) {
			if (i % 100 == 37)
				v[i] = 420000000 + rnd_range(&r, 0, 2000000);
			else
				v[i] = rnd_range(&r, 1500, 2500);
		}
		/* Shuffle: order must not matter. */
		for (size_t i = n - 1; i > 0; i--) {
			size_t j = rnd(&r) % (i + 1);
			uint64_t t = v[i];
			v[i] = v[j];
			v[j] = t;
		}
		check_quantiles("bimodal, 1% at 420 ms", v, n);
		free(v);
	}
}
END_TEST

START_TEST(quantiles_constant_and_single)
{
	static const uint64_t constants[] = { 0, 1, 63, 64, 65, 1000, 123456789, (1ULL << 44) - 1 };
	uint64_t *v = values_new(5000);
	for (size_t c = 0; c < CGS_ARRAY_LEN(constants); c++) {
		char what[64];
		for (size_t i = 0; i < 5000; i++)
			v[i] = constants[c];
		snprintf(what, sizeof(what), "constant %llu", (unsigned long long)constants[c]);
		check_quantiles(what, v, 5000);
		snprintf(what, sizeof(what), "single sample %llu", (unsigned long long)constants[c]);
		check_quantiles(what, v, 1);
		/* A constant is exact: min and max clamp the estimate. */
		struct h *h = h_new();
		h_fill(h, v, 5000);
		for (size_t q = 0; q < CGS_ARRAY_LEN(qs); q++)
			ck_assert_uint_eq(cgs_hist_quantile(h->hist, &h->st, qs[q] / 1000.0), constants[c]);
		free(h);
	}
	free(v);
}
END_TEST

START_TEST(quantiles_on_bucket_edges)
{
	/* Each value is the first or the last value of a bucket: the worst
	 * case for reporting the middle of a bucket. */
	struct rng r = { 5 };
	uint64_t *v = values_new(N);
	for (int round = 0; round < 4; round++) {
		unsigned first = round < 2 ? 0 : 600, last = round < 2 ? 700 : CGS_HIST_BUCKETS - 1;
		for (size_t i = 0; i < N; i++) {
			uint64_t lo, hi;
			cgs_hist_bounds((unsigned)rnd_range(&r, first, last), &lo, &hi);
			v[i] = (round % 2 == 0) ? lo : hi - 1;
		}
		check_quantiles(round % 2 == 0 ? "lower bucket edges" : "upper bucket edges", v, N);
	}
	/* Few samples, all on the upper edge of one bucket and the lower edge
	 * of the next. */
	for (unsigned b = 64; b < CGS_HIST_BUCKETS - 1; b += 37) {
		uint64_t lo, hi;
		cgs_hist_bounds(b, &lo, &hi);
		for (size_t i = 0; i < 11; i++)
			v[i] = (i % 2) ? hi : hi - 1;
		check_quantiles("adjacent edges", v, 11);
	}
	free(v);
}
END_TEST

START_TEST(quantile_of_empty_is_zero)
{
	struct h *h = h_new();
	ck_assert_uint_eq(cgs_hist_quantile(h->hist, &h->st, 0.5), 0);
	ck_assert_uint_eq(cgs_hist_quantile(h->hist, &h->st, 1.0), 0);
	free(h);
}
END_TEST

START_TEST(quantile_one_is_the_max_bucket)
{
	struct rng r = { 6 };
	uint64_t *v = values_new(N);
	for (size_t i = 0; i < N; i++)
		v[i] = rnd_range(&r, 10, 1u << 30);
	struct h *h = h_new();
	h_fill(h, v, N);
	uint64_t est = cgs_hist_quantile(h->hist, &h->st, 1.0);
	ck_assert_msg(fabs((double)est - (double)h->st.max) <= 0.02 * (double)h->st.max,
		      "p100 %llu vs max %llu", (unsigned long long)est, (unsigned long long)h->st.max);
	ck_assert_uint_le(est, h->st.max);
	/* Quantiles never decrease with q. */
	uint64_t prev = 0;
	for (int q = 1; q <= 1000; q++) {
		uint64_t x = cgs_hist_quantile(h->hist, &h->st, q / 1000.0);
		EXPECT(x >= prev, "p%g = %llu < p%g = %llu", q / 10.0, (unsigned long long)x, (q - 1) / 10.0,
		       (unsigned long long)prev);
		prev = x;
	}
	free(h);
	free(v);
}
END_TEST

/* ---- merge ---- */

static void assert_same(const struct h *a, const struct h *b)
{
	ck_assert_uint_eq(a->st.count, b->st.count);
	ck_assert_uint_eq(a->st.errors, b->st.errors);
	ck_assert_uint_eq(a->st.total, b->st.total);
	ck_assert_uint_eq(a->st.min, b->st.min);
	ck_assert_uint_eq(a->st.max, b->st.max);
	for (unsigned i = 0; i < CGS_HIST_BUCKETS; i++)
		EXPECT(a->hist[i] == b->hist[i], "bucket %u: %llu vs %llu", i,
			      (unsigned long long)a->hist[i], (unsigned long long)b->hist[i]);
	for (size_t q = 0; q < CGS_ARRAY_LEN(qs); q++)
		ck_assert_uint_eq(cgs_hist_quantile(a->hist, &a->st, qs[q] / 1000.0),
				  cgs_hist_quantile(b->hist, &b->st, qs[q] / 1000.0));
}

static void merge(struct h *into, const struct h *from)
{
	cgs_stat_merge(&into->st, &from->st);
	cgs_hist_merge(into->hist, from->hist);
}

START_TEST(merge_equals_union)
{
	struct rng r = { 7 };
	enum { NA = 50000, NB = 70000 };
	uint64_t *v = values_new(NA + NB);
	/* A: slow values only, B: fast ones, so min comes from B, max from A. */
	for (size_t i = 0; i < NA; i++)
		v[i] = rnd_range(&r, 100000, 5000000000ULL);
	for (size_t i = 0; i < NA; i += 1000) /* some in the last, open-ended bucket */
		v[i] = (1ULL << 45) + i;
	for (size_t i = NA; i < NA + NB; i++)
		v[i] = rnd_range(&r, 3, 200000);
	struct h *a = h_new(), *b = h_new(), *all = h_new(), *m = h_new();
	h_fill(a, v, NA);
	h_fill(b, v + NA, NB);
	h_fill(all, v, NA + NB);

	/* Into an empty one, in both orders. */
	merge(m, a);
	merge(m, b);
	assert_same(m, all);
	memset(m, 0, sizeof(*m));
	merge(m, b);
	merge(m, a);
	assert_same(m, all);

	/* Into a non-empty one, and an empty one merged in changes nothing. */
	struct h *empty = h_new();
	struct h *a2 = h_new();
	h_fill(a2, v, NA);
	merge(a2, empty);
	assert_same(a2, a);
	merge(a2, b);
	assert_same(a2, all);

	/* Many small parts (a reader summing many thread blocks). */
	memset(m, 0, sizeof(*m));
	for (size_t off = 0; off < NA + NB; off += 997) {
		struct h *part = h_new();
		size_t n = NA + NB - off < 997 ? NA + NB - off : 997;
		h_fill(part, v + off, n);
		merge(m, part);
		free(part);
	}
	assert_same(m, all);
	free(a);
	free(b);
	free(all);
	free(m);
	free(empty);
	free(a2);
	free(v);
}
END_TEST

START_TEST(merge_keeps_min_when_other_min_is_larger)
{
	struct h *a = h_new(), *b = h_new();
	cgs_stat_add(&a->st, a->hist, 5, false);
	cgs_stat_add(&b->st, b->hist, 900, true);
	merge(a, b);
	ck_assert_uint_eq(a->st.min, 5);
	ck_assert_uint_eq(a->st.max, 900);
	ck_assert_uint_eq(a->st.count, 2);
	ck_assert_uint_eq(a->st.errors, 1);
	ck_assert_uint_eq(a->st.total, 905);
	free(a);
	free(b);
}
END_TEST

/* ---- atomic adds ---- */

#define ATOMIC_N 1000000

struct adder {
	struct h *shared;
	unsigned id;
	volatile int *go;
};

static uint64_t adder_value(unsigned id, uint64_t i)
{
	/* Distinct sequences per thread, spread over many buckets. */
	uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ULL ^ (id ? 0xDEADBEEFULL : 0);
	return 10 + (x >> 20) % (1ULL << (10 + (i % 30)));
}

static void *adder_main(void *arg)
{
	struct adder *a = arg;
	while (!__atomic_load_n(a->go, __ATOMIC_ACQUIRE))
		;
	for (uint64_t i = 0; i < ATOMIC_N; i++) {
		uint64_t v = adder_value(a->id, i);
		cgs_stat_add_atomic(&a->shared->st, a->shared->hist, v, (i % 3) == a->id);
	}
	return NULL;
}

START_TEST(atomic_adds_from_two_threads_are_exact)
{
	struct h *shared = h_new(), *expect = h_new();
	volatile int go = 0;
	struct adder ad[2] = { { shared, 0, &go }, { shared, 1, &go } };
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, adder_main, &ad[i]), 0);
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (unsigned id = 0; id < 2; id++)
		for (uint64_t i = 0; i < ATOMIC_N; i++)
			cgs_stat_add(&expect->st, expect->hist, adder_value(id, i), (i % 3) == id);
	ck_assert_uint_eq(shared->st.count, 2 * ATOMIC_N);
	assert_same(shared, expect);
	free(shared);
	free(expect);
}
END_TEST

/* The first two adds to a fresh stat, racing: whichever value is smaller
 * must end up as min, whichever thread got there first. The race needs both
 * threads on a CPU at once, so rounds are repeated (in batches, for up to
 * 15 s on a loaded machine) to give the race many chances; a correct
 * implementation can never fail this, however long it runs. */
#define RACE_ROUNDS 20000

struct racer {
	struct cgs_stat *st;        /* RACE_ROUNDS stats */
	uint64_t *hist;             /* one shared scratch histogram */
	volatile unsigned *arrived; /* a two-thread barrier per round */
	uint64_t value;
};

static void *racer_main(void *arg)
{
	struct racer *rc = arg;
	for (unsigned r = 0; r < RACE_ROUNDS; r++) {
		__atomic_add_fetch(rc->arrived, 1, __ATOMIC_ACQ_REL);
		/* Spin (so both threads leave together), yielding now and then
		 * so a loaded machine does not stall the round. */
		for (unsigned spin = 0; __atomic_load_n(rc->arrived, __ATOMIC_ACQUIRE) < 2 * (r + 1); spin++)
			if (spin % 4096 == 4095)
				sched_yield();
		cgs_stat_add_atomic(&rc->st[r], rc->hist, rc->value + (r & 1), false);
	}
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

START_TEST(atomic_first_adds_race_keeps_min)
{
	struct cgs_stat *st = malloc(RACE_ROUNDS * sizeof(*st));
	uint64_t *hist = calloc(CGS_HIST_BUCKETS, sizeof(uint64_t));
	ck_assert_ptr_nonnull(st);
	ck_assert_ptr_nonnull(hist);
	double t0 = now_s();
	unsigned batches = 0;
	do {
		memset(st, 0, RACE_ROUNDS * sizeof(*st));
		volatile unsigned arrived = 0;
		struct racer rc[2] = { { st, hist, &arrived, 1000 }, { st, hist, &arrived, 5000 } };
		pthread_t t[2];
		for (int i = 0; i < 2; i++)
			ck_assert_int_eq(pthread_create(&t[i], NULL, racer_main, &rc[i]), 0);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		batches++;
		unsigned wrong = 0, first_wrong = 0;
		for (unsigned r = 0; r < RACE_ROUNDS; r++) {
			EXPECT(st[r].count == 2, "round %u: count %llu", r, (unsigned long long)st[r].count);
			EXPECT(st[r].max == 5000 + (r & 1), "round %u: max %llu", r, (unsigned long long)st[r].max);
			if (st[r].min != 1000 + (r & 1) && !wrong++)
				first_wrong = r;
		}
		ck_assert_msg(wrong == 0,
			      "batch %u: %u of %u rounds lost the smaller value from min (round %u: min %llu, "
			      "want %u)",
			      batches, wrong, RACE_ROUNDS, first_wrong, (unsigned long long)st[first_wrong].min,
			      1000 + (first_wrong & 1));
	} while (batches < 50 && now_s() - t0 < 15);
	free(st);
	free(hist);
}
END_TEST

static Suite *hist_suite(void)
{
	Suite *s = suite_create("hist");
	TCase *tc = tcase_create("buckets");
	tcase_add_test(tc, bounds_match_index_for_every_bucket);
	tcase_add_test(tc, every_value_has_a_bucket_and_indexes_are_monotonic);
	suite_add_tcase(s, tc);

	tc = tcase_create("quantile");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, quantiles_uniform);
	tcase_add_test(tc, stat_fit_agrees_with_buckets);
	tcase_add_test(tc, quantiles_exponential);
	tcase_add_test(tc, quantiles_log_uniform);
	tcase_add_test(tc, quantiles_bimodal_tail);
	tcase_add_test(tc, quantiles_constant_and_single);
	tcase_add_test(tc, quantiles_on_bucket_edges);
	tcase_add_test(tc, quantile_of_empty_is_zero);
	tcase_add_test(tc, quantile_one_is_the_max_bucket);
	suite_add_tcase(s, tc);

	tc = tcase_create("merge");
	tcase_add_test(tc, merge_equals_union);
	tcase_add_test(tc, merge_keeps_min_when_other_min_is_larger);
	suite_add_tcase(s, tc);

	tc = tcase_create("atomic");
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, atomic_adds_from_two_threads_are_exact);
	tcase_add_test(tc, atomic_first_adds_race_keeps_min);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(hist_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
