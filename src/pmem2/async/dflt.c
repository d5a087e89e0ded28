/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dflt.c -- the default mover: the map's own pmem2 memory functions, run
 * inside the poll.
 *
 * With no vdm in the config and BYTE or CACHE_LINE granularity, a future's
 * data.vdm is this mover and nothing is allocated per operation: the
 * per-operation pointer (data.data) is one of 64 preset tokens, one for each
 * combination of PMEM2_F_MEM_* flags, and the whole operation, persistence
 * included, runs in its first poll. On PAGE maps the wrapper (wrap.c) calls
 * pmem2_dflt_run() itself with a NOFLUSH token: the copy is this mover's,
 * the durability the syncer's.
 */
#define _GNU_SOURCE
#include <stddef.h>

#define PMEM2_USE_MINIASYNC 1
#include "libpmem2.h"
#include "map.h"
#include "memops.h"
#include "errors.h"
#include "async_impl.h"

int
pmem2_async_dest_check(const struct pmem2_async *as, const struct vdm_operation *op)
{
	if (dest_inside(as, op))
		return 1;
	ERR("the destination [%p, +%zu) is not inside the map [%p, +%zu)",
		op_dest(op), op_length(op), (void *)as->base, as->len);
	return 0;
}

void
pmem2_dflt_run(const struct pmem2_async_token *t, const struct vdm_operation *op)
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
enum future_state
pmem2_dflt_task(struct future_context *ctx, struct future_notifier *n)
{
	struct vdm_operation_data *d = future_context_get_data(ctx);
	struct vdm_operation_output *out = future_context_get_output(ctx);

	const struct pmem2_async_token *t = d->data;
	enum vdm_operation_result res = VDM_ERROR_JOB_CORRUPTED;

	if (n)
		n->notifier_used = FUTURE_NOTIFIER_NONE;
	if (pmem2_async_dest_check(t->as, &d->operation)) {
		pmem2_dflt_run(t, &d->operation);
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
	if (pmem2_async_dest_check(t->as, op))
		pmem2_dflt_run(t, op);
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

void
pmem2_dflt_init(struct pmem2_async *as)
{
	as->dflt.op_new = dflt_op_new;
	as->dflt.op_delete = dflt_op_delete;
	as->dflt.op_start = dflt_op_start;
	as->dflt.op_check = dflt_op_check;
	as->dflt.capabilities = VDM_F_MEM_DURABLE;
	as->dflt.has_property = NULL;
	for (unsigned i = 0; i < PMEM2_ASYNC_NFLAGS; i++) {
		as->tok[i].as = as;
		as->tok[i].flags = i;
	}
}
