/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench.h -- the small harness every benchmark suite uses.
 *
 * A suite measures (medians of several runs), then records each figure with
 * bench_row() next to a reference measured in the same run. pmem2bench and
 * the per-area bench_* programs print the rows with bench_print_table() and
 * may write them out as CSV or JSON.
 *
 * Ratio convention: ratio > 1 always means "the figure beats its reference":
 * value / ref_value when higher is better (throughput), ref_value / value
 * when lower is better (latency).
 */
#ifndef PA_BENCH_H
#define PA_BENCH_H 1

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The options every bench program takes: --quick (bench_set_quick) and,
 * for a peer build, --serve. Returns 1 when --serve was given.
 */
int bench_args(int argc, char *argv[]);

/* main() of a program that runs one suite alone and prints its table. */
int bench_run_alone(int argc, char *argv[], void (*suite)(void));

/* Monotonic clock, in seconds. */
double bench_now(void);

/* Median of v[0..n-1] (v is reordered). n <= 0 gives 0. */
double bench_median(double *v, int n);

/*
 * Non-zero when a short run is wanted: PMEM2_BENCH_QUICK is set to
 * something other than "0", or bench_set_quick(1) was called (--quick).
 */
int bench_quick(void);
void bench_set_quick(int on);

/*
 * Records one row. ref_name may be NULL and ref_value <= 0 when the figure
 * has no reference. Strings are copied.
 */
void bench_row(const char *suite, const char *name, double value,
	const char *unit, const char *ref_name, double ref_value,
	int higher_is_better);

/* Aligned table of every row recorded so far, with ratios. */
void bench_print_table(FILE *f);

/* 0 on success, -1 with errno set on failure. */
int bench_write_csv(const char *path);
int bench_write_json(const char *path);

/*
 * The machine's copy limit in GB/s (1e9 bytes/s): one core copying a
 * buffer of `bytes` (0: 256 MiB, far larger than the caches) with
 * non-temporal stores, AVX-512 when CPUID allows, else AVX2, else SSE2
 * (the loops of src/common/nt_stream.c, whatever PMEM_AVX512F says).
 * Median of several runs; measured once per size per process.
 */
double bench_stream_copy_gbs(size_t bytes);

/* Which variant bench_stream_copy_gbs() uses: "avx512", "avx2" or "sse2". */
const char *bench_stream_copy_variant(void);

/*
 * The copy bench_stream_copy_gbs() times, for kernels that want the same
 * floor at other sizes: len a multiple of 256, both pointers 64-byte
 * aligned; non-temporal stores, then a fence (so on a CACHE_LINE map the
 * bytes are durable when it returns: the least work a durable copy can do).
 */
typedef void (*bench_copy_fn)(char *dst, const char *src, size_t len);
bench_copy_fn bench_stream_copy_fn(void);

/*
 * Pins the calling thread to the CPU it is running on, until bench_unpin().
 * A peer started meanwhile inherits the pin: on this kind of VM the two
 * vCPUs differ enough (a 64-byte flush+fence by up to 30%) that a figure
 * and its reference must come from the same one.
 */
void bench_pin_here(void);
void bench_unpin(void);

/*
 * A reference build driven over a pipe (e.g. the same kernel linked with
 * Debian's libpmem2), so that its timed runs alternate with ours one by
 * one and never overlap them. The peer program calls bench_peer_serve();
 * the suite starts it with bench_peer_start(path, args) and asks for one
 * run of case i at a time with bench_peer_run() (<= 0: no figure; a peer
 * that fails is reported once and then left alone).
 */
struct bench_peer {
	int pid;
	FILE *to, *from;
};
int bench_peer_start(struct bench_peer *p, const char *path,
	const char *arg);
double bench_peer_run(struct bench_peer *p, int i);
void bench_peer_stop(struct bench_peer *p);
/* Answers requests from stdin with run(i, arg) until end of input. */
void bench_peer_serve(double (*run)(int i, void *arg), void *arg);

/* ---- access to the recorded rows (pmem2bench's --plot uses them) ---- */
struct bench_rowdata {
	const char *suite;
	const char *name;
	double value;
	const char *unit;
	const char *ref_name;	/* "" when none */
	double ref_value;	/* <= 0 when none */
	int higher_is_better;
	double ratio;		/* > 1: beats the reference; 0 when none */
};
int bench_nrows(void);
const struct bench_rowdata *bench_get_row(int i);
/* Drops every recorded row. */
void bench_reset(void);
/*
 * Folds rows recorded several times (repeated passes of the suites) into
 * one per suite and name, in first-seen order: the medians of the value,
 * the reference and the ratio. The ratio is the median of the per-pass
 * ratios, not the ratio of the medians: within a pass, a noisy moment hits
 * a figure and its reference alike.
 */
void bench_fold_medians(void);

/* "YYYY-MM-DD HH:MM UTC" and "<cpu model>, <n> cpus, <kernel>". */
const char *bench_date(void);
const char *bench_machine(void);

#ifdef __cplusplus
}
#endif
#endif /* PA_BENCH_H */
