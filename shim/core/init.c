/* init.c - start-up, in two steps.
 *
 * Early (cgs_boot, from whichever interposed call comes first, possibly
 * before the shim's constructor): resolve the real functions, read the
 * options, map the shared region and its tables, and start measuring. It
 * uses only system calls and the region: no malloc, no stdio.
 *
 * Late (the constructor): what needs the program's libc fully up: the
 * module table, the dump signal, the fork handlers, and the watcher process.
 *
 * The shim stays off (every call passed through) when CGOSHIM_DISABLE=1, in
 * a setuid/setgid process (AT_SECURE: no environment is read and no file is
 * written), when this image's parent is traced and CGOSHIM_CHILDREN=0 or
 * RLIMIT_NPROC is low (cgs_nproc_tight), or
 * when the region cannot be mapped (one line on stderr says so). */
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cpuid.h>
#include <sys/auxv.h>
#include <sys/syscall.h>

#include <dlfcn.h>

#include "cgoshim.h"
#include "config.h"
#include "elfsym.h"
#include "gostack.h"
#include "leaks.h"
#include "log.h"
#include "modules.h"
#include "ring.h"
#include "shim.h"

extern char **environ;


enum { INIT_NONE, INIT_BUSY, INIT_ON, INIT_OFF };
static volatile int init_state;

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

uint32_t cgs_now_q(uint64_t tsc)
{
	uint32_t q = (uint32_t)((tsc - cgs_R->start_tsc) >> CGS_TIME_SHIFT);
	/* In a fork child, a block of its own is never dated in the fork's
	 * quantum: that one marks inherited blocks (region.h). */
	if (CGS_UNLIKELY(cgs_R->fork_generation) && q <= cgs_R->fork_q)
		q = cgs_R->fork_q + 1;
	return q;
}

static uint32_t tsc_flags(void)
{
	unsigned a, b, c, d;
	if (__get_cpuid(0x80000007, &a, &b, &c, &d) && (d & (1u << 8)))
		return CGS_TSC_CONSTANT | CGS_TSC_NONSTOP; /* invariant TSC */
	return 0;
}

static ssize_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	while (n < cap) {
		long k = syscall(SYS_read, fd, buf + n, cap - n);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	syscall(SYS_close, fd);
	return (ssize_t)n;
}

/* Whether the parent process has a cgoshim region mapped (it is traced). */
/* CGOSHIM_ONLY: whether the executable's path or base name matches. */
static bool exe_selected(const char *glob)
{
	char path[4096];
	long n = syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", path, sizeof(path) - 1);
	if (n <= 0)
		return false;
	path[n] = 0;
	const char *base = strrchr(path, '/');
	return cgs_glob_match(glob, path) || (base && cgs_glob_match(glob, base + 1));
}

static bool parent_traced(void)
{
	char path[48] = "/proc/", num[21];
	char buf[16384];
	strcat(path, cgs_u64_str((uint64_t)getppid(), num));
	strcat(path, "/maps");
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool found = false;
	size_t keep = 0;
	for (;;) {
		long k = syscall(SYS_read, fd, buf + keep, sizeof(buf) - 1 - keep);
		if (k <= 0)
			break;
		buf[keep + (size_t)k] = 0;
		if (strstr(buf, "/memfd:cgoshim")) {
			found = true;
			break;
		}
		size_t len = keep + (size_t)k;
		keep = len < 32 ? len : 32;
		memmove(buf, buf + len - keep, keep);
	}
	syscall(SYS_close, fd);
	return found;
}

static void fill_header(struct cgs_region *r)
{
	r->pid = getpid();
	r->start_tsc = cgs_rdtsc();
	r->start_mono_ns = clock_ns(CLOCK_MONOTONIC);
	r->start_real_ns = clock_ns(CLOCK_REALTIME);
	r->tsc_flags = tsc_flags();
	long n = syscall(SYS_readlink, "/proc/self/exe", r->exe, sizeof(r->exe) - 1);
	r->exe[n > 0 ? n : 0] = 0;
	ssize_t c = read_file("/proc/self/cmdline", r->cmdline, sizeof(r->cmdline) - 1);
	for (ssize_t i = 0; i < c; i++)
		if (!r->cmdline[i])
			r->cmdline[i] = ' ';
	while (c > 0 && r->cmdline[c - 1] == ' ')
		c--;
	r->cmdline[c > 0 ? c : 0] = 0;
}

static int self_range(struct dl_phdr_info *info, size_t size, void *data)
{
	uint64_t me = (uint64_t)(uintptr_t)&self_range;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && me >= lo && me < lo + ph->p_memsz) {
			cgs_stacks_set_self(lo, lo + ph->p_memsz);
			return 1;
		}
	}
	return 0;
}

static const char *env_value(char **env, const char *name)
{
	size_t n = strlen(name);
	for (char **e = env; e && *e; e++)
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

/* Start this image's watcher, or say in one line why there is none. */
void cgs_watcher_start(struct cgs_region *r)
{
	int rc = cgs_watcher_spawn(r);
	__atomic_store_n(&r->watcher_spawned, rc == 0, __ATOMIC_RELEASE);
	if (rc == -ENOENT)
		cgs_log("cannot find the watcher program cgoshim-watch (beside libcgoshim.so, in "
			"../libexec/cgoshim/ from it, in " CGOSHIM_LIBEXECDIR "/cgoshim/, or CGOSHIM_WATCHER); "
			"no report will be written", (const char *)NULL);
	else if (rc == -ENOEXEC)
		cgs_log("cannot run the watcher program ", cgs_watcher_path(), "; no report will be written",
			(const char *)NULL);
	else if (rc < 0)
		cgs_log("cannot start the watcher process; no report will be written", (const char *)NULL);
}

/* env: the settings (the environment, or cgoshim attach's options). */
static bool start(char **env, bool attached)
{
	struct cgs_options opts;
	if (getauxval(AT_SECURE))
		return false;
	cgs_options_parse(&opts, env, false);
	if (attached) {
		/* One process, the one attached to: a fork child measures
		 * nothing (its interposers pass through). */
		opts.children = false;
		opts.disable = false;
		opts.only[0] = 0;
	}
	if (opts.disable)
		return false;
	if (!attached && (!opts.children || cgs_nproc_tight()) && parent_traced())
		return false;
	if (opts.only[0] && !exe_selected(opts.only))
		return false; /* passive: every call passes through, no watcher */
	struct cgs_region *r = cgs_region_create(&opts);
	if (!r) {
		cgs_log("cannot map memory for the shim's state; measuring nothing in this process",
			(const char *)NULL);
		return false;
	}
	fill_header(r);
	r->attached = attached;
	r->modules = cgs_ralloc(r, sizeof(struct cgs_module_table));
	if (cgs_files_init(r) || cgs_leaks_init(r) || cgs_stacks_init(r) || !r->modules) {
		cgs_log("CGOSHIM_MEMORY too small for the shim's tables; measuring nothing", (const char *)NULL);
		cgs_region_drop_fd();
		return false;
	}
	/* Without memory for the rings the recorder stays off; the rest runs. */
	if (cgs_rings_init(r))
		cgs_log("CGOSHIM_MEMORY too small for the flight recorder; slow calls are not recorded",
			(const char *)NULL);
	dl_iterate_phdr(self_range, NULL);
	cgs_spawn_prepare(env_value(env, "CGOSHIM_WATCHER"));
	__atomic_store_n(&cgs_R, r, __ATOMIC_RELEASE);
	cgs_tstate_init();
	return true;
}

bool cgs_boot(void)
{
	if (!cgs_real_ready())
		cgs_real_resolve();
	if (cgs_t_guard || cgs_real_resolving())
		return false;
	int s = __atomic_load_n(&init_state, __ATOMIC_ACQUIRE);
	if (s == INIT_ON)
		return cgs_R != NULL;
	if (s != INIT_NONE || !environ)
		return false;
	if (!__atomic_compare_exchange_n(&init_state, &s, INIT_BUSY, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return false;
	int saved = errno;
	cgs_t_guard++;
	bool on = start(environ, false);
	cgs_t_guard--;
	errno = saved;
	__atomic_store_n(&init_state, on ? INIT_ON : INIT_OFF, __ATOMIC_RELEASE);
	return on;
}

/* Turn the shim off in this process (a fork child that cannot have a
 * region of its own, or CGOSHIM_CHILDREN=0). */
void cgs_turn_off(void);
void cgs_turn_off(void)
{
	__atomic_store_n(&cgs_R, NULL, __ATOMIC_RELEASE);
	__atomic_store_n(&init_state, INIT_OFF, __ATOMIC_RELEASE);
}

/* Turn it back on after cgs_turn_off (seccomp.c: a strict-mode or
 * PR_SET_TSC request that the kernel refused, or TSC reads allowed again). */
void cgs_turn_on(struct cgs_region *r);
void cgs_turn_on(struct cgs_region *r)
{
	__atomic_store_n(&init_state, INIT_ON, __ATOMIC_RELEASE);
	__atomic_store_n(&cgs_R, r, __ATOMIC_RELEASE);
}

/* Whether the program's calls reach this library: the global scope gives
 * its own definition of one of a few interposed names (preloaded, or
 * linked; not all of them: another allocator may come first). Loaded by
 * cgoshim attach (dlopen RTLD_LOCAL), or dlopen'd by accident, it does
 * not, and stays passive. (RTLD_DEFAULT from here searches the global
 * scope first, then this library's own: a name the global scope lacks
 * would be found here, so only names libc defines are asked.) */
static bool interposing(void)
{
	static const char *const names[] = { "malloc", "read", "openat" };
	void *(*ds)(void *, const char *) = cgs_elf_lookup("/libc.so.6", "dlsym");
	struct dl_phdr_info self;
	if (!ds || !cgs_self_object(&self))
		return true;
	for (size_t i = 0; i < CGS_ARRAY_LEN(names); i++) {
		void *mine = cgs_elf_lookup_in(&self, names[i]);
		if (!mine || ds(RTLD_DEFAULT, names[i]) == mine)
			return true;
	}
	return false;
}

/* What the constructor does once the early part is up. */
static void start_late(struct cgs_region *r)
{
	cgs_t_guard++;
	cgs_modules_refresh(r->modules);
	cgs_go_init(r->go_status, sizeof(r->go_status));
	cgs_t_guard--;
	cgs_signal_install();
	cgs_fork_install();
	cgs_watcher_start(r);
}

/* cgoshim attach (attach.c): start as a preloaded library would, with the
 * command's settings. The real functions are those the program's calls
 * reach now (the global scope: RTLD_DEFAULT), not the ones after this
 * library. 0, -EEXIST (started already, or preloaded), -EPERM (setuid), or
 * -ENOMEM (no region). */
int cgs_attach_boot(char **env)
{
	int s = INIT_OFF;
	if (cgs_R || !__atomic_compare_exchange_n(&init_state, &s, INIT_BUSY, false, __ATOMIC_ACQ_REL,
						   __ATOMIC_ACQUIRE))
		return -EEXIST;
	if (getauxval(AT_SECURE)) {
		__atomic_store_n(&init_state, INIT_OFF, __ATOMIC_RELEASE);
		return -EPERM;
	}
	int saved = errno;
	cgs_real_resolve_global();
	cgs_t_guard++;
	bool on = start(env, true);
	cgs_t_guard--;
	__atomic_store_n(&init_state, on ? INIT_ON : INIT_OFF, __ATOMIC_RELEASE);
	if (on)
		start_late(cgs_R);
	errno = saved;
	return on ? 0 : -ENOMEM;
}

__attribute__((constructor(101))) static void cgs_constructor(void)
{
	int saved = errno;
	/* dlopen'd: passive until cgoshim attach says otherwise. */
	if (!cgs_R && __atomic_load_n(&init_state, __ATOMIC_ACQUIRE) == INIT_NONE && !interposing()) {
		__atomic_store_n(&init_state, INIT_OFF, __ATOMIC_RELEASE);
		errno = saved;
		return;
	}
	if (!cgs_boot() && !cgs_R) {
		errno = saved;
		return;
	}
	struct cgs_region *r = cgs_R;
	start_late(r);
	errno = saved;
}

CGS_EXPORT const char *cgoshim_version(void)
{
	return CGOSHIM_VERSION;
}
