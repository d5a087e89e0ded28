/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * chain.c -- a future made of two steps: an asynchronous copy, then a
 * future of our own that checksums what was copied. A map function hands
 * the copy's destination to the checksum step; a second one moves the
 * checksum into the chain's output.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libminiasync.h>

/* ---- our own future: a checksum done a slice per poll ---- */
struct sum_data {
	const unsigned char *buf;
	size_t len;
	size_t done;
	uint64_t sum;
};
struct sum_output {
	uint64_t sum;
};
FUTURE(sum_future, struct sum_data, struct sum_output);

#define SLICE 65536

static enum future_state
sum_task(struct future_context *ctx, struct future_notifier *notifier)
{
	struct sum_data *d = future_context_get_data(ctx);
	/* we make progress on every poll: ask to be polled again */
	if (notifier)
		notifier->notifier_used = FUTURE_NOTIFIER_NONE;
	size_t end = d->done + SLICE < d->len ? d->done + SLICE : d->len;
	for (; d->done < end; d->done++)
		d->sum = d->sum * 31 + d->buf[d->done];
	if (d->done < d->len)
		return FUTURE_STATE_RUNNING;
	struct sum_output *o = future_context_get_output(ctx);
	o->sum = d->sum;
	return FUTURE_STATE_COMPLETE;
}

static struct sum_future
sum_future_new(size_t len)
{
	struct sum_future f;
	f.data.buf = NULL;	/* filled in by the chain's map function */
	f.data.len = len;
	f.data.done = 0;
	f.data.sum = 0;
	f.output.sum = 0;
	FUTURE_INIT(&f, sum_task);
	return f;
}

/* ---- the chain: copy, then checksum the copy ---- */
struct copy_sum_data {
	FUTURE_CHAIN_ENTRY(struct vdm_operation_future, copy);
	FUTURE_CHAIN_ENTRY_LAST(struct sum_future, sum);
};
struct copy_sum_output {
	void *dest;
	uint64_t sum;
};
FUTURE(copy_sum_future, struct copy_sum_data, struct copy_sum_output);

static void
copy_to_sum(struct future_context *copy_ctx, struct future_context *sum_ctx,
	void *arg)
{
	(void)arg;
	struct vdm_operation_output *o = future_context_get_output(copy_ctx);
	struct sum_data *d = future_context_get_data(sum_ctx);
	d->buf = o->output.memcpy.dest;
}

static void
sum_to_chain(struct future_context *sum_ctx, struct future_context *chain_ctx,
	void *arg)
{
	struct copy_sum_future *chain = arg;
	struct sum_output *o = future_context_get_output(sum_ctx);
	struct copy_sum_output *out = future_context_get_output(chain_ctx);
	out->sum = o->sum;
	out->dest = (void *)chain->data.sum.fut.data.buf;
}

static void
copy_sum(struct copy_sum_future *f, struct vdm *vdm, void *dst, void *src,
	size_t len)
{
	FUTURE_CHAIN_ENTRY_INIT(&f->data.copy, vdm_memcpy(vdm, dst, src, len, 0),
		copy_to_sum, NULL);
	FUTURE_CHAIN_ENTRY_INIT(&f->data.sum, sum_future_new(len),
		sum_to_chain, f);
	f->output.dest = NULL;
	f->output.sum = 0;
	FUTURE_CHAIN_INIT(f);
}

int
main(void)
{
	size_t len = 4u << 20;
	unsigned char *src = malloc(len), *dst = malloc(len);
	if (!src || !dst)
		return 1;
	uint64_t expect = 0;
	for (size_t i = 0; i < len; i++) {
		src[i] = (unsigned char)(i ^ (i >> 9));
		expect = expect * 31 + src[i];
	}

	struct runtime *rt = runtime_new();
	struct data_mover_threads *dmt = data_mover_threads_default();
	if (!rt || !dmt)
		return 1;

	struct copy_sum_future f;
	copy_sum(&f, data_mover_threads_get_vdm(dmt), dst, src, len);
	/* while the copy runs, the chain counts as asynchronous */
	printf("chain is async at first: %d\n",
		future_has_property(&f, FUTURE_PROPERTY_ASYNC));
	runtime_wait(rt, FUTURE_AS_RUNNABLE(&f));

	int ok = f.output.dest == dst && f.output.sum == expect;
	printf("checksum of the copy: %016llx (%s)\n",
		(unsigned long long)f.output.sum, ok ? "correct" : "WRONG");

	/* the same chain on the synchronous mover completes in one poll */
	struct data_mover_sync *dms = data_mover_sync_new();
	if (!dms)
		return 1;
	copy_sum(&f, data_mover_sync_get_vdm(dms), dst, src, SLICE);
	FUTURE_BUSY_POLL(&f);
	ok = ok && f.output.dest == dst;

	data_mover_sync_delete(dms);
	data_mover_threads_delete(dmt);
	runtime_delete(rt);
	free(src);
	free(dst);
	return ok ? 0 : 1;
}
