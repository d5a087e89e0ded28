/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * async_page_nofd.c -- durable writes to a PAGE map when libpmem2 cannot
 * open the file again: the process is out of descriptors (RLIMIT_NOFILE
 * reached). The futures must still complete successfully, through stores
 * and msync of the pages, without opening anything; the bytes are read
 * back from the file once descriptors can be had again. Then, with the
 * limit raised, the same map gets its descriptor again.
 */
#include "helpers.h"

static void
durable_copies(struct test_map *m, unsigned seed0)
{
	enum { N = 16 };
	static char buf[N][4096];
	struct vdm_operation_future f[N];
	for (unsigned k = 0; k < N; k++) {
		test_pattern(buf[k], 4096, seed0 + k);
		f[k] = pmem2_memcpy_async(m->map, m->addr + k * 4096, buf[k],
			4096, 0);
	}
	for (unsigned k = 0; k < N; k++) {
		FUTURE_BUSY_POLL(&f[k]);
		if (f[k].output.result != VDM_SUCCESS)
			FAIL("write %u: result %d: %s", k,
				(int)f[k].output.result, pmem2_errormsg());
	}
}

static void
check_file(const char *path, unsigned seed0)
{
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	char want[4096], got[4096];
	for (unsigned k = 0; k < 16; k++) {
		test_pattern(want, sizeof(want), seed0 + k);
		CHECK_EQ(pread(fd, got, sizeof(got), (off_t)k * 4096),
			(ssize_t)sizeof(got));
		CHECK_MEM(got, want, sizeof(got));
	}
	close(fd);
}

int
main(void)
{
	struct test_map m;
	test_map_open(&m, PMEM2_GRANULARITY_PAGE, 1 << 20, NULL);

	/* the free numbers below the limit taken: none left to open */
	static struct test_fds gone;
	test_fds_take(&gone);
	CHECK(gone.n >= 1);
	/* opendir needs one: count with one given back */
	close(gone.fill[--gone.n]);
	int fds = test_count_fds();
	gone.fill[gone.n] = open("/dev/null", O_RDONLY);
	CHECK(gone.fill[gone.n++] >= 0);

	durable_copies(&m, 100);

	close(gone.fill[--gone.n]);
	CHECK_EQ(test_count_fds(), fds);
	test_fds_back(&gone);
	check_file(m.path, 100);
	fds = test_count_fds();

	/*
	 * Descriptors again: the map's file is opened on a write after the
	 * back-off that follows a failed try (a tenth of a second).
	 */
	usleep(300000);
	durable_copies(&m, 200);
	CHECK(test_count_fds() > fds);
	check_file(m.path, 200);

	test_map_close(&m);
	printf("durable without a descriptor, and with one again: OK\n");
	return 0;
}
