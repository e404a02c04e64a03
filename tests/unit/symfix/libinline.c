/* libinline.c - fixture library for the inline chains of test_symbols.c
 * (built as libsymfix_inline.so with -O2 -g).
 *
 * symfix_inline_caller() calls symfix_inline_outer(), which calls
 * symfix_inline_inner(); both helpers are always inlined, so the return
 * address that symfix_inline_inner() takes lies in symfix_inline_caller's
 * code but belongs to three functions: the test expects the chain
 * [inner (its own line), outer (line of its call of inner), caller (line of
 * its call of outer)]. symfix_inline_plain() has nothing inlined at its
 * return address: a chain of one frame. Each function reports the lines
 * with __LINE__ on the line of the call, so nothing is hard-coded. */
#include <stdint.h>

#define SYMFIX_NOINLINE __attribute__((noinline, noclone))
#define SYMFIX_INLINE static inline __attribute__((always_inline))
/* Exported even when built with -fvisibility=hidden: the test dlsym()s it. */
#define SYMFIX_EXPORT __attribute__((visibility("default")))

struct symfix_inline_where {
	uintptr_t pc;      /* a return address inside the inlined code */
	int inner_line;    /* the line of that call, in symfix_inline_inner */
	int outer_line;    /* the line where outer calls inner */
	int caller_line;   /* the line where the caller calls outer */
};

SYMFIX_EXPORT void symfix_inline_caller(struct symfix_inline_where *w);
SYMFIX_EXPORT int symfix_inline_plain(uintptr_t *pc);

/* Returns the address its caller resumes at. */
static SYMFIX_NOINLINE void *symfix_inline_return_address(void)
{
	void *ra = __builtin_return_address(0);

	__asm__ __volatile__("" : "+r"(ra));
	return ra;
}

SYMFIX_INLINE void symfix_inline_inner(struct symfix_inline_where *w)
{
	w->pc = (uintptr_t)symfix_inline_return_address(); w->inner_line = __LINE__;
}

SYMFIX_INLINE void symfix_inline_outer(struct symfix_inline_where *w)
{
	symfix_inline_inner(w); w->outer_line = __LINE__;
}

SYMFIX_EXPORT SYMFIX_NOINLINE void symfix_inline_caller(struct symfix_inline_where *w)
{
	symfix_inline_outer(w); w->caller_line = __LINE__;
}

/* Nothing inlined around the call: one frame. */
SYMFIX_EXPORT SYMFIX_NOINLINE int symfix_inline_plain(uintptr_t *pc)
{
	*pc = (uintptr_t)symfix_inline_return_address(); return __LINE__;
}
