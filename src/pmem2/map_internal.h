/* SPDX-License-Identifier: BSD-3-Clause */
/* map_internal.h -- map.c's pieces that tests reach directly. */
#ifndef PMEM2_MAP_INTERNAL_H
#define PMEM2_MAP_INTERNAL_H 1

/*
 * 1 when every nd region under nd_devices_dir (normally
 * /sys/bus/nd/devices) has "cpu_cache" as its persistence domain, and
 * there is at least one; 0 otherwise, or when anything cannot be read.
 */
int pmem2_eadr_detect(const char *nd_devices_dir);

#endif /* PMEM2_MAP_INTERNAL_H */
