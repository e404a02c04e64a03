/* timing.c - blocking reads of known length, timed by the program itself
 * (PITFALLS item 20; test_timing.c compares with the report).
 *
 *	timing plain|self|migrate
 *
 * Five times: a writer thread sleeps 20..50 ms and then writes one byte to
 * a pipe; the main thread reads it, measuring its read with CLOCK_MONOTONIC
 * around the call. Modes:
 *	plain    no affinity changes
 *	self     before each read the reader pins itself to CPU 0 or 1 in turn
 *	         (so consecutive reads start on different CPUs)
 *	migrate  the reader pins itself to one CPU; half-way through the wait
 *	         the writer moves it (sched_setaffinity on its thread id) to
 *	         the other, so the read starts on one CPU and returns on the
 *	         other
 * Before them one warm-up read of a byte already in the pipe makes the
 * shim meet this thread and this pipe for the first time: the shim's
 * first-use work (thread block, target lookup) happens after its clock
 * stops but before the program's does, and belongs to no timed read.
 * Output: "warmup NS", one line per read, "read I NS CPU_BEFORE CPU_AFTER",
 * then "done". These six reads are the program's only read calls. Exit 77
 * when CPUs 0 and 1 are not both available (self and migrate modes). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static const int delays_ms[] = { 20, 30, 40, 50, 25 };
#define NREADS (int)(sizeof(delays_ms) / sizeof(delays_ms[0]))

static int pfd[2];
static sem_t go;
static pid_t reader_tid;
static int mode; /* 0 plain, 1 self, 2 migrate */
static int target_cpu[NREADS];

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ms(double ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)((ms - (time_t)(ms / 1000) * 1000) * 1e6) };
	while (nanosleep(&ts, &ts))
		;
}

static int pin(pid_t tid, int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(tid, sizeof(set), &set);
}

static void *writer(void *arg)
{
	for (int i = 0; i < NREADS; i++) {
		while (sem_wait(&go))
			;
		if (mode == 2) {
			sleep_ms(delays_ms[i] / 2.0);
			if (pin(reader_tid, target_cpu[i]))
				perror("sched_setaffinity (writer)");
			sleep_ms(delays_ms[i] / 2.0);
		} else {
			sleep_ms(delays_ms[i]);
		}
		if (write(pfd[1], "x", 1) != 1)
			perror("write");
	}
	return arg;
}

int main(int argc, char **argv)
{
	if (argc != 2 || (strcmp(argv[1], "plain") && strcmp(argv[1], "self") && strcmp(argv[1], "migrate"))) {
		fprintf(stderr, "usage: %s plain|self|migrate\n", argv[0]);
		return 2;
	}
	mode = !strcmp(argv[1], "plain") ? 0 : !strcmp(argv[1], "self") ? 1 : 2;
	if (mode) {
		cpu_set_t set;
		if (sched_getaffinity(0, sizeof(set), &set) || !CPU_ISSET(0, &set) || !CPU_ISSET(1, &set)) {
			printf("skip: CPUs 0 and 1 are not both available\n");
			return 77;
		}
	}
	reader_tid = (pid_t)syscall(SYS_gettid);
	if (pipe(pfd) || sem_init(&go, 0, 0))
		return 3;
	for (int i = 0; i < NREADS; i++)
		target_cpu[i] = mode == 2 ? (i + 1) % 2 : i % 2;
	char c;
	if (write(pfd[1], "w", 1) != 1)
		return 3;
	long long w0 = now_ns();
	if (read(pfd[0], &c, 1) != 1)
		return 3;
	printf("warmup %lld\n", now_ns() - w0);
	pthread_t th;
	if (pthread_create(&th, NULL, writer, NULL))
		return 3;
	for (int i = 0; i < NREADS; i++) {
		if (mode == 1 && pin(0, target_cpu[i]))
			return 3;
		if (mode == 2 && pin(0, i % 2))
			return 3;
		int before = sched_getcpu();
		sem_post(&go);
		long long t0 = now_ns();
		ssize_t r = read(pfd[0], &c, 1);
		long long t1 = now_ns();
		int after = sched_getcpu();
		if (r != 1)
			return 3;
		printf("read %d %lld %d %d\n", i, t1 - t0, before, after);
	}
	pthread_join(th, NULL);
	printf("done\n");
	return 0;
}
