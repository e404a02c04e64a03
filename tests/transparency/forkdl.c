/* forkdl.c - fork while another thread loads and unloads libraries.
 *
 * One thread calls dlopen/dlclose of libm in a loop (each call takes the
 * dynamic loader's locks for a moment); the main thread forks 200 times,
 * and each child allocates a little memory, reads /dev/zero and exits.
 * Without the shim the children never touch the loader, so a loader lock
 * that was held at the moment of the fork does not matter. Under the
 * shim, a child's first malloc must not block on it (or on any lock another
 * thread of the parent held in the shim's unwinder). A child that is not
 * done within 5 s is reported and killed, and no more children are made.
 * Prints the number of children that exited cleanly. */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#define CHILDREN 200

static atomic_int stop;

static void *loader(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		void *h = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
		if (h)
			dlclose(h);
		free(malloc(64));
	}
	return NULL;
}

/* Wait up to 5 s for pid; 1 when it exited 0, -1 when it hung. */
static int wait_child(pid_t pid)
{
	for (int i = 0; i < 5000; i++) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) && WEXITSTATUS(st) == 0;
		if (r < 0)
			return 0;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

int main(void)
{
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		if (pthread_create(&th[i], NULL, loader, NULL))
			return 2;
	int clean = 0;
	for (int i = 0; i < CHILDREN; i++) {
		pid_t pid = fork();
		if (pid < 0)
			return 2;
		if (pid == 0) {
			char buf[32];
			void *p = malloc(100 + (size_t)i);
			int fd = open("/dev/zero", O_RDONLY);
			int ok = p && fd >= 0 && read(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf);
			free(p);
			_exit(ok ? 0 : 1);
		}
		int rc = wait_child(pid);
		if (rc < 0) {
			printf("forkdl: child %d hung for 5 s and was killed\n", i + 1);
			break;
		}
		clean += rc;
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	printf("forkdl: %d of %d children exited cleanly\n", clean, CHILDREN);
	return clean == CHILDREN ? 0 : 1;
}
