/* forkcost.c - what a fork costs a program under the shim.
 *
 * Usage: forkcost [N [GAP_MS]]   (default 200 forks, 10 ms apart)
 *
 * Forks N children, one at a time, GAP_MS apart; each child notes the time
 * it starts running and _exits; the parent waits for it. Prints the mean
 * and median, in ms, of: fork() to the child's first instruction, fork()
 * to fork()'s return in the parent, and fork() to waitpid()'s return. Run
 * it without and with the shim (bench/RESULTS.md, "fork"): under the shim
 * the parent waits while the child copies the shim's state, and the child
 * starts its own watcher before it runs. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void print(const char *what, double *v, int n)
{
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += v[i];
	qsort(v, (size_t)n, sizeof(*v), cmp);
	printf("%-28s mean %7.3f ms  median %7.3f ms\n", what, sum / n, v[n / 2]);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200, gap = argc > 2 ? atoi(argv[2]) : 10;
	if (n < 1 || n > 100000 || gap < 0 || gap > 10000) {
		fprintf(stderr, "usage: forkcost [N [GAP_MS]]\n");
		return 2;
	}
	/* Some live heap, as a real program has. */
	for (int i = 0; i < 1000; i++)
		free(malloc(100));
	volatile double *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	double *child = malloc(n * sizeof(double)), *parent = malloc(n * sizeof(double)),
	       *reaped = malloc(n * sizeof(double));
	if (shared == MAP_FAILED || !child || !parent || !reaped)
		return 1;
	for (int i = 0; i < n; i++) {
		double t0 = now_ms();
		pid_t pid = fork();
		if (pid == 0) {
			shared[0] = now_ms();
			_exit(0);
		}
		if (pid < 0)
			return 1;
		double t1 = now_ms();
		waitpid(pid, NULL, 0);
		double t2 = now_ms();
		child[i] = shared[0] - t0;
		parent[i] = t1 - t0;
		reaped[i] = t2 - t0;
		nanosleep(&(struct timespec){ gap / 1000, (gap % 1000) * 1000000L }, NULL);
	}
	print("fork to child running", child, n);
	print("fork to parent's return", parent, n);
	print("fork to child reaped", reaped, n);
	return 0;
}
