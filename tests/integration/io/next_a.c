/* next_a.c - libcgsio_nexta.so, the first of two libraries that define foo
 * (PITFALLS item 11). Its lookups with RTLD_NEXT must find the foo of
 * libcgsio_nextb.so, linked after it, with or without the shim: glibc
 * searches the objects after the caller, and the caller is this library
 * only if the shim's dlsym does not stand in between. */
#include <dlfcn.h>
#include <stddef.h>

#define EXPORT __attribute__((visibility("default")))

EXPORT const char *foo(void);
EXPORT const char *nexta_next_foo(void);
EXPORT const char *nexta_vnext_foo(void);
EXPORT const char *nexta_next_missing(void);

EXPORT const char *foo(void)
{
	return "A";
}

/* The answer of the foo that dlsym(RTLD_NEXT, "foo") finds, or dlerror(). */
EXPORT const char *nexta_next_foo(void)
{
	const char *(*f)(void) = (const char *(*)(void))dlsym(RTLD_NEXT, "foo");
	return f ? f() : dlerror();
}

/* The same through dlvsym, with libcgsio_nextb.so's version node. */
EXPORT const char *nexta_vnext_foo(void)
{
	const char *(*f)(void) = (const char *(*)(void))dlvsym(RTLD_NEXT, "foo", "CGSIO_B_1");
	return f ? f() : dlerror();
}

/* A name nobody defines: NULL, and dlerror() names this library. */
EXPORT const char *nexta_next_missing(void)
{
	void *p = dlsym(RTLD_NEXT, "cgsio_nobody_defines_this");
	return p ? "found?" : dlerror();
}
