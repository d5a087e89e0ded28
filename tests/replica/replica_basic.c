// SPDX-License-Identifier: BSD-3-Clause
/*
 * replica_basic.c -- round trips through pmem2-replicad on loopback: single,
 * pipelined (more futures than the connection's credits) and large writes,
 * the mirror into a local map mixed with local futures in one
 * runtime_wait_multiple(), argument errors. The daemon's file is read back
 * from outside and compared byte for byte.
 * Usage: replica_basic PMEM2-REPLICAD
 */
#define PMEM2_USE_MINIASYNC 1
#include <libpmem2.h>
#include <libminiasync.h>
#include <libpmem2rep.h>

#include "rutil.h"

#define SIZE ((size_t)16 << 20)
#define NPIPE 200

static char keyp[256], datp[256], locp[256];

static void
cleanup(void)
{
	unlink(keyp);
	unlink(datp);
	unlink(locp);
}

static void
wait_ok(struct vdm_operation_future *f)
{
	FUTURE_BUSY_POLL(f);
	if (f->output.result != VDM_SUCCESS)
		FAIL("future result %d: %s", (int)f->output.result,
			pmem2rep_errormsg());
}

int
main(int argc, char *argv[])
{
	if (argc != 2)
		FAIL("usage: replica_basic PMEM2-REPLICAD");
	rutil_need_fabric();
	snprintf(keyp, sizeof(keyp), "%s/rep_basic_%d.key", test_dir(),
		(int)getpid());
	snprintf(datp, sizeof(datp), "%s/rep_basic_%d.dat", test_dir(),
		(int)getpid());
	snprintf(locp, sizeof(locp), "%s/rep_basic_%d.local", test_dir(),
		(int)getpid());
	atexit(cleanup);
	rutil_key(keyp, 0600, -1);
	rutil_file(datp, SIZE, 0x5a);

	struct rutil_daemon d;
	CHECK_EQ(rutil_daemon_start(&d, argv[1], keyp, datp), 0);

	struct pmem2rep *rep = NULL;
	int r = pmem2rep_connect(&rep, d.target, keyp);
	if (r)
		FAIL("pmem2rep_connect(%s): %d %s", d.target, r,
			pmem2rep_errormsg());
	CHECK_EQ(pmem2rep_size(rep), SIZE);

	unsigned char *want = test_alloc(SIZE);
	memset(want, 0x5a, SIZE);

	/* one small write */
	unsigned char small[4096];
	test_pattern(small, sizeof(small), 1);
	struct vdm_operation_future f = pmem2rep_write_async(rep, 0, small,
		sizeof(small), 0);
	wait_ok(&f);
	memcpy(want, small, sizeof(small));

	/* pipelined: NPIPE writes of odd sizes, disjoint, all in flight */
	unsigned char *src = test_alloc(SIZE / 2);
	test_pattern(src, SIZE / 2, 2);
	struct vdm_operation_future *fs = calloc(NPIPE, sizeof(*fs));
	struct future **fp = calloc(NPIPE, sizeof(*fp));
	CHECK(fs && fp);
	size_t off = 4096;
	for (int i = 0; i < NPIPE; i++) {
		size_t len = 1 + (size_t)(i * 7919) % 30000;
		fs[i] = pmem2rep_write_async(rep, off, src + off, len, 0);
		fp[i] = FUTURE_AS_RUNNABLE(&fs[i]);
		memcpy(want + off, src + off, len);
		off += len + (size_t)(i % 3);	/* leave some gaps */
	}
	CHECK(off < SIZE / 2);
	struct runtime *rt = runtime_new();
	CHECK(rt != NULL);
	runtime_wait_multiple(rt, fp, NPIPE);
	for (int i = 0; i < NPIPE; i++)
		if (fs[i].output.result != VDM_SUCCESS)
			FAIL("pipelined write %d: result %d", i,
				(int)fs[i].output.result);

	/* one large write */
	unsigned char *big = test_alloc(SIZE / 2);
	test_pattern(big, SIZE / 2, 3);
	f = pmem2rep_write_async(rep, SIZE / 2, big, SIZE / 2, 0);
	wait_ok(&f);
	memcpy(want + SIZE / 2, big, SIZE / 2);

	/* argument errors: complete at once, nothing sent */
	f = pmem2rep_write_async(rep, SIZE - 10, small, 20, 0);
	CHECK_EQ(FUTURE_STATE(&f), FUTURE_STATE_COMPLETE);
	CHECK_EQ(f.output.result, VDM_ERROR_JOB_CORRUPTED);
	CHECK(strstr(pmem2rep_errormsg(), "outside") != NULL);
	f = pmem2rep_write_async(rep, SIZE + 1, small, 0, 0);
	CHECK_EQ(f.output.result, VDM_ERROR_JOB_CORRUPTED);
	f = pmem2rep_write_async(rep, (size_t)-4096, small, 8192, 0);
	CHECK_EQ(f.output.result, VDM_ERROR_JOB_CORRUPTED);
	f = pmem2rep_write_async(rep, 0, small, 16, 1);
	CHECK_EQ(f.output.result, VDM_ERROR_JOB_CORRUPTED);
	CHECK(strstr(pmem2rep_errormsg(), "flags") != NULL);
	f = pmem2rep_write_async(NULL, 0, small, 16, 0);
	CHECK_EQ(f.output.result, VDM_ERROR_JOB_CORRUPTED);
	f = pmem2rep_write_async(rep, SIZE, small, 0, 0);
	wait_ok(&f);

	/* disconnect refuses while a future is unfinished */
	f = pmem2rep_write_async(rep, 100, small, 100, 0);
	memcpy(want + 100, small, 100);
	struct pmem2rep *keep = rep;
	CHECK_EQ(pmem2rep_disconnect(&rep), -EBUSY);
	CHECK(rep == keep);
	CHECK(strstr(pmem2rep_errormsg(), "not complete") != NULL);
	wait_ok(&f);

	/* the mirror: a local PAGE map and the replica, with local futures */
	rutil_file(locp, SIZE, 0);
	int lfd = open(locp, O_RDWR);
	CHECK(lfd >= 0);
	struct pmem2_source *lsrc;
	struct pmem2_config *cfg;
	struct pmem2_map *map;
	CHECK_PMEM2_OK(pmem2_source_from_fd(&lsrc, lfd));
	CHECK_PMEM2_OK(pmem2_config_new(&cfg));
	CHECK_PMEM2_OK(pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE));
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, lsrc));
	char *laddr = pmem2_map_get_address(map);
	unsigned char *mix = test_alloc(3 * 65536);
	test_pattern(mix, 3 * 65536, 4);
	struct vdm_operation_future m[3];
	struct future *mp[3];
	m[0] = pmem2rep_memcpy_async(rep, map, laddr + 65536, mix, 65536, 0);
	m[1] = pmem2_memcpy_async(map, laddr + 3 * 65536, mix + 65536,
		65536, 0);
	m[2] = pmem2rep_write_async(rep, 5 * 65536, mix + 2 * 65536, 65536,
		0);
	for (int i = 0; i < 3; i++)
		mp[i] = FUTURE_AS_RUNNABLE(&m[i]);
	runtime_wait_multiple(rt, mp, 3);
	for (int i = 0; i < 3; i++)
		if (m[i].output.result != VDM_SUCCESS)
			FAIL("mixed future %d: result %d: %s", i,
				(int)m[i].output.result, pmem2rep_errormsg());
	CHECK(m[0].output.output.memcpy.dest == laddr + 65536);
	memcpy(want + 65536, mix, 65536);
	memcpy(want + 5 * 65536, mix + 2 * 65536, 65536);
	/* mirror destination outside the map: an error at once */
	f = pmem2rep_memcpy_async(rep, map, laddr + SIZE - 8, mix, 16, 0);
	CHECK_EQ(f.output.result, VDM_ERROR_JOB_CORRUPTED);
	CHECK_PMEM2_OK(pmem2_map_delete(&map));
	pmem2_config_delete(&cfg);
	pmem2_source_delete(&lsrc);
	close(lfd);
	unsigned char *local = rutil_read(locp, SIZE);
	CHECK_MEM(local + 65536, mix, 65536);
	CHECK_MEM(local + 3 * 65536, mix + 65536, 65536);
	free(local);

	CHECK_EQ(pmem2rep_disconnect(&rep), 0);
	CHECK(rep == NULL);
	CHECK_EQ(pmem2rep_disconnect(&rep), 0);

	/* everything reported durable is in the daemon's file */
	unsigned char *got = rutil_read(datp, SIZE);
	CHECK_MEM(got, want, SIZE);
	rutil_daemon_stop(&d);

	runtime_delete(rt);
	free(got);
	free(mix);
	free(big);
	free(src);
	free(fs);
	free(fp);
	free(want);
	return 0;
}
