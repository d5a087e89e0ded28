/* SPDX-License-Identifier: BSD-3-Clause */
/* helpers_map.c -- the map fixture (links against whichever libpmem2). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

char *
test_path(const char *dir, const char *tag)
{
	static unsigned seq;
	char *p = test_alloc(512);
	snprintf(p, 512, "%s/pmem2-test-%s-%d-%u", dir, tag, (int)getpid(),
		__atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
	return p;
}

int
test_file(const char *path, size_t size, int flags)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		FAIL("open %s: %s", path, strerror(errno));
	if (ftruncate(fd, (off_t)size) != 0)
		FAIL("ftruncate %s: %s", path, strerror(errno));
	if (flags != O_RDWR) {
		close(fd);
		fd = open(path, flags);
		if (fd < 0)
			FAIL("open %s: %s", path, strerror(errno));
	}
	return fd;
}

void
test_file_remove(char *path, int fd)
{
	if (fd != -1)
		CHECK_EQ(close(fd), 0);
	CHECK_EQ(unlink(path), 0);
	free(path);
}

struct pmem2_source *
test_file_source(const char *dir, const char *tag, size_t size, char **path,
	int *fd)
{
	*path = test_path(dir, tag);
	*fd = test_file(*path, size, O_RDWR);
	struct pmem2_source *src;
	CHECK_PMEM2_OK(pmem2_source_from_fd(&src, *fd));
	return src;
}

struct pmem2_config *
test_config(enum pmem2_granularity g)
{
	struct pmem2_config *cfg;
	CHECK_PMEM2_OK(pmem2_config_new(&cfg));
	CHECK_PMEM2_OK(pmem2_config_set_required_store_granularity(cfg, g));
	return cfg;
}

struct pmem2_config *
test_config_at(size_t off, size_t len, struct pmem2_vm_reservation *rsv,
	size_t roff)
{
	struct pmem2_config *cfg = test_config(PMEM2_GRANULARITY_PAGE);
	CHECK_PMEM2_OK(pmem2_config_set_offset(cfg, off));
	CHECK_PMEM2_OK(pmem2_config_set_length(cfg, len));
	if (rsv)
		CHECK_PMEM2_OK(pmem2_config_set_vm_reservation(cfg, rsv,
			roff));
	return cfg;
}

void
test_map_open_in(struct test_map *m, const char *dir, const char *tag,
	size_t size, struct vdm *vdm,
	void (*cfg_hook)(struct pmem2_config *, void *), void *arg)
{
	memset(m, 0, sizeof(*m));
	m->size = size;
	snprintf(m->path, sizeof(m->path), "%s/pmem2-test-%s-%d", dir, tag,
		(int)getpid());
	m->fd = test_file(m->path, size, O_RDWR);
	CHECK_PMEM2_OK(pmem2_source_from_fd(&m->src, m->fd));
	m->cfg = test_config(PMEM2_GRANULARITY_PAGE);
	if (vdm)
		CHECK_EQ(pmem2_config_set_vdm(m->cfg, vdm), 0);
	if (cfg_hook)
		cfg_hook(m->cfg, arg);
	CHECK_PMEM2_OK(pmem2_map_new(&m->map, m->cfg, m->src));
	m->addr = pmem2_map_get_address(m->map);
	m->gran = (int)pmem2_map_get_store_granularity(m->map);
	CHECK(pmem2_map_get_size(m->map) >= size);
}

void
test_map_open(struct test_map *m, int g, size_t size, struct vdm *vdm)
{
	static unsigned seq;
	char tag[32];
	snprintf(tag, sizeof(tag), "g%u",
		__atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
	test_map_open_in(m, test_gran_dir(g), tag, size, vdm, NULL, NULL);
	unsetenv("PMEM2_FORCE_GRANULARITY");
	CHECK_EQ(m->gran, g);
	/* the map keeps its own descriptor for async syncs: ours may go */
	CHECK_PMEM2_OK(pmem2_config_delete(&m->cfg));
	CHECK_PMEM2_OK(pmem2_source_delete(&m->src));
	close(m->fd);
	m->fd = -1;
}

void
test_map_close(struct test_map *m)
{
	if (m->map)
		CHECK_PMEM2_OK(pmem2_map_delete(&m->map));
	if (m->cfg)
		pmem2_config_delete(&m->cfg);
	if (m->src)
		pmem2_source_delete(&m->src);
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	unlink(m->path);
}
