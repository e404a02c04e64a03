/* sigsem.c - what a program sees of SIGUSR2's semantics (issue 13, item 1).
 *
 * Usage: sigsem CASE. Each case sets SIGUSR2's disposition some way, raises
 * or sends it, and prints what it observes: handler runs, read-back fields
 * (sigaction's oldact: handler, flags, mask, restorer compared with the one
 * glibc gives SIGUSR1), poll results, pending sets. Some cases end killed
 * by the signal, as they do without the shim. test_signals.c runs each
 * with and without the shim and compares output and status. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#ifndef SA_UNSUPPORTED
#define SA_UNSUPPORTED 0x00000400
#endif
#ifndef SA_EXPOSE_TAGBITS
#define SA_EXPOSE_TAGBITS 0x00000800
#endif

/* glibc declares it only without _GNU_SOURCE's newer defaults. */
extern sighandler_t bsd_signal(int, sighandler_t);

static volatile sig_atomic_t runs, on_alt;

static void h(int sig)
{
	(void)sig;
	runs++;
}

static void h_info(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)si;
	(void)ctx;
	runs++;
}

static void h_rearm(int sig)
{
	runs++;
	sysv_signal(sig, h_rearm);
}

static void h_signal_rearm(int sig)
{
	runs++;
	signal(sig, h_signal_rearm);
}

static void h_stack(int sig)
{
	(void)sig;
	stack_t ss;
	if (sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK))
		on_alt = 1;
	runs++;
}

static const char *hname(void *p)
{
	if (p == (void *)SIG_DFL)
		return "SIG_DFL";
	if (p == (void *)SIG_IGN)
		return "SIG_IGN";
	if (p == (void *)h || p == (void *)h_info)
		return "h";
	if (p == (void *)h_rearm || p == (void *)h_signal_rearm)
		return "h_rearm";
	if (p == (void *)h_stack)
		return "h_stack";
	return "other";
}

static void *usr1_restorer;

/* One line with every field of the kernel's answer for SIGUSR2. */
static void show(const char *what)
{
	struct sigaction o;
	memset(&o, 0x5a, sizeof(o));
	int rc = sigaction(SIGUSR2, NULL, &o);
	printf("%s: rc %d handler %s flags %#x restorer %s mask", what, rc,
	       hname((o.sa_flags & SA_SIGINFO) ? (void *)o.sa_sigaction : (void *)o.sa_handler),
	       (unsigned)o.sa_flags,
	       o.sa_restorer == NULL ? "NULL" : o.sa_restorer == usr1_restorer ? "glibc's" : "other");
	for (int s = 1; s < 65; s++)
		if (sigismember(&o.sa_mask, s) == 1)
			printf(" %d", s);
	printf(" | runs %d\n", (int)runs);
	fflush(stdout);
}

static void set(void (*fn)(int), int flags, const int *mask)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	for (; mask && *mask; mask++)
		sigaddset(&sa.sa_mask, *mask);
	if (sigaction(SIGUSR2, &sa, NULL))
		printf("sigaction failed: %s\n", strerror(errno));
}

static void *kill_later(void *arg)
{
	(void)arg;
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	kill(getpid(), SIGUSR2);
	return NULL;
}

static volatile int stop_flood;

static void *flood(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20000 && !stop_flood; i++)
		kill(getpid(), SIGUSR2);
	return NULL;
}

static int pending_usr2(void)
{
	sigset_t p;
	sigemptyset(&p);
	sigpending(&p);
	return sigismember(&p, SIGUSR2);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return 2;
	const char *c = argv[1];
	{
		struct sigaction sa, o;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = h;
		sigaction(SIGUSR1, &sa, NULL);
		sigaction(SIGUSR1, NULL, &o);
		usr1_restorer = (void *)o.sa_restorer;
	}
	show("start");

	if (!strcmp(c, "dfl")) {
		/* SIG_DFL set explicitly: the default action kills. */
		set(SIG_DFL, 0, NULL);
		show("after SIG_DFL");
		raise(SIGUSR2);
		printf("survived\n");
	} else if (!strcmp(c, "dfl-after-handler")) {
		set(h, SA_RESTART, NULL);
		raise(SIGUSR2);
		show("handler");
		signal(SIGUSR2, SIG_DFL);
		show("after signal(SIG_DFL)");
		raise(SIGUSR2);
		printf("survived\n");
	} else if (!strcmp(c, "resethand")) {
		set(h, SA_RESETHAND, NULL);
		show("installed");
		raise(SIGUSR2);
		show("after first");
		raise(SIGUSR2);
		printf("survived\n");
	} else if (!strcmp(c, "resethand-siginfo")) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = h_info;
		sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR2, &sa, NULL);
		raise(SIGUSR2);
		show("after first");
		raise(SIGUSR2);
		printf("survived\n");
	} else if (!strcmp(c, "sysv-rearm")) {
		sysv_signal(SIGUSR2, h_rearm);
		show("installed");
		for (int i = 0; i < 5; i++)
			raise(SIGUSR2);
		show("after 5");
	} else if (!strcmp(c, "signal-rearm")) {
		signal(SIGUSR2, h_signal_rearm);
		show("installed");
		for (int i = 0; i < 5; i++)
			raise(SIGUSR2);
		show("after 5");
	} else if (!strcmp(c, "ign-poll")) {
		/* An ignored signal interrupts nothing. */
		set(SIG_IGN, 0, NULL);
		pthread_t t;
		pthread_create(&t, NULL, kill_later, NULL);
		errno = 0;
		int r = poll(NULL, 0, 300);
		printf("poll: %d errno %s\n", r, r < 0 ? strerror(errno) : "-");
		pthread_join(t, NULL);
		show("after");
	} else if (!strcmp(c, "ign-discard")) {
		/* Setting SIG_IGN discards a pending signal. */
		set(h, 0, NULL);
		sigset_t b;
		sigemptyset(&b);
		sigaddset(&b, SIGUSR2);
		sigprocmask(SIG_BLOCK, &b, NULL);
		raise(SIGUSR2);
		printf("pending before SIG_IGN: %d\n", pending_usr2());
		set(SIG_IGN, 0, NULL);
		printf("pending after SIG_IGN: %d\n", pending_usr2());
		set(h, 0, NULL);
		sigprocmask(SIG_UNBLOCK, &b, NULL);
		show("unblocked");
	} else if (!strcmp(c, "onstack")) {
		static char alt[1 << 16];
		stack_t ss = { .ss_sp = alt, .ss_size = sizeof(alt), .ss_flags = 0 };
		sigaltstack(&ss, NULL);
		set(h_stack, 0, NULL);
		raise(SIGUSR2);
		printf("without SA_ONSTACK: ran on the alternate stack: %d\n", (int)on_alt);
		on_alt = 0;
		set(h_stack, SA_ONSTACK, NULL);
		raise(SIGUSR2);
		printf("with SA_ONSTACK: ran on the alternate stack: %d\n", (int)on_alt);
		show("after");
	} else if (!strcmp(c, "readback")) {
		static const int m[] = { SIGKILL, SIGSTOP, SIGINT, SIGTERM, 0 };
		set(h, SA_RESTART, m);
		show("mask with KILL STOP INT TERM");
		struct sigaction sa, o;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = h_info;
		sa.sa_flags = SA_SIGINFO | SA_UNSUPPORTED | SA_EXPOSE_TAGBITS;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR2, &sa, &o);
		show("SA_UNSUPPORTED probe");
		printf("old: handler %s flags %#x\n", hname((void *)o.sa_handler), (unsigned)o.sa_flags);
		sighandler_t prev = signal(SIGUSR2, h);
		printf("signal returned %s\n", hname((void *)prev));
		show("signal()");
		prev = bsd_signal(SIGUSR2, h);
		printf("bsd_signal returned %s\n", hname((void *)prev));
		show("bsd_signal()");
		prev = sysv_signal(SIGUSR2, h);
		printf("sysv_signal returned %s\n", hname((void *)prev));
		show("sysv_signal()");
		set(h, SA_NODEFER | SA_ONSTACK, NULL);
		show("SA_NODEFER|SA_ONSTACK");
	} else if (!strcmp(c, "sigset")) {
		sighandler_t r = sigset(SIGUSR2, h);
		printf("sigset returned %s\n", hname((void *)r));
		show("sigset(h)");
		raise(SIGUSR2);
		r = sigset(SIGUSR2, SIG_HOLD);
		printf("sigset(SIG_HOLD) returned %s\n", r == SIG_HOLD ? "SIG_HOLD" : hname((void *)r));
		raise(SIGUSR2);
		printf("pending while held: %d\n", pending_usr2());
		r = sigset(SIGUSR2, h);
		printf("sigset(h) returned %s\n", r == SIG_HOLD ? "SIG_HOLD" : hname((void *)r));
		show("released");
		siginterrupt(SIGUSR2, 1);
		show("siginterrupt 1");
		signal(SIGUSR2, h);
		show("signal() after siginterrupt 1");
		siginterrupt(SIGUSR2, 0);
		show("siginterrupt 0");
		sigignore(SIGUSR2);
		show("sigignore");
		r = sigset(SIGUSR2, SIG_DFL);
		printf("sigset(SIG_DFL) returned %s\n", hname((void *)r));
		show("sigset(SIG_DFL)");
		raise(SIGUSR2);
		printf("survived\n");
	} else if (!strcmp(c, "sig-err")) {
		set(h, 0, NULL);
		errno = 0;
		sighandler_t r = signal(SIGUSR2, SIG_ERR);
		printf("signal(SIG_ERR): %s errno %s\n", r == SIG_ERR ? "SIG_ERR" : hname((void *)r), strerror(errno));
		errno = 0;
		r = sysv_signal(SIGUSR2, SIG_ERR);
		printf("sysv_signal(SIG_ERR): %s errno %s\n", r == SIG_ERR ? "SIG_ERR" : hname((void *)r),
		       strerror(errno));
		raise(SIGUSR2);
		show("after raise");
	} else if (!strcmp(c, "toggle-flood")) {
		/* One thread sends SIGUSR2 20000 times while the main thread
		 * switches between a handler (with and without SA_SIGINFO) and
		 * SIG_IGN: nothing may crash or be left half-set. */
		set(h, SA_RESTART, NULL);
		pthread_t t;
		pthread_create(&t, NULL, flood, NULL);
		for (int i = 0; i < 20000; i++) {
			if (i % 3 == 0) {
				set(SIG_IGN, 0, NULL);
			} else if (i % 3 == 1) {
				struct sigaction sa;
				memset(&sa, 0, sizeof(sa));
				sa.sa_sigaction = h_info;
				sa.sa_flags = SA_SIGINFO;
				sigemptyset(&sa.sa_mask);
				sigaction(SIGUSR2, &sa, NULL);
			} else {
				set(h, SA_RESTART, NULL);
			}
		}
		stop_flood = 1;
		pthread_join(t, NULL);
		set(h, SA_RESTART, NULL);
		runs = 0; /* how many ran depends on timing */
		show("end");
	} else if (!strcmp(c, "child-untouched")) {
		/* A fork child raises the signal it never set (run with
		 * CGOSHIM_CHILDREN=0: the child has no shim to dump). */
		pid_t pid = fork();
		if (pid == 0) {
			raise(SIGUSR2);
			_exit(0);
		}
		int st = 0;
		waitpid(pid, &st, 0);
		printf("child: %s %d\n", WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	} else {
		fprintf(stderr, "sigsem: no case %s\n", c);
		return 2;
	}
	return 0;
}
