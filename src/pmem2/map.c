/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * map.c -- pmem2_map_new, pmem2_map_delete, pmem2_map_from_existing and the
 * map getters, with the store granularity detection they rely on.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libpmem2.h"
#include "config.h"
#include "errors.h"
#include "map.h"
#include "map_internal.h"
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

#define MAP_ALIGN_2M (2UL << 20)
#define MAP_ALIGN_1G (1UL << 30)

#define ND_DEVICES_DIR "/sys/bus/nd/devices"

/*
 * eADR: the CPU caches are inside the persistence domain when every nd
 * region reports "cpu_cache". No regions at all (or anything unreadable)
 * means no.
 */
int
pmem2_eadr_detect(const char *nd_devices_dir)
{
	DIR *d = opendir(nd_devices_dir);
	if (!d)
		return 0;

	int regions = 0, all_cpu_cache = 1;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!strstr(de->d_name, "region"))
			continue;
		regions++;
		char path[512];
		snprintf(path, sizeof(path), "%s/%s/persistence_domain",
			nd_devices_dir, de->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			all_cpu_cache = 0;
			break;
		}
		char buf[32];
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n < 0) {
			all_cpu_cache = 0;
			break;
		}
		buf[n] = '\0';
		if (strcmp(buf, "cpu_cache\n") != 0) {
			all_cpu_cache = 0;
			break;
		}
	}
	closedir(d);
	return regions > 0 && all_cpu_cache;
}

/* PMEM2_FORCE_GRANULARITY, read at every map_new; -1 when unset/invalid. */
static int
forced_granularity(void)
{
	const char *v = secure_getenv("PMEM2_FORCE_GRANULARITY");
	if (!v || strlen(v) > 10)
		return -1;
	if (strcasecmp(v, "BYTE") == 0)
		return PMEM2_GRANULARITY_BYTE;
	if (strcasecmp(v, "CACHE_LINE") == 0 || strcasecmp(v, "CACHELINE") == 0)
		return PMEM2_GRANULARITY_CACHE_LINE;
	if (strcasecmp(v, "PAGE") == 0)
		return PMEM2_GRANULARITY_PAGE;
	return -1;
}

static enum pmem2_granularity
available_granularity(const struct pmem2_source *src,
	enum pmem2_sharing_type sharing, int map_sync)
{
	if (src->type == PMEM2_SOURCE_ANON || sharing == PMEM2_PRIVATE)
		return PMEM2_GRANULARITY_BYTE;
	int forced = forced_granularity();
	if (forced >= 0)
		return (enum pmem2_granularity)forced;
	if (!map_sync)
		return PMEM2_GRANULARITY_PAGE;
	if (!pmem2_eadr_detect(ND_DEVICES_DIR))
		return PMEM2_GRANULARITY_CACHE_LINE;
	return PMEM2_GRANULARITY_BYTE;
}

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
 * owns. Shared file maps try MAP_SYNC first: its success is what tells us
 * the stores reach persistence without msync.
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

/*
 * A private window of address space for one map, aligned to 2 MiB (1 GiB
 * for 2 GiB and more, never less than the source's alignment) so the
 * kernel can use huge pages.
 */
static int
reserve_window(size_t len, size_t src_align, void **out)
{
	size_t align = len >= 2 * MAP_ALIGN_1G ? MAP_ALIGN_1G : MAP_ALIGN_2M;
	if (align < src_align)
		align = src_align;
	size_t raw = len + align;
	if (raw < len) {
		ERR("length %zu is too large to map", len);
		return -ENOMEM;
	}
	char *p = mmap(NULL, raw, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
		MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return mmap_errno_to_code(errno, "mmap", NULL, raw);
	char *a = (char *)PMEM2_ALIGN_UP((uintptr_t)p, align);
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (a + len < p + raw)
		munmap(a + len, (size_t)(p + raw - (a + len)));
	*out = a;
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

static const char *
gran_name(enum pmem2_granularity g)
{
	switch (g) {
	case PMEM2_GRANULARITY_BYTE: return "BYTE";
	case PMEM2_GRANULARITY_CACHE_LINE: return "CACHE_LINE";
	case PMEM2_GRANULARITY_PAGE: return "PAGE";
	}
	return "?";
}

int
pmem2_map_new(struct pmem2_map **map_ptr, const struct pmem2_config *cfg,
	const struct pmem2_source *src)
{
	*map_ptr = NULL;
	int ret;

	if (cfg->requested_granularity == PMEM2_GRANULARITY_INVALID) {
		ERR("no required store granularity was set in the config "
			"(pmem2_config_set_required_store_granularity)");
		return PMEM2_E_GRANULARITY_NOT_SET;
	}

	size_t align;
	ret = pmem2_source_alignment(src, &align);
	if (ret)
		return ret;

	size_t src_size;
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

	size_t pg = pmem2_pagesize();
	size_t reserved_len = PMEM2_ALIGN_UP(content_len, pg);
	if (reserved_len < content_len) {
		ERR("length %zu is too large to map", content_len);
		return PMEM2_E_MAP_RANGE;
	}

	struct pmem2_map *map = calloc(1, sizeof(*map));
	if (!map) {
		ERR_ERRNO(ENOMEM, "cannot allocate a map");
		return -ENOMEM;
	}

	struct pmem2_vm_reservation *rsv = cfg->reserv;
	void *addr = NULL;
	int prot = prot_from_flags(cfg->protection);
	int map_sync = 0;

	if (rsv) {
		size_t roff = cfg->reserv_offset;
		pmem2_vm_reservation_wrlock(rsv);
		if (roff % pg) {
			ERR("reservation offset %zu is not a multiple of the page size %zu",
				roff, pg);
			ret = PMEM2_E_OFFSET_UNALIGNED;
			goto err_rsv_unlock;
		}
		if (roff > rsv->size || reserved_len > rsv->size - roff) {
			ERR("reservation offset %zu + length %zu is beyond the reservation size %zu",
				roff, reserved_len, rsv->size);
			ret = PMEM2_E_LENGTH_OUT_OF_RANGE;
			goto err_rsv_unlock;
		}
		addr = (char *)rsv->addr + roff;
		if ((uintptr_t)addr % align) {
			ERR("address %p in the reservation is not a multiple of the source alignment %zu",
				addr, align);
			ret = PMEM2_E_ADDRESS_UNALIGNED;
			goto err_rsv_unlock;
		}
		if (pmem2_vm_reservation_find_locked(rsv, roff, reserved_len)) {
			ERR("reservation range %zu + %zu is already occupied by a map",
				roff, reserved_len);
			ret = PMEM2_E_MAPPING_EXISTS;
			goto err_rsv_unlock;
		}
		ret = map_fixed(addr, reserved_len, prot, cfg->sharing, src,
			cfg->offset, &map_sync);
		if (ret) {
			/* a failed MAP_FIXED may have dropped the old pages */
			mend_reservation_range(addr, reserved_len);
			goto err_rsv_unlock;
		}
	} else {
		ret = reserve_window(reserved_len, align, &addr);
		if (ret)
			goto err_free;
		ret = map_fixed(addr, reserved_len, prot, cfg->sharing, src,
			cfg->offset, &map_sync);
		if (ret) {
			munmap(addr, reserved_len);
			goto err_free;
		}
	}

	enum pmem2_granularity avail =
		available_granularity(src, cfg->sharing, map_sync);
	if (avail > cfg->requested_granularity) {
		if (avail == PMEM2_GRANULARITY_PAGE) {
			ERR("requested granularity not available because fd doesn't point to DAX-enabled file or kernel doesn't support MAP_SYNC flag (Linux >= 4.15)");
		} else if (avail == PMEM2_GRANULARITY_CACHE_LINE) {
			ERR("requested granularity not available because the platform doesn't support eADR");
		} else {
			ERR("requested granularity %s is finer than the available %s",
				gran_name(cfg->requested_granularity),
				gran_name(avail));
		}
		ret = PMEM2_E_GRANULARITY_NOT_SUPPORTED;
		goto err_unmap;
	}

	map->addr = addr;
	map->reserved_length = reserved_len;
	map->content_length = content_len;
	map->offset = cfg->offset;
	map->effective_granularity = avail;
	map->source = *src;
	if (map->source.type == PMEM2_SOURCE_FD)
		map->source.value.fd = -1;	/* not ours to keep */
	map->reserv = rsv;
	map->reserv_offset = rsv ? cfg->reserv_offset : 0;
	map->from_existing = 0;
	map->writable = (prot & PROT_WRITE) != 0;
	map->ops = pmem2_ops_get(avail);
	map->user_vdm = cfg->vdm;
	map->async = NULL;

	if (rsv) {
		ret = pmem2_vm_reservation_add_locked(rsv, map);
		if (ret)
			goto err_unmap;
	}
	ret = pmem2_registry_add(map);
	if (ret)
		goto err_rsv_remove;
	if (rsv) {
		pmem2_vm_reservation_unlock(rsv);
		rsv = NULL;
	}

	struct pmem2_async_target at = {
		src->type == PMEM2_SOURCE_FD ? src->value.fd : -1,
		addr, content_len, (long long)cfg->offset, map->writable,
	};
	ret = pmem2_async_map_init(map, &at);
	if (ret) {
		if (!pmem2_errormsg()[0])
			ERR("cannot set up the map's asynchronous operations");
		pmem2_registry_remove(map);
		if (map->reserv) {
			pmem2_vm_reservation_wrlock(map->reserv);
			pmem2_vm_reservation_remove_locked(map->reserv, map);
			mend_reservation_range(addr, reserved_len);
			pmem2_vm_reservation_unlock(map->reserv);
		} else {
			munmap(addr, reserved_len);
		}
		free(map);
		return ret;
	}

	*map_ptr = map;
	return 0;

err_rsv_remove:
	if (rsv)
		pmem2_vm_reservation_remove_locked(rsv, map);
err_unmap:
	if (rsv)
		mend_reservation_range(addr, reserved_len);
	else
		munmap(addr, reserved_len);
err_rsv_unlock:
	if (rsv)
		pmem2_vm_reservation_unlock(rsv);
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
