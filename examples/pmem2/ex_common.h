/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ex_common.h -- what every example repeats: open (creating, at least
 * min_size bytes) a file and map all of it with a required granularity.
 */
#ifndef EX_COMMON_H
#define EX_COMMON_H 1

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpmem2.h>

struct ex_map {
	int fd;
	struct pmem2_source *src;
	struct pmem2_map *map;
	char *addr;
	size_t size;
};

/* Returns 0, or prints why not and returns -1. */
static inline int
ex_map_file(struct ex_map *m, const char *path, size_t min_size,
	enum pmem2_granularity gran)
{
	m->fd = open(path, O_RDWR | O_CREAT, 0644);
	if (m->fd < 0) {
		perror(path);
		return -1;
	}
	struct stat st;
	if (fstat(m->fd, &st) != 0 || ((size_t)st.st_size < min_size &&
			ftruncate(m->fd, (off_t)min_size) != 0)) {
		perror("fstat/ftruncate");
		close(m->fd);
		return -1;
	}
	struct pmem2_config *cfg;
	if (pmem2_config_new(&cfg)) {
		pmem2_perror("pmem2_config_new");
		close(m->fd);
		return -1;
	}
	int ret = -1;
	if (pmem2_source_from_fd(&m->src, m->fd)) {
		pmem2_perror("pmem2_source_from_fd");
		goto out;
	}
	if (pmem2_config_set_required_store_granularity(cfg, gran)) {
		pmem2_perror("pmem2_config_set_required_store_granularity");
		goto out;
	}
	if (pmem2_map_new(&m->map, cfg, m->src)) {
		pmem2_perror("pmem2_map_new");
		pmem2_source_delete(&m->src);
		goto out;
	}
	m->addr = pmem2_map_get_address(m->map);
	m->size = pmem2_map_get_size(m->map);
	ret = 0;
out:
	pmem2_config_delete(&cfg);
	if (ret)
		close(m->fd);
	return ret;
}

static inline void
ex_unmap(struct ex_map *m)
{
	pmem2_map_delete(&m->map);
	pmem2_source_delete(&m->src);
	close(m->fd);
}

#endif /* EX_COMMON_H */
