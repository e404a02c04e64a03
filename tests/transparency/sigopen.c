/* sigopen.c - a signal handler that opens and closes a file.
 *
 * open and close are async-signal-safe, so a handler may call them
 * whatever the interrupted code was doing. Here SIGALRM arrives every
 * 200 us while the only thread makes pipes and reads from them (each read
 * is the first use of a new descriptor); the handler opens /dev/null and
 * closes it. After 5000 signals the program prints how many opens failed.
 * Under the shim, the interrupted read may be inside the shim's own
 * bookkeeping of that descriptor: the handler's open must not wait for it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/time.h>

#define SIGNALS 5000

static volatile sig_atomic_t handled, failed;

static void on_alarm(int sig)
{
	(void)sig;
	int saved = errno;
	int fd = open("/dev/null", O_RDONLY);
	if (fd < 0)
		failed++;
	else
		close(fd);
	handled++;
	errno = saved;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 200 }, { 0, 200 } };
	setitimer(ITIMER_REAL, &it, NULL);
	while (handled < SIGNALS) {
		int fd[2];
		char c;
		if (pipe(fd))
			return 3;
		if (write(fd[1], "x", 1) != 1 || read(fd[0], &c, 1) != 1)
			return 4;
		close(fd[0]);
		close(fd[1]);
	}
	it = (struct itimerval){ { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &it, NULL);
	printf("sigopen: %d signals handled, %d opens failed\n", SIGNALS, (int)failed);
	return 0;
}
