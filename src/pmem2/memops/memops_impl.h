/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memops_impl.h -- what the instruction-set variants of the memory
 * functions provide, and the knobs they share (set once at load).
 */
#ifndef PMEM2_MEMOPS_IMPL_H
#define PMEM2_MEMOPS_IMPL_H 1

#include <stddef.h>
#include <libpmem2/base.h>
#include "common/cpu.h"

/*
 * One instruction-set variant. Every function takes the public flags.
 *
 * cl_*[k]	CACHE_LINE granularity, complete: copy/fill, write back the
 *		touched lines with flush instruction k (index: enum
 *		cpu_flush_kind), fence unless NODRAIN/NOFLUSH.
 * byte_*	BYTE granularity (eADR): no cache write-back, fence unless
 *		NODRAIN/NOFLUSH.
 * raw_*	copy/fill only, no write-back, no final drain (non-temporal
 *		stores are fenced); what PAGE granularity uses before msync.
 */
struct memops_isa {
	const char *name;
	pmem2_memmove_fn cl_memmove[4];
	pmem2_memset_fn cl_memset[4];
	pmem2_memmove_fn byte_memmove;
	pmem2_memset_fn byte_memset;
	pmem2_memmove_fn raw_memmove;
	pmem2_memset_fn raw_memset;
};

/* Knobs read by the variants, set by pmem2_memops_init() (init.c). */
extern size_t pmem2_movnt_threshold;	/* PMEM_MOVNT_THRESHOLD */
/* where copies that need no write-back (BYTE, PAGE, NOFLUSH) turn NT */
extern size_t pmem2_movnt_threshold_noflush;
/* where PAGE copies turn NT (SIZE_MAX: libc's memmove/memset decide) */
extern size_t pmem2_movnt_threshold_page;
/* 1: CACHE_LINE copies up to SMALL_MAX follow the threshold too */
extern int pmem2_small_nt;
extern int pmem2_wc_workaround;		/* PMEM_WC_WORKAROUND */
extern enum cpu_flush_kind pmem2_flush_kind;

/* Portable C: 8-byte stores, any flush kind at run time. */
extern const struct memops_isa pmem2_isa_generic;
/* libc memmove/memset followed by a write-back (PMEM_NO_GENERIC_MEMCPY). */
extern const struct memops_isa pmem2_isa_libc;

#if defined(__x86_64__)
extern const struct memops_isa pmem2_isa_sse2;
extern const struct memops_isa pmem2_isa_sse2_md;
extern const struct memops_isa pmem2_isa_avx;
extern const struct memops_isa pmem2_isa_avx_md;
extern const struct memops_isa pmem2_isa_avx512;
extern const struct memops_isa pmem2_isa_avx512_md;
#endif

/*
 * The variant in use and the granularity tables, for tests and the
 * benchmark (not exported from the shared library).
 */
const char *pmem2_memops_variant(void);
/* the CPU profile in use: "intel" or "amd" (common/cpu_profile.h) */
const char *pmem2_memops_profile(void);

#endif /* PMEM2_MEMOPS_IMPL_H */
