/* fastunwind.h - call stacks at frame-pointer speed, from .eh_frame rules.
 *
 * A stack walk needs, per return address, where the caller's frame starts
 * (the CFA: rsp or rbp plus a constant on x86_64), where the return address
 * is (CFA - 8) and where rbp was saved (CFA + n, or not at all). That rule is
 * compiled once per address from the module's .eh_frame (found through its
 * .eh_frame_hdr search table) and kept in a process-wide table that the hot
 * path reads without a lock or a shared write. A walk is then a few loads
 * per frame.
 *
 * Code without unwind tables (Go, JIT) gets libunwind's frame-chain guess:
 * rbp followed when it points a little above the frame, else the end.
 * Everything else goes to libunwind's unw_backtrace for the whole stack:
 * signal frames, CFA expressions, registers kept in other registers, a full
 * rule table. The frames are the ones unw_backtrace returns; CGOSHIM_UNWIND=
 * compare checks that on every capture (tests/integration/core, go).
 *
 * Memory reads are checked: a word of the stack is read only inside pages
 * this thread has seen readable (one system call per new page, kept per
 * thread); one that is not ends the stack. In-process code: async-signal-
 * safe, no allocation. */
#ifndef CGOSHIM_FASTUNWIND_H
#define CGOSHIM_FASTUNWIND_H

#include "common.h"

enum cgs_unwind_mode { CGS_UNWIND_FAST, CGS_UNWIND_LIBUNWIND, CGS_UNWIND_COMPARE };

/* Return addresses of the calling function's stack, innermost first, like
 * unw_backtrace (buf[0] is the address the caller returns to). Returns the
 * count, or -1 when the walk could not run (a fork is being prepared): the
 * caller records no stack. Calls the loader (dl_iterate_phdr) only for an
 * address seen for the first time; libunwind only where said above. */
int cgs_fast_backtrace(void **buf, int max) __attribute__((noinline));

/* unw_libc.c: whether n bytes at addr can be read (a system call). */
bool cgs_readable(const void *addr, size_t n);

#endif
