/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memops.h -- the per-granularity table of persistence and memory
 * functions, filled once at load from CPUID and the environment.
 */
#ifndef PMEM2_MEMOPS_H
#define PMEM2_MEMOPS_H 1

#include <libpmem2/base.h>

struct pmem2_ops {
	pmem2_persist_fn persist;
	pmem2_flush_fn flush;
	pmem2_drain_fn drain;
	pmem2_memmove_fn memmove;
	pmem2_memcpy_fn memcpy;
	pmem2_memset_fn memset;
};

/* Never NULL; the same table (same pointers) for the same granularity. */
const struct pmem2_ops *pmem2_ops_get(enum pmem2_granularity g);

/*
 * Raw cache-line write-back of [addr, addr+len) with the best instruction the
 * CPU has, and the store fence; what CACHE_LINE persistence is made of.
 * Exposed for the async module (durability after a foreign mover copied).
 */
void pmem2_cpu_flush(const void *addr, size_t len);
void pmem2_cpu_fence(void);

/*
 * Fills the table from CPUID (cpu_init() must have run) and the
 * environment; a step of the library's init (init.c).
 */
void pmem2_memops_init(void);

#endif /* PMEM2_MEMOPS_H */
