/* filesprog.c - the program tests/integration/files/test_files.sh runs
 * under the shim (issue 16: files and names a harness can rely on).
 *
 *	filesprog fork N M     leak N blocks of 111 bytes, sleep 60 ms, fork a child that
 *	                       leaks M blocks of 222 bytes and lives 30 ms,
 *	                       run /bin/true (a child process), sleep 100 ms,
 *	                       print a line
 *	filesprog sleep MS     sleep MS ms, then print "slept" on stderr
 *	filesprog exec K       exec itself K more times (the same pid); the
 *	                       last image lives 100 ms
 *	filesprog dlopen LIB   dlopen LIB (whose constructor leaks 4321 bytes)
 *
 * Built -O0 -fno-builtin: every call reaches the shim. The leaked blocks
 * escape through a volatile global. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void *volatile files_sink;

static void leak(int n, size_t size)
{
	for (int i = 0; i < n; i++) {
		char *p = malloc(size);
		if (!p)
			exit(3);
		memset(p, 1, size);
		files_sink = p;
	}
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "fork")) {
		leak(atoi(argv[2]), 111);
		usleep(60000); /* a fork child's clock starts at its fork, 60 ms on */
		pid_t c = fork();
		if (c == 0) {
			leak(atoi(argv[3]), 222);
			usleep(30000);
			_exit(0);
		}
		int st;
		waitpid(c, &st, 0);
		if (system("/bin/true") != 0)
			return 4;
		usleep(100000); /* outlive the child by far: its duration is its own */
		printf("filesprog stdout\n");
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "sleep")) {
		usleep((useconds_t)atoi(argv[2]) * 1000);
		fprintf(stderr, "slept\n");
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "exec")) {
		int k = atoi(argv[2]);
		leak(1, 333);
		if (k > 0) {
			char next[16];
			snprintf(next, sizeof(next), "%d", k - 1);
			execl("/proc/self/exe", argv[0], "exec", next, (char *)NULL);
			return 5;
		}
		usleep(100000); /* the last image outlives its parents' watchers' look */
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "dlopen"))
		return dlopen(argv[2], RTLD_NOW) ? 0 : 6;
	fprintf(stderr, "usage: filesprog fork N M | sleep MS | exec K | dlopen LIB\n");
	return 2;
}
