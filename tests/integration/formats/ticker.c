/* ticker.c - ticker N: N reads of /dev/zero, ten at a time with 2 ms
 * between, then 400 ms with no call at all before it exits: with
 * CGOSHIM_INTERVAL=50ms every call is made before the last interval
 * reports, so the deltas of the interval reports must add up to the
 * final report's cumulative count exactly (test_interval.py). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	int fd = open("/dev/zero", O_RDONLY);
	if (fd < 0)
		return 2;
	char buf[16];
	for (int i = 0; i < n; i++) {
		if (read(fd, buf, sizeof(buf)) != sizeof(buf))
			return 3;
		if (i % 10 == 9) {
			struct timespec ts = { 0, 2000000 };
			nanosleep(&ts, NULL);
		}
	}
	struct timespec rest = { 0, 400000000 };
	nanosleep(&rest, NULL);
	printf("%d reads\n", n);
	return 0;
}
