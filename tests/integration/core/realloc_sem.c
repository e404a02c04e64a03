/* realloc_sem.c - realloc's effect on leak records.
 *
 * Usage: realloc_sem base|work. "base" makes none of the calls below, so
 * the difference between the two reports is theirs alone.
 *   keep_old():       malloc(3333), then a realloc to a huge size fails:
 *                     the block is still live with 3333 bytes.
 *   keep_old_array(): malloc(2121), then reallocarray overflows and fails.
 *   grow_me():        50 x malloc(1111) grown to 5555 by realloc (a live
 *                     spacer from spacer() makes the block move).
 *   shrink_me():      50 x malloc(6000) shrunk to 2222.
 *   spacer():         50 x malloc(16), kept.
 * Built with -fno-builtin so every call is made. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *sink[256];
static int nsink;
static volatile size_t huge = SIZE_MAX / 4;
static int failed_realloc, failed_array, moved;

__attribute__((noinline)) static void keep_old(void)
{
	void *p = malloc(3333);
	void *q = realloc(p, huge);
	if (!q && errno == ENOMEM)
		failed_realloc = 1;
	sink[nsink++] = q ? q : p;
}

__attribute__((noinline)) static void keep_old_array(void)
{
	void *p = malloc(2121);
	void *q = reallocarray(p, huge, 16);
	if (!q && errno == ENOMEM)
		failed_array = 1;
	sink[nsink++] = q ? q : p;
}

__attribute__((noinline)) static void *spacer(void)
{
	return malloc(16);
}

__attribute__((noinline)) static void grow_me(void)
{
	for (int i = 0; i < 50; i++) {
		void *p = malloc(1111);
		sink[nsink++] = spacer();
		void *q = realloc(p, 5555);
		moved += q != p;
		sink[nsink++] = q;
	}
}

__attribute__((noinline)) static void shrink_me(void)
{
	for (int i = 0; i < 50; i++)
		sink[nsink++] = realloc(malloc(6000), 2222);
}

int main(int argc, char **argv)
{
	if (argc != 2 || (strcmp(argv[1], "base") && strcmp(argv[1], "work"))) {
		fprintf(stderr, "usage: realloc_sem base|work\n");
		return 2;
	}
	if (!strcmp(argv[1], "work")) {
		keep_old();
		keep_old_array();
		grow_me();
		shrink_me();
	}
	printf("realloc_sem %s: huge realloc failed %d, reallocarray overflow failed %d, moved %s\n",
	       argv[1], failed_realloc, failed_array, moved ? "yes" : "no");
	return 0;
}
