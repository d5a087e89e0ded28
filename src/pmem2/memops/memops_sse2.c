/* SPDX-License-Identifier: BSD-3-Clause */
/* memops_sse2.c -- the x86 memory functions built for sse2 (see memops_x86.h). */
#include <immintrin.h>

#define ISA sse2
#define TARGET_STR "sse2"
#define ISA_NAME "sse2"
#define LINE_VECS 4
typedef __m128i vec_t;
#define VLOADU(p) _mm_loadu_si128((const __m128i *)(p))
#define VSTOREU(p, v) _mm_storeu_si128((__m128i *)(p), (v))
#define VSTOREA(p, v) _mm_store_si128((__m128i *)(p), (v))
#define VSTREAM(p, v) _mm_stream_si128((__m128i *)(p), (v))
#define VSET1(c8) _mm_set1_epi64x((long long)(c8))
#define SMALL_MAX 128
#define HAVE_YMM 0
#define WC_BARRIER 1
#include "memops_x86.h"
