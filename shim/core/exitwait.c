/* exitwait.c - the final report is on disk before a program that ends
 * through libc is gone.
 *
 * Without this the watcher writes the final report only once it sees the
 * process gone, and a script that reads the report right after the program
 * exits finds nothing yet. So the exiting thread asks the watcher for the
 * final report and waits for it, bounded by CGOSHIM_EXIT_WAIT (default 10 s,
 * 0 = no wait):
 *
 *   - exit() and return from main: the shim's ELF destructor. It runs after
 *     the program's atexit handlers and its own destructors (the shim is
 *     initialised right after libc, so finalised after everything that
 *     depends on it), just before stdio is flushed and glibc calls its
 *     internal _exit (not through the PLT, so not the interposer below).
 *   - _exit() and _Exit(): interposed (shim/interpose/exit.c).
 *
 * Every process image waits (what a shell or harness started, exec'd
 * programs too), but not a fork child that did not exec (see below).
 *
 * Nothing is changed on the way: the exit status, the order of atexit
 * handlers and destructors, errno. A Go program ends with a raw exit_group
 * that nothing can delay: there the final report comes once the watcher
 * sees the process gone (README, "Reports").
 *
 * The report written here reflects the state when the exiting thread asked.
 * Other threads may still run, and stdio's flush may still free: once the
 * process is gone the watcher compares what was counted then with what is
 * counted now and, if anything changed, rewrites the final report in place
 * (watcher.c), saying how many calls came after the exit. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <linux/futex.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "log.h"
#include "seccomp.h"
#include "shim.h"

/* Whether process pid is gone or a zombie (a watcher that ended without
 * a report: a wrong CGOSHIM_WATCHER, a crash). Raw system calls only. */
static bool gone(int32_t pid)
{
	char path[40] = "/proc/", num[21], buf[256];
	strcat(path, cgs_u64_str((uint64_t)pid, num));
	strcat(path, "/stat");
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	long n = syscall(SYS_read, fd, buf, sizeof(buf) - 1);
	syscall(SYS_close, fd);
	if (n <= 0)
		return true;
	buf[n] = 0;
	const char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

void cgs_exit_wait(void)
{
	struct cgs_region *r = cgs_R;
	if (!r || !r->opts.exit_wait_ns || !__atomic_load_n(&r->watcher_spawned, __ATOMIC_ACQUIRE))
		return;
	/* A fork child (not exec'd) does not wait: programs fork workers and
	 * crash reporters by the hundred, often from signal handlers, and reap
	 * them at once; each would wait for its own watcher (at nice +10) to
	 * read symbol tables. Their reports still come, just after they are
	 * gone; the launcher waits for them. */
	if (r->fork_generation)
		return;
	/* Under a seccomp filter the wait's own system calls (getpid, futex,
	 * openat) could kill the process or fail: no wait, the report comes
	 * once the process is gone. */
	if (cgs_seccomp_active())
		return;
	int saved = errno;
	/* A vfork child (posix_spawn's failure path, the watcher's own
	 * helpers) shares this memory but is not the process the region
	 * describes: its exit must not end the parent's report. */
	if ((int32_t)syscall(SYS_getpid) != r->pid) {
		errno = saved;
		return;
	}
	/* Several threads may exit at once: each asks (the request is one
	 * flag) and each waits for the same answer. */
	__atomic_store_n(&r->exit_req, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&r->dump_req, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &r->dump_req, FUTEX_WAKE, 1, NULL, NULL, 0);
	int64_t deadline = cgs_mono_ns() + (int64_t)r->opts.exit_wait_ns;
	while (!__atomic_load_n(&r->exit_done, __ATOMIC_ACQUIRE)) {
		int64_t left = deadline - cgs_mono_ns();
		if (left <= 0)
			break;
		/* In slices of 100 ms: a watcher that is gone answers nothing. */
		int32_t wpid = __atomic_load_n(&r->watcher_pid, __ATOMIC_ACQUIRE);
		if (wpid > 0 && gone(wpid))
			break;
		if (left > 100000000)
			left = 100000000;
		struct timespec ts = { left / 1000000000, left % 1000000000 };
		syscall(SYS_futex, &r->exit_done, FUTEX_WAIT, 0, &ts, NULL, 0);
	}
	errno = saved;
}

__attribute__((destructor)) static void cgs_destructor(void)
{
	cgs_exit_wait();
}
