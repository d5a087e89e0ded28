/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * init.c -- libpmem2's start-up: every step, in order, in one place, run
 * once when the library is loaded (or, linked statically, before main).
 * No other file of the library has a constructor.
 */
#define _GNU_SOURCE
#include "common/cpu.h"
#include "memops.h"
#include "pmem2_utils.h"

__attribute__((constructor)) void
lib_init(void)
{
	cpu_init();		/* CPUID, PMEM_NO_CLWB, PMEM_NO_CLFLUSHOPT */
	pmem2_pagesize_init();
	pmem2_memops_init();	/* from what cpu_init() found */
}
