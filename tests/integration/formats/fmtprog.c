/* fmtprog.c - a C program whose calls and leaks are known, for the format
 * tests (test_formats.c).
 *
 * leak_here() leaks 37 blocks of 1111 bytes and leak_other() 3 of 2000;
 * 50 more blocks are freed. It reads 64 bytes from /dev/zero 500 times and
 * calls read on descriptor -1 seven times (EBADF: errors). Then, with an
 * argument MS, it keeps running for MS milliseconds (one read of /dev/zero
 * and a 10 ms sleep per round) so that periodic dumps can be watched.
 * It prints the source line of leak_here's malloc call. Everything but the
 * rounds of the MS loop is the same on every run. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void *kept[40];
static int leak_line;

__attribute__((noinline)) void leak_here(void)
{
	for (int i = 0; i < 37; i++) {
		leak_line = __LINE__ + 1;
		kept[i] = malloc(1111);
	}
}

__attribute__((noinline)) void leak_other(void)
{
	for (int i = 0; i < 3; i++)
		kept[37 + i] = malloc(2000);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	char buf[64];
	leak_here();
	leak_other();
	for (int i = 0; i < 50; i++)
		free(malloc(100 + i));
	int fd = open("/dev/zero", O_RDONLY);
	if (fd < 0)
		return 1;
	for (int i = 0; i < 500; i++)
		if (read(fd, buf, sizeof(buf)) != sizeof(buf))
			return 1;
	for (int i = 0; i < 7; i++)
		if (read(-1, buf, sizeof(buf)) != -1)
			return 1;
	printf("leak_here line %d\n", leak_line);
	fflush(stdout);
	if (argc > 1) {
		double end = now_ms() + atoi(argv[1]);
		while (now_ms() < end) {
			if (read(fd, buf, sizeof(buf)) != sizeof(buf))
				return 1;
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	close(fd);
	return 0;
}
