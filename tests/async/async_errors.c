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
 * The failing movers are tests/common's test mover (no libminiasync
 * needed).
 */
#include "helpers.h"

#define MAPSZ (1u << 20)

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
	struct test_map m;
	test_map_open(&m, PMEM2_GRANULARITY_PAGE, MAPSZ, NULL);
	unsetenv("PMEM2_ASYNC_TEST_SYNC_ERRNO");

	char src[5000];
	test_pattern(src, sizeof(src), 3);
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
	test_map_close(&m);

	/* a map made without the knob syncs for real */
	test_map_open(&m, PMEM2_GRANULARITY_PAGE, MAPSZ, NULL);
	f = pmem2_memcpy_async(m.map, m.addr, src, sizeof(src), 0);
	expect_result(&f, VDM_SUCCESS);
	test_map_close(&m);
}

/* Movers that fail, and what every operation through them must end with. */
static const struct {
	const char *name;
	long fail_new;			/* -1: op_new always returns NULL */
	enum vdm_operation_result result; /* the mover's own result */
	enum vdm_operation_result want;
} Failing[] = {
	{ "op_new fails", -1, VDM_SUCCESS, VDM_ERROR_OUT_OF_MEMORY },
	{ "corrupted job", 0, VDM_ERROR_JOB_CORRUPTED,
		VDM_ERROR_JOB_CORRUPTED },
};

enum { OP_MEMCPY, OP_MEMMOVE, OP_MEMSET, OP_COUNT };

static struct vdm_operation_future
start_op(int op, struct test_map *m, char *src, size_t len)
{
	switch (op) {
	case OP_MEMCPY:
		return pmem2_memcpy_async(m->map, m->addr, src, len, 0);
	case OP_MEMMOVE:
		return pmem2_memmove_async(m->map, m->addr, src, len, 0);
	default:
		return pmem2_memset_async(m->map, m->addr, 0, len, 0);
	}
}

static void
test_mover_failures(enum pmem2_granularity g)
{
	char src[3000], before[3000];
	test_pattern(src, sizeof(src), 9);

	for (size_t i = 0; i < sizeof(Failing) / sizeof(Failing[0]); i++) {
		struct test_mover mv;
		test_mover_init(&mv, NULL);
		mv.fail_new = Failing[i].fail_new;
		mv.result = Failing[i].result;
		struct test_map m;
		test_map_open(&m, g, MAPSZ, &mv.base);
		memset(m.addr, 0x70 + (int)i, sizeof(before));
		memcpy(before, m.addr, sizeof(before));
		for (int op = 0; op < OP_COUNT; op++) {
			struct vdm_operation_future f = start_op(op, &m, src,
				sizeof(src));
			FUTURE_BUSY_POLL(&f);
			if (f.output.result != Failing[i].want)
				FAIL("%s, operation %d: result %d, expected %d",
					Failing[i].name, op,
					(int)f.output.result,
					(int)Failing[i].want);
			if (op == OP_MEMCPY)
				CHECK(f.output.output.memcpy.dest == NULL);
			/* nothing written */
			CHECK_MEM(m.addr, before, sizeof(before));
		}
		test_map_close(&m);
		/* every operation the mover made was deleted */
		CHECK_EQ(test_mover_count(&mv, TM_LIVE), 0);
	}
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
