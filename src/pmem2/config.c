/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config.c -- pmem2_config: how a source gets mapped. The setters validate
 * what they can on their own; everything that depends on the source is
 * checked by pmem2_map_new.
 */
#include <stdint.h>
#include <stdlib.h>

#include "libpmem2.h"
#include "config.h"
#include "errors.h"

void
pmem2_config_init(struct pmem2_config *cfg)
{
	cfg->offset = 0;
	cfg->length = 0;
	cfg->requested_granularity = PMEM2_GRANULARITY_INVALID;
	cfg->sharing = PMEM2_SHARED;
	cfg->protection = PMEM2_PROT_READ | PMEM2_PROT_WRITE;
	cfg->reserv = NULL;
	cfg->reserv_offset = 0;
	cfg->vdm = NULL;
}

int
pmem2_config_new(struct pmem2_config **cfg)
{
	*cfg = malloc(sizeof(**cfg));
	if (!*cfg) {
		ERR_ERRNO(ENOMEM, "cannot allocate a config");
		return -ENOMEM;
	}
	pmem2_config_init(*cfg);
	return 0;
}

int
pmem2_config_delete(struct pmem2_config **cfg)
{
	free(*cfg);
	*cfg = NULL;
	return 0;
}

int
pmem2_config_set_required_store_granularity(struct pmem2_config *cfg,
	enum pmem2_granularity g)
{
	switch (g) {
	case PMEM2_GRANULARITY_BYTE:
	case PMEM2_GRANULARITY_CACHE_LINE:
	case PMEM2_GRANULARITY_PAGE:
		break;
	default:
		ERR("granularity value %d is not one of BYTE, CACHE_LINE or PAGE",
			(int)g);
		return PMEM2_E_GRANULARITY_NOT_SUPPORTED;
	}
	cfg->requested_granularity = g;
	return 0;
}

int
pmem2_config_set_offset(struct pmem2_config *cfg, size_t offset)
{
	/* mmap takes an off_t: a larger offset can never be mapped */
	if (offset > (size_t)INT64_MAX) {
		ERR("offset is greater than INT64_MAX");
		return PMEM2_E_OFFSET_OUT_OF_RANGE;
	}
	cfg->offset = offset;
	return 0;
}

int
pmem2_config_set_length(struct pmem2_config *cfg, size_t length)
{
	cfg->length = length;
	return 0;
}

int
pmem2_config_set_sharing(struct pmem2_config *cfg,
	enum pmem2_sharing_type type)
{
	switch (type) {
	case PMEM2_SHARED:
	case PMEM2_PRIVATE:
		break;
	default:
		ERR("sharing value %d is not PMEM2_SHARED or PMEM2_PRIVATE",
			(int)type);
		return PMEM2_E_INVALID_SHARING_VALUE;
	}
	cfg->sharing = type;
	return 0;
}

int
pmem2_config_set_protection(struct pmem2_config *cfg, unsigned prot)
{
	const unsigned valid = PMEM2_PROT_READ | PMEM2_PROT_WRITE |
		PMEM2_PROT_EXEC;
	if (prot & ~valid) {
		ERR("protection flags %#x contain bits other than "
			"PMEM2_PROT_READ, PMEM2_PROT_WRITE and PMEM2_PROT_EXEC",
			prot);
		return PMEM2_E_INVALID_PROT_FLAG;
	}
	cfg->protection = prot;
	return 0;
}

int
pmem2_config_set_vm_reservation(struct pmem2_config *cfg,
	struct pmem2_vm_reservation *rsv, size_t offset)
{
	cfg->reserv = rsv;
	cfg->reserv_offset = offset;
	return 0;
}
