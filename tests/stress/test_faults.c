/* test_faults.c - the program runs on when the world around the shim fails
 * (suite "faults").
 *
 * Each case: the program behaves as without the shim (same output, same
 * exit status, no hang), and the shim says what it lost, in one line on
 * stderr or in the report. Cases:
 *   fds           every descriptor is taken (RLIMIT_NOFILE) when a report is
 *                 asked for and when the program forks (fdfill.c): the
 *                 program's descriptors stay as it left them, the reports
 *                 are still written (the watcher is another process, with
 *                 its own descriptors) and the final one is exact.
 *   disk-full     the output directory is a full 64 KiB tmpfs: one line on
 *                 stderr, no file (not even a partial or temporary one) left
 *                 behind, the program unharmed; with room again, the report
 *                 is written. Needs root (mount); skipped otherwise.
 *   sigfork-heap, sigfork-io
 *                 the program forks inside a SIGALRM handler, 100 times,
 *                 while its only thread calls malloc/free or read/close
 *                 (sigfork.c): same output and status as without the shim,
 *                 within two minutes (each child has its own watcher and
 *                 report under the shim, a fraction of a second each).
 *   thread-waves  threads keep exiting (their shim blocks are released and
 *                 reused) while the dump signal asks for a report every 2 ms
 *                 (threadwaves.c): every live report parses, and its count
 *                 of deliberate leaks and of malloc calls never goes down
 *                 from one report to the next; the final count is exact.
 * The shim's own memory running out (CGOSHIM_MEMORY=16M with millions of
 * live blocks) is tested in tests/integration/core (core-region-exhaustion);
 * an unwritable output place, a program that closes every descriptor, and
 * one with its own handler for the dump signal are there too. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "rel.h"

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Lines of s that start with "cgoshim:". */
static int shim_lines(const char *s)
{
	int n = 0;
	for (const char *p = s; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		n += !strncmp(p, "cgoshim:", 8);
	return n;
}

static int check_files(const char *dir, char *msg, size_t cap)
{
	size_t n;
	char **v = rel_report_names(dir, &n);
	int bad = rel_check_json(v, n, msg, cap);
	rel_free_names(v, n);
	return bad;
}

/* ---- descriptors exhausted ---- */

START_TEST(fds_exhausted)
{
	const char *argv[] = { hbin("fdfill"), NULL };
	struct hrun r;
	ck_assert_int_eq(hrun(argv, NULL, &r), 0);
	printf("fds: stdout:\n%sstderr:\n%s", r.out, r.err);
	ck_assert_msg(hexited(&r, 0), "status %#x; stdout: %s; stderr: %s", r.status, r.out, r.err);
	ck_assert(strstr(r.out, "then EMFILE\n"));
	ck_assert(strstr(r.out, "fdfill: dump while full: written\n"));
	ck_assert(strstr(r.out, "still EMFILE, reopen gave the lowest free number: yes\n"));
	ck_assert(strstr(r.out, "fdfill: child forked while full: ok\n"));
	ck_assert_msg(r.final, "no final report");
	long long bytes, n = rel_sites_of_size(r.final, REL_SENTINEL, &bytes);
	ck_assert_msg(n == 5 && bytes == 5 * REL_SENTINEL, "final report: %lld sentinel blocks, want 5", n);
	/* The live reports (the signal's and cgoshim_dump_wait's) and the
	 * child's final report: all there, all valid. */
	size_t nr;
	json_t **v = hreports(&r, &nr);
	int live = 0, child_final = 0;
	for (size_t i = 0; i < nr; i++) {
		bool final = json_is_true(json_object_get(v[i], "final"));
		if (rel_jint(v[i], "pid") == r.pid)
			live += !final;
		else
			child_final += final;
	}
	hreports_free(v, nr);
	ck_assert_int_eq(nr, r.nreports);
	ck_assert_msg(live == 2, "%d live reports of the program; the signal and the API asked for 2", live);
	/* The child could not get a descriptor for its own copy of the shim's
	 * state: either it is measured anyway, or one line says it is not. */
	ck_assert_msg(child_final == 1 || (shim_lines(r.err) == 1 && strstr(r.err, "child")),
		      "the child forked while full has no report and nothing says why (%d final reports; "
		      "stderr: %s)", child_final, r.err);
	char msg[2048];
	int bad = check_files(r.dir, msg, sizeof(msg));
	ck_assert_msg(bad == 0, "schema: %s", msg);
	ck_assert_msg(count_lines(r.err) <= 1, "more than one line on stderr: %s", r.err);
	hrun_free(&r);
}
END_TEST

/* ---- output directory full ---- */

static char mnt[64];

static const char *need_tmpfs(void)
{
	static char why[256];
	if (geteuid() != 0)
		return "needs root to mount a small tmpfs (mount -t tmpfs -o size=64k)";
	snprintf(mnt, sizeof(mnt), "/tmp/cgoshim-full-XXXXXX");
	if (!mkdtemp(mnt))
		return "cannot make a temporary directory";
	if (mount("cgoshim-full", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0700")) {
		snprintf(why, sizeof(why), "cannot mount a 64 KiB tmpfs here: %s", strerror(errno));
		rmdir(mnt);
		return why;
	}
	return NULL;
}

/* Fill the file system at dir; returns bytes written. */
static long fill(const char *dir)
{
	char path[128], block[4096];
	memset(block, 'x', sizeof(block));
	snprintf(path, sizeof(path), "%s/filler", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	long total = 0;
	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t k = write(fd, block, sizeof(block));
		if (k <= 0)
			break;
		total += k;
	}
	/* Byte by byte to the last one. */
	while (write(fd, block, 1) == 1)
		total++;
	close(fd);
	return total;
}

static int entries(const char *dir)
{
	int n = 0;
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
	FILE *p = popen(cmd, "r");
	if (p && fscanf(p, "%d", &n) != 1)
		n = -1;
	if (p)
		pclose(p);
	return n;
}

START_TEST(disk_full)
{
	char out[160], filler[160], pre[512];
	snprintf(out, sizeof(out), "CGOSHIM_OUTPUT=%s/r.%%p.%%n.json", mnt);
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", getenv("CGOSHIM_TEST_LIB"));
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	long filled = fill(mnt);
	ck_assert_int_gt(filled, 0);
	const char *env[] = { pre, "CGOSHIM_FORMAT=json", out, NULL };
	const char *argv[] = { hbin("tiny"), NULL };
	struct hrun r;
	struct hopts o = { .env = env, .no_preload = true };
	int rc = hrun(argv, &o, &r);
	int left = entries(mnt);
	printf("disk-full: filled %ld bytes; stdout: %sstderr: %s; entries left: %d\n", filled, r.out, r.err,
	       left);
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(hexited(&r, 0), "status %#x", r.status);
	ck_assert_str_eq(r.out, "tiny: done\n");
	ck_assert_msg(count_lines(r.err) == 1 && shim_lines(r.err) == 1 && strstr(r.err, "No space left"),
		      "want one line saying the disk is full, got: %s", r.err);
	ck_assert_msg(left == 1, "%d entries in the full directory: a partial or temporary report was left", left);
	hrun_free(&r);

	/* With room again the report is written. */
	unlink(filler);
	ck_assert_int_eq(hrun(argv, &o, &r), 0);
	ck_assert(hexited(&r, 0));
	ck_assert_msg(r.err[0] == 0, "stderr: %s", r.err);
	json_t *final = rel_wait_final(mnt, r.pid, 10000);
	ck_assert_msg(final, "no report once the directory had room");
	ck_assert_int_eq(rel_sites_of_size(final, REL_SENTINEL, NULL), 2);
	json_decref(final);
	hrun_free(&r);
	umount2(mnt, MNT_DETACH);
	rmdir(mnt);
}
END_TEST

/* ---- fork inside a signal handler ---- */

static void sigfork(const char *mode)
{
	char dir[] = "/tmp/cgoshim-sigfork-XXXXXX", out[128], pre[512];
	ck_assert(mkdtemp(dir));
	/* The directory, as a last argument the program ignores, names this
	 * run's processes for the stack dump and the clean-up. */
	const char *argv[] = { hbin("sigfork"), mode, dir, NULL };
	snprintf(out, sizeof(out), "CGOSHIM_OUTPUT=%s/r.%%p.%%n.json", dir);
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", getenv("CGOSHIM_TEST_LIB"));
	const char *with[] = { pre, out, "CGOSHIM_FORMAT=json", NULL };
	struct rel_proc a, b;
	ck_assert_int_eq(rel_run(argv, NULL, NULL, NULL, 120, NULL, &a), 0);
	ck_assert_msg(WIFEXITED(a.status) && WEXITSTATUS(a.status) == 0, "without the shim: status %#x: %s",
		      a.status, a.err);
	int rc = rel_run(argv, with, NULL, NULL, 120, dir, &b);
	printf("sigfork %s: %.1f s without the shim, %.1f s with; stdout with: %s", mode, a.seconds, b.seconds,
	       b.out);
	(void)rc;
	ck_assert_msg(!b.timed_out, "under the shim the program hung (killed after 120 s; %.1f s without)",
		      a.seconds);
	ck_assert_msg(b.status == a.status, "status %#x under the shim, %#x without", b.status, a.status);
	ck_assert_str_eq(b.out, a.out);
	/* Nothing lost silently: each child has its final
	 * report, or it ran unmeasured (a signal that interrupted the shim in
	 * the same thread), said so in one line and is counted in the
	 * parent's counters.forks_unmeasured (children count from 0). */
	int lines = 0, forked = 0;
	for (const char *p = b.err; (p = strstr(p, "is not measured")); p++)
		lines++;
	const char *fl = strstr(b.err, "sigfork: ");
	ck_assert_msg(fl && sscanf(fl, "sigfork: %d forks", &forked) == 1 && forked >= 100, "stderr: %s", b.err);
	long long unmeasured = 0;
	int finals = 0;
	for (int tries = 0; tries < 100; tries++, rel_msleep(100)) {
		size_t n;
		char **v = rel_report_names(dir, &n);
		unmeasured = 0;
		finals = 0;
		for (size_t i = 0; i < n; i++) {
			json_error_t e;
			json_t *j = json_load_file(v[i], 0, &e);
			if (j && json_is_true(json_object_get(j, "final"))) {
				finals++;
				unmeasured += rel_jint(json_object_get(j, "counters"), "forks_unmeasured");
			}
			json_decref(j);
		}
		rel_free_names(v, n);
		if (finals - 1 + unmeasured >= forked)
			break;
	}
	rel_kill_watchers(dir);
	printf("sigfork %s: %d forks, %d children with a final report, %lld unmeasured (%d lines on stderr)\n",
	       mode, forked, finals - 1, unmeasured, lines);
	ck_assert_msg(lines == unmeasured, "%d lines say a child is not measured, the reports count %lld: %s", lines,
		      unmeasured, b.err);
	ck_assert_msg(finals - 1 + unmeasured == forked, "%d children's reports + %lld unmeasured != %d forks",
		      finals - 1, unmeasured, forked);
	rel_proc_free(&a);
	rel_proc_free(&b);
	rel_rmdir(dir);
}

START_TEST(sigfork_heap)
{
	sigfork("heap");
}
END_TEST

START_TEST(sigfork_io)
{
	sigfork("io");
}
END_TEST

/* ---- threads exit while dumps run ---- */

struct waves {
	char ready[300];
	volatile bool stop;
	int pid;
	long sent;
};

static void *waves_signaller(void *arg)
{
	struct waves *w = arg;
	while (!w->stop) {
		if (kill(w->pid, SIGUSR2) == 0)
			w->sent++;
		rel_msleep(2);
	}
	return NULL;
}

static int waves_during(int pid, void *arg)
{
	struct waves *w = arg;
	for (int i = 0; i < 3000 && access(w->ready, F_OK) && !rel_exited(pid); i++)
		rel_msleep(10);
	w->pid = pid;
	pthread_t th;
	if (access(w->ready, F_OK) || pthread_create(&th, NULL, waves_signaller, w))
		return -1;
	for (int i = 0; i < 12000 && !rel_exited(pid); i++)
		rel_msleep(10);
	w->stop = true;
	pthread_join(th, NULL);
	return 0;
}

START_TEST(thread_waves)
{
	struct waves w;
	memset(&w, 0, sizeof(w));
	char rdir[] = "/tmp/cgoshim-waves-XXXXXX";
	ck_assert(mkdtemp(rdir));
	snprintf(w.ready, sizeof(w.ready), "%s/ready", rdir);
	const char *argv[] = { hbin("threadwaves"), "150", w.ready, NULL };
	struct hopts o = { .during = waves_during, .arg = &w, .timeout_s = 120 };
	struct hrun r;
	int rc = hrun(argv, &o, &r);
	rel_kill_watchers(w.ready);
	unlink(w.ready);
	rmdir(rdir);
	printf("thread-waves: %ld signals sent; stdout: %s", w.sent, r.out);
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(hexited(&r, 0), "status %#x; stderr: %s", r.status, r.err);
	ck_assert_str_eq(r.out, "threadwaves: leaked 2400 x 31337\n");
	ck_assert_msg(r.final, "no final report");
	size_t n;
	json_t **v = hreports(&r, &n);
	ck_assert_msg(n == r.nreports, "%zu report files, %zu parse", r.nreports, n);
	long long prev_leaks = 0, prev_malloc = 0, live = 0;
	for (size_t i = 0; i < n; i++) {
		if (rel_jint(v[i], "pid") != r.pid)
			continue;
		long long leaks = rel_sites_of_size(v[i], REL_SENTINEL, NULL), m = hcount(v[i], "malloc");
		ck_assert_msg(leaks >= prev_leaks && m >= prev_malloc,
			      "report seq %lld went backwards: %lld sentinel blocks after %lld, %lld mallocs after %lld",
			      rel_jint(v[i], "seq"), leaks, prev_leaks, m, prev_malloc);
		prev_leaks = leaks;
		prev_malloc = m;
		live += !json_is_true(json_object_get(v[i], "final"));
	}
	hreports_free(v, n);
	printf("thread-waves: %lld live reports, final: %lld sentinel blocks, %lld thread blocks, %lld orphan calls\n",
	       live, rel_sites_of_size(r.final, REL_SENTINEL, NULL), hnum(r.final, "counters.thread_blocks"),
	       hnum(r.final, "counters.orphan_calls"));
	ck_assert_msg(live > 0, "no live report while threads came and went");
	ck_assert_int_eq(rel_sites_of_size(r.final, REL_SENTINEL, NULL), 2400);
	ck_assert_int_eq(hnum(r.final, "counters.unknown_frees"), 0);
	char msg[2048];
	int bad = check_files(r.dir, msg, sizeof(msg));
	ck_assert_msg(bad == 0, "schema: %s", msg);
	hrun_free(&r);
}
END_TEST

int main(int argc, char **argv)
{
	const struct rel_case cases[] = {
		{ "fds", fds_exhausted, NULL, 0 },
		{ "disk-full", disk_full, need_tmpfs, 0 },
		{ "sigfork-heap", sigfork_heap, NULL, 0 },
		{ "sigfork-io", sigfork_io, NULL, 0 },
		{ "thread-waves", thread_waves, NULL, 0 },
	};
	return rel_main(argc, argv, "faults", cases, sizeof(cases) / sizeof(cases[0]));
}
