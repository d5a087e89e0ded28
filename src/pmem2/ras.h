/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ras.h -- what the core needs from the device layer: ras_ndctl.c (built
 * with libndctl/libdaxctl) or ras_none.c (without; everything NOSUPP).
 */
#ifndef PMEM2_RAS_H
#define PMEM2_RAS_H 1

#include <stddef.h>
#include "source.h"

/* Size and alignment of a device DAX source. */
int pmem2_devdax_size(const struct pmem2_source *src, size_t *size);
int pmem2_devdax_alignment(const struct pmem2_source *src, size_t *align);

/* The nd region holding the device DAX source (for deep flush). */
int pmem2_devdax_region_id(const struct pmem2_source *src, unsigned *id);

#endif /* PMEM2_RAS_H */
