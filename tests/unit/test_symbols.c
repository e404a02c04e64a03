/* test_symbols.c - unit tests of the module table (modules.c) and the
 * symboliser (symbols.c), suite "symbols".
 *
 * Test cases:
 *   modules    cgs_modules_find on a hand-made table (epoch windows, ties,
 *              bounds) and cgs_modules_refresh on this process (main
 *              executable, libc, vdso, build-ids, epochs on dlopen/dlclose,
 *              relative dlopen paths, errno kept).
 *   resolve    an address in this binary, built with -g, resolves to its
 *              function, this file and the line captured with __LINE__; a
 *              return address after a noreturn call names its caller;
 *              addresses outside every module; a stack taken at the epoch
 *              before its library's load (constructors) still resolves; C++
 *              names are demangled (when libstdc++ can be loaded).
 *   unload     PITFALLS item 13: library A is dlclose'd, library B loaded
 *              (very likely at A's old base); A's address at A's epoch still
 *              names A, and at B's epoch names B.
 *   malformed  table entries pointing at garbage, truncated, corrupted,
 *              replaced, missing and special files: unknown function, module
 *              path kept, no crash, no hang (a FIFO among them).
 *   inline     cgs_sym_resolve_inline: a return address inside two nested
 *              always_inline helpers (built with -O2) gives the chain
 *              [inner, outer, caller], each with the line its source
 *              reports with __LINE__ (the code's own line, then the lines of
 *              the calls); truncation to max; a function with nothing
 *              inlined, addresses outside every module and a missing
 *              symboliser give one frame equal to cgs_sym_resolve's; copies
 *              of the fixture with bytes flipped in their DWARF sections do
 *              not crash or hang it.
 *   go         (when the Go fixture exists) main.leakLoop of a `go build`
 *              binary resolves with its .go file and line; inside
 *              main.sizes, the code inlined from main.allocSize gives the
 *              chain [main.allocSize, main.sizes at the line of the call],
 *              and every address of main.sizes ends in main.sizes.
 *
 * Fixtures: libsymfix_a.so (symfix/liba.c), libsymfix_b.so (symfix/libb.c),
 * libsymfix_inline.so (symfix/libinline.c) and symfix_go
 * (symfix/goprog/main.go). Their paths come from the environment variables
 * SYMFIX_A, SYMFIX_B, SYMFIX_INLINE and SYMFIX_GO, else they are looked for
 * next to this test binary. This file must be built with -g. */
#include <check.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "modules.h"
#include "symbols.h"

#define NOINLINE __attribute__((noinline, noclone))

typedef int (*where_fn)(uintptr_t *pc);

/* ~650 KiB: too big for a stack. Each test starts from a zeroed table. */
static struct cgs_module_table table;

/* ---- helpers ---- */

static void table_reset(void)
{
	memset(&table, 0, sizeof(table));
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t ls, lx = strlen(suffix);

	if (!s)
		return false;
	ls = strlen(s);
	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* The directory of this test binary ("." if unknown). */
static void self_dir(char *out, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", out, cap - 1);
	char *slash;

	out[n > 0 ? n : 0] = '\0';
	slash = strrchr(out, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(out, cap, ".");
}

/* The path of a fixture: $env if set, else `name` next to this binary. */
static bool fixture_path(const char *env, const char *name, char *out,
			 size_t cap)
{
	const char *v = getenv(env);
	char dir[PATH_MAX];

	if (v && v[0]) {
		snprintf(out, cap, "%s", v);
		return true;
	}
	self_dir(dir, sizeof(dir));
	if (snprintf(out, cap, "%s/%s", dir, name) >= (int)cap)
		return false;
	return access(out, R_OK) == 0;
}

/* The absolute path of a fixture that must exist. */
static void need_fixture(const char *env, const char *name, char *out)
{
	char p[PATH_MAX];

	fixture_path(env, name, p, sizeof(p));
	ck_assert_msg(realpath(p, out) != NULL,
		      "fixture %s not found (set %s)", p, env);
}

/* Reads a file's build-id and load span (at the given bias) into m. */
static void entry_from_file(const char *path, uint64_t bias,
			    struct cgs_module *m)
{
	int fd = open(path, O_RDONLY);
	Elf *elf;
	size_t phnum;
	bool any = false;

	ck_assert_int_ge(fd, 0);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	ck_assert_ptr_nonnull(elf);
	ck_assert_int_eq(elf_getphdrnum(elf, &phnum), 0);
	memset(m, 0, sizeof(*m));
	m->bias = bias;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		ck_assert_ptr_nonnull(gelf_getphdr(elf, (int)i, &ph));
		if (ph.p_type == PT_LOAD && ph.p_memsz) {
			if (!any || bias + ph.p_vaddr < m->lo)
				m->lo = bias + ph.p_vaddr;
			if (!any || bias + ph.p_vaddr + ph.p_memsz > m->hi)
				m->hi = bias + ph.p_vaddr + ph.p_memsz;
			any = true;
		} else if (ph.p_type == PT_NOTE && !m->build_id_len) {
			Elf_Data *d = elf_getdata_rawchunk(
				elf, ph.p_offset, ph.p_filesz, ELF_T_NHDR);
			GElf_Nhdr nh;
			size_t off = 0, name_at, desc_at;

			while (d && (off = gelf_getnote(d, off, &nh, &name_at,
							&desc_at)) > 0) {
				if (nh.n_type == NT_GNU_BUILD_ID &&
				    nh.n_descsz <= CGS_BUILD_ID_MAX) {
					memcpy(m->build_id,
					       (char *)d->d_buf + desc_at,
					       nh.n_descsz);
					m->build_id_len = (uint8_t)nh.n_descsz;
				}
			}
		}
	}
	ck_assert(any);
	elf_end(elf);
	close(fd);
}

/* The st_value of a symbol in the file's .symtab, 0 if absent; *size gets
 * its st_size. */
static uint64_t file_symbol_sized(const char *path, const char *name,
				  uint64_t *size)
{
	int fd = open(path, O_RDONLY);
	Elf *elf;
	Elf_Scn *scn = NULL;
	uint64_t value = 0;

	*size = 0;
	ck_assert_int_ge(fd, 0);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	ck_assert_ptr_nonnull(elf);
	while (!value && (scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *n;

			if (!gelf_getsym(d, (int)i, &sym))
				continue;
			n = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (n && strcmp(n, name) == 0) {
				value = sym.st_value;
				*size = sym.st_size;
				break;
			}
		}
	}
	elf_end(elf);
	close(fd);
	return value;
}

static uint64_t file_symbol(const char *path, const char *name)
{
	uint64_t size = 0;

	return file_symbol_sized(path, name, &size);
}

/* Appends an entry to the table, published as modules.c would. */
static struct cgs_module *add_entry(const struct cgs_module *proto,
				    const char *path, uint32_t load,
				    uint32_t unload)
{
	struct cgs_module *m = &table.mods[table.count];

	ck_assert_uint_lt(table.count, CGS_MODULES_MAX);
	*m = *proto;
	if (path)
		snprintf(m->path, sizeof(m->path), "%s", path);
	m->load_epoch = load;
	m->unload_epoch = unload;
	table.count++;
	return m;
}

static void copy_file(const char *from, const char *to, off_t len)
{
	int in = open(from, O_RDONLY), out;
	struct stat st;
	char *buf;

	ck_assert_int_ge(in, 0);
	ck_assert_int_eq(fstat(in, &st), 0);
	if (len < 0 || len > st.st_size)
		len = st.st_size;
	buf = malloc(st.st_size ? st.st_size : 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(read(in, buf, st.st_size), st.st_size);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(out, 0);
	ck_assert_int_eq(write(out, buf, len), len);
	close(out);
	close(in);
	free(buf);
}

static void write_bytes(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static char tmpdir[64];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/cgs_symfix_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* Removes the temporary directory; it holds only plain entries. */
static void remove_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	ck_assert_int_eq(rmdir(tmpdir), 0);
}

/* Fixture files that a test only reads are copied first: valgrind 3.19
 * asserts (has_nonempty_rw) when a file that libelf mapped privately is
 * dlopen'ed later in the same process (CK_FORK=no). */
static void tmp_copy(const char *from, const char *name, char *out)
{
	snprintf(out, CGS_MODULE_PATH_MAX, "%s/%s", tmpdir, name);
	copy_file(from, out, -1);
}

/* Calls a fixture's symfix_*_where(); returns the line it reports. */
static int call_where(void *h, const char *fn, uintptr_t *pc)
{
	where_fn where = (where_fn)dlsym(h, fn);

	ck_assert_msg(where != NULL, "dlsym %s: %s", fn, dlerror());
	return where(pc);
}

/* ---- functions of this binary that the tests resolve ---- */

static NOINLINE void *return_address(void)
{
	void *ra = __builtin_return_address(0);

	__asm__ __volatile__("" : "+r"(ra));
	return ra;
}

/* Stores a return address inside this function and returns its line. */
static NOINLINE int known_function(uintptr_t *pc)
{
	*pc = (uintptr_t)return_address(); return __LINE__;
}

/* A call to a noreturn function is a function's last instruction: its
 * return address is the first byte after the function, so only addr - 1
 * names the caller. */
static jmp_buf noreturn_jump;
static uintptr_t noreturn_pc;

static NOINLINE __attribute__((noreturn)) void grab_and_jump(void)
{
	noreturn_pc = (uintptr_t)__builtin_return_address(0);
	longjmp(noreturn_jump, 1);
}

static int noreturn_line;

static NOINLINE void ends_in_noreturn_call(void)
{
	noreturn_line = __LINE__; grab_and_jump();
}

/* ---- modules ---- */

static const struct cgs_module span_1000 = { .lo = 0x1000, .hi = 0x2000 };
static const struct cgs_module span_1800 = { .lo = 0x1800, .hi = 0x1900 };
static const struct cgs_module span_5000 = { .lo = 0x5000, .hi = 0x6000 };
static const struct cgs_module span_5000s = { .lo = 0x5000, .hi = 0x5800 };

START_TEST(find_respects_epochs)
{
	struct cgs_module *x, *y, *z, *w, *v;

	table_reset();
	x = add_entry(&span_1000, "x", 1, 3);
	y = add_entry(&span_1000, "y", 3, CGS_EPOCH_LIVE);
	z = add_entry(&span_5000, "z", 1, CGS_EPOCH_LIVE);
	w = add_entry(&span_1800, "w", 2, CGS_EPOCH_LIVE);
	v = add_entry(&span_5000s, "v", 1, CGS_EPOCH_LIVE);
	table.epoch = 3;

	ck_assert_ptr_null(cgs_modules_find(&table, 0x1000, 0));
	ck_assert_ptr_eq(cgs_modules_find(&table, 0x1000, 1), x);
	ck_assert_ptr_eq(cgs_modules_find(&table, 0x1fff, 2), x);
	ck_assert_ptr_null(cgs_modules_find(&table, 0x2000, 2));
	ck_assert_ptr_null(cgs_modules_find(&table, 0xfff, 2));
	ck_assert_ptr_eq(cgs_modules_find(&table, 0x1000, 3), y);
	ck_assert_ptr_eq(cgs_modules_find(&table, 0x1000, 1000), y);
	/* Overlaps: the most recently loaded entry wins. */
	ck_assert_ptr_eq(cgs_modules_find(&table, 0x1850, 1), x);
	ck_assert_ptr_eq(cgs_modules_find(&table, 0x1850, 2), w);
	ck_assert_ptr_eq(cgs_modules_find(&table, 0x1850, 3), y);
	/* Same load epoch: the later entry wins. */
	ck_assert_ptr_eq(cgs_modules_find(&table, 0x5100, 1), v);
	ck_assert_ptr_eq(cgs_modules_find(&table, 0x5900, 1), z);
	ck_assert_ptr_null(cgs_modules_find(&table, 0x6000, 1));
	/* A corrupt count is clamped. */
	table.count = UINT32_MAX;
	ck_assert_ptr_eq(cgs_modules_find(&table, 0x1000, 1), x);
}
END_TEST

START_TEST(refresh_records_this_process)
{
	char exe[PATH_MAX];
	const struct cgs_module *m;
	struct cgs_module file;
	uint32_t count;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	table_reset();
	errno = 12345;
	cgs_modules_refresh(&table);
	ck_assert_int_eq(errno, 12345);
	ck_assert_uint_eq(table.epoch, 1);
	ck_assert_uint_gt(table.count, 2);
	ck_assert_uint_eq(table.dropped, 0);
	for (uint32_t i = 0; i < table.count; i++) {
		ck_assert_uint_lt(table.mods[i].lo, table.mods[i].hi);
		ck_assert_uint_eq(table.mods[i].load_epoch, 1);
		ck_assert_uint_eq(table.mods[i].unload_epoch, CGS_EPOCH_LIVE);
		ck_assert(table.mods[i].path[0] == '/' ||
			  strcmp(table.mods[i].path, "[vdso]") == 0);
	}

	m = cgs_modules_find(&table, (uintptr_t)known_function, 1);
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m->path, exe);
	entry_from_file(exe, m->bias, &file);
	ck_assert_uint_eq(m->lo, file.lo);
	ck_assert_uint_eq(m->hi, file.hi);
	ck_assert_uint_gt(m->build_id_len, 0);
	ck_assert_uint_eq(m->build_id_len, file.build_id_len);
	ck_assert_mem_eq(m->build_id, file.build_id, m->build_id_len);

	m = cgs_modules_find(&table, (uintptr_t)&getpid, 1);
	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_nonnull(strstr(m->path, "libc.so"));
	ck_assert_uint_gt(m->build_id_len, 0);

	/* Nothing changed: no new epoch, no new entry. */
	count = table.count;
	cgs_modules_refresh(&table);
	ck_assert_uint_eq(table.epoch, 1);
	ck_assert_uint_eq(table.count, count);
}
END_TEST

/* The vdso is named "[vdso]" (there is none under valgrind). */
START_TEST(refresh_has_vdso)
{
	bool found = false;

	table_reset();
	cgs_modules_refresh(&table);
	for (uint32_t i = 0; i < table.count; i++)
		found |= strcmp(table.mods[i].path, "[vdso]") == 0;
	ck_assert(found == (getauxval(AT_SYSINFO_EHDR) != 0));
}
END_TEST

START_TEST(refresh_follows_dlopen_and_dlclose)
{
	char a[PATH_MAX];
	const struct cgs_module *m;
	uint32_t count;
	uintptr_t pc;
	void *h;

	need_fixture("SYMFIX_A", "libsymfix_a.so", a);
	table_reset();
	cgs_modules_refresh(&table);
	count = table.count;

	h = dlopen(a, RTLD_NOW | RTLD_LOCAL);
	ck_assert_msg(h != NULL, "dlopen %s: %s", a, dlerror());
	call_where(h, "symfix_a_where", &pc);
	cgs_modules_refresh(&table);
	ck_assert_uint_eq(table.epoch, 2);
	ck_assert_uint_eq(table.count, count + 1);
	m = cgs_modules_find(&table, pc, 2);
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m->path, a);
	ck_assert_uint_eq(m->load_epoch, 2);
	ck_assert_ptr_null(cgs_modules_find(&table, pc, 1));

	ck_assert_int_eq(dlclose(h), 0);
	cgs_modules_refresh(&table);
	ck_assert_uint_eq(table.epoch, 3);
	ck_assert_uint_eq(table.count, count + 1);
	ck_assert_uint_eq(m->unload_epoch, 3);
	ck_assert_ptr_eq(cgs_modules_find(&table, pc, 2), m);
	ck_assert_ptr_null(cgs_modules_find(&table, pc, 3));

	cgs_modules_refresh(&table);
	ck_assert_uint_eq(table.epoch, 3);
}
END_TEST

/* dlopen("./lib.so") is recorded with an absolute path, and a later chdir
 * does not make it look like another object. */
START_TEST(refresh_relative_dlopen)
{
	char a[PATH_MAX], dir[PATH_MAX];
	const struct cgs_module *m;
	uintptr_t pc;
	uint32_t epoch;
	void *h;

	need_fixture("SYMFIX_A", "libsymfix_a.so", a);
	snprintf(dir, sizeof(dir), "%s", a);
	*strrchr(dir, '/') = '\0';
	ck_assert_int_eq(chdir(dir), 0);
	h = dlopen("./libsymfix_a.so", RTLD_NOW | RTLD_LOCAL);
	ck_assert_msg(h != NULL, "dlopen ./libsymfix_a.so: %s", dlerror());
	call_where(h, "symfix_a_where", &pc);
	table_reset();
	cgs_modules_refresh(&table);
	epoch = table.epoch;
	m = cgs_modules_find(&table, pc, epoch);
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m->path, a);

	ck_assert_int_eq(chdir("/"), 0);
	cgs_modules_refresh(&table);
	ck_assert_uint_eq(table.epoch, epoch);
	ck_assert_ptr_eq(cgs_modules_find(&table, pc, epoch), m);
	dlclose(h);
}
END_TEST

/* ---- resolve ---- */

START_TEST(resolve_in_test_binary)
{
	struct cgs_frame_info fi;
	struct cgs_symbolizer *s;
	const struct cgs_module *m;
	uintptr_t pc;
	int line = known_function(&pc);

	table_reset();
	cgs_modules_refresh(&table);
	m = cgs_modules_find(&table, pc, table.epoch);
	ck_assert_ptr_nonnull(m);
	s = cgs_sym_new(&table);
	ck_assert_ptr_nonnull(s);

	cgs_sym_resolve(s, pc, table.epoch, true, &fi);
	ck_assert_uint_eq(fi.addr, pc);
	ck_assert_ptr_nonnull(fi.function);
	ck_assert_str_eq(fi.function, "known_function");
	ck_assert_msg(ends_with(fi.file, "test_symbols.c"), "file %s", fi.file);
	ck_assert_int_eq(fi.line, line);
	ck_assert_str_eq(fi.module, m->path);
	ck_assert_uint_eq(fi.offset, pc - m->bias);

	/* The function's entry, as the innermost frame. */
	cgs_sym_resolve(s, (uintptr_t)known_function, table.epoch, false, &fi);
	ck_assert_ptr_nonnull(fi.function);
	ck_assert_str_eq(fi.function, "known_function");
	ck_assert_msg(ends_with(fi.file, "test_symbols.c"), "file %s", fi.file);

	/* Again, from the cache. */
	cgs_sym_resolve(s, pc, table.epoch, true, &fi);
	ck_assert_str_eq(fi.function, "known_function");
	ck_assert_int_eq(fi.line, line);
	cgs_sym_free(s);
}
END_TEST

START_TEST(resolve_return_after_noreturn_call)
{
	struct cgs_frame_info fi;
	struct cgs_symbolizer *s;

	if (!setjmp(noreturn_jump))
		ends_in_noreturn_call();
	table_reset();
	cgs_modules_refresh(&table);
	s = cgs_sym_new(&table);
	cgs_sym_resolve(s, noreturn_pc, table.epoch, true, &fi);
	ck_assert_ptr_nonnull(fi.function);
	ck_assert_str_eq(fi.function, "ends_in_noreturn_call");
	ck_assert_int_eq(fi.line, noreturn_line);
	cgs_sym_free(s);
}
END_TEST

START_TEST(resolve_outside_modules)
{
	struct cgs_frame_info fi;
	struct cgs_symbolizer *s;

	table_reset();
	cgs_modules_refresh(&table);
	s = cgs_sym_new(&table);
	ck_assert_ptr_nonnull(s);
	cgs_sym_resolve(s, 0, table.epoch, true, &fi);
	ck_assert_ptr_null(fi.module);
	ck_assert_ptr_null(fi.function);
	cgs_sym_resolve(s, 16, table.epoch, false, &fi);
	ck_assert_uint_eq(fi.addr, 16);
	ck_assert_ptr_null(fi.module);
	ck_assert_ptr_null(fi.file);
	ck_assert_int_eq(fi.line, 0);
	ck_assert_uint_eq(fi.offset, 0);
	cgs_sym_resolve(NULL, 16, 0, false, &fi);
	ck_assert_ptr_null(fi.module);
	cgs_sym_resolve(s, 16, 0, false, NULL);
	cgs_sym_free(s);
	cgs_sym_free(NULL);
}
END_TEST

/* C++ names are demangled when the process has __cxa_demangle. */
START_TEST(resolve_demangles_cxx)
{
	struct cgs_frame_info fi;
	struct cgs_symbolizer *s;
	void *h = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_GLOBAL);
	void *fn;

	if (!h) {
		fprintf(stderr, "symbols: note: no libstdc++.so.6, "
			"demangling not checked\n");
		return;
	}
	fn = dlsym(h, "_ZNSt9bad_allocD1Ev");
	ck_assert_ptr_nonnull(fn);
	table_reset();
	cgs_modules_refresh(&table);
	s = cgs_sym_new(&table);
	cgs_sym_resolve(s, (uintptr_t)fn, table.epoch, false, &fi);
	ck_assert_ptr_nonnull(fi.function);
	ck_assert_str_eq(fi.function, "std::bad_alloc::~bad_alloc()");
	cgs_sym_free(s);
}
END_TEST

/* A stack taken while a library was being loaded (in its constructor)
 * carries the epoch before its load: it still resolves. */
START_TEST(resolve_before_load_epoch)
{
	char p[PATH_MAX], a[CGS_MODULE_PATH_MAX];
	struct cgs_module proto;
	struct cgs_frame_info fi;
	struct cgs_symbolizer *s;
	uint64_t bias = 0x7e0000000000ull, fn;

	need_fixture("SYMFIX_A", "libsymfix_a.so", p);
	make_tmpdir();
	tmp_copy(p, "liba.so", a);
	fn = file_symbol(a, "symfix_a_where");
	ck_assert_uint_ne(fn, 0);
	table_reset();
	entry_from_file(a, bias, &proto);
	add_entry(&proto, a, 5, CGS_EPOCH_LIVE);
	table.epoch = 5;
	s = cgs_sym_new(&table);
	cgs_sym_resolve(s, bias + fn, 4, false, &fi);
	ck_assert_str_eq(fi.module, a);
	ck_assert_ptr_nonnull(fi.function);
	ck_assert_str_eq(fi.function, "symfix_a_where");
	cgs_sym_free(s);
	remove_tmpdir();
}
END_TEST

/* ---- unload (PITFALLS 13) ---- */

struct loaded {
	uintptr_t pc;
	int line;
	uint32_t epoch;
	const struct cgs_module *mod;
};

static void *load_fixture(const char *path, const char *fn, struct loaded *l)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	ck_assert_msg(h != NULL, "dlopen %s: %s", path, dlerror());
	l->line = call_where(h, fn, &l->pc);
	cgs_modules_refresh(&table);
	l->epoch = table.epoch;
	l->mod = cgs_modules_find(&table, l->pc, l->epoch);
	ck_assert_ptr_nonnull(l->mod);
	ck_assert_str_eq(l->mod->path, path);
	return h;
}

static void expect_frame(struct cgs_symbolizer *s, uintptr_t pc, uint32_t epoch,
			 const char *fn, const char *file, int line,
			 const char *module)
{
	struct cgs_frame_info fi;

	cgs_sym_resolve(s, pc, epoch, true, &fi);
	ck_assert_ptr_nonnull(fi.module);
	ck_assert_str_eq(fi.module, module);
	ck_assert_msg(fi.function && strcmp(fi.function, fn) == 0,
		      "function %s, expected %s", fi.function, fn);
	ck_assert_msg(ends_with(fi.file, file), "file %s, expected %s",
		      fi.file, file);
	ck_assert_int_eq(fi.line, line);
}

START_TEST(unloaded_library_keeps_its_name)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct loaded la, lb;
	struct cgs_symbolizer *s;
	bool same_base;
	void *h;

	need_fixture("SYMFIX_A", "libsymfix_a.so", a);
	need_fixture("SYMFIX_B", "libsymfix_b.so", b);
	table_reset();
	cgs_modules_refresh(&table);
	s = cgs_sym_new(&table);

	h = load_fixture(a, "symfix_a_where", &la);
	/* Resolve while loaded too, so that the cache holds A's answer. */
	expect_frame(s, la.pc, la.epoch, "symfix_a_where", "/liba.c",
		     la.line, a);
	ck_assert_int_eq(dlclose(h), 0);
	cgs_modules_refresh(&table);
	ck_assert_uint_eq(la.mod->unload_epoch, table.epoch);

	h = load_fixture(b, "symfix_b_where", &lb);
	same_base = lb.mod->bias == la.mod->bias;
	if (!same_base)
		fprintf(stderr, "symbols: note: B loaded at %#llx, not at A's "
			"%#llx; the overlap case is not exercised\n",
			(unsigned long long)lb.mod->bias,
			(unsigned long long)la.mod->bias);

	expect_frame(s, la.pc, la.epoch, "symfix_a_where", "/liba.c",
		     la.line, a);
	expect_frame(s, lb.pc, lb.epoch, "symfix_b_where", "/libb.c",
		     lb.line, b);
	if (same_base) /* A's old address now lies in B: the same code. */
		expect_frame(s, la.pc, lb.epoch, "symfix_b_where", "/libb.c",
			     lb.line, b);
	cgs_sym_free(s);

	/* A fresh symboliser, B first: no order dependence. */
	s = cgs_sym_new(&table);
	expect_frame(s, lb.pc, lb.epoch, "symfix_b_where", "/libb.c",
		     lb.line, b);
	expect_frame(s, la.pc, la.epoch, "symfix_a_where", "/liba.c",
		     la.line, a);
	cgs_sym_free(s);
	dlclose(h);
}
END_TEST

/* ---- malformed files ---- */

/* An entry for `path` that claims to be A (A's build-id and span). */
static uint64_t add_as_a(const struct cgs_module *a, const char *path)
{
	uint64_t bias = 0x7f0000000000ull + (uint64_t)table.count * 0x100000;
	struct cgs_module proto = *a;

	proto.lo += bias - a->bias;
	proto.hi += bias - a->bias;
	proto.bias = bias;
	add_entry(&proto, path, 1, CGS_EPOCH_LIVE);
	return bias;
}

static void expect_unknown(struct cgs_symbolizer *s, uint64_t addr,
			   const char *module)
{
	struct cgs_frame_info fi;

	cgs_sym_resolve(s, addr, 1, false, &fi);
	ck_assert_msg(fi.function == NULL, "%s: function %s", module,
		      fi.function);
	ck_assert_ptr_null(fi.file);
	ck_assert_int_eq(fi.line, 0);
	if (module)
		ck_assert_str_eq(fi.module, module);
	else
		ck_assert_ptr_null(fi.module);
}

static void expect_a(struct cgs_symbolizer *s, uint64_t addr,
		     const char *module)
{
	struct cgs_frame_info fi;

	cgs_sym_resolve(s, addr, 1, false, &fi);
	ck_assert_str_eq(fi.module, module);
	ck_assert_msg(fi.function && strcmp(fi.function, "symfix_a_where") == 0,
		      "%s: function %s", module, fi.function);
	ck_assert(ends_with(fi.file, "/liba.c"));
}

START_TEST(malformed_files_give_unknown)
{
	static const off_t cuts[] = { 0, 4, 5, 63, 64, 65, 200, 1000, 4096 };
	char a[PATH_MAX], b[PATH_MAX], p[CGS_MODULE_PATH_MAX];
	unsigned char junk[4096];
	struct cgs_module ea, eb;
	struct cgs_symbolizer *s;
	struct stat st;
	uint64_t fn, bias;
	uint32_t first;

	need_fixture("SYMFIX_A", "libsymfix_a.so", a);
	need_fixture("SYMFIX_B", "libsymfix_b.so", b);
	fn = file_symbol(a, "symfix_a_where");
	ck_assert_uint_ne(fn, 0);
	ck_assert_int_eq(stat(a, &st), 0);
	entry_from_file(a, 0, &ea);
	entry_from_file(b, 0, &eb);
	ck_assert_uint_gt(ea.build_id_len, 0);
	make_tmpdir();
	table_reset();
	table.epoch = 1;

	/* Control: an intact copy resolves. */
	snprintf(p, sizeof(p), "%s/intact.so", tmpdir);
	copy_file(a, p, -1);
	bias = add_as_a(&ea, p);
	s = cgs_sym_new(&table);
	expect_a(s, bias + fn, p);
	cgs_sym_free(s);

	first = table.count;
	for (size_t i = 0; i < CGS_ARRAY_LEN(cuts); i++) {
		snprintf(p, sizeof(p), "%s/cut%zu.so", tmpdir, i);
		copy_file(a, p, cuts[i]);
		add_as_a(&ea, p);
	}
	for (off_t cut = st.st_size / 8; cut < st.st_size;
	     cut += st.st_size / 8) {
		snprintf(p, sizeof(p), "%s/cut%lld.so", tmpdir, (long long)cut);
		copy_file(a, p, cut);
		add_as_a(&ea, p);
	}
	snprintf(p, sizeof(p), "%s/cutlast.so", tmpdir);
	copy_file(a, p, st.st_size - 1);
	add_as_a(&ea, p);

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 131 + 7);
	snprintf(p, sizeof(p), "%s/garbage", tmpdir);
	write_bytes(p, junk, sizeof(junk));
	add_as_a(&ea, p);
	memcpy(junk, "\177ELF", 4); /* passes the magic check, then junk */
	snprintf(p, sizeof(p), "%s/garbage_elf", tmpdir);
	write_bytes(p, junk, sizeof(junk));
	add_as_a(&ea, p);
	snprintf(p, sizeof(p), "%s/fifo", tmpdir);
	ck_assert_int_eq(mkfifo(p, 0600), 0);
	add_as_a(&ea, p);
	add_as_a(&ea, tmpdir);
	add_as_a(&ea, "/dev/zero");
	snprintf(p, sizeof(p), "%s/missing.so", tmpdir);
	add_as_a(&ea, p);
	/* The file was replaced by another library: B under A's build-id. */
	snprintf(p, sizeof(p), "%s/replaced.so", tmpdir);
	copy_file(b, p, -1);
	add_as_a(&ea, p);

	s = cgs_sym_new(&table);
	for (uint32_t i = first; i < table.count; i++) {
		uint64_t addr = table.mods[i].bias + fn;

		expect_unknown(s, addr, table.mods[i].path);
		expect_unknown(s, addr + 4, table.mods[i].path);
	}
	cgs_sym_free(s);
	remove_tmpdir();
}
END_TEST

START_TEST(malformed_entries_give_unknown)
{
	char p[PATH_MAX], a[CGS_MODULE_PATH_MAX];
	struct cgs_module ea, *m;
	struct cgs_symbolizer *s;
	uint64_t fn, bias;

	need_fixture("SYMFIX_A", "libsymfix_a.so", p);
	make_tmpdir();
	tmp_copy(p, "liba.so", a);
	fn = file_symbol(a, "symfix_a_where");
	entry_from_file(a, 0, &ea);
	table_reset();
	table.epoch = 1;

	/* The right file with a different build-id. */
	bias = add_as_a(&ea, a);
	table.mods[table.count - 1].build_id[0] ^= 0xff;
	s = cgs_sym_new(&table);
	expect_unknown(s, bias + fn, a);
	cgs_sym_free(s);

	/* No build-id recorded, and a span that does not match the file. */
	bias = add_as_a(&ea, a);
	m = &table.mods[table.count - 1];
	m->build_id_len = 0;
	m->hi += 0x1000;
	s = cgs_sym_new(&table);
	expect_unknown(s, bias + fn, a);
	cgs_sym_free(s);

	/* Relative, empty and unterminated paths, the vdso. */
	bias = add_as_a(&ea, "relative/liba.so");
	s = cgs_sym_new(&table);
	expect_unknown(s, bias + fn, "relative/liba.so");
	cgs_sym_free(s);
	bias = add_as_a(&ea, "");
	bias = add_as_a(&ea, "[vdso]");
	s = cgs_sym_new(&table);
	expect_unknown(s, bias + fn, "[vdso]");
	expect_unknown(s, bias - 0x100000 + fn, NULL);
	cgs_sym_free(s);
	bias = add_as_a(&ea, NULL);
	memset(table.mods[table.count - 1].path, 'x', CGS_MODULE_PATH_MAX);
	s = cgs_sym_new(&table);
	expect_unknown(s, bias + fn, NULL);
	cgs_sym_free(s);
	remove_tmpdir();
}
END_TEST

/* Byte-flipped copies of A (build-id intact): no crash, whatever the answer. */
START_TEST(corrupted_files_do_not_crash)
{
	char a[PATH_MAX], p[CGS_MODULE_PATH_MAX];
	struct cgs_module ea;
	struct cgs_symbolizer *s;
	struct cgs_frame_info fi;
	struct stat st;
	uint64_t fn, rnd = 0x2545f4914f6cdd1dull;
	unsigned char *img;
	int fd;

	need_fixture("SYMFIX_A", "libsymfix_a.so", a);
	fn = file_symbol(a, "symfix_a_where");
	entry_from_file(a, 0, &ea);
	ck_assert_int_eq(stat(a, &st), 0);
	img = malloc(st.st_size);
	ck_assert_ptr_nonnull(img);
	fd = open(a, O_RDONLY);
	ck_assert_int_eq(read(fd, img, st.st_size), st.st_size);
	close(fd);
	make_tmpdir();
	table_reset();
	table.epoch = 1;
	for (int v = 0; v < 64; v++) {
		unsigned char *copy = malloc(st.st_size);

		memcpy(copy, img, st.st_size);
		for (int k = 0; k < 1 + v % 8; k++) {
			rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
			/* Keep the ELF header's magic; hit anything else. */
			copy[4 + rnd % (st.st_size - 4)] ^=
				(unsigned char)(rnd >> 32) | 1;
		}
		snprintf(p, sizeof(p), "%s/flip%d.so", tmpdir, v);
		write_bytes(p, copy, st.st_size);
		free(copy);
		add_as_a(&ea, p);
	}
	s = cgs_sym_new(&table);
	for (uint32_t i = 0; i < table.count; i++) {
		cgs_sym_resolve(s, table.mods[i].bias + fn, 1, false, &fi);
		ck_assert_str_eq(fi.module, table.mods[i].path);
		cgs_sym_resolve(s, table.mods[i].bias + fn + 8, 1, true, &fi);
	}
	cgs_sym_free(s);
	free(img);
	remove_tmpdir();
}
END_TEST

/* ---- inline ---- */

/* As in symfix/libinline.c. */
struct symfix_inline_where {
	uintptr_t pc;
	int inner_line;
	int outer_line;
	int caller_line;
};

typedef void (*inline_caller_fn)(struct symfix_inline_where *w);

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static void expect_same_frame(const struct cgs_frame_info *a,
			      const struct cgs_frame_info *b)
{
	ck_assert_uint_eq(a->addr, b->addr);
	ck_assert_uint_eq(a->offset, b->offset);
	ck_assert_int_eq(a->line, b->line);
	ck_assert_msg(same_str(a->function, b->function), "function %s / %s",
		      a->function, b->function);
	ck_assert_msg(same_str(a->module, b->module), "module %s / %s",
		      a->module, b->module);
	ck_assert_msg(same_str(a->file, b->file), "file %s / %s", a->file,
		      b->file);
}

static void expect_inline_frame(const struct cgs_frame_info *fi,
				const char *fn, int line)
{
	ck_assert_msg(fi->function && strcmp(fi->function, fn) == 0,
		      "function %s, expected %s", fi->function, fn);
	ck_assert_msg(ends_with(fi->file, "/libinline.c"), "%s: file %s", fn,
		      fi->file);
	ck_assert_msg(fi->line == line, "%s: line %d, expected %d", fn,
		      fi->line, line);
}

/* Loads the inline fixture and runs its caller; the table is refreshed. */
static void *load_inline(char *path, struct symfix_inline_where *w)
{
	inline_caller_fn caller;
	void *h;

	need_fixture("SYMFIX_INLINE", "libsymfix_inline.so", path);
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	ck_assert_msg(h != NULL, "dlopen %s: %s", path, dlerror());
	caller = (inline_caller_fn)dlsym(h, "symfix_inline_caller");
	ck_assert_ptr_nonnull(caller);
	memset(w, 0, sizeof(*w));
	caller(w);
	ck_assert_uint_ne(w->pc, 0);
	table_reset();
	cgs_modules_refresh(&table);
	return h;
}

START_TEST(inline_chain_of_return_address)
{
	char path[PATH_MAX];
	struct symfix_inline_where w;
	struct cgs_frame_info fi[8], again[8], one;
	struct cgs_symbolizer *s, *fresh;
	const struct cgs_module *m;
	void *h = load_inline(path, &w);
	int n;

	m = cgs_modules_find(&table, w.pc, table.epoch);
	ck_assert_ptr_nonnull(m);
	s = cgs_sym_new(&table);
	ck_assert_ptr_nonnull(s);
	n = cgs_sym_resolve_inline(s, w.pc, table.epoch, true, fi, 8);
	ck_assert_int_eq(n, 3);
	expect_inline_frame(&fi[0], "symfix_inline_inner", w.inner_line);
	expect_inline_frame(&fi[1], "symfix_inline_outer", w.outer_line);
	expect_inline_frame(&fi[2], "symfix_inline_caller", w.caller_line);
	for (int k = 0; k < n; k++) {
		ck_assert_uint_eq(fi[k].addr, w.pc);
		ck_assert_str_eq(fi[k].module, path);
		ck_assert_uint_eq(fi[k].offset, w.pc - m->bias);
	}
	/* The innermost frame is what cgs_sym_resolve gives. */
	cgs_sym_resolve(s, w.pc, table.epoch, true, &one);
	expect_same_frame(&one, &fi[0]);

	/* From the cache: the same answer, the same strings. */
	ck_assert_int_eq(cgs_sym_resolve_inline(s, w.pc, table.epoch, true,
						again, 8), 3);
	for (int k = 0; k < n; k++) {
		expect_same_frame(&again[k], &fi[k]);
		ck_assert_ptr_eq(again[k].function, fi[k].function);
	}

	/* Truncated to max: the innermost frames. */
	memset(again, 0, sizeof(again));
	ck_assert_int_eq(cgs_sym_resolve_inline(s, w.pc, table.epoch, true,
						again, 2), 2);
	expect_same_frame(&again[0], &fi[0]);
	expect_same_frame(&again[1], &fi[1]);
	ck_assert_ptr_null(again[2].function);
	ck_assert_int_eq(cgs_sym_resolve_inline(s, w.pc, table.epoch, true,
						again, 1), 1);
	expect_same_frame(&again[0], &fi[0]);
	ck_assert_int_eq(cgs_sym_resolve_inline(s, w.pc, table.epoch, true,
						again, 0), 0);
	ck_assert_int_eq(cgs_sym_resolve_inline(s, w.pc, table.epoch, true,
						NULL, 8), 0);

	/* A second symboliser asked for the chain first (fi's strings belong
	 * to the first one: free it after). */
	fresh = cgs_sym_new(&table);
	ck_assert_int_eq(cgs_sym_resolve_inline(fresh, w.pc, table.epoch, true,
						again, 8), 3);
	for (int k = 0; k < n; k++)
		expect_same_frame(&again[k], &fi[k]);
	cgs_sym_free(fresh);
	cgs_sym_free(s);
	dlclose(h);
}
END_TEST

START_TEST(inline_none_is_one_frame)
{
	char path[PATH_MAX];
	struct symfix_inline_where w;
	struct cgs_frame_info fi[8], one;
	struct cgs_symbolizer *s;
	int (*plain)(uintptr_t *);
	uintptr_t pc;
	void *h = load_inline(path, &w);
	int line;

	*(void **)&plain = dlsym(h, "symfix_inline_plain");
	ck_assert_ptr_nonnull(plain);
	line = plain(&pc);
	s = cgs_sym_new(&table);

	ck_assert_int_eq(cgs_sym_resolve_inline(s, pc, table.epoch, true, fi, 8), 1);
	cgs_sym_resolve(s, pc, table.epoch, true, &one);
	expect_same_frame(&fi[0], &one);
	expect_inline_frame(&fi[0], "symfix_inline_plain", line);

	/* This binary, built without optimisation. */
	line = known_function(&pc);
	ck_assert_int_eq(cgs_sym_resolve_inline(s, pc, table.epoch, true, fi, 8), 1);
	cgs_sym_resolve(s, pc, table.epoch, true, &one);
	expect_same_frame(&fi[0], &one);
	ck_assert_str_eq(fi[0].function, "known_function");
	ck_assert_int_eq(fi[0].line, line);

	/* No module, no symboliser. */
	ck_assert_int_eq(cgs_sym_resolve_inline(s, 16, table.epoch, false, fi, 8), 1);
	ck_assert_uint_eq(fi[0].addr, 16);
	ck_assert_ptr_null(fi[0].module);
	ck_assert_ptr_null(fi[0].function);
	ck_assert_int_eq(cgs_sym_resolve_inline(NULL, 16, 0, false, fi, 8), 1);
	ck_assert_uint_eq(fi[0].addr, 16);
	ck_assert_ptr_null(fi[0].function);
	cgs_sym_free(s);
	dlclose(h);
}
END_TEST

/* Copies of the inline fixture with bytes flipped in its DWARF (build-id
 * intact, so the DWARF is read): any answer, but no crash or hang, and at
 * least the frame itself. */
START_TEST(inline_corrupted_dwarf_does_not_crash)
{
	char path[PATH_MAX], p[CGS_MODULE_PATH_MAX];
	struct symfix_inline_where w;
	struct cgs_module proto;
	struct cgs_frame_info fi[64];
	struct cgs_symbolizer *s;
	const struct cgs_module *m;
	uint64_t spans[16][2], rnd = 0x9e3779b97f4a7c15ull, off;
	size_t nspans = 0, total = 0;
	struct stat st;
	unsigned char *img;
	Elf_Scn *scn = NULL;
	Elf *elf;
	void *h = load_inline(path, &w);
	int fd, n;

	m = cgs_modules_find(&table, w.pc, table.epoch);
	ck_assert_ptr_nonnull(m);
	off = w.pc - m->bias;
	dlclose(h);
	entry_from_file(path, 0, &proto);

	/* The file offsets of its .debug_* sections. */
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	ck_assert_ptr_nonnull(elf);
	size_t shstrndx;
	ck_assert_int_eq(elf_getshdrstrndx(elf, &shstrndx), 0);
	while ((scn = elf_nextscn(elf, scn)) != NULL && nspans < 16) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS ||
		    !sh.sh_size)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || strncmp(name, ".debug_", 7) != 0)
			continue;
		spans[nspans][0] = sh.sh_offset;
		spans[nspans][1] = sh.sh_size;
		total += sh.sh_size;
		nspans++;
	}
	elf_end(elf);
	ck_assert_uint_gt(total, 0);
	img = malloc(st.st_size);
	ck_assert_ptr_nonnull(img);
	ck_assert_int_eq(pread(fd, img, st.st_size, 0), st.st_size);
	close(fd);

	make_tmpdir();
	table_reset();
	table.epoch = 1;
	/* Control: the intact copy gives the whole chain. */
	snprintf(p, sizeof(p), "%s/intact.so", tmpdir);
	write_bytes(p, img, st.st_size);
	add_as_a(&proto, p);
	for (int v = 0; v < 96; v++) {
		unsigned char *copy = malloc(st.st_size);

		ck_assert_ptr_nonnull(copy);
		memcpy(copy, img, st.st_size);
		for (int k = 0; k < 1 + v % 6; k++) {
			uint64_t at;
			size_t i = 0;

			rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
			at = rnd % total;
			while (at >= spans[i][1])
				at -= spans[i++][1];
			copy[spans[i][0] + at] ^= (unsigned char)(rnd >> 40) | 1;
		}
		snprintf(p, sizeof(p), "%s/flip%d.so", tmpdir, v);
		write_bytes(p, copy, st.st_size);
		free(copy);
		add_as_a(&proto, p);
	}
	s = cgs_sym_new(&table);
	for (uint32_t i = 0; i < table.count; i++) {
		uint64_t addr = table.mods[i].bias + off;

		n = cgs_sym_resolve_inline(s, addr, 1, true, fi, 64);
		ck_assert_int_ge(n, 1);
		ck_assert_int_le(n, 64);
		if (i == 0)
			ck_assert_int_eq(n, 3);
		for (int k = 0; k < n; k++) {
			ck_assert_uint_eq(fi[k].addr, addr);
			ck_assert_str_eq(fi[k].module, table.mods[i].path);
			/* The strings must be readable. */
			ck_assert_uint_lt(strlen(fi[k].function ? fi[k].function : ""), 1u << 20);
			ck_assert_uint_lt(strlen(fi[k].file ? fi[k].file : ""), 1u << 20);
		}
		cgs_sym_resolve_inline(s, addr - 7, 1, false, fi, 64);
	}
	cgs_sym_free(s);
	free(img);
	remove_tmpdir();
}
END_TEST

/* ---- go ---- */

/* The 1-based line of the first line of `path` that contains `needle`. */
static int line_containing(const char *path, const char *needle)
{
	char buf[1024];
	FILE *f = fopen(path, "r");
	int line = 0, found = 0;

	ck_assert_msg(f != NULL, "cannot read %s", path);
	while (!found && fgets(buf, sizeof(buf), f)) {
		line++;
		if (strstr(buf, needle))
			found = line;
	}
	fclose(f);
	return found;
}

START_TEST(resolve_go_function)
{
	char go[PATH_MAX];
	struct cgs_module proto;
	struct cgs_frame_info fi;
	struct cgs_symbolizer *s;
	uint64_t fn;

	need_fixture("SYMFIX_GO", "symfix_go", go);
	fn = file_symbol(go, "main.leakLoop");
	ck_assert_uint_ne(fn, 0);
	table_reset();
	entry_from_file(go, 0, &proto);
	add_entry(&proto, go, 1, CGS_EPOCH_LIVE);
	table.epoch = 1;
	s = cgs_sym_new(&table);
	cgs_sym_resolve(s, fn, 1, false, &fi);
	ck_assert_str_eq(fi.module, go);
	ck_assert_ptr_nonnull(fi.function);
	ck_assert_str_eq(fi.function, "main.leakLoop");
	ck_assert_msg(ends_with(fi.file, "/main.go"), "file %s", fi.file);
	ck_assert_int_eq(fi.line, line_containing(fi.file, "func leakLoop("));
	ck_assert_int_gt(fi.line, 0);
	cgs_sym_free(s);
}
END_TEST

/* Go inlines small functions: main.allocSize lives inside main.sizes's
 * code (symfix/goprog/inline.go). Some address there must give
 * [main.allocSize, main.sizes at the line of the call]; every address of
 * main.sizes ends in main.sizes itself. */
START_TEST(resolve_go_inline_chain)
{
	char go[PATH_MAX];
	struct cgs_module proto;
	struct cgs_frame_info fi[8], one;
	struct cgs_symbolizer *s;
	uint64_t fn, size = 0;
	int found = 0, call_line = 0, func_line = 0;

	need_fixture("SYMFIX_GO", "symfix_go", go);
	fn = file_symbol_sized(go, "main.sizes", &size);
	ck_assert_uint_ne(fn, 0);
	ck_assert_uint_gt(size, 0);
	table_reset();
	entry_from_file(go, 0, &proto);
	add_entry(&proto, go, 1, CGS_EPOCH_LIVE);
	table.epoch = 1;
	s = cgs_sym_new(&table);
	for (uint64_t a = fn; a < fn + size; a++) {
		int n = cgs_sym_resolve_inline(s, a, 1, false, fi, 8);

		ck_assert_int_ge(n, 1);
		ck_assert_msg(fi[n - 1].function &&
			      strcmp(fi[n - 1].function, "main.sizes") == 0,
			      "%#llx: outermost %s", (unsigned long long)a,
			      fi[n - 1].function);
		cgs_sym_resolve(s, a, 1, false, &one);
		expect_same_frame(&one, &fi[0]);
		if (n < 2 || !fi[0].function ||
		    strcmp(fi[0].function, "main.allocSize") != 0)
			continue;
		ck_assert_int_eq(n, 2);
		ck_assert_msg(ends_with(fi[0].file, "/inline.go"), "file %s",
			      fi[0].file);
		ck_assert_msg(ends_with(fi[1].file, "/inline.go"), "file %s",
			      fi[1].file);
		if (!found++) {
			call_line = line_containing(fi[1].file,
						    "total += allocSize(i)");
			func_line = line_containing(fi[0].file,
						    "func allocSize(");
			ck_assert_int_gt(call_line, 0);
			ck_assert_int_gt(func_line, 0);
		}
		ck_assert_int_eq(fi[1].line, call_line);
		/* The body: from the func line to the closing brace. */
		ck_assert_msg(fi[0].line >= func_line && fi[0].line <= func_line + 2,
			      "allocSize at line %d, declared at %d", fi[0].line,
			      func_line);
	}
	ck_assert_msg(found > 0, "no code of main.allocSize in main.sizes");
	cgs_sym_free(s);
}
END_TEST

/* ---- suite ---- */

static TCase *new_tcase(const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, 60);
	return tc;
}

static Suite *symbols_suite(void)
{
	Suite *s = suite_create("symbols");
	TCase *tc;
	char go[PATH_MAX];

	tc = new_tcase("modules");
	tcase_add_test(tc, find_respects_epochs);
	tcase_add_test(tc, refresh_records_this_process);
	tcase_add_test(tc, refresh_has_vdso);
	tcase_add_test(tc, refresh_follows_dlopen_and_dlclose);
	tcase_add_test(tc, refresh_relative_dlopen);
	suite_add_tcase(s, tc);

	tc = new_tcase("resolve");
	tcase_add_test(tc, resolve_in_test_binary);
	tcase_add_test(tc, resolve_return_after_noreturn_call);
	tcase_add_test(tc, resolve_outside_modules);
	tcase_add_test(tc, resolve_before_load_epoch);
	tcase_add_test(tc, resolve_demangles_cxx);
	suite_add_tcase(s, tc);

	tc = new_tcase("unload");
	tcase_add_test(tc, unloaded_library_keeps_its_name);
	suite_add_tcase(s, tc);

	tc = new_tcase("malformed");
	tcase_add_test(tc, malformed_files_give_unknown);
	tcase_add_test(tc, malformed_entries_give_unknown);
	tcase_add_test(tc, corrupted_files_do_not_crash);
	suite_add_tcase(s, tc);

	tc = new_tcase("inline");
	tcase_add_test(tc, inline_chain_of_return_address);
	tcase_add_test(tc, inline_none_is_one_frame);
	tcase_add_test(tc, inline_corrupted_dwarf_does_not_crash);
	suite_add_tcase(s, tc);

	if (fixture_path("SYMFIX_GO", "symfix_go", go, sizeof(go))) {
		tc = new_tcase("go");
		tcase_add_test(tc, resolve_go_function);
		tcase_add_test(tc, resolve_go_inline_chain);
		suite_add_tcase(s, tc);
	} else {
		fprintf(stderr, "symbols: Go fixture %s not found; "
			"the go test case is not run\n", go);
	}
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(symbols_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
