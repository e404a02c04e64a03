/* fns.h - every interposed entry point, in one table.
 *
 * X(name, family) expands once per function. Reports show each entry point
 * under its own name; the family groups them (and chooses which calls carry a
 * target: a file for read/ioctl/open). */
#ifndef CGOSHIM_FNS_H
#define CGOSHIM_FNS_H

#define CGS_FN_LIST(X)                                                          \
	X(read, READ) X(__read_chk, READ) X(pread, READ) X(pread64, READ)       \
	X(__pread_chk, READ) X(__pread64_chk, READ) X(readv, READ)              \
	X(preadv, READ) X(preadv64, READ)                                       \
	X(open, OPEN) X(open64, OPEN) X(openat, OPEN) X(openat64, OPEN)         \
	X(__open_2, OPEN) X(__open64_2, OPEN) X(__openat_2, OPEN)               \
	X(__openat64_2, OPEN) X(creat, OPEN) X(creat64, OPEN)                   \
	X(close, CLOSE)                                                         \
	X(ioctl, IOCTL)                                                         \
	X(malloc, HEAP) X(calloc, HEAP) X(realloc, HEAP) X(reallocarray, HEAP)  \
	X(free, HEAP) X(posix_memalign, HEAP) X(aligned_alloc, HEAP)            \
	X(memalign, HEAP) X(valloc, HEAP) X(pvalloc, HEAP)                      \
	X(malloc_usable_size, HEAP)                                             \
	X(dlopen, DL) X(dlsym, DL) X(dlvsym, DL) X(dlclose, DL)

enum cgs_fn {
#define CGS_X(n, f) CGS_FN_##n,
	CGS_FN_LIST(CGS_X)
#undef CGS_X
	CGS_FN_COUNT
};

enum cgs_family { CGS_FAM_READ, CGS_FAM_OPEN, CGS_FAM_CLOSE, CGS_FAM_IOCTL, CGS_FAM_HEAP, CGS_FAM_DL };

/* Families whose calls are split by target (file) in the report. */
enum cgs_tfam { CGS_TF_READ, CGS_TF_IOCTL, CGS_TF_OPEN, CGS_TF_COUNT };

extern const char *const cgs_fn_names[CGS_FN_COUNT];
extern const unsigned char cgs_fn_family[CGS_FN_COUNT];

#endif
