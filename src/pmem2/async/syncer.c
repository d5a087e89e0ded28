/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * syncer.c -- durability for PAGE-granularity maps without blocking the
 * polling thread: one syncer for the whole process, with group commit.
 *
 * Every PAGE map of the process hands its requests to this one syncer, so
 * a map costs no thread and no descriptor of its own, and the cost of a
 * request does not depend on how many maps exist.
 *
 * Generations: `started` counts the syncs begun, `completed` the ones
 * finished. A request made after its bytes were written needs the first
 * sync that starts after that moment, generation started + 1; whatever
 * number of requests collect while a sync runs, the next single sync covers
 * them all. Requests wait in a FIFO list (ordered by generation); when a
 * generation completes, its requests get the sync's result and their wakers
 * are called, so a runtime waiting on them sleeps instead of spinning.
 *
 * One sync of a generation is really one per file: the worker thread takes
 * the whole waiting list, groups it by file (struct pmem2_file, file.c),
 * and syncs each file once over the union of its requests' file ranges: a
 * ranged IORING_OP_FSYNC with IORING_FSYNC_DATASYNC when liburing is
 * available and io_uring works here (not blocked by seccomp, not turned
 * off with PMEM2_ASYNC_NO_URING=1), fdatasync() otherwise. A map whose
 * file has no descriptor to be had (none known, too many open files) gets
 * msync() of the union of its pages instead.
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
#include <sys/stat.h>
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
	pthread_cond_t cv;	/* the worker waits on it */
	pthread_cond_t done_cv;	/* quiesce waits on it */
	pthread_t thread;
	int init;		/* cv and done_cv made */
	int running;		/* the worker exists */
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
	struct pmem2_sync_req *batch;	/* being synced (a fork puts it back) */

	int want_uring;
	enum sync_kind kind;
#ifdef PMEM2_HAVE_URING
	struct io_uring ring;
	int ring_ok;		/* ring set up (worker only) */
#endif
};

static struct pmem2_syncer Syncer = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

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

/* The first start: condition variables and settings. With the lock held. */
static int
syncer_init_locked(struct pmem2_syncer *s)
{
	if (s->init)
		return 0;
	int ret = cv_init(&s->cv);
	if (ret == 0) {
		ret = pthread_cond_init(&s->done_cv, NULL);
		if (ret)
			pthread_cond_destroy(&s->cv);
	}
	if (ret) {
		ERR_ERRNO(ret, "cannot initialise the syncer");
		return -ret;
	}
	s->kind = SYNC_FDATASYNC;
	s->want_uring = !env_flag("PMEM2_ASYNC_NO_URING");
	s->init = 1;
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
/*
 * Ranged fdatasync of the file range [lo, hi) through io_uring; 1 in
 * *fallback: use fdatasync.
 */
static int
sync_uring(struct pmem2_syncer *s, int fd, unsigned long long lo,
	unsigned long long hi, int *fallback)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
	if (sqe == NULL) {
		*fallback = 1;
		return 0;
	}
	io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
	/* off/len 0/0 is the whole file */
	if (hi - lo <= UINT32_MAX) {
		sqe->off = lo;
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

/* Syncs the file range [lo, hi) of fd. */
static int
sync_file(struct pmem2_syncer *s, int fd, unsigned long long lo,
	unsigned long long hi)
{
#ifdef PMEM2_HAVE_URING
	if (s->kind == SYNC_URING) {
		int fallback = 0;
		int ret = sync_uring(s, fd, lo, hi, &fallback);
		if (!fallback)
			return ret;
	}
#else
	(void)s;
	(void)lo;
	(void)hi;
#endif
	return sync_fdatasync(fd);
}

/* Adds req's pages to its map's msync of generation gen. */
static void
batch_map(struct pmem2_async **alist, struct pmem2_sync_req *r, uint64_t gen)
{
	struct pmem2_async *as = r->as;
	if (as->bgen != gen) {
		as->bgen = gen;
		as->blo = r->start;
		as->bhi = r->end;
		as->bnext = *alist;
		*alist = as;
		return;
	}
	if (r->start < as->blo)
		as->blo = r->start;
	if (r->end > as->bhi)
		as->bhi = r->end;
}

/*
 * Makes every request of the batch durable: one sync per file over the
 * union of its requests, msync per map where the file has no descriptor.
 * Sets r->err of each (0 or -errno). Without the lock.
 */
static void
sync_batch(struct pmem2_syncer *s, struct pmem2_sync_req *batch, uint64_t gen)
{
	struct pmem2_file *flist = NULL;
	struct pmem2_async *alist = NULL;

	for (struct pmem2_sync_req *r = batch; r; r = r->next) {
		struct pmem2_async *as = r->as;
		struct pmem2_file *f = as->file;
		if (as->inject_errno && as->inject_left != 0) {
			if (as->bgen != gen)
				as->bfail = 1;
			batch_map(&alist, r, gen);
			continue;
		}
		if (f == NULL) {
			if (as->bgen != gen)
				as->bfail = 0;
			batch_map(&alist, r, gen);
			continue;
		}
		unsigned long long lo = pmem2_async_file_off(as,
			(void *)r->start);
		unsigned long long hi = lo + (r->end - r->start);
		if (f->bgen != gen) {
			f->bgen = gen;
			f->blo = lo;
			f->bhi = hi;
			f->bas = as;
			f->bnext = flist;
			flist = f;
		} else {
			if (lo < f->blo)
				f->blo = lo;
			if (hi > f->bhi)
				f->bhi = hi;
		}
	}

	for (struct pmem2_file *f = flist; f; f = f->bnext) {
		/*
		 * The descriptor serves the writes through the file too: opened
		 * here first, it is read-write when a map may write through it
		 * (else every later copy would be stores until it is evicted).
		 */
		int wr = f->bas->pwrite_ok;
		f->bok = 0;
		/*
		 * Checked before the sync (a stale number: sync the file, not
		 * what it names) and after it: the application may put another
		 * file at our number in between, and a sync of that one must
		 * not pass for ours. Then once more on a descriptor opened
		 * anew, else msync of the maps' pages. A failure is kept
		 * either way (it may be our file's one report of a lost
		 * write-back, which a descriptor opened later never gets),
		 * unless it says the number named no file that can be synced
		 * (EBADF: closed; EINVAL: a pipe, a socket...).
		 */
		for (int tries = 0; tries < 2 && !f->bok; tries++) {
			int fd = pmem2_file_pin(f, &f->bas->way, wr, NULL);
			if (fd < 0)
				break;
			if (pmem2_file_check(f, fd, NULL)) {
				f->berr = sync_file(s, fd, f->blo, f->bhi);
				int e = f->berr;
				f->bok = pmem2_file_check(f, fd, NULL) ||
					(e != 0 && e != -EBADF && e != -EINVAL);
			}
			pmem2_file_unpin(f);
		}
		if (!f->bok)
			continue;
		/* the maps of the file share the report of a failure */
		if (f->berr) {
			int zero = 0;
			__atomic_compare_exchange_n(&f->err, &zero, f->berr, 0,
				__ATOMIC_RELAXED, __ATOMIC_RELAXED);
		}
	}
	/* files without a descriptor: msync of each map's pages */
	if (flist != NULL) {
		for (struct pmem2_sync_req *r = batch; r; r = r->next) {
			struct pmem2_file *f = r->as->file;
			if (f == NULL || f->bgen != gen || f->bok)
				continue;
			if (r->as->bgen != gen)
				r->as->bfail = 0;
			batch_map(&alist, r, gen);
		}
	}
	for (struct pmem2_async *as = alist; as; as = as->bnext) {
		if (as->bfail) {
			as->berr = -as->inject_errno;
			if (as->inject_left > 0)
				as->inject_left--;
		} else {
			as->berr = sync_msync(as->blo, as->bhi);
		}
		/*
		 * The file's, like a failed fdatasync: msync reports it once,
		 * to this map's open file, and a descriptor opened later would
		 * never hear of it, so the other maps of the file must.
		 */
		if (as->berr && as->file != NULL) {
			int zero = 0;
			__atomic_compare_exchange_n(&as->file->err, &zero,
				as->berr, 0, __ATOMIC_RELAXED,
				__ATOMIC_RELAXED);
		}
	}

	for (struct pmem2_sync_req *r = batch; r; r = r->next) {
		struct pmem2_async *as = r->as;
		struct pmem2_file *f = as->file;
		if (as->bgen == gen)
			r->err = as->berr;
		else
			r->err = f->berr;
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
 * write a batch of 32 pages and far below the sync itself.
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
	while (!(s->kick && s->announced == 0)) {
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
	/*
	 * io_uring may be refused (seccomp, sysctl): then fdatasync. The ring
	 * is entered through its registered index and its descriptor closed:
	 * a descriptor would be the application's to close or replace
	 * (close_range, dup2), and a ring of the application's at its number
	 * would get our submissions and our waits (submitting its queued
	 * entries, and waiting for ever for a completion of ours there). A
	 * kernel that cannot register the ring (before 5.18): fdatasync.
	 */
	if (s->want_uring && io_uring_queue_init(4, &s->ring, 0) == 0) {
		if (io_uring_register_ring_fd(&s->ring) == 1) {
			close(s->ring.ring_fd);
			s->ring.ring_fd = -1;	/* queue_exit: none to close */
			s->ring_ok = 1;
			s->kind = SYNC_URING;
		} else {
			io_uring_queue_exit(&s->ring);
		}
	}
#endif

	pthread_mutex_lock(&s->lock);
	for (;;) {
		int was_idle = 0;
		while (s->head == NULL) {
			s->idle = 1;
			was_idle = 1;
			pthread_cond_wait(&s->cv, &s->lock);
			s->idle = 0;
		}
		if (was_idle)
			gather(s);

		/* everything waiting now has gen == started + 1 */
		uint64_t gen = ++s->started;
		struct pmem2_sync_req *batch = s->head;
		s->head = s->tail = NULL;
		s->batch = batch;
		pthread_mutex_unlock(&s->lock);

		sync_batch(s, batch, gen);

		/*
		 * A failed write-back may have taken pages of any range of the
		 * file with it (they look clean now, and the kernel reports the
		 * error only once): every later request of the map, and of the
		 * other maps of the file, fails too.
		 */
		struct pmem2_async *clist = NULL;
		for (struct pmem2_sync_req *r = batch; r; r = r->next) {
			struct pmem2_async *as = r->as;
			struct pmem2_map *map = as->map;
			struct pmem2_file *f = as->file;
			if (r->err == 0) {
				/* one checker sync per map, like the real one */
				if (as->cgen != gen) {
					as->cgen = gen;
					as->clo = r->start;
					as->chi = r->end;
					as->cnext = clist;
					clist = as;
				} else {
					if (r->start < as->clo)
						as->clo = r->start;
					if (r->end > as->chi)
						as->chi = r->end;
				}
			} else {
				pmem2_map_set_sync_err(map, r->err);
			}
			int ferr = f ? __atomic_load_n(&f->err,
				__ATOMIC_RELAXED) : 0;
			if (ferr)
				pmem2_map_set_sync_err(map, ferr);
			int sticky = pmem2_map_sync_err(map);
			r->earlier = r->err == 0 && sticky != 0;
			if (r->err == 0)
				r->err = sticky;
		}
		for (struct pmem2_async *as = clist; as; as = as->cnext)
			persist_note_sync((void *)as->clo, as->chi - as->clo);

		pthread_mutex_lock(&s->lock);
		s->completed = gen;
		s->batch = NULL;
		/*
		 * The wakers run under the lock: a poller that sees `done` takes
		 * the lock before it completes, so no waker is called after its
		 * future finished (and its runtime may be gone).
		 */
		int quiet = 0;
		for (struct pmem2_sync_req *r = batch, *next; r; r = next) {
			next = r->next;
			struct future_waker w = r->waker;
			if (--r->as->npending == 0)
				quiet = 1;
			r->done = 1;
			if (w.wake != NULL)
				w.wake(w.data);
		}
		if (quiet)
			pthread_cond_broadcast(&s->done_cv);
	}
	return NULL;
}

/* Starts the worker unless it runs; 0 or -errno. With the lock held. */
static int
start_locked(struct pmem2_syncer *s)
{
	if (s->running)
		return 0;
	int ret = syncer_init_locked(s);
	if (ret)
		return ret;
	/* the worker takes no signals meant for the application */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_t attr;
	ret = pthread_attr_init(&attr);
	if (ret == 0) {
		/* lives as long as the process: nobody joins it */
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		ret = pthread_create(&s->thread, &attr, worker, s);
		pthread_attr_destroy(&attr);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret == 0)
		__atomic_store_n(&s->running, 1, __ATOMIC_RELEASE);
	else
		ERR_ERRNO(ret, "cannot start the syncer thread");
	return -ret;
}

int
pmem2_syncer_start(void)
{
	struct pmem2_syncer *s = &Syncer;
	/* the common case without the lock: it runs */
	if (__atomic_load_n(&s->running, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&s->lock);
	int ret = start_locked(s);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/*
 * fork(): the child has no worker, and the lock or the condition variables
 * may have been in use by threads that are not in the child. The parent
 * holds the lock across the fork, so the child's copy of the state is
 * consistent; the child then starts afresh: new condition variables, no
 * worker (the next request or poll starts one, which also syncs the
 * requests that were waiting or being synced at the fork), no ring (the
 * parent's stays the parent's).
 */
void
pmem2_syncer_fork_prepare(void)
{
	pthread_mutex_lock(&Syncer.lock);
}

void
pmem2_syncer_fork_parent(void)
{
	pthread_mutex_unlock(&Syncer.lock);
}

void
pmem2_syncer_fork_child(void)
{
	struct pmem2_syncer *s = &Syncer;
	__atomic_store_n(&s->running, 0, __ATOMIC_RELAXED);
	s->idle = 0;
	s->gathering = 0;
	s->kick = 0;
	/* the batch the parent's worker was syncing: waiting again */
	if (s->batch != NULL) {
		struct pmem2_sync_req *last = s->batch;
		while (last->next != NULL)
			last = last->next;
		last->next = s->head;
		if (s->head == NULL)
			s->tail = last;
		s->head = s->batch;
		s->batch = NULL;
		for (struct pmem2_sync_req *r = s->head; r; r = r->next)
			r->gen = s->started + 1;
	}
#ifdef PMEM2_HAVE_URING
	if (s->ring_ok)
		io_uring_queue_exit(&s->ring);
	s->ring_ok = 0;
#endif
	s->kind = SYNC_FDATASYNC;
	if (s->init) {
		/* waiters of the parent's may be recorded in them: new ones */
		(void)cv_init(&s->cv);	/* on failure the old one stays */
		(void)pthread_cond_init(&s->done_cv, NULL);
	}
	/* held by this thread since fork_prepare (a default mutex) */
	pthread_mutex_unlock(&s->lock);
}

/*
 * Takes as's requests out of the queue, failed: no worker can be started
 * to sync them (a fork child out of threads). With the lock held.
 */
static void
drop_locked(struct pmem2_syncer *s, struct pmem2_async *as)
{
	struct pmem2_sync_req **pp = &s->head;
	s->tail = NULL;
	while (*pp != NULL) {
		struct pmem2_sync_req *r = *pp;
		if (r->as != as) {
			s->tail = r;
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		r->err = -EAGAIN;
		r->done = 1;
		as->npending--;
	}
}

void
pmem2_syncer_quiesce(struct pmem2_async *as)
{
	struct pmem2_syncer *s = &Syncer;
	pthread_mutex_lock(&s->lock);
	while (as->npending != 0) {
		/* requests queued before a fork, in the child: a worker */
		if (start_locked(s) != 0) {
			drop_locked(s, as);
			break;
		}
		pthread_cond_wait(&s->done_cv, &s->lock);
	}
	pthread_mutex_unlock(&s->lock);
}

void
pmem2_syncer_submit(struct pmem2_async *as, struct pmem2_sync_req *req,
	const void *addr, size_t len, struct future_notifier *n)
{
	struct pmem2_syncer *s = &Syncer;
	req->next = NULL;
	req->as = as;
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
	as->npending++;
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
pmem2_syncer_announce(struct pmem2_sync_req *req)
{
	struct pmem2_syncer *s = &Syncer;
	pthread_mutex_lock(&s->lock);
	s->announced++;
	req->ann_epoch = s->ann_epoch;
	pthread_mutex_unlock(&s->lock);
	req->announced = 1;
}

void
pmem2_syncer_withdraw(struct pmem2_sync_req *req)
{
	struct pmem2_syncer *s = &Syncer;
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
pmem2_syncer_poll(struct pmem2_sync_req *req, struct future_notifier *n)
{
	struct pmem2_syncer *s = &Syncer;
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
