/* libb.c - fixture library B for test_symbols.c (built as libsymfix_b.so).
 *
 * Loaded by the test after library A (liba.c) was dlclose'd. It has the same
 * shape and size as liba.c on purpose, so that the loader very likely maps
 * it where A was: the test then checks that an address of A at A's epoch
 * still names A, and the same address at B's epoch names B. */
#include <stdint.h>

#define SYMFIX_NOINLINE __attribute__((noinline, noclone))
/* Exported even when built with -fvisibility=hidden: the test dlsym()s it. */
#define SYMFIX_EXPORT __attribute__((visibility("default")))

SYMFIX_EXPORT int symfix_b_where(uintptr_t *pc);

/* Returns the address its caller resumes at. */
static SYMFIX_NOINLINE void *symfix_b_return_address(void)
{
	void *ra = __builtin_return_address(0);

	__asm__ __volatile__("" : "+r"(ra));
	return ra;
}

/* Stores a return address inside this function in *pc and returns the line
 * of the call that produced it (both on one line). */
SYMFIX_EXPORT SYMFIX_NOINLINE int symfix_b_where(uintptr_t *pc)
{
	*pc = (uintptr_t)symfix_b_return_address(); return __LINE__;
}
