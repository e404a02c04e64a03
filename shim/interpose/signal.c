/* signal.c - the dump signal, shared with the program as the kernel would
 * share nothing (PITFALLS item 14; issue 13, item 1).
 *
 * The shim's handler is in the kernel for the dump signal (SIGUSR2 unless
 * CGOSHIM_SIGNAL says otherwise) only while the program's disposition is a
 * handler, or while the program never set one (then the signal asks for a
 * dump, where without the shim it would kill: the one difference, and the
 * point of the option). Three states:
 *
 *   UNTOUCHED  the program never set a disposition: the shim's handler is
 *              installed; a query answers what the kernel had at start.
 *   HANDLER    the program installed a handler (Go does, through libc's
 *              sigaction): the shim's handler is installed with the
 *              program's own mask and flags (SA_RESETHAND, SA_NODEFER,
 *              SA_RESTART, SA_ONSTACK as it asked; SA_SIGINFO added), asks
 *              for a dump and calls the program's handler.
 *   KERNEL     the program set SIG_DFL or SIG_IGN (or the image started
 *              with SIG_IGN, inherited across exec): exactly that is in the
 *              kernel, so the default action kills, an ignored signal never
 *              interrupts a system call, is discarded when pending and
 *              stays ignored across exec. Live dumps by signal are given up
 *              (the region says since when; the report says so).
 *
 * A query (sigaction with oldact, and every "old" answer) is the kernel's
 * own answer, read from the kernel each time, with the shim's handler
 * replaced by the program's and SA_SIGINFO as the program set it: sa_mask
 * without SIGKILL/SIGSTOP, SA_RESTORER and glibc's restorer, unknown flags
 * cleared (the SA_UNSUPPORTED probe), the flags left after SA_RESETHAND
 * fired. A disposition changed behind the interposer (a raw system call)
 * shows as the kernel has it, and the shim then keeps its hands off.
 *
 * glibc's signal, bsd_signal, ssignal, sysv_signal, sigset, sigignore and
 * siginterrupt call its internal __sigaction, which no preload sees: for
 * the dump signal they are done here, as glibc does them, on top of the
 * sigaction below. Other signals go straight to libc.
 *
 * The handler does only async-signal-safe work: one atomic increment and a
 * futex wake in the shared region. The watcher process does the rest. */
#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "seccomp.h"
#include "shim.h"

enum { ST_UNTOUCHED, ST_HANDLER, ST_KERNEL };

static int dump_sig;              /* 0: the shim leaves every signal alone */
static int state;                 /* ST_*, changed under the program's own calls */
static struct sigaction start_view; /* the kernel's answer at start (UNTOUCHED) */
static int prog_flags;            /* flags the program passed (HANDLER) */
static bool prog_interrupt;       /* siginterrupt(sig, 1) was called (glibc's _sigintr) */

/* The program's handler, read by the signal handler: two slots and an
 * index, so a handler never reads one half-written. */
struct prog_fn {
	void *fn;
	bool siginfo;
};
static struct prog_fn slot[2];
static int cur_slot;

static void set_prog_fn(void *fn, bool siginfo)
{
	int next = !__atomic_load_n(&cur_slot, __ATOMIC_RELAXED);
	slot[next].fn = fn;
	slot[next].siginfo = siginfo;
	__atomic_store_n(&cur_slot, next, __ATOMIC_RELEASE);
}

uint32_t cgs_dump_request(int trigger)
{
	struct cgs_region *r = cgs_R;
	if (!r)
		return 0;
	r->last_trigger = (uint32_t)trigger;
	uint32_t seq = __atomic_add_fetch(&r->dump_req, 1, __ATOMIC_SEQ_CST);
	/* Under a seccomp filter that forbids futex the watcher still sees
	 * the request when its wait times out. */
	long a[6] = { (long)&r->dump_req, FUTEX_WAKE, 1, 0, 0, 0 };
	if (cgs_seccomp_allows(SYS_futex, a))
		syscall(SYS_futex, &r->dump_req, FUTEX_WAKE, 1, NULL, NULL, 0);
	return seq;
}

/* Record in the region that live dumps by signal are given up (disp:
 * CGS_SIGDUMP_*), or on again. */
static void note_state(uint32_t disp)
{
	struct cgs_region *r = cgs_R;
	if (!r)
		return;
	if (disp != CGS_SIGDUMP_ON && !__atomic_load_n(&r->sig_given_up_ns, __ATOMIC_RELAXED)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		int64_t ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - r->start_mono_ns;
		__atomic_store_n(&r->sig_given_up_ns, ns > 0 ? ns : 1, __ATOMIC_RELAXED);
		__atomic_store_n(&r->sig_given_up_disp, disp, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&r->sig_dump_state, disp, __ATOMIC_RELAXED);
}

static void handler(int sig, siginfo_t *info, void *ctx)
{
	int saved = errno;
	if (cgs_R) {
		cgs_count(&cgs_R->counters.signals);
		cgs_dump_request(CGS_TRIGGER_SIGNAL);
		/* SA_RESETHAND: the kernel has just put SIG_DFL back. */
		if (__atomic_load_n(&state, __ATOMIC_RELAXED) == ST_HANDLER && (prog_flags & SA_RESETHAND))
			note_state(CGS_SIGDUMP_DEFAULT);
	}
	struct prog_fn p = slot[__atomic_load_n(&cur_slot, __ATOMIC_ACQUIRE)];
	if (!p.fn || p.fn == (void *)SIG_DFL || p.fn == (void *)SIG_IGN) {
		/* UNTOUCHED: a dump is all the signal asks for. With the shim
		 * off in this process (a fork child with CGOSHIM_CHILDREN=0,
		 * strict mode) there is no dump to take: the default action,
		 * as without the shim (re-raised, delivered when this returns). */
		static const long none[6];
		if (!cgs_R && __atomic_load_n(&state, __ATOMIC_RELAXED) == ST_UNTOUCHED &&
		    cgs_seccomp_allows(SYS_rt_sigaction, none) && cgs_seccomp_allows(SYS_tgkill, none) &&
		    cgs_seccomp_allows(SYS_getpid, none) && cgs_seccomp_allows(SYS_rt_sigprocmask, none)) {
			struct sigaction dfl;
			memset(&dfl, 0, sizeof(dfl));
			dfl.sa_handler = SIG_DFL;
			sigemptyset(&dfl.sa_mask);
			if (!cgs_real.sigaction(sig, &dfl, NULL)) {
				__atomic_store_n(&state, ST_KERNEL, __ATOMIC_RELAXED);
				raise(sig);
			}
		}
		errno = saved;
		return;
	}
	errno = saved;
	if (p.siginfo)
		((void (*)(int, siginfo_t *, void *))p.fn)(sig, info, ctx);
	else
		((void (*)(int))p.fn)(sig);
}

static bool is_shim(const struct sigaction *k)
{
	return (k->sa_flags & SA_SIGINFO) && k->sa_sigaction == handler;
}

static bool is_handler(const struct sigaction *a)
{
	return a->sa_handler != SIG_DFL && a->sa_handler != SIG_IGN;
}

/* The program's view of what the kernel answered (k): see the top. */
static void view_of(const struct sigaction *k, struct sigaction *v)
{
	*v = *k;
	if (is_shim(k)) {
		if (state == ST_UNTOUCHED) {
			*v = start_view;
			return;
		}
		struct prog_fn p = slot[__atomic_load_n(&cur_slot, __ATOMIC_ACQUIRE)];
		v->sa_flags = (k->sa_flags & ~SA_SIGINFO) | (prog_flags & SA_SIGINFO);
		if (p.siginfo)
			v->sa_sigaction = (void (*)(int, siginfo_t *, void *))p.fn;
		else
			v->sa_handler = (sighandler_t)p.fn;
		return;
	}
	/* SA_RESETHAND fired: SIG_DFL with the flags the shim installed. */
	if (state == ST_HANDLER && (prog_flags & SA_RESETHAND) && k->sa_handler == SIG_DFL &&
	    !(prog_flags & SA_SIGINFO))
		v->sa_flags &= ~SA_SIGINFO;
}

/* Install the shim's handler for the program's action (NULL: UNTOUCHED). */
static int install(const struct sigaction *prog, struct sigaction *kold)
{
	struct sigaction sa;
	if (prog) {
		sa = *prog;
		sa.sa_flags |= SA_SIGINFO;
	} else {
		memset(&sa, 0, sizeof(sa));
		sigemptyset(&sa.sa_mask);
		/* Its own handler may run on any thread, a Go one included. */
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	}
	sa.sa_sigaction = handler;
	return cgs_real.sigaction(dump_sig, &sa, kold);
}

void cgs_signal_install(void)
{
	struct cgs_region *r = cgs_R;
	if (!r || !r->opts.signal || !cgs_real.sigaction)
		return;
	int sig = r->opts.signal;
	struct sigaction old;
	if (cgs_real.sigaction(sig, NULL, &old))
		return;
	dump_sig = sig;
	if (!is_handler(&old)) {
		if (old.sa_handler == SIG_IGN) {
			/* Ignored from the start (inherited across exec, as from
			 * `trap "" USR2` or nohup-like launchers): it stays so. */
			state = ST_KERNEL;
			note_state(CGS_SIGDUMP_IGNORED_AT_START);
			return;
		}
		start_view = old;
		state = ST_UNTOUCHED;
		note_state(CGS_SIGDUMP_ON);
		if (install(NULL, NULL))
			dump_sig = 0;
		return;
	}
	/* A handler from before the shim started (an earlier constructor). */
	prog_flags = old.sa_flags;
	set_prog_fn((old.sa_flags & SA_SIGINFO) ? (void *)old.sa_sigaction : (void *)old.sa_handler,
		    old.sa_flags & SA_SIGINFO);
	state = ST_HANDLER;
	note_state(CGS_SIGDUMP_ON);
	if (install(&old, NULL))
		dump_sig = 0;
}

/* Detach (attach.c): give the dump signal back. What the kernel then has
 * is what the program would see asking (view_of): its own handler, or the
 * disposition from before the shim. The shim's handler stays in the
 * library, for a signal that was already on its way to it. */
void cgs_signal_uninstall(void)
{
	int sig = __atomic_load_n(&dump_sig, __ATOMIC_ACQUIRE);
	if (!sig || !cgs_real.sigaction)
		return;
	struct sigaction k, v;
	if (!cgs_real.sigaction(sig, NULL, &k) && is_shim(&k)) {
		view_of(&k, &v);
		cgs_real.sigaction(sig, &v, NULL);
	}
	__atomic_store_n(&dump_sig, 0, __ATOMIC_RELEASE);
}

static int dump_sigaction(const struct sigaction *act, struct sigaction *old)
{
	struct sigaction k, v;
	if (!act) {
		if (cgs_real.sigaction(dump_sig, NULL, &k))
			return -1;
		view_of(&k, &v);
		if (!is_shim(&k) && state != ST_KERNEL &&
		    !(state == ST_HANDLER && (prog_flags & SA_RESETHAND) && k.sa_handler == SIG_DFL)) {
			/* Changed behind the interposer: the kernel's is the truth. */
			state = ST_KERNEL;
			note_state(k.sa_handler == SIG_IGN ? CGS_SIGDUMP_IGNORED : CGS_SIGDUMP_DEFAULT);
		}
		if (old)
			*old = v;
		return 0;
	}
	int rc;
	if (is_handler(act)) {
		/* The program's handler goes in first: a signal that arrives
		 * while the kernel still has the old action calls the new
		 * handler a moment early, as a racing signal may natively. */
		struct prog_fn before = slot[__atomic_load_n(&cur_slot, __ATOMIC_ACQUIRE)];
		int before_flags = prog_flags, before_state = state;
		/* The old answer is read under the old state. */
		if (cgs_real.sigaction(dump_sig, NULL, &k))
			return -1;
		view_of(&k, &v);
		prog_flags = act->sa_flags;
		set_prog_fn((act->sa_flags & SA_SIGINFO) ? (void *)act->sa_sigaction : (void *)act->sa_handler,
			    act->sa_flags & SA_SIGINFO);
		state = ST_HANDLER;
		rc = install(act, NULL);
		if (rc) {
			int e = errno;
			prog_flags = before_flags;
			set_prog_fn(before.fn, before.siginfo);
			state = before_state;
			errno = e;
			return -1;
		}
		note_state(CGS_SIGDUMP_ON);
	} else {
		/* SIG_DFL or SIG_IGN: exactly that, in the kernel. */
		rc = cgs_real.sigaction(dump_sig, act, &k);
		if (rc)
			return -1;
		view_of(&k, &v);
		state = ST_KERNEL;
		set_prog_fn((void *)act->sa_handler, false);
		note_state(act->sa_handler == SIG_IGN ? CGS_SIGDUMP_IGNORED : CGS_SIGDUMP_DEFAULT);
	}
	if (old)
		*old = v;
	return 0;
}

CGS_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (!cgs_real_ready())
		cgs_real_resolve();
	if (!dump_sig || sig != dump_sig)
		return cgs_real.sigaction(sig, act, old);
	return dump_sigaction(act, old);
}

int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);
CGS_EXPORT int __sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return sigaction(sig, act, old);
}

/* glibc's signal()/bsd_signal()/ssignal(): BSD semantics, the signal
 * itself in the mask, SA_RESTART unless siginterrupt(sig, 1) was called. */
static sighandler_t bsd_style(sighandler_t h)
{
	if (h == SIG_ERR) {
		errno = EINVAL;
		return SIG_ERR;
	}
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, dump_sig);
	sa.sa_flags = prog_interrupt ? 0 : SA_RESTART;
	if (dump_sigaction(&sa, &old))
		return SIG_ERR;
	return old.sa_handler;
}

CGS_EXPORT sighandler_t signal(int sig, sighandler_t h)
{
	if (!cgs_real_ready())
		cgs_real_resolve();
	if (!dump_sig || sig != dump_sig)
		return cgs_real.signal(sig, h);
	return bsd_style(h);
}

sighandler_t bsd_signal(int sig, sighandler_t h);
CGS_EXPORT sighandler_t bsd_signal(int sig, sighandler_t h)
{
	if (!cgs_real_ready())
		cgs_real_resolve();
	if (!dump_sig || sig != dump_sig)
		return cgs_real.bsd_signal(sig, h);
	return bsd_style(h);
}

sighandler_t ssignal(int sig, sighandler_t h);
CGS_EXPORT sighandler_t ssignal(int sig, sighandler_t h)
{
	if (!cgs_real_ready())
		cgs_real_resolve();
	if (!dump_sig || sig != dump_sig)
		return cgs_real.ssignal(sig, h);
	return bsd_style(h);
}

/* glibc's sysv_signal(): one-shot, not masked, not restarted. */
static sighandler_t sysv_style(sighandler_t h)
{
	if (h == SIG_ERR) {
		errno = EINVAL;
		return SIG_ERR;
	}
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = (int)(SA_RESETHAND | SA_NODEFER | SA_INTERRUPT) & ~SA_RESTART;
	if (dump_sigaction(&sa, &old))
		return SIG_ERR;
	return old.sa_handler;
}

CGS_EXPORT sighandler_t sysv_signal(int sig, sighandler_t h)
{
	if (!cgs_real_ready())
		cgs_real_resolve();
	if (!dump_sig || sig != dump_sig)
		return cgs_real.sysv_signal(sig, h);
	return sysv_style(h);
}

CGS_EXPORT sighandler_t __sysv_signal(int sig, sighandler_t h)
{
	return sysv_signal(sig, h);
}

/* glibc's sigset(): SIG_HOLD blocks; anything else installs with an empty
 * mask and no flags, then unblocks. */
CGS_EXPORT sighandler_t sigset(int sig, sighandler_t h)
{
	if (!cgs_real_ready())
		cgs_real_resolve();
	if (!dump_sig || sig != dump_sig)
		return cgs_real.sigset(sig, h);
	sigset_t set, oset;
	sigemptyset(&set);
	sigaddset(&set, sig);
	struct sigaction sa, old;
	if (h == SIG_HOLD) {
		if (sigprocmask(SIG_BLOCK, &set, &oset) < 0)
			return SIG_ERR;
		if (sigismember(&oset, sig))
			return SIG_HOLD;
		if (dump_sigaction(NULL, &old) < 0)
			return SIG_ERR;
		return old.sa_handler;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h;
	sigemptyset(&sa.sa_mask);
	if (dump_sigaction(&sa, &old) < 0)
		return SIG_ERR;
	if (sigprocmask(SIG_UNBLOCK, &set, &oset) < 0)
		return SIG_ERR;
	return sigismember(&oset, sig) ? SIG_HOLD : old.sa_handler;
}

CGS_EXPORT int sigignore(int sig)
{
	if (!cgs_real_ready())
		cgs_real_resolve();
	if (!dump_sig || sig != dump_sig)
		return cgs_real.sigignore(sig);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	return dump_sigaction(&sa, NULL);
}

CGS_EXPORT int siginterrupt(int sig, int interrupt)
{
	if (!cgs_real_ready())
		cgs_real_resolve();
	if (!dump_sig || sig != dump_sig)
		return cgs_real.siginterrupt(sig, interrupt);
	struct sigaction sa;
	if (dump_sigaction(NULL, &sa) < 0)
		return -1;
	prog_interrupt = interrupt != 0;
	if (interrupt)
		sa.sa_flags &= ~SA_RESTART;
	else
		sa.sa_flags |= SA_RESTART;
	return dump_sigaction(&sa, NULL) < 0 ? -1 : 0;
}
