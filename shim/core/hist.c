/* hist.c - histogram merging and quantiles; see hist.h. */
#include <math.h>

#include "hist.h"

void cgs_stat_add_atomic(struct cgs_stat *s, uint64_t *hist, uint64_t v, bool err)
{
	__atomic_add_fetch(&s->count, 1, __ATOMIC_RELAXED);
	if (err)
		__atomic_add_fetch(&s->errors, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->total, v, __ATOMIC_RELAXED);
	/* min 0 means "no value yet" in a shared stat: a racing first add must
	 * still win if it is smaller. (A true 0-tick call keeps min at 0.) */
	uint64_t cur = __atomic_load_n(&s->min, __ATOMIC_RELAXED);
	while ((cur == 0 || v < cur) && v != cur &&
	       !__atomic_compare_exchange_n(&s->min, &cur, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	cur = __atomic_load_n(&s->max, __ATOMIC_RELAXED);
	while (v > cur && !__atomic_compare_exchange_n(&s->max, &cur, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	__atomic_add_fetch(&hist[cgs_hist_index(v)], 1, __ATOMIC_RELAXED);
}

void cgs_stat_merge(struct cgs_stat *into, const struct cgs_stat *from)
{
	if (!from->count)
		return;
	if (!into->count || from->min < into->min)
		into->min = from->min;
	if (from->max > into->max)
		into->max = from->max;
	into->count += from->count;
	into->errors += from->errors;
	into->total += from->total;
}

void cgs_hist_merge(uint64_t *into, const volatile uint64_t *from)
{
	for (unsigned i = 0; i < CGS_HIST_BUCKETS; i++)
		into[i] += from[i];
}

uint64_t cgs_hist_quantile(const uint64_t *hist, const struct cgs_stat *s, double q)
{
	uint64_t total = 0;
	for (unsigned i = 0; i < CGS_HIST_BUCKETS; i++)
		total += hist[i];
	if (!total)
		return 0;
	uint64_t k = (uint64_t)ceil(q * (double)total);
	if (k < 1)
		k = 1;
	if (k > total)
		k = total;
	uint64_t seen = 0;
	for (unsigned i = 0; i < CGS_HIST_BUCKETS; i++) {
		seen += hist[i];
		if (seen >= k) {
			uint64_t lo, hi;
			cgs_hist_bounds(i, &lo, &hi);
			uint64_t mid = lo + (hi - lo) / 2;
			if (hi - lo == 1)
				mid = lo;
			if (mid < s->min)
				mid = s->min;
			if (mid > s->max)
				mid = s->max;
			return mid;
		}
	}
	return s->max;
}

/* A live read may race writers: the count, min, max and total were read
 * at other moments than the buckets, which the quantiles come from. Make
 * them agree with the buckets: count is their sum, min and max lie in the
 * first and last non-empty bucket, total in [min * count, max * count]. */
void cgs_stat_fit(struct cgs_stat *st, const uint64_t *hist)
{
	uint64_t sum = 0;
	unsigned first = CGS_HIST_BUCKETS, last = 0;
	for (unsigned b = 0; b < CGS_HIST_BUCKETS; b++) {
		if (!hist[b])
			continue;
		sum += hist[b];
		if (first == CGS_HIST_BUCKETS)
			first = b;
		last = b;
	}
	st->count = sum;
	if (st->errors > sum)
		st->errors = sum;
	if (!sum)
		return;
	uint64_t lo, hi;
	cgs_hist_bounds(first, &lo, &hi);
	if (st->min < lo || st->min >= hi)
		st->min = lo;
	cgs_hist_bounds(last, &lo, &hi);
	if (st->max < lo || (st->max >= hi && last != CGS_HIST_BUCKETS - 1))
		st->max = last == CGS_HIST_BUCKETS - 1 ? lo : hi - 1;
	if (st->min > st->max)
		st->min = st->max;
	if (st->total < st->min * sum)
		st->total = st->min * sum;
	if (st->total > st->max * sum)
		st->total = st->max * sum;
}
