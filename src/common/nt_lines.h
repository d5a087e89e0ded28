/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nt_lines.h -- the non-temporal (streaming) loops over whole cache lines,
 * written once for every user: libpmem2's memory functions
 * (memops_x86.h), the engine that libminiasync's threads mover and the
 * benchmarks use (nt_stream.c). A template: no include guard, included
 * once per instruction set, inside that set's target pragma. The includer
 * defines:
 *
 *   F(name)	the name with the instruction-set suffix
 *   vec_t, LINE_VECS	the vector type and how many make a 64-byte line
 *   VLOADU(p), VSTREAM(p, v)	unaligned load, non-temporal store
 *   NT_WC_FENCE	an expression: fence every 12 lines so that partly
 *		filled write-combining buffers are not evicted early (Intel,
 *		several stores per line); 0 where not wanted
 *   NT_LINE_COPY(d, s)	optional: one line in one instruction (MOVDIR64B)
 *
 * The destination range [a, e) is line aligned; the source need not be.
 * Every 4-line step loads its 4 source lines before storing any, so the
 * forward loop is safe for d < s and the backward one for d > s. Nothing
 * here fences at the end: non-temporal stores are weakly ordered, the
 * caller fences before it says the bytes are there.
 */
#include <immintrin.h>
#include <stddef.h>

#ifndef NT_AI
#define NT_AI static inline __attribute__((always_inline))
#define NT_LINE 64
/* how far ahead of the loads the source is prefetched */
#define NT_PREFETCH 1024
#endif

typedef struct {
	vec_t v[LINE_VECS];
} F(line_t);

NT_AI F(line_t)
F(ld_line)(const char *s)
{
	F(line_t) l;
	for (int i = 0; i < LINE_VECS; i++)
		l.v[i] = VLOADU(s + i * (NT_LINE / LINE_VECS));
	return l;
}

NT_AI void
F(nt_line)(char *d, F(line_t) l)
{
	for (int i = 0; i < LINE_VECS; i++)
		VSTREAM(d + i * (NT_LINE / LINE_VECS), l.v[i]);
}

#ifdef NT_LINE_COPY
#define NT_COPY1(p, s) NT_LINE_COPY((p), (s))
#define NT_COPY4(p, s) do { \
	NT_LINE_COPY((p), (s)); \
	NT_LINE_COPY((p) + NT_LINE, (s) + NT_LINE); \
	NT_LINE_COPY((p) + 2 * NT_LINE, (s) + 2 * NT_LINE); \
	NT_LINE_COPY((p) + 3 * NT_LINE, (s) + 3 * NT_LINE); \
} while (0)
/* one instruction per line: going down, the highest line first */
#define NT_COPY4_BWD(p, s) do { \
	NT_LINE_COPY((p) + 3 * NT_LINE, (s) + 3 * NT_LINE); \
	NT_LINE_COPY((p) + 2 * NT_LINE, (s) + 2 * NT_LINE); \
	NT_LINE_COPY((p) + NT_LINE, (s) + NT_LINE); \
	NT_LINE_COPY((p), (s)); \
} while (0)
#else
#define NT_COPY1(p, s) F(nt_line)((p), F(ld_line)(s))
#define NT_COPY4(p, s) do { \
	F(line_t) l0_ = F(ld_line)(s); \
	F(line_t) l1_ = F(ld_line)((s) + NT_LINE); \
	F(line_t) l2_ = F(ld_line)((s) + 2 * NT_LINE); \
	F(line_t) l3_ = F(ld_line)((s) + 3 * NT_LINE); \
	F(nt_line)((p), l0_); \
	F(nt_line)((p) + NT_LINE, l1_); \
	F(nt_line)((p) + 2 * NT_LINE, l2_); \
	F(nt_line)((p) + 3 * NT_LINE, l3_); \
} while (0)
#define NT_COPY4_BWD NT_COPY4
#endif

/*
 * Forward: [a, e) from s. The source is prefetched NT_PREFETCH bytes ahead
 * (a prefetch never faults, so running past its end is harmless).
 */
NT_AI void
F(nt_copy_fwd)(char *a, char *e, const char *s)
{
	char *p = a;
	int wc = NT_WC_FENCE;
	unsigned k = 0;
	for (; p + 4 * NT_LINE <= e; p += 4 * NT_LINE, s += 4 * NT_LINE) {
		_mm_prefetch(s + NT_PREFETCH, _MM_HINT_T0);
		_mm_prefetch(s + NT_PREFETCH + NT_LINE, _MM_HINT_T0);
		_mm_prefetch(s + NT_PREFETCH + 2 * NT_LINE, _MM_HINT_T0);
		_mm_prefetch(s + NT_PREFETCH + 3 * NT_LINE, _MM_HINT_T0);
		NT_COPY4(p, s);
		if (wc && ++k == 3) {
			_mm_sfence();
			k = 0;
		}
	}
	for (; p < e; p += NT_LINE, s += NT_LINE)
		NT_COPY1(p, s);
}

/* Backward: [a, e) from the source that ends at s_end. */
NT_AI void
F(nt_copy_bwd)(char *a, char *e, const char *s_end)
{
	char *p = e;
	const char *s = s_end;
	int wc = NT_WC_FENCE;
	unsigned k = 0;
	while ((size_t)(p - a) >= 4 * NT_LINE) {
		p -= 4 * NT_LINE;
		s -= 4 * NT_LINE;
		_mm_prefetch(s - NT_PREFETCH, _MM_HINT_T0);
		_mm_prefetch(s - NT_PREFETCH + NT_LINE, _MM_HINT_T0);
		_mm_prefetch(s - NT_PREFETCH + 2 * NT_LINE, _MM_HINT_T0);
		_mm_prefetch(s - NT_PREFETCH + 3 * NT_LINE, _MM_HINT_T0);
		NT_COPY4_BWD(p, s);
		if (wc && ++k == 3) {
			_mm_sfence();
			k = 0;
		}
	}
	while (p > a) {
		p -= NT_LINE;
		s -= NT_LINE;
		NT_COPY1(p, s);
	}
}

/* [a, e) filled with the vector v. */
NT_AI void
F(nt_fill)(char *a, char *e, vec_t v)
{
	F(line_t) l;
	for (int i = 0; i < LINE_VECS; i++)
		l.v[i] = v;
	int wc = NT_WC_FENCE;
	unsigned k = 0;
	char *p = a;
	for (; p + 4 * NT_LINE <= e; p += 4 * NT_LINE) {
		F(nt_line)(p, l);
		F(nt_line)(p + NT_LINE, l);
		F(nt_line)(p + 2 * NT_LINE, l);
		F(nt_line)(p + 3 * NT_LINE, l);
		if (wc && ++k == 3) {
			_mm_sfence();
			k = 0;
		}
	}
	for (; p < e; p += NT_LINE)
		F(nt_line)(p, l);
}

#undef NT_COPY1
#undef NT_COPY4
#undef NT_COPY4_BWD
