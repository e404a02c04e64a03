/* local_lib.c - libcgsio_local.so, loaded by rtld_next.c with
 * dlopen(RTLD_LOCAL). Its own symbols are then in its local scope only, and
 * dlsym(RTLD_DEFAULT, ...) finds them only when glibc sees this library as
 * the caller: RTLD_DEFAULT, like RTLD_NEXT, depends on the caller (glibc
 * searches the caller's scope list, dl-sym.c). */
#include <dlfcn.h>

#define EXPORT __attribute__((visibility("default")))

EXPORT int cgsio_local_marker;
EXPORT const char *local_default_lookup(void);

EXPORT int cgsio_local_marker = 42;

/* "found 42" when RTLD_DEFAULT searched this library's scope, or dlerror(). */
EXPORT const char *local_default_lookup(void)
{
	int *p = dlsym(RTLD_DEFAULT, "cgsio_local_marker");
	return p && *p == 42 ? "found 42" : dlerror();
}
