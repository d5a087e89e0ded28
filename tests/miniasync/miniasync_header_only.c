/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * miniasync_header_only.c -- futures and chains from <libminiasync/future.h>
 * alone, in a program that does not link libminiasync: FUTURE_INIT and
 * FUTURE_CHAIN_INIT refer to the library's property functions weakly, so
 * the program builds and gets the header's inline functions instead.
 * (No test helpers either: they link the libraries.)
 */
#include <stdio.h>
#include <stdlib.h>

#include <libminiasync/future.h>

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); \
	exit(1); } } while (0)

struct count_data {
	int left;
};
struct count_output {
	int done;
};
FUTURE(count_future, struct count_data, struct count_output);

static enum future_state
count_task(struct future_context *ctx, struct future_notifier *n)
{
	(void)n;
	struct count_data *d = future_context_get_data(ctx);
	if (--d->left > 0)
		return FUTURE_STATE_RUNNING;
	((struct count_output *)future_context_get_output(ctx))->done = 1;
	return FUTURE_STATE_COMPLETE;
}

static struct count_future
count(int polls)
{
	struct count_future f;
	f.data.left = polls;
	f.output.done = 0;
	FUTURE_INIT(&f, count_task);
	return f;
}

struct two_data {
	FUTURE_CHAIN_ENTRY(struct count_future, a);
	FUTURE_CHAIN_ENTRY_LAST(struct count_future, b);
};
struct two_output {
	int unused;
};
FUTURE(two_future, struct two_data, struct two_output);

int
main(void)
{
	struct count_future f = count(3);
	CHECK(f.base.has_property == future_has_property_default);
	FUTURE_BUSY_POLL(&f);
	CHECK(f.output.done);

	struct two_future t;
	FUTURE_CHAIN_ENTRY_INIT(&t.data.a, count(2), NULL, NULL);
	FUTURE_CHAIN_ENTRY_INIT(&t.data.b, count(2), NULL, NULL);
	t.output.unused = 0;
	FUTURE_CHAIN_INIT(&t);
	CHECK(t.base.has_property == future_chain_has_property);
	CHECK(future_has_property(&t, FUTURE_PROPERTY_ASYNC) == 0);
	FUTURE_BUSY_POLL(&t);
	CHECK(t.data.a.fut.output.done && t.data.b.fut.output.done);
	CHECK(future_has_property(&t, FUTURE_PROPERTY_ASYNC) == -1);
	printf("ok\n");
	return 0;
}
