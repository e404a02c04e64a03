/*
 * cwork.c - C workloads for bench/run, the comparison of cgoshim with strace,
 * ltrace, heaptrack and valgrind (issue #6).
 *
 * Usage: cwork OP N THREADS OUTFILE [WARMUP_OPS]
 *
 *   read    read(2) of 1 byte from /dev/zero                  op = one read
 *   ioctl   ioctl(FIONREAD) on an empty pipe                  op = one ioctl
 *   malloc  a malloc-bound loop: each thread keeps a ring of
 *           RING live blocks and replaces one per op (free
 *           the old block, malloc one of 16 B to 4 KiB)       op = one pair
 *   dlsym   dlsym(libc handle, name), 8 names in turn         op = one lookup
 *   mixed   the malloc op, plus a read and an ioctl every
 *           eighth pass                                       op = one pass
 *   live    N mallocs of 16 to 64 bytes, all kept live to
 *           the end (for memory per tracked allocation)       op = one malloc
 *
 * The blocks of the malloc op live for RING ops, not zero: a malloc freed at
 * once is glibc's best case (the same tcache slot every time) and no
 * program's pattern.
 *
 * N ops in all, split across THREADS threads (each does N / THREADS; live
 * takes one thread only). The program times itself with clock_gettime
 * (vDSO: no interposed call) from after a warm-up (see main) to the end of
 * the last thread, so tool start-up and exit are not counted and every
 * figure is per op whatever N a tool runs with: the steady-state cost.
 * WARMUP_OPS makes the warm-up a fixed number of ops instead (for callgrind,
 * where the instructions of N and 2N ops are subtracted). It writes one JSON
 * line to OUTFILE, not to stdout, which tools (heaptrack) write on too:
 *
 *   {"op", "n", "threads", "ns", "ns_per_op", "best_block_ns_per_op",
 *    "cpu_ns_per_op", "hwm_kb", "live", "vcsw", "ivcsw"}
 *
 * best_block_ns_per_op: with one thread the timed loop runs in 20 blocks;
 * this is the fastest block. Interference from other processes only ever
 * adds time, so on a busy machine it is the steadier estimate of the
 * undisturbed cost. cpu_ns_per_op is the CPU time of this process (all
 * threads, user and system) over the timed part, per op: what the program
 * itself spent, whatever else ran; it leaves out the work of a tracer in
 * another process (strace, ltrace, heaptrack_interpret). hwm_kb is the peak
 * RSS of this process (VmHWM), which includes the shim's shared region and,
 * under valgrind, valgrind itself. vcsw and ivcsw count the voluntary
 * (the process slept) and involuntary (it was preempted) context switches
 * of the timed part: they tell why wall time exceeds CPU time.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define BLOCKS 20
#define WARMUP_NS 200000000u
#define NSIZES 256
#define RING 256

enum op { OP_READ, OP_IOCTL, OP_MALLOC, OP_DLSYM, OP_MIXED, OP_LIVE };

static const char *const op_names[] = { "read", "ioctl", "malloc", "dlsym", "mixed", "live" };
static const char *const sym_names[8] = { "malloc", "free", "read", "ioctl",
					  "strlen", "memcpy", "printf", "qsort" };

static enum op op;
static int zero_fd, pipe_rd;
static void *libc_handle;
static size_t sizes[NSIZES];
static void **live_ptrs;	/* the live workload's blocks, reachable to the end */
static pthread_barrier_t start_barrier;

struct worker {
	pthread_t tid;
	uint64_t n;		/* ops this thread runs in the timed part */
	uint64_t seed;
	uint64_t start, end;	/* CLOCK_MONOTONIC ns of the timed part */
	double best_block_ns;	/* per op; single-thread runs only */
	int blocks;
	void *ring[RING];	/* the malloc op's live blocks */
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static void die(const char *what)
{
	fprintf(stderr, "cwork: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* Keep the compiler from pairing up and removing malloc/free. */
static inline void use(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

/* One malloc/free pair: replace the ring slot's block. */
static void pair(struct worker *w, uint64_t i)
{
	void **slot = &w->ring[i % RING];
	free(*slot);
	char *p = malloc(sizes[(i * 7) % NSIZES]);
	if (!p)
		die("malloc");
	p[0] = (char)i;
	use(p);
	*slot = p;
}

static void one_read(void)
{
	char c;
	if (read(zero_fd, &c, 1) != 1)
		die("read /dev/zero");
}

static void one_ioctl(void)
{
	int avail;
	if (ioctl(pipe_rd, FIONREAD, &avail) != 0)
		die("ioctl FIONREAD");
}

/* Ops [from, from + n) of this thread's sequence. */
static void run_ops(struct worker *w, uint64_t from, uint64_t n)
{
	uint64_t end = from + n;
	switch (op) {
	case OP_READ:
		for (uint64_t i = from; i < end; i++)
			one_read();
		break;
	case OP_IOCTL:
		for (uint64_t i = from; i < end; i++)
			one_ioctl();
		break;
	case OP_MALLOC:
		for (uint64_t i = from; i < end; i++)
			pair(w, i);
		break;
	case OP_DLSYM:
		for (uint64_t i = from; i < end; i++) {
			void *s = dlsym(libc_handle, sym_names[i % 8]);
			if (!s)
				die("dlsym");
			use(s);
		}
		break;
	case OP_MIXED:
		for (uint64_t i = from; i < end; i++) {
			pair(w, i);
			if (i % 8 == 0) {
				one_read();
				one_ioctl();
			}
		}
		break;
	case OP_LIVE:
		for (uint64_t i = from; i < end; i++) {
			live_ptrs[i] = malloc(16 + (i % 4) * 16);
			if (!live_ptrs[i])
				die("malloc");
			use(live_ptrs[i]);
		}
		break;
	}
}

static void free_ring(struct worker *w)
{
	for (int i = 0; i < RING; i++) {
		free(w->ring[i]);
		w->ring[i] = NULL;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	pthread_barrier_wait(&start_barrier);
	w->start = now_ns();
	if (w->blocks <= 1) {
		run_ops(w, w->seed, w->n);
		w->end = now_ns();
		free_ring(w);
		return NULL;
	}
	uint64_t done = 0;
	w->best_block_ns = 1e300;
	for (int b = 0; b < w->blocks; b++) {
		uint64_t k = w->n / w->blocks + ((uint64_t)b < w->n % w->blocks ? 1 : 0);
		uint64_t t0 = now_ns();
		run_ops(w, w->seed + done, k);
		uint64_t t1 = now_ns();
		done += k;
		if (k > 0 && (double)(t1 - t0) / (double)k < w->best_block_ns)
			w->best_block_ns = (double)(t1 - t0) / (double)k;
	}
	w->end = now_ns();
	free_ring(w);
	return NULL;
}

static long vm_hwm_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: cwork read|ioctl|malloc|dlsym|mixed|live N THREADS OUTFILE [WARMUP_OPS]\n");
		return 2;
	}
	int found = 0;
	for (size_t i = 0; i < sizeof op_names / sizeof op_names[0]; i++)
		if (strcmp(argv[1], op_names[i]) == 0) {
			op = (enum op)i;
			found = 1;
		}
	uint64_t n = strtoull(argv[2], NULL, 10);
	int threads = atoi(argv[3]);
	long long warmup_ops = argc == 6 ? atoll(argv[5]) : -1;
	if (!found || n == 0 || threads < 1 || threads > 64 || (op == OP_LIVE && threads != 1)) {
		fprintf(stderr, "cwork: bad arguments\n");
		return 2;
	}

	/* Sizes from 16 bytes to 4 KiB, spread over powers of two and within
	 * them, so that tcache, fast and small bins all see traffic. */
	uint64_t x = 0x9e3779b97f4a7c15u;
	for (int i = 0; i < NSIZES; i++) {
		x = x * 6364136223846793005u + 1442695040888963407u;
		unsigned shift = 4 + (unsigned)(x >> 59) % 8;	/* 2^4 .. 2^11 */
		sizes[i] = ((size_t)1 << shift) + (size_t)((x >> 20) % ((size_t)1 << shift));
	}
	zero_fd = open("/dev/zero", O_RDONLY);
	if (zero_fd < 0)
		die("open /dev/zero");
	int p[2];
	if (pipe(p) != 0)
		die("pipe");
	pipe_rd = p[0];
	libc_handle = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	if (!libc_handle) {
		fprintf(stderr, "cwork: dlopen libc.so.6: %s\n", dlerror());
		return 2;
	}

	/*
	 * Warm-up: fault in the code, the heap and the tools' tables, and get
	 * past the tools' start-up: at least min(N / 10, 1000) ops and 200 ms.
	 * heaptrack's preload, for one, stalls for a second or more once its
	 * pipe is full, until heaptrack_interpret starts reading it.
	 */
	struct worker *warm = calloc(1, sizeof *warm);
	if (!warm)
		die("calloc");
	if (op == OP_LIVE) {
		live_ptrs = calloc(n, sizeof *live_ptrs);
		if (!live_ptrs)
			die("calloc");
	} else if (warmup_ops >= 0) {
		run_ops(warm, 0, (uint64_t)warmup_ops);
	} else {
		uint64_t min_ops = n / 10 < 1000 ? n / 10 : 1000, done = 0;
		uint64_t w0 = now_ns();
		while (done < min_ops || now_ns() - w0 < WARMUP_NS) {
			run_ops(warm, done, 50);
			done += 50;
		}
	}
	free_ring(warm);
	free(warm);

	struct worker *w = calloc((size_t)threads, sizeof *w);
	if (!w)
		die("calloc");
	pthread_barrier_init(&start_barrier, NULL, (unsigned)threads + 1);
	for (int t = 0; t < threads; t++) {
		w[t].n = n / (uint64_t)threads + ((uint64_t)t < n % (uint64_t)threads ? 1 : 0);
		/* Each thread its own stretch of the size sequence. */
		w[t].seed = (uint64_t)t * 7919;
		w[t].blocks = threads == 1 && n >= BLOCKS ? BLOCKS : 1;
		if (pthread_create(&w[t].tid, NULL, worker_main, &w[t]) != 0)
			die("pthread_create");
	}
	struct rusage ru0, ru1;
	getrusage(RUSAGE_SELF, &ru0);
	uint64_t cpu0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	pthread_barrier_wait(&start_barrier);
	/* From the first thread's start to the last thread's end. */
	uint64_t t0 = UINT64_MAX, t1 = 0;
	for (int t = 0; t < threads; t++) {
		pthread_join(w[t].tid, NULL);
		if (w[t].start < t0)
			t0 = w[t].start;
		if (w[t].end > t1)
			t1 = w[t].end;
	}
	uint64_t cpu1 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	getrusage(RUSAGE_SELF, &ru1);

	double best = threads == 1 && w[0].blocks > 1 ? w[0].best_block_ns : -1;
	FILE *out = fopen(argv[4], "w");
	if (!out)
		die(argv[4]);
	fprintf(out, "{\"op\": \"%s\", \"n\": %llu, \"threads\": %d, \"ns\": %llu, "
		     "\"ns_per_op\": %.3f, \"best_block_ns_per_op\": %.3f, \"cpu_ns_per_op\": %.3f, "
		     "\"hwm_kb\": %ld, \"live\": %llu, \"vcsw\": %ld, \"ivcsw\": %ld}\n",
		op_names[op], (unsigned long long)n, threads, (unsigned long long)(t1 - t0),
		(double)(t1 - t0) / (double)n, best, (double)(cpu1 - cpu0) / (double)n, vm_hwm_kb(),
		(unsigned long long)(op == OP_LIVE ? n : 0), ru1.ru_nvcsw - ru0.ru_nvcsw,
		ru1.ru_nivcsw - ru0.ru_nivcsw);
	if (fclose(out) != 0)
		die(argv[4]);
	return 0;
}
