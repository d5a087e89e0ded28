/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * async_impl.h -- the per-map state behind pmem2_*_async() and the PAGE
 * syncer that makes page-granularity writes durable without blocking the
 * thread that polls the futures.
 *
 * Every map's state holds two movers: dflt (dflt.c), the map's own memory
 * functions run inside the poll, which the futures of BYTE and CACHE_LINE
 * maps without a configured mover use directly; and wrap (wrap.c), which
 * drives the configured mover's operation, or the default copy on PAGE
 * maps, and then the map's durability backend (struct pmem2_durability,
 * chosen once per map by granularity) before reporting COMPLETE.
 */
#ifndef PMEM2_ASYNC_IMPL_H
#define PMEM2_ASYNC_IMPL_H 1

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <libminiasync/vdm.h>
#include <libpmem2/base.h>
#include "map.h"

#define PMEM2_ASYNC_NFLAGS 64	/* every combination of PMEM2_F_MEM_* */

struct pmem2_map;
struct pmem2_ops;
struct pmem2_async;
struct pmem2_source;
struct wop;

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
	long long pos_mark;	/* fd's position, our mark (-1: none) */
	int err;		/* first write-back error its syncs saw; atomic */
	long long retry_ns;	/* out of descriptors: no new try before */
	/* the syncer's batch (worker thread only) */
	uint64_t bgen;
	unsigned long long blo, bhi;	/* file offsets */
	int bok, berr;
	struct pmem2_async *bas;
	struct pmem2_file *bnext;
};

struct pmem2_async {
	struct pmem2_map *map;
	char *base;		/* the map's first byte and its length */
	size_t len;
	const struct pmem2_ops *ops;
	struct vdm *inner;	/* what wrap drives: the user's vdm, or NULL */
	/* chosen by granularity, once: the only place that looks at it */
	const struct pmem2_durability *dur;
	/* what the backend and the mover make of each other, at map time: */
	int direct;		/* futures use dflt itself, no wrapper */
	int inner_persists;	/* inner is asked to persist (dur says so) */
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
	 * The PAGE backend's per-map state (page.c, syncer.c, file.c; the
	 * other backends leave it zero): the file (NULL: none known, syncs
	 * are msync of the pages), the way back to it, whether copies may be
	 * written through the file, and the file offset of map->addr.
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

/* The file offset of p in as's map (file_base must be known). */
static inline unsigned long long
pmem2_async_file_off(const struct pmem2_async *as, const void *p)
{
	return (unsigned long long)as->file_base +
		((uintptr_t)p - (uintptr_t)as->base);
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
/*
 * Whether the pinned fd still is the descriptor we opened for f and, when
 * size is not NULL, the file's size in *size (0 also when the size cannot
 * be had); cheap (file.c). When fd is not ours (the application closed it
 * and the number names another file now), f forgets it and the next pin
 * opens the file again. The pin stays: the caller unpins either way.
 */
int pmem2_file_check(struct pmem2_file *f, int fd, unsigned long long *size);
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

/* ---- what the files of async/ share ---- */

#include "common/vdm_op.h"

/* The destination range an operation writes (or persists). */
static inline void *
op_dest(const struct vdm_operation *op)
{
	switch (op->type) {
	case VDM_OPERATION_MEMCPY:
		return op->data.memcpy.dest;
	case VDM_OPERATION_MEMMOVE:
		return op->data.memmove.dest;
	case VDM_OPERATION_MEMSET:
		return op->data.memset.str;
	default:
		return op->data.flush.dest;
	}
}

/* The output of a finished operation: its destination, and the result. */
static inline void
op_output(const struct vdm_operation *op, struct vdm_operation_output *out,
	enum vdm_operation_result result)
{
	void *dest = result == VDM_SUCCESS ? op_dest(op) : NULL;

	out->type = op->type;
	out->result = result;
	switch (op->type) {
	case VDM_OPERATION_MEMCPY:
		out->output.memcpy.dest = dest;
		break;
	case VDM_OPERATION_MEMMOVE:
		out->output.memmove.dest = dest;
		break;
	case VDM_OPERATION_MEMSET:
		out->output.memset.str = dest;
		break;
	default:
		out->output.flush.unused = 0;
		break;
	}
}

/*
 * Whether op's destination lies wholly inside the map (a zero-length one:
 * starts inside it or at its end). When not, sets the message and the
 * operation must write nothing: the bytes could land in another map, which
 * this map's persistence does not cover, or in no map at all.
 */
static inline int
dest_inside(const struct pmem2_async *as, const struct vdm_operation *op)
{
	uintptr_t a = (uintptr_t)as->base;
	uintptr_t d = (uintptr_t)op_dest(op);
	size_t size = as->len;

	/* d - a wraps for d < a, so one comparison covers both sides */
	return d - a <= size && op_length(op) <= size - (d - a);
}

/* dest_inside, or sets the message and returns 0 (dflt.c). */
int pmem2_async_dest_check(const struct pmem2_async *as,
	const struct vdm_operation *op);

enum wop_phase {
	WOP_NEW,	/* nothing started yet */
	WOP_MOVE,	/* the inner mover's operation runs */
	WOP_PERSIST,	/* moved; the durability step is next */
	WOP_WAIT,	/* waiting for the durability backend */
	WOP_DONE,
};

/*
 * The state of one wrapped operation (the future's data.data): one
 * operation of the inner mover, then the durability step. The wrapper
 * never splits an operation: how to share a large one among workers is
 * the mover's business (libminiasync's threads mover cuts it into parts its
 * idle workers take).
 */
struct wop {
	struct pmem2_async *as;
	unsigned pflags;	/* PMEM2_F_MEM_* of the call */
	enum wop_phase phase;
	enum vdm_operation_result result;
	int skip_flush;		/* the inner mover persisted already */
	int has_saved;		/* saved holds the notifier of the first poll */
	int forked;		/* a fork child's copy of a moving wop */
	struct future_notifier saved;	/* for op_check, which gets none */
	uint64_t vflags;	/* what the inner operation asks of the mover */
	struct vdm_operation_future inner;
	struct pmem2_sync_req req;
	struct wop *prev, *next;	/* as->live or as->spare, as->lock */
};

/*
 * Finished wops are kept for the next operations of the map (a few: a
 * burst of operations in flight does not stay allocated for good), so a
 * steady stream of operations allocates nothing.
 */

/*
 * How a map makes a written range durable: one backend per granularity,
 * chosen once when the map is made (as->dur, pmem2_async_map_init), the
 * way an event loop picks its one backend. Nothing outside the backends
 * asks which granularity a map has: the shared steps (async.c, wrap.c)
 * only call these hooks. A NULL hook has nothing to do.
 *
 * Per map:
 *   map_init:    the map's state is being made (t: what the map is of);
 *                0 or a PMEM2_E_* / -errno code, with the message set.
 *   map_quiesce: no operation of the map runs any more (pmem2_map_delete
 *                waited for them): wait until the backend has nothing of
 *                the map in flight either. The map stays usable.
 *   map_fini:    the map's state is freed (after map_quiesce).
 * Per operation:
 *   begin:       a wrapped future is being made (PAGE: make sure the
 *                syncer runs, also in a fork child); 0, or -errno: the
 *                future completes at once with VDM_ERROR_OUT_OF_MEMORY.
 *   write:       the default mover's copy or fill of w's operation when the
 *                backend has a better way than stores (PAGE: pwrite
 *                through the file); 1 when done (w->result set), 0: the
 *                map's memory functions store it.
 *   prepare:     a mover is about to write the range asynchronously (PAGE:
 *                a gathering sync batch waits for it).
 *   start:       the range is written; COMPLETE when it is durable now,
 *                RUNNING when poll must follow. Never NULL.
 *   poll:        COMPLETE once durable (w->result says how it went).
 *                Never NULL.
 *   fini:        the operation ends, in whatever phase.
 * Properties (flags):
 *   PMEM2_DUR_INLINE: start always completes, so with no mover in the
 *                config a future runs the map's own memory functions in
 *                its poll (dflt.c) and needs no wrapper state at all.
 *   PMEM2_DUR_MOVER_PERSISTS: a mover that supports VDM_F_MEM_DURABLE is
 *                asked to persist itself, and start has nothing left to do
 *                (CACHE_LINE; on BYTE maps the fence is cheaper than the
 *                mover's write-back, on PAGE maps it is not enough).
 */
#define PMEM2_DUR_INLINE		(1u << 0)
#define PMEM2_DUR_MOVER_PERSISTS	(1u << 1)

struct pmem2_durability {
	unsigned flags;
	int (*map_init)(struct pmem2_async *as,
		const struct pmem2_async_target *t);
	void (*map_quiesce)(struct pmem2_async *as);
	void (*map_fini)(struct pmem2_async *as);
	int (*begin)(struct pmem2_async *as);
	int (*write)(struct wop *w, const struct vdm_operation *op);
	void (*prepare)(struct wop *w);
	enum future_state (*start)(struct wop *w, void *dest, size_t len,
		struct future_notifier *n);
	enum future_state (*poll)(struct wop *w, const struct vdm_operation *op,
		struct future_notifier *n);
	void (*fini)(struct wop *w);
};

extern const struct pmem2_durability pmem2_dur_byte;	/* durability.c */
extern const struct pmem2_durability pmem2_dur_cache_line;
extern const struct pmem2_durability pmem2_dur_page;	/* page.c */

/* dflt.c: the default mover, the map's memory functions in the poll */
void pmem2_dflt_init(struct pmem2_async *as);
void pmem2_dflt_run(const struct pmem2_async_token *t,
	const struct vdm_operation *op);
enum future_state pmem2_dflt_task(struct future_context *ctx,
	struct future_notifier *n);

/* wrap.c: the wrapper that adds the durability step to a mover */
void pmem2_wrap_init(struct pmem2_async *as);
struct wop *pmem2_wop_new(struct pmem2_async *as, unsigned pflags);
enum future_state pmem2_wrap_task(struct future_context *ctx,
	struct future_notifier *n);
int pmem2_wrap_has_property(void *future, enum future_property prop);
/* Lets the mover finish what it was given for w (map delete). */
void pmem2_wop_drain(struct wop *w);

/* page.c: the PAGE backend's write hook (through the file when it can) */
int pmem2_page_write(struct wop *w, const struct vdm_operation *op);

#endif /* PMEM2_ASYNC_IMPL_H */
