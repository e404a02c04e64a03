/* snapshot.c - read one report's data out of the region (watcher side).
 *
 * The process may be running (a live dump) or gone (the final report). In
 * both cases the region is only read, never locked: a live read of a leak
 * shard is retried until its sequence number shows no writer raced it. All
 * pointers read from the region are checked to lie inside it before use, so
 * a region left half-written by a killed process cannot crash the watcher.
 *
 * The TSC rate is measured over the whole run: ticks and CLOCK_MONOTONIC at
 * start (in the region) against both now. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gostack.h"
#include "files.h"
#include "leaks.h"
#include "heappeak.h"
#include "ring.h"
#include "snapshot.h"
#include "tstate.h"

#define MAX_THREADS_WALK (1u << 20)
#define SEQ_RETRIES 64

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Every thread block, bounds-checked, at most MAX_THREADS_WALK. */
static size_t thread_blocks(struct cgs_region *r, struct cgs_tstate ***out)
{
	size_t n = 0, cap = 64;
	struct cgs_tstate **v = malloc(cap * sizeof(*v));
	for (struct cgs_tstate *t = r->threads; v && t && n < MAX_THREADS_WALK; t = t->next_all) {
		if (!cgs_region_contains(r, t, sizeof(*t)))
			break;
		if (n == cap) {
			struct cgs_tstate **bigger = realloc(v, (cap *= 2) * sizeof(*v));
			if (!bigger)
				break;
			v = bigger;
		}
		v[n++] = t;
	}
	*out = v;
	return v ? n : 0;
}

static void take_fns(struct cgs_snapshot *s, struct cgs_tstate **ts, size_t nt)
{
	s->fns = calloc(CGS_FN_COUNT, sizeof(*s->fns));
	if (!s->fns)
		return;
	for (int fn = 0; fn < CGS_FN_COUNT; fn++) {
		struct cgs_stat st = { 0 };
		for (size_t i = 0; i < nt; i++) {
			struct cgs_stat copy = ts[i]->st[fn];
			cgs_stat_merge(&st, &copy);
		}
		uint64_t untimed = fn == CGS_FN_dlopen   ? s->counters.dlopen_untimed
				   : fn == CGS_FN_dlsym  ? s->counters.dlsym_untimed
				   : fn == CGS_FN_dlvsym ? s->counters.dlvsym_untimed
							 : 0;
		if (!st.count && !untimed)
			continue;
		struct cgs_snap_fn *f = &s->fns[s->nfns++];
		f->name = cgs_fn_names[fn];
		f->family = cgs_fn_family[fn];
		f->untimed = untimed;
		f->hist = calloc(CGS_HIST_BUCKETS, sizeof(uint64_t));
		if (f->hist)
			for (size_t i = 0; i < nt; i++)
				cgs_hist_merge(f->hist, ts[i]->hist[fn]);
		if (f->hist) {
			cgs_stat_fit(&st, f->hist);
			if (!st.count && !untimed) { /* counted, but no bucket written yet */
				free(f->hist);
				s->nfns--;
				continue;
			}
		}
		f->st = st;
	}
}

static int by_total(const void *a, const void *b)
{
	const struct cgs_snap_target *x = a, *y = b;
	if ((x->group == CGS_TG_REST) != (y->group == CGS_TG_REST))
		return x->group == CGS_TG_REST ? 1 : -1;
	if (x->st.total != y->st.total)
		return x->st.total < y->st.total ? 1 : -1;
	int c = strcmp(x->kind, y->kind);
	return c ? c : strcmp(x->label, y->label);
}

/* Add row b into row a (a keeps its kind). */
static void merge_target(struct cgs_snap_target *a, struct cgs_snap_target *b)
{
	cgs_stat_merge(&a->st, &b->st);
	if (a->hist && b->hist)
		cgs_hist_merge(a->hist, b->hist);
	a->paths += b->paths;
	a->rows += b->rows;
	free(b->hist);
	free((char *)b->label);
	b->hist = NULL;
	b->label = NULL;
}

struct keyed {
	char *key;
	size_t i;
};

static int by_key(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* The rows v[0..n) of one kind, made at most `limit`: past the limit, rows
 * of the same path pattern are merged (a group of one keeps its path);
 * still past it, the rows after the first limit - 1 by total time are
 * summed into one "(rest)" row. Sums are kept: every call stays in a row.
 * Returns the new number of rows (compacted at the front of v). */
static size_t bound_kind(struct cgs_snap_target *v, size_t n, size_t limit, struct cgs_snap_targets_info *info)
{
	if (n > limit) {
		struct keyed *k = calloc(n, sizeof(*k));
		bool ok = k != NULL;
		for (size_t i = 0; ok && i < n; i++) {
			size_t len = strlen(v[i].label);
			k[i].i = i;
			if (!(k[i].key = malloc(len + 1)))
				ok = false;
			else
				cgs_file_pattern(v[i].label, len, k[i].key, len + 1);
		}
		if (ok) {
			qsort(k, n, sizeof(*k), by_key);
			for (size_t a = 0; a < n;) {
				size_t b = a + 1;
				while (b < n && !strcmp(k[a].key, k[b].key))
					b++;
				struct cgs_snap_target *head = &v[k[a].i];
				if (b - a > 1) {
					for (size_t j = a; j < b; j++)
						info->grouped += v[k[j].i].group == CGS_TG_FILE;
					for (size_t j = a + 1; j < b; j++)
						merge_target(head, &v[k[j].i]);
					char *label = strdup(k[a].key);
					if (label) {
						free((char *)head->label);
						head->label = label;
					}
					head->group = CGS_TG_PATTERN;
				}
				a = b;
			}
		}
		for (size_t i = 0; k && i < n; i++)
			free(k[i].key);
		free(k);
		size_t m = 0;
		for (size_t i = 0; i < n; i++)
			if (v[i].label)
				v[m++] = v[i];
			else if (v[i].hist)
				free(v[i].hist);
		n = m;
	}
	qsort(v, n, sizeof(*v), by_total);
	if (n > limit) {
		struct cgs_snap_target *rest = &v[limit - 1];
		for (size_t i = limit; i < n; i++)
			merge_target(rest, &v[i]);
		info->rest_rows += n - limit + 1;
		info->rest_paths += rest->paths;
		char *label = strdup("(rest)");
		if (label) {
			free((char *)rest->label);
			rest->label = label;
		}
		rest->group = CGS_TG_REST;
		n = limit;
	}
	return n;
}

static void take_targets(struct cgs_snapshot *s, struct cgs_region *r, struct cgs_tstate **ts, size_t nt)
{
	static const char *const kinds[CGS_TF_COUNT] = { "read", "ioctl", "open" };
	struct cgs_files *fs = r->files;
	if (!fs || !cgs_region_contains(r, fs, sizeof(*fs)))
		return;
	uint32_t nfiles = fs->count < CGS_FILES_MAX ? fs->count : CGS_FILES_MAX;
	size_t cap = 16;
	size_t limit = r->opts.target_rows > 0 ? (size_t)r->opts.target_rows : 30;
	s->tinfo.other_calls = fs->dropped;
	s->tinfo.paths_unsure = fs->seen_lost;
	for (uint32_t file = 0; file < nfiles; file++)
		s->tinfo.files += fs->f[file].pattern ? fs->f[file].paths : 1;
	s->targets = malloc(cap * sizeof(*s->targets));
	for (int tf = 0; tf < CGS_TF_COUNT && s->targets; tf++) {
		size_t first = s->ntargets;
		for (uint32_t file = 0; file < nfiles; file++) {
			struct cgs_stat st = { 0 };
			uint64_t *hist = NULL;
			for (size_t i = 0; i < nt; i++) {
				struct cgs_thist **row = ts[i]->thist[tf];
				if (!row || !cgs_region_contains(r, row, CGS_FILES_MAX * sizeof(*row)))
					continue;
				struct cgs_thist *h = row[file];
				if (!h || !cgs_region_contains(r, h, sizeof(*h)) || !h->st.count)
					continue;
				if (!hist && !(hist = calloc(CGS_HIST_BUCKETS, sizeof(uint64_t))))
					break;
				struct cgs_stat copy = h->st;
				cgs_stat_merge(&st, &copy);
				cgs_hist_merge(hist, h->hist);
			}
			if (hist && st.count)
				cgs_stat_fit(&st, hist);
			if (!st.count) {
				free(hist);
				continue;
			}
			if (s->ntargets == cap) {
				struct cgs_snap_target *bigger = realloc(s->targets, (cap *= 2) * sizeof(*bigger));
				if (!bigger) {
					free(hist);
					break;
				}
				s->targets = bigger;
			}
			struct cgs_snap_target *t = &s->targets[s->ntargets++];
			t->kind = kinds[tf];
			t->label = strndup(fs->f[file].label, CGS_FILE_LABEL_MAX - 1);
			t->group = fs->f[file].pattern ? CGS_TG_PATTERN : CGS_TG_FILE;
			t->paths = fs->f[file].pattern ? fs->f[file].paths : 1;
			t->rows = 1;
			t->st = st;
			t->hist = hist;
			if (!t->label) {
				free(hist);
				s->ntargets--;
			}
		}
		s->ntargets = first + bound_kind(s->targets + first, s->ntargets - first, limit, &s->tinfo);
	}
	for (size_t i = 0; i < s->ntargets; i++)
		s->tinfo.pattern_rows += s->targets[i].group == CGS_TG_PATTERN;
	if (s->ntargets)
		qsort(s->targets, s->ntargets, sizeof(*s->targets), by_total);
}

/* ---- leaks ------------------------------------------------------------- */

struct agg {
	uint32_t stack; /* key; slot used when count > 0 */
	uint64_t count, bytes;
	uint64_t inh_count, inh_bytes;
	uint32_t oldest, newest; /* time quanta */
};

struct aggmap {
	struct agg *v;
	size_t cap, used;
};

static struct agg *agg_slot(struct aggmap *m, uint32_t stack)
{
	if ((m->used + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024;
		struct agg *v = calloc(cap, sizeof(*v));
		if (!v)
			return NULL;
		for (size_t i = 0; i < m->cap; i++)
			if (m->v[i].count)
				for (size_t j = m->v[i].stack * 2654435761u;; j++)
					if (!v[j & (cap - 1)].count) {
						v[j & (cap - 1)] = m->v[i];
						break;
					}
		free(m->v);
		m->v = v;
		m->cap = cap;
	}
	for (size_t j = stack * 2654435761u;; j++) {
		struct agg *a = &m->v[j & (m->cap - 1)];
		if (!a->count) {
			a->stack = stack;
			m->used++;
			return a;
		}
		if (a->stack == stack)
			return a;
	}
}

/* A consistent copy of one shard's slots; returns the number of slots. */
static size_t copy_shard(struct cgs_region *r, struct cgs_lshard *sh, struct cgs_lrec **buf, size_t *bufcap,
			 bool racing, uint32_t *inconsistent)
{
	for (int attempt = 0;; attempt++) {
		uint32_t seq = __atomic_load_n(&sh->seq, __ATOMIC_ACQUIRE);
		if (racing && (seq & 1) && attempt < SEQ_RETRIES * 16)
			continue;
		uint64_t cap = __atomic_load_n(&sh->cap, __ATOMIC_ACQUIRE);
		struct cgs_lrec *slots = __atomic_load_n(&sh->slots, __ATOMIC_ACQUIRE);
		if (!cap || !slots || !cgs_region_contains(r, slots, cap * sizeof(*slots)))
			return 0;
		if (cap > *bufcap) {
			struct cgs_lrec *b = realloc(*buf, cap * sizeof(*b));
			if (!b)
				return 0;
			*buf = b;
			*bufcap = cap;
		}
		memcpy(*buf, slots, cap * sizeof(*slots));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (!racing || __atomic_load_n(&sh->seq, __ATOMIC_RELAXED) == seq)
			return cap;
		if (attempt >= SEQ_RETRIES) {
			(*inconsistent)++;
			return cap;
		}
	}
}

static int by_bytes(const void *a, const void *b)
{
	const struct cgs_snap_site *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	if (x->stack_id != y->stack_id)
		return x->stack_id < y->stack_id ? -1 : 1;
	return x->kind < y->kind ? -1 : x->kind > y->kind;
}

/* The cgo entry a stack came through. Best: the Go-side wrapper frame
 * "pkg._Cfunc_NAME" (present when Go frames are followed), which tells
 * C.CString from C.malloc. Else the C-side "_cgo_<hash>_Cfunc_NAME", where
 * C.CString, C.CBytes and C.malloc all show as _CMalloc. */
static char *cgo_name(const char *name, size_t len, bool go_side)
{
	char buf[128];
	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, name, len);
	buf[len] = 0;
	if (!strcmp(buf, "_CMalloc") || !strcmp(buf, "_Cmalloc"))
		return strdup(go_side ? "C.malloc" : "C.CString/C.CBytes/C.malloc");
	char *out = malloc(len + 3);
	if (out) {
		memcpy(out, "C.", 2);
		memcpy(out + 2, buf, len + 1);
	}
	return out;
}

static const char *cgo_entry(const struct cgs_snap_site *site)
{
	for (int i = 0; i < site->nframes; i++) {
		const char *fn = site->frames[i].function;
		const char *c = fn && strncmp(fn, "_cgo_", 5) ? strstr(fn, "._Cfunc_") : NULL;
		if (!c)
			continue;
		c += 8;
		const char *abi = strstr(c, ".abi");
		return cgo_name(c, abi ? (size_t)(abi - c) : strlen(c), true);
	}
	for (int i = 0; i < site->nframes; i++) {
		const char *fn = site->frames[i].function;
		const char *c = fn && !strncmp(fn, "_cgo_", 5) ? strstr(fn, "_Cfunc_") : NULL;
		if (c)
			return cgo_name(c + 7, strlen(c + 7), false);
	}
	return NULL;
}

/* The frames of a stack, innermost first, each address expanded into its
 * inline chain (symbols.h), at most 4 * depth in all: every address keeps
 * at least its own frame. Without a symboliser, addresses only. */
/* Whether a frame lies in the shim's own library. The library drops its
 * frames when it records a stack (stacks.c); this catches any left (an
 * older library, a frame of the shim reached through another path). No
 * frame of the shim is ever shown. */
static bool shim_frame(const struct cgs_frame_info *f)
{
	if (!f->module)
		return false;
	const char *base = strrchr(f->module, '/');
	base = base ? base + 1 : f->module;
	return !strncmp(base, "libcgoshim.so", 13);
}

static struct cgs_frame_info *stack_frames(struct cgs_symbolizer *sym, const struct cgs_stack *st, int *n)
{
	int depth = st->depth, cap = depth * 4, have = depth ? depth : 1;
	struct cgs_frame_info *v = calloc((size_t)have, sizeof(*v)), chain[32];
	*n = 0;
	bool after_tramp = false;
	for (int k = 0; v && k < depth; k++) {
		int room = cap - *n - (depth - k - 1), got = 1;
		if (room > (int)(sizeof(chain) / sizeof(chain[0])))
			room = (int)(sizeof(chain) / sizeof(chain[0]));
		/* Every frame is a return address (the shim's own frames were
		 * dropped, so the innermost kept one is too): the line of the
		 * call is that of (address - 1). Exact only for a sigreturn
		 * trampoline and the PC the signal interrupted, just above it. */
		bool tramp = sym && cgs_sym_is_sigreturn(sym, st->frames[k], st->epoch);
		bool exact = tramp || after_tramp;
		after_tramp = tramp;
		if (sym)
			got = cgs_sym_resolve_inline(sym, st->frames[k], st->epoch, !exact, chain, room);
		if (!sym || got < 1) {
			got = 1;
			memset(chain, 0, sizeof(chain[0]));
			chain[0].addr = st->frames[k];
		}
		if (shim_frame(&chain[0]))
			continue;
		if (*n + got > have) {
			int ncap = have * 2 < *n + got ? *n + got : have * 2;
			struct cgs_frame_info *w = realloc(v, (size_t)ncap * sizeof(*v));
			if (!w)
				got = have - *n;
			else {
				v = w;
				have = ncap;
			}
		}
		memcpy(&v[*n], chain, (size_t)got * sizeof(*v));
		*n += got;
	}
	return v;
}

/* ---- leak kinds ---------------------------------------------------------- */

static struct {
	pid_t pid;
	int pidfd;
	const struct cgs_supp *supp;
	/* The last live scan: every block's kind, by address (a block is the
	 * same when its address, stack and time agree). */
	struct cgs_block *memo;
	size_t nmemo;
	int64_t memo_ns;
	struct cgs_reach_stats memo_stats;
} target;

void cgs_snapshot_target(pid_t pid, int pidfd, const struct cgs_supp *supp)
{
	target.pid = pid;
	target.pidfd = pidfd;
	target.supp = supp;
}

static bool target_alive(void)
{
	if (target.pid <= 0)
		return false;
	if (target.pidfd >= 0) {
		struct pollfd p = { target.pidfd, POLLIN, 0 };
		return poll(&p, 1, 0) == 0;
	}
	return kill(target.pid, 0) == 0 || errno == EPERM;
}

static void memo_save(const struct cgs_block *b, size_t n, const struct cgs_reach_stats *st)
{
	struct cgs_block *v = malloc((n ? n : 1) * sizeof(*v));
	if (!v)
		return;
	memcpy(v, b, n * sizeof(*v));
	free(target.memo);
	target.memo = v;
	target.nmemo = n;
	target.memo_ns = mono_ns();
	target.memo_stats = *st;
}

/* Kind of a block from the last scan, or unknown. */
static int memo_kind(const struct cgs_block *bl)
{
	size_t lo = 0, hi = target.nmemo;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (target.memo[mid].ptr < bl->ptr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < target.nmemo) {
		const struct cgs_block *m = &target.memo[lo];
		if (m->ptr == bl->ptr && m->stack == bl->stack && m->t_q == bl->t_q && m->size == bl->size)
			return m->kind;
	}
	return CGS_KIND_UNKNOWN;
}

/* Set every block's kind and say where the kinds come from. */
#define SCAN_GAP_MIN_NS 1000000000LL
#define SCAN_GAP_FACTOR 20

static void take_kinds(struct cgs_snapshot *s, struct cgs_region *r, struct cgs_block *b, size_t n, bool final)
{
	for (size_t i = 0; i < n; i++)
		b[i].kind = CGS_KIND_UNKNOWN;
	if (!r->opts.leak_kinds) {
		s->kinds_source = "off";
		s->kinds_why = "CGOSHIM_LEAK_KINDS=0";
		return;
	}
	if (target.pid <= 0) {
		s->kinds_source = "none";
		s->kinds_why = "no process to scan";
		return;
	}
	int err = 0;
	/* Live reports asked for faster than scans can be made (a flood of
	 * signals, a fast interval, HTTP scrapes) reuse the last scan while it
	 * is young: younger than max(SCAN_GAP_MIN_NS, SCAN_GAP_FACTOR x its
	 * duration), so the watcher scans at most about 1/20 of its time and a
	 * flood of dumps is answered quickly. The final report always scans
	 * when it can. */
	int64_t since = target.memo ? mono_ns() - target.memo_ns : INT64_MAX;
	int64_t gap = (int64_t)target.memo_stats.ns * SCAN_GAP_FACTOR;
	if (gap < SCAN_GAP_MIN_NS)
		gap = SCAN_GAP_MIN_NS;
	bool fresh_enough = !final && target.memo && since < gap;
	if (!fresh_enough && target_alive()) {
		struct cgs_reach_stats st;
		int rc = cgs_reach_scan(target.pid, r, b, n, &st);
		err = rc ? errno : 0;
		/* A process that ended during the scan may have left its pid to
		 * another: the scan counts only if it was alive after. */
		if (!rc && target_alive()) {
			s->kinds_source = "scan";
			s->scan = st;
			memo_save(b, n, &st);
			return;
		}
		if (!rc)
			err = ESRCH;
	}
	cgs_reach_sort(b, n);
	if (target.memo) {
		for (size_t i = 0; i < n; i++)
			b[i].kind = (uint8_t)memo_kind(&b[i]);
		s->kinds_source = "last_scan";
		int64_t age = mono_ns() - target.memo_ns;
		s->kinds_age_ns = age > 0 ? (uint64_t)age : 0;
		s->scan = target.memo_stats;
		return;
	}
	for (size_t i = 0; i < n; i++)
		b[i].kind = CGS_KIND_UNKNOWN;
	s->kinds_source = "none";
	s->kinds_why = err == EPERM || err == EACCES ? "the process's memory could not be read (permission)"
		       : "the process was gone before any scan";
}

/* The site's rule, if a suppression matches it. */
static void suppress_sites(struct cgs_snapshot *s)
{
	const struct cgs_supp *supp = target.supp;
	if (!supp || !supp->n)
		return;
	uint64_t *cnt = calloc(supp->n, sizeof(*cnt)), *byt = calloc(supp->n, sizeof(*byt));
	if (!cnt || !byt) {
		free(cnt);
		free(byt);
		return;
	}
	size_t keep = 0;
	for (size_t i = 0; i < s->nsites; i++) {
		struct cgs_snap_site *site = &s->sites[i];
		int rule = site->frames ? cgs_supp_find(supp, site->frames, site->nframes) : -1;
		if (rule < 0) {
			s->sites[keep++] = *site;
			continue;
		}
		cnt[rule] += site->count;
		byt[rule] += site->bytes;
		s->suppressed_count += site->count;
		s->suppressed_bytes += site->bytes;
		s->kind_count[site->kind] -= site->count;
		s->kind_bytes[site->kind] -= site->bytes;
		free(site->frames);
		free((char *)site->cgo);
	}
	s->nsites = keep;
	size_t nrules = 0;
	for (size_t k = 0; k < supp->n; k++)
		nrules += cnt[k] != 0;
	s->supp = calloc(nrules ? nrules : 1, sizeof(*s->supp));
	for (size_t k = 0; s->supp && k < supp->n; k++)
		if (cnt[k])
			s->supp[s->nsupp++] = (struct cgs_snap_supp){ supp->rules[k].pattern, supp->rules[k].builtin,
								      cnt[k], byt[k] };
	for (size_t i = 1; i < s->nsupp; i++) /* by bytes, descending (few rules) */
		for (size_t j = i; j > 0 && s->supp[j].bytes > s->supp[j - 1].bytes; j--) {
			struct cgs_snap_supp t = s->supp[j];
			s->supp[j] = s->supp[j - 1];
			s->supp[j - 1] = t;
		}
	free(cnt);
	free(byt);
}

/* Whether path is the dynamic loader (ld-linux-x86-64.so.2, ld-2.36.so). */
static bool is_loader(const char *path)
{
	const char *base = path ? strrchr(path, '/') : NULL;
	base = base ? base + 1 : path;
	return base && !strncmp(base, "ld-", 3) && strstr(base, ".so");
}

/* A site the loader or the Go runtime holds for live threads: allocated
 * by ld.so's own code (allocate_dtv and _dl_allocate_tls under
 * pthread_create, for every M of the Go runtime; dynamic TLS; link maps),
 * or under the Go runtime's own thread creation (runtime.newm: the thread
 * start record that the new thread frees once it runs, live when the
 * program ends while an M starts). */
static bool held_by_runtime(const struct cgs_snap_site *site)
{
	if (!site->frames || site->nframes < 1)
		return false;
	if (is_loader(site->frames[0].module))
		return true;
	for (int k = 0; k < site->nframes; k++) {
		const char *fn = site->frames[k].function;
		if (fn && (!strcmp(fn, "runtime.newm") || !strcmp(fn, "runtime.newm1")))
			return true;
	}
	return false;
}

static void take_leaks(struct cgs_snapshot *s, struct cgs_region *r, bool racing, struct cgs_symbolizer *sym,
		       uint64_t now_tsc)
{
	struct cgs_leaks *l = r->leaks;
	s->leaks_enabled = r->opts.leaks;
	s->kinds_source = "none";
	s->kinds_why = "leak tracking off";
	if (!l || !cgs_region_contains(r, l, sizeof(*l)))
		return;
	double ns_per_q = s->ns_per_tick * (double)(1u << CGS_TIME_SHIFT);
	uint64_t now_q = (now_tsc - r->start_tsc) >> CGS_TIME_SHIFT;
	uint64_t min_age_q = ns_per_q > 0 ? (uint64_t)((double)r->opts.min_age_ns / ns_per_q) : 0;
	/* A fork child: blocks dated up to the fork's quantum were inherited
	 * (region.h); times are given from the fork on. */
	bool forked = r->fork_generation != 0;
	uint32_t fork_q = r->fork_q & CGS_TIME_MASK;
	double offset_ns = forked ? (double)(r->fork_mono_ns - r->start_mono_ns) : 0;
	struct cgs_lrec *buf = NULL;
	size_t bufcap = 0, nb = 0, bcap = 0;
	struct cgs_block *blocks = NULL;
	for (int i = 0; i < CGS_LEAK_SHARDS; i++) {
		size_t n = copy_shard(r, &l->shard[i], &buf, &bufcap, racing, &s->inconsistent);
		for (size_t k = 0; k < n; k++) {
			const struct cgs_lrec *rec = &buf[k];
			if (!rec->a)
				continue;
			uint64_t size = cgs_lrec_size(rec);
			uint32_t t_q = cgs_lrec_time(rec);
			bool inherited = forked && t_q <= fork_q;
			s->leak_count++;
			s->leak_bytes += size;
			if (inherited) {
				s->inherited_count++;
				s->inherited_bytes += size;
			}
			bool shown = !(min_age_q && ((now_q - t_q) & CGS_TIME_MASK) < min_age_q);
			if (nb == bcap) {
				struct cgs_block *w = realloc(blocks, (bcap = bcap ? bcap * 2 : 1024) * sizeof(*w));
				if (!w)
					continue;
				blocks = w;
			}
			blocks[nb++] = (struct cgs_block){ .ptr = cgs_lrec_ptr(rec), .size = size,
							   .stack = cgs_lrec_stack(rec), .t_q = t_q,
							   .shown = shown, .inherited = inherited };
		}
	}
	free(buf);
	take_kinds(s, r, blocks, nb, s->final);
	struct aggmap m = { 0 };
	for (size_t i = 0; i < nb; i++) {
		const struct cgs_block *bl = &blocks[i];
		if (!bl->shown)
			continue;
		s->shown_count++;
		s->shown_bytes += bl->size;
		s->kind_count[bl->kind]++;
		s->kind_bytes[bl->kind] += bl->size;
		/* Key: the stack and the kind, so a site is split by kind. */
		struct agg *a = agg_slot(&m, bl->stack | (uint32_t)bl->kind << CGS_STACK_ID_BITS);
		if (!a)
			continue;
		if (!a->count || bl->t_q < a->oldest)
			a->oldest = bl->t_q;
		if (!a->count || bl->t_q > a->newest)
			a->newest = bl->t_q;
		a->count++;
		a->bytes += bl->size;
		if (bl->inherited) {
			a->inh_count++;
			a->inh_bytes += bl->size;
		}
	}
	free(blocks);
	s->sites = calloc(m.used ? m.used : 1, sizeof(*s->sites));
	for (size_t i = 0; s->sites && i < m.cap; i++) {
		struct agg *a = &m.v[i];
		if (!a->count)
			continue;
		struct cgs_snap_site *site = &s->sites[s->nsites++];
		site->count = a->count;
		site->bytes = a->bytes;
		site->stack_id = a->stack & (CGS_STACK_IDS - 1);
		site->kind = (int)(a->stack >> CGS_STACK_ID_BITS);
		site->inherited_count = a->inh_count;
		site->inherited_bytes = a->inh_bytes;
		double o = (double)a->oldest * ns_per_q - offset_ns, nw = (double)a->newest * ns_per_q - offset_ns;
		site->oldest_ns = o > 0 ? (uint64_t)o : 0;
		site->newest_ns = nw > 0 ? (uint64_t)nw : 0;
	}
	free(m.v);
	qsort(s->sites, s->nsites, sizeof(*s->sites), by_bytes);
	for (size_t i = 0; i < s->nsites; i++) {
		struct cgs_snap_site *site = &s->sites[i];
		const struct cgs_stack *st = cgs_stack_get(r, site->stack_id);
		if (!st)
			continue;
		site->frames = stack_frames(sym, st, &site->nframes);
		if (!site->frames)
			continue;
		site->cgo = cgo_entry(site);
		site->runtime = held_by_runtime(site);
		if (site->runtime) {
			s->runtime_count += site->count;
			s->runtime_bytes += site->bytes;
		}
	}
	suppress_sites(s);
}

size_t cgs_snap_top_stacks(struct cgs_region *r, uint32_t *stack, uint64_t *bytes, uint64_t *count, size_t max)
{
	struct cgs_leaks *l = r->leaks;
	if (!l || !cgs_region_contains(r, l, sizeof(*l)))
		return 0;
	struct aggmap m = { 0 };
	struct cgs_lrec *buf = NULL;
	size_t bufcap = 0, n = 0;
	uint32_t inconsistent = 0;
	for (int i = 0; i < CGS_LEAK_SHARDS; i++) {
		size_t k = copy_shard(r, &l->shard[i], &buf, &bufcap, true, &inconsistent);
		for (size_t j = 0; j < k; j++) {
			if (!buf[j].a)
				continue;
			struct agg *a = agg_slot(&m, cgs_lrec_stack(&buf[j]));
			if (!a)
				continue;
			a->count++;
			a->bytes += cgs_lrec_size(&buf[j]);
		}
	}
	free(buf);
	for (size_t i = 0; i < m.cap; i++) {
		struct agg *a = &m.v[i];
		if (!a->count)
			continue;
		/* insertion into the top max by bytes */
		size_t at = n < max ? n : max;
		while (at > 0 && bytes[at - 1] < a->bytes)
			at--;
		if (at >= max)
			continue;
		size_t last = n < max ? n : max - 1;
		for (size_t k = last; k > at; k--) {
			stack[k] = stack[k - 1];
			bytes[k] = bytes[k - 1];
			count[k] = count[k - 1];
		}
		stack[at] = a->stack;
		bytes[at] = a->bytes;
		count[at] = a->count;
		if (n < max)
			n++;
	}
	free(m.v);
	return n;
}

static int by_alloc_bytes(const void *a, const void *b)
{
	const struct cgs_snap_tsite *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return x->stack_id < y->stack_id ? -1 : x->stack_id > y->stack_id;
}

/* Heap totals: the threads' counts, the sampled peak and its sites, and
 * every site's totals over the run. */
static void take_heap(struct cgs_snapshot *s, struct cgs_region *r, struct cgs_tstate **ts, size_t nt,
		      struct cgs_symbolizer *sym)
{
	struct cgs_snap_heap *h = &s->heap;
	h->enabled = r->opts.leaks;
	if (!h->enabled)
		return;
	for (size_t i = 0; i < nt; i++) {
		h->allocs += ts[i]->heap.allocs;
		h->frees += ts[i]->heap.frees;
		h->bytes += ts[i]->heap.bytes;
		h->bytes_freed += ts[i]->heap.bytes_freed;
		h->temps += ts[i]->heap.temps;
	}
	cgs_heap_peak_sample(r);
	struct cgs_heap_peak pk;
	cgs_heap_peak_get(&pk);
	h->peak_bytes = pk.bytes;
	h->peak_ns = pk.ns;
	h->sample_ns = CGS_PEAK_SAMPLE_NS;
	h->peak_sites = calloc(pk.nsites + 1, sizeof(*h->peak_sites));
	for (size_t i = 0; h->peak_sites && i < pk.nsites; i++) {
		struct cgs_snap_site *site = &h->peak_sites[h->npeak++];
		site->count = pk.site_count[i];
		site->bytes = pk.site_bytes[i];
		site->stack_id = pk.stack[i];
		const struct cgs_stack *st = cgs_stack_get(r, pk.stack[i]);
		if (st && (site->frames = stack_frames(sym, st, &site->nframes)))
			site->cgo = cgo_entry(site);
	}
	const struct cgs_stacks *sk = r->stacks;
	uint32_t nstacks = sk && cgs_region_contains(r, sk, sizeof(*sk)) ? sk->count : 0;
	size_t cap = 0;
	for (uint32_t id = 1; id <= nstacks; id++) {
		const struct cgs_sitetot *t = cgs_sitetot_get(r, id);
		if (!t || !t->allocs)
			continue;
		if (h->nsites == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct cgs_snap_tsite *v = realloc(h->sites, ncap * sizeof(*v));
			if (!v)
				break;
			h->sites = v;
			cap = ncap;
		}
		struct cgs_snap_tsite *x = &h->sites[h->nsites++];
		memset(x, 0, sizeof(*x));
		x->allocs = t->allocs;
		x->bytes = t->bytes;
		x->temps = t->temps;
		x->stack_id = id;
	}
	if (h->nsites)
		qsort(h->sites, h->nsites, sizeof(*h->sites), by_alloc_bytes);
	for (size_t i = 0; i < h->nsites; i++) {
		const struct cgs_stack *st = cgs_stack_get(r, h->sites[i].stack_id);
		if (!st)
			continue;
		h->sites[i].frames = stack_frames(sym, st, &h->sites[i].nframes);
		if (h->sites[i].frames) {
			struct cgs_snap_site tmp = { .frames = h->sites[i].frames, .nframes = h->sites[i].nframes };
			h->sites[i].cgo = cgo_entry(&tmp);
		}
	}
}

/* ---- flight recorder --------------------------------------------------- */

/* The CPUs of ring i as a cpulist. */
static char *ring_cpus(const struct cgs_topology *t, unsigned i)
{
	size_t cap = 64, n = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	out[0] = 0;
	for (unsigned c = 0; c < CGS_CPUS_MAX; c++) {
		if (t->ring_of_cpu[c] != i)
			continue;
		unsigned e = c;
		while (e + 1 < CGS_CPUS_MAX && t->ring_of_cpu[e + 1] == i)
			e++;
		if (n + 24 > cap) {
			char *bigger = realloc(out, cap *= 2);
			if (!bigger)
				break;
			out = bigger;
		}
		n += (size_t)(e > c ? snprintf(out + n, cap - n, "%s%u-%u", n ? "," : "", c, e)
				    : snprintf(out + n, cap - n, "%s%u", n ? "," : "", c));
		c = e;
	}
	return out;
}

static char *file_label(struct cgs_region *r, uint32_t file_plus1)
{
	struct cgs_files *fs = r->files;
	if (!file_plus1 || !fs || !cgs_region_contains(r, fs, sizeof(*fs)) || file_plus1 > CGS_FILES_MAX)
		return NULL;
	return strndup(fs->f[file_plus1 - 1].label, CGS_FILE_LABEL_MAX - 1);
}

static bool file_is_pattern(struct cgs_region *r, uint32_t file_plus1)
{
	struct cgs_files *fs = r->files;
	return file_plus1 && fs && cgs_region_contains(r, fs, sizeof(*fs)) && file_plus1 <= CGS_FILES_MAX &&
	       fs->f[file_plus1 - 1].pattern;
}

/* What a record identifies, for people: a file, path, library or symbol. */
static char *event_target(struct cgs_region *r, const struct cgs_rings *rs, const struct cgs_event *e)
{
	char text[CGS_EVENT_TEXT + 1];
	size_t len = e->textlen < CGS_EVENT_TEXT ? e->textlen : CGS_EVENT_TEXT;
	memcpy(text, e->text, len);
	text[len] = 0;
	if (e->fn >= CGS_FN_COUNT)
		return NULL;
	switch (cgs_fn_family[e->fn]) {
	case CGS_FAM_READ:
	case CGS_FAM_IOCTL:
	case CGS_FAM_CLOSE:
		return file_label(r, e->file);
	case CGS_FAM_OPEN:
		/* Id 0 is "(other)": the table was full; a pattern row stands
		 * for many paths: the record's own copy of the path (its tail)
		 * is then better. */
		if (e->file > 1 && !file_is_pattern(r, e->file))
			return file_label(r, e->file);
		return strdup(text);
	case CGS_FAM_DL: {
		const struct cgs_dlname *d = cgs_rings_dlname(rs, e->file);
		char lib[CGS_EVENT_TEXT + 1] = "";
		if (e->fn == CGS_FN_dlopen)
			return strdup(text);
		if (d && d->handle == e->arg) {
			size_t n = d->len < CGS_EVENT_TEXT ? d->len : CGS_EVENT_TEXT;
			memcpy(lib, d->name, n);
			lib[n] = 0;
		}
		char *out = NULL;
		if (e->fn == CGS_FN_dlclose) {
			if (lib[0])
				return strdup(lib);
			if (asprintf(&out, "handle 0x%" PRIx64, e->arg) < 0)
				return NULL;
			return out;
		}
		if (asprintf(&out, "%s in %s", text,
			     lib[0] ? lib : e->arg == 0 ? "RTLD_DEFAULT" : "an unknown handle") < 0)
			return NULL;
		return out;
	}
	default:
		return NULL;
	}
}

static int by_start(const void *a, const void *b)
{
	const struct cgs_snap_event *x = a, *y = b;
	if (x->t_ticks != y->t_ticks)
		return x->t_ticks < y->t_ticks ? -1 : 1;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

/* Whether a ring read out of the region can be walked safely. */
static bool ring_sane(struct cgs_region *r, const struct cgs_ring *ring)
{
	if (!cgs_region_contains(r, ring, sizeof(*ring)))
		return false;
	uint64_t cap = ring->mask + 1;
	return cap && !(cap & ring->mask) && cap <= CGS_RING_EVENTS_MAX &&
	       cgs_region_contains(r, ring->slots, cap * sizeof(struct cgs_event));
}

/* Stacks symbolised once per report: records of one call site share a
 * stack, and a full ring holds thousands of records. */
#define STACK_CACHE 8192

struct stack_cache {
	uint32_t id[STACK_CACHE]; /* 0 = free */
	int n[STACK_CACHE];
	struct cgs_frame_info *f[STACK_CACHE];
};

/* The frames of stack id as stack_frames gives them (a copy the caller
 * owns); *n = 0 and NULL when there is no such stack. c may be NULL. */
static struct cgs_frame_info *cached_frames(struct stack_cache *c, struct cgs_region *r,
					    struct cgs_symbolizer *sym, uint32_t id, int *n)
{
	size_t k = (id * 2654435761u) & (STACK_CACHE - 1), probes = 0;
	struct cgs_frame_info *v;
	*n = 0;
	if (!id)
		return NULL; /* no stack was taken */
	while (c && c->id[k] && c->id[k] != id && ++probes < 64)
		k = (k + 1) & (STACK_CACHE - 1);
	if (!c || c->id[k] != id) {
		const struct cgs_stack *st = cgs_stack_get(r, id);
		if (!st || !(v = stack_frames(sym, st, n)))
			return NULL;
		if (c && !c->id[k] && *n && (c->f[k] = malloc((size_t)*n * sizeof(*v)))) {
			memcpy(c->f[k], v, (size_t)*n * sizeof(*v));
			c->id[k] = id;
			c->n[k] = *n;
		}
		return v;
	}
	if (!(v = malloc((size_t)c->n[k] * sizeof(*v))))
		return NULL;
	memcpy(v, c->f[k], (size_t)c->n[k] * sizeof(*v));
	*n = c->n[k];
	return v;
}

static void take_ring_events(struct cgs_snapshot *s, struct cgs_region *r, const struct cgs_rings *rs,
			     const struct cgs_ring *ring, struct cgs_snap_ring *sr, size_t *cap,
			     struct cgs_symbolizer *sym, struct stack_cache *sc)
{
	uint64_t head = cgs_ring_head(ring), n = ring->mask + 1;
	uint64_t first = head > n ? head - n : 0;
	if (first < ring->first)
		first = ring->first; /* a fork child: its parent's records are not its own */
	double rate = s->ns_per_tick;
	for (uint64_t idx = first; idx < head; idx++) {
		struct cgs_event e;
		switch (cgs_ring_get(ring, idx, &e)) {
		case CGS_SLOT_OK:
			break;
		case CGS_SLOT_TORN:
			sr->torn++;
			continue;
		default:
			sr->in_flight++;
			continue;
		}
		bool dl = e.fn < CGS_FN_COUNT && cgs_fn_family[e.fn] == CGS_FAM_DL;
		/* Recorded against an estimated threshold: keep exactly the calls
		 * at least slow_ns long at the rate measured over the run. */
		if (!dl && rate > 0 && (double)e.dur * rate < (double)r->opts.slow_ns)
			continue;
		if (s->nevents == *cap) {
			size_t ncap = *cap ? *cap * 2 : 256;
			struct cgs_snap_event *v = realloc(s->events, ncap * sizeof(*v));
			if (!v)
				return;
			s->events = v;
			*cap = ncap;
		}
		/* A fork child's events are timed from its fork, its report's
		 * start (ring->first already leaves out its parent's). */
		uint64_t base = r->fork_generation ? r->fork_tsc : r->start_tsc;
		struct cgs_snap_event *se = &s->events[s->nevents++];
		memset(se, 0, sizeof(*se));
		se->t_ticks = e.t0 > base ? e.t0 - base : 0;
		se->dur = e.dur;
		se->fn = e.fn < CGS_FN_COUNT ? e.fn : 0;
		se->tid = e.tid;
		se->cpu = e.cpu == 0xffff ? -1 : e.cpu;
		se->node = e.node;
		se->fd = e.fd;
		se->err = e.err;
		se->arg = e.arg;
		se->result = e.result;
		se->target = event_target(r, rs, &e);
		se->stack_id = e.stack;
		se->frames = cached_frames(sc, r, sym, e.stack, &se->nframes);
	}
}

static void take_recorder(struct cgs_snapshot *s, struct cgs_region *r, struct cgs_tstate **ts, size_t nt,
			  struct cgs_symbolizer *sym)
{
	static const char *const topo[] = { "single", "sysfs", "override" };
	const struct cgs_rings *rs = r->rings;
	if (!rs || !cgs_region_contains(r, rs, sizeof(*rs)))
		return;
	s->recorder = true;
	s->topology = rs->topo.source < 3 ? topo[rs->topo.source] : "single";
	s->cpu_source = rs->cpu_rseq ? "rseq" : "getcpu";
	s->ring_events = rs->capacity;
	uint32_t nr = rs->nrings < CGS_NODES_MAX ? rs->nrings : CGS_NODES_MAX;
	s->rings = calloc(nr ? nr : 1, sizeof(*s->rings));
	if (!s->rings)
		return;
	size_t cap = 0;
	struct stack_cache *sc = calloc(1, sizeof(*sc)); /* NULL: no cache, still right */
	for (uint32_t i = 0; i < nr; i++) {
		const struct cgs_ring *ring = rs->ring[i];
		if (!ring_sane(r, ring))
			continue;
		struct cgs_snap_ring *sr = &s->rings[s->nrings++];
		int policy;
		sr->node = ring->node;
		sr->capacity = ring->mask + 1;
		sr->written = cgs_ring_written(ring);
		sr->overwritten = cgs_ring_overwritten(ring);
		sr->bytes = ring->bytes;
		sr->bound_node = cgs_ring_policy_node(ring, &policy);
		if (policy < 0) {
			sr->bound_node = ring->bound_node;
			policy = ring->policy;
		}
		sr->policy = sr->bound_node < 0 ? "none" : policy == CGS_MPOL_BIND ? "bind" : "preferred";
		sr->cpus = ring_cpus(&rs->topo, i);
		take_ring_events(s, r, rs, ring, sr, &cap, sym, sc);
		for (int k = 0; k < CGS_ROUTINE_KINDS && k < 2; k++) {
			const struct cgs_ring *rr = rs->routine[k][i];
			if (!rr || !ring_sane(r, rr))
				continue;
			sr->routine_capacity = rr->mask + 1;
			sr->routine_written[k] = cgs_ring_written(rr);
			sr->routine_overwritten[k] = cgs_ring_overwritten(rr);
			sr->bytes += rr->bytes;
			take_ring_events(s, r, rs, rr, sr, &cap, sym, sc);
		}
	}
	for (size_t k = 0; sc && k < STACK_CACHE; k++)
		free(sc->f[k]);
	free(sc);
	if (s->nevents)
		qsort(s->events, s->nevents, sizeof(*s->events), by_start);
	/* Calls and time per node: each thread block's totals go to the node
	 * its thread was last seen on. */
	for (size_t i = 0; i < nt; i++) {
		uint64_t calls = 0, ticks = 0;
		for (int fn = 0; fn < CGS_FN_COUNT; fn++) {
			calls += ts[i]->st[fn].count;
			ticks += ts[i]->st[fn].total;
		}
		int node = cgs_rings_thread_node(rs, ts[i]->tid);
		struct cgs_snap_ring *home = NULL;
		for (size_t k = 0; node >= 0 && k < s->nrings && !home; k++)
			if (s->rings[k].node == node)
				home = &s->rings[k];
		if (home) {
			home->calls += calls;
			home->ticks += ticks;
		} else {
			s->unattributed_calls += calls;
			s->unattributed_ticks += ticks;
		}
	}
}

void cgs_snapshot_activity(struct cgs_region *r, struct cgs_activity *a)
{
	memset(a, 0, sizeof(*a));
	struct cgs_tstate **ts;
	size_t nt = thread_blocks(r, &ts);
	for (size_t i = 0; i < nt; i++)
		for (int fn = 0; fn < CGS_FN_COUNT; fn++)
			a->calls += __atomic_load_n(&ts[i]->st[fn].count, __ATOMIC_RELAXED);
	free(ts);
	struct cgs_leaks *l = r->leaks;
	if (l && cgs_region_contains(r, l, sizeof(*l)))
		for (int i = 0; i < CGS_LEAK_SHARDS; i++) {
			a->blocks += __atomic_load_n(&l->shard[i].count, __ATOMIC_RELAXED);
			a->bytes += __atomic_load_n(&l->shard[i].bytes, __ATOMIC_RELAXED);
		}
	const struct cgs_counters *c = &r->counters;
	a->events = c->untracked_allocs + c->unknown_frees + c->unknown_sizes + c->region_oom + c->pool_allocs +
		    c->guard_calls + c->orphan_calls + c->stack_overflow + c->dlopen_untimed + c->dlsym_untimed + c->dlvsym_untimed +
		    c->thread_blocks + c->seccomp_skipped +
		    c->forks_unmeasured;
}

struct cgs_snapshot *cgs_snapshot_take(struct cgs_region *r, const char *trigger, bool final, bool live,
				       uint32_t seq, struct cgs_symbolizer *sym)
{
	struct cgs_snapshot *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	uint64_t now_tsc = cgs_rdtsc();
	int64_t now_mono = mono_ns();
	s->pid = r->pid;
	s->exe = strndup(r->exe, sizeof(r->exe));
	s->cmdline = strndup(r->cmdline, sizeof(r->cmdline));
	s->trigger = trigger;
	s->final = final;
	s->final_at = "";
	s->seq = seq;
	s->tsc_flags = r->tsc_flags;
	/* The TSC rate over the whole run of the image (a fork child's too);
	 * the start and duration shown are a fork child's own. */
	uint64_t since_start = now_mono > r->start_mono_ns ? (uint64_t)(now_mono - r->start_mono_ns) : 0;
	s->ns_per_tick = now_tsc > r->start_tsc ? (double)since_start / (double)(now_tsc - r->start_tsc) : 0;
	int64_t t0 = r->fork_generation ? r->fork_mono_ns : r->start_mono_ns;
	s->duration_ns = now_mono > t0 ? (uint64_t)(now_mono - t0) : 0;
	s->start_real_ns = r->fork_generation ? r->fork_real_ns : r->start_real_ns;
	s->parent_pid = r->fork_generation ? r->parent_pid : 0;
	s->attached = r->attached != 0;
	s->opts = r->opts;
	s->shim_bytes = cgs_region_resident(r);
	s->go = strndup(r->go_status, sizeof(r->go_status));
	s->counters = r->counters;
	s->sig_dump_state = r->sig_dump_state;
	s->sig_given_up_disp = r->sig_given_up_disp;
	s->sig_given_up_ns = r->sig_given_up_ns;
	s->seccomp_ns = r->seccomp_ns;
	s->seccomp_filters = r->seccomp_filters;
	s->seccomp_unknown = r->seccomp_unknown;
	s->passive_ns = r->passive_ns;
	s->passive_why = r->passive_why;

	struct cgs_tstate **ts;
	size_t nt = thread_blocks(r, &ts);
	s->threads = r->counters.thread_blocks;
	take_fns(s, ts, nt);
	take_targets(s, r, ts, nt);
	take_recorder(s, r, ts, nt, sym);
	take_heap(s, r, ts, nt, sym);
	free(ts);
	take_leaks(s, r, live || target_alive(), sym, now_tsc);
	return s;
}

void cgs_snapshot_free(struct cgs_snapshot *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nfns; i++)
		free(s->fns[i].hist);
	free(s->fns);
	for (size_t i = 0; i < s->ntargets; i++) {
		free((char *)s->targets[i].label);
		free(s->targets[i].hist);
	}
	free(s->targets);
	for (size_t i = 0; i < s->nsites; i++) {
		free(s->sites[i].frames);
		free((char *)s->sites[i].cgo);
	}
	free(s->sites);
	free(s->supp);
	for (size_t i = 0; i < s->heap.npeak; i++) {
		free(s->heap.peak_sites[i].frames);
		free((char *)s->heap.peak_sites[i].cgo);
	}
	free(s->heap.peak_sites);
	for (size_t i = 0; i < s->heap.nsites; i++) {
		free(s->heap.sites[i].frames);
		free((char *)s->heap.sites[i].cgo);
	}
	free(s->heap.sites);
	for (size_t i = 0; i < s->nrings; i++)
		free(s->rings[i].cpus);
	free(s->rings);
	for (size_t i = 0; i < s->nevents; i++) {
		free(s->events[i].target);
		free(s->events[i].frames);
	}
	free(s->events);
	free((char *)s->exe);
	free((char *)s->cmdline);
	free((char *)s->go);
	free(s);
}

/* ---- interval deltas --------------------------------------------------- */

struct cgs_snap_base {
	uint64_t duration_ns;
	double ns_per_tick;
	struct cgs_counters counters;
	size_t nfns, ntargets;
	struct cgs_snap_fn *fns;       /* names point into the static table */
	struct cgs_snap_target *targets; /* labels copied */
};

struct cgs_snap_base *cgs_snap_base_take(const struct cgs_snapshot *s)
{
	struct cgs_snap_base *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->duration_ns = s->duration_ns;
	b->ns_per_tick = s->ns_per_tick;
	b->counters = s->counters;
	b->fns = calloc(s->nfns + 1, sizeof(*b->fns));
	b->targets = calloc(s->ntargets + 1, sizeof(*b->targets));
	if (!b->fns || !b->targets) {
		cgs_snap_base_free(b);
		return NULL;
	}
	for (size_t i = 0; i < s->nfns; i++) {
		b->fns[i] = s->fns[i];
		b->fns[i].hist = malloc(CGS_HIST_BUCKETS * sizeof(uint64_t));
		if (b->fns[i].hist)
			memcpy(b->fns[i].hist, s->fns[i].hist, CGS_HIST_BUCKETS * sizeof(uint64_t));
		b->nfns++;
	}
	for (size_t i = 0; i < s->ntargets; i++) {
		b->targets[i] = s->targets[i];
		b->targets[i].label = strdup(s->targets[i].label ? s->targets[i].label : "");
		b->targets[i].hist = malloc(CGS_HIST_BUCKETS * sizeof(uint64_t));
		if (b->targets[i].hist)
			memcpy(b->targets[i].hist, s->targets[i].hist, CGS_HIST_BUCKETS * sizeof(uint64_t));
		b->ntargets++;
	}
	return b;
}

void cgs_snap_base_free(struct cgs_snap_base *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nfns; i++)
		free(b->fns[i].hist);
	for (size_t i = 0; i < b->ntargets; i++) {
		free(b->targets[i].hist);
		free((char *)b->targets[i].label);
	}
	free(b->fns);
	free(b->targets);
	free(b);
}

static uint64_t sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* st/hist minus the earlier st0/hist0; false when nothing new. */
static bool stat_sub(struct cgs_stat *st, uint64_t *hist, const struct cgs_stat *st0, const uint64_t *hist0)
{
	if (hist0)
		for (unsigned k = 0; k < CGS_HIST_BUCKETS; k++)
			hist[k] = sub(hist[k], hist0[k]);
	st->errors = sub(st->errors, st0->errors);
	st->total = sub(st->total, st0->total);
	/* min and max of the interval: from its own buckets */
	st->min = 0;
	st->max = UINT64_MAX;
	cgs_stat_fit(st, hist);
	return st->count > 0;
}

void cgs_snapshot_subtract(struct cgs_snapshot *s, const struct cgs_snap_base *b)
{
	s->delta = true;
	s->since_ns = b ? b->duration_ns : 0;
	if (!b)
		return;
	size_t k = 0;
	for (size_t i = 0; i < s->nfns; i++) {
		struct cgs_snap_fn *f = &s->fns[i];
		const struct cgs_snap_fn *f0 = NULL;
		for (size_t j = 0; j < b->nfns && !f0; j++)
			if (!strcmp(b->fns[j].name, f->name))
				f0 = &b->fns[j];
		if (f0 && !stat_sub(&f->st, f->hist, &f0->st, f0->hist)) {
			free(f->hist);
			continue;
		}
		s->fns[k++] = *f;
	}
	s->nfns = k;
	k = 0;
	for (size_t i = 0; i < s->ntargets; i++) {
		struct cgs_snap_target *t = &s->targets[i];
		const struct cgs_snap_target *t0 = NULL;
		for (size_t j = 0; j < b->ntargets && !t0; j++)
			if (!strcmp(b->targets[j].kind, t->kind) && !strcmp(b->targets[j].label, t->label ? t->label : ""))
				t0 = &b->targets[j];
		if (t0 && !stat_sub(&t->st, t->hist, &t0->st, t0->hist)) {
			free((char *)t->label);
			free(t->hist);
			continue;
		}
		s->targets[k++] = *t;
	}
	s->ntargets = k;
	uint64_t *c = (uint64_t *)&s->counters;
	const uint64_t *c0 = (const uint64_t *)&b->counters;
	for (size_t i = 0; i < sizeof(s->counters) / sizeof(uint64_t); i++)
		c[i] = sub(c[i], c0[i]);
	/* flight recorder: only the interval's own events */
	k = 0;
	for (size_t i = 0; i < s->nevents; i++) {
		struct cgs_snap_event *e = &s->events[i];
		if ((double)e->t_ticks * s->ns_per_tick < (double)b->duration_ns) {
			free(e->target);
			free(e->frames);
			continue;
		}
		s->events[k++] = *e;
	}
	s->nevents = k;
}
