/* modules.c - the table of loaded objects, written inside the traced process.
 *
 * Writer side (cgs_modules_refresh). It runs inside interposed calls (the dl
 * hooks, start-up), possibly under a malloc hook, so it allocates nothing,
 * uses no stdio and no locale, works in fixed buffers on its own stack and
 * leaves errno as it found it. One refresh is one dl_iterate_phdr walk under
 * the table's lock:
 *   - each object is described by its load bias (dlpi_addr), the [lo, hi)
 *     span of its PT_LOAD segments, its path and the GNU build-id read from
 *     its PT_NOTE segments in memory;
 *   - an object that matches a live entry (same bias, lo and path) is marked
 *     seen; any other one is appended;
 *   - after the walk, live entries that were not seen are marked unloaded.
 * The main executable has an empty dlpi_name: its path is /proc/self/exe,
 * read once with a raw readlink. The vdso is recorded as "[vdso]" (no file
 * to read it from later; the symboliser skips names that start with '[').
 * A relative dlpi_name (dlopen("./x.so")) is made absolute with the current
 * directory; it is matched by its tail later, so a chdir does not make it
 * look like a new object.
 *
 * Epochs. A refresh that appends or unloads anything publishes the epoch
 * N = old + 1: appended entries get load_epoch = N, gone ones unload_epoch
 * = N. A stack captured at epoch E resolves against the entries with
 * load_epoch <= E < unload_epoch: a library unloaded by the refresh that
 * published N is still valid for stacks of epoch N - 1 and earlier, and one
 * loaded at the same address by that refresh or a later one only for N and
 * later. Entries are never removed or reused, so a table of unloaded
 * libraries stays readable for the report.
 *
 * Publication. A new entry is written completely, then made visible with a
 * release store of count; unload_epoch is written with an atomic store to an
 * entry that is already visible; the new epoch is stored (release) last, so
 * a thread that reads epoch N and then resolves finds every entry of N.
 * Readers (cgs_modules_find) take no lock.
 *
 * A full table records nothing more: every refresh that meets an unrecorded
 * object adds one to `dropped`, so it counts sightings, not objects.
 *
 * Locking. t->lock is held across the whole walk, so two refreshes cannot
 * interleave their seen/unloaded decisions. Lock order: t->lock, then the
 * loader lock taken by dl_iterate_phdr. Nothing that holds the loader lock
 * may call cgs_modules_refresh (the shim's malloc hooks do not). */
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "modules.h"
#include "seccomp.h"

struct walk {
	struct cgs_module_table *t;
	uint32_t epoch;      /* published if this refresh changes anything */
	uint32_t old_count;  /* entries that existed before this walk */
	bool changed;
	uintptr_t exe_phdr;  /* AT_PHDR: identifies the main executable */
	uintptr_t vdso;      /* AT_SYSINFO_EHDR: identifies the vdso */
	uint8_t seen[CGS_MODULES_MAX / 8];
};

/* The main executable's path, read once per process under t->lock. Later
 * reads could give "<path> (deleted)" and make the executable look new. */
static char exe_path[CGS_MODULE_PATH_MAX];

static size_t copy_str(char *dst, size_t cap, size_t at, const char *src)
{
	while (*src && at + 1 < cap)
		dst[at++] = *src++;
	dst[at] = '\0';
	return at;
}

static void read_exe_path(void)
{
	long n;

	if (exe_path[0] || !cgs_seccomp_allows0(SYS_readlink))
		return;
	n = syscall(SYS_readlink, "/proc/self/exe", exe_path,
		    sizeof(exe_path) - 1);
	if (n <= 0)
		n = 0;
	exe_path[n] = '\0';
}

/* Builds the absolute path of a named object. Returns false when the object
 * has no usable name and should not be recorded. */
static bool object_path(const struct walk *w, const struct dl_phdr_info *info,
			uint64_t lo, uint64_t hi, char *out)
{
	const char *name = info->dlpi_name;
	size_t at = 0;
	long n;

	out[0] = '\0';
	if ((uintptr_t)info->dlpi_phdr == w->exe_phdr) {
		read_exe_path();
		copy_str(out, CGS_MODULE_PATH_MAX, 0, exe_path);
		return exe_path[0] != '\0';
	}
	if (w->vdso && w->vdso >= lo && w->vdso < hi) {
		copy_str(out, CGS_MODULE_PATH_MAX, 0, "[vdso]");
		return true;
	}
	if (!name || !name[0])
		return false;
	if (name[0] != '/') {
		if (!cgs_seccomp_allows0(SYS_getcwd))
			return false;
		n = syscall(SYS_getcwd, out, CGS_MODULE_PATH_MAX - 1);
		if (n <= 1 || out[0] != '/')
			return false;
		at = strlen(out);
		if (out[at - 1] != '/')
			at = copy_str(out, CGS_MODULE_PATH_MAX, at, "/");
		if (name[0] == '.' && name[1] == '/')
			name += 2;
	}
	copy_str(out, CGS_MODULE_PATH_MAX, at, name);
	return true;
}

/* The [lo, hi) span of the PT_LOAD segments; false if there are none. */
static bool load_span(const struct dl_phdr_info *info, uint64_t *lo,
		      uint64_t *hi)
{
	bool any = false;

	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t a, b;

		if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
			continue;
		a = info->dlpi_addr + ph->p_vaddr;
		b = a + ph->p_memsz;
		if (!any || a < *lo)
			*lo = a;
		if (!any || b > *hi)
			*hi = b;
		any = true;
	}
	return any;
}

/* True if [vaddr, vaddr + size) lies in the file-backed part of a readable
 * PT_LOAD segment, i.e. can be read in memory without faulting. */
static bool in_readable_load(const struct dl_phdr_info *info, uint64_t vaddr,
			     uint64_t size)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_R))
			continue;
		if (vaddr >= ph->p_vaddr && size <= ph->p_filesz &&
		    vaddr - ph->p_vaddr <= ph->p_filesz - size)
			return true;
	}
	return false;
}

static uint32_t read_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Scans one note segment for NT_GNU_BUILD_ID; returns the id length copied
 * to out (at most CGS_BUILD_ID_MAX), 0 if absent. */
static uint8_t scan_notes(const uint8_t *p, uint64_t size, uint64_t align,
			  uint8_t *out)
{
	while (size >= 12) {
		uint32_t namesz = read_u32(p), descsz = read_u32(p + 4);
		uint32_t type = read_u32(p + 8);
		uint64_t desc_at = 12 + align_up(namesz, align);
		uint64_t next = desc_at + align_up(descsz, align);

		if (desc_at > size || next > size || descsz > size - desc_at)
			return 0;
		if (type == NT_GNU_BUILD_ID && namesz == 4 &&
		    memcmp(p + 12, "GNU", 4) == 0 && descsz > 0) {
			uint32_t n = descsz;

			if (n > CGS_BUILD_ID_MAX)
				n = CGS_BUILD_ID_MAX;

			memcpy(out, p + desc_at, n);
			return (uint8_t)n;
		}
		p += next;
		size -= next;
	}
	return 0;
}

static uint8_t read_build_id(const struct dl_phdr_info *info, uint8_t *out)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t align = ph->p_align == 8 ? 8 : 4;
		uint8_t n;

		if (ph->p_type != PT_NOTE)
			continue;
		if (!in_readable_load(info, ph->p_vaddr, ph->p_memsz))
			continue;
		n = scan_notes((const uint8_t *)(info->dlpi_addr + ph->p_vaddr),
			       ph->p_memsz, align, out);
		if (n)
			return n;
	}
	return 0;
}

static bool tail_matches(const char *path, const char *name)
{
	size_t lp = strlen(path), ln;

	if (name[0] == '.' && name[1] == '/')
		name += 2;
	ln = strlen(name);
	return ln < lp && path[lp - ln - 1] == '/' &&
	       strcmp(path + lp - ln, name) == 0;
}

/* Index of the live entry for this object, or -1. */
static int find_live(const struct walk *w, uint64_t bias, uint64_t lo,
		     const char *path, const char *name)
{
	const struct cgs_module_table *t = w->t;
	bool relative = name && name[0] && name[0] != '/';

	for (uint32_t i = 0; i < w->old_count; i++) {
		const struct cgs_module *m = &t->mods[i];

		if (m->bias != bias || m->lo != lo ||
		    m->unload_epoch != CGS_EPOCH_LIVE)
			continue;
		if (strcmp(m->path, path) == 0 ||
		    (relative && tail_matches(m->path, name)))
			return (int)i;
	}
	return -1;
}

static void append(struct walk *w, const struct dl_phdr_info *info,
		   uint64_t lo, uint64_t hi, const char *path)
{
	struct cgs_module_table *t = w->t;
	uint32_t n = t->count;
	struct cgs_module *m;

	if (n >= CGS_MODULES_MAX) {
		__atomic_add_fetch(&t->dropped, 1, __ATOMIC_RELAXED);
		return;
	}
	m = &t->mods[n];
	memset(m, 0, sizeof(*m));
	m->bias = info->dlpi_addr;
	m->lo = lo;
	m->hi = hi;
	m->load_epoch = w->epoch;
	m->unload_epoch = CGS_EPOCH_LIVE;
	m->build_id_len = read_build_id(info, m->build_id);
	copy_str(m->path, sizeof(m->path), 0, path);
	__atomic_store_n(&t->count, n + 1, __ATOMIC_RELEASE);
	w->changed = true;
}

static int visit(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct walk *w = arg;
	char path[CGS_MODULE_PATH_MAX];
	uint64_t lo = 0, hi = 0;
	int i;

	(void)size;
	if (!load_span(info, &lo, &hi))
		return 0;
	if (!object_path(w, info, lo, hi, path))
		return 0;
	i = find_live(w, info->dlpi_addr, lo, path, info->dlpi_name);
	if (i >= 0)
		w->seen[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		append(w, info, lo, hi, path);
	return 0;
}

static void mark_unloaded(struct walk *w)
{
	struct cgs_module_table *t = w->t;

	for (uint32_t i = 0; i < w->old_count; i++) {
		struct cgs_module *m = &t->mods[i];

		if (m->unload_epoch != CGS_EPOCH_LIVE ||
		    (w->seen[i / 8] & (1u << (i % 8))))
			continue;
		__atomic_store_n(&m->unload_epoch, w->epoch, __ATOMIC_RELEASE);
		w->changed = true;
	}
}

void cgs_modules_refresh(struct cgs_module_table *t)
{
	int saved_errno = errno;
	struct walk w;

	memset(&w, 0, sizeof(w));
	w.t = t;
	w.exe_phdr = getauxval(AT_PHDR);
	w.vdso = getauxval(AT_SYSINFO_EHDR);

	cgs_spin_lock(&t->lock);
	w.epoch = t->epoch + 1;
	w.old_count = t->count;
	if (w.old_count > CGS_MODULES_MAX)
		w.old_count = CGS_MODULES_MAX;
	dl_iterate_phdr(visit, &w);
	mark_unloaded(&w);
	if (w.changed)
		__atomic_store_n(&t->epoch, w.epoch, __ATOMIC_RELEASE);
	cgs_spin_unlock(&t->lock);

	errno = saved_errno;
}

const struct cgs_module *cgs_modules_find(const struct cgs_module_table *t,
					  uint64_t addr, uint32_t epoch)
{
	uint32_t n = __atomic_load_n(&t->count, __ATOMIC_ACQUIRE);
	const struct cgs_module *best = NULL;

	if (n > CGS_MODULES_MAX)
		n = CGS_MODULES_MAX;
	for (uint32_t i = 0; i < n; i++) {
		const struct cgs_module *m = &t->mods[i];
		uint32_t unload;

		if (addr < m->lo || addr >= m->hi)
			continue;
		unload = __atomic_load_n(&m->unload_epoch, __ATOMIC_ACQUIRE);
		if (m->load_epoch > epoch || epoch >= unload)
			continue;
		/* Ties: the most recently loaded wins; >= lets a later index
		 * win among entries of the same epoch. */
		if (!best || m->load_epoch >= best->load_epoch)
			best = m;
	}
	return best;
}
