/* stressdl.c - the small library stress.c keeps loading and unloading.
 *
 * stress_dl_work(n) allocates n blocks, frees them, and returns
 * 0 + 1 + ... + (n - 1), so the caller can check it ran. */
#include <stdlib.h>

__attribute__((visibility("default"))) int stress_dl_work(int n);

int stress_dl_work(int n)
{
	int sum = 0;
	for (int i = 0; i < n; i++) {
		int *p = malloc(sizeof(int) * (size_t)(i + 1));
		if (!p)
			return -1;
		p[i] = i;
		sum += p[i];
		free(p);
	}
	return sum;
}
