/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rutil.h -- small helpers the reliability tests share: a mapped test file
 * of a chosen granularity, a deterministic PRNG, quick mode.
 */
#ifndef PMEM2_RUTIL_H
#define PMEM2_RUTIL_H 1

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpmem2.h>
#include "test.h"

static inline int
rt_quick(void)
{
	const char *q = getenv("PMEM2_TEST_QUICK");
	return q && *q && strcmp(q, "0") != 0;
}

/* xorshift64*: deterministic, seedable, good enough for test inputs. */
static inline uint64_t
rt_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static inline uint64_t
rt_seed(void)
{
	const char *s = getenv("PMEM2_TEST_SEED");
	if (s && *s)
		return strtoull(s, NULL, 0);
	return 0x5eed0000ULL ^ (uint64_t)getpid();
}

/* "page" | "cache_line" | "byte" -> enum; -1 if none of these. */
static inline int
rt_gran_parse(const char *s)
{
	if (!s)
		return -1;
	if (strcmp(s, "page") == 0)
		return PMEM2_GRANULARITY_PAGE;
	if (strcmp(s, "cache_line") == 0)
		return PMEM2_GRANULARITY_CACHE_LINE;
	if (strcmp(s, "byte") == 0)
		return PMEM2_GRANULARITY_BYTE;
	return -1;
}

static inline const char *
rt_gran_name(int g)
{
	switch (g) {
	case PMEM2_GRANULARITY_PAGE: return "page";
	case PMEM2_GRANULARITY_CACHE_LINE: return "cache_line";
	case PMEM2_GRANULARITY_BYTE: return "byte";
	}
	return "?";
}

struct rt_map {
	char path[512];
	int fd;
	struct pmem2_source *src;
	struct pmem2_config *cfg;
	struct pmem2_map *map;
	void *addr;
	size_t size;
	int gran;		/* effective */
};

/*
 * Creates `size` bytes in dir (a fresh file) and maps it, requesting PAGE
 * granularity (the weakest) so that whatever the file offers, or
 * PMEM2_FORCE_GRANULARITY forces, is what the map gets. cfg_hook (may be
 * NULL) can change the config (e.g. set a vdm) before map_new.
 */
static inline void
rt_map_open(struct rt_map *m, const char *dir, const char *tag, size_t size,
	void (*cfg_hook)(struct pmem2_config *, void *), void *arg)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->path, sizeof(m->path), "%s/pmem2-rel-%s-%d", dir, tag,
		(int)getpid());
	m->fd = open(m->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (m->fd < 0)
		FAIL("open %s: %s", m->path, strerror(errno));
	if (ftruncate(m->fd, (off_t)size) != 0)
		FAIL("ftruncate %s: %s", m->path, strerror(errno));
	CHECK_PMEM2_OK(pmem2_source_from_fd(&m->src, m->fd));
	CHECK_PMEM2_OK(pmem2_config_new(&m->cfg));
	CHECK_PMEM2_OK(pmem2_config_set_required_store_granularity(m->cfg,
		PMEM2_GRANULARITY_PAGE));
	if (cfg_hook)
		cfg_hook(m->cfg, arg);
	CHECK_PMEM2_OK(pmem2_map_new(&m->map, m->cfg, m->src));
	m->addr = pmem2_map_get_address(m->map);
	m->size = pmem2_map_get_size(m->map);
	m->gran = (int)pmem2_map_get_store_granularity(m->map);
}

static inline void
rt_map_close(struct rt_map *m)
{
	if (m->map)
		CHECK_PMEM2_OK(pmem2_map_delete(&m->map));
	pmem2_config_delete(&m->cfg);
	pmem2_source_delete(&m->src);
	if (m->fd >= 0)
		close(m->fd);
	unlink(m->path);
	m->fd = -1;
}

/* Sets PMEM2_FORCE_GRANULARITY for the wanted one (unset for page). */
static inline const char *
rt_dir_for(int gran)
{
	if (gran == PMEM2_GRANULARITY_PAGE) {
		unsetenv("PMEM2_FORCE_GRANULARITY");
		return test_disk_dir();
	}
	setenv("PMEM2_FORCE_GRANULARITY", rt_gran_name(gran), 1);
	return test_dir();
}

#endif /* PMEM2_RUTIL_H */
