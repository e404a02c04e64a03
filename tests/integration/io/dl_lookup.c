/* dl_lookup.c - dlopen, dlsym and dlvsym whose answers glibc computes
 * relative to the caller; test_dl_lookup.c runs each mode with and without
 * the shim and compares the output.
 *
 *   origin            dlopen("$ORIGIN/libcgsdl_one.so") from the executable,
 *                     and a missing "$ORIGIN/..." (its error text)
 *   caller LIB NAME.. dlopen LIB by path, then LIB's caller_open(NAME) each
 *   errors LIB        error texts: dlopen with a bad mode, a missing bare
 *                     name, RTLD_DEFAULT/RTLD_NEXT/dlvsym misses from the
 *                     executable and from LIB
 *   default N         N dlsym(RTLD_DEFAULT, "puts") from the executable
 *   jit               dlsym(RTLD_DEFAULT) and dlsym(RTLD_NEXT) from code in
 *                     an anonymous mapping (no object holds the caller)
 *   ctor PLUGIN       dlopen of a plugin whose constructor allocates */
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static void show_open(const char *what, void *h)
{
	if (!h) {
		printf("%s: failed: %s\n", what, dlerror());
		return;
	}
	const char *(*value)(void) = (const char *(*)(void))dlsym(h, "plug_value");
	printf("%s: ok value=%s\n", what, value ? value() : "(none)");
}

static void *caller_lib(const char *path)
{
	void *h = dlopen(path, RTLD_NOW);
	if (!h) {
		printf("dlopen %s: %s\n", path, dlerror());
		exit(2);
	}
	return h;
}

__attribute__((noinline)) static void *load_ctor_plugin(const char *path)
{
	void *h = dlopen(path, RTLD_NOW);
	__asm__ __volatile__("" ::: "memory"); /* not a tail call */
	return h;
}

typedef void *(*sym_fn)(void *, const char *);

/* Code in an anonymous mapping that calls f(a, b): sub $8,%rsp; movabs
 * $f,%rax; call *%rax; add $8,%rsp; ret. */
static sym_fn jit_thunk(void *f)
{
	unsigned char code[] = { 0x48, 0x83, 0xec, 0x08, 0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
				 0xff, 0xd0, 0x48, 0x83, 0xc4, 0x08, 0xc3 };
	memcpy(code + 6, &f, 8);
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	memcpy(m, code, sizeof(code));
	if (mprotect(m, 4096, PROT_READ | PROT_EXEC))
		return NULL;
	return (sym_fn)m;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	const char *mode = argv[1];
	if (!strcmp(mode, "origin")) {
		show_open("main dlopen $ORIGIN/libcgsdl_one.so", dlopen("$ORIGIN/libcgsdl_one.so", RTLD_NOW));
		show_open("main dlopen $ORIGIN/lookup-missing/libx.so",
			  dlopen("$ORIGIN/lookup-missing/libx.so", RTLD_NOW));
		show_open("main dlopen ${ORIGIN}/libcgsdl_two.so", dlopen("${ORIGIN}/libcgsdl_two.so", RTLD_LAZY));
	} else if (!strcmp(mode, "caller") && argc >= 3) {
		void *h = caller_lib(argv[2]);
		void (*open_fn)(const char *) = (void (*)(const char *))dlsym(h, "caller_open");
		for (int i = 3; open_fn && i < argc; i++)
			open_fn(argv[i]);
	} else if (!strcmp(mode, "errors") && argc >= 3) {
		show_open("main dlopen mode 0", dlopen("libc.so.6", 0));
		show_open("main dlopen libcgsdl-missing.so", dlopen("libcgsdl-missing.so", RTLD_NOW));
		void *p = dlsym(RTLD_DEFAULT, "cgsdl_no_such_symbol");
		printf("main dlsym(RTLD_DEFAULT): %s\n", p ? "found" : dlerror());
		p = dlsym(RTLD_NEXT, "cgsdl_no_such_symbol");
		printf("main dlsym(RTLD_NEXT): %s\n", p ? "found" : dlerror());
		p = dlvsym(RTLD_DEFAULT, "puts", "CGSDL_NO_1.0");
		printf("main dlvsym(RTLD_DEFAULT): %s\n", p ? "found" : dlerror());
		p = dlsym(RTLD_NEXT, "puts");
		printf("main dlsym(RTLD_NEXT, puts): %s\n", p ? "found" : dlerror());
		printf("dlerror after success: %s\n", dlerror() ? "set" : "(null)");
		void *h = caller_lib(argv[2]);
		void (*open_fn)(const char *) = (void (*)(const char *))dlsym(h, "caller_open");
		void (*sym)(const char *) = (void (*)(const char *))dlsym(h, "caller_sym");
		if (!open_fn || !sym)
			return 3;
		open_fn("libcgsdl-missing.so");
		open_fn("libjunk.so");
		sym("cgsdl_no_such_symbol");
		sym("puts");
	} else if (!strcmp(mode, "default") && argc >= 3) {
		int n = atoi(argv[2]), found = 0;
		for (int i = 0; i < n; i++)
			found += dlsym(RTLD_DEFAULT, "puts") != NULL;
		printf("%d of %d found\n", found, n);
	} else if (!strcmp(mode, "jit")) {
		sym_fn t = jit_thunk((void *)&dlsym);
		if (!t)
			return 3;
		void *p = t(RTLD_DEFAULT, "puts");
		printf("jit dlsym(RTLD_DEFAULT, puts): %s\n", p ? "found" : dlerror());
		p = t(RTLD_NEXT, "puts");
		printf("jit dlsym(RTLD_NEXT, puts): %s\n", p ? "found" : dlerror());
	} else if (!strcmp(mode, "ctor") && argc >= 3) {
		void *h = load_ctor_plugin(argv[2]);
		printf("ctor plugin: %s\n", h ? "loaded" : dlerror());
	} else {
		return 2;
	}
	return 0;
}
