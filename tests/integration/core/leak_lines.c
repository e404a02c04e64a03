/* leak_lines.c - leaks whose call lines are easy to get wrong.
 *
 * Built with -O2 -g (tests/integration/core/meson.build): after each call
 * the next instruction belongs to the next line, so a report that looks up
 * a return address itself (not address - 1) names the line after the call.
 * test_core_leaks.c compares every site's first program frame with the
 * line valgrind gives for it. Sizes are unique per site.
 *
 * With "trap" as argument it also leaks from a SIGILL handler: the frame
 * the signal interrupted (a ud2, the first instruction of its line) is an
 * exact PC, not a return address, and must keep its own line. */
#include <signal.h>
#include <stdio.h>
#include <ucontext.h>
#include <stdlib.h>
#include <string.h>

void *volatile sink[16];

__attribute__((noinline)) static void *inner(size_t n)
{
	void *p = malloc(n);
	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

__attribute__((noinline)) static void *two_calls(size_t a, size_t b)
{
	void *x = calloc(1, a);
	void *y = malloc(b);
	sink[10] = y;
	return x;
}

static void on_ill(int sig, siginfo_t *si, void *ctx)
{
	(void)sig, (void)si;
	sink[11] = malloc(7007);
	((ucontext_t *)ctx)->uc_mcontext.gregs[REG_RIP] += 2; /* past the ud2 */
}

volatile int trap_line, side;

__attribute__((noinline)) static void trap(void)
{
	side = 1;
	__asm__ volatile("ud2"); trap_line = __LINE__;
	side = 2;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "trap")) {
		struct sigaction sa = { 0 };
		sa.sa_sigaction = on_ill;
		sa.sa_flags = SA_SIGINFO;
		sigaction(SIGILL, &sa, NULL);
		trap();
		printf("trap line %d\n", trap_line);
	}
	void *a = malloc(1001 + (size_t)argc);
	void *b = malloc(2002 + (size_t)argc);
	void *c = realloc(NULL, 3003 + (size_t)argc);
	sink[0] = a;
	sink[1] = b;
	sink[2] = c;
	sink[3] = inner(4004);
	sink[4] = two_calls(5005, 6006);
	char *d = strdup("leak_lines: a string that escapes");
	sink[5] = d;
	printf("leak_lines done\n");
	return 0;
}
