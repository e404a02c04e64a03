/* shim.h - glue between the interposers and the core.
 *
 * Every interposer has the same shape:
 *
 *	if (!cgs_on() && !cgs_boot())
 *		return cgs_real.fn(args);          // off, or the shim is busy
 *	t0 = rdtsc; r = cgs_real.fn(args); t1 = rdtsc;
 *	hand (fn, t1 - t0, failed, what identifies the call) to the core;
 *	return r;                               // errno as the real call left it
 *
 * The core never changes errno (paths that make system calls save and
 * restore it) and never blocks in a way a signal handler could deadlock on:
 * a call that arrives while this thread is already inside the shim (the
 * guard is set) is passed through untimed. */
#ifndef CGOSHIM_SHIM_H
#define CGOSHIM_SHIM_H

#include "real.h"
#include "region.h"
#include "tstate.h"

static inline bool cgs_on(void)
{
	return CGS_LIKELY(cgs_R != NULL) && CGS_LIKELY(!cgs_t_guard);
}

/* init.c */
/* Slow path of cgs_on(): make sure the real functions are resolved, start
 * the shim if it can start now. True when the caller should measure. */
bool cgs_boot(void);
/* Time since start in units of 2^CGS_TIME_SHIFT ticks, for allocation ages. */
uint32_t cgs_now_q(uint64_t tsc);

/* signal.c */
void cgs_signal_install(void);
/* Detach: the dump signal back to the program's own disposition. */
void cgs_signal_uninstall(void);
/* Ask the watcher for a dump; async-signal-safe. Returns the request's
 * sequence number. */
uint32_t cgs_dump_request(int trigger);
enum { CGS_TRIGGER_SIGNAL = 1, CGS_TRIGGER_API = 2 };

/* spawn.c: find the watcher executable (at start-up; override: a path from
 * CGOSHIM_WATCHER); start it for this image: 0, -ENOENT (not found),
 * -ENOEXEC (found, would not run), -EAGAIN (no process: RLIMIT_NPROC),
 * -1 (no process). Leaves errno as it was. */
void cgs_spawn_prepare(const char *override);
const char *cgs_watcher_path(void);
int cgs_watcher_spawn(struct cgs_region *r);
/* init.c: spawn, or one line on stderr saying why no report will come. */
void cgs_watcher_start(struct cgs_region *r);
bool cgs_watcher_spawning(void);
/* A low RLIMIT_NPROC that applies to this process: fork children and the
 * images they exec go unmeasured (no watcher process each). */
bool cgs_nproc_tight(void);

/* exitwait.c: ask the watcher for the final report and wait for it,
 * bounded by CGOSHIM_EXIT_WAIT; from the destructor and _exit/_Exit. */
void cgs_exit_wait(void);

/* fork.c */
void cgs_fork_install(void);

/* init.c: cgoshim attach's start (attach.c). */
int cgs_attach_boot(char **env);
/* attach.c */
struct dl_phdr_info;
/* This library's own loaded object. */
bool cgs_self_object(struct dl_phdr_info *out);
/* After a dlopen: point the new objects' GOT entries at the interposers
 * (only while attached). */
void cgs_attach_after_dlopen(void);
/* Exported entry points the command calls in the process (attach.c). */
long cgoshim_attach_init(char **env);
long cgoshim_attach_detach(void);
void *cgoshim_attach_region(void);

/* heap.c: the leak side of an allocation made by an interposer. */
void cgs_heap_note_alloc(struct cgs_tstate *t, void *p, size_t size);

#endif
