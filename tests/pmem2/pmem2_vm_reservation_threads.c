/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmem2_vm_reservation_threads.c -- threads map and unmap concurrently, each in
 * its own slots of one shared reservation, while another thread walks the
 * reservation with map_find and PAGE-persists all of it.
 */
#include <pthread.h>

#include "helpers.h"

#if defined(__has_include)
#if __has_include(<valgrind/helgrind.h>)
#include <valgrind/helgrind.h>
#endif
#endif
#ifndef VALGRIND_HG_DISABLE_CHECKING
#define VALGRIND_HG_DISABLE_CHECKING(addr, len) ((void)(addr), (void)(len))
#endif

#define NTHREADS 4
#define SLOTS 4

static size_t Pg;
static struct pmem2_vm_reservation *Rsv;
static struct pmem2_source *Src;
static int Iters;
static struct test_stop Stop = TEST_STOP_INIT;

static void *
worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	struct pmem2_config *cfg = test_config(PMEM2_GRANULARITY_PAGE);
	CHECK_PMEM2_OK(pmem2_config_set_length(cfg, Pg));
	for (int it = 0; it < Iters; it++) {
		struct pmem2_map *m[SLOTS];
		for (int s = 0; s < SLOTS; s++) {
			size_t slot = (size_t)(id * SLOTS + s);
			CHECK_PMEM2_OK(pmem2_config_set_offset(cfg, slot * Pg));
			CHECK_PMEM2_OK(pmem2_config_set_vm_reservation(cfg, Rsv,
				slot * Pg));
			CHECK_PMEM2_OK(pmem2_map_new(&m[s], cfg, Src));
			int *p = pmem2_map_get_address(m[s]);
			/*
			 * The walker's msync "reads" this page for helgrind while
			 * we write it: persisting what another thread writes is
			 * allowed, and the bytes are not what this test is about
			 * (the maps' bookkeeping is). A new mapping is new
			 * memory to helgrind, so once per map.
			 */
			VALGRIND_HG_DISABLE_CHECKING(p, Pg);
			*p = (int)slot + it;
			pmem2_get_persist_fn(m[s])(p, sizeof(*p));
		}
		for (int s = 0; s < SLOTS; s++) {
			struct pmem2_map *f;
			size_t slot = (size_t)(id * SLOTS + s);
			CHECK_PMEM2_OK(pmem2_vm_reservation_map_find(Rsv,
				slot * Pg, Pg, &f));
			CHECK(f == m[s]);
			CHECK_EQ(*(int *)pmem2_map_get_address(f),
				(int)slot + it);
			CHECK_PMEM2_OK(pmem2_map_delete(&m[s]));
		}
	}
	pmem2_config_delete(&cfg);
	return NULL;
}

static pmem2_persist_fn Page_persist;

static void *
walker(void *stop)
{
	char *base = pmem2_vm_reservation_get_address(Rsv);
	while (!test_stopped(stop)) {
		/* maps come and go under this: persist must simply cope */
		errno = 0;
		Page_persist(base, NTHREADS * SLOTS * Pg);
		CHECK_EQ(errno, 0);
		struct pmem2_map *f;
		int n = 0;
		/* neighbours may vanish between calls: NOT_FOUND is fine */
		if (pmem2_vm_reservation_map_find_first(Rsv, &f) == 0)
			n++;
		struct pmem2_map *dummy;
		(void)pmem2_vm_reservation_map_find(Rsv, 0,
			NTHREADS * SLOTS * Pg, &dummy);
		(void)n;
	}
	return NULL;
}

int
main(void)
{
	Pg = (size_t)sysconf(_SC_PAGESIZE);
	Iters = test_quick() ? 20 : 200;
	char *path = test_path(test_dir(), "rsvthr");
	int fd = test_file(path, NTHREADS * SLOTS * Pg, O_RDWR);
	CHECK_PMEM2_OK(pmem2_source_from_fd(&Src, fd));
	CHECK_PMEM2_OK(pmem2_vm_reservation_new(&Rsv, NULL,
		NTHREADS * SLOTS * Pg));

	struct pmem2_config *pcfg = test_config(PMEM2_GRANULARITY_PAGE);
	struct pmem2_map *pmap;
	CHECK_PMEM2_OK(pmem2_map_new(&pmap, pcfg, Src));
	Page_persist = pmem2_get_persist_fn(pmap);

	test_threads_run(NTHREADS, worker, walker, &Stop);

	struct pmem2_map *f;
	CHECK_PMEM2_ERR(pmem2_vm_reservation_map_find_first(Rsv, &f),
		PMEM2_E_MAPPING_NOT_FOUND);
	CHECK_PMEM2_OK(pmem2_vm_reservation_delete(&Rsv));
	CHECK_PMEM2_OK(pmem2_map_delete(&pmap));
	pmem2_config_delete(&pcfg);

	/* the file holds what the last iteration wrote */
	for (int s = 0; s < NTHREADS * SLOTS; s++) {
		int v;
		CHECK_EQ(pread(fd, &v, sizeof(v), (off_t)((size_t)s * Pg)),
			sizeof(v));
		CHECK_EQ(v, s + Iters - 1);
	}
	pmem2_source_delete(&Src);
	test_file_remove(path, fd);
	printf("ok\n");
	return 0;
}
