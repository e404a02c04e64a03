/* watcher.c - cgoshim-watch, the program that writes the reports.
 *
 *	cgoshim-watch --pid PID --pidfd FD --memfd FD --region ADDR
 *
 * Each traced process image has one from start-up: started by a watcher
 * of the same run (the spawn server, spawnsrv.c, shim/core/spawnproto.h)
 * or, for the first, by the process itself (shim/core/spawn.c: a double
 * fork); never the program's child. It
 * maps the region's memfd at the address the process has it (the region
 * holds plain pointers), closes every descriptor but stderr, leaves the
 * terminal's process group
 * (Ctrl-C goes to the program, not to it) and ignores the termination
 * signals. It waits on a futex in the region: each dump request gives one
 * live report, and with CGOSHIM_INTERVAL the wait times out to give one more
 * every interval (trigger "interval"). When the image ends, it writes the
 * final report and exits.
 *
 * "The image ends" is seen two ways: a pidfd of the process becomes
 * readable (exit, however it happens: exit_group, a signal, SIGKILL); or
 * the process's open file of the region is closed (inotify) and the region
 * is no longer in its maps (an exec). The process holds no descriptor of
 * the shim's, so a program that lists or closes its descriptors sees none.
 *
 * Descriptors: the watcher holds none of the program's but its stderr
 * (where reports go without CGOSHIM_OUTPUT, and where a report that cannot
 * be written is said), and a pipe or socket there only while the process
 * itself has the same one on its descriptor 2 (checked every 100 ms: a
 * daemon that points its stderr at /dev/null must not keep the pipe of a
 * `$(prog 2>&1)` open). With CGOSHIM_OUTPUT set it checks at start that
 * the report can be written (one line on stderr if not); reports to a
 * device (/dev/null) cannot fail later, so it then holds no stderr.
 *
 * The watcher is never measured: it runs without LD_PRELOAD (an empty
 * environment), and malloc, stdio and libdw work as usual. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "log.h"
#include "ring.h"
#include "shim.h"
#include "heappeak.h"
#include "httpd.h"
#include "snapshot.h"
#include "spawnsrv.h"
#include "symbols.h"

struct watch {
	struct cgs_region *r;
	pid_t pid;
	int pidfd;
	int serve_fd; /* the spawn server's listening socket (spawnsrv.c), -1 if none */
	int ino; /* inotify on the region's memfd, or -1 */
	bool hold_err; /* our stderr is the process's pipe or socket: follow it */
	bool err_dropped; /* our stderr is /dev/null (reports go to a device) */
	volatile int dead;
	struct cgs_symbolizer *sym;
	struct cgs_supp *supp;
	bool warned;
	uint32_t written;
	/* The process the launcher started (or, under plain LD_PRELOAD, one
	 * whose parent is not traced): its final report takes a fixed name. */
	bool main_image;
	/* The output was found unusable at start: reports go to stderr. */
	bool fallback;
	/* The image ended by an exec (the process runs on): seen when the
	 * end is seen, since the next image may map its own region at the
	 * same address moments later. */
	volatile int execd;
	/* When the process (its first image) started, wall clock, ns: a
	 * fixed-name file newer than that is this process's own. */
	int64_t process_start_ns;
	/* Inode of the region's memfd (0 when unknown): the next image may
	 * map its own region at the same address. */
	unsigned long region_ino;
	/* The final report written while the exiting thread waited
	 * (exitwait.c): its number and what had been counted then. */
	bool exit_written;
	bool detached; /* the final report was written at cgoshim attach's detach */
	uint32_t exit_seq;
	char exit_path[4200];    /* the file it went to */
	struct cgs_activity at_exit;
	struct cgs_snap_base *base; /* CGOSHIM_INTERVAL_MODE=delta: the last interval report's numbers */
};

/* Set by SIGUSR1 from our parent, the launcher, which holds the process
 * stopped in its exit (launcher.c, "Holding the exit"): write the final
 * report now, while the memory can still be read, and leave. */
static volatile sig_atomic_t held_exit;
static volatile uint32_t *held_word;

static void on_held(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	if (si->si_pid != getppid())
		return;
	held_exit = 1;
	/* A futex wait interrupted by a signal is restarted with the value it
	 * expects: change the value, so the restarted wait returns at once. */
	if (held_word) {
		__atomic_add_fetch(held_word, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, held_word, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
	}
}

static void wake(volatile uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

/* Whether the process still maps our region (else it exec'd). */
static bool still_mapped(struct watch *w)
{
	char path[64], want[40];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)w->pid);
	snprintf(want, sizeof(want), "%lx-", (unsigned long)(uintptr_t)w->r);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	char line[512];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		found = !strncmp(line, want, strlen(want)) &&
			(strstr(line, "memfd:cgoshim") || strstr(line, "/dev/zero")); /* region.c */
		unsigned long ino = 0;
		if (found && w->region_ino && strstr(line, "memfd:cgoshim") &&
		    sscanf(line, "%*s %*s %*s %*s %lu", &ino) == 1 && ino != w->region_ino)
			found = false; /* the next image's region at the same address */
	}
	fclose(f);
	return found;
}

/* Whether the process has a memory map at all: an exiting process has
 * none once its memory is released, a moment before its pidfd says it has
 * exited; an exec installs the new image's before it drops the old. */
static bool has_maps(struct watch *w)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)w->pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool any = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	return any;
}

static bool alive(struct watch *w);

/* The region is gone from the process: an exec (the process runs on, with
 * the next image's maps) or an exit (its memory is released a moment
 * before its pidfd says so). Maps can also be unreadable while an exec is
 * under way; so look until one answer is clear (at most about 200 ms). */
static bool ended_by_exec(struct watch *w)
{
	for (int i = 0; i < 200; i++) {
		if (!alive(w))
			return false;
		if (has_maps(w))
			return true;
		usleep(1000);
	}
	return false;
}

static bool alive(struct watch *w)
{
	if (w->pidfd >= 0) {
		struct pollfd p = { w->pidfd, POLLIN, 0 };
		return poll(&p, 1, 0) == 0;
	}
	return kill(w->pid, 0) == 0 || errno == EPERM;
}

static bool is_channel(mode_t m)
{
	return S_ISFIFO(m) || S_ISSOCK(m);
}

/* Reports go to stderr and ours is a pipe or socket (a reader waits for
 * its end): keep it only while the process has that same file on its
 * descriptor 2. When it has another one, take that (reopened through
 * /proc, appending), or /dev/null. */
static void follow_stderr(struct watch *w)
{
	struct stat mine, theirs;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd/2", (int)w->pid);
	if (fstat(2, &mine) == 0 && stat(path, &theirs) == 0 && mine.st_dev == theirs.st_dev &&
	    mine.st_ino == theirs.st_ino)
		return;
	/* A pipe or socket is never taken up: opened through /proc it gives a
	 * writing end of the program's channel, even of one it reads (Python's
	 * test_subprocess then waited for an EOF that never came). Let ours go
	 * instead; only a file or a terminal is followed. */
	bool channel = stat(path, &theirs) != 0 || is_channel(theirs.st_mode);
	int fd = channel ? -1 : open(path, O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	else
		fcntl(fd, F_SETFL, O_WRONLY | O_APPEND);
	if (fd < 0)
		return;
	dup2(fd, 2);
	close(fd);
	w->hold_err = fstat(2, &mine) == 0 && is_channel(mine.st_mode);
}

/* Waits for the end of the image: the pidfd for an exit; for an exec, the
 * close of the process's open file of the region (inotify on the memfd:
 * the process's mapping is its only user, see region.c), confirmed with
 * the process's maps. The maps are also read every 2 s (every 250 ms
 * without inotify): a raw fork child that never copied the region keeps
 * that file open after its parent's exec. */
static int64_t now_ns(void);

static void *death_watch(void *arg)
{
	struct watch *w = arg;
	int64_t maps_at = 0;
	for (;;) {
		struct pollfd p[2];
		int n = 0;
		if (w->pidfd >= 0)
			p[n++] = (struct pollfd){ w->pidfd, POLLIN, 0 };
		if (w->ino >= 0)
			p[n++] = (struct pollfd){ w->ino, POLLIN, 0 };
		int64_t every = w->ino >= 0 ? 2000 : 250;
		int k = poll(p, (nfds_t)n, w->hold_err ? 100 : (int)every);
		if (k < 0 && errno != EINTR)
			break;
		if (!alive(w))
			break;
		if (w->hold_err)
			follow_stderr(w);
		bool check = now_ns() >= maps_at;
		if (w->ino >= 0 && (p[n - 1].revents & POLLIN)) {
			char buf[4096];
			check = true;
			if (read(w->ino, buf, sizeof(buf)) < 0 && errno != EAGAIN && errno != EINTR) {
				close(w->ino);
				w->ino = -1;
			}
		}
		if (check) {
			if (!still_mapped(w)) {
				w->execd = ended_by_exec(w);
				break;
			}
			maps_at = now_ns() + every * 1000000;
		}
	}
	w->dead = 1;
	__atomic_add_fetch(&w->r->dump_req, 0, __ATOMIC_SEQ_CST);
	wake(&w->r->dump_req);
	return NULL;
}

/* Expand %p (pid), %n (sequence number), %% in the output template. An
 * unknown placeholder is kept as written (options.c warned about it). */
static void expand(const char *tmpl, pid_t pid, uint32_t seq, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *p = tmpl; *p && n + 24 < cap; p++) {
		if (p[0] == '%' && p[1] == 'p') {
			n += (size_t)snprintf(out + n, cap - n, "%d", (int)pid);
			p++;
		} else if (p[0] == '%' && p[1] == 'n') {
			n += (size_t)snprintf(out + n, cap - n, "%u", seq);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			out[n++] = '%';
			p++;
		} else {
			out[n++] = *p;
		}
	}
	out[n] = 0;
}

/* Whether the template names each process's reports itself (has %p). */
static bool per_process(const char *tmpl)
{
	for (const char *p = tmpl; *p; p++)
		if (p[0] == '%' && p[1]) {
			if (p[1] == 'p')
				return true;
			p++;
		}
	return false;
}

/* Where a file name's extension starts: its last dot, or the dot before
 * that for a compressed ".X.gz"; the end of the name when it has none (a
 * leading dot is no extension). */
static size_t ext_at(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t len = strlen(path);
	const char *dot = strrchr(base, '.');
	if (!dot || dot == base)
		return len;
	if (!strcmp(dot, ".gz")) {
		const char *d2 = dot - 1;
		while (d2 > base && *d2 != '.')
			d2--;
		if (d2 > base && *d2 == '.')
			dot = d2;
	}
	return (size_t)(dot - path);
}

/* path with ".tag" put before its extension: base.json -> base.TAG.json. */
static void insert_tag(const char *path, const char *tag, char *out, size_t cap)
{
	size_t at = ext_at(path);
	snprintf(out, cap, "%.*s.%s%s", (int)at, path, tag, path + at);
}

/* The mode of report files: CGOSHIM_OUTPUT_MODE, 0600 unless set. */
static mode_t out_mode(struct watch *w)
{
	uint32_t m = w->r->opts.output_mode;
	return m ? (mode_t)(m & 0777) : 0600;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t k = write(fd, buf, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		buf += k;
		len -= (size_t)k;
	}
	return 0;
}

/* Write the report to a file beside the final name, then rename it into
 * place without replacing anything (PITFALLS item 19). With `replace` (the
 * openmetrics format: a scraper reads one fixed file name), rename it over
 * the file that is there, so a reader sees the old file or the new one,
 * never a part. A symbolic link is refused either way. */
static int write_file(struct watch *w, const char *path, const char *buf, size_t len, bool replace,
		      char *written, size_t cap)
{
	if (written && cap)
		snprintf(written, cap, "%s", path);
	struct stat st;
	if (!lstat(path, &st) && S_ISLNK(st.st_mode)) {
		errno = ELOOP;
		return -1;
	}
	/* A device (CGOSHIM_OUTPUT=/dev/null to drop reports, a terminal):
	 * written as it is, nothing to create or rename. */
	if (!lstat(path, &st) && S_ISCHR(st.st_mode)) {
		int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return -1;
		int rc = write_all(fd, buf, len);
		int e = errno;
		close(fd);
		errno = e;
		return rc;
	}
	char tmp[4200];
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path + 1) : 0;
	snprintf(tmp, sizeof(tmp), "%.*s.cgoshim-tmp.%d.%u", dirlen, path, (int)getpid(), w->written);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	fchmod(fd, out_mode(w));
	if (write_all(fd, buf, len) || close(fd)) {
		int e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	if (replace) {
		if (!rename(tmp, path))
			return 0;
		int e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	char dst[4200];
	snprintf(dst, sizeof(dst), "%s", path);
	for (int i = 1; i < 1000; i++) {
		if (!syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, dst, 1 /* RENAME_NOREPLACE */)) {
			if (written && cap)
				snprintf(written, cap, "%s", dst);
			return 0;
		}
		if (errno == EINVAL || errno == ENOSYS) {
			/* No renameat2 here: link() also refuses to replace. */
			if (!link(tmp, dst)) {
				unlink(tmp);
				if (written && cap)
					snprintf(written, cap, "%s", dst);
				return 0;
			}
		}
		if (errno != EEXIST)
			break;
		/* Same pid, another image (or a live dump): a number before
		 * the extension, so that "run.*.json" still matches it. */
		char num[16];
		snprintf(num, sizeof(num), "%d", i);
		insert_tag(path, num, dst, sizeof(dst));
	}
	int e = errno;
	unlink(tmp);
	errno = e;
	return -1;
}

/* The final report's leak verdict, for the launcher's --fail-on-leak: one
 * line in CGOSHIM_VERDICT_DIR/verdict.PID[.N] (README "Leak gate"). */
static void write_verdict(struct watch *w, const struct cgs_snapshot *s)
{
	const char *dir = w->r->opts.verdict_dir;
	if (!dir[0] || strnlen(dir, CGS_OUTPUT_MAX) >= CGS_OUTPUT_MAX)
		return;
	char line[1024];
	int len = snprintf(line, sizeof(line),
			   "pid=%d kinds=%s lost_bytes=%" PRIu64 " lost_count=%" PRIu64 " definite=%" PRIu64
			   " indirect=%" PRIu64 " possible=%" PRIu64 " reachable=%" PRIu64 " unknown=%" PRIu64
			   " unknown_bytes=%" PRIu64 " suppressed=%" PRIu64 " leaks=%d exe=%.400s\n",
			   (int)w->pid, s->kinds_source,
			   s->kind_bytes[CGS_KIND_DEFINITE] + s->kind_bytes[CGS_KIND_INDIRECT],
			   s->kind_count[CGS_KIND_DEFINITE] + s->kind_count[CGS_KIND_INDIRECT],
			   s->kind_bytes[CGS_KIND_DEFINITE], s->kind_bytes[CGS_KIND_INDIRECT],
			   s->kind_bytes[CGS_KIND_POSSIBLE], s->kind_bytes[CGS_KIND_REACHABLE],
			   s->kind_count[CGS_KIND_UNKNOWN], s->kind_bytes[CGS_KIND_UNKNOWN], s->suppressed_bytes,
			   s->leaks_enabled, s->exe ? s->exe : "");
	for (int i = 0; i < 100; i++) {
		char path[CGS_OUTPUT_MAX + 64];
		if (i)
			snprintf(path, sizeof(path), "%.*s/verdict.%d.%d", CGS_OUTPUT_MAX, dir, (int)w->pid, i);
		else
			snprintf(path, sizeof(path), "%.*s/verdict.%d", CGS_OUTPUT_MAX, dir, (int)w->pid);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0 || write_all(fd, line, (size_t)len) || close(fd)) {
			char msg[600];
			snprintf(msg, sizeof(msg), "cannot write the leak verdict to %.400s: %s", path,
				 strerror(errno));
			cgs_log(msg, (const char *)NULL);
		}
		return;
	}
}

/* The name of a report (README, "Output files"):
 * - a template with %p names every report itself; a name taken already (an
 *   exec'd image has its parent's pid) gets .1, .2... before its extension;
 * - a fixed name (no %p) is the main program's final report's, replacing a
 *   file of that name; every other report (other processes, exec'd images,
 *   live dumps) goes beside it as BASE.PID.EXT, then BASE.PID.1.EXT...
 *   The openmetrics format, read by a scraper from one file, writes the
 *   main program's live dumps over the fixed name too.
 * - a character device (/dev/null) takes every report as it is. */
static void report_path(struct watch *w, uint32_t seq, bool final, char *path, size_t cap, bool *replace)
{
	struct cgs_region *r = w->r;
	bool om = r->opts.format == CGS_FMT_OPENMETRICS;
	char exact[4200];
	struct stat st;
	expand(r->opts.output, w->pid, seq, exact, sizeof(exact));
	*replace = om;
	if (per_process(r->opts.output) || (!lstat(exact, &st) && S_ISCHR(st.st_mode))) {
		snprintf(path, cap, "%s", exact);
		return;
	}
	/* An exec'd image's final report: the name is the next image's. */
	bool execd = final && w->execd;
	if (w->main_image && !execd && (final || om)) {
		/* Replace a file of an earlier run, never one this process
		 * wrote (an earlier image whose exec went unseen on a busy
		 * machine): no report is ever lost; the later one goes beside. */
		if (!(final && !om && !lstat(exact, &st) && S_ISREG(st.st_mode) &&
		      (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec >= w->process_start_ns)) {
			snprintf(path, cap, "%s", exact);
			*replace = true;
			return;
		}
	}
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)w->pid);
	insert_tag(exact, pid, path, cap);
}

/* The process's start (its first image's: exec keeps it), wall clock ns,
 * from /proc/PID/stat (clock ticks since boot) and the boot time. Rounded
 * down by a tick; the region's start when it cannot be read. */
static int64_t process_start(struct watch *w)
{
	char path[64], line[1024];
	int64_t fallback = w->r->start_real_ns;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)w->pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return fallback;
	unsigned long long ticks = 0;
	bool ok = fgets(line, sizeof(line), f) && strrchr(line, ')') &&
		  sscanf(strrchr(line, ')') + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			 &ticks) == 1;
	fclose(f);
	struct timespec mono, real;
	long hz = sysconf(_SC_CLK_TCK);
	if (!ok || hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &mono) || clock_gettime(CLOCK_REALTIME, &real))
		return fallback;
	int64_t boot_real = (int64_t)real.tv_sec * 1000000000 + real.tv_nsec -
			    ((int64_t)mono.tv_sec * 1000000000 + mono.tv_nsec);
	int64_t start = boot_real + (int64_t)(ticks * (1000000000ULL / (unsigned long long)hz));
	start -= 1000000000LL / hz; /* a tick of rounding */
	return start < fallback ? start : fallback;
}

/* Whether this image is the program's own (see struct watch): under the
 * launcher, the pid it started (CGOSHIM_MAIN_PID, set in the program's
 * environment) and not a fork child; else an image whose parent process
 * does not map a region of the shim. Read once, at start: the parent may
 * be gone by the time the final report is due. */
static bool find_main(struct watch *w)
{
	struct cgs_region *r = w->r;
	if (r->fork_generation)
		return false;
	if (r->opts.main_pid)
		return r->opts.main_pid == (int32_t)w->pid;
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)w->pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	int ppid = 0;
	bool ok = fgets(line, sizeof(line), f) && strrchr(line, ')') &&
		  sscanf(strrchr(line, ')') + 1, " %*c %d", &ppid) == 1;
	fclose(f);
	if (!ok || ppid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/maps", ppid);
	f = fopen(path, "re");
	if (!f)
		return true; /* not ours to read: not a traced process of this user */
	bool traced = false;
	while (!traced && fgets(line, sizeof(line), f))
		traced = strstr(line, "memfd:cgoshim") != NULL;
	fclose(f);
	return !traced;
}

/* Check, when the process starts, that its reports can be written where
 * CGOSHIM_OUTPUT says: a directory, a missing or read-only directory, a
 * symbolic link, /dev/full. If not, one line says so now, and the reports
 * go to stderr instead: a long run never ends without its report. */
static void check_output(struct watch *w)
{
	struct cgs_region *r = w->r;
	const char *why = NULL;
	char path[4200];
	if (!r->opts.output[0])
		return;
	if (!strcmp(r->opts.output, "-")) {
		if (fcntl(1, F_GETFD) < 0)
			why = "no standard output";
		else
			return;
		snprintf(path, sizeof(path), "stdout");
	} else {
		bool replace;
		struct stat st;
		report_path(w, 1, true, path, sizeof(path), &replace);
		if (!lstat(path, &st)) {
			if (S_ISLNK(st.st_mode))
				why = "it is a symbolic link, refused";
			else if (S_ISDIR(st.st_mode))
				why = "it is a directory";
			else if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 7))
				why = "the device is full";
		}
		if (!why && !(!lstat(path, &st) && S_ISCHR(st.st_mode))) {
			char probe[4300];
			const char *slash = strrchr(path, '/');
			int dirlen = slash ? (int)(slash - path + 1) : 0;
			snprintf(probe, sizeof(probe), "%.*s.cgoshim-tmp.%d.probe", dirlen, path, (int)getpid());
			int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (fd < 0)
				why = strerror(errno);
			else {
				close(fd);
				unlink(probe);
			}
		} else if (!why) {
			int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
			if (fd < 0)
				why = strerror(errno);
			else
				close(fd);
		}
	}
	if (!why)
		return;
	char msg[600];
	snprintf(msg, sizeof(msg), "cannot write reports to %.400s: %s; process %d's reports go to stderr instead",
		 path, why, (int)w->pid);
	cgs_log(msg, (const char *)NULL);
	w->fallback = true;
}
/* One line on the program's stderr. Ours is it when reports go there;
 * else (CGOSHIM_OUTPUT set: ours is /dev/null) the process's descriptor 2
 * as it is now, reopened through /proc while the process lives. */
static void say(struct watch *w, const char *msg)
{
	int fd = -1;
	if (w->err_dropped) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/fd/2", (int)w->pid);
		fd = open(path, O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			return;
		dup2(fd, 2);
	}
	cgs_log(msg, (const char *)NULL);
	if (fd >= 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, 2);
			close(null);
		}
		close(fd);
	}
}

/* CGOSHIM_OUTPUT set to files or a device (check_output has said whether
 * they can be written). Reports to a device (/dev/null) cannot fail later:
 * the program's stderr is let go (/dev/null). Reports to files may (a full
 * disk): stderr is kept to say so, followed like the stderr of reports
 * (follow_stderr). */
static void stderr_policy(struct watch *w)
{
	char path[4200];
	expand(w->r->opts.output, w->pid, 1, path, sizeof(path));
	struct stat st;
	/* Only /dev/null itself: /dev/full (check_output sends the reports
	 * to stderr then) or a terminal still needs it. */
	if (lstat(path, &st) || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
		w->hold_err = fstat(2, &st) == 0 && is_channel(st.st_mode);
		return;
	}
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 2);
		close(null);
		w->err_dropped = true;
	}
}

/* Our mapping holds less than the region may grow to (RLIMIT_AS): extend
 * it in place to what the process has mapped now, before reading. */
static void follow_region(struct cgs_region *r)
{
	uint64_t have = cgs_region_view, want = __atomic_load_n(&r->mapped, __ATOMIC_ACQUIRE);
	if (!have || want <= have)
		return;
	char *tail = (char *)r + have - 4096; /* see region.c, grow */
	if (mremap(tail, 4096, want - have + 4096, 0) == (void *)tail)
		__atomic_store_n(&cgs_region_view, want, __ATOMIC_RELEASE);
}

/* Snapshots and the symboliser serve one report at a time: the dump loop's
 * and the HTTP endpoints' (httpd.c). */
static pthread_mutex_t render_lock = PTHREAD_MUTEX_INITIALIZER;

/* httpd.c's renderer: the state now, in a format, trigger "http". */
static int render_now(void *ctx, int format, char **buf, size_t *len)
{
	struct watch *w = ctx;
	*buf = NULL;
	*len = 0;
	pthread_mutex_lock(&render_lock);
	struct cgs_snapshot *s = cgs_snapshot_take(w->r, "http", false, true, 0, w->sym);
	FILE *m = s ? open_memstream(buf, len) : NULL;
	int rc = -1;
	if (m) {
		rc = cgs_report_write(s, format, m);
		if (fclose(m))
			rc = -1;
	}
	cgs_snapshot_free(s);
	pthread_mutex_unlock(&render_lock);
	if (rc) {
		free(*buf);
		*buf = NULL;
	}
	return rc ? -1 : 0;
}

/* How a report is written. */
struct emit_how {
	bool final;
	bool live;             /* the process may still run */
	const char *final_at;  /* "exit", "gone" or NULL */
	uint32_t seq;          /* 0: the next number */
	bool replace;          /* over the file of that number (a rewrite) */
	uint64_t calls_after_exit;
};

static void emit_how_locked(struct watch *w, const char *trigger, const struct emit_how *how);

static void emit_how(struct watch *w, const char *trigger, const struct emit_how *how)
{
	pthread_mutex_lock(&render_lock);
	emit_how_locked(w, trigger, how);
	pthread_mutex_unlock(&render_lock);
}

static void emit_how_locked(struct watch *w, const char *trigger, const struct emit_how *how)
{
	struct cgs_region *r = w->r;
	follow_region(r);
	uint32_t seq = how->seq ? how->seq : w->written + 1;
	struct cgs_snapshot *s = cgs_snapshot_take(r, trigger, how->final, how->live, seq, w->sym);
	if (!s)
		return;
	bool final = how->final;
	if (how->final_at)
		s->final_at = how->final_at;
	s->calls_after_exit = how->calls_after_exit;
	if (!final && r->opts.interval_delta && !strcmp(trigger, "interval")) {
		/* Delta mode: this interval report shows what happened since
		 * the last one (the first: since the start). Other reports, and
		 * the final one, stay cumulative. */
		struct cgs_snap_base *now = cgs_snap_base_take(s);
		cgs_snapshot_subtract(s, w->base);
		cgs_snap_base_free(w->base);
		w->base = now;
	}
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m) {
		cgs_snapshot_free(s);
		return;
	}
	cgs_report_write(s, r->opts.format, m);
	fclose(m);
	if (final)
		write_verdict(w, s);
	cgs_snapshot_free(s);
	int rc;
	char path[4200];
	if (!r->opts.output[0] || w->fallback) {
		rc = write_all(2, buf, len);
		path[0] = 0;
	} else if (!strcmp(r->opts.output, "-")) {
		rc = write_all(1, buf, len);
		memcpy(path, "stdout", 7);
	} else {
		/* A rewrite goes over the file the first version went to (which
		 * may have a number), not over another one. */
		bool replace;
		if (how->replace && w->exit_path[0]) {
			snprintf(path, sizeof(path), "%s", w->exit_path);
			replace = true;
		} else {
			report_path(w, seq, final, path, sizeof(path), &replace);
		}
		rc = write_file(w, path, buf, len, replace || how->replace,
				how->final_at && !how->replace ? w->exit_path : NULL, sizeof(w->exit_path));
	}
	if (rc && !w->warned) {
		char msg[600];
		snprintf(msg, sizeof(msg), "cannot write the report to %.400s: %s%s", path[0] ? path : "stderr",
			 errno == ELOOP ? "it is a symbolic link, refused" : strerror(errno),
			 final ? "" : " (further failures are not reported)");
		say(w, msg);
		w->warned = true;
	}
	free(buf);
	if (!how->seq)
		w->written++;
}

static void emit(struct watch *w, const char *trigger, bool final)
{
	struct emit_how how = { .final = final, .live = !final };
	emit_how(w, trigger, &how);
}

/* The program exits through libc and waits (exitwait.c): write the final
 * report now, from the state it left, answer every request pending, and
 * let it go. */
static void emit_at_exit(struct watch *w)
{
	struct cgs_region *r = w->r;
	cgs_snapshot_activity(r, &w->at_exit);
	w->exit_seq = w->written + 1;
	struct emit_how how = { .final = true, .live = true, .final_at = "exit" };
	emit_how(w, "exit", &how);
	w->exit_written = true;
	/* PID 1 of a pid namespace: its end kills every process in it, the
	 * watchers we started for its descendants too. Those writing a final
	 * report (their process has ended) finish first, within half of
	 * CGOSHIM_EXIT_WAIT. */
	if (r->pid == 1 && w->serve_fd >= 0) {
		int64_t until = now_ns() + (int64_t)(r->opts.exit_wait_ns / 2);
		while (cgs_spawnsrv_finishing() > 0 && now_ns() < until)
			usleep(5000);
	}
	__atomic_store_n(&r->exit_done, 1, __ATOMIC_RELEASE);
	wake(&r->exit_done);
}

/* The process is gone after a report written at its exit: if anything was
 * counted since (other threads, stdio's last frees), the final report is
 * rewritten in place (an atomic rename over it) and says how many calls
 * came after; with output on stderr (or a device), one line says so
 * instead. */
static void after_exit(struct watch *w)
{
	struct cgs_activity now;
	cgs_snapshot_activity(w->r, &now);
	if (!memcmp(&now, &w->at_exit, sizeof(now)))
		return;
	uint64_t calls = now.calls - w->at_exit.calls;
	struct stat st;
	if (!w->r->opts.output[0] || (!stat(w->exit_path, &st) && S_ISCHR(st.st_mode))) {
		char msg[200];
		snprintf(msg, sizeof(msg),
			 "pid %d: %llu calls (and %lld live blocks) were counted after its final report was "
			 "written at exit; they are not in it",
			 (int)w->pid, (unsigned long long)calls, (long long)(now.blocks - w->at_exit.blocks));
		cgs_log(msg, (const char *)NULL);
		return;
	}
	struct emit_how how = { .final = true, .final_at = "gone", .seq = w->exit_seq, .replace = true,
				.calls_after_exit = calls };
	emit_how(w, "exit", &how);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const char *trigger_name(struct cgs_region *r)
{
	return r->last_trigger == CGS_TRIGGER_API ? "api" : "signal";
}

#define PREWARM_NS 200000000LL

/* Resolve one address in each module loaded now: that reads its symbol
 * table and DWARF index into the symboliser's cache. */
static void prewarm(struct watch *w)
{
	const struct cgs_module_table *t = w->r->modules;
	if (!w->sym || !t || !cgs_region_contains(w->r, t, sizeof(*t)))
		return;
	uint32_t n = t->count < CGS_MODULES_MAX ? t->count : CGS_MODULES_MAX;
	for (uint32_t i = 0; i < n && !w->dead; i++) {
		const struct cgs_module *m = &t->mods[i];
		struct cgs_frame_info fi;
		if (m->unload_epoch == CGS_EPOCH_LIVE && m->hi > m->lo)
			cgs_sym_resolve(w->sym, m->lo + (m->hi - m->lo) / 2, t->epoch, false, &fi);
	}
}

static void run(struct watch *w)
{
	struct cgs_region *r = w->r;
	pthread_t th;
	cgs_sym_hold_exe((int)w->pid);
	w->main_image = find_main(w);
	w->process_start_ns = process_start(w);
	check_output(w);
	w->sym = cgs_sym_new(r->modules);
	if (w->sym && r->opts.symbol_cache[0]) {
		char dir[CGS_OUTPUT_MAX + 1];
		memcpy(dir, r->opts.symbol_cache, CGS_OUTPUT_MAX);
		dir[CGS_OUTPUT_MAX] = 0;
		cgs_sym_set_cache(w->sym, dir);
	}
	w->supp = cgs_supp_load(r->opts.suppress, r->opts.suppress_defaults);
	cgs_snapshot_target(w->pid, w->pidfd, w->supp);
	/* SIGUSR1 (the held exit) is handled in this thread: the helper
	 * threads start with it blocked. */
	sigset_t usr1, old;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, &old);
	/* The flight recorder's helper: refines slow_ticks once the TSC rate
	 * is known, notes which node each thread runs on (ring.h). */
	/* Under a low RLIMIT_NPROC (inherited from the program: threads count
	 * there too) the watcher is one thread, so it takes one process of
	 * the program's limit, no more (README, Limits): no recorder helper,
	 * no peak sampler, no HTTP server, no death watch thread. */
	bool lean = cgs_nproc_tight();
	/* The watcher spawn server for the process's descendants (spawnsrv.c):
	 * a thread. Lean, or without it, the socket is closed and they start
	 * their watchers themselves. */
	if (w->serve_fd >= 0 && (lean || cgs_spawnsrv_start(w->serve_fd))) {
		close(w->serve_fd);
		w->serve_fd = -1;
	}
	if (!lean) {
		cgs_rings_watch(r, (int)w->pid);
		/* The live heap's peak, sampled (heappeak.c). */
		cgs_heap_peak_start(r);
		/* CGOSHIM_LISTEN: live numbers over HTTP (httpd.c). */
		if (r->opts.listen[0]) {
			char where[sizeof(r->opts.listen) + 1];
			memcpy(where, r->opts.listen, sizeof(r->opts.listen));
			where[sizeof(r->opts.listen)] = 0;
			cgs_httpd_start(where, render_now, w);
		}
	}
	/* Without the thread, the loop below checks for the end every second
	 * (every 100 ms while it follows the program's stderr). */
	bool polling = lean || pthread_create(&th, NULL, death_watch, w) != 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	r->watcher_up = 1;
	uint32_t handled = 0;
	/* CGOSHIM_INTERVAL: a live dump every `every` ns, on a fixed schedule
	 * (a missed tick is skipped, not made up). */
	const int64_t every = (int64_t)r->opts.interval_ns;
	int64_t next = every ? now_ns() + every : 0;
	/* A process that lives past PREWARM_NS gets its modules' symbol tables
	 * read while the watcher is idle, so its final report (written after
	 * the process is gone) does not wait for that. Short-lived processes
	 * (a thousand exec'd children) never pay for it. */
	int64_t prewarm_at = now_ns() + PREWARM_NS;
	for (;;) {
		uint32_t req = __atomic_load_n(&r->dump_req, __ATOMIC_ACQUIRE);
		/* Once the process is gone, pending live dumps would only show
		 * the same state as the final report: the final one answers them,
		 * and counts them as coalesced into it. */
		if (held_exit)
			break;
		if (w->dead) {
			if (req != handled)
				__atomic_add_fetch(&r->counters.dumps_coalesced, req - handled, __ATOMIC_RELAXED);
			break;
		}
		/* cgoshim attach let go (shim/interpose/attach.c): the final
		 * report, then the watcher's work is done. */
		if (__atomic_load_n(&r->detach_req, __ATOMIC_ACQUIRE)) {
			if (req - handled > 1)
				__atomic_add_fetch(&r->counters.dumps_coalesced, req - handled - 1, __ATOMIC_RELAXED);
			struct emit_how how = { .final = true, .final_at = "detach" };
			emit_how(w, "detach", &how);
			w->detached = true;
			break;
		}
		/* The exit request's own bump of dump_req is not a dump
		 * request: it and every live request pending are answered by
		 * the final report. */
		if (!w->exit_written && __atomic_load_n(&r->exit_req, __ATOMIC_ACQUIRE)) {
			if (req - handled > 1)
				__atomic_add_fetch(&r->counters.dumps_coalesced, req - handled - 1, __ATOMIC_RELAXED);
			emit_at_exit(w);
			handled = req;
			__atomic_store_n(&r->dump_done, handled, __ATOMIC_RELEASE);
			wake(&r->dump_done);
			continue;
		}
		/* After the report written at exit, no live report: it would
		 * come after the final one. Requests are answered by the final
		 * report (counted as coalesced into it). */
		if (w->exit_written && req != handled) {
			__atomic_add_fetch(&r->counters.dumps_coalesced, req - handled, __ATOMIC_RELAXED);
			handled = req;
			__atomic_store_n(&r->dump_done, handled, __ATOMIC_RELEASE);
			wake(&r->dump_done);
			continue;
		}
		if (req != handled) {
			/* One dump answers every request pending when it starts: a
			 * flood of signals must not build a backlog that delays the
			 * final report. The requests answered together are counted. */
			uint32_t pending = req - handled;
			if (pending > 1)
				__atomic_add_fetch(&r->counters.dumps_coalesced, pending - 1, __ATOMIC_RELAXED);
			emit(w, trigger_name(r), false);
			handled = req;
			__atomic_store_n(&r->dump_done, handled, __ATOMIC_RELEASE);
			wake(&r->dump_done);
			continue;
		}
		struct timespec ts = { 1, 0 };
		if (w->exit_written)
			prewarm_at = 0;
		if (prewarm_at) {
			int64_t left = prewarm_at - now_ns();
			if (left <= 0) {
				prewarm(w);
				prewarm_at = 0;
				continue;
			}
			ts = (struct timespec){ 0, left };
		}
		if (every && !w->exit_written) {
			int64_t left = next - now_ns();
			if (left <= 0) {
				emit(w, "interval", false);
				next += every;
				if (next <= now_ns())
					next = now_ns() + every;
				continue;
			}
			if (left < 1000000000)
				ts = (struct timespec){ 0, left };
		}
		if (polling && w->hold_err) {
			follow_stderr(w);
			if (ts.tv_sec || ts.tv_nsec > 100000000)
				ts = (struct timespec){ 0, 100000000 };
		}
		syscall(SYS_futex, &r->dump_req, FUTEX_WAIT, req, &ts, NULL, 0);
		if (!w->dead && !alive(w))
			w->dead = 1;
		if (!w->dead && polling && !still_mapped(w)) {
			w->execd = ended_by_exec(w);
			w->dead = 1;
		}
	}
	if (w->detached) {
		/* written above */
	} else if (w->exit_written) {
		after_exit(w);
	} else {
		struct emit_how how = { .final = true, .final_at = "gone" };
		emit_how(w, "exit", &how);
	}
	__atomic_store_n(&r->exit_done, 1, __ATOMIC_RELEASE);
	wake(&r->exit_done);
	__atomic_store_n(&r->dump_done, __atomic_load_n(&r->dump_req, __ATOMIC_ACQUIRE) + 1, __ATOMIC_RELEASE);
	wake(&r->dump_done);
	/* A spawn server outlives its process while watchers it started run:
	 * the image its process exec'd has its watcher from us, and that
	 * image's fork children ask us for theirs. Gone, we would leave them
	 * to the fallback (a watcher in the program's own tree, which a
	 * subreaper there reaps: procs-subreaper's reaper-exec with traced
	 * children, 2 "not mine" on a loaded machine), and our children would
	 * be orphans. */
	if (w->serve_fd < 0 || cgs_spawnsrv_children() <= 0)
		return;
	/* Meanwhile we hold none of the program's descriptors (a daemon's
	 * shell waits for the end of the stderr it gave: procs-daemon). */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup3(null, 1, 0);
		dup3(null, 2, 0);
		if (null > 2)
			close(null);
	}
	while (cgs_spawnsrv_children() > 0)
		usleep(20000);
}

static void close_others(int keep1, int keep2, int keep3, bool keep_stdout)
{
	int keep[5] = { 2, keep1, keep2, keep3, keep_stdout ? 1 : -1 };
	/* sort */
	for (int i = 0; i < 5; i++)
		for (int j = i + 1; j < 5; j++)
			if (keep[j] < keep[i]) {
				int t = keep[i];
				keep[i] = keep[j];
				keep[j] = t;
			}
	unsigned lo = 0;
	for (int i = 0; i < 5; i++) {
		if (keep[i] < 0)
			continue;
		if ((unsigned)keep[i] > lo && syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0))
			for (unsigned fd = lo; fd < (unsigned)keep[i]; fd++)
				syscall(SYS_close, fd);
		lo = (unsigned)keep[i] + 1;
	}
	if (syscall(SYS_close_range, lo, ~0u, 0))
		for (unsigned fd = lo; fd < 65536; fd++)
			syscall(SYS_close, fd);
}

static int watch_memfd(int memfd);

static void become_watcher(struct cgs_region *r, pid_t pid, int pidfd, int memfd, int serve_fd)
{
	prctl(PR_SET_NAME, "cgoshim-watch");
	setpgid(0, 0);
	/* A fork child's report must not compete with the program for the
	 * CPU: a program that forks often has a watcher per child, each
	 * symbolising its final report. At nice +10 they get about a tenth
	 * of a busy CPU, and all of an idle one. The program's own watcher
	 * keeps its priority: a live dump of a busy program must not wait. */
	if (r->fork_generation && setpriority(PRIO_PROCESS, 0, getpriority(PRIO_PROCESS, 0) + 10)) {
		/* not fatal: the child's report comes at the program's priority */
	}
	held_word = &r->dump_req;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_held;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	static const int quiet[] = { SIGINT, SIGQUIT, SIGHUP, SIGTERM, SIGPIPE, SIGUSR2,
				     SIGTSTP, SIGTTIN, SIGTTOU, SIGWINCH };
	for (size_t i = 0; i < CGS_ARRAY_LEN(quiet); i++)
		signal(quiet[i], SIG_IGN);
	if (r->opts.signal && r->opts.signal != SIGUSR1)
		signal(r->opts.signal, SIG_IGN);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* CGOSHIM_OUTPUT=-: the reports go to the program's stdout. */
	close_others(pidfd, memfd, serve_fd, !strcmp(r->opts.output, "-"));
	struct stat mst;
	unsigned long region_ino = memfd >= 0 && !fstat(memfd, &mst) ? (unsigned long)mst.st_ino : 0;
	struct watch w = { .r = r, .pid = pid, .pidfd = pidfd, .ino = watch_memfd(memfd), .region_ino = region_ino,
			   .serve_fd = serve_fd };
	struct stat err;
	if (r->opts.output[0] && strcmp(r->opts.output, "-"))
		stderr_policy(&w);
	else
		w.hold_err = fstat(2, &err) == 0 && is_channel(err.st_mode);
	run(&w);
	_exit(0);
}

/* Watch the memfd for closes: the process maps it through its own open
 * file, the only one besides ours, so a close means the process exec'd or
 * exited. -1 when that cannot be had: then the maps are polled. */
static int watch_memfd(int memfd)
{
	if (memfd < 0)
		return -1;
	char path[40];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ino >= 0 && inotify_add_watch(ino, path, IN_CLOSE_WRITE | IN_CLOSE_NOWRITE) < 0) {
		close(ino);
		ino = -1;
	}
	close(memfd);
	return ino;
}

static long arg_long(const char *s, int base, bool *ok)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, base);
	if (errno || end == s || *end)
		*ok = false;
	return v;
}

/* No report will come: let a process that waits at its exit go at once
 * (exitwait.c), through the region's first page mapped anywhere. */
static void release_exit(int memfd)
{
	if (memfd < 0)
		return;
	struct cgs_region *head = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (head == MAP_FAILED)
		return;
	if (head->magic == CGS_REGION_MAGIC && head->version == CGS_REGION_VERSION &&
	    offsetof(struct cgs_region, exit_done) + sizeof(head->exit_done) <= 4096) {
		__atomic_store_n(&head->exit_done, 1, __ATOMIC_RELEASE);
		wake(&head->exit_done);
	}
	munmap(head, 4096);
}

/* Map the region at the address the process has it. Another mapping of
 * ours may sit there (each exec lays libraries out anew): then exec this
 * program again for another layout, a few times. */
static struct cgs_region *map_region(int memfd, pid_t pid, uintptr_t at, char **argv)
{
	int fd = memfd;
	if (fd < 0)
		return NULL;
	struct cgs_region *head = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (head == MAP_FAILED || head->magic != CGS_REGION_MAGIC || head->version != CGS_REGION_VERSION ||
	    head->header_size != sizeof(struct cgs_region)) {
		if (head != MAP_FAILED)
			munmap(head, 4096);
		return NULL;
	}
	uint64_t size = head->size, mapped = __atomic_load_n(&head->mapped, __ATOMIC_ACQUIRE);
	munmap(head, 4096);
	/* All it may grow to, if our RLIMIT_AS allows (raised to the hard
	 * limit); else what the process has now, followed as it grows
	 * (follow_region). */
	struct rlimit as;
	if (!getrlimit(RLIMIT_AS, &as) && as.rlim_cur != as.rlim_max) {
		as.rlim_cur = as.rlim_max;
		setrlimit(RLIMIT_AS, &as);
	}
	for (int i = 0; i < 2; i++) {
		uint64_t len = i ? mapped : size;
		void *p = mmap((void *)at, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
			       fd, 0);
		if (p == (void *)at) {
			if (len < size)
				cgs_region_view = len;
			return p;
		}
		if (p != MAP_FAILED)
			munmap(p, len); /* an old kernel that took the flag as a hint */
		else if (errno == EEXIST)
			break;
	}
	const char *tries = getenv("CGOSHIM_WATCH_TRY");
	int n = tries ? atoi(tries) : 0;
	if (n < 8) {
		char v[16];
		snprintf(v, sizeof(v), "%d", n + 1);
		setenv("CGOSHIM_WATCH_TRY", v, 1);
		execv("/proc/self/exe", argv);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	/* Descriptors 0 and 1 were closed before the exec: hold them on
	 * /dev/null, so no file the watcher opens gets a standard number. */
	for (int fd = 0; fd < 2; fd++)
		if (fcntl(fd, F_GETFD) < 0) {
			int n = open("/dev/null", O_RDWR);
			if (n >= 0 && n != fd) {
				dup2(n, fd);
				close(n);
			}
		}
	pid_t pid = 0;
	int pidfd = -1, memfd = -1, serve_fd = -1;
	uintptr_t at = 0;
	bool served = false;
	bool ok = argc >= 9;
	for (int i = 1; ok && i < argc; i += 2) {
		if (!strcmp(argv[i], "--served")) {
			served = true; /* started by a spawn server (spawnsrv.c) */
			i--;
		} else if (i + 1 >= argc)
			ok = false;
		else if (!strcmp(argv[i], "--serve"))
			serve_fd = (int)arg_long(argv[i + 1], 10, &ok);
		else if (!strcmp(argv[i], "--pid"))
			pid = (pid_t)arg_long(argv[i + 1], 10, &ok);
		else if (!strcmp(argv[i], "--pidfd"))
			pidfd = (int)arg_long(argv[i + 1], 10, &ok);
		else if (!strcmp(argv[i], "--memfd"))
			memfd = (int)arg_long(argv[i + 1], 10, &ok);
		else if (!strcmp(argv[i], "--region"))
			at = (uintptr_t)strtoull(argv[i + 1], NULL, 16);
		else
			ok = false;
	}
	if (!ok || pid <= 0 || !at) {
		fprintf(stderr, "cgoshim-watch: started by libcgoshim.so, not by hand "
				"(usage: cgoshim-watch --pid PID --pidfd FD --memfd FD --region ADDR)\n");
		return 2;
	}
	struct cgs_region *r = map_region(memfd, pid, at, argv);
	if (!r) {
		cgs_log("the watcher cannot map the process's state; no report will be written", (const char *)NULL);
		release_exit(memfd);
		return 1;
	}
	unsetenv("CGOSHIM_WATCH_TRY");
	/* Started by the spawn server: the process may have given up waiting
	 * for it and started its own watcher (spawn.c); the first to claim
	 * the region watches it. */
	if (served) {
		uint32_t none = 0;
		if (!__atomic_compare_exchange_n(&r->spawn_claim, &none, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return 0;
	}
	become_watcher(r, pid, pidfd, memfd, serve_fd);
	return 0;
}
