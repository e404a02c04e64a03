/* test_go_signals.c - live reports on SIGUSR2 in a Go program, and Go's own
 * signal handling left intact.
 *
 * Go installs its handlers through libc's sigaction and drops a SIGUSR2 the
 * program did not ask for (PITFALLS item 14), so a shim that only installs
 * its handler at start-up never sees one. tests/integration/go/sigprog runs
 * for 2 s calling into C; the test sends it SIGUSR2 10 times, 100 ms apart,
 * and wants exactly 10 live reports and 1 final one. With -notify the
 * program receives SIGUSR2 through signal.Notify and prints how many it
 * got: it must be 10, as without the shim. SIGINT must still end the
 * program the way it does without the shim. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "go_util.h"

#define NSIG_SENT 10

struct sender {
	char ready[256]; /* the program creates this file once set up */
	int sig;
	int count;
	bool saw_ready;
};

/* harness "during" hook: wait for the program to be ready, then signal it. */
static int send_signals(int pid, void *arg)
{
	struct sender *s = arg;
	s->saw_ready = wait_file(s->ready, 30000);
	if (!s->saw_ready)
		return -1;
	for (int i = 0; i < s->count; i++) {
		kill(pid, s->sig);
		msleep(100);
	}
	return 0;
}

static void sender_init(struct sender *s, int sig, int count)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->ready, sizeof(s->ready), "/tmp/cgoshim-go-ready-%d-%d", (int)getpid(), rand());
	unlink(s->ready);
	s->sig = sig;
	s->count = count;
}

/* Run sigprog (with or without -notify) under the shim, or without it,
 * sending it count signals sig. */
static void run_sigprog(bool notify, bool preload, int sig, int count, struct hrun *r)
{
	struct sender s;
	sender_init(&s, sig, count);
	const char *argv[] = { hbin("sigprog"), "-ready", s.ready, "-d", "2s", notify ? "-notify" : NULL, NULL };
	struct hopts o = { .no_preload = !preload, .during = send_signals, .arg = &s, .timeout_s = 60 };
	ck_assert_msg(hrun(argv, &o, r) == 0, "sigprog timed out");
	unlink(s.ready);
	ck_assert_msg(s.saw_ready, "sigprog never became ready (stderr: %s)", r->err);
}

/* Exactly count live reports and one final report, all of r's pid. */
static void check_reports(struct hrun *r, int count)
{
	size_t n;
	json_t **v = hreports(r, &n);
	int live = 0, final = 0, other = 0;
	for (size_t i = 0; i < n; i++) {
		if (jint(v[i], "pid") != r->pid) {
			other++;
			continue;
		}
		if (json_is_true(json_object_get(v[i], "final"))) {
			final++;
		} else {
			live++;
			ck_assert_str_eq(jstr(v[i], "trigger"), "signal");
		}
	}
	printf("%d live reports, %d final, %d of other processes (%zu files)\n", live, final, other, r->nreports);
	fflush(stdout);
	ck_assert_int_eq(n, r->nreports);
	ck_assert_int_eq(other, 0);
	ck_assert_int_eq(final, 1);
	ck_assert_msg(r->final, "no final report");
	/* Requests that arrive while a dump is written are answered by that
	 * dump and counted: every signal is accounted for. */
	long long coalesced = jint(json_object_get(r->final, "counters"), "dumps_coalesced");
	ck_assert_int_eq(live + coalesced, count);
	ck_assert_int_eq(jint(json_object_get(r->final, "counters"), "signals"), count);
	ck_assert_int_gt(hcount(r->final, "read"), 0);
	hreports_free(v, n);
}

START_TEST(usr2_live_reports)
{
	struct hrun r;
	run_sigprog(false, true, SIGUSR2, NSIG_SENT, &r);
	ck_assert_msg(hexited(&r, 0), "sigprog %s; stderr: %s", status_str(r.status), r.err);
	check_reports(&r, NSIG_SENT);
	hrun_free(&r);
}
END_TEST

START_TEST(usr2_notify_still_receives)
{
	char want[64];
	snprintf(want, sizeof(want), "received %d\n", NSIG_SENT);
	struct hrun plain, shim;
	run_sigprog(true, false, SIGUSR2, NSIG_SENT, &plain);
	ck_assert_msg(hexited(&plain, 0), "sigprog without the shim %s", status_str(plain.status));
	ck_assert_msg(strstr(plain.out, want), "without the shim sigprog says: %s", plain.out);

	run_sigprog(true, true, SIGUSR2, NSIG_SENT, &shim);
	ck_assert_msg(hexited(&shim, 0), "sigprog %s; stderr: %s", status_str(shim.status), shim.err);
	ck_assert_msg(strstr(shim.out, want), "under the shim sigprog says: %s", shim.out);
	check_reports(&shim, NSIG_SENT);
	hrun_free(&plain);
	hrun_free(&shim);
}
END_TEST

START_TEST(sigint_ends_as_without)
{
	struct hrun plain, shim;
	run_sigprog(false, false, SIGINT, 1, &plain);
	run_sigprog(false, true, SIGINT, 1, &shim);
	printf("SIGINT: without the shim %s, under the shim %s\n", status_str(plain.status),
	       status_str(shim.status));
	fflush(stdout);
	/* Go's default for SIGINT is to die of it: the program must not run on. */
	ck_assert_msg(!hexited(&plain, 0), "without the shim SIGINT did not end sigprog");
	ck_assert_int_eq(WIFEXITED(shim.status), WIFEXITED(plain.status));
	ck_assert_int_eq(WIFSIGNALED(shim.status), WIFSIGNALED(plain.status));
	if (WIFEXITED(plain.status))
		ck_assert_int_eq(WEXITSTATUS(shim.status), WEXITSTATUS(plain.status));
	if (WIFSIGNALED(plain.status))
		ck_assert_int_eq(WTERMSIG(shim.status), WTERMSIG(plain.status));
	ck_assert_msg(shim.final, "no final report after SIGINT");
	ck_assert_str_eq(shim.out, plain.out);
	hrun_free(&plain);
	hrun_free(&shim);
}
END_TEST

int main(int argc, char **argv)
{
	const struct go_case cases[] = {
		{ "usr2", usr2_live_reports },
		{ "notify", usr2_notify_still_receives },
		{ "sigint", sigint_ends_as_without },
	};
	srand((unsigned)getpid());
	return go_main(argc, argv, "go-signals", cases, sizeof(cases) / sizeof(cases[0]));
}
