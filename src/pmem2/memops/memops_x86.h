/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memops_x86.h -- the x86-64 memory functions, written once and compiled
 * once per instruction set. The including file defines:
 *
 *   ISA		suffix of every name (sse2, avx, avx512, movdir64b)
 *   ISA_NAME	string for pmem2_memops_variant()
 *   LINE_VECS	vectors per 64-byte cache line (4, 2 or 1)
 *   vec_t, VLOADU(p), VSTOREU(p, v), VSTOREA(p, v), VSTREAM(p, v), VSET1(c)
 *   SMALL_MAX	largest length done with all loads before all stores
 *   HAVE_YMM	1 when 32-byte vectors may be used for 33..64 byte pieces
 *   WC_BARRIER	1 when the NT loop honours PMEM_WC_WORKAROUND (several
 *		stores per line: SSE2/AVX)
 *   NT_LINE_COPY	optional: copy one line with a single instruction
 *		(MOVDIR64B)
 *   TARGET_STR	the instruction sets, e.g. "avx512f,avx512bw": applied to
 *		every function here by pragma, so the file needs no -m flags
 *		(and builds the same wherever its sources are compiled)
 *
 * Layout of a copy of n bytes to d (n > SMALL_MAX):
 *   head	[d, A)	    A = d rounded up to a line, stored last from a
 *			    register loaded first
 *   body	[A, E)	    whole lines, E = d+n rounded down; temporal stores
 *			    flushed in blocks, or non-temporal stores
 *   tail	[E, d+n)    like the head
 * Head and tail are loaded before the body is written and stored after it,
 * and every body chunk loads all its source lines before storing any, so a
 * forward copy is safe when d < s and a backward copy when d > s, whatever
 * the distance. Head and tail stay inside their own lines, so no line is
 * written twice and every touched line is written back exactly once.
 * If d and n are multiples of 8, every store is 8 bytes or wider.
 */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "memops_impl.h"
#include "common/check_hooks.h"

#define DO_PRAGMA_(x) _Pragma(#x)
#define DO_PRAGMA(x) DO_PRAGMA_(x)
#if defined(__clang__)
DO_PRAGMA(clang attribute push(__attribute__((target(TARGET_STR))), \
	apply_to = function))
#else
#pragma GCC push_options
DO_PRAGMA(GCC target(TARGET_STR))
#endif

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define F(name) CAT(name, ISA)

#define AI static inline __attribute__((always_inline))
#define LINE 64

/* granularity flavour of one instantiation */
#define G_CL	0	/* write back with the flush kind, fence */
#define G_BYTE	1	/* eADR: fence only */
#define G_RAW	2	/* copy only (PAGE msyncs afterwards) */

/* the non-temporal loops (and line_t, ld_line), shared with nt_stream.c */
#define NT_WC_FENCE (WC_BARRIER && pmem2_wc_workaround)
#include "common/nt_lines.h"

AI void
F(st_line_a)(char *d, F(line_t) l)
{
	for (int i = 0; i < LINE_VECS; i++)
		VSTOREA(d + i * (LINE / LINE_VECS), l.v[i]);
}

AI void
F(st_line_u)(char *d, F(line_t) l)
{
	for (int i = 0; i < LINE_VECS; i++)
		VSTOREU(d + i * (LINE / LINE_VECS), l.v[i]);
}

/* ---- scalar pieces; the compiler keeps them single instructions ---- */

AI uint64_t F(ld8)(const void *p) { uint64_t v; memcpy(&v, p, 8); return v; }
AI uint32_t F(ld4)(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
AI uint16_t F(ld2)(const void *p) { uint16_t v; memcpy(&v, p, 2); return v; }
AI void F(st8)(void *p, uint64_t v) { memcpy(p, &v, 8); }
AI void F(st4)(void *p, uint32_t v) { memcpy(p, &v, 4); }
AI void F(st2)(void *p, uint16_t v) { memcpy(p, &v, 2); }

/*
 * Up to SMALL_MAX bytes, every load before every store (so any overlap is
 * fine), with overlapping pieces from both ends.
 */
/* 0..64 bytes, every load before every store. */
AI void
F(copy_upto64)(char *d, const char *s, size_t n)
{
	if (n <= 16) {
		if (n >= 8) {
			uint64_t a = F(ld8)(s), b = F(ld8)(s + n - 8);
			F(st8)(d, a);
			F(st8)(d + n - 8, b);
		} else if (n >= 4) {
			uint32_t a = F(ld4)(s), b = F(ld4)(s + n - 4);
			F(st4)(d, a);
			F(st4)(d + n - 4, b);
		} else if (n >= 2) {
			uint16_t a = F(ld2)(s), b = F(ld2)(s + n - 2);
			F(st2)(d, a);
			F(st2)(d + n - 2, b);
		} else if (n == 1) {
			*d = *s;
		}
		return;
	}
	if (n <= 32) {
		__m128i a = _mm_loadu_si128((const __m128i *)s);
		__m128i b = _mm_loadu_si128((const __m128i *)(s + n - 16));
		_mm_storeu_si128((__m128i *)d, a);
		_mm_storeu_si128((__m128i *)(d + n - 16), b);
		return;
	}
	{
#if HAVE_YMM
		__m256i a = _mm256_loadu_si256((const __m256i *)s);
		__m256i b = _mm256_loadu_si256((const __m256i *)(s + n - 32));
		_mm256_storeu_si256((__m256i *)d, a);
		_mm256_storeu_si256((__m256i *)(d + n - 32), b);
#else
		__m128i a = _mm_loadu_si128((const __m128i *)s);
		__m128i b = _mm_loadu_si128((const __m128i *)(s + 16));
		__m128i c = _mm_loadu_si128((const __m128i *)(s + n - 32));
		__m128i e = _mm_loadu_si128((const __m128i *)(s + n - 16));
		_mm_storeu_si128((__m128i *)d, a);
		_mm_storeu_si128((__m128i *)(d + 16), b);
		_mm_storeu_si128((__m128i *)(d + n - 32), c);
		_mm_storeu_si128((__m128i *)(d + n - 16), e);
#endif
		return;
	}
}

AI void
F(copy_small)(char *d, const char *s, size_t n)
{
	if (n <= 64) {
		F(copy_upto64)(d, s, n);
		return;
	}
	if (n <= 128 || SMALL_MAX <= 128) {
		F(line_t) a = F(ld_line)(s);
		F(line_t) b = F(ld_line)(s + n - LINE);
		F(st_line_u)(d, a);
		F(st_line_u)(d + n - LINE, b);
		return;
	}
	/* 129..256 */
	F(line_t) a = F(ld_line)(s);
	F(line_t) b = F(ld_line)(s + LINE);
	F(line_t) c = F(ld_line)(s + n - 2 * LINE);
	F(line_t) e = F(ld_line)(s + n - LINE);
	F(st_line_u)(d, a);
	F(st_line_u)(d + LINE, b);
	F(st_line_u)(d + n - 2 * LINE, c);
	F(st_line_u)(d + n - LINE, e);
}

/* Up to SMALL_MAX bytes of the value v (c in every byte). */
AI void
F(set_small)(char *d, vec_t v, uint64_t c8, size_t n)
{
	if (n <= 16) {
		if (n >= 8) {
			F(st8)(d, c8);
			F(st8)(d + n - 8, c8);
		} else if (n >= 4) {
			F(st4)(d, (uint32_t)c8);
			F(st4)(d + n - 4, (uint32_t)c8);
		} else if (n >= 2) {
			F(st2)(d, (uint16_t)c8);
			F(st2)(d + n - 2, (uint16_t)c8);
		} else if (n == 1) {
			*d = (char)c8;
		}
		return;
	}
	__m128i x = _mm_set1_epi64x((long long)c8);
	if (n <= 32) {
		_mm_storeu_si128((__m128i *)d, x);
		_mm_storeu_si128((__m128i *)(d + n - 16), x);
		return;
	}
	if (n <= 64) {
#if HAVE_YMM
		__m256i y = _mm256_set1_epi64x((long long)c8);
		_mm256_storeu_si256((__m256i *)d, y);
		_mm256_storeu_si256((__m256i *)(d + n - 32), y);
#else
		_mm_storeu_si128((__m128i *)d, x);
		_mm_storeu_si128((__m128i *)(d + 16), x);
		_mm_storeu_si128((__m128i *)(d + n - 32), x);
		_mm_storeu_si128((__m128i *)(d + n - 16), x);
#endif
		return;
	}
	F(line_t) l;
	for (int i = 0; i < LINE_VECS; i++)
		l.v[i] = v;
	F(st_line_u)(d, l);
	F(st_line_u)(d + n - LINE, l);
	if (n > 128) {
		F(st_line_u)(d + LINE, l);
		F(st_line_u)(d + n - 2 * LINE, l);
	}
}

/* ---- the whole-line body ---- */

/*
 * Temporal stores, forward, [a, e) of the destination from src + (a - d0)
 * where both a and e are line aligned; written back in blocks of
 * T_FLUSH_BLOCK bytes right after each block is stored (stores first, then
 * their write-backs, which this CPU family prefers to interleaving).
 */
#ifndef T_FLUSH_BLOCK
#define T_FLUSH_BLOCK 1024
#endif

AI void
F(t_body_fwd)(int fk, char *a, char *e, const char *s)
{
	while (a < e) {
		char *be = (size_t)(e - a) > T_FLUSH_BLOCK ? a + T_FLUSH_BLOCK : e;
		char *p = a;
		for (; p + 4 * LINE <= be; p += 4 * LINE, s += 4 * LINE) {
			F(line_t) l0 = F(ld_line)(s);
			F(line_t) l1 = F(ld_line)(s + LINE);
			F(line_t) l2 = F(ld_line)(s + 2 * LINE);
			F(line_t) l3 = F(ld_line)(s + 3 * LINE);
			F(st_line_a)(p, l0);
			F(st_line_a)(p + LINE, l1);
			F(st_line_a)(p + 2 * LINE, l2);
			F(st_line_a)(p + 3 * LINE, l3);
		}
		for (; p < be; p += LINE, s += LINE)
			F(st_line_a)(p, F(ld_line)(s));
		if (fk != CPU_FLUSH_NONE)
			for (char *f = a; f < be; f += LINE)
				cpu_flush_line(fk, f);
		a = be;
	}
}

/* The same going down: [a, e) from src_end - (e - a) .. src_end. */
AI void
F(t_body_bwd)(int fk, char *a, char *e, const char *s_end)
{
	const char *s = s_end;
	while (e > a) {
		char *bb = (size_t)(e - a) > T_FLUSH_BLOCK ? e - T_FLUSH_BLOCK : a;
		char *p = e;
		while ((size_t)(p - bb) >= 4 * LINE) {
			p -= 4 * LINE;
			s -= 4 * LINE;
			F(line_t) l0 = F(ld_line)(s);
			F(line_t) l1 = F(ld_line)(s + LINE);
			F(line_t) l2 = F(ld_line)(s + 2 * LINE);
			F(line_t) l3 = F(ld_line)(s + 3 * LINE);
			F(st_line_a)(p + 3 * LINE, l3);
			F(st_line_a)(p + 2 * LINE, l2);
			F(st_line_a)(p + LINE, l1);
			F(st_line_a)(p, l0);
		}
		while (p > bb) {
			p -= LINE;
			s -= LINE;
			F(st_line_a)(p, F(ld_line)(s));
		}
		if (fk != CPU_FLUSH_NONE)
			for (char *f = bb; f < e; f += LINE)
				cpu_flush_line(fk, f);
		e = bb;
	}
}

/*
 * Which stores for a copy above SMALL_MAX: non-temporal when asked
 * (NONTEMPORAL or WC), temporal when asked (TEMPORAL or WB), else by size.
 * NOFLUSH copies stay temporal unless NT is asked for explicitly.
 */
AI int
F(want_nt)(unsigned flags, size_t n, size_t threshold)
{
	if (flags & (PMEM2_F_MEM_NONTEMPORAL | PMEM2_F_MEM_WC))
		return 1;
	if (flags & (PMEM2_F_MEM_TEMPORAL | PMEM2_F_MEM_WB | PMEM2_F_MEM_NOFLUSH))
		return 0;
	return n >= threshold;
}

/* The NT threshold for a copy of granularity gran. */
AI size_t
F(threshold)(int gran, int noflush)
{
	if (gran == G_RAW)
		return pmem2_movnt_threshold_page;
	return noflush ? pmem2_movnt_threshold_noflush : pmem2_movnt_threshold;
}

/*
 * Whether a copy of at most SMALL_MAX bytes takes non-temporal stores: only
 * where the CPU profile says so (pmem2_small_nt), for CACHE_LINE copies
 * that are written back; otherwise ordinary stores and write-backs.
 */
AI int
F(small_nt)(unsigned flags, size_t n, int gran, int fk)
{
	if (!pmem2_small_nt || gran != G_CL || fk == CPU_FLUSH_NONE ||
			(flags & PMEM2_F_MEM_NOFLUSH))
		return 0;
	return F(want_nt)(flags, n, pmem2_movnt_threshold);
}

/*
 * The end of a small non-temporal copy: the stores are weakly ordered, so
 * fence them unless NODRAIN leaves it to the caller's drain (which, with
 * clflush, the caller might skip: fence then too).
 */
AI void *
F(nt_small_fence)(void *dst, unsigned flags, int fk)
{
	if (!(flags & PMEM2_F_MEM_NODRAIN) || fk == CPU_FLUSH_CLFLUSH) {
		_mm_sfence();
		persist_note_fence();
	}
	return dst;
}

/*
 * Below a line, d and n multiples of 8: 8-byte non-temporal stores, every
 * load before every store (any overlap is fine).
 */
AI void
F(copy_nt8)(char *d, const char *s, size_t n)
{
	uint64_t v[LINE / 8];
	size_t k = n / 8;
	for (size_t i = 0; i < k; i++)
		v[i] = F(ld8)(s + 8 * i);
	for (size_t i = 0; i < k; i++)
		_mm_stream_si64((long long *)(d + 8 * i), (long long)v[i]);
}

/* Stores [d, d+k), k < LINE, from the first k bytes of line l. */
AI void
F(st_part_head)(char *d, F(line_t) l, size_t k)
{
#ifdef HAVE_MASK_STORE
	MASK_STORE(d, k, l.v[0]);
#else
	char buf[LINE] __attribute__((aligned(LINE)));
	F(st_line_a)(buf, l);
	F(copy_upto64)(d, buf, k);
#endif
}

/* Stores [d, d+k), k < LINE, from the last k bytes of line l. */
AI void
F(st_part_tail)(char *d, F(line_t) l, size_t k)
{
#ifdef HAVE_MASK_STORE
	MASK_STORE_HIGH(d + k - LINE, k, l.v[0]);
#else
	char buf[LINE] __attribute__((aligned(LINE)));
	F(st_line_a)(buf, l);
	F(copy_upto64)(d, buf + LINE - k, k);
#endif
}

/*
 * Whether the partial first and last lines of a non-temporal copy are
 * streamed too (8-byte stores): where the profile streams small pieces,
 * the copy is written back, and d and n are multiples of 8.
 */
AI int
F(nt_ends)(int nt, int fk, const char *d, size_t n)
{
	return nt && pmem2_small_nt && fk != CPU_FLUSH_NONE &&
		(((uintptr_t)d | n) & 7) == 0;
}

/* Streams bytes [off, off+k) of line l to d, k a multiple of 8. */
AI void
F(nt_part)(char *d, F(line_t) l, size_t off, size_t k)
{
	char buf[LINE] __attribute__((aligned(LINE)));
	F(st_line_a)(buf, l);
	for (size_t i = 0; i < k; i += 8)
		_mm_stream_si64((long long *)(d + i),
			(long long)F(ld8)(buf + off + i));
}

AI void
F(nt_fill8)(char *d, uint64_t c8, size_t k)
{
	for (size_t i = 0; i < k; i += 8)
		_mm_stream_si64((long long *)(d + i), (long long)c8);
}

/*
 * For the persistence checker: what a copy or fill of [d, d+n) with body
 * [a, e) did; efk is the write-back of the partial end lines.
 */
AI void
F(report)(char *d, size_t n, char *a, char *e, int nt, int ntends, int fk,
	int efk)
{
#ifdef PERSIST_CHECK
	size_t hk = (size_t)(a - d), tk = (size_t)(d + n - e);
	if (hk && ntends)
		persist_note_nt_store(d, hk);
	else if (hk)
		persist_note_store(d, hk);
	if (e > a && nt)
		persist_note_nt_store(a, (size_t)(e - a));
	else if (e > a)
		persist_note_store(a, (size_t)(e - a));
	if (tk && ntends)
		persist_note_nt_store(e, tk);
	else if (tk)
		persist_note_store(e, tk);
	/* the write-backs that ran: every line of a temporal body, the ends */
	if (efk != CPU_FLUSH_NONE) {
		if (hk)
			persist_note_flush(d, hk);
		if (tk)
			persist_note_flush(e, tk);
	}
	if (fk != CPU_FLUSH_NONE && !nt && e > a)
		persist_note_flush(a, (size_t)(e - a));
#else
	(void)d; (void)n; (void)a; (void)e; (void)nt; (void)ntends;
	(void)fk; (void)efk;
#endif
}

/*
 * The move: gran is G_CL (write back with fk and fence per flags), G_BYTE
 * (fence per flags) or G_RAW (copy only).
 */
AI void *
F(move)(void *dst, const void *src, size_t n, unsigned flags, int gran,
	int fk)
{
	char *d = dst;
	const char *s = src;

	if (n <= SMALL_MAX) {
		if (n == 0 || d == s)
			return dst;
		if (F(small_nt)(flags, n, gran, fk)) {
			if (n >= LINE)
				goto large;
			if ((((uintptr_t)d | n) & 7) == 0) {
				F(copy_nt8)(d, s, n);
				persist_note_nt_store(d, n);
				return F(nt_small_fence)(dst, flags, fk);
			}
		}
		F(copy_small)(d, s, n);
		persist_note_store(d, n);
		if (gran == G_RAW || (flags & PMEM2_F_MEM_NOFLUSH))
			return dst;
		if (gran == G_CL && fk != CPU_FLUSH_NONE) {
			cpu_flush_range(fk, d, n);
			persist_note_flush(d, n);
		}
		if (!(flags & PMEM2_F_MEM_NODRAIN)) {
			_mm_sfence();
			persist_note_fence();
		}
		return dst;
	}
	if (d == s)
		return dst;
large:;
	int noflush = gran != G_CL || (flags & PMEM2_F_MEM_NOFLUSH);
	int nt = F(want_nt)(flags, n, F(threshold)(gran, noflush));
	if (noflush)
		fk = CPU_FLUSH_NONE;
	if (gran == G_RAW && !nt) {
		/*
		 * PAGE: msync makes it durable, no store-size promise applies;
		 * libc's copy (rep movsb where fast) is the reference to beat.
		 */
		memmove(d, s, n);
		persist_note_store(d, n);
		return dst;
	}

	char *a = (char *)(((uintptr_t)d + LINE - 1) & ~(uintptr_t)(LINE - 1));
	char *e = (char *)(((uintptr_t)d + n) & ~(uintptr_t)(LINE - 1));
	size_t hk = (size_t)(a - d), tk = (size_t)(d + n - e);
	F(line_t) head = F(ld_line)(s);
	F(line_t) tail = F(ld_line)(s + n - LINE);
	const char *sa = s + hk;	/* source of a */

	if ((uintptr_t)d - (uintptr_t)s >= n) {
		if (nt)
			F(nt_copy_fwd)(a, e, sa);
		else
			F(t_body_fwd)(fk, a, e, sa);
	} else {
		if (nt)
			F(nt_copy_bwd)(a, e, sa + (e - a));
		else
			F(t_body_bwd)(fk, a, e, sa + (e - a));
	}
	int ntends = F(nt_ends)(nt, fk, d, n);
	if (ntends) {
		if (hk)
			F(nt_part)(d, head, 0, hk);
		if (tk)
			F(nt_part)(e, tail, LINE - tk, tk);
	} else {
		if (hk)
			F(st_part_head)(d, head, hk);
		if (tk)
			F(st_part_tail)(e, tail, tk);
	}
	int efk = ntends ? CPU_FLUSH_NONE : fk;	/* for the ends */
	if (efk != CPU_FLUSH_NONE) {
		if (hk)
			cpu_flush_line(efk, d);
		if (tk)
			cpu_flush_line(efk, e);
	}
	F(report)(d, n, a, e, nt, ntends, fk, efk);

	int drain = gran != G_RAW &&
		!(flags & (PMEM2_F_MEM_NODRAIN | PMEM2_F_MEM_NOFLUSH));
	/*
	 * Non-temporal stores are weakly ordered: fence them unless the drain
	 * below does, or a later drain will (clwb/clflushopt callers must
	 * drain anyway; with clflush, no flush or eADR they might not).
	 */
	if (drain || (nt && (fk == CPU_FLUSH_NONE || fk == CPU_FLUSH_CLFLUSH))) {
		_mm_sfence();
		persist_note_fence();
	}
	return dst;
}

/* ---- memset ---- */

AI void
F(t_fill)(int fk, char *a, char *e, vec_t v)
{
	F(line_t) l;
	for (int i = 0; i < LINE_VECS; i++)
		l.v[i] = v;
	while (a < e) {
		char *be = (size_t)(e - a) > T_FLUSH_BLOCK ? a + T_FLUSH_BLOCK : e;
		char *p = a;
		for (; p + 4 * LINE <= be; p += 4 * LINE) {
			F(st_line_a)(p, l);
			F(st_line_a)(p + LINE, l);
			F(st_line_a)(p + 2 * LINE, l);
			F(st_line_a)(p + 3 * LINE, l);
		}
		for (; p < be; p += LINE)
			F(st_line_a)(p, l);
		if (fk != CPU_FLUSH_NONE)
			for (char *f = a; f < be; f += LINE)
				cpu_flush_line(fk, f);
		a = be;
	}
}

AI void *
F(fill)(void *dst, int c, size_t n, unsigned flags, int gran, int fk)
{
	char *d = dst;
	uint64_t c8 = 0x0101010101010101ULL * (unsigned char)c;
	vec_t v = VSET1(c8);

	if (n <= SMALL_MAX) {
		if (n == 0)
			return dst;
		if (F(small_nt)(flags, n, gran, fk)) {
			if (n >= LINE)
				goto large;
			if ((((uintptr_t)d | n) & 7) == 0) {
				for (size_t i = 0; i < n; i += 8)
					_mm_stream_si64((long long *)(d + i),
						(long long)c8);
				persist_note_nt_store(d, n);
				return F(nt_small_fence)(dst, flags, fk);
			}
		}
		F(set_small)(d, v, c8, n);
		persist_note_store(d, n);
		if (gran == G_RAW || (flags & PMEM2_F_MEM_NOFLUSH))
			return dst;
		if (gran == G_CL && fk != CPU_FLUSH_NONE) {
			cpu_flush_range(fk, d, n);
			persist_note_flush(d, n);
		}
		if (!(flags & PMEM2_F_MEM_NODRAIN)) {
			_mm_sfence();
			persist_note_fence();
		}
		return dst;
	}
large:;
	int noflush = gran != G_CL || (flags & PMEM2_F_MEM_NOFLUSH);
	int nt = F(want_nt)(flags, n, F(threshold)(gran, noflush));
	if (noflush)
		fk = CPU_FLUSH_NONE;
	if (gran == G_RAW && !nt) {
		memset(d, c, n);
		persist_note_store(d, n);
		return dst;
	}

	char *a = (char *)(((uintptr_t)d + LINE - 1) & ~(uintptr_t)(LINE - 1));
	char *e = (char *)(((uintptr_t)d + n) & ~(uintptr_t)(LINE - 1));
	size_t hk = (size_t)(a - d), tk = (size_t)(d + n - e);

	int ntends = F(nt_ends)(nt, fk, d, n);
	int efk = ntends ? CPU_FLUSH_NONE : fk;	/* for the ends */
	if (hk) {
		if (ntends)
			F(nt_fill8)(d, c8, hk);
		else
			F(set_small)(d, v, c8, hk);
		if (efk != CPU_FLUSH_NONE)
			cpu_flush_line(efk, d);
	}
	if (nt)
		F(nt_fill)(a, e, v);
	else
		F(t_fill)(fk, a, e, v);
	if (tk) {
		if (ntends)
			F(nt_fill8)(e, c8, tk);
		else
			F(set_small)(e, v, c8, tk);
		if (efk != CPU_FLUSH_NONE)
			cpu_flush_line(efk, e);
	}
	F(report)(d, n, a, e, nt, ntends, fk, efk);

	int drain = gran != G_RAW &&
		!(flags & (PMEM2_F_MEM_NODRAIN | PMEM2_F_MEM_NOFLUSH));
	if (drain || (nt && (fk == CPU_FLUSH_NONE || fk == CPU_FLUSH_CLFLUSH))) {
		_mm_sfence();
		persist_note_fence();
	}
	return dst;
}

/* ---- the instantiations: one function per granularity and flush kind ---- */

#define INST_CL(kname, kind) \
static void * \
F(memmove_cl_##kname)(void *d, const void *s, size_t n, unsigned flags) \
{ \
	return F(move)(d, s, n, flags, G_CL, kind); \
} \
static void * \
F(memset_cl_##kname)(void *d, int c, size_t n, unsigned flags) \
{ \
	return F(fill)(d, c, n, flags, G_CL, kind); \
}

INST_CL(none, CPU_FLUSH_NONE)
INST_CL(clflush, CPU_FLUSH_CLFLUSH)
INST_CL(clflushopt, CPU_FLUSH_CLFLUSHOPT)
INST_CL(clwb, CPU_FLUSH_CLWB)

static void *
F(memmove_byte)(void *d, const void *s, size_t n, unsigned flags)
{
	return F(move)(d, s, n, flags, G_BYTE, CPU_FLUSH_NONE);
}

static void *
F(memset_byte)(void *d, int c, size_t n, unsigned flags)
{
	return F(fill)(d, c, n, flags, G_BYTE, CPU_FLUSH_NONE);
}

static void *
F(memmove_raw)(void *d, const void *s, size_t n, unsigned flags)
{
	return F(move)(d, s, n, flags, G_RAW, CPU_FLUSH_NONE);
}

static void *
F(memset_raw)(void *d, int c, size_t n, unsigned flags)
{
	return F(fill)(d, c, n, flags, G_RAW, CPU_FLUSH_NONE);
}

const struct memops_isa F(pmem2_isa) = {
	.name = ISA_NAME,
	.cl_memmove = {
		[CPU_FLUSH_NONE] = F(memmove_cl_none),
		[CPU_FLUSH_CLFLUSH] = F(memmove_cl_clflush),
		[CPU_FLUSH_CLFLUSHOPT] = F(memmove_cl_clflushopt),
		[CPU_FLUSH_CLWB] = F(memmove_cl_clwb),
	},
	.cl_memset = {
		[CPU_FLUSH_NONE] = F(memset_cl_none),
		[CPU_FLUSH_CLFLUSH] = F(memset_cl_clflush),
		[CPU_FLUSH_CLFLUSHOPT] = F(memset_cl_clflushopt),
		[CPU_FLUSH_CLWB] = F(memset_cl_clwb),
	},
	.byte_memmove = F(memmove_byte),
	.byte_memset = F(memset_byte),
	.raw_memmove = F(memmove_raw),
	.raw_memset = F(memset_raw),
};

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
