/* ring.h - the flight recorder: one ring buffer of call records per NUMA
 * node, in the shared region, each ring's memory bound to its node.
 *
 * What is recorded: every timed call that took at least r->slow_ticks (the
 * CGOSHIM_SLOW_NS threshold in TSC ticks), and every dlopen, dlsym, dlvsym
 * and dlclose that goes through the timed path. A record (struct cgs_event,
 * 128 bytes) holds the start time, duration, function, thread, CPU and
 * node, what identifies the call (descriptor and file, path, size, ioctl
 * request, library or symbol name), result, errno and a stack id: a full
 * stack for a slow call, the caller's frame alone for a dl call that is not
 * slow.
 *
 * Hot path. Every timed call compares its duration with r->slow_ticks
 * (cgs_slow below: one load, one compare, a branch predicted not taken) and
 * pays nothing else when it does not qualify. A qualifying call goes to a
 * cold function that takes the stack (under the re-entry guard), reads the
 * CPU from glibc's rseq area, picks that CPU's node's ring, and writes
 * (about 12 ns without the stack: bench/RESULTS.md, "Rings"):
 *
 *	idx  = fetch_add(&ring->head, 1)          reserve: the only atomic
 *	slot = &slots[idx & mask]
 *	slot->seq = 0                             "being written"
 *	copy the record (with its checksum) in
 *	store-release slot->seq = idx + 1         publish
 *
 * No locks: many threads of a node write one ring at once, each to its own
 * slot. When the ring is full the oldest records are overwritten; the count
 * of overwritten records is exactly max(0, written - capacity). A fork
 * child's rings start after its parent's records (ring->first).
 *
 * Readers (the watcher, for a report) take a slot only if its sequence
 * number is idx + 1 before and after the copy and the checksum (over the
 * whole record and idx) matches: a record being written, overwritten while
 * read, or mixed by two writers that wrapped onto one slot is counted
 * (in flight / torn), never shown. x86-64 only: stores are not reordered
 * with other stores, so the release fence between "seq = 0" and the copy
 * costs nothing.
 *
 * Threshold. The TSC rate is not known precisely at start. slow_ticks starts
 * from CPUID (leaf 0x15, the hypervisor's TSC leaf, or leaf 0x16) or, when
 * none says, 1 tick per ns (a TSC of 1 GHz or more then records more, not
 * less). The watcher measures the rate against CLOCK_MONOTONIC 100 ms after
 * start (and every second after) and writes the refined slow_ticks into the
 * region; reports keep only records at least CGOSHIM_SLOW_NS long at the
 * rate measured over the whole run.
 *
 * Calls and time per node: each thread's totals (from its thread block) are
 * given to the node it was last seen on: at its last recorded call, or by
 * the watcher, which reads /proc/PID/task/TID/stat once a second. A thread
 * that moved between nodes has all its calls counted on the last one: this
 * is an approximation, and reports say so. */
#ifndef CGOSHIM_RING_H
#define CGOSHIM_RING_H

#include "region.h"
#include "topology.h"

#define CGS_EVENT_TEXT 56
#define CGS_EVENT_NOFILE UINT32_MAX /* "file id not looked up yet" */
#define CGS_RING_EVENTS_DEFAULT 1024 /* see README, "Flight recorder" */
#define CGS_RING_EVENTS_MIN 16
#define CGS_RING_EVENTS_MAX (1u << 24)
#define CGS_TNODES 4096   /* threads whose node is remembered */
#define CGS_DLNAMES 256   /* dlopen handles whose library name is remembered */

struct cgs_event {
	uint64_t seq;      /* idx + 1 once published; 0 while being written */
	uint64_t t0;       /* TSC when the call started */
	uint64_t dur;      /* ticks */
	uint64_t arg;      /* size (heap), request (ioctl), handle (dlsym, dlvsym, dlclose) */
	int64_t result;    /* return value; pointers as integers */
	int32_t tid;
	int32_t err;       /* errno when the call failed, else 0 */
	uint32_t stack;    /* stack id (leaks.h), 0 = none */
	uint32_t file;     /* file id + 1 (files.h) or dl name index + 1; 0 = none */
	int32_t fd;        /* -1 = none */
	uint32_t check;    /* checksum of the record and idx; see cgs_event_sum */
	uint16_t cpu;
	uint16_t node;     /* node id of the ring written */
	uint16_t fn;       /* enum cgs_fn */
	uint16_t textlen;
	char text[CGS_EVENT_TEXT]; /* path (open), library (dlopen), symbol (dlsym) */
};
_Static_assert(sizeof(struct cgs_event) == 128, "a record is two cache lines");

struct cgs_ring {
	uint64_t head;          /* records reserved so far (atomic) */
	uint64_t spare_[7];     /* head alone on its line: writers bounce it */
	struct cgs_event *slots;
	uint64_t mask;          /* capacity - 1 */
	int32_t node;           /* the node whose CPUs write here */
	int32_t bound_node;     /* node the memory was bound to, -1 when binding failed */
	int32_t policy;         /* CGS_MPOL_BIND, CGS_MPOL_PREFERRED, or 0 */
	int32_t bind_errno;     /* errno of the failed mbind, 0 */
	uint64_t bytes;         /* memory: this header's page and the slots */
	uint64_t first;         /* index of this process's first record (a fork
				 * child's rings start after its parent's) */
} CGS_ALIGNED(64);

#define CGS_MPOL_PREFERRED 1
#define CGS_MPOL_BIND 2

struct cgs_tnode {
	int32_t tid;            /* 0 = free */
	int32_t node;
	uint64_t stamp;         /* TSC when seen */
};

struct cgs_dlname {
	uint64_t handle;        /* 0 = free */
	char name[CGS_EVENT_TEXT];
	uint32_t len;
	uint32_t spare;
};

enum cgs_rate_source { CGS_RATE_ASSUMED, CGS_RATE_CPUID15, CGS_RATE_HYPERVISOR, CGS_RATE_CPUID16, CGS_RATE_MEASURED };

/* Routine dl calls (under the slow threshold) go to rings of their own, so
 * that a loop of thousands of dlsym calls never pushes a slow call, or a
 * dlopen, out of the flight recorder: per node, one for dlopen and dlclose,
 * one for dlsym and dlvsym, each of CGS_ROUTINE_CAP(capacity) records. */
enum { CGS_ROUTINE_DL, CGS_ROUTINE_SYM, CGS_ROUTINE_KINDS };
#define CGS_ROUTINE_CAP(cap) ((cap) / 4 < CGS_RING_EVENTS_MIN ? CGS_RING_EVENTS_MIN : (cap) / 4)

struct cgs_rings {
	uint32_t nrings;
	uint32_t capacity;       /* records per ring, a power of two */
	uint32_t routine_capacity; /* records per routine ring */
	uint32_t spare_;
	uint32_t rate_source;    /* enum cgs_rate_source of ticks_per_ns */
	uint32_t cpu_rseq;       /* the CPU comes from rseq (else sched_getcpu) */
	double ticks_per_ns;     /* the rate slow_ticks was computed with */
	uint64_t tnodes_full;    /* threads not remembered: table full */
	struct cgs_ring *ring[CGS_NODES_MAX];
	struct cgs_ring *routine[CGS_ROUTINE_KINDS][CGS_NODES_MAX]; /* NULL: none (then ring[]) */
	struct cgs_topology topo;
	struct cgs_tnode tnode[CGS_TNODES];
	struct cgs_dlname dlname[CGS_DLNAMES];
};

struct cgs_tstate;

/* The only thing a call that does not qualify pays. CGS_NO_RINGS builds
 * (bench only) drop it, to measure what it costs. */
#ifdef CGS_NO_RINGS
#define cgs_slow(ticks) ((void)(ticks), false)
#else
#define cgs_slow(ticks) CGS_UNLIKELY((ticks) >= __atomic_load_n(&cgs_R->slow_ticks, __ATOMIC_RELAXED))
#endif

/* ---- ring.c: set-up (in the process, from cgs_boot) ---- */

/* Read the topology, make and bind one ring per node, set r->slow_ticks and
 * r->rings. On failure (no memory) the recorder is off: r->slow_ticks is
 * UINT64_MAX and r->rings NULL; returns -ENOMEM. */
int cgs_rings_init(struct cgs_region *r);

/* TSC ticks per ns as CPUID tells, and where it came from; 1.0 and
 * CGS_RATE_ASSUMED when it does not. */
double cgs_tsc_estimate(uint32_t *source);

/* ---- ring.c: the write side (cold: only qualifying calls come here) ----
 * Each preserves errno and records errno as the call left it when `failed`. */
void cgs_event_fd(struct cgs_tstate *t, int fn, uint64_t t0, uint64_t ticks, int fd, uint32_t file,
		  uint64_t arg, int64_t result);
void cgs_event_open(struct cgs_tstate *t, int fn, uint64_t t0, uint64_t ticks, const char *path,
		    uint32_t file, int fd);
void cgs_event_heap(struct cgs_tstate *t, int fn, uint64_t t0, uint64_t ticks, uint64_t size,
		    const void *result, bool failed);
/* dlopen: name is the path opened, result the handle. dlsym/dlvsym: name
 * and version (or NULL), handle the one searched. dlclose: handle. caller:
 * the caller's address, which is the whole stack of a call shorter than
 * the threshold (a fast dlsym in a loop: a full stack would cost more than
 * the call, and a report would repeat it thousands of times); 0 for a full
 * stack always. */
void cgs_event_dl(struct cgs_tstate *t, int fn, uint64_t t0, uint64_t ticks, const char *name,
		  const char *version, const void *handle, int64_t result, bool failed, uint64_t caller);

/* Publish a filled record (fn, t0, dur, tid, ...) in the ring of the node
 * of the CPU this thread runs on; sets e->cpu and e->node. Returns the
 * record's index in its ring. Used by the writers above, tests and bench. */
uint64_t cgs_event_commit(struct cgs_rings *rs, struct cgs_event *e);

/* Reserve, write and publish e in one ring (sets e->seq and e->check). */
uint64_t cgs_ring_put(struct cgs_ring *ring, struct cgs_event *e);

/* ---- ring.c: the read side (report) ---- */

enum cgs_slot_state { CGS_SLOT_OK, CGS_SLOT_IN_FLIGHT, CGS_SLOT_GONE, CGS_SLOT_TORN };

/* Copy record idx of the ring into *out if it is there, whole and checked:
 * CGS_SLOT_OK. IN_FLIGHT: reserved but not (yet) published, e.g. its
 * writer is still at it or died; GONE: overwritten by a newer record;
 * TORN: published but its checksum fails (two writers met in the slot). */
int cgs_ring_get(const struct cgs_ring *ring, uint64_t idx, struct cgs_event *out);

/* The checksum a record with index idx must carry. */
uint32_t cgs_event_sum(const struct cgs_event *e, uint64_t idx);

/* The index the next record gets. */
static inline uint64_t cgs_ring_head(const struct cgs_ring *ring)
{
	return __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE);
}

/* Records this process wrote, and how many of them were overwritten. */
static inline uint64_t cgs_ring_written(const struct cgs_ring *ring)
{
	return cgs_ring_head(ring) - ring->first;
}

static inline uint64_t cgs_ring_overwritten(const struct cgs_ring *ring)
{
	uint64_t n = cgs_ring_written(ring), cap = ring->mask + 1;
	return n > cap ? n - cap : 0;
}

/* The node a thread was last seen on, -1 if unknown. */
int cgs_rings_thread_node(const struct cgs_rings *rs, int32_t tid);

/* The library name of a dlopen handle, NULL if unknown. */
const struct cgs_dlname *cgs_rings_dlname(const struct cgs_rings *rs, uint32_t index);

/* Where the ring's memory is bound now, as the kernel says
 * (get_mempolicy MPOL_F_ADDR on its slots): the node, or -1 when it has
 * no single-node policy. *policy gets the mode, or -1 when the kernel
 * would not say (the caller then falls back on what mbind did). */
int cgs_ring_policy_node(const struct cgs_ring *ring, int *policy);

/* ring.c, shared with the watcher (ring_watch.c): the slow threshold in
 * ticks at a rate; a thread's node slot (insert: claim one if missing; NULL
 * when the table is full); note a node seen at a stamp. */
uint64_t cgs_ticks_for(uint64_t ns, double ticks_per_ns);
struct cgs_tnode *cgs_tnode_find(struct cgs_rings *rs, int32_t tid, bool insert);
void cgs_tnode_note(struct cgs_tnode *n, int node, uint64_t stamp);

/* Watcher side (watcher/ring_watch.c): a thread that refines slow_ticks 100 ms after start and
 * every second after, and notes which node each thread of process pid runs
 * on. Returns 0 or -errno. */
int cgs_rings_watch(struct cgs_region *r, int pid);

/* Refine r->slow_ticks from the TSC rate since start (watcher, tests). */
void cgs_rings_refine(struct cgs_region *r);

/* In a fork child, once its region is its own copy and while it has one
 * thread: its rings start empty (the parent's records stay the parent's)
 * and are bound again (the copy is a new memfd, without the policy). */
void cgs_rings_after_fork(struct cgs_region *r);

#endif
