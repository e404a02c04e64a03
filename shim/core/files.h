/* files.h - which file a descriptor refers to, for per-target histograms.
 *
 * Files are interned by label (the path given to open, or for descriptors
 * the shim did not see opened, what /proc/self/fd/N names, reduced to
 * "socket", "pipe" and the like). A descriptor maps to a file id; close and
 * the dup family keep the map right. A descriptor with no entry is resolved
 * on its first use. Descriptors closed by raw system calls (Go's os package)
 * cannot be seen: see README, "Limits". Id 0 is "(other)": the table is full
 * or the descriptor is out of range.
 *
 * Many files: the last CGS_FILES_PATTERNS ids are kept for pattern rows.
 * Once the rest are taken, a new path is counted under its pattern (runs of
 * digits, hex or random characters in a name become '*', as in
 * /tmp/t/cache-*.tmp: cgs_file_pattern), and the row counts the distinct
 * paths it stands for (a set of 64-bit hashes of the paths seen past the
 * end). Only when the pattern rows are taken too does a call go to
 * "(other)", counted in `dropped`. */
#ifndef CGOSHIM_FILES_H
#define CGOSHIM_FILES_H

#include "common.h"

#define CGS_FILES_MAX 1024
#define CGS_FILE_LABEL_MAX 240
#define CGS_FD_MAX 65536
#define CGS_FILES_INDEX 4096
#define CGS_FILES_PATTERNS 64

struct cgs_file {
	uint32_t hash;
	uint32_t len;
	uint32_t pattern;       /* 1: a pattern row (label is a pattern) */
	volatile uint32_t paths; /* pattern rows: distinct paths counted under it */
	char label[CGS_FILE_LABEL_MAX];
};

struct cgs_files {
	cgs_spin_t lock;
	volatile uint32_t count;
	uint32_t dropped;        /* interned labels (calls) sent to "(other)": no row left */
	uint64_t *seen;          /* hashes of paths past the plain rows (0 = free) */
	uint32_t seen_cap, seen_used;
	uint32_t seen_lost;      /* paths counted as new for want of memory for the set */
	uint32_t index[CGS_FILES_INDEX]; /* open addressing: file id + 1 */
	struct cgs_file f[CGS_FILES_MAX];
	uint32_t fd[CGS_FD_MAX];         /* file id + 1; 0 = not known */
};

struct cgs_region;
/* files.c */
int cgs_files_init(struct cgs_region *r);
uint32_t cgs_file_intern(struct cgs_files *fs, const char *label, size_t len);
/* The file id of fd, resolving it if unknown. May make a readlink system
 * call; preserves errno. */
uint32_t cgs_fd_file(struct cgs_files *fs, int fd);
void cgs_fd_set(struct cgs_files *fs, int fd, uint32_t file);
void cgs_fd_clear(struct cgs_files *fs, int fd);
void cgs_fd_dup(struct cgs_files *fs, int from, int to);
/* The pattern of a label into out (cap bytes, NUL-terminated): in each path
 * component, a run of letters and digits that is all digits, hex with a
 * digit, at least 6 long with a digit, or of random-looking mixed case,
 * becomes '*'. Returns the length. Async-signal-safe, no allocation. */
size_t cgs_file_pattern(const char *label, size_t len, char *out, size_t cap);

#endif
