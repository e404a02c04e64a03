/* ring_bench.c - what the flight recorder costs (issue #5).
 *
 * Two parts.
 *
 * In-process: this binary links the shim's internal library and makes a
 * region and rings by hand, as the unit tests do. The machine is shared, so
 * each figure is the fastest of many batches (ns per iteration): what the
 * code costs when nothing else gets in its way.
 *   commit_l1      cgs_event_commit into a 64-record ring (8 KiB, stays in
 *                  L1), tight loop: the instructions of writing one record
 *                  (CPU from rseq, ring choice, one atomic add, checksum,
 *                  128-byte copy, publish, the thread's node). The +15 ns
 *                  target is about this figure.
 *   commit_2thr    commit_l1 from 2 threads on one ring at once; each
 *                  thread's fastest batch (on a loaded machine the two may
 *                  not overlap in it, so contention shows only partly)
 *   commit_default the same into a ring of the default size (1024 records,
 *                  128 KiB)
 *   commit_spaced  the default ring, one record per ~1 us of arithmetic:
 *                  (work + record) - work. Out-of-order execution overlaps
 *                  most of the record with such work; real code overlaps
 *                  less. A lower bound, not a promise.
 *   event_stack    cgs_event_fd, the whole cold path of a slow read: the
 *                  record plus a stack capture (libunwind, warm cache, ~6
 *                  frames), per ~1 us of work as above
 *   dl_caller      cgs_event_dl as a fast dlsym takes it: the record plus a
 *                  one-frame stack (the caller's address, cached per thread)
 *
 * Under the preload (needs build/bench/micro; the "norings" row needs the
 * library built without the threshold check, which is not built by
 * default: ninja -C build bench/libcgoshim_norings.so):
 *   read(/dev/zero, 1) per call, by bench/micro --only read, with
 *     norings  libcgoshim_norings.so (-DCGS_NO_RINGS: no check at all)
 *     check    libcgoshim.so, CGOSHIM_SLOW_NS=1h: every call pays the
 *              check and none qualifies
 *     record   libcgoshim.so, CGOSHIM_SLOW_NS=0: every call qualifies and
 *              is recorded with its stack
 *   Each variant runs ROUNDS times, interleaved; each figure is the fastest
 *   block of 10,000 calls over all runs (micro's min_block_ns_per_op), and
 *   check - norings (what a call that does not qualify pays) and
 *   record - check (what one that does pays, stack included). The check
 *   is a few instructions: its figure is within the noise; callgrind counts
 *   it exactly (RESULTS.md, "Rings").
 *
 * Output: one line per figure, "name ns note", or JSON lines with --json.
 *
 * Usage: ring_bench [--iters N] [--rounds R] [--micro PATH] [--lib PATH]
 *                   [--norings PATH] [--no-preload] [--json]
 * Run it as it is: it runs itself again with CGOSHIM_DISABLE=1. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "files.h"
#include "leaks.h"
#include "ring.h"
#include "shim.h"
#include "tstate.h"

#define NOINLINE __attribute__((noinline))

static long iters = 2000000;
static int rounds = 7;
static bool json;

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void report(const char *name, double ns, const char *note)
{
	if (json)
		printf("{\"bench\": \"%s\", \"ns\": %.2f}\n", name, ns);
	else
		printf("%-14s %8.2f ns  %s\n", name, ns, note);
	fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double best_of(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[0];
}

/* ---- in-process ---------------------------------------------------------- */

static struct cgs_region *make_region(uint32_t ring_events)
{
	struct cgs_options o;
	cgs_options_parse(&o, NULL, true);
	o.memory = 1ULL << 30;
	o.ring_events = ring_events;
	snprintf(o.numa_topology, sizeof(o.numa_topology), "0-4095:0");
	struct cgs_region *r = cgs_region_create(&o);
	if (!r || cgs_files_init(r) || cgs_leaks_init(r) || cgs_stacks_init(r) || cgs_rings_init(r)) {
		fprintf(stderr, "ring_bench: cannot make a region\n");
		exit(1);
	}
	r->start_tsc = cgs_rdtsc();
	cgs_R = r;
	return r;
}

static void drop_region(struct cgs_region *r)
{
	cgs_R = NULL;
	munmap(r, r->size);
}

static struct cgs_event sample_event(void)
{
	struct cgs_event e;
	memset(&e, 0, sizeof(e));
	e.fn = CGS_FN_read;
	e.tid = 4242;
	e.fd = 3;
	e.file = 1;
	e.result = 1;
	return e;
}

NOINLINE static void commit_loop(struct cgs_rings *rs, long n)
{
	struct cgs_event e = sample_event();
	for (long i = 0; i < n; i++) {
		e.t0 = (uint64_t)i;
		e.dur = (uint64_t)i * 3;
		cgs_event_commit(rs, &e);
	}
}

/* ~1 us of work the compiler cannot drop. */
static volatile uint64_t sink;
NOINLINE static void work(void)
{
	uint64_t x = sink;
	for (int k = 0; k < 400; k++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	sink = x;
}

enum what { W_NONE, W_COMMIT, W_STACK, W_DL };

static struct cgs_tstate *self_block; /* as a thread's first call makes it */

NOINLINE static void spaced_loop(struct cgs_region *r, long n, enum what w)
{
	struct cgs_event e = sample_event();
	for (long i = 0; i < n; i++) {
		work();
		switch (w) {
		case W_COMMIT:
			e.t0 = (uint64_t)i;
			cgs_event_commit(r->rings, &e);
			break;
		case W_STACK:
			cgs_event_fd(self_block, CGS_FN_read, (uint64_t)i, 5, 3, 0, 0, 1);
			break;
		case W_DL:
			cgs_event_dl(self_block, CGS_FN_dlsym, (uint64_t)i, 5, "cos", NULL, NULL, 1, false,
				     (uint64_t)(uintptr_t)__builtin_return_address(0));
			break;
		default:
			break;
		}
	}
}

/* The machine is shared: each figure is the fastest of many short batches
 * (ns per iteration), which is what the code costs when nothing else gets
 * in its way. */
#define BATCHES 200

static double best_commit(struct cgs_rings *rs, long per_batch)
{
	double best = 1e18;
	for (int k = 0; k < BATCHES * rounds / 7; k++) {
		double t0 = now_ns();
		commit_loop(rs, per_batch);
		double v = (now_ns() - t0) / per_batch;
		best = v < best ? v : best;
	}
	return best;
}

/* (work + what) - work, per iteration, each the best of interleaved batches. */
static double spaced(struct cgs_region *r, enum what w, long per_batch)
{
	double with = 1e18, without = 1e18;
	spaced_loop(r, per_batch, w); /* warm: unwind info, ring pages */
	for (int k = 0; k < BATCHES * rounds / 7; k++) {
		double t0 = now_ns();
		spaced_loop(r, per_batch, W_NONE);
		double t1 = now_ns();
		spaced_loop(r, per_batch, w);
		double t2 = now_ns();
		without = (t1 - t0) / per_batch < without ? (t1 - t0) / per_batch : without;
		with = (t2 - t1) / per_batch < with ? (t2 - t1) / per_batch : with;
	}
	return with - without;
}

struct thr {
	struct cgs_rings *rs;
	long n;
	double ns;
	volatile int *go;
};

static void *thr_main(void *p)
{
	struct thr *a = p;
	cgs_t_guard = 1;
	while (!__atomic_load_n(a->go, __ATOMIC_ACQUIRE))
		;
	a->ns = best_commit(a->rs, a->n);
	return NULL;
}

static void in_process(void)
{
	long batch = iters / 200 > 100 ? iters / 200 : 100;
	struct cgs_region *r = make_region(64);
	if (r->rings->ring[0]->bound_node != 0)
		fprintf(stderr, "ring_bench: note: ring not bound to node 0\n");
	commit_loop(r->rings, batch);
	report("commit_l1", best_commit(r->rings, batch), "write one record, ring in L1, tight loop");

	volatile int go = 0;
	pthread_t th[2];
	struct thr a[2];
	for (int k = 0; k < 2; k++) {
		a[k] = (struct thr){ r->rings, batch, 0, &go };
		pthread_create(&th[k], NULL, thr_main, &a[k]);
	}
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	for (int k = 0; k < 2; k++)
		pthread_join(th[k], NULL);
	report("commit_2thr", (a[0].ns + a[1].ns) / 2, "per record, 2 threads on one ring at once");
	drop_region(r);

	r = make_region(CGS_RING_EVENTS_DEFAULT);
	self_block = cgs_ralloc(r, sizeof(*self_block));
	self_block->tid = (int32_t)getpid();
	commit_loop(r->rings, 2 * CGS_RING_EVENTS_DEFAULT); /* fault the pages in */
	report("commit_default", best_commit(r->rings, batch), "default ring (128 KiB), tight loop");
	report("commit_spaced", spaced(r, W_COMMIT, batch / 20), "default ring, one record per ~1 us of work");
	report("event_stack", spaced(r, W_STACK, batch / 50), "a slow read's whole record path, stack included");
	report("dl_caller", spaced(r, W_DL, batch / 20), "a fast dlsym's record: one-frame stack");
	drop_region(r);
}

/* ---- under the preload --------------------------------------------------- */

static char outdir[] = "/tmp/ring_bench.XXXXXX";

/* ns per read(/dev/zero) of one run of micro under lib with slow_ns. */
static double micro_read(const char *micro, const char *lib, const char *slow_ns, long n)
{
	int p[2];
	if (pipe(p))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		char iters_s[32], pre[1200], slow[64], out[128];
		snprintf(iters_s, sizeof(iters_s), "%ld", n);
		snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", lib);
		snprintf(slow, sizeof(slow), "CGOSHIM_SLOW_NS=%s", slow_ns);
		snprintf(out, sizeof(out), "CGOSHIM_OUTPUT=%s/r.%%p.%%n", outdir);
		char *env[] = { pre, slow, out, "CGOSHIM_LEAKS=0", "CGOSHIM_FORMAT=json", NULL };
		dup2(p[1], 1);
		close(p[0]);
		execle(micro, micro, "--only", "read", "--iters", iters_s, "--no-direct", (char *)NULL, env);
		_exit(127);
	}
	close(p[1]);
	char buf[4096];
	size_t len = 0;
	ssize_t k;
	while ((k = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)k;
	buf[len] = 0;
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	/* micro's fastest block of 10,000 calls: the undisturbed cost. */
	const char *f = strstr(buf, "\"min_block_ns_per_op\":");
	return f && WIFEXITED(st) && !WEXITSTATUS(st) ? strtod(f + 22, NULL) : -1;
}

static void under_preload(const char *micro, const char *lib, const char *norings)
{
	double a[32], b[32], c[32];
	bool have_norings = norings && !access(norings, R_OK);
	if (access(micro, X_OK) || access(lib, R_OK)) {
		fprintf(stderr, "ring_bench: %s or %s missing: preload figures skipped\n", micro, lib);
		return;
	}
	if (!have_norings)
		fprintf(stderr, "ring_bench: %s missing (ninja -C build bench/libcgoshim_norings.so): "
				"no check-cost row\n",
			norings ? norings : "libcgoshim_norings.so");
	if (!mkdtemp(outdir)) {
		perror("ring_bench: mkdtemp");
		return;
	}
	for (int k = 0; k < rounds; k++) {
		a[k] = have_norings ? micro_read(micro, norings, "1h", iters) : 0;
		b[k] = micro_read(micro, lib, "1h", iters);
		c[k] = micro_read(micro, lib, "0", iters / 10); /* each call takes a stack: slower */
		if (b[k] < 0 || c[k] < 0 || a[k] < 0) {
			fprintf(stderr, "ring_bench: a micro run failed\n");
			return;
		}
	}
	/* The reports the watchers wrote (a moment after each run). */
	usleep(500000);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", outdir);
	if (system(cmd))
		fprintf(stderr, "ring_bench: could not remove %s\n", outdir);
	double ma = best_of(a, rounds), mb = best_of(b, rounds), mc = best_of(c, rounds);
	if (have_norings)
		report("read_norings", ma, "read(/dev/zero) under the shim built without the check");
	report("read_check", mb, "read under the shim, CGOSHIM_SLOW_NS=1h: none qualifies");
	report("read_record", mc, "read under the shim, CGOSHIM_SLOW_NS=0: each is recorded, with its stack");
	if (have_norings)
		report("check_cost", mb - ma, "read_check - read_norings: what a call that does not qualify pays");
	report("record_cost", mc - mb, "read_record - read_check: what a qualifying call pays, stack included");
}

int main(int argc, char **argv)
{
	const char *micro = NULL, *lib = NULL, *norings = NULL;
	bool preload = true;
	/* The internal library's constructor must stay off in this process:
	 * run again with CGOSHIM_DISABLE=1. The shim it already started in
	 * this image will write a final report at the exec: make it empty
	 * (folded leak stacks, leak tracking off). */
	if (!getenv("CGOSHIM_DISABLE")) {
		if (cgs_R) {
			cgs_R->opts.leaks = false;
			cgs_R->opts.format = CGS_FMT_FOLDED;
		}
		setenv("CGOSHIM_DISABLE", "1", 1);
		execv("/proc/self/exe", argv);
		perror("ring_bench: re-exec");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--iters") && i + 1 < argc)
			iters = atol(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--micro") && i + 1 < argc)
			micro = argv[++i];
		else if (!strcmp(argv[i], "--lib") && i + 1 < argc)
			lib = argv[++i];
		else if (!strcmp(argv[i], "--norings") && i + 1 < argc)
			norings = argv[++i];
		else if (!strcmp(argv[i], "--no-preload"))
			preload = false;
		else if (!strcmp(argv[i], "--json"))
			json = true;
		else {
			fprintf(stderr, "usage: ring_bench [--iters N] [--rounds R] [--micro PATH] [--lib PATH] "
					"[--norings PATH] [--no-preload] [--json]\n");
			return 2;
		}
	}
	if (rounds < 1 || rounds > 32 || iters < 1000) {
		fprintf(stderr, "ring_bench: --rounds 1..32, --iters >= 1000\n");
		return 2;
	}
	cgs_t_guard = 1; /* our own calls pass through the linked interposers */
	in_process();
	if (preload) {
		/* Defaults: beside this binary in the build tree. */
		static char m[1024], l[1024], n[1024];
		char self[900];
		ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
		self[k > 0 ? k : 0] = 0;
		char *slash = strrchr(self, '/');
		if (slash)
			*slash = 0;
		snprintf(m, sizeof(m), "%s/micro", self);
		snprintf(l, sizeof(l), "%s/../shim/libcgoshim.so", self);
		snprintf(n, sizeof(n), "%s/libcgoshim_norings.so", self);
		under_preload(micro ? micro : m, lib ? lib : l, norings ? norings : n);
	}
	return 0;
}
