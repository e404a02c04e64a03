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

static bool alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Whether a run of letters and digits looks generated: a number, a hex
 * string with a digit, a long run with a digit (build123456, a1b2c3), or
 * random mixed case (aBcDeF: lower-to-upper switches at least twice). */
static bool generated(const char *t, size_t n)
{
	size_t digits = 0, switches = 0;
	bool hex = true;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];
		if (c >= '0' && c <= '9')
			digits++;
		else if (!((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			hex = false;
		if (i && c >= 'A' && c <= 'Z' && t[i - 1] >= 'a' && t[i - 1] <= 'z')
			switches++;
	}
	return digits == n || (digits && hex) || (n >= 6 && digits) || (n >= 6 && n <= 16 && switches >= 2);
}

size_t cgs_file_pattern(const char *label, size_t len, char *out, size_t cap)
{
	size_t n = 0;
	if (!cap)
		return 0;
	for (size_t i = 0; i < len && n + 1 < cap;) {
		if (!alnum(label[i])) {
			out[n++] = label[i++];
			continue;
		}
		size_t j = i;
		while (j < len && alnum(label[j]))
			j++;
		if (generated(label + i, j - i)) {
			out[n++] = '*';
		} else {
			size_t k = j - i < cap - 1 - n ? j - i : cap - 1 - n;
			memcpy(out + n, label + i, k);
			n += k;
		}
		i = j;
	}
	out[n] = 0;
	return n;
}

static uint64_t hash64(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h ? h : 1;
}

/* Whether a path past the plain rows is new; under the files lock. When no
 * memory is left for the set, the path is taken as new (seen_lost says how
 * often). */
static bool seen_first(struct cgs_files *fs, const char *label, size_t len)
{
	uint64_t h = hash64(label, len);
	if ((fs->seen_used + 1) * 2 > fs->seen_cap) {
		struct cgs_region *r = cgs_R;
		uint32_t cap = fs->seen_cap ? fs->seen_cap * 2 : 4096;
		uint64_t *fresh = r ? cgs_ralloc(r, cap * sizeof(uint64_t)) : NULL;
		if (!fresh) {
			fs->seen_lost++;
			return true;
		}
		for (uint32_t i = 0; i < fs->seen_cap; i++)
			if (fs->seen[i])
				for (uint32_t k = (uint32_t)fs->seen[i];; k++)
					if (!fresh[k & (cap - 1)]) {
						fresh[k & (cap - 1)] = fs->seen[i];
						break;
					}
		if (fs->seen)
			cgs_rfree(r, fs->seen, fs->seen_cap * sizeof(uint64_t));
		fs->seen = fresh;
		fs->seen_cap = cap;
	}
	for (uint32_t k = (uint32_t)h;; k++) {
		uint64_t *slot = &fs->seen[k & (fs->seen_cap - 1)];
		if (*slot == h)
			return false;
		if (!*slot) {
			*slot = h;
			fs->seen_used++;
			return true;
		}
	}
}

#define NO_ROW UINT32_MAX

/* The row of (label, pattern) in the index, or a new one while `limit`
 * rows are not taken; NO_ROW when none. Under the files lock. */
static uint32_t find_or_add(struct cgs_files *fs, const char *label, size_t len, uint32_t pattern, uint32_t limit,
			    bool *added)
{
	uint32_t h = hash_bytes(label, len) ^ (pattern ? 0x9e3779b9u : 0);
	h = h ? h : 1;
	*added = false;
	for (uint32_t i = h;; i++) {
		uint32_t *slot = &fs->index[i & (CGS_FILES_INDEX - 1)];
		if (!*slot) {
			if (fs->count >= limit)
				return NO_ROW;
			uint32_t id = fs->count;
			struct cgs_file *f = &fs->f[id];
			f->hash = h;
			f->len = (uint32_t)len;
			f->pattern = pattern;
			memcpy(f->label, label, len);
			f->label[len] = 0;
			*slot = id + 1;
			*added = true;
			__atomic_store_n(&fs->count, id + 1, __ATOMIC_RELEASE);
			return id;
		}
		struct cgs_file *f = &fs->f[*slot - 1];
		if (f->hash == h && f->len == len && f->pattern == pattern && !memcmp(f->label, label, len))
			return *slot - 1;
	}
}

uint32_t cgs_file_intern(struct cgs_files *fs, const char *label, size_t len)
{
	if (len >= CGS_FILE_LABEL_MAX)
		len = CGS_FILE_LABEL_MAX - 1;
	bool added;
	cgs_spin_lock(&fs->lock);
	uint32_t id = find_or_add(fs, label, len, 0, CGS_FILES_MAX - CGS_FILES_PATTERNS, &added);
	if (id == NO_ROW) {
		/* Past the plain rows: the path's pattern row. */
		char pat[CGS_FILE_LABEL_MAX];
		size_t plen = cgs_file_pattern(label, len, pat, sizeof(pat));
		bool first = seen_first(fs, label, len);
		id = find_or_add(fs, pat, plen, 1, CGS_FILES_MAX, &added);
		if (id != NO_ROW && first)
			__atomic_add_fetch(&fs->f[id].paths, 1, __ATOMIC_RELAXED);
		if (id == NO_ROW) {
			fs->dropped++;
			id = 0;
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
