/* files.c - file labels and the descriptor map; see files.h. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "files.h"
#include "log.h"
#include "region.h"
#include "seccomp.h"
#include "tstate.h"

int cgs_files_init(struct cgs_region *r)
{
	r->files = cgs_ralloc(r, sizeof(struct cgs_files));
	if (!r->files)
		return -ENOMEM;
	cgs_file_intern(r->files, "(other)", 7);
	return 0;
}

static uint32_t hash_bytes(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h ? h : 1;
}

uint32_t cgs_file_intern(struct cgs_files *fs, const char *label, size_t len)
{
	if (len >= CGS_FILE_LABEL_MAX)
		len = CGS_FILE_LABEL_MAX - 1;
	uint32_t h = hash_bytes(label, len);
	uint32_t id = 0;
	cgs_spin_lock(&fs->lock);
	for (uint32_t i = h;; i++) {
		uint32_t *slot = &fs->index[i & (CGS_FILES_INDEX - 1)];
		if (!*slot) {
			if (fs->count >= CGS_FILES_MAX) {
				fs->dropped++;
				break;
			}
			id = fs->count;
			struct cgs_file *f = &fs->f[id];
			f->hash = h;
			f->len = (uint32_t)len;
			memcpy(f->label, label, len);
			f->label[len] = 0;
			*slot = id + 1;
			__atomic_store_n(&fs->count, id + 1, __ATOMIC_RELEASE);
			break;
		}
		struct cgs_file *f = &fs->f[*slot - 1];
		if (f->hash == h && f->len == len && !memcmp(f->label, label, len)) {
			id = *slot - 1;
			break;
		}
	}
	cgs_spin_unlock(&fs->lock);
	return id;
}

/* Reduce what /proc/self/fd/N says to a label that groups like descriptors:
 * "socket:[1234]" -> "socket", "pipe:[5]" -> "pipe". */
static size_t classify(char *buf, size_t n)
{
	static const char *const kinds[] = { "socket:[", "pipe:[" };
	for (size_t i = 0; i < CGS_ARRAY_LEN(kinds); i++) {
		size_t k = strlen(kinds[i]);
		if (n > k && !memcmp(buf, kinds[i], k))
			return k - 2;
	}
	return n;
}

uint32_t cgs_fd_file(struct cgs_files *fs, int fd)
{
	if (fd < 0 || fd >= CGS_FD_MAX)
		return 0;
	uint32_t v = __atomic_load_n(&fs->fd[fd], __ATOMIC_RELAXED);
	if (CGS_LIKELY(v))
		return v - 1;
	int saved = errno;
	/* Slow path: it takes the files lock. A signal handler that reads on
	 * this thread meanwhile must pass through the shim, not wait for it. */
	cgs_t_guard++;
	char path[40] = "/proc/self/fd/", buf[CGS_FILE_LABEL_MAX];
	cgs_u64_str((uint64_t)fd, path + 14);
	long a[6] = { (long)path, (long)buf, (long)sizeof(buf) - 1, 0, 0, 0 };
	if (!cgs_seccomp_allows(SYS_readlink, a)) {
		/* The program's seccomp filter forbids it: labelled unknown, once. */
		static const char unk[] = "(unknown: seccomp filter)";
		uint32_t id = cgs_file_intern(fs, unk, sizeof(unk) - 1);
		__atomic_store_n(&fs->fd[fd], id + 1, __ATOMIC_RELAXED);
		cgs_t_guard--;
		return id;
	}
	long n = syscall(SYS_readlink, path, buf, sizeof(buf) - 1);
	errno = saved;
	uint32_t id = 0;
	if (n > 0) {
		id = cgs_file_intern(fs, buf, classify(buf, (size_t)n));
		__atomic_store_n(&fs->fd[fd], id + 1, __ATOMIC_RELAXED);
	}
	cgs_t_guard--;
	return id;
}

void cgs_fd_set(struct cgs_files *fs, int fd, uint32_t file)
{
	if (fd >= 0 && fd < CGS_FD_MAX)
		__atomic_store_n(&fs->fd[fd], file + 1, __ATOMIC_RELAXED);
}

void cgs_fd_clear(struct cgs_files *fs, int fd)
{
	if (fd >= 0 && fd < CGS_FD_MAX)
		__atomic_store_n(&fs->fd[fd], 0, __ATOMIC_RELAXED);
}

void cgs_fd_dup(struct cgs_files *fs, int from, int to)
{
	if (from < 0 || from >= CGS_FD_MAX || to < 0 || to >= CGS_FD_MAX)
		return;
	__atomic_store_n(&fs->fd[to], __atomic_load_n(&fs->fd[from], __ATOMIC_RELAXED), __ATOMIC_RELAXED);
}
