/* leaks.h - live allocations and the stacks they were made from.
 *
 * Live allocations: a hash table split into shards by pointer hash, each an
 * open-addressing table (linear probing, backward-shift deletion) behind its
 * own spinlock, so threads rarely meet. A record is 24 bytes: pointer, size
 * (40 bits) with stack id (24 bits), and allocation time in ms since start.
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

#define CGS_LEAK_SHARDS 256
#define CGS_LEAK_SIZE_BITS 40
#define CGS_STACK_ID_BITS 24
#define CGS_STACK_IDS (1u << CGS_STACK_ID_BITS)
#define CGS_STACK_DEPTH_MAX 64
#define CGS_TIME_SHIFT 20 /* 2^20 ticks: about 0.3 ms at 3 GHz; 2^32 of them, weeks */

struct cgs_lrec {
	uint64_t ptr;  /* 0 = empty slot */
	uint64_t meta; /* size | stack << 40 */
	uint32_t t_q;   /* allocation time: (tsc - start_tsc) >> CGS_TIME_SHIFT */
	uint32_t spare;
};

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
	uint64_t frames[];     /* innermost first; return addresses but frame 0 */
};

struct cgs_stacks {
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
/* Set the address range of the shim's own code, whose frames are dropped. */
void cgs_stacks_set_self(uint64_t lo, uint64_t hi);

#endif
