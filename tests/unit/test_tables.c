/* test_tables.c - unit tests of the shared region's allocator and the tables
 * that live in it (region.c, leaks.c, stacks.c, files.c), suite "tables".
 *
 * A leak report is only as good as these tables: a lost record is a false
 * leak or a missed one, a wrong stack id blames the wrong code, a wrong fd
 * mapping puts I/O time on the wrong file. Each table is checked against a
 * simple reference model:
 *   region  cgs_ralloc gives zeroed, aligned, disjoint memory; a freed
 *           chunk is reused (and zeroed again); a full region gives NULL and
 *           counts region_oom; two threads allocating get disjoint chunks.
 *   leaks   1,000,000 random pointers added and taken in random order
 *           against a model (record contents, count and bytes summed over
 *           the shards, unknown pointers, put-back, re-add); two threads on
 *           disjoint pointers keep the totals exact.
 *   stacks  interning is idempotent, distinct stacks get distinct dense ids,
 *           100,000 stacks all come back intact from cgs_stack_get, a new
 *           unload generation gives a new id, a full region counts
 *           stack_overflow and keeps what it has.
 *   files   interning is idempotent; past CGS_FILES_MAX labels map to id 0
 *           and are counted as dropped; the fd map follows set, dup and
 *           clear, and resolves unknown descriptors by their /proc name.
 *
 * Each test makes its own region with cgs_region_create and points cgs_R at
 * it (the tables allocate through cgs_R). Because this binary links the
 * interposers (malloc, close, ...), a non-NULL cgs_R would make them record
 * the test's own calls into the tables under test; every thread of this
 * test therefore sets the shim's re-entry guard first, so they pass every
 * call straight through. CGOSHIM_DISABLE=1 keeps the shim's constructor
 * from starting a real region in this process. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "leaks.h"
#include "shim.h"

#define MiB (1ULL << 20)

/* ---- helpers ---- */

/* check reports every passing ck_assert to its parent process (a write(2)
 * each); loops of millions use EXPECT, which calls into check only when the
 * condition fails. */
#define EXPECT(cond, ...)                         \
	do {                                      \
		if (!(cond))                      \
			ck_abort_msg(__VA_ARGS__); \
	} while (0)

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	/* splitmix64 */
	uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Every thread that runs while cgs_R is set calls this first. */
static void guard_this_thread(void)
{
	cgs_t_guard = 1;
}

static struct cgs_region *region_new(uint64_t memory)
{
	guard_this_thread();
	struct cgs_options o;
	cgs_options_parse(&o, NULL, true);
	o.memory = memory;
	struct cgs_region *r = cgs_region_create(&o);
	ck_assert_msg(r != NULL, "cannot map a region of %llu bytes", (unsigned long long)memory);
	ck_assert_uint_eq(r->size, memory);
	ck_assert_uint_eq(r->magic, CGS_REGION_MAGIC);
	cgs_R = r;
	return r;
}

static void region_drop(struct cgs_region *r)
{
	cgs_R = NULL;
	munmap(r, r->size);
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		if (c[i])
			return false;
	return true;
}

static uint64_t pow2_at_least(uint64_t n)
{
	uint64_t c = 64;
	while (c < n)
		c <<= 1;
	return c;
}

/* ---- region allocator ---- */

START_TEST(ralloc_zeroed_aligned_disjoint)
{
	struct cgs_region *r = region_new(256 * MiB);
	static const size_t sizes[] = { 1, 7, 63, 64, 65, 100, 1000, 4095, 4096, 4097, 5000, 65535,
					65536, 65537, 1 << 20, 3 << 20, 48, 200, 8192 };
	void *p[CGS_ARRAY_LEN(sizes)];
	uint64_t before = cgs_region_used(r);
	for (size_t i = 0; i < CGS_ARRAY_LEN(sizes); i++) {
		p[i] = cgs_ralloc(r, sizes[i]);
		ck_assert_msg(p[i] != NULL, "ralloc(%zu) failed", sizes[i]);
		ck_assert_msg(((uintptr_t)p[i] & 63) == 0, "ralloc(%zu) = %p: not 64-aligned", sizes[i], p[i]);
		if (pow2_at_least(sizes[i]) >= 4096)
			ck_assert_msg(((uintptr_t)p[i] & 4095) == 0, "ralloc(%zu) = %p: not page-aligned",
				      sizes[i], p[i]);
		ck_assert(cgs_region_contains(r, p[i], pow2_at_least(sizes[i])));
		ck_assert_msg(all_zero(p[i], sizes[i]), "ralloc(%zu) not zeroed", sizes[i]);
		/* Outside the header. */
		ck_assert_uint_ge((uintptr_t)p[i], (uintptr_t)r + sizeof(*r));
		memset(p[i], (int)(i + 1), sizes[i]);
	}
	/* Nothing written to one chunk landed in another. */
	for (size_t i = 0; i < CGS_ARRAY_LEN(sizes); i++) {
		const unsigned char *c = p[i];
		for (size_t k = 0; k < sizes[i]; k++)
			EXPECT(c[k] == (unsigned char)(i + 1), "chunk %zu overwritten at %zu", i, k);
	}
	ck_assert_uint_gt(cgs_region_used(r), before);
	ck_assert_uint_le(cgs_region_used(r), r->size);
	ck_assert_uint_eq(r->counters.region_oom, 0);
	region_drop(r);
}
END_TEST

START_TEST(rfree_then_ralloc_reuses_and_zeroes)
{
	struct cgs_region *r = region_new(256 * MiB);
	static const size_t sizes[] = { 64, 1000, 4096, 1 << 16, 1 << 20, 5 << 20 };
	for (size_t i = 0; i < CGS_ARRAY_LEN(sizes); i++) {
		size_t n = sizes[i];
		void *keep = cgs_ralloc(r, n); /* so the freed chunk is not at the top */
		void *p = cgs_ralloc(r, n);
		void *after = cgs_ralloc(r, 64);
		ck_assert_ptr_nonnull(keep);
		ck_assert_ptr_nonnull(p);
		ck_assert_ptr_nonnull(after);
		memset(p, 0xa5, n);
		cgs_rfree(r, p, n);
		uint64_t used = cgs_region_used(r);
		void *q = cgs_ralloc(r, n);
		ck_assert_msg(q == p, "ralloc(%zu) after rfree gave %p, not the freed %p", n, q, p);
		ck_assert_uint_eq(cgs_region_used(r), used);
		ck_assert_msg(all_zero(q, n), "reused chunk of %zu bytes not zeroed", n);
		/* The same size class, asked for with another size. */
		memset(q, 0x5a, n);
		cgs_rfree(r, q, n);
		size_t other = pow2_at_least(n) / 2 + 1;
		void *q2 = cgs_ralloc(r, other);
		ck_assert_msg(q2 == p, "ralloc(%zu) did not reuse the freed chunk of class %zu", other, n);
		ck_assert(all_zero(q2, n));
		ck_assert(all_zero(keep, n));
	}
	cgs_rfree(r, NULL, 100); /* no-op */
	ck_assert_uint_eq(r->counters.region_oom, 0);
	region_drop(r);
}
END_TEST

START_TEST(full_region_returns_null_and_counts)
{
	struct cgs_region *r = region_new(64 * MiB);
	void *chunks[128];
	size_t n = 0;
	for (;;) {
		ck_assert_uint_lt(n, CGS_ARRAY_LEN(chunks));
		void *p = cgs_ralloc(r, MiB);
		if (!p)
			break;
		ck_assert(cgs_region_contains(r, p, MiB));
		chunks[n++] = p;
	}
	/* 64 MiB less the header holds at least 62 chunks of 1 MiB. */
	ck_assert_uint_ge(n, 62);
	ck_assert_uint_eq(r->counters.region_oom, 1);
	ck_assert_ptr_null(cgs_ralloc(r, MiB));
	ck_assert_ptr_null(cgs_ralloc(r, 32 * MiB));
	ck_assert_ptr_null(cgs_ralloc(r, (size_t)1 << 40));
	ck_assert_uint_eq(r->counters.region_oom, 4);
	ck_assert_ptr_null(cgs_ralloc(r, SIZE_MAX));
	ck_assert_ptr_null(cgs_ralloc(r, ((size_t)1 << 62) + 1));

	/* Small chunks fill what is left, then fail too. */
	size_t small = 0;
	for (;;) {
		void *p = cgs_ralloc(r, 4096);
		if (!p)
			break;
		ck_assert(cgs_region_contains(r, p, 4096));
		small++;
		ck_assert_uint_lt(small, MiB / 4096 + 1);
	}
	while (cgs_ralloc(r, 64))
		small++;
	ck_assert_ptr_null(cgs_ralloc(r, 64));
	/* Filled up to the last byte, and not beyond. */
	ck_assert_uint_eq(cgs_region_used(r), r->size);

	/* Giving one back makes room again. */
	memset(chunks[10], 1, MiB);
	cgs_rfree(r, chunks[10], MiB);
	void *p = cgs_ralloc(r, MiB);
	ck_assert_ptr_eq(p, chunks[10]);
	ck_assert(all_zero(p, MiB));
	region_drop(r);
}
END_TEST

#define RALLOC_PER_THREAD 20000

struct ralloc_arg {
	struct cgs_region *r;
	void **out;
	unsigned id;
};

static void *ralloc_thread(void *arg)
{
	struct ralloc_arg *a = arg;
	guard_this_thread();
	for (unsigned i = 0; i < RALLOC_PER_THREAD; i++) {
		size_t n = 64u << (i % 5);
		void *p = cgs_ralloc(a->r, n);
		if (!p)
			return NULL;
		memset(p, (int)(a->id + 1), n);
		a->out[i] = p;
		if (i % 3 == 2) { /* give some back: the free lists are shared too */
			cgs_rfree(a->r, a->out[i - 1], 64u << ((i - 1) % 5));
			a->out[i - 1] = NULL;
		}
	}
	return a;
}

START_TEST(ralloc_from_two_threads_is_disjoint)
{
	struct cgs_region *r = region_new(256 * MiB);
	void **out[2];
	struct ralloc_arg args[2];
	pthread_t t[2];
	for (unsigned i = 0; i < 2; i++) {
		out[i] = calloc(RALLOC_PER_THREAD, sizeof(void *));
		ck_assert_ptr_nonnull(out[i]);
		args[i] = (struct ralloc_arg){ r, out[i], i };
		ck_assert_int_eq(pthread_create(&t[i], NULL, ralloc_thread, &args[i]), 0);
	}
	for (unsigned i = 0; i < 2; i++) {
		void *ret;
		pthread_join(t[i], &ret);
		ck_assert_msg(ret != NULL, "thread %u ran out of region memory", i);
	}
	/* Each live chunk still holds its own thread's bytes. */
	for (unsigned i = 0; i < 2; i++)
		for (unsigned k = 0; k < RALLOC_PER_THREAD; k++) {
			const unsigned char *c = out[i][k];
			if (!c)
				continue;
			size_t n = 64u << (k % 5);
			for (size_t b = 0; b < n; b += 16)
				EXPECT(c[b] == i + 1, "thread %u's chunk %u overwritten by the other thread",
					      i, k);
		}
	free(out[0]);
	free(out[1]);
	region_drop(r);
}
END_TEST

/* ---- leak table ---- */

struct model {
	size_t n;
	uint64_t *ptr;
	uint64_t *size;
	uint32_t *stack;
	uint32_t *t_q;
	bool *live;
	uint64_t count, bytes;
};

#define SIZE_MASK ((1ULL << CGS_LEAK_SIZE_BITS) - 1)

/* Distinct pointers that look like malloc's: 16-aligned, spread over 47
 * bits; every other one is its neighbour + 8 (same hash, different key). */
static uint64_t nth_ptr(size_t i, uint64_t salt)
{
	uint64_t x = ((uint64_t)(i / 2) * 0x9E3779B97F4A7C15ULL + salt) & ((1ULL << 42) - 1);
	return 0x10000 + (x << 4) + (i & 1) * 8;
}

static void model_init(struct model *m, size_t n, uint64_t salt)
{
	memset(m, 0, sizeof(*m));
	m->n = n;
	m->ptr = calloc(n, sizeof(*m->ptr));
	m->size = calloc(n, sizeof(*m->size));
	m->stack = calloc(n, sizeof(*m->stack));
	m->t_q = calloc(n, sizeof(*m->t_q));
	m->live = calloc(n, sizeof(*m->live));
	ck_assert(m->ptr && m->size && m->stack && m->t_q && m->live);
	for (size_t i = 0; i < n; i++)
		m->ptr[i] = nth_ptr(i, salt);
}

static void model_free(struct model *m)
{
	free(m->ptr);
	free(m->size);
	free(m->stack);
	free(m->t_q);
	free(m->live);
}

static void model_add(struct cgs_leaks *l, struct model *m, size_t i, struct rng *g)
{
	uint64_t size = rnd(g) % 4096;
	if (rnd(g) % 1000 == 0)
		size = rnd(g) >> (rnd(g) % 40); /* up to 2^64: clamped to CGS_LEAK_SIZE_BITS */
	uint32_t stack = (uint32_t)(rnd(g) % CGS_STACK_IDS);
	uint32_t t_q = (uint32_t)rnd(g) & CGS_TIME_MASK;
	EXPECT(cgs_leak_add(l, m->ptr[i], size, stack, t_q), "add of pointer %zu failed", i);
	if (size > SIZE_MASK)
		size = SIZE_MASK;
	m->size[i] = size;
	m->stack[i] = stack;
	m->t_q[i] = t_q;
	m->live[i] = true;
	m->count++;
	m->bytes += size;
}

static void check_rec(const struct model *m, size_t i, const struct cgs_lrec *rec)
{
	EXPECT(cgs_lrec_ptr(rec) == m->ptr[i], "took record of %#llx for %#llx",
	       (unsigned long long)cgs_lrec_ptr(rec), (unsigned long long)m->ptr[i]);
	EXPECT(cgs_lrec_size(rec) == m->size[i], "pointer %zu: size %llu, want %llu", i,
	       (unsigned long long)cgs_lrec_size(rec), (unsigned long long)m->size[i]);
	EXPECT(cgs_lrec_stack(rec) == m->stack[i], "pointer %zu: stack %u, want %u", i, cgs_lrec_stack(rec),
	       m->stack[i]);
	EXPECT(cgs_lrec_time(rec) == m->t_q[i], "pointer %zu: time %u, want %u", i, cgs_lrec_time(rec),
	       m->t_q[i]);
}

static void model_take(struct cgs_leaks *l, struct model *m, size_t i)
{
	struct cgs_lrec rec;
	EXPECT(cgs_leak_take(l, m->ptr[i], &rec), "live pointer %zu (%#llx) not found", i,
	       (unsigned long long)m->ptr[i]);
	check_rec(m, i, &rec);
	m->live[i] = false;
	m->count--;
	m->bytes -= m->size[i];
}

static void totals(struct cgs_leaks *l, uint64_t *count, uint64_t *bytes)
{
	*count = *bytes = 0;
	for (int s = 0; s < CGS_LEAK_SHARDS; s++) {
		const struct cgs_lshard *sh = &l->shard[s];
		EXPECT((sh->seq & 1) == 0, "shard %d left mid-write (seq %u)", s, sh->seq);
		EXPECT(sh->count <= sh->cap, "shard %d: count %llu > cap %llu", s,
			      (unsigned long long)sh->count, (unsigned long long)sh->cap);
		/* The shard's own count and bytes match its slots. */
		uint64_t c = 0, b = 0;
		for (uint64_t k = 0; k < sh->cap; k++)
			if (sh->slots[k].a) {
				c++;
				b += cgs_lrec_size(&sh->slots[k]);
			}
		EXPECT(c == sh->count && b == sh->bytes,
			      "shard %d says %llu records / %llu bytes, its slots hold %llu / %llu", s,
			      (unsigned long long)sh->count, (unsigned long long)sh->bytes,
			      (unsigned long long)c, (unsigned long long)b);
		*count += sh->count;
		*bytes += sh->bytes;
	}
}

static void check_totals(struct cgs_leaks *l, uint64_t count, uint64_t bytes, const char *when)
{
	uint64_t c, b;
	totals(l, &c, &b);
	ck_assert_msg(c == count, "%s: table holds %llu records, model %llu", when, (unsigned long long)c,
		      (unsigned long long)count);
	ck_assert_msg(b == bytes, "%s: table holds %llu bytes, model %llu", when, (unsigned long long)b,
		      (unsigned long long)bytes);
}

static struct cgs_leaks *leaks_new(struct cgs_region *r)
{
	ck_assert_int_eq(cgs_leaks_init(r), 0);
	ck_assert_ptr_nonnull(r->leaks);
	return r->leaks;
}

#define LEAK_N 1000000

START_TEST(leak_table_matches_model)
{
	struct cgs_region *r = region_new(256 * MiB);
	struct cgs_leaks *l = leaks_new(r);
	struct model m;
	struct rng g = { 0xC0FFEE };
	struct cgs_lrec rec;
	model_init(&m, LEAK_N, 0x5eed);

	/* Nothing there yet: every take fails. */
	for (size_t i = 0; i < 1000; i++)
		EXPECT(!cgs_leak_take(l, m.ptr[i], &rec), "pointer %zu found in an empty table", i);
	check_totals(l, 0, 0, "empty");

	/* Add all, in random order. */
	size_t *order = malloc(LEAK_N * sizeof(*order));
	ck_assert_ptr_nonnull(order);
	for (size_t i = 0; i < LEAK_N; i++)
		order[i] = i;
	for (size_t i = LEAK_N - 1; i > 0; i--) {
		size_t j = rnd(&g) % (i + 1), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (size_t i = 0; i < LEAK_N; i++)
		model_add(l, &m, order[i], &g);
	check_totals(l, m.count, m.bytes, "after 1,000,000 adds");
	ck_assert_uint_eq(m.count, LEAK_N);

	/* Pointers never added: not found, and nothing changes. */
	struct model other;
	model_init(&other, 2000, 0xdead0000);
	for (size_t i = 0; i < other.n; i++)
		EXPECT(!cgs_leak_take(l, other.ptr[i] + 0x800000000000ULL, &rec),
			      "unknown pointer %#llx found", (unsigned long long)other.ptr[i]);
	model_free(&other);
	check_totals(l, m.count, m.bytes, "after takes of unknown pointers");

	/* Random mix: take a live one (sometimes put it back), add a dead one,
	 * take a dead one (fails). */
	for (size_t op = 0; op < 3 * LEAK_N; op++) {
		size_t i = rnd(&g) % LEAK_N;
		if (m.live[i]) {
			if (rnd(&g) % 8 == 0) {
				EXPECT(cgs_leak_take(l, m.ptr[i], &rec), "live pointer %zu not found", i);
				check_rec(&m, i, &rec);
				EXPECT(!cgs_leak_take(l, m.ptr[i], &rec), "pointer %zu found after its take", i);
				/* a failed realloc puts it back */
				EXPECT(cgs_leak_put(l, &rec), "put-back of pointer %zu failed", i);
			} else {
				model_take(l, &m, i);
			}
		} else if (rnd(&g) % 4 == 0) {
			EXPECT(!cgs_leak_take(l, m.ptr[i], &rec), "freed pointer %zu still found", i);
		} else {
			model_add(l, &m, i, &g);
		}
		if (op % 500000 == 0)
			check_totals(l, m.count, m.bytes, "during random operations");
	}
	check_totals(l, m.count, m.bytes, "after random operations");

	/* Adding a pointer that is already there (a free the shim did not see)
	 * replaces its record: one record, the new size. */
	size_t i0 = 0;
	while (!m.live[i0])
		i0++;
	ck_assert(cgs_leak_add(l, m.ptr[i0], 12345, 7, 99));
	m.bytes = m.bytes - m.size[i0] + 12345;
	m.size[i0] = 12345;
	m.stack[i0] = 7;
	m.t_q[i0] = 99;
	check_totals(l, m.count, m.bytes, "after re-adding a live pointer");

	/* Every live record is there with its contents; then the table is empty. */
	for (size_t i = 0; i < LEAK_N; i++) {
		if (m.live[i])
			model_take(l, &m, i);
		else
			EXPECT(!cgs_leak_take(l, m.ptr[i], &rec), "freed pointer %zu still found", i);
	}
	ck_assert_uint_eq(m.count, 0);
	check_totals(l, 0, 0, "after taking everything");
	ck_assert_uint_eq(r->counters.region_oom, 0);
	free(order);
	model_free(&m);
	region_drop(r);
}
END_TEST

/* A table with no room to grow refuses the record and says so. */
START_TEST(leak_add_fails_when_region_is_full)
{
	struct cgs_region *r = region_new(64 * MiB);
	struct cgs_leaks *l = leaks_new(r);
	while (cgs_ralloc(r, MiB))
		;
	while (cgs_ralloc(r, 4096))
		;
	while (cgs_ralloc(r, 64))
		;
	struct model m;
	model_init(&m, 100, 77);
	size_t added = 0;
	for (size_t i = 0; i < m.n; i++)
		if (cgs_leak_add(l, m.ptr[i], 10, 1, 1))
			added++;
	ck_assert_uint_eq(added, 0);
	check_totals(l, 0, 0, "full region");
	model_free(&m);
	region_drop(r);
}
END_TEST

#define THREAD_N 300000
#define THREAD_OPS 1500000

struct leak_thread {
	struct cgs_leaks *l;
	struct model m;
	uint64_t seed;
	volatile int *go;
	const char *failure;
};

static void *leak_thread_main(void *arg)
{
	struct leak_thread *t = arg;
	struct rng g = { t->seed };
	struct cgs_lrec rec;
	guard_this_thread();
	while (!__atomic_load_n(t->go, __ATOMIC_ACQUIRE))
		;
	/* No check assertions here: they must run in the test's main thread. */
	for (size_t op = 0; op < THREAD_OPS; op++) {
		size_t i = rnd(&g) % t->m.n;
		if (t->m.live[i]) {
			if (!cgs_leak_take(t->l, t->m.ptr[i], &rec) || cgs_lrec_ptr(&rec) != t->m.ptr[i] ||
			    cgs_lrec_size(&rec) != t->m.size[i]) {
				t->failure = "a live pointer was missing or had a wrong record";
				return NULL;
			}
			t->m.live[i] = false;
			t->m.count--;
			t->m.bytes -= t->m.size[i];
		} else {
			uint64_t size = 1 + rnd(&g) % 100000;
			if (!cgs_leak_add(t->l, t->m.ptr[i], size, (uint32_t)i, 0)) {
				t->failure = "add failed";
				return NULL;
			}
			t->m.live[i] = true;
			t->m.size[i] = size;
			t->m.stack[i] = (uint32_t)i;
			t->m.count++;
			t->m.bytes += size;
		}
	}
	return NULL;
}

START_TEST(leak_table_two_threads_disjoint_pointers)
{
	struct cgs_region *r = region_new(256 * MiB);
	struct cgs_leaks *l = leaks_new(r);
	volatile int go = 0;
	struct leak_thread t[2];
	pthread_t th[2];
	for (int k = 0; k < 2; k++) {
		memset(&t[k], 0, sizeof(t[k]));
		t[k].l = l;
		t[k].seed = 1000 + (uint64_t)k;
		t[k].go = &go;
		/* Disjoint: thread 0 owns even 16-byte slots, thread 1 odd ones. */
		model_init(&t[k].m, THREAD_N, 0);
		for (size_t i = 0; i < THREAD_N; i++) {
			uint64_t x = ((uint64_t)i * 0x9E3779B97F4A7C15ULL) & ((1ULL << 41) - 1);
			t[k].m.ptr[i] = 0x10000 + (x << 5) + (uint64_t)k * 16;
		}
	}
	/* Make sure they really are disjoint. */
	for (size_t i = 0; i < THREAD_N; i += 97)
		ck_assert((t[0].m.ptr[i] / 16) % 2 == 0 && (t[1].m.ptr[i] / 16) % 2 == 1);
	for (int k = 0; k < 2; k++)
		ck_assert_int_eq(pthread_create(&th[k], NULL, leak_thread_main, &t[k]), 0);
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	for (int k = 0; k < 2; k++)
		pthread_join(th[k], NULL);
	for (int k = 0; k < 2; k++)
		ck_assert_msg(t[k].failure == NULL, "thread %d: %s", k, t[k].failure);
	check_totals(l, t[0].m.count + t[1].m.count, t[0].m.bytes + t[1].m.bytes, "after two threads");
	/* And each thread's records are all there. */
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < THREAD_N; i++)
			if (t[k].m.live[i])
				model_take(l, &t[k].m, i);
		model_free(&t[k].m);
	}
	check_totals(l, 0, 0, "after taking everything");
	region_drop(r);
}
END_TEST

/* ---- stack table ---- */

static struct cgs_stacks *stacks_new(struct cgs_region *r)
{
	ck_assert_int_eq(cgs_stacks_init(r), 0);
	ck_assert_ptr_nonnull(r->stacks);
	return r->stacks;
}

static void assert_stack(struct cgs_region *r, uint32_t id, const uint64_t *f, int n)
{
	const struct cgs_stack *st = cgs_stack_get(r, id);
	EXPECT(st != NULL, "stack %u not retrievable", id);
	EXPECT(st->depth == n, "stack %u: depth %u, want %d", id, st->depth, n);
	EXPECT(!memcmp(st->frames, f, (size_t)n * sizeof(*f)), "stack %u: frames differ", id);
}

START_TEST(stack_intern_same_and_different)
{
	struct cgs_region *r = region_new(256 * MiB);
	struct cgs_stacks *s = stacks_new(r);
	uint64_t a[] = { 0x401000, 0x401234, 0x7f0000001000 };
	uint64_t b[] = { 0x401000, 0x401234, 0x7f0000001008 };  /* last frame differs */
	uint64_t c[] = { 0x401234, 0x401000, 0x7f0000001000 };  /* same frames, other order */
	uint32_t ia = cgs_stack_intern(s, a, 3, 1);
	ck_assert_uint_eq(ia, 1); /* ids are dense from 1 */
	ck_assert_uint_eq(cgs_stack_intern(s, a, 3, 1), ia);
	ck_assert_uint_eq(cgs_stack_intern(s, a, 3, 5), ia); /* the epoch is not part of the key */
	uint32_t ib = cgs_stack_intern(s, b, 3, 1);
	uint32_t ic = cgs_stack_intern(s, c, 3, 1);
	uint32_t ia2 = cgs_stack_intern(s, a, 2, 1); /* a prefix */
	ck_assert_uint_eq(ib, 2);
	ck_assert_uint_eq(ic, 3);
	ck_assert_uint_eq(ia2, 4);
	ck_assert_uint_eq(cgs_stack_intern(s, b, 3, 1), ib);
	ck_assert_uint_eq(cgs_stack_intern(s, c, 3, 1), ic);
	ck_assert_uint_eq(cgs_stack_intern(s, a, 2, 1), ia2);
	assert_stack(r, ia, a, 3);
	assert_stack(r, ib, b, 3);
	assert_stack(r, ic, c, 3);
	assert_stack(r, ia2, a, 2);
	ck_assert_uint_eq(cgs_stack_get(r, ia)->epoch, 1);
	/* Ids that do not exist. */
	ck_assert_ptr_null(cgs_stack_get(r, 0));
	ck_assert_ptr_null(cgs_stack_get(r, 5));
	ck_assert_ptr_null(cgs_stack_get(r, CGS_STACK_IDS));
	ck_assert_ptr_null(cgs_stack_get(r, UINT32_MAX));
	region_drop(r);
}
END_TEST

#define STACK_N 100000

START_TEST(stack_table_100000_stacks)
{
	struct cgs_region *r = region_new(256 * MiB);
	struct cgs_stacks *s = stacks_new(r);
	struct rng g = { 99 };
	uint64_t (*frames)[CGS_STACK_DEPTH_MAX] = malloc(STACK_N * sizeof(*frames));
	int *depth = malloc(STACK_N * sizeof(*depth));
	uint32_t *id = malloc(STACK_N * sizeof(*id));
	bool *seen = calloc(STACK_N + 1, sizeof(*seen));
	ck_assert(frames && depth && id && seen);
	for (size_t i = 0; i < STACK_N; i++) {
		depth[i] = 1 + (int)(rnd(&g) % CGS_STACK_DEPTH_MAX);
		/* Realistic shape: many stacks share their outer frames. */
		for (int k = 0; k < depth[i]; k++)
			frames[i][k] = 0x400000 + (rnd(&g) % 64) * 16;
		frames[i][0] = 0x7f0000000000ULL + i * 8; /* unique innermost frame */
		id[i] = cgs_stack_intern(s, frames[i], depth[i], (uint32_t)(i % 5));
		EXPECT(id[i] >= 1 && id[i] <= STACK_N, "stack %zu: id %u", i, id[i]);
		EXPECT(!seen[id[i]], "id %u given twice", id[i]);
		seen[id[i]] = true;
	}
	ck_assert_uint_eq(s->count, STACK_N);
	for (size_t i = 0; i < STACK_N; i++) {
		assert_stack(r, id[i], frames[i], depth[i]);
		EXPECT(cgs_stack_get(r, id[i])->epoch == i % 5, "stack %u: wrong epoch", id[i]);
		uint32_t again = cgs_stack_intern(s, frames[i], depth[i], 0);
		EXPECT(again == id[i], "stack %zu interned again: id %u, first %u", i, again, id[i]);
	}
	ck_assert_uint_eq(s->count, STACK_N);
	ck_assert_ptr_null(cgs_stack_get(r, STACK_N + 1));
	ck_assert_uint_eq(r->counters.stack_overflow, 0);
	free(frames);
	free(depth);
	free(id);
	free(seen);
	region_drop(r);
}
END_TEST

START_TEST(stack_new_unload_gen_new_id)
{
	struct cgs_region *r = region_new(256 * MiB);
	struct cgs_stacks *s = stacks_new(r);
	uint64_t f[] = { 0x401000, 0x402000, 0x403000, 0x404000 };
	uint32_t before = cgs_stack_intern(s, f, 4, 1);
	/* A dlclose: the same addresses may now be other code. */
	__atomic_add_fetch(&s->unload_gen, 1, __ATOMIC_RELAXED);
	uint32_t after = cgs_stack_intern(s, f, 4, 2);
	ck_assert_uint_ne(after, 0);
	ck_assert_uint_ne(after, before);
	ck_assert_uint_eq(cgs_stack_intern(s, f, 4, 2), after);
	assert_stack(r, before, f, 4);
	assert_stack(r, after, f, 4);
	ck_assert_uint_eq(cgs_stack_get(r, before)->unload_gen + 1, cgs_stack_get(r, after)->unload_gen);
	ck_assert_uint_eq(cgs_stack_get(r, after)->epoch, 2);
	region_drop(r);
}
END_TEST

START_TEST(stack_table_full_counts_overflow)
{
	struct cgs_region *r = region_new(64 * MiB);
	struct cgs_stacks *s = stacks_new(r);
	uint64_t f[CGS_STACK_DEPTH_MAX];
	for (int k = 0; k < CGS_STACK_DEPTH_MAX; k++)
		f[k] = 0x500000 + (uint64_t)k * 4;
	uint32_t last = 0, n = 0;
	for (;;) {
		f[0] = 0x600000 + (uint64_t)n * 8;
		uint32_t id = cgs_stack_intern(s, f, CGS_STACK_DEPTH_MAX, 0);
		if (!id)
			break;
		EXPECT(id == last + 1, "id %u after %u", id, last);
		last = id;
		n++;
		EXPECT(n < 200000, "64 MiB cannot hold %u stacks of 64 frames", n);
	}
	ck_assert_uint_gt(n, 1000);
	ck_assert_uint_ge(r->counters.stack_overflow, 1);
	/* What is there stays there. */
	for (uint32_t i = 0; i < n; i += 101) {
		f[0] = 0x600000 + (uint64_t)i * 8;
		assert_stack(r, i + 1, f, CGS_STACK_DEPTH_MAX);
		ck_assert_uint_eq(cgs_stack_intern(s, f, CGS_STACK_DEPTH_MAX, 0), i + 1);
	}
	region_drop(r);
}
END_TEST

/* ---- files table ---- */

static struct cgs_files *files_new(struct cgs_region *r)
{
	ck_assert_int_eq(cgs_files_init(r), 0);
	ck_assert_ptr_nonnull(r->files);
	return r->files;
}

static uint32_t intern_str(struct cgs_files *fs, const char *label)
{
	return cgs_file_intern(fs, label, strlen(label));
}

START_TEST(file_intern_idempotent)
{
	struct cgs_region *r = region_new(256 * MiB);
	struct cgs_files *fs = files_new(r);
	ck_assert_uint_eq(fs->count, 1);
	ck_assert_str_eq(fs->f[0].label, "(other)");
	uint32_t zero = intern_str(fs, "/dev/zero");
	uint32_t null = intern_str(fs, "/dev/null");
	ck_assert_uint_ne(zero, 0);
	ck_assert_uint_ne(null, 0);
	ck_assert_uint_ne(zero, null);
	ck_assert_uint_eq(intern_str(fs, "/dev/zero"), zero);
	ck_assert_uint_eq(intern_str(fs, "/dev/null"), null);
	/* Only the given length counts. */
	ck_assert_uint_eq(cgs_file_intern(fs, "/dev/zeroXYZ", 9), zero);
	uint32_t prefix = intern_str(fs, "/dev/zer");
	ck_assert_uint_ne(prefix, zero);
	ck_assert_str_eq(fs->f[zero].label, "/dev/zero");
	ck_assert_uint_eq(fs->f[zero].len, 9);
	ck_assert_str_eq(fs->f[prefix].label, "/dev/zer");
	ck_assert_uint_eq(intern_str(fs, "(other)"), 0);
	ck_assert_uint_eq(fs->count, 4);
	ck_assert_uint_eq(fs->dropped, 0);
	region_drop(r);
}
END_TEST

START_TEST(file_table_overflow_maps_to_other)
{
	struct cgs_region *r = region_new(256 * MiB);
	struct cgs_files *fs = files_new(r);
	const uint32_t plain = CGS_FILES_MAX - CGS_FILES_PATTERNS;
	uint32_t ids[CGS_FILES_MAX];
	char label[64];
	/* Id 0 is "(other)": plain - 1 more labels get rows of their own. */
	for (uint32_t i = 1; i < plain; i++) {
		snprintf(label, sizeof(label), "/data/file-%u", i);
		ids[i] = intern_str(fs, label);
		ck_assert_msg(ids[i] == i, "label %u got id %u", i, ids[i]);
	}
	ck_assert_uint_eq(fs->count, plain);
	/* Past them: one pattern row per pattern, counting distinct paths. */
	uint32_t pat = intern_str(fs, "/data/more-00001.tmp");
	ck_assert_uint_eq(pat, plain);
	ck_assert(fs->f[pat].pattern);
	ck_assert_str_eq(fs->f[pat].label, "/data/more-*.tmp");
	for (uint32_t i = 1; i <= 5000; i++) {
		snprintf(label, sizeof(label), "/data/more-%05u.tmp", i);
		ck_assert_uint_eq(intern_str(fs, label), pat);
		ck_assert_uint_eq(intern_str(fs, label), pat); /* seen twice: one path */
	}
	ck_assert_uint_eq(fs->f[pat].paths, 5000);
	ck_assert_uint_eq(fs->dropped, 0);
	/* The pattern rows fill up too: then "(other)", counted. */
	for (uint32_t i = 1; i < CGS_FILES_PATTERNS; i++) {
		snprintf(label, sizeof(label), "/data/kind%c%c/x-%u", 'a' + i % 26, 'a' + i / 26, i);
		ck_assert_uint_eq(intern_str(fs, label), plain + i);
	}
	ck_assert_uint_eq(fs->count, CGS_FILES_MAX);
	for (uint32_t i = 0; i < 10; i++) {
		snprintf(label, sizeof(label), "/other/one-too-many-%u", i);
		ck_assert_uint_eq(intern_str(fs, label), 0);
		ck_assert_uint_eq(fs->dropped, i + 1);
	}
	/* Known labels keep their ids, and are not counted as dropped. */
	for (uint32_t i = 1; i < plain; i += 7) {
		snprintf(label, sizeof(label), "/data/file-%u", i);
		ck_assert_uint_eq(intern_str(fs, label), ids[i]);
		ck_assert_str_eq(fs->f[ids[i]].label, label);
	}
	ck_assert_uint_eq(fs->dropped, 10);
	region_drop(r);
}
END_TEST

START_TEST(file_pattern)
{
	static const char *const cases[][2] = {
		{ "/tmp/t/cache-00042.tmp", "/tmp/t/cache-*.tmp" },
		{ "/tmp/go-build123456/b001/x.a", "/tmp/go-*/*/x.a" },
		{ "/var/tmp/tmpaBcDeF", "/var/tmp/*" },
		{ "/srv/blob-9e3779b97f4a7c15.dat", "/srv/blob-*.dat" },
		{ "/dev/zero", "/dev/zero" },
		{ "socket", "socket" },
		{ "/etc/CamelCase.conf", "/etc/CamelCase.conf" },
		{ "/data/cafe/face.bin", "/data/cafe/face.bin" },
		{ "/proc/4242/stat", "/proc/*/stat" },
		{ "123e4567-e89b-12d3-a456-426614174000", "*-*-*-*-*" },
	};
	char out[CGS_FILE_LABEL_MAX];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = cgs_file_pattern(cases[i][0], strlen(cases[i][0]), out, sizeof(out));
		ck_assert_str_eq(out, cases[i][1]);
		ck_assert_uint_eq(n, strlen(cases[i][1]));
		/* A pattern is its own pattern. */
		char again[CGS_FILE_LABEL_MAX];
		cgs_file_pattern(out, n, again, sizeof(again));
		ck_assert_str_eq(again, out);
	}
	/* A small buffer is never overrun. */
	char small[8];
	cgs_file_pattern("/tmp/t/cache-00042.tmp", 22, small, sizeof(small));
	ck_assert_uint_eq(strlen(small), 7);
}
END_TEST

START_TEST(fd_map_set_dup_clear)
{
	struct cgs_region *r = region_new(256 * MiB);
	struct cgs_files *fs = files_new(r);
	char path[] = "/tmp/cgs_tables_XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	int pfd[2];
	ck_assert_int_eq(pipe(pfd), 0);
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);

	/* Unknown descriptors are resolved by what /proc/self/fd names. */
	char real[4096];
	ck_assert_ptr_nonnull(realpath(path, real));
	uint32_t file = cgs_fd_file(fs, fd);
	ck_assert_uint_ne(file, 0);
	ck_assert_str_eq(fs->f[file].label, real);
	ck_assert_uint_eq(cgs_fd_file(fs, fd), file);
	uint32_t p = cgs_fd_file(fs, pfd[0]);
	ck_assert_str_eq(fs->f[p].label, "pipe");
	ck_assert_uint_eq(cgs_fd_file(fs, pfd[1]), p);
	uint32_t so = cgs_fd_file(fs, sv[0]);
	ck_assert_str_eq(fs->f[so].label, "socket");
	ck_assert_uint_eq(cgs_fd_file(fs, sv[1]), so);

	/* What open told the map wins over /proc. */
	uint32_t zero = intern_str(fs, "/dev/zero");
	cgs_fd_set(fs, fd, zero);
	ck_assert_uint_eq(cgs_fd_file(fs, fd), zero);

	/* dup: the new number refers to the same file. */
	int hi = 1000;
	cgs_fd_dup(fs, fd, hi);
	ck_assert_uint_eq(cgs_fd_file(fs, hi), zero);
	cgs_fd_dup(fs, pfd[0], hi);
	ck_assert_uint_eq(cgs_fd_file(fs, hi), p);

	/* clear (close): the number is unknown again and is resolved afresh. */
	cgs_fd_clear(fs, fd);
	ck_assert_uint_eq(fs->fd[fd], 0);
	ck_assert_uint_eq(cgs_fd_file(fs, fd), file);

	/* A closed descriptor: "(other)", and errno untouched. */
	cgs_fd_clear(fs, hi);
	errno = 4321;
	ck_assert_uint_eq(cgs_fd_file(fs, hi), 0);
	ck_assert_int_eq(errno, 4321);

	/* Out-of-range descriptors: id 0, and nothing written anywhere. */
	uint32_t snapshot[8];
	memcpy(snapshot, &fs->fd[CGS_FD_MAX - 8], sizeof(snapshot));
	ck_assert_uint_eq(cgs_fd_file(fs, -1), 0);
	ck_assert_uint_eq(cgs_fd_file(fs, CGS_FD_MAX), 0);
	cgs_fd_set(fs, -1, zero);
	cgs_fd_set(fs, CGS_FD_MAX, zero);
	cgs_fd_dup(fs, fd, CGS_FD_MAX);
	cgs_fd_dup(fs, -5, fd);
	cgs_fd_dup(fs, CGS_FD_MAX + 3, fd);
	cgs_fd_clear(fs, -1);
	cgs_fd_clear(fs, CGS_FD_MAX);
	ck_assert(!memcmp(snapshot, &fs->fd[CGS_FD_MAX - 8], sizeof(snapshot)));
	ck_assert_uint_eq(cgs_fd_file(fs, fd), file);
	/* The last valid number works. */
	cgs_fd_set(fs, CGS_FD_MAX - 1, zero);
	ck_assert_uint_eq(cgs_fd_file(fs, CGS_FD_MAX - 1), zero);

	close(fd);
	unlink(path);
	close(pfd[0]);
	close(pfd[1]);
	close(sv[0]);
	close(sv[1]);
	region_drop(r);
}
END_TEST

static Suite *tables_suite(void)
{
	Suite *s = suite_create("tables");
	TCase *tc = tcase_create("region");
	tcase_add_test(tc, ralloc_zeroed_aligned_disjoint);
	tcase_add_test(tc, rfree_then_ralloc_reuses_and_zeroes);
	tcase_add_test(tc, full_region_returns_null_and_counts);
	tcase_add_test(tc, ralloc_from_two_threads_is_disjoint);
	suite_add_tcase(s, tc);

	tc = tcase_create("leaks");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, leak_table_matches_model);
	tcase_add_test(tc, leak_add_fails_when_region_is_full);
	tcase_add_test(tc, leak_table_two_threads_disjoint_pointers);
	suite_add_tcase(s, tc);

	tc = tcase_create("stacks");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, stack_intern_same_and_different);
	tcase_add_test(tc, stack_table_100000_stacks);
	tcase_add_test(tc, stack_new_unload_gen_new_id);
	tcase_add_test(tc, stack_table_full_counts_overflow);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_test(tc, file_intern_idempotent);
	tcase_add_test(tc, file_table_overflow_maps_to_other);
	tcase_add_test(tc, fd_map_set_dup_clear);
	tcase_add_test(tc, file_pattern);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tables_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
