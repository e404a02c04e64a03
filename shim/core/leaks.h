/* leaks.h - live allocations and the stacks they were made from.
 *
 * Live allocations: a hash table split into shards by pointer hash, each an
 * open-addressing table (linear probing, backward-shift deletion) behind its
 * own spinlock, so threads rarely meet. A record is 16 bytes (the table is
 * 40 to 80% full, so 20 to 40 bytes of memory per live allocation): the
 * pointer (45 bits: addresses below 2^48, 8-byte aligned), the size
 * (36 bits: up to 64 GiB; larger sizes are recorded as 64 GiB - 1), the
 * stack id (20 bits) and the allocation time (27 bits of 2^24-tick units:
 * about 6 ms each, wrapping after about 10 days at 2.6 GHz). The encoding
 * lives in the accessors below and nowhere else.
 * Each shard keeps its live count and bytes, so totals are exact and cheap.
 * A shard's sequence number is odd while it is written, so the watcher can
 * read a consistent copy of a live process without taking the lock (a lock
 * held by a killed watcher would hang the program).
 *
 * Stacks: an insert-only table of unique stacks. Looking up a stack that is
 * known takes no lock; a new one is added under the table lock. Stack ids
 * are dense from 1; id 0 means "no stack". */
#ifndef CGOSHIM_LEAKS_H
#define CGOSHIM_LEAKS_H

#include "common.h"
#include "fastunwind.h"

#define CGS_LEAK_SHARDS 256
#define CGS_LEAK_SIZE_BITS 36
#define CGS_LEAK_SIZE_MAX ((1ULL << CGS_LEAK_SIZE_BITS) - 1)
#define CGS_LEAK_PTR_LIMIT (1ULL << 48)
#define CGS_STACK_ID_BITS 20
#define CGS_STACK_IDS (1u << CGS_STACK_ID_BITS)
#define CGS_STACK_DEPTH_MAX 64
#define CGS_TIME_SHIFT 24 /* a time unit is 2^24 ticks */
#define CGS_TIME_BITS 27
#define CGS_TIME_MASK ((1u << CGS_TIME_BITS) - 1)

/* a = ptr >> 3 | time[0..19) << 45; b = size | stack << 36 | time[19..27) << 56.
 * a == 0: empty slot (no real pointer is below 8). */
struct cgs_lrec {
	uint64_t a, b;
};

static inline struct cgs_lrec cgs_lrec_make(uint64_t ptr, uint64_t size, uint32_t stack, uint32_t t_q)
{
	struct cgs_lrec r;
	t_q &= CGS_TIME_MASK;
	if (size > CGS_LEAK_SIZE_MAX)
		size = CGS_LEAK_SIZE_MAX;
	r.a = (ptr >> 3) | ((uint64_t)(t_q & 0x7ffff) << 45);
	r.b = size | ((uint64_t)(stack & (CGS_STACK_IDS - 1)) << 36) | ((uint64_t)(t_q >> 19) << 56);
	return r;
}

#define CGS_LREC_KEY_MASK ((1ULL << 45) - 1)

/* The record's key: its pointer >> 3; 0 in an empty slot. */
static inline uint64_t cgs_lrec_key(const struct cgs_lrec *r)
{
	return r->a & CGS_LREC_KEY_MASK;
}

static inline uint64_t cgs_lrec_ptr(const struct cgs_lrec *r)
{
	return cgs_lrec_key(r) << 3;
}

static inline uint64_t cgs_lrec_size(const struct cgs_lrec *r)
{
	return r->b & CGS_LEAK_SIZE_MAX;
}

static inline uint32_t cgs_lrec_stack(const struct cgs_lrec *r)
{
	return (uint32_t)(r->b >> 36) & (CGS_STACK_IDS - 1);
}

static inline uint32_t cgs_lrec_time(const struct cgs_lrec *r)
{
	return (uint32_t)(r->a >> 45) | ((uint32_t)(r->b >> 56) << 19);
}

static inline void cgs_lrec_set_ptr(struct cgs_lrec *r, uint64_t ptr)
{
	r->a = (r->a & ~CGS_LREC_KEY_MASK) | (ptr >> 3);
}

static inline void cgs_lrec_set_size(struct cgs_lrec *r, uint64_t size)
{
	if (size > CGS_LEAK_SIZE_MAX)
		size = CGS_LEAK_SIZE_MAX;
	r->b = (r->b & ~CGS_LEAK_SIZE_MAX) | size;
}

/* Whether a pointer can be recorded (and so looked up). */
static inline bool cgs_lrec_storable(uint64_t ptr)
{
	return ptr < CGS_LEAK_PTR_LIMIT && !(ptr & 7) && ptr;
}

struct cgs_lshard {
	cgs_spin_t lock;
	volatile uint32_t seq;
	uint64_t count;
	uint64_t bytes;
	uint64_t cap;              /* slots, a power of two */
	struct cgs_lrec *slots;
	uint64_t spare[3];
} CGS_ALIGNED(64);

struct cgs_leaks {
	struct cgs_lshard shard[CGS_LEAK_SHARDS];
};

struct cgs_stack {
	uint32_t hash;
	uint32_t epoch;        /* module epoch when first seen */
	uint32_t unload_gen;
	uint16_t depth;
	uint16_t spare;
	uint64_t frames[];     /* innermost first; all return addresses (symbols.h) */
};

/* Per-site totals over the whole run (heaptot.c): every allocation and its
 * bytes, and the temporary ones, by stack id; pages of CGS_SITETOT_PAGE
 * entries made on first use, so a counter never moves. */
#define CGS_SITETOT_PAGE 4096u
#define CGS_SITETOT_PAGES 256u /* stack ids up to 2^20 */
struct cgs_sitetot {
	uint64_t allocs, bytes, temps;
};

struct cgs_stacks {
	struct cgs_sitetot *volatile tot[CGS_SITETOT_PAGES];
	cgs_spin_t lock;
	volatile uint32_t count;     /* ids [1, count] are valid */
	uint32_t index_cap;          /* power of two */
	uint32_t *volatile index;    /* stack id or 0 */
	struct cgs_stack **volatile byid;
	uint32_t byid_cap;
	char *chunk;
	uint64_t chunk_left;
	volatile uint32_t unload_gen; /* bumped by every dlclose */
};

struct cgs_region;
/* leaks.c (in-process, hot path) */
int cgs_leaks_init(struct cgs_region *r);
/* Record a live allocation. false when no memory was left for the record. */
bool cgs_leak_add(struct cgs_leaks *l, uint64_t ptr, uint64_t size, uint32_t stack, uint32_t t_q);
/* Remove ptr's record into *out. false when ptr was not recorded. */
bool cgs_leak_take(struct cgs_leaks *l, uint64_t ptr, struct cgs_lrec *out);
/* Put back a record taken by cgs_leak_take (a realloc that failed, or one
 * that moved the block). */
bool cgs_leak_put(struct cgs_leaks *l, const struct cgs_lrec *rec);
void cgs_leaks_lock_all(struct cgs_leaks *l);   /* fork */
void cgs_leaks_unlock_all(struct cgs_leaks *l);

/* heaptot.c (in-process): count an allocation of size bytes at p made
 * with stack id `stack` by thread t (NULL: none); count the free of the
 * block whose record is rec. A realloc is a free and an allocation, as
 * valgrind counts it. Call with the guard set. */
struct cgs_tstate;
void cgs_heaptot_alloc(struct cgs_tstate *t, uint64_t p, uint64_t size, uint32_t stack);
void cgs_heaptot_free(struct cgs_tstate *t, uint64_t p, const struct cgs_lrec *rec);
/* Reader side: the totals of stack id, or NULL when it has none. */
const struct cgs_sitetot *cgs_sitetot_get(const struct cgs_region *r, uint32_t stack);
/* Fork child: its totals start from zero. */
void cgs_heaptot_after_fork(struct cgs_region *r);

/* stacks.c */
int cgs_stacks_init(struct cgs_region *r);
/* Capture the caller's stack (skipping the shim's own frames) and intern it.
 * Returns the stack id, 0 if none. Call with the re-entry guard set. */
uint32_t cgs_stack_capture(int max_depth);
/* The second half of a capture whose unw_backtrace the caller made itself
 * (raw[0..got), innermost first): drop the shim's frames, follow Go frames,
 * keep max_depth, intern. */
uint32_t cgs_stack_finish(void **raw, int got, int max_depth);
uint32_t cgs_stack_intern(struct cgs_stacks *s, const uint64_t *frames, int depth, uint32_t epoch);
/* Reader side: the stack with this id, or NULL (bounds-checked). */
const struct cgs_stack *cgs_stack_get(const struct cgs_region *r, uint32_t id);
/* Unwinding and fork (stacks.c). libunwind calls dl_iterate_phdr, which
 * holds the loader's lock while it runs; a fork at that moment would leave
 * the lock held forever in the child, whose next unwind would hang. So an
 * unwind is bracketed by cgs_unwind_begin/end: while a fork is being
 * prepared, begin returns false and the caller records no stack (it never
 * waits, so it cannot deadlock with a thread that holds the loader lock);
 * the fork waits for unwinds in progress. A child forked while some thread
 * was inside dlopen/dlclose (cgs_in_dl) does not unwind at all. */
bool cgs_unwind_begin(void);
void cgs_unwind_end(void);
void cgs_unwind_fork_prepare(void);
void cgs_unwind_fork_parent(void);
bool cgs_unwind_fork_clean(void);
void cgs_unwind_fork_child(void);
extern int cgs_in_dl; /* threads where the shim may hold a loader lock (atomic) */
/* Around every shim call that takes a loader lock (the real dlopen and
 * dlclose, dl_iterate_phdr, dladdr, dlinfo): waits while a fork is being
 * prepared, and lets the fork wait for it. */
void cgs_dl_enter(void);
void cgs_dl_leave(void);

/* Walk the caller's stack into raw[0..want) by mode (CGOSHIM_UNWIND): the fast
 * unwinder (fastunwind.h), libunwind, or both, compared (counted in
 * counters.unwind_compared/unwind_mismatches; libunwind's frames kept).
 * raw[0] is in the caller or deeper in the shim. Returns the count (0: no
 * stack). The guard must be set. */
int cgs_backtrace_slow(void **raw, int want, int mode);
extern bool cgs_unwind_off; /* a fork child that must not unwind */
static inline __attribute__((always_inline)) int cgs_backtrace(void **raw, int want, int mode)
{
	if (CGS_LIKELY(mode == CGS_UNWIND_FAST)) {
		if (CGS_UNLIKELY(cgs_unwind_off))
			return 0;
		int n = cgs_fast_backtrace(raw, want);
		return n > 0 ? n : 0;
	}
	return cgs_backtrace_slow(raw, want, mode);
}
/* Set by dl.c: repairs a stack captured inside a dlopen/dlsym/dlvsym in
 * flight (their frames return through the caller's object); raw holds cap
 * entries; may_unwind: it may walk on (it enters cgs_unwind_begin/end
 * itself, only when a call is in flight). Returns the new frame
 * count. NULL until the first such call. */
extern int (*cgs_stack_fix_hook)(void **raw, int got, int cap, bool may_unwind);
/* Walk on from a frame whose registers are known: ip (a return address),
 * sp (the stack pointer after that return), and the callee-saved rbx, rbp,
 * r12, r13, r14, r15. Writes the callers' return addresses (ip not
 * included) to out; returns how many. Call inside cgs_unwind_begin/end. */
int cgs_stack_unwind_from(uint64_t ip, uint64_t sp, const uint64_t regs[6], void **out, int cap);

/* Set the address range of the shim's own code, whose frames are dropped. */
void cgs_stacks_set_self(uint64_t lo, uint64_t hi);

#endif
