/* hello.c - the smallest measured program: one line out, one leak site.
 *
 * hello_leak() leaks 1 block of 4321 bytes. With "secure" as argument it
 * also says whether it runs in secure mode (AT_SECURE) and whether
 * libcgoshim.so is loaded (the setuid test links it directly, because the
 * loader ignores LD_PRELOAD paths in setuid programs). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

static void *sink;

__attribute__((noinline)) static void hello_leak(void)
{
	sink = malloc(4321);
}

int main(int argc, char **argv)
{
	hello_leak();
	printf("hello from the test program\n");
	if (argc == 2 && !strcmp(argv[1], "secure")) {
		printf("secure: %lu\n", getauxval(AT_SECURE));
		printf("shim loaded: %s\n", dlsym(RTLD_DEFAULT, "cgoshim_version") ? "yes" : "no");
	}
	return 0;
}
