/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libpmem2/async.h -- asynchronous, durable data movement into a pmem2 map
 * through a libminiasync virtual data mover. Included by <libpmem2.h> when
 * PMEM2_USE_MINIASYNC is defined. See pmem2_async(7).
 *
 * When a future returned here reports COMPLETE, the bytes it wrote are
 * persistent for the map's granularity, whichever mover ran the operation,
 * unless PMEM2_F_MEM_NOFLUSH was passed.
 */
#ifndef LIBPMEM2_ASYNC_H
#define LIBPMEM2_ASYNC_H 1

#include <libpmem2/base.h>
#include <libminiasync/vdm.h>

#ifdef __cplusplus
extern "C" {
#endif

int pmem2_config_set_vdm(struct pmem2_config *cfg, struct vdm *vdm);

struct vdm_operation_future pmem2_memcpy_async(struct pmem2_map *map,
	void *pmemdest, const void *src, size_t len, unsigned flags);
struct vdm_operation_future pmem2_memmove_async(struct pmem2_map *map,
	void *pmemdest, const void *src, size_t len, unsigned flags);
struct vdm_operation_future pmem2_memset_async(struct pmem2_map *map,
	void *pmemdest, int c, size_t len, unsigned flags);
/* Makes [ptr, ptr+len) of the map persistent (a FLUSH operation). */
struct vdm_operation_future pmem2_persist_async(struct pmem2_map *map,
	void *ptr, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* LIBPMEM2_ASYNC_H */
