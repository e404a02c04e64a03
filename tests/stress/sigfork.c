/* sigfork.c - a program that forks inside a signal handler.
 *
 * Usage: sigfork heap|io [TAG]   (TAG is ignored: it names the run)
 *
 * SIGALRM arrives every 5 ms (setitimer); its handler forks a child that
 * exits 7 at once, and waits for it. Meanwhile the main thread, the only
 * one, runs a loop of malloc/free (heap) or pipe/write/read/close (io).
 * After 100 forks (a few more: signals land until the timer is stopped) it
 * prints whether it reaped every child, and on stderr how many it forked. fork
 * is not async-signal-safe in POSIX terms, but glibc makes it work in a
 * single-threaded process (it takes no locks then), and programs do it
 * (crash handlers that fork a reporter). So it must work under the shim as
 * it does without it, whatever call the signal interrupts (under the shim
 * each child also starts a watcher and writes a report, so it is slower).
 * Exit status 0 when every child was reaped with status 7. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/time.h>
#include <sys/wait.h>

#define FORKS 100

static volatile sig_atomic_t forks, reaped;

static void on_alarm(int sig)
{
	(void)sig;
	int saved = errno;
	pid_t pid = fork();
	if (pid == 0)
		_exit(7);
	if (pid > 0) {
		forks++;
		int st;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 7)
			reaped++;
	}
	errno = saved;
}

int main(int argc, char **argv)
{
	if (argc < 2 || (strcmp(argv[1], "heap") && strcmp(argv[1], "io"))) {
		fprintf(stderr, "usage: sigfork heap|io\n");
		return 2;
	}
	int heap = !strcmp(argv[1], "heap");
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	/* 5 ms: longer than a fork and wait take under the shim (about
	 * 1.5 ms here: the child copies the shim's state and starts its
	 * watcher). A handler that outlasts the timer's period never lets
	 * the loop run again, shim or not. */
	struct itimerval it = { { 0, 5000 }, { 0, 5000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	long ops = 0;
	while (forks < FORKS) {
		if (heap) {
			void *p = malloc(16 + (size_t)(ops % 1000));
			free(p);
		} else {
			int fd[2];
			char c;
			if (pipe(fd))
				return 3;
			if (write(fd[1], "x", 1) != 1 || read(fd[0], &c, 1) != 1)
				return 4;
			close(fd[0]);
			close(fd[1]);
		}
		ops++;
	}
	it = (struct itimerval){ { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &it, NULL);
	/* Signals may land between the loop's test and the timer's end. */
	printf("sigfork %s: every child reaped: %s\n", argv[1], forks == reaped ? "yes" : "no");
	/* The exact count differs from run to run: on stderr, for the test. */
	fprintf(stderr, "sigfork: %d forks\n", (int)forks);
	return forks == reaped ? 0 : 1;
}
