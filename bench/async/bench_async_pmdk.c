/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_async_pmdk.c -- the 4 KiB default-mover kernel built against
 * Debian's PMDK libpmem2 (and a copy of only our libminiasync headers).
 * --serve: a bench_peer answering each request with the ops/s of one run,
 * so that suite_async alternates its runs with ours. Without it, prints
 * the median ops/s of K4_RUNS runs.
 */
#include "async_kernel.h"

static double
serve_run(int i, void *arg)
{
	(void)i;
	struct k4_state *st = arg;
	if (k4_prepare(st))
		return -1;
	return k4_run(&st->m, st->src, k4_iters());
}

int
main(int argc, char *argv[])
{
	int serve = bench_args(argc, argv);
	struct k4_state st = { 0 };
	if (serve) {
		bench_peer_serve(serve_run, &st);
	} else {
		double v[K4_RUNS];
		for (int r = 0; r < K4_RUNS; r++) {
			v[r] = serve_run(0, &st);
			if (v[r] <= 0)
				return 1;
		}
		printf("%.0f\n", bench_median(v, K4_RUNS));
	}
	k4_release(&st);
	return 0;
}
