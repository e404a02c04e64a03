/* region.h - the shared region: all the state a report is made from.
 *
 * Why: a Go program ends with a raw exit_group (no atexit, no destructors),
 * and any program can be killed. So nothing a report needs lives in the
 * process's private memory. At start-up the shim makes one memfd of
 * CGOSHIM_MEMORY bytes (its length only: pages are allocated when touched)
 * and maps a small first part of it MAP_SHARED|MAP_NORESERVE; the mapping
 * grows in place (mremap, never moved) as the allocator needs more, so the
 * process's address space (RLIMIT_AS, mlockall's total) holds only what
 * the shim uses. It is placed where nothing else is above it, so it can
 * grow. A watcher process maps the memfd at the same address and writes
 * live reports on request and the final report once the process is gone,
 * reading this region (watcher.c).
 *
 * Everything in the region is reached from the header below, by plain
 * pointers (the watcher maps it at the same address). Memory inside it comes
 * from a bump allocator with power-of-two free lists (region.c); it never
 * calls the program's malloc. */
#ifndef CGOSHIM_REGION_H
#define CGOSHIM_REGION_H

#include <time.h>

#include "common.h"
#include "fns.h"
#include "options.h"

#define CGS_REGION_MAGIC 0x3130776f64616873ULL /* "shadow01" */
#define CGS_REGION_VERSION 1

struct cgs_tstate;
struct cgs_files;
struct cgs_module_table;
struct cgs_leaks;
struct cgs_stacks;
struct cgs_rings;

/* Events the report shows as counts, so nothing is lost silently. */
struct cgs_counters {
	uint64_t untracked_allocs;   /* allocations not recorded: no memory for the record */
	uint64_t unknown_frees;      /* free/realloc of a pointer the shim never saw */
	uint64_t unknown_sizes;      /* malloc_usable_size of such a pointer */
	uint64_t region_oom;         /* region allocations that failed */
	uint64_t pool_allocs;        /* bootstrap allocations (dlsym's calloc) */
	uint64_t guard_calls;        /* calls made while the shim itself was busy */
	uint64_t orphan_calls;       /* calls after a thread's TLS destructors ran */
	uint64_t stack_overflow;     /* stacks not stored: stack table full */
	uint64_t dlopen_untimed;     /* dlopen calls counted, not timed (dl.c says when) */
	uint64_t dlsym_untimed;      /* dlsym calls counted, not timed */
	uint64_t dlvsym_untimed;     /* dlvsym calls counted, not timed */
	uint64_t signals;            /* dump signals received */
	uint64_t thread_blocks;      /* thread blocks created */
	uint64_t ring_bind_failed;   /* flight recorder rings not bound to their node (ring.h) */
	uint64_t dumps_coalesced;    /* dump requests answered by one dump written for several */
	uint64_t forks_unmeasured;   /* fork children that run with the shim off (fork.c) */
	uint64_t unwind_handoffs;    /* stack walks finished by libunwind (fastunwind.c) */
	uint64_t unwind_compared;    /* CGOSHIM_UNWIND=compare: stacks walked both ways */
	uint64_t unwind_mismatches;  /* ... of which the two walks differed */
	uint64_t forks_nproc;        /* fork children unmeasured: RLIMIT_NPROC low (fork.c) */
	uint64_t seccomp_skipped;    /* shim system calls not made: the program's seccomp filter forbids them */
	uint64_t spawn_fallback;     /* this image's watcher started by the process itself: no spawn server answered (spawn.c) */
};

/* Why the shim went passive (seccomp.c): passive_why. */
enum { CGS_PASSIVE_NONE = 0, CGS_PASSIVE_STRICT = 1, CGS_PASSIVE_NOTSC = 2, CGS_PASSIVE_NOTSC_OVER = 3 };

/* Live dumps by signal (signal.c): sig_dump_state. */
enum {
	CGS_SIGDUMP_ON = 0,               /* the shim's handler is installed */
	CGS_SIGDUMP_DEFAULT = 1,          /* given up: the program set SIG_DFL (or SA_RESETHAND fired) */
	CGS_SIGDUMP_IGNORED = 2,          /* given up: the program set SIG_IGN */
	CGS_SIGDUMP_IGNORED_AT_START = 3, /* given up: ignored from the start (inherited across exec) */
};

struct cgs_region {
	uint64_t magic;
	uint32_t version;
	uint32_t header_size;
	uint64_t size;            /* bytes the region may grow to (the memfd's length) */
	uint64_t mapped;          /* bytes mapped in the process (grows; atomic) */
	uint64_t brk;             /* bump offset (atomic) */
	int32_t pid;
	int32_t parent_pid;       /* pid of the traced parent image, 0 if none */
	uint64_t start_tsc;
	int64_t start_mono_ns;    /* CLOCK_MONOTONIC at start */
	int64_t start_real_ns;    /* CLOCK_REALTIME at start */
	uint32_t tsc_flags;       /* CGS_TSC_* */
	uint32_t fork_generation; /* 0 in an exec'd image, +1 per fork */
	/* A fork child's own start (its report's start and duration), and the
	 * time quantum of the fork: a live block whose time is at most fork_q
	 * was inherited from the parent (cgs_now_q gives the child's own
	 * allocations later quanta). */
	uint32_t fork_q;
	uint64_t fork_tsc;
	int64_t fork_mono_ns;
	int64_t fork_real_ns;
	char exe[256];
	char cmdline[512];
	char go_status[128];     /* gostack.c: Go frames followed, or why not */
	struct cgs_options opts;

	/* Dump protocol (futex words, shared between processes). */
	volatile uint32_t dump_req;   /* bumped per request (signal, API) */
	volatile uint32_t dump_done;  /* bumped by the watcher per dump written */
	volatile uint32_t watcher_up; /* 1 once the watcher runs */
	volatile int32_t watcher_pid;
	volatile uint32_t last_trigger; /* CGS_TRIGGER_* of the latest request */
	volatile uint32_t fork_sync;    /* fork: 1 once the child has its copy */
	volatile uint32_t spawn_state;  /* spawn.c, PID 1: 1 watcher running, 2 no fork, 3 no exec */
	/* Exit through libc (exitwait.c): the exiting thread sets exit_req and
	 * waits (bounded) until the watcher sets exit_done, once the final
	 * report is on disk. */
	volatile uint32_t exit_req;
	volatile uint32_t exit_done;
	volatile uint32_t watcher_spawned; /* 1 once this image's watcher was started */
	/* cgoshim attach (attach.c): started by it, not preloaded; detach_req
	 * asks the watcher for the final report, after which it exits. */
	uint32_t attached;
	volatile uint32_t detach_req;
	/* The watcher spawn server (spawn.c): the abstract socket name this
	 * process's fork children ask ("" = none), and which watcher took
	 * this region: 0 none yet, 1 the one the server started, 2 the
	 * process gave up on the server (its own watcher runs). */
	char spawn_name[CGS_SPAWN_NAME_MAX];
	volatile uint32_t spawn_claim;
	/* 1: a seccomp filter was in force when this image started (inherited
	 * across exec: the shim cannot read it), 2: none; 0 not known yet.
	 * Inherited by fork children. */
	uint32_t seccomp_inherited;

	/* What the shim gave up to the program (signal.c, seccomp.c); times
	 * in ns since start_mono_ns, 0 = never. */
	volatile uint32_t sig_dump_state;    /* CGS_SIGDUMP_* now */
	volatile uint32_t sig_given_up_disp; /* CGS_SIGDUMP_* when first given up */
	volatile int64_t sig_given_up_ns;    /* first time live dumps by signal were given up */
	volatile int64_t seccomp_ns;         /* the program's first seccomp filter (or strict mode) */
	volatile uint32_t seccomp_filters;   /* filters it installed (through prctl or syscall) */
	volatile uint32_t seccomp_unknown;   /* 1: one could not be read, every new kind of call is skipped */
	volatile int64_t passive_ns;         /* the shim stopped measuring: strict mode or PR_SET_TSC (rdtsc faults) */
	volatile uint32_t passive_why;       /* CGS_PASSIVE_* */

	struct cgs_counters counters;

	/* Allocator. */
	cgs_spin_t alloc_lock;
	void *free_lists[64];

	/* Thread blocks. */
	cgs_spin_t threads_lock;
	struct cgs_tstate *threads;      /* every block, linked by next_all */
	struct cgs_tstate *free_threads; /* released blocks, linked by next_free */
	struct cgs_tstate *orphan;       /* shared block, updated with atomics */

	struct cgs_files *files;
	struct cgs_module_table *modules;
	struct cgs_leaks *leaks;
	struct cgs_stacks *stacks;

	/* Flight recorder (ring.h). slow_ticks is read by every timed call:
	 * its own cache line, written only at start and by the watcher. */
	uint64_t slow_ticks CGS_ALIGNED(64);
	struct cgs_rings *rings;
};

#define CGS_TSC_CONSTANT 1u
#define CGS_TSC_NONSTOP 2u

/* The region of this process image, or NULL while the shim is off. */
extern struct cgs_region *cgs_R;

/* region.c */
/* Make a new region that may grow to opts->memory bytes, a small part of
 * it mapped. NULL on failure. */
struct cgs_region *cgs_region_create(const struct cgs_options *opts);
/* In a fork child: give the child its own copy of the region at the same
 * address, so the parent's watcher no longer sees the child's writes.
 * Returns 0, or -errno (the caller then turns the shim off in the child). */
int cgs_region_privatize(struct cgs_region *r);
/* The memfd behind the region made last (by create or privatize), for the
 * watcher to map: the caller owns it. -1 when there is none. */
int cgs_region_take_fd(void);
/* Close that memfd if nobody took it. */
void cgs_region_drop_fd(void);
/* n bytes (rounded up to a power of two, at least 64), zeroed, 64-aligned;
 * NULL when the region is full. Never calls malloc. */
void *cgs_ralloc(struct cgs_region *r, size_t n);
void cgs_rfree(struct cgs_region *r, void *p, size_t n);
/* Whether [p, p+n) lies in the region (report side checks every pointer),
 * and below cgs_region_view when that is set (the watcher's mapping). */
extern uint64_t cgs_region_view;
bool cgs_region_contains(const struct cgs_region *r, const void *p, size_t n);
/* Bytes of the region handed out so far (high-water mark). */
uint64_t cgs_region_used(const struct cgs_region *r);
/* Bytes of the region backed by memory now: what the shim holds. */
uint64_t cgs_region_resident(const struct cgs_region *r);
/* fork: the child has copied the region (or given up); the parent waits for
 * that before it lets its threads change the region again. */
void cgs_region_fork_copied(struct cgs_region *r);
void cgs_region_fork_wait(struct cgs_region *r);

static inline void cgs_count(uint64_t *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

#endif
