/* probe_parity.c - call every interposed entry point on its success and
 * failure paths and print what each call returned, one line per call.
 *
 * Used by test_parity.c (PITFALLS item 7): the output with the shim
 * preloaded must be byte-identical to the output without it. A wrapper that
 * changes a return value, loses errno, clobbers errno on success, drops the
 * mode of O_CREAT/O_TMPFILE, writes *out on a failed posix_memalign, or
 * answers a dlopen/dlsym differently (dlerror text included) shows as a
 * differing line.
 *
 *	probe_parity DIR [--no-fd-numbers]
 *
 * DIR is an empty directory the probe may write to. Descriptor numbers are
 * printed (a program may rely on open returning the lowest free number,
 * PITFALLS item 19) unless --no-fd-numbers, which prints "fd" instead so
 * that the other lines can be compared on their own.
 *
 * Every line starts with the name of the function called (the interposed
 * name when the call is direct), so the test can also count the lines per
 * name and compare with the report's counts. Lines whose first word is not
 * a function name ("open(vflags)", "read(vn)") are calls whose entry point
 * depends on the build: with -O2 -D_FORTIFY_SOURCE=2 (PROBE_FORTIFIED) they
 * become __open_2 and __read_chk.
 *
 * Before each call errno is set to SENTINEL; a successful call must leave
 * it alone. Built with -fno-builtin so that the compiler keeps every
 * allocation call as written. */
/* The 32-bit-offset names must stay themselves: meson builds everything
 * with _FILE_OFFSET_BITS=64, which would turn open into open64. */
#undef _FILE_OFFSET_BITS
#ifndef PROBE_FORTIFIED
#undef _FORTIFY_SOURCE
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>

/* Fortified and internal entry points have no prototypes in the headers. */
ssize_t __read_chk(int fd, void *buf, size_t n, size_t bufsize);
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t bufsize);
ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t bufsize);
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

#define SENTINEL 4242

static const char *dir;
static int zero_fd, dir_fd, bad_fd, pipe_r, pipe_w;

static const char *errname(int e)
{
	static char buf[32];
	if (e == SENTINEL)
		return "unchanged";
	const char *n = strerrorname_np(e);
	if (n)
		return n;
	snprintf(buf, sizeof(buf), "%d", e);
	return buf;
}

static void put(const char *fn, const char *what, const char *ret, int e, const char *extra)
{
	printf("%s %s -> %s errno=%s%s%s\n", fn, what, ret, errname(e), extra && *extra ? " " : "",
	       extra ? extra : "");
}

static void put_long(const char *fn, const char *what, long r, int e, const char *extra)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%ld", r);
	put(fn, what, buf, e, extra);
}

/* A descriptor: its number, or only "fd" when the numbers are not compared. */
static bool fd_numbers = true;

static void put_fd(const char *fn, const char *what, int fd, int e, const char *extra)
{
	if (fd >= 0 && !fd_numbers)
		put(fn, what, "fd", e, extra);
	else
		put_long(fn, what, fd, e, extra);
}

static const char *path(const char *name)
{
	static char buf[4][512];
	static int k;
	char *b = buf[k++ % 4];
	snprintf(b, 512, "%s/%s", dir, name);
	return b;
}

/* The mode bits of an open descriptor, or "" when fd < 0. */
static const char *mode_of(int fd)
{
	static char buf[32];
	struct stat st;
	if (fd < 0 || fstat(fd, &st))
		return "";
	snprintf(buf, sizeof(buf), "mode=%04o", (unsigned)(st.st_mode & 07777));
	return buf;
}

static void close_opened(int fd)
{
	if (fd < 0)
		return;
	errno = SENTINEL;
	int r = close(fd);
	put_long("close", "opened", r, errno, NULL);
}

/* ---- read family ------------------------------------------------------ */

static void probe_reads(void)
{
	char buf[64];
	struct iovec iov[2] = { { buf, 8 }, { buf + 8, 8 } };
	const struct { const char *what; int fd; } fds[] = {
		{ "zero", zero_fd }, { "badfd", bad_fd }, { "dir", dir_fd }, { "pipe", pipe_r },
	};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		int fd = fds[i].fd;
		const char *w = fds[i].what;
		ssize_t r;
		/* The pipe holds 3 bytes for each of read, __read_chk and readv. */
		errno = SENTINEL, r = read(fd, buf, 16), put_long("read", w, r, errno, NULL);
		errno = SENTINEL, r = __read_chk(fd, buf, 16, sizeof(buf)), put_long("__read_chk", w, r, errno, NULL);
		errno = SENTINEL, r = pread(fd, buf, 16, 0), put_long("pread", w, r, errno, NULL);
		errno = SENTINEL, r = pread64(fd, buf, 16, 0), put_long("pread64", w, r, errno, NULL);
		errno = SENTINEL, r = __pread_chk(fd, buf, 16, 0, sizeof(buf)), put_long("__pread_chk", w, r, errno, NULL);
		errno = SENTINEL, r = __pread64_chk(fd, buf, 16, 0, sizeof(buf)), put_long("__pread64_chk", w, r, errno, NULL);
		errno = SENTINEL, r = readv(fd, iov, 2), put_long("readv", w, r, errno, NULL);
		errno = SENTINEL, r = preadv(fd, iov, 2, 0), put_long("preadv", w, r, errno, NULL);
		errno = SENTINEL, r = preadv64(fd, iov, 2, 0), put_long("preadv64", w, r, errno, NULL);
	}
	ssize_t r;
	errno = SENTINEL, r = read(zero_fd, buf, 0), put_long("read", "zero-0-bytes", r, errno, NULL);
	errno = SENTINEL, r = read(bad_fd, buf, 0), put_long("read", "badfd-0-bytes", r, errno, NULL);
	volatile int negative = -1;
	errno = SENTINEL, r = readv(zero_fd, iov, negative), put_long("readv", "negative-count", r, errno, NULL);
	errno = SENTINEL, r = pread(zero_fd, buf, 16, -1), put_long("pread", "negative-offset", r, errno, NULL);
	/* The pipe is empty and non-blocking now. */
	errno = SENTINEL, r = read(pipe_r, buf, 16), put_long("read", "empty-nonblocking-pipe", r, errno, NULL);
	if (write(pipe_w, "abcde", 5) != 5)
		exit(3);
	errno = SENTINEL, r = read(pipe_r, buf, sizeof(buf)), put_long("read", "pipe-5", r, errno, NULL);
	printf("data %.5s\n", buf);
}

/* Calls whose entry point depends on the build flags. */
static void probe_fortifiable(void)
{
	char buf[64];
	volatile size_t vn = 16;
	volatile int vflags = O_RDONLY;
	ssize_t r;
	errno = SENTINEL, r = read(zero_fd, buf, vn), put_long("read(vn)", "zero", r, errno, NULL);
	errno = SENTINEL, r = read(bad_fd, buf, vn), put_long("read(vn)", "badfd", r, errno, NULL);
	errno = SENTINEL, r = read(dir_fd, buf, vn), put_long("read(vn)", "dir", r, errno, NULL);
	int fd;
	errno = SENTINEL, fd = open(path("exists"), vflags), put_fd("open(vflags)", "exists", fd, errno, NULL);
	close_opened(fd);
	errno = SENTINEL, fd = open(path("missing"), vflags), put_fd("open(vflags)", "missing", fd, errno, NULL);
	close_opened(fd);
	vflags = O_WRONLY;
	errno = SENTINEL, fd = open(dir, vflags), put_fd("open(vflags)", "dir-for-writing", fd, errno, NULL);
	close_opened(fd);
}

/* ---- open family ------------------------------------------------------ */

#define OPEN_CASES(fn, ...)                                                                        \
	do {                                                                                         \
		int fd;                                                                              \
		errno = SENTINEL, fd = fn(__VA_ARGS__ path("exists"), O_RDONLY);                      \
		put_fd(#fn, "exists", fd, errno, NULL);                                            \
		close_opened(fd);                                                                  \
		errno = SENTINEL, fd = fn(__VA_ARGS__ path("missing"), O_RDONLY);                     \
		put_fd(#fn, "missing", fd, errno, NULL);                                           \
		close_opened(fd);                                                                  \
		errno = SENTINEL, fd = fn(__VA_ARGS__ path("exists"), O_WRONLY | O_CREAT | O_EXCL, 0600); \
		put_fd(#fn, "excl-exists", fd, errno, NULL);                                       \
		close_opened(fd);                                                                  \
		errno = SENTINEL, fd = fn(__VA_ARGS__ path(#fn "-new"), O_WRONLY | O_CREAT | O_EXCL, 0604); \
		put_fd(#fn, "excl-new", fd, errno, mode_of(fd));                                   \
		close_opened(fd);                                                                  \
		errno = SENTINEL, fd = fn(__VA_ARGS__ dir, O_WRONLY);                                 \
		put_fd(#fn, "dir-for-writing", fd, errno, NULL);                                   \
		close_opened(fd);                                                                  \
		errno = SENTINEL, fd = fn(__VA_ARGS__ dir, O_TMPFILE | O_RDWR, 0640);                 \
		put_fd(#fn, "tmpfile", fd, errno, mode_of(fd));                                    \
		close_opened(fd);                                                                  \
	} while (0)

#define OPEN2_CASES(fn, ...)                                                                       \
	do {                                                                                         \
		int fd;                                                                              \
		errno = SENTINEL, fd = fn(__VA_ARGS__ path("exists"), O_RDONLY);                      \
		put_fd(#fn, "exists", fd, errno, NULL);                                            \
		close_opened(fd);                                                                  \
		errno = SENTINEL, fd = fn(__VA_ARGS__ path("missing"), O_RDONLY);                     \
		put_fd(#fn, "missing", fd, errno, NULL);                                           \
		close_opened(fd);                                                                  \
		errno = SENTINEL, fd = fn(__VA_ARGS__ dir, O_WRONLY);                                 \
		put_fd(#fn, "dir-for-writing", fd, errno, NULL);                                   \
		close_opened(fd);                                                                  \
	} while (0)

#define CREAT_CASES(fn)                                                                            \
	do {                                                                                         \
		int fd;                                                                              \
		errno = SENTINEL, fd = fn(path(#fn "-new"), 0640);                                    \
		put_fd(#fn, "new", fd, errno, mode_of(fd));                                        \
		close_opened(fd);                                                                  \
		errno = SENTINEL, fd = fn(path(#fn "-new"), 0600);                                    \
		put_fd(#fn, "truncate-existing", fd, errno, mode_of(fd));                          \
		close_opened(fd);                                                                  \
		errno = SENTINEL, fd = fn(path("nodir/x"), 0600);                                     \
		put_fd(#fn, "missing-dir", fd, errno, NULL);                                       \
		close_opened(fd);                                                                  \
		errno = SENTINEL, fd = fn(dir, 0600);                                                 \
		put_fd(#fn, "dir", fd, errno, NULL);                                               \
		close_opened(fd);                                                                  \
	} while (0)

static void probe_opens(void)
{
	OPEN_CASES(open);
	OPEN_CASES(open64);
	OPEN_CASES(openat, AT_FDCWD,);
	OPEN_CASES(openat64, AT_FDCWD,);
	OPEN2_CASES(__open_2);
	OPEN2_CASES(__open64_2);
	OPEN2_CASES(__openat_2, AT_FDCWD,);
	OPEN2_CASES(__openat64_2, AT_FDCWD,);
	CREAT_CASES(creat);
	CREAT_CASES(creat64);

	/* Relative to a directory descriptor, and with a bad one. */
	int fd;
	errno = SENTINEL, fd = openat(dir_fd, "exists", O_RDONLY), put_fd("openat", "dirfd-relative", fd, errno, NULL);
	close_opened(fd);
	errno = SENTINEL, fd = openat(bad_fd, "exists", O_RDONLY), put_fd("openat", "bad-dirfd", fd, errno, NULL);
	close_opened(fd);
	errno = SENTINEL, fd = openat64(dir_fd, "missing", O_RDONLY), put_fd("openat64", "dirfd-missing", fd, errno, NULL);
	close_opened(fd);
	errno = SENTINEL, fd = __openat_2(dir_fd, "exists", O_RDONLY), put_fd("__openat_2", "dirfd-relative", fd, errno, NULL);
	close_opened(fd);
	errno = SENTINEL, fd = __openat64_2(bad_fd, "exists", O_RDONLY), put_fd("__openat64_2", "bad-dirfd", fd, errno, NULL);
	close_opened(fd);
	errno = SENTINEL, fd = openat(dir_fd, ".", O_TMPFILE | O_RDWR, 0600), put_fd("openat", "dirfd-tmpfile", fd, errno, mode_of(fd));
	close_opened(fd);
}

/* ---- ioctl and close -------------------------------------------------- */

static void probe_ioctl_close(void)
{
	int n = -1, r;
	struct termios tio;
	if (write(pipe_w, "12345", 5) != 5)
		exit(3);
	char extra[32];
	errno = SENTINEL, r = ioctl(pipe_r, FIONREAD, &n);
	snprintf(extra, sizeof(extra), "value=%d", n);
	put_long("ioctl", "FIONREAD-pipe", r, errno, extra);
	n = -1;
	int f;
	errno = SENTINEL, f = open(path("exists"), O_RDONLY), put_fd("open", "exists-for-ioctl", f, errno, NULL);
	errno = SENTINEL, r = ioctl(f, FIONREAD, &n);
	snprintf(extra, sizeof(extra), "value=%d", n);
	put_long("ioctl", "FIONREAD-file", r, errno, extra);
	errno = SENTINEL, r = ioctl(bad_fd, FIONREAD, &n), put_long("ioctl", "FIONREAD-badfd", r, errno, NULL);
	errno = SENTINEL, r = ioctl(pipe_r, TCGETS, &tio), put_long("ioctl", "TCGETS-pipe", r, errno, NULL);
	errno = SENTINEL, r = ioctl(f, TCGETS, &tio), put_long("ioctl", "TCGETS-file", r, errno, NULL);
	errno = SENTINEL, r = ioctl(zero_fd, 0x7a7a7a7aUL, NULL), put_long("ioctl", "bad-request", r, errno, NULL);
	errno = SENTINEL, r = ioctl(f, FIONBIO, &(int){ 1 }), put_long("ioctl", "FIONBIO-file", r, errno, NULL);
	errno = SENTINEL, r = close(f), put_long("close", "file", r, errno, NULL);
	errno = SENTINEL, r = close(f), put_long("close", "again", r, errno, NULL);
	errno = SENTINEL, r = close(bad_fd), put_long("close", "badfd", r, errno, NULL);
	errno = SENTINEL, r = close(-1), put_long("close", "minus-one", r, errno, NULL);
	char buf[8];
	ssize_t k;
	errno = SENTINEL, k = read(pipe_r, buf, sizeof(buf)), put_long("read", "drain-pipe", k, errno, NULL);
}

/* ---- malloc family ---------------------------------------------------- */

static const char *pclass(const void *p)
{
	return p ? "non-NULL" : "NULL";
}

/* Alignment and usable size of a live block, for the line's tail. */
static const char *block(const void *p, size_t align)
{
	static char buf[48];
	if (!p)
		return "";
	snprintf(buf, sizeof(buf), "aligned%zu=%s", align, (uintptr_t)p % align ? "no" : "yes");
	return buf;
}

static void put_usable(void *p)
{
	errno = SENTINEL;
	size_t n = malloc_usable_size(p);
	put_long("malloc_usable_size", p ? "block" : "NULL", (long)n, errno, NULL);
}

static void probe_heap(void)
{
	/* volatile: the sizes are meant to fail at run time, not to warn. */
	volatile size_t huge = SIZE_MAX - 4096, half = SIZE_MAX / 2 + 1;
	void *p, *q;
	char extra[96];

	errno = SENTINEL, p = malloc(0), put("malloc", "0", pclass(p), errno, block(p, 16));
	put_usable(p);
	errno = SENTINEL, free(p), put("free", "block", "void", errno, NULL);
	errno = SENTINEL, p = malloc(huge), put("malloc", "huge", pclass(p), errno, NULL);
	errno = SENTINEL, p = malloc(PTRDIFF_MAX), put("malloc", "PTRDIFF_MAX", pclass(p), errno, NULL);
	errno = SENTINEL, p = malloc(100), put("malloc", "100", pclass(p), errno, block(p, 16));
	put_usable(p);
	errno = SENTINEL, free(p), put("free", "block", "void", errno, NULL);
	errno = SENTINEL, free(NULL), put("free", "NULL", "void", errno, NULL);

	errno = SENTINEL, p = calloc(half, 2), put("calloc", "overflow", pclass(p), errno, NULL);
	errno = SENTINEL, p = calloc(1, huge), put("calloc", "huge", pclass(p), errno, NULL);
	errno = SENTINEL, p = calloc(0, 0), put("calloc", "0x0", pclass(p), errno, NULL);
	errno = SENTINEL, free(p), put("free", "block", "void", errno, NULL);
	errno = SENTINEL, p = calloc(4, 8);
	snprintf(extra, sizeof(extra), "zeroed=%s", p && !memcmp(p, (char[32]){ 0 }, 32) ? "yes" : "no");
	put("calloc", "4x8", pclass(p), errno, extra);
	errno = SENTINEL, free(p), put("free", "block", "void", errno, NULL);

	errno = SENTINEL, p = realloc(NULL, 24), put("realloc", "NULL-24", pclass(p), errno, NULL);
	if (!p)
		exit(3);
	memcpy(p, "0123456789", 11);
	/* Read through a volatile copy: the compiler must not assume p died. */
	char *volatile kept = p;
	errno = SENTINEL, q = realloc(p, huge);
	snprintf(extra, sizeof(extra), "old-kept=%s", !strcmp(kept, "0123456789") ? "yes" : "no");
	put("realloc", "huge", pclass(q), errno, extra);
	p = kept;
	errno = SENTINEL, q = realloc(p, 1000);
	snprintf(extra, sizeof(extra), "copied=%s", q && !strcmp(q, "0123456789") ? "yes" : "no");
	put("realloc", "grow", pclass(q), errno, extra);
	p = q ? q : p;
	put_usable(p);
	errno = SENTINEL, q = realloc(p, 0), put("realloc", "to-0", pclass(q), errno, NULL);
	if (q)
		free(q);

	errno = SENTINEL, p = reallocarray(NULL, 4, 8), put("reallocarray", "NULL-4x8", pclass(p), errno, NULL);
	if (!p)
		exit(3);
	memcpy(p, "abc", 4);
	kept = p;
	errno = SENTINEL, q = reallocarray(p, half, 2);
	snprintf(extra, sizeof(extra), "old-kept=%s", !strcmp(kept, "abc") ? "yes" : "no");
	put("reallocarray", "overflow", pclass(q), errno, extra);
	p = kept;
	errno = SENTINEL, q = reallocarray(p, 16, 8);
	snprintf(extra, sizeof(extra), "copied=%s", q && !strcmp(q, "abc") ? "yes" : "no");
	put("reallocarray", "grow", pclass(q), errno, extra);
	p = q ? q : p;
	errno = SENTINEL, q = reallocarray(p, 0, 8), put("reallocarray", "to-0", pclass(q), errno, NULL);
	if (q)
		free(q);

	static const struct { const char *what; size_t align, size; } pm[] = {
		{ "align3", 3, 16 }, { "align0", 0, 16 }, { "align4", 4, 16 }, { "align24", 24, 16 },
		{ "align64", 64, 100 }, { "align4096", 4096, 10 }, { "align64-huge", 64, SIZE_MAX - 4096 },
		{ "align64-size0", 64, 0 },
	};
	for (size_t i = 0; i < sizeof(pm) / sizeof(pm[0]); i++) {
		void *out = (void *)(uintptr_t)0x5a5a5a5a;
		errno = SENTINEL;
		int rc = posix_memalign(&out, pm[i].align, pm[i].size);
		int e = errno;
		if (out == (void *)(uintptr_t)0x5a5a5a5a)
			snprintf(extra, sizeof(extra), "out=untouched");
		else
			snprintf(extra, sizeof(extra), "out=%s %s", pclass(out), block(out, pm[i].align ? pm[i].align : 1));
		put_long("posix_memalign", pm[i].what, rc, e, extra);
		if (rc == 0)
			free(out);
	}

	static const struct { const char *what; size_t align, size; } al[] = {
		{ "64-128", 64, 128 }, { "64-huge", 64, SIZE_MAX - 4096 }, { "3-16", 3, 16 },
		{ "0-16", 0, 16 }, { "4096-1", 4096, 1 }, { "max-align", (SIZE_MAX >> 1) + 1, 16 },
	};
	for (size_t i = 0; i < sizeof(al) / sizeof(al[0]); i++) {
		size_t a = al[i].align && !(al[i].align & (al[i].align - 1)) && al[i].align < 65536 ? al[i].align : 1;
		errno = SENTINEL, p = aligned_alloc(al[i].align, al[i].size);
		put("aligned_alloc", al[i].what, pclass(p), errno, block(p, a));
		if (p)
			free(p);
		errno = SENTINEL, p = memalign(al[i].align, al[i].size);
		put("memalign", al[i].what, pclass(p), errno, block(p, a));
		if (p)
			free(p);
	}

	errno = SENTINEL, p = valloc(100), put("valloc", "100", pclass(p), errno, block(p, 4096));
	put_usable(p);
	free(p);
	errno = SENTINEL, p = valloc(huge), put("valloc", "huge", pclass(p), errno, NULL);
	errno = SENTINEL, p = pvalloc(100), put("pvalloc", "100", pclass(p), errno, block(p, 4096));
	put_usable(p);
	free(p);
	errno = SENTINEL, p = pvalloc(0), put("pvalloc", "0", pclass(p), errno, block(p, 4096));
	free(p);
	errno = SENTINEL, p = pvalloc(huge), put("pvalloc", "huge", pclass(p), errno, NULL);
	put_usable(NULL);
}

/* ---- dl family -------------------------------------------------------- */

static void put_dl(const char *fn, const char *what, const char *ret, int e)
{
	const char *err = dlerror();
	char extra[600];
	snprintf(extra, sizeof(extra), "dlerror=%s", err ? err : "(none)");
	put(fn, what, ret, e, extra);
}

static void probe_dl(void)
{
	void *h, *s;
	int r;
	errno = SENTINEL, h = dlopen("libcgsio-no-such-lib.so", RTLD_NOW), put_dl("dlopen", "missing", pclass(h), errno);
	errno = SENTINEL, h = dlopen("/nonexistent/libcgsio.so", RTLD_NOW), put_dl("dlopen", "missing-path", pclass(h), errno);
	errno = SENTINEL, h = dlopen(path("exists"), RTLD_NOW), put_dl("dlopen", "not-elf", pclass(h), errno);
	errno = SENTINEL, h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD), put_dl("dlopen", "noload-libc", pclass(h), errno);
	if (h) {
		errno = SENTINEL, r = dlclose(h);
		put_long("dlclose", "libc", r, errno, NULL);
	}
	errno = SENTINEL, h = dlopen("libcgsio-no-such-lib.so", RTLD_NOW | RTLD_NOLOAD);
	put_dl("dlopen", "noload-missing", pclass(h), errno);
	void *self;
	errno = SENTINEL, self = dlopen(NULL, RTLD_NOW), put_dl("dlopen", "self", pclass(self), errno);
	errno = SENTINEL, h = dlopen("libm.so.6", RTLD_NOW), put_dl("dlopen", "libm", pclass(h), errno);
	if (!h || !self)
		exit(3);
	errno = SENTINEL, s = dlsym(h, "cos"), put_dl("dlsym", "libm-cos", pclass(s), errno);
	if (s)
		printf("cos(0) %.1f\n", ((double (*)(double))s)(0.0));
	errno = SENTINEL, s = dlsym(h, "cgsio_missing"), put_dl("dlsym", "libm-missing", pclass(s), errno);
	errno = SENTINEL, s = dlsym(RTLD_DEFAULT, "cgsio_missing"), put_dl("dlsym", "default-missing", pclass(s), errno);
	errno = SENTINEL, s = dlsym(RTLD_DEFAULT, "strlen"), put_dl("dlsym", "default-strlen", pclass(s), errno);
	errno = SENTINEL, s = dlsym(RTLD_NEXT, "cgsio_missing"), put_dl("dlsym", "next-missing", pclass(s), errno);
	errno = SENTINEL, s = dlsym(RTLD_NEXT, "strlen"), put_dl("dlsym", "next-strlen", pclass(s), errno);
	errno = SENTINEL, s = dlsym(self, "main"), put_dl("dlsym", "self-main", pclass(s), errno);
	errno = SENTINEL, s = dlvsym(h, "cos", "GLIBC_2.2.5"), put_dl("dlvsym", "libm-cos", pclass(s), errno);
	errno = SENTINEL, s = dlvsym(h, "cos", "CGSIO_NOPE_1"), put_dl("dlvsym", "libm-bad-version", pclass(s), errno);
	errno = SENTINEL, s = dlvsym(RTLD_NEXT, "cgsio_missing", "GLIBC_2.2.5");
	put_dl("dlvsym", "next-missing", pclass(s), errno);
	errno = SENTINEL, r = dlclose(h), put_long("dlclose", "libm", r, errno, NULL);
	printf("dlerror %s\n", dlerror() ? "set" : "(none)");
	errno = SENTINEL, r = dlclose(self), put_long("dlclose", "self", r, errno, NULL);
	printf("dlerror %s\n", dlerror() ? "set" : "(none)");
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "--no-fd-numbers"))) {
		fprintf(stderr, "usage: %s DIR [--no-fd-numbers]\n", argv[0]);
		return 2;
	}
	/* Work inside DIR with relative names: no line depends on DIR's name. */
	if (chdir(argv[1]))
		return 3;
	dir = ".";
	fd_numbers = argc == 2;
	umask(022);
	int pfd[2];
	if (pipe2(pfd, O_NONBLOCK))
		return 3;
	pipe_r = pfd[0];
	pipe_w = pfd[1];
	/* Fill the pipe for the reads of probe_reads: 3 calls take up to 16
	 * bytes each, the pread family fails with ESPIPE. */
	if (write(pipe_w, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL", 48) != 48)
		return 3;
	/* The descriptor a bad-fd call uses: closed, and high enough that no
	 * open of the probe gets it back. */
	bad_fd = fcntl(0, F_DUPFD, 600);
	if (bad_fd < 0)
		return 3;
	errno = SENTINEL;
	int r = close(bad_fd);
	put_long("close", "for-badfd", r, errno, NULL);
	if (r)
		return 3;

	int fd;
	errno = SENTINEL, fd = creat(path("exists"), 0644), put_fd("creat", "setup", fd, errno, mode_of(fd));
	if (fd < 0 || write(fd, "hello\n", 6) != 6)
		return 3;
	close_opened(fd);
	errno = SENTINEL, zero_fd = open("/dev/zero", O_RDONLY), put_fd("open", "zero", zero_fd, errno, NULL);
	errno = SENTINEL, dir_fd = open(dir, O_RDONLY | O_DIRECTORY), put_fd("open", "dir", dir_fd, errno, NULL);
	if (zero_fd < 0 || dir_fd < 0)
		return 3;

	probe_reads();
	probe_fortifiable();
	probe_opens();
	probe_ioctl_close();
	probe_heap();
	probe_dl();
	printf("done\n");
	return 0;
}
