/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmem2_map_threads.c -- threads create, use (PAGE persist walks the shared map
 * registry) and delete maps of one file concurrently, and wrap/unwrap
 * memory with map_from_existing, racing for the same range: exactly one
 * wins each round, the others get PMEM2_E_MAP_EXISTS.
 */
#include <pthread.h>
#include <sys/mman.h>

#include "helpers.h"

#define NTHREADS 4

static size_t Pg;
static int Iters;
static struct pmem2_source *Src;
static char *Shared;		/* one mmap that threads race to wrap */
static pthread_barrier_t Bar;
static int Wins[NTHREADS];

static void *
worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	struct pmem2_config *cfg = test_config(PMEM2_GRANULARITY_PAGE);
	CHECK_PMEM2_OK(pmem2_config_set_offset(cfg, (size_t)id * 4 * Pg));
	CHECK_PMEM2_OK(pmem2_config_set_length(cfg, 4 * Pg));
	for (int it = 0; it < Iters; it++) {
		struct pmem2_map *m;
		CHECK_PMEM2_OK(pmem2_map_new(&m, cfg, Src));
		int *p = pmem2_map_get_address(m);
		p[it % 1024] = it;
		pmem2_get_persist_fn(m)(p, 4 * Pg);
		pmem2_get_memset_fn(m)((char *)p + Pg, id, Pg, 0);
		CHECK_PMEM2_OK(pmem2_map_delete(&m));

		/* everyone tries to wrap the same range at once */
		pthread_barrier_wait(&Bar);
		struct pmem2_map *w;
		int r = pmem2_map_from_existing(&w, Src, Shared, Pg,
			PMEM2_GRANULARITY_PAGE);
		if (r == 0)
			Wins[id]++;
		else
			CHECK_PMEM2_ERR(r, PMEM2_E_MAP_EXISTS);
		pthread_barrier_wait(&Bar);
		if (r == 0)
			CHECK_PMEM2_OK(pmem2_map_delete(&w));
	}
	pmem2_config_delete(&cfg);
	return NULL;
}

int
main(void)
{
	Pg = (size_t)sysconf(_SC_PAGESIZE);
	Iters = test_quick() ? 20 : 300;
	char *path = test_path(test_dir(), "mapthr");
	int fd = test_file(path, (NTHREADS * 4 + 1) * Pg, O_RDWR);
	CHECK_PMEM2_OK(pmem2_source_from_fd(&Src, fd));
	Shared = mmap(NULL, Pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		(off_t)(NTHREADS * 4 * Pg));
	CHECK(Shared != MAP_FAILED);
	CHECK_EQ(pthread_barrier_init(&Bar, NULL, NTHREADS), 0);

	test_threads_run(NTHREADS, worker, NULL, NULL);
	int total = 0;
	for (int i = 0; i < NTHREADS; i++)
		total += Wins[i];
	CHECK_EQ(total, Iters);	/* one winner per round */

	for (int i = 0; i < NTHREADS; i++) {
		unsigned char c;
		CHECK_EQ(pread(fd, &c, 1, (off_t)((size_t)i * 4 * Pg + Pg)), 1);
		CHECK_EQ(c, i);
	}
	pthread_barrier_destroy(&Bar);
	munmap(Shared, Pg);
	pmem2_source_delete(&Src);
	test_file_remove(path, fd);
	printf("ok\n");
	return 0;
}
