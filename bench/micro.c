/* micro.c - micro-benchmarks of the calls cgoshim interposes.
 *
 * Measures, in one process, the wall time per call of a few hot operations,
 * so the same binary run with and without LD_PRELOAD=libcgoshim.so gives
 * the cost the shim adds to each (issues #2 and #3):
 *
 *   read        read(fd, buf, 1) on /dev/zero
 *   ioctl       ioctl(pipe_rd, FIONREAD, &n) on an empty pipe
 *   malloc_free a malloc/free pair, sizes cycling 16, 64, 256, 1024, 4096
 *   dlsym       dlsym(libm handle, "cos")
 *   malloc_loop a malloc-bound loop: a ring of 1024 live blocks, one replaced
 *               per iteration by a block of pseudo-random size (16..4 KiB)
 *   rdtsc       one rdtsc instruction: not interposed, a reference for the
 *               floor of any rdtsc-timed wrapper (the shim reads the TSC
 *               twice per timed call)
 *
 * Reference ops (never interposed; they show what ANY rdtsc-timing wrapper
 * costs on this machine, whatever its bookkeeping; compare with "direct"):
 *   floor_read        read through a minimal wrapper: rdtsc, libc's read,
 *                     rdtsc, one add
 *   floor_read_sys    the same wrapper, but it makes the system call itself
 *                     (inline `syscall`) instead of calling libc's read
 *   floor_ioctl       ioctl(FIONREAD) through a minimal wrapper
 *   floor_malloc_free malloc and free each through a minimal wrapper
 *
 * Each op runs twice, in alternating blocks of BLOCK calls: through the
 * interposed symbols (what a program gets) and "direct", through pointers to
 * libc's own functions taken with dlsym on libc's handle, which no preload
 * can intercept. Under the shim the difference is the cost it adds, measured
 * in the same process over the same stretch of time, which cancels most of
 * the drift of a busy machine; without the shim it must be about zero.
 * Both variants call through a function pointer, so the call cost is alike.
 *
 * Each variant gets an untimed warm-up, then ITERS calls timed with
 * CLOCK_MONOTONIC. One JSON line per op goes to stdout:
 *   {"op": "read", "ns_per_op": 123.4, "iters": 2000000, "wall_ms": 246.8,
 *    "min_block_ns_per_op": 110.2, "direct_ns_per_op": 101.2,
 *    "direct_min_block_ns_per_op": 95.0}
 * ns_per_op is the mean over all ITERS calls; min_block_ns_per_op that of
 * the fastest block of BLOCK calls (see measure()).
 *
 * Usage: micro [--only OP[,OP...]] [--iters N] [--scale F] [--warm W]
 *              [--no-direct]
 *   --only      run these ops only (default: all, in the order above)
 *   --iters     iterations for every selected op (overrides the defaults)
 *   --scale     multiply the default iteration counts by F (e.g. 0.1)
 *   --warm      untimed warm-up calls per op (default: a tenth of the
 *               iterations, at most 20000); fixed, it lets two runs that
 *               differ only in --iters be subtracted (bench/run-callgrind)
 *   --no-direct skip the direct variant (only the interposed calls run)
 *
 * Each op is a non-inlined function named bench_OP, so a profiler can tell
 * the timed loops apart. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>

#define NOINLINE __attribute__((noinline))
#define BLOCK 10000

/* The functions a variant calls. */
struct fns {
	ssize_t (*read)(int, void *, size_t);
	int (*ioctl)(int, unsigned long, ...);
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*dlsym)(void *, const char *);
};

static struct fns interposed, direct, floor_fns, floor_sys_fns;

/* Per-variant state that lives across blocks. */
#define RING 1024
struct vstate {
	const struct fns *f;
	unsigned k;            /* malloc_free: next size */
	uint64_t rng;          /* malloc_loop */
	void *volatile ring[RING];
};

static struct vstate v_int, v_dir, v_floor, v_floor_sys;

struct op {
	const char *name;
	long default_iters;
	void (*run)(struct vstate *v, long iters);
	bool has_direct;
	struct vstate *v; /* the measured variant: v_int, or a floor */
};

static int zero_fd = -1;
static int pipe_rd = -1, pipe_wr = -1;
static void *libm;
static volatile uint64_t sink;

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static void die(const char *what)
{
	fprintf(stderr, "micro: %s: %s\n", what, strerror(errno));
	exit(2);
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Minimal timing wrappers (the reference ops): what a wrapper costs before
 * it does any bookkeeping. */
static uint64_t floor_ticks;

NOINLINE static ssize_t floor_read_fn(int fd, void *buf, size_t n)
{
	uint64_t t0 = rdtsc();
	ssize_t r = direct.read(fd, buf, n);
	floor_ticks += rdtsc() - t0;
	return r;
}

NOINLINE static ssize_t floor_read_sys_fn(int fd, void *buf, size_t n)
{
	uint64_t t0 = rdtsc();
	register long rdi __asm__("rdi") = fd;
	register long rsi __asm__("rsi") = (long)buf;
	register long rdx __asm__("rdx") = (long)n;
	long r;
	__asm__ __volatile__("syscall"
			     : "=a"(r)
			     : "0"(0L /* SYS_read */), "r"(rdi), "r"(rsi), "r"(rdx)
			     : "rcx", "r11", "memory");
	if (r < 0) {
		errno = (int)-r;
		r = -1;
	}
	floor_ticks += rdtsc() - t0;
	return r;
}

NOINLINE static int floor_ioctl_fn(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	uint64_t t0 = rdtsc();
	int r = direct.ioctl(fd, req, arg);
	floor_ticks += rdtsc() - t0;
	return r;
}

NOINLINE static void *floor_malloc_fn(size_t n)
{
	uint64_t t0 = rdtsc();
	void *p = direct.malloc(n);
	floor_ticks += rdtsc() - t0;
	return p;
}

NOINLINE static void floor_free_fn(void *p)
{
	uint64_t t0 = rdtsc();
	direct.free(p);
	floor_ticks += rdtsc() - t0;
}

/* Every op: a loop of `iters` calls, nothing else that costs. */

NOINLINE void bench_read(struct vstate *v, long iters);
NOINLINE void bench_read(struct vstate *v, long iters)
{
	char buf[1];
	for (long i = 0; i < iters; i++)
		if (v->f->read(zero_fd, buf, 1) != 1)
			die("read /dev/zero");
}

NOINLINE void bench_ioctl(struct vstate *v, long iters);
NOINLINE void bench_ioctl(struct vstate *v, long iters)
{
	int n;
	for (long i = 0; i < iters; i++)
		if (v->f->ioctl(pipe_rd, FIONREAD, &n) != 0)
			die("ioctl FIONREAD");
}

static const size_t pair_sizes[5] = { 16, 64, 256, 1024, 4096 };

NOINLINE void bench_malloc_free(struct vstate *v, long iters);
NOINLINE void bench_malloc_free(struct vstate *v, long iters)
{
	/* The volatile pointer keeps the compiler from pairing malloc with free
	 * and removing both. */
	void *volatile p;
	unsigned k = v->k;
	for (long i = 0; i < iters; i++) {
		p = v->f->malloc(pair_sizes[k]);
		if (!p)
			die("malloc");
		v->f->free(p);
		k = k == 4 ? 0 : k + 1;
	}
	v->k = k;
}

NOINLINE void bench_dlsym(struct vstate *v, long iters);
NOINLINE void bench_dlsym(struct vstate *v, long iters)
{
	void *volatile f;
	for (long i = 0; i < iters; i++) {
		f = v->f->dlsym(libm, "cos");
		if (!f) {
			fprintf(stderr, "micro: dlsym cos: %s\n", dlerror());
			exit(2);
		}
	}
}

static inline uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

NOINLINE void bench_malloc_loop(struct vstate *v, long iters);
NOINLINE void bench_malloc_loop(struct vstate *v, long iters)
{
	/* Sizes 16..4096+120, spread over powers of two and within them, so
	 * tcache, fast and small bins all see traffic. */
	uint64_t s = v->rng;
	for (long i = 0; i < iters; i++) {
		uint64_t r = xorshift(&s);
		size_t size = ((size_t)16 << (r % 9)) + ((r >> 8) & 15) * 8;
		unsigned slot = (unsigned)(r >> 20) & (RING - 1);
		v->f->free(v->ring[slot]);
		char *p = v->f->malloc(size);
		if (!p)
			die("malloc");
		p[0] = (char)i;
		v->ring[slot] = p;
	}
	v->rng = s;
}

NOINLINE void bench_rdtsc(struct vstate *v, long iters);
NOINLINE void bench_rdtsc(struct vstate *v, long iters)
{
	uint64_t acc = 0;
	for (long i = 0; i < iters; i++) {
		uint32_t lo, hi;
		__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
		acc += ((uint64_t)hi << 32) | lo;
	}
	sink = acc;
}

static const struct op ops[] = {
	{ "read", 2000000, bench_read, true, &v_int },
	{ "ioctl", 2000000, bench_ioctl, true, &v_int },
	{ "malloc_free", 2000000, bench_malloc_free, true, &v_int },
	{ "dlsym", 500000, bench_dlsym, true, &v_int },
	{ "malloc_loop", 2000000, bench_malloc_loop, true, &v_int },
	{ "rdtsc", 2000000, bench_rdtsc, false, &v_int },
	{ "floor_read", 1000000, bench_read, true, &v_floor },
	{ "floor_read_sys", 1000000, bench_read, true, &v_floor_sys },
	{ "floor_ioctl", 1000000, bench_ioctl, true, &v_floor },
	{ "floor_malloc_free", 2000000, bench_malloc_free, true, &v_floor },
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

static void *libc_sym(void *libc, const char *name)
{
	void *p = dlsym(libc, name);
	if (!p) {
		fprintf(stderr, "micro: dlsym(libc, %s): %s\n", name, dlerror());
		exit(2);
	}
	return p;
}

static void setup(void)
{
	zero_fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (zero_fd < 0)
		die("open /dev/zero");
	int p[2];
	if (pipe(p))
		die("pipe");
	pipe_rd = p[0];
	pipe_wr = p[1];
	libm = dlopen("libm.so.6", RTLD_NOW);
	if (!libm) {
		fprintf(stderr, "micro: dlopen libm.so.6: %s\n", dlerror());
		exit(2);
	}

	/* &read and friends resolve to the first definition in the global
	 * scope: the shim's when it is preloaded. */
	interposed = (struct fns){ read, ioctl, malloc, free, dlsym };
	/* A lookup in libc's own handle searches libc (and the loader) only. */
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	if (!libc) {
		fprintf(stderr, "micro: dlopen libc.so.6: %s\n", dlerror());
		exit(2);
	}
	direct.read = (ssize_t (*)(int, void *, size_t))libc_sym(libc, "read");
	direct.ioctl = (int (*)(int, unsigned long, ...))libc_sym(libc, "ioctl");
	direct.malloc = (void *(*)(size_t))libc_sym(libc, "malloc");
	direct.free = (void (*)(void *))libc_sym(libc, "free");
	direct.dlsym = (void *(*)(void *, const char *))libc_sym(libc, "dlsym");

	floor_fns = (struct fns){ floor_read_fn, floor_ioctl_fn, floor_malloc_fn, floor_free_fn, NULL };
	floor_sys_fns = (struct fns){ floor_read_sys_fn, NULL, NULL, NULL, NULL };

	v_int.f = &interposed;
	v_dir.f = &direct;
	v_floor.f = &floor_fns;
	v_floor_sys.f = &floor_sys_fns;
	v_int.rng = v_dir.rng = 0x9E3779B97F4A7C15ULL;
}

static void ring_clear(struct vstate *v)
{
	for (unsigned i = 0; i < RING; i++) {
		v->f->free(v->ring[i]);
		v->ring[i] = NULL;
	}
}

static bool selected(const char *only, const char *name)
{
	if (!only)
		return true;
	size_t n = strlen(name);
	for (const char *s = only; *s;) {
		const char *e = strchr(s, ',');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		if (len == n && !strncmp(s, name, n))
			return true;
		if (!e)
			break;
		s = e + 1;
	}
	return false;
}

static void usage(void)
{
	fprintf(stderr, "usage: micro [--only OP[,OP...]] [--iters N] [--scale F] [--warm W] [--no-direct]\nops:");
	for (size_t i = 0; i < NOPS; i++)
		fprintf(stderr, " %s", ops[i].name);
	fputc('\n', stderr);
	exit(2);
}

/* Run n timed calls of each variant in alternating blocks (ABBA order, so
 * a steady drift charges both alike). Per variant: the total ns, and the
 * fastest block's ns per call, which on a busy machine is the best
 * estimate of the undisturbed cost (interference only ever adds time). */
struct timing {
	double total;
	double best;
};

static void measure(const struct op *o, long n, bool with_direct, struct timing *ti, struct timing *td)
{
	ti->total = td->total = 0;
	ti->best = td->best = 1e300;
	long done = 0;
	for (long b = 0; done < n; b++) {
		long k = n - done < BLOCK ? n - done : BLOCK;
		for (int half = 0; half < 2; half++) {
			bool dir = (half == 0) == (b & 1);
			if (dir && !with_direct)
				continue;
			struct vstate *v = dir ? &v_dir : o->v;
			struct timing *t = dir ? td : ti;
			double t0 = now_ns();
			o->run(v, k);
			double t1 = now_ns();
			t->total += t1 - t0;
			/* A short last block says little; use it only if it is all. */
			if ((k == BLOCK || k == n) && (t1 - t0) / (double)k < t->best)
				t->best = (t1 - t0) / (double)k;
		}
		done += k;
	}
}

int main(int argc, char **argv)
{
	const char *only = NULL;
	long iters = 0;
	double scale = 1.0;
	long warm_opt = -1;
	bool no_direct = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = argv[++i];
		else if (!strcmp(argv[i], "--iters") && i + 1 < argc)
			iters = atol(argv[++i]);
		else if (!strcmp(argv[i], "--scale") && i + 1 < argc)
			scale = atof(argv[++i]);
		else if (!strcmp(argv[i], "--warm") && i + 1 < argc)
			warm_opt = atol(argv[++i]);
		else if (!strcmp(argv[i], "--no-direct"))
			no_direct = true;
		else
			usage();
	}
	if (iters < 0 || scale <= 0)
		usage();
	bool any = false;
	for (size_t i = 0; i < NOPS; i++)
		any |= selected(only, ops[i].name);
	if (!any)
		usage();

	setup();
	for (size_t i = 0; i < NOPS; i++) {
		const struct op *o = &ops[i];
		if (!selected(only, o->name))
			continue;
		long n = iters ? iters : (long)((double)o->default_iters * scale);
		if (n < 1)
			n = 1;
		bool with_direct = o->has_direct && !no_direct;
		long warm = warm_opt >= 0 ? warm_opt : n / 10 < 20000 ? n / 10 : 20000;
		o->run(o->v, warm);
		if (with_direct)
			o->run(&v_dir, warm);
		struct timing ti, td;
		measure(o, n, with_direct, &ti, &td);
		if (o->run == bench_malloc_loop) {
			ring_clear(&v_int);
			ring_clear(&v_dir);
		}
		printf("{\"op\": \"%s\", \"ns_per_op\": %.2f, \"iters\": %ld, \"wall_ms\": %.3f, "
		       "\"min_block_ns_per_op\": %.2f",
		       o->name, ti.total / (double)n, n, ti.total / 1e6, ti.best);
		if (with_direct)
			printf(", \"direct_ns_per_op\": %.2f, \"direct_min_block_ns_per_op\": %.2f", td.total / (double)n,
			       td.best);
		printf("}\n");
		fflush(stdout);
	}
	close(zero_fd);
	close(pipe_rd);
	close(pipe_wr);
	dlclose(libm);
	return 0;
}
