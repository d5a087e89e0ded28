/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * log.c -- a concurrent append-only log built from futures.
 *
 * An append is a chain of three steps:
 *   reserve  -- our own future: claims space with one atomic add;
 *   copy     -- a vdm_memcpy of the payload into the claimed space, built
 *               lazily once the offset is known (FUTURE_CHAIN_ENTRY_LAZY_INIT);
 *   commit   -- our own future: writes the record header and publishes it.
 * Several threads append at once, each keeping a batch of appends in
 * flight with runtime_wait_multiple; at the end the log is read back and
 * every record checked.
 *
 *   usage: log [threads] [records-per-thread]
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libminiasync.h>

struct log {
	unsigned char *buf;
	size_t cap;
	size_t tail;		/* next free byte, advanced atomically */
	struct vdm *vdm;
};

struct rec_hdr {
	uint32_t len;
	uint32_t committed;	/* 0 until the payload is in place */
};

#define ALIGN8(x) (((x) + 7) & ~(size_t)7)

/* ---- step 1: reserve ---- */
struct reserve_data {
	struct log *log;
	size_t len;
};
struct reserve_output {
	size_t off;		/* SIZE_MAX: the log is full */
};
FUTURE(reserve_future, struct reserve_data, struct reserve_output);

static enum future_state
reserve_task(struct future_context *ctx, struct future_notifier *n)
{
	struct reserve_data *d = future_context_get_data(ctx);
	struct reserve_output *o = future_context_get_output(ctx);
	if (n)
		n->notifier_used = FUTURE_NOTIFIER_NONE;
	size_t need = sizeof(struct rec_hdr) + ALIGN8(d->len);
	size_t off = __atomic_fetch_add(&d->log->tail, need, __ATOMIC_RELAXED);
	o->off = off + need <= d->log->cap ? off : SIZE_MAX;
	return FUTURE_STATE_COMPLETE;
}

/* ---- step 3: commit ---- */
struct commit_data {
	struct log *log;
	size_t off;
	size_t len;
};
struct commit_output {
	int ok;
};
FUTURE(commit_future, struct commit_data, struct commit_output);

static enum future_state
commit_task(struct future_context *ctx, struct future_notifier *n)
{
	struct commit_data *d = future_context_get_data(ctx);
	struct commit_output *o = future_context_get_output(ctx);
	if (n)
		n->notifier_used = FUTURE_NOTIFIER_NONE;
	o->ok = d->off != SIZE_MAX;
	if (o->ok) {
		struct rec_hdr *h = (struct rec_hdr *)(d->log->buf + d->off);
		h->len = (uint32_t)d->len;
		__atomic_store_n(&h->committed, 1, __ATOMIC_RELEASE);
	}
	return FUTURE_STATE_COMPLETE;
}

/* ---- the append chain ---- */
struct append_data {
	FUTURE_CHAIN_ENTRY(struct reserve_future, reserve);
	FUTURE_CHAIN_ENTRY(struct vdm_operation_future, copy);
	FUTURE_CHAIN_ENTRY_LAST(struct commit_future, commit);
	const void *payload;
	size_t off;
};
struct append_output {
	int ok;
};
FUTURE(append_future, struct append_data, struct append_output);

static void
reserve_done(struct future_context *lhs, struct future_context *rhs, void *arg)
{
	(void)rhs;
	struct append_data *a = arg;
	struct reserve_output *o = future_context_get_output(lhs);
	a->off = o->off;
}

/*
 * Built when the reserve step completes (before its map function runs), so
 * the offset is read from the reserve step's output.
 */
static void
copy_init(void *future, struct future_context *chain, void *arg)
{
	struct append_data *a = future_context_get_data(chain);
	struct log *log = arg;
	size_t len = a->reserve.fut.data.len;
	a->off = a->reserve.fut.output.off;
	void *dst = a->off == SIZE_MAX ? NULL :
		log->buf + a->off + sizeof(struct rec_hdr);
	*(struct vdm_operation_future *)future = vdm_memcpy(log->vdm, dst,
		(void *)a->payload, dst ? len : 0, 0);
}

static void
copy_done(struct future_context *lhs, struct future_context *rhs, void *arg)
{
	(void)lhs;
	struct append_data *a = arg;
	struct commit_data *c = future_context_get_data(rhs);
	c->off = a->off;
}

static void
commit_done(struct future_context *lhs, struct future_context *rhs, void *arg)
{
	(void)arg;
	struct commit_output *c = future_context_get_output(lhs);
	struct append_output *o = future_context_get_output(rhs);
	o->ok = c->ok;
}

/* The chain refers to its own data, so it is built in place. */
static void
log_append(struct append_future *f, struct log *log, const void *payload,
	size_t len)
{
	struct reserve_future r;
	r.data.log = log;
	r.data.len = len;
	FUTURE_INIT(&r, reserve_task);
	struct commit_future c;
	c.data.log = log;
	c.data.off = SIZE_MAX;
	c.data.len = len;
	FUTURE_INIT(&c, commit_task);

	f->data.payload = payload;
	f->data.off = SIZE_MAX;
	FUTURE_CHAIN_ENTRY_INIT(&f->data.reserve, r, reserve_done, &f->data);
	FUTURE_CHAIN_ENTRY_LAZY_INIT(&f->data.copy, copy_init, log, copy_done,
		&f->data);
	FUTURE_CHAIN_ENTRY_INIT(&f->data.commit, c, commit_done, NULL);
	f->output.ok = 0;
	FUTURE_CHAIN_INIT(f);
}

/* ---- writers ---- */
#define BATCH 8
#define PAYLOAD 200

struct writer {
	pthread_t thr;
	struct log *log;
	int id;
	int records;
	int failed;
};

static void
make_payload(unsigned char *p, int id, int seq)
{
	memset(p, 'a' + id % 26, PAYLOAD);
	snprintf((char *)p, PAYLOAD, "writer %d record %d", id, seq);
}

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct runtime *rt = runtime_new();
	if (!rt) {
		w->failed = 1;
		return NULL;
	}
	static __thread unsigned char payload[BATCH][PAYLOAD];
	struct append_future f[BATCH];
	struct future *all[BATCH];
	for (int seq = 0; seq < w->records; seq += BATCH) {
		int n = w->records - seq < BATCH ? w->records - seq : BATCH;
		for (int i = 0; i < n; i++) {
			make_payload(payload[i], w->id, seq + i);
			log_append(&f[i], w->log, payload[i], PAYLOAD);
			all[i] = FUTURE_AS_RUNNABLE(&f[i]);
		}
		runtime_wait_multiple(rt, all, (size_t)n);
		for (int i = 0; i < n; i++)
			if (!f[i].output.ok)
				w->failed = 1;
	}
	runtime_delete(rt);
	return NULL;
}

int
main(int argc, char *argv[])
{
	int nthreads = argc > 1 ? atoi(argv[1]) : 4;
	int per = argc > 2 ? atoi(argv[2]) : 2000;
	if (nthreads < 1 || nthreads > 64 || per < 1)
		return 2;

	struct data_mover_threads *dmt = data_mover_threads_default();
	if (!dmt)
		return 1;
	struct log log;
	log.cap = (size_t)nthreads * (size_t)per *
		(sizeof(struct rec_hdr) + ALIGN8(PAYLOAD));
	log.buf = calloc(1, log.cap);
	log.tail = 0;
	log.vdm = data_mover_threads_get_vdm(dmt);
	if (!log.buf)
		return 1;

	struct writer *w = calloc((size_t)nthreads, sizeof(*w));
	if (!w)
		return 1;
	for (int i = 0; i < nthreads; i++) {
		w[i].log = &log;
		w[i].id = i;
		w[i].records = per;
		if (pthread_create(&w[i].thr, NULL, writer_main, &w[i]))
			return 1;
	}
	int failed = 0;
	for (int i = 0; i < nthreads; i++) {
		pthread_join(w[i].thr, NULL);
		failed |= w[i].failed;
	}

	/* read it back: every record committed, each writer's all there */
	int *seen = calloc((size_t)nthreads * (size_t)per, sizeof(int));
	size_t off = 0, count = 0;
	unsigned char expect[PAYLOAD];
	while (seen && off < log.tail && off < log.cap) {
		struct rec_hdr *h = (struct rec_hdr *)(log.buf + off);
		const char *p = (const char *)(h + 1);
		int id, seq;
		if (!h->committed || h->len != PAYLOAD ||
				sscanf(p, "writer %d record %d", &id, &seq) != 2 ||
				id < 0 || id >= nthreads || seq < 0 || seq >= per) {
			failed = 1;
			break;
		}
		make_payload(expect, id, seq);
		if (memcmp(expect, p, PAYLOAD) != 0 || seen[id * per + seq]++)
			failed = 1;
		count++;
		off += sizeof(*h) + ALIGN8(h->len);
	}
	if (count != (size_t)nthreads * (size_t)per)
		failed = 1;
	printf("%zu records from %d writers, %s\n", count, nthreads,
		failed ? "LOG BROKEN" : "all present and intact");

	free(seen);
	free(w);
	free(log.buf);
	data_mover_threads_delete(dmt);
	return failed;
}
