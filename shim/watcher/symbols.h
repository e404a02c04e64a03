/* symbols.h - symbolisation of code addresses, used only on the report side
 * (the watcher process or a test), never in an interposed call. It may
 * allocate with the ordinary malloc and open files.
 *
 * Addresses are resolved against a module table snapshot (modules.h), so a
 * library that was unloaded since is still named and read from its file. */
#ifndef CGOSHIM_SYMBOLS_H
#define CGOSHIM_SYMBOLS_H

#include "modules.h"

struct cgs_frame_info {
	uint64_t addr;          /* the address asked for */
	const char *function;   /* demangled where possible; NULL if unknown */
	const char *module;     /* path of the object; NULL if in no known module */
	const char *file;       /* source file; NULL if no line information */
	int line;               /* 0 if unknown */
	uint64_t offset;        /* addr - module bias, 0 if no module */
};

struct cgs_symbolizer;

/* Keep the traced program's executable open (/proc/PID/exe, at the
 * watcher's start), so its symbols can still be read once the file is
 * gone: `go test` deletes its test binary as soon as it has run. */
void cgs_sym_hold_exe(int pid);

/* A symboliser over the given table (not copied: it must outlive the
 * symboliser). Returns NULL only when out of memory. */
struct cgs_symbolizer *cgs_sym_new(const struct cgs_module_table *mods);

/* Resolve addr as it was at `epoch`. For a return address (every frame of
 * a captured stack: the shim's own frames are dropped, so the innermost
 * kept one is a return address too) pass is_return=true: the call
 * instruction before it is what gets resolved (addr - 1, as valgrind, perf,
 * pprof and addr2line do). Only a PC interrupted by a signal (the frame
 * above a sigreturn trampoline) and the trampoline itself are exact. Strings in *out stay valid until
 * cgs_sym_free. Never fails: unknown parts are NULL/0. Malformed or missing
 * files give unknown parts, never a crash. */
void cgs_sym_resolve(struct cgs_symbolizer *s, uint64_t addr, uint32_t epoch,
		     bool is_return, struct cgs_frame_info *out);

/* Resolve addr like cgs_sym_resolve, expanded into its inline chain:
 * out[0] is the innermost inlined function with the file and line of the
 * code at addr (the same as cgs_sym_resolve gives), out[k] the function
 * that out[k-1] was inlined into, with the file and line of that call
 * (DW_AT_call_file/DW_AT_call_line), up to the function the code belongs
 * to. All entries share addr, module and offset. Returns the number of
 * entries filled, at most max (the innermost ones when the chain is
 * longer): 1 when nothing is inlined at addr or there is no DWARF; 0 only
 * when out is NULL or max < 1. Strings stay valid until cgs_sym_free. */
int cgs_sym_resolve_inline(struct cgs_symbolizer *s, uint64_t addr,
			   uint32_t epoch, bool is_return,
			   struct cgs_frame_info *out, int max);

/* Keep resolved addresses in dir (made 0700 if missing), one file per
 * module build-id, shared by every process that uses the module: an address
 * found there needs no DWARF. Ignored when dir is not this user's. */
void cgs_sym_set_cache(struct cgs_symbolizer *s, const char *dir);
/* Whether addr is the start of a sigreturn trampoline (glibc's
 * __restore_rt, Go's runtime.sigreturn), read from the module's file: a
 * signal handler "returns" there, and the frame after it in a stack is the
 * PC the signal interrupted. */
bool cgs_sym_is_sigreturn(struct cgs_symbolizer *s, uint64_t addr, uint32_t epoch);

void cgs_sym_free(struct cgs_symbolizer *s);

#endif
