/* SPDX-License-Identifier: BSD-3-Clause */
/* mcsafe.h -- the SIGBUS-guarded copy behind the mcsafe source I/O. */
#ifndef PMEM2_MCSAFE_H
#define PMEM2_MCSAFE_H 1

#include <stddef.h>
#include <libpmem2/base.h>

/* copy(dst, src, n, 0); a SIGBUS during it returns PMEM2_E_IO_FAIL. */
int pmem2_mcsafe_copy(void *dst, const void *src, size_t n,
	pmem2_memcpy_fn copy);

#endif /* PMEM2_MCSAFE_H */
