/* hold.h - the launcher's hold on the program's exit, and its leak gate
 * (hold.c says how both work). */
#ifndef CGOSHIM_HOLD_H
#define CGOSHIM_HOLD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Exit status of a run that leaked past --fail-on-leak (LeakSanitizer's). */
#define CGS_EXIT_LEAK 23

struct cgs_hold_env {
	/* Fill w with up to max watcher pids among our descendants. */
	size_t (*find_watchers)(pid_t pid, pid_t *w, size_t max);
	double limit_s;                 /* longest wait for a final report */
	volatile sig_atomic_t *stop;    /* set when asked to stop waiting */
};

/* Attach to pid (stopped before its exec, not yet traced) to hold its exit.
 * false when that is not possible (it is traced already): no hold. */
bool cgs_hold_seize(pid_t pid);
/* Handle one ptrace stop of the held program (waitpid status). */
void cgs_hold_stop(pid_t pid, int status, const struct cgs_hold_env *env);

/* Read the verdicts in dir; print one line per process over limit bytes
 * (and a line for each process whose kinds are unknown) with say. Returns
 * the number of processes over the limit. */
int cgs_gate_judge(const char *dir, uint64_t limit, void (*say)(const char *fmt, ...));
/* "4096", "64K", "1M", "2G" (and KiB/MiB/GiB): 0, or -1 when malformed. */
int cgs_gate_parse_size(const char *s, uint64_t *out);
/* Remove dir and the verdicts in it. */
void cgs_gate_cleanup(const char *dir);

#endif
