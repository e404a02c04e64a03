/* fuzz_gopclntab.c - libFuzzer target: the .gopclntab reader
 * (shim/core/gopclntab.c), which the in-process core runs at start-up on
 * the program's own file and the watcher on every module without DWARF.
 *
 * Most random bytes are not a table, so the header is made plausible first:
 * the input's first bytes choose the format (1.18 or 1.20 magic), the
 * function count and the section offsets, each reduced into the input's
 * size; the rest of the input is the tables. Then every function record
 * the table claims is read, a spread of addresses is looked up, and the
 * name, file, line and inline-tree tables of each hit are decoded. No read
 * may leave the buffer (ASan) and every string returned must end inside
 * it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gopclntab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put64(uint8_t *b, uint64_t v)
{
	memcpy(b, &v, 8);
}

static void check_str(const uint8_t *buf, size_t size, const char *s)
{
	if (!s)
		return;
	if ((const uint8_t *)s < buf || (const uint8_t *)s >= buf + size ||
	    !memchr(s, 0, size - (size_t)((const uint8_t *)s - buf)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 80 || size > (1u << 20))
		return 0;
	uint8_t *buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	uint32_t magic = data[0] & 1 ? 0xfffffff1u : 0xfffffff0u;
	memcpy(buf, &magic, 4);
	buf[4] = buf[5] = 0;
	buf[6] = 1;
	buf[7] = 8;
	put64(buf + 8, 1 + data[1] % 64);                      /* nfunc */
	put64(buf + 24, 0x401000);                              /* text */
	for (int i = 0; i < 5; i++)                             /* funcname, cu, filetab, pctab, pcln */
		put64(buf + 32 + 8 * i, 72 + (((uint64_t)data[2 + 2 * i] << 8 | data[3 + 2 * i]) % (size - 72)));
	struct cgs_pcln p;
	if (cgs_pcln_open(&p, buf, size)) {
		for (uint32_t i = 0; i < p.nfunc; i++) {
			struct cgs_pcln_func f;
			if (cgs_pcln_func_at(&p, i, &f))
				check_str(buf, size, cgs_pcln_name(&p, f.name_off));
		}
		for (uint64_t pc = p.text; pc < p.text + 4096; pc += 37) {
			struct cgs_pcln_func f;
			if (!cgs_pcln_find(&p, pc, &f))
				continue;
			if (pc < f.entry || pc >= f.end)
				abort();
			int32_t file = -1, line = -1, ix = -1;
			uint32_t fd;
			check_str(buf, size, cgs_pcln_name(&p, f.name_off));
			if (cgs_pcln_value(&p, f.pcfile, f.entry, pc, &file))
				check_str(buf, size, cgs_pcln_file(&p, &f, file));
			cgs_pcln_value(&p, f.pcln, f.entry, pc, &line);
			cgs_pcln_value(&p, cgs_pcln_pcdata(&p, &f, CGS_PCDATA_INLTREE), f.entry, pc, &ix);
			cgs_pcln_funcdata(&p, &f, CGS_FUNCDATA_INLTREE, &fd);
		}
	}
	free(buf);
	return 0;
}
