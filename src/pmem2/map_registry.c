/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * map_registry.c -- every live pmem2_map (from map_new and map_from_existing)
 * in one balanced search tree ordered by address, under a reader-writer
 * lock, and the PAGE granularity sync that walks it.
 *
 * Registered ranges never overlap, so ordering by start address also orders
 * them by end address, and "the first map that ends after X" is one walk
 * down the tree. An AVL tree keeps insertion, removal and lookup O(log n)
 * in any order of creation and deletion: a sorted array had to move every
 * later entry on each insertion and removal, quadratic over many maps.
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

struct reg_node {
	struct pmem2_map *map;
	struct reg_node *left, *right;
	int height;		/* of the subtree; a leaf is 1 */
};

static struct reg_node *Reg_root;
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

/* ---- the AVL tree (all with the lock held) ---- */

static inline int
node_height(const struct reg_node *n)
{
	return n ? n->height : 0;
}

static inline void
node_fix_height(struct reg_node *n)
{
	int l = node_height(n->left), r = node_height(n->right);
	n->height = (l > r ? l : r) + 1;
}

static struct reg_node *
rotate_right(struct reg_node *n)
{
	struct reg_node *l = n->left;
	n->left = l->right;
	l->right = n;
	node_fix_height(n);
	node_fix_height(l);
	return l;
}

static struct reg_node *
rotate_left(struct reg_node *n)
{
	struct reg_node *r = n->right;
	n->right = r->left;
	r->left = n;
	node_fix_height(n);
	node_fix_height(r);
	return r;
}

/* Restores the AVL property at n, whose subtrees differ by at most 2. */
static struct reg_node *
rebalance(struct reg_node *n)
{
	node_fix_height(n);
	int bal = node_height(n->left) - node_height(n->right);
	if (bal > 1) {
		if (node_height(n->left->left) < node_height(n->left->right))
			n->left = rotate_left(n->left);
		return rotate_right(n);
	}
	if (bal < -1) {
		if (node_height(n->right->right) < node_height(n->right->left))
			n->right = rotate_right(n->right);
		return rotate_left(n);
	}
	return n;
}

/* Inserts node nn (a leaf, not overlapping any other) below n. */
static struct reg_node *
tree_insert(struct reg_node *n, struct reg_node *nn)
{
	if (n == NULL)
		return nn;
	if (reg_start(nn->map) < reg_start(n->map))
		n->left = tree_insert(n->left, nn);
	else
		n->right = tree_insert(n->right, nn);
	return rebalance(n);
}

/* Unlinks the leftmost node below n into *min. */
static struct reg_node *
tree_take_min(struct reg_node *n, struct reg_node **min)
{
	if (n->left == NULL) {
		*min = n;
		return n->right;
	}
	n->left = tree_take_min(n->left, min);
	return rebalance(n);
}

/* Unlinks the node holding map (starting at start) into *gone, if any. */
static struct reg_node *
tree_remove(struct reg_node *n, const struct pmem2_map *map,
	uintptr_t start, struct reg_node **gone)
{
	if (n == NULL)
		return NULL;
	if (start < reg_start(n->map)) {
		n->left = tree_remove(n->left, map, start, gone);
	} else if (start > reg_start(n->map)) {
		n->right = tree_remove(n->right, map, start, gone);
	} else {
		if (n->map != map)
			return n;	/* another map starts here: not ours */
		*gone = n;
		if (n->left == NULL)
			return n->right;
		if (n->right == NULL)
			return n->left;
		struct reg_node *min;
		struct reg_node *right = tree_take_min(n->right, &min);
		min->left = n->left;
		min->right = right;
		n = min;
	}
	return rebalance(n);
}

/* The first map whose end is above addr (NULL if none). */
static struct pmem2_map *
reg_first_ending_after(uintptr_t addr)
{
	struct pmem2_map *found = NULL;
	for (struct reg_node *n = Reg_root; n; ) {
		if (reg_end(n->map) <= addr) {
			n = n->right;
		} else {
			found = n->map;
			n = n->left;
		}
	}
	return found;
}

/* The map that follows m in address order (NULL if none). */
static struct pmem2_map *
reg_next(const struct pmem2_map *m)
{
	return reg_first_ending_after(reg_end(m));
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
	struct pmem2_map *o = reg_first_ending_after(start);
	if (o != NULL && reg_start(o) < end) {
		ERR("range %p + %zu overlaps a map already registered at %p + %zu",
			map->addr, map->content_length, o->addr,
			o->content_length);
		ret = PMEM2_E_MAP_EXISTS;
		goto out;
	}
	struct reg_node *nn = malloc(sizeof(*nn));
	if (nn == NULL) {
		ERR_ERRNO(ENOMEM, "cannot grow the map registry");
		ret = -ENOMEM;
		goto out;
	}
	nn->map = map;
	nn->left = nn->right = NULL;
	nn->height = 1;
	Reg_root = tree_insert(Reg_root, nn);
out:
	pthread_rwlock_unlock(&Reg_lock);
	return ret;
}

int
pmem2_registry_remove(struct pmem2_map *map)
{
	struct reg_node *gone = NULL;

	pthread_rwlock_wrlock(&Reg_lock);
	Reg_root = tree_remove(Reg_root, map, reg_start(map), &gone);
	pthread_rwlock_unlock(&Reg_lock);

	if (gone == NULL) {
		ERR("map %p is not registered (deleted already?)",
			(void *)map);
		return PMEM2_E_MAPPING_NOT_FOUND;
	}
	free(gone);
	return 0;
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
	for (struct pmem2_map *m = reg_first_ending_after(start);
			m != NULL && reg_start(m) < end; m = reg_next(m)) {
		ret = fn(m, arg);
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
	struct pmem2_map *m;
	for (m = reg_first_ending_after(start > pg ? start - pg : 0);
			m != NULL; m = reg_next(m)) {
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

static void
tree_free(struct reg_node *n)
{
	while (n != NULL) {
		tree_free(n->left);
		struct reg_node *r = n->right;
		free(n);
		n = r;
	}
}

__attribute__((destructor))
static void
registry_fini(void)
{
	pthread_rwlock_wrlock(&Reg_lock);
	tree_free(Reg_root);
	Reg_root = NULL;
	pthread_rwlock_unlock(&Reg_lock);
}
