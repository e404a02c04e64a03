/* dl_tiny.c - an executable with no `ret` after which every unwinder finds
 * the plain unwind rule: main keeps argc in a callee-saved register across
 * the call, so its only ret follows a pop. dl.c's gadget in it is not
 * "clean", and the shim must repair stacks captured inside its dlopen
 * (test_dl_lookup's ctor_stack_tiny). */
#include <dlfcn.h>

int main(int argc, char **argv)
{
	void *h = dlopen(argv[1], RTLD_NOW);
	return h ? argc - 2 : argc;
}
