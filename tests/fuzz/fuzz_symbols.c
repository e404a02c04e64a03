/* fuzz_symbols.c - libFuzzer target: the symboliser's ELF and DWARF input
 * (shim/symbols.c, which reads files with elfutils).
 *
 * The input is written to a file, and the module table gets two entries
 * for it, as the shim would record a loaded library: one with the load span
 * and build-id read from the input's own program headers and notes (so
 * that the symboliser's identity checks pass and it goes on to read
 * sections, symbols and DWARF), one with no build-id and the span's end
 * (the other identity check). Then a few addresses are resolved in each:
 * the span's start, middle and end, the entry point, addresses taken from
 * the input, plain and as return addresses, with and without inline
 * chains. The symboliser must not crash, hang (libFuzzer's -timeout) or
 * read out of bounds (ASan); an address inside an entry must always come
 * back with that entry's path as its module (for a return address, the
 * byte before it must be inside). Seeds are real ELF files
 * (the runner copies a few small shared objects and programs). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <elf.h>

#include "symbols.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char path[64];
static struct cgs_module_table table;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	snprintf(path, sizeof(path), "/tmp/cgoshim-fuzz-elf-%d.so", (int)getpid());
	return 0;
}

static bool in(size_t off, size_t len, size_t size)
{
	return off <= size && len <= size - off;
}

/* The PT_LOAD span [lo, hi) of an ELF64 image and its GNU build-id; what
 * the shim reads from memory for a loaded object. */
static void identity(const uint8_t *d, size_t n, uint64_t *lo, uint64_t *hi, uint64_t *entry,
		     uint8_t *id, uint8_t *idlen)
{
	*lo = *hi = *entry = 0;
	*idlen = 0;
	if (n < sizeof(Elf64_Ehdr) || memcmp(d, ELFMAG, SELFMAG) || d[EI_CLASS] != ELFCLASS64)
		return;
	Elf64_Ehdr eh;
	memcpy(&eh, d, sizeof(eh));
	*entry = eh.e_entry;
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || !in(eh.e_phoff, (size_t)eh.e_phnum * sizeof(Elf64_Phdr), n))
		return;
	bool first = true;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, d + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_LOAD) {
			uint64_t end = ph.p_vaddr + ph.p_memsz;
			if (end < ph.p_vaddr)
				continue;
			if (first || ph.p_vaddr < *lo)
				*lo = ph.p_vaddr;
			if (first || end > *hi)
				*hi = end;
			first = false;
		} else if (ph.p_type == PT_NOTE && in(ph.p_offset, ph.p_filesz, n) && !*idlen) {
			size_t off = ph.p_offset, end = ph.p_offset + ph.p_filesz;
			while (off + sizeof(Elf64_Nhdr) <= end) {
				Elf64_Nhdr nh;
				memcpy(&nh, d + off, sizeof(nh));
				size_t name = off + sizeof(nh), desc = name + ((nh.n_namesz + 3u) & ~3u);
				if (!in(desc, nh.n_descsz, end))
					break;
				if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && !memcmp(d + name, "GNU", 4)) {
					*idlen = nh.n_descsz > CGS_BUILD_ID_MAX ? CGS_BUILD_ID_MAX : (uint8_t)nh.n_descsz;
					memcpy(id, d + desc, *idlen);
					break;
				}
				off = desc + ((nh.n_descsz + 3u) & ~3u);
			}
		}
	}
}

static void add(uint64_t bias, uint64_t lo, uint64_t hi, const uint8_t *id, uint8_t idlen)
{
	struct cgs_module *m = &table.mods[table.count++];
	memset(m, 0, sizeof(*m));
	m->bias = bias;
	m->lo = bias + lo;
	m->hi = bias + hi;
	m->load_epoch = 0;
	m->unload_epoch = CGS_EPOCH_LIVE;
	m->build_id_len = idlen;
	if (idlen)
		memcpy(m->build_id, id, idlen);
	snprintf(m->path, sizeof(m->path), "%s", path);
}

static void resolve(struct cgs_symbolizer *s, const struct cgs_module *m, uint64_t addr, bool ret)
{
	struct cgs_frame_info fi, chain[8];
	memset(&fi, 0, sizeof(fi));
	cgs_sym_resolve(s, addr, 1, ret, &fi);
	/* A return address stands for the call before it. */
	uint64_t pc = ret && addr ? addr - 1 : addr;
	if (pc >= m->lo && pc < m->hi && (!fi.module || strcmp(fi.module, m->path))) {
		fprintf(stderr, "fuzz_symbols: %#llx in [%#llx, %#llx) named module %s\n", (unsigned long long)addr,
			(unsigned long long)m->lo, (unsigned long long)m->hi, fi.module ? fi.module : "(none)");
		abort();
	}
	int k = cgs_sym_resolve_inline(s, addr, 1, ret, chain, 8);
	if (k < 0 || k > 8)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return 0;
	size_t done = 0;
	while (done < size) {
		ssize_t k = write(fd, data + done, size - done);
		if (k <= 0)
			break;
		done += (size_t)k;
	}
	close(fd);

	uint64_t lo, hi, entry;
	uint8_t id[CGS_BUILD_ID_MAX], idlen;
	identity(data, size, &lo, &hi, &entry, id, &idlen);
	if (hi <= lo || hi - lo > (1ULL << 32)) {
		lo = 0;
		hi = 0x10000;
	}
	memset(&table, 0, sizeof(table));
	table.epoch = 1;
	add(0x100000000ULL, lo, hi, id, idlen);       /* as recorded: build-id and span */
	add(0x300000000ULL, lo, hi, NULL, 0);         /* no build-id: the span's end decides */

	struct cgs_symbolizer *s = cgs_sym_new(&table);
	if (!s)
		return 0;
	for (uint32_t i = 0; i < table.count; i++) {
		const struct cgs_module *m = &table.mods[i];
		uint64_t span = m->hi - m->lo;
		uint64_t addrs[8] = { m->lo, m->lo + span / 2, m->hi - 1, m->bias + entry, m->lo + 1, 0, 0, 0 };
		/* Three addresses from the input's last bytes. */
		for (int k = 0; k < 3; k++) {
			uint64_t v = 0;
			for (int b = 0; b < 4 && (size_t)(k * 4 + b) < size; b++)
				v |= (uint64_t)data[size - 1 - (size_t)(k * 4 + b)] << (8 * b);
			addrs[5 + k] = m->lo + (span ? v % span : 0);
		}
		for (int k = 0; k < 8; k++) {
			resolve(s, m, addrs[k], false);
			resolve(s, m, addrs[k], true);
		}
	}
	/* Again through the cache: the same answers, no crash. */
	resolve(s, &table.mods[0], table.mods[0].lo, false);
	cgs_sym_free(s);
	return 0;
}
