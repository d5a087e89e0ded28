/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fault_fullfs.c -- durable async writes to a PAGE map on a filesystem
 * whose storage runs out (fault_fullfs.sh builds it: ext4 on a loop device
 * whose backing file lives on a tiny tmpfs, so writeback fails with EIO
 * once the tmpfs is full), or with the async area's test-only injection
 * (PMEM2_ASYNC_TEST_SYNC_ERRNO).
 *
 *   fault_fullfs write DIR LIST   1 MiB pmem2_memcpy_async writes; each
 *                                 future's result goes to LIST ("i ok" or
 *                                 "i err"); some must fail (exit 0), and
 *                                 none may abort the process
 *   fault_fullfs verify DIR LIST  (after a remount) every chunk reported
 *                                 ok reads back intact
 *   fault_fullfs inject           with PMEM2_ASYNC_TEST_SYNC_ERRNO set in the
 *                                 environment: every PAGE future fails,
 *                                 on /var/tmp, and the sync persist
 *                                 function does not abort either
 *   fault_fullfs sticky [DIR [FILLER]]  after failed write-backs, no
 *                                 later durable result of the map is a
 *                                 success; FILLER (a file on the full
 *                                 storage) is removed after the failures,
 *                                 so that later syncs themselves succeed
 */
#define PMEM2_USE_MINIASYNC 1
#include "helpers.h"

#define CHUNK (1u << 20)
#define NCHUNK 40

static void
fill(unsigned char *b, unsigned i)
{
	uint64_t s = 0xfeed0000ULL + i;
	for (size_t k = 0; k < CHUNK; k += 8) {
		uint64_t v = test_rand(&s);
		memcpy(b + k, &v, 8);
	}
}

static int
do_write(const char *dir, const char *list)
{
	struct test_map m;
	test_map_open_in(&m, dir, "fullfs", (size_t)CHUNK * NCHUNK,
		NULL, NULL, NULL);
	CHECK(m.gran == PMEM2_GRANULARITY_PAGE);
	/* keep the file: the verify step reads it after a remount */
	FILE *out = fopen(list, "w");
	CHECK(out);
	unsigned char *buf = test_alloc(CHUNK);
	int nok = 0, nerr = 0;
	for (unsigned i = 0; i < NCHUNK; i++) {
		fill(buf, i);
		struct vdm_operation_future f = pmem2_memcpy_async(m.map,
			(unsigned char *)m.addr + (size_t)i * CHUNK, buf, CHUNK,
			0);
		FUTURE_BUSY_POLL(&f);
		int ok = FUTURE_OUTPUT(&f)->result == VDM_SUCCESS;
		fprintf(out, "%u %s\n", i, ok ? "ok" : "err");
		if (ok)
			nok++;
		else
			nerr++;
	}
	fclose(out);
	printf("fault_fullfs: %d chunks durable, %d failed with an error "
		"result\n", nok, nerr);
	if (nerr == 0)
		FAIL("the filesystem ran out of space but every write "
			"reported success");
	/* delete the map without unlinking the file */
	CHECK_PMEM2_OK(pmem2_map_delete(&m.map));
	pmem2_config_delete(&m.cfg);
	pmem2_source_delete(&m.src);
	close(m.fd);
	free(buf);
	return 0;
}

static int
do_verify(const char *dir, const char *list)
{
	char path[600];
	FILE *in = fopen(list, "r");
	CHECK(in);
	/* test_map_open_in's naming, with the writer's pid in the list name */
	const char *pidp = strrchr(list, '-');
	CHECK(pidp);
	snprintf(path, sizeof(path), "%s/pmem2-test-fullfs-%d", dir,
		atoi(pidp + 1));
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		FAIL("%s: %s", path, strerror(errno));
	unsigned char *want = malloc(CHUNK), *got = malloc(CHUNK);
	CHECK(want && got);
	unsigned i;
	char st[8];
	int checked = 0;
	while (fscanf(in, "%u %7s", &i, st) == 2) {
		if (strcmp(st, "ok") != 0)
			continue;
		fill(want, i);
		ssize_t n = pread(fd, got, CHUNK, (off_t)i * CHUNK);
		if (n != CHUNK)
			FAIL("chunk %u was reported durable but reads back "
				"%zd bytes after the remount (%s)", i, n,
				n < 0 ? strerror(errno) : "short");
		if (memcmp(want, got, CHUNK) != 0)
			FAIL("chunk %u was reported durable but did not survive "
				"the remount", i);
		checked++;
	}
	fclose(in);
	close(fd);
	printf("fault_fullfs: %d chunks reported durable read back intact\n",
		checked);
	free(want);
	free(got);
	return 0;
}

static int
do_inject(void)
{
	const char *e = getenv("PMEM2_ASYNC_TEST_SYNC_ERRNO");
	if (!e || !*e)
		SKIP("PMEM2_ASYNC_TEST_SYNC_ERRNO not set");
	struct test_map m;
	test_map_open_in(&m, test_disk_dir(), "inject", 1 << 20,
		NULL, NULL, NULL);
	CHECK(m.gran == PMEM2_GRANULARITY_PAGE);
	unsigned char buf[8192];
	memset(buf, 1, sizeof(buf));
	for (int i = 0; i < 4; i++) {
		struct vdm_operation_future f = i == 3 ?
			pmem2_persist_async(m.map, m.addr, 4096) :
			pmem2_memcpy_async(m.map, (char *)m.addr + i * 8192,
				buf, 8192, 0);
		FUTURE_BUSY_POLL(&f);
		if (FUTURE_OUTPUT(&f)->result == VDM_SUCCESS)
			FAIL("op %d: the sync failed (injected errno %s) but the "
				"future reported success", i, e);
	}
	test_map_close(&m);
	printf("fault_fullfs inject: every future reported the failure\n");
	return 0;
}

/*
 * A write-back error must never be followed by a success for data that was
 * dirty before it. B is copied without persistence; durable copies follow
 * until two have failed (the filesystem's storage is full, or
 * PMEM2_ASYNC_TEST_SYNC_ERRNO=E:2 fails the first two syncs); the
 * write-backs of those syncs may have taken B's pages with them (they then
 * look clean, and the kernel reports the error once per open file). From
 * then on every durable result of the map, B's persist included, must be
 * an error, and pmem2_deep_flush must say so too.
 */
static int
do_sticky(const char *dir, const char *filler)
{
	struct test_map m;
	test_map_open_in(&m, dir, "sticky", (size_t)CHUNK * NCHUNK,
		NULL, NULL, NULL);
	CHECK(m.gran == PMEM2_GRANULARITY_PAGE);
	unsigned char *buf = test_alloc(CHUNK);
	unsigned char *b = (unsigned char *)m.addr;	/* B: chunk 0 */
	/*
	 * A second map of the same descriptor, made before the failures: the
	 * kernel's report of a write-back error must reach its syncs too, not
	 * only the first map's (a dup of one descriptor shares one report).
	 */
	struct pmem2_map *map2;
	CHECK_PMEM2_OK(pmem2_map_new(&map2, m.cfg, m.src));
	unsigned char *b2 = pmem2_map_get_address(map2);

	fill(buf, 0);
	struct vdm_operation_future f = pmem2_memcpy_async(m.map, b, buf,
		CHUNK, PMEM2_F_MEM_NOFLUSH);
	FUTURE_BUSY_POLL(&f);
	CHECK_EQ(FUTURE_OUTPUT(&f)->result, VDM_SUCCESS);
	f = pmem2_memcpy_async(map2, b2, buf, CHUNK, PMEM2_F_MEM_NOFLUSH);
	FUTURE_BUSY_POLL(&f);
	CHECK_EQ(FUTURE_OUTPUT(&f)->result, VDM_SUCCESS);

	unsigned i, nerr = 0;
	for (i = 1; i < NCHUNK && nerr < 2; i++) {
		fill(buf, i);
		f = pmem2_memcpy_async(m.map, b + (size_t)i * CHUNK, buf,
			CHUNK, 0);
		FUTURE_BUSY_POLL(&f);
		if (FUTURE_OUTPUT(&f)->result != VDM_SUCCESS)
			nerr++;
		else if (nerr)
			FAIL("chunk %u: reported durable after a failed "
				"write-back", i);
	}
	if (nerr == 0)
		SKIP("no write-back failed in %u chunks: the filesystem did "
			"not run out of space", i);
	/* the storage has room again: the syncs themselves succeed now */
	if (filler && unlink(filler) != 0)
		FAIL("unlink %s: %s", filler, strerror(errno));

	/*
	 * The second map's view of B, with the storage back: its first sync
	 * must report the write-back error the kernel recorded for the file
	 * (only a real filesystem records one; injected errors are the first
	 * map's alone).
	 */
	if (filler) {
		f = pmem2_persist_async(map2, b2, CHUNK);
		FUTURE_BUSY_POLL(&f);
		if (FUTURE_OUTPUT(&f)->result == VDM_SUCCESS)
			FAIL("a second map of the file reported B durable "
				"after a write-back of the file failed");
		CHECK_EQ(FUTURE_OUTPUT(&f)->result, VDM_ERROR_IO);
	}
	CHECK_PMEM2_OK(pmem2_map_delete(&map2));

	/* the whole map (B is dirty unless a failed write-back took it) */
	f = pmem2_persist_async(m.map, b, m.size);
	FUTURE_BUSY_POLL(&f);
	if (FUTURE_OUTPUT(&f)->result == VDM_SUCCESS)
		FAIL("persist of the whole map reported durable after a failed "
			"write-back");
	/* B again: its pages are clean now, the error was reported */
	f = pmem2_persist_async(m.map, b, CHUNK);
	FUTURE_BUSY_POLL(&f);
	if (FUTURE_OUTPUT(&f)->result == VDM_SUCCESS)
		FAIL("B was reported durable after a write-back of it failed");
	CHECK_EQ(FUTURE_OUTPUT(&f)->result, VDM_ERROR_IO);
	/* the syncs succeed again: only the earlier error is left */
	if ((filler || getenv("PMEM2_ASYNC_TEST_SYNC_ERRNO")) &&
			strstr(pmem2_errormsg(), "earlier") == NULL)
		FAIL("message does not name the earlier failure: %s",
			pmem2_errormsg());
	/* a fresh durable copy too */
	f = pmem2_memset_async(m.map, b + 4096, 0x11, 4096, 0);
	FUTURE_BUSY_POLL(&f);
	CHECK_EQ(FUTURE_OUTPUT(&f)->result, VDM_ERROR_IO);
	/* the synchronous persist leaves the error in errno */
	errno = 0;
	pmem2_get_persist_fn(m.map)(b, CHUNK);
	if (errno == 0)
		FAIL("the persist function left errno 0 after a failed "
			"write-back");
	/* and the synchronous check */
	int r = pmem2_deep_flush(m.map, b, CHUNK);
	if (r == 0)
		FAIL("pmem2_deep_flush reports success after a failed "
			"write-back");
	printf("fault_fullfs sticky: %u failed write-backs, every later "
		"durable result failed too (%d: %s)\n", nerr, r,
		pmem2_errormsg());
	test_map_close(&m);
	free(buf);
	return 0;
}

int
main(int argc, char *argv[])
{
	if (argc >= 4 && strcmp(argv[1], "write") == 0)
		return do_write(argv[2], argv[3]);
	if (argc >= 4 && strcmp(argv[1], "verify") == 0)
		return do_verify(argv[2], argv[3]);
	if (argc >= 2 && strcmp(argv[1], "inject") == 0)
		return do_inject();
	if (argc >= 2 && strcmp(argv[1], "sticky") == 0)
		return do_sticky(argc >= 3 ? argv[2] : test_disk_dir(),
			argc >= 4 ? argv[3] : NULL);
	FAIL("usage: %s write|verify DIR LIST | inject | sticky [DIR]",
		argv[0]);
}
