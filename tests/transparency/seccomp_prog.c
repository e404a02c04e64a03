/* seccomp_prog.c - a program that locks itself in with a seccomp allowlist
 * (issue 13, item 9).
 *
 * Usage: seccomp_prog prctl|syscall|strict|nofutex. After some reads, mallocs and
 * a thread, it installs a filter written by hand in classic BPF: exactly
 * the system calls this program needs from then on, anything else kills
 * the process (SECCOMP_RET_KILL_PROCESS). gettid, readlink, mincore,
 * process_vm_readv, getpid, memfd_create, execve are not on the list. Then
 * it opens and reads new descriptors, mallocs (new call stacks), starts
 * threads and forks a child that mallocs. It prints what it did; test_signals.c runs
 * it with and without the shim and compares. "strict" uses
 * SECCOMP_MODE_STRICT instead (read, write, exit, sigreturn only).
 * "nofutex" is "prctl" with neither futex nor sched_yield on the list, and
 * no thread after the filter: its fork must not make the shim wait on a
 * futex for the child (the child runs unmeasured). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static const int allowed[] = {
	SYS_read, SYS_write, SYS_openat, SYS_close, SYS_newfstatat, SYS_fstat, SYS_lseek,
	SYS_mmap, SYS_munmap, SYS_mprotect, SYS_brk, SYS_madvise, SYS_mremap,
	SYS_futex, SYS_clone, SYS_clone3, SYS_set_robust_list, SYS_rseq, SYS_rt_sigprocmask,
	SYS_rt_sigreturn, SYS_sched_yield, SYS_exit, SYS_exit_group, SYS_wait4, SYS_getrandom,
	SYS_clock_nanosleep, SYS_nanosleep,
};

#define N_ALLOWED (sizeof(allowed) / sizeof(allowed[0]))

static struct sock_filter prog[4 + 2 * N_ALLOWED + 1];
static int no_futex;

static struct sock_fprog build(void)
{
	size_t n = 0;
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	for (size_t i = 0; i < N_ALLOWED; i++) {
		if (no_futex && (allowed[i] == SYS_futex || allowed[i] == SYS_sched_yield))
			continue;
		prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)allowed[i], 0, 1);
		prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	}
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	return (struct sock_fprog){ .len = (unsigned short)n, .filter = prog };
}

static void *volatile keep[64];

static void *__attribute__((noinline)) alloc_here(size_t n, int where)
{
	void *p = malloc(n);
	memset(p, where, n);
	return p;
}

static long read_zero(int rounds)
{
	int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char buf[512];
	long total = 0;
	for (int i = 0; i < rounds; i++) {
		ssize_t k = read(fd, buf, sizeof(buf));
		if (k > 0)
			total += k;
	}
	close(fd);
	return total;
}

static void *worker(void *arg)
{
	long id = (long)arg;
	long total = read_zero(10);
	for (int i = 0; i < 20; i++)
		free(alloc_here(100 + (size_t)i, (int)id));
	keep[id] = alloc_here(1000, (int)id);
	return (void *)total;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	const char *how = argv[1];
	no_futex = !strcmp(how, "nofutex");
	/* Before the filter. */
	printf("seccomp_prog %s: before the filter, read %ld bytes\n", how, read_zero(4));
	fflush(stdout);
	pthread_t t;
	pthread_create(&t, NULL, worker, (void *)0L);
	pthread_join(t, NULL);
	keep[1] = alloc_here(64, 1);

	int pfd[2];
	if (pipe(pfd))
		return 3;
	if (!strcmp(how, "strict")) {
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0)) {
			printf("strict mode refused: %s\n", strerror(errno));
			return 1;
		}
		char c = 0, msg[80];
		long got = 0;
		for (int i = 0; i < 10; i++) {
			if (write(pfd[1], "x", 1) == 1 && read(pfd[0], &c, 1) == 1)
				got++;
			keep[2 + i] = malloc(32);
		}
		int len = snprintf(msg, sizeof(msg), "strict: %ld bytes through the pipe, %c\n", got, c);
		if (write(1, msg, (size_t)len) != len)
			syscall(SYS_exit, 1);
		syscall(SYS_exit, 0); /* exit_group is not allowed in strict mode */
	}

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return 3;
	struct sock_fprog fp = build();
	int rc = !strcmp(how, "syscall") ? (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp)
					  : prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp, 0, 0);
	if (rc) {
		printf("filter refused: %s\n", strerror(errno));
		return 1;
	}
	/* After: new descriptors, new stacks, new threads, a child. */
	printf("after the filter: read %ld bytes\n", read_zero(8));
	char c;
	if (write(pfd[1], "y", 1) != 1 || read(pfd[0], &c, 1) != 1)
		return 4;
	printf("pipe: %c\n", c);
	for (int i = 0; i < 30; i++)
		free(alloc_here(200 + (size_t)i, i));
	keep[3] = alloc_here(5000, 3);
	keep[4] = alloc_here(1 << 20, 4);
	pthread_t ts[4];
	for (long i = 0; i < 4 && !no_futex; i++)
		pthread_create(&ts[i], NULL, worker, (void *)(i + 10));
	long sum = 0;
	for (int i = 0; i < 4 && !no_futex; i++) {
		void *r;
		pthread_join(ts[i], &r);
		sum += (long)r;
	}
	printf("threads read %ld bytes\n", sum);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		keep[5] = alloc_here(300, 5);
		_exit(read_zero(2) == 1024 ? 7 : 8);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	printf("child: %s %d\n", WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	printf("done, %d\n", keep[3] != NULL && keep[4] != NULL);
	return 0;
}
