/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * basic.c -- the smallest complete libpmem2 program: map a file, store a
 * string into it and make the store persistent.
 *
 *   usage: basic FILE        (FILE is created with 1 MiB if it is missing)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpmem2.h>

int
main(int argc, char *argv[])
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 1;
	}
	int fd = open(argv[1], O_RDWR | O_CREAT, 0644);
	if (fd < 0) {
		perror("open");
		return 1;
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && st.st_size < (1 << 20) &&
			ftruncate(fd, 1 << 20) != 0) {
		perror("ftruncate");
		return 1;
	}

	struct pmem2_config *cfg;
	struct pmem2_source *src;
	struct pmem2_map *map;
	int ret = 1;

	if (pmem2_config_new(&cfg)) {
		pmem2_perror("pmem2_config_new");
		goto out_fd;
	}
	if (pmem2_source_from_fd(&src, fd)) {
		pmem2_perror("pmem2_source_from_fd");
		goto out_cfg;
	}
	/* PAGE is the coarsest level: any file can be mapped with it */
	if (pmem2_config_set_required_store_granularity(cfg,
			PMEM2_GRANULARITY_PAGE)) {
		pmem2_perror("pmem2_config_set_required_store_granularity");
		goto out_src;
	}
	if (pmem2_map_new(&map, cfg, src)) {
		pmem2_perror("pmem2_map_new");
		goto out_src;
	}

	char *addr = pmem2_map_get_address(map);
	size_t size = pmem2_map_get_size(map);
	pmem2_persist_fn persist = pmem2_get_persist_fn(map);

	const char *msg = "hello, persistent memory";
	strcpy(addr, msg);
	persist(addr, strlen(msg) + 1);
	printf("stored \"%s\" in %zu-byte map (granularity %d)\n", addr, size,
		(int)pmem2_map_get_store_granularity(map));

	/* read it back through the file to show it is there */
	char check[64] = {0};
	if (pread(fd, check, strlen(msg) + 1, 0) < 0 || strcmp(check, msg)) {
		fprintf(stderr, "the file does not hold what was stored\n");
		pmem2_map_delete(&map);
		goto out_src;
	}
	pmem2_map_delete(&map);
	ret = 0;
out_src:
	pmem2_source_delete(&src);
out_cfg:
	pmem2_config_delete(&cfg);
out_fd:
	close(fd);
	return ret;
}
