/* SPDX-License-Identifier: BSD-3-Clause */
/* config.h -- what a pmem2_config holds. */
#ifndef PMEM2_CONFIG_H
#define PMEM2_CONFIG_H 1

#include <stddef.h>
#include <libpmem2/base.h>

struct vdm;

/* The value of requested_granularity before the user sets one. */
#define PMEM2_GRANULARITY_INVALID ((enum pmem2_granularity)(-1))

struct pmem2_config {
	size_t offset;
	size_t length;		/* 0: to the end of the source */
	enum pmem2_granularity requested_granularity;
	enum pmem2_sharing_type sharing;
	unsigned protection;	/* PMEM2_PROT_* bits */
	struct pmem2_vm_reservation *reserv;
	size_t reserv_offset;
	struct vdm *vdm;	/* NULL: the map's default mover */
};

void pmem2_config_init(struct pmem2_config *cfg);

#endif /* PMEM2_CONFIG_H */
