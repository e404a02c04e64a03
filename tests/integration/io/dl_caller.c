/* dl_caller.c - a library whose dlopen, dlsym and dlvsym calls glibc answers
 * relative to it (its DT_RUNPATH, its scope). Built twice by meson:
 * libcgsdl_caller_short.so with RUNPATH $ORIGIN/plug, and
 * libcgsdl_caller_long.so whose RUNPATH lists 200 missing directories
 * before $ORIGIN/plug (over 4096 bytes once $ORIGIN is expanded). Both
 * have a leaf function, caller_leaf. */
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>

#define EXPORT __attribute__((visibility("default")))

EXPORT void caller_open(const char *name);
EXPORT int caller_leaf(void);

/* A leaf function (built -fomit-frame-pointer): its unwind rule is the
 * standard one throughout, so dl.c's gadget in this library is "clean". */
EXPORT int caller_leaf(void)
{
	return 7;
}
EXPORT void caller_sym(const char *name);

/* One line: what dlopen(name) from this library gave. */
EXPORT void caller_open(const char *name)
{
	void *h = dlopen(name, RTLD_NOW);
	if (!h) {
		printf("caller dlopen %s: failed: %s\n", name, dlerror());
		return;
	}
	struct link_map *lm = NULL;
	const char *(*value)(void) = (const char *(*)(void))dlsym(h, "plug_value");
	dlinfo(h, RTLD_DI_LINKMAP, &lm);
	printf("caller dlopen %s: %s value=%s\n", name, lm ? lm->l_name : "?", value ? value() : "(none)");
}

EXPORT void caller_sym(const char *name)
{
	void *p = dlsym(RTLD_DEFAULT, name);
	printf("caller dlsym(RTLD_DEFAULT, %s): %s\n", name, p ? "found" : dlerror());
	p = dlsym(RTLD_NEXT, name);
	printf("caller dlsym(RTLD_NEXT, %s): %s\n", name, p ? "found" : dlerror());
	p = dlvsym(RTLD_DEFAULT, name, "CGSDL_NO_1.0");
	printf("caller dlvsym(RTLD_DEFAULT, %s, CGSDL_NO_1.0): %s\n", name, p ? "found" : dlerror());
}
