/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * miniasync_runtime_wake.c -- no wake-up is ever lost. Futures are completed in
 * bursts by another thread, at random moments relative to the polling
 * thread's passes and sleeps; one runtime is also shared by two waiting
 * threads. Run with MINIASYNC_RUNTIME_BACKSTOP_MS=0 (see CMakeLists.txt):
 * the runtime then sleeps until woken, so a lost wake hangs the test and
 * ctest's timeout fails it, instead of costing a silent 100 ms.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <libminiasync.h>
#include "helpers.h"

#define NFUT 32

/* A batch of futures, completed together by the completer thread. */
struct batch {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	unsigned round;		/* bumped by the waiter: a new batch is out */
	unsigned done_round;	/* set by the completer: that batch is done */
	unsigned armed;		/* futures polled once (their waker is known) */
	int stop;
	struct future_waker waker[NFUT];
	unsigned seed;
};

struct burst_data {
	struct batch *b;
	int idx;
	unsigned round;
};
struct burst_output {
	int ok;
};
FUTURE(burst_future, struct burst_data, struct burst_output);

static enum future_state
burst_task(struct future_context *ctx, struct future_notifier *n)
{
	struct burst_data *d = future_context_get_data(ctx);
	struct batch *b = d->b;
	CHECK(n != NULL);
	pthread_mutex_lock(&b->lock);
	int done = b->done_round >= d->round;
	if (!done) {
		if (b->waker[d->idx].wake == NULL)
			b->armed++;
		b->waker[d->idx] = n->waker;
		pthread_cond_broadcast(&b->cv);
	}
	pthread_mutex_unlock(&b->lock);
	n->notifier_used = FUTURE_NOTIFIER_WAKER;
	if (!done)
		return FUTURE_STATE_RUNNING;
	struct burst_output *o = future_context_get_output(ctx);
	o->ok = 1;
	return FUTURE_STATE_COMPLETE;
}

static int
async_property(void *fut, enum future_property p)
{
	(void)fut;
	return p == FUTURE_PROPERTY_ASYNC;
}

/*
 * Waits until every future of the round has given its waker, lets a random
 * moment pass (0 to ~60 us: before, during or after the waiter's spin and
 * its sleep), then completes the whole batch and calls each waker once.
 */
static void *
completer(void *arg)
{
	struct batch *b = arg;
	unsigned seen = 0;
	for (;;) {
		pthread_mutex_lock(&b->lock);
		while (!b->stop && !(b->round > seen && b->armed == NFUT))
			pthread_cond_wait(&b->cv, &b->lock);
		if (b->stop) {
			pthread_mutex_unlock(&b->lock);
			return NULL;
		}
		seen = b->round;
		pthread_mutex_unlock(&b->lock);

		unsigned r = (unsigned)rand_r(&b->seed);
		if (r % 4 != 0)
			usleep(r % 60);

		struct future_waker w[NFUT];
		pthread_mutex_lock(&b->lock);
		b->done_round = seen;
		for (int i = 0; i < NFUT; i++) {
			w[i] = b->waker[i];
			b->waker[i].wake = NULL;
		}
		b->armed = 0;
		pthread_mutex_unlock(&b->lock);
		for (int i = 0; i < NFUT; i++)
			w[i].wake(w[i].data);
	}
}

static void
batch_init(struct batch *b, unsigned seed)
{
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cv, NULL);
	b->seed = seed;
}

static void
batch_destroy(struct batch *b)
{
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->lock);
}

/* rounds of NFUT futures, each round completed by one burst */
static void
run_rounds(struct runtime *r, struct batch *b, int rounds)
{
	struct burst_future f[NFUT];
	struct future *fp[NFUT];
	for (int k = 0; k < rounds; k++) {
		pthread_mutex_lock(&b->lock);
		unsigned round = ++b->round;
		pthread_mutex_unlock(&b->lock);
		for (int i = 0; i < NFUT; i++) {
			f[i].data.b = b;
			f[i].data.idx = i;
			f[i].data.round = round;
			f[i].output.ok = 0;
			FUTURE_INIT_EXT(&f[i], burst_task, async_property);
			fp[i] = FUTURE_AS_RUNNABLE(&f[i]);
		}
		runtime_wait_multiple(r, fp, NFUT);
		for (int i = 0; i < NFUT; i++) {
			CHECK_EQ(FUTURE_STATE(&f[i]), FUTURE_STATE_COMPLETE);
			CHECK_EQ(f[i].output.ok, 1);
		}
	}
}

struct sharer {
	struct runtime *r;
	struct batch b;
	pthread_t completer;
	int rounds;
};

static void *
sharer_thread(void *arg)
{
	struct sharer *s = arg;
	run_rounds(s->r, &s->b, s->rounds);
	return NULL;
}

int
main(void)
{
	const char *bs = getenv("MINIASYNC_RUNTIME_BACKSTOP_MS");
	if (bs == NULL || strcmp(bs, "0") != 0)
		fprintf(stderr, "note: without MINIASYNC_RUNTIME_BACKSTOP_MS=0 "
			"a lost wake only costs time and cannot fail this test\n");
	int rounds = test_quick() ? 200 : 3000;

	/* one waiter, one completer */
	struct runtime *r = runtime_new();
	CHECK(r != NULL);
	struct batch b;
	batch_init(&b, 12345);
	pthread_t c;
	CHECK(pthread_create(&c, NULL, completer, &b) == 0);
	run_rounds(r, &b, rounds);
	pthread_mutex_lock(&b.lock);
	b.stop = 1;
	pthread_cond_broadcast(&b.cv);
	pthread_mutex_unlock(&b.lock);
	pthread_join(c, NULL);
	batch_destroy(&b);

	/* two threads sleeping on one runtime, each with its own completer */
	struct sharer s[2];
	for (int i = 0; i < 2; i++) {
		s[i].r = r;
		s[i].rounds = rounds / 2;
		batch_init(&s[i].b, 777u + (unsigned)i);
		CHECK(pthread_create(&s[i].completer, NULL, completer,
			&s[i].b) == 0);
	}
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&t[i], NULL, sharer_thread, &s[i]) == 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		pthread_mutex_lock(&s[i].b.lock);
		s[i].b.stop = 1;
		pthread_cond_broadcast(&s[i].b.cv);
		pthread_mutex_unlock(&s[i].b.lock);
		pthread_join(s[i].completer, NULL);
		batch_destroy(&s[i].b);
	}
	runtime_delete(r);
	return 0;
}
