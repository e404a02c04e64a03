/* dl.c - interposers for dlopen, dlsym, dlvsym and dlclose.
 *
 * Two of glibc's answers depend on who calls (PITFALLS items 11, 12):
 *  - dlsym/dlvsym(RTLD_NEXT, ...) searches the objects after the caller's,
 *    and RTLD_DEFAULT searches the caller's scope (which holds the caller's
 *    own dependencies when it was loaded RTLD_LOCAL). The exported dlsym
 *    and dlvsym are small assembly stubs: for these two handles they count
 *    the call and jump (not call) to libc's function, so libc sees the
 *    program's return address and answers exactly as without the shim.
 *    Those calls are counted, not timed. Lookups in a handle go to the
 *    timed C path.
 *  - dlopen of a bare name searches the caller's DT_RPATH/DT_RUNPATH
 *    (with $ORIGIN). The interposer asks the dynamic loader for the
 *    caller's search path (dlinfo RTLD_DI_SERINFO on the caller's object)
 *    and, where it differs from the shim's own, opens the first match by
 *    full path.
 * Every dlopen and dlclose refreshes the module table (modules.h), so
 * stacks into unloaded libraries still name them. */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "leaks.h"
#include "modules.h"
#include "ring.h"
#include "shim.h"

uint64_t *cgs_dlsym_next_ptr; /* &cgs_R->counters.dlsym_next once started */
void *cgs_dlsym_timed(void *handle, const char *name);
void *cgs_dlvsym_timed(void *handle, const char *name, const char *version);
void cgs_dl_resolve_for_stub(void);

void cgs_dl_resolve_for_stub(void)
{
	cgs_real_resolve();
}

/* rdi = handle, rsi = name, rdx = version. RTLD_NEXT is (void *)-1. The
 * resolver call keeps the argument registers and a 16-byte aligned stack. */
__asm__(".text\n"
	".globl dlsym\n"
	".type dlsym, @function\n"
	"dlsym:\n"
	"	testq %rdi, %rdi\n"
	"	je 3f\n"
	"	cmpq $-1, %rdi\n"
	"	jne cgs_dlsym_timed\n"
	"3:\n"
	"	cmpq $0, cgs_real_dlsym_ptr(%rip)\n"
	"	jne 1f\n"
	"	pushq %rdi\n"
	"	pushq %rsi\n"
	"	subq $8, %rsp\n"
	"	call cgs_dl_resolve_for_stub\n"
	"	addq $8, %rsp\n"
	"	popq %rsi\n"
	"	popq %rdi\n"
	"1:	movq cgs_R(%rip), %rax\n"
	"	testq %rax, %rax\n"
	"	jz 2f\n"
	"	movq cgs_dlsym_next_ptr(%rip), %rax\n"
	"	testq %rax, %rax\n"
	"	jz 2f\n"
	"	lock incq (%rax)\n"
	"2:	jmp *cgs_real_dlsym_ptr(%rip)\n"
	".size dlsym, .-dlsym\n"
	".globl dlvsym\n"
	".type dlvsym, @function\n"
	"dlvsym:\n"
	"	testq %rdi, %rdi\n"
	"	je 3f\n"
	"	cmpq $-1, %rdi\n"
	"	jne cgs_dlvsym_timed\n"
	"3:\n"
	"	cmpq $0, cgs_real_dlvsym_ptr(%rip)\n"
	"	jne 1f\n"
	"	pushq %rdi\n"
	"	pushq %rsi\n"
	"	pushq %rdx\n"
	"	call cgs_dl_resolve_for_stub\n"
	"	popq %rdx\n"
	"	popq %rsi\n"
	"	popq %rdi\n"
	"1:	movq cgs_R(%rip), %rax\n"
	"	testq %rax, %rax\n"
	"	jz 2f\n"
	"	movq cgs_dlsym_next_ptr(%rip), %rax\n"
	"	testq %rax, %rax\n"
	"	jz 2f\n"
	"	lock incq (%rax)\n"
	"2:	jmp *cgs_real_dlvsym_ptr(%rip)\n"
	".size dlvsym, .-dlvsym\n");

/* Every timed dl call also goes to the flight recorder (ring.h): what was
 * opened or looked up (name, version), in which handle, and the result.
 * caller: the program's return address, the record's whole stack unless
 * the call was slow (then it gets a full one). */
static void done_dl(int fn, uint64_t t0, bool err, const char *name, const char *version,
		    const void *handle, int64_t result, const void *caller)
{
	uint64_t ticks = cgs_rdtsc() - t0;
	struct cgs_tstate *t = cgs_self();
	if (t)
		cgs_record(t, fn, ticks, err);
	cgs_event_dl(t, fn, t0, ticks, name, version, handle, result, err, (uint64_t)(uintptr_t)caller);
}

void *cgs_dlsym_timed(void *handle, const char *name)
{
	if (!cgs_real_ready())
		cgs_real_resolve();
	if (!cgs_on() && !cgs_boot())
		return cgs_real.dlsym(handle, name);
	uint64_t t0 = cgs_rdtsc();
	void *p = cgs_real.dlsym(handle, name);
	done_dl(CGS_FN_dlsym, t0, !p, name, NULL, handle, (int64_t)(uintptr_t)p, __builtin_return_address(0));
	return p;
}

void *cgs_dlvsym_timed(void *handle, const char *name, const char *version)
{
	if (!cgs_real_ready())
		cgs_real_resolve();
	if (!cgs_on() && !cgs_boot())
		return cgs_real.dlvsym(handle, name, version);
	uint64_t t0 = cgs_rdtsc();
	void *p = cgs_real.dlvsym(handle, name, version);
	done_dl(CGS_FN_dlvsym, t0, !p, name, version, handle, (int64_t)(uintptr_t)p, __builtin_return_address(0));
	return p;
}

static void refresh_modules(bool unloaded)
{
	struct cgs_region *r = cgs_R;
	if (!r || !r->modules)
		return;
	int saved = errno;
	cgs_t_guard++;
	/* dl_iterate_phdr holds the loader lock: a fork now must know (leaks.h). */
	cgs_dl_enter();
	if (unloaded && r->stacks)
		__atomic_add_fetch(&r->stacks->unload_gen, 1, __ATOMIC_RELAXED);
	cgs_modules_refresh(r->modules);
	cgs_dl_leave();
	cgs_t_guard--;
	errno = saved;
}

/* Is this a loadable 64-bit x86-64 ELF object? Uses raw system calls. */
static bool loadable(const char *path)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	Elf64_Ehdr eh;
	long n = syscall(SYS_read, fd, &eh, sizeof(eh));
	syscall(SYS_close, fd);
	return n == (long)sizeof(eh) && !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
	       eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_machine == EM_X86_64;
}

static bool same_search(const Dl_serinfo *a, const Dl_serinfo *b)
{
	if (a->dls_cnt != b->dls_cnt)
		return false;
	for (unsigned i = 0; i < a->dls_cnt; i++)
		if (strcmp(a->dls_serpath[i].dls_name, b->dls_serpath[i].dls_name))
			return false;
	return true;
}

static bool search_info(void *handle, Dl_serinfo *buf, size_t cap)
{
	Dl_serinfo size;
	if (dlinfo(handle, RTLD_DI_SERINFOSIZE, &size) || size.dls_size > cap)
		return false;
	buf->dls_size = size.dls_size;
	buf->dls_cnt = size.dls_cnt;
	return dlinfo(handle, RTLD_DI_SERINFO, buf) == 0;
}

/* The full path the caller's search order finds for a bare name, or NULL to
 * let dlopen search as usual (same answer for the caller and the shim). */
static const char *caller_path(const char *name, const void *caller, char *out, size_t cap)
{
	char ours[4096] CGS_ALIGNED(16), theirs[4096] CGS_ALIGNED(16);
	Dl_info info;
	struct link_map *lm = NULL, *self = NULL;
	if (!name || strchr(name, '/') || !caller)
		return NULL;
	if (!dladdr1(caller, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
		return NULL;
	if (!dladdr1((void *)caller_path, &info, (void **)&self, RTLD_DL_LINKMAP) || !self || self == lm)
		return NULL;
	Dl_serinfo *mine = (Dl_serinfo *)ours, *their = (Dl_serinfo *)theirs;
	if (!search_info(self, mine, sizeof(ours)) || !search_info(lm, their, sizeof(theirs)))
		return NULL;
	if (same_search(mine, their))
		return NULL;
	/* Already loaded under that name: dlopen matches it before searching. */
	void *h = cgs_real.dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
	if (h) {
		cgs_real.dlclose(h);
		return NULL;
	}
	/* The failed probe left an error string, allocated here under the
	 * guard (untracked): free it here too, or the program's next dl call
	 * frees it as a block the shim never saw. The real dlopen below sets
	 * the program's error state anew. */
	dlerror();
	size_t nlen = strlen(name);
	for (unsigned i = 0; i < their->dls_cnt; i++) {
		const char *dir = their->dls_serpath[i].dls_name;
		size_t dlen = strlen(dir);
		if (dlen + 1 + nlen + 1 > cap)
			continue;
		memcpy(out, dir, dlen);
		out[dlen] = '/';
		memcpy(out + dlen + 1, name, nlen + 1);
		if (loadable(out))
			return out;
	}
	return NULL;
}

CGS_EXPORT void *dlopen(const char *name, int mode)
{
	const void *caller = __builtin_return_address(0);
	if (!cgs_real_ready())
		cgs_real_resolve();
	char buf[4096];
	int saved = errno;
	cgs_t_guard++;
	cgs_dl_enter(); /* dladdr and dlinfo take loader locks */
	const char *path = caller_path(name, caller, buf, sizeof(buf));
	cgs_dl_leave();
	cgs_t_guard--;
	errno = saved;
	if (!cgs_on() && !cgs_boot())
		return cgs_real.dlopen(path ? path : name, mode);
	uint64_t t0 = cgs_rdtsc();
	cgs_dl_enter();
	void *h = cgs_real.dlopen(path ? path : name, mode);
	cgs_dl_leave();
	done_dl(CGS_FN_dlopen, t0, !h, name, NULL, NULL, (int64_t)(uintptr_t)h, caller); /* the program's name */
	if (h)
		refresh_modules(false);
	return h;
}

CGS_EXPORT int dlclose(void *h)
{
	if (!cgs_real_ready())
		cgs_real_resolve();
	if (!cgs_on() && !cgs_boot())
		return cgs_real.dlclose(h);
	uint64_t t0 = cgs_rdtsc();
	cgs_dl_enter();
	int r = cgs_real.dlclose(h);
	cgs_dl_leave();
	done_dl(CGS_FN_dlclose, t0, r != 0, NULL, NULL, h, r, __builtin_return_address(0));
	if (r == 0)
		refresh_modules(true);
	return r;
}
