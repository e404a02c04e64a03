/* heappeak.c - the peak of the live C heap, sampled by the watcher.
 *
 * An exact peak would need one counter that every malloc and free in every
 * thread writes: a cache line shared by all threads on the hot path. So
 * the watcher samples instead: every 10 ms (and at every report) it adds up
 * the live bytes of the leak table's shards (each kept under its shard's
 * lock by the program) and keeps the largest sum, when it was seen, and the
 * sites that held the most at that moment (the live table grouped by stack,
 * read again when the peak has grown by 2% since the last reading, or
 * 20 ms later). A spike shorter than the sampling period can be missed;
 * reports say the period. */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "heappeak.h"
#include "leaks.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct cgs_heap_peak peak;
static uint64_t sites_at;     /* peak bytes when the sites were read */
static int64_t sites_when_ns;
static int64_t sites_cost_ns; /* how long the last reading took */

static int64_t mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

uint64_t cgs_heap_live_bytes(const struct cgs_region *r)
{
	const struct cgs_leaks *l = r->leaks;
	if (!l || !cgs_region_contains(r, l, sizeof(*l)))
		return 0;
	uint64_t sum = 0;
	for (int i = 0; i < CGS_LEAK_SHARDS; i++)
		sum += __atomic_load_n(&l->shard[i].bytes, __ATOMIC_RELAXED);
	return sum;
}

void cgs_heap_peak_sample(struct cgs_region *r)
{
	if (!r->opts.leaks)
		return;
	pthread_mutex_lock(&lock);
	uint64_t live = cgs_heap_live_bytes(r);
	int64_t now = mono();
	if (live > peak.bytes) {
		peak.bytes = live;
		peak.ns = now > r->start_mono_ns ? (uint64_t)(now - r->start_mono_ns) : 0;
	}
	/* The sites of a new peak: read again once it is 2% above the last
	 * reading, or 20 ms later (at least ten times as long as the last
	 * reading took, so a huge table is not read over and over). */
	int64_t gap = sites_cost_ns * 10 > 20000000LL ? sites_cost_ns * 10 : 20000000LL;
	if (live == peak.bytes && peak.bytes > sites_at &&
	    (peak.bytes >= sites_at + sites_at / 50 || now - sites_when_ns >= gap)) {
		peak.nsites = cgs_snap_top_stacks(r, peak.stack, peak.site_bytes, peak.site_count, CGS_PEAK_SITES);
		sites_at = peak.bytes;
		sites_when_ns = now;
		sites_cost_ns = mono() - now;
		peak.sites_bytes = live;
	}
	pthread_mutex_unlock(&lock);
}

void cgs_heap_peak_get(struct cgs_heap_peak *out)
{
	pthread_mutex_lock(&lock);
	*out = peak;
	pthread_mutex_unlock(&lock);
}

static void *sampler(void *arg)
{
	struct cgs_region *r = arg;
	struct timespec ts = { 0, CGS_PEAK_SAMPLE_NS };
	for (;;) {
		cgs_heap_peak_sample(r);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

void cgs_heap_peak_start(struct cgs_region *r)
{
	if (!r->opts.leaks)
		return;
	pthread_t th;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_create(&th, &at, sampler, r);
	pthread_attr_destroy(&at);
}
