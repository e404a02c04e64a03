/* stacks.c - capture call stacks and keep one copy of each; see leaks.h.
 *
 * Capture uses libunwind's unw_backtrace, which walks with the unwind tables
 * (so it is right for code built without frame pointers, like glibc) and
 * caches what it learns per address. Frames inside the shim are dropped.
 *
 * The table: stacks live in 64 KiB chunks from the region; an open-addressing
 * index maps a hash to stack ids; byid maps ids to stacks. Readers probe the
 * index with no lock: an index or byid array that was replaced by a larger
 * one is left in place (never freed), so a reader holding an old pointer
 * reads valid, if older, data. */
#include <errno.h>
#include <sched.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <string.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "gostack.h"
#include "log.h"
#include "leaks.h"
#include "modules.h"
#include "real.h"
#include "region.h"
#include "tstate.h"
#include "seccomp.h"

#define CHUNK (64u << 10)

static uint64_t self_lo, self_hi;
int (*cgs_stack_fix_hook)(void **raw, int got, int cap, bool may_unwind);

void cgs_stacks_set_self(uint64_t lo, uint64_t hi)
{
	self_lo = lo;
	self_hi = hi;
	/* No register-state cache. libunwind 1.6 has no per-thread cache
	 * (UNW_CACHE_PER_THREAD silently becomes the global one), and the
	 * global cache holds a mutex while it calls dl_iterate_phdr, which
	 * takes the loader lock: a thread in dlclose (loader lock held) whose
	 * free the shim unwinds then waits for that mutex, and deadlocks with
	 * the unwinding thread (found by tests/stress). Without the cache there
	 * is no lock; unw_backtrace keeps its own lock-free trace cache, and
	 * callgrind shows no difference (+1551 vs +1522 instructions per
	 * malloc/free pair with stacks). */
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_NONE);
}

int cgs_stacks_init(struct cgs_region *r)
{
	struct cgs_stacks *s = cgs_ralloc(r, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->index_cap = 4096;
	s->index = cgs_ralloc(r, s->index_cap * sizeof(uint32_t));
	s->byid_cap = 2048;
	s->byid = cgs_ralloc(r, s->byid_cap * sizeof(struct cgs_stack *));
	if (!s->index || !s->byid)
		return -ENOMEM;
	r->stacks = s;
	return 0;
}

static uint32_t hash_frames(const uint64_t *f, int n, uint32_t gen)
{
	uint64_t h = 0x243F6A8885A308D3ULL ^ gen;
	for (int i = 0; i < n; i++)
		h = (h ^ f[i]) * 0x100000001B3ULL + (h >> 29);
	uint32_t v = (uint32_t)(h ^ (h >> 32));
	return v ? v : 1;
}

static bool same(const struct cgs_stack *st, uint32_t h, const uint64_t *f, int n, uint32_t gen)
{
	return st->hash == h && st->depth == n && st->unload_gen == gen &&
	       !memcmp(st->frames, f, (size_t)n * sizeof(*f));
}

static uint32_t find(struct cgs_stacks *s, uint32_t h, const uint64_t *f, int n, uint32_t gen)
{
	/* Capacities first: arrays are published before their capacity, so an
	 * array read after its capacity is at least that large. */
	uint32_t cap = __atomic_load_n(&s->index_cap, __ATOMIC_ACQUIRE);
	uint32_t byid_cap = __atomic_load_n(&s->byid_cap, __ATOMIC_ACQUIRE);
	uint32_t *idx = __atomic_load_n(&s->index, __ATOMIC_ACQUIRE);
	struct cgs_stack **byid = __atomic_load_n(&s->byid, __ATOMIC_ACQUIRE);
	for (uint32_t i = h;; i++) {
		uint32_t id = __atomic_load_n(&idx[i & (cap - 1)], __ATOMIC_ACQUIRE);
		if (!id)
			return 0;
		/* An id newer than this byid array: look it up again under the lock. */
		struct cgs_stack *st = id < byid_cap ? byid[id] : NULL;
		if (!st)
			return 0;
		if (same(st, h, f, n, gen))
			return id;
	}
}

static struct cgs_stack *store(struct cgs_region *r, struct cgs_stacks *s, size_t bytes)
{
	if (s->chunk_left < bytes) {
		s->chunk = cgs_ralloc(r, CHUNK);
		s->chunk_left = s->chunk ? CHUNK : 0;
		if (!s->chunk)
			return NULL;
	}
	struct cgs_stack *st = (struct cgs_stack *)s->chunk;
	s->chunk += bytes;
	s->chunk_left -= bytes;
	return st;
}

static bool grow_index(struct cgs_region *r, struct cgs_stacks *s)
{
	uint32_t cap = s->index_cap * 2;
	uint32_t *fresh = cgs_ralloc(r, cap * sizeof(uint32_t));
	if (!fresh)
		return false;
	for (uint32_t id = 1; id <= s->count; id++)
		for (uint32_t i = s->byid[id]->hash;; i++)
			if (!fresh[i & (cap - 1)]) {
				fresh[i & (cap - 1)] = id;
				break;
			}
	__atomic_store_n(&s->index, fresh, __ATOMIC_RELEASE);
	__atomic_store_n(&s->index_cap, cap, __ATOMIC_RELEASE);
	return true;
}

static bool grow_byid(struct cgs_region *r, struct cgs_stacks *s)
{
	uint32_t cap = s->byid_cap * 2;
	struct cgs_stack **fresh = cgs_ralloc(r, cap * sizeof(*fresh));
	if (!fresh)
		return false;
	memcpy(fresh, s->byid, s->byid_cap * sizeof(*fresh));
	__atomic_store_n(&s->byid, fresh, __ATOMIC_RELEASE);
	__atomic_store_n(&s->byid_cap, cap, __ATOMIC_RELEASE);
	return true;
}

uint32_t cgs_stack_intern(struct cgs_stacks *s, const uint64_t *f, int n, uint32_t epoch)
{
	struct cgs_region *r = cgs_R;
	uint32_t gen = __atomic_load_n(&s->unload_gen, __ATOMIC_RELAXED);
	uint32_t h = hash_frames(f, n, gen);
	uint32_t id = find(s, h, f, n, gen);
	if (CGS_LIKELY(id))
		return id;
	cgs_spin_lock(&s->lock);
	id = find(s, h, f, n, gen);
	if (id)
		goto out;
	if (s->count + 1 >= CGS_STACK_IDS - 1 ||
	    ((s->count + 2) * 2 > s->index_cap && !grow_index(r, s)) ||
	    (s->count + 2 > s->byid_cap && !grow_byid(r, s))) {
		cgs_count(&r->counters.stack_overflow);
		goto out;
	}
	struct cgs_stack *st = store(r, s, sizeof(*st) + (size_t)n * sizeof(uint64_t));
	if (!st) {
		cgs_count(&r->counters.stack_overflow);
		goto out;
	}
	st->hash = h;
	st->epoch = epoch;
	st->unload_gen = gen;
	st->depth = (uint16_t)n;
	memcpy(st->frames, f, (size_t)n * sizeof(uint64_t));
	id = s->count + 1;
	s->byid[id] = st;
	__atomic_store_n(&s->count, id, __ATOMIC_RELEASE);
	for (uint32_t i = h;; i++)
		if (!s->index[i & (s->index_cap - 1)]) {
			__atomic_store_n(&s->index[i & (s->index_cap - 1)], id, __ATOMIC_RELEASE);
			break;
		}
out:
	cgs_spin_unlock(&s->lock);
	return id;
}

int cgs_in_dl;
static int unwinders, fork_pending;
/* This thread's own unwinds and loader calls in flight: a fork from a
 * signal handler that interrupted one must not wait for it. */
static CGS_TLS int t_unwinding, t_in_dl;
bool cgs_unwind_off; /* a fork child that must not unwind */

bool cgs_unwind_begin(void)
{
	if (cgs_unwind_off || !cgs_seccomp_unwind_ok())
		return false;
	/* The thread's own count first and last: whenever the shared count
	 * includes this thread, so does its own (a signal can land anywhere). */
	t_unwinding++;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_add_fetch(&unwinders, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&fork_pending, __ATOMIC_SEQ_CST)) {
		__atomic_sub_fetch(&unwinders, 1, __ATOMIC_SEQ_CST);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		t_unwinding--;
		return false;
	}
	return true;
}

void cgs_unwind_end(void)
{
	__atomic_sub_fetch(&unwinders, 1, __ATOMIC_RELEASE);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	t_unwinding--;
}

static bool fork_clean; /* no unwind and no dlopen/dlclose ran at the fork */

void cgs_dl_enter(void)
{
	/* Wait out a fork being prepared (no loader lock is held here), then
	 * announce ourselves; re-check so a fork cannot slip in between. */
	for (;;) {
		while (__atomic_load_n(&fork_pending, __ATOMIC_SEQ_CST))
			sched_yield();
		t_in_dl++;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		__atomic_add_fetch(&cgs_in_dl, 1, __ATOMIC_SEQ_CST);
		if (!__atomic_load_n(&fork_pending, __ATOMIC_SEQ_CST))
			return;
		__atomic_sub_fetch(&cgs_in_dl, 1, __ATOMIC_SEQ_CST);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		t_in_dl--;
	}
}

void cgs_dl_leave(void)
{
	__atomic_sub_fetch(&cgs_in_dl, 1, __ATOMIC_SEQ_CST);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	t_in_dl--;
}

void cgs_unwind_fork_prepare(void)
{
	/* A count, not a flag: one fork's parent handler must not clear the
	 * pending state of another thread's fork. */
	__atomic_add_fetch(&fork_pending, 1, __ATOMIC_SEQ_CST);
	/* Unwinds take microseconds, dlopen and dlclose longer; give up after
	 * a second of wall time (the child then does not unwind). Not at all
	 * when this thread's own is in flight (a fork from a signal handler
	 * that interrupted it). */
	int64_t give_up = cgs_mono_ns() + 1000000000LL;
	for (unsigned spins = 0; !t_unwinding && !t_in_dl; spins++) {
		if (!__atomic_load_n(&unwinders, __ATOMIC_SEQ_CST) && !__atomic_load_n(&cgs_in_dl, __ATOMIC_SEQ_CST))
			break;
		sched_yield();
		if ((spins & 63) == 63 && cgs_mono_ns() >= give_up)
			break;
	}
	fork_clean = !__atomic_load_n(&unwinders, __ATOMIC_SEQ_CST) &&
		     !__atomic_load_n(&cgs_in_dl, __ATOMIC_SEQ_CST);
}

void cgs_unwind_fork_parent(void)
{
	__atomic_sub_fetch(&fork_pending, 1, __ATOMIC_SEQ_CST);
}

bool cgs_unwind_fork_clean(void)
{
	return fork_clean && !__atomic_load_n(&unwinders, __ATOMIC_SEQ_CST) &&
	       !__atomic_load_n(&cgs_in_dl, __ATOMIC_SEQ_CST);
}

void cgs_unwind_fork_child(void)
{
	/* Only the forking thread goes on in the child, with its own calls in
	 * flight (a fork from a dlopen'd constructor, or from a signal
	 * handler): they end, and count down, here. */
	unwinders = t_unwinding;
	cgs_in_dl = t_in_dl;
	if (!fork_clean)
		cgs_unwind_off = true;
	__atomic_store_n(&fork_pending, 0, __ATOMIC_SEQ_CST);
}

uint32_t cgs_stack_capture(int max_depth)
{
	void *raw[CGS_STACK_DEPTH_MAX + 8];
	int want = max_depth + 4; /* room for the shim's own frames */
	if (want > (int)CGS_ARRAY_LEN(raw))
		want = (int)CGS_ARRAY_LEN(raw);
	int got = cgs_backtrace(raw, want, cgs_R->opts.unwind);
	return cgs_stack_finish(raw, got, max_depth);
}

static int libunwind_backtrace(void **raw, int want)
{
	if (!cgs_unwind_begin())
		return 0;
	int got = unw_backtrace(raw, want);
	cgs_unwind_end();
	return got;
}

static void log_mismatch(void **a, int na, void **b, int nb)
{
	static int logged;
	if (__atomic_fetch_add(&logged, 1, __ATOMIC_RELAXED) >= 5)
		return;
	int i = 0;
	while (i < na && i < nb && a[i] == b[i])
		i++;
	char fi[24], fa[24], fb[24], ca[24], cb[24];
	cgs_log("CGOSHIM_UNWIND=compare: stacks differ at frame ", cgs_u64_str((uint64_t)i, fi), ": fast ",
		i < na ? cgs_u64_str((uint64_t)(uintptr_t)a[i], fa) : "(end)", " of ", cgs_u64_str((uint64_t)na, ca),
		" frames, libunwind ", i < nb ? cgs_u64_str((uint64_t)(uintptr_t)b[i], fb) : "(end)", " of ",
		cgs_u64_str((uint64_t)nb, cb), " frames", (const char *)NULL);
	for (int k = 0; k < (na > nb ? na : nb) && k < 12; k++) {
		char x[24], y[24];
		cgs_log("  ", k < na ? cgs_u64_str((uint64_t)(uintptr_t)a[k], x) : "-", " ",
			k < nb ? cgs_u64_str((uint64_t)(uintptr_t)b[k], y) : "-", (const char *)NULL);
	}
}

__attribute__((noinline)) int cgs_backtrace_slow(void **raw, int want, int mode)
{
	struct cgs_region *r = cgs_R;
	if (mode == CGS_UNWIND_LIBUNWIND)
		return libunwind_backtrace(raw, want);
	/* Both from here, so both start in this function. */
	void *fast[CGS_STACK_DEPTH_MAX + 16];
	if (want > (int)CGS_ARRAY_LEN(fast))
		want = (int)CGS_ARRAY_LEN(fast);
	int nf = cgs_unwind_off ? 0 : cgs_fast_backtrace(fast, want);
	int nl = libunwind_backtrace(raw, want);
	if (nf < 0 || !nl)
		return nl; /* a fork was being prepared: nothing to compare */
	cgs_count(&r->counters.unwind_compared);
	/* The program's frames: the shim's (different call sites) dropped. */
	int sf = 0, sl = 0;
	while (sf < nf && (uint64_t)(uintptr_t)fast[sf] - self_lo < self_hi - self_lo)
		sf++;
	while (sl < nl && (uint64_t)(uintptr_t)raw[sl] - self_lo < self_hi - self_lo)
		sl++;
	int kf = nf - sf, kl = nl - sl, k = kf < kl ? kf : kl;
	bool capped = nf == want || nl == want; /* one may have stopped early for room */
	if ((kf != kl && !capped) || memcmp(fast + sf, raw + sl, (size_t)k * sizeof(*raw))) {
		cgs_count(&r->counters.unwind_mismatches);
		log_mismatch(fast + sf, kf, raw + sl, kl);
	}
	return nl;
}

uint32_t cgs_stack_finish(void **raw, int got, int max_depth)
{
	struct cgs_region *r = cgs_R;
	uint64_t f[CGS_STACK_DEPTH_MAX];
	/* The hook enters cgs_unwind_begin itself, only when a dl call is in
	 * flight on this thread: no shared counter on every capture. */
	if (cgs_stack_fix_hook)
		got = cgs_stack_fix_hook(raw, got, max_depth + 1, true);
	/* No frame of the shim is kept: the innermost ones (the interposer
	 * that captures), and any further out (a library constructor that
	 * allocates inside the program's dlopen runs below the shim's dlopen
	 * interposer). */
	int n = 0;
	for (int i = 0; i < got && n < max_depth; i++)
		if ((uint64_t)(uintptr_t)raw[i] - self_lo >= self_hi - self_lo)
			f[n++] = (uint64_t)(uintptr_t)raw[i];
	n = cgs_go_extend(f, n, max_depth);
	if (!n)
		return 0;
	return cgs_stack_intern(r->stacks, f, n, r->modules ? r->modules->epoch : 0);
}

int cgs_stack_unwind_from(uint64_t ip, uint64_t sp, const uint64_t regs[6], void **out, int cap)
{
	unw_context_t uc;
	unw_cursor_t cur;
	if (cap <= 0 || unw_getcontext(&uc))
		return 0;
	uc.uc_mcontext.gregs[REG_RIP] = (greg_t)ip;
	uc.uc_mcontext.gregs[REG_RSP] = (greg_t)sp;
	uc.uc_mcontext.gregs[REG_RBX] = (greg_t)regs[0];
	uc.uc_mcontext.gregs[REG_RBP] = (greg_t)regs[1];
	uc.uc_mcontext.gregs[REG_R12] = (greg_t)regs[2];
	uc.uc_mcontext.gregs[REG_R13] = (greg_t)regs[3];
	uc.uc_mcontext.gregs[REG_R14] = (greg_t)regs[4];
	uc.uc_mcontext.gregs[REG_R15] = (greg_t)regs[5];
	if (unw_init_local(&cur, &uc) < 0)
		return 0;
	int n = 0;
	while (n < cap && unw_step(&cur) > 0) {
		unw_word_t pc;
		if (unw_get_reg(&cur, UNW_REG_IP, &pc) < 0 || !pc)
			break;
		out[n++] = (void *)(uintptr_t)pc;
	}
	return n;
}

const struct cgs_stack *cgs_stack_get(const struct cgs_region *r, uint32_t id)
{
	const struct cgs_stacks *s = r->stacks;
	if (!s || !id || !cgs_region_contains(r, s, sizeof(*s)))
		return NULL;
	struct cgs_stack **byid = s->byid;
	if (id > s->count || id >= s->byid_cap || !cgs_region_contains(r, byid, s->byid_cap * sizeof(*byid)))
		return NULL;
	const struct cgs_stack *st = byid[id];
	if (!cgs_region_contains(r, st, sizeof(*st)) ||
	    !cgs_region_contains(r, st, sizeof(*st) + st->depth * sizeof(uint64_t)) ||
	    st->depth > CGS_STACK_DEPTH_MAX)
		return NULL;
	return st;
}

/* A pipe with both ends at descriptors 1000 and up: the fallback of
 * libunwind's address check when process_vm_readv is refused (unw_libc.c),
 * out of the low numbers a program expects to be its own. */
#define CGS_HIGH_FD 1000
int cgs_pipe_high(int fds[2], int flags)
{
	int saved = errno;
	int p[2];
	if (syscall(SYS_pipe2, p, flags))
		return -1;
	for (int i = 0; i < 2; i++) {
		int high = (int)syscall(SYS_fcntl, p[i], (flags & O_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, CGS_HIGH_FD);
		if (high >= 0) {
			syscall(SYS_close, p[i]);
			p[i] = high;
		}
	}
	fds[0] = p[0];
	fds[1] = p[1];
	errno = saved;
	return 0;
}
