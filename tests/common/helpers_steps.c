/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * helpers_steps.c -- a step future that logs its polls, for the tests of
 * the order in which a runtime polls: a test builds futures of a known
 * length and property, waits, and compares the whole log with the order
 * it expects. Header-only miniasync (the chain macros refer to the
 * library's functions weakly).
 */
#include "helpers.h"

int test_log[TEST_LOG_MAX];
size_t test_log_n;

void
test_log_poll(int id)
{
	CHECK(test_log_n < TEST_LOG_MAX);
	test_log[test_log_n++] = id;
}

void
test_log_check(const char *what, const int *want, size_t n)
{
	int bad = test_log_n != n;
	for (size_t i = 0; !bad && i < n; i++)
		bad = test_log[i] != want[i];
	if (!bad)
		return;
	fprintf(stderr, "%s: poll log (%zu):", what, test_log_n);
	for (size_t i = 0; i < test_log_n; i++)
		fprintf(stderr, " %d", test_log[i]);
	fprintf(stderr, "\n%s: expected (%zu):", what, n);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, " %d", want[i]);
	fprintf(stderr, "\n");
	FAIL("%s: wrong poll order", what);
}

enum future_state
test_step_task(struct future_context *ctx, struct future_notifier *n)
{
	struct test_step_data *d = future_context_get_data(ctx);
	if (n != NULL)
		n->notifier_used = FUTURE_NOTIFIER_NONE;
	test_log_poll(d->id);
	if (d->push != NULL)
		future_poll(d->push, NULL);
	if (d->rearm != NULL && d->polls == d->rearm_left) {
		d->rearm->data.polls = 2;
		d->rearm->output.done = 0;
		FUTURE_STATE(d->rearm) = FUTURE_STATE_IDLE;
		d->rearm = NULL;
	}
	if (d->hook != NULL && d->polls == d->hook_left) {
		void (*h)(void) = d->hook;
		d->hook = NULL;
		h();
	}
	d->polls--;
	if (d->flip != NULL && d->polls == d->flip_left)
		*d->flip = d->flip_val;
	if (d->polls > 0)
		return FUTURE_STATE_RUNNING;
	struct test_step_output *o = future_context_get_output(ctx);
	o->done = 1;
	return FUTURE_STATE_COMPLETE;
}

int
test_step_property(void *fut, enum future_property p)
{
	struct test_step_future *f = fut;
	if (p != FUTURE_PROPERTY_ASYNC)
		return 0;
	return f->data.async_src ? *f->data.async_src : f->data.async;
}

struct test_step_future
test_step(int id, int polls, int async)
{
	struct test_step_future f;
	memset(&f.data, 0, sizeof(f.data));
	f.data.id = id;
	f.data.polls = polls;
	f.data.async = async;
	f.output.done = 0;
	FUTURE_INIT_EXT(&f, test_step_task, test_step_property);
	return f;
}

void
test_step_flips(struct test_step_future *setter,
	struct test_step_future *target, int *flag, int val, int left)
{
	if (target != NULL)
		target->data.async_src = flag;
	setter->data.flip = flag;
	setter->data.flip_val = val;
	setter->data.flip_left = left;
}

void
test_pair_done(struct future_context *lhs, struct future_context *rhs,
	void *arg)
{
	(void)lhs;
	(void)arg;
	struct test_step_output *o = future_context_get_output(rhs);
	o->done = 1;
}

void
test_pair_init(struct test_pair_future *p, struct test_step_future a,
	struct test_step_future b)
{
	FUTURE_CHAIN_ENTRY_INIT(&p->data.a, a, NULL, NULL);
	FUTURE_CHAIN_ENTRY_INIT(&p->data.b, b, test_pair_done, NULL);
	p->output.done = 0;
	FUTURE_CHAIN_INIT(p);
}
