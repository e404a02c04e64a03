/* heap.c - interposers for the whole malloc family.
 *
 * Each call is timed; with leak tracking on, every block handed out gets a
 * record (size, stack, time) and every block given back loses it. Order
 * matters under threads: a record is removed BEFORE the block is freed (once
 * freed, another thread may get the same address and record it), and added
 * AFTER the block is allocated. realloc moves the record, keeping the stack
 * and time of the original allocation; a failed realloc puts it back.
 *
 * Before the real functions are known (dlsym itself calls calloc), blocks
 * come from the static bootstrap pool; free and realloc recognise them. */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "leaks.h"
#include "ring.h"
#include "shim.h"

static inline bool pool_time(void)
{
	return CGS_UNLIKELY(!cgs_real_ready()) && (cgs_real_resolving() || (cgs_real_resolve(), !cgs_real_ready()));
}

static void *pool_get(size_t n, size_t align, bool zero)
{
	void *p = cgs_pool_alloc(n, align);
	if (p && zero)
		memset(p, 0, n);
	if (cgs_R)
		cgs_count(&cgs_R->counters.pool_allocs);
	if (!p)
		errno = ENOMEM;
	return p;
}

/* Record a new block. Always inlined into the interposer, so the stack walk
 * starts there: libunwind then walks one shim frame, not three. `now` is
 * the interposer's end timestamp (no third rdtsc). */
static inline __attribute__((always_inline)) void note_alloc(struct cgs_tstate *t, void *p, size_t size,
								uint64_t now)
{
	struct cgs_region *r = cgs_R;
	int saved = errno;
	void *raw[CGS_STACK_DEPTH_MAX + 2];
	int depth = r->opts.stack_depth;
	cgs_t_guard++;
	uint32_t stack = 0;
	int got = cgs_backtrace(raw, depth + 1, r->opts.unwind);
	if (got)
		stack = cgs_stack_finish(raw, got, depth);
	if (!cgs_leak_add(r->leaks, (uint64_t)(uintptr_t)p, size, stack, cgs_now_q(now)))
		cgs_count(&r->counters.untracked_allocs);
	cgs_heaptot_alloc(t, (uint64_t)(uintptr_t)p, size, stack);
	cgs_t_guard--;
	errno = saved;
}

void cgs_heap_note_alloc(struct cgs_tstate *t, void *p, size_t size)
{
	note_alloc(t, p, size, cgs_rdtsc());
}

static inline void note_free(struct cgs_tstate *t, void *p)
{
	struct cgs_lrec rec;
	if (!cgs_leak_take(cgs_R->leaks, (uint64_t)(uintptr_t)p, &rec))
		cgs_count(&cgs_R->counters.unknown_frees);
	else
		cgs_heaptot_free(t, (uint64_t)(uintptr_t)p, &rec);
}

static inline __attribute__((always_inline)) void done_alloc(int fn, void *p, size_t size, uint64_t t0,
							      bool failed)
{
	uint64_t t1 = cgs_rdtsc();
	uint64_t ticks = t1 - t0;
	struct cgs_tstate *t = cgs_self();
	if (CGS_UNLIKELY(!t))
		return;
	cgs_record(t, fn, ticks, failed);
	if (p && cgs_R->opts.leaks)
		note_alloc(t, p, size, t1);
	if (cgs_slow(ticks))
		cgs_event_heap(t, fn, t0, ticks, size, p, failed);
}

CGS_EXPORT void *malloc(size_t n)
{
	if (!cgs_on() && !cgs_boot()) {
		if (pool_time())
			return pool_get(n, 16, false);
		return cgs_real.malloc(n);
	}
	uint64_t t0 = cgs_rdtsc();
	void *p = cgs_real.malloc(n);
	done_alloc(CGS_FN_malloc, p, n, t0, !p);
	return p;
}

CGS_EXPORT void *calloc(size_t n, size_t m)
{
	if (!cgs_on() && !cgs_boot()) {
		if (pool_time()) {
			size_t total;
			if (__builtin_mul_overflow(n, m, &total)) {
				errno = ENOMEM;
				return NULL;
			}
			return pool_get(total, 16, true);
		}
		return cgs_real.calloc(n, m);
	}
	uint64_t t0 = cgs_rdtsc();
	void *p = cgs_real.calloc(n, m);
	done_alloc(CGS_FN_calloc, p, n * m, t0, !p);
	return p;
}

CGS_EXPORT void free(void *p)
{
	if (CGS_UNLIKELY(cgs_pool_owns(p)))
		return;
	if (!cgs_on() && !cgs_boot()) {
		if (p && !cgs_real.free)
			return; /* cannot happen: only pool blocks exist before resolution */
		cgs_real.free(p);
		return;
	}
	if (!p) {
		uint64_t t0 = cgs_rdtsc();
		cgs_real.free(p);
		struct cgs_tstate *t = cgs_self();
		if (t)
			cgs_record(t, CGS_FN_free, cgs_rdtsc() - t0, false);
		return;
	}
	int saved = errno;
	struct cgs_tstate *t = cgs_self(); /* once: the heap totals and the record */
	uint64_t t0 = cgs_rdtsc();
	if (cgs_R->opts.leaks) {
		cgs_t_guard++;
		note_free(t, p);
		cgs_t_guard--;
	}
	cgs_real.free(p);
	uint64_t ticks = cgs_rdtsc() - t0;
	if (t)
		cgs_record(t, CGS_FN_free, ticks, false);
	if (cgs_slow(ticks))
		cgs_event_heap(t, CGS_FN_free, t0, ticks, 0, NULL, false);
	errno = saved;
}

/* realloc and reallocarray share this: old record out first, back in after. */
static void *realloc_common(int fn, void *p, size_t n, void *(*call)(void *, size_t, size_t), size_t a,
			    size_t b)
{
	struct cgs_lrec rec;
	bool had = false;
	bool leaks = cgs_R->opts.leaks;
	uint64_t t0 = cgs_rdtsc();
	if (p && leaks) {
		cgs_t_guard++;
		had = cgs_leak_take(cgs_R->leaks, (uint64_t)(uintptr_t)p, &rec);
		if (!had)
			cgs_count(&cgs_R->counters.unknown_frees);
		cgs_t_guard--;
	}
	void *q = call(p, a, b);
	int saved = errno;
	uint64_t ticks = cgs_rdtsc() - t0;
	struct cgs_tstate *t = cgs_self();
	if (t)
		cgs_record(t, fn, ticks, !q && n);
	if (cgs_slow(ticks))
		cgs_event_heap(t, fn, t0, ticks, n, q, !q && n);
	if (leaks) {
		cgs_t_guard++;
		if (q && had) {
			/* counted as a free and an allocation (valgrind's way),
			 * the new block keeping the first allocation's site */
			cgs_heaptot_free(t, (uint64_t)(uintptr_t)p, &rec);
			cgs_heaptot_alloc(t, (uint64_t)(uintptr_t)q, n, cgs_lrec_stack(&rec));
			cgs_lrec_set_ptr(&rec, (uint64_t)(uintptr_t)q);
			cgs_lrec_set_size(&rec, n);
			if (!cgs_lrec_storable((uint64_t)(uintptr_t)q) || !cgs_leak_put(cgs_R->leaks, &rec))
				cgs_count(&cgs_R->counters.untracked_allocs);
		} else if (!q && had && n) {
			cgs_leak_put(cgs_R->leaks, &rec); /* failed: the old block lives on */
		} else if (!q && had) {
			cgs_heaptot_free(t, (uint64_t)(uintptr_t)p, &rec); /* realloc(p, 0) freed it */
		}
		cgs_t_guard--;
		if (q && !had && t)
			cgs_heap_note_alloc(t, q, n);
	}
	errno = saved;
	return q;
}

static void *call_realloc(void *p, size_t n, size_t unused)
{
	return cgs_real.realloc(p, n);
}

static void *call_reallocarray(void *p, size_t n, size_t m)
{
	/* glibc's reallocarray calls realloc through the PLT, that is the
	 * shim's realloc: let that inner call pass through. */
	cgs_t_guard++;
	void *q = cgs_real.reallocarray(p, n, m);
	cgs_t_guard--;
	return q;
}

static void *pool_realloc(void *p, size_t n)
{
	size_t old = cgs_pool_size(p);
	void *q = malloc(n);
	if (q)
		memcpy(q, p, old < n ? old : n);
	return q;
}

CGS_EXPORT void *realloc(void *p, size_t n)
{
	if (CGS_UNLIKELY(cgs_pool_owns(p)))
		return pool_realloc(p, n);
	if (!cgs_on() && !cgs_boot()) {
		if (pool_time())
			return pool_get(n, 16, false);
		return cgs_real.realloc(p, n);
	}
	return realloc_common(CGS_FN_realloc, p, n, call_realloc, n, 0);
}

CGS_EXPORT void *reallocarray(void *p, size_t n, size_t m)
{
	size_t total;
	if (CGS_UNLIKELY(cgs_pool_owns(p))) {
		if (__builtin_mul_overflow(n, m, &total)) {
			errno = ENOMEM;
			return NULL;
		}
		return pool_realloc(p, total);
	}
	if (!cgs_on() && !cgs_boot())
		return cgs_real.reallocarray(p, n, m);
	if (__builtin_mul_overflow(n, m, &total))
		total = 0; /* the real call fails with ENOMEM and keeps p */
	return realloc_common(CGS_FN_reallocarray, p, total ? total : (n && m ? 1 : 0), call_reallocarray, n, m);
}

CGS_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	if (!cgs_on() && !cgs_boot()) {
		if (pool_time()) {
			*out = pool_get(n, align, false);
			return *out ? 0 : ENOMEM;
		}
		return cgs_real.posix_memalign(out, align, n);
	}
	uint64_t t0 = cgs_rdtsc();
	int rc = cgs_real.posix_memalign(out, align, n);
	done_alloc(CGS_FN_posix_memalign, rc == 0 ? *out : NULL, n, t0, rc != 0);
	return rc;
}

#define ALIGNED_LIKE(name, params, args, size, align)                              \
	CGS_EXPORT void *name params                                              \
	{                                                                         \
		if (!cgs_on() && !cgs_boot()) {                                   \
			if (pool_time())                                          \
				return pool_get(size, align, false);              \
			return cgs_real.name args;                                \
		}                                                                 \
		uint64_t t0 = cgs_rdtsc();                                        \
		void *p = cgs_real.name args;                                     \
		done_alloc(CGS_FN_##name, p, size, t0, !p);                       \
		return p;                                                         \
	}

ALIGNED_LIKE(aligned_alloc, (size_t align, size_t n), (align, n), n, align)
ALIGNED_LIKE(memalign, (size_t align, size_t n), (align, n), n, align)
ALIGNED_LIKE(valloc, (size_t n), (n), n, 4096)

static size_t page_round(size_t n)
{
	size_t pg = 4096;
	return n ? (n + pg - 1) & ~(pg - 1) : pg;
}

ALIGNED_LIKE(pvalloc, (size_t n), (n), page_round(n), 4096)

CGS_EXPORT size_t malloc_usable_size(void *p)
{
	if (CGS_UNLIKELY(cgs_pool_owns(p)))
		return cgs_pool_size(p);
	if (!cgs_on() && !cgs_boot())
		return cgs_real.malloc_usable_size(p);
	uint64_t t0 = cgs_rdtsc();
	size_t n = cgs_real.malloc_usable_size(p);
	struct cgs_tstate *t = cgs_self();
	if (t)
		cgs_record(t, CGS_FN_malloc_usable_size, cgs_rdtsc() - t0, false);
	return n;
}
