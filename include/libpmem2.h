/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libpmem2.h -- persistent memory mappings and persistence. See libpmem2(7).
 * Define PMEM2_USE_MINIASYNC before including it for the asynchronous API
 * (which needs libminiasync's headers).
 */
#ifndef LIBPMEM2_H
#define LIBPMEM2_H 1

#include <libpmem2/base.h>

#ifdef PMEM2_USE_MINIASYNC
#include <libpmem2/async.h>
#endif

#endif /* LIBPMEM2_H */
