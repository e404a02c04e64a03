/* hold.c - the launcher's leak gate and its hold on the program's exit.
 *
 * Holding the exit. A program's final report is made by its watcher; to
 * sort its blocks into leak kinds the watcher must read the program's
 * memory, which the kernel frees as the program ends. A Go program ends
 * with a raw exit_group, so nothing in the process can wait. The launcher
 * can: it attaches to the program's main thread alone, before the exec,
 * with PTRACE_SEIZE and PTRACE_O_TRACEEXIT. When that thread exits it stops
 * in the kernel's exit path, before the address space is released (the
 * thread still holds it). The launcher then asks the watcher of that pid
 * for its final report (SIGUSR1, which the watcher takes from its parent
 * only), waits for the watcher to finish, and lets the thread go on
 * (PTRACE_DETACH). Nothing else is traced: no other thread, no child.
 * Every signal for the main thread stops it once on the way (a
 * signal-delivery stop); the launcher passes it on unchanged. A stop of
 * the whole process (SIGSTOP, SIGTSTP) is left in place with PTRACE_LISTEN,
 * as without the launcher. When the program is already traced (strace -f,
 * a debugger) the seize fails and the launcher steps aside: no hold.
 * The main thread can also end alone (pthread_exit in main) while the
 * process runs on: the launcher holds only when the other threads are gone
 * within a moment (an exit_group kills them at once).
 *
 * The gate. With --fail-on-leak the launcher gives the library a private
 * directory (CGOSHIM_VERDICT_DIR); each watcher writes the verdict of its
 * final report there as one line (watcher.c). After the program and its
 * final reports, the launcher reads them all. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "hold.h"

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

bool cgs_hold_seize(pid_t pid)
{
	return ptrace(PTRACE_SEIZE, pid, NULL, (void *)(long)PTRACE_O_TRACEEXIT) == 0;
}

/* Whether pid has threads besides its main one. */
static bool other_threads(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return false;
	bool others = false;
	struct dirent *e;
	while (!others && (e = readdir(d)))
		others = e->d_name[0] != '.' && atoi(e->d_name) != pid;
	closedir(d);
	return others;
}

static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		ssize_t k = read(fd, buf + n, cap - n - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
		if (n + 1 == cap) {
			char *w = realloc(buf, cap *= 2);
			if (!w) {
				free(buf);
				buf = NULL;
			}
			buf = w;
		}
	}
	close(fd);
	if (buf) {
		buf[n] = 0;
		if (len)
			*len = n;
	}
	return buf;
}

/* Whether w is a watcher started for pid ("--pid PID" on its command line). */
static bool watches(pid_t w, pid_t pid)
{
	char path[64], want[24];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)w);
	snprintf(want, sizeof(want), "%d", (int)pid);
	size_t len = 0;
	char *s = slurp(path, &len);
	bool yes = false;
	for (size_t i = 0; s && i < len && !yes;) {
		size_t l = strlen(s + i);
		if (!strcmp(s + i, "--pid") && i + l + 1 < len && !strcmp(s + i + l + 1, want))
			yes = true;
		i += l + 1;
	}
	free(s);
	return yes;
}

/* Whether w handles SIGUSR1 yet (its handler is installed early, but a
 * program that ends at once can end before). */
static bool catches_usr1(pid_t w)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)w);
	char *s = slurp(path, NULL);
	const char *c = s ? strstr(s, "\nSigCgt:") : NULL;
	bool yes = c && (strtoull(c + 8, NULL, 16) & (1ULL << (SIGUSR1 - 1)));
	free(s);
	return yes;
}

static bool exited(int pidfd, pid_t w)
{
	if (pidfd >= 0) {
		struct pollfd p = { pidfd, POLLIN, 0 };
		return poll(&p, 1, 0) > 0;
	}
	return kill(w, 0) && errno == ESRCH;
}

/* The main thread of pid is stopped in its exit: have its watchers write the
 * final report now, then let it go. */
static void hold_exit(pid_t pid, const struct cgs_hold_env *env)
{
	double start = mono_s();
	while (other_threads(pid) && mono_s() - start < 0.2)
		sleep_ms(2);
	if (other_threads(pid))
		return; /* the main thread ends alone; the process runs on */
	pid_t w[16];
	size_t nw = env->find_watchers(pid, w, 16);
	size_t asked = 0;
	int fds[16];
	pid_t ask[16];
	for (size_t i = 0; i < nw; i++) {
		if (!watches(w[i], pid))
			continue;
		double t0 = mono_s();
		while (!catches_usr1(w[i]) && mono_s() - t0 < 2.0 && !kill(w[i], 0))
			sleep_ms(2);
		if (!catches_usr1(w[i]))
			continue;
		int fd = (int)syscall(SYS_pidfd_open, w[i], 0);
		if (kill(w[i], SIGUSR1)) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		fds[asked] = fd;
		ask[asked++] = w[i];
	}
	double deadline = mono_s() + env->limit_s;
	for (size_t i = 0; i < asked; i++) {
		while (!exited(fds[i], ask[i]) && mono_s() < deadline && !*env->stop)
			sleep_ms(2);
		if (fds[i] >= 0)
			close(fds[i]);
	}
}

void cgs_hold_stop(pid_t pid, int status, const struct cgs_hold_env *env)
{
	int sig = WSTOPSIG(status), event = status >> 16;
	if (event == PTRACE_EVENT_EXIT) {
		hold_exit(pid, env);
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
	} else if (event == PTRACE_EVENT_STOP) {
		if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
			ptrace(PTRACE_LISTEN, pid, NULL, NULL); /* a group stop: stay stopped */
		else
			ptrace(PTRACE_CONT, pid, NULL, NULL);
	} else if (event) {
		ptrace(PTRACE_CONT, pid, NULL, NULL);
	} else {
		ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig); /* deliver it */
	}
}

/* ---- the gate ------------------------------------------------------------ */

static uint64_t field(const char *line, const char *key)
{
	char k[40];
	snprintf(k, sizeof(k), " %s=", key);
	const char *p = strstr(line, k);
	return p ? strtoull(p + strlen(k), NULL, 10) : 0;
}

static void text_field(const char *line, const char *key, char *out, size_t cap)
{
	char k[40];
	snprintf(k, sizeof(k), " %s=", key);
	const char *p = strstr(line, k);
	out[0] = 0;
	if (!p)
		return;
	p += strlen(k);
	size_t n = strcmp(key, "exe") ? strcspn(p, " \n") : strcspn(p, "\n");
	if (n >= cap)
		n = cap - 1;
	memcpy(out, p, n);
	out[n] = 0;
}

int cgs_gate_judge(const char *dir, uint64_t limit, void (*say)(const char *fmt, ...))
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int over = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "verdict.", 8))
			continue;
		char path[4200];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		char *s = slurp(path, NULL);
		if (!s)
			continue;
		char line[1200], kinds[32], exe[512];
		snprintf(line, sizeof(line), " %s", s); /* every key has a space before it */
		free(s);
		text_field(line, "kinds", kinds, sizeof(kinds));
		text_field(line, "exe", exe, sizeof(exe));
		int pid = (int)field(line, "pid");
		uint64_t lost = field(line, "lost_bytes"), blocks = field(line, "lost_count");
		if (!field(line, "leaks"))
			continue; /* leak tracking off in that process */
		if (strcmp(kinds, "scan") && strcmp(kinds, "last_scan")) {
			say("leak gate: pid %d (%s): leak kinds unknown (no scan of its memory could be made);"
			    " not judged", pid, exe);
			continue;
		}
		if (lost > limit) {
			uint64_t unknown = field(line, "unknown");
			say("leak gate: pid %d (%s): %" PRIu64 " bytes in %" PRIu64 " blocks definitely or indirectly"
			    " lost (limit %" PRIu64 ")%s", pid, exe, lost, blocks, limit,
			    !strcmp(kinds, "last_scan") ? (unknown ? "; kinds from its last live scan, newer blocks"
								     " not judged" : "; kinds from its last live scan")
							: "");
			over++;
		}
	}
	closedir(d);
	return over;
}

int cgs_gate_parse_size(const char *s, uint64_t *out)
{
	char *end;
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	static const struct { const char *u; unsigned shift; } units[] = {
		{ "", 0 }, { "K", 10 }, { "KiB", 10 }, { "k", 10 }, { "M", 20 }, { "MiB", 20 }, { "G", 30 }, { "GiB", 30 },
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(end, units[i].u)) {
			if (units[i].shift && v > (UINT64_MAX >> units[i].shift))
				return -1;
			*out = (uint64_t)v << units[i].shift;
			return 0;
		}
	return -1;
}

void cgs_gate_cleanup(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			if (e->d_name[0] != '.')
				unlinkat(dirfd(d), e->d_name, 0);
		closedir(d);
	}
	rmdir(dir);
}
