/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memops_guard.c -- every instruction-set variant of the memory functions
 * (whatever the environment would pick: each table is called directly),
 * every flush kind the CPU has, BYTE and raw (PAGE) flavours, and the
 * streaming engine of libminiasync's threads mover (nt_stream.c), against
 * areas that end or start right at a PROT_NONE page: an over-read or
 * over-write of a loop faults. Lengths 0..4 KiB and past, destination and
 * source offsets from the page edge rotating through 0..63, overlapping
 * moves both ways; each result byte for byte against libc, with 64 bytes
 * around it that must stay as they were. Run twice: with the profile's
 * thresholds, and with every copy made non-temporal. PMEM2_TEST_QUICK=1
 * (sanitizer runs) takes about every 5th length.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <libpmem2.h>

#include "test.h"
#include "helpers.h"
#include "memops_impl.h"

/* libminiasync's copy of the engine (common/nt_stream.h, its prefix) */
void miniasync_nt_stream_copy(void *dst, const void *src, size_t n, int wb);
void miniasync_nt_stream_fill(void *dst, int c, size_t n, int wb);
typedef void (*nt_copy_lines_fn)(char *dst, const char *src, size_t nlines);
nt_copy_lines_fn miniasync_nt_lines_find(const char *name);

#define PG 4096
#define AREA (3 * PG)	/* between two guard pages */
#define MAXN (PG + 80)

struct area {
	unsigned char *lo;	/* first byte after the leading guard */
	unsigned char *hi;	/* the trailing guard */
	unsigned char *ref;	/* what lo..hi must hold */
};

static struct area A, B;	/* destination (and overlap) area, source area */

static void
area_new(struct area *a)
{
	a->lo = test_guarded(AREA);
	a->hi = a->lo + AREA;
	a->ref = malloc(AREA);
	CHECK(a->ref != NULL);
	unsigned x = (unsigned)(uintptr_t)a * 2654435761u;
	for (size_t i = 0; i < AREA; i++) {
		x = x * 1103515245u + 12345u;
		a->lo[i] = a->ref[i] = (unsigned char)(x >> 16);
	}
}

static const char *What;
static unsigned Flags;

/* [d, d+n) of A must match ref, and 64 bytes either side too */
static void
verify(const unsigned char *d, size_t n, const char *op)
{
	size_t off = (size_t)(d - A.lo);
	size_t lo = off > 64 ? off - 64 : 0;
	size_t hi = off + n + 64 < AREA ? off + n + 64 : AREA;
	for (size_t i = lo; i < hi; i++)
		if (A.lo[i] != A.ref[i])
			FAIL("%s %s n=%zu dst at +%zu (%zu before the guard) "
				"flags %#x: byte %zd from dst differs: %#x != %#x",
				What, op, n, off, AREA - off - n, Flags,
				(ssize_t)(i - off), A.lo[i], A.ref[i]);
}

typedef void *(*move_fn)(void *, const void *, size_t, unsigned);
typedef void *(*set_fn)(void *, int, size_t, unsigned);

static void
do_move(move_fn mv, unsigned char *d, const unsigned char *s, size_t n,
	const char *op)
{
	/* the reference: libc on ref, s mapped into ref when inside A */
	const unsigned char *rs = (s >= A.lo && s < A.hi) ?
		A.ref + (s - A.lo) : B.ref + (s - B.lo);
	memmove(A.ref + (d - A.lo), rs, n);
	void *r = mv(d, s, n, Flags);
	if (r != d)
		FAIL("%s %s returned %p, not dst %p", What, op, r, (void *)d);
	verify(d, n, op);
}

static void
do_set(set_fn st, unsigned char *d, int c, size_t n, const char *op)
{
	memset(A.ref + (d - A.lo), c, n);
	void *r = st(d, c, n, Flags);
	if (r != d)
		FAIL("%s %s returned %p, not dst %p", What, op, r, (void *)d);
	verify(d, n, op);
}

static const unsigned Flag_set[] = {
	0, PMEM2_F_MEM_NONTEMPORAL, PMEM2_F_MEM_TEMPORAL, PMEM2_F_MEM_NODRAIN,
	PMEM2_F_MEM_NOFLUSH, PMEM2_F_MEM_WC, PMEM2_F_MEM_WB,
	PMEM2_F_MEM_NONTEMPORAL | PMEM2_F_MEM_NODRAIN,
};
#define NFLAGS (sizeof(Flag_set) / sizeof(Flag_set[0]))

static int Quick;

static int
next_len(int n)
{
	if (Quick)
		return n + (n % 64 >= 62 || n % 64 <= 1 ? 1 : 5);
	/* every length to 1 KiB and around each line edge after it */
	if (n < 1024 || n % 64 >= 62 || n % 64 <= 1)
		return n + 1;
	if (n >= MAXN)
		return n + 1;
	return n % 64 < 32 ? n + 3 : n + 5;
}

static void
sweep(const char *name, move_fn mv, set_fn st)
{
	What = name;
	unsigned r = 0;
	for (int ni = 0; ni <= MAXN; ni = next_len(ni)) {
		size_t n = (size_t)ni;
		r++;
		Flags = Flag_set[r % NFLAGS];
		size_t k = (r * 7) % 64, j = (r * 13) % 64;
		if (mv != NULL) {
			/* both end at their guard page, or k/j bytes before */
			do_move(mv, A.hi - n - k, B.hi - n - j, n, "copy to end");
			/* both start at their leading guard page */
			do_move(mv, A.lo + k, B.lo + j, n, "copy at start");
			/* overlapping, the source ending at the guard */
			size_t delta = 1 + (r * 29) % 200;
			if (n + delta + k <= AREA) {
				unsigned char *s = A.hi - n - k;
				do_move(mv, s - delta, s, n, "move down");
				s = A.lo + k;
				do_move(mv, s + delta, s, n, "move up");
			}
		}
		if (st != NULL) {
			do_set(st, A.hi - n - k, (int)(r & 0xff), n, "fill to end");
			do_set(st, A.lo + j, (int)(~r & 0xff), n, "fill at start");
		}
	}
}

/* the engine copies forward only, without flags */
static int Wb;
static void *
stream_copy(void *d, const void *s, size_t n, unsigned flags)
{
	(void)flags;
	if (s >= (void *)A.lo && s < (void *)A.hi)
		return d;	/* no overlap allowed: skip the moves */
	miniasync_nt_stream_copy(d, s, n, Wb);
	__asm__ volatile("sfence" ::: "memory");
	return d;
}

static void *
stream_fill(void *d, int c, size_t n, unsigned flags)
{
	(void)flags;
	miniasync_nt_stream_fill(d, c, n, Wb);
	__asm__ volatile("sfence" ::: "memory");
	return d;
}

/* stream_copy skips overlapping moves: keep the reference equal */
static void *
stream_copy_checked(void *d, const void *s, size_t n, unsigned flags)
{
	if (s >= (void *)A.lo && s < (void *)A.hi) {
		/* undo the reference's move by doing it here with libc */
		memmove(d, s, n);
		return d;
	}
	return stream_copy(d, s, n, flags);
}

/* one named bare line loop, dst and n whole lines */
static nt_copy_lines_fn Lines;
static void *
lines_copy(void *d, const void *s, size_t n, unsigned flags)
{
	(void)flags;
	if ((s >= (void *)A.lo && s < (void *)A.hi) || ((uintptr_t)d & 63) ||
			(n & 63)) {
		memmove(d, s, n);	/* not what the loop takes */
		return d;
	}
	Lines(d, s, n / 64);
	__asm__ volatile("sfence" ::: "memory");
	return d;
}

static void
run_all(const char *setting)
{
	const struct memops_isa *isas[16];
	int ni = 0;
	isas[ni++] = &pmem2_isa_generic;
	isas[ni++] = &pmem2_isa_libc;
#if defined(__x86_64__)
	const struct cpu_features *f = pmem2_cpu_features();
	if (f->sse2) {
		isas[ni++] = &pmem2_isa_sse2;
		if (f->movdir64b)
			isas[ni++] = &pmem2_isa_sse2_md;
	}
	if (f->avx) {
		isas[ni++] = &pmem2_isa_avx;
		if (f->movdir64b)
			isas[ni++] = &pmem2_isa_avx_md;
	}
	if (f->avx512f && f->avx512bw) {
		isas[ni++] = &pmem2_isa_avx512;
		if (f->movdir64b)
			isas[ni++] = &pmem2_isa_avx512_md;
	}
	int kinds[4], nk = 0;
	kinds[nk++] = CPU_FLUSH_NONE;
	if (f->clflush)
		kinds[nk++] = CPU_FLUSH_CLFLUSH;
	if (f->clflushopt)
		kinds[nk++] = CPU_FLUSH_CLFLUSHOPT;
	if (f->clwb)
		kinds[nk++] = CPU_FLUSH_CLWB;
#else
	int kinds[1] = { CPU_FLUSH_NONE }, nk = 1;
#endif
	char name[128];
	for (int i = 0; i < ni; i++) {
		const struct memops_isa *m = isas[i];
		for (int k = 0; k < nk; k++) {
			snprintf(name, sizeof(name), "%s %s/cl-%s", setting,
				m->name, pmem2_cpu_flush_kind_name(kinds[k]));
			sweep(name, m->cl_memmove[kinds[k]],
				m->cl_memset[kinds[k]]);
		}
		snprintf(name, sizeof(name), "%s %s/byte", setting, m->name);
		sweep(name, m->byte_memmove, m->byte_memset);
		snprintf(name, sizeof(name), "%s %s/raw", setting, m->name);
		sweep(name, m->raw_memmove, m->raw_memset);
	}
}

int
main(void)
{
	const char *q = getenv("PMEM2_TEST_QUICK");
	Quick = q != NULL && *q != '\0' && strcmp(q, "0") != 0;
	area_new(&A);
	area_new(&B);

	run_all("profile");
	/* every copy and fill above a line non-temporal */
	pmem2_movnt_threshold = 0;
	pmem2_movnt_threshold_noflush = 0;
	pmem2_movnt_threshold_page = 0;
	pmem2_small_nt = 1;
	run_all("all-nt");
	pmem2_wc_workaround = !pmem2_wc_workaround;
	run_all("all-nt-wc-flipped");

	for (Wb = 0; Wb <= 1; Wb++) {
		char name[64];
		snprintf(name, sizeof(name), "nt_stream wb=%d", Wb);
		sweep(name, stream_copy_checked, stream_fill);
	}
	static const char *const sets[] = { "avx512", "avx2", "sse2" };
	for (unsigned i = 0; i < 3; i++) {
		Lines = miniasync_nt_lines_find(sets[i]);
		if (Lines == NULL)
			continue;
		char name[64];
		snprintf(name, sizeof(name), "nt_lines %s", sets[i]);
		sweep(name, lines_copy, NULL);
	}
	printf("memops_guard: every variant, flush kind and the streaming "
		"engine stay inside their areas\n");
	return 0;
}
