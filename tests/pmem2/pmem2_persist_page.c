/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmem2_persist_page.c -- PAGE granularity durability checked from outside the
 * library: after persist (or a flushing memcpy/memset) the kernel's page
 * cache reports no dirty or under-writeback page in the range (cachestat(2),
 * Linux 6.5+). Skips loudly where cachestat is missing or the directory is
 * not disk backed. A successful call leaves errno as it found it.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/vfs.h>

#include "helpers.h"

#define TMPFS_MAGIC_ 0x01021994

static int Fd;

static struct test_cstat
stat_range(size_t off, size_t len)
{
	struct test_cstat c;
	memset(&c, 0, sizeof(c));
	int ret = test_cachestat(Fd, off, len, &c);
	if (ret != 0) {
		if (ret == -ENOSYS)
			SKIP("cachestat() (syscall 451) is not available on this kernel: PAGE durability NOT checked");
		FAIL("cachestat: %s", strerror(-ret));
	}
	return c;
}

/* Not dirty and not being written back: on the disk already. */
static void
check_clean(size_t off, size_t len, const char *what)
{
	struct test_cstat c = stat_range(off, len);
	if (c.nr_dirty || c.nr_writeback)
		FAIL("%s: %llu dirty, %llu writeback pages in [%zu, +%zu)",
			what, (unsigned long long)c.nr_dirty,
			(unsigned long long)c.nr_writeback, off, len);
}

int
main(void)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	const char *dir = test_disk_dir();
	struct statfs sfs;
	if (statfs(dir, &sfs) != 0)
		SKIP("statfs %s: %s", dir, strerror(errno));
	if ((unsigned long)sfs.f_type == TMPFS_MAGIC_)
		SKIP("%s is tmpfs (no writeback): PAGE durability NOT checked",
			dir);

	char *path = test_path(dir, "persist");
	size_t size = 64 * pg;
	Fd = test_file(path, size, O_RDWR);
	/* allocate the blocks up front so writeback has nothing to defer */
	(void)posix_fallocate(Fd, 0, (off_t)size);
	fsync(Fd);
	(void)stat_range(0, size);	/* skips here if unsupported */

	struct pmem2_source *src;
	CHECK_PMEM2_OK(pmem2_source_from_fd(&src, Fd));
	struct pmem2_config *cfg = test_config(PMEM2_GRANULARITY_PAGE);
	struct pmem2_map *map;
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, src));
	CHECK_EQ(pmem2_map_get_store_granularity(map), PMEM2_GRANULARITY_PAGE);
	char *a = pmem2_map_get_address(map);

	/* dirty everything, persist a middle part (unaligned ends) */
	memset(a, 1, size);
	struct test_cstat before = stat_range(0, size);
	printf("after stores: %llu dirty of %llu cached\n",
		(unsigned long long)before.nr_dirty,
		(unsigned long long)before.nr_cache);
	errno = EDOM;
	pmem2_get_persist_fn(map)(a + 8 * pg + 100, 8 * pg);
	CHECK_EQ(errno, EDOM);
	check_clean(8 * pg, 9 * pg, "persist");

	/* flush (msync for PAGE) + drain */
	memset(a + 20 * pg, 2, 4 * pg);
	pmem2_get_flush_fn(map)(a + 20 * pg, 4 * pg);
	pmem2_get_drain_fn(map)();
	check_clean(20 * pg, 4 * pg, "flush+drain");

	/* memcpy / memset functions persist what they write */
	static char buf[16384];
	memset(buf, 3, sizeof(buf));
	errno = EDOM;
	pmem2_get_memcpy_fn(map)(a + 30 * pg + 5, buf, 3 * pg, 0);
	CHECK_EQ(errno, EDOM);
	check_clean(30 * pg, 4 * pg, "memcpy_fn");
	pmem2_get_memmove_fn(map)(a + 40 * pg, a + 40 * pg + 10, 2 * pg, 0);
	check_clean(40 * pg, 2 * pg, "memmove_fn");
	pmem2_get_memset_fn(map)(a + 50 * pg, 4, 5 * pg, 0);
	check_clean(50 * pg, 5 * pg, "memset_fn");

	/* and the whole map */
	pmem2_get_persist_fn(map)(a, size);
	check_clean(0, size, "persist of the whole map");

	CHECK_PMEM2_OK(pmem2_map_delete(&map));
	pmem2_config_delete(&cfg);
	pmem2_source_delete(&src);
	test_file_remove(path, Fd);
	printf("ok\n");
	return 0;
}
