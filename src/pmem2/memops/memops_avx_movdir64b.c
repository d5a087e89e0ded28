/* SPDX-License-Identifier: BSD-3-Clause */
/* memops_avx_movdir64b.c -- the x86 memory functions built for avx+movdir64b (see memops_x86.h). */
#include <immintrin.h>

#define ISA avx_md
#define TARGET_STR "avx,movdir64b"
#define ISA_NAME "avx+movdir64b"
#define LINE_VECS 2
typedef __m256i vec_t;
#define VLOADU(p) _mm256_loadu_si256((const __m256i *)(p))
#define VSTOREU(p, v) _mm256_storeu_si256((__m256i *)(p), (v))
#define VSTOREA(p, v) _mm256_store_si256((__m256i *)(p), (v))
#define VSTREAM(p, v) _mm256_stream_si256((__m256i *)(p), (v))
#define VSET1(c8) _mm256_set1_epi64x((long long)(c8))
#define SMALL_MAX 256
#define HAVE_YMM 1
#define WC_BARRIER 1
#define NT_LINE_COPY(d, s) _movdir64b((d), (s))
#include "memops_x86.h"
