/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pcheck_negative.c -- proves the persistence checker can fail: broken
 * store/flush/fence sequences, fed to the recorder directly and produced
 * with the real (checked) library functions used incompletely, must be
 * reported as not durable; the correct sequences must pass.
 *
 * Usage: pcheck_negative [cache_line]   (with an argument it also maps a
 * forced CACHE_LINE /dev/shm file and drives the library.)
 */
#include <pthread.h>
#include "helpers.h"
#include "pcheck.h"

static unsigned long ncaught;

#define EXPECT_BAD(cond_call, why) do { \
	struct pcheck_fail _f; \
	if ((cond_call) == 0) \
		FAIL("checker missed a broken sequence: %s", why); \
	(void)_f; \
	ncaught++; \
} while (0)

#define EXPECT_OK(call, why) do { \
	struct pcheck_fail _f; \
	if (call) \
		FAIL("checker rejected a correct sequence (%s): byte %zu %s", \
			why, _f.offset, _f.state); \
} while (0)

static char buf[8192] __attribute__((aligned(4096)));

static void *
flush_thread(void *arg)
{
	(void)arg;
	persist_note_flush(buf, 128);
	return NULL;
}

static void *
flush_fence_thread(void *arg)
{
	(void)arg;
	persist_note_flush(buf, 128);
	persist_note_fence();
	return NULL;
}

static void
recorder_cases(void)
{
	struct pcheck_fail f;
	pthread_t t;

	/* CACHE_LINE */
	pcheck_reset(PCHECK_CACHE_LINE, buf, sizeof(buf));
	persist_note_store(buf + 10, 100);
	EXPECT_BAD(pcheck_durable(buf + 10, 100, &f), "store only");
	persist_note_fence();
	EXPECT_BAD(pcheck_durable(buf + 10, 100, &f), "store + fence, no flush");
	persist_note_flush(buf + 10, 100);
	EXPECT_BAD(pcheck_durable(buf + 10, 100, &f), "store + flush, no fence");
	persist_note_fence();
	EXPECT_OK(pcheck_durable(buf + 10, 100, &_f), "store flush fence");

	/* a flush of only part of the range */
	pcheck_reset(PCHECK_CACHE_LINE, buf, sizeof(buf));
	persist_note_store(buf, 256);
	persist_note_flush(buf, 128);
	persist_note_fence();
	EXPECT_BAD(pcheck_durable(buf, 256, &f), "partial flush");
	EXPECT_OK(pcheck_durable(buf, 128, &_f), "the flushed part");

	/* flush before the store: wrong order */
	pcheck_reset(PCHECK_CACHE_LINE, buf, sizeof(buf));
	persist_note_flush(buf, 64);
	persist_note_store(buf, 64);
	persist_note_fence();
	EXPECT_BAD(pcheck_durable(buf, 64, &f), "flush before store");

	/* a store between flush and fence dirties the line again */
	pcheck_reset(PCHECK_CACHE_LINE, buf, sizeof(buf));
	persist_note_store(buf, 64);
	persist_note_flush(buf, 64);
	persist_note_store(buf + 3, 1);
	persist_note_fence();
	EXPECT_BAD(pcheck_durable(buf, 64, &f), "store after flush");
	CHECK(f.offset == 3);

	/* fence on another thread than the flush */
	pcheck_reset(PCHECK_CACHE_LINE, buf, sizeof(buf));
	persist_note_store(buf, 128);
	CHECK(pthread_create(&t, NULL, flush_thread, NULL) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	persist_note_fence();
	EXPECT_BAD(pcheck_durable(buf, 128, &f), "flush on B, fence on A");
	pcheck_reset(PCHECK_CACHE_LINE, buf, sizeof(buf));
	persist_note_store(buf, 128);
	CHECK(pthread_create(&t, NULL, flush_fence_thread, NULL) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	EXPECT_OK(pcheck_durable(buf, 128, &_f), "flush+fence on B");

	/* non-temporal stores */
	pcheck_reset(PCHECK_CACHE_LINE, buf, sizeof(buf));
	persist_note_nt_store(buf + 1, 300);
	EXPECT_BAD(pcheck_durable(buf + 1, 300, &f), "NT store, no fence");
	persist_note_fence();
	EXPECT_OK(pcheck_durable(buf + 1, 300, &_f), "NT store + fence");
	/* sync does not make CPU caches durable */
	persist_note_store(buf, 64);
	persist_note_sync(buf, 4096);
	EXPECT_BAD(pcheck_durable(buf, 64, &f), "CACHE_LINE store + msync");

	/* hook coverage: a byte never reported stored */
	pcheck_reset(PCHECK_CACHE_LINE, buf, sizeof(buf));
	persist_note_store(buf, 99);
	EXPECT_BAD(pcheck_touched(buf, 100, &f), "store hook missing a byte");
	CHECK(f.offset == 99);
	EXPECT_BAD(pcheck_untouched(buf + 98, 10, &f), "untouched guard");

	/* PAGE */
	pcheck_reset(PCHECK_PAGE, buf, sizeof(buf));
	persist_note_store(buf + 100, 10);
	persist_note_flush(buf + 100, 10);
	persist_note_fence();
	EXPECT_BAD(pcheck_durable(buf + 100, 10, &f), "PAGE flush+fence, no sync");
	persist_note_sync(buf + 4096, 1);
	EXPECT_BAD(pcheck_durable(buf + 100, 10, &f), "PAGE sync of another page");
	persist_note_sync(buf + 200, 1);	/* same page: msync is per page */
	EXPECT_OK(pcheck_durable(buf + 100, 10, &_f), "PAGE sync");
	persist_note_nt_store(buf + 5000, 10);
	persist_note_fence();
	EXPECT_BAD(pcheck_durable(buf + 5000, 10, &f), "PAGE NT store, no sync");

	/* BYTE (eADR) */
	pcheck_reset(PCHECK_BYTE, buf, sizeof(buf));
	persist_note_store(buf, 64);
	EXPECT_OK(pcheck_durable(buf, 64, &_f), "BYTE store");
	persist_note_nt_store(buf + 64, 64);
	EXPECT_BAD(pcheck_durable(buf + 64, 64, &f), "BYTE NT store, no fence");
	persist_note_fence();
	EXPECT_OK(pcheck_durable(buf + 64, 64, &_f), "BYTE NT store + fence");

	/* outside the region: ignored, counted */
	pcheck_reset(PCHECK_CACHE_LINE, buf, 64);
	persist_note_store(buf + 128, 64);
	struct pcheck_counts c;
	pcheck_counts(&c);
	CHECK(c.outside == 1 && c.store == 1);
}

#ifdef PCHECK_WITH_LIBRARY
/* Incomplete use of the real library functions must be caught. */
static void
library_cases(void)
{
	struct test_map m;
	const char *dir = test_gran_dir(PMEM2_GRANULARITY_CACHE_LINE);
	test_map_open_in(&m, dir, "pcheck-neg", 1 << 20, NULL, NULL, NULL);
	if (m.gran != PMEM2_GRANULARITY_CACHE_LINE)
		SKIP("no CACHE_LINE map (got %s)", test_gran_name(m.gran));
	pmem2_memcpy_fn mc = pmem2_get_memcpy_fn(m.map);
	pmem2_memset_fn ms = pmem2_get_memset_fn(m.map);
	pmem2_flush_fn fl = pmem2_get_flush_fn(m.map);
	pmem2_drain_fn dr = pmem2_get_drain_fn(m.map);
	pmem2_persist_fn pe = pmem2_get_persist_fn(m.map);
	char *p = (char *)m.addr + 4096;
	char src[200];
	struct pcheck_fail f;
	memset(src, 'x', sizeof(src));

	/* NOFLUSH: small copy with ordinary stores, nothing written back */
	pcheck_reset(PCHECK_CACHE_LINE, p, 4096);
	mc(p, src, 100, PMEM2_F_MEM_NOFLUSH);
	EXPECT_OK(pcheck_touched(p, 100, &_f), "memcpy NOFLUSH reported");
	EXPECT_BAD(pcheck_durable(p, 100, &f), "memcpy NOFLUSH");
	pe(p, 100);
	EXPECT_OK(pcheck_durable(p, 100, &_f), "NOFLUSH + persist");

	/* user stores, flush without drain */
	pcheck_reset(PCHECK_CACHE_LINE, p, 4096);
	memset(p, 1, 300);
	persist_note_store(p, 300);
	fl(p, 300);
	EXPECT_BAD(pcheck_durable(p, 300, &f), "flush fn without drain");
	dr();
	EXPECT_OK(pcheck_durable(p, 300, &_f), "flush + drain");

	/* user stores, drain only */
	pcheck_reset(PCHECK_CACHE_LINE, p, 4096);
	memset(p, 2, 300);
	persist_note_store(p, 300);
	dr();
	EXPECT_BAD(pcheck_durable(p, 300, &f), "drain without flush");

	/* persist of a shorter range than was written */
	pcheck_reset(PCHECK_CACHE_LINE, p, 4096);
	ms(p, 3, 1000, PMEM2_F_MEM_NOFLUSH);
	pe(p, 500);
	EXPECT_BAD(pcheck_durable(p, 1000, &f), "persist of half the range");
	CHECK(f.offset >= 500);
	test_map_close(&m);
}
#endif

int
main(int argc, char *argv[])
{
	(void)argv;
	recorder_cases();
#ifdef PCHECK_WITH_LIBRARY
	if (argc > 1)
		library_cases();
#else
	(void)argc;
#endif
	printf("pcheck_negative: %lu broken sequences caught\n", ncaught);
	return 0;
}
