/* unwind_corpus.c - allocations from many kinds of frames, for
 * test_core_unwind (CGOSHIM_UNWIND=compare: the fast unwinder's frames
 * against libunwind's). Built with -O2 -fomit-frame-pointer, so the
 * program's own frames are described by .eh_frame alone, like libc's.
 *
 * Paths: deep recursion (two functions in turn), qsort's comparator (through
 * libc), fopen/getpwnam/opendir (libc allocating for itself), zlib and
 * sqlite3 (real C libraries allocating inside themselves), signal handlers
 * (a signal frame; one on an alternate stack), a function that realigns its
 * stack (a CFA expression), and threads. */
#include <dirent.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

void *volatile sink;

static __attribute__((noinline)) void touch(size_t n)
{
	void *p = malloc(n);
	sink = p;
	free(p);
}

static int rec_b(int n);
static __attribute__((noinline)) int rec_a(int n)
{
	if (n <= 0) {
		touch(24);
		return 1;
	}
	if (n % 7 == 0)
		touch((size_t)n);
	return rec_b(n - 1) + 1;
}
static __attribute__((noinline)) int rec_b(int n)
{
	volatile char pad[40];
	pad[n % 40] = (char)n;
	return rec_a(n - 1) + pad[n % 40];
}

static int cmp(const void *a, const void *b)
{
	touch(8);
	return *(const int *)a - *(const int *)b;
}

static void handler(int sig)
{
	(void)sig;
	touch(32);
	rec_a(9);
}

/* A 64-byte aligned local: GCC realigns the stack and describes the frame
 * with a CFA expression. */
static __attribute__((noinline)) void realigned(void)
{
	char buf[64] __attribute__((aligned(64)));
	memset(buf, 1, sizeof(buf));
	sink = buf;
	touch(64);
	sink = NULL;
}

static void libraries(void)
{
	unsigned char in[4096], out[8192];
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 7);
	uLongf olen = sizeof(out);
	if (compress2(out, &olen, in, sizeof(in), 6) != Z_OK)
		exit(3);
	sqlite3 *db;
	if (sqlite3_open(":memory:", &db) != SQLITE_OK)
		exit(4);
	sqlite3_exec(db, "create table t(a, b); insert into t values (1, 'x'); "
			 "insert into t select a + 1, b || b from t; select count(*) from t;",
		     NULL, NULL, NULL);
	sqlite3_close(db);
}

static void *thread_main(void *arg)
{
	for (int i = 0; i < 50; i++)
		rec_a(20 + (int)(intptr_t)arg);
	return NULL;
}

int main(void)
{
	for (int i = 0; i < 20; i++)
		rec_a(70);
	int v[64];
	for (int i = 0; i < 64; i++)
		v[i] = (i * 37) % 64;
	qsort(v, 64, sizeof(v[0]), cmp);
	for (int i = 0; i < 5; i++) {
		FILE *f = fopen("/proc/self/stat", "r");
		if (f)
			fclose(f);
		DIR *d = opendir("/");
		if (d)
			closedir(d);
		sink = getpwnam("root");
	}
	libraries();
	realigned();

	struct sigaction sa = { .sa_handler = handler };
	sigaction(SIGUSR1, &sa, NULL);
	for (int i = 0; i < 5; i++)
		raise(SIGUSR1);
	static char alt[65536];
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof(alt) };
	sigaltstack(&ss, NULL);
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR1, &sa, NULL);
	for (int i = 0; i < 5; i++)
		raise(SIGUSR1);

	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, thread_main, (void *)(intptr_t)i);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	puts("done");
	return 0;
}
