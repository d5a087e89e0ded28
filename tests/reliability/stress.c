/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * stress.c -- several threads drive shared movers with many mixed
 * operations: a 2-worker threads mover with a small ring, a sync mover,
 * and pmem2 async operations on one shared CACHE_LINE map (its default
 * mover and, through the config, a second map whose vdm is the shared
 * threads mover). Each thread works on its own regions, waits for batches
 * of futures through its own runtime or by busy polling, and checks every
 * byte each batch wrote against what it asked for.
 *
 * Operations per thread: PMEM2_STRESS_OPS (the CI script runs the full
 * 1,000,000), else 50,000, or 2,000 with PMEM2_TEST_QUICK=1 (sanitizers,
 * helgrind, memcheck).
 */
#define PMEM2_USE_MINIASYNC 1
#include <pthread.h>
#include <libminiasync.h>
#include "helpers.h"

#define NTHREADS 4
#define BATCH 16
#define REGION (64u << 10)	/* per thread, per target */
#define MAXLEN 4096u

static struct data_mover_threads *dmt;
static struct data_mover_sync *dms;
static struct test_map map_def, map_thr;
static unsigned long ops_per_thread;

struct worker {
	int id;
	unsigned char *dram;	/* private DRAM region */
	unsigned char *pm_def;	/* its part of the default-mover map */
	unsigned char *pm_thr;	/* its part of the threads-mover map */
	unsigned char *src;
	unsigned long done;
};

struct pending {
	struct vdm_operation_future f;
	unsigned char *dst;
	const unsigned char *src;	/* NULL: memset with c */
	size_t n;
	int c;
};

static void
set_vdm_threads(struct pmem2_config *cfg, void *arg)
{
	(void)arg;
	CHECK_PMEM2_OK(pmem2_config_set_vdm(cfg, data_mover_threads_get_vdm(dmt)));
}

static void *
worker_fn(void *arg)
{
	struct worker *w = arg;
	struct runtime *rt = runtime_new();
	CHECK(rt);
	struct pending p[BATCH];
	struct future *futs[BATCH];
	uint64_t rng = 0x1234567ULL * (uint64_t)(w->id + 1);
	struct vdm *vthr = data_mover_threads_get_vdm(dmt);
	struct vdm *vsync = data_mover_sync_get_vdm(dms);

	while (w->done < ops_per_thread) {
		/* one batch: disjoint slots of MAXLEN in each region */
		for (int i = 0; i < BATCH; i++) {
			struct pending *q = &p[i];
			uint64_t r = test_rand(&rng);
			q->n = (size_t)(r % MAXLEN) + ((r >> 20) & 1 ? 0 : 1);
			size_t slot = (size_t)i * MAXLEN;
			q->c = (int)((r >> 32) & 0xff);
			q->src = w->src + ((r >> 40) % MAXLEN);
			switch ((r >> 12) % 6) {
			case 0:
				q->dst = w->dram + slot;
				q->f = vdm_memcpy(vthr, q->dst, (void *)q->src,
					q->n, 0);
				break;
			case 1:
				q->dst = w->dram + slot;
				q->f = vdm_memmove(vthr, q->dst, (void *)q->src,
					q->n, 0);
				break;
			case 2:
				q->dst = w->dram + slot;
				q->src = NULL;
				q->f = vdm_memset(vsync, q->dst, q->c, q->n, 0);
				break;
			case 3:
				q->dst = w->pm_def + slot;
				q->f = pmem2_memcpy_async(map_def.map, q->dst,
					q->src, q->n, 0);
				break;
			case 4:
				q->dst = w->pm_def + slot;
				q->src = NULL;
				q->f = pmem2_memset_async(map_def.map, q->dst,
					q->c, q->n, 0);
				break;
			default:
				q->dst = w->pm_thr + slot;
				q->f = pmem2_memcpy_async(map_thr.map, q->dst,
					q->src, q->n, 0);
				break;
			}
			futs[i] = FUTURE_AS_RUNNABLE(&q->f);
		}
		if (rng & 1) {
			runtime_wait_multiple(rt, futs, BATCH);
		} else {
			for (int i = 0; i < BATCH; i++)
				FUTURE_BUSY_POLL(&p[i].f);
		}
		for (int i = 0; i < BATCH; i++) {
			struct pending *q = &p[i];
			if (FUTURE_OUTPUT(&q->f)->result != VDM_SUCCESS)
				FAIL("thread %d: result %d", w->id,
					(int)FUTURE_OUTPUT(&q->f)->result);
			if (q->src) {
				if (memcmp(q->dst, q->src, q->n) != 0)
					FAIL("thread %d: copy of %zu bytes wrong",
						w->id, q->n);
			} else {
				for (size_t k = 0; k < q->n; k++)
					if (q->dst[k] != (unsigned char)q->c)
						FAIL("thread %d: memset wrong",
							w->id);
			}
		}
		w->done += BATCH;
	}
	runtime_delete(rt);
	return NULL;
}

int
main(void)
{
	const char *e = getenv("PMEM2_STRESS_OPS");
	ops_per_thread = e && *e ? strtoul(e, NULL, 0) :
		test_quick() ? 2000 : 50000;
	dmt = data_mover_threads_new(2, 8, FUTURE_NOTIFIER_WAKER);
	dms = data_mover_sync_new();
	CHECK(dmt && dms);
	setenv("PMEM2_FORCE_GRANULARITY", "cache_line", 1);
	test_map_open_in(&map_def, test_dir(), "stress-def", NTHREADS * REGION,
		NULL, NULL, NULL);
	test_map_open_in(&map_thr, test_dir(), "stress-thr", NTHREADS * REGION,
		NULL, set_vdm_threads, NULL);
	unsetenv("PMEM2_FORCE_GRANULARITY");

	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	for (int i = 0; i < NTHREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].id = i;
		w[i].dram = malloc(REGION);
		w[i].src = malloc(2 * MAXLEN);
		CHECK(w[i].dram && w[i].src);
		for (size_t k = 0; k < 2 * MAXLEN; k++)
			w[i].src[k] = (unsigned char)(k * 7 + (size_t)i);
		w[i].pm_def = (unsigned char *)map_def.addr + (size_t)i * REGION;
		w[i].pm_thr = (unsigned char *)map_thr.addr + (size_t)i * REGION;
		CHECK(pthread_create(&th[i], NULL, worker_fn, &w[i]) == 0);
	}
	unsigned long total = 0;
	for (int i = 0; i < NTHREADS; i++) {
		CHECK(pthread_join(th[i], NULL) == 0);
		total += w[i].done;
		free(w[i].dram);
		free(w[i].src);
	}
	test_map_close(&map_thr);
	test_map_close(&map_def);
	data_mover_threads_delete(dmt);
	data_mover_sync_delete(dms);
	printf("stress: %d threads, %lu operations checked\n", NTHREADS, total);
	return 0;
}
