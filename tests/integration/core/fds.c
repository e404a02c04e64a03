/* fds.c - programs that care about descriptor numbers (PITFALLS item 19).
 *
 * Usage: fds closeall|lowest.
 * closeall: leaks 4 x 7777 (early_leak), closes every descriptor above 2
 *   with close_range, keeps working for 0.6 s (open, read, malloc), then
 *   leaks 2 x 8888 (late_leak) and exits. A shim that lost its descriptors
 *   must still write a final report that includes the late leaks.
 * lowest: opens /dev/null five times and prints the numbers, closes fd 3
 *   and opens again (POSIX: the lowest free number, 3), then dup and pipe.
 *   Exit status 1 when open did not return the lowest free number. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void *sink[8];

__attribute__((noinline)) static void early_leak(void)
{
	for (int i = 0; i < 4; i++)
		sink[i] = malloc(7777);
}

__attribute__((noinline)) static void late_leak(void)
{
	for (int i = 0; i < 2; i++)
		sink[4 + i] = malloc(8888);
}

static int closeall(void)
{
	early_leak();
	if (close_range(3, ~0U, 0)) {
		perror("close_range");
		return 2;
	}
	int first = -1;
	for (int i = 0; i < 6; i++) {
		int fd = open("/dev/zero", O_RDONLY);
		if (i == 0)
			first = fd;
		char buf[64];
		if (fd < 0 || read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			return 3;
		close(fd);
		free(malloc(1000));
		nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
	}
	late_leak();
	printf("fds closeall: first open after close_range returned %d\n", first);
	return 0;
}

static int lowest(void)
{
	int fd[5];
	printf("fds lowest: opened");
	for (int i = 0; i < 5; i++) {
		fd[i] = open("/dev/null", O_RDONLY);
		printf(" %d", fd[i]);
	}
	close(3);
	int again = open("/dev/null", O_RDONLY);
	printf("\nfds lowest: after close(3) open returned %d\n", again);
	close(4);
	int d = dup(0);
	printf("fds lowest: after close(4) dup returned %d\n", d);
	close(5);
	close(6);
	int p[2];
	if (pipe(p))
		return 2;
	printf("fds lowest: after close(5), close(6) pipe returned %d %d\n", p[0], p[1]);
	return again == 3 && d == 4 && p[0] == 5 && p[1] == 6 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "closeall"))
		return closeall();
	if (argc == 2 && !strcmp(argv[1], "lowest"))
		return lowest();
	fprintf(stderr, "usage: fds closeall|lowest\n");
	return 2;
}
