/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * granularity.h -- which store granularity a new map gets (granularity.c).
 */
#ifndef PMEM2_GRANULARITY_H
#define PMEM2_GRANULARITY_H 1

#include <libpmem2/base.h>
#include "source.h"

/*
 * 1 when every nd region under nd_devices_dir (normally
 * /sys/bus/nd/devices) has "cpu_cache" as its persistence domain, and
 * there is at least one; 0 otherwise, or when anything cannot be read.
 * Not static so that tests can point it at a fake sysfs tree.
 */
int pmem2_eadr_detect(const char *nd_devices_dir);

/*
 * The finest granularity a map of src with this sharing offers, once mapped;
 * map_sync tells whether the MAP_SYNC mapping succeeded.
 */
enum pmem2_granularity pmem2_granularity_available(
	const struct pmem2_source *src, enum pmem2_sharing_type sharing,
	int map_sync);

/*
 * 0 when a map offering avail satisfies a request for req; otherwise sets
 * the message saying why not and returns PMEM2_E_GRANULARITY_NOT_SUPPORTED.
 */
int pmem2_granularity_check(enum pmem2_granularity req,
	enum pmem2_granularity avail);

#endif /* PMEM2_GRANULARITY_H */
