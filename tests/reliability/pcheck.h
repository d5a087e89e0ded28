/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pcheck.h -- the persistence checker's recorder (test-only).
 *
 * A copy of libpmem2 built with -DPERSIST_CHECK reports every store,
 * non-temporal store, cache-line write-back, fence and msync/fdatasync it
 * performs through the hooks of src/common/check_hooks.h. The recorder below
 * implements those hooks: it keeps, for every byte of a tracked region, the
 * state the hardware would leave it in, and tests ask whether a range is
 * durable after an operation that promised durability returned or completed.
 *
 * Per byte (kept as 64-bit masks per cache line):
 *   clean/durable    never stored since the reset, or made durable
 *   dirty            stored with ordinary stores, not written back
 *   pending          written back (or stored non-temporally) but not yet
 *                    fenced by the thread that wrote it back / stored it
 * Rules by granularity model:
 *   CACHE_LINE  store -> dirty; flush -> pending (the whole line); fence ->
 *               the fencing thread's pending bytes become durable; nt_store
 *               -> pending. sync does not help (the CPU cache is volatile).
 *   PAGE        store/nt_store -> dirty; only sync of the (page-rounded)
 *               range makes it durable; flush and fence do nothing.
 *   BYTE        (eADR: the cache is persistent) ordinary stores are durable
 *               once made; non-temporal stores are pending until a fence.
 */
#ifndef PMEM2_PCHECK_H
#define PMEM2_PCHECK_H 1

#include <stddef.h>
#include <stdint.h>

enum pcheck_model {
	PCHECK_BYTE = 0,	/* values match enum pmem2_granularity */
	PCHECK_CACHE_LINE = 1,
	PCHECK_PAGE = 2,
};

/*
 * Forgets everything, sets the model and the only region recorded from now
 * on (hooks for ranges outside it are counted, then ignored).
 */
void pcheck_reset(enum pcheck_model model, const void *region, size_t len);

/* Stops recording (hooks are only counted) until the next reset. */
void pcheck_disable(void);

struct pcheck_fail {
	size_t offset;		/* first offending byte, from the range start */
	const char *state;	/* what that byte is */
};

/*
 * 0 when every byte of [addr, addr+len) is durable, else -1 with *f (if
 * not NULL) describing the first byte that is not.
 */
int pcheck_durable(const void *addr, size_t len, struct pcheck_fail *f);

/*
 * 0 when every byte of [addr, addr+len) was reported stored (ordinary or
 * non-temporal) since the reset: proves the library's store hooks cover
 * what it wrote, so that pcheck_durable() is not vacuously true.
 */
int pcheck_touched(const void *addr, size_t len, struct pcheck_fail *f);

/* 0 when nothing in [addr, addr+len) was reported stored since the reset. */
int pcheck_untouched(const void *addr, size_t len, struct pcheck_fail *f);

struct pcheck_counts {
	uint64_t store, nt_store, flush, fence, sync;
	uint64_t outside;	/* hooks for ranges outside the region */
};
void pcheck_counts(struct pcheck_counts *c);

/* The hooks (normally called by the library, also by tests). */
void persist_note_store(const void *addr, size_t len);
void persist_note_nt_store(const void *addr, size_t len);
void persist_note_flush(const void *addr, size_t len);
void persist_note_fence(void);
void persist_note_sync(const void *addr, size_t len);

#endif /* PMEM2_PCHECK_H */
