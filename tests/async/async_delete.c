/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * async_delete.c -- pmem2_map_delete with operations pending: it must wait
 * until no mover writes into the map any more, for every mover, before it
 * unmaps. A threads mover copying 32 MiB, and a mover written here whose
 * helper thread writes 200 ms after the operation started, are each given
 * an operation polled once; the delete must return only after the bytes
 * are in the file (never with a worker still writing into an unmapped
 * range). A future never polled started nothing: delete drops it (and
 * frees its state) without running it.
 *
 * Usage: async_delete page|cache_line
 */
#include <pthread.h>
#include <libminiasync.h>
#include "autil.h"

/* ---- a slow mover: a helper thread writes 200 ms after op_start ---- */
struct slow_op {
	struct vdm_operation op;
	pthread_t th;
	int started;
	int complete;	/* under Slow_lock */
};

/* a lock rather than atomics: helgrind understands it */
static pthread_mutex_t Slow_lock = PTHREAD_MUTEX_INITIALIZER;
static int Slow_written;	/* how many operations wrote */
static int Slow_started;

static int
slow_get(int *p)
{
	pthread_mutex_lock(&Slow_lock);
	int v = *p;
	pthread_mutex_unlock(&Slow_lock);
	return v;
}

static void
slow_add(int *p, int v)
{
	pthread_mutex_lock(&Slow_lock);
	*p += v;
	pthread_mutex_unlock(&Slow_lock);
}

static void *
slow_worker(void *arg)
{
	struct slow_op *s = arg;
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	switch (s->op.type) {
	case VDM_OPERATION_MEMCPY:
		memcpy(s->op.data.memcpy.dest, s->op.data.memcpy.src,
			s->op.data.memcpy.n);
		break;
	case VDM_OPERATION_MEMSET:
		memset(s->op.data.memset.str, s->op.data.memset.c,
			s->op.data.memset.n);
		break;
	default:
		break;
	}
	slow_add(&Slow_written, 1);
	slow_add(&s->complete, 1);
	return NULL;
}

static void *
slow_new(struct vdm *vdm, const enum vdm_operation_type type)
{
	(void)vdm;
	(void)type;
	return calloc(1, sizeof(struct slow_op));
}

static int
slow_start(void *data, const struct vdm_operation *op,
	struct future_notifier *n)
{
	struct slow_op *s = data;
	if (n)
		n->notifier_used = FUTURE_NOTIFIER_NONE;
	s->op = *op;
	CHECK(pthread_create(&s->th, NULL, slow_worker, s) == 0);
	s->started = 1;
	slow_add(&Slow_started, 1);
	return 0;
}

static enum future_state
slow_check(void *data, const struct vdm_operation *op)
{
	(void)op;
	struct slow_op *s = data;
	return slow_get(&s->complete) ? FUTURE_STATE_COMPLETE :
		FUTURE_STATE_RUNNING;
}

static void
slow_delete(void *data, const struct vdm_operation *op,
	struct vdm_operation_output *out)
{
	struct slow_op *s = data;
	if (s->started)
		pthread_join(s->th, NULL);
	out->type = op->type;
	out->result = VDM_SUCCESS;
	out->output.memcpy.dest = op->data.memcpy.dest;
	free(s);
}

static struct vdm Slow_vdm = {
	.op_new = slow_new,
	.op_delete = slow_delete,
	.op_start = slow_start,
	.op_check = slow_check,
	.has_property = NULL,
	.capabilities = 0,
};

/* The file's bytes, read through a descriptor of our own. */
static void
check_file(const char *path, size_t off, const void *want, size_t len)
{
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	char *got = malloc(len);
	CHECK(got);
	CHECK_EQ(pread(fd, got, len, (off_t)off), (long long)len);
	CHECK_MEM_FAST(got, want, len);
	free(got);
	close(fd);
}

/* One operation polled once, then the map deleted at once. */
static void
delete_in_flight(enum pmem2_granularity g, struct vdm *vdm, const char *name,
	size_t len)
{
	struct amap m;
	amap_open(&m, g, len, vdm);
	char *src = malloc(len);
	CHECK(src);
	pattern(src, len, (unsigned)len);

	int before = slow_get(&Slow_written);
	struct vdm_operation_future f = pmem2_memcpy_async(m.map, m.addr, src,
		len, 0);
	enum future_state st = future_poll(FUTURE_AS_RUNNABLE(&f), NULL);
	if (st == FUTURE_STATE_COMPLETE)
		printf("async_delete %s: the copy completed in its first poll\n",
			name);
	CHECK_PMEM2_OK(pmem2_map_delete(&m.map));
	/* the future must not be polled again: its map is gone */
	if (vdm == &Slow_vdm && slow_get(&Slow_written) == before)
		FAIL("%s: map_delete returned while the mover had yet to write",
			name);
	check_file(m.path, 0, src, len);
	unlink(m.path);
	free(src);
	printf("async_delete %s %s: delete waited for the mover\n",
		gran_name(g), name);
}

/* A future never polled: the delete neither runs nor leaks it. */
static void
delete_unpolled(enum pmem2_granularity g, struct vdm *vdm, const char *name)
{
	const size_t len = 1 << 16;
	struct amap m;
	amap_open(&m, g, len, vdm);
	char *src = malloc(len), *zero = calloc(1, len);
	CHECK(src && zero);
	pattern(src, len, 3);
	int started = slow_get(&Slow_started);
	struct vdm_operation_future f = pmem2_memcpy_async(m.map, m.addr, src,
		len, 0);
	(void)f;
	CHECK_PMEM2_OK(pmem2_map_delete(&m.map));
	CHECK_EQ(slow_get(&Slow_started), started);
	check_file(m.path, 0, zero, len);
	unlink(m.path);
	free(src);
	free(zero);
	printf("async_delete %s %s: a future never polled was dropped\n",
		gran_name(g), name);
}

int
main(int argc, char *argv[])
{
	enum pmem2_granularity g = PMEM2_GRANULARITY_PAGE;
	if (argc > 1 && gran_parse(argv[1], &g))
		FAIL("usage: %s page|cache_line|byte", argv[0]);

	struct data_mover_threads *dmt = data_mover_threads_new(1, 1024,
		FUTURE_NOTIFIER_NONE);
	CHECK(dmt);
	struct vdm *tv = data_mover_threads_get_vdm(dmt);
	delete_in_flight(g, tv, "threads mover", (size_t)32 << 20);
	delete_unpolled(g, tv, "threads mover");
	data_mover_threads_delete(dmt);

	delete_in_flight(g, &Slow_vdm, "slow mover", (size_t)1 << 16);
	delete_unpolled(g, &Slow_vdm, "slow mover");

	/* the default mover has nothing in flight after a poll */
	delete_in_flight(g, NULL, "default mover", (size_t)1 << 16);
	delete_unpolled(g, NULL, "default mover");
	return 0;
}
