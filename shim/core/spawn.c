/* spawn.c - start the watcher executable for this process image.
 *
 * The watcher is its own program (shim/watcher/, installed as
 * cgoshim-watch beside the library or under libexec/cgoshim/), so that
 * symbolisation and report writing (libdw, libelf, zlib, stdio, malloc)
 * never live in the traced program's address space.
 *
 * Spawning runs inside the traced process, possibly in a fork child's
 * first moments: raw system calls only, nothing allocated. The program
 * must not be able to tell: no SIGCHLD it did not cause, no child that
 * its wait() returns or waits for, no pthread_atfork handler run.
 *
 * A raw clone (not libc's fork: no handler of the program runs) with no
 * exit signal makes an intermediate process: its end sends the program
 * no signal, and wait()/waitpid() without __WALL/__WCLONE never see it
 * (the kernel waits only for children whose exit signal is SIGCHLD; an
 * exec would make it SIGCHLD again, so it is not the one that execs). The
 * intermediate vforks the watcher's process, which execs cgoshim-watch at
 * once with the pid, a pidfd and the region's memfd on its command line
 * and an empty environment (no LD_PRELOAD: the watcher is never measured),
 * and exits; the program reaps it (waitpid with __WALL). The watcher, an
 * orphan, is adopted by the nearest child subreaper (the launcher) or
 * init: never by the program.
 *
 *  - A program that is a child subreaper itself (the flag survives exec)
 *    would adopt it: the flag is off from the clone until the
 *    intermediate is reaped.
 *  - A program that is PID 1 of a pid namespace adopts every orphan in
 *    it: there the intermediate stays, idle, with every signal ignored,
 *    as the watcher's parent (it says whether the exec worked through the
 *    region and a futex). It never execs and never exits before the
 *    program, so the program never sees it.
 * The watchers of a subreaper's or PID 1's traced descendants are adopted
 * by it (README, Limits).
 *
 * The path is found once, at start-up (cgs_spawn_prepare): CGOSHIM_WATCHER
 * if set, else cgoshim-watch in the library's own folder (the build tree),
 * else ../libexec/cgoshim/cgoshim-watch from it, else the configured
 * libexecdir. */
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sched.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/futex.h>

#include "config.h"
#include "log.h"
#include "ring.h"
#include "shim.h"

#define WATCHER_NAME "cgoshim-watch"

static CGS_TLS bool t_spawning;
static char watcher_path[4096];

bool cgs_watcher_spawning(void)
{
	return t_spawning;
}

static bool executable(const char *path)
{
	return syscall(SYS_faccessat, AT_FDCWD, path, X_OK) == 0;
}

/* dir (up to its last '/', kept) + tail into watcher_path; whether that
 * names an executable. */
static bool try_beside(const char *lib, size_t dirlen, const char *tail)
{
	size_t n = strlen(tail);
	if (dirlen + n + 1 > sizeof(watcher_path))
		return false;
	memcpy(watcher_path, lib, dirlen);
	memcpy(watcher_path + dirlen, tail, n + 1);
	return executable(watcher_path);
}

static int find_self(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	uint64_t me = (uint64_t)(uintptr_t)&find_self;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && me >= lo && me < lo + ph->p_memsz) {
			*(const char **)data = info->dlpi_name;
			return 1;
		}
	}
	return 0;
}

void cgs_spawn_prepare(const char *override)
{
	watcher_path[0] = 0;
	if (override && *override) {
		if (strlen(override) < sizeof(watcher_path))
			memcpy(watcher_path, override, strlen(override) + 1);
		return;
	}
	const char *name = NULL;
	dl_iterate_phdr(find_self, &name);
	char lib[4096];
	size_t n = 0;
	if (name && name[0] && name[0] != '/') {
		/* a relative LD_PRELOAD path: relative to the directory now */
		long k = syscall(SYS_getcwd, lib, sizeof(lib) - 2);
		if (k > 0) {
			n = strlen(lib);
			lib[n++] = '/';
		}
	}
	if (name && strlen(name) + n < sizeof(lib)) {
		memcpy(lib + n, name, strlen(name) + 1);
		char *slash = strrchr(lib, '/');
		size_t dirlen = slash ? (size_t)(slash - lib + 1) : 0;
		if (dirlen && (try_beside(lib, dirlen, WATCHER_NAME) ||
			       try_beside(lib, dirlen, "../libexec/cgoshim/" WATCHER_NAME)))
			return;
	}
	const char *fixed = CGOSHIM_LIBEXECDIR "/cgoshim/" WATCHER_NAME;
	if (strlen(fixed) < sizeof(watcher_path) && executable(fixed)) {
		memcpy(watcher_path, fixed, strlen(fixed) + 1);
		return;
	}
	watcher_path[0] = 0;
}

/* Whether RLIMIT_NPROC is low enough that a watcher per process would
 * take processes the program needs (below 4096), and applies to us (not
 * to root, nor to CAP_SYS_RESOURCE or CAP_SYS_ADMIN). */
bool cgs_nproc_tight(void)
{
	struct rlimit rl;
	if (syscall(SYS_prlimit64, 0, RLIMIT_NPROC, NULL, &rl) || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= 4096)
		return false;
	if (syscall(SYS_getuid) == 0)
		return false;
	struct { uint32_t version; int pid; } hdr = { 0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0 };
	struct { uint32_t effective, permitted, inheritable; } caps[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
	if (syscall(SYS_capget, &hdr, caps))
		return true;
	return !(caps[0].effective & ((1u << 24) | (1u << 21))); /* CAP_SYS_RESOURCE, CAP_SYS_ADMIN */
}

const char *cgs_watcher_path(void)
{
	return watcher_path;
}

/* The intermediate: fork(2) semantics, no exit signal. */
static pid_t clone_quiet(void)
{
	return (pid_t)syscall(SYS_clone, 0, 0, NULL, NULL, 0);
}

/* The intermediate of a PID 1: ignore every signal, reap the watcher
 * when it ends, then wait for the end of the namespace. Raw calls only
 * (a copy of a process that may have been anywhere). */
static __attribute__((noreturn)) void stay(void)
{
	struct {
		void *handler;
		unsigned long flags;
		void *restorer;
		uint64_t mask;
	} ign = { SIG_IGN, 0, NULL, 0 };
	for (int sig = 1; sig <= 64; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			syscall(SYS_rt_sigaction, sig, &ign, NULL, 8);
	for (;;)
		syscall(SYS_pause);
}

static char *hex(uint64_t v, char *buf)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[17];
	int n = 0;
	do {
		tmp[n++] = digits[v & 15];
		v >>= 4;
	} while (v);
	buf[0] = '0';
	buf[1] = 'x';
	for (int i = 0; i < n; i++)
		buf[2 + i] = tmp[n - 1 - i];
	buf[2 + n] = 0;
	return buf;
}

/* In the watcher's process, before exec: close every descriptor but
 * stderr and the two it is handed (a program that used up RLIMIT_NOFILE
 * would leave the watcher none to load its libraries with), and keep
 * those two across the exec. The table is this process's own copy. */
static void close_range_raw(unsigned lo, unsigned hi)
{
	if (lo > hi)
		return;
	if (syscall(SYS_close_range, lo, hi, 0))
		for (unsigned fd = lo; fd <= hi && fd < 65536; fd++)
			syscall(SYS_close, fd);
}

static void keep_only(int a, int b, bool keep_stdout)
{
	int keep[4] = { 2, a, b, keep_stdout ? 1 : -1 };
	for (int i = 0; i < 4; i++)
		for (int j = i + 1; j < 4; j++)
			if (keep[j] < keep[i]) {
				int t = keep[i];
				keep[i] = keep[j];
				keep[j] = t;
			}
	unsigned lo = 0;
	for (int i = 0; i < 4; i++) {
		if (keep[i] < 0 || (unsigned)keep[i] < lo)
			continue;
		if ((unsigned)keep[i] > lo)
			close_range_raw(lo, (unsigned)keep[i] - 1);
		syscall(SYS_fcntl, keep[i], F_SETFD, 0);
		lo = (unsigned)keep[i] + 1;
	}
	close_range_raw(lo, ~0u);
}


/* No memfd (a fork child that had no descriptor free: region.c mapped
 * shared anonymous memory instead): in the watcher's process, which still
 * shares that mapping, open it through /proc/self/map_files (needs
 * CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE), so the exec'd watcher can map
 * it. The name is the range of the mapping's first area, from the maps. */
static int open_own_mapping(const struct cgs_region *r)
{
	char want[24], path[96] = "/proc/self/map_files/";
	hex((uint64_t)(uintptr_t)r, want);
	size_t wl = strlen(want + 2);
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char buf[8192];
	size_t have = 0;
	int found = -1;
	for (;;) {
		long k = syscall(SYS_read, fd, buf + have, sizeof(buf) - 1 - have);
		if (k <= 0)
			break;
		have += (size_t)k;
		buf[have] = 0;
		char *line = buf, *nl;
		while ((nl = strchr(line, '\n'))) {
			*nl = 0;
			if (!strncmp(line, want + 2, wl) && line[wl] == '-') {
				char *end = strchr(line, ' ');
				if (end && (size_t)(end - line) < sizeof(path) - 22) {
					memcpy(path + 21, line, (size_t)(end - line));
					path[21 + (end - line)] = 0;
					found = 1;
				}
				break;
			}
			line = nl + 1;
		}
		if (found > 0)
			break;
		have = strlen(line);
		memmove(buf, line, have);
	}
	syscall(SYS_close, fd);
	if (found <= 0)
		return -1;
	return (int)syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CLOEXEC);
}

static int spawn(struct cgs_region *r);

int cgs_watcher_spawn(struct cgs_region *r)
{
	int saved = errno;
	int rc = spawn(r);
	errno = saved;
	return rc;
}

static int spawn(struct cgs_region *r)
{
	/* A fork child (one thread, its own region now): its flight recorder
	 * rings start empty and are bound again (ring.h). */
	if (r->fork_generation)
		cgs_rings_after_fork(r);
	if (!watcher_path[0])
		return -ENOENT;
	pid_t pid = getpid();
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int memfd = cgs_region_take_fd();
	char a_pid[24], a_pidfd[24], a_memfd[24], a_region[24];
	cgs_u64_str((uint64_t)pid, a_pid);
	if (pidfd >= 0)
		cgs_u64_str((uint64_t)pidfd, a_pidfd);
	else
		memcpy(a_pidfd, "-1", 3);
	if (memfd >= 0)
		cgs_u64_str((uint64_t)memfd, a_memfd);
	else
		memcpy(a_memfd, "-1", 3);
	hex((uint64_t)(uintptr_t)r, a_region);
	static char a_mapped[24];
	char *const argv[] = { (char *)WATCHER_NAME, (char *)"--pid", a_pid, (char *)"--pidfd", a_pidfd,
			       (char *)"--memfd", a_memfd, (char *)"--region", a_region, NULL };
	/* PID 1 keeps the intermediate; a subreaper lets the watcher go. */
	bool init = syscall(SYS_getpid) == 1;
	int reaper = 0;
	if (!init && !prctl(PR_GET_CHILD_SUBREAPER, &reaper, 0, 0, 0) && reaper)
		prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	__atomic_store_n(&r->spawn_state, 0, __ATOMIC_RELAXED);
	t_spawning = true;
	pid_t mid = clone_quiet();
	if (mid == 0) {
		/* Named before the watcher exists: the launcher waits for every
		 * process of this name (shim/cli/launcher.c). */
		prctl(PR_SET_NAME, WATCHER_NAME);
		/* vfork: this process resumes once the watcher's has exec'd or
		 * failed to, and sees its verdict in exec_errno (shared memory
		 * until the exec). */
		static char *const envp[] = { NULL };
		volatile int exec_errno = 0;
		pid_t w = vfork();
		if (w == 0) {
			/* CGOSHIM_OUTPUT=-: reports to the program's stdout. */
			keep_only(pidfd, memfd, r->opts.output[0] == '-' && !r->opts.output[1]);
			if (memfd < 0) {
				int m = open_own_mapping(r);
				if (m >= 0) {
					syscall(SYS_fcntl, m, F_SETFD, 0);
					cgs_u64_str((uint64_t)m, a_mapped);
					((char **)argv)[6] = a_mapped;
				}
			}
			syscall(SYS_execve, watcher_path, argv, envp);
			exec_errno = errno ? errno : ENOEXEC;
			_exit(127);
		}
		/* The region is shared: the program learns its watcher's pid
		 * (exitwait.c stops waiting for a watcher that is gone). */
		if (w > 0 && !exec_errno)
			__atomic_store_n(&r->watcher_pid, (int32_t)w, __ATOMIC_RELEASE);
		int verdict = w < 0 ? 1 : exec_errno ? 2 : 0;
		if (init) {
			__atomic_store_n(&r->spawn_state, (uint32_t)verdict + 1, __ATOMIC_RELEASE);
			syscall(SYS_futex, &r->spawn_state, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
			if (!verdict)
				stay();
		}
		_exit(verdict);
	}
	int clone_errno = errno;
	t_spawning = false;
	int status = 1;
	if (mid > 0 && init) {
		/* Bounded: an intermediate that died before saying must not
		 * hang the program. */
		for (int i = 0; i < 100 && !__atomic_load_n(&r->spawn_state, __ATOMIC_ACQUIRE); i++) {
			struct timespec ts = { 0, 50 * 1000 * 1000 };
			syscall(SYS_futex, &r->spawn_state, FUTEX_WAIT, 0, &ts, NULL, 0);
		}
		uint32_t st = __atomic_load_n(&r->spawn_state, __ATOMIC_ACQUIRE);
		status = st == 1 ? 0 : st == 3 ? 2 << 8 : 1 << 8;
		if (st != 1)
			while (waitpid(mid, NULL, __WALL) < 0 && errno == EINTR)
				;
	} else if (mid > 0) {
		errno = 0;
		while (waitpid(mid, &status, __WALL) < 0 && errno == EINTR)
			;
	}
	if (reaper)
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	if (pidfd >= 0)
		syscall(SYS_close, pidfd);
	if (memfd >= 0)
		syscall(SYS_close, memfd);
	if (mid < 0)
		return clone_errno == EAGAIN ? -EAGAIN : -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		if (errno == ECHILD)
			return 0; /* the program reaped our helper itself (__WALL): it ran */
		return WIFEXITED(status) && WEXITSTATUS(status) == 2 ? -ENOEXEC : -1;
	}
	return 0;
}
