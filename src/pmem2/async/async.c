/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * async.c -- pmem2_config_set_vdm, pmem2_{memcpy,memmove,memset,persist}_async
 * and the per-map state they run on (made by pmem2_map_new, dropped by
 * pmem2_map_delete, kept consistent across fork).
 *
 * The rest of async/, one concept a file: dflt.c the default mover,
 * wrap.c the wrapper that adds the durability step to a mover,
 * durability.c and page.c the durability backends per granularity (page.c
 * with the writes through the file), syncer.c the process's PAGE syncer,
 * file.c the mapped files and their descriptors. The map's durability
 * backend (struct pmem2_durability) is picked here once, by granularity;
 * after that, the per-map steps below and every operation only call its
 * hooks.
 *
 * A returned future is a plain struct vdm_operation_future: data.operation
 * holds what the user asked for (dest, src, n, and VDM flags saying whether
 * the result will be durable), data.vdm the mover the future belongs to.
 * Its task function is ours rather than vdm_operation_impl so that every
 * poll sees the caller's notifier (the PAGE syncer calls its waker); the
 * vdm's op_* functions implement the same steps for code that drives the
 * mover through the generic vdm interface.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>

#define PMEM2_USE_MINIASYNC 1
#include "libpmem2.h"
#include "config.h"
#include "map.h"
#include "memops.h"
#include "errors.h"
#include "async_impl.h"

int
pmem2_config_set_vdm(struct pmem2_config *cfg, struct vdm *vdm)
{
	cfg->vdm = vdm;
	return 0;
}

/* ---- per-map state ---- */

/*
 * fork(): every map's state is on one list, so that the handlers can hold
 * all of its locks across the fork (the child's copy is then consistent)
 * and give the child syncers without threads; a child's
 * syncer starts a new worker when a request needs it.
 */
static pthread_mutex_t Asyncs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pmem2_async *Asyncs;
static pthread_once_t Atfork_once = PTHREAD_ONCE_INIT;

static void
fork_prepare(void)
{
	pthread_mutex_lock(&Asyncs_lock);
	for (struct pmem2_async *as = Asyncs; as; as = as->fork_next)
		pthread_mutex_lock(&as->lock);
	pmem2_syncer_fork_prepare();
	pmem2_file_fork_prepare();
}

static void
fork_parent(void)
{
	pmem2_file_fork_parent();
	pmem2_syncer_fork_parent();
	for (struct pmem2_async *as = Asyncs; as; as = as->fork_next)
		pthread_mutex_unlock(&as->lock);
	pthread_mutex_unlock(&Asyncs_lock);
}

static void
fork_child(void)
{
	/* the forking thread holds the locks, and it is the child's thread */
	pmem2_file_fork_child();
	pmem2_syncer_fork_child();
	for (struct pmem2_async *as = Asyncs; as; as = as->fork_next) {
		/*
		 * The movers' operations were running in the parent's threads,
		 * which the child does not have: the child's delete must not
		 * wait for them (they never complete here, and they write only
		 * into the parent's mapping).
		 */
		for (struct wop *w = as->live; w != NULL; w = w->next)
			if (w->phase == WOP_MOVE)
				w->forked = 1;
		pthread_mutex_unlock(&as->lock);
	}
	pthread_mutex_unlock(&Asyncs_lock);
}

static void
atfork_register(void)
{
	/* without the handlers a child could hang; nothing else to do */
	(void)pthread_atfork(fork_prepare, fork_parent, fork_child);
}

static void
asyncs_add(struct pmem2_async *as)
{
	pthread_once(&Atfork_once, atfork_register);
	pthread_mutex_lock(&Asyncs_lock);
	as->fork_prev = NULL;
	as->fork_next = Asyncs;
	if (Asyncs)
		Asyncs->fork_prev = as;
	Asyncs = as;
	pthread_mutex_unlock(&Asyncs_lock);
}

static void
asyncs_remove(struct pmem2_async *as)
{
	pthread_mutex_lock(&Asyncs_lock);
	if (as->fork_prev)
		as->fork_prev->fork_next = as->fork_next;
	else
		Asyncs = as->fork_next;
	if (as->fork_next)
		as->fork_next->fork_prev = as->fork_prev;
	pthread_mutex_unlock(&Asyncs_lock);
}

/*
 * The one place that looks at a map's granularity: its durability backend
 * (async_impl.h). Everything after goes through the backend's hooks.
 */
static const struct pmem2_durability *
durability_of(enum pmem2_granularity gran)
{
	static const struct pmem2_durability *const by_gran[] = {
		[PMEM2_GRANULARITY_BYTE] = &pmem2_dur_byte,
		[PMEM2_GRANULARITY_CACHE_LINE] = &pmem2_dur_cache_line,
		[PMEM2_GRANULARITY_PAGE] = &pmem2_dur_page,
	};
	/* anything unknown gets the backend that assumes the least */
	if ((unsigned)gran >= sizeof(by_gran) / sizeof(by_gran[0]))
		return &pmem2_dur_page;
	return by_gran[gran];
}

int
pmem2_async_map_init(struct pmem2_map *map, const struct pmem2_async_target *t)
{
	enum pmem2_granularity gran = map->effective_granularity;
	struct pmem2_async *as = calloc(1, sizeof(*as));
	if (!as) {
		ERR_ERRNO(ENOMEM, "cannot allocate the map's async state");
		return -ENOMEM;
	}
	int lret = pthread_mutex_init(&as->lock, NULL);
	if (lret) {
		free(as);
		ERR_ERRNO(lret, "cannot initialise the map's async state");
		return -lret;
	}
	as->map = map;
	as->base = t->addr;
	as->len = t->length;
	as->ops = map->ops ? map->ops : pmem2_ops_get(gran);

	pmem2_dflt_init(as);
	pmem2_wrap_init(as);

	/*
	 * Chosen once here, never again per operation: the mover (none: the
	 * default one, in the poll), the durability backend, and what the two
	 * make of each other.
	 */
	as->inner = map->user_vdm;
	as->dur = durability_of(gran);
	as->direct = map->user_vdm == NULL &&
		(as->dur->flags & PMEM2_DUR_INLINE);
	if (as->inner != NULL) {
		as->inner_durable = vdm_is_supported(as->inner,
			VDM_F_MEM_DURABLE);
		as->inner_nocache = vdm_is_supported(as->inner,
			VDM_F_NO_CACHE_HINT);
	}
	as->inner_persists = as->inner_durable &&
		(as->dur->flags & PMEM2_DUR_MOVER_PERSISTS);

	if (as->dur->map_init != NULL) {
		int ret = as->dur->map_init(as, t);
		if (ret) {
			pthread_mutex_destroy(&as->lock);
			free(as);
			return ret;
		}
	}

	asyncs_add(as);
	map->async = as;
	return 0;
}

void
pmem2_async_map_quiesce(struct pmem2_map *map)
{
	struct pmem2_async *as = map->async;
	if (!as)
		return;
	/*
	 * No mover may write into the map once it is gone: wait for the
	 * operations the movers run (futures polled, not yet complete), then
	 * for the syncer's pending write-backs of the map. Futures never
	 * polled have started nothing. Everything stays as it is otherwise:
	 * if the unmapping fails, the map goes on working.
	 */
	pthread_mutex_lock(&as->lock);
	for (struct wop *w = as->live; w != NULL; w = w->next) {
		pmem2_wop_drain(w);
		/* no sync request will follow: no gathering may wait for it */
		if (as->dur->fini != NULL)
			as->dur->fini(w);
	}
	pthread_mutex_unlock(&as->lock);
	if (as->dur->map_quiesce != NULL)
		as->dur->map_quiesce(as);
}

void
pmem2_async_map_fini(struct pmem2_map *map)
{
	struct pmem2_async *as = map->async;
	if (!as)
		return;
	pmem2_async_map_quiesce(map);
	asyncs_remove(as);
	/* what abandoned futures hold: none may be polled after the delete */
	for (struct wop *w = as->live, *next; w != NULL; w = next) {
		next = w->next;
		free(w);
	}
	for (struct wop *w = as->spare, *next; w != NULL; w = next) {
		next = w->next;
		free(w);
	}
	pthread_mutex_destroy(&as->lock);
	if (as->dur->map_fini != NULL)
		as->dur->map_fini(as);
	free(as);
	map->async = NULL;
}

/* ---- the public functions ---- */

/* What the future's VDM flags say about the result. */
static inline uint64_t
vdm_flags_of(unsigned flags)
{
	uint64_t vf = (flags & PMEM2_F_MEM_NOFLUSH) ? 0 : VDM_F_MEM_DURABLE;
	if (flags & (PMEM2_F_MEM_NONTEMPORAL | PMEM2_F_MEM_WC))
		vf |= VDM_F_NO_CACHE_HINT;
	return vf;
}

/* Turns a future whose operation is filled in into a runnable one. */
static inline void
async_init(struct pmem2_map *map, struct vdm_operation_future *f,
	unsigned flags)
{
	struct pmem2_async *as = map->async;

	flags &= PMEM2_F_MEM_VALID_FLAGS;
	/* durable on completion unless NOFLUSH: NODRAIN must not skip the fence */
	if (!(flags & PMEM2_F_MEM_NOFLUSH))
		flags &= ~PMEM2_F_MEM_NODRAIN;
	if (as->direct) {
		f->data.vdm = &as->dflt;
		f->data.data = &as->tok[flags];
		FUTURE_INIT(f, pmem2_dflt_task);
		return;
	}

	f->data.vdm = &as->wrap;
	struct wop *w = NULL;
	if (as->dur->begin == NULL || as->dur->begin(as) == 0)
		w = pmem2_wop_new(as, flags);
	f->data.data = w;
	if (w == NULL) {
		f->output.result = VDM_ERROR_OUT_OF_MEMORY;
		FUTURE_INIT_COMPLETE(f);
		return;
	}
	FUTURE_INIT_EXT(f, pmem2_wrap_task, pmem2_wrap_has_property);
}

struct vdm_operation_future
pmem2_memcpy_async(struct pmem2_map *map, void *pmemdest, const void *src,
	size_t len, unsigned flags)
{
	struct vdm_operation_future f;
	f.data.operation.type = VDM_OPERATION_MEMCPY;
	f.data.operation.padding = 0;
	f.data.operation.data.memcpy.dest = pmemdest;
	f.data.operation.data.memcpy.src = (void *)src;
	f.data.operation.data.memcpy.n = len;
	f.data.operation.data.memcpy.flags = vdm_flags_of(flags);
	f.output.type = VDM_OPERATION_MEMCPY;
	f.output.result = VDM_SUCCESS;
	f.output.output.memcpy.dest = NULL;
	async_init(map, &f, flags);
	return f;
}

struct vdm_operation_future
pmem2_memmove_async(struct pmem2_map *map, void *pmemdest, const void *src,
	size_t len, unsigned flags)
{
	struct vdm_operation_future f;
	f.data.operation.type = VDM_OPERATION_MEMMOVE;
	f.data.operation.padding = 0;
	f.data.operation.data.memmove.dest = pmemdest;
	f.data.operation.data.memmove.src = (void *)src;
	f.data.operation.data.memmove.n = len;
	f.data.operation.data.memmove.flags = vdm_flags_of(flags);
	f.output.type = VDM_OPERATION_MEMMOVE;
	f.output.result = VDM_SUCCESS;
	f.output.output.memmove.dest = NULL;
	async_init(map, &f, flags);
	return f;
}

struct vdm_operation_future
pmem2_memset_async(struct pmem2_map *map, void *pmemdest, int c, size_t len,
	unsigned flags)
{
	struct vdm_operation_future f;
	f.data.operation.type = VDM_OPERATION_MEMSET;
	f.data.operation.padding = 0;
	f.data.operation.data.memset.str = pmemdest;
	f.data.operation.data.memset.c = c;
	f.data.operation.data.memset.n = len;
	f.data.operation.data.memset.flags = vdm_flags_of(flags);
	f.output.type = VDM_OPERATION_MEMSET;
	f.output.result = VDM_SUCCESS;
	f.output.output.memset.str = NULL;
	async_init(map, &f, flags);
	return f;
}

struct vdm_operation_future
pmem2_persist_async(struct pmem2_map *map, void *ptr, size_t len)
{
	struct vdm_operation_future f;
	f.data.operation.type = VDM_OPERATION_FLUSH;
	f.data.operation.padding = 0;
	f.data.operation.data.flush.dest = ptr;
	f.data.operation.data.flush.n = len;
	f.data.operation.data.flush.flags = VDM_F_MEM_DURABLE;
	f.output.type = VDM_OPERATION_FLUSH;
	f.output.result = VDM_SUCCESS;
	f.output.output.flush.unused = 0;
	async_init(map, &f, 0);
	return f;
}
