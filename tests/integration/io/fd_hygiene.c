/* fd_hygiene.c - does the shim leave the program's descriptor numbers and
 * file contents alone? (PITFALLS item 19; test_fds.c compares the output
 * with and without the shim.)
 *
 *	fd_hygiene DIR      (DIR holds a file "in" with 10 bytes)
 *
 * 0. Closes every descriptor above 2 it inherited and executes itself
 *    again, so that the measured image starts with exactly 0, 1 and 2
 *    open, whatever the test runner left open.
 * 1. Prints the descriptor its first open gets: a program may rely on open
 *    returning the lowest free number, and the shim must not take low
 *    numbers for itself.
 * 2. Closes descriptors 3..255 (what a daemon does with descriptors it did
 *    not open itself; the shim's own live above), opens DIR/in for reading
 *    and DIR/out for writing, and then allocates from deep call chains in
 *    the main thread, in signal handlers (on the thread's stack and on an
 *    alternate signal stack) and in a second thread, so that the shim
 *    captures many kinds of stacks. Then
 *    it reads DIR/in, writes "abc" to DIR/out and reports what it read and
 *    the size of DIR/out: the 10 bytes, and 3. Anything the shim (or a
 *    library it uses) reads from, writes to or closes on a descriptor it
 *    kept by number but the program has since reused shows here. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

static void *volatile sink;

static __attribute__((noinline)) int nest(int n)
{
	if (n == 0) {
		free(sink);
		sink = malloc(32);
		return 1;
	}
	return nest(n - 1) + 1;
}

static void on_signal(int sig)
{
	for (int i = 0; i < 100; i++)
		nest(i % 20);
}

static void *thread_main(void *arg)
{
	for (int i = 0; i < 200; i++)
		nest(i % 20);
	return arg;
}

int main(int argc, char **argv)
{
	if (argc == 2) {
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		execl("/proc/self/exe", argv[0], argv[1], "--clean", (char *)NULL);
		perror("exec");
		return 3;
	}
	if (argc != 3 || strcmp(argv[2], "--clean")) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	if (chdir(argv[1]))
		return 3;
	int first = open("in", O_RDONLY);
	printf("first open -> %d\n", first);
	fflush(stdout);

	for (int fd = 3; fd < 256; fd++)
		close(fd);
	int in = open("in", O_RDONLY);
	int out = open("out", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	printf("after closing 3..255: in -> %d, out -> %d\n", in, out);
	signal(SIGUSR1, on_signal);
	for (int i = 0; i < 2000; i++) {
		nest(i % 30);
		if (i % 100 == 0)
			raise(SIGUSR1);
	}
	static char altstack[1 << 16];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_ONSTACK };
	if (sigaltstack(&ss, NULL) || sigaction(SIGUSR2, &sa, NULL))
		return 3;
	for (int i = 0; i < 20; i++)
		raise(SIGUSR2);
	pthread_t th;
	if (pthread_create(&th, NULL, thread_main, NULL) || pthread_join(th, NULL))
		return 3;
	char buf[64] = { 0 };
	ssize_t n = read(in, buf, sizeof(buf) - 1);
	printf("read in -> %zd \"%s\"\n", n, n > 0 ? buf : "");
	ssize_t w = write(out, "abc", 3);
	printf("write out -> %zd\n", w);
	int c = close(out);
	printf("close out -> %d\n", c);
	struct stat st;
	if (stat("out", &st))
		return 3;
	printf("size of out -> %lld\n", (long long)st.st_size);
	return 0;
}
