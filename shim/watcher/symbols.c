/* symbols.c - code addresses to function, file and line, on the report side.
 *
 * Runs in the watcher process or a test, never in an interposed call: it
 * allocates, opens files and uses elfutils (libdwfl, libdw).
 *
 * Modules. Each entry of the module table gets, the first time an address
 * falls in it, its own Dwfl session holding that one file reported at the
 * entry's load bias. One session per entry (not one per address space) is
 * what keeps epochs apart: a library unloaded and another one loaded at the
 * same address are two entries, two sessions, and never overlap. Entries
 * that describe the same file at the same place (a library dlopen'ed again
 * at its old address) share the first one's session.
 *
 * Opening a file is checked before libdwfl sees it: it must be a regular
 * file that starts with the ELF magic (libdwfl would otherwise try to
 * decompress it, or block opening a FIFO). After opening, every program
 * header, section header and section must lie inside the file (a truncated
 * copy keeps its build-id note), and the file's build-id must equal the one
 * read from memory at load time; if neither has one, the file's load span
 * must end where the table's does. A file that fails any check was replaced
 * or damaged: the address still gets its module path, but no function, file
 * or line.
 *
 * Compilation units are found with an index built here from each CU's own
 * address ranges (DW_AT_low_pc/high_pc/ranges), not with libdwfl's lookup:
 * that one trusts .debug_aranges to cover every CU, and in a cgo binary only
 * the C units have aranges, so Go addresses landed in a C unit. Ranges that
 * start at 0 (code discarded by the linker) are left out.
 *
 * Separate debug information is looked up only by build-id in the local
 * debuginfo path (/usr/lib/debug/.build-id); dwfl_standard_find_debuginfo is
 * not used because it may query debuginfod servers over the network.
 *
 * Scopes. Within a unit, the function (DW_TAG_subprogram) holding an
 * address is found in a sorted index of the unit's functions' ranges, built
 * the first time an address falls in that unit; then only that function's
 * DIEs are walked, down through the scopes (inlined subroutines, lexical
 * blocks) that hold the address. The path found is the physical nesting,
 * so its inlined subroutines, innermost first, and the function around
 * them are the inline chain (dwarf_getscopes gives lexical scopes
 * instead: the inlined callee's abstract definition's parents, without its
 * caller; and it walks the unit's DIEs at every call: 0.1 to 1 ms per
 * address in a unit of a thousand functions). Each enclosing frame of a chain takes its file and line from the
 * DW_AT_call_file/DW_AT_call_line of the scope inside it. Walks are bounded
 * in depth and in DIEs looked at, so malformed DWARF cannot loop.
 *
 * Names. The function is the innermost inlined subroutine when the DWARF has
 * one at the address (so that it agrees with the line), otherwise the ELF
 * function symbol, otherwise the DWARF subprogram; the outermost function
 * of an inline chain is named the same way (symbol first), the ones between
 * by their DWARF names. Function symbols are
 * looked up in a sorted index built once per module (dwfl_module_addrinfo
 * scans the whole symbol table at every call: a quarter of a millisecond
 * per address in libc with its debug symbols). A function symbol of size 0
 * (hand-written assembly) covers up to the next symbol of any kind or the
 * end of its section; among functions at one address a global one wins.
 * C++ names are demangled with __cxa_demangle when the process has it
 * (found with dlsym, optional). Go binaries need nothing special: their
 * symbols (main.leakLoop) and DWARF are ordinary, once CUs are found by
 * their own ranges (above).
 *
 * Epochs. An address is resolved against the entry valid at its epoch
 * (cgs_modules_find). If there is none, the earliest entry loaded after
 * that epoch at the address is used: stacks taken while a library was being
 * loaded (its constructors run inside dlopen, before the refresh that
 * records it) carry the epoch before its load.
 *
 * Cache. Results are kept in an open-addressing hash map keyed by (session
 * owner, address), so a report with thousands of frames resolves each
 * distinct frame once; a result holds the whole inline chain, computed in
 * the same walk, so cgs_sym_resolve and cgs_sym_resolve_inline share it.
 * Strings point into the sessions (or to demangled copies and chains owned
 * here) and stay valid until cgs_sym_free.
 *
 * A symboliser is not thread-safe. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gosyms.h"
#include "symbols.h"

enum mod_state { MOD_UNTRIED, MOD_READY, MOD_UNUSABLE };

/* One address range of a compilation unit, in DWARF addresses. */
struct cu_range {
	Dwarf_Addr lo, hi;
	Dwarf_Addr max_hi;   /* largest hi of this and every earlier range */
	Dwarf_Die cu;
	size_t unit;         /* index into sym_module.units */
};

/* One address range of a function (DW_TAG_subprogram), DWARF addresses. */
struct fn_range {
	Dwarf_Addr lo, hi;
	Dwarf_Addr max_hi;   /* largest hi of this and every earlier range */
	Dwarf_Die die;
};

/* The functions of one unit, sorted by lo; built on first use. */
struct unit_fns {
	struct fn_range *v;
	size_t n;
	bool built;
};

/* One symbol, at runtime addresses. Only functions have a name; other
 * symbols (hi == lo) only end the sizeless functions before them. */
struct sym_range {
	Dwarf_Addr lo, hi;
	Dwarf_Addr max_hi;   /* largest hi of this and every earlier range */
	Dwarf_Addr limit;    /* end of the symbol's section */
	const char *name;
	int rank;            /* among equal lo, the highest rank wins */
};

struct sym_module {
	uint8_t state;
	bool indexed;        /* cus and syms built (owners only) */
	uint32_t owner;      /* the entry whose session serves this one */
	char *path;          /* own copy of the table's path, or NULL */
	Dwfl *dwfl;          /* owned when owner is this entry */
	Dwfl_Module *mod;
	Dwarf *dw;           /* NULL when the module has no DWARF */
	Dwarf_Addr dwbias;   /* runtime address - DWARF address */
	struct cu_range *cus; /* sorted by lo */
	size_t ncus;
	struct unit_fns *units; /* one per unit with ranges */
	size_t nunits;
	struct sym_range *syms; /* function symbols, sorted by lo, rank */
	size_t nsyms;
	bool disk_read;      /* its file in the cache directory was read (owners) */
	int disk_fd;         /* that file, open to append; -1 when not */
	uint64_t disk_size;  /* its size: appends stop at DISK_MAX */
	struct cgs_gosyms *go; /* .gopclntab, opened on first need (owners only) */
	bool go_tried;
};

/* An enclosing frame of an inline chain. */
struct sym_outer {
	const char *function;
	const char *file;    /* of the call site, in the scope inside */
	int line;
};

struct sym_slot {
	uint64_t pc;
	uint32_t owner1;     /* owner index + 1; 0 marks an empty slot */
	int line;
	const char *function;
	const char *file;
	uint32_t nouter;     /* enclosing frames of the inline chain */
	const struct sym_outer *outer; /* innermost first; owned */
};

typedef char *(*demangle_fn)(const char *, char *, size_t *, int *);

struct cgs_symbolizer {
	const struct cgs_module_table *table;
	struct sym_slot *slots;
	size_t cap, used;        /* cap is a power of two, or 0 */
	void **owned;            /* demangled names, paths, chains */
	size_t nowned, capowned;
	demangle_fn demangle;
	char *cache_dir;         /* cgs_sym_set_cache; NULL = no disk cache */
	struct sym_module mods[CGS_MODULES_MAX];
};

#define ELF_MAGIC "\177ELF"
#define DISK_MAX (1u << 20)    /* bytes of one module's cache file */
#define CACHE_MIN 1024
#define SCOPE_DEPTH_MAX 128    /* DIE nesting followed by a walk */
#define CHAIN_MAX 64           /* enclosing frames kept per address */
#define WALK_BUDGET (1u << 24) /* DIEs one walk may look at */

/* ---- libdwfl session ---- */

static int no_find_elf(Dwfl_Module *mod, void **userdata, const char *name,
		       Dwarf_Addr base, char **file_name, Elf **elfp)
{
	(void)mod, (void)userdata, (void)name, (void)base;
	(void)file_name, (void)elfp;
	return -1;
}

static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = no_find_elf,
	.find_debuginfo = dwfl_build_id_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

/* True for a regular file that starts like an ELF file; *size gets its
 * size. */
static bool file_is_elf(const char *path, uint64_t *size)
{
	char magic[4];
	struct stat st;
	bool ok = false;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size >= (off_t)sizeof(Elf64_Ehdr) &&
	    pread(fd, magic, sizeof(magic), 0) == (ssize_t)sizeof(magic))
		ok = memcmp(magic, ELF_MAGIC, sizeof(magic)) == 0;
	*size = ok ? (uint64_t)st.st_size : 0;
	close(fd);
	return ok;
}

static bool inside(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

static bool sections_inside(Elf *elf, const GElf_Ehdr *eh, uint64_t size)
{
	Elf_Scn *scn = NULL;
	size_t n;

	if (elf_getshdrnum(elf, &n) != 0)
		return false;
	/* libelf reports no sections when their headers are cut off. */
	if (n == 0 && eh->e_shnum != 0)
		return false;
	if (eh->e_shoff == 0)
		return n == 0;
	if (!inside(eh->e_shoff, (uint64_t)(n ? n : 1) * eh->e_shentsize, size))
		return false;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			return false;
		if (sh.sh_type != SHT_NOBITS &&
		    !inside(sh.sh_offset, sh.sh_size, size))
			return false;
	}
	return true;
}

/* True if nothing the headers describe lies past the end of the file. */
static bool file_complete(Dwfl_Module *dm, uint64_t size)
{
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(dm, &bias);
	GElf_Ehdr eh;
	size_t n;

	if (!elf || !gelf_getehdr(elf, &eh) || elf_getphdrnum(elf, &n) != 0)
		return false;
	if (!inside(eh.e_phoff, (uint64_t)n * eh.e_phentsize, size))
		return false;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph))
			return false;
		if (ph.p_type == PT_LOAD &&
		    !inside(ph.p_offset, ph.p_filesz, size))
			return false;
	}
	return sections_inside(elf, &eh, size);
}

/* True if the opened file is the one that was mapped. */
static bool same_file(const struct cgs_module *m, Dwfl_Module *dm)
{
	const unsigned char *bits = NULL;
	GElf_Addr vaddr;
	Dwarf_Addr start = 0, end = 0;
	int n = dwfl_module_build_id(dm, &bits, &vaddr);

	if (n < 0 || !bits)
		n = 0;
	if (n > CGS_BUILD_ID_MAX)
		n = CGS_BUILD_ID_MAX;
	if (m->build_id_len || n)
		return n == m->build_id_len &&
		       memcmp(bits, m->build_id, n) == 0;
	if (!dwfl_module_info(dm, NULL, &start, &end, NULL, NULL, NULL, NULL))
		return false;
	return end == m->hi;
}

static int held_exe_fd = -1;
static char held_exe_path[4096];

void cgs_sym_hold_exe(int pid)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/%d/exe", pid);
	ssize_t n = readlink(proc, held_exe_path, sizeof(held_exe_path) - 1);
	if (n <= 0)
		return;
	held_exe_path[n] = 0;
	held_exe_fd = open(proc, O_RDONLY | O_CLOEXEC);
}

/* The file to read for a module: its path, or the held executable's
 * descriptor when that path is gone (a deleted test binary). */
static const char *readable(const char *path, char alt[64])
{
	if (held_exe_fd < 0 || !path || strcmp(path, held_exe_path) || !access(path, R_OK))
		return path;
	snprintf(alt, 64, "/proc/self/fd/%d", held_exe_fd);
	return alt;
}

static void open_module(struct sym_module *sm, const struct cgs_module *m)
{
	Dwfl_Module *dm;
	Dwfl *dwfl;
	uint64_t size;
	char alt[64];
	const char *file = readable(sm->path, alt);

	if (!file_is_elf(file, &size))
		return;
	dwfl = dwfl_begin(&dwfl_callbacks);
	if (!dwfl)
		return;
	dwfl_report_begin(dwfl);
	/* add_p_vaddr=true: base is the load bias, as dl_iterate_phdr gives
	 * it, also for objects whose first PT_LOAD is not at vaddr 0. */
	dm = dwfl_report_elf(dwfl, sm->path, file, -1, m->bias, true);
	if (dwfl_report_end(dwfl, NULL, NULL) != 0 || !dm ||
	    !file_complete(dm, size) || !same_file(m, dm)) {
		dwfl_end(dwfl);
		return;
	}
	sm->dwfl = dwfl;
	sm->mod = dm;
	sm->state = MOD_READY;
}

/* ---- module entries ---- */

static char *copy_path(const struct cgs_module *m)
{
	const char *end = memchr(m->path, '\0', sizeof(m->path));

	if (!end || end == m->path)
		return NULL;
	return strdup(m->path);
}

static bool same_identity(const struct cgs_module *a,
			  const struct cgs_module *b)
{
	return a->bias == b->bias && a->lo == b->lo && a->hi == b->hi &&
	       a->build_id_len == b->build_id_len &&
	       memcmp(a->build_id, b->build_id, sizeof(a->build_id)) == 0 &&
	       strncmp(a->path, b->path, sizeof(a->path)) == 0;
}

static struct sym_module *module_state(struct cgs_symbolizer *s, uint32_t i);

static void prepare(struct cgs_symbolizer *s, uint32_t i)
{
	const struct cgs_module *m = &s->table->mods[i];
	struct sym_module *sm = &s->mods[i];

	sm->state = MOD_UNUSABLE;
	sm->owner = i;
	sm->path = copy_path(m);
	if (!sm->path || sm->path[0] != '/')
		return;
	for (uint32_t j = 0; j < i; j++) {
		if (same_identity(&s->table->mods[j], m)) {
			struct sym_module *twin = module_state(s, j);

			sm->state = twin->state;
			sm->owner = twin->owner;
			sm->mod = twin->mod;
			return;
		}
	}
	open_module(sm, m);
}

static struct sym_module *module_state(struct cgs_symbolizer *s, uint32_t i)
{
	if (s->mods[i].state == MOD_UNTRIED)
		prepare(s, i);
	return &s->mods[i];
}

/* The entry for pc at epoch, or the earliest one loaded after it; -1. */
static int module_index(const struct cgs_module_table *t, uint64_t pc,
			uint32_t epoch)
{
	const struct cgs_module *m = cgs_modules_find(t, pc, epoch);
	uint32_t n = __atomic_load_n(&t->count, __ATOMIC_ACQUIRE);
	int best = -1;

	if (m)
		return (int)(m - t->mods);
	if (n > CGS_MODULES_MAX)
		n = CGS_MODULES_MAX;
	for (uint32_t i = 0; i < n; i++) {
		m = &t->mods[i];
		if (pc < m->lo || pc >= m->hi || m->load_epoch <= epoch)
			continue;
		if (best < 0 || m->load_epoch < t->mods[best].load_epoch)
			best = (int)i;
	}
	return best;
}

/* ---- compilation units ---- */

static int cu_range_cmp(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static bool add_cu_ranges(struct sym_module *sm, Dwarf_Die *cu, size_t unit,
			  size_t *cap)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;

	while ((off = dwarf_ranges(cu, off, &base, &lo, &hi)) > 0) {
		if (lo == 0 || hi <= lo)
			continue;
		if (sm->ncus == *cap) {
			size_t ncap = *cap ? 2 * *cap : 64;
			struct cu_range *p;

			p = realloc(sm->cus, ncap * sizeof(*p));

			if (!p)
				return false;
			sm->cus = p;
			*cap = ncap;
		}
		sm->cus[sm->ncus++] = (struct cu_range){
			.lo = lo, .hi = hi, .cu = *cu, .unit = unit };
	}
	return true;
}

/* Builds the sorted range index of an owner module's compilation units. */
static void index_cus(struct sym_module *sm)
{
	Dwarf_CU *cu = NULL, *next;
	Dwarf_Die cudie;
	uint8_t type;
	size_t cap = 0;
	Dwarf_Addr max_hi = 0;

	sm->indexed = true;
	sm->dw = dwfl_module_getdwarf(sm->mod, &sm->dwbias);
	if (!sm->dw)
		return;
	while (!dwarf_get_units(sm->dw, cu, &next, NULL, &type, &cudie, NULL)) {
		size_t before = sm->ncus;

		cu = next;
		if (type == 0 || type == DW_UT_type || type == DW_UT_split_type)
			continue;
		if (!add_cu_ranges(sm, &cudie, sm->nunits, &cap))
			break;
		if (sm->ncus > before)
			sm->nunits++;
	}
	if (!sm->ncus)
		return;
	/* Units past nunits (out of memory above) get no function index. */
	sm->units = calloc(sm->nunits ? sm->nunits : 1, sizeof(*sm->units));
	if (!sm->units)
		sm->nunits = 0;
	qsort(sm->cus, sm->ncus, sizeof(*sm->cus), cu_range_cmp);
	for (size_t i = 0; i < sm->ncus; i++) {
		if (sm->cus[i].hi > max_hi)
			max_hi = sm->cus[i].hi;
		sm->cus[i].max_hi = max_hi;
	}
}

/* The compilation unit range that holds the DWARF address a, or NULL. */
static struct cu_range *cu_at(struct sym_module *sm, Dwarf_Addr a)
{
	size_t l = 0, u = sm->ncus;

	while (l < u) {
		size_t mid = l + (u - l) / 2;

		if (sm->cus[mid].lo <= a)
			l = mid + 1;
		else
			u = mid;
	}
	/* Every range before l starts at or below a. */
	for (size_t j = l; j-- > 0 && sm->cus[j].max_hi > a;)
		if (a < sm->cus[j].hi)
			return &sm->cus[j];
	return NULL;
}

/* ---- function symbols ---- */

static int sym_range_cmp(const void *a, const void *b)
{
	const struct sym_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return (x->rank > y->rank) - (x->rank < y->rank);
}

static int binding_rank(unsigned char info)
{
	switch (GELF_ST_BIND(info)) {
	case STB_GLOBAL:
		return 2;
	case STB_WEAK:
		return 1;
	default:
		return 0;
	}
}

/* The header of the section a symbol is defined in. */
static bool symbol_section(Elf *elf, GElf_Word shndx, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;

	if (elf && shndx < SHN_LORESERVE)
		scn = elf_getscn(elf, shndx);
	return scn && gelf_getshdr(scn, sh);
}

/* Among functions at one address: global over weak over local, then a
 * plain name over a default version (name@@V) over another one (name@V). */
static int symbol_rank(const char *name, unsigned char info)
{
	const char *at = strchr(name, '@');
	int version = !at ? 2 : at[1] == '@' ? 1 : 0;

	return 1 + 3 * binding_rank(info) + version;
}

static bool add_symbol(struct sym_module *sm, struct sym_range r, size_t *cap)
{
	if (sm->nsyms == *cap) {
		size_t ncap = *cap ? 2 * *cap : 256;
		struct sym_range *p = realloc(sm->syms, ncap * sizeof(*p));

		if (!p)
			return false;
		sm->syms = p;
		*cap = ncap;
	}
	sm->syms[sm->nsyms++] = r;
	return true;
}

/* The index entry for symbol i of the module's table; false to skip it. */
static bool read_symbol(Dwfl_Module *mod, int i, struct sym_range *r)
{
	GElf_Sym sym;
	GElf_Addr addr;
	GElf_Word shndx = SHN_UNDEF;
	Elf *elf = NULL;
	Dwarf_Addr bias = 0;
	const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx,
						   &elf, &bias);
	int type = GELF_ST_TYPE(sym.st_info);
	GElf_Shdr sh;
	bool in_text;

	if (!name || shndx == SHN_UNDEF || shndx == SHN_ABS ||
	    type == STT_SECTION || type == STT_FILE || type == STT_TLS)
		return false;
	memset(r, 0, sizeof(*r));
	r->lo = r->hi = addr;
	in_text = symbol_section(elf, shndx, &sh) &&
		  (sh.sh_flags & SHF_EXECINSTR);
	/* Assembly labels without .type are NOTYPE: functions if in code. */
	if (name[0] && (type == STT_FUNC || type == STT_GNU_IFUNC ||
			(type == STT_NOTYPE && in_text))) {
		r->name = name;
		r->hi = addr + sym.st_size;
		r->limit = in_text ? bias + sh.sh_addr + sh.sh_size : 0;
		r->rank = symbol_rank(name, sym.st_info);
	}
	return true;
}

/* True if a function with a size starts where syms[i] does. */
static bool sized_at(const struct sym_module *sm, size_t i)
{
	Dwarf_Addr lo = sm->syms[i].lo;

	for (size_t k = i; k-- > 0 && sm->syms[k].lo == lo;)
		if (sm->syms[k].name && sm->syms[k].hi > lo)
			return true;
	for (size_t k = i + 1; k < sm->nsyms && sm->syms[k].lo == lo; k++)
		if (sm->syms[k].name && sm->syms[k].hi > lo)
			return true;
	return false;
}

/* Gives each sizeless function the span up to the next symbol or its
 * section's end (none if a sized function starts at the same address),
 * and fills max_hi. */
static void close_sizeless(struct sym_module *sm)
{
	Dwarf_Addr max_hi = 0;

	for (size_t i = 0, j = 0; i < sm->nsyms; i++) {
		struct sym_range *r = &sm->syms[i];

		while (j < sm->nsyms && sm->syms[j].lo <= r->lo)
			j++;
		if (r->name && r->hi == r->lo && !sized_at(sm, i)) {
			r->hi = j < sm->nsyms ? sm->syms[j].lo : r->lo + 1;
			if (r->limit > r->lo && r->hi > r->limit)
				r->hi = r->limit;
		}
		if (r->hi > max_hi)
			max_hi = r->hi;
		r->max_hi = max_hi;
	}
}

/* Builds the sorted index of an owner module's symbols. */
static void index_symbols(struct sym_module *sm)
{
	int n = dwfl_module_getsymtab(sm->mod);
	size_t cap = 0;

	for (int i = 1; i < n; i++) {
		struct sym_range r;

		if (read_symbol(sm->mod, i, &r) && !add_symbol(sm, r, &cap))
			break;
	}
	if (!sm->nsyms)
		return;
	qsort(sm->syms, sm->nsyms, sizeof(*sm->syms), sym_range_cmp);
	close_sizeless(sm);
}

/* The innermost function symbol holding pc, or NULL. */
static const char *symbol_at(const struct sym_module *sm, Dwarf_Addr pc)
{
	size_t l = 0, u = sm->nsyms;

	while (l < u) {
		size_t mid = l + (u - l) / 2;

		if (sm->syms[mid].lo <= pc)
			l = mid + 1;
		else
			u = mid;
	}
	for (size_t j = l; j-- > 0 && sm->syms[j].max_hi > pc;)
		if (sm->syms[j].name && pc < sm->syms[j].hi)
			return sm->syms[j].name;
	return NULL;
}

/* ---- names ---- */

/* Makes the symboliser own a malloc'ed block until cgs_sym_free; on failure
 * frees it and returns NULL. */
static void *keep(struct cgs_symbolizer *s, void *p)
{
	if (!p)
		return NULL;
	if (s->nowned == s->capowned) {
		size_t cap = s->capowned ? 2 * s->capowned : 64;
		void **v = realloc(s->owned, cap * sizeof(*v));

		if (!v) {
			free(p);
			return NULL;
		}
		s->owned = v;
		s->capowned = cap;
	}
	s->owned[s->nowned++] = p;
	return p;
}

static const char *keep_string(struct cgs_symbolizer *s, char *str)
{
	return keep(s, str);
}

static const char *demangle(struct cgs_symbolizer *s, const char *name)
{
	const char *kept;
	char *d;
	int status = -1;

	if (!name || !s->demangle || strncmp(name, "_Z", 2) != 0)
		return name;
	d = s->demangle(name, NULL, NULL, &status);
	if (!d || status != 0) {
		free(d);
		return name;
	}
	kept = keep_string(s, d);
	return kept ? kept : name;
}

static const char *die_name(Dwarf_Die *die)
{
	static const int attrs[] = {
		DW_AT_linkage_name, DW_AT_MIPS_linkage_name, DW_AT_name,
	};
	Dwarf_Attribute mem;

	for (size_t i = 0; i < CGS_ARRAY_LEN(attrs); i++) {
		const char *name;

		if (!dwarf_attr_integrate(die, attrs[i], &mem))
			continue;
		name = dwarf_formstring(&mem);
		if (name && name[0])
			return name;
	}
	return NULL;
}

/* A source path relative to its compilation directory is made absolute
 * when that file exists here (code built on this machine: go tool pprof
 * -list and editors find it); otherwise it stays as recorded (a
 * distribution's build directory means nothing on this machine). */
static const char *absolute_source(struct cgs_symbolizer *s, Dwarf_Die *cu, const char *file)
{
	Dwarf_Attribute mem;
	const char *dir;
	char *joined;

	if (!file || file[0] == '/' || !cu)
		return file;
	dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &mem));
	if (!dir || dir[0] != '/')
		return file;
	while (file[0] == '.' && file[1] == '/')
		file += 2;
	if (asprintf(&joined, "%s/%s", dir, file) < 0)
		return file;
	if (access(joined, F_OK) != 0) {
		free(joined);
		return file;
	}
	const char *kept = keep_string(s, joined);
	return kept ? kept : file;
}

/* ---- scopes ---- */

/* DIEs that have code addresses and may hold other such DIEs. */
static bool is_pc_scope(int tag)
{
	switch (tag) {
	case DW_TAG_subprogram:
	case DW_TAG_inlined_subroutine:
	case DW_TAG_lexical_block:
	case DW_TAG_try_block:
	case DW_TAG_catch_block:
	case DW_TAG_with_stmt:
	case DW_TAG_entry_point:
		return true;
	default:
		return false;
	}
}

/* DIEs without code addresses that may hold functions (C++ namespaces and
 * classes, Fortran modules). */
static bool is_container(int tag)
{
	switch (tag) {
	case DW_TAG_namespace:
	case DW_TAG_module:
	case DW_TAG_class_type:
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
	case DW_TAG_interface_type:
		return true;
	default:
		return false;
	}
}

static int fn_range_cmp(const void *a, const void *b)
{
	const struct fn_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static bool add_fn_ranges(struct unit_fns *u, Dwarf_Die *die, size_t *cap)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;

	while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0) {
		if (lo == 0 || hi <= lo)
			continue;
		if (u->n == *cap) {
			size_t ncap = *cap ? 2 * *cap : 64;
			struct fn_range *p = realloc(u->v, ncap * sizeof(*p));

			if (!p)
				return false;
			u->v = p;
			*cap = ncap;
		}
		u->v[u->n++] = (struct fn_range){ .lo = lo, .hi = hi, .die = *die };
	}
	return true;
}

/* Adds the ranges of the functions below parent, looking into containers
 * but not into functions: the code of a nested function (a GCC extension)
 * is named by its symbol, without an inline chain. */
static bool add_fns_below(struct unit_fns *u, Dwarf_Die *parent, int depth,
			  size_t *cap, size_t *budget)
{
	Dwarf_Die child;

	if (depth >= SCOPE_DEPTH_MAX || dwarf_child(parent, &child) != 0)
		return true;
	do {
		int tag;

		if (*budget == 0)
			return false;
		--*budget;
		tag = dwarf_tag(&child);
		if (tag == DW_TAG_subprogram) {
			if (!add_fn_ranges(u, &child, cap))
				return false;
		} else if (is_container(tag) &&
			   !add_fns_below(u, &child, depth + 1, cap, budget)) {
			return false;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return true;
}

/* The function index of cr's unit, built on first use. */
static struct unit_fns *unit_fns(struct sym_module *sm, struct cu_range *cr)
{
	struct unit_fns *u;
	size_t cap = 0, budget = WALK_BUDGET;
	Dwarf_Addr max_hi = 0;

	if (cr->unit >= sm->nunits)
		return NULL;
	u = &sm->units[cr->unit];
	if (u->built)
		return u;
	u->built = true;
	/* Out of memory or budget: keep what was found. */
	add_fns_below(u, &cr->cu, 0, &cap, &budget);
	if (!u->n)
		return u;
	qsort(u->v, u->n, sizeof(*u->v), fn_range_cmp);
	for (size_t i = 0; i < u->n; i++) {
		if (u->v[i].hi > max_hi)
			max_hi = u->v[i].hi;
		u->v[i].max_hi = max_hi;
	}
	return u;
}

/* The function of the unit whose ranges hold a (the latest starting one
 * if several do), or NULL. */
static Dwarf_Die *fn_at(const struct unit_fns *u, Dwarf_Addr a)
{
	size_t l = 0, h = u->n;

	while (l < h) {
		size_t mid = l + (h - l) / 2;

		if (u->v[mid].lo <= a)
			l = mid + 1;
		else
			h = mid;
	}
	for (size_t j = l; j-- > 0 && u->v[j].max_hi > a;)
		if (a < u->v[j].hi)
			return &u->v[j].die;
	return NULL;
}

/* The scopes holding one address, outermost first. */
struct walk {
	Dwarf_Addr a;
	size_t budget;
	int n;
	Dwarf_Die path[SCOPE_DEPTH_MAX];
};

/* Appends to w->path the scopes below parent that hold w->a, outermost
 * first; true if there was one. The first scope that holds the address is
 * taken: only containers (which have no addresses) are backed out of. */
static bool walk_scopes(struct walk *w, Dwarf_Die *parent, int depth)
{
	Dwarf_Die child;

	if (depth >= SCOPE_DEPTH_MAX || w->n >= SCOPE_DEPTH_MAX ||
	    dwarf_child(parent, &child) != 0)
		return false;
	do {
		int tag;

		if (w->budget == 0)
			return false;
		w->budget--;
		tag = dwarf_tag(&child);
		if (is_pc_scope(tag)) {
			if (dwarf_haspc(&child, w->a) > 0) {
				w->path[w->n++] = child;
				walk_scopes(w, &child, depth + 1);
				return true;
			}
		} else if (is_container(tag) &&
			   walk_scopes(w, &child, depth + 1)) {
			return true;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

/* Fills w with the scopes of cr's unit that hold the DWARF address a. */
static void scopes_at(struct sym_module *sm, struct cu_range *cr,
		      Dwarf_Addr a, struct walk *w)
{
	struct unit_fns *u = unit_fns(sm, cr);
	Dwarf_Die *fn = u ? fn_at(u, a) : NULL;

	w->a = a;
	w->n = 0;
	w->budget = WALK_BUDGET;
	if (!fn)
		return;
	w->path[w->n++] = *fn;
	walk_scopes(w, fn, 1);
}

/* File and line of the call that an inlined subroutine stands for; NULL
 * and 0 when the DWARF does not say. */
static void call_site(struct cgs_symbolizer *s, Dwarf_Die *inl,
		      const char **file, int *line)
{
	Dwarf_Attribute mem;
	Dwarf_Word idx, ln;
	Dwarf_Files *files;
	size_t nfiles = 0;
	Dwarf_Die cu;

	*file = NULL;
	*line = 0;
	if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_file, &mem), &idx) != 0 ||
	    !dwarf_diecu(inl, &cu, NULL, NULL) ||
	    dwarf_getsrcfiles(&cu, &files, &nfiles) != 0 || idx >= nfiles)
		return;
	*file = absolute_source(s, &cu, dwarf_filesrc(files, idx, NULL, NULL));
	if (*file &&
	    dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &mem), &ln) == 0 &&
	    ln <= INT_MAX)
		*line = (int)ln;
}

static bool is_function_tag(int tag)
{
	return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine;
}

/* The name of a function scope: an inlined subroutine by its DWARF name;
 * the subprogram by its ELF symbol (when there is one: as for a frame with
 * no inlining), else its DWARF name. */
static const char *function_name(Dwarf_Die *die, const char *symbol)
{
	const char *name;

	if (dwarf_tag(die) == DW_TAG_subprogram && symbol)
		return symbol;
	name = die_name(die);
	return name ? name : symbol;
}

/* Records the enclosing frames of the inline chain of w in out. fn[] are
 * the indexes in w->path of its function scopes, innermost first. */
static void keep_chain(struct cgs_symbolizer *s, struct walk *w,
		       const int *fn, int nfn, const char *symbol,
		       struct sym_slot *out)
{
	struct sym_outer *outer;

	if (nfn < 2)
		return;
	outer = keep(s, calloc((size_t)nfn - 1, sizeof(*outer)));
	if (!outer)
		return;
	for (int k = 1; k < nfn; k++) {
		struct sym_outer *o = &outer[k - 1];

		o->function = demangle(s, function_name(&w->path[fn[k]], symbol));
		call_site(s, &w->path[fn[k - 1]], &o->file, &o->line);
	}
	out->outer = outer;
	out->nouter = (uint32_t)nfn - 1;
}

/* Function, file and line of pc in an owner module, and its inline chain. */
static void describe_go(struct cgs_symbolizer *s, struct sym_module *sm,
			uint64_t pc, uint64_t bias, struct sym_slot *out);

static void describe(struct cgs_symbolizer *s, struct sym_module *sm,
		     uint64_t pc, uint64_t bias, struct sym_slot *out)
{
	const char *symbol, *name;
	struct cu_range *cr;
	Dwarf_Die *cu = NULL;
	Dwarf_Line *line = NULL;
	int l = 0;

	if (!sm->indexed) {
		index_symbols(sm);
		index_cus(sm);
	}
	name = symbol = symbol_at(sm, pc);
	cr = sm->ncus ? cu_at(sm, pc - sm->dwbias) : NULL;
	if (cr) {
		struct walk w;
		int fn[CHAIN_MAX + 1], nfn = 0;

		cu = &cr->cu;
		scopes_at(sm, cr, pc - sm->dwbias, &w);
		/* The function scopes, innermost first, up to the first
		 * subprogram: the code's own function. */
		for (int i = w.n; i-- > 0 && nfn <= CHAIN_MAX;) {
			int tag = dwarf_tag(&w.path[i]);

			if (!is_function_tag(tag))
				continue;
			fn[nfn++] = i;
			if (tag == DW_TAG_subprogram)
				break;
		}
		if (nfn)
			name = function_name(&w.path[fn[0]], symbol);
		keep_chain(s, &w, fn, nfn, symbol, out);
		line = dwarf_getsrc_die(cu, pc - sm->dwbias);
	}
	out->function = demangle(s, name);
	out->file = line ? absolute_source(s, cu, dwarf_linesrc(line, NULL, NULL)) : NULL;
	out->line = out->file && dwarf_lineno(line, &l) == 0 ? l : 0;
	if (!out->file)
		describe_go(s, sm, pc, bias, out);
}

/* No line from DWARF (a stripped Go binary): the Go function at pc, from
 * the .gopclntab, with its inlined frames. C code keeps what it had. */
static void describe_go(struct cgs_symbolizer *s, struct sym_module *sm,
			uint64_t pc, uint64_t bias, struct sym_slot *out)
{
	struct cgs_gosym_frame fr[CHAIN_MAX + 1];
	struct sym_outer *outer;
	int k;

	if (!sm->go_tried) {
		sm->go_tried = true;
		char alt[64];
		sm->go = sm->path ? cgs_gosyms_open(readable(sm->path, alt)) : NULL;
	}
	k = sm->go ? cgs_gosyms_resolve(sm->go, pc - bias, fr, CHAIN_MAX + 1) : 0;
	if (k < 1)
		return;
	out->function = fr[0].function;
	out->file = fr[0].file;
	out->line = fr[0].line;
	out->outer = NULL;
	out->nouter = 0;
	if (k < 2 || !(outer = keep(s, calloc((size_t)k - 1, sizeof(*outer)))))
		return;
	for (int i = 1; i < k; i++) {
		outer[i - 1].function = fr[i].function;
		outer[i - 1].file = fr[i].file;
		outer[i - 1].line = fr[i].line;
	}
	out->outer = outer;
	out->nouter = (uint32_t)k - 1;
}

/* ---- cache ---- */

static size_t slot_hash(uint32_t owner1, uint64_t pc)
{
	uint64_t h = pc ^ ((uint64_t)owner1 * 0x9e3779b97f4a7c15ull);

	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 29;
	return (size_t)h;
}

static struct sym_slot *slot_probe(struct sym_slot *slots, size_t cap,
				   uint32_t owner1, uint64_t pc)
{
	size_t i = slot_hash(owner1, pc) & (cap - 1);

	while (slots[i].owner1 &&
	       (slots[i].owner1 != owner1 || slots[i].pc != pc))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static bool cache_grow(struct cgs_symbolizer *s)
{
	size_t cap = s->cap ? 2 * s->cap : CACHE_MIN;
	struct sym_slot *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return false;
	for (size_t i = 0; i < s->cap; i++) {
		struct sym_slot *o = &s->slots[i];

		if (o->owner1)
			*slot_probe(slots, cap, o->owner1, o->pc) = *o;
	}
	free(s->slots);
	s->slots = slots;
	s->cap = cap;
	return true;
}

/* ---- the cache shared across processes (cgs_sym_set_cache) ----
 *
 * One file per module build-id in the cache directory, <hex id>.syms, one
 * line per address resolved: offset (address - bias), line, function,
 * file, the count of enclosing inline frames, then function, file and line
 * of each, tab-separated. A process that finds its addresses there opens
 * no DWARF: for a short program, the whole of libc's compressed debug
 * information is not read again (50 to 120 ms of CPU). Files are created
 * 0600 without following links, read only when they are this user's and
 * not writable by others, and not appended to beyond DISK_MAX bytes; a
 * line that does not parse is ignored. A module without a build-id is
 * not cached (a rebuilt file would keep its name). */

static bool disk_field_ok(const char *v)
{
	return !v || (!strchr(v, '\t') && !strchr(v, '\n'));
}

static const char *disk_str(struct cgs_symbolizer *s, const char *v)
{
	return *v ? keep_string(s, strdup(v)) : NULL;
}

static int disk_path(struct cgs_symbolizer *s, uint32_t owner, char *buf, size_t n)
{
	const struct cgs_module *m = &s->table->mods[owner];
	char hex[2 * CGS_BUILD_ID_MAX + 1];

	if (!s->cache_dir || !m->build_id_len || m->build_id_len > CGS_BUILD_ID_MAX)
		return -1;
	for (int i = 0; i < m->build_id_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", m->build_id[i]);
	return snprintf(buf, n, "%s/%s.syms", s->cache_dir, hex) < (int)n ? 0 : -1;
}

static void slot_put(struct cgs_symbolizer *s, const struct sym_slot *v)
{
	if ((s->used + 1) * 4 > s->cap * 3 && !cache_grow(s))
		return;
	struct sym_slot *slot = slot_probe(s->slots, s->cap, v->owner1, v->pc);
	if (!slot->owner1)
		s->used++;
	*slot = *v;
}

/* One line of a cache file into the memory cache. */
static void disk_line(struct cgs_symbolizer *s, uint32_t owner, char *line)
{
	char *f[5 + 3 * CHAIN_MAX];
	int nf = 0;
	for (char *p = line; nf < (int)CGS_ARRAY_LEN(f);) {
		f[nf++] = p;
		p = strchr(p, '\t');
		if (!p)
			break;
		*p++ = 0;
	}
	if (nf < 5)
		return;
	char *end;
	unsigned long long off = strtoull(f[0], &end, 16);
	if (*end || end == f[0])
		return;
	long ln = strtol(f[1], &end, 10), nouter = strtol(f[4], NULL, 10);
	if (*end || ln < 0 || nouter < 0 || nouter > CHAIN_MAX || nf != 5 + 3 * nouter)
		return;
	struct sym_slot v = { 0 };
	v.owner1 = owner + 1;
	v.pc = off + s->table->mods[owner].bias;
	v.line = (int)ln;
	v.function = disk_str(s, f[2]);
	v.file = disk_str(s, f[3]);
	if (nouter) {
		struct sym_outer *o = keep(s, calloc((size_t)nouter, sizeof(*o)));
		if (!o)
			return;
		for (long k = 0; k < nouter; k++) {
			o[k].function = disk_str(s, f[5 + 3 * k]);
			o[k].file = disk_str(s, f[6 + 3 * k]);
			o[k].line = atoi(f[7 + 3 * k]);
		}
		v.outer = o;
		v.nouter = (uint32_t)nouter;
	}
	slot_put(s, &v);
}

/* Read the module's cache file into the memory cache, once; open it to
 * append what is resolved here. */
static void disk_read(struct cgs_symbolizer *s, uint32_t owner)
{
	struct sym_module *sm = &s->mods[owner];
	char path[PATH_MAX];
	struct stat st;

	sm->disk_read = true;
	sm->disk_fd = -1;
	if (disk_path(s, owner, path, sizeof(path)))
		return;
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
		close(fd);
		return;
	}
	sm->disk_fd = fd;
	sm->disk_size = (uint64_t)st.st_size;
	if (!st.st_size || st.st_size > DISK_MAX)
		return;
	char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return;
	ssize_t got = pread(fd, buf, (size_t)st.st_size, 0);
	if (got > 0) {
		buf[got] = 0;
		for (char *line = buf, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
			*nl = 0;
			disk_line(s, owner, line);
		}
	}
	free(buf);
}

/* Append a fresh result to the module's cache file. */
static void disk_write(struct cgs_symbolizer *s, uint32_t owner, const struct sym_slot *v)
{
	struct sym_module *sm = &s->mods[owner];
	if (sm->disk_fd < 0 || sm->disk_size >= DISK_MAX || v->nouter > CHAIN_MAX ||
	    !disk_field_ok(v->function) || !disk_field_ok(v->file))
		return;
	for (uint32_t k = 0; k < v->nouter; k++)
		if (!disk_field_ok(v->outer[k].function) || !disk_field_ok(v->outer[k].file))
			return;
	char *line = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&line, &len);
	if (!m)
		return;
	fprintf(m, "%llx\t%d\t%s\t%s\t%u", (unsigned long long)(v->pc - s->table->mods[owner].bias), v->line,
		v->function ? v->function : "", v->file ? v->file : "", v->nouter);
	for (uint32_t k = 0; k < v->nouter; k++)
		fprintf(m, "\t%s\t%s\t%d", v->outer[k].function ? v->outer[k].function : "",
			v->outer[k].file ? v->outer[k].file : "", v->outer[k].line);
	fputc('\n', m);
	if (fclose(m) == 0 && line) {
		/* One write with O_APPEND: lines of processes writing at once
		 * do not interleave. */
		if (write(sm->disk_fd, line, len) == (ssize_t)len)
			sm->disk_size += len;
	}
	free(line);
}

void cgs_sym_set_cache(struct cgs_symbolizer *s, const char *dir)
{
	if (!s || !dir || !*dir)
		return;
	/* The directory and its parent (~/.cache), this user's only. */
	char *copy = strdup(dir);
	if (!copy)
		return;
	char *slash = strrchr(copy, '/');
	if (slash && slash != copy) {
		*slash = 0;
		mkdir(copy, 0700);
		*slash = '/';
	}
	struct stat st;
	if ((mkdir(copy, 0700) && errno != EEXIST) || lstat(copy, &st) || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 022)) {
		free(copy);
		return;
	}
	free(s->cache_dir);
	s->cache_dir = copy;
}

/* The cached result for (owner, pc), computed on a miss. */
static struct sym_slot cache_get(struct cgs_symbolizer *s, uint32_t owner,
				 uint64_t pc)
{
	uint32_t owner1 = owner + 1;
	struct sym_slot *slot = NULL, fresh;

	if (s->cap)
		slot = slot_probe(s->slots, s->cap, owner1, pc);
	if (slot && slot->owner1)
		return *slot;
	if (s->cache_dir && !s->mods[owner].disk_read) {
		disk_read(s, owner);
		slot = s->cap ? slot_probe(s->slots, s->cap, owner1, pc) : NULL;
		if (slot && slot->owner1)
			return *slot;
	}
	memset(&fresh, 0, sizeof(fresh));
	describe(s, &s->mods[owner], pc, s->table->mods[owner].bias, &fresh);
	fresh.owner1 = owner1;
	fresh.pc = pc;
	if (s->mods[owner].disk_read)
		disk_write(s, owner, &fresh);
	if ((s->used + 1) * 4 > s->cap * 3 && !cache_grow(s))
		return fresh;
	*slot_probe(s->slots, s->cap, owner1, pc) = fresh;
	s->used++;
	return fresh;
}

/* ---- interface ---- */

struct cgs_symbolizer *cgs_sym_new(const struct cgs_module_table *mods)
{
	struct cgs_symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->table = mods;
	*(void **)&s->demangle = dlsym(RTLD_DEFAULT, "__cxa_demangle");
	return s;
}

/* Fills *out as cgs_sym_resolve does; returns the cached result it came
 * from (with the inline chain), or NULL when there is no usable module. */
static const struct sym_slot *resolve(struct cgs_symbolizer *s, uint64_t addr,
				      uint32_t epoch, bool is_return,
				      struct cgs_frame_info *out,
				      struct sym_slot *r)
{
	uint64_t pc = is_return && addr ? addr - 1 : addr;
	struct sym_module *sm;
	int i;

	memset(out, 0, sizeof(*out));
	out->addr = addr;
	if (!s || !s->table)
		return NULL;
	i = module_index(s->table, pc, epoch);
	if (i < 0)
		return NULL;
	sm = module_state(s, (uint32_t)i);
	out->module = sm->path;
	out->offset = addr - s->table->mods[i].bias;
	if (sm->state != MOD_READY)
		return NULL;
	*r = cache_get(s, sm->owner, pc);
	out->function = r->function;
	out->file = r->file;
	out->line = r->line;
	return r;
}

void cgs_sym_resolve(struct cgs_symbolizer *s, uint64_t addr, uint32_t epoch,
		     bool is_return, struct cgs_frame_info *out)
{
	struct sym_slot r;

	if (out)
		resolve(s, addr, epoch, is_return, out, &r);
}

int cgs_sym_resolve_inline(struct cgs_symbolizer *s, uint64_t addr,
			   uint32_t epoch, bool is_return,
			   struct cgs_frame_info *out, int max)
{
	const struct sym_slot *r;
	struct sym_slot mem;
	int n = 1;

	if (!out || max < 1)
		return 0;
	r = resolve(s, addr, epoch, is_return, out, &mem);
	for (uint32_t k = 0; r && r->outer && k < r->nouter && n < max; k++) {
		out[n] = out[0];
		out[n].function = r->outer[k].function;
		out[n].file = r->outer[k].file;
		out[n].line = r->outer[k].line;
		n++;
	}
	return n;
}

/* The code of x86-64 sigreturn trampolines: glibc's __restore_rt
 * (mov $15,%rax; syscall) and Go's runtime.sigreturn (mov $15,%eax;
 * syscall). libunwind recognises signal frames by the same bytes. */
static const unsigned char tramp_glibc[] = { 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05 };
static const unsigned char tramp_go[] = { 0xb8, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05 };

bool cgs_sym_is_sigreturn(struct cgs_symbolizer *s, uint64_t addr, uint32_t epoch)
{
	struct sym_module *sm;
	GElf_Addr bias = 0;
	GElf_Phdr ph;
	size_t nph;
	Elf *elf;
	int i;

	if (!s || !s->table)
		return false;
	i = module_index(s->table, addr, epoch);
	if (i < 0)
		return false;
	sm = module_state(s, (uint32_t)i);
	if (sm->state != MOD_READY || !sm->mod)
		return false;
	/* The bytes from the module's own file (the process may be gone),
	 * found through its loadable segments: dwfl_module_getelf opens the
	 * module alone, where dwfl_module_address_section also loads its
	 * separate debug file and inflates its DWARF (libc's: 30 ms of a short
	 * process's 40, for a question the symbol cache had already made
	 * moot). */
	elf = dwfl_module_getelf(sm->mod, &bias);
	size_t fsize = 0;
	/* The file's image (libdwfl maps it): a plain read. Not
	 * elf_getdata_rawchunk, which in elfutils 0.188 keeps its chunks in a
	 * list searched from the start: with a frame per call it took 4.5% of
	 * a go-sqlite3 test run's CPU. */
	const unsigned char *img = elf ? (const unsigned char *)elf_rawfile(elf, &fsize) : NULL;
	if (!img || elf_getphdrnum(elf, &nph))
		return false;
	uint64_t va = addr - bias;
	for (size_t k = 0; k < nph; k++) {
		if (!gelf_getphdr(elf, (int)k, &ph) || ph.p_type != PT_LOAD || va < ph.p_vaddr ||
		    va - ph.p_vaddr >= ph.p_filesz)
			continue;
		uint64_t off = ph.p_offset + (va - ph.p_vaddr), left = ph.p_filesz - (va - ph.p_vaddr);
		for (int t = 0; t < 2; t++) {
			const unsigned char *want = t ? tramp_go : tramp_glibc;
			size_t n = t ? sizeof(tramp_go) : sizeof(tramp_glibc);
			if (left >= n && off <= fsize && fsize - off >= n && !memcmp(img + off, want, n))
				return true;
		}
		return false;
	}
	return false;
}

void cgs_sym_free(struct cgs_symbolizer *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < CGS_MODULES_MAX; i++) {
		struct sym_module *sm = &s->mods[i];

		if (sm->dwfl && sm->owner == i)
			dwfl_end(sm->dwfl);
		if (sm->disk_read && sm->disk_fd >= 0)
			close(sm->disk_fd);
		for (size_t u = 0; sm->units && u < sm->nunits; u++)
			free(sm->units[u].v);
		free(sm->units);
		free(sm->cus);
		free(sm->syms);
		if (sm->owner == i)
			cgs_gosyms_close(sm->go);
		free(sm->path);
	}
	for (size_t i = 0; i < s->nowned; i++)
		free(s->owned[i]);
	free(s->owned);
	free(s->slots);
	free(s->cache_dir);
	free(s);
}
