/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * runtime.c -- drives a set of futures to completion from one thread.
 *
 * Each pass polls every unfinished future once, asynchronous ones first,
 * in the order upstream's runtime gives: before every pass the futures are
 * split by their current FUTURE_PROPERTY_ASYNC, each group keeping the order
 * of the previous pass (upstream stable-sorts the caller's array in place on
 * every spin, by the answer: the rare answers other than 0 and 1, such as a
 * finished chain's -1, are sorted apart and go first or last). A chain's
 * property follows its current step, so it can move between the groups at
 * any pass, even while it stays RUNNING. Only the unfinished futures are
 * asked, all of them after the previous pass ended (a poll may change
 * another future's answer, so asking right after a future's own poll would
 * not be the same order). The split is one walk from one order array into
 * another, no sorting (but of those rare answers), copying back or
 * allocation per pass; the caller's array is never reordered. A future
 * that leaves the order when complete and is then re-armed by another's
 * poll is picked up by a last look at the array before returning.
 *
 * Some property functions are known without calling them: none at all and
 * FUTURE_INIT's (answer 0), the threads mover's (answers 1), and
 * FUTURE_CHAIN_INIT's, whose answer is worked out from the chain's current
 * step. The first three cannot change their answer, so when every
 * unfinished future has one of them and no future changed state in the last
 * pass, the split would give back the same order and is skipped. Any other
 * function (a program's own, or the header's inline copies in a program
 * built without the library or against upstream's headers) is called on
 * every pass.
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
#include <string.h>

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
 * A future with the notifier it is polled with. For a chain with
 * libminiasync's property function: its first step not yet seen done and
 * the bytes of the steps before it (steps only ever become done while the
 * chain runs, so the search for the current one resumes there).
 */
struct slot {
	struct future *f;
	struct future_notifier nt;
	future_has_property_fn ask;	/* seen unknown: call it at once */
	future_has_property_fn step_ask;	/* the same for a chain's step */
	struct future_chain_entry *step;
	size_t step_used;
	int key;	/* an answer other than 0 or 1, for order_odd */
};

/*
 * The order of a pass: the asynchronous group, then the other one. Two of
 * these alternate, so that splitting the next pass's order is one walk
 * over this one, with no copy back. nask: how many of them have a property
 * function that must be called (0: the next split may be skipped).
 * Upstream sorts by the answer itself, so answers other than 0 and 1 (a
 * chain with every step done answers -1) go before (above 1) or after
 * (below 0) both groups: the split stacks them down from odd, the end of
 * `other` (the groups never hold more than n between them), and
 * order_odd puts them in their place.
 */
struct order {
	struct slot **async, **other;
	size_t na, no;
	size_t nask;
	struct slot **odd;
	size_t nodd;
};

int
miniasync_has_property_async(void *future, enum future_property property)
{
	(void)future;
	return property == FUTURE_PROPERTY_ASYNC;
}

/* What FUTURE_INIT installs when the program links the library. */
int
miniasync_has_property_none(void *future, enum future_property property)
{
	(void)future;
	(void)property;
	return 0;
}

/* What FUTURE_CHAIN_INIT installs when the program links the library. */
int
miniasync_chain_has_property(void *future, enum future_property property)
{
	return future_chain_has_property(future, property);
}

/* Never installed by anyone: what slot.ask starts as. */
static int
slot_ask_unset(void *future, enum future_property property)
{
	(void)future;
	(void)property;
	return 0;
}

/*
 * f's answer, without the call when its property function hp is one of the
 * fixed ones (*fixed is then set). A function not known is remembered in
 * *memo, so that calling it again costs one comparison more than calling
 * it blindly.
 */
static inline int
fixed_or_ask(struct future *f, future_has_property_fn hp,
	future_has_property_fn *memo, int *fixed)
{
	if (hp == *memo)
		return hp(f, FUTURE_PROPERTY_ASYNC);
	*fixed = 1;
	if (hp == miniasync_has_property_async)
		return 1;
	if (hp == NULL || hp == miniasync_has_property_none)
		return 0;
	*fixed = 0;
	*memo = hp;
	return hp(f, FUTURE_PROPERTY_ASYNC);
}

/* The answer of a chain step, 0 or 1 as future_chain_has_property gives. */
static inline int
step_async(struct slot *s, struct future *f)
{
	int fixed;
	return fixed_or_ask(f, f->has_property, &s->step_ask, &fixed) != 0;
}

/*
 * The search for a chain's first step not done, from the one found last
 * time (steps only ever become done); NULL when all are. Builds each step
 * it passes if lazy, as get_next_future_chain_entry does.
 */
static __attribute__((noinline)) struct future_chain_entry *
chain_step_find(struct slot *s)
{
	struct future_context *ctx = &s->f->context;
	uint8_t *data = (uint8_t *)future_context_get_data(ctx);
	struct future_chain_entry *e = s->step;
	size_t used = s->step_used;
	if (e == NULL)
		e = (struct future_chain_entry *)data;
	/* built first: an init may mark its step done (passed over then) */
	for (;;) {
		_future_chain_entry_prepare(e, ctx);
		if (!FUTURE_CHAIN_ENTRY_IS_PROCESSED(e))
			break;
		e = get_next_future_chain_entry(ctx, e, data, &used);
		if (e == NULL)
			return NULL;
	}
	s->step = e;
	s->step_used = used;
	return e;
}

/*
 * future_chain_has_property(s->f, FUTURE_PROPERTY_ASYNC): the property of
 * the first step not done (lazy steps built on the way), -1 when all are.
 */
static inline int
chain_async(struct slot *s)
{
	struct future_chain_entry *e = s->step;
	/*
	 * Not polled since FUTURE_CHAIN_INIT: perhaps made anew after it
	 * finished (re-armed) while the runtime holds it, its steps done no
	 * more, so the search starts over.
	 */
	if (s->f->context.state == FUTURE_STATE_IDLE) {
		e = s->step = NULL;
		s->step_used = 0;
	}
	if (e == NULL || FUTURE_CHAIN_ENTRY_IS_PROCESSED(e) || e->init != NULL)
		e = chain_step_find(s);
	return e == NULL ? -1 : step_async(s, &e->future);
}

/*
 * Appends the unfinished futures of [p, end) to o by current property
 * (fixed_or_ask). Only the fixed answers are counted: a chain's answer can
 * change with no change of state, so chains count as asked.
 */
static inline void
order_split(struct order *o, struct slot **p, struct slot **end)
{
	struct slot **a = o->async + o->na, **x = o->other + o->no;
	struct slot **d = o->odd - o->nodd;
	size_t known = 0;
	for (; p != end; p++) {
		struct slot *s = *p;
		struct future *f = s->f;
		if (f->context.state == FUTURE_STATE_COMPLETE)
			continue;
		future_has_property_fn hp = f->has_property;
		int v, fixed = 0;
		if (hp == s->ask)	/* the common case first */
			v = hp(f, FUTURE_PROPERTY_ASYNC);
		else if (hp == miniasync_chain_has_property)
			v = chain_async(s);
		else
			v = fixed_or_ask(f, hp, &s->ask, &fixed);
		known += (size_t)fixed;
		if (v == 1) {
			*a++ = s;
		} else if (v == 0) {
			*x++ = s;
		} else {
			s->key = v;
			*--d = s;
		}
	}
	size_t added = (size_t)(a - o->async) - o->na +
		(size_t)(x - o->other) - o->no + (size_t)(o->odd - d) - o->nodd;
	o->nask += added - known;
	o->na = (size_t)(a - o->async);
	o->no = (size_t)(x - o->other);
	o->nodd = (size_t)(o->odd - d);
}

/*
 * Stable merge sort of k slots by key, largest first, between a and b
 * (each with room for k); returns the one that holds the result.
 */
static struct slot **
odd_sort(struct slot **a, struct slot **b, size_t k)
{
	for (size_t w = 1; w < k; w *= 2) {
		for (size_t lo = 0; lo < k; lo += 2 * w) {
			size_t mid = lo + w < k ? lo + w : k;
			size_t hi = lo + 2 * w < k ? lo + 2 * w : k;
			size_t i = lo, j = mid, t = lo;
			while (i < mid && j < hi)
				b[t++] = a[j]->key > a[i]->key ? a[j++] : a[i++];
			while (i < mid)
				b[t++] = a[i++];
			while (j < hi)
				b[t++] = a[j++];
		}
		struct slot **x = a;
		a = b;
		b = x;
	}
	return a;
}

/*
 * Puts the slots the split stacked at o->odd in upstream's place: sorted
 * by answer (stably: in the order they were met), those above 1 before the
 * asynchronous group, the others after the last group. t1, t2: room for
 * n slots each, free.
 */
static __attribute__((noinline)) void
order_odd(struct order *o, struct slot **t1, struct slot **t2)
{
	size_t k = o->nodd;
	for (size_t i = 0; i < k; i++)
		t1[i] = o->odd[-1 - (ptrdiff_t)i];
	struct slot **r = odd_sort(t1, t2, k);
	size_t hi = 0;
	while (hi < k && r[hi]->key > 0)
		hi++;
	memmove(o->async + hi, o->async, o->na * sizeof(*o->async));
	memcpy(o->async, r, hi * sizeof(*r));
	o->na += hi;
	memcpy(o->other + o->no, r + hi, (k - hi) * sizeof(*r));
	o->no += k - hi;
	o->nodd = 0;
}

/* What a pass saw, one bit each. */
#define PASS_PROGRESS 1u	/* some future changed state */
#define PASS_LEFT 2u		/* some future is unfinished */
#define PASS_REPOLL 4u		/* ... and will not call our waker */

static inline unsigned
poll_run(struct slot **p, struct slot **end)
{
	unsigned seen = 0;
	unsigned other = 0;	/* non-zero: some notifier is not the waker */
	for (; p != end; p++) {
		struct slot *s = *p;
		struct future *f = s->f;
		enum future_state before = f->context.state;
		if (before == FUTURE_STATE_COMPLETE)
			continue;	/* finished by another future's poll */
		enum future_state now = f->task(&f->context, &s->nt);
		f->context.state = now;
		seen |= (now != before) * PASS_PROGRESS;
		if (now != FUTURE_STATE_COMPLETE) {
			seen |= PASS_LEFT;
			other |= (unsigned)s->nt.notifier_used ^
				FUTURE_NOTIFIER_WAKER;
		}
	}
	return seen | (other != 0) * PASS_REPOLL;
}

/*
 * After a pass: 1 when every future is complete. Otherwise spins, yields
 * or sleeps as the comment at the top says, and returns 0 for the next.
 */
static inline unsigned
pass_end(struct runtime *r, unsigned seen, uint32_t gen, uint64_t *idle_since)
{
	if (!(seen & PASS_LEFT))
		return 1;
	if (seen & PASS_PROGRESS) {
		*idle_since = 0;
		return 0;
	}
	uint64_t t = ma_now_ns();
	if (*idle_since == 0)
		*idle_since = t;
	if (t - *idle_since < RT_SPIN_NS) {
		ma_pause();
		return 0;
	}
	if (seen & PASS_REPOLL) {
		/* must poll again, but let others run meanwhile */
		sched_yield();
		return 0;
	}
	runtime_sleep(r, gen);
	*idle_since = 0;
	return 0;
}

/*
 * ords has room for 4n pointers: two orders of two groups each. The first
 * pass splits the caller's order, so it all starts in one group.
 */
static void
wait_some(struct runtime *r, struct future *futs[], size_t n,
	struct slot **ords, struct slot *slots)
{
	struct order cur = { ords, ords + n, 0, 0, 1, ords + 2 * n, 0 };
	struct order next = { ords + 2 * n, ords + 3 * n, 0, 0, 0,
		ords + 4 * n, 0 };
	for (size_t i = 0; i < n; i++) {
		if (futs[i]->context.state == FUTURE_STATE_COMPLETE)
			continue;
		struct slot *s = &slots[i];
		s->f = futs[i];
		s->nt.waker.data = r;
		s->nt.waker.wake = runtime_wake;
		s->nt.poller.ptr_to_monitor = NULL;
		s->nt.notifier_used = FUTURE_NOTIFIER_NONE;
		s->nt.padding = 0;
		s->ask = slot_ask_unset;
		s->step_ask = slot_ask_unset;
		s->step = NULL;
		s->step_used = 0;
		cur.other[cur.no++] = s;
	}

	uint64_t idle_since = 0;
	unsigned seen = PASS_PROGRESS;
	for (;;) {
		uint32_t gen = runtime_gen(r);

		/*
		 * One future has no order (upstream's sort asks nothing). With
		 * no answer to ask and no future finished, the split would
		 * give back cur unchanged.
		 */
		if (cur.na + cur.no > 1 &&
				(cur.nask != 0 || (seen & PASS_PROGRESS))) {
			next.na = next.no = next.nask = 0;
			order_split(&next, cur.async, cur.async + cur.na);
			order_split(&next, cur.other, cur.other + cur.no);
			if (next.nodd != 0)
				order_odd(&next, cur.async, cur.other);
			struct order t = cur;
			cur = next;
			next = t;
		}
		seen = poll_run(cur.async, cur.async + cur.na) |
			poll_run(cur.other, cur.other + cur.no);
		if (pass_end(r, seen, gen, &idle_since))
			return;
	}
}

/*
 * wait_some without bookkeeping, for when there is no memory for it: one
 * notifier (as upstream's runtime has) and three walks over the caller's
 * array per pass, by the sign of the answer (asynchronous futures first),
 * each property asked just before that future's turn. Only a property that
 * changes between the walks, or answers above 1 (not put before the 1s
 * here), makes this differ from wait_some (a changed one is then polled
 * twice in the pass, or waits for the next one); otherwise every
 * unfinished future is polled once per pass. Finishing the array in
 * batches instead would never poll a later future that an earlier one
 * waits for.
 */
static void
wait_unordered(struct runtime *r, struct future *futs[], size_t n)
{
	struct future_notifier nt;
	nt.waker.data = r;
	nt.waker.wake = runtime_wake;
	nt.poller.ptr_to_monitor = NULL;
	nt.padding = 0;

	uint64_t idle_since = 0;
	for (;;) {
		uint32_t gen = runtime_gen(r);
		unsigned seen = 0;
		/* answers above 0, then 0, then below (a finished chain's) */
		for (int sign = 1; sign >= -1; sign--) {
			for (size_t i = 0; i < n; i++) {
				struct future *f = futs[i];
				enum future_state before = f->context.state;
				if (before == FUTURE_STATE_COMPLETE)
					continue;
				int v = future_has_property(f,
					FUTURE_PROPERTY_ASYNC);
				if ((v > 0) - (v < 0) != sign)
					continue;
				nt.notifier_used = FUTURE_NOTIFIER_NONE;
				enum future_state now = future_poll(f, &nt);
				seen |= (now != before) * PASS_PROGRESS;
				if (now != FUTURE_STATE_COMPLETE)
					seen |= PASS_LEFT | (nt.notifier_used !=
						FUTURE_NOTIFIER_WAKER) *
						PASS_REPOLL;
			}
		}
		if (pass_end(r, seen, gen, &idle_since))
			return;
	}
}

/* Whether every future of futs[0 .. n) is complete. */
static int
all_complete(struct future *futs[], size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (futs[i]->context.state != FUTURE_STATE_COMPLETE)
			return 0;
	return 1;
}

/*
 * A future complete at the start of the wait, or when a pass was split, is
 * not polled again; another future's poll may make it unfinished once more
 * (re-arm it), so the wait ends only when a last look at the whole array
 * finds every future complete.
 */
void
runtime_wait_multiple(struct runtime *r, struct future *futs[], size_t nfuts)
{
	if (all_complete(futs, nfuts))
		return;

	if (nfuts <= RT_STACK_FUTS) {
		struct slot *ords[4 * RT_STACK_FUTS];
		struct slot slots[RT_STACK_FUTS];
		do {
			wait_some(r, futs, nfuts, ords, slots);
		} while (!all_complete(futs, nfuts));
		return;
	}

	struct slot **ords = malloc(4 * nfuts * sizeof(*ords));
	struct slot *slots = malloc(nfuts * sizeof(*slots));
	do {
		if (ords != NULL && slots != NULL)
			wait_some(r, futs, nfuts, ords, slots);
		else
			wait_unordered(r, futs, nfuts);
	} while (!all_complete(futs, nfuts));
	free(ords);
	free(slots);
}

void
runtime_wait(struct runtime *r, struct future *fut)
{
	if (fut->context.state == FUTURE_STATE_COMPLETE)
		return;
	runtime_wait_multiple(r, &fut, 1);
}
