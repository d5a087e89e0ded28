/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * miniasync_busy.c -- a worker busy with a long operation must not hold back
 * an operation submitted after it while the other workers sleep: a mover
 * of N workers runs N operations at once. The first copy's (replacement)
 * function waits for the second copy's bytes; it gives up after a while
 * and the test fails, rather than hanging, when the second one was left
 * queued behind it.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include <libminiasync.h>
#include "helpers.h"

static unsigned char *D1, *D2;
static int Second_done;
static int Timed_out;

static int First_started;

static void *
slow_memcpy(void *dst, const void *src, size_t n, unsigned flags)
{
	(void)flags;
	if (dst == D1) {
		__atomic_store_n(&First_started, 1, __ATOMIC_SEQ_CST);
		double end = test_now() + 5;
		while (!__atomic_load_n(&Second_done, __ATOMIC_SEQ_CST)) {
			if (test_now() > end) {
				__atomic_store_n(&Timed_out, 1,
					__ATOMIC_SEQ_CST);
				break;
			}
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
		}
	}
	memcpy(dst, src, n);
	if (dst == D2)
		__atomic_store_n(&Second_done, 1, __ATOMIC_SEQ_CST);
	return dst;
}

/* sizes: below the split minimum, above the inline maximum */
static void
one(size_t nthreads, size_t n1, size_t n2)
{
	struct data_mover_threads *d = data_mover_threads_new(nthreads, 64,
		FUTURE_NOTIFIER_WAKER);
	CHECK(d != NULL);
	data_mover_threads_set_memcpy_fn(d, slow_memcpy);
	struct vdm *v = data_mover_threads_get_vdm(d);
	unsigned char *src = test_alloc(n1 > n2 ? n1 : n2);
	test_pattern(src, n1 > n2 ? n1 : n2, (unsigned)(nthreads + n2));
	D1 = test_alloc(n1);
	D2 = test_alloc(n2);
	Second_done = 0;
	Timed_out = 0;
	First_started = 0;

	struct vdm_operation_future f1 = vdm_memcpy(v, D1, src, n1, 0);
	CHECK(future_poll(FUTURE_AS_RUNNABLE(&f1), NULL) ==
		FUTURE_STATE_RUNNING);
	while (!__atomic_load_n(&First_started, __ATOMIC_SEQ_CST))
		sched_yield();
	/* the other workers are asleep by now (their spin is short) */
	struct timespec ts = { 0, 50000000 };
	nanosleep(&ts, NULL);

	struct runtime *rt = runtime_new();
	CHECK(rt != NULL);
	struct vdm_operation_future f2 = vdm_memcpy(v, D2, src, n2, 0);
	runtime_wait(rt, FUTURE_AS_RUNNABLE(&f2));
	runtime_wait(rt, FUTURE_AS_RUNNABLE(&f1));
	if (__atomic_load_n(&Timed_out, __ATOMIC_SEQ_CST))
		FAIL("%zu workers: a %zu-byte copy waited behind a busy "
			"worker while the others slept", nthreads, n2);
	CHECK_MEM(D1, src, n1);
	CHECK_MEM(D2, src, n2);
	runtime_delete(rt);
	data_mover_threads_delete(d);
	free(src);
	free(D1);
	free(D2);
}

int
main(void)
{
	one(2, 100 << 10, 100 << 10);
	one(2, 4096, 4096);
	one(4, 100 << 10, 4096);
	return 0;
}
