/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * syncer.c -- durability for PAGE-granularity maps without blocking the
 * polling thread: one syncer per mapped file, with group commit.
 *
 * Generations: `started` counts the syncs begun, `completed` the ones
 * finished. A request made after its bytes were written needs the first
 * sync that starts after that moment, generation started + 1; whatever
 * number of requests collect while a sync runs, the next single sync covers
 * them all. Requests wait in a FIFO list (ordered by generation); when a
 * generation completes, its requests get the sync's result and their wakers
 * are called, so a runtime waiting on them sleeps instead of spinning.
 *
 * The worker thread does the sync: a ranged IORING_OP_FSYNC with
 * IORING_FSYNC_DATASYNC over the union of the waiting ranges when liburing
 * is available and io_uring works here (not blocked by seccomp, not turned
 * off with PMEM2_ASYNC_NO_URING=1), fdatasync() of the duplicated
 * descriptor otherwise, and msync() of the pages when there is no
 * descriptor at all.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#ifdef PMEM2_HAVE_URING
#include <liburing.h>
#endif

#include "map.h"
#include "errors.h"
#include "common/check_hooks.h"
#include "common/env.h"
#include "async_impl.h"

enum sync_kind {
	SYNC_MSYNC,
	SYNC_FDATASYNC,
	SYNC_URING,
};

struct pmem2_syncer {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	pthread_t thread;
	int running;		/* the worker exists */
	int stop;		/* the map goes away: drain and exit */
	int idle;		/* the worker sleeps on cv */
	int gathering;		/* the worker waits for a batch to form */
	int kick;		/* a poller came back: start the sync now */
	unsigned announced;	/* requests a mover is still writing for */
	unsigned ann_epoch;	/* bumped when a gathering gives up on them */
	uint64_t nsubmit;	/* requests ever queued */
	long long last_submit_ns;	/* when the latest request came */
	long long gap_ns;	/* longest gap between requests of a batch */
	long long gap_hint_ns;	/* gap_ns of the last gathered batch */
	uint64_t started;	/* generations begun */
	uint64_t completed;	/* generations finished */
	struct pmem2_sync_req *head, *tail;

	struct pmem2_map *map;
	int fd;			/* ours (the file opened again), or -1 */
	long long file_base;	/* file offset of map->addr, -1: unknown */
	int inject_errno;	/* test only: syncs fail with this */
	long inject_left;	/* how many more (-1: all) */
	int want_uring;
	enum sync_kind kind;
#ifdef PMEM2_HAVE_URING
	struct io_uring ring;
	int ring_ok;		/* ring set up (worker only) */
#endif
};

int
pmem2_async_env_flag(const char *name)
{
	return env_flag(name);
}

/* Timed waits (gathering a batch) are on the monotonic clock. */
static int
cv_init(pthread_cond_t *cv)
{
	pthread_condattr_t ca;
	int ret = pthread_condattr_init(&ca);
	if (ret == 0) {
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		ret = pthread_cond_init(cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	return ret;
}

int
pmem2_syncer_new(struct pmem2_syncer **sp, struct pmem2_map *map, int fd,
	long long file_base)
{
	struct pmem2_syncer *s = calloc(1, sizeof(*s));
	if (!s) {
		if (fd >= 0)
			close(fd);
		ERR_ERRNO(ENOMEM, "cannot allocate the map's syncer");
		return -ENOMEM;
	}
	int ret = pthread_mutex_init(&s->lock, NULL);
	if (ret == 0) {
		ret = cv_init(&s->cv);
		if (ret)
			pthread_mutex_destroy(&s->lock);
	}
	if (ret) {
		if (fd >= 0)
			close(fd);
		free(s);
		ERR_ERRNO(ret, "cannot initialise the map's syncer");
		return -ret;
	}
	s->map = map;
	s->fd = fd;
	s->file_base = file_base;
	s->kind = fd >= 0 ? SYNC_FDATASYNC : SYNC_MSYNC;
	s->want_uring = fd >= 0 && !pmem2_async_env_flag("PMEM2_ASYNC_NO_URING");

	/* test-only fault injection, see pmem2_async(7) */
	const char *inj = env_get("PMEM2_ASYNC_TEST_SYNC_ERRNO");
	if (inj != NULL && atoi(inj) > 0) {
		const char *cnt = strchr(inj, ':');
		s->inject_errno = atoi(inj);
		s->inject_left = cnt ? atol(cnt + 1) : -1;
	}

	*sp = s;
	return 0;
}

/* ---- the sync itself (worker thread only) ---- */

static int
sync_msync(uintptr_t lo, uintptr_t hi)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = lo & ~(pg - 1);
	if (msync((void *)a, hi - a, MS_SYNC) != 0)
		return pmem2_errno_code();
	return 0;
}

static int
sync_fdatasync(int fd)
{
	while (fdatasync(fd) != 0) {
		if (errno != EINTR)
			return pmem2_errno_code();
	}
	return 0;
}

#ifdef PMEM2_HAVE_URING
/* Ranged fdatasync through io_uring; 1 in *fallback: use fdatasync. */
static int
sync_uring(struct pmem2_syncer *s, uintptr_t lo, uintptr_t hi, int *fallback)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
	if (sqe == NULL) {
		*fallback = 1;
		return 0;
	}
	io_uring_prep_fsync(sqe, s->fd, IORING_FSYNC_DATASYNC);
	/* off/len 0/0 is the whole file */
	if (s->file_base >= 0 && hi - lo <= UINT32_MAX) {
		sqe->off = (uint64_t)s->file_base +
			(lo - (uintptr_t)s->map->addr);
		sqe->len = (uint32_t)(hi - lo);
	}
	/* one system call submits the sync and waits for it */
	int ret;
	do {
		ret = io_uring_submit_and_wait(&s->ring, 1);
	} while (ret == -EINTR);
	if (ret < 1) {
		*fallback = 1;
		return 0;
	}
	struct io_uring_cqe *cqe;
	do {
		ret = io_uring_wait_cqe(&s->ring, &cqe);
	} while (ret == -EINTR);
	if (ret < 0) {
		/* the submitted sync's fate is unknown: never use the ring again */
		s->kind = SYNC_FDATASYNC;
		*fallback = 1;
		return 0;
	}
	int res = cqe->res;
	io_uring_cqe_seen(&s->ring, cqe);
	if (res == -EINVAL || res == -EOPNOTSUPP) {
		s->kind = SYNC_FDATASYNC;
		*fallback = 1;
		return 0;
	}
	return res < 0 ? res : 0;
}
#endif

static int
do_sync(struct pmem2_syncer *s, uintptr_t lo, uintptr_t hi)
{
	if (s->inject_errno && s->inject_left != 0) {
		if (s->inject_left > 0)
			s->inject_left--;
		return -s->inject_errno;
	}
	switch (s->kind) {
	case SYNC_MSYNC:
		return sync_msync(lo, hi);
#ifdef PMEM2_HAVE_URING
	case SYNC_URING: {
		int fallback = 0;
		int ret = sync_uring(s, lo, hi, &fallback);
		if (!fallback)
			return ret;
		return sync_fdatasync(s->fd);
	}
#endif
	default:
		return sync_fdatasync(s->fd);
	}
}

/*
 * Group commit after an idle spell: a poller that starts many operations
 * queues their requests one by one, and a sync begun at the first of them
 * would leave the rest for a second sync. So the worker, woken by the first
 * request, waits until the poller comes back to poll a request (the kick:
 * it has gone through its whole batch), or no new request arrived for a
 * quiet spell (a poller that sleeps on its waker), at most GATHER_MAX_NS.
 * With the lock held. The cap is well above the time a poller takes to
 * write a batch of 32 pages (50-200 us here) and far below the sync itself.
 *
 * With another mover than the default, the poller comes back long before
 * the batch is written: the mover's workers finish the copies one by one,
 * and each request arrives only when its copy is done. Those requests are
 * announced when their copy starts; while any is outstanding, neither the
 * kick nor a quiet spell ends the gathering, only the last announced
 * request (or the cap). Otherwise a sync would start after the first copy
 * or two, and the stores of the rest into pages that sync is cleaning
 * would wait for it in their write faults: one sync per copy or two.
 * A gathering that reaches the cap stops counting the announcements then
 * outstanding (a new epoch): a future started and then abandoned would
 * otherwise make every later gathering wait the whole cap.
 *
 * The quiet spell is GATHER_QUIET_NS, or four times the longest gap between
 * two requests of the last batch when that is longer (up to GATHER_GAP_MAX_NS
 * per gap): a poller that is slow between requests (descheduled on a busy
 * machine, or running under valgrind, where each pwrite takes tens of
 * microseconds) is not mistaken for one that went to sleep.
 */
#define GATHER_QUIET_NS 20000LL
#define GATHER_GAP_MAX_NS 100000LL
#define GATHER_MAX_NS 1000000LL

static long long
mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
gather(struct pmem2_syncer *s)
{
	long long start = mono_ns();
	uint64_t seen = s->nsubmit;
	long long quiet = 4 * s->gap_hint_ns;
	if (quiet < GATHER_QUIET_NS)
		quiet = GATHER_QUIET_NS;

	s->gathering = 1;
	while (!(s->kick && s->announced == 0) && !s->stop) {
		long long now = mono_ns();
		if (now - start >= GATHER_MAX_NS) {
			s->announced = 0;
			s->ann_epoch++;
			break;
		}
		if (quiet < 4 * s->gap_ns)
			quiet = 4 * s->gap_ns;
		long long until = now + quiet;
		if (until > start + GATHER_MAX_NS)
			until = start + GATHER_MAX_NS;
		struct timespec ts = { (time_t)(until / 1000000000LL),
			(long)(until % 1000000000LL) };
		int ret = pthread_cond_timedwait(&s->cv, &s->lock, &ts);
		if (ret == ETIMEDOUT && s->nsubmit == seen &&
				s->announced == 0)
			break;	/* quiet: nobody is adding to the batch */
		seen = s->nsubmit;
	}
	s->gathering = 0;
	s->kick = 0;
	s->gap_hint_ns = s->gap_ns;
	s->gap_ns = 0;
}

static void *
worker(void *arg)
{
	struct pmem2_syncer *s = arg;

	/* short timed waits must not stretch by the default 50 us slack */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);

#ifdef PMEM2_HAVE_URING
	/* io_uring may be refused (seccomp, sysctl): then fdatasync */
	if (s->want_uring && io_uring_queue_init(4, &s->ring, 0) == 0) {
		s->ring_ok = 1;
		s->kind = SYNC_URING;
	}
#endif

	pthread_mutex_lock(&s->lock);
	for (;;) {
		int was_idle = 0;
		while (s->head == NULL && !s->stop) {
			s->idle = 1;
			was_idle = 1;
			pthread_cond_wait(&s->cv, &s->lock);
			s->idle = 0;
		}
		if (s->head == NULL)
			break;
		if (was_idle)
			gather(s);

		/* everything waiting now has gen == started + 1 */
		uint64_t gen = ++s->started;
		uintptr_t lo = UINTPTR_MAX, hi = 0;
		for (struct pmem2_sync_req *r = s->head; r; r = r->next) {
			if (r->start < lo)
				lo = r->start;
			if (r->end > hi)
				hi = r->end;
		}
		pthread_mutex_unlock(&s->lock);

		int err = do_sync(s, lo, hi);
		if (err == 0)
			persist_note_sync((void *)lo, hi - lo);

		/*
		 * A failed write-back may have taken pages of any range of the
		 * file with it (they look clean now, and the kernel reports the
		 * error only once): every later request of the map fails too.
		 */
		if (err != 0)
			pmem2_map_set_sync_err(s->map, err);
		int sticky = pmem2_map_sync_err(s->map);

		pthread_mutex_lock(&s->lock);
		s->completed = gen;
		/*
		 * The wakers run under the lock: a poller that sees `done` takes
		 * the lock before it completes, so no waker is called after its
		 * future finished (and its runtime may be gone).
		 */
		while (s->head != NULL && s->head->gen <= gen) {
			struct pmem2_sync_req *r = s->head;
			s->head = r->next;
			if (s->head == NULL)
				s->tail = NULL;
			struct future_waker w = r->waker;
			r->err = err ? err : sticky;
			r->earlier = err == 0 && sticky != 0;
			r->done = 1;
			if (w.wake != NULL)
				w.wake(w.data);
		}
	}
	pthread_mutex_unlock(&s->lock);

#ifdef PMEM2_HAVE_URING
	if (s->ring_ok)
		io_uring_queue_exit(&s->ring);
#endif
	return NULL;
}

/* Starts the worker unless it runs; 0 or -errno. With the lock held. */
static int
start_locked(struct pmem2_syncer *s)
{
	if (s->running)
		return 0;
	/* the worker takes no signals meant for the application */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int ret = pthread_create(&s->thread, NULL, worker, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret == 0)
		s->running = 1;
	else
		ERR_ERRNO(ret, "cannot start the syncer thread");
	return -ret;
}

int
pmem2_syncer_start(struct pmem2_syncer *s)
{
	pthread_mutex_lock(&s->lock);
	int ret = start_locked(s);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/*
 * fork(): the child has no worker, and the lock or the condition variable
 * may have been in use by threads that are not in the child. The parent
 * holds the lock across the fork, so the child's copy of the state is
 * consistent; the child then starts afresh: a new condition variable, no
 * worker (the next request starts one, which also syncs the
 * requests that were waiting at the fork), no ring (the parent's stays the
 * parent's).
 */
void
pmem2_syncer_fork_prepare(struct pmem2_syncer *s)
{
	pthread_mutex_lock(&s->lock);
}

void
pmem2_syncer_fork_parent(struct pmem2_syncer *s)
{
	pthread_mutex_unlock(&s->lock);
}

void
pmem2_syncer_fork_child(struct pmem2_syncer *s)
{
	s->running = 0;
	s->idle = 0;
	s->gathering = 0;
	s->kick = 0;
#ifdef PMEM2_HAVE_URING
	if (s->ring_ok)
		io_uring_queue_exit(&s->ring);
	s->ring_ok = 0;
#endif
	s->kind = s->fd >= 0 ? SYNC_FDATASYNC : SYNC_MSYNC;
	/* waiters of the parent's may be recorded in it: a new one */
	(void)cv_init(&s->cv);	/* on failure the old one stays */
	/* held by this thread since fork_prepare (a default mutex) */
	pthread_mutex_unlock(&s->lock);
}

void
pmem2_syncer_delete(struct pmem2_syncer *s)
{
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	int running = s->running;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->lock);
	if (running)
		pthread_join(s->thread, NULL);

	if (s->fd >= 0)
		close(s->fd);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void
pmem2_syncer_submit(struct pmem2_syncer *s, struct pmem2_sync_req *req,
	const void *addr, size_t len, struct future_notifier *n)
{
	req->next = NULL;
	req->start = (uintptr_t)addr;
	req->end = (uintptr_t)addr + len;
	req->done = 0;
	req->err = 0;
	req->earlier = 0;
	req->waker.data = NULL;
	req->waker.wake = NULL;
	if (n != NULL && n->waker.wake != NULL)
		req->waker = n->waker;

	int announced = req->announced;
	req->announced = 0;
	long long now = mono_ns();
	pthread_mutex_lock(&s->lock);
	announced = announced && req->ann_epoch == s->ann_epoch;
	/* after a fork the worker is gone until a request needs it */
	int ret = start_locked(s);
	if (ret) {
		req->err = ret;
		req->done = 1;
		if (announced)
			s->announced--;
		pthread_mutex_unlock(&s->lock);
		if (n != NULL)
			n->notifier_used = FUTURE_NOTIFIER_NONE;
		return;
	}
	req->gen = s->started + 1;
	s->nsubmit++;
	if (announced)
		s->announced--;
	/* the pace of a batch: gaps between requests while one gathers */
	if (s->gathering) {
		long long gap = now - s->last_submit_ns;
		if (gap > GATHER_GAP_MAX_NS)
			gap = GATHER_GAP_MAX_NS;
		if (gap > s->gap_ns)
			s->gap_ns = gap;
	}
	s->last_submit_ns = now;
	if (s->tail)
		s->tail->next = req;
	else
		s->head = req;
	s->tail = req;
	if (s->idle || (s->gathering && s->kick && s->announced == 0))
		pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->lock);

	if (n != NULL)
		n->notifier_used = req->waker.wake ? FUTURE_NOTIFIER_WAKER :
			FUTURE_NOTIFIER_NONE;
}

void
pmem2_syncer_announce(struct pmem2_syncer *s, struct pmem2_sync_req *req)
{
	pthread_mutex_lock(&s->lock);
	s->announced++;
	req->ann_epoch = s->ann_epoch;
	pthread_mutex_unlock(&s->lock);
	req->announced = 1;
}

void
pmem2_syncer_withdraw(struct pmem2_syncer *s, struct pmem2_sync_req *req)
{
	if (!req->announced)
		return;
	req->announced = 0;
	pthread_mutex_lock(&s->lock);
	if (req->ann_epoch == s->ann_epoch)
		s->announced--;
	/* it may have been the last one a gathering waited for */
	if (s->gathering && s->announced == 0)
		pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->lock);
}

int
pmem2_syncer_poll(struct pmem2_syncer *s, struct pmem2_sync_req *req,
	struct future_notifier *n)
{
	/*
	 * Under the lock: a request seen done is past its waker call (the
	 * worker calls wakers with the lock held), and race detectors see the
	 * ordering. A sync takes tens of microseconds; this lock is cheap.
	 */
	pthread_mutex_lock(&s->lock);
	/* a request queued before a fork, polled in the child */
	if (!req->done && !s->running) {
		int ret = start_locked(s);
		if (ret) {
			req->err = ret;
			req->done = 1;
		}
	}
	int done = req->done;
	if (!done && n != NULL && n->waker.wake != NULL)
		req->waker = n->waker;	/* the latest poller's, e.g. another runtime */
	if (!done && s->gathering && !s->kick) {
		s->kick = 1;	/* polled again: the batch is complete */
		pthread_cond_signal(&s->cv);
	}
	pthread_mutex_unlock(&s->lock);
	if (done)
		return 1;
	if (n != NULL)
		n->notifier_used = req->waker.wake ? FUTURE_NOTIFIER_WAKER :
			FUTURE_NOTIFIER_NONE;
	return 0;
}
