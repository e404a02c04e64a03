/* fastunwind.c - see fastunwind.h.
 *
 * The rule table: 2^14 slots of {key, rule} in static memory (pages the
 * program never touches cost nothing). key = return address | (unload
 * generation << 48), so a dlclose makes every older rule unreachable
 * instead of rewriting slots under readers. A slot goes 0 -> BUSY (claimed
 * by compare-and-swap) -> its key (after its rule is stored): a reader that
 * sees a key sees its rule, and a slot never changes again. When the probes
 * find no room, the walk goes to libunwind (counted).
 *
 * A rule is compiled from the CIE and FDE that cover (address - 1), the
 * call instruction: the CFA rule, the return address's rule and rbp's. */
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <string.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "fastunwind.h"
#include "leaks.h"
#include "region.h"
#include "seccomp.h"

/* libunwind's own fast trace (what unw_backtrace runs), hidden in the archive. */
extern int _ULx86_64_tdep_trace(unw_cursor_t *cursor, void **buffer, int *size);

#define SLOTS (1u << 14)
#define PROBES 32
#define BUSY 1ULL

/* A rule in one word. */
enum { K_STD = 1, K_LAST = 2, K_OTHER = 3 };
/* No unwind table covers the address (Go, JIT): libunwind's frame-chain
 * guess, below. */
#define R_GUESS (K_OTHER | (1ULL << 4))
#define R_KIND(r) ((int)((r)&3))
#define R_CFA_RBP(r) (((r) >> 2) & 1)
#define R_RBP_SAVED(r) (((r) >> 3) & 1)
#define R_CFA_OFF(r) ((int64_t)(int32_t)(uint32_t)((r) >> 16))
#define R_RBP_OFF(r) ((int64_t)(int16_t)(uint16_t)((r) >> 48))

struct slot {
	uint64_t key;
	uint64_t rule;
};
static struct slot table[SLOTS];
/* Set when an insert found no room (every dlclose makes older rules
 * unreachable, so a program that loads and unloads libraries in a loop
 * fills the table): from then on an unknown address sends the stack to
 * libunwind at once instead of compiling a rule that cannot be kept. */
static int table_full;

static uint64_t make_key(uint64_t ip, uint32_t gen)
{
	return ip | ((uint64_t)(gen & 0x7fff) << 48);
}

static inline uint32_t slot_of(uint64_t key)
{
	return (uint32_t)((key * 0x9E3779B97F4A7C15ULL) >> 40) & (SLOTS - 1);
}

static inline uint64_t lookup(uint64_t key)
{
	uint32_t h = slot_of(key);
	for (int i = 0; i < PROBES; i++) {
		struct slot *s = &table[(h + i) & (SLOTS - 1)];
		uint64_t k = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);
		if (k == key)
			return s->rule;
		if (!k)
			return 0;
	}
	return 0;
}

static void insert(uint64_t key, uint64_t rule)
{
	uint32_t h = slot_of(key);
	for (int i = 0; i < PROBES; i++) {
		struct slot *s = &table[(h + i) & (SLOTS - 1)];
		uint64_t k = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);
		if (k == key)
			return;
		if (k)
			continue;
		if (!__atomic_compare_exchange_n(&s->key, &k, BUSY, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			continue;
		s->rule = rule;
		__atomic_store_n(&s->key, key, __ATOMIC_RELEASE);
		return;
	}
	__atomic_store_n(&table_full, 1, __ATOMIC_RELAXED);
}

/* ---- reading .eh_frame ------------------------------------------------- */

struct rd {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t uleb(struct rd *r)
{
	uint64_t v = 0;
	for (unsigned shift = 0; r->p < r->end; shift += 7) {
		uint8_t b = *r->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	r->bad = true;
	return 0;
}

static int64_t sleb(struct rd *r)
{
	int64_t v = 0;
	unsigned shift = 0;
	uint8_t b = 0x80;
	while (r->p < r->end && (b & 0x80)) {
		b = *r->p++;
		if (shift < 64)
			v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
		shift += 7;
	}
	if (b & 0x80) {
		r->bad = true;
		return 0;
	}
	if (shift < 64 && (b & 0x40))
		v |= -((int64_t)1 << shift);
	return v;
}

static uint64_t fixed(struct rd *r, int n)
{
	if (r->end - r->p < n) {
		r->bad = true;
		r->p = r->end;
		return 0;
	}
	uint64_t v = 0;
	memcpy(&v, r->p, (size_t)n); /* little-endian */
	r->p += n;
	return v;
}

/* A DW_EH_PE-encoded pointer; datarel is the base of DW_EH_PE_datarel. */
static uint64_t encoded(struct rd *r, uint8_t enc, uint64_t datarel)
{
	if (enc == 0xff) /* omit */
		return 0;
	uint64_t at = (uint64_t)(uintptr_t)r->p, v;
	switch (enc & 0x0f) {
	case 0x00: v = fixed(r, 8); break;
	case 0x01: v = uleb(r); break;
	case 0x02: v = fixed(r, 2); break;
	case 0x03: v = fixed(r, 4); break;
	case 0x04: v = fixed(r, 8); break;
	case 0x09: v = (uint64_t)sleb(r); break;
	case 0x0a: v = (uint64_t)(int64_t)(int16_t)fixed(r, 2); break;
	case 0x0b: v = (uint64_t)(int64_t)(int32_t)fixed(r, 4); break;
	case 0x0c: v = fixed(r, 8); break;
	default: r->bad = true; return 0;
	}
	switch (enc & 0x70) {
	case 0x00: break;
	case 0x10: v += at; break;
	case 0x30: v += datarel; break;
	default: r->bad = true; return 0;
	}
	if (enc & 0x80) /* indirect */
		r->bad = true;
	return v;
}

/* The register rules the walk needs. */
enum { RULE_SAME, RULE_OFFSET, RULE_UNDEF, RULE_OTHER };
struct regrule {
	uint8_t how;
	int64_t off;
};
struct cfstate {
	uint8_t cfa_reg;
	bool cfa_other;
	int64_t cfa_off;
	struct regrule rbp, ra, rsp;
};

#define DW_RBP 6
#define DW_RSP 7

struct cie {
	uint64_t code_align;
	int64_t data_align;
	uint64_t ra_reg;
	uint8_t fde_enc;
	bool signal, aug_z, ok;
	const uint8_t *insns, *end;
};

static struct regrule *reg_of(struct cfstate *s, const struct cie *c, uint64_t reg)
{
	if (reg == c->ra_reg)
		return &s->ra;
	if (reg == DW_RBP)
		return &s->rbp;
	if (reg == DW_RSP)
		return &s->rsp;
	return NULL;
}

/* Run CFA instructions up to the one that covers pc (starting at loc).
 * Returns false on anything it does not know. */
static bool run(struct rd *r, const struct cie *c, struct cfstate *s, const struct cfstate *init, uint64_t loc,
		uint64_t pc, uint64_t datarel)
{
	struct cfstate stack[8];
	int depth = 0;
	while (r->p < r->end && !r->bad) {
		uint8_t op = *r->p++;
		uint64_t reg, delta = 0;
		struct regrule *rr;
		switch (op >> 6) {
		case 1:
			delta = (op & 0x3f) * c->code_align;
			goto advance;
		case 2:
			rr = reg_of(s, c, op & 0x3f);
			{
				int64_t off = (int64_t)uleb(r) * c->data_align;
				if (rr)
					*rr = (struct regrule){ RULE_OFFSET, off };
			}
			continue;
		case 3:
			rr = reg_of(s, c, op & 0x3f);
			if (rr)
				*rr = *reg_of((struct cfstate *)init, c, op & 0x3f);
			continue;
		}
		switch (op) {
		case 0x00: /* nop */
			break;
		case 0x01: { /* set_loc */
			uint64_t to = encoded(r, c->fde_enc, datarel);
			if (to > pc)
				return !r->bad;
			loc = to;
			break;
		}
		case 0x02: delta = fixed(r, 1) * c->code_align; goto advance;
		case 0x03: delta = fixed(r, 2) * c->code_align; goto advance;
		case 0x04: delta = fixed(r, 4) * c->code_align; goto advance;
		case 0x05: /* offset_extended */
			reg = uleb(r);
			rr = reg_of(s, c, reg);
			{
				int64_t off = (int64_t)uleb(r) * c->data_align;
				if (rr)
					*rr = (struct regrule){ RULE_OFFSET, off };
			}
			break;
		case 0x06: /* restore_extended */
			reg = uleb(r);
			if ((rr = reg_of(s, c, reg)))
				*rr = *reg_of((struct cfstate *)init, c, reg);
			break;
		case 0x07: /* undefined */
			if ((rr = reg_of(s, c, uleb(r))))
				*rr = (struct regrule){ RULE_UNDEF, 0 };
			break;
		case 0x08: /* same_value */
			if ((rr = reg_of(s, c, uleb(r))))
				*rr = (struct regrule){ RULE_SAME, 0 };
			break;
		case 0x09: /* register */
			if ((rr = reg_of(s, c, uleb(r))))
				rr->how = RULE_OTHER;
			uleb(r);
			break;
		case 0x0a: /* remember_state */
			if (depth == (int)CGS_ARRAY_LEN(stack))
				return false;
			stack[depth++] = *s;
			break;
		case 0x0b: /* restore_state */
			if (!depth)
				return false;
			*s = stack[--depth]; /* the whole row, CFA included */
			break;
		case 0x0c: /* def_cfa */
			s->cfa_reg = (uint8_t)uleb(r);
			s->cfa_off = (int64_t)uleb(r);
			s->cfa_other = false;
			break;
		case 0x0d: /* def_cfa_register */
			s->cfa_reg = (uint8_t)uleb(r);
			break;
		case 0x0e: /* def_cfa_offset */
			s->cfa_off = (int64_t)uleb(r);
			break;
		case 0x0f: /* def_cfa_expression */
			s->cfa_other = true;
			r->p += uleb(r);
			break;
		case 0x10: /* expression */
		case 0x16: /* val_expression */
			if ((rr = reg_of(s, c, uleb(r))))
				rr->how = RULE_OTHER;
			r->p += uleb(r);
			break;
		case 0x11: /* offset_extended_sf */
			reg = uleb(r);
			rr = reg_of(s, c, reg);
			{
				int64_t off = sleb(r) * c->data_align;
				if (rr)
					*rr = (struct regrule){ RULE_OFFSET, off };
			}
			break;
		case 0x12: /* def_cfa_sf */
			s->cfa_reg = (uint8_t)uleb(r);
			s->cfa_off = sleb(r) * c->data_align;
			s->cfa_other = false;
			break;
		case 0x13: /* def_cfa_offset_sf */
			s->cfa_off = sleb(r) * c->data_align;
			break;
		case 0x14: /* val_offset */
		case 0x15: /* val_offset_sf */
			if ((rr = reg_of(s, c, uleb(r))))
				rr->how = RULE_OTHER;
			if (op == 0x14)
				uleb(r);
			else
				sleb(r);
			break;
		case 0x2e: /* GNU_args_size */
			uleb(r);
			break;
		case 0x2f: /* GNU_negative_offset_extended */
			reg = uleb(r);
			rr = reg_of(s, c, reg);
			{
				int64_t off = -(int64_t)uleb(r) * c->data_align;
				if (rr)
					*rr = (struct regrule){ RULE_OFFSET, off };
			}
			break;
		default:
			return false;
		}
		continue;
advance:
		if (loc + delta > pc)
			return !r->bad;
		loc += delta;
	}
	return !r->bad && r->p <= r->end;
}

static bool parse_cie(const uint8_t *p, const uint8_t *limit, struct cie *c)
{
	struct rd r = { p, limit, false };
	uint64_t len = fixed(&r, 4);
	if (len == 0xffffffff)
		len = fixed(&r, 8);
	if (r.bad || len > (uint64_t)(r.end - r.p))
		return false;
	r.end = r.p + len;
	if (fixed(&r, 4) != 0) /* CIE id */
		return false;
	uint8_t version = (uint8_t)fixed(&r, 1);
	if (version != 1 && version != 3)
		return false;
	const char *aug = (const char *)r.p;
	while (r.p < r.end && *r.p)
		r.p++;
	if (r.p >= r.end)
		return false;
	r.p++;
	c->code_align = uleb(&r);
	c->data_align = sleb(&r);
	c->ra_reg = version == 1 ? fixed(&r, 1) : uleb(&r);
	c->fde_enc = 0; /* absptr */
	c->signal = false;
	c->aug_z = aug[0] == 'z';
	const uint8_t *after_aug = NULL;
	if (c->aug_z) {
		uint64_t alen = uleb(&r);
		if (alen > (uint64_t)(r.end - r.p))
			return false;
		after_aug = r.p + alen;
		for (const char *a = aug + 1; *a; a++) {
			switch (*a) {
			case 'R': c->fde_enc = (uint8_t)fixed(&r, 1); break;
			case 'L': fixed(&r, 1); break;
			case 'P': {
				uint8_t penc = (uint8_t)fixed(&r, 1);
				struct rd pr = r;
				encoded(&pr, penc & 0x7f, 0); /* the pointer itself is not followed */
				r.p = pr.p;
				r.bad |= pr.bad;
				break;
			}
			case 'S': c->signal = true; break;
			default: return false;
			}
		}
		r.p = after_aug;
	} else if (aug[0]) {
		return false;
	}
	c->insns = r.p;
	c->end = r.end;
	c->ok = !r.bad && r.p <= r.end;
	return c->ok;
}

struct find {
	uint64_t pc;     /* the call: return address - 1 */
	uint64_t rule;   /* result, 0 = no FDE covers pc */
};

/* Compile the rule for pc from the module's .eh_frame: 0 when no FDE
 * covers it, K_OTHER when one does but says more than a rule can. */
static uint64_t compile_in(const uint8_t *hdr, const uint8_t *hdr_end, uint64_t pc)
{
	if (hdr[0] != 1)
		return K_OTHER;
	uint8_t ptr_enc = hdr[1], count_enc = hdr[2], table_enc = hdr[3];
	if (table_enc != 0x3b) /* datarel sdata4: what every linker writes */
		return K_OTHER;
	struct rd r = { hdr + 4, hdr_end, false };
	encoded(&r, ptr_enc, (uint64_t)(uintptr_t)hdr);
	uint64_t count = encoded(&r, count_enc, (uint64_t)(uintptr_t)hdr);
	if (r.bad || !count || count > (uint64_t)(r.end - r.p) / 8)
		return K_OTHER;
	const int32_t *tab = (const int32_t *)(const void *)r.p;
	uint64_t base = (uint64_t)(uintptr_t)hdr;
	uint64_t lo = 0, hi = count; /* last entry with start <= pc */
	if (base + (int64_t)tab[0] > pc)
		return 0;
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (base + (int64_t)tab[2 * mid] <= pc)
			lo = mid;
		else
			hi = mid;
	}
	const uint8_t *fde = (const uint8_t *)(uintptr_t)(base + (int64_t)tab[2 * lo + 1]);
	/* The FDE: length, CIE pointer, pc_begin, pc_range, augmentation, insns. */
	struct rd f = { fde, fde + 16, false };
	uint64_t len = fixed(&f, 4);
	if (len == 0 || len == 0xffffffff)
		return K_OTHER;
	f.end = fde + 4 + len;
	const uint8_t *cie_ptr_at = f.p;
	uint32_t cie_off = (uint32_t)fixed(&f, 4);
	if (!cie_off)
		return K_OTHER;
	struct cie c;
	const uint8_t *cie_at = cie_ptr_at - cie_off;
	if (!parse_cie(cie_at, cie_at + (1u << 20), &c))
		return K_OTHER;
	uint64_t pc_begin = encoded(&f, c.fde_enc, base);
	uint64_t pc_range = encoded(&f, c.fde_enc & 0x0f, base);
	if (f.bad)
		return K_OTHER;
	if (pc < pc_begin || pc - pc_begin >= pc_range)
		return 0;
	if (c.aug_z) {
		uint64_t alen = uleb(&f);
		f.p += alen;
	}
	if (f.bad || f.p > f.end)
		return K_OTHER;
	if (c.signal)
		return K_OTHER;
	struct cfstate s = { 0 };
	s.cfa_reg = 0xff;
	struct rd ci = { c.insns, c.end, false };
	if (!run(&ci, &c, &s, &s, pc_begin, pc_begin, base))
		return K_OTHER;
	struct cfstate init = s;
	if (!run(&f, &c, &s, &init, pc_begin, pc, base))
		return K_OTHER;
	/* libunwind ends the chain where the return address or rbp is
	 * undefined (the x86_64 ABI's end marker). */
	if (s.ra.how == RULE_UNDEF || s.rbp.how == RULE_UNDEF)
		return K_LAST;
	if (s.cfa_other || (s.cfa_reg != DW_RSP && s.cfa_reg != DW_RBP) || s.ra.how != RULE_OFFSET ||
	    s.ra.off != -8 || s.rsp.how != RULE_SAME || s.rbp.how == RULE_OTHER || s.cfa_off < 8 ||
	    s.cfa_off > INT32_MAX)
		return K_OTHER;
	uint64_t rule = K_STD | ((uint64_t)(s.cfa_reg == DW_RBP) << 2) | ((uint64_t)(uint32_t)s.cfa_off << 16);
	if (s.rbp.how == RULE_OFFSET) {
		if (s.rbp.off < INT16_MIN || s.rbp.off > INT16_MAX)
			return K_OTHER;
		rule |= (1ULL << 3) | ((uint64_t)(uint16_t)(int16_t)s.rbp.off << 48);
	}
	return rule;
}

static int find_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct find *f = arg;
	const ElfW(Phdr) *eh = NULL;
	bool in = false;
	uint64_t eh_size = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t at = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && f->pc - at < ph->p_memsz)
			in = true;
		else if (ph->p_type == PT_GNU_EH_FRAME) {
			eh = ph;
			eh_size = ph->p_memsz;
		}
	}
	if (!in)
		return 0;
	if (eh && eh_size >= 12) {
		const uint8_t *hdr = (const uint8_t *)(uintptr_t)(info->dlpi_addr + eh->p_vaddr);
		f->rule = compile_in(hdr, hdr + eh_size, f->pc);
	}
	return 1;
}

/* The rule for return address ip, compiled now (inside the fork bracket:
 * dl_iterate_phdr takes the loader lock). 0 = the fork protocol said no. */
static uint64_t compile(uint64_t ip, uint64_t key)
{
	if (!cgs_unwind_begin())
		return 0;
	struct find f = { ip - 1, 0 };
	dl_iterate_phdr(find_cb, &f);
	cgs_unwind_end();
	uint64_t rule = f.rule ? f.rule : R_GUESS;
	insert(key, rule);
	return rule;
}

/* ---- checked reads of the stack ---------------------------------------- */

/* Pages of this thread's stack seen readable: [t_lo, t_hi). */
static CGS_TLS uint64_t t_lo, t_hi;
#define PAGE 4096ULL
#define MAX_NEW_PAGES 256

static bool pages_readable(uint64_t from, uint64_t to)
{
	for (uint64_t pg = from; pg < to; pg += PAGE)
		if (!cgs_readable((const void *)(uintptr_t)pg, 1))
			return false;
	return true;
}

/* Make [a, a + 8) part of the checked range: grow the range to it when it
 * is near (checking every page added, so the range stays whole), else
 * start a new range at its pages. False when it cannot be read. */
static bool extend(uint64_t a)
{
	if (a + 8 < a)
		return false;
	uint64_t lo = a & ~(PAGE - 1), hi = (a + 8 + PAGE - 1) & ~(PAGE - 1);
	if (t_hi > t_lo) {
		uint64_t nlo = lo < t_lo ? lo : t_lo, nhi = hi > t_hi ? hi : t_hi;
		if ((t_lo - nlo) / PAGE + (nhi - t_hi) / PAGE <= MAX_NEW_PAGES) {
			if (!pages_readable(nlo, t_lo) || !pages_readable(t_hi, nhi))
				return pages_readable(lo, hi); /* a gap: read a, keep the range */
			t_lo = nlo;
			t_hi = nhi;
			return true;
		}
	}
	if (!pages_readable(lo, hi))
		return false;
	t_lo = lo;
	t_hi = hi;
	return true;
}

static inline bool readable(uint64_t a)
{
	return (a >= t_lo && a + 8 <= t_hi) || extend(a);
}

/* ---- the walk ---------------------------------------------------------- */

/* Give the walk to libunwind: unw_backtrace from here, its frames from
 * buf[0] (the address the fast walk's caller returns to) on. Handing over
 * in mid-stack with only rip, rsp and rbp is not enough for libunwind's
 * first pass over a signal frame; a whole walk is what unw_backtrace
 * returns by definition. */
static int handoff(void **buf, int max)
{
	struct cgs_region *r = cgs_R;
	if (r)
		cgs_count(&r->counters.unwind_handoffs);
	void *tmp[CGS_STACK_DEPTH_MAX + 24];
	int want = max + 8; /* this function and walk_slow come first */
	if (want > (int)CGS_ARRAY_LEN(tmp))
		want = (int)CGS_ARRAY_LEN(tmp);
	if (!cgs_unwind_begin())
		return -1;
	int got = unw_backtrace(tmp, want);
	cgs_unwind_end();
	int j = 0;
	while (j < got && j < 8 && tmp[j] != buf[0])
		j++;
	if (j >= got || tmp[j] != buf[0])
		return 1; /* cannot line the two up: the frame known */
	int n = got - j < max ? got - j : max;
	memcpy(buf, tmp + j, (size_t)n * sizeof(*buf));
	return n;
}

/* The whole walk, from the frame at (ip, rsp, rbp) with n frames stored:
 * probes past the first slot, compiles rules, checks new pages, ends or
 * hands off. */
static __attribute__((noinline)) int walk_slow(void **buf, int n, int max, uint64_t ip, uint64_t rsp,
					       uint64_t rbp, uint64_t genbits)
{
	/* Checking pages and compiling rules make system calls: none when the
	 * program's seccomp filter forbids them (no stack, as with libunwind). */
	if (!cgs_seccomp_unwind_ok())
		return 0;
	int saved = errno;
	while (n < max && ip - 0x4000 < (1ULL << 47) - 0x4000) {
		buf[n++] = (void *)(uintptr_t)ip;
		if (n == max)
			break;
		uint64_t key = ip | genbits;
		uint64_t rule = lookup(key);
		if (CGS_UNLIKELY(!rule)) {
			if (__atomic_load_n(&table_full, __ATOMIC_RELAXED)) {
				n = handoff(buf, max);
				break;
			}
			rule = compile(ip, key);
			if (!rule) {
				n = -1; /* a fork is being prepared */
				break;
			}
		}
		if (R_KIND(rule) == K_LAST)
			break;
		if (rule == R_GUESS) {
			/* What libunwind's unw_step does where DWARF has nothing:
			 * follow rbp as a frame pointer if it points a little
			 * above this frame (at most 16 KiB), else end here. A Go
			 * function calling C on the system stack goes on; a cgo
			 * call from a goroutine (rbp on the goroutine's stack)
			 * ends at runtime.asmcgocall, where gostack.c goes on. */
			if (!rbp || rbp < rsp || rbp - rsp > 0x4000 || !readable(rbp) || !readable(rbp + 8))
				break;
			uint64_t next_ip = *(const uint64_t *)(uintptr_t)(rbp + 8);
			uint64_t cfa = rbp + 16;
			if (next_ip == ip && cfa == rsp)
				break;
			rbp = *(const uint64_t *)(uintptr_t)rbp;
			rsp = cfa;
			ip = next_ip;
			continue;
		}
		if (R_KIND(rule) != K_STD) {
			n = handoff(buf, max);
			break;
		}
		/* A word that cannot be read (wrong unwind information, a
		 * corrupt stack) ends the stack here: libunwind's fast trace
		 * would read it unchecked and fault. */
		uint64_t cfa = (R_CFA_RBP(rule) ? rbp : rsp) + (uint64_t)R_CFA_OFF(rule);
		if (!readable(cfa - 8))
			break;
		uint64_t next_ip = *(const uint64_t *)(uintptr_t)(cfa - 8);
		if (R_RBP_SAVED(rule)) {
			uint64_t at = cfa + (uint64_t)R_RBP_OFF(rule);
			if (!readable(at))
				break;
			rbp = *(const uint64_t *)(uintptr_t)at;
		}
		rsp = cfa;
		ip = next_ip;
	}
	errno = saved;
	return n;
}

int cgs_fast_backtrace(void **buf, int max)
{
	uint64_t *fp = __builtin_frame_address(0);
	uint64_t ip = (uint64_t)(uintptr_t)__builtin_return_address(0);
	uint64_t rsp = (uint64_t)(uintptr_t)fp + 16, rbp = fp[0];
	struct cgs_region *r = cgs_R;
	uint32_t gen = r && r->stacks ? __atomic_load_n(&r->stacks->unload_gen, __ATOMIC_RELAXED) : 0;
	uint64_t genbits = make_key(0, gen);
	/* The common case, kept tight: every rule known and standard, every
	 * read inside the pages already checked. Anything else: walk_slow,
	 * from the frame reached. */
	uint64_t lo = t_lo, hi = t_hi; /* both 0 in a thread's first walk */
	int n = 0;
	if (rsp < lo || rsp + 8 > hi)
		return walk_slow(buf, n, max, ip, rsp, rbp, genbits);
	while (n < max && ip - 0x4000 < (1ULL << 47) - 0x4000) {
		const struct slot *sl = &table[slot_of(ip | genbits)];
		if (__atomic_load_n(&sl->key, __ATOMIC_ACQUIRE) != (ip | genbits))
			break;
		uint64_t rule = sl->rule;
		if (R_KIND(rule) != K_STD) {
			/* The chain ends here: the ABI's end marker, or no
			 * unwind table and rbp not a frame pointer above this
			 * frame (the C side of a cgo call; walk_slow says why). */
			if (R_KIND(rule) == K_LAST ||
			    (rule == R_GUESS && (!rbp || rbp < rsp || rbp - rsp > 0x4000))) {
				buf[n++] = (void *)(uintptr_t)ip;
				return n;
			}
			break;
		}
		uint64_t cfa = (R_CFA_RBP(rule) ? rbp : rsp) + (uint64_t)R_CFA_OFF(rule);
		uint64_t at = cfa + (uint64_t)R_RBP_OFF(rule); /* rbp's slot, or cfa when not saved */
		if (cfa - 8 < lo || cfa > hi || at < lo || at + 8 > hi)
			break;
		buf[n++] = (void *)(uintptr_t)ip;
		ip = *(const uint64_t *)(uintptr_t)(cfa - 8);
		if (R_RBP_SAVED(rule))
			rbp = *(const uint64_t *)(uintptr_t)at;
		rsp = cfa;
	}
	if (n == max || ip - 0x4000 >= (1ULL << 47) - 0x4000)
		return n;
	return walk_slow(buf, n, max, ip, rsp, rbp, genbits);
}
