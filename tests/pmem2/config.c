/* SPDX-License-Identifier: BSD-3-Clause */
/* config.c -- every config setter: accepted values and rejected ones. */
#include <stdint.h>

#include "helpers.h"

int
main(void)
{
	struct pmem2_config *cfg;
	CHECK_PMEM2_OK(pmem2_config_new(&cfg));
	CHECK(cfg != NULL);

	CHECK_PMEM2_OK(pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_BYTE));
	CHECK_PMEM2_OK(pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_CACHE_LINE));
	CHECK_PMEM2_OK(pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE));
	CHECK_PMEM2_ERR(pmem2_config_set_required_store_granularity(cfg,
		(enum pmem2_granularity)(PMEM2_GRANULARITY_PAGE + 1)),
		PMEM2_E_GRANULARITY_NOT_SUPPORTED);

	CHECK_PMEM2_OK(pmem2_config_set_offset(cfg, 0));
	CHECK_PMEM2_OK(pmem2_config_set_offset(cfg, (size_t)INT64_MAX));
	CHECK_PMEM2_ERR(pmem2_config_set_offset(cfg, (size_t)INT64_MAX + 1),
		PMEM2_E_OFFSET_OUT_OF_RANGE);
	CHECK_PMEM2_ERR(pmem2_config_set_offset(cfg, SIZE_MAX),
		PMEM2_E_OFFSET_OUT_OF_RANGE);

	CHECK_PMEM2_OK(pmem2_config_set_length(cfg, 0));
	CHECK_PMEM2_OK(pmem2_config_set_length(cfg, SIZE_MAX));

	CHECK_PMEM2_OK(pmem2_config_set_sharing(cfg, PMEM2_SHARED));
	CHECK_PMEM2_OK(pmem2_config_set_sharing(cfg, PMEM2_PRIVATE));
	CHECK_PMEM2_ERR(pmem2_config_set_sharing(cfg,
		(enum pmem2_sharing_type)2), PMEM2_E_INVALID_SHARING_VALUE);

	const unsigned ok[] = { PMEM2_PROT_NONE, PMEM2_PROT_READ,
		PMEM2_PROT_WRITE, PMEM2_PROT_EXEC,
		PMEM2_PROT_READ | PMEM2_PROT_WRITE,
		PMEM2_PROT_READ | PMEM2_PROT_EXEC,
		PMEM2_PROT_READ | PMEM2_PROT_WRITE | PMEM2_PROT_EXEC };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		CHECK_PMEM2_OK(pmem2_config_set_protection(cfg, ok[i]));
	for (unsigned bit = 0; bit < 29; bit++)
		CHECK_PMEM2_ERR(pmem2_config_set_protection(cfg,
			PMEM2_PROT_READ | (1U << bit)),
			PMEM2_E_INVALID_PROT_FLAG);

	struct pmem2_vm_reservation *rsv;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	CHECK_PMEM2_OK(pmem2_vm_reservation_new(&rsv, NULL, pg));
	CHECK_PMEM2_OK(pmem2_config_set_vm_reservation(cfg, rsv, 12345));
	CHECK_PMEM2_OK(pmem2_config_set_vm_reservation(cfg, NULL, 0));
	CHECK_PMEM2_OK(pmem2_vm_reservation_delete(&rsv));

	CHECK_PMEM2_OK(pmem2_config_delete(&cfg));
	CHECK(cfg == NULL);
	CHECK_PMEM2_OK(pmem2_config_delete(&cfg));	/* NULL-safe */
	printf("ok\n");
	return 0;
}
