/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * async_delete_fail.c -- a pmem2_map_delete that fails leaves the map as it
 * was: its asynchronous operations go on working the same way, through the
 * same file descriptor, instead of falling back to something else.
 *
 * The unmapping is made to fail by this program's own munmap(), which
 * libpmem2's calls reach instead of libc's.
 */
#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include "helpers.h"

static int Fail_munmap;

int
munmap(void *addr, size_t len)
{
	if (__atomic_load_n(&Fail_munmap, __ATOMIC_RELAXED)) {
		errno = EINVAL;
		return -1;
	}
	return (int)syscall(SYS_munmap, addr, len);
}

static void
durable_copy(struct test_map *m, size_t off, unsigned seed)
{
	char buf[4096];
	test_pattern(buf, sizeof(buf), seed);
	struct vdm_operation_future f = pmem2_memcpy_async(m->map,
		m->addr + off, buf, sizeof(buf), 0);
	FUTURE_BUSY_POLL(&f);
	CHECK_EQ(f.output.result, VDM_SUCCESS);
	CHECK_MEM(m->addr + off, buf, sizeof(buf));
}

int
main(void)
{
	struct test_map m;
	test_map_open(&m, PMEM2_GRANULARITY_PAGE, 1 << 20, NULL);

	/* the file's descriptor exists once the first operation needed it */
	durable_copy(&m, 0, 1);
	int fds = test_count_fds();

	__atomic_store_n(&Fail_munmap, 1, __ATOMIC_RELAXED);
	struct pmem2_map *map = m.map;
	int ret = pmem2_map_delete(&map);
	__atomic_store_n(&Fail_munmap, 0, __ATOMIC_RELAXED);
	CHECK_EQ(ret, -EINVAL);
	CHECK(map == m.map);
	if (strstr(pmem2_errormsg(), "munmap") == NULL)
		FAIL("errormsg \"%s\" does not name munmap", pmem2_errormsg());

	/* still the same map, with the same descriptor */
	durable_copy(&m, 8192, 2);
	CHECK_EQ(test_count_fds(), fds);

	/* the bytes reach the file */
	int fd = open(m.path, O_RDONLY);
	CHECK(fd >= 0);
	char want[4096], got[4096];
	test_pattern(want, sizeof(want), 2);
	CHECK_EQ(pread(fd, got, sizeof(got), 8192), (ssize_t)sizeof(got));
	CHECK_MEM(got, want, sizeof(got));
	close(fd);

	test_map_close(&m);
	CHECK_EQ(test_count_fds(), fds - 1);
	printf("a failed pmem2_map_delete leaves the map working: OK\n");
	return 0;
}
