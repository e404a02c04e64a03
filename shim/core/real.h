/* real.h - the real functions behind every interposer, resolved once.
 *
 * Resolution: the real dlsym and dlvsym are found by reading libc's dynamic
 * symbol table (elfsym.c), because calling "dlsym" from inside the shim would
 * call the shim's own dlsym. The rest come from dlsym(RTLD_NEXT, name).
 * dlsym may call calloc while it works; those calls are served from a small
 * static pool (cgs_pool_*), which free, realloc and malloc_usable_size
 * recognise (PITFALLS item 1). */
#ifndef CGOSHIM_REAL_H
#define CGOSHIM_REAL_H

#include <signal.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "common.h"

struct cgs_real {
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*__read_chk)(int, void *, size_t, size_t);
	ssize_t (*pread)(int, void *, size_t, off_t);
	ssize_t (*pread64)(int, void *, size_t, off_t);
	ssize_t (*__pread_chk)(int, void *, size_t, off_t, size_t);
	ssize_t (*__pread64_chk)(int, void *, size_t, off_t, size_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*preadv)(int, const struct iovec *, int, off_t);
	ssize_t (*preadv64)(int, const struct iovec *, int, off_t);
	int (*open)(const char *, int, ...);
	int (*open64)(const char *, int, ...);
	int (*openat)(int, const char *, int, ...);
	int (*openat64)(int, const char *, int, ...);
	int (*__open_2)(const char *, int);
	int (*__open64_2)(const char *, int);
	int (*__openat_2)(int, const char *, int);
	int (*__openat64_2)(int, const char *, int);
	int (*creat)(const char *, mode_t);
	int (*creat64)(const char *, mode_t);
	int (*close)(int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*ioctl)(int, unsigned long, ...);
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void *(*reallocarray)(void *, size_t, size_t);
	void (*free)(void *);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*memalign)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	size_t (*malloc_usable_size)(void *);
	void *(*dlopen)(const char *, int);
	void *(*dlsym)(void *, const char *);
	void *(*dlvsym)(void *, const char *, const char *);
	int (*dlclose)(void *);
	int (*sigaction)(int, const struct sigaction *, struct sigaction *);
	sighandler_t (*signal)(int, sighandler_t);
	sighandler_t (*sysv_signal)(int, sighandler_t);
	sighandler_t (*bsd_signal)(int, sighandler_t);
	sighandler_t (*ssignal)(int, sighandler_t);
	sighandler_t (*sigset)(int, sighandler_t);
	int (*sigignore)(int);
	int (*siginterrupt)(int, int);
	pid_t (*fork)(void);
};

extern struct cgs_real cgs_real;
/* Also read by the dlsym/dlvsym stubs in assembly. */
extern void *cgs_real_dlsym_ptr;
extern void *cgs_real_dlvsym_ptr;

/* real.c */
/* Resolve everything once; safe to call from any interposer, any thread. */
void cgs_real_resolve(void);
bool cgs_real_ready(void);
/* cgoshim attach: resolve again, from the global scope (RTLD_DEFAULT). */
void cgs_real_resolve_global(void);
/* The calling thread is inside cgs_real_resolve (allocations go to the pool). */
bool cgs_real_resolving(void);

void *cgs_pool_alloc(size_t n, size_t align);
#define CGS_POOL_SIZE (1u << 20)
extern char cgs_pool[CGS_POOL_SIZE];
/* Inline: every free and realloc asks this first. */
static inline bool cgs_pool_owns(const void *p)
{
	return (uintptr_t)p - (uintptr_t)cgs_pool < CGS_POOL_SIZE;
}
size_t cgs_pool_size(const void *p);

/* elfsym.c: the default-version definition of name in the loaded object
 * whose path ends in `suffix` (e.g. "/libc.so.6"), or NULL. No allocation. */
void *cgs_elf_lookup(const char *suffix, const char *name);

/* stacks.c: pipe2 with both ends moved to descriptors 1000 and up (raw
 * system calls, errno kept on success): for pipes the shim itself needs. */
int cgs_pipe_high(int fds[2], int flags);

#endif
