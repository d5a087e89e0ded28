/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * check.h -- persistence-checker notifications from the threads mover.
 *
 * The reliability tests build a second copy of libminiasync with
 * -DPMEM2_PERSIST_CHECK and link it with their recorder (which defines the
 * pmem2_check_* functions declared below, the same hooks libpmem2's checked
 * build calls), so that they can verify that a mover which declares
 * VDM_F_MEM_DURABLE really writes back and fences before it reports
 * completion. In a normal build every hook is nothing, and libminiasync
 * depends on no symbol of libpmem2.
 */
#ifndef MINIASYNC_CHECK_H
#define MINIASYNC_CHECK_H 1

#include <stddef.h>

#ifdef PMEM2_PERSIST_CHECK
void pmem2_check_store(const void *addr, size_t len);
void pmem2_check_nt_store(const void *addr, size_t len);
void pmem2_check_flush(const void *addr, size_t len);
void pmem2_check_fence(void);

#define MA_CHECK_STORE(a, n) pmem2_check_store((a), (n))
#define MA_CHECK_NT_STORE(a, n) pmem2_check_nt_store((a), (n))
#define MA_CHECK_FLUSH(a, n) pmem2_check_flush((a), (n))
#define MA_CHECK_FENCE() pmem2_check_fence()
#else
#define MA_CHECK_STORE(a, n) ((void)(a), (void)(n))
#define MA_CHECK_NT_STORE(a, n) ((void)(a), (void)(n))
#define MA_CHECK_FLUSH(a, n) ((void)(a), (void)(n))
#define MA_CHECK_FENCE() ((void)0)
#endif

#endif /* MINIASYNC_CHECK_H */
