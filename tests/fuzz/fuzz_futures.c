/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_futures.c -- future chains built from random recipes, checked
 * against a sequential model.
 *
 * A recipe makes up to 8 futures, each one of:
 *   A  a 4-entry chain: vdm op (memcpy/memmove/memset/flush) -> a user
 *      "counter" future (completes after N polls, notifier NONE) whose input
 *      a map function reads from the buffer the op just wrote -> a LAZY vdm
 *      memset whose fill byte its init function takes from the counter's
 *      output and whose length a map function patches before its first poll
 *      -> a last counter; the chain's output comes from a map function.
 *   B  a counter then a vdm op (LAST);
 *   C  a lone vdm op; D  a future made with FUTURE_INIT_COMPLETE.
 * Each vdm op runs on a mover the recipe picks: the sync mover,
 * vdm_synchronous_new(), a 1-worker threads mover with a 4-slot ring, or
 * the default threads mover. Each future works on its own 16 KiB region.
 * They are driven by runtime_wait_multiple, or polled one step at a time
 * in a recipe-chosen order (sometimes moved to another address between
 * polls), or polled to completion by another thread. Afterwards the buffer
 * and every output must equal the model's.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libminiasync.h>
#include "fuzz_input.h"

#define NFUT 8
#define REGION (16u << 10)

struct counter_data {
	int polls_left;
	int value;
};
struct counter_output {
	int value;
};
FUTURE(counter_future, struct counter_data, struct counter_output);

static enum future_state
counter_task(struct future_context *ctx, struct future_notifier *n)
{
	struct counter_data *d = future_context_get_data(ctx);
	struct counter_output *o = future_context_get_output(ctx);
	if (n)
		n->notifier_used = FUTURE_NOTIFIER_NONE;
	if (d->polls_left > 0) {
		d->polls_left--;
		return FUTURE_STATE_RUNNING;
	}
	o->value = d->value + 1;
	return FUTURE_STATE_COMPLETE;
}

static struct counter_future
counter(int polls, int value)
{
	struct counter_future f;
	f.data.polls_left = polls;
	f.data.value = value;
	f.output.value = -1;
	FUTURE_INIT(&f, counter_task);
	return f;
}

struct chain_a_data {
	FUTURE_CHAIN_ENTRY(struct vdm_operation_future, op1);
	FUTURE_CHAIN_ENTRY(struct counter_future, cnt);
	FUTURE_CHAIN_ENTRY(struct vdm_operation_future, op2);
	FUTURE_CHAIN_ENTRY_LAST(struct counter_future, fin);
};
struct chain_output {
	int value;
};
FUTURE(chain_a_future, struct chain_a_data, struct chain_output);

struct chain_b_data {
	FUTURE_CHAIN_ENTRY(struct counter_future, cnt);
	FUTURE_CHAIN_ENTRY_LAST(struct vdm_operation_future, op);
};
FUTURE(chain_b_future, struct chain_b_data, struct chain_output);

union any_future {
	struct future base;
	struct chain_a_future a;
	struct chain_b_future b;
	struct vdm_operation_future c;
	struct counter_future d;
};

/* ---- the movers, made once ---- */
static struct data_mover_sync *dms;
static struct vdm *vsync;
static struct data_mover_threads *dmt1, *dmtd;
static struct vdm *movers[4];
static struct runtime *rt;
static unsigned char *buf, *model, *pattern;
static int ready;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (ready)
		return 0;
	dms = data_mover_sync_new();
	vsync = vdm_synchronous_new();
	dmt1 = data_mover_threads_new(1, 4, FUTURE_NOTIFIER_WAKER);
	dmtd = data_mover_threads_default();
	rt = runtime_new();
	buf = malloc(NFUT * REGION);
	model = malloc(NFUT * REGION);
	pattern = malloc(REGION);
	if (!dms || !vsync || !dmt1 || !dmtd || !rt || !buf || !model ||
			!pattern)
		abort();
	movers[0] = data_mover_sync_get_vdm(dms);
	movers[1] = vsync;
	movers[2] = data_mover_threads_get_vdm(dmt1);
	movers[3] = data_mover_threads_get_vdm(dmtd);
	for (size_t i = 0; i < REGION; i++)
		pattern[i] = (unsigned char)(i * 29 + 7);
	ready = 1;
	return 0;
}

/* One vdm operation of a recipe, inside the future's region. */
struct vop {
	int type;		/* enum vdm_operation_type */
	int mover;
	size_t dst, src, n;	/* offsets within the region */
	int c;
};

struct recipe {
	int kind;		/* 0 A, 1 B, 2 C, 3 D */
	unsigned char *region;
	unsigned char *mregion;	/* the model's copy */
	struct vop op1;
	int polls1, polls2;
	size_t k;		/* the byte map1 reads */
	int mover2;
	size_t dst2, n2, n2_patched;
	/* model results */
	int expect_out;
	int expect_cnt;
	int got_init;		/* the lazy init ran */
};

static void
read_vop(struct fz *f, struct vop *o)
{
	o->type = fz_u8(f) % 4;
	o->mover = fz_u8(f) % 4;
	o->n = fz_u16(f) % (REGION / 2 + 1);
	o->dst = fz_u16(f) % (REGION - o->n + 1);
	o->src = fz_u16(f) % (REGION - o->n + 1);
	o->c = fz_u8(f);
}

static struct vdm_operation_future
make_vop(const struct vop *o, unsigned char *region)
{
	struct vdm *v = movers[o->mover];
	switch (o->type) {
	case VDM_OPERATION_MEMCPY:
		return vdm_memcpy(v, region + o->dst, pattern + o->src, o->n, 0);
	case VDM_OPERATION_MEMMOVE:
		return vdm_memmove(v, region + o->dst, region + o->src, o->n, 0);
	case VDM_OPERATION_MEMSET:
		return vdm_memset(v, region + o->dst, o->c, o->n, 0);
	default:
		return vdm_flush(v, region + o->dst, o->n, 0);
	}
}

static void
model_vop(const struct vop *o, unsigned char *m)
{
	switch (o->type) {
	case VDM_OPERATION_MEMCPY:
		memcpy(m + o->dst, pattern + o->src, o->n);
		break;
	case VDM_OPERATION_MEMMOVE:
		memmove(m + o->dst, m + o->src, o->n);
		break;
	case VDM_OPERATION_MEMSET:
		memset(m + o->dst, o->c, o->n);
		break;
	default:
		break;
	}
}

/* map functions and the lazy init of chain A */
static void
map_op1_cnt(struct future_context *lhs, struct future_context *rhs, void *arg)
{
	struct recipe *r = arg;
	struct vdm_operation_output *out = future_context_get_output(lhs);
	FZ_CHECK(out->result == VDM_SUCCESS, "op1 result %d", (int)out->result);
	struct counter_data *cd = future_context_get_data(rhs);
	cd->value = r->region[r->k];
}

static void
init_op2(void *future, struct future_context *chain, void *arg)
{
	struct recipe *r = arg;
	struct chain_a_data *d = future_context_get_data(chain);
	FZ_CHECK(FUTURE_STATE(&d->cnt.fut) == FUTURE_STATE_COMPLETE,
		"lazy init before the previous entry completed");
	int c = d->cnt.fut.output.value & 0xff;
	*(struct vdm_operation_future *)future = vdm_memset(movers[r->mover2],
		r->region + r->dst2, c, r->n2, 0);
	r->got_init = 1;
}

static void
map_cnt_op2(struct future_context *lhs, struct future_context *rhs, void *arg)
{
	struct recipe *r = arg;
	struct counter_output *co = future_context_get_output(lhs);
	FZ_CHECK(co->value == r->expect_cnt, "counter output %d, model %d",
		co->value, r->expect_cnt);
	FZ_CHECK(r->got_init, "map ran before the lazy init");
	struct vdm_operation_data *od = future_context_get_data(rhs);
	/* patch the operation before its first poll */
	if (rhs->state == FUTURE_STATE_IDLE && od->data != NULL)
		od->operation.data.memset.n = r->n2_patched;
}

static void
map_op2_fin(struct future_context *lhs, struct future_context *rhs, void *arg)
{
	struct recipe *r = arg;
	struct vdm_operation_output *out = future_context_get_output(lhs);
	FZ_CHECK(out->result == VDM_SUCCESS, "op2 result %d", (int)out->result);
	struct counter_data *cd = future_context_get_data(rhs);
	cd->value = r->region[r->dst2];
}

static void
map_fin_chain(struct future_context *lhs, struct future_context *rhs,
	void *arg)
{
	(void)arg;
	struct counter_output *co = future_context_get_output(lhs);
	struct chain_output *out = future_context_get_output(rhs);
	out->value = co->value;
}

static void
build(struct recipe *r, union any_future *u)
{
	memset(u, 0, sizeof(*u));
	switch (r->kind) {
	case 0: {
		struct chain_a_future *a = &u->a;
		FUTURE_CHAIN_ENTRY_INIT(&a->data.op1,
			make_vop(&r->op1, r->region), map_op1_cnt, r);
		FUTURE_CHAIN_ENTRY_INIT(&a->data.cnt,
			counter(r->polls1, 0), map_cnt_op2, r);
		FUTURE_CHAIN_ENTRY_LAZY_INIT(&a->data.op2, init_op2, r,
			map_op2_fin, r);
		FUTURE_CHAIN_ENTRY_INIT(&a->data.fin,
			counter(r->polls2, 0), map_fin_chain, r);
		a->output.value = -1;
		FUTURE_CHAIN_INIT(a);
		/* model */
		model_vop(&r->op1, r->mregion);
		int v1 = r->mregion[r->k];
		r->expect_cnt = v1 + 1;
		if (r->n2_patched)
			memset(r->mregion + r->dst2, (v1 + 1) & 0xff,
				r->n2_patched);
		r->expect_out = r->mregion[r->dst2] + 1;
		break;
	}
	case 1: {
		struct chain_b_future *b = &u->b;
		FUTURE_CHAIN_ENTRY_INIT(&b->data.cnt, counter(r->polls1, 5),
			NULL, NULL);
		FUTURE_CHAIN_ENTRY_INIT(&b->data.op,
			make_vop(&r->op1, r->region), NULL, NULL);
		b->output.value = -1;
		FUTURE_CHAIN_INIT(b);
		model_vop(&r->op1, r->mregion);
		break;
	}
	case 2:
		u->c = make_vop(&r->op1, r->region);
		model_vop(&r->op1, r->mregion);
		break;
	default:
		FUTURE_INIT_COMPLETE(&u->d);
		u->d.output.value = 42;
		break;
	}
}

static void
verify(struct recipe *r, union any_future *u)
{
	FZ_CHECK(u->base.context.state == FUTURE_STATE_COMPLETE,
		"future %d not complete", r->kind);
	switch (r->kind) {
	case 0:
		FZ_CHECK(u->a.output.value == r->expect_out,
			"chain output %d, model %d", u->a.output.value,
			r->expect_out);
		break;
	case 1:
		FZ_CHECK(u->b.data.cnt.fut.output.value == 6, "counter output");
		FZ_CHECK(u->b.data.op.fut.output.result == VDM_SUCCESS,
			"op result");
		break;
	case 2:
		FZ_CHECK(u->c.output.result == VDM_SUCCESS, "op result %d",
			(int)u->c.output.result);
		break;
	default:
		FZ_CHECK(u->d.output.value == 42, "complete future changed");
		break;
	}
}

static void *
poll_thread(void *arg)
{
	struct future *f = arg;
	while (future_poll(f, NULL) != FUTURE_STATE_COMPLETE)
		__FUTURE_WAIT();
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct recipe rec[NFUT];
	union any_future *fut[NFUT];
	struct future *runnable[NFUT];
	LLVMFuzzerInitialize(NULL, NULL);

	int nf = 1 + fz_u8(&f) % NFUT;
	for (size_t i = 0; i < NFUT * REGION; i++)
		buf[i] = (unsigned char)(i >> 3);
	memcpy(model, buf, NFUT * REGION);

	for (int i = 0; i < nf; i++) {
		struct recipe *r = &rec[i];
		memset(r, 0, sizeof(*r));
		r->kind = fz_u8(&f) % 4;
		r->region = buf + (size_t)i * REGION;
		r->mregion = model + (size_t)i * REGION;
		read_vop(&f, &r->op1);
		r->polls1 = fz_u8(&f) % 6;
		r->polls2 = fz_u8(&f) % 6;
		r->k = fz_u16(&f) % REGION;
		r->mover2 = fz_u8(&f) % 4;
		r->n2 = fz_u16(&f) % (REGION / 2 + 1);
		/*
		 * The byte at dst2 is read after the write (map_op2_fin, the
		 * model), so it lies inside the region even when n2 is 0.
		 */
		r->dst2 = fz_u16(&f) % (REGION - (r->n2 ? r->n2 : 1) + 1);
		r->n2_patched = r->n2 ? fz_u16(&f) % (r->n2 + 1) : 0;
		fut[i] = malloc(sizeof(union any_future));
		FZ_CHECK(fut[i] != NULL, "malloc");
		build(r, fut[i]);
	}

	int mode = fz_u8(&f) % 3;
	if (mode == 0) {
		for (int i = 0; i < nf; i++)
			runnable[i] = &fut[i]->base;
		runtime_wait_multiple(rt, runnable, (size_t)nf);
	} else if (mode == 1) {
		/* step by step, in the recipe's order, sometimes moving one */
		unsigned guard = 0;
		for (;;) {
			int i = (int)(fz_u8(&f) % nf);
			if (fut[i]->base.context.state == FUTURE_STATE_COMPLETE) {
				for (i = 0; i < nf; i++)
					if (fut[i]->base.context.state !=
							FUTURE_STATE_COMPLETE)
						break;
				if (i == nf)
					break;
			}
			future_poll(&fut[i]->base, NULL);
			(void)future_has_property(&fut[i]->base,
				FUTURE_PROPERTY_ASYNC);
			if (fz_u8(&f) == 0x4d) {
				union any_future *moved =
					malloc(sizeof(union any_future));
				FZ_CHECK(moved != NULL, "malloc");
				memcpy(moved, fut[i], sizeof(*moved));
				memset(fut[i], 0xdb, sizeof(*moved));
				free(fut[i]);
				fut[i] = moved;
			}
			if (++guard > 100000000u)
				FZ_CHECK(0, "futures never complete");
			if (!fz_more(&f))
				__FUTURE_WAIT();
		}
	} else {
		/* each future polled to completion by another thread */
		pthread_t th[NFUT];
		for (int i = 0; i < nf; i++)
			FZ_CHECK(pthread_create(&th[i], NULL, poll_thread,
				&fut[i]->base) == 0, "pthread_create");
		for (int i = 0; i < nf; i++)
			pthread_join(th[i], NULL);
	}

	for (int i = 0; i < nf; i++) {
		verify(&rec[i], fut[i]);
		free(fut[i]);
	}
	if (memcmp(buf, model, NFUT * REGION) != 0) {
		size_t i = 0;
		while (buf[i] == model[i])
			i++;
		FZ_CHECK(0, "buffer differs from the model at %zu (future %zu, "
			"kind %d, op %d mover %d): %#x != %#x", i, i / REGION,
			rec[i / REGION].kind, rec[i / REGION].op1.type,
			rec[i / REGION].op1.mover, buf[i], model[i]);
	}
	return 0;
}
