/* files.h - which file a descriptor refers to, for per-target histograms.
 *
 * Files are interned by label (the path given to open, or for descriptors
 * the shim did not see opened, what /proc/self/fd/N names, reduced to
 * "socket", "pipe" and the like). A descriptor maps to a file id; close and
 * the dup family keep the map right. A descriptor with no entry is resolved
 * on its first use. Descriptors closed by raw system calls (Go's os package)
 * cannot be seen: see README, "Limits". Id 0 is "(other)": the table is full
 * or the descriptor is out of range. */
#ifndef CGOSHIM_FILES_H
#define CGOSHIM_FILES_H

#include "common.h"

#define CGS_FILES_MAX 1024
#define CGS_FILE_LABEL_MAX 240
#define CGS_FD_MAX 65536
#define CGS_FILES_INDEX 4096

struct cgs_file {
	uint32_t hash;
	uint32_t len;
	char label[CGS_FILE_LABEL_MAX];
};

struct cgs_files {
	cgs_spin_t lock;
	volatile uint32_t count;
	uint32_t dropped;
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

#endif
