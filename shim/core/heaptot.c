/* heaptot.c - heap totals: allocations, frees and bytes over the whole run,
 * per thread (written without atomics, in the thread's own block) and per
 * allocation site (relaxed atomic adds on counters that belong to the site,
 * so threads share a line only when they allocate from the same place).
 * The peak of live bytes is sampled by the watcher (watcher/heappeak.c).
 * See leaks.h and tstate.h. */
#include "leaks.h"
#include "region.h"
#include "tstate.h"

static struct cgs_sitetot *site(struct cgs_region *r, uint32_t stack, bool make)
{
	struct cgs_stacks *s = r->stacks;
	uint32_t page = stack / CGS_SITETOT_PAGE;
	if (!s || !stack || page >= CGS_SITETOT_PAGES)
		return NULL;
	struct cgs_sitetot *p = __atomic_load_n(&s->tot[page], __ATOMIC_ACQUIRE);
	if (!p && make) {
		struct cgs_sitetot *fresh = cgs_ralloc(r, CGS_SITETOT_PAGE * sizeof(*fresh));
		if (!fresh)
			return NULL;
		if (__atomic_compare_exchange_n(&s->tot[page], &p, fresh, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			p = fresh;
		else
			cgs_rfree(r, fresh, CGS_SITETOT_PAGE * sizeof(*fresh));
	}
	return p ? &p[stack % CGS_SITETOT_PAGE] : NULL;
}

static void add(uint64_t *c, uint64_t v, bool shared)
{
	if (shared)
		__atomic_add_fetch(c, v, __ATOMIC_RELAXED);
	else
		*c += v;
}

void cgs_heaptot_alloc(struct cgs_tstate *t, uint64_t p, uint64_t size, uint32_t stack)
{
	struct cgs_region *r = cgs_R;
	if (t) {
		bool shared = t == r->orphan;
		add(&t->heap.allocs, 1, shared);
		add(&t->heap.bytes, size, shared);
		if (!shared)
			t->heap.last = p;
	}
	struct cgs_sitetot *st = site(r, stack, true);
	if (st) {
		__atomic_add_fetch(&st->allocs, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&st->bytes, size, __ATOMIC_RELAXED);
	}
}

void cgs_heaptot_free(struct cgs_tstate *t, uint64_t p, const struct cgs_lrec *rec)
{
	if (!t)
		return;
	bool shared = t == cgs_R->orphan;
	add(&t->heap.frees, 1, shared);
	add(&t->heap.bytes_freed, cgs_lrec_size(rec), shared);
	if (!shared && p && p == t->heap.last) {
		/* freed by its own thread before that thread allocated again */
		t->heap.temps++;
		t->heap.last = 0;
		struct cgs_sitetot *st = site(cgs_R, cgs_lrec_stack(rec), false);
		if (st)
			__atomic_add_fetch(&st->temps, 1, __ATOMIC_RELAXED);
	}
}

const struct cgs_sitetot *cgs_sitetot_get(const struct cgs_region *r, uint32_t stack)
{
	const struct cgs_stacks *s = r->stacks;
	uint32_t page = stack / CGS_SITETOT_PAGE;
	if (!s || !stack || page >= CGS_SITETOT_PAGES || !cgs_region_contains(r, s, sizeof(*s)))
		return NULL;
	const struct cgs_sitetot *p = s->tot[page];
	if (!p || !cgs_region_contains(r, p, CGS_SITETOT_PAGE * sizeof(*p)))
		return NULL;
	return &p[stack % CGS_SITETOT_PAGE];
}

void cgs_heaptot_after_fork(struct cgs_region *r)
{
	struct cgs_stacks *s = r->stacks;
	for (uint32_t i = 0; s && i < CGS_SITETOT_PAGES; i++)
		if (s->tot[i])
			__builtin_memset(s->tot[i], 0, CGS_SITETOT_PAGE * sizeof(struct cgs_sitetot));
}
