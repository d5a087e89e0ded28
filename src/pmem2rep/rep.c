// SPDX-License-Identifier: BSD-3-Clause
/*
 * rep.c -- the client side of libpmem2rep: connection setup and
 * authentication over a libfabric FI_EP_MSG endpoint, and the futures of
 * pmem2rep_write_async() / pmem2rep_memcpy_async().
 *
 * A write is one or more RMA writes into the daemon's registered mapping
 * followed by a PERSIST message for the range; the provider's
 * send-after-write ordering (FI_ORDER_SAW) lets the message leave right
 * behind the data, without waiting for the writes' local completions.
 * Where a provider lacks that ordering, PERSIST goes out once the writes
 * completed (delivery complete). The future completes on the daemon's DONE.
 *
 * Persist requests are not sent one by one: they queue (up to
 * REP_PERSISTV_MAX) and leave as one PERSISTV when the queue is full or
 * when a poll finds no write started since the last one, i.e. when the
 * caller has issued what it had. A request never waits for more than
 * the next poll of any future of the connection.
 *
 * Progress is driven by whoever polls a future of the connection; all state
 * is under one mutex.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>

#define PMEM2_USE_MINIASYNC 1
#include <libpmem2.h>
#include "libpmem2rep.h"
#include "proto.h"
#include "rep_internal.h"
#include "../common/env.h"

#define FI_VER FI_VERSION(1, 10)
#define NSLOTS REP_CREDITS	/* < 256: a request id is gen << 8 | slot */
#define CHUNK_MAX ((size_t)16 << 20)	/* completions at least this often */
#define DEFAULT_TIMEOUT_MS 30000
#define PROGRESS_GAP_NS 2000	/* polls closer than this share a progress */
#define PROGRESS_GAP_MAX_NS 30000
#define RAWQ 16	/* handshake/test messages kept until read */

static __thread char errmsg[640];

static void
seterr(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
}

const char *
pmem2rep_errormsg(void)
{
	return errmsg;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

enum op_kind { OP_WRITE, OP_MIRROR };

struct rep_op {
	struct pmem2rep *rep;
	enum op_kind kind;
	uint64_t offset;
	const char *src;
	size_t len;
	int slot;		/* in flight: index in rep->slots, else -1 */
	int started;		/* remote part issued (or failed) */
	int done;		/* remote part final: result set */
	int answered;		/* DONE received */
	int persist_queued;	/* in rep->pend or sent */
	int persist_sent;	/* on the wire: a DONE may come */
	int status;		/* DONE's status */
	unsigned pending_tx;	/* RMA writes not completed yet */
	enum vdm_operation_result result;
	char msg[512];
	/* mirror: the local half */
	struct vdm_operation_future local;
	int local_done;
	void *pmemdest;
};

struct slot {
	struct rep_op *op;
	uint32_t gen;
};

struct pmem2rep {
	pthread_mutex_t lock;
	struct fi_info *info;
	struct fid_fabric *fabric;
	struct fid_domain *domain;
	struct fid_eq *eq;
	struct fid_cq *cq;
	struct fid_ep *ep;
	char target[264];
	uint8_t key[REP_KEY_MAX];
	size_t keylen;
	uint64_t size, base, rkey;
	unsigned credits, inflight;
	int saw;		/* FI_ORDER_SAW: PERSIST right behind the data */
	size_t chunk;
	int failed;
	char failmsg[512];
	unsigned live_ops;	/* op states not yet deleted */
	uint64_t timeout_ns;
	uint64_t last_activity;
	uint64_t last_eq;	/* when the EQ was last read */
	uint64_t last_progress;	/* when a poll last drove the provider */
	uint64_t gap_ns;	/* polls closer than this to it skip it */
	struct slot slots[NSLOTS];
	/* persist requests not sent yet, and the op started last */
	struct rep_range pend[REP_PERSISTV_MAX];
	unsigned npend;
	const struct rep_op *fresh;
	struct vdm vdm;
	/* receive buffers, one context each */
	struct fi_context rctx[NSLOTS];
	uint8_t rbuf[NSLOTS][REP_MSG_MAX];
	/* received handshake/test messages, oldest first (a short queue) */
	uint8_t last[RAWQ][REP_MSG_MAX];
	size_t lastlen[RAWQ];
	unsigned qhead, have_last;
	int raw;		/* test hook: keep every message in last */
};

/* ---- connection-level failure: every in-flight op fails ---- */

static void
op_finish(struct pmem2rep *rep, struct rep_op *op,
	enum vdm_operation_result res, const char *msg)
{
	if (op->slot >= 0) {
		rep->slots[op->slot].op = NULL;
		rep->inflight--;
		op->slot = -1;
	}
	op->result = res;
	if (msg)
		snprintf(op->msg, sizeof(op->msg), "%s", msg);
	op->done = 1;
}

static void
rep_fail(struct pmem2rep *rep, const char *fmt, ...)
{
	if (rep->failed)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rep->failmsg, sizeof(rep->failmsg), fmt, ap);
	va_end(ap);
	rep->failed = 1;
	rep->npend = 0;
	for (unsigned i = 0; i < NSLOTS; i++)
		if (rep->slots[i].op)
			op_finish(rep, rep->slots[i].op, VDM_ERROR_IO,
				rep->failmsg);
}

/* ---- completions ---- */

static int
post_recv(struct pmem2rep *rep, unsigned i)
{
	ssize_t r = fi_recv(rep->ep, rep->rbuf[i], REP_MSG_MAX, NULL, 0,
		&rep->rctx[i]);
	if (r) {
		rep_fail(rep, "%s: posting a receive: %s", rep->target,
			fi_strerror((int)-r));
		return (int)r;
	}
	return 0;
}

static void
send_persist(struct pmem2rep *rep, struct rep_op *op);
static void
flush_persist(struct pmem2rep *rep);

static struct rep_op *
slot_op(struct pmem2rep *rep, uint64_t id)
{
	unsigned s = (unsigned)(id & 0xff);
	/* the whole id must match: bits above the generation included */
	if (s >= NSLOTS || rep->slots[s].op == NULL ||
			(id >> 8) != rep->slots[s].gen)
		return NULL;
	return rep->slots[s].op;
}

static void
maybe_complete(struct pmem2rep *rep, struct rep_op *op)
{
	if (!op->answered || op->pending_tx)
		return;
	if (op->status == 0)
		op_finish(rep, op, VDM_SUCCESS, NULL);
	else {
		char m[512];
		/* any int32 may come from the wire: no -INT32_MIN */
		int e = op->status < 0 && op->status != INT32_MIN ?
			-op->status : EIO;
		snprintf(m, sizeof(m), "%s: the replica failed the write: %s",
			rep->target, strerror(e));
		op_finish(rep, op, op->status == -ERANGE ?
			VDM_ERROR_JOB_CORRUPTED : VDM_ERROR_IO, m);
	}
}

/* The ids of a DONE or DONEV, how many, and their shared status. */
static uint32_t
answer_ids(const struct rep_msg *m, const uint64_t **ids, int32_t *status)
{
	if (m->type == REP_DONEV) {
		*ids = m->u.donev.id;
		*status = m->u.donev.status;
		return m->u.donev.n;
	}
	*ids = &m->u.done.id;
	*status = m->u.done.status;
	return 1;
}

/*
 * Every id first: an unknown, unasked, already answered or repeated one
 * fails the connection, and nothing of the message succeeds.
 */
static int
answer_valid(struct pmem2rep *rep, const struct rep_msg *m)
{
	const uint64_t *ids;
	int32_t status;
	uint32_t n = answer_ids(m, &ids, &status);
	for (uint32_t k = 0; k < n; k++) {
		struct rep_op *op = slot_op(rep, ids[k]);
		int repeated = 0;
		for (uint32_t j = 0; j < k; j++)
			repeated |= ids[j] == ids[k];
		if (op == NULL || !op->persist_sent || op->answered ||
				repeated) {
			rep_fail(rep, "%s: answer to an unknown request",
				rep->target);
			return -EPROTO;
		}
	}
	return 0;
}

static void
answer_apply(struct pmem2rep *rep, const struct rep_msg *m)
{
	const uint64_t *ids;
	int32_t status;
	uint32_t n = answer_ids(m, &ids, &status);
	for (uint32_t k = 0; k < n; k++) {
		struct rep_op *op = slot_op(rep, ids[k]);
		if (op == NULL)
			continue;	/* answer_valid() let none through */
		op->answered = 1;
		op->status = status;
		maybe_complete(rep, op);
	}
}

static void
handle_recv(struct pmem2rep *rep, unsigned i, size_t len)
{
	struct rep_msg m;
	if (rep_msg_parse(rep->rbuf[i], len, &m) != 0) {
		rep_fail(rep, "%s: malformed message from the replica",
			rep->target);
		return;
	}
	if ((m.type != REP_DONE && m.type != REP_DONEV) || rep->raw) {
		/* handshake messages: kept for whoever waits for them */
		if (rep->have_last == RAWQ) {
			rep_fail(rep, "%s: unexpected messages from the "
				"replica", rep->target);
			return;
		}
		unsigned q = (rep->qhead + rep->have_last++) % RAWQ;
		memcpy(rep->last[q], rep->rbuf[i], len);
		rep->lastlen[q] = len;
		post_recv(rep, i);
		return;
	}
	if (answer_valid(rep, &m) != 0 || post_recv(rep, i))
		return;
	answer_apply(rep, &m);
}

static void
handle_tx(struct pmem2rep *rep, void *ctx)
{
	struct rep_op *op = slot_op(rep, (uint64_t)(uintptr_t)ctx);
	if (op == NULL || op->pending_tx == 0)
		return;	/* a write of an op that already failed */
	if (--op->pending_tx == 0) {
		if (!op->persist_queued)
			send_persist(rep, op);
		maybe_complete(rep, op);
	}
}

/* Reads the EQ: a shutdown or an error fails the connection. */
static void
poll_eq(struct pmem2rep *rep)
{
	uint32_t event;
	struct fi_eq_cm_entry entry;
	ssize_t r = fi_eq_read(rep->eq, &event, &entry, sizeof(entry), 0);
	if (r == -FI_EAGAIN)
		return;
	if (r == -FI_EAVAIL) {
		struct fi_eq_err_entry e;
		memset(&e, 0, sizeof(e));
		fi_eq_readerr(rep->eq, &e, 0);
		rep_fail(rep, "%s: connection error: %s", rep->target,
			fi_strerror(e.err));
		return;
	}
	if (r >= 0 && event == FI_SHUTDOWN)
		rep_fail(rep, "%s: the replica closed the connection",
			rep->target);
}

/*
 * Drains the CQ (this is what drives the provider) and checks the EQ.
 * Returns how many completions it handled.
 */
static int
progress(struct pmem2rep *rep)
{
	struct fi_cq_msg_entry ent[16];
	int got = 0;

	if (rep->failed)
		return 0;
	for (;;) {
		ssize_t n = fi_cq_read(rep->cq, ent, 16);
		if (n == -FI_EAGAIN)
			break;
		if (n == -FI_EAVAIL) {
			struct fi_cq_err_entry e;
			memset(&e, 0, sizeof(e));
			fi_cq_readerr(rep->cq, &e, 0);
			rep_fail(rep, "%s: transfer failed: %s", rep->target,
				fi_strerror(e.err));
			return 1;
		}
		if (n < 0) {
			rep_fail(rep, "%s: reading completions: %s",
				rep->target, fi_strerror((int)-n));
			return 1;
		}
		rep->last_activity = now_ns();
		got += (int)n;
		for (ssize_t k = 0; k < n && !rep->failed; k++) {
			if (ent[k].flags & FI_RECV) {
				unsigned i = (unsigned)((struct fi_context *)
					ent[k].op_context - rep->rctx);
				if (i < NSLOTS)
					handle_recv(rep, i, ent[k].len);
			} else {
				handle_tx(rep, ent[k].op_context);
			}
		}
		if (n < 16)
			break;
	}
	/* the CQ reports most failures; the EQ (a shutdown) once a ms */
	uint64_t now = now_ns();
	if (!rep->failed && now - rep->last_eq > 1000000) {
		rep->last_eq = now;
		poll_eq(rep);
	}
	if (!rep->failed && rep->inflight &&
			now - rep->last_activity > rep->timeout_ns)
		rep_fail(rep, "%s: no answer from the replica within %" PRIu64
			" ms", rep->target, rep->timeout_ns / 1000000);
	return got;
}

/* Sends a small message; retries while the queue is full. */
static int
send_msg(struct pmem2rep *rep, const void *buf, size_t len)
{
	uint64_t deadline = now_ns() + rep->timeout_ns;
	for (;;) {
		ssize_t r = fi_inject(rep->ep, buf, len, 0);
		if (r == 0)
			return 0;
		if (r != -FI_EAGAIN) {
			rep_fail(rep, "%s: sending: %s", rep->target,
				fi_strerror((int)-r));
			return (int)r;
		}
		progress(rep);
		if (rep->failed)
			return -ECONNRESET;
		if (now_ns() > deadline) {
			rep_fail(rep, "%s: send queue stuck", rep->target);
			return -ETIMEDOUT;
		}
	}
}

/* Sends the queued persist requests: one PERSIST or PERSISTV. */
static void
flush_persist(struct pmem2rep *rep)
{
	if (rep->npend == 0 || rep->failed)
		return;
	struct rep_msg m;
	uint8_t buf[REP_MSG_MAX];

	memset(&m, 0, sizeof(m));
	if (rep->npend == 1) {
		m.type = REP_PERSIST;
		m.u.persist.id = rep->pend[0].id;
		m.u.persist.offset = rep->pend[0].offset;
		m.u.persist.len = rep->pend[0].len;
	} else {
		m.type = REP_PERSISTV;
		m.u.persistv.n = rep->npend;
		memcpy(m.u.persistv.r, rep->pend,
			rep->npend * sizeof(rep->pend[0]));
	}
	for (unsigned k = 0; k < rep->npend; k++) {
		struct rep_op *op = slot_op(rep, rep->pend[k].id);
		if (op)
			op->persist_sent = 1;
	}
	rep->npend = 0;
	send_msg(rep, buf, rep_msg_encode(&m, buf));
}

static void
send_persist(struct pmem2rep *rep, struct rep_op *op)
{
	struct rep_range *r = &rep->pend[rep->npend++];
	r->id = ((uint64_t)rep->slots[op->slot].gen << 8) |
		(unsigned)op->slot;
	r->offset = op->offset;
	r->len = op->len;
	op->persist_queued = 1;
	if (rep->npend == REP_PERSISTV_MAX)
		flush_persist(rep);
}

/*
 * Issues the remote half: 0 when issued (or finished with an error),
 * 1 when no credit is free (try again later).
 */
static int
remote_start(struct pmem2rep *rep, struct rep_op *op)
{
	if (op->done)
		return 0;
	if (rep->failed) {
		op_finish(rep, op, VDM_ERROR_IO, rep->failmsg);
		return 0;
	}
	if (rep->inflight >= rep->credits) {
		/* the queued requests hold credits: they must go out */
		flush_persist(rep);
		progress(rep);
		if (rep->failed) {
			op_finish(rep, op, VDM_ERROR_IO, rep->failmsg);
			return 0;
		}
		if (rep->inflight >= rep->credits)
			return 1;
	}
	unsigned s;
	for (s = 0; s < NSLOTS; s++)
		if (rep->slots[s].op == NULL)
			break;
	if (s == NSLOTS)
		return 1;
	if (rep->inflight == 0)
		rep->last_activity = now_ns();
	rep->slots[s].op = op;
	rep->slots[s].gen = (rep->slots[s].gen + 1) & 0xffffffu;
	if (rep->slots[s].gen == 0)
		rep->slots[s].gen = 1;
	rep->inflight++;
	op->slot = (int)s;
	op->started = 1;
	uint64_t id = ((uint64_t)rep->slots[s].gen << 8) | s;

	size_t nchunks = (op->len + rep->chunk - 1) / rep->chunk;
	op->pending_tx = (unsigned)nchunks;
	for (size_t c = 0; c < nchunks; c++) {
		size_t o = c * rep->chunk;
		size_t n = op->len - o < rep->chunk ? op->len - o : rep->chunk;
		uint64_t raddr = rep->base + op->offset + o;
		for (;;) {
			ssize_t r = fi_write(rep->ep, op->src + o, n, NULL, 0,
				raddr, rep->rkey, (void *)(uintptr_t)id);
			if (r == 0)
				break;
			if (r != -FI_EAGAIN) {
				rep_fail(rep, "%s: RMA write: %s",
					rep->target, fi_strerror((int)-r));
				return 0;
			}
			progress(rep);
			if (rep->failed)
				return 0;
			if (now_ns() - rep->last_activity > rep->timeout_ns) {
				rep_fail(rep, "%s: send queue stuck",
					rep->target);
				return 0;
			}
		}
	}
	if (rep->saw)
		send_persist(rep, op);
	rep->fresh = op;
	return 0;
}

/* ---- the connection's mover ---- */

static void *
v_op_new(struct vdm *vdm, const enum vdm_operation_type type)
{
	(void)vdm;
	(void)type;
	return NULL;	/* futures are only made by this library */
}

static int
v_op_start(void *data, const struct vdm_operation *operation,
	struct future_notifier *n)
{
	(void)operation;
	struct rep_op *op = data;
	struct pmem2rep *rep = op->rep;

	if (n)
		n->notifier_used = FUTURE_NOTIFIER_NONE;
	if (op->kind == OP_MIRROR && !op->local_done)
		op->local_done = future_poll(FUTURE_AS_RUNNABLE(&op->local),
			NULL) == FUTURE_STATE_COMPLETE;
	pthread_mutex_lock(&rep->lock);
	int busy = remote_start(rep, op);
	pthread_mutex_unlock(&rep->lock);
	return busy;
}

static enum future_state
v_op_check(void *data, const struct vdm_operation *operation)
{
	(void)operation;
	struct rep_op *op = data;
	struct pmem2rep *rep = op->rep;

	if (op->kind == OP_MIRROR && !op->local_done)
		op->local_done = future_poll(FUTURE_AS_RUNNABLE(&op->local),
			NULL) == FUTURE_STATE_COMPLETE;
	int idle = 0;
	pthread_mutex_lock(&rep->lock);
	/*
	 * The check right after an op's start leaves the queue alone: the
	 * caller may be about to start more. Any other check sends it.
	 */
	if (op == rep->fresh)
		rep->fresh = NULL;
	else if (rep->npend)
		flush_persist(rep);
	if (!op->done) {
		/*
		 * A runtime polls every future of a round: one trip into the
		 * provider serves them all, the others only look at their op.
		 */
		uint64_t now = now_ns();
		if (now - rep->last_progress >= rep->gap_ns) {
			rep->last_progress = now;
			/* an empty trip backs off (up to PROGRESS_GAP_MAX_NS) */
			if (progress(rep))
				rep->gap_ns = PROGRESS_GAP_NS;
			else if (rep->gap_ns < PROGRESS_GAP_MAX_NS)
				rep->gap_ns = 2 * rep->gap_ns + 1000;
			else
				idle = 1;
		}
	}
	/* without SAW, write completions just queued requests: send them */
	if (!rep->saw && rep->npend)
		flush_persist(rep);
	if (!op->done && rep->failed)
		op_finish(rep, op, VDM_ERROR_IO, rep->failmsg);
	int done = op->done;
	pthread_mutex_unlock(&rep->lock);
	if (!done || (op->kind == OP_MIRROR && !op->local_done)) {
		/* long quiet: let the threads that move our bytes run */
		if (idle)
			sched_yield();
		return FUTURE_STATE_RUNNING;
	}
	return FUTURE_STATE_COMPLETE;
}

static void
v_op_delete(void *data, const struct vdm_operation *operation,
	struct vdm_operation_output *output)
{
	(void)operation;
	struct rep_op *op = data;
	struct pmem2rep *rep = op->rep;

	enum vdm_operation_result res = op->result;
	if (op->kind == OP_MIRROR) {
		enum vdm_operation_result lres = op->local.output.result;
		if (lres != VDM_SUCCESS) {
			res = lres;
			snprintf(op->msg, sizeof(op->msg),
				"the local copy failed (result %d): %s",
				(int)lres, pmem2_errormsg());
		}
	}
	output->type = VDM_OPERATION_MEMCPY;
	output->result = res;
	output->output.memcpy.dest = op->kind == OP_MIRROR ? op->pmemdest :
		(void *)(uintptr_t)op->offset;
	if (res != VDM_SUCCESS)
		seterr("%s", op->msg);
	pthread_mutex_lock(&rep->lock);
	rep->live_ops--;
	if (rep->fresh == op)
		rep->fresh = NULL;
	pthread_mutex_unlock(&rep->lock);
	free(op);
}

static int
v_has_property(void *future, enum future_property property)
{
	(void)future;
	return property == FUTURE_PROPERTY_ASYNC;
}

/* ---- futures ---- */

static struct vdm_operation_future
failed_future(enum vdm_operation_result res, void *dest, size_t len,
	const void *src)
{
	struct vdm_operation_future f;
	memset(&f, 0, sizeof(f));
	f.data.operation.type = VDM_OPERATION_MEMCPY;
	f.data.operation.data.memcpy.dest = dest;
	f.data.operation.data.memcpy.src = (void *)src;
	f.data.operation.data.memcpy.n = len;
	f.output.type = VDM_OPERATION_MEMCPY;
	f.output.result = res;
	FUTURE_INIT_COMPLETE(&f);
	return f;
}

static struct vdm_operation_future
make_future(struct pmem2rep *rep, enum op_kind kind, uint64_t offset,
	const void *src, size_t len, void *dest, struct rep_op **opp)
{
	struct rep_op *op = calloc(1, sizeof(*op));
	if (op == NULL) {
		seterr("out of memory for a replica write");
		return failed_future(VDM_ERROR_OUT_OF_MEMORY, dest, len, src);
	}
	op->rep = rep;
	op->kind = kind;
	op->offset = offset;
	op->src = src;
	op->len = len;
	op->slot = -1;
	op->pmemdest = dest;
	pthread_mutex_lock(&rep->lock);
	rep->live_ops++;
	pthread_mutex_unlock(&rep->lock);

	struct vdm_operation_future f;
	memset(&f, 0, sizeof(f));
	f.data.operation.type = VDM_OPERATION_MEMCPY;
	f.data.operation.data.memcpy.dest = dest;
	f.data.operation.data.memcpy.src = (void *)src;
	f.data.operation.data.memcpy.n = len;
	f.data.vdm = &rep->vdm;
	f.data.data = op;
	f.output.type = VDM_OPERATION_MEMCPY;
	f.output.result = VDM_SUCCESS;
	FUTURE_INIT_EXT(&f, vdm_operation_impl, v_has_property);
	*opp = op;
	return f;
}

struct vdm_operation_future
pmem2rep_write_async(struct pmem2rep *rep, size_t offset, const void *src,
	size_t len, unsigned flags)
{
	void *dest = (void *)(uintptr_t)offset;
	if (rep == NULL || (src == NULL && len)) {
		seterr("pmem2rep_write_async: %s is NULL",
			rep == NULL ? "rep" : "src");
		return failed_future(VDM_ERROR_JOB_CORRUPTED, dest, len, src);
	}
	if (flags != 0) {
		seterr("pmem2rep_write_async: invalid flags %#x", flags);
		return failed_future(VDM_ERROR_JOB_CORRUPTED, dest, len, src);
	}
	if (!rep_range_ok(offset, len, rep->size)) {
		seterr("pmem2rep_write_async: [%zu, +%zu) is outside the "
			"replica's %" PRIu64 " bytes", offset, len, rep->size);
		return failed_future(VDM_ERROR_JOB_CORRUPTED, dest, len, src);
	}
	if (len == 0)
		return failed_future(VDM_SUCCESS, dest, len, src);
	struct rep_op *op;
	return make_future(rep, OP_WRITE, offset, src, len, dest, &op);
}

struct vdm_operation_future
pmem2rep_memcpy_async(struct pmem2rep *rep, struct pmem2_map *map,
	void *pmemdest, const void *src, size_t len, unsigned flags)
{
	if (rep == NULL || map == NULL || pmemdest == NULL ||
			(src == NULL && len)) {
		seterr("pmem2rep_memcpy_async: a NULL argument");
		return failed_future(VDM_ERROR_JOB_CORRUPTED, pmemdest, len,
			src);
	}
	char *base = pmem2_map_get_address(map);
	size_t msize = pmem2_map_get_size(map);
	char *d = pmemdest;
	if (d < base || !rep_range_ok((uint64_t)(d - base), len, msize)) {
		seterr("pmem2rep_memcpy_async: the destination is outside "
			"the map");
		return failed_future(VDM_ERROR_JOB_CORRUPTED, pmemdest, len,
			src);
	}
	uint64_t offset = (uint64_t)(d - base);
	if (!rep_range_ok(offset, len, rep->size)) {
		seterr("pmem2rep_memcpy_async: offset %" PRIu64 " + %zu is "
			"outside the replica's %" PRIu64 " bytes", offset, len,
			rep->size);
		return failed_future(VDM_ERROR_JOB_CORRUPTED, pmemdest, len,
			src);
	}
	struct rep_op *op;
	struct vdm_operation_future f = make_future(rep, OP_MIRROR, offset,
		src, len, pmemdest, &op);
	if (FUTURE_STATE(&f) == FUTURE_STATE_COMPLETE)
		return f;
	op->local = pmem2_memcpy_async(map, pmemdest, src, len, flags);
	if (len == 0) {
		/* nothing to send: only the local half */
		op->started = 1;
		op->done = 1;
		op->result = VDM_SUCCESS;
	}
	return f;
}

/* ---- connection setup ---- */

static int
fi_err(int r)
{
	/* libfabric's FI_E* values are errno values for the common ones */
	return r < 0 ? r : -r;
}

size_t
pmem2rep_size(const struct pmem2rep *rep)
{
	return rep ? (size_t)rep->size : 0;
}

static void
rep_close(struct pmem2rep *rep)
{
	if (rep->ep) {
		fi_shutdown(rep->ep, 0);
		fi_close(&rep->ep->fid);
	}
	if (rep->cq)
		fi_close(&rep->cq->fid);
	if (rep->eq)
		fi_close(&rep->eq->fid);
	if (rep->domain)
		fi_close(&rep->domain->fid);
	if (rep->fabric)
		fi_close(&rep->fabric->fid);
	if (rep->info)
		fi_freeinfo(rep->info);
	pthread_mutex_destroy(&rep->lock);
	memset(rep->key, 0, sizeof(rep->key));
	free(rep);
}

/*
 * Waits for a handshake message until the deadline; *q: its index in
 * rep->last, valid until the next receive.
 */
static int
wait_msg(struct pmem2rep *rep, struct rep_msg *m, uint64_t deadline,
	unsigned *q)
{
	while (!rep->have_last) {
		progress(rep);
		if (rep->failed) {
			seterr("%s", rep->failmsg);
			return -ECONNRESET;
		}
		if (rep->have_last)
			break;
		if (now_ns() > deadline) {
			seterr("%s: no answer within %" PRIu64 " ms",
				rep->target, rep->timeout_ns / 1000000);
			return -ETIMEDOUT;
		}
		struct timespec ts = { 0, 200000 };
		nanosleep(&ts, NULL);
	}
	*q = rep->qhead;
	rep->qhead = (rep->qhead + 1) % RAWQ;
	rep->have_last--;
	if (m && rep_msg_parse(rep->last[*q], rep->lastlen[*q], m) != 0) {
		seterr("%s: malformed handshake message", rep->target);
		return -EPROTO;
	}
	return 0;
}

static uint64_t
env_timeout_ns(void)
{
	const char *e = env_get("PMEM2REP_TIMEOUT_MS");
	long ms = DEFAULT_TIMEOUT_MS;
	if (e && *e) {
		char *end;
		long v = strtol(e, &end, 10);
		if (*end == '\0' && v > 0)
			ms = v;
		/* fi_eq_sread() takes an int of ms; more wrapped to 0 or < 0 */
		if (ms > INT_MAX)
			ms = INT_MAX;
	}
	return (uint64_t)ms * 1000000u;
}

static int
rep_open(struct pmem2rep **out, const char *target, const char *key_file,
	int auth)
{
	char host[256], port[32];
	int ret;

	if (out == NULL || target == NULL || (auth && key_file == NULL)) {
		seterr("pmem2rep_connect: a NULL argument");
		return -EINVAL;
	}
	*out = NULL;
	if (rep_split_target(target, host, sizeof(host), port,
			sizeof(port)) || strtoul(port, NULL, 10) == 0) {
		seterr("pmem2rep_connect: target \"%s\" is not HOST:PORT "
			"with PORT 1..65535", target);
		return -EINVAL;
	}
	struct pmem2rep *rep = calloc(1, sizeof(*rep));
	if (rep == NULL) {
		seterr("pmem2rep_connect: out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&rep->lock, NULL);
	snprintf(rep->target, sizeof(rep->target), "%s", target);
	rep->timeout_ns = env_timeout_ns();
	rep->gap_ns = PROGRESS_GAP_NS;
	if (auth) {
		char e[256];
		ret = rep_key_load(key_file, rep->key, &rep->keylen, e,
			sizeof(e));
		if (ret) {
			seterr("pmem2rep_connect: %s", e);
			goto err;
		}
	}

	struct fi_info *hints = fi_allocinfo();
	if (hints == NULL) {
		ret = -ENOMEM;
		seterr("pmem2rep_connect: out of memory");
		goto err;
	}
	hints->ep_attr->type = FI_EP_MSG;
	hints->caps = FI_MSG | FI_RMA | FI_WRITE;
	hints->mode = 0;
	hints->domain_attr->mr_mode = FI_MR_VIRT_ADDR | FI_MR_PROV_KEY |
		FI_MR_ALLOCATED;
	hints->tx_attr->msg_order = FI_ORDER_SAW;
	const char *prov = env_get("PMEM2REP_PROVIDER");
	if (prov && *prov)
		hints->fabric_attr->prov_name = strdup(prov);
	ret = fi_getinfo(FI_VER, host, port, 0, hints, &rep->info);
	rep->saw = 1;
	if (ret == -FI_ENODATA) {
		/* no send-after-write ordering: wait for the writes instead */
		hints->tx_attr->msg_order = 0;
		hints->tx_attr->op_flags = FI_DELIVERY_COMPLETE;
		ret = fi_getinfo(FI_VER, host, port, 0, hints, &rep->info);
		rep->saw = 0;
	}
	fi_freeinfo(hints);
	if (ret) {
		seterr("pmem2rep_connect: %s: no libfabric provider with "
			"messages and RMA writes reaches it: %s", target,
			fi_strerror(-ret));
		ret = fi_err(ret);
		goto err;
	}
	struct fi_info *fi = rep->info;
	const char *why = rep_provider_unsupported(fi->fabric_attr->prov_name);
	if (why) {
		ret = -ENOTSUP;
		seterr("pmem2rep_connect: %s", why);
		goto err;
	}
	if (fi->tx_attr->inject_size < REP_MSG_MAX) {
		ret = -ENOTSUP;
		seterr("pmem2rep_connect: provider %s injects only %zu bytes",
			fi->fabric_attr->prov_name, fi->tx_attr->inject_size);
		goto err;
	}
	rep->chunk = fi->ep_attr->max_msg_size < CHUNK_MAX ?
		fi->ep_attr->max_msg_size : CHUNK_MAX;

	struct fi_eq_attr eqa = { .size = 16, .wait_obj = FI_WAIT_UNSPEC };
	struct fi_cq_attr cqa = { .size = 4 * NSLOTS + 16,
		.format = FI_CQ_FORMAT_MSG, .wait_obj = FI_WAIT_NONE };
	const char *what = "fi_fabric";
	ret = fi_fabric(fi->fabric_attr, &rep->fabric, NULL);
	if (!ret) {
		what = "fi_eq_open";
		ret = fi_eq_open(rep->fabric, &eqa, &rep->eq, NULL);
	}
	if (!ret) {
		what = "fi_domain";
		ret = fi_domain(rep->fabric, fi, &rep->domain, NULL);
	}
	if (!ret) {
		what = "fi_cq_open";
		ret = fi_cq_open(rep->domain, &cqa, &rep->cq, NULL);
	}
	if (!ret) {
		what = "fi_endpoint";
		ret = fi_endpoint(rep->domain, fi, &rep->ep, NULL);
	}
	if (!ret) {
		what = "fi_ep_bind";
		ret = fi_ep_bind(rep->ep, &rep->eq->fid, 0);
	}
	if (!ret)
		ret = fi_ep_bind(rep->ep, &rep->cq->fid, FI_TRANSMIT | FI_RECV);
	if (!ret) {
		what = "fi_enable";
		ret = fi_enable(rep->ep);
	}
	if (ret) {
		seterr("pmem2rep_connect: %s: %s", what, fi_strerror(-ret));
		ret = fi_err(ret);
		goto err;
	}
	for (unsigned i = 0; i < NSLOTS; i++)
		if ((ret = post_recv(rep, i)) != 0) {
			seterr("%s", rep->failmsg);
			ret = fi_err(ret);
			goto err;
		}
	ret = fi_connect(rep->ep, fi->dest_addr, NULL, 0);
	if (ret) {
		seterr("pmem2rep_connect: %s: %s", target, fi_strerror(-ret));
		ret = fi_err(ret);
		goto err;
	}
	uint32_t event;
	struct fi_eq_cm_entry entry;
	ssize_t r = fi_eq_sread(rep->eq, &event, &entry, sizeof(entry),
		(int)(rep->timeout_ns / 1000000), 0);
	if (r == -FI_EAVAIL) {
		struct fi_eq_err_entry e;
		memset(&e, 0, sizeof(e));
		fi_eq_readerr(rep->eq, &e, 0);
		seterr("pmem2rep_connect: %s: %s", target, fi_strerror(e.err));
		ret = e.err ? -e.err : -ECONNREFUSED;
		goto err;
	}
	if (r == -FI_EAGAIN || r == -FI_ETIMEDOUT) {
		seterr("pmem2rep_connect: %s: no connection within %" PRIu64
			" ms", target, rep->timeout_ns / 1000000);
		ret = -ETIMEDOUT;
		goto err;
	}
	if (r < 0 || event != FI_CONNECTED) {
		seterr("pmem2rep_connect: %s: connection not established",
			target);
		ret = -ECONNREFUSED;
		goto err;
	}

	uint64_t deadline = now_ns() + rep->timeout_ns;
	struct rep_msg hello, m;
	unsigned q;
	if ((ret = wait_msg(rep, &hello, deadline, &q)) != 0)
		goto err;
	if (hello.type != REP_HELLO || hello.u.hello.version != REP_VERSION) {
		seterr("pmem2rep_connect: %s does not speak pmem2rep v%u",
			target, REP_VERSION);
		ret = -EPROTO;
		goto err;
	}
	if (!auth) {
		*out = rep;
		return 0;
	}
	uint8_t nonce[REP_NONCE], buf[REP_MSG_MAX];
	if (rep_client_auth(rep->key, rep->keylen, &hello, nonce, &m)) {
		seterr("pmem2rep_connect: no random bytes for the nonce");
		ret = -EIO;
		goto err;
	}
	if ((ret = send_msg(rep, buf, rep_msg_encode(&m, buf))) != 0) {
		seterr("%s", rep->failmsg);
		goto err;
	}
	ret = wait_msg(rep, &m, deadline, &q);
	if (ret == -ECONNRESET) {
		seterr("pmem2rep_connect: %s closed the connection during "
			"authentication", target);
		goto err;
	}
	if (ret)
		goto err;
	if (m.type == REP_REFUSED) {
		seterr("pmem2rep_connect: %s refused the key (authentication "
			"failed)", target);
		ret = -EACCES;
		goto err;
	}
	if (m.type != REP_WELCOME) {
		seterr("pmem2rep_connect: %s: unexpected handshake message",
			target);
		ret = -EPROTO;
		goto err;
	}
	if (!rep_client_check_welcome(rep->key, rep->keylen,
			hello.u.hello.nonce, nonce, &m)) {
		seterr("pmem2rep_connect: %s did not prove it holds the key",
			target);
		ret = -EACCES;
		goto err;
	}
	rep->size = m.u.welcome.size;
	rep->base = m.u.welcome.base;
	rep->rkey = m.u.welcome.rkey;
	rep->credits = m.u.welcome.credits;
	if (rep->credits > NSLOTS)
		rep->credits = NSLOTS;
	if (rep->credits == 0) {
		seterr("pmem2rep_connect: %s grants no requests", target);
		ret = -EPROTO;
		goto err;
	}
	memset(rep->key, 0, sizeof(rep->key));	/* not needed any more */

	rep->vdm.op_new = v_op_new;
	rep->vdm.op_delete = v_op_delete;
	rep->vdm.op_start = v_op_start;
	rep->vdm.op_check = v_op_check;
	rep->vdm.capabilities = VDM_F_MEM_DURABLE;
	rep->vdm.has_property = v_has_property;
	*out = rep;
	return 0;
err:
	rep_close(rep);
	return ret;
}

int
pmem2rep_connect(struct pmem2rep **rep, const char *target,
	const char *key_file)
{
	return rep_open(rep, target, key_file, 1);
}

int
pmem2rep_disconnect(struct pmem2rep **repp)
{
	if (repp == NULL || *repp == NULL)
		return 0;
	struct pmem2rep *rep = *repp;
	pthread_mutex_lock(&rep->lock);
	unsigned live = rep->live_ops;
	pthread_mutex_unlock(&rep->lock);
	if (live) {
		seterr("pmem2rep_disconnect: %u futures of this connection "
			"are not complete", live);
		return -EBUSY;
	}
	rep_close(rep);
	*repp = NULL;
	return 0;
}

/* ---- test hooks ---- */

int
rep_test_connect_noauth(struct pmem2rep **rep, const char *target)
{
	return rep_open(rep, target, NULL, 0);
}

int
rep_test_send_raw(struct pmem2rep *rep, const void *buf, size_t len)
{
	pthread_mutex_lock(&rep->lock);
	rep->raw = 1;
	ssize_t r;
	if (len <= rep->info->tx_attr->inject_size) {
		r = fi_inject(rep->ep, buf, len, 0);
	} else {
		/* wait for the send to finish: buf belongs to the caller */
		struct fi_context ctx;
		r = fi_send(rep->ep, buf, len, NULL, 0, &ctx);
		uint64_t deadline = now_ns() + rep->timeout_ns;
		struct fi_cq_msg_entry e;
		while (r == 0) {
			ssize_t n = fi_cq_read(rep->cq, &e, 1);
			if (n == 1 && e.op_context == &ctx)
				break;
			if (n == -FI_EAVAIL || now_ns() > deadline) {
				r = -FI_EIO;
				break;
			}
		}
	}
	pthread_mutex_unlock(&rep->lock);
	return (int)r;
}

int
rep_test_write_raw(struct pmem2rep *rep, uint64_t offset, const void *src,
	size_t len, int timeout_ms)
{
	pthread_mutex_lock(&rep->lock);
	ssize_t r = fi_write(rep->ep, src, len, NULL, 0, rep->base + offset,
		rep->rkey, (void *)(uintptr_t)1);
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
	struct fi_cq_msg_entry e;
	while (r == 0) {
		ssize_t n = fi_cq_read(rep->cq, &e, 1);
		if (n == 1 && e.op_context == (void *)(uintptr_t)1)
			break;
		if (n == -FI_EAVAIL) {
			struct fi_cq_err_entry ee;
			memset(&ee, 0, sizeof(ee));
			fi_cq_readerr(rep->cq, &ee, 0);
			r = -ee.err;
			break;
		}
		if (now_ns() > deadline) {
			r = -FI_ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&rep->lock);
	return (int)r;
}

int
rep_test_wait_closed(struct pmem2rep *rep, int timeout_ms)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
	pthread_mutex_lock(&rep->lock);
	while (!rep->failed && now_ns() < deadline) {
		progress(rep);
		pthread_mutex_unlock(&rep->lock);
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&rep->lock);
	}
	int closed = rep->failed;
	pthread_mutex_unlock(&rep->lock);
	return closed;
}

int
rep_test_recv_raw(struct pmem2rep *rep, void *buf, size_t cap,
	int timeout_ms)
{
	pthread_mutex_lock(&rep->lock);
	unsigned q;
	int ret = wait_msg(rep, NULL,
		now_ns() + (uint64_t)timeout_ms * 1000000u, &q);
	if (ret == 0) {
		ret = (int)(rep->lastlen[q] < cap ? rep->lastlen[q] : cap);
		memcpy(buf, rep->last[q], (size_t)ret);
	}
	pthread_mutex_unlock(&rep->lock);
	return ret;
}

int
rep_test_answer(struct pmem2rep *rep, const void *buf, size_t len)
{
	struct rep_msg m;
	if (rep_msg_parse(buf, len, &m) != 0 ||
			(m.type != REP_DONE && m.type != REP_DONEV))
		return -EINVAL;
	pthread_mutex_lock(&rep->lock);
	if (!rep->failed && answer_valid(rep, &m) == 0)
		answer_apply(rep, &m);
	int failed = rep->failed;
	pthread_mutex_unlock(&rep->lock);
	return failed;
}

void
rep_test_set_credits(struct pmem2rep *rep, unsigned credits)
{
	pthread_mutex_lock(&rep->lock);
	if (credits >= 1 && credits <= rep->credits)
		rep->credits = credits;
	pthread_mutex_unlock(&rep->lock);
}
