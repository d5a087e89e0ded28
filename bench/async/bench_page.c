/* SPDX-License-Identifier: BSD-3-Clause */
/* bench_page.c -- runs the "page" suite alone and prints its table. */
#include "bench.h"

void bench_suite_page(void);

int
main(int argc, char *argv[])
{
	return bench_run_alone(argc, argv, bench_suite_page);
}
