/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nt_stream.h -- the streaming (non-temporal) copy and fill engine of
 * libminiasync's threads mover and of the benchmarks. Its inner loops are
 * those of libpmem2's memory functions (common/nt_lines.h); one
 * instruction set is chosen by CPUID when nt_stream_init() runs.
 *
 * nt_stream_copy() and nt_stream_fill() write the destination front to
 * back: the cache lines lying wholly inside it with non-temporal stores
 * (they bypass the CPU caches), the partial lines at either end with
 * ordinary stores, which are then written back when `writeback` is
 * non-zero. Short ranges are written entirely with ordinary stores (and
 * written back likewise). Neither fences: the caller executes cpu_sfence()
 * before it tells anybody the bytes are there. The copy is forward only:
 * the areas must not overlap.
 */
#ifndef COMMON_NT_STREAM_H
#define COMMON_NT_STREAM_H 1

#include <stddef.h>

/* a library's copy takes its prefix, as cpu.h's functions do */
#ifdef COMMON_SYM_PREFIX
#define NT_STREAM_CAT2(a, b) a##b
#define NT_STREAM_CAT(a, b) NT_STREAM_CAT2(a, b)
#define nt_stream_init NT_STREAM_CAT(COMMON_SYM_PREFIX, nt_stream_init)
#define nt_stream_copy NT_STREAM_CAT(COMMON_SYM_PREFIX, nt_stream_copy)
#define nt_stream_fill NT_STREAM_CAT(COMMON_SYM_PREFIX, nt_stream_fill)
#define nt_write_back NT_STREAM_CAT(COMMON_SYM_PREFIX, nt_write_back)
#define nt_stream_plain_min \
	NT_STREAM_CAT(COMMON_SYM_PREFIX, nt_stream_plain_min)
#define nt_stream_variant NT_STREAM_CAT(COMMON_SYM_PREFIX, nt_stream_variant)
#define nt_lines_find NT_STREAM_CAT(COMMON_SYM_PREFIX, nt_lines_find)
#endif

/*
 * Picks the instruction set: the best CPUID reports (cpu_init() must have
 * run), less AVX-512 when PMEM_AVX512F=0 and AVX2 when PMEM_AVX=0, and
 * none at all ("libc": ordinary stores, written back when durable) when
 * PMEM_NO_MOVNT=1, as for libpmem2's memory functions.
 */
void nt_stream_init(void);

void nt_stream_copy(void *dst, const void *src, size_t n, int writeback);
void nt_stream_fill(void *dst, int c, size_t n, int writeback);

/* Writes the lines of [p, p+n) back from the CPU caches (no fence). */
void nt_write_back(const void *p, size_t n);

/*
 * The size from which a plain (neither durable nor hinted) copy or fill is
 * better streamed than cached: half the largest cache CPUID describes, at
 * least 1 MiB (8 MiB when CPUID says nothing); SIZE_MAX when there are no
 * streaming stores.
 */
size_t nt_stream_plain_min(void);

/* "avx512", "avx2", "sse2" or "libc" (no streaming stores). */
const char *nt_stream_variant(void);

/*
 * One instruction set's bare loop: nlines whole lines, dst line aligned,
 * no fence. nt_lines_find(name) gives the named set if this CPU has it,
 * NULL otherwise; NULL names the one nt_stream_init() chose.
 */
typedef void (*nt_copy_lines_fn)(char *dst, const char *src, size_t nlines);
nt_copy_lines_fn nt_lines_find(const char *name);

#endif /* COMMON_NT_STREAM_H */
