/* atfork.c - the usual pthread_atfork pattern, under fork.
 *
 * A library that keeps a lock registers handlers so that the lock is held
 * across fork and released on both sides (prepare: lock; parent and child:
 * unlock). The program forks three times; each child reports how many times
 * each handler ran, then exits. Output and status must be the same with and
 * without the shim: the shim must neither hang the child (by forking again
 * from inside its own child handler, which runs the program's prepare
 * handler a second time on a lock the child already holds) nor make the
 * program's handlers run more often than the program forks. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int prepared, in_parent, in_child;

static void prepare(void)
{
	pthread_mutex_lock(&lock);
	prepared++;
}

static void parent(void)
{
	in_parent++;
	pthread_mutex_unlock(&lock);
}

static void child(void)
{
	in_child++;
	pthread_mutex_unlock(&lock);
}

int main(void)
{
	if (pthread_atfork(prepare, parent, child))
		return 2;
	for (int i = 0; i < 3; i++) {
		pid_t pid = fork();
		if (pid < 0)
			return 2;
		if (pid == 0) {
			printf("child %d: prepare %d, parent %d, child %d\n", i, prepared, in_parent, in_child);
			fflush(stdout);
			_exit(0);
		}
		int st;
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
			return 3;
	}
	printf("parent: prepare %d, parent %d, child %d\n", prepared, in_parent, in_child);
	return 0;
}
