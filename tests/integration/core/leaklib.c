/* leaklib.c - a shared library with one leak site, for test_core_leaks.c.
 *
 * lib_leak() leaks 7 blocks of 9999 bytes; lib_leak_line is the source line
 * of its malloc call, so the test can check the report's file and line. */
#include <stdlib.h>

__attribute__((visibility("default"))) int lib_leak_line;
__attribute__((visibility("default"))) void *lib_sink[7];

__attribute__((visibility("default"), noinline)) void lib_leak(void)
{
	for (int i = 0; i < 7; i++) {
		lib_leak_line = __LINE__ + 1;
		lib_sink[i] = malloc(9999);
	}
}
