/* modules.h - the table of loaded objects (executable, shared libraries),
 * kept in the shared region so that a report written after the process died
 * can still symbolise addresses, including addresses in libraries that were
 * dlclose'd since (PITFALLS item 13).
 *
 * Every dlopen that loads something and every dlclose that unloads something
 * bumps the region's module epoch. A module is valid for the epochs
 * [load_epoch, unload_epoch). A stack records the epoch at which it was
 * captured; an address in it is resolved against the modules valid then. */
#ifndef CGOSHIM_MODULES_H
#define CGOSHIM_MODULES_H

#include "common.h"

#define CGS_MODULE_PATH_MAX 256
#define CGS_BUILD_ID_MAX 32
#define CGS_MODULES_MAX 2048
#define CGS_EPOCH_LIVE UINT32_MAX

struct cgs_module {
	uint64_t bias;       /* load bias: runtime address - ELF vaddr */
	uint64_t lo, hi;     /* [lo, hi): span of PT_LOAD segments, runtime addresses */
	uint32_t load_epoch;
	uint32_t unload_epoch; /* CGS_EPOCH_LIVE while loaded */
	uint8_t build_id_len;
	uint8_t build_id[CGS_BUILD_ID_MAX];
	char path[CGS_MODULE_PATH_MAX]; /* absolute path; the executable's real path */
};

struct cgs_module_table {
	cgs_spin_t lock;            /* writers only; readers use count */
	volatile uint32_t count;    /* entries [0, count) are complete */
	volatile uint32_t epoch;    /* current epoch */
	volatile uint32_t dropped;  /* modules not recorded: table full */
	struct cgs_module mods[CGS_MODULES_MAX];
};

/* modules.c (in-process) */
/* Record objects loaded now that are not in the table, and mark recorded ones
 * that are gone as unloaded. Takes the loader lock (dl_iterate_phdr): call
 * with the re-entry guard set and no shim lock held. */
void cgs_modules_refresh(struct cgs_module_table *t);

/* modules.c (reader side, no locks) */
/* The module that contained addr at the given epoch, or NULL. */
const struct cgs_module *cgs_modules_find(const struct cgs_module_table *t,
					  uint64_t addr, uint32_t epoch);

#endif
