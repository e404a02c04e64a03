/* tstate.h - per-thread counters and the hot path of every interposed call.
 *
 * Each thread owns one block in the shared region (its own counters and
 * histograms, written without locks or atomics). The block is found through
 * an initial-exec TLS pointer. When a thread exits its block is put on a free
 * list and reused by the next new thread; its counts stay in it, so sums
 * over all blocks are right. Calls that come after the thread's TLS
 * destructors ran (glibc frees late) go to one shared "orphan" block with
 * atomic updates.
 *
 * The re-entry guard (cgs_t_guard) is set while the shim itself runs code
 * that may call an interposed function (unwinding, dl_iterate_phdr, the
 * dynamic loader): a call made under the guard is passed straight through. */
#ifndef CGOSHIM_TSTATE_H
#define CGOSHIM_TSTATE_H

#include "files.h"
#include "hist.h"
#include "region.h"

struct cgs_thist {
	struct cgs_stat st;
	uint64_t hist[CGS_HIST_BUCKETS];
};

/* Heap totals of one thread (leak tracking on): what valgrind's "total
 * heap usage" line counts, and heaptrack's temporary allocations (freed by
 * the thread that made them before it made another). heaptot.c. */
struct cgs_heaptot {
	uint64_t allocs, frees;
	uint64_t bytes, bytes_freed;
	uint64_t temps;
	uint64_t last;           /* this thread's latest allocation, 0 after a free of it */
};

struct cgs_tstate {
	struct cgs_tstate *next_all;
	struct cgs_tstate *next_free;
	int32_t tid;
	uint32_t in_use;
	struct cgs_heaptot heap;
	struct cgs_thist **thist[CGS_TF_COUNT]; /* [file id] -> histogram, made on first use */
	struct cgs_stat st[CGS_FN_COUNT];
	uint64_t hist[CGS_FN_COUNT][CGS_HIST_BUCKETS] CGS_ALIGNED(4096);
};

extern CGS_TLS struct cgs_tstate *cgs_t_state;
extern CGS_TLS int cgs_t_guard;

/* tstate.c */
struct cgs_tstate *cgs_tstate_slow(void);
void cgs_tstate_init(void);          /* creates the TLS key; call once */
void cgs_tstate_after_fork(void);    /* child: only this thread remains; counts restart */
struct cgs_thist *cgs_thist_get(struct cgs_tstate *t, int tf, uint32_t file);
void cgs_record_slow(struct cgs_tstate *t, int fn, uint64_t ticks, bool err);

static inline struct cgs_tstate *cgs_self(void)
{
	struct cgs_tstate *t = cgs_t_state;
	return CGS_LIKELY(t != NULL) ? t : cgs_tstate_slow();
}

/* Record one call of fn that took `ticks`. */
static inline void cgs_record(struct cgs_tstate *t, int fn, uint64_t ticks, bool err)
{
	if (CGS_LIKELY(t != cgs_R->orphan))
		cgs_stat_add(&t->st[fn], t->hist[fn], ticks, err);
	else
		cgs_record_slow(t, fn, ticks, err);
}

static inline void cgs_record_target(struct cgs_tstate *t, int tf, uint32_t file, uint64_t ticks, bool err)
{
	struct cgs_thist **row = t->thist[tf];
	struct cgs_thist *h = row ? row[file] : NULL;
	if (CGS_UNLIKELY(!h || t == cgs_R->orphan)) {
		h = cgs_thist_get(t, tf, file);
		if (!h)
			return;
		if (t == cgs_R->orphan) {
			cgs_stat_add_atomic(&h->st, h->hist, ticks, err);
			return;
		}
	}
	cgs_stat_add(&h->st, h->hist, ticks, err);
}

#endif
