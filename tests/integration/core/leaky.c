/* leaky.c - leak sites in the program and in a shared library it links.
 *
 * leak_here() leaks 100 blocks of 4242 bytes; lib_leak() (libcoreleak.so)
 * leaks 7 of 9999. The program prints the source line of each malloc call
 * so that test_core_leaks.c can check the symbolised frames. */
#include <stdio.h>
#include <stdlib.h>

void lib_leak(void);
extern int lib_leak_line;

static void *sink[100];
static int leak_line;

__attribute__((noinline)) static void leak_here(void)
{
	for (int i = 0; i < 100; i++) {
		leak_line = __LINE__ + 1;
		sink[i] = malloc(4242);
	}
}

int main(void)
{
	leak_here();
	lib_leak();
	printf("leak_here line %d\nlib_leak line %d\n", leak_line, lib_leak_line);
	return 0;
}
