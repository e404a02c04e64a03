/* unwhook.c - libunwind without descriptors in the program.
 *
 * libunwind checks an address it is unsure of by writing one byte from it
 * to a pipe with a raw syscall(SYS_write) (EFAULT: not readable), after a
 * read from the pipe's other end; it opens the pipe with pipe2 on first use
 * and reopens it (close, pipe2) when that read fails. A real pipe is two
 * descriptors in the program: they show in /proc/self/fd, and programs that
 * check which descriptors they hold (Python's subprocess tests do) see them.
 *
 * So at start-up the shim points libunwind's own PLT slots for pipe2, read,
 * close and syscall at the functions below, which touch nothing but
 * libunwind: pipe2 hands out two numbers no descriptor can have (above any
 * RLIMIT_NOFILE); a read of the first finds nothing (EAGAIN); a write to the
 * second copies the bytes with process_vm_readv from this very process,
 * which fails with EFAULT exactly where the write would; a close of either
 * succeeds. Every other call goes to libc unchanged. Where process_vm_readv
 * is refused (seccomp), a real pipe at descriptors 1000 and up does the
 * check. If libunwind's slots cannot be found, its pipe2 still reaches the
 * shim's pipe2 (stacks.c), which moves the pipe to descriptors 1000 and up. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "elfsym.h"
#include "real.h"

#define FD_RD 0x7ffffffe
#define FD_WR 0x7fffffff

static int fallback[2] = { -1, -1 }; /* the real pipe, when process_vm_readv is refused */
static int no_pvr;
static long (*libc_syscall)(long, ...);
static ssize_t (*libc_read)(int, void *, size_t);
static int (*libc_close)(int);

static int make_fallback(void)
{
	if (__atomic_load_n(&fallback[1], __ATOMIC_ACQUIRE) >= 0)
		return 0;
	int p[2];
	if (cgs_pipe_high(p, O_CLOEXEC | O_NONBLOCK))
		return -1;
	int none = -1;
	if (!__atomic_compare_exchange_n(&fallback[0], &none, p[0], false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		syscall(SYS_close, p[0]); /* another thread made one */
		syscall(SYS_close, p[1]);
		return 0;
	}
	__atomic_store_n(&fallback[1], p[1], __ATOMIC_RELEASE);
	return 0;
}

/* write(2) of n bytes at addr, for its verdict only: n, or -1 with errno
 * EFAULT when they cannot be read. */
static long validate(const void *addr, size_t n)
{
	char buf[64];
	if (n > sizeof(buf))
		n = sizeof(buf);
	int saved = errno;
	if (!__atomic_load_n(&no_pvr, __ATOMIC_RELAXED)) {
		struct iovec local = { buf, n }, remote = { (void *)(uintptr_t)addr, n };
		long r = syscall(SYS_process_vm_readv, (long)syscall(SYS_getpid), &local, 1UL, &remote, 1UL, 0UL);
		if (r >= 0) {
			errno = saved;
			return r;
		}
		if (errno == EFAULT)
			return -1;
		__atomic_store_n(&no_pvr, 1, __ATOMIC_RELAXED);
	}
	if (make_fallback()) {
		errno = EFAULT; /* no way to check: call it unreadable */
		return -1;
	}
	long r = syscall(SYS_write, __atomic_load_n(&fallback[1], __ATOMIC_ACQUIRE), addr, n);
	if (r > 0)
		syscall(SYS_read, __atomic_load_n(&fallback[0], __ATOMIC_ACQUIRE), buf, (size_t)r);
	return r;
}

static int hook_pipe2(int fds[2], int flags)
{
	(void)flags;
	fds[0] = FD_RD;
	fds[1] = FD_WR;
	return 0;
}

static ssize_t hook_read(int fd, void *buf, size_t n)
{
	if (fd == FD_RD) {
		errno = EAGAIN;
		return -1;
	}
	return libc_read(fd, buf, n);
}

static int hook_close(int fd)
{
	if (fd == FD_RD || fd == FD_WR)
		return 0;
	return libc_close(fd);
}

static long hook_syscall(long nr, ...)
{
	va_list ap;
	va_start(ap, nr);
	long a[6];
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == SYS_write && a[0] == FD_WR)
		return validate((const void *)a[1], (size_t)a[2]);
	return libc_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* Point one PLT slot of the object at fn. */
static bool patch(const struct dl_phdr_info *info, void **slot, void *fn)
{
	uintptr_t s = (uintptr_t)slot, lo = 0, hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_GNU_RELRO) {
			lo = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
			hi = lo + info->dlpi_phdr[i].p_memsz;
		}
	bool ro = s >= lo && s < hi;
	uintptr_t page = s & ~(uintptr_t)4095;
	if (ro && mprotect((void *)page, 4096, PROT_READ | PROT_WRITE))
		return false;
	__atomic_store_n(slot, fn, __ATOMIC_RELEASE);
	if (ro)
		mprotect((void *)page, 4096, PROT_READ);
	return true;
}

static int hook_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	int *hooked = arg;
	const char *name = info->dlpi_name, *base = name ? strrchr(name, '/') : NULL;
	if (!base || strncmp(base, "/libunwind.so", 13))
		return 0;
	const ElfW(Dyn) *dyn = cgs_elf_dynamic(info);
	if (!dyn)
		return 0;
	uintptr_t bias = info->dlpi_addr;
	const ElfW(Sym) *symtab = NULL;
	const char *strtab = NULL;
	const ElfW(Rela) *jmprel = NULL;
	size_t relsz = 0;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		switch (dyn->d_tag) {
		case DT_SYMTAB: symtab = (const void *)cgs_elf_dyn_addr(dyn, bias); break;
		case DT_STRTAB: strtab = (const void *)cgs_elf_dyn_addr(dyn, bias); break;
		case DT_JMPREL: jmprel = (const void *)cgs_elf_dyn_addr(dyn, bias); break;
		case DT_PLTRELSZ: relsz = dyn->d_un.d_val; break;
		}
	}
	if (!symtab || !strtab || !jmprel)
		return 0;
	static const struct {
		const char *name;
		void *fn;
	} hooks[] = { { "pipe2", (void *)hook_pipe2 }, /* first: patched last */
		      { "read", (void *)hook_read },
		      { "close", (void *)hook_close },
		      { "syscall", (void *)hook_syscall } };
	enum { NHOOKS = sizeof(hooks) / sizeof(hooks[0]) };
	void **slots[NHOOKS] = { 0 };
	for (size_t i = 0; i < relsz / sizeof(*jmprel); i++) {
		if (ELF64_R_TYPE(jmprel[i].r_info) != R_X86_64_JUMP_SLOT)
			continue;
		const char *sym = strtab + symtab[ELF64_R_SYM(jmprel[i].r_info)].st_name;
		for (size_t h = 0; h < NHOOKS; h++)
			if (!strcmp(sym, hooks[h].name))
				slots[h] = (void **)(bias + jmprel[i].r_offset);
	}
	/* All or none: a pipe2 that hands out the fake numbers needs the
	 * syscall, read and close that answer them. pipe2 goes last. */
	for (size_t h = 0; h < NHOOKS; h++)
		if (!slots[h])
			return 1;
	for (size_t h = NHOOKS; h-- > 0;)
		if (patch(info, slots[h], hooks[h].fn))
			*hooked |= 1 << h;
	return 1;
}

int cgs_unw_hook(void)
{
	libc_syscall = (long (*)(long, ...))cgs_real.dlsym(RTLD_NEXT, "syscall");
	libc_read = cgs_real.read;
	libc_close = cgs_real.close;
	if (!libc_syscall || !libc_read || !libc_close)
		return -1;
	int hooked = 0;
	dl_iterate_phdr(hook_object, &hooked);
	return hooked;
}
