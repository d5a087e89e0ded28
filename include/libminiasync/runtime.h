/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libminiasync/runtime.h -- drive futures to completion from one thread,
 * sleeping on the futures' wakers while none of them can make progress.
 */
#ifndef MINIASYNC_RUNTIME_H
#define MINIASYNC_RUNTIME_H 1

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

struct runtime;

struct runtime *runtime_new(void);
void runtime_delete(struct runtime *runtime);

/* Returns when every future in futs[0..nfuts) is COMPLETE. */
void runtime_wait_multiple(struct runtime *runtime, struct future *futs[],
	size_t nfuts);
void runtime_wait(struct runtime *runtime, struct future *fut);

#ifdef __cplusplus
}
#endif
#endif /* MINIASYNC_RUNTIME_H */
