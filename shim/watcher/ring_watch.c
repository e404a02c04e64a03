/* ring_watch.c - the watcher's helper thread for the flight recorder:
 * refines the TSC rate (so slow_ticks follows the rate measured over the
 * run) and notes which NUMA node each thread of the process last ran on.
 * Watcher side: may use pthreads and the clock freely. Design: ring.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "log.h"
#include "ring.h"
#include "tstate.h"

static int64_t mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void cgs_rings_refine(struct cgs_region *r)
{
	struct cgs_rings *rs = r->rings;
	uint64_t tsc = cgs_rdtsc();
	int64_t ns = mono_now() - r->start_mono_ns;
	if (!rs || ns < 10000000 || tsc <= r->start_tsc)
		return;
	double rate = (double)(tsc - r->start_tsc) / (double)ns;
	rs->ticks_per_ns = rate;
	rs->rate_source = CGS_RATE_MEASURED;
	/* 0.5% low: the report keeps exactly the calls at least CGOSHIM_SLOW_NS
	 * long, at the rate measured over the whole run. */
	__atomic_store_n(&r->slow_ticks, cgs_ticks_for(r->opts.slow_ns, rate * 0.995), __ATOMIC_RELEASE);
}

/* Field 39 of /proc/PID/task/TID/stat: the CPU the thread last ran on. */
static int thread_cpu(int pid, int tid)
{
	char path[64], num[21], buf[1024];
	strcpy(path, "/proc/");
	strcat(path, cgs_u64_str((uint64_t)pid, num));
	strcat(path, "/task/");
	strcat(path, cgs_u64_str((uint64_t)tid, num));
	strcat(path, "/stat");
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	long n = syscall(SYS_read, fd, buf, sizeof(buf) - 1);
	syscall(SYS_close, fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *p = strrchr(buf, ')'); /* the name may hold spaces and ')' */
	if (!p)
		return -1;
	/* After ')': field 3 (state) is the 1st; field 39 the 37th. */
	int field = 2;
	for (p++; *p && field < 39; p++)
		if (*p == ' ')
			field++;
	if (field != 39)
		return -1;
	int cpu = 0;
	for (; *p >= '0' && *p <= '9'; p++)
		cpu = cpu * 10 + (*p - '0');
	return cpu;
}

static void sample_threads(struct cgs_region *r, int pid)
{
	struct cgs_rings *rs = r->rings;
	unsigned n = 0;
	for (struct cgs_tstate *t = r->threads; t && n < (1u << 16); t = t->next_all, n++) {
		if (!cgs_region_contains(r, t, sizeof(*t)))
			break;
		int32_t tid = t->tid;
		if (tid <= 0 || !t->in_use)
			continue;
		int cpu = thread_cpu(pid, tid);
		if (cpu < 0)
			continue;
		struct cgs_tnode *tn = cgs_tnode_find(rs, tid, true);
		if (tn)
			cgs_tnode_note(tn, rs->topo.node[cgs_topology_ring(&rs->topo, cpu)], cgs_rdtsc());
	}
}

struct watch_arg {
	struct cgs_region *r;
	int pid;
};

static void sleep_until(int64_t mono)
{
	struct timespec ts = { (time_t)(mono / 1000000000LL), (long)(mono % 1000000000LL) };
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void *watch_main(void *arg)
{
	struct watch_arg w = *(struct watch_arg *)arg;
	struct cgs_region *r = w.r;
	sleep_until(r->start_mono_ns + 100000000LL);
	for (;;) {
		cgs_rings_refine(r);
		sample_threads(r, w.pid);
		sleep_until(mono_now() + 1000000000LL);
	}
	return NULL;
}

int cgs_rings_watch(struct cgs_region *r, int pid)
{
	static struct watch_arg arg;
	pthread_t th;
	pthread_attr_t at;
	if (!r->rings)
		return 0;
	arg.r = r;
	arg.pid = pid;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&th, &at, watch_main, &arg);
	pthread_attr_destroy(&at);
	return -rc;
}
