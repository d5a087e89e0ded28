/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * miniasync_known.c -- runtime_wait_multiple knows some property functions
 * without calling them (none at all, FUTURE_INIT's, the threads mover's,
 * FUTURE_CHAIN_INIT's) and skips the async-first split while nothing can
 * change it. The order it polls in must be the one asking every future on
 * every pass would give: every poll is logged and whole logs are compared.
 */
#include <libminiasync.h>
#include "helpers.h"

/* The threads mover's property function, taken from a mover. */
static future_has_property_fn Lib_async;

/* A flag another step flips (for P_FLAG). */
static int Twin_flag;

static int
flag_property(void *fut, enum future_property p)
{
	(void)fut;
	return p == FUTURE_PROPERTY_ASYNC && Twin_flag;
}

/*
 * The property functions a step may have: none (NULL), the library's
 * "none", the threads mover's, one reading Twin_flag, the program's own
 * (test_step_property, which answers 0 here).
 */
enum { P_NULL, P_NONE, P_LIB, P_FLAG, P_OWN, P_KINDS };

static future_has_property_fn
prop_fn(int kind)
{
	future_has_property_fn fns[P_KINDS] = { NULL,
		miniasync_has_property_none, Lib_async, flag_property,
		test_step_property };
	return fns[kind];
}

/*
 * A step (tests/common/helpers_steps.c) whose property function is hp
 * (NULL allowed); test_step_property answers 0 for it: a program's own.
 */
static struct test_step_future
step(int id, int polls, future_has_property_fn hp)
{
	struct test_step_future f = test_step(id, polls, 0);
	f.base.has_property = hp;
	return f;
}

/*
 * Four plain steps (id, polls, property kind), waited for in this order:
 * the log must be want[0..n), and every step done.
 */
struct four_case {
	const char *what;
	int step[4][3];
	int want[16];
	size_t n;
};

static void
wait_four(struct runtime *rt, const struct four_case *c)
{
	struct test_step_future f[4];
	struct future *futs[4];
	for (int i = 0; i < 4; i++) {
		f[i] = step(c->step[i][0], c->step[i][1],
			prop_fn(c->step[i][2]));
		futs[i] = FUTURE_AS_RUNNABLE(&f[i]);
	}
	test_wait_logged(rt, futs, 4);
	test_log_check(c->what, c->want, c->n);
	for (int i = 0; i < 4; i++)
		CHECK(f[i].output.done);
}

/*
 * The mover's futures first, then those with a user function or none.
 * Then only known functions: the split is skipped on passes where nothing
 * finished; the order stays the same as futures finish at different times.
 */
static const struct four_case Four[] = {
	{ "known groups",
		{ { 0, 3, P_OWN }, { 1, 3, P_LIB }, { 2, 3, P_NULL },
			{ 3, 3, P_LIB } },
		{ 1, 3, 0, 2, 1, 3, 0, 2, 1, 3, 0, 2 }, 12 },
	{ "all known",
		{ { 1, 2, P_NULL }, { 2, 5, P_LIB }, { 3, 3, P_NULL },
			{ 4, 4, P_LIB } },
		{ 2, 4, 1, 3, 2, 4, 1, 3, 2, 4, 3, 2, 4, 2 }, 14 },
};

/*
 * A user mover whose property function reads Vdm_async, which another
 * future flips while no future changes state: the mover's futures must be
 * asked on every pass, never taken for known.
 */
static int Vdm_async;
static int Vdm_asked;
static int Vdm_left = 4;

static int
uvdm_property(void *fut, enum future_property p)
{
	(void)fut;
	Vdm_asked++;
	return p == FUTURE_PROPERTY_ASYNC && Vdm_async;
}

static void *
uvdm_new(struct vdm *vdm, const enum vdm_operation_type type)
{
	(void)type;
	return vdm;
}

static int
uvdm_start(void *data, const struct vdm_operation *op,
	struct future_notifier *n)
{
	(void)data;
	(void)op;
	if (n != NULL)
		n->notifier_used = FUTURE_NOTIFIER_NONE;
	return 0;
}

static enum future_state
uvdm_check(void *data, const struct vdm_operation *op)
{
	(void)data;
	memcpy(op->data.memcpy.dest, op->data.memcpy.src, op->data.memcpy.n);
	test_log_poll(100);
	return --Vdm_left > 0 ? FUTURE_STATE_RUNNING : FUTURE_STATE_COMPLETE;
}

static void
uvdm_delete(void *data, const struct vdm_operation *op,
	struct vdm_operation_output *out)
{
	(void)data;
	out->type = op->type;
	out->result = VDM_SUCCESS;
	out->output.memcpy.dest = op->data.memcpy.dest;
}

static void
test_user_vdm(struct runtime *rt)
{
	struct vdm v = { uvdm_new, uvdm_delete, uvdm_start, uvdm_check, 0,
		uvdm_property };
	char src[8] = "abcdefg", dst[8] = { 0 };
	struct vdm_operation_future op = vdm_memcpy(&v, dst, src, 8, 0);
	CHECK(op.base.has_property == uvdm_property);
	/* its second poll (pass 2) turns the mover's future asynchronous */
	struct test_step_future s = step(1, 4, test_step_property);
	test_step_flips(&s, NULL, &Vdm_async, 1, 4 - 2);
	struct future *futs[] = { FUTURE_AS_RUNNABLE(&s),
		FUTURE_AS_RUNNABLE(&op) };
	test_wait_logged(rt, futs, 2);
	static const int want[] = { 1, 100, 1, 100, 100, 1, 100, 1 };
	test_log_check("user vdm", want, sizeof(want) / sizeof(want[0]));
	/* asked once before each of the 4 passes */
	CHECK_EQ(Vdm_asked, 4);
	CHECK(memcmp(dst, src, 8) == 0);
	CHECK_EQ(op.output.result, VDM_SUCCESS);
}

/*
 * A chain whose second step has the mover's property, among futures that
 * all have known functions: the chain's own function is the program's,
 * so it is asked on every pass, and the chain moves to the front when its
 * step turns asynchronous although its state stays RUNNING.
 */
static void
test_chain_turns_async(struct runtime *rt)
{
	struct test_pair_future c;
	test_pair_init(&c, step(10, 2, NULL), step(11, 2, Lib_async));
	struct test_step_future n = step(20, 4, NULL);
	struct future *futs[] = { FUTURE_AS_RUNNABLE(&n),
		FUTURE_AS_RUNNABLE(&c) };
	test_wait_logged(rt, futs, 2);
	static const int want[] = { 20, 10, 20, 10, 11, 11, 20, 20 };
	test_log_check("chain turns async", want,
		sizeof(want) / sizeof(want[0]));
	CHECK(c.output.done && n.output.done);
}

/* With the library linked, the macros install the library's functions. */
static void
test_installed(void)
{
	struct test_step_future f;
	f.data.id = 0;
	FUTURE_INIT(&f, test_step_task);
	CHECK(f.base.has_property == miniasync_has_property_none);
	CHECK_EQ(future_has_property(&f, FUTURE_PROPERTY_ASYNC), 0);
	struct test_pair_future c;
	test_pair_init(&c, step(1, 1, Lib_async), step(2, 1, NULL));
	CHECK(c.base.has_property == miniasync_chain_has_property);
	CHECK_EQ(future_has_property(&c, FUTURE_PROPERTY_ASYNC), 1);
}

/*
 * A chain whose first step is built lazily: the runtime builds it when it
 * first asks the chain's property, before any poll (as the header's
 * function does), and uses the built step's property (the mover's: first).
 */
static void
lazy_step(void *fut, struct future_context *chain, void *arg)
{
	(void)chain;
	test_log_poll(*(int *)arg);
	*(struct test_step_future *)fut = step(30, 2, Lib_async);
}

static void
test_lazy_chain(struct runtime *rt)
{
	static int init_id = -30;
	struct test_pair_future c;
	FUTURE_CHAIN_ENTRY_LAZY_INIT(&c.data.a, lazy_step, &init_id, NULL,
		NULL);
	FUTURE_CHAIN_ENTRY_INIT(&c.data.b, step(31, 2, test_step_property),
		NULL, NULL);
	c.output.done = 0;
	FUTURE_CHAIN_INIT(&c);
	struct test_step_future u = step(40, 3, test_step_property);
	struct future *futs[] = { FUTURE_AS_RUNNABLE(&u),
		FUTURE_AS_RUNNABLE(&c) };
	test_wait_logged(rt, futs, 2);
	/*
	 * pass 2 finishes step 30 and polls 31; then both are sync and keep
	 * the order of pass 2
	 */
	static const int want[] = { -30, 30, 40, 30, 31, 40, 31, 40 };
	test_log_check("lazy chain", want, sizeof(want) / sizeof(want[0]));
}

/*
 * The runtime's own answer for FUTURE_CHAIN_INIT's function must be the
 * function's: random chains (lazy steps, steps flagged done beforehand,
 * each kind of step property, properties that polls flip) are waited for
 * twice, once with the library's function and once with a program's own
 * that calls the header's future_chain_has_property; the logs (polls and
 * lazy builds) must be the same.
 */
#define TWIN_CHAINS 4
#define TWIN_PLAIN 2

static int
own_chain_property(void *fut, enum future_property p)
{
	return future_chain_has_property(fut, p);
}

struct twin_spec {
	int id;
	int polls;
	int kind;	/* property: P_* */
	int flip_at;	/* 0: never; else sets Twin_flag to flip_val */
	int flip_val;
	uint64_t *skip;	/* lazy: the init flags its entry done */
};

static uint64_t Twin_seed;

static unsigned
twin_rand(unsigned n)
{
	Twin_seed = Twin_seed * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned)(Twin_seed >> 33) % n;
}

static struct test_step_future
twin_step(const struct twin_spec *sp)
{
	struct test_step_future f = step(sp->id, sp->polls,
		prop_fn(sp->kind));
	if (sp->flip_at != 0)
		test_step_flips(&f, NULL, &Twin_flag, sp->flip_val,
			sp->polls - sp->flip_at);
	return f;
}

static void
twin_lazy(void *fut, struct future_context *chain, void *arg)
{
	(void)chain;
	const struct twin_spec *sp = arg;
	test_log_poll(-sp->id);
	*(struct test_step_future *)fut = twin_step(sp);
	if (sp->skip != NULL)
		*sp->skip |= FUTURE_CHAIN_FLAG_ENTRY_PROCESSED;
}

/* A chain's poll, logged as 1000 + its number (in the chain's output). */
static enum future_state
twin_chain_task(struct future_context *ctx, struct future_notifier *n)
{
	test_log_poll(1000 + ((struct test_step_output *)
		future_context_get_output(ctx))->done);
	return async_chain_impl(ctx, n);
}

struct trio_data {
	FUTURE_CHAIN_ENTRY(struct test_step_future, a);
	FUTURE_CHAIN_ENTRY(struct test_step_future, b);
	FUTURE_CHAIN_ENTRY_LAST(struct test_step_future, c);
};
FUTURE(trio_future, struct trio_data, struct test_step_output);

static void
twin_spec_new(struct twin_spec *sp, int id, int maxpolls)
{
	sp->id = id;
	sp->polls = 1 + (int)twin_rand((unsigned)maxpolls);
	sp->kind = (int)twin_rand(P_KINDS);
	sp->flip_at = twin_rand(4) == 0 ? 1 + (int)twin_rand(
		(unsigned)sp->polls) : 0;
	sp->flip_val = (int)twin_rand(2);
	sp->skip = NULL;
}

/*
 * One entry of a trio: lazy or not (then perhaps flagged done by its
 * init), flagged done beforehand or not.
 */
#define TWIN_ENTRY(_e, _sp, _lazy, _done) do { \
	if (_lazy) { \
		if (twin_rand(3) == 0) \
			(_sp)->skip = (uint64_t *)&(_e)->flags; \
		FUTURE_CHAIN_ENTRY_LAZY_INIT(_e, twin_lazy, _sp, NULL, NULL); \
		(_e)->fut = twin_step(_sp); /* sizes for the walk */ \
	} else { \
		FUTURE_CHAIN_ENTRY_INIT(_e, twin_step(_sp), NULL, NULL); \
	} \
	if (_done) \
		(_e)->flags = (void *)((uintptr_t)(_e)->flags | \
			FUTURE_CHAIN_FLAG_ENTRY_PROCESSED); \
} while (0)

static void
twin_run(struct runtime *rt, uint64_t seed, int own, int *log, size_t *nlog)
{
	static struct twin_spec sp[TWIN_CHAINS * 3 + TWIN_PLAIN];
	static struct trio_future c[TWIN_CHAINS];
	static struct test_step_future p[TWIN_PLAIN];
	struct future *futs[TWIN_CHAINS + TWIN_PLAIN];
	Twin_seed = seed;
	for (int i = 0; i < TWIN_CHAINS; i++) {
		for (int j = 0; j < 3; j++)
			twin_spec_new(&sp[i * 3 + j], 100 + i * 10 + j, 3);
		int lazy = (int)twin_rand(8), done = (int)twin_rand(16);
		TWIN_ENTRY(&c[i].data.a, &sp[i * 3], lazy & 1, done & 1);
		TWIN_ENTRY(&c[i].data.b, &sp[i * 3 + 1], lazy & 2, done & 2);
		TWIN_ENTRY(&c[i].data.c, &sp[i * 3 + 2], lazy & 4,
			(done & 12) == 12);
		c[i].output.done = i;
		FUTURE_CHAIN_INIT(&c[i]);
		CHECK(c[i].base.has_property == miniasync_chain_has_property);
		c[i].base.task = twin_chain_task;
		if (own)
			c[i].base.has_property = own_chain_property;
	}
	for (int i = 0; i < TWIN_PLAIN; i++) {
		twin_spec_new(&sp[TWIN_CHAINS * 3 + i], 1 + i, 6);
		p[i] = twin_step(&sp[TWIN_CHAINS * 3 + i]);
	}
	/* the futures in a random order */
	for (int i = 0; i < TWIN_CHAINS + TWIN_PLAIN; i++)
		futs[i] = i < TWIN_CHAINS ? FUTURE_AS_RUNNABLE(&c[i]) :
			FUTURE_AS_RUNNABLE(&p[i - TWIN_CHAINS]);
	for (int i = TWIN_CHAINS + TWIN_PLAIN - 1; i > 0; i--) {
		int j = (int)twin_rand((unsigned)i + 1);
		struct future *t = futs[i];
		futs[i] = futs[j];
		futs[j] = t;
	}
	int k = TWIN_CHAINS + TWIN_PLAIN;
	Twin_flag = 0;
	test_wait_logged(rt, futs, (size_t)k);
	for (int i = 0; i < k; i++)
		CHECK_EQ(futs[i]->context.state, FUTURE_STATE_COMPLETE);
	memcpy(log, test_log, test_log_n * sizeof(*log));
	*nlog = test_log_n;
}

static void
test_chain_twin(struct runtime *rt)
{
	static int want[TEST_LOG_MAX];
	for (uint64_t seed = 1; seed <= 300; seed++) {
		size_t n;
		twin_run(rt, seed, 1, want, &n);
		size_t m;
		int got[TEST_LOG_MAX];
		twin_run(rt, seed, 0, got, &m);
		memcpy(test_log, got, m * sizeof(*got));
		test_log_n = m;
		char what[64];
		snprintf(what, sizeof(what), "chain twin, seed %llu",
			(unsigned long long)seed);
		test_log_check(what, want, n);
	}
}

int
main(void)
{
	struct data_mover_threads *dmt = data_mover_threads_new(1, 16,
		FUTURE_NOTIFIER_WAKER);
	CHECK(dmt != NULL);
	Lib_async = data_mover_threads_get_vdm(dmt)->has_property;
	CHECK(Lib_async != NULL);
	CHECK_EQ(Lib_async(NULL, FUTURE_PROPERTY_ASYNC), 1);

	test_installed();
	struct runtime *rt = runtime_new();
	CHECK(rt != NULL);
	wait_four(rt, &Four[0]);
	test_lazy_chain(rt);
	wait_four(rt, &Four[1]);
	test_user_vdm(rt);
	test_chain_turns_async(rt);
	test_chain_twin(rt);
	runtime_delete(rt);
	data_mover_threads_delete(dmt);
	printf("ok\n");
	return 0;
}
