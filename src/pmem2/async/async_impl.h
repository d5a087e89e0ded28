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
#include <sys/types.h>
#include <libminiasync/vdm.h>
#include <libpmem2/base.h>

#define PMEM2_ASYNC_NFLAGS 64	/* every combination of PMEM2_F_MEM_* */

struct pmem2_map;
struct pmem2_ops;
struct pmem2_async;

/* What the default mover's data.data points at: the map and the flags. */
struct pmem2_async_token {
	struct pmem2_async *as;
	unsigned flags;
};

/*
 * How a map leads back to its file when a descriptor is needed (file.c):
 * the application's descriptor number at map time and the map's address.
 * dead: none of them led there (under file.c's lock).
 */
struct pmem2_file_way {
	int src_fd;
	const void *addr;
	int dead;
};

/* One mapped file, shared by every PAGE map of it (file.c). */
struct pmem2_file {
	dev_t dev;
	ino_t ino;
	char *path;		/* at map time; NULL: unknown */
	struct pmem2_file *hnext;	/* hash chain */
	struct pmem2_file *lru_prev, *lru_next;	/* files with a descriptor */
	unsigned refs;		/* maps */
	unsigned pins;		/* users of fd right now */
	int fd;			/* the file opened anew, or -1 */
	int fd_rdwr;		/* fd may be written through */
	int err;		/* first write-back error its syncs saw; atomic */
	/* the syncer's batch (worker thread only) */
	uint64_t bgen;
	unsigned long long blo, bhi;	/* file offsets */
	int bok, berr;
	struct pmem2_async *bas;
	struct pmem2_file *bnext;
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
	/*
	 * Every wrapped operation not finished yet (struct wop, async.c), so
	 * that pmem2_map_delete can wait for the movers still writing into
	 * the map and free what abandoned futures hold.
	 */
	pthread_mutex_t lock;
	void *live;
	void *spare;		/* finished wops kept for the next ones */
	unsigned nspare;
	struct pmem2_async *fork_prev, *fork_next;	/* every map's state */
	/*
	 * PAGE maps of a file: the file (NULL: none known, syncs are msync
	 * of the pages), the way back to it, whether copies may be written
	 * through the file, and the file offset of map->addr.
	 */
	struct pmem2_file *file;
	struct pmem2_file_way way;
	int pwrite_ok;
	long long file_base;
	unsigned npending;	/* requests in the syncer (its lock) */
	/* the syncer's batch when it msyncs the map (worker thread only) */
	uint64_t bgen;
	uintptr_t blo, bhi;
	int berr;
	int bfail;		/* the batch fails by injection */
	uint64_t cgen;		/* the checker's view of the batch */
	uintptr_t clo, chi;
	struct pmem2_async *cnext;
	struct pmem2_async *bnext;
	int inject_errno;	/* test only: syncs fail with this */
	long inject_left;	/* how many more (-1: all; worker thread) */
	struct pmem2_async_token tok[PMEM2_ASYNC_NFLAGS];
};

/*
 * One request for durability of an address range, waiting in the syncer.
 * Lives inside the operation state of the future that made it.
 */
struct pmem2_sync_req {
	struct pmem2_sync_req *next;
	struct pmem2_async *as;	/* the map it is for */
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

/* The file offset of p in as's map (file_base must be known). */
static inline unsigned long long
pmem2_async_file_off(const struct pmem2_async *as, const void *p)
{
	return (unsigned long long)as->file_base +
		((uintptr_t)p - (uintptr_t)as->map->addr);
}

/* file.c: the file fd (open) is a descriptor of; NULL: error set. */
struct pmem2_file *pmem2_file_ref(int fd);
void pmem2_file_unref(struct pmem2_file *f);
/*
 * A descriptor of f, opened through way if f has none; -1: none to be had
 * (use msync/stores). Read-write when want_write and possible (*rdwr says).
 * Every descriptor returned must be given back with pmem2_file_unpin.
 */
int pmem2_file_pin(struct pmem2_file *f, struct pmem2_file_way *way,
	int want_write, int *rdwr);
void pmem2_file_unpin(struct pmem2_file *f);
void pmem2_file_fork_prepare(void);
void pmem2_file_fork_parent(void);
void pmem2_file_fork_child(void);

/*
 * syncer.c: the process's one syncer. start makes sure its worker runs
 * (0 or -errno; cheap once it does).
 */
int pmem2_syncer_start(void);
/* pthread_atfork handlers: lock; unlock; reset the child's copy. */
void pmem2_syncer_fork_prepare(void);
void pmem2_syncer_fork_parent(void);
void pmem2_syncer_fork_child(void);
/*
 * Tells the syncer that req will be submitted once a mover has written its
 * bytes: a gathering batch waits for it (see gather() in syncer.c). Every
 * announced req must later be submitted or withdrawn.
 */
void pmem2_syncer_announce(struct pmem2_sync_req *req);
/* The announced req will not be submitted after all (no-op if not). */
void pmem2_syncer_withdraw(struct pmem2_sync_req *req);
/*
 * Queues req for [addr, addr+len) of as's map: it completes with the first
 * sync that starts after this call. n (may be NULL) gives the waker.
 */
void pmem2_syncer_submit(struct pmem2_async *as, struct pmem2_sync_req *req,
	const void *addr, size_t len, struct future_notifier *n);
/*
 * 1 when req is done (req->err final), 0 while it waits; keeps the waker
 * up to date with n and reports WAKER in n->notifier_used.
 */
int pmem2_syncer_poll(struct pmem2_sync_req *req, struct future_notifier *n);
/* Waits until no request of as is in the syncer. */
void pmem2_syncer_quiesce(struct pmem2_async *as);
#endif /* PMEM2_ASYNC_IMPL_H */
