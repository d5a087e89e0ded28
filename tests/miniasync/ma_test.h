/* SPDX-License-Identifier: BSD-3-Clause */
/* ma_test.h -- small helpers shared by the libminiasync tests. */
#ifndef MA_TEST_H
#define MA_TEST_H 1

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include <libminiasync.h>

/* PMEM2_TEST_QUICK=1 (sanitizers, valgrind): fewer iterations. */
static inline int
ma_quick(void)
{
	const char *q = getenv("PMEM2_TEST_QUICK");
	return q != NULL && *q != '\0' && strcmp(q, "0") != 0;
}

static inline uint64_t
ma_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static inline void
ma_fill(void *p, size_t n, uint64_t seed)
{
	unsigned char *b = p;
	uint64_t s = seed * 2654435761u + 88172645463325252ull;
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(ma_rand(&s) >> 24);
}

static inline void *
ma_alloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		FAIL("out of memory (%zu)", n);
	return p;
}

#endif /* MA_TEST_H */
