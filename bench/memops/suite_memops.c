/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * suite_memops.c -- the memory functions on a /dev/shm file mapped with
 * CACHE_LINE (and PAGE) granularity forced, side by side in one run with:
 *   - Debian's PMDK libpmem2 (bench_memops_pmdk: the same kernel source
 *     built against it),
 *   - glibc memcpy/memset followed by the map's persist_fn (PAGE: msync),
 *   - the machine's streaming-copy limit (2 MiB and up).
 * Rows: "<op> <gran> <size> f<flags> vs <reference>".
 */
#include "memops_kernel.h"

#ifndef BENCH_MEMOPS_PMDK
#define BENCH_MEMOPS_PMDK ""
#endif

#define SUITE "memops"
#define DEB "PMDK 1.12.1 (Debian)"

static int
pmdk_figures(double *v, int n)
{
	for (int i = 0; i < n; i++)
		v[i] = 0;
	if (BENCH_MEMOPS_PMDK[0] == '\0')
		return -1;
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s%s", BENCH_MEMOPS_PMDK,
		bench_quick() ? " --quick" : "");
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	int i;
	double g;
	while (fscanf(p, "%d %lf", &i, &g) == 2)
		if (i >= 0 && i < n)
			v[i] = g;
	return pclose(p) == 0 ? 0 : -1;
}

void bench_suite_memops(void);

void
bench_suite_memops(void)
{
	struct mk_case c[64];
	int n = mk_cases(c, 64);
	double deb[64];
	/* the reference runs first, alone, so the two never share the CPU */
	pmdk_figures(deb, n);

	struct mk_map cl, pg;
	if (mk_open(&cl, "CACHE_LINE") || mk_open(&pg, "PAGE")) {
		fprintf(stderr, "memops: cannot map the benchmark files\n");
		return;
	}
	for (int i = 0; i < n; i++) {
		int page = strcmp(c[i].gran, "PAGE") == 0;
		struct mk_map *m = page ? &pg : &cl;
		int set = c[i].op == MK_MEMSET;
		enum mk_op ref = page ? MK_LIBC_MEMCPY_MSYNC :
			set ? MK_LIBC_MEMSET : MK_LIBC_MEMCPY;
		double ours, g = 0;
		if (c[i].flags == 0)	/* ours and glibc in alternating runs */
			mk_gbs_pair(m, c[i].op, ref, c[i].size, 0, &ours, &g);
		else
			ours = mk_gbs(m, c[i].op, c[i].size, c[i].flags);
		char sz[32], name[128];
		snprintf(name, sizeof(name), "%s %s %s f%#x",
			set ? "memset" : "memcpy", page ? "PAGE" : "CL",
			mk_size_str(c[i].size, sz, sizeof(sz)), c[i].flags);
		char row[160];
		snprintf(row, sizeof(row), "%s vs Debian", name);
		bench_row(SUITE, row, ours, "GB/s", deb[i] > 0 ? DEB : NULL,
			deb[i], 1);
		if (c[i].flags == 0) {
			snprintf(row, sizeof(row), "%s vs glibc", name);
			bench_row(SUITE, row, ours, "GB/s",
				page ? "glibc memcpy+msync" :
				set ? "glibc memset+persist" :
				"glibc memcpy+persist", g, 1);
		}
		if (!page && c[i].flags == 0 && c[i].size >= ((size_t)2 << 20)) {
			double lim = bench_stream_copy_gbs(c[i].size);
			snprintf(row, sizeof(row), "%s vs limit", name);
			bench_row(SUITE, row, ours, "GB/s",
				"stream copy limit", lim, 1);
		}
	}
	mk_close(&cl);
	mk_close(&pg);
}
