/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmem2_ras.c -- RAS calls on sources that are not on persistent memory: an
 * anonymous source (always NOSUPP) and a /dev/shm file. Built with libndctl
 * (TEST_HAVE_NDCTL), a file off pmem has no usc/id (NOSUPP), no region for
 * its NUMA node, and a bad block context without bad blocks whose clear
 * punches and re-allocates the range. Without libndctl everything is NOSUPP
 * with upstream's messages.
 */
#include <stdint.h>

#include "helpers.h"

int
main(void)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	char *path = test_path(test_dir(), "ras");
	int fd = test_file(path, 16 * pg, O_RDWR);
	struct pmem2_source *src, *anon;
	CHECK_PMEM2_OK(pmem2_source_from_fd(&src, fd));
	CHECK_PMEM2_OK(pmem2_source_from_anon(&anon, pg));

	char id[128];
	size_t len = sizeof(id);
	uint64_t usc = 12345;
	int node = -7;
	struct pmem2_badblock_context *ctx;
	struct pmem2_badblock bb;
	(void)bb;

	CHECK_PMEM2_ERR(pmem2_source_device_id(anon, id, &len), PMEM2_E_NOSUPP);
	CHECK_PMEM2_ERR(pmem2_source_device_id(anon, NULL, &len),
		PMEM2_E_NOSUPP);
	CHECK_PMEM2_ERR(pmem2_source_device_usc(anon, &usc), PMEM2_E_NOSUPP);
	CHECK_PMEM2_ERR(pmem2_source_device_usc(anon, NULL), PMEM2_E_NOSUPP);
	CHECK_PMEM2_ERR(pmem2_source_numa_node(anon, &node), PMEM2_E_NOSUPP);
	CHECK_PMEM2_ERR(pmem2_badblock_context_new(&ctx, anon), PMEM2_E_NOSUPP);
	CHECK(ctx == NULL);
	CHECK_EQ(usc, 12345);
	CHECK_EQ(node, -7);

#ifdef TEST_HAVE_NDCTL
	CHECK_PMEM2_ERR(pmem2_source_device_usc(src, &usc), PMEM2_E_NOSUPP);
	CHECK(strcmp(pmem2_errormsg(), "Unsafe shutdown count is not supported for this source") == 0);
	CHECK_PMEM2_ERR(pmem2_source_device_id(src, id, &len), PMEM2_E_NOSUPP);
	CHECK_PMEM2_ERR(pmem2_source_numa_node(src, &node),
		PMEM2_E_DAX_REGION_NOT_FOUND);

	CHECK_PMEM2_OK(pmem2_badblock_context_new(&ctx, src));
	CHECK_PMEM2_ERR(pmem2_badblock_next(ctx, &bb),
		PMEM2_E_NO_BAD_BLOCK_FOUND);
	/* clearing a range of a regular file: punch + allocate, data gone */
	CHECK_EQ(pwrite(fd, "xxxx", 4, (off_t)pg), 4);
	bb.offset = pg;
	bb.length = pg;
	CHECK_PMEM2_OK(pmem2_badblock_clear(ctx, &bb));
	char buf[4];
	CHECK_EQ(pread(fd, buf, 4, (off_t)pg), 4);
	CHECK(memcmp(buf, "\0\0\0\0", 4) == 0);
	struct stat st;
	CHECK_EQ(fstat(fd, &st), 0);
	CHECK_EQ(st.st_size, 16 * pg);
	bb.offset = (size_t)INT64_MAX + 1;
	CHECK_PMEM2_ERR(pmem2_badblock_clear(ctx, &bb),
		PMEM2_E_OFFSET_OUT_OF_RANGE);
	bb.offset = 0;
	bb.length = (size_t)INT64_MAX + 1;
	CHECK_PMEM2_ERR(pmem2_badblock_clear(ctx, &bb),
		PMEM2_E_LENGTH_OUT_OF_RANGE);
	pmem2_badblock_context_delete(&ctx);
	CHECK(ctx == NULL);
#else
	CHECK_PMEM2_ERR(pmem2_source_device_usc(src, &usc), PMEM2_E_NOSUPP);
	CHECK(strcmp(pmem2_errormsg(), "Cannot read device usc - ndctl is not available") == 0);
	CHECK_PMEM2_ERR(pmem2_source_device_id(src, id, &len), PMEM2_E_NOSUPP);
	CHECK_PMEM2_ERR(pmem2_source_numa_node(src, &node), PMEM2_E_NOSUPP);
	CHECK_PMEM2_ERR(pmem2_badblock_context_new(&ctx, src), PMEM2_E_NOSUPP);
	CHECK(ctx == NULL);
#endif
	pmem2_badblock_context_delete(&ctx);	/* NULL-safe */

	pmem2_source_delete(&anon);
	pmem2_source_delete(&src);
	test_file_remove(path, fd);
	printf("ok\n");
	return 0;
}
