/* test_stress.c - the stress program under the shim, with the dump signal
 * arriving every 5 ms (suite "stress").
 *
 * What a user would check after such a run:
 * - the program did not hang: a watchdog gives it STRESS_SECONDS + 60 s,
 *   then prints the stacks of its processes (gdb), kills it and fails;
 * - it did not crash and found nothing wrong with any call it made;
 * - every report written during the run parses: each is read with jansson
 *   as it appears, then removed (so a long soak does not fill the disk);
 *   the first few, every child's and the final one also go through
 *   tests/unit/check_json.py; live reports have distinct sequence numbers
 *   with no gap before the final one; every dump request was answered by
 *   a live report, or counted as coalesced into one, or answered by the
 *   final report at the exit;
 * - the final report comes within a minute of the exit, and is exact: the
 *   leaks the program made on purpose (blocks of 31337 bytes, which it
 *   counts) equal the report's sites of that size; the calls it counted
 *   (entry points libc never calls itself) equal the report's counts; no
 *   free was of a pointer the shim did not know (unknown_frees == 0);
 * - each fork child and each exec'd /bin/true wrote its own final report.
 *
 * STRESS_SECONDS (default 20) sets the duration; scripts/soak.sh runs this
 * same test for longer. The figures go to stdout (README, "Reliability
 * results"). Watchers still busy when the checks are done are killed (by
 * pid: those whose command line holds this run's unique ready-file path). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "rel.h"

#define SIGNAL_EVERY_MS 5
#define KEEP_LIVE 3        /* live reports kept for the schema checker */

struct sig_run {
	struct hrun *r;        /* hrun's result: its dir is known before the program starts */
	char ready[300];
	double deadline;       /* watchdog: give up signalling then */
	bool saw_ready, hung;
	long sent;             /* signals sent */
	long live;             /* live reports of the program parsed */
	long bad;              /* report files that did not parse */
	char bad_name[512];
	unsigned char *seen;   /* seen[seq] for the program's live reports */
	long seen_cap;
	long dup_seq;          /* live reports whose seq came twice */
	long kept;
	long children;         /* final reports of other processes */
	long child_live;       /* live reports of other processes (none expected) */
	long true_finals;      /* of the children's final reports, those of /bin/true */
	char checked[300];     /* parsed files kept for the schema checker go here */
	char final_name[700]; /* the program's final report, parsed once */
	volatile bool stop;    /* tells the signaller thread to stop */
	double exit_time;      /* when the program was seen to have exited */
	double final_at;       /* when its final report was first seen */
	int pid;
};

/* Parse every new report in the directory. The program's live reports are
 * removed once parsed, but for the first KEEP_LIVE; those and the reports
 * of other processes move to the "checked" folder for the schema checker,
 * so that each file is parsed once however long the run. */
static size_t sweep(struct sig_run *s, int pid)
{
	size_t i;
	size_t n;
	char **v = rel_report_names(s->r->dir, &n);
	double until = rel_now() + 2; /* bounded, so the watchdog stays in charge */
	for (i = 0; i < n && rel_now() < until; i++) {
		json_error_t e;
		/* The final report stays in place (it can be large: the heap
		 * section lists every site of the run): parsed once. */
		if (s->final_name[0] && !strcmp(v[i], s->final_name))
			continue;
		json_t *j = json_load_file(v[i], 0, &e);
		if (!j) {
			/* Files appear by rename, complete: this one is not JSON. */
			if (!s->bad++)
				snprintf(s->bad_name, sizeof(s->bad_name), "%s: %s (line %d)", v[i], e.text,
					 e.line);
			continue;
		}
		bool final = json_is_true(json_object_get(j, "final"));
		long long p = rel_jint(j, "pid"), seq = rel_jint(j, "seq");
		bool keep = true;
		if (p == pid && final) {
			keep = false; /* the final report stays where it is */
			if (!s->final_at)
				s->final_at = rel_now();
			snprintf(s->final_name, sizeof(s->final_name), "%s", v[i]);
		} else if (p == pid) {
			s->live++;
			if (seq > 0 && seq < 100000000) {
				if (seq >= s->seen_cap) {
					long cap = (long)(seq + 1) * 2;
					s->seen = realloc(s->seen, (size_t)cap);
					memset(s->seen + s->seen_cap, 0, (size_t)(cap - s->seen_cap));
					s->seen_cap = cap;
				}
				if (s->seen[seq]++)
					s->dup_seq++;
			}
			if (s->kept < KEEP_LIVE)
				s->kept++;
			else {
				unlink(v[i]);
				keep = false;
			}
		} else if (final) {
			s->children++;
			const char *exe = rel_jstr(j, "exe");
			size_t el = strlen(exe);
			if (el >= 5 && !strcmp(exe + el - 5, "/true"))
				s->true_finals++;
		} else {
			s->child_live++;
		}
		if (keep && (p != pid || !final)) {
			const char *base = strrchr(v[i], '/') + 1;
			char to[700];
			snprintf(to, sizeof(to), "%s/%s", s->checked, base);
			rename(v[i], to);
		}
		json_decref(j);
	}
	rel_free_names(v, n);
	return n - i; /* files left for the next sweep */
}

/* Whether the program's report with the highest sequence number is its
 * final one. */
static bool newest_is_final(struct sig_run *s, int pid)
{
	size_t n;
	char **v = rel_report_names(s->r->dir, &n), prefix[32];
	snprintf(prefix, sizeof(prefix), "r.%d.", pid);
	const char *best = NULL;
	long best_seq = -1;
	for (size_t i = 0; i < n; i++) {
		const char *base = strrchr(v[i], '/') + 1;
		if (strncmp(base, prefix, strlen(prefix)))
			continue;
		long seq = atol(base + strlen(prefix));
		if (seq > best_seq) {
			best_seq = seq;
			best = v[i];
		}
	}
	bool final = false;
	if (best) {
		json_error_t e;
		json_t *j = json_load_file(best, 0, &e);
		final = j && json_is_true(json_object_get(j, "final"));
		json_decref(j);
	}
	rel_free_names(v, n);
	return final;
}

/* The signaller thread: the dump signal every SIGNAL_EVERY_MS. */
static void *signaller(void *arg)
{
	struct sig_run *s = arg;
	while (!s->stop) {
		if (kill(s->pid, SIGUSR2) == 0)
			s->sent++;
		rel_msleep(SIGNAL_EVERY_MS);
	}
	return NULL;
}

/* hopts.during: wait for the program to be ready, then signal it (from a
 * thread) until it exits or the watchdog fires; sweep the reports
 * meanwhile. Returns once the program has exited (not yet reaped, so its
 * pid cannot be reused while the signaller runs). */
static int signal_storm(int pid, void *arg)
{
	struct sig_run *s = arg;
	for (int i = 0; i < 3000 && !rel_exited(pid) && access(s->ready, F_OK); i++)
		rel_msleep(10);
	s->saw_ready = access(s->ready, F_OK) == 0;
	if (!s->saw_ready)
		return -1;
	snprintf(s->checked, sizeof(s->checked), "%s/checked", s->r->dir);
	mkdir(s->checked, 0700);
	s->pid = pid;
	pthread_t th;
	if (pthread_create(&th, NULL, signaller, s))
		return -1;
	double next_note = rel_now() + 10;
	while (!rel_exited(pid)) {
		if (rel_now() > s->deadline) {
			s->hung = true;
			printf("stress: watchdog: still running at the deadline; stacks of its processes:\n");
			rel_print_stacks(s->ready);
			break;
		}
		sweep(s, pid);
		if (rel_now() > next_note) {
			fprintf(stderr, "stress: %ld signals sent, %ld live reports, %ld child reports so far\n",
				s->sent, s->live, s->children);
			next_note += 10;
		}
		rel_msleep(250);
	}
	s->exit_time = rel_now();
	s->stop = true;
	pthread_join(th, NULL);
	/* How soon the final report comes (a user waits for it): look only at
	 * the program's newest report file, so a backlog of other files to
	 * parse does not count. */
	for (double until = s->exit_time + 60; !s->hung && !s->final_at && rel_now() < until;) {
		if (newest_is_final(s, pid))
			s->final_at = rel_now();
		else
			rel_msleep(5);
	}
	return s->hung ? -1 : 0;
}

/* The number after "prefix" in out, or -1. */
static long long number_after(const char *out, const char *prefix)
{
	const char *p = strstr(out, prefix);
	return p ? atoll(p + strlen(prefix)) : -1;
}

static const char *const counted[] = {
	"open", "openat", "pread", "readv", "ioctl", "dlopen", "dlclose", "valloc", "pvalloc",
	"reallocarray",
};

START_TEST(storm)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *secs_env = getenv("STRESS_SECONDS");
	double secs = secs_env && atof(secs_env) > 0 ? atof(secs_env) : 20;
	char secs_arg[32];
	snprintf(secs_arg, sizeof(secs_arg), "%g", secs);

	struct hrun r;
	struct sig_run s;
	memset(&s, 0, sizeof(s));
	s.r = &r;
	char rdir[] = "/tmp/cgoshim-stress-XXXXXX";
	ck_assert(mkdtemp(rdir));
	snprintf(s.ready, sizeof(s.ready), "%s/ready", rdir);
	s.deadline = rel_now() + secs + 60;

	const char *argv[] = { hbin("stress"), secs_arg, s.ready, NULL };
	/* hrun returns once the program's stdout and stderr are closed; the
	 * watchers (the program's and its children's) hold stderr until their
	 * final reports are written, so its timeout bounds that too. */
	struct hopts o = { .during = signal_storm, .arg = &s, .timeout_s = 60 };
	double t0 = rel_now();
	int rc = hrun(argv, &o, &r);
	double ran = rel_now() - t0;

	printf("stress: %s", r.out);
	if (r.err[0])
		printf("stress stderr: %.2000s\n", r.err);
	const char *early = !s.saw_ready ? "the program never got going"
		: s.hung ? "watchdog: the program was still running 60 s after it should have ended, and was killed"
		: !hexited(&r, 0) ? "the program failed"
		: rc ? "watchers still held the program's stderr 60 s after the program ended (final reports not written)"
		: NULL;
	if (early) {
		rel_kill_watchers(s.ready);
		ck_abort_msg("%s (ran %.0f s, status %#x); stderr: %.2000s", early, ran, r.status, r.err);
	}

	/* The final report comes a moment after the exit (hrun waited 10 s);
	 * a user would give up on it well before a minute. */
	json_t *final = r.final ? json_incref(r.final) : rel_wait_final(r.dir, r.pid, 50000);
	double final_wait = (s.final_at ? s.final_at : rel_now()) - s.exit_time;
	if (!final) {
		int busy = rel_kill_watchers(s.ready);
		ck_abort_msg("no final report of pid %d within %.0f s of its exit (%d watcher processes still "
			     "busy; %ld dump signals sent, %ld live reports seen)", r.pid, final_wait, busy, s.sent,
			     s.live);
	}
	/* Every report written so far, not two seconds' worth. */
	for (double until = rel_now() + 300; sweep(&s, r.pid) && rel_now() < until;)
		;

	/* Every fork child and exec'd image writes a final report: wait for them. */
	long long forks = number_after(r.out, "fork "), execs = number_after(r.out, "exec ");
	ck_assert(forks >= 0 && execs >= 0);
	/* A fork child the shim could not measure (its locks busy for 2 s
	 * under load) writes no report of its own image, says so in one line
	 * and is counted in this report (fork.c); an exec'd /bin/true after it
	 * is measured afresh. */
	long long unmeasured = hnum(final, "counters.forks_unmeasured");
	long long unmeasured_lines = 0;
	for (const char *p = r.err; (p = strstr(p, "is not measured")); p++)
		unmeasured_lines++;
	long long want_children = forks + 2 * execs - unmeasured; /* an exec: the fork child's image, then /bin/true's */
	for (double until = rel_now() + 60; rel_now() < until && s.children < want_children;) {
		rel_msleep(200);
		sweep(&s, r.pid);
	}

	long long sig_handled = hnum(final, "counters.signals");
	long long coalesced = hnum(final, "counters.dumps_coalesced");
	long long final_seq = rel_jint(final, "seq");
	long long leaked = number_after(r.out, "leaked ");
	long long in_report_bytes = 0;
	long long in_report = rel_sites_of_size(final, REL_SENTINEL, &in_report_bytes);
	long long unknown = hnum(final, "counters.unknown_frees");
	printf("stress figures: ran %.1f s; %ld signals sent, %lld handled, %ld live reports parsed "
	       "(%ld bad), %lld requests coalesced, final seq %lld, final report seen %.1f s after the exit; %lld fork + %lld exec "
	       "children, %ld child final reports; leaked %lld x %d, report %lld (%lld bytes); "
	       "unknown_frees %lld, untracked %lld, region_oom %lld, orphan_calls %lld\n",
	       ran, s.sent, sig_handled, s.live, s.bad, coalesced, final_seq, final_wait, forks, execs, s.children,
	       leaked, REL_SENTINEL, in_report, in_report_bytes, unknown,
	       hnum(final, "counters.untracked_allocs"), hnum(final, "counters.region_oom"),
	       hnum(final, "counters.orphan_calls"));

	/* Gather every problem, then fail once with all of them. */
	char problems[8192] = "";
	size_t used = 0;
#define PROBLEM(...) \
	(used += (size_t)snprintf(problems + used, used < sizeof(problems) ? sizeof(problems) - used : 0, \
				  __VA_ARGS__), used = used < sizeof(problems) ? used : sizeof(problems) - 1)
	if (s.bad)
		PROBLEM("%ld report files do not parse, first: %s\n", s.bad, s.bad_name);
	if (s.dup_seq)
		PROBLEM("%ld live reports repeat a sequence number\n", s.dup_seq);
	/* One live report answers every request pending when it starts
	 * (counted as coalesced); requests pending at the exit are answered
	 * by the final report. */
	if (s.live < 1 || coalesced < 0 || s.live + coalesced > sig_handled)
		PROBLEM("%lld dump signals handled, but %ld live reports and %lld coalesced requests\n",
			sig_handled, s.live, coalesced);
	if (final_seq != s.live + 1)
		PROBLEM("final report seq %lld after %ld live reports\n", final_seq, s.live);
	for (long q = 1; q <= s.live && q < s.seen_cap; q++)
		if (!s.seen[q]) {
			PROBLEM("live report seq %ld is missing\n", q);
			break;
		}
	if (leaked < 0 || in_report != leaked || in_report_bytes != leaked * REL_SENTINEL)
		PROBLEM("the program leaked %lld blocks of %d bytes; the final report shows %lld (%lld bytes)\n",
			leaked, REL_SENTINEL, in_report, in_report_bytes);
	if (unknown != 0)
		PROBLEM("counters.unknown_frees is %lld, not 0\n", unknown);
	for (size_t i = 0; i < sizeof(counted) / sizeof(counted[0]); i++) {
		char prefix[64];
		snprintf(prefix, sizeof(prefix), "calls %s ", counted[i]);
		/* meson builds with _FILE_OFFSET_BITS=64: open is open64 and so on. */
		char fn64[64];
		snprintf(fn64, sizeof(fn64), "%s64", counted[i]);
		long long want = number_after(r.out, prefix), got = hcount(final, counted[i]) + hcount(final, fn64);
		if (want != got)
			PROBLEM("%s: the program made %lld calls, the report counts %lld\n", counted[i], want, got);
	}
	if (unmeasured_lines != unmeasured)
		PROBLEM("%lld lines say a fork child is not measured, the report counts %lld\n", unmeasured_lines,
			unmeasured);
	if (s.children != want_children)
		PROBLEM("%ld final reports of child images; %lld forks and %lld execs, %lld unmeasured, make %lld "
			"(images of this program: %ld of %lld; of /bin/true: %ld of %lld)\n", s.children, forks, execs,
			unmeasured, want_children, s.children - s.true_finals, forks + execs - unmeasured,
			s.true_finals, execs);
	if (s.child_live)
		PROBLEM("%ld live reports of child processes, which were never signalled\n", s.child_live);

	/* The schema checker: the kept live reports, the children's, the final. */
	size_t n;
	char **names = rel_report_names(s.checked, &n);
	names = realloc(names, (n + 1) * sizeof(*names));
	char final_name[600];
	snprintf(final_name, sizeof(final_name), "%s/r.%d.%lld.json", r.dir, r.pid, final_seq);
	names[n++] = strdup(final_name);
	char msg[4096];
	int bad_schema = rel_check_json(names, n, msg, sizeof(msg));
	printf("stress: schema checker on %zu report files (%ld live kept, the final, the children's): "
	       "%d with problems\n", n, s.kept, bad_schema);
	if (bad_schema < 0)
		PROBLEM("the schema checker (check_json.py) could not be run\n");
	else if (bad_schema)
		PROBLEM("%d report files break the schema:\n%.1500s\n", bad_schema, msg);
	rel_free_names(names, n);
	json_decref(final);
	free(s.seen);
	/* A watcher still busy now would write on for nobody: end it. */
	int busy = rel_kill_watchers(s.ready);
	if (busy)
		PROBLEM("%d watcher processes were still running when the checks were done\n", busy);
	unlink(s.ready);
	rmdir(rdir);
	if (!problems[0]) {
		rel_rmdir(s.checked);
		hrun_free(&r);
	} else {
		printf("stress: reports left in %s for a look\n", r.dir);
	}
	ck_assert_msg(!problems[0], "%s", problems);
}
END_TEST

int main(int argc, char **argv)
{
	const struct rel_case cases[] = {
		{ "storm", storm, NULL, 0 },
	};
	return rel_main(argc, argv, "stress", cases, sizeof(cases) / sizeof(cases[0]));
}
