/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * map_multiple_files.c -- several files mapped back to back in one virtual
 * memory reservation, so that they read as one contiguous range. Each file
 * is mapped at the reservation offset where the previous one ended.
 *
 *   usage: map_multiple_files FILE...   (missing files get 64 KiB)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpmem2.h>

#define MIN_FILE (64 * 1024)

int
main(int argc, char *argv[])
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE...\n", argv[0]);
		return 1;
	}
	int n = argc - 1;
	int *fds = calloc((size_t)n, sizeof(int));
	struct pmem2_source **srcs = calloc((size_t)n, sizeof(*srcs));
	struct pmem2_map **maps = calloc((size_t)n, sizeof(*maps));
	size_t *sizes = calloc((size_t)n, sizeof(size_t));
	if (!fds || !srcs || !maps || !sizes) {
		perror("calloc");
		return 1;
	}

	/* sizes first: the reservation must hold all of them */
	size_t total = 0;
	for (int i = 0; i < n; i++) {
		fds[i] = open(argv[i + 1], O_RDWR | O_CREAT, 0644);
		struct stat st;
		if (fds[i] < 0 || fstat(fds[i], &st) != 0) {
			perror(argv[i + 1]);
			return 1;
		}
		if (st.st_size < MIN_FILE && ftruncate(fds[i], MIN_FILE) != 0) {
			perror("ftruncate");
			return 1;
		}
		size_t align;
		if (pmem2_source_from_fd(&srcs[i], fds[i]) ||
				pmem2_source_size(srcs[i], &sizes[i]) ||
				pmem2_source_alignment(srcs[i], &align)) {
			pmem2_perror("%s", argv[i + 1]);
			return 1;
		}
		/* whole units of the alignment, so the next file fits after */
		sizes[i] = sizes[i] / align * align;
		total += sizes[i];
	}

	struct pmem2_vm_reservation *rsv;
	if (pmem2_vm_reservation_new(&rsv, NULL, total)) {
		pmem2_perror("pmem2_vm_reservation_new");
		return 1;
	}
	struct pmem2_config *cfg;
	if (pmem2_config_new(&cfg) ||
			pmem2_config_set_required_store_granularity(cfg,
				PMEM2_GRANULARITY_PAGE)) {
		pmem2_perror("config");
		return 1;
	}

	size_t off = 0;
	for (int i = 0; i < n; i++) {
		pmem2_config_set_length(cfg, sizes[i]);
		pmem2_config_set_vm_reservation(cfg, rsv, off);
		if (pmem2_map_new(&maps[i], cfg, srcs[i])) {
			pmem2_perror("pmem2_map_new %s", argv[i + 1]);
			return 1;
		}
		off += sizes[i];
	}

	/* one store loop over the whole range, crossing file boundaries */
	char *base = pmem2_vm_reservation_get_address(rsv);
	for (size_t i = 0; i < total; i += 4096)
		base[i] = (char)('A' + (i / 4096) % 26);
	for (int i = 0; i < n; i++)
		pmem2_get_persist_fn(maps[i])(pmem2_map_get_address(maps[i]),
			sizes[i]);

	/* walk the maps in address order, checking each file */
	int bad = 0;
	struct pmem2_map *m;
	int idx = 0;
	for (int r = pmem2_vm_reservation_map_find_first(rsv, &m); r == 0;
			r = pmem2_vm_reservation_map_find_next(rsv, m, &m), idx++) {
		size_t start = (size_t)((char *)pmem2_map_get_address(m) - base);
		char c;
		if (pread(fds[idx], &c, 1, 0) != 1 ||
				c != (char)('A' + (start / 4096) % 26))
			bad = 1;
		printf("%s at reservation offset %zu, %zu bytes, starts with %c\n",
			argv[idx + 1], start, pmem2_map_get_size(m), c);
	}
	if (idx != n)
		bad = 1;

	for (int i = 0; i < n; i++) {
		pmem2_map_delete(&maps[i]);
		pmem2_source_delete(&srcs[i]);
		close(fds[i]);
	}
	if (pmem2_vm_reservation_delete(&rsv)) {
		pmem2_perror("pmem2_vm_reservation_delete");
		bad = 1;
	}
	pmem2_config_delete(&cfg);
	free(fds);
	free(srcs);
	free(maps);
	free(sizes);
	return bad;
}
