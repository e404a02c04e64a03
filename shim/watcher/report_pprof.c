/* report_pprof.c - a snapshot as a gzipped pprof profile (CGOSHIM_FORMAT=pprof).
 *
 * The format is profile.proto of github.com/google/pprof, encoded here by
 * hand (varints and length-delimited fields; no protobuf library) and
 * gzipped with zlib, so that `go tool pprof FILE` opens it with no other
 * file: every location carries its function, file and line, and every
 * mapping says so (has_functions, has_filenames, has_line_numbers), so pprof
 * never looks for the binaries.
 *
 * One profile holds everything, with six sample types:
 *   inuse_objects/count  inuse_space/bytes  calls/count  time/nanoseconds
 *   alloc_objects/count  alloc_space/bytes
 * (default inuse_space). Every site that allocated during the run is a
 * sample with its allocations and bytes over the whole run in the last two
 * (with leak tracking on), as in Go's own heap profiles. Each leak site is a sample by its stack with values
 * [count, bytes, 0, 0] (and a "cgo" label naming the cgo entry when there is
 * one). The shim keeps no stacks for calls, only per-function totals, so each
 * interposed function is a sample of a one-frame stack named after it (no
 * address, no mapping) with values [0, 0, calls, total ns]. So
 * `-sample_index=inuse_space` shows the live C heap by site and
 * `-sample_index=time` the time spent in read, ioctl, malloc...
 *
 * Mappings: one per module named by a frame, the executable first (pprof
 * takes the first mapping as the main binary). The snapshot gives a frame's
 * module path and its offset from the load bias; the address range, file
 * offset and GNU build-id come from the module's ELF file itself (program
 * headers and notes, read with bounds checks). When the file cannot be read,
 * the range is that of the frames seen in it and the build-id is empty.
 *
 * The gzip header has no name and a zero time, and nothing depends on the
 * clock or on pointer values, so the output is a pure function of the
 * snapshot (and of the module files). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <zlib.h>

#include "report_extra.h"

/* Field numbers of profile.proto. */
enum {
	PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_MAPPING = 3, PROFILE_LOCATION = 4,
	PROFILE_FUNCTION = 5, PROFILE_STRING_TABLE = 6, PROFILE_TIME_NANOS = 9,
	PROFILE_DURATION_NANOS = 10, PROFILE_COMMENT = 13, PROFILE_DEFAULT_SAMPLE_TYPE = 14,
	VALUETYPE_TYPE = 1, VALUETYPE_UNIT = 2,
	SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2, SAMPLE_LABEL = 3,
	LABEL_KEY = 1, LABEL_STR = 2,
	MAPPING_ID = 1, MAPPING_MEMORY_START = 2, MAPPING_MEMORY_LIMIT = 3, MAPPING_FILE_OFFSET = 4,
	MAPPING_FILENAME = 5, MAPPING_BUILD_ID = 6, MAPPING_HAS_FUNCTIONS = 7,
	MAPPING_HAS_FILENAMES = 8, MAPPING_HAS_LINE_NUMBERS = 9,
	LOCATION_ID = 1, LOCATION_MAPPING_ID = 2, LOCATION_ADDRESS = 3, LOCATION_LINE = 4,
	LINE_FUNCTION_ID = 1, LINE_LINE = 2,
	FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3, FUNCTION_FILENAME = 4,
};

enum { WT_VARINT = 0, WT_LEN = 2 };

/* ---- Protobuf encoding ------------------------------------------------- */

struct pb {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

static bool pb_room(struct pb *b, size_t n)
{
	if (b->oom)
		return false;
	if (b->len + n <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + n)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void pb_raw(struct pb *b, const void *d, size_t n)
{
	if (n && pb_room(b, n)) {
		memcpy(b->p + b->len, d, n);
		b->len += n;
	}
}

static void pb_varint(struct pb *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;
	do {
		tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	pb_raw(b, tmp, n);
}

/* A varint field; zero is the default and is left out. */
static void pb_uint(struct pb *b, unsigned field, uint64_t v)
{
	if (!v)
		return;
	pb_varint(b, (uint64_t)field << 3 | WT_VARINT);
	pb_varint(b, v);
}

static void pb_bytes(struct pb *b, unsigned field, const void *d, size_t n)
{
	pb_varint(b, (uint64_t)field << 3 | WT_LEN);
	pb_varint(b, n);
	pb_raw(b, d, n);
}

/* An embedded message: sub's bytes, then sub is emptied for reuse. */
static void pb_msg(struct pb *b, unsigned field, struct pb *sub)
{
	b->oom |= sub->oom;
	pb_bytes(b, field, sub->p, sub->len);
	sub->len = 0;
}

/* A packed repeated varint field. */
static void pb_packed(struct pb *b, unsigned field, const uint64_t *v, size_t n)
{
	struct pb tmp = { 0 };
	for (size_t i = 0; i < n; i++)
		pb_varint(&tmp, v[i]);
	b->oom |= tmp.oom;
	pb_bytes(b, field, tmp.p, tmp.len);
	free(tmp.p);
}

/* ---- Interning: strings, and tuples of four numbers -------------------- */

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

struct strtab {
	const char **v; /* v[0] = "" */
	size_t n, cap;
	uint32_t *slot; /* open addressing: index + 1, 0 = empty */
	size_t nslot;
	bool oom;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return mix(h);
}

static bool str_grow(struct strtab *t)
{
	size_t nslot = t->nslot ? t->nslot * 2 : 1024;
	uint32_t *slot = calloc(nslot, sizeof(*slot));
	if (!slot)
		return false;
	for (size_t i = 0; i < t->n; i++)
		for (size_t j = str_hash(t->v[i]);; j++)
			if (!slot[j & (nslot - 1)]) {
				slot[j & (nslot - 1)] = (uint32_t)i + 1;
				break;
			}
	free(t->slot);
	t->slot = slot;
	t->nslot = nslot;
	return true;
}

/* Index of s in the table (added if new); NULL and "" are 0. The string is
 * not copied: it must live until the profile is written. */
static uint64_t str_id(struct strtab *t, const char *s)
{
	if (!s || !*s || t->oom)
		return 0;
	if ((t->n + 1) * 2 > t->nslot && !str_grow(t))
		goto oom;
	size_t j;
	for (j = str_hash(s);; j++) {
		uint32_t k = t->slot[j & (t->nslot - 1)];
		if (!k)
			break;
		if (!strcmp(t->v[k - 1], s))
			return k - 1;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		const char **v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			goto oom;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n] = s;
	t->slot[j & (t->nslot - 1)] = (uint32_t)++t->n;
	return t->n - 1;
oom:
	t->oom = true;
	return 0;
}

/* Tuples of four numbers, each given an id 1, 2, 3... in order of arrival. */
struct tuples {
	uint64_t (*v)[4];
	size_t n, cap;
	uint32_t *slot;
	size_t nslot;
	bool oom;
};

static uint64_t tup_hash(const uint64_t k[4])
{
	return mix(k[0] ^ mix(k[1] ^ mix(k[2] ^ mix(k[3]))));
}

static bool tup_grow(struct tuples *t)
{
	size_t nslot = t->nslot ? t->nslot * 2 : 1024;
	uint32_t *slot = calloc(nslot, sizeof(*slot));
	if (!slot)
		return false;
	for (size_t i = 0; i < t->n; i++)
		for (size_t j = tup_hash(t->v[i]);; j++)
			if (!slot[j & (nslot - 1)]) {
				slot[j & (nslot - 1)] = (uint32_t)i + 1;
				break;
			}
	free(t->slot);
	t->slot = slot;
	t->nslot = nslot;
	return true;
}

/* The id of the tuple (1-based); *added tells whether it is new. 0 when out
 * of memory. */
static uint64_t tup_id(struct tuples *t, uint64_t a, uint64_t b, uint64_t c, uint64_t d, bool *added)
{
	const uint64_t k[4] = { a, b, c, d };
	*added = false;
	if (t->oom)
		return 0;
	if ((t->n + 1) * 2 > t->nslot && !tup_grow(t))
		goto oom;
	size_t j;
	for (j = tup_hash(k);; j++) {
		uint32_t s = t->slot[j & (t->nslot - 1)];
		if (!s)
			break;
		if (!memcmp(t->v[s - 1], k, sizeof(k)))
			return s;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		uint64_t(*v)[4] = realloc(t->v, cap * sizeof(*v));
		if (!v)
			goto oom;
		t->v = v;
		t->cap = cap;
	}
	memcpy(t->v[t->n], k, sizeof(k));
	t->slot[j & (t->nslot - 1)] = (uint32_t)++t->n;
	*added = true;
	return t->n;
oom:
	t->oom = true;
	return 0;
}

/* ---- Mappings: what the ELF file says ---------------------------------- */

struct mapping {
	const char *path;
	uint64_t lo, hi;      /* frame addresses seen: [lo, hi] */
	uint64_t bias;        /* addr - offset of a frame */
	uint64_t start, limit, file_offset;
	char build_id[2 * 64 + 1];
};

static bool read_at(int fd, void *buf, size_t n, uint64_t off)
{
	return pread(fd, buf, n, (off_t)off) == (ssize_t)n;
}

/* The GNU build-id in a PT_NOTE segment's bytes, as hex. */
static void note_build_id(const uint8_t *p, size_t n, char *hex, size_t hexcap)
{
	size_t i = 0;
	while (i + sizeof(Elf64_Nhdr) <= n) {
		Elf64_Nhdr h;
		memcpy(&h, p + i, sizeof(h));
		i += sizeof(h);
		size_t name = (h.n_namesz + 3u) & ~3u, desc = (h.n_descsz + 3u) & ~3u;
		if (name > n - i || desc > n - i - name)
			return;
		if (h.n_type == NT_GNU_BUILD_ID && h.n_namesz == 4 && !memcmp(p + i, "GNU", 4) &&
		    h.n_descsz && 2 * h.n_descsz < hexcap) {
			for (size_t k = 0; k < h.n_descsz; k++)
				snprintf(hex + 2 * k, 3, "%02x", p[i + name + k]);
			return;
		}
		i += name + desc;
	}
}

/* Fill start/limit/file_offset (from the executable PT_LOAD segments) and
 * the build-id from the module's file; false when it is not a readable
 * 64-bit ELF file. Never follows anything but the path given, never blocks
 * on a FIFO. */
static bool elf_info(struct mapping *m)
{
	int fd = open(m->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return false;
	struct stat st;
	Elf64_Ehdr eh;
	bool ok = false;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || !read_at(fd, &eh, sizeof(eh), 0) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || !eh.e_phnum || eh.e_phnum > 512)
		goto out;
	Elf64_Phdr ph[512];
	if (!read_at(fd, ph, eh.e_phnum * sizeof(Elf64_Phdr), eh.e_phoff))
		goto out;
	uint64_t lo = UINT64_MAX, hi = 0, off = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		if (p->p_type == PT_LOAD && (p->p_flags & PF_X) && p->p_memsz) {
			if (p->p_vaddr < lo) {
				lo = p->p_vaddr;
				off = p->p_offset;
			}
			if (p->p_vaddr + p->p_memsz > hi)
				hi = p->p_vaddr + p->p_memsz;
		} else if (p->p_type == PT_NOTE && !m->build_id[0] && p->p_filesz &&
			   p->p_filesz <= 65536) {
			uint8_t *buf = malloc(p->p_filesz);
			if (buf && read_at(fd, buf, p->p_filesz, p->p_offset))
				note_build_id(buf, p->p_filesz, m->build_id, sizeof(m->build_id));
			free(buf);
		}
	}
	if (lo < hi) {
		/* As the segment is mapped: whole pages. */
		m->start = m->bias + (lo & ~0xfffULL);
		m->limit = m->bias + ((hi + 0xfff) & ~0xfffULL);
		m->file_offset = off & ~0xfffULL;
		ok = true;
	}
out:
	close(fd);
	return ok;
}

/* ---- Building the profile ---------------------------------------------- */

struct builder {
	const struct cgs_snapshot *s;
	struct strtab strs;
	struct tuples funcs;  /* (name, file, 0, 0) */
	struct tuples locs;   /* (address, mapping, function, line) */
	struct mapping *maps; /* maps[id - 1] */
	size_t nmaps, capmaps;
	struct pb out, sub, line; /* the profile; scratch messages */
	bool oom;
};

/* The mapping id (1-based) of a frame's module; 0 when it has none. */
static uint64_t map_id(struct builder *b, const struct cgs_frame_info *f)
{
	if (!f->module || !*f->module || f->addr < f->offset)
		return 0;
	for (size_t i = 0; i < b->nmaps; i++) {
		struct mapping *m = &b->maps[i];
		if (!strcmp(m->path, f->module)) {
			if (f->addr < m->lo)
				m->lo = f->addr;
			if (f->addr > m->hi)
				m->hi = f->addr;
			return i + 1;
		}
	}
	if (b->nmaps == b->capmaps) {
		size_t cap = b->capmaps ? b->capmaps * 2 : 16;
		struct mapping *v = realloc(b->maps, cap * sizeof(*v));
		if (!v) {
			b->oom = true;
			return 0;
		}
		b->maps = v;
		b->capmaps = cap;
	}
	struct mapping *m = &b->maps[b->nmaps++];
	memset(m, 0, sizeof(*m));
	m->path = f->module;
	m->lo = m->hi = f->addr;
	m->bias = f->addr - f->offset;
	return b->nmaps;
}

static uint64_t func_id(struct builder *b, const char *name, const char *file)
{
	bool added;
	return tup_id(&b->funcs, str_id(&b->strs, name), str_id(&b->strs, file), 0, 0, &added);
}

/* A location for the frame: (address, mapping, function, line) interned. */
static uint64_t loc_id(struct builder *b, const struct cgs_frame_info *f)
{
	bool added;
	uint64_t m = map_id(b, f);
	uint64_t fn = f->function && *f->function ? func_id(b, f->function, f->file) : 0;
	uint64_t line = fn && f->line > 0 ? (uint64_t)f->line : 0;
	return tup_id(&b->locs, f->addr, m, fn, line, &added);
}

#define NVALUES 6 /* inuse_objects inuse_space calls time alloc_objects alloc_space */

static void sample(struct builder *b, const uint64_t *locs, size_t nlocs, const uint64_t values[NVALUES],
		   const char *cgo, bool runtime, const char *kind)
{
	struct pb smp = { 0 };
	pb_packed(&smp, SAMPLE_LOCATION_ID, locs, nlocs);
	pb_packed(&smp, SAMPLE_VALUE, values, NVALUES);
	if (cgo && *cgo) {
		pb_uint(&b->sub, LABEL_KEY, str_id(&b->strs, "cgo"));
		pb_uint(&b->sub, LABEL_STR, str_id(&b->strs, cgo));
		pb_msg(&smp, SAMPLE_LABEL, &b->sub);
	}
	if (runtime) {
		pb_uint(&b->sub, LABEL_KEY, str_id(&b->strs, "held_by"));
		pb_uint(&b->sub, LABEL_STR, str_id(&b->strs, "runtime"));
		pb_msg(&smp, SAMPLE_LABEL, &b->sub);
	}
	if (kind) {
		pb_uint(&b->sub, LABEL_KEY, str_id(&b->strs, "kind"));
		pb_uint(&b->sub, LABEL_STR, str_id(&b->strs, kind));
		pb_msg(&smp, SAMPLE_LABEL, &b->sub);
	}
	pb_msg(&b->out, PROFILE_SAMPLE, &smp);
	free(smp.p);
}

static void leak_samples(struct builder *b)
{
	const struct cgs_snapshot *s = b->s;
	uint64_t *locs = NULL;
	size_t cap = 0;
	for (size_t i = 0; s->leaks_enabled && s->sites && i < s->nsites; i++) {
		const struct cgs_snap_site *site = &s->sites[i];
		size_t n = site->frames && site->nframes > 0 ? (size_t)site->nframes : 0;
		if (n + 1 > cap) {
			cap = n + 1;
			uint64_t *v = realloc(locs, cap * sizeof(*v));
			if (!v) {
				b->oom = true;
				break;
			}
			locs = v;
		}
		for (size_t k = 0; k < n; k++) /* innermost first, as pprof wants */
			locs[k] = loc_id(b, &site->frames[k]);
		if (!n) {
			struct cgs_frame_info unknown = { .function = "[no stack]" };
			locs[n++] = loc_id(b, &unknown);
		}
		const uint64_t values[NVALUES] = { site->count, site->bytes, 0, 0, 0, 0 };
		sample(b, locs, n, values, site->cgo, site->runtime, cgs_kind_name(site->kind));
	}
	free(locs);
}

/* Every site that allocated, with its allocations and bytes over the whole
 * run (alloc_objects, alloc_space), as Go's heap profiles have them. */
static void alloc_samples(struct builder *b)
{
	const struct cgs_snapshot *s = b->s;
	uint64_t *locs = NULL;
	size_t cap = 0;
	for (size_t i = 0; s->heap.enabled && s->heap.sites && i < s->heap.nsites; i++) {
		const struct cgs_snap_tsite *site = &s->heap.sites[i];
		size_t n = site->frames && site->nframes > 0 ? (size_t)site->nframes : 0;
		if (n + 1 > cap) {
			cap = n + 1;
			uint64_t *v = realloc(locs, cap * sizeof(*v));
			if (!v) {
				b->oom = true;
				break;
			}
			locs = v;
		}
		for (size_t k = 0; k < n; k++)
			locs[k] = loc_id(b, &site->frames[k]);
		if (!n) {
			struct cgs_frame_info unknown = { .function = "[no stack]" };
			locs[n++] = loc_id(b, &unknown);
		}
		const uint64_t values[NVALUES] = { 0, 0, 0, 0, site->allocs, site->bytes };
		sample(b, locs, n, values, site->cgo, false, NULL);
	}
	free(locs);
}

static void call_samples(struct builder *b)
{
	const struct cgs_snapshot *s = b->s;
	for (size_t i = 0; s->fns && i < s->nfns; i++) {
		const struct cgs_snap_fn *fn = &s->fns[i];
		if (!fn->name || !(fn->st.count + fn->untimed))
			continue;
		bool added;
		/* No address, no mapping: one location per function. */
		uint64_t loc = tup_id(&b->locs, 0, 0, func_id(b, fn->name, NULL), 0, &added);
		const uint64_t values[NVALUES] = { 0, 0, fn->st.count + fn->untimed, cgs_rx_tick_ns(s, fn->st.total), 0, 0 };
		sample(b, &loc, 1, values, NULL, false, NULL);
	}
}

static void value_type(struct builder *b, unsigned field, const char *type, const char *unit)
{
	pb_uint(&b->sub, VALUETYPE_TYPE, str_id(&b->strs, type));
	pb_uint(&b->sub, VALUETYPE_UNIT, str_id(&b->strs, unit));
	pb_msg(&b->out, field, &b->sub);
}

/* The executable first: pprof takes mapping 1 as the main binary. Mapping
 * ids in locations are remapped through order[]. */
static void write_mappings(struct builder *b, uint64_t *newid)
{
	const char *exe = b->s->exe;
	uint64_t next = 1;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < b->nmaps; i++) {
			bool is_exe = exe && !strcmp(b->maps[i].path, exe);
			if (is_exe == (pass == 0))
				newid[i] = next++;
		}
	for (uint64_t id = 1; id <= b->nmaps; id++) {
		size_t i = 0;
		while (newid[i] != id)
			i++;
		struct mapping *m = &b->maps[i];
		if (!elf_info(m) || m->lo < m->start || m->hi >= m->limit) {
			/* No file, or frames outside its code: the frames' span. */
			m->start = m->lo & ~0xfffULL;
			m->limit = (m->hi + 0x1000) & ~0xfffULL;
			m->file_offset = m->start - m->bias;
			if (m->start < m->bias)
				m->file_offset = 0;
		}
		pb_uint(&b->sub, MAPPING_ID, id);
		pb_uint(&b->sub, MAPPING_MEMORY_START, m->start);
		pb_uint(&b->sub, MAPPING_MEMORY_LIMIT, m->limit);
		pb_uint(&b->sub, MAPPING_FILE_OFFSET, m->file_offset);
		pb_uint(&b->sub, MAPPING_FILENAME, str_id(&b->strs, m->path));
		pb_uint(&b->sub, MAPPING_BUILD_ID, str_id(&b->strs, m->build_id));
		pb_uint(&b->sub, MAPPING_HAS_FUNCTIONS, 1);
		pb_uint(&b->sub, MAPPING_HAS_FILENAMES, 1);
		pb_uint(&b->sub, MAPPING_HAS_LINE_NUMBERS, 1);
		pb_msg(&b->out, PROFILE_MAPPING, &b->sub);
	}
}

static void write_locations(struct builder *b, const uint64_t *newid)
{
	for (size_t i = 0; i < b->locs.n; i++) {
		const uint64_t *k = b->locs.v[i];
		pb_uint(&b->sub, LOCATION_ID, i + 1);
		pb_uint(&b->sub, LOCATION_MAPPING_ID, k[1] ? newid[k[1] - 1] : 0);
		pb_uint(&b->sub, LOCATION_ADDRESS, k[0]);
		if (k[2]) {
			pb_uint(&b->line, LINE_FUNCTION_ID, k[2]);
			pb_uint(&b->line, LINE_LINE, k[3]);
			pb_msg(&b->sub, LOCATION_LINE, &b->line);
		}
		pb_msg(&b->out, PROFILE_LOCATION, &b->sub);
	}
}

static void write_functions(struct builder *b)
{
	for (size_t i = 0; i < b->funcs.n; i++) {
		const uint64_t *k = b->funcs.v[i];
		pb_uint(&b->sub, FUNCTION_ID, i + 1);
		pb_uint(&b->sub, FUNCTION_NAME, k[0]);
		pb_uint(&b->sub, FUNCTION_SYSTEM_NAME, k[0]);
		pb_uint(&b->sub, FUNCTION_FILENAME, k[1]);
		pb_msg(&b->out, PROFILE_FUNCTION, &b->sub);
	}
}

/* The profile, not yet compressed, in b->out. */
static void build(struct builder *b, char *comment, size_t comment_cap)
{
	const struct cgs_snapshot *s = b->s;
	/* String 0 is "" (str_id answers 0 for it without a lookup). */
	b->strs.v = malloc(256 * sizeof(*b->strs.v));
	if (!b->strs.v) {
		b->oom = true;
		return;
	}
	b->strs.cap = 256;
	b->strs.n = 1;
	b->strs.v[0] = "";

	value_type(b, PROFILE_SAMPLE_TYPE, "inuse_objects", "count");
	value_type(b, PROFILE_SAMPLE_TYPE, "inuse_space", "bytes");
	value_type(b, PROFILE_SAMPLE_TYPE, "calls", "count");
	value_type(b, PROFILE_SAMPLE_TYPE, "time", "nanoseconds");
	value_type(b, PROFILE_SAMPLE_TYPE, "alloc_objects", "count");
	value_type(b, PROFILE_SAMPLE_TYPE, "alloc_space", "bytes");
	leak_samples(b);
	call_samples(b);
	alloc_samples(b);

	uint64_t *newid = calloc(b->nmaps ? b->nmaps : 1, sizeof(*newid));
	if (!newid) {
		b->oom = true;
		return;
	}
	write_mappings(b, newid);
	write_locations(b, newid);
	free(newid);
	write_functions(b);

	snprintf(comment, comment_cap, "cgoshim report: pid %d, %s, trigger %s, %s, dump #%u", s->pid,
		 s->exe && *s->exe ? s->exe : "?", s->trigger && *s->trigger ? s->trigger : "?",
		 s->final ? "final" : "live", (unsigned)s->seq);
	uint64_t c1 = str_id(&b->strs, comment);
	uint64_t c2 = s->cmdline && *s->cmdline ? str_id(&b->strs, s->cmdline) : 0;
	uint64_t dflt = str_id(&b->strs, "inuse_space");

	/* The string table goes last: every string is known by now. */
	for (size_t i = 0; !b->strs.oom && i < b->strs.n; i++)
		pb_bytes(&b->out, PROFILE_STRING_TABLE, b->strs.v[i], strlen(b->strs.v[i]));
	int64_t start = s->start_real_ns > 0 ? s->start_real_ns : 0;
	pb_uint(&b->out, PROFILE_TIME_NANOS, (uint64_t)start + s->duration_ns);
	pb_uint(&b->out, PROFILE_DURATION_NANOS, s->duration_ns);
	pb_uint(&b->out, PROFILE_COMMENT, c1);
	pb_uint(&b->out, PROFILE_COMMENT, c2);
	pb_uint(&b->out, PROFILE_DEFAULT_SAMPLE_TYPE, dflt);
	b->oom |= b->strs.oom || b->funcs.oom || b->locs.oom || b->sub.oom || b->line.oom;
}

/* gzip in[0, n) to out. 0, or -1 with errno. */
static int gzip_write(const uint8_t *in, size_t n, FILE *out)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	/* 15 + 16: gzip wrapper; no name, time 0. */
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		errno = ENOMEM;
		return -1;
	}
	uLong cap = deflateBound(&z, (uLong)n);
	uint8_t *buf = malloc(cap);
	if (!buf) {
		deflateEnd(&z);
		errno = ENOMEM;
		return -1;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	z.next_out = buf;
	z.avail_out = (uInt)cap;
	int rc = deflate(&z, Z_FINISH);
	size_t len = cap - z.avail_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(buf);
		errno = ENOMEM;
		return -1;
	}
	errno = 0;
	size_t w = fwrite(buf, 1, len, out);
	free(buf);
	if (w != len || fflush(out) == EOF || ferror(out)) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}

int cgs_report_pprof(const struct cgs_snapshot *s, FILE *out)
{
	if (!s || !out) {
		errno = EINVAL;
		return -1;
	}
	struct builder b = { .s = s };
	char comment[1024];
	build(&b, comment, sizeof(comment));
	int rc = -1;
	if (b.oom || b.out.oom || b.out.len > UINT32_MAX)
		errno = ENOMEM;
	else
		rc = gzip_write(b.out.p, b.out.len, out);
	int e = errno;
	free(b.out.p);
	free(b.sub.p);
	free(b.line.p);
	free(b.strs.v);
	free(b.strs.slot);
	free(b.funcs.v);
	free(b.funcs.slot);
	free(b.locs.v);
	free(b.locs.slot);
	free(b.maps);
	errno = e;
	return rc;
}
