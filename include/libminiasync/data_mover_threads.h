/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libminiasync/data_mover_threads.h -- a mover backed by a pool of worker
 * threads fed through a bounded queue.
 */
#ifndef MINIASYNC_DATA_MOVER_THREADS_H
#define MINIASYNC_DATA_MOVER_THREADS_H 1

#include "vdm.h"

#ifdef __cplusplus
extern "C" {
#endif

struct data_mover_threads;

/* Replacement operations; they receive the operation's flags. */
typedef void *(*memcpy_fn)(void *dst, const void *src, size_t n,
	unsigned flags);
typedef void *(*memmove_fn)(void *dst, const void *src, size_t n,
	unsigned flags);
typedef void *(*memset_fn)(void *str, int c, size_t n, unsigned flags);

/*
 * nthreads workers; ringbuf_size queue slots (a power of two); the notifier
 * the mover's futures report (NONE, WAKER or POLLER). NULL on failure.
 */
struct data_mover_threads *data_mover_threads_new(size_t nthreads,
	size_t ringbuf_size, enum future_notifier_type desired_notifier);
/* A mover sized to this machine, with a WAKER notifier. */
struct data_mover_threads *data_mover_threads_default(void);
struct vdm *data_mover_threads_get_vdm(struct data_mover_threads *dmt);
/* Finishes the work already queued, then stops the workers. */
void data_mover_threads_delete(struct data_mover_threads *dmt);

void data_mover_threads_set_memcpy_fn(struct data_mover_threads *dmt,
	memcpy_fn op_memcpy);
void data_mover_threads_set_memmove_fn(struct data_mover_threads *dmt,
	memmove_fn op_memmove);
void data_mover_threads_set_memset_fn(struct data_mover_threads *dmt,
	memset_fn op_memset);

#ifdef __cplusplus
}
#endif
#endif /* MINIASYNC_DATA_MOVER_THREADS_H */
