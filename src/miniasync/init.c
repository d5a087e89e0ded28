/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * init.c -- libminiasync's start-up: every step, in order, in one place,
 * run once when the library is loaded (or, linked statically, before
 * main). The threads mover's per-thread cache key is made by its own
 * constructor (data_mover_threads.c), which depends on nothing here.
 */
#define _GNU_SOURCE
#include "common/cpu.h"
#include "common/nt_stream.h"

__attribute__((constructor)) void
lib_init(void)
{
	cpu_init();		/* CPUID, PMEM_NO_CLWB, PMEM_NO_CLFLUSHOPT */
	nt_stream_init();	/* from what cpu_init() found */
}
