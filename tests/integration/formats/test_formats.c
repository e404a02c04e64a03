/* test_formats.c - the pprof and Prometheus outputs, read by the tools they
 * are made for.
 *
 * fmtprog (a C program with known leaks and calls) runs under the cgoshim
 * launcher, which returns once the final report is written:
 *   pprof-top       `go tool pprof -top` shows leak_here and leak_other with
 *                   their exact bytes and allocation counts
 *   pprof-list      `go tool pprof -list leak_here` puts the bytes on the
 *                   source line of the malloc call; `-lines` names file:line
 *   pprof-calls     `-sample_index=calls` gives read's count, as the JSON
 *                   report of another run of the same program does
 *   pprof-go        a cgo program (examples/cstring-leak): the C.CString
 *                   leak shows under the Go functions that made it
 *   pprof-default   with no CGOSHIM_OUTPUT a profile goes to a file, not to
 *                   the terminal
 *   om-promtool     `promtool check metrics` accepts the file; its values
 *                   are those the program is known to produce and those of
 *                   a JSON run of the same program
 *   om-interval     CGOSHIM_INTERVAL=200ms: the file is replaced several
 *                   times while the program runs, and every copy read during
 *                   the run is complete and passes promtool
 *   om-replace      a second run replaces the file of the first (no ".1")
 *   om-symlink      a symbolic link at the file name is refused, its target
 *                   untouched
 *   interval-json   CGOSHIM_INTERVAL in JSON: live reports with trigger
 *                   "interval", then the final one
 * Cases that need go or promtool exit 77 (a skip) and say so when the tool
 * is missing. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness.h"

/* What fmtprog does (fmtprog.c). */
#define LEAK_HERE_COUNT 37
#define LEAK_HERE_BYTES (37 * 1111)
#define LEAK_OTHER_BYTES (3 * 2000)
#define READS 500
#define READ_ERRORS 7

/* ---- Small helpers ----------------------------------------------------- */

static void skip(const char *why)
{
	printf("SKIP: %s\n", why);
	fflush(stdout);
	exit(77);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (n + 1 >= cap)
			buf = realloc(buf, cap *= 2);
		ssize_t k = read(fd, buf + n, cap - n - 1);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* A tool from the environment variable (set by meson), else from PATH;
 * NULL when absent. */
static const char *find_tool(const char *var, const char *name)
{
	const char *v = getenv(var);
	if (v && *v && !access(v, X_OK))
		return v;
	static char buf[2][512];
	static int k;
	const char *path = getenv("PATH");
	char *copy = strdup(path ? path : "/usr/bin:/bin");
	char *found = NULL;
	for (char *save, *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		char *b = buf[k % 2];
		snprintf(b, sizeof(buf[0]), "%s/%s", dir, name);
		if (!access(b, X_OK)) {
			found = b;
			k++;
		}
	}
	free(copy);
	return found;
}

static const char *need_go(void)
{
	const char *go = find_tool("CGOSHIM_TEST_GO", "go");
	if (!go)
		skip("go not found (Debian package golang-go): go tool pprof cannot read the profile");
	return go;
}

static const char *need_promtool(void)
{
	const char *p = find_tool("CGOSHIM_TEST_PROMTOOL", "promtool");
	if (!p)
		skip("promtool not found (Debian package prometheus): cannot check the metrics");
	return p;
}

/* Run a tool; stdout and stderr together in *out. Returns its exit status
 * (128 + signal if killed, -1 if it could not run). */
static int tool(const char *const argv[], const char *stdin_path, char **out)
{
	char tmp[] = "/tmp/cgoshim-fmt-out.XXXXXX";
	int fd = mkstemp(tmp);
	ck_assert_int_ge(fd, 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int in = open(stdin_path ? stdin_path : "/dev/null", O_RDONLY);
		dup2(in, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		unsetenv("LD_PRELOAD");
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	close(fd);
	*out = slurp(tmp, NULL);
	unlink(tmp);
	ck_assert_ptr_nonnull(*out);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

static bool promtool_passes(const char *promtool, const char *text, char **why)
{
	char tmp[] = "/tmp/cgoshim-fmt-prom.XXXXXX";
	int fd = mkstemp(tmp);
	ck_assert_int_ge(fd, 0);
	close(fd);
	spit(tmp, text);
	const char *argv[] = { promtool, "check", "metrics", NULL };
	int rc = tool(argv, tmp, why);
	unlink(tmp);
	return rc == 0;
}

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			char p[600];
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
	}
	closedir(d);
	rmdir(dir);
}

/* Names in dir, one per line, sorted by readdir order (for messages). */
static int dir_entries(const char *dir, char *list, size_t cap)
{
	DIR *d = opendir(dir);
	int n = 0;
	list[0] = 0;
	if (!d)
		return -1;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		n++;
		size_t used = strlen(list);
		snprintf(list + used, cap - used, "%s ", e->d_name);
	}
	closedir(d);
	return n;
}

/* ---- Running fmtprog under the launcher -------------------------------- */

struct prun {
	char dir[256]; /* reports go here; "@DIR@" in env values names it */
	int status;
	char *out, *err;
};

/* Run PROG ARGS through the launcher, with the CGOSHIM_ variables in env
 * (nothing else of the caller's CGOSHIM_ variables), in the directory
 * r->dir (made if empty). tick(arg) is called every 10 ms while it runs. */
static void prun(struct prun *r, const char *const env[], const char *const args[],
		 void (*tick)(void *), void *arg)
{
	if (!r->dir[0]) {
		snprintf(r->dir, sizeof(r->dir), "/tmp/cgoshim-fmt-XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(r->dir));
	}
	const char *launcher = getenv("CGOSHIM_TEST_LAUNCHER"), *lib = getenv("CGOSHIM_TEST_LIB");
	ck_assert_msg(launcher && lib, "CGOSHIM_TEST_LAUNCHER and CGOSHIM_TEST_LIB must be set");
	char libopt[600];
	snprintf(libopt, sizeof(libopt), "--lib=%s", lib);
	const char *argv[32] = { launcher, libopt, "--" };
	int a = 3;
	for (int i = 0; args[i] && a < 31; i++)
		argv[a++] = args[i];
	argv[a] = NULL;

	char outp[] = "/tmp/cgoshim-fmt-stdout.XXXXXX", errp[] = "/tmp/cgoshim-fmt-stderr.XXXXXX";
	int ofd = mkstemp(outp), efd = mkstemp(errp);
	ck_assert(ofd >= 0 && efd >= 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		extern char **environ;
		for (char **e = environ; *e;) {
			if (!strncmp(*e, "CGOSHIM_", 8) || !strncmp(*e, "LD_PRELOAD=", 11)) {
				char name[256];
				snprintf(name, sizeof(name), "%.*s", (int)(strchr(*e, '=') - *e), *e);
				unsetenv(name);
			} else {
				e++;
			}
		}
		for (int i = 0; env && env[i]; i++) {
			char name[128], value[1024];
			const char *eq = strchr(env[i], '=');
			snprintf(name, sizeof(name), "%.*s", (int)(eq - env[i]), env[i]);
			value[0] = 0;
			for (const char *p = eq + 1; *p;) {
				if (!strncmp(p, "@DIR@", 5)) {
					strncat(value, r->dir, sizeof(value) - strlen(value) - 1);
					p += 5;
				} else {
					size_t n = strlen(value);
					if (n + 1 < sizeof(value)) {
						value[n] = *p;
						value[n + 1] = 0;
					}
					p++;
				}
			}
			setenv(name, value, 1);
		}
		if (chdir(r->dir))
			_exit(126);
		int in = open("/dev/null", O_RDONLY);
		dup2(in, 0);
		dup2(ofd, 1);
		dup2(efd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	double end = now_ms() + 60000;
	int status;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			ck_abort_msg("the program did not end within 60 s");
		}
		if (tick)
			tick(arg);
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (tick)
		tick(arg);
	r->status = status;
	close(ofd);
	close(efd);
	r->out = slurp(outp, NULL);
	r->err = slurp(errp, NULL);
	unlink(outp);
	unlink(errp);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x; stderr:\n%s", status,
		      r->err);
}

static void prun_free(struct prun *r)
{
	free(r->out);
	free(r->err);
	rm_dir(r->dir);
}

static char *path_in(const struct prun *r, const char *name)
{
	static char buf[4][600];
	static int k;
	char *b = buf[k++ % 4];
	snprintf(b, sizeof(buf[0]), "%s/%s", r->dir, name);
	return b;
}

static int leak_line(const struct prun *r)
{
	const char *p = strstr(r->out, "leak_here line ");
	ck_assert_msg(p, "fmtprog printed: %s", r->out);
	return atoi(p + 15);
}

/* ---- Reading tool output ----------------------------------------------- */

/* In `go tool pprof -top` output, the flat (col 0) or cum (col 3) value of
 * the row whose name is fn; -1 when there is none. Units (a "B" suffix) are
 * ignored. */
static long long top_value(const char *out, const char *fn, int col)
{
	const char *line = out;
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[1024];
		snprintf(buf, sizeof(buf), "%.*s", (int)(len < 1023 ? len : 1023), line);
		char *tok[8];
		int n = 0;
		for (char *save, *t = strtok_r(buf, " \t", &save); t && n < 8; t = strtok_r(NULL, " \t", &save))
			tok[n++] = t;
		if (n == 6 && !strcmp(tok[5], fn))
			return atoll(tok[col]);
		line = nl ? nl + 1 : NULL;
	}
	return -1;
}

/* The value of a sample "name{...}" whose labels include each of the
 * given label="value" strings (NULL-terminated); NAN when absent. */
static double om_value(const char *text, const char *name, const char *const want[])
{
	size_t nlen = strlen(name);
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[2048];
		snprintf(buf, sizeof(buf), "%.*s", (int)(len < 2047 ? len : 2047), line);
		line = nl ? nl + 1 : NULL;
		if (strncmp(buf, name, nlen) || buf[nlen] != '{')
			continue;
		bool all = true;
		for (int i = 0; want && want[i]; i++)
			all &= strstr(buf, want[i]) != NULL;
		if (all)
			return strtod(strrchr(buf, ' ') + 1, NULL);
	}
	return NAN;
}

static double om_fn(const char *text, const char *name, const char *fn)
{
	char l[128];
	snprintf(l, sizeof(l), "fn=\"%s\"", fn);
	const char *want[] = { l, NULL };
	return om_value(text, name, want);
}

/* ---- pprof ------------------------------------------------------------- */

static const char *const pprof_env[] = { "CGOSHIM_FORMAT=pprof", "CGOSHIM_OUTPUT=@DIR@/p.pb.gz", NULL };

START_TEST(pprof_top)
{
	const char *go = need_go();
	struct prun r = { 0 };
	const char *args[] = { hbin("fmtprog"), NULL };
	prun(&r, pprof_env, args, NULL, NULL);
	const char *prof = path_in(&r, "p.pb.gz");
	char *out;
	const char *top[] = { go, "tool", "pprof", "-top", "-unit=B", "-nodefraction=0",
			      "-sample_index=inuse_space", prof, NULL };
	ck_assert_msg(tool(top, NULL, &out) == 0, "go tool pprof -top failed:\n%s", out);
	ck_assert_msg(top_value(out, "leak_here", 0) == LEAK_HERE_BYTES, "leak_here not at %d B:\n%s",
		      LEAK_HERE_BYTES, out);
	ck_assert_msg(top_value(out, "leak_other", 0) == LEAK_OTHER_BYTES, "leak_other:\n%s", out);
	/* Both are called from main: its cum holds both. */
	ck_assert_int_ge(top_value(out, "main", 3), LEAK_HERE_BYTES + LEAK_OTHER_BYTES);
	ck_assert_ptr_nonnull(strstr(out, "Type: inuse_space"));
	free(out);

	/* inuse_space is the default sample type. */
	const char *dflt[] = { go, "tool", "pprof", "-top", "-unit=B", "-nodefraction=0", prof, NULL };
	ck_assert_int_eq(tool(dflt, NULL, &out), 0);
	ck_assert_int_eq(top_value(out, "leak_here", 0), LEAK_HERE_BYTES);
	free(out);

	const char *objs[] = { go, "tool", "pprof", "-top", "-nodefraction=0",
			       "-sample_index=inuse_objects", prof, NULL };
	ck_assert_int_eq(tool(objs, NULL, &out), 0);
	ck_assert_msg(top_value(out, "leak_here", 0) == LEAK_HERE_COUNT, "objects:\n%s", out);
	ck_assert_int_eq(top_value(out, "leak_other", 0), 3);
	free(out);
	prun_free(&r);
}
END_TEST

START_TEST(pprof_list)
{
	const char *go = need_go();
	const char *root = getenv("CGOSHIM_TEST_BUILDROOT");
	ck_assert_ptr_nonnull(root);
	struct prun r = { 0 };
	const char *args[] = { hbin("fmtprog"), NULL };
	prun(&r, pprof_env, args, NULL, NULL);
	int line = leak_line(&r);
	const char *prof = path_in(&r, "p.pb.gz");
	char srcpath[600], *out;
	/* File names are as the compiler saw them, relative to the build root. */
	snprintf(srcpath, sizeof(srcpath), "-source_path=%s", root);
	const char *list[] = { go, "tool", "pprof", "-list=^leak_here$", "-unit=B", srcpath, prof, NULL };
	ck_assert_msg(tool(list, NULL, &out) == 0, "go tool pprof -list failed:\n%s", out);
	ck_assert_msg(strstr(out, "ROUTINE ======================== leak_here in "), "%s", out);
	/* The malloc call's line carries the bytes (flat and cum). */
	char want_line[32], want_bytes[32];
	snprintf(want_line, sizeof(want_line), " %d:", line);
	snprintf(want_bytes, sizeof(want_bytes), "%dB", LEAK_HERE_BYTES);
	bool found = false;
	for (char *save, *l = strtok_r(out, "\n", &save); l && !found; l = strtok_r(NULL, "\n", &save))
		found = strstr(l, want_line) && strstr(l, "malloc(1111)") && strstr(l, want_bytes);
	ck_assert_msg(found, "no line \"%s ... malloc(1111)\" with %s", want_line, want_bytes);
	free(out);

	const char *lines[] = { go, "tool", "pprof", "-top", "-lines", "-unit=B", prof, NULL };
	ck_assert_int_eq(tool(lines, NULL, &out), 0);
	/* "leak_here DIR/fmtprog.c:LINE", whatever the directory. */
	char want[64];
	snprintf(want, sizeof(want), "/fmtprog.c:%d", line);
	bool named = false;
	for (char *save, *l = strtok_r(out, "\n", &save); l && !named; l = strtok_r(NULL, "\n", &save))
		named = strstr(l, " leak_here ") && strstr(l, want) && strstr(l, want_bytes);
	ck_assert_msg(named, "no row \"leak_here ...%s\" with %s", want, want_bytes);
	free(out);
	prun_free(&r);
}
END_TEST

START_TEST(pprof_calls)
{
	const char *go = need_go();
	const char *args[] = { hbin("fmtprog"), NULL };
	struct hrun j;
	ck_assert_int_eq(hrun(args, NULL, &j), 0);
	ck_assert_ptr_nonnull(j.final);
	long long reads = hcount(j.final, "read");
	ck_assert_int_eq(reads, READS + READ_ERRORS);

	struct prun r = { 0 };
	prun(&r, pprof_env, args, NULL, NULL);
	const char *prof = path_in(&r, "p.pb.gz");
	char *out;
	const char *calls[] = { go, "tool", "pprof", "-top", "-nodefraction=0", "-sample_index=calls", prof, NULL };
	ck_assert_int_eq(tool(calls, NULL, &out), 0);
	ck_assert_msg(top_value(out, "read", 0) == reads, "read calls:\n%s", out);
	/* Every function, as in the JSON report of the other run. */
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(j.final, "calls"), i, c) {
		const char *fn = json_string_value(json_object_get(c, "fn"));
		long long count = json_integer_value(json_object_get(c, "count"));
		ck_assert_msg(top_value(out, fn, 0) == count, "%s: %lld calls in JSON:\n%s", fn, count, out);
	}
	/* No leak site in the call samples: leak_here has no calls. */
	ck_assert_int_eq(top_value(out, "leak_here", 0), -1);
	free(out);
	const char *ns[] = { go, "tool", "pprof", "-top", "-nodefraction=0", "-unit=ns", "-sample_index=time", prof, NULL };
	ck_assert_int_eq(tool(ns, NULL, &out), 0);
	ck_assert_msg(top_value(out, "read", 0) > 0, "read time:\n%s", out);
	ck_assert_ptr_nonnull(strstr(out, "Type: time"));
	free(out);
	prun_free(&r);
	hrun_free(&j);
}
END_TEST

START_TEST(pprof_go)
{
	const char *go = need_go();
	const char *ex = getenv("CGOSHIM_TEST_EXAMPLES");
	char prog[600];
	snprintf(prog, sizeof(prog), "%s/cstring-leak", ex ? ex : "");
	if (access(prog, X_OK))
		skip("examples/cstring-leak was not built (no Go toolchain when meson was set up)");
	struct prun r = { 0 };
	const char *args[] = { prog, "-n", "400", NULL };
	prun(&r, pprof_env, args, NULL, NULL);
	char *out;
	/* Only the samples the shim labelled as made through C.CString. */
	const char *top[] = { go, "tool", "pprof", "-top", "-unit=B", "-nodefraction=0", "-tagfocus=cgo=C.CString",
			      path_in(&r, "p.pb.gz"), NULL };
	ck_assert_int_eq(tool(top, NULL, &out), 0);
	/* Each leaked C.CString is 123 bytes (examples/cstring-leak/main.go). */
	ck_assert_msg(top_value(out, "main.serve", 3) == 400 * 123, "main.serve:\n%s", out);
	ck_assert_msg(top_value(out, "main.main", 3) == 400 * 123, "main.main:\n%s", out);
	free(out);
	prun_free(&r);
}
END_TEST

START_TEST(pprof_default_output)
{
	const char *env[] = { "CGOSHIM_FORMAT=pprof", NULL };
	struct prun r = { 0 };
	const char *args[] = { hbin("fmtprog"), NULL };
	prun(&r, env, args, NULL, NULL);
	DIR *d = opendir(r.dir);
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	int found = 0;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (!strncmp(e->d_name, "cgoshim.", 8) && n > 14 && !strcmp(e->d_name + n - 6, ".pb.gz")) {
			size_t len;
			char *p = slurp(path_in(&r, e->d_name), &len);
			ck_assert(len > 18 && (unsigned char)p[0] == 0x1f && (unsigned char)p[1] == 0x8b);
			free(p);
			found++;
		}
	}
	closedir(d);
	ck_assert_int_eq(found, 1);
	/* Nothing binary went to stderr. */
	ck_assert_ptr_null(strstr(r.err, "\x1f\x8b"));
	prun_free(&r);
}
END_TEST

/* ---- Prometheus -------------------------------------------------------- */

static const char *const om_env[] = { "CGOSHIM_FORMAT=openmetrics", "CGOSHIM_OUTPUT=@DIR@/m.prom", NULL };

START_TEST(om_promtool)
{
	const char *promtool = need_promtool();
	const char *args[] = { hbin("fmtprog"), NULL };
	struct hrun j;
	ck_assert_int_eq(hrun(args, NULL, &j), 0);
	ck_assert_ptr_nonnull(j.final);

	struct prun r = { 0 };
	prun(&r, om_env, args, NULL, NULL);
	char *text = slurp(path_in(&r, "m.prom"), NULL), *why;
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(promtool_passes(promtool, text, &why), "promtool check metrics:\n%s\non:\n%s", why, text);
	free(why);

	/* What fmtprog is known to do. */
	ck_assert_double_eq(om_fn(text, "cgoshim_calls_total", "read"), READS + READ_ERRORS);
	ck_assert_double_eq(om_fn(text, "cgoshim_call_errors_total", "read"), READ_ERRORS);
	ck_assert_double_ge(om_value(text, "cgoshim_heap_live_bytes", NULL), LEAK_HERE_BYTES + LEAK_OTHER_BYTES);
	/* The same as the JSON report of another run, function by function. */
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(j.final, "calls"), i, c) {
		const char *fn = json_string_value(json_object_get(c, "fn"));
		double count = (double)json_integer_value(json_object_get(c, "count"));
		ck_assert_msg(om_fn(text, "cgoshim_calls_total", fn) == count, "%s: %g calls, JSON %g", fn,
			      om_fn(text, "cgoshim_calls_total", fn), count);
		ck_assert_double_eq(om_fn(text, "cgoshim_call_errors_total", fn),
				    (double)json_integer_value(json_object_get(c, "errors")));
		ck_assert_double_eq(om_fn(text, "cgoshim_call_duration_seconds_count", fn), count);
		char l[128];
		snprintf(l, sizeof(l), "fn=\"%s\"", fn);
		const char *inf[] = { l, "le=\"+Inf\"", NULL };
		ck_assert_double_eq(om_value(text, "cgoshim_call_duration_seconds_bucket", inf), count);
		ck_assert_double_gt(om_fn(text, "cgoshim_call_duration_seconds_sum", fn), 0);
	}
	ck_assert_double_eq(om_value(text, "cgoshim_heap_live_bytes", NULL), (double)hnum(j.final, "leaks.bytes"));
	ck_assert_double_eq(om_value(text, "cgoshim_heap_live_allocations", NULL),
			    (double)hnum(j.final, "leaks.count"));
	/* Labelled with the program; the report's time is now-ish. */
	const char *prog[] = { "program=\"fmtprog\"", NULL };
	ck_assert(!isnan(om_value(text, "cgoshim_calls_total", prog)));
	double ts = om_value(text, "cgoshim_report_timestamp_seconds", NULL);
	ck_assert_double_lt(fabs(ts - (double)time(NULL)), 600);
	free(text);
	prun_free(&r);
	hrun_free(&j);
}
END_TEST

struct watch {
	const char *path;
	bool seen;
	int vanished;        /* polls that found no file after it existed */
	ino_t inode[256];
	int ninodes;
	char *copy[256];     /* distinct contents, in the order seen */
	int ncopies;
	struct timespec mtime;
	off_t size;
};

static void watch_tick(void *arg)
{
	struct watch *w = arg;
	struct stat st;
	if (stat(w->path, &st)) {
		w->vanished += w->seen;
		return;
	}
	bool changed = !w->seen || st.st_ino != w->inode[w->ninodes - 1] || st.st_size != w->size ||
		       st.st_mtim.tv_nsec != w->mtime.tv_nsec || st.st_mtim.tv_sec != w->mtime.tv_sec;
	if (!changed)
		return;
	w->seen = true;
	w->size = st.st_size;
	w->mtime = st.st_mtim;
	if (w->ninodes < 256 && (!w->ninodes || w->inode[w->ninodes - 1] != st.st_ino))
		w->inode[w->ninodes++] = st.st_ino;
	char *text = slurp(w->path, NULL);
	if (text && w->ncopies < 256 && (!w->ncopies || strcmp(w->copy[w->ncopies - 1], text)))
		w->copy[w->ncopies++] = text;
	else
		free(text);
}

START_TEST(om_interval)
{
	const char *promtool = need_promtool();
	const char *env[] = { "CGOSHIM_FORMAT=openmetrics", "CGOSHIM_OUTPUT=@DIR@/m.prom",
			      "CGOSHIM_INTERVAL=200ms", NULL };
	struct prun r = { 0 };
	snprintf(r.dir, sizeof(r.dir), "/tmp/cgoshim-fmt-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(r.dir));
	struct watch w = { .path = path_in(&r, "m.prom") };
	const char *args[] = { hbin("fmtprog"), "1200", NULL };
	prun(&r, env, args, watch_tick, &w);

	/* About 6 dumps in 1.2 s, and the final one: at least 3 seen. */
	ck_assert_msg(w.ncopies >= 3, "only %d versions of the file seen", w.ncopies);
	ck_assert_msg(w.ninodes >= 3, "only %d inodes seen: not replaced by rename", w.ninodes);
	ck_assert_msg(!w.vanished, "the file was missing %d times after it first appeared", w.vanished);
	double last_ts = 0, last_reads = 0;
	for (int i = 0; i < w.ncopies; i++) {
		const char *t = w.copy[i];
		size_t n = strlen(t);
		ck_assert_msg(n > 6 && !strcmp(t + n - 6, "# EOF\n"), "copy %d is not complete:\n%s", i, t);
		char *why;
		ck_assert_msg(promtool_passes(promtool, t, &why), "copy %d: %s\n%s", i, why, t);
		free(why);
		double ts = om_value(t, "cgoshim_report_timestamp_seconds", NULL);
		double reads = om_fn(t, "cgoshim_calls_total", "read");
		ck_assert_msg(ts > last_ts, "copy %d: timestamp %.9f after %.9f", i, ts, last_ts);
		ck_assert_msg(reads >= last_reads, "copy %d: read count went down", i);
		last_ts = ts;
		last_reads = reads;
	}
	/* The file now is the final report: the last copy seen. */
	char *final = slurp(w.path, NULL);
	ck_assert_str_eq(final, w.copy[w.ncopies - 1]);
	ck_assert_double_gt(om_fn(final, "cgoshim_calls_total", "read"), READS + READ_ERRORS);
	free(final);
	/* Nothing left behind: no temporary files. */
	char list[4096];
	ck_assert_msg(dir_entries(r.dir, list, sizeof(list)) == 1, "files: %s", list);
	for (int i = 0; i < w.ncopies; i++)
		free(w.copy[i]);
	prun_free(&r);
}
END_TEST

START_TEST(om_replace)
{
	struct prun r = { 0 };
	const char *args[] = { hbin("fmtprog"), NULL };
	prun(&r, om_env, args, NULL, NULL);
	char *first = slurp(path_in(&r, "m.prom"), NULL);
	ck_assert_ptr_nonnull(first);
	struct prun r2 = { 0 };
	strcpy(r2.dir, r.dir);
	prun(&r2, om_env, args, NULL, NULL);
	char *second = slurp(path_in(&r, "m.prom"), NULL);
	ck_assert_ptr_nonnull(second);
	char list[4096];
	ck_assert_msg(dir_entries(r.dir, list, sizeof(list)) == 1, "files: %s", list);
	/* The second run's metrics, with the second run's pid. */
	const char *p1 = strstr(first, "pid=\""), *p2 = strstr(second, "pid=\"");
	ck_assert(p1 && p2);
	ck_assert_int_ne(atoi(p1 + 5), atoi(p2 + 5));
	free(first);
	free(second);
	free(r2.out);
	free(r2.err);
	prun_free(&r);
}
END_TEST

START_TEST(om_symlink)
{
	struct prun r = { 0 };
	snprintf(r.dir, sizeof(r.dir), "/tmp/cgoshim-fmt-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(r.dir));
	spit(path_in(&r, "target"), "sentinel\n");
	ck_assert_int_eq(symlink("target", path_in(&r, "m.prom")), 0);
	const char *args[] = { hbin("fmtprog"), NULL };
	prun(&r, om_env, args, NULL, NULL);
	char *t = slurp(path_in(&r, "target"), NULL);
	ck_assert_str_eq(t, "sentinel\n");
	free(t);
	struct stat st;
	ck_assert_int_eq(lstat(path_in(&r, "m.prom"), &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	ck_assert_msg(strstr(r.err, "symbolic link"), "stderr: %s", r.err);
	char list[4096];
	ck_assert_msg(dir_entries(r.dir, list, sizeof(list)) == 2, "files: %s", list);
	prun_free(&r);
}
END_TEST

START_TEST(interval_json)
{
	const char *env[] = { "CGOSHIM_INTERVAL=200ms", NULL };
	struct hopts o = { .env = env };
	const char *args[] = { hbin("fmtprog"), "1000", NULL };
	struct hrun r;
	ck_assert_int_eq(hrun(args, &o, &r), 0);
	ck_assert_ptr_nonnull(r.final);
	size_t n;
	json_t **v = hreports(&r, &n);
	int intervals = 0;
	long long last_seq = 0, last_reads = 0;
	for (size_t i = 0; i < n; i++) {
		const char *trig = json_string_value(json_object_get(v[i], "trigger"));
		bool final = json_is_true(json_object_get(v[i], "final"));
		long long seq = hnum(v[i], "seq");
		ck_assert_int_gt(seq, last_seq);
		last_seq = seq;
		ck_assert_int_ge(hcount(v[i], "read"), last_reads);
		last_reads = hcount(v[i], "read");
		if (i + 1 < n) {
			ck_assert_msg(!final && !strcmp(trig, "interval"), "report %zu: trigger %s", i, trig);
			intervals++;
		} else {
			ck_assert_msg(final && !strcmp(trig, "exit"), "last report: trigger %s", trig);
		}
	}
	ck_assert_msg(intervals >= 3, "%d interval reports in 1 s at 200ms", intervals);
	hreports_free(v, n);
	hrun_free(&r);
}
END_TEST

/* ---- main -------------------------------------------------------------- */

/* With a case name (how meson runs them), only that case, in this process,
 * so that a skip exits 77; with none, every case, each in its own process. */
int main(int argc, char **argv)
{
	const struct {
		const char *name;
		const TTest *test;
	} cases[] = {
		{ "pprof-top", pprof_top },
		{ "pprof-list", pprof_list },
		{ "pprof-calls", pprof_calls },
		{ "pprof-go", pprof_go },
		{ "pprof-default", pprof_default_output },
		{ "om-promtool", om_promtool },
		{ "om-interval", om_interval },
		{ "om-replace", om_replace },
		{ "om-symlink", om_symlink },
		{ "interval-json", interval_json },
	};
	Suite *s = suite_create("formats");
	TCase *tc = tcase_create("formats");
	tcase_set_timeout(tc, 120);
	bool found = false;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (argc < 2 || !strcmp(argv[1], cases[i].name)) {
			tcase_add_test(tc, cases[i].test);
			found = true;
		}
	if (!found) {
		fprintf(stderr, "unknown case %s\n", argv[1]);
		return 2;
	}
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	if (argc >= 2)
		srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
