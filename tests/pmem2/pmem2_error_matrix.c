/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmem2_error_matrix.c -- every PMEM2_E_* code a user can provoke through the
 * core API on an ordinary machine, each with its exact code and a message
 * that this very call wrote (the previous message is replaced by a
 * sentinel before every check).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "helpers.h"

static size_t Pg;
static struct pmem2_config *Sentinel_cfg;
static char Sentinel[8192];

/* Puts a known message in place, so a stale one cannot pass for new. */
static void
sentinel(void)
{
	int r = pmem2_config_set_sharing(Sentinel_cfg,
		(enum pmem2_sharing_type)77);
	CHECK_EQ(r, PMEM2_E_INVALID_SHARING_VALUE);
	snprintf(Sentinel, sizeof(Sentinel), "%s", pmem2_errormsg());
	CHECK(Sentinel[0] != '\0');
}

#define EXPECT(expr, code) do { \
	sentinel(); \
	CHECK_PMEM2_ERR(expr, code); \
	if (strcmp(pmem2_errormsg(), Sentinel) == 0) \
		FAIL("%s: did not set its own message", #expr); \
} while (0)

#define EXPECT_MSG(expr, code, msg) do { \
	EXPECT(expr, code); \
	if (strcmp(pmem2_errormsg(), (msg)) != 0) \
		FAIL("%s: message \"%s\", expected \"%s\"", #expr, \
			pmem2_errormsg(), (msg)); \
} while (0)

int
main(void)
{
	Pg = (size_t)sysconf(_SC_PAGESIZE);
	CHECK_PMEM2_OK(pmem2_config_new(&Sentinel_cfg));
	const char *dir = test_dir();
	char *path = test_path(dir, "matrix");
	int fd = test_file(path, 16 * Pg, O_RDWR);
	struct pmem2_source *src, *anon, *out;
	struct pmem2_config *cfg;
	struct pmem2_map *map, *map2;
	struct pmem2_vm_reservation *rsv, *rsv2;
	CHECK_PMEM2_OK(pmem2_source_from_fd(&src, fd));
	CHECK_PMEM2_OK(pmem2_source_from_anon(&anon, 4 * Pg));

	/* ---- sources ---- */
	EXPECT(pmem2_source_from_fd(&out, -1), PMEM2_E_INVALID_FILE_HANDLE);
	CHECK(out == NULL);
	int closed = dup(fd);
	close(closed);
	EXPECT(pmem2_source_from_fd(&out, closed), PMEM2_E_INVALID_FILE_HANDLE);
	int wfd = open(path, O_WRONLY);
	CHECK(wfd >= 0);
	EXPECT(pmem2_source_from_fd(&out, wfd), PMEM2_E_INVALID_FILE_HANDLE);
	close(wfd);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0);
	EXPECT(pmem2_source_from_fd(&out, dfd), PMEM2_E_INVALID_FILE_TYPE);
	close(dfd);
	int nfd = open("/dev/null", O_RDWR);
	CHECK(nfd >= 0);
	EXPECT(pmem2_source_from_fd(&out, nfd), PMEM2_E_INVALID_FILE_TYPE);
	close(nfd);
	int sv[2];
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	EXPECT(pmem2_source_from_fd(&out, sv[0]), PMEM2_E_INVALID_FILE_TYPE);
	close(sv[0]);
	close(sv[1]);
	int gfd;
	EXPECT(pmem2_source_get_fd(anon, &gfd), PMEM2_E_FILE_DESCRIPTOR_NOT_SET);
	char buf[64];
	EXPECT(pmem2_source_pread_mcsafe(anon, buf, 8, 0),
		PMEM2_E_SOURCE_TYPE_NOT_SUPPORTED);
	EXPECT(pmem2_source_pwrite_mcsafe(anon, buf, 8, 0),
		PMEM2_E_SOURCE_TYPE_NOT_SUPPORTED);
	EXPECT(pmem2_source_pread_mcsafe(src, buf, 8, 16 * Pg - 4),
		PMEM2_E_LENGTH_OUT_OF_RANGE);
	EXPECT(pmem2_source_pwrite_mcsafe(src, buf, 8, 17 * Pg),
		PMEM2_E_LENGTH_OUT_OF_RANGE);

	/* ---- configs ---- */
	CHECK_PMEM2_OK(pmem2_config_new(&cfg));
	EXPECT(pmem2_config_set_required_store_granularity(cfg,
		(enum pmem2_granularity)3), PMEM2_E_GRANULARITY_NOT_SUPPORTED);
	EXPECT(pmem2_config_set_required_store_granularity(cfg,
		(enum pmem2_granularity)-1), PMEM2_E_GRANULARITY_NOT_SUPPORTED);
	EXPECT_MSG(pmem2_config_set_offset(cfg, (size_t)INT64_MAX + 1),
		PMEM2_E_OFFSET_OUT_OF_RANGE,
		"offset is greater than INT64_MAX");
	EXPECT(pmem2_config_set_sharing(cfg, (enum pmem2_sharing_type)2),
		PMEM2_E_INVALID_SHARING_VALUE);
	EXPECT(pmem2_config_set_protection(cfg, PMEM2_PROT_READ | 1),
		PMEM2_E_INVALID_PROT_FLAG);

	/* ---- map_new, in upstream's order of checks ---- */
	EXPECT(pmem2_map_new(&map, cfg, src), PMEM2_E_GRANULARITY_NOT_SET);
	CHECK(map == NULL);
	CHECK_PMEM2_OK(pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE));
	CHECK_PMEM2_OK(pmem2_config_set_offset(cfg, 1));
	CHECK_PMEM2_OK(pmem2_config_set_length(cfg, 1));
	/* offset is checked before length and range */
	EXPECT(pmem2_map_new(&map, cfg, src), PMEM2_E_OFFSET_UNALIGNED);
	CHECK_PMEM2_OK(pmem2_config_set_offset(cfg, 0));
	EXPECT(pmem2_map_new(&map, cfg, src), PMEM2_E_LENGTH_UNALIGNED);
	CHECK_PMEM2_OK(pmem2_config_set_length(cfg, 17 * Pg));
	EXPECT(pmem2_map_new(&map, cfg, src), PMEM2_E_MAP_RANGE);
	CHECK_PMEM2_OK(pmem2_config_set_offset(cfg, 8 * Pg));
	CHECK_PMEM2_OK(pmem2_config_set_length(cfg, 9 * Pg));
	EXPECT(pmem2_map_new(&map, cfg, src), PMEM2_E_MAP_RANGE);
	CHECK_PMEM2_OK(pmem2_config_set_length(cfg,
		SIZE_MAX - SIZE_MAX % Pg));	/* offset + length overflows */
	EXPECT(pmem2_map_new(&map, cfg, src), PMEM2_E_MAP_RANGE);
	CHECK_PMEM2_OK(pmem2_config_set_offset(cfg, 16 * Pg));
	CHECK_PMEM2_OK(pmem2_config_set_length(cfg, 0));
	EXPECT(pmem2_map_new(&map, cfg, src), PMEM2_E_MAP_RANGE);
	CHECK_PMEM2_OK(pmem2_config_set_offset(cfg, 0));

	/* an empty file / anonymous source */
	char *epath = test_path(dir, "empty");
	int efd = test_file(epath, 0, O_RDWR);
	struct pmem2_source *esrc;
	CHECK_PMEM2_OK(pmem2_source_from_fd(&esrc, efd));
	EXPECT(pmem2_map_new(&map, cfg, esrc), PMEM2_E_SOURCE_EMPTY);
	pmem2_source_delete(&esrc);
	test_file_remove(epath, efd);
	struct pmem2_source *eanon;
	CHECK_PMEM2_OK(pmem2_source_from_anon(&eanon, 0));
	EXPECT(pmem2_map_new(&map, cfg, eanon), PMEM2_E_SOURCE_EMPTY);
	pmem2_source_delete(&eanon);

	/* write access to a read-only file */
	int rfd = open(path, O_RDONLY);
	struct pmem2_source *rsrc;
	CHECK_PMEM2_OK(pmem2_source_from_fd(&rsrc, rfd));
	EXPECT(pmem2_map_new(&map, cfg, rsrc), PMEM2_E_NO_ACCESS);
	pmem2_source_delete(&rsrc);
	close(rfd);

	/* granularity: /dev/shm has no MAP_SYNC, so PAGE is all there is */
	unsetenv("PMEM2_FORCE_GRANULARITY");
	CHECK_PMEM2_OK(pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_CACHE_LINE));
	EXPECT_MSG(pmem2_map_new(&map, cfg, src),
		PMEM2_E_GRANULARITY_NOT_SUPPORTED,
		"requested granularity not available because fd doesn't point to DAX-enabled file or kernel doesn't support MAP_SYNC flag (Linux >= 4.15)");
	CHECK(map == NULL);
	setenv("PMEM2_FORCE_GRANULARITY", "cache_line", 1);
	CHECK_PMEM2_OK(pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_BYTE));
	EXPECT_MSG(pmem2_map_new(&map, cfg, src),
		PMEM2_E_GRANULARITY_NOT_SUPPORTED,
		"requested granularity not available because the platform doesn't support eADR");
	unsetenv("PMEM2_FORCE_GRANULARITY");
	CHECK_PMEM2_OK(pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE));

	/* ---- deep flush, map_from_existing ---- */
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, src));
	char *a = pmem2_map_get_address(map);
	EXPECT(pmem2_deep_flush(map, a - 1, 2), PMEM2_E_DEEP_FLUSH_RANGE);
	EXPECT(pmem2_deep_flush(map, a + 16 * Pg - 1, 2),
		PMEM2_E_DEEP_FLUSH_RANGE);
	EXPECT(pmem2_deep_flush(map, a + 17 * Pg, 0), PMEM2_E_DEEP_FLUSH_RANGE);
	EXPECT(pmem2_map_from_existing(&map2, src, a + Pg, Pg,
		PMEM2_GRANULARITY_PAGE), PMEM2_E_MAP_EXISTS);
	CHECK(map2 == NULL);
	CHECK_PMEM2_OK(pmem2_map_delete(&map));

	struct pmem2_config *acfg = test_config(PMEM2_GRANULARITY_BYTE);
	struct pmem2_map *amap;
	CHECK_PMEM2_OK(pmem2_map_new(&amap, acfg, anon));
	EXPECT(pmem2_deep_flush(amap, pmem2_map_get_address(amap), Pg),
		PMEM2_E_NOSUPP);
	CHECK_PMEM2_OK(pmem2_map_delete(&amap));
	pmem2_config_delete(&acfg);

	/* ---- RAS on anonymous sources ---- */
	char id[256];
	size_t idlen = sizeof(id);
	uint64_t usc;
	int node;
	struct pmem2_badblock_context *bbctx;
	EXPECT(pmem2_source_device_id(anon, id, &idlen), PMEM2_E_NOSUPP);
	EXPECT(pmem2_source_device_usc(anon, &usc), PMEM2_E_NOSUPP);
	EXPECT(pmem2_source_numa_node(anon, &node), PMEM2_E_NOSUPP);
	EXPECT(pmem2_badblock_context_new(&bbctx, anon), PMEM2_E_NOSUPP);
	CHECK(bbctx == NULL);

	/* ---- reservations ---- */
	EXPECT(pmem2_vm_reservation_new(&rsv, (void *)(uintptr_t)(Pg + 1),
		4 * Pg), PMEM2_E_ADDRESS_UNALIGNED);
	CHECK(rsv == NULL);
	EXPECT(pmem2_vm_reservation_new(&rsv, NULL, 4 * Pg + 1),
		PMEM2_E_LENGTH_UNALIGNED);
	CHECK_PMEM2_OK(pmem2_vm_reservation_new(&rsv, NULL, 16 * Pg));
	void *raddr = pmem2_vm_reservation_get_address(rsv);
	EXPECT(pmem2_vm_reservation_new(&rsv2, raddr, 4 * Pg),
		PMEM2_E_MAPPING_EXISTS);
	EXPECT(pmem2_vm_reservation_extend(rsv, Pg + 1),
		PMEM2_E_LENGTH_UNALIGNED);

	CHECK_PMEM2_OK(pmem2_config_set_length(cfg, 4 * Pg));
	CHECK_PMEM2_OK(pmem2_config_set_vm_reservation(cfg, rsv, Pg + 1));
	EXPECT(pmem2_map_new(&map, cfg, src), PMEM2_E_OFFSET_UNALIGNED);
	CHECK_PMEM2_OK(pmem2_config_set_vm_reservation(cfg, rsv, 13 * Pg));
	EXPECT(pmem2_map_new(&map, cfg, src), PMEM2_E_LENGTH_OUT_OF_RANGE);
	CHECK_PMEM2_OK(pmem2_config_set_vm_reservation(cfg, rsv, 4 * Pg));
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, src));
	CHECK_PMEM2_OK(pmem2_config_set_vm_reservation(cfg, rsv, 6 * Pg));
	EXPECT(pmem2_map_new(&map2, cfg, src), PMEM2_E_MAPPING_EXISTS);
	CHECK(map2 == NULL);

	EXPECT(pmem2_vm_reservation_delete(&rsv),
		PMEM2_E_VM_RESERVATION_NOT_EMPTY);
	CHECK(rsv != NULL);
	EXPECT(pmem2_vm_reservation_shrink(rsv, 1, Pg),
		PMEM2_E_OFFSET_UNALIGNED);
	EXPECT(pmem2_vm_reservation_shrink(rsv, 0, Pg + 1),
		PMEM2_E_LENGTH_UNALIGNED);
	EXPECT(pmem2_vm_reservation_shrink(rsv, 16 * Pg, Pg),
		PMEM2_E_OFFSET_OUT_OF_RANGE);
	EXPECT(pmem2_vm_reservation_shrink(rsv, 0, 0),
		PMEM2_E_LENGTH_OUT_OF_RANGE);
	EXPECT(pmem2_vm_reservation_shrink(rsv, 8 * Pg, 9 * Pg),
		PMEM2_E_LENGTH_OUT_OF_RANGE);
	EXPECT(pmem2_vm_reservation_shrink(rsv, Pg, Pg), PMEM2_E_NOSUPP);
	EXPECT(pmem2_vm_reservation_shrink(rsv, 0, 16 * Pg), PMEM2_E_NOSUPP);
	EXPECT(pmem2_vm_reservation_shrink(rsv, 0, 5 * Pg),
		PMEM2_E_VM_RESERVATION_NOT_EMPTY);
	EXPECT(pmem2_vm_reservation_shrink(rsv, 7 * Pg, 9 * Pg),
		PMEM2_E_VM_RESERVATION_NOT_EMPTY);

	struct pmem2_map *found;
	EXPECT(pmem2_vm_reservation_map_find(rsv, 0, 4 * Pg, &found),
		PMEM2_E_MAPPING_NOT_FOUND);
	CHECK(found == NULL);
	EXPECT(pmem2_vm_reservation_map_find_prev(rsv, map, &found),
		PMEM2_E_MAPPING_NOT_FOUND);
	EXPECT(pmem2_vm_reservation_map_find_next(rsv, map, &found),
		PMEM2_E_MAPPING_NOT_FOUND);
	CHECK_PMEM2_OK(pmem2_map_delete(&map));
	EXPECT(pmem2_vm_reservation_map_find_first(rsv, &found),
		PMEM2_E_MAPPING_NOT_FOUND);
	EXPECT(pmem2_vm_reservation_map_find_last(rsv, &found),
		PMEM2_E_MAPPING_NOT_FOUND);

	/* extend into something already mapped */
	char *after = (char *)pmem2_vm_reservation_get_address(rsv) + 16 * Pg;
	void *blocker = mmap(after, Pg, PROT_NONE,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (blocker == after) {
		EXPECT(pmem2_vm_reservation_extend(rsv, 2 * Pg),
			PMEM2_E_MAPPING_EXISTS);
		CHECK_EQ(pmem2_vm_reservation_get_size(rsv), 16 * Pg);
		munmap(blocker, Pg);
	} else if (blocker != MAP_FAILED) {
		munmap(blocker, Pg);
	}
	CHECK_PMEM2_OK(pmem2_vm_reservation_delete(&rsv));
	CHECK(rsv == NULL);

	pmem2_config_delete(&cfg);
	pmem2_config_delete(&Sentinel_cfg);
	pmem2_source_delete(&anon);
	pmem2_source_delete(&src);
	test_file_remove(path, fd);
	printf("ok\n");
	return 0;
}
