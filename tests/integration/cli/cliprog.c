/* cliprog.c - the program that the cli tests (test_cli.c) run under the shim
 * to get real reports to diff, merge and draw.
 *
 *	cliprog READS LEAK_BYTES [extra]
 *
 * Reads /dev/zero READS times (64 bytes each), leaks LEAK_BYTES from
 * leak_here() in blocks of at most 4096 bytes, and with "extra" also leaks
 * 3 blocks of 777 bytes from leak_extra(), a site the other runs lack. Built
 * with -O0 -fno-builtin so that every call reaches the shim and the frames
 * carry exact lines. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *volatile cliprog_sink; /* the last block; the others are lost */

__attribute__((noinline)) void leak_here(size_t bytes)
{
	while (bytes) {
		size_t k = bytes < 4096 ? bytes : 4096;
		char *p = malloc(k);
		if (!p)
			exit(3);
		memset(p, 1, k);
		cliprog_sink = p;
		bytes -= k;
	}
}

__attribute__((noinline)) void leak_extra(void)
{
	for (int i = 0; i < 3; i++) {
		char *p = malloc(777);
		if (!p)
			exit(3);
		memset(p, 2, 777);
		cliprog_sink = p;
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: cliprog READS LEAK_BYTES [extra]\n");
		return 2;
	}
	long reads = atol(argv[1]);
	size_t leak = (size_t)atol(argv[2]);
	int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	char buf[64];
	for (long i = 0; i < reads; i++)
		if (read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			return 1;
	close(fd);
	leak_here(leak);
	if (argc > 3 && !strcmp(argv[3], "extra"))
		leak_extra();
	return 0;
}
