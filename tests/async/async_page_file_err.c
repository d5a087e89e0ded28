/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * async_page_file_err.c -- a failed write-back is the file's, not only the
 * map's: pmem2_async(7) says every map of the file reports it from then
 * on. Map A of a file fails its first write-back (PMEM2_ASYNC_TEST_SYNC_ERRNO
 * set when A was made, count 1); map B of the same file, made without it
 * through a hard link and at another file offset, overlapping A, must fail
 * its next durable write too (never a success for bytes whose write-back
 * may have been lost), with a message that names the error. A map of
 * another file is not affected.
 *
 *   fd:    B and A have their descriptor (the syncer's fdatasync);
 *   nofd:  A fails while no descriptor can be had (RLIMIT_NOFILE reached:
 *          its write-back takes the msync route, whose error the kernel
 *          reports to A's own mapping only); B writes later, once
 *          descriptors are there again and the file is opened anew.
 */
#include "helpers.h"

enum { SIZE = 1 << 20, BOFF = 1 << 18 };

static struct pmem2_map *
map_at(const char *path, size_t off, size_t len)
{
	int fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	struct pmem2_source *src;
	CHECK_PMEM2_OK(pmem2_source_from_fd(&src, fd));
	struct pmem2_config *cfg = test_config(PMEM2_GRANULARITY_PAGE);
	CHECK_PMEM2_OK(pmem2_config_set_offset(cfg, off));
	CHECK_PMEM2_OK(pmem2_config_set_length(cfg, len));
	struct pmem2_map *map;
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, src));
	CHECK_EQ((int)pmem2_map_get_store_granularity(map),
		PMEM2_GRANULARITY_PAGE);
	CHECK_PMEM2_OK(pmem2_config_delete(&cfg));
	CHECK_PMEM2_OK(pmem2_source_delete(&src));
	close(fd);
	return map;
}

static enum vdm_operation_result
write_one(struct pmem2_map *map, size_t off, unsigned seed)
{
	static char buf[4096];
	test_pattern(buf, sizeof(buf), seed);
	char *addr = pmem2_map_get_address(map);
	struct vdm_operation_future f = pmem2_memcpy_async(map, addr + off,
		buf, sizeof(buf), 0);
	FUTURE_BUSY_POLL(&f);
	return f.output.result;
}

static struct test_fds Fds;

static void
run(int nofd)
{
	const char *dir = test_gran_dir(PMEM2_GRANULARITY_PAGE);
	char *path = test_path(dir, "ferr");
	char *link_path = test_path(dir, "ferr-link");
	char *other = test_path(dir, "ferr-other");
	close(test_file(path, SIZE, O_RDWR));
	close(test_file(other, SIZE, O_RDWR));
	CHECK_EQ(link(path, link_path), 0);

	setenv("PMEM2_ASYNC_TEST_SYNC_ERRNO", "5:1", 1);
	struct pmem2_map *a = map_at(path, 0, SIZE);
	unsetenv("PMEM2_ASYNC_TEST_SYNC_ERRNO");
	/* B: the second half of the file, through the other name */
	struct pmem2_map *b = map_at(link_path, BOFF, SIZE - BOFF);
	struct pmem2_map *c = map_at(other, 0, SIZE);

	/* before anything failed, B and C are durable */
	CHECK_EQ((int)write_one(b, 0, 1), (int)VDM_SUCCESS);
	CHECK_EQ((int)write_one(c, 0, 1), (int)VDM_SUCCESS);

	if (nofd) {
		test_fds_take(&Fds);
		/* else this leg silently repeats the fd one */
		errno = 0;
		CHECK(open("/dev/null", O_RDONLY) < 0);
		CHECK_EQ(errno, EMFILE);
	}
	/* into the range both maps show */
	CHECK_EQ((int)write_one(a, BOFF + 4096, 2), (int)VDM_ERROR_IO);
	if (nofd) {
		test_fds_back(&Fds);
		usleep(300000);	/* past the back-off after EMFILE */
	}

	enum vdm_operation_result r = write_one(b, 8192, 3);
	if (r != VDM_ERROR_IO)
		FAIL("%s: another map of the file whose write-back failed: result %d, not VDM_ERROR_IO",
			nofd ? "nofd" : "fd", (int)r);
	if (strstr(pmem2_errormsg(), strerror(EIO)) == NULL)
		FAIL("errormsg \"%s\" does not name EIO", pmem2_errormsg());
	/* A itself stays failed; the other file is not concerned */
	CHECK_EQ((int)write_one(a, 0, 4), (int)VDM_ERROR_IO);
	CHECK_EQ((int)write_one(c, 4096, 4), (int)VDM_SUCCESS);

	/* a new map after the old ones are gone starts clean */
	CHECK_PMEM2_OK(pmem2_map_delete(&a));
	CHECK_PMEM2_OK(pmem2_map_delete(&b));
	b = map_at(path, 0, SIZE);
	CHECK_EQ((int)write_one(b, 0, 5), (int)VDM_SUCCESS);
	CHECK_PMEM2_OK(pmem2_map_delete(&b));
	CHECK_PMEM2_OK(pmem2_map_delete(&c));
	unlink(path);
	unlink(link_path);
	unlink(other);
	free(path);
	free(link_path);
	free(other);
}

int
main(void)
{
	run(0);
	printf("fd: the failure reaches every map of the file: OK\n");
	run(1);
	printf("nofd: the failed msync reaches every map of the file: OK\n");
	return 0;
}
