/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fault_syncer_start.c -- the PAGE syncer's thread cannot be started:
 * pmem2_memcpy_async on a PAGE map must fail as the call, with a COMPLETE
 * future holding VDM_ERROR_OUT_OF_MEMORY, and write nothing; not copy the
 * bytes and then report an error of the durability step. Checked where the
 * syncer is started by an operation: the first one of the process, and the
 * first one in a fork child (a child has no worker until it needs one).
 * Once threads can be made again, the next operation works and is durable.
 */
#define PMEM2_USE_MINIASYNC 1
#include <sys/wait.h>
#include "helpers.h"
#include "fault_alloc.h"

#define MSIZE (1u << 20)

static unsigned char src[4096];

/* One copy to page `page` of m while thread creation fails. */
static void
copy_fails(struct test_map *m, size_t page, const char *who)
{
	unsigned char *dst = (unsigned char *)m->addr + page * 4096;
	unsigned char before[4096];
	memcpy(before, dst, sizeof(before));

	fa_arm(FA_THREAD, 1);
	struct vdm_operation_future f = pmem2_memcpy_async(m->map, dst, src,
		sizeof(src), 0);
	fa_disarm();
	if (!fa_fired())
		FAIL("%s: the operation started no thread (syncer running?)",
			who);
	if (FUTURE_STATE(&f) != FUTURE_STATE_COMPLETE)
		FAIL("%s: the future is not complete at once", who);
	CHECK_EQ(FUTURE_OUTPUT(&f)->result, VDM_ERROR_OUT_OF_MEMORY);
	CHECK_MEM(dst, before, sizeof(before));	/* nothing written */
}

/* The same copy with threads available: succeeds, the file has it. */
static void
copy_works(struct test_map *m, size_t page)
{
	unsigned char *dst = (unsigned char *)m->addr + page * 4096;
	struct vdm_operation_future f = pmem2_memcpy_async(m->map, dst, src,
		sizeof(src), 0);
	FUTURE_BUSY_POLL(&f);	/* no runtime in the static library */
	CHECK_EQ(FUTURE_OUTPUT(&f)->result, VDM_SUCCESS);
	CHECK_MEM(dst, src, sizeof(src));
	test_check_file(m->path, page * 4096, src, sizeof(src));
}

int
main(void)
{
	test_pattern(src, sizeof(src), 14);
	struct test_map m;
	test_map_open_in(&m, test_disk_dir(), "fault-syncer", MSIZE, NULL,
		NULL, NULL);
	if (m.gran != PMEM2_GRANULARITY_PAGE) {
		printf("SKIP: %s gives %s maps, not PAGE\n", test_disk_dir(),
			test_gran_name(m.gran));
		test_map_close(&m);
		return 77;
	}

	/* the process's first operation starts the syncer */
	copy_fails(&m, 0, "first operation");
	copy_works(&m, 0);

	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		copy_fails(&m, 1, "fork child");
		copy_works(&m, 1);
		/* the child's delete waits for its own syncer; the file stays */
		CHECK_PMEM2_OK(pmem2_map_delete(&m.map));
		_exit(0);
	}
	int status;
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* the parent's syncer still runs: nothing to start, nothing fails */
	copy_works(&m, 2);
	test_map_close(&m);
	printf("fault_syncer_start: thread failure is the call's error, "
		"in the process and in a fork child\n");
	return 0;
}
