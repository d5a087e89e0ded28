/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * data_mover_threads.c -- a mover backed by worker threads.
 *
 * Path of an operation:
 *  - op_new takes a node from the mover's free list (a short spinlock; the
 *    list grows with malloc and never runs dry: NULL, and so
 *    VDM_ERROR_OUT_OF_MEMORY, only when malloc fails).
 *  - op_start (first poll) either runs a very small operation right away in
 *    the polling thread (n <= inline_max, MINIASYNC_THREADS_INLINE_MAX), or
 *    pushes the node and a copy of the operation (one cache line) onto a
 *    bounded lock-free queue (Vyukov's MPMC ring, ringbuf_size slots). A full
 *    queue makes op_start return non-zero: the future stays IDLE and the
 *    next poll tries again, nothing is lost. op_start only reads the
 *    operation it is given, so wrapping movers may pass their own copy.
 *  - a large operation (>= split_min, MINIASYNC_THREADS_SPLIT_MIN) is the
 *    one thing the mover splits: it is kept in the node and cut into
 *    fixed-size parts (part_size, MINIASYNC_THREADS_PART_SIZE, ending on
 *    multiples of it in the destination), and one ticket per worker goes
 *    into the queue. A worker holding a ticket takes parts (an atomic
 *    counter) until none is left, so the parts go to whichever workers are
 *    awake: one slow to wake, or preempted, holds back only the part it
 *    runs. A queue too full for every ticket just means fewer helpers.
 *  - a worker pops an operation (or a ticket), runs it, and the worker
 *    finishing the last part publishes completion (complete = 1, the word
 *    a POLLER notifier watches) and calls the waker if the future asked for
 *    one; then `released` is set (for a split operation by the worker
 *    giving back the last ticket), after which no worker touches the node.
 *  - op_check reports COMPLETE once `complete` is set; op_delete waits for
 *    `released` (a few instructions, or one futex wake) and returns the
 *    node to the free list, so a waker is never called after the future's
 *    owner could have seen the result and freed the runtime.
 *
 * Operations carrying VDM_F_MEM_DURABLE or VDM_F_NO_CACHE_HINT (both
 * declared in the capabilities) are done with streaming stores
 * (common/nt_stream.c) or followed by a write-back, and every worker
 * fences before it counts its part done: see run_part(). So are plain copies and fills of stream_min
 * bytes or more (MINIASYNC_THREADS_STREAM_MIN, by default from the cache
 * sizes: nt_stream_plain_min()), which would only flush the caches.
 *
 * A worker that finds no work spins for about spin_ns (WORKER_SPIN_NS,
 * MINIASYNC_THREADS_SPIN_NS), so that a request soon after activity is
 * picked up without a futex wake-up (a system call on both sides, and
 * under a hypervisor an interrupt to another virtual CPU), then sleeps on
 * a futex. Only one worker spins at a time: the others sleep at once, so
 * an idle mover burns at most one CPU, for spin_ns, and the spinner does
 * not compete with the submitting thread on a small machine. Wake-ups are
 * spent only where they pay: a producer wakes a sleeper for an operation
 * only when every worker sleeps or runs something that may take long (a
 * large or split operation, or a replacement function: long_busy); an
 * awake one that runs a short operation pops the queue again soon. One
 * per ticket of a split operation beyond a spinning worker; a worker
 * wakes one helper when it pops a long operation with more queued, or
 * sees a long backlog. A stream of small
 * operations thus stays with one worker instead of paying a wake-up per
 * handful of them. Both sides check the other's word after publishing
 * their own (Dekker-style, sequentially consistent), so no wake-up is lost.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "libminiasync/data_mover_threads.h"
#include "common/cpu.h"
#include "common/check_hooks.h"
#include "common/env.h"
#include "common/vdm_op.h"
#include "internal.h"
#include "common/nt_stream.h"

#define WORKER_SPIN_NS 50000ull
#define DEFAULT_INLINE_MAX 256
#define DEFAULT_SPLIT_MIN (1u << 20)
#define DEFAULT_PART_SIZE (512u << 10)
/* bits of a queued operation's `padding` */
#define PART_SPLIT 1u	/* a ticket: take parts of node->op */
#define PART_STREAM 2u	/* a large plain one: streaming stores */
/* a worker that pops an operation this big wakes a sleeper for the rest */
#define HELP_BYTES (64u << 10)
/* ... and so does one that sees this many operations queued */
#define HELP_BACKLOG 64
#define NODES_PER_CHUNK 64
#define CACHELINE 64

struct data_mover_threads;

struct dmt_node {
	uint64_t complete;	/* 0 -> 1 when the bytes are done */
	uint32_t released;	/* 0 -> 1 when the workers are done with us */
	uint32_t parts;		/* parts not yet done (split operations) */
	enum future_notifier_type notifier;
	uint32_t padding;
	struct future_waker waker;
	struct data_mover_threads *dmt;
	struct dmt_node *next_free;

	/* a split operation: the workers holding a ticket take its parts */
	uint32_t next_part;	/* the next part nobody took yet */
	uint32_t nparts;
	uint32_t tickets;	/* tickets not yet given back */
	uint32_t stream;	/* PART_STREAM or 0 */
	size_t part_size;
	size_t skew;		/* dest % part_size: parts end on boundaries */
	struct vdm_operation op;	/* the whole operation */
} __attribute__((aligned(CACHELINE)));

/*
 * What a worker gets: the operation itself travels in the queue slot, so
 * the worker touches only the slot and, when done, the node; for a split
 * operation, a ticket (`padding` PART_SPLIT): the parts come from the node.
 */
struct dmt_item {
	struct dmt_node *node;
	struct vdm_operation op;
};

struct dmt_slot {
	size_t seq;
	struct dmt_item item;
} __attribute__((aligned(CACHELINE)));

struct dmt_chunk {
	struct dmt_chunk *next;
	struct dmt_node nodes[NODES_PER_CHUNK];
};

struct data_mover_threads {
	struct vdm base;	/* first: the vdm pointer is the mover */
	enum future_notifier_type notifier;
	size_t inline_max;
	size_t split_min;
	size_t part_size;
	size_t stream_min;	/* plain operations from this size stream */

	/* replaceable operations; read by workers, so accessed atomically */
	memcpy_fn fn_memcpy;
	memmove_fn fn_memmove;
	memset_fn fn_memset;

	size_t nthreads;
	pthread_t *threads;

	struct dmt_slot *slots;
	size_t mask;

	size_t tail __attribute__((aligned(CACHELINE)));	/* producers */
	size_t head __attribute__((aligned(CACHELINE)));	/* workers */

	uint32_t work_gen __attribute__((aligned(CACHELINE)));
	uint32_t sleepers;
	uint32_t long_busy;	/* workers inside a long operation (op_long) */
	uint32_t spinning;	/* 1 while a worker spins for work */
	uint32_t waking;	/* 1 from a helper wake-up until a worker wakes */
	int submit_cpu;		/* where the latest push came from */
	int stop;
	uint64_t spin_ns;

	uint32_t free_lock __attribute__((aligned(CACHELINE)));
	struct dmt_node *free_nodes;
	struct dmt_chunk *chunks;

	/* registry of live movers, for the per-thread node caches */
	uint64_t id;
	struct data_mover_threads *reg_next;
};

/* ---- default operations (flags are hints the libc versions ignore) ---- */

static void *
def_memcpy(void *dst, const void *src, size_t n, unsigned flags)
{
	(void)flags;
	return memcpy(dst, src, n);
}

static void *
def_memmove(void *dst, const void *src, size_t n, unsigned flags)
{
	(void)flags;
	return memmove(dst, src, n);
}

static void *
def_memset(void *str, int c, size_t n, unsigned flags)
{
	(void)flags;
	return memset(str, c, n);
}

/*
 * The flags the mover acts on: VDM_F_MEM_DURABLE (the bytes must have left
 * the CPU caches when the future completes) and VDM_F_NO_CACHE_HINT (keep
 * them out of the caches).
 */
#define DMT_FLAGS (VDM_F_MEM_DURABLE | VDM_F_NO_CACHE_HINT)

/* After a (default or replacement) function wrote [d, d+n). */
static inline void
fn_done(const void *d, size_t n, uint64_t fl)
{
	persist_note_store(d, n);	/* what the function did, as far as we know */
	if (fl & VDM_F_MEM_DURABLE)
		nt_write_back(d, n);
}

/*
 * Runs the operation (or a part of it: see split_part).
 *
 * With DMT_FLAGS (or PART_STREAM) and the default functions, the bytes are
 * written with streaming (non-temporal) stores, the partial lines at the
 * ends written back when durability is asked for; with a replacement
 * function (or an overlapping move), the function runs and then, for
 * durability, every destination line is written back. Either way a store
 * fence follows, so that whoever publishes completion after us publishes it
 * after the bytes (non-temporal stores and write-backs are not ordered by
 * other stores): a reader that sees the future complete sees the bytes.
 */
static void
run_part(struct data_mover_threads *dmt, const struct vdm_operation *op)
{
	uint64_t fl;
	size_t len = op_length(op);
	int nt = (op->padding & PART_STREAM) != 0;
	int streamed = 0;

	switch (op->type) {
	case VDM_OPERATION_MEMCPY: {
		char *d = op->data.memcpy.dest;
		const char *s = op->data.memcpy.src;
		fl = op->data.memcpy.flags & DMT_FLAGS;
		memcpy_fn f = __atomic_load_n(&dmt->fn_memcpy,
			__ATOMIC_ACQUIRE);
		if ((fl != 0 || nt) && f == def_memcpy) {
			nt_stream_copy(d, s, len, fl & VDM_F_MEM_DURABLE);
			streamed = 1;
		} else {
			f(d, s, len, (unsigned)op->data.memcpy.flags);
			fn_done(d, len, fl);
		}
		break;
	}
	case VDM_OPERATION_MEMMOVE: {
		char *d = op->data.memmove.dest;
		const char *s = op->data.memmove.src;
		fl = op->data.memmove.flags & DMT_FLAGS;
		memmove_fn f = __atomic_load_n(&dmt->fn_memmove,
			__ATOMIC_ACQUIRE);
		if ((fl != 0 || nt) && f == def_memmove &&
				!ranges_overlap(d, s, len)) {
			nt_stream_copy(d, s, len, fl & VDM_F_MEM_DURABLE);
			streamed = 1;
		} else {
			f(d, s, len, (unsigned)op->data.memmove.flags);
			fn_done(d, len, fl);
		}
		break;
	}
	case VDM_OPERATION_MEMSET: {
		char *d = op->data.memset.str;
		fl = op->data.memset.flags & DMT_FLAGS;
		memset_fn f = __atomic_load_n(&dmt->fn_memset,
			__ATOMIC_ACQUIRE);
		if ((fl != 0 || nt) && f == def_memset) {
			nt_stream_fill(d, op->data.memset.c, len,
				fl & VDM_F_MEM_DURABLE);
			streamed = 1;
		} else {
			f(d, op->data.memset.c, len,
				(unsigned)op->data.memset.flags);
			fn_done(d, len, fl);
		}
		break;
	}
	case VDM_OPERATION_FLUSH:
		nt_write_back(op->data.flush.dest, len);
		fl = 1;
		break;
	default:
		return;
	}
	if (fl != 0 || streamed) {
		cpu_sfence();
		persist_note_fence();
	}
}

/* The VDM_F_* flags the operation carries. */
static uint64_t
op_flags(const struct vdm_operation *op)
{
	switch (op->type) {
	case VDM_OPERATION_MEMCPY:
		return op->data.memcpy.flags;
	case VDM_OPERATION_MEMMOVE:
		return op->data.memmove.flags;
	case VDM_OPERATION_MEMSET:
		return op->data.memset.flags;
	default:
		return op->data.flush.flags;
	}
}

/* out = bytes [off, off+len) of op, with `padding` (our bits) cleared */
static void
op_part(const struct vdm_operation *op, size_t off, size_t len,
	struct vdm_operation *out)
{
	*out = *op;
	out->padding = 0;
	switch (op->type) {
	case VDM_OPERATION_MEMCPY:
		out->data.memcpy.dest = (char *)op->data.memcpy.dest + off;
		out->data.memcpy.src = (char *)op->data.memcpy.src + off;
		out->data.memcpy.n = len;
		break;
	case VDM_OPERATION_MEMMOVE:
		out->data.memmove.dest = (char *)op->data.memmove.dest + off;
		out->data.memmove.src = (char *)op->data.memmove.src + off;
		out->data.memmove.n = len;
		break;
	case VDM_OPERATION_MEMSET:
		out->data.memset.str = (char *)op->data.memset.str + off;
		out->data.memset.n = len;
		break;
	case VDM_OPERATION_FLUSH:
		out->data.flush.dest = (char *)op->data.flush.dest + off;
		out->data.flush.n = len;
		break;
	default:
		break;
	}
}

/* The first byte the operation writes (flush: writes back). */
static uintptr_t
op_dest(const struct vdm_operation *op)
{
	switch (op->type) {
	case VDM_OPERATION_MEMCPY:
		return (uintptr_t)op->data.memcpy.dest;
	case VDM_OPERATION_MEMMOVE:
		return (uintptr_t)op->data.memmove.dest;
	case VDM_OPERATION_MEMSET:
		return (uintptr_t)op->data.memset.str;
	default:
		return (uintptr_t)op->data.flush.dest;
	}
}

/* Can the operation be cut into independent parts? */
static int
op_splittable(const struct vdm_operation *op)
{
	if (op->type != VDM_OPERATION_MEMMOVE)
		return ma_valid_type(op->type);
	uintptr_t d = (uintptr_t)op->data.memmove.dest;
	uintptr_t s = (uintptr_t)op->data.memmove.src;
	size_t n = op->data.memmove.n;
	return (d > s ? d - s : s - d) >= n;	/* no overlap */
}

/* ---- the queue ---- */

static int
queue_push(struct data_mover_threads *dmt, const struct dmt_item *item)
{
	size_t pos = __atomic_load_n(&dmt->tail, __ATOMIC_RELAXED);
	struct dmt_slot *slot;
	for (;;) {
		slot = &dmt->slots[pos & dmt->mask];
		size_t seq = __atomic_load_n(&slot->seq, __ATOMIC_ACQUIRE);
		intptr_t dif = (intptr_t)seq - (intptr_t)pos;
		if (dif == 0) {
			if (__atomic_compare_exchange_n(&dmt->tail, &pos,
					pos + 1, 1, __ATOMIC_RELAXED,
					__ATOMIC_RELAXED))
				break;
		} else if (dif < 0) {
			return -1;	/* full */
		} else {
			pos = __atomic_load_n(&dmt->tail, __ATOMIC_RELAXED);
		}
	}
	MA_HA(slot);
	slot->item = *item;
	MA_HB(slot);
	__atomic_store_n(&slot->seq, pos + 1, __ATOMIC_RELEASE);
	return 0;
}

static int
queue_pop(struct data_mover_threads *dmt, struct dmt_item *item)
{
	size_t pos = __atomic_load_n(&dmt->head, __ATOMIC_RELAXED);
	struct dmt_slot *slot;
	for (;;) {
		slot = &dmt->slots[pos & dmt->mask];
		size_t seq = __atomic_load_n(&slot->seq, __ATOMIC_ACQUIRE);
		intptr_t dif = (intptr_t)seq - (intptr_t)(pos + 1);
		if (dif == 0) {
			if (__atomic_compare_exchange_n(&dmt->head, &pos,
					pos + 1, 1, __ATOMIC_RELAXED,
					__ATOMIC_RELAXED))
				break;
		} else if (dif < 0) {
			return -1;	/* empty */
		} else {
			pos = __atomic_load_n(&dmt->head, __ATOMIC_RELAXED);
		}
	}
	MA_HA(slot);
	*item = slot->item;
	MA_HB(slot);
	__atomic_store_n(&slot->seq, pos + dmt->mask + 1, __ATOMIC_RELEASE);
	return 0;
}

static int
queue_nonempty(struct data_mover_threads *dmt)
{
	size_t pos = __atomic_load_n(&dmt->head, __ATOMIC_SEQ_CST);
	struct dmt_slot *slot = &dmt->slots[pos & dmt->mask];
	return __atomic_load_n(&slot->seq, __ATOMIC_SEQ_CST) == pos + 1;
}

/*
 * After pushing one operation, or `tickets` tickets of a split one: wake
 * sleeping workers if needed. A worker that is awake (spinning, or running
 * something) takes a plain operation without help: it pops the queue again
 * before it sleeps. Each ticket beyond a spinning worker's wakes one.
 */
static void
wake_workers(struct data_mover_threads *dmt, int tickets)
{
	/* written only when it changes: the line stays shared */
	int cpu = sched_getcpu();
	if (cpu != __atomic_load_n(&dmt->submit_cpu, __ATOMIC_RELAXED))
		__atomic_store_n(&dmt->submit_cpu, cpu, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	uint32_t sl = __atomic_load_n(&dmt->sleepers, __ATOMIC_SEQ_CST);
	if (sl == 0)
		return;
	int want;
	if (tickets == 0) {
		/*
		 * everybody sleeps, or is inside an operation that may take
		 * long: nobody would pop this one soon
		 */
		want = sl + __atomic_load_n(&dmt->long_busy,
			__ATOMIC_SEQ_CST) >= dmt->nthreads;
	} else {
		want = tickets;
		if (__atomic_load_n(&dmt->spinning, __ATOMIC_SEQ_CST) != 0)
			want--;
	}
	if (want <= 0)
		return;
	__atomic_fetch_add(&dmt->work_gen, 1, __ATOMIC_SEQ_CST);
	ma_futex_wake(&dmt->work_gen, want);
}

/*
 * Does this worker run on the CPU work was last submitted from? Then its
 * spinning would keep the submitter (preempted by our wake-up, say) off
 * its CPU until the spin ends: it sleeps instead.
 */
static inline int
on_submit_cpu(struct data_mover_threads *dmt)
{
	int cpu = sched_getcpu();
	return cpu >= 0 &&
		cpu == __atomic_load_n(&dmt->submit_cpu, __ATOMIC_RELAXED);
}

/*
 * May the item keep its worker away from the queue for long? A split
 * operation's ticket, a large operation, or one run by a replacement
 * function (whose speed we cannot know). The producers wake a sleeper for
 * work that only such workers are awake to take.
 */
static int
item_long(struct data_mover_threads *dmt, const struct dmt_item *it)
{
	if ((it->op.padding & PART_SPLIT) != 0 ||
			op_length(&it->op) >= HELP_BYTES)
		return 1;
	switch (it->op.type) {
	case VDM_OPERATION_MEMCPY:
		return __atomic_load_n(&dmt->fn_memcpy, __ATOMIC_RELAXED) !=
			def_memcpy;
	case VDM_OPERATION_MEMMOVE:
		return __atomic_load_n(&dmt->fn_memmove, __ATOMIC_RELAXED) !=
			def_memmove;
	case VDM_OPERATION_MEMSET:
		return __atomic_load_n(&dmt->fn_memset, __ATOMIC_RELAXED) !=
			def_memset;
	default:
		return 0;
	}
}

/*
 * A worker that popped `it` asks a sleeper to help with the rest of the
 * queue when that pays for a wake-up (which under a hypervisor costs
 * microseconds on both sides): before a long operation (`lng`, counted in
 * long_busy already: either the producer of anything queued saw the count
 * or we see its item here, so that wake-up is not left to the `waking`
 * guard), behind a long backlog, or when it shares its CPU with the
 * submitting thread (which then gets only part of it). `waking` keeps the
 * latter to one wake-up at a time.
 */
static void
maybe_help(struct data_mover_threads *dmt, int lng)
{
	if (__atomic_load_n(&dmt->sleepers, __ATOMIC_SEQ_CST) == 0)
		return;
	if (lng) {
		if (!queue_nonempty(dmt))
			return;
	} else {
		size_t backlog = __atomic_load_n(&dmt->tail,
			__ATOMIC_RELAXED) -
			__atomic_load_n(&dmt->head, __ATOMIC_RELAXED);
		if (backlog == 0 || (backlog < HELP_BACKLOG &&
				!on_submit_cpu(dmt)))
			return;
		if (__atomic_exchange_n(&dmt->waking, 1, __ATOMIC_SEQ_CST))
			return;
	}
	__atomic_fetch_add(&dmt->work_gen, 1, __ATOMIC_SEQ_CST);
	ma_futex_wake(&dmt->work_gen, 1);
}

/* ---- node allocation: a free list that grows, never runs dry ---- */

/*
 * The free list is guarded by a tiny spinlock: the critical sections are a
 * few instructions, and it is nearly always taken by the same thread, so it
 * is cheaper than a mutex. The HB/HA pair tells helgrind it is a lock.
 */
static void
free_lock(struct data_mover_threads *dmt)
{
	unsigned spins = 0;
	while (__atomic_exchange_n(&dmt->free_lock, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(&dmt->free_lock, __ATOMIC_RELAXED)) {
			if (++spins < 100)
				ma_pause();
			else
				sched_yield();
		}
	}
	MA_HA(&dmt->free_lock);
}

static void
free_unlock(struct data_mover_threads *dmt)
{
	MA_HB(&dmt->free_lock);
	__atomic_store_n(&dmt->free_lock, 0, __ATOMIC_RELEASE);
}

/* Takes up to `want` nodes into out[]; returns how many (0: no memory). */
static unsigned
node_get_batch(struct data_mover_threads *dmt, struct dmt_node **out,
	unsigned want)
{
	unsigned got = 0;
	free_lock(dmt);
	while (got < want) {
		struct dmt_node *node = dmt->free_nodes;
		if (node == NULL) {
			if (got > 0)
				break;
			struct dmt_chunk *c = aligned_alloc(CACHELINE,
				sizeof(struct dmt_chunk));
			if (c == NULL)
				break;
			c->next = dmt->chunks;
			dmt->chunks = c;
			for (size_t i = 0; i < NODES_PER_CHUNK; i++) {
				struct dmt_node *x = &c->nodes[i];
				MA_NOCHECK(&x->complete, sizeof(x->complete));
				MA_NOCHECK(&x->released, sizeof(x->released));
				MA_NOCHECK(&x->parts, sizeof(x->parts));
				MA_NOCHECK(&x->next_part, sizeof(x->next_part));
				MA_NOCHECK(&x->tickets, sizeof(x->tickets));
				x->dmt = dmt;
				x->next_free = (i + 1 < NODES_PER_CHUNK) ?
					&c->nodes[i + 1] : NULL;
			}
			node = &c->nodes[0];
		}
		dmt->free_nodes = node->next_free;
		out[got++] = node;
	}
	free_unlock(dmt);
	return got;
}

static void
node_put_batch(struct data_mover_threads *dmt, struct dmt_node **nodes,
	unsigned n)
{
	if (n == 0)
		return;
	free_lock(dmt);
	for (unsigned i = 0; i < n; i++) {
		nodes[i]->next_free = dmt->free_nodes;
		dmt->free_nodes = nodes[i];
	}
	free_unlock(dmt);
}

/*
 * Per-thread node cache. Taking the free-list lock costs a locked
 * instruction or two per operation, which dominates small operations; each
 * thread therefore keeps a few nodes of the mover it used last. The cache
 * names its mover by address and unique id; nodes go back to the mover's
 * list when the thread switches movers or exits, but only if the mover is
 * still alive (checked under the registry lock, which delete also takes),
 * otherwise they were freed with the mover and are just forgotten.
 */
#define TC_MAX 32
#define TC_BATCH 16

struct tcache {
	struct data_mover_threads *dmt;
	uint64_t id;
	unsigned n;
	struct dmt_node *nodes[TC_MAX];
};

/*
 * initial-exec: a direct %fs access instead of a __tls_get_addr call on
 * every operation (a few hundred bytes of static TLS).
 */
static __thread struct tcache tc __attribute__((tls_model("initial-exec")));
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct data_mover_threads *reg_head;
static uint64_t reg_last_id;
static pthread_key_t tc_key;
static int tc_key_ok;

static void
tc_flush(void)
{
	if (tc.n > 0) {
		pthread_mutex_lock(&reg_lock);
		struct data_mover_threads *d;
		for (d = reg_head; d != NULL; d = d->reg_next)
			if (d == tc.dmt && d->id == tc.id)
				break;
		if (d != NULL)
			node_put_batch(d, tc.nodes, tc.n);
		pthread_mutex_unlock(&reg_lock);
	}
	tc.n = 0;
	tc.dmt = NULL;
	tc.id = 0;
}

static void
tc_thread_exit(void *arg)
{
	(void)arg;
	tc_flush();
}

/* At load time, before any thread of ours exists (helgrind cannot follow
 * pthread_once). */
__attribute__((constructor)) static void
tc_key_init(void)
{
	tc_key_ok = pthread_key_create(&tc_key, tc_thread_exit) == 0;
}

__attribute__((destructor)) static void
tc_key_fini(void)
{
	if (tc_key_ok) {
		tc_key_ok = 0;
		pthread_key_delete(tc_key);
	}
}

/* Makes the calling thread's cache serve dmt. */
static void
tc_adopt(struct data_mover_threads *dmt)
{
	tc_flush();
	if (!tc_key_ok)
		return;	/* no exit hook: run uncached */
	pthread_setspecific(tc_key, &tc);
	tc.dmt = dmt;
	tc.id = dmt->id;
}

static inline int
tc_serves(struct data_mover_threads *dmt)
{
	return tc.dmt == dmt && tc.id == dmt->id;
}

static struct dmt_node *
node_get(struct data_mover_threads *dmt)
{
	if (tc_serves(dmt) && tc.n > 0)
		return tc.nodes[--tc.n];
	if (!tc_serves(dmt))
		tc_adopt(dmt);
	if (tc_serves(dmt)) {
		tc.n = node_get_batch(dmt, tc.nodes, TC_BATCH);
		return tc.n > 0 ? tc.nodes[--tc.n] : NULL;
	}
	struct dmt_node *node;
	return node_get_batch(dmt, &node, 1) ? node : NULL;
}

static void
node_put(struct data_mover_threads *dmt, struct dmt_node *node)
{
	if (tc_serves(dmt)) {
		if (tc.n == TC_MAX) {
			node_put_batch(dmt, tc.nodes + TC_MAX - TC_BATCH,
				TC_BATCH);
			tc.n -= TC_BATCH;
		}
		tc.nodes[tc.n++] = node;
		return;
	}
	node_put_batch(dmt, &node, 1);
}

static void
registry_add(struct data_mover_threads *dmt)
{
	pthread_mutex_lock(&reg_lock);
	dmt->id = ++reg_last_id;
	dmt->reg_next = reg_head;
	reg_head = dmt;
	pthread_mutex_unlock(&reg_lock);
}

static void
registry_remove(struct data_mover_threads *dmt)
{
	pthread_mutex_lock(&reg_lock);
	struct data_mover_threads **pp = &reg_head;
	while (*pp != NULL && *pp != dmt)
		pp = &(*pp)->reg_next;
	if (*pp == dmt)
		*pp = dmt->reg_next;
	pthread_mutex_unlock(&reg_lock);
	if (tc.dmt == dmt) {
		tc.n = 0;
		tc.dmt = NULL;
		tc.id = 0;
	}
}

/* ---- completion ---- */

/* The bytes are done: the future completes, its waker is called. */
static void
node_publish(struct dmt_node *node)
{
	int waker = node->notifier == FUTURE_NOTIFIER_WAKER;
	struct future_waker w = node->waker;

	MA_HB(node);
	__atomic_store_n(&node->complete, 1, __ATOMIC_RELEASE);
	if (waker && w.wake != NULL)
		w.wake(w.data);
}

/* Nobody of ours touches the node from here on: op_delete may recycle it. */
static void
node_release(struct dmt_node *node)
{
	MA_HB(node);
	__atomic_store_n(&node->released, 1, __ATOMIC_RELEASE);
}

/*
 * Part i of a split operation: the parts end where the destination crosses
 * a multiple of part_size, so every part but the first and the last is
 * whole and aligned (the streaming stores then need no partial lines).
 */
static void
split_part(const struct dmt_node *node, uint32_t i, struct vdm_operation *out)
{
	size_t size = op_length(&node->op);
	size_t end = (size_t)(i + 1) * node->part_size - node->skew;
	size_t off = i == 0 ? 0 : end - node->part_size;
	if (end > size)
		end = size;
	op_part(&node->op, off, end - off, out);
	out->padding = node->stream;
}

/*
 * A worker holding a ticket of a split operation takes parts until none is
 * left; whoever finishes the last part completes the future, and whoever
 * gives back the last ticket releases the node. Another worker that is
 * slow to wake (or preempted) thus delays nothing: the parts it does not
 * take, the others do.
 */
static void
run_split(struct data_mover_threads *dmt, struct dmt_node *node)
{
	uint32_t n = node->nparts;
	for (;;) {
		uint32_t i = __atomic_fetch_add(&node->next_part, 1,
			__ATOMIC_RELAXED);
		if (i >= n)
			break;
		struct vdm_operation part;
		split_part(node, i, &part);
		run_part(dmt, &part);
		MA_HB(&node->parts);
		if (__atomic_sub_fetch(&node->parts, 1, __ATOMIC_ACQ_REL) == 0) {
			MA_HA(&node->parts);
			node_publish(node);
		}
	}
	MA_HB(&node->tickets);
	if (__atomic_sub_fetch(&node->tickets, 1, __ATOMIC_ACQ_REL) == 0) {
		MA_HA(&node->tickets);
		node_release(node);
	}
}

/* ---- workers ---- */

static void *
worker(void *arg)
{
	struct data_mover_threads *dmt = arg;
	struct dmt_item it;
	uint64_t idle_since = 0;
	unsigned spins = 0;
	int spinner = 0;	/* we hold dmt->spinning */

	for (;;) {
		if (queue_pop(dmt, &it) == 0) {
			if (spinner) {
				spinner = 0;
				__atomic_store_n(&dmt->spinning, 0,
					__ATOMIC_SEQ_CST);
			}
			int lng = item_long(dmt, &it);
			if (lng)
				__atomic_fetch_add(&dmt->long_busy, 1,
					__ATOMIC_SEQ_CST);
			maybe_help(dmt, lng);
			if (it.op.padding & PART_SPLIT) {
				run_split(dmt, it.node);
			} else {
				run_part(dmt, &it.op);
				node_publish(it.node);
				node_release(it.node);
			}
			if (lng)
				__atomic_fetch_sub(&dmt->long_busy, 1,
					__ATOMIC_SEQ_CST);
			idle_since = 0;
			continue;
		}
		if (__atomic_load_n(&dmt->stop, __ATOMIC_ACQUIRE))
			break;

		/* nothing to do: one worker spins a little, the others sleep */
		if (idle_since == 0) {
			idle_since = ma_now_ns();
			spins = 0;
			uint32_t zero = 0;
			spinner = dmt->spin_ns != 0 && !on_submit_cpu(dmt) &&
				__atomic_compare_exchange_n(&dmt->spinning,
					&zero, 1, 0, __ATOMIC_SEQ_CST,
					__ATOMIC_RELAXED);
		}
		/* the clock and the CPU are read every 64 pauses only */
		if (spinner && ((++spins & 63) != 0 ||
				(ma_now_ns() - idle_since < dmt->spin_ns &&
				!on_submit_cpu(dmt)))) {
			ma_pause();
			if (MA_ON_VALGRIND())
				sched_yield();
			continue;
		}

		__atomic_fetch_add(&dmt->sleepers, 1, __ATOMIC_SEQ_CST);
		if (spinner) {
			spinner = 0;
			__atomic_store_n(&dmt->spinning, 0, __ATOMIC_SEQ_CST);
		}
		uint32_t gen = __atomic_load_n(&dmt->work_gen, __ATOMIC_SEQ_CST);
		if (!queue_nonempty(dmt) &&
				!__atomic_load_n(&dmt->stop, __ATOMIC_SEQ_CST))
			ma_futex_wait(&dmt->work_gen, gen, 0);
		__atomic_fetch_sub(&dmt->sleepers, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&dmt->waking, __ATOMIC_RELAXED) != 0)
			__atomic_store_n(&dmt->waking, 0, __ATOMIC_SEQ_CST);
		idle_since = 0;
	}
	if (spinner)
		__atomic_store_n(&dmt->spinning, 0, __ATOMIC_SEQ_CST);
	return NULL;
}

/* ---- the vdm interface ---- */

static void *
threads_op_new(struct vdm *vdm, const enum vdm_operation_type type)
{
	(void)type;
	struct dmt_node *node = node_get((struct data_mover_threads *)vdm);
	if (node == NULL)
		return NULL;
	__atomic_store_n(&node->complete, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&node->released, 0, __ATOMIC_RELAXED);
	return node;
}

static void
set_notifier(struct data_mover_threads *dmt, struct dmt_node *node,
	struct future_notifier *n)
{
	if (n == NULL) {
		node->notifier = FUTURE_NOTIFIER_NONE;
		return;
	}
	node->notifier = dmt->notifier;
	n->notifier_used = dmt->notifier;
	if (dmt->notifier == FUTURE_NOTIFIER_WAKER)
		node->waker = n->waker;
	else if (dmt->notifier == FUTURE_NOTIFIER_POLLER)
		n->poller.ptr_to_monitor = &node->complete;
}

/* Marks a node done by the polling thread itself. */
static void
node_done_here(struct dmt_node *node, struct future_notifier *n)
{
	if (n != NULL) {
		n->notifier_used = FUTURE_NOTIFIER_NONE;
		n->poller.ptr_to_monitor = NULL;
	}
	__atomic_store_n(&node->complete, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&node->released, 1, __ATOMIC_RELAXED);
}

static int
threads_op_start(void *data, const struct vdm_operation *op,
	struct future_notifier *n)
{
	struct dmt_node *node = data;
	struct data_mover_threads *dmt = node->dmt;
	size_t size = op_length(op);

	if (size <= dmt->inline_max || !ma_valid_type(op->type)) {
		/* tiny (or unknown): done here, the future completes now */
		if (size <= MA_SMALL_MAX && op->type == VDM_OPERATION_MEMCPY &&
				(op->data.memcpy.flags & DMT_FLAGS) == 0 &&
				__atomic_load_n(&dmt->fn_memcpy,
				__ATOMIC_RELAXED) == def_memcpy) {
			ma_small_move(op->data.memcpy.dest,
				op->data.memcpy.src, size);
			persist_note_store(op->data.memcpy.dest, size);
		} else {
			run_part(dmt, op);
		}
		node_done_here(node, n);
		return 0;
	}

	node->waker.data = NULL;
	node->waker.wake = NULL;
	set_notifier(dmt, node, n);

	/* large, plain, and ours to run: streamed (see run_part) */
	uint32_t stream = 0;
	if (size >= dmt->stream_min && op->type != VDM_OPERATION_FLUSH &&
			(op_flags(op) & DMT_FLAGS) == 0)
		stream = PART_STREAM;

	struct dmt_item it;
	it.node = node;
	if (size < dmt->split_min || dmt->nthreads < 2 || !op_splittable(op)) {
		op_part(op, 0, size, &it.op);
		it.op.padding = stream;
		if (queue_push(dmt, &it) != 0) {
			if (n != NULL) {
				n->notifier_used = FUTURE_NOTIFIER_NONE;
				n->poller.ptr_to_monitor = NULL;
			}
			return 1;	/* full: stays IDLE, retried next poll */
		}
		wake_workers(dmt, 0);
		return 0;
	}

	/*
	 * Split: fixed-size parts that the workers holding a ticket take
	 * one by one (run_split), one ticket per worker that may help.
	 */
	node->op = *op;
	node->stream = stream;
	/* at most 2^30 parts: the part counters never wrap */
	size_t ps = dmt->part_size;
	while (size / ps >= ((size_t)1 << 30))
		ps *= 2;
	node->part_size = ps;
	node->skew = op_dest(op) % ps;
	size_t np = (size + node->skew + ps - 1) / ps;
	node->nparts = (uint32_t)np;
	node->parts = (uint32_t)np;
	node->next_part = 0;
	size_t tickets = dmt->nthreads < np ? dmt->nthreads : np;
	if (tickets > dmt->mask + 1)
		tickets = dmt->mask + 1;
	node->tickets = (uint32_t)tickets;

	memset(&it.op, 0, sizeof(it.op));
	it.op.type = op->type;
	it.op.padding = PART_SPLIT;
	if (queue_push(dmt, &it) != 0) {
		if (n != NULL) {
			n->notifier_used = FUTURE_NOTIFIER_NONE;
			n->poller.ptr_to_monitor = NULL;
		}
		return 1;
	}
	size_t pushed = 1;
	while (pushed < tickets && queue_push(dmt, &it) == 0)
		pushed++;
	wake_workers(dmt, (int)pushed);
	/* a full queue took fewer tickets: the holders do all the parts */
	if (pushed < tickets) {
		MA_HB(&node->tickets);
		if (__atomic_sub_fetch(&node->tickets,
				(uint32_t)(tickets - pushed),
				__ATOMIC_ACQ_REL) == 0) {
			MA_HA(&node->tickets);
			node_release(node);
		}
	}
	return 0;
}

static enum future_state
threads_op_check(void *data, const struct vdm_operation *op)
{
	(void)op;
	struct dmt_node *node = data;
	if (__atomic_load_n(&node->complete, __ATOMIC_ACQUIRE) == 0)
		return FUTURE_STATE_RUNNING;
	MA_HA(node);
	return FUTURE_STATE_COMPLETE;
}

static void
threads_op_delete(void *data, const struct vdm_operation *op,
	struct vdm_operation_output *out)
{
	ma_fill_output(op, out, VDM_SUCCESS);
	struct dmt_node *node = data;
	if (node == NULL)
		return;
	/* the worker may still be inside the waker: wait until it is out */
	unsigned spins = 0;
	while (__atomic_load_n(&node->released, __ATOMIC_ACQUIRE) == 0) {
		if (++spins < 1000)
			ma_pause();
		else
			sched_yield();
	}
	MA_HA(node);
	node_put(node->dmt, node);
}

static size_t
env_size(const char *name, size_t def)
{
	const char *v = env_get(name);
	if (v == NULL || *v == '\0')
		return def;
	/* strtoull takes "-1" as its maximum: a spin that never ends */
	const char *p = v;
	while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
		p++;
	if (*p == '-' || *p == '+')
		return def;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(p, &end, 0);
	if (*end != '\0' || errno == ERANGE || x > SIZE_MAX)
		return def;
	return (size_t)x;
}

static void
stop_workers(struct data_mover_threads *dmt, size_t started)
{
	__atomic_store_n(&dmt->stop, 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&dmt->work_gen, 1, __ATOMIC_SEQ_CST);
	ma_futex_wake(&dmt->work_gen, INT_MAX);
	for (size_t i = 0; i < started; i++)
		pthread_join(dmt->threads[i], NULL);
}

static void
free_mover(struct data_mover_threads *dmt)
{
	struct dmt_chunk *c = dmt->chunks;
	while (c != NULL) {
		struct dmt_chunk *next = c->next;
		free(c);
		c = next;
	}
	free(dmt->slots);
	free(dmt->threads);
	free(dmt);
}

struct data_mover_threads *
data_mover_threads_new(size_t nthreads, size_t ringbuf_size,
	enum future_notifier_type desired_notifier)
{
	if (nthreads == 0 || ringbuf_size == 0 ||
			(ringbuf_size & (ringbuf_size - 1)) != 0 ||
			ringbuf_size > ((size_t)1 << 40))
		return NULL;
	if (desired_notifier != FUTURE_NOTIFIER_NONE &&
			desired_notifier != FUTURE_NOTIFIER_WAKER &&
			desired_notifier != FUTURE_NOTIFIER_POLLER)
		return NULL;

	struct data_mover_threads *dmt = aligned_alloc(CACHELINE,
		sizeof(*dmt));
	if (dmt == NULL)
		return NULL;
	memset(dmt, 0, sizeof(*dmt));

	/* the ring needs two slots to tell full from empty */
	size_t nslots = ringbuf_size < 2 ? 2 : ringbuf_size;
	dmt->slots = aligned_alloc(CACHELINE, nslots * sizeof(*dmt->slots));
	if (dmt->slots != NULL)
		memset(dmt->slots, 0, nslots * sizeof(*dmt->slots));
	dmt->threads = calloc(nthreads, sizeof(*dmt->threads));
	if (dmt->slots == NULL || dmt->threads == NULL) {
		free_mover(dmt);
		return NULL;
	}
	dmt->mask = nslots - 1;
	for (size_t i = 0; i < nslots; i++)
		dmt->slots[i].seq = i;

	dmt->base.op_new = threads_op_new;
	dmt->base.op_delete = threads_op_delete;
	dmt->base.op_start = threads_op_start;
	dmt->base.op_check = threads_op_check;
	/*
	 * Durability needs a cache-line write-back instruction (every x86-64
	 * CPU has one); the cache hint is honoured everywhere.
	 */
	dmt->base.capabilities = VDM_F_NO_CACHE_HINT;
	if (cpu_flush_kind() != CPU_FLUSH_NONE)
		dmt->base.capabilities |= VDM_F_MEM_DURABLE;
	dmt->base.has_property = miniasync_has_property_async;
	dmt->notifier = desired_notifier;
	dmt->fn_memcpy = def_memcpy;
	dmt->fn_memmove = def_memmove;
	dmt->fn_memset = def_memset;
	dmt->nthreads = nthreads;
	dmt->inline_max = env_size("MINIASYNC_THREADS_INLINE_MAX",
		DEFAULT_INLINE_MAX);
	dmt->split_min = env_size("MINIASYNC_THREADS_SPLIT_MIN",
		DEFAULT_SPLIT_MIN);
	if (dmt->split_min == 0)
		dmt->split_min = 1;
	/* whole cache lines */
	dmt->part_size = env_size("MINIASYNC_THREADS_PART_SIZE",
		DEFAULT_PART_SIZE);
	if (dmt->part_size == 0 || dmt->part_size > ((size_t)1 << 40))
		dmt->part_size = DEFAULT_PART_SIZE;
	dmt->part_size = (dmt->part_size + CACHELINE - 1) &
		~(size_t)(CACHELINE - 1);
	dmt->stream_min = env_size("MINIASYNC_THREADS_STREAM_MIN",
		nt_stream_plain_min());
	dmt->submit_cpu = -1;
	dmt->spin_ns = env_size("MINIASYNC_THREADS_SPIN_NS", WORKER_SPIN_NS);

	MA_NOCHECK(&dmt->tail, sizeof(dmt->tail));
	MA_NOCHECK(&dmt->head, sizeof(dmt->head));
	MA_NOCHECK(&dmt->work_gen, sizeof(dmt->work_gen));
	MA_NOCHECK(&dmt->sleepers, sizeof(dmt->sleepers));
	MA_NOCHECK(&dmt->long_busy, sizeof(dmt->long_busy));
	MA_NOCHECK(&dmt->spinning, sizeof(dmt->spinning));
	MA_NOCHECK(&dmt->waking, sizeof(dmt->waking));
	MA_NOCHECK(&dmt->submit_cpu, sizeof(dmt->submit_cpu));
	MA_NOCHECK(&dmt->stop, sizeof(dmt->stop));
	MA_NOCHECK(&dmt->free_lock, sizeof(dmt->free_lock));
	MA_NOCHECK(&dmt->fn_memcpy, 3 * sizeof(void *));
	for (size_t i = 0; i < nslots; i++)
		MA_NOCHECK(&dmt->slots[i].seq, sizeof(size_t));

	for (size_t i = 0; i < nthreads; i++) {
		if (pthread_create(&dmt->threads[i], NULL, worker, dmt) != 0) {
			stop_workers(dmt, i);
			free_mover(dmt);
			return NULL;
		}
	}
	registry_add(dmt);
	return dmt;
}

struct data_mover_threads *
data_mover_threads_default(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;
	return data_mover_threads_new((size_t)ncpu, 256,
		FUTURE_NOTIFIER_WAKER);
}

struct vdm *
data_mover_threads_get_vdm(struct data_mover_threads *dmt)
{
	return &dmt->base;
}

void
data_mover_threads_delete(struct data_mover_threads *dmt)
{
	if (dmt == NULL)
		return;
	/* no thread may hand cached nodes back from here on */
	registry_remove(dmt);
	/* workers leave only once the queue is empty: queued work finishes */
	stop_workers(dmt, dmt->nthreads);
	free_mover(dmt);
}

void
data_mover_threads_set_memcpy_fn(struct data_mover_threads *dmt,
	memcpy_fn op_memcpy)
{
	__atomic_store_n(&dmt->fn_memcpy, op_memcpy ? op_memcpy : def_memcpy,
		__ATOMIC_RELEASE);
}

void
data_mover_threads_set_memmove_fn(struct data_mover_threads *dmt,
	memmove_fn op_memmove)
{
	__atomic_store_n(&dmt->fn_memmove,
		op_memmove ? op_memmove : def_memmove, __ATOMIC_RELEASE);
}

void
data_mover_threads_set_memset_fn(struct data_mover_threads *dmt,
	memset_fn op_memset)
{
	__atomic_store_n(&dmt->fn_memset, op_memset ? op_memset : def_memset,
		__ATOMIC_RELEASE);
}
