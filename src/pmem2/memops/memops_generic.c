/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memops_generic.c -- the portable variants: plain C with 8-byte stores
 * (used when PMEM_NO_MOVNT=1 or on CPUs without SSE2), and libc's
 * memmove/memset followed by a write-back (PMEM_NO_GENERIC_MEMCPY).
 */
#include <stdint.h>
#include <string.h>

#include "memops_impl.h"
#include "common/check_hooks.h"

/*
 * An 8-byte store the compiler must not split or merge into byte stores;
 * aligned 8-byte stores are single-copy atomic.
 */
static inline void
st8(void *d, uint64_t v)
{
	__atomic_store_n((uint64_t *)d, v, __ATOMIC_RELAXED);
}

static inline uint64_t
ld8(const void *s)
{
	uint64_t v;
	memcpy(&v, s, sizeof(v));
	return v;
}

/*
 * Forward copy: bytes until the destination is 8-byte aligned, then words,
 * then the remaining bytes. Safe for overlap when d < s.
 */
static void
copy_fwd(unsigned char *d, const unsigned char *s, size_t n)
{
	while (n > 0 && ((uintptr_t)d & 7) != 0) {
		*(volatile unsigned char *)d++ = *s++;
		n--;
	}
	while (n >= 8) {
		st8(d, ld8(s));
		d += 8;
		s += 8;
		n -= 8;
	}
	while (n > 0) {
		*(volatile unsigned char *)d++ = *s++;
		n--;
	}
}

/* Backward copy, the mirror image; safe for overlap when d > s. */
static void
copy_bwd(unsigned char *d, const unsigned char *s, size_t n)
{
	d += n;
	s += n;
	while (n > 0 && ((uintptr_t)d & 7) != 0) {
		*(volatile unsigned char *)--d = *--s;
		n--;
	}
	while (n >= 8) {
		d -= 8;
		s -= 8;
		st8(d, ld8(s));
		n -= 8;
	}
	while (n > 0) {
		*(volatile unsigned char *)--d = *--s;
		n--;
	}
}

static void
gen_move(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if ((uintptr_t)d - (uintptr_t)s >= n)
		copy_fwd(d, s, n);
	else
		copy_bwd(d, s, n);
}

static void
gen_fill(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	uint64_t v = 0x0101010101010101ULL * (unsigned char)c;
	while (n > 0 && ((uintptr_t)d & 7) != 0) {
		*(volatile unsigned char *)d++ = (unsigned char)c;
		n--;
	}
	while (n >= 8) {
		st8(d, v);
		d += 8;
		n -= 8;
	}
	while (n > 0) {
		*(volatile unsigned char *)d++ = (unsigned char)c;
		n--;
	}
}

/* Write back and fence as flags ask, after the bytes were stored. */
static inline void
finish(void *d, size_t n, unsigned flags, int flush)
{
	persist_note_store(d, n);
	if (flags & PMEM2_F_MEM_NOFLUSH)
		return;
	if (flush) {
		cpu_flush_range(pmem2_flush_kind, d, n);
		persist_note_flush(d, n);
	}
	if (!(flags & PMEM2_F_MEM_NODRAIN)) {
		cpu_sfence();
		persist_note_fence();
	}
}

static void *
gen_memmove_cl(void *d, const void *s, size_t n, unsigned flags)
{
	if (n == 0 || d == s)
		return d;
	gen_move(d, s, n);
	finish(d, n, flags, 1);
	return d;
}

static void *
gen_memset_cl(void *d, int c, size_t n, unsigned flags)
{
	if (n == 0)
		return d;
	gen_fill(d, c, n);
	finish(d, n, flags, 1);
	return d;
}

static void *
gen_memmove_byte(void *d, const void *s, size_t n, unsigned flags)
{
	if (n == 0 || d == s)
		return d;
	gen_move(d, s, n);
	finish(d, n, flags, 0);
	return d;
}

static void *
gen_memset_byte(void *d, int c, size_t n, unsigned flags)
{
	if (n == 0)
		return d;
	gen_fill(d, c, n);
	finish(d, n, flags, 0);
	return d;
}

static void *
gen_memmove_raw(void *d, const void *s, size_t n, unsigned flags)
{
	(void)flags;
	if (n == 0 || d == s)
		return d;
	gen_move(d, s, n);
	persist_note_store(d, n);
	return d;
}

static void *
gen_memset_raw(void *d, int c, size_t n, unsigned flags)
{
	(void)flags;
	if (n == 0)
		return d;
	gen_fill(d, c, n);
	persist_note_store(d, n);
	return d;
}

const struct memops_isa pmem2_isa_generic = {
	.name = "generic",
	.cl_memmove = { gen_memmove_cl, gen_memmove_cl, gen_memmove_cl,
		gen_memmove_cl },
	.cl_memset = { gen_memset_cl, gen_memset_cl, gen_memset_cl,
		gen_memset_cl },
	.byte_memmove = gen_memmove_byte,
	.byte_memset = gen_memset_byte,
	.raw_memmove = gen_memmove_raw,
	.raw_memset = gen_memset_raw,
};

/* ---- libc + write-back ---- */

static void *
libc_memmove_cl(void *d, const void *s, size_t n, unsigned flags)
{
	if (n == 0 || d == s)
		return d;
	memmove(d, s, n);
	finish(d, n, flags, 1);
	return d;
}

static void *
libc_memset_cl(void *d, int c, size_t n, unsigned flags)
{
	if (n == 0)
		return d;
	memset(d, c, n);
	finish(d, n, flags, 1);
	return d;
}

static void *
libc_memmove_byte(void *d, const void *s, size_t n, unsigned flags)
{
	if (n == 0 || d == s)
		return d;
	memmove(d, s, n);
	finish(d, n, flags, 0);
	return d;
}

static void *
libc_memset_byte(void *d, int c, size_t n, unsigned flags)
{
	if (n == 0)
		return d;
	memset(d, c, n);
	finish(d, n, flags, 0);
	return d;
}

static void *
libc_memmove_raw(void *d, const void *s, size_t n, unsigned flags)
{
	(void)flags;
	if (n == 0 || d == s)
		return d;
	memmove(d, s, n);
	persist_note_store(d, n);
	return d;
}

static void *
libc_memset_raw(void *d, int c, size_t n, unsigned flags)
{
	(void)flags;
	if (n == 0)
		return d;
	memset(d, c, n);
	persist_note_store(d, n);
	return d;
}

const struct memops_isa pmem2_isa_libc = {
	.name = "libc",
	.cl_memmove = { libc_memmove_cl, libc_memmove_cl, libc_memmove_cl,
		libc_memmove_cl },
	.cl_memset = { libc_memset_cl, libc_memset_cl, libc_memset_cl,
		libc_memset_cl },
	.byte_memmove = libc_memmove_byte,
	.byte_memset = libc_memset_byte,
	.raw_memmove = libc_memmove_raw,
	.raw_memset = libc_memset_raw,
};
