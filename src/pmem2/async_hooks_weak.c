/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * async_hooks_weak.c -- no-op stand-ins for the async module's per-map hooks
 * (map.h), so that the core links before src/pmem2/async/ defines them.
 * The async area's strong definitions take precedence when they land.
 */
#include "map.h"

__attribute__((weak)) int
pmem2_async_map_init(struct pmem2_map *map, const struct pmem2_source *src)
{
	(void)map;
	(void)src;
	return 0;
}

__attribute__((weak)) void
pmem2_async_map_fini(struct pmem2_map *map)
{
	(void)map;
}
