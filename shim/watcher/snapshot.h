/* snapshot.h - one report's data, read out of the shared region.
 *
 * The watcher builds a snapshot (snapshot.c: merge every thread's counters,
 * group live allocations by stack, symbolise) and hands it to a writer
 * (report.c: text, JSON, folded stacks). Writers see only this structure, so
 * they can be tested with snapshots made up by hand. Times are in ticks;
 * cgs_snap_ns converts. Everything here belongs to the snapshot and is freed
 * by cgs_snapshot_free. */
#ifndef CGOSHIM_SNAPSHOT_H
#define CGOSHIM_SNAPSHOT_H

#include <stdio.h>

#include "hist.h"
#include "reach.h"
#include "region.h"
#include "suppress.h"
#include "symbols.h"

struct cgs_snap_fn {
	const char *name;      /* entry point: "read", "__open_2", ... */
	int family;            /* enum cgs_family */
	struct cgs_stat st;    /* the timed calls */
	uint64_t *hist;        /* CGS_HIST_BUCKETS counts */
	uint64_t untimed;      /* calls counted but not timed (dlopen, dlsym, dlvsym: dl.c); results unseen */
};

enum cgs_target_group {
	CGS_TG_FILE,           /* one file (or "socket", "pipe", "(other)") */
	CGS_TG_PATTERN,        /* paths of one pattern, label like /tmp/t/cache-*.tmp */
	CGS_TG_REST,           /* the rows past CGOSHIM_TARGET_ROWS, summed */
};

struct cgs_snap_target {
	const char *kind;      /* "read", "ioctl" or "open" */
	const char *label;     /* file path, pattern, "socket", "pipe", "(other)", "(rest)" ... */
	int group;             /* enum cgs_target_group */
	uint64_t paths;        /* distinct paths the row stands for */
	uint64_t rows;         /* rows of the per-file table merged into it (1: none) */
	struct cgs_stat st;
	uint64_t *hist;
};

/* How the target table was made smaller (all zero when it was not). */
struct cgs_snap_targets_info {
	uint64_t files;        /* distinct files and paths seen (rows and the paths in pattern rows) */
	uint64_t pattern_rows; /* rows of the report that stand for a pattern */
	uint64_t grouped;      /* per-file rows merged into pattern rows by the report */
	uint64_t rest_rows;    /* rows summed into "(rest)" rows */
	uint64_t rest_paths;   /* the paths those stand for */
	uint64_t other_calls;  /* calls sent to "(other)" with no row left (files.h) */
	uint64_t paths_unsure; /* paths counted as new without memory to check */
};

struct cgs_snap_site {
	uint64_t count, bytes;
	uint64_t inherited_count, inherited_bytes; /* of those, a fork child's inherited blocks */
	/* Allocation times of the oldest and newest block, ns after the
	 * report's start (a fork child's: its fork; inherited blocks: 0). */
	uint64_t oldest_ns, newest_ns;
	uint32_t stack_id;
	int nframes;
	struct cgs_frame_info *frames; /* innermost first, shim frames removed */
	const char *cgo;               /* cgo entry ("C.CString", "C.my_func") or NULL */
	int kind;                      /* enum cgs_kind: every block of a site has the same */
	bool runtime;                  /* held by the loader (thread storage of pthread_create, the
					* Go runtime's Ms included; dynamic TLS; loaded objects), not
					* by the program: its innermost frame is in ld.so */
};

/* Blocks left out of the kinds and sites by a suppression rule. */
struct cgs_snap_supp {
	const char *rule;      /* the pattern */
	bool builtin;          /* from the built-in list */
	uint64_t count, bytes;
};

/* Heap totals over the whole run (leak tracking on). */
struct cgs_snap_tsite {
	uint64_t allocs, bytes, temps;   /* over the whole run */
	uint32_t stack_id;
	int nframes;
	struct cgs_frame_info *frames;
	const char *cgo;
};

struct cgs_snap_heap {
	bool enabled;
	uint64_t allocs, frees, bytes, bytes_freed, temps;
	uint64_t peak_bytes, peak_ns, sample_ns;
	size_t npeak;
	struct cgs_snap_site *peak_sites;   /* count, bytes, frames at the peak */
	size_t nsites;
	struct cgs_snap_tsite *sites;       /* every site that allocated, by bytes, descending */
};

/* Flight recorder (ring.h): one ring per NUMA node. */
struct cgs_snap_ring {
	int node;
	int bound_node;        /* node its memory is bound to, as the kernel says now; -1 = not bound */
	const char *policy;    /* "bind", "preferred" or "none" (static string) */
	char *cpus;            /* the CPUs that write here, as a cpulist ("0-3,8") */
	uint64_t capacity;     /* records */
	uint64_t written;      /* records ever written */
	uint64_t overwritten;  /* of those, overwritten by newer ones: max(0, written - capacity) */
	uint64_t bytes;        /* memory of the ring */
	uint64_t in_flight;    /* records not shown: being written (or their writer died) */
	uint64_t torn;         /* records not shown: checksum failed */
	uint64_t calls, ticks; /* every call of the threads last seen on this node (approximate) */
	/* Routine dl calls' own rings (ring.h): dlopen/dlclose, dlsym/dlvsym. */
	uint64_t routine_capacity;
	uint64_t routine_written[2], routine_overwritten[2];
};

struct cgs_snap_event {
	uint64_t t_ticks;      /* start, ticks since the process started */
	uint64_t dur;          /* ticks */
	int fn;                /* enum cgs_fn */
	int32_t tid;
	int cpu;               /* -1 = unknown */
	int node;
	int fd;                /* -1 = none */
	int err;               /* errno of a failed call, else 0 */
	uint64_t arg;          /* size (heap), request (ioctl), handle (dlsym, dlclose) */
	int64_t result;
	char *target;          /* file, path, library or symbol; NULL when none (heap) */
	uint32_t stack_id;
	int nframes;
	struct cgs_frame_info *frames; /* innermost first */
};

struct cgs_snapshot {
	/* header */
	int pid;
	int parent_pid;        /* a fork child's parent, else 0 */
	const char *exe;
	const char *cmdline;
	const char *trigger;   /* "signal", "api", "exit" */
	bool final;
	const char *final_at;  /* final reports: "exit" (written while the exiting thread
				* waited), "gone" (after the process was gone), "detach"
				* (cgoshim attach let go); else "" */
	bool attached;         /* started by cgoshim attach (region.h) */
	uint64_t calls_after_exit; /* "gone" rewrite of an "exit" report: calls counted
				    * after that report was taken */
	uint32_t seq;          /* dump sequence number, 1-based */
	double ns_per_tick;
	uint32_t tsc_flags;
	uint64_t duration_ns;  /* start to this snapshot */
	bool delta;            /* an interval report of what happened since since_ns (CGOSHIM_INTERVAL_MODE=delta) */
	uint64_t since_ns;     /* ... the previous interval report's duration_ns */
	int64_t start_real_ns;
	struct cgs_options opts;
	uint64_t shim_bytes;   /* memory the shim holds in its region */
	uint64_t threads;      /* thread blocks ever created */
	const char *go;        /* Go runtime found and how stacks are followed, or "not Go" */
	struct cgs_counters counters;
	uint32_t inconsistent; /* live reads that raced a writer too often */
	/* Given up to the program (region.h): live dumps by signal, seccomp. */
	uint32_t sig_dump_state, sig_given_up_disp;
	int64_t sig_given_up_ns;
	int64_t seccomp_ns;
	uint32_t seccomp_filters, seccomp_unknown;
	int64_t passive_ns;
	uint32_t passive_why;

	size_t nfns;
	struct cgs_snap_fn *fns;       /* entry points called at least once, table order */
	size_t ntargets;
	struct cgs_snap_target *targets; /* sorted by total time, descending; "(rest)" rows last */
	struct cgs_snap_targets_info tinfo;

	bool leaks_enabled;
	uint64_t leak_count, leak_bytes;       /* all live allocations */
	uint64_t shown_count, shown_bytes;     /* those at least min_age old */
	uint64_t inherited_count, inherited_bytes; /* live blocks a fork child inherited */
	uint64_t runtime_count, runtime_bytes; /* of those, in runtime sites */
	size_t nsites;
	struct cgs_snap_site *sites;           /* sorted by bytes, descending */
	/* Leak kinds (reach.h) of the shown, unsuppressed blocks. kinds_source:
	 * "scan" (this report's own scan of the process), "last_scan" (the
	 * process was gone: kinds of the last live scan, kinds_age_ns old; blocks
	 * newer than it are "unknown"), "none" (no scan could be made: all
	 * "unknown", kinds_why says why), "off" (CGOSHIM_LEAK_KINDS=0). */
	const char *kinds_source;
	const char *kinds_why;
	uint64_t kinds_age_ns;
	uint64_t kind_count[CGS_KIND_COUNT], kind_bytes[CGS_KIND_COUNT];
	struct cgs_reach_stats scan;           /* this report's scan, or the last one */
	uint64_t suppressed_count, suppressed_bytes;
	size_t nsupp;
	struct cgs_snap_supp *supp;            /* rules that matched, by bytes */
	struct cgs_snap_heap heap;

	/* Flight recorder; all zero when it is off. */
	bool recorder;
	const char *topology;          /* "sysfs", "override" or "single" (static) */
	const char *cpu_source;        /* "rseq" or "getcpu" (static) */
	uint64_t ring_events;          /* capacity of each ring */
	uint64_t unattributed_calls;   /* calls of threads whose node is not known */
	uint64_t unattributed_ticks;
	size_t nrings;
	struct cgs_snap_ring *rings;   /* by node */
	size_t nevents;
	struct cgs_snap_event *events; /* by start time; only calls >= slow_ns, and dl calls */
};

static inline uint64_t cgs_snap_ns(const struct cgs_snapshot *s, uint64_t ticks)
{
	return (uint64_t)((double)ticks * s->ns_per_tick + 0.5);
}

/* snapshot.c */
/* The process the watcher watches: its memory is scanned for leak kinds
 * while pidfd (or, without one, kill(pid, 0)) says it is alive; supp, the
 * suppressions (kept, not copied). Without a call, no scan is made. */
void cgs_snapshot_target(pid_t pid, int pidfd, const struct cgs_supp *supp);
/* live: the process may still run (its writers race the read). */
struct cgs_snapshot *cgs_snapshot_take(struct cgs_region *r, const char *trigger, bool final, bool live,
				       uint32_t seq, struct cgs_symbolizer *sym);
/* What the process has done so far, cheaply, to tell whether anything
 * changed between two moments: calls of every thread, live blocks and
 * bytes, and the event counters. */
struct cgs_activity {
	uint64_t calls, blocks, bytes, events;
};
void cgs_snapshot_activity(struct cgs_region *r, struct cgs_activity *a);
void cgs_snapshot_free(struct cgs_snapshot *s);

/* Interval deltas: the cumulative numbers of one report (calls, targets,
 * counters, its time), kept to subtract from the next. */
struct cgs_snap_base;
struct cgs_snap_base *cgs_snap_base_take(const struct cgs_snapshot *s);
void cgs_snap_base_free(struct cgs_snap_base *b);
/* Turn s into what happened since b was taken: counts, errors, time and
 * histogram buckets subtracted (min and max from the remaining buckets,
 * quantiles follow), functions and targets with no new call dropped,
 * counters subtracted, and flight recorder events before b dropped. Live
 * leaks stay as they are (a state, not a count). */
void cgs_snapshot_subtract(struct cgs_snapshot *s, const struct cgs_snap_base *b);

/* report.c: write the snapshot in the given format (enum cgs_format).
 * Returns 0, or -1 on a write error (errno set). */
int cgs_report_write(const struct cgs_snapshot *s, int format, FILE *out);

#endif
