/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * async_delete.c -- pmem2_map_delete with operations pending: it must wait
 * until no mover writes into the map any more, for every mover, before it
 * unmaps. A threads mover copying 32 MiB, and a mover written here whose
 * helper thread writes 200 ms after the operation started, are each given
 * an operation polled once; the delete must return only after the bytes
 * are in the file (never with a worker still writing into an unmapped
 * range). A future never polled started nothing: delete drops it (and
 * frees its state) without running it.
 *
 * Usage: async_delete page|cache_line
 */
#include <pthread.h>
#include <libminiasync.h>
#include "helpers.h"

/* a mover whose own thread writes 200 ms after op_start (set in main) */
static struct test_mover Slow;

/* One operation polled once, then the map deleted at once. */
static void
delete_in_flight(enum pmem2_granularity g, struct vdm *vdm, const char *name,
	size_t len)
{
	struct test_map m;
	test_map_open(&m, g, len, vdm);
	char *src = malloc(len);
	CHECK(src);
	test_pattern(src, len, (unsigned)len);

	unsigned long before = test_mover_count(&Slow, TM_WRITES);
	struct vdm_operation_future f = pmem2_memcpy_async(m.map, m.addr, src,
		len, 0);
	enum future_state st = future_poll(FUTURE_AS_RUNNABLE(&f), NULL);
	if (st == FUTURE_STATE_COMPLETE)
		printf("async_delete %s: the copy completed in its first poll\n",
			name);
	CHECK_PMEM2_OK(pmem2_map_delete(&m.map));
	/* the future must not be polled again: its map is gone */
	if (vdm == &Slow.base &&
			test_mover_count(&Slow, TM_WRITES) == before)
		FAIL("%s: map_delete returned while the mover had yet to write",
			name);
	test_check_file(m.path, 0, src, len);
	unlink(m.path);
	free(src);
	printf("async_delete %s %s: delete waited for the mover\n",
		test_gran_name(g), name);
}

/* A future never polled: the delete neither runs nor leaks it. */
static void
delete_unpolled(enum pmem2_granularity g, struct vdm *vdm, const char *name)
{
	const size_t len = 1 << 16;
	struct test_map m;
	test_map_open(&m, g, len, vdm);
	char *src = malloc(len), *zero = calloc(1, len);
	CHECK(src && zero);
	test_pattern(src, len, 3);
	unsigned long started = test_mover_count(&Slow, TM_STARTS);
	struct vdm_operation_future f = pmem2_memcpy_async(m.map, m.addr, src,
		len, 0);
	(void)f;
	CHECK_PMEM2_OK(pmem2_map_delete(&m.map));
	CHECK_EQ(test_mover_count(&Slow, TM_STARTS), started);
	test_check_file(m.path, 0, zero, len);
	unlink(m.path);
	free(src);
	free(zero);
	printf("async_delete %s %s: a future never polled was dropped\n",
		test_gran_name(g), name);
}

int
main(int argc, char *argv[])
{
	enum pmem2_granularity g = test_gran_arg(argc, argv,
		PMEM2_GRANULARITY_PAGE);
	test_mover_init(&Slow, NULL);
	Slow.delay_ms = 200;

	struct data_mover_threads *dmt = data_mover_threads_new(1, 1024,
		FUTURE_NOTIFIER_NONE);
	CHECK(dmt);
	struct vdm *tv = data_mover_threads_get_vdm(dmt);
	delete_in_flight(g, tv, "threads mover", (size_t)32 << 20);
	delete_unpolled(g, tv, "threads mover");
	data_mover_threads_delete(dmt);

	delete_in_flight(g, &Slow.base, "slow mover", (size_t)1 << 16);
	delete_unpolled(g, &Slow.base, "slow mover");

	/* the default mover has nothing in flight after a poll */
	delete_in_flight(g, NULL, "default mover", (size_t)1 << 16);
	delete_unpolled(g, NULL, "default mover");
	return 0;
}
