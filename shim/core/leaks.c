/* leaks.c - the table of live allocations; see leaks.h. */
#include <errno.h>
#include <string.h>

#include "leaks.h"
#include "region.h"

#define INITIAL_CAP 512u

int cgs_leaks_init(struct cgs_region *r)
{
	r->leaks = cgs_ralloc(r, sizeof(struct cgs_leaks));
	return r->leaks ? 0 : -ENOMEM;
}

static inline uint64_t mix(uint64_t ptr)
{
	return (ptr >> 4) * 0x9E3779B97F4A7C15ULL;
}

static inline struct cgs_lshard *shard_of(struct cgs_leaks *l, uint64_t h)
{
	return &l->shard[h >> 56];
}

static inline uint64_t home(uint64_t h, uint64_t cap)
{
	return (h >> 16) & (cap - 1);
}

static inline void write_begin(struct cgs_lshard *s)
{
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static inline void write_end(struct cgs_lshard *s)
{
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELEASE);
}

static void insert_slot(struct cgs_lrec *slots, uint64_t cap, const struct cgs_lrec *rec)
{
	for (uint64_t i = home(mix(cgs_lrec_ptr(rec)), cap);; i = (i + 1) & (cap - 1))
		if (!cgs_lrec_key(&slots[i])) {
			slots[i] = *rec;
			return;
		}
}

/* Called with the shard locked and inside write_begin/write_end. */
static bool grow(struct cgs_lshard *s)
{
	struct cgs_region *r = cgs_R;
	uint64_t cap = s->cap ? s->cap * 2 : INITIAL_CAP;
	struct cgs_lrec *fresh = cgs_ralloc(r, cap * sizeof(*fresh));
	if (!fresh)
		return false;
	for (uint64_t i = 0; i < s->cap; i++)
		if (cgs_lrec_key(&s->slots[i]))
			insert_slot(fresh, cap, &s->slots[i]);
	struct cgs_lrec *old = s->slots;
	uint64_t old_cap = s->cap;
	__atomic_store_n(&s->slots, fresh, __ATOMIC_RELEASE);
	__atomic_store_n(&s->cap, cap, __ATOMIC_RELEASE);
	if (old)
		cgs_rfree(r, old, old_cap * sizeof(*old));
	return true;
}

static bool put_locked(struct cgs_lshard *s, const struct cgs_lrec *rec)
{
	if ((s->count + 1) * 5 > s->cap * 4 && !grow(s))
		return false;
	uint64_t cap = s->cap;
	uint64_t size = cgs_lrec_size(rec);
	uint64_t k = cgs_lrec_key(rec);
	for (uint64_t i = home(mix(cgs_lrec_ptr(rec)), cap);; i = (i + 1) & (cap - 1)) {
		struct cgs_lrec *slot = &s->slots[i];
		if (cgs_lrec_key(slot) == k) {
			/* A free the shim did not see: replace the stale record. */
			s->bytes -= cgs_lrec_size(slot);
			s->bytes += size;
			*slot = *rec;
			return true;
		}
		if (!cgs_lrec_key(slot)) {
			*slot = *rec;
			s->count++;
			s->bytes += size;
			return true;
		}
	}
}

bool cgs_leak_put(struct cgs_leaks *l, const struct cgs_lrec *rec)
{
	struct cgs_lshard *s = shard_of(l, mix(cgs_lrec_ptr(rec)));
	cgs_spin_lock(&s->lock);
	write_begin(s);
	bool ok = put_locked(s, rec);
	write_end(s);
	cgs_spin_unlock(&s->lock);
	return ok;
}

bool cgs_leak_add(struct cgs_leaks *l, uint64_t ptr, uint64_t size, uint32_t stack, uint32_t t_q)
{
	if (!cgs_lrec_storable(ptr))
		return false;
	struct cgs_lrec rec = cgs_lrec_make(ptr, size, stack, t_q);
	return cgs_leak_put(l, &rec);
}

bool cgs_leak_take(struct cgs_leaks *l, uint64_t ptr, struct cgs_lrec *out)
{
	if (!cgs_lrec_storable(ptr))
		return false;
	uint64_t h = mix(ptr);
	struct cgs_lshard *s = shard_of(l, h);
	bool found = false;
	cgs_spin_lock(&s->lock);
	uint64_t cap = s->cap;
	if (!cap)
		goto out;
	uint64_t i = home(h, cap);
	for (;; i = (i + 1) & (cap - 1)) {
		if (!cgs_lrec_key(&s->slots[i]))
			goto out;
		if (cgs_lrec_key(&s->slots[i]) == ptr >> 3)
			break;
	}
	found = true;
	write_begin(s);
	*out = s->slots[i];
	s->count--;
	s->bytes -= cgs_lrec_size(out);
	/* Backward-shift deletion: no tombstones, probes stay short. */
	for (uint64_t j = (i + 1) & (cap - 1); cgs_lrec_key(&s->slots[j]); j = (j + 1) & (cap - 1)) {
		uint64_t k = home(mix(cgs_lrec_ptr(&s->slots[j])), cap);
		bool movable = (j > i) ? (k <= i || k > j) : (k <= i && k > j);
		if (movable) {
			s->slots[i] = s->slots[j];
			i = j;
		}
	}
	s->slots[i].a = 0;
	s->slots[i].b = 0;
	write_end(s);
out:
	cgs_spin_unlock(&s->lock);
	return found;
}

void cgs_leaks_lock_all(struct cgs_leaks *l)
{
	for (int i = 0; i < CGS_LEAK_SHARDS; i++)
		cgs_spin_lock(&l->shard[i].lock);
}

void cgs_leaks_unlock_all(struct cgs_leaks *l)
{
	for (int i = 0; i < CGS_LEAK_SHARDS; i++)
		cgs_spin_unlock(&l->shard[i].lock);
}
