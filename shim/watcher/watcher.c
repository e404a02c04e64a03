/* watcher.c - cgoshim-watch, the program that writes the reports.
 *
 *	cgoshim-watch --pid PID --pidfd FD --memfd FD --region ADDR
 *
 * Each traced process image starts one at start-up (shim/core/spawn.c: a
 * raw clone that execs this program at once, not the program's child). It
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
 * The watcher is never measured: it runs without LD_PRELOAD (an empty
 * environment), and malloc, stdio and libdw work as usual. */
#include <errno.h>
#include <fcntl.h>
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
#include <sys/syscall.h>
#include <sys/wait.h>

#include "log.h"
#include "ring.h"
#include "shim.h"
#include "heappeak.h"
#include "httpd.h"
#include "snapshot.h"
#include "symbols.h"

struct watch {
	struct cgs_region *r;
	pid_t pid;
	int pidfd;
	int ino; /* inotify on the region's memfd, or -1 */
	volatile int dead;
	struct cgs_symbolizer *sym;
	bool warned;
	uint32_t written;
	/* The final report written while the exiting thread waited
	 * (exitwait.c): its number and what had been counted then. */
	bool exit_written;
	uint32_t exit_seq;
	char exit_path[4200];    /* the file it went to */
	struct cgs_activity at_exit;
	struct cgs_snap_base *base; /* CGOSHIM_INTERVAL_MODE=delta: the last interval report's numbers */
};

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
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, want, strlen(want)) &&
			(strstr(line, "memfd:cgoshim") || strstr(line, "/dev/zero")); /* region.c */
	fclose(f);
	return found;
}

static bool alive(struct watch *w)
{
	if (w->pidfd >= 0) {
		struct pollfd p = { w->pidfd, POLLIN, 0 };
		return poll(&p, 1, 0) == 0;
	}
	return kill(w->pid, 0) == 0 || errno == EPERM;
}

/* Waits for the end of the image: the pidfd for an exit; for an exec, the
 * close of the process's open file of the region (inotify on the memfd:
 * the process's mapping is its only user, see region.c), confirmed with
 * the process's maps. The maps are also read every 2 s (every 250 ms
 * without inotify): a raw fork child that never copied the region keeps
 * that file open after its parent's exec. */
static void *death_watch(void *arg)
{
	struct watch *w = arg;
	for (;;) {
		struct pollfd p[2];
		int n = 0;
		if (w->pidfd >= 0)
			p[n++] = (struct pollfd){ w->pidfd, POLLIN, 0 };
		if (w->ino >= 0)
			p[n++] = (struct pollfd){ w->ino, POLLIN, 0 };
		int k = poll(p, (nfds_t)n, w->ino >= 0 ? 2000 : 250);
		if (k < 0 && errno != EINTR)
			break;
		if (!alive(w))
			break;
		if (w->ino >= 0 && (p[n - 1].revents & POLLIN)) {
			char buf[4096];
			if (read(w->ino, buf, sizeof(buf)) < 0 && errno != EAGAIN && errno != EINTR) {
				close(w->ino);
				w->ino = -1;
			}
		}
		if (!still_mapped(w))
			break;
	}
	w->dead = 1;
	__atomic_add_fetch(&w->r->dump_req, 0, __ATOMIC_SEQ_CST);
	wake(&w->r->dump_req);
	return NULL;
}

/* Expand %p (pid), %n (sequence number), %% in the output template. */
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
	fchmod(fd, 0600);
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
		/* same pid, another image: the path was checked to fit when expanded */
		if (snprintf(dst, sizeof(dst), "%.4000s.%d", path, i) >= (int)sizeof(dst))
			break;
	}
	int e = errno;
	unlink(tmp);
	errno = e;
	return -1;
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
	cgs_snapshot_free(s);
	int rc;
	char path[4200];
	if (!r->opts.output[0]) {
		rc = write_all(2, buf, len);
		path[0] = 0;
	} else {
		/* A rewrite goes over the file the first version went to (which
		 * may have a .N suffix), not over another one. */
		if (how->replace && w->exit_path[0])
			snprintf(path, sizeof(path), "%s", w->exit_path);
		else
			expand(r->opts.output, w->pid, seq, path, sizeof(path));
		rc = write_file(w, path, buf, len, how->replace || r->opts.format == CGS_FMT_OPENMETRICS,
				how->final_at && !how->replace ? w->exit_path : NULL, sizeof(w->exit_path));
	}
	if (rc && !w->warned) {
		char msg[600];
		snprintf(msg, sizeof(msg), "cannot write the report to %.400s: %s%s", path[0] ? path : "stderr",
			 errno == ELOOP ? "it is a symbolic link, refused" : strerror(errno),
			 final ? "" : " (further failures are not reported)");
		cgs_log(msg, (const char *)NULL);
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
	w->sym = cgs_sym_new(r->modules);
	if (w->sym && r->opts.symbol_cache[0]) {
		char dir[CGS_OUTPUT_MAX + 1];
		memcpy(dir, r->opts.symbol_cache, CGS_OUTPUT_MAX);
		dir[CGS_OUTPUT_MAX] = 0;
		cgs_sym_set_cache(w->sym, dir);
	}
	/* The flight recorder's helper: refines slow_ticks once the TSC rate
	 * is known, notes which node each thread runs on (ring.h). */
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
	/* Without the thread, the loop below checks for the end every second. */
	bool polling = pthread_create(&th, NULL, death_watch, w) != 0;
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
		if (w->dead) {
			if (req != handled)
				__atomic_add_fetch(&r->counters.dumps_coalesced, req - handled, __ATOMIC_RELAXED);
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
		syscall(SYS_futex, &r->dump_req, FUTEX_WAIT, req, &ts, NULL, 0);
		if (!w->dead && (!alive(w) || (polling && !still_mapped(w))))
			w->dead = 1;
	}
	if (w->exit_written) {
		after_exit(w);
	} else {
		struct emit_how how = { .final = true, .final_at = "gone" };
		emit_how(w, "exit", &how);
	}
	__atomic_store_n(&r->exit_done, 1, __ATOMIC_RELEASE);
	wake(&r->exit_done);
	__atomic_store_n(&r->dump_done, __atomic_load_n(&r->dump_req, __ATOMIC_ACQUIRE) + 1, __ATOMIC_RELEASE);
	wake(&r->dump_done);
}

static void close_others(int keep1, int keep2)
{
	int keep[3] = { 2, keep1, keep2 };
	/* sort */
	for (int i = 0; i < 3; i++)
		for (int j = i + 1; j < 3; j++)
			if (keep[j] < keep[i]) {
				int t = keep[i];
				keep[i] = keep[j];
				keep[j] = t;
			}
	unsigned lo = 0;
	for (int i = 0; i < 3; i++) {
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

static void become_watcher(struct cgs_region *r, pid_t pid, int pidfd, int memfd)
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
	static const int quiet[] = { SIGINT, SIGQUIT, SIGHUP, SIGTERM, SIGPIPE, SIGUSR1, SIGUSR2,
				     SIGTSTP, SIGTTIN, SIGTTOU, SIGWINCH };
	for (size_t i = 0; i < CGS_ARRAY_LEN(quiet); i++)
		signal(quiet[i], SIG_IGN);
	if (r->opts.signal)
		signal(r->opts.signal, SIG_IGN);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	close_others(pidfd, memfd);
	struct watch w = { .r = r, .pid = pid, .pidfd = pidfd, .ino = watch_memfd(memfd) };
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
	uint64_t size = head->size;
	munmap(head, 4096);
	void *p = mmap((void *)at, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE | MAP_FIXED_NOREPLACE, fd, 0);
	if (p == (void *)at)
		return p;
	if (p != MAP_FAILED)
		munmap(p, size); /* an old kernel that took the flag as a hint */
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
	int pidfd = -1, memfd = -1;
	uintptr_t at = 0;
	bool ok = argc == 9;
	for (int i = 1; ok && i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--pid"))
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
	become_watcher(r, pid, pidfd, memfd);
	return 0;
}
