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

void
lib_init(void)
{
	cpu_init();		/* CPUID, PMEM_NO_CLWB, PMEM_NO_CLFLUSHOPT */
	pmem2_pagesize_init();
	pmem2_memops_init();	/* from what cpu_init() found */
}

/*
 * The constructor's priority is not about order inside the library (that
 * is the order of the calls above) but against the program: linked
 * statically, the program's constructors and ours share one list, the
 * program's objects first, and a program's constructor calling us would
 * find nothing initialised (NULL memory functions). 101 is the first
 * priority left to programs, so this runs before any default-priority
 * one. A wrapper,
 * because gcc drops the priority of a function declared before without it
 * (lib_init, in cpu.h).
 */
__attribute__((constructor(101))) static void
lib_ctor(void)
{
	lib_init();
}
