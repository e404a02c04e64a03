/* fds.c - programs that care about descriptor numbers (PITFALLS item 19).
 *
 * Usage: fds closeall|lowest|list.
 * closeall: leaks 4 x 7777 (early_leak), closes every descriptor above 2
 *   with close_range, keeps working for 0.6 s (open, read, malloc), then
 *   leaks 2 x 8888 (late_leak) and exits. A shim that lost its descriptors
 *   must still write a final report that includes the late leaks.
 * lowest: opens /dev/null five times and prints the numbers, closes fd 3
 *   and opens again (POSIX: the lowest free number, 3), then dup and pipe.
 *   Exit status 1 when open did not return the lowest free number.
 * list: allocates through a few nested calls (the shim takes stacks), then
 *   prints the descriptors it holds (from /proc/self/fd); forks a child that
 *   allocates and prints its own; then execs itself ("list-exec"), which
 *   prints them once more. Under the shim the lists must be the same as
 *   without it: the shim holds no descriptor in the program. */
#include <dirent.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void *sink[8];

__attribute__((noinline)) static void early_leak(void)
{
	for (int i = 0; i < 4; i++)
		sink[i] = malloc(7777);
}

__attribute__((noinline)) static void late_leak(void)
{
	for (int i = 0; i < 2; i++)
		sink[4 + i] = malloc(8888);
}

static int closeall(void)
{
	early_leak();
	if (close_range(3, ~0U, 0)) {
		perror("close_range");
		return 2;
	}
	int first = -1;
	for (int i = 0; i < 6; i++) {
		int fd = open("/dev/zero", O_RDONLY);
		if (i == 0)
			first = fd;
		char buf[64];
		if (fd < 0 || read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			return 3;
		close(fd);
		free(malloc(1000));
		nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
	}
	late_leak();
	printf("fds closeall: first open after close_range returned %d\n", first);
	return 0;
}

static int lowest(void)
{
	int fd[5];
	printf("fds lowest: opened");
	for (int i = 0; i < 5; i++) {
		fd[i] = open("/dev/null", O_RDONLY);
		printf(" %d", fd[i]);
	}
	close(3);
	int again = open("/dev/null", O_RDONLY);
	printf("\nfds lowest: after close(3) open returned %d\n", again);
	close(4);
	int d = dup(0);
	printf("fds lowest: after close(4) dup returned %d\n", d);
	close(5);
	close(6);
	int p[2];
	if (pipe(p))
		return 2;
	printf("fds lowest: after close(5), close(6) pipe returned %d %d\n", p[0], p[1]);
	return again == 3 && d == 4 && p[0] == 5 && p[1] == 6 ? 0 : 1;
}

__attribute__((noinline)) static void *nested(int depth)
{
	void *p = depth ? nested(depth - 1) : malloc(64);
	__asm__ __volatile__("" : : "r"(p) : "memory");
	return p;
}

static void print_fds(const char *who)
{
	for (int i = 0; i < 20; i++)
		free(nested(i % 8));
	sink[7] = nested(5);
	DIR *d = opendir("/proc/self/fd");
	if (!d) {
		perror("opendir");
		exit(2);
	}
	printf("fds list %s:", who);
	int mine = dirfd(d);
	struct dirent *e;
	int fds[64], n = 0;
	while ((e = readdir(d)) && n < 64)
		if (e->d_name[0] != '.' && atoi(e->d_name) != mine)
			fds[n++] = atoi(e->d_name);
	closedir(d);
	for (int i = 0; i < n; i++) /* readdir's order is not sorted */
		for (int j = i + 1; j < n; j++)
			if (fds[j] < fds[i]) {
				int t = fds[i];
				fds[i] = fds[j];
				fds[j] = t;
			}
	for (int i = 0; i < n; i++)
		printf(" %d", fds[i]);
	printf("\n");
	fflush(stdout);
}

static int list(const char *self)
{
	print_fds("parent");
	pid_t pid = fork();
	if (pid == 0) {
		print_fds("child");
		_exit(0);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		return 3;
	execl(self, self, "list-exec", (char *)NULL);
	perror("execl");
	return 4;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "list"))
		return list(argv[0]);
	if (argc == 2 && !strcmp(argv[1], "list-exec")) {
		print_fds("after exec");
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "closeall"))
		return closeall();
	if (argc == 2 && !strcmp(argv[1], "lowest"))
		return lowest();
	fprintf(stderr, "usage: fds closeall|lowest\n");
	return 2;
}
