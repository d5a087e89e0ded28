/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * autil.h -- what the async tests share: maps of a chosen granularity on a
 * fresh file, a pattern generator, and cachestat().
 */
#ifndef PMEM2_ASYNC_AUTIL_H
#define PMEM2_ASYNC_AUTIL_H 1

#define _GNU_SOURCE
#define PMEM2_USE_MINIASYNC 1
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <libpmem2.h>
#include "test.h"

struct amap {
	struct pmem2_map *map;
	char *addr;
	size_t size;
	int fd;
	char path[256];
	enum pmem2_granularity gran;
};

static inline const char *
gran_name(enum pmem2_granularity g)
{
	switch (g) {
	case PMEM2_GRANULARITY_BYTE:
		return "byte";
	case PMEM2_GRANULARITY_CACHE_LINE:
		return "cache_line";
	default:
		return "page";
	}
}

static inline int
gran_parse(const char *s, enum pmem2_granularity *g)
{
	if (strcmp(s, "byte") == 0)
		*g = PMEM2_GRANULARITY_BYTE;
	else if (strcmp(s, "cache_line") == 0)
		*g = PMEM2_GRANULARITY_CACHE_LINE;
	else if (strcmp(s, "page") == 0)
		*g = PMEM2_GRANULARITY_PAGE;
	else
		return -1;
	return 0;
}

static inline int
test_quick(void)
{
	const char *q = getenv("PMEM2_TEST_QUICK");
	return q && *q && strcmp(q, "0") != 0;
}

/*
 * Maps a new file of `size` bytes with granularity g: PAGE on a disk-backed
 * file (page cache, real writeback), CACHE_LINE and BYTE forced with
 * PMEM2_FORCE_GRANULARITY on a /dev/shm file. vdm NULL: the default mover.
 */
static inline void
amap_open(struct amap *m, enum pmem2_granularity g, size_t size,
	struct vdm *vdm)
{
	static unsigned seq;
	const char *dir = g == PMEM2_GRANULARITY_PAGE ? test_disk_dir() :
		test_dir();
	memset(m, 0, sizeof(*m));
	m->gran = g;
	m->size = size;
	snprintf(m->path, sizeof(m->path), "%s/pmem2_async_%d_%u", dir,
		(int)getpid(), __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
	m->fd = open(m->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (m->fd < 0)
		FAIL("open %s: %s", m->path, strerror(errno));
	if (ftruncate(m->fd, (off_t)size) != 0)
		FAIL("ftruncate %s: %s", m->path, strerror(errno));

	if (g == PMEM2_GRANULARITY_PAGE)
		unsetenv("PMEM2_FORCE_GRANULARITY");
	else
		setenv("PMEM2_FORCE_GRANULARITY", gran_name(g), 1);

	struct pmem2_source *src;
	struct pmem2_config *cfg;
	CHECK_PMEM2_OK(pmem2_source_from_fd(&src, m->fd));
	CHECK_PMEM2_OK(pmem2_config_new(&cfg));
	CHECK_PMEM2_OK(pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE));
	CHECK_EQ(pmem2_config_set_vdm(cfg, vdm), 0);
	CHECK_PMEM2_OK(pmem2_map_new(&m->map, cfg, src));
	CHECK_PMEM2_OK(pmem2_config_delete(&cfg));
	CHECK_PMEM2_OK(pmem2_source_delete(&src));
	unsetenv("PMEM2_FORCE_GRANULARITY");

	CHECK_EQ(pmem2_map_get_store_granularity(m->map), g);
	m->addr = pmem2_map_get_address(m->map);
	CHECK(pmem2_map_get_size(m->map) >= size);
	/* the map keeps its own descriptor for async syncs: ours may go */
	close(m->fd);
	m->fd = -1;
}

static inline void
amap_close(struct amap *m)
{
	CHECK_PMEM2_OK(pmem2_map_delete(&m->map));
	unlink(m->path);
}

/* Deterministic bytes that differ per seed and position. */
static inline void
pattern(void *buf, size_t len, unsigned seed)
{
	unsigned char *p = buf;
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

/* CHECK_MEM, with memcmp first (much cheaper under valgrind). */
#define CHECK_MEM_FAST(a, b, n) do { \
	if (memcmp((a), (b), (n)) != 0) \
		CHECK_MEM(a, b, n); \
} while (0)

/* ---- cachestat(2): Linux 6.5+, syscall 451 on every architecture ---- */
struct cstat_range {
	uint64_t off;
	uint64_t len;
};

struct cstat {
	uint64_t nr_cache;
	uint64_t nr_dirty;
	uint64_t nr_writeback;
	uint64_t nr_evicted;
	uint64_t nr_recently_evicted;
};

/* 0, or -errno (-ENOSYS: the kernel has no cachestat). */
static inline int
cachestat_fd(int fd, uint64_t off, uint64_t len, struct cstat *cs)
{
	struct cstat_range r = { off, len };
	if (syscall(451, fd, &r, cs, 0) != 0)
		return -errno;
	return 0;
}

/*
 * Fails the test when cachestat shows a dirty page in fd's page-rounded
 * [off, off+len): what a future that completed durably must not leave.
 * Returns 0, or -ENOSYS when the kernel has no cachestat (nothing checked).
 */
static inline int
check_no_dirty_page(int fd, uint64_t off, uint64_t len)
{
	uint64_t pg = 4096;
	uint64_t start = off & ~(pg - 1);
	uint64_t end = (off + len + pg - 1) & ~(pg - 1);
	struct cstat cs;
	int ret = cachestat_fd(fd, start, end - start, &cs);
	if (ret == -ENOSYS)
		return ret;
	CHECK_EQ(ret, 0);
	if (cs.nr_dirty != 0)
		FAIL("%llu dirty page(s) in [%llu, %llu) after COMPLETE",
			(unsigned long long)cs.nr_dirty,
			(unsigned long long)start, (unsigned long long)end);
	return 0;
}

#endif /* PMEM2_ASYNC_AUTIL_H */
