/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * consumer.c -- a program outside the tree, built against an installed copy
 * (a cmake --install prefix, or the .deb packages unpacked with dpkg -x):
 * maps a file, copies into it with pmem2_memcpy_async through a threads
 * mover, waits, and checks the bytes. Exit 0 on success.
 */
#define PMEM2_USE_MINIASYNC 1
#include <libminiasync.h>
#include <libpmem2.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LEN (1 << 20)

int
main(int argc, char *argv[])
{
	const char *path = argc > 1 ? argv[1] : "/dev/shm/pmem2-consumer";
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, LEN) < 0) {
		perror(path);
		return 1;
	}
	struct pmem2_source *src;
	struct pmem2_config *cfg;
	struct pmem2_map *map;
	struct data_mover_threads *dmt = data_mover_threads_new(1, 64,
		FUTURE_NOTIFIER_WAKER);
	struct runtime *rt = runtime_new();
	if (!dmt || !rt || pmem2_source_from_fd(&src, fd) ||
	    pmem2_config_new(&cfg) ||
	    pmem2_config_set_required_store_granularity(cfg,
		    PMEM2_GRANULARITY_PAGE) ||
	    pmem2_config_set_vdm(cfg, data_mover_threads_get_vdm(dmt)) ||
	    pmem2_map_new(&map, cfg, src)) {
		fprintf(stderr, "setup failed: %s\n", pmem2_errormsg());
		return 1;
	}
	char *buf = malloc(LEN);
	for (int i = 0; i < LEN; i++)
		buf[i] = (char)(i * 7 + 3);
	char *dst = pmem2_map_get_address(map);
	struct vdm_operation_future fut = pmem2_memcpy_async(map, dst, buf,
		LEN, 0);
	runtime_wait(rt, FUTURE_AS_RUNNABLE(&fut));
	int ok = FUTURE_OUTPUT(&fut)->result == VDM_SUCCESS &&
		memcmp(dst, buf, LEN) == 0;
	pmem2_map_delete(&map);
	pmem2_config_delete(&cfg);
	pmem2_source_delete(&src);
	runtime_delete(rt);
	data_mover_threads_delete(dmt);
	close(fd);
	unlink(path);
	free(buf);
	printf("consumer: %s\n", ok ? "1 MiB copied durably, bytes match" :
		"MISMATCH");
	return ok ? 0 : 1;
}
