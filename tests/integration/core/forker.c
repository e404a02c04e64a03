/* forker.c - fork while other threads allocate; fork and exec.
 *
 * Usage: forker fork|exec.
 * fork: three threads malloc and free in a loop; main leaks 2 x 11111 bytes
 *   (pre_leak), then forks. The first child leaks 5 x 31337 (child_leak)
 *   and exits; the parent leaks 3 x 27182 (parent_leak) after the fork.
 *   Ten more children, forked while the threads still allocate, each make a
 *   few allocations and exit. Every child's pid is printed ("child PID").
 * exec: the child execs /bin/true; its pid is printed ("exec child PID").
 * Exit status 0 when every child exited 0. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

static atomic_int stop;
static void *sink[16];

static void *churn(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		void *p = malloc(64);
		void *q = calloc(3, 100);
		p = realloc(p, 500);
		free(q);
		free(p);
	}
	return NULL;
}

__attribute__((noinline)) static void pre_leak(void)
{
	for (int i = 0; i < 2; i++)
		sink[i] = malloc(11111);
}

__attribute__((noinline)) static void child_leak(void)
{
	for (int i = 0; i < 5; i++)
		sink[2 + i] = malloc(31337);
}

__attribute__((noinline)) static void parent_leak(void)
{
	for (int i = 0; i < 3; i++)
		sink[7 + i] = malloc(27182);
}

static int wait_ok(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int do_fork(void)
{
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		if (pthread_create(&th[i], NULL, churn, NULL))
			return 2;
	pre_leak();
	nanosleep(&(struct timespec){ 0, 20000000 }, NULL);
	fflush(stdout);
	pid_t c = fork();
	if (c < 0)
		return 2;
	if (c == 0) {
		child_leak();
		exit(0);
	}
	parent_leak();
	printf("child %d\n", (int)c);
	int ok = wait_ok(c);
	for (int i = 0; i < 10; i++) {
		fflush(stdout);
		pid_t k = fork();
		if (k < 0)
			return 2;
		if (k == 0) {
			for (int j = 0; j < 100; j++)
				free(malloc(32));
			exit(0);
		}
		printf("child %d\n", (int)k);
		ok &= wait_ok(k);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	printf("forker: children ok: %s\n", ok ? "yes" : "no");
	return ok ? 0 : 1;
}

static int do_exec(void)
{
	fflush(stdout);
	pid_t c = fork();
	if (c < 0)
		return 2;
	if (c == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	printf("exec child %d\n", (int)c);
	int ok = wait_ok(c);
	printf("forker: exec child ok: %s\n", ok ? "yes" : "no");
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "fork"))
		return do_fork();
	if (argc == 2 && !strcmp(argv[1], "exec"))
		return do_exec();
	fprintf(stderr, "usage: forker fork|exec\n");
	return 2;
}
