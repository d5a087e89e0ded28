/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * granularity.c -- the store granularity a new map gets.
 *
 * The granularity says what a program must do for a store to become
 * durable: BYTE nothing but a fence, CACHE_LINE a cache flush, PAGE an
 * msync. pmem2_map_new maps first and asks here afterwards, because the
 * strongest evidence is the mapping itself:
 *
 * - Anonymous and PMEM2_PRIVATE maps are never written back to a file, so
 *   there is nothing to make durable: BYTE.
 * - PMEM2_FORCE_GRANULARITY (BYTE, CACHE_LINE or CACHELINE, PAGE; any
 *   case) replaces what follows for shared file maps. It is read on every
 *   map_new so a test can change it between maps; an unknown value is
 *   ignored. It changes neither the mmap flags nor any check before.
 * - MAP_SYNC: map.c maps shared files with MAP_SHARED_VALIDATE|MAP_SYNC
 *   first. The kernel accepts that only for DAX, where the file's blocks
 *   cannot move under the mapping, so flushing the CPU cache is enough.
 *   Without it (page cache, or a kernel too old) only msync helps: PAGE.
 * - eADR: with MAP_SYNC, the CPU caches themselves are inside the
 *   persistence domain when the platform says so for every nvdimm region
 *   (sysfs "persistence_domain" reads "cpu_cache"): BYTE. Otherwise
 *   CACHE_LINE. Read on every map_new, like upstream.
 *
 * When the result is coarser than the config requires, map_new undoes the
 * mapping and fails with PMEM2_E_GRANULARITY_NOT_SUPPORTED and a message
 * naming the missing piece (MAP_SYNC/DAX or eADR).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "libpmem2.h"
#include "errors.h"
#include "granularity.h"
#include "common/env.h"

#define ND_DEVICES_DIR "/sys/bus/nd/devices"

/* 1 when the region's persistence_domain file reads "cpu_cache\n". */
static int
region_is_cpu_cache(const char *nd_devices_dir, const char *region)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s/persistence_domain",
		nd_devices_dir, region);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	char buf[32];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return 0;
	buf[n] = '\0';
	return strcmp(buf, "cpu_cache\n") == 0;
}

int
pmem2_eadr_detect(const char *nd_devices_dir)
{
	DIR *d = opendir(nd_devices_dir);
	if (!d)
		return 0;

	int regions = 0, all_cpu_cache = 1;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!strstr(de->d_name, "region"))
			continue;
		regions++;
		if (!region_is_cpu_cache(nd_devices_dir, de->d_name)) {
			all_cpu_cache = 0;
			break;
		}
	}
	closedir(d);
	return regions > 0 && all_cpu_cache;
}

/* PMEM2_FORCE_GRANULARITY; -1 when unset or not a known value. */
static int
forced_granularity(void)
{
	const char *v = env_get("PMEM2_FORCE_GRANULARITY");
	if (!v || strlen(v) > 10)
		return -1;
	if (strcasecmp(v, "BYTE") == 0)
		return PMEM2_GRANULARITY_BYTE;
	if (strcasecmp(v, "CACHE_LINE") == 0 || strcasecmp(v, "CACHELINE") == 0)
		return PMEM2_GRANULARITY_CACHE_LINE;
	if (strcasecmp(v, "PAGE") == 0)
		return PMEM2_GRANULARITY_PAGE;
	return -1;
}

enum pmem2_granularity
pmem2_granularity_available(const struct pmem2_source *src,
	enum pmem2_sharing_type sharing, int map_sync)
{
	if (src->type == PMEM2_SOURCE_ANON || sharing == PMEM2_PRIVATE)
		return PMEM2_GRANULARITY_BYTE;
	int forced = forced_granularity();
	if (forced >= 0)
		return (enum pmem2_granularity)forced;
	if (!map_sync)
		return PMEM2_GRANULARITY_PAGE;
	if (!pmem2_eadr_detect(ND_DEVICES_DIR))
		return PMEM2_GRANULARITY_CACHE_LINE;
	return PMEM2_GRANULARITY_BYTE;
}

static const char *
gran_name(enum pmem2_granularity g)
{
	switch (g) {
	case PMEM2_GRANULARITY_BYTE: return "BYTE";
	case PMEM2_GRANULARITY_CACHE_LINE: return "CACHE_LINE";
	case PMEM2_GRANULARITY_PAGE: return "PAGE";
	}
	return "?";
}

int
pmem2_granularity_check(enum pmem2_granularity req,
	enum pmem2_granularity avail)
{
	if (avail <= req)
		return 0;
	/* the first two are upstream's messages: programs may match on them */
	if (avail == PMEM2_GRANULARITY_PAGE) {
		ERR("requested granularity not available because fd doesn't point to DAX-enabled file or kernel doesn't support MAP_SYNC flag (Linux >= 4.15)");
	} else if (avail == PMEM2_GRANULARITY_CACHE_LINE) {
		ERR("requested granularity not available because the platform doesn't support eADR");
	} else {
		ERR("requested granularity %s is finer than the available %s",
			gran_name(req), gran_name(avail));
	}
	return PMEM2_E_GRANULARITY_NOT_SUPPORTED;
}
