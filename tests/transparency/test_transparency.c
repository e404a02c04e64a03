/* test_transparency.c - programs behave the same with and without the shim
 * (suite "transparency").
 *
 * Each case runs a program twice in fresh, empty directories: once as is,
 * once with libcgoshim.so preloaded (reports as JSON files in a directory
 * of their own, so nothing of the shim's goes to the program's output).
 * Exit status, stdout and stderr must be identical (for Python's test
 * runner, after dropping its timing lines). Under the shim every process
 * image writes a report: there must be at least one, and every one must
 * parse (jansson; the schema checker on up to 200 of them).
 *
 * Real programs and test suites that use the interposed calls heavily:
 *   python-quick  Python 3.11's own regression tests (Debian package
 *                 libpython3.11-testsuite): test_os test_posix test_mmap
 *                 test_fork1 test_tempfile test_shutil test_select
 *                 test_fcntl test_json test_zlib test_struct test_threading
 *                 test_ctypes test_re.
 *   python-slow   test_io test_subprocess test_signal (several minutes).
 *   sqlite3       sqlite.sql: 200000 rows, index, aggregates, WAL, VACUUM,
 *                 integrity check.
 *   git           git.sh: 60 commits, log/diff/blame, branch and merge,
 *                 repack, gc, fsck, archive (hundreds of git processes).
 *   compress      compress.sh: gzip and xz (2 threads) round trips.
 *   sort          sort.sh: GNU sort with 2 threads and temporary files.
 * Small C programs for behaviour a wrapper can break (each once hung
 * under the shim; see README, "Reliability results"):
 *   atfork        the usual pthread_atfork lock pattern across fork.
 *   sigopen       a signal handler calls open/close (async-signal-safe)
 *                 while the main thread reads new descriptors.
 *   forkdl        fork while other threads dlopen/dlclose; children malloc.
 * A case whose program is missing exits 77 and says so. Go's
 * misc/cgo/test and misc/cgo/testsigfwd run in tests/integration/go
 * (suite gocgo); the C program exercising every wrapper's success and
 * failure paths is tests/integration/io (io-parity). */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "rel.h"

struct tcase {
	const char *name;
	const char *const *argv;  /* NULL entries "@SRC@/x" get the source dir */
	const char *stdin_file;   /* relative to the source dir, or NULL */
	const char *need_file;    /* must exist, else skip */
	const char *need_why;
	int timeout_s;            /* per run */
	bool python;              /* drop regrtest's timing lines */
	const char *tag_arg;      /* appended argument naming this run (C programs), or NULL */
};

static const char *src_dir(void)
{
	const char *s = getenv("TRANSPARENCY_SRC");
	return s ? s : ".";
}

static char *subst(const char *s)
{
	char *out;
	if (!strncmp(s, "@SRC@", 5)) {
		if (asprintf(&out, "%s%s", src_dir(), s + 5) < 0)
			return NULL;
		return out;
	}
	if (!strncmp(s, "@BIN@", 5)) {
		const char *b = getenv("CGOSHIM_TEST_BINDIR");
		if (asprintf(&out, "%s%s", b ? b : ".", s + 5) < 0)
			return NULL;
		return out;
	}
	return strdup(s);
}

/* Python's runner prints timings and the load average: drop those lines
 * (progress lines start with the elapsed time, "0:01:23"). */
static char *normalize_python(const char *s)
{
	static const char *const timing[] = { "load avg", "Total duration", " sec" };
	char *out = malloc(strlen(s) + 1), *line = malloc(strlen(s) + 1);
	size_t n = 0;
	while (*s) {
		const char *end = strchr(s, '\n');
		size_t len = end ? (size_t)(end - s) + 1 : strlen(s);
		memcpy(line, s, len);
		line[len] = 0;
		bool drop = line[0] >= '0' && line[0] <= '9' && line[1] == ':';
		for (size_t i = 0; i < sizeof(timing) / sizeof(timing[0]); i++)
			drop = drop || strstr(line, timing[i]) != NULL;
		if (!drop) {
			memcpy(out + n, line, len);
			n += len;
		}
		s += len;
	}
	out[n] = 0;
	free(line);
	return out;
}

/* First line where a and b differ, for the message. */
static void first_diff(const char *a, const char *b, char *msg, size_t cap)
{
	int line = 1;
	const char *la = a, *lb = b;
	while (*a && *a == *b) {
		if (*a == '\n') {
			line++;
			la = a + 1;
			lb = b + 1;
		}
		a++;
		b++;
	}
	snprintf(msg, cap, "line %d: without the shim \"%.200s\", with it \"%.200s\"", line, la, lb);
	for (char *p = msg; *p; p++)
		if (*p == '\n')
			*p = '|';
}

static void run_case(const struct tcase *c)
{
	char base[] = "/tmp/cgoshim-transp-XXXXXX";
	ck_assert(mkdtemp(base));
	/* World-writable (sticky): programs that drop privileges (Python's
	 * test_subprocess runs children as nobody) still write reports. */
	char plain_dir[300], shim_dir[300], reports[300], out_var[400], pre[600];
	snprintf(plain_dir, sizeof(plain_dir), "%s/plain", base);
	snprintf(shim_dir, sizeof(shim_dir), "%s/shim", base);
	snprintf(reports, sizeof(reports), "%s/reports", base);
	ck_assert(!mkdir(plain_dir, 0755) && !mkdir(shim_dir, 0755) && !mkdir(reports, 0755));
	chmod(base, 0755);
	chmod(reports, 01777);
	snprintf(out_var, sizeof(out_var), "CGOSHIM_OUTPUT=%s/r.%%p.%%n.json", reports);
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", getenv("CGOSHIM_TEST_LIB"));

	const char *argv[32];
	char *owned[32];
	size_t n = 0;
	for (; c->argv[n] && n < 30; n++)
		argv[n] = owned[n] = subst(c->argv[n]);
	if (c->tag_arg)
		argv[n++] = base; /* names this run's processes (the program ignores it) */
	argv[n] = NULL;
	char *in = c->stdin_file ? subst(c->stdin_file) : NULL;

	struct rel_proc a, b;
	const char *with[] = { pre, out_var, "CGOSHIM_FORMAT=json", NULL };
	int ra = rel_run(argv, NULL, plain_dir, in, c->timeout_s, NULL, &a);
	int rb = rel_run(argv, with, shim_dir, in, c->timeout_s, c->tag_arg ? base : NULL, &b);
	printf("%s: %.1f s without the shim, %.1f s with; status %#x / %#x\n", c->name, a.seconds, b.seconds,
	       a.status, b.status);
	/* Reports come a moment after each process ends. */
	rel_msleep(500);
	if (c->tag_arg)
		rel_kill_watchers(base);

	ck_assert_msg(ra == 0, "%s timed out (or could not run) without the shim: %s", c->name, a.err);
	ck_assert_msg(!b.timed_out, "%s hung under the shim: killed after %d s (%.1f s without it)", c->name,
		      c->timeout_s, a.seconds);
	ck_assert_msg(rb == 0, "%s could not be run under the shim", c->name);

	char *oa = c->python ? normalize_python(a.out) : strdup(a.out);
	char *ob = c->python ? normalize_python(b.out) : strdup(b.out);
	char *ea = c->python ? normalize_python(a.err) : strdup(a.err);
	char *eb = c->python ? normalize_python(b.err) : strdup(b.err);
	char msg[1024];
	if (strcmp(oa, ob)) {
		first_diff(oa, ob, msg, sizeof(msg));
		ck_abort_msg("%s: stdout differs under the shim (status %#x, %#x without): %s\nstderr with the "
			     "shim: %.1500s", c->name, b.status, a.status, msg, eb);
	}
	if (strcmp(ea, eb)) {
		first_diff(ea, eb, msg, sizeof(msg));
		ck_abort_msg("%s: stderr differs under the shim: %s", c->name, msg);
	}
	ck_assert_msg(a.status == b.status, "%s: status %#x under the shim, %#x without", c->name, b.status,
		      a.status);

	/* The reports. */
	size_t nr;
	char **names = rel_report_names(reports, &nr);
	size_t parsed = 0, finals = 0;
	for (size_t i = 0; i < nr; i++) {
		json_error_t e;
		json_t *j = json_load_file(names[i], 0, &e);
		ck_assert_msg(j, "%s: report %s does not parse: %s", c->name, names[i], e.text);
		parsed++;
		finals += json_is_true(json_object_get(j, "final"));
		json_decref(j);
	}
	int bad = rel_check_json(names, nr < 200 ? nr : 200, msg, sizeof(msg));
	printf("%s: %zu reports (%zu final), all parse; schema checker: %d with problems\n", c->name, nr,
	       finals, bad);
	ck_assert_msg(nr >= 1, "%s: no report was written", c->name);
	ck_assert_msg(bad == 0, "%s: reports break the schema: %s", c->name, msg);
	rel_free_names(names, nr);

	free(oa);
	free(ob);
	free(ea);
	free(eb);
	rel_proc_free(&a);
	rel_proc_free(&b);
	for (size_t i = 0; c->argv[i]; i++)
		free(owned[i]);
	free(in);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd))
		printf("could not remove %s\n", base);
}

/* ---- the cases ---- */

static const char *const py_quick[] = { "/usr/bin/python3", "-m", "test", "test_os", "test_posix", "test_mmap",
	"test_fork1", "test_tempfile", "test_shutil", "test_select", "test_fcntl", "test_json", "test_zlib",
	"test_struct", "test_threading", "test_ctypes", "test_re", NULL };
static const char *const py_slow[] = { "/usr/bin/python3", "-m", "test", "test_io", "test_subprocess",
	"test_signal", NULL };
static const char *const sqlite_argv[] = { "/usr/bin/sqlite3", "db", NULL };
static const char *const git_argv[] = { "/bin/sh", "@SRC@/git.sh", NULL };
static const char *const compress_argv[] = { "/bin/sh", "@SRC@/compress.sh", NULL };
static const char *const sort_argv[] = { "/bin/sh", "@SRC@/sort.sh", NULL };
static const char *const atfork_argv[] = { "@BIN@/atfork", NULL };
static const char *const sigopen_argv[] = { "@BIN@/sigopen", NULL };
static const char *const forkdl_argv[] = { "@BIN@/forkdl", NULL };

static const struct tcase tcases[] = {
	{ "python-quick", py_quick, NULL, "/usr/lib/python3.11/test/test_os.py",
	  "Python's test suite is not installed (Debian: libpython3.11-testsuite)", 900, true, NULL },
	{ "python-slow", py_slow, NULL, "/usr/lib/python3.11/test/test_subprocess.py",
	  "Python's test suite is not installed (Debian: libpython3.11-testsuite)", 1200, true, NULL },
	{ "sqlite3", sqlite_argv, "@SRC@/sqlite.sql", "/usr/bin/sqlite3", "sqlite3 is not installed", 300, false,
	  NULL },
	{ "git", git_argv, NULL, "/usr/bin/git", "git is not installed", 300, false, NULL },
	{ "compress", compress_argv, NULL, "/usr/bin/xz", "xz is not installed", 300, false, NULL },
	{ "sort", sort_argv, NULL, "/usr/bin/shuf", "coreutils' shuf is missing", 300, false, NULL },
	{ "atfork", atfork_argv, NULL, NULL, NULL, 60, false, "tag" },
	{ "sigopen", sigopen_argv, NULL, NULL, NULL, 60, false, "tag" },
	{ "forkdl", forkdl_argv, NULL, NULL, NULL, 120, false, "tag" },
};

static const struct tcase *current;

START_TEST(same_behaviour)
{
	run_case(current);
}
END_TEST

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2) {
		fprintf(stderr, "usage: test_transparency CASE\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(tcases) / sizeof(tcases[0]); i++) {
		if (strcmp(argv[1], tcases[i].name))
			continue;
		current = &tcases[i];
		if (current->need_file && access(current->need_file, F_OK))
			rel_skip(current->need_why);
		if (!getenv("CGOSHIM_TEST_LIB"))
			rel_skip("CGOSHIM_TEST_LIB is not set (run through meson test)");
		const struct rel_case c[] = { { current->name, same_behaviour, NULL, 0 } };
		return rel_main(argc, argv, "transparency", c, 1);
	}
	fprintf(stderr, "test_transparency: no case named %s\n", argv[1]);
	return 2;
}
