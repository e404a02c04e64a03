/* threadwaves.c - threads that keep exiting while dumps are written.
 *
 * Usage: threadwaves WAVES READY_FILE
 *
 * Creates READY_FILE, then runs WAVES waves of 16 threads, half joinable,
 * half detached. Each thread makes 200 malloc/free pairs, leaks exactly one
 * block of 31337 bytes and exits, so its per-thread block in the shim is
 * released and reused by a thread of the next wave while the watcher may
 * be reading it for a live report. Prints the number of blocks leaked.
 * Exit status 0. */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define PER_WAVE 16
#define SENTINEL 31337

static atomic_int leaked, running;
static void *sink[1 << 16];

static void *one_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < 200; i++) {
		char *p = malloc(24 + (size_t)i);
		if (p)
			p[0] = 1;
		free(p);
	}
	int k = atomic_fetch_add(&leaked, 1);
	void *p = malloc(SENTINEL);
	if (k < (1 << 16))
		sink[k] = p;
	atomic_fetch_sub(&running, 1);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	int waves = atoi(argv[1]);
	int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 2;
	close(fd);
	for (int w = 0; w < waves; w++) {
		pthread_t t[PER_WAVE];
		pthread_attr_t detached;
		pthread_attr_init(&detached);
		pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
		for (int i = 0; i < PER_WAVE; i++) {
			atomic_fetch_add(&running, 1);
			if (pthread_create(&t[i], i % 2 ? &detached : NULL, one_thread, NULL)) {
				perror("threadwaves: pthread_create");
				return 2;
			}
		}
		pthread_attr_destroy(&detached);
		for (int i = 0; i < PER_WAVE; i += 2)
			pthread_join(t[i], NULL);
		while (atomic_load(&running) > 0) {
			struct timespec ts = { 0, 100000 };
			nanosleep(&ts, NULL);
		}
	}
	printf("threadwaves: leaked %d x %d\n", atomic_load(&leaked), SENTINEL);
	return 0;
}
