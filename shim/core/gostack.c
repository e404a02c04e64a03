/* gostack.c - see gostack.h. */
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "gopclntab.h"
#include "gostack.h"

/* What the code of runtime.asmcgocall says (see gostack.h). */
static struct {
	uint64_t ret;       /* return address after the switch path's call */
	long tls_g;         /* g's offset from the thread pointer */
	uint32_t sched_sp, sched_bp, stack_hi;
	uint32_t frame, g_slot, depth_slot;
	bool pushes_bp;     /* asmcgocall makes a frame-pointer frame itself */
} L;
static bool enabled;

bool cgs_go_enabled(void)
{
	return enabled;
}

/* ---- start-up: find and read runtime.asmcgocall ---- */

static void say(char *out, size_t size, const char *a, const char *b, const char *c)
{
	size_t n = 0;
	const char *parts[3] = { a, b, c };
	for (int i = 0; i < 3; i++)
		for (const char *p = parts[i]; p && *p && n + 1 < size; p++)
			out[n++] = *p;
	if (size)
		out[n] = 0;
}

static bool in_file(size_t size, uint64_t off, uint64_t len)
{
	return off <= size && len <= size - off;
}

struct exe {
	const unsigned char *m;
	size_t size;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh; /* NULL if the section headers are unusable */
	const char *shstr;
	size_t shstr_size;
};

static const Elf64_Shdr *section(const struct exe *x, const char *name)
{
	if (!x->sh)
		return NULL;
	for (unsigned i = 0; i < x->eh->e_shnum; i++) {
		const Elf64_Shdr *s = &x->sh[i];
		if (s->sh_name < x->shstr_size && !strncmp(x->shstr + s->sh_name, name, x->shstr_size - s->sh_name) &&
		    s->sh_type != SHT_NOBITS && in_file(x->size, s->sh_offset, s->sh_size))
			return s;
	}
	return NULL;
}

/* runtime.asmcgocall's link-time address from .symtab, or 0. */
static uint64_t from_symtab(const struct exe *x)
{
	if (!x->sh)
		return 0;
	for (unsigned i = 0; i < x->eh->e_shnum; i++) {
		const Elf64_Shdr *s = &x->sh[i];
		if (s->sh_type != SHT_SYMTAB || s->sh_link >= x->eh->e_shnum)
			continue;
		const Elf64_Shdr *strh = &x->sh[s->sh_link];
		if (!in_file(x->size, s->sh_offset, s->sh_size) || !in_file(x->size, strh->sh_offset, strh->sh_size))
			return 0;
		const Elf64_Sym *sym = (const void *)(x->m + s->sh_offset);
		const char *str = (const char *)(x->m + strh->sh_offset);
		for (size_t k = 0; k < s->sh_size / sizeof(Elf64_Sym); k++) {
			if (sym[k].st_name >= strh->sh_size)
				continue;
			const char *name = str + sym[k].st_name;
			size_t room = strh->sh_size - sym[k].st_name;
			if (room > 23 && !memcmp(name, "runtime.asmcgocall.abi0", 24))
				return sym[k].st_value;
		}
		return 0;
	}
	return 0;
}

/* The same from .gopclntab (stripped binaries), or 0. */
static uint64_t from_pclntab(const struct exe *x)
{
	const Elf64_Shdr *s = section(x, ".gopclntab");
	struct cgs_pcln p;
	if (!s || !cgs_pcln_open(&p, x->m + s->sh_offset, s->sh_size))
		return 0;
	for (uint32_t i = 0; i < p.nfunc; i++) {
		struct cgs_pcln_func f;
		const char *name;
		if (cgs_pcln_func_at(&p, i, &f) && (name = cgs_pcln_name(&p, f.name_off)) &&
		    !strcmp(name, "runtime.asmcgocall"))
			return f.entry;
	}
	return 0;
}

/* "go1.23.5" from .go.buildinfo (Go 1.18 and later), else "go". */
static void version(const struct exe *x, char *out, size_t size)
{
	say(out, size, "go", NULL, NULL);
	const Elf64_Shdr *s = section(x, ".go.buildinfo");
	if (!s || s->sh_size < 33)
		return;
	const unsigned char *b = x->m + s->sh_offset;
	if (memcmp(b, "\xff Go buildinf:", 14) || !(b[15] & 2))
		return;
	size_t len = b[32]; /* a varint: versions are shorter than 128 bytes */
	if (len & 0x80 || !len || len >= size || 33 + len > s->sh_size)
		return;
	memcpy(out, b + 33, len);
	out[len] = 0;
}

/* Whether [addr, addr+len) lies in an executable PT_LOAD of the file. */
static bool in_text(const struct exe *x, uint64_t addr, uint64_t len)
{
	const Elf64_Ehdr *eh = x->eh;
	if (eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    !in_file(x->size, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr)))
		return false;
	const Elf64_Phdr *ph = (const void *)(x->m + eh->e_phoff);
	for (unsigned i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X) && addr >= ph[i].p_vaddr &&
		    addr - ph[i].p_vaddr <= ph[i].p_filesz && len <= ph[i].p_filesz - (addr - ph[i].p_vaddr))
			return true;
	return false;
}

/* A cursor over code in memory, with bounds. */
struct code {
	const uint8_t *p, *end;
};

static bool lit(struct code *c, const char *bytes, size_t n)
{
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, bytes, n))
		return false;
	c->p += n;
	return true;
}

static bool byte(struct code *c, uint8_t *v)
{
	if (c->p >= c->end)
		return false;
	*v = *c->p++;
	return true;
}

static bool s32(struct code *c, int32_t *v)
{
	if (c->end - c->p < 4)
		return false;
	memcpy(v, c->p, 4);
	c->p += 4;
	return true;
}

/* mov %rdi, D(%rsp): 48 89 7c 24 D, or 48 89 3c 24 for D = 0. */
static bool store_rdi_rsp(struct code *c, uint32_t *slot)
{
	uint8_t d;
	if (lit(c, "\x48\x89\x3c\x24", 4)) {
		*slot = 0;
		return true;
	}
	if (!lit(c, "\x48\x89\x7c\x24", 4) || !byte(c, &d) || d & 0x80)
		return false;
	*slot = d;
	return true;
}

/* gosave_systemstack_switch: lea 8(%rsp),%r9; mov %r9, S(%r14) must agree
 * with the S asmcgocall loads; mov %rbp, B(%r14) gives B. */
static bool read_gosave(const uint8_t *at, const uint8_t *end)
{
	bool sp_ok = false, bp_ok = false;
	for (const uint8_t *p = at; p + 9 <= end && p < at + 64; p++) {
		if (!memcmp(p, "\x4c\x8d\x4c\x24\x08\x4d\x89\x4e", 8))
			sp_ok = p[8] == L.sched_sp;
		if (!memcmp(p, "\x49\x89\x6e", 3) && !(p[3] & 0x80)) {
			L.sched_bp = p[3];
			bp_ok = true;
		}
		if (*p == 0xc3 && sp_ok && bp_ok)
			return true;
	}
	return false;
}

/* Reads runtime.asmcgocall at entry (in memory; [start, end) is the text).
 * Returns NULL when it matches, else what did not. */
static const char *read_asmcgocall(const uint8_t *start, const uint8_t *entry, const uint8_t *end)
{
	struct code c = { entry, end };
	uint8_t b;
	int32_t v, tls2;
	L.pushes_bp = lit(&c, "\x55\x48\x89\xe5", 4);
	/* mov fn+0(FP), AX; mov arg+8(FP), BX; mov SP, DX */
	if (!lit(&c, "\x48\x8b\x44\x24", 4) || !byte(&c, &b) || !lit(&c, "\x48\x8b\x5c\x24", 4) || !byte(&c, &b) ||
	    !lit(&c, "\x48\x89\xe2", 3))
		return "prologue";
	/* get_tls(CX); MOVQ g(CX), DI: mov %fs:T, %rdi */
	if (!lit(&c, "\x64\x48\x8b\x3c\x25", 5) || !s32(&c, &v))
		return "g's TLS load";
	L.tls_g = v;
	/* The checks for nosave, then call gosave_systemstack_switch and
	 * mov %rsi, %fs:T (g = g0). */
	const uint8_t *gosave = NULL;
	for (int i = 0; i < 64 && c.end - c.p >= 14; i++, c.p++) {
		if (c.p[0] == 0xe8 && !memcmp(c.p + 5, "\x64\x48\x89\x34\x25", 5)) {
			memcpy(&v, c.p + 1, 4);
			memcpy(&tls2, c.p + 10, 4);
			gosave = c.p + 5 + v;
			c.p += 14;
			break;
		}
	}
	if (!gosave || tls2 != L.tls_g)
		return "the switch to g0";
	/* mov S(%rsi), %rsp; sub $K, %rsp; and $-16, %rsp */
	uint8_t s, k;
	if (!lit(&c, "\x48\x8b\x66", 3) || !byte(&c, &s) || s & 0x80 || !lit(&c, "\x48\x83\xec", 3) ||
	    !byte(&c, &k) || k & 0x80 || !lit(&c, "\x48\x83\xe4\xf0", 4))
		return "the g0 frame";
	L.sched_sp = s;
	L.frame = k;
	/* mov %rdi, G(%rsp); mov H(%rdi), %rdi; sub %rdx, %rdi; mov %rdi, D(%rsp) */
	uint8_t h;
	if (!store_rdi_rsp(&c, &L.g_slot) || !lit(&c, "\x48\x8b\x7f", 3) || !byte(&c, &h) || h & 0x80 ||
	    !lit(&c, "\x48\x29\xd7", 3) || !store_rdi_rsp(&c, &L.depth_slot))
		return "the saved g and depth";
	L.stack_hi = h;
	if (L.g_slot + 8 > L.frame || L.depth_slot + 8 > L.frame || L.g_slot == L.depth_slot)
		return "the saved g and depth";
	/* Go 1.19-1.21: mov %rbx,%rdi; mov %rbx,%rcx; call *%rax.
	 * Go 1.22+: call asmcgocall_landingpad, which tail-jumps: mov %rbx,%rdi; jmp *%rax. */
	if (lit(&c, "\x48\x89\xdf\x48\x89\xd9\xff\xd0", 8)) {
		L.ret = (uint64_t)(uintptr_t)c.p;
	} else if (c.end - c.p >= 5 && c.p[0] == 0xe8) {
		memcpy(&v, c.p + 1, 4);
		const uint8_t *pad = c.p + 5 + v;
		L.ret = (uint64_t)(uintptr_t)(c.p + 5);
		struct code lp = { pad, end };
		if (pad < start || pad >= end || !lit(&lp, "\x48\x89\xdf\xff\xe0", 5))
			return "the landing pad";
	} else {
		return "the call";
	}
	if (gosave < start || gosave >= end || !read_gosave(gosave, end))
		return "gosave_systemstack_switch";
	return NULL;
}

struct main_obj {
	uint64_t bias;
	bool found;
};

static int find_main(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct main_obj *o = arg;
	(void)size;
	o->bias = info->dlpi_addr;
	o->found = true;
	return 1; /* the first object is the program */
}

void cgs_go_init(char *status, size_t size)
{
	say(status, size, "not a Go program", NULL, NULL);
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
	struct exe x = { .m = m, .size = (size_t)st.st_size, .eh = m };
	if (memcmp(m, ELFMAG, SELFMAG) || x.m[EI_CLASS] != ELFCLASS64 || x.eh->e_machine != EM_X86_64)
		goto out;
	if (x.eh->e_shentsize == sizeof(Elf64_Shdr) && x.eh->e_shstrndx < x.eh->e_shnum &&
	    in_file(x.size, x.eh->e_shoff, (uint64_t)x.eh->e_shnum * sizeof(Elf64_Shdr))) {
		x.sh = (const void *)(x.m + x.eh->e_shoff);
		const Elf64_Shdr *ss = &x.sh[x.eh->e_shstrndx];
		if (in_file(x.size, ss->sh_offset, ss->sh_size)) {
			x.shstr = (const char *)x.m + ss->sh_offset;
			x.shstr_size = ss->sh_size;
		} else {
			x.sh = NULL;
		}
	}
	uint64_t acc = from_symtab(&x);
	if (!acc)
		acc = from_pclntab(&x);
	char ver[40];
	version(&x, ver, sizeof(ver));
	if (!acc) {
		/* Not Go; or Go without .symtab and a .gopclntab section of its
		 * own (a PIE keeps it inside .data.rel.ro). */
		if (section(&x, ".go.buildinfo"))
			say(status, size, ver, ": no .symtab or .gopclntab to find runtime.asmcgocall in (a PIE?); ",
			    "stacks stop at runtime.asmcgocall");
		goto out;
	}
	struct main_obj o = { 0 };
	dl_iterate_phdr(find_main, &o);
	if (!o.found || !in_text(&x, acc, 256)) {
		say(status, size, ver, ": runtime.asmcgocall not in the program's text; ",
		    "stacks stop at runtime.asmcgocall");
		goto out;
	}
	/* The bound is the end of the executable segment in memory. */
	const uint8_t *entry = (const uint8_t *)(uintptr_t)(acc + o.bias);
	const Elf64_Phdr *ph = (const void *)(x.m + x.eh->e_phoff);
	const uint8_t *start = entry, *end = entry;
	for (unsigned i = 0; i < x.eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X) && acc >= ph[i].p_vaddr &&
		    acc < ph[i].p_vaddr + ph[i].p_filesz)
		{
			start = (const uint8_t *)(uintptr_t)(ph[i].p_vaddr + o.bias);
			end = (const uint8_t *)(uintptr_t)(ph[i].p_vaddr + ph[i].p_filesz + o.bias);
		}
	const char *bad = read_asmcgocall(start, entry, end);
	if (bad) {
		say(status, size, ver, ": runtime.asmcgocall not recognised (", bad);
		size_t n = strlen(status);
		say(status + n, size - n, "); stacks stop at runtime.asmcgocall", NULL, NULL);
		goto out;
	}
	enabled = true;
	say(status, size, ver, ": Go frames followed past runtime.asmcgocall", NULL);
out:
	munmap(m, x.size);
}

/* ---- capture ---- */

static inline uint64_t load(uint64_t addr)
{
	return *(const volatile uint64_t *)(uintptr_t)addr;
}

#define FRAME_MAX 4096 /* cgocall's frame, between the goroutine's SP and its BP */

int cgs_go_extend(uint64_t *f, int n, int max)
{
	if (!enabled)
		return n;
	int i = 0;
	while (i < n && f[i] != L.ret)
		i++;
	if (i == n)
		return n;
	/* Past asmcgocall, libunwind guesses with the frame pointer: drop that
	 * and walk the goroutine's frames, or stop here. */
	n = i + 1;
	if (n >= max)
		return n;
	uint64_t g0;
	__asm__("movq %%fs:(%1), %0" : "=r"(g0) : "r"(L.tls_g));
	if (!g0 || (g0 & 7))
		return n;
	uint64_t here = (uint64_t)(uintptr_t)__builtin_frame_address(0);
	uint64_t lo0 = load(g0), hi0 = load(g0 + L.stack_hi);
	if (!(lo0 <= here && here < hi0))
		return n; /* not on g0's stack */
	uint64_t frame = (load(g0 + L.sched_sp) - L.frame) & ~15ULL;
	if (!(here < frame - 8 && frame + L.frame <= hi0) || load(frame - 8) != L.ret)
		return n;
	uint64_t g = load(frame + L.g_slot);
	if (!g || (g & 7) || g == g0)
		return n;
	uint64_t lo = load(g), hi = load(g + L.stack_hi);
	if (lo >= hi || hi - lo > (1ULL << 30) || (lo & 7) || (hi & 7))
		return n;
	uint64_t depth = load(frame + L.depth_slot);
	if (!depth || depth > hi - lo || (depth & 7))
		return n;
	uint64_t sp = hi - depth, bp = load(g + L.sched_bp);
	if (L.pushes_bp) {
		if (bp != sp)
			return n;
	} else {
		/* asmcgocall has no frame: SP points at its return address into
		 * runtime.cgocall, whose frame pointer is the saved BP. */
		if (!(bp > sp && bp - sp <= FRAME_MAX))
			return n;
		f[n++] = load(sp);
	}
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
