/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * static_reservation.c -- a program linked with libpmem2's static archive
 * that uses only virtual memory reservations (no map, so no memory
 * function pulls the CPU code in). The page size those check against is
 * set by the library's init (src/pmem2/init.c): the archive must still
 * link that init. A weak reference to it does not pull it in by itself,
 * so it is non-NULL only when the library's own objects did.
 */
#define _GNU_SOURCE
#include <unistd.h>
#include <libpmem2.h>

#include "test.h"

extern void pmem2_lib_init(void) __attribute__((weak));

int
main(void)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	struct pmem2_vm_reservation *r;
	CHECK_PMEM2_OK(pmem2_vm_reservation_new(&r, NULL, 16 * pg));
	CHECK_EQ(pmem2_vm_reservation_get_size(r), 16 * pg);
	CHECK_PMEM2_OK(pmem2_vm_reservation_delete(&r));
	if (pmem2_lib_init == NULL)
		FAIL("libpmem2's init (init.c) was not linked: the page size "
			"reservations check against was never read");
	printf("static_reservation: the library's init came with it\n");
	return 0;
}
