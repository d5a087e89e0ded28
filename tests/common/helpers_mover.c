/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * helpers_mover.c -- the configurable test mover (see helpers.h). It uses
 * libminiasync's inline functions only, so tests that link libpmem2 alone
 * may use it too. Its libc copy is the user's mover of
 * examples/miniasync/user_mover.c, the one the page bench measures: both
 * stand in for a third party's mover, written on the public vdm interface.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helpers.h"
#include "user_mover.h"

struct tm_op {
	struct test_mover *m;
	struct tm_op *prev, *next;	/* m->ops, under m->lock */
	struct vdm_operation op;	/* the operation as op_start saw it */
	void *inner_data;		/* forward_raw: the inner operation */
	struct vdm_operation_future fut; /* forwarding through a future */
	pthread_t th;
	int started;
	int thread;		/* th runs (delay_ms) */
	unsigned long done;	/* the bytes are written; under m->lock */
};

static void
add(struct test_mover *m, unsigned long *c, long v)
{
	pthread_mutex_lock(&m->lock);
	*c += (unsigned long)v;
	pthread_mutex_unlock(&m->lock);
}

void
test_op_range(const struct vdm_operation *op, void **dest, size_t *len)
{
	user_mover_range(op, dest, len, NULL);
}

/* What the libc mover does for one operation (nothing on a set failure). */
static void
do_write(struct test_mover *m, const struct vdm_operation *op)
{
	if (m->result != VDM_SUCCESS)
		return;
	user_mover_write(op);
	void *dest;
	size_t len;
	uint64_t flags;
	user_mover_range(op, &dest, &len, &flags);
	if ((flags & VDM_F_MEM_DURABLE) && m->persist)
		m->persist(dest, len);
	if (m->written)
		m->written(op);
	add(m, &m->writes, 1);
}

static void *
tm_new(struct vdm *vdm, const enum vdm_operation_type type)
{
	struct test_mover *m = (struct test_mover *)vdm;
	pthread_mutex_lock(&m->lock);
	unsigned long n = ++m->new_calls;
	int fail = m->fail_new == -1 || (m->fail_new > 0 &&
			(unsigned long)m->fail_new == n) ||
		(m->max_live && m->live >= m->max_live);
	if (!fail) {
		m->live++;
		m->news++;
	}
	pthread_mutex_unlock(&m->lock);
	if (fail)
		return NULL;

	struct tm_op *op = calloc(1, sizeof(*op));
	if (op && m->inner && m->forward_raw) {
		op->inner_data = m->inner->op_new(m->inner, type);
		if (op->inner_data == NULL) {
			free(op);
			op = NULL;
		}
	}
	if (op == NULL) {
		pthread_mutex_lock(&m->lock);
		m->live--;
		m->news--;
		pthread_mutex_unlock(&m->lock);
		return NULL;
	}
	op->m = m;
	pthread_mutex_lock(&m->lock);
	op->next = m->ops;
	if (op->next)
		op->next->prev = op;
	m->ops = op;
	pthread_mutex_unlock(&m->lock);
	return op;
}

static void *
delayed_write(void *arg)
{
	struct tm_op *op = arg;
	struct timespec ts = { (time_t)(op->m->delay_ms / 1000),
		(long)(op->m->delay_ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
	do_write(op->m, &op->op);
	add(op->m, &op->done, 1);
	return NULL;
}

static int
op_done(struct tm_op *op)
{
	pthread_mutex_lock(&op->m->lock);
	int d = op->done;
	pthread_mutex_unlock(&op->m->lock);
	return d;
}

static int
tm_start(void *data, const struct vdm_operation *o, struct future_notifier *n)
{
	struct tm_op *op = data;
	if (op == NULL)
		FAIL("start of an operation that was never created");
	struct test_mover *m = op->m;
	add(m, &m->starts, 1);
	op->op = *o;
	if (m->inner && m->forward_raw)
		return m->inner->op_start(op->inner_data, &op->op, n);
	if (n)
		n->notifier_used = FUTURE_NOTIFIER_NONE;	/* poll us */
	if (op->started)
		return 0;
	op->started = 1;
	if (m->inner) {
		/*
		 * Through a future of our own, not the inner op_* with our
		 * operation: a mover may assume its operation lives inside
		 * its own future.
		 */
		switch (o->type) {
		case VDM_OPERATION_MEMCPY:
			op->fut = vdm_memcpy(m->inner, o->data.memcpy.dest,
				o->data.memcpy.src, o->data.memcpy.n, 0);
			break;
		case VDM_OPERATION_MEMMOVE:
			op->fut = vdm_memmove(m->inner, o->data.memmove.dest,
				o->data.memmove.src, o->data.memmove.n, 0);
			break;
		case VDM_OPERATION_MEMSET:
			op->fut = vdm_memset(m->inner, o->data.memset.str,
				o->data.memset.c, o->data.memset.n, 0);
			break;
		case VDM_OPERATION_FLUSH:
			op->fut = vdm_flush(m->inner, o->data.flush.dest,
				o->data.flush.n, 0);
			break;
		}
		return 0;
	}
	if (m->gate)
		return 0;	/* op_check writes once the gate opens */
	if (m->delay_ms) {
		CHECK(pthread_create(&op->th, NULL, delayed_write, op) == 0);
		op->thread = 1;
		return 0;
	}
	do_write(m, &op->op);
	add(m, &op->done, 1);
	return 0;
}

static enum future_state
tm_check(void *data, const struct vdm_operation *o)
{
	struct tm_op *op = data;
	if (op == NULL)
		FAIL("check of an operation that was never created");
	struct test_mover *m = op->m;
	add(m, &m->checks, 1);
	if (m->inner && m->forward_raw)
		return m->inner->op_check(op->inner_data, &op->op);
	if (m->inner) {
		if (future_poll(FUTURE_AS_RUNNABLE(&op->fut), NULL) !=
				FUTURE_STATE_COMPLETE)
			return FUTURE_STATE_RUNNING;
		if (op->fut.output.result == VDM_SUCCESS) {
			if (m->written)
				m->written(o);
			add(m, &m->writes, 1);
		}
		return FUTURE_STATE_COMPLETE;
	}
	if (!op->started)
		return FUTURE_STATE_IDLE;
	if (m->gate && !op_done(op)) {
		if (!__atomic_load_n(m->gate, __ATOMIC_ACQUIRE))
			return FUTURE_STATE_RUNNING;
		do_write(m, &op->op);
		add(m, &op->done, 1);
	}
	return op_done(op) ? FUTURE_STATE_COMPLETE : FUTURE_STATE_RUNNING;
}

static void
tm_delete(void *data, const struct vdm_operation *o,
	struct vdm_operation_output *out)
{
	struct tm_op *op = data;
	if (op == NULL)
		FAIL("delete of an operation that was never created");
	struct test_mover *m = op->m;
	if (m->inner && m->forward_raw) {
		m->inner->op_delete(op->inner_data, &op->op, out);
	} else if (m->inner) {
		*out = op->fut.output;
		out->type = o->type;
	} else {
		if (op->thread)
			pthread_join(op->th, NULL);
		if (m->result == VDM_SUCCESS) {
			user_mover_output(o, out);
		} else {
			memset(out, 0, sizeof(*out));
			out->type = o->type;
			out->result = m->result;
		}
	}
	pthread_mutex_lock(&m->lock);
	m->deletes++;
	m->live--;
	if (op->prev)
		op->prev->next = op->next;
	else
		m->ops = op->next;
	if (op->next)
		op->next->prev = op->prev;
	pthread_mutex_unlock(&m->lock);
	free(op);
}

void
test_mover_init(struct test_mover *m, struct vdm *inner)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->inner = inner;
	m->result = VDM_SUCCESS;
	m->base.op_new = tm_new;
	m->base.op_start = tm_start;
	m->base.op_check = tm_check;
	m->base.op_delete = tm_delete;
	m->base.capabilities = 0;
	m->base.has_property = NULL;
}

unsigned long
test_mover_count(struct test_mover *m, enum test_mover_counter c)
{
	pthread_mutex_lock(&m->lock);
	unsigned long v = 0;
	switch (c) {
	case TM_NEWS: v = m->news; break;
	case TM_STARTS: v = m->starts; break;
	case TM_CHECKS: v = m->checks; break;
	case TM_DELETES: v = m->deletes; break;
	case TM_WRITES: v = m->writes; break;
	case TM_LIVE: v = m->live; break;
	case TM_NEW_CALLS: v = m->new_calls; break;
	}
	pthread_mutex_unlock(&m->lock);
	return v;
}
