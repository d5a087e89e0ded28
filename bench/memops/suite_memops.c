/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * suite_memops.c -- the memory functions on a /dev/shm file mapped with
 * CACHE_LINE (and PAGE) granularity forced, side by side in one run with:
 *   - Debian's PMDK libpmem2 (bench_memops_pmdk: the same kernel source
 *     built against it, a bench_peer driven over a pipe),
 *   - glibc memcpy/memset followed by the map's persist_fn (PAGE: msync),
 *   - the floor: a bare non-temporal streaming copy of the same size to
 *     the same map, then a fence (the least work that makes a copy durable
 *     on a CACHE_LINE map; at 2 MiB and up, the streaming-copy limit).
 * For each case the contestants take turns, one timed run each, round
 * after round; each figure is the median of its runs. A noisy moment on a
 * shared machine thus slows every contestant of a case alike.
 * Rows: "<op> <gran> <size> f<flags> vs <reference>".
 */
#include "memops_kernel.h"

#ifndef BENCH_MEMOPS_PMDK
#define BENCH_MEMOPS_PMDK ""
#endif

#define SUITE "memops"
#define DEB "PMDK 1.12.1 (Debian)"

void bench_suite_memops(void);

void
bench_suite_memops(void)
{
	struct mk_case c[64];
	int n = mk_cases(c, 64);
	struct mk_map cl = { 0 }, pg = { 0 };
	if (mk_open(&cl, "CACHE_LINE") || mk_open(&pg, "PAGE")) {
		fprintf(stderr, "memops: cannot map the benchmark files\n");
		mk_unlink(&cl);
		mk_unlink(&pg);
		return;
	}
	/* the peer maps our files (the same pages) and runs on our CPU */
	bench_pin_here();
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("PA_BENCH_SHARE_PID", pid, 1);
	struct bench_peer srv;
	if (bench_peer_start(&srv, BENCH_MEMOPS_PMDK, NULL))
		fprintf(stderr, "memops: no Debian libpmem2 build to compare "
			"with\n");
	unsetenv("PA_BENCH_SHARE_PID");
	for (int i = 0; i < n; i++) {
		int page = strcmp(c[i].gran, "PAGE") == 0;
		struct mk_map *m = page ? &pg : &cl;
		int set = c[i].op == MK_MEMSET;
		size_t sz = c[i].size;
		enum mk_op ref = page ? MK_LIBC_MEMCPY_MSYNC :
			set ? MK_LIBC_MEMSET : MK_LIBC_MEMCPY;
		int with_ref = c[i].flags == 0;
		int with_floor = !page && c[i].flags == 0 && sz % 256 == 0 &&
			(!set || sz >= ((size_t)2 << 20));

		double vo[16], vd[16], vr[16], vf[16];
		int runs = mk_runs();
		mk_warm(m, c[i].op, sz, c[i].flags);
		if (with_ref)
			mk_warm(m, ref, sz, 0);
		if (with_floor)
			mk_warm(m, MK_STREAM, sz, 0);
		for (int r = 0; r < runs; r++) {
			vo[r] = mk_run(m, c[i].op, sz, c[i].flags);
			vd[r] = bench_peer_run(&srv, i);
			if (with_ref)
				vr[r] = mk_run(m, ref, sz, 0);
			if (with_floor)
				vf[r] = mk_run(m, MK_STREAM, sz, 0);
		}
		if (i == 0) {	/* the peer has answered: it has mapped them */
			mk_unlink(&cl);
			mk_unlink(&pg);
		}
		double ours = bench_median(vo, runs);
		double deb = srv.pid > 0 ? bench_median(vd, runs) : 0;

		char szs[32], name[128], row[160];
		snprintf(name, sizeof(name), "%s %s %s f%#x",
			set ? "memset" : "memcpy", page ? "PAGE" : "CL",
			mk_size_str(sz, szs, sizeof(szs)), c[i].flags);
		snprintf(row, sizeof(row), "%s vs Debian", name);
		bench_row(SUITE, row, ours, "GB/s", deb > 0 ? DEB : NULL,
			deb, 1);
		if (with_ref) {
			snprintf(row, sizeof(row), "%s vs glibc", name);
			bench_row(SUITE, row, ours, "GB/s",
				page ? "glibc memcpy+msync" :
				set ? "glibc memset+persist" :
				"glibc memcpy+persist", bench_median(vr, runs), 1);
		}
		if (with_floor) {
			snprintf(row, sizeof(row), "%s vs limit", name);
			bench_row(SUITE, row, ours, "GB/s",
				"NT stream copy+fence", bench_median(vf, runs), 1);
		}
	}
	mk_unlink(&cl);
	mk_unlink(&pg);
	mk_close(&cl);
	mk_close(&pg);
	bench_peer_stop(&srv);
	bench_unpin();
}
