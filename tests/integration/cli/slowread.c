/* slowread.c - slowread N USEC: N reads from a pipe whose writer thread
 * writes one byte USEC microseconds after each read began, so every read
 * blocks for about USEC: the "20% slower read" of the diff-runs test. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int fds[2];
static long usec;
static int n;

static void *writer(void *arg)
{
	(void)arg;
	for (int i = 0; i < n; i++) {
		struct timespec ts = { usec / 1000000, (usec % 1000000) * 1000 };
		nanosleep(&ts, NULL);
		if (write(fds[1], "x", 1) != 1)
			exit(3);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 99;
	n = atoi(argv[1]);
	usec = atol(argv[2]);
	if (pipe(fds))
		return 2;
	pthread_t t;
	if (pthread_create(&t, NULL, writer, NULL))
		return 2;
	char c;
	for (int i = 0; i < n; i++)
		if (read(fds[0], &c, 1) != 1)
			return 4;
	pthread_join(t, NULL);
	printf("%d reads\n", n);
	return 0;
}
