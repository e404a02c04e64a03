/* gosyms.h - Go function names, file:line and inlined frames from a Go
 * binary's .gopclntab, for binaries without .symtab and DWARF
 * (`-ldflags='-s -w'`, `go test` binaries). Watcher side only: it maps the
 * file and may allocate. Table formats: shim/core/gopclntab.h (Go 1.18 to
 * 1.23 and later while the 1.20 format lasts). */
#ifndef CGOSHIM_GOSYMS_H
#define CGOSHIM_GOSYMS_H

#include <stdint.h>

struct cgs_gosyms;

struct cgs_gosym_frame {
	const char *function; /* "main.leakStrings"; valid until cgs_gosyms_close */
	const char *file;     /* NULL if unknown */
	int line;             /* 0 if unknown */
};

/* The Go tables of the ELF file at path, or NULL if it has none (not Go, a
 * format not known, unreadable). */
struct cgs_gosyms *cgs_gosyms_open(const char *path);
/* The frames at link-time address pc, innermost (inlined) first, up to max:
 * out[k+1] is the function out[k] was inlined into, at the line of that
 * call. Returns how many; 0 when pc is in no Go function. */
int cgs_gosyms_resolve(const struct cgs_gosyms *g, uint64_t pc, struct cgs_gosym_frame *out, int max);
void cgs_gosyms_close(struct cgs_gosyms *g);

#endif
