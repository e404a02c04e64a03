/* seccomp.c - the program's seccomp filters, run on the shim's own system
 * calls before it makes them (seccomp.h). A small interpreter of classic
 * BPF as seccomp accepts it (the kernel's seccomp_check_filter list), over
 * struct seccomp_data for x86-64. In-process code: no allocation, no
 * system call once a filter is in. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "seccomp.h"
#include "region.h"

#define MAX_FILTERS 64
#define MAX_INSNS (1u << 15) /* 8 filters of the kernel's largest (BPF_MAXINSNS) */

static struct sock_filter insns[MAX_INSNS];
static struct {
	uint32_t off, len;
	uint32_t live; /* 0 once its install failed */
} filt[MAX_FILTERS];
static uint32_t nfilt;     /* published with release */
static uint32_t used;      /* instructions stored */
static uint32_t strict;    /* SECCOMP_MODE_STRICT seen */
static uint32_t unknown;   /* a filter could not be copied: refuse everything new */
static uint32_t any;       /* something was noted: the fast path's test */

static uint32_t load_word(const struct seccomp_data *d, uint32_t k, bool *ok)
{
	uint32_t v;
	if (k % 4 || k > sizeof(*d) - 4) {
		*ok = false;
		return 0;
	}
	memcpy(&v, (const char *)d + k, 4);
	return v;
}

/* One filter's verdict, as the kernel computes it; 0 (KILL) for anything
 * the kernel would not have accepted. */
static uint32_t run(const struct sock_filter *f, uint32_t n, const struct seccomp_data *d)
{
	uint32_t A = 0, X = 0, M[BPF_MEMWORDS] = { 0 };
	bool ok = true;
	for (uint32_t pc = 0; pc < n && ok; pc++) {
		const struct sock_filter *i = &f[pc];
		uint32_t k = i->k;
		uint32_t src = BPF_SRC(i->code) == BPF_X ? X : k;
		switch (BPF_CLASS(i->code)) {
		case BPF_LD:
			switch (i->code) {
			case BPF_LD | BPF_W | BPF_ABS: A = load_word(d, k, &ok); break;
			case BPF_LD | BPF_W | BPF_LEN: A = sizeof(*d); break;
			case BPF_LD | BPF_IMM: A = k; break;
			case BPF_LD | BPF_MEM: if (k >= BPF_MEMWORDS) return 0; A = M[k]; break;
			default: return 0;
			}
			break;
		case BPF_LDX:
			switch (i->code) {
			case BPF_LDX | BPF_W | BPF_LEN: X = sizeof(*d); break;
			case BPF_LDX | BPF_IMM: X = k; break;
			case BPF_LDX | BPF_MEM: if (k >= BPF_MEMWORDS) return 0; X = M[k]; break;
			default: return 0;
			}
			break;
		case BPF_ST:
			if (k >= BPF_MEMWORDS)
				return 0;
			M[k] = A;
			break;
		case BPF_STX:
			if (k >= BPF_MEMWORDS)
				return 0;
			M[k] = X;
			break;
		case BPF_ALU:
			switch (BPF_OP(i->code)) {
			case BPF_ADD: A += src; break;
			case BPF_SUB: A -= src; break;
			case BPF_MUL: A *= src; break;
			case BPF_DIV: if (!src) return 0; A /= src; break;
			case BPF_MOD: if (!src) return 0; A %= src; break;
			case BPF_AND: A &= src; break;
			case BPF_OR: A |= src; break;
			case BPF_XOR: A ^= src; break;
			case BPF_LSH: A = src < 32 ? A << src : 0; break;
			case BPF_RSH: A = src < 32 ? A >> src : 0; break;
			case BPF_NEG: A = -A; break;
			default: return 0;
			}
			break;
		case BPF_JMP: {
			bool c;
			switch (BPF_OP(i->code)) {
			case BPF_JA: pc += k; continue;
			case BPF_JEQ: c = A == src; break;
			case BPF_JGT: c = A > src; break;
			case BPF_JGE: c = A >= src; break;
			case BPF_JSET: c = (A & src) != 0; break;
			default: return 0;
			}
			pc += c ? i->jt : i->jf;
			break;
		}
		case BPF_RET:
			return BPF_RVAL(i->code) == BPF_A ? A : k;
		case BPF_MISC:
			if (BPF_MISCOP(i->code) == BPF_TAX)
				X = A;
			else
				A = X;
			break;
		default:
			return 0;
		}
	}
	return 0; /* fell off the end, or a bad load */
}

static void skipped(void)
{
	struct cgs_region *r = cgs_R;
	if (r)
		cgs_count(&r->counters.seccomp_skipped);
}

bool cgs_seccomp_allows(long nr, const long args[6])
{
	if (CGS_LIKELY(!__atomic_load_n(&any, __ATOMIC_ACQUIRE)))
		return true;
	if (__atomic_load_n(&unknown, __ATOMIC_RELAXED))
		goto no;
	if (__atomic_load_n(&strict, __ATOMIC_RELAXED) && nr != SYS_read && nr != SYS_write && nr != SYS_exit &&
	    nr != SYS_rt_sigreturn)
		goto no;
	struct seccomp_data d;
	memset(&d, 0, sizeof(d));
	d.nr = (int)nr;
	d.arch = AUDIT_ARCH_X86_64;
	d.instruction_pointer = (uint64_t)(uintptr_t)__builtin_return_address(0);
	for (int i = 0; i < 6; i++)
		d.args[i] = (uint64_t)args[i];
	uint32_t n = __atomic_load_n(&nfilt, __ATOMIC_ACQUIRE);
	int32_t verdict = (int32_t)SECCOMP_RET_ALLOW;
	for (uint32_t i = 0; i < n; i++) {
		if (!__atomic_load_n(&filt[i].live, __ATOMIC_RELAXED))
			continue;
		uint32_t v = run(insns + filt[i].off, filt[i].len, &d);
		int32_t action = (int32_t)(v & SECCOMP_RET_ACTION_FULL);
		if (action < verdict)
			verdict = action;
	}
	if (verdict == (int32_t)SECCOMP_RET_ALLOW)
		return true;
no:
	skipped();
	return false;
}

bool cgs_seccomp_active(void)
{
	return __atomic_load_n(&any, __ATOMIC_ACQUIRE) != 0;
}

static uint32_t generation; /* bumped at every change of the filters */

bool cgs_seccomp_unwind_ok(void)
{
	if (CGS_LIKELY(!__atomic_load_n(&any, __ATOMIC_ACQUIRE)))
		return true;
	/* verdict: generation << 1 | ok, for the generation it was made in */
	static uint32_t verdict = ~0u;
	uint32_t gen = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
	uint32_t v = __atomic_load_n(&verdict, __ATOMIC_RELAXED);
	if (v != ~0u && v >> 1 == (gen & 0x7fffffff)) {
		if (!(v & 1))
			skipped();
		return v & 1;
	}
	static const long nrs[] = { SYS_process_vm_readv, SYS_getpid, SYS_mincore, SYS_msync, SYS_mmap, SYS_munmap };
	static const long none[6];
	bool ok = true;
	for (size_t i = 0; ok && i < sizeof(nrs) / sizeof(nrs[0]); i++)
		ok = cgs_seccomp_allows(nrs[i], none); /* counts the refusal */
	__atomic_store_n(&verdict, (gen & 0x7fffffff) << 1 | (ok ? 1u : 0u), __ATOMIC_RELAXED);
	return ok;
}

static void note_time(void)
{
	struct cgs_region *r = cgs_R;
	if (!r)
		return;
	__atomic_add_fetch(&r->seccomp_filters, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&r->seccomp_ns, __ATOMIC_RELAXED))
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* vDSO: no system call */
	int64_t ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - r->start_mono_ns;
	__atomic_store_n(&r->seccomp_ns, ns > 0 ? ns : 1, __ATOMIC_RELAXED);
}

static void give_up(void)
{
	__atomic_store_n(&unknown, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&generation, 1, __ATOMIC_RELEASE);
	struct cgs_region *r = cgs_R;
	if (r)
		__atomic_store_n(&r->seccomp_unknown, 1, __ATOMIC_RELAXED);
}

/* Copy n bytes of the program's memory at p without trusting p: a bad
 * pointer gets EFAULT from the kernel, not a crash here. */
static bool copy_in(void *dst, const void *p, size_t n)
{
	long a[6] = { 0 };
	/* The region knows this process's pid (a fork child's too). */
	struct cgs_region *reg = cgs_R;
	long pid = reg ? reg->pid : 0;
	if (!pid && !cgs_seccomp_allows(SYS_getpid, a))
		return false;
	if (!cgs_seccomp_allows(SYS_process_vm_readv, a))
		return false;
	int saved = errno;
	if (!pid)
		pid = syscall(SYS_getpid);
	struct iovec local = { dst, n }, remote = { (void *)(uintptr_t)p, n };
	long r = syscall(SYS_process_vm_readv, pid, &local, 1UL, &remote, 1UL, 0UL);
	errno = saved;
	return r == (long)n;
}

int cgs_seccomp_note(int mode, const void *prog)
{
	if (mode == SECCOMP_MODE_STRICT) {
		note_time(); /* now: after the call, even clock_gettime faults */
		__atomic_store_n(&strict, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&any, 1, __ATOMIC_RELEASE);
		__atomic_add_fetch(&generation, 1, __ATOMIC_RELEASE);
		return -2;
	}
	if (mode != SECCOMP_MODE_FILTER)
		return -1;
	struct sock_fprog fp;
	uint32_t slot = __atomic_load_n(&nfilt, __ATOMIC_RELAXED);
	if (!prog || !copy_in(&fp, prog, sizeof(fp)) || !fp.len || fp.len > BPF_MAXINSNS ||
	    slot >= MAX_FILTERS) {
		/* The kernel may refuse it too (EFAULT, EINVAL); if not, it is
		 * one the shim cannot read. */
		__atomic_store_n(&any, 1, __ATOMIC_RELEASE);
		__atomic_add_fetch(&generation, 1, __ATOMIC_RELEASE);
		return -3;
	}
	uint32_t off = __atomic_fetch_add(&used, fp.len, __ATOMIC_RELAXED);
	if (off + fp.len > MAX_INSNS || !copy_in(insns + off, fp.filter, fp.len * sizeof(struct sock_filter))) {
		__atomic_store_n(&any, 1, __ATOMIC_RELEASE);
		__atomic_add_fetch(&generation, 1, __ATOMIC_RELEASE);
		return -3;
	}
	/* Live before the kernel has it: the shim's calls in between are
	 * judged by it already. */
	filt[slot].off = off;
	filt[slot].len = fp.len;
	filt[slot].live = 1;
	__atomic_store_n(&nfilt, slot + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&any, 1, __ATOMIC_RELEASE);
		__atomic_add_fetch(&generation, 1, __ATOMIC_RELEASE);
	return (int)slot;
}

void cgs_seccomp_done(int token, bool ok)
{
	if (token == -1)
		return;
	if (token == -3) {
		if (ok) {
			give_up();
			note_time();
		}
		return;
	}
	if (token == -2) {
		if (!ok) {
			__atomic_store_n(&strict, 0, __ATOMIC_RELAXED);
			struct cgs_region *r = cgs_R;
			if (r)
				__atomic_sub_fetch(&r->seccomp_filters, 1, __ATOMIC_RELAXED);
		}
		__atomic_add_fetch(&generation, 1, __ATOMIC_RELEASE);
		return;
	}
	if (!ok) {
		__atomic_store_n(&filt[token].live, 0, __ATOMIC_RELAXED);
		__atomic_add_fetch(&generation, 1, __ATOMIC_RELEASE);
		return;
	}
	note_time();
}
