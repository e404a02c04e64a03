/* liba.c - fixture library A for test_symbols.c (built as libsymfix_a.so).
 *
 * The test dlopens it, asks symfix_a_where() for a return address inside
 * it and the source line of that call, dlcloses it, then loads library B at
 * (very likely) the same address and checks that the old address at the old
 * epoch still names this library. libb.c has the same shape and size on
 * purpose, so that it lands where this one was. */
#include <stdint.h>

#define SYMFIX_NOINLINE __attribute__((noinline, noclone))
/* Exported even when built with -fvisibility=hidden: the test dlsym()s it. */
#define SYMFIX_EXPORT __attribute__((visibility("default")))

SYMFIX_EXPORT int symfix_a_where(uintptr_t *pc);

/* Returns the address its caller resumes at. */
static SYMFIX_NOINLINE void *symfix_a_return_address(void)
{
	void *ra = __builtin_return_address(0);

	__asm__ __volatile__("" : "+r"(ra));
	return ra;
}

/* Stores a return address inside this function in *pc and returns the line
 * of the call that produced it (both on one line). */
SYMFIX_EXPORT SYMFIX_NOINLINE int symfix_a_where(uintptr_t *pc)
{
	*pc = (uintptr_t)symfix_a_return_address(); return __LINE__;
}
