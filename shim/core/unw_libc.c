/* unw_libc.c - the libc that the built-in libunwind sees.
 *
 * libunwind is linked into libcgoshim.so from a static archive
 * (scripts/build-libunwind.sh), hidden. Its calls to libc functions that the
 * shim also exports (read, open, close, malloc, free) would otherwise bind to
 * the shim's own interposers, so the build renames them in libunwind's
 * objects (shim/core/unw_redirect.syms, objcopy --redefine-syms) to the
 * functions below, which are raw system calls: nothing libunwind does is
 * measured or reaches the program's allocator.
 *
 * Its address check. libunwind checks an address it is unsure of by writing
 * one byte from it to a pipe with syscall(SYS_write) (EFAULT: not readable),
 * after a read from the pipe's other end; it opens the pipe with pipe2 on
 * first use and reopens it (close, pipe2) when that read fails. A real pipe
 * would be two descriptors in the program (Python's subprocess tests list
 * them), so pipe2 here hands out two numbers no descriptor can have (above
 * any RLIMIT_NOFILE); a read of the first finds nothing (EAGAIN); a write to
 * the second copies the bytes with process_vm_readv from this very process,
 * which fails with EFAULT exactly where the write would; a close of either
 * succeeds. Where process_vm_readv is refused (seccomp), a real pipe at
 * descriptors 1000 and up does the check.
 *
 * In-process code: raw system calls only, errno kept where the caller does
 * not expect it set. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "common.h"
#include "fastunwind.h"
#include "real.h"
#include "seccomp.h"

#define FD_RD 0x7ffffffe
#define FD_WR 0x7fffffff

static int fallback[2] = { -1, -1 }; /* the real pipe, when process_vm_readv is refused */
static int no_pvr;

static int make_fallback(void)
{
	if (__atomic_load_n(&fallback[1], __ATOMIC_ACQUIRE) >= 0)
		return 0;
	int p[2];
	if (cgs_pipe_high(p, O_CLOEXEC | O_NONBLOCK))
		return -1;
	int none = -1;
	if (!__atomic_compare_exchange_n(&fallback[0], &none, p[0], false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		syscall(SYS_close, p[0]); /* another thread made one */
		syscall(SYS_close, p[1]);
		return 0;
	}
	__atomic_store_n(&fallback[1], p[1], __ATOMIC_RELEASE);
	return 0;
}

/* write(2) of n bytes at addr, for its verdict only: n, or -1 with errno
 * EFAULT when they cannot be read. */
static long validate(const void *addr, size_t n)
{
	char buf[64];
	if (n > sizeof(buf))
		n = sizeof(buf);
	int saved = errno;
	if (!__atomic_load_n(&no_pvr, __ATOMIC_RELAXED)) {
		struct iovec local = { buf, n }, remote = { (void *)(uintptr_t)addr, n };
		long r = syscall(SYS_process_vm_readv, (long)syscall(SYS_getpid), &local, 1UL, &remote, 1UL, 0UL);
		if (r >= 0) {
			errno = saved;
			return r;
		}
		if (errno == EFAULT)
			return -1;
		__atomic_store_n(&no_pvr, 1, __ATOMIC_RELAXED);
	}
	if (make_fallback()) {
		errno = EFAULT; /* no way to check: call it unreadable */
		return -1;
	}
	long r = syscall(SYS_write, __atomic_load_n(&fallback[1], __ATOMIC_ACQUIRE), addr, n);
	if (r > 0)
		syscall(SYS_read, __atomic_load_n(&fallback[0], __ATOMIC_ACQUIRE), buf, (size_t)r);
	return r;
}

/* fastunwind.h: the same check for the fast unwinder; errno kept. */
bool cgs_readable(const void *addr, size_t n)
{
	if (!cgs_seccomp_unwind_ok())
		return false; /* its system calls are forbidden (counted there) */
	int saved = errno;
	bool ok = validate(addr, n) == (long)n;
	errno = saved;
	return ok;
}

/* The names below are what libunwind's objects call after the rename
 * (unw_redirect.syms); nothing else in the shim calls them. */
int cgs_unw_pipe2(int fds[2], int flags);
ssize_t cgs_unw_read(int fd, void *buf, size_t n);
ssize_t cgs_unw_write(int fd, const void *buf, size_t n);
int cgs_unw_close(int fd);
int cgs_unw_open(const char *path, int flags, ...);
long cgs_unw_syscall(long nr, ...);
void *cgs_unw_malloc(size_t n);
void cgs_unw_free(void *p);

int cgs_unw_pipe2(int fds[2], int flags)
{
	(void)flags;
	fds[0] = FD_RD;
	fds[1] = FD_WR;
	return 0;
}

ssize_t cgs_unw_read(int fd, void *buf, size_t n)
{
	if (fd == FD_RD) {
		errno = EAGAIN;
		return -1;
	}
	return syscall(SYS_read, fd, buf, n);
}

ssize_t cgs_unw_write(int fd, const void *buf, size_t n)
{
	if (fd == FD_WR)
		return validate(buf, n);
	return syscall(SYS_write, fd, buf, n);
}

int cgs_unw_close(int fd)
{
	if (fd == FD_RD || fd == FD_WR)
		return 0;
	return (int)syscall(SYS_close, fd);
}

int cgs_unw_open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	int mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, int) : 0;
	va_end(ap);
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC, mode);
}

long cgs_unw_syscall(long nr, ...)
{
	va_list ap;
	va_start(ap, nr);
	long a[6];
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == SYS_write && a[0] == FD_WR)
		return validate((const void *)a[1], (size_t)a[2]);
	return syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* libunwind allocates only to build a path on a rare path (an object seen
 * through a chroot-like root); pages from the kernel, size kept in front. */
void *cgs_unw_malloc(size_t n)
{
	size_t len = (n + 16 + 4095) & ~(size_t)4095;
	if (n > ((size_t)1 << 40))
		return NULL;
	void *p = (void *)syscall(SYS_mmap, NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	*(size_t *)p = len;
	return (char *)p + 16;
}

void cgs_unw_free(void *p)
{
	if (!p)
		return;
	char *base = (char *)p - 16;
	syscall(SYS_munmap, base, *(size_t *)base);
}

/* libunwind's locks (its one-time set-up, its memory pools, and the global
 * register-state cache, which the shim never enables): libunwind takes them
 * with every signal blocked, so a spinlock on the mutex's first word cannot
 * be interrupted by the program. No pthread mutex in the program's process
 * (tests/integration/io/inprocess_symbols.py). */
#include <pthread.h>
#include <sched.h>

int cgs_unw_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a);
int cgs_unw_mutex_lock(pthread_mutex_t *m);
int cgs_unw_mutex_unlock(pthread_mutex_t *m);
int cgs_unw_once(pthread_once_t *once, void (*fn)(void));
char *cgs_unw_strerror(int e);

int cgs_unw_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a)
{
	(void)a;
	__atomic_store_n((int *)m, 0, __ATOMIC_RELEASE);
	return 0;
}

int cgs_unw_mutex_lock(pthread_mutex_t *m)
{
	int *w = (int *)m;
	for (unsigned spins = 0;; spins++) {
		int z = 0;
		if (__atomic_compare_exchange_n(w, &z, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return 0;
		if (spins > 64)
			syscall(SYS_sched_yield);
		else
			__builtin_ia32_pause();
	}
}

int cgs_unw_mutex_unlock(pthread_mutex_t *m)
{
	__atomic_store_n((int *)m, 0, __ATOMIC_RELEASE);
	return 0;
}

/* 0: not run, 1: running, 2: done (pthread_once_t is an int). */
int cgs_unw_once(pthread_once_t *once, void (*fn)(void))
{
	int *w = (int *)once;
	int z = 0;
	if (__atomic_compare_exchange_n(w, &z, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		fn();
		__atomic_store_n(w, 2, __ATOMIC_RELEASE);
		return 0;
	}
	while (__atomic_load_n(w, __ATOMIC_ACQUIRE) != 2)
		syscall(SYS_sched_yield);
	return 0;
}

/* Only libunwind's debug output asks; strerror may allocate (locale). */
char *cgs_unw_strerror(int e)
{
	(void)e;
	return (char *)"error";
}
