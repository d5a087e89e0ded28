/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libpmem2rep.h -- durable writes to a replica on another node, served by
 * pmem2-replicad over libfabric. See libpmem2rep(7).
 *
 * Every write returns a libminiasync future; it completes with VDM_SUCCESS
 * only after the daemon confirmed that the bytes are durable in the file it
 * serves. Any failure completes it with an error result within the
 * connection's timeout; it never hangs.
 */
#ifndef LIBPMEM2REP_H
#define LIBPMEM2REP_H 1

#include <stddef.h>
#include <libminiasync/vdm.h>
#include <libpmem2/base.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pmem2rep;

/* Connects to "HOST:PORT" and authenticates with the shared key file. */
int pmem2rep_connect(struct pmem2rep **rep, const char *target,
	const char *key_file);
/* The size of the region the daemon serves. */
size_t pmem2rep_size(const struct pmem2rep *rep);
/* Writes len bytes from src at offset of the replica, durably. */
struct vdm_operation_future pmem2rep_write_async(struct pmem2rep *rep,
	size_t offset, const void *src, size_t len, unsigned flags);
/*
 * pmem2_memcpy_async() into map and the same bytes at the same offset
 * (pmemdest minus the map's address) on the replica; completes when both
 * are durable.
 */
struct vdm_operation_future pmem2rep_memcpy_async(struct pmem2rep *rep,
	struct pmem2_map *map, void *pmemdest, const void *src, size_t len,
	unsigned flags);
/* Closes the connection; fails with -EBUSY while futures are unfinished. */
int pmem2rep_disconnect(struct pmem2rep **rep);
/* The last error of this thread, or "". */
const char *pmem2rep_errormsg(void);

#ifdef __cplusplus
}
#endif
#endif /* LIBPMEM2REP_H */
