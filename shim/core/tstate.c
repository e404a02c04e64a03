/* tstate.c - thread blocks: acquire on a thread's first call, release at
 * thread exit, reuse; see tstate.h. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "tstate.h"
#include "seccomp.h"

CGS_TLS struct cgs_tstate *cgs_t_state;
CGS_TLS int cgs_t_guard;
CGS_TLS char cgs_t_me;
static CGS_TLS bool t_dead; /* this thread's destructor ran */

static pthread_key_t key;
static bool key_ok;

static void release(void *arg)
{
	struct cgs_tstate *t = arg;
	struct cgs_region *r = cgs_R;
	cgs_t_state = NULL;
	t_dead = true;
	if (!r || !t || t == r->orphan)
		return;
	cgs_spin_lock(&r->threads_lock);
	t->in_use = 0;
	t->next_free = r->free_threads;
	r->free_threads = t;
	cgs_spin_unlock(&r->threads_lock);
}

void cgs_tstate_init(void)
{
	if (!key_ok && pthread_key_create(&key, release) == 0)
		key_ok = true;
	struct cgs_region *r = cgs_R;
	if (r && !r->orphan) {
		struct cgs_tstate *o = cgs_ralloc(r, sizeof(*o));
		if (o) {
			o->in_use = 1;
			o->tid = -1;
			cgs_spin_lock(&r->threads_lock);
			o->next_all = r->threads;
			r->threads = o;
			cgs_spin_unlock(&r->threads_lock);
			r->orphan = o;
		}
	}
}

static struct cgs_tstate *tstate_acquire(struct cgs_region *r);

struct cgs_tstate *cgs_tstate_slow(void)
{
	struct cgs_region *r = cgs_R;
	if (t_dead) {
		cgs_count(&r->counters.orphan_calls);
		return r->orphan;
	}
	struct cgs_tstate *t;
	/* Takes shim locks: a signal handler on this thread passes through. */
	cgs_t_guard++;
	t = tstate_acquire(r);
	cgs_t_guard--;
	return t;
}

static struct cgs_tstate *tstate_acquire(struct cgs_region *r)
{
	struct cgs_tstate *t;
	cgs_spin_lock(&r->threads_lock);
	t = r->free_threads;
	if (t)
		r->free_threads = t->next_free;
	cgs_spin_unlock(&r->threads_lock);
	if (!t) {
		t = cgs_ralloc(r, sizeof(*t));
		if (!t)
			return r->orphan; /* may be NULL: the call is then not counted */
		cgs_count(&r->counters.thread_blocks);
		cgs_spin_lock(&r->threads_lock);
		t->next_all = r->threads;
		r->threads = t;
		cgs_spin_unlock(&r->threads_lock);
	}
	t->tid = cgs_seccomp_allows0(SYS_gettid) ? (int32_t)syscall(SYS_gettid) : 0;
	t->in_use = 1;
	cgs_t_state = t;
	if (key_ok) {
		int saved = errno;
		cgs_t_guard++;
		pthread_setspecific(key, t);
		cgs_t_guard--;
		errno = saved;
	}
	return t;
}

void cgs_record_slow(struct cgs_tstate *t, int fn, uint64_t ticks, bool err)
{
	cgs_stat_add_atomic(&t->st[fn], t->hist[fn], ticks, err);
}

struct cgs_thist *cgs_thist_get(struct cgs_tstate *t, int tf, uint32_t file)
{
	struct cgs_region *r = cgs_R;
	if (file >= CGS_FILES_MAX)
		file = 0;
	struct cgs_thist **row = __atomic_load_n(&t->thist[tf], __ATOMIC_ACQUIRE);
	if (!row) {
		struct cgs_thist **fresh = cgs_ralloc(r, CGS_FILES_MAX * sizeof(*fresh));
		if (!fresh)
			return NULL;
		if (__atomic_compare_exchange_n(&t->thist[tf], &row, fresh, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			row = fresh;
		else
			cgs_rfree(r, fresh, CGS_FILES_MAX * sizeof(*fresh));
	}
	struct cgs_thist *h = __atomic_load_n(&row[file], __ATOMIC_ACQUIRE);
	if (!h) {
		struct cgs_thist *fresh = cgs_ralloc(r, sizeof(*fresh));
		if (!fresh)
			return NULL;
		if (__atomic_compare_exchange_n(&row[file], &h, fresh, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			h = fresh;
		else
			cgs_rfree(r, fresh, sizeof(*fresh));
	}
	return h;
}

static void reset_block(struct cgs_tstate *t)
{
	memset(t->st, 0, sizeof(t->st));
	memset(&t->heap, 0, sizeof(t->heap));
	/* The histograms are whole pages: drop them instead of writing zeros. */
	if (madvise(t->hist, sizeof(t->hist), MADV_REMOVE))
		memset(t->hist, 0, sizeof(t->hist));
	for (int tf = 0; tf < CGS_TF_COUNT; tf++) {
		struct cgs_thist **row = t->thist[tf];
		for (unsigned i = 0; row && i < CGS_FILES_MAX; i++)
			if (row[i])
				memset(row[i], 0, sizeof(*row[i]));
	}
}

void cgs_tstate_after_fork(void)
{
	struct cgs_region *r = cgs_R;
	struct cgs_tstate *self = cgs_t_state;
	r->free_threads = NULL;
	for (struct cgs_tstate *t = r->threads; t; t = t->next_all) {
		reset_block(t);
		if (t != self && t != r->orphan) {
			t->in_use = 0;
			t->next_free = r->free_threads;
			r->free_threads = t;
		}
	}
	if (self)
		self->tid = cgs_seccomp_allows0(SYS_gettid) ? (int32_t)syscall(SYS_gettid) : 0;
}
