/* fuzz_bytes.h - read typed values out of a libFuzzer input.
 *
 * Every reader consumes bytes from the front and returns 0 (or an empty
 * string) once the input is used up, so any input gives a well-defined
 * structure. Strings are copied out with malloc and may hold any byte but
 * NUL; the caller frees them through fz_free_all. */
#ifndef CGOSHIM_FUZZ_BYTES_H
#define CGOSHIM_FUZZ_BYTES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct fz {
	const uint8_t *p;
	size_t n;
	void *owned[4096];  /* allocations to free after the run */
	size_t nowned;
};

static inline void fz_init(struct fz *f, const uint8_t *p, size_t n)
{
	f->p = p;
	f->n = n;
	f->nowned = 0;
}

static inline void *fz_keep(struct fz *f, void *ptr)
{
	if (ptr && f->nowned < sizeof(f->owned) / sizeof(f->owned[0]))
		f->owned[f->nowned++] = ptr;
	else if (ptr) {
		free(ptr); /* cannot track it: do not hand it out */
		return NULL;
	}
	return ptr;
}

static inline void fz_free_all(struct fz *f)
{
	for (size_t i = 0; i < f->nowned; i++)
		free(f->owned[i]);
	f->nowned = 0;
}

static inline uint8_t fz_u8(struct fz *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->p++;
}

static inline uint64_t fz_bytes_u64(struct fz *f, unsigned k)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < k; i++)
		v |= (uint64_t)fz_u8(f) << (8 * i);
	return v;
}

static inline uint32_t fz_u32(struct fz *f)
{
	return (uint32_t)fz_bytes_u64(f, 4);
}

/* A 64-bit number that is often small, often huge, sometimes all ones. */
static inline uint64_t fz_u64(struct fz *f)
{
	switch (fz_u8(f) & 3) {
	case 0:
		return fz_u8(f);
	case 1:
		return fz_u32(f);
	case 2:
		return UINT64_MAX - fz_u8(f);
	default:
		return fz_bytes_u64(f, 8);
	}
}

static inline double fz_double(struct fz *f)
{
	uint64_t bits = fz_bytes_u64(f, 8);
	double d;
	memcpy(&d, &bits, sizeof(d)); /* NaN, Inf, negative, denormal: all fair */
	return d;
}

/* A string of up to max bytes: the length comes first, then the bytes
 * (NUL bytes become 0x01 so the length holds). NULL sometimes. */
static inline char *fz_str(struct fz *f, size_t max, int may_be_null)
{
	uint8_t len = fz_u8(f);
	if (may_be_null && len == 0xff)
		return NULL;
	size_t n = len % (max + 1);
	if (n > f->n)
		n = f->n;
	char *s = fz_keep(f, malloc(n + 1));
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		s[i] = f->p[i] ? (char)f->p[i] : 1;
	s[n] = 0;
	f->p += n;
	f->n -= n;
	return s;
}

static inline void *fz_calloc(struct fz *f, size_t n, size_t size)
{
	return fz_keep(f, calloc(n ? n : 1, size));
}

#endif
