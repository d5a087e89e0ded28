/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * miniasync_hostile.c -- the threads mover used the way a careless user
 * would:
 *  - many threads submit at once to one mover with a tiny ring (1, 2
 *    slots) and more workers than CPUs; copies, moves (overlapping both
 *    ways, and split ones), fills and write-backs, plain and durable, of
 *    odd sizes at odd offsets: every one byte-exact;
 *  - the mover deleted right after the futures complete, and with futures
 *    started and then abandoned (their work still finishes);
 *  - garbage part sizes (0, 1, 63, huge, negative, junk) change nothing
 *    but the cutting.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>

#include <libminiasync.h>
#include "helpers.h"

#define NSUB 6

struct sub {
	struct vdm *v;
	uint64_t seed;
	int iters;
};

/* One random operation on a private buffer, checked against a reference. */
static void
one_op(struct runtime *rt, struct vdm *v, uint64_t *s)
{
	size_t n = 1 + test_rand(s) % (96 << 10);
	size_t len = 2 * n + 256;
	unsigned char *buf = test_alloc(len), *ref = test_alloc(len);
	test_pattern(buf, len, (unsigned)(*s));
	memcpy(ref, buf, len);
	size_t a = test_rand(s) % 128, b = test_rand(s) % (n + 128);
	uint64_t fl = 0;
	if ((test_rand(s) & 3) == 0 && vdm_is_supported(v, VDM_F_MEM_DURABLE))
		fl = VDM_F_MEM_DURABLE;
	else if ((test_rand(s) & 3) == 0)
		fl = VDM_F_NO_CACHE_HINT;
	struct vdm_operation_future f;
	switch (test_rand(s) % 5) {
	case 0:	/* disjoint copy */
		memcpy(ref + a, ref + n + 128, n);
		f = vdm_memcpy(v, buf + a, buf + n + 128, n, fl);
		break;
	case 1:	/* a move, overlapping or not, either way */
		memmove(ref + a, ref + b, n);
		f = vdm_memmove(v, buf + a, buf + b, n, fl);
		break;
	case 2:
		memmove(ref + b, ref + a, n);
		f = vdm_memmove(v, buf + b, buf + a, n, fl);
		break;
	case 3:
		memset(ref + b, (int)(n & 0xff), n);
		f = vdm_memset(v, buf + b, (int)(n & 0xff), n, fl);
		break;
	default:
		f = vdm_flush(v, buf + b, n, fl);
		break;
	}
	runtime_wait(rt, FUTURE_AS_RUNNABLE(&f));
	if (memcmp(buf, ref, len) != 0)
		FAIL("%zu bytes, a %zu b %zu flags %#llx: wrong bytes", n, a,
			b, (unsigned long long)fl);
	free(buf);
	free(ref);
}

static void *
submitter(void *arg)
{
	struct sub *sb = arg;
	struct runtime *rt = runtime_new();
	CHECK(rt != NULL);
	uint64_t s = sb->seed;
	for (int i = 0; i < sb->iters; i++)
		one_op(rt, sb->v, &s);
	runtime_delete(rt);
	return NULL;
}

static struct data_mover_threads *
mover(size_t nw, size_t ring, const char *part, const char *split)
{
	if (part != NULL)
		setenv("MINIASYNC_THREADS_PART_SIZE", part, 1);
	if (split != NULL)
		setenv("MINIASYNC_THREADS_SPLIT_MIN", split, 1);
	setenv("MINIASYNC_THREADS_INLINE_MAX", "0", 1);
	struct data_mover_threads *d = data_mover_threads_new(nw, ring,
		FUTURE_NOTIFIER_WAKER);
	CHECK(d != NULL);
	unsetenv("MINIASYNC_THREADS_PART_SIZE");
	unsetenv("MINIASYNC_THREADS_SPLIT_MIN");
	unsetenv("MINIASYNC_THREADS_INLINE_MAX");
	return d;
}

static void
test_crowd(size_t nw, size_t ring, const char *part, const char *split,
	int iters)
{
	struct data_mover_threads *d = mover(nw, ring, part, split);
	pthread_t t[NSUB];
	struct sub sb[NSUB];
	for (int i = 0; i < NSUB; i++) {
		sb[i].v = data_mover_threads_get_vdm(d);
		sb[i].seed = 1000 * nw + 10 * ring + (uint64_t)i + 1;
		sb[i].iters = iters;
		CHECK_EQ(pthread_create(&t[i], NULL, submitter, &sb[i]), 0);
	}
	for (int i = 0; i < NSUB; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
	data_mover_threads_delete(d);
}

/* Futures started, never waited for, then the mover deleted. */
static void
test_abandon(size_t nw, size_t ring)
{
	int rounds = test_quick() ? 4 : 20;
	for (int round = 0; round < rounds; round++) {
		struct data_mover_threads *d = mover(nw, ring, "4096", "8192");
		struct vdm *v = data_mover_threads_get_vdm(d);
		enum { NF = 8 };
		size_t n = (size_t)(64 << 10) + 77;
		unsigned char *src = test_alloc(n), *dst[NF];
		test_pattern(src, n, (unsigned)((uint64_t)round));
		struct vdm_operation_future f[NF];
		int started[NF];
		for (int i = 0; i < NF; i++) {
			dst[i] = test_alloc(n);
			memset(dst[i], 0, n);
			f[i] = vdm_memcpy(v, dst[i], src, n, 0);
			/* one poll starts it, unless the ring is full */
			started[i] = future_poll(FUTURE_AS_RUNNABLE(&f[i]),
				NULL) != FUTURE_STATE_IDLE;
		}
		if (round & 1) {
			/* some complete and are deleted, right before */
			struct runtime *rt = runtime_new();
			runtime_wait(rt, FUTURE_AS_RUNNABLE(&f[0]));
			runtime_delete(rt);
			started[0] = 1;
		}
		data_mover_threads_delete(d);
		/* what was accepted was done before delete returned */
		for (int i = 0; i < NF; i++) {
			if (started[i])
				CHECK_MEM(dst[i], src, n);
			free(dst[i]);
		}
		free(src);
	}
}

int
main(void)
{
	/* valgrind and the sanitizers: a few rounds of each */
	int it = test_quick() ? 3 : 40;
	static const size_t nws[] = { 1, 2, 3, 8 };
	static const size_t rings[] = { 1, 2, 4 };
	for (size_t w = 0; w < 4; w++)
		for (size_t r = 0; r < 3; r++)
			test_crowd(nws[w], rings[r], "4096", "8192", it);
	static const char *parts[] = { "0", "1", "63", "65", "-1", "-4096",
		"junk", "1099511627776", "99999999999999999999999", "0x1000" };
	for (size_t p = 0; p < sizeof(parts) / sizeof(parts[0]); p++)
		test_crowd(3, 4, parts[p], "1", it / 5 + 1);
	/* split minimum below the part size */
	test_crowd(4, 2, "65536", "100", it);
	test_abandon(4, 1);
	test_abandon(8, 4);
	test_abandon(2, 64);
	return 0;
}
