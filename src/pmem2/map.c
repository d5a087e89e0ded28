/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * map.c -- pmem2_map_new, pmem2_map_delete, pmem2_map_from_existing and the
 * map getters. Which granularity a new map gets is decided in granularity.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libpmem2.h"
#include "config.h"
#include "errors.h"
#include "granularity.h"
#include "map.h"
#include "memops.h"
#include "pmem2_utils.h"
#include "source.h"
#include "vm_reservation.h"

#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif

static int
prot_from_flags(unsigned p)
{
	int prot = PROT_NONE;
	if (p & PMEM2_PROT_READ)
		prot |= PROT_READ;
	if (p & PMEM2_PROT_WRITE)
		prot |= PROT_WRITE;
	if (p & PMEM2_PROT_EXEC)
		prot |= PROT_EXEC;
	return prot;
}

static int
mmap_errno_to_code(int e, const char *what, void *addr, size_t len)
{
	ERR_ERRNO(e, "%s(%p, %zu)", what, addr, len);
	switch (e) {
	case EACCES:
		return PMEM2_E_NO_ACCESS;
	case ENOTSUP:
		return PMEM2_E_NOSUPP;
	case EEXIST:
		return PMEM2_E_MAPPING_EXISTS;
	default:
		return e ? -e : -EINVAL;
	}
}

/*
 * mmap(MAP_FIXED) of the source over [addr, addr+len), which the caller
 * owns. Shared file maps try MAP_SYNC first; *map_sync says whether the
 * kernel took it, which granularity.c reads as "DAX: no msync needed".
 */
static int
map_fixed(void *addr, size_t len, int prot, enum pmem2_sharing_type sharing,
	const struct pmem2_source *src, size_t off, int *map_sync)
{
	int fd = -1;
	int flags = MAP_FIXED;
	if (src->type == PMEM2_SOURCE_ANON) {
		flags |= MAP_ANONYMOUS;
		off = 0;
	} else {
		fd = src->value.fd;
	}

	*map_sync = 0;
	if (sharing == PMEM2_PRIVATE) {
		flags |= MAP_PRIVATE;
	} else {
		void *p = mmap(addr, len, prot,
			flags | MAP_SHARED_VALIDATE | MAP_SYNC, fd, (off_t)off);
		if (p != MAP_FAILED) {
			*map_sync = 1;
			return 0;
		}
		if (errno != EINVAL && errno != ENOTSUP && errno != EOPNOTSUPP)
			return mmap_errno_to_code(errno, "mmap", addr, len);
		flags |= MAP_SHARED;
	}
	void *p = mmap(addr, len, prot, flags, fd, (off_t)off);
	if (p == MAP_FAILED)
		return mmap_errno_to_code(errno, "mmap", addr, len);
	return 0;
}

/* Re-covers a reservation's range with inaccessible memory. */
static int
mend_reservation_range(void *addr, size_t len)
{
	void *p = mmap(addr, len, PROT_NONE,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		ERR_ERRNO(e, "mmap(%p, %zu) to re-cover the reservation",
			addr, len);
		return e ? -e : -EINVAL;
	}
	return 0;
}

/*
 * pmem2_map_new in steps: validate the config against the source, place the
 * mapping (in a reservation or in a window of its own), ask granularity.c
 * what the mapping offers, fill in the map, register it, and last let the
 * async module attach. Each failure undoes the steps before it.
 */

/* What validation works out for the later steps. */
struct map_geometry {
	size_t align;		/* the source's: offset, length, address */
	size_t content_len;	/* what pmem2_map_get_size() reports */
	size_t reserved_len;	/* content_len rounded up to pages: mapped */
};

/* The range checks of map_validate, after the source's own. */
static int
map_validate_range(const struct pmem2_config *cfg, size_t src_size,
	struct map_geometry *geo)
{
	size_t end = cfg->offset + cfg->length;
	if (end < cfg->offset) {
		ERR("offset %zu + length %zu overflows", cfg->offset,
			cfg->length);
		return PMEM2_E_MAP_RANGE;
	}
	if (end > src_size) {
		ERR("offset %zu + length %zu is beyond the source size %zu",
			cfg->offset, cfg->length, src_size);
		return PMEM2_E_MAP_RANGE;
	}
	size_t content_len = cfg->length ? cfg->length : src_size - cfg->offset;
	if (content_len == 0) {
		ERR("offset %zu is at the end of the source: nothing to map",
			cfg->offset);
		return PMEM2_E_MAP_RANGE;
	}

	size_t reserved_len = PMEM2_ALIGN_UP(content_len, pmem2_pagesize());
	if (reserved_len < content_len) {
		ERR("length %zu is too large to map", content_len);
		return PMEM2_E_MAP_RANGE;
	}
	geo->content_len = content_len;
	geo->reserved_len = reserved_len;
	return 0;
}

/*
 * Step 1: the config against the source, nothing changed yet. The order of
 * the checks is upstream's: which error wins when several things are wrong
 * is part of the interface (tests/pmem2/map_check_order.c).
 */
static int
map_validate(const struct pmem2_config *cfg, const struct pmem2_source *src,
	struct map_geometry *geo)
{
	if (cfg->requested_granularity == PMEM2_GRANULARITY_INVALID) {
		ERR("no required store granularity was set in the config "
			"(pmem2_config_set_required_store_granularity)");
		return PMEM2_E_GRANULARITY_NOT_SET;
	}

	size_t align, src_size;
	int ret = pmem2_source_alignment(src, &align);
	if (ret)
		return ret;
	ret = pmem2_source_size(src, &src_size);
	if (ret)
		return ret;

	if (cfg->offset % align) {
		ERR("offset %zu is not a multiple of the source alignment %zu",
			cfg->offset, align);
		return PMEM2_E_OFFSET_UNALIGNED;
	}
	if (cfg->sharing == PMEM2_PRIVATE && src->type == PMEM2_SOURCE_FD &&
			src->value.ftype == PMEM2_FTYPE_DEVDAX) {
		ERR("a device DAX cannot be mapped PMEM2_PRIVATE");
		return PMEM2_E_SRC_DEVDAX_PRIVATE;
	}
	if (src_size == 0) {
		ERR("the source is empty (size 0)");
		return PMEM2_E_SOURCE_EMPTY;
	}
	if (cfg->length % align) {
		ERR("length %zu is not a multiple of the source alignment %zu",
			cfg->length, align);
		return PMEM2_E_LENGTH_UNALIGNED;
	}
	geo->align = align;
	return map_validate_range(cfg, src_size, geo);
}

/*
 * Step 2 with a reservation: checks the range there and maps over it. On
 * success the reservation stays write-locked until map_register (or
 * map_unplace) so no other map can take the range meanwhile; on failure it
 * is unlocked.
 */
static int
map_place_in_reservation(const struct pmem2_config *cfg,
	const struct pmem2_source *src, const struct map_geometry *geo,
	int prot, void **addr, int *map_sync)
{
	struct pmem2_vm_reservation *rsv = cfg->reserv;
	size_t roff = cfg->reserv_offset;
	size_t len = geo->reserved_len;
	size_t pg = pmem2_pagesize();
	int ret;

	pmem2_vm_reservation_wrlock(rsv);
	if (roff % pg) {
		ERR("reservation offset %zu is not a multiple of the page size %zu",
			roff, pg);
		ret = PMEM2_E_OFFSET_UNALIGNED;
		goto err_unlock;
	}
	if (roff > rsv->size || len > rsv->size - roff) {
		ERR("reservation offset %zu + length %zu is beyond the reservation size %zu",
			roff, len, rsv->size);
		ret = PMEM2_E_LENGTH_OUT_OF_RANGE;
		goto err_unlock;
	}
	*addr = (char *)rsv->addr + roff;
	if ((uintptr_t)*addr % geo->align) {
		ERR("address %p in the reservation is not a multiple of the source alignment %zu",
			*addr, geo->align);
		ret = PMEM2_E_ADDRESS_UNALIGNED;
		goto err_unlock;
	}
	if (pmem2_vm_reservation_find_locked(rsv, roff, len)) {
		ERR("reservation range %zu + %zu is already occupied by a map",
			roff, len);
		ret = PMEM2_E_MAPPING_EXISTS;
		goto err_unlock;
	}
	ret = map_fixed(*addr, len, prot, cfg->sharing, src, cfg->offset,
		map_sync);
	if (ret) {
		/* a failed MAP_FIXED may have dropped the old pages */
		mend_reservation_range(*addr, len);
		goto err_unlock;
	}
	return 0;

err_unlock:
	pmem2_vm_reservation_unlock(rsv);
	return ret;
}

/* Step 2 without a reservation: a fresh window of the map's own. */
static int
map_place_in_window(const struct pmem2_config *cfg,
	const struct pmem2_source *src, const struct map_geometry *geo,
	int prot, void **addr, int *map_sync)
{
	int ret = pmem2_reserve_aligned(geo->reserved_len, geo->align, addr);
	if (ret)
		return ret;
	ret = map_fixed(*addr, geo->reserved_len, prot, cfg->sharing, src,
		cfg->offset, map_sync);
	if (ret)
		munmap(*addr, geo->reserved_len);
	return ret;
}

/* Undoes step 2 of a map not registered; unlocks the reservation. */
static void
map_unplace(struct pmem2_vm_reservation *rsv, void *addr, size_t len)
{
	if (rsv) {
		mend_reservation_range(addr, len);
		pmem2_vm_reservation_unlock(rsv);
	} else {
		munmap(addr, len);
	}
}

/* Step 4: the map's fields, from what the earlier steps found. */
static void
map_fill(struct pmem2_map *map, const struct pmem2_config *cfg,
	const struct pmem2_source *src, const struct map_geometry *geo,
	void *addr, int prot, enum pmem2_granularity gran)
{
	map->addr = addr;
	map->reserved_length = geo->reserved_len;
	map->content_length = geo->content_len;
	map->offset = cfg->offset;
	map->effective_granularity = gran;
	map->source = *src;
	if (map->source.type == PMEM2_SOURCE_FD)
		map->source.value.fd = -1;	/* not ours to keep */
	map->reserv = cfg->reserv;
	map->reserv_offset = cfg->reserv ? cfg->reserv_offset : 0;
	map->from_existing = 0;
	map->writable = (prot & PROT_WRITE) != 0;
	map->ops = pmem2_ops_get(gran);
	map->user_vdm = cfg->vdm;
	map->async = NULL;
}

/*
 * Step 5: makes the map known to its reservation and to the registry, then
 * releases the reservation's lock taken in step 2. On failure nothing stays
 * registered and the lock is still held, for map_unplace.
 */
static int
map_register(struct pmem2_map *map)
{
	struct pmem2_vm_reservation *rsv = map->reserv;
	int ret;
	if (rsv) {
		ret = pmem2_vm_reservation_add_locked(rsv, map);
		if (ret)
			return ret;
	}
	ret = pmem2_registry_add(map);
	if (ret) {
		if (rsv)
			pmem2_vm_reservation_remove_locked(rsv, map);
		return ret;
	}
	if (rsv)
		pmem2_vm_reservation_unlock(rsv);
	return 0;
}

/* Undoes steps 2 to 5 of a registered map (its async set-up failed). */
static void
map_unregister_unplace(struct pmem2_map *map)
{
	pmem2_registry_remove(map);
	if (map->reserv) {
		pmem2_vm_reservation_wrlock(map->reserv);
		pmem2_vm_reservation_remove_locked(map->reserv, map);
		mend_reservation_range(map->addr, map->reserved_length);
		pmem2_vm_reservation_unlock(map->reserv);
	} else {
		munmap(map->addr, map->reserved_length);
	}
}

int
pmem2_map_new(struct pmem2_map **map_ptr, const struct pmem2_config *cfg,
	const struct pmem2_source *src)
{
	*map_ptr = NULL;

	struct map_geometry geo;
	int ret = map_validate(cfg, src, &geo);
	if (ret)
		return ret;

	struct pmem2_map *map = calloc(1, sizeof(*map));
	if (!map) {
		ERR_ERRNO(ENOMEM, "cannot allocate a map");
		return -ENOMEM;
	}

	int prot = prot_from_flags(cfg->protection);
	void *addr = NULL;
	int map_sync = 0;
	if (cfg->reserv)
		ret = map_place_in_reservation(cfg, src, &geo, prot, &addr,
			&map_sync);
	else
		ret = map_place_in_window(cfg, src, &geo, prot, &addr,
			&map_sync);
	if (ret)
		goto err_free;

	/* step 3: what the mapping offers, against what the config needs */
	enum pmem2_granularity avail =
		pmem2_granularity_available(src, cfg->sharing, map_sync);
	ret = pmem2_granularity_check(cfg->requested_granularity, avail);
	if (ret)
		goto err_unplace;

	map_fill(map, cfg, src, &geo, addr, prot, avail);
	ret = map_register(map);
	if (ret)
		goto err_unplace;

	struct pmem2_async_target at = {
		src->type == PMEM2_SOURCE_FD ? src->value.fd : -1,
		addr, geo.content_len, (long long)cfg->offset, map->writable,
	};
	ret = pmem2_async_map_init(map, &at);
	if (ret) {
		if (!pmem2_errormsg()[0])
			ERR("cannot set up the map's asynchronous operations");
		map_unregister_unplace(map);
		free(map);
		return ret;
	}

	*map_ptr = map;
	return 0;

err_unplace:
	map_unplace(cfg->reserv, addr, geo.reserved_len);
err_free:
	free(map);
	return ret;
}

int
pmem2_map_delete(struct pmem2_map **map_ptr)
{
	if (map_ptr == NULL || *map_ptr == NULL) {
		ERR("no map given (%s is NULL)", map_ptr ? "*map" : "map");
		return PMEM2_E_MAPPING_NOT_FOUND;
	}
	struct pmem2_map *map = *map_ptr;

	int ret = pmem2_registry_remove(map);
	if (ret)
		return ret;

	/* pending asynchronous work still writes to the range: finish it */
	pmem2_async_map_quiesce(map);

	if (!map->from_existing) {
		if (map->reserv) {
			struct pmem2_vm_reservation *rsv = map->reserv;
			pmem2_vm_reservation_wrlock(rsv);
			ret = mend_reservation_range(map->addr,
				map->reserved_length);
			if (ret == 0)
				pmem2_vm_reservation_remove_locked(rsv, map);
			pmem2_vm_reservation_unlock(rsv);
		} else if (munmap(map->addr, map->reserved_length) != 0) {
			int e = errno;
			ERR_ERRNO(e, "munmap(%p, %zu)", map->addr,
				map->reserved_length);
			ret = e ? -e : -EINVAL;
		}
		if (ret) {
			/* leave the map usable, as it was */
			pmem2_registry_add(map);
			return ret;
		}
	}

	pmem2_async_map_fini(map);
	free(map);
	*map_ptr = NULL;
	return 0;
}

int
pmem2_map_from_existing(struct pmem2_map **map_ptr,
	const struct pmem2_source *src, void *addr, size_t len,
	enum pmem2_granularity gran)
{
	*map_ptr = NULL;

	if ((unsigned)gran > PMEM2_GRANULARITY_PAGE) {
		ERR("granularity value %d is not one of BYTE, CACHE_LINE or PAGE",
			(int)gran);
		return PMEM2_E_GRANULARITY_NOT_SUPPORTED;
	}

	struct pmem2_map *map = calloc(1, sizeof(*map));
	if (!map) {
		ERR_ERRNO(ENOMEM, "cannot allocate a map");
		return -ENOMEM;
	}
	map->addr = addr;
	map->reserved_length = len;
	map->content_length = len;
	map->offset = 0;
	map->effective_granularity = gran;
	map->source = *src;
	map->reserv = NULL;
	map->reserv_offset = 0;
	map->from_existing = 1;
	map->writable = 1;	/* unknown; no descriptor to write through */
	map->ops = pmem2_ops_get(gran);
	map->user_vdm = NULL;
	map->async = NULL;

	int ret = pmem2_registry_add(map);
	if (ret) {
		free(map);
		return ret;
	}
	/* no file offset known: syncs are msync of the pages */
	struct pmem2_async_target at = { -1, addr, len, -1, 1 };
	ret = pmem2_async_map_init(map, &at);
	if (ret) {
		if (!pmem2_errormsg()[0])
			ERR("cannot set up the map's asynchronous operations");
		pmem2_registry_remove(map);
		free(map);
		return ret;
	}
	*map_ptr = map;
	return 0;
}

void *
pmem2_map_get_address(struct pmem2_map *map)
{
	return map->addr;
}

size_t
pmem2_map_get_size(struct pmem2_map *map)
{
	return map->content_length;
}

enum pmem2_granularity
pmem2_map_get_store_granularity(struct pmem2_map *map)
{
	return map->effective_granularity;
}
