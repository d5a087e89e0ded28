/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmem2_vm_reservation_contend.c -- threads fight over the same pages of one
 * reservation: each maps random overlapping ranges, so most attempts must
 * fail with PMEM2_E_MAPPING_EXISTS, and the ones that succeed must own
 * their pages alone (a tag written there survives until the delete). One
 * more thread grows and shrinks the reservation's tail meanwhile, which
 * must never take a page that holds a map.
 */
#include <pthread.h>
#include <sched.h>

#include "helpers.h"

#define NTHREADS 4
#define AREA 8		/* pages the workers fight over */
#define TAIL 4		/* pages the tail thread adds and removes */

static size_t Pg;
static struct pmem2_vm_reservation *Rsv;
static struct pmem2_source *Src;
static int Iters;
static struct test_stop Stop = TEST_STOP_INIT;
static int Won, Lost;
static pthread_mutex_t Count_lock = PTHREAD_MUTEX_INITIALIZER;

static void *
worker(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	unsigned seed = id * 7919u + 1;
	int won = 0, lost = 0;
	for (int it = 0; it < Iters; it++) {
		size_t pages = 1 + rand_r(&seed) % 3;
		size_t first = (size_t)rand_r(&seed) % (AREA - pages + 1);
		struct pmem2_config *cfg = test_config_at(0, pages * Pg, Rsv,
			first * Pg);
		struct pmem2_map *m;
		int ret = pmem2_map_new(&m, cfg, Src);
		pmem2_config_delete(&cfg);
		if (ret == PMEM2_E_MAPPING_EXISTS) {
			CHECK(m == NULL);
			lost++;
			continue;
		}
		CHECK_PMEM2_OK(ret);
		won++;
		unsigned *p = pmem2_map_get_address(m);
		for (size_t i = 0; i < pages; i++)
			p[i * Pg / sizeof(*p)] = id << 16 | (unsigned)it;
		sched_yield();
		for (size_t i = 0; i < pages; i++)
			CHECK_EQ(p[i * Pg / sizeof(*p)],
				id << 16 | (unsigned)it);
		struct pmem2_map *f;
		CHECK_PMEM2_OK(pmem2_vm_reservation_map_find(Rsv, first * Pg,
			pages * Pg, &f));
		CHECK(f == m);
		CHECK_PMEM2_OK(pmem2_map_delete(&m));
	}
	pthread_mutex_lock(&Count_lock);
	Won += won;
	Lost += lost;
	pthread_mutex_unlock(&Count_lock);
	return NULL;
}

/* grows the tail by TAIL pages and gives them back, over and over */
static void *
tail(void *stop)
{
	while (!test_stopped(stop)) {
		int ret = pmem2_vm_reservation_extend(Rsv, TAIL * Pg);
		if (ret == PMEM2_E_MAPPING_EXISTS)
			continue;	/* a neighbour mapping was placed there */
		CHECK_PMEM2_OK(ret);
		/* not from the middle, where the workers' pages are */
		CHECK_PMEM2_ERR(pmem2_vm_reservation_shrink(Rsv,
			(AREA - 1) * Pg, Pg), PMEM2_E_NOSUPP);
		CHECK_PMEM2_OK(pmem2_vm_reservation_shrink(Rsv, AREA * Pg,
			TAIL * Pg));
		CHECK_EQ(pmem2_vm_reservation_get_size(Rsv), AREA * Pg);
	}
	return NULL;
}

int
main(void)
{
	Pg = (size_t)sysconf(_SC_PAGESIZE);
	Iters = test_quick() ? 200 : 2000;
	CHECK_PMEM2_OK(pmem2_source_from_anon(&Src, AREA * Pg));
	CHECK_PMEM2_OK(pmem2_vm_reservation_new(&Rsv, NULL, AREA * Pg));
	char *base = pmem2_vm_reservation_get_address(Rsv);

	test_threads_run(NTHREADS, worker, tail, &Stop);

	CHECK(Won > 0);
	printf("%d maps placed, %d refused as overlapping\n", Won, Lost);
	struct pmem2_map *f;
	CHECK_PMEM2_ERR(pmem2_vm_reservation_map_find_first(Rsv, &f),
		PMEM2_E_MAPPING_NOT_FOUND);
	CHECK(pmem2_vm_reservation_get_address(Rsv) == base);
	CHECK_EQ(pmem2_vm_reservation_get_size(Rsv), AREA * Pg);
	CHECK_PMEM2_OK(pmem2_vm_reservation_delete(&Rsv));
	pmem2_source_delete(&Src);
	return 0;
}
