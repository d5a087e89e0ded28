/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * async_errors.c -- failures reach the future's output, never abort() and
 * never pass for success:
 *  - a failed PAGE sync (EIO, ENOSPC; injected with the test-only
 *    PMEM2_ASYNC_TEST_SYNC_ERRNO, read when the map is created) completes
 *    the future with VDM_ERROR_IO and sets pmem2_errormsg();
 *  - a mover that cannot allocate its operation (op_new returns NULL) gives
 *    VDM_ERROR_OUT_OF_MEMORY and leaves the destination untouched;
 *  - a mover's own error result is passed on, with nothing made durable.
 * The movers here are written by the test (no libminiasync needed).
 */
#include "autil.h"

#define MAPSZ (1u << 20)

/* ---- a mover whose op_new always fails ---- */
static void *
oom_new(struct vdm *vdm, const enum vdm_operation_type type)
{
	(void)vdm;
	(void)type;
	return NULL;
}

static void
oom_delete(void *d, const struct vdm_operation *op,
	struct vdm_operation_output *out)
{
	(void)d;
	(void)op;
	(void)out;
	FAIL("delete of an operation that was never created");
}

static int
oom_start(void *d, const struct vdm_operation *op, struct future_notifier *n)
{
	(void)d;
	(void)op;
	(void)n;
	FAIL("start of an operation that was never created");
	return 0;
}

static enum future_state
oom_check(void *d, const struct vdm_operation *op)
{
	(void)d;
	(void)op;
	FAIL("check of an operation that was never created");
	return FUTURE_STATE_COMPLETE;
}

static struct vdm Oom = { oom_new, oom_delete, oom_start, oom_check, 0,
	NULL };

/* ---- a mover that reports a corrupted job without writing ---- */
static int Dummy;

static void *
bad_new(struct vdm *vdm, const enum vdm_operation_type type)
{
	(void)vdm;
	(void)type;
	return &Dummy;
}

static int
bad_start(void *d, const struct vdm_operation *op, struct future_notifier *n)
{
	(void)d;
	(void)op;
	if (n)
		n->notifier_used = FUTURE_NOTIFIER_NONE;
	return 0;
}

static enum future_state
bad_check(void *d, const struct vdm_operation *op)
{
	(void)d;
	(void)op;
	return FUTURE_STATE_COMPLETE;
}

static void
bad_delete(void *d, const struct vdm_operation *op,
	struct vdm_operation_output *out)
{
	(void)d;
	out->type = op->type;
	out->result = VDM_ERROR_JOB_CORRUPTED;
	out->output.memcpy.dest = NULL;
}

static struct vdm Bad = { bad_new, bad_delete, bad_start, bad_check, 0,
	NULL };

static void
expect_result(struct vdm_operation_future *f, enum vdm_operation_result r)
{
	FUTURE_BUSY_POLL(f);
	CHECK_EQ(f->output.result, r);
}

static void
test_sync_failure(int err)
{
	char num[16];
	snprintf(num, sizeof(num), "%d", err);
	setenv("PMEM2_ASYNC_TEST_SYNC_ERRNO", num, 1);
	struct amap m;
	amap_open(&m, PMEM2_GRANULARITY_PAGE, MAPSZ, NULL);
	unsetenv("PMEM2_ASYNC_TEST_SYNC_ERRNO");

	char src[5000];
	pattern(src, sizeof(src), 3);
	struct vdm_operation_future f;

	f = pmem2_memcpy_async(m.map, m.addr + 10, src, sizeof(src), 0);
	expect_result(&f, VDM_ERROR_IO);
	CHECK(f.output.output.memcpy.dest == NULL);
	if (strstr(pmem2_errormsg(), strerror(err)) == NULL)
		FAIL("errormsg \"%s\" does not name \"%s\"", pmem2_errormsg(),
			strerror(err));
	/* the bytes were moved; only their durability is in doubt */
	CHECK_MEM(m.addr + 10, src, sizeof(src));

	f = pmem2_memset_async(m.map, m.addr, 1, 100, 0);
	expect_result(&f, VDM_ERROR_IO);
	f = pmem2_memmove_async(m.map, m.addr + 1, m.addr, 100, 0);
	expect_result(&f, VDM_ERROR_IO);
	f = pmem2_persist_async(m.map, m.addr, 100);
	expect_result(&f, VDM_ERROR_IO);

	/* many at once: every one of them reports it */
	enum { N = 64 };
	struct vdm_operation_future fs[N];
	for (int i = 0; i < N; i++)
		fs[i] = pmem2_memcpy_async(m.map, m.addr + i * 4096, src,
			4096, 0);
	for (int i = N - 1; i >= 0; i--)
		expect_result(&fs[i], VDM_ERROR_IO);

	/* NOFLUSH asks for no sync, so nothing can fail */
	f = pmem2_memcpy_async(m.map, m.addr, src, 100, PMEM2_F_MEM_NOFLUSH);
	expect_result(&f, VDM_SUCCESS);
	amap_close(&m);

	/* a map made without the knob syncs for real */
	amap_open(&m, PMEM2_GRANULARITY_PAGE, MAPSZ, NULL);
	f = pmem2_memcpy_async(m.map, m.addr, src, sizeof(src), 0);
	expect_result(&f, VDM_SUCCESS);
	amap_close(&m);
}

static void
test_mover_failures(enum pmem2_granularity g)
{
	struct amap m;
	char src[3000], before[3000];
	pattern(src, sizeof(src), 9);
	struct vdm_operation_future f;

	amap_open(&m, g, MAPSZ, &Oom);
	memset(m.addr, 0x77, sizeof(before));
	memcpy(before, m.addr, sizeof(before));
	f = pmem2_memcpy_async(m.map, m.addr, src, sizeof(src), 0);
	expect_result(&f, VDM_ERROR_OUT_OF_MEMORY);
	CHECK(f.output.output.memcpy.dest == NULL);
	f = pmem2_memmove_async(m.map, m.addr, src, sizeof(src), 0);
	expect_result(&f, VDM_ERROR_OUT_OF_MEMORY);
	f = pmem2_memset_async(m.map, m.addr, 0, sizeof(src), 0);
	expect_result(&f, VDM_ERROR_OUT_OF_MEMORY);
	CHECK_MEM(m.addr, before, sizeof(before));	/* nothing written */
	amap_close(&m);

	amap_open(&m, g, MAPSZ, &Bad);
	memset(m.addr, 0x66, sizeof(before));
	memcpy(before, m.addr, sizeof(before));
	f = pmem2_memcpy_async(m.map, m.addr, src, sizeof(src), 0);
	expect_result(&f, VDM_ERROR_JOB_CORRUPTED);
	f = pmem2_memset_async(m.map, m.addr, 0, sizeof(src), 0);
	expect_result(&f, VDM_ERROR_JOB_CORRUPTED);
	CHECK_MEM(m.addr, before, sizeof(before));
	amap_close(&m);
}

int
main(void)
{
	test_sync_failure(EIO);
	test_sync_failure(ENOSPC);
	test_mover_failures(PMEM2_GRANULARITY_CACHE_LINE);
	test_mover_failures(PMEM2_GRANULARITY_BYTE);
	test_mover_failures(PMEM2_GRANULARITY_PAGE);
	printf("async_errors: ok\n");
	return 0;
}
