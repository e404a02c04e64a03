/* gostack.c - see gostack.h. */
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "gostack.h"

/* Go 1.19 linux/amd64 layout (checked against the DWARF of a go1.19.8 binary). */
#define G_STACK_LO 0
#define G_STACK_HI 8
#define G_M 48
#define G_SCHED_BP 104
#define M_G0 0
#define M_CURG 192

static bool enabled;
static long tls_off;                 /* g's address relative to the thread pointer */
static uint64_t acc_lo[2], acc_hi[2]; /* runtime.asmcgocall.abi0 and runtime.asmcgocall */
static char status[96] = "no Go runtime symbols (not Go, or stripped)";

bool cgs_go_enabled(void)
{
	return enabled;
}

const char *cgs_go_status(void)
{
	return status;
}

struct tlsinfo {
	uint64_t data;
};

static int find_exe_tls(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct tlsinfo *t = arg;
	if (info->dlpi_tls_modid == 1) {
		t->data = (uint64_t)(uintptr_t)info->dlpi_tls_data;
		return 1;
	}
	return 0;
}

static uint64_t thread_pointer(void)
{
	uint64_t tp;
	__asm__("movq %%fs:0, %0" : "=r"(tp));
	return tp;
}

static void set_status(const char *a, const char *b)
{
	size_t n = 0;
	for (const char *p = a; *p && n < sizeof(status) - 1; p++)
		status[n++] = *p;
	for (const char *p = b; p && *p && n < sizeof(status) - 1; p++)
		status[n++] = *p;
	status[n] = 0;
}

/* Symbols of interest from the executable's .symtab. */
struct gosyms {
	uint64_t tlsg;        /* st_value (offset in the TLS segment) */
	bool have_tlsg;
	uint64_t ver_str;     /* address of runtime.buildVersion.str */
	uint64_t ver_len;
};

static bool in_file(size_t size, uint64_t off, uint64_t len)
{
	return off <= size && len <= size - off;
}

static void scan_symtab(const unsigned char *m, size_t size, struct gosyms *gs)
{
	const Elf64_Ehdr *eh = (const void *)m;
	if (!in_file(size, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr)) ||
	    eh->e_shentsize != sizeof(Elf64_Shdr))
		return;
	const Elf64_Shdr *sh = (const void *)(m + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
			continue;
		const Elf64_Shdr *strh = &sh[sh[i].sh_link];
		if (!in_file(size, sh[i].sh_offset, sh[i].sh_size) || !in_file(size, strh->sh_offset, strh->sh_size))
			return;
		const Elf64_Sym *sym = (const void *)(m + sh[i].sh_offset);
		const char *str = (const char *)(m + strh->sh_offset);
		size_t n = sh[i].sh_size / sizeof(Elf64_Sym);
		for (size_t k = 0; k < n; k++) {
			if (sym[k].st_name >= strh->sh_size)
				continue;
			const char *name = str + sym[k].st_name;
			size_t room = strh->sh_size - sym[k].st_name;
			if (strnlen(name, room) == room)
				continue;
			if (!strcmp(name, "runtime.tlsg")) {
				gs->tlsg = sym[k].st_value;
				gs->have_tlsg = true;
			} else if (!strcmp(name, "runtime.asmcgocall.abi0")) {
				acc_lo[0] = sym[k].st_value;
				acc_hi[0] = sym[k].st_value + sym[k].st_size;
			} else if (!strcmp(name, "runtime.asmcgocall")) {
				acc_lo[1] = sym[k].st_value;
				acc_hi[1] = sym[k].st_value + sym[k].st_size;
			} else if (!strcmp(name, "runtime.buildVersion.str")) {
				gs->ver_str = sym[k].st_value;
				gs->ver_len = sym[k].st_size;
			}
		}
		return;
	}
}

void cgs_go_init(void)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat st;
	void *m = MAP_FAILED;
	if (!fstat(fd, &st) && st.st_size >= (off_t)sizeof(Elf64_Ehdr))
		m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	syscall(SYS_close, fd);
	if (m == MAP_FAILED)
		return;
	struct gosyms gs = { 0 };
	if (!memcmp(m, ELFMAG, SELFMAG) && ((unsigned char *)m)[EI_CLASS] == ELFCLASS64)
		scan_symtab(m, (size_t)st.st_size, &gs);
	munmap(m, (size_t)st.st_size);
	if (!acc_lo[0] && !acc_lo[1])
		return; /* not Go, or stripped */
	/* The version string lives in the executable's (non-PIE) data: read it
	 * in memory, where it is mapped. Go binaries built with cgo are not PIE
	 * by default; a PIE one is refused rather than guessed. */
	char ver[32] = "unknown";
	if (gs.ver_str && gs.ver_len && gs.ver_len < sizeof(ver)) {
		memcpy(ver, (const void *)(uintptr_t)gs.ver_str, gs.ver_len);
		ver[gs.ver_len] = 0;
	}
	if (strncmp(ver, "go1.19", 6) || (ver[6] && ver[6] != '.')) {
		set_status(ver, ": Go layout unknown here; stacks stop at runtime.asmcgocall");
		acc_lo[0] = acc_lo[1] = 0;
		return;
	}
	struct tlsinfo t = { 0 };
	dl_iterate_phdr(find_exe_tls, &t);
	if (!gs.have_tlsg || !t.data) {
		set_status(ver, ": no runtime.tlsg; stacks stop at runtime.asmcgocall");
		return;
	}
	tls_off = (long)(t.data + gs.tlsg - thread_pointer());
	enabled = true;
	set_status(ver, ", Go frames followed past runtime.asmcgocall");
}

static inline bool in_asmcgocall(uint64_t pc)
{
	return (pc >= acc_lo[0] && pc < acc_hi[0]) || (pc >= acc_lo[1] && pc < acc_hi[1]);
}

static inline uint64_t load(uint64_t addr)
{
	return *(const volatile uint64_t *)(uintptr_t)addr;
}

int cgs_go_extend(uint64_t *f, int n, int max)
{
	if (!enabled || n < 1 || n >= max || !in_asmcgocall(f[n - 1]))
		return n;
	uint64_t g;
	__asm__("movq %%fs:(%1), %0" : "=r"(g) : "r"(tls_off));
	if (!g || (g & 7))
		return n;
	uint64_t m = load(g + G_M);
	if (!m || (m & 7) || load(m + M_G0) != g)
		return n; /* not on the g0 stack: not inside a cgo call */
	uint64_t curg = load(m + M_CURG);
	if (!curg || (curg & 7) || curg == g)
		return n;
	uint64_t lo = load(curg + G_STACK_LO), hi = load(curg + G_STACK_HI);
	uint64_t bp = load(curg + G_SCHED_BP);
	if (lo >= hi || hi - lo > (1ULL << 30))
		return n;
	while (n < max && bp >= lo && bp + 16 <= hi && !(bp & 7)) {
		uint64_t ret = load(bp + 8);
		if (!ret)
			break;
		f[n++] = ret;
		uint64_t next = load(bp);
		if (next <= bp)
			break;
		bp = next;
	}
	return n;
}
