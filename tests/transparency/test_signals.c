/* test_signals.c - the dump signal's semantics and seccomp filters, the same
 * with and without the shim (suite "transparency"; issue 13, items 1 and 9).
 *
 *	test_signals CASE
 *
 * Each case runs one program twice, as is and with libcgoshim.so preloaded
 * (JSON reports to a temporary directory), and requires the same exit
 * status (or terminating signal), stdout and stderr. The programs print
 * what they observe:
 *   sigsem-*   tests/transparency/sigsem.c: SIG_DFL kills, SA_RESETHAND,
 *              the SysV re-arm idiom, SIG_IGN (poll not interrupted, a
 *              pending signal discarded), SA_ONSTACK only when asked,
 *              read-back fields, sigset/siginterrupt/sigignore, SIG_ERR;
 *              a fork child without a shim of its own (CGOSHIM_CHILDREN=0)
 *              raising the signal it never set dies of it; a flood of the
 *              signal while the program switches handlers and SIG_IGN.
 *   bash-ign   bash -c 'trap "" USR2; bash -c "trap -p USR2"': an ignored
 *              signal stays ignored across exec.
 *   seccomp-*  tests/transparency/seccomp_prog.c: a strict allowlist
 *              installed with prctl (or syscall(SYS_seccomp)) after some
 *              calls, then reads, mallocs, threads, new descriptors.
 * Where the shim gave something up, its report must say so: the final
 * report's shim.signal_dumps names the disposition the program set, and
 * shim.seccomp says when the filter went in. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "rel.h"

struct scase {
	const char *name;
	const char *prog;      /* helper in CGOSHIM_TEST_BINDIR, or an absolute path */
	const char *const *args;
	const char *report_has; /* substring of shim.signal_dumps or shim.seccomp, or NULL */
	const char *field;
	const char *const *env;  /* extra settings for the run under the shim, or NULL */
	long long reads;         /* read calls the final report must count (measured on), or -1 */
	bool skipped;            /* counters.seccomp_skipped must be > 0 */
};

static const char *status_str(int st, char *buf, size_t cap)
{
	if (WIFEXITED(st))
		snprintf(buf, cap, "exit %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, cap, "killed by signal %d", WTERMSIG(st));
	else
		snprintf(buf, cap, "status %#x", st);
	return buf;
}

static const struct scase *current;

START_TEST(same_observations)
{
	const struct scase *c = current;
	const char *argv[16];
	size_t n = 0;
	argv[n++] = c->prog[0] == '/' ? c->prog : hbin(c->prog);
	for (size_t i = 0; c->args[i] && n < 15; i++)
		argv[n++] = c->args[i];
	argv[n] = NULL;

	struct hrun plain, shim;
	struct hopts po = { .no_preload = true, .timeout_s = 60 };
	struct hopts so = { .timeout_s = 60, .env = c->env };
	ck_assert_msg(hrun(argv, &po, &plain) == 0, "%s did not finish without the shim", c->name);
	ck_assert_msg(hrun(argv, &so, &shim) == 0, "%s did not finish under the shim", c->name);
	char a[64], b[64];
	printf("%s: without the shim %s, with it %s\n", c->name, status_str(plain.status, a, sizeof(a)),
	       status_str(shim.status, b, sizeof(b)));
	printf("--- without the shim:\n%s--- with it:\n%s", plain.out, shim.out);
	ck_assert_msg(plain.status == shim.status, "%s: %s under the shim, %s without", c->name, b, a);
	ck_assert_msg(!strcmp(plain.out, shim.out), "%s: stdout differs under the shim (see above)", c->name);
	ck_assert_msg(!strcmp(plain.err, shim.err), "%s: stderr differs under the shim:\n%s\nwithout:\n%s", c->name,
		      shim.err, plain.err);
	if (c->report_has) {
		ck_assert_msg(shim.final != NULL, "%s: no final report", c->name);
		const char *note = rel_jstr(json_object_get(shim.final, "shim"), c->field);
		printf("report shim.%s: %s\n", c->field, note ? note : "(none)");
		ck_assert_msg(note && strstr(note, c->report_has), "%s: the report's shim.%s is \"%s\", not about \"%s\"",
			      c->name, c->field, note ? note : "", c->report_has);
	}
	if (c->reads >= 0) {
		ck_assert_msg(shim.final != NULL, "%s: no final report", c->name);
		long long reads = hcount(shim.final, "read");
		long long skipped = hnum(shim.final, "counters.seccomp_skipped");
		printf("report: %lld reads counted, %lld system calls skipped\n", reads, skipped);
		ck_assert_msg(reads == c->reads, "%s: %lld reads in the report, the program made %lld%s", c->name,
			      reads, c->reads, c->skipped ? "" : " before strict mode");
		if (c->skipped)
			ck_assert_msg(skipped > 0, "%s: counters.seccomp_skipped is %lld", c->name, skipped);
	}
	hrun_free(&plain);
	hrun_free(&shim);
}
END_TEST

#define SIGSEM(n, has) { "sigsem-" n, "sigsem", (const char *const[]){ n, NULL }, has, "signal_dumps", NULL, -1, false }
static const struct scase cases[] = {
	SIGSEM("dfl", "set SIG_DFL"),
	SIGSEM("dfl-after-handler", "set SIG_DFL"),
	SIGSEM("resethand", "SA_RESETHAND"),
	SIGSEM("resethand-siginfo", "SA_RESETHAND"),
	SIGSEM("sysv-rearm", "installed a handler again"),
	SIGSEM("signal-rearm", NULL),
	SIGSEM("ign-poll", "set SIG_IGN"),
	SIGSEM("ign-discard", "installed a handler again"),
	SIGSEM("onstack", NULL),
	SIGSEM("readback", NULL),
	SIGSEM("sigset", "set SIG_DFL"),
	SIGSEM("sig-err", NULL),
	SIGSEM("toggle-flood", NULL),
	{ "sigsem-child-untouched", "sigsem", (const char *const[]){ "child-untouched", NULL }, NULL, NULL,
	  (const char *const[]){ "CGOSHIM_CHILDREN=0", NULL }, -1, false },
	{ "bash-ign", "/bin/bash", (const char *const[]){ "-c", "trap '' USR2; /bin/bash -c 'trap -p USR2'", NULL },
	  NULL, NULL, NULL, -1, false },
	/* 63 reads: 4 + a thread's 10 before the filter, 8 + 1 + 4 threads' 10
	 * after (the child's are its own); strict mode: the 14 before. */
	{ "seccomp-prctl", "seccomp_prog", (const char *const[]){ "prctl", NULL }, "filter installed at", "seccomp",
	  NULL, 63, true },
	{ "seccomp-syscall", "seccomp_prog", (const char *const[]){ "syscall", NULL }, "filter installed at",
	  "seccomp", NULL, 63, true },
	{ "seccomp-strict", "seccomp_prog", (const char *const[]){ "strict", NULL }, "strict mode at", "seccomp",
	  NULL, 14, false },
	/* 23 reads: the 14 before, 8 + 1 after; no thread after the filter. */
	{ "seccomp-nofutex", "seccomp_prog", (const char *const[]){ "nofutex", NULL }, "filter installed at",
	  "seccomp", NULL, 23, true },
};

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2) {
		fprintf(stderr, "usage: test_signals CASE\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (strcmp(argv[1], cases[i].name))
			continue;
		current = &cases[i];
		if (!getenv("CGOSHIM_TEST_LIB"))
			rel_skip("CGOSHIM_TEST_LIB is not set (run through meson test)");
		if (current->prog[0] == '/' && access(current->prog, X_OK))
			rel_skip("bash is not installed");
		const struct rel_case c[] = { { current->name, same_observations, NULL, 0 } };
		return rel_main(argc, argv, "transparency-signals", c, 1);
	}
	fprintf(stderr, "test_signals: no case named %s\n", argv[1]);
	return 2;
}
