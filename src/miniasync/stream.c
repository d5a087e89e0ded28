/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * stream.c -- streaming (non-temporal) copy and fill for the threads mover.
 *
 * The inner loops move whole 64-byte lines to a line-aligned destination;
 * one loop per instruction set, each compiled for its own target with a
 * function attribute (the library is built for the baseline x86-64), and
 * the best one the CPU has is chosen when the library is loaded.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cpu.h"
#include "common/check_hooks.h"
#include "common/env.h"
#include "stream.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

#define LINE CPU_CACHELINE
/* below this many bytes, ordinary stores (and a write-back) are cheaper */
#define STREAM_MIN 256
/* how far ahead of the loads the source is prefetched */
#define PF_AHEAD 1024

typedef void (*copy_lines_fn)(char *dst, const char *src, size_t nlines);
typedef void (*fill_lines_fn)(char *dst, int c, size_t nlines);

#if defined(__x86_64__)

__attribute__((target("avx512f"))) static void
copy_lines_avx512(char *dst, const char *src, size_t nlines)
{
	for (; nlines >= 4; nlines -= 4, dst += 4 * LINE, src += 4 * LINE) {
		_mm_prefetch(src + PF_AHEAD, _MM_HINT_T0);
		_mm_prefetch(src + PF_AHEAD + LINE, _MM_HINT_T0);
		_mm_prefetch(src + PF_AHEAD + 2 * LINE, _MM_HINT_T0);
		_mm_prefetch(src + PF_AHEAD + 3 * LINE, _MM_HINT_T0);
		__m512i a = _mm512_loadu_si512((const void *)src);
		__m512i b = _mm512_loadu_si512((const void *)(src + LINE));
		__m512i c = _mm512_loadu_si512((const void *)(src + 2 * LINE));
		__m512i d = _mm512_loadu_si512((const void *)(src + 3 * LINE));
		_mm512_stream_si512((void *)dst, a);
		_mm512_stream_si512((void *)(dst + LINE), b);
		_mm512_stream_si512((void *)(dst + 2 * LINE), c);
		_mm512_stream_si512((void *)(dst + 3 * LINE), d);
	}
	for (; nlines > 0; nlines--, dst += LINE, src += LINE)
		_mm512_stream_si512((void *)dst,
			_mm512_loadu_si512((const void *)src));
}

__attribute__((target("avx512f"))) static void
fill_lines_avx512(char *dst, int c, size_t nlines)
{
	__m512i v = _mm512_set1_epi32((int)(0x01010101u * (uint8_t)c));
	for (; nlines >= 4; nlines -= 4, dst += 4 * LINE) {
		_mm512_stream_si512((void *)dst, v);
		_mm512_stream_si512((void *)(dst + LINE), v);
		_mm512_stream_si512((void *)(dst + 2 * LINE), v);
		_mm512_stream_si512((void *)(dst + 3 * LINE), v);
	}
	for (; nlines > 0; nlines--, dst += LINE)
		_mm512_stream_si512((void *)dst, v);
}

__attribute__((target("avx2"))) static void
copy_lines_avx2(char *dst, const char *src, size_t nlines)
{
	for (; nlines >= 2; nlines -= 2, dst += 2 * LINE, src += 2 * LINE) {
		_mm_prefetch(src + PF_AHEAD, _MM_HINT_T0);
		_mm_prefetch(src + PF_AHEAD + LINE, _MM_HINT_T0);
		const __m256i *s = (const __m256i *)src;
		__m256i *d = (__m256i *)dst;
		__m256i a = _mm256_loadu_si256(s);
		__m256i b = _mm256_loadu_si256(s + 1);
		__m256i e = _mm256_loadu_si256(s + 2);
		__m256i f = _mm256_loadu_si256(s + 3);
		_mm256_stream_si256(d, a);
		_mm256_stream_si256(d + 1, b);
		_mm256_stream_si256(d + 2, e);
		_mm256_stream_si256(d + 3, f);
	}
	if (nlines > 0) {
		const __m256i *s = (const __m256i *)src;
		__m256i *d = (__m256i *)dst;
		__m256i a = _mm256_loadu_si256(s);
		__m256i b = _mm256_loadu_si256(s + 1);
		_mm256_stream_si256(d, a);
		_mm256_stream_si256(d + 1, b);
	}
}

__attribute__((target("avx2"))) static void
fill_lines_avx2(char *dst, int c, size_t nlines)
{
	__m256i v = _mm256_set1_epi8((char)c);
	for (; nlines > 0; nlines--, dst += LINE) {
		_mm256_stream_si256((__m256i *)dst, v);
		_mm256_stream_si256((__m256i *)(dst + 32), v);
	}
}

__attribute__((target("sse2"))) static void
copy_lines_sse2(char *dst, const char *src, size_t nlines)
{
	for (; nlines > 0; nlines--, dst += LINE, src += LINE) {
		_mm_prefetch(src + PF_AHEAD, _MM_HINT_T0);
		const __m128i *s = (const __m128i *)src;
		__m128i *d = (__m128i *)dst;
		__m128i a = _mm_loadu_si128(s);
		__m128i b = _mm_loadu_si128(s + 1);
		__m128i e = _mm_loadu_si128(s + 2);
		__m128i f = _mm_loadu_si128(s + 3);
		_mm_stream_si128(d, a);
		_mm_stream_si128(d + 1, b);
		_mm_stream_si128(d + 2, e);
		_mm_stream_si128(d + 3, f);
	}
}

__attribute__((target("sse2"))) static void
fill_lines_sse2(char *dst, int c, size_t nlines)
{
	__m128i v = _mm_set1_epi8((char)c);
	for (; nlines > 0; nlines--, dst += LINE) {
		_mm_stream_si128((__m128i *)dst, v);
		_mm_stream_si128((__m128i *)(dst + 16), v);
		_mm_stream_si128((__m128i *)(dst + 32), v);
		_mm_stream_si128((__m128i *)(dst + 48), v);
	}
}

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

static copy_lines_fn Copy_lines = copy_lines_plain;
static fill_lines_fn Fill_lines = fill_lines_plain;
static int Lines_cached = 1;	/* the line loop leaves the lines cached */
static const char *Variant = "libc";
static size_t Plain_stream_min = SIZE_MAX;

/* After cpu.c's constructor (101), which fills in cpu_features(). */
__attribute__((constructor(105))) static void
stream_init(void)
{
#if defined(__x86_64__)
	const struct cpu_features *f = cpu_features();
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

size_t
ma_stream_plain_min(void)
{
	return Plain_stream_min;
}

const char *
ma_stream_variant(void)
{
	return Variant;
}

void
ma_write_back(const void *p, size_t n)
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
		ma_write_back(p, n);
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
		ma_write_back(d, n);
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
ma_stream_copy(void *dst, const void *src, size_t n, int wb)
{
	if (n != 0)
		stream(dst, src, 0, n, wb);
}

void
ma_stream_fill(void *dst, int c, size_t n, int wb)
{
	stream(dst, NULL, c, n, wb);
}
