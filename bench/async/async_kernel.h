/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * async_kernel.h -- the 4 KiB default-mover kernel, compiled twice: into
 * our suite (against our libpmem2) and into bench_async_pmdk (against
 * Debian's PMDK libpmem2, whose pmem2_memcpy_async returns a struct
 * pmem2_future instead of a struct vdm_operation_future: `__auto_type`
 * lets one source serve both).
 *
 * Uses only the public libpmem2 API, FUTURE_BUSY_POLL (a header inline) and
 * bench.h, so the PMDK build needs no libminiasync library.
 */
#ifndef BENCH_ASYNC_KERNEL_H
#define BENCH_ASYNC_KERNEL_H 1

#define _GNU_SOURCE
#define PMEM2_USE_MINIASYNC 1
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libpmem2.h>
#include "bench.h"

#define K4_SIZE 4096u
#define K4_WINDOW (1u << 20)	/* destinations rotate through 1 MiB */
#define K4_RUNS 7

struct k4_map {
	struct pmem2_map *map;
	struct pmem2_source *src;
	int fd;
	char path[256];
	char *addr;
};

/* A CACHE_LINE map (forced) of a /dev/shm file; vdm NULL: default mover. */
static int
k4_open(struct k4_map *m, size_t size, struct vdm *vdm)
{
	/* a peer build maps the suite's file: the same pages for both */
	const char *share = getenv("PA_BENCH_SHARE_PID");
	int creator = !share || !*share;
	snprintf(m->path, sizeof(m->path), "/dev/shm/pa_bench_async_%d",
		creator ? (int)getpid() : atoi(share));
	m->fd = open(m->path, creator ? O_RDWR | O_CREAT | O_TRUNC : O_RDWR,
		0600);
	if (m->fd < 0 || (creator && ftruncate(m->fd, (off_t)size) != 0)) {
		perror(m->path);
		return -1;
	}
	setenv("PMEM2_FORCE_GRANULARITY", "cache_line", 1);
	struct pmem2_config *cfg;
	if (pmem2_source_from_fd(&m->src, m->fd) ||
			pmem2_config_new(&cfg) ||
			pmem2_config_set_required_store_granularity(cfg,
				PMEM2_GRANULARITY_PAGE) ||
			pmem2_config_set_vdm(cfg, vdm) ||
			pmem2_map_new(&m->map, cfg, m->src)) {
		pmem2_perror("k4_open");
		return -1;
	}
	pmem2_config_delete(&cfg);
	unsetenv("PMEM2_FORCE_GRANULARITY");
	if (pmem2_map_get_store_granularity(m->map) !=
			PMEM2_GRANULARITY_CACHE_LINE) {
		fprintf(stderr, "k4_open: not a CACHE_LINE map\n");
		return -1;
	}
	m->addr = pmem2_map_get_address(m->map);
	if (creator)
		memset(m->addr, 0, size);
	return 0;
}

static void
k4_close(struct k4_map *m)
{
	pmem2_map_delete(&m->map);
	pmem2_source_delete(&m->src);
	close(m->fd);
	unlink(m->path);
}

/* ops/s of one run of n durable 4 KiB async copies, polled to completion. */
static double
k4_run(struct k4_map *m, const char *src, long n)
{
	size_t off = 0;
	double t0 = bench_now();
	for (long i = 0; i < n; i++) {
		__auto_type fut = pmem2_memcpy_async(m->map, m->addr + off,
			src, K4_SIZE, 0);
		FUTURE_BUSY_POLL(&fut);
		off += K4_SIZE;
		if (off == K4_WINDOW)
			off = 0;
	}
	return (double)n / (bench_now() - t0);
}

/* ops/s of one run of n synchronous memcpy_fn calls, same rotation */
static inline double
k4_run_sync(struct k4_map *m, const char *src, long n)
{
	pmem2_memcpy_fn cpy = pmem2_get_memcpy_fn(m->map);
	size_t off = 0;
	double t0 = bench_now();
	for (long i = 0; i < n; i++) {
		cpy(m->addr + off, src, K4_SIZE, 0);
		off += K4_SIZE;
		if (off == K4_WINDOW)
			off = 0;
	}
	return (double)n / (bench_now() - t0);
}

/* ops/s of n bare non-temporal copies plus a fence: the least work */
static inline double
k4_run_bare(struct k4_map *m, const char *src, long n)
{
	bench_copy_fn cpy = bench_stream_copy_fn();
	size_t off = 0;
	double t0 = bench_now();
	for (long i = 0; i < n; i++) {
		cpy(m->addr + off, src, K4_SIZE);
		off += K4_SIZE;
		if (off == K4_WINDOW)
			off = 0;
	}
	return (double)n / (bench_now() - t0);
}

static long
k4_iters(void)
{
	return bench_quick() ? 20000 : 200000;
}

/* The map and source of the runs, made (and warmed up) on first use. */
struct k4_state {
	struct k4_map m;
	char *src;
	int ready;
};

static int
k4_prepare(struct k4_state *st)
{
	if (st->ready)
		return 0;
	if (k4_open(&st->m, K4_WINDOW, NULL))
		return -1;
	st->src = aligned_alloc(4096, K4_SIZE);
	if (!st->src)
		return -1;
	memset(st->src, 0xa5, K4_SIZE);
	k4_run(&st->m, st->src, k4_iters() / 4);
	st->ready = 1;
	return 0;
}

static void
k4_release(struct k4_state *st)
{
	if (!st->ready)
		return;
	free(st->src);
	k4_close(&st->m);
	st->ready = 0;
}

#endif /* BENCH_ASYNC_KERNEL_H */
