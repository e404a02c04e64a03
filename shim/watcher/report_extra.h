/* report_extra.h - the report writers for other tools: pprof profiles
 * (report_pprof.c) and Prometheus metrics (report_om.c).
 *
 * Like the writers in report.c they run on the report side only (the watcher
 * or a test), see nothing but the snapshot, and write to a stdio stream;
 * cgs_report_write (report.c) dispatches to them. Each returns 0, or -1 with
 * errno set (EINVAL for a bad argument, ENOMEM, or the errno of the first
 * failed write). */
#ifndef CGOSHIM_REPORT_EXTRA_H
#define CGOSHIM_REPORT_EXTRA_H

#include <stdio.h>

#include "snapshot.h"

/* report_pprof.c: a gzipped profile.proto (github.com/google/pprof) with
 * sample types inuse_objects/count, inuse_space/bytes (the default),
 * calls/count and time/nanoseconds. Leak sites are samples by stack with
 * values [count, bytes, 0, 0]; each interposed function is one sample of a
 * one-frame stack named after it, with values [0, 0, calls, total ns]. */
int cgs_report_pprof(const struct cgs_snapshot *s, FILE *out);

/* report_om.c: Prometheus text exposition (what node_exporter's textfile
 * collector and promtool read), ending with OpenMetrics' "# EOF". */
int cgs_report_om(const struct cgs_snapshot *s, FILE *out);

/* The fixed histogram boundaries of the metrics, in ns (1-2.5-5 steps from
 * 100 ns to 10 s); a latency bucket's "le" is its boundary in seconds. */
#define CGS_OM_BOUNDS 25
extern const uint64_t cgs_om_bound_ns[CGS_OM_BOUNDS];

/* Shared by both writers: ticks to ns as report.c does it (a rate that is
 * 0, negative or not finite gives 0; overflow gives UINT64_MAX), and the ns
 * of the last value fine bucket i holds (the exact max for the last bucket):
 * the "le_ns" of the JSON report. */
uint64_t cgs_rx_tick_ns(const struct cgs_snapshot *s, uint64_t ticks);
uint64_t cgs_rx_bucket_le_ns(const struct cgs_snapshot *s, unsigned i, const struct cgs_stat *st);

#endif
