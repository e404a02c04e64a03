/* targets.c - reads and ioctls on several kinds of descriptor, with known
 * counts per file, for test_targets.c (the report's "targets" split).
 *
 *	targets DIR     (DIR holds regular files a, b, c and d)
 *
 *	/dev/zero       open 1, read 100
 *	a pipe          read 50 (49 on its read end, 1 on a dup2 copy), ioctl
 *	                FIONREAD 7
 *	a socketpair    read 2
 *	DIR/a           open 1, read 3, then closed
 *	DIR/b           open 1 (must get a's descriptor number back), read 4
 *	DIR/c           open 1, dup2 onto the descriptor that was the pipe's
 *	                copy, closed; read 2 through the copy
 *	DIR/d           opened by a raw system call the shim does not see,
 *	                read 1 (the shim must find the file by itself)
 *
 * Prints nothing on success; exits 2 naming the step that went wrong. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#define COPY_FD 40

static const char *dir;

static void die(const char *what)
{
	fprintf(stderr, "targets: %s failed\n", what);
	_exit(2);
}

static const char *path(const char *name)
{
	static char buf[512];
	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

static void read_n(int fd, int n, const char *what)
{
	char c;
	for (int i = 0; i < n; i++)
		if (read(fd, &c, 1) != 1)
			die(what);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];

	int zero = open("/dev/zero", O_RDONLY);
	if (zero < 0)
		die("open /dev/zero");
	read_n(zero, 100, "read /dev/zero");

	int p[2];
	if (pipe(p) || write(p[1], "0123456789012345678901234567890123456789012345678901234", 55) != 55)
		die("pipe");
	read_n(p[0], 49, "read pipe");
	if (dup2(p[0], COPY_FD) != COPY_FD)
		die("dup2 pipe");
	read_n(COPY_FD, 1, "read pipe copy");
	for (int i = 0; i < 7; i++) {
		int n = -1;
		if (ioctl(p[0], FIONREAD, &n) || n != 5)
			die("ioctl FIONREAD");
	}

	int s[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) || write(s[1], "ab", 2) != 2)
		die("socketpair");
	read_n(s[0], 2, "read socket");

	int a = open(path("a"), O_RDONLY);
	if (a < 0)
		die("open a");
	read_n(a, 3, "read a");
	if (close(a))
		die("close a");
	int b = open(path("b"), O_RDONLY);
	if (b != a)
		die("open b on a's descriptor number");
	read_n(b, 4, "read b");

	int c = open(path("c"), O_RDONLY);
	if (c < 0 || dup2(c, COPY_FD) != COPY_FD || close(c))
		die("open c, dup2 onto the pipe's copy");
	read_n(COPY_FD, 2, "read c through the copy");

	int d = (int)syscall(SYS_openat, AT_FDCWD, path("d"), O_RDONLY);
	if (d < 0)
		die("raw open d");
	read_n(d, 1, "read d");
	return 0;
}
