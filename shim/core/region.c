/* region.c - the shared region and its allocator; see region.h.
 *
 * Allocation happens rarely (a thread's first call, a table that grows, a
 * new stack chunk), so one spinlock guards it. Chunks are powers of two;
 * freed chunks go on a list per size and are zeroed when reused. Chunks of a
 * page or more are page-aligned, so large ones can be zeroed by punching
 * holes (MADV_REMOVE) instead of being written. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/futex.h>

#include "log.h"
#include "region.h"

#define PAGE 4096ULL
#define MIN_RESERVE (16ULL << 20) /* the smallest CGOSHIM_MEMORY accepts */
#define FIRST_MAP (2ULL << 20)    /* mapped at start; grows as needed */
#define GROW_STEP (1ULL << 20)

struct cgs_region *cgs_R;
uint64_t cgs_region_view;

/* The memfd of the region made last, until the watcher takes it. */
static int region_fd = -1;

/* An address for the region with room above it to grow into: a random
 * 2 MiB-aligned spot between 16 and 64 TiB, far from the executable and
 * its heap (below 1 TiB, or at 85 TiB for PIE), the libraries and the
 * mmap area (near 128 TiB), and Go's heap arenas (at 0xc000000000 in each
 * TiB, we stay below +512 GiB). 0 when no randomness is to be had. */
static uint64_t roomy_spot(void)
{
	uint64_t x = 0;
	if (syscall(SYS_getrandom, &x, sizeof(x), 1 /* GRND_NONBLOCK */) != (long)sizeof(x))
		x = cgs_rdtsc() * 0x9e3779b97f4a7c15ULL;
	uint64_t tib = 16 + (x % 48);
	uint64_t off = ((x >> 8) % 256) << 31; /* 0 .. 510 GiB, 2 GiB steps */
	return (tib << 40) + off;
}

/* Map `len` bytes of fd (or shared anonymous memory when fd < 0) at a
 * roomy spot, a few tries, else wherever the kernel puts it. */
static void *map_at_room(uint64_t len, int fd)
{
	int flags = MAP_SHARED | MAP_NORESERVE | (fd < 0 ? MAP_ANONYMOUS : 0);
	for (int i = 0; i < 4; i++) {
		uint64_t at = roomy_spot();
		void *p = mmap((void *)(uintptr_t)at, len, PROT_READ | PROT_WRITE, flags | MAP_FIXED_NOREPLACE, fd, 0);
		if (p == (void *)(uintptr_t)at)
			return p;
		if (p != MAP_FAILED)
			munmap(p, len); /* an old kernel took the flag as a hint */
	}
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* A new memfd of `cap` bytes, its first `len` mapped shared (at a roomy
 * spot, or at `at` when given: MAP_FIXED_NOREPLACE is not used there, the
 * caller moves it). The process maps it through a second open file
 * (reopened through /proc/self/fd) and keeps the memfd's own descriptor
 * for the watcher, which maps that one instead: then the process's
 * mapping is the only user of its open file, and when the process execs
 * or exits the file is closed, which the watcher sees with inotify
 * (watcher.c) without the process holding any descriptor. *cap_out is
 * what the region may grow to. */
static void *map_memfd(uint64_t cap, uint64_t len, bool anywhere, uint64_t *cap_out)
{
	int fd = (int)syscall(SYS_memfd_create, "cgoshim", MFD_CLOEXEC);
	if (fd < 0) {
		/* No descriptor to be had (EMFILE: a program that uses up its
		 * descriptors, then forks): shared anonymous memory needs none,
		 * and the watcher, forked after, shares it just the same. It
		 * cannot grow: as much as can be had, mapped at once. */
		cgs_region_drop_fd();
		if (anywhere) { /* a fork child's copy: as much as the parent has */
			void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE,
				       -1, 0);
			*cap_out = len;
			return p == MAP_FAILED ? NULL : p;
		}
		for (uint64_t c = cap; c >= len && c >= MIN_RESERVE; c /= 2) {
			void *p = map_at_room(c, -1);
			if (p) {
				*cap_out = c;
				return p;
			}
		}
		return NULL;
	}
	void *p = NULL;
	if (syscall(SYS_ftruncate, fd, (off_t)cap) == 0) {
		char path[40] = "/proc/self/fd/";
		cgs_u64_str((uint64_t)fd, path + 14);
		int own = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CLOEXEC);
		int use = own >= 0 ? own : fd;
		if (anywhere) {
			p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, use, 0);
			if (p == MAP_FAILED)
				p = NULL;
		} else {
			p = map_at_room(len, use);
		}
		if (own >= 0)
			syscall(SYS_close, own);
	}
	if (!p) {
		syscall(SYS_close, fd);
		return NULL;
	}
	cgs_region_drop_fd();
	region_fd = fd;
	*cap_out = cap;
	return p;
}

/* Grow the process's mapping in place to hold `need` bytes (under the
 * allocator's lock). False when the room above is taken, RLIMIT_AS says
 * no, or the region is at its size. */
static bool grow(struct cgs_region *r, uint64_t need)
{
	uint64_t have = r->mapped;
	if (need <= have)
		return true;
	if (need > r->size)
		return false;
	uint64_t want = have + have / 4;
	if (want < need)
		want = need;
	want = (want + GROW_STEP - 1) & ~(GROW_STEP - 1);
	if (want > r->size)
		want = r->size;
	/* Grow the last page's area: the region may be several areas by now
	 * (the rings' NUMA policies split it, ring.c), and mremap grows in
	 * place only a range that ends where its area ends. */
	char *tail = (char *)r + have - PAGE;
	for (;;) {
		void *p = mremap(tail, PAGE, want - have + PAGE, 0);
		if (p == (void *)tail) {
			__atomic_store_n(&r->mapped, want, __ATOMIC_RELEASE);
			return true;
		}
		if (want == need)
			return false;
		want = need; /* no room for the step: just what is needed */
	}
}

int cgs_region_take_fd(void)
{
	int fd = region_fd;
	region_fd = -1;
	return fd;
}

void cgs_region_drop_fd(void)
{
	if (region_fd >= 0)
		syscall(SYS_close, region_fd);
	region_fd = -1;
}

struct cgs_region *cgs_region_create(const struct cgs_options *opts)
{
	uint64_t cap = opts->memory, len = cap < FIRST_MAP ? cap : FIRST_MAP;
	void *p = map_memfd(cap, len, false, &cap);
	if (!p)
		return NULL;
	struct cgs_region *r = p;
	r->magic = CGS_REGION_MAGIC;
	r->version = CGS_REGION_VERSION;
	r->header_size = sizeof(*r);
	r->size = cap;
	r->mapped = len > cap ? cap : len;
	if (region_fd < 0)
		r->mapped = cap; /* shared anonymous: all of it is mapped */
	r->brk = (sizeof(*r) + PAGE - 1) & ~(PAGE - 1);
	r->opts = *opts;
	return r;
}

bool cgs_region_contains(const struct cgs_region *r, const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p, base = (uintptr_t)r;
	uint64_t lim = r->size;
	if (cgs_region_view && cgs_region_view < lim)
		lim = cgs_region_view;
	return a >= base && n <= lim && a - base <= lim - n;
}

uint64_t cgs_region_used(const struct cgs_region *r)
{
	return __atomic_load_n(&r->brk, __ATOMIC_RELAXED);
}

uint64_t cgs_region_resident(const struct cgs_region *r)
{
	uint64_t used = cgs_region_used(r), pages = 0;
	unsigned char vec[256];
	for (uint64_t off = 0; off < used; off += sizeof(vec) * PAGE) {
		uint64_t len = used - off < sizeof(vec) * PAGE ? used - off : sizeof(vec) * PAGE;
		uint64_t n = (len + PAGE - 1) / PAGE;
		if (mincore((char *)r + off, n * PAGE, vec))
			return used; /* cannot tell: the upper bound */
		for (uint64_t i = 0; i < n; i++)
			pages += vec[i] & 1;
	}
	return pages * PAGE;
}

static unsigned size_class(size_t n)
{
	if (n <= 64)
		return 6;
	return 64u - (unsigned)__builtin_clzll((uint64_t)n - 1);
}

static void zero(void *p, size_t n)
{
	if (n >= (64u << 10) && !((uintptr_t)p & (PAGE - 1)) && !madvise(p, n, MADV_REMOVE))
		return;
	memset(p, 0, n);
}

void *cgs_ralloc(struct cgs_region *r, size_t n)
{
	unsigned c = size_class(n);
	if (c >= 63)
		return NULL;
	uint64_t sz = 1ULL << c;
	void *p = NULL;
	cgs_spin_lock(&r->alloc_lock);
	if (r->free_lists[c]) {
		p = r->free_lists[c];
		r->free_lists[c] = *(void **)p;
	} else {
		uint64_t align = sz < PAGE ? 64 : PAGE;
		uint64_t off = (r->brk + align - 1) & ~(align - 1);
		if (off <= r->size && sz <= r->size - off && grow(r, off + sz)) {
			p = (char *)r + off;
			__atomic_store_n(&r->brk, off + sz, __ATOMIC_RELAXED);
			cgs_spin_unlock(&r->alloc_lock);
			return p; /* fresh pages are zero */
		}
	}
	cgs_spin_unlock(&r->alloc_lock);
	if (p)
		zero(p, sz);
	else
		cgs_count(&r->counters.region_oom);
	return p;
}

void cgs_rfree(struct cgs_region *r, void *p, size_t n)
{
	if (!p)
		return;
	unsigned c = size_class(n);
	/* Give the pages of a large chunk back now (a grown table's old
	 * slots): they read as zero when the chunk is reused. */
	if ((1ULL << c) >= (64u << 10))
		madvise(p, 1ULL << c, MADV_REMOVE);
	cgs_spin_lock(&r->alloc_lock);
	*(void **)p = r->free_lists[c];
	r->free_lists[c] = p;
	cgs_spin_unlock(&r->alloc_lock);
}

int cgs_region_privatize(struct cgs_region *r)
{
	uint64_t size = r->mapped, used = cgs_region_used(r), cap = r->size;
	char *src = (char *)r;
	char *dst = map_memfd(cap, size, true, &cap);
	if (!dst) {
		cgs_region_fork_copied(r);
		return -ENOMEM;
	}
	/* Copy only pages that exist: reading a hole of a memfd would allocate. */
	unsigned char vec[256];
	for (uint64_t off = 0; off < used; off += sizeof(vec) * PAGE) {
		uint64_t len = used - off;
		if (len > sizeof(vec) * PAGE)
			len = sizeof(vec) * PAGE;
		uint64_t pages = (len + PAGE - 1) / PAGE;
		if (mincore(src + off, pages * PAGE, vec)) {
			memcpy(dst + off, src + off, len);
			continue;
		}
		for (uint64_t i = 0; i < pages; i++) {
			uint64_t o = off + i * PAGE;
			if (vec[i] & 1)
				memcpy(dst + o, src + o, (used - o) < PAGE ? used - o : PAGE);
		}
	}
	cgs_region_fork_copied(r);
	void *moved = mremap(dst, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, src);
	if (moved == MAP_FAILED) {
		munmap(dst, size);
		return -errno;
	}
	r->size = cap; /* shared anonymous memory (no memfd) does not grow */
	return 0;
}

void cgs_region_fork_copied(struct cgs_region *r)
{
	__atomic_store_n(&r->fork_sync, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &r->fork_sync, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

void cgs_region_fork_wait(struct cgs_region *r)
{
	/* Bounded: a child that dies before copying must not hang the parent. */
	for (int i = 0; i < 100 && !__atomic_load_n(&r->fork_sync, __ATOMIC_ACQUIRE); i++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		syscall(SYS_futex, &r->fork_sync, FUTEX_WAIT, 0, &ts, NULL, 0);
	}
}
