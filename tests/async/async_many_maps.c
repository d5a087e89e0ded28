/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * async_many_maps.c -- what a PAGE map costs: 10,000 maps of disk-backed
 * files, one durable 4 KiB write each, under a limit of 1024 open files.
 *
 * pmem2_map_new must take no descriptor and start no thread; the durable
 * writes may use a few threads (the process's syncer, io_uring's workers)
 * and a bounded number of descriptors, whatever the number of maps. The
 * application closes each file once its maps are made, as most do. The
 * bytes are read back from the files afterwards.
 */
#include <dirent.h>
#include <sys/resource.h>
#include "helpers.h"

#define NFILES 200
#define MAPS_PER_FILE 50
#define NMAPS (NFILES * MAPS_PER_FILE)
#define PG 4096
#define BATCH 256
#define MAX_EXTRA_THREADS 4
/* the cache of file descriptors, and io_uring's own */
#define MAX_EXTRA_FDS (64 + 1)

static struct pmem2_map *Maps[NMAPS];
static char Paths[NFILES][256];

static void
check_costs(const char *when, int threads0, int fds0, int max_threads,
	int max_fds)
{
	int threads = test_count_threads();
	int fds = test_count_fds();
	printf("%s: %d threads (%+d), %d fds (%+d)\n", when, threads,
		threads - threads0, fds, fds - fds0);
	if (threads - threads0 > max_threads)
		FAIL("%s: %d extra threads, at most %d expected", when,
			threads - threads0, max_threads);
	if (fds - fds0 > max_fds)
		FAIL("%s: %d extra descriptors, at most %d expected", when,
			fds - fds0, max_fds);
}

int
main(void)
{
	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	if (rl.rlim_max < 1024)
		SKIP("the hard limit of open files is below 1024");
	rl.rlim_cur = 1024;
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);

	int threads0 = test_count_threads();
	int fds0 = test_count_fds();

	const char *dir = test_disk_dir();
	struct pmem2_config *cfg;
	CHECK_PMEM2_OK(pmem2_config_new(&cfg));
	CHECK_PMEM2_OK(pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE));
	for (int f = 0; f < NFILES; f++) {
		snprintf(Paths[f], sizeof(Paths[f]), "%s/pmem2_many_%d_%d",
			dir, (int)getpid(), f);
		int fd = open(Paths[f], O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0)
			FAIL("open %s: %s", Paths[f], strerror(errno));
		CHECK(ftruncate(fd, (off_t)MAPS_PER_FILE * PG) == 0);
		struct pmem2_source *src;
		CHECK_PMEM2_OK(pmem2_source_from_fd(&src, fd));
		for (int i = 0; i < MAPS_PER_FILE; i++) {
			CHECK_PMEM2_OK(pmem2_config_set_offset(cfg,
				(size_t)i * PG));
			CHECK_PMEM2_OK(pmem2_config_set_length(cfg, PG));
			CHECK_PMEM2_OK(pmem2_map_new(
				&Maps[f * MAPS_PER_FILE + i], cfg, src));
			CHECK_EQ(pmem2_map_get_store_granularity(
				Maps[f * MAPS_PER_FILE + i]),
				PMEM2_GRANULARITY_PAGE);
		}
		CHECK_PMEM2_OK(pmem2_source_delete(&src));
		close(fd);
	}
	CHECK_PMEM2_OK(pmem2_config_delete(&cfg));
	/* the maps alone: not one descriptor, not one thread */
	check_costs("after pmem2_map_new", threads0, fds0, 0, 0);

	/* one durable write into each map, BATCH futures in flight */
	static struct vdm_operation_future fut[BATCH];
	static char buf[BATCH][PG];
	for (int b = 0; b < NMAPS; b += BATCH) {
		int n = NMAPS - b < BATCH ? NMAPS - b : BATCH;
		for (int k = 0; k < n; k++) {
			test_pattern(buf[k], PG, (unsigned)(b + k));
			struct pmem2_map *m = Maps[b + k];
			fut[k] = pmem2_memcpy_async(m,
				pmem2_map_get_address(m), buf[k], PG, 0);
		}
		for (int left = n; left != 0; ) {
			left = 0;
			for (int k = 0; k < n; k++) {
				if (future_poll(FUTURE_AS_RUNNABLE(&fut[k]),
						NULL) != FUTURE_STATE_COMPLETE)
					left++;
			}
		}
		for (int k = 0; k < n; k++)
			if (fut[k].output.result != VDM_SUCCESS)
				FAIL("map %d: result %d: %s", b + k,
					(int)fut[k].output.result,
					pmem2_errormsg());
		if (b == 0 || b + BATCH >= NMAPS)
			check_costs(b == 0 ? "after the first batch" :
				"after the last batch", threads0, fds0,
				MAX_EXTRA_THREADS, MAX_EXTRA_FDS);
	}

	for (int i = 0; i < NMAPS; i++)
		CHECK_PMEM2_OK(pmem2_map_delete(&Maps[i]));
	/* every descriptor goes with the last map of its file */
	check_costs("after pmem2_map_delete", threads0, fds0,
		MAX_EXTRA_THREADS, 1);

	/* the bytes are in the files */
	char want[PG], got[PG];
	for (int f = 0; f < NFILES; f++) {
		int fd = open(Paths[f], O_RDONLY);
		CHECK(fd >= 0);
		for (int i = 0; i < MAPS_PER_FILE; i++) {
			test_pattern(want, PG, (unsigned)(f * MAPS_PER_FILE + i));
			CHECK_EQ(pread(fd, got, PG, (off_t)i * PG), PG);
			CHECK_MEM(got, want, PG);
		}
		close(fd);
		unlink(Paths[f]);
	}
	printf("%d maps of %d files, one durable write each: OK\n", NMAPS,
		NFILES);
	return 0;
}
