/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * data_mover_sync.c -- the synchronous mover: the thread that polls a future
 * performs its operation on the first poll, so the future completes at once.
 *
 * Nothing is allocated per operation. op_new hands out the mover itself as
 * the (non-NULL) per-operation token, op_start does the work, op_check
 * always says COMPLETE and op_delete only fills in the output. That keeps
 * "create + poll" of a small copy at a handful of nanoseconds.
 */
#include <stdlib.h>
#include <string.h>

#include "libminiasync/data_mover_sync.h"
#include "common/cpu.h"
#include "internal.h"

struct data_mover_sync {
	struct vdm base;	/* first: vdm_synchronous_delete relies on it */
};

static void *
sync_op_new(struct vdm *vdm, const enum vdm_operation_type type)
{
	(void)type;
	return vdm;
}

static __attribute__((noinline)) void
sync_flush(const struct vdm_operation *op)
{
	cpu_flush_range(cpu_flush_kind(), op->data.flush.dest,
		op->data.flush.n);
	cpu_sfence();
}

static int
sync_op_start(void *data, const struct vdm_operation *op,
	struct future_notifier *n)
{
	(void)data;
	if (n != NULL)
		n->notifier_used = FUTURE_NOTIFIER_NONE;

	switch (op->type) {
	case VDM_OPERATION_MEMCPY:
		ma_move(op->data.memcpy.dest, op->data.memcpy.src,
			op->data.memcpy.n);
		break;
	case VDM_OPERATION_MEMMOVE:
		ma_move(op->data.memmove.dest, op->data.memmove.src,
			op->data.memmove.n);
		break;
	case VDM_OPERATION_MEMSET:
		memset(op->data.memset.str, op->data.memset.c,
			op->data.memset.n);
		break;
	case VDM_OPERATION_FLUSH:
		sync_flush(op);
		break;
	default:
		/* unknown type: nothing to do, op_delete reports it */
		break;
	}
	return 0;
}

static enum future_state
sync_op_check(void *data, const struct vdm_operation *op)
{
	(void)data;
	(void)op;
	return FUTURE_STATE_COMPLETE;
}

static void
sync_op_delete(void *data, const struct vdm_operation *op,
	struct vdm_operation_output *out)
{
	(void)data;
	ma_fill_output(op, out, VDM_SUCCESS);
}

static const struct vdm sync_vdm = {
	.op_new = sync_op_new,
	.op_delete = sync_op_delete,
	.op_start = sync_op_start,
	.op_check = sync_op_check,
	.capabilities = 0,
	.has_property = NULL,	/* not asynchronous */
};

struct data_mover_sync *
data_mover_sync_new(void)
{
	struct data_mover_sync *dms = malloc(sizeof(*dms));
	if (dms == NULL)
		return NULL;
	dms->base = sync_vdm;
	return dms;
}

struct vdm *
data_mover_sync_get_vdm(struct data_mover_sync *dms)
{
	return &dms->base;
}

void
data_mover_sync_delete(struct data_mover_sync *dms)
{
	free(dms);
}

struct vdm *
vdm_synchronous_new(void)
{
	struct data_mover_sync *dms = data_mover_sync_new();
	return dms ? &dms->base : NULL;
}

void
vdm_synchronous_delete(struct vdm *vdm)
{
	/* base is the first member, so the vdm is the mover */
	data_mover_sync_delete((struct data_mover_sync *)vdm);
}
