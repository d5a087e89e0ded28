/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * wrapvdm.h -- test-side virtual data movers for the persistence checker.
 *
 * wrap_vdm: forwards every operation to another mover (sync, threads) and,
 * when that mover reports an operation COMPLETE, reports the bytes it wrote
 * to the recorder as ordinary stores (the foreign mover's copy is not built
 * with hooks; what it leaves behind is, at best, data in the CPU cache). It
 * claims no capability, so libpmem2 must make the bytes durable itself. A
 * FLUSH done by the foreign mover is not credited either.
 *
 * user_vdm: a mover written the way a user would: it copies in op_start
 * with libc and reports the stores, does nothing for FLUSH (claims no
 * capability) and says "not async".
 */
#ifndef PMEM2_WRAPVDM_H
#define PMEM2_WRAPVDM_H 1

#include <stdlib.h>
#include <string.h>
#include <libminiasync.h>
#include "pcheck.h"

struct wrap_vdm {
	struct vdm base;
	struct vdm *inner;
};

/*
 * The wrapper drives the inner mover through a future of its own (built
 * with vdm_memcpy() & co. on the first poll), not by calling its op_*
 * functions with our operation: a mover may assume the operation it is
 * given lives inside its own future.
 */
struct wrap_op {
	struct vdm *inner;
	int started;
	struct vdm_operation_future fut;
};

static void *
wrap_op_new(struct vdm *vdm, const enum vdm_operation_type type)
{
	(void)type;
	struct wrap_vdm *w = (struct wrap_vdm *)vdm;
	struct wrap_op *op = calloc(1, sizeof(*op));
	if (!op)
		return NULL;
	op->inner = w->inner;
	return op;
}

static int
wrap_op_start(void *data, const struct vdm_operation *o,
	struct future_notifier *n)
{
	struct wrap_op *op = data;
	if (n)
		n->notifier_used = FUTURE_NOTIFIER_NONE;	/* poll us */
	if (op->started)
		return 0;
	switch (o->type) {
	case VDM_OPERATION_MEMCPY:
		op->fut = vdm_memcpy(op->inner, o->data.memcpy.dest,
			o->data.memcpy.src, o->data.memcpy.n, 0);
		break;
	case VDM_OPERATION_MEMMOVE:
		op->fut = vdm_memmove(op->inner, o->data.memmove.dest,
			o->data.memmove.src, o->data.memmove.n, 0);
		break;
	case VDM_OPERATION_MEMSET:
		op->fut = vdm_memset(op->inner, o->data.memset.str,
			o->data.memset.c, o->data.memset.n, 0);
		break;
	case VDM_OPERATION_FLUSH:
		op->fut = vdm_flush(op->inner, o->data.flush.dest,
			o->data.flush.n, 0);
		break;
	}
	op->started = 1;
	return 0;
}

static void
wrap_report(const struct vdm_operation *o)
{
	switch (o->type) {
	case VDM_OPERATION_MEMCPY:
		persist_note_store(o->data.memcpy.dest, o->data.memcpy.n);
		break;
	case VDM_OPERATION_MEMMOVE:
		persist_note_store(o->data.memmove.dest, o->data.memmove.n);
		break;
	case VDM_OPERATION_MEMSET:
		persist_note_store(o->data.memset.str, o->data.memset.n);
		break;
	case VDM_OPERATION_FLUSH:
		break;
	}
}

static enum future_state
wrap_op_check(void *data, const struct vdm_operation *operation)
{
	struct wrap_op *op = data;
	enum future_state s = future_poll(FUTURE_AS_RUNNABLE(&op->fut), NULL);
	if (s == FUTURE_STATE_COMPLETE) {
		if (op->fut.output.result == VDM_SUCCESS)
			wrap_report(operation);
		return s;
	}
	return FUTURE_STATE_RUNNING;
}

static void
wrap_op_delete(void *data, const struct vdm_operation *operation,
	struct vdm_operation_output *output)
{
	struct wrap_op *op = data;
	*output = op->fut.output;
	output->type = operation->type;
	free(op);
}

static inline void
wrap_vdm_init(struct wrap_vdm *w, struct vdm *inner)
{
	memset(w, 0, sizeof(*w));
	w->inner = inner;
	w->base.op_new = wrap_op_new;
	w->base.op_start = wrap_op_start;
	w->base.op_check = wrap_op_check;
	w->base.op_delete = wrap_op_delete;
	w->base.capabilities = 0;
	w->base.has_property = NULL;	/* not async: polled by the caller */
}

/* ---- a user-written mover ---- */
struct user_op {
	int done;
};

static void *
user_op_new(struct vdm *vdm, const enum vdm_operation_type type)
{
	(void)vdm;
	(void)type;
	return calloc(1, sizeof(struct user_op));
}

static int
user_op_start(void *data, const struct vdm_operation *o,
	struct future_notifier *n)
{
	struct user_op *op = data;
	if (n)
		n->notifier_used = FUTURE_NOTIFIER_NONE;
	switch (o->type) {
	case VDM_OPERATION_MEMCPY:
		memcpy(o->data.memcpy.dest, o->data.memcpy.src,
			o->data.memcpy.n);
		break;
	case VDM_OPERATION_MEMMOVE:
		memmove(o->data.memmove.dest, o->data.memmove.src,
			o->data.memmove.n);
		break;
	case VDM_OPERATION_MEMSET:
		memset(o->data.memset.str, o->data.memset.c,
			o->data.memset.n);
		break;
	case VDM_OPERATION_FLUSH:
		break;	/* deliberately nothing: no capability claimed */
	}
	wrap_report(o);
	op->done = 1;
	return 0;
}

static enum future_state
user_op_check(void *data, const struct vdm_operation *o)
{
	(void)o;
	return ((struct user_op *)data)->done ? FUTURE_STATE_COMPLETE :
		FUTURE_STATE_IDLE;
}

static void
user_op_delete(void *data, const struct vdm_operation *o,
	struct vdm_operation_output *out)
{
	out->type = o->type;
	out->result = VDM_SUCCESS;
	switch (o->type) {
	case VDM_OPERATION_MEMCPY:
		out->output.memcpy.dest = o->data.memcpy.dest;
		break;
	case VDM_OPERATION_MEMMOVE:
		out->output.memmove.dest = o->data.memmove.dest;
		break;
	case VDM_OPERATION_MEMSET:
		out->output.memset.str = o->data.memset.str;
		break;
	case VDM_OPERATION_FLUSH:
		out->output.flush.unused = 0;
		break;
	}
	free(data);
}

static inline void
user_vdm_init(struct vdm *v)
{
	memset(v, 0, sizeof(*v));
	v->op_new = user_op_new;
	v->op_start = user_op_start;
	v->op_check = user_op_check;
	v->op_delete = user_op_delete;
	v->capabilities = 0;
	v->has_property = NULL;
}

#endif /* PMEM2_WRAPVDM_H */
