/* elfsym.h - reading a loaded object's dynamic section (elfsym.c). */
#ifndef CGOSHIM_ELFSYM_H
#define CGOSHIM_ELFSYM_H

#include <link.h>
#include <stdint.h>

/* The object's dynamic section, or NULL. */
const ElfW(Dyn) *cgs_elf_dynamic(const struct dl_phdr_info *info);

/* The default-version definition of function `name` in that object, or
 * NULL (its GNU hash table; no allocation). */
void *cgs_elf_lookup_in(const struct dl_phdr_info *info, const char *name);

/* An address from the dynamic section: glibc relocates most of these in
 * place, but not all; an unrelocated one is below the load bias. */
static inline uintptr_t cgs_elf_dyn_addr(const ElfW(Dyn) *d, uintptr_t bias)
{
	return d->d_un.d_ptr < bias ? d->d_un.d_ptr + bias : d->d_un.d_ptr;
}

#endif
