/* rel.c - see rel.h. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "rel.h"

void rel_msleep(int ms)
{
	hmsleep(ms);
}

double rel_now(void)
{
	return hnow();
}

void rel_skip(const char *why)
{
	hskip(why);
}

const char *rel_jstr(json_t *obj, const char *key)
{
	return hjstr(obj, key);
}

long long rel_jint(json_t *obj, const char *key)
{
	return hjint(obj, key);
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

/* hspawn's on_timeout: show where the programs hang before they are killed. */
struct hang {
	const char *tag;
	int timeout_s;
};

static void print_hang(int pid, void *arg)
{
	const struct hang *h = arg;
	printf("timed out after %d s; stacks:\n", h->timeout_s);
	rel_print_stacks_of(h->tag, pid);
}

int rel_run(const char *const argv[], const char *const extra[], const char *cwd, const char *in_file,
	    int timeout_s, const char *hang_tag, struct rel_proc *p)
{
	struct hang h = { hang_tag, timeout_s };
	struct hspawn o = {
		.env = extra,
		.search_path = true,
		.own_group = true,
		.cwd = cwd,
		.in_file = in_file ? in_file : "/dev/null",
		.timeout_s = timeout_s,
		.on_timeout = hang_tag ? print_hang : NULL,
		.arg = &h,
	};
	struct hproc hp;
	int rc = hspawn(argv, &o, &hp);
	*p = (struct rel_proc){ hp.status, hp.out, hp.err, hp.out_len, hp.err_len, hp.timed_out, hp.seconds };
	return rc;
}

void rel_proc_free(struct rel_proc *p)
{
	free(p->out);
	free(p->err);
	p->out = p->err = NULL;
}

/* ---- reports ---- */

char **rel_report_names(const char *dir, size_t *n)
{
	return hreport_names(dir, n);
}

void rel_free_names(char **v, size_t n)
{
	hnames_free(v, n);
}

json_t *rel_wait_final(const char *dir, int pid, int timeout_ms)
{
	return hwait_final(dir, pid, timeout_ms);
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
	struct hcase *h = calloc(n ? n : 1, sizeof(*h));
	for (size_t i = 0; i < n; i++)
		h[i] = (struct hcase){ cases[i].name, cases[i].test, cases[i].need, cases[i].timeout_s };
	int rc = hmain(argc, argv, suite, h, n);
	free(h);
	return rc;
}
