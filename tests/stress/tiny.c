/* tiny.c - a small program for the output-place faults.
 *
 * Usage: tiny [SECONDS]
 * Leaks 2 blocks of 31337 bytes, reads /dev/zero, optionally stays alive
 * SECONDS (so a test can ask for live dumps), prints one line and exits 0. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void *sink[2];

int main(int argc, char **argv)
{
	for (int i = 0; i < 2; i++)
		sink[i] = malloc(31337);
	char buf[64];
	int fd = open("/dev/zero", O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		return 2;
	close(fd);
	double secs = argc > 1 ? atof(argv[1]) : 0;
	if (secs > 0) {
		struct timespec ts = { (time_t)secs, (long)((secs - (time_t)secs) * 1e9) };
		while (nanosleep(&ts, &ts))
			;
	}
	printf("tiny: done\n");
	return 0;
}
