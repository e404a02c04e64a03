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
#include <pthread.h>
#include <unistd.h>

#include "leaks.h"
#include "log.h"
#include "modules.h"
#include "shim.h"

void cgs_turn_off(void);
bool cgs_watcher_spawning(void);

static void lock_all(void)
{
	struct cgs_region *r = cgs_R;
	if (!r || cgs_watcher_spawning())
		return;
	cgs_unwind_fork_prepare();
	cgs_t_guard++;
	r->fork_sync = 0;
	cgs_leaks_lock_all(r->leaks);
	cgs_spin_lock(&r->stacks->lock);
	cgs_spin_lock(&r->files->lock);
	cgs_spin_lock(&r->modules->lock);
	cgs_spin_lock(&r->threads_lock);
	cgs_spin_lock(&r->alloc_lock);
}

static void unlock_all(struct cgs_region *r)
{
	cgs_spin_unlock(&r->alloc_lock);
	cgs_spin_unlock(&r->threads_lock);
	cgs_spin_unlock(&r->modules->lock);
	cgs_spin_unlock(&r->files->lock);
	cgs_spin_unlock(&r->stacks->lock);
	cgs_leaks_unlock_all(r->leaks);
	cgs_t_guard--;
}

static void parent(void)
{
	if (cgs_R && !cgs_watcher_spawning()) {
		/* Hold every lock until the child has its own copy of the
		 * region, so the copy is consistent and holds nothing this
		 * process does after the fork. */
		cgs_region_fork_wait(cgs_R);
		unlock_all(cgs_R);
		cgs_unwind_fork_parent();
	}
}

static void child(void)
{
	struct cgs_region *r = cgs_R;
	if (!r || cgs_watcher_spawning())
		return;
	cgs_unwind_fork_child();
	if (!r->opts.children) {
		cgs_region_fork_copied(r);
		unlock_all(r);
		cgs_turn_off();
		return;
	}
	/* Copy while the locks are held (the parent waits for this), then
	 * release them in the copy. */
	int rc = cgs_region_privatize(r);
	unlock_all(r);
	if (rc) {
		cgs_turn_off();
		return;
	}
	cgs_t_guard++;
	r->parent_pid = r->pid;
	r->pid = getpid();
	r->fork_generation++;
	r->dump_req = 0;
	r->dump_done = 0;
	r->watcher_up = 0;
	r->watcher_pid = 0;
	__builtin_memset(&r->counters, 0, sizeof(r->counters));
	cgs_tstate_after_fork();
	cgs_t_guard--;
	if (cgs_watcher_spawn(r) < 0)
		cgs_log("cannot start the watcher process in a fork child", (const char *)NULL);
}

void cgs_fork_install(void)
{
	static bool done;
	if (!done && pthread_atfork(lock_all, parent, child) == 0)
		done = true;
}
