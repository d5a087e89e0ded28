/* SPDX-License-Identifier: BSD-3-Clause */
/* bench_memops.c -- runs the memops suite alone and prints its table. */
#include <string.h>
#include "bench.h"

void bench_suite_memops(void);

int
main(int argc, char *argv[])
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--quick") == 0)
			bench_set_quick(1);
	bench_suite_memops();
	bench_print_table(stdout);
	return 0;
}
