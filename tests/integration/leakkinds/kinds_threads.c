/* kinds_threads.c - roots in other threads' stacks and TLS (test_kinds.py).
 *
 * Thread 1 keeps X (400) in a local while it blocks in read(); thread 2
 * keeps Y (500) in a __thread variable while it blocks; main drops Z (600)
 * and keeps W (700) in a global. Then a live report (or a valgrind leak
 * check); then the threads free their blocks and end, and main exits.
 * Expected live: X, Y, W still reachable; Z definitely lost (plus the
 * loader's per-thread blocks, still reachable). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <valgrind/valgrind.h>
#include <valgrind/memcheck.h>

static int pipes[2][2];
static int ready[2];
static __thread void *t_keep;
void *g_w;
volatile unsigned long g_sink;

static void wait_on(int fd)
{
	char c;
	while (read(fd, &c, 1) < 0)
		;
}

static void *t1(void *arg)
{
	(void)arg;
	void *volatile x = calloc(1, 400);
	write(ready[1], "1", 1);
	wait_on(pipes[0][0]);
	free(x);
	return NULL;
}

static void *t2(void *arg)
{
	(void)arg;
	t_keep = calloc(1, 500);
	write(ready[1], "2", 1);
	wait_on(pipes[1][0]);
	free(t_keep);
	t_keep = NULL;
	return NULL;
}

__attribute__((noinline)) static void drop(void)
{
	g_sink += (unsigned long)calloc(1, 600) & 1;
	g_w = calloc(1, 700);
}

__attribute__((noinline)) static void scrub(void)
{
	volatile char buf[256 * 1024];
	memset((char *)buf, 0, sizeof(buf));
	g_sink += buf[7];
}

int main(void)
{
	pthread_t a, b;
	if (pipe(pipes[0]) || pipe(pipes[1]) || pipe(ready))
		return 1;
	pthread_create(&a, NULL, t1, NULL);
	pthread_create(&b, NULL, t2, NULL);
	wait_on(ready[0]);
	wait_on(ready[0]);
	drop();
	scrub();
	if (RUNNING_ON_VALGRIND) {
		VALGRIND_DO_LEAK_CHECK;
	} else {
		int (*w)(int) = (int (*)(int))dlsym(RTLD_DEFAULT, "cgoshim_dump_wait");
		if (w)
			w(20000);
	}
	write(pipes[0][1], "x", 1);
	write(pipes[1][1], "x", 1);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	g_sink += (unsigned long)g_w;
	return 0;
}
