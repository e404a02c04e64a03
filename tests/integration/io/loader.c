/* loader.c - a library that dlopens a plugin by bare name (PITFALLS item
 * 12). Built twice: libcgsio_loader_runpath.so with DT_RUNPATH and
 * libcgsio_loader_rpath.so with DT_RPATH, both "$ORIGIN/plugins"; the
 * plugin, libcgsio_plugin.so, lives in plugins/ next to them and nowhere
 * else. glibc searches the caller's RUNPATH/RPATH for a bare name, so only
 * this library (not the program) finds it, and only if the shim's dlopen
 * keeps the caller's search path. */
#include <dlfcn.h>
#include <stdio.h>

#define EXPORT __attribute__((visibility("default")))

EXPORT int loader_run(char *out, size_t cap);

/* 0 and the plugin's greeting in out, or -1 and dlerror() in out. */
EXPORT int loader_run(char *out, size_t cap)
{
	void *h = dlopen("libcgsio_plugin.so", RTLD_NOW);
	if (!h) {
		snprintf(out, cap, "%s", dlerror());
		return -1;
	}
	const char *(*hello)(void) = (const char *(*)(void))dlsym(h, "cgsio_plugin_hello");
	if (!hello) {
		snprintf(out, cap, "%s", dlerror());
		return -1;
	}
	snprintf(out, cap, "%s", hello());
	return 0;
}
