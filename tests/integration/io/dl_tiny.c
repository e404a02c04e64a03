/* dl_tiny.c - an executable whose only function that returns is main,
 * which saves a register or adjusts the stack before its ret: the gadget
 * dl.c finds in it is not one every unwinder can follow (test_dl_lookup's
 * ctor_stack_tiny). */
#include <dlfcn.h>

int main(int argc, char **argv)
{
	void *h = argc > 1 ? dlopen(argv[1], RTLD_NOW) : 0;
	return h ? 0 : 1;
}
