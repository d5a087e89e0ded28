/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * suite_page.c -- the "page" suite: durable 4 KiB writes to a disk-backed
 * file (PAGE granularity; $PMEM2_TEST_DISK_DIR, else $TMPDIR, else
 * /var/tmp) with 32 pmem2_memcpy_async futures in flight through
 * runtime_wait_multiple, against one pmem2_get_memcpy_fn() copy (with its
 * msync) at a time; again with the default mover storing through the
 * mapping instead of writing through the file (PMEM2_ASYNC_NO_PWRITE=1).
 * ops/s, medians of several timed runs.
 */
#define _GNU_SOURCE
#define PMEM2_USE_MINIASYNC 1
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libpmem2.h>
#include <libminiasync.h>
#include "bench.h"

struct page_map {
	struct pmem2_map *map;
	struct pmem2_source *src;
	int fd;
	char path[256];
	char *addr;
	size_t size;
};

/* stores: PMEM2_ASYNC_NO_PWRITE=1 (stores through the mapping) */
static int
page_open(struct page_map *m, size_t size, int stores)
{
	const char *dir = getenv("PMEM2_TEST_DISK_DIR");
	if (!dir || !*dir)
		dir = getenv("TMPDIR");
	snprintf(m->path, sizeof(m->path), "%s/pa_bench_async_page_%d_%d",
		dir && *dir ? dir : "/var/tmp", (int)getpid(), stores);
	m->size = size;
	m->fd = open(m->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (m->fd < 0 || ftruncate(m->fd, (off_t)size) != 0) {
		perror(m->path);
		return -1;
	}
	struct pmem2_config *cfg;
	if (stores)
		setenv("PMEM2_ASYNC_NO_PWRITE", "1", 1);
	if (pmem2_source_from_fd(&m->src, m->fd) ||
			pmem2_config_new(&cfg) ||
			pmem2_config_set_required_store_granularity(cfg,
				PMEM2_GRANULARITY_PAGE) ||
			pmem2_map_new(&m->map, cfg, m->src)) {
		pmem2_perror("page_open");
		return -1;
	}
	unsetenv("PMEM2_ASYNC_NO_PWRITE");
	pmem2_config_delete(&cfg);
	m->addr = pmem2_map_get_address(m->map);
	/* allocate the blocks once: the runs measure overwrites */
	memset(m->addr, 0, size);
	pmem2_get_persist_fn(m->map)(m->addr, size);
	return 0;
}

static void
page_close(struct page_map *m)
{
	pmem2_map_delete(&m->map);
	pmem2_source_delete(&m->src);
	close(m->fd);
	unlink(m->path);
}

#define INFLIGHT 32

/* ops/s of one timed run: batches of INFLIGHT futures, waited for together */
static double
run_async(struct page_map *m, struct runtime *r, const char *src,
	size_t *off, double secs)
{
	struct vdm_operation_future f[INFLIGHT];
	struct future *fp[INFLIGHT];
	for (int k = 0; k < INFLIGHT; k++)
		fp[k] = FUTURE_AS_RUNNABLE(&f[k]);
	long n = 0;
	double t0 = bench_now(), t;
	do {
		for (int k = 0; k < INFLIGHT; k++) {
			f[k] = pmem2_memcpy_async(m->map, m->addr + *off, src,
				4096, 0);
			*off = (*off + 4096) % m->size;
		}
		runtime_wait_multiple(r, fp, INFLIGHT);
		for (int k = 0; k < INFLIGHT; k++)
			if (f[k].output.result != VDM_SUCCESS) {
				fprintf(stderr, "async: PAGE write failed\n");
				return 0;
			}
		n += INFLIGHT;
	} while ((t = bench_now() - t0) < secs);
	return (double)n / t;
}

void
bench_suite_page(void)
{
	struct page_map m, ms;
	if (page_open(&m, 32u << 20, 0))
		return;
	if (page_open(&ms, 32u << 20, 1))
		return;
	char *src = aligned_alloc(4096, 4096);
	struct runtime *r = runtime_new();
	if (!src || !r)
		return;
	memset(src, 0x5a, 4096);
	double secs = bench_quick() ? 0.1 : 0.4;
	int runs = bench_quick() ? 3 : 5;
	double ref[8], ours[8], stores[8];
	size_t off = 0, soff = 0;

	pmem2_memcpy_fn cpy = pmem2_get_memcpy_fn(m.map);
	/* the three take turns, run by run, so that disk noise hits all */
	for (int i = 0; i < runs; i++) {
		long n = 0;
		double t0 = bench_now(), t;
		do {
			cpy(m.addr + off, src, 4096, 0);
			off = (off + 4096) % m.size;
			n++;
		} while ((t = bench_now() - t0) < secs);
		ref[i] = (double)n / t;
		ours[i] = run_async(&m, r, src, &off, secs);
		stores[i] = run_async(&ms, r, src, &soff, secs);
		if (ours[i] == 0 || stores[i] == 0)
			return;
	}
	double rv = bench_median(ref, runs) / 1e3;
	bench_row("page", "durable 4KiB writes, PAGE file, 32 in flight",
		bench_median(ours, runs) / 1e3, "Kops/s",
		"one memcpy_fn+msync at a time", rv, 1);
	bench_row("page", "the same, stores (PMEM2_ASYNC_NO_PWRITE=1)",
		bench_median(stores, runs) / 1e3, "Kops/s",
		"one memcpy_fn+msync at a time", rv, 1);

	runtime_delete(r);
	free(src);
	page_close(&m);
	page_close(&ms);
}
