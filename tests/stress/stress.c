/* stress.c - eight threads doing everything the shim interposes, at once.
 *
 * Usage: stress SECONDS [READY_FILE]
 *
 * Each worker thread picks operations at random until SECONDS have passed:
 * every malloc-family entry point (success and failure paths, contents
 * checked), open/openat/read/pread/readv/ioctl/dup/close on /dev/zero, a
 * pipe and a missing file, dlopen/dlsym/dlclose of libstressdl.so (found
 * next to this program), fork (the child allocates, reads and _exits),
 * fork+exec of /bin/true, and short-lived detached threads that allocate
 * and exit (STRESS_PROC_EVERY_MS sets how often each worker forks or
 * forks and execs; default 1000, 0 for never). Every so often a worker leaks one block of SENTINEL (31337)
 * bytes through one of the allocation entry points; the program counts
 * those leaks itself, so a test can compare them with the shim's final
 * report. It also counts its own calls of the entry points that libc never
 * calls internally, for the same comparison.
 *
 * The test sends the dump signal every few milliseconds while this runs
 * (READY_FILE is created once the workers have started). The program knows
 * nothing of the shim: it only checks that every call behaved as libc
 * says, and prints one line of totals. Exit status 0 when nothing went
 * wrong, 1 with a line on stderr for each kind of failure. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define NTHREADS 8
#define SENTINEL 31337
#define MAX_LEAKS (1 << 20)
#define LEAK_EVERY 2000       /* operations between two deliberate leaks */
#define PROC_EVERY_MS 1000    /* per worker: a fork or a fork+exec */
/* STRESS_PROC_EVERY_MS in the environment overrides it; 0 turns fork and
 * exec off (to measure the rest when fork children hang). */
static double proc_every_s = PROC_EVERY_MS / 1000.0;
#define MAX_DETACHED 16       /* detached threads alive at once */

/* Entry points counted for the comparison with the report. */
enum {
	C_OPEN, C_OPENAT, C_PREAD, C_READV, C_IOCTL, C_DLOPEN, C_DLCLOSE,
	C_VALLOC, C_PVALLOC, C_REALLOCARRAY, C_NCOUNTED
};
static const char *const counted_names[C_NCOUNTED] = {
	"open", "openat", "pread", "readv", "ioctl", "dlopen", "dlclose",
	"valloc", "pvalloc", "reallocarray",
};

/* Operation kinds, for the summary line. */
enum { K_HEAP, K_IO, K_DL, K_FORK, K_EXEC, K_THREAD, K_LEAK, K_COUNT };

static atomic_llong counted[C_NCOUNTED];
static atomic_llong kinds[K_COUNT];
static atomic_int errors;
static atomic_int detached_alive;
static atomic_int nleaks;
static void *leaks[MAX_LEAKS];
static char dl_path[4096];
static double deadline;
static _Thread_local int worker_id; /* 0..NTHREADS-1; a private high fd for dup2 */
/* Sizes no allocator can give, hidden from the compiler's checks. */
static volatile size_t huge = SIZE_MAX - 4096, half = SIZE_MAX / 2;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(const char *what)
{
	/* One line per failure kind is enough; later ones only count. */
	if (atomic_fetch_add(&errors, 1) < 20)
		fprintf(stderr, "stress: %s (errno %d)\n", what, errno);
}

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void count(int c)
{
	atomic_fetch_add_explicit(&counted[c], 1, memory_order_relaxed);
}

/* ---- heap ---- */

static void fill(unsigned char *p, size_t n, unsigned char v)
{
	memset(p, v, n);
}

static bool filled(const unsigned char *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

static size_t some_size(uint64_t *rng)
{
	uint64_t r = next(rng);
	if (r % 64 == 0)
		return 128 * 1024 + r % (512 * 1024); /* mmap'd by glibc */
	return 1 + (r >> 8) % 2048;
}

static void heap_op(uint64_t *rng)
{
	size_t n = some_size(rng), m;
	unsigned char *p = NULL, *q;
	void *v = NULL;
	switch (next(rng) % 12) {
	case 0:
		p = malloc(n);
		if (!p)
			return fail("malloc");
		fill(p, n, 0x5a);
		if (malloc_usable_size(p) < n || !filled(p, n, 0x5a))
			fail("malloc contents");
		free(p);
		break;
	case 1:
		m = 1 + next(rng) % 16;
		p = calloc(m, n / m + 1);
		if (!p || !filled(p, m * (n / m + 1), 0))
			fail("calloc");
		free(p);
		break;
	case 2:
		p = realloc(NULL, n);
		if (!p)
			return fail("realloc(NULL)");
		fill(p, n, 1);
		q = realloc(p, 2 * n + 100);
		if (!q || !filled(q, n, 1))
			return fail("realloc grow");
		p = realloc(q, n / 2 + 1);
		if (!p || !filled(p, n / 2 + 1, 1))
			return fail("realloc shrink");
		free(p);
		break;
	case 3:
		p = malloc(n);
		if (!p)
			return fail("malloc");
		errno = 0;
		count(C_REALLOCARRAY);
		q = reallocarray(p, half, 3); /* overflows: fails, p lives */
		if (q || errno != ENOMEM)
			fail("reallocarray overflow");
		count(C_REALLOCARRAY);
		q = reallocarray(q ? q : p, 3, n);
		if (!q)
			return fail("reallocarray");
		free(q);
		break;
	case 4:
		if (posix_memalign(&v, 256, n) || ((uintptr_t)v & 255))
			return fail("posix_memalign");
		free(v);
		if (posix_memalign(&v, 3, n) != EINVAL) /* not a power of two */
			fail("posix_memalign(3)");
		break;
	case 5:
		v = aligned_alloc(64, (n + 63) & ~(size_t)63);
		if (!v || ((uintptr_t)v & 63))
			return fail("aligned_alloc");
		free(v);
		break;
	case 6:
		v = memalign(128, n);
		if (!v || ((uintptr_t)v & 127))
			return fail("memalign");
		free(v);
		break;
	case 7:
		count(C_VALLOC);
		v = valloc(n);
		if (!v || ((uintptr_t)v & 4095))
			return fail("valloc");
		free(v);
		break;
	case 8:
		count(C_PVALLOC);
		v = pvalloc(n);
		if (!v || ((uintptr_t)v & 4095) || malloc_usable_size(v) < 4096)
			return fail("pvalloc");
		free(v);
		break;
	case 9:
		errno = 0;
		v = malloc(huge); /* cannot be had */
		if (v || errno != ENOMEM)
			fail("malloc(huge)");
		free(NULL);
		break;
	case 10: {
		/* Many small blocks freed in another order. */
		void *b[32];
		for (int i = 0; i < 32; i++)
			if (!(b[i] = malloc(16 + i * 8)))
				return fail("malloc small");
		for (int i = 0; i < 32; i += 2)
			free(b[i]);
		for (int i = 1; i < 32; i += 2)
			free(b[i]);
		break;
	}
	default:
		p = realloc(malloc(n), 0); /* glibc: frees, returns NULL */
		free(p);
		break;
	}
	atomic_fetch_add_explicit(&kinds[K_HEAP], 1, memory_order_relaxed);
}

/* One deliberate leak of SENTINEL bytes, through entry point k. */
static void leak_one(unsigned k)
{
	void *p = NULL;
	int slot = atomic_load(&nleaks);
	if (slot >= MAX_LEAKS)
		return;
	switch (k % 6) {
	case 0: p = malloc(SENTINEL); break;
	case 1: p = calloc(1, SENTINEL); break;
	case 2: p = realloc(NULL, SENTINEL); break;
	case 3: if (posix_memalign(&p, 64, SENTINEL)) p = NULL; break;
	case 4: p = memalign(32, SENTINEL); break;
	default: count(C_REALLOCARRAY); p = reallocarray(NULL, 1, SENTINEL); break;
	}
	if (!p)
		return fail("sentinel allocation");
	memset(p, 0x31, SENTINEL);
	slot = atomic_fetch_add(&nleaks, 1);
	if (slot < MAX_LEAKS)
		leaks[slot] = p;
	atomic_fetch_add(&kinds[K_LEAK], 1);
}

/* ---- I/O ---- */

static void io_op(uint64_t *rng)
{
	char buf[512], b2[64];
	int fd, fd2, pfd[2];
	switch (next(rng) % 5) {
	case 0:
		count(C_OPEN);
		fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return fail("open /dev/zero");
		memset(buf, 1, sizeof(buf));
		if (read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) || !filled((void *)buf, sizeof(buf), 0))
			fail("read /dev/zero");
		count(C_PREAD);
		if (pread(fd, buf, 100, 4096) != 100)
			fail("pread");
		close(fd);
		break;
	case 1:
		count(C_OPENAT);
		fd = openat(AT_FDCWD, "/proc/self/stat", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return fail("openat /proc/self/stat");
		if (read(fd, buf, sizeof(buf)) <= 0)
			fail("read /proc/self/stat");
		fd2 = dup(fd);
		if (fd2 < 0)
			fail("dup");
		else
			close(fd2);
		close(fd);
		break;
	case 2:
		count(C_OPEN);
		errno = 0;
		fd = open("/nonexistent/cgoshim-stress", O_RDONLY);
		if (fd != -1 || errno != ENOENT)
			fail("open of a missing file");
		errno = 0;
		if (read(-1, buf, 1) != -1 || errno != EBADF)
			fail("read(-1)");
		break;
	case 3: {
		if (pipe2(pfd, O_CLOEXEC))
			return fail("pipe");
		int avail = -1;
		if (write(pfd[1], "stress!", 7) != 7)
			fail("write pipe");
		count(C_IOCTL);
		if (ioctl(pfd[0], FIONREAD, &avail) || avail != 7)
			fail("ioctl FIONREAD");
		struct iovec iov[2] = { { b2, 3 }, { b2 + 3, 4 } };
		count(C_READV);
		if (readv(pfd[0], iov, 2) != 7 || memcmp(b2, "stress!", 7))
			fail("readv pipe");
		close(pfd[0]);
		close(pfd[1]);
		break;
	}
	default:
		count(C_OPEN);
		fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return fail("open /dev/null");
		fd2 = dup2(fd, 900 + worker_id);
		if (fd2 >= 0)
			close(fd2);
		count(C_IOCTL);
		errno = 0;
		if (ioctl(fd, FIONREAD, &fd2) == 0 && errno)
			fail("ioctl errno");
		close(fd);
		break;
	}
	atomic_fetch_add_explicit(&kinds[K_IO], 1, memory_order_relaxed);
}

/* ---- dlopen ---- */

static void dl_op(void)
{
	count(C_DLOPEN);
	void *h = dlopen(dl_path, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return fail("dlopen libstressdl.so");
	int (*work)(int) = (int (*)(int))dlsym(h, "stress_dl_work");
	if (!work || work(10) != 45)
		fail("stress_dl_work");
	count(C_DLCLOSE);
	if (dlclose(h))
		fail("dlclose");
	count(C_DLOPEN);
	errno = 0;
	if (dlopen("/nonexistent/libcgoshim-stress.so", RTLD_NOW))
		fail("dlopen of a missing library");
	atomic_fetch_add_explicit(&kinds[K_DL], 1, memory_order_relaxed);
}

/* ---- processes ---- */

static int reap(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void fork_op(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid == 0) {
		char buf[64];
		int ok = 1;
		for (int i = 0; i < 100; i++) {
			void *p = malloc(32 + i);
			ok &= p != NULL;
			free(p);
		}
		int fd = open("/dev/zero", O_RDONLY);
		ok &= fd >= 0 && read(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf);
		close(fd);
		_exit(ok ? 0 : 3);
	}
	if (reap(pid) != 0)
		fail("fork child failed");
	atomic_fetch_add(&kinds[K_FORK], 1);
}

static void exec_op(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return fail("fork for exec");
	if (pid == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	if (reap(pid) != 0)
		fail("/bin/true failed");
	atomic_fetch_add(&kinds[K_EXEC], 1);
}

/* ---- threads ---- */

static void *short_lived(void *arg)
{
	uintptr_t n = (uintptr_t)arg;
	for (uintptr_t i = 0; i < 50 + n % 50; i++) {
		char *p = malloc(8 + i);
		if (!p) {
			fail("malloc in a short-lived thread");
			break;
		}
		p[0] = 1;
		free(p);
	}
	atomic_fetch_sub(&detached_alive, 1);
	return NULL;
}

static void thread_op(uint64_t *rng)
{
	if (atomic_load(&detached_alive) >= MAX_DETACHED)
		return;
	pthread_attr_t a;
	pthread_t t;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	atomic_fetch_add(&detached_alive, 1);
	int rc = pthread_create(&t, &a, short_lived, (void *)(uintptr_t)next(rng));
	pthread_attr_destroy(&a);
	if (rc) {
		atomic_fetch_sub(&detached_alive, 1);
		if (rc != EAGAIN)
			fail("pthread_create");
		return;
	}
	atomic_fetch_add(&kinds[K_THREAD], 1);
}

/* ---- workers ---- */

static void *worker(void *arg)
{
	uint64_t rng = 0x9E3779B97F4A7C15ULL * ((uintptr_t)arg + 1);
	/* Fork and fork+exec take turns, one every PROC_EVERY_MS per worker;
	 * workers start them at different times. */
	double last_proc = now_s() + (uintptr_t)arg * (proc_every_s / NTHREADS);
	unsigned leak_k = (unsigned)(uintptr_t)arg, nproc = (unsigned)(uintptr_t)arg;
	worker_id = (int)(uintptr_t)arg;
	for (long i = 1;; i++) {
		double t = now_s();
		if (t >= deadline)
			break;
		if (proc_every_s > 0 && t - last_proc >= proc_every_s) {
			last_proc = t;
			if (nproc++ % 2)
				exec_op();
			else
				fork_op();
			continue;
		}
		if (i % LEAK_EVERY == 0) {
			leak_one(leak_k++);
			continue;
		}
		uint64_t r = next(&rng) % 1000;
		if (r < 700)
			heap_op(&rng);
		else if (r < 960)
			io_op(&rng);
		else if (r < 990)
			dl_op();
		else
			thread_op(&rng);
	}
	return NULL;
}

static void find_dl(const char *argv0)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		snprintf(self, sizeof(self), "%s", argv0);
		n = (ssize_t)strlen(self);
	}
	self[n] = 0;
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = 0;
	snprintf(dl_path, sizeof(dl_path), "%s/libstressdl.so", slash ? self : ".");
}

int main(int argc, char **argv)
{
	if (argc < 2 || atof(argv[1]) <= 0) {
		fprintf(stderr, "usage: stress SECONDS [READY_FILE]\n");
		return 2;
	}
	find_dl(argv[0]);
	const char *every = getenv("STRESS_PROC_EVERY_MS");
	if (every)
		proc_every_s = atof(every) / 1000.0;
	double start = now_s();
	deadline = start + atof(argv[1]);
	pthread_t th[NTHREADS];
	for (uintptr_t i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)i)) {
			perror("stress: pthread_create");
			return 2;
		}
	if (argc > 2) {
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		count(C_OPEN);
		if (fd < 0) {
			perror("stress: ready file");
			return 2;
		}
		close(fd);
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	/* Let the detached threads finish (each lives a few microseconds). */
	for (int i = 0; i < 10000 && atomic_load(&detached_alive) > 0; i++) {
		struct timespec ms = { 0, 1000000 };
		nanosleep(&ms, NULL);
	}
	if (atomic_load(&detached_alive) > 0)
		fail("detached threads did not finish");
	long long total = 0;
	for (int k = 0; k < K_COUNT; k++)
		total += atomic_load(&kinds[k]);
	printf("stress: %.1f s, %lld operations: heap %lld, io %lld, dl %lld, fork %lld, exec %lld, "
	       "threads %lld, leaks %lld\n", now_s() - start, total, atomic_load(&kinds[K_HEAP]),
	       atomic_load(&kinds[K_IO]), atomic_load(&kinds[K_DL]), atomic_load(&kinds[K_FORK]),
	       atomic_load(&kinds[K_EXEC]), atomic_load(&kinds[K_THREAD]), atomic_load(&kinds[K_LEAK]));
	printf("stress: leaked %d x %d\n", atomic_load(&nleaks), SENTINEL);
	for (int c = 0; c < C_NCOUNTED; c++)
		printf("stress: calls %s %lld\n", counted_names[c], atomic_load(&counted[c]));
	printf("stress: errors %d\n", atomic_load(&errors));
	return atomic_load(&errors) ? 1 : 0;
}
