/* dl.c - interposers for dlopen, dlsym, dlvsym and dlclose.
 *
 * glibc answers dlopen, dlsym and dlvsym relative to the CALLER: the object
 * that holds the return address of the call (PITFALLS items 11, 12).
 *  - dlopen: $ORIGIN and the other tokens, the caller's DT_RPATH (and its
 *    loaders' chain) and DT_RUNPATH, glibc-hwcaps subdirectories, ld.so.cache,
 *    the caller's namespace, and the new object's l_loader (which a later
 *    RTLD_NEXT from it searches from);
 *  - dlsym/dlvsym(RTLD_DEFAULT): the caller's scope; the dependency glibc
 *    records (or NODELETE); the object named in dlerror();
 *  - dlsym/dlvsym(RTLD_NEXT): the objects after the caller's.
 * No emulation gets all of that right, so the shim never answers: libc does,
 * and it sees a return address inside the caller's object.
 *
 * How (the "return through the caller's object" call, dlcall below): the
 * exported dlopen, dlsym and dlvsym are assembly stubs. The stub asks
 * cgs_dl_pre for a `ret` instruction (a 0xC3 byte) inside the code of the
 * object that holds its return address R (found with _dl_find_object, which
 * takes no lock, from the object's .eh_frame_hdr table; cached per object).
 * It then builds this frame below R and jumps (not calls) to libc:
 *
 *	[gadget][trampoline][t0][arg0][arg1][arg2][rbx rbp r12-r15][R]
 *
 * libc's dlopen reads its return address, the gadget, which lies in the
 * caller's object: glibc finds the same link map as for R and answers
 * exactly as without the shim. It returns to the gadget, whose `ret` pops
 * the trampoline; the trampoline hands (t0, arguments, R, result) to
 * cgs_dl_post (timing, flight recorder, module table) and returns to R with
 * every register but rax as libc left it. What is timed: from just before
 * the jump into libc to the trampoline, i.e. the whole libc call.
 *
 * Unwinding through a call in flight (a constructor that allocates inside
 * dlopen): a gadget from a function whose unwind rule is "CFA = rsp + 8"
 * everywhere (a leaf) is preferred, so every unwinder walks gadget ->
 * trampoline (which has CFI) -> R correctly; the shim drops the two frames.
 * Objects without such a function (a tiny executable) get any `ret` byte in
 * their code (preferably a function's last byte); the shim's own stacks are
 * then cut at the gadget and walked on from R with the registers the stub
 * saved (fix_stack), and other unwinders may stop or go astray there.
 *
 * Not timed, but counted exactly (counters.<fn>_untimed, and the row in the
 * calls table says so): a caller outside every object (JIT code), an object
 * without .eh_frame_hdr or without any `ret` byte, a process with shadow
 * stacks (CET) enabled, glibc without _dl_find_object (< 2.35), nested calls
 * past CGS_DL_FLIGHT deep. Those go to libc by a plain tail jump, so their
 * answer is exact too; their results (errors) are not seen.
 *
 * dlclose does not depend on the caller: a plain C wrapper. Every dlopen and
 * dlclose refreshes the module table (modules.h), so stacks into unloaded
 * libraries still name them. */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <string.h>

#include "leaks.h"
#include "modules.h"
#include "ring.h"
#include "shim.h"

/* Indexes used by the stubs (fixed: the assembly uses them). */
enum { DL_OPEN, DL_SYM, DL_VSYM, DL_N };
static const int dl_fn[DL_N] = { CGS_FN_dlopen, CGS_FN_dlsym, CGS_FN_dlvsym };

/* Read by the stubs: libc's dlopen, dlsym, dlvsym. */
void *cgs_dl_real[DL_N];
uint64_t cgs_dl_pre(uint64_t which, uint64_t *rslot);
void cgs_dl_post(uint64_t which, uint64_t *data, uint64_t result);
extern char cgs_dl_ret_open[], cgs_dl_ret_sym[], cgs_dl_ret_vsym[];

/* One stub per function. At entry rsp = 8 mod 16 and [rsp] = R. The frame
 * built for libc is 96 bytes below R (so libc again starts at 8 mod 16):
 *   0 gadget, 8 trampoline, 16 t0, 24 rdi, 32 rsi, 40 ~rdx,
 *   48 ~rbx, 56 ~rbp, 64 ~r12, 72 ~r13, 80 ~r14, 88 ~r15 (the caller's,
 *   inverted, for cgs_stack_unwind_from), 96 R. */
/* Registers are stored inverted (a user-space address becomes a kernel one):
 * an unwinder that misreads the gadget's frame then finds no code address
 * in these slots and stops, instead of walking on from a stray pointer. */
#define CGS_DL_SAVE(reg, off)                                                         \
	"	movq %" #reg ", %rax\n"                                              \
	"	notq %rax\n"                                                         \
	"	movq %rax, " #off "(%rsp)\n"

#define CGS_DL_STUB(name, idx, ret)                                                   \
	".text\n"                                                                     \
	".globl " #name "\n"                                                          \
	".type " #name ", @function\n"                                                \
	#name ":\n"                                                                   \
	"	.cfi_startproc\n"                                                    \
	"	pushq %rdi\n"                                                        \
	"	.cfi_adjust_cfa_offset 8\n"                                          \
	"	pushq %rsi\n"                                                        \
	"	.cfi_adjust_cfa_offset 8\n"                                          \
	"	pushq %rdx\n"                                                        \
	"	.cfi_adjust_cfa_offset 8\n"                                          \
	"	movl $" #idx ", %edi\n"                                              \
	"	leaq 24(%rsp), %rsi\n"                                               \
	"	call cgs_dl_pre\n"                                                   \
	"	popq %rdx\n"                                                         \
	"	.cfi_adjust_cfa_offset -8\n"                                         \
	"	popq %rsi\n"                                                         \
	"	.cfi_adjust_cfa_offset -8\n"                                         \
	"	popq %rdi\n"                                                         \
	"	.cfi_adjust_cfa_offset -8\n"                                         \
	"	testq %rax, %rax\n"                                                  \
	"	jz 1f\n"                                                             \
	"	subq $96, %rsp\n"                                                    \
	"	.cfi_adjust_cfa_offset 96\n"                                         \
	"	movq %rax, 0(%rsp)\n"                                                \
	"	leaq " #ret "(%rip), %rax\n"                                         \
	"	movq %rax, 8(%rsp)\n"                                                \
	"	movq %rdi, 24(%rsp)\n"                                               \
	"	movq %rsi, 32(%rsp)\n"                                               \
	CGS_DL_SAVE(rdx, 40) CGS_DL_SAVE(rbx, 48) CGS_DL_SAVE(rbp, 56)               \
	CGS_DL_SAVE(r12, 64) CGS_DL_SAVE(r13, 72) CGS_DL_SAVE(r14, 80)               \
	CGS_DL_SAVE(r15, 88)                                                          \
	"	rdtsc\n"                                                             \
	"	shlq $32, %rdx\n"                                                    \
	"	orq %rdx, %rax\n"                                                    \
	"	movq %rax, 16(%rsp)\n"                                               \
	"	movq 40(%rsp), %rdx\n"                                               \
	"	notq %rdx\n"                                                         \
	"	jmp *cgs_dl_real+8*" #idx "(%rip)\n"                                 \
	"	.cfi_adjust_cfa_offset -96\n"                                        \
	"1:	jmp *cgs_dl_real+8*" #idx "(%rip)\n"                                 \
	"	.cfi_endproc\n"                                                      \
	".size " #name ", .-" #name "\n"                                              \
	/* The trampoline: entered by the gadget's ret, rsp -> t0, R at +80.   \
	 * The nop keeps (address - 1), where unwinders look, inside the FDE. */ \
	".globl " #ret "\n"                                                           \
	".hidden " #ret "\n"                                                          \
	".type " #ret ", @function\n"                                                 \
	"	.cfi_startproc\n"                                                    \
	"	.cfi_def_cfa_offset 88\n"                                            \
	"	nop\n"                                                               \
	#ret ":\n"                                                                    \
	"	pushq %rax\n"                                                        \
	"	.cfi_adjust_cfa_offset 8\n"                                          \
	"	movl $" #idx ", %edi\n"                                              \
	"	leaq 8(%rsp), %rsi\n"                                                \
	"	movq %rax, %rdx\n"                                                   \
	"	call cgs_dl_post\n"                                                  \
	"	popq %rax\n"                                                         \
	"	.cfi_adjust_cfa_offset -8\n"                                         \
	"	addq $80, %rsp\n"                                                    \
	"	.cfi_adjust_cfa_offset -80\n"                                        \
	"	ret\n"                                                               \
	"	.cfi_endproc\n"                                                      \
	".size " #ret ", .-" #ret "\n"

__asm__(CGS_DL_STUB(dlopen, 0, cgs_dl_ret_open)
	CGS_DL_STUB(dlsym, 1, cgs_dl_ret_sym)
	CGS_DL_STUB(dlvsym, 2, cgs_dl_ret_vsym));

/* ---- finding a `ret` in the caller's object ------------------------------ */

/* glibc's struct dl_find_object (2.35+), declared here so that the library
 * builds and runs where it is missing (then nothing is timed). */
struct dlfo {
	unsigned long long flags;
	void *map_start, *map_end;
	struct link_map *link_map;
	void *eh_frame;
	unsigned long long reserved[7];
};
static int (*find_object)(void *, struct dlfo *);
static bool dl_off; /* shadow stacks, or no _dl_find_object: nothing timed */
static int dl_state; /* 2 once dl_setup ran */

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static const uint8_t *uleb(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	uint64_t r = 0;
	for (unsigned s = 0; p < end && s < 64; s += 7) {
		uint8_t b = *p++;
		r |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80)) {
			*v = r;
			return p;
		}
	}
	return NULL;
}

static const uint8_t *sleb(const uint8_t *p, const uint8_t *end, int64_t *v)
{
	uint64_t r = 0;
	unsigned s = 0;
	uint8_t b = 0x80;
	while (p < end && s < 64 && (b & 0x80)) {
		b = *p++;
		r |= (uint64_t)(b & 0x7f) << s;
		s += 7;
	}
	if (b & 0x80)
		return NULL;
	if (s < 64 && (b & 0x40))
		r |= ~(uint64_t)0 << s;
	*v = (int64_t)r;
	return p;
}

/* Bytes of a DW_EH_PE-encoded value; -1 for one we do not read. */
static int enc_size(uint8_t enc)
{
	if (enc == 0xff)
		return 0;
	switch (enc & 0x0f) {
	case 0x00: case 0x04: case 0x0c: return 8;
	case 0x02: case 0x0a: return 2;
	case 0x03: case 0x0b: return 4;
	default: return -1;
	}
}

struct span {
	const uint8_t *lo, *hi;
};

static bool inside(const struct span *m, const void *p, size_t n)
{
	const uint8_t *q = p;
	return q >= m->lo && q <= m->hi && (size_t)(m->hi - q) >= n;
}

/* One FDE, read far enough to interpret its unwind rules. */
struct fde_info {
	uint64_t range;                /* bytes of code from the table's start address */
	const uint8_t *cie_ins, *cie_end; /* the CIE's initial instructions */
	const uint8_t *ins, *end;      /* the FDE's instructions */
	uint64_t code_align;
	int64_t data_align;
	uint64_t ra;                   /* return address column */
};

static bool read_fde(const struct span *m, const uint8_t *fde, struct fde_info *fi)
{
	if (!inside(m, fde, 8))
		return false;
	uint32_t len = rd32(fde);
	if (!len || len == 0xffffffffu || !inside(m, fde, 4 + (size_t)len) || len < 8)
		return false;
	const uint8_t *end = fde + 4 + len;
	const uint8_t *cie = fde + 4 - rd32(fde + 4);
	if (!inside(m, cie, 9))
		return false;
	uint32_t clen = rd32(cie);
	if (!clen || clen == 0xffffffffu || !inside(m, cie, 4 + (size_t)clen) || rd32(cie + 4) != 0)
		return false;
	const uint8_t *cend = cie + 4 + clen, *p = cie + 8;
	uint8_t version = *p++;
	if (version != 1 && version != 3)
		return false;
	const char *aug = (const char *)p;
	size_t alen = strnlen(aug, (size_t)(cend - p));
	p += alen + 1;
	if (p >= cend || !(p = uleb(p, cend, &fi->code_align)) || !(p = sleb(p, cend, &fi->data_align)))
		return false;
	if (version == 1) {
		if (p >= cend)
			return false;
		fi->ra = *p++;
	} else if (!(p = uleb(p, cend, &fi->ra))) {
		return false;
	}
	uint8_t fde_enc = 0;
	bool z = alen && aug[0] == 'z';
	if (z) {
		uint64_t n;
		if (!(p = uleb(p, cend, &n)) || n > (uint64_t)(cend - p))
			return false;
		const uint8_t *aend = p + n;
		for (size_t i = 1; i < alen; i++) {
			if (aug[i] == 'R') {
				if (p >= aend)
					return false;
				fde_enc = *p++;
			} else if (aug[i] == 'P') {
				if (p >= aend)
					return false;
				int s = enc_size(*p++);
				if (s < 0 || s > aend - p)
					return false;
				p += s;
			} else if (aug[i] == 'L') {
				p++;
			} else if (aug[i] != 'S' && aug[i] != 'B') {
				break; /* the rest is skipped with the length */
			}
		}
		p = aend;
	} else if (alen) {
		return false;
	}
	fi->cie_ins = p;
	fi->cie_end = cend;
	int s = enc_size(fde_enc);
	if (s <= 0)
		return false;
	const uint8_t *f = fde + 8 + s; /* past pc_begin */
	if (f + s > end)
		return false;
	uint64_t r = 0;
	memcpy(&r, f, (size_t)s);
	if (s == 2)
		r &= 0xffff;
	else if (s == 4)
		r &= 0xffffffffu;
	f += s;
	if (z) {
		uint64_t n;
		if (!(f = uleb(f, end, &n)) || n > (uint64_t)(end - f))
			return false;
		f += n;
	}
	fi->range = r;
	fi->ins = f;
	fi->end = end;
	return true;
}

/* The unwind row, as far as a gadget cares: where the CFA is, whether the
 * return address is at CFA - 8, and which of registers 0..15 have a rule
 * other than "same value" (an unwinder would reload them from the stack). */
struct row {
	uint64_t cfa_reg;
	int64_t cfa_off;
	bool cfa_expr, ra_std;
	uint32_t ruled;
};

static bool row_plain(const struct row *r)
{
	return r->cfa_reg == 7 && r->cfa_off == 8 && !r->cfa_expr && r->ra_std && !r->ruled;
}

static void rule(struct row *r, uint64_t reg, bool ra_std, uint64_t ra)
{
	if (reg == ra)
		r->ra_std = ra_std;
	else if (reg < 16)
		r->ruled |= 1u << reg;
}

/* Run CFA instructions from *p to end; at every advance, call scan for the
 * code the row held for. Returns false on anything it does not read
 * (then no row after that point is trusted). init: the CIE's row, for
 * DW_CFA_restore; NULL while running the CIE itself. */
struct cfi_run {
	const struct fde_info *fi;
	const uint8_t *lo;   /* function start */
	uint64_t loc;        /* current offset from lo */
	struct row cur;
	const struct row *init;
	uint64_t found;      /* the gadget, once found */
};

/* A ret byte p with the row at p - 1 plain: offsets [from, to) held row r. */
static void scan(struct cfi_run *c, uint64_t from, uint64_t to)
{
	if (c->found || !row_plain(&c->cur))
		return;
	if (to > c->fi->range)
		to = c->fi->range;
	for (uint64_t k = from + 1; k <= to && k < c->fi->range; k++)
		if (c->lo[k] == 0xc3) {
			c->found = (uint64_t)(uintptr_t)(c->lo + k);
			return;
		}
}

static bool run_cfi(struct cfi_run *c, const uint8_t *p, const uint8_t *end)
{
	const struct fde_info *fi = c->fi;
	struct row stack[8];
	int depth = 0;
	while (p < end && !c->found) {
		uint8_t op = *p++;
		uint64_t a = 0, b = 0, adv = 0;
		int64_t sv = 0;
		switch (op >> 6) {
		case 1:
			adv = (op & 0x3f) * fi->code_align;
			goto advance;
		case 2:
			if (!(p = uleb(p, end, &b)))
				return false;
			rule(&c->cur, op & 0x3f, (int64_t)b * fi->data_align == -8, fi->ra);
			continue;
		case 3:
			a = op & 0x3f;
			if (!c->init)
				return false;
			if (a == fi->ra)
				c->cur.ra_std = c->init->ra_std;
			else if (a < 16)
				c->cur.ruled = (c->cur.ruled & ~(1u << a)) | (c->init->ruled & (1u << a));
			continue;
		}
		switch (op) {
		case 0x00: /* nop */
			continue;
		case 0x02:
			if (end - p < 1)
				return false;
			adv = p[0] * fi->code_align;
			p += 1;
			goto advance;
		case 0x03:
			if (end - p < 2)
				return false;
			adv = (uint64_t)(p[0] | p[1] << 8) * fi->code_align;
			p += 2;
			goto advance;
		case 0x04:
			if (end - p < 4)
				return false;
			adv = rd32(p) * fi->code_align;
			p += 4;
			goto advance;
		case 0x05: /* offset_extended */
			if (!(p = uleb(p, end, &a)) || !(p = uleb(p, end, &b)))
				return false;
			rule(&c->cur, a, (int64_t)b * fi->data_align == -8, fi->ra);
			continue;
		case 0x11: /* offset_extended_sf */
			if (!(p = uleb(p, end, &a)) || !(p = sleb(p, end, &sv)))
				return false;
			rule(&c->cur, a, sv * fi->data_align == -8, fi->ra);
			continue;
		case 0x06: /* restore_extended */
			if (!(p = uleb(p, end, &a)) || !c->init)
				return false;
			if (a == fi->ra)
				c->cur.ra_std = c->init->ra_std;
			else if (a < 16)
				c->cur.ruled = (c->cur.ruled & ~(1u << a)) | (c->init->ruled & (1u << a));
			continue;
		case 0x08: /* same_value */
			if (!(p = uleb(p, end, &a)))
				return false;
			if (a == fi->ra)
				c->cur.ra_std = false;
			else if (a < 16)
				c->cur.ruled &= ~(1u << a);
			continue;
		case 0x07: /* undefined */
		case 0x2e: /* GNU_args_size */
			if (!(p = uleb(p, end, &a)))
				return false;
			if (op == 0x07)
				rule(&c->cur, a, false, fi->ra);
			continue;
		case 0x09: /* register */
		case 0x14: /* val_offset */
		case 0x2f: /* GNU_negative_offset_extended */
			if (!(p = uleb(p, end, &a)) || !(p = uleb(p, end, &b)))
				return false;
			rule(&c->cur, a, false, fi->ra);
			continue;
		case 0x15: /* val_offset_sf */
			if (!(p = uleb(p, end, &a)) || !(p = sleb(p, end, &sv)))
				return false;
			rule(&c->cur, a, false, fi->ra);
			continue;
		case 0x0a: /* remember_state */
			if (depth == 8)
				return false;
			stack[depth++] = c->cur;
			continue;
		case 0x0b: /* restore_state */
			if (!depth)
				return false;
			c->cur = stack[--depth];
			continue;
		case 0x0c: /* def_cfa */
			if (!(p = uleb(p, end, &a)) || !(p = uleb(p, end, &b)))
				return false;
			c->cur.cfa_reg = a;
			c->cur.cfa_off = (int64_t)b;
			c->cur.cfa_expr = false;
			continue;
		case 0x12: /* def_cfa_sf */
			if (!(p = uleb(p, end, &a)) || !(p = sleb(p, end, &sv)))
				return false;
			c->cur.cfa_reg = a;
			c->cur.cfa_off = sv * fi->data_align;
			c->cur.cfa_expr = false;
			continue;
		case 0x0d: /* def_cfa_register */
			if (!(p = uleb(p, end, &a)))
				return false;
			c->cur.cfa_reg = a;
			c->cur.cfa_expr = false;
			continue;
		case 0x0e: /* def_cfa_offset */
			if (!(p = uleb(p, end, &b)))
				return false;
			c->cur.cfa_off = (int64_t)b;
			continue;
		case 0x13: /* def_cfa_offset_sf */
			if (!(p = sleb(p, end, &sv)))
				return false;
			c->cur.cfa_off = sv * fi->data_align;
			continue;
		case 0x0f: /* def_cfa_expression */
			if (!(p = uleb(p, end, &b)) || b > (uint64_t)(end - p))
				return false;
			p += b;
			c->cur.cfa_expr = true;
			continue;
		case 0x10: /* expression */
		case 0x16: /* val_expression */
			if (!(p = uleb(p, end, &a)) || !(p = uleb(p, end, &b)) || b > (uint64_t)(end - p))
				return false;
			p += b;
			rule(&c->cur, a, false, fi->ra);
			continue;
		default:
			return false;
		}
	advance:
		if (!c->init)
			return false; /* an advance in a CIE */
		scan(c, c->loc, c->loc + adv);
		c->loc += adv;
	}
	return true;
}

/* A ret byte in this function where the row at the byte before it is the
 * plain one, so that every unwinder goes from it to the trampoline with
 * the right registers. 0: none. */
static uint64_t plain_ret(const struct fde_info *fi, const uint8_t *lo)
{
	struct cfi_run c = { .fi = fi, .lo = lo, .cur = { .cfa_reg = ~0ull } };
	if (!run_cfi(&c, fi->cie_ins, fi->cie_end))
		return 0;
	struct row init = c.cur;
	c.init = &init;
	if (!run_cfi(&c, fi->ins, fi->end))
		return c.found;
	scan(&c, c.loc, fi->range);
	return c.found;
}

#define MAX_FDES 65536u

/* A `ret` byte in the object's code, from its .eh_frame_hdr search table;
 * *clean when the unwind row before it is the plain one (plain_ret). Else
 * a function's last byte if it is a ret, else any ret byte. 0: none. */
static uint64_t find_gadget(const struct dlfo *fo, bool *clean)
{
	struct span m = { fo->map_start, fo->map_end };
	const uint8_t *hdr = fo->eh_frame;
	*clean = false;
	if (!hdr || !inside(&m, hdr, 8) || hdr[0] != 1 || hdr[2] != 0x03 || hdr[3] != 0x3b)
		return 0;
	int es = enc_size(hdr[1]);
	if (es <= 0 || !inside(&m, hdr + 4 + es, 4))
		return 0;
	uint32_t count = rd32(hdr + 4 + es);
	const uint8_t *table = hdr + 8 + es;
	if (count > MAX_FDES)
		count = MAX_FDES;
	if (!inside(&m, table, (size_t)count * 8))
		return 0;
	uint64_t last_ret = 0, any_ret = 0;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *lo = hdr + (int32_t)rd32(table + 8 * i);
		const uint8_t *fde = hdr + (int32_t)rd32(table + 8 * i + 4);
		struct fde_info fi;
		if (!read_fde(&m, fde, &fi) || fi.range < 2 || !inside(&m, lo, fi.range))
			continue;
		uint64_t g = plain_ret(&fi, lo);
		if (g) {
			*clean = true;
			return g;
		}
		if (!last_ret && lo[fi.range - 1] == 0xc3)
			last_ret = (uint64_t)(uintptr_t)(lo + fi.range - 1);
		for (uint64_t k = 1; !any_ret && k < fi.range; k++)
			if (lo[k] == 0xc3)
				any_ret = (uint64_t)(uintptr_t)(lo + k);
	}
	return last_ret ? last_ret : any_ret;
}

/* Gadgets found, per object: a seqlock per entry (odd while written). */
#define GCACHE 256
static struct gentry {
	uint64_t seq;
	const void *lm, *start, *end, *eh;
	uint64_t gadget; /* 1: the object has none */
	bool clean;
} gcache[GCACHE];

static uint64_t gadget_of(const struct dlfo *fo, bool *clean)
{
	struct gentry *e = &gcache[((uintptr_t)fo->link_map >> 4) % GCACHE];
	uint64_t s1 = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
	if (!(s1 & 1)) {
		const void *lm = e->lm, *start = e->start, *end = e->end, *eh = e->eh;
		uint64_t g = e->gadget;
		*clean = e->clean;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&e->seq, __ATOMIC_RELAXED) == s1 && g && lm == fo->link_map &&
		    start == fo->map_start && end == fo->map_end && eh == fo->eh_frame)
			return g == 1 ? 0 : g;
	}
	uint64_t g = find_gadget(fo, clean);
	if (!(s1 & 1) && __atomic_compare_exchange_n(&e->seq, &s1, s1 + 1, false, __ATOMIC_ACQUIRE,
						     __ATOMIC_RELAXED)) {
		e->lm = fo->link_map;
		e->start = fo->map_start;
		e->end = fo->map_end;
		e->eh = fo->eh_frame;
		e->gadget = g ? g : 1;
		e->clean = *clean;
		__atomic_store_n(&e->seq, s1 + 2, __ATOMIC_RELEASE);
	}
	return g;
}

/* ---- calls in flight, for the shim's own stack captures ------------------ */

#define CGS_DL_FLIGHT 16
static CGS_TLS struct flight {
	uint64_t gadget;
	uint64_t *rslot;
	int which;
	bool clean;
} t_fl[CGS_DL_FLIGHT];
static CGS_TLS int t_nfl;

/* A stack captured inside a timed call. A clean gadget: the unwinder went
 * gadget -> trampoline -> R with the right registers; drop the two frames.
 * Any other: what it found past the gadget cannot be trusted (a register
 * rule of the gadget's function restores a wrong rbp, say), so cut the
 * stack at the gadget, put R there, and walk on from R with the registers
 * the stub saved. Returns the new frame count. */
static int fix_stack(void **raw, int got, int cap, bool may_unwind)
{
	for (int j = t_nfl - 1; j >= 0; j--) {
		uint64_t g = t_fl[j].gadget;
		for (int k = 0; k < got; k++) {
			if ((uint64_t)(uintptr_t)raw[k] != g)
				continue;
			uint64_t *rslot = t_fl[j].rslot;
			void *r = (void *)(uintptr_t)*rslot;
			char *tr = t_fl[j].which == DL_OPEN ? cgs_dl_ret_open
				   : t_fl[j].which == DL_SYM ? cgs_dl_ret_sym
							     : cgs_dl_ret_vsym;
			if (t_fl[j].clean && k + 2 < got && raw[k + 1] == (void *)tr && raw[k + 2] == r) {
				memmove(&raw[k], &raw[k + 2], (size_t)(got - k - 2) * sizeof(void *));
				got -= 2;
			} else if (k < cap) {
				raw[k] = r;
				got = k + 1;
				uint64_t regs[6];
				for (int i = 0; i < 6; i++)
					regs[i] = ~rslot[i - 6];
				if (may_unwind && cgs_unwind_begin()) {
					got += cgs_stack_unwind_from((uint64_t)(uintptr_t)r, (uint64_t)(uintptr_t)(rslot + 1),
								     regs, &raw[k + 1], cap - k - 1);
					cgs_unwind_end();
				}
			}
			break;
		}
	}
	return got;
}

/* ---- the stubs' C halves -------------------------------------------------- */

static void *libc_fn(const char *name)
{
	void *p = cgs_elf_lookup("/libc.so.6", name);
	return p ? p : cgs_elf_lookup("/libdl.so.2", name);
}

/* Idempotent, no lock: a signal handler may call dlsym while this thread
 * is half way through; every caller stores the same values. */
static void dl_setup(void)
{
	static const char *const names[DL_N] = { "dlopen", "dlsym", "dlvsym" };
	for (int i = 0; i < DL_N; i++)
		if (!cgs_dl_real[i])
			cgs_dl_real[i] = libc_fn(names[i]);
	find_object = (int (*)(void *, struct dlfo *))cgs_elf_lookup("/libc.so.6", "_dl_find_object");
	if (!find_object)
		find_object = (int (*)(void *, struct dlfo *))cgs_elf_lookup("/ld-linux-x86-64.so.2",
									      "_dl_find_object");
	/* With shadow stacks on, a return through the gadget would fault:
	 * rdsspq is a no-op (leaves 0) unless they are. */
	uint64_t ssp = 0;
	__asm__ __volatile__("rdsspq %0" : "+r"(ssp));
	dl_off = ssp != 0 || !find_object;
	cgs_stack_fix_hook = fix_stack;
	__atomic_store_n(&dl_state, 2, __ATOMIC_RELEASE);
}

static uint64_t *untimed_counter(int which)
{
	struct cgs_counters *c = &cgs_R->counters;
	return which == DL_OPEN ? &c->dlopen_untimed : which == DL_SYM ? &c->dlsym_untimed : &c->dlvsym_untimed;
}

/* Returns the gadget for this call, or 0: plain tail jump, not timed. */
uint64_t cgs_dl_pre(uint64_t which, uint64_t *rslot)
{
	if (CGS_UNLIKELY(__atomic_load_n(&dl_state, __ATOMIC_ACQUIRE) != 2))
		dl_setup();
	if (!cgs_real_ready())
		cgs_real_resolve();
	if (!cgs_on() && !cgs_boot())
		return 0;
	struct dlfo fo;
	uint64_t g = 0;
	bool clean = false;
	if (!dl_off && t_nfl < CGS_DL_FLIGHT && find_object((void *)(uintptr_t)*rslot, &fo) == 0)
		g = gadget_of(&fo, &clean);
	if (!g) {
		cgs_count(untimed_counter((int)which));
		return 0;
	}
	if (which == DL_OPEN)
		cgs_dl_enter(); /* the loader lock: a fork now must know (leaks.h) */
	t_fl[t_nfl] = (struct flight){ g, rslot, (int)which, clean };
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	t_nfl++;
	return g;
}

static void refresh_modules(bool unloaded)
{
	struct cgs_region *r = cgs_R;
	if (!r || !r->modules)
		return;
	cgs_t_guard++;
	/* dl_iterate_phdr holds the loader lock: a fork now must know (leaks.h). */
	cgs_dl_enter();
	if (unloaded && r->stacks)
		__atomic_add_fetch(&r->stacks->unload_gen, 1, __ATOMIC_RELAXED);
	cgs_modules_refresh(r->modules);
	cgs_dl_leave();
	cgs_t_guard--;
}

/* Every timed dl call also goes to the flight recorder (ring.h): what was
 * opened or looked up (name, version), in which handle, and the result.
 * caller: the program's return address, the record's whole stack unless
 * the call was slow (then it gets a full one). */
static void done_dl(int fn, uint64_t t0, bool err, const char *name, const char *version,
		    const void *handle, int64_t result, uint64_t caller)
{
	uint64_t ticks = cgs_rdtsc() - t0;
	if (!cgs_R)
		return;
	struct cgs_tstate *t = cgs_self();
	if (t)
		cgs_record(t, fn, ticks, err);
	cgs_event_dl(t, fn, t0, ticks, name, version, handle, result, err, caller);
}

/* data: t0, rdi, rsi, ~rdx, six callee-saved registers (inverted), R (the
 * frame the stub built). */
void cgs_dl_post(uint64_t which, uint64_t *data, uint64_t result)
{
	int saved = errno;
	uint64_t *rslot = &data[10];
	/* This call's entry, and any above it: calls that never came back
	 * (a longjmp out of a constructor). */
	for (int j = t_nfl - 1; j >= 0; j--)
		if (t_fl[j].rslot == rslot) {
			for (int k = j + 1; k < t_nfl; k++)
				if (t_fl[k].which == DL_OPEN)
					cgs_dl_leave();
			t_nfl = j;
			break;
		}
	if (which == DL_OPEN)
		cgs_dl_leave();
	const void *handle = which == DL_OPEN ? NULL : (const void *)(uintptr_t)data[1];
	const char *name = (const char *)(uintptr_t)(which == DL_OPEN ? data[1] : data[2]);
	const char *version = which == DL_VSYM ? (const char *)(uintptr_t)~data[3] : NULL;
	done_dl(dl_fn[which], data[0], !result, name, version, handle, (int64_t)result, *rslot);
	if (which == DL_OPEN && result) {
		refresh_modules(false);
		cgs_attach_after_dlopen(); /* cgoshim attach: the new objects too */
	}
	errno = saved;
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
	int saved = errno;
	done_dl(CGS_FN_dlclose, t0, r != 0, NULL, NULL, h, r, (uint64_t)(uintptr_t)__builtin_return_address(0));
	if (r == 0)
		refresh_modules(true);
	errno = saved;
	return r;
}
