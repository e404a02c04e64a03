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
 * That is how a process with nobody to ask starts its watcher (the first
 * traced process). Every later one asks a watcher to start its own as
 * that watcher's child, so that no watcher is ever in the program's tree
 * of processes, where a subreaper or PID 1 would adopt it: see
 * spawnproto.h (via_server below is the client). Without an answer it
 * falls back to the clone.
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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/futex.h>
#include <poll.h>
#include <stddef.h>

#include "config.h"
#include "log.h"
#include "ring.h"
#include "seccomp.h"
#include "shim.h"
#include "spawnproto.h"

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
			*(struct dl_phdr_info *)data = *info;
			return 1;
		}
	}
	return 0;
}

/* The loader's view of this library (its name, base, program headers). */
bool cgs_self_object(struct dl_phdr_info *out)
{
	memset(out, 0, sizeof(*out));
	return dl_iterate_phdr(find_self, out) == 1;
}

void cgs_spawn_prepare(const char *override)
{
	watcher_path[0] = 0;
	if (override && *override) {
		if (strlen(override) < sizeof(watcher_path))
			memcpy(watcher_path, override, strlen(override) + 1);
		return;
	}
	struct dl_phdr_info self;
	const char *name = cgs_self_object(&self) ? self.dlpi_name : NULL;
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
	/* Watchers below ours (those our watcher's own children started,
	 * spawnsrv.c) that lose their parent come here, not to the program;
	 * SIGCHLD ignored reaps them. */
	syscall(SYS_prctl, PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
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

static void keep_only(int a, int b, int c, bool keep_stdout)
{
	int keep[5] = { 2, a, b, c, keep_stdout ? 1 : -1 };
	for (int i = 0; i < 5; i++)
		for (int j = i + 1; j < 5; j++)
			if (keep[j] < keep[i]) {
				int t = keep[i];
				keep[i] = keep[j];
				keep[j] = t;
			}
	unsigned lo = 0;
	for (int i = 0; i < 5; i++) {
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

/* ------------------------------------------------ the spawn server, client */

/* The abstract address of name: a NUL, then the name (no NUL after). */
static socklen_t spawn_addr(const char *name, struct sockaddr_un *a)
{
	size_t n = strlen(name);
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	memcpy(a->sun_path + 1, name, n);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

/* Whether the program's seccomp filter (if any) lets us make every call
 * the client makes. */
static bool spawn_calls_allowed(void)
{
	static const long nrs[] = { SYS_socket, SYS_connect, SYS_getsockopt, SYS_sendmsg, SYS_poll,
				    SYS_recvfrom, SYS_close, SYS_fcntl, SYS_geteuid, SYS_getppid };
	for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++)
		if (!cgs_seccomp_allows0(nrs[i]))
			return false;
	return true;
}

/* Whether a seccomp filter the shim never saw (inherited across exec) was
 * in force when this image started: /proc/self/status says. Such a filter
 * let the shim's start-up calls through (clone, vfork, execve: the way it
 * started watchers before the server), but may forbid the socket calls:
 * then the server is not asked. */
static bool unseen_filter(struct cgs_region *r)
{
	if (!r->seccomp_inherited) {
		char buf[4096];
		r->seccomp_inherited = 1;
		int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/status", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			long n = syscall(SYS_read, fd, buf, sizeof(buf) - 1);
			syscall(SYS_close, fd);
			if (n > 0) {
				buf[n] = 0;
				const char *p = strstr(buf, "\nSeccomp:");
				if (p) {
					p += 9;
					while (*p == ' ' || *p == '\t')
						p++;
					r->seccomp_inherited = *p == '0' ? 2 : 1;
				}
			}
		}
	}
	return r->seccomp_inherited == 1;
}

static bool fd_open(int fd)
{
	return syscall(SYS_fcntl, fd, F_GETFD) >= 0;
}

enum { ASK_SERVED, ASK_NONE, ASK_FAILED };

/* Ask the server listening on name to start this process's watcher.
 * ASK_SERVED: it runs (its pid in *wpid if we can see it); ASK_NONE: no
 * server listens there; ASK_FAILED: one listens but did not start it
 * within CGS_SPAWN_REPLY_MS (the region is then ours: spawn_claim 2, a
 * watcher it starts later leaves it alone). Never blocks longer. */
static int ask_server(struct cgs_region *r, const char *name, pid_t pid, int pidfd, int memfd, int32_t *wpid)
{
	*wpid = 0;
	int s = (int)syscall(SYS_socket, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return ASK_FAILED;
	struct sockaddr_un a;
	socklen_t alen = spawn_addr(name, &a);
	if (syscall(SYS_connect, s, &a, alen)) {
		/* ECONNREFUSED: nobody listens; EAGAIN: its backlog is full. */
		int e = errno;
		syscall(SYS_close, s);
		return e == ECONNREFUSED || e == ENOENT ? ASK_NONE : ASK_FAILED;
	}
	/* The listener must be our user's (another user could have taken
	 * the name): it gets our memory. */
	struct ucred peer;
	socklen_t plen = sizeof(peer);
	if (syscall(SYS_getsockopt, s, SOL_SOCKET, SO_PEERCRED, &peer, &plen) ||
	    peer.uid != (uid_t)syscall(SYS_geteuid)) {
		syscall(SYS_close, s);
		return ASK_FAILED;
	}
	struct cgs_spawn_req req = { CGS_SPAWN_MAGIC, CGS_SPAWN_VERSION, (int32_t)pid, 0, (uint64_t)(uintptr_t)r };
	int fds[4], n = 0;
	fds[n++] = memfd;
	fds[n++] = pidfd;
	if (fd_open(2)) {
		fds[n++] = 2;
		req.flags |= CGS_SPAWN_HAS_STDERR;
	}
	if (r->opts.output[0] == '-' && !r->opts.output[1] && fd_open(1)) {
		fds[n++] = 1;
		req.flags |= CGS_SPAWN_HAS_STDOUT;
	}
	union {
		char buf[CMSG_SPACE(sizeof(fds))];
		struct cmsghdr align;
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct iovec iov = { &req, sizeof(req) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			    .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n);
	int rc = ASK_FAILED;
	if (syscall(SYS_sendmsg, s, &m, MSG_DONTWAIT | MSG_NOSIGNAL) == (long)sizeof(req)) {
		int64_t deadline = cgs_mono_ns() + (int64_t)CGS_SPAWN_REPLY_MS * 1000000;
		for (;;) {
			struct cgs_spawn_reply rep;
			long k = syscall(SYS_recvfrom, s, &rep, sizeof(rep), MSG_DONTWAIT, NULL, NULL);
			if (k == (long)sizeof(rep)) {
				if (rep.magic == CGS_SPAWN_MAGIC && rep.status == 0) {
					*wpid = rep.watcher_pid;
					rc = ASK_SERVED;
				}
				break;
			}
			if (k >= 0 || (errno != EAGAIN && errno != EINTR))
				break; /* the server closed: it failed */
			int64_t left = deadline - cgs_mono_ns();
			if (left <= 0)
				break;
			struct pollfd p = { s, POLLIN, 0 };
			syscall(SYS_poll, &p, 1, (int)(left / 1000000) + 1);
		}
	}
	syscall(SYS_close, s);
	/* No answer in time: the watcher the server may still start must not
	 * compete with ours. Whoever sets spawn_claim first has the region. */
	if (rc == ASK_FAILED) {
		uint32_t none = 0;
		if (!__atomic_compare_exchange_n(&r->spawn_claim, &none, 2, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) &&
		    none == 1)
			rc = ASK_SERVED; /* it did start one, just late */
	}
	return rc;
}

/* A new listening socket on name for this process's watcher to serve;
 * -1 (errno EADDRINUSE when another has it). */
static int listen_new(const char *name)
{
	static const long nrs[] = { SYS_socket, SYS_bind, SYS_listen };
	for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++)
		if (!cgs_seccomp_allows0(nrs[i]))
			return -1;
	int s = (int)syscall(SYS_socket, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	struct sockaddr_un a;
	socklen_t alen = spawn_addr(name, &a);
	if (syscall(SYS_bind, s, &a, alen) || syscall(SYS_listen, s, 128)) {
		int e = errno;
		syscall(SYS_close, s);
		errno = e;
		return -1;
	}
	return s;
}

/* A name no other run uses: cgoshim-RANDOM-PID (the shape of
 * cgs_spawn_name, with a random number for the namespace's inode). */
static void new_name(char out[CGS_SPAWN_NAME_MAX], pid_t pid)
{
	uint64_t nonce = 0;
	if (syscall(SYS_getrandom, &nonce, sizeof(nonce), 1 /* GRND_NONBLOCK */) != (long)sizeof(nonce))
		nonce = cgs_rdtsc() ^ ((uint64_t)(uintptr_t)&nonce << 16);
	cgs_spawn_name(out, nonce, (int32_t)pid);
}

static int spawn(struct cgs_region *r);

int cgs_watcher_spawn(struct cgs_region *r)
{
	int saved = errno;
	int rc = spawn(r);
	errno = saved;
	return rc;
}

/* The inode of this process's pid namespace, 0 if unknown. */
static uint64_t pidns_ino(void)
{
	struct stat st;
	if (!cgs_seccomp_allows0(SYS_newfstatat) ||
	    syscall(SYS_newfstatat, AT_FDCWD, "/proc/self/ns/pid", &st, 0))
		return 0;
	return (uint64_t)st.st_ino;
}

static bool in_list(char (*names)[CGS_SPAWN_NAME_MAX], int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

/* Through a spawn server (spawnproto.h). Returns 0 when one started the
 * watcher (the two descriptors are closed then); else our own watcher is
 * to be started, and *listen_fd is a new listening socket for it to serve
 * our descendants on, or -1.
 *
 * Asked in turn: a fork child, the watcher its parent asked (the name is
 * in its copy of the parent's region), then its parent's own; an exec'd
 * image, its parent process's watcher (the name is made of the parent's
 * pid and the pid namespace), then the watcher of the image it replaced;
 * then the launcher's name (CGOSHIM_SPAWN). Without an answer the process
 * serves its own descendants: its watcher listens on its own name, or,
 * for the launcher's program, on the launcher's. */
static int via_server(struct cgs_region *r, pid_t pid, int pidfd, int memfd, int *listen_fd)
{
	*listen_fd = -1;
	char names[4][CGS_SPAWN_NAME_MAX];
	int n = 0;
	r->spawn_name[sizeof(r->spawn_name) - 1] = 0;
	if (r->fork_generation && r->spawn_name[0])
		memcpy(names[n++], r->spawn_name, sizeof(r->spawn_name));
	r->spawn_name[0] = 0;
	__atomic_store_n(&r->spawn_claim, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&r->watcher_pid, 0, __ATOMIC_RELEASE); /* a fork child's copy names its parent's */
	if (unseen_filter(r) || !spawn_calls_allowed())
		return -1;
	uint64_t ino = pidns_ino();
	pid_t ppid = (pid_t)syscall(SYS_getppid);
	if (ino && ppid > 0) {
		cgs_spawn_name(names[n], ino, ppid);
		n += !in_list(names, n, names[n]);
	}
	/* An exec'd image: the watcher of the image before it (same pid) may
	 * still be writing that one's final report. It is the only one to
	 * ask for PID 1 of a pid namespace, whose parent is outside it. */
	if (ino && !r->fork_generation) {
		cgs_spawn_name(names[n], ino, pid);
		n += !in_list(names, n, names[n]);
	}
	bool launcher_main = r->opts.spawn[0] && !r->fork_generation && r->opts.main_pid == (int32_t)pid;
	if (r->opts.spawn[0] && !launcher_main && !in_list(names, n, r->opts.spawn))
		memcpy(names[n++], r->opts.spawn, sizeof(r->opts.spawn));
	/* A server was expected: our parent's (a fork child's) or the
	 * launcher's program's. */
	bool expected = (r->fork_generation && n > 0) || (r->opts.spawn[0] && !launcher_main);
	for (int i = 0; i < n && memfd >= 0 && pidfd >= 0; i++) {
		int32_t wpid = 0;
		int rc = ask_server(r, names[i], pid, pidfd, memfd, &wpid);
		if (rc == ASK_SERVED) {
			if (wpid > 0)
				__atomic_store_n(&r->watcher_pid, wpid, __ATOMIC_RELEASE);
			/* Our fork children ask the same server (all the
			 * watchers of a tree of fork children are then that
			 * one's children: see spawnsrv.c, PID 1); images we
			 * exec ask our watcher, which listens on our name. */
			memcpy(r->spawn_name, names[i], sizeof(r->spawn_name));
			return 0;
		}
		if (rc == ASK_FAILED)
			break; /* it may still start one: the region is ours (spawn_claim) */
	}
	/* No server answered: our own watcher, which a subreaper or PID 1
	 * above may adopt; said in the report. */
	if (expected)
		__atomic_add_fetch(&r->counters.spawn_fallback, 1, __ATOMIC_RELAXED);
	char name[CGS_SPAWN_NAME_MAX];
	if (launcher_main)
		memcpy(name, r->opts.spawn, sizeof(name));
	else if (ino)
		cgs_spawn_name(name, ino, pid);
	else
		new_name(name, pid);
	*listen_fd = listen_new(name);
	if (*listen_fd < 0 && errno == EADDRINUSE) {
		/* A watcher of an earlier process with our pid still writes its
		 * final report. */
		new_name(name, pid);
		*listen_fd = listen_new(name);
	}
	if (*listen_fd >= 0)
		memcpy(r->spawn_name, name, sizeof(name));
	return -1;
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
	int listen_fd = -1;
	if (!via_server(r, pid, pidfd, memfd, &listen_fd)) {
		if (pidfd >= 0)
			syscall(SYS_close, pidfd);
		if (memfd >= 0)
			syscall(SYS_close, memfd);
		return 0;
	}
	char a_pid[24], a_pidfd[24], a_memfd[24], a_region[24], a_listen[24];
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
	if (listen_fd >= 0)
		cgs_u64_str((uint64_t)listen_fd, a_listen);
	static char a_mapped[24];
	char *const argv[] = { (char *)WATCHER_NAME, (char *)"--pid", a_pid, (char *)"--pidfd", a_pidfd,
			       (char *)"--memfd", a_memfd, (char *)"--region", a_region,
			       listen_fd >= 0 ? (char *)"--serve" : NULL, a_listen, NULL };
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
			keep_only(pidfd, memfd, listen_fd, r->opts.output[0] == '-' && !r->opts.output[1]);
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
	if (listen_fd >= 0)
		syscall(SYS_close, listen_fd);
	if (mid < 0)
		return clone_errno == EAGAIN ? -EAGAIN : -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		if (errno == ECHILD)
			return 0; /* the program reaped our helper itself (__WALL): it ran */
		return WIFEXITED(status) && WEXITSTATUS(status) == 2 ? -ENOEXEC : -1;
	}
	return 0;
}
