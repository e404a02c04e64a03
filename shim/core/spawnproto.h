/* spawnproto.h - the watcher spawn server's protocol (spawn.c is the
 * client, inside the traced process; shim/watcher/spawnsrv.c the server).
 *
 * Why a server: a watcher started by the traced process itself (a raw
 * clone, spawn.c) is an orphan once its intermediate exits, and an orphan
 * goes to the nearest child subreaper or PID 1 above the process. When the
 * program is one (a container's init, a supervisor), it would adopt, and
 * its wait() would return, the watchers of every traced descendant. So the
 * first traced process's watcher listens on an abstract unix socket
 * (SOCK_SEQPACKET); a later process (a fork child, which inherits the name
 * in its region, or an image exec'd under the launcher, which gets it in
 * CGOSHIM_SPAWN) sends it one request with its region's memfd, a pidfd of
 * itself and its stderr (and stdout when reports go there) as SCM_RIGHTS;
 * the server starts the watcher as its own child, outside the program's
 * tree of processes, and answers with one reply. The process then closes
 * the connection: it holds no new descriptor.
 *
 * Both sides require the other to run as the same user (SO_PEERCRED). */
#ifndef CGOSHIM_SPAWNPROTO_H
#define CGOSHIM_SPAWNPROTO_H

#include <stdint.h>

#define CGS_SPAWN_MAGIC 0x70736763u /* "cgsp" */
#define CGS_SPAWN_VERSION 1

/* Longest name of a spawn server's abstract socket, with its NUL. */
#define CGS_SPAWN_NAME_MAX 48

/* Descriptors sent with a request, in this order; stderr and stdout only
 * when flagged. */
enum { CGS_SPAWN_HAS_STDERR = 1, CGS_SPAWN_HAS_STDOUT = 2 };

struct cgs_spawn_req {
	uint32_t magic;
	uint32_t version;
	int32_t pid;      /* the process's pid as it sees it */
	uint32_t flags;   /* CGS_SPAWN_HAS_* */
	uint64_t region;  /* the region's address in the process */
};

struct cgs_spawn_reply {
	uint32_t magic;
	int32_t status;      /* 0: the watcher runs (exec'd); else an errno */
	int32_t watcher_pid; /* its pid in the process's pid namespace, 0 if not there */
	uint32_t pad;
};

/* The name a traced process's watcher serves on: cgoshim-INO-PID, where
 * INO is the inode of the process's pid namespace (hex) and PID its pid as
 * it sees it. out holds CGS_SPAWN_NAME_MAX bytes. Async-signal-safe. */
static inline void cgs_spawn_name(char *out, uint64_t ino, int32_t pid)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[24];
	int n = 0, k = 0;
	const char *head = "cgoshim-";
	while (head[k])
		out[n++] = head[k++];
	k = 0;
	do {
		tmp[k++] = digits[ino & 15];
		ino >>= 4;
	} while (ino);
	while (k)
		out[n++] = tmp[--k];
	out[n++] = '-';
	uint32_t v = (uint32_t)pid;
	do {
		tmp[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (k)
		out[n++] = tmp[--k];
	out[n] = 0;
}

/* How long a process waits for the reply before it starts its watcher
 * itself (the region's spawn_claim keeps the two from both watching). */
#define CGS_SPAWN_REPLY_MS 1000

#endif
