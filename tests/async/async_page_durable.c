/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * async_page_durable.c -- on a PAGE-granularity map of a disk-backed file,
 * a future from pmem2_*_async reports COMPLETE only once its pages are
 * written back: cachestat(2) shows no dirty page in the range at that
 * moment. Also: the syncer calls the waker given with the poll (a waiter
 * may sleep), one request per future even when many are in flight, and
 * PMEM2_F_MEM_NOFLUSH skips the sync.
 *
 * Skips (exit 77) when the kernel has no cachestat (ENOSYS). Run once with
 * io_uring and once with PMEM2_ASYNC_NO_URING=1 (the thread syncer).
 */
#include <pthread.h>
#include <time.h>
#include "helpers.h"

#define PG 4096u
#define NPAGES 256u
#define MAPSZ (NPAGES * PG)

static int cfd = -1;	/* our own descriptor of the file, for cachestat */
static int No_cachestat;	/* ENOSYS: run everything, skip at the end */

/* A waker that a waiting thread can sleep on. */
static struct test_sleeper S = TEST_SLEEPER_INIT;

static void
check_clean(struct test_map *m, const void *addr, size_t len)
{
	if (len == 0 || No_cachestat)
		return;
	test_check_no_dirty_page(cfd,
		(uint64_t)((const char *)addr - m->addr), len);
}

/*
 * Polls every future with a waker notifier until all are complete, sleeping
 * on the waker between rounds when each future said it would call it.
 * Checks each range as soon as its future reports COMPLETE.
 */
static void
wait_all(struct test_map *m, struct vdm_operation_future *f, size_t n,
	void **dest, size_t *len)
{
	struct future_notifier nt;
	memset(&nt, 0, sizeof(nt));
	nt.waker = test_sleeper_waker(&S);

	size_t left = n;
	while (left) {
		unsigned long seen = test_sleeper_wakes(&S);

		int all_waker = 1;
		for (size_t i = 0; i < n; i++) {
			if (FUTURE_STATE(&f[i]) == FUTURE_STATE_COMPLETE)
				continue;
			nt.notifier_used = FUTURE_NOTIFIER_NONE;
			if (future_poll(FUTURE_AS_RUNNABLE(&f[i]), &nt) ==
					FUTURE_STATE_COMPLETE) {
				CHECK_EQ(f[i].output.result, VDM_SUCCESS);
				check_clean(m, dest[i], len[i]);
				left--;
			} else if (nt.notifier_used != FUTURE_NOTIFIER_WAKER) {
				all_waker = 0;
			}
		}
		if (!left)
			break;
		if (!all_waker)
			continue;
		/* every pending future promised a wake-up: sleep for it */
		test_sleeper_wait(&S, seen, 30);
	}
}

int
main(void)
{
	struct test_map m;
	test_map_open(&m, PMEM2_GRANULARITY_PAGE, MAPSZ, NULL);
	cfd = open(m.path, O_RDONLY);
	CHECK(cfd >= 0);
	struct test_cstat cs;
	if (test_cachestat(cfd, 0, MAPSZ, &cs) == -ENOSYS) {
		/* e.g. under valgrind: the rest still runs, then a loud skip */
		fprintf(stderr, "cachestat(2): ENOSYS; durability will not be checked\n");
		No_cachestat = 1;
	}

	int rounds = test_quick() ? 3 : 20;
	enum { K = 32 };
	struct vdm_operation_future f[K];
	void *dest[K];
	size_t len[K];
	char *src = malloc(MAPSZ);
	CHECK(src);
	unsigned seed = 7;

	for (int r = 0; r < rounds; r++) {
		/* K futures, each on its own pages, four kinds mixed */
		test_pattern(src, MAPSZ, seed++);
		for (unsigned i = 0; i < K; i++) {
			/* three pages each: no two futures share a page */
			unsigned page = (unsigned)(((r * K + i) * 3) %
				(NPAGES - 3));
			char *d = m.addr + (size_t)page * PG + (i * 97) % PG;
			size_t n = 1 + (i * 1031) % PG;
			dest[i] = d;
			len[i] = n;
			switch ((i + (unsigned)r) % 4) {
			case 0:
				f[i] = pmem2_memcpy_async(m.map, d, src + i, n,
					0);
				break;
			case 1:
				f[i] = pmem2_memset_async(m.map, d, (int)i, n,
					0);
				break;
			case 2:
				memcpy(d, src + 7 * i, n + 8);
				len[i] = n + 8;
				f[i] = pmem2_memmove_async(m.map, d + 8, d, n,
					0);
				break;
			default:
				memcpy(d, src + 3 * i, n);
				f[i] = pmem2_persist_async(m.map, d, n);
				break;
			}
		}
		wait_all(&m, f, K, dest, len);
		/* and the bytes are right */
		for (unsigned i = 0; i < K; i++) {
			char *d = dest[i];
			switch ((i + (unsigned)r) % 4) {
			case 0:
				CHECK_MEM(d, src + i, len[i]);
				break;
			case 1:
				for (size_t k = 0; k < len[i]; k++)
					CHECK_EQ((unsigned char)d[k], i & 0xff);
				break;
			case 2:
				CHECK_MEM(d + 8, src + 7 * i, len[i] - 8);
				break;
			default:
				CHECK_MEM(d, src + 3 * i, len[i]);
				break;
			}
		}
	}
	CHECK(test_sleeper_wakes(&S) > 0);

	/* NOFLUSH: complete on the first poll, no sync asked for */
	struct vdm_operation_future nf = pmem2_memcpy_async(m.map, m.addr,
		src, 100, PMEM2_F_MEM_NOFLUSH);
	CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&nf), NULL),
		FUTURE_STATE_COMPLETE);
	CHECK_EQ(nf.output.result, VDM_SUCCESS);
	CHECK_MEM(m.addr, src, 100);

	/* a future left pending at map_delete is finished by the delete */
	struct vdm_operation_future last = pmem2_memcpy_async(m.map,
		m.addr + PG, src, PG, 0);
	struct future_notifier nt;
	memset(&nt, 0, sizeof(nt));
	future_poll(FUTURE_AS_RUNNABLE(&last), &nt);	/* copied, sync asked */
	CHECK_MEM(m.addr + PG, src, PG);
	CHECK_PMEM2_OK(pmem2_map_delete(&m.map));
	/* its pages were synced before the map went away */
	if (!No_cachestat) {
		CHECK_EQ(test_cachestat(cfd, PG, PG, &cs), 0);
		CHECK_EQ(cs.nr_dirty, 0);
	}
	/* a future of a deleted map must not be polled again: delete freed it */
	(void)last;

	close(cfd);
	unlink(m.path);
	free(src);
	if (No_cachestat)
		SKIP("cachestat(2) is not available (ENOSYS): everything ran, but no dirty page could be observed");
	printf("async_page_durable: ok (%lu wake-ups)\n",
		test_sleeper_wakes(&S));
	return 0;
}
