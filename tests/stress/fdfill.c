/* fdfill.c - a program that uses up its descriptors, then asks for a dump.
 *
 * Usage: fdfill
 *
 * Leaks 3 blocks of 31337 bytes, lowers RLIMIT_NOFILE to 64 and opens
 * /dev/null until open fails with EMFILE. With every descriptor taken it
 * sends itself the dump signal (SIGUSR2) and asks for a report through
 * cgoshim_dump_wait when the shim is there; then checks that its own
 * descriptors are as it left them: open still fails with EMFILE, closing
 * one and opening again gives that same (lowest) number. Still full, it
 * forks a child that allocates and exits 0 (the child's shim has no
 * descriptor for its watcher's pipe or pidfd). Then it closes everything,
 * leaks 2 more blocks of 31337 bytes and prints what it saw. Exit status 0
 * when every check held. Without the shim SIGUSR2 would end it, so the
 * signal is sent only when cgoshim_dump_wait exists. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

#define SENTINEL 31337
#define LIMIT 64

static void *sink[8];

int main(void)
{
	int (*dump_wait)(int) = (int (*)(int))dlsym(RTLD_DEFAULT, "cgoshim_dump_wait");
	for (int i = 0; i < 3; i++)
		sink[i] = malloc(SENTINEL);
	struct rlimit rl = { LIMIT, LIMIT };
	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		perror("fdfill: setrlimit");
		return 2;
	}
	int fds[LIMIT], n = 0, err = 0;
	for (;;) {
		int fd = open("/dev/null", O_RDONLY);
		if (fd < 0) {
			err = errno;
			break;
		}
		if (n < LIMIT)
			fds[n++] = fd;
	}
	printf("fdfill: opened %d descriptors, then %s\n", n, err == EMFILE ? "EMFILE" : strerror(err));
	fflush(stdout);
	int ok = err == EMFILE;
	if (dump_wait) {
		kill(getpid(), SIGUSR2);
		nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
		int rc = dump_wait(10000);
		printf("fdfill: dump while full: %s\n", rc == 0 ? "written" : "not confirmed");
	}
	errno = 0;
	int again = open("/dev/null", O_RDONLY);
	ok &= again < 0 && errno == EMFILE;
	int last = fds[n - 1];
	close(last);
	int reopened = open("/dev/null", O_RDONLY);
	ok &= reopened == last;
	printf("fdfill: after the dump: open %s, reopen gave the lowest free number: %s\n",
	       again < 0 && errno == EMFILE ? "still EMFILE" : "changed", reopened == last ? "yes" : "no");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		void *p = malloc(100);
		_exit(p ? 0 : 3);
	}
	int st = -1;
	ok &= pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
	printf("fdfill: child forked while full: %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "ok" : "failed");
	for (int i = 0; i < n; i++)
		close(fds[i]);
	for (int i = 3; i < 5; i++)
		sink[i] = malloc(SENTINEL);
	printf("fdfill: %s\n", ok ? "all checks held" : "a check failed");
	return ok ? 0 : 1;
}
