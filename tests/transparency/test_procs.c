/* test_procs.c - a program cannot tell from its processes, descriptors,
 * limits and address space that the shim is there (suite "transparency",
 * README: Limits; issue 13 items 2-6 and 8).
 *
 * Each case runs a mode of procs.c once without and once with the shim
 * and compares what the program printed (and its status): the observation
 * is the program's own, so any difference is something it could tell.
 *   sigchld-handler  a fork child never runs its SIGCHLD handler for the
 *                    shim's processes
 *   sigchld-blocked  with SIGCHLD blocked, nothing is pending in the fork
 *                    child (sigpending, signalfd) nor in an image it execs
 *   pid1             as PID 1 of a pid namespace (unshare), a
 *                    `while (wait(NULL) > 0)` loop ends at once and reaps
 *                    nothing not its own, with children traced or not
 *                    (CGOSHIM_CHILDREN=0)
 *   subreaper        the same as a child subreaper, and in an image that
 *                    inherited the flag through exec
 *   reaptree         a child subreaper whose traced children fork
 *                    grandchildren and exit (procs reaptree): its
 *                    `while (wait(NULL) > 0)` reaps the same processes,
 *                    none it never made (the watchers of its descendants
 *                    are the spawn server's children, spawnproto.h), and
 *                    every process has its final report; also when the
 *                    grandchildren exec
 *   reaptree-pid1    the same as PID 1 of a pid namespace (unshare), the
 *                    shim preloaded in the program only
 *   reaptree-launcher  the same under the launcher outside the namespace,
 *                    ending with a raw exit_group (as Go): PID 1's own
 *                    final report too (its watcher is outside), also
 *                    with unshare itself preloaded, no launcher; and a
 *                    subreaper under the launcher: every report is there
 *                    when the launcher returns
 *   seccomp-inherited  a program started under a seccomp filter (inherited
 *                    across exec, which the shim cannot read) that kills
 *                    it on socket calls: the spawn server is not asked,
 *                    the program runs as without the shim
 *   launcher-init    the launcher as PID 1 (as in a container): a
 *                    signal sent to PID 1 reaches the program, an orphan
 *                    is reaped
 *   daemon           `$(prog 2>&1)`: the output ends when the program
 *                    exits although its daemon runs on (reports to files,
 *                    and to stderr)
 *   nproc            RLIMIT_NPROC: fork until EAGAIN; one child fewer (the
 *                    program's own watcher, the documented case), nothing
 *                    on stderr, the children counted in counters.forks_nproc
 *   pipe2            pipe2 in a signal handler during stack captures never
 *                    gives descriptors >= 1000
 *   rlimit-as        under RLIMIT_AS 4 GiB, malloc(2500 MiB) succeeds
 *   mlock            mlockall(MCL_CURRENT): as root the region is not
 *                    locked; as a user under RLIMIT_MEMLOCK 8 MiB it
 *                    succeeds as without the shim */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness.h"

#define OTHER_UID "61013" /* a user nothing else runs as: RLIMIT_NPROC counts per user */

static const char *need_root(void)
{
	return geteuid() == 0 ? NULL : "needs root (unshare, another user)";
}

static char *lib_env(void)
{
	char *s;
	if (asprintf(&s, "LD_PRELOAD=%s", getenv("CGOSHIM_TEST_LIB")) < 0)
		abort();
	return s;
}

/* argv without, then with the shim (LD_PRELOAD and env in the second
 * run only); the two stdouts and statuses must match, stderr too unless
 * `err_may_differ`. */
static void same(const char *const argv[], const char *const *env, bool err_may_differ, struct hproc *plain,
		 struct hproc *shim)
{
	struct hspawn po = { .timeout_s = 60 };
	ck_assert_int_eq(hspawn(argv, &po, plain), 0);
	const char *e[16];
	size_t k = 0;
	char *pre = lib_env();
	e[k++] = pre;
	for (size_t i = 0; env && env[i] && k < 15; i++)
		e[k++] = env[i];
	e[k] = NULL;
	struct hspawn so = { .env = e, .timeout_s = 60 };
	ck_assert_int_eq(hspawn(argv, &so, shim), 0);
	free(pre);
	printf("%s without the shim:\n%s%swith:\n%s%s", argv[1], plain->out, plain->err, shim->out, shim->err);
	ck_assert_msg(!strcmp(plain->out, shim->out), "%s: stdout differs", argv[1]);
	ck_assert_msg(plain->status == shim->status, "%s: status %#x without the shim, %#x with", argv[1],
		      plain->status, shim->status);
	if (!err_may_differ)
		ck_assert_msg(!strcmp(plain->err, shim->err), "%s: stderr differs", argv[1]);
}

static void same_simple(const char *const argv[], const char *const *env)
{
	struct hproc a, b;
	same(argv, env, false, &a, &b);
	hproc_free(&a);
	hproc_free(&b);
}

static const char *const quiet[] = { "CGOSHIM_OUTPUT=/dev/null", NULL };

START_TEST(sigchld_handler)
{
	const char *argv[] = { hbin("procs"), "sigchld-handler", NULL };
	same_simple(argv, quiet);
}
END_TEST

START_TEST(sigchld_blocked)
{
	const char *argv[] = { hbin("procs"), "sigchld-blocked", hbin("procs"), NULL };
	same_simple(argv, quiet);
}
END_TEST

/* procs under `unshare --pid --fork`, the shim preloaded in procs only. */
static void as_pid1(const char *children, const char *nkids)
{
	char *pre = lib_env();
	char ch[64];
	snprintf(ch, sizeof(ch), "CGOSHIM_CHILDREN=%s", children);
	const char *plain_argv[] = { "unshare", "--pid", "--fork", hbin("procs"), "waitall", nkids, NULL };
	const char *shim_argv[] = { "unshare", "--pid", "--fork", "/usr/bin/env", pre, ch,
				    "CGOSHIM_OUTPUT=/dev/null", hbin("procs"), "waitall", nkids, NULL };
	struct hproc a, b;
	struct hspawn o = { .search_path = true, .timeout_s = 60 };
	ck_assert_int_eq(hspawn(plain_argv, &o, &a), 0);
	if (!WIFEXITED(a.status) || WEXITSTATUS(a.status) || !strstr(a.out, "pid 1: yes"))
		hskip("unshare --pid --fork does not work here");
	ck_assert_int_eq(hspawn(shim_argv, &o, &b), 0);
	printf("PID 1, %s children, CGOSHIM_CHILDREN=%s: without the shim:\n%swith:\n%s%s", nkids, children, a.out,
	       b.out, b.err);
	ck_assert_str_eq(b.out, a.out);
	ck_assert_int_eq(b.status, a.status);
	ck_assert_str_eq(b.err, "");
	hproc_free(&a);
	hproc_free(&b);
	free(pre);
}

START_TEST(pid1)
{
	as_pid1("1", "0");
	as_pid1("0", "0");
	as_pid1("0", "3");
	as_pid1("1", "3"); /* traced children: their watchers are the server's (spawnproto.h) */
}
END_TEST

START_TEST(subreaper)
{
	const char *const no_children[] = { "CGOSHIM_OUTPUT=/dev/null", "CGOSHIM_CHILDREN=0", NULL };
	const char *argv0[] = { hbin("procs"), "reaper", "0", NULL };
	same_simple(argv0, quiet);
	const char *argv3[] = { hbin("procs"), "reaper", "3", NULL };
	same_simple(argv3, no_children);
	/* The flag survives exec: the new image's watcher must not become
	 * its child. */
	const char *argve[] = { hbin("procs"), "reaper-exec", hbin("procs"), "0", NULL };
	same_simple(argve, quiet);
	const char *argve3[] = { hbin("procs"), "reaper-exec", hbin("procs"), "3", NULL };
	same_simple(argve3, no_children);
	/* Traced children: their watchers are the spawn server's children. */
	same_simple(argv3, quiet);
	same_simple(argve3, quiet);
}
END_TEST


/* Wait (30 s at most) until dir holds want final reports; how many. */
static size_t final_reports(const char *dir, size_t want, json_t ***out)
{
	struct hrun r = { 0 };
	snprintf(r.dir, sizeof(r.dir), "%s", dir);
	size_t n = 0, finals = 0;
	json_t **v = NULL;
	for (int i = 0; i < 300; i++) {
		if (v)
			hreports_free(v, n);
		v = hreports(&r, &n);
		finals = 0;
		for (size_t k = 0; k < n; k++)
			finals += json_is_true(json_object_get(v[k], "final"));
		if (finals >= want)
			break;
		hmsleep(100);
	}
	for (size_t k = 0; k < n; k++)
		printf("report: pid %lld, %s, spawn fallbacks %lld: %s\n", hjint(v[k], "pid"),
		       json_is_true(json_object_get(v[k], "final")) ? "final" : "live",
		       hnum(v[k], "counters.spawn_fallback"), hjstr(v[k], "cmdline"));
	*out = v;
	return n;
}

static void rm_dir(const char *dir)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Of reports v, those of procs reaptree's processes; none counts a
 * watcher started without the spawn server. */
static size_t reaptree_reports(json_t **v, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(json_is_true(json_object_get(v[i], "final")), "pid %lld: no final report",
			      hjint(v[i], "pid"));
		ck_assert_int_eq(hnum(v[i], "counters.spawn_fallback"), 0);
		k += strstr(hjstr(v[i], "cmdline"), "procs reaptree") != NULL;
	}
	return k;
}

#define TREE_N "3"
#define TREE_M "2"
#define TREE_PROCS (1 + 3 + 3 * 2)

/* procs reaptree as a child subreaper, the shim preloaded; how (NULL, or
 * "exec": the grandchildren exec) and how many processes report. */
static void reaptree_as_subreaper(const char *how, size_t procs)
{
	char dir[] = "/tmp/cgoshim-reaptree-XXXXXX", out[300];
	ck_assert(mkdtemp(dir));
	snprintf(out, sizeof(out), "CGOSHIM_OUTPUT=%s/r.%%p.json", dir);
	const char *env[] = { "CGOSHIM_FORMAT=json", out, NULL };
	const char *argv[] = { hbin("procs"), "reaptree", TREE_N, TREE_M, how, NULL };
	struct hproc a, b;
	same(argv, env, false, &a, &b);
	ck_assert(strstr(b.out, "processes reaped that I never made: 0; then ECHILD"));
	ck_assert(!strstr(b.out, "never reaped") && !strstr(b.out, "never heard"));
	json_t **v;
	size_t n = final_reports(dir, procs, &v);
	ck_assert_int_eq(n, procs);
	ck_assert_int_eq(reaptree_reports(v, n), TREE_PROCS);
	hreports_free(v, n);
	hproc_free(&a);
	hproc_free(&b);
	rm_dir(dir);
}

START_TEST(reaptree)
{
	reaptree_as_subreaper(NULL, TREE_PROCS);
	/* Images exec'd below the subreaper: their parent's watcher (or the
	 * subreaper's, once they are adopted) serves them. */
	reaptree_as_subreaper("exec", TREE_PROCS + 6);
}
END_TEST

/* procs reaptree as PID 1 of a new pid namespace; how as in
 * reaptree_as_subreaper. */
static void reaptree_as_pid1(const char *how, size_t procs)
{
	char dir[] = "/tmp/cgoshim-reaptree-XXXXXX", out[300];
	ck_assert(mkdtemp(dir));
	snprintf(out, sizeof(out), "CGOSHIM_OUTPUT=%s/r.%%p.json", dir);
	char *pre = lib_env();
	const char *plain_argv[] = { "unshare", "--pid", "--fork", "--mount-proc", hbin("procs"), "reaptree", TREE_N,
				     TREE_M, how, NULL };
	const char *shim_argv[] = { "unshare", "--pid", "--fork", "--mount-proc", "/usr/bin/env", pre,
				    "CGOSHIM_FORMAT=json", out, hbin("procs"), "reaptree", TREE_N, TREE_M, how, NULL };
	struct hproc a, b;
	struct hspawn o = { .search_path = true, .timeout_s = 60 };
	ck_assert_int_eq(hspawn(plain_argv, &o, &a), 0);
	if (!WIFEXITED(a.status) || WEXITSTATUS(a.status) || !strstr(a.out, "pid 1: yes"))
		hskip("unshare --pid --fork --mount-proc does not work here");
	ck_assert_int_eq(hspawn(shim_argv, &o, &b), 0);
	printf("PID 1 reaptree: without the shim:\n%s%swith:\n%s%s", a.out, a.err, b.out, b.err);
	ck_assert_str_eq(b.out, a.out);
	ck_assert_str_eq(b.err, a.err);
	ck_assert_int_eq(b.status, a.status);
	json_t **v;
	size_t n = final_reports(dir, procs, &v);
	ck_assert_int_eq(n, procs);
	ck_assert_int_eq(reaptree_reports(v, n), TREE_PROCS);
	hreports_free(v, n);
	hproc_free(&a);
	hproc_free(&b);
	free(pre);
	rm_dir(dir);
}

START_TEST(reaptree_pid1)
{
	reaptree_as_pid1(NULL, TREE_PROCS);
	reaptree_as_pid1("exec", TREE_PROCS + 6);
}
END_TEST

START_TEST(reaptree_launcher)
{
	char dir[] = "/tmp/cgoshim-reaptree-XXXXXX", out[300];
	ck_assert(mkdtemp(dir));
	snprintf(out, sizeof(out), "%s/r.%%p.json", dir);
	const char *plain_argv[] = { "unshare", "--pid", "--fork", "--mount-proc", hbin("procs"), "reaptree", TREE_N,
				     TREE_M, "raw", NULL };
	const char *shim_argv[] = { getenv("CGOSHIM_TEST_LAUNCHER"), "-f", "json", "-o", out, "--", "unshare", "--pid",
				    "--fork", "--mount-proc", hbin("procs"), "reaptree", TREE_N, TREE_M, "raw", NULL };
	struct hproc a, b;
	struct hspawn o = { .search_path = true, .timeout_s = 60 };
	ck_assert_int_eq(hspawn(plain_argv, &o, &a), 0);
	if (!WIFEXITED(a.status) || WEXITSTATUS(a.status) || !strstr(a.out, "pid 1: yes"))
		hskip("unshare --pid --fork --mount-proc does not work here");
	ck_assert_int_eq(hspawn(shim_argv, &o, &b), 0);
	printf("PID 1 reaptree, raw exit, under the launcher: without the shim:\n%s%swith:\n%s%s", a.out, a.err,
	       b.out, b.err);
	ck_assert_str_eq(b.out, a.out);
	ck_assert_str_eq(b.err, a.err);
	ck_assert_int_eq(b.status, a.status);
	/* unshare, its fork child (PID 1 until it execs), and the tree. */
	json_t **v;
	size_t n = final_reports(dir, TREE_PROCS + 2, &v);
	ck_assert_int_eq(n, TREE_PROCS + 2);
	ck_assert_int_eq(reaptree_reports(v, n), TREE_PROCS + 2); /* unshare's command line names it too */
	bool init_report = false;
	for (size_t i = 0; i < n; i++)
		init_report = init_report || (hjint(v[i], "pid") == 1 && strstr(hjstr(v[i], "exe"), "procs"));
	ck_assert_msg(init_report, "no final report of PID 1");
	hreports_free(v, n);
	hproc_free(&b);
	rm_dir(dir);

	/* unshare itself preloaded, no launcher: PID 1 asks the watcher of the
	 * image it replaced (unshare's fork child's, outside). */
	ck_assert(mkdtemp(strcpy(dir, "/tmp/cgoshim-reaptree-XXXXXX")));
	char outv[300];
	snprintf(outv, sizeof(outv), "CGOSHIM_OUTPUT=%s/r.%%p.json", dir);
	char *pre = lib_env();
	const char *penv[] = { pre, outv, "CGOSHIM_FORMAT=json", NULL };
	struct hspawn po = { .env = penv, .search_path = true, .timeout_s = 60 };
	ck_assert_int_eq(hspawn(plain_argv, &po, &b), 0);
	printf("PID 1 reaptree, raw exit, unshare preloaded:\n%s%s", b.out, b.err);
	ck_assert_str_eq(b.out, a.out);
	n = final_reports(dir, TREE_PROCS + 2, &v);
	ck_assert_int_eq(n, TREE_PROCS + 2);
	ck_assert_int_eq(reaptree_reports(v, n), TREE_PROCS + 2);
	init_report = false;
	for (size_t i = 0; i < n; i++)
		init_report = init_report || (hjint(v[i], "pid") == 1 && strstr(hjstr(v[i], "exe"), "procs"));
	ck_assert_msg(init_report, "no final report of PID 1");
	hreports_free(v, n);
	hproc_free(&b);
	free(pre);
	rm_dir(dir);

	/* A subreaper under the launcher: every final report is there when
	 * the launcher returns (it waits for the watchers the program's
	 * watcher started). */
	ck_assert(mkdtemp(strcpy(dir, "/tmp/cgoshim-reaptree-XXXXXX")));
	snprintf(out, sizeof(out), "%s/r.%%p.json", dir);
	const char *sub_argv[] = { getenv("CGOSHIM_TEST_LAUNCHER"), "-f", "json", "-o", out, "--", hbin("procs"),
				   "reaptree", TREE_N, TREE_M, NULL };
	struct hspawn so = { .timeout_s = 60 };
	ck_assert_int_eq(hspawn(sub_argv, &so, &b), 0);
	printf("a subreaper under the launcher:\n%s%s", b.out, b.err);
	ck_assert(strstr(b.out, "processes reaped that I never made: 0; then ECHILD"));
	ck_assert_int_eq(hfiles(dir, "r."), TREE_PROCS);
	n = final_reports(dir, TREE_PROCS, &v);
	ck_assert_int_eq(reaptree_reports(v, n), TREE_PROCS);
	hreports_free(v, n);
	hproc_free(&b);
	hproc_free(&a);
	rm_dir(dir);
}
END_TEST

START_TEST(seccomp_inherited)
{
	const char *argv[] = { hbin("procs"), "deny-socket", hbin("procs"), "waitall", "2", NULL };
	struct hproc a, b;
	same(argv, quiet, false, &a, &b);
	ck_assert_str_eq(b.out, "pid 1: no, subreaper: no\nreaped 2 of mine, 0 not mine; then ECHILD\n");
	hproc_free(&a);
	hproc_free(&b);
}
END_TEST

/* The launcher as PID 1 of a pid namespace, as in a container. */
START_TEST(launcher_init)
{
	const char *argv[] = { "unshare", "--pid", "--fork", "--mount-proc", getenv("CGOSHIM_TEST_LAUNCHER"), "-o",
			       "/dev/null", "--", hbin("procs"), "init-check", NULL };
	struct hproc b;
	struct hspawn o = { .search_path = true, .timeout_s = 60 };
	const char *probe[] = { "unshare", "--pid", "--fork", "--mount-proc", "true", NULL };
	ck_assert_int_eq(hspawn(probe, &o, &b), 0);
	if (!WIFEXITED(b.status) || WEXITSTATUS(b.status))
		hskip("unshare --pid --fork --mount-proc does not work here");
	hproc_free(&b);
	ck_assert_int_eq(hspawn(argv, &o, &b), 0);
	printf("the launcher as PID 1:\n%s%s", b.out, b.err);
	ck_assert_str_eq(b.out, "pid 1: no, parent: pid 1\n"
				"SIGTERM sent to PID 1: received\n"
				"orphan: reaped\n");
	ck_assert_str_eq(b.err, "");
	ck_assert(WIFEXITED(b.status) && WEXITSTATUS(b.status) == 0);
	hproc_free(&b);
}
END_TEST

/* Run `procs daemon PIDFILE` with stdout and stderr on one pipe, as
 * x=$(prog 2>&1) does, read to its end; whether the daemon still ran
 * then. */
static bool output_ends_before_daemon(const char *const *env)
{
	char dir[] = "/tmp/cgoshim-daemon-XXXXXX", pidfile[300];
	ck_assert(mkdtemp(dir));
	snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		unsetenv("LD_PRELOAD");
		for (size_t i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		execl(hbin("procs"), "procs", "daemon", pidfile, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char buf[4096];
	double start = hnow();
	while (read(p[0], buf, sizeof(buf)) > 0)
		;
	double took = hnow() - start;
	close(p[0]);
	waitpid(pid, NULL, 0);
	/* The daemon may have made its pid file and not yet written it:
	 * read until a number is there (1 s at most). */
	int dpid = 0;
	for (int i = 0; dpid <= 0 && i < 100; i++) {
		FILE *f = fopen(pidfile, "r");
		if (f) {
			if (fscanf(f, "%d", &dpid) != 1)
				dpid = 0;
			fclose(f);
		}
		if (dpid <= 0)
			hmsleep(10);
	}
	/* Running, not a zombie waiting for an init that reaps slowly. */
	bool running = false;
	char stat[64], line[256];
	snprintf(stat, sizeof(stat), "/proc/%d/stat", dpid);
	FILE *sf = dpid > 0 ? fopen(stat, "r") : NULL;
	if (sf) {
		if (fgets(line, sizeof(line), sf)) {
			char *close_paren = strrchr(line, ')');
			running = close_paren && close_paren[1] == ' ' && close_paren[2] != 'Z';
		}
		fclose(sf);
	}
	printf("output ended after %.3f s; the daemon %s\n", took, running ? "still ran" : "had ended");
	if (dpid > 0)
		kill(dpid, SIGKILL);
	unlink(pidfile);
	rmdir(dir);
	return running;
}

START_TEST(daemon_output)
{
	ck_assert_msg(output_ends_before_daemon(NULL), "without the shim the daemon should outlive the output");
	char *pre = lib_env();
	char dir[] = "/tmp/cgoshim-dreport-XXXXXX", out[300];
	ck_assert(mkdtemp(dir));
	snprintf(out, sizeof(out), "CGOSHIM_OUTPUT=%s/r.%%p.json", dir);
	const char *const to_files[] = { pre, out, NULL };
	ck_assert_msg(output_ends_before_daemon(to_files), "reports to files: the output waited for the daemon");
	const char *const to_null[] = { pre, "CGOSHIM_OUTPUT=/dev/null", NULL };
	ck_assert_msg(output_ends_before_daemon(to_null), "reports to /dev/null: the output waited for the daemon");
	const char *const to_stderr[] = { pre, NULL };
	ck_assert_msg(output_ends_before_daemon(to_stderr), "reports to stderr: the output waited for the daemon");
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(pre);
}
END_TEST

START_TEST(nproc)
{
	char dir[] = "/tmp/cgoshim-nproc-XXXXXX", out[300];
	ck_assert(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0777), 0);
	snprintf(out, sizeof(out), "CGOSHIM_OUTPUT=%s/r.%%p.json", dir);
	/* `ulimit -u 12`: the limit from the start, for the watcher too. */
	const char *env[] = { "CGOSHIM_FORMAT=json", out, "PROCS_NPROC=12", NULL };
	const char *penv[] = { "PROCS_NPROC=12", NULL };
	const char *plain_argv[] = { hbin("procs"), "asuser", OTHER_UID, "-", hbin("procs"), "nproc", "0", NULL };
	const char *shim_argv[] = { hbin("procs"), "asuser", OTHER_UID, getenv("CGOSHIM_TEST_LIB"), hbin("procs"),
				    "nproc", "0", NULL };
	struct hproc a, b;
	struct hspawn po = { .env = penv, .timeout_s = 60 }, so = { .env = env, .timeout_s = 60 };
	ck_assert_int_eq(hspawn(plain_argv, &po, &a), 0);
	if (WIFEXITED(a.status) && WEXITSTATUS(a.status) == 77)
		hskip("cannot switch to another user");
	ck_assert_int_eq(hspawn(shim_argv, &so, &b), 0);
	printf("RLIMIT_NPROC 12: without the shim: %s%swith: %s%s", a.out, a.err, b.out, b.err);
	int na = -1, nb = -1;
	ck_assert_int_eq(sscanf(a.out, "forked %d", &na), 1);
	ck_assert_int_eq(sscanf(b.out, "forked %d", &nb), 1);
	ck_assert_msg(na >= 5, "without the shim only %d children", na);
	/* The one process the shim takes: the program's own watcher. */
	ck_assert_int_eq(nb, na - 1);
	ck_assert_str_eq(b.err, a.err);
	ck_assert_int_eq(b.status, a.status);
	/* The unmeasured children are said in the report. */
	struct hrun r = { 0 };
	snprintf(r.dir, sizeof(r.dir), "%s", dir);
	size_t n;
	json_t **v = hreports(&r, &n);
	ck_assert_msg(n == 1, "%zu reports (the program's alone expected)", n);
	ck_assert_int_eq(hnum(v[0], "counters.forks_nproc"), nb);
	hreports_free(v, n);
	hproc_free(&a);
	hproc_free(&b);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(pipe2_high)
{
	const char *argv[] = { hbin("procs"), "pipe2", NULL };
	struct hproc a, b;
	same(argv, quiet, false, &a, &b);
	ck_assert_str_eq(b.out, "pipe2 in a signal handler: descriptors >= 1000 in 0 calls\n");
	hproc_free(&a);
	hproc_free(&b);
}
END_TEST

START_TEST(rlimit_as)
{
	const char *argv[] = { hbin("procs"), "limit", "AS", "4294967296", hbin("procs"), "alloc", "2500", NULL };
	struct hproc a, b;
	same(argv, quiet, false, &a, &b);
	ck_assert_str_eq(b.out, "malloc(2500 MiB): ok\n");
	hproc_free(&a);
	hproc_free(&b);
}
END_TEST

START_TEST(mlock)
{
	const char *argv[] = { hbin("procs"), "mlock", NULL };
	struct hproc a, b;
	same(argv, quiet, false, &a, &b);
	ck_assert_str_eq(b.out, "mlockall(MCL_CURRENT): ok\nshim region locked: no\n");
	hproc_free(&a);
	hproc_free(&b);
	/* As a user, under an 8 MiB memlock limit. */
	const char *plain_argv[] = { hbin("procs"), "asuser", OTHER_UID, "-", hbin("procs"), "limit", "MEMLOCK",
				     "8388608", hbin("procs"), "mlock", NULL };
	const char *shim_argv[] = { hbin("procs"), "asuser", OTHER_UID, getenv("CGOSHIM_TEST_LIB"), hbin("procs"),
				    "limit", "MEMLOCK", "8388608", hbin("procs"), "mlock", NULL };
	struct hspawn o = { .env = quiet, .timeout_s = 60 };
	ck_assert_int_eq(hspawn(plain_argv, &o, &a), 0);
	if (WIFEXITED(a.status) && WEXITSTATUS(a.status) == 77)
		hskip("cannot switch to another user");
	ck_assert_int_eq(hspawn(shim_argv, &o, &b), 0);
	printf("as a user, RLIMIT_MEMLOCK 8 MiB: without the shim:\n%swith:\n%s%s", a.out, b.out, b.err);
	ck_assert_str_eq(b.out, a.out);
	ck_assert_str_eq(b.err, a.err);
	ck_assert_str_eq(b.out, "mlockall(MCL_CURRENT): ok\nshim region locked: no\n");
	hproc_free(&a);
	hproc_free(&b);
}
END_TEST

int main(int argc, char **argv)
{
	const struct hcase cases[] = {
		{ "sigchld-handler", sigchld_handler, NULL, 0 },
		{ "sigchld-blocked", sigchld_blocked, NULL, 0 },
		{ "pid1", pid1, need_root, 0 },
		{ "subreaper", subreaper, NULL, 0 },
		{ "reaptree", reaptree, NULL, 0 },
		{ "reaptree-pid1", reaptree_pid1, need_root, 0 },
		{ "reaptree-launcher", reaptree_launcher, need_root, 0 },
		{ "launcher-init", launcher_init, need_root, 0 },
		{ "seccomp-inherited", seccomp_inherited, NULL, 0 },
		{ "daemon", daemon_output, NULL, 0 },
		{ "nproc", nproc, need_root, 0 },
		{ "pipe2", pipe2_high, NULL, 0 },
		{ "rlimit-as", rlimit_as, NULL, 0 },
		{ "mlock", mlock, need_root, 0 },
	};
	return hmain(argc, argv, "procs", cases, sizeof(cases) / sizeof(cases[0]));
}
