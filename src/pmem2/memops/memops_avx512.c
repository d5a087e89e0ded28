/* SPDX-License-Identifier: BSD-3-Clause */
/* memops_avx512.c -- the x86 memory functions built for avx512 (see memops_x86.h). */
#include <immintrin.h>

#define ISA avx512
#define TARGET_STR "avx512f,avx512bw"
#define ISA_NAME "avx512"
#define LINE_VECS 1
typedef __m512i vec_t;
#define VLOADU(p) _mm512_loadu_si512((const void *)(p))
#define VSTOREU(p, v) _mm512_storeu_si512((void *)(p), (v))
#define VSTOREA(p, v) _mm512_store_si512((void *)(p), (v))
#define VSTREAM(p, v) _mm512_stream_si512((void *)(p), (v))
#define VSET1(c8) _mm512_set1_epi64((long long)(c8))
#define SMALL_MAX 256
#define HAVE_YMM 1
#define WC_BARRIER 0
/* AVX512BW byte-masked stores for the partial head and tail lines */
#define HAVE_MASK_STORE 1
#define MASK_STORE(d, k, v) \
	_mm512_mask_storeu_epi8((void *)(d), (__mmask64)((1ULL << (k)) - 1), (v))
#define MASK_STORE_HIGH(d, k, v) \
	_mm512_mask_storeu_epi8((void *)(d), (__mmask64)(~0ULL << (64 - (k))), (v))
#include "memops_x86.h"
