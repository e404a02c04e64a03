/* signal.c - the dump signal, kept working under programs that install
 * their own handlers (Go does, through libc's sigaction: PITFALLS item 14).
 *
 * The shim's handler stays installed for the dump signal. When the program
 * installs a handler for that signal (sigaction, signal, sysv_signal,
 * bsd_signal), the shim keeps it as the program's handler and chains to it
 * after asking for a dump; a query returns the program's own view, as if
 * the shim were not there. The handler does only async-signal-safe work: one
 * atomic increment and a futex wake in the shared region. The watcher
 * process does the rest. */
#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "shim.h"

static int dump_sig;                  /* 0 until installed */
static struct sigaction prog_action;  /* what the program believes is installed */

uint32_t cgs_dump_request(int trigger)
{
	struct cgs_region *r = cgs_R;
	if (!r)
		return 0;
	r->last_trigger = (uint32_t)trigger;
	uint32_t seq = __atomic_add_fetch(&r->dump_req, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &r->dump_req, FUTEX_WAKE, 1, NULL, NULL, 0);
	return seq;
}

static void handler(int sig, siginfo_t *info, void *ctx)
{
	int saved = errno;
	if (cgs_R) {
		cgs_count(&cgs_R->counters.signals);
		cgs_dump_request(CGS_TRIGGER_SIGNAL);
	}
	errno = saved;
	struct sigaction pa = prog_action;
	if (pa.sa_flags & SA_SIGINFO) {
		if (pa.sa_sigaction)
			pa.sa_sigaction(sig, info, ctx);
	} else if (pa.sa_handler != SIG_DFL && pa.sa_handler != SIG_IGN) {
		pa.sa_handler(sig);
	}
	if (pa.sa_flags & SA_RESETHAND) {
		prog_action.sa_handler = SIG_DFL;
		prog_action.sa_flags = 0;
	}
}

/* Install the shim's handler with the program's mask and flags. */
static int install(const struct sigaction *prog)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	if (prog) {
		sa.sa_mask = prog->sa_mask;
		sa.sa_flags |= prog->sa_flags & (SA_NODEFER);
		if (!(prog->sa_flags & SA_RESTART) && prog->sa_handler != SIG_DFL && prog->sa_handler != SIG_IGN)
			sa.sa_flags &= ~SA_RESTART;
	} else {
		sigemptyset(&sa.sa_mask);
	}
	return cgs_real.sigaction(dump_sig, &sa, NULL);
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
	if (old.sa_handler == SIG_IGN && !(old.sa_flags & SA_SIGINFO)) {
		/* Inherited as ignored (nohup and the like): a dump is still asked for. */
	}
	prog_action = old;
	dump_sig = sig;
	if (install(&old))
		dump_sig = 0;
}

CGS_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (!cgs_real_ready())
		cgs_real_resolve();
	if (!dump_sig || sig != dump_sig)
		return cgs_real.sigaction(sig, act, old);
	struct sigaction prev = prog_action;
	if (act) {
		/* Validate as the kernel would, through the real call on a query. */
		prog_action = *act;
		if (install(act)) {
			prog_action = prev;
			return -1;
		}
	}
	if (old)
		*old = prev;
	return 0;
}

static sighandler_t replace(int sig, sighandler_t h, int flags)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, &old))
		return SIG_ERR;
	return old.sa_handler;
}

CGS_EXPORT sighandler_t signal(int sig, sighandler_t h)
{
	if (!cgs_real_ready())
		cgs_real_resolve();
	if (!dump_sig || sig != dump_sig)
		return cgs_real.signal(sig, h);
	return replace(sig, h, SA_RESTART); /* glibc's signal() is BSD-style */
}

sighandler_t bsd_signal(int sig, sighandler_t h);
CGS_EXPORT sighandler_t bsd_signal(int sig, sighandler_t h)
{
	if (!cgs_real_ready())
		cgs_real_resolve();
	if (!dump_sig || sig != dump_sig)
		return cgs_real.bsd_signal(sig, h);
	return replace(sig, h, SA_RESTART);
}

CGS_EXPORT sighandler_t sysv_signal(int sig, sighandler_t h)
{
	if (!cgs_real_ready())
		cgs_real_resolve();
	if (!dump_sig || sig != dump_sig)
		return cgs_real.sysv_signal(sig, h);
	return replace(sig, h, SA_RESETHAND | SA_NODEFER);
}
