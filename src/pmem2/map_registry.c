/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * map_registry.c -- every live pmem2_map (from map_new and map_from_existing)
 * in one array sorted by address, under a reader-writer lock, and the PAGE
 * granularity sync that walks it.
 *
 * Registered ranges never overlap, so sorting by start address also sorts
 * them by end address, and "the first map that ends after X" is a binary
 * search. A sorted array beats a tree here: lookups (every PAGE persist)
 * vastly outnumber insertions (map_new), and the array is cache friendly.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libpmem2.h"
#include "errors.h"
#include "map.h"
#include "vg_quiet.h"
#include "pmem2_utils.h"

static pthread_rwlock_t Reg_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct pmem2_map **Reg_maps;
static size_t Reg_count;
static size_t Reg_cap;
static pthread_once_t Reg_atfork_once = PTHREAD_ONCE_INIT;

/*
 * fork(): a child must not inherit the lock held by a thread it does not
 * have (its map_new and map_delete would wait forever). Registered before
 * the async handlers (the first map is registered before its async state
 * exists), so this prepare handler runs after theirs: their locks are taken
 * first, as in a delete that persists while it holds one of them.
 */
static void
reg_fork_prepare(void)
{
	pthread_rwlock_wrlock(&Reg_lock);
}

static void
reg_fork_parent(void)
{
	pthread_rwlock_unlock(&Reg_lock);
}

static void
reg_fork_child(void)
{
	/*
	 * A new lock: glibc's unlock of a write lock compares the owner's
	 * thread id, and the child's thread has a new one.
	 */
	(void)pthread_rwlock_init(&Reg_lock, NULL);
}

static void
reg_atfork_register(void)
{
	(void)pthread_atfork(reg_fork_prepare, reg_fork_parent,
		reg_fork_child);
}

/* The registered extent: [addr, addr+content_length), empty counts as 1. */
static inline uintptr_t
reg_start(const struct pmem2_map *m)
{
	return (uintptr_t)m->addr;
}

static inline uintptr_t
reg_end(const struct pmem2_map *m)
{
	return (uintptr_t)m->addr + (m->content_length ? m->content_length : 1);
}

/* Index of the first map whose end is above addr (Reg_count if none). */
static size_t
reg_first_ending_after(uintptr_t addr)
{
	size_t lo = 0, hi = Reg_count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (reg_end(Reg_maps[mid]) <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
pmem2_registry_add(struct pmem2_map *map)
{
	uintptr_t start = reg_start(map);
	uintptr_t end = reg_end(map);
	int ret = 0;

	if (end < start) {
		ERR("range %p + %zu wraps around the address space",
			map->addr, map->content_length);
		return PMEM2_E_MAP_RANGE;
	}

	pthread_once(&Reg_atfork_once, reg_atfork_register);
	pthread_rwlock_wrlock(&Reg_lock);
	size_t i = reg_first_ending_after(start);
	if (i < Reg_count && reg_start(Reg_maps[i]) < end) {
		ERR("range %p + %zu overlaps a map already registered at %p + %zu",
			map->addr, map->content_length, Reg_maps[i]->addr,
			Reg_maps[i]->content_length);
		ret = PMEM2_E_MAP_EXISTS;
		goto out;
	}
	if (Reg_count == Reg_cap) {
		size_t ncap = Reg_cap ? Reg_cap * 2 : 64;
		struct pmem2_map **n = realloc(Reg_maps, ncap * sizeof(*n));
		if (!n) {
			ERR_ERRNO(ENOMEM, "cannot grow the map registry");
			ret = -ENOMEM;
			goto out;
		}
		Reg_maps = n;
		Reg_cap = ncap;
	}
	memmove(&Reg_maps[i + 1], &Reg_maps[i],
		(Reg_count - i) * sizeof(*Reg_maps));
	Reg_maps[i] = map;
	Reg_count++;
out:
	pthread_rwlock_unlock(&Reg_lock);
	return ret;
}

int
pmem2_registry_remove(struct pmem2_map *map)
{
	int ret = PMEM2_E_MAPPING_NOT_FOUND;

	pthread_rwlock_wrlock(&Reg_lock);
	size_t i = reg_first_ending_after(reg_start(map));
	if (i < Reg_count && Reg_maps[i] == map) {
		memmove(&Reg_maps[i], &Reg_maps[i + 1],
			(Reg_count - i - 1) * sizeof(*Reg_maps));
		Reg_count--;
		ret = 0;
	}
	pthread_rwlock_unlock(&Reg_lock);

	if (ret)
		ERR("map %p is not registered (deleted already?)", (void *)map);
	return ret;
}

int
pmem2_registry_foreach(const void *addr, size_t len,
	int (*fn)(struct pmem2_map *map, void *arg), void *arg)
{
	uintptr_t start = (uintptr_t)addr;
	uintptr_t end = start + len;
	int ret = 0;

	if (end < start)
		end = UINTPTR_MAX;

	pthread_rwlock_rdlock(&Reg_lock);
	for (size_t i = reg_first_ending_after(start);
			i < Reg_count && reg_start(Reg_maps[i]) < end; i++) {
		ret = fn(Reg_maps[i], arg);
		if (ret)
			break;
	}
	pthread_rwlock_unlock(&Reg_lock);
	return ret;
}

static int
mark_sync_err(struct pmem2_map *map, void *arg)
{
	pmem2_map_set_sync_err(map, *(int *)arg);
	return 0;
}

void
pmem2_registry_sync_failed(const void *addr, size_t len, int err)
{
	pmem2_registry_foreach(addr, len, mark_sync_err, &err);
}

int Pmem2_sync_err_maps;

static int
get_sync_err(struct pmem2_map *map, void *arg)
{
	(void)arg;
	return pmem2_map_sync_err(map);
}

int
pmem2_registry_sync_err(const void *addr, size_t len)
{
	if (__atomic_load_n(&Pmem2_sync_err_maps, __ATOMIC_RELAXED) == 0)
		return 0;
	return pmem2_registry_foreach(addr, len, get_sync_err, NULL);
}

static uintptr_t
page_size(void)
{
	return (uintptr_t)pmem2_pagesize();
}

int
pmem2_msync_retry(uintptr_t a, size_t n)
{
	int ret = 0;
	PMEM2_VG_QUIET_BEGIN();
	while (msync((void *)a, n, MS_SYNC) != 0) {
		if (errno != EINTR) {
			ret = errno ? -errno : -EINVAL;
			break;
		}
	}
	PMEM2_VG_QUIET_END();
	return ret;
}

/*
 * Under the read lock: the page-rounded span [*s, *e) of the first
 * registered map that reaches into [start, end), clipped to it. Returns 0
 * when no map does.
 */
static int
next_span(uintptr_t start, uintptr_t end, uintptr_t pg, uintptr_t *s,
	uintptr_t *e)
{
	int found = 0;
	pthread_rwlock_rdlock(&Reg_lock);
	/*
	 * A map's page-rounded span ends at most a page beyond its registered
	 * extent, so the first map whose registered end lies above
	 * `start - page` is the first whose span can reach `start`.
	 */
	size_t i = reg_first_ending_after(start > pg ? start - pg : 0);
	for (; i < Reg_count; i++) {
		struct pmem2_map *m = Reg_maps[i];
		uintptr_t ms = (uintptr_t)m->addr & ~(pg - 1);
		size_t rl = m->reserved_length > m->content_length ?
			m->reserved_length : m->content_length;
		uintptr_t me = ((uintptr_t)m->addr + rl + pg - 1) & ~(pg - 1);
		if (me <= start)
			continue;
		if (ms >= end)
			break;
		*s = start > ms ? start : ms;	/* skip the gap before it */
		*e = end < me ? end : me;
		found = 1;
		break;
	}
	pthread_rwlock_unlock(&Reg_lock);
	return found;
}

/*
 * msync runs without the registry lock, so that a slow write-back never
 * holds up map_new/map_delete in other threads. A map deleted meanwhile
 * makes msync fail with ENOMEM; if the span is no longer registered, that
 * is not an error (there is nothing left to persist).
 */
int
pmem2_page_sync(const void *addr, size_t len)
{
	if (len == 0)
		return 0;

	int olderrno = errno;
	uintptr_t pg = page_size();
	uintptr_t start = (uintptr_t)addr & ~(pg - 1);
	uintptr_t end = (uintptr_t)addr + len;
	if (end < (uintptr_t)addr)
		end = UINTPTR_MAX & ~(pg - 1);
	int ret = 0;
	uintptr_t s, e;

	while (start < end && next_span(start, end, pg, &s, &e)) {
		ret = pmem2_msync_retry(s, e - s);
		if (ret == -ENOMEM) {
			uintptr_t s2, e2;
			if (!next_span(s, e, pg, &s2, &e2) || s2 != s)
				ret = 0;	/* unmapped under us */
		}
		if (ret) {
			ERR_ERRNO(-ret, "msync(%p, %zu)", (void *)s,
				(size_t)(e - s));
			break;
		}
		start = e;
	}

	if (ret == 0)
		errno = olderrno;
	return ret;
}

__attribute__((destructor))
static void
registry_fini(void)
{
	pthread_rwlock_wrlock(&Reg_lock);
	free(Reg_maps);
	Reg_maps = NULL;
	Reg_count = Reg_cap = 0;
	pthread_rwlock_unlock(&Reg_lock);
}
