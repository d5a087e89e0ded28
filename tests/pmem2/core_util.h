/* SPDX-License-Identifier: BSD-3-Clause */
/* core_util.h -- file helpers shared by the core's tests. */
#ifndef CORE_UTIL_H
#define CORE_UTIL_H 1

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpmem2.h>
#include "test.h"

/* A unique path in dir for this test; removed by the caller. */
static inline char *
tu_path(const char *dir, const char *tag)
{
	static unsigned seq;
	char *p = malloc(512);
	CHECK(p != NULL);
	snprintf(p, 512, "%s/pmem2_core_%s_%d_%u", dir, tag, (int)getpid(),
		seq++);
	return p;
}

/* Creates (truncating) a file of size bytes and opens it with flags. */
static inline int
tu_file(const char *path, size_t size, int flags)
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

static inline struct pmem2_config *
tu_config(enum pmem2_granularity g)
{
	struct pmem2_config *cfg;
	CHECK_PMEM2_OK(pmem2_config_new(&cfg));
	CHECK_PMEM2_OK(pmem2_config_set_required_store_granularity(cfg, g));
	return cfg;
}

static inline int
tu_quick(void)
{
	const char *q = getenv("PMEM2_TEST_QUICK");
	return q && *q && strcmp(q, "0") != 0;
}

#endif /* CORE_UTIL_H */
