/* seccomp.h - never make a system call the program's seccomp filter forbids
 * (issue 13, item 9).
 *
 * The interposers of prctl(PR_SET_SECCOMP) and syscall(SYS_seccomp)
 * (interpose/prctl.c) hand every filter the program installs to
 * cgs_seccomp_note before the kernel gets it; a copy is kept here (in the
 * shim's own memory, no system call). From then on, each system call the
 * shim would make on its own account (a thread's id, a descriptor's file
 * name, a futex wake, unwinding) is first run through those filters, as the
 * kernel would run it; anything but SECCOMP_RET_ALLOW means the call is not
 * made, the measurement that needed it is left out, and
 * counters.seccomp_skipped counts it. A filter the shim could not copy (too
 * large, unreadable) makes it refuse every such call. Filters are per
 * thread in the kernel; the shim applies them to every thread, so it errs
 * only towards making fewer calls.
 *
 * Not seen: filters installed by a raw system call (Go's runtime and
 * x/sys/unix), and filters inherited across exec (the shim's start-up calls
 * must then be allowed). */
#ifndef CGOSHIM_SECCOMP_H
#define CGOSHIM_SECCOMP_H

#include <stdbool.h>

/* Whether the shim may make system call nr with these arguments (any of
 * them may be 0 when the filter cannot depend on it). True while no filter
 * was installed. Async-signal-safe, no system call; counts a refusal. */
bool cgs_seccomp_allows(long nr, const long args[6]);

/* Shorthand for calls whose arguments no filter tests. */
static inline bool cgs_seccomp_allows0(long nr)
{
	static const long none[6];
	return cgs_seccomp_allows(nr, none);
}

/* Whether the program installed a filter (or strict mode) the shim saw. */
bool cgs_seccomp_active(void);

/* Whether libunwind may walk a stack: its system calls (address checks
 * with process_vm_readv and getpid, mincore and msync, mmap and munmap for
 * its caches) are all allowed. Verdict cached per set of filters. */
bool cgs_seccomp_unwind_ok(void);

/* The program is about to install a filter (mode 2, prog a struct
 * sock_fprog *) or strict mode (mode 1, prog NULL). Returns a token for
 * cgs_seccomp_done. */
int cgs_seccomp_note(int mode, const void *prog);
/* The install returned ok (true) or failed: keep or drop the copy. */
void cgs_seccomp_done(int token, bool ok);

#endif
