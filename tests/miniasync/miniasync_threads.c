/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * miniasync_threads.c -- the threads mover beyond plain copies: error paths,
 * 1,000,000 operations through a 4-slot ring, deleting with work in
 * flight, set_*_fn receiving the flags, futures moved in memory and polled
 * from another thread, a wrapping mover passing its own operation copy,
 * splits that find the ring full half way.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include <libminiasync.h>
#include "helpers.h"

static struct data_mover_threads *
mover(size_t nthreads, size_t ring, enum future_notifier_type nt,
	const char *inline_max, const char *split_min)
{
	setenv("MINIASYNC_THREADS_INLINE_MAX", inline_max, 1);
	setenv("MINIASYNC_THREADS_SPLIT_MIN", split_min, 1);
	struct data_mover_threads *d = data_mover_threads_new(nthreads, ring, nt);
	CHECK(d != NULL);
	unsetenv("MINIASYNC_THREADS_INLINE_MAX");
	unsetenv("MINIASYNC_THREADS_SPLIT_MIN");
	return d;
}

static int
sanitized(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
	return 1;
#else
	return 0;
#endif
#else
	return 0;
#endif
}

static void
test_errors(void)
{
	CHECK(data_mover_threads_new(0, 4, FUTURE_NOTIFIER_WAKER) == NULL);
	size_t bad[] = { 0, 3, 5, 6, 12, 100, 1000, (size_t)-1 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(data_mover_threads_new(1, bad[i],
			FUTURE_NOTIFIER_WAKER) == NULL);
	CHECK(data_mover_threads_new(1, 4, (enum future_notifier_type)3) == NULL);
	CHECK(data_mover_threads_new(1, 4, (enum future_notifier_type)-1) == NULL);
	/* allocation failures (sanitizer and valgrind allocators abort) */
	if (!sanitized() && !RUNNING_ON_VALGRIND)
		CHECK(data_mover_threads_new((size_t)1 << 60, 4,
			FUTURE_NOTIFIER_WAKER) == NULL);
	CHECK(data_mover_threads_new(1, (size_t)1 << 62,
		FUTURE_NOTIFIER_WAKER) == NULL);
	/* every power of two up to a few thousand slots, including 1 */
	for (size_t r = 1; r <= 4096; r *= 2) {
		struct data_mover_threads *d = data_mover_threads_new(1, r,
			FUTURE_NOTIFIER_NONE);
		CHECK(d != NULL);
		data_mover_threads_delete(d);
	}
	/* NULL is fine for every delete */
	data_mover_threads_delete(NULL);
	data_mover_sync_delete(NULL);
	vdm_synchronous_delete(NULL);
	runtime_delete(NULL);

	/*
	 * Thread creation failure: in a child with an address-space limit
	 * that leaves room for a few thread stacks only. _new must clean up
	 * and return NULL (not crash, not hang).
	 */
	if (sanitized() || RUNNING_ON_VALGRIND) {
		fprintf(stderr, "thread-creation failure check skipped "
			"(sanitizer or valgrind)\n");
		return;
	}
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		FILE *f = fopen("/proc/self/statm", "r");
		unsigned long pages = 0;
		if (f == NULL || fscanf(f, "%lu", &pages) != 1)
			_exit(3);
		fclose(f);
		struct rlimit rl;
		rl.rlim_cur = rl.rlim_max = pages * 4096ul + (48ul << 20);
		if (setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(4);
		struct data_mover_threads *d = data_mover_threads_new(256, 4,
			FUTURE_NOTIFIER_WAKER);
		_exit(d == NULL ? 0 : 5);
	}
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
}

/* Many operations through a tiny ring, with far more in flight than slots. */
static void
test_small_ring(size_t nthreads, size_t total)
{
	struct data_mover_threads *d = mover(nthreads, 4, FUTURE_NOTIFIER_WAKER,
		"0", "1048576");
	struct vdm *v = data_mover_threads_get_vdm(d);
	enum { INFLIGHT = 32, SZ = 64 };
	static struct vdm_operation_future f[INFLIGHT];
	static unsigned char src[INFLIGHT][SZ], dst[INFLIGHT][SZ];
	static uint64_t seq[INFLIGHT];
	size_t issued = 0, done = 0, idle_polls = 0;

	for (int i = 0; i < INFLIGHT; i++) {
		seq[i] = issued++;
		memset(src[i], (int)(seq[i] & 0xff), SZ);
		memcpy(src[i], &seq[i], sizeof(seq[i]));
		f[i] = vdm_memcpy(v, dst[i], src[i], SZ, 0);
	}
	while (done < total) {
		size_t before = done;
		for (int i = 0; i < INFLIGHT; i++) {
			if (FUTURE_STATE(&f[i]) == FUTURE_STATE_COMPLETE)
				continue;
			enum future_state s = future_poll(
				FUTURE_AS_RUNNABLE(&f[i]), NULL);
			if (s == FUTURE_STATE_IDLE)
				idle_polls++;
			if (s != FUTURE_STATE_COMPLETE)
				continue;
			CHECK_EQ(f[i].output.result, VDM_SUCCESS);
			CHECK_MEM(dst[i], src[i], SZ);
			done++;
			if (issued < total) {
				seq[i] = issued++;
				memset(src[i], (int)(seq[i] & 0xff), SZ);
				memcpy(src[i], &seq[i], sizeof(seq[i]));
				f[i] = vdm_memcpy(v, dst[i], src[i], SZ, 0);
			}
		}
		if (done == before)
			sched_yield();	/* let the worker run on a busy machine */
	}
	/* the ring was full many times and nothing got lost */
	CHECK(idle_polls > 0);
	data_mover_threads_delete(d);
}

/* Queued work finishes before delete returns. */
static void
test_delete_in_flight(void)
{
	struct data_mover_threads *d = mover(2, 64, FUTURE_NOTIFIER_WAKER,
		"0", "1048576");
	struct vdm *v = data_mover_threads_get_vdm(d);
	enum { N = 48 };
	size_t sz = test_quick() ? 16384 : 262144;
	unsigned char *src = test_alloc(sz), *dst = test_alloc(N * sz);
	test_pattern(src, sz, 77);
	memset(dst, 0, N * sz);
	static struct vdm_operation_future f[N];
	int started = 0;
	for (int i = 0; i < N; i++) {
		f[i] = vdm_memcpy(v, dst + (size_t)i * sz, src, sz, 0);
		if (future_poll(FUTURE_AS_RUNNABLE(&f[i]), NULL) !=
				FUTURE_STATE_IDLE)
			started++;
	}
	CHECK_EQ(started, N);
	data_mover_threads_delete(d);
	for (int i = 0; i < N; i++)
		CHECK_MEM(dst + (size_t)i * sz, src, sz);
	free(src);
	free(dst);
}

/* ---- set_*_fn ---- */
static unsigned seen_flags[3];
static int seen_calls[3];

static void *
my_memcpy(void *dst, const void *src, size_t n, unsigned flags)
{
	__atomic_store_n(&seen_flags[0], flags, __ATOMIC_RELAXED);
	__atomic_fetch_add(&seen_calls[0], 1, __ATOMIC_RELAXED);
	return memcpy(dst, src, n);
}

static void *
my_memmove(void *dst, const void *src, size_t n, unsigned flags)
{
	__atomic_store_n(&seen_flags[1], flags, __ATOMIC_RELAXED);
	__atomic_fetch_add(&seen_calls[1], 1, __ATOMIC_RELAXED);
	return memmove(dst, src, n);
}

static void *
my_memset(void *s, int c, size_t n, unsigned flags)
{
	__atomic_store_n(&seen_flags[2], flags, __ATOMIC_RELAXED);
	__atomic_fetch_add(&seen_calls[2], 1, __ATOMIC_RELAXED);
	return memset(s, c, n);
}

static void
test_set_fns(const char *inline_max)
{
	struct data_mover_threads *d = mover(1, 8, FUTURE_NOTIFIER_WAKER,
		inline_max, "1048576");
	struct vdm *v = data_mover_threads_get_vdm(d);
	struct runtime *rt = runtime_new();
	CHECK(rt != NULL);
	data_mover_threads_set_memcpy_fn(d, my_memcpy);
	data_mover_threads_set_memmove_fn(d, my_memmove);
	data_mover_threads_set_memset_fn(d, my_memset);
	char a[1024], b[1024];
	test_pattern(a, sizeof(a), 5);
	memset(seen_calls, 0, sizeof(seen_calls));

	uint64_t flagsets[] = { 0, VDM_F_MEM_DURABLE, VDM_F_NO_CACHE_HINT,
		VDM_F_MEM_DURABLE | VDM_F_NO_CACHE_HINT };
	for (int k = 0; k < 4; k++) {
		struct vdm_operation_future f = vdm_memcpy(v, b, a, 100,
			flagsets[k]);
		runtime_wait(rt, FUTURE_AS_RUNNABLE(&f));
		CHECK_EQ(__atomic_load_n(&seen_flags[0], __ATOMIC_RELAXED),
			flagsets[k]);
		CHECK_MEM(a, b, 100);
		f = vdm_memmove(v, b + 1, b, 200, flagsets[k]);
		runtime_wait(rt, FUTURE_AS_RUNNABLE(&f));
		CHECK_EQ(__atomic_load_n(&seen_flags[1], __ATOMIC_RELAXED),
			flagsets[k]);
		f = vdm_memset(v, b, 3, 300, flagsets[k]);
		runtime_wait(rt, FUTURE_AS_RUNNABLE(&f));
		CHECK_EQ(__atomic_load_n(&seen_flags[2], __ATOMIC_RELAXED),
			flagsets[k]);
		CHECK_EQ(b[299], 3);
	}
	for (int k = 0; k < 3; k++)
		CHECK_EQ(__atomic_load_n(&seen_calls[k], __ATOMIC_RELAXED), 4);

	/* NULL restores libc */
	data_mover_threads_set_memcpy_fn(d, NULL);
	data_mover_threads_set_memmove_fn(d, NULL);
	data_mover_threads_set_memset_fn(d, NULL);
	struct vdm_operation_future f = vdm_memcpy(v, b, a, sizeof(a), 1);
	runtime_wait(rt, FUTURE_AS_RUNNABLE(&f));
	CHECK_MEM(a, b, sizeof(a));
	CHECK_EQ(__atomic_load_n(&seen_calls[0], __ATOMIC_RELAXED), 4);
	runtime_delete(rt);
	data_mover_threads_delete(d);
}

/* ---- a future moved in memory and finished by another thread ---- */
struct handoff {
	struct vdm_operation_future *fut;
	int use_runtime;
};

static void *
finisher(void *arg)
{
	struct handoff *h = arg;
	if (h->use_runtime) {
		struct runtime *rt = runtime_new();
		CHECK(rt != NULL);
		runtime_wait(rt, FUTURE_AS_RUNNABLE(h->fut));
		runtime_delete(rt);
	} else {
		FUTURE_BUSY_POLL(h->fut);
	}
	return NULL;
}

static void
test_moved(struct vdm *v, int rounds)
{
	size_t sz = 128 * 1024;
	unsigned char *src = test_alloc(sz), *dst = test_alloc(sz);
	for (int r = 0; r < rounds; r++) {
		test_pattern(src, sz, (uint64_t)r + 9);
		memset(dst, 0, sz);
		struct vdm_operation_future f = vdm_memcpy(v, dst, src, sz, 0);
		struct future_notifier n;
		memset(&n, 0, sizeof(n));
		struct runtime *rt = runtime_new();
		CHECK(rt != NULL);
		if (r % 2)	/* started here (or not, every other round) */
			future_poll(FUTURE_AS_RUNNABLE(&f), NULL);
		struct vdm_operation_future *moved = test_alloc(sizeof(*moved));
		memcpy(moved, &f, sizeof(f));
		memset(&f, 0xee, sizeof(f));
		struct handoff h = { moved, r % 4 < 2 };
		pthread_t t;
		CHECK(pthread_create(&t, NULL, finisher, &h) == 0);
		pthread_join(t, NULL);
		CHECK_EQ(FUTURE_STATE(moved), FUTURE_STATE_COMPLETE);
		CHECK(moved->output.output.memcpy.dest == dst);
		CHECK_MEM(dst, src, sz);
		free(moved);
		runtime_delete(rt);
	}
	free(src);
	free(dst);
}

/* ---- a mover that wraps another one and passes its own copy ---- */
static void
test_wrapped(struct vdm *inner)
{
	/* inner's op_* called with a copy of the operation, not the future's */
	struct test_mover w;
	test_mover_init(&w, inner);
	w.forward_raw = 1;
	w.base.has_property = inner->has_property;
	struct runtime *rt = runtime_new();
	CHECK(rt != NULL);
	size_t sizes[] = { 0, 64, 100000, 3u << 20 };
	for (size_t i = 0; i < 4; i++) {
		size_t sz = sizes[i];
		unsigned char *a = test_alloc(sz), *b = test_alloc(sz);
		test_pattern(a, sz, i);
		struct vdm_operation_future f = vdm_memcpy(&w.base, b, a, sz, 0);
		void *mine = f.data.data;
		runtime_wait(rt, FUTURE_AS_RUNNABLE(&f));
		CHECK(f.data.data == NULL);	/* cleared after op_delete */
		(void)mine;
		CHECK(f.output.output.memcpy.dest == b);
		CHECK_MEM(a, b, sz);
		free(a);
		free(b);
	}
	runtime_delete(rt);
}

/* Splits that meet a nearly full ring: fewer tickets, the same parts. */
static void
test_split_full(int rounds)
{
	struct data_mover_threads *d = mover(4, 4, FUTURE_NOTIFIER_WAKER,
		"0", "4096");
	struct vdm *v = data_mover_threads_get_vdm(d);
	struct runtime *rt = runtime_new();
	CHECK(rt != NULL);
	enum { N = 12 };
	size_t sz = 40000;
	unsigned char *src = test_alloc(sz), *dst = test_alloc(N * sz);
	for (int r = 0; r < rounds; r++) {
		test_pattern(src, sz, (uint64_t)r);
		memset(dst, 0, N * sz);
		struct vdm_operation_future f[N];
		struct future *arr[N];
		for (int i = 0; i < N; i++) {
			f[i] = vdm_memcpy(v, dst + (size_t)i * sz, src, sz, 0);
			arr[i] = FUTURE_AS_RUNNABLE(&f[i]);
		}
		runtime_wait_multiple(rt, arr, N);
		for (int i = 0; i < N; i++)
			CHECK_MEM(dst + (size_t)i * sz, src, sz);
	}
	free(src);
	free(dst);
	runtime_delete(rt);
	data_mover_threads_delete(d);
}

int
main(void)
{
	int q = test_quick();
	test_errors();
	test_small_ring(1, q ? 5000 : 1000000);
	test_small_ring(2, q ? 5000 : 100000);
	test_delete_in_flight();
	test_set_fns("0");
	test_set_fns("4096");

	struct data_mover_threads *d = mover(2, 16, FUTURE_NOTIFIER_WAKER,
		"256", "65536");
	test_moved(data_mover_threads_get_vdm(d), q ? 8 : 100);
	test_wrapped(data_mover_threads_get_vdm(d));
	data_mover_threads_delete(d);
	struct data_mover_sync *s = data_mover_sync_new();
	CHECK(s != NULL);
	test_moved(data_mover_sync_get_vdm(s), 4);
	test_wrapped(data_mover_sync_get_vdm(s));
	data_mover_sync_delete(s);

	test_split_full(q ? 5 : 300);
	return 0;
}
