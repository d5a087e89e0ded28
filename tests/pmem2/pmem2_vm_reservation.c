/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmem2_vm_reservation.c -- reservations holding several maps: placement,
 * map_find and its neighbours, extend, shrink from either end, re-use of a
 * deleted map's range, and a reservation at a caller-chosen address.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>

#include "helpers.h"

static size_t Pg;

static struct pmem2_map *
map_at(struct pmem2_vm_reservation *rsv, size_t roff,
	struct pmem2_source *src, size_t off, size_t len)
{
	struct pmem2_config *cfg = test_config_at(off, len, rsv, roff);
	struct pmem2_map *m;
	CHECK_PMEM2_OK(pmem2_map_new(&m, cfg, src));
	pmem2_config_delete(&cfg);
	return m;
}

int
main(void)
{
	Pg = (size_t)sysconf(_SC_PAGESIZE);
	const char *dir = test_dir();
	char *path[3];
	int fd[3];
	struct pmem2_source *src[3];
	for (int i = 0; i < 3; i++) {
		path[i] = test_path(dir, "rsv");
		fd[i] = test_file(path[i], 8 * Pg, O_RDWR);
		char tag = (char)('a' + i);
		for (size_t o = 0; o < 8 * Pg; o += Pg)
			CHECK_EQ(pwrite(fd[i], &tag, 1, (off_t)o), 1);
		CHECK_PMEM2_OK(pmem2_source_from_fd(&src[i], fd[i]));
	}

	struct pmem2_vm_reservation *rsv;
	CHECK_PMEM2_OK(pmem2_vm_reservation_new(&rsv, NULL, 32 * Pg));
	char *base = pmem2_vm_reservation_get_address(rsv);
	CHECK(base != NULL);
	CHECK_EQ(pmem2_vm_reservation_get_size(rsv), 32 * Pg);
	CHECK(((uintptr_t)base % (2UL << 20)) == 0);
	/* PROT_NONE until something is mapped */
	CHECK(test_faults(base, 0));

	/* three files side by side, out of address order */
	struct pmem2_map *m2 = map_at(rsv, 20 * Pg, src[2], 0, 8 * Pg);
	struct pmem2_map *m0 = map_at(rsv, 0, src[0], 0, 8 * Pg);
	struct pmem2_map *m1 = map_at(rsv, 8 * Pg, src[1], 2 * Pg, 4 * Pg);
	CHECK(pmem2_map_get_address(m0) == base);
	CHECK(pmem2_map_get_address(m1) == base + 8 * Pg);
	CHECK(pmem2_map_get_address(m2) == base + 20 * Pg);
	CHECK_EQ(base[0], 'a');
	CHECK_EQ(base[8 * Pg], 'b');
	CHECK_EQ(base[20 * Pg + 7 * Pg], 'c');
	CHECK(test_faults(base + 12 * Pg, 0));	/* the gap stays PROT_NONE */

	/* writes through one map land in its file */
	memcpy(base + 8 * Pg + 1, "in-b", 5);
	pmem2_get_persist_fn(m1)(base + 8 * Pg + 1, 5);
	char buf[5];
	CHECK_EQ(pread(fd[1], buf, 5, (off_t)(2 * Pg + 1)), 5);
	CHECK(memcmp(buf, "in-b", 5) == 0);

	/* finding maps */
	struct pmem2_map *f;
	CHECK_PMEM2_OK(pmem2_vm_reservation_map_find(rsv, 0, 32 * Pg, &f));
	CHECK(f == m0);
	CHECK_PMEM2_OK(pmem2_vm_reservation_map_find(rsv, 9 * Pg, Pg, &f));
	CHECK(f == m1);
	CHECK_PMEM2_OK(pmem2_vm_reservation_map_find(rsv, 12 * Pg, 9 * Pg, &f));
	CHECK(f == m2);
	CHECK_PMEM2_ERR(pmem2_vm_reservation_map_find(rsv, 12 * Pg, 8 * Pg,
		&f), PMEM2_E_MAPPING_NOT_FOUND);
	CHECK_PMEM2_OK(pmem2_vm_reservation_map_find_first(rsv, &f));
	CHECK(f == m0);
	CHECK_PMEM2_OK(pmem2_vm_reservation_map_find_last(rsv, &f));
	CHECK(f == m2);
	CHECK_PMEM2_OK(pmem2_vm_reservation_map_find_next(rsv, m0, &f));
	CHECK(f == m1);
	CHECK_PMEM2_OK(pmem2_vm_reservation_map_find_next(rsv, m1, &f));
	CHECK(f == m2);
	CHECK_PMEM2_ERR(pmem2_vm_reservation_map_find_next(rsv, m2, &f),
		PMEM2_E_MAPPING_NOT_FOUND);
	CHECK(f == NULL);
	CHECK_PMEM2_OK(pmem2_vm_reservation_map_find_prev(rsv, m2, &f));
	CHECK(f == m1);
	CHECK_PMEM2_ERR(pmem2_vm_reservation_map_find_prev(rsv, m0, &f),
		PMEM2_E_MAPPING_NOT_FOUND);

	/* a deleted map's range is PROT_NONE again and can be re-used */
	CHECK_PMEM2_OK(pmem2_map_delete(&m1));
	CHECK(test_faults(base + 8 * Pg, 0));
	CHECK_PMEM2_OK(pmem2_vm_reservation_map_find_next(rsv, m0, &f));
	CHECK(f == m2);
	m1 = map_at(rsv, 10 * Pg, src[1], 0, 8 * Pg);
	CHECK_EQ(base[10 * Pg], 'b');

	/* extend at the end, then map into the new part */
	CHECK_PMEM2_OK(pmem2_vm_reservation_extend(rsv, 8 * Pg));
	CHECK_EQ(pmem2_vm_reservation_get_size(rsv), 40 * Pg);
	struct pmem2_map *m3 = map_at(rsv, 32 * Pg, src[0], 0, 8 * Pg);
	CHECK_EQ(base[32 * Pg], 'a');
	CHECK_PMEM2_OK(pmem2_vm_reservation_map_find_last(rsv, &f));
	CHECK(f == m3);

	/* shrink: the tail, then the head (which moves the address) */
	CHECK_PMEM2_OK(pmem2_map_delete(&m3));
	CHECK_PMEM2_OK(pmem2_vm_reservation_shrink(rsv, 28 * Pg, 12 * Pg));
	CHECK_EQ(pmem2_vm_reservation_get_size(rsv), 28 * Pg);
	CHECK_PMEM2_OK(pmem2_map_delete(&m0));
	CHECK_PMEM2_OK(pmem2_vm_reservation_shrink(rsv, 0, 10 * Pg));
	CHECK(pmem2_vm_reservation_get_address(rsv) == base + 10 * Pg);
	CHECK_EQ(pmem2_vm_reservation_get_size(rsv), 18 * Pg);
	/* offsets are now relative to the new start */
	CHECK_PMEM2_OK(pmem2_vm_reservation_map_find(rsv, 0, Pg, &f));
	CHECK(f == m1);
	CHECK_PMEM2_OK(pmem2_vm_reservation_map_find(rsv, 10 * Pg, Pg, &f));
	CHECK(f == m2);
	/* the released head is really gone */
	void *probe = mmap(base, Pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		MAP_FIXED_NOREPLACE, -1, 0);
	CHECK(probe == base);
	munmap(probe, Pg);

	CHECK_PMEM2_OK(pmem2_map_delete(&m1));
	CHECK_PMEM2_OK(pmem2_map_delete(&m2));
	CHECK_PMEM2_OK(pmem2_vm_reservation_delete(&rsv));
	CHECK(rsv == NULL);

	/* a reservation at a chosen, free, address */
	void *want = base;
	CHECK_PMEM2_OK(pmem2_vm_reservation_new(&rsv, want, 4 * Pg));
	CHECK(pmem2_vm_reservation_get_address(rsv) == want);
	m0 = map_at(rsv, 0, src[2], 4 * Pg, 4 * Pg);
	CHECK_EQ(((char *)want)[0], 'c');
	CHECK_PMEM2_OK(pmem2_map_delete(&m0));
	CHECK_PMEM2_OK(pmem2_vm_reservation_delete(&rsv));

	for (int i = 0; i < 3; i++) {
		pmem2_source_delete(&src[i]);
		close(fd[i]);
		unlink(path[i]);
		free(path[i]);
	}
	printf("ok\n");
	return 0;
}
