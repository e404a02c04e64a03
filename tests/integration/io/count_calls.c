/* count_calls.c - make known numbers of each interposed call.
 *
 *	count_calls [read=N] [pread=N] [preadv=N] [open=N] [openat=N]
 *	            [ioctl=N] [malloc=N] [calloc=N] [realloc=N] [reallocarray=N]
 *	            [dl=N]
 *
 * Used by test_counts.c and test_strace.c: the report must count exactly
 * these calls, under the name of the entry point the build really calls.
 * The same source is built four ways (see meson.build):
 *	count_plain   no fortification, 32-bit off_t names (read, pread, open...)
 *	count_lfs     -D_FILE_OFFSET_BITS=64 (pread64, preadv64, open64, openat64)
 *	count_fort    -O2 -D_FORTIFY_SOURCE=2 (__read_chk, __pread_chk, __open_2,
 *	              __openat_2): sizes and flags are not compile-time constants
 *	              and the buffers have a known size, so glibc's headers pick
 *	              the checking entry points
 *	count_fort64  both (__read_chk, __pread64_chk, __open64_2, __openat64_2)
 *
 * Besides the counted calls the program opens /dev/zero once (with the same
 * entry point as open=N uses) and makes a pipe; it writes nothing to
 * stdout and uses no stdio, so no other read/open/ioctl call reaches the
 * shim. Each malloc=N iteration is one malloc and one free (volatile
 * pointer, -fno-builtin: the compiler keeps them), calloc=N and realloc=N
 * likewise; each reallocarray=N iteration is reallocarray(NULL, 4, 8),
 * reallocarray of that block to 8 x 8, and free; dl=N is N times dlopen("libm.so.6"), dlsym and dlclose. */
#ifndef COUNT_LFS
#undef _FILE_OFFSET_BITS
#endif
#ifndef COUNT_FORTIFIED
#undef _FORTIFY_SOURCE
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

static void die(const char *what)
{
	ssize_t ignored = write(2, what, strlen(what));
	ignored = write(2, "\n", 1);
	(void)ignored;
	_exit(2);
}

static long arg(int argc, char **argv, const char *key)
{
	size_t k = strlen(key);
	for (int i = 1; i < argc; i++)
		if (!strncmp(argv[i], key, k) && argv[i][k] == '=')
			return strtol(argv[i] + k + 1, NULL, 10);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const keys[] = { "read", "pread", "preadv", "open", "openat",
					    "ioctl", "malloc", "calloc", "realloc", "reallocarray", "dl" };
	for (int i = 1; i < argc; i++) {
		size_t j = 0;
		for (; j < sizeof(keys) / sizeof(keys[0]); j++)
			if (!strncmp(argv[i], keys[j], strlen(keys[j])) && argv[i][strlen(keys[j])] == '=')
				break;
		if (j == sizeof(keys) / sizeof(keys[0]))
			die("usage: count_calls [read=N] [pread=N] [preadv=N] [open=N] [openat=N] "
			    "[ioctl=N] [malloc=N] [calloc=N] [realloc=N] [reallocarray=N] [dl=N]");
	}
	/* Not constants, so that fortified headers choose __read_chk etc. */
	volatile size_t one = 1;
	volatile int rdonly = O_RDONLY;
	char buf[64];
	struct iovec iov = { buf, 1 };

	int zero = open("/dev/zero", rdonly);
	if (zero < 0)
		die("open /dev/zero");
	int p[2];
	if (pipe(p) || write(p[1], "x", 1) != 1)
		die("pipe");

	for (long i = arg(argc, argv, "read"); i > 0; i--)
		if (read(zero, buf, one) != 1)
			die("read");
	for (long i = arg(argc, argv, "pread"); i > 0; i--)
		if (pread(zero, buf, one, 0) != 1)
			die("pread");
	for (long i = arg(argc, argv, "preadv"); i > 0; i--)
		if (preadv(zero, &iov, 1, 0) != 1)
			die("preadv");
	for (long i = arg(argc, argv, "open"); i > 0; i--) {
		int fd = open("/dev/null", rdonly);
		if (fd < 0 || close(fd))
			die("open");
	}
	for (long i = arg(argc, argv, "openat"); i > 0; i--) {
		int fd = openat(AT_FDCWD, "/dev/null", rdonly);
		if (fd < 0 || close(fd))
			die("openat");
	}
	for (long i = arg(argc, argv, "ioctl"); i > 0; i--) {
		int n = 0;
		if (ioctl(p[0], FIONREAD, &n) || n != 1)
			die("ioctl");
	}
	for (long i = arg(argc, argv, "malloc"); i > 0; i--) {
		void *volatile m = malloc(16 + (size_t)(i % 200));
		if (!m)
			die("malloc");
		free(m);
	}
	for (long i = arg(argc, argv, "calloc"); i > 0; i--) {
		void *volatile m = calloc(4, 8 + (size_t)(i % 50));
		if (!m)
			die("calloc");
		free(m);
	}
	for (long i = arg(argc, argv, "realloc"); i > 0; i--) {
		void *volatile m = realloc(NULL, 32);
		if (!m)
			die("realloc");
		free(m);
	}
	for (long i = arg(argc, argv, "reallocarray"); i > 0; i--) {
		void *volatile m = reallocarray(NULL, 4, 8);
		if (!m)
			die("reallocarray");
		void *volatile g = reallocarray(m, 8, 8);
		if (!g)
			die("reallocarray grow");
		free(g);
	}
	for (long i = arg(argc, argv, "dl"); i > 0; i--) {
		void *h = dlopen("libm.so.6", RTLD_NOW);
		if (!h || !dlsym(h, "cos") || dlclose(h))
			die("dl");
	}
	return 0;
}
