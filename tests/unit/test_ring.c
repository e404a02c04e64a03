/* test_ring.c - unit tests of the flight recorder (ring.c, topology.c),
 * suite "ring".
 *
 * The recorder is only useful if what it shows is exactly what happened:
 * a lost record hides a slow call, a torn one blames the wrong file or
 * thread, a ring on the wrong node adds the cross-node traffic it exists to
 * avoid. So each property is checked directly:
 *   topology  CGOSHIM_NUMA_TOPOLOGY specs parse to the right CPU -> node
 *             map (2, 4 and 8 nodes, sparse node ids), bad specs are
 *             refused, the kernel's map covers every online CPU.
 *   binding   each ring's slots are bound to its node: get_mempolicy says
 *             MPOL_BIND to node 0 and that the pages are on node 0, and
 *             /proc/self/numa_maps shows "bind:0" on the range. A ring for
 *             a node that does not exist is left unbound (bound_node -1,
 *             counters.ring_bind_failed) and still works.
 *   choice    with an injected topology, threads pinned to CPU 0 and CPU 1
 *             write to the rings of those CPUs' nodes, and the report lists
 *             every node (2, 4, 8 nodes). Needs 2 CPUs.
 *   writers   2 threads x 1,000,000 records on one ring big enough: the
 *             count is exact, each record is there once, every checksum
 *             and every field checks, including the records a concurrent
 *             reader accepted while the writers ran.
 *   overwrite a small ring: overwritten = written - capacity exactly, and
 *             what is left is the newest records. A fork child's rings
 *             start after its parent's records.
 *   reader    in-flight, overwritten and torn slots are told apart; the
 *             checksum catches any byte changed and any mix of two records.
 *   rate      the watcher's refinement sets slow_ticks from the measured
 *             TSC rate.
 *
 * Each test makes its own region (cgs_region_create) and points cgs_R at it.
 * This binary links the interposers, so every thread sets the shim's
 * re-entry guard first: the test's own calls then pass straight through.
 * CGOSHIM_DISABLE=1 keeps the shim's constructor from starting a region. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "files.h"
#include "leaks.h"
#include "ring.h"
#include "shim.h"
#include "snapshot.h"

#define MiB (1ULL << 20)
#define MPOL_F_NODE 1
#define MPOL_F_ADDR 2

static void guard_this_thread(void)
{
	cgs_t_guard = 1;
}

/* A region with the given topology override ("" = the kernel's) and ring
 * size, its tables, and its rings. */
static struct cgs_region *region_with(const char *topology, uint32_t ring_events, uint64_t memory)
{
	guard_this_thread();
	struct cgs_options o;
	cgs_options_parse(&o, NULL, true);
	o.memory = memory;
	o.ring_events = ring_events;
	snprintf(o.numa_topology, sizeof(o.numa_topology), "%s", topology);
	struct cgs_region *r = cgs_region_create(&o);
	ck_assert_msg(r != NULL, "cannot map a region");
	cgs_R = r;
	r->start_tsc = cgs_rdtsc();
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	r->start_mono_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	ck_assert_int_eq(cgs_files_init(r), 0);
	ck_assert_int_eq(cgs_leaks_init(r), 0);
	ck_assert_int_eq(cgs_stacks_init(r), 0);
	ck_assert_int_eq(cgs_rings_init(r), 0);
	ck_assert_ptr_nonnull(r->rings);
	return r;
}

static void region_done(struct cgs_region *r)
{
	cgs_R = NULL;
	munmap(r, r->size);
}

static int ncpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set))
		return 1;
	return CPU_COUNT(&set);
}

static void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	ck_assert_msg(!pthread_setaffinity_np(pthread_self(), sizeof(set), &set),
		      "cannot pin to CPU %d: these tests need CPUs 0 and 1", cpu);
	/* Wait until the scheduler actually moved us. */
	for (int i = 0; i < 1000 && sched_getcpu() != cpu; i++)
		sched_yield();
	ck_assert_int_eq(sched_getcpu(), cpu);
}

/* ---- topology ----------------------------------------------------------- */

START_TEST(topology_override_parses)
{
	struct cgs_topology t;
	ck_assert_int_eq(cgs_topology_parse("0-1:0,2-3:1", &t), 0);
	ck_assert_uint_eq(t.nrings, 2);
	ck_assert_uint_eq(t.source, CGS_TOPO_OVERRIDE);
	ck_assert_int_eq(t.node[0], 0);
	ck_assert_int_eq(t.node[1], 1);
	ck_assert_uint_eq(cgs_topology_ring(&t, 0), 0);
	ck_assert_uint_eq(cgs_topology_ring(&t, 1), 0);
	ck_assert_uint_eq(cgs_topology_ring(&t, 2), 1);
	ck_assert_uint_eq(cgs_topology_ring(&t, 3), 1);
	/* CPUs no item lists, and numbers past the table, use ring 0. */
	ck_assert_uint_eq(t.ring_of_cpu[4], CGS_CPU_NONE);
	ck_assert_uint_eq(cgs_topology_ring(&t, 4), 0);
	ck_assert_uint_eq(cgs_topology_ring(&t, 100000), 0);
	ck_assert_uint_eq(cgs_topology_ring(&t, -1), 0);

	/* Sparse node ids get rings in ascending order; a CPU listed twice
	 * keeps its last node. */
	ck_assert_int_eq(cgs_topology_parse("0:7,1:3,1:5", &t), 0);
	ck_assert_uint_eq(t.nrings, 3);
	ck_assert_int_eq(t.node[0], 3);
	ck_assert_int_eq(t.node[1], 5);
	ck_assert_int_eq(t.node[2], 7);
	ck_assert_int_eq(t.node[cgs_topology_ring(&t, 0)], 7);
	ck_assert_int_eq(t.node[cgs_topology_ring(&t, 1)], 5);

	/* 8 nodes of 2 CPUs each. */
	ck_assert_int_eq(cgs_topology_parse("0-1:0,2-3:1,4-5:2,6-7:3,8-9:4,10-11:5,12-13:6,14-15:7", &t), 0);
	ck_assert_uint_eq(t.nrings, 8);
	for (int c = 0; c < 16; c++)
		ck_assert_int_eq(t.node[cgs_topology_ring(&t, c)], c / 2);
}
END_TEST

START_TEST(topology_override_refuses_bad_specs)
{
	static const char *const bad[] = {
		"", "0", "0-1", "0:", ":0", "1-0:0", "a:0", "0:a", "0:0,", ",0:0", "0:0;1:1",
		"4096:0", "0-4096:0", "0:1024", "0:0 ", "-1:0", "0--1:0",
	};
	struct cgs_topology t;
	for (size_t i = 0; i < CGS_ARRAY_LEN(bad); i++) {
		ck_assert_msg(cgs_topology_parse(bad[i], NULL) == -1, "accepted \"%s\"", bad[i]);
		ck_assert_msg(cgs_topology_parse(bad[i], &t) == -1, "accepted \"%s\"", bad[i]);
	}
	ck_assert_int_eq(cgs_topology_parse("4095:1023", NULL), 0);

	/* The options parser refuses them too, keeping the kernel's map. */
	char *env[] = { "CGOSHIM_NUMA_TOPOLOGY=0-1", "CGOSHIM_RING_EVENTS=8", NULL };
	struct cgs_options o;
	cgs_options_parse(&o, env, true);
	ck_assert_str_eq(o.numa_topology, "");
	ck_assert_uint_eq(o.ring_events, CGS_RING_EVENTS_DEFAULT);
	char *good[] = { "CGOSHIM_NUMA_TOPOLOGY=0:0,1:1", "CGOSHIM_RING_EVENTS=100", NULL };
	cgs_options_parse(&o, good, true);
	ck_assert_str_eq(o.numa_topology, "0:0,1:1");
	ck_assert_uint_eq(o.ring_events, 100);
}
END_TEST

static void count_cpus(void *arg, unsigned lo, unsigned hi)
{
	*(unsigned *)arg += hi - lo + 1;
}

START_TEST(topology_cpulists)
{
	unsigned n = 0;
	ck_assert_int_eq(cgs_cpulist_parse("0-3,8,10-11\n", 12, count_cpus, &n), 0);
	ck_assert_uint_eq(n, 7);
	n = 0;
	ck_assert_int_eq(cgs_cpulist_parse("\n", 1, count_cpus, &n), 0); /* a node without CPUs */
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(cgs_cpulist_parse("0-", 2, count_cpus, &n), -1);
	ck_assert_int_eq(cgs_cpulist_parse("3-1", 3, count_cpus, &n), -1);
	ck_assert_int_eq(cgs_cpulist_parse("x", 1, count_cpus, &n), -1);
}
END_TEST

/* The kernel's map: every CPU this process may run on is in a ring whose
 * node is a real node directory, with that CPU in its cpulist. */
START_TEST(topology_from_sysfs)
{
	struct cgs_topology t;
	cgs_topology_load(&t, NULL);
	ck_assert_uint_ge(t.nrings, 1);
	if (access("/sys/devices/system/node/node0", F_OK)) {
		ck_assert_uint_eq(t.source, CGS_TOPO_SINGLE);
		return;
	}
	ck_assert_uint_eq(t.source, CGS_TOPO_SYSFS);
	cpu_set_t set;
	ck_assert_int_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	for (int c = 0; c < CPU_SETSIZE && c < CGS_CPUS_MAX; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		ck_assert_uint_ne(t.ring_of_cpu[c], CGS_CPU_NONE);
		char path[128];
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/node%d", c,
			 t.node[cgs_topology_ring(&t, c)]);
		ck_assert_msg(!access(path, F_OK), "%s missing", path);
	}
	/* The CPU we run on, from rseq or getcpu, is the kernel's. */
	int cpu = cgs_current_cpu();
	ck_assert_int_ge(cpu, 0);
	ck_assert(CPU_ISSET(cpu, &set));
}
END_TEST

/* ---- binding ------------------------------------------------------------ */

static struct cgs_event make_event(uint32_t writer, uint32_t i);

/* Whether the /proc/self/numa_maps line of the range holding addr (the
 * last line starting at or below it: lines give only their start) shows
 * this policy. */
static bool numa_maps_says(const void *addr, const char *policy)
{
	FILE *f = fopen("/proc/self/numa_maps", "re");
	char line[1024], best[1024] = "";
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long start = strtoul(line, NULL, 16);
		if (start > (unsigned long)(uintptr_t)addr)
			break;
		snprintf(best, sizeof(best), "%s", line);
	}
	fclose(f);
	return strstr(best, policy) != NULL;
}

START_TEST(rings_bound_to_their_node)
{
	struct cgs_region *r = region_with("", 4096, 64 * MiB);
	struct cgs_rings *rs = r->rings;
	ck_assert_uint_ge(rs->nrings, 1);
	ck_assert_uint_eq(r->counters.ring_bind_failed, 0);
	for (uint32_t i = 0; i < rs->nrings; i++) {
		struct cgs_ring *ring = rs->ring[i];
		ck_assert_int_eq(ring->bound_node, ring->node);
		ck_assert_int_eq(ring->policy, CGS_MPOL_BIND);
		ck_assert_uint_eq(ring->mask + 1, 4096);
		ck_assert_uint_eq(ring->bytes, 4096 + 4096 * sizeof(struct cgs_event));
		/* Policy of the range, as the kernel has it. */
		int mode = -1;
		unsigned long mask[16] = { 0 };
		ck_assert_int_eq(syscall(SYS_get_mempolicy, &mode, mask, 1025UL, ring->slots, MPOL_F_ADDR), 0);
		ck_assert_int_eq(mode, CGS_MPOL_BIND);
		ck_assert_uint_eq(mask[ring->node / 64], 1UL << (ring->node % 64));
		int policy;
		ck_assert_int_eq(cgs_ring_policy_node(ring, &policy), ring->node);
		ck_assert_int_eq(policy, CGS_MPOL_BIND);
		/* Touch every page of the slots: each must land on the node. */
		for (uint64_t k = 0; k <= ring->mask; k++) {
			struct cgs_event e = make_event(9, (uint32_t)k);
			cgs_ring_put(ring, &e);
		}
		for (size_t off = 0; off < 4096 * sizeof(struct cgs_event); off += 4096) {
			int node = -1;
			ck_assert_int_eq(syscall(SYS_get_mempolicy, &node, NULL, 0UL, (char *)ring->slots + off,
						 MPOL_F_NODE | MPOL_F_ADDR),
					 0);
			ck_assert_int_eq(node, ring->node);
		}
		char want[16];
		snprintf(want, sizeof(want), "bind:%d", ring->node);
		ck_assert_msg(numa_maps_says(ring->slots, want), "numa_maps has no %s line at %p", want,
			      (void *)ring->slots);
		ck_assert_msg(numa_maps_says(ring, want), "ring header page not bound");
	}
	region_done(r);
}
END_TEST

/* Node 5 does not exist here: its ring is not bound, is counted, and works. */
START_TEST(ring_on_missing_node_degrades)
{
	ck_assert_msg(ncpus() >= 2, "needs 2 CPUs");
	ck_assert_msg(access("/sys/devices/system/node/node5", F_OK), "this machine has a node 5");
	struct cgs_region *r = region_with("0:0,1:5", 64, 64 * MiB);
	struct cgs_rings *rs = r->rings;
	ck_assert_uint_eq(rs->nrings, 2);
	ck_assert_int_eq(rs->ring[0]->bound_node, 0);
	ck_assert_int_eq(rs->ring[1]->node, 5);
	ck_assert_int_eq(rs->ring[1]->bound_node, -1);
	ck_assert_int_eq(rs->ring[1]->policy, 0);
	ck_assert_int_ne(rs->ring[1]->bind_errno, 0);
	ck_assert_uint_eq(r->counters.ring_bind_failed, 1);
	int policy;
	ck_assert_int_eq(cgs_ring_policy_node(rs->ring[1], &policy), -1);

	pin(1);
	struct cgs_event e = make_event(1, 1);
	cgs_event_commit(rs, &e);
	ck_assert_uint_eq(e.node, 5);
	ck_assert_uint_eq(cgs_ring_written(rs->ring[1]), 1);
	struct cgs_event back;
	ck_assert_int_eq(cgs_ring_get(rs->ring[1], 0, &back), CGS_SLOT_OK);
	ck_assert_uint_eq(back.node, 5);
	ck_assert_uint_eq(back.cpu, 1);

	/* The report says so. */
	struct cgs_snapshot *s = cgs_snapshot_take(r, "api", true, false, 1, NULL);
	ck_assert_uint_eq(s->nrings, 2);
	ck_assert_int_eq(s->rings[1].node, 5);
	ck_assert_int_eq(s->rings[1].bound_node, -1);
	ck_assert_str_eq(s->rings[1].policy, "none");
	ck_assert_int_eq(s->rings[0].bound_node, 0);
	ck_assert_str_eq(s->rings[0].policy, "bind");
	cgs_snapshot_free(s);
	region_done(r);
}
END_TEST

/* ---- records ------------------------------------------------------------ */

/* Every field of record i of writer w is a function of (w, i), so a reader
 * can check each one, not only the checksum. */
static struct cgs_event make_event(uint32_t writer, uint32_t i)
{
	struct cgs_event e;
	memset(&e, 0, sizeof(e));
	uint64_t key = (uint64_t)writer << 32 | i;
	e.t0 = key * 3 + 1;
	e.dur = key ^ 0x5555;
	e.arg = key;
	e.result = -(int64_t)key;
	e.tid = (int32_t)(writer * 1000 + (i % 1000));
	e.err = (int32_t)(i % 133);
	e.stack = i * 7;
	e.file = i % 1024;
	e.fd = (int32_t)(i % 4096);
	e.fn = (uint16_t)(i % CGS_FN_COUNT);
	e.textlen = (uint16_t)(i % CGS_EVENT_TEXT);
	for (unsigned k = 0; k < CGS_EVENT_TEXT; k++)
		e.text[k] = (char)('a' + (i + k * writer) % 26);
	return e;
}

/* Whether e is record (writer, i) for the key it carries; all fields but
 * those the ring writes itself (seq, check, cpu, node). */
static bool event_ok(const struct cgs_event *e)
{
	struct cgs_event want = make_event((uint32_t)(e->arg >> 32), (uint32_t)e->arg);
	return e->t0 == want.t0 && e->dur == want.dur && e->result == want.result && e->tid == want.tid &&
	       e->err == want.err && e->stack == want.stack && e->file == want.file && e->fd == want.fd &&
	       e->fn == want.fn && e->textlen == want.textlen && !memcmp(e->text, want.text, CGS_EVENT_TEXT);
}

struct writer_arg {
	struct cgs_rings *rs;
	struct cgs_ring *ring; /* NULL: cgs_event_commit picks */
	uint32_t id, n;
	int cpu;               /* pin here, or -1 */
	volatile int *go;
};

static void *writer(void *p)
{
	struct writer_arg *a = p;
	guard_this_thread();
	if (a->cpu >= 0)
		pin(a->cpu);
	while (!__atomic_load_n(a->go, __ATOMIC_ACQUIRE))
		cgs_cpu_relax();
	for (uint32_t i = 0; i < a->n; i++) {
		struct cgs_event e = make_event(a->id, i);
		if (a->ring)
			cgs_ring_put(a->ring, &e);
		else
			cgs_event_commit(a->rs, &e);
	}
	return NULL;
}

struct reader_arg {
	struct cgs_ring *ring;
	volatile int *stop;
	uint64_t ok, bad, in_flight, gone, torn;
};

/* Reads the newest slots over and over while the writers run: every record
 * it accepts must be whole. */
static void *reader(void *p)
{
	struct reader_arg *a = p;
	guard_this_thread();
	while (!__atomic_load_n(a->stop, __ATOMIC_ACQUIRE)) {
		uint64_t head = cgs_ring_head(a->ring);
		for (uint64_t idx = head > 64 ? head - 64 : 0; idx < head + 4; idx++) {
			struct cgs_event e;
			switch (cgs_ring_get(a->ring, idx, &e)) {
			case CGS_SLOT_OK:
				a->ok++;
				if (!event_ok(&e) || e.seq != idx + 1)
					a->bad++;
				break;
			case CGS_SLOT_IN_FLIGHT:
				a->in_flight++;
				break;
			case CGS_SLOT_GONE:
				a->gone++;
				break;
			default:
				a->torn++;
			}
		}
	}
	return NULL;
}

#define MANY 1000000u

START_TEST(concurrent_writers_lose_nothing)
{
	/* 2^21 slots >= 2 x 10^6 records: nothing is overwritten. Both
	 * threads go through cgs_event_commit, on one node's ring. */
	struct cgs_region *r = region_with("0-4095:0", 2 * MANY, 1024 * MiB);
	struct cgs_rings *rs = r->rings;
	struct cgs_ring *ring = rs->ring[0];
	ck_assert_uint_eq(ring->mask + 1, 1u << 21);
	volatile int go = 0, stop = 0;
	pthread_t th[2], rd;
	struct writer_arg wa[2];
	struct reader_arg ra = { .ring = ring, .stop = &stop };
	for (int k = 0; k < 2; k++) {
		wa[k] = (struct writer_arg){ .rs = rs, .id = (uint32_t)k + 1, .n = MANY, .cpu = -1, .go = &go };
		ck_assert_int_eq(pthread_create(&th[k], NULL, writer, &wa[k]), 0);
	}
	ck_assert_int_eq(pthread_create(&rd, NULL, reader, &ra), 0);
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	for (int k = 0; k < 2; k++)
		pthread_join(th[k], NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_join(rd, NULL);

	ck_assert_uint_eq(cgs_ring_written(ring), 2 * MANY);
	ck_assert_uint_eq(cgs_ring_overwritten(ring), 0);
	/* What the concurrent reader accepted was whole. */
	ck_assert_uint_eq(ra.bad, 0);
	ck_assert_uint_eq(ra.torn, 0);
	fprintf(stderr, "ring: concurrent reader: %llu accepted, %llu in flight, %llu gone\n",
		(unsigned long long)ra.ok, (unsigned long long)ra.in_flight, (unsigned long long)ra.gone);

	/* Every record is there once, checked field by field. (Counted, then
	 * asserted once: check's assertions are slow in a loop of millions.) */
	uint8_t *seen = calloc(2 * MANY, 1);
	ck_assert_ptr_nonnull(seen);
	uint64_t not_ok = 0, wrong = 0, twice = 0, first_bad = UINT64_MAX;
	for (uint64_t idx = 0; idx < 2 * MANY; idx++) {
		struct cgs_event e;
		if (cgs_ring_get(ring, idx, &e) != CGS_SLOT_OK || e.check != cgs_event_sum(&e, idx)) {
			not_ok++;
			first_bad = first_bad < idx ? first_bad : idx;
			continue;
		}
		uint32_t w = (uint32_t)(e.arg >> 32), i = (uint32_t)e.arg;
		if (!event_ok(&e) || (w != 1 && w != 2) || i >= MANY || e.node != 0) {
			wrong++;
			first_bad = first_bad < idx ? first_bad : idx;
			continue;
		}
		size_t k = (size_t)(w - 1) * MANY + i;
		twice += seen[k];
		seen[k] = 1;
	}
	size_t missing = 0;
	for (size_t k = 0; k < 2 * MANY; k++)
		missing += !seen[k];
	free(seen);
	ck_assert_msg(!not_ok && !wrong && !twice && !missing,
		      "%llu records not readable, %llu wrong, %llu twice, %zu missing (first bad index %llu)",
		      (unsigned long long)not_ok, (unsigned long long)wrong, (unsigned long long)twice, missing,
		      (unsigned long long)first_bad);
	region_done(r);
}
END_TEST

START_TEST(overwrite_count_exact)
{
	struct cgs_region *r = region_with("0-4095:0", 1024, 64 * MiB);
	struct cgs_ring *ring = r->rings->ring[0];
	ck_assert_uint_eq(ring->mask + 1, 1024);

	/* One writer: what is left is exactly its newest 1024 records. */
	volatile int go = 1;
	struct writer_arg one = { .ring = ring, .id = 7, .n = 100000, .cpu = -1, .go = &go };
	writer(&one);
	ck_assert_uint_eq(cgs_ring_written(ring), 100000);
	ck_assert_uint_eq(cgs_ring_overwritten(ring), 100000 - 1024);
	for (uint64_t idx = 100000 - 1024; idx < 100000; idx++) {
		struct cgs_event e;
		ck_assert_int_eq(cgs_ring_get(ring, idx, &e), CGS_SLOT_OK);
		ck_assert(event_ok(&e));
		ck_assert_uint_eq((uint32_t)e.arg, idx);
	}
	/* The older ones are gone, and say so. */
	struct cgs_event e;
	ck_assert_int_eq(cgs_ring_get(ring, 100000 - 1025, &e), CGS_SLOT_GONE);
	ck_assert_int_eq(cgs_ring_get(ring, 0, &e), CGS_SLOT_GONE);

	/* Two writers wrapping the ring 200 times: the count is exact; every
	 * slot left holds a whole record from the last lap, unless a writer
	 * was descheduled for a whole lap (its slot is then in flight, never
	 * torn or shown wrong). */
	pthread_t th[2];
	struct writer_arg wa[2];
	go = 0;
	for (int k = 0; k < 2; k++) {
		wa[k] = (struct writer_arg){ .ring = ring, .id = (uint32_t)k + 1, .n = 100000, .cpu = -1, .go = &go };
		ck_assert_int_eq(pthread_create(&th[k], NULL, writer, &wa[k]), 0);
	}
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	for (int k = 0; k < 2; k++)
		pthread_join(th[k], NULL);
	uint64_t head = cgs_ring_head(ring);
	ck_assert_uint_eq(head, 300000);
	ck_assert_uint_eq(cgs_ring_overwritten(ring), 300000 - 1024);
	uint64_t ok = 0, in_flight = 0;
	for (uint64_t idx = head - 1024; idx < head; idx++) {
		int st = cgs_ring_get(ring, idx, &e);
		ck_assert_int_ne(st, CGS_SLOT_TORN);
		if (st == CGS_SLOT_OK) {
			ck_assert(event_ok(&e));
			ck_assert((e.arg >> 32) == 1 || (e.arg >> 32) == 2);
			ok++;
		} else {
			in_flight++;
		}
	}
	ck_assert_uint_eq(ok + in_flight, 1024);
	ck_assert_uint_ge(ok, 1000);
	region_done(r);
}
END_TEST

START_TEST(reader_tells_slots_apart)
{
	struct cgs_region *r = region_with("0-4095:0", 16, 64 * MiB);
	struct cgs_ring *ring = r->rings->ring[0];
	struct cgs_event e = make_event(3, 0), back;

	/* Never written. */
	ck_assert_int_eq(cgs_ring_get(ring, 0, &back), CGS_SLOT_IN_FLIGHT);
	cgs_ring_put(ring, &e);
	ck_assert_int_eq(cgs_ring_get(ring, 0, &back), CGS_SLOT_OK);
	/* Reserved but not published (a writer mid-way, or killed). */
	__atomic_fetch_add(&ring->head, 1, __ATOMIC_RELAXED);
	ck_assert_int_eq(cgs_ring_get(ring, 1, &back), CGS_SLOT_IN_FLIGHT);
	ring->slots[1].seq = 0;
	ck_assert_int_eq(cgs_ring_get(ring, 1, &back), CGS_SLOT_IN_FLIGHT);
	/* One bit changed anywhere but seq: torn. */
	for (size_t byte = sizeof(uint64_t); byte < sizeof(struct cgs_event); byte++) {
		unsigned char *p = (unsigned char *)&ring->slots[0];
		p[byte] ^= 0x10;
		ck_assert_msg(cgs_ring_get(ring, 0, &back) == CGS_SLOT_TORN, "byte %zu", byte);
		p[byte] ^= 0x10;
	}
	ck_assert_int_eq(cgs_ring_get(ring, 0, &back), CGS_SLOT_OK);
	/* A record published under another index (a stale lap). */
	ring->slots[0].seq = 17;
	ck_assert_int_eq(cgs_ring_get(ring, 0, &back), CGS_SLOT_GONE);
	ck_assert_int_eq(cgs_ring_get(ring, 16, &back), CGS_SLOT_TORN);

	/* Mixes of two records' words never pass. */
	struct cgs_event a = make_event(1, 5), b = make_event(2, 6);
	a.check = cgs_event_sum(&a, 5);
	b.check = cgs_event_sum(&b, 5);
	uint64_t wa[16], wb[16];
	memcpy(wa, &a, sizeof(wa));
	memcpy(wb, &b, sizeof(wb));
	for (unsigned m = 1; m < (1u << 15) - 1; m += 7) {
		uint64_t w[16];
		for (unsigned k = 0; k < 16; k++)
			w[k] = (k && (m >> (k - 1)) & 1) ? wb[k] : wa[k];
		/* The check itself comes with word 7, from one of them. */
		struct cgs_event mix;
		memcpy(&mix, w, sizeof(mix));
		if (!memcmp(&mix, &a, sizeof(mix)) || !memcmp(&mix, &b, sizeof(mix)))
			continue;
		ck_assert_uint_ne(mix.check, cgs_event_sum(&mix, 5));
	}
	region_done(r);
}
END_TEST

/* A fork child's rings start after its parent's records, and are bound
 * again; its counts are exact from there. */
START_TEST(fork_child_starts_empty)
{
	struct cgs_region *r = region_with("0-4095:0", 16, 64 * MiB);
	struct cgs_ring *ring = r->rings->ring[0];
	volatile int go = 1;
	struct writer_arg parent = { .ring = ring, .id = 1, .n = 40, .cpu = -1, .go = &go };
	writer(&parent);
	ck_assert_uint_eq(cgs_ring_written(ring), 40);
	cgs_rings_after_fork(r);
	ck_assert_uint_eq(cgs_ring_written(ring), 0);
	ck_assert_uint_eq(cgs_ring_overwritten(ring), 0);
	ck_assert_int_eq(ring->bound_node, ring->node);
	struct cgs_snapshot *s = cgs_snapshot_take(r, "api", true, false, 1, NULL);
	ck_assert_uint_eq(s->nevents, 0);
	ck_assert_uint_eq(s->rings[0].written, 0);
	cgs_snapshot_free(s);

	struct writer_arg child = { .ring = ring, .id = 2, .n = 20, .cpu = -1, .go = &go };
	writer(&child);
	ck_assert_uint_eq(cgs_ring_written(ring), 20);
	ck_assert_uint_eq(cgs_ring_overwritten(ring), 4);
	r->opts.slow_ns = 0;
	s = cgs_snapshot_take(r, "api", true, false, 1, NULL);
	ck_assert_uint_eq(s->nevents, 16); /* the child's last 16, none of the parent's */
	for (size_t i = 0; i < s->nevents; i++)
		ck_assert_uint_eq(s->events[i].arg >> 32, 2);
	cgs_snapshot_free(s);
	region_done(r);
}
END_TEST

/* ---- ring choice per CPU, and reports per node ------------------------- */

static void check_choice(int nodes)
{
	/* CPU 0 -> node nodes-1, CPU 1 -> node nodes-2, the rest of the nodes
	 * get CPUs this machine does not have. */
	char spec[256];
	int n = snprintf(spec, sizeof(spec), "0:%d,1:%d", nodes - 1, nodes - 2);
	for (int k = 0; k < nodes - 2; k++)
		n += snprintf(spec + n, sizeof(spec) - (size_t)n, ",%d:%d", 100 + k, k);
	struct cgs_region *r = region_with(spec, 64, 256 * MiB);
	struct cgs_rings *rs = r->rings;
	ck_assert_uint_eq(rs->nrings, (unsigned)nodes);

	volatile int go = 1;
	pthread_t th[2];
	struct writer_arg wa[2];
	for (int k = 0; k < 2; k++) {
		wa[k] = (struct writer_arg){ .rs = rs, .id = (uint32_t)k + 1, .n = 10 + k, .cpu = k, .go = &go };
		ck_assert_int_eq(pthread_create(&th[k], NULL, writer, &wa[k]), 0);
		pthread_join(th[k], NULL);
	}
	for (uint32_t i = 0; i < rs->nrings; i++) {
		struct cgs_ring *ring = rs->ring[i];
		ck_assert_int_eq(ring->node, (int)i);
		uint64_t want = ring->node == nodes - 1 ? 10 : ring->node == nodes - 2 ? 11 : 0;
		ck_assert_msg(cgs_ring_written(ring) == want, "%d nodes: node %d has %llu records, not %llu",
			      nodes, ring->node, (unsigned long long)cgs_ring_written(ring),
			      (unsigned long long)want);
		for (uint64_t idx = 0; idx < want; idx++) {
			struct cgs_event e;
			ck_assert_int_eq(cgs_ring_get(ring, idx, &e), CGS_SLOT_OK);
			ck_assert_uint_eq(e.node, (unsigned)ring->node);
			ck_assert_uint_eq(e.cpu, ring->node == nodes - 1 ? 0 : 1);
			ck_assert_uint_eq(e.arg >> 32, ring->node == nodes - 1 ? 1 : 2);
		}
	}
	/* Each thread is remembered on its node. */
	ck_assert_int_eq(cgs_rings_thread_node(rs, 1000), nodes - 1);
	ck_assert_int_eq(cgs_rings_thread_node(rs, 2000), nodes - 2);

	/* The JSON report lists every node, each ring's own CPUs. */
	struct cgs_snapshot *s = cgs_snapshot_take(r, "api", true, false, 1, NULL);
	ck_assert_uint_eq(s->nrings, (size_t)nodes);
	ck_assert_str_eq(s->topology, "override");
	char *doc = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&doc, &len);
	ck_assert_int_eq(cgs_report_write(s, CGS_FMT_JSON, f), 0);
	fclose(f);
	for (int node = 0; node < nodes; node++) {
		char want[160];
		const char *cpus = node == nodes - 1 ? "0" : node == nodes - 2 ? "1" : NULL;
		char other[8];
		snprintf(other, sizeof(other), "%d", 100 + node);
		snprintf(want, sizeof(want), "{\"node\": %d, \"written\": %d,", node,
			 node == nodes - 1 ? 10 : node == nodes - 2 ? 11 : 0);
		ck_assert_msg(strstr(doc, want), "%d nodes: no \"%s\" in the report", nodes, want);
		snprintf(want, sizeof(want), "\"cpus\": \"%s\"", cpus ? cpus : other);
		ck_assert_msg(strstr(doc, want), "%d nodes: no \"%s\" in the report", nodes, want);
	}
	free(doc);
	cgs_snapshot_free(s);
	region_done(r);
}

START_TEST(choice_per_cpu_2_4_8_nodes)
{
	ck_assert_msg(ncpus() >= 2, "needs CPUs 0 and 1");
	check_choice(2);
	check_choice(4);
	check_choice(8);
}
END_TEST

/* ---- whole write path, and the threshold -------------------------------- */

START_TEST(event_fd_records_what_identifies_the_call)
{
	struct cgs_region *r = region_with("", 64, 64 * MiB);
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	errno = EAGAIN;
	cgs_event_fd(NULL, CGS_FN_read, 1000, 5000, p[0], CGS_EVENT_NOFILE, 0, -1);
	ck_assert_int_eq(errno, EAGAIN); /* preserved */
	struct cgs_event e;
	struct cgs_ring *ring = r->rings->ring[cgs_topology_ring(&r->rings->topo, cgs_current_cpu())];
	ck_assert_uint_eq(cgs_ring_written(ring), 1);
	ck_assert_int_eq(cgs_ring_get(ring, 0, &e), CGS_SLOT_OK);
	ck_assert_uint_eq(e.fn, CGS_FN_read);
	ck_assert_uint_eq(e.t0, 1000);
	ck_assert_uint_eq(e.dur, 5000);
	ck_assert_int_eq(e.fd, p[0]);
	ck_assert_int_eq(e.err, EAGAIN);
	ck_assert_int_eq(e.result, -1);
	ck_assert_int_eq(e.tid, (int)syscall(SYS_gettid));
	ck_assert_uint_ne(e.stack, 0); /* taken though leak tracking is not involved */
	ck_assert_uint_ne(e.file, 0);
	ck_assert_str_eq(r->files->f[e.file - 1].label, "pipe");

	cgs_event_dl(NULL, CGS_FN_dlvsym, 1, 2, "a_symbol", "V_1", (void *)0x1234, 0, true, 0x4321);
	/* A dl call under the threshold goes to the node's routine ring for
	 * dlsym and dlvsym, never to the slow calls' ring. */
	ck_assert_uint_eq(cgs_ring_written(ring), 1);
	struct cgs_ring *sym = r->rings->routine[CGS_ROUTINE_SYM][cgs_topology_ring(&r->rings->topo, cgs_current_cpu())];
	ck_assert_ptr_nonnull(sym);
	ck_assert_uint_eq(cgs_ring_written(sym), 1);
	ck_assert_uint_eq(sym->mask + 1, CGS_ROUTINE_CAP(64));
	ck_assert_int_eq(cgs_ring_get(sym, 0, &e), CGS_SLOT_OK);
	ck_assert_uint_eq(e.textlen, strlen("a_symbol@V_1"));
	ck_assert(!memcmp(e.text, "a_symbol@V_1", e.textlen));
	ck_assert_uint_eq(e.arg, 0x1234);
	/* A fast dl call's stack is its caller's address alone. */
	const struct cgs_stack *st = cgs_stack_get(r, e.stack);
	ck_assert_ptr_nonnull(st);
	ck_assert_uint_eq(st->depth, 1);
	ck_assert_uint_eq(st->frames[0], 0x4321);

	/* A long dlopen path keeps its tail, the file name. */
	char path[200];
	memset(path, 'd', sizeof(path));
	strcpy(path + 150, "/libplugin-with-a-long-name.so");
	cgs_event_dl(NULL, CGS_FN_dlopen, 1, 2, path, NULL, NULL, 0x5000, false, 0);
	struct cgs_ring *dl = r->rings->routine[CGS_ROUTINE_DL][cgs_topology_ring(&r->rings->topo, cgs_current_cpu())];
	ck_assert_int_eq(cgs_ring_get(dl, 0, &e), CGS_SLOT_OK);
	ck_assert_uint_eq(e.textlen, CGS_EVENT_TEXT);
	ck_assert(!memcmp(e.text, "...", 3));
	ck_assert(!memcmp(e.text + CGS_EVENT_TEXT - 30, "/libplugin-with-a-long-name.so", 30));
	close(p[0]);
	close(p[1]);
	region_done(r);
}
END_TEST

START_TEST(threshold_refined_from_measured_rate)
{
	struct cgs_region *r = region_with("", 64, 64 * MiB);
	/* At start: slow_ns times the estimated rate. */
	double est = r->rings->ticks_per_ns;
	ck_assert(est > 0.01 && est < 100);
	ck_assert_uint_eq(r->slow_ticks, (uint64_t)((double)r->opts.slow_ns * est));
	uint64_t t0 = cgs_rdtsc();
	struct timespec a, b, pause = { 0, 50000000 };
	clock_gettime(CLOCK_MONOTONIC, &a);
	nanosleep(&pause, NULL);
	uint64_t t1 = cgs_rdtsc();
	clock_gettime(CLOCK_MONOTONIC, &b);
	double rate = (double)(t1 - t0) / ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec));
	cgs_rings_refine(r);
	ck_assert_uint_eq(r->rings->rate_source, CGS_RATE_MEASURED);
	double want = (double)r->opts.slow_ns * rate;
	ck_assert_msg(r->slow_ticks > want * 0.98 && r->slow_ticks < want * 1.01,
		      "slow_ticks %llu, expected about %.0f", (unsigned long long)r->slow_ticks, want);
	region_done(r);
}
END_TEST

static Suite *ring_suite(void)
{
	Suite *s = suite_create("ring");
	TCase *tc = tcase_create("topology");
	tcase_add_test(tc, topology_override_parses);
	tcase_add_test(tc, topology_override_refuses_bad_specs);
	tcase_add_test(tc, topology_cpulists);
	tcase_add_test(tc, topology_from_sysfs);
	suite_add_tcase(s, tc);

	tc = tcase_create("numa");
	tcase_add_test(tc, rings_bound_to_their_node);
	tcase_add_test(tc, ring_on_missing_node_degrades);
	tcase_add_test(tc, choice_per_cpu_2_4_8_nodes);
	suite_add_tcase(s, tc);

	tc = tcase_create("records");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, concurrent_writers_lose_nothing);
	tcase_add_test(tc, overwrite_count_exact);
	tcase_add_test(tc, reader_tells_slots_apart);
	tcase_add_test(tc, fork_child_starts_empty);
	tcase_add_test(tc, event_fd_records_what_identifies_the_call);
	tcase_add_test(tc, threshold_refined_from_measured_rate);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ring_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
