/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * miniasync_future.c -- the future state machine, notifier pass-through, chains
 * with map functions, lazily built entries and the chain's property.
 */
#include <libminiasync.h>
#include "helpers.h"

/* A future that needs `polls` RUNNING polls before it completes. */
struct countdown_data {
	int polls;
	int calls;
	int async;
	struct future_notifier *seen;
};
struct countdown_output {
	int value;
};
FUTURE(countdown_future, struct countdown_data, struct countdown_output);

static enum future_state
countdown_task(struct future_context *ctx, struct future_notifier *n)
{
	struct countdown_data *d = future_context_get_data(ctx);
	struct countdown_output *o = future_context_get_output(ctx);
	d->calls++;
	d->seen = n;
	if (n != NULL)
		n->notifier_used = FUTURE_NOTIFIER_NONE;
	if (d->polls > 0) {
		d->polls--;
		return FUTURE_STATE_RUNNING;
	}
	o->value = d->calls;
	return FUTURE_STATE_COMPLETE;
}

static int
countdown_property(void *fut, enum future_property p)
{
	struct countdown_future *f = fut;
	return p == FUTURE_PROPERTY_ASYNC && f->data.async;
}

static struct countdown_future
countdown(int polls, int async)
{
	struct countdown_future f;
	f.data.polls = polls;
	f.data.calls = 0;
	f.data.async = async;
	f.data.seen = NULL;
	f.output.value = -1;
	FUTURE_INIT_EXT(&f, countdown_task, countdown_property);
	return f;
}

static void
test_state_machine(void)
{
	struct countdown_future f = countdown(3, 0);
	CHECK_EQ(FUTURE_STATE(&f), FUTURE_STATE_IDLE);
	CHECK_EQ(f.base.context.data_size, sizeof(struct countdown_data));
	CHECK_EQ(f.base.context.output_size, sizeof(struct countdown_output));
	CHECK(future_context_get_data(&f.base.context) == (void *)&f.data);
	CHECK(future_context_get_output(&f.base.context) == (void *)&f.output);
	CHECK_EQ(future_context_get_size(&f.base.context),
		sizeof(f.data) + sizeof(f.output));

	struct future_notifier fake;
	memset(&fake, 0, sizeof(fake));
	fake.notifier_used = FUTURE_NOTIFIER_WAKER;
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&f), &fake),
			FUTURE_STATE_RUNNING);
		CHECK(f.data.seen == &fake);
		CHECK_EQ(fake.notifier_used, FUTURE_NOTIFIER_NONE);
	}
	CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&f), NULL),
		FUTURE_STATE_COMPLETE);
	CHECK(f.data.seen == NULL);
	CHECK_EQ(FUTURE_OUTPUT(&f)->value, 4);
	/* polling a complete future does not call the task */
	CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&f), NULL),
		FUTURE_STATE_COMPLETE);
	CHECK_EQ(FUTURE_DATA(&f)->calls, 4);

	struct countdown_future b = countdown(5, 0);
	FUTURE_BUSY_POLL(&b);
	CHECK_EQ(b.output.value, 6);
	CHECK_EQ(future_has_property(&b, FUTURE_PROPERTY_ASYNC), 0);
	struct countdown_future a = countdown(0, 1);
	CHECK_EQ(future_has_property(&a, FUTURE_PROPERTY_ASYNC), 1);

	/* an instantly complete future: no task, no property function */
	struct countdown_future c;
	c.output.value = 42;
	FUTURE_INIT_COMPLETE(&c);
	CHECK_EQ(FUTURE_STATE(&c), FUTURE_STATE_COMPLETE);
	CHECK(c.base.task == NULL && c.base.has_property == NULL);
	CHECK_EQ(future_has_property(&c, FUTURE_PROPERTY_ASYNC), 0);
	CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&c), NULL),
		FUTURE_STATE_COMPLETE);
	CHECK_EQ(c.output.value, 42);

	/* a default-property future is not async */
	struct countdown_future d;
	d.data.polls = 0;
	d.data.calls = 0;
	FUTURE_INIT(&d, countdown_task);
	CHECK_EQ(future_has_property(&d, FUTURE_PROPERTY_ASYNC), 0);
	FUTURE_BUSY_POLL(&d);
	CHECK_EQ(d.output.value, 1);
}

/* ---- chains ---- */

struct two_data {
	FUTURE_CHAIN_ENTRY(struct countdown_future, first);
	FUTURE_CHAIN_ENTRY_LAST(struct countdown_future, second);
};
struct two_output {
	int sum;
};
FUTURE(two_future, struct two_data, struct two_output);

static int map_calls;

/* first -> second: the second waits as many polls as the first's result */
static void
map_first(struct future_context *lhs, struct future_context *rhs, void *arg)
{
	struct countdown_output *o = future_context_get_output(lhs);
	struct countdown_data *d = future_context_get_data(rhs);
	CHECK(arg == (void *)&map_calls);
	d->polls = o->value;
	map_calls++;
}

/* second -> chain output */
static void
map_second(struct future_context *lhs, struct future_context *rhs, void *arg)
{
	(void)arg;
	struct countdown_output *o = future_context_get_output(lhs);
	struct two_output *out = future_context_get_output(rhs);
	out->sum = o->value * 100;
	map_calls++;
}

static void
test_chain(void)
{
	struct two_future f;
	FUTURE_CHAIN_ENTRY_INIT(&f.data.first, countdown(2, 1), map_first,
		&map_calls);
	FUTURE_CHAIN_ENTRY_INIT(&f.data.second, countdown(0, 0), map_second,
		NULL);
	f.output.sum = 0;
	FUTURE_CHAIN_INIT(&f);
	map_calls = 0;

	/* first entry async -> chain async */
	CHECK_EQ(future_has_property(&f, FUTURE_PROPERTY_ASYNC), 1);
	CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&f), NULL), FUTURE_STATE_RUNNING);
	CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&f), NULL), FUTURE_STATE_RUNNING);
	CHECK_EQ(map_calls, 0);
	/* third poll: first completes (value 3), map, second polled in the same poll */
	CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&f), NULL), FUTURE_STATE_RUNNING);
	CHECK_EQ(map_calls, 1);
	CHECK(FUTURE_CHAIN_ENTRY_IS_PROCESSED(&f.data.first));
	CHECK(!FUTURE_CHAIN_ENTRY_IS_PROCESSED(&f.data.second));
	CHECK_EQ(f.data.second.fut.data.calls, 1);
	CHECK_EQ(future_has_property(&f, FUTURE_PROPERTY_ASYNC), 0);
	int polls = 0;
	while (future_poll(FUTURE_AS_RUNNABLE(&f), NULL) != FUTURE_STATE_COMPLETE)
		polls++;
	CHECK_EQ(polls, 2);	/* second needed 4 polls; 1 done above */
	CHECK_EQ(map_calls, 2);
	CHECK_EQ(f.output.sum, 400);
	CHECK_EQ(future_has_property(&f, FUTURE_PROPERTY_ASYNC), -1);
	/* a complete chain stays complete and untouched */
	CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&f), NULL), FUTURE_STATE_COMPLETE);
	CHECK_EQ(map_calls, 2);

	/* all-synchronous steps complete in one poll */
	struct two_future g;
	FUTURE_CHAIN_ENTRY_INIT(&g.data.first, countdown(0, 0), NULL, NULL);
	FUTURE_CHAIN_ENTRY_INIT(&g.data.second, countdown(0, 0), map_second,
		NULL);
	FUTURE_CHAIN_INIT(&g);
	CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&g), NULL), FUTURE_STATE_COMPLETE);
	CHECK_EQ(g.output.sum, 100);
}

/*
 * get_next_future_chain_entry: walks the entries in memory order, building
 * a lazy entry as it reaches it, counting the bytes used, and stops after
 * the LAST entry even though data follows it.
 */
struct three_data {
	FUTURE_CHAIN_ENTRY(struct countdown_future, a);
	FUTURE_CHAIN_ENTRY(struct countdown_future, b);
	FUTURE_CHAIN_ENTRY_LAST(struct countdown_future, c);
	uint64_t trailing[3];
};
FUTURE(three_future, struct three_data, struct two_output);

static int walk_inits;

static void
walk_init(void *future, struct future_context *chain, void *arg)
{
	CHECK(arg == (void *)&walk_inits);
	CHECK(chain != NULL);
	walk_inits++;
	*(struct countdown_future *)future = countdown(0, 1);
}

static void
test_chain_walk(void)
{
	struct three_future f;
	FUTURE_CHAIN_ENTRY_INIT(&f.data.a, countdown(0, 0), NULL, NULL);
	FUTURE_CHAIN_ENTRY_LAZY_INIT(&f.data.b, walk_init, &walk_inits, NULL,
		NULL);
	FUTURE_CHAIN_ENTRY_INIT(&f.data.c, countdown(0, 0), NULL, NULL);
	FUTURE_CHAIN_INIT(&f);
	walk_inits = 0;

	struct future_context *ctx = &f.base.context;
	uint8_t *data = future_context_get_data(ctx);
	CHECK(data == (uint8_t *)&f.data);
	struct future_chain_entry *e = (struct future_chain_entry *)data;
	size_t used = 0;

	struct future_chain_entry *next =
		get_next_future_chain_entry(ctx, e, data, &used);
	CHECK(next == (struct future_chain_entry *)&f.data.b);
	CHECK_EQ(used, offsetof(struct three_data, b));
	CHECK_EQ(walk_inits, 0);	/* b is built when the walk reaches it */
	CHECK(!FUTURE_CHAIN_ENTRY_IS_INITIALIZED(&f.data.b));

	next = get_next_future_chain_entry(ctx, next, data, &used);
	CHECK_EQ(walk_inits, 1);
	CHECK(FUTURE_CHAIN_ENTRY_IS_INITIALIZED(&f.data.b));
	CHECK(f.data.b.fut.data.async == 1);
	CHECK(next == (struct future_chain_entry *)&f.data.c);
	CHECK_EQ(used, offsetof(struct three_data, c));

	/* c is LAST: the walk ends although trailing data follows */
	next = get_next_future_chain_entry(ctx, next, data, &used);
	CHECK(next == NULL);
	CHECK_EQ(used, offsetof(struct three_data, trailing));
	CHECK(used < ctx->data_size);
	CHECK_EQ(walk_inits, 1);

	/* a walk again does not build b twice */
	used = 0;
	e = (struct future_chain_entry *)data;
	while (e != NULL)
		e = get_next_future_chain_entry(ctx, e, data, &used);
	CHECK_EQ(walk_inits, 1);

	/*
	 * A chain whose first entry is lazy: asking its property builds the
	 * entry (as upstream does), so the runtime sees an async first step
	 * before the first poll.
	 */
	struct three_future g;
	FUTURE_CHAIN_ENTRY_LAZY_INIT(&g.data.a, walk_init, &walk_inits, NULL,
		NULL);
	FUTURE_CHAIN_ENTRY_INIT(&g.data.b, countdown(0, 0), NULL, NULL);
	FUTURE_CHAIN_ENTRY_INIT(&g.data.c, countdown(0, 0), NULL, NULL);
	FUTURE_CHAIN_INIT(&g);
	CHECK_EQ(future_has_property(&g, FUTURE_PROPERTY_ASYNC), 1);
	CHECK_EQ(walk_inits, 2);
	CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&g), NULL),
		FUTURE_STATE_COMPLETE);
	CHECK_EQ(walk_inits, 2);

	/* a chain without a LAST flag ends where its data ends */
	struct two_future t;
	FUTURE_CHAIN_ENTRY_INIT(&t.data.first, countdown(0, 0), NULL, NULL);
	FUTURE_CHAIN_ENTRY_INIT(&t.data.second, countdown(0, 0), NULL, NULL);
	t.data.second.flags = 0;	/* drop LAST: the size ends the walk */
	FUTURE_CHAIN_INIT(&t);
	data = future_context_get_data(&t.base.context);
	used = 0;
	e = get_next_future_chain_entry(&t.base.context,
		(struct future_chain_entry *)data, data, &used);
	CHECK(e == (struct future_chain_entry *)&t.data.second);
	CHECK(get_next_future_chain_entry(&t.base.context, e, data, &used)
		== NULL);
	CHECK_EQ(used, sizeof(t.data));
}

/* A lazily built copy: allocate a buffer, then copy into it (a strdup). */
struct dup_data {
	FUTURE_CHAIN_ENTRY(struct countdown_future, alloc);
	FUTURE_CHAIN_ENTRY_LAST(struct vdm_operation_future, copy);
	struct vdm *vdm;
	const char *src;
	size_t len;
	char *buf;
};
struct dup_output {
	char *copy;
};
FUTURE(dup_future, struct dup_data, struct dup_output);

static int lazy_inits;

static void
dup_alloc_map(struct future_context *lhs, struct future_context *rhs,
	void *arg)
{
	(void)lhs;
	(void)rhs;
	struct dup_data *d = arg;
	d->buf = malloc(d->len);
	CHECK(d->buf != NULL);
	/* the copy entry was built lazily: patch its destination before it starts */
	d->copy.fut.data.operation.data.memcpy.dest = d->buf;
}

static void
dup_copy_init(void *future, struct future_context *chain, void *arg)
{
	struct dup_data *d = future_context_get_data(chain);
	CHECK(arg == (void *)d);
	lazy_inits++;
	*(struct vdm_operation_future *)future =
		vdm_memcpy(d->vdm, NULL, (void *)d->src, d->len, 0);
}

static void
dup_copy_map(struct future_context *lhs, struct future_context *rhs,
	void *arg)
{
	(void)arg;
	struct vdm_operation_output *o = future_context_get_output(lhs);
	struct dup_output *out = future_context_get_output(rhs);
	CHECK_EQ(o->result, VDM_SUCCESS);
	out->copy = o->output.memcpy.dest;
}

static void
test_lazy(struct vdm *vdm, struct runtime *rt)
{
	static const char text[] = "futures all the way down";
	struct dup_future f;
	f.data.vdm = vdm;
	f.data.src = text;
	f.data.len = sizeof(text);
	f.data.buf = NULL;
	f.output.copy = NULL;
	FUTURE_CHAIN_ENTRY_INIT(&f.data.alloc, countdown(1, 0), dup_alloc_map,
		&f.data);
	FUTURE_CHAIN_ENTRY_LAZY_INIT(&f.data.copy, dup_copy_init, &f.data,
		dup_copy_map, NULL);
	FUTURE_CHAIN_INIT(&f);
	CHECK(!FUTURE_CHAIN_ENTRY_IS_INITIALIZED(&f.data.copy));
	lazy_inits = 0;
	/* not yet initialised entries do not count as async */
	CHECK_EQ(future_has_property(&f, FUTURE_PROPERTY_ASYNC), 0);

	CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&f), NULL), FUTURE_STATE_RUNNING);
	CHECK_EQ(lazy_inits, 0);
	/* the map fn moved f.data: move the whole future and keep going */
	struct dup_future moved = f;
	memset(&f, 0xa5, sizeof(f));
	/* init_arg/map_arg point at the old copy: repoint them */
	moved.data.copy.init_arg = &moved.data;
	moved.data.alloc.map_arg = &moved.data;
	runtime_wait(rt, FUTURE_AS_RUNNABLE(&moved));
	CHECK_EQ(lazy_inits, 1);
	CHECK(FUTURE_CHAIN_ENTRY_IS_INITIALIZED(&moved.data.copy));
	CHECK(moved.output.copy != NULL);
	CHECK(moved.output.copy == moved.data.buf);
	CHECK(strcmp(moved.output.copy, text) == 0);
	free(moved.data.buf);
}

int
main(void)
{
	test_state_machine();
	test_chain();
	test_chain_walk();

	struct runtime *rt = runtime_new();
	CHECK(rt != NULL);
	struct data_mover_sync *dms = data_mover_sync_new();
	CHECK(dms != NULL);
	test_lazy(data_mover_sync_get_vdm(dms), rt);
	struct data_mover_threads *dmt = data_mover_threads_new(1, 4,
		FUTURE_NOTIFIER_WAKER);
	CHECK(dmt != NULL);
	test_lazy(data_mover_threads_get_vdm(dmt), rt);
	data_mover_threads_delete(dmt);
	data_mover_sync_delete(dms);
	runtime_delete(rt);
	return 0;
}
