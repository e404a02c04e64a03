/* many_live.c - keep N small allocations live until exit.
 *
 * Usage: many_live N SIZE. The pointer array comes from mmap, so the only
 * malloc calls are the N blocks and stdio's buffer. Used for region
 * exhaustion (CGOSHIM_MEMORY=16M, 2 million blocks) and for the scale test
 * (10 million 16-byte blocks, issue #3). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	long n = atol(argv[1]);
	size_t size = (size_t)atol(argv[2]);
	void **v = NULL;
	if (n > 0) {
		v = mmap(NULL, (size_t)n * sizeof(void *), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (v == MAP_FAILED)
			return 2;
	}
	for (long i = 0; i < n; i++) {
		v[i] = malloc(size);
		if (!v[i]) {
			fprintf(stderr, "many_live: malloc failed at %ld\n", i);
			return 3;
		}
	}
	printf("many_live: made %ld blocks of %zu bytes\n", n, size);
	return 0;
}
