/* common.h - macros shared by every cgoshim source file.
 *
 * Error convention inside the shim: functions return 0 on success and a
 * negative errno-style value on failure; pointers return NULL on failure.
 * Nothing here allocates. */
#ifndef CGOSHIM_COMMON_H
#define CGOSHIM_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sched.h>
#include <time.h>

#define CGS_EXPORT __attribute__((visibility("default")))
#define CGS_LIKELY(x) __builtin_expect(!!(x), 1)
#define CGS_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CGS_NOINLINE __attribute__((noinline))
#define CGS_COLD __attribute__((cold, noinline))
#define CGS_ALIGNED(n) __attribute__((aligned(n)))
/* Every thread-local of the shim is initial-exec: dynamic TLS would call
 * __tls_get_addr, which may allocate on first touch (PITFALLS item 2). */
#define CGS_TLS __thread __attribute__((tls_model("initial-exec")))
#define CGS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static inline uint64_t cgs_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void cgs_cpu_relax(void)
{
	__asm__ __volatile__("pause" ::: "memory");
}

/* CLOCK_MONOTONIC in ns (vDSO: no system call), for bounded waits. */
static inline int64_t cgs_mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* A test-and-test-and-set spinlock that lives in shared memory. Critical
 * sections under it are a few dozen instructions and never call out. */
/* A spinlock holds its owner's token: a fork that a signal handler makes
 * while its own thread holds a shim lock sees that, and does not wait for
 * a lock that will never be released (fork.c). */
typedef struct { volatile uint32_t v; } cgs_spin_t;

/* This thread's token: from the address of a thread-local byte, so
 * nothing to set up and no system call (tstate.c). Never 0. */
extern CGS_TLS char cgs_t_me;
static inline uint32_t cgs_self_token(void)
{
	return (uint32_t)((uintptr_t)&cgs_t_me >> 3) | 1u;
}

/* After a short spin, yield the CPU: with more threads than cores, the
 * holder may be preempted and spinning only delays it (bench/run measured a
 * quarter of an 8-thread run spinning here before this back-off). */
static inline void cgs_spin_lock(cgs_spin_t *l)
{
	unsigned spins = 0;
	uint32_t me = cgs_self_token();
	uint32_t none = 0;
	/* compare-exchange, not exchange: a waiter must not overwrite the
	 * holder's token */
	while (!__atomic_compare_exchange_n(&l->v, &none, me, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
		none = 0;
		while (__atomic_load_n(&l->v, __ATOMIC_RELAXED)) {
			if (++spins < 100)
				cgs_cpu_relax();
			else
				sched_yield();
		}
	}
}

static inline bool cgs_spin_trylock(cgs_spin_t *l)
{
	uint32_t none = 0;
	return __atomic_compare_exchange_n(&l->v, &none, cgs_self_token(), false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static inline bool cgs_spin_mine(const cgs_spin_t *l)
{
	return __atomic_load_n(&l->v, __ATOMIC_RELAXED) == cgs_self_token();
}

static inline void cgs_spin_unlock(cgs_spin_t *l)
{
	__atomic_store_n(&l->v, 0, __ATOMIC_RELEASE);
}

#endif
