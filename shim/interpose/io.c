/* io.c - interposers for read, open, close/dup and ioctl: time the call and
 * attribute it to a file. Forwarding only; the policy lives in the core. */
/* The 32-bit-offset names (pread, open, ...) must stay themselves here: meson
 * builds with _FILE_OFFSET_BITS=64, which would turn them into the *64 ones. */
#undef _FILE_OFFSET_BITS
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "ring.h"
#include "shim.h"

/* Fortified and internal entry points have no prototype in the headers. */
ssize_t __read_chk(int fd, void *buf, size_t n, size_t bufsize);
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t bufsize);
ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t bufsize);
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
int ioctl(int fd, unsigned long req, ...);

/* arg: what else identifies the call in a flight-recorder record (the
 * ioctl request), r: its result. Always inlined: a call here would cost
 * more than the rest of the bookkeeping. */
static inline __attribute__((always_inline)) void done_fd(int fn, int tf, int fd, uint64_t t0, int64_t r, uint64_t arg)
{
	uint64_t ticks = cgs_rdtsc() - t0;
	struct cgs_tstate *t = cgs_self();
	if (CGS_UNLIKELY(!t))
		return;
	bool err = r < 0;
	cgs_record(t, fn, ticks, err);
	if (cgs_R->opts.targets)
		cgs_record_target(t, tf, cgs_fd_file(cgs_R->files, fd), ticks, err);
	/* The record looks the file up again: one more lookup on a slow call
	 * beats keeping it live on every call. */
	if (cgs_slow(ticks))
		cgs_event_fd(t, fn, t0, ticks, fd, CGS_EVENT_NOFILE, arg, r);
}

#define READ_LIKE(name, ret_t, params, args, fd)                                   \
	CGS_EXPORT ret_t name params                                              \
	{                                                                         \
		if (!cgs_on() && !cgs_boot())                                     \
			return cgs_real.name args;                                \
		uint64_t t0 = cgs_rdtsc();                                        \
		ret_t r = cgs_real.name args;                                     \
		done_fd(CGS_FN_##name, CGS_TF_READ, fd, t0, r, 0);                \
		return r;                                                         \
	}

READ_LIKE(read, ssize_t, (int fd, void *buf, size_t n), (fd, buf, n), fd)
READ_LIKE(__read_chk, ssize_t, (int fd, void *buf, size_t n, size_t bufsize), (fd, buf, n, bufsize), fd)
READ_LIKE(pread, ssize_t, (int fd, void *buf, size_t n, off_t off), (fd, buf, n, off), fd)
READ_LIKE(pread64, ssize_t, (int fd, void *buf, size_t n, off_t off), (fd, buf, n, off), fd)
READ_LIKE(__pread_chk, ssize_t, (int fd, void *buf, size_t n, off_t off, size_t bufsize),
	  (fd, buf, n, off, bufsize), fd)
READ_LIKE(__pread64_chk, ssize_t, (int fd, void *buf, size_t n, off_t off, size_t bufsize),
	  (fd, buf, n, off, bufsize), fd)
READ_LIKE(readv, ssize_t, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt), fd)
READ_LIKE(preadv, ssize_t, (int fd, const struct iovec *iov, int cnt, off_t off), (fd, iov, cnt, off), fd)
READ_LIKE(preadv64, ssize_t, (int fd, const struct iovec *iov, int cnt, off_t off), (fd, iov, cnt, off), fd)

/* ---- open ------------------------------------------------------------- */

static void done_open(int fn, const char *path, int fd, uint64_t t0)
{
	uint64_t ticks = cgs_rdtsc() - t0;
	struct cgs_tstate *t = cgs_self();
	if (CGS_UNLIKELY(!t))
		return;
	int saved = errno;
	cgs_record(t, fn, ticks, fd < 0);
	uint32_t file = 0;
	if (cgs_R->opts.targets && path) {
		cgs_t_guard++;
		file = cgs_file_intern(cgs_R->files, path, strnlen(path, CGS_FILE_LABEL_MAX));
		cgs_t_guard--;
		cgs_record_target(t, CGS_TF_OPEN, file, ticks, fd < 0);
	}
	if (fd >= 0)
		cgs_fd_set(cgs_R->files, fd, file);
	if (cgs_slow(ticks))
		cgs_event_open(t, fn, t0, ticks, path, cgs_R->opts.targets && path ? file : CGS_EVENT_NOFILE, fd);
	errno = saved;
}

static inline bool needs_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

#define OPEN_VARIADIC(name, dirparam, dirarg)                                      \
	CGS_EXPORT int name(dirparam const char *path, int flags, ...)            \
	{                                                                         \
		mode_t mode = 0;                                                  \
		if (needs_mode(flags)) {                                          \
			va_list ap;                                               \
			va_start(ap, flags);                                      \
			mode = va_arg(ap, mode_t);                                \
			va_end(ap);                                               \
		}                                                                 \
		if (!cgs_on() && !cgs_boot())                                     \
			return cgs_real.name(dirarg path, flags, mode);           \
		uint64_t t0 = cgs_rdtsc();                                        \
		int fd = cgs_real.name(dirarg path, flags, mode);                 \
		done_open(CGS_FN_##name, path, fd, t0);                           \
		return fd;                                                        \
	}

#define DIRP int dirfd,
#define DIRA dirfd,
OPEN_VARIADIC(open, , )
OPEN_VARIADIC(open64, , )
OPEN_VARIADIC(openat, DIRP, DIRA)
OPEN_VARIADIC(openat64, DIRP, DIRA)

#define OPEN_FIXED(name, params, args, path)                                       \
	CGS_EXPORT int name params                                                \
	{                                                                         \
		if (!cgs_on() && !cgs_boot())                                     \
			return cgs_real.name args;                                \
		uint64_t t0 = cgs_rdtsc();                                        \
		int fd = cgs_real.name args;                                      \
		done_open(CGS_FN_##name, path, fd, t0);                           \
		return fd;                                                        \
	}

OPEN_FIXED(__open_2, (const char *path, int flags), (path, flags), path)
OPEN_FIXED(__open64_2, (const char *path, int flags), (path, flags), path)
OPEN_FIXED(__openat_2, (int dirfd, const char *path, int flags), (dirfd, path, flags), path)
OPEN_FIXED(__openat64_2, (int dirfd, const char *path, int flags), (dirfd, path, flags), path)
OPEN_FIXED(creat, (const char *path, mode_t mode), (path, mode), path)
OPEN_FIXED(creat64, (const char *path, mode_t mode), (path, mode), path)

/* ---- close and dup: keep the descriptor map right --------------------- */

CGS_EXPORT int close(int fd)
{
	if (!cgs_on() && !cgs_boot())
		return cgs_real.close(fd);
	uint64_t t0 = cgs_rdtsc();
	int r = cgs_real.close(fd);
	uint64_t ticks = cgs_rdtsc() - t0;
	int saved = errno;
	/* Before the descriptor's file is forgotten. */
	if (cgs_slow(ticks))
		cgs_event_fd(cgs_self(), CGS_FN_close, t0, ticks, fd, CGS_EVENT_NOFILE, 0, r);
	/* On Linux the descriptor is gone even when close fails with EINTR. */
	if (r == 0 || saved != EBADF)
		cgs_fd_clear(cgs_R->files, fd);
	struct cgs_tstate *t = cgs_self();
	if (t)
		cgs_record(t, CGS_FN_close, ticks, r < 0);
	errno = saved;
	return r;
}

CGS_EXPORT int dup(int fd)
{
	if (!cgs_real_ready())
		cgs_real_resolve();
	int r = cgs_real.dup(fd);
	if (r >= 0 && cgs_R)
		cgs_fd_dup(cgs_R->files, fd, r);
	return r;
}

CGS_EXPORT int dup2(int fd, int to)
{
	if (!cgs_real_ready())
		cgs_real_resolve();
	int r = cgs_real.dup2(fd, to);
	if (r >= 0 && cgs_R && fd != to)
		cgs_fd_dup(cgs_R->files, fd, to);
	return r;
}

CGS_EXPORT int dup3(int fd, int to, int flags)
{
	if (!cgs_real_ready())
		cgs_real_resolve();
	int r = cgs_real.dup3(fd, to, flags);
	if (r >= 0 && cgs_R)
		cgs_fd_dup(cgs_R->files, fd, to);
	return r;
}

/* ---- ioctl ------------------------------------------------------------ */

CGS_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (!cgs_on() && !cgs_boot())
		return cgs_real.ioctl(fd, req, arg);
	uint64_t t0 = cgs_rdtsc();
	int r = cgs_real.ioctl(fd, req, arg);
	done_fd(CGS_FN_ioctl, CGS_TF_IOCTL, fd, t0, r, req);
	return r;
}
