/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * async_impl.h -- the per-map state behind pmem2_*_async() and the PAGE
 * syncer that makes page-granularity writes durable without blocking the
 * thread that polls the futures.
 *
 * Two movers live in every map's state:
 *   - dflt: runs the map's own pmem2 memory functions inside the poll. With
 *     no vdm in the config and CACHE_LINE or BYTE granularity, a future's
 *     data.vdm is this one and nothing is allocated per operation: the
 *     per-operation pointer (data.data) is one of 64 preset tokens, one for
 *     each combination of PMEM2_F_MEM_* flags.
 *   - wrap: drives another mover's operation (the config's vdm, or dflt on
 *     PAGE maps) and, once that reports COMPLETE, makes the range durable for
 *     the map's granularity before reporting COMPLETE itself.
 */
#ifndef PMEM2_ASYNC_IMPL_H
#define PMEM2_ASYNC_IMPL_H 1

#include <pthread.h>
#include <stdint.h>
#include <libminiasync/vdm.h>
#include <libpmem2/base.h>

#define PMEM2_ASYNC_NFLAGS 64	/* every combination of PMEM2_F_MEM_* */

struct pmem2_map;
struct pmem2_ops;
struct pmem2_async;
struct pmem2_syncer;

/* What the default mover's data.data points at: the map and the flags. */
struct pmem2_async_token {
	struct pmem2_async *as;
	unsigned flags;
};

struct pmem2_async {
	struct pmem2_map *map;
	enum pmem2_granularity gran;
	const struct pmem2_ops *ops;
	struct vdm *inner;	/* what wrap drives: the user's vdm or &dflt */
	int direct;		/* futures use dflt itself, no wrapper */
	int inner_durable;	/* inner supports VDM_F_MEM_DURABLE */
	int inner_nocache;	/* inner supports VDM_F_NO_CACHE_HINT */
	struct vdm dflt;
	struct vdm wrap;
	struct pmem2_syncer *syncer;	/* PAGE granularity only */
	/*
	 * Every wrapped operation not finished yet (struct wop, async.c), so
	 * that pmem2_map_delete can wait for the movers still writing into
	 * the map and free what abandoned futures hold.
	 */
	pthread_mutex_t lock;
	void *live;
	struct pmem2_async *fork_prev, *fork_next;	/* every map's state */
	/*
	 * PAGE maps of a file: our descriptor for writes through the file
	 * (-1: stores through the mapping) and the file offset of map->addr.
	 */
	int file_fd;
	long long file_base;
	struct pmem2_async_token tok[PMEM2_ASYNC_NFLAGS];
};

/*
 * One request for durability of an address range, waiting in a syncer.
 * Lives inside the operation state of the future that made it.
 */
struct pmem2_sync_req {
	struct pmem2_sync_req *next;
	uint64_t gen;		/* the sync generation that covers it */
	uintptr_t start, end;	/* address range */
	int done;		/* under the syncer's lock: err is final */
	int err;		/* 0 or -errno of the sync */
	int earlier;		/* err is an earlier sync's (sticky) error */
	int announced;		/* counted in the syncer's `announced` */
	unsigned ann_epoch;	/* ... of the syncer's epoch it was made in */
	struct future_waker waker;	/* called when done; wake NULL: none */
};

/* Whether the environment variable is set to something other than "0". */
int pmem2_async_env_flag(const char *name);

/*
 * Creates the syncer of one mapped file. fd is owned by the syncer from now
 * on (closed by delete); -1 means "no descriptor": syncs fall back to msync
 * of the map's pages. file_base: the file offset of map->addr, or -1 when
 * unknown (ranged syncs are then widened to the whole file).
 */
int pmem2_syncer_new(struct pmem2_syncer **sp, struct pmem2_map *map,
	int fd, long long file_base);
/* Finishes every pending request, stops the worker, closes the fd. */
void pmem2_syncer_delete(struct pmem2_syncer *s);
/* Makes sure the worker runs; 0 or -errno. Cheap once it does. */
int pmem2_syncer_start(struct pmem2_syncer *s);
/* pthread_atfork handlers: lock; unlock; reset the child's copy. */
void pmem2_syncer_fork_prepare(struct pmem2_syncer *s);
void pmem2_syncer_fork_parent(struct pmem2_syncer *s);
void pmem2_syncer_fork_child(struct pmem2_syncer *s);
/*
 * Tells the syncer that req will be submitted once a mover has written its
 * bytes: a gathering batch waits for it (see gather() in syncer.c). Every
 * announced req must later be submitted or withdrawn.
 */
void pmem2_syncer_announce(struct pmem2_syncer *s, struct pmem2_sync_req *req);
/* The announced req will not be submitted after all (no-op if not). */
void pmem2_syncer_withdraw(struct pmem2_syncer *s, struct pmem2_sync_req *req);
/*
 * Queues req for [addr, addr+len): it completes with the first sync that
 * starts after this call. n (may be NULL) gives the waker to call then.
 */
void pmem2_syncer_submit(struct pmem2_syncer *s, struct pmem2_sync_req *req,
	const void *addr, size_t len, struct future_notifier *n);
/*
 * 1 when req is done (req->err final), 0 while it waits; keeps the waker
 * up to date with n and reports WAKER in n->notifier_used.
 */
int pmem2_syncer_poll(struct pmem2_syncer *s, struct pmem2_sync_req *req,
	struct future_notifier *n);
#endif /* PMEM2_ASYNC_IMPL_H */
