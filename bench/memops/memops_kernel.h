/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memops_kernel.h -- the measurement both builds share: compiled into our
 * suite (against our libpmem2) and into bench_memops_pmdk (against Debian's
 * PMDK libpmem2), using only the public libpmem2 API.
 *
 * A file in $PMEM2_BENCH_DIR (default /dev/shm) is mapped with the
 * granularity forced through PMEM2_FORCE_GRANULARITY; one size is copied
 * (or filled) again and again to the start of the map from a page-aligned
 * source, and GB/s (1e9 bytes/s) is the median of several timed runs.
 */
#ifndef MEMOPS_KERNEL_H
#define MEMOPS_KERNEL_H 1

#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <libpmem2.h>
#include "bench.h"

enum mk_op {
	MK_MEMCPY,		/* the map's memcpy_fn */
	MK_MEMSET,		/* the map's memset_fn */
	MK_LIBC_MEMCPY,		/* glibc memcpy + the map's persist_fn */
	MK_LIBC_MEMSET,		/* glibc memset + the map's persist_fn */
	MK_LIBC_MEMCPY_MSYNC,	/* glibc memcpy + msync (the PAGE reference) */
	MK_STREAM,		/* bench's NT streaming copy + fence: the floor */
};

struct mk_map {
	int fd;
	char path[256];
	struct pmem2_map *map;
	char *dst;
	pmem2_memcpy_fn mc;
	pmem2_memset_fn ms;
	pmem2_persist_fn persist;
};

static char *Mk_src;
static size_t Mk_max = (size_t)256 << 20;

/*
 * The suite creates the files; a peer build started with PA_BENCH_SHARE_PID
 * set to the suite's pid maps the very same ones, so that both write to the
 * same physical pages (the cost of a flush and fence depends on where the
 * line lives; separate files gave one side a lucky line for a whole run).
 */
static inline int
mk_open(struct mk_map *m, const char *gran)
{
	const char *dir = getenv("PMEM2_BENCH_DIR");
	if (!dir || !*dir)
		dir = "/dev/shm";
	const char *share = getenv("PA_BENCH_SHARE_PID");
	int creator = !share || !*share;
	snprintf(m->path, sizeof(m->path), "%s/pa_bench_memops_%d_%s", dir,
		creator ? (int)getpid() : atoi(share), gran);
	m->fd = open(m->path, creator ? O_RDWR | O_CREAT | O_TRUNC : O_RDWR,
		0600);
	if (m->fd < 0 || (creator && ftruncate(m->fd, (off_t)Mk_max) != 0)) {
		perror(m->path);
		return -1;
	}
	struct pmem2_config *cfg;
	struct pmem2_source *src;
	if (pmem2_config_new(&cfg) ||
			pmem2_config_set_required_store_granularity(cfg,
				PMEM2_GRANULARITY_PAGE) ||
			pmem2_source_from_fd(&src, m->fd))
		return -1;
	setenv("PMEM2_FORCE_GRANULARITY", gran, 1);
	int ret = pmem2_map_new(&m->map, cfg, src);
	unsetenv("PMEM2_FORCE_GRANULARITY");
	pmem2_source_delete(&src);
	pmem2_config_delete(&cfg);
	if (ret) {
		pmem2_perror("pmem2_map_new");
		return -1;
	}
	m->dst = pmem2_map_get_address(m->map);
	m->mc = pmem2_get_memcpy_fn(m->map);
	m->ms = pmem2_get_memset_fn(m->map);
	m->persist = pmem2_get_persist_fn(m->map);
	memset(m->dst, 1, Mk_max);	/* fault every page in */
	if (!Mk_src) {
		Mk_src = mmap(NULL, Mk_max, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (Mk_src == MAP_FAILED)
			return -1;
		memset(Mk_src, 2, Mk_max);
	}
	return 0;
}

/* The creator's: once every user has mapped it (the maps keep it alive). */
static inline void
mk_unlink(struct mk_map *m)
{
	if (m->path[0])
		unlink(m->path);
	m->path[0] = '\0';
}

static inline void
mk_close(struct mk_map *m)
{
	pmem2_map_delete(&m->map);
	close(m->fd);
}

static inline void
mk_once(struct mk_map *m, enum mk_op op, size_t size, unsigned flags)
{
	switch (op) {
	case MK_MEMCPY:
		m->mc(m->dst, Mk_src, size, flags);
		break;
	case MK_MEMSET:
		m->ms(m->dst, 0x5a, size, flags);
		break;
	case MK_LIBC_MEMCPY:
		memcpy(m->dst, Mk_src, size);
		m->persist(m->dst, size);
		break;
	case MK_LIBC_MEMSET:
		memset(m->dst, 0x5a, size);
		m->persist(m->dst, size);
		break;
	case MK_LIBC_MEMCPY_MSYNC:
		memcpy(m->dst, Mk_src, size);
		msync(m->dst, (size + 4095) & ~(size_t)4095, MS_SYNC);
		break;
	case MK_STREAM:		/* size: a multiple of 256 */
		bench_stream_copy_fn()(m->dst, Mk_src, size);
		break;
	}
}

/* calls per timed run: about 128 MiB (24 quick) moved, at least 2 */
static inline size_t
mk_iters(size_t size)
{
	size_t budget = bench_quick() ? ((size_t)24 << 20) : ((size_t)128 << 20);
	size_t iters = budget / size;
	if (iters < 2)
		iters = 2;
	if (iters > 200000)
		iters = 200000;
	return iters;
}

static inline int
mk_runs(void)
{
	return bench_quick() ? 3 : 7;
}

/* untimed calls that bring caches, TLB and page tables to a steady state */
static inline void
mk_warm(struct mk_map *m, enum mk_op op, size_t size, unsigned flags)
{
	size_t n = mk_iters(size) / 8 + 1;
	for (size_t i = 0; i < n; i++)
		mk_once(m, op, size, flags);
}

/* GB/s of one timed run of `op` on `size` bytes */
static inline double
mk_run(struct mk_map *m, enum mk_op op, size_t size, unsigned flags)
{
	size_t iters = mk_iters(size);
	double t0 = bench_now();
	for (size_t i = 0; i < iters; i++)
		mk_once(m, op, size, flags);
	double t = bench_now() - t0;
	return (double)size * (double)iters / t / 1e9;
}

/* the cases both builds measure, in this order */
struct mk_case {
	enum mk_op op;
	const char *gran;
	unsigned flags;
	size_t size;
};

static const size_t Mk_sizes[] = { 64, 128, 256, 512, 1024, 4096, 16384, 65536,
	262144, (size_t)2 << 20, (size_t)16 << 20, (size_t)256 << 20 };
#define MK_NSIZES (sizeof(Mk_sizes) / sizeof(Mk_sizes[0]))

/* fills cases[]; returns how many */
static inline int
mk_cases(struct mk_case *c, int max)
{
	int n = 0;
	for (size_t i = 0; i < MK_NSIZES && n + 2 <= max; i++) {
		size_t s = Mk_sizes[i];
		if (bench_quick() && s > ((size_t)16 << 20))
			continue;
		c[n++] = (struct mk_case){ MK_MEMCPY, "CACHE_LINE", 0, s };
		c[n++] = (struct mk_case){ MK_MEMSET, "CACHE_LINE", 0, s };
	}
	static const size_t hint_sizes[] = { 4096, (size_t)2 << 20 };
	static const unsigned hints[] = { PMEM2_F_MEM_NONTEMPORAL,
		PMEM2_F_MEM_TEMPORAL };
	for (int i = 0; i < 2; i++)
		for (int h = 0; h < 2 && n < max; h++)
			c[n++] = (struct mk_case){ MK_MEMCPY, "CACHE_LINE",
				hints[h], hint_sizes[i] };
	static const size_t page_sizes[] = { 4096, 65536, (size_t)2 << 20 };
	for (int i = 0; i < 3 && n < max; i++)
		c[n++] = (struct mk_case){ MK_MEMCPY, "PAGE", 0,
			page_sizes[i] };
	return n;
}

static inline const char *
mk_size_str(size_t s, char *buf, size_t n)
{
	if (s >= ((size_t)1 << 20))
		snprintf(buf, n, "%zuMiB", s >> 20);
	else if (s >= 1024)
		snprintf(buf, n, "%zuKiB", s >> 10);
	else
		snprintf(buf, n, "%zuB", s);
	return buf;
}

#endif /* MEMOPS_KERNEL_H */
