/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_memops_pmdk.c -- memops_kernel.h built against Debian's PMDK
 * libpmem2. Prints one line per case: "<index> <GB/s>"; suite_memops runs
 * it and puts the figures next to ours.
 */
#include "memops_kernel.h"

int
main(int argc, char *argv[])
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--quick") == 0)
			bench_set_quick(1);
	struct mk_case c[64];
	int n = mk_cases(c, 64);
	struct mk_map cl, pg;
	if (mk_open(&cl, "CACHE_LINE") || mk_open(&pg, "PAGE"))
		return 1;
	for (int i = 0; i < n; i++) {
		struct mk_map *m = strcmp(c[i].gran, "PAGE") == 0 ? &pg : &cl;
		printf("%d %.4f\n", i, mk_gbs(m, c[i].op, c[i].size,
			c[i].flags));
		fflush(stdout);
	}
	mk_close(&cl);
	mk_close(&pg);
	return 0;
}
