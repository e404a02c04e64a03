/* real.c - resolve the real functions once; the bootstrap pool. See real.h. */
#include <dlfcn.h>
#include <string.h>

#include "real.h"

struct cgs_real cgs_real;
void *cgs_real_dlsym_ptr;
void *cgs_real_dlvsym_ptr;

enum { UNRESOLVED, RESOLVING, RESOLVED };
static volatile int state;
static CGS_TLS bool t_resolving;

bool cgs_real_ready(void)
{
	return __atomic_load_n(&state, __ATOMIC_ACQUIRE) == RESOLVED;
}

bool cgs_real_resolving(void)
{
	return t_resolving;
}

static void *find_dl(const char *name)
{
	void *p = cgs_elf_lookup("/libc.so.6", name);
	return p ? p : cgs_elf_lookup("/libdl.so.2", name);
}

static void fill(void *from);

void cgs_real_resolve(void)
{
	if (cgs_real_ready() || t_resolving)
		return;
	int expected = UNRESOLVED;
	if (!__atomic_compare_exchange_n(&state, &expected, RESOLVING, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		while (!cgs_real_ready())
			cgs_cpu_relax();
		return;
	}
	t_resolving = true;
	fill(RTLD_NEXT);
	t_resolving = false;
	__atomic_store_n(&state, RESOLVED, __ATOMIC_RELEASE);
}

/* cgoshim attach: the functions the program's calls reach now. */
void cgs_real_resolve_global(void)
{
	t_resolving = true;
	fill(RTLD_DEFAULT);
	t_resolving = false;
	__atomic_store_n(&state, RESOLVED, __ATOMIC_RELEASE);
}

static void fill(void *from)
{
	cgs_real.dlsym = find_dl("dlsym");
	cgs_real.dlvsym = find_dl("dlvsym");
	cgs_real_dlsym_ptr = (void *)cgs_real.dlsym;
	cgs_real_dlvsym_ptr = (void *)cgs_real.dlvsym;
	if (cgs_real.dlsym) {
#define R(n) cgs_real.n = (__typeof__(cgs_real.n))cgs_real.dlsym(from, #n)
		R(read); R(__read_chk); R(pread); R(pread64); R(__pread_chk); R(__pread64_chk);
		R(readv); R(preadv); R(preadv64);
		R(open); R(open64); R(openat); R(openat64); R(__open_2); R(__open64_2);
		R(__openat_2); R(__openat64_2); R(creat); R(creat64);
		R(close); R(dup); R(dup2); R(dup3); R(ioctl);
		R(malloc); R(calloc); R(realloc); R(reallocarray); R(free); R(posix_memalign);
		R(aligned_alloc); R(memalign); R(valloc); R(pvalloc); R(malloc_usable_size);
		R(dlopen); R(dlclose);
		R(sigaction); R(signal); R(sysv_signal); R(bsd_signal); R(fork);
		R(ssignal); R(sigset); R(sigignore); R(siginterrupt);
#undef R
	}
}

/* ---- bootstrap pool ---------------------------------------------------- */

char cgs_pool[CGS_POOL_SIZE] CGS_ALIGNED(64);
#define pool cgs_pool
#define POOL_SIZE CGS_POOL_SIZE
static size_t pool_used;

struct pool_hdr {
	uint64_t size;
	uint64_t magic;
};

void *cgs_pool_alloc(size_t n, size_t align)
{
	if (align < 16)
		align = 16;
	for (;;) {
		size_t used = __atomic_load_n(&pool_used, __ATOMIC_RELAXED);
		size_t start = (used + sizeof(struct pool_hdr) + align - 1) & ~(align - 1);
		if (n > POOL_SIZE || start + n > POOL_SIZE)
			return NULL;
		if (__atomic_compare_exchange_n(&pool_used, &used, start + n, false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED)) {
			struct pool_hdr *h = (struct pool_hdr *)(pool + start) - 1;
			h->size = n;
			h->magic = 0x706f6f6c;
			return pool + start;
		}
	}
}

size_t cgs_pool_size(const void *p)
{
	return ((const struct pool_hdr *)p - 1)->size;
}
