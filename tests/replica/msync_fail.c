// SPDX-License-Identifier: BSD-3-Clause
/*
 * msync_fail.c -- preloaded into pmem2-replicad by replica_faults'
 * sync_error mode: the first msync() over a range holding a page that
 * begins with MSYNC_FAIL_MARK fails with EIO, once, the way the kernel
 * reports a write-back error once and then calls the lost pages clean
 * (see fsync(2) on errors). Every other call is the real msync().
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "msync_fail.h"

static atomic_int failed_once;

int
msync(void *addr, size_t len, int flags)
{
	static int (*real)(void *, size_t, int);
	if (real == NULL)
		real = (int (*)(void *, size_t, int))dlsym(RTLD_NEXT,
			"msync");
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	uintptr_t p = ((uintptr_t)addr + pg - 1) & ~(uintptr_t)(pg - 1);
	for (; p + sizeof(MSYNC_FAIL_MARK) <= (uintptr_t)addr + len; p += pg) {
		if (memcmp((void *)p, MSYNC_FAIL_MARK,
				sizeof(MSYNC_FAIL_MARK)) != 0)
			continue;
		if (atomic_exchange(&failed_once, 1))
			break;
		/* the lost page's bytes are gone, as after a failed write-back */
		(void)real(addr, len, flags);
		errno = EIO;
		return -1;
	}
	return real(addr, len, flags);
}
