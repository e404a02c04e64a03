/* gosyms.c - see gosyms.h.
 *
 * Names, files and lines come from the pclntab (shim/core/gopclntab.c).
 * Inlined frames need the inline tree, a funcdata whose offset is relative
 * to the module's go:func.* data: that base is a field of the runtime's
 * moduledata, found in .noptrdata as the record that starts with the
 * pclntab's address (pcHeader) and the function name table's; its index
 * differs between the two table formats (Go 1.20 added the coverage
 * counters before it). A binary where that is not found still gets names
 * and lines, without the inlined frames. */
#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gopclntab.h"
#include "gosyms.h"

struct cgs_gosyms {
	const uint8_t *m;
	size_t size;
	struct cgs_pcln p;
	const uint8_t *gofunc;  /* in the mapping, or NULL */
	size_t gofunc_room;     /* bytes from gofunc to the end of its segment in the file */
};

#define INLINE_MAX 64

static bool in_file(size_t size, uint64_t off, uint64_t len)
{
	return off <= size && len <= size - off;
}

static uint64_t rd64(const uint8_t *b)
{
	uint64_t v;
	memcpy(&v, b, 8);
	return v;
}

static int32_t rd32s(const uint8_t *b)
{
	int32_t v;
	memcpy(&v, b, 4);
	return v;
}

/* File offset and bytes available of link-time address a, via PT_LOAD. */
static bool vaddr_to_off(const uint8_t *m, size_t size, uint64_t a, uint64_t *off, size_t *room)
{
	const Elf64_Ehdr *eh = (const void *)m;
	if (eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    !in_file(size, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr)))
		return false;
	const Elf64_Phdr *ph = (const void *)(m + eh->e_phoff);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || a < ph[i].p_vaddr || a - ph[i].p_vaddr >= ph[i].p_filesz)
			continue;
		uint64_t o = ph[i].p_offset + (a - ph[i].p_vaddr);
		if (!in_file(size, ph[i].p_offset, ph[i].p_filesz))
			return false;
		*off = o;
		*room = (size_t)(ph[i].p_offset + ph[i].p_filesz - o);
		return true;
	}
	return false;
}

static void find_gofunc(struct cgs_gosyms *g, const Elf64_Shdr *nd, uint64_t pcln_addr)
{
	/* moduledata words: 0 pcHeader, 1 funcnametab.ptr, 22 text,
	 * 38 (Go 1.18/1.19) or 40 (1.20+) gofunc. */
	size_t gofunc_word = g->p.version >= 120 ? 40 : 38;
	if (!nd || !in_file(g->size, nd->sh_offset, nd->sh_size))
		return;
	const uint8_t *d = g->m + nd->sh_offset;
	for (uint64_t at = 0; at + (gofunc_word + 1) * 8 <= nd->sh_size; at += 8) {
		if (rd64(d + at) != pcln_addr || rd64(d + at + 8) != pcln_addr + g->p.funcname ||
		    rd64(d + at + 22 * 8) != g->p.text)
			continue;
		uint64_t gofunc = rd64(d + at + gofunc_word * 8), off;
		size_t room;
		if (vaddr_to_off(g->m, g->size, gofunc, &off, &room)) {
			g->gofunc = g->m + off;
			g->gofunc_room = room;
		}
		return;
	}
}

struct cgs_gosyms *cgs_gosyms_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	void *m = MAP_FAILED;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_size >= (off_t)sizeof(Elf64_Ehdr))
		m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return NULL;
	size_t size = (size_t)st.st_size;
	const uint8_t *b = m;
	const Elf64_Ehdr *eh = m;
	const Elf64_Shdr *pcln = NULL, *nd = NULL;
	if (!memcmp(b, ELFMAG, SELFMAG) && b[EI_CLASS] == ELFCLASS64 && b[EI_DATA] == ELFDATA2LSB &&
	    eh->e_shentsize == sizeof(Elf64_Shdr) && eh->e_shstrndx < eh->e_shnum &&
	    in_file(size, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr))) {
		const Elf64_Shdr *sh = (const void *)(b + eh->e_shoff);
		const Elf64_Shdr *ss = &sh[eh->e_shstrndx];
		for (unsigned i = 0; in_file(size, ss->sh_offset, ss->sh_size) && i < eh->e_shnum; i++) {
			if (sh[i].sh_name >= ss->sh_size || sh[i].sh_type == SHT_NOBITS ||
			    !in_file(size, sh[i].sh_offset, sh[i].sh_size))
				continue;
			const char *name = (const char *)b + ss->sh_offset + sh[i].sh_name;
			size_t room = ss->sh_size - sh[i].sh_name;
			if (!strncmp(name, ".gopclntab", room))
				pcln = &sh[i];
			else if (!strncmp(name, ".noptrdata", room))
				nd = &sh[i];
		}
	}
	struct cgs_gosyms *g = pcln ? calloc(1, sizeof(*g)) : NULL;
	if (!g || !cgs_pcln_open(&g->p, b + pcln->sh_offset, pcln->sh_size)) {
		free(g);
		munmap(m, size);
		return NULL;
	}
	g->m = b;
	g->size = size;
	find_gofunc(g, nd, pcln->sh_addr);
	return g;
}

/* Entry ix of f's inline tree: its function's name and the offset (from
 * f's entry) of an instruction at its call site. */
static bool inl_entry(const struct cgs_gosyms *g, uint32_t tree, int32_t ix, int32_t *name_off, int32_t *parent_pc)
{
	size_t esize = g->p.version >= 120 ? 16 : 20;
	uint64_t at = (uint64_t)tree + (uint64_t)ix * esize;
	if (ix < 0 || ix > (1 << 20) || !in_file(g->gofunc_room, at, esize))
		return false;
	const uint8_t *e = g->gofunc + at;
	if (g->p.version >= 120) {
		*name_off = rd32s(e + 4);
		*parent_pc = rd32s(e + 8);
	} else {
		*name_off = rd32s(e + 12);
		*parent_pc = rd32s(e + 16);
	}
	return *parent_pc >= 0;
}

int cgs_gosyms_resolve(const struct cgs_gosyms *g, uint64_t pc, struct cgs_gosym_frame *out, int max)
{
	struct cgs_pcln_func f;
	if (!g || max < 1 || !cgs_pcln_find(&g->p, pc, &f))
		return 0;
	const char *fname = cgs_pcln_name(&g->p, f.name_off);
	if (!fname)
		return 0;
	uint32_t tree = 0, inl_tab = cgs_pcln_pcdata(&g->p, &f, CGS_PCDATA_INLTREE);
	bool inl = g->gofunc && inl_tab && cgs_pcln_funcdata(&g->p, &f, CGS_FUNCDATA_INLTREE, &tree);
	int n = 0;
	for (uint64_t at = pc; n < max;) {
		int32_t file = -1, line = 0, ix = -1, name_off, parent;
		struct cgs_gosym_frame *o = &out[n++];
		cgs_pcln_value(&g->p, f.pcfile, f.entry, at, &file);
		cgs_pcln_value(&g->p, f.pcln, f.entry, at, &line);
		o->file = cgs_pcln_file(&g->p, &f, file);
		o->line = o->file && line > 0 ? line : 0;
		o->function = fname;
		if (!inl || n > INLINE_MAX || !cgs_pcln_value(&g->p, inl_tab, f.entry, at, &ix) || ix < 0 ||
		    !inl_entry(g, tree, ix, &name_off, &parent) || (uint64_t)parent >= f.end - f.entry)
			break;
		const char *callee = cgs_pcln_name(&g->p, name_off);
		if (!callee)
			break;
		o->function = callee;
		at = f.entry + (uint64_t)parent;
	}
	return n;
}

void cgs_gosyms_close(struct cgs_gosyms *g)
{
	if (!g)
		return;
	munmap((void *)g->m, g->size);
	free(g);
}
