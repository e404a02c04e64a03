/* zhost.c - zhost PLUGIN: what a program that bundles its own zlib sees:
 * whether libz.so.1 is loaded before the plugin (dlopen RTLD_NOLOAD), and
 * which zlibVersion the plugin got. Same output with and without the shim. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 99;
	void *z = dlopen("libz.so.1", RTLD_LAZY | RTLD_NOLOAD);
	printf("libz.so.1 loaded before the plugin: %s\n", z ? "yes" : "no");
	void *h = dlopen(argv[1], RTLD_NOW);
	if (!h) {
		printf("dlopen failed: %s\n", dlerror());
		return 98;
	}
	const char *(*v)(void) = (const char *(*)(void))dlsym(h, "zuser_version");
	printf("plugin's zlibVersion: %s\n", v ? v() : "(none)");
	return 0;
}
