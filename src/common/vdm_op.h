/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vdm_op.h -- questions about a struct vdm_operation that both libraries
 * ask: the threads mover of libminiasync and libpmem2's async wrapper.
 */
#ifndef COMMON_VDM_OP_H
#define COMMON_VDM_OP_H 1

#include <stddef.h>
#include <stdint.h>
#include <libminiasync/vdm.h>

/* The number of bytes the operation writes (or, for a flush, persists). */
static inline size_t
op_length(const struct vdm_operation *op)
{
	switch (op->type) {
	case VDM_OPERATION_MEMCPY:
		return op->data.memcpy.n;
	case VDM_OPERATION_MEMMOVE:
		return op->data.memmove.n;
	case VDM_OPERATION_MEMSET:
		return op->data.memset.n;
	case VDM_OPERATION_FLUSH:
		return op->data.flush.n;
	default:
		return 0;
	}
}

/* Do [d, d+n) and [s, s+n) overlap? */
static inline int
ranges_overlap(const void *d, const void *s, size_t n)
{
	uintptr_t a = (uintptr_t)d, b = (uintptr_t)s;
	return (a > b ? a - b : b - a) < n;
}

#endif /* COMMON_VDM_OP_H */
