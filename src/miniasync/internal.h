/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * internal.h -- helpers shared by the runtime and the movers: futex
 * sleeping, a monotonic clock, the output every mover fills in, and the
 * annotations that let helgrind follow our lock-free hand-offs.
 */
#ifndef MINIASYNC_INTERNAL_H
#define MINIASYNC_INTERNAL_H 1

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/futex.h>

#include "libminiasync/vdm.h"

/*
 * Helgrind only understands pthread primitives. Our hand-offs go through
 * atomics, so we tell it about them: HB on the publishing side right before
 * the releasing store, HA on the consuming side right after the acquiring
 * load (both on the same address), and the atomic words themselves are
 * excluded from race checking. Outside valgrind these cost a few
 * instructions; without the header they vanish.
 */
#if defined(__has_include)
#if __has_include(<valgrind/helgrind.h>)
#include <valgrind/helgrind.h>
#define MA_HB(a) ANNOTATE_HAPPENS_BEFORE(a)
#define MA_HA(a) ANNOTATE_HAPPENS_AFTER(a)
#define MA_NOCHECK(a, n) VALGRIND_HG_DISABLE_CHECKING((a), (n))
#define MA_ON_VALGRIND() (RUNNING_ON_VALGRIND != 0)
#endif
#endif
#ifndef MA_HB
#define MA_HB(a) ((void)(a))
#define MA_HA(a) ((void)(a))
#define MA_NOCHECK(a, n) ((void)(a), (void)(n))
#define MA_ON_VALGRIND() 0
#endif

/*
 * The property function of futures that are always asynchronous (the
 * threads mover's). The runtime recognises it and does not call it.
 */
__attribute__((visibility("hidden"))) int
miniasync_has_property_async(void *future, enum future_property property);

static inline uint64_t
ma_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void
ma_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
#endif
}

/* Sleeps while *word == val (returns at once if it already differs). */
static inline void
ma_futex_wait(uint32_t *word, uint32_t val, uint64_t timeout_ns)
{
	struct timespec ts, *tsp = NULL;
	if (timeout_ns) {
		ts.tv_sec = (time_t)(timeout_ns / 1000000000ull);
		ts.tv_nsec = (long)(timeout_ns % 1000000000ull);
		tsp = &ts;
	}
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, tsp, NULL, 0);
}

static inline void
ma_futex_wake(uint32_t *word, int n)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/*
 * Copies up to 64 bytes without a library call. Every load happens before
 * any store, so the areas may overlap (memmove semantics).
 */
typedef char ma_v16 __attribute__((vector_size(16), aligned(1)));

static inline void
ma_small_move(void *dst, const void *src, size_t n)
{
	char *d = dst;
	const char *s = src;
	if (n >= 16) {
		ma_v16 a, b, c, e;
		__builtin_memcpy(&a, s, 16);
		__builtin_memcpy(&b, s + n - 16, 16);
		if (n > 32) {
			__builtin_memcpy(&c, s + 16, 16);
			__builtin_memcpy(&e, s + n - 32, 16);
			__builtin_memcpy(d + 16, &c, 16);
			__builtin_memcpy(d + n - 32, &e, 16);
		}
		__builtin_memcpy(d, &a, 16);
		__builtin_memcpy(d + n - 16, &b, 16);
	} else if (n >= 8) {
		uint64_t a, b;
		__builtin_memcpy(&a, s, 8);
		__builtin_memcpy(&b, s + n - 8, 8);
		__builtin_memcpy(d, &a, 8);
		__builtin_memcpy(d + n - 8, &b, 8);
	} else if (n >= 4) {
		uint32_t a, b;
		__builtin_memcpy(&a, s, 4);
		__builtin_memcpy(&b, s + n - 4, 4);
		__builtin_memcpy(d, &a, 4);
		__builtin_memcpy(d + n - 4, &b, 4);
	} else if (n > 0) {
		char a = s[0], b = s[n / 2], c = s[n - 1];
		d[0] = a;
		d[n / 2] = b;
		d[n - 1] = c;
	}
}

#define MA_SMALL_MAX 64

/* memmove, with small sizes inline: a library call costs more than them */
static inline void
ma_move(void *dst, const void *src, size_t n)
{
	if (n <= MA_SMALL_MAX)
		ma_small_move(dst, src, n);
	else
		memmove(dst, src, n);
}

/* What every mover reports when an operation is done. */
static inline void
ma_fill_output(const struct vdm_operation *op, struct vdm_operation_output *o,
	enum vdm_operation_result result)
{
	o->type = op->type;
	o->result = result;
	switch (op->type) {
	case VDM_OPERATION_MEMCPY:
		o->output.memcpy.dest = op->data.memcpy.dest;
		break;
	case VDM_OPERATION_MEMMOVE:
		o->output.memmove.dest = op->data.memmove.dest;
		break;
	case VDM_OPERATION_MEMSET:
		o->output.memset.str = op->data.memset.str;
		break;
	case VDM_OPERATION_FLUSH:
		o->output.flush.unused = 0;
		break;
	default:
		o->result = VDM_ERROR_JOB_CORRUPTED;
		break;
	}
}

static inline int
ma_valid_type(enum vdm_operation_type t)
{
	return (unsigned)t <= (unsigned)VDM_OPERATION_FLUSH;
}

#endif /* MINIASYNC_INTERNAL_H */
