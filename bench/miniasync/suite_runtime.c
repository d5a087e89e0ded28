/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * suite_runtime.c -- the "runtime" suite: the cost of runtime_wait_multiple
 * itself, per poll of a future, next to a bare loop that polls the same
 * futures in a fixed order (the least a waiter can do).
 *
 * The futures are trivial: each needs SPIN_POLLS polls; every other one
 * says it is asynchronous. They report FUTURE_NOTIFIER_WAKER and the first
 * one of a set calls the waker on every poll, so a runtime never sleeps nor
 * yields the CPU (a future reporting NONE would make it call sched_yield,
 * and the figure would measure the scheduler of a busy machine). "plain"
 * rows use single futures, "chain" rows two-entry chains (a synchronous
 * step, then an asynchronous one), whose property changes half way, so the
 * runtime's async-first order has real work to do on every pass. "lib"
 * rows are plain futures with the threads mover's property function, which
 * the runtime knows without calling (as for that mover's own futures). With such
 * cheap futures the runtime's own bookkeeping is as visible as it can be.
 * The "threads" rows wait for real operations: 4 KiB copies on the default
 * threads mover.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libminiasync.h>

#include "bench.h"
#include "runtime_futs.h"

#define SUITE "runtime"
#define RUNS 7

static void
bare_wait(struct future **f, size_t n)
{
	size_t left;
	do {
		left = 0;
		for (size_t i = 0; i < n; i++)
			if (future_poll(f[i], NULL) != FUTURE_STATE_COMPLETE)
				left++;
	} while (left != 0);
}

/* ns per poll of one future, median of RUNS; bare: the reference loop. */
static double
measure(struct runtime *r, struct set *s, int bare)
{
	size_t polls = (size_t)s->n * SPIN_POLLS;
	size_t reps = (bench_quick() ? 200000 : 2000000) / polls + 1;
	double v[RUNS];
	for (int k = 0; k < RUNS; k++) {
		double total = 0;
		for (size_t i = 0; i < reps; i++) {
			set_reset(s);
			double t = bench_now();
			if (bare)
				bare_wait(s->ptrs, s->n);
			else
				runtime_wait_multiple(r, s->ptrs, s->n);
			total += bench_now() - t;
		}
		v[k] = total / (double)(reps * polls) * 1e9;
	}
	return bench_median(v, RUNS);
}

/*
 * Real futures: n 4 KiB copies on the default threads mover, waited for
 * together; ns per copy, median of RUNS. bare: a busy loop polls them
 * instead (with no notifier, as FUTURE_BUSY_POLL does).
 */
#define COPY_SIZE 4096

static double
measure_copies(struct runtime *r, struct vdm *vdm, size_t n, int bare)
{
	char *src = aligned_alloc(64, COPY_SIZE);
	char *dst = aligned_alloc(64, n * COPY_SIZE);
	struct vdm_operation_future *f = calloc(n, sizeof(*f));
	struct future **p = calloc(n, sizeof(*p));
	if (!src || !dst || !f || !p)
		abort();
	memset(src, 7, COPY_SIZE);
	memset(dst, 0, n * COPY_SIZE);
	size_t reps = (bench_quick() ? 2048 : 16384) / n + 1;
	double v[RUNS];
	for (int k = 0; k < RUNS; k++) {
		double t = bench_now();
		for (size_t i = 0; i < reps; i++) {
			for (size_t j = 0; j < n; j++) {
				f[j] = vdm_memcpy(vdm, dst + j * COPY_SIZE, src,
					COPY_SIZE, 0);
				p[j] = FUTURE_AS_RUNNABLE(&f[j]);
			}
			if (bare)
				bare_wait(p, n);
			else
				runtime_wait_multiple(r, p, n);
		}
		v[k] = (bench_now() - t) / (double)(reps * n) * 1e9;
	}
	if (dst[(n - 1) * COPY_SIZE + COPY_SIZE - 1] != 7)
		abort();
	free(src);
	free(dst);
	free(f);
	free(p);
	return bench_median(v, RUNS);
}

void
bench_suite_runtime(void)
{
	static const size_t sizes[] = { 16, 256, 1024 };
	struct runtime *r = runtime_new();
	if (r == NULL) {
		fprintf(stderr, "runtime: runtime_new failed\n");
		return;
	}
	struct data_mover_threads *dmt = data_mover_threads_default();
	if (dmt == NULL) {
		fprintf(stderr, "runtime: data_mover_threads_default failed\n");
		runtime_delete(r);
		return;
	}
	struct vdm *vdm = data_mover_threads_get_vdm(dmt);
	static const char *const kinds[] = { "plain", "chain", "lib" };
	for (int kind = 0; kind < 3; kind++) {
		for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
			struct set s = { kind == 1,
				kind == 2 ? vdm->has_property : NULL,
				sizes[z], NULL, NULL, NULL };
			s.plain = calloc(s.n, sizeof(*s.plain));
			s.two = calloc(s.n, sizeof(*s.two));
			s.ptrs = calloc(s.n, sizeof(*s.ptrs));
			if (!s.plain || !s.two || !s.ptrs)
				abort();
			double ref = measure(r, &s, 1);
			double val = measure(r, &s, 0);
			char name[96];
			snprintf(name, sizeof(name),
				"wait_multiple %s x%zu, ns/poll",
				kinds[kind], s.n);
			bench_row(SUITE, name, val, "ns", "bare poll loop", ref,
				0);
			free(s.plain);
			free(s.two);
			free(s.ptrs);
		}
	}

	for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
		double ref = measure_copies(r, vdm, sizes[z], 1);
		double val = measure_copies(r, vdm, sizes[z], 0);
		char name[96];
		snprintf(name, sizeof(name),
			"wait_multiple threads 4KiB x%zu, ns/copy", sizes[z]);
		bench_row(SUITE, name, val, "ns", "bare poll loop", ref, 0);
	}
	data_mover_threads_delete(dmt);
	runtime_delete(r);
}
