/* reach.c - leak kinds by a conservative scan of the program's memory.
 *
 * Two parts. cgs_reach_classify is memcheck's algorithm over any memory
 * reader: (1) every word of the roots that points into a block marks it -
 * reachable by a pointer to its start from a definite source (a root or a
 * reachable block), possibly reachable otherwise - and the marked blocks
 * are scanned in turn; (2) every block still unreached, in address order,
 * leads a "clique": the unreached blocks it reaches become indirectly lost,
 * and the leader stays definitely lost. A pointer to a zero-size block
 * counts when it points at its start.
 *
 * cgs_reach_scan finds the roots of a live process and reads its memory with
 * process_vm_readv, without stopping it:
 *  - /proc/PID/maps gives the mappings. A readable, writable one is a root,
 *    except: the region of the shim and the shim's library; [heap] and
 *    glibc's other arena heaps (64 MiB-aligned, starting with glibc's
 *    heap_info header: its size fields match the mapping), whose free chunks
 *    hold stale pointers (roots all the same in a process measured by
 *    cgoshim attach: its blocks from before the attach are not tracked);
 *    devices, the vDSO pages and files mapped shared.
 *    Inside a root mapping the tracked blocks (and the 16-byte chunk header
 *    before each) are left out: a block large enough for its own mmap is in
 *    the graph, not a root, even when the kernel merged its mapping with a
 *    neighbour.
 *  - /proc/PID/task/TID/syscall gives, for a thread blocked in the kernel,
 *    its stack pointer and syscall arguments. The mapping holding that
 *    pointer is read from 128 bytes below it (the red zone) to its end when
 *    it is a thread stack ([stack], or an anonymous mapping above a guard
 *    page); the rest of that stack is dead frames and is not a root. (A Go
 *    thread's stack pointer can be on a goroutine stack, in the Go heap:
 *    that mapping is read whole.) A running thread's
 *    stack is read whole (conservative: more blocks look reachable). A
 *    thread's static TLS sits at the top of its stack mapping (glibc) and
 *    the main thread's in an anonymous mapping: both are read. Registers
 *    other than the syscall arguments cannot be read without stopping the
 *    thread: not roots.
 *  - Go: the Go heap, goroutine stacks and the runtime's own memory are
 *    anonymous writable mappings, so they are roots, scanned whole and
 *    conservatively (freed Go objects too): a C block only a dead Go object
 *    points to is still reachable.
 * The program runs on meanwhile: a pointer it moves during the scan can be
 * missed or seen twice, and a block it frees can be read after. So a live
 * verdict is a conservative picture of a moving program; the final scan of
 * a program held at its exit is exact (README "Leak kinds"). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>
#include <sys/uio.h>

#include "reach.h"
#include "region.h"

const char *const cgs_kind_names[CGS_KIND_COUNT] = { "definitely_lost", "indirectly_lost", "possibly_lost",
						     "still_reachable", "unknown" };
const char *const cgs_kind_words[CGS_KIND_COUNT] = { "definitely lost", "indirectly lost", "possibly lost",
						     "still reachable", "kind unknown" };

int cgs_kind_parse(const char *name)
{
	for (int k = 0; k < CGS_KIND_COUNT; k++)
		if (!strcmp(name, cgs_kind_names[k]) || !strcmp(name, cgs_kind_words[k]))
			return k;
	return -1;
}

enum { UNREACHED, POSSIBLE, REACHABLE, INDIRECT };

#define CHUNK (1u << 20)      /* bytes read at a time */
#define BATCH_IOV 512         /* blocks read by one process_vm_readv */
#define BATCH_BYTES (1u << 20) /* and at most this many bytes */
#define REDZONE 128           /* x86-64 ABI: below the stack pointer */
#define ARENA_SIZE (64ULL << 20) /* glibc HEAP_MAX_SIZE on 64-bit */

struct scan {
	struct cgs_block *b;
	size_t n;
	uint64_t lo, hi;      /* addresses any block covers */
	uint32_t *stack;      /* mark stack of block indexes */
	size_t top, cap;
	cgs_reach_read_fn read;
	cgs_reach_readv_fn readv;
	void *ctx;
	struct cgs_reach_stats *st;
	char *buf;
	char *vbuf;           /* BATCH_BYTES for batched block reads */
};

static int by_ptr(const void *x, const void *y)
{
	const struct cgs_block *a = x, *b = y;
	return a->ptr < b->ptr ? -1 : a->ptr > b->ptr;
}

void cgs_reach_sort(struct cgs_block *b, size_t n)
{
	if (n > 1)
		qsort(b, n, sizeof(*b), by_ptr);
}

/* The block holding address v, or -1. */
static ptrdiff_t find(const struct scan *s, uint64_t v)
{
	if (v < s->lo || v >= s->hi)
		return -1;
	size_t lo = 0, hi = s->n; /* last block with ptr <= v */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->b[mid].ptr <= v)
			lo = mid;
		else
			hi = mid;
	}
	const struct cgs_block *bl = &s->b[lo];
	uint64_t len = bl->size ? bl->size : 1;
	return v >= bl->ptr && v - bl->ptr < len ? (ptrdiff_t)lo : -1;
}

static void push(struct scan *s, size_t i)
{
	if (s->top == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		uint32_t *v = realloc(s->stack, cap * sizeof(*v));
		if (!v)
			return; /* out of memory: the block is not followed (more look lost) */
		s->stack = v;
		s->cap = cap;
	}
	s->stack[s->top++] = (uint32_t)i;
}

/* One word found in memory. clique < 0: the marking phase, from a source
 * that is definite (a root or a reachable block) or not. clique >= 0: the
 * indirect phase, led by block `clique`. */
static void word(struct scan *s, uint64_t v, bool definite, ptrdiff_t clique)
{
	ptrdiff_t i = find(s, v);
	if (i < 0)
		return;
	struct cgs_block *bl = &s->b[i];
	if (clique >= 0) {
		if (i != clique && bl->state == UNREACHED) {
			bl->state = INDIRECT;
			push(s, (size_t)i);
		}
		return;
	}
	if (bl->state == REACHABLE)
		return;
	if (definite && v == bl->ptr) {
		bl->state = REACHABLE;
		push(s, (size_t)i);
	} else if (bl->state == UNREACHED) {
		bl->state = POSSIBLE;
		push(s, (size_t)i);
	}
}

static void words(struct scan *s, const char *p, size_t len, bool definite, ptrdiff_t clique)
{
	for (size_t k = 0; k + 8 <= len; k += 8) {
		uint64_t v;
		memcpy(&v, p + k, 8);
		if (v >= s->lo && v < s->hi)
			word(s, v, definite, clique);
	}
}

/* Read [a, a+len) chunk by chunk and scan it. Returns the bytes read. */
static uint64_t scan_range(struct scan *s, uint64_t a, uint64_t len, bool definite, ptrdiff_t clique)
{
	uint64_t done = 0;
	a = (a + 7) & ~7ULL;
	while (len >= 8) {
		size_t want = len < CHUNK ? (size_t)len : CHUNK;
		size_t got = s->read(s->ctx, a, s->buf, want);
		if (got < want) {
			/* Unreadable from a + got: skip to the next page. */
			uint64_t next = ((a + got) | 4095) + 1;
			uint64_t skip = next - a;
			if (skip > len)
				skip = len;
			s->st->unreadable += skip - got;
			want = (size_t)skip;
		}
		words(s, s->buf, got, definite, clique);
		done += got;
		a += want;
		len -= want;
	}
	return done;
}

/* Scan the blocks on the mark stack until it is empty. Small blocks are
 * read in batches (one process_vm_readv for up to BATCH_IOV of them): the
 * marking is a fixpoint (a block is scanned again when its state goes up),
 * so the order does not change the result. */
static void drain(struct scan *s, ptrdiff_t clique)
{
	uint64_t addr[BATCH_IOV];
	size_t len[BATCH_IOV], idx[BATCH_IOV];
	bool def[BATCH_IOV];
	while (s->top) {
		size_t nb = 0, bytes = 0;
		while (s->top && nb < BATCH_IOV) {
			size_t i = s->stack[s->top - 1];
			struct cgs_block *bl = &s->b[i];
			uint64_t sz = bl->size & ~7ULL;
			if (!s->readv || !s->vbuf || sz > BATCH_BYTES / 4) {
				if (nb)
					break;
				s->top--;
				s->st->block_bytes += scan_range(s, bl->ptr, bl->size, bl->state == REACHABLE, clique);
				continue;
			}
			if (bytes + sz > BATCH_BYTES)
				break;
			s->top--;
			if (!sz)
				continue;
			addr[nb] = bl->ptr;
			len[nb] = (size_t)sz;
			idx[nb] = i;
			def[nb] = bl->state == REACHABLE;
			bytes += sz;
			nb++;
		}
		for (size_t k = 0; k < nb;) {
			size_t got = s->readv(s->ctx, addr + k, len + k, nb - k, s->vbuf);
			size_t off = 0;
			for (; k < nb && off + len[k] <= got; off += len[k], k++) {
				(void)idx[k];
				words(s, s->vbuf + off, len[k], def[k], clique);
				s->st->block_bytes += len[k];
			}
			if (k < nb) { /* block k could not be read whole (freed meanwhile) */
				words(s, s->vbuf + off, got - off, def[k], clique);
				s->st->block_bytes += got - off;
				s->st->unreadable += len[k] - (got - off);
				k++;
			}
		}
	}
}

void cgs_reach_classify(struct cgs_block *b, size_t n, const uint64_t *roots, size_t nroots,
			const uint64_t *wordv, size_t nwords, const struct cgs_reach_mem *mem,
			struct cgs_reach_stats *st)
{
	struct scan s = { .b = b, .n = n, .read = mem->read, .readv = mem->readv, .ctx = mem->ctx, .st = st };
	for (size_t i = 0; i < n; i++) {
		b[i].state = UNREACHED;
		b[i].kind = CGS_KIND_UNKNOWN;
	}
	if (!n)
		return;
	s.buf = malloc(CHUNK);
	if (!s.buf)
		return;
	if (s.readv)
		s.vbuf = malloc(BATCH_BYTES);
	s.lo = b[0].ptr;
	for (size_t i = 0; i < n; i++) {
		uint64_t end = b[i].ptr + (b[i].size ? b[i].size : 1);
		if (end > s.hi)
			s.hi = end;
	}
	for (size_t i = 0; i < nwords; i++)
		word(&s, wordv[i], true, -1);
	drain(&s, -1);
	for (size_t i = 0; i < nroots; i++) {
		if (roots[2 * i + 1] > roots[2 * i])
			st->root_bytes += scan_range(&s, roots[2 * i], roots[2 * i + 1] - roots[2 * i], true, -1);
		drain(&s, -1);
	}
	/* Cliques, in address order. The leaders' contents are read ahead in
	 * batches (most unreached blocks lead a clique of their own). */
	for (size_t i = 0; i < n;) {
		uint64_t addr[BATCH_IOV];
		size_t len[BATCH_IOV], idx[BATCH_IOV], nb = 0, bytes = 0, j = i, got = 0;
		for (; j < n && nb < BATCH_IOV && s.readv && s.vbuf; j++) {
			uint64_t sz = b[j].size & ~7ULL;
			if (b[j].state != UNREACHED || !sz)
				continue;
			if (sz > BATCH_BYTES / 4 || bytes + sz > BATCH_BYTES)
				break;
			addr[nb] = b[j].ptr;
			len[nb] = (size_t)sz;
			idx[nb++] = j;
			bytes += sz;
		}
		if (nb)
			got = s.readv(s.ctx, addr, len, nb, s.vbuf);
		size_t off = 0, k = 0;
		for (; i < j || (i == j && !nb && i < n); i++) {
			if (b[i].state != UNREACHED)
				continue;
			while (k < nb && idx[k] < i)
				off += len[k++];
			if (k < nb && idx[k] == i && off + len[k] <= got) {
				/* read ahead: scan it here, then what it reaches */
				words(&s, s.vbuf + off, len[k], false, (ptrdiff_t)i);
				st->block_bytes += len[k];
			} else {
				push(&s, i);
			}
			drain(&s, (ptrdiff_t)i);
			if (!nb) {
				i++;
				break;
			}
		}
	}
	static const uint8_t kind_of[] = { [UNREACHED] = CGS_KIND_DEFINITE, [POSSIBLE] = CGS_KIND_POSSIBLE,
					   [REACHABLE] = CGS_KIND_REACHABLE, [INDIRECT] = CGS_KIND_INDIRECT };
	for (size_t i = 0; i < n; i++)
		b[i].kind = kind_of[b[i].state];
	free(s.buf);
	free(s.vbuf);
	free(s.stack);
}

/* ---- a live process ----------------------------------------------------- */

struct proc {
	pid_t pid;
	int fails;  /* reads refused with ESRCH/EPERM */
	int reads;
};

static size_t proc_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct proc *p = ctx;
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t k = process_vm_readv(p->pid, &local, 1, &remote, 1, 0);
	p->reads++;
	if (k < 0) {
		if (errno == ESRCH || errno == EPERM)
			p->fails++;
		return 0;
	}
	return (size_t)k;
}

static size_t proc_readv(void *ctx, const uint64_t *addr, const size_t *len, size_t n, void *buf)
{
	struct proc *p = ctx;
	struct iovec remote[BATCH_IOV];
	size_t total = 0;
	if (n > BATCH_IOV)
		n = BATCH_IOV;
	for (size_t i = 0; i < n; i++) {
		remote[i] = (struct iovec){ (void *)(uintptr_t)addr[i], len[i] };
		total += len[i];
	}
	struct iovec local = { buf, total };
	ssize_t k = process_vm_readv(p->pid, &local, 1, remote, n, 0);
	p->reads++;
	if (k < 0) {
		if (errno == ESRCH || errno == EPERM)
			p->fails++;
		return 0;
	}
	return (size_t)k;
}

struct map {
	uint64_t lo, hi;
	char perms[5];
	uint64_t off;
	char path[256];
};

static size_t read_maps(pid_t pid, struct map **out)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	*out = NULL;
	if (!f)
		return 0;
	size_t n = 0, cap = 0;
	struct map *v = NULL;
	char line[1024];
	while (fgets(line, sizeof(line), f)) {
		struct map m = { 0 };
		int pos = 0;
		unsigned long long lo, hi, off;
		if (sscanf(line, "%llx-%llx %4s %llx %*s %*s%n", &lo, &hi, m.perms, &off, &pos) < 4)
			continue;
		m.lo = lo;
		m.hi = hi;
		m.off = off;
		const char *p = line + pos;
		while (*p == ' ')
			p++;
		snprintf(m.path, sizeof(m.path), "%s", p);
		m.path[strcspn(m.path, "\n")] = 0;
		if (n == cap) {
			struct map *w = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));
			if (!w)
				break;
			v = w;
		}
		v[n++] = m;
	}
	fclose(f);
	*out = v;
	return n;
}

/* glibc's heap_info at the start of a non-main arena heap. */
static bool arena_heap(struct proc *p, const struct map *m)
{
	if (m->path[0] || m->lo % ARENA_SIZE || m->hi - m->lo > ARENA_SIZE)
		return false;
	uint64_t h[4]; /* ar_ptr, prev, size, mprotect_size */
	if (proc_read(p, m->lo, h, sizeof(h)) != sizeof(h))
		return false;
	return h[0] && h[2] && h[2] <= ARENA_SIZE && !(h[2] & 4095) && h[3] == m->hi - m->lo &&
	       h[2] <= h[3] && (!h[1] || !(h[1] % ARENA_SIZE));
}

struct threads {
	uint64_t *sp;
	size_t nsp;
	uint64_t *args;
	size_t nargs;
};

/* Each thread's stack pointer and syscall arguments, where the kernel gives
 * them (/proc/PID/task/TID/syscall: "NR a1 .. a6 SP PC" in a syscall,
 * "-1 SP PC" blocked otherwise, "running"). */
static void read_threads(pid_t pid, struct threads *t, struct cgs_reach_stats *st)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return;
	size_t cap = 0, acap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		st->threads++;
		char sp_path[96], line[512];
		snprintf(sp_path, sizeof(sp_path), "/proc/%d/task/%.16s/syscall", (int)pid, e->d_name);
		FILE *f = fopen(sp_path, "re");
		if (!f)
			continue;
		bool ok = fgets(line, sizeof(line), f) != NULL;
		fclose(f);
		if (!ok || !strncmp(line, "running", 7))
			continue;
		uint64_t v[9];
		int k = 0;
		char *s = line, *end;
		long nr = strtol(s, &end, 10);
		s = end;
		while (k < 9) {
			while (*s == ' ')
				s++;
			if (!*s || *s == '\n')
				break;
			v[k++] = strtoull(s, &end, 16);
			if (end == s)
				break;
			s = end;
		}
		if (k < 2)
			continue;
		if (t->nsp == cap) {
			uint64_t *w = realloc(t->sp, (cap = cap ? cap * 2 : 16) * sizeof(*w));
			if (!w)
				break;
			t->sp = w;
		}
		t->sp[t->nsp++] = v[k - 2];
		st->threads_sp++;
		if (nr >= 0 && k == 8) {
			if (t->nargs + 6 > acap) {
				uint64_t *w = realloc(t->args, (acap = acap ? acap * 2 : 96) * sizeof(*w));
				if (!w)
					continue;
				t->args = w;
			}
			memcpy(t->args + t->nargs, v, 6 * sizeof(*v));
			t->nargs += 6;
		}
	}
	closedir(d);
}

struct ranges {
	uint64_t *v;
	size_t n, cap;
};

static void add_range(struct ranges *r, uint64_t lo, uint64_t hi)
{
	if (hi <= lo)
		return;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		uint64_t *w = realloc(r->v, cap * 2 * sizeof(*w));
		if (!w)
			return;
		r->v = w;
		r->cap = cap;
	}
	r->v[2 * r->n] = lo;
	r->v[2 * r->n + 1] = hi;
	r->n++;
}

/* [lo, hi) minus the tracked blocks inside it (and their chunk headers). */
static void add_root(struct ranges *r, const struct cgs_block *b, size_t n, uint64_t lo, uint64_t hi)
{
	size_t a = 0, z = n; /* first block ending after lo */
	while (a < z) {
		size_t mid = a + (z - a) / 2;
		if (b[mid].ptr + b[mid].size + 16 <= lo)
			a = mid + 1;
		else
			z = mid;
	}
	uint64_t at = lo;
	for (size_t i = a; i < n && b[i].ptr < hi + 16; i++) {
		uint64_t s = b[i].ptr >= 16 ? b[i].ptr - 16 : 0, e = b[i].ptr + b[i].size;
		if (s > at)
			add_range(r, at, s < hi ? s : hi);
		if (e > at)
			at = e;
	}
	if (at < hi)
		add_range(r, at, hi);
}

static bool ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);
	return a >= b && !strcmp(s + a - b, tail);
}

/* The end of the shim library's writable segment in the process (its .bss
 * runs on past the file's last page as an anonymous mapping: the fast
 * unwinder's tables, libunwind's pool, 1.6 MiB), from the program headers
 * of the file mapped at maps[i] with offset 0. 0 when it cannot be read. */
static uint64_t shim_data_end(const struct map *maps, size_t nmaps)
{
	const struct map *base = NULL;
	for (size_t i = 0; i < nmaps && !base; i++)
		if (maps[i].off == 0 && ends_with(maps[i].path, "/libcgoshim.so"))
			base = &maps[i];
	if (!base || elf_version(EV_CURRENT) == EV_NONE)
		return 0;
	int fd = open(base->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	uint64_t end = 0;
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	size_t nph;
	GElf_Phdr ph;
	if (e && !elf_getphdrnum(e, &nph))
		for (size_t k = 0; k < nph; k++)
			if (gelf_getphdr(e, (int)k, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_W) &&
			    ph.p_vaddr + ph.p_memsz > end)
				end = ph.p_vaddr + ph.p_memsz;
	if (e)
		elf_end(e);
	close(fd);
	return end ? (base->lo + end + 4095) & ~4095ULL : 0;
}

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int cgs_reach_scan(pid_t pid, const struct cgs_region *r, struct cgs_block *b, size_t n,
		   struct cgs_reach_stats *st)
{
	memset(st, 0, sizeof(*st));
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	for (size_t i = 0; i < n; i++)
		b[i].kind = CGS_KIND_UNKNOWN;
	cgs_reach_sort(b, n);
	struct proc p = { .pid = pid };
	struct map *maps;
	size_t nmaps = read_maps(pid, &maps);
	if (!nmaps) {
		free(maps);
		errno = ESRCH;
		return -1;
	}
	uint64_t region_lo = (uint64_t)(uintptr_t)r, region_hi = region_lo + (r ? r->size : 0);
	/* The process must still be the image whose blocks these are: after an
	 * exec the pid holds another program, without our region. */
	bool ours = !r;
	for (size_t i = 0; i < nmaps && !ours; i++)
		ours = maps[i].lo == region_lo;
	if (!ours) {
		free(maps);
		errno = ESRCH;
		return -1;
	}
	struct threads t = { 0 };
	read_threads(pid, &t, st);
	struct ranges roots = { 0 };
	/* Attached (cgoshim attach): the blocks allocated before the attach
	 * are not tracked, yet may hold the only pointer to a tracked one. So
	 * the C heap's arenas are roots too (less the tracked blocks): their
	 * free chunks' stale pointers can only make more blocks look
	 * reachable, never one lost that is not. */
	bool attached = r && r->attached;
	uint64_t shim_end = shim_data_end(maps, nmaps);
	for (size_t i = 0; i < nmaps; i++) {
		const struct map *m = &maps[i];
		if (m->perms[0] != 'r' || m->perms[1] != 'w')
			continue;
		uint64_t lo = m->lo;
		/* The shim library's .bss past its file's pages: its own state,
		 * no root of the program's (a mapping the kernel merged with it
		 * is read from its end on). */
		if (!m->path[0] && i > 0 && ends_with(maps[i - 1].path, "/libcgoshim.so") &&
		    maps[i - 1].hi == m->lo && shim_end > m->lo) {
			if (shim_end >= m->hi)
				continue;
			lo = shim_end;
		}
		if (m->lo < region_hi && m->hi > region_lo)
			continue; /* the shim's region */
		if (m->path[0] == '[' && strcmp(m->path, "[stack]") && !(attached && !strcmp(m->path, "[heap]")))
			continue; /* [heap], [vvar], [vdso], [vsyscall], ... */
		if (ends_with(m->path, "/libcgoshim.so") || strstr(m->path, "memfd:cgoshim"))
			continue;
		if (!strncmp(m->path, "/dev/", 5) && strncmp(m->path, "/dev/zero", 9))
			continue;
		if (m->path[0] == '/' && m->perms[3] == 's')
			continue; /* a file mapped shared */
		if (!attached && arena_heap(&p, m))
			continue;
		/* Only a thread stack is cut at its stack pointer: the main
		 * thread's [stack], or an anonymous mapping right above a guard
		 * page (glibc's thread stacks). A Go thread can block with its
		 * stack pointer on a goroutine stack, inside the Go heap, which
		 * must be read whole. */
		bool stack = !strcmp(m->path, "[stack]") ||
			     (!m->path[0] && i > 0 && maps[i - 1].hi == m->lo && !strncmp(maps[i - 1].perms, "---", 3));
		for (size_t k = 0; stack && k < t.nsp; k++)
			if (t.sp[k] >= m->lo && t.sp[k] < m->hi) {
				uint64_t from = t.sp[k] > m->lo + REDZONE ? t.sp[k] - REDZONE : m->lo;
				if (lo == m->lo || from < lo)
					lo = from & ~7ULL;
			}
		st->mappings++;
		add_root(&roots, b, n, lo, m->hi);
	}
	struct cgs_reach_mem mem = { proc_read, proc_readv, &p };
	cgs_reach_classify(b, n, roots.v, roots.n, t.args, t.nargs, &mem, st);
	free(roots.v);
	free(t.sp);
	free(t.args);
	free(maps);
	st->ns = clock_ns(CLOCK_MONOTONIC) - t0;
	st->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	if (p.reads && p.fails == p.reads) {
		for (size_t i = 0; i < n; i++)
			b[i].kind = CGS_KIND_UNKNOWN;
		errno = EPERM;
		return -1;
	}
	return 0;
}
