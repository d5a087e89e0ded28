/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * map.h -- what a pmem2_map holds, the registry of live maps, and the hooks
 * through which the async module attaches its per-map state.
 */
#ifndef PMEM2_MAP_H
#define PMEM2_MAP_H 1

#include <stddef.h>
#include <libpmem2/base.h>
#include "source.h"

struct vdm;
struct pmem2_ops;
struct pmem2_async;

struct pmem2_map {
	void *addr;
	size_t reserved_length;	/* page-rounded length mapped */
	size_t content_length;	/* what pmem2_map_get_size() reports */
	size_t offset;		/* into the source */
	enum pmem2_granularity effective_granularity;
	struct pmem2_source source;	/* a copy; fd is not kept */
	struct pmem2_vm_reservation *reserv;
	size_t reserv_offset;
	int from_existing;	/* pmem2_map_from_existing: never unmapped */
	int writable;		/* mapped with PROT_WRITE */
	const struct pmem2_ops *ops;	/* memops.h: this granularity's fns */
	struct vdm *user_vdm;	/* from the config; NULL if none */
	struct pmem2_async *async;	/* owned by src/pmem2/async/ */
	/*
	 * The first write-back error of the map's pages (-errno), kept for
	 * the map's lifetime: the kernel reports such an error once per open
	 * file, and pages whose write-back failed look clean afterwards, so
	 * a later sync of them succeeds without writing them. Atomic.
	 */
	int sync_err;
};

/* Maps that ever recorded a write-back error: 0 spares persist a lookup. */
extern int Pmem2_sync_err_maps;

/* Records a write-back error of map (the first one stays). */
static inline void
pmem2_map_set_sync_err(struct pmem2_map *map, int err)
{
	int zero = 0;
	if (__atomic_compare_exchange_n(&map->sync_err, &zero, err, 0,
			__ATOMIC_RELAXED, __ATOMIC_RELAXED))
		__atomic_fetch_add(&Pmem2_sync_err_maps, 1, __ATOMIC_RELAXED);
}

static inline int
pmem2_map_sync_err(const struct pmem2_map *map)
{
	return __atomic_load_n(&map->sync_err, __ATOMIC_RELAXED);
}

/* The registry of live maps, ordered by address (map_registry.c). */
int pmem2_registry_add(struct pmem2_map *map);	/* PMEM2_E_MAP_EXISTS */
int pmem2_registry_remove(struct pmem2_map *map);	/* MAPPING_NOT_FOUND */
/*
 * Calls fn for each registered map overlapping [addr, addr+len) in address
 * order, under the registry's read lock; stops at the first non-zero return
 * and returns it.
 */
int pmem2_registry_foreach(const void *addr, size_t len,
	int (*fn)(struct pmem2_map *map, void *arg), void *arg);

/*
 * msync(MS_SYNC) of the page-rounded [addr, addr+len), clipped to registered
 * maps; ranges outside any map are skipped. Returns 0 or -errno.
 */
int pmem2_page_sync(const void *addr, size_t len);
/* A sync of [addr, addr+len) failed with err: every map there keeps it. */
void pmem2_registry_sync_failed(const void *addr, size_t len, int err);
/* The recorded write-back error of a map in [addr, addr+len), or 0. */
int pmem2_registry_sync_err(const void *addr, size_t len);

/* msync(MS_SYNC) of [a, a+n), restarted after EINTR; 0 or -errno. */
int pmem2_msync_retry(uintptr_t a, size_t n);

/*
 * Async hooks (src/pmem2/async/): init is called by map_new and
 * map_from_existing after the map is set up, with what async needs to know
 * of the map (t; the descriptor is not kept: no descriptor, no thread). map_delete calls quiesce
 * before the memory goes away (the movers and the syncer are done with the
 * map; it stays usable if unmapping then fails) and fini once it is gone.
 * init returns 0 or a negative error code.
 */
struct pmem2_async_target {
	int fd;		/* the file's descriptor (open during init only), or -1 */
	void *addr;	/* the map's first byte */
	size_t length;	/* what pmem2_map_get_size() reports */
	long long file_offset;	/* of addr in the file; -1: unknown */
	int writable;	/* mapped with PROT_WRITE */
};
int pmem2_async_map_init(struct pmem2_map *map,
	const struct pmem2_async_target *t);
void pmem2_async_map_quiesce(struct pmem2_map *map);
void pmem2_async_map_fini(struct pmem2_map *map);

#endif /* PMEM2_MAP_H */
