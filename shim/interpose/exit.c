/* exit.c - _exit and _Exit: wait (bounded) for the final report, then end
 * the process exactly as glibc does (exit_group). exit() itself calls
 * glibc's internal _exit, not this one: the shim's destructor covers it
 * (shim/core/exitwait.c). */
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "shim.h"

static __attribute__((noreturn)) void end(int status)
{
	cgs_exit_wait();
	for (;;) {
		syscall(SYS_exit_group, status);
		syscall(SYS_exit, status);
	}
}

CGS_EXPORT void _exit(int status)
{
	end(status);
}

CGS_EXPORT void _Exit(int status)
{
	end(status);
}
