/* elfsym.c - look a symbol up in a loaded object's dynamic symbol table.
 *
 * Used once at start-up, to find libc's own dlsym and dlvsym: the shim
 * exports those names itself, so it cannot simply call them. Walks the
 * object's GNU hash table; takes the default (non-hidden) version. */
#include <elf.h>
#include <link.h>
#include <string.h>

#include "elfsym.h"
#include "real.h"

struct query {
	const char *suffix;
	const char *name;
	void *result;
};

static uint32_t gnu_hash(const char *s)
{
	uint32_t h = 5381;
	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

const ElfW(Dyn) *cgs_elf_dynamic(const struct dl_phdr_info *info)
{
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
			return (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
	return NULL;
}

void *cgs_elf_lookup_in(const struct dl_phdr_info *info, const char *name)
{
	const ElfW(Dyn) *dyn = cgs_elf_dynamic(info);
	if (!dyn)
		return NULL;
	uintptr_t bias = info->dlpi_addr;
	const ElfW(Sym) *symtab = NULL;
	const char *strtab = NULL;
	const uint32_t *gh = NULL;
	const ElfW(Half) *versym = NULL;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		switch (dyn->d_tag) {
		case DT_SYMTAB: symtab = (const void *)cgs_elf_dyn_addr(dyn, bias); break;
		case DT_STRTAB: strtab = (const void *)cgs_elf_dyn_addr(dyn, bias); break;
		case DT_GNU_HASH: gh = (const void *)cgs_elf_dyn_addr(dyn, bias); break;
		case DT_VERSYM: versym = (const void *)cgs_elf_dyn_addr(dyn, bias); break;
		}
	}
	if (!symtab || !strtab || !gh)
		return NULL;
	uint32_t nbuckets = gh[0], symoffset = gh[1], bloom_size = gh[2];
	const ElfW(Addr) *bloom = (const void *)&gh[4];
	const uint32_t *buckets = (const void *)&bloom[bloom_size];
	const uint32_t *chain = &buckets[nbuckets];
	uint32_t h = gnu_hash(name);
	if (!nbuckets)
		return NULL;
	uint32_t i = buckets[h % nbuckets];
	if (i < symoffset)
		return NULL;
	for (;; i++) {
		uint32_t ch = chain[i - symoffset];
		const ElfW(Sym) *sym = &symtab[i];
		if ((ch | 1) == (h | 1) && sym->st_shndx != SHN_UNDEF && !strcmp(strtab + sym->st_name, name) &&
		    (!versym || !(versym[i] & 0x8000)) && ELF64_ST_TYPE(sym->st_info) == STT_FUNC)
			return (void *)(bias + sym->st_value);
		if (ch & 1)
			return NULL;
	}
}

static int visit(struct dl_phdr_info *info, size_t size, void *data)
{
	struct query *q = data;
	size_t n = strlen(info->dlpi_name), k = strlen(q->suffix);
	if (n < k || strcmp(info->dlpi_name + n - k, q->suffix))
		return 0;
	q->result = cgs_elf_lookup_in(info, q->name);
	return q->result != NULL;
}

void *cgs_elf_lookup(const char *suffix, const char *name)
{
	struct query q = { suffix, name, NULL };
	dl_iterate_phdr(visit, &q);
	return q.result;
}
