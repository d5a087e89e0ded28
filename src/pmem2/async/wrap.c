/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * wrap.c -- the wrapper that turns a mover's operation into a durable one:
 * the futures of maps with a mover in their config, and of PAGE maps.
 *
 * A wrapped future's data.data is a struct wop. Its first poll checks the
 * destination and starts the move: one operation of the mover (asking it
 * to persist when it can, on CACHE_LINE maps), or, on PAGE maps with the
 * default mover, the copy itself in this poll (page.c writes it through
 * the file). Once the move is complete, the map's durability backend
 * (as->dur: durability.c, page.c) makes the range durable, at once or
 * later (PAGE: the syncer). The task function is ours rather than
 * vdm_operation_impl so that every poll sees the caller's notifier; the
 * vdm's op_* functions run the same steps for code that drives the
 * wrapper through the generic vdm interface.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#define PMEM2_USE_MINIASYNC 1
#include "libpmem2.h"
#include "map.h"
#include "memops.h"
#include "errors.h"
#include "async_impl.h"

/*
 * Finished wops are kept for the next operations of the map (a few: a
 * burst of operations in flight does not stay allocated for good), so a
 * steady stream of operations allocates nothing.
 */
#define WOP_SPARE_MAX 64u

static void
wop_link_live(struct pmem2_async *as, struct wop *w)
{
	w->prev = NULL;
	w->next = as->live;
	if (w->next)
		w->next->prev = w;
	as->live = w;
}

struct wop *
pmem2_wop_new(struct pmem2_async *as, unsigned pflags)
{
	pthread_mutex_lock(&as->lock);
	struct wop *w = as->spare;
	if (w != NULL) {
		as->spare = w->next;
		as->nspare--;
		wop_link_live(as, w);
	}
	pthread_mutex_unlock(&as->lock);
	if (w == NULL) {
		w = malloc(sizeof(*w));
		if (!w)
			return NULL;
		pthread_mutex_lock(&as->lock);
		wop_link_live(as, w);
		pthread_mutex_unlock(&as->lock);
	}
	/* only the thread that got it touches the rest */
	w->as = as;
	w->pflags = pflags;
	w->phase = WOP_NEW;
	w->result = VDM_SUCCESS;
	w->skip_flush = 0;
	w->has_saved = 0;
	w->forked = 0;
	w->req.announced = 0;
	return w;
}

/* Creates the inner operation of op; 0, or -1 (no memory). */
static int
wop_make_inner(struct wop *w, const struct vdm_operation *op)
{
	struct vdm *v = w->as->inner;
	struct vdm_operation_future *f = &w->inner;

	switch (op->type) {
	case VDM_OPERATION_MEMCPY:
		*f = vdm_memcpy(v, op->data.memcpy.dest, op->data.memcpy.src,
			op->data.memcpy.n, w->vflags);
		break;
	case VDM_OPERATION_MEMMOVE:
		*f = vdm_memmove(v, op->data.memmove.dest,
			op->data.memmove.src, op->data.memmove.n, w->vflags);
		break;
	case VDM_OPERATION_MEMSET:
		*f = vdm_memset(v, op->data.memset.str, op->data.memset.c,
			op->data.memset.n, w->vflags);
		break;
	case VDM_OPERATION_FLUSH:
		*f = vdm_flush(v, op->data.flush.dest, op->data.flush.n,
			w->vflags);
		break;
	}
	if (f->data.data == NULL && FUTURE_STATE(f) == FUTURE_STATE_COMPLETE &&
			f->output.result == VDM_ERROR_OUT_OF_MEMORY)
		return -1;
	return 0;
}

/* Plans the inner operations for op and makes them (on the first poll). */
static void
wop_begin(struct wop *w, const struct vdm_operation *op)
{
	struct pmem2_async *as = w->as;
	int durable = !(w->pflags & PMEM2_F_MEM_NOFLUSH);

	w->vflags = 0;
	if (!pmem2_async_dest_check(as, op)) {
		w->result = VDM_ERROR_JOB_CORRUPTED;
		w->phase = WOP_DONE;
		return;
	}
	if (as->inner == NULL) {
		/*
		 * The default mover (maps whose backend is not INLINE: PAGE):
		 * the copy runs in this poll, the backend's way when it has one
		 * (PAGE: through the file), else with the map's memory function
		 * without its flush; the backend persists.
		 */
		if (op->type != VDM_OPERATION_FLUSH &&
				(as->dur->write == NULL ||
				!as->dur->write(w, op)))
			pmem2_dflt_run(&as->tok[(w->pflags |
				PMEM2_F_MEM_NOFLUSH) &
				(PMEM2_ASYNC_NFLAGS - 1)], op);
		w->phase = w->result == VDM_SUCCESS ? WOP_PERSIST : WOP_DONE;
		return;
	}
	if (durable && as->inner_persists) {
		w->vflags |= VDM_F_MEM_DURABLE;
		w->skip_flush = 1;
	} else if (op->type == VDM_OPERATION_FLUSH) {
		/* only a mover that persists itself is worth asking */
		w->phase = WOP_PERSIST;
		return;
	}
	if (as->inner_nocache &&
			(w->pflags & (PMEM2_F_MEM_NONTEMPORAL | PMEM2_F_MEM_WC)))
		w->vflags |= VDM_F_NO_CACHE_HINT;

	if (durable && op_length(op) != 0 && as->dur->prepare != NULL)
		as->dur->prepare(w);
	if (wop_make_inner(w, op)) {
		/* nothing was written */
		w->result = VDM_ERROR_OUT_OF_MEMORY;
		w->phase = WOP_DONE;
		return;
	}
	w->phase = WOP_MOVE;
}

/* Polls the inner operation once. */
static enum future_state
wop_move(struct wop *w, struct future_notifier *n)
{
	enum future_state st = future_poll(FUTURE_AS_RUNNABLE(&w->inner), n);
	if (st == FUTURE_STATE_COMPLETE &&
			w->inner.output.result != VDM_SUCCESS)
		w->result = w->inner.output.result;
	return st;
}

/* Advances the operation as far as it goes without blocking. */
static enum future_state
wop_step(struct wop *w, const struct vdm_operation *op,
	struct future_notifier *n)
{
	struct pmem2_async *as = w->as;

	if (w->phase == WOP_MOVE) {
		enum future_state st = wop_move(w, n);
		if (st != FUTURE_STATE_COMPLETE)
			return st;
		w->phase = w->result == VDM_SUCCESS ? WOP_PERSIST : WOP_DONE;
	}

	if (w->phase == WOP_PERSIST) {
		size_t len = op_length(op);
		w->phase = WOP_DONE;
		if (!(w->pflags & PMEM2_F_MEM_NOFLUSH) && len != 0 &&
				as->dur->start(w, op_dest(op), len, n) !=
				FUTURE_STATE_COMPLETE) {
			w->phase = WOP_WAIT;
			return FUTURE_STATE_RUNNING;
		}
	}

	if (w->phase == WOP_WAIT) {
		if (as->dur->poll(w, op, n) != FUTURE_STATE_COMPLETE)
			return FUTURE_STATE_RUNNING;
		w->phase = WOP_DONE;
	}

	if (n)
		n->notifier_used = FUTURE_NOTIFIER_NONE;
	return FUTURE_STATE_COMPLETE;
}

static void
wop_finish(struct wop *w, const struct vdm_operation *op,
	struct vdm_operation_output *out)
{
	struct pmem2_async *as = w->as;

	op_output(op, out, w->result);
	if (as->dur->fini != NULL)
		as->dur->fini(w);
	pthread_mutex_lock(&as->lock);
	if (w->prev)
		w->prev->next = w->next;
	else
		as->live = w->next;
	if (w->next)
		w->next->prev = w->prev;
	int keep = as->nspare < WOP_SPARE_MAX;
	if (keep) {
		w->next = as->spare;
		as->spare = w;
		as->nspare++;
	}
	pthread_mutex_unlock(&as->lock);
	if (!keep)
		free(w);
}

/* The task of a wrapped future. */
enum future_state
pmem2_wrap_task(struct future_context *ctx, struct future_notifier *n)
{
	struct vdm_operation_data *d = future_context_get_data(ctx);
	struct wop *w = d->data;

	if (w->phase == WOP_NEW)
		wop_begin(w, &d->operation);
	enum future_state st = wop_step(w, &d->operation, n);
	if (st == FUTURE_STATE_COMPLETE) {
		wop_finish(w, &d->operation, future_context_get_output(ctx));
		d->data = NULL;
		return st;
	}
	/* started: the runtime must not treat it as not yet begun */
	return FUTURE_STATE_RUNNING;
}

/* A wrapped future is asynchronous when its next step is. */
int
pmem2_wrap_has_property(void *future, enum future_property prop)
{
	struct vdm_operation_future *f = future;
	struct wop *w = f->data.data;

	if (prop != FUTURE_PROPERTY_ASYNC || w == NULL)
		return 0;
	if (w->phase == WOP_WAIT)
		return 1;
	if (w->phase == WOP_MOVE)
		return future_has_property(&w->inner, prop) ? 1 : 0;
	if (w->phase == WOP_NEW && w->as->inner != NULL &&
			w->as->inner->has_property != NULL) {
		/*
		 * The mover's operation does not exist yet: ask the mover
		 * about a future of its own for the same operation, with no
		 * state yet (data.data NULL), never about the wrapper's.
		 */
		struct vdm_operation_future probe = *f;
		probe.data.vdm = w->as->inner;
		probe.data.data = NULL;
		FUTURE_INIT_EXT(&probe, vdm_operation_impl,
			w->as->inner->has_property);
		return w->as->inner->has_property(&probe, prop) ? 1 : 0;
	}
	return 0;
}

/* The wrapper through the vdm interface. */
static void *
wrap_op_new(struct vdm *vdm, const enum vdm_operation_type type)
{
	(void)type;
	struct pmem2_async *as = (struct pmem2_async *)
		((char *)vdm - offsetof(struct pmem2_async, wrap));
	return pmem2_wop_new(as, 0);
}

static int
wrap_op_start(void *data, const struct vdm_operation *op,
	struct future_notifier *n)
{
	struct wop *w = data;
	if (n) {
		w->saved = *n;
		w->has_saved = 1;
	}
	if (w->phase == WOP_NEW)
		wop_begin(w, op);
	/* the first step runs here so the notifier reaches the inner mover */
	enum future_state st = wop_step(w, op, w->has_saved ? &w->saved : NULL);
	if (n)
		n->notifier_used = w->has_saved ? w->saved.notifier_used :
			FUTURE_NOTIFIER_NONE;
	/* a mover that has not accepted the operation: start again later */
	return st == FUTURE_STATE_IDLE ? 1 : 0;
}

static enum future_state
wrap_op_check(void *data, const struct vdm_operation *op)
{
	struct wop *w = data;
	if (w->phase == WOP_DONE)
		return FUTURE_STATE_COMPLETE;
	return wop_step(w, op, w->has_saved ? &w->saved : NULL);
}

static void
wrap_op_delete(void *data, const struct vdm_operation *op,
	struct vdm_operation_output *out)
{
	wop_finish(data, op, out);
}

void
pmem2_wrap_init(struct pmem2_async *as)
{
	as->wrap.op_new = wrap_op_new;
	as->wrap.op_delete = wrap_op_delete;
	as->wrap.op_start = wrap_op_start;
	as->wrap.op_check = wrap_op_check;
	as->wrap.capabilities = VDM_F_MEM_DURABLE;
	as->wrap.has_property = pmem2_wrap_has_property;
}

/*
 * Lets the mover finish the operation it was given for w: polls it until
 * it is complete (started now if the mover had not accepted it yet).
 * Nobody else polls it any more.
 */
void
pmem2_wop_drain(struct wop *w)
{
	if (w->phase != WOP_MOVE || w->forked)
		return;
	for (unsigned spins = 0;; spins++) {
		if (future_poll(FUTURE_AS_RUNNABLE(&w->inner), NULL) ==
				FUTURE_STATE_COMPLETE)
			break;
		if (spins < 1000) {
			sched_yield();
		} else {
			struct timespec ts = { 0, 100000 };	/* a slow mover */
			nanosleep(&ts, NULL);
		}
	}
}

