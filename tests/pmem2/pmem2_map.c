/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmem2_map.c -- pmem2_map_new/delete/from_existing on /dev/shm files: offsets,
 * lengths, PRIVATE, protection, getters, anonymous sources.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "helpers.h"

static size_t Pg;

static struct pmem2_source *
src_of(int fd)
{
	struct pmem2_source *src;
	CHECK_PMEM2_OK(pmem2_source_from_fd(&src, fd));
	return src;
}

/* Whole file, offset, offset + length: contents land in the file. */
static void
test_ranges(const char *dir)
{
	char *path = test_path(dir, "ranges");
	size_t fsize = 16 * Pg + 123;	/* not page-aligned on purpose */
	int fd = test_file(path, fsize, O_RDWR);
	struct pmem2_source *src = src_of(fd);
	struct pmem2_config *cfg = test_config(PMEM2_GRANULARITY_PAGE);

	/* whole file: size is the file size, not page rounded */
	struct pmem2_map *map;
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, src));
	CHECK_EQ(pmem2_map_get_size(map), fsize);
	CHECK_EQ(pmem2_map_get_store_granularity(map), PMEM2_GRANULARITY_PAGE);
	char *a = pmem2_map_get_address(map);
	CHECK(((uintptr_t)a % (2UL << 20)) == 0);	/* huge-page friendly */
	memset(a, 'A', fsize);
	pmem2_get_persist_fn(map)(a, fsize);
	CHECK_PMEM2_OK(pmem2_map_delete(&map));
	CHECK(map == NULL);
	/* no map at all: an error, never a crash */
	CHECK_PMEM2_ERR(pmem2_map_delete(&map), PMEM2_E_MAPPING_NOT_FOUND);
	CHECK_PMEM2_ERR(pmem2_map_delete(NULL), PMEM2_E_MAPPING_NOT_FOUND);
	char buf[64];
	CHECK_EQ(pread(fd, buf, 64, (off_t)fsize - 64), 64);
	for (int i = 0; i < 64; i++)
		CHECK_EQ(buf[i], 'A');

	/* offset, to the end */
	CHECK_PMEM2_OK(pmem2_config_set_offset(cfg, 4 * Pg));
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, src));
	CHECK_EQ(pmem2_map_get_size(map), fsize - 4 * Pg);
	a = pmem2_map_get_address(map);
	memcpy(a, "offset4", 8);
	pmem2_get_persist_fn(map)(a, 8);
	CHECK_PMEM2_OK(pmem2_map_delete(&map));
	CHECK_EQ(pread(fd, buf, 8, (off_t)(4 * Pg)), 8);
	CHECK(strcmp(buf, "offset4") == 0);

	/* offset + length */
	CHECK_PMEM2_OK(pmem2_config_set_offset(cfg, 2 * Pg));
	CHECK_PMEM2_OK(pmem2_config_set_length(cfg, 3 * Pg));
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, src));
	CHECK_EQ(pmem2_map_get_size(map), 3 * Pg);
	a = pmem2_map_get_address(map);
	a[3 * Pg - 1] = 'z';
	pmem2_get_persist_fn(map)(a + 3 * Pg - 1, 1);
	CHECK_PMEM2_OK(pmem2_map_delete(&map));
	CHECK_EQ(pread(fd, buf, 1, (off_t)(5 * Pg - 1)), 1);
	CHECK_EQ(buf[0], 'z');

	/* the exact end of the file is still a valid range */
	CHECK_PMEM2_OK(pmem2_config_set_offset(cfg, 12 * Pg));
	CHECK_PMEM2_OK(pmem2_config_set_length(cfg, 4 * Pg));
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, src));
	CHECK_PMEM2_OK(pmem2_map_delete(&map));

	/* one config, several maps of the same source at once */
	struct pmem2_map *m[4];
	CHECK_PMEM2_OK(pmem2_config_set_length(cfg, Pg));
	for (int i = 0; i < 4; i++) {
		CHECK_PMEM2_OK(pmem2_config_set_offset(cfg, (size_t)i * Pg));
		CHECK_PMEM2_OK(pmem2_map_new(&m[i], cfg, src));
		*(int *)pmem2_map_get_address(m[i]) = i + 100;
	}
	for (int i = 0; i < 4; i++) {
		int v;
		CHECK_EQ(pread(fd, &v, sizeof(v), (off_t)((size_t)i * Pg)),
			sizeof(v));
		CHECK_EQ(v, i + 100);
		CHECK_PMEM2_OK(pmem2_map_delete(&m[i]));
	}

	pmem2_config_delete(&cfg);
	pmem2_source_delete(&src);
	CHECK(src == NULL);
	test_file_remove(path, fd);
}

/* PRIVATE: writes stay in this process, the file is unchanged; BYTE. */
static void
test_private(const char *dir)
{
	char *path = test_path(dir, "private");
	int fd = test_file(path, 4 * Pg, O_RDWR);
	CHECK_EQ(pwrite(fd, "file", 4, 0), 4);
	struct pmem2_source *src = src_of(fd);
	struct pmem2_config *cfg = test_config(PMEM2_GRANULARITY_BYTE);
	CHECK_PMEM2_OK(pmem2_config_set_sharing(cfg, PMEM2_PRIVATE));
	struct pmem2_map *map;
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, src));
	CHECK_EQ(pmem2_map_get_store_granularity(map), PMEM2_GRANULARITY_BYTE);
	char *a = pmem2_map_get_address(map);
	CHECK(memcmp(a, "file", 4) == 0);
	pmem2_get_memcpy_fn(map)(a, "priv", 4, 0);
	pmem2_get_persist_fn(map)(a, 4);
	CHECK(memcmp(a, "priv", 4) == 0);
	char buf[4];
	CHECK_EQ(pread(fd, buf, 4, 0), 4);
	CHECK(memcmp(buf, "file", 4) == 0);
	/* deep flush of a private file map is an msync, harmless */
	CHECK_PMEM2_OK(pmem2_deep_flush(map, a, 4));
	CHECK_PMEM2_OK(pmem2_map_delete(&map));

	/* a read-only fd can be mapped PRIVATE with write access */
	int rfd = open(path, O_RDONLY);
	CHECK(rfd >= 0);
	struct pmem2_source *rsrc = src_of(rfd);
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, rsrc));
	((char *)pmem2_map_get_address(map))[0] = 'x';
	CHECK_PMEM2_OK(pmem2_map_delete(&map));
	pmem2_source_delete(&rsrc);
	close(rfd);

	pmem2_config_delete(&cfg);
	pmem2_source_delete(&src);
	test_file_remove(path, fd);
}


static void
test_protection(const char *dir)
{
	char *path;
	int fd;
	struct pmem2_source *src = test_file_source(dir, "prot", 4 * Pg,
		&path, &fd);
	struct pmem2_config *cfg = test_config(PMEM2_GRANULARITY_PAGE);
	struct pmem2_map *map;

	/* read-only map: reads work, a write raises SIGSEGV */
	CHECK_PMEM2_OK(pmem2_config_set_protection(cfg, PMEM2_PROT_READ));
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, src));
	char *a = pmem2_map_get_address(map);
	CHECK(!test_faults(a, 0));
	CHECK(test_faults(a, 1));
	CHECK_PMEM2_OK(pmem2_map_delete(&map));

	/* no access at all */
	CHECK_PMEM2_OK(pmem2_config_set_protection(cfg, PMEM2_PROT_NONE));
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, src));
	a = pmem2_map_get_address(map);
	CHECK(test_faults(a, 0));
	CHECK_PMEM2_OK(pmem2_map_delete(&map));

	/* read|write */
	CHECK_PMEM2_OK(pmem2_config_set_protection(cfg,
		PMEM2_PROT_READ | PMEM2_PROT_WRITE));
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, src));
	a = pmem2_map_get_address(map);
	CHECK(!test_faults(a, 1));
	CHECK_PMEM2_OK(pmem2_map_delete(&map));

	/* a read-only fd cannot be mapped shared for writing: NO_ACCESS */
	int rfd = open(path, O_RDONLY);
	CHECK(rfd >= 0);
	struct pmem2_source *rsrc = src_of(rfd);
	CHECK_PMEM2_ERR(pmem2_map_new(&map, cfg, rsrc), PMEM2_E_NO_ACCESS);
	CHECK(map == NULL);
	CHECK_PMEM2_OK(pmem2_config_set_protection(cfg, PMEM2_PROT_READ));
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, rsrc));
	CHECK(test_faults(pmem2_map_get_address(map), 1));
	CHECK_PMEM2_OK(pmem2_map_delete(&map));
	pmem2_source_delete(&rsrc);
	close(rfd);

	/* the same check in a child: the default SIGSEGV action kills it */
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, src));
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);	/* sanitizers install their own */
		((volatile char *)pmem2_map_get_address(map))[0] = 1;
		_exit(0);
	}
	int st;
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
	CHECK_PMEM2_OK(pmem2_map_delete(&map));

	pmem2_config_delete(&cfg);
	pmem2_source_delete(&src);
	test_file_remove(path, fd);
}

/* Anonymous sources: always BYTE, zero-filled, offset only range-checked. */
static void
test_anon(void)
{
	struct pmem2_source *src;
	CHECK_PMEM2_OK(pmem2_source_from_anon(&src, 8 * Pg));
	struct pmem2_config *cfg = test_config(PMEM2_GRANULARITY_BYTE);
	CHECK_PMEM2_OK(pmem2_config_set_offset(cfg, 2 * Pg));
	struct pmem2_map *map;
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, src));
	CHECK_EQ(pmem2_map_get_store_granularity(map), PMEM2_GRANULARITY_BYTE);
	CHECK_EQ(pmem2_map_get_size(map), 6 * Pg);
	char *a = pmem2_map_get_address(map);
	for (size_t i = 0; i < 6 * Pg; i++)
		CHECK_EQ(a[i], 0);
	pmem2_get_memset_fn(map)(a, 0x5a, 6 * Pg, 0);
	CHECK_EQ((unsigned char)a[6 * Pg - 1], 0x5a);
	CHECK_PMEM2_ERR(pmem2_deep_flush(map, a, Pg), PMEM2_E_NOSUPP);
	CHECK_PMEM2_OK(pmem2_map_delete(&map));

	/* shared anon works too */
	CHECK_PMEM2_OK(pmem2_config_set_offset(cfg, 0));
	CHECK_PMEM2_OK(pmem2_config_set_sharing(cfg, PMEM2_SHARED));
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, src));
	CHECK_EQ(pmem2_map_get_store_granularity(map), PMEM2_GRANULARITY_BYTE);
	CHECK_PMEM2_OK(pmem2_map_delete(&map));

	/* size 0 is accepted by the source but not by map_new */
	struct pmem2_source *empty;
	CHECK_PMEM2_OK(pmem2_source_from_anon(&empty, 0));
	CHECK_PMEM2_ERR(pmem2_map_new(&map, cfg, empty), PMEM2_E_SOURCE_EMPTY);
	pmem2_source_delete(&empty);

	pmem2_config_delete(&cfg);
	pmem2_source_delete(&src);
}

/* Wrapping existing memory; overlaps are refused with MAP_EXISTS. */
static void
test_from_existing(const char *dir)
{
	char *path;
	int fd;
	struct pmem2_source *src = test_file_source(dir, "existing", 16 * Pg,
		&path, &fd);
	char *a = mmap(NULL, 16 * Pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(a != MAP_FAILED);

	struct pmem2_map *m1, *m2, *m3;
	CHECK_PMEM2_OK(pmem2_map_from_existing(&m1, src, a, 8 * Pg,
		PMEM2_GRANULARITY_PAGE));
	CHECK(pmem2_map_get_address(m1) == a);
	CHECK_EQ(pmem2_map_get_size(m1), 8 * Pg);
	CHECK_EQ(pmem2_map_get_store_granularity(m1), PMEM2_GRANULARITY_PAGE);

	/* the same range, a range inside it, one straddling its end */
	CHECK_PMEM2_ERR(pmem2_map_from_existing(&m2, src, a, 8 * Pg,
		PMEM2_GRANULARITY_PAGE), PMEM2_E_MAP_EXISTS);
	CHECK(m2 == NULL);
	CHECK_PMEM2_ERR(pmem2_map_from_existing(&m2, src, a + Pg, Pg,
		PMEM2_GRANULARITY_PAGE), PMEM2_E_MAP_EXISTS);
	CHECK_PMEM2_ERR(pmem2_map_from_existing(&m2, src, a + 7 * Pg, 2 * Pg,
		PMEM2_GRANULARITY_PAGE), PMEM2_E_MAP_EXISTS);
	/* one straddling its start */
	CHECK_PMEM2_OK(pmem2_map_from_existing(&m2, src, a + 10 * Pg, 4 * Pg,
		PMEM2_GRANULARITY_PAGE));
	CHECK_PMEM2_ERR(pmem2_map_from_existing(&m3, src, a + 9 * Pg, 2 * Pg,
		PMEM2_GRANULARITY_PAGE), PMEM2_E_MAP_EXISTS);
	/* the gap between them is free */
	CHECK_PMEM2_OK(pmem2_map_from_existing(&m3, src, a + 8 * Pg, 2 * Pg,
		PMEM2_GRANULARITY_PAGE));

	/* equal granularity: identical function pointers */
	CHECK(pmem2_get_persist_fn(m1) == pmem2_get_persist_fn(m2));
	CHECK(pmem2_get_memcpy_fn(m1) == pmem2_get_memcpy_fn(m3));
	CHECK(pmem2_get_memset_fn(m1) == pmem2_get_memset_fn(m2));

	/* PAGE persist through a wrapped map reaches the file */
	memcpy(a + 3, "wrapped", 8);
	pmem2_get_persist_fn(m1)(a + 3, 8);

	/* delete does not unmap what the user mapped */
	CHECK_PMEM2_OK(pmem2_map_delete(&m1));
	CHECK_PMEM2_OK(pmem2_map_delete(&m2));
	CHECK_PMEM2_OK(pmem2_map_delete(&m3));
	CHECK(strcmp(a + 3, "wrapped") == 0);
	/* after delete the range can be wrapped again */
	CHECK_PMEM2_OK(pmem2_map_from_existing(&m1, src, a, 16 * Pg,
		PMEM2_GRANULARITY_CACHE_LINE));
	CHECK_PMEM2_OK(pmem2_map_delete(&m1));

	/* overlap with a map made by pmem2_map_new */
	struct pmem2_config *cfg = test_config(PMEM2_GRANULARITY_PAGE);
	struct pmem2_map *nm;
	CHECK_PMEM2_OK(pmem2_map_new(&nm, cfg, src));
	CHECK_PMEM2_ERR(pmem2_map_from_existing(&m1, src,
		(char *)pmem2_map_get_address(nm) + Pg, Pg,
		PMEM2_GRANULARITY_PAGE), PMEM2_E_MAP_EXISTS);
	CHECK_PMEM2_OK(pmem2_map_delete(&nm));
	pmem2_config_delete(&cfg);

	munmap(a, 16 * Pg);
	pmem2_source_delete(&src);
	test_file_remove(path, fd);
}

int
main(void)
{
	Pg = (size_t)sysconf(_SC_PAGESIZE);
	const char *dir = test_dir();
	test_ranges(dir);
	test_private(dir);
	test_protection(dir);
	test_anon();
	test_from_existing(dir);
	printf("ok\n");
	return 0;
}
