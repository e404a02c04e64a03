/* harness.c - see harness.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "harness.h"

extern char **environ;

double hnow(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void hmsleep(int ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&t, &t) && errno == EINTR)
		;
}

void hskip(const char *why)
{
	printf("SKIP: %s\n", why);
	fflush(stdout);
	exit(77);
}

const char *hbin(const char *name)
{
	static char buf[8][512];
	static int k;
	const char *dir = getenv("CGOSHIM_TEST_BINDIR");
	char *b = buf[k++ % 8];
	snprintf(b, 512, "%s/%s", dir ? dir : ".", name);
	return b;
}

/* ---- running a program ---- */

struct sink {
	int fd;
	char *buf;
	size_t len, cap;
};

static void sink_read(struct sink *s)
{
	char tmp[65536];
	ssize_t k = read(s->fd, tmp, sizeof(tmp));
	if (k < 0 && errno == EINTR)
		return;
	if (k <= 0) {
		close(s->fd);
		s->fd = -1;
		return;
	}
	if (s->len + (size_t)k + 1 > s->cap) {
		s->cap = (s->len + (size_t)k + 1) * 2;
		s->buf = realloc(s->buf, s->cap);
	}
	memcpy(s->buf + s->len, tmp, (size_t)k);
	s->len += (size_t)k;
	s->buf[s->len] = 0;
}

/* environ without LD_PRELOAD and CGOSHIM_*, then extra. Free the array only. */
static char **make_env(const char *const extra[])
{
	size_t n = 0, x = 0;
	while (environ[n])
		n++;
	while (extra && extra[x])
		x++;
	char **env = calloc(n + x + 1, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) && strncmp(environ[i], "CGOSHIM_", 8))
			env[k++] = environ[i];
	for (size_t i = 0; i < x; i++)
		env[k++] = (char *)extra[i];
	env[k] = NULL;
	return env;
}

static void close_pipe(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
}

/* Whether watcher w watches a process that still runs (its command line
 * says --pid N). */
static bool watches_live(pid_t w)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)w);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	for (size_t i = 0; i + 6 < n; i += strlen(buf + i) + 1)
		if (!strcmp(buf + i, "--pid")) {
			/* Alive and not a zombie (its parent may be gone too). */
			snprintf(path, sizeof(path), "/proc/%d/stat", atoi(buf + i + 6));
			f = fopen(path, "re");
			if (!f)
				return false;
			char st[512] = "";
			if (!fgets(st, sizeof(st), f))
				st[0] = 0;
			fclose(f);
			char *paren = strrchr(st, ')');
			return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
		}
	return false;
}

/* The watchers we adopted (we are a child subreaper, see hspawn): the
 * children named cgoshim-watch. Returns how many are still running after
 * reaping those that ended. */
static int reap_watchers(void)
{
	int running = 0;
	DIR *tasks = opendir("/proc/self/task");
	struct dirent *t;
	while (tasks && (t = readdir(tasks))) {
		if (t->d_name[0] == '.')
			continue;
		char path[300], list[8192];
		snprintf(path, sizeof(path), "/proc/self/task/%s/children", t->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		size_t n = fread(list, 1, sizeof(list) - 1, f);
		fclose(f);
		list[n] = 0;
		for (char *save, *tok = strtok_r(list, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
			char comm[64] = "";
			snprintf(path, sizeof(path), "/proc/%s/comm", tok);
			FILE *c = fopen(path, "re");
			if (c) {
				if (!fgets(comm, sizeof(comm), c))
					comm[0] = 0;
				fclose(c);
			}
			if (strncmp(comm, "cgoshim-watch", 13))
				continue;
			pid_t w = (pid_t)atoi(tok);
			if (watches_live(w))
				continue; /* a daemon's: it ends with the daemon */
			if (waitpid(w, NULL, WNOHANG | __WALL) == 0)
				running++;
		}
	}
	if (tasks)
		closedir(tasks);
	return running;
}

int hspawn(const char *const argv[], const struct hspawn *o, struct hproc *p)
{
	/* The watchers of the program's processes are their children; when
	 * a process ends, its watcher (writing its final report) is adopted
	 * by the nearest child subreaper: us. hspawn returns once they are
	 * done, so every report is there (they hold no descriptor of the
	 * program's to wait for when reports go to files). */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	memset(p, 0, sizeof(*p));
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, in[2] = { -1, -1 };
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || (!o->in_file && pipe2(in, O_CLOEXEC))) {
		close_pipe(out);
		close_pipe(err);
		close_pipe(in);
		return -1;
	}
	char **env = make_env(o->env);
	double start = hnow();
	pid_t pid = fork();
	if (pid < 0) {
		free(env);
		close_pipe(out);
		close_pipe(err);
		close_pipe(in);
		return -1;
	}
	if (pid == 0) {
		int fd0 = o->in_file ? open(o->in_file, O_RDONLY) : in[0];
		if (fd0 < 0 || dup2(fd0, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
			_exit(126);
		if (o->cwd && chdir(o->cwd))
			_exit(126);
		/* A fresh process group, so a timeout can end everything it started. */
		if (o->own_group)
			setpgid(0, 0);
		environ = env;
		if (o->search_path)
			execvp(argv[0], (char *const *)argv);
		else
			execve(argv[0], (char *const *)argv, env);
		_exit(127);
	}
	free(env);
	p->pid = pid;
	close(out[1]);
	close(err[1]);
	if (!o->in_file) {
		close(in[0]);
		if (o->stdin_data) {
			ssize_t ignored = write(in[1], o->stdin_data, strlen(o->stdin_data));
			(void)ignored;
		}
		close(in[1]);
	}
	if (o->during)
		o->during(pid, o->arg);
	struct sink so = { out[0], NULL, 0, 0 }, se = { err[0], NULL, 0, 0 };
	double end = hnow() + (o->timeout_s > 0 ? o->timeout_s : 60);
	bool reaped = false;
	int rc = 0;
	while (so.fd >= 0 || se.fd >= 0 || !reaped) {
		struct pollfd pf[2];
		int n = 0;
		if (so.fd >= 0)
			pf[n++] = (struct pollfd){ so.fd, POLLIN, 0 };
		if (se.fd >= 0)
			pf[n++] = (struct pollfd){ se.fd, POLLIN, 0 };
		if (n)
			poll(pf, (nfds_t)n, 100);
		else
			hmsleep(5);
		for (int i = 0; i < n; i++)
			if (pf[i].revents)
				sink_read(pf[i].fd == so.fd ? &so : &se);
		if (!reaped && waitpid(pid, &p->status, WNOHANG) == pid)
			reaped = true;
		if (hnow() > end) {
			if (o->on_timeout)
				o->on_timeout(pid, o->arg);
			if (o->own_group)
				kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			if (!reaped)
				waitpid(pid, &p->status, 0);
			p->timed_out = true;
			rc = -1;
			break;
		}
	}
	if (so.fd >= 0)
		close(so.fd);
	if (se.fd >= 0)
		close(se.fd);
	while (rc == 0 && reap_watchers() > 0 && hnow() < end)
		hmsleep(5);
	p->seconds = hnow() - start;
	p->out = so.buf ? so.buf : strdup("");
	p->err = se.buf ? se.buf : strdup("");
	p->out_len = so.len;
	p->err_len = se.len;
	return rc;
}

void hproc_free(struct hproc *p)
{
	free(p->out);
	free(p->err);
	p->out = p->err = NULL;
}

/* ---- reports ---- */

/* The schema of a report (docs/report.schema.json), and a check of a
 * report against it: the subset of JSON Schema the file uses ($ref, const,
 * type, enum, minimum, properties in their order, required,
 * additionalProperties, items). tests/unit/check_json.py does the same in
 * Python, with the invariants besides. */
static json_t *schema_root(void)
{
	static json_t *root;
	if (!root) {
		json_error_t err;
		root = json_load_file(CGS_REPORT_SCHEMA, JSON_PRESERVE_ORDER, &err);
		if (!root)
			ck_abort_msg("cannot read the report schema %s: %s", CGS_REPORT_SCHEMA, err.text);
	}
	return root;
}

static bool type_is(json_t *v, const char *t)
{
	if (!strcmp(t, "object")) return json_is_object(v);
	if (!strcmp(t, "array")) return json_is_array(v);
	if (!strcmp(t, "string")) return json_is_string(v);
	if (!strcmp(t, "boolean")) return json_is_boolean(v);
	if (!strcmp(t, "integer")) return json_is_integer(v);
	if (!strcmp(t, "number")) return json_is_number(v);
	if (!strcmp(t, "null")) return json_is_null(v);
	return false;
}

/* Appends problems to err (cap bytes); returns false on the first. */
static bool schema_ok(json_t *v, json_t *sch, const char *where, char *err, size_t cap)
{
	json_t *ref = json_object_get(sch, "$ref");
	if (json_is_string(ref)) {
		const char *name = strrchr(json_string_value(ref), '/') + 1;
		sch = json_object_get(json_object_get(schema_root(), "$defs"), name);
	}
	json_t *c = json_object_get(sch, "const");
	if (c && !json_equal(c, v))
		return snprintf(err, cap, "%s: not the constant", where), false;
	json_t *t = json_object_get(sch, "type");
	if (t) {
		bool any = false;
		if (json_is_string(t))
			any = type_is(v, json_string_value(t));
		for (size_t i = 0; json_is_array(t) && i < json_array_size(t); i++)
			any |= type_is(v, json_string_value(json_array_get(t, i)));
		if (!any)
			return snprintf(err, cap, "%s: wrong type", where), false;
	}
	json_t *en = json_object_get(sch, "enum");
	if (en) {
		bool in = false;
		for (size_t i = 0; i < json_array_size(en); i++)
			in |= json_equal(json_array_get(en, i), v);
		if (!in)
			return snprintf(err, cap, "%s: not in its enum", where), false;
	}
	json_t *min = json_object_get(sch, "minimum");
	if (min && json_is_integer(v) && json_integer_value(v) < json_integer_value(min))
		return snprintf(err, cap, "%s: below its minimum", where), false;
	json_t *props = json_object_get(sch, "properties");
	if (props && json_is_object(v)) {
		/* Members in the schema's order (jansson keeps insertion
		 * order), none unknown, the required ones present. */
		void *it = json_object_iter(v);
		void *sit = json_object_iter(props);
		for (; it; it = json_object_iter_next(v, it)) {
			const char *k = json_object_iter_key(it);
			json_t *ps = json_object_get(props, k);
			char w[256];
			snprintf(w, sizeof(w), "%s.%s", where, k);
			if (!ps) {
				if (json_is_false(json_object_get(sch, "additionalProperties")))
					return snprintf(err, cap, "%s: not in the schema", w), false;
				continue;
			}
			while (sit && strcmp(json_object_iter_key(sit), k))
				sit = json_object_iter_next(props, sit);
			if (!sit)
				return snprintf(err, cap, "%s: out of the schema's order", w), false;
			if (!schema_ok(json_object_iter_value(it), ps, w, err, cap))
				return false;
		}
		json_t *req = json_object_get(sch, "required");
		for (size_t i = 0; i < json_array_size(req); i++)
			if (!json_object_get(v, json_string_value(json_array_get(req, i))))
				return snprintf(err, cap, "%s.%s: missing", where, json_string_value(json_array_get(req, i))),
				       false;
	}
	json_t *items = json_object_get(sch, "items");
	if (items && json_is_array(v))
		for (size_t i = 0; i < json_array_size(v); i++) {
			char w[256];
			snprintf(w, sizeof(w), "%s[%zu]", where, i);
			if (!schema_ok(json_array_get(v, i), items, w, err, cap))
				return false;
		}
	return true;
}

/* A report file, parsed (members in file order) and checked against the
 * schema: a report that breaks it fails the test that reads it. */
static json_t *load(const char *path)
{
	json_error_t err;
	json_t *j = json_load_file(path, JSON_PRESERVE_ORDER, &err);
	char why[512];
	if (j && json_is_object(j) && json_object_get(j, "schema") && !schema_ok(j, schema_root(), "report", why, sizeof(why)))
		ck_abort_msg("%s does not follow docs/report.schema.json: %s", path, why);
	return j;
}

static int cmp_names(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

char **hreport_names(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	char **v = NULL;
	size_t cap = 0;
	*n = 0;
	if (!d)
		return NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "r.", 2))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			v = realloc(v, cap * sizeof(*v));
		}
		if (asprintf(&v[*n], "%s/%s", dir, e->d_name) > 0)
			(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_names);
	return v;
}

void hnames_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int hfiles(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    !strncmp(e->d_name, prefix, strlen(prefix)))
			n++;
	closedir(d);
	return n;
}

json_t *hwait_final(const char *dir, int pid, int timeout_ms)
{
	double until = hnow() + timeout_ms / 1000.0;
	do {
		size_t n;
		char **v = hreport_names(dir, &n);
		json_t *found = NULL;
		for (size_t i = 0; i < n && !found; i++) {
			json_t *j = load(v[i]);
			if (j && json_is_true(json_object_get(j, "final")) &&
			    (pid <= 0 || hjint(j, "pid") == pid))
				found = j;
			else
				json_decref(j);
		}
		hnames_free(v, n);
		if (found)
			return found;
		hmsleep(10);
	} while (hnow() < until);
	return NULL;
}

/* ---- hrun ---- */

int hrun(const char *const argv[], const struct hopts *o, struct hrun *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/cgoshim-test-XXXXXX");
	if (!mkdtemp(r->dir))
		return -1;
	bool shim = !o || !o->no_preload, launcher = o && o->launcher;
	size_t extra = 0;
	while (o && o->env && o->env[extra])
		extra++;
	/* The shim's settings first, then the caller's. */
	const char **env = calloc(extra + 4, sizeof(char *));
	char *pre = NULL, *out = NULL;
	size_t k = 0;
	if (shim && !launcher && asprintf(&pre, "LD_PRELOAD=%s", getenv("CGOSHIM_TEST_LIB")) > 0)
		env[k++] = pre;
	if (shim) {
		env[k++] = "CGOSHIM_FORMAT=json";
		if (asprintf(&out, "CGOSHIM_OUTPUT=%s/r.%%p.%%n.json", r->dir) > 0)
			env[k++] = out;
	}
	for (size_t i = 0; i < extra; i++)
		env[k++] = o->env[i];
	const char *largv[64];
	size_t a = 0;
	if (launcher) {
		largv[a++] = getenv("CGOSHIM_TEST_LAUNCHER");
		largv[a++] = "--";
	}
	for (size_t i = 0; argv[i] && a < 63; i++)
		largv[a++] = argv[i];
	largv[a] = NULL;
	struct hspawn sp = { .env = env };
	if (o) {
		sp.stdin_data = o->stdin_data;
		sp.timeout_s = o->timeout_s;
		sp.during = o->during;
		sp.arg = o->arg;
	}
	struct hproc p;
	int rc = hspawn(largv, &sp, &p);
	free(env);
	free(pre);
	free(out);
	if (!p.pid)
		return -1;
	r->pid = p.pid;
	r->status = p.status;
	r->out = p.out;
	r->err = p.err;
	/* Under the launcher the report's pid is the program's, not ours. */
	if (shim)
		r->final = hwait_final(r->dir, launcher ? 0 : p.pid, 10000);
	int n = hfiles(r->dir, "r.");
	r->nreports = n > 0 ? (size_t)n : 0;
	return rc;
}

void hrun_free(struct hrun *r)
{
	free(r->out);
	free(r->err);
	json_decref(r->final);
	size_t n;
	char **v = hreport_names(r->dir, &n);
	for (size_t i = 0; i < n; i++)
		unlink(v[i]);
	hnames_free(v, n);
	rmdir(r->dir);
}

static int cmp_reports(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	long long px = json_integer_value(json_object_get(x, "pid")), py = json_integer_value(json_object_get(y, "pid"));
	if (px != py)
		return px < py ? -1 : 1;
	long long sx = json_integer_value(json_object_get(x, "seq")), sy = json_integer_value(json_object_get(y, "seq"));
	return (sx > sy) - (sx < sy);
}

json_t **hreports(const struct hrun *r, size_t *n)
{
	size_t k;
	char **v = hreport_names(r->dir, &k);
	json_t **out = calloc(k ? k : 1, sizeof(*out));
	*n = 0;
	for (size_t i = 0; i < k; i++) {
		json_t *j = load(v[i]);
		if (j)
			out[(*n)++] = j;
	}
	hnames_free(v, k);
	qsort(out, *n, sizeof(*out), cmp_reports);
	return out;
}

void hreports_free(json_t **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(v[i]);
	free(v);
}

const char *hjstr(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

long long hjint(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

json_t *hcall(json_t *report, const char *fn)
{
	json_t *calls = json_object_get(report, "calls");
	size_t i;
	json_t *c;
	json_array_foreach(calls, i, c)
		if (!strcmp(json_string_value(json_object_get(c, "fn")) ?: "", fn))
			return c;
	return NULL;
}

long long hcount(json_t *report, const char *fn)
{
	json_t *c = hcall(report, fn);
	return c ? json_integer_value(json_object_get(c, "count")) : 0;
}

long long hnum(json_t *report, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	json_t *j = report;
	for (char *part = strtok(buf, "."); part && j; part = strtok(NULL, "."))
		j = json_object_get(j, part);
	return j && json_is_integer(j) ? json_integer_value(j) : -1;
}

bool hexited(const struct hrun *r, int code)
{
	return WIFEXITED(r->status) && WEXITSTATUS(r->status) == code;
}

/* ---- main ---- */

int hmain(int argc, char **argv, const char *suite, const struct hcase *cases, size_t n)
{
	Suite *s = suite_create(suite);
	const char *only = argc > 1 ? argv[1] : NULL;
	size_t added = 0;
	for (size_t i = 0; i < n; i++) {
		if (only && strcmp(only, cases[i].name))
			continue;
		const char *why = cases[i].need ? cases[i].need() : NULL;
		if (why && only)
			hskip(why);
		if (why) {
			printf("%s skipped: %s\n", cases[i].name, why);
			continue;
		}
		TCase *t = tcase_create(cases[i].name);
		if (cases[i].timeout_s)
			tcase_set_timeout(t, cases[i].timeout_s);
		tcase_add_test(t, cases[i].test);
		suite_add_tcase(s, t);
		added++;
	}
	if (only && !added) {
		fprintf(stderr, "%s: no test case named %s\n", suite, only);
		return 2;
	}
	SRunner *sr = srunner_create(s);
	if (only)
		srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
