/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_input.h -- reading a fuzzer's input as a stream of small decisions.
 * An exhausted input reads as zeros, so every prefix is a valid recipe.
 */
#ifndef PMEM2_FUZZ_INPUT_H
#define PMEM2_FUZZ_INPUT_H 1

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline int
fz_more(const struct fz *f)
{
	return f->n > 0;
}

static inline uint8_t
fz_u8(struct fz *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->p++;
}

static inline uint16_t
fz_u16(struct fz *f)
{
	return (uint16_t)(fz_u8(f) | (uint16_t)fz_u8(f) << 8);
}

static inline uint32_t
fz_u32(struct fz *f)
{
	return (uint32_t)fz_u16(f) | (uint32_t)fz_u16(f) << 16;
}

static inline uint64_t
fz_u64(struct fz *f)
{
	return (uint64_t)fz_u32(f) | (uint64_t)fz_u32(f) << 32;
}

/*
 * A size: mostly small page multiples and their neighbours, sometimes an
 * edge value, sometimes raw 64 bits.
 */
static inline size_t
fz_size(struct fz *f, size_t page)
{
	static const size_t edges[] = { 0, 1, 63, 64, 4095, 4096, 4097,
		8192, 1u << 20, 2u << 20, (2u << 20) + 4096, 1ULL << 30,
		1ULL << 40, (size_t)INT64_MAX, (size_t)INT64_MAX + 1,
		SIZE_MAX - 4095, SIZE_MAX };
	uint8_t k = fz_u8(f);
	switch (k & 3) {
	case 0:
	case 1: {
		size_t v = (size_t)(fz_u8(f) % 64) * page;
		uint8_t adj = fz_u8(f) % 8;
		if (adj == 1)
			v += 1;
		else if (adj == 2 && v)
			v -= 1;
		else if (adj == 3)
			v += 64;
		return v;
	}
	case 2:
		return edges[(k >> 2) % (sizeof(edges) / sizeof(edges[0]))];
	default:
		return (size_t)fz_u64(f);
	}
}

#define FZ_CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz check failed: %s: ", #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fprintf(stderr, "\n"); \
		abort(); \
	} \
} while (0)

#endif /* PMEM2_FUZZ_INPUT_H */
