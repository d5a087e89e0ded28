/* SPDX-License-Identifier: BSD-3-Clause */
/* plot.h -- pmem2bench's --plot: throughput against size, as SVG. */
#ifndef PMEM2BENCH_PLOT_H
#define PMEM2BENCH_PLOT_H 1

/* Draws the recorded rows into path; 0 or -1 with errno set. */
int plot_write(const char *path);

#endif
