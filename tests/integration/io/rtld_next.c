/* rtld_next.c - which foo do lookups relative to the caller find?
 * (PITFALLS item 11; test_dl.c runs it with and without the shim and
 * compares the output.)
 *
 *	rtld_next PATH/TO/libcgsio_local.so
 *
 * The program is linked with libcgsio_nexta.so before libcgsio_nextb.so;
 * both define foo. Expected (glibc, without the shim):
 *	A: next foo = B          dlsym(RTLD_NEXT) from libA finds libB's foo
 *	A: vnext foo = B         the same with dlvsym(RTLD_NEXT, "foo", "CGSIO_B_1")
 *	A: next missing = ...    dlerror(), which names libA as the caller
 *	main: next foo = A       from the program, the next object is libA
 *	main: default foo = A
 *	local: default = found 42   dlsym(RTLD_DEFAULT) from a RTLD_LOCAL library
 * RTLD_NEXT calls: 4 (three in libA, one in main); other dlsym calls: 2
 * (main's RTLD_DEFAULT lookup and the lookup of local_default_lookup),
 * plus 1 in libcgsio_local.so; dlopen: 1. */
#include <dlfcn.h>
#include <stdio.h>

const char *foo(void);
const char *nexta_next_foo(void);
const char *nexta_vnext_foo(void);
const char *nexta_next_missing(void);
const char *nextb_name(void);

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH/TO/libcgsio_local.so\n", argv[0]);
		return 2;
	}
	printf("A: next foo = %s\n", nexta_next_foo());
	printf("A: vnext foo = %s\n", nexta_vnext_foo());
	printf("A: next missing = %s\n", nexta_next_missing());
	const char *(*f)(void) = (const char *(*)(void))dlsym(RTLD_NEXT, "foo");
	printf("main: next foo = %s\n", f ? f() : dlerror());
	f = (const char *(*)(void))dlsym(RTLD_DEFAULT, "foo");
	printf("main: default foo = %s\n", f ? f() : dlerror());
	printf("direct: foo = %s, %s\n", foo(), nextb_name());
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		printf("local: dlopen failed: %s\n", dlerror());
		return 1;
	}
	f = (const char *(*)(void))dlsym(h, "local_default_lookup");
	printf("local: default = %s\n", f ? f() : dlerror());
	return 0;
}
