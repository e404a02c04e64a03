/* test_core_dumps.c - live reports on demand (signal and API).
 *
 * A user sends the dump signal to a busy program and expects one intact
 * report per signal, while the program carries on as if nothing happened
 * (PITFALLS item 6). A program with its own handler for that signal must
 * still see every signal and see its own handler when it asks (item 14).
 * cgoshim_dump_wait() must return only once the report is on disk, also
 * when called first thing in main. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core_util.h"

struct signaller {
	char ready[300];   /* file the program creates when it is ready */
	char stop[300];    /* file created after the last signal */
	int nsig;          /* signals to send, 100 ms apart */
	int sent;
	bool timed_out;
};

/* hopts.during: wait for the ready file, then send the signals. */
static int send_signals(int pid, void *arg)
{
	struct signaller *s = arg;
	int i;
	for (i = 0; i < 1000 && access(s->ready, F_OK); i++)
		msleep(10);
	if (i == 1000) {
		s->timed_out = true;
		return -1;
	}
	for (int k = 0; k < s->nsig; k++) {
		if (kill(pid, SIGUSR2) == 0)
			s->sent++;
		msleep(100);
	}
	FILE *f = fopen(s->stop, "w");
	if (f)
		fclose(f);
	return 0;
}

static void signaller_init(struct signaller *s, int nsig)
{
	char dir[] = "/tmp/cgoshim-ready-XXXXXX";
	ck_assert(mkdtemp(dir));
	memset(s, 0, sizeof(*s));
	snprintf(s->ready, sizeof(s->ready), "%s/ready", dir);
	snprintf(s->stop, sizeof(s->stop), "%s/stop", dir);
	s->nsig = nsig;
}

static void signaller_done(struct signaller *s)
{
	unlink(s->ready);
	unlink(s->stop);
	char *slash = strrchr(s->ready, '/');
	*slash = 0;
	rmdir(s->ready);
}

/* Check the reports of r: every file parses, one final, and return the
 * number of live (non-final) reports with distinct seq. */
static int check_reports(struct hrun *r, const char *trigger)
{
	size_t n;
	json_t **v = hreports(r, &n);
	ck_assert_msg(n == r->nreports, "%zu report files, %zu parse", r->nreports, n);
	int finals = 0, live = 0;
	long long last_seq = 0;
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(jint(v[i], "pid"), r->pid);
		ck_assert_str_eq(jstr(v[i], "schema"), "cgoshim/1");
		if (json_is_true(json_object_get(v[i], "final"))) {
			finals++;
			continue;
		}
		ck_assert(json_is_false(json_object_get(v[i], "final")));
		ck_assert_str_eq(jstr(v[i], "trigger"), trigger);
		long long seq = jint(v[i], "seq");
		ck_assert_msg(seq > last_seq, "seq %lld after %lld", seq, last_seq);
		last_seq = seq;
		live++;
	}
	ck_assert_int_eq(finals, 1);
	hreports_free(v, n);
	return live;
}

START_TEST(live_signals)
{
	struct signaller s;
	signaller_init(&s, 10);
	struct hrun r, plain;
	const char *argv[] = { hbin("live_dump"), s.ready, s.stop, NULL };
	struct hopts o = { .during = send_signals, .arg = &s };
	ck_assert_int_eq(hrun(argv, &o, &r), 0);
	ck_assert(!s.timed_out);
	ck_assert_int_eq(s.sent, 10);
	unlink(s.ready);
	struct hopts po = { .no_preload = true }; /* the stop file exists: 1.5 s */
	ck_assert_int_eq(hrun(argv, &po, &plain), 0);
	signaller_done(&s);

	ck_assert_msg(hexited(&plain, 7), "live_dump without the shim did not exit 7");
	ck_assert_msg(hexited(&r, 7), "exit status changed: %#x; stderr: %s", r.status, r.err);
	ck_assert_str_eq(r.out, plain.out);
	ck_assert_str_eq(r.err, "");
	ck_assert_msg(r.final, "no final report");
	int live = check_reports(&r, "signal");
	long long coalesced = hnum(r.final, "counters.dumps_coalesced");
	printf("live reports: %d (+%lld coalesced) for 10 signals\n", live, coalesced);
	ck_assert_int_ge(live + coalesced, 10);
	ck_assert_int_ge(hnum(r.final, "counters.signals"), 10);
	ck_assert_int_gt(hcount(r.final, "read"), 0);
	hrun_free(&r);
	hrun_free(&plain);
}
END_TEST

START_TEST(own_handler)
{
	struct signaller s;
	signaller_init(&s, 10);
	struct hrun r, plain;
	const char *argv[] = { hbin("own_sigusr2"), s.ready, "10", NULL };
	struct hopts o = { .during = send_signals, .arg = &s };
	ck_assert_int_eq(hrun(argv, &o, &r), 0);
	ck_assert(!s.timed_out && s.sent == 10);
	unlink(s.ready);
	struct signaller s2;
	signaller_init(&s2, 10);
	const char *pargv[] = { hbin("own_sigusr2"), s2.ready, "10", NULL };
	struct hopts po = { .no_preload = true, .during = send_signals, .arg = &s2 };
	ck_assert_int_eq(hrun(pargv, &po, &plain), 0);
	signaller_done(&s);
	signaller_done(&s2);

	ck_assert_msg(hexited(&plain, 0), "own_sigusr2 failed without the shim");
	ck_assert_str_eq(plain.out, "own_sigusr2: handler ran 10 times\n"
				    "own_sigusr2: sigaction query returns own handler: yes\n"
				    "own_sigusr2: flags SA_RESTART yes\n");
	ck_assert_msg(hexited(&r, 0), "status %#x; stderr: %s", r.status, r.err);
	ck_assert_str_eq(r.out, plain.out);
	ck_assert_msg(r.final, "no final report");
	int live = check_reports(&r, "signal");
	ck_assert_int_eq(live + hnum(r.final, "counters.dumps_coalesced"), 10);
	hrun_free(&r);
	hrun_free(&plain);
}
END_TEST

START_TEST(api_dump_wait)
{
	struct hrun r, plain;
	const char *argv[] = { hbin("dump_wait"), NULL };
	ck_assert_int_eq(hrun(argv, NULL, &r), 0);
	struct hopts po = { .no_preload = true };
	ck_assert_int_eq(hrun(argv, &po, &plain), 0);
	ck_assert(hexited(&plain, 0));
	ck_assert_str_eq(plain.out, "dump_wait: no cgoshim\n");

	ck_assert(hexited(&r, 0));
	ck_assert_str_eq(r.out, "dump_wait: returned 0\ndump_wait: report present: yes\n");
	ck_assert_msg(r.final, "no final report");
	/* The call comes first thing in main, maybe before the shim is fully
	 * up: repeat, so that a race there shows. */
	for (int i = 0; i < 10; i++) {
		struct hrun again;
		ck_assert_int_eq(hrun(argv, NULL, &again), 0);
		ck_assert_msg(!strcmp(again.out, r.out), "run %d: %s", i + 2, again.out);
		hrun_free(&again);
	}
	ck_assert_int_eq(check_reports(&r, "api"), 1);
	size_t n;
	json_t **v = hreports(&r, &n);
	json_t *live = NULL;
	for (size_t i = 0; i < n; i++)
		if (!json_is_true(json_object_get(v[i], "final")))
			live = v[i];
	ck_assert(live);
	ck_assert_int_eq(jint(live, "seq"), 1);
	long long c, b;
	sites_at_fn(live, "before_dump", &c, &b);
	ck_assert_int_eq(c, 3);
	ck_assert_int_eq(b, 3 * 6161);
	hreports_free(v, n);
	hrun_free(&r);
	hrun_free(&plain);
}
END_TEST

int main(int argc, char **argv)
{
	const struct core_case cases[] = {
		{ "live", live_signals, NULL },
		{ "own-handler", own_handler, NULL },
		{ "api", api_dump_wait, NULL },
	};
	return core_main(argc, argv, "core-dumps", cases, sizeof(cases) / sizeof(cases[0]));
}
