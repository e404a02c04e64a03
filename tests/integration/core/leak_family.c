/* leak_family.c - leaks known blocks through every malloc-family entry point.
 *
 * Used by test_core_leaks.c to compare the shim's leak totals with
 * valgrind's "in use at exit" line (issue #3, PITFALLS item 9): each entry
 * point leaves some blocks live and frees others, realloc grows, shrinks,
 * frees with size 0 and starts from NULL. Nothing here may be freed by libc
 * behind the shim's back, so both tools must see the same live set. With
 * "pvalloc" as argument it also uses pvalloc (which valgrind refuses).
 * Built with -fno-builtin so the compiler keeps every call. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *keep[64];
static int nkeep;

static void hold(void *p)
{
	if (!p) {
		fprintf(stderr, "leak_family: allocation failed\n");
		exit(2);
	}
	keep[nkeep++] = p;
}

int main(int argc, char **argv)
{
	void *p;
	int with_pvalloc = argc == 2 && !strcmp(argv[1], "pvalloc");

	/* malloc: 3 kept, 1 freed. */
	for (int i = 0; i < 3; i++)
		hold(malloc(100 + (size_t)i));
	free(malloc(50));

	/* calloc: 2 kept, 1 freed. */
	hold(calloc(10, 30));
	hold(calloc(1, 7));
	free(calloc(4, 4));

	/* realloc: growth (moves), shrink, from NULL, and realloc(p, 0) frees. */
	p = malloc(64);
	void *block = malloc(64); /* keeps p from growing in place */
	p = realloc(p, 10000);
	hold(p);
	free(block);
	p = malloc(5000);
	p = realloc(p, 300);
	hold(p);
	hold(realloc(NULL, 77));
	p = malloc(123);
	p = realloc(p, 0);
	if (p)
		free(p); /* glibc returns NULL after freeing */

	/* reallocarray: kept after growth, one freed. */
	p = reallocarray(NULL, 8, 16);
	p = reallocarray(p, 20, 16);
	hold(p);
	free(reallocarray(NULL, 3, 3));

	/* posix_memalign: 1 kept, 1 freed. */
	if (posix_memalign(&p, 64, 200))
		return 2;
	hold(p);
	if (posix_memalign(&p, 256, 10))
		return 2;
	free(p);

	/* aligned_alloc, memalign, valloc, pvalloc: one kept and one freed
	 * each (pvalloc only when asked: valgrind aborts on it). */
	hold(aligned_alloc(128, 256));
	free(aligned_alloc(32, 64));
	hold(memalign(512, 1000));
	free(memalign(16, 16));
	hold(valloc(3000));
	free(valloc(100));
	if (with_pvalloc) {
		hold(pvalloc(5000));
		free(pvalloc(10));
	}

	/* malloc_usable_size on a kept block: must not disturb anything. */
	if (malloc_usable_size(keep[0]) < 100)
		return 3;

	printf("leak_family: kept %d blocks\n", nkeep);
	return 0;
}
