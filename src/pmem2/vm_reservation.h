/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vm_reservation.h -- what a pmem2_vm_reservation holds and how map.c
 * places maps in it.
 */
#ifndef PMEM2_VM_RESERVATION_H
#define PMEM2_VM_RESERVATION_H 1

#include <pthread.h>
#include <stddef.h>
#include "map.h"

struct pmem2_vm_reservation {
	void *addr;		/* [addr, addr + size) is PROT_NONE or maps */
	size_t size;
	pthread_rwlock_t lock;	/* guards maps[], nmaps, addr, size */
	struct pmem2_map **maps;	/* sorted by address, no overlaps */
	size_t nmaps;
	size_t cap;
};

/*
 * size bytes of fresh PROT_NONE address space, aligned to 2 MiB (1 GiB for
 * 2 GiB and more) and to min_align, so that huge pages can back what is
 * mapped there: the window of a reservation or of a map of its own.
 * 0, or -errno with a message.
 */
int pmem2_reserve_aligned(size_t size, size_t min_align, void **out);

/* Write lock held by the caller (map_new, map_delete) around these. */
void pmem2_vm_reservation_wrlock(struct pmem2_vm_reservation *rsv);
void pmem2_vm_reservation_unlock(struct pmem2_vm_reservation *rsv);

/* The first map overlapping [off, off+len) of the reservation, or NULL. */
struct pmem2_map *pmem2_vm_reservation_find_locked(
	struct pmem2_vm_reservation *rsv, size_t off, size_t len);
int pmem2_vm_reservation_add_locked(struct pmem2_vm_reservation *rsv,
	struct pmem2_map *map);
int pmem2_vm_reservation_remove_locked(struct pmem2_vm_reservation *rsv,
	struct pmem2_map *map);

#endif /* PMEM2_VM_RESERVATION_H */
