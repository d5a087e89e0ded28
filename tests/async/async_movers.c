/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * async_movers.c -- every mover x memcpy/memmove/memset/persist on one
 * granularity, hundreds of futures in flight through runtime_wait_multiple,
 * and futures started on one thread and finished on another. The bytes are
 * compared with a shadow copy; on PAGE, cachestat(2) must find no dirty
 * page in the map once every future has completed.
 *
 * Movers: the map's default, data_mover_sync, data_mover_threads_default,
 * a threads mover with 1 worker and a small queue (full queue: the
 * operation is retried), a mover written here (libc in op_start, no
 * capabilities) and one written here that declares VDM_F_MEM_DURABLE and
 * persists with pmem2's functions when asked to.
 *
 * Usage: async_movers page|cache_line|byte
 */
#include <pthread.h>
#include <libminiasync.h>
#include "helpers.h"

#define SLOT (16u << 10)
#define NSLOTS 256u
#define MAPSZ (SLOT * NSLOTS)
static size_t Nflight = NSLOTS;	/* futures per batch (fewer when quick) */

/*
 * The movers written by the test (tests/common's test mover, copying with
 * libc in op_start): plain; declaring VDM_F_MEM_DURABLE and persisting with
 * the map's persist function when asked to; at most 3 operations at once
 * (more: op_new returns NULL).
 */
static struct test_mover User_mover;

enum mover_kind {
	MV_DEFAULT, MV_SYNC, MV_THREADS, MV_THREADS_1, MV_USER,
	MV_USER_DURABLE, MV_LIMITED, MV_COUNT
};
static const char *Mover_names[] = { "default", "sync", "threads_default",
	"threads_1", "user", "user_durable", "user_limited" };

struct mover {
	struct data_mover_sync *dms;
	struct data_mover_threads *dmt;
	struct vdm *vdm;
};

static void
mover_open(struct mover *mv, enum mover_kind k)
{
	memset(mv, 0, sizeof(*mv));
	switch (k) {
	case MV_SYNC:
		mv->dms = data_mover_sync_new();
		CHECK(mv->dms);
		mv->vdm = data_mover_sync_get_vdm(mv->dms);
		break;
	case MV_THREADS:
		mv->dmt = data_mover_threads_default();
		CHECK(mv->dmt);
		mv->vdm = data_mover_threads_get_vdm(mv->dmt);
		break;
	case MV_THREADS_1:
		mv->dmt = data_mover_threads_new(1, 16, FUTURE_NOTIFIER_WAKER);
		CHECK(mv->dmt);
		mv->vdm = data_mover_threads_get_vdm(mv->dmt);
		break;
	case MV_USER:
		test_mover_init(&User_mover, NULL);
		mv->vdm = &User_mover.base;
		break;
	case MV_USER_DURABLE:
		test_mover_init(&User_mover, NULL);
		User_mover.base.capabilities = VDM_F_MEM_DURABLE;
		mv->vdm = &User_mover.base;
		break;
	case MV_LIMITED:
		test_mover_init(&User_mover, NULL);
		User_mover.max_live = 3;
		mv->vdm = &User_mover.base;
		break;
	default:
		break;
	}
}

static void
mover_close(struct mover *mv)
{
	if (mv->dms)
		data_mover_sync_delete(mv->dms);
	if (mv->dmt)
		data_mover_threads_delete(mv->dmt);
}

/* ---- one batch: a future per slot, the same operations on the shadow ---- */

struct batch {
	size_t n;
	struct vdm_operation_future *f;
	struct future **fp;
	int *kind;
	char *src;	/* what memcpy reads from */
};

static void
batch_make(struct batch *b, struct test_map *m, char *shadow, unsigned seed,
	size_t n)
{
	b->n = n;
	test_pattern(b->src, MAPSZ, seed);
	for (size_t i = 0; i < n; i++) {
		size_t base = i * SLOT;
		size_t off = (i * 193 + seed) % (SLOT / 4);
		size_t len = 1 + (i * 2741 + seed * 7) % (SLOT / 2);
		char *d = m->addr + base + off;
		char *sh = shadow + base + off;
		int k = (int)((i + seed) % 4);
		b->kind[i] = k;
		switch (k) {
		case 0:
			b->f[i] = pmem2_memcpy_async(m->map, d,
				b->src + base, len, 0);
			memcpy(sh, b->src + base, len);
			break;
		case 1: {
			/* overlapping, inside the slot */
			size_t sh_by = 1 + i % 100;
			b->f[i] = pmem2_memmove_async(m->map, d + sh_by, d,
				len, 0);
			memmove(sh + sh_by, sh, len);
			break;
		}
		case 2:
			b->f[i] = pmem2_memset_async(m->map, d,
				(int)(i * 31 + seed), len, 0);
			memset(sh, (int)(i * 31 + seed), len);
			break;
		default:
			/* plain stores, made durable by the future */
			memcpy(d, b->src + base, len);
			memcpy(sh, b->src + base, len);
			b->f[i] = pmem2_persist_async(m->map, d, len);
			break;
		}
		b->fp[i] = FUTURE_AS_RUNNABLE(&b->f[i]);
	}
}

static void
batch_check(struct batch *b, struct test_map *m, const char *shadow)
{
	for (size_t i = 0; i < b->n; i++) {
		CHECK_EQ(FUTURE_STATE(&b->f[i]), FUTURE_STATE_COMPLETE);
		if (b->f[i].output.result != VDM_SUCCESS)
			FAIL("future %zu (kind %d): result %d: %s", i,
				b->kind[i], b->f[i].output.result,
				pmem2_errormsg());
	}
	CHECK_MEM_FAST(m->addr, shadow, MAPSZ);
}

static int Have_cachestat = 1;

static void
check_no_dirty(struct test_map *m)
{
	if (m->gran != PMEM2_GRANULARITY_PAGE || !Have_cachestat)
		return;
	int fd = open(m->path, O_RDONLY);
	CHECK(fd >= 0);
	struct test_cstat cs;
	int ret = test_cachestat(fd, 0, MAPSZ, &cs);
	close(fd);
	if (ret == -ENOSYS) {
		fprintf(stderr, "NOTE: no cachestat(2); dirty pages not checked\n");
		Have_cachestat = 0;
		return;
	}
	CHECK_EQ(ret, 0);
	if (cs.nr_dirty)
		FAIL("%llu dirty pages after every future completed",
			(unsigned long long)cs.nr_dirty);
}

static void
noop_wake(void *data)
{
	(void)data;
}

struct finisher {
	struct runtime *rt;
	struct batch *b;
};

static void *
finish_thread(void *arg)
{
	struct finisher *fin = arg;
	runtime_wait_multiple(fin->rt, fin->b->fp, fin->b->n);
	return NULL;
}

#define BIGSZ ((size_t)12 << 20)

/*
 * Operations of several MiB (split into parts for a mover other than the
 * default), each waited for alone, compared with a shadow.
 */
static void
test_large(enum pmem2_granularity g, struct vdm *vdm, struct runtime *rt)
{
	struct test_map m;
	test_map_open(&m, g, BIGSZ, vdm);
	char *shadow = malloc(BIGSZ), *src = malloc(BIGSZ);
	CHECK(shadow && src);
	test_pattern(shadow, BIGSZ, 5);
	memcpy(m.addr, shadow, BIGSZ);
	pmem2_get_persist_fn(m.map)(m.addr, BIGSZ);
	test_pattern(src, BIGSZ, 6);
	struct vdm_operation_future f;
	size_t n;

	n = (9u << 20) + 5;
	f = pmem2_memcpy_async(m.map, m.addr + 3, src, n, 0);
	runtime_wait(rt, FUTURE_AS_RUNNABLE(&f));
	CHECK_EQ(f.output.result, VDM_SUCCESS);
	CHECK(f.output.output.memcpy.dest == m.addr + 3);
	memcpy(shadow + 3, src, n);
	CHECK_MEM_FAST(m.addr, shadow, BIGSZ);

	n = (5u << 20) + 77;
	f = pmem2_memset_async(m.map, m.addr + 1, 0xc3, n, 0);
	runtime_wait(rt, FUTURE_AS_RUNNABLE(&f));
	CHECK_EQ(f.output.result, VDM_SUCCESS);
	memset(shadow + 1, 0xc3, n);
	CHECK_MEM_FAST(m.addr, shadow, BIGSZ);

	/* no overlap: may be split */
	n = (5u << 20) + 1;
	f = pmem2_memmove_async(m.map, m.addr + (6u << 20), m.addr + 100, n,
		0);
	runtime_wait(rt, FUTURE_AS_RUNNABLE(&f));
	CHECK_EQ(f.output.result, VDM_SUCCESS);
	memmove(shadow + (6u << 20), shadow + 100, n);
	CHECK_MEM_FAST(m.addr, shadow, BIGSZ);

	/* overlapping: one piece, whatever its size */
	n = 6u << 20;
	f = pmem2_memmove_async(m.map, m.addr + 4097, m.addr, n, 0);
	runtime_wait(rt, FUTURE_AS_RUNNABLE(&f));
	CHECK_EQ(f.output.result, VDM_SUCCESS);
	memmove(shadow + 4097, shadow, n);
	CHECK_MEM_FAST(m.addr, shadow, BIGSZ);

	memcpy(m.addr, src, BIGSZ);
	memcpy(shadow, src, BIGSZ);
	f = pmem2_persist_async(m.map, m.addr, BIGSZ);
	runtime_wait(rt, FUTURE_AS_RUNNABLE(&f));
	CHECK_EQ(f.output.result, VDM_SUCCESS);
	CHECK_MEM_FAST(m.addr, shadow, BIGSZ);
	if (m.gran == PMEM2_GRANULARITY_PAGE && Have_cachestat) {
		int fd = open(m.path, O_RDONLY);
		struct test_cstat cs;
		CHECK(fd >= 0);
		if (test_cachestat(fd, 0, BIGSZ, &cs) == 0)
			CHECK_EQ(cs.nr_dirty, 0);
		close(fd);
	}
	free(shadow);
	free(src);
	test_map_close(&m);
}

static void
check_mover(enum pmem2_granularity g, enum mover_kind k, int rounds)
{
	struct mover mv;
	mover_open(&mv, k);
	struct test_map m;
	test_map_open(&m, g, MAPSZ, mv.vdm);
	User_mover.persist = pmem2_get_persist_fn(m.map);

	char *shadow = malloc(MAPSZ);
	struct batch b;
	b.f = malloc(NSLOTS * sizeof(*b.f));
	b.fp = malloc(NSLOTS * sizeof(*b.fp));
	b.kind = malloc(NSLOTS * sizeof(*b.kind));
	b.src = malloc(MAPSZ);
	CHECK(shadow && b.f && b.fp && b.kind && b.src);

	/* a known, durable starting point */
	test_pattern(shadow, MAPSZ, 99 + (unsigned)k);
	memcpy(m.addr, shadow, MAPSZ);
	pmem2_get_persist_fn(m.map)(m.addr, MAPSZ);

	struct runtime *rt = runtime_new();
	CHECK(rt);
	unsigned seed = 1;
	for (int r = 0; r < rounds; r++) {
		/* all slots at once through runtime_wait_multiple */
		batch_make(&b, &m, shadow, seed++, Nflight);
		runtime_wait_multiple(rt, b.fp, b.n);
		batch_check(&b, &m, shadow);
		check_no_dirty(&m);

		/* started here (one poll each), finished on another thread */
		batch_make(&b, &m, shadow, seed++, Nflight / 2);
		for (size_t i = 0; i < b.n; i++) {
			struct future_notifier nt;
			memset(&nt, 0, sizeof(nt));
			nt.waker.wake = noop_wake;	/* not the finisher's */
			future_poll(b.fp[i], i % 2 ? &nt : NULL);
		}
		struct finisher fin = { runtime_new(), &b };
		CHECK(fin.rt);
		pthread_t th;
		CHECK_EQ(pthread_create(&th, NULL, finish_thread, &fin), 0);
		CHECK_EQ(pthread_join(th, NULL), 0);
		runtime_delete(fin.rt);
		batch_check(&b, &m, shadow);
		check_no_dirty(&m);

		/* one at a time with runtime_wait */
		batch_make(&b, &m, shadow, seed++, 16);
		for (size_t i = 0; i < b.n; i++)
			runtime_wait(rt, b.fp[i]);
		batch_check(&b, &m, shadow);
		check_no_dirty(&m);
	}
	/* the split path: every mover normally, two of them when quick */
	if (!test_quick() || k == MV_THREADS || k == MV_LIMITED)
		test_large(g, mv.vdm, rt);
	runtime_delete(rt);

	User_mover.persist = NULL;
	test_map_close(&m);
	mover_close(&mv);
	free(shadow);
	free(b.f);
	free(b.fp);
	free(b.kind);
	free(b.src);
	printf("async_movers %s %s: ok\n", test_gran_name(g), Mover_names[k]);
}

int
main(int argc, char *argv[])
{
	enum pmem2_granularity g = test_gran_arg(argc, argv, -1);
	int rounds = test_quick() ? 1 : 3;
	if (test_quick())
		Nflight = 64;
	for (int k = 0; k < MV_COUNT; k++)
		check_mover(g, (enum mover_kind)k, rounds);
	return 0;
}
