/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmem2_deep_flush.c -- pmem2_deep_flush range checks and its per-granularity
 * behaviour on regular files (PAGE: nothing to do; CACHE_LINE/BYTE forced
 * on a /dev/shm file: msync of the pages) and anonymous maps (NOSUPP).
 */
#include <stdint.h>

#include "helpers.h"

static void
ranges(struct pmem2_map *map, int expect_ok)
{
	char *a = pmem2_map_get_address(map);
	size_t n = pmem2_map_get_size(map);
	int ok = expect_ok ? 0 : PMEM2_E_NOSUPP;

	CHECK_EQ(pmem2_deep_flush(map, a, n), ok);
	CHECK_EQ(pmem2_deep_flush(map, a + 1, n - 1), ok);
	CHECK_EQ(pmem2_deep_flush(map, a + n / 2, 3), ok);
	CHECK_EQ(pmem2_deep_flush(map, a + n - 1, 1), ok);
	CHECK_EQ(pmem2_deep_flush(map, a + n, 0), ok);
	CHECK_PMEM2_ERR(pmem2_deep_flush(map, a - 1, 1),
		PMEM2_E_DEEP_FLUSH_RANGE);
	CHECK_PMEM2_ERR(pmem2_deep_flush(map, a, n + 1),
		PMEM2_E_DEEP_FLUSH_RANGE);
	CHECK_PMEM2_ERR(pmem2_deep_flush(map, a + n - 1, 2),
		PMEM2_E_DEEP_FLUSH_RANGE);
	CHECK_PMEM2_ERR(pmem2_deep_flush(map, a + n + 4096, 1),
		PMEM2_E_DEEP_FLUSH_RANGE);
	CHECK_PMEM2_ERR(pmem2_deep_flush(map, a + 1, SIZE_MAX),
		PMEM2_E_DEEP_FLUSH_RANGE);
}

int
main(void)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	char *path;
	int fd;
	struct pmem2_source *src = test_file_source(test_dir(), "deepflush",
		8 * pg + 10, &path, &fd);

	static const char *force[] = { NULL, "CACHE_LINE", "BYTE" };
	for (int i = 0; i < 3; i++) {
		if (force[i])
			setenv("PMEM2_FORCE_GRANULARITY", force[i], 1);
		else
			unsetenv("PMEM2_FORCE_GRANULARITY");
		struct pmem2_config *cfg = test_config(PMEM2_GRANULARITY_PAGE);
		CHECK_PMEM2_OK(pmem2_config_set_offset(cfg, pg));
		struct pmem2_map *map;
		CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, src));
		memset(pmem2_map_get_address(map), i, pmem2_map_get_size(map));
		ranges(map, 1);
		CHECK_PMEM2_OK(pmem2_map_delete(&map));
		pmem2_config_delete(&cfg);
	}
	unsetenv("PMEM2_FORCE_GRANULARITY");

	struct pmem2_source *anon;
	CHECK_PMEM2_OK(pmem2_source_from_anon(&anon, 4 * pg));
	struct pmem2_config *cfg = test_config(PMEM2_GRANULARITY_PAGE);
	struct pmem2_map *map;
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, anon));
	ranges(map, 0);
	CHECK_PMEM2_OK(pmem2_map_delete(&map));
	pmem2_config_delete(&cfg);
	pmem2_source_delete(&anon);

	pmem2_source_delete(&src);
	test_file_remove(path, fd);
	printf("ok\n");
	return 0;
}
