/* own_sigusr2.c - a program with its own SIGUSR2 handler.
 *
 * Usage: own_sigusr2 READY_FILE N. Installs a counting handler with
 * sigaction, creates READY_FILE, waits (at most 10 s) until the handler ran
 * N times, then asks sigaction which handler is installed. The shim must
 * neither eat the program's signals nor show its own handler. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t count;

static void on_usr2(int sig)
{
	(void)sig;
	count++;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	int want = atoi(argv[2]);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR2, &sa, NULL))
		return 2;
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 2;
	close(fd);
	struct timespec ms = { 0, 10000000 };
	for (int i = 0; i < 1000 && count < want; i++) {
		free(malloc(100));
		nanosleep(&ms, NULL);
	}
	/* Let a signal sent after the last expected one show up as extra. */
	nanosleep(&(struct timespec){ 0, 200000000 }, NULL);
	struct sigaction old;
	memset(&old, 0, sizeof(old));
	if (sigaction(SIGUSR2, NULL, &old))
		return 2;
	printf("own_sigusr2: handler ran %d times\n", (int)count);
	printf("own_sigusr2: sigaction query returns own handler: %s\n",
	       old.sa_handler == on_usr2 && !(old.sa_flags & SA_SIGINFO) ? "yes" : "no");
	printf("own_sigusr2: flags SA_RESTART %s\n", old.sa_flags & SA_RESTART ? "yes" : "no");
	return 0;
}
