/* prctl.c - see the program's seccomp filters go in (core/seccomp.h).
 *
 * glibc has no seccomp() function: programs install filters with
 * prctl(PR_SET_SECCOMP, ...) or syscall(SYS_seccomp, ...) (libseccomp
 * does the latter). Both are interposed here; each is the plain system
 * call, made with the syscall instruction as glibc's own wrappers make it
 * (result and errno the same), so they never depend on the real functions
 * being resolved. The shim's own calls to syscall() reach this one too.
 * prctl(PR_SET_TSC) is watched as well: with PR_TSC_SIGSEGV (as in strict
 * mode) rdtsc faults, and the shim stops measuring. */
#include <errno.h>
#include <stdarg.h>
#include <time.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "seccomp.h"
#include "shim.h"

static long raw6(long nr, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	if ((unsigned long)ret > -4096UL) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

void cgs_turn_off(void);
void cgs_turn_on(struct cgs_region *r);

/* Strict mode and PR_SET_TSC make rdtsc fault (SIGSEGV), and every
 * interposer reads it: the shim stops measuring, before the kernel call
 * (after it, even clock_gettime's vDSO read faults). The watcher still
 * writes the final report. */
static struct cgs_region *passive_from; /* the region while passive, or NULL */
static int passive_tsc;                 /* PR_TSC_SIGSEGV is in force */
static int strict_mode;                 /* SECCOMP_MODE_STRICT is (never undone) */

static void go_passive(uint32_t why)
{
	struct cgs_region *r = cgs_R;
	if (!r)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - r->start_mono_ns;
	__atomic_store_n(&r->passive_ns, ns > 0 ? ns : 1, __ATOMIC_RELAXED);
	__atomic_store_n(&r->passive_why, why, __ATOMIC_RELAXED);
	passive_from = r;
	cgs_turn_off();
}

static void back_on(void)
{
	struct cgs_region *r = passive_from;
	if (!r)
		return;
	passive_from = NULL;
	if (r->passive_why == CGS_PASSIVE_NOTSC)
		r->passive_why = CGS_PASSIVE_NOTSC_OVER;
	else
		r->passive_ns = 0, r->passive_why = CGS_PASSIVE_NONE;
	cgs_turn_on(r);
}

static int tsc_note(int mode)
{
	if (mode == PR_TSC_SIGSEGV && !passive_tsc && !passive_from) {
		go_passive(CGS_PASSIVE_NOTSC);
		return 1;
	}
	if (mode == PR_TSC_ENABLE && passive_tsc && !strict_mode)
		return 2;
	return 0;
}

static void tsc_done(int token, bool ok)
{
	if (token == 1) {
		if (ok) {
			passive_tsc = 1;
		} else {
			struct cgs_region *r = passive_from;
			back_on();
			if (r)
				r->passive_ns = 0, r->passive_why = CGS_PASSIVE_NONE;
		}
	} else if (token == 2 && ok) {
		passive_tsc = 0;
		back_on();
	}
}

/* Strict mode about to go in: passive first. Returns whether it went. */
static bool strict_note(void)
{
	if (passive_from)
		return false;
	go_passive(CGS_PASSIVE_STRICT);
	return true;
}

static void strict_done(bool went, bool ok)
{
	if (ok)
		strict_mode = 1;
	else if (went)
		back_on();
}

CGS_EXPORT long syscall(long nr, ...)
{
	va_list ap;
	va_start(ap, nr);
	long a[6];
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (CGS_LIKELY(nr != SYS_seccomp) ||
	    (a[0] != SECCOMP_SET_MODE_FILTER && a[0] != SECCOMP_SET_MODE_STRICT))
		return raw6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	bool is_strict = a[0] == SECCOMP_SET_MODE_STRICT;
	int token = cgs_seccomp_note(is_strict ? SECCOMP_MODE_STRICT : SECCOMP_MODE_FILTER, (const void *)a[2]);
	bool went = is_strict && strict_note();
	long r = raw6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (is_strict)
		strict_done(went, r >= 0);
	cgs_seccomp_done(token, r >= 0);
	return r;
}

CGS_EXPORT int prctl(int option, ...)
{
	va_list ap;
	va_start(ap, option);
	unsigned long a[4];
	for (int i = 0; i < 4; i++)
		a[i] = va_arg(ap, unsigned long);
	va_end(ap);
	if (option == PR_SET_TSC) {
		int token = tsc_note((int)a[0]);
		int r = (int)raw6(SYS_prctl, option, (long)a[0], (long)a[1], (long)a[2], (long)a[3], 0);
		tsc_done(token, r >= 0);
		return r;
	}
	if (CGS_LIKELY(option != PR_SET_SECCOMP))
		return (int)raw6(SYS_prctl, option, (long)a[0], (long)a[1], (long)a[2], (long)a[3], 0);
	bool is_strict = a[0] == SECCOMP_MODE_STRICT;
	int token = cgs_seccomp_note((int)a[0], (const void *)a[1]);
	bool went = is_strict && strict_note();
	int r = (int)raw6(SYS_prctl, option, (long)a[0], (long)a[1], (long)a[2], (long)a[3], 0);
	if (is_strict)
		strict_done(went, r >= 0);
	cgs_seccomp_done(token, r >= 0);
	return r;
}
