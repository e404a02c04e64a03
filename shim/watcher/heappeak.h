/* heappeak.h - the live C heap's peak, sampled by the watcher (heappeak.c). */
#ifndef CGOSHIM_HEAPPEAK_H
#define CGOSHIM_HEAPPEAK_H

#include "region.h"

#define CGS_PEAK_SAMPLE_NS 10000000L /* 10 ms */
#define CGS_PEAK_SITES 10

struct cgs_heap_peak {
	uint64_t bytes;       /* largest live sum seen */
	uint64_t ns;          /* when, ns since the process started */
	uint64_t sites_bytes; /* live bytes when the sites below were read */
	size_t nsites;        /* the stacks holding the most then, by bytes */
	uint32_t stack[CGS_PEAK_SITES];
	uint64_t site_bytes[CGS_PEAK_SITES], site_count[CGS_PEAK_SITES];
};

/* Live bytes now: the sum of the leak table's shards. */
uint64_t cgs_heap_live_bytes(const struct cgs_region *r);
/* Take one sample (the sampler thread, and every report). */
void cgs_heap_peak_sample(struct cgs_region *r);
void cgs_heap_peak_get(struct cgs_heap_peak *out);
/* Start the sampler thread (leak tracking on only). */
void cgs_heap_peak_start(struct cgs_region *r);

/* snapshot.c: the live table grouped by stack, the max largest by bytes. */
size_t cgs_snap_top_stacks(struct cgs_region *r, uint32_t *stack, uint64_t *bytes, uint64_t *count, size_t max);

#endif
