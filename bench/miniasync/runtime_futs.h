/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * runtime_futs.h -- the trivial futures of the "runtime" suite, shared with
 * runtime_ir (instruction counts under callgrind). See suite_runtime.c.
 */
#ifndef RUNTIME_FUTS_H
#define RUNTIME_FUTS_H

#include <libminiasync.h>

#define SPIN_POLLS 16

struct spin_data {
	int left;
	int async;
	int wake;	/* call the waker on every poll that stays RUNNING */
};
struct spin_output {
	int done;
};
FUTURE(spin_fut, struct spin_data, struct spin_output);

static enum future_state
spin_task(struct future_context *ctx, struct future_notifier *n)
{
	struct spin_data *d = future_context_get_data(ctx);
	if (n != NULL)
		n->notifier_used = FUTURE_NOTIFIER_WAKER;
	if (--d->left > 0) {
		if (d->wake && n != NULL)
			FUTURE_WAKER_WAKE(&n->waker);
		return FUTURE_STATE_RUNNING;
	}
	struct spin_output *o = future_context_get_output(ctx);
	o->done = 1;
	return FUTURE_STATE_COMPLETE;
}

static int
spin_property(void *fut, enum future_property p)
{
	struct spin_fut *f = fut;
	return p == FUTURE_PROPERTY_ASYNC && f->data.async;
}

static struct spin_fut
spin_new(int polls, int async, int wake)
{
	struct spin_fut f;
	FUTURE_INIT_EXT(&f, spin_task, spin_property);
	f.data.left = polls;
	f.data.async = async;
	f.data.wake = wake;
	f.output.done = 0;
	return f;
}

struct two_data {
	FUTURE_CHAIN_ENTRY(struct spin_fut, first);
	FUTURE_CHAIN_ENTRY_LAST(struct spin_fut, second);
};
struct two_output {
	int done;
};
FUTURE(two_fut, struct two_data, struct two_output);

/*
 * One set of n futures of one kind, rebuilt before every timed wait.
 * lib_async: when set, every plain future gets this property function
 * instead of spin_property: the threads mover's (all asynchronous), which
 * the runtime knows without calling it, as for the threads mover's own
 * futures.
 */
struct set {
	int chain;
	future_has_property_fn lib_async;
	size_t n;
	struct spin_fut *plain;
	struct two_fut *two;
	struct future **ptrs;
};

static void
set_reset(struct set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (!s->chain) {
			s->plain[i] = spin_new(SPIN_POLLS, (int)(i & 1),
				i == 0);
			if (s->lib_async != NULL)
				s->plain[i].base.has_property = s->lib_async;
			s->ptrs[i] = FUTURE_AS_RUNNABLE(&s->plain[i]);
			continue;
		}
		struct two_fut *t = &s->two[i];
		/* a sync step finishing on poll k hands over to the async one */
		FUTURE_CHAIN_ENTRY_INIT(&t->data.first,
			spin_new(SPIN_POLLS / 2, 0, i == 0), NULL, NULL);
		FUTURE_CHAIN_ENTRY_INIT(&t->data.second,
			spin_new(SPIN_POLLS / 2 + 1, 1, i == 0), NULL, NULL);
		t->output.done = 0;
		FUTURE_CHAIN_INIT(t);
		s->ptrs[i] = FUTURE_AS_RUNNABLE(t);
	}
}

#endif
