/* phases.c - a program for the attach tests: it works in phases that the
 * test starts through stdin, so that the test knows which calls were made
 * while cgoshim attach was attached.
 *
 *	"work N K\n": N reads of 1 byte from /dev/zero and N mallocs of K
 *	bytes (kept: leaks of the phase), then "done N" on stdout
 *	"free\n": frees every block kept so far, then "freed" on stdout
 *	"quit\n": exit status 7
 * Blocks allocated before the attach are freed after it by "free": frees
 * of blocks the shim never saw. A second thread sleeps in nanosleep the
 * whole time (a thread stopped inside a system call). */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void *kept[100000];
static size_t nkept;
void *volatile sink;

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts = { 3600, 0 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int main(void)
{
	pthread_t th;
	pthread_create(&th, NULL, sleeper, NULL);
	int fd = open("/dev/zero", O_RDONLY);
	char line[128];
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		unsigned n = 0, k = 0;
		if (sscanf(line, "work %u %u", &n, &k) == 2) {
			char c;
			for (unsigned i = 0; i < n; i++) {
				if (read(fd, &c, 1) != 1)
					return 3;
				void *p = malloc(k);
				if (p && nkept < sizeof(kept) / sizeof(kept[0]))
					kept[nkept++] = p;
				sink = p;
			}
			printf("done %u\n", n);
		} else if (!strncmp(line, "realloc", 7)) {
			for (size_t i = 0; i < nkept; i++)
				kept[i] = realloc(kept[i], 100);
			printf("realloced %zu\n", nkept);
		} else if (!strncmp(line, "free", 4)) {
			for (size_t i = 0; i < nkept; i++)
				free(kept[i]);
			nkept = 0;
			printf("freed\n");
		} else if (!strncmp(line, "quit", 4)) {
			return 7;
		}
	}
	return 0;
}
