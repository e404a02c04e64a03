/* leakscan.c - what a leak-kind scan costs the program (bench/run-leakscan).
 *
 *	leakscan BLOCKS SCANS
 *
 * Makes BLOCKS blocks of 16 to 1024 bytes: a third kept in a global array, a
 * third chained from those (reachable), a third dropped (lost). A mutator
 * thread then makes malloc/free pairs and records the longest pair and the
 * pairs per second, first for a quiet second, then while the main thread
 * asks for SCANS live reports one after the other (cgoshim_dump_wait). Each
 * live report makes one scan of the process's memory. Prints one line:
 *	quiet_pairs_per_s quiet_max_ns scan_pairs_per_s scan_max_ns scans_s */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void **kept;
static volatile int phase; /* 0 quiet, 1 scanning, 2 stop */
static volatile unsigned long sink;
static uint64_t pairs[2], maxns[2];

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void *mutator(void *arg)
{
	(void)arg;
	unsigned r = 1;
	while (phase < 2) {
		int p = phase;
		uint64_t t0 = now_ns();
		void *x = malloc(16 + (r = r * 1103515245 + 12345) % 512);
		sink += (unsigned long)x & 1;
		free(x);
		uint64_t d = now_ns() - t0;
		pairs[p]++;
		if (d > maxns[p])
			maxns[p] = d;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000, scans = argc > 2 ? atol(argv[2]) : 10;
	int (*dump_wait)(int) = (int (*)(int))dlsym(RTLD_DEFAULT, "cgoshim_dump_wait");
	kept = calloc((size_t)n, sizeof(void *));
	unsigned r = 7;
	for (long i = 0; i < n; i++) {
		size_t sz = 16 + (r = r * 1103515245 + 12345) % 1009;
		void **b = calloc(1, sz < 16 ? 16 : sz);
		if (i % 3 == 0)
			kept[i] = b;
		else if (i % 3 == 1 && kept[i - 1])
			((void **)kept[i - 1])[0] = b;
		else
			sink += (unsigned long)b & 1;
	}
	pthread_t th;
	pthread_create(&th, NULL, mutator, NULL);
	struct timespec one = { 1, 0 };
	nanosleep(&one, NULL);
	phase = 1;
	uint64_t t0 = now_ns();
	for (long i = 0; i < scans && dump_wait; i++)
		dump_wait(60000);
	double scan_s = (double)(now_ns() - t0) / 1e9;
	phase = 2;
	pthread_join(th, NULL);
	printf("%.0f %llu %.0f %llu %.3f\n", (double)pairs[0], (unsigned long long)maxns[0],
	       (double)pairs[1] / (scan_s > 0 ? scan_s : 1), (unsigned long long)maxns[1], scan_s);
	sink += (unsigned long)kept;
	return 0;
}
