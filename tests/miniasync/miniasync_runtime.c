/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * miniasync_runtime.c -- runtime_wait/_multiple over mixed futures: vdm futures
 * from the sync and threads movers, a user-written future woken from
 * another thread, already complete futures, FUTURE_INIT_COMPLETE ones,
 * futures that report NONE; async futures polled first; no reordering of
 * the caller's array.
 */
#include <pthread.h>
#include <unistd.h>

#include <libminiasync.h>
#include "helpers.h"

/* ---- a user future completed by a helper thread through the waker ---- */
struct remote_data {
	pthread_mutex_t lock;
	int done;		/* set by the helper thread, under lock */
	int started;
	pthread_t thr;
	struct future_waker waker;
	int delay_us;
};
struct remote_output {
	int ok;
};
FUTURE(remote_future, struct remote_data, struct remote_output);

static void *
remote_thread(void *arg)
{
	struct remote_data *d = arg;
	usleep((useconds_t)d->delay_us);
	pthread_mutex_lock(&d->lock);
	struct future_waker w = d->waker;
	d->done = 1;
	pthread_mutex_unlock(&d->lock);
	w.wake(w.data);
	return NULL;
}

static enum future_state
remote_task(struct future_context *ctx, struct future_notifier *n)
{
	struct remote_data *d = future_context_get_data(ctx);
	if (!d->started) {
		CHECK(n != NULL);
		n->notifier_used = FUTURE_NOTIFIER_WAKER;
		d->waker = n->waker;
		d->started = 1;
		CHECK(pthread_create(&d->thr, NULL, remote_thread, d) == 0);
		return FUTURE_STATE_RUNNING;
	}
	pthread_mutex_lock(&d->lock);
	int done = d->done;
	pthread_mutex_unlock(&d->lock);
	if (!done)
		return FUTURE_STATE_RUNNING;
	pthread_join(d->thr, NULL);
	struct remote_output *o = future_context_get_output(ctx);
	o->ok = 1;
	return FUTURE_STATE_COMPLETE;
}

static int
async_property(void *fut, enum future_property p)
{
	(void)fut;
	return p == FUTURE_PROPERTY_ASYNC;
}

static void
remote_init(struct remote_future *f, int delay_us)
{
	memset(&f->data, 0, sizeof(f->data));
	pthread_mutex_init(&f->data.lock, NULL);
	f->data.delay_us = delay_us;
	f->output.ok = 0;
	FUTURE_INIT_EXT(f, remote_task, async_property);
}

/*
 * A logged step (tests/common/helpers_steps.c) that needs polls + 1 polls;
 * async 2: it turns async after its first poll (through its own flag).
 */
static int Turned[5];

static void
logged_init(struct test_step_future *f, int id, int polls, int async)
{
	*f = test_step(id, polls + 1, async == 1);
	if (async == 2) {
		CHECK(id >= 0 && id < 5);
		Turned[id] = 0;
		test_step_flips(f, f, &Turned[id], 1, polls);
	}
}

static void
test_order(struct runtime *rt)
{
	struct test_step_future f[5];
	logged_init(&f[0], 0, 1, 0);
	logged_init(&f[1], 1, 1, 1);
	logged_init(&f[2], 2, 1, 0);
	logged_init(&f[3], 3, 1, 1);
	logged_init(&f[4], 4, 0, 0);
	struct future *arr[5];
	for (int i = 0; i < 5; i++)
		arr[i] = FUTURE_AS_RUNNABLE(&f[i]);
	test_wait_logged(rt, arr, 5);
	/* async first, each group in the caller's order, same each pass */
	static const int expected[] = { 1, 3, 0, 2, 4, 1, 3, 0, 2 };
	test_log_check("order", expected, 9);
	/* the caller's array is untouched */
	for (int i = 0; i < 5; i++)
		CHECK(arr[i] == FUTURE_AS_RUNNABLE(&f[i]));

	/*
	 * A property that changes while waiting is picked up: f[1] becomes
	 * async after its first poll (its IDLE -> RUNNING change triggers the
	 * refresh), so from the second pass on it is polled first.
	 */
	logged_init(&f[0], 0, 3, 0);
	logged_init(&f[1], 1, 3, 2);
	arr[0] = FUTURE_AS_RUNNABLE(&f[0]);
	arr[1] = FUTURE_AS_RUNNABLE(&f[1]);
	test_wait_logged(rt, arr, 2);
	static const int expected2[] = { 0, 1, 1, 0, 1, 0, 1, 0 };
	test_log_check("turns async", expected2, 8);
}

static void
test_mixed(struct runtime *rt, struct vdm *sync, struct vdm *thr, int rounds)
{
	size_t n = 256 * 1024;
	char *a = test_alloc(n), *b = test_alloc(n), *c = test_alloc(n),
		*d = test_alloc(n);
	for (int r = 0; r < rounds; r++) {
		test_pattern(a, n, (uint64_t)r + 1);
		memset(b, 0, n);
		memset(d, 0, n);
		struct vdm_operation_future f1 = vdm_memcpy(thr, b, a, n, 0);
		struct vdm_operation_future f2 = vdm_memset(sync, c, 7, n, 0);
		struct vdm_operation_future f3 = vdm_memcpy(thr, d, a, n, 0);
		struct remote_future rf;
		remote_init(&rf, r % 3 == 0 ? 2000 : 0);
		struct test_step_future done;
		done.output.done = 5;
		FUTURE_INIT_COMPLETE(&done);
		struct vdm_operation_future already = vdm_memset(sync, c, 1, 1, 0);
		FUTURE_BUSY_POLL(&already);
		struct test_step_future none;
		logged_init(&none, 9, 5, 0);

		struct future *arr[] = {
			FUTURE_AS_RUNNABLE(&done),
			FUTURE_AS_RUNNABLE(&f1),
			FUTURE_AS_RUNNABLE(&already),
			FUTURE_AS_RUNNABLE(&f2),
			FUTURE_AS_RUNNABLE(&rf),
			FUTURE_AS_RUNNABLE(&none),
			FUTURE_AS_RUNNABLE(&f3),
		};
		/* (the log started afresh each round: it is not checked) */
		test_wait_logged(rt, arr, sizeof(arr) / sizeof(arr[0]));
		for (size_t i = 0; i < sizeof(arr) / sizeof(arr[0]); i++)
			CHECK_EQ(arr[i]->context.state, FUTURE_STATE_COMPLETE);
		CHECK_MEM(a, b, n);
		CHECK_MEM(a, d, n);
		CHECK_EQ(c[n - 1], 7);
		CHECK_EQ(rf.output.ok, 1);
		pthread_mutex_destroy(&rf.data.lock);
		CHECK_EQ(done.output.done, 5);
	}
	free(a);
	free(b);
	free(c);
	free(d);
}

static void
test_complete(struct runtime *rt)
{
	/* only complete futures: returns at once, n == 1 and n >= 2 */
	struct test_step_future x, y;
	FUTURE_INIT_COMPLETE(&x);
	FUTURE_INIT_COMPLETE(&y);
	struct future *arr[] = { FUTURE_AS_RUNNABLE(&x), FUTURE_AS_RUNNABLE(&y) };
	runtime_wait(rt, arr[0]);
	runtime_wait_multiple(rt, arr, 2);
	runtime_wait_multiple(rt, arr, 0);
	logged_init(&x, 1, 0, 0);
	FUTURE_BUSY_POLL(&x);
	runtime_wait_multiple(rt, arr, 2);
}

static void
test_many(struct runtime *rt, struct vdm *thr)
{
	/* more futures than the on-stack bookkeeping holds */
	enum { N = 100 };
	static struct vdm_operation_future f[N];
	static struct future *arr[N];
	static char src[N][512], dst[N][512];
	for (int i = 0; i < N; i++) {
		test_pattern(src[i], sizeof(src[i]), (uint64_t)i);
		memset(dst[i], 0, sizeof(dst[i]));
		f[i] = vdm_memcpy(thr, dst[i], src[i], sizeof(src[i]), 0);
		arr[i] = FUTURE_AS_RUNNABLE(&f[i]);
	}
	runtime_wait_multiple(rt, arr, N);
	for (int i = 0; i < N; i++)
		CHECK_MEM(src[i], dst[i], sizeof(src[i]));
}

/* Two threads sharing one runtime. */
struct sharer {
	struct runtime *rt;
	struct vdm *thr;
	int rounds;
};

static void *
share_thread(void *arg)
{
	struct sharer *s = arg;
	char a[4096], b[4096];
	for (int r = 0; r < s->rounds; r++) {
		test_pattern(a, sizeof(a), (uint64_t)r);
		struct vdm_operation_future f = vdm_memcpy(s->thr, b, a,
			sizeof(a), 0);
		runtime_wait(s->rt, FUTURE_AS_RUNNABLE(&f));
		CHECK_MEM(a, b, sizeof(a));
	}
	return NULL;
}

int
main(void)
{
	struct runtime *rt = runtime_new();
	CHECK(rt != NULL);
	struct data_mover_sync *dms = data_mover_sync_new();
	CHECK(dms != NULL);
	struct data_mover_threads *dmt = data_mover_threads_new(2, 8,
		FUTURE_NOTIFIER_WAKER);
	CHECK(dmt != NULL);
	struct vdm *sync = data_mover_sync_get_vdm(dms);
	struct vdm *thr = data_mover_threads_get_vdm(dmt);

	test_order(rt);
	test_complete(rt);
	test_mixed(rt, sync, thr, test_quick() ? 10 : 200);
	test_many(rt, thr);

	struct sharer s = { rt, thr, test_quick() ? 50 : 2000 };
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&t[i], NULL, share_thread, &s) == 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);

	data_mover_threads_delete(dmt);
	data_mover_sync_delete(dms);
	runtime_delete(rt);
	return 0;
}
