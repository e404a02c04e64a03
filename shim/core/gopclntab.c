/* gopclntab.c - see gopclntab.h. Layout from Go's runtime/symtab.go
 * (pcHeader, functab, _func) of 1.18 and 1.20, which kept it since. */
#include <string.h>

#include "gopclntab.h"

#define MAGIC_118 0xfffffff0u
#define MAGIC_120 0xfffffff1u
#define HEADER_SIZE 72 /* magic..pclnOffset with 8-byte words */

static bool fits(const struct cgs_pcln *p, uint64_t off, uint64_t len)
{
	return off <= p->size && len <= p->size - off;
}

static uint32_t rd32(const uint8_t *b)
{
	uint32_t v;
	memcpy(&v, b, 4);
	return v;
}

static uint64_t rd64(const uint8_t *b)
{
	uint64_t v;
	memcpy(&v, b, 8);
	return v;
}

bool cgs_pcln_open(struct cgs_pcln *p, const void *data, size_t size)
{
	memset(p, 0, sizeof(*p));
	p->b = data;
	p->size = size;
	if (!data || size < HEADER_SIZE)
		return false;
	uint32_t magic = rd32(p->b);
	if (magic == MAGIC_118)
		p->version = 118;
	else if (magic == MAGIC_120)
		p->version = 120;
	else
		return false;
	if (p->b[4] || p->b[5] || p->b[7] != 8 || !p->b[6])
		return false;
	p->min_lc = p->b[6];
	uint64_t nfunc = rd64(p->b + 8);
	p->text = rd64(p->b + 24);
	p->funcname = rd64(p->b + 32);
	p->cu = rd64(p->b + 40);
	p->filetab = rd64(p->b + 48);
	p->pctab = rd64(p->b + 56);
	p->pcln = rd64(p->b + 64);
	if (nfunc == 0 || nfunc > (1u << 26) || !fits(p, p->pcln, (nfunc + 1) * 8) || p->funcname >= size ||
	    p->cu >= size || p->filetab >= size || p->pctab >= size)
		return false;
	p->nfunc = (uint32_t)nfunc;
	return true;
}

bool cgs_pcln_func_at(const struct cgs_pcln *p, uint32_t i, struct cgs_pcln_func *f)
{
	if (i >= p->nfunc)
		return false;
	const uint8_t *ft = p->b + p->pcln + (uint64_t)i * 8;
	uint32_t entry = rd32(ft), foff = rd32(ft + 4), next = rd32(ft + 8);
	uint64_t fixed = p->version >= 120 ? 44 : 40;
	uint64_t off = p->pcln + foff;
	if (next < entry || !fits(p, off, fixed))
		return false;
	const uint8_t *r = p->b + off;
	if (rd32(r) != entry)
		return false;
	memset(f, 0, sizeof(*f));
	f->entry = p->text + entry;
	f->end = p->text + next;
	f->off = off;
	f->name_off = (int32_t)rd32(r + 4);
	f->pcfile = rd32(r + 20);
	f->pcln = rd32(r + 24);
	f->npcdata = rd32(r + 28);
	f->cu_off = rd32(r + 32);
	if (p->version >= 120)
		f->start_line = (int32_t)rd32(r + 36);
	f->nfuncdata = r[fixed - 1];
	if (f->npcdata > 64 || !fits(p, off, fixed + 4ull * (f->npcdata + f->nfuncdata)))
		return false;
	return true;
}

bool cgs_pcln_find(const struct cgs_pcln *p, uint64_t pc, struct cgs_pcln_func *f)
{
	if (pc < p->text)
		return false;
	uint64_t rel = pc - p->text;
	const uint8_t *ft = p->b + p->pcln;
	if (rel >= (1ull << 32) || rel < rd32(ft) || rel >= rd32(ft + (uint64_t)p->nfunc * 8))
		return false;
	uint32_t lo = 0, hi = p->nfunc; /* ft[lo].entry <= rel < ft[hi].entry */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (rd32(ft + (uint64_t)mid * 8) <= rel)
			lo = mid;
		else
			hi = mid;
	}
	return cgs_pcln_func_at(p, lo, f) && pc >= f->entry && pc < f->end;
}

const char *cgs_pcln_name(const struct cgs_pcln *p, int32_t name_off)
{
	if (name_off < 0)
		return NULL;
	uint64_t off = p->funcname + (uint64_t)name_off;
	if (off >= p->size)
		return NULL;
	const char *s = (const char *)p->b + off;
	size_t room = p->size - off;
	return memchr(s, 0, room) ? s : NULL;
}

static bool uvarint(const uint8_t **d, const uint8_t *end, uint32_t *out)
{
	uint32_t v = 0;
	for (int shift = 0; shift < 35; shift += 7) {
		if (*d >= end)
			return false;
		uint8_t c = *(*d)++;
		v |= (uint32_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*out = v;
			return true;
		}
	}
	return false;
}

bool cgs_pcln_value(const struct cgs_pcln *p, uint32_t off, uint64_t entry, uint64_t pc, int32_t *val)
{
	if (!off || !fits(p, p->pctab, off))
		return false;
	const uint8_t *d = p->b + p->pctab + off, *end = p->b + p->size;
	int32_t v = -1;
	uint64_t at = entry;
	for (bool first = true;; first = false) {
		uint32_t uv, pcd;
		if (!uvarint(&d, end, &uv) || (uv == 0 && !first))
			return false;
		int32_t delta = (uv & 1) ? (int32_t)~(uv >> 1) : (int32_t)(uv >> 1);
		v = (int32_t)((uint32_t)v + (uint32_t)delta);
		if (!uvarint(&d, end, &pcd))
			return false;
		at += (uint64_t)pcd * p->min_lc;
		if (pc < at) {
			*val = v;
			return true;
		}
	}
}

const char *cgs_pcln_file(const struct cgs_pcln *p, const struct cgs_pcln_func *f, int32_t fileno)
{
	if (fileno < 0)
		return NULL;
	uint64_t at = p->cu + ((uint64_t)f->cu_off + (uint64_t)fileno) * 4;
	if (!fits(p, at, 4))
		return NULL;
	uint32_t fo = rd32(p->b + at);
	if (fo == 0xffffffffu || !fits(p, p->filetab, fo))
		return NULL;
	uint64_t off = p->filetab + fo;
	if (off >= p->size)
		return NULL;
	const char *s = (const char *)p->b + off;
	return memchr(s, 0, p->size - off) ? s : NULL;
}

static uint64_t tables(const struct cgs_pcln *p, const struct cgs_pcln_func *f)
{
	return f->off + (p->version >= 120 ? 44 : 40);
}

uint32_t cgs_pcln_pcdata(const struct cgs_pcln *p, const struct cgs_pcln_func *f, uint32_t k)
{
	if (k >= f->npcdata)
		return 0;
	return rd32(p->b + tables(p, f) + 4ull * k);
}

bool cgs_pcln_funcdata(const struct cgs_pcln *p, const struct cgs_pcln_func *f, uint32_t k, uint32_t *off)
{
	if (k >= f->nfuncdata)
		return false;
	uint32_t v = rd32(p->b + tables(p, f) + 4ull * (f->npcdata + k));
	if (v == 0xffffffffu)
		return false;
	*off = v;
	return true;
}
