/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * debian_pmem2_async.c -- Debian's libpmem2 (PMDK 1.12.1) was built against
 * miniasync's headers. Build it against ours (only our libminiasync headers
 * on the include path, Debian's libpmem2 headers from /usr/include), link
 * Debian's libpmem2.so.1 and our libminiasync, and check that its
 * pmem2_*_async functions run on our movers and copy correctly.
 */
#define PMEM2_USE_MINIASYNC 1
#include <libpmem2.h>
#include <libminiasync.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

_Static_assert(sizeof(struct pmem2_future) == 320, "pmem2_future layout");
_Static_assert(sizeof(struct vdm_operation_future) == 120, "vdm future");

#define MAP_SIZE (8u << 20)

static void
fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)((i * 131u + seed * 7u) >> 3);
}

static void
run(struct vdm *vdm, const char *name, struct runtime *rt, int fd)
{
	struct pmem2_config *cfg;
	struct pmem2_source *src;
	struct pmem2_map *map;
	CHECK_PMEM2_OK(pmem2_config_new(&cfg));
	CHECK_PMEM2_OK(pmem2_source_from_fd(&src, fd));
	CHECK_PMEM2_OK(pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE));
	CHECK_EQ(pmem2_config_set_vdm(cfg, vdm), 0);
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, src));
	unsigned char *base = pmem2_map_get_address(map);
	CHECK(base != NULL);

	size_t sizes[] = { 0, 1, 64, 4096, 300000, 2u << 20 };
	unsigned char *buf = malloc(2u << 20);
	unsigned char *ref = malloc(MAP_SIZE);
	CHECK(buf != NULL && ref != NULL);
	memset(base, 0, MAP_SIZE);
	memset(ref, 0, MAP_SIZE);
	const char *q = getenv("PMEM2_TEST_QUICK");
	int quick = q != NULL && *q != '\0' && strcmp(q, "0") != 0;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i], off = 4096 * i + 3;
		if (quick && n > 300000)
			continue;	/* sanitizers, valgrind */
		fill(buf, n, (unsigned)i);

		struct pmem2_future f = pmem2_memcpy_async(map, base + off,
			buf, n, 0);
		runtime_wait(rt, FUTURE_AS_RUNNABLE(&f));
		CHECK_EQ(FUTURE_STATE(&f), FUTURE_STATE_COMPLETE);
		CHECK(FUTURE_OUTPUT(&f)->dest == base + off);
		memcpy(ref + off, buf, n);
		CHECK_MEM(base + off, ref + off, n + 8);

		f = pmem2_memmove_async(map, base + off + 5, base + off, n, 0);
		FUTURE_BUSY_POLL(&f);
		memmove(ref + off + 5, ref + off, n);
		CHECK_MEM(base + off, ref + off, n + 8);

		f = pmem2_memset_async(map, base + off, 0x3c, n / 2, 0);
		runtime_wait(rt, FUTURE_AS_RUNNABLE(&f));
		memset(ref + off, 0x3c, n / 2);
		CHECK_MEM(base + off, ref + off, n + 8);
	}

	/* several at once */
	struct pmem2_future fs[8];
	struct future *arr[8];
	for (int i = 0; i < 8; i++) {
		fill(buf + i * 8192, 8192, 100u + (unsigned)i);
		fs[i] = pmem2_memcpy_async(map, base + (4u << 20) + i * 8192u,
			buf + i * 8192, 8192, 0);
		arr[i] = FUTURE_AS_RUNNABLE(&fs[i]);
		memcpy(ref + (4u << 20) + i * 8192, buf + i * 8192, 8192);
	}
	runtime_wait_multiple(rt, arr, 8);
	/* and nothing else in the mapping changed */
	CHECK_MEM(base, ref, MAP_SIZE);

	free(buf);
	free(ref);
	CHECK_PMEM2_OK(pmem2_map_delete(&map));
	CHECK_PMEM2_OK(pmem2_source_delete(&src));
	CHECK_PMEM2_OK(pmem2_config_delete(&cfg));
	fprintf(stderr, "%s: ok\n", name);
}

int
main(void)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/miniasync_compat_%d", test_dir(),
		(int)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		SKIP("cannot create %s", path);
	unlink(path);
	CHECK(ftruncate(fd, MAP_SIZE) == 0);

	struct runtime *rt = runtime_new();
	CHECK(rt != NULL);

	struct data_mover_threads *dmt = data_mover_threads_default();
	CHECK(dmt != NULL);
	run(data_mover_threads_get_vdm(dmt), "threads default", rt, fd);
	data_mover_threads_delete(dmt);

	dmt = data_mover_threads_new(1, 4, FUTURE_NOTIFIER_POLLER);
	CHECK(dmt != NULL);
	run(data_mover_threads_get_vdm(dmt), "threads 1 poller", rt, fd);
	data_mover_threads_delete(dmt);

	struct data_mover_sync *dms = data_mover_sync_new();
	CHECK(dms != NULL);
	run(data_mover_sync_get_vdm(dms), "sync", rt, fd);
	data_mover_sync_delete(dms);

	struct vdm *v = vdm_synchronous_new();
	CHECK(v != NULL);
	run(v, "vdm_synchronous", rt, fd);
	vdm_synchronous_delete(v);

	runtime_delete(rt);
	close(fd);
	return 0;
}
