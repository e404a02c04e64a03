/* threads_leak.c - allocations that cross threads, and threads that vanish.
 *
 * Usage: threads_leak base|work. Both modes create the same threads; only
 * "work" allocates, so the difference between the two reports is exactly
 * what the threads did (thread creation's own allocations cancel out).
 *
 * Phase A: 10 joinable threads each allocate 10000 blocks, meet at a
 * barrier, then free the blocks of their neighbour (allocated in one
 * thread, freed in another); each also leaks 5 blocks of 777 bytes from
 * thread_leak(). Phase B: 20 detached threads each make 100 malloc/free
 * pairs and leak 3 blocks of 555 bytes from detached_leak(), then exit
 * (PITFALLS item 8: frees after the thread's own state is gone).
 *
 * Threads run on stacks given with pthread_attr_setstack: glibc then frees
 * each thread's TLS vector when the thread ends instead of caching it, so
 * the live set at exit does not depend on timing. */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#define NA 10
#define PER 10000
#define LEAK_A 5
#define NB 20
#define PAIRS_B 100
#define LEAK_B 3
#define STACK (256 * 1024)

static int work;
static void **slots[NA];
static pthread_barrier_t barrier;
static void *leaked[NA * LEAK_A + NB * LEAK_B];
static atomic_int nleaked, finished;

__attribute__((noinline)) static void thread_leak(void)
{
	for (int i = 0; i < LEAK_A; i++)
		leaked[atomic_fetch_add(&nleaked, 1)] = malloc(777);
}

__attribute__((noinline)) static void detached_leak(void)
{
	for (int i = 0; i < LEAK_B; i++)
		leaked[atomic_fetch_add(&nleaked, 1)] = malloc(555);
}

static void *phase_a(void *arg)
{
	int me = (int)(long)arg;
	if (work) {
		for (int j = 0; j < PER; j++)
			slots[me][j] = malloc(32 + (size_t)(j % 8) * 8);
		thread_leak();
	}
	pthread_barrier_wait(&barrier);
	if (work) {
		void **theirs = slots[(me + 1) % NA];
		for (int j = 0; j < PER; j++)
			free(theirs[j]);
	}
	return NULL;
}

static void *phase_b(void *arg)
{
	if (work) {
		for (int j = 0; j < PAIRS_B; j++)
			free(malloc(48));
		detached_leak();
	}
	atomic_fetch_add(&finished, 1);
	return NULL;
}

/* Threads in this process, from /proc/self/status; no malloc (opendir
 * would allocate a different number of times in each run). */
static int tasks(void)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *p = strstr(buf, "\nThreads:");
	return p ? atoi(p + 9) : -1;
}

static void attr_with_stack(pthread_attr_t *a)
{
	void *stack = mmap(NULL, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (stack == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	pthread_attr_init(a);
	pthread_attr_setstack(a, stack, STACK);
}

int main(int argc, char **argv)
{
	if (argc != 2 || (strcmp(argv[1], "base") && strcmp(argv[1], "work"))) {
		fprintf(stderr, "usage: threads_leak base|work\n");
		return 2;
	}
	work = !strcmp(argv[1], "work");
	/* The slot arrays come from mmap, so both modes make the same calls. */
	for (int i = 0; i < NA; i++)
		slots[i] = mmap(NULL, PER * sizeof(void *), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	pthread_t th[NA];
	pthread_barrier_init(&barrier, NULL, NA);
	for (int i = 0; i < NA; i++) {
		pthread_attr_t a;
		attr_with_stack(&a);
		if (pthread_create(&th[i], &a, phase_a, (void *)(long)i))
			return 2;
		pthread_attr_destroy(&a);
	}
	for (int i = 0; i < NA; i++)
		pthread_join(th[i], NULL);

	for (int i = 0; i < NB; i++) {
		pthread_attr_t a;
		pthread_t t;
		attr_with_stack(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &a, phase_b, NULL))
			return 2;
		pthread_attr_destroy(&a);
	}
	/* Wait until every detached thread has really gone (glibc's last
	 * frees happen after the thread function returns). */
	struct timespec ms = { 0, 1000000 };
	for (int i = 0; i < 10000 && (atomic_load(&finished) < NB || tasks() != 1); i++)
		nanosleep(&ms, NULL);
	if (tasks() != 1) {
		fprintf(stderr, "threads_leak: detached threads did not end\n");
		return 2;
	}
	printf("threads_leak %s: mallocs %d, leaked %d\n", argv[1],
	       work ? NA * (PER + LEAK_A) + NB * (PAIRS_B + LEAK_B) : 0, atomic_load(&nleaked));
	return 0;
}
