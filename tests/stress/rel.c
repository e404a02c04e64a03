/* rel.c - see rel.h. */
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

#include "rel.h"

extern char **environ;

void rel_msleep(int ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&t, &t) && errno == EINTR)
		;
}

double rel_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void rel_skip(const char *why)
{
	printf("SKIP: %s\n", why);
	fflush(stdout);
	exit(77);
}

const char *rel_jstr(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

long long rel_jint(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

long long rel_sites_of_size(json_t *report, long long size, long long *bytes)
{
	long long count = 0, b = 0;
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(json_object_get(report, "leaks"), "sites"), i, s) {
		long long c = rel_jint(s, "count"), sb = rel_jint(s, "bytes");
		if (c > 0 && sb == c * size) {
			count += c;
			b += sb;
		}
	}
	if (bytes)
		*bytes = b;
	return count;
}

/* ---- running programs ---- */

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

int rel_run(const char *const argv[], const char *const extra[], const char *cwd, const char *in_file,
	    int timeout_s, const char *hang_tag, struct rel_proc *p)
{
	memset(p, 0, sizeof(*p));
	int out[2], err[2];
	if (pipe2(out, O_CLOEXEC))
		return -1;
	if (pipe2(err, O_CLOEXEC)) {
		close(out[0]);
		close(out[1]);
		return -1;
	}
	char **env = make_env(extra);
	double start = rel_now();
	pid_t pid = fork();
	if (pid < 0) {
		free(env);
		return -1;
	}
	if (pid == 0) {
		int in = open(in_file ? in_file : "/dev/null", O_RDONLY);
		if (in < 0 || dup2(in, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
			_exit(126);
		if (cwd && chdir(cwd))
			_exit(126);
		/* A fresh process group, so a timeout can end everything it started. */
		setpgid(0, 0);
		environ = env;
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	free(env);
	close(out[1]);
	close(err[1]);
	struct sink so = { out[0], NULL, 0, 0 }, se = { err[0], NULL, 0, 0 };
	double end = start + (timeout_s > 0 ? timeout_s : 60);
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
			rel_msleep(5);
		for (int i = 0; i < n; i++)
			if (pf[i].revents)
				sink_read(pf[i].fd == so.fd ? &so : &se);
		if (!reaped && waitpid(pid, &p->status, WNOHANG) == pid)
			reaped = true;
		if (rel_now() > end) {
			if (hang_tag) {
				printf("timed out after %d s; stacks:\n", timeout_s);
				rel_print_stacks_of(hang_tag, pid);
			}
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
	p->seconds = rel_now() - start;
	p->out = so.buf ? so.buf : strdup("");
	p->err = se.buf ? se.buf : strdup("");
	p->out_len = so.len;
	p->err_len = se.len;
	return rc;
}

void rel_proc_free(struct rel_proc *p)
{
	free(p->out);
	free(p->err);
	p->out = p->err = NULL;
}

/* ---- reports ---- */

static int cmp_names(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

char **rel_report_names(const char *dir, size_t *n)
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

void rel_free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

json_t *rel_wait_final(const char *dir, int pid, int timeout_ms)
{
	double until = rel_now() + timeout_ms / 1000.0;
	do {
		size_t n;
		char **v = rel_report_names(dir, &n);
		json_t *found = NULL;
		for (size_t i = 0; i < n && !found; i++) {
			json_error_t e;
			json_t *j = json_load_file(v[i], 0, &e);
			if (j && json_is_true(json_object_get(j, "final")) && rel_jint(j, "pid") == pid)
				found = j;
			else
				json_decref(j);
		}
		rel_free_names(v, n);
		if (found)
			return found;
		rel_msleep(20);
	} while (rel_now() < until);
	return NULL;
}

bool rel_exited(int pid)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT))
		return errno == ECHILD;
	return si.si_pid == pid;
}

/* Process group of pid (field 5 of /proc/PID/stat), or -1. */
static int pgid_of(int pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t k = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[k] = 0;
	const char *p = strrchr(buf, ')'); /* the name may hold spaces */
	int ppid, pgrp;
	char state;
	if (!p || sscanf(p + 1, " %c %d %d", &state, &ppid, &pgrp) != 3)
		return -1;
	return pgrp;
}

/* Pids of processes whose command line contains needle (or, when pgid > 0,
 * that are in that process group), and, when comm_prefix is set, whose
 * name starts with it; returns the count. */
static int find_procs(const char *needle, int pgid, const char *comm_prefix, int *pids, int max)
{
	DIR *d = opendir("/proc");
	int n = 0;
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < max) {
		int pid = atoi(e->d_name);
		if (pid <= 0 || pid == getpid())
			continue;
		char path[64], comm[64] = "", cmd[4096];
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
		if (comm_prefix && strncmp(comm, comm_prefix, strlen(comm_prefix)))
			continue;
		if (pgid > 0 && pgid_of(pid) == pgid) {
			pids[n++] = pid;
			continue;
		}
		snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
		f = fopen(path, "r");
		if (!f)
			continue;
		size_t k = fread(cmd, 1, sizeof(cmd) - 1, f);
		fclose(f);
		for (size_t i = 0; i < k; i++)
			if (!cmd[i])
				cmd[i] = ' ';
		cmd[k] = 0;
		if (needle && strstr(cmd, needle))
			pids[n++] = pid;
	}
	closedir(d);
	return n;
}

void rel_print_stacks(const char *needle)
{
	rel_print_stacks_of(needle, 0);
}

void rel_print_stacks_of(const char *needle, int pgid)
{
	int pids[64];
	int n = find_procs(needle, pgid, NULL, pids, 64);
	bool gdb = access("/usr/bin/gdb", X_OK) == 0;
	for (int i = 0; i < n; i++) {
		char pid[16], stat[64], path[64];
		snprintf(pid, sizeof(pid), "%d", pids[i]);
		snprintf(path, sizeof(path), "/proc/%d/stat", pids[i]);
		FILE *f = fopen(path, "r");
		stat[0] = 0;
		if (f) {
			if (!fgets(stat, sizeof(stat), f))
				stat[0] = 0;
			fclose(f);
		}
		printf("--- process %d: %s\n", pids[i], stat);
		if (!gdb)
			continue;
		const char *argv[] = { "/usr/bin/gdb", "-p", pid, "-batch", "-ex", "thread apply all bt 20", NULL };
		struct rel_proc p;
		if (rel_run(argv, NULL, NULL, NULL, 60, NULL, &p) == 0) {
			/* Only the frames. */
			for (char *line = strtok(p.out, "\n"); line; line = strtok(NULL, "\n"))
				if (line[0] == '#' || !strncmp(line, "Thread", 6))
					printf("%s\n", line);
		}
		rel_proc_free(&p);
	}
	if (!gdb)
		printf("(gdb is not installed: no stacks)\n");
	fflush(stdout);
}

int rel_kill_watchers(const char *needle)
{
	int pids[4096];
	int n = find_procs(needle, 0, "cgoshim-watch", pids, 4096), killed = 0;
	for (int i = 0; i < n; i++)
		if (kill(pids[i], SIGKILL) == 0)
			killed++;
	return killed;
}

void rel_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	rmdir(dir);
}

int rel_check_json(char *const *files, size_t n, char *msg, size_t cap)
{
	const char *script = getenv("CGS_CHECK_JSON");
	const char *py = getenv("REL_PYTHON");
	if (!script || access(script, R_OK))
		return -1;
	if (!py || !*py)
		py = "python3";
	if (cap)
		msg[0] = 0;
	int bad = 0;
	size_t used = 0;
	for (size_t at = 0; at < n; at += 100) {
		size_t k = n - at < 100 ? n - at : 100;
		const char **argv = calloc(k + 3, sizeof(char *));
		argv[0] = py;
		argv[1] = script;
		for (size_t i = 0; i < k; i++)
			argv[2 + i] = files[at + i];
		struct rel_proc p;
		int rc = rel_run(argv, NULL, NULL, NULL, 300, NULL, &p);
		free(argv);
		if (rc || !WIFEXITED(p.status) || (WEXITSTATUS(p.status) != 0 && WEXITSTATUS(p.status) != 1)) {
			rel_proc_free(&p);
			return -1;
		}
		if (WEXITSTATUS(p.status)) {
			/* One line per problem, each starting with the file name. */
			for (size_t i = 0; i < k; i++)
				if (strstr(p.out, files[at + i]) || strstr(p.err, files[at + i]))
					bad++;
			if (cap > used + 1) {
				int w = snprintf(msg + used, cap - used, "%s%s", p.out, p.err);
				used += w > 0 ? (size_t)w : 0;
				if (used >= cap)
					used = cap - 1;
			}
		}
		rel_proc_free(&p);
	}
	return bad;
}

/* ---- main ---- */

int rel_main(int argc, char **argv, const char *suite, const struct rel_case *cases, size_t n)
{
	Suite *s = suite_create(suite);
	const char *only = argc > 1 ? argv[1] : NULL;
	size_t added = 0;
	for (size_t i = 0; i < n; i++) {
		if (only && strcmp(only, cases[i].name))
			continue;
		const char *why = cases[i].need ? cases[i].need() : NULL;
		if (why && only)
			rel_skip(why);
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
