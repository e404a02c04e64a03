/* gopclntab.h - read a Go binary's .gopclntab: function names, file:line and
 * the other per-PC tables, without symbols or DWARF (the section survives
 * `-ldflags='-s -w'` and `go test`'s -s).
 *
 * Formats: Go 1.18-1.19 (magic 0xfffffff0) and Go 1.20 and later
 * (0xfffffff1), on 64-bit little-endian targets. Everything reads a byte
 * buffer (the section, mapped or copied by the caller) with every offset
 * checked against its size: no allocation, no system call, so the in-process
 * core uses it at start-up (to find runtime.asmcgocall in a stripped binary)
 * and the watcher for symbols (shim/watcher/gosyms.c). A malformed table
 * gives "unknown", never a read outside the buffer.
 *
 * Addresses are link-time addresses (the caller removes a PIE's bias). */
#ifndef CGOSHIM_GOPCLNTAB_H
#define CGOSHIM_GOPCLNTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cgs_pcln {
	const uint8_t *b;     /* the section */
	size_t size;
	int version;          /* 118 (Go 1.18, 1.19) or 120 (1.20 and later) */
	uint8_t min_lc;       /* instruction size quantum (1 on amd64) */
	uint32_t nfunc;
	uint64_t text;        /* link-time address function entries are relative to */
	uint64_t funcname, cu, filetab, pctab, pcln; /* offsets in b */
};

/* One function of the table. */
struct cgs_pcln_func {
	uint64_t entry, end;  /* [entry, end) link-time addresses */
	uint64_t off;         /* offset of its _func record in b */
	int32_t name_off;
	uint32_t pcfile, pcln, cu_off;
	uint32_t npcdata;
	uint8_t nfuncdata;
	int32_t start_line;   /* 0 before Go 1.20 */
};

#define CGS_PCDATA_INLTREE 2
#define CGS_FUNCDATA_INLTREE 3

/* Parse the header of a .gopclntab of size bytes; false if it is not one of
 * the known formats or does not fit. */
bool cgs_pcln_open(struct cgs_pcln *p, const void *data, size_t size);
/* The function containing pc; false if none does. */
bool cgs_pcln_find(const struct cgs_pcln *p, uint64_t pc, struct cgs_pcln_func *f);
/* Function number i (0 <= i < nfunc); false if its record is malformed. */
bool cgs_pcln_func_at(const struct cgs_pcln *p, uint32_t i, struct cgs_pcln_func *f);
/* A NUL-terminated name in the function name table, or NULL. */
const char *cgs_pcln_name(const struct cgs_pcln *p, int32_t name_off);
/* The value at pc of the PC-value table at offset off of the pctab (pcfile,
 * pcln or a pcdata table); false when off is 0, the table is malformed or
 * does not cover pc. */
bool cgs_pcln_value(const struct cgs_pcln *p, uint32_t off, uint64_t entry, uint64_t pc, int32_t *val);
/* The file name of file number fileno of function f's compilation unit, or NULL. */
const char *cgs_pcln_file(const struct cgs_pcln *p, const struct cgs_pcln_func *f, int32_t fileno);
/* The offset of pcdata table k of f, 0 if it has none. */
uint32_t cgs_pcln_pcdata(const struct cgs_pcln *p, const struct cgs_pcln_func *f, uint32_t k);
/* Funcdata k of f: an offset from the module's go:func.* base; false if
 * absent. */
bool cgs_pcln_funcdata(const struct cgs_pcln *p, const struct cgs_pcln_func *f, uint32_t k, uint32_t *off);

#endif
