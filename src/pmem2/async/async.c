/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * async.c -- pmem2_config_set_vdm, pmem2_{memcpy,memmove,memset,persist}_async
 * and the per-map state they run on.
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
#include <unistd.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sched.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/uio.h>

#define PMEM2_USE_MINIASYNC 1
#include "libpmem2.h"
#include "config.h"
#include "map.h"
#include "memops.h"
#include "errors.h"
#include "common/check_hooks.h"
#include "common/vdm_op.h"
#include "async_impl.h"

int
pmem2_config_set_vdm(struct pmem2_config *cfg, struct vdm *vdm)
{
	cfg->vdm = vdm;
	return 0;
}

/* ---- helpers on operations ---- */

/* The destination range an operation writes (or persists). */
static inline void *
op_dest(const struct vdm_operation *op)
{
	switch (op->type) {
	case VDM_OPERATION_MEMCPY:
		return op->data.memcpy.dest;
	case VDM_OPERATION_MEMMOVE:
		return op->data.memmove.dest;
	case VDM_OPERATION_MEMSET:
		return op->data.memset.str;
	default:
		return op->data.flush.dest;
	}
}

/* The output of a finished operation: its destination, and the result. */
static inline void
op_output(const struct vdm_operation *op, struct vdm_operation_output *out,
	enum vdm_operation_result result)
{
	void *dest = result == VDM_SUCCESS ? op_dest(op) : NULL;

	out->type = op->type;
	out->result = result;
	switch (op->type) {
	case VDM_OPERATION_MEMCPY:
		out->output.memcpy.dest = dest;
		break;
	case VDM_OPERATION_MEMMOVE:
		out->output.memmove.dest = dest;
		break;
	case VDM_OPERATION_MEMSET:
		out->output.memset.str = dest;
		break;
	default:
		out->output.flush.unused = 0;
		break;
	}
}

/*
 * Whether op's destination lies wholly inside the map (a zero-length one:
 * starts inside it or at its end). When not, sets the message and the
 * operation must write nothing: the bytes could land in another map, which
 * this map's persistence does not cover, or in no map at all.
 */
static inline int
dest_inside(const struct pmem2_async *as, const struct vdm_operation *op)
{
	uintptr_t a = (uintptr_t)as->map->addr;
	uintptr_t d = (uintptr_t)op_dest(op);
	size_t size = as->map->content_length;

	/* d - a wraps for d < a, so one comparison covers both sides */
	return d - a <= size && op_length(op) <= size - (d - a);
}

static int
op_dest_inside(const struct pmem2_async *as, const struct vdm_operation *op)
{
	if (dest_inside(as, op))
		return 1;
	ERR("the destination [%p, +%zu) is not inside the map [%p, +%zu)",
		op_dest(op), op_length(op), as->map->addr,
		as->map->content_length);
	return 0;
}

/* ---- the default mover: the map's own memory functions, in the poll ---- */

static inline void
dflt_run(const struct pmem2_async_token *t, const struct vdm_operation *op)
{
	const struct pmem2_ops *ops = t->as->ops;
	unsigned flags = t->flags;

	switch (op->type) {
	case VDM_OPERATION_MEMCPY:
		ops->memcpy(op->data.memcpy.dest, op->data.memcpy.src,
			op->data.memcpy.n, flags);
		break;
	case VDM_OPERATION_MEMMOVE:
		ops->memmove(op->data.memmove.dest, op->data.memmove.src,
			op->data.memmove.n, flags);
		break;
	case VDM_OPERATION_MEMSET:
		ops->memset(op->data.memset.str, op->data.memset.c,
			op->data.memset.n, flags);
		break;
	case VDM_OPERATION_FLUSH:
		if (!(flags & PMEM2_F_MEM_NOFLUSH))
			ops->persist(op->data.flush.dest, op->data.flush.n);
		break;
	}
}

/* The task of a default-mover future: the whole operation in one poll. */
static enum future_state
dflt_task(struct future_context *ctx, struct future_notifier *n)
{
	struct vdm_operation_data *d = future_context_get_data(ctx);
	struct vdm_operation_output *out = future_context_get_output(ctx);

	const struct pmem2_async_token *t = d->data;
	enum vdm_operation_result res = VDM_ERROR_JOB_CORRUPTED;

	if (n)
		n->notifier_used = FUTURE_NOTIFIER_NONE;
	if (op_dest_inside(t->as, &d->operation)) {
		dflt_run(t, &d->operation);
		res = VDM_SUCCESS;
	}
	op_output(&d->operation, out, res);
	d->data = NULL;
	return FUTURE_STATE_COMPLETE;
}

/* The same mover through the vdm interface (vdm_memcpy(fut.data.vdm, ..)). */
static void *
dflt_op_new(struct vdm *vdm, const enum vdm_operation_type type)
{
	(void)type;
	struct pmem2_async *as = (struct pmem2_async *)
		((char *)vdm - offsetof(struct pmem2_async, dflt));
	return &as->tok[0];
}

static int
dflt_op_start(void *data, const struct vdm_operation *op,
	struct future_notifier *n)
{
	const struct pmem2_async_token *t = data;
	if (n)
		n->notifier_used = FUTURE_NOTIFIER_NONE;
	if (op_dest_inside(t->as, op))
		dflt_run(t, op);
	return 0;
}

static enum future_state
dflt_op_check(void *data, const struct vdm_operation *op)
{
	(void)data;
	(void)op;
	return FUTURE_STATE_COMPLETE;	/* the work was done in start */
}

static void
dflt_op_delete(void *data, const struct vdm_operation *op,
	struct vdm_operation_output *out)
{
	const struct pmem2_async_token *t = data;
	/* the token is shared by all operations: the range decides again */
	op_output(op, out, dest_inside(t->as, op) ? VDM_SUCCESS :
		VDM_ERROR_JOB_CORRUPTED);
}

/* ---- the durability wrapper around another mover ---- */

enum wop_phase {
	WOP_NEW,	/* nothing started yet */
	WOP_MOVE,	/* the inner mover's operation runs */
	WOP_PERSIST,	/* moved; the durability step is next */
	WOP_SYNC,	/* waiting for the PAGE syncer */
	WOP_DONE,
};

/*
 * The state of one wrapped operation (the future's data.data): one
 * operation of the inner mover, then the durability step. The wrapper
 * never splits an operation: how to share a large one among workers is
 * the mover's business (libminiasync's threads mover cuts it into parts its
 * idle workers take).
 */
struct wop {
	struct pmem2_async *as;
	unsigned pflags;	/* PMEM2_F_MEM_* of the call */
	enum wop_phase phase;
	enum vdm_operation_result result;
	int skip_flush;		/* the inner mover persisted already */
	int has_saved;		/* saved holds the notifier of the first poll */
	int forked;		/* a fork child's copy of a moving wop */
	struct future_notifier saved;	/* for op_check, which gets none */
	uint64_t vflags;	/* what the inner operation asks of the mover */
	struct vdm_operation_future inner;
	struct pmem2_sync_req req;
	struct wop *prev, *next;	/* as->live or as->spare, as->lock */
};

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

static struct wop *
wop_new(struct pmem2_async *as, unsigned pflags)
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
	struct pmem2_async *as = w->as;
	struct vdm *v = as->inner;
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
	/*
	 * The default mover behind a wrapper (PAGE maps) only copies: the
	 * wrapper's syncer persists, so the copy must not msync on its own.
	 */
	if (v == &as->dflt)
		f->data.data = &as->tok[(w->pflags | PMEM2_F_MEM_NOFLUSH) &
			(PMEM2_ASYNC_NFLAGS - 1)];
	return 0;
}

/*
 * Writes through the file on PAGE maps.
 *
 * A store through the mapping to a page the last sync cleaned takes a write
 * fault (the kernel write-protects pages when it writes them back), and the
 * next sync must write-protect the page again, which flushes the TLB of
 * every CPU the process runs on. pwrite() puts the same bytes into the same
 * page cache pages without either: on an ext4 file on a virtio disk here, a
 * batch of 32 durable 4 KiB writes took 177 us instead of 251 us. The map
 * shows the new bytes at once (one page cache), and the syncer writes them
 * back like any other dirty page. A full filesystem becomes an error result
 * instead of the SIGBUS a store into a hole would raise.
 */

/*
 * Whether op is written through the file: a copy or fill (never a flush)
 * of a PAGE map whose file can be written through, on a descriptor of the
 * file (*fd, pinned: give it back with pmem2_file_unpin) at file offset
 * *off. 0: stores through the mapping instead.
 */
static int
file_write_begin(struct pmem2_async *as, const struct vdm_operation *op,
	int *fd, long long *off)
{
	if (!as->pwrite_ok || op_length(op) == 0 ||
			op->type == VDM_OPERATION_FLUSH)
		return 0;
	/* pwrite copies forwards, in pieces: overlap needs memmove */
	if (op->type == VDM_OPERATION_MEMMOVE &&
			ranges_overlap(op->data.memmove.dest,
				op->data.memmove.src, op->data.memmove.n))
		return 0;
	int rdwr = 0;
	int d = pmem2_file_pin(as->file, &as->way, 1, &rdwr);
	if (d < 0)
		return 0;
	if (!rdwr) {
		pmem2_file_unpin(as->file);
		return 0;
	}
	/* the destination is inside the map (op_dest_inside) */
	long long o = (long long)pmem2_async_file_off(as, op_dest(op));
	/*
	 * A file truncated under the map: a pwrite past the end would grow
	 * the file again, with a hole, where the map has no pages any more.
	 * Stores instead, which take SIGBUS there like any other mover's and
	 * like the map's memcpy function. (The descriptor is private, so
	 * lseek moves no position anyone uses.)
	 */
	off_t eof = lseek(d, 0, SEEK_END);
	if (eof < 0 || (unsigned long long)o + op_length(op) >
			(unsigned long long)eof) {
		pmem2_file_unpin(as->file);
		return 0;
	}
	*fd = d;
	*off = o;
	return 1;
}

/* Errors a store through the mapping would turn into SIGBUS. */
static int
file_write_fatal(int err)
{
	return err == EIO || err == ENOSPC || err == EDQUOT;
}

/*
 * Writes op's bytes with pwrite/pwritev to fd at file offset off (from
 * file_write_begin). Another error than those of
 * file_write_fatal() (EFAULT from a bad source, say) leaves the rest to the
 * stores the mapping would have taken anyway.
 */
static enum vdm_operation_result
file_write(struct pmem2_async *as, const struct vdm_operation *op,
	int fd, long long off, unsigned pflags)
{
	char *dest = op_dest(op);
	size_t len = op_length(op);
	const char *src = op->type == VDM_OPERATION_MEMCPY ?
		op->data.memcpy.src : op->data.memmove.src;
	size_t done = 0;

	/* memset: one page of the byte, repeated by the iovec */
	enum { FILL = 4096, NIOV = 64 };
	char fill[FILL];
	struct iovec iov[NIOV];
	if (op->type == VDM_OPERATION_MEMSET)
		memset(fill, op->data.memset.c, sizeof(fill));

	while (done < len) {
		size_t left = len - done;
		ssize_t r;
		if (op->type == VDM_OPERATION_MEMSET) {
			int n = 0;
			for (size_t k = 0; n < NIOV && k < left; n++) {
				iov[n].iov_base = fill;
				iov[n].iov_len = left - k < FILL ? left - k : FILL;
				k += iov[n].iov_len;
			}
			r = pwritev(fd, iov, n, (off_t)(off + done));
		} else {
			r = pwrite(fd, src + done,
				left < (size_t)INT_MAX ? left : (size_t)INT_MAX,
				(off_t)(off + done));
		}
		if (r > 0) {
			done += (size_t)r;
			continue;
		}
		int err = r == 0 ? EIO : errno;
		if (err == EINTR)
			continue;
		if (file_write_fatal(err)) {
			pmem2_check_store(dest, done);
			ERR_ERRNO(err, "writing [%p, +%zu) to the file failed",
				(void *)dest, len);
			return VDM_ERROR_IO;
		}
		break;
	}
	pmem2_check_store(dest, done);
	if (done < len) {
		unsigned f = pflags | PMEM2_F_MEM_NOFLUSH;
		const struct pmem2_ops *ops = as->ops;
		if (op->type == VDM_OPERATION_MEMSET)
			ops->memset(dest + done, op->data.memset.c, len - done, f);
		else
			ops->memcpy(dest + done, src + done, len - done, f);
	}
	return VDM_SUCCESS;
}

/* Plans the inner operations for op and makes them (on the first poll). */
static void
wop_begin(struct wop *w, const struct vdm_operation *op)
{
	struct pmem2_async *as = w->as;
	struct vdm *v = as->inner;
	int durable = !(w->pflags & PMEM2_F_MEM_NOFLUSH);
	size_t len = op_length(op);

	w->vflags = 0;
	if (!op_dest_inside(as, op)) {
		w->result = VDM_ERROR_JOB_CORRUPTED;
		w->phase = WOP_DONE;
		return;
	}
	int fd;
	long long foff;
	if (v == &as->dflt && file_write_begin(as, op, &fd, &foff)) {
		w->result = file_write(as, op, fd, foff, w->pflags);
		pmem2_file_unpin(as->file);
		w->phase = w->result == VDM_SUCCESS ? WOP_PERSIST : WOP_DONE;
		return;
	}
	if (op->type == VDM_OPERATION_FLUSH) {
		/* only a mover that persists itself is worth asking */
		if (!(durable && as->gran == PMEM2_GRANULARITY_CACHE_LINE &&
				as->inner_durable && v != &as->dflt)) {
			w->phase = WOP_PERSIST;
			return;
		}
	}
	if (durable && as->gran == PMEM2_GRANULARITY_CACHE_LINE &&
			as->inner_durable && v != &as->dflt) {
		w->vflags |= VDM_F_MEM_DURABLE;
		w->skip_flush = 1;
	}
	if (as->inner_nocache &&
			(w->pflags & (PMEM2_F_MEM_NONTEMPORAL | PMEM2_F_MEM_WC)))
		w->vflags |= VDM_F_NO_CACHE_HINT;

	/* a sync gathering a batch waits for this copy (group commit) */
	if (as->gran == PMEM2_GRANULARITY_PAGE && durable && len != 0)
		pmem2_syncer_announce(&w->req);
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
		void *dest = op_dest(op);
		size_t len = op_length(op);

		w->phase = WOP_DONE;
		if (!(w->pflags & PMEM2_F_MEM_NOFLUSH) && len != 0) {
			switch (as->gran) {
			case PMEM2_GRANULARITY_BYTE:
				pmem2_cpu_fence();
				break;
			case PMEM2_GRANULARITY_CACHE_LINE:
				/*
				 * A mover that took VDM_F_MEM_DURABLE has
				 * written the lines back and fenced on the
				 * cores that stored them before it reported
				 * completion; a fence here would order only
				 * this thread's stores, so it adds nothing.
				 */
				if (w->skip_flush)
					break;
				pmem2_cpu_flush(dest, len);
				pmem2_cpu_fence();
				break;
			case PMEM2_GRANULARITY_PAGE:
				pmem2_syncer_submit(as, &w->req, dest, len,
					n);
				w->phase = WOP_SYNC;
				/*
				 * Not polled in this same step: a poll tells the
				 * syncer that the poller has come back, i.e. has
				 * issued its whole batch, and ends the gathering.
				 */
				return FUTURE_STATE_RUNNING;
			}
		}
	}

	if (w->phase == WOP_SYNC) {
		if (!pmem2_syncer_poll(&w->req, n))
			return FUTURE_STATE_RUNNING;
		w->phase = WOP_DONE;
		if (w->req.err) {
			w->result = VDM_ERROR_IO;
			if (w->req.earlier)
				ERR_ERRNO(-w->req.err,
					"[%p, +%zu) is not known to be durable: an earlier write-back of the map failed",
					op_dest(op), op_length(op));
			else
				ERR_ERRNO(-w->req.err,
					"making [%p, +%zu) durable failed",
					op_dest(op), op_length(op));
		}
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
	if (w->req.announced)	/* failed before its sync request */
		pmem2_syncer_withdraw(&w->req);
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
static enum future_state
wrap_task(struct future_context *ctx, struct future_notifier *n)
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
static int
wrap_has_property(void *future, enum future_property prop)
{
	struct vdm_operation_future *f = future;
	struct wop *w = f->data.data;

	if (prop != FUTURE_PROPERTY_ASYNC || w == NULL)
		return 0;
	if (w->phase == WOP_SYNC)
		return 1;
	if (w->phase == WOP_MOVE)
		return future_has_property(&w->inner, prop) ? 1 : 0;
	if (w->phase == WOP_NEW && w->as->inner->has_property != NULL) {
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
	return wop_new(as, 0);
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
 * Whether copies of a PAGE map may be written through the file: not when
 * PMEM2_ASYNC_NO_PWRITE=1 asks for stores, not when a file size limit is
 * set (a pwrite past it raises SIGXFSZ, a store does not), and never for
 * a read-only map. The descriptor (file.c) is the file opened anew rather
 * than a dup: a dup shares the application's status flags, and O_APPEND
 * would send every pwrite to the end of the file, O_DIRECT would bypass
 * the pages the mapping shows.
 */
static int
pwrite_allowed(const struct pmem2_map *map)
{
	struct rlimit rl;
	if (!map->writable || pmem2_async_env_flag("PMEM2_ASYNC_NO_PWRITE"))
		return 0;
	return getrlimit(RLIMIT_FSIZE, &rl) == 0 &&
		rl.rlim_cur == RLIM_INFINITY;
}

/*
 * PAGE maps: what the syncer and the file writes need later. No descriptor
 * is opened and no thread started here (file.c, syncer.c: on first use).
 */
static int
page_init(struct pmem2_async *as, const struct pmem2_source *src)
{
	struct pmem2_map *map = as->map;

	/* test-only fault injection, see pmem2_async(7) */
	const char *inj = secure_getenv("PMEM2_ASYNC_TEST_SYNC_ERRNO");
	if (inj != NULL && atoi(inj) > 0) {
		const char *cnt = strchr(inj, ':');
		as->inject_errno = atoi(inj);
		as->inject_left = cnt ? atol(cnt + 1) : -1;
	}
	as->way.src_fd = -1;
	as->way.addr = map->addr;
	if (src == NULL || src->type != PMEM2_SOURCE_FD ||
			src->value.fd < 0 || map->from_existing)
		return 0;	/* no file known: msync of the pages */
	as->file = pmem2_file_ref(src->value.fd);
	if (as->file == NULL)
		return -ENOMEM;
	as->way.src_fd = src->value.fd;
	as->file_base = (long long)map->offset;
	as->pwrite_ok = pwrite_allowed(map);
	return 0;
}

int
pmem2_async_map_init(struct pmem2_map *map, const struct pmem2_source *src)
{
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
	as->gran = map->effective_granularity;
	as->file_base = -1;
	as->ops = map->ops ? map->ops : pmem2_ops_get(as->gran);

	as->dflt.op_new = dflt_op_new;
	as->dflt.op_delete = dflt_op_delete;
	as->dflt.op_start = dflt_op_start;
	as->dflt.op_check = dflt_op_check;
	as->dflt.capabilities = VDM_F_MEM_DURABLE;
	as->dflt.has_property = NULL;

	as->wrap.op_new = wrap_op_new;
	as->wrap.op_delete = wrap_op_delete;
	as->wrap.op_start = wrap_op_start;
	as->wrap.op_check = wrap_op_check;
	as->wrap.capabilities = VDM_F_MEM_DURABLE;
	as->wrap.has_property = wrap_has_property;

	for (unsigned i = 0; i < PMEM2_ASYNC_NFLAGS; i++) {
		as->tok[i].as = as;
		as->tok[i].flags = i;
	}

	as->inner = map->user_vdm ? map->user_vdm : &as->dflt;
	as->direct = map->user_vdm == NULL &&
		as->gran != PMEM2_GRANULARITY_PAGE;
	as->inner_durable = vdm_is_supported(as->inner, VDM_F_MEM_DURABLE);
	as->inner_nocache = vdm_is_supported(as->inner, VDM_F_NO_CACHE_HINT);

	if (as->gran == PMEM2_GRANULARITY_PAGE) {
		int ret = page_init(as, src);
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

/*
 * Lets the mover finish the operation it was given for w: polls it until
 * it is complete (started now if the mover had not accepted it yet).
 * Nobody else polls it any more.
 */
static void
wop_drain(struct wop *w)
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
		wop_drain(w);
		/* no sync request will follow: no gathering may wait for it */
		if (w->req.announced)
			pmem2_syncer_withdraw(&w->req);
	}
	pthread_mutex_unlock(&as->lock);
	if (as->gran == PMEM2_GRANULARITY_PAGE)
		pmem2_syncer_quiesce(as);
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
	if (as->file)
		pmem2_file_unref(as->file);
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
		FUTURE_INIT(f, dflt_task);
		return;
	}

	f->data.vdm = &as->wrap;
	struct wop *w = NULL;
	if (as->gran != PMEM2_GRANULARITY_PAGE || pmem2_syncer_start() == 0)
		w = wop_new(as, flags);
	f->data.data = w;
	if (w == NULL) {
		f->output.result = VDM_ERROR_OUT_OF_MEMORY;
		FUTURE_INIT_COMPLETE(f);
		return;
	}
	FUTURE_INIT_EXT(f, wrap_task, wrap_has_property);
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
