/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * stream.h -- the threads mover's streaming copy and fill.
 *
 * Both write the destination front to back: the cache lines lying wholly
 * inside it with non-temporal stores (they bypass the CPU caches), the
 * partial lines at either end with ordinary stores, which are then written
 * back when `writeback` is non-zero. Short ranges are written entirely with
 * ordinary stores (and written back likewise). Neither function fences: the
 * caller must execute cpu_sfence() before it tells anybody the bytes are
 * there, because non-temporal stores are weakly ordered.
 *
 * The copy is forward only: the areas must not overlap.
 */
#ifndef MINIASYNC_STREAM_H
#define MINIASYNC_STREAM_H 1

#include <stddef.h>

void ma_stream_copy(void *dst, const void *src, size_t n, int writeback);
void ma_stream_fill(void *dst, int c, size_t n, int writeback);

/* Writes the lines of [p, p+n) back from the CPU caches (no fence). */
void ma_write_back(const void *p, size_t n);

/*
 * The size from which a plain (neither durable nor hinted) copy or fill is
 * better streamed than cached: half the largest cache CPUID describes, at
 * least 1 MiB (8 MiB when CPUID says nothing); SIZE_MAX when there are no
 * streaming stores.
 */
size_t ma_stream_plain_min(void);

/*
 * The instruction set picked at load time: "avx512", "avx2", "sse2" or
 * "libc" (not x86-64: ordinary copies, then a write-back). PMEM_AVX512F=0
 * rules out AVX-512 and PMEM_AVX=0 rules out AVX2, as for libpmem2.
 */
const char *ma_stream_variant(void);

#endif /* MINIASYNC_STREAM_H */
