/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * secure_env.c -- prints what the libraries chose from CPUID and the
 * environment (libpmem2's memory functions and write-back, libminiasync's
 * streaming engine) and whether the process runs in secure mode
 * (AT_SECURE: set-user-ID, set-group-ID or with capabilities).
 * secure_env.sh runs it as a set-group-ID program: the environment must
 * then change nothing.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/auxv.h>

/* internal, not in any public header: the archives' own names */
const char *pmem2_memops_variant(void);
const char *miniasync_nt_stream_variant(void);

int
main(void)
{
	printf("secure=%lu pmem2=%s miniasync=%s\n", getauxval(AT_SECURE),
		pmem2_memops_variant(), miniasync_nt_stream_variant());
	return 0;
}
