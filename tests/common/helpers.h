/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * helpers.h -- what test programs of every area share, built once as the
 * static library pmem2_test_helpers (tests/common/helpers*.c) that pa_test
 * links to every test program. Only the parts a program calls are linked:
 *   helpers.c          quick mode, seeds, patterns, granularity names, a
 *                      file's bytes compared, a waker a thread sleeps on,
 *                      a fault probe, workers run beside a companion
 *   helpers_map.c      the map fixture (needs a libpmem2)
 *   helpers_mover.c    one configurable test mover (header-only miniasync),
 *                      on examples/miniasync/user_mover.c
 *   helpers_runtime.c  a process-wide runtime, a logged wait (needs
 *                      libminiasync)
 *   helpers_steps.c    a logged step future and chains of two steps
 *                      (header-only miniasync)
 */
#ifndef PMEM2_TEST_HELPERS_H
#define PMEM2_TEST_HELPERS_H 1

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PMEM2_USE_MINIASYNC
#define PMEM2_USE_MINIASYNC 1
#endif
#include <libpmem2.h>
#include <libminiasync/future.h>
#include <libminiasync/vdm.h>

#include "test.h"

/* ---- helpers.c ---- */

/* PMEM2_TEST_QUICK set and not "0" (sanitizers, valgrind): fewer rounds. */
int test_quick(void);

/*
 * What the process holds now: open descriptors (not counting the one used
 * to count) and threads, from /proc/self (the test skips without it).
 */
int test_count_fds(void);
int test_count_threads(void);

/* The process's address space now (VmSize of /proc/self/status), kB. */
long test_vm_kb(void);

/* CLOCK_MONOTONIC, in seconds (deadlines, never timings to assert). */
double test_now(void);

/*
 * len bytes (a page multiple) of fresh private memory between two
 * PROT_NONE pages: a copy that strays out of it faults (never freed).
 */
unsigned char *test_guarded(size_t len);

/* $PMEM2_TEST_SEED, else a value that differs per process. */
uint64_t test_seed(void);

/* xorshift64*: deterministic and seedable (a zero state is replaced). */
uint64_t test_rand(uint64_t *state);

/* Fills buf with bytes that depend on seed and on the position. */
void test_pattern(void *buf, size_t len, unsigned seed);

/* malloc that fails the test instead of returning NULL (n = 0: 1 byte). */
void *test_alloc(size_t n);

/* "page", "cache_line", "byte" for an enum pmem2_granularity; "?" else. */
const char *test_gran_name(int g);

/* The inverse of test_gran_name; -1 for anything else (or NULL). */
int test_gran_parse(const char *s);

/*
 * The granularity argv[1] names; dflt without an argument (dflt -1: it is
 * required). Fails with the usage for anything else.
 */
enum pmem2_granularity test_gran_arg(int argc, char *argv[], int dflt);

/*
 * The directory where maps of granularity g are made: a disk-backed one
 * for PAGE (and PMEM2_FORCE_GRANULARITY unset), test_dir() with
 * PMEM2_FORCE_GRANULARITY=g for the others. The variable stays set.
 */
const char *test_gran_dir(int g);

/* Fails unless the file at path holds want[0..len) at offset off. */
void test_check_file(const char *path, size_t off, const void *want,
	size_t len);

/*
 * A waker a waiting thread can sleep on: hand test_sleeper_waker(s) to a
 * poll, remember test_sleeper_wakes(s), and test_sleeper_wait(s, seen)
 * returns once a wake-up came after it (fails after timeout_s seconds).
 */
struct test_sleeper {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	unsigned long wakes;
};
#define TEST_SLEEPER_INIT { PTHREAD_MUTEX_INITIALIZER, \
	PTHREAD_COND_INITIALIZER, 0 }
struct future_waker test_sleeper_waker(struct test_sleeper *s);
unsigned long test_sleeper_wakes(struct test_sleeper *s);
void test_sleeper_wait(struct test_sleeper *s, unsigned long seen,
	int timeout_s);

/*
 * Does reading (write 0) or writing (write 1) *p raise SIGSEGV? The probe
 * catches the signal for itself (one thread at a time).
 */
int test_faults(volatile char *p, int write);

/*
 * Out of descriptors: test_fds_take lowers RLIMIT_NOFILE to just above the
 * highest descriptor open and fills every free number below it (fill[0..n)
 * on /dev/null), so that no open succeeds; test_fds_back closes what is
 * left in fill and restores the limit.
 */
struct test_fds {
	struct rlimit rl0;
	int n;
	int fill[4096];
};
void test_fds_take(struct test_fds *f);
void test_fds_back(struct test_fds *f);

/*
 * Threads that run at once: a companion (if not NULL), started first and
 * given stop, that runs until test_stopped(stop); then n workers, each
 * given its index as (void *)(intptr_t)i. Returns once every worker and
 * then the companion (stopped once the workers are done) are joined.
 */
struct test_stop {
	pthread_mutex_t lock;	/* a mutex: helgrind understands it */
	int stop;
};
#define TEST_STOP_INIT { PTHREAD_MUTEX_INITIALIZER, 0 }
int test_stopped(struct test_stop *s);
void test_threads_run(int n, void *(*worker)(void *),
	void *(*companion)(void *), struct test_stop *stop);

/* cachestat(2) (Linux 6.5+): a range's page-cache state. */
struct test_cstat {
	uint64_t nr_cache;
	uint64_t nr_dirty;
	uint64_t nr_writeback;
	uint64_t nr_evicted;
	uint64_t nr_recently_evicted;
};

/* 0, or -errno (-ENOSYS: the kernel has no cachestat). */
int test_cachestat(int fd, uint64_t off, uint64_t len, struct test_cstat *cs);

/*
 * Fails the test when cachestat shows a dirty page in fd's page-rounded
 * [off, off+len): what a future that completed durably must not leave.
 * Returns 0, or -ENOSYS when the kernel has no cachestat (nothing checked).
 */
int test_check_no_dirty_page(int fd, uint64_t off, uint64_t len);

/* ---- helpers_map.c: files, configs, a whole fresh file mapped ---- */

/* A unique path in dir for this process (malloc'd; the caller frees it). */
char *test_path(const char *dir, const char *tag);

/* Creates (truncating) path with size bytes; returns it opened with flags. */
int test_file(const char *path, size_t size, int flags);

/* Closes fd (if not -1), removes the file at path and frees path. */
void test_file_remove(char *path, int fd);

/*
 * A fresh file of size bytes (test_path(dir, tag), opened read-write) and a
 * source on it; *path and *fd are for test_file_remove.
 */
struct pmem2_source *test_file_source(const char *dir, const char *tag,
	size_t size, char **path, int *fd);

/* A new config requiring granularity g. */
struct pmem2_config *test_config(enum pmem2_granularity g);

/*
 * A config requiring PAGE granularity (the weakest: any file maps) with
 * the file window [off, off+len) (len 0: to the end) and, if rsv is not
 * NULL, placed at offset roff of that reservation.
 */
struct pmem2_config *test_config_at(size_t off, size_t len,
	struct pmem2_vm_reservation *rsv, size_t roff);

struct test_map {
	struct pmem2_map *map;
	char *addr;
	size_t size;		/* the file's size, as asked */
	int gran;		/* the map's store granularity */
	int fd;			/* the fixture's descriptor, -1 once closed */
	struct pmem2_source *src;	/* NULL once freed */
	struct pmem2_config *cfg;	/* NULL once freed */
	char path[512];
};

/*
 * Creates dir/pmem2-test-<tag>-<pid> of size bytes and maps it whole,
 * asking for PAGE granularity (the weakest) so that what the file offers,
 * or PMEM2_FORCE_GRANULARITY forces, is what the map gets. vdm (if not
 * NULL) is set on the config, then cfg_hook (if not NULL) may change it.
 * The descriptor, source and config stay open until test_map_close.
 */
void test_map_open_in(struct test_map *m, const char *dir, const char *tag,
	size_t size, struct vdm *vdm,
	void (*cfg_hook)(struct pmem2_config *, void *), void *arg);

/*
 * A map of granularity g (checked) in test_gran_dir(g), with vdm (NULL:
 * the default mover), PMEM2_FORCE_GRANULARITY unset again afterwards. The
 * fixture's descriptor, source and config are released at once: the map
 * keeps what it needs for itself.
 */
void test_map_open(struct test_map *m, int g, size_t size, struct vdm *vdm);

/* Deletes the map (checked), frees what is left and removes the file. */
void test_map_close(struct test_map *m);

/* ---- helpers_mover.c: one configurable mover ---- */

/*
 * A virtual data mover for tests. Without an inner mover it copies with
 * libc; with one it forwards every operation to it. Configure the fields
 * after test_mover_init, before the first operation; hand &m->base to
 * pmem2_config_set_vdm or vdm_memcpy & co.
 */
struct test_mover {
	struct vdm base;

	/* -- configuration -- */
	/*
	 * NULL: copy with libc. Else forward: by default through a future of
	 * the test mover's own (vdm_memcpy & co. on inner), or, with
	 * forward_raw, by calling inner's op_* with a copy of the operation.
	 */
	struct vdm *inner;
	int forward_raw;
	/* op_new number fail_new (1-based) returns NULL; -1: every one */
	long fail_new;
	/* op_new returns NULL while this many operations exist (0: no limit) */
	unsigned max_live;
	/* not VDM_SUCCESS: every operation ends with it, writing nothing */
	enum vdm_operation_result result;
	/* a thread of the mover writes this many ms after op_start */
	unsigned delay_ms;
	/* not NULL: RUNNING until *gate, then op_check writes */
	const int *gate;
	/* VDM_F_MEM_DURABLE operations are persisted with this (if set) */
	void (*persist)(const void *addr, size_t len);
	/* called once an operation's bytes are written successfully */
	void (*written)(const struct vdm_operation *op);

	/* -- counters (read them with test_mover_count) -- */
	pthread_mutex_t lock;
	unsigned long news, starts, checks, deletes, writes, live;
	unsigned long new_calls;	/* op_new calls, failed ones too */
	/*
	 * The live operations, linked: the mover can always reach them,
	 * also when a forked child drops one without deleting it.
	 */
	void *ops;
};

/*
 * Sets up m as a libc-copying mover (inner NULL) or a forwarder to inner,
 * claiming no capability, has_property NULL ("not async": polled by the
 * caller). Set base.capabilities / base.has_property after it to differ.
 */
void test_mover_init(struct test_mover *m, struct vdm *inner);

enum test_mover_counter {
	TM_NEWS, TM_STARTS, TM_CHECKS, TM_DELETES, TM_WRITES, TM_LIVE,
	TM_NEW_CALLS,
};
unsigned long test_mover_count(struct test_mover *m,
	enum test_mover_counter c);

/* Reports the bytes an operation writes (dest, len) to f. */
void test_op_range(const struct vdm_operation *op, void **dest, size_t *len);

/* ---- helpers_steps.c: a step future whose polls are logged ---- */

/*
 * The poll log (one thread polls): a step appends its id on every poll,
 * and a test may append its own marks (a lazy build, a mover's check).
 */
#define TEST_LOG_MAX 4096
extern int test_log[TEST_LOG_MAX];
extern size_t test_log_n;

/* Appends id to the log (fails when it is full). */
void test_log_poll(int id);

/* Fails, printing both, unless the log equals want[0..n). */
void test_log_check(const char *what, const int *want, size_t n);

/*
 * A step: logs its id on every poll and completes on its `polls`-th. Its
 * property (test_step_property) is *async_src when set, else `async`.
 * Optional actions, each keyed by the polls left:
 */
struct test_step_future;
struct test_step_data {
	int id;
	int polls;		/* polls still to come; counted down */
	int async;
	const int *async_src;
	int *flip;		/* set to flip_val once flip_left polls are */
	int flip_val;		/* left (0: on the completing poll) */
	int flip_left;
	struct future *push;	/* polled (no notifier) on each poll */
	struct test_step_future *rearm;	/* set IDLE, 2 polls to go, */
	int rearm_left;		/* before a poll with this many left */
	void (*hook)(void);	/* called once, before a poll with */
	int hook_left;		/* hook_left polls left */
};
struct test_step_output {
	int done;		/* 1 once complete */
};
FUTURE(test_step_future, struct test_step_data, struct test_step_output);

enum future_state test_step_task(struct future_context *ctx,
	struct future_notifier *n);
int test_step_property(void *fut, enum future_property p);

/* A step (id, polls, async) with no action, FUTURE_INIT_EXT'ed. */
struct test_step_future test_step(int id, int polls, int async);

/*
 * When setter has `left` polls left it sets *flag to val; target's (if not
 * NULL) property is *flag. Setter and target may be the same step.
 */
void test_step_flips(struct test_step_future *setter,
	struct test_step_future *target, int *flag, int val, int left);

/* Two steps in a chain; test_pair_done (b's map) sets output.done. */
struct test_pair_data {
	FUTURE_CHAIN_ENTRY(struct test_step_future, a);
	FUTURE_CHAIN_ENTRY_LAST(struct test_step_future, b);
};
FUTURE(test_pair_future, struct test_pair_data, struct test_step_output);

void test_pair_done(struct future_context *lhs, struct future_context *rhs,
	void *arg);
void test_pair_init(struct test_pair_future *p, struct test_step_future a,
	struct test_step_future b);

/* ---- helpers_runtime.c: one runtime for the process ---- */

/* The process's runtime (made on first use, never deleted). */
struct runtime *test_runtime(void);

/* runtime_wait on the process's runtime; returns the vdm result. */
enum vdm_operation_result test_wait_op(struct vdm_operation_future *f);

/* runtime_wait_multiple(rt, futs, n) with the poll log started afresh. */
void test_wait_logged(struct runtime *rt, struct future **futs, size_t n);

/* CHECK_MEM, with memcmp first (much cheaper under valgrind). */
#define CHECK_MEM_FAST(a, b, n) do { \
	if (memcmp((a), (b), (n)) != 0) \
		CHECK_MEM(a, b, n); \
} while (0)

#endif /* PMEM2_TEST_HELPERS_H */
