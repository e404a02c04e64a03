/* phases.c - a program for the attach tests: it works in phases that the
 * test starts through stdin, so that the test knows which calls were made
 * while cgoshim attach was attached.
 *
 *	"work N K\n": N reads of 1 byte from /dev/zero and N mallocs of K
 *	bytes (kept: leaks of the phase), then "done N" on stdout
 *	"free\n": frees every block kept so far, then "freed" on stdout
 *	"realloc\n": reallocs every block kept to 100 bytes
 *	"plugin PATH N\n": dlopens PATH and calls its plugin_work(N) (N reads
 *	and N mallocs, kept by the plugin), then "plugin N" on stdout
 *	"holder\n": allocates a table of 1000 pointers (kept in a global)
 *	"fill N\n": N blocks of 3000 bytes whose only pointers are in the table,
 *	then "filled N"
 *	"lose N\n": N blocks of 5000 bytes, no pointer to any kept, then "lost N"
 *	"dlopen PATH\n": dlopen(PATH, RTLD_NOW), then "dlopened" on stdout
 *	"sigs\n": "sigs N", the number of SIGUSR2 its own handler got
 *	"sigs1\n": "sigs1 N", the same for SIGUSR1 (argument "usr1")
 *	"handler\n": "handler own" when sigaction says SIGUSR2's handler is its
 *	own, else "handler other"
 *	"which\n": "which A B", the objects that hold the functions its GOT
 *	gives for read and malloc (libc.so.6, or libcgoshim.so while attached)
 *	"quit\n": exit status 7
 * Argument "seccomp": runs under a seccomp filter (one that allows every
 * system call: cgoshim attach must refuse it all the same). Argument
 * "usr2": installs a SIGUSR2 handler that counts. Argument "lockholder":
 * a thread spends most of its time inside dl_iterate_phdr (so holding the
 * loader's lock, which the injected dlopen needs), spinning in user code.
 * Blocks allocated before the attach are freed after it by "free": frees
 * of blocks the shim never saw. A second thread sleeps in nanosleep the
 * whole time (a thread stopped inside a system call). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <signal.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void *kept[100000];
static void **volatile table;
static size_t nkept;
void *volatile sink;

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts = { 3600, 0 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static volatile sig_atomic_t usr2_count;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int hold(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)info;
	(void)size;
	(void)data;
	int64_t until = now_ns() + 300000000;
	while (now_ns() < until)
		;
	return 1;
}

static void *lockholder(void *arg)
{
	(void)arg;
	for (;;) {
		dl_iterate_phdr(hold, NULL);
		struct timespec ts = { 0, 20000000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void on_usr2(int sig)
{
	(void)sig;
	usr2_count++;
}

static volatile sig_atomic_t usr1_count;

static void on_usr1(int sig)
{
	(void)sig;
	usr1_count++;
}

static void allow_all_filter(void)
{
	struct sock_filter f[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	struct sock_fprog prog = { 1, f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		perror("seccomp");
}

int main(int argc, char **argv)
{
	pthread_t th;
	/* Arguments: any of seccomp, lockholder, usr1, usr2. */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "seccomp"))
			allow_all_filter();
		if (!strcmp(argv[i], "lockholder")) {
			pthread_t lh;
			pthread_create(&lh, NULL, lockholder, NULL);
		}
		if (!strcmp(argv[i], "usr2"))
			signal(SIGUSR2, on_usr2);
		if (!strcmp(argv[i], "usr1"))
			signal(SIGUSR1, on_usr1);
	}
	pthread_create(&th, NULL, sleeper, NULL);
	int fd = open("/dev/zero", O_RDONLY);
	char line[128];
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		unsigned n = 0, k = 0;
		if (sscanf(line, "work %u %u", &n, &k) == 2) {
			char c;
			for (unsigned i = 0; i < n; i++) {
				if (read(fd, &c, 1) != 1)
					return 3;
				void *p = malloc(k);
				if (p && nkept < sizeof(kept) / sizeof(kept[0]))
					kept[nkept++] = p;
				sink = p;
			}
			printf("done %u\n", n);
		} else if (!strncmp(line, "plugin ", 7)) {
			char path[100];
			if (sscanf(line, "plugin %99s %u", path, &n) != 2)
				return 4;
			void *h = dlopen(path, RTLD_NOW);
			int (*fn)(unsigned) = h ? (int (*)(unsigned))dlsym(h, "plugin_work") : NULL;
			if (!fn) {
				fprintf(stderr, "phases: %s\n", dlerror());
				return 5;
			}
			printf("plugin %d\n", fn(n));
		} else if (!strncmp(line, "which", 5)) {
			ssize_t (*volatile r)(int, void *, size_t) = read;
			void *(*volatile m)(size_t) = malloc;
			Dl_info a, b;
			const char *an = dladdr((void *)r, &a) && a.dli_fname ? a.dli_fname : "?";
			const char *bn = dladdr((void *)m, &b) && b.dli_fname ? b.dli_fname : "?";
			printf("which %s %s\n", strrchr(an, '/') ? strrchr(an, '/') + 1 : an,
			       strrchr(bn, '/') ? strrchr(bn, '/') + 1 : bn);
		} else if (!strncmp(line, "handler", 7)) {
			struct sigaction old;
			sigaction(SIGUSR2, NULL, &old);
			printf("handler %s\n", old.sa_handler == on_usr2 ? "own" : "other");
		} else if (!strncmp(line, "holder", 6)) {
			table = calloc(1000, sizeof(void *));
			printf("holder\n");
		} else if (sscanf(line, "fill %u", &n) == 1) {
			for (unsigned i = 0; i < n && i < 1000; i++)
				table[i] = malloc(3000);
			printf("filled %u\n", n);
		} else if (sscanf(line, "lose %u", &n) == 1) {
			for (unsigned i = 0; i < n; i++) {
				char *volatile q = malloc(5000);
				q[0] = 1;
			}
			printf("lost %u\n", n);
		} else if (!strncmp(line, "dlopen ", 7)) {
			char path[200];
			if (sscanf(line, "dlopen %199s", path) != 1 || !dlopen(path, RTLD_NOW))
				return 6;
			printf("dlopened\n");
		} else if (!strncmp(line, "sigs1", 5)) {
			printf("sigs1 %d\n", (int)usr1_count);
		} else if (!strncmp(line, "sigs", 4)) {
			printf("sigs %d\n", (int)usr2_count);
		} else if (!strncmp(line, "realloc", 7)) {
			for (size_t i = 0; i < nkept; i++)
				kept[i] = realloc(kept[i], 100);
			printf("realloced %zu\n", nkept);
		} else if (!strncmp(line, "free", 4)) {
			for (size_t i = 0; i < nkept; i++)
				free(kept[i]);
			nkept = 0;
			printf("freed\n");
		} else if (!strncmp(line, "quit", 4)) {
			return 7;
		}
	}
	return 0;
}
