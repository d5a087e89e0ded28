/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_async_pmdk.c -- the 4 KiB default-mover kernel built against
 * Debian's PMDK libpmem2 (and a copy of only our libminiasync headers).
 * Prints the median ops/s on stdout; suite_async runs it as its reference.
 */
#include "async_kernel.h"

int
main(int argc, char *argv[])
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--quick") == 0)
			bench_set_quick(1);
	double v = k4_measure();
	if (v <= 0)
		return 1;
	printf("%.0f\n", v);
	return 0;
}
