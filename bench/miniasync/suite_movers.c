/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * suite_movers.c -- the "movers" suite: libminiasync's data movers, each
 * figure next to a reference measured in the same run.
 *
 *  - 64-byte copies, 128 in flight, through data_mover_threads_default()
 *    (ops/s) vs plain memcpy of 64 bytes in a loop;
 *  - one 64-byte copy's round trip (create + busy poll) when the workers
 *    went idle a few microseconds ago, and back to back, vs a raw two-thread
 *    ping-pong on one cache line;
 *  - one 64 MiB copy (GB/s), plain and with VDM_F_MEM_DURABLE (the
 *    workers' streaming copy), vs one core's non-temporal streaming copy
 *    (bench_stream_copy_fn()) of the same buffers, interleaved with it;
 *    and plain 64 MiB copies back to back, against the same reference;
 *  - the sync mover's create + poll of a 64-byte copy (ns) vs plain memcpy.
 * The default mover runs operations of <= 256 bytes in the polling thread;
 * the "workers" rows repeat the small-op figures with
 * MINIASYNC_THREADS_INLINE_MAX=0, so every operation crosses to a worker.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libminiasync.h>

#include "bench.h"

#define SUITE "movers"
#define RUNS 7
#define INFLIGHT 128

static void
barrier(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

static void *
xalloc(size_t n)
{
	void *p = aligned_alloc(4096, n);
	if (p == NULL)
		abort();
	memset(p, 1, n);	/* fault the pages in */
	return p;
}

/* ---- references ---- */

static double
ref_memcpy_ns(size_t iters)
{
	static unsigned char a[64], b[64];
	double v[RUNS];
	for (int r = 0; r < RUNS; r++) {
		double t = bench_now();
		for (size_t i = 0; i < iters; i++) {
			memcpy(b, a, 64);
			barrier(b);
		}
		v[r] = (bench_now() - t) / (double)iters * 1e9;
	}
	return bench_median(v, RUNS);
}

static volatile int pp_flag __attribute__((aligned(64)));
static int pp_stop;

static void *
pp_thread(void *arg)
{
	(void)arg;
	for (;;) {
		int f;
		while ((f = __atomic_load_n(&pp_flag, __ATOMIC_ACQUIRE)) != 1) {
			if (__atomic_load_n(&pp_stop, __ATOMIC_ACQUIRE))
				return NULL;
			__builtin_ia32_pause();
		}
		__atomic_store_n(&pp_flag, 2, __ATOMIC_RELEASE);
	}
}

/* Round trip of a raw ping-pong between two spinning threads, in us. */
static double
ref_pingpong_us(size_t iters)
{
	pthread_t t;
	pp_flag = 0;
	pp_stop = 0;
	if (pthread_create(&t, NULL, pp_thread, NULL) != 0)
		return 0;
	double v[RUNS];
	for (int r = 0; r < RUNS; r++) {
		double t0 = bench_now();
		for (size_t i = 0; i < iters; i++) {
			__atomic_store_n(&pp_flag, 1, __ATOMIC_RELEASE);
			while (__atomic_load_n(&pp_flag, __ATOMIC_ACQUIRE) != 2)
				__builtin_ia32_pause();
		}
		v[r] = (bench_now() - t0) / (double)iters * 1e6;
	}
	__atomic_store_n(&pp_stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	return bench_median(v, RUNS);
}

/* ---- figures ---- */

/* 64-byte copies with INFLIGHT futures in flight, M ops/s. */
static double
inflight_mops(struct vdm *vdm, double seconds)
{
	static struct vdm_operation_future f[INFLIGHT];
	static unsigned char src[INFLIGHT][64], dst[INFLIGHT][64];
	double v[RUNS];
	for (int r = 0; r < RUNS; r++) {
		for (int i = 0; i < INFLIGHT; i++)
			f[i] = vdm_memcpy(vdm, dst[i], src[i], 64, 0);
		size_t done = 0;
		double t0 = bench_now(), t = t0;
		while (t - t0 < seconds) {
			for (int k = 0; k < 16; k++) {
				for (int i = 0; i < INFLIGHT; i++) {
					if (future_poll(FUTURE_AS_RUNNABLE(&f[i]),
							NULL) !=
							FUTURE_STATE_COMPLETE)
						continue;
					done++;
					f[i] = vdm_memcpy(vdm, dst[i], src[i],
						64, 0);
				}
			}
			t = bench_now();
		}
		/* drain */
		for (int i = 0; i < INFLIGHT; i++)
			FUTURE_BUSY_POLL(&f[i]);
		v[r] = (double)done / (t - t0) / 1e6;
	}
	return bench_median(v, RUNS);
}

/*
 * Round trip of one 64-byte copy (create + busy poll), in us. gap_us > 0:
 * wait that long between operations (the workers are idle, still spinning);
 * 0: back to back.
 */
static double
roundtrip_us(struct vdm *vdm, size_t iters, double gap_us)
{
	static unsigned char a[64], b[64];
	double v[RUNS];
	for (int r = 0; r < RUNS; r++) {
		double total = 0;
		for (size_t i = 0; i < iters; i++) {
			if (gap_us > 0) {
				double until = bench_now() + gap_us * 1e-6;
				while (bench_now() < until)
					__builtin_ia32_pause();
			}
			double t0 = bench_now();
			struct vdm_operation_future f =
				vdm_memcpy(vdm, b, a, 64, 0);
			FUTURE_BUSY_POLL(&f);
			total += bench_now() - t0;
		}
		v[r] = total / (double)iters * 1e6;
	}
	return bench_median(v, RUNS);
}

/* Back-to-back round trips, timed as a whole (clock reads excluded). */
static double
roundtrip_b2b_us(struct vdm *vdm, size_t iters)
{
	static unsigned char a[64], b[64];
	double v[RUNS];
	for (int r = 0; r < RUNS; r++) {
		double t0 = bench_now();
		for (size_t i = 0; i < iters; i++) {
			struct vdm_operation_future f =
				vdm_memcpy(vdm, b, a, 64, 0);
			FUTURE_BUSY_POLL(&f);
		}
		v[r] = (bench_now() - t0) / (double)iters * 1e6;
	}
	return bench_median(v, RUNS);
}

/*
 * One copy of len bytes through the mover (GB/s, median) and, as its
 * reference (*ref), one core's non-temporal stream copy of the same buffers
 * (bench_stream_copy_fn()), the two alternating run by run after a warm-up
 * of each: a load from elsewhere that comes and goes during the runs then
 * weighs on both, not on one of them only. The workers go idle during each
 * reference copy, so every mover copy starts from sleeping workers.
 */
static double
big_copy_gbs(struct vdm *vdm, size_t len, int runs, uint64_t flags,
	double *ref)
{
	unsigned char *src = xalloc(len), *dst = xalloc(len);
	struct runtime *rt = runtime_new();
	bench_copy_fn stream = bench_stream_copy_fn();
	double v[RUNS], l[RUNS];
	if (runs > RUNS)
		runs = RUNS;
	for (int r = -1; r < runs; r++) {	/* -1: warm-up */
		double t0 = bench_now();
		stream((char *)dst, (const char *)src, len);
		double t1 = bench_now();
		struct vdm_operation_future f = vdm_memcpy(vdm, dst, src, len,
			flags);
		runtime_wait(rt, FUTURE_AS_RUNNABLE(&f));
		double t2 = bench_now();
		if (r >= 0) {
			l[r] = (double)len / (t1 - t0) / 1e9;
			v[r] = (double)len / (t2 - t1) / 1e9;
		}
	}
	runtime_delete(rt);
	free(src);
	free(dst);
	*ref = bench_median(l, runs);
	return bench_median(v, runs);
}

/*
 * The same copy repeated back to back (GB/s, median): each starts while the
 * workers are still awake from the last one.
 */
static double
big_b2b_gbs(struct vdm *vdm, size_t len, int runs)
{
	unsigned char *src = xalloc(len), *dst = xalloc(len);
	struct runtime *rt = runtime_new();
	double v[RUNS];
	if (runs > RUNS)
		runs = RUNS;
	for (int r = -1; r < runs; r++) {	/* -1: warm-up */
		double t0 = bench_now();
		struct vdm_operation_future f = vdm_memcpy(vdm, dst, src, len,
			0);
		runtime_wait(rt, FUTURE_AS_RUNNABLE(&f));
		if (r >= 0)
			v[r] = (double)len / (bench_now() - t0) / 1e9;
	}
	runtime_delete(rt);
	free(src);
	free(dst);
	return bench_median(v, runs);
}

static double
sync_create_poll_ns(struct vdm *vdm, size_t iters)
{
	static unsigned char a[64], b[64];
	double v[RUNS];
	for (int r = 0; r < RUNS; r++) {
		double t0 = bench_now();
		for (size_t i = 0; i < iters; i++) {
			struct vdm_operation_future f =
				vdm_memcpy(vdm, b, a, 64, 0);
			future_poll(FUTURE_AS_RUNNABLE(&f), NULL);
			barrier(&f);
		}
		v[r] = (bench_now() - t0) / (double)iters * 1e9;
	}
	return bench_median(v, RUNS);
}

static struct data_mover_threads *
threads_with_inline(const char *inline_max)
{
	const char *old = getenv("MINIASYNC_THREADS_INLINE_MAX");
	char *saved = old ? strdup(old) : NULL;
	setenv("MINIASYNC_THREADS_INLINE_MAX", inline_max, 1);
	struct data_mover_threads *d = data_mover_threads_default();
	if (saved) {
		setenv("MINIASYNC_THREADS_INLINE_MAX", saved, 1);
		free(saved);
	} else {
		unsetenv("MINIASYNC_THREADS_INLINE_MAX");
	}
	return d;
}

void
bench_suite_movers(void)
{
	int q = bench_quick();
	double secs = q ? 0.05 : 0.25;
	size_t rt_iters = q ? 2000 : 20000;

	double memcpy_ns = ref_memcpy_ns(q ? 1000000 : 20000000);
	double memcpy_mops = 1e3 / memcpy_ns;
	double pingpong = ref_pingpong_us(q ? 20000 : 200000);

	/* ---- the default threads mover ---- */
	struct data_mover_threads *dmt = data_mover_threads_default();
	if (dmt == NULL)
		return;
	struct vdm *v = data_mover_threads_get_vdm(dmt);
	bench_row(SUITE, "threads default: 64 B copies, 128 in flight",
		inflight_mops(v, secs), "Mops/s", "plain memcpy 64 B",
		memcpy_mops, 1);
	bench_row(SUITE, "threads default: 64 B round trip, idle 10 us",
		roundtrip_us(v, rt_iters, 10), "us", "2-thread ping-pong",
		pingpong, 0);
	bench_row(SUITE, "threads default: 64 B round trip, back to back",
		roundtrip_b2b_us(v, rt_iters * 10), "us",
		"2-thread ping-pong", pingpong, 0);

	size_t big = (size_t)64 << 20;
	double stream, gbs;
	gbs = big_copy_gbs(v, big, q ? 3 : RUNS, 0, &stream);
	bench_row(SUITE, "threads default: one 64 MiB copy", gbs, "GB/s",
		"stream copy 64 MiB (1 core, NT)", stream, 1);
	bench_row(SUITE, "threads default: 64 MiB copies, back to back",
		big_b2b_gbs(v, big, q ? 3 : RUNS), "GB/s",
		"stream copy 64 MiB (1 core, NT)", stream, 1);
	/* the workers' streaming copy, written back and fenced */
	gbs = big_copy_gbs(v, big, q ? 3 : RUNS, VDM_F_MEM_DURABLE, &stream);
	bench_row(SUITE, "threads default: one 64 MiB copy, DURABLE", gbs,
		"GB/s", "stream copy 64 MiB (1 core, NT)", stream, 1);
	data_mover_threads_delete(dmt);

	/* ---- the same mover with every operation on the workers ---- */
	dmt = threads_with_inline("0");
	if (dmt != NULL) {
		v = data_mover_threads_get_vdm(dmt);
		bench_row(SUITE, "threads workers-only: 64 B, 128 in flight",
			inflight_mops(v, secs), "Mops/s", "plain memcpy 64 B",
			memcpy_mops, 1);
		bench_row(SUITE, "threads workers-only: round trip, idle 10 us",
			roundtrip_us(v, rt_iters, 10), "us",
			"2-thread ping-pong", pingpong, 0);
		bench_row(SUITE, "threads workers-only: round trip, back to back",
			roundtrip_b2b_us(v, rt_iters * 10), "us",
			"2-thread ping-pong", pingpong, 0);
		data_mover_threads_delete(dmt);
	}

	/* ---- the sync mover ---- */
	struct data_mover_sync *dms = data_mover_sync_new();
	if (dms != NULL) {
		bench_row(SUITE, "sync mover: 64 B create + poll",
			sync_create_poll_ns(data_mover_sync_get_vdm(dms),
				q ? 1000000 : 20000000), "ns",
			"plain memcpy 64 B", memcpy_ns, 0);
		data_mover_sync_delete(dms);
	}
}
