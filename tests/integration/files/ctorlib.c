/* ctorlib.c - a library whose constructor leaks 4321 bytes: its stack runs
 * through the program's dlopen, below the shim's dlopen interposer. */
#include <stdlib.h>
#include <string.h>

void *volatile ctor_sink;

__attribute__((constructor)) static void ctor_leak(void)
{
	char *p = malloc(4321);
	if (p)
		memset(p, 2, 4321);
	ctor_sink = p;
}
