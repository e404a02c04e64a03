/* slowio.c - a C program with calls the flight recorder must catch, for
 * test_rings.c.
 *
 * Reads from a pipe that a writer thread answers after a set delay (slow
 * reads), reads that find data waiting (fast), and dlopen, dlsym, dlvsym
 * and dlclose calls, some of which fail. It prints what it did, so the test
 * can compare the report with it:
 *	tid TID
 *	fast N
 *	slow I fd FD ns NS        (each slow read, NS measured here)
 *	dl done
 * The writer thread waits on a semaphore, not a descriptor: it makes no
 * interposed call that could itself be slow.
 *
 * Usage: slowio [-cpu N] [-reads MS,MS,...] [-us] [-fast N] [-nodl] [-sleep MS]
 *   -cpu    pin the main thread to CPU N first
 *   -reads  delays of the slow reads, in ms (default 20,12,8,5)
 *   -us     the delays are in microseconds
 *   -fast   reads that find their byte waiting (default 20)
 *   -sleep  sleep this long before the slow reads
 *   -dlsyms N  N more dlsym(cos) calls in a loop, between the dlopen and the dlclose
 *   -fork   at the end, fork a child that makes one slow read of MS ms
 *           (prints "child PID slow fd FD ns NS") and exits; wait for it */
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static int pfd[2];
static sem_t go;
static volatile int delay_us;

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *answer(void *arg)
{
	(void)arg;
	for (;;) {
		while (sem_wait(&go))
			;
		if (delay_us < 0)
			return NULL;
		struct timespec ts = { delay_us / 1000000, (delay_us % 1000000) * 1000L };
		while (nanosleep(&ts, &ts))
			;
		if (write(pfd[1], "s", 1) != 1)
			abort();
	}
}

/* Not inlined: its name is in the stack of every slow read. */
__attribute__((noinline)) static long long slow_read(int us)
{
	char c;
	delay_us = us;
	sem_post(&go);
	long long t0 = now_ns();
	ssize_t n = read(pfd[0], &c, 1);
	long long t1 = now_ns();
	if (n != 1)
		abort();
	return t1 - t0;
}

static int dlsym_loop; /* -dlsyms N: N more lookups of cos, a routine loop */

static void dl_calls(void)
{
	void *h = dlopen("libm.so.6", RTLD_NOW);
	if (!h)
		abort();
	if (!dlsym(h, "cos"))
		abort();
	for (int i = 0; i < dlsym_loop; i++)
		if (!dlsym(h, "cos"))
			abort();
	if (dlsym(h, "no_such_symbol"))
		abort();
	if (!dlvsym(h, "cos", "GLIBC_2.2.5"))
		abort();
	if (dlopen("libno-such-library.so.9", RTLD_NOW))
		abort();
	if (dlclose(h))
		abort();
}

int main(int argc, char **argv)
{
	const char *reads = "20,12,8,5";
	int fast = 20, cpu = -1, dl = 1, unit = 1000, sleep_ms = 0, fork_ms = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-cpu") && i + 1 < argc)
			cpu = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-reads") && i + 1 < argc)
			reads = argv[++i];
		else if (!strcmp(argv[i], "-fast") && i + 1 < argc)
			fast = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-dlsyms") && i + 1 < argc)
			dlsym_loop = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-nodl"))
			dl = 0;
		else if (!strcmp(argv[i], "-us"))
			unit = 1;
		else if (!strcmp(argv[i], "-sleep") && i + 1 < argc)
			sleep_ms = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-fork") && i + 1 < argc)
			fork_ms = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: slowio [-cpu N] [-reads MS,...] [-us] [-fast N] [-nodl] [-sleep MS] "
					"[-fork MS]\n");
			return 2;
		}
	}
	if (cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			perror("sched_setaffinity");
			return 1;
		}
	}
	if (pipe(pfd) || sem_init(&go, 0, 0))
		return 1;
	pthread_t th;
	if (pthread_create(&th, NULL, answer, NULL))
		return 1;
	printf("tid %ld\n", (long)syscall(SYS_gettid));

	/* Fast reads first: the shim then knows the pipe's name before the
	 * first slow read (it looks a descriptor up on its first use). */
	for (int k = 0; k < fast; k++) {
		char c;
		if (write(pfd[1], "f", 1) != 1 || read(pfd[0], &c, 1) != 1)
			return 1;
	}
	printf("fast %d\n", fast);
	if (sleep_ms) {
		struct timespec ts = { sleep_ms / 1000, (sleep_ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts))
			;
	}
	char *list = strdup(reads), *save = NULL;
	int i = 0;
	for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save), i++) {
		long long ns = slow_read(atoi(tok) * unit);
		printf("slow %d fd %d ns %lld\n", i, pfd[0], ns);
	}
	free(list);
	if (dl) {
		dl_calls();
		printf("dl done\n");
	}
	delay_us = -1;
	sem_post(&go);
	pthread_join(th, NULL);
	if (fork_ms) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			/* Threads do not survive a fork: a new answering thread. */
			if (pthread_create(&th, NULL, answer, NULL))
				_exit(1);
			long long ns = slow_read(fork_ms * unit);
			printf("child %d slow fd %d ns %lld\n", (int)getpid(), pfd[0], ns);
			delay_us = -1;
			sem_post(&go);
			pthread_join(th, NULL);
			exit(0);
		}
		int st;
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
			return 1;
	}
	return 0;
}
