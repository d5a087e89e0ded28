/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * suite_limits.c -- what the machine itself can do, for reading the other
 * suites: the one-core non-temporal streaming copy (the limit every large
 * copy is compared with) against glibc's memcpy, across sizes.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bench.h"

/* glibc memcpy of n bytes, repeated to about 20 ms per run, GB/s. */
static double
memcpy_gbs(size_t n)
{
	char *s = mmap(NULL, n, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *d = mmap(NULL, n, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED || d == MAP_FAILED) {
		perror("suite_limits: mmap");
		exit(1);
	}
	memset(s, 7, n);
	memset(d, 0, n);
	size_t reps = ((size_t)64 << 20) / n;
	if (reps == 0)
		reps = 1;
	int runs = bench_quick() ? 3 : 7;
	double v[7];
	for (int r = 0; r < runs; r++) {
		double t0 = bench_now();
		for (size_t i = 0; i < reps; i++) {
			memcpy(d, s, n);
			__asm__ volatile("" ::"r"(d) : "memory");
		}
		v[r] = (double)n * (double)reps / (bench_now() - t0) / 1e9;
	}
	munmap(s, n);
	munmap(d, n);
	return bench_median(v, runs);
}

void
bench_suite_limits(void)
{
	static const size_t full[] = {(size_t)1 << 20, (size_t)4 << 20,
		(size_t)16 << 20, (size_t)64 << 20, (size_t)256 << 20};
	static const size_t quick[] = {(size_t)4 << 20, (size_t)64 << 20};
	const size_t *sizes = bench_quick() ? quick : full;
	size_t n = bench_quick() ? 2 : 5;
	for (size_t i = 0; i < n; i++) {
		char name[64];
		snprintf(name, sizeof(name), "%s stream copy %zuMiB",
			bench_stream_copy_variant(), sizes[i] >> 20);
		double lim = bench_stream_copy_gbs(sizes[i]);
		double ref = memcpy_gbs(sizes[i]);
		bench_row("limits", name, lim, "GB/s", "glibc memcpy", ref, 1);
	}
}
