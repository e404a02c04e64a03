/*
 * spawn.c - run a command and write its exit status, pid and peak RSS, for
 * bench/run.
 *
 * Usage: spawn OUTFILE PROG [ARG]...
 *
 * Writes {"pid", "status", "signal", "maxrss_kb"} to OUTFILE and exits with
 * PROG's status. maxrss_kb is ru_maxrss from wait4: the largest peak RSS of
 * PROG and of every descendant it waited for (heaptrack_interpret under the
 * heaptrack script, strace itself...).
 *
 * Why not measure from bench/run (python) directly: a forked child's
 * ru_maxrss includes the memory of the image it had before exec, Python's
 * 25 MB or so. This helper is linked statically and is small, so its
 * child's pre-exec image costs well under a MiB; static also means that
 * LD_PRELOAD (the shim's configurations) does not load into it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: spawn OUTFILE PROG [ARG]...\n");
		return 2;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("spawn: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "spawn: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	int status;
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR) {
			perror("spawn: wait4");
			return 2;
		}
	FILE *f = fopen(argv[1], "w");
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	fprintf(f, "{\"pid\": %d, \"status\": %d, \"signal\": %d, \"maxrss_kb\": %ld}\n", (int)pid,
		WIFEXITED(status) ? WEXITSTATUS(status) : -1, WIFSIGNALED(status) ? WTERMSIG(status) : 0,
		ru.ru_maxrss);
	fclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
