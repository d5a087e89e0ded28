/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * runtime.c -- drives a set of futures to completion from one thread.
 *
 * Each pass polls every unfinished future once, asynchronous ones first,
 * in the order upstream's runtime gives: before every pass the futures are
 * split by their current FUTURE_PROPERTY_ASYNC, each group keeping the order
 * of the previous pass (upstream stable-sorts the caller's array in place on
 * every spin). A chain's property follows its current step, so it can move
 * between the groups at any pass, even while it stays RUNNING. The split is
 * one linear walk of an index array, no sorting and no allocation per pass;
 * the caller's array is never reordered.
 *
 * When a pass makes no progress:
 *  - if some future said FUTURE_NOTIFIER_NONE or POLLER, it must be polled
 *    again: we pause for a few microseconds, then yield the CPU per pass;
 *  - if all of them promised to call our waker, we spin a few microseconds
 *    and then sleep on a futex. The waker bumps a generation counter; we
 *    sample it before the pass and sleep only if it is unchanged, so a wake
 *    that lands between the pass and the sleep is never lost.
 *
 * The counter's low bit says "a thread sleeps on this value". A wake clears
 * it and makes the futex system call only when it was set, so a burst of
 * wakes (a PAGE sync completing 32 futures at once) costs one system call,
 * not one per future.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>

#include "libminiasync/runtime.h"
#include "internal.h"
#include "common/env.h"

/* Busy-wait budget before sleeping (waker futures) or yielding (others). */
#define RT_SPIN_NS 5000ull
/* Insurance against a future that reports WAKER and then never wakes us. */
#define RT_BACKSTOP_NS 100000000ull
/* Futures handled with on-stack bookkeeping (more: malloc). */
#define RT_STACK_FUTS 32

/* gen advances by 2 per wake; this bit: somebody sleeps on its value */
#define RT_SLEEPING 1u

struct runtime {
	uint32_t gen;
	uint64_t backstop_ns;	/* longest sleep; 0: until woken */
};

static void
runtime_wake(void *data)
{
	struct runtime *r = data;
	uint32_t old = __atomic_load_n(&r->gen, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(&r->gen, &old,
			(old & ~RT_SLEEPING) + 2, 1, __ATOMIC_SEQ_CST,
			__ATOMIC_RELAXED))
		;
	if (old & RT_SLEEPING)
		ma_futex_wake(&r->gen, INT_MAX);
}

/* The value to compare against after a pass (without the sleeping bit). */
static inline uint32_t
runtime_gen(struct runtime *r)
{
	return __atomic_load_n(&r->gen, __ATOMIC_SEQ_CST) & ~RT_SLEEPING;
}

/*
 * Digits only, in range. Anything else (garbage, a sign, an overflow) is
 * ignored: read as 0 it would silently turn the backstop off.
 */
static int
env_ms(const char *v, uint64_t *ms)
{
	uint64_t x = 0;
	if (*v == '\0')
		return -1;
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9')
			return -1;
		if (x > (UINT64_MAX / 1000000ull - 9) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*v - '0');
	}
	*ms = x;
	return 0;
}

struct runtime *
runtime_new(void)
{
	struct runtime *r = malloc(sizeof(*r));
	if (r == NULL)
		return NULL;
	r->gen = 0;
	r->backstop_ns = RT_BACKSTOP_NS;
	/* tests set 0, so that a lost wake hangs instead of costing 100 ms */
	const char *b = env_get("MINIASYNC_RUNTIME_BACKSTOP_MS");
	uint64_t ms;
	if (b != NULL && env_ms(b, &ms) == 0)
		r->backstop_ns = ms * 1000000ull;
	MA_NOCHECK(r, sizeof(*r));
	return r;
}

void
runtime_delete(struct runtime *r)
{
	free(r);
}

/*
 * Sleeps unless a wake came after `seen` was sampled. Setting the bit on
 * the unchanged value is what obliges the next waker to call futex_wake;
 * if the value moved meanwhile, the CAS fails and we go poll again.
 */
static void
runtime_sleep(struct runtime *r, uint32_t seen)
{
	uint32_t cur = __atomic_load_n(&r->gen, __ATOMIC_SEQ_CST);
	if ((cur & ~RT_SLEEPING) != seen)
		return;
	if (!(cur & RT_SLEEPING) && !__atomic_compare_exchange_n(&r->gen,
			&cur, cur | RT_SLEEPING, 0, __ATOMIC_SEQ_CST,
			__ATOMIC_SEQ_CST))
		return;
	ma_futex_wait(&r->gen, seen | RT_SLEEPING, r->backstop_ns);
}

/*
 * Reorders order[0..m) for the next pass: unfinished asynchronous futures
 * first, then the other unfinished ones, each group in its previous order
 * (a stable partition; finished futures drop out, they are never polled
 * again). scratch has room for m entries. Returns how many remain.
 */
static size_t
order_pass(struct future *futs[], size_t *order, size_t m, size_t *scratch)
{
	/* one future has no order (upstream's sort asks nothing either) */
	if (m == 1)
		return futs[order[0]]->context.state != FUTURE_STATE_COMPLETE;
	size_t nasync = 0, nother = 0;
	for (size_t k = 0; k < m; k++) {
		size_t i = order[k];
		struct future *f = futs[i];
		if (f->context.state == FUTURE_STATE_COMPLETE)
			continue;
		/* nasync <= k: writing in place never overtakes the reading */
		if (future_has_property(f, FUTURE_PROPERTY_ASYNC) == 1)
			order[nasync++] = i;
		else
			scratch[nother++] = i;
	}
	for (size_t k = 0; k < nother; k++)
		order[nasync + k] = scratch[k];
	return nasync + nother;
}

/* order[] has room for 2n entries; the upper half is scratch. */
static void
wait_some(struct runtime *r, struct future *futs[], size_t n,
	size_t *order, struct future_notifier *nts)
{
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (futs[i]->context.state == FUTURE_STATE_COMPLETE)
			continue;
		order[m++] = i;
		nts[i].waker.data = r;
		nts[i].waker.wake = runtime_wake;
		nts[i].poller.ptr_to_monitor = NULL;
		nts[i].notifier_used = FUTURE_NOTIFIER_NONE;
		nts[i].padding = 0;
	}

	uint64_t idle_since = 0;
	for (;;) {
		uint32_t gen = runtime_gen(r);
		int progressed = 0, repoll = 0;
		size_t left = 0;

		m = order_pass(futs, order, m, order + n);
		for (size_t k = 0; k < m; k++) {
			struct future *f = futs[order[k]];
			enum future_state before = f->context.state;
			if (before == FUTURE_STATE_COMPLETE)
				continue;
			struct future_notifier *nt = &nts[order[k]];
			enum future_state now = future_poll(f, nt);
			if (now != before)
				progressed = 1;
			if (now == FUTURE_STATE_COMPLETE)
				continue;
			left++;
			if (nt->notifier_used != FUTURE_NOTIFIER_WAKER)
				repoll = 1;
		}
		if (left == 0)
			return;
		if (progressed) {
			idle_since = 0;
			continue;
		}

		uint64_t t = ma_now_ns();
		if (idle_since == 0)
			idle_since = t;
		if (t - idle_since < RT_SPIN_NS) {
			ma_pause();
			continue;
		}
		if (repoll) {
			/* must poll again, but let others run meanwhile */
			sched_yield();
			continue;
		}
		runtime_sleep(r, gen);
		idle_since = 0;
	}
}

void
runtime_wait_multiple(struct runtime *r, struct future *futs[], size_t nfuts)
{
	size_t i;
	for (i = 0; i < nfuts; i++)
		if (futs[i]->context.state != FUTURE_STATE_COMPLETE)
			break;
	if (i == nfuts)
		return;

	if (nfuts <= RT_STACK_FUTS) {
		size_t order[2 * RT_STACK_FUTS];
		struct future_notifier nts[RT_STACK_FUTS];
		wait_some(r, futs, nfuts, order, nts);
		return;
	}

	size_t *order = malloc(2 * nfuts * sizeof(*order));
	struct future_notifier *nts = malloc(nfuts * sizeof(*nts));
	if (order != NULL && nts != NULL) {
		wait_some(r, futs, nfuts, order, nts);
	} else {
		/* no memory for the bookkeeping: finish them in batches */
		size_t sorder[2 * RT_STACK_FUTS];
		struct future_notifier snts[RT_STACK_FUTS];
		for (size_t b = 0; b < nfuts; b += RT_STACK_FUTS) {
			size_t cnt = nfuts - b < RT_STACK_FUTS ?
				nfuts - b : RT_STACK_FUTS;
			wait_some(r, futs + b, cnt, sorder, snts);
		}
	}
	free(order);
	free(nts);
}

void
runtime_wait(struct runtime *r, struct future *fut)
{
	if (fut->context.state == FUTURE_STATE_COMPLETE)
		return;
	runtime_wait_multiple(r, &fut, 1);
}
