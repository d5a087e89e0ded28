/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * miniasync_order.c -- the order in which runtime_wait_multiple polls, as
 * upstream's runtime gives it: before every pass the unfinished futures are
 * split by their current FUTURE_PROPERTY_ASYNC, asynchronous ones first,
 * each group in the previous pass's order. A chain's property is that of its
 * current step, so a chain moves between the groups while it stays RUNNING.
 * Every poll is logged; the checks compare whole logs (the steps and the
 * log: tests/common/helpers_steps.c).
 */
#include <libminiasync.h>
#include "helpers.h"

/* Waits for three steps listed in this order, the log started afresh. */
static void
wait3(struct runtime *rt, struct test_step_future *f0,
	struct test_step_future *f1, struct test_step_future *f2)
{
	struct future *futs[] = { FUTURE_AS_RUNNABLE(f0),
		FUTURE_AS_RUNNABLE(f1), FUTURE_AS_RUNNABLE(f2) };
	test_wait_logged(rt, futs, 3);
}

/* `passes` copies of the pass `pass[0..k)` appended to want. */
static size_t
repeat(int *want, size_t at, const int *pass, size_t k, int passes)
{
	for (int p = 0; p < passes; p++)
		for (size_t i = 0; i < k; i++)
			want[at++] = pass[i];
	return at;
}

/* Plain futures: the async one first; the caller's array is untouched. */
static void
test_plain(struct runtime *rt)
{
	struct test_step_future s1 = test_step(1, 3, 0),
		a2 = test_step(2, 3, 1), s3 = test_step(3, 3, 0);
	struct future *futs[] = { FUTURE_AS_RUNNABLE(&s1),
		FUTURE_AS_RUNNABLE(&a2), FUTURE_AS_RUNNABLE(&s3) };
	struct future *copy[3];
	memcpy(copy, futs, sizeof(futs));
	test_wait_logged(rt, futs, 3);
	static const int pass[] = { 2, 1, 3 };
	int want[9];
	size_t n = repeat(want, 0, pass, 3, 3);
	test_log_check("plain", want, n);
	CHECK(memcmp(copy, futs, sizeof(futs)) == 0);
	CHECK(s1.output.done && a2.output.done && s3.output.done);
}

/*
 * Chains whose current step changes from sync to async (and back) while the
 * chain stays RUNNING: reordered at the very next pass. Steps need K polls;
 * a chain polls its next step in the poll that finishes the previous one.
 *   X = (sync 10, async 11), Y = (async 20, sync 21), Z = (sync 30, async 31)
 * K-1 passes of Y X Z; the K-th pass (still Y X Z) finishes each first
 * step and polls its second step once; then, with X and Z async and Y
 * sync, K-1 passes of X Z Y.
 */
static void
test_chains(struct runtime *rt)
{
	enum { K = 4 };
	struct test_pair_future x, y, z;
	test_pair_init(&x, test_step(10, K, 0), test_step(11, K, 1));
	test_pair_init(&y, test_step(20, K, 1), test_step(21, K, 0));
	test_pair_init(&z, test_step(30, K, 0), test_step(31, K, 1));
	struct future *futs[] = { FUTURE_AS_RUNNABLE(&x),
		FUTURE_AS_RUNNABLE(&y), FUTURE_AS_RUNNABLE(&z) };
	test_wait_logged(rt, futs, 3);

	int want[64];
	static const int first[] = { 20, 10, 30 };
	size_t n = repeat(want, 0, first, 3, K - 1);
	/* the pass that finishes each first step polls its second step too */
	static const int turn[] = { 20, 21, 10, 11, 30, 31 };
	n = repeat(want, n, turn, 6, 1);
	static const int second[] = { 11, 31, 21 };
	n = repeat(want, n, second, 3, K - 1);
	test_log_check("chains", want, n);
	CHECK(x.output.done && y.output.done && z.output.done);
	CHECK_EQ(future_has_property(&x, FUTURE_PROPERTY_ASYNC), -1);
}

/*
 * Properties flipped by another future take effect at the next pass, and
 * each group keeps the previous pass's order, not the caller's.
 */
static void
test_flip(struct runtime *rt)
{
	/* C finishes in pass 1 and makes A async: A goes ahead of B */
	int a_async = 0;
	struct test_step_future c = test_step(3, 1, 0), b = test_step(2, 4, 0),
		a = test_step(1, 4, 0);
	test_step_flips(&c, &a, &a_async, 1, 0);
	wait3(rt, &c, &b, &a);
	static const int turn_async[] = { 3, 2, 1, 1, 2, 1, 2, 1, 2 };
	test_log_check("turns async", turn_async, 9);

	/*
	 * B (async) runs ahead of A (sync) although listed after it. C ends in
	 * pass 2 and makes B sync: both are sync now and keep the order of
	 * the previous pass, B then A (upstream sorts its array in place and
	 * stably, so the caller's order A B does not come back).
	 */
	int b_async = 1;
	a = test_step(1, 6, 0);
	b = test_step(2, 6, 1);
	c = test_step(3, 2, 0);
	test_step_flips(&c, &b, &b_async, 0, 0);
	wait3(rt, &a, &b, &c);
	static const int p12[] = { 2, 1, 3 };
	static const int rest[] = { 2, 1 };
	int want[32];
	size_t n = repeat(want, 0, p12, 3, 2);
	n = repeat(want, n, rest, 2, 4);
	test_log_check("keeps order", want, n);
	CHECK(a.output.done && b.output.done && c.output.done);
}

/*
 * A property flipped by a future polled later in the same pass, while
 * nobody changes state: the next pass must see it. (A runtime that asks a
 * future's property right after polling it, or only when some state
 * changed, keeps 2 1 3.)
 */
static void
test_later_flip(struct runtime *rt)
{
	int a_async = 0;
	struct test_step_future b = test_step(2, 5, 0), a = test_step(1, 5, 0),
		c = test_step(3, 5, 0);
	test_step_flips(&c, &a, &a_async, 1, 3);	/* on C's second poll */
	wait3(rt, &b, &a, &c);
	static const int before[] = { 2, 1, 3 }, after[] = { 1, 2, 3 };
	int want[16];
	size_t n = repeat(want, 0, before, 3, 2);
	n = repeat(want, n, after, 3, 3);
	test_log_check("later flip", want, n);
}

/*
 * Plain futures (no chains) whose own poll changes their answer while they
 * stay RUNNING: X turns async on its 2nd poll, Z turns sync on its 3rd.
 */
static void
test_self_flip(struct runtime *rt)
{
	int x_async = 0, z_async = 1;
	struct test_step_future y = test_step(2, 6, 0), x = test_step(1, 6, 0),
		z = test_step(3, 6, 0);
	test_step_flips(&x, &x, &x_async, 1, 4);
	test_step_flips(&z, &z, &z_async, 0, 3);
	wait3(rt, &y, &x, &z);
	static const int p12[] = { 3, 2, 1 }, p3[] = { 3, 1, 2 },
		rest[] = { 1, 3, 2 };
	int want[32];
	size_t n = repeat(want, 0, p12, 3, 2);
	n = repeat(want, n, p3, 3, 1);
	n = repeat(want, n, rest, 3, 3);
	test_log_check("self flip", want, n);
}

/*
 * Async and sync futures finishing at different passes, one finished in
 * the middle of a pass by another future's poll (never polled again by
 * the runtime), one complete from the start (never polled, no property
 * asked: it has none) and one running without a property function (sync).
 */
static void
test_mid_pass(struct runtime *rt)
{
	struct test_step_future q = test_step(2, 4, 0),
		p = test_step(1, 2, 1), s = test_step(4, 1, 0),
		e = test_step(5, 3, 0), d = test_step(6, 2, 1),
		r = test_step(3, 3, 1), nf = test_step(7, 2, 0), k;
	FUTURE_INIT_COMPLETE(&k);
	FUTURE_INIT_EXT(&nf, test_step_task, NULL);
	d.data.push = FUTURE_AS_RUNNABLE(&e);
	struct future *futs[] = { FUTURE_AS_RUNNABLE(&q),
		FUTURE_AS_RUNNABLE(&k), FUTURE_AS_RUNNABLE(&p),
		FUTURE_AS_RUNNABLE(&s), FUTURE_AS_RUNNABLE(&e),
		FUTURE_AS_RUNNABLE(&d), FUTURE_AS_RUNNABLE(&r),
		FUTURE_AS_RUNNABLE(&nf) };
	test_wait_logged(rt, futs, 8);
	/* 6 5: D polls E; in pass 2 that poll finishes E before its turn */
	static const int want[] = { 1, 6, 5, 3, 2, 4, 5, 7,
		1, 6, 5, 3, 2, 7,
		3, 2,
		2 };
	test_log_check("mid pass", want, sizeof(want) / sizeof(want[0]));
	CHECK(q.output.done && p.output.done && s.output.done &&
		e.output.done && d.output.done && r.output.done &&
		nf.output.done);
}

/*
 * More futures than the runtime keeps on its stack, fixed properties,
 * different lengths: the log must equal a straightforward model of
 * upstream (stable partition of the surviving futures before each pass).
 */
#define MANY 40

/*
 * One pass of the models: the futures pass[0..k) are polled in this order
 * (appended to want at *n); those with polls left after it go to order, in
 * the same order. Returns how many did.
 */
static int
model_pass(int *want, size_t *n, const int *pass, int k, int *left,
	int *order)
{
	int m = 0;
	for (int j = 0; j < k; j++) {
		CHECK(*n < TEST_LOG_MAX);
		want[(*n)++] = pass[j];
		if (--left[pass[j]] > 0)
			order[m++] = pass[j];
	}
	return m;
}

static void
test_many(struct runtime *rt)
{
	static struct test_step_future f[MANY];
	struct future *futs[MANY];
	int left[MANY], order[MANY], tmp[MANY];
	for (int i = 0; i < MANY; i++) {
		f[i] = test_step(i, 1 + (i * 7) % 5, i % 3 == 0);
		futs[i] = FUTURE_AS_RUNNABLE(&f[i]);
		left[i] = f[i].data.polls;
		order[i] = i;
	}
	static int want[TEST_LOG_MAX];
	size_t n = 0;
	int m = MANY;
	while (m > 0) {
		int k = 0;
		for (int g = 1; g >= 0; g--)
			for (int j = 0; j < m; j++)
				if ((order[j] % 3 == 0) == g)
					tmp[k++] = order[j];
		m = model_pass(want, &n, tmp, k, left, order);
	}
	test_wait_logged(rt, futs, MANY);
	test_log_check("many", want, n);
}

/*
 * Upstream sorts by the value has_property answers, largest first, not
 * by "is it 1": a function that answers 2 (a flag bit, say) goes ahead of
 * those answering 1, and -1 (what future_chain_has_property answers once
 * every step is done) after those answering 0. Each future's answer here
 * follows its own poll count through VALS, so the order changes from pass
 * to pass; the log must equal a stable sort by value before every pass.
 */
static const int Vals[] = { 2, -1, 0, 1, 3, -2, 1, 0 };
#define NVALS ((int)(sizeof(Vals) / sizeof(Vals[0])))

static int
value_property(void *fut, enum future_property p)
{
	struct test_step_future *f = fut;
	if (p != FUTURE_PROPERTY_ASYNC)
		return 0;
	return Vals[(f->data.id * 3 + f->data.polls) % NVALS];
}

static void
check_values(struct runtime *rt, int nf)
{
	static struct test_step_future f[MANY];
	struct future *futs[MANY];
	int order[MANY], tmp[MANY], key[MANY];
	CHECK(nf <= MANY);
	for (int i = 0; i < nf; i++) {
		f[i] = test_step(i, 1 + (i * 5) % 7, 0);
		f[i].base.has_property = value_property;
		futs[i] = FUTURE_AS_RUNNABLE(&f[i]);
		order[i] = i;
	}
	/* the model: polls left per future, a stable insertion sort */
	int left[MANY];
	for (int i = 0; i < nf; i++)
		left[i] = f[i].data.polls;
	static int want[TEST_LOG_MAX];
	size_t n = 0;
	int m = nf;
	while (m > 0) {
		for (int j = 0; j < m; j++) {
			int id = order[j];
			key[id] = Vals[(id * 3 + left[id]) % NVALS];
		}
		for (int j = 0; j < m; j++) {
			int id = order[j], k = j;
			while (k > 0 && key[tmp[k - 1]] < key[id]) {
				tmp[k] = tmp[k - 1];
				k--;
			}
			tmp[k] = id;
		}
		m = model_pass(want, &n, tmp, m, left, order);
	}
	test_wait_logged(rt, futs, (size_t)nf);
	test_log_check(nf > 32 ? "values (many)" : "values", want, n);
	for (int i = 0; i < nf; i++)
		CHECK(f[i].output.done);
}

/*
 * A chain whose steps are all flagged done before its first poll answers
 * -1: it is polled after a future answering 0 (which sees it unfinished).
 */
static struct test_pair_future *Watched;
static int Watched_state = -1;

static enum future_state
watch_task(struct future_context *ctx, struct future_notifier *n)
{
	if (Watched_state < 0)
		Watched_state = (int)FUTURE_STATE(Watched);
	return test_step_task(ctx, n);
}

static void
test_values(struct runtime *rt)
{
	check_values(rt, 12);
	check_values(rt, MANY);

	struct test_pair_future c;
	test_pair_init(&c, test_step(10, 1, 1), test_step(11, 1, 1));
	c.data.a.flags = (void *)((uintptr_t)c.data.a.flags |
		FUTURE_CHAIN_FLAG_ENTRY_PROCESSED);
	c.data.b.flags = (void *)((uintptr_t)c.data.b.flags |
		FUTURE_CHAIN_FLAG_ENTRY_PROCESSED);
	CHECK_EQ(future_has_property(&c, FUTURE_PROPERTY_ASYNC), -1);
	struct test_step_future s = test_step(1, 2, 0);
	s.base.task = watch_task;
	Watched = &c;
	struct future *futs[] = { FUTURE_AS_RUNNABLE(&c),
		FUTURE_AS_RUNNABLE(&s) };
	test_wait_logged(rt, futs, 2);
	static const int want[] = { 1, 1 };
	test_log_check("done chain", want, 2);
	CHECK_EQ(Watched_state, FUTURE_STATE_IDLE);
	CHECK_EQ(FUTURE_STATE(&c), FUTURE_STATE_COMPLETE);
	CHECK(!c.output.done);
}

/*
 * A future that another future's poll makes unfinished again (re-arms)
 * after the runtime saw it complete, or one complete from the start, must
 * be complete when runtime_wait_multiple returns. (Upstream polls the
 * re-armed one at its place in the same pass; here it comes after the
 * others have finished: only the results are checked.)
 */
static void
test_rearm(struct runtime *rt)
{
	/* B complete from the start, re-armed on A's first poll */
	struct test_step_future a = test_step(1, 3, 0), b = test_step(2, 1, 0);
	FUTURE_STATE(&b) = FUTURE_STATE_COMPLETE;
	a.data.rearm = &b;
	a.data.rearm_left = 3;
	struct future *futs[] = { FUTURE_AS_RUNNABLE(&a),
		FUTURE_AS_RUNNABLE(&b) };
	test_wait_logged(rt, futs, 2);
	CHECK_EQ(FUTURE_STATE(&a), FUTURE_STATE_COMPLETE);
	CHECK_EQ(FUTURE_STATE(&b), FUTURE_STATE_COMPLETE);
	CHECK(a.output.done && b.output.done);
	CHECK_EQ(test_log_n, 5);

	/* B finishes in pass 1, A re-arms it on its last poll */
	a = test_step(1, 3, 0);
	b = test_step(2, 1, 1);
	a.data.rearm = &b;
	a.data.rearm_left = 1;
	futs[0] = FUTURE_AS_RUNNABLE(&b);
	futs[1] = FUTURE_AS_RUNNABLE(&a);
	test_wait_logged(rt, futs, 2);
	CHECK_EQ(FUTURE_STATE(&b), FUTURE_STATE_COMPLETE);
	CHECK(a.output.done && b.output.done);
	CHECK_EQ(test_log_n, 6);
}

/*
 * A chain that finishes and is re-armed (steps as new, state IDLE) in the
 * same pass by a future polled after it: its property is its first step's
 * again at the next pass, not that of the step it had reached.
 *   A (async), N, M (sync), C = (sync 12: 1 poll, sync 11: 2 polls) and,
 *   re-armed by M on its 2nd poll (pass 2, after C finished),
 *   C = (async 10: 1 poll, sync 11: 2 polls).
 */
static struct test_pair_future Rearmed;

static void
rearm_chain(void)
{
	test_pair_init(&Rearmed, test_step(10, 1, 1), test_step(11, 2, 0));
}

static void
test_rearm_chain(struct runtime *rt)
{
	struct test_step_future a = test_step(1, 5, 1), n = test_step(2, 5, 0),
		m = test_step(3, 5, 0);
	test_pair_init(&Rearmed, test_step(12, 1, 0), test_step(11, 2, 0));
	m.data.hook = rearm_chain;
	m.data.hook_left = 4;
	struct future *futs[] = { FUTURE_AS_RUNNABLE(&a),
		FUTURE_AS_RUNNABLE(&n), FUTURE_AS_RUNNABLE(&Rearmed),
		FUTURE_AS_RUNNABLE(&m) };
	test_wait_logged(rt, futs, 4);
	static const int want[] = { 1, 2, 12, 11, 3, 1, 2, 11, 3,
		1, 10, 11, 2, 3, 1, 11, 2, 3, 1, 2, 3 };
	test_log_check("re-armed chain", want, sizeof(want) / sizeof(want[0]));
	CHECK(Rearmed.output.done);
}

/*
 * A lazy step whose init marks the step done (nothing to do) is passed
 * over, as upstream's future_chain_has_property builds a step before it
 * looks at the step's flags: the chain's property is the next step's.
 *   N (sync), C = (lazy 20, async but marked done by its init; sync 21).
 */
static void
skip_init(void *fut, struct future_context *chain, void *arg)
{
	(void)chain;
	struct test_step_future *f = fut;
	*f = test_step(20, 1, 1);
	uint64_t *flags = arg;
	*flags |= FUTURE_CHAIN_FLAG_ENTRY_PROCESSED;
}

static void
skip_chain(struct test_pair_future *c)
{
	FUTURE_CHAIN_ENTRY_LAZY_INIT(&c->data.a, skip_init, &c->data.a.flags,
		NULL, NULL);
	FUTURE_CHAIN_ENTRY_INIT(&c->data.b, test_step(21, 2, 0), test_pair_done,
		NULL);
	c->output.done = 0;
	FUTURE_CHAIN_INIT(c);
}

static void
test_lazy_skip(struct runtime *rt)
{
	struct test_pair_future c;
	skip_chain(&c);
	CHECK_EQ(future_has_property(&c, FUTURE_PROPERTY_ASYNC), 0);
	skip_chain(&c);
	struct test_step_future n = test_step(1, 2, 0);
	struct future *futs[] = { FUTURE_AS_RUNNABLE(&n),
		FUTURE_AS_RUNNABLE(&c) };
	test_wait_logged(rt, futs, 2);
	static const int want[] = { 1, 21, 1, 21 };
	test_log_check("lazy skip", want, 4);
	CHECK(c.output.done);
}

int
main(void)
{
	struct runtime *rt = runtime_new();
	CHECK(rt != NULL);
	test_plain(rt);
	test_chains(rt);
	test_flip(rt);
	test_later_flip(rt);
	test_self_flip(rt);
	test_mid_pass(rt);
	test_many(rt);
	test_values(rt);
	test_rearm(rt);
	test_rearm_chain(rt);
	test_lazy_skip(rt);
	runtime_delete(rt);
	printf("ok\n");
	return 0;
}
