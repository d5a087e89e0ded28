/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pcheck_async.c -- persistence checker over the async operations of a
 * checked libpmem2 build: when a future from pmem2_memcpy_async,
 * pmem2_memmove_async, pmem2_memset_async or pmem2_persist_async reports
 * COMPLETE, every byte it wrote (or was asked to persist) is durable for
 * the map's granularity -- whichever mover ran it.
 *
 * Usage: pcheck_async page|cache_line|byte
 * Movers: the map's default, the sync mover, vdm_synchronous_new(), the
 * default threads mover, a 1-worker threads mover, and a user-written
 * mover. The library movers are wrapped (tests/common's test mover, which
 * forwards to them and claims no capability) so that their copies count
 * as ordinary stores left in the cache and libpmem2 must persist them; a
 * FLUSH the inner mover does is not credited either. The user-written
 * mover is the test mover copying with libc, reporting its stores, doing
 * nothing for FLUSH.
 * The threads movers are also given to libpmem2 as they are
 * (threads_durable, threads_1_durable): they declare VDM_F_MEM_DURABLE, so
 * libpmem2 leaves the persistence to their workers, and the checked build
 * of libminiasync reports what those do. Under PMEM_NO_MOVNT=1 no
 * non-temporal store may be reported at all, by either library.
 */
#define PMEM2_USE_MINIASYNC 1
#include "helpers.h"
#include "pcheck.h"
#include <libminiasync.h>

#define NFLIGHT 16
#define SLOT (128u << 10)	/* each in-flight future's share of the map */

static unsigned long nfutures;

enum mover_kind {
	MV_DEFAULT, MV_SYNC, MV_VDM_SYNC, MV_THREADS_DEFAULT, MV_THREADS_1,
	MV_USER, MV_THREADS_DURABLE, MV_THREADS_1_DURABLE, MV_COUNT
};
static const char *mover_names[] = { "default", "sync", "vdm_synchronous",
	"threads_default", "threads_1", "user", "threads_durable",
	"threads_1_durable" };

struct mover {
	enum mover_kind kind;
	struct data_mover_sync *dms;
	struct vdm *vsync;
	struct data_mover_threads *dmt;
	struct test_mover tm;	/* the wrapper or the user-written mover */
	struct vdm *vdm;	/* what the config gets; NULL: default */
};

/*
 * What a test mover wrote, reported to the recorder as ordinary stores: a
 * foreign mover's copy is not built with hooks, and what it leaves behind
 * is, at best, data in the CPU cache.
 */
static void
report_stores(const struct vdm_operation *op)
{
	if (op->type == VDM_OPERATION_FLUSH)
		return;
	void *dest;
	size_t len;
	test_op_range(op, &dest, &len);
	persist_note_store(dest, len);
}

static void
mover_open(struct mover *mv, enum mover_kind k)
{
	memset(mv, 0, sizeof(*mv));
	mv->kind = k;
	struct vdm *inner = NULL;
	switch (k) {
	case MV_DEFAULT:
		return;
	case MV_SYNC:
		mv->dms = data_mover_sync_new();
		CHECK(mv->dms);
		inner = data_mover_sync_get_vdm(mv->dms);
		break;
	case MV_VDM_SYNC:
		mv->vsync = vdm_synchronous_new();
		CHECK(mv->vsync);
		inner = mv->vsync;
		break;
	case MV_THREADS_DEFAULT:
		mv->dmt = data_mover_threads_default();
		CHECK(mv->dmt);
		inner = data_mover_threads_get_vdm(mv->dmt);
		break;
	case MV_THREADS_1:
		mv->dmt = data_mover_threads_new(1, 64, FUTURE_NOTIFIER_WAKER);
		CHECK(mv->dmt);
		inner = data_mover_threads_get_vdm(mv->dmt);
		break;
	case MV_USER:
		test_mover_init(&mv->tm, NULL);
		mv->tm.written = report_stores;
		mv->vdm = &mv->tm.base;
		return;
	case MV_THREADS_DURABLE:
	case MV_THREADS_1_DURABLE:
		mv->dmt = k == MV_THREADS_DURABLE ?
			data_mover_threads_default() :
			data_mover_threads_new(1, 64, FUTURE_NOTIFIER_WAKER);
		CHECK(mv->dmt);
		mv->vdm = data_mover_threads_get_vdm(mv->dmt);
		CHECK(vdm_is_supported(mv->vdm, VDM_F_MEM_DURABLE));
		return;
	case MV_COUNT:
		break;
	}
	test_mover_init(&mv->tm, inner);
	mv->tm.written = report_stores;
	mv->vdm = &mv->tm.base;
}

static void
mover_close(struct mover *mv)
{
	if (mv->dms)
		data_mover_sync_delete(mv->dms);
	if (mv->vsync)
		vdm_synchronous_delete(mv->vsync);
	if (mv->dmt)
		data_mover_threads_delete(mv->dmt);
}

static void
set_vdm(struct pmem2_config *cfg, void *arg)
{
	struct mover *mv = arg;
	if (mv->vdm)
		CHECK_PMEM2_OK(pmem2_config_set_vdm(cfg, mv->vdm));
}

enum opkind { OP_MEMCPY, OP_MEMMOVE, OP_MEMSET, OP_PERSIST, OP_COUNT };
static const char *op_names[] = { "memcpy", "memmove", "memset", "persist" };

struct job {
	enum opkind op;
	unsigned char *dst;
	size_t len;
	unsigned flags;
	unsigned char expect_byte;	/* memset / persist */
	const unsigned char *src;	/* memcpy/memmove source (a copy kept) */
	struct vdm_operation_future fut;
};

static void
job_start(struct test_map *m, struct job *j, const unsigned char *pattern)
{
	switch (j->op) {
	case OP_MEMCPY:
		j->src = pattern;
		j->fut = pmem2_memcpy_async(m->map, j->dst, j->src, j->len,
			j->flags);
		break;
	case OP_MEMMOVE:
		j->src = pattern;
		j->fut = pmem2_memmove_async(m->map, j->dst, j->src, j->len,
			j->flags);
		break;
	case OP_MEMSET:
		j->fut = pmem2_memset_async(m->map, j->dst, j->expect_byte,
			j->len, j->flags);
		break;
	case OP_PERSIST:
		memset(j->dst, j->expect_byte, j->len);
		persist_note_store(j->dst, j->len);	/* the user's stores */
		j->fut = pmem2_persist_async(m->map, j->dst, j->len);
		break;
	case OP_COUNT:
		break;
	}
}

/* PMEM_NO_MOVNT=1: neither library may use a non-temporal store. */
static int
no_movnt(void)
{
	const char *e = getenv("PMEM_NO_MOVNT");
	return e != NULL && strcmp(e, "1") == 0;
}

static void
job_verify(struct test_map *m, struct mover *mv, struct job *j)
{
	struct pcheck_fail f;
	const char *ctx = mover_names[mv->kind];
	if (FUTURE_STATE(&j->fut) != FUTURE_STATE_COMPLETE)
		FAIL("%s %s: not complete", ctx, op_names[j->op]);
	if (FUTURE_OUTPUT(&j->fut)->result != VDM_SUCCESS)
		FAIL("%s %s len %zu: result %d", ctx, op_names[j->op], j->len,
			(int)FUTURE_OUTPUT(&j->fut)->result);
	if (j->op == OP_MEMCPY || j->op == OP_MEMMOVE)
		CHECK_MEM(j->dst, j->src, j->len);
	else
		for (size_t i = 0; i < j->len; i++)
			if (j->dst[i] != j->expect_byte)
				FAIL("%s %s: byte %zu wrong", ctx,
					op_names[j->op], i);
	if (j->len && pcheck_touched(j->dst, j->len, &f))
		FAIL("%s %s len %zu: byte %zu %s", ctx, op_names[j->op],
			j->len, f.offset, f.state);
	if (pcheck_durable(j->dst, j->len, &f))
		FAIL("%s mover, %s %s len %zu flags %#x dst+%zu: byte %zu is %s "
			"when the future completed", ctx, test_gran_name(m->gran),
			op_names[j->op], j->len, j->flags,
			(size_t)(j->dst - (unsigned char *)m->addr), f.offset,
			f.state);
	if (no_movnt()) {
		struct pcheck_counts c;
		pcheck_counts(&c);	/* since the last reset */
		if (c.nt_store != 0)
			FAIL("%s %s len %zu: PMEM_NO_MOVNT=1, yet %llu "
				"non-temporal stores", ctx, op_names[j->op],
				j->len, (unsigned long long)c.nt_store);
	}
	nfutures++;
}

/*
 * Group commit on PAGE maps, with every mover: rounds of GC_BATCH 4 KiB
 * futures issued together and waited for with runtime_wait_multiple must
 * share their syncs. The syncer gathers a batch until the poller comes back
 * to poll and every copy a mover still runs has reached it, so one sync per
 * round is the expected count (40 of 40 on a quiet machine); a poller or a
 * worker descheduled in the middle of its batch on a loaded machine splits
 * some rounds. A poll made in the same step as the submit used to end the
 * gathering at once (2.6 to 3 syncs per round), and with the threads movers
 * the gathering used to end after the first copy or two (76 to 80 syncs in
 * 40 rounds, at most 19 rounds with one).
 */
#define GC_BATCH 32
#define GC_ROUNDS 40

/*
 * Rounds of GC_BATCH futures written and checked; returns how many rounds
 * took a single sync.
 */
static int
group_commit_rounds(struct test_map *m, struct runtime *rt,
	const unsigned char *pattern, int rounds, uint64_t *total_out)
{
	struct vdm_operation_future f[GC_BATCH];
	struct future *fp[GC_BATCH];
	struct pcheck_counts c0, c1;
	uint64_t total = 0;
	int single = 0;

	for (int r = 0; r < rounds; r++) {
		pcheck_counts(&c0);
		for (int i = 0; i < GC_BATCH; i++) {
			f[i] = pmem2_memcpy_async(m->map,
				(char *)m->addr + (size_t)i * 4096,
				pattern + r, 4096, 0);
			fp[i] = FUTURE_AS_RUNNABLE(&f[i]);
		}
		runtime_wait_multiple(rt, fp, GC_BATCH);
		pcheck_counts(&c1);
		for (int i = 0; i < GC_BATCH; i++) {
			CHECK_EQ(f[i].output.result, VDM_SUCCESS);
			CHECK_MEM((char *)m->addr + (size_t)i * 4096,
				pattern + r, 4096);
		}
		uint64_t syncs = c1.sync - c0.sync;
		CHECK(syncs >= 1);
		total += syncs;
		single += syncs == 1;
	}
	printf("group commit: %d rounds of %d futures, %llu syncs, %d rounds "
		"with one\n", rounds, GC_BATCH, (unsigned long long)total,
		single);
	*total_out = total;
	return single;
}

/*
 * On a quiet machine every round takes one sync; a loaded one splits some.
 * The regressions this guards against split (nearly) every round. So: at
 * least half of the rounds with one sync, in one of three attempts.
 */
static void
check_group_commit(struct test_map *m, struct runtime *rt,
	const unsigned char *pattern)
{
	CHECK(m->size >= (size_t)GC_BATCH * 4096);
	uint64_t total;
	if (test_quick()) {
		/* valgrind stretches a batch past any gathering */
		fprintf(stderr, "note: quick mode: only checking that syncs "
			"were shared at all\n");
		group_commit_rounds(m, rt, pattern, 8, &total);
		CHECK(total < 8 * GC_BATCH / 2);
		return;
	}
	for (int attempt = 0;; attempt++) {
		if (group_commit_rounds(m, rt, pattern, GC_ROUNDS, &total) >=
				GC_ROUNDS / 2)
			return;
		if (attempt == 2)
			FAIL("group commit: too few batches of %d shared one "
				"sync, in three attempts", GC_BATCH);
	}
}

/*
 * A plain (NOFLUSH, no hint) copy through an unwrapped threads mover, of
 * MINIASYNC_THREADS_STREAM_MIN bytes or more: the workers stream it, so
 * the checker sees non-temporal stores only (a line-aligned destination
 * has no partial lines), no ordinary store and no write-back. Under
 * PMEM_NO_MOVNT=1: ordinary stores only.
 */
static void
check_plain_streams(struct test_map *m, const unsigned char *pattern)
{
	const char *e = getenv("MINIASYNC_THREADS_STREAM_MIN");
	size_t min = e ? (size_t)strtoull(e, NULL, 0) : 0;
	size_t len = 65536;
	if (e == NULL || min > len)
		return;
	struct pcheck_counts c0, c1;
	pcheck_reset((enum pcheck_model)m->gran, m->addr, m->size);
	pcheck_counts(&c0);
	struct vdm_operation_future f = pmem2_memcpy_async(m->map,
		m->addr, pattern, len, PMEM2_F_MEM_NOFLUSH);
	FUTURE_BUSY_POLL(&f);
	pcheck_counts(&c1);
	CHECK_EQ(f.output.result, VDM_SUCCESS);
	CHECK_MEM(m->addr, pattern, len);
	if (no_movnt()) {
		CHECK_EQ(c1.nt_store, c0.nt_store);
		CHECK(c1.store > c0.store);
		printf("plain %zu B copy: ordinary stores\n", len);
		return;
	}
	CHECK(c1.nt_store > c0.nt_store);
	CHECK_EQ(c1.store, c0.store);
	CHECK_EQ(c1.flush, c0.flush);
	printf("plain %zu B copy: streamed\n", len);
}

static void
run_mover(int gran, enum mover_kind k, struct runtime *rt,
	const unsigned char *pattern)
{
	struct mover mv;
	struct test_map m;
	mover_open(&mv, k);
	test_map_open_in(&m, test_gran_dir(gran), mover_names[k], NFLIGHT * SLOT,
		NULL, set_vdm, &mv);
	if (m.gran != gran)
		SKIP("map granularity %s, wanted %s", test_gran_name(m.gran),
			test_gran_name(gran));

	static const size_t lens[] = { 0, 1, 100, 4096, 4096 + 3, 65536 + 13,
		SLOT - 64 };
	/* every flag but NOFLUSH: NODRAIN too, durable at completion anyway */
	static const unsigned hints[] = { 0, PMEM2_F_MEM_NODRAIN,
		PMEM2_F_MEM_NONTEMPORAL, PMEM2_F_MEM_TEMPORAL, PMEM2_F_MEM_WC,
		PMEM2_F_MEM_WB, PMEM2_F_MEM_NODRAIN | PMEM2_F_MEM_NONTEMPORAL };
	size_t nlens = sizeof(lens) / sizeof(lens[0]);
	size_t nhints = test_quick() || gran == PMEM2_GRANULARITY_PAGE ? 2 :
		sizeof(hints) / sizeof(hints[0]);
	struct job jobs[NFLIGHT];
	struct future *futs[NFLIGHT];
	unsigned round = 0;

	for (int op = 0; op < OP_COUNT; op++) {
		for (size_t h = 0; h < nhints; h++) {
			if (op == OP_PERSIST && h > 0)
				break;
			/* one future at a time, every length */
			for (size_t li = 0; li < nlens; li++) {
				struct job *j = &jobs[0];
				memset(j, 0, sizeof(*j));
				j->op = (enum opkind)op;
				j->dst = (unsigned char *)m.addr + 64 + 13 * (li & 1);
				j->len = lens[li];
				j->flags = hints[h];
				j->expect_byte = (unsigned char)(0x30 + round++);
				pcheck_reset((enum pcheck_model)m.gran, m.addr,
					m.size);
				job_start(&m, j, pattern + li);
				if (li & 1)
					runtime_wait(rt, FUTURE_AS_RUNNABLE(&j->fut));
				else
					FUTURE_BUSY_POLL(&j->fut);
				job_verify(&m, &mv, j);
			}
			/* NFLIGHT at once through runtime_wait_multiple */
			pcheck_reset((enum pcheck_model)m.gran, m.addr, m.size);
			for (int i = 0; i < NFLIGHT; i++) {
				struct job *j = &jobs[i];
				memset(j, 0, sizeof(*j));
				j->op = (enum opkind)op;
				j->dst = (unsigned char *)m.addr + i * SLOT + (i % 5);
				j->len = lens[(size_t)i % nlens] ?
					lens[(size_t)i % nlens] : 77;
				j->flags = hints[h];
				j->expect_byte = (unsigned char)(0x40 + i);
				job_start(&m, j, pattern + i);
				futs[i] = FUTURE_AS_RUNNABLE(&j->fut);
			}
			runtime_wait_multiple(rt, futs, NFLIGHT);
			for (int i = 0; i < NFLIGHT; i++)
				job_verify(&m, &mv, &jobs[i]);
		}
	}
	if (gran == PMEM2_GRANULARITY_CACHE_LINE &&
			(k == MV_THREADS_DURABLE || k == MV_THREADS_1_DURABLE))
		check_plain_streams(&m, pattern);

	if (gran == PMEM2_GRANULARITY_PAGE)
		check_group_commit(&m, rt, pattern);
	pcheck_disable();
	test_map_close(&m);
	mover_close(&mv);
}

int
main(int argc, char *argv[])
{
	int gran = test_gran_parse(argc > 1 ? argv[1] : NULL);
	if (gran < 0)
		FAIL("usage: %s page|cache_line|byte [mover]", argv[0]);
	const char *only = argc > 2 ? argv[2] : NULL;
	unsigned char *pattern = test_alloc(SLOT + 64);
	uint64_t seed = test_seed();
	for (size_t i = 0; i < SLOT + 64; i++)
		pattern[i] = (unsigned char)test_rand(&seed);
	struct runtime *rt = runtime_new();
	CHECK(rt);
	for (int k = 0; k < MV_COUNT; k++) {
		if (only && strcmp(only, mover_names[k]) != 0)
			continue;
		run_mover(gran, (enum mover_kind)k, rt, pattern);
		printf("pcheck_async %s %s: ok\n", test_gran_name(gran),
			mover_names[k]);
	}
	runtime_delete(rt);
	free(pattern);
	printf("pcheck_async %s: %lu futures checked durable at completion\n",
		test_gran_name(gran), nfutures);
	return 0;
}
