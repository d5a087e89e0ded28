/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libminiasync/vdm.h -- the virtual data mover: one interface in front of
 * whatever moves the bytes (the calling thread, worker threads, a DMA
 * engine). vdm_memcpy() and friends return a future; polling it starts the
 * operation on the mover and reports when it is done.
 */
#ifndef MINIASYNC_VDM_H
#define MINIASYNC_VDM_H 1

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vdm;

enum vdm_operation_type {
	VDM_OPERATION_MEMCPY,
	VDM_OPERATION_MEMMOVE,
	VDM_OPERATION_MEMSET,
	VDM_OPERATION_FLUSH,
};

enum vdm_operation_result {
	VDM_SUCCESS,
	VDM_ERROR_OUT_OF_MEMORY,
	VDM_ERROR_JOB_CORRUPTED,
	/*
	 * An extension of this libminiasync (miniasync 0.2.x has no such
	 * value): the bytes were moved, but making them durable failed, for
	 * instance a file sync reported EIO or ENOSPC. A mover that makes
	 * its writes durable reports it; the others never do.
	 */
	VDM_ERROR_IO,
};

struct vdm_operation_data_memcpy {
	void *dest;
	void *src;
	size_t n;
	uint64_t flags;
};

struct vdm_operation_data_memmove {
	void *dest;
	void *src;
	size_t n;
	uint64_t flags;
};

struct vdm_operation_data_memset {
	void *str;
	int c;
	size_t n;
	uint64_t flags;
};

struct vdm_operation_data_flush {
	void *dest;
	size_t n;
	uint64_t flags;
};

/* Keeps struct vdm_operation_data at 64 bytes. */
#define VDM_OPERATION_DATA_MAX_SIZE (40)

struct vdm_operation {
	union {
		struct vdm_operation_data_memcpy memcpy;
		struct vdm_operation_data_memmove memmove;
		struct vdm_operation_data_memset memset;
		struct vdm_operation_data_flush flush;
		uint8_t data[VDM_OPERATION_DATA_MAX_SIZE];
	} data;
	enum vdm_operation_type type;
	uint32_t padding;
};

struct vdm_operation_data {
	void *data;		/* the mover's per-operation state */
	struct vdm *vdm;
	struct vdm_operation operation;
};

struct vdm_operation_output_memcpy {
	void *dest;
};

struct vdm_operation_output_memmove {
	void *dest;
};

struct vdm_operation_output_memset {
	void *str;
};

struct vdm_operation_output_flush {
	uint64_t unused;
};

struct vdm_operation_output {
	enum vdm_operation_type type;
	enum vdm_operation_result result;
	union {
		struct vdm_operation_output_memcpy memcpy;
		struct vdm_operation_output_memmove memmove;
		struct vdm_operation_output_memset memset;
		struct vdm_operation_output_flush flush;
	} output;
};

FUTURE(vdm_operation_future,
	struct vdm_operation_data, struct vdm_operation_output);

/* What a mover implements. */
typedef void *(*vdm_operation_new)(struct vdm *vdm,
	const enum vdm_operation_type type);
typedef int (*vdm_operation_start)(void *data,
	const struct vdm_operation *operation, struct future_notifier *n);
typedef enum future_state (*vdm_operation_check)(void *data,
	const struct vdm_operation *operation);
typedef void (*vdm_operation_delete)(void *data,
	const struct vdm_operation *operation,
	struct vdm_operation_output *output);

struct vdm {
	vdm_operation_new op_new;
	vdm_operation_delete op_delete;
	vdm_operation_start op_start;
	vdm_operation_check op_check;
	unsigned capabilities;
	future_has_property_fn has_property;
};

/* A mover that runs every operation in the polling thread. */
struct vdm *vdm_synchronous_new(void);
void vdm_synchronous_delete(struct vdm *vdm);

/*
 * The task behind every vdm future: IDLE -> op_start (a non-zero return
 * means "not accepted yet, poll again") -> op_check until COMPLETE ->
 * op_delete fills the output and releases the mover's state.
 */
static inline enum future_state
vdm_operation_impl(struct future_context *context, struct future_notifier *n)
{
	struct vdm_operation_data *d =
		(struct vdm_operation_data *)future_context_get_data(context);
	struct vdm *vdm = d->vdm;

	if (context->state == FUTURE_STATE_IDLE &&
			vdm->op_start(d->data, &d->operation, n) != 0)
		return FUTURE_STATE_IDLE;

	enum future_state state = vdm->op_check(d->data, &d->operation);
	if (state == FUTURE_STATE_COMPLETE) {
		struct vdm_operation_output *out =
			(struct vdm_operation_output *)
			future_context_get_output(context);
		vdm->op_delete(d->data, &d->operation, out);
		d->data = NULL;
	}
	return state;
}

#define VDM_F_MEM_DURABLE (1U << 0)
#define VDM_F_NO_CACHE_HINT (1U << 1)
#define VDM_F_VALID_FLAGS (VDM_F_MEM_DURABLE | VDM_F_NO_CACHE_HINT)

/* Non-zero when the mover supports every bit of `capability`. */
static inline int
vdm_is_supported(struct vdm *vdm, unsigned capability)
{
	return (vdm->capabilities & capability) == capability;
}

static inline void
vdm_set_has_property_fn(struct vdm_operation_future *future,
	future_has_property_fn fn)
{
	if (fn != NULL)
		future->base.has_property = fn;
}

/* Asks the mover for per-operation state; failure completes the future. */
static inline void
vdm_generic_operation(struct vdm *vdm, struct vdm_operation_future *future)
{
	future->data.vdm = vdm;
	future->data.data = vdm->op_new(vdm, future->data.operation.type);
	if (future->data.data == NULL) {
		future->output.result = VDM_ERROR_OUT_OF_MEMORY;
		FUTURE_INIT_COMPLETE(future);
	} else {
		FUTURE_INIT(future, vdm_operation_impl);
		vdm_set_has_property_fn(future, vdm->has_property);
	}
}

static inline struct vdm_operation_future
vdm_memcpy(struct vdm *vdm, void *dest, void *src, size_t n, uint64_t flags)
{
	struct vdm_operation_future f;
	f.data.operation.type = VDM_OPERATION_MEMCPY;
	f.data.operation.padding = 0;
	f.data.operation.data.memcpy.dest = dest;
	f.data.operation.data.memcpy.src = src;
	f.data.operation.data.memcpy.n = n;
	f.data.operation.data.memcpy.flags = flags;
	f.output.type = VDM_OPERATION_MEMCPY;
	f.output.result = VDM_SUCCESS;
	f.output.output.memcpy.dest = NULL;
	vdm_generic_operation(vdm, &f);
	return f;
}

static inline struct vdm_operation_future
vdm_memmove(struct vdm *vdm, void *dest, void *src, size_t n, uint64_t flags)
{
	struct vdm_operation_future f;
	f.data.operation.type = VDM_OPERATION_MEMMOVE;
	f.data.operation.padding = 0;
	f.data.operation.data.memmove.dest = dest;
	f.data.operation.data.memmove.src = src;
	f.data.operation.data.memmove.n = n;
	f.data.operation.data.memmove.flags = flags;
	f.output.type = VDM_OPERATION_MEMMOVE;
	f.output.result = VDM_SUCCESS;
	f.output.output.memmove.dest = NULL;
	vdm_generic_operation(vdm, &f);
	return f;
}

static inline struct vdm_operation_future
vdm_memset(struct vdm *vdm, void *str, int c, size_t n, uint64_t flags)
{
	struct vdm_operation_future f;
	f.data.operation.type = VDM_OPERATION_MEMSET;
	f.data.operation.padding = 0;
	f.data.operation.data.memset.str = str;
	f.data.operation.data.memset.c = c;
	f.data.operation.data.memset.n = n;
	f.data.operation.data.memset.flags = flags;
	f.output.type = VDM_OPERATION_MEMSET;
	f.output.result = VDM_SUCCESS;
	f.output.output.memset.str = NULL;
	vdm_generic_operation(vdm, &f);
	return f;
}

/* Writes the range's cache lines back to memory (and fences). */
static inline struct vdm_operation_future
vdm_flush(struct vdm *vdm, void *dest, size_t n, uint64_t flags)
{
	struct vdm_operation_future f;
	f.data.operation.type = VDM_OPERATION_FLUSH;
	f.data.operation.padding = 0;
	f.data.operation.data.flush.dest = dest;
	f.data.operation.data.flush.n = n;
	f.data.operation.data.flush.flags = flags;
	f.output.type = VDM_OPERATION_FLUSH;
	f.output.result = VDM_SUCCESS;
	f.output.output.flush.unused = 0;
	vdm_generic_operation(vdm, &f);
	return f;
}

#ifdef __cplusplus
}
#endif
#endif /* MINIASYNC_VDM_H */
