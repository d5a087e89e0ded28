/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tour.c -- the README's tour of the API, compiled and run by ctest.
 *
 * Maps a file, writes a header with a synchronous persistent memcpy, then
 * fills the rest with asynchronous copies running on a threads mover, and
 * waits for all of them at once. When runtime_wait_multiple returns, every
 * byte is durable.
 *
 *   cc tour.c $(pkg-config --cflags --libs libpmem2 libminiasync)
 *   ./a.out /dev/shm/tour.pmem
 */
#define PMEM2_USE_MINIASYNC 1	/* before <libpmem2.h>: the async API */
#include <libminiasync.h>
#include <libpmem2.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILE_SIZE (16 << 20)
#define NCOPIES 8
#define HEADER 4096

int
main(int argc, char *argv[])
{
	const char *path = argc > 1 ? argv[1] : "/dev/shm/pmem2-tour";
	int fd = open(path, O_RDWR | O_CREAT, 0644);
	if (fd < 0 || posix_fallocate(fd, 0, FILE_SIZE) != 0) {
		perror(path);
		return 1;
	}

	/* 1. a source (the file), a config (what we need), a map */
	struct pmem2_source *src;
	struct pmem2_config *cfg;
	struct pmem2_map *map;
	if (pmem2_source_from_fd(&src, fd) || pmem2_config_new(&cfg)) {
		pmem2_perror("setup");
		return 1;
	}
	/* PAGE works on any file; ask for CACHE_LINE only on real pmem */
	pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE);

	/* 2. the mover that runs the async copies: two worker threads */
	struct data_mover_threads *dmt = data_mover_threads_new(2, 64,
		FUTURE_NOTIFIER_WAKER);
	if (dmt == NULL) {
		fprintf(stderr, "cannot start the mover\n");
		return 1;
	}
	pmem2_config_set_vdm(cfg, data_mover_threads_get_vdm(dmt));

	if (pmem2_map_new(&map, cfg, src)) {
		pmem2_perror("pmem2_map_new");
		return 1;
	}
	char *base = pmem2_map_get_address(map);
	static const char *gname[] = {"byte", "cache_line", "page"};
	printf("mapped %zu bytes, granularity %s\n", pmem2_map_get_size(map),
		gname[pmem2_map_get_store_granularity(map)]);

	/* 3. synchronous: the map's memcpy writes and persists in one call */
	pmem2_memcpy_fn memcpy_fn = pmem2_get_memcpy_fn(map);
	char header[HEADER];
	memset(header, 0, sizeof(header));
	snprintf(header, sizeof(header), "tour: %d chunks follow", NCOPIES);
	memcpy_fn(base, header, sizeof(header), 0);

	/* 4. asynchronous: several copies in flight, durable on completion */
	size_t chunk = (FILE_SIZE - HEADER) / NCOPIES;
	char *data = malloc(chunk);
	for (size_t i = 0; i < chunk; i++)
		data[i] = (char)(i % 251);
	struct vdm_operation_future futs[NCOPIES];
	struct future *runnable[NCOPIES];
	for (int i = 0; i < NCOPIES; i++) {
		futs[i] = pmem2_memcpy_async(map, base + HEADER + i * chunk,
			data, chunk, 0);
		runnable[i] = FUTURE_AS_RUNNABLE(&futs[i]);
	}
	struct runtime *rt = runtime_new();
	runtime_wait_multiple(rt, runnable, NCOPIES);	/* sleeps, no spinning */

	int bad = 0;
	for (int i = 0; i < NCOPIES; i++) {
		if (FUTURE_OUTPUT(&futs[i])->result != VDM_SUCCESS ||
		    memcmp(base + HEADER + i * chunk, data, chunk) != 0)
			bad++;
	}
	printf("%d async copies of %zu bytes: %s\n", NCOPIES, chunk,
		bad ? "FAILED" : "durable and correct");

	runtime_delete(rt);
	pmem2_map_delete(&map);	/* before the mover it uses */
	data_mover_threads_delete(dmt);
	pmem2_config_delete(&cfg);
	pmem2_source_delete(&src);
	close(fd);
	unlink(path);
	free(data);
	return bad ? 1 : 0;
}
