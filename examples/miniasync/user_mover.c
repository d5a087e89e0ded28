/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * user_mover.c -- a mover that uses nothing but the public vdm interface
 * (see user_mover.h for who compiles it).
 */
#include <string.h>

#include "user_mover.h"

void
user_mover_range(const struct vdm_operation *op, void **dest, size_t *len,
	uint64_t *flags)
{
	void *d = NULL;
	size_t n = 0;
	uint64_t f = 0;
	switch (op->type) {
	case VDM_OPERATION_MEMCPY:
		d = op->data.memcpy.dest;
		n = op->data.memcpy.n;
		f = op->data.memcpy.flags;
		break;
	case VDM_OPERATION_MEMMOVE:
		d = op->data.memmove.dest;
		n = op->data.memmove.n;
		f = op->data.memmove.flags;
		break;
	case VDM_OPERATION_MEMSET:
		d = op->data.memset.str;
		n = op->data.memset.n;
		f = op->data.memset.flags;
		break;
	case VDM_OPERATION_FLUSH:
		d = op->data.flush.dest;
		n = op->data.flush.n;
		f = op->data.flush.flags;
		break;
	}
	if (dest)
		*dest = d;
	if (len)
		*len = n;
	if (flags)
		*flags = f;
}

void
user_mover_write(const struct vdm_operation *op)
{
	switch (op->type) {
	case VDM_OPERATION_MEMCPY:
		memcpy(op->data.memcpy.dest, op->data.memcpy.src,
			op->data.memcpy.n);
		break;
	case VDM_OPERATION_MEMMOVE:
		memmove(op->data.memmove.dest, op->data.memmove.src,
			op->data.memmove.n);
		break;
	case VDM_OPERATION_MEMSET:
		memset(op->data.memset.str, op->data.memset.c,
			op->data.memset.n);
		break;
	case VDM_OPERATION_FLUSH:
		break;	/* no capability claimed: the caller persists */
	}
}

void
user_mover_output(const struct vdm_operation *op,
	struct vdm_operation_output *out)
{
	memset(out, 0, sizeof(*out));
	out->type = op->type;
	out->result = VDM_SUCCESS;
	switch (op->type) {
	case VDM_OPERATION_MEMCPY:
		out->output.memcpy.dest = op->data.memcpy.dest;
		break;
	case VDM_OPERATION_MEMMOVE:
		out->output.memmove.dest = op->data.memmove.dest;
		break;
	case VDM_OPERATION_MEMSET:
		out->output.memset.str = op->data.memset.str;
		break;
	case VDM_OPERATION_FLUSH:
		break;
	}
}

static void *
um_new(struct vdm *vdm, const enum vdm_operation_type type)
{
	(void)type;
	return vdm;	/* no state per operation: nothing to allocate */
}

static int
um_start(void *data, const struct vdm_operation *op,
	struct future_notifier *n)
{
	(void)data;
	if (n)
		n->notifier_used = FUTURE_NOTIFIER_NONE;	/* poll us */
	user_mover_write(op);
	return 0;
}

static enum future_state
um_check(void *data, const struct vdm_operation *op)
{
	(void)data;
	(void)op;
	return FUTURE_STATE_COMPLETE;
}

static void
um_delete(void *data, const struct vdm_operation *op,
	struct vdm_operation_output *out)
{
	(void)data;
	user_mover_output(op, out);
}

static struct vdm um_vdm = {
	.op_new = um_new,
	.op_delete = um_delete,
	.op_start = um_start,
	.op_check = um_check,
	.capabilities = 0,
	.has_property = NULL,
};

struct vdm *
user_mover(void)
{
	return &um_vdm;
}
