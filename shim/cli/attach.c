/* attach.c - `cgoshim attach [OPTION]... PID`: measure a running process.
 *
 * With ptrace (not gdb: no dependency, no symbols needed, and a pause of
 * about a millisecond instead of gdb's start-up, which keeps the process
 * stopped for seconds; README "Attach"):
 *
 *  1. Checks that leave the process untouched: it exists, runs a dynamic
 *     libc (a static binary has no dlopen), is not under seccomp (the
 *     injected system calls could kill it), not traced, not stopped, and
 *     has no cgoshim in it already (preloaded, or another attach).
 *  2. Every thread is stopped: PTRACE_SEIZE + PTRACE_INTERRUPT for each
 *     task in /proc/PID/task, until a pass finds no new one (a thread
 *     created meanwhile is seen by the next pass).
 *  3. In one thread (one stopped in a system call if there is one: it holds
 *     no lock of malloc's or the loader's), with its registers (general and
 *     the whole xsave area) saved: an mmap system call gives a stack and a
 *     scratch area (the call never runs on the thread's own stack: a Go
 *     thread may be on a small goroutine stack); then calls on that stack:
 *     libc's dlopen(libcgoshim.so, RTLD_NOW | RTLD_LOCAL), dlsym for the
 *     entry points, cgoshim_attach_init(settings) (shim/interpose/attach.c:
 *     starts the shim and its watcher, redirects the GOT entries). Each call
 *     returns to address 0: the SIGSEGV stop there is the call's end, and is
 *     never delivered. orig_rax = -1 keeps the kernel from restarting the
 *     thread's interrupted system call with the injected registers; the
 *     saved registers, put back after, restart it as it would have.
 *     A signal that arrives for the thread meanwhile is kept (its siginfo)
 *     and delivered when the thread is let go.
 *  4. munmap of the scratch area, registers back, every thread let go
 *     (PTRACE_DETACH). The pause (first stop to last release) is printed.
 *  5. Waits for --duration, the process's end, or SIGINT/SIGTERM. At the
 *     end of the process the watcher writes the final report as usual.
 *     Otherwise 2-4 again with cgoshim_attach_detach(): the GOT entries are
 *     put back and the watcher writes the final report; the command waits
 *     for the watcher to finish. The library stays mapped, passive. */
#include <dirent.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>

#include "attach.h"
#include "region.h"

#define SCRATCH_SIZE (1u << 20) /* stack and strings */
#define STRINGS_SIZE (64u << 10)
#define CALL_TIMEOUT_NS 10000000000LL
/* An injected call still running after this may wait for a lock that a
 * stopped thread holds (malloc's, the loader's): the other threads are let
 * run until it returns, then stopped again. */
#define RELEASE_NS 200000000LL

static pid_t target;
static volatile sig_atomic_t stop_sig;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = snprintf(buf, sizeof(buf), "cgoshim attach: ");
	vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	strcat(buf, "\n");
	if (write(2, buf, strlen(buf)) < 0) {
		/* nothing else to say it with */
	}
}

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap + 1);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
		}
		ssize_t k = read(fd, buf + n, cap - n);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

static bool read_mem(uint64_t at, void *buf, size_t n);

/* ---- the process's maps --------------------------------------------------- */

struct maps_view {
	uint64_t libc_base;
	char libc_path[4096];
	uint64_t ld_lo, ld_hi;       /* the dynamic loader's code */
	uint64_t shim_lo, shim_hi;   /* libcgoshim.so's code */
	bool shim_lib, shim_region;  /* libcgoshim.so / its region mapped */
	bool region_detached;        /* an attach ended in it (region.h) */
};

static bool read_maps(pid_t pid, struct maps_view *v)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	char *all = slurp(path, NULL);
	if (!all)
		return false;
	memset(v, 0, sizeof(*v));
	for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n")) {
		unsigned long lo, hi, off;
		char perms[8];
		int name_at = 0;
		if (sscanf(line, "%lx-%lx %7s %lx %*s %*s%n", &lo, &hi, perms, &off, &name_at) < 4)
			continue;
		const char *name = line + name_at;
		while (*name == ' ')
			name++;
		size_t nl = strlen(name);
		if (nl >= 10 && !strcmp(name + nl - 10, "/libc.so.6") && off == 0 && !v->libc_base) {
			v->libc_base = lo;
			snprintf(v->libc_path, sizeof(v->libc_path), "%s", name);
		}
		if (strstr(name, "/ld-linux") && perms[2] == 'x') {
			v->ld_lo = lo;
			v->ld_hi = hi;
		}
		if (strstr(name, "libcgoshim")) {
			v->shim_lib = true;
			if (perms[2] == 'x') {
				v->shim_lo = lo;
				v->shim_hi = hi;
			}
		}
		if (strstr(name, "memfd:cgoshim") && !v->shim_region) {
			v->shim_region = true;
			/* The region's header is at the start of its mapping. */
			uint32_t hdr[2];
			if (off == 0 && read_mem(lo + offsetof(struct cgs_region, attached), hdr, sizeof(hdr)))
				v->region_detached = hdr[0] && hdr[1];
		}
	}
	free(all);
	return true;
}

/* ---- a symbol in an ELF file ------------------------------------------------ */

/* The value of the default-version dynamic symbol `name` in the ELF file,
 * or 0. */
static uint64_t elf_symbol(const char *path, const char *name)
{
	size_t len;
	char *f = slurp(path, &len);
	uint64_t found = 0;
	if (!f || len < sizeof(Elf64_Ehdr))
		goto out;
	const Elf64_Ehdr *eh = (const void *)f;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > len)
		goto out;
	const Elf64_Shdr *sh = (const void *)(f + eh->e_shoff);
	const Elf64_Shdr *dynsym = NULL, *versym = NULL;
	for (int i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type == SHT_DYNSYM)
			dynsym = &sh[i];
		if (sh[i].sh_type == SHT_GNU_versym)
			versym = &sh[i];
	}
	if (!dynsym || dynsym->sh_link >= eh->e_shnum || dynsym->sh_offset + dynsym->sh_size > len)
		goto out;
	const Elf64_Shdr *str = &sh[dynsym->sh_link];
	if (str->sh_offset + str->sh_size > len)
		goto out;
	const Elf64_Sym *syms = (const void *)(f + dynsym->sh_offset);
	size_t n = dynsym->sh_size / sizeof(Elf64_Sym);
	const uint16_t *vs = versym && versym->sh_offset + n * 2 <= len ? (const void *)(f + versym->sh_offset) : NULL;
	for (size_t i = 0; i < n; i++) {
		if (syms[i].st_name >= str->sh_size || syms[i].st_shndx == SHN_UNDEF)
			continue;
		if (strcmp(f + str->sh_offset + syms[i].st_name, name))
			continue;
		if (vs && (vs[i] & 0x8000))
			continue;
		found = syms[i].st_value;
		break;
	}
out:
	free(f);
	return found;
}

/* ---- stopping and letting go ----------------------------------------------- */

struct task {
	pid_t tid;
	bool stopped;
	bool released;         /* let run while an injected call waits (run_until) */
	int nsig;              /* signals kept for it (delivered when let go) */
	siginfo_t sig[8];
};

struct stopped {
	struct task *t;
	size_t n, cap;
	int64_t t0, t1;        /* first stop, last release */
	bool released;         /* the others ran while a call waited */
	bool ended;            /* the process ended under us */
};

static struct task *find_task(struct stopped *s, pid_t tid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->t[i].tid == tid)
			return &s->t[i];
	return NULL;
}

static void keep_signal(struct task *t, pid_t tid)
{
	siginfo_t si;
	if (ptrace(PTRACE_GETSIGINFO, tid, NULL, &si) == 0 && t->nsig < 8)
		t->sig[t->nsig++] = si;
}

/* Wait for tid's next stop; a signal-delivery stop is kept for later. 1: a
 * stop (*status); 0: the task is gone; -1 timeout. */
static int wait_stop(pid_t tid, int *status, int64_t deadline)
{
	for (;;) {
		pid_t r = waitpid(tid, status, __WALL | WNOHANG);
		if (r == tid) {
			if (WIFEXITED(*status) || WIFSIGNALED(*status))
				return 0;
			return 1;
		}
		if (r < 0)
			return errno == EINTR ? -1 : 0;
		if (mono_ns() > deadline)
			return -1;
		struct timespec ts = { 0, 20000 };
		nanosleep(&ts, NULL);
	}
}

static bool is_event_stop(int status)
{
	return WIFSTOPPED(status) && (status >> 16) == PTRACE_EVENT_STOP;
}

/* Stop every thread. false after one line on stderr (then nothing is held). */
static void let_go(struct stopped *s);

static bool stop_all(struct stopped *s)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)target);
	s->t0 = mono_ns();
	for (bool added = true; added;) {
		added = false;
		DIR *d = opendir(path);
		if (!d) {
			s->ended = true;
			return false;
		}
		/* Seize and interrupt every new task of this pass, then wait
		 * for their stops: the threads stop together, not one by one. */
		size_t first = s->n;
		struct dirent *e;
		while ((e = readdir(d))) {
			pid_t tid = (pid_t)atoi(e->d_name);
			if (tid <= 0 || find_task(s, tid))
				continue;
			if (ptrace(PTRACE_SEIZE, tid, NULL, NULL)) {
				if (errno == ESRCH)
					continue; /* ended meanwhile */
				int err = errno;
				closedir(d);
				let_go(s);
				if (tid == target)
					say("cannot trace process %d: %s%s", (int)target, strerror(err),
					    err == EPERM ? " (another user's process, kernel.yama.ptrace_scope, "
							   "or already traced)" : "");
				else
					say("cannot trace thread %d of process %d: %s", (int)tid, (int)target,
					    strerror(err));
				return false;
			}
			ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
			if (s->n == s->cap) {
				s->cap = s->cap ? 2 * s->cap : 16;
				s->t = realloc(s->t, s->cap * sizeof(*s->t));
			}
			s->t[s->n++] = (struct task){ .tid = tid };
			added = true;
		}
		closedir(d);
		for (size_t i = first; i < s->n; i++) {
			struct task *t = &s->t[i];
			int st;
			for (;;) {
				int w = wait_stop(t->tid, &st, mono_ns() + 2000000000LL);
				if (w <= 0)
					break; /* gone (or stuck: let go later) */
				if (is_event_stop(st)) {
					t->stopped = true;
					break;
				}
				/* A signal on its way: kept, and the thread goes on to
				 * the interrupt's stop. */
				keep_signal(t, t->tid);
				ptrace(PTRACE_CONT, t->tid, NULL, NULL);
			}
		}
	}
	return true;
}

/* Let every thread go, giving back the signals kept for it. */
static void let_go(struct stopped *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct task *t = &s->t[i];
		int sig = 0;
		if (t->nsig) {
			ptrace(PTRACE_SETSIGINFO, t->tid, NULL, &t->sig[0]);
			sig = t->sig[0].si_signo;
		}
		ptrace(PTRACE_DETACH, t->tid, NULL, (void *)(uintptr_t)sig);
		for (int k = 1; k < t->nsig; k++)
			syscall(SYS_tgkill, target, t->tid, t->sig[k].si_signo);
	}
	s->t1 = mono_ns();
	free(s->t);
	s->t = NULL;
	s->n = s->cap = 0;
}

/* ---- running code in the chosen thread ------------------------------------ */

struct inject {
	struct task *t;
	struct stopped *s;      /* every thread: the others are let run if a call waits */
	int64_t call_t0;
	struct user_regs_struct saved;
	uint8_t xsave[16384];
	struct iovec xiov;
	uint64_t syscall_insn;  /* address of a `syscall` instruction in libc */
	uint64_t scratch;       /* our mapping, 0 until made */
};

static bool write_mem(uint64_t at, const void *buf, size_t n)
{
	struct iovec local = { (void *)buf, n }, remote = { (void *)(uintptr_t)at, n };
	return process_vm_writev(target, &local, 1, &remote, 1, 0) == (ssize_t)n;
}

static bool read_mem(uint64_t at, void *buf, size_t n)
{
	struct iovec local = { buf, n }, remote = { (void *)(uintptr_t)at, n };
	return process_vm_readv(target, &local, 1, &remote, 1, 0) == (ssize_t)n;
}

/* Let the other threads run (their kept signals stay kept). */
static void release_others(struct inject *in)
{
	for (size_t i = 0; in->s && i < in->s->n; i++) {
		struct task *t = &in->s->t[i];
		if (t != in->t && t->stopped && !ptrace(PTRACE_CONT, t->tid, NULL, NULL))
			t->released = in->s->released = true;
	}
}

/* A stop of a released thread: it runs on (a signal is delivered now). */
static void forward(struct inject *in, pid_t tid, int st)
{
	struct task *t = in->s ? find_task(in->s, tid) : NULL;
	if (!t)
		return;
	if (WIFEXITED(st) || WIFSIGNALED(st)) {
		t->stopped = t->released = false;
		return;
	}
	int sig = is_event_stop(st) || !WIFSTOPPED(st) ? 0 : WSTOPSIG(st);
	ptrace(PTRACE_CONT, tid, NULL, (void *)(uintptr_t)sig);
}

/* Stop the released threads again, for the release at the end. */
static void restop_others(struct inject *in)
{
	for (size_t i = 0; in->s && i < in->s->n; i++) {
		struct task *t = &in->s->t[i];
		if (!t->released)
			continue;
		t->released = false;
		t->stopped = false;
		ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL);
		int st;
		for (;;) {
			int w = wait_stop(t->tid, &st, mono_ns() + 2000000000LL);
			if (w <= 0)
				break;
			if (is_event_stop(st)) {
				t->stopped = true;
				break;
			}
			keep_signal(t, t->tid);
			ptrace(PTRACE_CONT, t->tid, NULL, NULL);
		}
	}
}

/* The injected thread's next stop, letting the others run after
 * RELEASE_NS (their stops are forwarded meanwhile). As wait_stop. */
static int wait_call(struct inject *in, int *status, int64_t deadline)
{
	pid_t tid = in->t->tid;
	bool released = false;
	for (size_t i = 0; in->s && i < in->s->n; i++)
		released |= in->s->t[i].released;
	for (;;) {
		if (!released && in->s && mono_ns() - in->call_t0 > RELEASE_NS) {
			release_others(in);
			released = true;
		}
		pid_t r = waitpid(released ? -1 : tid, status, __WALL | WNOHANG);
		if (r == tid)
			return WIFEXITED(*status) || WIFSIGNALED(*status) ? 0 : 1;
		if (r > 0) {
			forward(in, r, *status);
			continue;
		}
		if (r < 0 && errno != EINTR)
			return 0;
		if (mono_ns() > deadline)
			return -1;
		struct timespec ts = { 0, 20000 };
		nanosleep(&ts, NULL);
	}
}

/* Resume with regs and wait until rip reaches `until` (a SIGTRAP after a
 * single step, or the SIGSEGV of returning to 0). Other signals are kept. */
static bool run_until(struct inject *in, struct user_regs_struct *regs, bool step, uint64_t until)
{
	pid_t tid = in->t->tid;
	if (ptrace(PTRACE_SETREGS, tid, NULL, regs))
		return false;
	int64_t deadline = mono_ns() + CALL_TIMEOUT_NS;
	in->call_t0 = mono_ns();
	if (ptrace(step ? PTRACE_SINGLESTEP : PTRACE_CONT, tid, NULL, NULL))
		return false;
	for (;;) {
		int st;
		int w = wait_call(in, &st, deadline);
		if (w == 0) {
			say("process %d ended during the injected call", (int)target);
			return false;
		}
		if (w < 0) {
			say("the injected call in process %d did not return within %lld s; abandoned", (int)target,
			    CALL_TIMEOUT_NS / 1000000000LL);
			/* Stopped again, so that its registers can be put back. */
			ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
			while (wait_stop(tid, &st, mono_ns() + 2000000000LL) == 1 && !is_event_stop(st)) {
				keep_signal(in->t, tid);
				ptrace(PTRACE_CONT, tid, NULL, NULL);
			}
			return false;
		}
		struct user_regs_struct now;
		ptrace(PTRACE_GETREGS, tid, NULL, &now);
		int sig = WSTOPSIG(st);
		if (!is_event_stop(st) && ((step && sig == SIGTRAP) || (!step && sig == SIGSEGV)) && now.rip == until) {
			*regs = now;
			return true;
		}
		if (!is_event_stop(st) && !(step && sig == SIGTRAP)) {
			if (!step && sig == SIGSEGV) {
				say("the injected call crashed in process %d (rip %#llx)", (int)target, now.rip);
				return false;
			}
			keep_signal(in->t, tid);
		}
		if (ptrace(step ? PTRACE_SINGLESTEP : PTRACE_CONT, tid, NULL, NULL))
			return false;
	}
}

static bool inject_syscall(struct inject *in, long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
			   uint64_t a4, uint64_t a5, long *ret)
{
	struct user_regs_struct r = in->saved;
	r.rax = (uint64_t)nr;
	r.orig_rax = (uint64_t)-1;
	r.rdi = a0;
	r.rsi = a1;
	r.rdx = a2;
	r.r10 = a3;
	r.r8 = a4;
	r.r9 = a5;
	r.rip = in->syscall_insn;
	if (!run_until(in, &r, true, in->syscall_insn + 2))
		return false;
	*ret = (long)r.rax;
	return true;
}

static bool inject_call(struct inject *in, uint64_t fn, uint64_t a0, uint64_t a1, uint64_t *ret)
{
	struct user_regs_struct r = in->saved;
	uint64_t top = (in->scratch + SCRATCH_SIZE - 64) & ~(uint64_t)15;
	uint64_t zero = 0;
	/* At a function's entry rsp + 8 is 16-aligned; [rsp] is the return address. */
	r.rsp = top - 8;
	if (!write_mem(r.rsp, &zero, 8))
		return false;
	r.rip = fn;
	r.rdi = a0;
	r.rsi = a1;
	r.rax = 0;
	r.orig_rax = (uint64_t)-1;
	r.eflags &= ~(1ull << 10 | 1ull << 8); /* DF, TF */
	if (!run_until(in, &r, false, 0))
		return false;
	*ret = r.rax;
	return true;
}

static bool begin(struct inject *in, struct task *t)
{
	in->t = NULL;
	in->scratch = 0;
	in->xiov = (struct iovec){ in->xsave, sizeof(in->xsave) };
	if (ptrace(PTRACE_GETREGS, t->tid, NULL, &in->saved) ||
	    ptrace(PTRACE_GETREGSET, t->tid, (void *)NT_X86_XSTATE, &in->xiov))
		return false;
	in->t = t;
	long m;
	if (!inject_syscall(in, SYS_mmap, 0, SCRATCH_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1,
			    0, &m) || (m < 0 && m > -4096)) {
		say("cannot map a stack in process %d", (int)target);
		return false;
	}
	in->scratch = (uint64_t)m;
	return true;
}

/* Unmap, registers back (the interrupted system call restarts as it would). */
static void end(struct inject *in)
{
	long ignored;
	if (in->scratch)
		inject_syscall(in, SYS_munmap, in->scratch, SCRATCH_SIZE, 0, 0, 0, 0, &ignored);
	ptrace(PTRACE_SETREGS, in->t->tid, NULL, &in->saved);
	ptrace(PTRACE_SETREGSET, in->t->tid, (void *)NT_X86_XSTATE, &in->xiov);
}

/* The thread to run in: one stopped in a system call and outside the
 * loader (it holds none of malloc's or the loader's locks), else the
 * main thread. */
static struct task *choose(struct stopped *s, const struct maps_view *v)
{
	struct task *main_t = NULL;
	for (size_t i = 0; i < s->n; i++) {
		struct task *t = &s->t[i];
		if (!t->stopped)
			continue;
		struct user_regs_struct r;
		if (ptrace(PTRACE_GETREGS, t->tid, NULL, &r))
			continue;
		if (t->tid == target)
			main_t = t;
		bool in_ld = r.rip >= v->ld_lo && r.rip < v->ld_hi;
		if ((int64_t)r.orig_rax >= 0 && !in_ld)
			return t;
	}
	if (main_t)
		return main_t;
	for (size_t i = 0; i < s->n; i++)
		if (s->t[i].stopped)
			return &s->t[i];
	return NULL;
}

/* A thread stopped in the dynamic loader's own code, outside a system
 * call: it may be between the lazy binding of a GOT entry and its store,
 * which would then overwrite a redirected entry. */
static bool one_in_loader(struct stopped *s, const struct maps_view *v)
{
	for (size_t i = 0; i < s->n; i++) {
		struct user_regs_struct r;
		if (s->t[i].stopped && !ptrace(PTRACE_GETREGS, s->t[i].tid, NULL, &r) && r.rip >= v->ld_lo &&
		    r.rip < v->ld_hi && (int64_t)r.orig_rax < 0)
			return true;
	}
	return false;
}

/* A `syscall` instruction (0f 05) in libc's code. */
static uint64_t find_syscall_insn(pid_t pid, const char *libc_path)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	char *all = slurp(path, NULL);
	uint64_t found = 0;
	for (char *line = all ? strtok(all, "\n") : NULL; line && !found; line = strtok(NULL, "\n")) {
		unsigned long lo, hi;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[2] != 'x' || !strstr(line, libc_path))
			continue;
		uint8_t buf[65536];
		for (unsigned long at = lo; at < hi && !found; at += sizeof(buf) - 1) {
			size_t n = hi - at < sizeof(buf) ? hi - at : sizeof(buf);
			if (!read_mem(at, buf, n))
				break;
			for (size_t i = 0; i + 1 < n; i++)
				if (buf[i] == 0x0f && buf[i + 1] == 0x05) {
					found = at + i;
					break;
				}
		}
	}
	free(all);
	return found;
}

/* ---- checks ------------------------------------------------------------------ */

static const char *status_field(const char *status, const char *key, char *out, size_t cap)
{
	const char *p = strstr(status, key);
	if (!p)
		return NULL;
	p += strlen(key);
	while (*p == ' ' || *p == '\t')
		p++;
	size_t n = strcspn(p, "\n");
	if (n >= cap)
		n = cap - 1;
	memcpy(out, p, n);
	out[n] = 0;
	return out;
}

/* One line and false when the process must not be touched. */
static bool check_target(struct maps_view *v)
{
	char path[64];
	if (kill(target, 0) && errno == ESRCH) {
		say("no process %d", (int)target);
		return false;
	}
	snprintf(path, sizeof(path), "/proc/%d/status", (int)target);
	char *status = slurp(path, NULL);
	if (!status) {
		say("cannot read %s: %s", path, strerror(errno));
		return false;
	}
	char val[64];
	bool ok = true;
	if (status_field(status, "\nSeccomp:", val, sizeof(val)) && strcmp(val, "0")) {
		say("process %d runs under seccomp (%s mode): the injected system calls could kill it; not attaching",
		    (int)target, !strcmp(val, "1") ? "strict" : "filter");
		ok = false;
	} else if (status_field(status, "\nTracerPid:", val, sizeof(val)) && strcmp(val, "0")) {
		say("process %d is traced already (by pid %s: a debugger, strace, or another cgoshim attach)",
		    (int)target, val);
		ok = false;
	} else if (status_field(status, "\nState:", val, sizeof(val)) && (val[0] == 'T' || val[0] == 't')) {
		say("process %d is stopped; continue it (kill -CONT %d) and attach again", (int)target, (int)target);
		ok = false;
	} else if (status_field(status, "\nState:", val, sizeof(val)) && (val[0] == 'Z' || val[0] == 'X')) {
		say("process %d has ended", (int)target);
		ok = false;
	}
	free(status);
	if (!ok)
		return false;
	if (!read_maps(target, v)) {
		if (errno == EACCES || errno == EPERM)
			say("no permission to trace process %d (another user's process, or kernel.yama.ptrace_scope)",
			    (int)target);
		else
			say("cannot read the memory map of process %d: %s", (int)target, strerror(errno));
		return false;
	}
	if (!v->libc_base && !v->shim_lib) {
		say("process %d has no libc.so.6 loaded (a static binary?): cannot load the library into it",
		    (int)target);
		return false;
	}
	return true;
}

/* Checks of the maps, made with every thread stopped (no race with
 * another attach). */
static bool check_maps(const struct maps_view *v)
{
	if (v->shim_region && v->region_detached) {
		say("process %d was attached to and detached from before; the library stays loaded, and "
		    "attaching again is not supported", (int)target);
		return false;
	}
	if (v->shim_region) {
		say("process %d is measured by cgoshim already (preloaded, or another cgoshim attach)", (int)target);
		return false;
	}
	if (v->shim_lib) {
		say("process %d has libcgoshim.so loaded already (preloaded and off, or from an earlier attach); "
		    "attaching again is not supported", (int)target);
		return false;
	}
	if (!v->libc_base) {
		say("process %d has no libc.so.6 loaded (a static binary?): cannot load the library into it",
		    (int)target);
		return false;
	}
	return true;
}

static void on_stop_signal(int sig)
{
	stop_sig = sig;
}

/* ---- the command -------------------------------------------------------------- */

struct addrs {
	uint64_t dlopen, dlsym, dlerror;
	uint64_t syscall_insn;
	uint64_t detach, region;
	uint64_t handle;
};

static bool write_strings(struct inject *in, const char *lib, char **env, uint64_t *lib_at, uint64_t *env_at,
			  uint64_t *names_at)
{
	char *buf = calloc(1, STRINGS_SIZE);
	size_t used = 0;
#define PUT(s)                                                           \
	({                                                               \
		size_t l_ = strlen(s) + 1;                               \
		uint64_t at_ = in->scratch + used;                       \
		if (used + l_ > STRINGS_SIZE / 2) {                      \
			free(buf);                                       \
			return false;                                    \
		}                                                        \
		memcpy(buf + used, s, l_);                               \
		used += l_;                                              \
		at_;                                                     \
	})
	*lib_at = PUT(lib);
	names_at[0] = PUT("cgoshim_attach_init");
	names_at[1] = PUT("cgoshim_attach_detach");
	names_at[2] = PUT("cgoshim_attach_region");
	size_t nenv = 0;
	while (env[nenv])
		nenv++;
	uint64_t ptrs[nenv + 1];
	for (size_t i = 0; i < nenv; i++)
		ptrs[i] = PUT(env[i]);
	ptrs[nenv] = 0;
#undef PUT
	used = (used + 15) & ~(size_t)15;
	if (used + sizeof(ptrs) > STRINGS_SIZE) {
		free(buf);
		return false;
	}
	memcpy(buf + used, ptrs, sizeof(ptrs));
	*env_at = in->scratch + used;
	used += sizeof(ptrs);
	bool ok = write_mem(in->scratch, buf, used);
	free(buf);
	return ok;
}

/* The dlerror() text in the process, for a failed dlopen. */
static void say_dlerror(struct inject *in, const struct addrs *a, const char *lib)
{
	uint64_t msg = 0;
	char text[512] = "";
	if (inject_call(in, a->dlerror, 0, 0, &msg) && msg && read_mem(msg, text, sizeof(text) - 1))
		text[sizeof(text) - 1] = 0;
	say("dlopen of %s in process %d failed: %s", lib, (int)target, text[0] ? text : "(no dlerror text)");
}

static void pause_line(const char *what, const struct stopped *s, size_t threads, int64_t call_ns)
{
	say("%s process %d: %zu thread%s stopped for %.3f ms (injected calls %.3f ms%s)", what, (int)target, threads,
	    threads == 1 ? "" : "s", (double)(s->t1 - s->t0) / 1e6, (double)call_ns / 1e6,
	    s->released ? "; they waited for a lock: the other threads ran meanwhile" : "");
}

int cgs_attach_run(pid_t pid, const char *lib, char **env, double duration_s)
{
	target = pid;
	/* From the start: a SIGINT during the attach must still end in a
	 * detach, never leave the process redirected. */
	struct sigaction sa = { 0 };
	sa.sa_handler = on_stop_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	struct maps_view v;
	if (!check_target(&v))
		return CGS_ATTACH_REFUSED;
	struct addrs a = { 0 };
	char libc_file[4200];
	snprintf(libc_file, sizeof(libc_file), "/proc/%d/root%s", (int)pid, v.libc_path);
	uint64_t o_dlopen = elf_symbol(libc_file, "dlopen"), o_dlsym = elf_symbol(libc_file, "dlsym"),
		 o_dlerror = elf_symbol(libc_file, "dlerror");
	if (!o_dlopen || !o_dlsym || !o_dlerror) {
		say("cannot find dlopen, dlsym and dlerror in %s (process %d's libc)", v.libc_path, (int)pid);
		return CGS_ATTACH_REFUSED;
	}
	a.dlopen = v.libc_base + o_dlopen;
	a.dlsym = v.libc_base + o_dlsym;
	a.dlerror = v.libc_base + o_dlerror;

	/* Before the pause: libc's code does not change. */
	a.syscall_insn = find_syscall_insn(pid, v.libc_path);

	/* ---- attach ---- */
	struct stopped s = { 0 };
	if (!stop_all(&s)) {
		if (s.ended)
			say("process %d ended", (int)pid);
		return CGS_ATTACH_REFUSED;
	}
	/* Again, now that nothing in the process moves. */
	if (!read_maps(pid, &v) || !check_maps(&v)) {
		let_go(&s);
		return CGS_ATTACH_REFUSED;
	}
	/* Not in the middle of a lazy binding: let go and stop again (a few
	 * times at most; the pause counted is the last one's). */
	for (int k = 0; k < 20 && one_in_loader(&s, &v); k++) {
		let_go(&s);
		usleep(1000);
		if (!stop_all(&s)) {
			if (s.ended)
				say("process %d ended", (int)pid);
			return CGS_ATTACH_REFUSED;
		}
	}
	size_t threads = s.n;
	struct inject *in = calloc(1, sizeof(*in));
	in->syscall_insn = a.syscall_insn;
	struct task *t = choose(&s, &v);
	in->s = &s;
	int64_t c0 = mono_ns();
	bool ok = a.syscall_insn && t && begin(in, t);
	uint64_t lib_at = 0, env_at = 0, names[3], init_fn = 0, init_rc = 0, region = 0;
	if (ok && !write_strings(in, lib, env, &lib_at, &env_at, names)) {
		say("the settings are too long to pass to process %d", (int)pid);
		ok = false;
	}
	if (ok && !(ok = inject_call(in, a.dlopen, lib_at, RTLD_NOW | RTLD_LOCAL, &a.handle)))
		;
	else if (ok && !a.handle) {
		say_dlerror(in, &a, lib);
		ok = false;
	}
	if (ok)
		ok = inject_call(in, a.dlsym, a.handle, names[0], &init_fn) &&
		     inject_call(in, a.dlsym, a.handle, names[1], &a.detach) &&
		     inject_call(in, a.dlsym, a.handle, names[2], &a.region);
	if (ok && (!init_fn || !a.detach || !a.region)) {
		say("%s has no cgoshim_attach_init: not this version's library", lib);
		ok = false;
	}
	if (ok)
		ok = inject_call(in, init_fn, env_at, 0, &init_rc) && inject_call(in, a.region, 0, 0, &region);
	int64_t call_ns = mono_ns() - c0;
	if (in->t)
		end(in);
	restop_others(in);
	in->s = NULL;
	let_go(&s);
	if (!ok) {
		free(in);
		return CGS_ATTACH_FAILED;
	}
	if ((int64_t)init_rc < 0 || !region) {
		say("the library could not start in process %d: %s", (int)pid, strerror((int)-(int64_t)init_rc));
		free(in);
		return CGS_ATTACH_FAILED;
	}
	pause_line("attached to", &s, threads, call_ns);
	say("%llu call sites redirected; measuring until %s", (unsigned long long)init_rc,
	    duration_s > 0 ? "--duration, the process's end, or SIGINT" : "the process's end or SIGINT");

	int32_t wpid = 0;
	read_mem(region + offsetof(struct cgs_region, watcher_pid), &wpid, sizeof(wpid));
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int wfd = wpid > 0 ? (int)syscall(SYS_pidfd_open, wpid, 0) : -1;

	/* ---- wait ---- */
	int64_t until = duration_s > 0 ? mono_ns() + (int64_t)(duration_s * 1e9) : INT64_MAX;
	bool gone = false;
	int rc = CGS_ATTACH_OK;
	if (wpid <= 0) {
		/* The library said why on the process's stderr. */
		say("the watcher did not start in process %d: no report can be written; detaching", (int)pid);
		until = 0;
		rc = CGS_ATTACH_FAILED;
	}
	while (!stop_sig) {
		int64_t left = until - mono_ns();
		if (left <= 0)
			break;
		struct pollfd p = { pidfd, POLLIN, 0 };
		int ms = left > 200000000 ? 200 : (int)(left / 1000000) + 1;
		int k = pidfd >= 0 ? poll(&p, 1, ms) : (usleep((useconds_t)ms * 1000), 0);
		if ((k > 0 && (p.revents & POLLIN)) || (pidfd < 0 && kill(pid, 0) && errno == ESRCH)) {
			gone = true;
			break;
		}
	}
	if (gone) {
		say("process %d ended; its watcher writes the final report", (int)pid);
	} else {
		/* ---- detach ---- */
		struct stopped d = { 0 };
		if (!stop_all(&d)) {
			say("process %d ended; its watcher writes the final report", (int)pid);
		} else {
			threads = d.n;
			t = choose(&d, &v);
			c0 = mono_ns();
			uint64_t restored = 0;
			in->t = NULL;
			in->s = &d;
			bool dok = t && in->syscall_insn && begin(in, t) && inject_call(in, a.detach, 0, 0, &restored);
			call_ns = mono_ns() - c0;
			if (in->t)
				end(in);
			restop_others(in);
			in->s = NULL;
			let_go(&d);
			if (!dok || (int64_t)restored < 0) {
				say("could not detach from process %d: its calls may still be measured", (int)pid);
				rc = CGS_ATTACH_FAILED;
			} else {
				pause_line("detached from", &d, threads, call_ns);
				say("%llu call sites restored", (unsigned long long)restored);
			}
		}
	}
	/* The final report is on disk once the watcher has exited. */
	if (wfd >= 0) {
		struct pollfd p = { wfd, POLLIN, 0 };
		if (poll(&p, 1, 60000) <= 0)
			say("the watcher (pid %d) has not finished the final report within 60 s", (int)wpid);
	}
	free(in);
	return rc;
}
