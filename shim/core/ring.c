/* ring.c - the flight recorder's rings: set-up and NUMA binding, the write
 * path of qualifying calls and the read path for reports. The watcher's
 * helper thread (TSC rate, threads' nodes) is watcher/ring_watch.c. Design: ring.h.
 *
 * Binding. Each ring is two region allocations, both page-aligned: a page
 * for its header (the head counter every writer of the node bumps) and the
 * slots. Both are bound with mbind(MPOL_BIND) to the ring's node before
 * anything touches them; if the kernel refuses (no such node, or a policy
 * not allowed by the cpuset), MPOL_PREFERRED is tried; if that fails too
 * the ring is used unbound (its pages then land where its writers first
 * touch them, which is the node's own memory on a real NUMA machine) and
 * counters.ring_bind_failed counts it. The region is a memfd (shmem), whose
 * policy belongs to the file, not the mapping: the watcher sees the same
 * binding and reports what the kernel says at report time. Raw system
 * calls: libnuma is not linked into the preloaded library. */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <cpuid.h>
#include <sys/syscall.h>

#include "files.h"
#include "leaks.h"
#include "log.h"
#include "modules.h"
#include "ring.h"
#include "tstate.h"
#include "seccomp.h"

#define PAGE 4096u
#define MPOL_MF_MOVE_ (1 << 1)
#define MPOL_F_NODE_ (1 << 0)
#define MPOL_F_ADDR_ (1 << 1)
#define NODEMASK_LONGS ((CGS_NODE_ID_MAX + 1) / 64)

/* ---- TSC rate estimate ------------------------------------------------- */

double cgs_tsc_estimate(uint32_t *source)
{
	unsigned a, b, c, d, max = __get_cpuid_max(0, NULL);

	/* Leaf 0x15: TSC = crystal * EBX / EAX (ECX: crystal Hz, may be 0). */
	if (max >= 0x15 && __get_cpuid(0x15, &a, &b, &c, &d) && a && b && c) {
		*source = CGS_RATE_CPUID15;
		return (double)c * b / a / 1e9;
	}
	/* A hypervisor's timing leaf (VMware, KVM with tsc info): EAX = TSC kHz. */
	if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 31))) {
		unsigned hv_max;
		__cpuid(0x40000000, hv_max, b, c, d);
		if (hv_max >= 0x40000010 && hv_max < 0x40000100) {
			__cpuid(0x40000010, a, b, c, d);
			if (a) {
				*source = CGS_RATE_HYPERVISOR;
				return a / 1e6;
			}
		}
	}
	/* Leaf 0x16: base frequency in MHz, which the TSC runs at on Intel. */
	if (max >= 0x16 && __get_cpuid(0x16, &a, &b, &c, &d) && (a & 0xffff)) {
		*source = CGS_RATE_CPUID16;
		return (a & 0xffff) / 1e3;
	}
	*source = CGS_RATE_ASSUMED;
	return 1.0;
}

uint64_t cgs_ticks_for(uint64_t ns, double ticks_per_ns)
{
	double v = (double)ns * ticks_per_ns;
	if (!(v < 18446744073709551616.0))
		return UINT64_MAX;
	return v > 0 ? (uint64_t)v : 0;
}

/* ---- set-up ------------------------------------------------------------ */

static int mbind_node(void *p, size_t len, int mode, int node, unsigned flags)
{
	unsigned long mask[NODEMASK_LONGS];
	memset(mask, 0, sizeof(mask));
	mask[node / 64] = 1UL << (node % 64);
	/* maxnode: the kernel reads maxnode - 1 bits. */
	if (syscall(SYS_mbind, p, len, mode, mask, (unsigned long)CGS_NODE_ID_MAX + 2, flags))
		return -errno;
	return 0;
}

/* flags: MPOL_MF_MOVE_ to move pages already there, 0 when there are
 * none (MPOL_MF_MOVE drains every CPU's LRU lists: slow under load). */
/* Counts a failure in counters.ring_bind_failed only for a node's main
 * ring (the routine rings share its node and its fate). */
static void bind_ring(struct cgs_region *r, struct cgs_ring *hdr, void *slots, size_t len, int node, unsigned flags,
		      bool count)
{
	static const int modes[] = { CGS_MPOL_BIND, CGS_MPOL_PREFERRED };
	int err = 0;
	hdr->bound_node = -1;
	hdr->policy = 0;
	for (unsigned i = 0; i < CGS_ARRAY_LEN(modes); i++) {
		err = mbind_node(slots, len, modes[i], node, flags);
		if (!err) {
			mbind_node(hdr, PAGE, modes[i], node, flags); /* best effort: the slots matter most */
			hdr->bound_node = node;
			hdr->policy = modes[i];
			return;
		}
	}
	hdr->bind_errno = -err;
	if (count)
		cgs_count(&r->counters.ring_bind_failed);
}

/* One ring of cap records, bound to node; NULL without memory. */
static struct cgs_ring *make_ring(struct cgs_region *r, int node, uint64_t cap, bool main)
{
	/* Page-aligned and untouched (fresh from the bump allocator, or
	 * zeroed reused chunks that MPOL_MF_MOVE migrates). The header is
	 * written only after it is bound. */
	struct cgs_ring *hdr = cgs_ralloc(r, PAGE);
	size_t len = cap * sizeof(struct cgs_event);
	struct cgs_event *slots = hdr ? cgs_ralloc(r, len) : NULL;
	if (!slots)
		return NULL;
	bind_ring(r, hdr, slots, len, node, MPOL_MF_MOVE_, main);
	hdr->node = node;
	hdr->slots = slots;
	hdr->mask = cap - 1;
	hdr->bytes = PAGE + len;
	/* Fault the first page of slots in now (on its node, by its
	 * policy): the first record, often the one a user looks for, then
	 * does not pay for it. */
	__atomic_store_n(&slots[0].seq, 0, __ATOMIC_RELAXED);
	return hdr;
}

int cgs_rings_init(struct cgs_region *r)
{
	int saved = errno;
	r->slow_ticks = UINT64_MAX;
	struct cgs_rings *rs = cgs_ralloc(r, sizeof(*rs));
	if (!rs)
		return -ENOMEM;
	cgs_topology_load(&rs->topo, r->opts.numa_topology);
	uint64_t cap = CGS_RING_EVENTS_MIN;
	while (cap < r->opts.ring_events && cap < CGS_RING_EVENTS_MAX)
		cap <<= 1;
	rs->capacity = (uint32_t)cap;
	rs->nrings = rs->topo.nrings;
	rs->cpu_rseq = cgs_cpu_from_rseq();
	rs->routine_capacity = (uint32_t)CGS_ROUTINE_CAP(cap);
	for (uint32_t i = 0; i < rs->nrings; i++) {
		rs->ring[i] = make_ring(r, rs->topo.node[i], cap, true);
		if (!rs->ring[i]) {
			errno = saved;
			return -ENOMEM;
		}
		/* Without room for the routine rings, routine dl calls share
		 * the node's ring as before. */
		for (int k = 0; k < CGS_ROUTINE_KINDS; k++)
			rs->routine[k][i] = make_ring(r, rs->topo.node[i], rs->routine_capacity, false);
	}
	rs->ticks_per_ns = cgs_tsc_estimate(&rs->rate_source);
	r->rings = rs;
	__atomic_store_n(&r->slow_ticks, cgs_ticks_for(r->opts.slow_ns, rs->ticks_per_ns), __ATOMIC_RELEASE);
	errno = saved;
	return 0;
}

void cgs_rings_after_fork(struct cgs_region *r)
{
	struct cgs_rings *rs = r->rings;
	if (!rs)
		return;
	int saved = errno;
	for (uint32_t i = 0; i < rs->nrings; i++)
		for (int k = -1; k < CGS_ROUTINE_KINDS; k++) {
			struct cgs_ring *ring = k < 0 ? rs->ring[i] : rs->routine[k][i];
			if (!ring)
				continue;
			ring->first = cgs_ring_head(ring);
			/* The parent's records are not the child's (first): drop
			 * the copied slots, so each page comes back on the ring's
			 * node when it is next written, and bind without moving
			 * anything. A fork must stay cheap (a program may fork from
			 * a timer's handler). */
			size_t len = (ring->mask + 1) * sizeof(struct cgs_event);
			madvise(ring->slots, len, MADV_REMOVE);
			bind_ring(r, ring, ring->slots, len, ring->node, 0, k < 0);
		}
	errno = saved;
}

/* ---- records ----------------------------------------------------------- */

static inline uint64_t rotl(uint64_t v, unsigned k)
{
	return (v << k) | (v >> (64 - k));
}

/* The checksum covers the 15 words after seq (the check field counted as 0)
 * and idx: their sum and their xor, mixed (fold). Two independent chains of
 * one add or xor per word, three multiplications: a few ns. A mix of two
 * records' words must keep both the sum and the xor to pass, and then
 * passes the fold with odds of about 2^-32. */
#define CHECK_WORD 7 /* bytes 56..63: fd, then check in the high half */
#define CPU_WORD 8   /* bytes 64..71: cpu, node, fn, textlen */
_Static_assert(offsetof(struct cgs_event, check) == CHECK_WORD * 8 + 4, "check: high half of word 7");
_Static_assert(offsetof(struct cgs_event, cpu) == CPU_WORD * 8 && offsetof(struct cgs_event, node) == CPU_WORD * 8 + 2,
	       "cpu and node: low half of word 8");

/* The two sums, a (plus idx + 1) and b, folded into 32 bits. A bit flip
 * at bit p changes a from bit p up and b at bit p only; rotated by 29, b's
 * change is elsewhere, and after the multiplications by odd constants the
 * lowest changed bits of the two halves differ, so the xor changes. */
static inline uint32_t fold(uint64_t a, uint64_t b)
{
	uint64_t h = ((a * 0x9E3779B97F4A7C15ULL) ^ (rotl(b, 29) * 0xC2B2AE3D27D4EB4FULL)) * 0xD6E8FEB86659FD93ULL;
	return (uint32_t)(h >> 32) ^ (uint32_t)h;
}

static inline uint32_t sum_words(const uint64_t *w, uint64_t idx)
{
	uint64_t a = idx + 1, b = 0;
	for (unsigned i = 1; i < 16; i++) {
		a += w[i];
		b ^= w[i];
	}
	return fold(a, b);
}

uint32_t cgs_event_sum(const struct cgs_event *e, uint64_t idx)
{
	uint64_t w[16];
	memcpy(w, e, sizeof(w));
	w[CHECK_WORD] &= 0xffffffffULL; /* the check itself counts as 0 */
	return sum_words(w, idx);
}

/* Word i of a record. */
static inline uint64_t word(const struct cgs_event *e, unsigned i)
{
	uint64_t v;
	memcpy(&v, (const char *)e + 8 * i, sizeof(v));
	return v;
}

/* The record goes out word by word, cpu, node and check patched in
 * registers: writing them into *e first and reading them back as words
 * would stall on store forwarding (narrow stores, then a wide load), which
 * costs more than the rest of the write. No temporary copy either, for the
 * same reason. */
static inline uint64_t put_words(struct cgs_ring *ring, const struct cgs_event *e, uint16_t cpu, uint16_t node,
				 uint32_t *check)
{
	uint64_t w7 = word(e, CHECK_WORD) & 0xffffffffULL;
	uint64_t w8 = (word(e, CPU_WORD) & ~0xffffffffULL) | cpu | (uint64_t)node << 16;
	uint64_t a = 0, b = 0;
#pragma GCC unroll 16
	for (unsigned i = 1; i < 16; i++) {
		uint64_t v = i == CHECK_WORD ? w7 : i == CPU_WORD ? w8 : word(e, i);
		a += v;
		b ^= v;
	}
	/* Both sums done before the atomic, and the copy below reads *e again
	 * (L1 loads): else the compiler keeps 15 words live across the atomic
	 * and spills them. */
	__asm__ __volatile__("" : "+r"(a), "+r"(b) : : "memory");
	uint64_t idx = __atomic_fetch_add(&ring->head, 1, __ATOMIC_RELAXED);
	struct cgs_event *slot = &ring->slots[idx & ring->mask];
	*check = fold(a + idx + 1, b);
	w7 |= (uint64_t)*check << 32;
	uint64_t *dst = (uint64_t *)(void *)slot;
	__atomic_store_n(&slot->seq, 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
#pragma GCC unroll 16
	for (unsigned i = 1; i < 16; i++)
		/* Relaxed atomic stores (plain moves on x86): two writers a
		 * whole ring apart can land on one slot, and a reader may copy
		 * it meanwhile; the checksum and seq tell the reader. */
		__atomic_store_n(&dst[i], i == CHECK_WORD ? w7 : i == CPU_WORD ? w8 : word(e, i), __ATOMIC_RELAXED);
	__atomic_store_n(&slot->seq, idx + 1, __ATOMIC_RELEASE);
	return idx;
}

uint64_t cgs_ring_put(struct cgs_ring *ring, struct cgs_event *e)
{
	uint32_t check;
	uint64_t idx = put_words(ring, e, e->cpu, e->node, &check);
	e->seq = idx + 1;
	e->check = check;
	return idx;
}

int cgs_ring_get(const struct cgs_ring *ring, uint64_t idx, struct cgs_event *out)
{
	const struct cgs_event *slot = &ring->slots[idx & ring->mask];
	uint64_t s1 = __atomic_load_n(&slot->seq, __ATOMIC_ACQUIRE);
	if (s1 != idx + 1)
		return s1 > idx + 1 ? CGS_SLOT_GONE : CGS_SLOT_IN_FLIGHT;
	const uint64_t *src = (const uint64_t *)(const void *)slot;
	uint64_t *dst = (uint64_t *)(void *)out;
	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	uint64_t s2 = __atomic_load_n(&slot->seq, __ATOMIC_RELAXED);
	if (s2 != s1)
		return CGS_SLOT_GONE; /* a newer record is being written there */
	if (out->check != cgs_event_sum(out, idx))
		return CGS_SLOT_TORN;
	return CGS_SLOT_OK;
}

/* ---- threads' nodes ---------------------------------------------------- */

#define TNODE_PROBES 64

struct cgs_tnode *cgs_tnode_find(struct cgs_rings *rs, int32_t tid, bool insert)
{
	uint32_t h = (uint32_t)tid * 2654435761u;
	for (uint32_t i = 0; i < TNODE_PROBES; i++) {
		struct cgs_tnode *n = &rs->tnode[(h + i) & (CGS_TNODES - 1)];
		int32_t cur = __atomic_load_n(&n->tid, __ATOMIC_ACQUIRE);
		if (cur == tid)
			return n;
		if (cur)
			continue;
		if (!insert)
			return NULL;
		if (__atomic_compare_exchange_n(&n->tid, &cur, tid, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) ||
		    cur == tid)
			return n;
	}
	if (insert)
		__atomic_add_fetch(&rs->tnodes_full, 1, __ATOMIC_RELAXED);
	return NULL;
}

void cgs_tnode_note(struct cgs_tnode *n, int node, uint64_t stamp)
{
	__atomic_store_n(&n->node, node, __ATOMIC_RELAXED);
	__atomic_store_n(&n->stamp, stamp, __ATOMIC_RELAXED);
}

int cgs_rings_thread_node(const struct cgs_rings *rs, int32_t tid)
{
	if (tid <= 0)
		return -1;
	struct cgs_tnode *n = cgs_tnode_find((struct cgs_rings *)rs, tid, false);
	return n ? __atomic_load_n(&n->node, __ATOMIC_RELAXED) : -1;
}

static CGS_TLS struct cgs_tnode *t_tnode;
static CGS_TLS int32_t t_tnode_tid;

static void note_thread(struct cgs_rings *rs, int32_t tid, int node, uint64_t stamp)
{
	if (CGS_UNLIKELY(t_tnode_tid != tid || !t_tnode)) {
		t_tnode = cgs_tnode_find(rs, tid, true);
		t_tnode_tid = tid;
		if (!t_tnode)
			return;
	}
	cgs_tnode_note(t_tnode, node, stamp);
}

/* ---- the write path ---------------------------------------------------- */

uint64_t cgs_event_commit(struct cgs_rings *rs, struct cgs_event *e)
{
	int cpu = cgs_current_cpu();
	unsigned ri = cgs_topology_ring(&rs->topo, cpu);
	struct cgs_ring *ring = rs->ring[ri];
	/* A dl call under the threshold goes to its routine ring. */
	if (cgs_R && e->fn < CGS_FN_COUNT && cgs_fn_family[e->fn] == CGS_FAM_DL &&
	    e->dur < __atomic_load_n(&cgs_R->slow_ticks, __ATOMIC_RELAXED)) {
		int k = e->fn == CGS_FN_dlsym || e->fn == CGS_FN_dlvsym ? CGS_ROUTINE_SYM : CGS_ROUTINE_DL;
		if (rs->routine[k][ri])
			ring = rs->routine[k][ri];
	}
	uint16_t c = cpu >= 0 && cpu < 0xffff ? (uint16_t)cpu : 0xffff, node = (uint16_t)ring->node;
	uint32_t check;
	uint64_t idx = put_words(ring, e, c, node, &check);
	note_thread(rs, e->tid, ring->node, e->t0);
	e->seq = idx + 1;
	e->check = check;
	e->cpu = c;
	e->node = node;
	return idx;
}

/* s into e->text: the head, or for paths the tail (the file name). */
static void set_text(struct cgs_event *e, const char *s, const char *s2, bool tail)
{
	size_t n = s ? strnlen(s, 4096) : 0, n2 = s2 ? strnlen(s2, 256) : 0;
	size_t total = n + (s2 ? 1 + n2 : 0), cap = CGS_EVENT_TEXT;
	if (total <= cap) {
		memcpy(e->text, s, n);
		if (s2) {
			e->text[n] = '@';
			memcpy(e->text + n + 1, s2, n2);
		}
		e->textlen = (uint16_t)total;
		return;
	}
	if (tail && !s2) {
		memcpy(e->text, "...", 3);
		memcpy(e->text + 3, s + n - (cap - 3), cap - 3);
	} else {
		/* head of "name@version", cut with "..." */
		size_t k = 0;
		for (; k < n && k < cap - 3; k++)
			e->text[k] = s[k];
		if (s2 && k < cap - 3)
			e->text[k++] = '@';
		for (size_t j = 0; s2 && j < n2 && k < cap - 3; j++)
			e->text[k++] = s2[j];
		memcpy(e->text + k, "...", 3);
		k += 3;
		cap = k;
	}
	e->textlen = (uint16_t)cap;
}

static CGS_TLS uint64_t t_one_caller;
static CGS_TLS uint32_t t_one_gen, t_one_stack;
static CGS_TLS struct cgs_region *t_one_region;

/* The common start of every record: who, when, and the stack. With a
 * caller address (dl calls, which are recorded however short) a call
 * under the threshold gets that one frame as its stack: it names the code
 * that calls, where a full stack would cost more than the call. */
static bool begin(struct cgs_tstate *t, struct cgs_event *e, int fn, uint64_t t0, uint64_t ticks,
		  uint64_t caller)
{
	struct cgs_region *r = cgs_R;
	if (!r || !r->rings)
		return false;
	memset(e, 0, sizeof(*e));
	e->fn = (uint16_t)fn;
	e->t0 = t0;
	e->dur = ticks;
	e->fd = -1;
	e->tid = t && t->tid > 0 ? t->tid : cgs_seccomp_allows0(SYS_gettid) ? (int32_t)syscall(SYS_gettid) : 0;
	if (caller && ticks < __atomic_load_n(&r->slow_ticks, __ATOMIC_RELAXED)) {
		/* A loop calls dlsym from one place: the last caller's id is
		 * kept per thread (a stack's identity is its frames and the
		 * dlclose generation). */
		uint32_t gen = __atomic_load_n(&r->stacks->unload_gen, __ATOMIC_RELAXED);
		if (caller != t_one_caller || gen != t_one_gen || r != t_one_region || !t_one_stack) {
			cgs_t_guard++;
			t_one_stack = cgs_stack_intern(r->stacks, &caller, 1, r->modules ? r->modules->epoch : 0);
			cgs_t_guard--;
			t_one_caller = caller;
			t_one_gen = gen;
			t_one_region = r;
		}
		e->stack = t_one_stack;
		return true;
	}
	cgs_t_guard++;
	e->stack = cgs_stack_capture(r->opts.stack_depth);
	cgs_t_guard--;
	return true;
}

void cgs_event_fd(struct cgs_tstate *t, int fn, uint64_t t0, uint64_t ticks, int fd, uint32_t file,
		  uint64_t arg, int64_t result)
{
	int saved = errno;
	struct cgs_event e;
	if (begin(t, &e, fn, t0, ticks, 0)) {
		if (file == CGS_EVENT_NOFILE) {
			cgs_t_guard++;
			file = cgs_fd_file(cgs_R->files, fd);
			cgs_t_guard--;
		}
		e.fd = fd;
		e.file = file + 1;
		e.arg = arg;
		e.result = result;
		e.err = result < 0 ? saved : 0;
		cgs_event_commit(cgs_R->rings, &e);
	}
	errno = saved;
}

void cgs_event_open(struct cgs_tstate *t, int fn, uint64_t t0, uint64_t ticks, const char *path,
		    uint32_t file, int fd)
{
	int saved = errno;
	struct cgs_event e;
	if (begin(t, &e, fn, t0, ticks, 0)) {
		if (file == CGS_EVENT_NOFILE && path) {
			cgs_t_guard++;
			file = cgs_file_intern(cgs_R->files, path, strnlen(path, CGS_FILE_LABEL_MAX));
			cgs_t_guard--;
		}
		e.file = file == CGS_EVENT_NOFILE ? 0 : file + 1;
		set_text(&e, path ? path : "(null)", NULL, true);
		e.fd = fd;
		e.result = fd;
		e.err = fd < 0 ? saved : 0;
		cgs_event_commit(cgs_R->rings, &e);
	}
	errno = saved;
}

void cgs_event_heap(struct cgs_tstate *t, int fn, uint64_t t0, uint64_t ticks, uint64_t size,
		    const void *result, bool failed)
{
	int saved = errno;
	struct cgs_event e;
	if (begin(t, &e, fn, t0, ticks, 0)) {
		e.arg = size;
		e.result = (int64_t)(uintptr_t)result;
		e.err = failed ? saved : 0;
		cgs_event_commit(cgs_R->rings, &e);
	}
	errno = saved;
}

/* ---- dlopen handles' names --------------------------------------------- */

static uint32_t dlname_slot(struct cgs_rings *rs, uint64_t handle, bool insert)
{
	uint32_t h = (uint32_t)((handle >> 4) * 2654435761u);
	for (uint32_t i = 0; i < CGS_DLNAMES; i++) {
		uint32_t k = (h + i) & (CGS_DLNAMES - 1);
		struct cgs_dlname *d = &rs->dlname[k];
		uint64_t cur = __atomic_load_n(&d->handle, __ATOMIC_ACQUIRE);
		if (cur == handle)
			return k + 1;
		if (cur)
			continue;
		if (!insert)
			return 0;
		if (__atomic_compare_exchange_n(&d->handle, &cur, handle, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE) ||
		    cur == handle)
			return k + 1;
	}
	return 0;
}

const struct cgs_dlname *cgs_rings_dlname(const struct cgs_rings *rs, uint32_t index)
{
	return index && index <= CGS_DLNAMES ? &rs->dlname[index - 1] : NULL;
}

void cgs_event_dl(struct cgs_tstate *t, int fn, uint64_t t0, uint64_t ticks, const char *name,
		  const char *version, const void *handle, int64_t result, bool failed, uint64_t caller)
{
	int saved = errno;
	struct cgs_event e;
	if (begin(t, &e, fn, t0, ticks, caller)) {
		struct cgs_rings *rs = cgs_R->rings;
		e.result = result;
		e.err = failed ? saved : 0;
		if (fn == CGS_FN_dlopen) {
			set_text(&e, name ? name : "(main program)", NULL, true);
			if (result) {
				/* Remember the name for later dlsym and dlclose
				 * records. A handle reused after a dlclose gets
				 * the new name. */
				uint32_t k = dlname_slot(rs, (uint64_t)result, true);
				if (k) {
					struct cgs_dlname *d = &rs->dlname[k - 1];
					memcpy(d->name, e.text, e.textlen);
					__atomic_store_n(&d->len, e.textlen, __ATOMIC_RELEASE);
					e.file = k;
				}
			}
			e.arg = (uint64_t)result;
		} else {
			e.arg = (uint64_t)(uintptr_t)handle;
			if (handle)
				e.file = dlname_slot(rs, (uint64_t)(uintptr_t)handle, false);
			if (name)
				set_text(&e, name, version, false);
		}
		cgs_event_commit(rs, &e);
	}
	errno = saved;
}

/* ---- report side -------------------------------------------------------- */

int cgs_ring_policy_node(const struct cgs_ring *ring, int *policy)
{
	unsigned long mask[NODEMASK_LONGS];
	int mode = 0, node = -1;
	int saved = errno;
	memset(mask, 0, sizeof(mask));
	*policy = -1;
	if (syscall(SYS_get_mempolicy, &mode, mask, (unsigned long)CGS_NODE_ID_MAX + 2, ring->slots, MPOL_F_ADDR_)) {
		errno = saved;
		return -1;
	}
	*policy = mode;
	if (mode == CGS_MPOL_BIND || mode == CGS_MPOL_PREFERRED) {
		for (int i = 0; i < NODEMASK_LONGS * 64; i++) {
			if (!(mask[i / 64] & (1UL << (i % 64))))
				continue;
			if (node >= 0) {
				node = -1; /* more than one node */
				break;
			}
			node = i;
		}
	}
	errno = saved;
	return node;
}
