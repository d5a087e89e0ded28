/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmem2_granularity.c -- PMEM2_FORCE_GRANULARITY (run under several values by
 * ctest) decides the effective granularity of shared file maps; argv[1]
 * names the one expected. Private and anonymous maps are always BYTE.
 */
#include "helpers.h"

static enum pmem2_granularity
parse(const char *s)
{
	if (strcmp(s, "BYTE") == 0)
		return PMEM2_GRANULARITY_BYTE;
	if (strcmp(s, "CACHE_LINE") == 0)
		return PMEM2_GRANULARITY_CACHE_LINE;
	if (strcmp(s, "PAGE") == 0)
		return PMEM2_GRANULARITY_PAGE;
	FAIL("bad expected granularity %s", s);
}

int
main(int argc, char *argv[])
{
	if (argc < 2)
		FAIL("usage: %s BYTE|CACHE_LINE|PAGE", argv[0]);
	enum pmem2_granularity expect = parse(argv[1]);
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	char *path;
	int fd;
	struct pmem2_source *src = test_file_source(test_dir(), "gran",
		8 * pg, &path, &fd);

	/* every requirement at or above the forced level succeeds */
	for (int req = PMEM2_GRANULARITY_BYTE; req <= PMEM2_GRANULARITY_PAGE;
			req++) {
		struct pmem2_config *cfg = test_config((enum pmem2_granularity)req);
		struct pmem2_map *map;
		int r = pmem2_map_new(&map, cfg, src);
		if ((enum pmem2_granularity)req < expect) {
			CHECK_PMEM2_ERR(r, PMEM2_E_GRANULARITY_NOT_SUPPORTED);
			CHECK(map == NULL);
		} else {
			CHECK_PMEM2_OK(r);
			CHECK_EQ(pmem2_map_get_store_granularity(map), expect);
			char *a = pmem2_map_get_address(map);
			pmem2_get_memcpy_fn(map)(a + 10, "forced", 7, 0);
			pmem2_get_persist_fn(map)(a + 10, 7);
			pmem2_get_flush_fn(map)(a, 8 * pg);
			pmem2_get_drain_fn(map)();
			char buf[7];
			CHECK_EQ(pread(fd, buf, 7, 10), 7);
			CHECK(memcmp(buf, "forced", 7) == 0);
			CHECK_PMEM2_OK(pmem2_map_delete(&map));
		}
		pmem2_config_delete(&cfg);
	}

	/* the variable does not apply to PRIVATE maps */
	struct pmem2_config *cfg = test_config(PMEM2_GRANULARITY_BYTE);
	CHECK_PMEM2_OK(pmem2_config_set_sharing(cfg, PMEM2_PRIVATE));
	struct pmem2_map *map;
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, src));
	CHECK_EQ(pmem2_map_get_store_granularity(map), PMEM2_GRANULARITY_BYTE);
	CHECK_PMEM2_OK(pmem2_map_delete(&map));
	pmem2_config_delete(&cfg);

	/* nor to anonymous ones */
	struct pmem2_source *anon;
	CHECK_PMEM2_OK(pmem2_source_from_anon(&anon, 2 * pg));
	cfg = test_config(PMEM2_GRANULARITY_BYTE);
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, anon));
	CHECK_EQ(pmem2_map_get_store_granularity(map), PMEM2_GRANULARITY_BYTE);
	CHECK_PMEM2_OK(pmem2_map_delete(&map));
	pmem2_config_delete(&cfg);
	pmem2_source_delete(&anon);

	pmem2_source_delete(&src);
	test_file_remove(path, fd);
	printf("ok (%s)\n", argv[1]);
	return 0;
}
