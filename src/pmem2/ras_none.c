/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ras_none.c -- the device layer when libpmem2 is built without
 * libndctl/libdaxctl: nothing about the hardware can be read, so every RAS
 * call answers PMEM2_E_NOSUPP, and device DAX sizes are unknown.
 */
#include <stdint.h>
#include <stdlib.h>

#include "libpmem2.h"
#include "errors.h"
#include "source.h"
#include "ras.h"

int
pmem2_devdax_size(const struct pmem2_source *src, size_t *size)
{
	(void)src;
	(void)size;
	ERR("Cannot read the size of a device DAX - ndctl is not available");
	return PMEM2_E_NOSUPP;
}

int
pmem2_devdax_alignment(const struct pmem2_source *src, size_t *align)
{
	(void)src;
	(void)align;
	ERR("Cannot read the alignment of a device DAX - ndctl is not available");
	return PMEM2_E_NOSUPP;
}

int
pmem2_devdax_region_id(const struct pmem2_source *src, unsigned *id)
{
	(void)src;
	*id = 0;
	return 0;
}

int
pmem2_source_device_id(const struct pmem2_source *src, char *id, size_t *len)
{
	(void)id;
	(void)len;
	if (src->type == PMEM2_SOURCE_ANON) {
		ERR("an anonymous source has no device id");
		return PMEM2_E_NOSUPP;
	}
	ERR("Cannot read device id - ndctl is not available");
	return PMEM2_E_NOSUPP;
}

int
pmem2_source_device_usc(const struct pmem2_source *src, uint64_t *usc)
{
	(void)usc;
	if (src->type == PMEM2_SOURCE_ANON) {
		ERR("an anonymous source has no unsafe shutdown count");
		return PMEM2_E_NOSUPP;
	}
	ERR("Cannot read device usc - ndctl is not available");
	return PMEM2_E_NOSUPP;
}

int
pmem2_source_numa_node(const struct pmem2_source *src, int *numa_node)
{
	(void)numa_node;
	if (src->type == PMEM2_SOURCE_ANON) {
		ERR("an anonymous source has no NUMA node");
		return PMEM2_E_NOSUPP;
	}
	ERR("Cannot read NUMA node - ndctl is not available");
	return PMEM2_E_NOSUPP;
}

int
pmem2_badblock_context_new(struct pmem2_badblock_context **bbctx,
	const struct pmem2_source *src)
{
	*bbctx = NULL;
	if (src->type == PMEM2_SOURCE_ANON) {
		ERR("an anonymous source has no bad blocks");
		return PMEM2_E_NOSUPP;
	}
	ERR("Cannot read bad blocks - ndctl is not available");
	return PMEM2_E_NOSUPP;
}

int
pmem2_badblock_next(struct pmem2_badblock_context *bbctx,
	struct pmem2_badblock *bb)
{
	(void)bbctx;
	(void)bb;
	ERR("Cannot read bad blocks - ndctl is not available");
	return PMEM2_E_NOSUPP;
}

int
pmem2_badblock_clear(struct pmem2_badblock_context *bbctx,
	const struct pmem2_badblock *bb)
{
	(void)bbctx;
	(void)bb;
	ERR("Cannot clear bad blocks - ndctl is not available");
	return PMEM2_E_NOSUPP;
}

void
pmem2_badblock_context_delete(struct pmem2_badblock_context **bbctx)
{
	free(*bbctx);
	*bbctx = NULL;
}
