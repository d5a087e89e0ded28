/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * check_hooks.h -- notifications for the persistence checker.
 *
 * The code that stores to, flushes or fences persistent memory reports what
 * it did, one call per contiguous range (never per cache line). The names
 * say what happened, not which library did it: both libraries call them.
 * A normal build turns every hook into nothing (so neither library depends
 * on a symbol of the other). The reliability area compiles second copies of
 * both libraries' objects with -DPERSIST_CHECK and links a recorder that
 * defines the functions below, so it can tell whether every store was made
 * durable before the call that promised durability returned.
 */
#ifndef COMMON_CHECK_HOOKS_H
#define COMMON_CHECK_HOOKS_H 1

#include <stddef.h>

#ifdef PERSIST_CHECK

/* Ordinary (temporal, write-back cached) stores were made to the range. */
void persist_note_store(const void *addr, size_t len);
/* Non-temporal (streaming / write-combining) stores were made to the range. */
void persist_note_nt_store(const void *addr, size_t len);
/* Every cache line of the range was written back (clwb/clflushopt/clflush). */
void persist_note_flush(const void *addr, size_t len);
/* A store fence (sfence or stronger) was executed. */
void persist_note_fence(void);
/* msync/fdatasync of the range completed successfully. */
void persist_note_sync(const void *addr, size_t len);

#else

static inline void
persist_note_store(const void *addr, size_t len)
{
	(void)addr;
	(void)len;
}

static inline void
persist_note_nt_store(const void *addr, size_t len)
{
	(void)addr;
	(void)len;
}

static inline void
persist_note_flush(const void *addr, size_t len)
{
	(void)addr;
	(void)len;
}

static inline void
persist_note_fence(void)
{
}

static inline void
persist_note_sync(const void *addr, size_t len)
{
	(void)addr;
	(void)len;
}

#endif /* PERSIST_CHECK */

#endif /* COMMON_CHECK_HOOKS_H */
