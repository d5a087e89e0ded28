/* SPDX-License-Identifier: BSD-3-Clause */
/* bench_replica.c -- runs the "replica" suite alone and prints its table. */
#include "bench.h"

void bench_suite_replica(void);

int
main(int argc, char *argv[])
{
	return bench_run_alone(argc, argv, bench_suite_replica);
}
