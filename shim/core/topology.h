/* topology.h - which NUMA node each CPU belongs to, and which CPU a thread
 * runs on now.
 *
 * The map is read once at start, from the kernel's
 * /sys/devices/system/node/node<N>/cpulist for every node listed in
 * /sys/devices/system/node/has_cpu, or taken from CGOSHIM_NUMA_TOPOLOGY
 * (testing: "0-1:0,2-3:1" gives CPUs 0-1 to node 0 and 2-3 to node 1), so
 * tests can exercise 2, 4 or 8 nodes on a one-node machine. Only nodes that
 * have CPUs get a ring: a node with memory only (CXL, some HBM) never runs a
 * thread. Without /sys there is one node, 0, with every CPU.
 *
 * Nothing here allocates or uses stdio: the map is built from the first
 * interposed call, possibly before libc is fully up (raw system calls only).
 *
 * Error convention: 0 on success, -1 when a specification is malformed. */
#ifndef CGOSHIM_TOPOLOGY_H
#define CGOSHIM_TOPOLOGY_H

#include "common.h"

#define CGS_NODES_MAX 64     /* rings; nodes with CPUs beyond this share ring 0 */
#define CGS_NODE_ID_MAX 1023 /* the kernel's MAX_NUMNODES is at most 1024 */
#define CGS_CPUS_MAX 4096    /* CPUs past this are mapped to ring 0 */
#define CGS_CPU_NONE 0xff    /* ring_of_cpu entry of a CPU no node lists */

enum cgs_topo_source { CGS_TOPO_SINGLE, CGS_TOPO_SYSFS, CGS_TOPO_OVERRIDE };

struct cgs_topology {
	uint32_t nrings;                   /* rings: one per node with CPUs, >= 1 */
	uint32_t source;                   /* enum cgs_topo_source */
	uint32_t dropped_nodes;            /* nodes past CGS_NODES_MAX (their CPUs use ring 0) */
	int16_t node[CGS_NODES_MAX];       /* node id of ring i, ascending */
	uint8_t ring_of_cpu[CGS_CPUS_MAX]; /* ring index, or CGS_CPU_NONE */
};

/* Fill *t from the override spec if it is non-empty, else from /sys, else
 * one node. Never fails: a bad spec (already reported by the options
 * parser) falls back to /sys. */
void cgs_topology_load(struct cgs_topology *t, const char *override);

/* Parse a CGOSHIM_NUMA_TOPOLOGY spec into *t (t may be NULL: check only).
 * Items "CPUS:NODE" separated by ','; CPUS is "N" or "N-M"; a CPU listed
 * twice keeps its last node. 0, or -1 when malformed or when a CPU or node
 * number is out of range. */
int cgs_topology_parse(const char *spec, struct cgs_topology *t);

/* Parse a kernel cpulist ("0-3,8,10-11") and call fn for each range. 0, or
 * -1 when malformed (fn may have been called for the ranges before). */
int cgs_cpulist_parse(const char *s, size_t len, void (*fn)(void *arg, unsigned lo, unsigned hi), void *arg);

/* The ring index of a CPU (0 for one no node lists, or past the table). */
static inline unsigned cgs_topology_ring(const struct cgs_topology *t, int cpu)
{
	unsigned r = (unsigned)cpu < CGS_CPUS_MAX ? t->ring_of_cpu[cpu] : CGS_CPU_NONE;
	return r < t->nrings ? r : 0;
}

/* glibc 2.35+ exports where each thread's rseq area lies. Weak: with an
 * older glibc both addresses are NULL and sched_getcpu() is used. */
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

#define CGS_RSEQ_CPU_ID 4 /* struct rseq: u32 cpu_id_start, u32 cpu_id */

/* Whether cgs_current_cpu reads rseq (false: sched_getcpu). */
static inline bool cgs_cpu_from_rseq(void)
{
	return &__rseq_offset != NULL && &__rseq_size != NULL && __rseq_size >= 8;
}

/* topology.c: sched_getcpu(), errno kept; -1 if it fails. */
int cgs_getcpu_slow(void);

/* The CPU this thread runs on now: the cpu_id field of glibc's rseq area
 * when glibc registered one for this thread (one load), else
 * sched_getcpu(). -1 if neither works. */
static inline int cgs_current_cpu(void)
{
	if (CGS_LIKELY(cgs_cpu_from_rseq())) {
		const char *tp = __builtin_thread_pointer();
		int32_t cpu = __atomic_load_n((const int32_t *)(tp + __rseq_offset + CGS_RSEQ_CPU_ID),
					      __ATOMIC_RELAXED);
		if (CGS_LIKELY(cpu >= 0))
			return cpu;
	}
	return cgs_getcpu_slow();
}

#endif
