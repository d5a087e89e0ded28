/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * check_hooks.h -- notifications for the persistence checker.
 *
 * The code that stores to, flushes or fences persistent memory reports what
 * it did, one call per contiguous range (never per cache line). A normal
 * build turns every hook into nothing (so libminiasync, which reports from
 * its threads mover, depends on no symbol of libpmem2). The reliability area
 * compiles second copies of both libraries' objects with
 * -DPMEM2_PERSIST_CHECK and links a recorder that defines the functions
 * below, so it can tell whether every store was made durable before the
 * call that promised durability returned.
 */
#ifndef PMEM2_CHECK_HOOKS_H
#define PMEM2_CHECK_HOOKS_H 1

#include <stddef.h>

#ifdef PMEM2_PERSIST_CHECK

/* Ordinary (temporal, write-back cached) stores were made to the range. */
void pmem2_check_store(const void *addr, size_t len);
/* Non-temporal (streaming / write-combining) stores were made to the range. */
void pmem2_check_nt_store(const void *addr, size_t len);
/* Every cache line of the range was written back (clwb/clflushopt/clflush). */
void pmem2_check_flush(const void *addr, size_t len);
/* A store fence (sfence or stronger) was executed. */
void pmem2_check_fence(void);
/* msync/fdatasync of the range completed successfully. */
void pmem2_check_sync(const void *addr, size_t len);

#else

static inline void
pmem2_check_store(const void *addr, size_t len)
{
	(void)addr;
	(void)len;
}

static inline void
pmem2_check_nt_store(const void *addr, size_t len)
{
	(void)addr;
	(void)len;
}

static inline void
pmem2_check_flush(const void *addr, size_t len)
{
	(void)addr;
	(void)len;
}

static inline void
pmem2_check_fence(void)
{
}

static inline void
pmem2_check_sync(const void *addr, size_t len)
{
	(void)addr;
	(void)len;
}

#endif /* PMEM2_PERSIST_CHECK */

#endif /* PMEM2_CHECK_HOOKS_H */
