/* api.c - the public functions of include/cgoshim.h. */
#include <errno.h>
#include <linux/futex.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "cgoshim.h"
#include "seccomp.h"
#include "shim.h"

CGS_EXPORT long cgoshim_dump(void)
{
	if (!cgs_R)
		return -1;
	return (long)cgs_dump_request(CGS_TRIGGER_API);
}

CGS_EXPORT int cgoshim_dump_wait(int timeout_ms)
{
	struct cgs_region *r = cgs_R;
	/* A request made before the watcher runs waits in dump_req: the
	 * watcher handles it when it starts, within the timeout. */
	if (!r)
		return -1;
	int saved = errno;
	uint32_t want = cgs_dump_request(CGS_TRIGGER_API);
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	int rc = -1;
	for (;;) {
		uint32_t done = __atomic_load_n(&r->dump_done, __ATOMIC_ACQUIRE);
		if ((int32_t)(done - want) >= 0) {
			rc = 0;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		long spent = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (spent >= timeout_ms)
			break;
		long left = timeout_ms - spent;
		struct timespec ts = { left / 1000, (left % 1000) * 1000000 };
		long a[6] = { (long)&r->dump_done, FUTEX_WAIT, (long)done, (long)&ts, 0, 0 };
		if (!cgs_seccomp_allows(SYS_futex, a))
			break; /* the program's seccomp filter forbids the wait */
		syscall(SYS_futex, &r->dump_done, FUTEX_WAIT, done, &ts, NULL, 0);
	}
	errno = saved;
	return rc;
}
