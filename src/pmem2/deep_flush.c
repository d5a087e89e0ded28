/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * deep_flush.c -- pmem2_deep_flush: push a range of a map past the memory
 * controller's write-pending queues (device DAX), or through the page cache
 * (regular files).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libpmem2.h"
#include "errors.h"
#include "map.h"
#include "memops.h"
#include "pmem2_utils.h"
#include "ras.h"
#include "vg_quiet.h"

/*
 * Asks the region to flush its write-pending queues: writing "1" to
 * .../region<N>/deep_flush. A region without the file, or one that reads
 * "0" (nothing to flush), is left alone; failures here are not errors,
 * since the data is already on its way.
 */
static void
region_deep_flush(unsigned region_id)
{
	char path[128];
	snprintf(path, sizeof(path), "/sys/bus/nd/devices/region%u/deep_flush",
		region_id);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	char c[2] = {0};
	ssize_t n = read(fd, c, sizeof(c));
	if (n == 2 && c[0] == '0' && c[1] == '\n') {
		close(fd);
		return;
	}
	if (pwrite(fd, "1", 1, 0) != 1) {
		/* not fatal: the CPU caches were flushed already */
	}
	close(fd);
}

int
pmem2_deep_flush(struct pmem2_map *map, void *ptr, size_t size)
{
	uintptr_t start = (uintptr_t)map->addr;
	uintptr_t end = start + map->content_length;
	uintptr_t p = (uintptr_t)ptr;

	if (p < start || p > end || size > end - p) {
		ERR("range %p + %zu is not inside the map %p + %zu", ptr, size,
			map->addr, map->content_length);
		return PMEM2_E_DEEP_FLUSH_RANGE;
	}

	if (map->effective_granularity == PMEM2_GRANULARITY_PAGE) {
		/* persist (msync) already is the deepest flush; but say so
		 * if an earlier write-back failed (see map.h: sync_err) */
		int err = pmem2_map_sync_err(map);
		if (err) {
			ERR_ERRNO(-err, "an earlier write-back of the map failed");
			return err;
		}
		return 0;
	}

	if (map->source.type == PMEM2_SOURCE_ANON) {
		ERR("deep flush is not supported for anonymous memory");
		return PMEM2_E_NOSUPP;
	}

	if (map->source.value.ftype == PMEM2_FTYPE_DEVDAX) {
		map->ops->persist(ptr, size);
		unsigned id;
		int ret = pmem2_devdax_region_id(&map->source, &id);
		if (ret)
			return ret;
		region_deep_flush(id);
		return 0;
	}

	/* a file on a DAX file system: msync reaches the device */
	size_t pg = pmem2_pagesize();
	uintptr_t a = PMEM2_ALIGN_DOWN(p, pg);
	size_t len = size + (p - a);
	if (len == 0)
		return 0;
	PMEM2_VG_QUIET_BEGIN();
	int r = msync((void *)a, len, MS_SYNC);
	int e = errno;
	PMEM2_VG_QUIET_END();
	if (r != 0) {
		ERR_ERRNO(e, "msync(%p, %zu)", (void *)a, len);
		return e ? -e : -EINVAL;
	}
	return 0;
}
