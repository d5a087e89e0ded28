/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * miniasync_runtime_nomem.c -- runtime_wait_multiple with more futures than its
 * on-stack bookkeeping holds while malloc fails (address space limited
 * with RLIMIT_AS). Every future must still be polled in every pass, as
 * upstream's runtime (which allocates nothing) does: here the first future
 * waits for the last one, which a runtime finishing the array in batches
 * would never poll. The last one is asynchronous, so (polled first, as
 * upstream orders a pass) it has set the flag before the first one's
 * first poll. The second one answers -1 (as a chain whose steps are all
 * done): upstream's sort puts it after those answering 0, so the third
 * one has been polled before it is.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/resource.h>

#include <libminiasync.h>
#include "helpers.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
	__has_feature(memory_sanitizer)
#define SANITIZED 1
#endif
#endif

/* enough that the bookkeeping is megabytes: malloc must mmap it */
#define NFUTS 200000
/* polls of the waiting future before it calls the runtime stuck */
#define STARVED 2000000

static int Flag;
static int Third_polls = -1;	/* the third's polls at the second's first */
static const int *Third;

struct flag_data {
	int role;	/* 0: plain, 1: waits for Flag, 2: sets Flag, 3: -1 */
	int polls;
};
struct flag_output {
	int done;
};
FUTURE(flag_future, struct flag_data, struct flag_output);

static enum future_state
flag_task(struct future_context *ctx, struct future_notifier *n)
{
	struct flag_data *d = future_context_get_data(ctx);
	if (n != NULL)
		n->notifier_used = FUTURE_NOTIFIER_NONE;
	d->polls++;
	if (d->role == 3 && Third_polls < 0)
		Third_polls = *Third;
	if (d->role == 2)
		Flag = 1;
	if (d->role == 1 && !Flag) {
		if (d->polls >= STARVED)
			FAIL("the last future was never polled while the first "
				"waited for it (%d polls)", d->polls);
		return FUTURE_STATE_RUNNING;
	}
	((struct flag_output *)future_context_get_output(ctx))->done = 1;
	return FUTURE_STATE_COMPLETE;
}

static int
flag_property(void *fut, enum future_property p)
{
	struct flag_future *f = fut;
	if (p != FUTURE_PROPERTY_ASYNC)
		return 0;
	return f->data.role == 2 ? 1 : f->data.role == 3 ? -1 : 0;
}

int
main(void)
{
#ifdef SANITIZED
	SKIP("the sanitizers' allocators do not fail under RLIMIT_AS as "
		"malloc does");
#endif
	struct flag_future *fs = calloc(NFUTS, sizeof(*fs));
	struct future **futs = calloc(NFUTS, sizeof(*futs));
	CHECK(fs != NULL && futs != NULL);
	for (size_t i = 0; i < NFUTS; i++) {
		FUTURE_INIT_EXT(&fs[i], flag_task, flag_property);
		fs[i].data.role = i == 0 ? 1 : i == NFUTS - 1 ? 2 : i == 1 ? 3 : 0;
		futs[i] = FUTURE_AS_RUNNABLE(&fs[i]);
	}
	Third = &fs[2].data.polls;
	struct runtime *r = runtime_new();
	CHECK(r != NULL);

	/* no room for another megabyte */
	long vm_kb = test_vm_kb();
	struct rlimit old, lim;
	CHECK(getrlimit(RLIMIT_AS, &old) == 0);
	lim = old;
	lim.rlim_cur = (rlim_t)vm_kb * 1024 + (512 << 10);
	if (old.rlim_cur != RLIM_INFINITY && old.rlim_cur < lim.rlim_cur)
		lim.rlim_cur = old.rlim_cur;
	CHECK(setrlimit(RLIMIT_AS, &lim) == 0);
	void *probe = malloc(NFUTS * 4 * sizeof(void *));
	int failed = probe == NULL;
	free(probe);
	if (!failed) {
		CHECK(setrlimit(RLIMIT_AS, &old) == 0);
		SKIP("malloc does not fail under RLIMIT_AS here");
	}

	runtime_wait_multiple(r, futs, NFUTS);
	CHECK(setrlimit(RLIMIT_AS, &old) == 0);

	for (size_t i = 0; i < NFUTS; i++) {
		CHECK_EQ(FUTURE_STATE(&fs[i]), FUTURE_STATE_COMPLETE);
		CHECK_EQ(FUTURE_OUTPUT(&fs[i])->done, 1);
	}
	/* the caller's array is left in its order */
	for (size_t i = 0; i < NFUTS; i++)
		CHECK(futs[i] == FUTURE_AS_RUNNABLE(&fs[i]));
	/* asynchronous futures first, even without the bookkeeping */
	CHECK_EQ(fs[0].data.polls, 1);
	CHECK_EQ(fs[NFUTS - 1].data.polls, 1);
	/* and those answering below 0 last */
	CHECK_EQ(Third_polls, 1);
	runtime_delete(r);
	free(futs);
	free(fs);
	return 0;
}
