/* SPDX-License-Identifier: BSD-3-Clause */
/* pmem2_config.c -- every config setter: accepted values and rejected ones. */
#include <stdint.h>

#include "helpers.h"

enum setter { S_GRANULARITY, S_OFFSET, S_LENGTH, S_SHARING };
static const char *Setter_names[] = { "set_required_store_granularity",
	"set_offset", "set_length", "set_sharing" };

/* Each setter with a value, and what it must return. */
static const struct {
	enum setter setter;
	uint64_t value;
	int want;
} Cases[] = {
	{ S_GRANULARITY, PMEM2_GRANULARITY_BYTE, 0 },
	{ S_GRANULARITY, PMEM2_GRANULARITY_CACHE_LINE, 0 },
	{ S_GRANULARITY, PMEM2_GRANULARITY_PAGE, 0 },
	{ S_GRANULARITY, PMEM2_GRANULARITY_PAGE + 1,
		PMEM2_E_GRANULARITY_NOT_SUPPORTED },
	{ S_OFFSET, 0, 0 },
	{ S_OFFSET, (uint64_t)INT64_MAX, 0 },
	{ S_OFFSET, (uint64_t)INT64_MAX + 1, PMEM2_E_OFFSET_OUT_OF_RANGE },
	{ S_OFFSET, SIZE_MAX, PMEM2_E_OFFSET_OUT_OF_RANGE },
	{ S_LENGTH, 0, 0 },
	{ S_LENGTH, SIZE_MAX, 0 },
	{ S_SHARING, PMEM2_SHARED, 0 },
	{ S_SHARING, PMEM2_PRIVATE, 0 },
	{ S_SHARING, 2, PMEM2_E_INVALID_SHARING_VALUE },
};

static int
set(struct pmem2_config *cfg, enum setter s, uint64_t v)
{
	switch (s) {
	case S_GRANULARITY:
		return pmem2_config_set_required_store_granularity(cfg,
			(enum pmem2_granularity)v);
	case S_OFFSET:
		return pmem2_config_set_offset(cfg, (size_t)v);
	case S_LENGTH:
		return pmem2_config_set_length(cfg, (size_t)v);
	case S_SHARING:
		return pmem2_config_set_sharing(cfg,
			(enum pmem2_sharing_type)v);
	}
	return -1;
}

int
main(void)
{
	struct pmem2_config *cfg;
	CHECK_PMEM2_OK(pmem2_config_new(&cfg));
	CHECK(cfg != NULL);

	for (size_t i = 0; i < sizeof(Cases) / sizeof(Cases[0]); i++) {
		int r = set(cfg, Cases[i].setter, Cases[i].value);
		if (r != Cases[i].want)
			FAIL("case %zu (%s %#llx): %d, expected %d: %s", i,
				Setter_names[Cases[i].setter],
				(unsigned long long)Cases[i].value, r,
				Cases[i].want, pmem2_errormsg());
		if (r != 0 && pmem2_errormsg()[0] == '\0')
			FAIL("case %zu: empty pmem2_errormsg()", i);
	}

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
