/* reach.h - leak kinds: which live blocks the program can still reach.
 *
 * The watcher reads the traced program's memory (process_vm_readv; the
 * program is not stopped) and sorts every live block it tracks the way
 * valgrind's memcheck does:
 *   still reachable  a start pointer reaches it from a root, or from a
 *                    block that is itself still reachable;
 *   possibly lost    only chains with an interior pointer reach it;
 *   indirectly lost  only lost blocks point to it;
 *   definitely lost  nothing points to it.
 * Roots: every readable and writable mapping of the process (data and bss
 * of loaded objects, anonymous memory such as the Go heap and the main
 * thread's TLS, thread stacks from the stack pointer up where the kernel
 * tells it, whole otherwise, static TLS with them), and the syscall
 * argument registers of blocked threads. Never roots: the C heap's arenas
 * ([heap] and glibc's other arena heaps), the tracked blocks themselves (they
 * are the graph), the shim's region and library, devices, vDSO, and files
 * mapped shared. reach.c says how each is found; README "Leak kinds". */
#ifndef CGOSHIM_REACH_H
#define CGOSHIM_REACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cgs_region;

/* In report order: the lost kinds first. */
enum cgs_kind {
	CGS_KIND_DEFINITE,
	CGS_KIND_INDIRECT,
	CGS_KIND_POSSIBLE,
	CGS_KIND_REACHABLE,
	CGS_KIND_UNKNOWN, /* no scan could be made (reach.c, snapshot.c) */
	CGS_KIND_COUNT
};

/* "definitely_lost", "indirectly_lost", "possibly_lost", "still_reachable", "unknown" */
extern const char *const cgs_kind_names[CGS_KIND_COUNT];
/* "definitely lost", ... for text */
extern const char *const cgs_kind_words[CGS_KIND_COUNT];
/* cgs_kind_names[k], or "unknown" for a value out of range. */
static inline const char *cgs_kind_name(int k)
{
	return k >= 0 && k < CGS_KIND_COUNT ? cgs_kind_names[k] : cgs_kind_names[CGS_KIND_UNKNOWN];
}
/* The kind named (either spelling), or -1. */
int cgs_kind_parse(const char *name);

struct cgs_block {
	uint64_t ptr, size;
	uint32_t stack, t_q;
	uint8_t kind;  /* enum cgs_kind, set by the scan */
	uint8_t shown; /* old enough to be reported (CGOSHIM_MIN_AGE) */
	uint8_t state; /* reach.c's work */
	uint8_t inherited; /* a fork child's block from before the fork */
};

struct cgs_reach_stats {
	uint64_t ns;            /* wall time of the scan */
	uint64_t cpu_ns;        /* CPU time of the watcher's thread in it (kernel side of the reads included) */
	uint64_t root_bytes;    /* bytes of roots read */
	uint64_t block_bytes;   /* bytes of blocks read */
	uint64_t unreadable;    /* bytes that could not be read (unmapped meanwhile) */
	uint32_t mappings;      /* root mappings read */
	uint32_t threads;       /* threads of the process */
	uint32_t threads_sp;    /* of which the stack pointer was known */
};

/* Read pid's memory and set every block's kind. Sorts b by address.
 * 0 on success; -1 with errno when the process's memory cannot be read
 * (gone, or not permitted): then kinds are left CGS_KIND_UNKNOWN. */
int cgs_reach_scan(pid_t pid, const struct cgs_region *r, struct cgs_block *b, size_t n,
		   struct cgs_reach_stats *st);

/* The classification alone, over memory given by a reader (unit tests):
 * read(ctx, addr, buf, len) returns the bytes read (a short count: the rest
 * is not readable). Roots are the ranges [roots[2i], roots[2i+1]), i < nroots,
 * and the values words[0..nwords) (registers). b must be sorted by ptr. */
typedef size_t (*cgs_reach_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);
/* Optional: read n ranges at once into buf, one after the other; returns
 * the bytes read (a short count stops inside the range that failed). */
typedef size_t (*cgs_reach_readv_fn)(void *ctx, const uint64_t *addr, const size_t *len, size_t n, void *buf);
struct cgs_reach_mem {
	cgs_reach_read_fn read;
	cgs_reach_readv_fn readv; /* NULL: one read per block */
	void *ctx;
};
void cgs_reach_classify(struct cgs_block *b, size_t n, const uint64_t *roots, size_t nroots,
			const uint64_t *words, size_t nwords, const struct cgs_reach_mem *mem,
			struct cgs_reach_stats *st);
/* Sort blocks by address (what classify needs). */
void cgs_reach_sort(struct cgs_block *b, size_t n);

#endif
