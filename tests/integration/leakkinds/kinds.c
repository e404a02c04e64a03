/* kinds.c - blocks of every leak kind, for valgrind parity (test_kinds.py).
 *
 *	kinds [hold]
 *
 * Builds, with globals that are read at the end so nothing is optimised away:
 *   still reachable   A (100) from a global; B (200) from A; Z (0) from a
 *                     global; L1 (1 MiB, its own mmap) from a global
 *   definitely lost   D (300); 10 x 24; L2 (1 MiB); one 0-byte block
 *   indirectly lost   E (400) from D, F (50) from E; S (40) from L2;
 *                     G (72) <-> H (72), a cycle nothing else points to
 *                     (one of the two is the clique's leader: definite)
 *   possibly lost     P (128) from a global pointing 16 bytes in; Q (33),
 *                     pointed to at its start from P only
 * then asks for a live report (cgoshim_dump_wait under the shim, a leak
 * check under valgrind), frees A (so B becomes definitely lost) and exits
 * through libc: the final report sees the second picture. No stdio: its
 * buffers are blocks valgrind frees before its own final check.
 * With "hold", waits on stdin before exiting (the live test reads the
 * report meanwhile). */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <valgrind/valgrind.h>
#include <valgrind/memcheck.h>

void **g_keep;          /* A */
void *g_zero;           /* Z */
void *g_big;            /* L1 */
char *g_interior;       /* P + 16 */
volatile unsigned long g_sink;

__attribute__((noinline)) static void *alloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (n == 0) {
		free(p);
		p = malloc(0);
	}
	g_sink += (unsigned long)p & 1;
	return p;
}

__attribute__((noinline)) static void make_reachable(void)
{
	g_keep = alloc(100);
	g_keep[0] = alloc(200);
	g_zero = alloc(0);
	g_big = alloc(1 << 20);
}

__attribute__((noinline)) static void make_lost(void)
{
	void **d = alloc(300), **e = alloc(400);
	d[1] = e;
	e[2] = alloc(50);
	for (int i = 0; i < 10; i++)
		g_sink += (unsigned long)alloc(24) & 1;
	void **l2 = alloc(1 << 20);
	l2[1000] = alloc(40);
	void **g = alloc(72), **h = alloc(72);
	g[0] = h;
	h[0] = g;
	g_sink += (unsigned long)alloc(0) & 1;
	g_sink += (unsigned long)d & 1;
}

__attribute__((noinline)) static void make_possible(void)
{
	void **p = alloc(128);
	p[3] = alloc(33);
	g_interior = (char *)p + 16;
}

/* Overwrite the dead frames the calls above left below main's. */
__attribute__((noinline)) static void scrub(void)
{
	volatile char buf[256 * 1024];
	memset((char *)buf, 0, sizeof(buf));
	g_sink += buf[100];
}

__attribute__((noinline)) static void checkpoint(void)
{
	if (RUNNING_ON_VALGRIND) {
		VALGRIND_DO_LEAK_CHECK;
		return;
	}
	int (*wait)(int) = (int (*)(int))dlsym(RTLD_DEFAULT, "cgoshim_dump_wait");
	if (wait)
		wait(20000);
}

int main(int argc, char **argv)
{
	make_reachable();
	make_lost();
	make_possible();
	scrub();
	checkpoint();
	if (argc > 1 && !strcmp(argv[1], "hold")) {
		char c;
		while (read(0, &c, 1) > 0)
			;
	}
	free(g_keep);
	g_keep = NULL;
	scrub();
	g_sink += (unsigned long)g_zero + (unsigned long)g_big + (unsigned long)g_interior;
	return 0;
}
