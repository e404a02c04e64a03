/* cxxhost.c - a C program (no libstdc++ at start) that dlopens the C++
 * plugin and runs it: cxxhost PLUGIN. Prints what it saw; exit status is
 * the plugin's. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 99;
	void *h = dlopen(argv[1], RTLD_NOW);
	if (!h) {
		printf("dlopen failed: %s\n", dlerror());
		return 98;
	}
	int (*run)(void) = (int (*)(void))dlsym(h, "cxx_run");
	if (!run)
		return 97;
	int rc = run();
	printf("host: plugin returned %d\n", rc);
	return rc;
}
