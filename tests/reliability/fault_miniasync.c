/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fault_miniasync.c -- allocation and thread-creation failure at every
 * site of libminiasync calls, in turn (see fault_alloc.h): _new functions
 * return NULL and release what they had; an operation whose allocation
 * fails is a COMPLETE future with VDM_ERROR_OUT_OF_MEMORY that wrote
 * nothing; no block leaks; nothing crashes; the call works once the fault
 * is past.
 */
#include <libminiasync.h>
#include "helpers.h"
#include "fault_alloc.h"

typedef int (*scenario_fn)(void);

static int
sc_runtime(void)
{
	struct runtime *r = runtime_new();
	if (!r)
		return -ENOMEM;
	runtime_delete(r);
	return 0;
}

static int
sc_sync_mover(void)
{
	struct data_mover_sync *d = data_mover_sync_new();
	if (!d)
		return -ENOMEM;
	data_mover_sync_delete(d);
	return 0;
}

static int
sc_vdm_sync(void)
{
	struct vdm *v = vdm_synchronous_new();
	if (!v)
		return -ENOMEM;
	vdm_synchronous_delete(v);
	return 0;
}

static int
sc_threads_new(void)
{
	struct data_mover_threads *d = data_mover_threads_new(3, 16,
		FUTURE_NOTIFIER_WAKER);
	if (!d)
		return -ENOMEM;
	data_mover_threads_delete(d);
	return 0;
}

static int
sc_threads_default(void)
{
	struct data_mover_threads *d = data_mover_threads_default();
	if (!d)
		return -ENOMEM;
	data_mover_threads_delete(d);
	return 0;
}

/* movers made outside the fault window */
static struct data_mover_sync *g_dms;
static struct data_mover_threads *g_dmt;
static struct vdm *g_vsync;
static struct runtime *g_rt;
static unsigned char src[1 << 20], dst[1 << 20];

/* n operations of each kind on v; -ENOMEM if any reported OOM */
static int
ops_on(struct vdm *v, int use_runtime)
{
	struct vdm_operation_future f[4];
	struct future *fp[4];
	const size_t len = sizeof(dst);
	int oom = 0;
	memset(dst, 0xEE, len);
	f[0] = vdm_memcpy(v, dst, src, len / 4, 0);
	f[1] = vdm_memmove(v, dst + len / 4, src, len / 4, 0);
	f[2] = vdm_memset(v, dst + len / 2, 0x42, len / 4, 0);
	f[3] = vdm_flush(v, dst, len, 0);
	for (int i = 0; i < 4; i++)
		fp[i] = FUTURE_AS_RUNNABLE(&f[i]);
	if (use_runtime)
		runtime_wait_multiple(g_rt, fp, 4);
	else
		for (int i = 0; i < 4; i++)
			FUTURE_BUSY_POLL(&f[i]);
	for (int i = 0; i < 4; i++) {
		CHECK(FUTURE_STATE(&f[i]) == FUTURE_STATE_COMPLETE);
		enum vdm_operation_result r = FUTURE_OUTPUT(&f[i])->result;
		if (r == VDM_ERROR_OUT_OF_MEMORY) {
			oom = 1;
			if (i < 3) {
				const unsigned char *d = dst + (size_t)i * len / 4;
				for (size_t k = 0; k < len / 4; k++)
					if (d[k] != 0xEE)
						FAIL("op %d failed with OOM but "
							"wrote byte %zu", i, k);
			}
			continue;
		}
		if (r != VDM_SUCCESS)
			FAIL("op %d: result %d", i, (int)r);
		if (i == 0 || i == 1)
			CHECK_MEM(dst + (size_t)i * len / 4, src, len / 4);
		if (i == 2)
			for (size_t k = 0; k < len / 4; k++)
				CHECK(dst[len / 2 + k] == 0x42);
	}
	return oom ? -ENOMEM : 0;
}

static int sc_ops_sync(void) { return ops_on(data_mover_sync_get_vdm(g_dms), 0); }
static int sc_ops_vsync(void) { return ops_on(g_vsync, 1); }
static int sc_ops_threads(void) { return ops_on(data_mover_threads_get_vdm(g_dmt), 1); }
static int sc_ops_threads_poll(void) { return ops_on(data_mover_threads_get_vdm(g_dmt), 0); }

/* a fresh mover with 256 operations in flight: its pool has to grow */
static int
sc_threads_burst(void)
{
	enum { N = 256 };
	static struct vdm_operation_future f[N];
	static struct future *fp[N];
	struct data_mover_threads *d = data_mover_threads_new(2, 1024,
		FUTURE_NOTIFIER_WAKER);
	if (!d)
		return -ENOMEM;
	struct vdm *v = data_mover_threads_get_vdm(d);
	const size_t chunk = sizeof(dst) / N;
	memset(dst, 0xEE, sizeof(dst));
	for (int i = 0; i < N; i++) {
		f[i] = vdm_memcpy(v, dst + (size_t)i * chunk,
			src + (size_t)i * chunk, chunk, 0);
		fp[i] = FUTURE_AS_RUNNABLE(&f[i]);
	}
	runtime_wait_multiple(g_rt, fp, N);
	int oom = 0;
	for (int i = 0; i < N; i++) {
		unsigned char *p = dst + (size_t)i * chunk;
		switch (FUTURE_OUTPUT(&f[i])->result) {
		case VDM_SUCCESS:
			CHECK_MEM(p, src + (size_t)i * chunk, chunk);
			break;
		case VDM_ERROR_OUT_OF_MEMORY:
			oom = 1;
			for (size_t k = 0; k < chunk; k++)
				CHECK(p[k] == 0xEE);
			break;
		default:
			FAIL("burst op %d: result %d", i,
				(int)FUTURE_OUTPUT(&f[i])->result);
		}
	}
	data_mover_threads_delete(d);
	return oom ? -ENOMEM : 0;
}

struct scenario {
	const char *name;
	scenario_fn fn;
	int threads;	/* starts threads: inject thread creation too */
};

static const struct scenario scenarios[] = {
	{ "runtime_new", sc_runtime, 0 },
	{ "data_mover_sync_new", sc_sync_mover, 0 },
	{ "vdm_synchronous_new", sc_vdm_sync, 0 },
	{ "data_mover_threads_new(3)", sc_threads_new, 1 },
	{ "data_mover_threads_default", sc_threads_default, 1 },
	{ "ops on the sync mover", sc_ops_sync, 0 },
	{ "ops on vdm_synchronous", sc_ops_vsync, 0 },
	{ "ops on a threads mover (runtime)", sc_ops_threads, 0 },
	{ "ops on a threads mover (busy poll)", sc_ops_threads_poll, 0 },
	{ "new threads mover, 256 ops in flight", sc_threads_burst, 1 },
};

static unsigned long injected;

static void
run(const struct scenario *s, enum fa_what what)
{
	CHECK_EQ(s->fn(), 0);
	for (unsigned long n = 1;; n++) {
		long live0 = fa_live();
		fa_arm(what, n);
		int r = s->fn();
		fa_disarm();
		if (!fa_fired()) {
			if (r != 0)
				FAIL("%s: %d without an injected fault", s->name, r);
			printf("%-36s %s: %lu sites failed in turn\n", s->name,
				what == FA_ALLOC ? "alloc " : "thread", n - 1);
			return;
		}
		injected++;
		if (r != -ENOMEM && r != 0)
			FAIL("%s: fault %lu gave %d", s->name, n, r);
		/* an operation may survive an allocation failure (e.g. done
		 * inline instead of queued): fine, as long as it is correct */
		if (fa_live() != live0)
			FAIL("%s: fault %lu leaked %ld block(s)", s->name, n,
				fa_live() - live0);
		if (n > 10000)
			FAIL("%s: never succeeds", s->name);
	}
}

int
main(void)
{
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (unsigned char)(i * 7 + 3);
	g_dms = data_mover_sync_new();
	g_dmt = data_mover_threads_new(2, 8, FUTURE_NOTIFIER_WAKER);
	g_vsync = vdm_synchronous_new();
	g_rt = runtime_new();
	CHECK(g_dms && g_dmt && g_vsync && g_rt);

	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		run(&scenarios[i], FA_ALLOC);
		if (scenarios[i].threads)
			run(&scenarios[i], FA_THREAD);
	}

	runtime_delete(g_rt);
	vdm_synchronous_delete(g_vsync);
	data_mover_threads_delete(g_dmt);
	data_mover_sync_delete(g_dms);
	printf("fault_miniasync: %lu faults injected\n", injected);
	return 0;
}
