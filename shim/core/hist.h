/* hist.h - log-linear latency histograms, in TSC ticks.
 *
 * Values below 64 ticks have a bucket each. Above, each power of two is cut
 * into 32 equal buckets, so a bucket spans at most 1/32 of its lower bound;
 * reporting the middle of the bucket (clamped to the exact min and max) is
 * within 1/64 (1.6%) of any value in it. Values of 2^44 ticks (about an hour
 * and a half at 3 GHz) and more share the last bucket; max stays exact.
 *
 * Counts are per thread and written without atomics; a reader sums all
 * threads' histograms (hist.c). */
#ifndef CGOSHIM_HIST_H
#define CGOSHIM_HIST_H

#include "common.h"

#define CGS_HIST_SUB_BITS 5
#define CGS_HIST_LINEAR 64
#define CGS_HIST_MAX_EXP 43
#define CGS_HIST_BUCKETS (CGS_HIST_LINEAR + (CGS_HIST_MAX_EXP - 5) * (1 << CGS_HIST_SUB_BITS))

struct cgs_stat {
	uint64_t count;
	uint64_t errors;
	uint64_t total; /* ticks */
	uint64_t min;   /* ticks; valid when count > 0 */
	uint64_t max;
};

static inline unsigned cgs_hist_index(uint64_t v)
{
	if (v < CGS_HIST_LINEAR)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v);
	if (e > CGS_HIST_MAX_EXP)
		return CGS_HIST_BUCKETS - 1;
	return CGS_HIST_LINEAR + (e - 6) * 32 + (unsigned)((v >> (e - 5)) & 31);
}

/* [lo, hi) of bucket i, in ticks. */
static inline void cgs_hist_bounds(unsigned i, uint64_t *lo, uint64_t *hi)
{
	if (i < CGS_HIST_LINEAR) {
		*lo = i;
		*hi = i + 1;
		return;
	}
	unsigned e = (i - CGS_HIST_LINEAR) / 32 + 6;
	uint64_t m = 32 + (i - CGS_HIST_LINEAR) % 32;
	*lo = m << (e - 5);
	*hi = (m + 1) << (e - 5);
}

static inline void cgs_stat_add(struct cgs_stat *s, uint64_t *hist, uint64_t v, bool err)
{
	s->count++;
	s->errors += err;
	s->total += v;
	if (v < s->min || s->count == 1)
		s->min = v;
	if (v > s->max)
		s->max = v;
	hist[cgs_hist_index(v)]++;
}

/* The same with atomics, for calls that arrive on a thread whose own block
 * is gone (after its TLS destructors ran). */
void cgs_stat_add_atomic(struct cgs_stat *s, uint64_t *hist, uint64_t v, bool err);

/* hist.c: merging and quantiles (reader side). */
void cgs_stat_merge(struct cgs_stat *into, const struct cgs_stat *from);
void cgs_hist_merge(uint64_t *into, const volatile uint64_t *from);
/* The q-quantile (0 < q <= 1) in ticks: the k-th smallest value, k =
 * ceil(q * count), estimated as its bucket's middle clamped to [min, max]. */
uint64_t cgs_hist_quantile(const uint64_t *hist, const struct cgs_stat *s, double q);
/* Make count, errors, min, max and total agree with the buckets (a live
 * read races writers): count = their sum, min and max in the first and
 * last non-empty bucket, total in [min * count, max * count]. */
void cgs_stat_fit(struct cgs_stat *st, const uint64_t *hist);

#endif
