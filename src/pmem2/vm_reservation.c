/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vm_reservation.c -- pmem2_vm_reservation: a PROT_NONE range of address
 * space that maps can be placed into at chosen offsets. The maps inside
 * are kept in an address-sorted array under the reservation's rwlock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "libpmem2.h"
#include "errors.h"
#include "map.h"
#include "pmem2_utils.h"
#include "vm_reservation.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define RSV_ALIGN_2M (2UL << 20)
#define RSV_ALIGN_1G (1UL << 30)

void
pmem2_vm_reservation_wrlock(struct pmem2_vm_reservation *rsv)
{
	pthread_rwlock_wrlock(&rsv->lock);
}

void
pmem2_vm_reservation_unlock(struct pmem2_vm_reservation *rsv)
{
	pthread_rwlock_unlock(&rsv->lock);
}

static inline uintptr_t
m_start(const struct pmem2_map *m)
{
	return (uintptr_t)m->addr;
}

static inline uintptr_t
m_end(const struct pmem2_map *m)
{
	return (uintptr_t)m->addr + m->reserved_length;
}

/* Index of the first map ending above a (nmaps if none). */
static size_t
first_ending_after(struct pmem2_vm_reservation *rsv, uintptr_t a)
{
	size_t lo = 0, hi = rsv->nmaps;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m_end(rsv->maps[mid]) <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct pmem2_map *
pmem2_vm_reservation_find_locked(struct pmem2_vm_reservation *rsv,
	size_t off, size_t len)
{
	uintptr_t s = (uintptr_t)rsv->addr + off;
	uintptr_t e = s + len;
	size_t i = first_ending_after(rsv, s);
	if (i < rsv->nmaps && m_start(rsv->maps[i]) < e)
		return rsv->maps[i];
	return NULL;
}

static size_t
index_of(struct pmem2_vm_reservation *rsv, const struct pmem2_map *map)
{
	size_t i = first_ending_after(rsv, m_start(map));
	if (i < rsv->nmaps && rsv->maps[i] == map)
		return i;
	return SIZE_MAX;
}

int
pmem2_vm_reservation_add_locked(struct pmem2_vm_reservation *rsv,
	struct pmem2_map *map)
{
	if (rsv->nmaps == rsv->cap) {
		size_t ncap = rsv->cap ? rsv->cap * 2 : 8;
		struct pmem2_map **n = realloc(rsv->maps, ncap * sizeof(*n));
		if (!n) {
			ERR_ERRNO(ENOMEM, "cannot grow the reservation's map list");
			return -ENOMEM;
		}
		rsv->maps = n;
		rsv->cap = ncap;
	}
	size_t i = first_ending_after(rsv, m_start(map));
	memmove(&rsv->maps[i + 1], &rsv->maps[i],
		(rsv->nmaps - i) * sizeof(*rsv->maps));
	rsv->maps[i] = map;
	rsv->nmaps++;
	return 0;
}

int
pmem2_vm_reservation_remove_locked(struct pmem2_vm_reservation *rsv,
	struct pmem2_map *map)
{
	size_t i = index_of(rsv, map);
	if (i == SIZE_MAX) {
		ERR("map %p is not in reservation %p", (void *)map, (void *)rsv);
		return PMEM2_E_MAPPING_NOT_FOUND;
	}
	memmove(&rsv->maps[i], &rsv->maps[i + 1],
		(rsv->nmaps - i - 1) * sizeof(*rsv->maps));
	rsv->nmaps--;
	return 0;
}

/*
 * PROT_NONE over exactly [addr, addr+size), which must be free. Returns 0,
 * -errno with a message, or PMEM2_E_MAPPING_EXISTS without one: the caller
 * knows what the range is to the user.
 */
static int
claim_free_range(void *addr, size_t size)
{
	void *p = mmap(addr, size, PROT_NONE,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		if (e == EEXIST)
			return PMEM2_E_MAPPING_EXISTS;
		ERR_ERRNO(e, "mmap(%p, %zu)", addr, size);
		return e ? -e : -EINVAL;
	}
	if (p != addr) {
		/* a kernel without MAP_FIXED_NOREPLACE took it as a hint */
		munmap(p, size);
		return PMEM2_E_MAPPING_EXISTS;
	}
	return 0;
}

int
pmem2_reserve_aligned(size_t size, size_t min_align, void **out)
{
	size_t align = size >= 2 * RSV_ALIGN_1G ? RSV_ALIGN_1G : RSV_ALIGN_2M;
	if (align < min_align)
		align = min_align;
	size_t raw = size + align;
	if (raw < size) {
		ERR("%zu bytes with %zu alignment do not fit in the address space",
			size, align);
		return -ENOMEM;
	}
	char *p = mmap(NULL, raw, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		ERR_ERRNO(e, "mmap of %zu bytes of address space", raw);
		return e ? -e : -EINVAL;
	}
	char *a = (char *)PMEM2_ALIGN_UP((uintptr_t)p, align);
	if (a > p)
		munmap(p, (size_t)(a - p));
	char *end = p + raw;
	if (a + size < end)
		munmap(a + size, (size_t)(end - (a + size)));
	*out = a;
	return 0;
}

/* [addr, addr+size) exactly when addr is given (it must be free). */
static int
reserve_range(void *addr, size_t size, void **out)
{
	if (!addr)
		return pmem2_reserve_aligned(size, 0, out);
	int ret = claim_free_range(addr, size);
	if (ret == PMEM2_E_MAPPING_EXISTS)
		ERR("range %p + %zu is already (partly) mapped", addr, size);
	else if (ret == 0)
		*out = addr;
	return ret;
}

int
pmem2_vm_reservation_new(struct pmem2_vm_reservation **rsv_ptr,
	void *addr, size_t size)
{
	*rsv_ptr = NULL;
	size_t pg = pmem2_pagesize();

	if (addr && ((uintptr_t)addr % pg) != 0) {
		ERR("address %p is not a multiple of the page size %zu", addr,
			pg);
		return PMEM2_E_ADDRESS_UNALIGNED;
	}
	if (size % pg != 0) {
		ERR("size %zu is not a multiple of the page size %zu", size, pg);
		return PMEM2_E_LENGTH_UNALIGNED;
	}
	if (size == 0) {
		/* what mmap would say; upstream passes its -EINVAL through */
		ERR("a reservation cannot be empty (size 0)");
		return -EINVAL;
	}

	struct pmem2_vm_reservation *rsv = calloc(1, sizeof(*rsv));
	if (!rsv) {
		ERR_ERRNO(ENOMEM, "cannot allocate a reservation");
		return -ENOMEM;
	}
	int ret = pthread_rwlock_init(&rsv->lock, NULL);
	if (ret) {
		ERR_ERRNO(ret, "pthread_rwlock_init");
		free(rsv);
		return -ret;
	}
	ret = reserve_range(addr, size, &rsv->addr);
	if (ret) {
		pthread_rwlock_destroy(&rsv->lock);
		free(rsv);
		return ret;
	}
	rsv->size = size;
	*rsv_ptr = rsv;
	return 0;
}

int
pmem2_vm_reservation_delete(struct pmem2_vm_reservation **rsv_ptr)
{
	struct pmem2_vm_reservation *rsv = *rsv_ptr;

	pthread_rwlock_wrlock(&rsv->lock);
	if (rsv->nmaps) {
		pthread_rwlock_unlock(&rsv->lock);
		ERR("the reservation still holds %zu map(s)", rsv->nmaps);
		return PMEM2_E_VM_RESERVATION_NOT_EMPTY;
	}
	if (munmap(rsv->addr, rsv->size) != 0) {
		int e = errno;
		pthread_rwlock_unlock(&rsv->lock);
		ERR_ERRNO(e, "munmap(%p, %zu)", rsv->addr, rsv->size);
		return e ? -e : -EINVAL;
	}
	pthread_rwlock_unlock(&rsv->lock);
	pthread_rwlock_destroy(&rsv->lock);
	free(rsv->maps);
	free(rsv);
	*rsv_ptr = NULL;
	return 0;
}

void *
pmem2_vm_reservation_get_address(struct pmem2_vm_reservation *rsv)
{
	pthread_rwlock_rdlock(&rsv->lock);
	void *a = rsv->addr;
	pthread_rwlock_unlock(&rsv->lock);
	return a;
}

size_t
pmem2_vm_reservation_get_size(struct pmem2_vm_reservation *rsv)
{
	pthread_rwlock_rdlock(&rsv->lock);
	size_t s = rsv->size;
	pthread_rwlock_unlock(&rsv->lock);
	return s;
}

int
pmem2_vm_reservation_extend(struct pmem2_vm_reservation *rsv, size_t size)
{
	size_t pg = pmem2_pagesize();
	if (size % pg != 0) {
		ERR("size %zu is not a multiple of the page size %zu", size, pg);
		return PMEM2_E_LENGTH_UNALIGNED;
	}
	if (size == 0)
		return 0;

	pthread_rwlock_wrlock(&rsv->lock);
	char *end = (char *)rsv->addr + rsv->size;
	int ret = 0;
	if ((uintptr_t)end + size < (uintptr_t)end) {
		ERR("extending by %zu wraps around the address space", size);
		ret = PMEM2_E_LENGTH_OUT_OF_RANGE;
		goto out;
	}
	ret = claim_free_range(end, size);
	if (ret == PMEM2_E_MAPPING_EXISTS)
		ERR("the %zu bytes after the reservation are already mapped",
			size);
	else if (ret == 0)
		rsv->size += size;
out:
	pthread_rwlock_unlock(&rsv->lock);
	return ret;
}

/*
 * The checks of pmem2_vm_reservation_shrink that need the reservation's
 * size and maps (write lock held), in upstream's order.
 */
static int
shrink_check_locked(struct pmem2_vm_reservation *rsv, size_t offset,
	size_t size)
{
	if (offset >= rsv->size) {
		ERR("offset %zu is not below the reservation size %zu", offset,
			rsv->size);
		return PMEM2_E_OFFSET_OUT_OF_RANGE;
	}
	if (size == 0 || size > rsv->size - offset) {
		ERR("range %zu + %zu does not fit in the reservation of %zu bytes",
			offset, size, rsv->size);
		return PMEM2_E_LENGTH_OUT_OF_RANGE;
	}
	if (offset != 0 && offset + size != rsv->size) {
		ERR("only the start or the end of a reservation can be released");
		return PMEM2_E_NOSUPP;
	}
	if (offset == 0 && size == rsv->size) {
		ERR("releasing the whole reservation is not supported; "
			"use pmem2_vm_reservation_delete");
		return PMEM2_E_NOSUPP;
	}
	if (pmem2_vm_reservation_find_locked(rsv, offset, size)) {
		ERR("range %zu + %zu of the reservation holds a map", offset,
			size);
		return PMEM2_E_VM_RESERVATION_NOT_EMPTY;
	}
	return 0;
}

int
pmem2_vm_reservation_shrink(struct pmem2_vm_reservation *rsv, size_t offset,
	size_t size)
{
	size_t pg = pmem2_pagesize();
	if (offset % pg != 0) {
		ERR("offset %zu is not a multiple of the page size %zu", offset,
			pg);
		return PMEM2_E_OFFSET_UNALIGNED;
	}
	if (size % pg != 0) {
		ERR("size %zu is not a multiple of the page size %zu", size, pg);
		return PMEM2_E_LENGTH_UNALIGNED;
	}

	pthread_rwlock_wrlock(&rsv->lock);
	int ret = shrink_check_locked(rsv, offset, size);
	if (ret)
		goto out;
	char *start = (char *)rsv->addr + offset;
	if (munmap(start, size) != 0) {
		int e = errno;
		ERR_ERRNO(e, "munmap(%p, %zu)", (void *)start, size);
		ret = e ? -e : -EINVAL;
		goto out;
	}
	if (offset == 0)
		rsv->addr = start + size;
	rsv->size -= size;
out:
	pthread_rwlock_unlock(&rsv->lock);
	return ret;
}

static int
not_found(struct pmem2_map **out, const char *what)
{
	*out = NULL;
	ERR("no map %s in the reservation", what);
	return PMEM2_E_MAPPING_NOT_FOUND;
}

int
pmem2_vm_reservation_map_find(struct pmem2_vm_reservation *rsv,
	size_t reserv_offset, size_t len, struct pmem2_map **map)
{
	pthread_rwlock_rdlock(&rsv->lock);
	struct pmem2_map *m = NULL;
	if (reserv_offset < rsv->size && len) {
		size_t l = len > rsv->size - reserv_offset ?
			rsv->size - reserv_offset : len;
		m = pmem2_vm_reservation_find_locked(rsv, reserv_offset, l);
	}
	pthread_rwlock_unlock(&rsv->lock);
	if (!m)
		return not_found(map, "overlaps the range");
	*map = m;
	return 0;
}

int
pmem2_vm_reservation_map_find_first(struct pmem2_vm_reservation *rsv,
	struct pmem2_map **map)
{
	pthread_rwlock_rdlock(&rsv->lock);
	struct pmem2_map *m = rsv->nmaps ? rsv->maps[0] : NULL;
	pthread_rwlock_unlock(&rsv->lock);
	if (!m)
		return not_found(map, "at all");
	*map = m;
	return 0;
}

int
pmem2_vm_reservation_map_find_last(struct pmem2_vm_reservation *rsv,
	struct pmem2_map **map)
{
	pthread_rwlock_rdlock(&rsv->lock);
	struct pmem2_map *m = rsv->nmaps ? rsv->maps[rsv->nmaps - 1] : NULL;
	pthread_rwlock_unlock(&rsv->lock);
	if (!m)
		return not_found(map, "at all");
	*map = m;
	return 0;
}

int
pmem2_vm_reservation_map_find_prev(struct pmem2_vm_reservation *rsv,
	struct pmem2_map *map, struct pmem2_map **prev_map)
{
	pthread_rwlock_rdlock(&rsv->lock);
	struct pmem2_map *m = NULL;
	size_t i = index_of(rsv, map);
	if (i != SIZE_MAX && i > 0)
		m = rsv->maps[i - 1];
	pthread_rwlock_unlock(&rsv->lock);
	if (!m)
		return not_found(prev_map, i == SIZE_MAX ?
			"matches the given one" : "before the given one");
	*prev_map = m;
	return 0;
}

int
pmem2_vm_reservation_map_find_next(struct pmem2_vm_reservation *rsv,
	struct pmem2_map *map, struct pmem2_map **next_map)
{
	pthread_rwlock_rdlock(&rsv->lock);
	struct pmem2_map *m = NULL;
	size_t i = index_of(rsv, map);
	if (i != SIZE_MAX && i + 1 < rsv->nmaps)
		m = rsv->maps[i + 1];
	pthread_rwlock_unlock(&rsv->lock);
	if (!m)
		return not_found(next_map, i == SIZE_MAX ?
			"matches the given one" : "after the given one");
	*next_map = m;
	return 0;
}
