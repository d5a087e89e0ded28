/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * advanced.c -- map only part of a file: an offset and a length rounded to
 * the source's alignment (the page size for files, larger for device DAX),
 * then write a pattern there and check that the rest of the file is
 * untouched.
 *
 *   usage: advanced FILE [OFFSET LENGTH]   (defaults: 97 KiB, 65 KiB)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpmem2.h>

#define FILE_SIZE (1 << 20)

int
main(int argc, char *argv[])
{
	if (argc != 2 && argc != 4) {
		fprintf(stderr, "usage: %s FILE [OFFSET LENGTH]\n", argv[0]);
		return 1;
	}
	size_t want_off = argc == 4 ? strtoull(argv[2], NULL, 0) : 97 * 1024;
	size_t want_len = argc == 4 ? strtoull(argv[3], NULL, 0) : 65 * 1024;

	int fd = open(argv[1], O_RDWR | O_CREAT, 0644);
	if (fd < 0) {
		perror("open");
		return 1;
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && st.st_size < FILE_SIZE &&
			ftruncate(fd, FILE_SIZE) != 0) {
		perror("ftruncate");
		return 1;
	}

	struct pmem2_source *src;
	struct pmem2_config *cfg;
	struct pmem2_map *map;
	if (pmem2_source_from_fd(&src, fd)) {
		pmem2_perror("pmem2_source_from_fd");
		return 1;
	}
	size_t align, fsize;
	if (pmem2_source_alignment(src, &align) ||
			pmem2_source_size(src, &fsize)) {
		pmem2_perror("source alignment/size");
		return 1;
	}

	/* offset rounded down, length rounded up, both to the alignment */
	size_t off = want_off / align * align;
	size_t len = (want_len + (want_off - off) + align - 1) / align * align;
	if (off + len > fsize) {
		fprintf(stderr, "range %zu+%zu does not fit a %zu-byte file\n",
			off, len, fsize);
		return 1;
	}
	printf("alignment %zu: asked %zu+%zu, mapping %zu+%zu\n", align,
		want_off, want_len, off, len);

	if (pmem2_config_new(&cfg) ||
			pmem2_config_set_required_store_granularity(cfg,
				PMEM2_GRANULARITY_PAGE) ||
			pmem2_config_set_offset(cfg, off) ||
			pmem2_config_set_length(cfg, len)) {
		pmem2_perror("config");
		return 1;
	}
	if (pmem2_map_new(&map, cfg, src)) {
		pmem2_perror("pmem2_map_new");
		return 1;
	}

	/* the bytes the user asked for start (want_off - off) into the map */
	char *p = (char *)pmem2_map_get_address(map) + (want_off - off);
	pmem2_memset_fn memset_fn = pmem2_get_memset_fn(map);
	memset_fn(p, 0xab, want_len, 0);	/* copies and persists */

	/* check through the file: inside is 0xab, just outside is not */
	unsigned char c;
	int bad = 0;
	bad |= pread(fd, &c, 1, (off_t)want_off) != 1 || c != 0xab;
	bad |= pread(fd, &c, 1, (off_t)(want_off + want_len - 1)) != 1 ||
		c != 0xab;
	if (want_off > 0)
		bad |= pread(fd, &c, 1, (off_t)(want_off - 1)) != 1 ||
			c == 0xab;
	bad |= pread(fd, &c, 1, (off_t)(want_off + want_len)) != 1 || c == 0xab;
	if (bad)
		fprintf(stderr, "the file does not hold the expected bytes\n");
	else
		printf("wrote %zu bytes at offset %zu\n", want_len, want_off);

	pmem2_map_delete(&map);
	pmem2_config_delete(&cfg);
	pmem2_source_delete(&src);
	close(fd);
	return bad;
}
