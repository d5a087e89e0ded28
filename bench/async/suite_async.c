/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * suite_async.c -- the "async" suite: pmem2_*_async against its references.
 *
 *  1. 4 KiB durable copies with the default mover on a CACHE_LINE map
 *     (forced, /dev/shm), polled one at a time: ops/s, against the same
 *     kernel built on Debian's PMDK libpmem2 (bench_async_pmdk).
 *  2. One 64 MiB copy through the default threads mover on a CACHE_LINE
 *     map, durable: GB/s, against the machine's streaming-copy limit.
 * The durable PAGE writes are the "page" suite (suite_page.c).
 */
#include <libminiasync.h>
#include "async_kernel.h"

#define SUITE "async"

#ifndef BENCH_ASYNC_PMDK
#define BENCH_ASYNC_PMDK ""
#endif

/*
 * Our runs alternate with those of the PMDK build (a bench_peer), with
 * runs of our synchronous memcpy_fn on the same map, and with a bare
 * non-temporal copy plus fence (the bench's own, no libpmem2 at all): the
 * least work a durable 4 KiB copy can do, so PMDK's figure divided by it
 * bounds the ratio any library can reach on this machine.
 */
static void
suite_4k(void)
{
	struct k4_state st = { 0 };
	if (k4_prepare(&st)) {
		fprintf(stderr, "async: the 4 KiB kernel failed\n");
		return;
	}
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("PA_BENCH_SHARE_PID", pid, 1);
	bench_pin_here();	/* the peer runs on our CPU too */
	struct bench_peer peer;
	if (bench_peer_start(&peer, BENCH_ASYNC_PMDK, NULL))
		fprintf(stderr, "async: no PMDK build to compare with\n");
	unsetenv("PA_BENCH_SHARE_PID");
	double vo[K4_RUNS], vp[K4_RUNS], vs[K4_RUNS], vb[K4_RUNS];
	k4_run_sync(&st.m, st.src, k4_iters() / 4);
	for (int r = 0; r < K4_RUNS; r++) {
		vo[r] = k4_run(&st.m, st.src, k4_iters());
		vp[r] = bench_peer_run(&peer, 0);
		vs[r] = k4_run_sync(&st.m, st.src, k4_iters());
		vb[r] = k4_run_bare(&st.m, st.src, k4_iters());
	}
	double ours = bench_median(vo, K4_RUNS);
	double pmdk = peer.pid > 0 ? bench_median(vp, K4_RUNS) : 0;
	bench_row(SUITE, "memcpy_async 4KiB, default mover, CACHE_LINE",
		ours / 1e6, "Mops/s", pmdk > 0 ? "PMDK 1.12.1 (Debian)" : "",
		pmdk > 0 ? pmdk / 1e6 : 0, 1);
	bench_row(SUITE, "memcpy_async 4KiB vs its own copy",
		ours / 1e6, "Mops/s", "our memcpy_fn, synchronous",
		bench_median(vs, K4_RUNS) / 1e6, 1);
	/* the ceiling: what PMDK's figure allows anyone to reach, here */
	bench_row(SUITE, "memcpy_async 4KiB vs the least work",
		ours / 1e6, "Mops/s", "bare NT copy + fence, no API",
		bench_median(vb, K4_RUNS) / 1e6, 1);
	k4_release(&st);
	bench_peer_stop(&peer);
	bench_unpin();
}

static void
suite_threads_64m(void)
{
	const size_t sz = 64u << 20;
	struct data_mover_threads *dmt = data_mover_threads_default();
	struct runtime *r = runtime_new();
	if (!dmt || !r)
		return;
	struct k4_map m;
	if (k4_open(&m, sz, data_mover_threads_get_vdm(dmt)))
		return;
	char *src = aligned_alloc(4096, sz);
	if (!src)
		return;
	memset(src, 0x3c, sz);

	int runs = bench_quick() ? 3 : 7;
	double v[16];
	for (int i = -1; i < runs; i++) {	/* -1: warm-up */
		double t0 = bench_now();
		struct vdm_operation_future f = pmem2_memcpy_async(m.map,
			m.addr, src, sz, 0);
		runtime_wait(r, FUTURE_AS_RUNNABLE(&f));
		double dt = bench_now() - t0;
		if (f.output.result != VDM_SUCCESS) {
			fprintf(stderr, "async: 64 MiB copy failed\n");
			return;
		}
		if (i >= 0)
			v[i] = (double)sz / dt / 1e9;
	}
	double gbs = bench_median(v, runs);
	double lim = bench_stream_copy_gbs(sz);
	bench_row(SUITE, "memcpy_async 64MiB, threads mover, CACHE_LINE",
		gbs, "GB/s", "streaming-copy limit", lim, 1);

	free(src);
	k4_close(&m);
	runtime_delete(r);
	data_mover_threads_delete(dmt);
}

void
bench_suite_async(void)
{
	suite_4k();
	suite_threads_64m();
}
