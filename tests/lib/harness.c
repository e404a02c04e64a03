/* harness.c - see harness.h. */
#define _GNU_SOURCE
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
#include <sys/wait.h>

#include "harness.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
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

struct sink {
	int fd;
	char *buf;
	size_t len, cap;
};

static void sink_read(struct sink *s)
{
	char tmp[65536];
	ssize_t k = read(s->fd, tmp, sizeof(tmp));
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

static char **build_env(const struct hopts *o, const char *dir)
{
	extern char **environ;
	size_t n = 0, extra = 0;
	while (environ[n])
		n++;
	while (o && o->env && o->env[extra])
		extra++;
	char **env = calloc(n + extra + 8, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "CGOSHIM_", 8) && strncmp(environ[i], "LD_PRELOAD=", 11))
			env[k++] = environ[i];
	if (!o || !o->no_preload) {
		if (!o || !o->launcher) {
			char *pre;
			if (asprintf(&pre, "LD_PRELOAD=%s", getenv("CGOSHIM_TEST_LIB")) > 0)
				env[k++] = pre;
		}
		env[k++] = "CGOSHIM_FORMAT=json";
		char *out;
		if (asprintf(&out, "CGOSHIM_OUTPUT=%s/r.%%p.%%n.json", dir) > 0)
			env[k++] = out;
	}
	for (size_t i = 0; i < extra; i++)
		env[k++] = (char *)o->env[i];
	env[k] = NULL;
	return env;
}

static json_t *load(const char *path)
{
	json_error_t err;
	return json_load_file(path, 0, &err);
}

static int cmp_names(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

/* Report file names in dir, sorted. */
static char **list(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	char **v = NULL;
	*n = 0;
	if (!d)
		return NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "r.", 2))
			continue;
		v = realloc(v, (*n + 1) * sizeof(*v));
		if (asprintf(&v[*n], "%s/%s", dir, e->d_name) > 0)
			(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_names);
	return v;
}

static json_t *find_final(const char *dir, int pid)
{
	size_t n;
	char **v = list(dir, &n);
	json_t *found = NULL;
	for (size_t i = 0; i < n; i++) {
		json_t *j = found ? NULL : load(v[i]);
		if (j && json_is_true(json_object_get(j, "final")) &&
		    json_integer_value(json_object_get(j, "pid")) == pid)
			found = j;
		else
			json_decref(j);
		free(v[i]);
	}
	free(v);
	return found;
}

int hrun(const char *const argv[], const struct hopts *o, struct hrun *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/cgoshim-test-XXXXXX");
	if (!mkdtemp(r->dir))
		return -1;
	int out[2], err[2], in[2];
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || pipe2(in, O_CLOEXEC))
		return -1;
	char **env = build_env(o, r->dir);
	const char *largv[64];
	size_t a = 0;
	if (o && o->launcher) {
		largv[a++] = getenv("CGOSHIM_TEST_LAUNCHER");
		largv[a++] = "--";
	}
	for (size_t i = 0; argv[i] && a < 63; i++)
		largv[a++] = argv[i];
	largv[a] = NULL;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		execve(largv[0], (char *const *)largv, env);
		_exit(127);
	}
	r->pid = pid;
	close(out[1]);
	close(err[1]);
	close(in[0]);
	if (o && o->stdin_data) {
		ssize_t ignored = write(in[1], o->stdin_data, strlen(o->stdin_data));
		(void)ignored;
	}
	close(in[1]);
	if (o && o->during)
		o->during(pid, o->arg);
	struct sink so = { out[0], NULL, 0, 0 }, se = { err[0], NULL, 0, 0 };
	int timeout = (o && o->timeout_s) ? o->timeout_s : 60;
	double end = now_s() + timeout;
	int rc = 0;
	bool reaped = false;
	while (so.fd >= 0 || se.fd >= 0 || !reaped) {
		struct pollfd p[2];
		int n = 0;
		if (so.fd >= 0)
			p[n++] = (struct pollfd){ so.fd, POLLIN, 0 };
		if (se.fd >= 0)
			p[n++] = (struct pollfd){ se.fd, POLLIN, 0 };
		if (n)
			poll(p, (nfds_t)n, 100);
		else
			usleep(10000);
		for (int i = 0; i < n; i++)
			if (p[i].revents)
				sink_read(p[i].fd == so.fd ? &so : &se);
		if (!reaped && waitpid(pid, &r->status, WNOHANG) == pid)
			reaped = true;
		if (now_s() > end) {
			kill(pid, SIGKILL);
			if (!reaped)
				waitpid(pid, &r->status, 0);
			reaped = true;
			rc = -1;
			break;
		}
	}
	if (so.fd >= 0)
		close(so.fd);
	if (se.fd >= 0)
		close(se.fd);
	r->out = so.buf ? so.buf : strdup("");
	r->err = se.buf ? se.buf : strdup("");
	if (!o || !o->no_preload) {
		/* Under the launcher the report's pid is the program's, not ours. */
		double until = now_s() + 10;
		while (!r->final && now_s() < until) {
			size_t n;
			char **v = list(r->dir, &n);
			for (size_t i = 0; i < n && !r->final; i++) {
				json_t *j = load(v[i]);
				if (j && json_is_true(json_object_get(j, "final")) &&
				    (!(o && o->launcher) ? json_integer_value(json_object_get(j, "pid")) == pid : 1))
					r->final = j;
				else
					json_decref(j);
			}
			for (size_t i = 0; i < n; i++)
				free(v[i]);
			free(v);
			if (!r->final)
				usleep(5000);
		}
		(void)find_final;
	}
	size_t n;
	char **v = list(r->dir, &n);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	r->nreports = n;
	return rc;
}

void hrun_free(struct hrun *r)
{
	free(r->out);
	free(r->err);
	json_decref(r->final);
	size_t n;
	char **v = list(r->dir, &n);
	for (size_t i = 0; i < n; i++) {
		unlink(v[i]);
		free(v[i]);
	}
	free(v);
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
	char **v = list(r->dir, &k);
	json_t **out = calloc(k ? k : 1, sizeof(*out));
	*n = 0;
	for (size_t i = 0; i < k; i++) {
		json_t *j = load(v[i]);
		if (j)
			out[(*n)++] = j;
		free(v[i]);
	}
	free(v);
	qsort(out, *n, sizeof(*out), cmp_reports);
	return out;
}

void hreports_free(json_t **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(v[i]);
	free(v);
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
