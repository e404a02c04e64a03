/* spawnsrv.c - the watcher spawn server (protocol: shim/core/spawnproto.h).
 *
 * A watcher started with --serve FD listens on FD (an abstract unix socket
 * its process made and named, spawn.c) in a thread of its own. Each request
 * carries a traced process's region memfd, a pidfd of it and its stderr
 * (and stdout when reports go there); the thread starts cgoshim-watch for
 * it as a child of this watcher, with those descriptors, an empty
 * environment and the pid the kernel gives for the peer (SO_PEERCRED: its
 * pid in our namespace, so a watcher outside a pid namespace reads the
 * right /proc entry), and answers once the exec is done. The new watcher is
 * in no traced process's tree: a subreaper or PID 1 among them never sees
 * it.
 *
 * Requests of another user are refused (the watcher would write files the
 * process names). Children that end are reaped here (a second per poll at
 * most). Nothing here may hold up the watcher's own work: the thread blocks
 * every signal, and a client that sends nothing within a second is
 * dropped. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "spawnproto.h"
#include "spawnsrv.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static int listen_fd = -1;
/* Our own executable, by its path: exec'd through /proc/self/exe a
 * watcher would be named "exe" until it renames itself, and the launcher
 * knows watchers by their name from their first instant (launcher.c). */
static char self_path[4096] = "/proc/self/exe";
static pthread_mutex_t children_lock = PTHREAD_MUTEX_INITIALIZER;
/* Watchers started and not reaped yet, each with a pidfd of the process
 * it watches (whether that one has ended: cgs_spawnsrv_finishing). */
struct child {
	pid_t pid;
	int traced;
};
static struct child *kids;
static int children, kids_cap;
static volatile int stopping;

static void reap(void)
{
	pthread_mutex_lock(&children_lock);
	pid_t w;
	while (children > 0 && (w = waitpid(-1, NULL, WNOHANG | __WALL)) > 0)
		for (int i = 0; i < children; i++)
			if (kids[i].pid == w) {
				if (kids[i].traced >= 0)
					close(kids[i].traced);
				kids[i] = kids[--children];
				break;
			}
	pthread_mutex_unlock(&children_lock);
}

static void add_child(pid_t w, int pidfd)
{
	if (children == kids_cap) {
		int cap = kids_cap ? kids_cap * 2 : 64;
		struct child *k = realloc(kids, (size_t)cap * sizeof(*k));
		if (!k)
			return; /* not tracked: reaped all the same (waitpid -1) */
		kids = k;
		kids_cap = cap;
	}
	kids[children].pid = w;
	kids[children].traced = fcntl(pidfd, F_DUPFD_CLOEXEC, 3);
	children++;
}

static void u_str(long v, char *buf)
{
	snprintf(buf, 24, "%ld", v);
}

/* Start the watcher for one request; its pid, or -errno. In the child
 * (vfork: it shares our memory until the exec) system calls only. */
static pid_t start_watcher(pid_t pid, int memfd, int pidfd, int err, int out, uint64_t region, int serve)
{
	char a_pid[24], a_pidfd[24], a_memfd[24], a_region[24], a_serve[24];
	u_str(pid, a_pid);
	u_str(serve, a_serve);
	u_str(pidfd, a_pidfd);
	u_str(memfd, a_memfd);
	snprintf(a_region, sizeof(a_region), "0x%llx", (unsigned long long)region);
	char *const argv[] = { (char *)"cgoshim-watch", (char *)"--pid", a_pid, (char *)"--pidfd", a_pidfd,
			       (char *)"--memfd", a_memfd, (char *)"--region", a_region, (char *)"--served",
			       serve >= 0 ? (char *)"--serve" : NULL, a_serve, NULL };
	static char *const envp[] = { NULL };
	volatile int exec_errno = 0;
	pthread_mutex_lock(&children_lock);
	pid_t w = vfork();
	if (w == 0) {
		int e = err >= 0 ? err : (int)syscall(SYS_openat, AT_FDCWD, "/dev/null", O_WRONLY | O_CLOEXEC);
		if (e >= 0)
			syscall(SYS_dup2, e, 2);
		if (out >= 0)
			syscall(SYS_dup2, out, 1);
		/* Everything of ours is closed at the exec; the two it is given
		 * are kept. */
		if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC))
			for (int fd = 3; fd < 4096; fd++)
				if (fd != memfd && fd != pidfd && fd != serve)
					syscall(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);
		syscall(SYS_fcntl, memfd, F_SETFD, 0);
		syscall(SYS_fcntl, pidfd, F_SETFD, 0);
		if (serve >= 0)
			syscall(SYS_fcntl, serve, F_SETFD, 0);
		syscall(SYS_execve, self_path, argv, envp);
		exec_errno = errno ? errno : ENOEXEC;
		syscall(SYS_exit, 127);
	}
	if (w > 0)
		add_child(w, pidfd);
	pthread_mutex_unlock(&children_lock);
	if (w < 0)
		return -errno;
	if (exec_errno) {
		reap();
		return -exec_errno;
	}
	return w;
}

/* A listening socket on the name the process's own descendants will ask
 * (spawnproto.h: its pid namespace's inode and its own pid), for the new
 * watcher to serve them; -1 if that cannot be had. */
static int listen_for(pid_t peer, int32_t own_pid)
{
	char path[64], name[CGS_SPAWN_NAME_MAX];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)peer);
	if (stat(path, &st))
		return -1;
	cgs_spawn_name(name, (uint64_t)st.st_ino, own_pid);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	struct sockaddr_un a;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	size_t n = strlen(name);
	memcpy(a.sun_path + 1, name, n);
	if (bind(s, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) ||
	    listen(s, 128)) {
		close(s);
		return -1;
	}
	return s;
}

static void handle(int c)
{
	struct ucred peer;
	socklen_t plen = sizeof(peer);
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &peer, &plen) || peer.uid != geteuid())
		return;
	struct pollfd p = { c, POLLIN, 0 };
	if (poll(&p, 1, 1000) <= 0)
		return;
	struct cgs_spawn_req req;
	int fds[8];
	union {
		char buf[CMSG_SPACE(sizeof(fds))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { &req, sizeof(req) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	ssize_t k = recvmsg(c, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	int n = 0;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
			int got = (int)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (int i = 0; i < got; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
				if (n < 8)
					fds[n++] = fd;
				else
					close(fd);
			}
		}
	struct cgs_spawn_reply rep = { CGS_SPAWN_MAGIC, EPROTO, 0, 0 };
	int want = 2 + !!(req.flags & CGS_SPAWN_HAS_STDERR) + !!(req.flags & CGS_SPAWN_HAS_STDOUT);
	if (k == (ssize_t)sizeof(req) && !(m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) && req.magic == CGS_SPAWN_MAGIC &&
	    req.version == CGS_SPAWN_VERSION && n == want && req.region) {
		int err = req.flags & CGS_SPAWN_HAS_STDERR ? fds[2] : -1;
		int out = req.flags & CGS_SPAWN_HAS_STDOUT ? fds[n - 1] : -1;
		int serve = listen_for(peer.pid, req.pid);
		pid_t w = start_watcher(peer.pid, fds[0], fds[1], err, out, req.region, serve);
		if (serve >= 0)
			close(serve);
		if (w > 0) {
			rep.status = 0;
			/* The process sees our pids only in the same namespace. */
			rep.watcher_pid = peer.pid == req.pid ? (int32_t)w : 0;
		} else {
			rep.status = (int32_t)-w;
		}
	}
	for (int i = 0; i < n; i++)
		close(fds[i]);
	if (send(c, &rep, sizeof(rep), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* The process gave up waiting (spawn_claim says whose the
		 * region is): nothing to do. */
	}
}

static void *serve(void *arg)
{
	(void)arg;
	while (!stopping) {
		struct pollfd p = { listen_fd, POLLIN, 0 };
		int k = poll(&p, 1, children ? 1000 : 5000);
		reap();
		if (k <= 0 || stopping)
			continue;
		int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		handle(c);
		close(c);
	}
	return NULL;
}

int cgs_spawnsrv_start(int fd)
{
	listen_fd = fd;
	char path[sizeof(self_path)];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (n > 0 && path[0] == '/') {
		path[n] = 0;
		memcpy(self_path, path, (size_t)n + 1);
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_t th;
	int rc = pthread_create(&th, NULL, serve, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		close(fd);
		listen_fd = -1;
		return -1;
	}
	pthread_detach(th);
	return 0;
}

int cgs_spawnsrv_children(void)
{
	reap();
	pthread_mutex_lock(&children_lock);
	int n = children;
	pthread_mutex_unlock(&children_lock);
	return n;
}

int cgs_spawnsrv_finishing(void)
{
	reap();
	pthread_mutex_lock(&children_lock);
	int n = 0;
	for (int i = 0; i < children; i++) {
		struct pollfd p = { kids[i].traced, POLLIN, 0 };
		n += kids[i].traced >= 0 && poll(&p, 1, 0) == 1;
	}
	pthread_mutex_unlock(&children_lock);
	return n;
}
