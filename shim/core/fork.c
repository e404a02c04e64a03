/* fork.c - keep fork() safe and give each process its own report.
 *
 * prepare: take every shim lock (a lock held by another thread at fork
 * would stay held forever in the child); parent: wait until the child has
 * its copy, then release them; child: copy the region (so the child's
 * writes no longer reach the parent's watcher), release the locks in the
 * copy (cgs_region_privatize keeps it at the same address, so
 * no pointer changes), restart the counts (the child's report covers the
 * child), keep the live allocations (the child's heap is a copy of the
 * parent's), and start a watcher for the child.
 *
 * Lock order: leak shards, stacks, files, modules, threads, allocator.
 * Go's os/exec uses a raw clone(CLONE_VFORK|CLONE_VM) and runs none of this:
 * its child only calls execve, and the new image starts its own shim. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "leaks.h"
#include "log.h"
#include "modules.h"
#include "seccomp.h"
#include "shim.h"

void cgs_turn_off(void);

/* Whether this fork holds every shim lock. It may not: a program can fork
 * from a signal handler that interrupted this very thread inside the shim,
 * holding one of them. So each lock is taken with a bound; if one cannot
 * be had, the fork goes on without the shim's locks and the child runs
 * with the shim off (it cannot copy a consistent region). */
static CGS_TLS bool t_fork_locked;

/* Whether the program's seccomp filter was in at this fork: the child runs
 * unmeasured (its own region and watcher would need system calls of new
 * kinds), so the fork takes no lock and waits for nothing (sched_yield and
 * futex may be what the filter forbids). */
static CGS_TLS bool t_fork_filtered;

static cgs_spin_t *fork_lock(struct cgs_region *r, int i)
{
	if (i < CGS_LEAK_SHARDS)
		return &r->leaks->shard[i].lock;
	switch (i - CGS_LEAK_SHARDS) {
	case 0: return &r->stacks->lock;
	case 1: return &r->files->lock;
	case 2: return &r->modules->lock;
	case 3: return &r->threads_lock;
	default: return &r->alloc_lock;
	}
}
#define FORK_LOCKS (CGS_LEAK_SHARDS + 5)

static bool lock_bounded(cgs_spin_t *l)
{
	/* Held by this very thread: a signal handler that interrupted it
	 * inside the shim is forking. That lock is never let go here. */
	if (cgs_spin_mine(l))
		return false;
	/* Up to 2 s of wall time: under load a holder may wait long for a
	 * CPU; only a lock this thread itself holds (a fork from a signal
	 * handler) is never released. */
	int64_t give_up = cgs_mono_ns() + 2000000000LL;
	for (unsigned i = 0;; i++) {
		if (cgs_spin_trylock(l))
			return true;
		sched_yield();
		if ((i & 63) == 63 && cgs_mono_ns() >= give_up)
			return false;
	}
}

static void unlock_first(struct cgs_region *r, int n)
{
	while (n-- > 0)
		cgs_spin_unlock(fork_lock(r, n));
}

static void lock_all(void)
{
	struct cgs_region *r = cgs_R;
	t_fork_locked = false;
	t_fork_filtered = false;
	if (!r || cgs_watcher_spawning())
		return;
	if (cgs_seccomp_active()) {
		t_fork_filtered = true;
		return;
	}
	cgs_t_guard++;
	/* Stop new unwinds and loader calls and wait for those in flight
	 * (bounded) before taking the locks: a thread inside dlclose may need
	 * a shim lock to finish. The pending state is a count, so concurrent
	 * forks cannot clear each other's. */
	cgs_unwind_fork_prepare();
	for (int i = 0; i < FORK_LOCKS; i++)
		if (!lock_bounded(fork_lock(r, i))) {
			unlock_first(r, i);
			cgs_unwind_fork_parent();
			cgs_t_guard--;
			return;
		}
	r->fork_sync = 0;
	t_fork_locked = true;
}

static void unlock_all(struct cgs_region *r)
{
	unlock_first(r, FORK_LOCKS);
	cgs_t_guard--;
}

static void parent(void)
{
	if (cgs_R && !cgs_watcher_spawning()) {
		/* Hold every lock until the child has its own copy of the
		 * region, so the copy is consistent and holds nothing this
		 * process does after the fork. */
		if (t_fork_locked) {
			cgs_region_fork_wait(cgs_R);
			cgs_unwind_fork_parent();
			unlock_all(cgs_R);
		}
	}
}

/* A fork child that cannot be measured says so, once, on stderr, and is
 * counted in its parent's report (the region is still the parent's). */
static void unmeasured(struct cgs_region *r, const char *why)
{
	__atomic_add_fetch(&r->counters.forks_unmeasured, 1, __ATOMIC_RELAXED);
	char pid[21];
	cgs_log("fork child ", cgs_u64_str((uint64_t)getpid(), pid), " is not measured: ", why, (const char *)NULL);
	cgs_turn_off();
}

static void child(void)
{
	struct cgs_region *r = cgs_R;
	if (!r || cgs_watcher_spawning())
		return;
	if (t_fork_filtered) {
		if (r->opts.children) {
			__atomic_add_fetch(&r->counters.forks_unmeasured, 1, __ATOMIC_RELAXED);
			__atomic_add_fetch(&r->counters.seccomp_skipped, 1, __ATOMIC_RELAXED);
		}
		cgs_turn_off();
		return;
	}
	cgs_unwind_fork_child();
	if (!t_fork_locked) {
		/* Forked without the shim's locks (see t_fork_locked): the
		 * child measures nothing, and never writes the parent's region
		 * but for the count of such children. */
		unmeasured(r, "the shim's locks were held by a thread that did not let go within 2 s");
		return;
	}
	/* Unmeasured by choice: CGOSHIM_CHILDREN=0, or a low RLIMIT_NPROC
	 * (a watcher per child would take processes the program may need;
	 * counted in the parent's report, nothing on stderr); the program's
	 * seccomp filter was handled above, before any system call. The
	 * region and its locks are the parent's: the parent releases them. */
	bool tight = r->opts.children && cgs_nproc_tight();
	if (!r->opts.children || tight) {
		if (tight)
			__atomic_add_fetch(&r->counters.forks_nproc, 1, __ATOMIC_RELAXED);
		cgs_region_fork_copied(r);
		cgs_t_guard--;
		cgs_turn_off();
		return;
	}
	/* Copy while the locks are held (the parent waits for this), then
	 * release them in the copy. */
	int rc = cgs_region_privatize(r);
	unlock_all(r);
	if (rc) {
		unmeasured(r, "no memory for its copy of the shim's state");
		return;
	}
	cgs_t_guard++;
	r->parent_pid = r->pid;
	r->pid = getpid();
	r->fork_generation++;
	{
		struct timespec ts;
		uint64_t now = cgs_rdtsc();
		r->fork_q = (uint32_t)((now - r->start_tsc) >> CGS_TIME_SHIFT);
		r->fork_tsc = now;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		r->fork_mono_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		clock_gettime(CLOCK_REALTIME, &ts);
		r->fork_real_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	}
	r->dump_req = 0;
	r->dump_done = 0;
	r->watcher_up = 0;
	r->watcher_pid = 0;
	r->exit_req = 0;
	r->exit_done = 0;
	r->watcher_spawned = 0;
	__builtin_memset(&r->counters, 0, sizeof(r->counters));
	cgs_tstate_after_fork();
	cgs_heaptot_after_fork(r);
	cgs_t_guard--;
	/* No process to be had (EAGAIN: RLIMIT_NPROC, or the system's
	 * limits): the child runs without a report, and the program's stderr
	 * gets nothing (README, Limits). */
	int spawned = cgs_watcher_spawn(r);
	/* The child's exit waits for its own watcher's report (exitwait.c),
	 * never for one that is not there. */
	__atomic_store_n(&r->watcher_spawned, spawned == 0, __ATOMIC_RELEASE);
	if (spawned < 0 && spawned != -EAGAIN)
		cgs_log("cannot start the watcher process in a fork child", (const char *)NULL);
}

void cgs_fork_install(void)
{
	static bool done;
	if (!done && pthread_atfork(lock_all, parent, child) == 0)
		done = true;
}
