/* origin_main.c - a program linked with one of the loader libraries (see
 * loader.c); built as origin_runpath and origin_rpath.
 *
 * It first tries the plugin's bare name itself: that must fail (the
 * program's own search path does not have plugins/), which proves the
 * loader's search path is what finds it next. Then the loader's dlopen
 * must succeed. test_dl.c compares the output with and without the shim;
 * the report must count two dlopen calls, one failed. */
#include <dlfcn.h>
#include <stdio.h>

int loader_run(char *out, size_t cap);

int main(void)
{
	void *h = dlopen("libcgsio_plugin.so", RTLD_NOW);
	printf("main: dlopen = %s\n", h ? "found (the test's premise is broken)" : dlerror());
	char buf[512];
	int rc = loader_run(buf, sizeof(buf));
	printf("loader: %d %s\n", rc, buf);
	return rc ? 1 : 0;
}
