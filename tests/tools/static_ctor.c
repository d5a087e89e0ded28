/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * static_ctor.c -- a program linked with both static archives (plainly,
 * not --whole-archive) that uses the libraries from a constructor of its
 * own. A static link runs the program's constructors and the archives' in
 * one list, the program's objects first: the libraries' init must still
 * have run before the program's constructor calls them (a PAGE map's
 * memcpy function not NULL, the bytes copied; a threads mover offering
 * durability on a CPU with a write-back instruction).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>
#include <libminiasync.h>
#include <libpmem2.h>

#include "test.h"

#define LEN 5000

static int Ctor_ran;

__attribute__((constructor)) static void
early_user(void)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/pmem2-static-ctor-%d", test_dir(),
		(int)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 1 << 20) != 0)
		SKIP("cannot create %s", path);
	unlink(path);

	struct pmem2_config *cfg;
	struct pmem2_source *src;
	struct pmem2_map *map;
	CHECK_PMEM2_OK(pmem2_config_new(&cfg));
	CHECK_PMEM2_OK(pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE));
	CHECK_PMEM2_OK(pmem2_source_from_fd(&src, fd));
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, src));

	pmem2_memcpy_fn mc = pmem2_get_memcpy_fn(map);
	pmem2_memset_fn ms = pmem2_get_memset_fn(map);
	pmem2_persist_fn pf = pmem2_get_persist_fn(map);
	if (mc == NULL || ms == NULL || pf == NULL)
		FAIL("from a constructor: memcpy %p memset %p persist %p "
			"(the library's init has not run)", (void *)mc,
			(void *)ms, (void *)pf);
	unsigned char buf[LEN];
	for (int i = 0; i < LEN; i++)
		buf[i] = (unsigned char)(i * 31 + 7);
	unsigned char *dst = pmem2_map_get_address(map);
	mc(dst + 3, buf, LEN, 0);
	CHECK_MEM(dst + 3, buf, LEN);
	ms(dst, 0x5a, 3, 0);
	CHECK_EQ(dst[0], 0x5a);
	CHECK_EQ(dst[2], 0x5a);
	CHECK_MEM(dst + 3, buf, LEN);
	CHECK_PMEM2_OK(pmem2_map_delete(&map));
	pmem2_source_delete(&src);
	pmem2_config_delete(&cfg);
	close(fd);

	/* every x86-64 CPU has clflush: the mover must offer durability */
	struct data_mover_threads *dmt = data_mover_threads_new(1, 16,
		FUTURE_NOTIFIER_NONE);
	CHECK(dmt != NULL);
	struct vdm *vdm = data_mover_threads_get_vdm(dmt);
#if defined(__x86_64__)
	if (!vdm_is_supported(vdm, VDM_F_MEM_DURABLE))
		FAIL("from a constructor: the threads mover lacks "
			"VDM_F_MEM_DURABLE (CPU detection has not run)");
#endif
	data_mover_threads_delete(dmt);
	Ctor_ran = 1;
}

int
main(void)
{
	CHECK(Ctor_ran);
	printf("static_ctor: both libraries initialised before the "
		"program's constructor\n");
	return 0;
}
