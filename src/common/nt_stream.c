/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nt_stream.c -- the streaming copy and fill engine (nt_stream.h).
 *
 * The loops over whole lines come from common/nt_lines.h, the template
 * libpmem2's memory functions use too, instantiated here (through
 * nt_stream_isa.h) once per instruction set inside that set's target pragma (the libraries are built
 * for the baseline x86-64); nt_stream_init() picks the best one the CPU
 * has. Around them: the partial lines at either end, short ranges, the
 * write-back and the persistence checker's notes.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "check_hooks.h"
#include "env.h"
#include "nt_stream.h"

#define LINE CPU_CACHELINE
/* below this many bytes, ordinary stores (and a write-back) are cheaper */
#define STREAM_MIN 256

typedef void (*fill_lines_fn)(char *dst, int c, size_t nlines);

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

#define NT_PRAGMA_(x) _Pragma(#x)
#define NT_PRAGMA(x) NT_PRAGMA_(x)
#if defined(__clang__)
#define NT_TARGET_BEGIN(t) \
	NT_PRAGMA(clang attribute push(__attribute__((target(t))), \
		apply_to = function))
#define NT_TARGET_END NT_PRAGMA(clang attribute pop)
#else
#define NT_TARGET_BEGIN(t) NT_PRAGMA(GCC push_options) NT_PRAGMA(GCC target(t))
#define NT_TARGET_END NT_PRAGMA(GCC pop_options)
#endif

/* the threads mover streams with several workers at once: no WC fences */
#define NT_WC_FENCE 0

/* ---- AVX-512 ---- */
NT_TARGET_BEGIN("avx512f")
#define F(name) name##_avx512
#define vec_t __m512i
#define LINE_VECS 1
#define VLOADU(p) _mm512_loadu_si512((const void *)(p))
#define VSTREAM(p, v) _mm512_stream_si512((void *)(p), (v))
#define VSET1(c) _mm512_set1_epi32((int)(0x01010101u * (uint8_t)(c)))
#include "nt_stream_isa.h"
NT_TARGET_END

/* ---- AVX2 ---- */
NT_TARGET_BEGIN("avx2")
#define F(name) name##_avx2
#define vec_t __m256i
#define LINE_VECS 2
#define VLOADU(p) _mm256_loadu_si256((const __m256i *)(p))
#define VSTREAM(p, v) _mm256_stream_si256((__m256i *)(p), (v))
#define VSET1(c) _mm256_set1_epi8((char)(c))
#include "nt_stream_isa.h"
NT_TARGET_END

/* ---- SSE2 ---- */
NT_TARGET_BEGIN("sse2")
#define F(name) name##_sse2
#define vec_t __m128i
#define LINE_VECS 4
#define VLOADU(p) _mm_loadu_si128((const __m128i *)(p))
#define VSTREAM(p, v) _mm_stream_si128((__m128i *)(p), (v))
#define VSET1(c) _mm_set1_epi8((char)(c))
#include "nt_stream_isa.h"
NT_TARGET_END

#endif /* __x86_64__ */

/* Not x86-64 (or no SSE2): ordinary stores; the caller writes back. */
static void
copy_lines_plain(char *dst, const char *src, size_t nlines)
{
	memcpy(dst, src, nlines * LINE);
}

static void
fill_lines_plain(char *dst, int c, size_t nlines)
{
	memset(dst, c, nlines * LINE);
}

/*
 * The size of the largest cache, from CPUID's cache descriptions (leaf 4 on
 * Intel, 0x8000001D on AMD: the same layout), 0 when unknown.
 */
static size_t
largest_cache(void)
{
	size_t best = 0;
#if defined(__x86_64__)
	const struct cpu_features *f = cpu_features();
	unsigned leaf = 4;
	unsigned a, b, c, d;
	if (f->authentic_amd) {
		/* 0x8000001D exists with the topology extensions */
		if ((unsigned)__get_cpuid_max(0x80000000u, NULL) < 0x8000001Du)
			return 0;
		__cpuid(0x80000001u, a, b, c, d);
		if (!(c & (1u << 22)))
			return 0;
		leaf = 0x8000001Du;
	} else if ((unsigned)__get_cpuid_max(0, NULL) < 4u) {
		return 0;
	}
	for (unsigned i = 0; i < 16; i++) {
		__cpuid_count(leaf, i, a, b, c, d);
		unsigned type = a & 0x1f;
		if (type == 0)
			break;
		if (type == 2)
			continue;	/* instructions only */
		size_t ways = ((b >> 22) & 0x3ff) + 1;
		size_t parts = ((b >> 12) & 0x3ff) + 1;
		size_t line = (b & 0xfff) + 1;
		size_t sets = (size_t)c + 1;
		size_t sz = ways * parts * line * sets;
		if (sz > best)
			best = sz;
	}
#endif
	return best;
}

static nt_copy_lines_fn Copy_lines = copy_lines_plain;
static fill_lines_fn Fill_lines = fill_lines_plain;
static int Lines_cached = 1;	/* the line loop leaves the lines cached */
static const char *Variant = "libc";
static size_t Plain_stream_min = SIZE_MAX;

void
nt_stream_init(void)
{
#if defined(__x86_64__)
	const struct cpu_features *f = cpu_features();
	/*
	 * As for libpmem2's memory functions: no non-temporal stores at all.
	 * The plain loops leave the lines cached, and a durable copy writes
	 * them back (lines_done), so durability is kept.
	 */
	if (env_is("PMEM_NO_MOVNT", "1"))
		return;
	if (f->sse2) {
		Copy_lines = copy_lines_sse2;
		Fill_lines = fill_lines_sse2;
		Lines_cached = 0;
		Variant = "sse2";
		/*
		 * A copy whose source and destination together exceed the
		 * largest cache evicts everything it writes before anyone
		 * reads it back; streaming it saves reading the destination
		 * lines in first (a third of the memory traffic).
		 */
		size_t llc = largest_cache();
		Plain_stream_min = llc ? llc / 2 : (size_t)8 << 20;
		if (Plain_stream_min < ((size_t)1 << 20))
			Plain_stream_min = (size_t)1 << 20;
	}
	if (f->avx2 && !env_is("PMEM_AVX", "0")) {
		Copy_lines = copy_lines_avx2;
		Fill_lines = fill_lines_avx2;
		Variant = "avx2";
	}
	if (f->avx512f && !env_is("PMEM_AVX512F", "0")) {
		Copy_lines = copy_lines_avx512;
		Fill_lines = fill_lines_avx512;
		Variant = "avx512";
	}
#endif
}

nt_copy_lines_fn
nt_lines_find(const char *name)
{
	if (name == NULL)
		return Copy_lines;
#if defined(__x86_64__)
	const struct cpu_features *f = cpu_features();
	if (strcmp(name, "avx512") == 0 && f->avx512f)
		return copy_lines_avx512;
	if (strcmp(name, "avx2") == 0 && f->avx2)
		return copy_lines_avx2;
	if (strcmp(name, "sse2") == 0 && f->sse2)
		return copy_lines_sse2;
#endif
	return NULL;
}

size_t
nt_stream_plain_min(void)
{
	return Plain_stream_min;
}

const char *
nt_stream_variant(void)
{
	return Variant;
}

void
nt_write_back(const void *p, size_t n)
{
	cpu_flush_range(cpu_flush_kind(), p, n);
	persist_note_flush(p, n);
}

/* The whole lines just written: cached (plain loop) or streamed. */
static inline void
lines_done(const void *p, size_t n, int wb)
{
	if (!Lines_cached) {
		persist_note_nt_store(p, n);
		return;
	}
	persist_note_store(p, n);
	if (wb)
		nt_write_back(p, n);
}

/* [d, d+n) with ordinary stores: copied from s, or filled with c (s NULL) */
static inline void
plain_piece(char *d, const char *s, int c, size_t n, int wb)
{
	if (s != NULL)
		memcpy(d, s, n);
	else
		memset(d, c, n);
	persist_note_store(d, n);
	if (wb)
		nt_write_back(d, n);
}

/*
 * A copy from s (or a fill with c when s is NULL): the partial lines at
 * either end with ordinary stores (written back when wb), the whole lines
 * between them with the streaming loop.
 */
static void
stream(char *d, const char *s, int c, size_t n, int wb)
{
	if (n < STREAM_MIN) {
		plain_piece(d, s, c, n, wb);
		return;
	}
	size_t head = (size_t)(-(uintptr_t)d & (LINE - 1));
	if (head != 0) {
		plain_piece(d, s, c, head, wb);
		d += head;
		s = s ? s + head : NULL;
		n -= head;
	}
	size_t body = n & ~(size_t)(LINE - 1);
	if (s != NULL)
		Copy_lines(d, s, body / LINE);
	else
		Fill_lines(d, c, body / LINE);
	lines_done(d, body, wb);
	d += body;
	s = s ? s + body : NULL;
	n -= body;
	if (n != 0)
		plain_piece(d, s, c, n, wb);
}

void
nt_stream_copy(void *dst, const void *src, size_t n, int wb)
{
	if (n != 0)
		stream(dst, src, 0, n, wb);
}

void
nt_stream_fill(void *dst, int c, size_t n, int wb)
{
	stream(dst, NULL, c, n, wb);
}
