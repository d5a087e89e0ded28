/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * miniasync_split.c -- the threads mover cuts a large operation into fixed-size
 * parts that its workers take as they come:
 *  - the parts a replacement memcpy sees tile the copy exactly, none
 *    larger than the part size, the inner ones on multiples of it in the
 *    destination, however many workers the mover has;
 *  - both workers take parts of one copy;
 *  - a worker stalled inside its part holds back nothing else: the other
 *    one does every remaining part;
 *  - every kind of operation (copy, move, fill, write-back), plain and
 *    durable, with many parts and odd sizes and offsets, is byte-exact,
 *    and so is one 64 MiB copy with the default part size;
 *  - a ring with fewer slots than workers still completes split work.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include <libminiasync.h>
#include "helpers.h"

#define PART 4096

static struct data_mover_threads *
mover(size_t nthreads, size_t ring, const char *part)
{
	setenv("MINIASYNC_THREADS_SPLIT_MIN", "8192", 1);
	if (part != NULL)
		setenv("MINIASYNC_THREADS_PART_SIZE", part, 1);
	struct data_mover_threads *d = data_mover_threads_new(nthreads, ring,
		FUTURE_NOTIFIER_WAKER);
	CHECK(d != NULL);
	unsetenv("MINIASYNC_THREADS_SPLIT_MIN");
	unsetenv("MINIASYNC_THREADS_PART_SIZE");
	return d;
}

/* ---- a replacement memcpy that records the parts it is given ---- */

#define MAXCALLS 4096

struct call {
	uintptr_t dest;
	size_t n;
	pthread_t who;
};

static struct call Calls[MAXCALLS];
static unsigned Ncalls;		/* calls started */
static unsigned Ndone;		/* calls finished */
static int Mode;		/* 0: record; 1: the first call waits (below) */
static unsigned Want;		/* mode 1: calls the others must finish */
static int Timed_out;

static void *
rec_memcpy(void *dst, const void *src, size_t n, unsigned flags)
{
	(void)flags;
	unsigned i = __atomic_fetch_add(&Ncalls, 1, __ATOMIC_SEQ_CST);
	if (i >= MAXCALLS)
		FAIL("more than %d parts", MAXCALLS);
	Calls[i].dest = (uintptr_t)dst;
	Calls[i].n = n;
	Calls[i].who = pthread_self();
	if (Mode == 1 && i == 0) {
		/* stall until the other worker has done every other part */
		double end = test_now() + 20;
		while (__atomic_load_n(&Ndone, __ATOMIC_SEQ_CST) < Want) {
			if (test_now() > end) {
				__atomic_store_n(&Timed_out, 1,
					__ATOMIC_SEQ_CST);
				break;
			}
			sched_yield();
		}
	}
	memcpy(dst, src, n);
	__atomic_fetch_add(&Ndone, 1, __ATOMIC_SEQ_CST);
	return dst;
}

static void
reset_calls(int mode, unsigned want)
{
	Ncalls = 0;
	Ndone = 0;
	Mode = mode;
	Want = want;
	Timed_out = 0;
}

static int
by_dest(const void *a, const void *b)
{
	const struct call *x = a, *y = b;
	return x->dest < y->dest ? -1 : x->dest > y->dest;
}

static size_t
expected_parts(uintptr_t dest, size_t n, size_t part)
{
	size_t skew = dest % part;
	return (n + skew + part - 1) / part;
}

/* The recorded calls tile [dest, dest+n) in parts of at most `part`. */
static void
check_tiling(uintptr_t dest, size_t n, size_t part)
{
	unsigned k = Ncalls;
	CHECK_EQ((size_t)k, expected_parts(dest, n, part));
	qsort(Calls, k, sizeof(Calls[0]), by_dest);
	uintptr_t at = dest;
	for (unsigned i = 0; i < k; i++) {
		CHECK_EQ(Calls[i].dest, at);
		CHECK(Calls[i].n > 0 && Calls[i].n <= part);
		if (i > 0)
			CHECK_EQ(Calls[i].dest % part, (uintptr_t)0);
		at += Calls[i].n;
	}
	CHECK_EQ(at, dest + n);
}

static void
copy_wait(struct runtime *rt, struct vdm *v, void *dst, void *src,
	size_t n, uint64_t flags)
{
	struct vdm_operation_future f = vdm_memcpy(v, dst, src, n, flags);
	runtime_wait(rt, FUTURE_AS_RUNNABLE(&f));
	CHECK(f.output.output.memcpy.dest == dst);
}

/* Fixed-size parts, whatever the number of workers. */
static void
test_tiling(struct runtime *rt)
{
	size_t n = 37 * PART + 123;
	unsigned char *src = test_alloc(n), *buf = test_alloc(n + 2 * PART);
	unsigned char *dst = (unsigned char *)
		(((uintptr_t)buf + PART - 1) & ~(uintptr_t)(PART - 1)) + 100;
	for (size_t nw = 1; nw <= 4; nw++) {
		struct data_mover_threads *d = mover(nw, 64, "4096");
		data_mover_threads_set_memcpy_fn(d, rec_memcpy);
		struct vdm *v = data_mover_threads_get_vdm(d);
		test_pattern(src, n, nw);
		memset(buf, 0, n + 2 * PART);
		reset_calls(0, 0);
		copy_wait(rt, v, dst, src, n, 0);
		CHECK_MEM(dst, src, n);
		if (nw == 1)
			CHECK_EQ(Ncalls, 1u);	/* nobody to share with */
		else
			check_tiling((uintptr_t)dst, n, PART);
		data_mover_threads_delete(d);
	}
	free(src);
	free(buf);
}

/* Both workers take parts; a stalled one holds back only its own part. */
static void
test_sharing(struct runtime *rt)
{
	size_t n = 64 * PART;
	unsigned char *src = test_alloc(n), *dst = aligned_alloc(PART, n);
	CHECK(dst != NULL);
	struct data_mover_threads *d = mover(2, 64, "4096");
	data_mover_threads_set_memcpy_fn(d, rec_memcpy);
	struct vdm *v = data_mover_threads_get_vdm(d);

	test_pattern(src, n, 7);
	memset(dst, 0, n);
	reset_calls(1, 63);
	copy_wait(rt, v, dst, src, n, 0);
	CHECK(!Timed_out);
	CHECK_MEM(dst, src, n);
	CHECK_EQ(Ncalls, 64u);
	pthread_t stalled = Calls[0].who;
	unsigned other = 0;
	for (unsigned i = 1; i < 64; i++)
		other += !pthread_equal(Calls[i].who, stalled);
	/* everything but the stalled part went to the other worker */
	CHECK_EQ(other, 63u);
	check_tiling((uintptr_t)dst, n, PART);

	data_mover_threads_delete(d);
	free(src);
	free(dst);
}

/* ---- byte-exact with the default functions ---- */

enum kind { K_MEMCPY, K_MEMMOVE, K_MEMSET, K_FLUSH, NKINDS };

static void
one(struct runtime *rt, struct vdm *v, enum kind k, size_t n, size_t doff,
	uint64_t flags, uint64_t seed)
{
	size_t len = n + 2 * PART + 64;
	unsigned char *src = test_alloc(len), *dst = test_alloc(len);
	unsigned char *ref = test_alloc(len);
	test_pattern(src, len, seed);
	test_pattern(dst, len, seed + 1);
	memcpy(ref, dst, len);
	struct vdm_operation_future f;
	switch (k) {
	case K_MEMCPY:
		memcpy(ref + doff, src + 3, n);
		f = vdm_memcpy(v, dst + doff, src + 3, n, flags);
		break;
	case K_MEMMOVE:
		memcpy(ref + doff, src + 17, n);
		f = vdm_memmove(v, dst + doff, src + 17, n, flags);
		break;
	case K_MEMSET:
		memset(ref + doff, 0xa5, n);
		f = vdm_memset(v, dst + doff, 0xa5, n, flags);
		break;
	default:
		f = vdm_flush(v, dst + doff, n, flags);
		break;
	}
	runtime_wait(rt, FUTURE_AS_RUNNABLE(&f));
	if (memcmp(dst, ref, len) != 0)
		FAIL("kind %d, %zu bytes at +%zu, flags %#llx: wrong bytes",
			(int)k, n, doff, (unsigned long long)flags);
	free(src);
	free(dst);
	free(ref);
}

static void
test_bytes(struct runtime *rt, size_t nw, size_t ring)
{
	static const size_t sizes[] = { 8192, 8193, 3 * PART - 1,
		17 * PART + 65, 50 * PART };
	static const size_t doffs[] = { 0, 5, 64, PART - 1 };
	static const uint64_t flags[] = { 0, VDM_F_MEM_DURABLE,
		VDM_F_NO_CACHE_HINT };
	struct data_mover_threads *d = mover(nw, ring, "4096");
	struct vdm *v = data_mover_threads_get_vdm(d);
	uint64_t seed = 1;
	size_t nf = vdm_is_supported(v, VDM_F_MEM_DURABLE) ? 3 : 1;
	for (int k = 0; k < NKINDS; k++)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
			for (size_t o = 0; o < 4; o++)
				for (size_t fl = 0; fl < nf; fl++)
					one(rt, v, (enum kind)k, sizes[s],
						doffs[o], flags[fl], seed++);
	data_mover_threads_delete(d);
}

/* One 64 MiB copy, plain and durable, with the mover's own defaults. */
static void
test_big(struct runtime *rt)
{
	size_t n = (size_t)64 << 20;
	if (test_quick())
		n = (size_t)8 << 20;
	unsigned char *src = test_alloc(n), *dst = test_alloc(n + 64);
	test_pattern(src, n, 99);
	struct data_mover_threads *d = data_mover_threads_new(2, 256,
		FUTURE_NOTIFIER_WAKER);
	CHECK(d != NULL);
	struct vdm *v = data_mover_threads_get_vdm(d);
	for (int durable = 0; durable < 2; durable++) {
		uint64_t fl = durable && vdm_is_supported(v,
			VDM_F_MEM_DURABLE) ? VDM_F_MEM_DURABLE : 0;
		memset(dst, 0, n + 64);
		copy_wait(rt, v, dst + 1, src, n, fl);
		CHECK_MEM(dst + 1, src, n);
		CHECK_EQ(dst[0], 0);
		CHECK_EQ(dst[n + 1], 0);
	}
	data_mover_threads_delete(d);
	free(src);
	free(dst);
}

int
main(void)
{
	struct runtime *rt = runtime_new();
	CHECK(rt != NULL);
	test_tiling(rt);
	test_sharing(rt);
	test_bytes(rt, 2, 64);
	if (!test_quick())
		test_bytes(rt, 3, 64);
	test_bytes(rt, 4, 2);	/* fewer slots than tickets */
	test_big(rt);
	runtime_delete(rt);
	return 0;
}
