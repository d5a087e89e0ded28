/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fault_pmem2.c -- allocation failure at every allocation site of libpmem2
 * calls, in turn: the N-th allocation fails, for N = 1, 2, ... until the
 * operation succeeds without a fault. Each failure must give the documented
 * result (-ENOMEM; a COMPLETE future with VDM_ERROR_OUT_OF_MEMORY and the
 * destination untouched for the async operations), release every block
 * and descriptor the operation had taken, and never crash.
 */
#define PMEM2_USE_MINIASYNC 1
#include <sys/mman.h>
#include "helpers.h"
#include "fault_alloc.h"

static char path_file[512];
static char path_disk[512];
static int fd_file = -1, fd_disk = -1;

#define FSIZE (4u << 20)

/* Each scenario releases all it made, whatever happened; returns 0 or the
 * first error. */
typedef int (*scenario_fn)(void);

static int
sc_config_new(void)
{
	struct pmem2_config *cfg = (void *)0x1;
	int r = pmem2_config_new(&cfg);
	if (r) {
		CHECK(cfg == NULL);
		return r;
	}
	pmem2_config_delete(&cfg);
	return 0;
}

static int
sc_source_fd(void)
{
	struct pmem2_source *src = (void *)0x1;
	int r = pmem2_source_from_fd(&src, fd_file);
	if (r) {
		CHECK(src == NULL);
		return r;
	}
	size_t sz;
	CHECK_PMEM2_OK(pmem2_source_size(src, &sz));
	pmem2_source_delete(&src);
	return 0;
}

static int
sc_source_anon(void)
{
	struct pmem2_source *src = (void *)0x1;
	int r = pmem2_source_from_anon(&src, 1 << 20);
	if (r) {
		CHECK(src == NULL);
		return r;
	}
	pmem2_source_delete(&src);
	return 0;
}

/* config + source + map of fd (or anon), optionally in a reservation */
static int
map_cycle(int fd, int anon, int in_rsv, int gran)
{
	struct pmem2_config *cfg = NULL;
	struct pmem2_source *src = NULL;
	struct pmem2_map *map = NULL;
	struct pmem2_vm_reservation *rsv = NULL;
	int r = pmem2_config_new(&cfg);
	if (r)
		goto out;
	r = anon ? pmem2_source_from_anon(&src, 1 << 20) :
		pmem2_source_from_fd(&src, fd);
	if (r)
		goto out;
	pmem2_config_set_required_store_granularity(cfg,
		(enum pmem2_granularity)gran);
	pmem2_config_set_length(cfg, 1 << 20);
	if (in_rsv) {
		r = pmem2_vm_reservation_new(&rsv, NULL, 4 << 20);
		if (r)
			goto out;
		pmem2_config_set_vm_reservation(cfg, rsv, 1 << 20);
	}
	map = (void *)0x1;
	r = pmem2_map_new(&map, cfg, src);
	if (r) {
		CHECK(map == NULL);
		goto out;
	}
	memset(pmem2_map_get_address(map), 1, 4096);
	pmem2_get_persist_fn(map)(pmem2_map_get_address(map), 4096);
	CHECK_PMEM2_OK(pmem2_map_delete(&map));
out:
	if (rsv)
		CHECK_PMEM2_OK(pmem2_vm_reservation_delete(&rsv));
	pmem2_source_delete(&src);
	pmem2_config_delete(&cfg);
	return r;
}

static int sc_map_file(void) { return map_cycle(fd_file, 0, 0, PMEM2_GRANULARITY_PAGE); }
static int sc_map_disk(void) { return map_cycle(fd_disk, 0, 0, PMEM2_GRANULARITY_PAGE); }
static int sc_map_anon(void) { return map_cycle(-1, 1, 0, PMEM2_GRANULARITY_PAGE); }
static int sc_map_rsv(void) { return map_cycle(fd_file, 0, 1, PMEM2_GRANULARITY_PAGE); }

static unsigned char exist_buf[1 << 16] __attribute__((aligned(4096)));

static int
sc_map_from_existing(void)
{
	struct pmem2_source *src = NULL;
	struct pmem2_map *map = (void *)0x1;
	int r = pmem2_source_from_fd(&src, fd_file);
	if (r)
		return r;
	r = pmem2_map_from_existing(&map, src, exist_buf, sizeof(exist_buf),
		PMEM2_GRANULARITY_PAGE);
	if (r == 0)
		CHECK_PMEM2_OK(pmem2_map_delete(&map));
	pmem2_source_delete(&src);
	return r;
}

static int
sc_reservation(void)
{
	struct pmem2_vm_reservation *rsv = NULL;
	int r = pmem2_vm_reservation_new(&rsv, NULL, 2 << 20);
	if (r) {
		CHECK(rsv == NULL);
		return r;
	}
	r = pmem2_vm_reservation_extend(rsv, 2 << 20);
	if (r == 0)
		r = pmem2_vm_reservation_shrink(rsv, 0, 2 << 20);
	CHECK_PMEM2_OK(pmem2_vm_reservation_delete(&rsv));
	return r;
}

static int
sc_badblock(void)
{
	struct pmem2_source *src = NULL;
	struct pmem2_badblock_context *bb = NULL;
	int r = pmem2_source_from_fd(&src, fd_file);
	if (r)
		return r;
	r = pmem2_badblock_context_new(&bb, src);
	if (r == PMEM2_E_NOSUPP)
		r = 0;	/* no ndctl region behind a /dev/shm file */
	if (bb) {
		struct pmem2_badblock b;
		while (pmem2_badblock_next(bb, &b) == 0)
			;
		pmem2_badblock_context_delete(&bb);
	}
	pmem2_source_delete(&src);
	return r;
}

/* An async operation on a map made outside the fault window. */
static struct test_map amap_page, amap_cl;
static unsigned char asrc[65536];

static int
async_cycle(struct test_map *m, int op)
{
	unsigned char *dst = (unsigned char *)m->addr + 8192;
	size_t len = 20000;
	memset(dst, 0xEE, len);
	pmem2_get_persist_fn(m->map)(dst, len);
	struct vdm_operation_future f;
	switch (op) {
	case 0: f = pmem2_memcpy_async(m->map, dst, asrc, len, 0); break;
	case 1: f = pmem2_memmove_async(m->map, dst, asrc, len, 0); break;
	case 2: f = pmem2_memset_async(m->map, dst, 0x42, len, 0); break;
	default: f = pmem2_persist_async(m->map, dst, len); break;
	}
	FUTURE_BUSY_POLL(&f);
	enum vdm_operation_result res = FUTURE_OUTPUT(&f)->result;
	if (res == VDM_ERROR_OUT_OF_MEMORY) {
		/* nothing written */
		for (size_t i = 0; i < len; i++)
			if (dst[i] != 0xEE)
				FAIL("async op %d failed with OOM but wrote byte %zu",
					op, i);
		return -ENOMEM;
	}
	if (res != VDM_SUCCESS)
		FAIL("async op %d: result %d under allocation failure", op,
			(int)res);
	if (op <= 1)
		CHECK_MEM(dst, asrc, len);
	else if (op == 2)
		for (size_t i = 0; i < len; i++)
			CHECK(dst[i] == 0x42);
	return 0;
}

/* a fresh PAGE map's first async operation (its syncer starts here) */
static int
sc_async_fresh_page(void)
{
	struct pmem2_config *cfg = NULL;
	struct pmem2_source *src = NULL;
	struct pmem2_map *map = NULL;
	int r = pmem2_config_new(&cfg);
	if (r)
		goto out;
	r = pmem2_source_from_fd(&src, fd_disk);
	if (r)
		goto out;
	pmem2_config_set_required_store_granularity(cfg, PMEM2_GRANULARITY_PAGE);
	r = pmem2_map_new(&map, cfg, src);
	if (r)
		goto out;
	unsigned char *dst = pmem2_map_get_address(map);
	struct vdm_operation_future f = pmem2_memcpy_async(map, dst, asrc,
		4096, 0);
	FUTURE_BUSY_POLL(&f);
	switch (FUTURE_OUTPUT(&f)->result) {
	case VDM_SUCCESS:
		CHECK_MEM(dst, asrc, 4096);
		break;
	case VDM_ERROR_OUT_OF_MEMORY:
		r = -ENOMEM;
		break;
	default:
		r = -EAGAIN;	/* an error result: acceptable, never silence */
		break;
	}
	CHECK_PMEM2_OK(pmem2_map_delete(&map));
out:
	pmem2_source_delete(&src);
	pmem2_config_delete(&cfg);
	return r;
}

static int sc_async_cl_memcpy(void) { return async_cycle(&amap_cl, 0); }
static int sc_async_cl_memset(void) { return async_cycle(&amap_cl, 2); }
static int sc_async_page_memcpy(void) { return async_cycle(&amap_page, 0); }
static int sc_async_page_memmove(void) { return async_cycle(&amap_page, 1); }
static int sc_async_page_persist(void) { return async_cycle(&amap_page, 3); }

struct scenario {
	const char *name;
	scenario_fn fn;
};

static const struct scenario scenarios[] = {
	{ "config_new", sc_config_new },
	{ "source_from_fd", sc_source_fd },
	{ "source_from_anon", sc_source_anon },
	{ "map_new(/dev/shm file)", sc_map_file },
	{ "map_new(disk file)", sc_map_disk },
	{ "map_new(anon)", sc_map_anon },
	{ "map_new(in reservation)", sc_map_rsv },
	{ "map_from_existing", sc_map_from_existing },
	{ "vm_reservation new/extend/shrink", sc_reservation },
	{ "badblock_context", sc_badblock },
	{ "memcpy_async(cache_line)", sc_async_cl_memcpy },
	{ "memset_async(cache_line)", sc_async_cl_memset },
	{ "memcpy_async(page)", sc_async_page_memcpy },
	{ "memmove_async(page)", sc_async_page_memmove },
	{ "persist_async(page)", sc_async_page_persist },
	{ "new PAGE map + memcpy_async", sc_async_fresh_page },
};

static unsigned long injected;

static void
run(const struct scenario *s, enum fa_what what)
{
	CHECK_EQ(s->fn(), 0);	/* warm up: lazy one-time allocations */
	for (unsigned long n = 1;; n++) {
		long live0 = fa_live();
		int fds0 = test_count_fds();
		fa_arm(what, n);
		int r = s->fn();
		fa_disarm();
		if (!fa_fired()) {
			if (r != 0)
				FAIL("%s: %d without an injected fault: %s",
					s->name, r, pmem2_errormsg());
			printf("%-34s %s: %lu sites failed in turn\n", s->name,
				what == FA_ALLOC ? "alloc " : "thread", n - 1);
			return;
		}
		injected++;
		int ok = r == -ENOMEM || (what == FA_THREAD && r == -EAGAIN);
		if (what == FA_THREAD && r == 0) {
			/* the library did without the thread (a fallback) */
			ok = 1;
			printf("%s: thread creation %lu failed, operation "
				"succeeded anyway\n", s->name, n);
		}
		if (!ok)
			FAIL("%s: allocation %lu failed -> %d (%s), expected "
				"-ENOMEM", s->name, n, r, pmem2_errormsg());
		if (fa_live() != live0)
			FAIL("%s: allocation %lu failed -> %ld block(s) leaked",
				s->name, n, fa_live() - live0);
		if (test_count_fds() != fds0)
			FAIL("%s: allocation %lu failed -> %d descriptor(s) "
				"leaked", s->name, n, test_count_fds() - fds0);
		if (n > 10000)
			FAIL("%s: never succeeds", s->name);
	}
}

static int
open_file(char *path, size_t pathsz, const char *dir, const char *tag)
{
	snprintf(path, pathsz, "%s/pmem2-fault-%s-%d", dir, tag, (int)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, FSIZE) != 0)
		FAIL("%s: %s", path, strerror(errno));
	return fd;
}

int
main(void)
{
	fd_file = open_file(path_file, sizeof(path_file), test_dir(), "shm");
	fd_disk = open_file(path_disk, sizeof(path_disk), test_disk_dir(),
		"disk");
	for (size_t i = 0; i < sizeof(asrc); i++)
		asrc[i] = (unsigned char)(i * 13 + 1);
	test_map_open_in(&amap_page, test_disk_dir(), "fault-apage", 1 << 20,
		NULL, NULL, NULL);
	setenv("PMEM2_FORCE_GRANULARITY", "cache_line", 1);
	test_map_open_in(&amap_cl, test_dir(), "fault-acl", 1 << 20,
		NULL, NULL, NULL);
	unsetenv("PMEM2_FORCE_GRANULARITY");

	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		run(&scenarios[i], FA_ALLOC);
	/* thread creation, where an operation starts a thread */
	run(&scenarios[4], FA_THREAD);
	run(&scenarios[15], FA_THREAD);

	test_map_close(&amap_cl);
	test_map_close(&amap_page);
	close(fd_file);
	close(fd_disk);
	unlink(path_file);
	unlink(path_disk);
	printf("fault_pmem2: %lu faults injected\n", injected);
	return 0;
}
