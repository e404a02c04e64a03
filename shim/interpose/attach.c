/* attach.c - the in-process half of `cgoshim attach` (shim/cli/attach.c):
 * its entry points, and the GOT redirection.
 *
 * The command loads the library into a running process with an injected
 * dlopen(RTLD_LOCAL). Loaded that way the library is not in the global
 * scope: the program's calls do not reach its interposers, and its
 * constructor leaves it passive (init.c: the same for a dlopen by
 * accident). The command then calls:
 *
 *  - cgoshim_attach_init(env): start as at a preloaded start-up, with the
 *    command's settings (env, NULL-terminated "CGOSHIM_X=v" strings), then
 *    point the GOT entries (R_X86_64_JUMP_SLOT and GLOB_DAT) of every loaded
 *    object that name an interposed function at this library's definition,
 *    remembering each old value. The dlopen interposer does the same for
 *    the objects each dlopen brings (cgs_attach_after_dlopen).
 *  - cgoshim_attach_detach(): every entry still pointing here gets its old
 *    value back (an object loaded while attached: what the global scope
 *    gives), the dump signal goes back to the program, and the watcher is
 *    asked for the final report (region.h, detach_req), after which it
 *    exits. The region stays mapped and the shim "on": a thread still inside
 *    an interposer finishes there; nothing new reaches one.
 *
 * Left out: this library itself, the vDSO and the dynamic loader. Entries
 * in RELRO (read-only after start-up) are made writable for the store and
 * read-only again. Stores are single aligned 8-byte writes: a thread calling
 * through an entry sees the old or the new function, never half of one.
 *
 * Runs in the injected call (the command has every thread stopped) or in a
 * dlopen interposer; no allocation, raw system calls. */
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <dlfcn.h>
#include <linux/futex.h>

#include "elfsym.h"
#include "shim.h"

#define SLOTS_MAX 16384

struct slot {
	uint64_t *at;
	uint64_t old;
};

static struct slot slots[SLOTS_MAX];
static uint32_t nslots;
static uint32_t slots_dropped;
static int patch_lock;
static volatile int attached; /* 1 from init to detach */


static void lock(void)
{
	while (__atomic_exchange_n(&patch_lock, 1, __ATOMIC_ACQUIRE))
		cgs_cpu_relax();
}

static void unlock(void)
{
	__atomic_store_n(&patch_lock, 0, __ATOMIC_RELEASE);
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), k = strlen(tail);
	return n >= k && !strcmp(s + n - k, tail);
}

/* One object's view for the walk. */
struct obj {
	uintptr_t bias;
	const ElfW(Sym) *symtab;
	const char *strtab;
	const ElfW(Rela) *rel[2];
	size_t relsz[2];
	uintptr_t relro_lo, relro_hi; /* page-rounded as glibc protects it */
	const struct dl_phdr_info *info;
};

/* The protection the loader gave the page at p (the segment's flags,
 * read-only inside RELRO). */
static int page_prot(const struct obj *o, uintptr_t p)
{
	if (p >= o->relro_lo && p < o->relro_hi)
		return PROT_READ;
	for (int i = 0; i < o->info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &o->info->dlpi_phdr[i];
		uintptr_t lo = o->bias + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && p >= lo && p < lo + ph->p_memsz)
			return ((ph->p_flags & PF_R) ? PROT_READ : 0) | ((ph->p_flags & PF_W) ? PROT_WRITE : 0) |
			       ((ph->p_flags & PF_X) ? PROT_EXEC : 0);
	}
	return -1;
}

static bool store(const struct obj *o, uint64_t *at, uint64_t v)
{
	uintptr_t page = (uintptr_t)at & ~(uintptr_t)4095;
	int prot = page_prot(o, (uintptr_t)at);
	if (prot < 0)
		return false;
	if (!(prot & PROT_WRITE) && syscall(SYS_mprotect, page, 4096, prot | PROT_READ | PROT_WRITE))
		return false;
	__atomic_store_n(at, v, __ATOMIC_RELEASE);
	if (!(prot & PROT_WRITE))
		syscall(SYS_mprotect, page, 4096, prot);
	return true;
}

static bool read_obj(const struct dl_phdr_info *info, struct obj *o)
{
	memset(o, 0, sizeof(*o));
	o->info = info;
	o->bias = info->dlpi_addr;
	const ElfW(Dyn) *dyn = cgs_elf_dynamic(info);
	if (!dyn)
		return false;
	long pltrel = DT_RELA;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		switch (dyn->d_tag) {
		case DT_SYMTAB: o->symtab = (const void *)cgs_elf_dyn_addr(dyn, o->bias); break;
		case DT_STRTAB: o->strtab = (const void *)cgs_elf_dyn_addr(dyn, o->bias); break;
		case DT_RELA: o->rel[0] = (const void *)cgs_elf_dyn_addr(dyn, o->bias); break;
		case DT_RELASZ: o->relsz[0] = dyn->d_un.d_val; break;
		case DT_JMPREL: o->rel[1] = (const void *)cgs_elf_dyn_addr(dyn, o->bias); break;
		case DT_PLTRELSZ: o->relsz[1] = dyn->d_un.d_val; break;
		case DT_PLTREL: pltrel = (long)dyn->d_un.d_val; break;
		}
	}
	if (pltrel != DT_RELA)
		o->rel[1] = NULL;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_GNU_RELRO) {
			o->relro_lo = (o->bias + ph->p_vaddr) & ~(uintptr_t)4095;
			o->relro_hi = (o->bias + ph->p_vaddr + ph->p_memsz) & ~(uintptr_t)4095;
		}
	}
	return o->symtab && o->strtab;
}

/* Calls fn(o, at, ours, name, arg) for every GOT entry of the object that
 * names a function this library defines (not its cgoshim_ API). */
typedef void (*slot_fn)(const struct obj *o, uint64_t *at, uint64_t ours, const char *name, void *arg);

static void walk(const struct obj *o, const struct dl_phdr_info *self, slot_fn fn, void *arg)
{
	for (int t = 0; t < 2; t++) {
		if (!o->rel[t])
			continue;
		size_t n = o->relsz[t] / sizeof(ElfW(Rela));
		for (size_t i = 0; i < n; i++) {
			const ElfW(Rela) *r = &o->rel[t][i];
			uint32_t type = ELF64_R_TYPE(r->r_info), si = ELF64_R_SYM(r->r_info);
			if ((type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) || !si)
				continue;
			const char *name = o->strtab + o->symtab[si].st_name;
			if (!name[0] || !strncmp(name, "cgoshim_", 8))
				continue;
			void *ours = cgs_elf_lookup_in(self, name);
			if (ours)
				fn(o, (uint64_t *)(o->bias + r->r_offset), (uint64_t)(uintptr_t)ours, name, arg);
		}
	}
}

static bool skipped(const struct dl_phdr_info *info, const struct dl_phdr_info *self)
{
	return info->dlpi_addr == self->dlpi_addr || ends_with(info->dlpi_name, "linux-vdso.so.1") ||
	       strstr(info->dlpi_name, "/ld-linux") != NULL;
}

static void patch_one(const struct obj *o, uint64_t *at, uint64_t ours, const char *name, void *arg)
{
	uint64_t cur = __atomic_load_n(at, __ATOMIC_ACQUIRE);
	if (cur == ours)
		return;
	if (nslots == SLOTS_MAX) {
		slots_dropped++; /* not redirected: the call goes on to where it went */
		return;
	}
	if (store(o, at, ours)) {
		slots[nslots++] = (struct slot){ at, cur };
		(*(uint32_t *)arg)++;
	}
}

struct pass {
	struct dl_phdr_info self;
	slot_fn fn;
	uint32_t count;
};

static int visit(struct dl_phdr_info *info, size_t size, void *data)
{
	struct pass *p = data;
	struct obj o;
	if (!skipped(info, &p->self) && read_obj(info, &o))
		walk(&o, &p->self, p->fn, &p->count);
	return 0;
}

static uint32_t patch_all(void)
{
	struct pass p = { .fn = patch_one };
	if (!cgs_self_object(&p.self))
		return 0;
	dl_iterate_phdr(visit, &p);
	return p.count;
}

void cgs_attach_after_dlopen(void)
{
	if (!__atomic_load_n(&attached, __ATOMIC_ACQUIRE))
		return;
	lock();
	if (attached)
		patch_all();
	unlock();
}

static void restore_one(const struct obj *o, uint64_t *at, uint64_t ours, const char *name, void *arg)
{
	if (__atomic_load_n(at, __ATOMIC_ACQUIRE) != ours)
		return; /* changed by someone else since: left alone */
	uint64_t old = 0;
	for (uint32_t i = nslots; i-- > 0;)
		if (slots[i].at == at) {
			old = slots[i].old;
			break;
		}
	if (!old)
		old = (uint64_t)(uintptr_t)cgs_real.dlsym(RTLD_DEFAULT, name);
	if (old && store(o, at, old))
		(*(uint32_t *)arg)++;
}

/* >= 0: the number of GOT entries redirected; < 0: -errno. */
CGS_EXPORT long cgoshim_attach_init(char **env)
{
	int rc = cgs_attach_boot(env);
	if (rc)
		return rc;
	lock();
	__atomic_store_n(&attached, 1, __ATOMIC_RELEASE);
	uint32_t n = patch_all();
	unlock();
	return n;
}

/* The region's address (for the command, which reads the watcher's pid
 * there), or 0. */
CGS_EXPORT void *cgoshim_attach_region(void)
{
	return cgs_R;
}

/* >= 0: the number of GOT entries put back; -EINVAL when not attached. */
CGS_EXPORT long cgoshim_attach_detach(void)
{
	lock();
	if (!attached) {
		unlock();
		return -EINVAL;
	}
	__atomic_store_n(&attached, 0, __ATOMIC_RELEASE);
	struct pass p = { .fn = restore_one };
	if (cgs_self_object(&p.self))
		dl_iterate_phdr(visit, &p);
	nslots = 0;
	unlock();
	cgs_signal_uninstall();
	struct cgs_region *r = cgs_R;
	if (r) {
		/* The program's exit no longer waits for a report. */
		r->opts.exit_wait_ns = 0;
		__atomic_store_n(&r->detach_req, 1, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&r->dump_req, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &r->dump_req, FUTEX_WAKE, 1, NULL, NULL, 0);
	}
	return p.count;
}
